/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * ACM Private CA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

h2a_err h2a_pca_issue_certificate(H2A_AWS_CTX *ctx, const char *region,
                                  const struct h2a_pca_issue *in, char **out_cert_arn)
{
    json_object *req;
    json_object *val;
    json_object *resp = NULL;
    const char *arn = NULL;
    h2a_err rv;

    *out_cert_arn = NULL;
    if (in == NULL || !h2a_aws_set(in->ca_arn) || !h2a_aws_set(in->csr_pem) ||
        !h2a_aws_set(in->signing_algorithm) || !h2a_aws_set(in->validity_type) || in->validity_value < 1) {
        return h2a_err_set(H2A_ERR_INPUT, "IssueCertificate: CA ARN, CSR, signing algorithm and "
                           "a validity (type, value >= 1) are required");
    }
    if (h2a_aws_set(in->idempotency_token) && strlen(in->idempotency_token) > 36) {
        return h2a_err_set(H2A_ERR_INPUT, "IssueCertificate: idempotency token longer than 36");
    }
    req = json_object_new_object();
    val = json_object_new_object();
    if (req == NULL || val == NULL) {
        json_object_put(req);
        json_object_put(val);
        return h2a_err_set(H2A_ERR_NOMEM, "IssueCertificate request");
    }
    json_object_object_add(val, "Value", json_object_new_int64(in->validity_value));
    json_object_object_add(val, "Type", json_object_new_string(in->validity_type));
    json_object_object_add(req, "Validity", val);
    if ((rv = h2a_aws_add_str(req, "CertificateAuthorityArn", in->ca_arn)) == H2A_OK &&
        (rv = h2a_aws_add_b64(req, "Csr", in->csr_pem)) == H2A_OK &&
        (rv = h2a_aws_add_str(req, "SigningAlgorithm", in->signing_algorithm)) == H2A_OK &&
        (rv = h2a_aws_add_str(req, "TemplateArn", h2a_aws_set(in->template_arn) ? in->template_arn : NULL)) ==
            H2A_OK &&
        (rv = h2a_aws_add_str(req, "IdempotencyToken",
                        h2a_aws_set(in->idempotency_token) ? in->idempotency_token : NULL)) == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_ACM_PCA, region, "IssueCertificate", req, &resp);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_ACM_PCA, "IssueCertificate", resp, "CertificateArn", true,
                       &arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_dup_out(arn, out_cert_arn);
    }
    json_object_put(req);
    json_object_put(resp);
    return rv;
}

h2a_err h2a_pca_get_certificate(H2A_AWS_CTX *ctx, const char *region, const char *ca_arn,
                                const char *cert_arn, char **out_cert_pem, char **out_chain_pem)
{
    json_object *req;
    json_object *resp = NULL;
    h2a_err rv;

    *out_cert_pem = NULL;
    if (out_chain_pem != NULL) {
        *out_chain_pem = NULL;
    }
    H2A_GUARD(h2a_aws_need_arn("GetCertificate (ACM PCA) CA", ca_arn));
    H2A_GUARD(h2a_aws_need_arn("GetCertificate (ACM PCA) certificate", cert_arn));
    req = json_object_new_object();
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "GetCertificate request");
    }
    rv = h2a_aws_add_str(req, "CertificateAuthorityArn", ca_arn);
    if (rv == H2A_OK) {
        rv = h2a_aws_add_str(req, "CertificateArn", cert_arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_ACM_PCA, region, "GetCertificate", req, &resp);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_take_cert_chain(ctx, H2A_AWS_SVC_ACM_PCA, "GetCertificate", resp, out_cert_pem,
                                     out_chain_pem);
    }
    json_object_put(req);
    json_object_put(resp);
    return rv;
}

h2a_err h2a_pca_describe_certificate_authority(H2A_AWS_CTX *ctx, const char *region,
                                               const char *ca_arn, json_object **out)
{
    static const char op[] = "DescribeCertificateAuthority";
    json_object *resp = NULL, *ca;

    *out = NULL;
    H2A_GUARD(h2a_aws_need_arn(op, ca_arn));
    H2A_GUARD(h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM_PCA, region, op, "CertificateAuthorityArn",
                               ca_arn, &resp));
    if (!json_object_object_get_ex(resp, "CertificateAuthority", &ca) ||
        !json_object_is_type(ca, json_type_object)) {
        json_object_put(resp);
        return h2a_aws_malformed(ctx, H2A_AWS_SVC_ACM_PCA, op,
                                 "member CertificateAuthority: expected an object");
    }
    *out = json_object_get(ca);
    json_object_put(resp);
    return H2A_OK;
}

h2a_err h2a_pca_get_certificate_authority_certificate(H2A_AWS_CTX *ctx, const char *region,
                                                      const char *ca_arn, char **out_cert_pem,
                                                      char **out_chain_pem)
{
    static const char op[] = "GetCertificateAuthorityCertificate";
    json_object *resp = NULL;
    h2a_err rv;

    *out_cert_pem = NULL;
    if (out_chain_pem != NULL) {
        *out_chain_pem = NULL;
    }
    H2A_GUARD(h2a_aws_need_arn(op, ca_arn));
    rv = h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM_PCA, region, op, "CertificateAuthorityArn",
                          ca_arn, &resp);
    if (rv == H2A_OK) {
        rv = h2a_aws_take_cert_chain(ctx, H2A_AWS_SVC_ACM_PCA, op, resp, out_cert_pem,
                                     out_chain_pem);
    }
    json_object_put(resp);
    return rv;
}
