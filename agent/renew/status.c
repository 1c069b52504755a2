/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "renew/renew_int.h"

#define S_DAY 86400LL

/*
 * One generation's entry. Rollback to it needs its key (never destroyed by
 * sweep), a delivery that finished, and a certificate valid for the
 * policy's margin; whether ACM's reimport rules allow it is checked by
 * rollback against what ACM holds at that time.
 */
static h2a_err s_gen_json(H2A_JOURNAL *j, const h2a_jgen *g, bool current, long long now,
                          const h2a_policy_lifecycle *l, json_object *arr)
{
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    size_t n = 0;
    h2a_renew_times tm = {0, 0, 0, 0};
    json_object *o;
    char when[32];
    bool ok;

    H2A_GUARD(h2a_journal_get(j, g->request_id, &r, &t, &n));
    if (r == NULL) {
        return h2a_err_set(H2A_ERR_STATE, "journal: generation %lld names request '%s', which "
                           "the journal does not hold", g->generation, g->request_id);
    }
    ok = h2a_renew_cert_times(r->cert_pem, &tm) == H2A_OK;
    o = json_object_new_object();
    json_object_object_add(o, "generation", json_object_new_int64(g->generation));
    json_object_object_add(o, "reason", json_object_new_string(g->reason));
    json_object_object_add(o, "state", json_object_new_string(
                                           current ? "serving"
                                           : g->key_destroyed_at != 0 ? "key_destroyed"
                                                                      : "retained"));
    json_object_object_add(o, "serial", r->serial ? json_object_new_string(r->serial) : NULL);
    json_object_object_add(o, "not_after",
                           r->not_after ? json_object_new_string(r->not_after) : NULL);
    json_object_object_add(o, "key_id", r->key_id ? json_object_new_string(r->key_id) : NULL);
    h2a_renew_iso(g->imported_at, when);
    json_object_object_add(o, "imported_at", json_object_new_string(when));
    json_object_object_add(
        o, "can_rollback",
        json_object_new_boolean(!current && g->key_destroyed_at == 0 && ok &&
                                tm.not_after - now >=
                                    (long long)l->min_remaining_for_rollback_days * S_DAY));
    json_object_array_add(arr, o);
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    return H2A_OK;
}

static h2a_err s_status(H2A_JOURNAL *j, const char *what, const h2a_policy_lifecycle *l,
                        h2a_buf *out)
{
    bool by_arn = strncmp(what, "arn:", 4) == 0;
    char *arn = NULL;
    h2a_jgen *g = NULL;
    size_t n = 0;
    json_object *o = NULL, *arr;
    long long now = h2a_renew_now();
    h2a_err rv;

    rv = by_arn ? ((arn = strdup(what)) != NULL ? H2A_OK : H2A_ERR_NOMEM)
                : h2a_journal_request_arn(j, what, &arn);
    if (rv == H2A_OK && arn != NULL) {
        rv = h2a_journal_generations(j, arn, &g, &n);
    }
    if (rv == H2A_OK && n == 0) {
        rv = h2a_err_set(H2A_ERR_STATE, "%s %s: the journal has no delivery of it",
                         by_arn ? "ARN" : "request", what);
    }
    if (rv == H2A_OK) {
        o = json_object_new_object();
        arr = json_object_new_array();
        json_object_object_add(o, "arn", json_object_new_string(arn));
        json_object_object_add(o, "request_id",
                               json_object_new_string(by_arn ? g[0].request_id : what));
        json_object_object_add(o, "generations", arr);
        for (size_t i = 0; rv == H2A_OK && i < n; i++) {
            rv = s_gen_json(j, &g[i], i == 0, now, l, arr);
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(out, json_object_to_json_string_ext(
                                         o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(o);
    h2a_jgens_free(g, n);
    free(arn);
    return rv == H2A_OK ? h2a_buf_terminate(out) : rv;
}

h2a_err h2a_renew_status(const h2a_config *cfg, const char *what, h2a_buf *out)
{
    h2a_policy_lifecycle l;
    H2A_JOURNAL *j = NULL;
    h2a_err rv;

    H2A_GUARD(h2a_renew_lifecycle(cfg, &l));
    H2A_GUARD(h2a_journal_open(cfg->state_dir, &j));
    rv = s_status(j, what, &l, out);
    h2a_journal_close(j);
    return rv;
}
