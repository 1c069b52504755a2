/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* One HTTP attempt (http.c), for the retry loop (transport.c). */
#include "aws_ctx.h"

/* libcurl's upload buffer size; curl_mem.c serves blocks of it from the secure heap. */
#define H2A_CURL_UPLOAD_BUFSIZE (32 * 1024 - 67) /* + the allocator's header: one 32 KiB block */

struct h2a_http_sink {
    h2a_buf *body;
    bool too_big;          /* over the reply limit */
    bool no_memory;        /* the reply buffer could not grow */
    size_t limit;          /* the limit that was hit */
    unsigned long long received;       /* bytes seen, kept or not */
    unsigned long long content_length; /* 0: not announced */
    char request_id[128];
    char errortype[128];
    time_t server_date;
};

struct h2a_http_attempt_in {
    h2a_aws_service svc;
    const struct h2a_endpoint *ep;
    const char *url;      /* the whole URL: endpoint, path, query */
    const char *method;
    const char *path;     /* as signed (the endpoint's path + the request's) */
    const char *query;
    const char *content_type;
    const char *target;   /* full X-Amz-Target or NULL */
    const struct h2a_http_header *extra;
    size_t n_extra;
    const uint8_t *body;
    size_t body_len;
    bool secret_body;
    const struct h2a_aws_credentials *creds; /* NULL: unsigned */
};

struct h2a_http_attempt {
    CURLcode cc;
    long status;
    struct h2a_http_sink sink; /* its body pointer cleared */
};

h2a_err h2a_http_attempt(H2A_AWS_CTX *ctx, const struct h2a_http_attempt_in *r,
                         h2a_buf *reply, struct h2a_http_attempt *at) H2A_MUST_USE;
