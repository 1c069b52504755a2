/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Typed wrappers over the generic calls: request building and strict reply
 * checking (a member of the wrong type is a protocol error, never a crash).
 * ImportCertificate and CreateSecret splice their secret member into a
 * secure buffer; GetSecretValue takes SecretString out of the secure reply
 * before json-c sees the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws_internal.h"

#define S_MAX_PAGES 10000

/* All seven ACM key types: without them ListCertificates hides EC and large RSA. */
static const char *const s_acm_key_types[] = {
    "RSA_1024",      "RSA_2048",     "RSA_3072",     "RSA_4096",
    "EC_prime256v1", "EC_secp384r1", "EC_secp521r1",
};

static bool s_set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static h2a_err s_add_str(json_object *o, const char *k, const char *v)
{
    json_object *s;

    if (v == NULL) {
        return H2A_OK;
    }
    s = json_object_new_string(v);
    if (s == NULL || json_object_object_add(o, k, s) != 0) {
        json_object_put(s);
        return h2a_err_set(H2A_ERR_NOMEM, "request member %s", k);
    }
    return H2A_OK;
}

static h2a_err s_add_b64(json_object *o, const char *k, const char *pem)
{
    h2a_buf b;
    h2a_err rv;

    if (pem == NULL) {
        return H2A_OK;
    }
    h2a_buf_init(&b, 0);
    rv = h2a_base64_encode((const uint8_t *)pem, strlen(pem), &b);
    if (rv == H2A_OK) {
        rv = s_add_str(o, k, (const char *)b.data);
    }
    h2a_buf_free(&b);
    return rv;
}

static h2a_err s_add_tags(json_object *o, const char *what, const struct h2a_aws_tag *tags,
                          size_t n)
{
    json_object *arr;

    if (n == 0) {
        return H2A_OK;
    }
    if (tags == NULL || n > 50) {
        return h2a_err_set(H2A_ERR_INPUT, "%s.tags: expected 1..50 tags, got %zu", what, n);
    }
    arr = json_object_new_array();
    if (arr == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "tags");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_new_object();
        if (!s_set(tags[i].key)) {
            json_object_put(t);
            json_object_put(arr);
            return h2a_err_set(H2A_ERR_INPUT, "%s.tags[%zu]: key must not be empty", what, i);
        }
        if (t == NULL || s_add_str(t, "Key", tags[i].key) != H2A_OK ||
            s_add_str(t, "Value", tags[i].value != NULL ? tags[i].value : "") != H2A_OK ||
            json_object_array_add(arr, t) != 0) {
            json_object_put(t);
            json_object_put(arr);
            return h2a_err_set(H2A_ERR_NOMEM, "tags");
        }
    }
    if (json_object_object_add(o, "Tags", arr) != 0) {
        json_object_put(arr);
        return h2a_err_set(H2A_ERR_NOMEM, "tags");
    }
    return H2A_OK;
}

/* A string member of the reply, or a protocol error. */
static h2a_err s_get_str(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                         json_object *o, const char *k, bool required, const char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
        if (required) {
            return h2a_aws_malformed(ctx, svc, op, "member %s missing", k);
        }
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return h2a_aws_malformed(ctx, svc, op, "member %s: expected a string", k);
    }
    *out = json_object_get_string(v);
    return H2A_OK;
}

static h2a_err s_dup_out(const char *v, char **out)
{
    *out = NULL;
    if (v == NULL) {
        return H2A_OK;
    }
    *out = strdup(v);
    return *out != NULL ? H2A_OK : h2a_err_set(H2A_ERR_NOMEM, "reply member");
}

/* Free an output string and clear the caller's pointer (certificates, ARNs). */
static void s_drop(char **p)
{
    free(*p);
    *p = NULL;
}

static h2a_err s_req_arn(const char *what, const char *arn)
{
    if (!s_set(arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: an ARN is required", what);
    }
    return H2A_OK;
}

/* JSON-escape raw bytes onto `out` (for secret members built in secure memory). */
static h2a_err s_json_escape(h2a_buf *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            H2A_GUARD(h2a_buf_append(out, e, 2));
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            H2A_GUARD(h2a_buf_append(out, e, 6));
        } else {
            H2A_GUARD(h2a_buf_append(out, &c, 1));
        }
    }
    return H2A_OK;
}

/*
 * Serialise `o` into secure `out` with one more member `"key":"<value>"`,
 * `value` written by the callback-free path: raw or base64 of `secret`.
 */
static h2a_err s_splice_secret(json_object *o, const char *key, const h2a_buf *secret,
                               bool base64, h2a_buf *out)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    size_t n;

    if (s == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "request JSON");
    }
    n = strlen(s);
    if (n < 2 || s[n - 1] != '}') {
        return h2a_err_set(H2A_ERR_INTERNAL, "request JSON is not an object");
    }
    H2A_GUARD(h2a_buf_append(out, s, n - 1));
    if (n > 2) {
        H2A_GUARD(h2a_buf_append(out, ",", 1));
    }
    H2A_GUARD(h2a_buf_printf(out, "\"%s\":\"", key));
    if (base64) {
        H2A_GUARD(h2a_base64_encode(secret->data, secret->len, out));
    } else {
        H2A_GUARD(s_json_escape(out, secret->data, secret->len));
    }
    H2A_GUARD(h2a_buf_append(out, "\"}", 2));
    return H2A_OK;
}

/* Array member `k` of the reply (absent → empty), appended to `acc`. */
static h2a_err s_take_array(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                            json_object *o, const char *k, json_object *acc)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return h2a_aws_malformed(ctx, svc, op, "member %s: expected an array", k);
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_object)) {
            return h2a_aws_malformed(ctx, svc, op, "%s[%zu]: expected an object", k, i);
        }
        if (json_object_array_add(acc, json_object_get(e)) != 0) {
            json_object_put(e);
            return h2a_err_set(H2A_ERR_NOMEM, "reply list");
        }
    }
    return H2A_OK;
}

/*
 * Call `op` page by page (NextToken) with `req` (modified: NextToken set),
 * appending the objects of list member `member` to a new array in *out.
 */
static h2a_err s_paginate(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                          const char *op, json_object *req, const char *member,
                          json_object **out)
{
    json_object *acc = json_object_new_array();
    char *prev = NULL;
    h2a_err rv = H2A_OK;
    int page;

    *out = NULL;
    if (acc == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "reply list");
    }
    for (page = 0;; page++) {
        json_object *resp = NULL;
        const char *next = NULL;
        bool more = false;

        if (page == S_MAX_PAGES) {
            rv = h2a_aws_malformed(ctx, svc, op, "more than %d pages", S_MAX_PAGES);
            goto done;
        }
        if ((rv = h2a_aws_json_call(ctx, svc, region, op, req, &resp)) != H2A_OK) {
            goto done;
        }
        rv = s_take_array(ctx, svc, op, resp, member, acc);
        if (rv == H2A_OK) {
            rv = s_get_str(ctx, svc, op, resp, "NextToken", false, &next);
        }
        if (rv == H2A_OK && s_set(next)) {
            if (prev != NULL && strcmp(next, prev) == 0) {
                rv = h2a_aws_malformed(ctx, svc, op, "NextToken repeats (page %d)", page + 1);
            } else {
                free(prev);
                prev = strdup(next);
                if (prev == NULL || s_add_str(req, "NextToken", next) != H2A_OK) {
                    rv = h2a_err_set(H2A_ERR_NOMEM, "NextToken");
                }
                more = true;
            }
        }
        json_object_put(resp);
        if (rv != H2A_OK) {
            goto done;
        }
        if (!more) {
            break;
        }
    }
done:
    free(prev);
    if (rv != H2A_OK) {
        json_object_put(acc);
        return rv;
    }
    *out = acc;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* ACM                                                                 */
/* ------------------------------------------------------------------ */

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
    if (in == NULL || !s_set(in->certificate_pem)) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: certificate PEM is required");
        goto done;
    }
    if (in->private_key_pem == NULL || in->private_key_pem->len == 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: private key PEM is required");
        goto done;
    }
    if (s_set(in->certificate_arn) && in->n_tags > 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "ImportCertificate: tags cannot be sent on a reimport "
                         "(%s); use AddTagsToCertificate", in->certificate_arn);
        goto done;
    }
    req = json_object_new_object();
    if (req == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "ImportCertificate request");
        goto done;
    }
    if ((rv = s_add_b64(req, "Certificate", in->certificate_pem)) != H2A_OK ||
        (rv = s_add_b64(req, "CertificateChain", s_set(in->chain_pem) ? in->chain_pem : NULL)) !=
            H2A_OK ||
        (rv = s_add_str(req, "CertificateArn",
                        s_set(in->certificate_arn) ? in->certificate_arn : NULL)) != H2A_OK ||
        (rv = s_add_tags(req, "ImportCertificate", in->tags, in->n_tags)) != H2A_OK ||
        (rv = s_splice_secret(req, "PrivateKey", in->private_key_pem, true, &body)) != H2A_OK) {
        goto done;
    }
    rv = h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_ACM, region, "ImportCertificate", body.data,
                               body.len, true, &reply);
    h2a_buf_free(&body);
    if (rv == H2A_OK) {
        rv = h2a_aws_parse_reply(ctx, H2A_AWS_SVC_ACM, "ImportCertificate", &reply, &resp);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM, "ImportCertificate", resp, "CertificateArn", true,
                       &arn);
    }
    if (rv == H2A_OK) {
        rv = s_dup_out(arn, out_arn);
    }
done:
    json_object_put(req);
    json_object_put(resp);
    h2a_buf_free(&body);
    h2a_buf_free(&reply);
    return rv;
}

static h2a_err s_arn_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                          const char *op, const char *arn_key, const char *arn,
                          json_object **resp)
{
    json_object *req = json_object_new_object();
    h2a_err rv;

    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s request", op);
    }
    rv = s_add_str(req, arn_key, arn);
    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, svc, region, op, req, resp);
    }
    json_object_put(req);
    return rv;
}

h2a_err h2a_acm_describe_certificate(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                                     json_object **out)
{
    json_object *resp = NULL;
    json_object *c;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(s_req_arn("DescribeCertificate", arn));
    rv = s_arn_call(ctx, H2A_AWS_SVC_ACM, region, "DescribeCertificate", "CertificateArn", arn,
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
    const char *cert = NULL;
    const char *chain = NULL;
    h2a_err rv;

    *out_cert_pem = NULL;
    if (out_chain_pem != NULL) {
        *out_chain_pem = NULL;
    }
    H2A_GUARD(s_req_arn("GetCertificate", arn));
    rv = s_arn_call(ctx, H2A_AWS_SVC_ACM, region, "GetCertificate", "CertificateArn", arn, &resp);
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM, "GetCertificate", resp, "Certificate", true, &cert);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM, "GetCertificate", resp, "CertificateChain", false,
                       &chain);
    }
    if (rv == H2A_OK) {
        rv = s_dup_out(cert, out_cert_pem);
    }
    if (rv == H2A_OK && out_chain_pem != NULL) {
        rv = s_dup_out(chain, out_chain_pem);
    }
    if (rv != H2A_OK) {
        s_drop(out_cert_pem);
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
    rv = s_paginate(ctx, H2A_AWS_SVC_ACM, region, "ListCertificates", req,
                    "CertificateSummaryList", out);
    json_object_put(req);
    return rv;
}

h2a_err h2a_acm_add_tags(H2A_AWS_CTX *ctx, const char *region, const char *arn,
                         const struct h2a_aws_tag *tags, size_t n_tags)
{
    json_object *req;
    h2a_err rv;

    H2A_GUARD(s_req_arn("AddTagsToCertificate", arn));
    H2A_ENSURE(n_tags > 0, H2A_ERR_INPUT, "AddTagsToCertificate: at least one tag is required");
    req = json_object_new_object();
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "AddTagsToCertificate request");
    }
    rv = s_add_str(req, "CertificateArn", arn);
    if (rv == H2A_OK) {
        rv = s_add_tags(req, "AddTagsToCertificate", tags, n_tags);
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
    H2A_GUARD(s_req_arn("ListTagsForCertificate", arn));
    rv = s_arn_call(ctx, H2A_AWS_SVC_ACM, region, "ListTagsForCertificate", "CertificateArn",
                    arn, &resp);
    if (rv != H2A_OK) {
        return rv;
    }
    acc = json_object_new_array();
    if (acc == NULL) {
        json_object_put(resp);
        return h2a_err_set(H2A_ERR_NOMEM, "tags");
    }
    rv = s_take_array(ctx, H2A_AWS_SVC_ACM, "ListTagsForCertificate", resp, "Tags", acc);
    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(acc); i++) {
        const char *k = NULL;
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM, "ListTagsForCertificate",
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
    H2A_GUARD(s_req_arn("DeleteCertificate", arn));
    return s_arn_call(ctx, H2A_AWS_SVC_ACM, region, "DeleteCertificate", "CertificateArn", arn,
                      NULL);
}

/* ------------------------------------------------------------------ */
/* Secrets Manager                                                     */
/* ------------------------------------------------------------------ */

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
    if (in == NULL || !s_set(in->name)) {
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
    if ((rv = s_add_str(req, "Name", in->name)) != H2A_OK ||
        (rv = s_add_str(req, "ClientRequestToken", in->client_request_token)) != H2A_OK ||
        (rv = s_add_str(req, "KmsKeyId", s_set(in->kms_key_id) ? in->kms_key_id : NULL)) !=
            H2A_OK ||
        (rv = s_add_str(req, "Description", s_set(in->description) ? in->description : NULL)) !=
            H2A_OK ||
        (rv = s_add_tags(req, "CreateSecret", in->tags, in->n_tags)) != H2A_OK ||
        (rv = s_splice_secret(req, "SecretString", in->secret_string, false, &body)) != H2A_OK) {
        goto done;
    }
    rv = h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "CreateSecret",
                               body.data, body.len, true, &reply);
    if (rv == H2A_OK) {
        rv = h2a_aws_parse_reply(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "CreateSecret", &reply, &resp);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_SECRETS_MANAGER, "CreateSecret", resp, "ARN", true, &arn);
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
    H2A_GUARD(s_req_arn("GetSecretValue", secret_id));
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    req = json_object_new_object();
    if (req == NULL || s_add_str(req, "SecretId", secret_id) != H2A_OK) {
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
    H2A_GUARD(s_req_arn("DescribeSecret", secret_id));
    return s_arn_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "DescribeSecret", "SecretId",
                      secret_id, out);
}

h2a_err h2a_sm_delete_secret(H2A_AWS_CTX *ctx, const char *region, const char *secret_id,
                             bool force)
{
    json_object *req;
    json_object *resp = NULL;
    h2a_err rv;

    H2A_GUARD(s_req_arn("DeleteSecret", secret_id));
    req = json_object_new_object();
    if (req == NULL || s_add_str(req, "SecretId", secret_id) != H2A_OK) {
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
        if (!s_set(filters[i].key) || filters[i].values == NULL) {
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
    rv = s_paginate(ctx, H2A_AWS_SVC_SECRETS_MANAGER, region, "ListSecrets", req, "SecretList",
                    out);
    json_object_put(req);
    return rv;
}

/* ------------------------------------------------------------------ */
/* STS                                                                 */
/* ------------------------------------------------------------------ */

h2a_err h2a_form_append(h2a_buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";

    H2A_GUARD(h2a_buf_printf(b, "&%s=", name));
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            H2A_GUARD(h2a_buf_append(b, p, 1));
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            H2A_GUARD(h2a_buf_append(b, e, 3));
        }
    }
    return H2A_OK;
}

h2a_err h2a_sts_parse_credentials(h2a_buf *body, struct h2a_aws_credentials **out)
{
    h2a_buf akid;
    h2a_buf sk;
    h2a_buf tok;
    h2a_buf exp;
    time_t expiration = 0;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&akid, 0);
    h2a_buf_init_secure(&sk, 0);
    h2a_buf_init_secure(&tok, 0);
    h2a_buf_init(&exp, 0);
    if (body->data == NULL || memmem(body->data, body->len, "<Credentials>", 13) == NULL) {
        rv = h2a_err_set(H2A_ERR_AWS, "STS reply has no <Credentials> element");
        goto done;
    }
    if ((rv = h2a_xml_take_text(body, "AccessKeyId", &akid, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "SecretAccessKey", &sk, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "SessionToken", &tok, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "Expiration", &exp, NULL)) != H2A_OK ||
        (rv = h2a_buf_terminate(&akid)) != H2A_OK || (rv = h2a_buf_terminate(&sk)) != H2A_OK ||
        (rv = h2a_buf_terminate(&tok)) != H2A_OK || (rv = h2a_buf_terminate(&exp)) != H2A_OK) {
        goto done;
    }
    if ((rv = h2a_aws_parse_iso8601((const char *)exp.data, &expiration)) != H2A_OK) {
        goto done;
    }
    rv = h2a_aws_credentials_make((const char *)akid.data, (const char *)sk.data,
                                  (const char *)tok.data, expiration, out);
done:
    h2a_buf_reset(body);
    h2a_buf_free(&akid);
    h2a_buf_free(&sk);
    h2a_buf_free(&tok);
    h2a_buf_free(&exp);
    return rv;
}

static const xmlNode *s_xchild(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

static bool s_xtext(const xmlNode *n, char *dst, size_t dsz)
{
    xmlChar *t;
    bool ok;

    if (n == NULL) {
        return false;
    }
    t = xmlNodeGetContent(n);
    ok = t != NULL && strlen((const char *)t) < dsz;
    snprintf(dst, dsz, "%s", ok ? (const char *)t : "");
    xmlFree(t);
    return ok;
}

h2a_err h2a_sts_get_caller_identity(H2A_AWS_CTX *ctx, const char *region,
                                    struct h2a_aws_identity *out)
{
    h2a_buf reply;
    xmlDoc *doc = NULL;
    const xmlNode *root;
    const xmlNode *res;
    h2a_err rv;

    memset(out, 0, sizeof(*out));
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    rv = h2a_aws_query_call(ctx, region, "GetCallerIdentity",
                            "Action=GetCallerIdentity&Version=2011-06-15", NULL, false, &reply);
    if (rv != H2A_OK) {
        goto done;
    }
    if (reply.len == 0 || reply.len > INT32_MAX) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "GetCallerIdentity", "empty reply");
        goto done;
    }
    doc = xmlReadMemory((const char *)reply.data, (int)reply.len, "reply.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    res = s_xchild(root, "GetCallerIdentityResult");
    if (root == NULL || strcmp((const char *)root->name, "GetCallerIdentityResponse") != 0 ||
        res == NULL) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "GetCallerIdentity",
                               "expected <GetCallerIdentityResponse><GetCallerIdentityResult>");
        goto done;
    }
    if (!s_xtext(s_xchild(res, "Account"), out->account, sizeof(out->account)) ||
        out->account[0] == '\0' || !s_xtext(s_xchild(res, "Arn"), out->arn, sizeof(out->arn)) ||
        out->arn[0] == '\0') {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "GetCallerIdentity",
                               "Account and Arn are required (and bounded)");
        goto done;
    }
    (void)s_xtext(s_xchild(res, "UserId"), out->user_id, sizeof(out->user_id));
done:
    xmlFreeDoc(doc);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sts_assume_role(H2A_AWS_CTX *ctx, const struct h2a_aws_assume_role *ar,
                            struct h2a_aws_credentials **out)
{
    h2a_buf form;
    h2a_buf reply;
    char dur[16];
    char session[64];
    h2a_err rv;

    *out = NULL;
    if (ar == NULL || !s_set(ar->role_arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "AssumeRole: role_arn is required");
    }
    snprintf(session, sizeof(session), "hsm2acm-%ld", (long)time(NULL));
    snprintf(dur, sizeof(dur), "%d", ar->duration_seconds > 0 ? ar->duration_seconds : 3600);
    h2a_buf_init(&form, 0);
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    rv = h2a_buf_append_str(&form, "Action=AssumeRole&Version=2011-06-15");
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "RoleArn", ar->role_arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "RoleSessionName",
                             s_set(ar->session_name) ? ar->session_name : session);
    }
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "DurationSeconds", dur);
    }
    if (rv == H2A_OK && s_set(ar->external_id)) {
        rv = h2a_form_append(&form, "ExternalId", ar->external_id);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&form);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_query_call(ctx, ar->region, "AssumeRole", (const char *)form.data, NULL,
                                false, &reply);
    }
    if (rv == H2A_OK && (rv = h2a_sts_parse_credentials(&reply, out)) != H2A_OK) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "AssumeRole", "%s", h2a_err_msg());
    }
    h2a_buf_free(&form);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sts_assume_role_with_web_identity(H2A_AWS_CTX *ctx, const char *region,
                                              const char *role_arn, const char *session_name,
                                              const char *web_identity_token,
                                              int duration_seconds,
                                              struct h2a_aws_credentials **out)
{
    h2a_buf form;
    h2a_buf reply;
    char dur[16];
    h2a_err rv;

    *out = NULL;
    if (!s_set(role_arn) || !s_set(session_name) || !s_set(web_identity_token)) {
        return h2a_err_set(H2A_ERR_INPUT, "AssumeRoleWithWebIdentity: role ARN, session name "
                           "and token are required");
    }
    snprintf(dur, sizeof(dur), "%d", duration_seconds > 0 ? duration_seconds : 3600);
    h2a_buf_init_secure(&form, 0);
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    rv = h2a_buf_append_str(&form, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "RoleArn", role_arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "RoleSessionName", session_name);
    }
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "WebIdentityToken", web_identity_token);
    }
    if (rv == H2A_OK) {
        rv = h2a_form_append(&form, "DurationSeconds", dur);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&form);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_query_call(ctx, region, "AssumeRoleWithWebIdentity",
                                (const char *)form.data, NULL, true, &reply);
    }
    if (rv == H2A_OK && (rv = h2a_sts_parse_credentials(&reply, out)) != H2A_OK) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "AssumeRoleWithWebIdentity", "%s",
                               h2a_err_msg());
    }
    h2a_buf_free(&form);
    h2a_buf_free(&reply);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Organizations, ACM PCA                                              */
/* ------------------------------------------------------------------ */

h2a_err h2a_org_list_accounts(H2A_AWS_CTX *ctx, json_object **out)
{
    json_object *req = json_object_new_object();
    h2a_err rv;

    *out = NULL;
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "ListAccounts request");
    }
    json_object_object_add(req, "MaxResults", json_object_new_int(20));
    rv = s_paginate(ctx, H2A_AWS_SVC_ORGANIZATIONS, NULL, "ListAccounts", req, "Accounts", out);
    json_object_put(req);
    return rv;
}

h2a_err h2a_pca_issue_certificate(H2A_AWS_CTX *ctx, const char *region,
                                  const struct h2a_pca_issue *in, char **out_cert_arn)
{
    json_object *req;
    json_object *val;
    json_object *resp = NULL;
    const char *arn = NULL;
    h2a_err rv;

    *out_cert_arn = NULL;
    if (in == NULL || !s_set(in->ca_arn) || !s_set(in->csr_pem) ||
        !s_set(in->signing_algorithm) || !s_set(in->validity_type) || in->validity_value < 1) {
        return h2a_err_set(H2A_ERR_INPUT, "IssueCertificate: CA ARN, CSR, signing algorithm and "
                           "a validity (type, value >= 1) are required");
    }
    if (s_set(in->idempotency_token) && strlen(in->idempotency_token) > 36) {
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
    if ((rv = s_add_str(req, "CertificateAuthorityArn", in->ca_arn)) == H2A_OK &&
        (rv = s_add_b64(req, "Csr", in->csr_pem)) == H2A_OK &&
        (rv = s_add_str(req, "SigningAlgorithm", in->signing_algorithm)) == H2A_OK &&
        (rv = s_add_str(req, "TemplateArn", s_set(in->template_arn) ? in->template_arn : NULL)) ==
            H2A_OK &&
        (rv = s_add_str(req, "IdempotencyToken",
                        s_set(in->idempotency_token) ? in->idempotency_token : NULL)) == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_ACM_PCA, region, "IssueCertificate", req, &resp);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM_PCA, "IssueCertificate", resp, "CertificateArn", true,
                       &arn);
    }
    if (rv == H2A_OK) {
        rv = s_dup_out(arn, out_cert_arn);
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
    const char *cert = NULL;
    const char *chain = NULL;
    h2a_err rv;

    *out_cert_pem = NULL;
    if (out_chain_pem != NULL) {
        *out_chain_pem = NULL;
    }
    H2A_GUARD(s_req_arn("GetCertificate (ACM PCA) CA", ca_arn));
    H2A_GUARD(s_req_arn("GetCertificate (ACM PCA) certificate", cert_arn));
    req = json_object_new_object();
    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "GetCertificate request");
    }
    rv = s_add_str(req, "CertificateAuthorityArn", ca_arn);
    if (rv == H2A_OK) {
        rv = s_add_str(req, "CertificateArn", cert_arn);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, H2A_AWS_SVC_ACM_PCA, region, "GetCertificate", req, &resp);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM_PCA, "GetCertificate", resp, "Certificate", true,
                       &cert);
    }
    if (rv == H2A_OK) {
        rv = s_get_str(ctx, H2A_AWS_SVC_ACM_PCA, "GetCertificate", resp, "CertificateChain",
                       false, &chain);
    }
    if (rv == H2A_OK) {
        rv = s_dup_out(cert, out_cert_pem);
    }
    if (rv == H2A_OK && out_chain_pem != NULL) {
        rv = s_dup_out(chain, out_chain_pem);
    }
    if (rv != H2A_OK) {
        s_drop(out_cert_pem);
    }
    json_object_put(req);
    json_object_put(resp);
    return rv;
}
