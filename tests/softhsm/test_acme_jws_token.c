/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * JWS signed by an account key in a fresh SoftHSM2 token: the signature
 * verifies with the JWK's public key as JOSE defines it (ES256/ES384 raw
 * r||s, RS256 PKCS#1 v1.5), so a wrong encoding (DER, unpadded halves)
 * fails here before a server sees it. RS256 uses CKM_SHA256_RSA_PKCS, and
 * CKM_RSA_PKCS over a DigestInfo only on a token without it.
 */
#include <openssl/ecdsa.h>
#include <openssl/sha.h>

#include "h2a_test.h"

#include "h2a_keygen.h"
#include "h2a_pkcs11.h"
#include "issuers/acme_int.h"
#include "../../pkcs11/internal.h"

static H2A_TOKEN *s_tok;
static H2A_SESSION *s_sess;

static int s_setup(void **state)
{
    (void)state;
    if (h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &s_tok) != H2A_OK ||
        h2a_session_open(s_tok, &s_sess) != H2A_OK) {
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

/* The value of "name":"..." in a flat JSON text, base64url-decoded. */
static void s_field(const char *json, const char *name, h2a_buf *raw, h2a_buf *text)
{
    char key[32];
    const char *p, *e;

    snprintf(key, sizeof(key), "\"%s\":\"", name);
    p = strstr(json, key);
    assert_non_null(p);
    p += strlen(key);
    e = strchr(p, '"');
    if (text != NULL) {
        H2A_ASSERT_OK(h2a_buf_append(text, p, (size_t)(e - p)));
    }
    if (raw != NULL) {
        H2A_ASSERT_OK(h2a_base64url_decode(p, (size_t)(e - p), raw));
    }
}

/* A JWS by `k` verifies with its public key; `half`: EC field size, 0 for RSA. */
static void s_check_key(H2A_P11_KEY *k, size_t half)
{
    h2a_buf jws, sig, input;
    EVP_PKEY *pub;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    const EVP_MD *md = half == 48 ? EVP_sha384() : EVP_sha256();
    uint8_t *der = NULL;
    int der_len;

    h2a_buf_init(&jws, 0);
    h2a_buf_init(&sig, 0);
    h2a_buf_init(&input, 0);
    pub = h2a_p11_key_public(k);
    H2A_ASSERT_OK(h2a_acme_jws_sign(k, "{\"alg\":\"x\",\"nonce\":\"n\",\"url\":\"u\"}",
                                    "{\"a\":1}", &jws));
    H2A_ASSERT_OK(h2a_buf_terminate(&jws));
    s_field((char *)jws.data, "protected", NULL, &input);
    H2A_ASSERT_OK(h2a_buf_append_str(&input, "."));
    s_field((char *)jws.data, "payload", NULL, &input);
    s_field((char *)jws.data, "signature", &sig, NULL);
    if (half > 0) {
        /* JOSE: exactly 2 * field size bytes; OpenSSL verifies DER, so convert. */
        ECDSA_SIG *es = ECDSA_SIG_new();

        assert_int_equal(sig.len, 2 * half);
        ECDSA_SIG_set0(es, BN_bin2bn(sig.data, (int)half, NULL),
                       BN_bin2bn(sig.data + half, (int)half, NULL));
        der_len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
    } else {
        der = OPENSSL_memdup(sig.data, sig.len);
        der_len = (int)sig.len;
    }
    assert_int_equal(EVP_DigestVerifyInit(mctx, NULL, md, NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(mctx, der, (size_t)der_len, input.data, input.len), 1);
    OPENSSL_free(der);
    EVP_MD_CTX_free(mctx);
    h2a_buf_free(&jws);
    h2a_buf_free(&sig);
    h2a_buf_free(&input);
}

static void s_check(h2a_keytype kt, const char *label, size_t half)
{
    H2A_P11_KEY *k = NULL;

    H2A_ASSERT_OK(h2a_keygen_generate(s_sess, kt, label, 0, &k));
    s_check_key(k, half);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

static void test_es256(void **state)
{
    (void)state;
    s_check(H2A_KT_EC_P256, "acme-jws-p256", 32);
}

static void test_es384(void **state)
{
    (void)state;
    s_check(H2A_KT_EC_P384, "acme-jws-p384", 48);
}

/*
 * RS256 is CKM_SHA256_RSA_PKCS where the token has it (SoftHSM2 does): with
 * the raw CKM_RSA_PKCS taken away the JWS must still be made and verify, so
 * it cannot have come from the DigestInfo path.
 */
static void test_rs256(void **state)
{
    H2A_P11_KEY *k = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_keygen_generate(s_sess, H2A_KT_RSA_2048, "acme-jws-rsa", 0, &k));
    assert_int_equal(h2a_acme_rs256_mech(k), H2A_MECH_SHA256_RSA_PKCS);
    h2a_token_mech_pretend_absent(s_tok, H2A_MECH_RSA_PKCS);
    s_check_key(k, 0);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
}

/* A token without CKM_SHA256_RSA_PKCS: RS256 falls back to CKM_RSA_PKCS over a DigestInfo. */
static void test_rs256_fallback(void **state)
{
    H2A_P11_KEY *k = NULL;

    (void)state;
    h2a_token_mech_pretend_absent(s_tok, H2A_MECH_SHA256_RSA_PKCS);
    H2A_ASSERT_OK(h2a_keygen_generate(s_sess, H2A_KT_RSA_2048, "acme-jws-fb", 0, &k));
    assert_int_equal(h2a_acme_rs256_mech(k), H2A_MECH_RSA_PKCS);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    s_check(H2A_KT_RSA_2048, "acme-jws-rsa-fb", 0);
}

int main(void)
{
    /* A token each: a mechanism pretended absent stays with its token. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_es256, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_es384, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rs256, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_rs256_fallback, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
