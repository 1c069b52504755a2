/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * AWS query-protocol (STS) XML: <ErrorResponse> error replies and the
 * AssumeRole* credential replies (parsed in place over a secure buffer).
 */
#include "fuzz.h"

#include "aws/aws_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct h2a_aws_error err;
    struct h2a_aws_credentials *cr = NULL;
    h2a_buf body;

    memset(&err, 0, sizeof(err));
    (void)h2a_aws_parse_query_error((const char *)data, size, &err);

    h2a_buf_init_secure(&body, 0);
    if (h2a_buf_append(&body, data, size) == H2A_OK) {
        (void)h2a_sts_parse_credentials(&body, &cr);
    }
    h2a_aws_credentials_free(cr);
    h2a_buf_free(&body);
    h2a_fuzz_after();
    return 0;
}
