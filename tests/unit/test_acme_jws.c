/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "h2a_test.h"
#include "issuers/acme_int.h"

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
static const char s_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
    "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh"
    "6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char s_thumb[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static EVP_PKEY *s_rsa_from_b64u(const char *n64, const char *e64)
{
    h2a_buf n, e;
    BIGNUM *bn_n, *bn_e;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;

    h2a_buf_init(&n, 0);
    h2a_buf_init(&e, 0);
    H2A_ASSERT_OK(h2a_base64url_decode(n64, strlen(n64), &n));
    H2A_ASSERT_OK(h2a_base64url_decode(e64, strlen(e64), &e));
    bn_n = BN_bin2bn(n.data, (int)n.len, NULL);
    bn_e = BN_bin2bn(e.data, (int)e.len, NULL);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn_n);
    BN_free(bn_e);
    h2a_buf_free(&n);
    h2a_buf_free(&e);
    return pk;
}

static void test_thumbprint_rfc7638(void **state)
{
    EVP_PKEY *pk = s_rsa_from_b64u(s_n, "AQAB");
    h2a_buf jwk, tp;
    char want[600];

    (void)state;
    h2a_buf_init(&jwk, 0);
    h2a_buf_init(&tp, 0);
    H2A_ASSERT_OK(h2a_acme_jwk(pk, &jwk));
    H2A_ASSERT_OK(h2a_buf_terminate(&jwk));
    snprintf(want, sizeof(want), "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", s_n);
    assert_string_equal((char *)jwk.data, want);
    H2A_ASSERT_OK(h2a_acme_thumbprint((char *)jwk.data, &tp));
    assert_string_equal((char *)tp.data, s_thumb);
    h2a_buf_free(&jwk);
    h2a_buf_free(&tp);
    EVP_PKEY_free(pk);
}

/* EC coordinates keep their leading zero bytes: the field size, always. */
static void test_jwk_ec_fixed_width(void **state)
{
    EVP_PKEY *pk = EVP_EC_gen("P-384");
    h2a_buf jwk;
    char *x, *y;

    (void)state;
    h2a_buf_init(&jwk, 0);
    H2A_ASSERT_OK(h2a_acme_jwk(pk, &jwk));
    H2A_ASSERT_OK(h2a_buf_terminate(&jwk));
    assert_non_null(strstr((char *)jwk.data, "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\""));
    x = strstr((char *)jwk.data, "\"x\":\"") + 5;
    y = strstr((char *)jwk.data, "\"y\":\"") + 5;
    assert_int_equal(strchr(x, '"') - x, 64); /* 48 bytes */
    assert_int_equal(strchr(y, '"') - y, 64);
    h2a_buf_free(&jwk);
    EVP_PKEY_free(pk);
}

static void test_base64url(void **state)
{
    const uint8_t bin[] = {0xfb, 0xff, 0xbf, 0x00};
    h2a_buf b;

    (void)state;
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_base64url_encode(bin, sizeof(bin), &b));
    assert_string_equal((char *)b.data, "-_-_AA");
    h2a_buf_reset(&b);
    H2A_ASSERT_OK(h2a_base64url_decode("-_-_AA==", 8, &b));
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, bin, 4);
    h2a_buf_reset(&b);
    H2A_ASSERT_ERR(h2a_base64url_decode("ab+c", 4, &b), H2A_ERR_INPUT, "not base64url");
    H2A_ASSERT_ERR(h2a_base64url_decode("abcde", 5, &b), H2A_ERR_INPUT, "not base64url");
    h2a_buf_free(&b);
}

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_eab_key_file(void **state)
{
    char path[] = "/tmp/h2a-eab-XXXXXX";
    int fd = mkstemp(path);
    h2a_buf key;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    h2a_buf_init_secure(&key, 0);
    /* pebble's kid-1 example key, padded and with a newline. */
    s_write(path, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W=\n", 0600);
    H2A_ASSERT_OK(h2a_acme_eab_key_load("issuers.p.eab.hmac_key_file", path, &key));
    assert_int_equal(key.len, 48);
    h2a_buf_reset(&key);
    s_write(path, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W\n", 0640);
    H2A_ASSERT_ERR(h2a_acme_eab_key_load("issuers.p.eab.hmac_key_file", path, &key),
                   H2A_ERR_INPUT, "readable by group or others");
    s_write(path, "zWNDZM6eQGHW+pSRT/Pal5eIUYFTu7E\n", 0600);
    H2A_ASSERT_ERR(h2a_acme_eab_key_load("issuers.p.eab.hmac_key_file", path, &key),
                   H2A_ERR_INPUT, "not base64url");
    unlink(path);
    h2a_buf_free(&key);
}

/* The EAB JWS: HS256 over protected.payload with the decoded MAC key. */
static void test_eab_jws(void **state)
{
    h2a_buf key, out, want_in, want_sig;
    uint8_t mac[32];
    unsigned ml = 0;
    const char *jwk = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AQ\"}";
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"kid-1\",\"url\":\"https://a/new-acct\"}";

    (void)state;
    h2a_buf_init(&key, 0);
    h2a_buf_init(&out, 0);
    h2a_buf_init(&want_in, 0);
    h2a_buf_init(&want_sig, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&key, "secret-mac-key"));
    H2A_ASSERT_OK(h2a_acme_eab("kid-1", &key, "https://a/new-acct", jwk, &out));
    H2A_ASSERT_OK(h2a_base64url_encode((const uint8_t *)hdr, strlen(hdr), &want_in));
    H2A_ASSERT_OK(h2a_buf_append_str(&want_in, "."));
    H2A_ASSERT_OK(h2a_base64url_encode((const uint8_t *)jwk, strlen(jwk), &want_in));
    HMAC(EVP_sha256(), key.data, (int)key.len, want_in.data, want_in.len, mac, &ml);
    H2A_ASSERT_OK(h2a_base64url_encode(mac, ml, &want_sig));
    H2A_ASSERT_OK(h2a_buf_terminate(&out));
    assert_non_null(strstr((char *)out.data, (char *)want_sig.data));
    assert_non_null(strstr((char *)out.data, strchr((char *)want_in.data, '.') + 1));
    h2a_buf_free(&key);
    h2a_buf_free(&out);
    h2a_buf_free(&want_in);
    h2a_buf_free(&want_sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprint_rfc7638),
        cmocka_unit_test(test_jwk_ec_fixed_width),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_eab_key_file),
        cmocka_unit_test(test_eab_jws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
