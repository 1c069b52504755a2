/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The typed AWS operations' reply parsers (ACM, Secrets Manager, STS XML,
 * Organizations, ACM PCA, EC2 DescribeRegions) through their public functions, every attempt
 * answered in-process with the input (aws_reply.c): byte 0 picks the
 * operation, byte 1 the HTTP status, the rest is the reply body.
 */
#include "aws_reply.h"

#define ARN "arn:aws:acm:eu-west-1:111111111111:certificate/0f0e0d0c-1111-2222-3333-444455556666"
#define CA "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/ca"
#define SECRET "hsm2acm/staging/fuzz-1-0"
#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static void s_put2(json_object *o, char *a, char *b)
{
    json_object_put(o);
    free(a);
    free(b);
}

static void s_acm_describe(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_acm_describe_certificate(c, NULL, ARN, &o);
    s_put2(o, NULL, NULL);
}

static void s_acm_get(H2A_AWS_CTX *c)
{
    char *a = NULL, *b = NULL;
    (void)h2a_acm_get_certificate(c, NULL, ARN, &a, &b);
    s_put2(NULL, a, b);
}

static void s_acm_list(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_acm_list_certificates(c, NULL, NULL, &o);
    s_put2(o, NULL, NULL);
}

static void s_acm_list_tags(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_acm_list_tags(c, NULL, ARN, &o);
    s_put2(o, NULL, NULL);
}

static void s_acm_add_tags(H2A_AWS_CTX *c)
{
    static const struct h2a_aws_tag tag = {"env", "fuzz"};
    (void)h2a_acm_add_tags(c, NULL, ARN, &tag, 1);
}

static void s_acm_delete(H2A_AWS_CTX *c)
{
    (void)h2a_acm_delete_certificate(c, NULL, ARN);
}

static void s_acm_import(H2A_AWS_CTX *c)
{
    h2a_buf key;
    char *a = NULL;
    struct h2a_acm_import in = {.certificate_pem = PEM, .private_key_pem = &key};

    h2a_buf_init_secure(&key, 0);
    if (h2a_buf_append_str(&key, "-----BEGIN PRIVATE KEY-----\nAA\n"
                                 "-----END PRIVATE KEY-----\n") == H2A_OK) {
        (void)h2a_acm_import_certificate(c, NULL, &in, &a);
    }
    h2a_buf_free(&key);
    free(a);
}

static void s_sm_get_value(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    h2a_buf v;

    h2a_buf_init_secure(&v, 0);
    (void)h2a_sm_get_secret_value(c, NULL, SECRET, &v, &o);
    json_object_put(o);
    h2a_buf_free(&v);
}

static void s_sm_describe(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_sm_describe_secret(c, NULL, SECRET, &o);
    s_put2(o, NULL, NULL);
}

static void s_sm_list(H2A_AWS_CTX *c)
{
    static const char *const names[] = {"hsm2acm/staging/", NULL};
    static const struct h2a_sm_filter f = {"name", names};
    json_object *o = NULL;

    (void)h2a_sm_list_secrets(c, NULL, &f, 1, &o);
    s_put2(o, NULL, NULL);
}

static void s_sm_delete(H2A_AWS_CTX *c)
{
    (void)h2a_sm_delete_secret(c, NULL, SECRET, true);
}

static void s_sm_create(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    h2a_buf v;
    struct h2a_sm_create in = {.name = SECRET,
                               .client_request_token = "0123456789abcdef0123456789abcdef",
                               .secret_string = &v};

    h2a_buf_init_secure(&v, 0);
    if (h2a_buf_append_str(&v, "{\"format_version\":1}") == H2A_OK) {
        (void)h2a_sm_create_secret(c, NULL, &in, &o);
    }
    json_object_put(o);
    h2a_buf_free(&v);
}

static void s_sts_identity(H2A_AWS_CTX *c)
{
    struct h2a_aws_identity id;
    (void)h2a_sts_get_caller_identity(c, NULL, &id);
}

static const struct h2a_aws_assume_role s_role = {.role_arn = "arn:aws:iam::222222222222:role/r",
                                                  .session_name = "fuzz"};

static void s_sts_assume(H2A_AWS_CTX *c)
{
    struct h2a_aws_credentials *cr = NULL;
    (void)h2a_sts_assume_role(c, &s_role, &cr);
    h2a_aws_credentials_free(cr);
}

static void s_sts_web(H2A_AWS_CTX *c)
{
    struct h2a_aws_credentials *cr = NULL;
    (void)h2a_sts_assume_role_with_web_identity(c, NULL, s_role.role_arn, "fuzz",
                                                "eyJhbGciOiJub25lIn0.e30.", 900, &cr);
    h2a_aws_credentials_free(cr);
}

static void s_org_accounts(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_org_list_accounts(c, &o);
    s_put2(o, NULL, NULL);
}

static void s_pca_issue(H2A_AWS_CTX *c)
{
    struct h2a_pca_issue pi = {.ca_arn = CA, .csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nAA\n"
                                                       "-----END CERTIFICATE REQUEST-----\n",
                               .signing_algorithm = "SHA256WITHECDSA",
                               .validity_type = "DAYS", .validity_value = 30};
    char *a = NULL;

    (void)h2a_pca_issue_certificate(c, NULL, &pi, &a);
    free(a);
}

static void s_pca_get(H2A_AWS_CTX *c)
{
    char *a = NULL, *b = NULL;
    (void)h2a_pca_get_certificate(c, NULL, CA, CA "/certificate/c", &a, &b);
    s_put2(NULL, a, b);
}

static void s_pca_describe_ca(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_pca_describe_certificate_authority(c, NULL, CA, &o);
    s_put2(o, NULL, NULL);
}

static void s_pca_ca_cert(H2A_AWS_CTX *c)
{
    char *a = NULL, *b = NULL;
    (void)h2a_pca_get_certificate_authority_certificate(c, NULL, CA, &a, &b);
    s_put2(NULL, a, b);
}

static void s_ec2_regions(H2A_AWS_CTX *c)
{
    json_object *o = NULL;
    (void)h2a_ec2_enabled_regions(c, NULL, &o);
    s_put2(o, NULL, NULL);
}

/* The order is the seeds' byte 0 (tests/fuzz/seeds.py): append only. */
static const h2a_fuzz_aws_op s_ops[] = {
    s_acm_describe, s_acm_get, s_acm_list, s_acm_list_tags, s_acm_add_tags, s_acm_delete,
    s_acm_import, s_sm_get_value, s_sm_describe, s_sm_list, s_sm_delete, s_sm_create,
    s_sts_identity, s_sts_assume, s_sts_web, s_org_accounts, s_pca_issue, s_pca_get,
    s_pca_describe_ca, s_pca_ca_cert, s_ec2_regions,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return h2a_fuzz_aws_run(s_ops, sizeof(s_ops) / sizeof(s_ops[0]), data, size);
}
