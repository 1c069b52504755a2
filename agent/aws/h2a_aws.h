/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The AWS layer of the agent: SigV4, the credential chain, HTTPS with the
 * SDKs' "standard" retries, and typed wrappers for the few operations
 * hsm2acm needs (ACM, Secrets Manager, STS, Organizations, ACM PCA).
 *
 * Ownership and threads:
 * - An H2A_AWS_CTX is NOT thread-safe. Each worker thread uses its own,
 *   made with h2a_aws_ctx_new() or h2a_aws_ctx_clone() (a clone shares the
 *   resolved configuration and the credentials, which are refreshed under a
 *   lock, but has its own connections: one TLS handshake per endpoint per
 *   worker).
 * - Strings returned through `char **out_*` are malloc'd; the caller frees
 *   them with free(). json_object results are owned by the caller
 *   (json_object_put()). Nothing returned ever holds a secret unless it is
 *   an h2a_buf the caller initialised as secure.
 * - Every function returns H2A_OK or an h2a_err with h2a_err_set() called.
 *   AWS-side failures (HTTP error, network, malformed reply) are
 *   H2A_ERR_AWS with a message such as
 *   "acm ImportCertificate: HTTP 400 ValidationException: <message>
 *    (request id 1234-...)", and h2a_aws_last_error() gives the fields.
 *   Bad arguments are H2A_ERR_INPUT, bad configuration H2A_ERR_USAGE/INPUT.
 *
 * Regions: every operation takes a `region`; NULL means the ctx's default
 * region (see h2a_aws_ctx_new()). Organizations ignores it (global service,
 * signed for us-east-1 / cn-northwest-1 / us-gov-west-1 by partition).
 *
 * Key custody: ImportCertificate's request body (it carries the private
 * key) and GetSecretValue's response body are built and held only in secure
 * h2a_bufs, wiped after use, and never logged at any level (only operation,
 * status and sizes). No function logs an Authorization header, a secret key
 * or a session token.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "h2a_common.h"

typedef struct h2a_aws_ctx H2A_AWS_CTX;

typedef enum {
    H2A_AWS_SVC_ACM = 0,
    H2A_AWS_SVC_SECRETS_MANAGER,
    H2A_AWS_SVC_STS,
    H2A_AWS_SVC_ORGANIZATIONS,
    H2A_AWS_SVC_ACM_PCA,
    H2A_AWS_SVC_ROUTE53,
    H2A_AWS_SVC_SQS,
    H2A_AWS_SVC_EC2,
    H2A_AWS_SVC__COUNT
} h2a_aws_service;

/* Short name used in messages and the signing name: "acm", "secretsmanager". */
const char *h2a_aws_service_name(h2a_aws_service svc);
/*
 * The service whose name is `name`: the signing name ("secretsmanager",
 * "acm-pca") or the SDK configuration key ("secrets_manager", "acm_pca").
 * False if no service of the table has it.
 */
bool h2a_aws_service_lookup(const char *name, h2a_aws_service *out);

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

/*
 * hsm2acm's own AWS settings (the "aws" object of its configuration plus
 * command-line flags). Every member is optional (NULL / 0 = not set); the
 * strings are copied by h2a_aws_ctx_new().
 *
 * Region, first one set wins: `region_override` (e.g. --region),
 * AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, `region` (config
 * default). No region at all is only an error when a call needs one.
 *
 * Credentials, first source that yields keys wins:
 *  1. `credentials_file`: explicit keys read from a file (never argv). JSON
 *     {"AccessKeyId","SecretAccessKey","SessionToken"?} (the
 *     credential_process format, "Version" optional) or an INI file like
 *     ~/.aws/credentials, section `profile` or "default".
 *  2. `profile` (or AWS_PROFILE): that profile of the shared config and
 *     credentials files, with role_arn + source_profile / credential_source
 *     chains, credential_process, web_identity_token_file. A named profile
 *     that does not exist is an error, not a fall-through.
 *  3. Otherwise the SDK chain: environment (AWS_ACCESS_KEY_ID, ...), web
 *     identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), the default
 *     profile of the shared files, ECS container credentials, EC2 IMDSv2.
 * Credentials are resolved lazily on the first call and temporary ones are
 * refreshed 5 minutes before they expire.
 */
struct h2a_aws_config {
    const char *region;
    const char *region_override;
    const char *profile;
    const char *credentials_file;
    /* CA bundle for HTTPS (PEM). Beats AWS_CA_BUNDLE and profile ca_bundle. */
    const char *ca_bundle;
    /* Total attempts per call incl. the first; 0: AWS_MAX_ATTEMPTS, profile
     * max_attempts, else 3. */
    int max_attempts;
    /*
     * Explicit endpoints (e.g. "https://127.0.0.1:8443"): per service, then
     * one for all. They beat AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL /
     * profile endpoint_url. Only explicitly configured endpoints (here or
     * in those env/profile settings) may be http://.
     */
    const char *endpoint_url[H2A_AWS_SVC__COUNT];
    const char *endpoint_url_all;
    /* Timeouts; 0: defaults (connect 5 s, whole attempt 30 s). */
    long connect_timeout_ms;
    long timeout_ms;
};

/*
 * Build a client from `cfg` (may be NULL: environment only) and the
 * environment. Checks the configuration (unknown profile, bad endpoint URL,
 * unreadable credentials/CA file...) but does not contact AWS. Free with
 * h2a_aws_ctx_free().
 */
h2a_err h2a_aws_ctx_new(const struct h2a_aws_config *cfg,
                        H2A_AWS_CTX **out_ctx) H2A_MUST_USE;

/*
 * A new ctx for another worker thread: same settings, same credentials
 * (shared, refreshed under a lock), its own connections and error record.
 */
h2a_err h2a_aws_ctx_clone(H2A_AWS_CTX *ctx, H2A_AWS_CTX **out_ctx) H2A_MUST_USE;

/* NULL-safe. Wipes every credential and derived signing key it holds. */
void h2a_aws_ctx_free(H2A_AWS_CTX *ctx);

/*
 * H2A_ERR_USAGE (exit 2) naming where the endpoint was set if `svc` has an
 * explicit http:// endpoint: for callers that are about to send key
 * material or credentials there (`what` names it), to refuse before
 * anything is made. The calls that carry secrets (ImportCertificate,
 * CreateSecret, GetSecretValue, STS credentials) refuse http:// anyway.
 */
h2a_err h2a_aws_ctx_require_https(H2A_AWS_CTX *ctx, h2a_aws_service svc,
                                  const char *what) H2A_MUST_USE;

/* Region names are [a-z0-9-]{1,32} (they go into host names). */
bool h2a_aws_region_valid(const char *region);

/* The default region of the ctx (NULL if none could be resolved). */
const char *h2a_aws_ctx_region(const H2A_AWS_CTX *ctx);

/* AssumeRole parameters (also used by h2a_sts_assume_role()). */
struct h2a_aws_assume_role {
    const char *role_arn;      /* required */
    const char *session_name;  /* NULL: "hsm2acm-<pid>-<time>" */
    const char *external_id;   /* optional */
    int duration_seconds;      /* 0: 3600; AWS allows 900..43200 */
    const char *region;        /* STS region; NULL: the ctx's region */
};

/*
 * A ctx acting as `ar->role_arn` (e.g. another account): AssumeRole is
 * called now with `base`'s credentials and again before the temporary
 * credentials expire. The new ctx keeps a reference to what it needs from
 * `base`; either may be freed first. It shares `base`'s connections (one
 * TLS session per endpoint for the worker, whatever the account), so use
 * it on the same thread as `base`; clone it for another thread.
 */
h2a_err h2a_aws_ctx_assume_role(H2A_AWS_CTX *base,
                                const struct h2a_aws_assume_role *ar,
                                H2A_AWS_CTX **out_ctx) H2A_MUST_USE;

/*
 * A ctx on `conns`'s connections (so for `conns`'s thread) acting with
 * `session`'s credentials, which stay shared: refreshed once, under a
 * lock, by whichever ctx first finds them near expiry. With it one
 * AssumeRole serves every thread that works in that account.
 */
h2a_err h2a_aws_ctx_share_session(H2A_AWS_CTX *conns, H2A_AWS_CTX *session,
                                  H2A_AWS_CTX **out_ctx) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Errors and statistics                                               */
/* ------------------------------------------------------------------ */

/* What the last failed call on this ctx returned (cleared by each call). */
struct h2a_aws_error {
    char service[32];     /* "acm" */
    char operation[64];   /* "ImportCertificate" */
    long http_status;     /* 0: no HTTP response (network error) */
    char code[128];       /* cleaned AWS code "ThrottlingException"; "" if none */
    char message[512];
    char request_id[128];
    int attempts;         /* how many were made, >= 1 */
    bool network;         /* failed without a usable HTTP response */
    bool malformed;       /* the reply broke the protocol */
};

/* Never NULL. All-empty when the last call succeeded. */
const struct h2a_aws_error *h2a_aws_last_error(const H2A_AWS_CTX *ctx);
/* True if the last call failed with AWS error code `code`. */
bool h2a_aws_last_error_is(const H2A_AWS_CTX *ctx, const char *code);

struct h2a_aws_stats {
    long calls;          /* API operations (this ctx) */
    long http_requests;  /* attempts sent, incl. retries (this ctx) */
    long retries;        /* (this ctx) */
    long tls_connects;   /* connections opened (CURLINFO_NUM_CONNECTS), pool */
    long endpoints;      /* distinct endpoints used, pool (shared with the
                          * assume-role contexts derived from this ctx) */
};
/* Keep-alive means tls_connects == endpoints for a healthy run. */
void h2a_aws_ctx_stats(const H2A_AWS_CTX *ctx, struct h2a_aws_stats *out);

/* ------------------------------------------------------------------ */
/* Generic call                                                        */
/* ------------------------------------------------------------------ */

/*
 * One awsJson1_1 operation (ACM, Secrets Manager, Organizations, ACM PCA):
 * POST `req` (NULL sends {}) with X-Amz-Target for `op`, retries, and parse
 * the JSON object reply into *resp (caller puts). Not for operations that
 * carry secrets (ImportCertificate, GetSecretValue): their wrappers below
 * keep the bodies in secure memory.
 */
h2a_err h2a_aws_json_call(H2A_AWS_CTX *ctx, h2a_aws_service svc,
                          const char *region, const char *op,
                          json_object *req, json_object **resp) H2A_MUST_USE;

/* A tag for ACM / Secrets Manager. */
struct h2a_aws_tag {
    const char *key;
    const char *value;
};

/* ------------------------------------------------------------------ */
/* ACM                                                                 */
/* ------------------------------------------------------------------ */

struct h2a_acm_import {
    const char *certificate_pem;     /* the leaf only, required */
    const char *chain_pem;           /* optional: intermediates then root */
    const h2a_buf *private_key_pem;  /* unencrypted PEM, secure buffer */
    const char *certificate_arn;     /* set to reimport into this ARN */
    const struct h2a_aws_tag *tags;  /* new import only (refused with an ARN) */
    size_t n_tags;
};
/* ImportCertificate; *out_arn gets the (new or same) ARN. */
h2a_err h2a_acm_import_certificate(H2A_AWS_CTX *ctx, const char *region,
                                   const struct h2a_acm_import *in,
                                   char **out_arn) H2A_MUST_USE;
/* The parts of an ACM certificate ARN that must agree with a target. */
struct h2a_acm_arn {
    char region[40];
    char account[16];
};
/* Check the ARN's form locally; H2A_ERR_INPUT (exit 2) names `what`. */
h2a_err h2a_acm_arn_parse(const char *what, const char *arn,
                          struct h2a_acm_arn *out) H2A_MUST_USE;
/* One of ACM's CertificateStatus values (ISSUED, EXPIRED, ...). */
bool h2a_acm_status_valid(const char *status);
/* DescribeCertificate: *out is the CertificateDetail object. */
h2a_err h2a_acm_describe_certificate(H2A_AWS_CTX *ctx, const char *region,
                                     const char *arn,
                                     json_object **out) H2A_MUST_USE;
/* GetCertificate: PEM strings; *out_chain may be NULL (none). */
h2a_err h2a_acm_get_certificate(H2A_AWS_CTX *ctx, const char *region,
                                const char *arn, char **out_cert_pem,
                                char **out_chain_pem) H2A_MUST_USE;
/*
 * ListCertificates over all pages, always with Includes.keyTypes = all seven
 * ACM key types (else AWS hides EC and RSA_3072/4096). `statuses`: NULL or
 * a NULL-terminated list of CertificateStatuses ("ISSUED", ...). *out is an
 * array of CertificateSummary objects.
 */
h2a_err h2a_acm_list_certificates(H2A_AWS_CTX *ctx, const char *region,
                                  const char *const *statuses,
                                  json_object **out) H2A_MUST_USE;
h2a_err h2a_acm_add_tags(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                         const struct h2a_aws_tag *tags,
                         size_t n_tags) H2A_MUST_USE;
/* ListTagsForCertificate: *out is the Tags array [{Key, Value}]. */
h2a_err h2a_acm_list_tags(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                          json_object **out) H2A_MUST_USE;
h2a_err h2a_acm_delete_certificate(H2A_AWS_CTX *ctx, const char *region,
                                   const char *arn) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Secrets Manager                                                     */
/* ------------------------------------------------------------------ */

struct h2a_sm_create {
    const char *name;                  /* required */
    const char *client_request_token;  /* required, 32..64 chars */
    const char *kms_key_id;            /* optional */
    const h2a_buf *secret_string;      /* required; may be secure */
    const char *description;           /* optional */
    const struct h2a_aws_tag *tags;
    size_t n_tags;
};
/*
 * CreateSecret. *out (may be NULL) gets {ARN, Name, VersionId}. An
 * idempotent repeat (same name, token and value) succeeds like AWS does.
 */
h2a_err h2a_sm_create_secret(H2A_AWS_CTX *ctx, const char *region,
                             const struct h2a_sm_create *in,
                             json_object **out) H2A_MUST_USE;
/*
 * GetSecretValue of AWSCURRENT. The SecretString is appended to
 * `out_secret` (the caller initialises it, secure if it should be); the raw
 * reply is held in secure memory and wiped. *out_meta (may be NULL) gets the
 * other members (ARN, Name, VersionId, VersionStages, CreatedDate), never
 * the value.
 */
h2a_err h2a_sm_get_secret_value(H2A_AWS_CTX *ctx, const char *region,
                                const char *secret_id, h2a_buf *out_secret,
                                json_object **out_meta) H2A_MUST_USE;
/* DescribeSecret: *out is the reply object (no value in it). */
h2a_err h2a_sm_describe_secret(H2A_AWS_CTX *ctx, const char *region,
                               const char *secret_id,
                               json_object **out) H2A_MUST_USE;
/* DeleteSecret; `force` = ForceDeleteWithoutRecovery (else 30-day window). */
h2a_err h2a_sm_delete_secret(H2A_AWS_CTX *ctx, const char *region,
                             const char *secret_id, bool force) H2A_MUST_USE;

/* Poll DescribeSecret (hookable sleeps, ~10 s) until the secret is gone. */
h2a_err h2a_sm_wait_secret_deleted(H2A_AWS_CTX *ctx, const char *region,
                                   const char *secret_id) H2A_MUST_USE;
/* DeleteSecret without recovery, then h2a_sm_wait_secret_deleted(). */
h2a_err h2a_sm_delete_secret_and_wait(H2A_AWS_CTX *ctx, const char *region,
                                      const char *secret_id) H2A_MUST_USE;

/* One ListSecrets filter: key "name", "tag-key", "tag-value", ... */
struct h2a_sm_filter {
    const char *key;
    const char *const *values;  /* NULL-terminated, 1..10 */
};
/* ListSecrets over all pages; *out is the SecretList array. */
h2a_err h2a_sm_list_secrets(H2A_AWS_CTX *ctx, const char *region,
                            const struct h2a_sm_filter *filters,
                            size_t n_filters, json_object **out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* STS                                                                 */
/* ------------------------------------------------------------------ */

struct h2a_aws_identity {
    char account[32];
    char arn[2048];
    char user_id[256];
};
h2a_err h2a_sts_get_caller_identity(H2A_AWS_CTX *ctx, const char *region,
                                    struct h2a_aws_identity *out) H2A_MUST_USE;

/*
 * Temporary credentials. Allocated in the secure heap; free with
 * h2a_aws_credentials_free() (wipes). `expiration` 0 = does not expire.
 */
struct h2a_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;  /* may be NULL */
    time_t expiration;
};
void h2a_aws_credentials_free(struct h2a_aws_credentials *c);

/* AssumeRole with ctx's credentials. Most callers want h2a_aws_ctx_assume_role(). */
h2a_err h2a_sts_assume_role(H2A_AWS_CTX *ctx,
                            const struct h2a_aws_assume_role *ar,
                            struct h2a_aws_credentials **out) H2A_MUST_USE;
/* AssumeRoleWithWebIdentity (unsigned call); token is the JWT text. */
h2a_err h2a_sts_assume_role_with_web_identity(
    H2A_AWS_CTX *ctx, const char *region, const char *role_arn,
    const char *session_name, const char *web_identity_token,
    int duration_seconds, struct h2a_aws_credentials **out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Organizations, ACM PCA                                              */
/* ------------------------------------------------------------------ */

/* ListAccounts over all pages; *out is the Accounts array. */
h2a_err h2a_org_list_accounts(H2A_AWS_CTX *ctx, json_object **out) H2A_MUST_USE;

/* EC2 DescribeRegions in `region`: the names of the regions enabled for the
 * caller's account (opt-in regions only once opted in), as a new array. */
h2a_err h2a_ec2_enabled_regions(H2A_AWS_CTX *ctx, const char *region,
                                json_object **out) H2A_MUST_USE;

struct h2a_pca_issue {
    const char *ca_arn;             /* CertificateAuthorityArn */
    const char *csr_pem;
    const char *signing_algorithm;  /* "SHA256WITHECDSA", ... */
    const char *template_arn;       /* optional */
    const char *validity_type;      /* "DAYS", "END_DATE", ... */
    long long validity_value;
    const char *idempotency_token;  /* optional, <= 36 chars */
};
h2a_err h2a_pca_issue_certificate(H2A_AWS_CTX *ctx, const char *region,
                                  const struct h2a_pca_issue *in,
                                  char **out_cert_arn) H2A_MUST_USE;
/*
 * ACM PCA GetCertificate. Not issued yet: H2A_ERR_AWS with
 * h2a_aws_last_error_is(ctx, "RequestInProgressException"); poll.
 */
h2a_err h2a_pca_get_certificate(H2A_AWS_CTX *ctx, const char *region,
                                const char *ca_arn, const char *cert_arn,
                                char **out_cert_pem,
                                char **out_chain_pem) H2A_MUST_USE;
/* DescribeCertificateAuthority: *out is the CertificateAuthority object. */
h2a_err h2a_pca_describe_certificate_authority(H2A_AWS_CTX *ctx, const char *region,
                                               const char *ca_arn,
                                               json_object **out) H2A_MUST_USE;
/* GetCertificateAuthorityCertificate: the CA's PEM and its chain (may be NULL). */
h2a_err h2a_pca_get_certificate_authority_certificate(H2A_AWS_CTX *ctx, const char *region,
                                                      const char *ca_arn,
                                                      char **out_cert_pem,
                                                      char **out_chain_pem) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Route 53 (global: no region)                                        */
/* ------------------------------------------------------------------ */

/*
 * ListHostedZonesByName from `dns_name` (NULL: the first), at most
 * `max_items` (0: AWS's default of 100). *out is an array of
 * {"Id": "/hostedzone/Z...", "Name": "example.com.", "PrivateZone": bool}.
 */
h2a_err h2a_r53_list_hosted_zones_by_name(H2A_AWS_CTX *ctx, const char *dns_name,
                                          int max_items, json_object **out) H2A_MUST_USE;
/*
 * ListResourceRecordSets of a zone ("Z..." or "/hostedzone/Z..."), every
 * page. *out is an array of {"Name", "Type", "TTL"?, "Values": [...]}.
 */
h2a_err h2a_r53_list_resource_record_sets(H2A_AWS_CTX *ctx, const char *zone_id,
                                          json_object **out) H2A_MUST_USE;
struct h2a_r53_change {
    const char *action;        /* CREATE, DELETE, UPSERT */
    const char *name;          /* "_acme-challenge.example.com." */
    const char *type;          /* "TXT" */
    long ttl;
    const char *const *values; /* NULL-terminated, >= 1; TXT values carry their quotes */
};
/* ChangeResourceRecordSets; the change id ("/change/C...") and status (PENDING). */
h2a_err h2a_r53_change_resource_record_sets(H2A_AWS_CTX *ctx, const char *zone_id,
                                            const char *comment,
                                            const struct h2a_r53_change *changes, size_t n,
                                            char **out_change_id,
                                            char **out_status) H2A_MUST_USE;
/* GetChange: PENDING or INSYNC. */
h2a_err h2a_r53_get_change(H2A_AWS_CTX *ctx, const char *change_id,
                           char **out_status) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* SQS (AWS JSON 1.0)                                                  */
/* ------------------------------------------------------------------ */

h2a_err h2a_sqs_get_queue_url(H2A_AWS_CTX *ctx, const char *region, const char *queue_name,
                              const char *owner_account, char **out_url) H2A_MUST_USE;
struct h2a_sqs_receive {
    int max_messages;       /* 1..10 */
    int wait_seconds;       /* long poll, 0..20 */
    int visibility_timeout; /* 0: the queue's */
};
/* ReceiveMessage: *out is an array of {MessageId, ReceiptHandle, Body, ...} (maybe empty). */
h2a_err h2a_sqs_receive_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                                const struct h2a_sqs_receive *in,
                                json_object **out) H2A_MUST_USE;
h2a_err h2a_sqs_change_message_visibility(H2A_AWS_CTX *ctx, const char *region,
                                          const char *queue_url, const char *receipt_handle,
                                          int visibility_timeout) H2A_MUST_USE;
h2a_err h2a_sqs_delete_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                               const char *receipt_handle) H2A_MUST_USE;
h2a_err h2a_sqs_send_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                             const char *body, int delay_seconds,
                             char **out_message_id) H2A_MUST_USE;
