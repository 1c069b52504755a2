/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * One HTTP attempt: libcurl connections kept alive per endpoint, SigV4
 * headers, the body sent (a secret one from locked memory), the reply and
 * the headers the retry loop needs. The retry loop is in transport.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "aws_ctx.h"
#include "http.h"

static size_t s_write_cb(char *p, size_t size, size_t n, void *arg)
{
    struct h2a_http_sink *s = arg;
    size_t len = size * n;
    size_t limit = s->body->limit != 0 && s->body->limit < H2A_AWS_MAX_REPLY ? s->body->limit
                                                                             : H2A_AWS_MAX_REPLY;

    s->received += len;
    if (s->body->len + len > limit) {
        s->too_big = true;
        s->limit = limit;
        return 0;
    }
    if (h2a_buf_append(s->body, p, len) != H2A_OK) {
        s->no_memory = true;
        return 0;
    }
    return len;
}

static void s_header_value(const char *line, size_t len, size_t nlen, char *dst, size_t dsz)
{
    const char *v = line + nlen;
    size_t vl = len - nlen;

    while (vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) {
        vl--;
    }
    if (vl >= dsz) {
        vl = dsz - 1;
    }
    memcpy(dst, v, vl);
    dst[vl] = '\0';
}

static size_t s_header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct h2a_http_sink *s = arg;
    size_t len = size * n;
    static const char rid1[] = "x-amzn-requestid:";
    static const char rid2[] = "x-amz-request-id:";
    static const char et[] = "x-amzn-errortype:";
    static const char dt[] = "date:";
    static const char cl[] = "content-length:";

    if (len >= sizeof(rid1) - 1 && strncasecmp(p, rid1, sizeof(rid1) - 1) == 0) {
        s_header_value(p, len, sizeof(rid1) - 1, s->request_id, sizeof(s->request_id));
    } else if (len >= sizeof(rid2) - 1 && strncasecmp(p, rid2, sizeof(rid2) - 1) == 0 &&
               s->request_id[0] == '\0') {
        s_header_value(p, len, sizeof(rid2) - 1, s->request_id, sizeof(s->request_id));
    } else if (len >= sizeof(et) - 1 && strncasecmp(p, et, sizeof(et) - 1) == 0) {
        s_header_value(p, len, sizeof(et) - 1, s->errortype, sizeof(s->errortype));
    } else if (len >= sizeof(dt) - 1 && strncasecmp(p, dt, sizeof(dt) - 1) == 0) {
        char v[64];
        s_header_value(p, len, sizeof(dt) - 1, v, sizeof(v));
        s->server_date = curl_getdate(v, NULL);
    } else if (len >= sizeof(cl) - 1 && strncasecmp(p, cl, sizeof(cl) - 1) == 0) {
        char v[32];
        s_header_value(p, len, sizeof(cl) - 1, v, sizeof(v));
        s->content_length = strtoull(v, NULL, 10);
    }
    return len;
}

static void s_apply_tls(CURL *h, const struct h2a_aws_settings *set)
{
    /* Verification stays on (libcurl's default); only the trust store changes. */
    if (set->ca_bundle != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, set->ca_bundle);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hsm2acm/0.1.0");
}

void h2a_aws_slist_free_wiped(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i != NULL; i = i->next) {
        if (i->data != NULL) {
            OPENSSL_cleanse(i->data, strlen(i->data));
        }
    }
    curl_slist_free_all(l);
}

struct h2a_aws_tls_share {
    CURLSH *sh;
    pthread_mutex_t mu[CURL_LOCK_DATA_LAST];
};

static void s_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
    struct h2a_aws_tls_share *s = arg;

    (void)h;
    (void)access;
    pthread_mutex_lock(&s->mu[data]);
}

static void s_share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    struct h2a_aws_tls_share *s = arg;

    (void)h;
    pthread_mutex_unlock(&s->mu[data]);
}

struct h2a_aws_tls_share *h2a_aws_tls_share_new(void)
{
    struct h2a_aws_tls_share *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->sh = curl_share_init()) == NULL) {
        free(s);
        H2A_LOG_DBG("aws: no shared TLS session cache (out of memory)");
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_init(&s->mu[i], NULL);
    }
    if (curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, s_share_lock) != CURLSHE_OK ||
        curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, s_share_unlock) != CURLSHE_OK ||
        curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
        curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        H2A_LOG_DBG("aws: libcurl cannot share TLS sessions; full handshakes");
        h2a_aws_tls_share_free(s);
        return NULL;
    }
    return s;
}

void h2a_aws_tls_share_free(struct h2a_aws_tls_share *s)
{
    if (s == NULL) {
        return;
    }
    if (curl_share_cleanup(s->sh) != CURLSHE_OK) {
        /* A handle still uses it: leak it rather than free locks in use. */
        H2A_LOG_ERR("aws: TLS session cache still in use at cleanup");
        return;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_destroy(&s->mu[i]);
    }
    free(s);
}

static CURL *s_conn_open(H2A_AWS_CTX *ctx, const struct h2a_endpoint *ep, int slot)
{
    CURL *h = curl_easy_init();

    if (h == NULL) {
        return NULL;
    }
    s_apply_tls(h, ctx->set);
    if (ctx->set->tls != NULL) {
        curl_easy_setopt(h, CURLOPT_SHARE, ctx->set->tls->sh);
    }
    /* http:// only for endpoints someone configured explicitly. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, ep->explicit_endpoint ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ctx->set->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ctx->set->timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s_header_cb);
    /* Same size on both sides: the pool key is always the whole base URL. */
    _Static_assert(sizeof(ctx->pool->conns[0].url) == sizeof(ep->url), "endpoint URL sizes");
    memcpy(ctx->pool->conns[slot].url, ep->url, sizeof(ep->url));
    ctx->pool->conns[slot].h = h;
    ctx->pool->endpoints++;
    return h;
}

static CURL *s_conn_for(H2A_AWS_CTX *ctx, const struct h2a_endpoint *ep)
{
    int free_slot = -1;

    for (int i = 0; i < H2A_AWS_MAX_CONNS; i++) {
        if (ctx->pool->conns[i].h != NULL && strcmp(ctx->pool->conns[i].url, ep->url) == 0) {
            return ctx->pool->conns[i].h;
        }
        if (ctx->pool->conns[i].h == NULL && free_slot < 0) {
            free_slot = i;
        }
    }
    if (free_slot < 0) {
        /* Evict the first; more than 8 endpoints per worker is unusual. */
        curl_easy_cleanup(ctx->pool->conns[0].h);
        ctx->pool->conns[0].h = NULL;
        free_slot = 0;
    }
    return s_conn_open(ctx, ep, free_slot);
}

h2a_err h2a_aws_http_simple(H2A_AWS_CTX *ctx, const char *what, const char *method,
                            const char *url, struct curl_slist *hdrs, long timeout_ms,
                            h2a_buf *out, long *status)
{
    CURL *h = curl_easy_init();
    struct h2a_http_sink sink = {.body = out};
    CURLcode cc;

    *status = 0;
    if (h == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s: curl handle", what);
    }
    s_apply_tls(h, ctx->set);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    /* The metadata services are link-local; never through a proxy. */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(h);
    if (cc != CURLE_OK) {
        return h2a_err_set(H2A_ERR_AWS, "%s: %s: %s", what, url,
                           sink.too_big ? "reply too large" : curl_easy_strerror(cc));
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */
/* ------------------------------------------------------------------ */

static h2a_err s_signing_key(H2A_AWS_CTX *ctx, const struct h2a_aws_credentials *cr,
                             const char *date8, const char *region, const char *service,
                             uint8_t out[32])
{
    struct h2a_aws_keycache *slot = NULL;

    for (int i = 0; i < H2A_AWS_KEY_CACHE; i++) {
        struct h2a_aws_keycache *k = &ctx->keys[i];
        if (k->valid && strcmp(k->akid, cr->access_key_id) == 0 &&
            strcmp(k->date8, date8) == 0 && strcmp(k->region, region) == 0 &&
            strcmp(k->service, service) == 0) {
            memcpy(out, k->key, 32);
            return H2A_OK;
        }
    }
    /* Replace a stale day first, else round-robin by date. */
    for (int i = 0; i < H2A_AWS_KEY_CACHE && slot == NULL; i++) {
        if (!ctx->keys[i].valid || strcmp(ctx->keys[i].date8, date8) != 0) {
            slot = &ctx->keys[i];
        }
    }
    if (slot == NULL) {
        slot = &ctx->keys[(unsigned)(ctx->stats.http_requests % H2A_AWS_KEY_CACHE)];
    }
    /* A cut name would never match again: refuse rather than cache it. */
    H2A_ENSURE(strlen(region) < sizeof(slot->region) && strlen(service) < sizeof(slot->service)
                   && strlen(cr->access_key_id) < sizeof(slot->akid),
               H2A_ERR_INPUT, "region '%s' or service '%s' is too long to sign for", region,
               service);
    OPENSSL_cleanse(slot, sizeof(*slot));
    H2A_GUARD(h2a_sigv4_signing_key(cr->secret_access_key, date8, region, service, slot->key));
    snprintf(slot->akid, sizeof(slot->akid), "%s", cr->access_key_id);
    snprintf(slot->date8, sizeof(slot->date8), "%s", date8);
    snprintf(slot->region, sizeof(slot->region), "%s", region);
    snprintf(slot->service, sizeof(slot->service), "%s", service);
    slot->valid = true;
    memcpy(out, slot->key, 32);
    return H2A_OK;
}

/* Append "name: value" to the libcurl list (the line is built in locked memory). */
static h2a_err s_add_line(struct curl_slist **l, h2a_buf *line, const char *name,
                          const char *value)
{
    struct curl_slist *n;

    line->len = 0;
    H2A_GUARD(h2a_buf_printf(line, "%s: %s", name, value));
    H2A_GUARD(h2a_buf_terminate(line));
    n = curl_slist_append(*l, (const char *)line->data);
    if (n == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "request headers");
    }
    *l = n;
    return H2A_OK;
}

/* The Authorization header value of a request whose headers are `in`. */
static h2a_err s_authorization(H2A_AWS_CTX *ctx, const struct h2a_http_attempt_in *r,
                               const struct h2a_sigv4_input *in, const char *amz,
                               const char *d8, h2a_buf *out)
{
    const char *svc = h2a_aws_service_name(r->svc);
    h2a_buf creq, sh, scope, sts;
    uint8_t key[32];
    char sig[65];
    h2a_err rv;

    h2a_buf_init(&creq, 0);
    h2a_buf_init(&sh, 0);
    h2a_buf_init(&scope, 0);
    h2a_buf_init(&sts, 0);
    if ((rv = h2a_sigv4_canonical_request(in, &creq, &sh)) == H2A_OK &&
        (rv = h2a_sigv4_scope(d8, r->ep->signing_region, svc, &scope)) == H2A_OK &&
        (rv = h2a_sigv4_string_to_sign(amz, (const char *)scope.data, &creq, &sts)) == H2A_OK &&
        (rv = s_signing_key(ctx, r->creds, d8, r->ep->signing_region, svc, key)) == H2A_OK &&
        (rv = h2a_sigv4_signature(key, &sts, sig)) == H2A_OK) {
        rv = h2a_buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                            "Signature=%s", r->creds->access_key_id, (const char *)scope.data,
                            (const char *)sh.data, sig);
    }
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(sig, sizeof(sig));
    h2a_buf_free(&creq);
    h2a_buf_free(&sh);
    h2a_buf_free(&scope);
    h2a_buf_free(&sts);
    return rv;
}

#define S_MAX_HEADERS 16

/* Build the header list incl. Authorization (wiped when freed). */
static h2a_err s_sign(H2A_AWS_CTX *ctx, const struct h2a_http_attempt_in *r,
                      struct curl_slist **out)
{
    struct h2a_http_header hs[S_MAX_HEADERS];
    struct h2a_sigv4_input in;
    size_t n = 0;
    char amz[17], d8[9];
    h2a_buf line, auth;
    struct curl_slist *l = NULL;
    h2a_err rv = H2A_OK;

    *out = NULL;
    H2A_ENSURE(r->n_extra <= S_MAX_HEADERS - 5, H2A_ERR_INTERNAL, "too many request headers");
    h2a_buf_init_secure(&line, 0);
    h2a_buf_init_secure(&auth, 0);
    h2a_sigv4_dates(time(NULL) + ctx->clock_offset, amz, d8);
    hs[n++] = (struct h2a_http_header){"host", r->ep->host_header};
    if (r->content_type != NULL) {
        hs[n++] = (struct h2a_http_header){"content-type", r->content_type};
    }
    hs[n++] = (struct h2a_http_header){"x-amz-date", amz};
    if (r->target != NULL) {
        hs[n++] = (struct h2a_http_header){"x-amz-target", r->target};
    }
    if (r->creds != NULL && r->creds->session_token != NULL) {
        hs[n++] = (struct h2a_http_header){"x-amz-security-token", r->creds->session_token};
    }
    for (size_t i = 0; i < r->n_extra; i++) {
        hs[n++] = r->extra[i];
    }
    for (size_t i = 0; i < n && rv == H2A_OK; i++) {
        rv = s_add_line(&l, &line, hs[i].name, hs[i].value);
    }
    /* No "Expect: 100-continue" round trip; Accept is left to libcurl. */
    if (rv == H2A_OK && (l = curl_slist_append(l, "Expect:")) == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "request headers");
    }
    if (rv == H2A_OK && r->creds != NULL) {
        memset(&in, 0, sizeof(in));
        in.method = r->method;
        in.path = r->path;
        in.query = r->query;
        in.headers = hs;
        in.n_headers = n;
        in.body = r->body;
        in.body_len = r->body_len;
        if ((rv = s_authorization(ctx, r, &in, amz, d8, &auth)) == H2A_OK &&
            (rv = h2a_buf_terminate(&auth)) == H2A_OK) {
            rv = s_add_line(&l, &line, "Authorization", (const char *)auth.data);
        }
    }
    h2a_buf_free(&line);
    h2a_buf_free(&auth);
    if (rv != H2A_OK) {
        h2a_aws_slist_free_wiped(l);
        return rv;
    }
    *out = l;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* One attempt                                                         */
/* ------------------------------------------------------------------ */

/*
 * A secret body is streamed from its locked buffer into libcurl's upload
 * buffer (also locked, see s_conn_open) instead of being handed over as
 * POSTFIELDS, which libcurl copies into ordinary memory with the headers.
 */
struct s_reader {
    const uint8_t *start;
    size_t total;
    const uint8_t *p;
    size_t left;
};

static size_t s_read_cb(char *dst, size_t size, size_t n, void *arg)
{
    struct s_reader *r = arg;
    size_t k = size * n < r->left ? size * n : r->left;

    memcpy(dst, r->p, k);
    r->p += k;
    r->left -= k;
    return k;
}

/* libcurl rewinds to resend on a reused connection that turned out dead. */
static int s_seek_cb(void *arg, curl_off_t offset, int origin)
{
    struct s_reader *r = arg;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > r->total) {
        return CURL_SEEKFUNC_FAIL;
    }
    r->p = r->start + offset;
    r->left = r->total - (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void s_set_method(CURL *h, const struct h2a_http_attempt_in *r, struct s_reader *rd)
{
    bool post = strcmp(r->method, "POST") == 0;

    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    /*
     * For a secret body the upload buffer gets a size of its own, which the
     * libcurl allocator (curl_mem.c) serves from the locked secure heap: the
     * body read into it never sits in ordinary memory. Other requests keep
     * libcurl's default and leave the small secure heap alone.
     */
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE,
                     r->secret_body ? (long)H2A_CURL_UPLOAD_BUFSIZE : 65536L);
    if (r->secret_body) {
        rd->start = rd->p = r->body;
        rd->total = rd->left = r->body_len;
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, s_seek_cb);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, rd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s_read_cb);
        curl_easy_setopt(h, CURLOPT_READDATA, rd);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body != NULL ? (const char *)r->body : "");
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    if (!post) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

h2a_err h2a_http_attempt(H2A_AWS_CTX *ctx, const struct h2a_http_attempt_in *r,
                         h2a_buf *reply, struct h2a_http_attempt *at)
{
    CURL *h = s_conn_for(ctx, r->ep);
    struct curl_slist *hdrs = NULL;
    struct h2a_http_sink sink = {.body = reply};
    struct s_reader rd = {NULL, 0, NULL, 0};
    long connects = 0;

    memset(at, 0, sizeof(*at));
    if (h == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "curl handle");
    }
    H2A_GUARD(s_sign(ctx, r, &hdrs));
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    s_set_method(h, r, &rd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    at->cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &at->status);
    if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) {
        ctx->pool->tls_connects += connects;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_READDATA, NULL);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, NULL);
    h2a_aws_slist_free_wiped(hdrs);
    ctx->stats.http_requests++;
    at->sink = sink;
    at->sink.body = NULL;
    return H2A_OK;
}
