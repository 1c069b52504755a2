/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* Request rules: key type, digest, SANs, authorization, target (CloudFront). */

#include <openssl/obj_mac.h>

#include "h2a_test.h"
#include "h2a_policy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static H2A_POLICY *s_pol(const char *json)
{
    H2A_POLICY *p = NULL;

    if (json == NULL) {
        H2A_ASSERT_OK(h2a_policy_load(NULL, &p));
    } else {
        H2A_ASSERT_OK(h2a_policy_parse(json, strlen(json), "rules.json", &p));
    }
    return p;
}

static void test_keytype(void **state)
{
    H2A_POLICY *p = s_pol("{\"key_algorithms\": [\"RSA_3072\", \"EC_secp384r1\"]}");

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_keytype(p, H2A_KT_RSA_3072));
    H2A_ASSERT_OK(h2a_policy_check_keytype(p, H2A_KT_EC_P384));
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_EC_P521), H2A_ERR_POLICY,
                   "policy.key_algorithms does not allow EC_secp521r1");
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_RSA_2048), H2A_ERR_POLICY,
                   "policy.key_algorithms does not allow RSA_2048");
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_NONE), H2A_ERR_INPUT, "key type");
    h2a_policy_free(p);

    p = s_pol("{\"key_algorithms\": [\"RSA_4096\", \"EC_prime256v1\"], \"min_rsa_bits\": 4096}");
    H2A_ASSERT_OK(h2a_policy_check_keytype(p, H2A_KT_RSA_4096));
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_RSA_3072), H2A_ERR_POLICY,
                   "policy.min_rsa_bits is 4096");
    h2a_policy_free(p);
}

static void test_digest(void **state)
{
    H2A_POLICY *p = s_pol("{\"digests\": [\"sha384\"]}");

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_digest(p, NID_sha384));
    H2A_ASSERT_ERR(h2a_policy_check_digest(p, NID_sha256), H2A_ERR_POLICY,
                   "policy.digests does not allow sha256");
    H2A_ASSERT_ERR(h2a_policy_check_digest(p, NID_sha512), H2A_ERR_POLICY,
                   "policy.digests does not allow sha512");
    H2A_ASSERT_ERR(h2a_policy_check_digest(p, NID_sha1), H2A_ERR_POLICY,
                   "digest 'SHA1' is never allowed");
    H2A_ASSERT_ERR(h2a_policy_check_digest(p, NID_md5), H2A_ERR_POLICY, "is never allowed");
    h2a_policy_free(p);
}

static void test_names_default(void **state)
{
    H2A_POLICY *p = s_pol(NULL);
    const char *ok[] = {"www.example.com", "Example.ORG", "a-b.c1.example.net", "localhost"};
    const char *wild[] = {"www.example.com", "*.example.com"};
    const char *ip[] = {"192.0.2.1"};

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_names(p, ok, N(ok), NULL, 0));
    H2A_ASSERT_OK(h2a_policy_check_names(p, NULL, 0, NULL, 0));
    H2A_ASSERT_ERR(h2a_policy_check_names(p, wild, N(wild), NULL, 0), H2A_ERR_POLICY,
                   "policy.san.allow_wildcards is false: dns[1] '*.example.com'");
    H2A_ASSERT_ERR(h2a_policy_check_names(p, ok, 1, ip, 1), H2A_ERR_POLICY,
                   "policy.san.allow_ip is false: ip[0] '192.0.2.1'");
    h2a_policy_free(p);
}

static void test_names_syntax(void **state)
{
    H2A_POLICY *p = s_pol("{\"san\": {\"allow_wildcards\": true, \"allow_ip\": true}}");
    static const struct {
        const char *name;
        const char *needle;
    } bad[] = {
        {"", "dns[0]: empty DNS name"},
        {"exa_mple.com", "label 'exa_mple' is not letters, digits and hyphens"},
        {"-www.example.com", "starts or ends with a hyphen"},
        {"www-.example.com", "starts or ends with a hyphen"},
        {"www..example.com", "empty label"},
        {".example.com", "empty label"},
        {"www.example.com.", "ends with a dot"},
        {"a*.example.com", "'*' must be the whole leftmost label"},
        {"www.*.example.com", "'*' must be the whole leftmost label"},
        {"*.com", "a wildcard must be followed by at least two labels"},
        {"*", "'*' must be the whole leftmost label"},
        {"caf\xc3\xa9.example.com", "is not letters, digits and hyphens"},
        {"a b.example.com", "is not letters, digits and hyphens"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
         "has a label of 64 bytes (at most 63)"},
    };
    char longname[300];

    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        const char *one[] = {bad[i].name};

        H2A_ASSERT_ERR(h2a_policy_check_names(p, one, 1, NULL, 0), H2A_ERR_INPUT,
                       bad[i].needle);
        assert_non_null(strstr(h2a_err_msg(), "dns[0]"));
    }
    /* 254 bytes: labels of 9 + dots. */
    longname[0] = '\0';
    while (strlen(longname) < 254) {
        strncat(longname, "abcdefghi.", sizeof(longname) - strlen(longname) - 1);
    }
    longname[254] = '\0';
    longname[253] = 'x';
    {
        const char *one[] = {longname};

        H2A_ASSERT_ERR(h2a_policy_check_names(p, one, 1, NULL, 0), H2A_ERR_INPUT,
                       "DNS name of 254 bytes (at most 253)");
    }
    {
        const char *dup[] = {"www.example.com", "WWW.example.com"};
        const char *ips[] = {"10.0.0.1", "1.2.3", "::1"};
        const char *ipdup[] = {"10.0.0.1", "10.0.0.1"};
        const char *ip6[] = {"2001:db8::1", "192.0.2.7"};

        H2A_ASSERT_ERR(h2a_policy_check_names(p, dup, 2, NULL, 0), H2A_ERR_INPUT,
                       "dns[1]: 'WWW.example.com' repeats dns[0]");
        H2A_ASSERT_ERR(h2a_policy_check_names(p, NULL, 0, ips, 3), H2A_ERR_INPUT,
                       "ip[1]: '1.2.3' is not an IPv4 or IPv6 address");
        H2A_ASSERT_ERR(h2a_policy_check_names(p, NULL, 0, ipdup, 2), H2A_ERR_INPUT,
                       "ip[1]: '10.0.0.1' repeats ip[0]");
        H2A_ASSERT_OK(h2a_policy_check_names(p, dup, 1, ip6, 2));
    }
    /* Syntax comes before policy: a bad name is bad input even if IPs are refused. */
    h2a_policy_free(p);
    p = s_pol(NULL);
    {
        const char *one[] = {"bad_name.example.com"};
        const char *ips[] = {"10.0.0.1"};

        H2A_ASSERT_ERR(h2a_policy_check_names(p, one, 1, ips, 1), H2A_ERR_INPUT, "dns[0]");
    }
    h2a_policy_free(p);
}

static void test_names_suffixes(void **state)
{
    H2A_POLICY *p = s_pol("{\"san\": {\"dns_suffixes\": [\"example.com\", \"svc.example.net\"], "
                          "\"allow_wildcards\": true, \"max_names\": 3}}");
    const char *ok[] = {"example.com", "www.EXAMPLE.com", "*.svc.example.net"};
    const char *outside[] = {"www.example.com", "badexample.com"};
    const char *parent[] = {"example.net"};
    const char *wide_wild[] = {"*.example.net"};
    const char *four[] = {"a.example.com", "b.example.com", "c.example.com", "d.example.com"};
    const char *ip[] = {"10.0.0.1"};

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_names(p, ok, N(ok), NULL, 0));
    H2A_ASSERT_ERR(h2a_policy_check_names(p, outside, 2, NULL, 0), H2A_ERR_POLICY,
                   "policy.san.dns_suffixes does not allow dns[1] 'badexample.com'");
    H2A_ASSERT_ERR(h2a_policy_check_names(p, parent, 1, NULL, 0), H2A_ERR_POLICY,
                   "policy.san.dns_suffixes does not allow dns[0] 'example.net'");
    /* A wildcard covering more than the suffix is refused. */
    H2A_ASSERT_ERR(h2a_policy_check_names(p, wide_wild, 1, NULL, 0), H2A_ERR_POLICY,
                   "does not allow dns[0] '*.example.net'");
    H2A_ASSERT_ERR(h2a_policy_check_names(p, four, 4, NULL, 0), H2A_ERR_POLICY,
                   "policy.san.max_names is 3: the request has 4 names");
    H2A_ASSERT_OK(h2a_policy_check_names(p, four, 3, NULL, 0));
    h2a_policy_free(p);

    /* IPs count towards max_names. */
    p = s_pol("{\"san\": {\"allow_ip\": true, \"max_names\": 3}}");
    H2A_ASSERT_ERR(h2a_policy_check_names(p, four, 3, ip, 1), H2A_ERR_POLICY,
                   "policy.san.max_names is 3: the request has 4 names");
    H2A_ASSERT_OK(h2a_policy_check_names(p, four, 2, ip, 1));
    h2a_policy_free(p);
}

static const char s_auth_json[] =
    "{\"san\": {\"allow_wildcards\": true},"
    " \"authorization\": {"
    "  \"team-web\": {\"dns_suffixes\": [\"web.example.com\", \"example.org\"],"
    "                \"accounts\": [\"123456789012\", \"210987654321\"]},"
    "  \"ops\": {\"dns_suffixes\": [\"*\"], \"accounts\": [\"*\"]},"
    "  \"edge\": {\"dns_suffixes\": [\"cdn.example.com\"], \"accounts\": [\"*\"]}}}";

static void test_authorization(void **state)
{
    H2A_POLICY *p = s_pol(s_auth_json);
    const char *web[] = {"www.web.example.com", "example.org", "*.web.example.com"};
    const char *other[] = {"www.web.example.com", "www.example.com"};
    const char *cdn[] = {"img.cdn.example.com"};

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "team-web", web, N(web), "123456789012"));
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "team-web", web, 1, "210987654321"));
    /* Suffix. */
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "team-web", other, 2, "123456789012"),
                   H2A_ERR_POLICY,
                   "policy.authorization.team-web.dns_suffixes does not allow dns[1] "
                   "'www.example.com'");
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "team-web", cdn, 1, "123456789012"),
                   H2A_ERR_POLICY, "dns[0] 'img.cdn.example.com'");
    /* Account. */
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "team-web", web, 1, "999999999999"),
                   H2A_ERR_POLICY,
                   "policy.authorization.team-web.accounts does not allow account "
                   "999999999999");
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "team-web", web, 1, NULL),
                   H2A_ERR_POLICY, "the target account is not known");
    /* Unknown requester, requester names are case-sensitive. */
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "team-db", web, 1, "123456789012"),
                   H2A_ERR_POLICY, "policy.authorization does not list requester 'team-db'");
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "Team-Web", web, 1, "123456789012"),
                   H2A_ERR_POLICY, "does not list requester 'Team-Web'");
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, NULL, web, 1, "123456789012"),
                   H2A_ERR_INPUT, "requester: missing");
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "", web, 1, "123456789012"),
                   H2A_ERR_INPUT, "requester: missing");
    /* "*" lists. */
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "ops", other, 2, "555555555555"));
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "ops", other, 2, NULL));
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "edge", cdn, 1, NULL));
    H2A_ASSERT_ERR(h2a_policy_check_authorization(p, "edge", web, 1, NULL), H2A_ERR_POLICY,
                   "policy.authorization.edge.dns_suffixes does not allow dns[0]");
    h2a_policy_free(p);

    /* No authorization section: anyone, any account, even without a requester. */
    p = s_pol(NULL);
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, "anyone", other, 2, "123456789012"));
    H2A_ASSERT_OK(h2a_policy_check_authorization(p, NULL, other, 2, NULL));
    h2a_policy_free(p);
}

static void test_target(void **state)
{
    H2A_POLICY *p = s_pol(NULL);

    (void)state;
    /* CloudFront: us-east-1 with RSA (all our sizes) or P-256. */
    H2A_ASSERT_OK(h2a_policy_check_target(p, H2A_KT_RSA_2048, "us-east-1", "cloudfront"));
    H2A_ASSERT_OK(h2a_policy_check_target(p, H2A_KT_RSA_3072, "us-east-1", "cloudfront"));
    H2A_ASSERT_OK(h2a_policy_check_target(p, H2A_KT_RSA_4096, "us-east-1", "cloudfront"));
    H2A_ASSERT_OK(h2a_policy_check_target(p, H2A_KT_EC_P256, "us-east-1", "cloudfront"));
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_EC_P384, "us-east-1", "cloudfront"),
                   H2A_ERR_POLICY, "target rule cloudfront: key EC_secp384r1 is not accepted");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_EC_P521, "us-east-1", "cloudfront"),
                   H2A_ERR_POLICY, "key EC_secp521r1 is not accepted");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_RSA_2048, "eu-west-1", "cloudfront"),
                   H2A_ERR_POLICY,
                   "target rule cloudfront: the certificate must be in region us-east-1, not "
                   "eu-west-1");
    /* ELB and no hint: every key type, any region. */
    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        H2A_ASSERT_OK(h2a_policy_check_target(p, (h2a_keytype)t, "eu-central-1", "elb"));
        H2A_ASSERT_OK(h2a_policy_check_target(p, (h2a_keytype)t, "ap-southeast-2", NULL));
    }
    /* Bad input. */
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_RSA_2048, "us-east-1", "alb"),
                   H2A_ERR_INPUT, "service hint: 'alb' is unknown");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_RSA_2048, "", NULL), H2A_ERR_INPUT,
                   "region: missing");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_RSA_2048, NULL, "elb"), H2A_ERR_INPUT,
                   "region: missing");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_RSA_2048, "US-EAST-1", "cloudfront"),
                   H2A_ERR_INPUT, "region: 'US-EAST-1' is not an AWS region name");
    H2A_ASSERT_ERR(h2a_policy_check_target(p, H2A_KT_NONE, "us-east-1", NULL), H2A_ERR_INPUT,
                   "key type");
    /* The rules are facts about AWS: they hold without a policy. */
    H2A_ASSERT_ERR(h2a_policy_check_target(NULL, H2A_KT_EC_P384, "us-east-1", "cloudfront"),
                   H2A_ERR_POLICY, "not accepted");
    h2a_policy_free(p);
}

static void test_null_policy(void **state)
{
    (void)state;
    H2A_ASSERT_ERR(h2a_policy_check_keytype(NULL, H2A_KT_RSA_2048), H2A_ERR_INTERNAL,
                   "not loaded");
    H2A_ASSERT_ERR(h2a_policy_check_digest(NULL, NID_sha256), H2A_ERR_INTERNAL, "not loaded");
    H2A_ASSERT_ERR(h2a_policy_check_names(NULL, NULL, 0, NULL, 0), H2A_ERR_INTERNAL,
                   "not loaded");
    h2a_policy_free(NULL);
}

static void test_check_usage(void **state)
{
    H2A_POLICY *p = s_pol(NULL);
    unsigned srv = H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION;

    (void)state;
    H2A_ASSERT_OK(h2a_policy_check_usage(p, H2A_KT_RSA_2048,
                                         H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT,
                                         srv | H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION));
    H2A_ASSERT_OK(h2a_policy_check_usage(p, H2A_KT_EC_P384,
                                         H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_AGREEMENT, srv));
    H2A_ASSERT_OK(h2a_policy_check_usage(p, H2A_KT_EC_P256, 0, 0));
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_EC_P256,
                                          H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT,
                                          srv),
                   H2A_ERR_POLICY, "KeyUsage KEY_ENCIPHERMENT does not fit a EC_prime256v1 key");
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_RSA_3072, H2A_KU_KEY_AGREEMENT, srv),
                   H2A_ERR_POLICY, "KeyUsage KEY_AGREEMENT does not fit a RSA_3072 key");
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_RSA_3072,
                                          H2A_KU_DIGITAL_SIGNATURE | H2A_KU_CERTIFICATE_SIGNING,
                                          srv),
                   H2A_ERR_POLICY, "KeyUsage CERTIFICATE_SIGNING is refused");
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_EC_P521, H2A_KU_CRL_SIGNING, srv),
                   H2A_ERR_POLICY, "KeyUsage CRL_SIGNING is refused");
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_EC_P521, H2A_KU_DIGITAL_SIGNATURE,
                                          srv | H2A_EKU_ANY),
                   H2A_ERR_POLICY, "ExtendedKeyUsage ANY cannot be requested");
    H2A_ASSERT_ERR(h2a_policy_check_usage(p, H2A_KT_NONE, 0, 0), H2A_ERR_INPUT, "key type");
    h2a_policy_free(p);
}

static void test_usage_names(void **state)
{
    unsigned bit = 0;
    h2a_buf b;

    (void)state;
    H2A_ASSERT_OK(h2a_ku_from_acm_name("KEY_ENCIPHERMENT", &bit));
    assert_int_equal(bit, H2A_KU_KEY_ENCIPHERMENT);
    assert_string_equal(h2a_ku_acm_name(H2A_KU_CRL_SIGNING), "CRL_SIGNING");
    assert_null(h2a_ku_acm_name(H2A_KU_CRL_SIGNING | H2A_KU_KEY_AGREEMENT));
    H2A_ASSERT_ERR(h2a_ku_from_acm_name("digitalSignature", &bit), H2A_ERR_INPUT,
                   "KeyUsage name 'digitalSignature' is unknown");
    H2A_ASSERT_OK(h2a_eku_from_acm_name("IPSEC_USER", &bit));
    assert_int_equal(bit, H2A_EKU_IPSEC_USER);
    H2A_ASSERT_OK(h2a_eku_from_acm_name("NONE", &bit));
    assert_int_equal(bit, 0);
    assert_string_equal(h2a_eku_acm_name(H2A_EKU_OCSP_SIGNING), "OCSP_SIGNING");
    H2A_ASSERT_ERR(h2a_eku_from_acm_name("SERVER_AUTH", &bit), H2A_ERR_INPUT,
                   "ExtendedKeyUsage name 'SERVER_AUTH' is unknown");
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_ku_render_acm(H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT, &b));
    assert_string_equal((char *)b.data, "DIGITAL_SIGNATURE, KEY_ENCIPHERMENT");
    h2a_buf_reset(&b);
    H2A_ASSERT_OK(h2a_eku_render_acm(H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                                         H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION,
                                     &b));
    assert_string_equal((char *)b.data,
                        "TLS_WEB_SERVER_AUTHENTICATION, TLS_WEB_CLIENT_AUTHENTICATION");
    h2a_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keytype),        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_names_default),  cmocka_unit_test(test_names_syntax),
        cmocka_unit_test(test_names_suffixes), cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_target),         cmocka_unit_test(test_null_policy),
        cmocka_unit_test(test_usage_names),    cmocka_unit_test(test_check_usage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
