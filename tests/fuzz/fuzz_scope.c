/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The configuration's "scope" object (agent/config/scope.c: what `discover`
 * and `inventory` walk), called directly so that the rest of the
 * configuration need not be valid first. Input: a configuration document.
 */
#include "fuzz.h"

#include <json-c/json.h>

#include "config/h2a_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_tokener *tok = json_tokener_new();
    json_object *top;
    h2a_scope_conf s;

    if (tok == NULL || size > INT32_MAX) {
        abort();
    }
    top = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (top != NULL) {
        (void)h2a_config_scope(top, "eu-west-1", &s);
        h2a_config_scope_free(&s);
    }
    json_object_put(top);
    h2a_fuzz_after();
    return 0;
}
