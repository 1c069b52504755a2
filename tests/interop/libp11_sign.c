/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Interop probe, compiled by tests/integration/test_interop_libp11.sh:
 * find a key that hsm2acm generated through libp11 0.4.12 by its CKA_ID
 * (PKCS11_enumerate_keys), get its EVP_PKEY (PKCS11_get_private_key) and
 * sign a file with SHA-256. The script verifies the signature with the
 * public key hsm2acm printed.
 *
 * usage: libp11_sign MODULE TOKEN_LABEL PIN_FILE ID_HEX IN_FILE SIG_OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libp11.h>
#include <openssl/evp.h>

static int s_hex(const char *hex, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2 != 0 || n / 2 > max) {
        return 0;
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int b;

        if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
            return 0;
        }
        out[i] = (unsigned char)b;
    }
    *len = n / 2;
    return 1;
}

static int s_read(const char *path, unsigned char *buf, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        return 0;
    }
    *len = fread(buf, 1, max, f);
    fclose(f);
    return 1;
}

int main(int argc, char **argv)
{
    PKCS11_CTX *ctx = PKCS11_CTX_new();
    PKCS11_SLOT *slots = NULL, *slot = NULL;
    PKCS11_KEY *keys = NULL, *key = NULL;
    unsigned int nslots = 0, nkeys = 0;
    unsigned char id[64], data[4096], sig[1024];
    char pin[256];
    size_t id_len = 0, data_len = 0, pin_len = 0, sig_len = sizeof(sig);
    EVP_PKEY *pk;
    EVP_MD_CTX *md;
    FILE *out;

    if (argc != 7 || ctx == NULL || !s_hex(argv[4], id, sizeof(id), &id_len) ||
        !s_read(argv[5], data, sizeof(data), &data_len) ||
        !s_read(argv[3], (unsigned char *)pin, sizeof(pin) - 1, &pin_len)) {
        fprintf(stderr, "usage: libp11_sign MODULE TOKEN PIN_FILE ID_HEX IN SIG\n");
        return 2;
    }
    pin[pin_len] = '\0';
    pin[strcspn(pin, "\r\n")] = '\0';
    if (PKCS11_CTX_load(ctx, argv[1]) != 0 ||
        PKCS11_enumerate_slots(ctx, &slots, &nslots) != 0) {
        fprintf(stderr, "libp11: cannot load %s\n", argv[1]);
        return 1;
    }
    for (unsigned int i = 0; i < nslots; i++) {
        if (slots[i].token != NULL && strcmp(slots[i].token->label, argv[2]) == 0) {
            slot = &slots[i];
        }
    }
    if (slot == NULL || PKCS11_open_session(slot, 0) != 0 || PKCS11_login(slot, 0, pin) != 0) {
        fprintf(stderr, "libp11: token '%s' not found or login failed\n", argv[2]);
        return 1;
    }
    if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
        fprintf(stderr, "libp11: PKCS11_enumerate_keys failed\n");
        return 1;
    }
    for (unsigned int i = 0; i < nkeys; i++) {
        if (keys[i].isPrivate && keys[i].id_len == id_len && memcmp(keys[i].id, id, id_len) == 0) {
            key = &keys[i];
        }
    }
    if (key == NULL) {
        fprintf(stderr, "libp11: no private key with CKA_ID %s among %u keys\n", argv[4], nkeys);
        return 1;
    }
    printf("found: label=%s id_len=%zu\n", key->label, key->id_len);
    pk = PKCS11_get_private_key(key);
    md = EVP_MD_CTX_new();
    if (pk == NULL || md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, data, data_len) != 1) {
        fprintf(stderr, "libp11: signing failed\n");
        return 1;
    }
    out = fopen(argv[6], "wb");
    if (out == NULL || fwrite(sig, 1, sig_len, out) != sig_len || fclose(out) != 0) {
        return 1;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    PKCS11_logout(slot);
    PKCS11_release_all_slots(ctx, slots, nslots);
    PKCS11_CTX_unload(ctx);
    PKCS11_CTX_free(ctx);
    return 0;
}
