/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Secrets Manager. CreateSecret splices its value into a secure buffer;
 * GetSecretValue takes SecretString out of the secure reply before json-c
 * sees the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/*
 * Secrets Manager deletes asynchronously: for a while after a forced
 * DeleteSecret, even once DescribeSecret says "not found", a secret of the
 * same name cannot be created ("scheduled for deletion"). AWS's advice is
 * to back off and retry; a resume re-staging right after its own cleanup,
 * or after sweep, does exactly that within a bound.
 */
#define S_RECREATE_BOUND_MS 60000L

static bool s_scheduled_for_deletion(H2A_AWS_CTX *ctx)
{
    return h2a_aws_last_error_is(ctx, "InvalidRequestException") &&
           strstr(h2a_aws_last_error(ctx)->message, "scheduled for deletion") != NULL;
}

static h2a_err s_create_call(H2A_AWS_CTX *ctx, const char *region, const char *name,
                             const h2a_buf *body, h2a_buf *reply)
{
    long waited = 0;

    for (int k = 0;; k++) {
        long delay = 250L << (k < 4 ? k : 4);
        h2a_err rv = h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region,
                                           "CreateSecret", body->data, body->len, true, reply);

        if (rv == H2A_OK || !s_scheduled_for_deletion(ctx) || waited >= S_RECREATE_BOUND_MS) {
            return rv;
        }
        H2A_LOG_INFO("aws: secret %s is still being deleted; creating it again in %ld ms",
                     name, delay);
        h2a_err_clear();
        h2a_aws_ctx_sleep(ctx, delay);
        waited += delay;
    }
}

h2a_err h2a_sm_create_secret(H2A_AWS_CTX *ctx, const char *region,
                             const struct h2a_sm_create *in, json_object **out)
{
    json_object *req = NULL;
    json_object *resp = NULL;
    h2a_buf body;
    h2a_buf reply;
    const char *arn = NULL;
    size_t tl;
    h2a_err rv;

    if (out != NULL) {
        *out = NULL;
    }
    h2a_buf_init_secure(&body, 0);
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    if (in == NULL || !h2a_aws_set(in->name)) {
        rv = h2a_err_set(H2A_ERR_INPUT, "CreateSecret: name is required");
        goto done;
    }
    tl = in->client_request_token != NULL ? strlen(in->client_request_token) : 0;
    if (tl < 32 || tl > 64) {
        rv = h2a_err_set(H2A_ERR_INPUT, "CreateSecret %s: client_request_token must be 32..64 "
                         "characters (got %zu)", in->name, tl);
        goto done;
    }
    if (in->secret_string == NULL || in->secret_string->len == 0 ||
        in->secret_string->len > 65536) {
        rv = h2a_err_set(H2A_ERR_INPUT, "CreateSecret %s: secret string must be 1..65536 bytes",
                         in->name);
        goto done;
    }
    req = json_object_new_object();
    if (req == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "CreateSecret request");
        goto done;
    }
    if ((rv = h2a_aws_add_str(req, "Name", in->name)) != H2A_OK ||
        (rv = h2a_aws_add_str(req, "ClientRequestToken", in->client_request_token)) != H2A_OK ||
        (rv = h2a_aws_add_str(req, "KmsKeyId", h2a_aws_set(in->kms_key_id) ? in->kms_key_id : NULL)) !=
            H2A_OK ||
        (rv = h2a_aws_add_str(req, "Description", h2a_aws_set(in->description) ? in->description : NULL)) !=
            H2A_OK ||
        (rv = h2a_aws_add_tags(req, "CreateSecret", in->tags, in->n_tags)) != H2A_OK ||
        (rv = h2a_aws_splice_secret(req, "SecretString", in->secret_string, false, &body)) != H2A_OK) {
        goto done;
    }
    rv = s_create_call(ctx, region, in->name, &body, &reply);
    if (rv == H2A_OK) {
        rv = h2a_aws_parse_reply(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "CreateSecret", &reply, &resp);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "CreateSecret", resp, "ARN", true, &arn);
    }
    if (rv == H2A_OK && out != NULL) {
        *out = resp;
        resp = NULL;
    }
done:
    json_object_put(req);
    json_object_put(resp);
    h2a_buf_free(&body);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sm_get_secret_value(H2A_AWS_CTX *ctx, const char *region, const char *secret_id,
                                h2a_buf *out_secret, json_object **out_meta)
{
    json_object *req = NULL;
    json_object *meta = NULL;
    h2a_buf reply;
    const char *body;
    bool found = false;
    h2a_err rv;

    if (out_meta != NULL) {
        *out_meta = NULL;
    }
    H2A_GUARD(h2a_aws_need_arn("GetSecretValue", secret_id));
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    req = json_object_new_object();
    if (req == NULL || h2a_aws_add_str(req, "SecretId", secret_id) != H2A_OK) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "GetSecretValue request");
        goto done;
    }
    body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    rv = h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "GetSecretValue",
                               (const uint8_t *)body, strlen(body), false, &reply);
    if (rv != H2A_OK) {
        goto done;
    }
    rv = h2a_json_take_string(&reply, "SecretString", out_secret, &found);
    if (rv != H2A_OK) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "GetSecretValue", "%s",
                               h2a_err_msg());
        goto done;
    }
    if (!found) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "GetSecretValue",
                               "secret %s has no SecretString", secret_id);
        goto done;
    }
    rv = h2a_aws_parse_reply(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "GetSecretValue", &reply, &meta);
    if (rv == H2A_OK) {
        json_object_object_del(meta, "SecretString");
        json_object_object_del(meta, "SecretBinary");
        if (out_meta != NULL) {
            *out_meta = meta;
            meta = NULL;
        }
    }
done:
    if (rv != H2A_OK && out_secret != NULL) {
        h2a_buf_reset(out_secret);
    }
    json_object_put(req);
    json_object_put(meta);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sm_describe_secret(H2A_AWS_CTX *ctx, const char *region, const char *secret_id,
                               json_object **out)
{
    *out = NULL;
    H2A_GUARD(h2a_aws_need_arn("DescribeSecret", secret_id));
    return h2a_aws_arn_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "DescribeSecret", "SecretId",
                      secret_id, out);
}

h2a_err h2a_sm_delete_secret(H2A_AWS_CTX *ctx, const char *region, const char *secret_id,
                             bool force)
{
    json_object *req;
    json_object *resp = NULL;
    h2a_err rv;

    H2A_GUARD(h2a_aws_need_arn("DeleteSecret", secret_id));
    req = json_object_new_object();
    if (req == NULL || h2a_aws_add_str(req, "SecretId", secret_id) != H2A_OK) {
        json_object_put(req);
        return h2a_err_set(H2A_ERR_NOMEM, "DeleteSecret request");
    }
    if (force) {
        json_object_object_add(req, "ForceDeleteWithoutRecovery", json_object_new_boolean(1));
    }
    rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "DeleteSecret", req, &resp);
    json_object_put(req);
    json_object_put(resp);
    return rv;
}

h2a_err h2a_sm_list_secrets(H2A_AWS_CTX *ctx, const char *region,
                            const struct h2a_sm_filter *filters, size_t n_filters,
                            json_object **out)
{
    json_object *req = json_object_new_object();
    json_object *fl = NULL;
    h2a_err rv = H2A_OK;

    *out = NULL;
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "ListSecrets request");
    }
    if (n_filters > 10) {
        json_object_put(req);
        return h2a_err_set(H2A_ERR_INPUT, "ListSecrets: at most 10 filters (got %zu)", n_filters);
    }
    if (n_filters > 0) {
        fl = json_object_new_array();
        json_object_object_add(req, "Filters", fl);
    }
    for (size_t i = 0; i < n_filters; i++) {
        json_object *f = json_object_new_object();
        json_object *vals = json_object_new_array();
        size_t nv = 0;
        if (!h2a_aws_set(filters[i].key) || filters[i].values == NULL) {
            json_object_put(f);
            json_object_put(vals);
            json_object_put(req);
            return h2a_err_set(H2A_ERR_INPUT, "ListSecrets filters[%zu]: key and values are "
                               "required", i);
        }
        for (; filters[i].values[nv] != NULL; nv++) {
            json_object_array_add(vals, json_object_new_string(filters[i].values[nv]));
        }
        if (nv == 0 || nv > 10) {
            json_object_put(f);
            json_object_put(vals);
            json_object_put(req);
            return h2a_err_set(H2A_ERR_INPUT, "ListSecrets filters[%zu]: 1..10 values (got %zu)",
                               i, nv);
        }
        json_object_object_add(f, "Key", json_object_new_string(filters[i].key));
        json_object_object_add(f, "Values", vals);
        json_object_array_add(fl, f);
    }
    json_object_object_add(req, "MaxResults", json_object_new_int(100));
    rv = h2a_aws_paginate(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "ListSecrets", req, "SecretList",
                    out);
    json_object_put(req);
    return rv;
}

h2a_err h2a_sm_wait_secret_deleted(H2A_AWS_CTX *ctx, const char *region, const char *secret_id)
{
    /* Force deletion is asynchronous on AWS: poll for up to ~10 s. */
    for (int k = 0; k < 40; k++) {
        json_object *d = NULL;
        h2a_err rv = h2a_sm_describe_secret(ctx, region, secret_id, &d);

        json_object_put(d);
        if (rv != H2A_OK) {
            if (h2a_aws_last_error_is(ctx, "ResourceNotFoundException")) {
                h2a_err_clear();
                return H2A_OK;
            }
            return rv;
        }
        h2a_aws_ctx_sleep(ctx, 250);
    }
    return h2a_err_set(H2A_ERR_AWS, "secretsmanager: %s still exists after DeleteSecret",
                       secret_id);
}

h2a_err h2a_sm_delete_secret_and_wait(H2A_AWS_CTX *ctx, const char *region,
                                      const char *secret_id)
{
    H2A_GUARD(h2a_sm_delete_secret(ctx, region, secret_id, true));
    return h2a_sm_wait_secret_deleted(ctx, region, secret_id);
}
