/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * KeyUsage / ExtendedKeyUsage under ACM's names, and h2a_cert_usage: the
 * facts that ACM's reimport rules compare, from DescribeCertificate, from a
 * certificate, or from a request.
 */

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "policy_internal.h"

/* The name tables themselves live in common/usage.c. */

/* ------------------------------------------------------------------ */
/* h2a_cert_usage                                                      */
/* ------------------------------------------------------------------ */

void h2a_cert_usage_cleanup(h2a_cert_usage *u)
{
    if (u == NULL) {
        return;
    }
    OPENSSL_free(u->type);
    OPENSSL_free(u->key_algorithm);
    h2a_strv_release(&u->custom_eku_oids, &u->n_custom_eku_oids);
    h2a_strv_release(&u->names, &u->n_names);
    memset(u, 0, sizeof(*u));
}

static h2a_err s_set_str(char **dst, const char *src)
{
    char *copy;

    if (src == NULL) {
        return H2A_OK;
    }
    copy = OPENSSL_strdup(src);
    if (copy == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    OPENSSL_free(*dst);
    *dst = copy;
    return H2A_OK;
}

h2a_err h2a_cert_usage_set(h2a_cert_usage *u, const char *type, const char *key_algorithm)
{
    H2A_GUARD(s_set_str(&u->type, type));
    return s_set_str(&u->key_algorithm, key_algorithm);
}

h2a_err h2a_cert_usage_add_ku(h2a_cert_usage *u, const char *acm_name)
{
    unsigned bit;

    H2A_GUARD(h2a_ku_from_acm_name(acm_name, &bit));
    u->has_ku = true;
    u->ku |= bit;
    return H2A_OK;
}

/* Add to a (char **, size_t) pair kept in h2a_cert_usage, once (case-insensitive). */
static h2a_err s_push_once(char ***v, size_t *n, const char *s)
{
    struct h2a_strlist l = {*v, *n};
    h2a_err rv;

    if (h2a_strlist_has_ci(&l, s)) {
        return H2A_OK;
    }
    rv = h2a_strlist_push(&l, s);
    *v = l.v;
    *n = l.n;
    return rv;
}

h2a_err h2a_cert_usage_add_eku(h2a_cert_usage *u, const char *acm_name, const char *oid)
{
    unsigned bit;

    H2A_GUARD(h2a_eku_from_acm_name(acm_name, &bit));
    if (bit == 0) {
        return H2A_OK; /* "NONE": no extension */
    }
    u->has_eku = true;
    u->eku |= bit;
    if (bit == H2A_EKU_CUSTOM && oid != NULL && oid[0] != '\0') {
        return s_push_once(&u->custom_eku_oids, &u->n_custom_eku_oids, oid);
    }
    return H2A_OK;
}

h2a_err h2a_cert_usage_add_name(h2a_cert_usage *u, const char *name)
{
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT, "domain name: empty");
    return s_push_once(&u->names, &u->n_names, name);
}

/* ------------------------------------------------------------------ */
/* From a certificate                                                  */
/* ------------------------------------------------------------------ */

static h2a_err s_x509_ku(X509 *cert, h2a_cert_usage *u)
{
    uint32_t x;

    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) {
        return H2A_OK;
    }
    x = X509_get_key_usage(cert);
    u->has_ku = true;
    for (unsigned bit = 1; bit <= H2A_KU_REQUESTABLE; bit <<= 1) {
        if ((x & h2a_ku_x509_flag(bit)) != 0) {
            u->ku |= bit;
        }
    }
    return H2A_OK;
}

static h2a_err s_x509_eku(X509 *cert, h2a_cert_usage *u)
{
    h2a_err rv = H2A_OK;
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);

    if (eku == NULL) {
        if (crit == -1) {
            return H2A_OK; /* no extension */
        }
        return h2a_err_set(H2A_ERR_INPUT,
                           "certificate: the ExtendedKeyUsage extension is %s",
                           crit == -2 ? "present more than once" : "malformed");
    }
    u->has_eku = true;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
        char oid[128];
        unsigned bit = H2A_EKU_CUSTOM;
        int len = OBJ_obj2txt(oid, sizeof(oid), obj, 1);

        if (len <= 0 || (size_t)len >= sizeof(oid)) {
            rv = h2a_err_set(H2A_ERR_INPUT,
                             "certificate: ExtendedKeyUsage[%d] has an unreadable OID", i);
            goto done;
        }
        for (unsigned b = 1; b < H2A_EKU_CUSTOM; b <<= 1) {
            if (h2a_eku_oid(b) != NULL && strcmp(h2a_eku_oid(b), oid) == 0) {
                bit = b;
            }
        }
        u->eku |= bit;
        if (bit == H2A_EKU_CUSTOM) {
            rv = s_push_once(&u->custom_eku_oids, &u->n_custom_eku_oids, oid);
            if (rv != H2A_OK) {
                goto done;
            }
        }
    }
done:
    EXTENDED_KEY_USAGE_free(eku);
    return rv;
}

/* An ASN1 string that is a DNS name: no NUL inside, passes the syntax check. */
static bool s_dns_value(const unsigned char *d, int len, char *out, size_t cap)
{
    if (len <= 0 || (size_t)len >= cap || memchr(d, '\0', (size_t)len) != NULL) {
        return false;
    }
    memcpy(out, d, (size_t)len);
    out[len] = '\0';
    if (h2a_pol_dns_syntax("name", out, true) != H2A_OK) {
        h2a_err_clear();
        return false;
    }
    return true;
}

static h2a_err s_x509_names(X509 *cert, h2a_cert_usage *u)
{
    h2a_err rv = H2A_OK;
    int crit = -1;
    char name[256];
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    const X509_NAME *subj = X509_get_subject_name(cert);

    if (gens == NULL && crit != -1) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "certificate: the SubjectAlternativeName extension is %s",
                           crit == -2 ? "present more than once" : "malformed");
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

        if (g->type != GEN_DNS) {
            continue;
        }
        if (!s_dns_value(ASN1_STRING_get0_data(g->d.dNSName),
                         ASN1_STRING_length(g->d.dNSName), name, sizeof(name))) {
            rv = h2a_err_set(H2A_ERR_INPUT,
                             "certificate: SubjectAlternativeName[%d] is not a valid DNS "
                             "name",
                             i);
            goto done;
        }
        rv = h2a_cert_usage_add_name(u, name);
        if (rv != H2A_OK) {
            goto done;
        }
    }
    /* The CN counts as a domain name (ACM's DomainName) only when it is one. */
    for (int idx = -1;
         (idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0;) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, s);

        if (len > 0 && s_dns_value(utf8, len, name, sizeof(name))) {
            rv = h2a_cert_usage_add_name(u, name);
        }
        OPENSSL_free(utf8);
        if (rv != H2A_OK) {
            goto done;
        }
    }
done:
    GENERAL_NAMES_free(gens);
    return rv;
}

h2a_err h2a_cert_usage_from_x509(X509 *cert, h2a_cert_usage *out)
{
    h2a_err rv;
    h2a_keytype kt;
    EVP_PKEY *pk = NULL;

    H2A_ENSURE(cert != NULL, H2A_ERR_INPUT, "certificate: missing");
    if (h2a_x509_public(cert, &pk) != H2A_OK) {
        return h2a_err_prefix(H2A_ERR_INPUT, "certificate: cannot read the public key: ");
    }
    /* Computes the extension cache; EXFLAG_INVALID marks a broken extension. */
    if ((X509_get_extension_flags(cert) & EXFLAG_INVALID) != 0) {
        EVP_PKEY_free(pk);
        return h2a_err_set(H2A_ERR_INPUT, "certificate: has an invalid extension");
    }
    rv = h2a_keytype_from_pkey(pk, &kt);
    EVP_PKEY_free(pk);
    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "certificate: ");
    }
    rv = h2a_cert_usage_set(out, NULL, h2a_keytype_acm_name(kt));
    if (rv == H2A_OK) {
        rv = s_x509_ku(cert, out);
    }
    if (rv == H2A_OK) {
        rv = s_x509_eku(cert, out);
    }
    if (rv == H2A_OK) {
        rv = s_x509_names(cert, out);
    }
    if (rv != H2A_OK) {
        h2a_cert_usage_cleanup(out);
    }
    return rv;
}

h2a_err h2a_cert_usage_from_request(const H2A_POLICY *p, h2a_keytype kt,
                                    const char *const *dns, size_t ndns,
                                    h2a_cert_usage *out)
{
    h2a_err rv;
    const char *alg = h2a_keytype_acm_name(kt);

    H2A_ENSURE(alg != NULL, H2A_ERR_INPUT, "key type: none given");
    rv = h2a_cert_usage_set(out, NULL, alg);
    out->ku = h2a_policy_csr_key_usage(p, kt);
    out->has_ku = out->ku != 0;
    out->eku = h2a_policy_csr_ext_key_usage(p);
    out->has_eku = out->eku != 0;
    for (size_t i = 0; i < ndns && rv == H2A_OK; i++) {
        rv = h2a_cert_usage_add_name(out, dns[i]);
    }
    if (rv != H2A_OK) {
        h2a_cert_usage_cleanup(out);
    }
    return rv;
}
