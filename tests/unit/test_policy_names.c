/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Every name a certificate carries passes the SAN rules and authorization:
 * the subject CN included (issue 17 item 1), from a request and from an
 * issued certificate. And the one usage check (item 2).
 */

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "h2a_test.h"
#include "h2a_keygen.h"
#include "h2a_policy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const s_ok_dns[] = {"www.example.com"};

static H2A_POLICY *s_pol(const char *json)
{
    H2A_POLICY *p = NULL;

    H2A_ASSERT_OK(h2a_policy_parse(json, strlen(json), "names.json", &p));
    return p;
}

static h2a_err s_names(const char *subject, const char *const *dns, size_t ndns,
                       const char *const *ip, size_t nip, h2a_cert_names *out)
{
    X509_NAME *subj = NULL;
    h2a_err rv;

    H2A_ASSERT_OK(h2a_subject_parse("subject", subject, &subj));
    rv = h2a_cert_names_from_request(subj, dns, ndns, ip, nip, out);
    X509_NAME_free(subj);
    return rv;
}

static void test_cn_among_sans(void **state)
{
    h2a_cert_names n;

    (void)state;
    H2A_ASSERT_OK(s_names("CN=WWW.example.com,O=Example", s_ok_dns, 1, NULL, 0, &n));
    assert_false(n.cn_added);
    assert_int_equal(n.ndns, 1);
    assert_string_equal(n.cn, "WWW.example.com");
    h2a_cert_names_cleanup(&n);
    /* No CN at all: the SANs are the names. */
    H2A_ASSERT_OK(s_names("O=Example", s_ok_dns, 1, NULL, 0, &n));
    assert_null(n.cn);
    assert_int_equal(n.ndns, 1);
    h2a_cert_names_cleanup(&n);
}

static void test_cn_added(void **state)
{
    static const char *const ip[] = {"2001:db8:0::1"};
    h2a_cert_names n;

    (void)state;
    H2A_ASSERT_OK(s_names("CN=api.example.com", s_ok_dns, 1, NULL, 0, &n));
    assert_true(n.cn_added);
    assert_false(n.cn_is_ip);
    assert_int_equal(n.ndns, 2);
    assert_string_equal(n.dns[1], "api.example.com");
    h2a_cert_names_cleanup(&n);
    /* IP literal CN: joins ip[], in one canonical text form. */
    H2A_ASSERT_OK(s_names("CN=2001:db8::1", NULL, 0, ip, 1, &n));
    assert_false(n.cn_added);
    assert_string_equal(n.ip[0], "2001:db8::1");
    h2a_cert_names_cleanup(&n);
    H2A_ASSERT_OK(s_names("CN=10.1.2.3", s_ok_dns, 1, NULL, 0, &n));
    assert_true(n.cn_added);
    assert_true(n.cn_is_ip);
    assert_int_equal(n.nip, 1);
    assert_string_equal(n.ip[0], "10.1.2.3");
    h2a_cert_names_cleanup(&n);
}

static void test_cn_refused_syntax(void **state)
{
    h2a_cert_names n;

    (void)state;
    H2A_ASSERT_ERR(s_names("/CN=www.example.com/CN=www.evil.com", s_ok_dns, 1, NULL, 0, &n),
                   H2A_ERR_INPUT, "subject: more than one CN");
    assert_null(n.dns);
    H2A_ASSERT_ERR(s_names("CN=My Web Service", s_ok_dns, 1, NULL, 0, &n), H2A_ERR_INPUT,
                   "subject CN: 'My Web Service' is neither a DNS name nor an IP address");
    H2A_ASSERT_ERR(s_names("CN=*.*.example.com", s_ok_dns, 1, NULL, 0, &n), H2A_ERR_INPUT,
                   "subject CN");
}

static void test_cn_policy(void **state)
{
    H2A_POLICY *p = s_pol("{\"san\": {\"dns_suffixes\": [\"example.com\"], "
                          "\"allow_wildcards\": false, \"allow_ip\": false, "
                          "\"max_names\": 2}}");
    h2a_cert_names n;

    (void)state;
    H2A_ASSERT_OK(s_names("CN=www.evil.com", s_ok_dns, 1, NULL, 0, &n));
    H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY,
                   "subject CN 'www.evil.com'");
    H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY,
                   "dns_suffixes does not allow");
    h2a_cert_names_cleanup(&n);
    H2A_ASSERT_OK(s_names("CN=*.example.com", s_ok_dns, 1, NULL, 0, &n));
    H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY,
                   "policy.san.allow_wildcards is false");
    h2a_cert_names_cleanup(&n);
    H2A_ASSERT_OK(s_names("CN=10.1.2.3", s_ok_dns, 1, NULL, 0, &n));
    H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY,
                   "policy.san.allow_ip is false");
    h2a_cert_names_cleanup(&n);
    {
        static const char *const two[] = {"a.example.com", "b.example.com"};

        H2A_ASSERT_OK(s_names("CN=c.example.com", two, 2, NULL, 0, &n));
        H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY,
                       "policy.san.max_names is 2");
        h2a_cert_names_cleanup(&n);
    }
    /* A listed name is reported under its own field. */
    {
        static const char *const bad[] = {"www.evil.com"};

        H2A_ASSERT_OK(s_names("CN=www.evil.com", bad, 1, NULL, 0, &n));
        H2A_ASSERT_ERR(h2a_policy_check_cert_names(p, &n), H2A_ERR_POLICY, "dns[0]");
        h2a_cert_names_cleanup(&n);
    }
    H2A_ASSERT_OK(s_names("CN=api.example.com", s_ok_dns, 1, NULL, 0, &n));
    H2A_ASSERT_OK(h2a_policy_check_cert_names(p, &n));
    h2a_cert_names_cleanup(&n);
    h2a_policy_free(p);
}

static void test_cn_authorization(void **state)
{
    H2A_POLICY *p = s_pol("{\"authorization\": {\"team-web\": {\"dns_suffixes\": "
                          "[\"example.com\"], \"accounts\": [\"*\"]}}}");
    h2a_cert_names n;

    (void)state;
    H2A_ASSERT_OK(s_names("CN=www.evil.com", s_ok_dns, 1, NULL, 0, &n));
    /* The SAN rules allow any suffix here; authorization does not. */
    H2A_ASSERT_OK(h2a_policy_check_cert_names(p, &n));
    H2A_ASSERT_ERR(h2a_policy_check_cert_authorization(p, "team-web", &n, "111111111111"),
                   H2A_ERR_POLICY, "subject CN 'www.evil.com'");
    H2A_ASSERT_ERR(h2a_policy_check_cert_authorization(p, "team-web", &n, "111111111111"),
                   H2A_ERR_POLICY, "authorization.team-web.dns_suffixes");
    h2a_cert_names_cleanup(&n);
    H2A_ASSERT_OK(s_names("CN=api.example.com", s_ok_dns, 1, NULL, 0, &n));
    H2A_ASSERT_OK(h2a_policy_check_cert_authorization(p, "team-web", &n, "111111111111"));
    h2a_cert_names_cleanup(&n);
    h2a_policy_free(p);
}

/* A certificate with `cn` (may be NULL) and the SAN text `san` (may be NULL). */
static X509 *s_cert(const char *cn, const char *san)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    X509V3_CTX ctx;

    assert_non_null(pk);
    X509_set_version(x, 2);
    X509_set_pubkey(x, pk);
    if (cn != NULL) {
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                   -1, 0);
    }
    if (san != NULL) {
        X509_EXTENSION *e;

        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    EVP_PKEY_free(pk);
    return x;
}

static void test_from_x509(void **state)
{
    static const char *const ip[] = {"10.0.0.1"};
    h2a_cert_names got, asked;
    X509 *x = s_cert("www.example.com", "DNS:www.example.com,IP:10.0.0.1");

    (void)state;
    H2A_ASSERT_OK(h2a_cert_names_from_x509(x, &got));
    assert_int_equal(got.ndns, 1);
    assert_int_equal(got.nip, 1);
    assert_string_equal(got.ip[0], "10.0.0.1");
    H2A_ASSERT_OK(s_names("CN=www.example.com", s_ok_dns, 1, ip, 1, &asked));
    H2A_ASSERT_OK(h2a_cert_names_within(&got, &asked));
    h2a_cert_names_cleanup(&got);
    X509_free(x);
    /* An issuer that adds a SAN, or a CN outside the SANs. */
    x = s_cert("www.example.com", "DNS:www.example.com,DNS:extra.example.com");
    H2A_ASSERT_OK(h2a_cert_names_from_x509(x, &got));
    H2A_ASSERT_ERR(h2a_cert_names_within(&got, &asked), H2A_ERR_POLICY,
                   "names DNS 'extra.example.com', which the request did not ask for");
    h2a_cert_names_cleanup(&got);
    X509_free(x);
    x = s_cert("www.evil.com", "DNS:www.example.com");
    H2A_ASSERT_OK(h2a_cert_names_from_x509(x, &got));
    assert_true(got.cn_added);
    H2A_ASSERT_ERR(h2a_cert_names_within(&got, &asked), H2A_ERR_POLICY, "www.evil.com");
    h2a_cert_names_cleanup(&got);
    X509_free(x);
    /* Names no rule checks are refused outright. */
    x = s_cert("www.example.com", "DNS:www.example.com,email:a@example.com");
    H2A_ASSERT_ERR(h2a_cert_names_from_x509(x, &got), H2A_ERR_INPUT,
                   "neither a DNS name nor an IP address");
    X509_free(x);
    x = s_cert(NULL, "DNS:www.example.com");
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"a.example.com", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"b.example.com", -1, -1, 0);
    H2A_ASSERT_ERR(h2a_cert_names_from_x509(x, &got), H2A_ERR_INPUT,
                   "certificate subject: more than one CN");
    X509_free(x);
    h2a_cert_names_cleanup(&asked);
}

/* Issue 17 item 2: every usage a TLS leaf for ACM must not carry. */
static void test_usage(void **state)
{
    static const struct {
        h2a_keytype kt;
        unsigned ku, eku;
        const char *needle;
    } bad[] = {
        {H2A_KT_EC_P256, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_CRL_SIGNING, 0, "CRL_SIGNING"},
        {H2A_KT_RSA_2048, H2A_KU_CERTIFICATE_SIGNING, 0, "CERTIFICATE_SIGNING"},
        {H2A_KT_EC_P384, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT, 0,
         "KEY_ENCIPHERMENT does not fit a EC_secp384r1 key"},
        {H2A_KT_EC_P256, H2A_KU_DATA_ENCIPHERMENT, 0, "DATA_ENCIPHERMENT"},
        {H2A_KT_RSA_3072, H2A_KU_KEY_AGREEMENT, 0, "KEY_AGREEMENT does not fit"},
        {H2A_KT_EC_P256, H2A_KU_KEY_AGREEMENT | H2A_KU_DECIPHER_ONLY, 0, "DECIPHER_ONLY"},
        {H2A_KT_EC_P256, H2A_KU_KEY_AGREEMENT | H2A_KU_ENCIPHER_ONLY, 0, "ENCIPHER_ONLY"},
        {H2A_KT_RSA_2048, H2A_KU_DECIPHER_ONLY, 0, "DECIPHER_ONLY"},
        {H2A_KT_RSA_2048, H2A_KU_DIGITAL_SIGNATURE, H2A_EKU_ANY, "ExtendedKeyUsage ANY"},
    };
    H2A_POLICY *p = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_policy_load(NULL, &p));
    for (size_t i = 0; i < N(bad); i++) {
        H2A_ASSERT_ERR(h2a_policy_check_usage(p, bad[i].kt, bad[i].ku, bad[i].eku),
                       H2A_ERR_POLICY, bad[i].needle);
    }
    H2A_ASSERT_OK(h2a_policy_check_usage(p, H2A_KT_EC_P256,
                                         H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_AGREEMENT,
                                         H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION));
    H2A_ASSERT_OK(h2a_policy_check_usage(p, H2A_KT_RSA_2048,
                                         h2a_policy_csr_key_usage(p, H2A_KT_RSA_2048),
                                         h2a_policy_csr_ext_key_usage(p)));
    h2a_policy_free(p);
    /* The policy file cannot make them the default either. */
    {
        static const char j[] = "{\"csr\": {\"key_usage\": [\"DIGITAL_SIGNATURE\", "
                                "\"DECIPHER_ONLY\"]}}";

        H2A_ASSERT_ERR(h2a_policy_parse(j, strlen(j), "u.json", &p), H2A_ERR_INPUT,
                       "csr.key_usage[1]: DECIPHER_ONLY is refused");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cn_among_sans),  cmocka_unit_test(test_cn_added),
        cmocka_unit_test(test_cn_refused_syntax), cmocka_unit_test(test_cn_policy),
        cmocka_unit_test(test_cn_authorization), cmocka_unit_test(test_from_x509),
        cmocka_unit_test(test_usage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
