/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Policy JSON (policy file), and its text rendering for accepted ones. */
#include "fuzz.h"

#include "h2a_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    H2A_POLICY *p = NULL;

    if (h2a_policy_parse((const char *)data, size, "fuzz", &p) == H2A_OK) {
        h2a_buf out;
        h2a_buf_init(&out, 0);
        if (h2a_policy_render(p, &out) != H2A_OK) {
            abort();
        }
        h2a_buf_free(&out);
    }
    h2a_policy_free(p);
    h2a_fuzz_after();
    return 0;
}
