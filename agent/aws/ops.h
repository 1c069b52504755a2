/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Helpers of the operation files (ops_util.c, xml_util.c). */
#include <json-c/json.h>
#include <libxml/tree.h>

#include "aws_internal.h"

#define H2A_AWS_MAX_PAGES 10000

static inline bool h2a_aws_set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* Request members: nothing added for a NULL value. */
h2a_err h2a_aws_add_str(json_object *o, const char *k, const char *v) H2A_MUST_USE;
h2a_err h2a_aws_add_b64(json_object *o, const char *k, const char *pem) H2A_MUST_USE;
h2a_err h2a_aws_add_tags(json_object *o, const char *what, const struct h2a_aws_tag *tags,
                         size_t n) H2A_MUST_USE;
/* A string member of the reply, or a protocol error. */
h2a_err h2a_aws_get_str(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op, json_object *o,
                        const char *k, bool required, const char **out) H2A_MUST_USE;
h2a_err h2a_aws_dup_out(const char *v, char **out) H2A_MUST_USE;
/* Free an output string and clear the caller's pointer (certificates, ARNs). */
void h2a_aws_drop(char **p);
h2a_err h2a_aws_need_arn(const char *what, const char *arn) H2A_MUST_USE;
/* JSON-escape raw bytes onto `out` (for secret members built in secure memory). */
h2a_err h2a_aws_json_escape(h2a_buf *out, const uint8_t *p, size_t n) H2A_MUST_USE;
/* Serialise `o` into secure `out` plus `"key":"<secret or its base64>"`. */
h2a_err h2a_aws_splice_secret(json_object *o, const char *key, const h2a_buf *secret,
                              bool base64, h2a_buf *out) H2A_MUST_USE;
/* Array member `k` of the reply (absent: empty), its objects appended to `acc`. */
h2a_err h2a_aws_take_array(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                           json_object *o, const char *k, json_object *acc) H2A_MUST_USE;
/* Every page (NextToken) of `op`; the objects of list `member` into a new *out. */
h2a_err h2a_aws_paginate(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                         const char *op, json_object *req, const char *member,
                         json_object **out) H2A_MUST_USE;
/* `op` with the one member {arn_key: arn}; *resp may be NULL. */
h2a_err h2a_aws_arn_call(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *region,
                         const char *op, const char *arn_key, const char *arn,
                         json_object **resp) H2A_MUST_USE;

/* Certificate (required) and CertificateChain (optional) of a reply, as new strings. */
h2a_err h2a_aws_take_cert_chain(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                                json_object *resp, char **out_cert_pem,
                                char **out_chain_pem) H2A_MUST_USE;

/* XML replies (query, rest-xml): parsed with the network and entities off. */
h2a_err h2a_aws_xml_parse(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                          const h2a_buf *reply, const char *root_name,
                          xmlDoc **out) H2A_MUST_USE;
/* First child element named `name` (namespace ignored), or NULL. */
const xmlNode *h2a_xml_child(const xmlNode *n, const char *name);
/* Its text into dst; false if absent or longer than dsz-1. */
bool h2a_xml_text(const xmlNode *n, char *dst, size_t dsz);
/* Its text as a new string (NULL if absent or not allocated). */
char *h2a_xml_strdup(const xmlNode *n);
