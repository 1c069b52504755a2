/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* The staging secret envelope: deterministic build, strict parse, round trip. */
#include <stdio.h>

#include "h2a_test.h"

#include "enroll/h2a_envelope.h"

#define CERT "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static void s_sample(h2a_envelope *e)
{
    static const uint8_t blob[] = {0xa6, 0x59, 0x59, 0xa6, 0x00, 0x00, 0x00, 0x48, 1, 2, 3, 4,
                                   5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    memset(e, 0, sizeof(*e));
    e->format_version = H2A_ENVELOPE_VERSION;
    e->mech = H2A_WRAP_AES_KWP;
    e->wrap_key_label = (char *)"hsm2acm-wrap";
    e->kcv = (char *)"1a2b3c";
    h2a_buf_init(&e->wrapped, 0);
    assert_int_equal(h2a_buf_append(&e->wrapped, blob, sizeof(blob)), H2A_OK);
    e->key_type = H2A_KT_EC_P256;
    e->certificate = (char *)CERT;
    e->chain = (char *)CERT;
    e->request_id = (char *)"web-1";
    e->target_index = 2;
    e->region = (char *)"eu-west-1";
    e->account = (char *)"123456789012";
    e->certificate_arn = NULL;
}

static void test_build_is_deterministic_and_complete(void **state)
{
    (void)state;
    h2a_envelope e;
    h2a_buf a, b;

    s_sample(&e);
    h2a_buf_init(&a, 0);
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_envelope_build(&e, &a));
    H2A_ASSERT_OK(h2a_envelope_build(&e, &b));
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    const char *txt = (const char *)a.data;
    assert_non_null(strstr(txt, "\"format_version\":1"));
    assert_non_null(strstr(txt, "\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_PAD\""));
    assert_non_null(strstr(txt, "\"wrap_key_label\":\"hsm2acm-wrap\""));
    assert_non_null(strstr(txt, "\"kcv\":\"1a2b3c\""));
    assert_non_null(strstr(txt, "\"wrapped_key\":\"pllZpgAAAEgBAgMEBQYHCAkKCwwNDg8Q\""));
    assert_non_null(strstr(txt, "\"key_algorithm\":\"EC_prime256v1\""));
    assert_non_null(strstr(txt, "\"target\":{\"request_id\":\"web-1\",\"index\":2,"
                                "\"region\":\"eu-west-1\",\"account\":\"123456789012\","
                                "\"certificate_arn\":null}"));
    h2a_buf_free(&a);
    h2a_buf_free(&b);
    h2a_buf_free(&e.wrapped);
}

static void test_round_trip(void **state)
{
    (void)state;
    h2a_envelope e, back = {0};
    h2a_buf a;

    s_sample(&e);
    h2a_buf_init(&a, 0);
    H2A_ASSERT_OK(h2a_envelope_build(&e, &a));
    H2A_ASSERT_OK(h2a_envelope_parse((const char *)a.data, a.len, &back));
    assert_int_equal(back.mech, H2A_WRAP_AES_KWP);
    assert_string_equal(back.kcv, "1a2b3c");
    assert_string_equal(back.wrap_key_label, "hsm2acm-wrap");
    assert_int_equal(back.wrapped.len, e.wrapped.len);
    assert_memory_equal(back.wrapped.data, e.wrapped.data, e.wrapped.len);
    assert_int_equal(back.key_type, H2A_KT_EC_P256);
    assert_string_equal(back.certificate, CERT);
    assert_string_equal(back.chain, CERT);
    assert_string_equal(back.request_id, "web-1");
    assert_int_equal(back.target_index, 2);
    assert_string_equal(back.account, "123456789012");
    assert_null(back.certificate_arn);
    h2a_envelope_cleanup(&back);
    h2a_buf_free(&a);
    h2a_buf_free(&e.wrapped);
}

#define GOOD_T "\"target\":{\"request_id\":\"r\",\"index\":0,\"region\":\"eu-west-1\"}"
#define GOOD_HEAD "\"format_version\":1,\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_PAD\"," \
                  "\"wrap_key_label\":\"w\",\"kcv\":\"abcdef\",\"key_algorithm\":\"RSA_2048\"," \
                  "\"certificate\":\"x\",\"chain\":\"\","

static void s_bad(const char *json, const char *needle)
{
    h2a_envelope e = {0};

    H2A_ASSERT_ERR(h2a_envelope_parse(json, strlen(json), &e), H2A_ERR_VERIFY, needle);
    h2a_envelope_cleanup(&e);
}

static void test_parse_refuses_what_hsm2acm_did_not_write(void **state)
{
    (void)state;
    h2a_envelope e = {0};
    const char *ok = "{" GOOD_HEAD "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}";

    H2A_ASSERT_OK(h2a_envelope_parse(ok, strlen(ok), &e));
    assert_int_equal(e.key_type, H2A_KT_RSA_2048);
    h2a_envelope_cleanup(&e);
    s_bad("not json", "staged value:");
    s_bad("{\"x\":1}", "x: unknown key");
    s_bad("{" GOOD_HEAD "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", "target: missing");
    s_bad("{\"format_version\":2,\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_PAD\",\"wrap_key_label\":\"w\","
          "\"kcv\":\"abcdef\",\"key_algorithm\":\"RSA_2048\",\"certificate\":\"x\","
          "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}", "format_version: 2");
    s_bad("{\"format_version\":1,\"wrap_mechanism\":\"CKM_AES_CBC\",\"wrap_key_label\":\"w\","
          "\"kcv\":\"abcdef\",\"key_algorithm\":\"RSA_2048\",\"certificate\":\"x\","
          "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}", "wrap_mechanism");
    s_bad("{\"format_version\":1,\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_PAD\",\"wrap_key_label\":\"w\","
          "\"kcv\":\"abcdef\",\"key_algorithm\":\"RSA_1024\",\"certificate\":\"x\","
          "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}", "key_algorithm");
    s_bad("{" GOOD_HEAD "\"wrapped_key\":\"!!!!not base64!!!!!!!\"," GOOD_T "}", "wrapped_key");
    s_bad("{\"format_version\":1,\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_PAD\",\"wrap_key_label\":\"w\","
          "\"kcv\":\"abc\",\"key_algorithm\":\"RSA_2048\",\"certificate\":\"x\","
          "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}", "kcv");
}

/*
 * The wrapping key identifier kind is additive: absent means the KCV (every
 * envelope written before it existed parses as before, and one with a KCV
 * is written without it); another kind and the KWP mechanism round-trip.
 */
static void test_kcv_kind_and_kwp3(void **state)
{
    (void)state;
    h2a_envelope e, back = {0}, old = {0};
    const char *legacy = "{" GOOD_HEAD "\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," GOOD_T "}";
    h2a_buf a;

    H2A_ASSERT_OK(h2a_envelope_parse(legacy, strlen(legacy), &old));
    assert_null(old.kcv_kind);
    assert_int_equal(old.mech, H2A_WRAP_AES_KWP);
    h2a_envelope_cleanup(&old);
    s_sample(&e);
    h2a_buf_init(&a, 0);
    H2A_ASSERT_OK(h2a_envelope_build(&e, &a));
    assert_null(strstr((const char *)a.data, "kcv_kind"));
    a.len = 0;
    e.mech = H2A_WRAP_AES_KWP3;
    e.kcv_kind = (char *)h2a_wrapkey_idkind_name(H2A_WRAPKEY_ID_WRAP_KW);
    H2A_ASSERT_OK(h2a_envelope_build(&e, &a));
    assert_non_null(strstr((const char *)a.data,
                           "\"kcv_kind\":\"sha256-wrap:CKM_AES_KEY_WRAP\""));
    assert_non_null(strstr((const char *)a.data, "\"wrap_mechanism\":\"CKM_AES_KEY_WRAP_KWP\""));
    H2A_ASSERT_OK(h2a_envelope_parse((const char *)a.data, a.len, &back));
    assert_int_equal(back.mech, H2A_WRAP_AES_KWP3);
    assert_string_equal(back.kcv_kind, "sha256-wrap:CKM_AES_KEY_WRAP");
    h2a_envelope_cleanup(&back);
    s_bad("{" GOOD_HEAD "\"kcv_kind\":\"md5\",\"wrapped_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
          GOOD_T "}", "kcv_kind");
    h2a_buf_free(&a);
    h2a_buf_free(&e.wrapped);
}

static void test_too_large(void **state)
{
    (void)state;
    h2a_envelope e;
    h2a_buf a;
    char *big = malloc(70000);

    assert_non_null(big);
    memset(big, 'A', 69999);
    big[69999] = '\0';
    s_sample(&e);
    e.chain = big;
    h2a_buf_init(&a, 0);
    H2A_ASSERT_ERR(h2a_envelope_build(&e, &a), H2A_ERR_INPUT, "Secrets Manager allows");
    h2a_buf_free(&a);
    h2a_buf_free(&e.wrapped);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_is_deterministic_and_complete),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_refuses_what_hsm2acm_did_not_write),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_kcv_kind_and_kwp3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
