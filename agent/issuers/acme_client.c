/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The ACME wire (RFC 8555 6): one libcurl handle per issuer and worker
 * (kept between calls with the directory and the account), TLS always verified, a nonce pool fed by every reply, and the one signed-POST
 * primitive every request goes through, so badNonce, Retry-After and
 * problem documents are handled in one place.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "issuers/acme_int.h"

#ifdef H2A_FUZZ_HOOKS
static h2a_acme_fuzz_reply_fn s_fuzz_reply;
#endif

#define H2A_ACME_REPLY_MAX (1024 * 1024)

long long h2a_acme_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h2a_acme_pause(const h2a_acme *a, long long ms)
{
    long long left = a->deadline_ms - h2a_acme_now_ms();
    struct timespec ts;

#ifdef H2A_FUZZ_HOOKS
    if (s_fuzz_reply != NULL) {
        return; /* replies come from memory: waiting for them finds nothing new */
    }
#endif
    ms = ms < left ? ms : left;
    if (ms <= 0) {
        return;
    }
    /* Whole seconds apart: usleep takes at most a second on some systems, and 32 bits of µs. */
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void h2a_acme_reply_clear(h2a_acme_reply *r)
{
    h2a_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
    h2a_buf_init(&r->body, H2A_ACME_REPLY_MAX);
    r->retry_after_ms = -1;
}

json_object *h2a_acme_jarr(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_array)) {
        return NULL;
    }
    return v;
}

const char *h2a_acme_jstr(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static size_t s_body_cb(char *p, size_t sz, size_t n, void *arg)
{
    h2a_acme_reply *r = arg;

    return h2a_buf_append(&r->body, p, sz * n) == H2A_OK ? sz * n : 0;
}

static void s_header_value(const char *line, size_t len, char *out, size_t outsz)
{
    const char *v = memchr(line, ':', len);
    size_t n;

    if (v == NULL) {
        return;
    }
    v++;
    while (v < line + len && (*v == ' ' || *v == '\t')) {
        v++;
    }
    n = (size_t)(line + len - v);
    while (n > 0 && isspace((unsigned char)v[n - 1])) {
        n--;
    }
    if (n < outsz) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
}

/* Link: <URL>;rel="alternate" — an alternate certificate chain (RFC 8555 7.4.2). */
static void s_link(const char *p, size_t len, h2a_acme_reply *r)
{
    char v[1024] = "";
    const char *lt, *gt;

    s_header_value(p, len, v, sizeof(v));
    lt = strchr(v, '<');
    gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (gt != NULL && strstr(gt, "rel=\"alternate\"") != NULL &&
        (size_t)(gt - lt - 1) < sizeof(r->alternates[0])) {
        memcpy(r->alternates[r->n_alternates], lt + 1, (size_t)(gt - lt - 1));
        r->alternates[r->n_alternates][gt - lt - 1] = '\0';
        r->n_alternates++;
    }
}

static size_t s_header_cb(char *p, size_t sz, size_t n, void *arg)
{
    h2a_acme_reply *r = arg;
    size_t len = sz * n;
    char tmp[64] = "";

    if (len > 12 && strncasecmp(p, "Replay-Nonce:", 13) == 0) {
        s_header_value(p, len, r->nonce, sizeof(r->nonce));
    } else if (len > 9 && strncasecmp(p, "Location:", 9) == 0) {
        s_header_value(p, len, r->location, sizeof(r->location));
    } else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        s_header_value(p, len, r->content_type, sizeof(r->content_type));
    } else if (len > 5 && strncasecmp(p, "Link:", 5) == 0 && r->n_alternates < 4) {
        s_link(p, len, r);
    } else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        /* Seconds only: pebble and the big CAs send delta-seconds. */
        s_header_value(p, len, tmp, sizeof(tmp));
        if (isdigit((unsigned char)tmp[0])) {
            /* Capped so the milliseconds cannot overflow (fuzz_acme); any such wait is past
             * every deadline anyway. */
            long long s = strtoll(tmp, NULL, 10);
            r->retry_after_ms = (s > INT_MAX ? INT_MAX : s) * 1000;
        }
    }
    return len;
}

static void s_pool_put(h2a_acme *a, const char *nonce)
{
    char *dup;

    if (nonce[0] == '\0' || (dup = strdup(nonce)) == NULL) {
        return;
    }
    if (a->n_nonces == H2A_ACME_NONCES) {
        free(a->nonces[0]);
        memmove(a->nonces, a->nonces + 1, (H2A_ACME_NONCES - 1) * sizeof(char *));
        a->n_nonces--;
    }
    a->nonces[a->n_nonces++] = dup;
}

#ifdef H2A_FUZZ_HOOKS
void h2a_acme_fuzz_set_reply(h2a_acme_fuzz_reply_fn fn)
{
    s_fuzz_reply = fn;
}

/* The fuzz input through the same header and body callbacks libcurl would call. */
static h2a_err s_fuzz_http(h2a_acme *a, const char *method, h2a_acme_reply *r)
{
    const char *h = NULL, *nl;
    const uint8_t *body = NULL;
    size_t hlen = 0, blen = 0;

    s_fuzz_reply(method, &r->status, &h, &hlen, &body, &blen);
    for (const char *end = h + hlen; h < end; h = nl + 1) {
        nl = memchr(h, '\n', (size_t)(end - h));
        if (nl == NULL) {
            nl = end - 1;
        }
        (void)s_header_cb((char *)h, 1, (size_t)(nl + 1 - h), r);
    }
    if (strcmp(method, "HEAD") != 0 && s_body_cb((char *)body, 1, blen, r) != blen) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: reply too large", a->ctx->conf->name);
    }
    s_pool_put(a, r->nonce);
    return h2a_buf_terminate(&r->body);
}
#endif

/* One HTTP exchange; every reply's nonce goes to the pool. */
static h2a_err s_http(h2a_acme *a, const char *method, const char *url, const char *body,
                      h2a_acme_reply *r)
{
    CURL *c = a->curl;
    struct curl_slist *hdrs = NULL;
    CURLcode cc;

    h2a_acme_reply_clear(r);
#ifdef H2A_FUZZ_HOOKS
    if (s_fuzz_reply != NULL) {
        return s_fuzz_http(a, method, r);
    }
#endif
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->conf->ca_bundle != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, a->conf->ca_bundle);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hsm2acm-acme");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (body != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    cc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s %s: %s", a->ctx->conf->name,
                           method, url, curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    s_pool_put(a, r->nonce);
    return h2a_buf_terminate(&r->body);
}

h2a_err h2a_acme_get(h2a_acme *a, const char *url, h2a_acme_reply *r)
{
    H2A_GUARD(s_http(a, "GET", url, NULL, r));
    if (r->status >= 400) {
        return h2a_acme_problem(a, url, r);
    }
    return H2A_OK;
}

h2a_err h2a_acme_problem(const h2a_acme *a, const char *what, const h2a_acme_reply *r)
{
    json_object *o = r->body.len > 0 ? json_tokener_parse((const char *)r->body.data) : NULL;
    const char *type = h2a_acme_jstr(o, "type"), *detail = h2a_acme_jstr(o, "detail");
    h2a_err rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s: HTTP %ld: %s: %s",
                             a->ctx->conf->name, what, r->status,
                             type != NULL ? type : "(no problem type)",
                             detail != NULL ? detail : "(no detail)");

    json_object_put(o);
    return rv;
}

static h2a_err s_nonce(h2a_acme *a, char **out)
{
    h2a_acme_reply r = {0};

    if (a->n_nonces == 0) {
        h2a_acme_reply_clear(&r);
        H2A_GUARD(s_http(a, "HEAD", a->new_nonce, NULL, &r));
        h2a_acme_reply_clear(&r);
        h2a_buf_free(&r.body);
        H2A_ENSURE(a->n_nonces > 0, H2A_ERR_ISSUER, "issuers.%s: %s gave no Replay-Nonce",
                   a->ctx->conf->name, a->new_nonce);
    }
    *out = a->nonces[--a->n_nonces];
    return H2A_OK;
}

static h2a_err s_sign(h2a_acme *a, const char *hdr, const char *payload, h2a_buf *out)
{
#ifdef H2A_FUZZ_HOOKS
    if (a->key == NULL) {
        /* fuzz_acme runs without a token: what it fuzzes is the server's side. */
        return h2a_buf_printf(out, "{\"protected\":%s,\"payload\":\"%s\"}", hdr, payload);
    }
#endif
    return h2a_acme_jws_sign(a->key, hdr, payload, out);
}

static h2a_err s_signed_body(h2a_acme *a, const char *url, const char *payload, h2a_buf *out)
{
    h2a_buf hdr;
    char *nonce = NULL;
    h2a_err rv;

    h2a_buf_init(&hdr, 0);
    rv = s_nonce(a, &nonce);
    if (rv == H2A_OK) {
        rv = h2a_buf_printf(&hdr, "{\"alg\":\"%s\",%s%s%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
                            a->key != NULL ? h2a_acme_alg(a->key) : "none", a->kid != NULL ? "\"kid\":\"" : "\"jwk\":",
                            a->kid != NULL ? a->kid : (const char *)a->jwk.data,
                            a->kid != NULL ? "\"" : "", nonce, url);
    }
    if (rv == H2A_OK && (rv = h2a_buf_terminate(&hdr)) == H2A_OK) {
        rv = s_sign(a, (const char *)hdr.data, payload, out);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
    free(nonce);
    h2a_buf_free(&hdr);
    return rv;
}

static bool s_is_problem(const h2a_acme_reply *r, const char *type)
{
    json_object *o = json_tokener_parse((const char *)r->body.data);
    const char *t = h2a_acme_jstr(o, "type");
    bool yes = t != NULL && strcmp(t, type) == 0;

    json_object_put(o);
    return yes;
}

h2a_err h2a_acme_post(h2a_acme *a, const char *url, const char *payload, h2a_acme_reply *r)
{
    h2a_buf body;
    unsigned bad = 0;
    h2a_err rv;

    h2a_buf_init(&body, 0);
    for (;;) {
        h2a_buf_reset(&body);
        if ((rv = s_signed_body(a, url, payload, &body)) != H2A_OK ||
            (rv = s_http(a, "POST", url, (const char *)body.data, r)) != H2A_OK) {
            break;
        }
        if (r->status == 400 && s_is_problem(r, "urn:ietf:params:acme:error:badNonce") &&
            ++bad < H2A_ACME_BADNONCE_TRIES) {
            a->bad_nonces++;
            H2A_LOG_DBG("issuers.%s: badNonce from %s, retrying with the error's nonce",
                          a->ctx->conf->name, url);
            continue; /* the error's own nonce is in the pool now */
        }
        /* A wait that would end past the timeout is not started: the error says why. */
        if ((r->status == 429 || r->status == 503) && r->retry_after_ms >= 0 &&
            r->retry_after_ms < a->deadline_ms - h2a_acme_now_ms()) {
            H2A_LOG_INFO("issuers.%s: %s answered %ld, waiting %lld ms (Retry-After)",
                         a->ctx->conf->name, url, r->status, r->retry_after_ms);
            /* Retry-After: 0 must not turn into a loop that hammers the server. */
            h2a_acme_pause(a, r->retry_after_ms < 1000 ? 1000 : r->retry_after_ms);
            continue;
        }
        if (r->status >= 400) {
            rv = h2a_acme_problem(a, url, r);
        }
        break;
    }
    h2a_buf_free(&body);
    return rv;
}

static h2a_err s_dup_member(h2a_acme *a, json_object *dir, const char *key, bool required,
                            char **out)
{
    const char *v = h2a_acme_jstr(dir, key);

    H2A_ENSURE(v != NULL || !required, H2A_ERR_ISSUER, "issuers.%s: the directory %s has "
               "no %s", a->ctx->conf->name, a->conf->directory_url, key);
    if (v != NULL) {
        *out = strdup(v);
        H2A_ENSURE(*out != NULL, H2A_ERR_NOMEM, "directory");
    }
    return H2A_OK;
}

/*
 * What a worker keeps per ACME issuer (and token session) between calls:
 * the libcurl handle with its live TLS connection, the directory, the nonce
 * pool and the account (key handle, JWK, thumbprint, URL). A poll then
 * costs its own requests only: no handshake, directory or token search.
 */
#define H2A_ACME_KEEP 4

struct h2a_acme_keep {
    h2a_acme e[H2A_ACME_KEEP];
    const H2A_SESSION *session[H2A_ACME_KEEP];
};

static void s_release(h2a_acme *a)
{
    curl_easy_cleanup(a->curl);
    free(a->new_nonce);
    free(a->new_account);
    free(a->new_order);
    free(a->renewal_info);
    for (size_t i = 0; i < a->n_nonces; i++) {
        free(a->nonces[i]);
    }
    h2a_p11_key_free(a->key);
    h2a_buf_free(&a->jwk);
    h2a_buf_free(&a->thumb);
    free(a->kid);
    memset(a, 0, sizeof(*a));
}

void h2a_acme_keep_free(struct h2a_acme_keep *k)
{
    for (size_t i = 0; k != NULL && i < H2A_ACME_KEEP; i++) {
        s_release(&k->e[i]);
    }
    free(k);
}

/* The worker's kept state for this issuer, moved into *a (false: none). */
static bool s_keep_take(const h2a_issue_ctx *ctx, h2a_acme *a)
{
    struct h2a_acme_keep *k = ctx->state != NULL ? *h2a_issuer_state_acme(ctx->state) : NULL;

    for (size_t i = 0; k != NULL && i < H2A_ACME_KEEP; i++) {
        if (k->e[i].new_order != NULL && k->e[i].conf == ctx->conf->acme &&
            k->session[i] == ctx->session) {
            *a = k->e[i];
            memset(&k->e[i], 0, sizeof(k->e[i]));
            a->ctx = ctx;
            return true;
        }
    }
    return false;
}

/* Hand *a back to the worker: true when kept (then *a is emptied, nothing to free). */
static bool s_keep_put(h2a_acme *a)
{
    struct h2a_acme_keep **kp;
    size_t slot = 0;

    if (a->ctx == NULL || a->ctx->state == NULL || a->new_order == NULL) {
        return false;
    }
    kp = h2a_issuer_state_acme(a->ctx->state);
    if (*kp == NULL && (*kp = calloc(1, sizeof(**kp))) == NULL) {
        return false;
    }
    for (size_t i = 0; i < H2A_ACME_KEEP; i++) {
        if ((*kp)->e[i].new_order == NULL) {
            slot = i;
            break;
        }
    }
    s_release(&(*kp)->e[slot]);
    (*kp)->session[slot] = a->ctx->session;
    (*kp)->e[slot] = *a;
    memset(a, 0, sizeof(*a));
    return true;
}

static h2a_err s_directory(h2a_acme *a)
{
    h2a_acme_reply r = {0};
    json_object *dir = NULL, *meta = NULL, *v = NULL;
    h2a_err rv;

    h2a_acme_reply_clear(&r);
    rv = h2a_acme_get(a, a->conf->directory_url, &r);
    if (rv == H2A_OK) {
        dir = json_tokener_parse((const char *)r.body.data);
        if ((rv = s_dup_member(a, dir, "newNonce", true, &a->new_nonce)) == H2A_OK &&
            (rv = s_dup_member(a, dir, "newAccount", true, &a->new_account)) == H2A_OK &&
            (rv = s_dup_member(a, dir, "newOrder", true, &a->new_order)) == H2A_OK) {
            rv = s_dup_member(a, dir, "renewalInfo", false, &a->renewal_info);
        }
        if (json_object_object_get_ex(dir, "meta", &meta) &&
            json_object_object_get_ex(meta, "externalAccountRequired", &v)) {
            a->eab_required = json_object_get_boolean(v);
        }
    }
    json_object_put(dir);
    h2a_buf_free(&r.body);
    return rv;
}

h2a_err h2a_acme_open(const h2a_issue_ctx *ctx, h2a_acme *a)
{
    memset(a, 0, sizeof(*a));
    if (!s_keep_take(ctx, a)) {
        a->ctx = ctx;
        a->conf = ctx->conf->acme;
        h2a_buf_init(&a->jwk, 0);
        h2a_buf_init(&a->thumb, 0);
        a->curl = curl_easy_init();
        H2A_ENSURE(a->curl != NULL, H2A_ERR_NOMEM, "curl");
    }
    a->deadline_ms = h2a_acme_now_ms() + h2a_issuer_timeout_ms(ctx->conf);
    return a->new_order != NULL ? H2A_OK : s_directory(a);
}

void h2a_acme_close(h2a_acme *a)
{
    if (!s_keep_put(a)) {
        s_release(a);
    }
}
