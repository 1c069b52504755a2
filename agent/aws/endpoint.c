/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* Service metadata, partitions, and endpoint URLs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "aws_internal.h"

struct s_svc {
    const char *name;        /* signing name and host prefix */
    const char *env_suffix;  /* AWS_ENDPOINT_URL_<X> */
    const char *config_key;  /* services section key */
    const char *target;      /* X-Amz-Target prefix; NULL for awsQuery */
};

static const struct s_svc s_svcs[H2A_AWS_SVC__COUNT] = {
    [H2A_AWS_SVC_ACM] = {"acm", "ACM", "acm", "CertificateManager"},
    [H2A_AWS_SVC_SECRETS_MANAGER] = {"secretsmanager", "SECRETS_MANAGER", "secrets_manager",
                                     "secretsmanager"},
    [H2A_AWS_SVC_STS] = {"sts", "STS", "sts", NULL},
    [H2A_AWS_SVC_ORGANIZATIONS] = {"organizations", "ORGANIZATIONS", "organizations",
                                   "AWSOrganizationsV20161128"},
    [H2A_AWS_SVC_ACM_PCA] = {"acm-pca", "ACM_PCA", "acm_pca", "ACMPrivateCA"},
};

const char *h2a_aws_service_name(h2a_aws_service svc)
{
    return (unsigned)svc < H2A_AWS_SVC__COUNT ? s_svcs[svc].name : "?";
}

const char *h2a_aws_service_env_suffix(h2a_aws_service svc)
{
    return (unsigned)svc < H2A_AWS_SVC__COUNT ? s_svcs[svc].env_suffix : "?";
}

const char *h2a_aws_service_config_key(h2a_aws_service svc)
{
    return (unsigned)svc < H2A_AWS_SVC__COUNT ? s_svcs[svc].config_key : "?";
}

const char *h2a_aws_service_target_prefix(h2a_aws_service svc)
{
    return (unsigned)svc < H2A_AWS_SVC__COUNT ? s_svcs[svc].target : NULL;
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
    const char *part;
    const char *suffix;
    const char *host_region;

    memset(out, 0, sizeof(*out));
    if ((unsigned)svc >= H2A_AWS_SVC__COUNT) {
        return h2a_err_set(H2A_ERR_INTERNAL, "unknown AWS service %d", (int)svc);
    }
    if (!h2a_aws_region_valid(region)) {
        return h2a_err_set(H2A_ERR_USAGE, "%s: no valid AWS region (got '%s'; set --region, "
                           "AWS_REGION, the profile's region or aws.region)",
                           s_svcs[svc].name, region != NULL ? region : "");
    }
    part = h2a_aws_partition(region);
    suffix = strcmp(part, "aws-cn") == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    host_region = region;
    if (svc == H2A_AWS_SVC_ORGANIZATIONS) {
        /* A global service: one endpoint and signing region per partition. */
        host_region = strcmp(part, "aws-cn") == 0       ? "cn-northwest-1"
                      : strcmp(part, "aws-us-gov") == 0 ? "us-gov-west-1"
                                                        : "us-east-1";
    }
    snprintf(out->signing_region, sizeof(out->signing_region), "%s", host_region);
    if (override != NULL && override[0] != '\0') {
        return s_parse_override(override, out);
    }
    snprintf(out->scheme, sizeof(out->scheme), "https");
    snprintf(out->host_header, sizeof(out->host_header), "%s.%s.%s", s_svcs[svc].name,
             host_region, suffix);
    snprintf(out->path, sizeof(out->path), "/");
    snprintf(out->url, sizeof(out->url), "https://%s/", out->host_header);
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* hsm2acm configuration "aws" object                                  */
/* ------------------------------------------------------------------ */

static h2a_err s_cfg_str(json_object *o, const char *k, const char **out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.%s: expected a string", k);
    }
    *out = json_object_get_string(v);
    return H2A_OK;
}

static h2a_err s_cfg_long(json_object *o, const char *k, long lo, long hi, long *out)
{
    json_object *v;
    int64_t x;

    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.%s: expected an integer", k);
    }
    x = json_object_get_int64(v);
    if (x < lo || x > hi) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.%s: %lld is outside %ld..%ld", k, (long long)x,
                           lo, hi);
    }
    *out = (long)x;
    return H2A_OK;
}

h2a_err h2a_aws_config_from_json(json_object *aws, struct h2a_aws_config *out)
{
    json_object *eps;
    long ma = 0;

    memset(out, 0, sizeof(*out));
    if (aws == NULL) {
        return H2A_OK;
    }
    if (!json_object_is_type(aws, json_type_object)) {
        return h2a_err_set(H2A_ERR_INPUT, "aws: expected an object");
    }
    H2A_GUARD(s_cfg_str(aws, "region", &out->region));
    if (out->region != NULL && !h2a_aws_region_valid(out->region)) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.region '%.40s': expected a name like eu-west-1",
                           out->region);
    }
    H2A_GUARD(s_cfg_str(aws, "profile", &out->profile));
    H2A_GUARD(s_cfg_str(aws, "credentials_file", &out->credentials_file));
    H2A_GUARD(s_cfg_str(aws, "ca_bundle", &out->ca_bundle));
    H2A_GUARD(s_cfg_str(aws, "endpoint_url", &out->endpoint_url_all));
    H2A_GUARD(s_cfg_long(aws, "max_attempts", 1, 20, &ma));
    out->max_attempts = (int)ma;
    H2A_GUARD(s_cfg_long(aws, "connect_timeout_ms", 1, 600000, &out->connect_timeout_ms));
    H2A_GUARD(s_cfg_long(aws, "timeout_ms", 1, 3600000, &out->timeout_ms));
    {
        long ts = 0;
        H2A_GUARD(s_cfg_long(aws, "timeout_seconds", 1, 3600, &ts));
        if (ts > 0) {
            out->timeout_ms = ts * 1000L;
        }
    }
    if (json_object_object_get_ex(aws, "endpoints", &eps) &&
        !json_object_is_type(eps, json_type_null)) {
        if (!json_object_is_type(eps, json_type_object)) {
            return h2a_err_set(H2A_ERR_INPUT, "aws.endpoints: expected an object");
        }
        json_object_object_foreach(eps, k, v)
        {
            int i;
            for (i = 0; i < H2A_AWS_SVC__COUNT; i++) {
                /* Both the SDK config key and the signing name are accepted. */
                if (strcmp(k, s_svcs[i].config_key) == 0 || strcmp(k, s_svcs[i].name) == 0) {
                    break;
                }
            }
            if (i == H2A_AWS_SVC__COUNT) {
                return h2a_err_set(H2A_ERR_INPUT, "aws.endpoints.%s: unknown service (expected "
                                   "acm, secrets_manager, sts, organizations, acm_pca)", k);
            }
            if (!json_object_is_type(v, json_type_string)) {
                return h2a_err_set(H2A_ERR_INPUT, "aws.endpoints.%s: expected a URL string", k);
            }
            out->endpoint_url[i] = json_object_get_string(v);
        }
    }
    return H2A_OK;
}
