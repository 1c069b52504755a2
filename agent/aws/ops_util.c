/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * What the operation files share: request members, strict reply members
 * (a member of the wrong type is a protocol error, never a crash), secret
 * members spliced into secure buffers, and pagination.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

h2a_err h2a_aws_add_str(json_object *o, const char *k, const char *v)
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

h2a_err h2a_aws_add_b64(json_object *o, const char *k, const char *pem)
{
    h2a_buf b;
    h2a_err rv;

    if (pem == NULL) {
        return H2A_OK;
    }
    h2a_buf_init(&b, 0);
    rv = h2a_base64_encode((const uint8_t *)pem, strlen(pem), &b);
    if (rv == H2A_OK) {
        rv = h2a_aws_add_str(o, k, (const char *)b.data);
    }
    h2a_buf_free(&b);
    return rv;
}

h2a_err h2a_aws_add_tags(json_object *o, const char *what, const struct h2a_aws_tag *tags,
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
        if (!h2a_aws_set(tags[i].key)) {
            json_object_put(t);
            json_object_put(arr);
            return h2a_err_set(H2A_ERR_INPUT, "%s.tags[%zu]: key must not be empty", what, i);
        }
        if (t == NULL || h2a_aws_add_str(t, "Key", tags[i].key) != H2A_OK ||
            h2a_aws_add_str(t, "Value", tags[i].value != NULL ? tags[i].value : "") != H2A_OK ||
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
h2a_err h2a_aws_get_str(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
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

h2a_err h2a_aws_dup_out(const char *v, char **out)
{
    *out = NULL;
    if (v == NULL) {
        return H2A_OK;
    }
    *out = strdup(v);
    return *out != NULL ? H2A_OK : h2a_err_set(H2A_ERR_NOMEM, "reply member");
}

/* Free an output string and clear the caller's pointer (certificates, ARNs). */
void h2a_aws_drop(char **p)
{
    free(*p);
    *p = NULL;
}

h2a_err h2a_aws_need_arn(const char *what, const char *arn)
{
    if (!h2a_aws_set(arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: an ARN is required", what);
    }
    return H2A_OK;
}

/* JSON-escape raw bytes onto `out` (for secret members built in secure memory). */
h2a_err h2a_aws_json_escape(h2a_buf *out, const uint8_t *p, size_t n)
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
h2a_err h2a_aws_splice_secret(json_object *o, const char *key, const h2a_buf *secret,
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
        H2A_GUARD(h2a_aws_json_escape(out, secret->data, secret->len));
    }
    H2A_GUARD(h2a_buf_append(out, "\"}", 2));
    return H2A_OK;
}

/* Array member `k` of the reply (absent → empty), appended to `acc`. */
h2a_err h2a_aws_take_array(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
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
h2a_err h2a_aws_paginate(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
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

        if (page == H2A_AWS_MAX_PAGES) {
            rv = h2a_aws_malformed(ctx, svc, op, "more than %d pages", H2A_AWS_MAX_PAGES);
            goto done;
        }
        if ((rv = h2a_aws_json_call(ctx, svc, region, op, req, &resp)) != H2A_OK) {
            goto done;
        }
        rv = h2a_aws_take_array(ctx, svc, op, resp, member, acc);
        if (rv == H2A_OK) {
            rv = h2a_aws_get_str(ctx, svc, op, resp, "NextToken", false, &next);
        }
        if (rv == H2A_OK && h2a_aws_set(next)) {
            if (prev != NULL && strcmp(next, prev) == 0) {
                rv = h2a_aws_malformed(ctx, svc, op, "NextToken repeats (page %d)", page + 1);
            } else {
                free(prev);
                prev = strdup(next);
                if (prev == NULL || h2a_aws_add_str(req, "NextToken", next) != H2A_OK) {
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

h2a_err h2a_aws_arn_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                          const char *op, const char *arn_key, const char *arn,
                          json_object **resp)
{
    json_object *req = json_object_new_object();
    h2a_err rv;

    if (req == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s request", op);
    }
    rv = h2a_aws_add_str(req, arn_key, arn);
    if (rv == H2A_OK) {
        rv = h2a_aws_json_call(ctx, svc, region, op, req, resp);
    }
    json_object_put(req);
    return rv;
}

h2a_err h2a_form_append(h2a_buf *b, const char *name, const char *value)
{
    /* The unreserved set is the same; '/' and ' ' are escaped like the rest. */
    H2A_GUARD(h2a_buf_printf(b, "&%s=", name));
    return h2a_uri_append(b, value, false);
}

h2a_err h2a_uri_append(h2a_buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            H2A_GUARD(h2a_buf_append(b, p, 1));
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            H2A_GUARD(h2a_buf_append(b, e, 3));
        }
    }
    return H2A_OK;
}

h2a_err h2a_aws_take_cert_chain(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                                json_object *resp, char **out_cert_pem, char **out_chain_pem)
{
    const char *cert = NULL, *chain = NULL;
    h2a_err rv = h2a_aws_get_str(ctx, svc, op, resp, "Certificate", true, &cert);

    if (rv == H2A_OK) {
        rv = h2a_aws_get_str(ctx, svc, op, resp, "CertificateChain", false, &chain);
    }
    if (rv == H2A_OK) {
        rv = h2a_aws_dup_out(cert, out_cert_pem);
    }
    if (rv == H2A_OK && out_chain_pem != NULL) {
        rv = h2a_aws_dup_out(chain, out_chain_pem);
    }
    if (rv != H2A_OK) {
        h2a_aws_drop(out_cert_pem);
    }
    return rv;
}
