/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The ACME issuer's pieces below the flow itself (agent/issuers/acme.c):
 * JOSE objects signed with the account key in the token (acme_jws.c). The
 * account key never leaves the token; only its public half is serialised.
 */

#include <openssl/evp.h>

#include "h2a_common.h"
#include "h2a_pkcs11.h"

/*
 * The public JWK of `pub` in RFC 7638 canonical form (required members
 * only, lexicographic order, no whitespace, EC coordinates at the field
 * size): the same text serves as the `jwk` header and as thumbprint input.
 * H2A_ERR_INPUT for key types JOSE has no name for here.
 */
h2a_err h2a_acme_jwk(EVP_PKEY *pub, h2a_buf *out) H2A_MUST_USE;

/* base64url(SHA-256(jwk)): RFC 7638 thumbprint of a canonical JWK text. */
h2a_err h2a_acme_thumbprint(const char *jwk, h2a_buf *out) H2A_MUST_USE;

/* JWS `alg` for a token key: RS256 (RSA), ES256 (P-256), ES384 (P-384); NULL otherwise. */
const char *h2a_acme_alg(const H2A_P11_KEY *k);

/*
 * A flattened JWS JSON object over `payload` (NUL-terminated; "" for
 * POST-as-GET) with protected header `protected_json`, signed in the token:
 * ES256/ES384 as the raw r||s CKM_ECDSA returns, RS256 as RSASSA-PKCS1-v1_5
 * with SHA-256. Appended to `out`.
 */
h2a_err h2a_acme_jws_sign(H2A_P11_KEY *k, const char *protected_json,
                          const char *payload, h2a_buf *out) H2A_MUST_USE;

/*
 * The externalAccountBinding value of newAccount (RFC 8555 7.3.4): an
 * HS256 JWS by the EAB MAC key over the account's JWK, naming `kid` and the
 * newAccount `url`. Appended to `out`.
 */
h2a_err h2a_acme_eab(const char *kid, const h2a_buf *mac_key, const char *url,
                     const char *jwk, h2a_buf *out) H2A_MUST_USE;

/*
 * Read the EAB MAC key file `path` (`field` names it in messages) into the
 * secure buffer `key`: refused (H2A_ERR_INPUT) when group or others may
 * read it, or when its text (padding and one trailing newline tolerated)
 * is not base64url.
 */
h2a_err h2a_acme_eab_key_load(const char *field, const char *path,
                              h2a_buf *key) H2A_MUST_USE;
