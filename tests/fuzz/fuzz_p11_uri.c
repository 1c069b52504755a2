/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* PKCS#11 token URI (--token, "token" in the configuration). */
#include "fuzz.h"

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = h2a_fuzz_cstr(data, size);
    h2a_p11_uri u;
    char desc[512];

    if (s == NULL) {
        return 0;
    }
    memset(&u, 0, sizeof(u));
    if (h2a_p11_uri_parse(s, &u) == H2A_OK) {
        h2a_p11_uri_describe(&u, desc, sizeof(desc));
    }
    h2a_p11_uri_cleanup(&u);
    free(s);
    h2a_fuzz_after();
    return 0;
}
