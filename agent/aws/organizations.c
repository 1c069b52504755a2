/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Organizations (a global service: one endpoint per partition).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

h2a_err h2a_org_list_accounts(H2A_AWS_CTX *ctx, json_object **out)
{
    json_object *req = json_object_new_object();
    h2a_err rv;

    *out = NULL;
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "ListAccounts request");
    }
    json_object_object_add(req, "MaxResults", json_object_new_int(20));
    rv = h2a_aws_paginate(ctx, H2A_AWS_SVC_ORGANIZATIONS, NULL, "ListAccounts", req, "Accounts", out);
    json_object_put(req);
    return rv;
}
