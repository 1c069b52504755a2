/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll/enroll_int.h"

/*
 * The journal rows of a run. Every state move goes through s_check against
 * the journal's state machine (h2a_jstate_can_move): an illegal one is a
 * state error (exit 8) and writes nothing, never a silent jump.
 */

/* row -1: the request row; else target `row`. */
static h2a_err s_check(const h2a_run *r, long row, h2a_jstate from, h2a_jstate to)
{
    if (h2a_jstate_can_move(row < 0 ? H2A_JROW_REQUEST : H2A_JROW_TARGET, from, to)) {
        return H2A_OK;
    }
    if (row < 0) {
        return h2a_err_set(H2A_ERR_STATE, "journal: request '%s' cannot move from %s to %s",
                           r->jr->id, h2a_jstate_name(from), h2a_jstate_name(to));
    }
    return h2a_err_set(H2A_ERR_STATE, "journal: request '%s' target %ld cannot move from "
                       "%s to %s", r->jr->id, row, h2a_jstate_name(from),
                       h2a_jstate_name(to));
}

h2a_err h2a_enroll_new_rows(h2a_run *r)
{
    h2a_buf body;
    char label[65];
    h2a_err rv;

    r->jr = calloc(1, sizeof(*r->jr));
    r->jt = calloc(r->req->n_targets, sizeof(*r->jt));
    if (r->jr == NULL || r->jt == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "journal");
    }
    r->njt = r->req->n_targets;
    h2a_buf_init(&body, 0);
    rv = h2a_request_canonical(r->req, &body);
    h2a_enroll_key_label(r->req->id, label);
    if (rv == H2A_OK) {
        r->jr->state = H2A_JS_VALIDATED;
        if (h2a_jset(&r->jr->id, r->req->id) != H2A_OK ||
            h2a_jset(&r->jr->body_hash, r->hash) != H2A_OK ||
            h2a_jset(&r->jr->body, (const char *)body.data) != H2A_OK ||
            h2a_jset(&r->jr->requester, r->req->requester) != H2A_OK ||
            h2a_jset(&r->jr->key_label, label) != H2A_OK ||
            h2a_jset(&r->jr->reason, r->req->reason != NULL ? r->req->reason : "enroll") !=
                H2A_OK) {
            rv = H2A_ERR_NOMEM;
        }
    }
    for (size_t i = 0; rv == H2A_OK && i < r->njt; i++) {
        const h2a_target *t = &r->req->targets[i];

        r->jt[i].idx = i;
        r->jt[i].state = H2A_JS_VALIDATED;
        if (h2a_jset(&r->jt[i].region, t->region) != H2A_OK ||
            h2a_jset(&r->jt[i].account, t->account) != H2A_OK ||
            h2a_jset(&r->jt[i].certificate_arn, t->certificate_arn) != H2A_OK) {
            rv = H2A_ERR_NOMEM;
        }
    }
    h2a_buf_free(&body);
    return rv;
}

h2a_err h2a_enroll_put_req(h2a_run *r)
{
    return h2a_journal_put_request(r->journal, r->jr);
}

h2a_err h2a_enroll_target_move(h2a_run *r, size_t i, h2a_jstate st)
{
    h2a_jtarget *t = &r->jt[i];
    h2a_jstate from = t->state == H2A_JS_FAILED ? t->resume_from : t->state;

    H2A_GUARD(s_check(r, (long)i, from, st));
    t->resume_from = st == H2A_JS_FAILED ? from : H2A_JS_NONE;
    t->state = st;
    return H2A_OK;
}

h2a_err h2a_enroll_can_advance(h2a_run *r, h2a_jstate st)
{
    H2A_GUARD(s_check(r, -1, r->jr->state, st));
    for (size_t i = 0; i < r->njt; i++) {
        if (r->jt[i].state < st) {
            H2A_GUARD(s_check(r, (long)i, r->jt[i].state, st));
        }
    }
    return H2A_OK;
}

h2a_err h2a_enroll_advance_rows(h2a_run *r, h2a_jstate st)
{
    h2a_err rv;

    /* All checked before any is written: a refused move leaves the rows as they were. */
    H2A_GUARD(h2a_enroll_can_advance(r, st));
    r->jr->state = st;
    rv = h2a_enroll_put_req(r);
    for (size_t i = 0; rv == H2A_OK && i < r->njt; i++) {
        if (r->jt[i].state < st) {
            r->jt[i].state = st;
            rv = h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]);
        }
    }
    return rv;
}

h2a_err h2a_enroll_advance(h2a_run *r, h2a_jstate st, h2a_jsync sync)
{
    H2A_GUARD(h2a_journal_begin(r->journal, sync));
    return h2a_journal_end(r->journal, h2a_enroll_advance_rows(r, st));
}

h2a_err h2a_enroll_put_target(h2a_run *r, size_t i, h2a_jsync sync)
{
    H2A_GUARD(h2a_journal_begin(r->journal, sync));
    return h2a_journal_end(r->journal,
                           h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]));
}

h2a_err h2a_enroll_lazy_state(h2a_run *r, h2a_jstate st)
{
    if (!r->defer) {
        return h2a_enroll_advance(r, st, H2A_JSYNC_LAZY);
    }
    /* Checked now, so that the group's commit cannot fail on it. */
    H2A_GUARD(h2a_enroll_can_advance(r, st));
    r->pend_state = st;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Failure handling                                                    */
/* ------------------------------------------------------------------ */

bool h2a_enroll_anything_staged(const h2a_run *r)
{
    for (size_t i = 0; i < r->njt; i++) {
        h2a_jstate s = r->jt[i].state == H2A_JS_FAILED ? r->jt[i].resume_from
                                                        : r->jt[i].state;
        if (s >= H2A_JS_STAGED || r->jt[i].imported_arn != NULL) {
            return true;
        }
    }
    return false;
}

bool h2a_enroll_terminal(h2a_err e)
{
    return e == H2A_ERR_INPUT || e == H2A_ERR_USAGE || e == H2A_ERR_POLICY ||
           e == H2A_ERR_ISSUER || e == H2A_ERR_VERIFY;
}

/* A failure in steps 2-4: terminal ones roll back the key; others stay resumable. */
h2a_err h2a_enroll_fail_early(h2a_run *r, h2a_err rv, const char *step)
{
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
    if (r->jr == NULL) {
        return rv;
    }
    (void)h2a_jset(&r->jr->error, msg);
    (void)h2a_jset(&r->jr->failed_step, step);
    /*
     * A wait that outlived the issuer's timeout is not the issuer's answer:
     * the request stays submitted and resume polls the handle again.
     */
    if (h2a_enroll_terminal(rv) && !r->wait_timed_out && !h2a_enroll_anything_staged(r)) {
        if (r->key != NULL) {
            h2a_err drv = h2a_p11_key_destroy(r->key);

            r->key = NULL;
            if (drv != H2A_OK) {
                H2A_LOG_ERR("could not destroy key '%s': %s", r->jr->key_label,
                            h2a_err_msg());
            } else {
                h2a_enroll_audit(r, -1, "key_destroyed", "ok", NULL, NULL,
                                 r->jr->key_label);
            }
        }
        if (s_check(r, -1, r->jr->state, H2A_JS_FAILED) == H2A_OK) {
            r->jr->state = H2A_JS_FAILED;
        }
        for (size_t i = 0; i < r->njt; i++) {
            if (h2a_enroll_target_move(r, i, H2A_JS_FAILED) != H2A_OK ||
                h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]) != H2A_OK) {
                H2A_LOG_ERR("journal: %s", h2a_err_msg());
            }
        }
    }
    if (h2a_journal_put_request(r->journal, r->jr) != H2A_OK) {
        H2A_LOG_ERR("journal: %s", h2a_err_msg());
    }
    h2a_err_set(rv, "%s", msg);
    h2a_enroll_audit(r, -1, step,
                     h2a_enroll_terminal(rv) && !r->wait_timed_out ? "refused" : "failed",
                     NULL, NULL, msg);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

h2a_err h2a_enroll_output(h2a_run *r, h2a_buf *out)
{
    static const char *const tnames[H2A_T__COUNT] = {"validate", "keygen", "csr", "issue",
                                                      "verify"};
    json_object *o = json_object_new_object();
    json_object *arr = json_object_new_array();
    const char *txt;
    h2a_err rv = H2A_OK;

    if (o == NULL || arr == NULL) {
        json_object_put(o);
        json_object_put(arr);
        return h2a_err_set(H2A_ERR_NOMEM, "output");
    }
    json_object_object_add(o, "id", json_object_new_string(r->req->id));
    for (size_t i = 0; i < r->njt; i++) {
        const h2a_jtarget *t = &r->jt[i];
        json_object *jt = json_object_new_object();
        json_object *tm = NULL;

        json_object_object_add(jt, "region", json_object_new_string(t->region));
        json_object_object_add(jt, "account", t->account ? json_object_new_string(t->account) : NULL);
        json_object_object_add(jt, "certificate_arn",
                               t->imported_arn ? json_object_new_string(t->imported_arn) : NULL);
        json_object_object_add(jt, "serial", t->serial ? json_object_new_string(t->serial) : NULL);
        json_object_object_add(jt, "not_after",
                               r->jr->not_after ? json_object_new_string(r->jr->not_after) : NULL);
        json_object_object_add(jt, "key_id", r->jr->key_id ? json_object_new_string(r->jr->key_id) : NULL);
        json_object_object_add(jt, "kcv", r->jr->kcv ? json_object_new_string(r->jr->kcv) : NULL);
        if (t->new_arn) {
            json_object_object_add(jt, "new_arn", json_object_new_boolean(1));
        }
        json_object_object_add(jt, "state", json_object_new_string(h2a_jstate_name(t->state)));
        if (t->timings != NULL) {
            tm = json_tokener_parse(t->timings);
        }
        if (tm == NULL) {
            tm = json_object_new_object();
        }
        for (int k = 0; k < H2A_T__COUNT; k++) {
            if (r->t_ms[k] > 0 && !json_object_object_get_ex(tm, tnames[k], NULL)) {
                json_object_object_add(tm, tnames[k], json_object_new_int64(r->t_ms[k]));
            }
        }
        json_object_object_add(jt, "timings_ms", tm);
        json_object_array_add(arr, jt);
    }
    json_object_object_add(o, "targets", arr);
    txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    if (txt == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "output");
    } else {
        rv = h2a_buf_append_str(out, txt);
        if (rv == H2A_OK) {
            rv = h2a_buf_terminate(out);
        }
    }
    json_object_put(o);
    return rv;
}

h2a_err h2a_enroll_serving_get(h2a_run *r, const char *arn, h2a_enroll_serving *out)
{
    h2a_jgen *g = NULL;
    h2a_jtarget *jt = NULL;
    size_t ng = 0, njt = 0;
    h2a_err rv;

    memset(out, 0, sizeof(*out));
    rv = h2a_journal_generations(r->journal, arn, &g, &ng);
    if (rv == H2A_OK && ng > 0) {
        out->target_idx = g[0].target_idx;
        rv = h2a_journal_get(r->journal, g[0].request_id, &out->jr, &jt, &njt);
    }
    if (rv == H2A_OK && out->jr != NULL &&
        h2a_request_parse(out->jr->body, strlen(out->jr->body), &out->q) != H2A_OK) {
        h2a_err_clear();
    }
    h2a_jtargets_free(jt, njt);
    h2a_jgens_free(g, ng);
    if (rv != H2A_OK) {
        h2a_enroll_serving_free(out);
    }
    return rv;
}

void h2a_enroll_serving_free(h2a_enroll_serving *s)
{
    h2a_request_free(s->q);
    h2a_jreq_free(s->jr);
    memset(s, 0, sizeof(*s));
}
