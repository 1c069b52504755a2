/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Key pair generation: the attribute policy by purpose (a delivery key or
 * one that never leaves the token), the token's quirks (pkcs11/quirks.c),
 * CKA_ID as the RFC 5280 key identifier, and rollback of both halves on
 * any failure after C_GenerateKeyPair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

static const CK_BBOOL s_true = CK_TRUE;
static const CK_BBOOL s_false = CK_FALSE;

#define H2A_ATTR(t, v) {(t), (void *)(v), sizeof(*(v))}
#define H2A_ATTR_BUF(t, p, n) {(t), (void *)(p), (CK_ULONG)(n)}

/* ------------------------------------------------------------------ */
/* Generation                                                          */
/* ------------------------------------------------------------------ */

static h2a_err s_check_keygen_mech(H2A_TOKEN *tok, h2a_keytype type,
                                   const char *label)
{
    h2a_mech m = h2a_keytype_is_rsa(type) ? H2A_MECH_RSA_KEYGEN
                                          : H2A_MECH_EC_KEYGEN;
    h2a_mech_info mi;
    unsigned long bits = (unsigned long)h2a_keytype_bits(type);
    char why[256];

    snprintf(why, sizeof(why), "generating %s key '%s'",
             h2a_keytype_cli_name(type), label);
    H2A_GUARD(h2a_token_require_mech(tok, m, why));
    H2A_GUARD(h2a_token_mech_info(tok, m, &mi));
    /* Some tokens report 0..0 for "no limit"; only a real range is checked. */
    if (mi.max_key != 0 && (bits < mi.min_key || bits > mi.max_key)) {
        return h2a_err_set(H2A_ERR_TOKEN, "%s: the token's %s accepts key "
                           "sizes %lu..%lu, not %lu", why, h2a_mech_name(m),
                           mi.min_key, mi.max_key, bits);
    }
    return H2A_OK;
}

static h2a_err s_label_unused(H2A_SESSION *s, const char *label, unsigned flags)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {
        H2A_ATTR(CKA_CLASS, &cls),
        H2A_ATTR_BUF(CKA_LABEL, label, strlen(label)),
    };
    CK_OBJECT_HANDLE h;
    size_t n = 0;

    if ((flags & H2A_KEYGEN_LABEL_RESERVED) != 0 &&
        h2a_labels_known_unused(s, label, (flags & H2A_KEYGEN_MANY_KEYS) != 0)) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_p11_find(s, tmpl, 2, &h, 1, &n));
    H2A_ENSURE(n == 0, H2A_ERR_INPUT, "label '%s': a private key with this "
               "label already exists on the token; choose another label",
               label);
    return H2A_OK;
}

static void s_destroy_pair(H2A_SESSION *s, CK_OBJECT_HANDLE priv,
                           CK_OBJECT_HANDLE pub)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_SESSION_HANDLE sh = h2a_session_handle(s);

    /* Keep the message of the failure that got us here. */
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s", h2a_err_msg());
    if (priv != CK_INVALID_HANDLE &&
        H2A_P11_CALL(fl, C_DestroyObject, sh, priv) != CKR_OK) {
        H2A_LOG_ERR("rollback: could not destroy the new private key: %s",
                    h2a_err_msg());
    }
    if (pub != CK_INVALID_HANDLE &&
        H2A_P11_CALL(fl, C_DestroyObject, sh, pub) != CKR_OK) {
        H2A_LOG_ERR("rollback: could not destroy the new public key: %s",
                    h2a_err_msg());
    }
    (void)h2a_err_set(H2A_ERR_TOKEN, "%s", saved);
}

/*
 * Copy a session pair to token objects carrying CKA_ID, then drop the
 * session pair. On failure k still holds the session pair (the caller
 * destroys it); `*refused` says the token does not do such copies at all.
 */
static h2a_err s_copy_to_token(H2A_P11_KEY *k, const uint8_t id[20], bool *refused)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(k->s));
    CK_SESSION_HANDLE sh = h2a_session_handle(k->s);
    CK_ATTRIBUTE t[] = {
        H2A_ATTR(CKA_TOKEN, &s_true),
        H2A_ATTR_BUF(CKA_ID, id, 20),
    };
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_RV rv;

    *refused = false;
    rv = H2A_P11_CALL(fl, C_CopyObject, sh, k->pub, t, 2, &pub);
    if (rv != CKR_OK) {
        *refused = rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_ACTION_PROHIBITED ||
                   rv == CKR_ATTRIBUTE_READ_ONLY || rv == CKR_TEMPLATE_INCONSISTENT ||
                   rv == CKR_ATTRIBUTE_VALUE_INVALID;
        return h2a_p11_fail("copying public key '%s' to the token", k->label);
    }
    if (H2A_P11_CALL(fl, C_CopyObject, sh, k->priv, t, 2, &priv) != CKR_OK) {
        h2a_err err = h2a_p11_fail("copying private key '%s' to the token", k->label);

        s_destroy_pair(k->s, CK_INVALID_HANDLE, pub);
        return err;
    }
    /* Session objects end with the session anyway; a failure here only logs. */
    if (H2A_P11_CALL(fl, C_DestroyObject, sh, k->priv) != CKR_OK ||
        H2A_P11_CALL(fl, C_DestroyObject, sh, k->pub) != CKR_OK) {
        H2A_LOG_WARN("key '%s': a session copy stays until the session ends: %s",
                     k->label, h2a_err_msg());
        h2a_err_clear();
    }
    k->pub = pub;
    k->priv = priv;
    return H2A_OK;
}

/*
 * Everything after C_GenerateKeyPair that can fail. `copy`: the pair was
 * made as session objects and becomes token objects with CKA_ID here.
 */
static h2a_err s_finish_pair(H2A_P11_KEY *k, bool copy, bool *refused)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(k->s));
    CK_SESSION_HANDLE sh = h2a_session_handle(k->s);
    uint8_t id[20];
    CK_ATTRIBUTE a = {CKA_ID, id, sizeof(id)};

    *refused = false;
    H2A_GUARD(h2a_p11_read_public(k->s, k->pub, k->type, &k->pubkey));
    H2A_GUARD(h2a_p11_key_spki_id(k, id));
    if (copy) {
        H2A_GUARD(s_copy_to_token(k, id, refused));
    } else if (H2A_P11_CALL(fl, C_SetAttributeValue, sh, k->pub, &a, 1) != CKR_OK) {
        return h2a_p11_fail("setting CKA_ID on public key '%s'", k->label);
    } else if (H2A_P11_CALL(fl, C_SetAttributeValue, sh, k->priv, &a, 1) != CKR_OK) {
        return h2a_p11_fail("setting CKA_ID on private key '%s'", k->label);
    }
    if (h2a_p11_fault("p11_after_generate")) {
        return h2a_err_set(H2A_ERR_TOKEN, "key '%s': injected fault "
                           "p11_after_generate (H2A_TEST_FAULT)", k->label);
    }
    k->id = OPENSSL_memdup(id, sizeof(id));
    H2A_ENSURE(k->id != NULL, H2A_ERR_NOMEM, "out of memory");
    k->id_len = sizeof(id);
    return H2A_OK;
}

/*
 * A refused template: say which attribute policy was asked for and what can
 * be changed, with the CKR code last.
 */
static h2a_err s_generate_refused(const H2A_P11_KEY *k, CK_RV rv)
{
    const char *kt = h2a_keytype_cli_name(k->type);

    if (rv != CKR_ATTRIBUTE_VALUE_INVALID && rv != CKR_TEMPLATE_INCONSISTENT &&
        rv != CKR_GENERAL_ERROR && rv != CKR_ATTRIBUTE_TYPE_INVALID) {
        return h2a_p11_fail("generating %s key '%s'", kt, k->label);
    }
    if (k->exportable) {
        return h2a_err_prefix(H2A_ERR_TOKEN, "generating %s key '%s': the token refused the delivery-key "
                            "template (private key CKA_SENSITIVE and CKA_EXTRACTABLE both "
                            "TRUE, sign only, token object); this token may not export keys "
                            "under wrap: use it without --exportable, or a token that can: ",
                            kt, k->label);
    }
    return h2a_err_prefix(H2A_ERR_TOKEN, "generating %s key '%s': the token refused the non-exportable "
                        "template (private key CKA_SENSITIVE TRUE, CKA_EXTRACTABLE FALSE, "
                        "CKA_SIGN TRUE, DECRYPT/UNWRAP/DERIVE FALSE, token object); if it "
                        "derives usage attributes itself, add it to the quirks table "
                        "(docs/tokens.md): ", kt, k->label);
}

/*
 * C_GenerateKeyPair, then CKA_ID. The id is a hash of the public key, so it
 * can only be set afterwards. Where the token allows it the pair is made as
 * session objects and copied to the token with CKA_ID in the copy template:
 * each token object is then written once, instead of created and rewritten
 * (SoftHSM2's file store: ~1 ms per key). A copy keeps CKA_LOCAL,
 * CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE (PKCS#11 v2.40, C_CopyObject).
 */
static h2a_err s_generate(H2A_SESSION *s, H2A_P11_KEY *k, CK_MECHANISM *mech,
                          CK_ATTRIBUTE *pub_tmpl, CK_ULONG npub,
                          CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    bool copy = (h2a_token_quirks(h2a_session_token(s)) & H2A_QUIRK_SESSION_KEYGEN_COPY) != 0 &&
                !h2a_token_copy_refused(h2a_session_token(s));
    bool refused = false;
    h2a_err err;
    CK_RV rv;

    /* CKA_TOKEN is the first attribute of both templates. */
    pub_tmpl[0].pValue = (void *)(copy ? &s_false : &s_true);
    priv_tmpl[0].pValue = (void *)(copy ? &s_false : &s_true);
    rv = H2A_P11_CALL(fl, C_GenerateKeyPair, h2a_session_handle(s), mech, pub_tmpl, npub,
                      priv_tmpl, npriv, &k->pub, &k->priv);
    if (rv != CKR_OK) {
        k->pub = k->priv = CK_INVALID_HANDLE;
        return s_generate_refused(k, rv);
    }
    err = s_finish_pair(k, copy, &refused);
    if (err == H2A_OK) {
        return H2A_OK;
    }
    s_destroy_pair(s, k->priv, k->pub);
    k->pub = k->priv = CK_INVALID_HANDLE;
    EVP_PKEY_free(k->pubkey);
    k->pubkey = NULL;
    if (!refused) {
        return h2a_err_prefix(err, "%s key '%s' (both halves destroyed): ",
                              h2a_keytype_cli_name(k->type), k->label);
    }
    H2A_LOG_INFO("token refuses to copy a session key to the token (%s); "
                 "generating token objects directly", h2a_err_msg());
    h2a_err_clear();
    h2a_token_set_copy_refused(h2a_session_token(s));
    return s_generate(s, k, mech, pub_tmpl, npub, priv_tmpl, npriv);
}

/* Both templates of one generation; CKA_TOKEN is the first of each. */
struct s_templates {
    CK_ATTRIBUTE pub[10];
    CK_ATTRIBUTE priv[12];
    CK_ULONG npub, npriv;
    CK_ULONG bits;
    uint8_t *ec_params;
    size_t ec_params_len;
};

#define S_ADD(arr, n, a) ((arr)[(n)++] = (CK_ATTRIBUTE)a)

/*
 * The attribute policy by purpose: every private key is PRIVATE, SENSITIVE
 * and SIGN; EXTRACTABLE only for a delivery key (H2A_KEYGEN_EXPORTABLE), so
 * that it can leave wrapped. Usages SoftHSM2 would otherwise switch on
 * (DECRYPT, UNWRAP, ENCRYPT, WRAP) are set FALSE, SIGN/VERIFY TRUE, unless
 * the token derives the usage flags from its own key object and refuses any
 * explicit value (H2A_QUIRK_DERIVED_USAGE): there the token's own values
 * stand (tpm2-pkcs11: private key sign only).
 */
static h2a_err s_templates(H2A_TOKEN *tok, h2a_keytype type, const char *label,
                           unsigned flags, struct s_templates *t)
{
    static const CK_BYTE f4[] = {0x01, 0x00, 0x01};
    bool derived = (h2a_token_quirks(tok) & H2A_QUIRK_DERIVED_USAGE) != 0;
    bool exportable = (flags & (H2A_KEYGEN_EXPORTABLE | H2A_KEYGEN_WRAP_WITH_TRUSTED)) != 0;

    t->bits = (CK_ULONG)h2a_keytype_bits(type);
    S_ADD(t->pub, t->npub, H2A_ATTR(CKA_TOKEN, &s_true));
    S_ADD(t->pub, t->npub, H2A_ATTR(CKA_PRIVATE, &s_false));
    if (!derived) {
        S_ADD(t->pub, t->npub, H2A_ATTR(CKA_VERIFY, &s_true));
        S_ADD(t->pub, t->npub, H2A_ATTR(CKA_ENCRYPT, &s_false));
        S_ADD(t->pub, t->npub, H2A_ATTR(CKA_WRAP, &s_false));
        S_ADD(t->pub, t->npub, H2A_ATTR(CKA_VERIFY_RECOVER, &s_false));
    }
    S_ADD(t->pub, t->npub, H2A_ATTR_BUF(CKA_LABEL, label, strlen(label)));
    if (h2a_keytype_is_rsa(type)) {
        S_ADD(t->pub, t->npub, H2A_ATTR(CKA_MODULUS_BITS, &t->bits));
        S_ADD(t->pub, t->npub, H2A_ATTR_BUF(CKA_PUBLIC_EXPONENT, f4, sizeof(f4)));
    } else {
        H2A_GUARD(h2a_p11_ec_params(type, &t->ec_params, &t->ec_params_len));
        S_ADD(t->pub, t->npub, H2A_ATTR_BUF(CKA_EC_PARAMS, t->ec_params, t->ec_params_len));
    }
    S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_TOKEN, &s_true));
    S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_PRIVATE, &s_true));
    S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_SENSITIVE, &s_true));
    S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_EXTRACTABLE, exportable ? &s_true : &s_false));
    if (!derived) {
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_SIGN, &s_true));
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_SIGN_RECOVER, &s_false));
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_DECRYPT, &s_false));
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_UNWRAP, &s_false));
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_DERIVE, &s_false));
    }
    S_ADD(t->priv, t->npriv, H2A_ATTR_BUF(CKA_LABEL, label, strlen(label)));
    if ((flags & H2A_KEYGEN_WRAP_WITH_TRUSTED) != 0) {
        S_ADD(t->priv, t->npriv, H2A_ATTR(CKA_WRAP_WITH_TRUSTED, &s_true));
    }
    return H2A_OK;
}

/* A delivery key on a token known to refuse one: say so before generating. */
static h2a_err s_check_purpose(H2A_TOKEN *tok, h2a_keytype type, const char *label,
                               unsigned flags)
{
    if ((flags & (H2A_KEYGEN_EXPORTABLE | H2A_KEYGEN_WRAP_WITH_TRUSTED)) == 0 ||
        (h2a_token_quirks(tok) & H2A_QUIRK_NO_DELIVERY_KEYS) == 0) {
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_TOKEN, "generating %s key '%s': this token cannot export keys "
                       "under wrap: it refuses a private key that is both CKA_SENSITIVE and "
                       "CKA_EXTRACTABLE (a delivery key); make the key without --exportable, "
                       "or use a token that can wrap keys for delivery",
                       h2a_keytype_cli_name(type), label);
}

h2a_err h2a_p11_keypair_generate(H2A_SESSION *s, h2a_keytype type,
                                 const char *label, unsigned flags,
                                 H2A_P11_KEY **out)
{
    CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    struct s_templates t;
    H2A_P11_KEY *k = NULL;
    h2a_err err = H2A_OK;

    *out = NULL;
    memset(&t, 0, sizeof(t));
    H2A_ENSURE(type > H2A_KT_NONE && type < H2A_KT__COUNT, H2A_ERR_INPUT,
               "key type %d is not one hsm2acm generates", (int)type);
    H2A_ENSURE(label != NULL && label[0] != '\0', H2A_ERR_INPUT,
               "key label is empty");
    H2A_ENSURE(strlen(label) <= 128, H2A_ERR_INPUT,
               "key label is longer than 128 bytes");
    H2A_GUARD(s_check_keygen_mech(h2a_session_token(s), type, label));
    H2A_GUARD(s_check_purpose(h2a_session_token(s), type, label, flags));
    H2A_GUARD(s_label_unused(s, label, flags));
    if (!h2a_keytype_is_rsa(type)) {
        mech.mechanism = CKM_EC_KEY_PAIR_GEN;
    }
    err = s_templates(h2a_session_token(s), type, label, flags, &t);
    if (err != H2A_OK) {
        goto done;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL || (k->label = strdup(label)) == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    k->s = s;
    k->type = type;
    k->priv = CK_INVALID_HANDLE;
    k->pub = CK_INVALID_HANDLE;
    k->exportable = (flags & (H2A_KEYGEN_EXPORTABLE | H2A_KEYGEN_WRAP_WITH_TRUSTED)) != 0;
    err = s_generate(s, k, &mech, t.pub, t.npub, t.priv, t.npriv);
    if (err != H2A_OK) {
        goto done;
    }
    h2a_labels_note(h2a_session_token(s), label);
    H2A_LOG_INFO("generated %s key '%s' in the token (%s)",
                 h2a_keytype_cli_name(type), label,
                 k->exportable ? "exportable under wrap" : "never leaves the token");
    *out = k;
    k = NULL;
done:
    OPENSSL_free(t.ec_params);
    h2a_p11_key_free(k);
    return err;
}


/* One C_GenerateKeyPair of a throwaway pair; CKA_TOKEN as `token`. */
static CK_RV s_throwaway_try(H2A_SESSION *s, H2A_P11_KEY *k, CK_MECHANISM *mech,
                             struct s_templates *t, bool token)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));

    t->pub[0].pValue = (void *)(token ? &s_true : &s_false);
    t->priv[0].pValue = (void *)(token ? &s_true : &s_false);
    return H2A_P11_CALL(fl, C_GenerateKeyPair, h2a_session_handle(s), mech, t->pub, t->npub,
                        t->priv, t->npriv, &k->pub, &k->priv);
}

h2a_err h2a_p11_keypair_throwaway(H2A_SESSION *s, h2a_keytype type, bool exportable,
                                  H2A_P11_KEY **out)
{
    CK_MECHANISM mech = {h2a_keytype_is_rsa(type) ? CKM_RSA_PKCS_KEY_PAIR_GEN
                                                  : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    struct s_templates t;
    H2A_P11_KEY *k = NULL;
    h2a_err err;
    CK_RV rv;

    *out = NULL;
    memset(&t, 0, sizeof(t));
    err = s_templates(h2a_session_token(s), type, "hsm2acm-probe",
                      exportable ? H2A_KEYGEN_EXPORTABLE : 0u, &t);
    if (err == H2A_OK && ((k = calloc(1, sizeof(*k))) == NULL ||
                          (k->label = strdup("hsm2acm-probe")) == NULL)) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    if (err != H2A_OK) {
        goto done;
    }
    k->s = s;
    k->type = type;
    k->exportable = exportable;
    rv = s_throwaway_try(s, k, &mech, &t, false);
    /* Tokens without session key pairs (tpm2-pkcs11): token objects, destroyed at once. */
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT) {
        rv = s_throwaway_try(s, k, &mech, &t, true);
    }
    if (rv != CKR_OK) {
        k->pub = k->priv = CK_INVALID_HANDLE;
        err = s_generate_refused(k, rv);
        goto done;
    }
    err = h2a_p11_read_public(s, k->pub, type, &k->pubkey);
    if (err != H2A_OK) {
        s_destroy_pair(s, k->priv, k->pub);
        goto done;
    }
    *out = k;
    k = NULL;
done:
    OPENSSL_free(t.ec_params);
    h2a_p11_key_free(k);
    return err;
}
