/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * PKCS#10 requests signed in the token. OpenSSL builds and encodes the
 * request (X509_REQ_sign_ctx); the built-in provider routes the signature
 * to the token. Before a CSR is returned its signature is verified with the
 * token's public key, so a broken signer can never hand out a CSR that a CA
 * would reject (or, worse, one over another key).
 */
#include <arpa/inet.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "h2a_keygen.h"

/* ------------------------------------------------------------------ */
/* Extensions                                                          */
/* ------------------------------------------------------------------ */

static h2a_err s_add_san(STACK_OF(X509_EXTENSION) **exts, const struct h2a_csr_req *req)
{
    GENERAL_NAMES *gens = NULL;
    h2a_err rv = H2A_ERR_NOMEM;

    if (req->n_dns + req->n_ip == 0) {
        return H2A_OK;
    }
    gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL) {
        goto done;
    }
    for (size_t i = 0; i < req->n_dns; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

        if (gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, req->dns[i], -1)) {
            GENERAL_NAME_free(gn);
            ASN1_IA5STRING_free(ia5);
            goto done;
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
        if (!sk_GENERAL_NAME_push(gens, gn)) {
            GENERAL_NAME_free(gn);
            goto done;
        }
    }
    for (size_t i = 0; i < req->n_ip; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(req->ip[i]);

        if (gn == NULL || ip == NULL) {
            GENERAL_NAME_free(gn);
            ASN1_OCTET_STRING_free(ip);
            rv = h2a_err_set(H2A_ERR_INPUT, "ip[%zu]: '%s' is not an IP address", i, req->ip[i]);
            goto done;
        }
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
        if (!sk_GENERAL_NAME_push(gens, gn)) {
            GENERAL_NAME_free(gn);
            goto done;
        }
    }
    if (X509V3_add1_i2d(exts, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) != 1) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "subjectAltName extension");
        goto done;
    }
    rv = H2A_OK;
done:
    if (rv == H2A_ERR_NOMEM) {
        h2a_err_set(rv, "subjectAltName extension: out of memory");
    }
    GENERAL_NAMES_free(gens);
    return rv;
}

static h2a_err s_add_ku(STACK_OF(X509_EXTENSION) **exts, unsigned ku)
{
    ASN1_BIT_STRING *bits;
    h2a_err rv = H2A_OK;

    if (ku == 0) {
        return H2A_OK;
    }
    bits = ASN1_BIT_STRING_new();
    if (bits == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "keyUsage extension: out of memory");
    }
    /* H2A_KU_* bit n is RFC 5280 KeyUsage bit n (digitalSignature = 0). */
    for (int n = 0; n < 9; n++) {
        if ((ku & (1u << n)) != 0 && !ASN1_BIT_STRING_set_bit(bits, n, 1)) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "keyUsage extension: out of memory");
            goto done;
        }
    }
    /* RFC 5280 4.2.1.3: conforming CAs SHOULD mark KeyUsage critical. */
    if (X509V3_add1_i2d(exts, NID_key_usage, bits, 1, X509V3_ADD_APPEND) != 1) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "keyUsage extension");
    }
done:
    ASN1_BIT_STRING_free(bits);
    return rv;
}

static h2a_err s_add_eku(STACK_OF(X509_EXTENSION) **exts, unsigned eku)
{
    static const int nids[] = {NID_server_auth,     NID_client_auth, NID_code_sign,
                               NID_email_protect,   NID_time_stamp,  NID_OCSP_sign,
                               NID_ipsecEndSystem,  NID_ipsecTunnel, NID_ipsecUser};
    EXTENDED_KEY_USAGE *ek;
    h2a_err rv = H2A_OK;

    if (eku == 0) {
        return H2A_OK;
    }
    ek = sk_ASN1_OBJECT_new_null();
    if (ek == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "extendedKeyUsage extension: out of memory");
    }
    for (size_t n = 0; n < sizeof(nids) / sizeof(nids[0]); n++) {
        if ((eku & (1u << n)) != 0 && !sk_ASN1_OBJECT_push(ek, OBJ_nid2obj(nids[n]))) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "extendedKeyUsage extension: out of memory");
            goto done;
        }
    }
    if (X509V3_add1_i2d(exts, NID_ext_key_usage, ek, 0, X509V3_ADD_APPEND) != 1) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "extendedKeyUsage extension");
    }
done:
    /* OBJ_nid2obj objects are static: free the stack only. */
    sk_ASN1_OBJECT_free(ek);
    return rv;
}

static h2a_err s_fill(X509_REQ *x, H2A_P11_KEY *k, const struct h2a_csr_req *req)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_NAME *name = NULL;
    h2a_err rv;

    rv = h2a_subject_parse("subject", req->subject, &name);
    if (rv != H2A_OK) {
        goto done;
    }
    if (!X509_REQ_set_version(x, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(x, name)) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "building the request");
        goto done;
    }
    /* The key's SPKI as built at generation, not re-encoded (common/spki.c). */
    rv = h2a_spki_copy(X509_REQ_get_X509_PUBKEY(x), h2a_p11_key_spki(k));
    if (rv != H2A_OK) {
        goto done;
    }
    if ((rv = s_add_san(&exts, req)) != H2A_OK || (rv = s_add_ku(&exts, req->key_usage)) != H2A_OK ||
        (rv = s_add_eku(&exts, req->ext_key_usage)) != H2A_OK) {
        goto done;
    }
    if (exts != NULL && !X509_REQ_add_extensions(x, exts)) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "adding the requested extensions");
        goto done;
    }
    rv = H2A_OK;
done:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */
/* ------------------------------------------------------------------ */

static h2a_err s_sign(X509_REQ *x, H2A_P11_KEY *k, const struct h2a_csr_req *req, int md_nid)
{
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    h2a_err rv;

    rv = h2a_p11_key_evp(k, NULL, &pk);
    if (rv != H2A_OK) {
        goto done;
    }
    mctx = EVP_MD_CTX_new();
    /* "?provider=": prefer the token's signature, take digests from default. */
    if (mctx == NULL || EVP_DigestSignInit_ex(mctx, &pctx, OBJ_nid2sn(md_nid), NULL,
                                              "?provider=hsm2acm-p11", pk, NULL) != 1) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "starting the token signature");
        goto done;
    }
    if (req->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "selecting RSA-PSS");
        goto done;
    }
    h2a_err_clear();
    if (X509_REQ_sign_ctx(x, mctx) <= 0) {
        /* The provider leaves the token's own message (C_Sign: CKR_...). */
        if (h2a_err_msg()[0] != '\0') {
            rv = h2a_err_prefix(H2A_ERR_TOKEN, "signing the CSR with key '%s': ",
                                h2a_p11_key_label(k));
            ERR_clear_error();
        } else {
            rv = h2a_err_openssl(H2A_ERR_INTERNAL, "signing the CSR");
        }
        goto done;
    }
    rv = H2A_OK;
done:
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pk);
    return rv;
}

static h2a_err s_verify(X509_REQ *x, H2A_P11_KEY *k)
{
    EVP_PKEY *pub = h2a_p11_key_public(k);

    if (!h2a_spki_equal(X509_REQ_get_X509_PUBKEY(x), h2a_p11_key_spki(k))) {
        ERR_clear_error();
        return h2a_err_set(H2A_ERR_VERIFY, "CSR public key differs from token key '%s'",
                           h2a_p11_key_label(k));
    }
    if (X509_REQ_verify_ex(x, pub, NULL, NULL) != 1) {
        return h2a_err_openssl(H2A_ERR_VERIFY, "CSR signature does not verify with the token's "
                                               "public key");
    }
    return H2A_OK;
}

h2a_err h2a_csr_make_req(H2A_P11_KEY *k, const struct h2a_csr_req *req, X509_REQ **out)
{
    X509_REQ *x = NULL;
    int md_nid;
    h2a_err rv;

    *out = NULL;
    H2A_ENSURE(k != NULL && req != NULL, H2A_ERR_INTERNAL, "h2a_csr_make: no key or request");
    H2A_GUARD(h2a_csr_validate(req));
    H2A_GUARD(h2a_csr_check_key(req, h2a_p11_key_type(k)));
    md_nid = req->md_nid != 0 ? req->md_nid : h2a_keytype_default_md_nid(h2a_p11_key_type(k));
    x = X509_REQ_new();
    if (x == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "CSR: out of memory");
    }
    if ((rv = s_fill(x, k, req)) != H2A_OK || (rv = s_sign(x, k, req, md_nid)) != H2A_OK ||
        (rv = s_verify(x, k)) != H2A_OK) {
        X509_REQ_free(x);
        return rv;
    }
    *out = x;
    return H2A_OK;
}

h2a_err h2a_csr_make(H2A_P11_KEY *k, const struct h2a_csr_req *req, h2a_buf *out_pem)
{
    X509_REQ *x = NULL;
    h2a_err rv;

    rv = h2a_csr_make_req(k, req, &x);
    if (rv != H2A_OK) {
        return rv;
    }
    rv = h2a_pem_encode(H2A_PEM_CSR, x, out_pem);
    X509_REQ_free(x);
    return rv;
}
