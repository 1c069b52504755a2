/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * SQS's awsJson 1.0 replies through the operations of agent/aws/sqs.c,
 * every attempt answered in-process with the input (aws_reply.c): byte 0
 * the operation, byte 1 the status, the rest the body.
 */
#include "aws_reply.h"

#define QURL "https://sqs.eu-west-1.amazonaws.com/111111111111/hsm2acm-events"

static void s_url(H2A_AWS_CTX *c)
{
    char *u = NULL;
    (void)h2a_sqs_get_queue_url(c, NULL, "hsm2acm-events", "111111111111", &u);
    free(u);
}

static void s_receive(H2A_AWS_CTX *c)
{
    static const struct h2a_sqs_receive in = {.max_messages = 10, .wait_seconds = 0};
    json_object *o = NULL;

    (void)h2a_sqs_receive_message(c, NULL, QURL, &in, &o);
    json_object_put(o);
}

static void s_visibility(H2A_AWS_CTX *c)
{
    (void)h2a_sqs_change_message_visibility(c, NULL, QURL, "handle", 30);
}

static void s_delete(H2A_AWS_CTX *c)
{
    (void)h2a_sqs_delete_message(c, NULL, QURL, "handle");
}

static void s_send(H2A_AWS_CTX *c)
{
    char *id = NULL;
    (void)h2a_sqs_send_message(c, NULL, QURL, "{\"event\":\"fuzz\"}", 0, &id);
    free(id);
}

/* The order is the seeds' byte 0 (tests/fuzz/seeds.py): append only. */
static const h2a_fuzz_aws_op s_ops[] = {s_url, s_receive, s_visibility, s_delete, s_send};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return h2a_fuzz_aws_run(s_ops, sizeof(s_ops) / sizeof(s_ops[0]), data, size);
}
