/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* Pure CSR input checks: subject syntax, DNS/IP rules, KU/EKU/digest names. */

#include "h2a_test.h"

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "h2a_keygen.h"

/* Subject text → "C=DE,O=Ex,CN=a" as OpenSSL prints it in DER order. */
static char *s_subject_oneline(const char *text)
{
    X509_NAME *name = NULL;
    char *line;

    H2A_ASSERT_OK(h2a_subject_parse("subject", text, &name));
    line = X509_NAME_oneline(name, NULL, 0);
    X509_NAME_free(name);
    assert_non_null(line);
    return line;
}

static void test_subject_forms(void **state)
{
    char *a, *b;

    (void)state;
    /* Comma form is RFC 4514 order, slash form openssl -subj order: same DER. */
    a = s_subject_oneline("CN=www.example.com,O=Example,C=DE");
    b = s_subject_oneline("/C=DE/O=Example/CN=www.example.com");
    assert_string_equal(a, "/C=DE/O=Example/CN=www.example.com");
    assert_string_equal(a, b);
    OPENSSL_free(a);
    OPENSSL_free(b);
    /* Spaces around separators, escapes, case-insensitive names, OIDs. */
    a = s_subject_oneline("cn = a.example.com , o=Ex\\, Inc");
    assert_string_equal(a, "/O=Ex, Inc/CN=a.example.com");
    OPENSSL_free(a);
    a = s_subject_oneline("/O=a\\/b/2.5.4.3=x");
    assert_string_equal(a, "/O=a\\/b/CN=x");
    OPENSSL_free(a);
    /* Exactly 64 bytes is allowed. */
    a = s_subject_oneline("CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    OPENSSL_free(a);
}

static void test_subject_bad(void **state)
{
    X509_NAME *n = NULL;
    char big[H2A_SUBJECT_MAX + 8];

    (void)state;
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "", &n), H2A_ERR_INPUT, "subject: empty");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "/", &n), H2A_ERR_INPUT, "subject: empty");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", NULL, &n), H2A_ERR_INPUT, "subject: empty");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN", &n), H2A_ERR_INPUT, "not TYPE=VALUE");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=", &n), H2A_ERR_INPUT, "empty value");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=a,,O=b", &n), H2A_ERR_INPUT,
                   "empty attribute");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=a,", &n), H2A_ERR_INPUT, "empty attribute");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "XX=a", &n), H2A_ERR_INPUT,
                   "unknown attribute 'XX'");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=a+O=b", &n), H2A_ERR_INPUT,
                   "multi-valued");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "C=DEU", &n), H2A_ERR_INPUT, "two-letter");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=a\\", &n), H2A_ERR_INPUT, "lone");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=a\tb", &n), H2A_ERR_INPUT, "UTF-8");
    H2A_ASSERT_ERR(h2a_subject_parse("subject", "CN=\xff\xfe", &n), H2A_ERR_INPUT, "UTF-8");
    H2A_ASSERT_ERR(
        h2a_subject_parse("subject",
                          "CN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &n),
        H2A_ERR_INPUT, "longer than 64 bytes");
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "CN=", 3);
    big[sizeof(big) - 1] = '\0';
    H2A_ASSERT_ERR(h2a_subject_parse("subject", big, &n), H2A_ERR_INPUT, "at most 1024");
    assert_null(n);
}

static void test_dns(void **state)
{
    static const char *const good[] = {
        "example.com", "a", "www.example.com", "*.example.com", "xn--bcher-kva.example",
        "a-b.c-d.e", "123.example.com",
    };
    char label64[80], name254[260];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        H2A_ASSERT_OK(h2a_dns_name_check("dns[0]", good[i]));
    }
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[3]", ""), H2A_ERR_INPUT, "dns[3]: empty");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "a..b"), H2A_ERR_INPUT, "empty label");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", ".a.b"), H2A_ERR_INPUT, "empty label");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "a.b."), H2A_ERR_INPUT, "ends with a dot");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "a_b.com"), H2A_ERR_INPUT, "LDH");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "a b.com"), H2A_ERR_INPUT, "LDH");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "-ab.com"), H2A_ERR_INPUT, "starts with a hyphen");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "ab-.com"), H2A_ERR_INPUT, "ends with a hyphen");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "a.*.com"), H2A_ERR_INPUT, "leftmost");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "w*.example.com"), H2A_ERR_INPUT, "leftmost");
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[1]", "*.com"), H2A_ERR_INPUT, "two labels");
    memset(label64, 'a', 64);
    memcpy(label64 + 64, ".com", 5);
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[2]", label64), H2A_ERR_INPUT, "at most 63");
    label64[0] = '.'; /* 63-byte label after an empty one: fix it instead */
    memset(label64, 'a', 63);
    memcpy(label64 + 63, ".com", 5);
    H2A_ASSERT_OK(h2a_dns_name_check("dns[2]", label64));
    /* 254 bytes in labels of 9 + dot. */
    for (size_t i = 0; i < 254; i++) {
        name254[i] = (i % 10 == 9) ? '.' : 'a';
    }
    name254[254] = '\0';
    H2A_ASSERT_ERR(h2a_dns_name_check("dns[0]", name254), H2A_ERR_INPUT, "at most 253");
    name254[253] = '\0';
    name254[252] = 'a';
    H2A_ASSERT_OK(h2a_dns_name_check("dns[0]", name254));
}

static void test_validate(void **state)
{
    const char *dns[] = {"a.example.com", "b.example.com"};
    const char *ips[] = {"10.0.0.1", "2001:db8::1", "1.2.3"};
    const char *dup[] = {"a.example.com", "A.EXAMPLE.COM"};
    struct h2a_csr_req r = {"CN=a.example.com", dns, 2, ips, 2, 0, 0, 0, false};

    (void)state;
    H2A_ASSERT_OK(h2a_csr_validate(&r));
    r.n_ip = 3;
    H2A_ASSERT_ERR(h2a_csr_validate(&r), H2A_ERR_INPUT, "ip[2]: '1.2.3' is not an IPv4 or IPv6");
    r.n_ip = 2;
    r.dns = dup;
    H2A_ASSERT_ERR(h2a_csr_validate(&r), H2A_ERR_INPUT, "dns[1]: 'A.EXAMPLE.COM' repeats dns[0]");
    r.dns = dns;
    r.md_nid = NID_sha1;
    H2A_ASSERT_ERR(h2a_csr_validate(&r), H2A_ERR_INPUT, "digest");
    r.md_nid = NID_sha384;
    H2A_ASSERT_OK(h2a_csr_validate(&r));
    r.key_usage = 0x1000;
    H2A_ASSERT_ERR(h2a_csr_validate(&r), H2A_ERR_INPUT, "key_usage");
    r.key_usage = H2A_KU_DIGITAL_SIGNATURE;
    r.pss = true;
    H2A_ASSERT_OK(h2a_csr_check_key(&r, H2A_KT_RSA_3072));
    H2A_ASSERT_ERR(h2a_csr_check_key(&r, H2A_KT_EC_P384), H2A_ERR_INPUT, "pss: RSA-PSS needs");
    r.subject = "";
    H2A_ASSERT_ERR(h2a_csr_validate(&r), H2A_ERR_INPUT, "subject: empty");
}

static void test_names(void **state)
{
    unsigned ku = 0, eku = 0;
    int nid = 0;

    (void)state;
    H2A_ASSERT_OK(h2a_csr_ku_parse("--key-usage", "DIGITAL_SIGNATURE, key_encipherment", &ku));
    assert_int_equal(ku, H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT);
    H2A_ASSERT_ERR(h2a_csr_ku_parse("--key-usage", "SIGN", &ku), H2A_ERR_INPUT,
                   "--key-usage: unknown KeyUsage name 'SIGN'");
    H2A_ASSERT_ERR(h2a_csr_ku_parse("--key-usage", "", &ku), H2A_ERR_INPUT, "empty");
    H2A_ASSERT_OK(h2a_csr_eku_parse("--eku", "TLS_WEB_SERVER_AUTHENTICATION,"
                                             "TLS_WEB_CLIENT_AUTHENTICATION", &eku));
    assert_int_equal(eku, H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                              H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION);
    assert_string_equal(h2a_csr_eku_name(H2A_EKU_IPSEC_USER), "IPSEC_USER");
    assert_null(h2a_csr_ku_name(3));
    H2A_ASSERT_OK(h2a_csr_digest_parse("--digest", "SHA-384", &nid));
    assert_int_equal(nid, NID_sha384);
    H2A_ASSERT_ERR(h2a_csr_digest_parse("--digest", "md5", &nid), H2A_ERR_INPUT, "'md5'");
    assert_string_equal(h2a_csr_digest_name(NID_sha512), "sha512");
}

static void test_label(void **state)
{
    (void)state;
    H2A_ASSERT_OK(h2a_keygen_label_check("--label", "web-2026 key"));
    H2A_ASSERT_ERR(h2a_keygen_label_check("--label", ""), H2A_ERR_INPUT, "--label: empty");
    H2A_ASSERT_ERR(h2a_keygen_label_check("--label", " x"), H2A_ERR_INPUT, "space");
    H2A_ASSERT_ERR(h2a_keygen_label_check("--label", "a\nb"), H2A_ERR_INPUT, "0x0a");
    H2A_ASSERT_ERR(h2a_keygen_label_check(
                       "--label",
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                   H2A_ERR_INPUT, "at most 64");
}

static void test_pkcs8_padding_rules(void **state)
{
    /* A minimal structurally valid PKCS#8 needs a real key: use P-256. */
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL, buf[256];
    int len;
    size_t used = 0;
    PKCS8_PRIV_KEY_INFO *p8;

    (void)state;
    assert_non_null(pk);
    p8 = EVP_PKEY2PKCS8(pk);
    assert_non_null(p8);
    len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    assert_true(len > 0 && (size_t)len + 9 < sizeof(buf));
    memset(buf, 0, sizeof(buf));
    memcpy(buf, der, (size_t)len);
    for (size_t pad = 0; pad <= 7; pad++) {
        H2A_ASSERT_OK(h2a_pkcs8_check_padded(buf, (size_t)len + pad, &used));
        assert_int_equal(used, (size_t)len);
    }
    H2A_ASSERT_ERR(h2a_pkcs8_check_padded(buf, (size_t)len + 8, &used), H2A_ERR_VERIFY,
                   "at most 7 bytes");
    buf[len + 2] = 0x01;
    H2A_ASSERT_ERR(h2a_pkcs8_check_padded(buf, (size_t)len + 4, &used), H2A_ERR_VERIFY,
                   "padding byte 2");
    H2A_ASSERT_ERR(h2a_pkcs8_check_padded(buf, (size_t)len - 1, &used), H2A_ERR_VERIFY,
                   "not a DER PKCS#8");
    H2A_ASSERT_ERR(h2a_pkcs8_check_padded(buf + 1, (size_t)len, &used), H2A_ERR_VERIFY,
                   "not a DER PKCS#8");
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_clear_free(der, (size_t)len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(pk);
}

/*
 * Parser robustness: many random strings over the characters that matter
 * (separators, escapes, '=', '+', spaces, high bytes). Each must either
 * parse or fail with H2A_ERR_INPUT; ASan/UBSan builds catch any overrun.
 */
static void test_subject_random(void **state)
{
    static const char alphabet[] = ",/\\=+ CNOaz.0-\xc3\xa9\x01";
    char text[48];
    unsigned seed = 12345;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        size_t len = (seed = seed * 1103515245u + 12345u) % (sizeof(text) - 1);
        X509_NAME *n = NULL;
        h2a_err rv;

        for (size_t j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            text[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        rv = h2a_subject_parse("subject", text, &n);
        assert_true(rv == H2A_OK || rv == H2A_ERR_INPUT);
        assert_true((rv == H2A_OK) == (n != NULL));
        X509_NAME_free(n);
        rv = h2a_dns_name_check("dns[0]", text);
        assert_true(rv == H2A_OK || rv == H2A_ERR_INPUT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_forms), cmocka_unit_test(test_subject_bad),
        cmocka_unit_test(test_dns),           cmocka_unit_test(test_validate),
        cmocka_unit_test(test_names),         cmocka_unit_test(test_label),
        cmocka_unit_test(test_pkcs8_padding_rules), cmocka_unit_test(test_subject_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
