/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The generic request of every protocol and the SDK "standard" retry loop
 * around one HTTP attempt (http.c): endpoint and protocol from the service
 * table, credentials refreshed when they expire, clock skew corrected,
 * throttling and transient failures retried with a quota, and the error
 * record every caller reads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_ctx.h"
#include "http.h"

static void s_err_reset(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op)
{
    memset(&ctx->err, 0, sizeof(ctx->err));
    snprintf(ctx->err.service, sizeof(ctx->err.service), "%s", h2a_aws_service_name(svc));
    snprintf(ctx->err.operation, sizeof(ctx->err.operation), "%s", op);
}

static h2a_err s_err_raise(H2A_AWS_CTX *ctx)
{
    struct h2a_aws_error *e = &ctx->err;
    char tail[200] = "";
    char att[48] = "";

    /* What the server said is shown, never obeyed: no raw control bytes. */
    h2a_aws_escape_text(e->code, sizeof(e->code));
    h2a_aws_escape_text(e->message, sizeof(e->message));
    h2a_aws_escape_text(e->request_id, sizeof(e->request_id));
    if (e->request_id[0] != '\0') {
        snprintf(tail, sizeof(tail), " (request id %s)", e->request_id);
    }
    if (e->attempts > 1) {
        snprintf(att, sizeof(att), " after %d attempts", e->attempts);
    }
    if (e->network) {
        return h2a_err_set(H2A_ERR_AWS, "%s %s: network error%s: %s", e->service, e->operation,
                           att, e->message);
    }
    if (e->malformed) {
        return h2a_err_set(H2A_ERR_AWS, "%s %s: HTTP %ld: malformed reply: %s%s", e->service,
                           e->operation, e->http_status, e->message, tail);
    }
    return h2a_err_set(H2A_ERR_AWS, "%s %s: HTTP %ld %s: %s%s%s", e->service, e->operation,
                       e->http_status, e->code[0] != '\0' ? e->code : "(no error code)",
                       e->message[0] != '\0' ? e->message : "(no message)", tail, att);
}

h2a_err h2a_aws_malformed(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                          const char *fmt, ...)
{
    va_list ap;
    long status = ctx->err.http_status != 0 ? ctx->err.http_status : ctx->last_status;
    char rid[128];
    int attempts = ctx->err.attempts;

    /* A 2xx that broke the protocol cleared the record: its status is kept aside. */
    memcpy(rid, ctx->err.request_id[0] != '\0' ? ctx->err.request_id : ctx->last_request_id,
           sizeof(rid));
    s_err_reset(ctx, svc, op);
    ctx->err.http_status = status;
    ctx->err.attempts = attempts > 0 ? attempts : 1;
    memcpy(ctx->err.request_id, rid, sizeof(rid));
    ctx->err.malformed = true;
    va_start(ap, fmt);
    vsnprintf(ctx->err.message, sizeof(ctx->err.message), fmt, ap);
    va_end(ap);
    return s_err_raise(ctx);
}

void h2a_aws_ctx_sleep(H2A_AWS_CTX *ctx, long ms)
{
    if (ms > 0) {
        ctx->sleep_ms(ctx->hook_arg, ms);
    }
}

void h2a_aws_ctx_allow_plain_http_secrets(H2A_AWS_CTX *ctx)
{
    ctx->plain_http_secrets = true;
}

#ifdef H2A_FUZZ_HOOKS
static h2a_aws_fuzz_reply_fn s_fuzz_reply;

void h2a_aws_fuzz_set_reply(h2a_aws_fuzz_reply_fn fn)
{
    s_fuzz_reply = fn;
}

/* A fuzz build answers attempts in-process (no socket, no curl) when asked. */
static h2a_err s_attempt(H2A_AWS_CTX *ctx, const struct h2a_http_attempt_in *in, h2a_buf *reply,
                         struct h2a_http_attempt *at)
{
    const uint8_t *body = NULL;
    size_t len = 0;

    if (s_fuzz_reply == NULL) {
        return h2a_http_attempt(ctx, in, reply, at);
    }
    memset(at, 0, sizeof(*at));
    at->cc = CURLE_OK;
    s_fuzz_reply(in->svc, &at->status, &body, &len, at->sink.errortype,
                 sizeof(at->sink.errortype));
    snprintf(at->sink.request_id, sizeof(at->sink.request_id), "fuzz");
    if (h2a_buf_append(reply, body, len) != H2A_OK) {
        at->sink.too_big = true;
        at->sink.limit = len;
        at->sink.received = len;
    }
    return H2A_OK;
}
#else
#define s_attempt h2a_http_attempt
#endif

static bool s_is_skew_error(long status, const char *code)
{
    static const char *const codes[] = {
        "RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
        "SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture",
    };

    /* EC2 answers AuthFailure with 401; the others use 400 or 403. */
    if (status != 400 && status != 401 && status != 403) {
        return false;
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool s_is_network(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static long s_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* What one call carries from attempt to attempt. */
struct s_call {
    h2a_aws_service svc;
    const struct h2a_aws_request *rq;
    struct h2a_http_attempt_in in;
    int attempt;
    int taken;       /* retry quota taken */
    bool refreshed;  /* credentials refetched once */
    bool skew_fixed; /* clock corrected once */
};

typedef enum { S_DONE, S_FAIL, S_AGAIN, S_BACKOFF } s_next;

static void s_read_error(H2A_AWS_CTX *ctx, const struct s_call *c, const h2a_buf *reply,
                         const struct h2a_http_attempt *at)
{
    h2a_aws_protocol proto = h2a_aws_service_info(c->svc)->protocol;

    if (proto == H2A_AWS_PROTO_QUERY || proto == H2A_AWS_PROTO_REST_XML) {
        (void)h2a_aws_parse_query_error((const char *)reply->data, reply->len, &ctx->err);
        if (at->sink.request_id[0] != '\0') {
            snprintf(ctx->err.request_id, sizeof(ctx->err.request_id), "%s",
                     at->sink.request_id);
        }
    } else {
        (void)h2a_aws_parse_json_error((const char *)reply->data, reply->len,
                                       at->sink.errortype[0] != '\0' ? at->sink.errortype : NULL,
                                       &ctx->err);
    }
}

/* After a reply with an HTTP error: a fix that earns an immediate retry? */
static bool s_fixable(H2A_AWS_CTX *ctx, struct s_call *c, const struct h2a_http_attempt *at)
{
    const char *code = ctx->err.code;

    if (c->attempt >= ctx->set->max_attempts) {
        return false;
    }
    if (!c->skew_fixed && s_is_skew_error(at->status, code) && at->sink.server_date > 0 &&
        labs((long)(at->sink.server_date - time(NULL)) - ctx->clock_offset) > 240) {
        /* The local clock is off (as the SDKs do): sign with AWS's time. */
        ctx->clock_offset = (long)(at->sink.server_date - time(NULL));
        H2A_LOG_WARN("aws: local clock differs from %s's by %ld s; correcting",
                     h2a_aws_service_name(c->svc), ctx->clock_offset);
        c->skew_fixed = true;
        return true;
    }
    if (!c->refreshed && !c->rq->unsigned_call && c->rq->creds == NULL &&
        (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0 ||
         strcmp(code, "RequestExpired") == 0)) {
        /* Credentials expired early: refresh once and try again. */
        c->refreshed = true;
        return true;
    }
    return false;
}

static h2a_err s_too_big(H2A_AWS_CTX *ctx, const struct s_call *c,
                         const struct h2a_http_sink *s)
{
    ctx->err.network = false;
    if (s->no_memory) {
        return h2a_aws_malformed(ctx, c->svc, c->rq->operation, "reply could not be held "
                                 "in memory (more than %llu bytes)", s->received);
    }
    if (s->content_length > 0) {
        return h2a_aws_malformed(ctx, c->svc, c->rq->operation, "reply of %llu bytes is "
                                 "larger than the limit of %zu bytes", s->content_length,
                                 s->limit);
    }
    return h2a_aws_malformed(ctx, c->svc, c->rq->operation, "reply larger than the limit of "
                             "%zu bytes (more than %llu received)", s->limit, s->received);
}

/* Judge one attempt: done, failed for good, retry now, or back off first. */
static s_next s_judge(H2A_AWS_CTX *ctx, struct s_call *c, const h2a_buf *reply,
                      const struct h2a_http_attempt *at, h2a_retry_kind *kind)
{
    ctx->err.attempts = c->attempt;
    ctx->err.http_status = at->cc == CURLE_OK ? at->status : 0;
    snprintf(ctx->err.request_id, sizeof(ctx->err.request_id), "%s", at->sink.request_id);
    if (at->cc == CURLE_OK && at->status >= 200 && at->status < 300) {
        return S_DONE;
    }
    if (at->cc != CURLE_OK) {
        ctx->err.network = true;
        snprintf(ctx->err.message, sizeof(ctx->err.message), "%.100s (%.300s)",
                 curl_easy_strerror(at->cc), c->in.ep->url);
        /* TLS verification, protocol refusal, ...: not transient. */
        *kind = h2a_aws_retry_classify(0, NULL, true, at->cc == CURLE_OPERATION_TIMEDOUT);
        return s_is_network(at->cc) ? S_BACKOFF : S_FAIL;
    }
    s_read_error(ctx, c, reply, at);
    *kind = h2a_aws_retry_classify(at->status, ctx->err.code, false, false);
    return s_fixable(ctx, c, at) ? S_AGAIN : S_BACKOFF;
}

/* Sleep before the next attempt, or false when the call must give up. */
static bool s_backoff(H2A_AWS_CTX *ctx, struct s_call *c, h2a_retry_kind kind)
{
    int cost = 0;
    long delay;

    if (kind == H2A_RETRY_NO || c->attempt >= ctx->set->max_attempts) {
        return false;
    }
    if (!h2a_retry_quota_take(&ctx->quota, kind, &cost)) {
        H2A_LOG_WARN("aws: retry quota exhausted, not retrying %s %s",
                     h2a_aws_service_name(c->svc), c->rq->operation);
        return false;
    }
    c->taken += cost;
    delay = h2a_aws_backoff_ms(c->attempt, ctx->rand01(ctx->hook_arg), ctx->set->retry_base_ms);
    H2A_LOG_INFO("aws: %s %s attempt %d failed (%s%s), retrying in %ld ms",
                 h2a_aws_service_name(c->svc), c->rq->operation, c->attempt,
                 ctx->err.network ? "network" : "HTTP ",
                 ctx->err.network ? "" : (ctx->err.code[0] ? ctx->err.code : "5xx"), delay);
    ctx->stats.retries++;
    h2a_aws_ctx_sleep(ctx, delay);
    return true;
}

/*
 * The retry loop. On success the 2xx body is in `reply`; on failure
 * ctx->err is filled and H2A_ERR_AWS returned.
 */
static h2a_err s_loop(H2A_AWS_CTX *ctx, struct s_call *c, h2a_buf *reply)
{
    struct h2a_http_attempt at;
    h2a_retry_kind kind = H2A_RETRY_NO;

    for (c->attempt = 1;; c->attempt++) {
        long t0 = s_mono_ms();
        s_next next;

        if (!c->rq->unsigned_call && c->rq->creds == NULL) {
            H2A_GUARD(h2a_aws_ctx_creds(ctx, c->refreshed));
        }
        /* A credential fetch may have made calls of its own: reset the record. */
        s_err_reset(ctx, c->svc, c->rq->operation);
        c->in.creds = c->rq->unsigned_call ? NULL
                                           : (c->rq->creds != NULL ? c->rq->creds : ctx->local);
        reply->len = 0;
        h2a_buf_reset(reply);
        H2A_GUARD(s_attempt(ctx, &c->in, reply, &at));
        /* Operation, status and sizes only: bodies are never logged. */
        H2A_LOG_DBG("aws: %s %s %s attempt %d: %s HTTP %ld, sent %zu bytes%s, got %zu bytes, "
                    "%ld ms", h2a_aws_service_name(c->svc), c->rq->operation, c->in.url,
                    c->attempt, at.cc == CURLE_OK ? "ok" : curl_easy_strerror(at.cc), at.status,
                    c->rq->body_len, c->rq->secret_body ? " (secret, not shown)" : "",
                    reply->len, s_mono_ms() - t0);
        if (at.sink.too_big || at.sink.no_memory) {
            ctx->err.http_status = at.status;
            snprintf(ctx->err.request_id, sizeof(ctx->err.request_id), "%s",
                     at.sink.request_id);
            return s_too_big(ctx, c, &at.sink);
        }
        next = s_judge(ctx, c, reply, &at, &kind);
        if (next == S_DONE) {
            h2a_retry_quota_success(&ctx->quota, c->taken);
            ctx->last_status = at.status;
            memcpy(ctx->last_request_id, at.sink.request_id, sizeof(ctx->last_request_id));
            memset(&ctx->err, 0, sizeof(ctx->err));
            return H2A_OK;
        }
        if (next == S_AGAIN) {
            ctx->stats.retries++;
            continue;
        }
        if (next == S_FAIL || !s_backoff(ctx, c, kind)) {
            return s_err_raise(ctx);
        }
    }
}

static const char *s_content_type(h2a_aws_protocol p, size_t body_len)
{
    switch (p) {
    case H2A_AWS_PROTO_JSON10:
        return "application/x-amz-json-1.0";
    case H2A_AWS_PROTO_JSON11:
        return "application/x-amz-json-1.1";
    case H2A_AWS_PROTO_QUERY:
        return "application/x-www-form-urlencoded; charset=utf-8";
    default:
        return body_len > 0 ? "application/xml" : NULL;
    }
}

static h2a_err s_plain_refused(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *what,
                               const char *url)
{
    const char *src = ctx->set->endpoint_src[svc];

    return h2a_err_set(H2A_ERR_USAGE, "%s %s: refused over plain http:// (%s, set by %s): "
                       "it carries key material or credentials; use an https:// endpoint",
                       h2a_aws_service_name(svc), what, url,
                       src != NULL ? src : "the configuration");
}

/* Key material and credentials never cross the network in clear. */
static h2a_err s_refuse_plain(H2A_AWS_CTX *ctx, h2a_aws_service svc,
                              const struct h2a_aws_request *rq, const struct h2a_endpoint *ep)
{
    if (strcmp(ep->scheme, "http") != 0 || !(rq->secret_body || rq->secret_reply) ||
        ctx->plain_http_secrets) {
        return H2A_OK;
    }
    return s_plain_refused(ctx, svc, rq->operation, ep->url);
}

h2a_err h2a_aws_ctx_require_https(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *what)
{
    const char *ep = (unsigned)svc < H2A_AWS_SVC__COUNT ? ctx->set->endpoint[svc] : NULL;

    if (ep == NULL || strncasecmp(ep, "http://", 7) != 0 || ctx->plain_http_secrets) {
        return H2A_OK;
    }
    return s_plain_refused(ctx, svc, what, ep);
}

/* URL and signed path of `rq` on `ep` into `url`/`path`. */
static h2a_err s_build_url(const struct h2a_endpoint *ep, const struct h2a_aws_request *rq,
                           h2a_buf *url, h2a_buf *path)
{
    size_t bl = strlen(ep->path);

    /* The endpoint's own path ends in '/'; the request's starts with one. */
    H2A_GUARD(h2a_buf_append(path, ep->path, bl > 0 && ep->path[bl - 1] == '/' &&
                                                     rq->path != NULL ? bl - 1 : bl));
    if (rq->path != NULL) {
        H2A_GUARD(h2a_buf_append_str(path, rq->path));
    }
    H2A_GUARD(h2a_buf_terminate(path));
    H2A_GUARD(h2a_buf_printf(url, "%s://%s%s%s%s", ep->scheme, ep->host_header,
                             (const char *)path->data, rq->query != NULL ? "?" : "",
                             rq->query != NULL ? rq->query : ""));
    return h2a_buf_terminate(url);
}

h2a_err h2a_aws_send(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                     const struct h2a_aws_request *rq, h2a_buf *reply)
{
    const struct h2a_aws_service_info *si = h2a_aws_service_info(svc);
    struct h2a_endpoint ep;
    struct s_call c;
    char target[160];
    h2a_buf url, path;
    h2a_err rv;

    ctx->stats.calls++;
    ctx->last_status = 0;
    ctx->last_request_id[0] = '\0';
    s_err_reset(ctx, svc, rq->operation);
    H2A_GUARD(h2a_aws_endpoint_resolve(svc, h2a_aws_first(region, ctx->set->region),
                                       ctx->set->endpoint[svc], &ep));
    H2A_GUARD(s_refuse_plain(ctx, svc, rq, &ep));
    memset(&c, 0, sizeof(c));
    c.svc = svc;
    c.rq = rq;
    if (si->target != NULL) {
        snprintf(target, sizeof(target), "%s.%s", si->target, rq->operation);
        c.in.target = target;
    }
    h2a_buf_init(&url, 0);
    h2a_buf_init(&path, 0);
    if ((rv = s_build_url(&ep, rq, &url, &path)) == H2A_OK) {
        c.in.svc = svc;
        c.in.ep = &ep;
        c.in.url = (const char *)url.data;
        c.in.method = rq->method != NULL ? rq->method : "POST";
        c.in.path = (const char *)path.data;
        c.in.query = rq->query;
        c.in.content_type = s_content_type(si->protocol, rq->body_len);
        c.in.extra = rq->headers;
        c.in.n_extra = rq->n_headers;
        c.in.body = rq->body;
        c.in.body_len = rq->body_len;
        c.in.secret_body = rq->secret_body;
        rv = s_loop(ctx, &c, reply);
    }
    h2a_buf_free(&url);
    h2a_buf_free(&path);
    return rv;
}

h2a_err h2a_aws_raw_json_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                              const char *op, const uint8_t *body, size_t body_len,
                              bool secret_request, h2a_buf *reply)
{
    struct h2a_aws_request rq = {.operation = op, .body = body, .body_len = body_len,
                                 .secret_body = secret_request};
    h2a_aws_protocol p = h2a_aws_service_info(svc)->protocol;

    if (p != H2A_AWS_PROTO_JSON10 && p != H2A_AWS_PROTO_JSON11) {
        return h2a_err_set(H2A_ERR_INTERNAL, "%s is not an awsJson service",
                           h2a_aws_service_name(svc));
    }
    /* The secret replies of awsJson: the caller's buffer is secure for them. */
    rq.secret_reply = reply->secure;
    return h2a_aws_send(ctx, svc, region, &rq, reply);
}

h2a_err h2a_aws_parse_reply(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                            const h2a_buf *reply, json_object **out)
{
    json_tokener *tok;
    json_object *o = NULL;
    size_t end;

    *out = NULL;
    if (reply->len == 0) {
        return h2a_aws_malformed(ctx, svc, op, "empty reply, expected a JSON object");
    }
    if (reply->len > INT32_MAX) {
        return h2a_aws_malformed(ctx, svc, op, "reply too large");
    }
    tok = json_tokener_new_ex(64);
    if (tok == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "JSON parser");
    }
    o = json_tokener_parse_ex(tok, (const char *)reply->data, (int)reply->len);
    end = json_tokener_get_parse_end(tok);
    if (o == NULL) {
        enum json_tokener_error je = json_tokener_get_error(tok);
        json_tokener_free(tok);
        return h2a_aws_malformed(ctx, svc, op, "reply is not JSON (%s)",
                                 je == json_tokener_continue ? "truncated"
                                                             : json_tokener_error_desc(je));
    }
    json_tokener_free(tok);
    for (size_t i = end; i < reply->len; i++) {
        char ch = (char)reply->data[i];
        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') {
            json_object_put(o);
            return h2a_aws_malformed(ctx, svc, op, "trailing data after the JSON reply");
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return h2a_aws_malformed(ctx, svc, op, "reply is JSON but not an object");
    }
    *out = o;
    return H2A_OK;
}

h2a_err h2a_aws_json_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                          const char *op, json_object *req, json_object **resp)
{
    const char *body = req != NULL ? json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)
                                   : "{}";
    h2a_buf reply;
    h2a_err rv;

    if (resp != NULL) {
        *resp = NULL;
    }
    if (body == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "request JSON");
    }
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    rv = h2a_aws_raw_json_call(ctx, svc, region, op, (const uint8_t *)body, strlen(body), false,
                               &reply);
    if (rv == H2A_OK && resp != NULL) {
        rv = h2a_aws_parse_reply(ctx, svc, op, &reply, resp);
    }
    h2a_buf_free(&reply);
    return rv;
}
