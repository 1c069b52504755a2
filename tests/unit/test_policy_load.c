/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* Policy files: the default, every key, and every way a file can be bad. */

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/obj_mac.h>

#include "h2a_test.h"
#include "h2a_policy.h"

static h2a_err s_parse(const char *json, H2A_POLICY **out)
{
    return h2a_policy_parse(json, strlen(json), "t.json", out);
}

/* The policy must be refused with H2A_ERR_INPUT and a message containing `needle`. */
static void s_bad(const char *json, const char *needle)
{
    H2A_POLICY *p = (H2A_POLICY *)0x1;

    H2A_ASSERT_ERR(s_parse(json, &p), H2A_ERR_INPUT, needle);
    assert_null(p);
    /* Every message says which file it is about. */
    assert_non_null(strstr(h2a_err_msg(), "t.json"));
}

static void s_render(const H2A_POLICY *p, h2a_buf *out)
{
    h2a_buf_init(out, 0);
    H2A_ASSERT_OK(h2a_policy_render(p, out));
}

static void test_default(void **state)
{
    H2A_POLICY *p = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_policy_load(NULL, &p));
    assert_string_equal(h2a_policy_origin(p), "built-in default");
    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        H2A_ASSERT_OK(h2a_policy_check_keytype(p, (h2a_keytype)t));
    }
    H2A_ASSERT_OK(h2a_policy_check_digest(p, NID_sha256));
    H2A_ASSERT_OK(h2a_policy_check_digest(p, NID_sha384));
    H2A_ASSERT_OK(h2a_policy_check_digest(p, NID_sha512));
    assert_int_equal(h2a_policy_on_incompatible(p), H2A_ON_INCOMPATIBLE_REFUSE);
    assert_int_equal(h2a_policy_max_names(p), 100);
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_RSA_3072),
                     H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT);
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_EC_P384), H2A_KU_DIGITAL_SIGNATURE);
    assert_int_equal(h2a_policy_csr_ext_key_usage(p), H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION);
    h2a_policy_free(p);
}

/* An empty object is the default, and renders exactly as the default. */
static void test_empty_object_is_default(void **state)
{
    H2A_POLICY *a = NULL;
    H2A_POLICY *b = NULL;
    h2a_buf ra;
    h2a_buf rb;

    (void)state;
    H2A_ASSERT_OK(h2a_policy_load(NULL, &a));
    H2A_ASSERT_OK(s_parse("{ }\n", &b));
    s_render(a, &ra);
    s_render(b, &rb);
    /* Only the source line differs. */
    assert_non_null(strstr((char *)rb.data, "(source: t.json)"));
    assert_string_equal(strchr((char *)ra.data, '\n'), strchr((char *)rb.data, '\n'));
    h2a_buf_free(&ra);
    h2a_buf_free(&rb);
    h2a_policy_free(a);
    h2a_policy_free(b);
}

static void test_full_file(void **state)
{
    static const char json[] =
        "{\"version\": 1,\n"
        " \"key_algorithms\": [\"RSA_4096\", \"EC_prime256v1\", \"RSA_3072\"],\n"
        " \"min_rsa_bits\": 3072,\n"
        " \"digests\": [\"sha384\", \"sha256\"],\n"
        " \"san\": {\"dns_suffixes\": [\"Example.COM\", \"example.net\"],\n"
        "         \"allow_wildcards\": true, \"allow_ip\": true, \"max_names\": 5},\n"
        " \"authorization\": {\"team-web\": {\"dns_suffixes\": [\"www.example.com\"],\n"
        "                                  \"accounts\": [\"210987654321\", \"123456789012\"]},\n"
        "                   \"ops\": {\"dns_suffixes\": [\"*\"], \"accounts\": [\"*\"]}},\n"
        " \"on_incompatible\": \"new-arn\",\n"
        " \"csr\": {\"key_usage\": [\"DIGITAL_SIGNATURE\", \"KEY_ENCIPHERMENT\", \"KEY_AGREEMENT\"],\n"
        "         \"extended_key_usage\": [\"TLS_WEB_SERVER_AUTHENTICATION\",\n"
        "                                  \"TLS_WEB_CLIENT_AUTHENTICATION\"]},\n"
        " \"renewal\": {\"before_expiry_days\": null, \"lifetime_fraction\": 0.5,\n"
        "             \"use_ari\": false, \"jitter_percent\": 0},\n"
        " \"keys\": {\"destroy_after_days\": 0}}\n";
    static const char want[] =
        "# hsm2acm effective policy (source: t.json)\n"
        "authorization = (listed requesters only)\n"
        "authorization.ops.accounts = (any)\n"
        "authorization.ops.dns_suffixes = (any)\n"
        "authorization.team-web.accounts = 123456789012, 210987654321\n"
        "authorization.team-web.dns_suffixes = www.example.com\n"
        "csr.extended_key_usage = TLS_WEB_CLIENT_AUTHENTICATION, "
        "TLS_WEB_SERVER_AUTHENTICATION\n"
        "csr.key_usage.ec = DIGITAL_SIGNATURE, KEY_AGREEMENT\n"
        "csr.key_usage.rsa = DIGITAL_SIGNATURE, KEY_ENCIPHERMENT\n"
        "digests = sha256, sha384\n"
        "key_algorithms = EC_prime256v1, RSA_3072, RSA_4096\n"
        "keys.destroy_after_days = 0\n"
        "keys.retain_generations = 2\n"
        "min_rsa_bits = 3072\n"
        "on_incompatible = new-arn\n"
        "renewal.before_expiry_days = (not set)\n"
        "renewal.jitter_percent = 0\n"
        "renewal.lifetime_fraction = 0.5\n"
        "renewal.min_remaining_for_rollback_days = 2\n"
        "renewal.use_ari = false\n"
        "san.allow_ip = true\n"
        "san.allow_wildcards = true\n"
        "san.dns_suffixes = example.com, example.net\n"
        "san.max_names = 5\n"
        "targets.cloudfront.key_algorithms = EC_prime256v1, RSA_3072, RSA_4096\n"
        "targets.cloudfront.region = us-east-1\n"
        "targets.elb.key_algorithms = EC_prime256v1, RSA_3072, RSA_4096\n"
        "version = 1\n";
    H2A_POLICY *p = NULL;
    h2a_buf r;

    (void)state;
    H2A_ASSERT_OK(s_parse(json, &p));
    s_render(p, &r);
    assert_string_equal((char *)r.data, want);
    h2a_buf_free(&r);

    assert_int_equal(h2a_policy_on_incompatible(p), H2A_ON_INCOMPATIBLE_NEW_ARN);
    assert_int_equal(h2a_policy_max_names(p), 5);
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_RSA_4096),
                     H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT);
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_EC_P256),
                     H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_AGREEMENT);
    assert_int_equal(h2a_policy_csr_ext_key_usage(p),
                     H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                         H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION);
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_RSA_2048), H2A_ERR_POLICY,
                   "policy.min_rsa_bits is 3072");
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_EC_P384), H2A_ERR_POLICY,
                   "policy.key_algorithms does not allow EC_secp384r1");
    H2A_ASSERT_ERR(h2a_policy_check_digest(p, NID_sha512), H2A_ERR_POLICY,
                   "policy.digests does not allow sha512");
    h2a_policy_free(p);
}

/* An explicitly empty csr list means "ask for no such extension". */
static void test_csr_empty_lists(void **state)
{
    H2A_POLICY *p = NULL;

    (void)state;
    H2A_ASSERT_OK(s_parse("{\"csr\": {\"key_usage\": [], \"extended_key_usage\": []}}", &p));
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_RSA_2048), 0);
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_EC_P256), 0);
    assert_int_equal(h2a_policy_csr_ext_key_usage(p), 0);
    h2a_policy_free(p);
}

/* A min_rsa_bits that forbids every RSA size is fine when no RSA is listed. */
static void test_min_rsa_without_rsa(void **state)
{
    H2A_POLICY *p = NULL;

    (void)state;
    H2A_ASSERT_OK(s_parse("{\"key_algorithms\": [\"EC_secp384r1\"], \"min_rsa_bits\": 4096}",
                          &p));
    H2A_ASSERT_ERR(h2a_policy_check_keytype(p, H2A_KT_RSA_4096), H2A_ERR_POLICY,
                   "policy.key_algorithms does not allow RSA_4096");
    H2A_ASSERT_OK(h2a_policy_check_keytype(p, H2A_KT_EC_P384));
    h2a_policy_free(p);
}

static void test_not_json(void **state)
{
    (void)state;
    s_bad("{\"version\": 1,\n \"digests\": [\"sha256\"", "not valid JSON at line 2");
    s_bad("{\"version\": 1} trailing", "not valid JSON at line 1 column 16");
    s_bad("", "is empty");
    s_bad("{'version': 1}", "not valid JSON at line 1 column 2: single quote");
    s_bad("{\"san\": {\"allow_ip\": false},\n \"san\": {\"allow_ip\": true}}",
          "not valid JSON at line 2 column 3: key \"san\" appears twice");
    s_bad("{\"san\": {\"allow_ip\": false, \"max_names\": 3, \"allow_ip\": true}}",
          "key \"allow_ip\" appears twice in one object (at san.allow_ip)");
    s_bad("{\"authorization\": {\"t\": {\"accounts\": [\"*\"], \"dns_suffixes\": [\"*\"], "
          "\"accounts\": [\"*\"]}}}",
          "(at authorization.t.accounts)");
    s_bad("{\"on_incompatible\": \"ref\nuse\"}", "raw control character in a string");
    s_bad("{\"authorization\": {\"a\\u0000b\": {}}}", "\\u0000 in a string");
    s_bad("{\"version\": 1,}", "not valid JSON");
    s_bad("[1, 2]", "top level: expected a JSON object, got an array");
    s_bad("\"x\"", "top level: expected a JSON object, got a string");
}

static void test_unknown_keys(void **state)
{
    (void)state;
    s_bad("{\"key_algorithm\": [\"RSA_2048\"]}", "unknown key 'key_algorithm'");
    s_bad("{\"san\": {\"allow_wildcard\": true}}", "san: unknown key 'allow_wildcard'");
    s_bad("{\"csr\": {\"eku\": []}}", "csr: unknown key 'eku'");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"], \"accounts\": [\"*\"], "
          "\"regions\": []}}}",
          "authorization.t: unknown key 'regions'");
}

static void test_wrong_types(void **state)
{
    (void)state;
    s_bad("{\"version\": \"1\"}", "version: expected an integer, got a string");
    s_bad("{\"version\": 2}", "version: 2 is not supported");
    s_bad("{\"min_rsa_bits\": 2048.0}", "min_rsa_bits: expected an integer");
    s_bad("{\"min_rsa_bits\": 1024}", "min_rsa_bits: 1024 is out of range (2048..4096)");
    s_bad("{\"min_rsa_bits\": 8192}", "min_rsa_bits: 8192 is out of range");
    s_bad("{\"key_algorithms\": \"RSA_2048\"}", "key_algorithms: expected an array");
    s_bad("{\"key_algorithms\": [2048]}", "key_algorithms[0]: expected a string, got an integer");
    s_bad("{\"key_algorithms\": [\"\"]}", "key_algorithms[0]: empty string");
    s_bad("{\"digests\": \"sha256\"}", "digests: expected an array");
    s_bad("{\"san\": []}", "san: expected an object, got an array");
    s_bad("{\"san\": {\"allow_ip\": \"yes\"}}", "san.allow_ip: expected true or false");
    s_bad("{\"san\": {\"allow_wildcards\": 1}}", "san.allow_wildcards: expected true or false");
    s_bad("{\"san\": {\"max_names\": 0}}", "san.max_names: 0 is out of range (1..100)");
    s_bad("{\"san\": {\"max_names\": 101}}", "san.max_names: 101 is out of range");
    s_bad("{\"san\": {\"dns_suffixes\": \"example.com\"}}", "san.dns_suffixes: expected an array");
    s_bad("{\"on_incompatible\": true}", "on_incompatible: expected a string");
    s_bad("{\"on_incompatible\": \"new_arn\"}", "on_incompatible: 'new_arn' is not one of");
    s_bad("{\"csr\": {\"key_usage\": \"DIGITAL_SIGNATURE\"}}", "csr.key_usage: expected an array");
    s_bad("{\"authorization\": []}", "authorization: expected an object");
    s_bad("{\"authorization\": {\"t\": []}}", "authorization.t: expected an object");
    s_bad("{\"version\": null}", "version: expected an integer, got null");
}

static void test_algorithms(void **state)
{
    (void)state;
    s_bad("{\"key_algorithms\": [\"RSA_2048\", \"RSA_1024\"]}",
          "key_algorithms[1]: RSA_1024 is refused");
    s_bad("{\"key_algorithms\": [\"EC_secp256k1\"]}",
          "key_algorithms[0]: unknown algorithm 'EC_secp256k1'");
    s_bad("{\"key_algorithms\": [\"rsa_2048\"]}", "key_algorithms[0]: unknown algorithm");
    s_bad("{\"key_algorithms\": [\"ED25519\"]}", "key_algorithms[0]: unknown algorithm");
    s_bad("{\"key_algorithms\": []}", "key_algorithms: the list is empty");
    s_bad("{\"key_algorithms\": [\"RSA_2048\", \"RSA_2048\"]}",
          "key_algorithms[1]: RSA_2048 is listed twice");
    s_bad("{\"digests\": []}", "digests: the list is empty");
    s_bad("{\"digests\": [\"sha1\"]}", "digests[0]: 'sha1' is not allowed");
    s_bad("{\"digests\": [\"SHA256\"]}", "digests[0]: 'SHA256' is not allowed");
    s_bad("{\"digests\": [\"sha256\", \"sha256\"]}", "digests[1]: sha256 is listed twice");
}

static void test_contradictions(void **state)
{
    (void)state;
    s_bad("{\"key_algorithms\": [\"RSA_2048\"], \"min_rsa_bits\": 4096}",
          "min_rsa_bits: 4096 contradicts key_algorithms, which allows RSA_2048");
    /* The default list has RSA_2048 in it. */
    s_bad("{\"min_rsa_bits\": 3072}", "min_rsa_bits: 3072 contradicts key_algorithms");
    s_bad("{\"csr\": {\"key_usage\": [\"KEY_ENCIPHERMENT\"]}}",
          "csr.key_usage: leaves no KeyUsage for EC keys");
    s_bad("{\"key_algorithms\": [\"RSA_2048\"], \"csr\": {\"key_usage\": [\"KEY_AGREEMENT\"]}}",
          "csr.key_usage: leaves no KeyUsage for RSA keys");
    s_bad("{\"san\": {\"dns_suffixes\": [\"example.com\"]}, \"authorization\": {\"t\": "
          "{\"dns_suffixes\": [\"example.org\"], \"accounts\": [\"*\"]}}}",
          "authorization.t.dns_suffixes: 'example.org' lies outside every san.dns_suffixes");
    s_bad("{\"authorization\": {}}", "authorization: is empty");
}

static void test_consistent_is_fine(void **state)
{
    H2A_POLICY *p = NULL;

    (void)state;
    /* Both narrower and wider authorization suffixes overlap the SAN suffix. */
    H2A_ASSERT_OK(s_parse("{\"san\": {\"dns_suffixes\": [\"web.example.com\"]}, "
                          "\"authorization\": {\"a\": {\"dns_suffixes\": [\"example.com\"], "
                          "\"accounts\": [\"*\"]}, \"b\": {\"dns_suffixes\": "
                          "[\"x.web.example.com\"], \"accounts\": [\"*\"]}}, "
                          "\"key_algorithms\": [\"EC_prime256v1\"], "
                          "\"csr\": {\"key_usage\": [\"DIGITAL_SIGNATURE\", \"KEY_ENCIPHERMENT\"]}}",
                          &p));
    assert_int_equal(h2a_policy_csr_key_usage(p, H2A_KT_EC_P256), H2A_KU_DIGITAL_SIGNATURE);
    h2a_policy_free(p);
}

static void test_suffixes_and_accounts(void **state)
{
    (void)state;
    s_bad("{\"san\": {\"dns_suffixes\": [\"exa_mple.com\"]}}",
          "san.dns_suffixes[0]: 'exa_mple.com': label 'exa_mple' is not letters");
    s_bad("{\"san\": {\"dns_suffixes\": [\".example.com\"]}}",
          "san.dns_suffixes[0]: '.example.com': write the suffix without a leading");
    s_bad("{\"san\": {\"dns_suffixes\": [\"*.example.com\"]}}", "san.dns_suffixes[0]");
    s_bad("{\"san\": {\"dns_suffixes\": [\"example.com.\"]}}", "ends with a dot");
    s_bad("{\"san\": {\"dns_suffixes\": [\"-a.example.com\"]}}", "starts or ends with a hyphen");
    s_bad("{\"san\": {\"dns_suffixes\": [\"a..com\"]}}", "empty label");
    s_bad("{\"san\": {\"dns_suffixes\": [\"example.com\", \"EXAMPLE.com\"]}}",
          "san.dns_suffixes[1]: 'EXAMPLE.com' is listed twice");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"], \"accounts\": "
          "[\"12345\"]}}}",
          "authorization.t.accounts[0]: '12345' is not an AWS account id (12 digits)");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"], \"accounts\": "
          "[\"12345678901a\"]}}}",
          "authorization.t.accounts[0]: '12345678901a' is not an AWS account id");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"], \"accounts\": "
          "[\"1234567890123\"]}}}",
          "authorization.t.accounts[0]");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"], \"accounts\": "
          "[\"123456789012\", \"*\"]}}}",
          "authorization.t.accounts[1]: \"*\" (any) must be the only entry");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [\"*\"]}}}",
          "authorization.t.accounts: missing");
    s_bad("{\"authorization\": {\"t\": {\"accounts\": [\"*\"]}}}",
          "authorization.t.dns_suffixes: missing");
    s_bad("{\"authorization\": {\"t\": {\"dns_suffixes\": [], \"accounts\": [\"*\"]}}}",
          "authorization.t.dns_suffixes: the list is empty");
    s_bad("{\"authorization\": {\"bad name\": {\"dns_suffixes\": [\"*\"], \"accounts\": "
          "[\"*\"]}}}",
          "authorization: requester name 'bad name' is invalid");
}

static void test_csr_names(void **state)
{
    (void)state;
    s_bad("{\"csr\": {\"key_usage\": [\"DIGITAL_SIGNATURE\", \"SIGN\"]}}",
          "csr.key_usage[1]: KeyUsage name 'SIGN' is unknown");
    s_bad("{\"csr\": {\"key_usage\": [\"ANY\"]}}", "csr.key_usage[0]: ANY names no extension");
    s_bad("{\"csr\": {\"key_usage\": [\"DIGITAL_SIGNATURE\", \"CERTIFICATE_SIGNING\"]}}",
          "csr.key_usage[1]: CERTIFICATE_SIGNING is refused: a certificate for ACM is a TLS leaf");
    s_bad("{\"csr\": {\"key_usage\": [\"CRL_SIGNING\"]}}", "csr.key_usage[0]: CRL_SIGNING is refused");
    s_bad("{\"csr\": {\"extended_key_usage\": [\"serverAuth\"]}}",
          "csr.extended_key_usage[0]: ExtendedKeyUsage name 'serverAuth' is unknown");
    s_bad("{\"csr\": {\"extended_key_usage\": [\"NONE\"]}}",
          "csr.extended_key_usage[0]: NONE names no extension");
    s_bad("{\"csr\": {\"extended_key_usage\": [\"CUSTOM\"]}}",
          "csr.extended_key_usage[0]: CUSTOM names no extension");
    s_bad("{\"csr\": {\"extended_key_usage\": [\"CODE_SIGNING\", \"CODE_SIGNING\"]}}",
          "csr.extended_key_usage[1]: CODE_SIGNING is listed twice");
}

static void test_nul_and_size(void **state)
{
    static const char with_nul[] = "{\"version\": 1}\0{}";
    H2A_POLICY *p = NULL;
    char *big;

    (void)state;
    H2A_ASSERT_ERR(h2a_policy_parse(with_nul, sizeof(with_nul) - 1, "t.json", &p),
                   H2A_ERR_INPUT, "contains a NUL byte");
    big = calloc(1, H2A_POLICY_MAX_FILE_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', H2A_POLICY_MAX_FILE_BYTES + 1);
    big[0] = '{';
    big[H2A_POLICY_MAX_FILE_BYTES] = '}';
    H2A_ASSERT_ERR(h2a_policy_parse(big, H2A_POLICY_MAX_FILE_BYTES + 1, "t.json", &p),
                   H2A_ERR_INPUT, "larger than the limit");
    /* Exactly at the limit is fine. */
    big[H2A_POLICY_MAX_FILE_BYTES - 1] = '}';
    big[H2A_POLICY_MAX_FILE_BYTES] = '\0';
    H2A_ASSERT_OK(h2a_policy_parse(big, H2A_POLICY_MAX_FILE_BYTES, "t.json", &p));
    h2a_policy_free(p);
    free(big);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/h2a-test-policy-XXXXXX";
    const char *json = "{\"san\": {\"allow_ip\": true}}";
    H2A_POLICY *p = NULL;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    H2A_ASSERT_OK(h2a_policy_load(path, &p));
    assert_string_equal(h2a_policy_origin(p), path);
    h2a_policy_free(p);
    /* World-writable: refused; group-writable: the admin's call. */
    assert_int_equal(chmod(path, 0666), 0);
    H2A_ASSERT_ERR(h2a_policy_load(path, &p), H2A_ERR_INPUT,
                   "is writable by every user (mode 0666)");
    assert_null(p);
    assert_int_equal(chmod(path, 0664), 0);
    H2A_ASSERT_OK(h2a_policy_load(path, &p));
    H2A_ASSERT_OK(h2a_policy_check_names(p, NULL, 0, (const char *const[]){"10.0.0.1"}, 1));
    h2a_policy_free(p);

    /* Over 1 MiB on disk. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < H2A_POLICY_MAX_FILE_BYTES + 10; i++) {
        fputc(' ', f);
    }
    fclose(f);
    H2A_ASSERT_ERR(h2a_policy_load(path, &p), H2A_ERR_INPUT, "larger than the limit");
    assert_null(p);
    unlink(path);

    H2A_ASSERT_ERR(h2a_policy_load(path, &p), H2A_ERR_INPUT, "cannot open");
    H2A_ASSERT_ERR(h2a_policy_load("", &p), H2A_ERR_INPUT, "file name is empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_empty_object_is_default),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_csr_empty_lists),
        cmocka_unit_test(test_min_rsa_without_rsa),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_contradictions),
        cmocka_unit_test(test_consistent_is_fine),
        cmocka_unit_test(test_suffixes_and_accounts),
        cmocka_unit_test(test_csr_names),
        cmocka_unit_test(test_nul_and_size),
        cmocka_unit_test(test_load_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
