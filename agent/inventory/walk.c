/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * `hsm2acm discover`: resolve the scope (caller, Organizations accounts,
 * regions), walk every account x region on a pool of threads (each with
 * its own AWS ctx: curl handles are per thread), save what answered in one
 * inventory transaction, and summarise new / changed / gone / failures.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "enroll/h2a_audit.h"
#include "inventory/walk_int.h"

/*
 * Parts wait on rate budgets, not on the CPU: ACM's quotas are per account
 * and region, so the rate-limit floor is every part at once. A thread holds
 * one connection per endpoint (STS, ACM); an account's role is assumed once
 * and its session shared by the parts of every thread. Only secret request
 * bodies take locked memory, so threads are bounded by memory (each costs
 * about 0.6 MiB resident: 55-58 MiB peak at 60 threads in the benchmark),
 * not by the 1 MiB locked heap any more.
 * AssumeRole replies are read into the locked heap: 4 at once (one per
 * account now, so 20 for the benchmark's 60 parts).
 */
#define S_MAX_WORKERS H2A_DISCOVER_MAX_WORKERS
#define S_DEFAULT_WORKERS 64
#define S_ASSUME_AT_ONCE 4

void h2a_walk_failure(struct h2a_walk *w, const char *account, const char *region,
                      const char *error)
{
    json_object *f = json_object_new_object();

    json_object_object_add(f, "account", json_object_new_string(account));
    json_object_object_add(f, "region", region != NULL ? json_object_new_string(region) : NULL);
    json_object_object_add(f, "error", json_object_new_string(error[0] ? error : "failed"));
    json_object_array_add(w->failures, f);
}

static bool s_listed(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static bool s_cli_allows(const char *const *v, const char *s)
{
    if (v == NULL || v[0] == NULL) {
        return true;
    }
    for (; *v != NULL; v++) {
        if (strcmp(*v, s) == 0) {
            return true;
        }
    }
    return false;
}

static h2a_err s_add_account(struct h2a_walk *w, const char *id, const char *management)
{
    const h2a_scope_conf *sc = w->sc;
    struct h2a_walk_acct *a;

    if (s_listed(sc->exclude, sc->n_exclude, id) ||
        (sc->n_include > 0 && sc->organization && !s_listed(sc->include, sc->n_include, id)) ||
        !s_cli_allows(w->o->accounts, id)) {
        return H2A_OK;
    }
    a = realloc(w->accts, (w->n_accts + 1) * sizeof(*a));
    if (a == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "discover accounts");
    }
    w->accts = a;
    a = &w->accts[w->n_accts++];
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->management = management != NULL && strcmp(id, management) == 0;
    pthread_mutex_init(&a->mu, NULL);
    return H2A_OK;
}

/* Organizations accounts whose State is ACTIVE (suspended and closed ones have no ACM). */
static h2a_err s_org_accounts(struct h2a_walk *w, H2A_AWS_CTX *org, const char *management)
{
    json_object *list = NULL;
    h2a_err rv = h2a_org_list_accounts(org, &list);

    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(list); i++) {
        json_object *acc = json_object_array_get_idx(list, i), *id = NULL, *st = NULL;
        if (!json_object_object_get_ex(acc, "State", &st)) {
            json_object_object_get_ex(acc, "Status", &st); /* before State existed */
        }
        if (!json_object_object_get_ex(acc, "Id", &id) || st == NULL) {
            rv = h2a_err_set(H2A_ERR_AWS, "organizations ListAccounts: an account without "
                             "Id or State");
        } else if (strcmp(json_object_get_string(st), "ACTIVE") == 0) {
            rv = s_add_account(w, json_object_get_string(id), management);
        } else {
            H2A_LOG_INFO("discover: account %s skipped: state %s", json_object_get_string(id),
                         json_object_get_string(st));
        }
    }
    json_object_put(list);
    return rv;
}

static h2a_err s_account_scope(struct h2a_walk *w)
{
    const h2a_scope_conf *sc = w->sc;

    if (sc->n_include == 0) {
        return s_add_account(w, w->caller_account, NULL);
    }
    for (size_t i = 0; i < sc->n_include; i++) {
        if (sc->role_name == NULL && strcmp(sc->include[i], w->caller_account) != 0) {
            return h2a_err_set(H2A_ERR_INPUT, "scope.role_name: required to reach account %s "
                               "of scope.accounts.include", sc->include[i]);
        }
        H2A_GUARD(s_add_account(w, sc->include[i], NULL));
    }
    return H2A_OK;
}

/* The management account: the caller's, or the one of management_role_arn. */
static void s_management(const struct h2a_walk *w, char *out, size_t n)
{
    const char *arn = w->sc->management_role_arn;
    const char *p = arn != NULL ? strstr(arn, ":iam::") : NULL;

    snprintf(out, n, "%s", w->caller_account);
    if (p != NULL && strlen(p + 6) > 12) {
        snprintf(out, n, "%.12s", p + 6);
    }
}

/* Caller identity, the management session (flow 2) and the account list. */
static h2a_err s_resolve(struct h2a_walk *w, H2A_AWS_CTX *user, struct h2a_aws_identity *id)
{
    struct h2a_aws_assume_role ar;
    char management[16];

    H2A_GUARD(h2a_sts_get_caller_identity(user, NULL, id));
    snprintf(w->caller_account, sizeof(w->caller_account), "%.12s", id->account);
    w->base = user;
    if (w->sc->management_role_arn != NULL) {
        memset(&ar, 0, sizeof(ar));
        ar.role_arn = w->sc->management_role_arn;
        ar.session_name = "hsm2acm-discover";
        ar.external_id = w->sc->external_id;
        ar.duration_seconds = 3600;
        H2A_GUARD(h2a_aws_ctx_assume_role(user, &ar, &w->base));
    }
    if (!w->sc->organization) {
        return s_account_scope(w);
    }
    s_management(w, management, sizeof(management));
    return s_org_accounts(w, w->base, management);
}

/* ARNs hsm2acm imported, from the journal (read-only; absent journal: none). */
static json_object *s_journal_arns(const char *state_dir)
{
    char path[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    json_object *set = json_object_new_object();

    snprintf(path, sizeof(path), "%s/journal.db", state_dir);
    if (access(path, R_OK) != 0 ||
        sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT imported_arn FROM targets WHERE imported_arn IS NOT NULL"
                           " UNION SELECT certificate_arn FROM targets"
                           " WHERE certificate_arn IS NOT NULL", -1, &st, NULL) != SQLITE_OK) {
        H2A_LOG_DBG("discover: no journal ARNs from %s", path);
    }
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        json_object_object_add(set, (const char *)sqlite3_column_text(st, 0), NULL);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return set;
}

static void s_progress(struct h2a_walk *w, bool last)
{
    size_t total = w->n_parts;

    if (w->o->progress && !w->listing) {
        fprintf(stderr, "\rdiscover: %zu/%zu account-regions, %ld certificates%s", w->done,
                total, w->certificates, last ? "\n" : "");
        fflush(stderr);
    }
}

static void *s_worker(void *arg)
{
    struct h2a_walk *w = arg;
    H2A_AWS_CTX *tctx = NULL;
    size_t i;

    if (h2a_aws_ctx_clone(w->base, &tctx) != H2A_OK) {
        H2A_LOG_ERR("discover: %s", h2a_err_msg());
    }
    for (;;) {
        pthread_mutex_lock(&w->mu);
        i = w->next++;
        pthread_mutex_unlock(&w->mu);
        if (i >= (w->listing ? w->n_accts : w->n_parts)) {
            break;
        }
        struct h2a_walk_acct *a = w->listing ? &w->accts[i] : w->parts[i].a;
        const char *region = w->listing ? NULL : w->parts[i].region;
        if (tctx != NULL && w->listing) {
            (void)h2a_walk_account_regions(w, tctx, a);
        } else if (tctx != NULL) {
            h2a_walk_part(w, tctx, a, region);
        } else {
            pthread_mutex_lock(&w->mu);
            h2a_walk_failure(w, a->id, region, "no AWS context for the worker");
            pthread_mutex_unlock(&w->mu);
        }
        pthread_mutex_lock(&w->mu);
        w->done++;
        s_progress(w, false);
        pthread_mutex_unlock(&w->mu);
    }
    h2a_aws_ctx_free(tctx);
    return NULL;
}

static void s_run_threads(struct h2a_walk *w)
{
    size_t parts = w->listing ? w->n_accts : w->n_parts;
    size_t n = w->o->workers > 0 ? (size_t)w->o->workers : S_DEFAULT_WORKERS;
    pthread_t th[S_MAX_WORKERS];
    size_t started = 0;

    n = n > parts ? parts : n;
    n = n > S_MAX_WORKERS ? S_MAX_WORKERS : n;
    for (; started < n; started++) {
        if (pthread_create(&th[started], NULL, s_worker, w) != 0) {
            break;
        }
    }
    if (started == 0) {
        s_worker(w); /* no thread to be had: walk on this one */
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
    }
    w->next = 0;
    s_progress(w, true);
}

static bool s_seen(const struct h2a_walk *w, size_t upto, const char *region)
{
    for (size_t i = 0; i < upto; i++) {
        if (strcmp(w->parts[i].region, region) == 0) {
            return true;
        }
    }
    return false;
}

/* An account whose regions could not be listed (or was not reached) has none. */
static size_t s_acct_regions(const struct h2a_walk *w, const struct h2a_walk_acct *a)
{
    if (w->regions != NULL) {
        return w->n_regions;
    }
    return a->regions != NULL ? json_object_array_length(a->regions) : 0;
}

/*
 * The parts: every account x its regions (its own enabled ones with
 * ["all"]); an account whose regions could not be listed has none.
 */
static h2a_err s_plan(struct h2a_walk *w)
{
    size_t cap = 0;

    for (size_t i = 0; i < w->n_accts; i++) {
        cap += s_acct_regions(w, &w->accts[i]);
    }
    w->parts = calloc(cap > 0 ? cap : 1, sizeof(*w->parts));
    if (w->parts == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "discover parts");
    }
    for (size_t i = 0; i < w->n_accts; i++) {
        struct h2a_walk_acct *a = &w->accts[i];
        size_t n = s_acct_regions(w, a);
        for (size_t r = 0; r < n; r++) {
            struct h2a_walk_item *p = &w->parts[w->n_parts++];
            p->a = a;
            p->region = w->regions != NULL
                            ? w->regions[r]
                            : json_object_get_string(json_object_array_get_idx(a->regions, r));
        }
    }
    if (w->regions == NULL) {
        for (size_t i = 0; i < w->n_parts; i++) {
            w->n_regions += s_seen(w, i, w->parts[i].region) ? 0 : 1;
        }
    }
    return H2A_OK;
}

static json_object *s_summary(const struct h2a_walk *w)
{
    json_object *s = json_object_new_object();

    json_object_object_add(s, "accounts", json_object_new_int64((int64_t)w->n_accts));
    json_object_object_add(s, "regions", json_object_new_int64((int64_t)w->n_regions));
    json_object_object_add(s, "certificates", json_object_new_int64(w->certificates));
    json_object_object_add(s, "new", json_object_get(w->news));
    json_object_object_add(s, "changed", json_object_get(w->changed));
    json_object_object_add(s, "gone", json_object_get(w->gone));
    json_object_object_add(s, "failures", json_object_get(w->failures));
    return s;
}

static h2a_err s_audit(const struct h2a_walk *w, const struct h2a_aws_identity *id)
{
    const h2a_config *cfg = w->o->cfg;
    H2A_AUDIT *a = NULL;
    h2a_audit_event ev;
    char detail[4096];
    h2a_err rv;

    snprintf(detail, sizeof(detail), "scope=%s accounts=%zu regions=%zu certificates=%ld "
             "new=%zu changed=%zu gone=%zu failures=%zu",
             w->sc->organization ? "organization" : "account", w->n_accts, w->n_regions,
             w->certificates, json_object_array_length(w->news),
             json_object_array_length(w->changed), json_object_array_length(w->gone),
             json_object_array_length(w->failures));
    memset(&ev, 0, sizeof(ev));
    ev.target = -1;
    ev.account = id->account;
    ev.caller = id->arn;
    ev.step = "discover";
    ev.outcome = json_object_array_length(w->failures) > 0 ? "partial" : "ok";
    ev.detail = detail;
    rv = h2a_audit_open(cfg->audit.file, cfg->audit.syslog, &a);
    if (rv == H2A_OK) {
        rv = h2a_audit_write(a, &ev);
    }
    h2a_audit_close(a);
    return rv;
}

static void s_walk_free(struct h2a_walk *w, H2A_AWS_CTX *user)
{
    for (size_t i = 0; i < w->n_accts; i++) {
        pthread_mutex_destroy(&w->accts[i].mu);
        json_object_put(w->accts[i].regions);
        h2a_aws_ctx_free(w->accts[i].session);
    }
    free(w->accts);
    free(w->parts);
    if (w->base != user) {
        h2a_aws_ctx_free(w->base);
    }
    json_object_put(w->journal_arns);
    json_object_put(w->news);
    json_object_put(w->changed);
    json_object_put(w->gone);
    json_object_put(w->failures);
    h2a_inventory_close(w->inv);
    pthread_mutex_destroy(&w->mu);
    sem_destroy(&w->assume_slots);
}

/* Walk, then save it all in one transaction with its run row. */
static h2a_err s_walk_and_save(struct h2a_walk *w, json_object **summary)
{
    long long started = (long long)time(NULL);
    h2a_err rv;

    H2A_GUARD(h2a_inventory_begin(w->inv));
    if (w->regions == NULL) {
        w->listing = true;
        s_run_threads(w);
        w->listing = false;
    }
    rv = s_plan(w);
    if (rv != H2A_OK) {
        h2a_inventory_rollback(w->inv);
        return rv;
    }
    s_run_threads(w);
    rv = w->store_error;
    *summary = s_summary(w);
    if (rv == H2A_OK) {
        rv = h2a_inventory_run(w->inv, started, (long long)time(NULL),
                               json_object_to_json_string_ext(*summary, JSON_C_TO_STRING_PLAIN));
    }
    rv = rv == H2A_OK ? h2a_inventory_commit(w->inv) : rv;
    if (rv != H2A_OK) {
        h2a_inventory_rollback(w->inv);
        json_object_put(*summary);
        *summary = NULL;
    }
    return rv;
}

h2a_err h2a_discover(const struct h2a_discover_opts *o, json_object **summary)
{
    struct h2a_walk w;
    struct h2a_aws_config acfg;
    struct h2a_aws_identity id;
    H2A_AWS_CTX *user = NULL;
    h2a_err rv;

    *summary = NULL;
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    sem_init(&w.assume_slots, 0, S_ASSUME_AT_ONCE);
    w.o = o;
    w.sc = &o->cfg->scope;
    w.now = (long long)time(NULL);
    w.regions = o->regions != NULL && o->regions[0] != NULL
                    ? o->regions : (const char *const *)w.sc->regions;
    if (w.sc->all_regions && (o->regions == NULL || o->regions[0] == NULL)) {
        w.regions = NULL; /* each account's enabled regions, listed by the workers */
    }
    while (w.regions != NULL && w.regions[w.n_regions] != NULL) {
        w.n_regions++;
    }
    w.news = json_object_new_array();
    w.changed = json_object_new_array();
    w.gone = json_object_new_array();
    w.failures = json_object_new_array();
    w.journal_arns = s_journal_arns(o->cfg->state_dir);
    rv = w.n_regions == 0 && !(w.sc->all_regions && w.regions == NULL)
             ? h2a_err_set(H2A_ERR_USAGE, "discover: no region: set scope.regions or "
                           "aws.region, or give --region")
             : H2A_OK;
    h2a_config_aws(&o->cfg->aws, &acfg);
    rv = rv == H2A_OK ? h2a_aws_ctx_new(&acfg, &user) : rv;
    rv = rv == H2A_OK ? s_resolve(&w, user, &id) : rv;
    rv = rv == H2A_OK ? h2a_inventory_open(o->cfg->state_dir, &w.inv) : rv;
    rv = rv == H2A_OK ? s_walk_and_save(&w, summary) : rv;
    if (rv == H2A_OK) {
        rv = s_audit(&w, &id);
    }
    if (rv == H2A_OK && json_object_array_length(w.failures) > 0) {
        rv = h2a_err_set(H2A_ERR_AWS, "discover: %zu part(s) failed; the rest is saved "
                         "(see \"failures\")", json_object_array_length(w.failures));
    }
    s_walk_free(&w, user);
    h2a_aws_ctx_free(user);
    return rv;
}
