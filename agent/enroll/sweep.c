/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enroll/enroll_int.h"

/*
 * `hsm2acm sweep`: the janitor.
 *  - Staging secrets past their TTL: ListSecrets by name prefix AND the
 *    marker tag, then each one's tags are checked again on the client
 *    (marker "true", a numeric expiry in the past) before it is
 *    force-deleted; a name alone never gets a secret deleted.
 *  - Token keys that no journal entry knows (nor a local CA uses): listed,
 *    never destroyed (a person decides).
 *  - Deliveries that failed or stopped half-way: listed with their error.
 *  - Key retention (policy "keys"): per ARN, the keys of the newest
 *    retain_generations generations stay; an older generation's key is
 *    destroyed once destroy_after_days have passed since a newer one
 *    replaced it, unless a kept generation (of any ARN) or an unfinished
 *    request uses the same key.
 * Every account and region the journal has delivered to is visited.
 */

struct s_place {
    char account[32];  /* resolved account id, or "" for the configured one */
    char region[32];
};

struct s_sweep {
    h2a_run run;
    struct s_place places[256];
    size_t n_places;
    json_object *deleted, *active, *skipped, *unknown_keys, *failed, *errors, *destroyed;
    const h2a_config *cfg;
};

static void s_add_place(struct s_sweep *s, const char *account, const char *region)
{
    if (region == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n_places; i++) {
        if (strcmp(s->places[i].region, region) == 0 &&
            strcmp(s->places[i].account, account != NULL ? account : "") == 0) {
            return;
        }
    }
    if (s->n_places < sizeof(s->places) / sizeof(s->places[0])) {
        snprintf(s->places[s->n_places].account, sizeof(s->places[0].account), "%s",
                 account != NULL ? account : "");
        snprintf(s->places[s->n_places].region, sizeof(s->places[0].region), "%s", region);
        s->n_places++;
    }
}

static json_object *s_jstr(const char *v)
{
    return v != NULL ? json_object_new_string(v) : NULL;
}

/* Journal: places to visit and deliveries that did not finish. */
static h2a_err s_journal(struct s_sweep *s)
{
    char **ids = NULL;
    size_t n = 0;
    h2a_err rv;

    H2A_GUARD(h2a_journal_ids(s->run.journal, &ids, &n));
    rv = H2A_OK;
    for (size_t k = 0; rv == H2A_OK && k < n; k++) {
        h2a_jreq *jr = NULL;
        h2a_jtarget *jt = NULL;
        size_t nt = 0;

        rv = h2a_journal_get(s->run.journal, ids[k], &jr, &jt, &nt);
        if (rv != H2A_OK || jr == NULL) {
            continue;
        }
        if (jr->state == H2A_JS_FAILED) {
            json_object *o = json_object_new_object();

            json_object_object_add(o, "id", s_jstr(jr->id));
            json_object_object_add(o, "state", s_jstr("failed"));
            json_object_object_add(o, "step", s_jstr(jr->failed_step));
            json_object_object_add(o, "error", s_jstr(jr->error));
            json_object_object_add(o, "rolled_back", json_object_new_boolean(1));
            json_object_array_add(s->failed, o);
        }
        for (size_t i = 0; i < nt; i++) {
            s_add_place(s, jt[i].account, jt[i].region);
            if (jr->state != H2A_JS_FAILED && jt[i].state != H2A_JS_CLEANED) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "id", s_jstr(jr->id));
                json_object_object_add(o, "target", json_object_new_int64((int64_t)i));
                json_object_object_add(o, "region", s_jstr(jt[i].region));
                json_object_object_add(o, "account", s_jstr(jt[i].account));
                json_object_object_add(o, "state", s_jstr(h2a_jstate_name(jt[i].state)));
                if (jt[i].state == H2A_JS_FAILED) {
                    json_object_object_add(o, "resume_from",
                                           s_jstr(h2a_jstate_name(jt[i].resume_from)));
                }
                json_object_object_add(o, "error", s_jstr(jt[i].error));
                json_object_object_add(o, "resume", s_jstr("hsm2acm resume"));
                json_object_array_add(s->failed, o);
            }
        }
        h2a_jreq_free(jr);
        h2a_jtargets_free(jt, nt);
    }
    for (size_t k = 0; k < n; k++) {
        free(ids[k]);
    }
    free(ids);
    return rv;
}

static const char *s_tag(json_object *secret, const char *key)
{
    json_object *tags = NULL;

    if (!json_object_object_get_ex(secret, "Tags", &tags) ||
        !json_object_is_type(tags, json_type_array)) {
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(tags); i++) {
        json_object *t = json_object_array_get_idx(tags, i), *k = NULL, *v = NULL;

        if (json_object_object_get_ex(t, "Key", &k) && json_object_object_get_ex(t, "Value", &v) &&
            strcmp(json_object_get_string(k), key) == 0) {
            return json_object_get_string(v);
        }
    }
    return NULL;
}

static void s_note(json_object *arr, const h2a_acct *a, const char *region, json_object *sec,
                   const char *why)
{
    json_object *o = json_object_new_object(), *v = NULL;

    json_object_object_add(o, "region", s_jstr(region));
    json_object_object_add(o, "account", s_jstr(a->have_id ? a->id.account : NULL));
    if (json_object_object_get_ex(sec, "Name", &v)) {
        json_object_object_add(o, "name", json_object_get(v));
    }
    if (json_object_object_get_ex(sec, "ARN", &v)) {
        json_object_object_add(o, "arn", json_object_get(v));
    }
    json_object_object_add(o, "request_id", s_jstr(s_tag(sec, H2A_TAG_REQUEST)));
    json_object_object_add(o, "expiry", s_jstr(s_tag(sec, H2A_TAG_EXPIRY)));
    if (why != NULL) {
        json_object_object_add(o, "reason", s_jstr(why));
    }
    json_object_array_add(arr, o);
}

static h2a_err s_secrets_at(struct s_sweep *s, h2a_acct *a, const char *region)
{
    const char *prefix[] = {s->cfg->staging.prefix, NULL};
    const char *marker[] = {H2A_TAG_MARKER, NULL};
    struct h2a_sm_filter f[2] = {{"name", prefix}, {"tag-key", marker}};
    json_object *list = NULL;
    long long now = (long long)time(NULL);
    h2a_err rv = H2A_OK;

    H2A_GUARD(h2a_sm_list_secrets(a->ctx, region, f, 2, &list));
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *sec = json_object_array_get_idx(list, i), *arnv = NULL, *namev = NULL;
        const char *mark = s_tag(sec, H2A_TAG_MARKER);
        const char *exp = s_tag(sec, H2A_TAG_EXPIRY);
        const char *name;
        char *end = NULL;
        long long when;

        json_object_object_get_ex(sec, "Name", &namev);
        name = namev != NULL ? json_object_get_string(namev) : "";
        /* Name, marker and expiry must all say "hsm2acm staging". */
        if (strncmp(name, s->cfg->staging.prefix, strlen(s->cfg->staging.prefix)) != 0 ||
            mark == NULL || strcmp(mark, "true") != 0) {
            s_note(s->skipped, a, region, sec, "not marked as an hsm2acm staging secret");
            continue;
        }
        if (exp == NULL || (when = strtoll(exp, &end, 10), end == exp || *end != '\0')) {
            s_note(s->skipped, a, region, sec, "no valid hsm2acm:expiry tag");
            continue;
        }
        if (when > now) {
            s_note(s->active, a, region, sec, NULL);
            continue;
        }
        json_object_object_get_ex(sec, "ARN", &arnv);
        rv = h2a_enroll_delete_secret(a, region, arnv != NULL ? json_object_get_string(arnv) : name,
                                      NULL, -1);
        if (rv != H2A_OK) {
            break;
        }
        s_note(s->deleted, a, region, sec, NULL);
    }
    json_object_put(list);
    return rv;
}

static void s_error(struct s_sweep *s, const char *where)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "where", s_jstr(where));
    json_object_object_add(o, "error", s_jstr(h2a_err_msg()));
    json_object_array_add(s->errors, o);
    H2A_LOG_WARN("sweep: %s: %s", where, h2a_err_msg());
    h2a_err_clear();
}

static h2a_err s_secrets(struct s_sweep *s)
{
    h2a_acct *base = NULL;
    const char *region = s->cfg->aws.region;
    h2a_err rv;

    if (region == NULL) {
        region = getenv("AWS_REGION");
    }
    if (region == NULL) {
        region = getenv("AWS_DEFAULT_REGION");
    }
    if (region == NULL && s->n_places > 0) {
        region = s->places[0].region;
    }
    if (region == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.region: needed to know where to sweep");
    }
    H2A_GUARD(h2a_enroll_acct(&s->run, NULL, region, &base));
    s_add_place(s, base->id.account, region);
    for (size_t i = 0; i < s->n_places; i++) {
        h2a_acct *a = NULL;
        char where[96];
        const char *acc = s->places[i].account[0] != '\0' ? s->places[i].account : NULL;

        snprintf(where, sizeof(where), "%s/%s", acc != NULL ? acc : "-", s->places[i].region);
        rv = h2a_enroll_acct(&s->run, acc, s->places[i].region, &a);
        if (rv == H2A_OK) {
            rv = s_secrets_at(s, a, s->places[i].region);
        }
        if (rv != H2A_OK) {
            s_error(s, where);
        }
    }
    return H2A_OK;
}

/* A growable list of owned strings (key ids kept by retention). */
struct s_strs {
    char **v;
    size_t n;
};

static h2a_err s_strs_push(struct s_strs *l, const char *v)
{
    char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

    if (nv == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "sweep");
    }
    l->v = nv;
    l->v[l->n] = strdup(v);
    if (l->v[l->n] == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "sweep");
    }
    l->n++;
    return H2A_OK;
}

static bool s_strs_has(const struct s_strs *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], v) == 0) {
            return true;
        }
    }
    return false;
}

struct s_keyscan {
    struct s_sweep *s;
    h2a_err rv;
};

static bool s_is_ca_label(const h2a_config *cfg, const char *label)
{
    for (size_t i = 0; label != NULL && i < cfg->n_issuers; i++) {
        const h2a_issuer_conf *is = &cfg->issuers[i];
        size_t n;

        if (is->type != H2A_ISSUER_LOCAL) {
            continue;
        }
        n = strlen(is->key_label);
        if (strncmp(label, is->key_label, n) == 0 &&
            (strcmp(label + n, "-rsa") == 0 || strcmp(label + n, "-ec") == 0)) {
            return true;
        }
    }
    return false;
}

static void s_key_cb(void *arg, const uint8_t *id, size_t id_len, const char *label,
                     h2a_keytype type)
{
    struct s_keyscan *ks = arg;
    char hex[2 * 64 + 1] = "";
    bool known = false;

    if (ks->rv != H2A_OK) {
        return;
    }
    if (id_len <= 64) {
        h2a_hex_encode(id, id_len, hex);
    }
    if (s_is_ca_label(ks->s->cfg, label)) {
        return;
    }
    ks->rv = h2a_journal_knows_key(ks->s->run.journal, hex, label, &known);
    if (ks->rv == H2A_OK && !known) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", s_jstr(hex));
        json_object_object_add(o, "label", s_jstr(label));
        json_object_object_add(o, "key_type", s_jstr(h2a_keytype_cli_name(type)));
        json_object_array_add(ks->s->unknown_keys, o);
    }
}

static h2a_err s_keys(struct s_sweep *s)
{
    struct s_keyscan ks = {s, H2A_OK};

    H2A_GUARD(h2a_token_open(s->cfg->token, &s->run.tok));
    H2A_GUARD(h2a_session_open(s->run.tok, &s->run.sess));
    H2A_GUARD(h2a_p11_key_list(s->run.sess, s_key_cb, &ks));
    return ks.rv;
}

/* The key ids of the newest `keep` generations of every ARN: never destroyed. */
static h2a_err s_kept(H2A_JOURNAL *j, const h2a_jgen *cur, size_t n, int keep,
                      struct s_strs *out)
{
    h2a_err rv = H2A_OK;

    for (size_t a = 0; rv == H2A_OK && a < n; a++) {
        h2a_jgen *g = NULL;
        size_t ng = 0;

        rv = h2a_journal_generations(j, cur[a].arn, &g, &ng);
        for (size_t i = 0; rv == H2A_OK && i < ng && i < (size_t)keep; i++) {
            char *kid = NULL, *label = NULL;

            rv = h2a_journal_gen_key(j, &g[i], &kid, &label);
            if (rv == H2A_OK && kid != NULL) {
                rv = s_strs_push(out, kid);
            }
            free(kid);
            free(label);
        }
        h2a_jgens_free(g, ng);
    }
    return rv;
}

/* Destroy generation g's key (found by CKA_ID), journal it, list and audit it. */
static h2a_err s_destroy_key(struct s_sweep *s, const h2a_jgen *g, const char *kid,
                             const char *label)
{
    H2A_P11_KEY *k = NULL;
    h2a_buf id;
    json_object *o;
    h2a_err rv;
    bool gone = false;

    h2a_buf_init(&id, 64);
    rv = h2a_hex_decode(kid, &id);
    if (rv == H2A_OK) {
        rv = h2a_p11_key_find(s->run.sess, NULL, id.data, id.len, &k);
        if (rv == H2A_ERR_TOKEN && strstr(h2a_err_msg(), "not found") != NULL) {
            h2a_err_clear();
            rv = H2A_OK;
            gone = true; /* someone removed it: the journal learns it */
        } else if (rv == H2A_OK) {
            rv = h2a_p11_key_destroy(k);
        }
    }
    h2a_buf_free(&id);
    H2A_GUARD(rv);
    H2A_GUARD(h2a_journal_gen_key_destroyed(s->run.journal, kid));
    o = json_object_new_object();
    json_object_object_add(o, "arn", s_jstr(g->arn));
    json_object_object_add(o, "generation", json_object_new_int64(g->generation));
    json_object_object_add(o, "key_id", s_jstr(kid));
    json_object_object_add(o, "label", s_jstr(label));
    json_object_object_add(o, "already_gone", json_object_new_boolean(gone));
    json_object_array_add(s->destroyed, o);
    h2a_enroll_audit(&s->run, -1, "retention_destroy", gone ? "gone" : "ok", g->arn, NULL,
                     kid);
    return H2A_OK;
}

/* Generations of one ARN past the kept ones whose key may go now. */
static h2a_err s_retire_arn(struct s_sweep *s, const char *arn, const h2a_policy_lifecycle *l,
                            const struct s_strs *kept)
{
    long long now = (long long)time(NULL);
    h2a_jgen *g = NULL;
    size_t ng = 0;
    h2a_err rv;

    rv = h2a_journal_generations(s->run.journal, arn, &g, &ng);
    for (size_t i = (size_t)l->retain_generations; rv == H2A_OK && i < ng; i++) {
        char *kid = NULL, *label = NULL;
        bool needed = false;

        /* Its age counts from when a newer generation replaced it. */
        if (g[i].key_destroyed_at != 0 ||
            now - g[i - 1].imported_at < (long long)l->destroy_after_days * 86400LL) {
            continue;
        }
        rv = h2a_journal_gen_key(s->run.journal, &g[i], &kid, &label);
        if (rv == H2A_OK && kid != NULL && !s_strs_has(kept, kid)) {
            rv = h2a_journal_key_needed(s->run.journal, kid, &needed);
            if (rv == H2A_OK && !needed) {
                rv = s_destroy_key(s, &g[i], kid, label);
            }
        }
        free(kid);
        free(label);
    }
    h2a_jgens_free(g, ng);
    return rv;
}

static h2a_err s_retention(struct s_sweep *s)
{
    H2A_POLICY *p = NULL;
    h2a_policy_lifecycle l;
    struct s_strs kept = {NULL, 0};
    h2a_jgen *cur = NULL;
    size_t n = 0;
    h2a_err rv;

    H2A_GUARD(h2a_policy_load(s->cfg->policy, &p));
    h2a_policy_get_lifecycle(p, &l);
    h2a_policy_free(p);
    rv = h2a_journal_current_generations(s->run.journal, &cur, &n);
    if (rv == H2A_OK) {
        rv = s_kept(s->run.journal, cur, n, l.retain_generations, &kept);
    }
    for (size_t a = 0; rv == H2A_OK && a < n; a++) {
        rv = s_retire_arn(s, cur[a].arn, &l, &kept);
    }
    for (size_t i = 0; i < kept.n; i++) {
        free(kept.v[i]);
    }
    free(kept.v);
    h2a_jgens_free(cur, n);
    return rv;
}

static json_object *s_result(const struct s_sweep *s)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "deleted_secrets", json_object_get(s->deleted));
    json_object_object_add(o, "active_secrets", json_object_get(s->active));
    json_object_object_add(o, "skipped_secrets", json_object_get(s->skipped));
    json_object_object_add(o, "unknown_keys", json_object_get(s->unknown_keys));
    json_object_object_add(o, "failed_deliveries", json_object_get(s->failed));
    json_object_object_add(o, "destroyed_keys", json_object_get(s->destroyed));
    json_object_object_add(o, "errors", json_object_get(s->errors));
    return o;
}

static void s_lists_put(struct s_sweep *s)
{
    json_object *l[] = {s->deleted, s->active,  s->skipped,  s->unknown_keys,
                        s->failed,  s->errors,  s->destroyed};

    for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
        json_object_put(l[i]);
    }
}

h2a_err h2a_enroll_sweep(const h2a_config *cfg, h2a_buf *out)
{
    struct s_sweep *s = calloc(1, sizeof(*s));
    json_object *o = NULL;
    const char *txt;
    h2a_err rv;

    if (s == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "sweep");
    }
    s->cfg = cfg;
    s->run.cfg = cfg;
    rv = h2a_worker_new(cfg, false, &s->run.w);
    s->deleted = json_object_new_array();
    s->active = json_object_new_array();
    s->skipped = json_object_new_array();
    s->unknown_keys = json_object_new_array();
    s->failed = json_object_new_array();
    s->errors = json_object_new_array();
    s->destroyed = json_object_new_array();
    if (rv == H2A_OK) {
        rv = h2a_enroll_journal_open(&s->run);
    }
    if (rv == H2A_OK) {
        rv = h2a_audit_open(cfg->audit.file, cfg->audit.syslog, &s->run.audit);
    }
    if (rv == H2A_OK) {
        rv = s_journal(s);
    }
    if (rv == H2A_OK) {
        rv = s_secrets(s);
    }
    if (rv == H2A_OK) {
        rv = s_keys(s);
    }
    if (rv == H2A_OK) {
        rv = s_retention(s);
    }
    if (rv == H2A_OK) {
        o = s_result(s);
        for (size_t i = 0; i < json_object_array_length(s->deleted); i++) {
            json_object *d = json_object_array_get_idx(s->deleted, i), *n = NULL;

            json_object_object_get_ex(d, "name", &n);
            h2a_enroll_audit(&s->run, -1, "sweep_delete", "ok", NULL,
                             n != NULL ? json_object_get_string(n) : NULL, "staging TTL passed");
        }
        txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        rv = h2a_buf_append_str(out, txt);
        if (rv == H2A_OK) {
            rv = h2a_buf_terminate(out);
        }
        if (rv == H2A_OK && json_object_array_length(s->errors) > 0) {
            rv = h2a_err_set(H2A_ERR_AWS, "sweep could not visit every place (see \"errors\")");
            /* still print what was done */
            printf("%s\n", txt);
        }
    }
    json_object_put(o);
    s_lists_put(s);
    h2a_session_close(s->run.sess);
    h2a_token_close(s->run.tok);
    for (size_t i = 0; i < s->run.n_accts; i++) {
        if (s->run.accts[i].own) {
            h2a_aws_ctx_free(s->run.accts[i].ctx);
        }
        free(s->run.accts[i].account);
    }
    h2a_audit_close(s->run.audit);
    h2a_worker_free(s->run.w); /* the AWS client and the journal */
    free(s);
    return rv;
}
