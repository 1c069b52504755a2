/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The request checks: key type, digest, SANs, authorization and target
 * rules. All pure, run before the token is touched.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/obj_mac.h>

#include "policy_internal.h"

#define S_DNS_NAME_MAX 253
#define S_DNS_LABEL_MAX 63

/* ------------------------------------------------------------------ */
/* DNS names                                                           */
/* ------------------------------------------------------------------ */

static h2a_err s_label_check(const char *field, const char *name, const char *l,
                             size_t len)
{
    if (len == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' has an empty label", field, name);
    }
    if (len > S_DNS_LABEL_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' has a label of %zu bytes (at most %d)",
                           field, name, len, S_DNS_LABEL_MAX);
    }
    if (l[0] == '-' || l[len - 1] == '-') {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%s': label '%.*s' starts or ends with a hyphen", field,
                           name, (int)len, l);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)l[i];

        if (!isascii(c) || (!isalnum(c) && c != '-')) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: '%s': label '%.*s' is not letters, digits and "
                               "hyphens (LDH)",
                               field, name, (int)len, l);
        }
    }
    return H2A_OK;
}

h2a_err h2a_pol_dns_syntax(const char *field, const char *name, bool wildcard_ok)
{
    const char *p;
    size_t len;
    size_t labels = 0;

    if (name == NULL || name[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty DNS name", field);
    }
    len = strlen(name);
    if (len > S_DNS_NAME_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: DNS name of %zu bytes (at most %d)", field,
                           len, S_DNS_NAME_MAX);
    }
    if (name[len - 1] == '.') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' ends with a dot", field, name);
    }
    p = name;
    if (name[0] == '*') {
        if (!wildcard_ok) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: '%s': a wildcard is not allowed here",
                               field, name);
        }
        if (name[1] != '.') {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: '%s': '*' must be the whole leftmost label", field,
                               name);
        }
        p = name + 2;
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (memchr(p, '*', l) != NULL) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: '%s': '*' must be the whole leftmost label", field,
                               name);
        }
        H2A_GUARD(s_label_check(field, name, p, l));
        labels++;
        if (dot == NULL) {
            break;
        }
        p = dot + 1;
    }
    if (name[0] == '*' && labels < 2) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%s': a wildcard must be followed by at least two labels",
                           field, name);
    }
    return H2A_OK;
}

bool h2a_pol_dns_under(const char *name, const char *suffix)
{
    size_t n;
    size_t s = strlen(suffix);

    if (name[0] == '*' && name[1] == '.') {
        name += 2;
    }
    n = strlen(name);
    if (n == s) {
        return strcasecmp(name, suffix) == 0;
    }
    return n > s && name[n - s - 1] == '.' && strcasecmp(name + n - s, suffix) == 0;
}

/* ------------------------------------------------------------------ */
/* Key type and digest                                                 */
/* ------------------------------------------------------------------ */

h2a_err h2a_policy_check_keytype(const H2A_POLICY *p, h2a_keytype kt)
{
    const char *name = h2a_keytype_acm_name(kt);

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    H2A_ENSURE(name != NULL, H2A_ERR_INPUT, "key type: none given");
    if (h2a_keytype_is_rsa(kt) && h2a_keytype_bits(kt) < p->min_rsa_bits) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.min_rsa_bits is %d: %s is refused (policy %s)",
                           p->min_rsa_bits, name, p->origin);
    }
    if (!p->key_alg[kt]) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.key_algorithms does not allow %s (policy %s)", name,
                           p->origin);
    }
    return H2A_OK;
}

h2a_err h2a_policy_check_digest(const H2A_POLICY *p, int md_nid)
{
    unsigned bit;
    const char *name;

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    switch (md_nid) {
    case NID_sha256:
        bit = H2A_POL_MD_SHA256;
        name = "sha256";
        break;
    case NID_sha384:
        bit = H2A_POL_MD_SHA384;
        name = "sha384";
        break;
    case NID_sha512:
        bit = H2A_POL_MD_SHA512;
        name = "sha512";
        break;
    default:
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.digests: digest '%s' is never allowed (sha256, sha384, "
                           "sha512 only)",
                           md_nid != 0 ? OBJ_nid2sn(md_nid) : "none");
    }
    if ((p->digests & bit) == 0) {
        return h2a_err_set(H2A_ERR_POLICY, "policy.digests does not allow %s (policy %s)",
                           name, p->origin);
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Requested KeyUsage / EKU                                            */
/* ------------------------------------------------------------------ */

h2a_err h2a_policy_check_usage(const H2A_POLICY *p, h2a_keytype kt, unsigned ku, unsigned eku)
{
    const char *name = h2a_keytype_acm_name(kt);
    unsigned bad;

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    H2A_ENSURE(name != NULL, H2A_ERR_INPUT, "key type: none given");
    bad = ku & (H2A_KU_CERTIFICATE_SIGNING | H2A_KU_CRL_SIGNING | H2A_KU_ANY | H2A_KU_CUSTOM);
    if (bad != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy: KeyUsage %s is refused: a certificate for ACM is a TLS "
                           "leaf, never a CA",
                           h2a_ku_acm_name(bad & -bad));
    }
    bad = ku & (H2A_KU_ENCIPHER_ONLY | H2A_KU_DECIPHER_ONLY);
    if (bad != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy: KeyUsage %s is refused: it qualifies a key agreement "
                           "a TLS certificate for ACM never makes (RFC 5280 4.2.1.3)",
                           h2a_ku_acm_name(bad & -bad));
    }
    bad = ku & ~h2a_pol_ku_for_keytype(ku, kt);
    if (bad != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy: KeyUsage %s does not fit a %s key (RFC 5480: "
                           "encipherment for RSA only, key agreement for EC only)",
                           h2a_ku_acm_name(bad & -bad), name);
    }
    bad = eku & (H2A_EKU_ANY | H2A_EKU_CUSTOM);
    if (bad != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy: ExtendedKeyUsage %s cannot be requested",
                           h2a_eku_acm_name(bad & -bad));
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* SANs                                                                */
/* ------------------------------------------------------------------ */

static bool s_suffix_ok(const struct h2a_strlist *l, const char *name)
{
    if (l->n == 0) {
        return true;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], "*") == 0 || h2a_pol_dns_under(name, l->v[i])) {
            return true;
        }
    }
    return false;
}

static h2a_err s_ip_syntax(const char *field, const char *ip)
{
    unsigned char bin[16];

    if (ip == NULL || ip[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty IP address", field);
    }
    if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' is not an IPv4 or IPv6 address", field,
                           ip);
    }
    return H2A_OK;
}

h2a_err h2a_policy_check_names(const H2A_POLICY *p, const char *const *dns, size_t ndns,
                               const char *const *ips, size_t nip)
{
    char field[32];

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    /* Syntax first: a malformed name is bad input whatever the policy says. */
    for (size_t i = 0; i < ndns; i++) {
        snprintf(field, sizeof(field), "dns[%zu]", i);
        H2A_GUARD(h2a_pol_dns_syntax(field, dns[i], true));
        for (size_t j = 0; j < i; j++) {
            H2A_ENSURE(strcasecmp(dns[i], dns[j]) != 0, H2A_ERR_INPUT,
                       "%s: '%s' repeats dns[%zu]", field, dns[i], j);
        }
    }
    for (size_t i = 0; i < nip; i++) {
        snprintf(field, sizeof(field), "ip[%zu]", i);
        H2A_GUARD(s_ip_syntax(field, ips[i]));
        for (size_t j = 0; j < i; j++) {
            H2A_ENSURE(strcasecmp(ips[i], ips[j]) != 0, H2A_ERR_INPUT,
                       "%s: '%s' repeats ip[%zu]", field, ips[i], j);
        }
    }
    if (ndns + nip > p->max_names) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.san.max_names is %zu: the request has %zu names",
                           p->max_names, ndns + nip);
    }
    if (nip > 0 && !p->allow_ip) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.san.allow_ip is false: ip[0] '%s' is refused", ips[0]);
    }
    for (size_t i = 0; i < ndns; i++) {
        if (dns[i][0] == '*' && !p->allow_wildcards) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "policy.san.allow_wildcards is false: dns[%zu] '%s' is "
                               "refused",
                               i, dns[i]);
        }
        if (!s_suffix_ok(&p->san_dns_suffixes, dns[i])) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "policy.san.dns_suffixes does not allow dns[%zu] '%s'", i,
                               dns[i]);
        }
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Authorization                                                       */
/* ------------------------------------------------------------------ */

h2a_err h2a_policy_check_authorization(const H2A_POLICY *p, const char *requester,
                                       const char *const *dns, size_t ndns,
                                       const char *account_id)
{
    const struct h2a_policy_auth *a = NULL;

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    if (!p->has_authorization) {
        return H2A_OK;
    }
    H2A_ENSURE(requester != NULL && requester[0] != '\0', H2A_ERR_INPUT,
               "requester: missing, and policy.authorization says who may ask");
    for (size_t i = 0; i < p->n_auth; i++) {
        if (strcmp(p->auth[i].requester, requester) == 0) {
            a = &p->auth[i];
            break;
        }
    }
    if (a == NULL) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.authorization does not list requester '%s'", requester);
    }
    for (size_t i = 0; i < ndns; i++) {
        H2A_ENSURE(dns[i] != NULL, H2A_ERR_INPUT, "dns[%zu]: missing", i);
        if (!s_suffix_ok(&a->dns_suffixes, dns[i])) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "policy.authorization.%s.dns_suffixes does not allow "
                               "dns[%zu] '%s'",
                               requester, i, dns[i]);
        }
    }
    if (a->accounts.n == 1 && strcmp(a->accounts.v[0], "*") == 0) {
        return H2A_OK;
    }
    if (account_id == NULL || account_id[0] == '\0') {
        return h2a_err_set(H2A_ERR_POLICY,
                           "policy.authorization.%s.accounts lists accounts, and the "
                           "target account is not known",
                           requester);
    }
    for (size_t i = 0; i < a->accounts.n; i++) {
        if (strcmp(a->accounts.v[i], account_id) == 0) {
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_POLICY,
                       "policy.authorization.%s.accounts does not allow account %s",
                       requester, account_id);
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */
/* ------------------------------------------------------------------ */

/* CloudFront viewer certificates: us-east-1; RSA up to 4096 or P-256 (facts s8). */
#define S_CLOUDFRONT_REGION "us-east-1"

bool h2a_pol_cloudfront_keytype(h2a_keytype kt)
{
    return h2a_keytype_is_rsa(kt) || kt == H2A_KT_EC_P256;
}

static bool s_region_ok(const char *r)
{
    size_t len = strlen(r);

    if (len == 0 || len > 32) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)r[i];

        if (!(islower(c) || isdigit(c) || c == '-') || !isascii(c)) {
            return false;
        }
    }
    return true;
}

h2a_err h2a_policy_check_target(const H2A_POLICY *p, h2a_keytype kt, const char *region,
                                const char *service_hint)
{
    const char *name = h2a_keytype_acm_name(kt);

    (void)p;
    H2A_ENSURE(name != NULL, H2A_ERR_INPUT, "key type: none given");
    H2A_ENSURE(region != NULL && region[0] != '\0', H2A_ERR_INPUT, "region: missing");
    H2A_ENSURE(s_region_ok(region), H2A_ERR_INPUT,
               "region: '%s' is not an AWS region name (like eu-west-1)", region);
    if (service_hint == NULL || strcmp(service_hint, "elb") == 0) {
        return H2A_OK;
    }
    if (strcmp(service_hint, "cloudfront") != 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "service hint: '%s' is unknown (expected cloudfront or elb)",
                           service_hint);
    }
    if (strcmp(region, S_CLOUDFRONT_REGION) != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "target rule cloudfront: the certificate must be in region "
                           "us-east-1, not %s",
                           region);
    }
    if (!h2a_pol_cloudfront_keytype(kt)) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "target rule cloudfront: key %s is not accepted (RSA_2048, "
                           "RSA_3072, RSA_4096 or EC_prime256v1)",
                           name);
    }
    return H2A_OK;
}
