/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include "h2a_test.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

static void test_error_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(h2a_err_exit_code(H2A_OK), 0);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_USAGE), 2);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_INPUT), 2);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_POLICY), 3);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_TOKEN), 4);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_AWS), 5);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_ISSUER), 6);
    assert_int_equal(h2a_err_exit_code(H2A_ERR_VERIFY), 7);
    assert_string_equal(h2a_err_name(H2A_ERR_TOKEN), "H2A_ERR_TOKEN");
}

static void test_error_message_prefix(void **state)
{
    (void)state;
    assert_int_equal(h2a_err_set(H2A_ERR_INPUT, "bad %s", "dns"), H2A_ERR_INPUT);
    h2a_err_prefix(H2A_ERR_INPUT, "targets[%d]: ", 1);
    assert_string_equal(h2a_err_msg(), "targets[1]: bad dns");
}

static void test_buf_limit_and_wipe(void **state)
{
    h2a_buf b;

    (void)state;
    h2a_buf_init(&b, 8);
    H2A_ASSERT_OK(h2a_buf_append(&b, "12345678", 8));
    H2A_ASSERT_ERR(h2a_buf_append(&b, "9", 1), H2A_ERR_INPUT, "limit of 8");
    assert_int_equal(b.len, 8);
    h2a_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.data[0], 0);
    h2a_buf_free(&b);
    h2a_buf_free(&b);
    assert_null(b.data);
}

static void test_secure_buf(void **state)
{
    h2a_buf b;

    (void)state;
    H2A_ASSERT_OK(h2a_secure_heap_init(1 << 16));
    h2a_buf_init_secure(&b, 0);
    H2A_ASSERT_OK(h2a_buf_printf(&b, "key-%d", 42));
    assert_true(CRYPTO_secure_allocated(b.data));
    assert_string_equal((char *)b.data, "key-42");
    h2a_buf_free(&b);
}

static void test_hex_base64(void **state)
{
    const uint8_t raw[] = {0x00, 0xff, 0x10, 0xab};
    char hex[9];
    h2a_buf b;

    (void)state;
    h2a_hex_encode(raw, sizeof(raw), hex);
    assert_string_equal(hex, "00ff10ab");
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_hex_decode("00FF10ab", &b));
    assert_memory_equal(b.data, raw, 4);
    H2A_ASSERT_ERR(h2a_hex_decode("0g", &b), H2A_ERR_INPUT, "hex digit");
    h2a_buf_reset(&b);
    H2A_ASSERT_OK(h2a_base64_encode((const uint8_t *)"hello", 5, &b));
    assert_string_equal((char *)b.data, "aGVsbG8=");
    h2a_buf_reset(&b);
    H2A_ASSERT_OK(h2a_base64_decode("aGVsbG8=", 8, &b));
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    H2A_ASSERT_ERR(h2a_base64_decode("abc", 3, &b), H2A_ERR_INPUT, "multiple of 4");
    h2a_buf_free(&b);
}

static void test_keytypes(void **state)
{
    h2a_keytype t;

    (void)state;
    H2A_ASSERT_OK(h2a_keytype_parse("ec:P-384", &t));
    assert_int_equal(t, H2A_KT_EC_P384);
    assert_string_equal(h2a_keytype_acm_name(t), "EC_secp384r1");
    assert_int_equal(h2a_keytype_default_md_nid(H2A_KT_EC_P521), NID_sha512);
    H2A_ASSERT_OK(h2a_keytype_from_acm("RSA_3072", &t));
    assert_int_equal(t, H2A_KT_RSA_3072);
    H2A_ASSERT_ERR(h2a_keytype_parse("rsa:1024", &t), H2A_ERR_INPUT, "2048 bits");
    H2A_ASSERT_ERR(h2a_keytype_parse("ec:secp256k1", &t), H2A_ERR_INPUT, "secp256k1");
    H2A_ASSERT_ERR(h2a_keytype_parse("ed25519", &t), H2A_ERR_INPUT, "EdDSA");
    H2A_ASSERT_ERR(h2a_keytype_parse("dsa:2048", &t), H2A_ERR_INPUT, "unknown key type");
    H2A_ASSERT_ERR(h2a_keytype_from_acm("RSA_1024", &t), H2A_ERR_INPUT, "RSA_1024");
}

static void test_keytype_from_pkey(void **state)
{
    EVP_PKEY *pk = EVP_EC_gen("P-521");
    h2a_keytype t;

    (void)state;
    assert_non_null(pk);
    H2A_ASSERT_OK(h2a_keytype_from_pkey(pk, &t));
    assert_int_equal(t, H2A_KT_EC_P521);
    EVP_PKEY_free(pk);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(pk);
    H2A_ASSERT_ERR(h2a_keytype_from_pkey(pk, &t), H2A_ERR_INPUT, "not supported");
    EVP_PKEY_free(pk);
}

/* The SPKI built from parameters is byte for byte OpenSSL's own, and reads back. */
static void s_check_spki(EVP_PKEY *pk, EVP_PKEY *other)
{
    X509_PUBKEY *spki = NULL, *copy = X509_PUBKEY_new(), *theirs = NULL;
    unsigned char *a = NULL, *b = NULL;
    int la, lb;
    EVP_PKEY *back = NULL, *fromx = NULL;
    X509 *x = X509_new();

    assert_non_null(pk);
    assert_non_null(copy);
    H2A_ASSERT_OK(h2a_spki_from_pkey(pk, &spki));
    la = i2d_X509_PUBKEY(spki, &a);
    lb = i2d_PUBKEY(pk, &b);
    assert_true(la > 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, (size_t)la);

    H2A_ASSERT_OK(h2a_spki_to_pkey(spki, &back));
    assert_int_equal(EVP_PKEY_eq(back, pk), 1);

    /* A certificate given the copy has no decoded key; h2a_x509_public reads it. */
    H2A_ASSERT_OK(h2a_spki_copy(copy, spki));
    assert_true(h2a_spki_equal(copy, spki));
    H2A_ASSERT_OK(h2a_spki_copy(X509_get_X509_PUBKEY(x), spki));
    assert_null(X509_get0_pubkey(x));
    ERR_clear_error();
    H2A_ASSERT_OK(h2a_x509_public(x, &fromx));
    assert_int_equal(EVP_PKEY_eq(fromx, pk), 1);

    assert_int_equal(X509_PUBKEY_set(&theirs, other), 1);
    assert_false(h2a_spki_equal(spki, theirs));
    /* A target with a decoded key would keep it, out of step with the copied bits. */
    H2A_ASSERT_ERR(h2a_spki_copy(theirs, spki), H2A_ERR_INTERNAL, "already holds a key");

    X509_free(x);
    EVP_PKEY_free(fromx);
    EVP_PKEY_free(back);
    OPENSSL_free(a);
    OPENSSL_free(b);
    X509_PUBKEY_free(theirs);
    X509_PUBKEY_free(copy);
    X509_PUBKEY_free(spki);
    EVP_PKEY_free(pk);
}

static void test_spki(void **state)
{
    EVP_PKEY *other = EVP_EC_gen("P-256");
    X509_PUBKEY *bad = X509_PUBKEY_new();
    EVP_PKEY *pk = NULL;
    unsigned char *pt = OPENSSL_malloc(65);

    (void)state;
    assert_non_null(other);
    s_check_spki(EVP_EC_gen("P-256"), other);
    s_check_spki(EVP_EC_gen("P-384"), other);
    s_check_spki(EVP_EC_gen("P-521"), other);
    s_check_spki(EVP_RSA_gen(2048), other);

    /* A P-256 "point" that is not on the curve is refused, not taken. */
    assert_non_null(pt);
    memset(pt, 0x11, 65);
    pt[0] = 0x04;
    assert_int_equal(X509_PUBKEY_set0_param(bad, OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                                            V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1),
                                            pt, 65), 1);
    H2A_ASSERT_ERR(h2a_spki_to_pkey(bad, &pk), H2A_ERR_INPUT, "not a valid EC key");
    assert_null(pk);
    ERR_clear_error();
    X509_PUBKEY_free(bad);
    EVP_PKEY_free(other);
}

static void test_usage_names(void **state)
{
    unsigned bit;
    h2a_buf b;

    (void)state;
    assert_int_equal(h2a_ku_lookup("key_encipherment", 16, true), H2A_KU_KEY_ENCIPHERMENT);
    assert_int_equal(h2a_ku_lookup("key_encipherment", 16, false), 0);
    assert_int_equal(h2a_eku_lookup("TLS_WEB_SERVER_AUTHENTICATIONX", 29, false),
                     H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION);
    assert_string_equal(h2a_eku_oid(H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION), "1.3.6.1.5.5.7.3.2");
    assert_null(h2a_eku_oid(H2A_EKU_CUSTOM));
    assert_int_equal(h2a_ku_x509_flag(H2A_KU_CERTIFICATE_SIGNING), KU_KEY_CERT_SIGN);
    assert_int_equal(h2a_ku_x509_flag(H2A_KU_ANY), 0);
    H2A_ASSERT_OK(h2a_eku_from_acm_name("NONE", &bit));
    assert_int_equal(bit, 0);
    H2A_ASSERT_ERR(h2a_ku_from_acm_name("SIGNING", &bit), H2A_ERR_INPUT, "'SIGNING' is unknown");
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_ku_render_acm(H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT, &b));
    assert_string_equal((char *)b.data, "DIGITAL_SIGNATURE, KEY_ENCIPHERMENT");
    h2a_buf_free(&b);
    /* Every requestable bit has a name, and the names round-trip. */
    for (unsigned k = 1; k <= H2A_KU_REQUESTABLE; k <<= 1) {
        const char *n = h2a_ku_acm_name(k);
        assert_non_null(n);
        H2A_ASSERT_OK(h2a_ku_from_acm_name(n, &bit));
        assert_int_equal(bit, k);
        assert_int_not_equal(h2a_ku_x509_flag(k), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_exit_codes),
        cmocka_unit_test(test_error_message_prefix),
        cmocka_unit_test(test_buf_limit_and_wipe),
        cmocka_unit_test(test_secure_buf),
        cmocka_unit_test(test_hex_base64),
        cmocka_unit_test(test_keytypes),
        cmocka_unit_test(test_keytype_from_pkey),
        cmocka_unit_test(test_usage_names),
        cmocka_unit_test(test_spki),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
