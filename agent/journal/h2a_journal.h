/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The enrollment journal: SQLite in WAL mode, in the state directory
 * (directory 0700, database 0600). One row per request and one per target.
 * Each step writes its row before the next step starts, so a crash at any
 * point leaves a state that `resume` can continue from. The connection runs
 * at synchronous=NORMAL; a durable commit syncs the WAL itself (h2a_jsync).
 *
 * The schema carries a version (PRAGMA user_version, H2A_JOURNAL_SCHEMA):
 * opening an older journal migrates it in one transaction, a newer one is
 * refused (H2A_ERR_STATE, naming both versions). The schema text is pinned
 * by tests/vectors/journal/.
 *
 * It holds only non-secret facts: key id and label, KCV, serials, ARNs,
 * secret names, certificate and chain PEM, the canonical request, errors.
 * Never key material (wrapped or not), never a PIN, never a secret value.
 */

#include <stdbool.h>
#include <stddef.h>

#include "h2a_common.h"

typedef struct h2a_journal H2A_JOURNAL;

typedef enum {
    H2A_JS_NONE = 0,
    H2A_JS_VALIDATED,
    H2A_JS_KEY_GENERATED,
    H2A_JS_CSR_SIGNED,
    H2A_JS_SUBMITTED, /* an asynchronous issuer holds the CSR: issuer_handle */
    H2A_JS_ISSUED,
    H2A_JS_STAGED,
    H2A_JS_IMPORTED,
    H2A_JS_CLEANED,
    H2A_JS_FAILED,
} h2a_jstate;

const char *h2a_jstate_name(h2a_jstate s);
h2a_jstate h2a_jstate_parse(const char *s); /* H2A_JS_NONE if unknown */

/*
 * Request row. Strings are malloc'd and owned by the struct
 * (h2a_jreq_free). `state` FAILED means a terminal failure before anything
 * was delivered: the key (if any) was destroyed and running the same
 * request again starts over.
 */
typedef struct {
    char *id;
    char *body_hash;   /* SHA-256 hex of the canonical request */
    char *body;        /* canonical request JSON */
    char *requester;
    h2a_jstate state;
    char *key_type;    /* "ec:P-256"; the resolved type for "inherit" */
    char *key_label;   /* reserved before keygen, so a crash finds the key */
    char *key_id;      /* CKA_ID hex */
    char *kcv;         /* wrap key check value */
    char *serial;      /* hex */
    char *not_after;   /* ISO 8601 UTC */
    char *cert_pem;
    char *chain_pem;
    char *error;
    char *failed_step;
    char *issuer_handle; /* what an asynchronous issuer gave back (state SUBMITTED) */
    char *reason;        /* enroll | renew | adopt | rollback (NULL: enroll) */
    /*
     * From cert_pem, computed when the row is written with a certificate
     * and these unset (schema 4): kept so renew's due computation needs no
     * certificate parse. 0 / NULL: no certificate, or one that does not parse.
     */
    long long not_before;
    char *ari_id;        /* ACME ARI certID: base64url(AKI) "." base64url(serial) */
    long long created, updated;
} h2a_jreq;

/*
 * Target row. `state` FAILED means delivery stopped on an error that
 * resume is meant to finish; `resume_from` is the last state reached.
 */
typedef struct {
    size_t idx;
    char *region;
    char *account;
    char *certificate_arn; /* requested (reimport) */
    h2a_jstate state;
    h2a_jstate resume_from;
    bool new_arn;          /* policy on_incompatible: new-arn chose a new import */
    char *secret_name;
    char *secret_arn;
    long long secret_expiry;
    char *imported_arn;    /* ARN that now serves the certificate */
    char *serial;
    char *error;
    char *timings;         /* JSON object of step → ms */
    long long updated;
} h2a_jtarget;

void h2a_jreq_free(h2a_jreq *r);
void h2a_jtargets_free(h2a_jtarget *t, size_t n);
/* Replace a string field (NULL allowed). */
h2a_err h2a_jset(char **field, const char *value); /* only fails on ENOMEM */

/* Create the state directory (0700) and open/create the database (0600). */
h2a_err h2a_journal_open(const char *state_dir, H2A_JOURNAL **out) H2A_MUST_USE;
void h2a_journal_close(H2A_JOURNAL *j);

/*
 * Load a request and its targets. Not found: H2A_OK with *req NULL.
 * *req is freed with h2a_jreq_free(), *targets with h2a_jtargets_free().
 */
h2a_err h2a_journal_get(H2A_JOURNAL *j, const char *id, h2a_jreq **req,
                        h2a_jtarget **targets, size_t *n) H2A_MUST_USE;

/*
 * Insert a request with its targets (replaces a FAILED one): in the caller's
 * transaction if one is open (several requests under one commit), else in
 * its own durable one.
 */
h2a_err h2a_journal_insert(H2A_JOURNAL *j, const h2a_jreq *req,
                           const h2a_jtarget *targets, size_t n) H2A_MUST_USE;
/* Write every column of the row (updated = now). */
h2a_err h2a_journal_put_request(H2A_JOURNAL *j, h2a_jreq *req) H2A_MUST_USE;
h2a_err h2a_journal_put_target(H2A_JOURNAL *j, const char *id,
                               h2a_jtarget *t) H2A_MUST_USE;

/*
 * Group writes into one transaction. A put outside begin/commit is its own
 * transaction and always durable (fsync'd before it returns).
 * H2A_JSYNC_DURABLE: fsync'd at commit. Use it for the record that must
 *   survive a power loss because the next step acts outside the process
 *   (token keygen, issuing, CreateSecret, ImportCertificate).
 * H2A_JSYNC_LAZY: survives a crash of the process (it is in the WAL), and a
 *   power loss from the next durable commit on. Only for records whose loss
 *   resume repairs by looking (key adoption by label, import lookup by tags,
 *   forced DeleteSecret of a missing secret succeeds).
 */
typedef enum { H2A_JSYNC_DURABLE = 0, H2A_JSYNC_LAZY } h2a_jsync;
h2a_err h2a_journal_begin(H2A_JOURNAL *j, h2a_jsync sync) H2A_MUST_USE;
h2a_err h2a_journal_commit(H2A_JOURNAL *j) H2A_MUST_USE;
void h2a_journal_rollback(H2A_JOURNAL *j);
/* Commit if `rv` is H2A_OK, else roll back and return `rv`. */
h2a_err h2a_journal_end(H2A_JOURNAL *j, h2a_err rv) H2A_MUST_USE;
/* fsync'd commits so far (tests check where the durable points are). */
unsigned long h2a_journal_durable_commits(const H2A_JOURNAL *j);

/* Every request id, oldest first (sweep). *ids: NULL-terminated, free each + array. */
h2a_err h2a_journal_ids(H2A_JOURNAL *j, char ***ids, size_t *n) H2A_MUST_USE;
/* Is this CKA_ID hex or label known to any request? */
h2a_err h2a_journal_knows_key(H2A_JOURNAL *j, const char *id_hex,
                              const char *label, bool *known) H2A_MUST_USE;

/* The schema version this build writes (PRAGMA user_version). */
#define H2A_JOURNAL_SCHEMA 4
/* The schema version of an open journal (after migration: H2A_JOURNAL_SCHEMA). */
int h2a_journal_schema(const H2A_JOURNAL *j);

/*
 * The state machine. Request rows: validated → key_generated → csr_signed
 * → [submitted →] issued → cleaned (the request row summarises delivery;
 * its targets carry staged and imported). Target rows: the same up to
 * issued, then staged → imported → cleaned. Staying is a legal move (a
 * resumed step records its state again); failed may follow any state but
 * none and cleaned. A row in state failed moves on from its resume_from
 * state: callers check h2a_jstate_can_move(resume_from, to).
 */
typedef enum { H2A_JROW_REQUEST, H2A_JROW_TARGET } h2a_jrow;
bool h2a_jstate_can_move(h2a_jrow row, h2a_jstate from, h2a_jstate to);

/*
 * Generations (docs/renew.md). Every delivery to an ARN is one: a target
 * row reaching imported records (arn, next number, request id, target
 * index, the request's reason, the time) once, in the same transaction.
 * The key, certificate, chain and issuer handle are the request row's.
 */
typedef struct {
    char *arn;
    long long generation;
    char *request_id;
    size_t target_idx;
    char *reason;
    long long imported_at;
    long long key_destroyed_at; /* 0: the key is still in the token */
} h2a_jgen;

void h2a_jgens_free(h2a_jgen *g, size_t n);
/* The generations of one ARN, newest first. */
h2a_err h2a_journal_generations(H2A_JOURNAL *j, const char *arn, h2a_jgen **out,
                                size_t *n) H2A_MUST_USE;
/* The newest generation of every ARN, by request id then ARN. */
h2a_err h2a_journal_current_generations(H2A_JOURNAL *j, h2a_jgen **out,
                                        size_t *n) H2A_MUST_USE;
/*
 * The current generation of every ARN (arn NULL) or of one, with what its
 * due time needs from its request, in one query: `req` holds id, state,
 * reason, serial, not_after, not_before and ari_id (cert_pem only when
 * not_before or not_after is unknown), no body and no targets. By request id then ARN.
 */
typedef struct {
    char *arn;
    long long generation;
    long long not_after; /* the request's not_after in seconds; 0 unknown */
    h2a_jreq *req;
} h2a_jcur;
void h2a_jcurs_free(h2a_jcur *c, size_t n);
h2a_err h2a_journal_current(H2A_JOURNAL *j, const char *arn, h2a_jcur **out,
                            size_t *n) H2A_MUST_USE;
/* The ARN request `id` delivered its target `idx` to (NULL: none yet). */
h2a_err h2a_journal_request_arn(H2A_JOURNAL *j, const char *id, char **arn) H2A_MUST_USE;
/* Mark every generation with this key (CKA_ID hex) as having lost it (sweep). */
h2a_err h2a_journal_gen_key_destroyed(H2A_JOURNAL *j, const char *key_id) H2A_MUST_USE;
/* Does a request that is not finished (nor failed) still need this key? */
h2a_err h2a_journal_key_needed(H2A_JOURNAL *j, const char *key_id, bool *needed) H2A_MUST_USE;
/* A generation's key id and label (malloc'd; NULL when unknown). */
h2a_err h2a_journal_gen_key(H2A_JOURNAL *j, const h2a_jgen *g, char **key_id,
                            char **label) H2A_MUST_USE;
