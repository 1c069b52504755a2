/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * AES wrapping keys, C_WrapKey and C_UnwrapKey on a fresh SoftHSM2 token:
 * wrapping-key attributes and KCV, the round trip for all six key types
 * (the unwrapped key equals the token's public key, and the session object
 * is gone), KWP vs KW, and the errors for trusted-only keys, corrupt blobs
 * and wrong wrapping keys.
 */
#include "h2a_test.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"

static H2A_TOKEN *s_tok;
static H2A_SESSION *s_sess;
static H2A_P11_SECRET *s_wk;

static int s_setup(void **state)
{
    (void)state;
    h2a_log_init_from_env();
    /* OpenSSL keeps unwrapped private numbers in this heap. */
    if (h2a_secure_heap_init(1 << 20) != H2A_OK ||
        h2a_token_open(getenv("H2A_TEST_TOKEN_URI"), &s_tok) != H2A_OK ||
        h2a_session_open(s_tok, &s_sess) != H2A_OK ||
        h2a_p11_wrapkey_generate(s_sess, "t-wrap", &s_wk) != H2A_OK) {
        print_error("setup: %s\n", h2a_err_msg());
        return -1;
    }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    h2a_p11_wrapkey_free(s_wk);
    h2a_session_close(s_sess);
    h2a_token_close(s_tok);
    return 0;
}

static size_t s_count(void)
{
    size_t n = 0;
    H2A_ASSERT_OK(h2a_session_object_count(s_sess, &n));
    return n;
}

static bool s_bool(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t)
{
    bool v = false;
    H2A_ASSERT_OK(h2a_p11_attr_bool(s_sess, h, t, &v));
    return v;
}

static void test_wrapkey_attributes(void **state)
{
    CK_OBJECT_HANDLE h = h2a_p11_wrapkey_handle(s_wk);
    H2A_P11_SECRET *again = NULL;
    CK_ULONG len = 0, kt = 0;
    char kcv[7], kcv2[7];
    size_t before = s_count();

    (void)state;
    assert_true(s_bool(h, CKA_TOKEN));
    assert_true(s_bool(h, CKA_PRIVATE));
    assert_true(s_bool(h, CKA_SENSITIVE));
    assert_false(s_bool(h, CKA_EXTRACTABLE));
    assert_true(s_bool(h, CKA_WRAP));
    assert_true(s_bool(h, CKA_UNWRAP));
    assert_false(s_bool(h, CKA_ENCRYPT));
    assert_false(s_bool(h, CKA_DECRYPT));
    assert_false(s_bool(h, CKA_SIGN));
    assert_false(s_bool(h, CKA_VERIFY));
    assert_false(s_bool(h, CKA_DERIVE));
    H2A_ASSERT_OK(h2a_p11_attr_ulong(s_sess, h, CKA_VALUE_LEN, &len));
    assert_int_equal(len, 32);
    H2A_ASSERT_OK(h2a_p11_attr_ulong(s_sess, h, CKA_KEY_TYPE, &kt));
    assert_int_equal(kt, CKK_AES);
    assert_string_equal(h2a_p11_wrapkey_label(s_wk), "t-wrap");

    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(s_wk, kcv));
    assert_int_equal(strlen(kcv), 6);
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(s_sess, "t-wrap", &again));
    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(again, kcv2));
    assert_string_equal(kcv, kcv2);
    h2a_p11_wrapkey_free(again);
    again = NULL;

    H2A_ASSERT_ERR(h2a_p11_wrapkey_generate(s_sess, "t-wrap", &again),
                   H2A_ERR_INPUT, "already exists");
    H2A_ASSERT_ERR(h2a_p11_wrapkey_generate(s_sess, "", &again),
                   H2A_ERR_INPUT, "label is empty");
    H2A_ASSERT_ERR(h2a_p11_wrapkey_find(s_sess, "no-such-wrap", &again),
                   H2A_ERR_TOKEN, "no secret key with label 'no-such-wrap'");
    assert_null(again);
    assert_int_equal(s_count(), before);
}

/* The KCV is AES-ECB(key, 0^16)[0..3]: check it against OpenSSL on a known key. */
static void test_kcv_matches_known_key(void **state)
{
    static const uint8_t value[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
        0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &f, sizeof(f)},
        {CKA_WRAP, &t, sizeof(t)},
        {CKA_VALUE, (void *)value, sizeof(value)},
        {CKA_LABEL, (void *)"t-known", 7},
    };
    CK_OBJECT_HANDLE h;
    CK_FUNCTION_LIST *fl = h2a_token_functions(s_tok);
    H2A_P11_SECRET *w = NULL;
    uint8_t zero[16] = {0}, enc[32];
    int n = 0;
    char want[7], got[7];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    (void)state;
    assert_int_equal(fl->C_CreateObject(h2a_session_handle(s_sess), tmpl, 6, &h),
                     CKR_OK);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, value, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, enc, &n, zero, 16), 1);
    EVP_CIPHER_CTX_free(c);
    h2a_hex_encode(enc, 3, want);
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(s_sess, "t-known", &w));
    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(w, got));
    assert_string_equal(got, want);
    H2A_ASSERT_OK(h2a_p11_wrapkey_destroy(w));
}

static void s_roundtrip(h2a_keytype t, const char *label)
{
    H2A_P11_KEY *k = NULL;
    h2a_buf blob;
    h2a_wrapmech used = 0;
    EVP_PKEY *priv = NULL;
    size_t before, secure_before;

    h2a_buf_init(&blob, 0);
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, t, label, H2A_KEYGEN_EXPORTABLE, &k));
    before = s_count();
    H2A_ASSERT_OK(h2a_p11_wrap(s_wk, k, &used, &blob));
    assert_int_equal(used, H2A_WRAP_AES_KWP);
    assert_true(blob.len >= 72);
    secure_before = CRYPTO_secure_used();
    H2A_ASSERT_OK(h2a_p11_unwrap_private(s_sess, s_wk, used, t, blob.data,
                                         blob.len, &priv));
    /* The private numbers live in the secure heap while the key does. */
    assert_true(CRYPTO_secure_used() > secure_before);
    /* The session object is gone again. */
    assert_int_equal(s_count(), before);
    assert_int_equal(EVP_PKEY_eq(priv, h2a_p11_key_public(k)), 1);
    {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(priv, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_pairwise_check(ctx), 1);
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(priv);
    priv = NULL;
    /* ... and nothing of it stays there once freed. */
    assert_int_equal(CRYPTO_secure_used(), secure_before);

    /* The same blob as the wrong type: refused, nothing left behind. */
    H2A_ASSERT_ERR(h2a_p11_unwrap_private(s_sess, s_wk, used,
                                          h2a_keytype_is_rsa(t) ? H2A_KT_EC_P256
                                                                : H2A_KT_RSA_2048,
                                          blob.data, blob.len, &priv),
                   H2A_ERR_TOKEN, "");
    assert_null(priv);
    assert_int_equal(s_count(), before);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

static void test_roundtrip_p256(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_EC_P256, "t-w-p256");
}

static void test_roundtrip_p384(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_EC_P384, "t-w-p384");
}

static void test_roundtrip_p521(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_EC_P521, "t-w-p521");
}

static void test_roundtrip_rsa2048(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_RSA_2048, "t-w-rsa2048");
}

static void test_roundtrip_rsa3072(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_RSA_3072, "t-w-rsa3072");
}

/* Slow in SoftHSM (1-3 s): once. */
static void test_roundtrip_rsa4096(void **state)
{
    (void)state;
    s_roundtrip(H2A_KT_RSA_4096, "t-w-rsa4096");
}

static void test_corrupt_blob_and_wrong_key(void **state)
{
    H2A_P11_KEY *k = NULL;
    H2A_P11_SECRET *other = NULL;
    h2a_buf blob;
    h2a_wrapmech used = 0;
    EVP_PKEY *priv = NULL;
    size_t before;

    (void)state;
    h2a_buf_init(&blob, 0);
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-corrupt",
                                           H2A_KEYGEN_EXPORTABLE, &k));
    H2A_ASSERT_OK(h2a_p11_wrapkey_generate(s_sess, "t-wrap-other", &other));
    H2A_ASSERT_OK(h2a_p11_wrap(s_wk, k, &used, &blob));
    before = s_count();

    H2A_ASSERT_ERR(h2a_p11_unwrap_private(s_sess, other, used, H2A_KT_EC_P256,
                                          blob.data, blob.len, &priv),
                   H2A_ERR_TOKEN, "could not be unwrapped (corrupt blob or "
                                  "wrong wrapping key)");
    assert_non_null(strstr(h2a_err_msg(), "CKR_"));
    blob.data[blob.len / 2] ^= 0x01;
    H2A_ASSERT_ERR(h2a_p11_unwrap_private(s_sess, s_wk, used, H2A_KT_EC_P256,
                                          blob.data, blob.len, &priv),
                   H2A_ERR_TOKEN, "could not be unwrapped");
    assert_non_null(strstr(h2a_err_msg(), "CKR_GENERAL_ERROR"));
    /* SoftHSM's own OpenSSL errors do not stay on our error queue. */
    assert_int_equal(ERR_peek_error(), 0);
    H2A_ASSERT_ERR(h2a_p11_unwrap_private(s_sess, s_wk, used, H2A_KT_EC_P256,
                                          blob.data, 3, &priv),
                   H2A_ERR_INPUT, "not 3");
    assert_null(priv);
    assert_int_equal(s_count(), before);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_wrapkey_destroy(other));
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/* WRAP_WITH_TRUSTED keys only leave under a CKA_TRUSTED key. */
static void test_wrap_with_trusted_refused(void **state)
{
    H2A_P11_KEY *k = NULL;
    h2a_buf blob;
    h2a_wrapmech used = 0;

    (void)state;
    h2a_buf_init(&blob, 0);
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-wwt",
                                           H2A_KEYGEN_WRAP_WITH_TRUSTED, &k));
    H2A_ASSERT_ERR(h2a_p11_wrap(s_wk, k, &used, &blob), H2A_ERR_TOKEN,
                   "CKA_WRAP_WITH_TRUSTED");
    assert_non_null(strstr(h2a_err_msg(), "CKR_KEY_NOT_WRAPPABLE"));
    assert_int_equal(blob.len, 0);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/* Without KWP the token's KW is used, and its blobs unwrap with KW. */
static void test_kw_fallback(void **state)
{
    H2A_TOKEN *tok2 = NULL;
    H2A_SESSION *s2 = NULL;
    H2A_P11_SECRET *w2 = NULL;
    H2A_P11_KEY *k = NULL;
    h2a_buf kwp, kw;
    h2a_wrapmech used = 0;
    EVP_PKEY *priv = NULL;

    (void)state;
    h2a_buf_init(&kwp, 0);
    h2a_buf_init(&kw, 0);
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P384, "t-kw", H2A_KEYGEN_EXPORTABLE,
                                           &k));
    H2A_ASSERT_OK(h2a_p11_wrap(s_wk, k, &used, &kwp));
    assert_int_equal(used, H2A_WRAP_AES_KWP);

    /* A second handle on the same token, whose probe says "no KWP". */
    H2A_ASSERT_OK(h2a_token_open(getenv("H2A_TEST_TOKEN_URI"), &tok2));
    H2A_ASSERT_OK(h2a_session_open(tok2, &s2));
    h2a_token_mech_pretend_absent(tok2, H2A_MECH_AES_KWP);
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(s2, "t-wrap", &w2));
    H2A_ASSERT_OK(h2a_p11_wrap(w2, k, &used, &kw));
    assert_int_equal(used, H2A_WRAP_AES_KW);
    /* RFC 3394 and RFC 5649 blobs differ. */
    assert_false(kw.len == kwp.len &&
                 memcmp(kw.data, kwp.data, kw.len) == 0);
    H2A_ASSERT_OK(h2a_p11_unwrap_private(s2, w2, H2A_WRAP_AES_KW,
                                         H2A_KT_EC_P384, kw.data, kw.len,
                                         &priv));
    assert_int_equal(EVP_PKEY_eq(priv, h2a_p11_key_public(k)), 1);
    EVP_PKEY_free(priv);
    priv = NULL;
    /* Without KWP, a KWP blob cannot be unwrapped on tok2: say which mechanism. */
    H2A_ASSERT_ERR(h2a_p11_unwrap_private(s2, w2, H2A_WRAP_AES_KWP,
                                          H2A_KT_EC_P384, kwp.data, kwp.len,
                                          &priv),
                   H2A_ERR_TOKEN, "CKM_AES_KEY_WRAP_PAD");
    h2a_p11_wrapkey_free(w2);
    h2a_session_close(s2);
    h2a_token_close(tok2);
    h2a_buf_free(&kw);
    h2a_buf_free(&kwp);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

static void test_wrapmech_names(void **state)
{
    h2a_wrapmech m = 0;

    (void)state;
    H2A_ASSERT_OK(h2a_wrapmech_parse("CKM_AES_KEY_WRAP_PAD", &m));
    assert_int_equal(m, H2A_WRAP_AES_KWP);
    assert_string_equal(h2a_wrapmech_name(m), "CKM_AES_KEY_WRAP_PAD");
    H2A_ASSERT_OK(h2a_wrapmech_parse(h2a_wrapmech_name(H2A_WRAP_AES_KW), &m));
    assert_int_equal(m, H2A_WRAP_AES_KW);
    H2A_ASSERT_ERR(h2a_wrapmech_parse("CKM_AES_CBC_PAD", &m), H2A_ERR_INPUT,
                   "unknown wrap mechanism 'CKM_AES_CBC_PAD'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapkey_attributes),
        cmocka_unit_test(test_kcv_matches_known_key),
        cmocka_unit_test(test_roundtrip_p256),
        cmocka_unit_test(test_roundtrip_p384),
        cmocka_unit_test(test_roundtrip_p521),
        cmocka_unit_test(test_roundtrip_rsa2048),
        cmocka_unit_test(test_roundtrip_rsa3072),
        cmocka_unit_test(test_roundtrip_rsa4096),
        cmocka_unit_test(test_corrupt_blob_and_wrong_key),
        cmocka_unit_test(test_wrap_with_trusted_refused),
        cmocka_unit_test(test_kw_fallback),
        cmocka_unit_test(test_wrapmech_names),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
