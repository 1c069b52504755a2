/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Internals of the AWS layer, public only so that the unit tests can reach
 * each stage (signing, error parsing, retry rules, config files, endpoint
 * resolution, credential documents). Nothing outside agent/aws/ and
 * tests/unit/test_aws_*.c includes this.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "h2a_aws.h"

/* Replies larger than this are refused (write callback stops the transfer). */
#define H2A_AWS_MAX_REPLY (8u * 1024u * 1024u)

/*
 * curl_global_init with an allocator that wipes every block libcurl frees
 * or reallocates (curl_mem.c). It must be the process's first libcurl call:
 * libcurl keeps the allocator of the first init. False if init failed.
 */
bool h2a_curl_global_init(void);

/* ------------------------------------------------------------------ */
/* SigV4                                                               */
/* ------------------------------------------------------------------ */

struct h2a_http_header {
    const char *name;
    const char *value;
};

/*
 * A request as the signer sees it. `headers` are exactly the headers to
 * sign (the caller adds host, x-amz-date, x-amz-security-token, ...);
 * repeated names are joined with ',' in order. `query` is the raw query
 * string without '?', or NULL.
 */
struct h2a_sigv4_input {
    const char *method;
    const char *path;
    const char *query;
    bool normalize_path;
    const struct h2a_http_header *headers;
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
};

/* Canonical request into `out`, the "a;b;c" list into `signed_headers`. */
h2a_err h2a_sigv4_canonical_request(const struct h2a_sigv4_input *in,
                                    h2a_buf *out,
                                    h2a_buf *signed_headers) H2A_MUST_USE;
/* "20150830/us-east-1/service/aws4_request" from the pieces. */
h2a_err h2a_sigv4_scope(const char *date8, const char *region,
                        const char *service, h2a_buf *out) H2A_MUST_USE;
h2a_err h2a_sigv4_string_to_sign(const char *amz_date, const char *scope,
                                 const h2a_buf *canonical_request,
                                 h2a_buf *out) H2A_MUST_USE;
/* kSigning; `out` is a secret (wipe it). */
h2a_err h2a_sigv4_signing_key(const char *secret_key, const char *date8,
                              const char *region, const char *service,
                              uint8_t out[32]) H2A_MUST_USE;
/* Lower-case hex HMAC of the string to sign, into out_hex[65]. */
h2a_err h2a_sigv4_signature(const uint8_t key[32], const h2a_buf *string_to_sign,
                            char out_hex[65]) H2A_MUST_USE;
/* "20150830T123600Z" and "20150830" for t (UTC). */
void h2a_sigv4_dates(time_t t, char amz_date[17], char date8[9]);
/* Lower-case hex SHA-256 of data into out_hex[65]. */
void h2a_sha256_hex(const void *data, size_t len, char out_hex[65]);

/* ------------------------------------------------------------------ */
/* Errors and retries                                                  */
/* ------------------------------------------------------------------ */

/*
 * Make server text safe to print, in place within `size`: control bytes
 * (newlines, ESC of ANSI sequences, ...) become \n, \r, \t or \xNN.
 */
void h2a_aws_escape_text(char *s, size_t size);

/* awsJson: cut at the first ':', keep what follows the first '#'. */
void h2a_aws_clean_code(const char *raw, char *out, size_t outsz);

/*
 * Fill err->code/message from an awsJson error reply (body `__type` or
 * `code`, else the X-Amzn-Errortype header; `message` or `Message`).
 * Returns false (and fills what it can) if the body is not a JSON object.
 */
bool h2a_aws_parse_json_error(const char *body, size_t len,
                              const char *errortype_header,
                              struct h2a_aws_error *err);
/* Same for the awsQuery XML <ErrorResponse> (also fills request_id). */
bool h2a_aws_parse_query_error(const char *body, size_t len,
                               struct h2a_aws_error *err);

typedef enum {
    H2A_RETRY_NO = 0,
    H2A_RETRY_THROTTLE,
    H2A_RETRY_TRANSIENT,
    H2A_RETRY_TIMEOUT,
} h2a_retry_kind;

/*
 * SDK standard-mode classification of a failed attempt. `network` = no
 * HTTP response (connect failure, reset, ...), `timeout` = it timed out.
 * LimitExceededException is a quota in every service used here: never.
 */
h2a_retry_kind h2a_aws_retry_classify(long http_status, const char *code,
                                      bool network, bool timeout);
bool h2a_aws_is_throttle_code(const char *code);
/*
 * Full-jitter backoff after failed attempt number `attempt` (1-based):
 * rand01 * min(base_ms * 2^(attempt-1), 20000) in ms.
 */
long h2a_aws_backoff_ms(int attempt, double rand01, long base_ms);

/* Retry quota (token bucket): 500 tokens, retry costs 5 (timeouts 10). */
struct h2a_retry_quota {
    int tokens;
};
void h2a_retry_quota_init(struct h2a_retry_quota *q);
/* Take the cost of a retry; false (nothing taken) when the bucket is dry. */
bool h2a_retry_quota_take(struct h2a_retry_quota *q, h2a_retry_kind kind,
                          int *out_cost);
/* After a success: refund `taken` (a retried call) or 1. */
void h2a_retry_quota_success(struct h2a_retry_quota *q, int taken);

/* ------------------------------------------------------------------ */
/* JSON documents with secrets                                         */
/* ------------------------------------------------------------------ */

/*
 * Find the top-level string member `key` of the JSON object in `body`,
 * append its decoded value to `out` (secure if it should be) and overwrite
 * the raw value in `body` with spaces, so json-c can parse the rest without
 * ever copying the secret. H2A_ERR_INPUT if absent (*found=false, when
 * `found` is given, turns "absent" into OK), not a string, or malformed.
 */
h2a_err h2a_json_take_string(h2a_buf *body, const char *key, h2a_buf *out,
                             bool *found) H2A_MUST_USE;

/*
 * The one way a reply becomes an XML tree: no network, no entities, and
 * nothing printed. XML_PARSE_NOERROR does not cover libxml2's encoding
 * conversion, which reports through the thread's generic error handler,
 * so that handler is silenced (per thread: libxml2 keeps it thread-local)
 * before every parse. NULL when the text is not XML.
 */
struct _xmlDoc;
struct _xmlDoc *h2a_aws_xml_read(const char *body, size_t len);

/* Text of the first <name>...</name> element (entities decoded) to `out`. */
h2a_err h2a_xml_take_text(const h2a_buf *body, const char *name,
                          h2a_buf *out, bool *found) H2A_MUST_USE;

/*
 * Parse a credentials document (credential_process, ECS, IMDS, explicit
 * JSON file): AccessKeyId, SecretAccessKey, Token or SessionToken,
 * Expiration (ISO-8601). `what` names the source in messages. `body` is
 * wiped in place. With `need_version`, "Version": 1 is required.
 */
h2a_err h2a_aws_creds_from_json(h2a_buf *body, const char *what,
                                bool need_version,
                                struct h2a_aws_credentials **out) H2A_MUST_USE;
/* Allocate credentials in the secure heap (token may be NULL). */
h2a_err h2a_aws_credentials_make(const char *akid, const char *secret,
                                 const char *token, time_t expiration,
                                 struct h2a_aws_credentials **out) H2A_MUST_USE;
/* "2026-11-24T10:00:00Z" (also with fractions or +00:00) → epoch. */
h2a_err h2a_aws_parse_iso8601(const char *s, time_t *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Shared config / credentials files                                   */
/* ------------------------------------------------------------------ */

struct h2a_ini;
/*
 * Parse an AWS-style INI file. A missing file gives an empty document
 * (*out non-NULL) unless `must_exist`. Section names are kept verbatim
 * ("profile x", "default", "services s"); nested "key =\n  sub = v" blocks
 * are stored as "key.sub".
 */
h2a_err h2a_ini_load(const char *path, bool must_exist,
                     struct h2a_ini **out) H2A_MUST_USE;
h2a_err h2a_ini_parse(const char *text, size_t len, const char *what,
                      struct h2a_ini **out) H2A_MUST_USE;
bool h2a_ini_has_section(const struct h2a_ini *ini, const char *section);
const char *h2a_ini_get(const struct h2a_ini *ini, const char *section,
                        const char *key);
void h2a_ini_free(struct h2a_ini *ini);

/*
 * A profile view over both files: config `[profile NAME]` (or `[default]`),
 * credentials `[NAME]`; the credentials file wins for the same key, as in
 * the SDKs.
 */
struct h2a_aws_profiles {
    struct h2a_ini *config;
    struct h2a_ini *credentials;
    char *config_path;
    char *credentials_path;
};
h2a_err h2a_aws_profiles_load(struct h2a_aws_profiles *p) H2A_MUST_USE;
void h2a_aws_profiles_cleanup(struct h2a_aws_profiles *p);
bool h2a_aws_profile_exists(const struct h2a_aws_profiles *p, const char *name);
const char *h2a_aws_profile_get(const struct h2a_aws_profiles *p,
                                const char *name, const char *key);

/* ------------------------------------------------------------------ */
/* Credential providers                                                */
/* ------------------------------------------------------------------ */

typedef enum {
    H2A_CRED_STATIC = 0,   /* keys known up front (env, files) */
    H2A_CRED_PROCESS,      /* credential_process */
    H2A_CRED_ASSUME_ROLE,  /* AssumeRole with a source provider */
    H2A_CRED_WEB_IDENTITY, /* AssumeRoleWithWebIdentity */
    H2A_CRED_ECS,
    H2A_CRED_IMDS,
} h2a_cred_kind;

struct h2a_cred_provider {
    h2a_cred_kind kind;
    char *describe;  /* "environment", "profile dev (credential_process)" */
    struct h2a_aws_credentials *fixed; /* STATIC */
    char *process;                     /* PROCESS command line */
    char *role_arn, *session_name, *external_id, *token_file;
    int duration_seconds;
    char *sts_region;
    struct h2a_cred_provider *source;  /* ASSUME_ROLE source (owned) */
    struct h2a_cred_state *source_state; /* or a shared state (ctx_assume_role) */
};
void h2a_cred_provider_free(struct h2a_cred_provider *p);

/*
 * Pick the provider the SDK chain would use, from the environment and the
 * files, without any network call. `explicit_profile` is hsm2acm's profile
 * setting (beats AWS_PROFILE; a missing one is an error). Profile loops and
 * dangling source_profile are H2A_ERR_INPUT naming the profile.
 */
h2a_err h2a_cred_resolve(const struct h2a_aws_profiles *profiles,
                         const char *explicit_profile,
                         struct h2a_cred_provider **out) H2A_MUST_USE;
/* Read explicit keys from a file (JSON or INI; section `profile`/default). */
h2a_err h2a_cred_from_file(const char *path, const char *profile,
                           struct h2a_aws_credentials **out) H2A_MUST_USE;
/* Split a credential_process command line (quotes, backslash) into argv. */
h2a_err h2a_split_argv(const char *cmd, char ***out_argv,
                       size_t *out_argc) H2A_MUST_USE;
void h2a_argv_free(char **argv);
/* Run a credential_process (no shell, 60 s timeout, 64 KiB output). */
h2a_err h2a_cred_run_process(const char *what, const char *cmd,
                             struct h2a_aws_credentials **out) H2A_MUST_USE;

/* Credentials shared by a ctx and its clones, refreshed under a lock. */
struct h2a_cred_state;

/* ------------------------------------------------------------------ */
/* Regions and endpoints                                               */
/* ------------------------------------------------------------------ */

/* "aws", "aws-cn", "aws-us-gov" from the region prefix. */
const char *h2a_aws_partition(const char *region);

struct h2a_endpoint {
    char url[600];         /* "https://acm.eu-west-1.amazonaws.com/" */
    char scheme[8];
    char host_header[300]; /* host[:port] as sent and signed */
    char path[256];
    char signing_region[40];
    bool explicit_endpoint;
};
/*
 * The endpoint and signing region for `svc` in `region`. `override` is an
 * explicitly configured base URL (already chosen by precedence) or NULL.
 */
h2a_err h2a_aws_endpoint_resolve(h2a_aws_service svc, const char *region,
                                 const char *override,
                                 struct h2a_endpoint *out) H2A_MUST_USE;
/* ------------------------------------------------------------------ */
/* The service table (endpoint.c)                                      */
/* ------------------------------------------------------------------ */

typedef enum {
    H2A_AWS_PROTO_JSON10 = 0, /* awsJson1_0: POST /, X-Amz-Target */
    H2A_AWS_PROTO_JSON11,     /* awsJson1_1: the same, another content type */
    H2A_AWS_PROTO_QUERY,      /* awsQuery: POST / form, XML replies */
    H2A_AWS_PROTO_REST_XML,   /* restXml: method + URI per operation, XML bodies */
} h2a_aws_protocol;

struct h2a_aws_service_info {
    const char *name;           /* signing name, host prefix, aws.endpoints key */
    const char *env_suffix;     /* AWS_ENDPOINT_URL_<X> */
    const char *config_key;     /* key in a shared-config services section */
    const char *config_path;    /* "aws.endpoints.<name>", for messages */
    const char *env_name;       /* "AWS_ENDPOINT_URL_<X>", for messages */
    h2a_aws_protocol protocol;
    const char *target;         /* X-Amz-Target prefix (awsJson) */
    const char *default_region; /* used when no region is set (STS) */
    const char *global_host[3]; /* aws, aws-cn, aws-us-gov; NULL: regional */
};
/* Never NULL (an unknown service gets a row of "?"). */
const struct h2a_aws_service_info *h2a_aws_service_info(h2a_aws_service svc);

/* ------------------------------------------------------------------ */
/* The generic request (http.c), for the operation files               */
/* ------------------------------------------------------------------ */

/*
 * One request of any protocol. The protocol of the service decides the
 * content type, X-Amz-Target (awsJson: "<target>.<operation>") and how an
 * error reply is read. `path` and `query` are already URI-encoded; `path`
 * is appended to the endpoint's own path.
 */
struct h2a_aws_request {
    const char *operation;
    const char *method;                     /* NULL: POST */
    const char *path;                       /* NULL: the endpoint's path */
    const char *query;                      /* without '?', or NULL */
    const struct h2a_http_header *headers;  /* extra headers, signed */
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    /*
     * The body carries key material or credentials (never logged, sent
     * from locked memory, refused over http://), or the reply will.
     */
    bool secret_body;
    bool secret_reply;
    const struct h2a_aws_credentials *creds; /* NULL: the ctx's */
    bool unsigned_call;                      /* no signature at all */
};

/*
 * Send `rq` to `svc` in `region` (NULL: the ctx's) with the SDK standard
 * retries. The 2xx reply body is appended to `reply`, which the caller
 * initialised (secure for secret replies); empty replies are allowed here.
 */
h2a_err h2a_aws_send(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                     const struct h2a_aws_request *rq, h2a_buf *reply) H2A_MUST_USE;
/* awsJson call of a body already serialised (a convenience over h2a_aws_send). */
h2a_err h2a_aws_raw_json_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                              const char *op, const uint8_t *body, size_t body_len,
                              bool secret_request, h2a_buf *reply) H2A_MUST_USE;
/* Parse a 2xx awsJson reply into an object; malformed → H2A_ERR_AWS. */
h2a_err h2a_aws_parse_reply(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                            const h2a_buf *reply, json_object **out) H2A_MUST_USE;
/* Record a protocol violation in the ctx error and return H2A_ERR_AWS. */
h2a_err h2a_aws_malformed(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                          const char *fmt, ...) H2A_PRINTF(4, 5);
/* Sleep through the ctx's hook (tests replace it). */
void h2a_aws_ctx_sleep(H2A_AWS_CTX *ctx, long ms);
/* Append s to b with application/x-www-form-urlencoded escaping. */
h2a_err h2a_form_append(h2a_buf *b, const char *name, const char *value) H2A_MUST_USE;
/* Append s to b with RFC 3986 escaping ('/' kept when `keep_slash`). */
h2a_err h2a_uri_append(h2a_buf *b, const char *s, bool keep_slash) H2A_MUST_USE;
/* STS credentials from an AssumeRole*-Response body (wiped in place). */
h2a_err h2a_sts_parse_credentials(h2a_buf *body, struct h2a_aws_credentials **out) H2A_MUST_USE;
/*
 * The one AssumeRole request: `src` NULL signs with the ctx's credentials,
 * else with `src` (a credential fetcher's source keys).
 */
h2a_err h2a_sts_assume_role_as(H2A_AWS_CTX *ctx, const struct h2a_aws_assume_role *ar,
                               const struct h2a_aws_credentials *src,
                               struct h2a_aws_credentials **out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Test hooks                                                          */
/* ------------------------------------------------------------------ */

/*
 * Let calls that carry secrets go to an http:// endpoint: only the unit
 * tests' in-process server (plain HTTP on loopback) needs it.
 */
void h2a_aws_ctx_allow_plain_http_secrets(H2A_AWS_CTX *ctx);

/* Replace the jitter source and the sleep (unit tests, deterministic runs). */
void h2a_aws_ctx_set_hooks(H2A_AWS_CTX *ctx, double (*rand01)(void *),
                           void (*sleep_ms)(void *, long), void *arg);

#ifdef H2A_FUZZ_HOOKS
/*
 * Fuzz builds only (-DH2A_FUZZ=ON): every HTTP attempt of every ctx is
 * answered by `fn` (status, body, X-Amzn-ErrorType or ""), so the harness
 * reaches each operation's reply parser, the error parsers and the retry
 * rules at in-process speed, secret-carrying calls included. NULL: real HTTP.
 */
typedef void (*h2a_aws_fuzz_reply_fn)(h2a_aws_service svc, long *status, const uint8_t **body,
                                      size_t *len, char *errortype, size_t errortype_sz);
void h2a_aws_fuzz_set_reply(h2a_aws_fuzz_reply_fn fn);
#endif
