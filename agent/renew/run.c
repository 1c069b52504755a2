/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "enroll/h2a_enroll.h"
#include "renew/renew_int.h"

struct s_set {
    h2a_renew_cand *v;
    size_t n, cap;
};

static void s_set_free(struct s_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        h2a_renew_cand_free(&s->v[i]);
    }
    free(s->v);
}

/*
 * Add candidate `c` (taken over), once per request (a request's ARNs renew
 * together). Named ones are few and compared with every entry; the
 * journal's list comes sorted by request, so there the last entry is enough.
 */
static h2a_err s_add(struct s_set *s, h2a_renew_cand *c, bool named)
{
    for (size_t i = named || s->n == 0 ? 0 : s->n - 1; i < s->n; i++) {
        if (strcmp(s->v[i].jr->id, c->jr->id) == 0) {
            s->v[i].named = s->v[i].named || named;
            h2a_renew_cand_free(c);
            return H2A_OK;
        }
    }
    if (s->n == s->cap) {
        h2a_renew_cand *nv = realloc(s->v, (s->cap ? s->cap * 2 : 16) * sizeof(*nv));

        if (nv == NULL) {
            h2a_renew_cand_free(c);
            return h2a_err_set(H2A_ERR_NOMEM, "renew");
        }
        s->v = nv;
        s->cap = s->cap ? s->cap * 2 : 16;
    }
    c->named = named;
    s->v[s->n++] = *c;
    return H2A_OK;
}

static h2a_err s_add_arn(H2A_JOURNAL *j, struct s_set *s, const char *arn)
{
    h2a_renew_cand c;
    bool found = false;

    H2A_GUARD(h2a_renew_cand_for_arn(j, arn, &c, &found));
    if (!found) {
        return h2a_err_set(H2A_ERR_INPUT, "--arn %s: the journal has no generation of it "
                           "(hsm2acm did not deliver it; see hsm2acm adopt)", arn);
    }
    return s_add(s, &c, true);
}

static h2a_err s_collect(H2A_JOURNAL *j, const h2a_renew_opts *o, struct s_set *s)
{
    h2a_jcur *cur = NULL;
    size_t n = 0;
    h2a_err rv = H2A_OK;

    for (size_t i = 0; rv == H2A_OK && i < o->n_arns; i++) {
        rv = s_add_arn(j, s, o->arns[i]);
    }
    for (size_t i = 0; rv == H2A_OK && i < o->n_ids; i++) {
        char *arn = NULL;

        rv = h2a_journal_request_arn(j, o->ids[i], &arn);
        if (rv == H2A_OK && arn == NULL) {
            rv = h2a_err_set(H2A_ERR_INPUT, "--id %s: the journal has no delivery of that "
                             "request", o->ids[i]);
        }
        if (rv == H2A_OK) {
            rv = s_add_arn(j, s, arn);
        }
        free(arn);
    }
    if (rv != H2A_OK || o->n_arns + o->n_ids > 0) {
        return rv;
    }
    /* Everything in one query: what the due time needs, no certificate to parse. */
    rv = h2a_journal_current(j, NULL, &cur, &n);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        h2a_renew_cand c;

        h2a_renew_cand_take(&cur[i], &c);
        rv = s_add(s, &c, false);
    }
    h2a_jcurs_free(cur, n);
    return rv;
}

/* Due time and the id its renewal runs under; the policy gives the knobs. */
static h2a_err s_due(h2a_renew_cand *c, const h2a_policy_lifecycle *l, h2a_renew_src *src)
{
    if (c->jr->not_before != 0 && c->times.not_after != 0) {
        c->times.not_before = c->jr->not_before;
    } else {
        /* A row the journal could not fill the columns of: its certificate says. */
        H2A_GUARD(h2a_renew_cert_times(c->jr->cert_pem, &c->times));
    }
    h2a_renew_src_apply(src, c);
    c->due = h2a_renew_due(l, &c->times, h2a_renew_seed(c->jr->serial), &c->why);
    /*
     * A renewal interrupted after its import is already the current
     * generation: finish it (cleanup) instead of renewing it again.
     */
    if (c->jr->state != H2A_JS_CLEANED && c->jr->reason != NULL &&
        strcmp(c->jr->reason, "renew") == 0) {
        c->resume = true;
        c->due = c->times.not_before;
        snprintf(c->new_id, sizeof(c->new_id), "%s", c->jr->id);
        return H2A_OK;
    }
    return h2a_renew_derived_id(c->jr, 'g', c->gen + 1, c->new_id, sizeof(c->new_id));
}

static json_object *s_describe(const h2a_renew_cand *c, long long now)
{
    json_object *o = json_object_new_object();
    char t[32];

    json_object_object_add(o, "request_id", json_object_new_string(c->jr->id));
    json_object_object_add(o, "arn", json_object_new_string(c->arn));
    json_object_object_add(o, "generation", json_object_new_int64(c->gen));
    json_object_object_add(o, "serial", json_object_new_string(c->jr->serial ? c->jr->serial
                                                                             : ""));
    h2a_renew_iso(c->times.not_after, t);
    json_object_object_add(o, "not_after", json_object_new_string(t));
    h2a_renew_iso(c->due, t);
    json_object_object_add(o, "due_at", json_object_new_string(t));
    json_object_object_add(o, "due", json_object_new_boolean(now >= c->due));
    json_object_object_add(o, "why", json_object_new_string(
                                         c->named && now < c->due ? "named"
                                                                  : h2a_due_rule_name(c->why)));
    json_object_object_add(o, "renewal_id", json_object_new_string(c->new_id));
    if (c->from_inventory) {
        json_object_object_add(o, "not_after_from", json_object_new_string("inventory"));
    }
    return o;
}

static int s_emit(h2a_buf *out, json_object *o, int code)
{
    if (h2a_buf_printf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) !=
        H2A_OK) {
        code = h2a_err_exit_code(H2A_ERR_NOMEM);
    }
    json_object_put(o);
    return code;
}

/*
 * Where each target of a renewal that stopped stands, from its journal row:
 * a multi-target renewal may have delivered to some ARNs already, and
 * running renew again (or resume with the renewal id) delivers the rest.
 */
static json_object *s_targets(const h2a_config *cfg, const char *id)
{
    H2A_JOURNAL *j = NULL;
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    size_t n = 0;
    json_object *a = NULL;

    if (h2a_journal_open(cfg->state_dir, &j) == H2A_OK &&
        h2a_journal_get(j, id, &r, &t, &n) == H2A_OK && r != NULL && n > 0) {
        a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_new_object();
            const char *arn = t[i].imported_arn ? t[i].imported_arn : t[i].certificate_arn;
            bool done = t[i].state == H2A_JS_IMPORTED || t[i].state == H2A_JS_CLEANED;

            json_object_object_add(o, "region", json_object_new_string(t[i].region));
            json_object_object_add(o, "account", t[i].account ? json_object_new_string(t[i].account) : NULL);
            json_object_object_add(o, "certificate_arn", arn ? json_object_new_string(arn) : NULL);
            json_object_object_add(o, "state", json_object_new_string(h2a_jstate_name(t[i].state)));
            json_object_object_add(o, "delivered", json_object_new_boolean(done));
            json_object_object_add(o, "error", t[i].error ? json_object_new_string(t[i].error) : NULL);
            json_object_array_add(a, o);
        }
    }
    h2a_err_clear();
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    h2a_journal_close(j);
    return a;
}

/* The result line of candidate `c`: the engine's JSON, or its error (and its targets). */
static int s_result(const h2a_config *cfg, const h2a_renew_cand *c, h2a_err rv,
                    const char *error, h2a_buf *res, h2a_buf *out)
{
    json_object *o = s_describe(c, 0), *r = NULL;
    int code = h2a_err_exit_code(rv);

    json_object_object_del(o, "due");
    json_object_object_del(o, "why");
    json_object_object_del(o, "due_at");
    json_object_object_del(o, "not_after_from");
    if (rv == H2A_OK && h2a_buf_terminate(res) == H2A_OK) {
        r = json_tokener_parse((const char *)res->data);
    }
    if (r != NULL) {
        json_object_object_add(o, "result", r);
    } else {
        json_object *ts = cfg != NULL ? s_targets(cfg, c->new_id) : NULL;

        json_object_object_add(o, "error", json_object_new_string(error));
        json_object_object_add(o, "exit_code", json_object_new_int(code));
        if (ts != NULL) {
            json_object_object_add(o, "targets", ts);
        }
    }
    return s_emit(out, o, code);
}

/* A group's renewals, locked and derived, waiting for the engine. */
struct s_grp {
    h2a_renew_cand **cs;
    size_t n, m;
    h2a_renew_locks lk[H2A_ENROLL_GROUP_MAX];
    h2a_enroll_item it[H2A_ENROLL_GROUP_MAX];
    h2a_request *q[H2A_ENROLL_GROUP_MAX];
    char derr[H2A_ENROLL_GROUP_MAX][256];
    h2a_err drv[H2A_ENROLL_GROUP_MAX];
    size_t at[H2A_ENROLL_GROUP_MAX];
};

/*
 * Lock and derive up to a group's worth of renewals, then start reading
 * their ARNs (under those locks) on the worker's threads, so that the reads
 * go on while the group before them runs.
 */
static void s_group_prepare(const h2a_config *cfg, H2A_WORKER *w, h2a_renew_cand **cs,
                            size_t n, struct s_grp *g)
{
    const h2a_request *reqs[H2A_ENROLL_GROUP_MAX];

    memset(g, 0, sizeof(*g));
    g->cs = cs;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        /* Held until the group is through: a rollback or adopt of these ARNs waits. */
        g->drv[i] = h2a_renew_lock(cfg, cs[i]->arn, cs[i], &g->lk[i]);
        if (g->drv[i] == H2A_OK && !cs[i]->resume) {
            g->drv[i] = h2a_renew_derive(cs[i], cs[i]->new_id, "renew", &g->q[i]);
        }
        snprintf(g->derr[i], sizeof(g->derr[i]), "%s", g->drv[i] != H2A_OK ? h2a_err_msg() : "");
        if (g->drv[i] == H2A_OK) {
            g->at[i] = g->m;
            g->it[g->m].req = g->q[i];
            g->it[g->m].resume_id = cs[i]->resume ? cs[i]->new_id : NULL;
            h2a_buf_init(&g->it[g->m++].out, 0);
        }
    }
    for (size_t k = 0; k < g->m; k++) {
        reqs[k] = g->it[k].req;
    }
    h2a_enroll_read_ahead(w, reqs, g->m);
}

/* The group through the engine (one group commit per step, as for a batch); lines in order. */
static int s_group_finish(const h2a_config *cfg, H2A_WORKER *w, struct s_grp *g, h2a_buf *out)
{
    int worst = 0;

    if (g->m > 0) {
        h2a_enroll_group(w, g->it, g->m);
    }
    for (size_t i = 0; i < g->n; i++) {
        h2a_buf none;
        int code;

        h2a_buf_init(&none, 0);
        /* A renewal refused before it ran (lock, derivation) has no rows of its own to report. */
        code = g->drv[i] != H2A_OK
                   ? s_result(NULL, g->cs[i], g->drv[i], g->derr[i], &none, out)
                   : s_result(cfg, g->cs[i], g->it[g->at[i]].rv, g->it[g->at[i]].error,
                              &g->it[g->at[i]].out, out);
        worst = code > worst ? code : worst;
        h2a_buf_free(&none);
        h2a_request_free(g->q[i]);
        h2a_renew_unlock(&g->lk[i]);
    }
    for (size_t k = 0; k < g->m; k++) {
        h2a_buf_free(&g->it[k].out);
    }
    return worst;
}

int h2a_renew_groups(const h2a_config *cfg, H2A_WORKER *w, h2a_renew_cand **cs, size_t n,
                     h2a_renew_group_cb cb, void *arg)
{
    struct s_grp *g = calloc(2, sizeof(*g));
    size_t cur = 0;
    int worst = 0;

    if (g == NULL) {
        return h2a_err_exit_code(h2a_err_set(H2A_ERR_NOMEM, "renew"));
    }
    if (n > 0) {
        s_group_prepare(cfg, w, cs, n < H2A_ENROLL_GROUP_MAX ? n : H2A_ENROLL_GROUP_MAX, &g[0]);
    }
    for (size_t i = 0; i < n;) {
        size_t k = g[cur].n, next = i + k;
        h2a_buf out;
        int code;

        /* The next group is locked and its reads queued before this one runs. */
        if (next < n) {
            s_group_prepare(cfg, w, cs + next,
                            n - next < H2A_ENROLL_GROUP_MAX ? n - next : H2A_ENROLL_GROUP_MAX,
                            &g[1 - cur]);
        }
        h2a_buf_init(&out, 0);
        code = s_group_finish(cfg, w, &g[cur], &out);
        worst = code > worst ? code : worst;
        cb(arg, i, k, &out);
        h2a_buf_free(&out);
        cur = 1 - cur;
        i = next;
    }
    free(g);
    return worst;
}

struct s_sink {
    h2a_buf *out;
    int code; /* set when a group's lines could not be kept */
};

static void s_append(void *arg, size_t first, size_t k, const h2a_buf *lines)
{
    struct s_sink *s = arg;

    (void)first;
    (void)k;
    if (h2a_buf_append(s->out, lines->data, lines->len) != H2A_OK) {
        s->code = h2a_err_exit_code(H2A_ERR_NOMEM);
    }
}

static h2a_err s_run_due(const h2a_config *cfg, h2a_renew_cand **todo, size_t n,
                         h2a_buf *out, int *worst)
{
    H2A_WORKER *w = NULL;
    struct s_sink sink = {out, 0};
    int code;

    if (n == 0) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_worker_new(cfg, n > 1, &w));
    code = h2a_renew_groups(cfg, w, todo, n, s_append, &sink);
    code = sink.code > code ? sink.code : code;
    *worst = code > *worst ? code : *worst;
    h2a_worker_free(w);
    return H2A_OK;
}

h2a_err h2a_renew_lifecycle(const h2a_config *cfg, h2a_policy_lifecycle *l)
{
    H2A_POLICY *p = NULL;

    H2A_GUARD(h2a_policy_load(cfg->policy, &p));
    h2a_policy_get_lifecycle(p, l);
    h2a_policy_free(p);
    return H2A_OK;
}

/*
 * A multi-target renewal that delivered to some ARNs is their current
 * generation (and resumes), while the ARNs it has not reached yet still
 * have the request it derives from, whose renewal is that same id: one
 * renewal, not two. `res` lists the resuming ones (interrupted renewals:
 * few), so this costs nothing when there are none.
 */
static bool s_resumed_elsewhere(const struct s_set *s, const size_t *res, size_t nres,
                                size_t i)
{
    for (size_t k = 0; !s->v[i].resume && k < nres; k++) {
        if (strcmp(s->v[res[k]].new_id, s->v[i].new_id) == 0) {
            return true;
        }
    }
    return false;
}

/* Due ones (and named ones) in journal order; with dry_run their lines only. */
static h2a_err s_choose(H2A_JOURNAL *j, struct s_set *s, const size_t *res, size_t nres,
                        bool dry_run, h2a_renew_cand **todo, size_t *n, h2a_buf *out)
{
    long long now = h2a_renew_now();

    for (size_t i = 0; i < s->n; i++) {
        if ((!s->v[i].named && now < s->v[i].due) || s_resumed_elsewhere(s, res, nres, i)) {
            continue;
        }
        if (dry_run && s_emit(out, s_describe(&s->v[i], now), 0) != 0) {
            return h2a_err_set(H2A_ERR_NOMEM, "renew");
        }
        /* Those that will run get their whole journal rows. */
        if (!dry_run) {
            H2A_GUARD(h2a_renew_cand_load(j, &s->v[i]));
        }
        todo[(*n)++] = &s->v[i];
    }
    return H2A_OK;
}

static h2a_err s_pick(H2A_JOURNAL *j, struct s_set *s, const h2a_policy_lifecycle *l,
                      h2a_renew_src *src, bool dry_run, h2a_renew_cand ***todo, size_t *n,
                      h2a_buf *out)
{
    size_t *res = calloc(s->n + 1, sizeof(*res)), nres = 0;
    h2a_err rv = H2A_OK;

    *n = 0;
    *todo = calloc(s->n + 1, sizeof(**todo));
    if (*todo == NULL || res == NULL) {
        free(res);
        return h2a_err_set(H2A_ERR_NOMEM, "renew");
    }
    for (size_t i = 0; rv == H2A_OK && i < s->n; i++) {
        rv = s_due(&s->v[i], l, src);
        if (rv == H2A_OK && s->v[i].resume) {
            res[nres++] = i;
        }
    }
    if (rv == H2A_OK) {
        rv = s_choose(j, s, res, nres, dry_run, *todo, n, out);
    }
    free(res);
    return rv;
}

h2a_err h2a_renew_run(const h2a_config *cfg, const h2a_renew_opts *o, h2a_buf *out,
                      int *worst)
{
    struct s_set s = {NULL, 0, 0};
    h2a_renew_src src;
    h2a_renew_cand **todo = NULL;
    h2a_policy_lifecycle l;
    H2A_JOURNAL *j = NULL;
    size_t n = 0;
    h2a_err rv;

    *worst = 0;
    memset(&src, 0, sizeof(src));
    rv = h2a_renew_lifecycle(cfg, &l);
    if (rv == H2A_OK) {
        rv = h2a_journal_open(cfg->state_dir, &j);
    }
    if (rv == H2A_OK) {
        rv = s_collect(j, o, &s);
    }
    if (rv == H2A_OK) {
        rv = h2a_renew_src_open(cfg, &l, &src);
    }
    if (rv == H2A_OK) {
        rv = s_pick(j, &s, &l, &src, o->dry_run, &todo, &n, out);
    }
    /* Only a look at everything can tell what the journal lacks. */
    if (rv == H2A_OK && o->dry_run && o->n_arns + o->n_ids == 0) {
        rv = h2a_renew_src_unjournaled(&src, out);
    }
    h2a_renew_src_close(&src);
    /* The worker opens the journal itself; this connection only read. */
    h2a_journal_close(j);
    if (rv == H2A_OK && !o->dry_run) {
        rv = o->jobs > 1 && n > 1 ? h2a_renew_jobs(cfg, todo, n, o->jobs, out, worst)
                                  : s_run_due(cfg, todo, n, out, worst);
    }
    free(todo);
    s_set_free(&s);
    return rv;
}
