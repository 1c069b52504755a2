/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The built-in provider on a fresh SoftHSM2 token: token keys as EVP_PKEYs
 * sign through plain OpenSSL calls (with and without a property query, so
 * OpenSSL's default-provider-first fallback is exercised), the signatures
 * verify with the software public key, and the private part never exports.
 */

#include "h2a_test.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "h2a_keygen.h"
#include "h2a_pkcs11.h"

struct fixture {
    H2A_TOKEN *tok;
    H2A_SESSION *sess;
    H2A_P11_KEY *rsa, *ec;
};

static int setup(void **state)
{
    static struct fixture f;

    H2A_ASSERT_OK(h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &f.tok));
    H2A_ASSERT_OK(h2a_session_open(f.tok, &f.sess));
    H2A_ASSERT_OK(h2a_keygen_generate(f.sess, H2A_KT_RSA_2048, "prov-rsa", 0, &f.rsa));
    H2A_ASSERT_OK(h2a_keygen_generate(f.sess, H2A_KT_EC_P384, "prov-ec", 0, &f.ec));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    H2A_ASSERT_OK(h2a_p11_key_destroy(f->rsa));
    H2A_ASSERT_OK(h2a_p11_key_destroy(f->ec));
    h2a_session_close(f->sess);
    h2a_token_close(f->tok);
    return 0;
}

static EVP_PKEY *s_evp(H2A_P11_KEY *k)
{
    EVP_PKEY *pk = NULL;

    H2A_ASSERT_OK(h2a_p11_key_evp(k, NULL, &pk));
    assert_non_null(pk);
    return pk;
}

static void test_private_never_exports(void **state)
{
    struct fixture *f = *state;
    H2A_P11_KEY *keys[] = {f->rsa, f->ec};

    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *pk = s_evp(keys[i]);
        OSSL_PARAM *params = NULL;
        BIGNUM *bn = NULL;
        BIO *bio = BIO_new(BIO_s_mem());
        unsigned char *der = NULL;

        assert_int_equal(EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &params), 0);
        assert_null(params);
        assert_int_equal(EVP_PKEY_get_bn_param(pk, i == 0 ? OSSL_PKEY_PARAM_RSA_D
                                                          : OSSL_PKEY_PARAM_PRIV_KEY, &bn), 0);
        assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 0);
        assert_true(i2d_PrivateKey(pk, &der) <= 0);
        assert_null(der);
        /* The public part exports and equals the token's public key. */
        assert_int_equal(EVP_PKEY_todata(pk, EVP_PKEY_PUBLIC_KEY, &params), 1);
        OSSL_PARAM_free(params);
        assert_int_equal(EVP_PKEY_eq(pk, h2a_p11_key_public(keys[i])), 1);
        assert_int_equal(EVP_PKEY_get_bits(pk), i == 0 ? 2048 : 384);
        assert_int_equal(EVP_PKEY_get_size(pk), EVP_PKEY_get_size(h2a_p11_key_public(keys[i])));
        ERR_clear_error();
        BIO_free(bio);
        EVP_PKEY_free(pk);
    }
}

/* EVP_PKEY_sign over a digest, NULL property query; verify in software. */
static void s_sign_digest(H2A_P11_KEY *k, const EVP_MD *md, int pad)
{
    EVP_PKEY *pk = s_evp(k);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new_from_pkey(NULL, h2a_p11_key_public(k), NULL);
    unsigned char hash[EVP_MAX_MD_SIZE], sig[1024];
    unsigned int hlen = 0;
    size_t siglen = 0;

    assert_int_equal(EVP_Digest("hsm2acm", 7, hash, &hlen, md, NULL), 1);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md), 1);
    if (pad != 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 1);
    }
    assert_int_equal(EVP_PKEY_sign(ctx, NULL, &siglen, hash, hlen), 1);
    assert_true(siglen <= sizeof(sig));
    assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, hash, hlen), 1);

    assert_int_equal(EVP_PKEY_verify_init(vctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(vctx, md), 1);
    if (pad != 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(vctx, pad), 1);
    }
    assert_int_equal(EVP_PKEY_verify(vctx, sig, siglen, hash, hlen), 1);
    /* And a wrong digest must not verify: the check above means something. */
    hash[0] ^= 1;
    assert_true(EVP_PKEY_verify(vctx, sig, siglen, hash, hlen) != 1);
    ERR_clear_error();
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
}

static void test_pkey_sign(void **state)
{
    struct fixture *f = *state;

    s_sign_digest(f->rsa, EVP_sha256(), 0);
    s_sign_digest(f->rsa, EVP_sha512(), RSA_PKCS1_PSS_PADDING);
    s_sign_digest(f->ec, EVP_sha384(), 0);
    s_sign_digest(f->ec, EVP_sha256(), 0);
}

/* EVP_DigestSign with a digest name alias and no property query. */
static void s_digest_sign(H2A_P11_KEY *k, const char *mdname, bool pss)
{
    static const unsigned char msg[] = "a message signed in the token";
    EVP_PKEY *pk = s_evp(k);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);

    assert_int_equal(EVP_DigestSignInit_ex(mctx, &pctx, mdname, NULL, NULL, pk, NULL), 1);
    if (pss) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)), 1);
    assert_int_equal(EVP_DigestVerifyInit_ex(vctx, &pctx, mdname, NULL, NULL,
                                             h2a_p11_key_public(k), NULL), 1);
    if (pss) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO), 1);
    }
    assert_int_equal(EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(vctx);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pk);
}

static void test_digest_sign(void **state)
{
    struct fixture *f = *state;

    s_digest_sign(f->rsa, "SHA2-256", false);
    s_digest_sign(f->rsa, "sha384", true);
    s_digest_sign(f->ec, "SHA2-384", false);
    s_digest_sign(f->ec, "SHA512", false);
}

static void test_refusals(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *pk = s_evp(f->ec);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, "?provider=hsm2acm-p11");
    unsigned char buf[512] = {0};
    size_t len = sizeof(buf);

    /* SHA-1 is not something a token key signs with. */
    assert_int_equal(EVP_DigestSignInit_ex(mctx, NULL, "SHA1", NULL, "?provider=hsm2acm-p11",
                                           pk, NULL), 0);
    /* A raw input that is no SHA-2 digest length is refused. */
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_true(EVP_PKEY_sign(ctx, buf, &len, buf, 20) <= 0);
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_never_exports),
        cmocka_unit_test(test_pkey_sign),
        cmocka_unit_test(test_digest_sign),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
