/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* AWS shared config / credentials files (INI with nested sub-sections). */
#include "fuzz.h"

#include "aws/aws_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h2a_ini *ini = NULL;

    if (h2a_ini_parse((const char *)data, size, "fuzz", &ini) == H2A_OK) {
        /* The lookups the credential chain makes. */
        (void)h2a_ini_has_section(ini, "default");
        (void)h2a_ini_get(ini, "default", "region");
        (void)h2a_ini_get(ini, "profile dev", "s3.max_concurrent_requests");
    }
    h2a_ini_free(ini);
    h2a_fuzz_after();
    return 0;
}
