/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The enrollment request (a JSON file). Parsing is strict: unknown keys are
 * refused, every error names its JSON path ("targets[1].region"), exit 2.
 *
 * The request id is the caller's unit of idempotency. It becomes part of
 * staging secret names, ACM tags, token key labels and ClientRequestTokens,
 * so its alphabet is the intersection of theirs: 1..64 of A-Z a-z 0-9 . _ -
 * starting with a letter or digit.
 */

#include <stdbool.h>
#include <stddef.h>

#include "h2a_common.h"
#include "h2a_policy.h"

#define H2A_REQUEST_ID_MAX 64
#define H2A_REQUEST_MAX_TARGETS 32
#define H2A_REQUEST_MAX_TAGS 40 /* ACM's 50, less hsm2acm's own */

typedef enum {
    H2A_SERVICE_NONE = 0,
    H2A_SERVICE_CLOUDFRONT,
    H2A_SERVICE_ELB,
} h2a_service;

typedef struct {
    char *key;
    char *value;
} h2a_tag;

typedef struct {
    char *region;
    char *account;          /* NULL: the caller's own account */
    char *certificate_arn;  /* NULL: new import */
    h2a_tag *tags;
    size_t n_tags;
    h2a_service service;
} h2a_target;

typedef struct h2a_request {
    char *id;
    char *subject;
    char **dns;
    size_t n_dns;
    char **ip;
    size_t n_ip;
    bool inherit;      /* key "inherit": take the type of the reimport ARN */
    h2a_keytype key;   /* H2A_KT_NONE while inherit is unresolved */
    int md_nid;        /* 0: the key type's default */
    char *digest;      /* as given, or NULL */
    unsigned key_usage;     /* H2A_KU_* bits requested in the CSR; 0: CA decides */
    unsigned ext_key_usage; /* H2A_EKU_* bits */
    char *issuer;
    char *requester;
    h2a_target *targets;
    size_t n_targets;
    /*
     * Every name the certificate will carry: dns, ip and the subject CN,
     * added when it is not among them (docs/policy.md, "Names"). The CSR
     * asks for these and the policy checks these; the canonical form keeps
     * dns and ip as written.
     */
    h2a_cert_names names;
    /*
     * Why this request runs: NULL for an enrollment; "renew", "adopt" or
     * "rollback" when agent/renew/ derived it. Not part of the canonical
     * form: it is journaled with the request and names its generations.
     */
    const char *reason;
} h2a_request;

/* Parse and validate (syntax only: policy comes later). */
h2a_err h2a_request_parse(const char *text, size_t len,
                          h2a_request **out) H2A_MUST_USE;
h2a_err h2a_request_load(const char *path, h2a_request **out) H2A_MUST_USE;
void h2a_request_free(h2a_request *r);

/* The id alphabet check, shared by `resume ID`. */
h2a_err h2a_request_id_check(const char *field, const char *id) H2A_MUST_USE;

/*
 * How much of `id` names the request a line of generations grew from: a
 * renewal's or rollback's id (reason "renew" or "rollback", id ending in
 * ".g<N>" or ".r<N>") without that ending; any other id whole (an
 * enrollment may be called "x.g2").
 */
size_t h2a_request_root_len(const char *id, const char *reason);

/*
 * Canonical JSON of the request (fixed member order, defaults made
 * explicit, key as given: "inherit" stays "inherit"), appended to `out`
 * and NUL terminated. The journal stores it (resume needs no file) and its
 * SHA-256 (a reused id with a different body is refused).
 */
h2a_err h2a_request_canonical(const h2a_request *r, h2a_buf *out) H2A_MUST_USE;
/* Lower-case hex SHA-256 of the canonical form. */
h2a_err h2a_request_hash(const h2a_request *r, char out[65]) H2A_MUST_USE;

const char *h2a_service_name(h2a_service s);

/*
 * The Secrets Manager ClientRequestToken for staging target `idx`:
 * "h2a1-" + 59 hex chars of SHA-256("hsm2acm staging v1" NUL id NUL idx NUL
 * region NUL account), 64 characters in all (AWS allows 32..64). The same
 * request and target always give the same token, so a repeated CreateSecret
 * (retry, resume after a crash) is idempotent.
 */
#define H2A_CRT_LEN 64
h2a_err h2a_request_client_token(const h2a_request *r, size_t idx,
                                 char out[H2A_CRT_LEN + 1]) H2A_MUST_USE;
/* "<prefix><id>/t<idx>": never ends in '-' + 6 characters. */
h2a_err h2a_request_secret_name(const h2a_request *r, const char *prefix,
                                size_t idx, h2a_buf *out) H2A_MUST_USE;
