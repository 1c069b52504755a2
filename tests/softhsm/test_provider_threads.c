/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Batch enrollment signs CSRs from several worker threads, one session
 * each, through the one provider. Four threads each make a key and several
 * CSRs at the same time; every CSR must verify with its own key (and not
 * with another thread's), and errors must stay per thread.
 */

#include "h2a_test.h"

#include <pthread.h>

#include <openssl/x509.h>

#include "h2a_keygen.h"
#include "h2a_pkcs11.h"

#define N_THREADS 4
#define N_CSRS 6

struct worker {
    H2A_TOKEN *tok;
    int idx;
    h2a_err rv;
    char msg[256];
    int verified;
    EVP_PKEY *pub; /* up-ref'd copy of the worker's public key */
    X509_REQ *last;
};

static void *s_work(void *arg)
{
    struct worker *w = arg;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    char label[32], cn[64];
    static const h2a_keytype types[N_THREADS] = {H2A_KT_EC_P256, H2A_KT_EC_P384, H2A_KT_EC_P521,
                                                 H2A_KT_EC_P256};

    snprintf(label, sizeof(label), "thread-%d", w->idx);
    w->rv = h2a_session_open(w->tok, &s);
    if (w->rv == H2A_OK) {
        w->rv = h2a_keygen_generate(s, types[w->idx], label, 0, &k);
    }
    for (int i = 0; w->rv == H2A_OK && i < N_CSRS; i++) {
        struct h2a_csr_req req = {cn, NULL, 0, NULL, 0, 0, 0, 0, false};
        X509_REQ *x = NULL;

        snprintf(cn, sizeof(cn), "CN=t%d-%d.example.com", w->idx, i);
        w->rv = h2a_csr_make_req(k, &req, &x);
        if (w->rv == H2A_OK && X509_REQ_verify(x, h2a_p11_key_public(k)) == 1) {
            w->verified++;
        }
        X509_REQ_free(w->last);
        w->last = x;
    }
    if (w->rv != H2A_OK) {
        snprintf(w->msg, sizeof(w->msg), "%s", h2a_err_msg());
    } else if (EVP_PKEY_up_ref(h2a_p11_key_public(k))) {
        w->pub = h2a_p11_key_public(k);
    }
    if (k != NULL && h2a_p11_key_destroy(k) != H2A_OK && w->rv == H2A_OK) {
        w->rv = H2A_ERR_TOKEN;
    }
    h2a_session_close(s);
    return NULL;
}

static void test_parallel_csrs(void **state)
{
    H2A_TOKEN *tok = NULL;
    pthread_t th[N_THREADS];
    struct worker w[N_THREADS];

    (void)state;
    H2A_ASSERT_OK(h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &tok));
    memset(w, 0, sizeof(w));
    for (int i = 0; i < N_THREADS; i++) {
        w[i].tok = tok;
        w[i].idx = i;
        assert_int_equal(pthread_create(&th[i], NULL, s_work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        if (w[i].rv != H2A_OK) {
            print_error("worker %d: %s: %s\n", i, h2a_err_name(w[i].rv), w[i].msg);
        }
        assert_int_equal(w[i].rv, H2A_OK);
        assert_int_equal(w[i].verified, N_CSRS);
        /* A CSR of one worker never verifies with another worker's key. */
        for (int j = 0; j < N_THREADS; j++) {
            if (j != i) {
                assert_true(X509_REQ_verify(w[i].last, w[j].pub) != 1);
            }
        }
    }
    for (int i = 0; i < N_THREADS; i++) {
        X509_REQ_free(w[i].last);
        EVP_PKEY_free(w[i].pub);
    }
    h2a_token_close(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_csrs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
