/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Benchmark helper (not a test), compiled by bench_keygen.sh against the
 * hsm2acm static libraries: N rounds of hsm2acm keygen + CSR in ONE process
 * (token opened once, as `enroll --batch` does), exactly the library calls
 * the `keygen` and `csr` commands make. Each round's key pair is destroyed
 * after it is timed, so the token does not grow during the run.
 *
 * usage: bench_keygen URI TYPE N      prints one line per round: "ms"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "h2a_keygen.h"

static double s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *sess = NULL;
    h2a_keytype kt;
    int n;
    const char *dns[] = {"www.example.com"};
    struct h2a_csr_req req = {"CN=www.example.com", dns, 1, NULL, 0,
                              H2A_KU_DIGITAL_SIGNATURE, H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION,
                              0, false};

    h2a_log_init_from_env();
    if (argc != 4 || h2a_keytype_parse(argv[2], &kt) != H2A_OK || (n = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: bench_keygen URI TYPE N\n");
        return 2;
    }
    if (h2a_token_open(argv[1], &tok) != H2A_OK || h2a_session_open(tok, &sess) != H2A_OK) {
        fprintf(stderr, "bench_keygen: %s\n", h2a_err_msg());
        return 1;
    }
    for (int i = 0; i < n; i++) {
        H2A_P11_KEY *k = NULL;
        h2a_buf pem;
        char label[64];
        double t0, t1;

        snprintf(label, sizeof(label), "bench-%d", i);
        h2a_buf_init(&pem, 0);
        t0 = s_now_ms();
        if (h2a_keygen_generate(sess, kt, label, 0, &k) != H2A_OK ||
            h2a_csr_make(k, &req, &pem) != H2A_OK) {
            fprintf(stderr, "bench_keygen: %s\n", h2a_err_msg());
            return 1;
        }
        t1 = s_now_ms();
        printf("%.3f\n", t1 - t0);
        h2a_buf_free(&pem);
        if (h2a_p11_key_destroy(k) != H2A_OK) {
            fprintf(stderr, "bench_keygen: %s\n", h2a_err_msg());
            return 1;
        }
    }
    h2a_session_close(sess);
    h2a_token_close(tok);
    return 0;
}
