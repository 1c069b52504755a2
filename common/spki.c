/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7) for the RSA and EC keys hsm2acm
 * makes, built from key parameters and read back with the type-specific
 * decoders. OpenSSL 3.0's
 * X509_PUBKEY_set and d2i paths set up an encoder or decoder chain for every
 * key, 0.1 to 0.4 ms each; an enrollment moved its key between the two forms
 * five times, which was a tenth of its own time over the floor.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "h2a_common.h"

/* DER RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }. */
static h2a_err s_rsa_public_der(const EVP_PKEY *pk, uint8_t **der, int *len)
{
    BIGNUM *n = NULL, *e = NULL;
    ASN1_INTEGER *an = NULL, *ae = NULL;
    int ln, le, total = 0;
    unsigned char *p;
    h2a_err err = H2A_OK;

    *der = NULL;
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
        (an = BN_to_ASN1_INTEGER(n, NULL)) == NULL ||
        (ae = BN_to_ASN1_INTEGER(e, NULL)) == NULL ||
        (ln = i2d_ASN1_INTEGER(an, NULL)) <= 0 || (le = i2d_ASN1_INTEGER(ae, NULL)) <= 0) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "encoding the RSA public key");
        goto done;
    }
    total = ASN1_object_size(1, ln + le, V_ASN1_SEQUENCE);
    *der = total > 0 ? OPENSSL_malloc((size_t)total) : NULL;
    if (*der == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    p = *der;
    ASN1_put_object(&p, 1, ln + le, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    (void)i2d_ASN1_INTEGER(an, &p);
    (void)i2d_ASN1_INTEGER(ae, &p);
    *len = total;
done:
    ASN1_INTEGER_free(an);
    ASN1_INTEGER_free(ae);
    BN_free(n);
    BN_free(e);
    return err;
}

static h2a_err s_ec_point(const EVP_PKEY *pk, uint8_t **pt, int *len)
{
    size_t n = 0;

    *pt = NULL;
    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0,
                                        &n) != 1 || n == 0 || n > 1024 ||
        (*pt = OPENSSL_malloc(n)) == NULL ||
        EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, *pt, n,
                                        &n) != 1) {
        OPENSSL_free(*pt);
        *pt = NULL;
        return h2a_err_openssl(H2A_ERR_INTERNAL, "reading the EC public point");
    }
    *len = (int)n;
    return H2A_OK;
}

h2a_err h2a_spki_from_pkey(const EVP_PKEY *pk, X509_PUBKEY **out)
{
    X509_PUBKEY *x = X509_PUBKEY_new();
    ASN1_OBJECT *curve = NULL;
    uint8_t *bits = NULL;
    int len = 0, ok;
    h2a_keytype kt;
    h2a_err err;

    *out = NULL;
    if (x == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    err = h2a_keytype_from_pkey(pk, &kt);
    if (err == H2A_OK) {
        err = h2a_keytype_is_rsa(kt) ? s_rsa_public_der(pk, &bits, &len)
                                     : s_ec_point(pk, &bits, &len);
    }
    if (err != H2A_OK) {
        goto done;
    }
    if (h2a_keytype_is_rsa(kt)) {
        ok = X509_PUBKEY_set0_param(x, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL,
                                    bits, len);
    } else {
        curve = OBJ_nid2obj(h2a_keytype_curve_nid(kt));
        ok = X509_PUBKEY_set0_param(x, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                                    curve, bits, len);
    }
    if (ok != 1) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "building the SubjectPublicKeyInfo");
        goto done;
    }
    bits = NULL; /* owned by x now */
    *out = x;
    x = NULL;
done:
    OPENSSL_free(bits);
    X509_PUBKEY_free(x);
    return err;
}

h2a_err h2a_spki_copy(X509_PUBKEY *dst, const X509_PUBKEY *src)
{
    ASN1_OBJECT *alg = NULL;
    const unsigned char *bits = NULL;
    int len = 0, ptype = V_ASN1_UNDEF;
    const void *pval = NULL;
    const ASN1_OBJECT *aobj = NULL;
    X509_ALGOR *pa = NULL;
    void *param = NULL;
    unsigned char *copy = NULL;

    if (dst == NULL || src == NULL || X509_PUBKEY_get0_param(&alg, &bits, &len, &pa, src) != 1 ||
        pa == NULL || len <= 0) {
        return h2a_err_openssl(H2A_ERR_INPUT, "reading a SubjectPublicKeyInfo");
    }
    /* set0_param keeps a decoded key it finds: it would no longer match the bits. */
    ERR_set_mark();
    if (X509_PUBKEY_get0(dst) != NULL) {
        ERR_pop_to_mark();
        return h2a_err_set(H2A_ERR_INTERNAL, "h2a_spki_copy: the target already holds a key");
    }
    ERR_pop_to_mark();
    X509_ALGOR_get0(&aobj, &ptype, &pval, pa);
    /* The parameters of the RSA and EC algorithms: NULL, absent or a curve OID. */
    switch (ptype) {
    case V_ASN1_NULL:
    case V_ASN1_UNDEF:
        break;
    case V_ASN1_OBJECT:
        param = OBJ_dup(pval);
        break;
    default:
        return h2a_err_set(H2A_ERR_INPUT, "SubjectPublicKeyInfo: algorithm parameters of "
                           "ASN.1 type %d are not supported", ptype);
    }
    copy = OPENSSL_memdup(bits, (size_t)len);
    alg = OBJ_dup(aobj);
    if ((ptype == V_ASN1_OBJECT && param == NULL) || copy == NULL || alg == NULL ||
        X509_PUBKEY_set0_param(dst, alg, ptype, param, copy, len) != 1) {
        ASN1_OBJECT_free(param);
        ASN1_OBJECT_free(alg);
        OPENSSL_free(copy);
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory copying a SubjectPublicKeyInfo");
    }
    return H2A_OK;
}

/*
 * d2i_KeyParams and d2i_PublicKey give keys that OpenSSL 3.0 encodes through
 * their ASN.1 method: X509_set_pubkey with one takes ~15 us, not ~160 us.
 */
static EVP_PKEY *s_ec_key(int curve_nid, const unsigned char *bits, int len)
{
    unsigned char *params = NULL;
    const unsigned char *p;
    int plen = i2d_ASN1_OBJECT(OBJ_nid2obj(curve_nid), &params);
    EVP_PKEY *pk = NULL;

    p = params;
    if (plen > 0 && (pk = d2i_KeyParams(EVP_PKEY_EC, NULL, &p, plen)) != NULL) {
        p = bits;
        if (d2i_PublicKey(EVP_PKEY_EC, &pk, &p, len) == NULL || p != bits + len) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    OPENSSL_free(params);
    return pk;
}

h2a_err h2a_spki_to_pkey(const X509_PUBKEY *spki, EVP_PKEY **out)
{
    ASN1_OBJECT *alg = NULL;
    const unsigned char *bits = NULL, *p;
    int len = 0, ptype = V_ASN1_UNDEF, nid;
    const void *pval = NULL;
    X509_ALGOR *pa = NULL;

    *out = NULL;
    if (spki == NULL || X509_PUBKEY_get0_param(&alg, &bits, &len, &pa, spki) != 1 || len <= 0) {
        return h2a_err_openssl(H2A_ERR_INPUT, "reading a SubjectPublicKeyInfo");
    }
    X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    nid = OBJ_obj2nid(alg);
    if (nid == NID_rsaEncryption) {
        p = bits;
        *out = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
        if (*out != NULL && p != bits + len) {
            EVP_PKEY_free(*out);
            *out = NULL;
        }
        return *out != NULL ? H2A_OK
                            : h2a_err_openssl(H2A_ERR_INPUT,
                                              "SubjectPublicKeyInfo: not a valid RSA key");
    }
    if (nid == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT &&
        OBJ_obj2nid(pval) != NID_undef) {
        *out = s_ec_key(OBJ_obj2nid(pval), bits, len);
        return *out != NULL ? H2A_OK
                            : h2a_err_openssl(H2A_ERR_INPUT,
                                              "SubjectPublicKeyInfo: not a valid EC key");
    }
    /* Anything else (explicit curve parameters, other algorithms): OpenSSL decodes it. */
    {
        unsigned char *der = NULL;
        int dl = i2d_X509_PUBKEY(spki, &der);

        p = der;
        *out = dl > 0 ? d2i_PUBKEY(NULL, &p, dl) : NULL;
        OPENSSL_free(der);
    }
    return *out != NULL ? H2A_OK
                        : h2a_err_openssl(H2A_ERR_INPUT, "SubjectPublicKeyInfo: unreadable key");
}

bool h2a_spki_equal(const X509_PUBKEY *a, const X509_PUBKEY *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = a != NULL ? i2d_X509_PUBKEY(a, &da) : -1;
    int lb = b != NULL ? i2d_X509_PUBKEY(b, &db) : -1;
    bool eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return eq;
}

h2a_err h2a_x509_public(X509 *x, EVP_PKEY **out)
{
    EVP_PKEY *pk;

    *out = NULL;
    H2A_ENSURE(x != NULL, H2A_ERR_INPUT, "certificate: missing");
    /* Parsed certificates carry the decoded key; ones built from an SPKI do not. */
    ERR_set_mark();
    pk = X509_get0_pubkey(x);
    ERR_pop_to_mark();
    if (pk != NULL && EVP_PKEY_up_ref(pk) == 1) {
        *out = pk;
        return H2A_OK;
    }
    return h2a_spki_to_pkey(X509_get_X509_PUBKEY(x), out);
}
