/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The AWS client context: settings from hsm2acm's config, the environment
 * and the shared config files, resolved once and shared by a ctx, its clones
 * and the contexts assumed from it. Connections and signing are in http.c,
 * credentials in credfetch.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aws_ctx.h"

void h2a_aws_settings_unref(struct h2a_aws_settings *s)
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
    /* Last: every connection using its sessions went with the contexts. */
    h2a_aws_tls_share_free(s->tls);
    free(s);
}

void h2a_aws_pool_unref(struct h2a_aws_pool *p)
{
    if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    for (int i = 0; i < H2A_AWS_MAX_CONNS; i++) {
        if (p->conns[i].h != NULL) {
            curl_easy_cleanup(p->conns[i].h);
        }
    }
    free(p);
}

/* Credentials shared by a ctx and its clones (fetched in credfetch.c). */
void h2a_cred_state_unref(struct h2a_cred_state *st)
{
    if (st == NULL || __atomic_sub_fetch(&st->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    if (st->prov != NULL && st->prov->source_state != NULL) {
        h2a_cred_state_unref(st->prov->source_state);
        st->prov->source_state = NULL;
    }
    h2a_cred_provider_free(st->prov);
    h2a_aws_credentials_free(st->cur);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

h2a_err h2a_cred_state_new(struct h2a_cred_provider *prov, struct h2a_cred_state **out)
{
    struct h2a_cred_state *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        if (prov != NULL && prov->source_state != NULL) {
            h2a_cred_state_unref(prov->source_state);
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

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

h2a_err h2a_aws_strdup_opt(char **dst, const char *v)
{
    *dst = NULL;
    if (!h2a_aws_set(v)) {
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

    if (!h2a_aws_set(v)) {
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

bool h2a_aws_env_true(const char *name)
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

    if (h2a_aws_set(services)) {
        snprintf(sec, sizeof(sec), "services %s", services);
        snprintf(key, sizeof(key), "%s.endpoint_url", h2a_aws_service_info(svc)->config_key);
        if (h2a_aws_set(h2a_ini_get(pf->config, sec, key))) {
            return h2a_ini_get(pf->config, sec, key);
        }
    }
    return h2a_aws_profile_get(pf, profile, "endpoint_url");
}

/* Region: explicit override, env, profile, hsm2acm config. */
static h2a_err s_settings_region(struct h2a_aws_settings *s, const struct h2a_aws_config *cfg,
                                 const struct h2a_aws_profiles *pf, const char *profile)
{
    const char *v = h2a_aws_first(cfg->region_override, getenv("AWS_REGION"));

    if (cfg->region_override != NULL && cfg->region_override[0] == '\0') {
        return h2a_err_set(H2A_ERR_USAGE, "--region: must not be empty");
    }
    v = h2a_aws_first(v, getenv("AWS_DEFAULT_REGION"));
    v = h2a_aws_first(v, h2a_aws_profile_get(pf, profile, "region"));
    v = h2a_aws_first(v, cfg->region);
    if (v != NULL && !h2a_aws_region_valid(v)) {
        return h2a_err_set(H2A_ERR_USAGE, "region '%.60s': expected a name like eu-west-1", v);
    }
    return h2a_aws_strdup_opt(&s->region, v);
}

/*
 * One service's explicit endpoint, by the SDKs' precedence, and where it
 * came from (messages name the source, e.g. for a refused http:// call).
 */
static h2a_err s_settings_endpoint(struct h2a_aws_settings *s, h2a_aws_service svc,
                                   const struct h2a_aws_config *cfg,
                                   const struct h2a_aws_profiles *pf, const char *profile)
{
    char env[64];
    const char *src = cfg->endpoint_url[svc] != NULL ? h2a_aws_service_info(svc)->config_path
                                                     : "aws.endpoint_url";
    const char *v = h2a_aws_first(cfg->endpoint_url[svc], cfg->endpoint_url_all);
    struct h2a_endpoint ep;

    snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", h2a_aws_service_info(svc)->env_suffix);
    if (v == NULL && !h2a_aws_env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
        if (h2a_aws_set(getenv(env))) {
            v = getenv(env);
            src = h2a_aws_service_info(svc)->env_name;
        } else if (h2a_aws_set(getenv("AWS_ENDPOINT_URL"))) {
            v = getenv("AWS_ENDPOINT_URL");
            src = "AWS_ENDPOINT_URL";
        } else {
            v = h2a_aws_first(s_profile_service_endpoint(pf, profile, svc), NULL);
            src = "the profile's endpoint_url";
        }
    }
    s->endpoint_src[svc] = v != NULL ? src : NULL;
    /* Check the URL now: a bad setting is a usage error, early. */
    if (v != NULL && h2a_aws_endpoint_resolve(svc, "us-east-1", v, &ep) != H2A_OK) {
        return h2a_err_prefix(H2A_ERR_USAGE, "%s: ", src);
    }
    return h2a_aws_strdup_opt(&s->endpoint[svc], v);
}

static h2a_err s_settings_attempts(struct h2a_aws_settings *s, const struct h2a_aws_config *cfg,
                                   const struct h2a_aws_profiles *pf, const char *profile)
{
    const char *v = h2a_aws_profile_get(pf, profile, "max_attempts");
    long l = 3;

    if (h2a_aws_set(v)) {
        char *e = NULL;
        l = strtol(v, &e, 10);
        if (e == NULL || *e != '\0' || l < 1 || l > 20) {
            return h2a_err_set(H2A_ERR_USAGE, "profile %s: max_attempts '%s': expected 1..20",
                               profile, v);
        }
    }
    H2A_GUARD(s_env_long("AWS_MAX_ATTEMPTS", 1, 20, &l));
    if (cfg->max_attempts != 0) {
        if (cfg->max_attempts < 1 || cfg->max_attempts > 20) {
            return h2a_err_set(H2A_ERR_USAGE, "aws.max_attempts %d: expected 1..20",
                               cfg->max_attempts);
        }
        l = cfg->max_attempts;
    }
    s->max_attempts = (int)l;
    s->retry_base_ms = 1000;
    s->connect_timeout_ms = 5000;
    s->timeout_ms = 30000;
    H2A_GUARD(s_env_long("HSM2ACM_RETRY_BASE_MS", 0, 20000, &s->retry_base_ms));
    H2A_GUARD(s_env_long("HSM2ACM_AWS_CONNECT_TIMEOUT_MS", 1, 600000, &s->connect_timeout_ms));
    H2A_GUARD(s_env_long("HSM2ACM_AWS_TIMEOUT_MS", 1, 3600000, &s->timeout_ms));
    if (cfg->connect_timeout_ms > 0) {
        s->connect_timeout_ms = cfg->connect_timeout_ms;
    }
    if (cfg->timeout_ms > 0) {
        s->timeout_ms = cfg->timeout_ms;
    }
    return H2A_OK;
}

static h2a_err s_settings_imds(struct h2a_aws_settings *s, const struct h2a_aws_profiles *pf,
                               const char *profile)
{
    long l = 1;
    const char *v;

    H2A_GUARD(s_env_long("AWS_METADATA_SERVICE_TIMEOUT", 1, 60, &l));
    s->imds_timeout_ms = l * 1000;
    l = 1;
    H2A_GUARD(s_env_long("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, &l));
    s->imds_attempts = (int)l;
    v = h2a_aws_first(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
                      h2a_aws_profile_get(pf, profile, "ec2_metadata_service_endpoint"));
    if (v == NULL) {
        const char *mode = h2a_aws_first(getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
                                         h2a_aws_profile_get(pf, profile,
                                                             "ec2_metadata_service_endpoint_mode"));
        v = (mode != NULL && strcasecmp(mode, "IPv6") == 0) ? "http://[fd00:ec2::254]"
                                                             : "http://169.254.169.254";
    }
    return h2a_aws_strdup_opt(&s->imds_endpoint, v);
}

static h2a_err s_settings_new(const struct h2a_aws_config *cfg,
                              const struct h2a_aws_profiles *pf, const char *profile,
                              struct h2a_aws_settings **out)
{
    struct h2a_aws_settings *s = calloc(1, sizeof(*s));
    const char *v;
    h2a_err rv;

    *out = NULL;
    if (s == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "AWS settings");
    }
    s->refs = 1;
    s->tls = h2a_aws_tls_share_new();
    rv = s_settings_region(s, cfg, pf, profile);
    for (int i = 0; rv == H2A_OK && i < H2A_AWS_SVC__COUNT; i++) {
        rv = s_settings_endpoint(s, (h2a_aws_service)i, cfg, pf, profile);
    }
    if (rv == H2A_OK) {
        v = h2a_aws_first(cfg->ca_bundle, getenv("AWS_CA_BUNDLE"));
        v = h2a_aws_first(v, h2a_aws_profile_get(pf, profile, "ca_bundle"));
        if (v != NULL && access(v, R_OK) != 0) {
            rv = h2a_err_set(H2A_ERR_USAGE, "CA bundle %s: %s", v, strerror(errno));
        } else {
            rv = h2a_aws_strdup_opt(&s->ca_bundle, v);
        }
    }
    if (rv == H2A_OK) {
        rv = s_settings_attempts(s, cfg, pf, profile);
    }
    if (rv == H2A_OK) {
        rv = s_settings_imds(s, pf, profile);
    }
    if (rv != H2A_OK) {
        h2a_aws_settings_unref(s);
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

h2a_err h2a_aws_ctx_alloc(struct h2a_aws_settings *set, struct h2a_cred_state *st,
                          struct h2a_aws_pool *pool, H2A_AWS_CTX **out)
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
    c->keys = OPENSSL_secure_zalloc(H2A_AWS_KEY_CACHE * sizeof(*c->keys));
    if (c->keys == NULL) {
        h2a_aws_pool_unref(c->pool);
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
    struct h2a_aws_settings *set = NULL;
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
    profile = h2a_aws_first(cfg->profile, getenv("AWS_PROFILE"));
    profile = h2a_aws_first(profile, getenv("AWS_DEFAULT_PROFILE"));
    if (profile != NULL && !h2a_aws_profile_exists(&pf, profile)) {
        rv = h2a_err_set(H2A_ERR_USAGE, "profile '%s' not found in %s or %s", profile,
                         pf.config_path, pf.credentials_path);
        goto done;
    }
    if ((rv = s_settings_new(cfg, &pf, profile != NULL ? profile : "default", &set)) != H2A_OK) {
        goto done;
    }
    if (h2a_aws_set(cfg->credentials_file)) {
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
        if ((rv = h2a_aws_strdup_opt(&prov->sts_region, set->region)) != H2A_OK) {
            goto done;
        }
    }
    H2A_LOG_DBG("aws: credentials from %s, region %s", prov->describe,
                set->region != NULL ? set->region : "(none)");
    if ((rv = h2a_cred_state_new(prov, &st)) != H2A_OK) {
        prov = NULL;
        goto done;
    }
    prov = NULL;
    rv = h2a_aws_ctx_alloc(set, st, NULL, out_ctx);
done:
    h2a_cred_provider_free(prov);
    h2a_cred_state_unref(st);
    h2a_aws_settings_unref(set);
    h2a_aws_profiles_cleanup(&pf);
    return rv;
}

h2a_err h2a_aws_ctx_clone(H2A_AWS_CTX *ctx, H2A_AWS_CTX **out_ctx)
{
    H2A_GUARD(h2a_aws_ctx_alloc(ctx->set, ctx->creds, NULL, out_ctx));
    (*out_ctx)->rand01 = ctx->rand01;
    (*out_ctx)->sleep_ms = ctx->sleep_ms;
    (*out_ctx)->hook_arg = ctx->hook_arg;
    (*out_ctx)->clock_offset = ctx->clock_offset;
    return H2A_OK;
}

h2a_err h2a_aws_ctx_share_session(H2A_AWS_CTX *conns, H2A_AWS_CTX *session,
                                  H2A_AWS_CTX **out_ctx)
{
    H2A_GUARD(h2a_aws_ctx_alloc(conns->set, session->creds, conns->pool, out_ctx));
    (*out_ctx)->rand01 = conns->rand01;
    (*out_ctx)->sleep_ms = conns->sleep_ms;
    (*out_ctx)->hook_arg = conns->hook_arg;
    (*out_ctx)->clock_offset = conns->clock_offset;
    (*out_ctx)->plain_http_secrets = conns->plain_http_secrets; /* as assume-role children */
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
    h2a_aws_pool_unref(ctx->pool);
    h2a_aws_credentials_free(ctx->local);
    OPENSSL_secure_clear_free(ctx->keys, H2A_AWS_KEY_CACHE * sizeof(*ctx->keys));
    h2a_cred_state_unref(ctx->creds);
    h2a_aws_settings_unref(ctx->set);
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
