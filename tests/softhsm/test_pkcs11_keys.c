/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Token key pairs on a fresh SoftHSM2 token: the attributes hsm2acm sets
 * (read back with C_GetAttributeValue), CKA_ID = RFC 5280 key identifier,
 * rollback after a failure, lookup, and signatures verified by OpenSSL.
 */
#include "h2a_test.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

static H2A_TOKEN *s_tok;
static H2A_SESSION *s_sess;

static int s_setup(void **state)
{
    (void)state;
    h2a_log_init_from_env();
    if (h2a_secure_heap_init(1 << 20) != H2A_OK ||
        h2a_token_open(getenv("H2A_TEST_TOKEN_URI"), &s_tok) != H2A_OK ||
        h2a_session_open(s_tok, &s_sess) != H2A_OK) {
        print_error("setup: %s\n", h2a_err_msg());
        return -1;
    }
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
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

/* SHA-1 of the subjectPublicKey bits, recomputed independently. */
static void s_expected_id(EVP_PKEY *pk, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    const unsigned char *p = der;
    X509_PUBKEY *xp;
    const unsigned char *bits;
    int bits_len;

    assert_true(n > 0);
    xp = d2i_X509_PUBKEY(NULL, &p, n);
    assert_non_null(xp);
    assert_int_equal(X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, xp), 1);
    assert_int_equal(EVP_Digest(bits, (size_t)bits_len, out, NULL, EVP_sha1(),
                                NULL), 1);
    X509_PUBKEY_free(xp);
    OPENSSL_free(der);
}

static void s_check_attrs(H2A_P11_KEY *k, bool wwt, bool exportable)
{
    CK_OBJECT_HANDLE priv = h2a_p11_key_priv_handle(k);
    CK_OBJECT_HANDLE pub = h2a_p11_key_pub_handle(k);
    uint8_t want[20];
    uint8_t *id = NULL;
    size_t id_len = 0;

    assert_true(pub != CK_INVALID_HANDLE);
    assert_true(s_bool(priv, CKA_TOKEN));
    assert_true(s_bool(priv, CKA_PRIVATE));
    assert_true(s_bool(priv, CKA_SENSITIVE));
    /* A delivery key can leave wrapped; any other key never leaves. */
    assert_int_equal(s_bool(priv, CKA_EXTRACTABLE), exportable);
    assert_true(s_bool(priv, CKA_SIGN));
    assert_false(s_bool(priv, CKA_DECRYPT));
    assert_false(s_bool(priv, CKA_UNWRAP));
    assert_false(s_bool(priv, CKA_DERIVE));
    assert_false(s_bool(priv, CKA_SIGN_RECOVER));
    assert_int_equal(s_bool(priv, CKA_WRAP_WITH_TRUSTED), wwt);
    /* Born in the token, never readable: what an auditor checks. */
    assert_true(s_bool(priv, CKA_LOCAL));
    assert_true(s_bool(priv, CKA_ALWAYS_SENSITIVE));
    assert_int_equal(s_bool(priv, CKA_NEVER_EXTRACTABLE), !exportable);
    {
        CK_ULONG mech = 0;

        H2A_ASSERT_OK(h2a_p11_attr_ulong(s_sess, priv, CKA_KEY_GEN_MECHANISM, &mech));
        assert_int_equal(mech, h2a_keytype_is_rsa(h2a_p11_key_type(k))
                                   ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN);
    }
    assert_true(s_bool(pub, CKA_LOCAL));
    assert_true(s_bool(pub, CKA_TOKEN));
    assert_true(s_bool(pub, CKA_VERIFY));
    assert_false(s_bool(pub, CKA_ENCRYPT));
    assert_false(s_bool(pub, CKA_WRAP));
    assert_false(s_bool(pub, CKA_VERIFY_RECOVER));

    /* CKA_ID on both halves = SHA-1 of the SPKI key bits. */
    s_expected_id(h2a_p11_key_public(k), want);
    H2A_ASSERT_OK(h2a_p11_attr_get(s_sess, priv, CKA_ID, false, "id", &id,
                                   &id_len));
    assert_int_equal(id_len, 20);
    assert_memory_equal(id, want, 20);
    h2a_p11_attr_free(id, id_len, false);
    H2A_ASSERT_OK(h2a_p11_attr_get(s_sess, pub, CKA_ID, false, "id", &id,
                                   &id_len));
    assert_int_equal(id_len, 20);
    assert_memory_equal(id, want, 20);
    h2a_p11_attr_free(id, id_len, false);
    {
        size_t l = 0;
        const uint8_t *kid = h2a_p11_key_id(k, &l);
        assert_int_equal(l, 20);
        assert_memory_equal(kid, want, 20);
    }
    /* The secret stays in the token. */
    {
        uint8_t *v = NULL;
        size_t vl = 0;
        CK_ATTRIBUTE_TYPE secret = h2a_keytype_is_rsa(h2a_p11_key_type(k))
                                       ? CKA_PRIVATE_EXPONENT
                                       : CKA_VALUE;
        H2A_ASSERT_ERR(h2a_p11_attr_get(s_sess, priv, secret, true, "secret",
                                        &v, &vl),
                       H2A_ERR_TOKEN, "CKR_ATTRIBUTE_SENSITIVE");
    }
}

static void s_verify(H2A_P11_KEY *k, h2a_sigscheme scheme, int md_nid)
{
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    uint8_t digest[64];
    unsigned int dlen = 0;
    uint8_t sig[1024];
    size_t sig_len = sizeof(sig);
    EVP_PKEY_CTX *ctx;

    assert_non_null(md);
    assert_int_equal(EVP_Digest("hsm2acm", 7, digest, &dlen, md, NULL), 1);
    H2A_ASSERT_OK(h2a_p11_sign_digest(k, scheme, md_nid, digest, dlen, sig,
                                      &sig_len));
    ctx = EVP_PKEY_CTX_new(h2a_p11_key_public(k), NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_true(EVP_PKEY_CTX_set_signature_md(ctx, md) > 0);
    if (scheme == H2A_SIG_RSA_PSS) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)dlen) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0);
    } else if (scheme == H2A_SIG_RSA_PKCS1) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
    }
    assert_int_equal(EVP_PKEY_verify(ctx, sig, sig_len, digest, dlen), 1);
    /* A different digest must not verify (the check is real). */
    digest[0] ^= 1;
    assert_int_not_equal(EVP_PKEY_verify(ctx, sig, sig_len, digest, dlen), 1);
    EVP_PKEY_CTX_free(ctx);
}

static h2a_err s_sign_as(H2A_P11_KEY *k, h2a_sigscheme scheme, int md_nid,
                         size_t dlen)
{
    uint8_t digest[64] = {1, 2, 3};
    uint8_t sig[1024];
    size_t sig_len = sizeof(sig);

    return h2a_p11_sign_digest(k, scheme, md_nid, digest, dlen, sig, &sig_len);
}

static void s_gen_check(h2a_keytype t, const char *label, unsigned flags)
{
    H2A_P11_KEY *k = NULL;
    H2A_P11_KEY *found = NULL;
    size_t before = s_count();
    h2a_keytype got;
    size_t id_len;
    const uint8_t *id;

    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, t, label, flags, &k));
    assert_int_equal(s_count(), before + 2);
    assert_int_equal(h2a_p11_key_type(k), t);
    assert_string_equal(h2a_p11_key_label(k), label);
    H2A_ASSERT_OK(h2a_keytype_from_pkey(h2a_p11_key_public(k), &got));
    assert_int_equal(got, t);
    s_check_attrs(k, (flags & H2A_KEYGEN_WRAP_WITH_TRUSTED) != 0,
                  (flags & (H2A_KEYGEN_WRAP_WITH_TRUSTED | H2A_KEYGEN_EXPORTABLE)) != 0);

    /* Found again by label and by id, with the same public key. */
    H2A_ASSERT_OK(h2a_p11_key_find(s_sess, label, NULL, 0, &found));
    assert_int_equal(EVP_PKEY_eq(h2a_p11_key_public(found),
                                 h2a_p11_key_public(k)), 1);
    assert_int_equal(h2a_p11_key_type(found), t);
    h2a_p11_key_free(found);
    id = h2a_p11_key_id(k, &id_len);
    H2A_ASSERT_OK(h2a_p11_key_find(s_sess, NULL, id, id_len, &found));
    assert_string_equal(h2a_p11_key_label(found), label);
    h2a_p11_key_free(found);

    if (h2a_keytype_is_rsa(t)) {
        s_verify(k, H2A_SIG_RSA_PKCS1, NID_sha256);
        s_verify(k, H2A_SIG_RSA_PKCS1, NID_sha384);
        s_verify(k, H2A_SIG_RSA_PKCS1, NID_sha512);
        s_verify(k, H2A_SIG_RSA_PSS, NID_sha256);
        s_verify(k, H2A_SIG_RSA_PSS, NID_sha512);
        H2A_ASSERT_ERR(s_sign_as(k, H2A_SIG_ECDSA, NID_sha256, 32),
                       H2A_ERR_INPUT, "cannot make ECDSA");
        H2A_ASSERT_ERR(s_sign_as(k, H2A_SIG_RSA_PKCS1, NID_sha1, 20),
                       H2A_ERR_INPUT, "digest SHA1");
        H2A_ASSERT_ERR(s_sign_as(k, H2A_SIG_RSA_PKCS1, NID_sha256, 31),
                       H2A_ERR_INTERNAL, "not 31");
    } else {
        s_verify(k, H2A_SIG_ECDSA, h2a_keytype_default_md_nid(t));
        s_verify(k, H2A_SIG_ECDSA, NID_sha256);
        H2A_ASSERT_ERR(s_sign_as(k, H2A_SIG_RSA_PSS, NID_sha256, 32),
                       H2A_ERR_INPUT, "cannot make RSA-PSS");
    }
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    assert_int_equal(s_count(), before);
}

static void test_rsa2048(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_RSA_2048, "t-rsa2048", H2A_KEYGEN_EXPORTABLE);
}

static void test_rsa3072_wwt(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_RSA_3072, "t-rsa3072", H2A_KEYGEN_WRAP_WITH_TRUSTED);
}

/* RSA-4096 is slow (1-3 s in SoftHSM): once, never in a loop. */
static void test_rsa4096(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_RSA_4096, "t-rsa4096", 0);
}

static void test_p256(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_EC_P256, "t-p256", H2A_KEYGEN_EXPORTABLE);
}

static void test_p384_wwt(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_EC_P384, "t-p384", H2A_KEYGEN_WRAP_WITH_TRUSTED);
}

static void test_p521(void **state)
{
    (void)state;
    s_gen_check(H2A_KT_EC_P521, "t-p521", 0);
}

/* A failure after C_GenerateKeyPair leaves the object count unchanged. */
static void test_rollback_after_generate(void **state)
{
    H2A_P11_KEY *k = NULL;
    size_t before = s_count();

    (void)state;
    setenv("H2A_TEST_FAULT", "p11_after_generate", 1);
    H2A_ASSERT_ERR(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-fault",
                                            0, &k),
                   H2A_ERR_TOKEN, "both halves destroyed");
    unsetenv("H2A_TEST_FAULT");
    assert_null(k);
    assert_int_equal(s_count(), before);
    H2A_ASSERT_ERR(h2a_p11_key_find(s_sess, "t-fault", NULL, 0, &k),
                   H2A_ERR_TOKEN, "object not found");
}

static void test_label_taken_and_bad_input(void **state)
{
    H2A_P11_KEY *k = NULL, *k2 = NULL;
    size_t before;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-dup", 0,
                                           &k));
    before = s_count();
    H2A_ASSERT_ERR(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-dup", 0,
                                            &k2),
                   H2A_ERR_INPUT, "label 't-dup'");
    H2A_ASSERT_ERR(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "", 0, &k2),
                   H2A_ERR_INPUT, "label is empty");
    H2A_ASSERT_ERR(h2a_p11_keypair_generate(s_sess, H2A_KT_NONE, "x", 0, &k2),
                   H2A_ERR_INPUT, "key type");
    assert_int_equal(s_count(), before);
    assert_null(k2);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

struct s_seen {
    int n;
    bool saw_a, saw_b;
};

static void s_list_cb(void *arg, const uint8_t *id, size_t id_len,
                      const char *label, h2a_keytype type)
{
    struct s_seen *seen = arg;

    (void)id;
    seen->n++;
    if (strcmp(label, "t-list-a") == 0) {
        seen->saw_a = type == H2A_KT_EC_P256 && id_len == 20;
    }
    if (strcmp(label, "t-list-b") == 0) {
        seen->saw_b = type == H2A_KT_EC_P384 && id_len == 20;
    }
}

static void test_find_and_list(void **state)
{
    H2A_P11_KEY *a = NULL, *b = NULL, *k = NULL;
    struct s_seen seen = {0};
    uint8_t nope[20] = {0};

    (void)state;
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-list-a",
                                           0, &a));
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P384, "t-list-b",
                                           0, &b));
    H2A_ASSERT_OK(h2a_p11_key_list(s_sess, s_list_cb, &seen));
    assert_int_equal(seen.n, 2);
    assert_true(seen.saw_a);
    assert_true(seen.saw_b);
    H2A_ASSERT_ERR(h2a_p11_key_find(s_sess, "no-such-key", NULL, 0, &k),
                   H2A_ERR_TOKEN, "no private key with label 'no-such-key'");
    H2A_ASSERT_ERR(h2a_p11_key_find(s_sess, NULL, nope, sizeof(nope), &k),
                   H2A_ERR_TOKEN, "with id 0000000000");
    assert_null(k);
    H2A_ASSERT_OK(h2a_p11_key_destroy(a));
    H2A_ASSERT_OK(h2a_p11_key_destroy(b));
}

/* Two private keys with one label: find refuses and says how many. */
/*
 * The public half under another label: a lookup by the private key's label,
 * whose one search finds both halves of an hsm2acm key, still finds it by
 * CKA_ID.
 */
static void test_find_public_other_label(void **state)
{
    H2A_P11_KEY *a = NULL, *k = NULL;
    CK_FUNCTION_LIST *fl = h2a_token_functions(s_tok);
    CK_SESSION_HANDLE sh = h2a_session_handle(s_sess);
    CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &pc, sizeof(pc)}, {CKA_LABEL, (void *)"t-pub-x", 7}};
    CK_ATTRIBUTE lab = {CKA_LABEL, (void *)"t-pub-y", 7};
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
    CK_ULONG got = 0;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-pub-x", 0, &a));
    assert_int_equal(fl->C_FindObjectsInit(sh, q, 2), CKR_OK);
    assert_int_equal(fl->C_FindObjects(sh, &pub, 1, &got), CKR_OK);
    assert_int_equal(fl->C_FindObjectsFinal(sh), CKR_OK);
    assert_int_equal(got, 1);
    assert_int_equal(fl->C_SetAttributeValue(sh, pub, &lab, 1), CKR_OK);
    H2A_ASSERT_OK(h2a_p11_key_find(s_sess, "t-pub-x", NULL, 0, &k));
    assert_int_equal(EVP_PKEY_eq(h2a_p11_key_public(k), h2a_p11_key_public(a)), 1);
    h2a_p11_key_free(k);
    H2A_ASSERT_OK(h2a_p11_key_destroy(a));
}

static void test_find_ambiguous(void **state)
{
    H2A_P11_KEY *a = NULL, *b = NULL, *k = NULL;
    CK_FUNCTION_LIST *fl = h2a_token_functions(s_tok);
    CK_ATTRIBUTE lab = {CKA_LABEL, (void *)"t-amb-a", 7};

    (void)state;
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-amb-a",
                                           0, &a));
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_EC_P256, "t-amb-b",
                                           0, &b));
    assert_int_equal(fl->C_SetAttributeValue(h2a_session_handle(s_sess),
                                             h2a_p11_key_priv_handle(b), &lab,
                                             1),
                     CKR_OK);
    H2A_ASSERT_ERR(h2a_p11_key_find(s_sess, "t-amb-a", NULL, 0, &k),
                   H2A_ERR_TOKEN, "2 private keys with label 't-amb-a'");
    assert_null(k);
    /* The id still tells them apart. */
    {
        size_t id_len = 0;
        const uint8_t *id = h2a_p11_key_id(b, &id_len);
        H2A_ASSERT_OK(h2a_p11_key_find(s_sess, NULL, id, id_len, &k));
        assert_int_equal(EVP_PKEY_eq(h2a_p11_key_public(k),
                                     h2a_p11_key_public(b)), 1);
        h2a_p11_key_free(k);
    }
    H2A_ASSERT_OK(h2a_p11_key_destroy(a));
    H2A_ASSERT_OK(h2a_p11_key_destroy(b));
}

/* A token without the signing mechanism: a clear error naming it. */
static void test_sign_without_mechanism(void **state)
{
    H2A_TOKEN *tok2 = NULL;
    H2A_SESSION *s2 = NULL;
    H2A_P11_KEY *k = NULL, *k2 = NULL;
    size_t id_len = 0;
    const uint8_t *id;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s_sess, H2A_KT_RSA_2048, "t-nomech",
                                           0, &k));
    id = h2a_p11_key_id(k, &id_len);
    H2A_ASSERT_OK(h2a_token_open(getenv("H2A_TEST_TOKEN_URI"), &tok2));
    H2A_ASSERT_OK(h2a_session_open(tok2, &s2));
    H2A_ASSERT_OK(h2a_p11_key_find(s2, NULL, id, id_len, &k2));
    h2a_token_mech_pretend_absent(tok2, H2A_MECH_RSA_PSS);
    H2A_ASSERT_ERR(s_sign_as(k2, H2A_SIG_RSA_PSS, NID_sha256, 32),
                   H2A_ERR_TOKEN, "lacks mechanism CKM_RSA_PKCS_PSS, needed "
                                  "for RSA-PSS signatures with key 't-nomech'");
    /* PKCS#1 v1.5 still works on the same handle. */
    H2A_ASSERT_OK(s_sign_as(k2, H2A_SIG_RSA_PKCS1, NID_sha256, 32));
    h2a_token_mech_pretend_absent(tok2, H2A_MECH_RSA_KEYGEN);
    {
        H2A_P11_KEY *k3 = NULL;
        size_t before = s_count();
        H2A_ASSERT_ERR(h2a_p11_keypair_generate(s2, H2A_KT_RSA_2048, "t-nogen",
                                                0, &k3),
                       H2A_ERR_TOKEN, "lacks mechanism "
                                      "CKM_RSA_PKCS_KEY_PAIR_GEN, needed for "
                                      "generating rsa:2048 key 't-nogen'");
        assert_int_equal(s_count(), before);
    }
    h2a_p11_key_free(k2);
    h2a_session_close(s2);
    h2a_token_close(tok2);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p256),
        cmocka_unit_test(test_p384_wwt),
        cmocka_unit_test(test_p521),
        cmocka_unit_test(test_rsa2048),
        cmocka_unit_test(test_rsa3072_wwt),
        cmocka_unit_test(test_rsa4096),
        cmocka_unit_test(test_rollback_after_generate),
        cmocka_unit_test(test_label_taken_and_bad_input),
        cmocka_unit_test(test_find_and_list),
        cmocka_unit_test(test_find_public_other_label),
        cmocka_unit_test(test_find_ambiguous),
        cmocka_unit_test(test_sign_without_mechanism),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
