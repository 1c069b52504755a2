/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Enrollment request parsing, canonical form, tokens and secret names. */
#include <stdio.h>

#include <openssl/obj_mac.h>

#include "h2a_test.h"

#include "enroll/h2a_request.h"
#include "h2a_keygen.h"

#define HEAD "\"id\":\"web-1\",\"subject\":\"CN=www.example.com\",\"issuer\":\"demo\"," \
             "\"requester\":\"team-web\""
#define T0 "\"targets\":[{\"region\":\"eu-west-1\"}]"
#define ARN1 "arn:aws:acm:eu-west-1:123456789012:certificate/1b2c3d4e-1111-2222-3333-444455556666"

static h2a_request *s_ok(const char *json)
{
    h2a_request *r = NULL;

    H2A_ASSERT_OK(h2a_request_parse(json, strlen(json), &r));
    return r;
}

#define BAD(json, needle)                                                   \
    do {                                                                    \
        h2a_request *r_ = NULL;                                             \
        H2A_ASSERT_ERR(h2a_request_parse(json, strlen(json), &r_), H2A_ERR_INPUT, needle); \
        assert_null(r_);                                                    \
    } while (0)

static void test_full_request(void **state)
{
    (void)state;
    h2a_request *r = s_ok(
        "{" HEAD ",\"dns\":[\"www.example.com\",\"example.com\"],\"ip\":[\"192.0.2.1\"],"
        "\"key\":\"ec:P-384\",\"digest\":\"sha384\",\"key_usage\":[\"DIGITAL_SIGNATURE\"],"
        "\"extended_key_usage\":[\"TLS_WEB_SERVER_AUTHENTICATION\",\"tls_web_client_authentication\"],"
        "\"targets\":[{\"region\":\"eu-west-1\",\"certificate_arn\":\"" ARN1 "\","
        "\"tags\":{\"env\":\"prod\",\"team\":\"web\"}},"
        "{\"region\":\"us-east-1\",\"account\":\"210987654321\",\"service\":\"cloudfront\"}]}");

    assert_string_equal(r->id, "web-1");
    assert_int_equal(r->n_dns, 2);
    assert_string_equal(r->dns[1], "example.com");
    assert_int_equal(r->n_ip, 1);
    assert_int_equal(r->key, H2A_KT_EC_P384);
    assert_false(r->inherit);
    assert_int_equal(r->md_nid, NID_sha384);
    assert_int_equal(r->key_usage, H2A_KU_DIGITAL_SIGNATURE);
    assert_int_equal(r->ext_key_usage, H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                                            H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION);
    assert_int_equal(r->n_targets, 2);
    assert_string_equal(r->targets[0].certificate_arn, ARN1);
    assert_int_equal(r->targets[0].n_tags, 2);
    assert_null(r->targets[0].account);
    assert_string_equal(r->targets[1].account, "210987654321");
    assert_int_equal(r->targets[1].service, H2A_SERVICE_CLOUDFRONT);
    h2a_request_free(r);
}

static void test_inherit(void **state)
{
    (void)state;
    h2a_request *r = s_ok("{" HEAD ",\"dns\":[\"a.example.com\"],\"key\":\"inherit\","
                          "\"targets\":[{\"region\":\"eu-west-1\",\"certificate_arn\":\"" ARN1 "\"}]}");

    assert_true(r->inherit);
    assert_int_equal(r->key, H2A_KT_NONE);
    h2a_request_free(r);
    BAD("{" HEAD ",\"key\":\"inherit\"," T0 "}", "targets[0]: key 'inherit' needs a certificate_arn");
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    BAD("{", "not JSON");
    BAD("{" HEAD ",\"key\":\"ec:P-256\"," T0 ",\"extra\":1}", "extra: unknown key");
    BAD("{\"subject\":\"CN=x\",\"issuer\":\"d\",\"requester\":\"r\",\"key\":\"ec:P-256\"," T0 "}",
        "id: missing");
    BAD("{\"id\":\"a b\",\"subject\":\"CN=x\",\"issuer\":\"d\",\"requester\":\"r\","
        "\"key\":\"ec:P-256\"," T0 "}", "id: 'a b' must be");
    BAD("{\"id\":\"-x\",\"subject\":\"CN=x\",\"issuer\":\"d\",\"requester\":\"r\","
        "\"key\":\"ec:P-256\"," T0 "}", "starting with a letter or digit");
    BAD("{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
        "\"subject\":\"CN=x\",\"issuer\":\"d\",\"requester\":\"r\","
        "\"key\":\"ec:P-256\"," T0 "}", "id:");
    BAD("{" HEAD "," T0 "}", "key: missing");
    BAD("{" HEAD ",\"key\":\"rsa:1024\"," T0 "}", "key: ");
    BAD("{" HEAD ",\"key\":\"ed25519\"," T0 "}", "key: ");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"digest\":\"md5\"," T0 "}", "digest: 'md5'");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"dns\":\"x\"," T0 "}", "dns: expected an array");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"dns\":[\"\"]," T0 "}", "dns[0]: must not be empty");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"ip\":[5]," T0 "}", "ip[0]: expected a string");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"key_usage\":[\"SIGN\"]," T0 "}",
        "key_usage[0]: 'SIGN' is not an ACM KeyUsage name");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"extended_key_usage\":[\"X\"]," T0 "}",
        "extended_key_usage[0]");
    /* ANY is a name ACM reports, not one a certificate request may ask for. */
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"extended_key_usage\":[\"ANY\"]," T0 "}",
        "extended_key_usage[0]: 'ANY' is not an ACM ExtendedKeyUsage name");
    BAD("{" HEAD ",\"key\":\"ec:P-256\"}", "targets: missing");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[]}", "targets: expected 1..");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{}]}", "targets[0].region: missing");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\"},{\"region\":\"Mars\"}]}",
        "targets[1].region: 'Mars' is not an AWS region");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"acount\":\"1\"}]}",
        "targets[0].acount: unknown key");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"account\":\"12345\"}]}",
        "targets[0].account: '12345' is not a 12-digit");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\","
        "\"certificate_arn\":\"arn:aws:s3:::bucket/aaaaaaaaaaaaaaaaaa\"}]}",
        "targets[0].certificate_arn: 'arn:aws:s3");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"us-east-1\","
        "\"certificate_arn\":\"" ARN1 "\"}]}", "targets[0].certificate_arn: ARN region 'eu-west-1'");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"account\":\"111111111111\","
        "\"certificate_arn\":\"" ARN1 "\"}]}", "ARN account 123456789012 differs");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"service\":\"s3\"}]}",
        "targets[0].service: 's3' is not");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"tags\":{\"aws:x\":\"1\"}}]}",
        "targets[0].tags.aws:x: the prefixes");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"tags\":{\"k\":1}}]}",
        "targets[0].tags.k: expected a string");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\",\"tags\":{\"k\":\"a;b\"}}]}",
        "targets[0].tags.k: tag value");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\"},{\"region\":\"eu-west-1\"}]}",
        "targets[1]: same destination as targets[0]");
    BAD("{\"id\":\"web-1\",\"subject\":\"CN=www.example.com\",\"issuer\":\"demo\","
        "\"key\":\"ec:P-256\",\"requester\":7," T0 "}", "requester: expected a string");
}

static void test_canonical_and_hash(void **state)
{
    (void)state;
    /* Same content, different member and tag order: same hash. */
    h2a_request *a = s_ok("{" HEAD ",\"key\":\"ec:P-256\",\"dns\":[\"a.example.com\"],"
                          "\"targets\":[{\"region\":\"eu-west-1\",\"tags\":{\"b\":\"2\",\"a\":\"1\"}}]}");
    h2a_request *b = s_ok("{\"targets\":[{\"tags\":{\"a\":\"1\",\"b\":\"2\"},\"region\":\"eu-west-1\"}],"
                          "\"dns\":[\"a.example.com\"],\"key\":\"ec:P-256\"," HEAD "}");
    h2a_request *c = s_ok("{" HEAD ",\"key\":\"ec:P-256\",\"dns\":[\"b.example.com\"],"
                          "\"targets\":[{\"region\":\"eu-west-1\",\"tags\":{\"b\":\"2\",\"a\":\"1\"}}]}");
    char ha[65], hb[65], hc[65];
    h2a_buf buf;
    h2a_request *back = NULL;
    char hback[65];

    H2A_ASSERT_OK(h2a_request_hash(a, ha));
    H2A_ASSERT_OK(h2a_request_hash(b, hb));
    H2A_ASSERT_OK(h2a_request_hash(c, hc));
    assert_string_equal(ha, hb);
    assert_string_not_equal(ha, hc);
    assert_int_equal(strlen(ha), 64);
    /* The canonical form parses back to the same request. */
    h2a_buf_init(&buf, 0);
    H2A_ASSERT_OK(h2a_request_canonical(a, &buf));
    H2A_ASSERT_OK(h2a_request_parse((const char *)buf.data, buf.len, &back));
    H2A_ASSERT_OK(h2a_request_hash(back, hback));
    assert_string_equal(ha, hback);
    h2a_buf_free(&buf);
    h2a_request_free(back);
    h2a_request_free(a);
    h2a_request_free(b);
    h2a_request_free(c);
}

static void test_client_token_and_secret_name(void **state)
{
    (void)state;
    h2a_request *r = s_ok("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\"},"
                          "{\"region\":\"eu-west-1\",\"account\":\"123456789012\"},"
                          "{\"region\":\"us-east-1\"}]}");
    h2a_request *again = s_ok("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\"},"
                              "{\"region\":\"eu-west-1\",\"account\":\"123456789012\"},"
                              "{\"region\":\"us-east-1\"}]}");
    char t0[H2A_CRT_LEN + 1], t1[H2A_CRT_LEN + 1], t2[H2A_CRT_LEN + 1], t0b[H2A_CRT_LEN + 1];
    h2a_buf name;

    H2A_ASSERT_OK(h2a_request_client_token(r, 0, t0));
    H2A_ASSERT_OK(h2a_request_client_token(r, 1, t1));
    H2A_ASSERT_OK(h2a_request_client_token(r, 2, t2));
    H2A_ASSERT_OK(h2a_request_client_token(again, 0, t0b));
    assert_int_equal(strlen(t0), 64);
    assert_true(strncmp(t0, "h2a1-", 5) == 0);
    assert_string_equal(t0, t0b);       /* deterministic */
    assert_string_not_equal(t0, t1);    /* per target */
    assert_string_not_equal(t0, t2);
    assert_string_not_equal(t1, t2);
    H2A_ASSERT_ERR(h2a_request_client_token(r, 3, t0), H2A_ERR_INTERNAL, "out of range");
    h2a_buf_init(&name, 0);
    H2A_ASSERT_OK(h2a_request_secret_name(r, "hsm2acm/staging/", 1, &name));
    assert_string_equal((const char *)name.data, "hsm2acm/staging/web-1/t1");
    h2a_buf_free(&name);
    h2a_request_free(r);
    h2a_request_free(again);
}

/* Issue 11 item 6: json-c would keep the last of two equal keys; refused, naming the path. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"key\":\"rsa:2048\"," T0 "}",
        "request: not valid JSON at byte");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"key\":\"rsa:2048\"," T0 "}",
        "key \"key\" appears twice in one object (at key)");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\"},"
        "{\"region\":\"us-east-1\",\"region\":\"eu-west-1\"}]}",
        "(at targets[1].region)");
    BAD("{" HEAD ",\"key\":\"ec:P-256\",\"targets\":[{\"region\":\"eu-west-1\","
        "\"tags\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}]}",
        "(at targets[0].tags.a)");
    /* The same key in two objects is no duplicate. */
    h2a_request_free(s_ok("{" HEAD ",\"key\":\"ec:P-256\",\"dns\":[\"www.example.com\"],"
                          "\"targets\":[{\"region\":\"eu-west-1\"},{\"region\":\"us-east-1\"}]}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_request),
        cmocka_unit_test(test_inherit),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_canonical_and_hash),
        cmocka_unit_test(test_client_token_and_secret_name),
        cmocka_unit_test(test_duplicate_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
