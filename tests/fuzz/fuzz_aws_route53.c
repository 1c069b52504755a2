/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Route 53's REST-XML replies and error documents through the four
 * operations of agent/aws/route53.c, every attempt answered in-process
 * with the input (aws_reply.c): byte 0 the operation, byte 1 the status.
 */
#include "aws_reply.h"

static void s_zones(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_r53_list_hosted_zones_by_name(c, "example.com.", 0, &o);
    json_object_put(o);
}

static void s_rrsets(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_r53_list_resource_record_sets(c, "/hostedzone/Z0123456789", &o);
    json_object_put(o);
}

static void s_change(H2A_AWS_CTX *c)
{
    static const char *const vals[] = {"\"token\"", NULL};
    static const struct h2a_r53_change ch = {"UPSERT", "_acme-challenge.example.com.", "TXT",
                                             60, vals};
    char *id = NULL, *st = NULL;

    (void)h2a_r53_change_resource_record_sets(c, "Z0123456789", "fuzz", &ch, 1, &id, &st);
    free(id);
    free(st);
}

static void s_get_change(H2A_AWS_CTX *c)
{
    char *st = NULL;
    (void)h2a_r53_get_change(c, "/change/C0123456789", &st);
    free(st);
}

/* The order is the seeds' byte 0 (tests/fuzz/seeds.py): append only. */
static const h2a_fuzz_aws_op s_ops[] = {s_zones, s_rrsets, s_change, s_get_change};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return h2a_fuzz_aws_run(s_ops, sizeof(s_ops) / sizeof(s_ops[0]), data, size);
}
