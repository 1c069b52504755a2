/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * C_UnwrapKey of a delivery key into a short-lived session object whose
 * components become a software key in OpenSSL's secure heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "internal.h"

static const CK_BBOOL s_true = CK_TRUE;
static const CK_BBOOL s_false = CK_FALSE;

#define H2A_ATTR(t, v) {(t), (void *)(v), sizeof(*(v))}
#define H2A_ATTR_BUF(t, p, n) {(t), (void *)(p), (CK_ULONG)(n)}

/* Largest blob accepted for unwrap: RSA-4096 KWP is ~2.4 KB. */
#define H2A_MAX_BLOB 16384

/* ------------------------------------------------------------------ */
/* Unwrap                                                              */
/* ------------------------------------------------------------------ */

/* A BIGNUM from a secure attribute buffer, itself in the secure heap. */
static h2a_err s_secure_bn(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                           CK_ATTRIBUTE_TYPE t, const char *what, BIGNUM **out)
{
    uint8_t *v = NULL;
    size_t len = 0;
    h2a_err err;

    *out = NULL;
    err = h2a_p11_attr_get(s, obj, t, true, what, &v, &len);
    if (err != H2A_OK) {
        return err;
    }
    *out = BN_secure_new();
    if (*out == NULL || BN_bin2bn(v, (int)len, *out) == NULL) {
        BN_clear_free(*out);
        *out = NULL;
        err = h2a_err_set(H2A_ERR_NOMEM, "out of secure memory for %s", what);
    }
    h2a_p11_attr_free(v, len, true);
    return err;
}

/* DER length octets for `n` (n < 65536: an RSA-16384 key is well below). */
static size_t s_der_len(size_t n, uint8_t *out)
{
    if (n < 0x80) {
        if (out != NULL) {
            out[0] = (uint8_t)n;
        }
        return 1;
    }
    if (n < 0x100) {
        if (out != NULL) {
            out[0] = 0x81;
            out[1] = (uint8_t)n;
        }
        return 2;
    }
    if (out != NULL) {
        out[0] = 0x82;
        out[1] = (uint8_t)(n >> 8);
        out[2] = (uint8_t)n;
    }
    return 3;
}

/*
 * DER INTEGER of an unsigned big-endian value; returns its size, writes it
 * when `out` is not NULL.
 */
static size_t s_der_uint(const uint8_t *v, size_t len, uint8_t *out)
{
    size_t body;
    size_t off = 0;
    bool pad;

    while (len > 0 && v[0] == 0) {
        v++;
        len--;
    }
    pad = len == 0 || (v[0] & 0x80) != 0;
    body = len + (pad ? 1 : 0);
    if (out == NULL) {
        return 1 + s_der_len(body, NULL) + body;
    }
    out[off++] = 0x02;
    off += s_der_len(body, out + off);
    if (pad) {
        out[off++] = 0x00;
    }
    memcpy(out + off, v, len);
    return off + len;
}

/*
 * RSA: the components become a PKCS#1 RSAPrivateKey DER in the secure heap,
 * decoded by OpenSSL. Its ASN.1 decoder puts the private numbers in secure
 * BIGNUMs; EVP_PKEY_fromdata would put them on the ordinary heap (OpenSSL
 * 3.0's RSA import copies into plain BIGNUMs; test_pkcs11_wrap checks).
 */
static h2a_err s_rsa_private(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                             EVP_PKEY **out)
{
    static const struct {
        CK_ATTRIBUTE_TYPE attr;
        const char *name;
    } parts[8] = {
        {CKA_MODULUS, "CKA_MODULUS"},
        {CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT"},
        {CKA_PRIVATE_EXPONENT, "CKA_PRIVATE_EXPONENT"},
        {CKA_PRIME_1, "CKA_PRIME_1"},
        {CKA_PRIME_2, "CKA_PRIME_2"},
        {CKA_EXPONENT_1, "CKA_EXPONENT_1"},
        {CKA_EXPONENT_2, "CKA_EXPONENT_2"},
        {CKA_COEFFICIENT, "CKA_COEFFICIENT"},
    };
    static const uint8_t version0[] = {0x02, 0x01, 0x00};
    uint8_t *v[8] = {NULL};
    size_t vlen[8] = {0};
    uint8_t *der = NULL;
    size_t body = sizeof(version0), total = 0, off = 0;
    const unsigned char *p;
    h2a_err err = H2A_OK;

    for (size_t i = 0; i < 8; i++) {
        err = h2a_p11_attr_get(s, obj, parts[i].attr, true, parts[i].name,
                               &v[i], &vlen[i]);
        if (err != H2A_OK) {
            goto done;
        }
        body += s_der_uint(v[i], vlen[i], NULL);
    }
    if (body >= 0x10000) {
        err = h2a_err_set(H2A_ERR_TOKEN, "the unwrapped RSA key is too large "
                          "(%zu bytes of components)", body);
        goto done;
    }
    total = 1 + s_der_len(body, NULL) + body;
    der = OPENSSL_secure_malloc(total);
    if (der == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of secure memory for the "
                          "unwrapped RSA key");
        goto done;
    }
    der[off++] = 0x30;
    off += s_der_len(body, der + off);
    memcpy(der + off, version0, sizeof(version0));
    off += sizeof(version0);
    for (size_t i = 0; i < 8; i++) {
        off += s_der_uint(v[i], vlen[i], der + off);
    }
    p = der;
    *out = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)total);
    if (*out == NULL || p != der + total) {
        EVP_PKEY_free(*out);
        *out = NULL;
        err = h2a_err_openssl(H2A_ERR_TOKEN, "the unwrapped key's RSA "
                              "components do not form a valid key");
    }
done:
    if (der != NULL) {
        OPENSSL_secure_clear_free(der, total);
    }
    for (size_t i = 0; i < 8; i++) {
        h2a_p11_attr_free(v[i], vlen[i], true);
    }
    return err;
}

/* The private object has no CKA_EC_POINT and OpenSSL 3.0 will not derive it. */
static h2a_err s_ec_point(int nid, const BIGNUM *priv, uint8_t *pt,
                          size_t *pt_len)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    BN_CTX *ctx = BN_CTX_secure_new();
    h2a_err err = H2A_OK;
    size_t n;

    if (g == NULL || p == NULL || ctx == NULL ||
        EC_POINT_mul(g, p, priv, NULL, NULL, ctx) != 1) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "computing the EC public point");
        goto done;
    }
    n = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pt, *pt_len,
                           ctx);
    if (n == 0) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "encoding the EC public point");
        goto done;
    }
    *pt_len = n;
done:
    BN_CTX_free(ctx);
    EC_POINT_free(p);
    EC_GROUP_free(g);
    return err;
}

static h2a_err s_ec_private(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                            h2a_keytype type, EVP_PKEY **out)
{
    uint8_t *params = NULL;
    size_t params_len = 0;
    BIGNUM *d = NULL;
    uint8_t pt[1 + 2 * 66];
    size_t pt_len = sizeof(pt);
    OSSL_PARAM_BLD *bld = NULL;
    int nid = h2a_keytype_curve_nid(type);
    h2a_err err;

    err = h2a_p11_attr_get(s, obj, CKA_EC_PARAMS, false, "CKA_EC_PARAMS",
                           &params, &params_len);
    if (err != H2A_OK) {
        goto done;
    }
    if (h2a_p11_ec_params_type(params, params_len) != type) {
        err = h2a_err_set(H2A_ERR_TOKEN, "the unwrapped key is not on the "
                          "curve of %s", h2a_keytype_cli_name(type));
        goto done;
    }
    err = s_secure_bn(s, obj, CKA_VALUE, "CKA_VALUE", &d);
    if (err == H2A_OK) {
        err = s_ec_point(nid, d, pt, &pt_len);
    }
    if (err != H2A_OK) {
        goto done;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                          pt_len)) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    err = h2a_p11_pkey_fromdata("EC", bld, EVP_PKEY_KEYPAIR,
                                 "the unwrapped key's components do not form a valid key", out);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    h2a_p11_attr_free(params, params_len, false);
    return err;
}

static h2a_err s_unwrap_failed(CK_RV rv, const char *wlabel)
{
    switch (rv) {
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
    case CKR_WRAPPED_KEY_INVALID:
    case CKR_WRAPPED_KEY_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_TEMPLATE_INCONSISTENT:
        return h2a_err_prefix(H2A_ERR_TOKEN, "unwrapping with '%s': the "
                              "wrapped key could not be unwrapped (corrupt "
                              "blob or wrong wrapping key): ", wlabel);
    default:
        return h2a_p11_fail("unwrapping with '%s'", wlabel);
    }
}

h2a_err h2a_p11_unwrap_private(H2A_SESSION *s, H2A_P11_SECRET *w,
                               h2a_wrapmech mech, h2a_keytype type,
                               const uint8_t *blob, size_t blob_len,
                               EVP_PKEY **out)
{
    return h2a_p11_unwrap_private_pub(s, w, mech, type, blob, blob_len, NULL, out);
}

/*
 * The unwrap template: a session object (gone when the session closes,
 * never on disk) that is not sensitive, so its components can be read
 * exactly once; NSS wants the public point of an EC key as CKA_NSS_DB.
 */
static h2a_err s_unwrap_template(H2A_SESSION *s, h2a_keytype type, const EVP_PKEY *pub,
                                 CK_ATTRIBUTE *tmpl, CK_ULONG *n, uint8_t *pt, size_t pt_cap)
{
    static const CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    static const CK_KEY_TYPE rsa = CKK_RSA, ec = CKK_EC;
    size_t pt_len = 0;

    *n = 0;
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_CLASS, &cls);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_KEY_TYPE, h2a_keytype_is_rsa(type) ? &rsa : &ec);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_TOKEN, &s_false);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_PRIVATE, &s_true);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_SENSITIVE, &s_false);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_EXTRACTABLE, &s_true);
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR(CKA_SIGN, &s_true);
    if (h2a_keytype_is_rsa(type) ||
        (h2a_token_quirks(h2a_session_token(s)) & H2A_QUIRK_NSS_EC_UNWRAP_DB) == 0) {
        return H2A_OK;
    }
    H2A_ENSURE(pub != NULL, H2A_ERR_INTERNAL, "unwrapping an EC key on this token needs "
               "its public key (CKA_NSS_DB)");
    if (EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_cap,
                                        &pt_len) != 1) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, "reading the EC public point");
    }
    tmpl[(*n)++] = (CK_ATTRIBUTE)H2A_ATTR_BUF(H2A_CKA_NSS_DB, pt, pt_len);
    return H2A_OK;
}

h2a_err h2a_p11_unwrap_private_pub(H2A_SESSION *s, H2A_P11_SECRET *w, h2a_wrapmech mech,
                                   h2a_keytype type, const uint8_t *blob, size_t blob_len,
                                   const EVP_PKEY *pub, EVP_PKEY **out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_SESSION_HANDLE sh = h2a_session_handle(s);
    CK_MECHANISM ck_mech = {0, NULL, 0};
    CK_ATTRIBUTE tmpl[8];
    CK_ULONG ntmpl = 0;
    uint8_t pt[1 + 2 * 66];
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    h2a_mech_info mi;
    EVP_PKEY *pk = NULL;
    h2a_keytype got = H2A_KT_NONE;
    h2a_err err = H2A_OK;
    CK_RV rv;

    *out = NULL;
    H2A_ENSURE(type > H2A_KT_NONE && type < H2A_KT__COUNT, H2A_ERR_INPUT,
               "unwrap: unknown key type %d", (int)type);
    H2A_ENSURE(mech == H2A_WRAP_AES_KWP || mech == H2A_WRAP_AES_KW || mech == H2A_WRAP_AES_KWP3,
               H2A_ERR_INPUT, "unwrap: unknown wrap mechanism %d", (int)mech);
    H2A_ENSURE(blob != NULL && blob_len >= 16 && blob_len <= H2A_MAX_BLOB,
               H2A_ERR_INPUT, "unwrap: a wrapped key blob is 16..%d bytes, "
               "not %zu", H2A_MAX_BLOB, blob_len);
    H2A_GUARD(h2a_token_mech_info(h2a_session_token(s), h2a_wrapmech_mech(mech), &mi));
    H2A_ENSURE(mi.present && mi.can_unwrap, H2A_ERR_TOKEN,
               "token lacks mechanism %s for unwrapping, needed to unwrap a "
               "%s key with '%s'", h2a_wrapmech_name(mech),
               h2a_keytype_cli_name(type), w->label);
    ck_mech.mechanism = h2a_mech_ckm(h2a_wrapmech_mech(mech));
    H2A_GUARD(s_unwrap_template(s, type, pub, tmpl, &ntmpl, pt, sizeof(pt)));
    rv = H2A_P11_CALL(fl, C_UnwrapKey, sh, &ck_mech, w->h, (CK_BYTE *)blob,
                      (CK_ULONG)blob_len, tmpl, ntmpl, &obj);
    if (rv != CKR_OK) {
        err = s_unwrap_failed(rv, w->label);
        obj = CK_INVALID_HANDLE;
        goto done;
    }
    if (h2a_keytype_is_rsa(type)) {
        err = s_rsa_private(s, obj, &pk);
    } else {
        err = s_ec_private(s, obj, type, &pk);
    }
    if (err != H2A_OK) {
        goto done;
    }
    if (h2a_keytype_from_pkey(pk, &got) != H2A_OK || got != type) {
        err = h2a_err_set(H2A_ERR_TOKEN, "the unwrapped key is %s, not the "
                          "expected %s",
                          got != H2A_KT_NONE ? h2a_keytype_cli_name(got)
                                             : "an unsupported type",
                          h2a_keytype_cli_name(type));
        goto done;
    }
    *out = pk;
    pk = NULL;
done:
    /* On every path: the plaintext key object must not outlive this call. */
    if (obj != CK_INVALID_HANDLE) {
        char saved[1024];
        snprintf(saved, sizeof(saved), "%s", h2a_err_msg());
        if (H2A_P11_CALL(fl, C_DestroyObject, sh, obj) != CKR_OK) {
            H2A_LOG_ERR("could not destroy the unwrapped session object: %s",
                        h2a_err_msg());
            if (err == H2A_OK) {
                err = h2a_p11_fail("destroying the unwrapped session object");
                EVP_PKEY_free(*out);
                *out = NULL;
            }
        } else {
            (void)h2a_err_set(err, "%s", saved);
        }
    }
    EVP_PKEY_free(pk);
    return err;
}

