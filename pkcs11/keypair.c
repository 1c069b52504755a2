/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Token key pairs: handles, public keys read from the token, lookup and
 * removal. Generation is in keygen_pair.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "internal.h"

#define H2A_MAX_KEYS 4096

#define H2A_ATTR(t, v) {(t), (void *)(v), sizeof(*(v))}
#define H2A_ATTR_BUF(t, p, n) {(t), (void *)(p), (CK_ULONG)(n)}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

void h2a_p11_key_free(H2A_P11_KEY *k)
{
    if (k == NULL) {
        return;
    }
    free(k->label);
    OPENSSL_free(k->id);
    EVP_PKEY_free(k->pubkey);
    X509_PUBKEY_free(k->spki);
    free(k);
}

h2a_keytype h2a_p11_key_type(const H2A_P11_KEY *k)
{
    return k->type;
}

const char *h2a_p11_key_label(const H2A_P11_KEY *k)
{
    return k->label;
}

const uint8_t *h2a_p11_key_id(const H2A_P11_KEY *k, size_t *len)
{
    *len = k->id_len;
    return k->id;
}

EVP_PKEY *h2a_p11_key_public(const H2A_P11_KEY *k)
{
    return k->pubkey;
}

const X509_PUBKEY *h2a_p11_key_spki(const H2A_P11_KEY *k)
{
    return k->spki;
}

H2A_SESSION *h2a_p11_key_session(const H2A_P11_KEY *k)
{
    return k->s;
}

CK_OBJECT_HANDLE h2a_p11_key_priv_handle(const H2A_P11_KEY *k)
{
    return k->priv;
}

CK_OBJECT_HANDLE h2a_p11_key_pub_handle(const H2A_P11_KEY *k)
{
    return k->pub;
}

void h2a_p11_key_handles(const H2A_P11_KEY *k, CK_FUNCTION_LIST **fl,
                         CK_SESSION_HANDLE *session, CK_OBJECT_HANDLE *priv)
{
    *fl = h2a_token_functions(h2a_session_token(k->s));
    *session = h2a_session_handle(k->s);
    *priv = k->priv;
}

/* ------------------------------------------------------------------ */
/* Public key from token attributes                                    */
/* ------------------------------------------------------------------ */

h2a_err h2a_p11_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection,
                              const char *what, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    h2a_err err = H2A_OK;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, selection, params) <= 0) {
        err = h2a_err_openssl(H2A_ERR_TOKEN, what);
    }
    /* Frees (and wipes) a secure part holding private numbers. */
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return err;
}

static h2a_err s_rsa_public(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                            EVP_PKEY **out)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    h2a_err err;

    err = h2a_p11_attr_get(s, obj, CKA_MODULUS, false, "CKA_MODULUS", &n,
                           &nlen);
    if (err == H2A_OK) {
        err = h2a_p11_attr_get(s, obj, CKA_PUBLIC_EXPONENT, false,
                               "CKA_PUBLIC_EXPONENT", &e, &elen);
    }
    if (err != H2A_OK) {
        goto done;
    }
    bn_n = BN_bin2bn(n, (int)nlen, NULL);
    bn_e = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn_n == NULL || bn_e == NULL || bld == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory building an RSA key");
        goto done;
    }
    err = h2a_p11_pkey_fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY,
                                 "the token's public key is not a valid key", out);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    h2a_p11_attr_free(n, nlen, false);
    h2a_p11_attr_free(e, elen, false);
    return err;
}

/*
 * CKA_EC_POINT is a DER OCTET STRING holding the point (PKCS#11 v2.40, and
 * what SoftHSM2 returns); some tokens return the bare point. Accept the
 * wrapped form only if its content is a whole point of the right size.
 */
static h2a_err s_unwrap_ec_point(const uint8_t *der, size_t len,
                                 size_t point_len, const uint8_t **pt)
{
    const unsigned char *p = der;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    bool wrapped = false;

    if (os != NULL && p == der + len &&
        (size_t)ASN1_STRING_length(os) == point_len &&
        ASN1_STRING_get0_data(os)[0] == 0x04) {
        wrapped = true;
    }
    ASN1_OCTET_STRING_free(os);
    if (wrapped) {
        *pt = der + (len - point_len);
        return H2A_OK;
    }
    if (len == point_len && der[0] == 0x04) {
        *pt = der;
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_TOKEN, "CKA_EC_POINT of %zu bytes is neither "
                       "an uncompressed point of %zu bytes nor one wrapped in "
                       "an OCTET STRING", len, point_len);
}

static h2a_err s_ec_public(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                           h2a_keytype t, EVP_PKEY **out)
{
    uint8_t *der = NULL;
    size_t len = 0;
    const uint8_t *pt = NULL;
    size_t point_len = 2 * (((size_t)h2a_keytype_bits(t) + 7) / 8) + 1;
    OSSL_PARAM_BLD *bld = NULL;
    h2a_err err;

    err = h2a_p11_attr_get(s, obj, CKA_EC_POINT, false, "CKA_EC_POINT", &der,
                           &len);
    if (err == H2A_OK) {
        err = s_unwrap_ec_point(der, len, point_len, &pt);
    }
    if (err != H2A_OK) {
        goto done;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(
            bld, OSSL_PKEY_PARAM_GROUP_NAME,
            OBJ_nid2sn(h2a_keytype_curve_nid(t)), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                          point_len)) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory building an EC key");
        goto done;
    }
    err = h2a_p11_pkey_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY,
                                 "the token's public key is not a valid key", out);
done:
    OSSL_PARAM_BLD_free(bld);
    h2a_p11_attr_free(der, len, false);
    return err;
}

h2a_err h2a_p11_read_public(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                             h2a_keytype t, EVP_PKEY **out)
{
    *out = NULL;
    if (h2a_keytype_is_rsa(t)) {
        return s_rsa_public(s, obj, out);
    }
    return s_ec_public(s, obj, t, out);
}

/*
 * The key's SPKI, and its RFC 5280 4.2.1.2 method 1 identifier: SHA-1 of the
 * subjectPublicKey BIT STRING value (the uncompressed point, or the DER
 * RSAPublicKey).
 */
h2a_err h2a_p11_key_spki_id(H2A_P11_KEY *k, uint8_t id[20])
{
    const unsigned char *bits = NULL;
    int len = 0;

    X509_PUBKEY_free(k->spki);
    k->spki = NULL;
    H2A_GUARD(h2a_spki_from_pkey(k->pubkey, &k->spki));
    if (id == NULL) {
        return H2A_OK;
    }
    if (X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, k->spki) != 1 ||
        EVP_Digest(bits, (size_t)len, id, NULL, EVP_sha1(), NULL) != 1) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, "computing the key identifier");
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                              */
/* ------------------------------------------------------------------ */

/* Key type of a private key object (NONE for types hsm2acm cannot use). */
static h2a_err s_object_keytype(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                                h2a_keytype *out)
{
    CK_ULONG kt = 0;
    uint8_t *v = NULL;
    size_t len = 0;
    h2a_err err;

    *out = H2A_KT_NONE;
    H2A_GUARD(h2a_p11_attr_ulong(s, obj, CKA_KEY_TYPE, &kt));
    if (kt == CKK_RSA) {
        err = h2a_p11_attr_get(s, obj, CKA_MODULUS, false, "CKA_MODULUS", &v,
                               &len);
        if (err == H2A_OK) {
            /* Leading zero bytes are not part of the modulus size. */
            size_t off = 0;
            while (off < len && v[off] == 0) {
                off++;
            }
            switch ((len - off) * 8) {
            case 2048:
                *out = H2A_KT_RSA_2048;
                break;
            case 3072:
                *out = H2A_KT_RSA_3072;
                break;
            case 4096:
                *out = H2A_KT_RSA_4096;
                break;
            default:
                break;
            }
        }
    } else if (kt == CKK_EC) {
        err = h2a_p11_attr_get(s, obj, CKA_EC_PARAMS, false, "CKA_EC_PARAMS",
                               &v, &len);
        if (err == H2A_OK) {
            *out = h2a_p11_ec_params_type(v, len);
        }
    } else {
        err = H2A_OK;
    }
    h2a_p11_attr_free(v, len, false);
    return err;
}

static h2a_err s_find_public(H2A_SESSION *s, H2A_P11_KEY *k)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[2] = {H2A_ATTR(CKA_CLASS, &cls)};
    CK_OBJECT_HANDLE h[2];
    size_t n = 0;

    if (k->id_len > 0) {
        tmpl[1] = (CK_ATTRIBUTE)H2A_ATTR_BUF(CKA_ID, k->id, k->id_len);
    } else {
        tmpl[1] = (CK_ATTRIBUTE)H2A_ATTR_BUF(CKA_LABEL, k->label,
                                             strlen(k->label));
    }
    H2A_GUARD(h2a_p11_find(s, tmpl, 2, h, 2, &n));
    k->pub = n == 1 ? h[0] : CK_INVALID_HANDLE;
    return H2A_OK;
}

/*
 * The public half among `cand` (public key objects the caller's search
 * found): the one with the private key's CKA_ID. None there (the halves
 * carry different labels): a search by CKA_ID.
 */
static h2a_err s_pick_public(H2A_SESSION *s, H2A_P11_KEY *k, const CK_OBJECT_HANDLE *cand,
                             size_t ncand)
{
    size_t same = 0;

    for (size_t i = 0; i < ncand; i++) {
        uint8_t *id = NULL;
        size_t id_len = 0;

        H2A_GUARD(h2a_p11_attr_get(s, cand[i], CKA_ID, false, "CKA_ID", &id, &id_len));
        if (id_len == k->id_len && (id_len == 0 || memcmp(id, k->id, id_len) == 0)) {
            k->pub = cand[i];
            same++;
        }
        h2a_p11_attr_free(id, id_len, false);
    }
    if (same == 1) {
        return H2A_OK;
    }
    k->pub = CK_INVALID_HANDLE;
    return same == 0 ? s_find_public(s, k) : H2A_OK;
}

/* Fill a key handle from a private key object; `cand`: see s_pick_public. */
static h2a_err s_load_key(H2A_SESSION *s, CK_OBJECT_HANDLE priv, H2A_P11_KEY *k,
                          const char *asked, const CK_OBJECT_HANDLE *cand, size_t ncand)
{
    uint8_t *v = NULL;
    size_t len = 0;

    k->s = s;
    k->priv = priv;
    H2A_GUARD(s_object_keytype(s, priv, &k->type));
    H2A_ENSURE(k->type != H2A_KT_NONE, H2A_ERR_TOKEN,
               "key %s is not RSA-2048/3072/4096 or EC P-256/384/521", asked);
    H2A_GUARD(h2a_p11_attr_get(s, priv, CKA_ID, false, "CKA_ID", &k->id,
                               &k->id_len));
    H2A_GUARD(h2a_p11_attr_get(s, priv, CKA_LABEL, false, "CKA_LABEL", &v,
                               &len));
    k->label = strndup((const char *)v, len);
    h2a_p11_attr_free(v, len, false);
    H2A_ENSURE(k->label != NULL, H2A_ERR_NOMEM, "out of memory");
    H2A_GUARD(s_pick_public(s, k, cand, ncand));
    if (k->pub != CK_INVALID_HANDLE) {
        H2A_GUARD(h2a_p11_read_public(s, k->pub, k->type, &k->pubkey));
        return h2a_p11_key_spki_id(k, NULL);
    }
    /* An RSA private key object carries its public half as well. */
    H2A_ENSURE(h2a_keytype_is_rsa(k->type), H2A_ERR_TOKEN,
               "key %s: the token has no public key object for this EC key "
               "(same CKA_ID), and the private object has no public point",
               asked);
    H2A_GUARD(s_rsa_public(s, priv, &k->pubkey));
    return h2a_p11_key_spki_id(k, NULL);
}

/* Objects one key lookup considers; more with the same label or id is odd. */
#define S_FIND_MAX 16

h2a_err h2a_p11_key_find(H2A_SESSION *s, const char *label, const uint8_t *id,
                         size_t id_len, H2A_P11_KEY **out)
{
    CK_ATTRIBUTE tmpl[1];
    CK_OBJECT_HANDLE h[S_FIND_MAX], priv = CK_INVALID_HANDLE, pubs[S_FIND_MAX];
    size_t n = 0, npriv = 0, npub = 0;
    char asked[200];
    char idhex[2 * 64 + 1];
    H2A_P11_KEY *k = NULL;
    h2a_err err;

    *out = NULL;
    H2A_ENSURE((label != NULL) != (id != NULL), H2A_ERR_INTERNAL,
               "h2a_p11_key_find: give a label or an id, not both");
    if (label != NULL) {
        H2A_ENSURE(label[0] != '\0', H2A_ERR_INPUT, "key label is empty");
        snprintf(asked, sizeof(asked), "with label '%.128s'", label);
        tmpl[0] = (CK_ATTRIBUTE)H2A_ATTR_BUF(CKA_LABEL, label, strlen(label));
    } else {
        H2A_ENSURE(id_len > 0 && id_len <= 64, H2A_ERR_INPUT,
                   "key id must be 1..64 bytes, not %zu", id_len);
        h2a_hex_encode(id, id_len, idhex);
        snprintf(asked, sizeof(asked), "with id %s", idhex);
        tmpl[0] = (CK_ATTRIBUTE)H2A_ATTR_BUF(CKA_ID, id, id_len);
    }
    /*
     * One search, of any class, finds both halves (hsm2acm gives them the
     * same label and CKA_ID): a search reads every object on most modules,
     * and a second one for the public half cost as much again.
     */
    H2A_GUARD(h2a_p11_find(s, tmpl, 1, h, S_FIND_MAX, &n));
    if (n > S_FIND_MAX) {
        /* Crowded: search the private keys alone, then the public half. */
        CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE ptmpl[2] = {H2A_ATTR(CKA_CLASS, &pc), tmpl[0]};

        H2A_GUARD(h2a_p11_find(s, ptmpl, 2, h, 1, &npriv));
        priv = h[0];
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        CK_ULONG cls = 0;

        H2A_GUARD(h2a_p11_attr_ulong(s, h[i], CKA_CLASS, &cls));
        if (cls == CKO_PRIVATE_KEY) {
            priv = h[i];
            npriv++;
        } else if (cls == CKO_PUBLIC_KEY) {
            pubs[npub++] = h[i];
        }
    }
    H2A_ENSURE(npriv > 0, H2A_ERR_TOKEN, "object not found: no private key %s on "
               "the token", asked);
    H2A_ENSURE(npriv == 1, H2A_ERR_TOKEN, "%zu private keys %s are on the token; "
               "exactly one must match (use the key id)", npriv, asked);
    k = calloc(1, sizeof(*k));
    H2A_ENSURE(k != NULL, H2A_ERR_NOMEM, "out of memory");
    err = s_load_key(s, priv, k, asked, pubs, npub);
    if (err != H2A_OK) {
        h2a_p11_key_free(k);
        return err;
    }
    *out = k;
    return H2A_OK;
}

h2a_err h2a_p11_key_list(H2A_SESSION *s, h2a_p11_key_cb cb, void *arg)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {H2A_ATTR(CKA_CLASS, &cls)};
    CK_OBJECT_HANDLE *h = NULL;
    size_t n = 0;
    h2a_err err;

    h = calloc(H2A_MAX_KEYS, sizeof(*h));
    H2A_ENSURE(h != NULL, H2A_ERR_NOMEM, "out of memory");
    err = h2a_p11_find(s, tmpl, 1, h, H2A_MAX_KEYS, &n);
    if (err == H2A_OK && n > H2A_MAX_KEYS) {
        err = h2a_err_set(H2A_ERR_TOKEN, "the token holds %zu private keys; "
                          "hsm2acm lists at most %d", n, H2A_MAX_KEYS);
    }
    for (size_t i = 0; err == H2A_OK && i < n; i++) {
        uint8_t *id = NULL, *lab = NULL;
        size_t id_len = 0, lab_len = 0;
        h2a_keytype t = H2A_KT_NONE;
        char *label = NULL;

        err = h2a_p11_attr_get(s, h[i], CKA_ID, false, "CKA_ID", &id, &id_len);
        if (err == H2A_OK) {
            err = h2a_p11_attr_get(s, h[i], CKA_LABEL, false, "CKA_LABEL",
                                   &lab, &lab_len);
        }
        if (err == H2A_OK) {
            err = s_object_keytype(s, h[i], &t);
        }
        if (err == H2A_OK) {
            label = strndup((const char *)lab, lab_len);
            if (label == NULL) {
                err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
            } else {
                cb(arg, id, id_len, label, t);
            }
        }
        free(label);
        h2a_p11_attr_free(id, id_len, false);
        h2a_p11_attr_free(lab, lab_len, false);
    }
    free(h);
    return err;
}

h2a_err h2a_p11_key_destroy(H2A_P11_KEY *k)
{
    CK_FUNCTION_LIST *fl;
    CK_SESSION_HANDLE sh;
    h2a_err err = H2A_OK;

    if (k == NULL) {
        return H2A_OK;
    }
    fl = h2a_token_functions(h2a_session_token(k->s));
    sh = h2a_session_handle(k->s);
    if (H2A_P11_CALL(fl, C_DestroyObject, sh, k->priv) != CKR_OK) {
        err = h2a_p11_fail("destroying private key '%s'", k->label);
    }
    if (k->pub != CK_INVALID_HANDLE &&
        H2A_P11_CALL(fl, C_DestroyObject, sh, k->pub) != CKR_OK &&
        err == H2A_OK) {
        err = h2a_p11_fail("destroying public key '%s'", k->label);
    }
    h2a_p11_key_free(k);
    return err;
}
