/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * AES wrapping keys, their identity, and C_WrapKey of a private key
 * (C_UnwrapKey is in unwrap.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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


/* ------------------------------------------------------------------ */
/* Mechanism names                                                     */
/* ------------------------------------------------------------------ */

const char *h2a_wrapmech_name(h2a_wrapmech m)
{
    switch (m) {
    case H2A_WRAP_AES_KWP3:
        return "CKM_AES_KEY_WRAP_KWP";
    case H2A_WRAP_AES_KWP:
        return "CKM_AES_KEY_WRAP_PAD";
    case H2A_WRAP_AES_KW:
        return "CKM_AES_KEY_WRAP";
    default:
        return "(unknown wrap mechanism)";
    }
}

h2a_err h2a_wrapmech_parse(const char *name, h2a_wrapmech *out)
{
    *out = 0;
    H2A_ENSURE(name != NULL && name[0] != '\0', H2A_ERR_INPUT,
               "wrap mechanism is empty (expected CKM_AES_KEY_WRAP_KWP, "
               "CKM_AES_KEY_WRAP_PAD or CKM_AES_KEY_WRAP)");
    if (strcmp(name, "CKM_AES_KEY_WRAP_KWP") == 0) {
        *out = H2A_WRAP_AES_KWP3;
        return H2A_OK;
    }
    if (strcmp(name, "CKM_AES_KEY_WRAP_PAD") == 0 ||
        strcasecmp(name, "aes-kwp") == 0) {
        *out = H2A_WRAP_AES_KWP;
        return H2A_OK;
    }
    if (strcmp(name, "CKM_AES_KEY_WRAP") == 0 ||
        strcasecmp(name, "aes-kw") == 0) {
        *out = H2A_WRAP_AES_KW;
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_INPUT, "unknown wrap mechanism '%.64s' "
                       "(expected CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD or "
                       "CKM_AES_KEY_WRAP)", name);
}

h2a_mech h2a_wrapmech_mech(h2a_wrapmech m)
{
    return m == H2A_WRAP_AES_KW     ? H2A_MECH_AES_KW
           : m == H2A_WRAP_AES_KWP3 ? H2A_MECH_AES_KWP3
                                    : H2A_MECH_AES_KWP;
}

/* ------------------------------------------------------------------ */
/* Wrapping keys                                                       */
/* ------------------------------------------------------------------ */

const char *h2a_p11_wrapkey_label(const H2A_P11_SECRET *w)
{
    return w->label;
}

CK_OBJECT_HANDLE h2a_p11_wrapkey_handle(const H2A_P11_SECRET *w)
{
    return w->h;
}

void h2a_p11_wrapkey_free(H2A_P11_SECRET *w)
{
    if (w == NULL) {
        return;
    }
    free(w->label);
    free(w);
}

h2a_err h2a_p11_wrapkey_destroy(H2A_P11_SECRET *w)
{
    CK_FUNCTION_LIST *fl;
    h2a_err err = H2A_OK;

    if (w == NULL) {
        return H2A_OK;
    }
    fl = h2a_token_functions(h2a_session_token(w->s));
    if (H2A_P11_CALL(fl, C_DestroyObject, h2a_session_handle(w->s), w->h) !=
        CKR_OK) {
        err = h2a_p11_fail("destroying wrapping key '%s'", w->label);
    }
    h2a_p11_wrapkey_free(w);
    return err;
}

static h2a_err s_secret_new(H2A_SESSION *s, CK_OBJECT_HANDLE h,
                            const char *label, H2A_P11_SECRET **out)
{
    H2A_P11_SECRET *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->label = strdup(label)) == NULL) {
        free(w);
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    w->s = s;
    w->h = h;
    *out = w;
    return H2A_OK;
}

static h2a_err s_find_secret(H2A_SESSION *s, const char *label,
                             CK_OBJECT_HANDLE *h, size_t *n)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE tmpl[] = {
        H2A_ATTR(CKA_CLASS, &cls),
        H2A_ATTR_BUF(CKA_LABEL, label, strlen(label)),
    };

    return h2a_p11_find(s, tmpl, 2, h, 1, n);
}

h2a_err h2a_p11_wrapkey_generate(H2A_SESSION *s, const char *label,
                                 H2A_P11_SECRET **out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG value_len = 32;
    CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    char why[256];
    size_t n = 0;
    h2a_err err;

    *out = NULL;
    H2A_ENSURE(label != NULL && label[0] != '\0', H2A_ERR_INPUT,
               "wrapping key label is empty");
    H2A_ENSURE(strlen(label) <= 128, H2A_ERR_INPUT,
               "wrapping key label is longer than 128 bytes");
    snprintf(why, sizeof(why), "generating AES-256 wrapping key '%s'", label);
    H2A_GUARD(h2a_token_require_mech(h2a_session_token(s), H2A_MECH_AES_KEYGEN,
                                     why));
    H2A_GUARD(s_find_secret(s, label, &h, &n));
    H2A_ENSURE(n == 0, H2A_ERR_INPUT, "wrapping key label '%s': a secret key "
               "with this label already exists on the token; hsm2acm does "
               "not replace it", label);
    CK_ATTRIBUTE tmpl[] = {
        H2A_ATTR(CKA_CLASS, &cls),
        H2A_ATTR(CKA_KEY_TYPE, &kt),
        H2A_ATTR(CKA_VALUE_LEN, &value_len),
        H2A_ATTR(CKA_TOKEN, &s_true),
        H2A_ATTR(CKA_PRIVATE, &s_true),
        H2A_ATTR(CKA_SENSITIVE, &s_true),
        /* Never leaves the token: only what it wraps does. */
        H2A_ATTR(CKA_EXTRACTABLE, &s_false),
        H2A_ATTR(CKA_WRAP, &s_true),
        H2A_ATTR(CKA_UNWRAP, &s_true),
        H2A_ATTR(CKA_ENCRYPT, &s_false),
        H2A_ATTR(CKA_DECRYPT, &s_false),
        H2A_ATTR(CKA_SIGN, &s_false),
        H2A_ATTR(CKA_VERIFY, &s_false),
        H2A_ATTR(CKA_DERIVE, &s_false),
        H2A_ATTR_BUF(CKA_LABEL, label, strlen(label)),
    };
    if (H2A_P11_CALL(fl, C_GenerateKey, h2a_session_handle(s), &mech, tmpl,
                     sizeof(tmpl) / sizeof(tmpl[0]), &h) != CKR_OK) {
        return h2a_p11_fail("%s", why);
    }
    err = s_secret_new(s, h, label, out);
    if (err == H2A_OK) {
        char ident[7];

        err = h2a_p11_wrapkey_kcv(*out, ident);
    }
    if (err != H2A_OK) {
        /* A key nobody can identify is of no use: leave nothing behind. */
        char saved[1024];

        snprintf(saved, sizeof(saved), "%s", h2a_err_msg());
        h2a_p11_wrapkey_free(*out);
        *out = NULL;
        if (H2A_P11_CALL(fl, C_DestroyObject, h2a_session_handle(s), h) != CKR_OK) {
            H2A_LOG_ERR("rollback: could not destroy the new wrapping key '%s': %s", label,
                        h2a_err_msg());
        }
        return h2a_err_set(err, "%s (the new key was destroyed)", saved);
    }
    H2A_LOG_INFO("generated AES-256 wrapping key '%s'", label);
    return H2A_OK;
}

h2a_err h2a_p11_wrapkey_find(H2A_SESSION *s, const char *label,
                             H2A_P11_SECRET **out)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG kt = 0;
    size_t n = 0;

    *out = NULL;
    H2A_ENSURE(label != NULL && label[0] != '\0', H2A_ERR_INPUT,
               "wrapping key label is empty");
    H2A_GUARD(s_find_secret(s, label, &h, &n));
    H2A_ENSURE(n > 0, H2A_ERR_TOKEN, "object not found: no secret key with "
               "label '%s' on the token (create it with hsm2acm wrapkey "
               "create)", label);
    H2A_ENSURE(n == 1, H2A_ERR_TOKEN, "%zu secret keys have label '%s'; "
               "exactly one must", n, label);
    H2A_GUARD(h2a_p11_attr_ulong(s, h, CKA_KEY_TYPE, &kt));
    H2A_ENSURE(kt == CKK_AES, H2A_ERR_TOKEN, "secret key '%s' is not an AES "
               "key (CKA_KEY_TYPE 0x%lx)", label, (unsigned long)kt);
    return s_secret_new(s, h, label, out);
}

static const char *const s_idkind_names[] = {
    [H2A_WRAPKEY_ID_KCV] = NULL,
    [H2A_WRAPKEY_ID_WRAP_KW] = "sha256-wrap:CKM_AES_KEY_WRAP",
    [H2A_WRAPKEY_ID_WRAP_KWP3] = "sha256-wrap:CKM_AES_KEY_WRAP_KWP",
    [H2A_WRAPKEY_ID_WRAP_KWP] = "sha256-wrap:CKM_AES_KEY_WRAP_PAD",
};

const char *h2a_wrapkey_idkind_name(h2a_wrapkey_idkind k)
{
    return (unsigned)k < sizeof(s_idkind_names) / sizeof(s_idkind_names[0]) ? s_idkind_names[k]
                                                                             : NULL;
}

h2a_err h2a_wrapkey_idkind_parse(const char *name, h2a_wrapkey_idkind *out)
{
    *out = H2A_WRAPKEY_ID_KCV;
    if (name == NULL) {
        return H2A_OK;
    }
    for (size_t i = 1; i < sizeof(s_idkind_names) / sizeof(s_idkind_names[0]); i++) {
        if (strcmp(name, s_idkind_names[i]) == 0) {
            *out = (h2a_wrapkey_idkind)i;
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT, "unknown wrapping key identifier kind '%.64s' "
                       "(expected sha256-wrap:CKM_AES_KEY_WRAP, ..._KWP or ..._PAD)", name);
}

h2a_wrapkey_idkind h2a_p11_wrapkey_idkind(const H2A_P11_SECRET *w)
{
    return w->idkind;
}

bool h2a_p11_wrapkey_idkind_is(const H2A_P11_SECRET *w, const char *name)
{
    h2a_wrapkey_idkind kind;

    if (h2a_wrapkey_idkind_parse(name, &kind) != H2A_OK) {
        h2a_err_clear();
        return false;
    }
    return kind == w->idkind;
}

/* CKA_CHECK_VALUE; *absent when the token has no such attribute. */
static h2a_err s_kcv_attr(H2A_P11_SECRET *w, char out[7], bool *absent)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(w->s));
    uint8_t v[32];
    CK_ATTRIBUTE a = {CKA_CHECK_VALUE, v, sizeof(v)};
    CK_RV rv;

    *absent = false;
    rv = H2A_P11_CALL(fl, C_GetAttributeValue, h2a_session_handle(w->s), w->h, &a, 1);
    if (h2a_p11_fault("p11_no_check_value")) {
        rv = CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        (rv == CKR_OK && (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0))) {
        h2a_err_clear();
        *absent = true;
        return H2A_OK;
    }
    if (rv != CKR_OK) {
        return h2a_p11_fail("wrapping key '%s': reading CKA_CHECK_VALUE", w->label);
    }
    H2A_ENSURE(a.ulValueLen >= 3, H2A_ERR_TOKEN, "wrapping key '%s': CKA_CHECK_VALUE "
               "has %lu bytes, expected 3", w->label, (unsigned long)a.ulValueLen);
    h2a_hex_encode(v, 3, out);
    return H2A_OK;
}

/*
 * The identity of a key without CKA_CHECK_VALUE: SHA-256 over its wrap of
 * a fixed, public AES-128 value held in a throwaway session object.
 * Deterministic for KW and KWP; nothing secret is involved or kept.
 */
static h2a_err s_kcv_by_wrap(H2A_P11_SECRET *w, char out[7])
{
    static const CK_BYTE fixed[16] = "hsm2acm-wrap-id";
    static const CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    static const CK_KEY_TYPE kt = CKK_AES;
    static const h2a_wrapkey_idkind kinds[] = {H2A_WRAPKEY_ID_WRAP_KW, H2A_WRAPKEY_ID_WRAP_KWP3,
                                               H2A_WRAPKEY_ID_WRAP_KWP};
    static const h2a_wrapmech mechs[] = {H2A_WRAP_AES_KW, H2A_WRAP_AES_KWP3, H2A_WRAP_AES_KWP};
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(w->s));
    CK_SESSION_HANDLE sh = h2a_session_handle(w->s);
    CK_ATTRIBUTE tmpl[] = {
        H2A_ATTR(CKA_CLASS, &cls),       H2A_ATTR(CKA_KEY_TYPE, &kt),
        H2A_ATTR(CKA_TOKEN, &s_false),   H2A_ATTR(CKA_SENSITIVE, &s_false),
        H2A_ATTR(CKA_EXTRACTABLE, &s_true), H2A_ATTR_BUF(CKA_VALUE, fixed, sizeof(fixed)),
    };
    CK_OBJECT_HANDLE tmp = CK_INVALID_HANDLE;
    CK_MECHANISM mech = {0, NULL, 0};
    uint8_t blob[64], md[32];
    CK_ULONG len = sizeof(blob);
    h2a_err err = H2A_ERR_TOKEN;
    h2a_mech_info mi;
    size_t i;

    for (i = 0; i < 3; i++) {
        H2A_GUARD(h2a_token_mech_info(h2a_session_token(w->s), h2a_wrapmech_mech(mechs[i]), &mi));
        if (mi.present && mi.can_wrap) {
            break;
        }
    }
    H2A_ENSURE(i < 3, H2A_ERR_TOKEN, "wrapping key '%s': the token has no CKA_CHECK_VALUE "
               "and no AES key wrap mechanism to identify the key with", w->label);
    if (H2A_P11_CALL(fl, C_CreateObject, sh, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &tmp) !=
        CKR_OK) {
        return h2a_p11_fail("wrapping key '%s': making the throwaway key that identifies it",
                            w->label);
    }
    mech.mechanism = h2a_mech_ckm(h2a_wrapmech_mech(mechs[i]));
    if (H2A_P11_CALL(fl, C_WrapKey, sh, &mech, w->h, tmp, blob, &len) != CKR_OK) {
        err = h2a_p11_fail("wrapping key '%s': identifying it by a wrap (%s)", w->label,
                           h2a_wrapmech_name(mechs[i]));
    } else if (EVP_Digest(blob, len, md, NULL, EVP_sha256(), NULL) != 1) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "SHA-256");
    } else {
        h2a_hex_encode(md, 3, out);
        w->idkind = kinds[i];
        err = H2A_OK;
    }
    if (H2A_P11_CALL(fl, C_DestroyObject, sh, tmp) != CKR_OK) {
        H2A_LOG_WARN("the throwaway session key stays until the session ends");
        if (err == H2A_OK) {
            h2a_err_clear();
        }
    }
    return err;
}

h2a_err h2a_p11_wrapkey_kcv(H2A_P11_SECRET *w, char out[7])
{
    bool absent = false;

    out[0] = '\0';
    if (w->ident[0] != '\0') {
        memcpy(out, w->ident, sizeof(w->ident));
        return H2A_OK;
    }
    H2A_GUARD(s_kcv_attr(w, out, &absent));
    if (absent) {
        H2A_GUARD(s_kcv_by_wrap(w, out));
    } else {
        w->idkind = H2A_WRAPKEY_ID_KCV;
    }
    memcpy(w->ident, out, sizeof(w->ident));
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Wrap                                                                */
/* ------------------------------------------------------------------ */

h2a_err h2a_p11_wrapmech_pick(H2A_TOKEN *tok, h2a_wrapmech *out)
{
    /* RFC 5649 first; 0x210A's padding differs per token; KW last. */
    static const h2a_wrapmech order[] = {H2A_WRAP_AES_KWP3, H2A_WRAP_AES_KWP, H2A_WRAP_AES_KW};
    h2a_mech_info mi;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        H2A_GUARD(h2a_token_mech_info(tok, h2a_wrapmech_mech(order[i]), &mi));
        if (mi.present && mi.can_wrap && mi.can_unwrap) {
            *out = order[i];
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_TOKEN, "the token cannot export keys under wrap: it has "
                       "none of CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD and "
                       "CKM_AES_KEY_WRAP with both CKF_WRAP and CKF_UNWRAP");
}

static h2a_err s_wrap_failed(CK_RV rv, const char *wlabel, const char *klabel)
{
    switch (rv) {
    case CKR_KEY_NOT_WRAPPABLE:
        return h2a_err_prefix(H2A_ERR_TOKEN, "wrapping key '%s' with '%s': "
                              "the key is CKA_WRAP_WITH_TRUSTED and '%s' is "
                              "not a trusted (CKA_TRUSTED) key: ", klabel,
                              wlabel, wlabel);
    case CKR_KEY_UNEXTRACTABLE:
        return h2a_err_prefix(H2A_ERR_TOKEN, "wrapping key '%s': it was "
                              "generated with CKA_EXTRACTABLE false and can "
                              "never leave the token: ", klabel);
    default:
        return h2a_p11_fail("wrapping key '%s' with '%s'", klabel, wlabel);
    }
}

/* PKCS#8 of RSA-4096 wrapped with KWP is about 2.4 KB. */
#define S_WRAP_GUESS 4096

h2a_err h2a_p11_wrap(H2A_P11_SECRET *w, H2A_P11_KEY *k,
                     h2a_wrapmech *mech_used, h2a_buf *out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(w->s));
    CK_SESSION_HANDLE sh = h2a_session_handle(w->s);
    CK_MECHANISM mech = {0, NULL, 0};
    CK_ULONG len = 0;
    size_t off = out->len;
    h2a_wrapmech wm = H2A_WRAP_AES_KWP;
    CK_RV rv;

    H2A_GUARD(h2a_p11_wrapmech_pick(h2a_session_token(w->s), &wm));
    mech.mechanism = h2a_mech_ckm(h2a_wrapmech_mech(wm));
    /*
     * A module computes the whole wrap to answer a size query, so offer a
     * buffer that fits every key type we make and ask for the size only if
     * the module says it is too small.
     */
    len = S_WRAP_GUESS;
    H2A_GUARD(h2a_buf_reserve(out, off + len));
    rv = H2A_P11_CALL(fl, C_WrapKey, sh, &mech, w->h,
                      h2a_p11_key_priv_handle(k), out->data + off, &len);
    if (rv == CKR_BUFFER_TOO_SMALL) {
        H2A_GUARD(h2a_buf_reserve(out, off + len));
        rv = H2A_P11_CALL(fl, C_WrapKey, sh, &mech, w->h,
                          h2a_p11_key_priv_handle(k), out->data + off, &len);
    }
    if (rv != CKR_OK) {
        return s_wrap_failed(rv, w->label, h2a_p11_key_label(k));
    }
    out->len = off + len;
    *mech_used = wm;
    H2A_LOG_DBG("wrapped key '%s' with '%s' (%s, %lu bytes)",
                h2a_p11_key_label(k), w->label, h2a_wrapmech_name(wm),
                (unsigned long)len);
    return H2A_OK;
}

h2a_err h2a_p11_delivery_supported(H2A_TOKEN *tok)
{
    H2A_ENSURE((h2a_token_quirks(tok) & H2A_QUIRK_NO_DELIVERY_KEYS) == 0, H2A_ERR_TOKEN,
               "this token cannot export keys under wrap: it refuses a private key that is "
               "both CKA_SENSITIVE and CKA_EXTRACTABLE (a delivery key); keygen and csr work "
               "with non-exportable keys, enroll needs a token that can wrap keys");
    return H2A_OK;
}

h2a_err h2a_p11_wrapkey_check(H2A_P11_SECRET *w)
{
    bool wrap = false, unwrap = false;

    /* Batch workers preflight every request: read the attributes once. */
    if (w->usage_checked) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_p11_attr_bool(w->s, w->h, CKA_WRAP, &wrap));
    H2A_GUARD(h2a_p11_attr_bool(w->s, w->h, CKA_UNWRAP, &unwrap));
    H2A_ENSURE(wrap && unwrap, H2A_ERR_TOKEN, "wrapping key '%s' has CKA_WRAP %s and "
               "CKA_UNWRAP %s; delivery needs both TRUE (make one with hsm2acm wrapkey create)",
               w->label, wrap ? "TRUE" : "FALSE", unwrap ? "TRUE" : "FALSE");
    w->usage_checked = true;
    return H2A_OK;
}
