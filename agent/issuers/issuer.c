/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "issuers/h2a_issuer.h"

void h2a_issue_result_clear(h2a_issue_result *res)
{
    X509_free(res->leaf);
    sk_X509_pop_free(res->chain, X509_free);
    free(res->handle);
    memset(res, 0, sizeof(*res));
}

const h2a_issuer_ops *h2a_issuer_ops_for(const h2a_issue_ctx *ctx)
{
    static const h2a_issuer_ops *const table[] = {
        [H2A_ISSUER_COMMAND] = &h2a_issuer_command_ops,
        [H2A_ISSUER_LOCAL] = &h2a_issuer_local_ops,
    };
    size_t t = (size_t)ctx->conf->type;

    if (ctx->ops != NULL) {
        return ctx->ops;
    }
    return t < sizeof(table) / sizeof(table[0]) ? table[t] : NULL;
}

h2a_err h2a_issuer_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    const h2a_issuer_ops *ops = h2a_issuer_ops_for(ctx);
    h2a_err rv;

    memset(res, 0, sizeof(*res));
    if (ops == NULL) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: unknown issuer type",
                           ctx->conf->name);
    }
    rv = ops->submit(ctx, csr, res);
    if (rv == H2A_OK && !res->done && (res->handle == NULL || ops->poll == NULL)) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s issuer left the request pending "
                         "without a handle to poll", ctx->conf->name, ops->type);
    }
    if (rv != H2A_OK) {
        h2a_issue_result_clear(res);
    }
    return rv;
}

h2a_err h2a_issuer_poll(const h2a_issue_ctx *ctx, const char *handle, h2a_issue_result *res)
{
    const h2a_issuer_ops *ops = h2a_issuer_ops_for(ctx);
    h2a_err rv;

    memset(res, 0, sizeof(*res));
    if (ops == NULL || ops->poll == NULL) {
        return h2a_err_set(H2A_ERR_STATE, "issuers.%s: the journal holds a handle (%s) but "
                           "this issuer type completes at once and has nothing to poll",
                           ctx->conf->name, handle);
    }
    rv = ops->poll(ctx, handle, res);
    if (rv != H2A_OK) {
        h2a_issue_result_clear(res);
    }
    return rv;
}

long long h2a_issuer_timeout_ms(const h2a_issuer_conf *conf)
{
    return (conf->timeout_seconds > 0 ? conf->timeout_seconds : 300) * 1000LL;
}

static long long s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

h2a_err h2a_issuer_wait(const h2a_issue_ctx *ctx, const char *handle, long long timeout_ms,
                        h2a_issue_result *res)
{
    long long deadline = s_now_ms() + timeout_ms;

    for (;;) {
        long long left, pause;

        H2A_GUARD(h2a_issuer_poll(ctx, handle, res));
        if (res->done) {
            return H2A_OK;
        }
        left = deadline - s_now_ms();
        if (left <= 0) {
            res->timed_out = true;
            return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: no certificate for %s within "
                               "timeout_seconds=%lld; resume polls it again",
                               ctx->conf->name, handle, timeout_ms / 1000);
        }
        /* The issuer's retry-after, at least 10 ms, never past the deadline. */
        pause = res->retry_after_ms < 10 ? 10 : res->retry_after_ms;
        pause = pause < left ? pause : left;
        usleep((useconds_t)(pause * 1000));
    }
}

h2a_err h2a_issuer_issue(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain)
{
    h2a_issue_result res;
    h2a_err rv;

    *leaf = NULL;
    *chain = NULL;
    rv = h2a_issuer_submit(ctx, csr, &res);
    if (rv == H2A_OK && !res.done) {
        char *handle = res.handle;

        res.handle = NULL;
        rv = h2a_issuer_wait(ctx, handle, h2a_issuer_timeout_ms(ctx->conf), &res);
        free(handle);
    }
    if (rv == H2A_OK) {
        *leaf = res.leaf;
        *chain = res.chain;
        res.leaf = NULL;
        res.chain = NULL;
    }
    h2a_issue_result_clear(&res);
    return rv;
}

h2a_err h2a_issuer_pem(X509 *x, X509_REQ *req, h2a_buf *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    h2a_err rv;

    if (b == NULL || (x != NULL ? PEM_write_bio_X509(b, x) : PEM_write_bio_X509_REQ(b, req)) != 1) {
        BIO_free(b);
        return h2a_err_openssl(H2A_ERR_INTERNAL, x != NULL ? "certificate PEM" : "CSR PEM");
    }
    n = BIO_get_mem_data(b, &p);
    rv = h2a_buf_append(out, p, (size_t)n);
    BIO_free(b);
    return rv;
}

h2a_err h2a_issuer_parse_pem_chain(const char *who, const char *pem, size_t len,
                                   X509 **leaf, STACK_OF(X509) **chain)
{
    h2a_err rv = H2A_OK;
    BIO *bio = NULL;
    STACK_OF(X509) *sk = NULL;
    X509 *x = NULL;

    *leaf = NULL;
    *chain = NULL;
    if (len > INT32_MAX) {
        return h2a_err_set(H2A_ERR_ISSUER, "%s: output too large", who);
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "%s", who);
        goto done;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            rv = h2a_err_set(H2A_ERR_NOMEM, "%s", who);
            goto done;
        }
    }
    /* The loop ends on "no start line" at EOF; anything else is garbage. */
    {
        unsigned long e = ERR_peek_last_error();

        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
                        ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            rv = h2a_err_openssl(H2A_ERR_ISSUER, who);
            h2a_err_prefix(rv, "%s: unreadable PEM certificate: ", who);
            goto done;
        }
        ERR_clear_error();
    }
    if (sk_X509_num(sk) == 0) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: printed no PEM certificate", who);
        goto done;
    }
    *leaf = sk_X509_shift(sk);
    *chain = sk;
    sk = NULL;
done:
    sk_X509_pop_free(sk, X509_free);
    BIO_free(bio);
    return rv;
}
