/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Issuers turn a CSR into a certificate and its chain. Each type is one
 * function with the same signature, picked from the configuration by
 * h2a_issuer_issue(); ACM PCA and ACME fit the same shape (they need the
 * AWS context or an HTTP client, passed through h2a_issue_ctx).
 *
 * Every failure is H2A_ERR_ISSUER (exit 6) with a message naming the
 * issuer ("issuers.ops-ca: ...").
 */

#include <openssl/x509.h>

#include "config/h2a_config.h"
#include "h2a_pkcs11.h"

typedef struct {
    const h2a_issuer_conf *conf;
    const char *state_dir;   /* local CA certificates live here */
    H2A_SESSION *session;    /* token session (local issuer) */
    const char *request_id;  /* exported to command issuers */
    const char *requester;
} h2a_issue_ctx;

/*
 * Issue a certificate for `csr`. *leaf gets the certificate (X509_free),
 * *chain its chain (intermediates then root, possibly empty;
 * sk_X509_pop_free(chain, X509_free)). Nothing is verified here: the caller checks
 * key match, chain and validity before anything is delivered.
 */
h2a_err h2a_issuer_issue(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain) H2A_MUST_USE;

/* `command`: argv from the configuration, CSR PEM on stdin, PEM chain on stdout. */
h2a_err h2a_issuer_command(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                           STACK_OF(X509) **chain) H2A_MUST_USE;
/* `local`: a CA whose keys are token keys, made on first use. */
h2a_err h2a_issuer_local(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain) H2A_MUST_USE;

/*
 * Keep local CA keys loaded between h2a_issuer_local calls on the same
 * session (batch workers); `false` drops them. Off by default.
 */
void h2a_issuer_local_cache(bool on);

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
