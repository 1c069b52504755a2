/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Internals shared by the policies/ sources; nothing outside includes this. */

#include <json-c/json.h>

#include "h2a_policy.h"

/* An owned list of strings. */
struct h2a_strlist {
    char **v;
    size_t n;
};

struct h2a_policy_auth {
    char *requester;
    struct h2a_strlist dns_suffixes; /* lower case; {"*"} = any */
    struct h2a_strlist accounts;     /* 12 digits; {"*"} = any */
};

/* Digest bits in h2a_policy.digests. */
#define H2A_POL_MD_SHA256 0x1u
#define H2A_POL_MD_SHA384 0x2u
#define H2A_POL_MD_SHA512 0x4u

struct h2a_policy {
    char *origin;
    int version;
    bool key_alg[H2A_KT__COUNT];
    int min_rsa_bits;
    unsigned digests;
    struct h2a_strlist san_dns_suffixes; /* lower case; empty = any */
    bool allow_wildcards;
    bool allow_ip;
    size_t max_names;
    bool has_authorization;
    struct h2a_policy_auth *auth;
    size_t n_auth;
    h2a_on_incompatible on_incompatible;
    bool csr_ku_set; /* csr.key_usage given: apply it, else the default */
    unsigned csr_ku;
    unsigned csr_eku;
    h2a_policy_lifecycle life; /* "renewal" and "keys" (lifecycle.c) */
};

/* JSON helpers of the loader (policy.c), shared with lifecycle.c. */
h2a_err h2a_pol_want(const char *key, json_object *v, json_type t, const char *what) H2A_MUST_USE;
/* `obj` may hold only the keys in `known` (NULL-terminated). */
h2a_err h2a_pol_known_keys(const char *where, json_object *obj,
                           const char *const *known) H2A_MUST_USE;
h2a_err h2a_pol_get_bool(const char *key, json_object *v, bool *out) H2A_MUST_USE;
h2a_err h2a_pol_get_int(const char *key, json_object *v, int64_t lo, int64_t hi,
                        int64_t *out) H2A_MUST_USE;
/* The "renewal" and "keys" sections of the root object, when present. */
h2a_err h2a_pol_parse_lifecycle(H2A_POLICY *p, json_object *root) H2A_MUST_USE;

/* The allowed key types' encipherment bits (RFC 5480 s3: never for ECDSA). */
#define H2A_KU_RSA_ONLY (H2A_KU_KEY_ENCIPHERMENT | H2A_KU_DATA_ENCIPHERMENT)
#define H2A_KU_EC_ONLY (H2A_KU_KEY_AGREEMENT)

void h2a_strlist_free(struct h2a_strlist *l);
/* The same for a (char **, size_t) pair kept outside a strlist (public structs). */
void h2a_strv_release(char ***v, size_t *n);
h2a_err h2a_strlist_push(struct h2a_strlist *l, const char *s) H2A_MUST_USE;
bool h2a_strlist_has_ci(const struct h2a_strlist *l, const char *s);
/* Sort by strcmp (the C locale: stable across machines). */
void h2a_strlist_sort(struct h2a_strlist *l);

/*
 * DNS name syntax (LDH labels 1..63, <= 253, no trailing dot, '*' only as
 * the whole leftmost label with at least two labels after it when
 * `wildcard_ok`). H2A_ERR_INPUT naming `field`.
 */
h2a_err h2a_pol_dns_syntax(const char *field, const char *name,
                           bool wildcard_ok) H2A_MUST_USE;
/* `name` (wildcard label stripped) equals `suffix` or ends in ".suffix". */
bool h2a_pol_dns_under(const char *name, const char *suffix);

/* KU bits that make sense for a key type (the csr.key_usage filter). */
unsigned h2a_pol_ku_for_keytype(unsigned ku, h2a_keytype kt);

/* CloudFront accepts this key type (RSA up to 4096, EC P-256). */
bool h2a_pol_cloudfront_keytype(h2a_keytype kt);

