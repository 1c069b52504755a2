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

struct s_ku_info {
    unsigned bit;
    const char *acm;
    uint32_t x509; /* OpenSSL KU_* flag, 0 for ACM-only names */
};

static const struct s_ku_info s_ku[] = {
    {H2A_KU_DIGITAL_SIGNATURE, "DIGITAL_SIGNATURE", KU_DIGITAL_SIGNATURE},
    {H2A_KU_NON_REPUDIATION, "NON_REPUDIATION", KU_NON_REPUDIATION},
    {H2A_KU_KEY_ENCIPHERMENT, "KEY_ENCIPHERMENT", KU_KEY_ENCIPHERMENT},
    {H2A_KU_DATA_ENCIPHERMENT, "DATA_ENCIPHERMENT", KU_DATA_ENCIPHERMENT},
    {H2A_KU_KEY_AGREEMENT, "KEY_AGREEMENT", KU_KEY_AGREEMENT},
    {H2A_KU_CERTIFICATE_SIGNING, "CERTIFICATE_SIGNING", KU_KEY_CERT_SIGN},
    {H2A_KU_CRL_SIGNING, "CRL_SIGNING", KU_CRL_SIGN},
    {H2A_KU_ENCIPHER_ONLY, "ENCIPHER_ONLY", KU_ENCIPHER_ONLY},
    {H2A_KU_DECIPHER_ONLY, "DECIPHER_ONLY", KU_DECIPHER_ONLY},
    {H2A_KU_ANY, "ANY", 0},
    {H2A_KU_CUSTOM, "CUSTOM", 0},
};

struct s_eku_info {
    unsigned bit;
    const char *acm;
    const char *oid; /* NULL for CUSTOM */
};

/* Names and OIDs as DescribeCertificate reports them (aws-api-facts s2). */
static const struct s_eku_info s_eku[] = {
    {H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION, "TLS_WEB_SERVER_AUTHENTICATION",
     "1.3.6.1.5.5.7.3.1"},
    {H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION, "TLS_WEB_CLIENT_AUTHENTICATION",
     "1.3.6.1.5.5.7.3.2"},
    {H2A_EKU_CODE_SIGNING, "CODE_SIGNING", "1.3.6.1.5.5.7.3.3"},
    {H2A_EKU_EMAIL_PROTECTION, "EMAIL_PROTECTION", "1.3.6.1.5.5.7.3.4"},
    {H2A_EKU_TIME_STAMPING, "TIME_STAMPING", "1.3.6.1.5.5.7.3.8"},
    {H2A_EKU_OCSP_SIGNING, "OCSP_SIGNING", "1.3.6.1.5.5.7.3.9"},
    {H2A_EKU_IPSEC_END_SYSTEM, "IPSEC_END_SYSTEM", "1.3.6.1.5.5.7.3.5"},
    {H2A_EKU_IPSEC_TUNNEL, "IPSEC_TUNNEL", "1.3.6.1.5.5.7.3.6"},
    {H2A_EKU_IPSEC_USER, "IPSEC_USER", "1.3.6.1.5.5.7.3.7"},
    {H2A_EKU_ANY, "ANY", "2.5.29.37.0"},
    {H2A_EKU_CUSTOM, "CUSTOM", NULL},
};

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

const char *h2a_ku_acm_name(unsigned bit)
{
    for (size_t i = 0; i < S_N(s_ku); i++) {
        if (s_ku[i].bit == bit) {
            return s_ku[i].acm;
        }
    }
    return NULL;
}

const char *h2a_eku_acm_name(unsigned bit)
{
    for (size_t i = 0; i < S_N(s_eku); i++) {
        if (s_eku[i].bit == bit) {
            return s_eku[i].acm;
        }
    }
    return NULL;
}

h2a_err h2a_ku_from_acm_name(const char *name, unsigned *out)
{
    *out = 0;
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT, "KeyUsage name: empty");
    for (size_t i = 0; i < S_N(s_ku); i++) {
        if (strcmp(s_ku[i].acm, name) == 0) {
            *out = s_ku[i].bit;
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT,
                       "KeyUsage name '%s' is unknown (ACM names: DIGITAL_SIGNATURE, "
                       "NON_REPUDIATION, KEY_ENCIPHERMENT, DATA_ENCIPHERMENT, "
                       "KEY_AGREEMENT, CERTIFICATE_SIGNING, CRL_SIGNING, ENCIPHER_ONLY, "
                       "DECIPHER_ONLY)",
                       name);
}

h2a_err h2a_eku_from_acm_name(const char *name, unsigned *out)
{
    *out = 0;
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT,
               "ExtendedKeyUsage name: empty");
    if (strcmp(name, "NONE") == 0) {
        return H2A_OK;
    }
    for (size_t i = 0; i < S_N(s_eku); i++) {
        if (strcmp(s_eku[i].acm, name) == 0) {
            *out = s_eku[i].bit;
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT,
                       "ExtendedKeyUsage name '%s' is unknown (ACM names: "
                       "TLS_WEB_SERVER_AUTHENTICATION, TLS_WEB_CLIENT_AUTHENTICATION, "
                       "CODE_SIGNING, EMAIL_PROTECTION, TIME_STAMPING, OCSP_SIGNING, "
                       "IPSEC_END_SYSTEM, IPSEC_TUNNEL, IPSEC_USER)",
                       name);
}

static h2a_err s_render(unsigned bits, bool eku, h2a_buf *out)
{
    bool first = true;

    for (unsigned bit = 1; bit <= H2A_KU_CUSTOM; bit <<= 1) {
        const char *name = eku ? h2a_eku_acm_name(bit) : h2a_ku_acm_name(bit);

        if ((bits & bit) == 0 || name == NULL) {
            continue;
        }
        H2A_GUARD(h2a_buf_printf(out, "%s%s", first ? "" : ", ", name));
        first = false;
    }
    return h2a_buf_terminate(out);
}

h2a_err h2a_ku_render_acm(unsigned bits, h2a_buf *out)
{
    return s_render(bits, false, out);
}

h2a_err h2a_eku_render_acm(unsigned bits, h2a_buf *out)
{
    return s_render(bits, true, out);
}

/* ------------------------------------------------------------------ */
/* h2a_cert_usage                                                      */
/* ------------------------------------------------------------------ */

void h2a_cert_usage_cleanup(h2a_cert_usage *u)
{
    struct h2a_strlist l;

    if (u == NULL) {
        return;
    }
    OPENSSL_free(u->type);
    OPENSSL_free(u->key_algorithm);
    l.v = u->custom_eku_oids;
    l.n = u->n_custom_eku_oids;
    h2a_strlist_free(&l);
    l.v = u->names;
    l.n = u->n_names;
    h2a_strlist_free(&l);
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
    for (size_t i = 0; i < S_N(s_ku); i++) {
        if (s_ku[i].x509 != 0 && (x & s_ku[i].x509) != 0) {
            u->ku |= s_ku[i].bit;
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
        for (size_t k = 0; k < S_N(s_eku); k++) {
            if (s_eku[k].oid != NULL && strcmp(s_eku[k].oid, oid) == 0) {
                bit = s_eku[k].bit;
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
    EVP_PKEY *pk;

    H2A_ENSURE(cert != NULL, H2A_ERR_INPUT, "certificate: missing");
    pk = X509_get0_pubkey(cert);
    if (pk == NULL) {
        return h2a_err_openssl(H2A_ERR_INPUT, "certificate: cannot read the public key");
    }
    /* Computes the extension cache; EXFLAG_INVALID marks a broken extension. */
    if ((X509_get_extension_flags(cert) & EXFLAG_INVALID) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "certificate: has an invalid extension");
    }
    rv = h2a_keytype_from_pkey(pk, &kt);
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
