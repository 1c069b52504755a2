/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * hsm2acm's own configuration file (--config FILE or HSM2ACM_CONFIG).
 * Loading is strict: unknown keys are refused naming the key, and every bad
 * value names its key path ("issuers.ops-ca.timeout_seconds"), exit code 2.
 * Relative paths in the file are taken relative to the file's directory.
 * The file holds no secrets: the PIN comes through the token URI's
 * pin-source, AWS keys through the AWS credential chain.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "aws/h2a_aws.h"
#include "h2a_common.h"

typedef enum {
    H2A_ISSUER_COMMAND = 1,
    H2A_ISSUER_LOCAL = 2,
    H2A_ISSUER_ACM_PCA = 3,
    H2A_ISSUER_ACME = 4,
} h2a_issuer_type;

typedef enum {
    H2A_ACME_CH_NONE = 1,     /* authorizations already valid (ACM's pre-approved domains) */
    H2A_ACME_CH_HTTP_LISTEN,  /* http-01, built-in responder */
    H2A_ACME_CH_HTTP_WEBROOT, /* http-01, files under a webroot */
    H2A_ACME_CH_DNS_ROUTE53,  /* dns-01 through Route 53 */
    H2A_ACME_CH_DNS_ARGV,     /* dns-01 through a hook */
} h2a_acme_challenge;

/* issuers.<name> of type acme (RFC 8555). Paths are absolute. */
typedef struct {
    char *directory_url;
    char *account_label;
    h2a_keytype account_type;
    char **contact; /* NULL-terminated */
    size_t n_contact;
    bool tos_agreed;
    char *eab_kid;      /* NULL: no EAB */
    char *eab_key_file;
    h2a_acme_challenge challenge;
    char *listen_host;  /* http-01 responder: IP literal */
    int listen_port;
    char *webroot;
    char *zone_id;      /* dns-01 Route 53: one of zone_id, zone_name */
    char *zone_name;
    char **hook_argv;   /* dns-01 hook */
    size_t hook_argc;
    char *ca_bundle;
    char *preferred_chain;
    char *trust_anchors;
} h2a_acme_conf;

typedef struct {
    char *name;
    h2a_issuer_type type;
    /* command */
    char **argv; /* NULL-terminated; argv[0] an absolute path */
    size_t argc;
    long long timeout_seconds;
    /* local: a CA whose keys live in the token */
    char *key_label;  /* CA keys are "<key_label>-rsa" and "<key_label>-ec" */
    char *subject;
    long long validity_days; /* local, acm-pca */
    h2a_acme_conf *acme;     /* acme */
    /* acm-pca: region, account and partition come from the CA ARN */
    char *ca_arn;
    char *template_arn;      /* default: EndEntityCertificate/V1 in the CA's partition */
    char *signing_algorithm; /* "auto" or SHA256WITHRSA, SHA384WITHECDSA, ... */
    char *role_arn;          /* NULL: the caller's credentials (a shared CA) */
    char pca_partition[16];
    char pca_region[40];
    char pca_account[16];
} h2a_issuer_conf;

typedef struct {
    char *region;
    char *profile;
    char *credentials_file;
    char *role_name;   /* assumed in target accounts */
    char *external_id;
    char *ca_bundle;
    long long max_attempts; /* 0: AWS default / environment */
    long long timeout_seconds; /* per attempt; 0: the AWS layer's default */
    /* aws.endpoints.<service>, any service of the AWS layer's table. */
    char *endpoints[H2A_AWS_SVC__COUNT];
} h2a_aws_conf;

/*
 * The "scope" object: what `discover` walks (docs/inventory.md). Absent:
 * the caller's own account in aws.region.
 */
typedef struct {
    bool organization;          /* type "organization" (else "account") */
    bool all_regions;           /* regions ["all"] */
    char **regions;             /* NULL-terminated; empty with all_regions */
    size_t n_regions;
    char *role_name;            /* NULL: the caller's credentials (account type) */
    char *external_id;
    char *management_role_arn;  /* assumed to call ListAccounts */
    char **include;             /* 12-digit account ids */
    size_t n_include;
    char **exclude;
    size_t n_exclude;
    char **statuses;            /* ListCertificates CertificateStatuses */
    size_t n_statuses;
    long long expired_within_days; /* EXPIRED ones older than this are left out */
} h2a_scope_conf;

typedef struct h2a_config {
    char *path;
    char *token;
    char *wrap_key;
    char *state_dir;
    char *policy; /* NULL: built-in default */
    bool trusted_wrap;
    h2a_issuer_conf *issuers;
    size_t n_issuers;
    h2a_aws_conf aws;
    h2a_scope_conf scope;
    struct {
        char *prefix;
        char *kms_key_id; /* NULL: aws/secretsmanager */
        long long ttl_seconds;
    } staging;
    struct {
        char *file; /* default <state_dir>/audit.log */
        bool syslog;
    } audit;
} h2a_config;

/* Limits shared with the request parser and the staging code. */
#define H2A_STAGING_PREFIX_MAX 256

/*
 * Load and validate. `path` NULL means $HSM2ACM_CONFIG; neither → usage
 * error. On success *out is freed with h2a_config_free().
 */
h2a_err h2a_config_load(const char *path, h2a_config **out) H2A_MUST_USE;
/* Same from JSON text (tests); `base_dir` resolves relative paths. */
h2a_err h2a_config_parse(const char *text, size_t len, const char *base_dir,
                         h2a_config **out) H2A_MUST_USE;
void h2a_config_free(h2a_config *c);

/* A relative path in the configuration, made absolute against its directory. */
h2a_err h2a_config_resolve(const char *field, const char *base_dir, char **p) H2A_MUST_USE;
/* issuers.<name> of type acme (agent/config/acme_conf.c). */
h2a_err h2a_config_acme(json_object *o, const char *path, const char *base_dir,
                        h2a_issuer_conf *is) H2A_MUST_USE;
void h2a_config_acme_free(h2a_acme_conf *a);

/*
 * The AWS layer's settings from the "aws" object (pointers into `c`, which
 * must outlive `out`); enroll and the aws/acm commands share one mapping.
 */
void h2a_config_aws(const h2a_aws_conf *c, struct h2a_aws_config *out);

/* The "scope" object of `top` into *s (defaults when absent); frees with the config. */
h2a_err h2a_config_scope(json_object *top, const char *default_region,
                         h2a_scope_conf *s) H2A_MUST_USE;
void h2a_config_scope_free(h2a_scope_conf *s);
/* A region name AWS has (commercial, China, GovCloud), not just a well-formed one. */
bool h2a_config_region_known(const char *region);

/* Issuer by name, NULL if none. */
const h2a_issuer_conf *h2a_config_issuer(const h2a_config *c, const char *name);
