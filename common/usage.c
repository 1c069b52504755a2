/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * KeyUsage / ExtendedKeyUsage under ACM's names. The one table: the policy,
 * requests, CSRs and the reimport rules all read it, so they can never
 * disagree on what a name means.
 */

#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "h2a_common.h"

struct s_usage {
    unsigned bit;
    const char *acm;
    unsigned x509;   /* OpenSSL KU_* flag (KeyUsage), 0 for ACM-only names */
    const char *oid; /* EKU OID, NULL for CUSTOM */
};

static const struct s_usage s_ku[] = {
    {H2A_KU_DIGITAL_SIGNATURE, "DIGITAL_SIGNATURE", KU_DIGITAL_SIGNATURE, NULL},
    {H2A_KU_NON_REPUDIATION, "NON_REPUDIATION", KU_NON_REPUDIATION, NULL},
    {H2A_KU_KEY_ENCIPHERMENT, "KEY_ENCIPHERMENT", KU_KEY_ENCIPHERMENT, NULL},
    {H2A_KU_DATA_ENCIPHERMENT, "DATA_ENCIPHERMENT", KU_DATA_ENCIPHERMENT, NULL},
    {H2A_KU_KEY_AGREEMENT, "KEY_AGREEMENT", KU_KEY_AGREEMENT, NULL},
    {H2A_KU_CERTIFICATE_SIGNING, "CERTIFICATE_SIGNING", KU_KEY_CERT_SIGN, NULL},
    {H2A_KU_CRL_SIGNING, "CRL_SIGNING", KU_CRL_SIGN, NULL},
    {H2A_KU_ENCIPHER_ONLY, "ENCIPHER_ONLY", KU_ENCIPHER_ONLY, NULL},
    {H2A_KU_DECIPHER_ONLY, "DECIPHER_ONLY", KU_DECIPHER_ONLY, NULL},
    {H2A_KU_ANY, "ANY", 0, NULL},
    {H2A_KU_CUSTOM, "CUSTOM", 0, NULL},
};

/* Names and OIDs as DescribeCertificate reports them. */
static const struct s_usage s_eku[] = {
    {H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION, "TLS_WEB_SERVER_AUTHENTICATION", 0,
     "1.3.6.1.5.5.7.3.1"},
    {H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION, "TLS_WEB_CLIENT_AUTHENTICATION", 0,
     "1.3.6.1.5.5.7.3.2"},
    {H2A_EKU_CODE_SIGNING, "CODE_SIGNING", 0, "1.3.6.1.5.5.7.3.3"},
    {H2A_EKU_EMAIL_PROTECTION, "EMAIL_PROTECTION", 0, "1.3.6.1.5.5.7.3.4"},
    {H2A_EKU_TIME_STAMPING, "TIME_STAMPING", 0, "1.3.6.1.5.5.7.3.8"},
    {H2A_EKU_OCSP_SIGNING, "OCSP_SIGNING", 0, "1.3.6.1.5.5.7.3.9"},
    {H2A_EKU_IPSEC_END_SYSTEM, "IPSEC_END_SYSTEM", 0, "1.3.6.1.5.5.7.3.5"},
    {H2A_EKU_IPSEC_TUNNEL, "IPSEC_TUNNEL", 0, "1.3.6.1.5.5.7.3.6"},
    {H2A_EKU_IPSEC_USER, "IPSEC_USER", 0, "1.3.6.1.5.5.7.3.7"},
    {H2A_EKU_ANY, "ANY", 0, "2.5.29.37.0"},
    {H2A_EKU_CUSTOM, "CUSTOM", 0, NULL},
};

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

static const struct s_usage *s_by_bit(const struct s_usage *tab, size_t n, unsigned bit)
{
    for (size_t i = 0; i < n; i++) {
        if (tab[i].bit == bit) {
            return &tab[i];
        }
    }
    return NULL;
}

static unsigned s_lookup(const struct s_usage *tab, size_t n, const char *name, size_t len,
                         bool ignore_case)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(tab[i].acm) != len) {
            continue;
        }
        if (ignore_case ? strncasecmp(tab[i].acm, name, len) == 0
                        : strncmp(tab[i].acm, name, len) == 0) {
            return tab[i].bit;
        }
    }
    return 0;
}

const char *h2a_ku_acm_name(unsigned bit)
{
    const struct s_usage *u = s_by_bit(s_ku, S_N(s_ku), bit);

    return u != NULL ? u->acm : NULL;
}

const char *h2a_eku_acm_name(unsigned bit)
{
    const struct s_usage *u = s_by_bit(s_eku, S_N(s_eku), bit);

    return u != NULL ? u->acm : NULL;
}

unsigned h2a_ku_lookup(const char *name, size_t len, bool ignore_case)
{
    return s_lookup(s_ku, S_N(s_ku), name, len, ignore_case);
}

unsigned h2a_eku_lookup(const char *name, size_t len, bool ignore_case)
{
    return s_lookup(s_eku, S_N(s_eku), name, len, ignore_case);
}

unsigned h2a_ku_x509_flag(unsigned bit)
{
    const struct s_usage *u = s_by_bit(s_ku, S_N(s_ku), bit);

    return u != NULL ? u->x509 : 0;
}

const char *h2a_eku_oid(unsigned bit)
{
    const struct s_usage *u = s_by_bit(s_eku, S_N(s_eku), bit);

    return u != NULL ? u->oid : NULL;
}

h2a_err h2a_ku_from_acm_name(const char *name, unsigned *out)
{
    *out = 0;
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT, "KeyUsage name: empty");
    *out = h2a_ku_lookup(name, strlen(name), false);
    H2A_ENSURE(*out != 0, H2A_ERR_INPUT,
               "KeyUsage name '%s' is unknown (ACM names: DIGITAL_SIGNATURE, "
               "NON_REPUDIATION, KEY_ENCIPHERMENT, DATA_ENCIPHERMENT, "
               "KEY_AGREEMENT, CERTIFICATE_SIGNING, CRL_SIGNING, ENCIPHER_ONLY, "
               "DECIPHER_ONLY)",
               name);
    return H2A_OK;
}

h2a_err h2a_eku_from_acm_name(const char *name, unsigned *out)
{
    *out = 0;
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT,
               "ExtendedKeyUsage name: empty");
    if (strcmp(name, "NONE") == 0) {
        return H2A_OK;
    }
    *out = h2a_eku_lookup(name, strlen(name), false);
    H2A_ENSURE(*out != 0, H2A_ERR_INPUT,
               "ExtendedKeyUsage name '%s' is unknown (ACM names: "
               "TLS_WEB_SERVER_AUTHENTICATION, TLS_WEB_CLIENT_AUTHENTICATION, "
               "CODE_SIGNING, EMAIL_PROTECTION, TIME_STAMPING, OCSP_SIGNING, "
               "IPSEC_END_SYSTEM, IPSEC_TUNNEL, IPSEC_USER)",
               name);
    return H2A_OK;
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
