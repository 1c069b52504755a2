/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * ACM reimport rules over plain data, and the facts extracted from real
 * certificates (built here with OpenSSL) that enrollment compares.
 */

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "h2a_test.h"
#include "h2a_policy.h"

#define ARN "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-aaaa-bbbb-cccc-000000000001"

/* A DescribeCertificate-shaped "current" certificate. */
static void s_current(h2a_cert_usage *u, const char *type, const char *alg,
                      const char *const *ku, const char *const *eku, const char *name)
{
    memset(u, 0, sizeof(*u));
    H2A_ASSERT_OK(h2a_cert_usage_set(u, type, alg));
    for (size_t i = 0; ku != NULL && ku[i] != NULL; i++) {
        H2A_ASSERT_OK(h2a_cert_usage_add_ku(u, ku[i]));
    }
    for (size_t i = 0; eku != NULL && eku[i] != NULL; i++) {
        H2A_ASSERT_OK(h2a_cert_usage_add_eku(u, eku[i], NULL));
    }
    if (name != NULL) {
        H2A_ASSERT_OK(h2a_cert_usage_add_name(u, name));
    }
}

static const char *const s_ku_rsa[] = {"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT", NULL};
static const char *const s_ku_ds[] = {"DIGITAL_SIGNATURE", NULL};
static const char *const s_eku_srv[] = {"TLS_WEB_SERVER_AUTHENTICATION", NULL};
static const char *const s_eku_both[] = {"TLS_WEB_SERVER_AUTHENTICATION",
                                         "TLS_WEB_CLIENT_AUTHENTICATION", NULL};
static const char *const s_eku_client[] = {"TLS_WEB_CLIENT_AUTHENTICATION", NULL};

/* ------------------------------------------------------------------ */
/* Pre-token: DescribeCertificate                                      */
/* ------------------------------------------------------------------ */

static void test_describe(void **state)
{
    h2a_cert_usage cur;
    h2a_keytype kt = H2A_KT_RSA_4096;

    (void)state;
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_ds, s_eku_srv, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_describe(ARN, &cur, H2A_KT_EC_P256, &kt));
    assert_int_equal(kt, H2A_KT_EC_P256);
    /* inherit */
    kt = H2A_KT_NONE;
    H2A_ASSERT_OK(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt));
    assert_int_equal(kt, H2A_KT_EC_P256);
    /* key type change */
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_RSA_2048, &kt),
                   H2A_ERR_POLICY,
                   "reimport into " ARN ": key type would change from EC_prime256v1 to "
                   "RSA_2048");
    assert_int_equal(kt, H2A_KT_NONE);
    /* curve change is a size change */
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_EC_P384, &kt),
                   H2A_ERR_POLICY, "key size would change from EC_prime256v1 to EC_secp384r1");
    h2a_cert_usage_cleanup(&cur);

    /* key size change */
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_RSA_3072, &kt),
                   H2A_ERR_POLICY, "key size would change from RSA_2048 to RSA_3072");
    H2A_ASSERT_OK(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt));
    assert_int_equal(kt, H2A_KT_RSA_2048);
    h2a_cert_usage_cleanup(&cur);

    /* Only IMPORTED certificates. */
    s_current(&cur, "AMAZON_ISSUED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_RSA_2048, &kt),
                   H2A_ERR_POLICY,
                   "reimport into " ARN ": certificate Type is AMAZON_ISSUED; only IMPORTED");
    h2a_cert_usage_cleanup(&cur);
    s_current(&cur, "PRIVATE", "EC_prime256v1", s_ku_ds, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt), H2A_ERR_POLICY,
                   "certificate Type is PRIVATE");
    h2a_cert_usage_cleanup(&cur);

    /* A key algorithm hsm2acm cannot make cannot be kept. */
    s_current(&cur, "IMPORTED", "RSA_1024", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt), H2A_ERR_POLICY,
                   "its KeyAlgorithm RSA_1024 is not one hsm2acm makes");
    h2a_cert_usage_cleanup(&cur);

    /* Missing facts from AWS are an AWS error, not a pass. */
    s_current(&cur, NULL, "RSA_2048", NULL, NULL, NULL);
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt), H2A_ERR_AWS,
                   "DescribeCertificate gave no Type");
    h2a_cert_usage_cleanup(&cur);
    s_current(&cur, "IMPORTED", NULL, NULL, NULL, NULL);
    H2A_ASSERT_ERR(h2a_reimport_check_describe(ARN, &cur, H2A_KT_NONE, &kt), H2A_ERR_AWS,
                   "DescribeCertificate gave no KeyAlgorithm");
    h2a_cert_usage_cleanup(&cur);
    h2a_cert_usage_cleanup(&cur); /* idempotent */
    h2a_cert_usage_cleanup(NULL);
}

/* ------------------------------------------------------------------ */
/* Certificate vs certificate                                          */
/* ------------------------------------------------------------------ */

static void test_cert_allowed(void **state)
{
    h2a_cert_usage cur;
    h2a_cert_usage nxt;
    static const char *const more_ku[] = {"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT",
                                          "NON_REPUDIATION", NULL};
    static const char *const more_eku[] = {"TLS_WEB_SERVER_AUTHENTICATION", "CODE_SIGNING",
                                           NULL};

    (void)state;
    /* Same usage, different names: fine. */
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, s_eku_srv, "api.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    /* Values added: fine. */
    s_current(&nxt, NULL, "RSA_2048", more_ku, more_eku, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* Neither has the extensions: fine. */
    s_current(&cur, "IMPORTED", "EC_secp384r1", NULL, NULL, "www.example.com");
    s_current(&nxt, NULL, "EC_secp384r1", NULL, NULL, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* ACM's "NONE" EKU means no extension. */
    s_current(&cur, "IMPORTED", "EC_secp384r1", NULL, NULL, "www.example.com");
    H2A_ASSERT_OK(h2a_cert_usage_add_eku(&cur, "NONE", NULL));
    assert_false(cur.has_eku);
    h2a_cert_usage_cleanup(&cur);
}

static void test_cert_exceptions(void **state)
{
    h2a_cert_usage cur;
    h2a_cert_usage nxt;

    (void)state;
    /* ECDSA may drop KEY_ENCIPHERMENT ... */
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_rsa, s_eku_srv, "www.example.com");
    s_current(&nxt, NULL, "EC_prime256v1", s_ku_ds, s_eku_srv, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);
    /* ... RSA may not. */
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    s_current(&nxt, NULL, "RSA_2048", s_ku_ds, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "reimport into " ARN ": KeyUsage KEY_ENCIPHERMENT would be removed");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* TLS_WEB_CLIENT_AUTHENTICATION may be dropped. */
    s_current(&cur, "IMPORTED", "RSA_3072", s_ku_rsa, s_eku_both, "www.example.com");
    s_current(&nxt, NULL, "RSA_3072", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    /* ... but not serverAuth. */
    s_current(&nxt, NULL, "RSA_3072", s_ku_rsa, s_eku_client, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "reimport into " ARN
                   ": ExtendedKeyUsage TLS_WEB_SERVER_AUTHENTICATION would be removed");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);
}

static void test_cert_refused(void **state)
{
    h2a_cert_usage cur;
    h2a_cert_usage nxt;
    static const char *const eku3[] = {"TLS_WEB_SERVER_AUTHENTICATION", "CODE_SIGNING",
                                       "EMAIL_PROTECTION", NULL};

    (void)state;
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, eku3, "www.example.com");

    /* Key type change, key size change. */
    s_current(&nxt, NULL, "EC_prime256v1", s_ku_rsa, eku3, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "key type would change from RSA_2048 to EC_prime256v1");
    h2a_cert_usage_cleanup(&nxt);
    s_current(&nxt, NULL, "RSA_4096", s_ku_rsa, eku3, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "key size would change from RSA_2048 to RSA_4096");
    h2a_cert_usage_cleanup(&nxt);

    /* EKU values removed: all of them are named. */
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "ExtendedKeyUsage CODE_SIGNING, EMAIL_PROTECTION would be removed");
    h2a_cert_usage_cleanup(&nxt);

    /* EKU extension removed entirely. */
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, NULL, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "ExtendedKeyUsage TLS_WEB_SERVER_AUTHENTICATION, CODE_SIGNING, "
                   "EMAIL_PROTECTION would be removed");
    h2a_cert_usage_cleanup(&nxt);

    /* KU extension removed entirely. */
    s_current(&nxt, NULL, "RSA_2048", NULL, eku3, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "KeyUsage DIGITAL_SIGNATURE, KEY_ENCIPHERMENT would be removed");
    h2a_cert_usage_cleanup(&nxt);

    /* No domain name. */
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, eku3, NULL);
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "reimport into " ARN ": the new certificate has no domain name");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* New EKU extension where there was none. */
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, NULL, "www.example.com");
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "reimport into " ARN ": an ExtendedKeyUsage extension would be added");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* New KU extension where there was none. */
    s_current(&cur, "IMPORTED", "EC_secp521r1", NULL, s_eku_srv, "www.example.com");
    s_current(&nxt, NULL, "EC_secp521r1", s_ku_ds, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "reimport into " ARN ": a KeyUsage extension would be added");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* The exceptions do not let a whole extension vanish. */
    s_current(&cur, "IMPORTED", "EC_prime256v1", NULL, s_eku_client, "www.example.com");
    s_current(&nxt, NULL, "EC_prime256v1", NULL, NULL, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "the ExtendedKeyUsage extension would be removed");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* Not IMPORTED. */
    s_current(&cur, "AMAZON_ISSUED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "certificate Type is AMAZON_ISSUED");
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);
}

static void test_cert_custom_eku(void **state)
{
    h2a_cert_usage cur;
    h2a_cert_usage nxt;

    (void)state;
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_OK(h2a_cert_usage_add_eku(&cur, "CUSTOM", "1.3.6.1.4.1.99999.1"));
    s_current(&nxt, NULL, "RSA_2048", s_ku_rsa, s_eku_srv, "www.example.com");
    H2A_ASSERT_OK(h2a_cert_usage_add_eku(&nxt, "CUSTOM", "1.3.6.1.4.1.99999.2"));
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &nxt), H2A_ERR_POLICY,
                   "ExtendedKeyUsage CUSTOM 1.3.6.1.4.1.99999.1 would be removed");
    H2A_ASSERT_OK(h2a_cert_usage_add_eku(&nxt, "CUSTOM", "1.3.6.1.4.1.99999.1"));
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &nxt));
    h2a_cert_usage_cleanup(&nxt);
    h2a_cert_usage_cleanup(&cur);

    /* Unknown names from ACM are refused, not ignored. */
    memset(&cur, 0, sizeof(cur));
    H2A_ASSERT_ERR(h2a_cert_usage_add_eku(&cur, "QUANTUM_AUTH", NULL), H2A_ERR_INPUT,
                   "ExtendedKeyUsage name 'QUANTUM_AUTH' is unknown");
    H2A_ASSERT_ERR(h2a_cert_usage_add_ku(&cur, "SIGN_EVERYTHING"), H2A_ERR_INPUT,
                   "KeyUsage name 'SIGN_EVERYTHING' is unknown");
    assert_false(cur.has_ku);
    assert_false(cur.has_eku);
    h2a_cert_usage_cleanup(&cur);
}

/* ------------------------------------------------------------------ */
/* From real certificates                                              */
/* ------------------------------------------------------------------ */

static void s_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* Self-signed certificate for `pk`; each extension value may be NULL. */
static X509 *s_cert(EVP_PKEY *pk, const char *cn, const char *ku, const char *eku,
                    const char *san)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    assert_non_null(x);
    assert_non_null(n);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    if (cn != NULL) {
        assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                                    (const unsigned char *)cn, -1, -1, 0),
                         1);
    }
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_int_equal(X509_set_issuer_name(x, n), 1);
    X509_NAME_free(n);
    assert_int_equal(X509_set_pubkey(x, pk), 1);
    if (ku != NULL) {
        s_ext(x, NID_key_usage, ku);
    }
    if (eku != NULL) {
        s_ext(x, NID_ext_key_usage, eku);
    }
    if (san != NULL) {
        s_ext(x, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(x, pk, EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 ? NULL
                                                                         : EVP_sha256()) >
                0);
    return x;
}

static bool s_has_name(const h2a_cert_usage *u, const char *name)
{
    for (size_t i = 0; i < u->n_names; i++) {
        if (strcmp(u->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void test_from_x509_ec(void **state)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x;
    h2a_cert_usage u;
    h2a_cert_usage cur;

    (void)state;
    assert_non_null(pk);
    x = s_cert(pk, "www.example.com", "critical,digitalSignature,keyAgreement",
               "serverAuth,clientAuth,1.3.6.1.4.1.99999.7,OCSPSigning",
               "DNS:www.example.com,DNS:*.api.example.com,IP:192.0.2.1,email:a@example.com");
    memset(&u, 0, sizeof(u));
    H2A_ASSERT_OK(h2a_cert_usage_from_x509(x, &u));
    assert_null(u.type);
    assert_string_equal(u.key_algorithm, "EC_prime256v1");
    assert_true(u.has_ku);
    assert_int_equal(u.ku, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_AGREEMENT);
    assert_true(u.has_eku);
    assert_int_equal(u.eku, H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                                H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION |
                                H2A_EKU_OCSP_SIGNING | H2A_EKU_CUSTOM);
    assert_int_equal(u.n_custom_eku_oids, 1);
    assert_string_equal(u.custom_eku_oids[0], "1.3.6.1.4.1.99999.7");
    /* SAN DNS names, the CN once (it repeats a SAN), no IP or email. */
    assert_int_equal(u.n_names, 2);
    assert_true(s_has_name(&u, "www.example.com"));
    assert_true(s_has_name(&u, "*.api.example.com"));

    /* This certificate may replace one with serverAuth + ECDSA keyEncipherment ... */
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_rsa, s_eku_srv, "old.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &u));
    h2a_cert_usage_cleanup(&cur);
    /* ... but not one that had CODE_SIGNING. */
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_ds, NULL, "old.example.com");
    H2A_ASSERT_OK(h2a_cert_usage_add_eku(&cur, "CODE_SIGNING", "1.3.6.1.5.5.7.3.3"));
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &u), H2A_ERR_POLICY,
                   "ExtendedKeyUsage CODE_SIGNING would be removed");
    h2a_cert_usage_cleanup(&cur);
    h2a_cert_usage_cleanup(&u);
    X509_free(x);

    /* No extensions at all, a CN that is not a DNS name: no domain name. */
    x = s_cert(pk, "Example Web Server", NULL, NULL, NULL);
    H2A_ASSERT_OK(h2a_cert_usage_from_x509(x, &u));
    assert_false(u.has_ku);
    assert_false(u.has_eku);
    assert_int_equal(u.n_names, 0);
    s_current(&cur, "IMPORTED", "EC_prime256v1", NULL, NULL, "old.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &u), H2A_ERR_POLICY,
                   "has no domain name");
    h2a_cert_usage_cleanup(&cur);
    h2a_cert_usage_cleanup(&u);
    X509_free(x);

    /* CN-only certificate: the CN is the domain name. */
    x = s_cert(pk, "cn-only.example.com", NULL, NULL, NULL);
    H2A_ASSERT_OK(h2a_cert_usage_from_x509(x, &u));
    assert_int_equal(u.n_names, 1);
    assert_string_equal(u.names[0], "cn-only.example.com");
    h2a_cert_usage_cleanup(&u);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void test_from_x509_rsa(void **state)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    X509 *x;
    h2a_cert_usage u;
    h2a_cert_usage cur;

    (void)state;
    assert_non_null(pk);
    x = s_cert(pk, NULL,
               "digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment,"
               "keyCertSign,cRLSign,encipherOnly,decipherOnly",
               "codeSigning,emailProtection,timeStamping,ipsecEndSystem,ipsecTunnel,ipsecUser,"
               "anyExtendedKeyUsage",
               "DNS:a.example.com,DNS:b.example.com");
    memset(&u, 0, sizeof(u));
    H2A_ASSERT_OK(h2a_cert_usage_from_x509(x, &u));
    assert_string_equal(u.key_algorithm, "RSA_2048");
    assert_int_equal(u.ku, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_NON_REPUDIATION |
                               H2A_KU_KEY_ENCIPHERMENT | H2A_KU_DATA_ENCIPHERMENT |
                               H2A_KU_CERTIFICATE_SIGNING | H2A_KU_CRL_SIGNING |
                               H2A_KU_ENCIPHER_ONLY | H2A_KU_DECIPHER_ONLY);
    assert_int_equal(u.eku, H2A_EKU_CODE_SIGNING | H2A_EKU_EMAIL_PROTECTION |
                                H2A_EKU_TIME_STAMPING | H2A_EKU_IPSEC_END_SYSTEM |
                                H2A_EKU_IPSEC_TUNNEL | H2A_EKU_IPSEC_USER | H2A_EKU_ANY);
    assert_int_equal(u.n_custom_eku_oids, 0);
    assert_int_equal(u.n_names, 2);

    /* An RSA certificate can never replace an EC one. */
    s_current(&cur, "IMPORTED", "EC_prime256v1", NULL, NULL, "a.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &u), H2A_ERR_POLICY,
                   "key type would change from EC_prime256v1 to RSA_2048");
    h2a_cert_usage_cleanup(&cur);
    /* It drops serverAuth against a serverAuth certificate. */
    s_current(&cur, "IMPORTED", "RSA_2048", s_ku_rsa, s_eku_both, "a.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &u), H2A_ERR_POLICY,
                   "ExtendedKeyUsage TLS_WEB_SERVER_AUTHENTICATION would be removed");
    h2a_cert_usage_cleanup(&cur);
    h2a_cert_usage_cleanup(&u);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void test_from_x509_bad_key(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x;
    h2a_cert_usage u;

    (void)state;
    assert_non_null(pk);
    x = s_cert(pk, "ed.example.com", NULL, NULL, "DNS:ed.example.com");
    memset(&u, 0, sizeof(u));
    H2A_ASSERT_ERR(h2a_cert_usage_from_x509(x, &u), H2A_ERR_INPUT, "certificate: ");
    assert_null(u.key_algorithm);
    assert_int_equal(u.n_names, 0);
    X509_free(x);
    EVP_PKEY_free(pk);
    H2A_ASSERT_ERR(h2a_cert_usage_from_x509(NULL, &u), H2A_ERR_INPUT, "certificate: missing");
}

/* The request-side prediction used before the token is touched. */
static void test_from_request(void **state)
{
    H2A_POLICY *p = NULL;
    h2a_cert_usage u;
    h2a_cert_usage cur;
    const char *dns[] = {"www.example.com", "example.com"};
    static const char js[] = "{\"csr\": {\"extended_key_usage\": []}}";

    (void)state;
    H2A_ASSERT_OK(h2a_policy_load(NULL, &p));
    memset(&u, 0, sizeof(u));
    H2A_ASSERT_OK(h2a_cert_usage_from_request(p, H2A_KT_EC_P256, dns, 2, &u));
    assert_string_equal(u.key_algorithm, "EC_prime256v1");
    assert_true(u.has_ku);
    assert_int_equal(u.ku, H2A_KU_DIGITAL_SIGNATURE);
    assert_true(u.has_eku);
    assert_int_equal(u.eku, H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION);
    assert_int_equal(u.n_names, 2);
    /* An ARN whose certificate has serverAuth + clientAuth: compatible (clientAuth may go). */
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_rsa, s_eku_both, "www.example.com");
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &u));
    h2a_cert_usage_cleanup(&cur);
    /* One without any EKU extension: the default CSR would add one. */
    s_current(&cur, "IMPORTED", "EC_prime256v1", s_ku_ds, NULL, "www.example.com");
    H2A_ASSERT_ERR(h2a_reimport_check_cert(ARN, &cur, &u), H2A_ERR_POLICY,
                   "an ExtendedKeyUsage extension would be added");
    h2a_cert_usage_cleanup(&u);
    h2a_policy_free(p);

    /* A policy that asks for no EKU fits that ARN. */
    H2A_ASSERT_OK(h2a_policy_parse(js, strlen(js), "js", &p));
    H2A_ASSERT_OK(h2a_cert_usage_from_request(p, H2A_KT_EC_P256, dns, 1, &u));
    assert_false(u.has_eku);
    H2A_ASSERT_OK(h2a_reimport_check_cert(ARN, &cur, &u));
    h2a_cert_usage_cleanup(&u);
    h2a_cert_usage_cleanup(&cur);

    /* RSA asks for KEY_ENCIPHERMENT by default. */
    H2A_ASSERT_OK(h2a_cert_usage_from_request(p, H2A_KT_RSA_2048, dns, 1, &u));
    assert_int_equal(u.ku, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT);
    h2a_cert_usage_cleanup(&u);
    H2A_ASSERT_ERR(h2a_cert_usage_from_request(p, H2A_KT_NONE, dns, 1, &u), H2A_ERR_INPUT,
                   "key type");
    h2a_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),        cmocka_unit_test(test_cert_allowed),
        cmocka_unit_test(test_cert_exceptions), cmocka_unit_test(test_cert_refused),
        cmocka_unit_test(test_cert_custom_eku), cmocka_unit_test(test_from_x509_ec),
        cmocka_unit_test(test_from_x509_rsa),   cmocka_unit_test(test_from_x509_bad_key),
        cmocka_unit_test(test_from_request),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
