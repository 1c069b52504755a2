/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The ACME issuer's pieces below the flow itself (agent/issuers/acme.c):
 * JOSE objects signed with the account key in the token (acme_jws.c). The
 * account key never leaves the token; only its public half is serialised.
 */

#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "h2a_common.h"
#include "h2a_pkcs11.h"
#include "config/h2a_config.h"

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
 * How RS256 is signed with the RSA key `k`: H2A_MECH_SHA256_RSA_PKCS when
 * the token lists it for signing, else H2A_MECH_RSA_PKCS over a DigestInfo
 * made here (the same signature).
 */
h2a_mech h2a_acme_rs256_mech(H2A_P11_KEY *k);

/*
 * A flattened JWS JSON object over `payload` (NUL-terminated; "" for
 * POST-as-GET) with protected header `protected_json`, signed in the token:
 * ES256/ES384 as the raw r||s CKM_ECDSA returns, RS256 with the mechanism
 * h2a_acme_rs256_mech() picks. Appended to `out`.
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

/* ---- acme_client.c: the directory, the nonce pool, signed POSTs ---- */

#include "issuers/h2a_issuer.h"

#define H2A_ACME_NONCES 8
#define H2A_ACME_BADNONCE_TRIES 25

typedef struct {
    const h2a_issue_ctx *ctx;
    const h2a_acme_conf *conf;
    void *curl;
    char *new_nonce, *new_account, *new_order, *renewal_info;
    bool eab_required;
    char *nonces[H2A_ACME_NONCES]; /* the pool: every reply's Replay-Nonce */
    size_t n_nonces;
    H2A_P11_KEY *key;  /* the account key, in the token */
    h2a_buf jwk;       /* its public JWK, canonical */
    h2a_buf thumb;     /* RFC 7638 thumbprint */
    char *kid;         /* account URL */
    long long deadline_ms;
    unsigned bad_nonces; /* retried, for the tests */
} h2a_acme;

typedef struct {
    long status;
    h2a_buf body;
    char location[2048];
    char content_type[128];
    char nonce[256];
    long long retry_after_ms; /* -1: none given */
    char alternates[4][512];  /* Link: <...>;rel="alternate" (alternate chains) */
    size_t n_alternates;
} h2a_acme_reply;

void h2a_acme_reply_clear(h2a_acme_reply *r);

/* Read the directory (TLS verified; ca_bundle replaces the system store). */
h2a_err h2a_acme_open(const h2a_issue_ctx *ctx, h2a_acme *a) H2A_MUST_USE;
void h2a_acme_close(h2a_acme *a);

/* GET without JWS (directory, renewalInfo). */
h2a_err h2a_acme_get(h2a_acme *a, const char *url, h2a_acme_reply *r) H2A_MUST_USE;

/*
 * A JWS POST of `payload` ("" = POST-as-GET) to `url`: `jwk` in the
 * header when a->kid is NULL, else `kid`. badNonce is retried with the
 * error's nonce (bounded); 429/503 wait for Retry-After within the
 * deadline. Any other error status is H2A_ERR_ISSUER quoting the problem
 * document's type and detail.
 */
h2a_err h2a_acme_post(h2a_acme *a, const char *url, const char *payload,
                      h2a_acme_reply *r) H2A_MUST_USE;

#ifdef H2A_FUZZ_HOOKS
/*
 * Fuzz builds only (-DH2A_FUZZ=ON): every ACME HTTP exchange is answered
 * in-process by `fn` instead of libcurl: the status, the raw header lines
 * ("Name: value\n" each, fed to the same header parser) and the body (not
 * for HEAD). NULL restores real HTTP. Release and test builds lack it.
 */
typedef void (*h2a_acme_fuzz_reply_fn)(const char *method, long *status, const char **headers,
                                       size_t *headers_len, const uint8_t **body,
                                       size_t *body_len);
void h2a_acme_fuzz_set_reply(h2a_acme_fuzz_reply_fn fn);
/*
 * With no token session (fuzz_acme) the account key is this public JWK and
 * POSTs go unsigned, so that the replies to signed requests (account,
 * order, authorization, challenge, finalize, certificate) can be fuzzed.
 */
#define H2A_ACME_FUZZ_JWK "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}"
#endif

/* CLOCK_MONOTONIC in milliseconds: what deadlines are measured in. */
long long h2a_acme_now_ms(void);
/*
 * Wait `ms` (Retry-After, polling), never past the issuer's deadline. Fuzz
 * builds with a reply function set do not wait: the replies are in memory.
 */
void h2a_acme_pause(const h2a_acme *a, long long ms);

/* H2A_ERR_ISSUER "issuers.<name>: <what>: <type>: <detail>" from a problem reply. */
h2a_err h2a_acme_problem(const h2a_acme *a, const char *what, const h2a_acme_reply *r);

/* A string member of a JSON reply (NULL when absent); owned by `obj`. */
const char *h2a_acme_jstr(json_object *obj, const char *key);
/*
 * An array member (NULL when absent or of another type: json-c asserts on
 * array calls made on anything else, and the server chooses the types).
 */
json_object *h2a_acme_jarr(json_object *obj, const char *key);

/* ---- acme_http01.c: http-01 solvers ---- */

/*
 * The built-in responder: serves GET /.well-known/acme-challenge/<token>
 * with its key authorization for the tokens added to it, 404 for anything
 * else; listens only between start and stop.
 */
typedef struct h2a_acme_responder h2a_acme_responder;
h2a_err h2a_acme_responder_start(const char *host, int port,
                                 h2a_acme_responder **out) H2A_MUST_USE;
h2a_err h2a_acme_responder_add(h2a_acme_responder *s, const char *token,
                               const char *key_auth) H2A_MUST_USE;
void h2a_acme_responder_stop(h2a_acme_responder *s);

/* A challenge token as RFC 8555 8.1 has it: base64url, non-empty, bounded. */
bool h2a_acme_token_ok(const char *token);

/* <webroot>/.well-known/acme-challenge/<token> holding the key authorization. */
h2a_err h2a_acme_webroot_put(const char *webroot, const char *token,
                             const char *key_auth) H2A_MUST_USE;
void h2a_acme_webroot_remove(const char *webroot, const char *token);

/* ---- acme.c / acme_order.c ---- */

/* <state_dir>/acme/<what>, the directory made 0700. */
h2a_err h2a_acme_state_path(const h2a_acme *a, const char *what, char *out,
                            size_t n) H2A_MUST_USE;
/*
 * <state_dir>/acme/order-<sha256(order)>.<ext>: "csr" (waits for finalize
 * when there is no generation), "pending" (challenge records put up and not
 * yet removed).
 */
h2a_err h2a_acme_order_path(const h2a_acme *a, const char *order, const char *ext,
                            char *out, size_t n) H2A_MUST_USE;
/*
 * Where the CSR waits for finalize: <state_dir>/acme/csr-<generation>.der
 * (the token key's id: a replacement order of the same generation finds
 * it), or the order's "csr" path when the caller names no generation.
 */
h2a_err h2a_acme_csr_path(const h2a_acme *a, const char *order, char *out,
                          size_t n) H2A_MUST_USE;
/*
 * A lock across processes and threads on `key` (len bytes): an OFD write
 * lock on one byte of <state_dir>/acme/locks at an offset from the key's
 * SHA-256 (one file for every key, as the request lock; released by the
 * kernel when the process dies). Waits for the holder, which lets go
 * within its own timeout. close(*fd) unlocks.
 */
h2a_err h2a_acme_lock(h2a_acme *a, const char *key, size_t len, int *fd) H2A_MUST_USE;
/* The account key (made on first use) and the account URL (kid). */
h2a_err h2a_acme_account(h2a_acme *a) H2A_MUST_USE;
/*
 * newOrder for the CSR's DNS names, with `replaces` when ctx->predecessor_pem
 * names the certificate a renewal replaces (or, for a replacement order,
 * when the generation's first order sent it); the CSR is kept for finalize.
 * *url: the order URL (malloc'd).
 */
h2a_err h2a_acme_order_new(h2a_acme *a, X509_REQ *csr, char **url) H2A_MUST_USE;
/* The order's certificate is downloaded: remove what waited for it (CSR, kept certID). */
void h2a_acme_order_done(const h2a_acme *a, const char *order);
/* The newOrder payload alone (unit tests): identifiers, and `replaces` unless NULL. */
h2a_err h2a_acme_order_body(const h2a_acme *a, X509_REQ *csr, const char *replaces,
                            h2a_buf *out) H2A_MUST_USE;
/* ARI certID (RFC 9773 4.1): base64url(AKI keyIdentifier) "." base64url(serial octets). */
h2a_err h2a_acme_cert_id(X509 *leaf, h2a_buf *out) H2A_MUST_USE;
/*
 * Whether the order's `expires` (RFC 3339: "Z" or an offset, fractions
 * allowed) is at or before `now`; false when it has none or it does not
 * parse (then the server's status decides).
 */
bool h2a_acme_order_expired(json_object *order, time_t now);
/* The issuer's poll: solve, finalize, download. */
h2a_err h2a_acme_poll(const h2a_issue_ctx *ctx, const char *handle,
                      h2a_issue_result *res) H2A_MUST_USE;
/*
 * ARI (RFC 9773): fetch renewalInfo for `leaf` when the directory has it and
 * keep the answer in <state_dir>/acme/ari-<certID>.json. Failures are
 * logged, not fatal: the certificate is good without a window.
 */
void h2a_acme_ari_store(h2a_acme *a, X509 *leaf);

/* ---- acme_dns01.c: dns-01 solvers ---- */

/* The TXT value of a key authorization: base64url(SHA-256(key_auth)). */
h2a_err h2a_acme_dns_value(const char *key_auth, h2a_buf *out) H2A_MUST_USE;
/* Publish / withdraw our TXT value at `name` (with its trailing dot). */
h2a_err h2a_acme_dns_add(h2a_acme *a, const char *name, const char *value) H2A_MUST_USE;
void h2a_acme_dns_remove(h2a_acme *a, const char *name, const char *value);
/*
 * Route 53 (acme_route53.c): merge our quoted `value` into the TXT set at
 * `name` (add) or take only ours out of it (remove), then wait for INSYNC.
 */
h2a_err h2a_acme_r53_txt(h2a_acme *a, const char *name, const char *value,
                         bool add) H2A_MUST_USE;
