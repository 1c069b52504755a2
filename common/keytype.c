/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include "h2a_common.h"

struct h2a_keytype_info {
    const char *cli;
    const char *acm;
    int bits;
    int curve_nid;
    int md_nid;
};

static const struct h2a_keytype_info s_types[H2A_KT__COUNT] = {
    [H2A_KT_RSA_2048] = {"rsa:2048", "RSA_2048", 2048, NID_undef, NID_sha256},
    [H2A_KT_RSA_3072] = {"rsa:3072", "RSA_3072", 3072, NID_undef, NID_sha256},
    [H2A_KT_RSA_4096] = {"rsa:4096", "RSA_4096", 4096, NID_undef, NID_sha256},
    [H2A_KT_EC_P256] = {"ec:P-256", "EC_prime256v1", 256, NID_X9_62_prime256v1,
                        NID_sha256},
    [H2A_KT_EC_P384] = {"ec:P-384", "EC_secp384r1", 384, NID_secp384r1,
                        NID_sha384},
    [H2A_KT_EC_P521] = {"ec:P-521", "EC_secp521r1", 521, NID_secp521r1,
                        NID_sha512},
};

static bool s_valid(h2a_keytype t)
{
    return t > H2A_KT_NONE && t < H2A_KT__COUNT;
}

h2a_err h2a_keytype_parse(const char *s, h2a_keytype *out)
{
    *out = H2A_KT_NONE;
    H2A_ENSURE(s != NULL && s[0] != '\0', H2A_ERR_INPUT, "key type is empty");
    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        if (strcasecmp(s, s_types[t].cli) == 0) {
            *out = (h2a_keytype)t;
            return H2A_OK;
        }
    }
    if (strncasecmp(s, "rsa:", 4) == 0 && strcmp(s + 4, "1024") == 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "key type %s is refused: ACM still imports RSA-1024 "
                           "but hsm2acm makes no key under 2048 bits",
                           s);
    }
    if (strcasestr(s, "secp256k1") != NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "key type %s is refused: ACM cannot import "
                           "secp256k1 keys (use ec:P-256, ec:P-384 or ec:P-521)",
                           s);
    }
    if (strcasestr(s, "ed25519") != NULL || strcasestr(s, "ed448") != NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "key type %s is refused: ACM cannot import EdDSA "
                           "keys",
                           s);
    }
    return h2a_err_set(H2A_ERR_INPUT,
                       "unknown key type '%s' (expected rsa:2048, rsa:3072, "
                       "rsa:4096, ec:P-256, ec:P-384 or ec:P-521)",
                       s);
}

const char *h2a_keytype_acm_name(h2a_keytype t)
{
    return s_valid(t) ? s_types[t].acm : NULL;
}

h2a_err h2a_keytype_from_acm(const char *acm, h2a_keytype *out)
{
    *out = H2A_KT_NONE;
    H2A_ENSURE(acm != NULL, H2A_ERR_INPUT, "key algorithm is missing");
    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        if (strcmp(acm, s_types[t].acm) == 0) {
            *out = (h2a_keytype)t;
            return H2A_OK;
        }
    }
    if (strcmp(acm, "RSA_1024") == 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "key algorithm RSA_1024 is refused: hsm2acm makes "
                           "no key under 2048 bits");
    }
    return h2a_err_set(H2A_ERR_INPUT,
                       "unknown key algorithm '%s' (expected one of RSA_2048, "
                       "RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1, "
                       "EC_secp521r1)",
                       acm);
}

const char *h2a_keytype_cli_name(h2a_keytype t)
{
    return s_valid(t) ? s_types[t].cli : NULL;
}

bool h2a_keytype_is_rsa(h2a_keytype t)
{
    return t == H2A_KT_RSA_2048 || t == H2A_KT_RSA_3072 || t == H2A_KT_RSA_4096;
}

int h2a_keytype_bits(h2a_keytype t)
{
    return s_valid(t) ? s_types[t].bits : 0;
}

int h2a_keytype_curve_nid(h2a_keytype t)
{
    return s_valid(t) ? s_types[t].curve_nid : NID_undef;
}

int h2a_keytype_default_md_nid(h2a_keytype t)
{
    return s_valid(t) ? s_types[t].md_nid : NID_undef;
}

h2a_err h2a_keytype_from_pkey(const EVP_PKEY *pk, h2a_keytype *out)
{
    char group[64];
    size_t glen = 0;

    *out = H2A_KT_NONE;
    H2A_ENSURE(pk != NULL, H2A_ERR_INPUT, "no public key");
    if (EVP_PKEY_is_a(pk, "RSA")) {
        switch (EVP_PKEY_get_bits(pk)) {
        case 2048:
            *out = H2A_KT_RSA_2048;
            return H2A_OK;
        case 3072:
            *out = H2A_KT_RSA_3072;
            return H2A_OK;
        case 4096:
            *out = H2A_KT_RSA_4096;
            return H2A_OK;
        default:
            return h2a_err_set(H2A_ERR_INPUT, "RSA key of %d bits is not "
                               "supported (2048, 3072 or 4096)",
                               EVP_PKEY_get_bits(pk));
        }
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
                                            group, sizeof(group), &glen)) {
            return h2a_err_set(H2A_ERR_INPUT, "EC key without a named curve");
        }
        for (int t = H2A_KT_EC_P256; t <= H2A_KT_EC_P521; t++) {
            if (OBJ_txt2nid(group) == s_types[t].curve_nid) {
                *out = (h2a_keytype)t;
                return H2A_OK;
            }
        }
        return h2a_err_set(H2A_ERR_INPUT, "EC curve %s is not supported "
                           "(P-256, P-384 or P-521)", group);
    }
    return h2a_err_set(H2A_ERR_INPUT, "key type %s is not supported",
                       EVP_PKEY_get0_type_name(pk));
}
