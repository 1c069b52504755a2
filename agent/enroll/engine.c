/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enroll/enroll_int.h"

/*
 * The engine: enrollment as a table of steps (s_table), run by one loop
 * over a group of requests (s_run_steps). Each step names the journal state
 * it starts from, its action, and the group transaction that records what
 * it did; the rows move only through the state machine (rows.c). Runs of a
 * group go through the table together so that one fsync covers the group
 * at each of the two durable points: every fresh request's row before any
 * of their keys is made, every certificate before any staging secret.
 * Each request still goes through its own steps in order; a failure stops
 * only its own run.
 */

static void s_failed(h2a_run *r, h2a_err rv)
{
    r->item->rv = rv;
    snprintf(r->item->error, sizeof(r->item->error), "%s", h2a_err_msg());
}

static bool s_active(const h2a_run *r)
{
    return r->item->rv == H2A_OK && !r->finished;
}

/*
 * Steps 5-7 of a run's targets as far as state `upto`, target by target; a
 * target that fails goes no further in this run, and does not stop the others.
 */
static void s_deliver_upto(h2a_run *r, h2a_jstate upto)
{
    for (size_t i = 0; i < r->njt; i++) {
        h2a_err rv;

        if (r->jt[i].state == H2A_JS_CLEANED || r->target_failed[i]) {
            continue;
        }
        rv = h2a_enroll_deliver_target(r, i, upto);
        if (rv != H2A_OK) {
            r->target_failed[i] = true;
            if (r->deliver_rv == H2A_OK) {
                r->deliver_rv = rv;
                snprintf(r->deliver_msg, sizeof(r->deliver_msg), "targets[%zu]: %s", i,
                         h2a_err_msg());
            }
        }
    }
}

/* The "issued" rows of a run, in the caller's transaction. */
static h2a_err s_issued_rows(h2a_run *r)
{
    (void)h2a_jset(&r->jr->error, NULL);
    return h2a_enroll_advance_rows(r, H2A_JS_ISSUED);
}

/* The request row of a run whose targets are all delivered. */
static h2a_err s_cleaned_rows(h2a_run *r)
{
    (void)h2a_jset(&r->jr->error, NULL);
    (void)h2a_jset(&r->jr->failed_step, NULL);
    return h2a_enroll_advance_rows(r, H2A_JS_CLEANED);
}

/*
 * A transaction the runs of a group share: which runs take part, what each
 * writes in it, and what follows for each once it is over.
 */
struct s_commit {
    h2a_jsync sync;
    bool (*want)(const h2a_run *);
    h2a_err (*rows)(h2a_run *);
    void (*done)(h2a_run *, bool committed);
};

/*
 * One transaction for the active runs that want it. If it fails, each of
 * them fails (what it records stays as resume would find it after a crash).
 */
static void s_group_commit(h2a_run **runs, size_t n, const struct s_commit *c)
{
    H2A_JOURNAL *j = NULL;
    h2a_err rv;

    for (size_t i = 0; i < n && j == NULL; i++) {
        if (s_active(runs[i]) && c->want(runs[i])) {
            j = runs[i]->journal;
        }
    }
    if (j == NULL) {
        return;
    }
    rv = h2a_journal_begin(j, c->sync);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        if (s_active(runs[i]) && c->want(runs[i])) {
            rv = c->rows(runs[i]);
        }
    }
    rv = h2a_journal_end(j, rv);
    for (size_t i = 0; i < n; i++) {
        if (!s_active(runs[i]) || !c->want(runs[i])) {
            continue;
        }
        if (rv != H2A_OK) {
            s_failed(runs[i], rv);
        }
        c->done(runs[i], rv == H2A_OK);
    }
}

/* Keygen and CSR: the state moves the runs left pending (h2a_enroll_lazy_state). */
static bool s_wants_state(const h2a_run *r)
{
    return r->pend_state != H2A_JS_NONE;
}

static h2a_err s_state_rows(h2a_run *r)
{
    return h2a_enroll_advance_rows(r, r->pend_state);
}

static void s_state_done(h2a_run *r, bool committed)
{
    if (committed && r->pend_keygen_audit) {
        h2a_enroll_audit(r, -1, "keygen", "ok", NULL, NULL, r->jr->key_label);
    }
    r->pend_state = H2A_JS_NONE;
    r->pend_keygen_audit = false;
}

static const struct s_commit s_states = {H2A_JSYNC_LAZY, s_wants_state, s_state_rows,
                                         s_state_done};

/* Delivery: the step rows the runs left pending; the last step ends the request. */
static bool s_wants_steps(const h2a_run *r)
{
    return r->npend > 0;
}

static bool s_wants_end(const h2a_run *r)
{
    (void)r;
    return true;
}

static h2a_err s_end_rows(h2a_run *r)
{
    H2A_GUARD(h2a_enroll_pending_rows(r));
    return r->deliver_rv == H2A_OK ? s_cleaned_rows(r) : H2A_OK;
}

static const struct s_commit s_steps = {H2A_JSYNC_LAZY, s_wants_steps,
                                        h2a_enroll_pending_rows, h2a_enroll_pending_audit};
static const struct s_commit s_end = {H2A_JSYNC_LAZY, s_wants_end, s_end_rows,
                                      h2a_enroll_pending_audit};

/* Asynchronous issuers' handles, durable before anything waits on them. */
static bool s_wants_submitted(const h2a_run *r)
{
    return r->need_submitted;
}

static h2a_err s_submitted_rows(h2a_run *r)
{
    return h2a_enroll_advance_rows(r, H2A_JS_SUBMITTED);
}

static void s_submitted_done(h2a_run *r, bool committed)
{
    if (committed) {
        h2a_enroll_submitted(r);
    }
}

static const struct s_commit s_submits = {H2A_JSYNC_DURABLE, s_wants_submitted,
                                          s_submitted_rows, s_submitted_done};

static bool s_all_cleaned(const h2a_run *r)
{
    for (size_t i = 0; i < r->njt; i++) {
        if (r->jt[i].state != H2A_JS_CLEANED) {
            return false;
        }
    }
    return r->njt > 0;
}

/* After the row of a fresh request is durable. */
static void s_inserted(h2a_run *r)
{
    r->need_insert = false;
    r->t_ms[H2A_T_VALIDATE] = h2a_enroll_now_ms() - r->t_validate0;
    h2a_enroll_audit(r, -1, "validate", "ok", NULL, NULL, NULL);
    h2a_enroll_crash_point("validate", -1);
}

/*
 * A resumed request past keygen: the token, and its key by the journaled
 * id (the keygen step acts only up to key_generated).
 */
static h2a_err s_continue_token(h2a_run *r)
{
    h2a_err rv = h2a_enroll_token_open(r);

    if (rv != H2A_OK) {
        return h2a_enroll_fail_early(r, rv, "token");
    }
    if (r->jr->kcv == NULL) {
        H2A_GUARD(h2a_jset(&r->jr->kcv, r->kcv));
        H2A_GUARD(h2a_enroll_put_req(r));
    }
    if (r->jr->state > H2A_JS_KEY_GENERATED && r->jr->key_id != NULL) {
        rv = h2a_enroll_key_load(r);
        return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "keygen");
    }
    return H2A_OK;
}

static h2a_err s_continue(h2a_run *r)
{
    h2a_err rv;

    r->resumed = true;
    if (r->jr->key_type == NULL || h2a_keytype_parse(r->jr->key_type, &r->kt) != H2A_OK) {
        return h2a_err_set(H2A_ERR_STATE, "journal: request '%s' has no key type", r->jr->id);
    }
    /* Identities again (audit, account ids); no new checks on a resumed request. */
    for (size_t i = 0; i < r->req->n_targets; i++) {
        h2a_acct *a = NULL;

        rv = h2a_enroll_acct(r, r->req->targets[i].account, r->req->targets[i].region, &a);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
    }
    h2a_enroll_audit(r, -1, "resume", "ok", NULL, NULL, h2a_jstate_name(r->jr->state));
    return s_continue_token(r);
}

/*
 * Step 1 of a run: lock, load, parse; then either finished (done before:
 * its output), continued (resume from the journal), or fresh and validated
 * with its journal row still to write.
 */
static h2a_err s_prepare(h2a_run *r)
{
    const h2a_request *req = r->item->req;
    const char *resume_id = r->item->resume_id;
    const h2a_config *cfg = r->cfg;
    const char *id = req != NULL ? req->id : resume_id;
    bool found = false;
    h2a_err rv;

    H2A_GUARD(h2a_enroll_journal_open(r));
    H2A_GUARD(h2a_enroll_lock(cfg, id, &r->lock_fd));
    H2A_GUARD(h2a_audit_open(cfg->audit.file, cfg->audit.syslog, &r->audit));
    H2A_GUARD(h2a_policy_load(cfg->policy, &r->policy));
    H2A_GUARD(h2a_journal_get(r->journal, id, &r->jr, &r->jt, &r->njt));
    found = r->jr != NULL;
    if (req == NULL) {
        /* resume: the request comes from the journal. */
        if (!found) {
            return h2a_err_set(H2A_ERR_STATE, "no journal entry for request id '%s' in %s", id,
                               cfg->state_dir);
        }
        rv = h2a_request_parse(r->jr->body, strlen(r->jr->body), &r->req);
        if (rv != H2A_OK) {
            return h2a_err_prefix(H2A_ERR_STATE, "journal body of '%s': ", id);
        }
        if (r->jr->state == H2A_JS_FAILED) {
            return h2a_err_set(H2A_ERR_STATE,
                               "request '%s' failed at step %s and was rolled back (%s); "
                               "run 'hsm2acm enroll' with the request again to start over",
                               id, r->jr->failed_step ? r->jr->failed_step : "?",
                               r->jr->error ? r->jr->error : "no message");
        }
    } else {
        h2a_buf body;

        h2a_buf_init(&body, 0);
        rv = h2a_request_canonical(req, &body);
        if (rv == H2A_OK) {
            rv = h2a_request_parse((const char *)body.data, body.len, &r->req);
        }
        h2a_buf_free(&body);
        H2A_GUARD(rv);
        /* Outside the canonical form: journaled with the new row (renew, rollback). */
        r->req->reason = req->reason;
    }
    H2A_GUARD(h2a_request_hash(r->req, r->hash));
    if (found && strcmp(r->jr->body_hash, r->hash) != 0) {
        return h2a_err_set(H2A_ERR_STATE,
                           "id: '%s' was already used for a different request (journal %s); "
                           "a request id names exactly one request", id, cfg->state_dir);
    }
    if (found && r->jr->state != H2A_JS_FAILED) {
        if (s_all_cleaned(r)) {
            /* Done before: idempotent, report what was delivered. */
            r->finished = true;
            return h2a_enroll_output(r, &r->item->out);
        }
        return s_continue(r);
    }
    r->label_reserved = !found;
    return h2a_enroll_validate(r);
}

/* The fresh requests' rows, durable before any key of the group is made. */
static bool s_wants_insert(const h2a_run *r)
{
    return r->need_insert;
}

static h2a_err s_insert_rows(h2a_run *r)
{
    return h2a_journal_insert(r->journal, r->jr, r->jt, r->njt);
}

static void s_insert_done(h2a_run *r, bool committed)
{
    if (committed) {
        s_inserted(r);
    }
}

static const struct s_commit s_inserts = {H2A_JSYNC_DURABLE, s_wants_insert, s_insert_rows,
                                          s_insert_done};

/* The certificates, durable before any staging secret of the group. */
static bool s_wants_issued(const h2a_run *r)
{
    return r->need_issued;
}

static void s_issued_done(h2a_run *r, bool committed)
{
    if (committed) {
        r->need_issued = false;
        h2a_err_clear();
        h2a_enroll_audit(r, -1, "issue", "ok", NULL, NULL, r->req->issuer);
    }
}

static const struct s_commit s_issues = {H2A_JSYNC_DURABLE, s_wants_issued, s_issued_rows,
                                         s_issued_done};

/* After the last step: the result of each run, or its first delivery failure. */
static void s_finish(h2a_run **runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h2a_run *r = runs[i];
        h2a_err rv;

        if (!s_active(r)) {
            continue;
        }
        if (r->deliver_rv != H2A_OK) {
            (void)h2a_jset(&r->jr->error, r->deliver_msg);
            if (h2a_enroll_put_req(r) != H2A_OK) {
                H2A_LOG_ERR("journal: %s", h2a_err_msg());
            }
            h2a_err_set(r->deliver_rv, "%s", r->deliver_msg);
            s_failed(r, r->deliver_rv);
            continue;
        }
        h2a_enroll_audit(r, -1, "done", "ok", NULL, NULL, NULL);
        rv = h2a_enroll_output(r, &r->item->out);
        if (rv != H2A_OK) {
            s_failed(r, rv);
        }
    }
}

static h2a_err s_issue_ctx(h2a_run *r, h2a_issue_ctx *ic)
{
    memset(ic, 0, sizeof(*ic));
    ic->conf = h2a_config_issuer(r->cfg, r->req->issuer);
    if (ic->conf == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "issuer: '%s' is not configured", r->req->issuer);
    }
    ic->state_dir = r->cfg->state_dir;
    ic->session = r->sess;
    ic->request_id = r->req->id;
    ic->requester = r->req->requester;
    ic->state = r->w->issuers;
    ic->generation = r->jr != NULL ? r->jr->key_id : NULL;
    /* Issuers that call AWS themselves; a resumed run may not have opened it yet. */
    if (ic->conf->type == H2A_ISSUER_ACM_PCA ||
        (ic->conf->type == H2A_ISSUER_ACME &&
         ic->conf->acme->challenge == H2A_ACME_CH_DNS_ROUTE53)) {
        H2A_GUARD(h2a_enroll_aws_open(r));
    }
    ic->aws = r->aws;
    return H2A_OK;
}

static h2a_err s_act_submit(h2a_run *r)
{
    h2a_issue_ctx ic;
    h2a_err rv = s_issue_ctx(r, &ic);

    return rv == H2A_OK ? h2a_enroll_submit(r, &ic) : h2a_enroll_fail_early(r, rv, "issue");
}

/* The certificate (polled, or from the journal), verified before anything is delivered. */
static h2a_err s_act_poll(h2a_run *r)
{
    h2a_issue_ctx ic;
    h2a_err rv = s_issue_ctx(r, &ic);
    long long t0;

    if (rv != H2A_OK) {
        return h2a_enroll_fail_early(r, rv, "issue");
    }
    H2A_GUARD(h2a_enroll_poll_once(r, &ic));
    if (r->poll_next > 0) {
        return H2A_OK; /* pending: the loop polls again when it is due */
    }
    t0 = h2a_enroll_now_ms();
    rv = h2a_enroll_verify(r);
    if (rv != H2A_OK) {
        return h2a_enroll_fail_early(r, rv, "verify");
    }
    r->t_ms[H2A_T_VERIFY] = h2a_enroll_now_ms() - t0;
    r->need_issued = r->jr->state < H2A_JS_ISSUED;
    return H2A_OK;
}

/* Delivery acts target by target; a failed target does not stop the run. */
static h2a_err s_act_stage(h2a_run *r)
{
    s_deliver_upto(r, H2A_JS_STAGED);
    return H2A_OK;
}

static h2a_err s_act_import(h2a_run *r)
{
    s_deliver_upto(r, H2A_JS_IMPORTED);
    return H2A_OK;
}

static h2a_err s_act_cleanup(h2a_run *r)
{
    s_deliver_upto(r, H2A_JS_CLEANED);
    return H2A_OK;
}

/*
 * The steps. `from`: the request state a run must have reached to take the
 * step (delivery keeps the request at issued; its targets move, checked
 * per target). `to`: what its commit records; a run whose journal is
 * already past it (resumed) skips the step. An action on a run at exactly
 * `to` finds what an interrupted run made instead of making it again.
 */
struct s_step {
    const char *name;
    h2a_jstate from;
    h2a_jstate to;
    h2a_err (*action)(h2a_run *r);
    bool defer;  /* its rows wait for the group's commit */
    bool repeat; /* taken again by runs that wait (r->poll_next), each when due */
    const struct s_commit *record;
};

static const struct s_step s_table[] = {
    {"validate", H2A_JS_NONE, H2A_JS_VALIDATED, s_prepare, false, false, &s_inserts},
    {"keygen", H2A_JS_VALIDATED, H2A_JS_KEY_GENERATED, h2a_enroll_keygen, true, false,
     &s_states},
    {"csr", H2A_JS_KEY_GENERATED, H2A_JS_CSR_SIGNED, h2a_enroll_csr, true, false, &s_states},
    {"submit", H2A_JS_CSR_SIGNED, H2A_JS_SUBMITTED, s_act_submit, true, false, &s_submits},
    {"poll", H2A_JS_CSR_SIGNED, H2A_JS_ISSUED, s_act_poll, false, true, &s_issues},
    {"stage", H2A_JS_ISSUED, H2A_JS_STAGED, s_act_stage, true, false, &s_steps},
    {"import", H2A_JS_ISSUED, H2A_JS_IMPORTED, s_act_import, true, false, &s_steps},
    {"cleanup", H2A_JS_ISSUED, H2A_JS_CLEANED, s_act_cleanup, true, false, &s_end},
};

/* Does run r take step st? A journal behind `from` is a state error. */
static bool s_takes(h2a_run *r, const struct s_step *st)
{
    h2a_jstate at;

    if (!s_active(r)) {
        return false;
    }
    at = r->jr != NULL ? r->jr->state : H2A_JS_NONE;
    if (at < st->from) {
        s_failed(r, h2a_err_set(H2A_ERR_STATE, "journal: request '%s' is %s; step %s needs %s",
                                r->jr->id, h2a_jstate_name(at), st->name,
                                h2a_jstate_name(st->from)));
        return false;
    }
    return at <= st->to || st->to >= H2A_JS_STAGED;
}

/* Step st for every run that takes it. */
static void s_act_all(h2a_run **runs, size_t n, const struct s_step *st)
{
    for (size_t i = 0; i < n; i++) {
        h2a_err rv;

        if (!s_takes(runs[i], st)) {
            continue;
        }
        runs[i]->defer = st->defer;
        rv = st->action(runs[i]);
        runs[i]->defer = false;
        if (rv != H2A_OK) {
            s_failed(runs[i], rv);
        }
    }
}

/* A waiting run whose poll is due: the step's action again. */
static void s_poll_again(h2a_run *r, void *arg)
{
    const struct s_step *st = arg;
    h2a_err rv;

    if (!s_active(r)) {
        r->poll_next = 0;
        return;
    }
    rv = st->action(r);
    if (rv != H2A_OK) {
        s_failed(r, rv);
        r->poll_next = 0;
    }
}

static void s_run_steps(h2a_run **runs, size_t n)
{
    for (size_t k = 0; k < sizeof(s_table) / sizeof(s_table[0]); k++) {
        const struct s_step *st = &s_table[k];

        s_act_all(runs, n, st);
        if (st->repeat) {
            h2a_enroll_wait_due(runs, n, s_poll_again, (void *)st);
        }
        s_group_commit(runs, n, st->record);
    }
    s_finish(runs, n);
}

static void s_run_end(h2a_run *r)
{
    for (size_t i = 0; i < H2A_REQUEST_MAX_TARGETS; i++) {
        h2a_buf_free(&r->staged[i]);
        h2a_cert_usage_cleanup(&r->held[i]);
        h2a_cert_usage_cleanup(&r->ahead[i]);
    }
    X509_REQ_free(r->csr);
    X509_free(r->cert);
    sk_X509_pop_free(r->chain, X509_free);
    h2a_p11_key_free(r->key);
    /* accts[0] is the worker's context; assumed roles are the run's own. */
    for (size_t i = 0; i < r->n_accts; i++) {
        if (r->accts[i].own) {
            h2a_aws_ctx_free(r->accts[i].ctx);
        }
        free(r->accts[i].account);
    }
    h2a_jreq_free(r->jr);
    h2a_jtargets_free(r->jt, r->njt);
    h2a_request_free(r->req);
    h2a_policy_free(r->policy);
    h2a_audit_close(r->audit);
    if (r->lock_fd >= 0) {
        close(r->lock_fd);
    }
    free(r);
}

static void s_fail_all(h2a_enroll_item *items, size_t n, h2a_err rv)
{
    for (size_t i = 0; i < n; i++) {
        items[i].rv = rv;
        snprintf(items[i].error, sizeof(items[i].error), "%s", h2a_err_msg());
    }
}

void h2a_enroll_group(H2A_WORKER *w, h2a_enroll_item *items, size_t n)
{
    h2a_run *runs[H2A_ENROLL_GROUP_MAX];
    size_t made = 0;

    for (size_t i = 0; i < n; i++) {
        items[i].rv = H2A_OK;
        items[i].error[0] = '\0';
    }
    if (n > H2A_ENROLL_GROUP_MAX) {
        s_fail_all(items, n, h2a_err_set(H2A_ERR_INTERNAL, "enroll group of %zu requests", n));
        return;
    }
    for (; made < n; made++) {
        runs[made] = calloc(1, sizeof(h2a_run));
        if (runs[made] == NULL) {
            break;
        }
        runs[made]->w = w;
        runs[made]->cfg = w->cfg;
        runs[made]->lock_fd = -1;
        runs[made]->item = &items[made];
    }
    if (made == n) {
        h2a_enroll_describe_ahead(w, runs, n);
        s_run_steps(runs, n);
    } else {
        /* Nothing ran: every item says so, not only those without a run. */
        s_fail_all(items, n, h2a_err_set(H2A_ERR_NOMEM, "enroll: out of memory"));
    }
    for (size_t i = 0; i < made; i++) {
        s_run_end(runs[i]);
    }
}

h2a_err h2a_enroll_run(const h2a_config *cfg, const h2a_request *req,
                       const char *resume_id, h2a_buf *out)
{
    h2a_enroll_item it;
    H2A_WORKER *w = NULL;

    H2A_GUARD(h2a_worker_new(cfg, false, &w));
    memset(&it, 0, sizeof(it));
    it.req = req;
    it.resume_id = resume_id;
    h2a_buf_init(&it.out, 0);
    h2a_enroll_group(w, &it, 1);
    h2a_worker_free(w);
    if (it.rv != H2A_OK) {
        h2a_buf_free(&it.out);
        return h2a_err_set(it.rv, "%s", it.error);
    }
    /* The caller's buffer takes the result as it is (it may be wiped on free). */
    H2A_GUARD(h2a_buf_append(out, it.out.data, it.out.len));
    h2a_buf_free(&it.out);
    return h2a_buf_terminate(out);
}
