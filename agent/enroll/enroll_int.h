/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Internal to agent/enroll: the worker, the run context the step files
 * share, and the functions each layer offers the one above it
 * (docs/architecture.md: worker.c < rows.c < steps.c, issue.c, verify.c,
 * deliver.c < engine.c < batch.c; no file calls one above it).
 */

#include <openssl/x509.h>

#include "aws/h2a_aws.h"
#include "config/h2a_config.h"
#include "enroll/h2a_audit.h"
#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"
#include "h2a_keygen.h"
#include "h2a_pkcs11.h"
#include "h2a_policy.h"
#include "issuers/h2a_issuer.h"
#include "journal/h2a_journal.h"

/* Tags hsm2acm puts on staging secrets and imported certificates. */
#define H2A_TAG_MARKER "hsm2acm:managed"
#define H2A_TAG_REQUEST "hsm2acm:request-id"
#define H2A_TAG_TARGET "hsm2acm:target"
#define H2A_TAG_EXPIRY "hsm2acm:expiry"

/* One AWS account a run talks to (NULL account: the configured identity). */
typedef struct {
    char *account;          /* as asked (target's account), or NULL */
    H2A_AWS_CTX *ctx;
    bool own;               /* ctx made by assume-role, freed by us */
    struct h2a_aws_identity id;
    bool have_id;
} h2a_acct;

/*
 * What a worker keeps for all the requests it runs (one process: a batch
 * worker, a queue worker, a renewal run, or a single enrollment): the
 * token and its session, the wrap key, the AWS client and the configured
 * identity, the journal, the issuers' state. Runs borrow them.
 */
/* Threads (each with its connection) a worker keeps for renewals' ARN reads (ahead.c). */
#define H2A_AHEAD_CONNS 4
struct h2a_ahead;

struct h2a_worker {
    const h2a_config *cfg;
    bool many; /* more keys will follow: read the token's label index at once */
    H2A_TOKEN *tok;
    H2A_SESSION *sess;
    H2A_P11_SECRET *wrap;
    char kcv[7];
    H2A_AWS_CTX *aws;
    struct h2a_ahead *ahead; /* renewals' ARN readers (ahead.c), made when first needed */
    /* Set with `ahead` by ahead.c, which sits above this file: worker.c calls no file up. */
    void (*ahead_free)(struct h2a_ahead *a);
    struct h2a_aws_identity id;
    bool have_id;
    H2A_JOURNAL *journal;
    h2a_issuer_state *issuers;
};

/*
 * How long verify may judge a reimport against validate's DescribeCertificate
 * instead of reading the ARN again (verify.c, s_reimport_current).
 */
#define H2A_REIMPORT_REUSE_MS 5000

/* Request-level step timings (ms), in output order. */
enum { H2A_T_VALIDATE, H2A_T_KEYGEN, H2A_T_CSR, H2A_T_ISSUE, H2A_T_VERIFY, H2A_T__COUNT };
/* Target-level. */
enum { H2A_TT_STAGE, H2A_TT_IMPORT, H2A_TT_CLEANUP, H2A_TT__COUNT };

typedef struct h2a_run {
    H2A_WORKER *w;
    const h2a_config *cfg;
    H2A_POLICY *policy;
    H2A_JOURNAL *journal; /* borrowed from the worker, as are aws, tok, sess, wrap */
    H2A_AUDIT *audit;
    H2A_AWS_CTX *aws;
    h2a_acct accts[H2A_REQUEST_MAX_TARGETS + 1];
    size_t n_accts;
    H2A_TOKEN *tok;
    H2A_SESSION *sess;
    H2A_P11_SECRET *wrap;
    char kcv[7];
    h2a_request *req;
    char hash[65];
    h2a_jreq *jr;
    h2a_jtarget *jt;
    size_t njt;
    h2a_keytype kt;
    H2A_P11_KEY *key;
    char key_id[H2A_KEY_ID_HEX_MAX];
    X509 *cert;
    STACK_OF(X509) *chain;
    bool resumed;
    /*
     * No journal row for this id existed when we took its lock: no hsm2acm
     * run on this state directory has made its key label (the row is made,
     * durably, before any key), so keygen may check the label against the
     * worker's label index instead of searching the token.
     */
    bool label_reserved;
    bool key_made_here;
    long long t_ms[H2A_T__COUNT];
    long long tt_ms[H2A_REQUEST_MAX_TARGETS][H2A_TT__COUNT];
    /* Per target: the staged value this run wrote (compared on read-back). */
    h2a_buf staged[H2A_REQUEST_MAX_TARGETS];
    bool staged_here[H2A_REQUEST_MAX_TARGETS];
    /* Phases of a group (see h2a_enroll_group). */
    h2a_enroll_item *item; /* the request as given; its result and first failure */
    int lock_fd;
    long long t_validate0;
    bool need_insert; /* validated, its journal row not yet written */
    bool need_submitted; /* an issuer's handle, "submitted" not yet journaled */
    bool need_issued; /* verified, "issued" not yet journaled */
    bool wait_timed_out; /* the issuer's timeout passed: stays submitted, resumable */
    long long poll_next;     /* waiting on the issuer: poll again then (monotonic ms) */
    long long poll_deadline; /* the issuer's timeout, from the first poll */
    long long poll_t0;
    int poll_attempts;       /* polls of the handle in this process: the issuer's back-off */
    h2a_issuer_usage issuer_usage; /* usages the issuer sets itself (a PCA template) */
    bool finished;    /* nothing left to do: item->out holds the result */
    /*
     * Group delivery: a finished step's target row is written with the
     * group's next commit, not in a transaction of its own; its audit line
     * follows that commit (s_group_commit in engine.c).
     */
    bool defer;
    h2a_jstate pend_state;   /* keygen/CSR: the state the group's next commit records */
    bool pend_keygen_audit;
    X509_REQ *csr;           /* signed, waiting for the issuer */
    struct h2a_pending_step {
        size_t i;
        const char *step;   /* "stage", "import", "cleanup" */
        const char *detail; /* static */
    } pend[H2A_REQUEST_MAX_TARGETS];
    size_t npend;
    bool target_failed[H2A_REQUEST_MAX_TARGETS]; /* in this run: no further step */
    /*
     * Per reimport target: what DescribeCertificate said its ARN held when
     * validate asked (one call shared by validate's checks; verify's
     * reimport rules take it while it is recent, see verify.c), and when
     * that call was sent (monotonic ms; 0: not described in this run).
     */
    h2a_cert_usage held[H2A_REQUEST_MAX_TARGETS];
    long long held_at[H2A_REQUEST_MAX_TARGETS];
    /* The same, asked by the group before validate (ahead.c); validate takes it over. */
    h2a_cert_usage ahead[H2A_REQUEST_MAX_TARGETS];
    long long ahead_at[H2A_REQUEST_MAX_TARGETS];
    h2a_err deliver_rv;                          /* first target failure, and its message */
    char deliver_msg[1024];
} h2a_run;

/* ahead.c: the group's renewals take their ARN reads (queued now if not before). */
void h2a_enroll_describe_ahead(H2A_WORKER *w, h2a_run **runs, size_t n);

/* worker.c ---------------------------------------------------------- */
long long h2a_enroll_now_ms(void);
/* Test-only fault point: SIGKILL if HSM2ACM_TEST_CRASH_AT names `point`. */
void h2a_enroll_crash_point(const char *point, long target);

/* Audit one step (errors in writing the audit line are logged, not fatal here). */
void h2a_enroll_audit(h2a_run *r, long target, const char *step, const char *outcome,
                      const char *arn, const char *secret, const char *detail);

h2a_err h2a_enroll_journal_open(h2a_run *r) H2A_MUST_USE;
h2a_err h2a_enroll_aws_open(h2a_run *r) H2A_MUST_USE;
h2a_err h2a_worker_aws_open(H2A_WORKER *w) H2A_MUST_USE;
/* Context for a target (assume role when it names an account), with identity. */
h2a_err h2a_enroll_acct(h2a_run *r, const char *account, const char *region,
                        h2a_acct **out) H2A_MUST_USE;
h2a_err h2a_enroll_token_open(h2a_run *r) H2A_MUST_USE;
/*
 * Delete a staging secret (forced, no recovery window) and wait until
 * DescribeSecret says it is gone, with h2a_sm_delete_secret_and_wait();
 * `crash_point` (or NULL) once it is gone.
 */
h2a_err h2a_enroll_delete_secret(h2a_acct *a, const char *region, const char *id,
                                 const char *crash_point, long idx) H2A_MUST_USE;
/* One enrollment per request id at a time, across processes (*fd_out: the lock). */
h2a_err h2a_enroll_lock(const h2a_config *cfg, const char *id, int *fd_out) H2A_MUST_USE;

/* rows.c: journal rows, every state move checked against the machine ------ */
h2a_err h2a_enroll_new_rows(h2a_run *r) H2A_MUST_USE;
h2a_err h2a_enroll_put_req(h2a_run *r) H2A_MUST_USE;
/*
 * Move the request and every target still behind it to `st` (caller's
 * transaction). An illegal move is H2A_ERR_STATE and writes nothing.
 */
h2a_err h2a_enroll_advance_rows(h2a_run *r, h2a_jstate st) H2A_MUST_USE;
/* Would that move be legal? (checked before a group defers it to its commit) */
h2a_err h2a_enroll_can_advance(h2a_run *r, h2a_jstate st) H2A_MUST_USE;
/* The same in its own transaction (see h2a_jsync for `sync`). */
h2a_err h2a_enroll_advance(h2a_run *r, h2a_jstate st, h2a_jsync sync) H2A_MUST_USE;
/* A lazy move after keygen or the CSR: now, or in a group at its next commit. */
h2a_err h2a_enroll_lazy_state(h2a_run *r, h2a_jstate st) H2A_MUST_USE;
/* Target i to `st` in memory, checked (a failed target moves from resume_from). */
h2a_err h2a_enroll_target_move(h2a_run *r, size_t i, h2a_jstate st) H2A_MUST_USE;
/* Journal target i alone (see h2a_jsync for `sync`). */
h2a_err h2a_enroll_put_target(h2a_run *r, size_t i, h2a_jsync sync) H2A_MUST_USE;
/* Was anything delivered or staged for this request? (decides key destruction) */
bool h2a_enroll_anything_staged(const h2a_run *r);
/* Refusals a retry cannot fix (docs/enroll.md, failure rule). */
bool h2a_enroll_terminal(h2a_err e);
/* A failure in steps 2-4: terminal ones roll back the key; others stay resumable. */
h2a_err h2a_enroll_fail_early(h2a_run *r, h2a_err rv, const char *step) H2A_MUST_USE;
/* The result JSON of a run. */
h2a_err h2a_enroll_output(h2a_run *r, h2a_buf *out) H2A_MUST_USE;
/*
 * What the journal says `arn` serves now: its newest generation's target
 * index, request row and parsed request (jr NULL: no generation; q NULL:
 * a body that no longer parses). Free with h2a_enroll_serving_free.
 */
typedef struct {
    size_t target_idx;
    h2a_jreq *jr;
    h2a_request *q;
} h2a_enroll_serving;
h2a_err h2a_enroll_serving_get(h2a_run *r, const char *arn,
                               h2a_enroll_serving *out) H2A_MUST_USE;
void h2a_enroll_serving_free(h2a_enroll_serving *s);

/* steps.c: validate, key, CSR ------------------------------------------- */
h2a_err h2a_enroll_validate(h2a_run *r) H2A_MUST_USE;
/* The key: made, adopted by its journaled label, or found by its journaled id. */
h2a_err h2a_enroll_keygen(h2a_run *r) H2A_MUST_USE;
h2a_err h2a_enroll_csr(h2a_run *r) H2A_MUST_USE;
/* The key a journal row names by its CKA_ID (a resumed request). */
h2a_err h2a_enroll_key_load(h2a_run *r) H2A_MUST_USE;

/* issue.c: submit, journal the handle, poll ------------------------------ */
/*
 * Submit the run's CSR. Done at once: r->cert and r->chain. Pending: the
 * handle goes to the journal in state submitted (now, durable; or in a
 * group at its next commit, r->need_submitted) before anything waits.
 */
h2a_err h2a_enroll_submit(h2a_run *r, const h2a_issue_ctx *ic) H2A_MUST_USE;
/* Crash point and audit once the handle is durable. */
void h2a_enroll_submitted(h2a_run *r);
/*
 * The certificate: from the journal (issued), or one poll of the journaled
 * handle. Still pending: r->poll_next says when to poll again (0: done).
 * Past the issuer's timeout: H2A_ERR_ISSUER with r->wait_timed_out.
 */
h2a_err h2a_enroll_poll_once(h2a_run *r, const h2a_issue_ctx *ic) H2A_MUST_USE;
/* The same until done (one run alone). */
h2a_err h2a_enroll_poll(h2a_run *r, const h2a_issue_ctx *ic) H2A_MUST_USE;
/*
 * Runs whose issuer answered "pending" wait together: sleep until the
 * earliest r->poll_next, call `poll` for every run due by then, until no run
 * waits (`poll` must leave poll_next 0 or later than before; each run's wait
 * is bounded by its issuer's timeout).
 */
void h2a_enroll_wait_due(h2a_run **runs, size_t n, void (*poll)(h2a_run *r, void *arg),
                         void *arg);
/* The certificate of an issued request, from the journal. */
h2a_err h2a_enroll_load_issued(h2a_run *r) H2A_MUST_USE;

/* deliver.c: stage, import, clean up one target ------------------------ */
/* Steps 5-7 for target i, as far as state `upto` (H2A_JS_CLEANED: all). */
h2a_err h2a_enroll_deliver_target(h2a_run *r, size_t i, h2a_jstate upto) H2A_MUST_USE;
/* Write the deferred step rows (caller's transaction), then their audit lines. */
h2a_err h2a_enroll_pending_rows(h2a_run *r) H2A_MUST_USE;
void h2a_enroll_pending_audit(h2a_run *r, bool committed);

/* verify.c: the issued certificate ------------------------------------- */
h2a_err h2a_enroll_verify(h2a_run *r) H2A_MUST_USE;
