/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Enrollment request JSON (REQUEST.json, --batch lines). */
#include "fuzz.h"

#include "enroll/h2a_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2a_request *r = NULL;

    if (h2a_request_parse((const char *)data, size, &r) == H2A_OK) {
        h2a_buf canon;
        h2a_request *again = NULL;
        h2a_buf_init(&canon, 0);
        /*
         * The journal stores the canonical form and resume parses it back:
         * every accepted request must survive that round trip.
         */
        if (h2a_request_canonical(r, &canon) != H2A_OK ||
            h2a_request_parse((const char *)canon.data, canon.len, &again) != H2A_OK) {
            abort();
        }
        h2a_request_free(again);
        h2a_buf_free(&canon);
    }
    h2a_request_free(r);
    h2a_fuzz_after();
    return 0;
}
