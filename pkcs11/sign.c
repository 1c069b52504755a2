/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Signing a digest in the token. The digest is computed in software by the
 * caller, so only the raw mechanisms are needed (CKM_RSA_PKCS over a
 * DigestInfo, CKM_RSA_PKCS_PSS, CKM_ECDSA): they exist on more tokens than
 * the hash-and-sign ones, and one C_Sign per signature is the floor.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "internal.h"

/* Largest raw signature: RSA-4096 (512 bytes); P-521 r||s is 132. */
#define H2A_SIG_MAX 1024

/* DER DigestInfo prefixes (RFC 8017 9.2 note 1). */
static const uint8_t s_di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                      0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                      0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t s_di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                      0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                      0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t s_di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                      0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                      0x03, 0x05, 0x00, 0x04, 0x40};

struct h2a_md_map {
    int nid;
    size_t len;
    const uint8_t *prefix;
    CK_MECHANISM_TYPE ckm;
    CK_RSA_PKCS_MGF_TYPE mgf;
};

static const struct h2a_md_map s_mds[] = {
    {NID_sha256, 32, s_di_sha256, CKM_SHA256, CKG_MGF1_SHA256},
    {NID_sha384, 48, s_di_sha384, CKM_SHA384, CKG_MGF1_SHA384},
    {NID_sha512, 64, s_di_sha512, CKM_SHA512, CKG_MGF1_SHA512},
};

static const char *s_scheme_name(h2a_sigscheme scheme)
{
    switch (scheme) {
    case H2A_SIG_RSA_PKCS1:
        return "RSA PKCS#1 v1.5";
    case H2A_SIG_RSA_PSS:
        return "RSA-PSS";
    case H2A_SIG_ECDSA:
    case H2A_SIG_ECDSA_RAW:
        return "ECDSA";
    default:
        return "(unknown scheme)";
    }
}

/* r||s (each half the size of the field) to a DER ECDSA-Sig-Value. */
static h2a_err s_ecdsa_der(const uint8_t *raw, size_t raw_len, uint8_t *sig,
                           size_t *sig_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(raw_len / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + raw_len / 2, (int)(raw_len / 2), NULL);
    unsigned char *der = NULL;
    h2a_err err = H2A_OK;
    int n;

    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory encoding ECDSA");
        goto done;
    }
    n = i2d_ECDSA_SIG(es, &der);
    if (n <= 0) {
        err = h2a_err_openssl(H2A_ERR_INTERNAL, "encoding the ECDSA signature");
        goto done;
    }
    if ((size_t)n > *sig_len) {
        err = h2a_err_set(H2A_ERR_INTERNAL, "signature buffer of %zu bytes is "
                          "too small for %d", *sig_len, n);
        goto done;
    }
    memcpy(sig, der, (size_t)n);
    *sig_len = (size_t)n;
done:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return err;
}

static h2a_err s_check_scheme(const H2A_P11_KEY *k, h2a_sigscheme scheme,
                              h2a_mech *mech)
{
    bool rsa = h2a_keytype_is_rsa(h2a_p11_key_type(k));

    switch (scheme) {
    case H2A_SIG_RSA_PKCS1:
        *mech = H2A_MECH_RSA_PKCS;
        break;
    case H2A_SIG_RSA_PSS:
        *mech = H2A_MECH_RSA_PSS;
        break;
    case H2A_SIG_ECDSA:
    case H2A_SIG_ECDSA_RAW:
        *mech = H2A_MECH_ECDSA;
        break;
    default:
        return h2a_err_set(H2A_ERR_INTERNAL, "unknown signature scheme %d",
                           (int)scheme);
    }
    H2A_ENSURE(rsa == (*mech != H2A_MECH_ECDSA), H2A_ERR_INPUT,
               "key '%s' is %s and cannot make %s signatures",
               h2a_p11_key_label(k), h2a_keytype_cli_name(h2a_p11_key_type(k)),
               s_scheme_name(scheme));
    return H2A_OK;
}

/* What C_Sign is given for `scheme`: DigestInfo for PKCS#1 v1.5, the bare digest otherwise. */
static size_t s_mech_input(h2a_sigscheme scheme, const struct h2a_md_map *md,
                           const uint8_t *digest, uint8_t *in, CK_MECHANISM *mech,
                           CK_RSA_PKCS_PSS_PARAMS *pss)
{
    if (scheme == H2A_SIG_RSA_PKCS1) {
        memcpy(in, md->prefix, 19);
        memcpy(in + 19, digest, md->len);
        return 19 + md->len;
    }
    if (scheme == H2A_SIG_RSA_PSS) {
        pss->hashAlg = md->ckm;
        pss->mgf = md->mgf;
        pss->sLen = md->len;
        mech->pParameter = pss;
        mech->ulParameterLen = sizeof(*pss);
    }
    memcpy(in, digest, md->len);
    return md->len;
}

/* One C_SignInit + C_Sign with the key's private half; `why` names it in errors. */
static h2a_err s_sign_once(H2A_P11_KEY *k, CK_MECHANISM *mech, const uint8_t *in, size_t in_len,
                           uint8_t *out, CK_ULONG *out_len, const char *why)
{
    CK_FUNCTION_LIST *fl;
    CK_SESSION_HANDLE sh;
    CK_OBJECT_HANDLE priv;

    h2a_p11_key_handles(k, &fl, &sh, &priv);
    if (H2A_P11_CALL(fl, C_SignInit, sh, mech, priv) != CKR_OK) {
        return h2a_p11_fail("starting %s", why);
    }
    if (H2A_P11_CALL(fl, C_Sign, sh, (CK_BYTE_PTR)in, (CK_ULONG)in_len, out, out_len) != CKR_OK) {
        return h2a_p11_fail("%s", why);
    }
    return H2A_OK;
}

h2a_err h2a_p11_sign_digest(H2A_P11_KEY *k, h2a_sigscheme scheme, int md_nid,
                            const uint8_t *digest, size_t digest_len,
                            uint8_t *sig, size_t *sig_len)
{
    const struct h2a_md_map *md = NULL;
    uint8_t in[19 + 64];
    size_t in_len = 0;
    uint8_t raw[H2A_SIG_MAX];
    CK_ULONG raw_len = sizeof(raw);
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = {0, NULL, 0};
    char why[256];
    h2a_mech m = H2A_MECH_RSA_PKCS;

    H2A_ENSURE(k != NULL && digest != NULL && sig != NULL && sig_len != NULL,
               H2A_ERR_INTERNAL, "h2a_p11_sign_digest: missing argument");
    for (size_t i = 0; i < sizeof(s_mds) / sizeof(s_mds[0]); i++) {
        if (s_mds[i].nid == md_nid) {
            md = &s_mds[i];
        }
    }
    H2A_ENSURE(md != NULL, H2A_ERR_INPUT, "digest %s is not one hsm2acm signs "
               "with (sha256, sha384, sha512)",
               OBJ_nid2sn(md_nid) ? OBJ_nid2sn(md_nid) : "(unknown)");
    H2A_ENSURE(digest_len == md->len, H2A_ERR_INTERNAL, "a %s digest is %zu "
               "bytes, not %zu", OBJ_nid2sn(md_nid), md->len, digest_len);
    H2A_GUARD(s_check_scheme(k, scheme, &m));
    snprintf(why, sizeof(why), "%s signatures with key '%s'",
             s_scheme_name(scheme), h2a_p11_key_label(k));
    /* Cached per token after the first probe. */
    H2A_GUARD(h2a_token_require_mech(h2a_session_token(h2a_p11_key_session(k)),
                                     m, why));
    mech.mechanism = h2a_mech_ckm(m);
    in_len = s_mech_input(scheme, md, digest, in, &mech, &pss);
    H2A_GUARD(s_sign_once(k, &mech, in, in_len, raw, &raw_len, why));
    if (scheme == H2A_SIG_ECDSA) {
        H2A_ENSURE(raw_len % 2 == 0 && raw_len > 0, H2A_ERR_TOKEN,
                   "%s: the token returned an odd-length r||s (%lu bytes)", why,
                   (unsigned long)raw_len);
        return s_ecdsa_der(raw, raw_len, sig, sig_len);
    }
    if (scheme == H2A_SIG_ECDSA_RAW) {
        /* A JWS verifier splits r||s in the middle: an odd length is garbage. */
        H2A_ENSURE(raw_len % 2 == 0 && raw_len > 0, H2A_ERR_TOKEN,
                   "%s: the token returned an odd-length r||s (%lu bytes)", why,
                   (unsigned long)raw_len);
    }
    H2A_ENSURE(raw_len <= *sig_len, H2A_ERR_INTERNAL, "signature buffer of %zu "
               "bytes is too small for %lu", *sig_len, (unsigned long)raw_len);
    memcpy(sig, raw, raw_len);
    *sig_len = raw_len;
    return H2A_OK;
}

h2a_err h2a_p11_sign_message(H2A_P11_KEY *k, h2a_mech m, const uint8_t *msg, size_t msg_len,
                             uint8_t *sig, size_t *sig_len)
{
    CK_MECHANISM mech = {0, NULL, 0};
    CK_ULONG out_len;
    char why[256];

    H2A_ENSURE(k != NULL && msg != NULL && sig != NULL && sig_len != NULL, H2A_ERR_INTERNAL,
               "h2a_p11_sign_message: missing argument");
    H2A_ENSURE(m == H2A_MECH_SHA256_RSA_PKCS && h2a_keytype_is_rsa(h2a_p11_key_type(k)),
               H2A_ERR_INPUT, "key '%s' (%s): %s is not a message signing mechanism for it",
               h2a_p11_key_label(k), h2a_keytype_cli_name(h2a_p11_key_type(k)),
               h2a_mech_name(m));
    snprintf(why, sizeof(why), "%s signatures with key '%s'", h2a_mech_name(m),
             h2a_p11_key_label(k));
    H2A_GUARD(h2a_token_require_mech(h2a_session_token(h2a_p11_key_session(k)), m, why));
    /* Room for the largest key, so C_Sign never answers CKR_BUFFER_TOO_SMALL, which
     * would leave the session's signing operation active. */
    H2A_ENSURE(*sig_len >= 512, H2A_ERR_INTERNAL, "signature buffer of %zu bytes is too "
               "small for RSA-4096", *sig_len);
    mech.mechanism = h2a_mech_ckm(m);
    out_len = (CK_ULONG)*sig_len;
    H2A_GUARD(s_sign_once(k, &mech, msg, msg_len, sig, &out_len, why));
    *sig_len = (size_t)out_len;
    return H2A_OK;
}
