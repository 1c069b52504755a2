/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* hsm2acm configuration JSON (--config, $HSM2ACM_CONFIG). */
#include "fuzz.h"

#include "config/h2a_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2a_config *c = NULL;

    /* A base directory that does not exist: relative paths resolve, nothing is read. */
    (void)h2a_config_parse((const char *)data, size, "/nonexistent/h2a-fuzz", &c);
    h2a_config_free(c);
    h2a_fuzz_after();
    return 0;
}
