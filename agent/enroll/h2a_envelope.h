/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The staging secret's value: a JSON envelope around the WRAPPED key.
 *   {"format_version":1, "wrap_mechanism":"CKM_AES_KEY_WRAP_PAD",
 *    "wrap_key_label":"hsm2acm-wrap", "kcv":"1a2b3c", ["kcv_kind":"..."]
 *    "wrapped_key":"<base64>", "key_algorithm":"EC_prime256v1",
 *    "certificate":"-----BEGIN CERTIFICATE-----...", "chain":"...",
 *    "target":{"request_id":"web-1","index":0,"region":"eu-west-1",
 *              "account":null,"certificate_arn":null}}
 * The serialisation is deterministic (fixed member order, no timestamps),
 * so staging the same key for the same target again gives the same bytes,
 * which Secrets Manager's ClientRequestToken idempotency relies on.
 * Nothing in it is plaintext key material.
 */

#include <stddef.h>

#include "h2a_common.h"
#include "h2a_pkcs11.h"

#define H2A_ENVELOPE_VERSION 1
#define H2A_ENVELOPE_MAX (64u * 1024u) /* Secrets Manager's SecretString limit */

typedef struct {
    long long format_version;
    h2a_wrapmech mech;
    char *wrap_key_label;
    char *kcv;
    /* How kcv identifies the wrapping key: NULL = CKA_CHECK_VALUE (the
     * member is then absent, as in every envelope before it existed), else
     * h2a_wrapkey_idkind_name(), e.g. "sha256-wrap:CKM_AES_KEY_WRAP". */
    char *kcv_kind;
    h2a_buf wrapped;    /* the blob (not secret) */
    h2a_keytype key_type;
    char *certificate;  /* leaf PEM */
    char *chain;        /* PEM, may be "" */
    char *request_id;
    size_t target_index;
    char *region;
    char *account;         /* may be NULL */
    char *certificate_arn; /* may be NULL */
} h2a_envelope;

/* Serialise; appended to `out` + NUL. H2A_ERR_INPUT if over 64 KiB. */
h2a_err h2a_envelope_build(const h2a_envelope *e, h2a_buf *out) H2A_MUST_USE;
/*
 * Parse and validate a staged value (H2A_ERR_VERIFY naming the member: a
 * staged secret that is not what hsm2acm wrote is never used). `out` must
 * be zeroed; h2a_envelope_cleanup() it in every case.
 */
h2a_err h2a_envelope_parse(const char *text, size_t len, h2a_envelope *out) H2A_MUST_USE;
void h2a_envelope_cleanup(h2a_envelope *e);
