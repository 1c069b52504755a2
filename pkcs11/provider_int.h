/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Private to the built-in OpenSSL provider (provider.c: registration and
 * key management; provider_sig.c: signatures). Nothing here is part of the
 * token API; everything goes through h2a_pkcs11.h.
 */

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "h2a_pkcs11.h"

#define H2A_PROV_NAME "hsm2acm-p11"
#define H2A_PROV_PROPS "provider=" H2A_PROV_NAME
/* Custom import parameter: the H2A_P11_KEY pointer, as raw pointer bytes. */
#define H2A_PROV_PARAM_KEY "hsm2acm-p11-key"

struct h2a_provctx {
    OSSL_LIB_CTX *libctx; /* the library context that loaded us */
};

/*
 * Key data of the provider's keymgmt. `p11` is NULL for a public-only key
 * (imported from standard parameters); `pub` is always a software public
 * key living in the default provider, used for params, export and match.
 */
struct h2a_provkey {
    struct h2a_provctx *prov;
    bool is_ec;
    H2A_P11_KEY *p11;
    EVP_PKEY *pub;
    h2a_keytype type;
};

extern const OSSL_DISPATCH h2a_prov_rsa_keymgmt[];
extern const OSSL_DISPATCH h2a_prov_ec_keymgmt[];
extern const OSSL_DISPATCH h2a_prov_rsa_signature[];
extern const OSSL_DISPATCH h2a_prov_ecdsa_signature[];

/* Raise an OpenSSL error carrying the current h2a_err_msg(). */
void h2a_prov_raise(const char *what);
