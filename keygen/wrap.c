/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Wrap / unwrap at product level. The plaintext private key exists only in
 * OpenSSL's secure heap: the unwrapped EVP_PKEY keeps its components there
 * (h2a_p11_unwrap_private), the PEM is written through a BIO_s_secmem(),
 * and it is handed over in a secure h2a_buf.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "h2a_keygen.h"

h2a_err h2a_keygen_wrap(H2A_P11_SECRET *w, H2A_P11_KEY *k, h2a_wrapmech *mech_used,
                        h2a_buf *blob)
{
    H2A_ENSURE(w != NULL && k != NULL && mech_used != NULL && blob != NULL, H2A_ERR_INTERNAL,
               "h2a_keygen_wrap: missing argument");
    return h2a_p11_wrap(w, k, mech_used, blob);
}

h2a_err h2a_keygen_unwrap_pem(H2A_SESSION *s, H2A_P11_SECRET *w, h2a_wrapmech mech,
                              h2a_keytype type, const uint8_t *blob, size_t blob_len,
                              const EVP_PKEY *expect_pub, h2a_buf *out_pem)
{
    EVP_PKEY *pk = NULL;
    h2a_keytype got = H2A_KT_NONE;
    size_t start;
    h2a_err rv;

    H2A_ENSURE(s != NULL && w != NULL && blob != NULL && blob_len > 0 && out_pem != NULL,
               H2A_ERR_INTERNAL, "h2a_keygen_unwrap_pem: missing argument");
    H2A_ENSURE(out_pem->secure, H2A_ERR_INTERNAL,
               "h2a_keygen_unwrap_pem: the output buffer must come from h2a_buf_init_secure");
    H2A_ENSURE(expect_pub != NULL, H2A_ERR_INTERNAL,
               "h2a_keygen_unwrap_pem: the expected public key is required");
    start = out_pem->len;
    rv = h2a_p11_unwrap_private_pub(s, w, mech, type, blob, blob_len, expect_pub, &pk);
    if (rv != H2A_OK) {
        goto done;
    }
    if (h2a_keytype_from_pkey(pk, &got) != H2A_OK || got != type) {
        rv = h2a_err_set(H2A_ERR_VERIFY, "unwrapped key is %s, expected %s",
                         got != H2A_KT_NONE ? h2a_keytype_cli_name(got) : "of an unknown type",
                         h2a_keytype_cli_name(type));
        goto done;
    }
    if (EVP_PKEY_eq(pk, expect_pub) != 1) {
        ERR_clear_error();
        rv = h2a_err_set(H2A_ERR_VERIFY, "unwrapped private key does not match the expected "
                         "public key (%s)", h2a_keytype_cli_name(type));
        goto done;
    }
    rv = h2a_pem_encode(H2A_PEM_PRIVKEY, pk, out_pem);
done:
    if (rv != H2A_OK && out_pem->len > start) {
        OPENSSL_cleanse(out_pem->data + start, out_pem->len - start);
        out_pem->len = start;
    }
    EVP_PKEY_free(pk);
    return rv;
}

/* `*used`: the length of the one DER PKCS#8 PrivateKeyInfo `der` starts with. */
static h2a_err s_pkcs8_len(const uint8_t *der, size_t len, size_t *used)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8;

    *used = 0;
    H2A_ENSURE(der != NULL && len > 0, H2A_ERR_VERIFY, "unwrapped key: empty plaintext");
    H2A_ENSURE(len <= 65536, H2A_ERR_VERIFY, "unwrapped key: %zu bytes is too long", len);
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8 == NULL) {
        ERR_clear_error();
        return h2a_err_set(H2A_ERR_VERIFY, "unwrapped key: not a DER PKCS#8 PrivateKeyInfo");
    }
    /* The wiping free: the structure holds the private key octets. */
    PKCS8_PRIV_KEY_INFO_free(p8);
    *used = (size_t)(p - der);
    return H2A_OK;
}

h2a_err h2a_pkcs8_check_padded(const uint8_t *der, size_t len, size_t *der_len)
{
    size_t used;

    *der_len = 0;
    H2A_GUARD(s_pkcs8_len(der, len, &used));
    H2A_ENSURE(len - used <= 7, H2A_ERR_VERIFY,
               "unwrapped key: %zu bytes after the %zu-byte PKCS#8 DER; at most 7 bytes of "
               "zero padding are allowed", len - used, used);
    for (size_t i = used; i < len; i++) {
        H2A_ENSURE(der[i] == 0, H2A_ERR_VERIFY,
                   "unwrapped key: padding byte %zu after the PKCS#8 DER is 0x%02x, not zero",
                   i - used, der[i]);
    }
    *der_len = used;
    return H2A_OK;
}

/* Trailing PKCS#7 padding of 1..8 bytes after a DER that ends at `used`. */
static bool s_pkcs7_pad(const uint8_t *p, size_t len, size_t used)
{
    size_t pad = len - used;

    if (pad == 0 || pad > 8 || p[len - 1] != pad) {
        return false;
    }
    for (size_t i = used; i < len; i++) {
        if (p[i] != pad) {
            return false;
        }
    }
    return true;
}

h2a_err h2a_pkcs8_check_padding(h2a_wrapmech mech, const uint8_t *plain, size_t len,
                                size_t *der_len)
{
    size_t used;

    *der_len = 0;
    H2A_GUARD(s_pkcs8_len(plain, len, &used));
    if (mech != H2A_WRAP_AES_KWP3 && s_pkcs7_pad(plain, len, used)) {
        *der_len = used;
        return H2A_OK;
    }
    return h2a_pkcs8_check_padded(plain, len, der_len);
}

static h2a_err s_soft_unwrap_one(const EVP_CIPHER *ciph, const uint8_t *kek, const uint8_t *blob,
                                 size_t blob_len, uint8_t *plain, size_t *plain_len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    h2a_err rv = H2A_OK;

    if (c == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex(c, ciph, NULL, kek, NULL) != 1 ||
        EVP_DecryptUpdate(c, plain, &len, blob, (int)blob_len) != 1 || len < 0 ||
        EVP_DecryptFinal_ex(c, plain + len, &fin) != 1) {
        ERR_clear_error();
        rv = h2a_err_set(H2A_ERR_VERIFY, "the blob does not unwrap with this key (%s)",
                         EVP_CIPHER_get0_name(ciph));
    }
    *plain_len = rv == H2A_OK ? (size_t)len + (size_t)fin : 0;
    EVP_CIPHER_CTX_free(c);
    return rv;
}

h2a_err h2a_wrap_soft_unwrap(h2a_wrapmech mech, const uint8_t *kek, size_t kek_len,
                             const uint8_t *blob, size_t blob_len, h2a_buf *out)
{
    const EVP_CIPHER *pad = kek_len == 16   ? EVP_aes_128_wrap_pad()
                            : kek_len == 24 ? EVP_aes_192_wrap_pad()
                                            : EVP_aes_256_wrap_pad();
    const EVP_CIPHER *kw = kek_len == 16   ? EVP_aes_128_wrap()
                           : kek_len == 24 ? EVP_aes_192_wrap()
                                           : EVP_aes_256_wrap();
    uint8_t *plain = NULL;
    size_t plain_len = 0, der_len = 0;
    h2a_err rv;

    H2A_ENSURE(kek != NULL && (kek_len == 16 || kek_len == 24 || kek_len == 32) && blob != NULL &&
                   out != NULL && out->secure,
               H2A_ERR_INTERNAL, "h2a_wrap_soft_unwrap: bad argument");
    H2A_ENSURE(blob_len >= 16 && blob_len <= 65536 && blob_len % 8 == 0, H2A_ERR_VERIFY,
               "wrapped key: %zu bytes is not a multiple of 8 in 16..65536", blob_len);
    plain = OPENSSL_secure_zalloc(blob_len);
    H2A_ENSURE(plain != NULL, H2A_ERR_NOMEM, "out of secure memory");
    if (mech == H2A_WRAP_AES_KW) {
        rv = s_soft_unwrap_one(kw, kek, blob, blob_len, plain, &plain_len);
    } else {
        rv = s_soft_unwrap_one(pad, kek, blob, blob_len, plain, &plain_len);
        /* 0x210A on NSS: RFC 3394 over PKCS#7-padded data. */
        if (rv != H2A_OK && mech == H2A_WRAP_AES_KWP) {
            h2a_err_clear();
            rv = s_soft_unwrap_one(kw, kek, blob, blob_len, plain, &plain_len);
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_pkcs8_check_padding(mech, plain, plain_len, &der_len);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append(out, plain, der_len);
    }
    OPENSSL_secure_clear_free(plain, blob_len);
    return rv;
}
