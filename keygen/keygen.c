/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Key generation at product level: checks that hold for every policy (type,
 * label, duplicate label, mechanisms) happen before C_GenerateKeyPair, so a
 * refused request never leaves an object behind.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "h2a_keygen.h"

h2a_err h2a_keygen_label_check(const char *field, const char *label)
{
    size_t len;

    H2A_ENSURE(label != NULL && label[0] != '\0', H2A_ERR_INPUT, "%s: empty label", field);
    len = strlen(label);
    H2A_ENSURE(len <= H2A_KEY_LABEL_MAX, H2A_ERR_INPUT,
               "%s: label is %zu bytes, at most %d allowed", field, len, H2A_KEY_LABEL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)label[i];

        H2A_ENSURE(c >= 0x20 && c <= 0x7e, H2A_ERR_INPUT,
                   "%s: character 0x%02x at offset %zu; labels are printable ASCII", field, c,
                   i);
    }
    H2A_ENSURE(label[0] != ' ' && label[len - 1] != ' ', H2A_ERR_INPUT,
               "%s: label '%s' starts or ends with a space", field, label);
    return H2A_OK;
}

static h2a_err s_probe(H2A_SESSION *s, h2a_keytype type)
{
    H2A_TOKEN *tok = h2a_session_token(s);
    bool rsa = h2a_keytype_is_rsa(type);
    h2a_mech gen = rsa ? H2A_MECH_RSA_KEYGEN : H2A_MECH_EC_KEYGEN;
    h2a_mech_info mi;

    H2A_GUARD(h2a_token_require_mech(tok, gen, "key generation"));
    H2A_GUARD(h2a_token_require_mech(tok, rsa ? H2A_MECH_RSA_PKCS : H2A_MECH_ECDSA,
                                     "signing CSRs"));
    if (rsa) {
        unsigned long bits = (unsigned long)h2a_keytype_bits(type);

        H2A_GUARD(h2a_token_mech_info(tok, gen, &mi));
        /* Tokens report 0 when they set no bound. */
        H2A_ENSURE((mi.min_key == 0 || bits >= mi.min_key) &&
                       (mi.max_key == 0 || bits <= mi.max_key),
                   H2A_ERR_TOKEN, "%s: the token makes RSA keys of %lu..%lu bits, not %lu",
                   h2a_mech_name(gen), mi.min_key, mi.max_key, bits);
    }
    return H2A_OK;
}

h2a_err h2a_keygen_generate(H2A_SESSION *s, h2a_keytype type, const char *label,
                            unsigned flags, H2A_P11_KEY **out)
{
    *out = NULL;
    H2A_ENSURE(s != NULL, H2A_ERR_INTERNAL, "h2a_keygen_generate: no session");
    H2A_ENSURE(type > H2A_KT_NONE && type < H2A_KT__COUNT, H2A_ERR_INPUT,
               "type: not a key type hsm2acm generates");
    H2A_GUARD(h2a_keygen_label_check("label", label));
    H2A_GUARD(s_probe(s, type));
    return h2a_p11_keypair_generate(s, type, label, flags, out);
}

h2a_err h2a_keygen_preflight(H2A_SESSION *s, h2a_keytype type, H2A_P11_SECRET *w)
{
    H2A_TOKEN *tok;
    h2a_wrapmech mech = 0;
    h2a_err rv;

    H2A_ENSURE(s != NULL, H2A_ERR_INTERNAL, "h2a_keygen_preflight: no session");
    tok = h2a_session_token(s);
    if ((rv = h2a_p11_delivery_supported(tok)) != H2A_OK ||
        (rv = h2a_p11_wrapmech_pick(tok, &mech)) != H2A_OK ||
        (type != H2A_KT_NONE && (rv = s_probe(s, type)) != H2A_OK) ||
        (w != NULL && (rv = h2a_p11_wrapkey_check(w)) != H2A_OK)) {
        return h2a_err_prefix(rv, "preflight (nothing was made): ");
    }
    return H2A_OK;
}

h2a_err h2a_keygen_key_id_hex(const H2A_P11_KEY *k, char out[H2A_KEY_ID_HEX_MAX])
{
    size_t len = 0;
    const uint8_t *id = h2a_p11_key_id(k, &len);

    out[0] = '\0';
    H2A_ENSURE(id != NULL && len > 0, H2A_ERR_TOKEN, "key '%s' has no CKA_ID",
               h2a_p11_key_label(k) != NULL ? h2a_p11_key_label(k) : "?");
    H2A_ENSURE(len * 2 < H2A_KEY_ID_HEX_MAX, H2A_ERR_TOKEN,
               "key '%s': CKA_ID of %zu bytes is longer than hsm2acm handles (64)",
               h2a_p11_key_label(k) != NULL ? h2a_p11_key_label(k) : "?", len);
    h2a_hex_encode(id, len, out);
    return H2A_OK;
}

h2a_err h2a_keygen_find_by_id_hex(H2A_SESSION *s, const char *id_hex, H2A_P11_KEY **out)
{
    h2a_buf id;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init(&id, 64);
    rv = h2a_hex_decode(id_hex != NULL ? id_hex : "", &id);
    if (rv != H2A_OK || id.len == 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "key id: '%.130s' is not 1..64 bytes of hex",
                         id_hex != NULL ? id_hex : "");
        goto done;
    }
    rv = h2a_p11_key_find(s, NULL, id.data, id.len, out);
done:
    h2a_buf_free(&id);
    return rv;
}

h2a_err h2a_keygen_public_pem(const H2A_P11_KEY *k, h2a_buf *out)
{
    return h2a_pem_encode(H2A_PEM_PUBKEY, h2a_p11_key_public(k), out);
}

/* JSON string (quotes included); labels are printable ASCII, PEM is ASCII. */
static h2a_err s_json_str(h2a_buf *out, const char *s)
{
    H2A_GUARD(h2a_buf_append_str(out, "\""));
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            H2A_GUARD(h2a_buf_printf(out, "\\%c", c));
        } else if (c == '\n') {
            H2A_GUARD(h2a_buf_append_str(out, "\\n"));
        } else if (c < 0x20) {
            H2A_GUARD(h2a_buf_printf(out, "\\u%04x", c));
        } else {
            H2A_GUARD(h2a_buf_append(out, s, 1));
        }
    }
    return h2a_buf_append_str(out, "\"");
}

h2a_err h2a_keygen_key_json(const H2A_P11_KEY *k, h2a_buf *out)
{
    char id[H2A_KEY_ID_HEX_MAX];
    h2a_buf pem;
    h2a_keytype t = h2a_p11_key_type(k);
    const char *label = h2a_p11_key_label(k);
    h2a_err rv;

    h2a_buf_init(&pem, 0);
    rv = h2a_keygen_key_id_hex(k, id);
    if (rv != H2A_OK) {
        goto done;
    }
    rv = h2a_keygen_public_pem(k, &pem);
    if (rv != H2A_OK) {
        goto done;
    }
    if ((rv = h2a_buf_printf(out, "{\"id\": \"%s\", \"label\": ", id)) != H2A_OK ||
        (rv = s_json_str(out, label != NULL ? label : "")) != H2A_OK ||
        (rv = h2a_buf_printf(out, ", \"key_type\": \"%s\", \"key_algorithm\": \"%s\", "
                                  "\"public_key_pem\": ",
                             h2a_keytype_cli_name(t), h2a_keytype_acm_name(t))) != H2A_OK ||
        (rv = s_json_str(out, (const char *)pem.data)) != H2A_OK ||
        (rv = h2a_buf_append_str(out, "}")) != H2A_OK) {
        goto done;
    }
    rv = h2a_buf_terminate(out);
done:
    h2a_buf_free(&pem);
    return rv;
}
