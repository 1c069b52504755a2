/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * `token info --probe`: what hsm2acm can do on a token, found by doing it
 * on throwaway objects rather than by reading mechanism flags (the TPM lists
 * mechanisms it cannot use, and refuses templates no flag announces).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "internal.h"

static const CK_BBOOL s_true = CK_TRUE;
static const CK_BBOOL s_false = CK_FALSE;

#define H2A_ATTR(t, v) {(t), (void *)(v), sizeof(*(v))}

/* A throwaway AES-256 wrapping key as a session object. */
static bool s_wrapkey(H2A_SESSION *s, struct h2a_p11_secret *w)
{
    static const CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    static const CK_KEY_TYPE kt = CKK_AES;
    static const CK_ULONG len = 32;
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ATTRIBUTE t[] = {
        H2A_ATTR(CKA_CLASS, &cls),         H2A_ATTR(CKA_KEY_TYPE, &kt),
        H2A_ATTR(CKA_VALUE_LEN, &len),     H2A_ATTR(CKA_TOKEN, &s_false),
        H2A_ATTR(CKA_SENSITIVE, &s_true),  H2A_ATTR(CKA_EXTRACTABLE, &s_false),
        H2A_ATTR(CKA_WRAP, &s_true),       H2A_ATTR(CKA_UNWRAP, &s_true),
    };

    memset(w, 0, sizeof(*w));
    w->s = s;
    w->label = (char *)"hsm2acm-probe";
    if (H2A_P11_CALL(fl, C_GenerateKey, h2a_session_handle(s), &mech, t,
                     sizeof(t) / sizeof(t[0]), &w->h) != CKR_OK) {
        w->h = CK_INVALID_HANDLE;
        h2a_err_clear();
        return false;
    }
    return true;
}

/* Sign a fixed digest with `scheme` and check it with the public key. */
static bool s_signs(H2A_P11_KEY *k, h2a_sigscheme scheme)
{
    static const uint8_t data[] = "hsm2acm probe";
    uint8_t md[32], sig[1024];
    size_t sig_len = sizeof(sig);
    EVP_PKEY_CTX *ctx = NULL;
    bool ok = false;

    if (EVP_Digest(data, sizeof(data), md, NULL, EVP_sha256(), NULL) != 1 ||
        h2a_p11_sign_digest(k, scheme, NID_sha256, md, sizeof(md), sig, &sig_len) != H2A_OK) {
        goto done;
    }
    ctx = EVP_PKEY_CTX_new(h2a_p11_key_public(k), NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
        (scheme == H2A_SIG_RSA_PSS &&
         (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
        (scheme == H2A_SIG_RSA_PKCS1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
        goto done;
    }
    ok = EVP_PKEY_verify(ctx, sig, sig_len, md, sizeof(md)) == 1;
done:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    h2a_err_clear();
    return ok;
}

/* Wrap a delivery key under `w` and unwrap it again: the same key back. */
static void s_wraps(H2A_SESSION *s, struct h2a_p11_secret *w, H2A_P11_KEY *k,
                    h2a_probe_type *row)
{
    h2a_wrapmech mech = 0;
    EVP_PKEY *back = NULL;
    h2a_buf blob;

    h2a_buf_init(&blob, 0);
    row->wrap = h2a_p11_wrap(w, k, &mech, &blob) == H2A_OK;
    if (row->wrap) {
        row->unwrap = h2a_p11_unwrap_private_pub(s, w, mech, k->type, blob.data, blob.len,
                                                 k->pubkey, &back) == H2A_OK &&
                      EVP_PKEY_eq(back, k->pubkey) == 1;
    }
    EVP_PKEY_free(back);
    h2a_buf_free(&blob);
    ERR_clear_error();
    h2a_err_clear();
}

/* Everything for one key type; false only when a throwaway key stays behind. */
static bool s_probe_type(H2A_SESSION *s, struct h2a_p11_secret *w, h2a_keytype type,
                         h2a_probe_type *row)
{
    H2A_P11_KEY *k = NULL;
    bool rsa = h2a_keytype_is_rsa(type);

    memset(row, 0, sizeof(*row));
    row->type = type;
    if (h2a_p11_keypair_throwaway(s, type, false, &k) == H2A_OK) {
        row->generate = true;
        row->sign_pkcs1 = rsa && s_signs(k, H2A_SIG_RSA_PKCS1);
        row->sign_pss = rsa && s_signs(k, H2A_SIG_RSA_PSS);
        row->sign_ecdsa = !rsa && s_signs(k, H2A_SIG_ECDSA);
        if (h2a_p11_key_destroy(k) != H2A_OK) {
            return false;
        }
    }
    h2a_err_clear();
    if (h2a_p11_keypair_throwaway(s, type, true, &k) == H2A_OK) {
        row->generate_delivery = true;
        if (w->h != CK_INVALID_HANDLE) {
            s_wraps(s, w, k, row);
        }
        if (h2a_p11_key_destroy(k) != H2A_OK) {
            return false;
        }
    }
    h2a_err_clear();
    return true;
}

h2a_err h2a_token_probe(H2A_SESSION *s, h2a_probe *out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    struct h2a_p11_secret w;
    size_t before = 0, after = 0;
    h2a_err err = H2A_OK;
    char kcv[7];

    memset(out, 0, sizeof(*out));
    H2A_GUARD(h2a_session_object_count(s, &before));
    out->wrap_mechanism = h2a_p11_wrapmech_pick(h2a_session_token(s), &out->mech) == H2A_OK;
    h2a_err_clear();
    out->wrapkey = s_wrapkey(s, &w);
    if (out->wrapkey) {
        out->identify = h2a_p11_wrapkey_kcv(&w, kcv) == H2A_OK;
        out->idkind = (int)w.idkind;
        h2a_err_clear();
    }
    for (int t = H2A_KT_NONE + 1; t < H2A_KT__COUNT && err == H2A_OK; t++) {
        if (!s_probe_type(s, &w, (h2a_keytype)t, &out->types[out->ntypes++])) {
            err = h2a_err_prefix(H2A_ERR_TOKEN, "probe: a throwaway key could not be "
                                 "destroyed: ");
        }
    }
    if (w.h != CK_INVALID_HANDLE &&
        H2A_P11_CALL(fl, C_DestroyObject, h2a_session_handle(s), w.h) != CKR_OK &&
        err == H2A_OK) {
        err = h2a_p11_fail("probe: destroying the throwaway wrapping key");
    }
    if (err == H2A_OK) {
        err = h2a_session_object_count(s, &after);
    }
    if (err == H2A_OK && after != before) {
        err = h2a_err_set(H2A_ERR_TOKEN, "probe: the token held %zu objects before and %zu "
                          "after", before, after);
    }
    return err;
}
