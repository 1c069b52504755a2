/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Credential fetchers (EC2 instance metadata, ECS container credentials,
 * AssumeRole with a source, web identity) and the credentials a ctx shares
 * with its clones, refreshed under a lock before they expire. Which
 * provider applies is decided without any network call in creds.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws_ctx.h"

#define S_REFRESH_MARGIN_S 300

/* ------------------------------------------------------------------ */
/* Credentials                                                         */
/* ------------------------------------------------------------------ */

static h2a_err s_state_current(H2A_AWS_CTX *ctx, struct h2a_cred_state *st, bool force,
                               struct h2a_aws_credentials **copy_out);

static h2a_err s_copy_creds(const struct h2a_aws_credentials *c,
                            struct h2a_aws_credentials **out)
{
    return h2a_aws_credentials_make(c->access_key_id, c->secret_access_key, c->session_token,
                                    c->expiration, out);
}

/* IMDSv2 session token as a header list in *out (NULL: IMDSv1 fallback). */
static h2a_err s_imds_token(H2A_AWS_CTX *ctx, const char *base, int blen,
                            struct curl_slist **out)
{
    char url[700];
    char hdr[1200];
    h2a_buf tok;
    struct curl_slist *h;
    long status = 0;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&tok, 4096);
    snprintf(url, sizeof(url), "%.*s/latest/api/token", blen, base);
    h = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    rv = h2a_aws_http_simple(ctx, "EC2 instance metadata", "PUT", url, h,
                             ctx->set->imds_timeout_ms, &tok, &status);
    h2a_aws_slist_free_wiped(h);
    if (rv == H2A_OK && (status == 403 || status == 404 || status == 405)) {
        if (h2a_aws_env_true("AWS_EC2_METADATA_V1_DISABLED")) {
            rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: token request got HTTP %ld "
                             "and AWS_EC2_METADATA_V1_DISABLED=true", status);
        }
    } else if (rv == H2A_OK && (status != 200 || tok.len == 0)) {
        rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: token request got HTTP %ld",
                         status);
    } else if (rv == H2A_OK && (rv = h2a_buf_terminate(&tok)) == H2A_OK) {
        snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %.*s", (int)tok.len,
                 (const char *)tok.data);
        *out = curl_slist_append(NULL, hdr);
        OPENSSL_cleanse(hdr, sizeof(hdr));
    }
    h2a_buf_free(&tok);
    return rv;
}

/* The instance role's name into url (the credentials document's URL). */
static h2a_err s_imds_role_url(H2A_AWS_CTX *ctx, const char *base, int blen,
                               struct curl_slist *h, char *url, size_t url_size)
{
    h2a_buf role;
    long status = 0;
    size_t rl = 0;
    h2a_err rv;

    h2a_buf_init(&role, 4096);
    snprintf(url, url_size, "%.*s/latest/meta-data/iam/security-credentials/", blen, base);
    rv = h2a_aws_http_simple(ctx, "EC2 instance metadata", "GET", url, h,
                             ctx->set->imds_timeout_ms, &role, &status);
    if (rv == H2A_OK && (status != 200 || role.len == 0)) {
        rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: role name request got HTTP %ld",
                         status);
    }
    while (rv == H2A_OK && rl < role.len && role.data[rl] != '\n' && role.data[rl] != '\r') {
        char c = (char)role.data[rl++];
        if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '%') {
            rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: bad role name");
        }
    }
    if (rv == H2A_OK) {
        snprintf(url, url_size, "%.*s/latest/meta-data/iam/security-credentials/%.*s", blen,
                 base, (int)rl, (const char *)role.data);
    }
    h2a_buf_free(&role);
    return rv;
}

static h2a_err s_fetch_imds(H2A_AWS_CTX *ctx, struct h2a_aws_credentials **out)
{
    const char *base = ctx->set->imds_endpoint;
    char url[700];
    h2a_buf doc;
    struct curl_slist *h = NULL;
    long status = 0;
    size_t blen = strlen(base);
    h2a_err rv;

    h2a_buf_init_secure(&doc, 65536);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    rv = s_imds_token(ctx, base, (int)blen, &h);
    if (rv == H2A_OK) {
        rv = s_imds_role_url(ctx, base, (int)blen, h, url, sizeof(url));
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_http_simple(ctx, "EC2 instance metadata", "GET", url, h,
                                 ctx->set->imds_timeout_ms, &doc, &status);
    }
    if (rv == H2A_OK && status != 200) {
        rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: credentials request got HTTP %ld",
                         status);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&doc);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_creds_from_json(&doc, "EC2 instance metadata", false, out);
    }
    h2a_aws_slist_free_wiped(h);
    h2a_buf_free(&doc);
    return rv;
}

static bool s_ecs_host_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    bool ok = false;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        ok = strcmp(scheme, "https") == 0 ||
             (strcmp(scheme, "http") == 0 &&
              (strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
               strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
               strcmp(host, "169.254.170.23") == 0 || strcmp(host, "[fd00:ec2::23]") == 0));
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* The endpoint: the ECS agent's fixed address, or a full URI we may trust. */
static h2a_err s_ecs_url(char *url, size_t size)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

    if (h2a_aws_set(rel)) {
        snprintf(url, size, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
        return H2A_OK;
    }
    if (h2a_aws_set(full)) {
        if (!s_ecs_host_ok(full)) {
            return h2a_err_set(H2A_ERR_USAGE, "AWS_CONTAINER_CREDENTIALS_FULL_URI '%.200s': must "
                               "be https, or http to a loopback or the ECS/EKS agent address",
                               full);
        }
        snprintf(url, size, "%s", full);
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_USAGE, "ECS container credentials: neither "
                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set");
}

/*
 * The Authorization header (*h stays NULL when no token is set). The token
 * file wins over the variable, as in the SDKs; a line break inside it would
 * let it inject a header, so it is refused.
 */
static h2a_err s_ecs_auth_header(struct curl_slist **h)
{
    const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char hdr[16500];
    h2a_buf tok;
    h2a_err rv = H2A_OK;

    *h = NULL;
    h2a_buf_init_secure(&tok, 16384);
    if (h2a_aws_set(tokfile)) {
        if ((rv = h2a_file_read(tokfile, &tok)) != H2A_OK) {
            rv = h2a_err_prefix(H2A_ERR_AWS, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ");
            goto done;
        }
    } else if (h2a_aws_set(tokenv)) {
        if ((rv = h2a_buf_append_str(&tok, tokenv)) != H2A_OK) {
            goto done;
        }
    }
    while (tok.len > 0 && (tok.data[tok.len - 1] == '\n' || tok.data[tok.len - 1] == '\r')) {
        tok.len--;
    }
    if (tok.len == 0) {
        goto done;
    }
    for (size_t i = 0; i < tok.len; i++) {
        if (tok.data[i] == '\r' || tok.data[i] == '\n') {
            rv = h2a_err_set(H2A_ERR_AWS, "container authorization token has a line break");
            goto done;
        }
    }
    snprintf(hdr, sizeof(hdr), "Authorization: %.*s", (int)tok.len, (const char *)tok.data);
    *h = curl_slist_append(NULL, hdr);
    OPENSSL_cleanse(hdr, sizeof(hdr));
done:
    h2a_buf_free(&tok);
    return rv;
}

static h2a_err s_fetch_ecs(H2A_AWS_CTX *ctx, struct h2a_aws_credentials **out)
{
    char url[1200];
    h2a_buf doc;
    struct curl_slist *h = NULL;
    long status = 0;
    h2a_err rv;

    h2a_buf_init_secure(&doc, 65536);
    rv = s_ecs_url(url, sizeof(url));
    if (rv == H2A_OK) {
        rv = s_ecs_auth_header(&h);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    /* Retry a 5xx or a transport failure; a 4xx will not change. */
    for (int attempt = 1; attempt <= 3; attempt++) {
        doc.len = 0;
        rv = h2a_aws_http_simple(ctx, "ECS container credentials", "GET", url, h, 2000, &doc, &status);
        if (rv == H2A_OK && status == 200) {
            break;
        }
        if (rv == H2A_OK) {
            rv = h2a_err_set(H2A_ERR_AWS, "ECS container credentials: HTTP %ld from %s", status,
                             url);
            if (status < 500) {
                goto done;
            }
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&doc);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_creds_from_json(&doc, "ECS container credentials", false, out);
    }
done:
    h2a_aws_slist_free_wiped(h);
    h2a_buf_free(&doc);
    return rv;
}

static void s_default_session(char *buf, size_t n)
{
    snprintf(buf, n, "hsm2acm-%ld-%ld", (long)getpid(), (long)time(NULL));
}

static h2a_err s_fetch_assume(H2A_AWS_CTX *ctx, struct h2a_cred_provider *p,
                              struct h2a_aws_credentials **out)
{
    struct h2a_aws_credentials *src = NULL;
    struct h2a_aws_assume_role ar;
    char session[64];
    h2a_err rv;

    if (p->source_state != NULL) {
        rv = s_state_current(ctx, p->source_state, false, &src);
    } else if (p->source->kind == H2A_CRED_STATIC) {
        rv = s_copy_creds(p->source->fixed, &src);
    } else {
        /* Source that fetches (IMDS, ECS, process, nested role): fetch now. */
        struct h2a_cred_state *tmp = NULL;
        struct h2a_cred_provider *sp = p->source;
        p->source = NULL;
        rv = h2a_cred_state_new(sp, &tmp);
        if (rv == H2A_OK) {
            rv = s_state_current(ctx, tmp, false, &src);
            p->source = tmp->prov;
            tmp->prov = NULL;
            h2a_cred_state_unref(tmp);
        }
    }
    if (rv != H2A_OK) {
        return rv;
    }
    memset(&ar, 0, sizeof(ar));
    ar.role_arn = p->role_arn;
    s_default_session(session, sizeof(session));
    ar.session_name = p->session_name != NULL ? p->session_name : session;
    ar.external_id = p->external_id;
    ar.duration_seconds = p->duration_seconds;
    ar.region = p->sts_region;
    rv = h2a_sts_assume_role_as(ctx, &ar, src, out);
    h2a_aws_credentials_free(src);
    return rv;
}

static h2a_err s_fetch_web_identity(H2A_AWS_CTX *ctx, struct h2a_cred_provider *p,
                                    struct h2a_aws_credentials **out)
{
    h2a_buf tok;
    char session[64];
    h2a_err rv;

    h2a_buf_init_secure(&tok, 65536);
    rv = h2a_file_read(p->token_file, &tok);
    if (rv != H2A_OK) {
        h2a_buf_free(&tok);
        return h2a_err_prefix(H2A_ERR_AWS, "web identity token file: ");
    }
    while (tok.len > 0 && (tok.data[tok.len - 1] == '\n' || tok.data[tok.len - 1] == '\r' ||
                           tok.data[tok.len - 1] == ' ')) {
        tok.len--;
    }
    rv = h2a_buf_terminate(&tok);
    s_default_session(session, sizeof(session));
    if (rv == H2A_OK) {
        rv = h2a_sts_assume_role_with_web_identity(
            ctx, p->sts_region != NULL ? p->sts_region : "us-east-1", p->role_arn,
            p->session_name != NULL ? p->session_name : session, (const char *)tok.data, 0, out);
    }
    h2a_buf_free(&tok);
    return rv;
}

static h2a_err s_fetch(H2A_AWS_CTX *ctx, struct h2a_cred_provider *p,
                       struct h2a_aws_credentials **out)
{
    h2a_err rv;

    switch (p->kind) {
    case H2A_CRED_STATIC:
        return s_copy_creds(p->fixed, out);
    case H2A_CRED_PROCESS:
        rv = h2a_cred_run_process(p->describe, p->process, out);
        break;
    case H2A_CRED_ASSUME_ROLE:
        rv = s_fetch_assume(ctx, p, out);
        break;
    case H2A_CRED_WEB_IDENTITY:
        rv = s_fetch_web_identity(ctx, p, out);
        break;
    case H2A_CRED_ECS:
        rv = s_fetch_ecs(ctx, out);
        break;
    case H2A_CRED_IMDS:
        rv = s_fetch_imds(ctx, out);
        break;
    default:
        return h2a_err_set(H2A_ERR_INTERNAL, "credential provider kind %d", (int)p->kind);
    }
    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "AWS credentials (%s): ", p->describe);
    }
    H2A_LOG_DBG("aws: fetched credentials from %s (key id %.4s..., expires %ld)", p->describe,
                (*out)->access_key_id, (long)(*out)->expiration);
    return H2A_OK;
}

/* Current credentials of `st`, refreshed if they expire soon; a copy in *copy_out. */
static h2a_err s_state_current(H2A_AWS_CTX *ctx, struct h2a_cred_state *st, bool force,
                               struct h2a_aws_credentials **copy_out)
{
    time_t now = time(NULL);
    h2a_err rv = H2A_OK;

    pthread_mutex_lock(&st->mu);
    if (st->cur == NULL || force ||
        (st->cur->expiration != 0 && st->cur->expiration - now < S_REFRESH_MARGIN_S)) {
        struct h2a_aws_credentials *n = NULL;
        rv = s_fetch(ctx, st->prov, &n);
        if (rv == H2A_OK) {
            h2a_aws_credentials_free(st->cur);
            st->cur = n;
            st->gen++;
        } else if (st->cur != NULL && !force && st->cur->expiration > now + 10) {
            /* Refresh failed but the old ones still work: use them. */
            H2A_LOG_WARN("aws: credential refresh failed, using current ones: %s",
                         h2a_err_msg());
            rv = H2A_OK;
        }
    }
    if (rv == H2A_OK) {
        rv = s_copy_creds(st->cur, copy_out);
    }
    pthread_mutex_unlock(&st->mu);
    return rv;
}

/* Make ctx->local current (copy only when the shared state changed). */
h2a_err h2a_aws_ctx_creds(H2A_AWS_CTX *ctx, bool force)
{
    time_t now = time(NULL);
    struct h2a_aws_credentials *c = NULL;

    if (!force && ctx->local != NULL &&
        (ctx->local->expiration == 0 ||
         ctx->local->expiration - now >= S_REFRESH_MARGIN_S)) {
        return H2A_OK;
    }
    H2A_GUARD(s_state_current(ctx, ctx->creds, force, &c));
    h2a_aws_credentials_free(ctx->local);
    ctx->local = c;
    return H2A_OK;
}

h2a_err h2a_aws_ctx_assume_role(H2A_AWS_CTX *base, const struct h2a_aws_assume_role *ar,
                                H2A_AWS_CTX **out_ctx)
{
    struct h2a_cred_provider *p = NULL;
    struct h2a_cred_state *st = NULL;
    H2A_AWS_CTX *c = NULL;
    h2a_err rv;

    *out_ctx = NULL;
    if (ar == NULL || !h2a_aws_set(ar->role_arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "assume role: role_arn is required");
    }
    if (ar->duration_seconds != 0 && (ar->duration_seconds < 900 || ar->duration_seconds > 43200)) {
        return h2a_err_set(H2A_ERR_INPUT, "assume role: duration_seconds %d: expected 900..43200",
                           ar->duration_seconds);
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "assume role");
    }
    p->kind = H2A_CRED_ASSUME_ROLE;
    p->duration_seconds = ar->duration_seconds;
    if ((rv = h2a_aws_strdup_opt(&p->describe, "assume role")) != H2A_OK ||
        (rv = h2a_aws_strdup_opt(&p->role_arn, ar->role_arn)) != H2A_OK ||
        (rv = h2a_aws_strdup_opt(&p->session_name, ar->session_name)) != H2A_OK ||
        (rv = h2a_aws_strdup_opt(&p->external_id, ar->external_id)) != H2A_OK ||
        (rv = h2a_aws_strdup_opt(&p->sts_region, h2a_aws_first(ar->region, base->set->region))) != H2A_OK) {
        h2a_cred_provider_free(p);
        return rv;
    }
    free(p->describe);
    p->describe = NULL;
    {
        char d[2100];
        snprintf(d, sizeof(d), "assume role %s", ar->role_arn);
        p->describe = strdup(d);
    }
    __atomic_add_fetch(&base->creds->refs, 1, __ATOMIC_ACQ_REL);
    p->source_state = base->creds;
    if ((rv = h2a_cred_state_new(p, &st)) != H2A_OK) {
        return rv;
    }
    rv = h2a_aws_ctx_alloc(base->set, st, base->pool, &c);
    h2a_cred_state_unref(st);
    if (rv != H2A_OK) {
        return rv;
    }
    c->rand01 = base->rand01;
    c->sleep_ms = base->sleep_ms;
    c->hook_arg = base->hook_arg;
    c->plain_http_secrets = base->plain_http_secrets; /* the unit tests' loopback server */
    /* Assume now so that a refused role is reported here, not at first use. */
    rv = h2a_aws_ctx_creds(c, false);
    if (rv != H2A_OK) {
        base->err = c->err;
        h2a_aws_ctx_free(c);
        return rv;
    }
    *out_ctx = c;
    return H2A_OK;
}

