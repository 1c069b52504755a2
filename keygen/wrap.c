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

static h2a_err s_pem_secure(EVP_PKEY *pk, h2a_buf *out)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long len;
    h2a_err rv;

    if (bio == NULL ||
        !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "private key PEM");
        goto done;
    }
    len = BIO_get_mem_data(bio, &data);
    rv = h2a_buf_append(out, data, (size_t)len);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
done:
    /* A secmem BIO frees its buffer with OPENSSL_secure_clear_free. */
    BIO_free(bio);
    return rv;
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
    rv = h2a_p11_unwrap_private(s, w, mech, type, blob, blob_len, &pk);
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
    rv = s_pem_secure(pk, out_pem);
done:
    if (rv != H2A_OK && out_pem->len > start) {
        OPENSSL_cleanse(out_pem->data + start, out_pem->len - start);
        out_pem->len = start;
    }
    EVP_PKEY_free(pk);
    return rv;
}

h2a_err h2a_pkcs8_check_padded(const uint8_t *der, size_t len, size_t *der_len)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8;
    size_t used;

    *der_len = 0;
    H2A_ENSURE(der != NULL && len > 0, H2A_ERR_VERIFY, "unwrapped key: empty plaintext");
    H2A_ENSURE(len <= 65536, H2A_ERR_VERIFY, "unwrapped key: %zu bytes is too long", len);
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8 == NULL) {
        ERR_clear_error();
        return h2a_err_set(H2A_ERR_VERIFY, "unwrapped key: not a DER PKCS#8 PrivateKeyInfo");
    }
    /* The wiping free: the structure holds the private key octets. */
    PKCS8_PRIV_KEY_INFO_free(p8);
    used = (size_t)(p - der);
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
