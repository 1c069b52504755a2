/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Policy: what hsm2acm is allowed to make and where it may deliver it.
 *
 * Three parts, all pure (no token, no network), so every rule is unit
 * tested and a refusal always happens before anything is made:
 *
 *  1. H2A_POLICY, loaded from a JSON file (docs/policy.md) or the safe
 *     built-in default: key algorithms, RSA size, digests, SAN rules,
 *     authorization (requester -> DNS suffixes, AWS accounts), what to do
 *     on an incompatible reimport, and the KeyUsage/EKU a CSR asks for.
 *  2. Fixed target rules (CloudFront: us-east-1, RSA or P-256).
 *  3. ACM reimport compatibility over plain data (h2a_cert_usage), so the
 *     rules are checked against DescribeCertificate output before a key
 *     exists, and against the issued certificate before any import.
 *
 * Error convention: a request that breaks a rule gives H2A_ERR_POLICY with
 * a message naming the rule and the value ("policy.key_algorithms does not
 * allow EC_secp521r1"); malformed input (bad DNS name, bad IP, bad policy
 * file) gives H2A_ERR_INPUT naming the field. The message is set with
 * h2a_err_set(); callers add context with h2a_err_prefix().
 *
 * Thread safety: a loaded H2A_POLICY is immutable; any number of threads
 * may call the check functions on it at once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "h2a_common.h"

/* A policy file larger than this is refused (H2A_ERR_INPUT). */
#define H2A_POLICY_MAX_FILE_BYTES (1024u * 1024u)

typedef struct h2a_policy H2A_POLICY;

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/*
 * Load the policy at `path`, or the built-in default when `path` is NULL.
 * Every key is validated: unknown keys (typos must never weaken a policy),
 * wrong types, unknown or refused algorithm names (RSA_1024), empty lists,
 * self-contradictions, bad DNS suffixes, account ids that are not 12
 * digits, duplicate keys, files over H2A_POLICY_MAX_FILE_BYTES, files every
 * user may write (anyone could weaken them). Each gives H2A_ERR_INPUT
 * with "policy FILE: KEY.PATH: what was expected". On success `*out` is a
 * new policy the caller frees with h2a_policy_free(); on failure it is NULL.
 */
H2A_API h2a_err h2a_policy_load(const char *path, H2A_POLICY **out) H2A_MUST_USE;
/* Same, from JSON text in memory; `origin` names it in messages. */
H2A_API h2a_err h2a_policy_parse(const char *json, size_t len, const char *origin,
                                 H2A_POLICY **out) H2A_MUST_USE;
/* NULL-safe. */
H2A_API void h2a_policy_free(H2A_POLICY *p);

/*
 * RFC 8259 strictness json-c lacks, on text json-c has parsed: duplicate
 * keys (named with their path, "san.allow_ip", "targets[0].region"), single
 * quotes, raw control characters and \u0000 in strings. H2A_ERR_INPUT with
 * `*err_off` at the offending byte. The one checker: policies,
 * configurations and requests all go through it.
 */
H2A_API h2a_err h2a_policy_json_strict(const char *json, size_t len,
                                       size_t *err_off) H2A_MUST_USE;

/* "built-in default" or the file path given to h2a_policy_load(). */
H2A_API const char *h2a_policy_origin(const H2A_POLICY *p);

/*
 * Stable, line-oriented text form (`hsm2acm policy show`): one fact per
 * line, "key = value", keys sorted, list values sorted, so a policy change
 * is a readable diff. Appends to `out` (initialised by the caller) and
 * NUL-terminates it.
 */
H2A_API h2a_err h2a_policy_render(const H2A_POLICY *p, h2a_buf *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Request checks (all before the token is touched)                    */
/* ------------------------------------------------------------------ */

/* Key type allowed by key_algorithms and min_rsa_bits? H2A_ERR_POLICY if not. */
H2A_API h2a_err h2a_policy_check_keytype(const H2A_POLICY *p, h2a_keytype kt) H2A_MUST_USE;

/*
 * Digest (NID_sha256/384/512) allowed by `digests`? H2A_ERR_POLICY if not
 * (also for any digest hsm2acm does not know, e.g. NID_sha1).
 */
H2A_API h2a_err h2a_policy_check_digest(const H2A_POLICY *p, int md_nid) H2A_MUST_USE;

/*
 * SAN rules. `dns` are every DNS name that will be in the certificate (SANs,
 * and the CN when it is a DNS name); `ips` are IP SANs in text form.
 * Syntax (H2A_ERR_INPUT, "dns[2]: ..."): LDH labels of 1..63 bytes, name at
 * most 253, no empty label or trailing dot, '*' only as the whole leftmost
 * label followed by at least two labels; IPv4/IPv6 literals; no duplicates.
 * Rules (H2A_ERR_POLICY): san.max_names, san.allow_wildcards, san.allow_ip,
 * san.dns_suffixes (a name matches suffix S when it equals S or ends in
 * ".S"; case-insensitive). Zero names are accepted here (a CN-only CSR);
 * enrollment requires a DNS name separately.
 */
H2A_API h2a_err h2a_policy_check_names(const H2A_POLICY *p, const char *const *dns,
                                       size_t ndns, const char *const *ips,
                                       size_t nip) H2A_MUST_USE;

/*
 * Authorization (enrollment). Without an `authorization` section anyone may
 * ask for anything the other rules allow. With one, `requester` must be
 * listed, every DNS name must match one of its dns_suffixes, and
 * `account_id` (the 12-digit account the target lands in: the target's
 * account, or the caller identity's account when the target names none)
 * must be in its accounts. "*" in either list means any. A NULL
 * `account_id` passes only where accounts is ["*"]. H2A_ERR_POLICY naming
 * the requester and the name/account; H2A_ERR_INPUT for a NULL/empty
 * requester when authorization is configured.
 */
H2A_API h2a_err h2a_policy_check_authorization(const H2A_POLICY *p, const char *requester,
                                               const char *const *dns, size_t ndns,
                                               const char *account_id) H2A_MUST_USE;

/*
 * Every name a certificate carries: DNS and IP SANs and the subject CN.
 * The CN is a name like any SAN (ACM shows it as the DomainName; old
 * clients trust it), so it must be a DNS name or an IP address, there is
 * at most one, and a CN that is not among the SANs is ADDED to them (last
 * in `dns` or `ip`; `cn_added`): the CSR asks for it as a SAN and every
 * rule checks it. IPs are kept in inet_ntop form. Zero-initialised by the
 * builders; release with h2a_cert_names_cleanup().
 */
typedef struct h2a_cert_names {
    char **dns;
    size_t ndns;
    char **ip;
    size_t nip;
    char *cn;      /* the subject CN, NULL without one */
    bool cn_is_ip; /* the CN is an IP literal */
    bool cn_added; /* the CN was not among the SANs: it is the last of dns / ip */
} h2a_cert_names;

/*
 * From a request: `subject` (NULL: none), its dns[] and ip[] (syntax is
 * checked later, by h2a_policy_check_cert_names). H2A_ERR_INPUT for a
 * second CN or a CN that is no name, naming "subject".
 */
H2A_API h2a_err h2a_cert_names_from_request(const X509_NAME *subject,
                                            const char *const *dns, size_t ndns,
                                            const char *const *ip, size_t nip,
                                            h2a_cert_names *out) H2A_MUST_USE;
/*
 * From an issued certificate: every SAN (a SAN that is neither DNS nor IP,
 * such as an e-mail or URI, is refused: no rule checks it) and the CN.
 * H2A_ERR_INPUT naming the certificate part.
 */
H2A_API h2a_err h2a_cert_names_from_x509(X509 *cert, h2a_cert_names *out) H2A_MUST_USE;
/* NULL-safe, idempotent. */
H2A_API void h2a_cert_names_cleanup(h2a_cert_names *n);

/*
 * h2a_policy_check_names over every name, the added CN included; a
 * refusal of the CN names "subject CN".
 */
H2A_API h2a_err h2a_policy_check_cert_names(const H2A_POLICY *p,
                                            const h2a_cert_names *n) H2A_MUST_USE;
/* h2a_policy_check_authorization over every DNS name, the added CN included. */
H2A_API h2a_err h2a_policy_check_cert_authorization(const H2A_POLICY *p,
                                                    const char *requester,
                                                    const h2a_cert_names *n,
                                                    const char *account_id) H2A_MUST_USE;
/*
 * Every name of `got` (an issued certificate) is among `asked` (what the
 * request asked for): H2A_ERR_POLICY naming the first extra name.
 */
H2A_API h2a_err h2a_cert_names_within(const h2a_cert_names *got,
                                      const h2a_cert_names *asked) H2A_MUST_USE;

/*
 * Target rules. `service_hint` NULL (none), "elb" (every key type we make,
 * any region) or "cloudfront" (region must be us-east-1; key RSA_2048,
 * RSA_3072, RSA_4096 or EC_prime256v1). Unknown hint or empty region:
 * H2A_ERR_INPUT. A rule break: H2A_ERR_POLICY. `p` may be NULL (the rules
 * are fixed facts about AWS, not policy settings).
 */
H2A_API h2a_err h2a_policy_check_target(const H2A_POLICY *p, h2a_keytype kt,
                                        const char *region,
                                        const char *service_hint) H2A_MUST_USE;

/*
 * KeyUsage / EKU bits a CSR for `kt` asks for (e.g. from --key-usage), when
 * they differ from the policy's csr defaults. Refused (H2A_ERR_POLICY):
 * CERTIFICATE_SIGNING and CRL_SIGNING (what ACM serves is a TLS leaf, never
 * a CA), KEY_ENCIPHERMENT / DATA_ENCIPHERMENT on an EC key (RFC 5480 s3),
 * KEY_AGREEMENT on an RSA key, ENCIPHER_ONLY / DECIPHER_ONLY (they qualify
 * a key agreement no TLS leaf for ACM does; ACM's ImportCertificate
 * refuses them), and the ACM-only ANY / CUSTOM bits. The one usage check:
 * `csr` and enrollment (new imports and reimports) call it on the usages
 * the CSR will carry, before the token is touched.
 */
H2A_API h2a_err h2a_policy_check_usage(const H2A_POLICY *p, h2a_keytype kt, unsigned ku,
                                       unsigned eku) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

typedef enum {
    H2A_ON_INCOMPATIBLE_REFUSE = 0, /* default: exit 3, nothing imported */
    H2A_ON_INCOMPATIBLE_NEW_ARN,    /* import under a new ARN instead */
} h2a_on_incompatible;

H2A_API h2a_on_incompatible h2a_policy_on_incompatible(const H2A_POLICY *p);
H2A_API size_t h2a_policy_max_names(const H2A_POLICY *p);

/*
 * KeyUsage / ExtendedKeyUsage a CSR for `kt` asks for (H2A_KU_* / H2A_EKU_*
 * bits, which h2a_csr_req in h2a_keygen.h takes as they are). From `csr.key_usage` / `csr.extended_key_usage`; defaults:
 * DIGITAL_SIGNATURE, plus KEY_ENCIPHERMENT for RSA keys; and
 * TLS_WEB_SERVER_AUTHENTICATION. KEY_ENCIPHERMENT and DATA_ENCIPHERMENT
 * apply to RSA keys only (RFC 5480 section 3 forbids them for ECDSA keys)
 * and are left out for EC keys; KEY_AGREEMENT applies to EC keys only.
 */
H2A_API unsigned h2a_policy_csr_key_usage(const H2A_POLICY *p, h2a_keytype kt);
H2A_API unsigned h2a_policy_csr_ext_key_usage(const H2A_POLICY *p);

/*
 * KeyUsage / ExtendedKeyUsage bits and their ACM names (H2A_KU_*, H2A_EKU_*,
 * h2a_ku_acm_name, h2a_ku_from_acm_name, h2a_ku_render_acm, ...) are in
 * h2a_common.h: requests, CSRs and this library share one vocabulary.
 */

/* ------------------------------------------------------------------ */
/* ACM reimport compatibility                                          */
/* ------------------------------------------------------------------ */

/*
 * What reimport compares, for the CURRENT certificate at an ARN (filled
 * from DescribeCertificate) and for the NEW one (from an X509 or from a
 * request). Zero-initialise, fill with the setters, release with
 * h2a_cert_usage_cleanup(). The struct owns its strings.
 */
typedef struct h2a_cert_usage {
    char *type;          /* DescribeCertificate Type ("IMPORTED"); NULL for a new certificate */
    char *key_algorithm; /* ACM KeyAlgorithm name ("RSA_2048", may be "RSA_1024") */
    bool has_ku;         /* the KeyUsage extension is present */
    unsigned ku;         /* H2A_KU_* */
    bool has_eku;        /* the ExtendedKeyUsage extension is present */
    unsigned eku;        /* H2A_EKU_* */
    char **custom_eku_oids; /* dotted OIDs behind H2A_EKU_CUSTOM, when known */
    size_t n_custom_eku_oids;
    char **names; /* domain names: DomainName + SubjectAlternativeNames, or SAN DNS + CN */
    size_t n_names;
} h2a_cert_usage;

/* Copy `type` / `key_algorithm` (either may be NULL = leave as is). */
H2A_API h2a_err h2a_cert_usage_set(h2a_cert_usage *u, const char *type,
                                   const char *key_algorithm) H2A_MUST_USE;
/* Add a KeyUsages[].Name value; sets has_ku. Unknown name: H2A_ERR_INPUT. */
H2A_API h2a_err h2a_cert_usage_add_ku(h2a_cert_usage *u, const char *acm_name) H2A_MUST_USE;
/*
 * Add an ExtendedKeyUsages[] entry (Name, and OID or NULL); sets has_eku
 * unless Name is "NONE". A CUSTOM entry records its OID. Unknown name:
 * H2A_ERR_INPUT.
 */
H2A_API h2a_err h2a_cert_usage_add_eku(h2a_cert_usage *u, const char *acm_name,
                                       const char *oid) H2A_MUST_USE;
/* Add a domain name (duplicates, case-insensitive, are kept once). */
H2A_API h2a_err h2a_cert_usage_add_name(h2a_cert_usage *u, const char *name) H2A_MUST_USE;
/* Free the owned strings and zero the struct; NULL-safe, idempotent. */
H2A_API void h2a_cert_usage_cleanup(h2a_cert_usage *u);

/*
 * From a certificate: key algorithm from its public key, KU bits -> ACM
 * names, EKU OIDs -> ACM names (unknown OIDs -> CUSTOM with the OID), DNS
 * SANs plus the subject CN. `out` must be zeroed; cleaned up on failure.
 * H2A_ERR_INPUT for a key type ACM/hsm2acm cannot use or a broken extension.
 */
H2A_API h2a_err h2a_cert_usage_from_x509(X509 *cert, h2a_cert_usage *out) H2A_MUST_USE;

/*
 * What a request will produce when the issuer grants what the CSR asks:
 * `kt`, the policy's csr KU/EKU for `kt`, and the DNS names. Lets enrollment
 * refuse an incompatible reimport before the token is touched.
 */
H2A_API h2a_err h2a_cert_usage_from_request(const H2A_POLICY *p, h2a_keytype kt,
                                            const char *const *dns, size_t ndns,
                                            h2a_cert_usage *out) H2A_MUST_USE;

/*
 * Pre-token check of the certificate at `arn` (for messages): Type must be
 * IMPORTED; its KeyAlgorithm must be one hsm2acm makes; `requested` must be
 * that type, or H2A_KT_NONE for `inherit`. `*out_kt` gets the ARN's key type
 * (the answer for `inherit`). H2A_ERR_POLICY naming the ARN and the value.
 */
H2A_API h2a_err h2a_reimport_check_describe(const char *arn, const h2a_cert_usage *current,
                                            h2a_keytype requested,
                                            h2a_keytype *out_kt) H2A_MUST_USE;

/*
 * ACM's reimport rules, CURRENT (at `arn`) vs NEW:
 *   - current Type IMPORTED (when set), key algorithm unchanged;
 *   - no KeyUsage value removed (ECDSA may drop KEY_ENCIPHERMENT);
 *   - no ExtendedKeyUsage value removed (TLS_WEB_CLIENT_AUTHENTICATION may be
 *     dropped); a current CUSTOM OID must stay;
 *   - no KeyUsage / ExtendedKeyUsage extension added where it was absent;
 *   - the new certificate has at least one domain name.
 * First violation: H2A_ERR_POLICY, e.g. "reimport into arn:...:
 * ExtendedKeyUsage TLS_WEB_SERVER_AUTHENTICATION would be removed".
 */
H2A_API h2a_err h2a_reimport_check_cert(const char *arn, const h2a_cert_usage *current,
                                        const h2a_cert_usage *next) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Renewal and key retention ("renewal" and "keys", docs/renew.md)     */
/* ------------------------------------------------------------------ */

typedef struct {
    int before_expiry_days;           /* -1: null (only the other rules) */
    double lifetime_fraction;         /* renew when this fraction of the lifetime remains */
    bool use_ari;                     /* an issuer's ARI window counts */
    int jitter_percent;               /* of the time from due to expiry, spread per cert */
    int min_remaining_for_rollback_days;
    int retain_generations;           /* keys kept per ARN, the current one included */
    int destroy_after_days;           /* a key beyond those goes after this long */
} h2a_policy_lifecycle;

H2A_API void h2a_policy_lifecycle_defaults(h2a_policy_lifecycle *l);
/* The policy's values (the defaults when p is NULL). */
H2A_API void h2a_policy_get_lifecycle(const H2A_POLICY *p, h2a_policy_lifecycle *out);
