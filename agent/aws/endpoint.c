/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* Service metadata, partitions, and endpoint URLs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "aws_internal.h"

/*
 * The service table. Adding a service: a row here, an enum value in
 * h2a_aws.h, and thin operation wrappers in a file of its own.
 * Global services have one host per partition (aws, aws-cn, aws-us-gov),
 * signed for that partition's global region.
 */
static const struct h2a_aws_service_info s_svcs[H2A_AWS_SVC__COUNT] = {
    [H2A_AWS_SVC_ACM] = {"acm", "ACM", "acm", "aws.endpoints.acm", "AWS_ENDPOINT_URL_ACM",
                         H2A_AWS_PROTO_JSON11, "CertificateManager", NULL, {NULL}},
    [H2A_AWS_SVC_SECRETS_MANAGER] = {"secretsmanager", "SECRETS_MANAGER", "secrets_manager",
                                     "aws.endpoints.secretsmanager",
                                     "AWS_ENDPOINT_URL_SECRETS_MANAGER", H2A_AWS_PROTO_JSON11,
                                     "secretsmanager", NULL, {NULL}},
    [H2A_AWS_SVC_STS] = {"sts", "STS", "sts", "aws.endpoints.sts", "AWS_ENDPOINT_URL_STS",
                         H2A_AWS_PROTO_QUERY, NULL, "us-east-1", {NULL}},
    [H2A_AWS_SVC_ORGANIZATIONS] = {"organizations", "ORGANIZATIONS", "organizations",
                                   "aws.endpoints.organizations",
                                   "AWS_ENDPOINT_URL_ORGANIZATIONS", H2A_AWS_PROTO_JSON11,
                                   "AWSOrganizationsV20161128", NULL,
                                   {"organizations.us-east-1.amazonaws.com",
                                    "organizations.cn-northwest-1.amazonaws.com.cn",
                                    "organizations.us-gov-west-1.amazonaws.com"}},
    [H2A_AWS_SVC_ACM_PCA] = {"acm-pca", "ACM_PCA", "acm_pca", "aws.endpoints.acm-pca",
                             "AWS_ENDPOINT_URL_ACM_PCA", H2A_AWS_PROTO_JSON11, "ACMPrivateCA",
                             NULL, {NULL}},
    [H2A_AWS_SVC_ROUTE53] = {"route53", "ROUTE_53", "route_53", "aws.endpoints.route53",
                             "AWS_ENDPOINT_URL_ROUTE_53", H2A_AWS_PROTO_REST_XML, NULL, NULL,
                             {"route53.amazonaws.com", "route53.amazonaws.com.cn",
                              "route53.us-gov.amazonaws.com"}},
    [H2A_AWS_SVC_SQS] = {"sqs", "SQS", "sqs", "aws.endpoints.sqs", "AWS_ENDPOINT_URL_SQS",
                         H2A_AWS_PROTO_JSON10, "AmazonSQS", NULL, {NULL}},
    [H2A_AWS_SVC_EC2] = {"ec2", "EC2", "ec2", "aws.endpoints.ec2", "AWS_ENDPOINT_URL_EC2",
                         H2A_AWS_PROTO_QUERY, NULL, NULL, {NULL}},
};

const struct h2a_aws_service_info *h2a_aws_service_info(h2a_aws_service svc)
{
    static const struct h2a_aws_service_info unknown = {"?", "?", "?", "?", "?",
                                                        H2A_AWS_PROTO_JSON11, NULL, NULL,
                                                        {NULL}};

    return (unsigned)svc < H2A_AWS_SVC__COUNT ? &s_svcs[svc] : &unknown;
}

const char *h2a_aws_service_name(h2a_aws_service svc)
{
    return h2a_aws_service_info(svc)->name;
}

bool h2a_aws_service_lookup(const char *name, h2a_aws_service *out)
{
    for (int i = 0; name != NULL && i < H2A_AWS_SVC__COUNT; i++) {
        if (strcmp(name, s_svcs[i].name) == 0 || strcmp(name, s_svcs[i].config_key) == 0) {
            *out = (h2a_aws_service)i;
            return true;
        }
    }
    return false;
}

static int s_partition_index(const char *part)
{
    return strcmp(part, "aws-cn") == 0 ? 1 : strcmp(part, "aws-us-gov") == 0 ? 2 : 0;
}

const char *h2a_aws_partition(const char *region)
{
    if (region != NULL && strncmp(region, "cn-", 3) == 0) {
        return "aws-cn";
    }
    if (region != NULL && strncmp(region, "us-gov-", 7) == 0) {
        return "aws-us-gov";
    }
    return "aws";
}

bool h2a_aws_region_valid(const char *region)
{
    size_t n;

    if (region == NULL) {
        return false;
    }
    n = strlen(region);
    if (n == 0 || n > 32 || region[0] == '-' || region[n - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)region[i]) || isdigit((unsigned char)region[i]) ||
              region[i] == '-')) {
            return false;
        }
    }
    return true;
}

static h2a_err s_parse_override(const char *url, struct h2a_endpoint *out)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    char *path = NULL;
    h2a_err rv = H2A_OK;

    if (u == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "endpoint URL");
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rv = h2a_err_set(H2A_ERR_INPUT, "endpoint URL '%.200s': expected "
                         "https://host[:port][/path]", url);
        goto done;
    }
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "endpoint URL '%.200s': scheme must be https "
                         "(or http for an explicit endpoint)", url);
        goto done;
    }
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
    (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
    snprintf(out->scheme, sizeof(out->scheme), "%s", scheme);
    if (port != NULL) {
        snprintf(out->host_header, sizeof(out->host_header), "%s:%s", host, port);
    } else {
        snprintf(out->host_header, sizeof(out->host_header), "%s", host);
    }
    snprintf(out->path, sizeof(out->path), "%s",
             (path != NULL && path[0] == '/') ? path : "/");
    snprintf(out->url, sizeof(out->url), "%s://%s%s", out->scheme, out->host_header,
             out->path);
    out->explicit_endpoint = true;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rv;
}

h2a_err h2a_aws_endpoint_resolve(h2a_aws_service svc, const char *region,
                                 const char *override, struct h2a_endpoint *out)
{
    static const char *const global_region[3] = {"us-east-1", "cn-northwest-1",
                                                 "us-gov-west-1"};
    const struct h2a_aws_service_info *si = h2a_aws_service_info(svc);
    const char *part;
    int pi;

    memset(out, 0, sizeof(*out));
    if ((unsigned)svc >= H2A_AWS_SVC__COUNT) {
        return h2a_err_set(H2A_ERR_INTERNAL, "unknown AWS service %d", (int)svc);
    }
    if (region == NULL && (si->global_host[0] != NULL || si->default_region != NULL)) {
        /* Global services work without a region, as the SDKs do. */
        region = si->default_region != NULL ? si->default_region : "us-east-1";
    }
    if (!h2a_aws_region_valid(region)) {
        return h2a_err_set(H2A_ERR_USAGE, "%s: no valid AWS region (got '%s'; set --region, "
                           "AWS_REGION, the profile's region or aws.region)",
                           si->name, region != NULL ? region : "");
    }
    part = h2a_aws_partition(region);
    pi = s_partition_index(part);
    snprintf(out->signing_region, sizeof(out->signing_region), "%s",
             si->global_host[0] != NULL ? global_region[pi] : region);
    if (override != NULL && override[0] != '\0') {
        return s_parse_override(override, out);
    }
    snprintf(out->scheme, sizeof(out->scheme), "https");
    if (si->global_host[0] != NULL) {
        snprintf(out->host_header, sizeof(out->host_header), "%s", si->global_host[pi]);
    } else {
        snprintf(out->host_header, sizeof(out->host_header), "%s.%s.%s", si->name, region,
                 pi == 1 ? "amazonaws.com.cn" : "amazonaws.com");
    }
    snprintf(out->path, sizeof(out->path), "/");
    snprintf(out->url, sizeof(out->url), "https://%s/", out->host_header);
    return H2A_OK;
}
