/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "issuers/h2a_issuer.h"

/* PEM in for the issuer types (a leaf layer: it calls no issuer); out is h2a_pem_encode(). */

h2a_err h2a_issuer_parse_pem_chain(const char *who, const char *pem, size_t len,
                                   X509 **leaf, STACK_OF(X509) **chain)
{
    h2a_err rv = H2A_OK;
    BIO *bio = NULL;
    STACK_OF(X509) *sk = NULL;
    X509 *x = NULL;

    *leaf = NULL;
    *chain = NULL;
    if (len > INT32_MAX) {
        return h2a_err_set(H2A_ERR_ISSUER, "%s: output too large", who);
    }
    /* Not "out of memory": an empty buffer has no data pointer for a BIO. */
    if (len == 0 || pem == NULL) {
        return h2a_err_set(H2A_ERR_ISSUER, "%s: printed no certificate (empty output)", who);
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "%s", who);
        goto done;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            rv = h2a_err_set(H2A_ERR_NOMEM, "%s", who);
            goto done;
        }
    }
    /* The loop ends on "no start line" at EOF; anything else is garbage. */
    {
        unsigned long e = ERR_peek_last_error();

        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
                        ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
            rv = h2a_err_openssl(H2A_ERR_ISSUER, who);
            h2a_err_prefix(rv, "%s: unreadable PEM certificate: ", who);
            goto done;
        }
        ERR_clear_error();
    }
    if (sk_X509_num(sk) == 0) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: printed no PEM certificate", who);
        goto done;
    }
    *leaf = sk_X509_shift(sk);
    *chain = sk;
    sk = NULL;
done:
    sk_X509_pop_free(sk, X509_free);
    BIO_free(bio);
    return rv;
}
