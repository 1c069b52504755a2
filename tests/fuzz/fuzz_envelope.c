/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Staging envelope (the SecretString read back from Secrets Manager). */
#include "fuzz.h"

#include "enroll/h2a_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2a_envelope e;

    memset(&e, 0, sizeof(e));
    if (h2a_envelope_parse((const char *)data, size, &e) == H2A_OK) {
        h2a_buf out;
        h2a_buf_init(&out, 0);
        /* What parses must serialise again (resume re-stages it). */
        if (h2a_envelope_build(&e, &out) != H2A_OK) {
            abort();
        }
        h2a_buf_free(&out);
    }
    h2a_envelope_cleanup(&e);
    h2a_fuzz_after();
    return 0;
}
