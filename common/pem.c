/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "h2a_common.h"

/*
 * The one place that turns an OpenSSL object into PEM text in an h2a_buf,
 * so that a private key always goes through the secure-heap BIO and every
 * caller gets the same NUL-terminated result.
 */

static int s_pem_write(BIO *b, h2a_pem_kind kind, const void *obj)
{
    switch (kind) {
    case H2A_PEM_CERT:
        return PEM_write_bio_X509(b, obj);
    case H2A_PEM_CSR:
        return PEM_write_bio_X509_REQ(b, obj);
    case H2A_PEM_PUBKEY:
        return PEM_write_bio_PUBKEY(b, obj);
    case H2A_PEM_PRIVKEY:
        return PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL, NULL);
    }
    return 0;
}

static const char *s_pem_what(h2a_pem_kind kind)
{
    switch (kind) {
    case H2A_PEM_CERT:
        return "certificate PEM";
    case H2A_PEM_CSR:
        return "CSR PEM";
    case H2A_PEM_PUBKEY:
        return "public key PEM";
    case H2A_PEM_PRIVKEY:
        return "private key PEM";
    }
    return "PEM";
}

h2a_err h2a_pem_encode(h2a_pem_kind kind, const void *obj, h2a_buf *out)
{
    /* Key bytes in a secmem BIO are freed with OPENSSL_secure_clear_free. */
    BIO *b = BIO_new(kind == H2A_PEM_PRIVKEY ? BIO_s_secmem() : BIO_s_mem());
    char *data = NULL;
    long len;
    h2a_err rv;

    if (b == NULL || obj == NULL || s_pem_write(b, kind, obj) != 1) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, s_pem_what(kind));
        goto done;
    }
    len = BIO_get_mem_data(b, &data);
    rv = h2a_buf_append(out, data, (size_t)len);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
done:
    BIO_free(b);
    return rv;
}
