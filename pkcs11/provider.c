/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The built-in OpenSSL 3 provider "hsm2acm-p11": key management for RSA and
 * EC token keys. A token key becomes an EVP_PKEY through EVP_PKEY_fromdata
 * with a private parameter carrying the H2A_P11_KEY; everything public
 * (size, group, export, comparison) is answered by a software copy of the
 * public key, and the private half never leaves the token: EXPORT refuses
 * any private selection. That refusal is also what makes OpenSSL 3.0 fall
 * back from the default provider's signature to ours.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "provider_int.h"

void h2a_prov_raise(const char *what)
{
    const char *msg = h2a_err_msg();

    ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "%s: %s", what,
                   msg[0] != '\0' ? msg : "failed");
}

/* ------------------------------------------------------------------ */
/* Key management                                                      */
/* ------------------------------------------------------------------ */

static struct h2a_provkey *s_key_new(void *provctx, bool is_ec)
{
    struct h2a_provkey *k = OPENSSL_zalloc(sizeof(*k));

    if (k != NULL) {
        k->prov = provctx;
        k->is_ec = is_ec;
    }
    return k;
}

static void *s_rsa_new(void *provctx)
{
    return s_key_new(provctx, false);
}

static void *s_ec_new(void *provctx)
{
    return s_key_new(provctx, true);
}

static void s_key_free(void *keydata)
{
    struct h2a_provkey *k = keydata;

    if (k == NULL) {
        return;
    }
    /* The H2A_P11_KEY is borrowed (the caller owns it). */
    EVP_PKEY_free(k->pub);
    OPENSSL_free(k);
}

static int s_key_has(const void *keydata, int selection)
{
    const struct h2a_provkey *k = keydata;

    if (k == NULL || k->pub == NULL) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && k->p11 == NULL) {
        return 0;
    }
    return 1;
}

/* A software public key from standard params, in the default provider. */
static EVP_PKEY *s_pub_from_params(struct h2a_provctx *prov, bool is_ec,
                                   const OSSL_PARAM params[])
{
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *dup = NULL;

    ctx = EVP_PKEY_CTX_new_from_name(prov->libctx, is_ec ? "EC" : "RSA",
                                     "provider=default");
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0) {
        goto done;
    }
    /* fromdata wants a mutable array; the params are only read. */
    dup = OSSL_PARAM_dup(params);
    if (dup == NULL || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, dup) <= 0) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
done:
    OSSL_PARAM_free(dup);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static int s_key_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    struct h2a_provkey *k = keydata;
    const OSSL_PARAM *p;
    H2A_P11_KEY *p11 = NULL;
    EVP_PKEY *pub;

    if (k == NULL || k->pub != NULL) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, H2A_PROV_PARAM_KEY);
    if (p != NULL) {
        if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size != sizeof(p11)) {
            return 0;
        }
        memcpy(&p11, p->data, sizeof(p11));
        if (p11 == NULL || h2a_keytype_is_rsa(h2a_p11_key_type(p11)) == k->is_ec) {
            ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                           "token key type does not match the key manager");
            return 0;
        }
        pub = h2a_p11_key_public(p11);
        if (pub == NULL || !EVP_PKEY_up_ref(pub)) {
            return 0;
        }
        k->p11 = p11;
        k->pub = pub;
        k->type = h2a_p11_key_type(p11);
        return 1;
    }
    /* Public part only (comparisons, or an application importing a key). */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ||
        (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) {
        return 0;
    }
    k->pub = s_pub_from_params(k->prov, k->is_ec, params);
    if (k->pub == NULL) {
        return 0;
    }
    if (h2a_keytype_from_pkey(k->pub, &k->type) != H2A_OK) {
        k->type = H2A_KT_NONE;
    }
    return 1;
}

static const OSSL_PARAM s_rsa_import_types[] = {
    OSSL_PARAM_octet_string(H2A_PROV_PARAM_KEY, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM s_ec_import_types[] = {
    OSSL_PARAM_octet_string(H2A_PROV_PARAM_KEY, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *s_rsa_import_types_fn(int selection)
{
    (void)selection;
    return s_rsa_import_types;
}

static const OSSL_PARAM *s_ec_import_types_fn(int selection)
{
    (void)selection;
    return s_ec_import_types;
}

struct s_export_arg {
    OSSL_CALLBACK *cb;
    void *cbarg;
};

static int s_export_cb(const OSSL_PARAM params[], void *arg)
{
    struct s_export_arg *a = arg;

    return a->cb(params, a->cbarg);
}

static int s_key_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    struct h2a_provkey *k = keydata;
    struct s_export_arg a = {cb, cbarg};
    int sel = 0;

    if (k == NULL || k->pub == NULL) {
        return 0;
    }
    /* The one rule of this provider: the private part never exports. */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                       "hsm2acm token keys never export their private part");
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
        sel |= EVP_PKEY_PUBLIC_KEY;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0) {
        sel |= EVP_PKEY_KEY_PARAMETERS;
    }
    if (sel == 0) {
        return 0;
    }
    return EVP_PKEY_export(k->pub, sel, s_export_cb, &a);
}

static const OSSL_PARAM *s_rsa_export_types_fn(int selection)
{
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        return NULL;
    }
    return s_rsa_import_types + 1;
}

static const OSSL_PARAM *s_ec_export_types_fn(int selection)
{
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        return NULL;
    }
    return s_ec_import_types + 1;
}

static const char *s_default_md(const struct h2a_provkey *k)
{
    int nid = h2a_keytype_default_md_nid(k->type);

    if (nid == NID_sha384) {
        return "SHA384";
    }
    if (nid == NID_sha512) {
        return "SHA512";
    }
    return "SHA256";
}

static int s_key_get_params(void *keydata, OSSL_PARAM params[])
{
    struct h2a_provkey *k = keydata;
    OSSL_PARAM *p;

    if (k == NULL || k->pub == NULL) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_bits(k->pub))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(k->pub))) {
        return 0;
    }
    /* ASN1_item_sign sizes the signature buffer from this. */
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_size(k->pub))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, s_default_md(k))) {
        return 0;
    }
    if (k->is_ec) {
        char group[64];
        size_t glen = 0;

        p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME);
        if (p != NULL) {
            if (!EVP_PKEY_get_utf8_string_param(k->pub, OSSL_PKEY_PARAM_GROUP_NAME,
                                                group, sizeof(group), &glen) ||
                !OSSL_PARAM_set_utf8_string(p, group)) {
                return 0;
            }
        }
    }
    return 1;
}

static const OSSL_PARAM s_rsa_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM s_ec_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *s_rsa_gettable_fn(void *provctx)
{
    (void)provctx;
    return s_rsa_gettable;
}

static const OSSL_PARAM *s_ec_gettable_fn(void *provctx)
{
    (void)provctx;
    return s_ec_gettable;
}

static int s_key_match(const void *a, const void *b, int selection)
{
    const struct h2a_provkey *ka = a, *kb = b;

    (void)selection;
    if (ka == NULL || kb == NULL || ka->pub == NULL || kb->pub == NULL) {
        return 0;
    }
    /* Private parts cannot be compared; equal public keys are one pair. */
    return EVP_PKEY_eq(ka->pub, kb->pub) == 1;
}

static const char *s_rsa_opname(int operation_id)
{
    (void)operation_id;
    return "RSA";
}

/* Without this OpenSSL would look for an "EC" signature and find none. */
static const char *s_ec_opname(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : "EC";
}

#define H2A_FN(id, fn) {id, (void (*)(void))(fn)}

const OSSL_DISPATCH h2a_prov_rsa_keymgmt[] = {
    H2A_FN(OSSL_FUNC_KEYMGMT_NEW, s_rsa_new),
    H2A_FN(OSSL_FUNC_KEYMGMT_FREE, s_key_free),
    H2A_FN(OSSL_FUNC_KEYMGMT_HAS, s_key_has),
    H2A_FN(OSSL_FUNC_KEYMGMT_MATCH, s_key_match),
    H2A_FN(OSSL_FUNC_KEYMGMT_IMPORT, s_key_import),
    H2A_FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, s_rsa_import_types_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_EXPORT, s_key_export),
    H2A_FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, s_rsa_export_types_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, s_key_get_params),
    H2A_FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, s_rsa_gettable_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, s_rsa_opname),
    {0, NULL},
};

const OSSL_DISPATCH h2a_prov_ec_keymgmt[] = {
    H2A_FN(OSSL_FUNC_KEYMGMT_NEW, s_ec_new),
    H2A_FN(OSSL_FUNC_KEYMGMT_FREE, s_key_free),
    H2A_FN(OSSL_FUNC_KEYMGMT_HAS, s_key_has),
    H2A_FN(OSSL_FUNC_KEYMGMT_MATCH, s_key_match),
    H2A_FN(OSSL_FUNC_KEYMGMT_IMPORT, s_key_import),
    H2A_FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, s_ec_import_types_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_EXPORT, s_key_export),
    H2A_FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, s_ec_export_types_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, s_key_get_params),
    H2A_FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, s_ec_gettable_fn),
    H2A_FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, s_ec_opname),
    {0, NULL},
};

/* ------------------------------------------------------------------ */
/* Provider                                                            */
/* ------------------------------------------------------------------ */

static const OSSL_ALGORITHM s_keymgmt_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", H2A_PROV_PROPS, h2a_prov_rsa_keymgmt,
     "hsm2acm token RSA key"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", H2A_PROV_PROPS, h2a_prov_ec_keymgmt,
     "hsm2acm token EC key"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM s_signature_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", H2A_PROV_PROPS, h2a_prov_rsa_signature,
     "RSA PKCS#1 v1.5 and PSS in the token"},
    {"ECDSA", H2A_PROV_PROPS, h2a_prov_ecdsa_signature, "ECDSA in the token"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *s_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return s_keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return s_signature_algs;
    default:
        return NULL;
    }
}

static void s_teardown(void *provctx)
{
    OPENSSL_free(provctx);
}

static const OSSL_PARAM s_prov_gettable[] = {
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
    OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *s_prov_gettable_fn(void *provctx)
{
    (void)provctx;
    return s_prov_gettable;
}

static int s_prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    (void)provctx;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "hsm2acm PKCS#11 token keys")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1)) {
        return 0;
    }
    return 1;
}

static const OSSL_DISPATCH s_prov_dispatch[] = {
    H2A_FN(OSSL_FUNC_PROVIDER_TEARDOWN, s_teardown),
    H2A_FN(OSSL_FUNC_PROVIDER_QUERY_OPERATION, s_query),
    H2A_FN(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, s_prov_gettable_fn),
    H2A_FN(OSSL_FUNC_PROVIDER_GET_PARAMS, s_prov_get_params),
    {0, NULL},
};

static int s_prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_libctx_fn *get_libctx = NULL;
    struct h2a_provctx *ctx;

    for (; in != NULL && in->function_id != 0; in++) {
        if (in->function_id == OSSL_FUNC_CORE_GET_LIBCTX) {
            get_libctx = OSSL_FUNC_core_get_libctx(in);
        }
    }
    if (get_libctx == NULL) {
        return 0;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL) {
        return 0;
    }
    /* A built-in provider shares the process's libcrypto, so this is ours. */
    ctx->libctx = (OSSL_LIB_CTX *)get_libctx(handle);
    *provctx = ctx;
    *out = s_prov_dispatch;
    return 1;
}

static pthread_mutex_t s_load_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Providers we loaded, unloaded at exit: OSSL_PROVIDER_load hands out a
 * reference that OPENSSL_cleanup does not drop, and a leak checker would
 * rightly flag it. Our atexit handler is registered after OpenSSL's, so it
 * runs before OPENSSL_cleanup. A library context given to
 * h2a_p11_provider_load must live until exit.
 */
#define H2A_PROV_MAX_LOADED 16
static OSSL_PROVIDER *s_loaded[H2A_PROV_MAX_LOADED];
static size_t s_nloaded;
static bool s_atexit_done;

static void s_unload_all(void)
{
    pthread_mutex_lock(&s_load_lock);
    while (s_nloaded > 0) {
        OSSL_PROVIDER_unload(s_loaded[--s_nloaded]);
    }
    pthread_mutex_unlock(&s_load_lock);
}

static h2a_err s_load_one(OSSL_LIB_CTX *libctx, const char *name)
{
    OSSL_PROVIDER *p;

    if (s_nloaded == H2A_PROV_MAX_LOADED) {
        return h2a_err_set(H2A_ERR_INTERNAL, "provider %s: too many library contexts", name);
    }
    p = OSSL_PROVIDER_load(libctx, name);
    if (p == NULL) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, name);
    }
    s_loaded[s_nloaded++] = p;
    if (!s_atexit_done) {
        s_atexit_done = atexit(s_unload_all) == 0;
    }
    return H2A_OK;
}

h2a_err h2a_p11_provider_load(OSSL_LIB_CTX *libctx)
{
    h2a_err rv = H2A_OK;

    pthread_mutex_lock(&s_load_lock);
    /* Asking first also activates OpenSSL's fallback (default) provider. */
    if (!OSSL_PROVIDER_available(libctx, "default")) {
        rv = s_load_one(libctx, "default");
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "loading OpenSSL's default provider: ");
            goto done;
        }
    }
    if (OSSL_PROVIDER_available(libctx, H2A_PROV_NAME)) {
        goto done;
    }
    /* add_builtin fails if the name is known; then only loading is left. */
    if (!OSSL_PROVIDER_add_builtin(libctx, H2A_PROV_NAME, s_prov_init)) {
        ERR_clear_error();
    }
    rv = s_load_one(libctx, H2A_PROV_NAME);
    if (rv != H2A_OK) {
        h2a_err_prefix(rv, "loading the built-in provider: ");
    }
done:
    pthread_mutex_unlock(&s_load_lock);
    return rv;
}

h2a_err h2a_p11_key_evp(H2A_P11_KEY *k, OSSL_LIB_CTX *libctx, EVP_PKEY **out)
{
    h2a_err rv;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    OSSL_PARAM params[2];

    *out = NULL;
    if (k == NULL) {
        return h2a_err_set(H2A_ERR_INTERNAL, "h2a_p11_key_evp: no key");
    }
    rv = h2a_p11_provider_load(libctx);
    if (rv != H2A_OK) {
        return rv;
    }
    ctx = EVP_PKEY_CTX_new_from_name(libctx, h2a_keytype_is_rsa(h2a_p11_key_type(k)) ? "RSA" : "EC",
                                     H2A_PROV_PROPS);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "provider key manager for the token key");
        goto done;
    }
    params[0] = OSSL_PARAM_construct_octet_string(H2A_PROV_PARAM_KEY, &k, sizeof(k));
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0) {
        rv = h2a_err_openssl(H2A_ERR_INTERNAL, "token key as an OpenSSL key (provider import)");
        goto done;
    }
    *out = pk;
    rv = H2A_OK;
done:
    EVP_PKEY_CTX_free(ctx);
    return rv;
}
