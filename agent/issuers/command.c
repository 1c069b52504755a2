/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "issuers/h2a_issuer.h"

#define H2A_ISSUER_OUT_MAX (1u << 20) /* a PEM chain is a few KiB */
#define H2A_ISSUER_ERR_MAX 2048

/* Last line of what the program wrote to stderr, for the error message. */
static const char *s_err_tail(h2a_buf *err)
{
    char *s, *nl;

    if (h2a_buf_terminate(err) != H2A_OK || err->len == 0) {
        return "";
    }
    s = (char *)err->data;
    while (err->len > 0 && (s[err->len - 1] == '\n' || s[err->len - 1] == '\r')) {
        s[--err->len] = '\0';
    }
    nl = strrchr(s, '\n');
    return nl != NULL ? nl + 1 : s;
}

static h2a_err s_command(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain)
{
    h2a_err rv;
    h2a_buf in, out, err;
    h2a_child_result res;
    char who[128], v_id[200], v_req[200], v_iss[200];
    /* An issuer is someone else's program: the runner's allowlist, plus who asks. */
    const char *const env_set[] = {v_id, v_req, v_iss, NULL};
    h2a_child_spec spec = {.argv = (const char *const *)ctx->conf->argv,
                           .env_set = env_set,
                           .timeout_ms = ctx->conf->timeout_seconds * 1000LL};

    *leaf = NULL;
    *chain = NULL;
    snprintf(who, sizeof(who), "issuers.%s (%s)", ctx->conf->name, ctx->conf->argv[0]);
    snprintf(v_id, sizeof(v_id), "HSM2ACM_REQUEST_ID=%s",
             ctx->request_id != NULL ? ctx->request_id : "");
    snprintf(v_req, sizeof(v_req), "HSM2ACM_REQUESTER=%s",
             ctx->requester != NULL ? ctx->requester : "");
    snprintf(v_iss, sizeof(v_iss), "HSM2ACM_ISSUER=%s", ctx->conf->name);
    h2a_buf_init(&in, 0);
    h2a_buf_init(&out, H2A_ISSUER_OUT_MAX);
    h2a_buf_init(&err, H2A_ISSUER_ERR_MAX + 1);
    rv = h2a_pem_encode(H2A_PEM_CSR, csr, &in);
    if (rv == H2A_OK) {
        spec.in = in.data;
        spec.in_len = in.len;
        rv = h2a_child_run(&spec, &out, &err, &res);
        if (rv != H2A_OK) {
            rv = h2a_err_prefix(H2A_ERR_ISSUER, "%s: ", who);
        }
    }
    if (rv != H2A_OK) {
        goto done;
    }
    if (res.timed_out) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: no answer within timeout_seconds=%lld "
                         "(killed)", who, ctx->conf->timeout_seconds);
    } else if (res.overflow) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: printed more than %u bytes", who,
                         H2A_ISSUER_OUT_MAX);
    } else if (!res.exited) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: killed by signal %d", who, res.signal);
    } else if (res.code != 0) {
        const char *tail = s_err_tail(&err);

        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: exited with status %d%s%s", who, res.code,
                         tail[0] ? ": " : "", tail);
    } else {
        rv = h2a_issuer_parse_pem_chain(who, (const char *)out.data, out.len, leaf, chain);
    }
done:
    h2a_buf_free(&in);
    h2a_buf_free(&out);
    h2a_buf_free(&err);
    return rv;
}

/* A command answers on stdout before it exits: it completes at once. */
static h2a_err s_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    H2A_GUARD(s_command(ctx, csr, &res->leaf, &res->chain));
    res->done = true;
    return H2A_OK;
}

const h2a_issuer_ops h2a_issuer_command_ops = {.type = "command", .submit = s_submit};
