/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * SQS in AWS JSON 1.0 (the protocol current SDKs use): what a queue-fed
 * worker needs to take a request, keep it hidden while working, and drop
 * or return it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static h2a_err s_need(const char *op, const char *what, const char *v)
{
    if (!h2a_aws_set(v)) {
        return h2a_err_set(H2A_ERR_INPUT, "SQS %s: %s is required", op, what);
    }
    return H2A_OK;
}

/* `op` on queue `url` with the members already in `req` (taken); *resp may be NULL. */
static h2a_err s_queue_call(H2A_AWS_CTX *ctx, const char *region, const char *op,
                            const char *url, json_object *req, json_object **resp)
{
    h2a_err rv = h2a_aws_add_str(req, "QueueUrl", url);

    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_SQS, region, op, req, resp);
    }
    json_object_put(req);
    return rv;
}

h2a_err h2a_sqs_get_queue_url(H2A_AWS_CTX *ctx, const char *region, const char *queue_name,
                              const char *owner_account, char **out_url)
{
    json_object *req, *resp = NULL;
    const char *url = NULL;
    h2a_err rv;

    *out_url = NULL;
    H2A_GUARD(s_need("GetQueueUrl", "a queue name", queue_name));
    req = json_object_new_object();
    if ((rv = h2a_aws_add_str(req, "QueueName", queue_name)) == H2A_OK &&
        (rv = h2a_aws_add_str(req, "QueueOwnerAWSAccountId",
                              h2a_aws_set(owner_account) ? owner_account : NULL)) == H2A_OK &&
        (rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_SQS, region, "GetQueueUrl", req, &resp)) ==
            H2A_OK &&
        (rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SQS, "GetQueueUrl", resp, "QueueUrl", true,
                              &url)) == H2A_OK) {
        rv = h2a_aws_dup_out(url, out_url);
    }
    json_object_put(req);
    json_object_put(resp);
    return rv;
}

h2a_err h2a_sqs_receive_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                                const struct h2a_sqs_receive *in, json_object **out)
{
    static const char op[] = "ReceiveMessage";
    json_object *req, *resp = NULL, *acc;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(s_need(op, "a queue URL", queue_url));
    H2A_ENSURE(in != NULL && in->max_messages >= 1 && in->max_messages <= 10 &&
                   in->wait_seconds >= 0 && in->wait_seconds <= 20 &&
                   in->visibility_timeout >= 0 && in->visibility_timeout <= 43200,
               H2A_ERR_INPUT, "SQS %s: max_messages 1..10, wait_seconds 0..20, "
               "visibility_timeout 0..43200", op);
    req = json_object_new_object();
    json_object_object_add(req, "MaxNumberOfMessages", json_object_new_int(in->max_messages));
    json_object_object_add(req, "WaitTimeSeconds", json_object_new_int(in->wait_seconds));
    if (in->visibility_timeout > 0) {
        json_object_object_add(req, "VisibilityTimeout",
                               json_object_new_int(in->visibility_timeout));
    }
    rv = s_queue_call(ctx, region, op, queue_url, req, &resp);
    acc = json_object_new_array();
    if (rv == H2A_OK) {
        rv = h2a_aws_take_array(ctx, H2A_AWS_SVC_SQS, op, resp, "Messages", acc);
    }
    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(acc); i++) {
        const char *v = NULL;
        json_object *m = json_object_array_get_idx(acc, i);
        if ((rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SQS, op, m, "ReceiptHandle", true, &v)) ==
                H2A_OK &&
            (rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SQS, op, m, "MessageId", true, &v)) ==
                H2A_OK) {
            rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SQS, op, m, "Body", false, &v);
        }
    }
    json_object_put(resp);
    if (rv != H2A_OK) {
        json_object_put(acc);
        return rv;
    }
    *out = acc;
    return H2A_OK;
}

h2a_err h2a_sqs_change_message_visibility(H2A_AWS_CTX *ctx, const char *region,
                                          const char *queue_url, const char *receipt_handle,
                                          int visibility_timeout)
{
    static const char op[] = "ChangeMessageVisibility";
    json_object *req;

    H2A_GUARD(s_need(op, "a queue URL", queue_url));
    H2A_GUARD(s_need(op, "a receipt handle", receipt_handle));
    H2A_ENSURE(visibility_timeout >= 0 && visibility_timeout <= 43200, H2A_ERR_INPUT,
               "SQS %s: visibility_timeout %d: expected 0..43200", op, visibility_timeout);
    req = json_object_new_object();
    json_object_object_add(req, "ReceiptHandle", json_object_new_string(receipt_handle));
    json_object_object_add(req, "VisibilityTimeout", json_object_new_int(visibility_timeout));
    return s_queue_call(ctx, region, op, queue_url, req, NULL);
}

h2a_err h2a_sqs_delete_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                               const char *receipt_handle)
{
    json_object *req;

    H2A_GUARD(s_need("DeleteMessage", "a queue URL", queue_url));
    H2A_GUARD(s_need("DeleteMessage", "a receipt handle", receipt_handle));
    req = json_object_new_object();
    json_object_object_add(req, "ReceiptHandle", json_object_new_string(receipt_handle));
    return s_queue_call(ctx, region, "DeleteMessage", queue_url, req, NULL);
}

h2a_err h2a_sqs_send_message(H2A_AWS_CTX *ctx, const char *region, const char *queue_url,
                             const char *body, int delay_seconds, char **out_message_id)
{
    static const char op[] = "SendMessage";
    json_object *req, *resp = NULL;
    const char *id = NULL;
    h2a_err rv;

    *out_message_id = NULL;
    H2A_GUARD(s_need(op, "a queue URL", queue_url));
    H2A_GUARD(s_need(op, "a message body", body));
    H2A_ENSURE(delay_seconds >= 0 && delay_seconds <= 900, H2A_ERR_INPUT,
               "SQS %s: delay_seconds %d: expected 0..900", op, delay_seconds);
    req = json_object_new_object();
    json_object_object_add(req, "MessageBody", json_object_new_string(body));
    if (delay_seconds > 0) {
        json_object_object_add(req, "DelaySeconds", json_object_new_int(delay_seconds));
    }
    rv = s_queue_call(ctx, region, op, queue_url, req, &resp);
    if (rv == H2A_OK &&
        (rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_SQS, op, resp, "MessageId", true, &id)) ==
            H2A_OK) {
        rv = h2a_aws_dup_out(id, out_message_id);
    }
    json_object_put(resp);
    return rv;
}
