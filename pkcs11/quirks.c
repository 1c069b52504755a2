/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The one table of token behaviour that differs from PKCS#11 as written,
 * keyed by what the module and the token say about themselves. Everything
 * not in the table gets standard behaviour: token objects made directly, no
 * retry of anything a real HSM might count against the PIN, the module
 * never reloaded. docs/tokens.md renders the same facts for users.
 */
#include <string.h>

#include "internal.h"

/*
 * lib_manufacturer: C_GetInfo manufacturerID (prefix); lib_file: basename
 * of module-path, for decisions needed before C_Initialize succeeded;
 * tok_manufacturer / tok_model: C_GetTokenInfo (prefix); NULL matches all.
 */
static const struct {
    const char *name;
    const char *lib_manufacturer;
    const char *lib_file;
    const char *tok_manufacturer;
    const char *tok_model;
    unsigned quirks;
} s_table[] = {
    {"SoftHSM2", "SoftHSM", "libsofthsm2.so", NULL, NULL,
     H2A_QUIRK_SESSION_KEYGEN_COPY | H2A_QUIRK_OPEN_RETRY |
         H2A_QUIRK_LOGIN_GENERAL_ERROR_RETRY},
    {"tpm2-pkcs11", "tpm2-software", "libtpm2_pkcs11.so", NULL, NULL,
     H2A_QUIRK_DERIVED_USAGE | H2A_QUIRK_NO_DELIVERY_KEYS},
    {"NSS softokn", "Mozilla Foundation", "libsoftokn3.so", NULL, NULL,
     H2A_QUIRK_NSS_EC_UNWRAP_DB},
    {"openCryptoki", "IBM", "libopencryptoki.so", NULL, NULL, 0},
};

static bool s_prefix(const char *want, const char *have)
{
    return want == NULL || strncmp(have, want, strlen(want)) == 0;
}

static const char *s_base(const char *path)
{
    const char *b = strrchr(path, '/');

    return b != NULL ? b + 1 : path;
}

unsigned h2a_quirks_by_file(const char *module_path, const char **name)
{
    const char *base = s_base(module_path != NULL ? module_path : "");

    for (size_t i = 0; i < sizeof(s_table) / sizeof(s_table[0]); i++) {
        if (strcmp(s_table[i].lib_file, base) == 0) {
            if (name != NULL) {
                *name = s_table[i].name;
            }
            return s_table[i].quirks;
        }
    }
    if (name != NULL) {
        *name = NULL;
    }
    return 0;
}

unsigned h2a_quirks_lookup(const char *lib_manufacturer, const char *module_path,
                           const char *tok_manufacturer, const char *tok_model,
                           const char **name)
{
    const char *base = s_base(module_path != NULL ? module_path : "");

    for (size_t i = 0; i < sizeof(s_table) / sizeof(s_table[0]); i++) {
        bool lib = s_prefix(s_table[i].lib_manufacturer, lib_manufacturer) ||
                   strcmp(s_table[i].lib_file, base) == 0;

        if (lib && s_prefix(s_table[i].tok_manufacturer, tok_manufacturer) &&
            s_prefix(s_table[i].tok_model, tok_model)) {
            if (name != NULL) {
                *name = s_table[i].name;
            }
            return s_table[i].quirks;
        }
    }
    if (name != NULL) {
        *name = NULL;
    }
    return 0;
}
