/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * ACM. ImportCertificate's body carries the private key: it is built in a
 * secure buffer and sent from locked memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* All seven ACM key types: without them ListCertificates hides EC and large RSA. */
static const char *const s_acm_key_types[] = {
    "RSA_1024",      "RSA_2048",     "RSA_3072",     "RSA_4096",
    "EC_prime256v1", "EC_secp384r1", "EC_secp521r1",
};

h2a_err h2a_acm_import_certificate(H2A_AWS_CTX *ctx, const char *region,
                                   const struct h2a_acm_import *in, char **out_arn)
{
    json_object *req = NULL;
    json_object *resp = NULL;
    h2a_buf body;
    h2a_buf reply;
    const char *arn = NULL;
    h2a_err rv;

    *out_arn = NULL;
    h2a_buf_init_secure(&body, 0);
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    if (in == NULL || !h2a_aws_set(in->certificate_pem)) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: certificate PEM is required");
        goto done;
    }
    if (in->private_key_pem == NULL || in->private_key_pem->len == 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: private key PEM is required");
        goto done;
    }
    if (h2a_aws_set(in->certificate_arn) && in->n_tags > 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: tags cannot be sent on a reimport "
                         "(%s); use AddTagsToCertificate", in->certificate_arn);
        goto done;
    }
    req = json_object_new_object();
    if (req == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "ImportCertificate request");
        goto done;
    }
    if ((rv = h2a_aws_add_b64(req, "Certificate", in->certificate_pem)) != H2A_OK ||
        (rv = h2a_aws_add_b64(req, "CertificateChain", h2a_aws_set(in->chain_pem) ? in->chain_pem : NULL)) !=
            H2A_OK ||
        (rv = h2a_aws_add_str(req, "CertificateArn",
                        h2a_aws_set(in->certificate_arn) ? in->certificate_arn : NULL)) != H2A_OK ||
        (rv = h2a_aws_add_tags(req, "ImportCertificate", in->tags, in->n_tags)) != H2A_OK ||
        (rv = h2a_aws_splice_secret(req, "PrivateKey", in->private_key_pem, true, &body)) != H2A_OK) {
        goto done;
    }
    rv = h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_ACM, region, "ImportCertificate", body.data,
                               body.len, true, &reply);
    h2a_buf_free(&body);
    if (rv == H2A_OK) {
        rv = h2a_aws_parse_reply(ctx, H2A_AWS_SVC_ACM, "ImportCertificate", &reply, &resp);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_ACM, "ImportCertificate", resp, "CertificateArn", true,
                       &arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_dup_out(arn, out_arn);
    }
done:
    json_object_put(req);
    json_object_put(resp);
    h2a_buf_free(&body);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_acm_describe_certificate(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                                     json_object **out)
{
    json_object *resp = NULL;
    json_object *c;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(h2a_aws_need_arn("DescribeCertificate", arn));
    rv = h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM, region, "DescribeCertificate", "CertificateArn", arn,
                    &resp);
    if (rv != H2A_OK) {
        return rv;
    }
    if (!json_object_object_get_ex(resp, "Certificate", &c) ||
        !json_object_is_type(c, json_type_object)) {
        json_object_put(resp);
        return h2a_aws_malformed(ctx, H2A_AWS_SVC_ACM, "DescribeCertificate",
                                 "member Certificate: expected an object");
    }
    *out = json_object_get(c);
    json_object_put(resp);
    return H2A_OK;
}

h2a_err h2a_acm_get_certificate(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                                char **out_cert_pem, char **out_chain_pem)
{
    json_object *resp = NULL;
    h2a_err rv;

    *out_cert_pem = NULL;
    if (out_chain_pem != NULL) {
        *out_chain_pem = NULL;
    }
    H2A_GUARD(h2a_aws_need_arn("GetCertificate", arn));
    rv = h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM, region, "GetCertificate", "CertificateArn", arn, &resp);
    if (rv == H2A_OK) {
        rv = h2a_aws_take_cert_chain(ctx, H2A_AWS_SVC_ACM, "GetCertificate", resp, out_cert_pem,
                                     out_chain_pem);
    }
    json_object_put(resp);
    return rv;
}

h2a_err h2a_acm_list_certificates(H2A_AWS_CTX *ctx, const char *region,
                                  const char *const *statuses, json_object **out)
{
    json_object *req = json_object_new_object();
    json_object *inc = json_object_new_object();
    json_object *kt = json_object_new_array();
    h2a_err rv = H2A_OK;

    *out = NULL;
    if (req == NULL || inc == NULL || kt == NULL) {
        json_object_put(req);
        json_object_put(inc);
        json_object_put(kt);
        return h2a_err_set(H2A_ERR_NOMEM, "ListCertificates request");
    }
    for (size_t i = 0; i < sizeof(s_acm_key_types) / sizeof(s_acm_key_types[0]); i++) {
        json_object_array_add(kt, json_object_new_string(s_acm_key_types[i]));
    }
    json_object_object_add(inc, "keyTypes", kt);
    json_object_object_add(req, "Includes", inc);
    if (statuses != NULL && statuses[0] != NULL) {
        json_object *st = json_object_new_array();
        for (size_t i = 0; st != NULL && statuses[i] != NULL; i++) {
            json_object_array_add(st, json_object_new_string(statuses[i]));
        }
        json_object_object_add(req, "CertificateStatuses", st);
    }
    json_object_object_add(req, "MaxItems", json_object_new_int(1000));
    rv = h2a_aws_paginate(ctx, H2A_AWS_SVC_ACM, region, "ListCertificates", req,
                    "CertificateSummaryList", out);
    json_object_put(req);
    return rv;
}

h2a_err h2a_acm_add_tags(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                         const struct h2a_aws_tag *tags, size_t n_tags)
{
    json_object *req;
    h2a_err rv;

    H2A_GUARD(h2a_aws_need_arn("AddTagsToCertificate", arn));
    H2A_ENSURE(n_tags > 0, H2A_ERR_INPUT, "AddTagsToCertificate: at least one tag is required");
    req = json_object_new_object();
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "AddTagsToCertificate request");
    }
    rv = h2a_aws_add_str(req, "CertificateArn", arn);
    if (rv == H2A_OK) {
        rv = h2a_aws_add_tags(req, "AddTagsToCertificate", tags, n_tags);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_ACM, region, "AddTagsToCertificate", req, NULL);
    }
    json_object_put(req);
    return rv;
}

h2a_err h2a_acm_list_tags(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                          json_object **out)
{
    json_object *resp = NULL;
    json_object *acc;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(h2a_aws_need_arn("ListTagsForCertificate", arn));
    rv = h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM, region, "ListTagsForCertificate", "CertificateArn",
                    arn, &resp);
    if (rv != H2A_OK) {
        return rv;
    }
    acc = json_object_new_array();
    if (acc == NULL) {
        json_object_put(resp);
        return h2a_err_set(H2A_ERR_NOMEM, "tags");
    }
    rv = h2a_aws_take_array(ctx, H2A_AWS_SVC_ACM, "ListTagsForCertificate", resp, "Tags", acc);
    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(acc); i++) {
        const char *k = NULL;
        rv = h2a_aws_get_str(ctx, H2A_AWS_SVC_ACM, "ListTagsForCertificate",
                       json_object_array_get_idx(acc, i), "Key", true, &k);
    }
    json_object_put(resp);
    if (rv != H2A_OK) {
        json_object_put(acc);
        return rv;
    }
    *out = acc;
    return H2A_OK;
}

h2a_err h2a_acm_delete_certificate(H2A_AWS_CTX *ctx, const char *region, const char *arn)
{
    H2A_GUARD(h2a_aws_need_arn("DeleteCertificate", arn));
    return h2a_aws_arn_call(ctx, H2A_AWS_SVC_ACM, region, "DeleteCertificate", "CertificateArn", arn,
                      NULL);
}

h2a_err h2a_acm_arn_parse(const char *what, const char *arn, struct h2a_acm_arn *out)
{
    const char *p = arn;
    const char *f[6];
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    /* arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID, no field empty. */
    for (; arn != NULL && n < 6; n++) {
        f[n] = p;
        p = n < 5 ? strchr(p, ':') : p + strlen(p);
        if (p == NULL || p == f[n]) {
            break;
        }
        p += n < 5 ? 1 : 0;
    }
    if (n != 6 || strncmp(f[0], "arn:", 4) != 0 || strncmp(f[1], "aws", 3) != 0 ||
        strncmp(f[2], "acm:", 4) != 0 || strncmp(f[5], "certificate/", 12) != 0 ||
        f[5][12] == '\0' || strspn(f[4], "0123456789") != 12 || f[4][12] != ':' ||
        (size_t)(f[4] - f[3] - 1) >= sizeof(out->region)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%.200s' is not an ACM certificate ARN "
                           "(arn:aws:acm:REGION:ACCOUNT:certificate/ID)", what,
                           arn != NULL ? arn : "");
    }
    snprintf(out->region, sizeof(out->region), "%.*s", (int)(f[4] - f[3] - 1), f[3]);
    snprintf(out->account, sizeof(out->account), "%.12s", f[4]);
    if (!h2a_aws_region_valid(out->region)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%.200s': '%s' is not a region", what, arn,
                           out->region);
    }
    return H2A_OK;
}

bool h2a_acm_status_valid(const char *status)
{
    static const char *const all[] = {"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED",
                                      "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"};

    for (size_t i = 0; status != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(status, all[i]) == 0) {
            return true;
        }
    }
    return false;
}
