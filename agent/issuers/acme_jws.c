/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "issuers/acme_int.h"

/* A big-endian number from the key, left-padded to `width` (0: as is), base64url. */
static h2a_err s_b64u_bn(EVP_PKEY *pub, const char *param, size_t width, h2a_buf *out)
{
    BIGNUM *bn = NULL;
    uint8_t b[1024];
    int n;
    h2a_err rv;

    if (EVP_PKEY_get_bn_param(pub, param, &bn) != 1) {
        return h2a_err_openssl(H2A_ERR_INPUT, "reading the account key's public part");
    }
    n = width > 0 ? BN_bn2binpad(bn, b, (int)width) : BN_bn2bin(bn, b);
    BN_free(bn);
    H2A_ENSURE(n > 0 && (size_t)n <= sizeof(b), H2A_ERR_INPUT,
               "account key parameter %s does not fit", param);
    rv = h2a_base64url_encode(b, (size_t)n, out);
    return rv;
}

h2a_err h2a_acme_jwk(EVP_PKEY *pub, h2a_buf *out)
{
    char group[64] = "";
    size_t width;
    const char *crv;

    if (EVP_PKEY_is_a(pub, "RSA")) {
        H2A_GUARD(h2a_buf_append_str(out, "{\"e\":\""));
        H2A_GUARD(s_b64u_bn(pub, OSSL_PKEY_PARAM_RSA_E, 0, out));
        H2A_GUARD(h2a_buf_append_str(out, "\",\"kty\":\"RSA\",\"n\":\""));
        H2A_GUARD(s_b64u_bn(pub, OSSL_PKEY_PARAM_RSA_N, 0, out));
        return h2a_buf_append_str(out, "\"}");
    }
    H2A_ENSURE(EVP_PKEY_is_a(pub, "EC") &&
               EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                              sizeof(group), NULL) == 1,
               H2A_ERR_INPUT, "account key: only RSA and EC keys have a JWK here");
    if (strcmp(group, "prime256v1") == 0) {
        crv = "P-256";
        width = 32;
    } else if (strcmp(group, "secp384r1") == 0) {
        crv = "P-384";
        width = 48;
    } else {
        return h2a_err_set(H2A_ERR_INPUT, "account key: curve %s has no JWS algorithm "
                           "here (P-256, P-384)", group);
    }
    H2A_GUARD(h2a_buf_printf(out, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"", crv));
    H2A_GUARD(s_b64u_bn(pub, OSSL_PKEY_PARAM_EC_PUB_X, width, out));
    H2A_GUARD(h2a_buf_append_str(out, "\",\"y\":\""));
    H2A_GUARD(s_b64u_bn(pub, OSSL_PKEY_PARAM_EC_PUB_Y, width, out));
    return h2a_buf_append_str(out, "\"}");
}

h2a_err h2a_acme_thumbprint(const char *jwk, h2a_buf *out)
{
    uint8_t md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)jwk, strlen(jwk), md);
    return h2a_base64url_encode(md, sizeof(md), out);
}

const char *h2a_acme_alg(const H2A_P11_KEY *k)
{
    switch (h2a_p11_key_type(k)) {
    case H2A_KT_RSA_2048:
    case H2A_KT_RSA_3072:
    case H2A_KT_RSA_4096:
        return "RS256";
    case H2A_KT_EC_P256:
        return "ES256";
    case H2A_KT_EC_P384:
        return "ES384";
    default:
        return NULL;
    }
}

h2a_mech h2a_acme_rs256_mech(H2A_P11_KEY *k)
{
    h2a_mech_info mi;

    /* Probed, not assumed (cached per token): some tokens only have the raw mechanism. */
    if (h2a_token_mech_info(h2a_session_token(h2a_p11_key_session(k)),
                            H2A_MECH_SHA256_RSA_PKCS, &mi) == H2A_OK &&
        mi.present && mi.can_sign) {
        return H2A_MECH_SHA256_RSA_PKCS;
    }
    h2a_err_clear();
    return H2A_MECH_RSA_PKCS;
}

h2a_err h2a_acme_jws_sign(H2A_P11_KEY *k, const char *protected_json,
                          const char *payload, h2a_buf *out)
{
    const char *alg = h2a_acme_alg(k);
    bool p384 = alg != NULL && strcmp(alg, "ES384") == 0;
    h2a_buf input;
    uint8_t md[SHA384_DIGEST_LENGTH], sig[1024];
    size_t sig_len = sizeof(sig);
    h2a_err rv;

    H2A_ENSURE(alg != NULL, H2A_ERR_INPUT, "account key '%s': no JWS algorithm for "
               "its type", h2a_p11_key_label(k));
    h2a_buf_init(&input, 0);
    rv = h2a_buf_append_str(out, "{\"protected\":\"");
    /* The signing input is the two encoded parts joined by a dot (RFC 7515 5.1). */
    if (rv == H2A_OK && (rv = h2a_base64url_encode((const uint8_t *)protected_json,
                                                   strlen(protected_json), &input)) == H2A_OK &&
        (rv = h2a_buf_append_str(&input, ".")) == H2A_OK) {
        rv = h2a_base64url_encode((const uint8_t *)payload, strlen(payload), &input);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    if (alg[0] == 'R' && h2a_acme_rs256_mech(k) == H2A_MECH_SHA256_RSA_PKCS) {
        /* RS256 as the issue names it: the token hashes and signs in one mechanism. */
        rv = h2a_p11_sign_message(k, H2A_MECH_SHA256_RSA_PKCS, input.data, input.len, sig,
                                  &sig_len);
    } else {
        if (p384) {
            SHA384(input.data, input.len, md);
        } else {
            SHA256(input.data, input.len, md);
        }
        rv = h2a_p11_sign_digest(k, alg[0] == 'R' ? H2A_SIG_RSA_PKCS1 : H2A_SIG_ECDSA_RAW,
                                 p384 ? NID_sha384 : NID_sha256, md,
                                 p384 ? SHA384_DIGEST_LENGTH : SHA256_DIGEST_LENGTH, sig,
                                 &sig_len);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    {
        const char *dot = memchr(input.data, '.', input.len);
        size_t plen = (size_t)(dot - (const char *)input.data);

        if ((rv = h2a_buf_append(out, input.data, plen)) != H2A_OK ||
            (rv = h2a_buf_printf(out, "\",\"payload\":\"%s\",\"signature\":\"",
                                 dot + 1)) != H2A_OK ||
            (rv = h2a_base64url_encode(sig, sig_len, out)) != H2A_OK) {
            goto done;
        }
    }
    rv = h2a_buf_append_str(out, "\"}");
done:
    h2a_buf_free(&input);
    return rv;
}

h2a_err h2a_acme_eab(const char *kid, const h2a_buf *mac_key, const char *url,
                     const char *jwk, h2a_buf *out)
{
    h2a_buf hdr, input;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    h2a_err rv;

    h2a_buf_init(&hdr, 0);
    h2a_buf_init(&input, 0);
    rv = h2a_buf_printf(&hdr, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"url\":\"%s\"}", kid, url);
    if (rv == H2A_OK &&
        (rv = h2a_base64url_encode(hdr.data, hdr.len, &input)) == H2A_OK &&
        (rv = h2a_buf_append_str(&input, ".")) == H2A_OK &&
        (rv = h2a_base64url_encode((const uint8_t *)jwk, strlen(jwk), &input)) == H2A_OK) {
        if (HMAC(EVP_sha256(), mac_key->data, (int)mac_key->len, input.data, input.len, mac,
                 &mac_len) == NULL) {
            rv = h2a_err_openssl(H2A_ERR_INTERNAL, "EAB HMAC");
        }
    }
    if (rv == H2A_OK) {
        const char *dot = memchr(input.data, '.', input.len);

        rv = h2a_buf_append_str(out, "{\"protected\":\"");
        if (rv == H2A_OK &&
            (rv = h2a_buf_append(out, input.data, (size_t)(dot - (char *)input.data))) == H2A_OK &&
            (rv = h2a_buf_printf(out, "\",\"payload\":\"%s\",\"signature\":\"", dot + 1)) == H2A_OK &&
            (rv = h2a_base64url_encode(mac, mac_len, out)) == H2A_OK) {
            rv = h2a_buf_append_str(out, "\"}");
        }
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    h2a_buf_free(&hdr);
    h2a_buf_free(&input);
    return rv;
}

h2a_err h2a_acme_eab_key_load(const char *field, const char *path, h2a_buf *key)
{
    struct stat st;
    h2a_buf text;
    size_t n;
    h2a_err rv;

    if (stat(path, &st) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %s: %s", field, path, strerror(errno));
    }
    H2A_ENSURE(S_ISREG(st.st_mode), H2A_ERR_INPUT, "%s: %s is not a regular file",
               field, path);
    H2A_ENSURE((st.st_mode & (S_IRWXG | S_IRWXO)) == 0, H2A_ERR_INPUT,
               "%s: %s is readable by group or others (mode %03o); the EAB MAC key "
               "file must be 0600", field, path, (unsigned)(st.st_mode & 0777));
    h2a_buf_init_secure(&text, 4096);
    rv = h2a_file_read(path, &text);
    if (rv == H2A_OK) {
        n = text.len;
        if (n > 0 && text.data[n - 1] == '\n') {
            n--;
        }
        rv = h2a_base64url_decode((const char *)text.data, n, key);
        if (rv == H2A_OK && key->len == 0) {
            rv = h2a_err_set(H2A_ERR_INPUT, "the key is empty");
        }
        if (rv != H2A_OK) {
            rv = h2a_err_prefix(rv, "%s: %s: ", field, path);
        }
    }
    h2a_buf_free(&text);
    return rv;
}
