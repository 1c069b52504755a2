/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * What a client context is made of, shared by the three files that make up
 * the client: client.c (settings, context lifecycle), http.c (connections,
 * signing, the retry loop) and credfetch.c (credential fetchers and their
 * shared, refreshable state). Operation files never include this: they go
 * through h2a_aws_send() and the typed helpers of aws_internal.h.
 */
#include <pthread.h>
#include <stdint.h>

#include <curl/curl.h>

#include "aws_internal.h"

#define H2A_AWS_MAX_CONNS 8
#define H2A_AWS_KEY_CACHE 4

/* Resolved settings, shared by a ctx, its clones and assume-role children. */
struct h2a_aws_settings {
    int refs;
    char *region;
    char *endpoint[H2A_AWS_SVC__COUNT];     /* explicit, already by precedence */
    const char *endpoint_src[H2A_AWS_SVC__COUNT]; /* where it came from (static text) */
    char *ca_bundle;
    int max_attempts;
    long retry_base_ms;
    long connect_timeout_ms;
    long timeout_ms;
    long imds_timeout_ms;
    int imds_attempts;
    char *imds_endpoint;
    struct h2a_aws_tls_share *tls; /* TLS sessions of all its connections; NULL: none */
};
void h2a_aws_settings_unref(struct h2a_aws_settings *s);

/*
 * A TLS session cache for the connections of every thread that uses one
 * settings object (a libcurl share with its own locks, http.c): a worker's
 * first connection resumes a session instead of a full handshake. Only
 * sessions are shared; each pool keeps its own connections. NULL when it
 * cannot be made (connections then do full handshakes).
 */
struct h2a_aws_tls_share *h2a_aws_tls_share_new(void);
void h2a_aws_tls_share_free(struct h2a_aws_tls_share *s);

/* Credentials shared by a ctx and its clones, refreshed under a lock. */
struct h2a_cred_state {
    int refs;
    pthread_mutex_t mu;
    struct h2a_cred_provider *prov;
    struct h2a_aws_credentials *cur;
    uint64_t gen;
};
/* Takes `prov` (freed on failure too). */
h2a_err h2a_cred_state_new(struct h2a_cred_provider *prov,
                           struct h2a_cred_state **out) H2A_MUST_USE;
void h2a_cred_state_unref(struct h2a_cred_state *st);

struct h2a_aws_conn {
    char url[600]; /* the endpoint's base URL: one handle (and connection) each */
    CURL *h;
};

/*
 * Connections of one worker: a ctx and the contexts derived from it by
 * assume-role share them (same thread), so a worker has one TLS session per
 * endpoint whatever the account; a clone (another thread) gets its own.
 */
struct h2a_aws_pool {
    int refs;
    struct h2a_aws_conn conns[H2A_AWS_MAX_CONNS];
    long tls_connects;
    long endpoints;
};
void h2a_aws_pool_unref(struct h2a_aws_pool *p);

struct h2a_aws_keycache {
    char akid[128];
    char date8[9];
    char region[40];
    char service[32];
    uint8_t key[32];
    bool valid;
};

struct h2a_aws_ctx {
    struct h2a_aws_settings *set;
    struct h2a_cred_state *creds;
    struct h2a_aws_credentials *local; /* private copy of creds->cur */
    struct h2a_aws_keycache *keys;     /* secure heap, H2A_AWS_KEY_CACHE entries */
    struct h2a_aws_pool *pool;
    struct h2a_aws_error err;
    struct h2a_aws_stats stats;
    struct h2a_retry_quota quota;
    double (*rand01)(void *);
    void (*sleep_ms)(void *, long);
    void *hook_arg;
    long clock_offset; /* seconds to add to the local clock (learnt from AWS) */
    /* The last reply that got through (a 2xx may still break the protocol). */
    long last_status;
    char last_request_id[128];
    bool plain_http_secrets; /* test hook: the in-process test server is http:// */
};

/* A new ctx over shared pieces (each gets a reference); pool NULL: a new one. */
h2a_err h2a_aws_ctx_alloc(struct h2a_aws_settings *set, struct h2a_cred_state *st,
                          struct h2a_aws_pool *pool, H2A_AWS_CTX **out) H2A_MUST_USE;

/* Make ctx->local current (fetch or refresh; `force` refetches). */
h2a_err h2a_aws_ctx_creds(H2A_AWS_CTX *ctx, bool force) H2A_MUST_USE;

/* Small string helpers of the client files. */
static inline bool h2a_aws_set(const char *v)
{
    return v != NULL && v[0] != '\0';
}
static inline const char *h2a_aws_first(const char *a, const char *b)
{
    return h2a_aws_set(a) ? a : (h2a_aws_set(b) ? b : NULL);
}
h2a_err h2a_aws_strdup_opt(char **dst, const char *v) H2A_MUST_USE;
bool h2a_aws_env_true(const char *name);

/*
 * Plain HTTP(S) for the metadata services (IMDS, ECS): a fresh handle,
 * a short timeout, no proxy, no signing. `hdrs` may be NULL.
 */
h2a_err h2a_aws_http_simple(H2A_AWS_CTX *ctx, const char *what, const char *method,
                            const char *url, struct curl_slist *hdrs, long timeout_ms,
                            h2a_buf *out, long *status) H2A_MUST_USE;
/* curl_slist_free_all() after wiping every line (headers may carry tokens). */
void h2a_aws_slist_free_wiped(struct curl_slist *l);
