/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "issuers/acme_int.h"

h2a_err h2a_acme_cert_id(X509 *leaf, h2a_buf *out)
{
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);
    unsigned char *der = NULL, *p;
    int n;
    h2a_err rv;

    H2A_ENSURE(aki != NULL, H2A_ERR_ISSUER, "the certificate has no authority key identifier");
    H2A_GUARD(h2a_base64url_encode(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki),
                                   out));
    H2A_GUARD(h2a_buf_append_str(out, "."));
    n = i2d_ASN1_INTEGER(serial, &der);
    H2A_ENSURE(n > 2, H2A_ERR_ISSUER, "serial number");
    /* Skip tag and (short-form: serials are at most 20 octets) length. */
    p = der + 2;
    rv = h2a_base64url_encode(p, (size_t)n - 2, out);
    OPENSSL_free(der);
    return rv;
}

void h2a_acme_ari_store(h2a_acme *a, X509 *leaf)
{
    h2a_buf id, url;
    h2a_acme_reply r = {0};
    char name[300], path[4400];
    h2a_err rv;

    if (a->renewal_info == NULL) {
        return;
    }
    h2a_buf_init(&id, 0);
    h2a_buf_init(&url, 0);
    h2a_acme_reply_clear(&r);
    rv = h2a_acme_cert_id(leaf, &id);
    if (rv == H2A_OK &&
        (rv = h2a_buf_printf(&url, "%s%s%s", a->renewal_info,
                             a->renewal_info[strlen(a->renewal_info) - 1] == '/' ? "" : "/",
                             (const char *)id.data)) == H2A_OK &&
        (rv = h2a_buf_terminate(&url)) == H2A_OK &&
        (rv = h2a_acme_get(a, (const char *)url.data, &r)) == H2A_OK) {
        snprintf(name, sizeof(name), "ari-%s.json", (const char *)id.data);
        if ((rv = h2a_acme_state_path(a, name, path, sizeof(path))) == H2A_OK) {
            rv = h2a_file_write_atomic(path, r.body.data, r.body.len, 0600);
        }
    }
    if (rv != H2A_OK) {
        H2A_LOG_WARN("issuers.%s: no ARI renewal window kept: %s", a->ctx->conf->name,
                     h2a_err_msg());
        h2a_err_clear();
    } else {
        H2A_LOG_INFO("issuers.%s: ARI renewal window kept in %s", a->ctx->conf->name, path);
    }
    h2a_buf_free(&id);
    h2a_buf_free(&url);
    h2a_buf_free(&r.body);
}
