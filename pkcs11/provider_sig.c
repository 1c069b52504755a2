/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Signatures of the built-in provider: RSA PKCS#1 v1.5, RSA-PSS and ECDSA.
 * The message is hashed in software (OpenSSL's default provider); only the
 * digest goes to the token, through h2a_p11_sign_digest(). That keeps one
 * C_Sign per signature and works for every digest the token can sign.
 *
 * OpenSSL hands us digest names in any spelling ("SHA2-256", "SHA256",
 * "sha256"): each is canonicalised by fetching the digest and taking its
 * NID. A failed lookup must raise an error, or OpenSSL returns 0 silently.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "provider_int.h"

struct s_sigctx {
    struct h2a_provctx *prov;
    bool is_ec;
    struct h2a_provkey *key; /* owned by the EVP_PKEY */
    EVP_MD *md;              /* NULL until a digest is chosen */
    int md_nid;
    EVP_MD_CTX *mdctx;       /* digest-sign in progress */
    int pad;                 /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
    int saltlen;             /* RSA_PSS_SALTLEN_* or a byte count */
    int mgf1_nid;            /* 0: same as md */
};

static void *s_newctx(void *provctx, bool is_ec)
{
    struct s_sigctx *c = OPENSSL_zalloc(sizeof(*c));

    if (c != NULL) {
        c->prov = provctx;
        c->is_ec = is_ec;
        c->pad = RSA_PKCS1_PADDING;
        c->saltlen = RSA_PSS_SALTLEN_DIGEST;
    }
    return c;
}

static void *s_rsa_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return s_newctx(provctx, false);
}

static void *s_ec_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return s_newctx(provctx, true);
}

static void s_freectx(void *vctx)
{
    struct s_sigctx *c = vctx;

    if (c == NULL) {
        return;
    }
    EVP_MD_CTX_free(c->mdctx);
    EVP_MD_free(c->md);
    OPENSSL_free(c);
}

static void *s_dupctx(void *vctx)
{
    struct s_sigctx *src = vctx;
    struct s_sigctx *c = OPENSSL_memdup(src, sizeof(*src));

    if (c == NULL) {
        return NULL;
    }
    c->md = NULL;
    c->mdctx = NULL;
    if (src->md != NULL) {
        if (!EVP_MD_up_ref(src->md)) {
            goto fail;
        }
        c->md = src->md;
    }
    /* EVP_DigestSignFinal works on a copy: the running hash must copy too. */
    if (src->mdctx != NULL) {
        c->mdctx = EVP_MD_CTX_new();
        if (c->mdctx == NULL || !EVP_MD_CTX_copy_ex(c->mdctx, src->mdctx)) {
            goto fail;
        }
    }
    return c;
fail:
    s_freectx(c);
    return NULL;
}

/* Canonical NID of a digest name; SHA-256/384/512 only. */
static int s_md_nid(struct s_sigctx *c, const char *name, EVP_MD **out_md)
{
    EVP_MD *md = EVP_MD_fetch(c->prov->libctx, name, "provider=default");
    int nid;

    if (md == NULL) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "digest '%s' is not known", name);
        return NID_undef;
    }
    nid = EVP_MD_get_type(md);
    if (nid != NID_sha256 && nid != NID_sha384 && nid != NID_sha512) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "digest '%s': token keys sign SHA-256, SHA-384 or SHA-512 only", name);
        EVP_MD_free(md);
        return NID_undef;
    }
    if (out_md != NULL) {
        *out_md = md;
    } else {
        EVP_MD_free(md);
    }
    return nid;
}

static int s_set_md(struct s_sigctx *c, const char *name)
{
    EVP_MD *md = NULL;
    int nid = s_md_nid(c, name, &md);

    if (nid == NID_undef) {
        return 0;
    }
    EVP_MD_free(c->md);
    c->md = md;
    c->md_nid = nid;
    return 1;
}

/*
 * Padding as a name or an OpenSSL number; only the two a token RSA key can
 * do are taken, so a caller asking for another fails here, not at C_Sign.
 */
static int s_param_pad(const OSSL_PARAM *p, int *out)
{
    int pad = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *s = NULL;

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
            return 0;
        }
        pad = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                             : 0;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        return 0;
    }
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "token RSA keys sign with PKCS#1 v1.5 or PSS padding only");
        return 0;
    }
    *out = pad;
    return 1;
}

/* PSS salt length as OpenSSL's names ("digest", "auto", "max"), a decimal, or a number. */
static int s_param_saltlen(const OSSL_PARAM *p, int *out)
{
    const char *s = NULL;
    char *end = NULL;
    long v;

    if (p->data_type != OSSL_PARAM_UTF8_STRING) {
        return OSSL_PARAM_get_int(p, out);
    }
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
        return 0;
    }
    if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) {
        *out = RSA_PSS_SALTLEN_DIGEST;
    } else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) {
        *out = RSA_PSS_SALTLEN_AUTO;
    } else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) {
        *out = RSA_PSS_SALTLEN_MAX;
    } else {
        v = strtol(s, &end, 10);
        if (end == s || *end != '\0' || v < 0 || v > 1024) {
            return 0;
        }
        *out = (int)v;
    }
    return 1;
}

static int s_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct s_sigctx *c = vctx;
    const OSSL_PARAM *p;

    if (c == NULL) {
        return 0;
    }
    if (params == NULL) {
        return 1;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL) {
        const char *name = NULL;

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !s_set_md(c, name)) {
            return 0;
        }
    }
    /* The rest are RSA-only; an EC context takes no notice of them. */
    if (c->is_ec) {
        return 1;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && !s_param_pad(p, &c->pad)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        int len = 0;

        if (!s_param_saltlen(p, &len)) {
            return 0;
        }
        c->saltlen = len;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL) {
        const char *name = NULL;
        int nid;

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) {
            return 0;
        }
        nid = s_md_nid(c, name, NULL);
        if (nid == NID_undef) {
            return 0;
        }
        c->mgf1_nid = nid;
    }
    return 1;
}

static const OSSL_PARAM s_rsa_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM s_ec_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *s_rsa_settable_fn(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return s_rsa_settable;
}

static const OSSL_PARAM *s_ec_settable_fn(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return s_ec_settable;
}

/* Salt length the token will use (it always uses the digest length). */
static int s_check_pss(const struct s_sigctx *c)
{
    int hlen = EVP_MD_get_size(c->md);

    if (c->saltlen != RSA_PSS_SALTLEN_DIGEST && c->saltlen != RSA_PSS_SALTLEN_AUTO &&
        c->saltlen != hlen) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "token RSA-PSS uses a salt as long as the digest (%d bytes)", hlen);
        return 0;
    }
    if (c->mgf1_nid != 0 && c->mgf1_nid != c->md_nid) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "token RSA-PSS uses MGF1 with the message digest");
        return 0;
    }
    return 1;
}

/* DER AlgorithmIdentifier of RSASSA-PSS with `md`, MGF1(md), salt = hlen. */
static int s_pss_algor(const struct s_sigctx *c, X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
    X509_ALGOR *mgfmd = X509_ALGOR_new();
    ASN1_STRING *mgfstr = NULL, *ppstr = NULL;
    int ok = 0;

    if (pp == NULL || mgfmd == NULL) {
        goto done;
    }
    pp->hashAlgorithm = X509_ALGOR_new();
    pp->maskGenAlgorithm = X509_ALGOR_new();
    pp->saltLength = ASN1_INTEGER_new();
    if (pp->hashAlgorithm == NULL || pp->maskGenAlgorithm == NULL || pp->saltLength == NULL) {
        goto done;
    }
    X509_ALGOR_set_md(pp->hashAlgorithm, c->md);
    X509_ALGOR_set_md(mgfmd, c->md);
    mgfstr = ASN1_item_pack(mgfmd, ASN1_ITEM_rptr(X509_ALGOR), NULL);
    if (mgfstr == NULL ||
        !X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgfstr)) {
        ASN1_STRING_free(mgfstr);
        goto done;
    }
    if (!ASN1_INTEGER_set(pp->saltLength, EVP_MD_get_size(c->md))) {
        goto done;
    }
    ppstr = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
    if (ppstr == NULL ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, ppstr)) {
        ASN1_STRING_free(ppstr);
        goto done;
    }
    ok = 1;
done:
    X509_ALGOR_free(mgfmd);
    RSA_PSS_PARAMS_free(pp);
    return ok;
}

static int s_algorithm_id(const struct s_sigctx *c, OSSL_PARAM *p)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char *der = NULL;
    int len, sig_nid = NID_undef, ok = 0;

    if (alg == NULL || c->md == NULL) {
        goto done;
    }
    if (!c->is_ec && c->pad == RSA_PKCS1_PSS_PADDING) {
        if (!s_pss_algor(c, alg)) {
            goto done;
        }
    } else {
        if (!OBJ_find_sigid_by_algs(&sig_nid, c->md_nid,
                                    c->is_ec ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption) ||
            /* RSA PKCS#1 carries NULL parameters, ECDSA none (RFC 5758). */
            !X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), c->is_ec ? V_ASN1_UNDEF : V_ASN1_NULL,
                             NULL)) {
            goto done;
        }
    }
    len = i2d_X509_ALGOR(alg, &der);
    if (len <= 0) {
        goto done;
    }
    ok = OSSL_PARAM_set_octet_string(p, der, (size_t)len);
done:
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    if (!ok) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR,
                       "no signature AlgorithmIdentifier for this digest and padding");
    }
    return ok;
}

static int s_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct s_sigctx *c = vctx;
    OSSL_PARAM *p;

    if (c == NULL) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL && !s_algorithm_id(c, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && c->md != NULL &&
        !OSSL_PARAM_set_utf8_string(p, OBJ_nid2sn(c->md_nid))) {
        return 0;
    }
    if (c->is_ec) {
        return 1;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            if (!OSSL_PARAM_set_utf8_string(p, c->pad == RSA_PKCS1_PSS_PADDING
                                                   ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                   : OSSL_PKEY_RSA_PAD_MODE_PKCSV15)) {
                return 0;
            }
        } else if (!OSSL_PARAM_set_int(p, c->pad)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            if (!OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST)) {
                return 0;
            }
        } else if (!OSSL_PARAM_set_int(p, RSA_PSS_SALTLEN_DIGEST)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && c->md != NULL &&
        !OSSL_PARAM_set_utf8_string(p, OBJ_nid2sn(c->mgf1_nid != 0 ? c->mgf1_nid : c->md_nid))) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM s_rsa_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM s_ec_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *s_rsa_gettable_fn(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return s_rsa_gettable;
}

static const OSSL_PARAM *s_ec_gettable_fn(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return s_ec_gettable;
}

static int s_init_key(struct s_sigctx *c, void *keydata, const OSSL_PARAM params[])
{
    struct h2a_provkey *k = keydata;

    if (c == NULL || k == NULL || k->is_ec != c->is_ec) {
        return 0;
    }
    if (k->p11 == NULL) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "this key has no token private key to sign with");
        return 0;
    }
    c->key = k;
    return s_set_ctx_params(c, params);
}

/* Sign a finished hash in the token; sig == NULL asks for the size. */
static int s_sign_hash(struct s_sigctx *c, const unsigned char *hash, size_t hlen,
                       unsigned char *sig, size_t *siglen, size_t sigsize)
{
    h2a_sigscheme scheme = H2A_SIG_ECDSA;
    size_t len = sigsize;
    h2a_err rv;

    if (sig == NULL) {
        *siglen = (size_t)EVP_PKEY_get_size(c->key->pub);
        return 1;
    }
    if (!c->is_ec) {
        scheme = c->pad == RSA_PKCS1_PSS_PADDING ? H2A_SIG_RSA_PSS : H2A_SIG_RSA_PKCS1;
        if (scheme == H2A_SIG_RSA_PSS && !s_check_pss(c)) {
            return 0;
        }
    }
    rv = h2a_p11_sign_digest(c->key->p11, scheme, c->md_nid, hash, hlen, sig, &len);
    if (rv != H2A_OK) {
        h2a_prov_raise("token signature");
        return 0;
    }
    *siglen = len;
    return 1;
}

/* ---- one-shot signing of a digest (EVP_PKEY_sign) ---------------- */

static int s_sign_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    struct s_sigctx *c = vctx;

    if (!s_init_key(c, keydata, params)) {
        return 0;
    }
    return 1;
}

static int s_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                  const unsigned char *tbs, size_t tbslen)
{
    struct s_sigctx *c = vctx;

    if (c == NULL || c->key == NULL) {
        return 0;
    }
    if (sig == NULL) {
        return s_sign_hash(c, NULL, 0, NULL, siglen, 0);
    }
    /* Without an explicit digest, the input length says which one it is. */
    if (c->md == NULL) {
        const char *name = tbslen == 32 ? "SHA256" : tbslen == 48 ? "SHA384"
                           : tbslen == 64 ? "SHA512" : NULL;

        if (name == NULL || !s_set_md(c, name)) {
            ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                           "input of %zu bytes is not a SHA-256/384/512 digest", tbslen);
            return 0;
        }
    }
    if ((size_t)EVP_MD_get_size(c->md) != tbslen) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "input of %zu bytes does not match digest %s", tbslen,
                       OBJ_nid2sn(c->md_nid));
        return 0;
    }
    return s_sign_hash(c, tbs, tbslen, sig, siglen, sigsize);
}

/* ---- digest-and-sign (X509_REQ_sign_ctx, TLS, JWS) ---------------- */

static int s_digest_sign_init(void *vctx, const char *mdname, void *keydata,
                              const OSSL_PARAM params[])
{
    struct s_sigctx *c = vctx;

    if (!s_init_key(c, keydata, NULL)) {
        return 0;
    }
    if (mdname == NULL || mdname[0] == '\0') {
        mdname = OBJ_nid2sn(h2a_keytype_default_md_nid(c->key->type));
    }
    if (!s_set_md(c, mdname) || !s_set_ctx_params(c, params)) {
        return 0;
    }
    EVP_MD_CTX_free(c->mdctx);
    c->mdctx = EVP_MD_CTX_new();
    if (c->mdctx == NULL || !EVP_DigestInit_ex2(c->mdctx, c->md, NULL)) {
        return 0;
    }
    return 1;
}

static int s_digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
    struct s_sigctx *c = vctx;

    if (c == NULL || c->mdctx == NULL) {
        return 0;
    }
    return EVP_DigestUpdate(c->mdctx, data, len);
}

static int s_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    struct s_sigctx *c = vctx;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;

    if (c == NULL || c->mdctx == NULL || c->key == NULL) {
        return 0;
    }
    if (sig == NULL) {
        return s_sign_hash(c, NULL, 0, NULL, siglen, 0);
    }
    if (!EVP_DigestFinal_ex(c->mdctx, hash, &hlen)) {
        return 0;
    }
    return s_sign_hash(c, hash, hlen, sig, siglen, sigsize);
}

#define H2A_FN(id, fn) {id, (void (*)(void))(fn)}

const OSSL_DISPATCH h2a_prov_rsa_signature[] = {
    H2A_FN(OSSL_FUNC_SIGNATURE_NEWCTX, s_rsa_newctx),
    H2A_FN(OSSL_FUNC_SIGNATURE_FREECTX, s_freectx),
    H2A_FN(OSSL_FUNC_SIGNATURE_DUPCTX, s_dupctx),
    H2A_FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, s_sign_init),
    H2A_FN(OSSL_FUNC_SIGNATURE_SIGN, s_sign),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, s_digest_sign_init),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, s_digest_sign_update),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, s_digest_sign_final),
    H2A_FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, s_get_ctx_params),
    H2A_FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, s_rsa_gettable_fn),
    H2A_FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, s_set_ctx_params),
    H2A_FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, s_rsa_settable_fn),
    {0, NULL},
};

const OSSL_DISPATCH h2a_prov_ecdsa_signature[] = {
    H2A_FN(OSSL_FUNC_SIGNATURE_NEWCTX, s_ec_newctx),
    H2A_FN(OSSL_FUNC_SIGNATURE_FREECTX, s_freectx),
    H2A_FN(OSSL_FUNC_SIGNATURE_DUPCTX, s_dupctx),
    H2A_FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, s_sign_init),
    H2A_FN(OSSL_FUNC_SIGNATURE_SIGN, s_sign),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, s_digest_sign_init),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, s_digest_sign_update),
    H2A_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, s_digest_sign_final),
    H2A_FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, s_get_ctx_params),
    H2A_FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, s_ec_gettable_fn),
    H2A_FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, s_set_ctx_params),
    H2A_FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, s_ec_settable_fn),
    {0, NULL},
};
