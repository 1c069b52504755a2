/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The AWS client: settings from hsm2acm's config and the environment,
 * credentials shared between a ctx and its clones, libcurl connections kept
 * alive per endpoint, signing, and the SDK "standard" retry loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aws_internal.h"

#define S_REFRESH_MARGIN_S 300
#define S_MAX_CONNS 8
#define S_KEY_CACHE 4

/* ------------------------------------------------------------------ */
/* Shared settings                                                     */
/* ------------------------------------------------------------------ */

struct s_settings {
    int refs;
    char *region;
    char *endpoint[H2A_AWS_SVC__COUNT]; /* explicit, already by precedence */
    char *ca_bundle;
    int max_attempts;
    long retry_base_ms;
    long connect_timeout_ms;
    long timeout_ms;
    long imds_timeout_ms;
    int imds_attempts;
    char *imds_endpoint;
};

static void s_settings_unref(struct s_settings *s)
{
    if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    free(s->region);
    for (int i = 0; i < H2A_AWS_SVC__COUNT; i++) {
        free(s->endpoint[i]);
    }
    free(s->ca_bundle);
    free(s->imds_endpoint);
    free(s);
}

/* Shared, refreshable credentials. */
struct h2a_cred_state {
    int refs;
    pthread_mutex_t mu;
    struct h2a_cred_provider *prov;
    struct h2a_aws_credentials *cur;
    uint64_t gen;
};

static void s_state_unref(struct h2a_cred_state *st)
{
    if (st == NULL || __atomic_sub_fetch(&st->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    if (st->prov != NULL && st->prov->source_state != NULL) {
        s_state_unref(st->prov->source_state);
        st->prov->source_state = NULL;
    }
    h2a_cred_provider_free(st->prov);
    h2a_aws_credentials_free(st->cur);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static h2a_err s_state_new(struct h2a_cred_provider *prov, struct h2a_cred_state **out)
{
    struct h2a_cred_state *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        if (prov != NULL && prov->source_state != NULL) {
            s_state_unref(prov->source_state);
            prov->source_state = NULL;
        }
        h2a_cred_provider_free(prov);
        return h2a_err_set(H2A_ERR_NOMEM, "credential state");
    }
    st->refs = 1;
    pthread_mutex_init(&st->mu, NULL);
    st->prov = prov;
    *out = st;
    return H2A_OK;
}

struct s_conn {
    char url[600]; /* the endpoint URL: one handle (and connection) each */
    CURL *h;
    bool used;
};

/*
 * Connections of one worker: a ctx and the contexts derived from it by
 * assume-role share them (same thread), so a worker has one TLS session per
 * endpoint whatever the account; a clone (another thread) gets its own.
 */
struct s_pool {
    int refs;
    struct s_conn conns[S_MAX_CONNS];
    long tls_connects;
    long endpoints;
};

static void s_pool_unref(struct s_pool *p)
{
    if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    for (int i = 0; i < S_MAX_CONNS; i++) {
        if (p->conns[i].h != NULL) {
            curl_easy_cleanup(p->conns[i].h);
        }
    }
    free(p);
}

struct s_keycache {
    char akid[128];
    char date8[9];
    char region[40];
    char service[32];
    uint8_t key[32];
    bool valid;
};

struct h2a_aws_ctx {
    struct s_settings *set;
    struct h2a_cred_state *creds;
    struct h2a_aws_credentials *local; /* private copy of creds->cur */
    uint64_t local_gen;
    struct s_keycache *keys;           /* secure heap, S_KEY_CACHE entries */
    struct s_pool *pool;
    struct h2a_aws_error err;
    struct h2a_aws_stats stats;
    struct h2a_retry_quota quota;
    double (*rand01)(void *);
    void (*sleep_ms)(void *, long);
    void *hook_arg;
    long clock_offset; /* seconds to add to the local clock (learnt from AWS) */
};

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

static bool s_set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

static const char *s_first(const char *a, const char *b)
{
    return s_set(a) ? a : (s_set(b) ? b : NULL);
}

static h2a_err s_strdup_opt(char **dst, const char *v)
{
    *dst = NULL;
    if (!s_set(v)) {
        return H2A_OK;
    }
    *dst = strdup(v);
    return *dst != NULL ? H2A_OK : h2a_err_set(H2A_ERR_NOMEM, "AWS settings");
}

static h2a_err s_env_long(const char *name, long lo, long hi, long *out)
{
    const char *v = getenv(name);
    char *e = NULL;
    long x;

    if (!s_set(v)) {
        return H2A_OK;
    }
    errno = 0;
    x = strtol(v, &e, 10);
    if (errno != 0 || e == NULL || *e != '\0' || x < lo || x > hi) {
        return h2a_err_set(H2A_ERR_USAGE, "%s '%s': expected an integer %ld..%ld", name, v,
                           lo, hi);
    }
    *out = x;
    return H2A_OK;
}

static bool s_env_true(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && strcasecmp(v, "true") == 0;
}

static const char *s_profile_service_endpoint(const struct h2a_aws_profiles *pf,
                                              const char *profile, h2a_aws_service svc)
{
    const char *services = h2a_aws_profile_get(pf, profile, "services");
    char sec[300];
    char key[64];

    if (s_set(services)) {
        snprintf(sec, sizeof(sec), "services %s", services);
        snprintf(key, sizeof(key), "%s.endpoint_url", h2a_aws_service_config_key(svc));
        if (s_set(h2a_ini_get(pf->config, sec, key))) {
            return h2a_ini_get(pf->config, sec, key);
        }
    }
    return h2a_aws_profile_get(pf, profile, "endpoint_url");
}

static h2a_err s_settings_new(const struct h2a_aws_config *cfg,
                              const struct h2a_aws_profiles *pf, const char *profile,
                              struct s_settings **out)
{
    struct s_settings *s = calloc(1, sizeof(*s));
    bool ignore_cfg = s_env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    const char *v;
    long l;
    h2a_err rv = H2A_OK;

    *out = NULL;
    if (s == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "AWS settings");
    }
    s->refs = 1;
    /* Region: explicit override, env, profile, hsm2acm config. */
    v = s_first(cfg->region_override, getenv("AWS_REGION"));
    v = s_first(v, getenv("AWS_DEFAULT_REGION"));
    v = s_first(v, h2a_aws_profile_get(pf, profile, "region"));
    v = s_first(v, cfg->region);
    if (v != NULL && !h2a_aws_region_valid(v)) {
        rv = h2a_err_set(H2A_ERR_USAGE, "region '%.60s': expected a name like eu-west-1", v);
        goto done;
    }
    if ((rv = s_strdup_opt(&s->region, v)) != H2A_OK) {
        goto done;
    }
    for (int i = 0; i < H2A_AWS_SVC__COUNT; i++) {
        char env[64];
        struct h2a_endpoint ep;

        snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s",
                 h2a_aws_service_env_suffix((h2a_aws_service)i));
        const char *src = "aws.endpoints";
        v = s_first(cfg->endpoint_url[i], cfg->endpoint_url_all);
        if (v == NULL && !ignore_cfg) {
            if (s_set(getenv(env))) {
                v = getenv(env);
                src = env;
            } else if (s_set(getenv("AWS_ENDPOINT_URL"))) {
                v = getenv("AWS_ENDPOINT_URL");
                src = "AWS_ENDPOINT_URL";
            } else {
                v = s_first(s_profile_service_endpoint(pf, profile, (h2a_aws_service)i), NULL);
                src = "profile endpoint_url";
            }
        }
        if (v != NULL) {
            /* Check the URL now: a bad setting is a usage error, early. */
            if ((rv = h2a_aws_endpoint_resolve((h2a_aws_service)i, "us-east-1", v, &ep)) !=
                H2A_OK) {
                rv = h2a_err_prefix(H2A_ERR_USAGE, "%s: ", src);
                goto done;
            }
        }
        if ((rv = s_strdup_opt(&s->endpoint[i], v)) != H2A_OK) {
            goto done;
        }
    }
    v = s_first(cfg->ca_bundle, getenv("AWS_CA_BUNDLE"));
    v = s_first(v, h2a_aws_profile_get(pf, profile, "ca_bundle"));
    if (v != NULL && access(v, R_OK) != 0) {
        rv = h2a_err_set(H2A_ERR_USAGE, "CA bundle %s: %s", v, strerror(errno));
        goto done;
    }
    if ((rv = s_strdup_opt(&s->ca_bundle, v)) != H2A_OK) {
        goto done;
    }
    l = 3;
    v = h2a_aws_profile_get(pf, profile, "max_attempts");
    if (s_set(v)) {
        char *e = NULL;
        l = strtol(v, &e, 10);
        if (e == NULL || *e != '\0' || l < 1 || l > 20) {
            rv = h2a_err_set(H2A_ERR_USAGE, "profile %s: max_attempts '%s': expected 1..20",
                             profile, v);
            goto done;
        }
    }
    if ((rv = s_env_long("AWS_MAX_ATTEMPTS", 1, 20, &l)) != H2A_OK) {
        goto done;
    }
    if (cfg->max_attempts != 0) {
        if (cfg->max_attempts < 1 || cfg->max_attempts > 20) {
            rv = h2a_err_set(H2A_ERR_USAGE, "aws.max_attempts %d: expected 1..20",
                             cfg->max_attempts);
            goto done;
        }
        l = cfg->max_attempts;
    }
    s->max_attempts = (int)l;
    s->retry_base_ms = 1000;
    s->connect_timeout_ms = 5000;
    s->timeout_ms = 30000;
    s->imds_timeout_ms = 1000;
    s->imds_attempts = 1;
    if ((rv = s_env_long("HSM2ACM_RETRY_BASE_MS", 0, 20000, &s->retry_base_ms)) != H2A_OK ||
        (rv = s_env_long("HSM2ACM_AWS_CONNECT_TIMEOUT_MS", 1, 600000,
                         &s->connect_timeout_ms)) != H2A_OK ||
        (rv = s_env_long("HSM2ACM_AWS_TIMEOUT_MS", 1, 3600000, &s->timeout_ms)) != H2A_OK) {
        goto done;
    }
    if (cfg->connect_timeout_ms > 0) {
        s->connect_timeout_ms = cfg->connect_timeout_ms;
    }
    if (cfg->timeout_ms > 0) {
        s->timeout_ms = cfg->timeout_ms;
    }
    l = s->imds_timeout_ms / 1000;
    if ((rv = s_env_long("AWS_METADATA_SERVICE_TIMEOUT", 1, 60, &l)) != H2A_OK) {
        goto done;
    }
    s->imds_timeout_ms = l * 1000;
    l = 1;
    if ((rv = s_env_long("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, &l)) != H2A_OK) {
        goto done;
    }
    s->imds_attempts = (int)l;
    v = s_first(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                h2a_aws_profile_get(pf, profile, "ec2_metadata_service_endpoint"));
    if (v == NULL) {
        const char *mode = s_first(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
                                   h2a_aws_profile_get(pf, profile,
                                                       "ec2_metadata_service_endpoint_mode"));
        v = (mode != NULL && strcasecmp(mode, "IPv6") == 0) ? "http://[fd00:ec2::254]"
                                                             : "http://169.254.169.254";
    }
    rv = s_strdup_opt(&s->imds_endpoint, v);
done:
    if (rv != H2A_OK) {
        s_settings_unref(s);
        return rv;
    }
    *out = s;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Context lifecycle                                                   */
/* ------------------------------------------------------------------ */

static double s_default_rand(void *arg)
{
    uint32_t r = 0;

    (void)arg;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) {
        return 0.5;
    }
    return (double)r / 4294967296.0;
}

static void s_default_sleep(void *arg, long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    (void)arg;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static h2a_err s_ctx_alloc(struct s_settings *set, struct h2a_cred_state *st,
                           struct s_pool *pool, H2A_AWS_CTX **out)
{
    H2A_AWS_CTX *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "AWS context");
    }
    if (pool != NULL) {
        __atomic_add_fetch(&pool->refs, 1, __ATOMIC_ACQ_REL);
        c->pool = pool;
    } else if ((c->pool = calloc(1, sizeof(*c->pool))) == NULL) {
        free(c);
        return h2a_err_set(H2A_ERR_NOMEM, "AWS connection pool");
    } else {
        c->pool->refs = 1;
    }
    c->keys = OPENSSL_secure_zalloc(S_KEY_CACHE * sizeof(*c->keys));
    if (c->keys == NULL) {
        s_pool_unref(c->pool);
        free(c);
        return h2a_err_set(H2A_ERR_NOMEM, "AWS context signing-key cache");
    }
    __atomic_add_fetch(&set->refs, 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&st->refs, 1, __ATOMIC_ACQ_REL);
    c->set = set;
    c->creds = st;
    c->rand01 = s_default_rand;
    c->sleep_ms = s_default_sleep;
    h2a_retry_quota_init(&c->quota);
    *out = c;
    return H2A_OK;
}

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static bool s_curl_ok;
static void s_curl_init(void)
{
    /* Both libraries need one global init before threads use them. */
    s_curl_ok = h2a_curl_global_init();
    xmlInitParser();
}

h2a_err h2a_aws_ctx_new(const struct h2a_aws_config *cfg_in, H2A_AWS_CTX **out_ctx)
{
    struct h2a_aws_config empty;
    const struct h2a_aws_config *cfg = cfg_in;
    struct h2a_aws_profiles pf;
    struct s_settings *set = NULL;
    struct h2a_cred_provider *prov = NULL;
    struct h2a_cred_state *st = NULL;
    const char *profile;
    h2a_err rv;

    *out_ctx = NULL;
    pthread_once(&s_curl_once, s_curl_init);
    if (!s_curl_ok) {
        return h2a_err_set(H2A_ERR_INTERNAL, "libcurl global init failed");
    }
    if (cfg == NULL) {
        memset(&empty, 0, sizeof(empty));
        cfg = &empty;
    }
    rv = h2a_aws_profiles_load(&pf);
    if (rv != H2A_OK) {
        return rv;
    }
    profile = s_first(cfg->profile, getenv("AWS_PROFILE"));
    profile = s_first(profile, getenv("AWS_DEFAULT_PROFILE"));
    if (profile != NULL && !h2a_aws_profile_exists(&pf, profile)) {
        rv = h2a_err_set(H2A_ERR_USAGE, "profile '%s' not found in %s or %s", profile,
                         pf.config_path, pf.credentials_path);
        goto done;
    }
    if ((rv = s_settings_new(cfg, &pf, profile != NULL ? profile : "default", &set)) != H2A_OK) {
        goto done;
    }
    if (s_set(cfg->credentials_file)) {
        struct h2a_aws_credentials *fixed = NULL;
        rv = h2a_cred_from_file(cfg->credentials_file, cfg->profile, &fixed);
        if (rv == H2A_OK) {
            prov = calloc(1, sizeof(*prov));
            if (prov == NULL || (prov->describe = strdup("aws.credentials_file")) == NULL) {
                h2a_aws_credentials_free(fixed);
                rv = h2a_err_set(H2A_ERR_NOMEM, "credential provider");
            } else {
                prov->kind = H2A_CRED_STATIC;
                prov->fixed = fixed;
            }
        }
    } else {
        rv = h2a_cred_resolve(&pf, cfg->profile, &prov);
    }
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(rv == H2A_ERR_INPUT ? H2A_ERR_USAGE : rv, "AWS credentials: ");
        goto done;
    }
    if (prov->kind == H2A_CRED_ASSUME_ROLE || prov->kind == H2A_CRED_WEB_IDENTITY) {
        if ((rv = s_strdup_opt(&prov->sts_region, set->region)) != H2A_OK) {
            goto done;
        }
    }
    H2A_LOG_DBG("aws: credentials from %s, region %s", prov->describe,
                set->region != NULL ? set->region : "(none)");
    if ((rv = s_state_new(prov, &st)) != H2A_OK) {
        prov = NULL;
        goto done;
    }
    prov = NULL;
    rv = s_ctx_alloc(set, st, NULL, out_ctx);
done:
    h2a_cred_provider_free(prov);
    s_state_unref(st);
    s_settings_unref(set);
    h2a_aws_profiles_cleanup(&pf);
    return rv;
}

h2a_err h2a_aws_ctx_clone(H2A_AWS_CTX *ctx, H2A_AWS_CTX **out_ctx)
{
    H2A_GUARD(s_ctx_alloc(ctx->set, ctx->creds, NULL, out_ctx));
    (*out_ctx)->rand01 = ctx->rand01;
    (*out_ctx)->sleep_ms = ctx->sleep_ms;
    (*out_ctx)->hook_arg = ctx->hook_arg;
    (*out_ctx)->clock_offset = ctx->clock_offset;
    return H2A_OK;
}

void h2a_aws_ctx_free(H2A_AWS_CTX *ctx)
{
    if (ctx == NULL) {
        return;
    }
    if (ctx->stats.calls > 0) {
        H2A_LOG_DBG("aws: %ld calls, %ld HTTP requests, %ld retries, %ld TLS connections to "
                    "%ld endpoints (shared pool)", ctx->stats.calls, ctx->stats.http_requests,
                    ctx->stats.retries, ctx->pool->tls_connects, ctx->pool->endpoints);
    }
    s_pool_unref(ctx->pool);
    h2a_aws_credentials_free(ctx->local);
    OPENSSL_secure_clear_free(ctx->keys, S_KEY_CACHE * sizeof(*ctx->keys));
    s_state_unref(ctx->creds);
    s_settings_unref(ctx->set);
    free(ctx);
}

const char *h2a_aws_ctx_region(const H2A_AWS_CTX *ctx)
{
    return ctx->set->region;
}

void h2a_aws_ctx_set_hooks(H2A_AWS_CTX *ctx, double (*rand01)(void *),
                           void (*sleep_ms)(void *, long), void *arg)
{
    ctx->rand01 = rand01 != NULL ? rand01 : s_default_rand;
    ctx->sleep_ms = sleep_ms != NULL ? sleep_ms : s_default_sleep;
    ctx->hook_arg = arg;
}

const struct h2a_aws_error *h2a_aws_last_error(const H2A_AWS_CTX *ctx)
{
    return &ctx->err;
}

bool h2a_aws_last_error_is(const H2A_AWS_CTX *ctx, const char *code)
{
    return code != NULL && strcmp(ctx->err.code, code) == 0;
}

void h2a_aws_ctx_stats(const H2A_AWS_CTX *ctx, struct h2a_aws_stats *out)
{
    *out = ctx->stats;
    out->tls_connects = ctx->pool->tls_connects;
    out->endpoints = ctx->pool->endpoints;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

struct s_sink {
    h2a_buf *body;
    bool too_big;
    char request_id[128];
    char errortype[128];
    time_t server_date;
};

static size_t s_write_cb(char *p, size_t size, size_t n, void *arg)
{
    struct s_sink *s = arg;
    size_t len = size * n;

    if (s->body->len + len > H2A_AWS_MAX_REPLY ||
        h2a_buf_append(s->body, p, len) != H2A_OK) {
        s->too_big = true;
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
    struct s_sink *s = arg;
    size_t len = size * n;
    static const char rid1[] = "x-amzn-requestid:";
    static const char rid2[] = "x-amz-request-id:";
    static const char et[] = "x-amzn-errortype:";
    static const char dt[] = "date:";

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
    }
    return len;
}

static void s_apply_tls(CURL *h, const struct s_settings *set)
{
    /* Verification stays on (libcurl's default); only the trust store changes. */
    if (set->ca_bundle != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, set->ca_bundle);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hsm2acm/0.1.0");
}

static void s_slist_free_wiped(struct curl_slist *l)
{
    for (struct curl_slist *i = l; i != NULL; i = i->next) {
        if (i->data != NULL) {
            OPENSSL_cleanse(i->data, strlen(i->data));
        }
    }
    curl_slist_free_all(l);
}

static CURL *s_conn_for(H2A_AWS_CTX *ctx, const struct h2a_endpoint *ep)
{
    int free_slot = -1;

    for (int i = 0; i < S_MAX_CONNS; i++) {
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
    ctx->pool->conns[free_slot].h = curl_easy_init();
    if (ctx->pool->conns[free_slot].h == NULL) {
        return NULL;
    }
    {
        CURL *h = ctx->pool->conns[free_slot].h;
        s_apply_tls(h, ctx->set);
        curl_easy_setopt(h, CURLOPT_URL, ep->url);
        /* http:// only for endpoints someone configured explicitly. */
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, ep->explicit_endpoint ? "http,https" : "https");
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ctx->set->connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ctx->set->timeout_ms);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write_cb);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s_header_cb);
    }
    /* Same size on both sides: the pool key is always the whole URL. */
    _Static_assert(sizeof(ctx->pool->conns[0].url) == sizeof(ep->url), "endpoint URL sizes");
    memcpy(ctx->pool->conns[free_slot].url, ep->url, sizeof(ep->url));
    ctx->pool->endpoints++;
    return ctx->pool->conns[free_slot].h;
}

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

/* Simple HTTP for the metadata services (IMDS, ECS): fresh handle, short timeout. */
static h2a_err s_http_simple(H2A_AWS_CTX *ctx, const char *what, const char *method,
                             const char *url, struct curl_slist *hdrs, long timeout_ms,
                             h2a_buf *out, long *status)
{
    CURL *h = curl_easy_init();
    struct s_sink sink = {.body = out};
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

static h2a_err s_fetch_imds(H2A_AWS_CTX *ctx, struct h2a_aws_credentials **out)
{
    const char *base = ctx->set->imds_endpoint;
    char url[700];
    char hdr[1200];
    h2a_buf tok;
    h2a_buf role;
    h2a_buf doc;
    struct curl_slist *h = NULL;
    long status = 0;
    bool v1 = false;
    size_t blen = strlen(base);
    h2a_err rv;

    h2a_buf_init_secure(&tok, 4096);
    h2a_buf_init(&role, 4096);
    h2a_buf_init_secure(&doc, 65536);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)blen, base);
    h = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    rv = s_http_simple(ctx, "EC2 instance metadata", "PUT", url, h, ctx->set->imds_timeout_ms,
                       &tok, &status);
    s_slist_free_wiped(h);
    h = NULL;
    if (rv != H2A_OK) {
        goto done;
    }
    if (status == 403 || status == 404 || status == 405) {
        if (s_env_true("AWS_EC2_METADATA_V1_DISABLED")) {
            rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: token request got HTTP %ld "
                             "and AWS_EC2_METADATA_V1_DISABLED=true", status);
            goto done;
        }
        v1 = true;
    } else if (status != 200 || tok.len == 0) {
        rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: token request got HTTP %ld", status);
        goto done;
    }
    if (!v1) {
        if ((rv = h2a_buf_terminate(&tok)) != H2A_OK) {
            goto done;
        }
        snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %.*s", (int)tok.len,
                 (const char *)tok.data);
        h = curl_slist_append(NULL, hdr);
        OPENSSL_cleanse(hdr, sizeof(hdr));
    }
    snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/", (int)blen,
             base);
    rv = s_http_simple(ctx, "EC2 instance metadata", "GET", url, h, ctx->set->imds_timeout_ms,
                       &role, &status);
    if (rv == H2A_OK && (status != 200 || role.len == 0)) {
        rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: role name request got HTTP %ld",
                         status);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    {
        size_t rl = 0;
        while (rl < role.len && role.data[rl] != '\n' && role.data[rl] != '\r') {
            rl++;
        }
        for (size_t i = 0; i < rl; i++) {
            char c = (char)role.data[i];
            if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '%') {
                rv = h2a_err_set(H2A_ERR_AWS, "EC2 instance metadata: bad role name");
                goto done;
            }
        }
        snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%.*s",
                 (int)blen, base, (int)rl, (const char *)role.data);
    }
    rv = s_http_simple(ctx, "EC2 instance metadata", "GET", url, h, ctx->set->imds_timeout_ms,
                       &doc, &status);
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
done:
    s_slist_free_wiped(h);
    h2a_buf_free(&tok);
    h2a_buf_free(&role);
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

static h2a_err s_fetch_ecs(H2A_AWS_CTX *ctx, struct h2a_aws_credentials **out)
{
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char url[1200];
    h2a_buf tok;
    h2a_buf doc;
    struct curl_slist *h = NULL;
    long status = 0;
    h2a_err rv = H2A_OK;

    h2a_buf_init_secure(&tok, 16384);
    h2a_buf_init_secure(&doc, 65536);
    if (s_set(rel)) {
        snprintf(url, sizeof(url), "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    } else if (s_set(full)) {
        if (!s_ecs_host_ok(full)) {
            rv = h2a_err_set(H2A_ERR_USAGE, "AWS_CONTAINER_CREDENTIALS_FULL_URI '%.200s': must "
                             "be https, or http to a loopback or the ECS/EKS agent address",
                             full);
            goto done;
        }
        snprintf(url, sizeof(url), "%s", full);
    } else {
        rv = h2a_err_set(H2A_ERR_USAGE, "ECS container credentials: neither "
                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set");
        goto done;
    }
    if (s_set(tokfile)) {
        if ((rv = h2a_file_read(tokfile, &tok)) != H2A_OK) {
            rv = h2a_err_prefix(H2A_ERR_AWS, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: ");
            goto done;
        }
    } else if (s_set(tokenv)) {
        if ((rv = h2a_buf_append_str(&tok, tokenv)) != H2A_OK) {
            goto done;
        }
    }
    while (tok.len > 0 && (tok.data[tok.len - 1] == '\n' || tok.data[tok.len - 1] == '\r')) {
        tok.len--;
    }
    if (tok.len > 0) {
        char hdr[16500];
        for (size_t i = 0; i < tok.len; i++) {
            if (tok.data[i] == '\r' || tok.data[i] == '\n') {
                rv = h2a_err_set(H2A_ERR_AWS, "container authorization token has a line break");
                goto done;
            }
        }
        snprintf(hdr, sizeof(hdr), "Authorization: %.*s", (int)tok.len, (const char *)tok.data);
        h = curl_slist_append(NULL, hdr);
        OPENSSL_cleanse(hdr, sizeof(hdr));
    }
    for (int attempt = 1; attempt <= 3; attempt++) {
        doc.len = 0;
        rv = s_http_simple(ctx, "ECS container credentials", "GET", url, h, 2000, &doc, &status);
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
    s_slist_free_wiped(h);
    h2a_buf_free(&tok);
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
        rv = s_state_new(sp, &tmp);
        if (rv == H2A_OK) {
            rv = s_state_current(ctx, tmp, false, &src);
            p->source = tmp->prov;
            tmp->prov = NULL;
            s_state_unref(tmp);
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
    {
        /* h2a_sts_assume_role signs with ctx's creds; use the source ones here. */
        h2a_buf form;
        h2a_buf reply;
        char dur[16];
        const char *region = ar.region != NULL ? ar.region : "us-east-1";

        snprintf(dur, sizeof(dur), "%d", ar.duration_seconds > 0 ? ar.duration_seconds : 3600);
        h2a_buf_init(&form, 0);
        h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
        rv = h2a_buf_append_str(&form, "Action=AssumeRole&Version=2011-06-15");
        if (rv == H2A_OK) {
            rv = h2a_form_append(&form, "RoleArn", ar.role_arn);
        }
        if (rv == H2A_OK) {
            rv = h2a_form_append(&form, "RoleSessionName", ar.session_name);
        }
        if (rv == H2A_OK) {
            rv = h2a_form_append(&form, "DurationSeconds", dur);
        }
        if (rv == H2A_OK && ar.external_id != NULL) {
            rv = h2a_form_append(&form, "ExternalId", ar.external_id);
        }
        if (rv == H2A_OK) {
            rv = h2a_buf_terminate(&form);
        }
        if (rv == H2A_OK) {
            rv = h2a_aws_query_call(ctx, region, "AssumeRole", (const char *)form.data, src,
                                    false, &reply);
        }
        if (rv == H2A_OK) {
            rv = h2a_sts_parse_credentials(&reply, out);
            if (rv != H2A_OK) {
                rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "AssumeRole", "%s", h2a_err_msg());
            }
        }
        h2a_buf_free(&form);
        h2a_buf_free(&reply);
    }
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
static h2a_err s_ctx_creds(H2A_AWS_CTX *ctx, bool force)
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
    if (ar == NULL || !s_set(ar->role_arn)) {
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
    if ((rv = s_strdup_opt(&p->describe, "assume role")) != H2A_OK ||
        (rv = s_strdup_opt(&p->role_arn, ar->role_arn)) != H2A_OK ||
        (rv = s_strdup_opt(&p->session_name, ar->session_name)) != H2A_OK ||
        (rv = s_strdup_opt(&p->external_id, ar->external_id)) != H2A_OK ||
        (rv = s_strdup_opt(&p->sts_region, s_first(ar->region, base->set->region))) != H2A_OK) {
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
    if ((rv = s_state_new(p, &st)) != H2A_OK) {
        return rv;
    }
    rv = s_ctx_alloc(base->set, st, base->pool, &c);
    s_state_unref(st);
    if (rv != H2A_OK) {
        return rv;
    }
    c->rand01 = base->rand01;
    c->sleep_ms = base->sleep_ms;
    c->hook_arg = base->hook_arg;
    /* Assume now so that a refused role is reported here, not at first use. */
    rv = s_ctx_creds(c, false);
    if (rv != H2A_OK) {
        base->err = c->err;
        h2a_aws_ctx_free(c);
        return rv;
    }
    *out_ctx = c;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Signing and sending                                                 */
/* ------------------------------------------------------------------ */

static h2a_err s_signing_key(H2A_AWS_CTX *ctx, const struct h2a_aws_credentials *cr,
                             const char *date8, const char *region, const char *service,
                             uint8_t out[32])
{
    struct s_keycache *slot = NULL;

    for (int i = 0; i < S_KEY_CACHE; i++) {
        struct s_keycache *k = &ctx->keys[i];
        if (k->valid && strcmp(k->akid, cr->access_key_id) == 0 &&
            strcmp(k->date8, date8) == 0 && strcmp(k->region, region) == 0 &&
            strcmp(k->service, service) == 0) {
            memcpy(out, k->key, 32);
            return H2A_OK;
        }
    }
    /* Replace a stale day first, else round-robin by date. */
    for (int i = 0; i < S_KEY_CACHE && slot == NULL; i++) {
        if (!ctx->keys[i].valid || strcmp(ctx->keys[i].date8, date8) != 0) {
            slot = &ctx->keys[i];
        }
    }
    if (slot == NULL) {
        slot = &ctx->keys[(unsigned)(ctx->stats.http_requests % S_KEY_CACHE)];
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

struct s_req {
    h2a_aws_service svc;
    const char *op;
    const struct h2a_endpoint *ep;
    const char *content_type;
    const char *target; /* full X-Amz-Target or NULL */
    const uint8_t *body;
    size_t body_len;
    const struct h2a_aws_credentials *creds; /* NULL: unsigned */
};

/* Build the header list incl. Authorization (wiped when freed). */
static h2a_err s_sign(H2A_AWS_CTX *ctx, const struct s_req *r, struct curl_slist **out)
{
    struct h2a_http_header hs[6];
    struct h2a_sigv4_input in;
    size_t n = 0;
    char amz[17];
    char d8[9];
    h2a_buf creq;
    h2a_buf sh;
    h2a_buf scope;
    h2a_buf sts;
    h2a_buf line;
    uint8_t key[32];
    char sig[65];
    struct curl_slist *l = NULL;
    h2a_err rv = H2A_OK;

    *out = NULL;
    h2a_buf_init(&creq, 0);
    h2a_buf_init(&sh, 0);
    h2a_buf_init(&scope, 0);
    h2a_buf_init(&sts, 0);
    h2a_buf_init_secure(&line, 0);
    h2a_sigv4_dates(time(NULL) + ctx->clock_offset, amz, d8);
    hs[n++] = (struct h2a_http_header){"host", r->ep->host_header};
    hs[n++] = (struct h2a_http_header){"content-type", r->content_type};
    hs[n++] = (struct h2a_http_header){"x-amz-date", amz};
    if (r->target != NULL) {
        hs[n++] = (struct h2a_http_header){"x-amz-target", r->target};
    }
    if (r->creds != NULL && r->creds->session_token != NULL) {
        hs[n++] = (struct h2a_http_header){"x-amz-security-token", r->creds->session_token};
    }
    for (size_t i = 0; i < n; i++) {
        line.len = 0;
        if ((rv = h2a_buf_printf(&line, "%s: %s", hs[i].name, hs[i].value)) != H2A_OK ||
            (rv = h2a_buf_terminate(&line)) != H2A_OK) {
            goto done;
        }
        l = curl_slist_append(l, (const char *)line.data);
        if (l == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "request headers");
            goto done;
        }
    }
    /* No "Expect: 100-continue" round trip; Accept is left to libcurl. */
    l = curl_slist_append(l, "Expect:");
    if (r->creds != NULL) {
        memset(&in, 0, sizeof(in));
        in.method = "POST";
        in.path = r->ep->path;
        in.normalize_path = false;
        in.headers = hs;
        in.n_headers = n;
        in.body = r->body;
        in.body_len = r->body_len;
        if ((rv = h2a_sigv4_canonical_request(&in, &creq, &sh)) != H2A_OK ||
            (rv = h2a_sigv4_scope(d8, r->ep->signing_region, h2a_aws_service_name(r->svc),
                                  &scope)) != H2A_OK ||
            (rv = h2a_sigv4_string_to_sign(amz, (const char *)scope.data, &creq, &sts)) !=
                H2A_OK ||
            (rv = s_signing_key(ctx, r->creds, d8, r->ep->signing_region,
                                h2a_aws_service_name(r->svc), key)) != H2A_OK ||
            (rv = h2a_sigv4_signature(key, &sts, sig)) != H2A_OK) {
            goto done;
        }
        line.len = 0;
        if ((rv = h2a_buf_printf(&line, "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, "
                                 "SignedHeaders=%s, Signature=%s", r->creds->access_key_id,
                                 (const char *)scope.data, (const char *)sh.data, sig)) !=
                H2A_OK ||
            (rv = h2a_buf_terminate(&line)) != H2A_OK) {
            goto done;
        }
        l = curl_slist_append(l, (const char *)line.data);
        if (l == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "request headers");
            goto done;
        }
    }
done:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(sig, sizeof(sig));
    h2a_buf_free(&creq);
    h2a_buf_free(&sh);
    h2a_buf_free(&scope);
    h2a_buf_free(&sts);
    h2a_buf_free(&line);
    if (rv != H2A_OK) {
        s_slist_free_wiped(l);
        return rv;
    }
    *out = l;
    return H2A_OK;
}

static long s_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct s_attempt {
    CURLcode cc;
    long status;
    bool too_big;
    char request_id[128];
    char errortype[128];
    time_t server_date;
};

static h2a_err s_send(H2A_AWS_CTX *ctx, const struct s_req *r, h2a_buf *reply,
                      struct s_attempt *at)
{
    CURL *h = s_conn_for(ctx, r->ep);
    struct curl_slist *hdrs = NULL;
    struct s_sink sink = {.body = reply};
    long connects = 0;

    memset(at, 0, sizeof(*at));
    if (h == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "curl handle");
    }
    H2A_GUARD(s_sign(ctx, r, &hdrs));
    /*
     * Options that never change for this endpoint were set when it was opened.
     * A secret body goes like any other: libcurl sends a small body in one
     * write with the headers, and the copy it makes for that is wiped when
     * freed (curl_mem.c). Streaming it after the headers from a read
     * callback cost the endpoint a second read, 1.4 ms per enrollment.
     */
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
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
    s_slist_free_wiped(hdrs);
    ctx->stats.http_requests++;
    at->too_big = sink.too_big;
    memcpy(at->request_id, sink.request_id, sizeof(at->request_id));
    memcpy(at->errortype, sink.errortype, sizeof(at->errortype));
    at->server_date = sink.server_date;
    return H2A_OK;
}

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
    long status = ctx->err.http_status;
    char rid[128];
    int attempts = ctx->err.attempts;

    memcpy(rid, ctx->err.request_id, sizeof(rid));
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

static bool s_is_skew_error(long status, const char *code)
{
    static const char *const codes[] = {
        "RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
        "SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture",
    };

    if (status != 400 && status != 403) {
        return false;
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool s_is_timeout(CURLcode cc)
{
    return cc == CURLE_OPERATION_TIMEDOUT;
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

/*
 * The retry loop shared by both protocols. On success the 2xx body is in
 * `reply`; on failure ctx->err is filled and H2A_ERR_AWS returned.
 */
static h2a_err s_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                      const char *op, const char *content_type, const char *target,
                      const uint8_t *body, size_t body_len, bool secret_request,
                      const struct h2a_aws_credentials *creds_override, bool unsigned_call,
                      h2a_buf *reply)
{
    struct h2a_endpoint ep;
    struct s_req r;
    struct s_attempt at;
    const char *reg = s_first(region, ctx->set->region);
    int taken = 0;
    bool refreshed = false;
    bool skew_fixed = false;
    h2a_err rv;

    ctx->stats.calls++;
    s_err_reset(ctx, svc, op);
    if ((svc == H2A_AWS_SVC_ORGANIZATIONS || svc == H2A_AWS_SVC_STS) && reg == NULL) {
        /* Global services work without a region: us-east-1, as the SDKs do. */
        reg = "us-east-1";
    }
    if ((rv = h2a_aws_endpoint_resolve(svc, reg, ctx->set->endpoint[svc], &ep)) != H2A_OK) {
        return rv;
    }
    memset(&r, 0, sizeof(r));
    r.svc = svc;
    r.op = op;
    r.ep = &ep;
    r.content_type = content_type;
    r.target = target;
    r.body = body;
    r.body_len = body_len;
    for (int attempt = 1;; attempt++) {
        long t0 = s_mono_ms();
        h2a_retry_kind kind;

        if (!unsigned_call && creds_override == NULL) {
            if ((rv = s_ctx_creds(ctx, refreshed)) != H2A_OK) {
                return rv;
            }
        }
        /* A credential fetch may have made calls of its own: reset the record. */
        s_err_reset(ctx, svc, op);
        r.creds = unsigned_call ? NULL : (creds_override != NULL ? creds_override : ctx->local);
        reply->len = 0;
        h2a_buf_reset(reply);
        if ((rv = s_send(ctx, &r, reply, &at)) != H2A_OK) {
            return rv;
        }
        ctx->err.attempts = attempt;
        ctx->err.http_status = at.cc == CURLE_OK ? at.status : 0;
        snprintf(ctx->err.request_id, sizeof(ctx->err.request_id), "%s", at.request_id);
        /* Operation, status and sizes only: bodies are never logged. */
        H2A_LOG_DBG("aws: %s %s %s attempt %d: %s HTTP %ld, sent %zu bytes%s, got %zu bytes, "
                    "%ld ms", h2a_aws_service_name(svc), op, ep.url, attempt,
                    at.cc == CURLE_OK ? "ok" : curl_easy_strerror(at.cc), at.status, body_len,
                    secret_request ? " (secret, not shown)" : "", reply->len,
                    s_mono_ms() - t0);
        if (at.too_big) {
            ctx->err.network = false;
            return h2a_aws_malformed(ctx, svc, op, "reply larger than %u bytes",
                                     H2A_AWS_MAX_REPLY);
        }
        if (at.cc == CURLE_OK && at.status >= 200 && at.status < 300) {
            h2a_retry_quota_success(&ctx->quota, taken);
            memset(&ctx->err, 0, sizeof(ctx->err));
            return H2A_OK;
        }
        if (at.cc != CURLE_OK) {
            ctx->err.network = true;
            snprintf(ctx->err.message, sizeof(ctx->err.message), "%.100s (%.300s)",
                     curl_easy_strerror(at.cc), ep.url);
            if (!s_is_network(at.cc)) {
                /* TLS verification, protocol refusal, ...: not transient. */
                return s_err_raise(ctx);
            }
            kind = h2a_aws_retry_classify(0, NULL, true, s_is_timeout(at.cc));
        } else {
            if (svc == H2A_AWS_SVC_STS) {
                (void)h2a_aws_parse_query_error((const char *)reply->data, reply->len, &ctx->err);
                if (at.request_id[0] != '\0') {
                    snprintf(ctx->err.request_id, sizeof(ctx->err.request_id), "%s",
                             at.request_id);
                }
            } else {
                (void)h2a_aws_parse_json_error((const char *)reply->data, reply->len,
                                               at.errortype[0] != '\0' ? at.errortype : NULL,
                                               &ctx->err);
            }
            kind = h2a_aws_retry_classify(at.status, ctx->err.code, false, false);
            if (!skew_fixed && s_is_skew_error(at.status, ctx->err.code) && at.server_date > 0 &&
                labs((long)(at.server_date - time(NULL)) - ctx->clock_offset) > 240 &&
                attempt < ctx->set->max_attempts) {
                /* The local clock is off (as the SDKs do): sign with AWS's time. */
                ctx->clock_offset = (long)(at.server_date - time(NULL));
                H2A_LOG_WARN("aws: local clock differs from %s's by %ld s; correcting",
                             h2a_aws_service_name(svc), ctx->clock_offset);
                skew_fixed = true;
                ctx->stats.retries++;
                continue;
            }
            if (!refreshed && !unsigned_call && creds_override == NULL &&
                (strcmp(ctx->err.code, "ExpiredToken") == 0 ||
                 strcmp(ctx->err.code, "ExpiredTokenException") == 0 ||
                 strcmp(ctx->err.code, "RequestExpired") == 0) &&
                attempt < ctx->set->max_attempts) {
                /* Credentials expired early: refresh once and try again. */
                refreshed = true;
                ctx->stats.retries++;
                continue;
            }
        }
        if (kind == H2A_RETRY_NO || attempt >= ctx->set->max_attempts) {
            return s_err_raise(ctx);
        }
        {
            int cost = 0;
            long delay;
            if (!h2a_retry_quota_take(&ctx->quota, kind, &cost)) {
                H2A_LOG_WARN("aws: retry quota exhausted, not retrying %s %s",
                             h2a_aws_service_name(svc), op);
                return s_err_raise(ctx);
            }
            taken += cost;
            delay = h2a_aws_backoff_ms(attempt, ctx->rand01(ctx->hook_arg),
                                       ctx->set->retry_base_ms);
            H2A_LOG_INFO("aws: %s %s attempt %d failed (%s%s%s), retrying in %ld ms",
                         h2a_aws_service_name(svc), op, attempt,
                         ctx->err.network ? "network" : "HTTP ",
                         ctx->err.network ? "" : (ctx->err.code[0] ? ctx->err.code : "5xx"),
                         "", delay);
            ctx->stats.retries++;
            if (delay > 0) {
                ctx->sleep_ms(ctx->hook_arg, delay);
            }
        }
    }
}

h2a_err h2a_aws_raw_json_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                              const char *op, const uint8_t *body, size_t body_len,
                              bool secret_request, h2a_buf *reply)
{
    char target[160];
    const char *prefix = h2a_aws_service_target_prefix(svc);

    if (prefix == NULL) {
        return h2a_err_set(H2A_ERR_INTERNAL, "%s is not an awsJson service",
                           h2a_aws_service_name(svc));
    }
    snprintf(target, sizeof(target), "%s.%s", prefix, op);
    return s_call(ctx, svc, region, op, "application/x-amz-json-1.1", target, body, body_len,
                  secret_request, NULL, false, reply);
}

h2a_err h2a_aws_query_call(H2A_AWS_CTX *ctx, const char *region, const char *op,
                           const char *form, const struct h2a_aws_credentials *creds,
                           bool unsigned_call, h2a_buf *reply)
{
    return s_call(ctx, H2A_AWS_SVC_STS, region, op,
                  "application/x-www-form-urlencoded; charset=utf-8", NULL,
                  (const uint8_t *)form, strlen(form),
                  /* The one unsigned call carries the web identity token. */
                  unsigned_call, creds, unsigned_call, reply);
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
        char c = (char)reply->data[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
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
