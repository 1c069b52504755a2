/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Wrap / unwrap at product level, checked against an AES key of KNOWN
 * value that the test imports into the token (tests may use pkcs11.h; the
 * product never imports key values). The token's KWP / KW blobs are
 * unwrapped in software with OpenSSL's RFC 5649 / RFC 3394 ciphers and the
 * plaintext must pass h2a_pkcs8_check_padded (SoftHSM2 zero-pads the PKCS#8
 * DER to a multiple of 8) and match the token's public key;
 * h2a_keygen_unwrap_pem gives the same key as PKCS#8 PEM in a secure buffer,
 * refuses a mismatching expected key, and leaves no object behind.
 */

#include "h2a_test.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../../pkcs11/internal.h"
#include "h2a_keygen.h"

static const unsigned char s_aes[32] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

struct fixture {
    H2A_TOKEN *tok;
    H2A_SESSION *sess;
    H2A_P11_SECRET *w;
};

/* Import the known AES key as a wrap/unwrap token key labelled "known". */
static void s_import_known(struct fixture *f)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(f->tok);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    char label[] = "known";
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &yes, sizeof(yes)},       {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},   {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_WRAP, &yes, sizeof(yes)},        {CKA_UNWRAP, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &no, sizeof(no)},       {CKA_DECRYPT, &no, sizeof(no)},
        {CKA_LABEL, label, strlen(label)},    {CKA_VALUE, (void *)s_aes, sizeof(s_aes)},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

    assert_int_equal(fl->C_CreateObject(h2a_session_handle(f->sess), t, sizeof(t) / sizeof(t[0]),
                                        &h), CKR_OK);
}

static int setup(void **state)
{
    static struct fixture f;

    H2A_ASSERT_OK(h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &f.tok));
    H2A_ASSERT_OK(h2a_session_open(f.tok, &f.sess));
    s_import_known(&f);
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(f.sess, "known", &f.w));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    h2a_p11_wrapkey_free(f->w);
    h2a_session_close(f->sess);
    h2a_token_close(f->tok);
    return 0;
}

/* Software unwrap of a token blob with the known key; plaintext in `out`. */
static void s_sw_unwrap(h2a_wrapmech mech, const h2a_buf *blob, unsigned char *out, int *out_len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;

    assert_non_null(c);
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_DecryptInit_ex(c, mech == H2A_WRAP_AES_KWP ? EVP_aes_256_wrap_pad()
                                                                   : EVP_aes_256_wrap(),
                                        NULL, s_aes, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(c, out, &len, blob->data, (int)blob->len), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, out + len, &fin), 1);
    *out_len = len + fin;
    EVP_CIPHER_CTX_free(c);
}

/* A fresh token handle, with a fresh mechanism cache (undoes pretend_absent). */
static void s_reopen(struct fixture *f)
{
    h2a_p11_wrapkey_free(f->w);
    h2a_session_close(f->sess);
    h2a_token_close(f->tok);
    H2A_ASSERT_OK(h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &f->tok));
    H2A_ASSERT_OK(h2a_session_open(f->tok, &f->sess));
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(f->sess, "known", &f->w));
}

static void s_roundtrip(struct fixture *f, h2a_keytype type, bool force_kw)
{
    H2A_P11_KEY *k = NULL;
    h2a_buf blob, pem;
    h2a_wrapmech mech = 0;
    unsigned char *plain = OPENSSL_secure_malloc(4096);
    const unsigned char *p;
    int plain_len = 0;
    size_t der_len = 0, before = 0, after = 0;
    EVP_PKEY *sw;
    BIO *bio;
    char label[32];

    assert_non_null(plain);
    snprintf(label, sizeof(label), "wrap-%d-%d", (int)type, force_kw);
    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, type, label, H2A_KEYGEN_EXPORTABLE, &k));
    if (force_kw) {
        h2a_token_mech_pretend_absent(f->tok, H2A_MECH_AES_KWP);
    }
    h2a_buf_init(&blob, 0);
    H2A_ASSERT_OK(h2a_keygen_wrap(f->w, k, &mech, &blob));
    assert_int_equal(mech, force_kw ? H2A_WRAP_AES_KW : H2A_WRAP_AES_KWP);

    /* The software view: standard RFC 5649 / 3394, PKCS#8 + 0..7 zeros. */
    s_sw_unwrap(mech, &blob, plain, &plain_len);
    H2A_ASSERT_OK(h2a_pkcs8_check_padded(plain, (size_t)plain_len, &der_len));
    assert_true(der_len <= (size_t)plain_len && (size_t)plain_len - der_len <= 7);
    assert_int_equal(plain_len % 8, 0); /* SoftHSM2 pads before wrapping */
    p = plain;
    sw = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
    assert_non_null(sw);
    assert_int_equal(EVP_PKEY_eq(sw, h2a_p11_key_public(k)), 1);
    EVP_PKEY_free(sw);
    OPENSSL_secure_clear_free(plain, 4096);

    /* The product view: unwrap in the token into PEM, secure buffer only. */
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &before));
    h2a_buf_init_secure(&pem, 0);
    H2A_ASSERT_OK(h2a_keygen_unwrap_pem(f->sess, f->w, mech, type, blob.data, blob.len,
                                        h2a_p11_key_public(k), &pem));
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &after));
    assert_int_equal(before, after);
    assert_non_null(strstr((const char *)pem.data, "-----BEGIN PRIVATE KEY-----"));
    bio = BIO_new_mem_buf(pem.data, (int)pem.len);
    sw = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(sw);
    assert_int_equal(EVP_PKEY_eq(sw, h2a_p11_key_public(k)), 1);
    EVP_PKEY_free(sw);
    BIO_free(bio);
    h2a_buf_free(&pem);

    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    h2a_buf_free(&blob);
    if (force_kw) {
        s_reopen(f);
    }
}

static void test_roundtrip_kwp(void **state)
{
    struct fixture *f = *state;

    s_roundtrip(f, H2A_KT_EC_P256, false);
    s_roundtrip(f, H2A_KT_EC_P521, false);
    s_roundtrip(f, H2A_KT_RSA_2048, false);
}

static void test_roundtrip_kw_fallback(void **state)
{
    struct fixture *f = *state;

    s_roundtrip(f, H2A_KT_EC_P384, true);
}

static void test_unwrap_refusals(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *k = NULL, *other = NULL;
    h2a_buf blob, pem, plain;
    h2a_wrapmech mech = 0;
    size_t before = 0, after = 0;

    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "refuse-a", H2A_KEYGEN_EXPORTABLE, &k));
    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "refuse-b", H2A_KEYGEN_EXPORTABLE, &other));
    h2a_buf_init(&blob, 0);
    h2a_buf_init_secure(&pem, 0);
    h2a_buf_init(&plain, 0);
    H2A_ASSERT_OK(h2a_keygen_wrap(f->w, k, &mech, &blob));
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &before));

    /* The wrong expected key: verification error and no PEM. */
    H2A_ASSERT_ERR(h2a_keygen_unwrap_pem(f->sess, f->w, mech, H2A_KT_EC_P256, blob.data,
                                         blob.len, h2a_p11_key_public(other), &pem),
                   H2A_ERR_VERIFY, "does not match the expected public key");
    assert_int_equal(pem.len, 0);
    /* A plain heap buffer is refused before anything is unwrapped. */
    H2A_ASSERT_ERR(h2a_keygen_unwrap_pem(f->sess, f->w, mech, H2A_KT_EC_P256, blob.data,
                                         blob.len, h2a_p11_key_public(k), &plain),
                   H2A_ERR_INTERNAL, "h2a_buf_init_secure");
    assert_int_equal(plain.len, 0);
    /* A corrupted blob fails in the token. */
    blob.data[blob.len / 2] ^= 0x01;
    h2a_err_clear();
    assert_int_not_equal(h2a_keygen_unwrap_pem(f->sess, f->w, mech, H2A_KT_EC_P256, blob.data,
                                               blob.len, h2a_p11_key_public(k), &pem),
                         H2A_OK);
    assert_int_equal(pem.len, 0);
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &after));
    assert_int_equal(before, after);

    h2a_buf_free(&plain);
    h2a_buf_free(&pem);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_key_destroy(other));
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/* The KCV hsm2acm reports is the standard one: AES-ECB of a zero block. */
static void test_kcv_known_key(void **state)
{
    struct fixture *f = *state;
    unsigned char zero[16] = {0}, enc[32];
    int len = 0;
    char kcv[7], want[7];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, s_aes, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, enc, &len, zero, sizeof(zero)), 1);
    EVP_CIPHER_CTX_free(c);
    h2a_hex_encode(enc, 3, want);
    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(f->w, kcv));
    assert_string_equal(kcv, want);
}

/*
 * A token without CKA_CHECK_VALUE (NSS, openCryptoki; here SoftHSM2 with the
 * attribute hidden by a test fault): the identity is SHA-256 of the key's
 * RFC 3394 wrap of the fixed throwaway value, the same as OpenSSL computes,
 * and the throwaway session object is gone afterwards.
 */
static void test_ident_without_check_value(void **state)
{
    static const unsigned char fixed[16] = "hsm2acm-wrap-id";
    struct fixture *f = *state;
    H2A_P11_SECRET *w = NULL;
    unsigned char blob[24], md[32];
    int len = 0, fin = 0;
    char got[7], want[7], kcv[7];
    size_t before = 0, after = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_wrap(), NULL, s_aes, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(c, blob, &len, fixed, sizeof(fixed)), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, blob + len, &fin), 1);
    EVP_CIPHER_CTX_free(c);
    assert_int_equal(len + fin, 24);
    SHA256(blob, 24, md);
    h2a_hex_encode(md, 3, want);
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &before));
    setenv("H2A_TEST_FAULT", "p11_no_check_value", 1);
    H2A_ASSERT_OK(h2a_p11_wrapkey_find(f->sess, "known", &w));
    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(w, got));
    unsetenv("H2A_TEST_FAULT");
    assert_string_equal(got, want);
    assert_int_equal(h2a_p11_wrapkey_idkind(w), H2A_WRAPKEY_ID_WRAP_KW);
    assert_string_equal(h2a_wrapkey_idkind_name(h2a_p11_wrapkey_idkind(w)),
                        "sha256-wrap:CKM_AES_KEY_WRAP");
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &after));
    assert_int_equal(before, after);
    /* With the check value, the same key is identified by its KCV. */
    H2A_ASSERT_OK(h2a_p11_wrapkey_kcv(f->w, kcv));
    assert_int_equal(h2a_p11_wrapkey_idkind(f->w), H2A_WRAPKEY_ID_KCV);
    assert_string_not_equal(kcv, got);
    h2a_p11_wrapkey_free(w);
}

/* wrapkey create leaves nothing behind when the key cannot be identified. */
static void test_wrapkey_create_rolls_back(void **state)
{
    struct fixture *f = *state;
    H2A_P11_SECRET *w = NULL;
    size_t before = 0, after = 0;

    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &before));
    setenv("H2A_TEST_FAULT", "p11_no_check_value", 1);
    h2a_token_mech_pretend_absent(f->tok, H2A_MECH_AES_KW);
    h2a_token_mech_pretend_absent(f->tok, H2A_MECH_AES_KWP);
    h2a_token_mech_pretend_absent(f->tok, H2A_MECH_AES_KWP3);
    H2A_ASSERT_ERR(h2a_p11_wrapkey_generate(f->sess, "unidentified", &w), H2A_ERR_TOKEN,
                   "the new key was destroyed");
    unsetenv("H2A_TEST_FAULT");
    assert_null(w);
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &after));
    assert_int_equal(before, after);
    s_reopen(f);
}

/* --wrap-with-trusted: the attribute is set, and the token enforces it. */
static void test_wrap_with_trusted(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *k = NULL, *plain = NULL;
    h2a_buf blob;
    h2a_wrapmech mech = 0;
    bool wwt = false;

    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "wwt",
                                      H2A_KEYGEN_WRAP_WITH_TRUSTED, &k));
    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "no-wwt", H2A_KEYGEN_EXPORTABLE, &plain));
    H2A_ASSERT_OK(h2a_p11_attr_bool(f->sess, h2a_p11_key_priv_handle(k), CKA_WRAP_WITH_TRUSTED,
                                    &wwt));
    assert_true(wwt);
    H2A_ASSERT_OK(h2a_p11_attr_bool(f->sess, h2a_p11_key_priv_handle(plain),
                                    CKA_WRAP_WITH_TRUSTED, &wwt));
    assert_false(wwt);
    /* The test's wrapping key is not CKA_TRUSTED: SoftHSM2 must refuse. */
    h2a_buf_init(&blob, 0);
    H2A_ASSERT_ERR(h2a_keygen_wrap(f->w, k, &mech, &blob), H2A_ERR_TOKEN,
                   "CKR_KEY_NOT_WRAPPABLE");
    assert_int_equal(blob.len, 0);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_key_destroy(plain));
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/*
 * Templates by purpose: a key made without H2A_KEYGEN_EXPORTABLE (local CA,
 * plain keygen) is CKA_EXTRACTABLE FALSE, and the token refuses to wrap it.
 */
static void test_non_exportable_never_leaves(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *k = NULL;
    h2a_buf blob;
    h2a_wrapmech mech = 0;
    bool v = true;

    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "stays", 0, &k));
    H2A_ASSERT_OK(h2a_p11_attr_bool(f->sess, h2a_p11_key_priv_handle(k), CKA_EXTRACTABLE, &v));
    assert_false(v);
    H2A_ASSERT_OK(h2a_p11_attr_bool(f->sess, h2a_p11_key_priv_handle(k), CKA_SENSITIVE, &v));
    assert_true(v);
    H2A_ASSERT_OK(h2a_p11_attr_bool(f->sess, h2a_p11_key_priv_handle(k), CKA_NEVER_EXTRACTABLE,
                                    &v));
    assert_true(v);
    h2a_buf_init(&blob, 0);
    H2A_ASSERT_ERR(h2a_keygen_wrap(f->w, k, &mech, &blob), H2A_ERR_TOKEN,
                   "can never leave the token");
    assert_int_equal(blob.len, 0);
    h2a_buf_free(&blob);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/* Keys are found again by the hex CKA_ID that keygen prints (resume). */
static void test_find_by_id_hex(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *k = NULL, *again = NULL;
    char id[H2A_KEY_ID_HEX_MAX];
    h2a_buf json;

    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P384, "by-id", 0, &k));
    H2A_ASSERT_OK(h2a_keygen_key_id_hex(k, id));
    assert_int_equal(strlen(id), 40);
    H2A_ASSERT_OK(h2a_keygen_find_by_id_hex(f->sess, id, &again));
    assert_string_equal(h2a_p11_key_label(again), "by-id");
    assert_int_equal(EVP_PKEY_eq(h2a_p11_key_public(again), h2a_p11_key_public(k)), 1);
    h2a_buf_init(&json, 0);
    H2A_ASSERT_OK(h2a_keygen_key_json(again, &json));
    assert_non_null(strstr((const char *)json.data, id));
    assert_non_null(strstr((const char *)json.data, "\"key_algorithm\": \"EC_secp384r1\""));
    h2a_buf_free(&json);
    h2a_p11_key_free(again);
    H2A_ASSERT_ERR(h2a_keygen_find_by_id_hex(f->sess, "xyz", &again), H2A_ERR_INPUT, "key id");
    H2A_ASSERT_ERR(h2a_keygen_find_by_id_hex(f->sess, "", &again), H2A_ERR_INPUT, "key id");
    assert_null(again);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    assert_int_not_equal(h2a_keygen_find_by_id_hex(f->sess, id, &again), H2A_OK);
    assert_null(again);
}

/*
 * H2A_KEYGEN_LABEL_RESERVED: the label index, read by a fresh token handle
 * on its second reserved key, still refuses a label that was on the token
 * before (made through another handle) and one this handle made itself.
 */
static void test_reserved_label_index(void **state)
{
    struct fixture *f = *state;
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *foreign = NULL, *a = NULL, *b = NULL, *k = NULL;
    size_t before = 0, after = 0;

    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "idx-d", 0, &foreign));
    H2A_ASSERT_OK(h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &tok));
    H2A_ASSERT_OK(h2a_session_open(tok, &s));
    H2A_ASSERT_OK(h2a_keygen_generate(s, H2A_KT_EC_P256, "idx-a", H2A_KEYGEN_LABEL_RESERVED, &a));
    H2A_ASSERT_OK(h2a_p11_key_destroy(a));
    H2A_ASSERT_OK(h2a_keygen_generate(s, H2A_KT_EC_P256, "idx-b", H2A_KEYGEN_LABEL_RESERVED, &b));
    H2A_ASSERT_OK(h2a_session_object_count(s, &before));
    H2A_ASSERT_ERR(h2a_keygen_generate(s, H2A_KT_EC_P256, "idx-d", H2A_KEYGEN_LABEL_RESERVED, &k),
                   H2A_ERR_INPUT, "label 'idx-d'");
    H2A_ASSERT_ERR(h2a_keygen_generate(s, H2A_KT_EC_P256, "idx-b", H2A_KEYGEN_LABEL_RESERVED, &k),
                   H2A_ERR_INPUT, "label 'idx-b'");
    assert_null(k);
    H2A_ASSERT_OK(h2a_session_object_count(s, &after));
    assert_int_equal(before, after);
    H2A_ASSERT_OK(h2a_p11_key_destroy(b));
    H2A_ASSERT_OK(h2a_p11_key_destroy(foreign));
    h2a_session_close(s);
    h2a_token_close(tok);
}

/* A token without the needed mechanism: named in the error, nothing made. */
static void test_missing_mechanism(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *k = NULL;
    size_t before = 0, after = 0;

    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &before));
    h2a_token_mech_pretend_absent(f->tok, H2A_MECH_ECDSA);
    H2A_ASSERT_ERR(h2a_keygen_generate(f->sess, H2A_KT_EC_P256, "no-ecdsa", 0, &k),
                   H2A_ERR_TOKEN, "CKM_ECDSA");
    h2a_token_mech_pretend_absent(f->tok, H2A_MECH_RSA_KEYGEN);
    H2A_ASSERT_ERR(h2a_keygen_generate(f->sess, H2A_KT_RSA_2048, "no-rsa", 0, &k),
                   H2A_ERR_TOKEN, "CKM_RSA_PKCS_KEY_PAIR_GEN");
    assert_null(k);
    H2A_ASSERT_OK(h2a_session_object_count(f->sess, &after));
    assert_int_equal(before, after);
    s_reopen(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_kwp),
        cmocka_unit_test(test_roundtrip_kw_fallback),
        cmocka_unit_test(test_unwrap_refusals),
        cmocka_unit_test(test_kcv_known_key),
        cmocka_unit_test(test_wrap_with_trusted),
        cmocka_unit_test(test_ident_without_check_value),
        cmocka_unit_test(test_wrapkey_create_rolls_back),
        cmocka_unit_test(test_non_exportable_never_leaves),
        cmocka_unit_test(test_find_by_id_hex),
        cmocka_unit_test(test_reserved_label_index),
        cmocka_unit_test(test_missing_mechanism),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
