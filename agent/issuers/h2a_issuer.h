/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Issuers turn a CSR into a certificate and its chain, in two moves:
 * submit(CSR) either completes at once (local, command) or returns a handle
 * (a PCA certificate ARN, an ACME order URL) that the caller journals
 * before anything waits; poll(handle) then answers pending (with a
 * retry-after), the certificate and chain, or an error. A resumed request
 * polls its journaled handle and never submits again.
 *
 * Each type is a table row (h2a_issuer_ops); h2a_issuer_ops_for() picks it
 * from the configuration. Every failure is H2A_ERR_ISSUER (exit 6) with a
 * message naming the issuer ("issuers.ops-ca: ...").
 */

#include <openssl/x509.h>

#include "config/h2a_config.h"
#include "h2a_pkcs11.h"

/* What an issuer keeps between requests of one worker (local: loaded CA keys). */
typedef struct h2a_issuer_state h2a_issuer_state;
h2a_err h2a_issuer_state_new(h2a_issuer_state **out) H2A_MUST_USE;
void h2a_issuer_state_free(h2a_issuer_state *st);
/* The acme issuer's part of it (agent/issuers/acme_client.c), freed with it. */
struct h2a_acme_keep;
struct h2a_acme_keep **h2a_issuer_state_acme(h2a_issuer_state *st);
void h2a_acme_keep_free(struct h2a_acme_keep *k);

struct h2a_issuer_ops;

typedef struct {
    const h2a_issuer_conf *conf;
    const char *state_dir;   /* local CA certificates live here */
    H2A_SESSION *session;    /* token session (local issuer) */
    const char *request_id;  /* exported to command issuers */
    const char *requester;
    h2a_issuer_state *state; /* the worker's, or NULL (nothing kept) */
    H2A_AWS_CTX *aws;        /* the worker's AWS client (acm-pca; acme dns-01 via Route 53) */
    /* What makes a second submit of the same request a new one: the token key's id. */
    const char *generation;
    int poll_attempt;        /* polls of this handle so far in this process (back-off) */
    /*
     * A renewal: the PEM certificate (leaf first) it replaces, when that came
     * from the same issuer; NULL otherwise. ACME sends its ARI certID as
     * `replaces` (RFC 9773).
     */
    const char *predecessor_pem;
    /* NULL: by conf->type. Set by tests to drive the engine with a fake issuer. */
    const struct h2a_issuer_ops *ops;
} h2a_issue_ctx;

/*
 * The outcome of submit or poll. Done: *leaf gets the certificate, *chain its
 * chain (intermediates then root, possibly empty). Pending: `handle`
 * (malloc'd) and `retry_after_ms`. Submit always gives a handle; poll gives
 * one only when the polled handle is dead and the issuer made its
 * replacement (an ACME order that became invalid): the caller journals it
 * in place of the old one and polls it from then on. Nothing is verified
 * here: the caller checks key match, chain and validity before anything is
 * delivered.
 */
typedef struct {
    bool done;
    X509 *leaf;
    STACK_OF(X509) *chain;
    char *handle;
    long long retry_after_ms;
    bool timed_out; /* h2a_issuer_wait: still pending at the issuer's timeout */
} h2a_issue_result;

/*
 * What an issuer's checks before any key exists found (h2a_issuer_precheck):
 * whether its certificate's KeyUsage/ExtendedKeyUsage are set by the issuer
 * (a PCA template) rather than copied from the CSR, and which.
 */
typedef struct {
    bool sets_usage;
    unsigned ku;  /* H2A_KU_* */
    unsigned eku; /* H2A_EKU_* */
} h2a_issuer_usage;
void h2a_issue_result_clear(h2a_issue_result *res);

typedef struct h2a_issuer_ops {
    const char *type;
    h2a_err (*submit)(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res);
    /* NULL for issuers whose submit always completes. */
    h2a_err (*poll)(const h2a_issue_ctx *ctx, const char *handle, h2a_issue_result *res);
    /* NULL: nothing to check. Refusals before any key exists for key type `kt`. */
    h2a_err (*precheck)(const h2a_issue_ctx *ctx, h2a_keytype kt, h2a_issuer_usage *usage);
    /* submit reads ctx->predecessor_pem (ACME's `replaces`); others need not be given one. */
    bool names_predecessor;
} h2a_issuer_ops;

const h2a_issuer_ops *h2a_issuer_ops_for(const h2a_issue_ctx *ctx);

h2a_err h2a_issuer_submit(const h2a_issue_ctx *ctx, X509_REQ *csr,
                          h2a_issue_result *res) H2A_MUST_USE;
h2a_err h2a_issuer_poll(const h2a_issue_ctx *ctx, const char *handle,
                        h2a_issue_result *res) H2A_MUST_USE;
/*
 * The issuer's own refusals for a request of key type `kt`, before any key
 * exists (acm-pca: CA state and lifetime, signing family, key family), and
 * what it will set in the certificate's usages (*usage, zeroed first).
 */
h2a_err h2a_issuer_precheck(const h2a_issue_ctx *ctx, h2a_keytype kt,
                            h2a_issuer_usage *usage) H2A_MUST_USE;
/* One audit detail naming where an issued certificate comes from (acm-pca: CA, template). */
void h2a_issuer_audit_detail(const h2a_issuer_conf *conf, const char *handle, char *out,
                             size_t len);

/*
 * The wait bound of an issuer: its timeout_seconds, or a default of 300 s
 * for types whose configuration has none.
 */
long long h2a_issuer_timeout_ms(const h2a_issuer_conf *conf);

/*
 * One poll of `handle` for a caller that waits on several (the engine's
 * group). Done: res->done. Pending: *next_ms is when to poll again (the
 * issuer's retry-after, at least 10 ms, never past `deadline_ms`). Past
 * `deadline_ms` and still pending: H2A_ERR_ISSUER with res->timed_out. Times
 * are CLOCK_MONOTONIC milliseconds.
 */
h2a_err h2a_issuer_poll_due(const h2a_issue_ctx *ctx, const char *handle,
                            long long deadline_ms, h2a_issue_result *res,
                            long long *next_ms) H2A_MUST_USE;

/*
 * Poll `handle` until done, an error, or `timeout_ms` has passed (then
 * H2A_ERR_ISSUER naming the handle, with res->timed_out set: the handle is
 * still good, a later poll may find the certificate).
 */
h2a_err h2a_issuer_wait(const h2a_issue_ctx *ctx, const char *handle, long long timeout_ms,
                        h2a_issue_result *res) H2A_MUST_USE;

/*
 * Submit and wait (poll until done or the issuer's timeout), for callers
 * that journal nothing in between (tests, `token` commands). *leaf and
 * *chain as in h2a_issue_result.
 */
h2a_err h2a_issuer_issue(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain) H2A_MUST_USE;

/* `command`: argv from the configuration, CSR PEM on stdin, PEM chain on stdout. */
extern const h2a_issuer_ops h2a_issuer_command_ops;
/* `acm-pca`: AWS Private CA, IssueCertificate then GetCertificate. */
extern const h2a_issuer_ops h2a_issuer_acm_pca_ops;
/* `local`: a CA whose keys are token keys, made on first use. */
extern const h2a_issuer_ops h2a_issuer_local_ops;
/* `acme`: RFC 8555; the order URL is the handle (agent/issuers/acme*.c). */
extern const h2a_issuer_ops h2a_issuer_acme_ops;

/*
 * Make sure the local CA `conf` exists for key family RSA (`rsa` true) or
 * EC: its token key "<key_label>-rsa|-ec" and its self-signed certificate
 * in <state_dir>/local-ca/<name>-rsa|-ec.pem. Returns the CA certificate
 * PEM path in `path_out` if not NULL (tests, demo: the trust anchor).
 */
h2a_err h2a_issuer_local_setup(const h2a_issue_ctx *ctx, bool rsa,
                               h2a_buf *path_out) H2A_MUST_USE;

/* Split a PEM text into its first certificate and the rest (H2A_ERR_ISSUER). */
h2a_err h2a_issuer_parse_pem_chain(const char *who, const char *pem, size_t len,
                                   X509 **leaf, STACK_OF(X509) **chain) H2A_MUST_USE;
