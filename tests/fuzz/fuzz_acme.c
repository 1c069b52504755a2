/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * ACME replies that need no account key: the directory (h2a_acme_open,
 * through h2a_acme_get), the reply headers (Replay-Nonce into the pool,
 * Location, Content-Type, Link rel="alternate", Retry-After) and problem
 * documents (h2a_acme_problem). Every HTTP exchange is answered in-process
 * (H2A_FUZZ_HOOKS in agent/issuers/acme_int.h): byte 0 picks the status,
 * the rest up to the first blank line ("\n\n") is the header lines, after
 * it the body; without a blank line all of it is the body.
 */
#include "fuzz.h"

#include "issuers/acme_int.h"

static const long s_statuses[] = {200, 200, 200, 201, 400, 403, 404, 429, 500, 503, 204, 301};
#define S_NSTATUS (sizeof(s_statuses) / sizeof(s_statuses[0]))

static long s_status;
static const char *s_headers;
static size_t s_headers_len;
static const uint8_t *s_body;
static size_t s_body_len;

static void s_reply(const char *method, long *status, const char **headers, size_t *headers_len,
                    const uint8_t **body, size_t *body_len)
{
    (void)method;
    *status = s_status;
    *headers = s_headers;
    *headers_len = s_headers_len;
    *body = s_body;
    *body_len = s_body_len;
}

void h2a_fuzz_setup(void)
{
    h2a_acme_fuzz_set_reply(s_reply);
}

static void s_split(const uint8_t *data, size_t size)
{
    const uint8_t *sep = NULL;

    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == '\n' && data[i + 1] == '\n') {
            sep = data + i;
            break;
        }
    }
    s_headers = (const char *)data;
    s_headers_len = sep != NULL ? (size_t)(sep - data) + 1 : 0;
    s_body = sep != NULL ? sep + 2 : data;
    s_body_len = size - (size_t)(s_body - data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char url[] = "https://acme.invalid/directory", name[] = "fuzz";
    h2a_acme_conf acme = {.directory_url = url};
    h2a_issuer_conf conf = {.name = name, .acme = &acme};
    h2a_issue_ctx ctx = {.conf = &conf};
    h2a_acme a;
    h2a_acme_reply r = {0};

    if (size < 1) {
        return 0;
    }
    s_status = s_statuses[data[0] % S_NSTATUS];
    s_split(data + 1, size - 1);
    /* The directory, then the same reply as any GET and as a problem document. */
    if (h2a_acme_open(&ctx, &a) == H2A_OK) {
        h2a_acme_reply_clear(&r);
        if (h2a_acme_get(&a, a.new_order, &r) == H2A_OK) {
            (void)h2a_acme_problem(&a, "fuzz", &r);
        }
        h2a_buf_free(&r.body);
    }
    h2a_acme_close(&a);
    h2a_fuzz_after();
    return 0;
}
