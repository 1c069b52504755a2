/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
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
        [H2A_ISSUER_ACM_PCA] = &h2a_issuer_acm_pca_ops,
        [H2A_ISSUER_ACME] = &h2a_issuer_acme_ops,
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

h2a_err h2a_issuer_precheck(const h2a_issue_ctx *ctx, h2a_keytype kt, h2a_issuer_usage *usage)
{
    const h2a_issuer_ops *ops = h2a_issuer_ops_for(ctx);

    memset(usage, 0, sizeof(*usage));
    return ops == NULL || ops->precheck == NULL ? H2A_OK : ops->precheck(ctx, kt, usage);
}

void h2a_issuer_audit_detail(const h2a_issuer_conf *conf, const char *handle, char *out,
                             size_t len)
{
    if (conf != NULL && conf->type == H2A_ISSUER_ACM_PCA) {
        snprintf(out, len, "ca=%s template=%s certificate=%s", conf->ca_arn,
                 conf->template_arn, handle != NULL ? handle : "");
    } else {
        snprintf(out, len, "%s", handle != NULL ? handle : "");
    }
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

h2a_err h2a_issuer_poll_due(const h2a_issue_ctx *ctx, const char *handle,
                            long long deadline_ms, h2a_issue_result *res, long long *next_ms)
{
    long long now, pause;

    *next_ms = 0;
    H2A_GUARD(h2a_issuer_poll(ctx, handle, res));
    if (res->done) {
        return H2A_OK;
    }
    now = s_now_ms();
    if (now >= deadline_ms) {
        res->timed_out = true;
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: no certificate for %s within "
                           "timeout_seconds=%lld; resume polls it again", ctx->conf->name,
                           handle, h2a_issuer_timeout_ms(ctx->conf) / 1000);
    }
    /* The issuer's retry-after, at least 10 ms, never past the deadline. */
    pause = res->retry_after_ms < 10 ? 10 : res->retry_after_ms;
    *next_ms = now + (pause < deadline_ms - now ? pause : deadline_ms - now);
    return H2A_OK;
}

h2a_err h2a_issuer_wait(const h2a_issue_ctx *ctx, const char *handle, long long timeout_ms,
                        h2a_issue_result *res)
{
    long long deadline = s_now_ms() + timeout_ms, next = 0;
    h2a_issue_ctx c = *ctx;
    char *mine = NULL;
    h2a_err rv;

    for (;;) {
        rv = h2a_issuer_poll_due(&c, mine != NULL ? mine : handle, deadline, res, &next);
        c.poll_attempt++;
        if (rv != H2A_OK || res->done) {
            break;
        }
        if (res->handle != NULL) {
            /* Nothing journals here: the replacement is simply polled from now on. */
            free(mine);
            mine = res->handle;
            res->handle = NULL;
        }
        next -= s_now_ms();
        if (next > 0) {
            usleep((useconds_t)(next * 1000));
        }
    }
    free(mine);
    return rv;
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
