/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Internal to agent/enroll: the run context shared by the step files. */

#include <openssl/x509.h>

#include "aws/h2a_aws.h"
#include "config/h2a_config.h"
#include "enroll/h2a_audit.h"
#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"
#include "h2a_keygen.h"
#include "h2a_pkcs11.h"
#include "h2a_policy.h"
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

/* Request-level step timings (ms), in output order. */
enum { H2A_T_VALIDATE, H2A_T_KEYGEN, H2A_T_CSR, H2A_T_ISSUE, H2A_T_VERIFY, H2A_T__COUNT };
/* Target-level. */
enum { H2A_TT_STAGE, H2A_TT_IMPORT, H2A_TT_CLEANUP, H2A_TT__COUNT };

typedef struct h2a_run {
    const h2a_config *cfg;
    H2A_POLICY *policy;
    H2A_JOURNAL *journal;
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
    bool need_issued; /* verified, "issued" not yet journaled */
    bool finished;    /* nothing left to do: item->out holds the result */
    /*
     * Group delivery: a finished step's target row is written with the
     * group's next commit, not in a transaction of its own; its audit line
     * follows that commit (s_group_commit in enroll.c).
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
    h2a_err deliver_rv;                          /* first target failure, and its message */
    char deliver_msg[1024];
} h2a_run;

long long h2a_enroll_now_ms(void);
/* Test-only fault point: SIGKILL if HSM2ACM_TEST_CRASH_AT names `point`. */
void h2a_enroll_crash_point(const char *point, long target);

/* Audit one step (errors in writing the audit line are logged, not fatal here). */
void h2a_enroll_audit(h2a_run *r, long target, const char *step, const char *outcome,
                      const char *arn, const char *secret, const char *detail);

h2a_err h2a_enroll_aws_open(h2a_run *r) H2A_MUST_USE;
/* Context for a target (assume role when it names an account), with identity. */
h2a_err h2a_enroll_acct(h2a_run *r, const char *account, const char *region,
                        h2a_acct **out) H2A_MUST_USE;
h2a_err h2a_enroll_token_open(h2a_run *r) H2A_MUST_USE;

/* Delivery (deliver.c): stage, import, clean up one target. */
/* Steps 5-7 for target i, as far as state `upto` (H2A_JS_CLEANED: all). */
h2a_err h2a_enroll_deliver_target(h2a_run *r, size_t i, h2a_jstate upto) H2A_MUST_USE;
/* Write the deferred step rows (caller's transaction), then their audit lines. */
h2a_err h2a_enroll_pending_rows(h2a_run *r) H2A_MUST_USE;
void h2a_enroll_pending_audit(h2a_run *r, bool committed);
/* Journal target i alone (see h2a_jsync for `sync`). */
h2a_err h2a_enroll_put_target(h2a_run *r, size_t i, h2a_jsync sync) H2A_MUST_USE;
/* Was anything delivered or staged for this request? (decides key destruction) */
bool h2a_enroll_anything_staged(const h2a_run *r);

/* Verify the issued certificate (verify.c). */
h2a_err h2a_enroll_verify(h2a_run *r) H2A_MUST_USE;
h2a_err h2a_enroll_usage_from_describe(json_object *detail,
                                       h2a_cert_usage *out) H2A_MUST_USE;
