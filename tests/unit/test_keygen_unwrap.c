/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Software unwrap of each token's blob format, against known vectors made
 * once with OpenSSL's command line (KEK 00..1f, a P-256 PKCS#8 of 138 bytes):
 *   KWP   openssl enc -id-aes256-wrap-pad        (RFC 5649, exact length)
 *   SOFT  the same over the DER zero-padded to 144 bytes (SoftHSM2's 0x210A)
 *   NSS   openssl enc -id-aes256-wrap over the DER with PKCS#7 padding
 *         (NSS's 0x210A)
 *   KWZ   openssl enc -id-aes256-wrap over the zero-padded DER (SoftHSM2's KW)
 */
#include "h2a_test.h"

#include <string.h>

#include "h2a_keygen.h"

static const char s_p8[] =
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02"
    "010104206e801174feb2b890eef5734b3feea97e9161b924593d8c9ae40c97c5"
    "6e6a8ca6a1440342000484d2e32d4875c56382ff2a22801c310d4581adb2b7e9"
    "d0932fadfb756fe401c65ba191e06d52247fc45b099a2433310d19ea165f165c"
    "c833477fb6eee5ce98bd";
static const char s_kwp[] =
    "755523d4b07150876d850475353af59a67e929ba4b0139144f61433a19f1d046"
    "9d895ecf3513a612b9b87e9a1a34484896c89f0f6ff0546b502f391ba46972f2"
    "d386dc57f4c7cbc5bfd0eb051809b42d16ae6179677ce12628d3df0e11698d2b"
    "1a56ea987d9d91d683d2460cfa2eebf01ef3560e54e7a4b4baa6e6a9f458191b"
    "aba80314c3ee7fa1ed5f97a3849f0d10230afa9a0444ecf4";
static const char s_soft[] =
    "8723e4fe2c04dfef9670d01c3c2d70310e3c9e4be8eb676a9dd9f41913aa4849"
    "d912a72613e81250f235df948171b351dcbee33061e86975a7c9b4105e52a1b5"
    "1b1008dcdc10d62f6dd24ca64ce115cf3abb3aaa3bfb085caf9ad2eed68eef2a"
    "be3591f025321144a8ff18e8b887bc63a9c22210bd04b92a45414eb8720449e1"
    "ded1f0e53d1833034347bdcb81e6748655a56f3cd9a1111c";
static const char s_nss[] =
    "c9623dbec45fe51ab72de90d556dcb6a4f2c359defca97892d64e8e642212f16"
    "922c5e559e01c2055d054401a2ddf2034d7c5f4cdef74c15eb522609f7cd0960"
    "df9324a89e177b5509090cd113c3ed27c14766f1573f78a38f15d500d3238799"
    "9e47388e2bb2270b42e539c38bd4ba53c38612f33467595696172c7868865936"
    "af0dff14f5d96835e5931bec6c72fc2e84056e888738dcf3";
static const char s_kwz[] =
    "e866ff6cca6fd15b5ed2e6d0a734e421a76ec372b8b922ea5c0fd28c04408e0e"
    "0b0a40bf00d8ecf941bfbe97eea0380451a20134bd2dd7a14cabfeee5d0deb28"
    "2cd2c41f60088ed494a27209d61e590f3e276bea05cc94a2d55b47d66922ce51"
    "235e063c55f3f8f9c1237b0b7644b948d90ee13319aeba677914f1ee080b2c7a"
    "37b4979635faced40ee22e626e9ef960932f5f25500d50ee";

static const uint8_t s_kek[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static void s_hex(const char *hex, h2a_buf *out)
{
    h2a_buf_init(out, 0);
    H2A_ASSERT_OK(h2a_hex_decode(hex, out));
}

/* Unwrap `blob_hex` under `mech`: the PKCS#8 DER without padding, exactly. */
static void s_expect_p8(h2a_wrapmech mech, const char *blob_hex)
{
    h2a_buf blob, want, got;

    s_hex(blob_hex, &blob);
    s_hex(s_p8, &want);
    h2a_buf_init_secure(&got, 0);
    H2A_ASSERT_OK(h2a_wrap_soft_unwrap(mech, s_kek, sizeof(s_kek), blob.data, blob.len, &got));
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    h2a_buf_free(&got);
    h2a_buf_free(&want);
    h2a_buf_free(&blob);
}

static void s_expect_refused(h2a_wrapmech mech, const char *blob_hex, const char *needle)
{
    h2a_buf blob, got;

    s_hex(blob_hex, &blob);
    h2a_buf_init_secure(&got, 0);
    H2A_ASSERT_ERR(h2a_wrap_soft_unwrap(mech, s_kek, sizeof(s_kek), blob.data, blob.len, &got),
                   H2A_ERR_VERIFY, needle);
    assert_int_equal(got.len, 0);
    h2a_buf_free(&got);
    h2a_buf_free(&blob);
}

/* 0x210B is RFC 5649: the exact-length blob, and a zero-padded one. */
static void test_kwp3_rfc5649(void **state)
{
    (void)state;
    s_expect_p8(H2A_WRAP_AES_KWP3, s_kwp);
    s_expect_p8(H2A_WRAP_AES_KWP3, s_soft);
    /* NSS's 0x210A format is not RFC 5649. */
    s_expect_refused(H2A_WRAP_AES_KWP3, s_nss, "does not unwrap");
}

/* 0x210A: SoftHSM2's RFC 5649 of zero-padded data and NSS's PKCS#7 + RFC 3394. */
static void test_kwp_both_formats(void **state)
{
    (void)state;
    s_expect_p8(H2A_WRAP_AES_KWP, s_soft);
    s_expect_p8(H2A_WRAP_AES_KWP, s_kwp);
    s_expect_p8(H2A_WRAP_AES_KWP, s_nss);
}

/* 0x2109: RFC 3394 of zero- or PKCS#7-padded data; an RFC 5649 blob is not it. */
static void test_kw(void **state)
{
    (void)state;
    s_expect_p8(H2A_WRAP_AES_KW, s_kwz);
    s_expect_p8(H2A_WRAP_AES_KW, s_nss);
    s_expect_refused(H2A_WRAP_AES_KW, s_kwp, "does not unwrap");
}

/* A flipped bit, a wrong key, and a bad padding are refused. */
static void test_refusals(void **state)
{
    h2a_buf blob, got;
    uint8_t kek[32];
    uint8_t plain[146];
    size_t der_len = 0;
    h2a_buf p8;

    (void)state;
    s_hex(s_kwp, &blob);
    blob.data[20] ^= 0x01;
    h2a_buf_init_secure(&got, 0);
    H2A_ASSERT_ERR(h2a_wrap_soft_unwrap(H2A_WRAP_AES_KWP3, s_kek, 32, blob.data, blob.len, &got),
                   H2A_ERR_VERIFY, "does not unwrap");
    blob.data[20] ^= 0x01;
    memcpy(kek, s_kek, sizeof(kek));
    kek[0] ^= 0x80;
    H2A_ASSERT_ERR(h2a_wrap_soft_unwrap(H2A_WRAP_AES_KWP3, kek, 32, blob.data, blob.len, &got),
                   H2A_ERR_VERIFY, "does not unwrap");
    assert_int_equal(got.len, 0);
    /* PKCS#7-looking bytes that are not a valid pad: refused. */
    s_hex(s_p8, &p8);
    memcpy(plain, p8.data, p8.len);
    memset(plain + p8.len, 6, 6);
    plain[p8.len + 2] = 5;
    H2A_ASSERT_ERR(h2a_pkcs8_check_padding(H2A_WRAP_AES_KWP, plain, p8.len + 6, &der_len),
                   H2A_ERR_VERIFY, "padding");
    /* Real RFC 5649 carries the exact length: PKCS#7 padding is not allowed. */
    memset(plain + p8.len, 6, 6);
    H2A_ASSERT_OK(h2a_pkcs8_check_padding(H2A_WRAP_AES_KWP, plain, p8.len + 6, &der_len));
    assert_int_equal(der_len, p8.len);
    H2A_ASSERT_ERR(h2a_pkcs8_check_padding(H2A_WRAP_AES_KWP3, plain, p8.len + 6, &der_len),
                   H2A_ERR_VERIFY, "padding");
    h2a_buf_free(&p8);
    h2a_buf_free(&got);
    h2a_buf_free(&blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kwp3_rfc5649),
        cmocka_unit_test(test_kwp_both_formats),
        cmocka_unit_test(test_kw),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
