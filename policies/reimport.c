/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * ACM's reimport rules (aws-api-facts s1 "Reimport rules"), as pure checks
 * over h2a_cert_usage so that they run on DescribeCertificate output before
 * any key exists and on the issued certificate before any import.
 */

#include <string.h>

#include "policy_internal.h"

static const char *s_arn(const char *arn)
{
    return arn != NULL && arn[0] != '\0' ? arn : "(certificate)";
}

h2a_err h2a_reimport_check_describe(const char *arn, const h2a_cert_usage *current,
                                    h2a_keytype requested, h2a_keytype *out_kt)
{
    h2a_keytype kt = H2A_KT_NONE;
    const char *want;

    *out_kt = H2A_KT_NONE;
    H2A_ENSURE(current != NULL, H2A_ERR_INTERNAL, "reimport: no description given");
    if (current->type == NULL) {
        return h2a_err_set(H2A_ERR_AWS,
                           "reimport into %s: DescribeCertificate gave no Type",
                           s_arn(arn));
    }
    if (strcmp(current->type, "IMPORTED") != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: certificate Type is %s; only IMPORTED "
                           "certificates can be reimported",
                           s_arn(arn), current->type);
    }
    if (current->key_algorithm == NULL) {
        return h2a_err_set(H2A_ERR_AWS,
                           "reimport into %s: DescribeCertificate gave no KeyAlgorithm",
                           s_arn(arn));
    }
    if (h2a_keytype_from_acm(current->key_algorithm, &kt) != H2A_OK) {
        h2a_err_clear();
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: its KeyAlgorithm %s is not one hsm2acm "
                           "makes, and a reimport must keep the key algorithm",
                           s_arn(arn), current->key_algorithm);
    }
    if (requested != H2A_KT_NONE && requested != kt) {
        want = h2a_keytype_acm_name(requested);
        H2A_ENSURE(want != NULL, H2A_ERR_INPUT, "key type: invalid");
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: key %s would change from %s to %s (ACM "
                           "keeps key type and size on reimport; use \"inherit\")",
                           s_arn(arn),
                           h2a_keytype_is_rsa(requested) == h2a_keytype_is_rsa(kt) ? "size"
                                                                                   : "type",
                           current->key_algorithm, want);
    }
    *out_kt = kt;
    return H2A_OK;
}

/* Names of `bits` for a message ("KEY_ENCIPHERMENT, DATA_ENCIPHERMENT"). */
static void s_names(unsigned bits, bool eku, char *out, size_t cap)
{
    size_t off = 0;

    out[0] = '\0';
    for (unsigned bit = 1; bit <= H2A_KU_CUSTOM; bit <<= 1) {
        const char *n = eku ? h2a_eku_acm_name(bit) : h2a_ku_acm_name(bit);
        int w;

        if ((bits & bit) == 0 || n == NULL || off >= cap) {
            continue;
        }
        w = snprintf(out + off, cap - off, "%s%s", off > 0 ? ", " : "", n);
        off += w > 0 ? (size_t)w : 0;
    }
}

static bool s_has_oid(const h2a_cert_usage *u, const char *oid)
{
    for (size_t i = 0; i < u->n_custom_eku_oids; i++) {
        if (strcmp(u->custom_eku_oids[i], oid) == 0) {
            return true;
        }
    }
    return false;
}

/* KeyUsage: values may be added, not removed; ECDSA may drop keyEncipherment. */
static h2a_err s_check_ku(const char *arn, const h2a_cert_usage *current,
                          const h2a_cert_usage *next, bool ec)
{
    char names[512];
    unsigned removed;

    if (!current->has_ku) {
        if (next->has_ku) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "reimport into %s: a KeyUsage extension would be added (the "
                               "certificate at the ARN has none)",
                               s_arn(arn));
        }
        return H2A_OK;
    }
    removed = current->ku & ~next->ku;
    if (ec) {
        removed &= ~H2A_KU_KEY_ENCIPHERMENT;
    }
    if (removed != 0) {
        s_names(removed, false, names, sizeof(names));
        return h2a_err_set(H2A_ERR_POLICY, "reimport into %s: KeyUsage %s would be removed",
                           s_arn(arn), names);
    }
    if (!next->has_ku) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: the KeyUsage extension would be removed",
                           s_arn(arn));
    }
    return H2A_OK;
}

/* ExtendedKeyUsage: likewise; clientAuth may be dropped (Chrome root program). */
static h2a_err s_check_eku(const char *arn, const h2a_cert_usage *current,
                           const h2a_cert_usage *next)
{
    char names[512];
    unsigned removed;

    if (!current->has_eku) {
        if (next->has_eku) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "reimport into %s: an ExtendedKeyUsage extension would be added "
                               "(the certificate at the ARN has none)",
                               s_arn(arn));
        }
        return H2A_OK;
    }
    removed = current->eku & ~next->eku & ~H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION;
    if (removed != 0) {
        s_names(removed, true, names, sizeof(names));
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: ExtendedKeyUsage %s would be removed",
                           s_arn(arn), names);
    }
    for (size_t i = 0; i < current->n_custom_eku_oids; i++) {
        if (!s_has_oid(next, current->custom_eku_oids[i])) {
            return h2a_err_set(H2A_ERR_POLICY,
                               "reimport into %s: ExtendedKeyUsage CUSTOM %s would be "
                               "removed",
                               s_arn(arn), current->custom_eku_oids[i]);
        }
    }
    if (!next->has_eku) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: the ExtendedKeyUsage extension would be "
                           "removed",
                           s_arn(arn));
    }
    return H2A_OK;
}

h2a_err h2a_reimport_check_cert(const char *arn, const h2a_cert_usage *current,
                                const h2a_cert_usage *next)
{
    H2A_ENSURE(current != NULL && next != NULL, H2A_ERR_INTERNAL,
               "reimport: certificate facts missing");
    if (current->type != NULL && strcmp(current->type, "IMPORTED") != 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: certificate Type is %s; only IMPORTED "
                           "certificates can be reimported",
                           s_arn(arn), current->type);
    }
    H2A_ENSURE(current->key_algorithm != NULL && next->key_algorithm != NULL,
               H2A_ERR_INTERNAL, "reimport into %s: key algorithm unknown", s_arn(arn));
    if (strcmp(current->key_algorithm, next->key_algorithm) != 0) {
        bool rsa_a = strncmp(current->key_algorithm, "RSA_", 4) == 0;
        bool rsa_b = strncmp(next->key_algorithm, "RSA_", 4) == 0;

        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: key %s would change from %s to %s", s_arn(arn),
                           rsa_a == rsa_b ? "size" : "type", current->key_algorithm,
                           next->key_algorithm);
    }
    if (next->n_names == 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "reimport into %s: the new certificate has no domain name (ACM "
                           "requires at least one)",
                           s_arn(arn));
    }
    H2A_GUARD(s_check_ku(arn, current, next, strncmp(current->key_algorithm, "EC_", 3) == 0));
    return s_check_eku(arn, current, next);
}
