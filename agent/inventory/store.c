/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The inventory database. Its own file, not the journal: discovery runs
 * for minutes over thousands of rows and must never hold the journal's
 * lock while an enrollment waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "inventory/h2a_inventory.h"

struct h2a_inventory {
    sqlite3 *db;
    char *path;
    long long run_id;
};

/* Also tests/vectors/inventory_schema.sql (the unit test compares them). */
static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS certificates("
    "arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, type TEXT,"
    " status TEXT, domain TEXT, sans TEXT NOT NULL, key_algorithm TEXT, serial TEXT,"
    " issuer TEXT, not_before INTEGER, not_after INTEGER, in_use_by TEXT NOT NULL,"
    " renewal_eligibility TEXT, tags TEXT NOT NULL, managed INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_run INTEGER NOT NULL,"
    " gone_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS certificates_scope ON certificates(account, region);"
    "CREATE TABLE IF NOT EXISTS changes("
    "arn TEXT NOT NULL, at INTEGER NOT NULL, field TEXT NOT NULL, old TEXT, new TEXT);"
    "CREATE TABLE IF NOT EXISTS runs("
    "id INTEGER PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER NOT NULL,"
    " summary TEXT NOT NULL);";

static h2a_err s_dberr(H2A_INVENTORY *inv, const char *what)
{
    return h2a_err_set(H2A_ERR_STATE, "inventory %s: %s: %s", inv->path, what,
                       sqlite3_errmsg(inv->db));
}

void h2a_inv_cert_clear(h2a_inv_cert *c)
{
    char **s[] = {&c->arn, &c->account, &c->region, &c->type, &c->status, &c->domain,
                  &c->key_algorithm, &c->serial, &c->issuer, &c->renewal_eligibility,
                  &c->sans, &c->in_use_by, &c->tags};

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        free(*s[i]);
    }
    memset(c, 0, sizeof(*c));
}

void h2a_inv_certs_free(h2a_inv_cert *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        h2a_inv_cert_clear(&v[i]);
    }
    free(v);
}

void h2a_inventory_close(H2A_INVENTORY *inv)
{
    if (inv == NULL) {
        return;
    }
    sqlite3_close(inv->db);
    free(inv->path);
    free(inv);
}

/* The schema version, refused when newer than this build knows. */
static h2a_err s_version(H2A_INVENTORY *inv, int *version)
{
    sqlite3_stmt *st = NULL;

    *version = 0;
    if (sqlite3_prepare_v2(inv->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "read schema version");
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (*version > H2A_INV_SCHEMA_VERSION) {
        return h2a_err_set(H2A_ERR_STATE, "inventory %s: schema version %d is newer than this "
                           "hsm2acm knows (%d)", inv->path, *version, H2A_INV_SCHEMA_VERSION);
    }
    return H2A_OK;
}

static h2a_err s_schema_check(H2A_INVENTORY *inv)
{
    int version;

    H2A_GUARD(s_version(inv, &version));
    if (sqlite3_exec(inv->db, s_schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(inv->db, "PRAGMA user_version=1", NULL, NULL, NULL) != SQLITE_OK) {
        return s_dberr(inv, "create schema");
    }
    return H2A_OK;
}

h2a_err h2a_inventory_open(const char *state_dir, H2A_INVENTORY **out)
{
    H2A_INVENTORY *inv;
    char path[4200];
    h2a_err rv = H2A_OK;
    int fd;

    *out = NULL;
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        return h2a_err_set(H2A_ERR_STATE, "state_dir %s: cannot create: %s", state_dir,
                           strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/inventory.db", state_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return h2a_err_set(H2A_ERR_STATE, "inventory %s: %s", path, strerror(errno));
    }
    close(fd);
    inv = calloc(1, sizeof(*inv));
    if (inv == NULL || (inv->path = strdup(path)) == NULL) {
        free(inv);
        return h2a_err_set(H2A_ERR_NOMEM, "inventory");
    }
    if (sqlite3_open_v2(path, &inv->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rv = s_dberr(inv, "open");
        goto done;
    }
    sqlite3_busy_timeout(inv->db, 10000);
    if (sqlite3_exec(inv->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        rv = s_dberr(inv, "set WAL mode");
        goto done;
    }
    rv = s_schema_check(inv);
done:
    if (rv != H2A_OK) {
        h2a_inventory_close(inv);
        return rv;
    }
    *out = inv;
    return H2A_OK;
}

h2a_err h2a_inventory_open_read(const char *state_dir, H2A_INVENTORY **out)
{
    H2A_INVENTORY *inv;
    char path[4200];
    h2a_err rv;
    int version = 0;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/inventory.db", state_dir);
    if (access(path, F_OK) != 0) {
        return H2A_OK;
    }
    inv = calloc(1, sizeof(*inv));
    if (inv == NULL || (inv->path = strdup(path)) == NULL) {
        free(inv);
        return h2a_err_set(H2A_ERR_NOMEM, "inventory");
    }
    rv = sqlite3_open_v2(path, &inv->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
             ? H2A_OK
             : s_dberr(inv, "open");
    if (rv == H2A_OK) {
        sqlite3_busy_timeout(inv->db, 10000);
        rv = s_version(inv, &version);
    }
    /* No schema yet: discover never finished a first run, so nothing to read. */
    if (rv != H2A_OK || version == 0) {
        h2a_inventory_close(inv);
        return rv;
    }
    *out = inv;
    return H2A_OK;
}

static h2a_err s_exec(H2A_INVENTORY *inv, const char *sql)
{
    return sqlite3_exec(inv->db, sql, NULL, NULL, NULL) == SQLITE_OK ? H2A_OK
                                                                     : s_dberr(inv, sql);
}

h2a_err h2a_inventory_begin(H2A_INVENTORY *inv)
{
    sqlite3_stmt *st = NULL;

    H2A_GUARD(s_exec(inv, "BEGIN IMMEDIATE"));
    if (sqlite3_prepare_v2(inv->db, "SELECT COALESCE(MAX(id), 0) + 1 FROM runs", -1, &st,
                           NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return s_dberr(inv, "next run id");
    }
    inv->run_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return H2A_OK;
}

h2a_err h2a_inventory_commit(H2A_INVENTORY *inv)
{
    return s_exec(inv, "COMMIT");
}

void h2a_inventory_rollback(H2A_INVENTORY *inv)
{
    (void)sqlite3_exec(inv->db, "ROLLBACK", NULL, NULL, NULL);
}

static int s_text(sqlite3_stmt *st, int i, const char *s)
{
    return s == NULL ? sqlite3_bind_null(st, i)
                     : sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static bool s_differs(const unsigned char *old, const char *now)
{
    if (old == NULL || now == NULL) {
        return (old == NULL) != (now == NULL);
    }
    return strcmp((const char *)old, now) != 0;
}

/* Which of serial / status / in_use_by changed; a change row for each. */
static h2a_err s_changes(H2A_INVENTORY *inv, sqlite3_stmt *old, const h2a_inv_cert *c,
                         long long now, bool *changed)
{
    static const char *const fields[] = {"serial", "status", "in_use_by"};
    const char *vals[] = {c->serial, c->status, c->in_use_by};
    sqlite3_stmt *ins = NULL;
    h2a_err rv = H2A_OK;

    if (sqlite3_prepare_v2(inv->db, "INSERT INTO changes(arn, at, field, old, new)"
                           " VALUES(?,?,?,?,?)", -1, &ins, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare change");
    }
    for (int i = 0; i < 3 && rv == H2A_OK; i++) {
        const unsigned char *o = sqlite3_column_text(old, i);
        if (!s_differs(o, vals[i])) {
            continue;
        }
        *changed = true;
        sqlite3_reset(ins);
        s_text(ins, 1, c->arn);
        sqlite3_bind_int64(ins, 2, now);
        s_text(ins, 3, fields[i]);
        s_text(ins, 4, (const char *)o);
        s_text(ins, 5, vals[i]);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rv = s_dberr(inv, "insert change");
        }
    }
    sqlite3_finalize(ins);
    return rv;
}

#define H2A_INV_UPSERT                                                                  \
    "INSERT INTO certificates(arn, account, region, type, status, domain, sans,"        \
    " key_algorithm, serial, issuer, not_before, not_after, in_use_by,"                 \
    " renewal_eligibility, tags, managed, first_seen, last_seen, last_run, gone_at)"    \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?17,?18,NULL)"  \
    " ON CONFLICT(arn) DO UPDATE SET account=?2, region=?3, type=?4, status=?5,"        \
    " domain=?6, sans=?7, key_algorithm=?8, serial=?9, issuer=?10, not_before=?11,"     \
    " not_after=?12, in_use_by=?13, renewal_eligibility=?14, tags=?15, managed=?16,"    \
    " first_seen=CASE WHEN gone_at IS NULL THEN first_seen ELSE ?17 END,"               \
    " last_seen=?17, last_run=?18, gone_at=NULL"

static h2a_err s_upsert(H2A_INVENTORY *inv, const h2a_inv_cert *c, long long now)
{
    const char *t[] = {c->arn, c->account, c->region, c->type, c->status, c->domain, c->sans,
                       c->key_algorithm, c->serial, c->issuer};
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;

    if (sqlite3_prepare_v2(inv->db, H2A_INV_UPSERT, -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare upsert");
    }
    for (int i = 0; i < 10; i++) {
        s_text(st, i + 1, t[i]);
    }
    sqlite3_bind_int64(st, 11, c->not_before);
    sqlite3_bind_int64(st, 12, c->not_after);
    s_text(st, 13, c->in_use_by);
    s_text(st, 14, c->renewal_eligibility);
    s_text(st, 15, c->tags);
    sqlite3_bind_int(st, 16, c->managed ? 1 : 0);
    sqlite3_bind_int64(st, 17, now);
    sqlite3_bind_int64(st, 18, inv->run_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rv = s_dberr(inv, "upsert certificate");
    }
    sqlite3_finalize(st);
    return rv;
}

h2a_err h2a_inventory_record(H2A_INVENTORY *inv, const h2a_inv_cert *c, long long now,
                             bool *is_new, bool *changed)
{
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;
    int step;

    *is_new = false;
    *changed = false;
    if (sqlite3_prepare_v2(inv->db, "SELECT serial, status, in_use_by, gone_at FROM"
                           " certificates WHERE arn = ?", -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare lookup");
    }
    s_text(st, 1, c->arn);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 3) == SQLITE_NULL) {
        rv = s_changes(inv, st, c, now, changed);
    } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
        *is_new = true;
    } else {
        rv = s_dberr(inv, "lookup certificate");
    }
    sqlite3_finalize(st);
    if (rv == H2A_OK) {
        rv = s_upsert(inv, c, now);
    }
    return rv;
}

h2a_err h2a_inventory_sweep(H2A_INVENTORY *inv, const char *account, const char *region,
                            long long run_start, long long now, json_object *gone)
{
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;
    int step;

    (void)run_start;
    if (sqlite3_prepare_v2(inv->db, "UPDATE certificates SET gone_at = ?1 WHERE account = ?2"
                           " AND region = ?3 AND gone_at IS NULL AND last_run < ?4"
                           " RETURNING arn", -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare sweep");
    }
    sqlite3_bind_int64(st, 1, now);
    s_text(st, 2, account);
    s_text(st, 3, region);
    sqlite3_bind_int64(st, 4, inv->run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_object_array_add(gone, json_object_new_string(
                                        (const char *)sqlite3_column_text(st, 0)));
    }
    if (step != SQLITE_DONE) {
        rv = s_dberr(inv, "sweep");
    }
    sqlite3_finalize(st);
    return rv;
}

h2a_err h2a_inventory_run(H2A_INVENTORY *inv, long long started, long long finished,
                          const char *summary_json)
{
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;

    if (sqlite3_prepare_v2(inv->db, "INSERT INTO runs(id, started, finished, summary)"
                           " VALUES(?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare run");
    }
    sqlite3_bind_int64(st, 1, inv->run_id);
    sqlite3_bind_int64(st, 2, started);
    sqlite3_bind_int64(st, 3, finished);
    s_text(st, 4, summary_json);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rv = s_dberr(inv, "insert run");
    }
    sqlite3_finalize(st);
    return rv;
}

static char *s_dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t == NULL ? NULL : strdup((const char *)t);
}

static void s_read_row(sqlite3_stmt *st, h2a_inv_cert *c)
{
    char **s[] = {&c->arn, &c->account, &c->region, &c->type, &c->status, &c->domain,
                  &c->sans, &c->key_algorithm, &c->serial, &c->issuer};

    for (int i = 0; i < 10; i++) {
        *s[i] = s_dup_col(st, i);
    }
    c->not_before = sqlite3_column_int64(st, 10);
    c->not_after = sqlite3_column_int64(st, 11);
    c->in_use_by = s_dup_col(st, 12);
    c->renewal_eligibility = s_dup_col(st, 13);
    c->tags = s_dup_col(st, 14);
    c->managed = sqlite3_column_int(st, 15) != 0;
    c->first_seen = sqlite3_column_int64(st, 16);
    c->last_seen = sqlite3_column_int64(st, 17);
}

h2a_err h2a_inventory_query(H2A_INVENTORY *inv, const struct h2a_inv_filter *f,
                            h2a_inv_cert **out, size_t *n_out)
{
    sqlite3_stmt *st = NULL;
    h2a_inv_cert *v = NULL;
    size_t n = 0, cap = 0;
    h2a_err rv = H2A_OK;
    int step;

    *out = NULL;
    *n_out = 0;
    if (sqlite3_prepare_v2(inv->db,
                           "SELECT arn, account, region, type, status, domain, sans,"
                           " key_algorithm, serial, issuer, not_before, not_after, in_use_by,"
                           " renewal_eligibility, tags, managed, first_seen, last_seen"
                           " FROM certificates WHERE gone_at IS NULL"
                           " AND (?1 = 0 OR not_after < ?1) AND (?2 IS NULL OR account = ?2)"
                           " AND (?3 IS NULL OR region = ?3) AND (?4 IS NULL OR status = ?4)"
                           " AND (?5 < 0 OR managed = ?5) ORDER BY not_after, arn",
                           -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(inv, "prepare query");
    }
    sqlite3_bind_int64(st, 1, f->expiring_before);
    s_text(st, 2, f->account);
    s_text(st, 3, f->region);
    s_text(st, 4, f->status);
    sqlite3_bind_int(st, 5, f->managed);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            h2a_inv_cert *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
            if (nv == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "inventory");
                goto done;
            }
            v = nv;
        }
        memset(&v[n], 0, sizeof(v[n]));
        s_read_row(st, &v[n++]);
    }
    if (step != SQLITE_DONE) {
        rv = s_dberr(inv, "query");
    }
done:
    sqlite3_finalize(st);
    if (rv != H2A_OK) {
        h2a_inv_certs_free(v, n);
        return rv;
    }
    *out = v;
    *n_out = n;
    return H2A_OK;
}
