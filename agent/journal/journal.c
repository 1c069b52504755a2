/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journal/journal_int.h"


h2a_err h2a_journal_dberr(H2A_JOURNAL *j, const char *what)
{
    return h2a_err_set(H2A_ERR_STATE, "journal %s: %s: %s", j->path, what,
                       sqlite3_errmsg(j->db));
}
#define s_dberr h2a_journal_dberr
#define s_stmt h2a_journal_stmt
#define s_stmt_done h2a_journal_stmt_done
#define s_col h2a_journal_col
#define s_bind_opt h2a_journal_bind_opt

/*
 * The schema as migrations: entry k takes a journal from version k to k+1.
 * Version 1 is the schema of the journals made before it had a version
 * (user_version 0 with a requests table); a new journal runs them all, so
 * that a new and a migrated journal have the same schema text
 * (tests/vectors/journal/schema.sql pins it).
 */
static const char *const s_migrations[H2A_JOURNAL_SCHEMA] = {
    "CREATE TABLE IF NOT EXISTS requests("
    " id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, body TEXT NOT NULL,"
    " requester TEXT NOT NULL, state TEXT NOT NULL, key_type TEXT,"
    " key_label TEXT, key_id TEXT, kcv TEXT, serial TEXT, not_after TEXT,"
    " cert_pem TEXT, chain_pem TEXT, error TEXT, failed_step TEXT,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS targets("
    " request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, region TEXT NOT NULL, account TEXT,"
    " certificate_arn TEXT, state TEXT NOT NULL, resume_from TEXT,"
    " new_arn INTEGER NOT NULL DEFAULT 0, secret_name TEXT, secret_arn TEXT,"
    " secret_expiry INTEGER, imported_arn TEXT, serial TEXT, error TEXT,"
    " timings TEXT, updated INTEGER NOT NULL,"
    " PRIMARY KEY(request_id, idx));",
    /* 1 → 2: asynchronous issuers journal their handle (state submitted). */
    "ALTER TABLE requests ADD COLUMN issuer_handle TEXT;",
    /*
     * 2 → 3: generations (docs/renew.md). Every delivery to an ARN is one;
     * the deliveries an older journal holds become that ARN's first
     * generations, in the order they were made, as enrollments.
     */
    "ALTER TABLE requests ADD COLUMN reason TEXT NOT NULL DEFAULT 'enroll';"
    "CREATE TABLE generations("
    " arn TEXT NOT NULL, generation INTEGER NOT NULL,"
    " request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,"
    " target_idx INTEGER NOT NULL, reason TEXT NOT NULL, imported_at INTEGER NOT NULL,"
    " key_destroyed_at INTEGER,"
    " PRIMARY KEY(arn, generation), UNIQUE(request_id, target_idx));"
    "INSERT INTO generations(arn, generation, request_id, target_idx, reason, imported_at)"
    " SELECT imported_arn, ROW_NUMBER() OVER (PARTITION BY imported_arn"
    " ORDER BY updated, request_id, idx), request_id, idx, 'enroll', updated FROM targets"
    " WHERE imported_arn IS NOT NULL AND state IN ('imported', 'cleaned');",
    /*
     * 3 → 4: what renew's due time needs from a certificate, as columns
     * (renew --dry-run read and parsed every certificate); filled from
     * cert_pem by h2a_journal_backfill_v4 in the same transaction.
     */
    ("ALTER TABLE requests ADD COLUMN not_before INTEGER;"
     "ALTER TABLE requests ADD COLUMN ari_id TEXT;"),
};

static h2a_err s_mkdir_private(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return h2a_err_set(H2A_ERR_STATE, "state_dir %s: cannot create: %s", dir,
                           strerror(errno));
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return h2a_err_set(H2A_ERR_STATE, "state_dir %s: not a directory", dir);
    }
    if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0) {
        return h2a_err_set(H2A_ERR_STATE, "state_dir %s: cannot make it 0700: %s",
                           dir, strerror(errno));
    }
    return H2A_OK;
}

void h2a_journal_close(H2A_JOURNAL *j)
{
    if (j == NULL) {
        return;
    }
    H2A_LOG_DBG("journal %s: %lu durable commits, %lu transactions", j->path, j->durable,
                j->commits);
    sqlite3_finalize(j->st_req_insert);
    sqlite3_finalize(j->st_req_upsert);
    sqlite3_finalize(j->st_req_drop_failed);
    sqlite3_finalize(j->st_target);
    sqlite3_finalize(j->st_gen);
    for (size_t i = 0; i < sizeof(j->st_ctl) / sizeof(j->st_ctl[0]); i++) {
        sqlite3_finalize(j->st_ctl[i]);
    }
    sqlite3_close(j->db);
    free(j->path);
    free(j);
}

/*
 * Batch workers write to one journal; a writer holds the lock for about
 * one fsync. SQLite's own busy timeout sleeps 1, 2, 5, 10... ms between
 * tries, far longer than the lock is held: poll every 0.2 ms instead, and
 * give up after 10 s as before.
 */
static int s_busy(void *arg, int count)
{
    (void)arg;
    if (count >= 50000) {
        return 0;
    }
    usleep(200);
    return 1;
}

static h2a_err s_wal_fsync(H2A_JOURNAL *j)
{
    sqlite3_file *f = NULL;

    if (sqlite3_file_control(j->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK ||
        f == NULL || f->pMethods == NULL) {
        return h2a_err_set(H2A_ERR_STATE, "journal %s: no WAL file to sync", j->path);
    }
    if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
        return h2a_err_set(H2A_ERR_STATE, "journal %s: sync of the WAL failed: %s", j->path,
                           strerror(errno));
    }
    return H2A_OK;
}

/*
 * Two processes that open a journal not yet in WAL mode (batch workers on a
 * new state directory) can meet in SQLite's lock upgrade: one holds SHARED
 * and wants EXCLUSIVE for the mode change while the other holds RESERVED.
 * SQLite answers BUSY at once without calling the busy handler there (it
 * would deadlock), so poll as s_busy does, up to its 10 s.
 */
static h2a_err s_wal_mode(H2A_JOURNAL *j)
{
    int rc = SQLITE_BUSY;

    for (int i = 0; i < 50000 && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED); i++) {
        if (i > 0) {
            usleep(200);
        }
        rc = sqlite3_exec(j->db,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                          NULL, NULL, NULL);
    }
    return rc == SQLITE_OK ? H2A_OK : s_dberr(j, "set WAL mode");
}

static h2a_err s_user_version(H2A_JOURNAL *j, int *out)
{
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;

    if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rv = s_dberr(j, "read schema version");
    } else {
        *out = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rv;
}

/* Version 0 is a new file, or a journal from before versions (schema 1). */
static h2a_err s_version_in_txn(H2A_JOURNAL *j, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc;

    H2A_GUARD(s_user_version(j, v));
    if (*v != 0) {
        return H2A_OK;
    }
    if (sqlite3_prepare_v2(j->db, "SELECT 1 FROM sqlite_master WHERE name='requests'", -1,
                           &st, NULL) != SQLITE_OK) {
        return s_dberr(j, "read schema");
    }
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return s_dberr(j, "read schema");
    }
    *v = rc == SQLITE_ROW ? 1 : 0;
    return H2A_OK;
}

static h2a_err s_too_new(H2A_JOURNAL *j, int v)
{
    return h2a_err_set(H2A_ERR_STATE,
                       "journal %s has schema version %d; this hsm2acm knows versions up to "
                       "%d (a newer hsm2acm wrote it): run that version, or restore a journal "
                       "it has not upgraded", j->path, v, H2A_JOURNAL_SCHEMA);
}

/* Bring the schema to H2A_JOURNAL_SCHEMA in one transaction, or refuse a newer one. */
static h2a_err s_schema(H2A_JOURNAL *j)
{
    h2a_err rv;
    int v = 0;
    char sql[64];

    H2A_GUARD(s_user_version(j, &v));
    if (v > H2A_JOURNAL_SCHEMA) {
        return s_too_new(j, v);
    }
    if (v == H2A_JOURNAL_SCHEMA) {
        j->schema = v;
        return H2A_OK;
    }
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return s_dberr(j, "migrate schema");
    }
    /* Again under the lock: another process may have migrated it meanwhile. */
    rv = s_version_in_txn(j, &v);
    if (rv == H2A_OK && v > H2A_JOURNAL_SCHEMA) {
        rv = s_too_new(j, v);
    }
    for (int k = v; rv == H2A_OK && k < H2A_JOURNAL_SCHEMA; k++) {
        if (sqlite3_exec(j->db, s_migrations[k], NULL, NULL, NULL) != SQLITE_OK) {
            rv = s_dberr(j, "migrate schema");
        } else if (k == 3) {
            rv = h2a_journal_backfill_v4(j);
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", H2A_JOURNAL_SCHEMA);
    if (rv == H2A_OK && (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
                         sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)) {
        rv = s_dberr(j, "migrate schema");
    }
    if (rv != H2A_OK) {
        (void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return rv;
    }
    if (v > 0) {
        H2A_LOG_INFO("journal %s: schema migrated from version %d to %d", j->path, v,
                     H2A_JOURNAL_SCHEMA);
        /* A migrated journal holds requests: make the new schema durable now. */
        H2A_GUARD(s_wal_fsync(j));
    }
    /* A new one is synced by its first durable commit, before any key. */
    j->schema = H2A_JOURNAL_SCHEMA;
    return H2A_OK;
}

int h2a_journal_schema(const H2A_JOURNAL *j)
{
    return j->schema;
}

h2a_err h2a_journal_open(const char *state_dir, H2A_JOURNAL **out)
{
    h2a_err rv = H2A_OK;
    H2A_JOURNAL *j;
    char path[4200];
    int fd;

    *out = NULL;
    H2A_GUARD(s_mkdir_private(state_dir));
    snprintf(path, sizeof(path), "%s/journal.db", state_dir);
    /* Create the file ourselves so it is 0600 whatever the umask. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return h2a_err_set(H2A_ERR_STATE, "journal %s: %s", path, strerror(errno));
    }
    (void)fchmod(fd, 0600);
    close(fd);
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strdup(path)) == NULL) {
        free(j);
        return h2a_err_set(H2A_ERR_NOMEM, "journal");
    }
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rv = s_dberr(j, "open");
        goto done;
    }
    sqlite3_busy_handler(j->db, s_busy, j);
    rv = s_wal_mode(j);
    if (rv != H2A_OK) {
        goto done;
    }
    rv = s_schema(j);
    if (rv != H2A_OK) {
        goto done;
    }
    /* WAL and shm files inherit the database's mode; make sure anyway. */
    snprintf(path, sizeof(path), "%s/journal.db-wal", state_dir);
    (void)chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/journal.db-shm", state_dir);
    (void)chmod(path, 0600);
done:
    if (rv != H2A_OK) {
        h2a_journal_close(j);
        return rv;
    }
    *out = j;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */

char *h2a_journal_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t == NULL ? NULL : strdup((const char *)t);
}

int h2a_journal_bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    return s == NULL ? sqlite3_bind_null(st, i)
                     : sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

#define H2A_REQ_COLS                                                     \
    "id, body_hash, body, requester, state, key_type, key_label, key_id," \
    " kcv, serial, not_after, cert_pem, chain_pem, error, failed_step,"   \
    " created, updated, issuer_handle, reason, not_before, ari_id"
#define H2A_TGT_COLS                                                     \
    "idx, region, account, certificate_arn, state, resume_from, new_arn," \
    " secret_name, secret_arn, secret_expiry, imported_arn, serial, error," \
    " timings, updated"

h2a_err h2a_journal_read_req(sqlite3_stmt *st, h2a_jreq **out)
{
    h2a_jreq *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "journal");
    }
    r->id = s_col(st, 0);
    r->body_hash = s_col(st, 1);
    r->body = s_col(st, 2);
    r->requester = s_col(st, 3);
    r->state = h2a_jstate_parse((const char *)sqlite3_column_text(st, 4));
    r->key_type = s_col(st, 5);
    r->key_label = s_col(st, 6);
    r->key_id = s_col(st, 7);
    r->kcv = s_col(st, 8);
    r->serial = s_col(st, 9);
    r->not_after = s_col(st, 10);
    r->cert_pem = s_col(st, 11);
    r->chain_pem = s_col(st, 12);
    r->error = s_col(st, 13);
    r->failed_step = s_col(st, 14);
    r->created = sqlite3_column_int64(st, 15);
    r->updated = sqlite3_column_int64(st, 16);
    r->issuer_handle = s_col(st, 17);
    r->reason = s_col(st, 18);
    r->not_before = sqlite3_column_int64(st, 19);
    r->ari_id = s_col(st, 20);
    if (r->id == NULL || r->body == NULL || r->body_hash == NULL ||
        r->state == H2A_JS_NONE) {
        h2a_jreq_free(r);
        return h2a_err_set(H2A_ERR_STATE, "journal: request row is incomplete");
    }
    *out = r;
    return H2A_OK;
}

static void s_read_target(sqlite3_stmt *st, h2a_jtarget *t)
{
    t->idx = (size_t)sqlite3_column_int64(st, 0);
    t->region = s_col(st, 1);
    t->account = s_col(st, 2);
    t->certificate_arn = s_col(st, 3);
    t->state = h2a_jstate_parse((const char *)sqlite3_column_text(st, 4));
    t->resume_from = h2a_jstate_parse((const char *)sqlite3_column_text(st, 5));
    t->new_arn = sqlite3_column_int(st, 6) != 0;
    t->secret_name = s_col(st, 7);
    t->secret_arn = s_col(st, 8);
    t->secret_expiry = sqlite3_column_int64(st, 9);
    t->imported_arn = s_col(st, 10);
    t->serial = s_col(st, 11);
    t->error = s_col(st, 12);
    t->timings = s_col(st, 13);
    t->updated = sqlite3_column_int64(st, 14);
}

h2a_err h2a_journal_get(H2A_JOURNAL *j, const char *id, h2a_jreq **req,
                        h2a_jtarget **targets, size_t *n)
{
    h2a_err rv = H2A_OK;
    sqlite3_stmt *st = NULL;
    h2a_jtarget *t = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *req = NULL;
    *targets = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT " H2A_REQ_COLS " FROM requests WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(j, "read request");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        goto done;
    }
    if (rc != SQLITE_ROW) {
        rv = s_dberr(j, "read request");
        goto done;
    }
    rv = h2a_journal_read_req(st, req);
    if (rv != H2A_OK) {
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT " H2A_TGT_COLS " FROM targets WHERE request_id=?"
                           " ORDER BY idx",
                           -1, &st, NULL) != SQLITE_OK) {
        rv = s_dberr(j, "read targets");
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            h2a_jtarget *nt;

            cap = cap == 0 ? 4 : cap * 2;
            nt = realloc(t, cap * sizeof(*t));
            if (nt == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
                goto done;
            }
            t = nt;
        }
        memset(&t[cnt], 0, sizeof(t[cnt]));
        s_read_target(st, &t[cnt]);
        cnt++;
    }
    if (rc != SQLITE_DONE) {
        rv = s_dberr(j, "read targets");
    }
done:
    sqlite3_finalize(st);
    if (rv != H2A_OK) {
        h2a_jreq_free(*req);
        *req = NULL;
        h2a_jtargets_free(t, cnt);
        return rv;
    }
    *targets = t;
    *n = cnt;
    return H2A_OK;
}

enum { S_BEGIN, S_COMMIT };

static const char *const s_ctl_sql[] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
};

/* s_exec of a control statement, prepared on first use. */
static h2a_err s_ctl(H2A_JOURNAL *j, int which)
{
    sqlite3_stmt **slot = &j->st_ctl[which];
    int rc;

    if (*slot == NULL && sqlite3_prepare_v3(j->db, s_ctl_sql[which], -1,
                                            SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
        *slot = NULL;
        return s_dberr(j, s_ctl_sql[which]);
    }
    do {
        rc = sqlite3_step(*slot);
    } while (rc == SQLITE_ROW);
    if (rc != SQLITE_DONE) {
        h2a_err rv = s_dberr(j, s_ctl_sql[which]);

        sqlite3_reset(*slot);
        return rv;
    }
    sqlite3_reset(*slot);
    return H2A_OK;
}

/* A cached statement, ready to bind (prepared on first use). */
h2a_err h2a_journal_stmt(H2A_JOURNAL *j, sqlite3_stmt **slot, const char *sql, const char *what)
{
    if (*slot == NULL) {
        if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
            SQLITE_OK) {
            *slot = NULL;
            return s_dberr(j, what);
        }
        return H2A_OK;
    }
    sqlite3_reset(*slot);
    sqlite3_clear_bindings(*slot);
    return H2A_OK;
}

/*
 * Make every commit so far durable. The connection stays at
 * synchronous=NORMAL, where a WAL commit is written but not fsync'd, and a
 * durable commit syncs the WAL here. (Switching synchronous around each
 * transaction instead cost two PRAGMA parses per commit: a PRAGMA acts when
 * it is prepared, so SQLite re-prepares it at every run.)
 */
static h2a_err s_sync_wal(H2A_JOURNAL *j)
{
    H2A_GUARD(s_wal_fsync(j));
    j->durable++;
    return H2A_OK;
}

/* Run a bound write; reset it so that it holds no lock afterwards. */
h2a_err h2a_journal_stmt_done(H2A_JOURNAL *j, sqlite3_stmt *st, const char *what)
{
    h2a_err rv = H2A_OK;

    if (sqlite3_step(st) != SQLITE_DONE) {
        rv = s_dberr(j, what);
    }
    sqlite3_reset(st);
    /* Outside a transaction a write is its own commit, and durable. */
    if (rv == H2A_OK && !j->in_txn && sqlite3_get_autocommit(j->db)) {
        rv = s_sync_wal(j);
    }
    return rv;
}

static h2a_err s_write_req(H2A_JOURNAL *j, bool insert, h2a_jreq *r)
{
    sqlite3_stmt **slot = insert ? &j->st_req_insert : &j->st_req_upsert;
    sqlite3_stmt *st;
    long long nb = r->not_before;
    char *ari = NULL;
    h2a_err rv;

    r->updated = (long long)time(NULL);
    if (r->created == 0) {
        r->created = r->updated;
    }
    /*
     * An update must not be INSERT OR REPLACE: that deletes the row first,
     * and the cascade would take the targets with it.
     */
    H2A_GUARD(s_stmt(j, slot,
                     insert ? "INSERT INTO requests(" H2A_REQ_COLS
                              ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                            : "INSERT INTO requests(" H2A_REQ_COLS
                              ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                              " ON CONFLICT(id) DO UPDATE SET body_hash=excluded.body_hash,"
                              " body=excluded.body, requester=excluded.requester,"
                              " state=excluded.state, key_type=excluded.key_type,"
                              " key_label=excluded.key_label, key_id=excluded.key_id,"
                              " kcv=excluded.kcv, serial=excluded.serial,"
                              " not_after=excluded.not_after, cert_pem=excluded.cert_pem,"
                              " chain_pem=excluded.chain_pem, error=excluded.error,"
                              " failed_step=excluded.failed_step, updated=excluded.updated,"
                              " issuer_handle=excluded.issuer_handle,"
                              " reason=excluded.reason, not_before=excluded.not_before,"
                              " ari_id=excluded.ari_id",
                     "write request"));
    st = *slot;
    s_bind_opt(st, 1, r->id);
    s_bind_opt(st, 2, r->body_hash);
    s_bind_opt(st, 3, r->body);
    s_bind_opt(st, 4, r->requester);
    s_bind_opt(st, 5, h2a_jstate_name(r->state));
    s_bind_opt(st, 6, r->key_type);
    s_bind_opt(st, 7, r->key_label);
    s_bind_opt(st, 8, r->key_id);
    s_bind_opt(st, 9, r->kcv);
    s_bind_opt(st, 10, r->serial);
    s_bind_opt(st, 11, r->not_after);
    s_bind_opt(st, 12, r->cert_pem);
    s_bind_opt(st, 13, r->chain_pem);
    s_bind_opt(st, 14, r->error);
    s_bind_opt(st, 15, r->failed_step);
    sqlite3_bind_int64(st, 16, r->created);
    sqlite3_bind_int64(st, 17, r->updated);
    s_bind_opt(st, 18, r->issuer_handle);
    s_bind_opt(st, 19, r->reason != NULL ? r->reason : "enroll");
    /* Parsed once per certificate: the engine's row keeps what the first write found. */
    if (r->cert_pem != NULL && nb == 0) {
        H2A_GUARD(h2a_journal_cert_cols(r->cert_pem, &nb, &ari));
    }
    if (nb != 0) {
        sqlite3_bind_int64(st, 20, nb);
    }
    s_bind_opt(st, 21, ari != NULL ? ari : r->ari_id);
    rv = s_stmt_done(j, st, "write request");
    if (!insert && nb != r->not_before) {
        r->not_before = nb;
        if (ari != NULL) {
            free(r->ari_id);
            r->ari_id = ari;
            ari = NULL;
        }
    }
    free(ari);
    return rv;
}

static h2a_err s_write_target(H2A_JOURNAL *j, const char *id, h2a_jtarget *t)
{
    sqlite3_stmt *st;

    t->updated = (long long)time(NULL);
    /*
     * Update in place: INSERT OR REPLACE deletes the row and inserts it
     * again, rewriting the primary key's index page at every state change.
     */
    H2A_GUARD(s_stmt(j, &j->st_target,
                     "INSERT INTO targets(request_id, " H2A_TGT_COLS
                     ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                     " ON CONFLICT(request_id, idx) DO UPDATE SET region=excluded.region,"
                     " account=excluded.account, certificate_arn=excluded.certificate_arn,"
                     " state=excluded.state, resume_from=excluded.resume_from,"
                     " new_arn=excluded.new_arn, secret_name=excluded.secret_name,"
                     " secret_arn=excluded.secret_arn, secret_expiry=excluded.secret_expiry,"
                     " imported_arn=excluded.imported_arn, serial=excluded.serial,"
                     " error=excluded.error, timings=excluded.timings, updated=excluded.updated",
                     "write target"));
    st = j->st_target;
    s_bind_opt(st, 1, id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)t->idx);
    s_bind_opt(st, 3, t->region);
    s_bind_opt(st, 4, t->account);
    s_bind_opt(st, 5, t->certificate_arn);
    s_bind_opt(st, 6, h2a_jstate_name(t->state));
    s_bind_opt(st, 7, t->resume_from == H2A_JS_NONE ? NULL : h2a_jstate_name(t->resume_from));
    sqlite3_bind_int(st, 8, t->new_arn ? 1 : 0);
    s_bind_opt(st, 9, t->secret_name);
    s_bind_opt(st, 10, t->secret_arn);
    sqlite3_bind_int64(st, 11, t->secret_expiry);
    s_bind_opt(st, 12, t->imported_arn);
    s_bind_opt(st, 13, t->serial);
    s_bind_opt(st, 14, t->error);
    s_bind_opt(st, 15, t->timings);
    sqlite3_bind_int64(st, 16, t->updated);
    H2A_GUARD(s_stmt_done(j, st, "write target"));
    if ((t->state == H2A_JS_IMPORTED || t->state == H2A_JS_CLEANED) && t->imported_arn != NULL) {
        return h2a_journal_gen_record(j, id, t);
    }
    return H2A_OK;
}

static h2a_err s_insert_rows(H2A_JOURNAL *j, const h2a_jreq *req, const h2a_jtarget *targets,
                             size_t n)
{
    h2a_jreq r = *req;
    h2a_err rv;

    /* A FAILED request (nothing delivered) may be started over. */
    H2A_GUARD(s_stmt(j, &j->st_req_drop_failed,
                     "DELETE FROM requests WHERE id=? AND state='failed'", "insert request"));
    sqlite3_bind_text(j->st_req_drop_failed, 1, req->id, -1, SQLITE_TRANSIENT);
    H2A_GUARD(s_stmt_done(j, j->st_req_drop_failed, "insert request"));
    rv = s_write_req(j, true, &r);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        h2a_jtarget t = targets[i];

        rv = s_write_target(j, req->id, &t);
    }
    return rv;
}

h2a_err h2a_journal_insert(H2A_JOURNAL *j, const h2a_jreq *req,
                           const h2a_jtarget *targets, size_t n)
{
    h2a_err rv;

    if (j->in_txn) {
        return s_insert_rows(j, req, targets, n);
    }
    H2A_GUARD(s_ctl(j, S_BEGIN));
    rv = s_insert_rows(j, req, targets, n);
    if (rv == H2A_OK) {
        rv = s_ctl(j, S_COMMIT);
    }
    if (rv != H2A_OK) {
        (void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return rv;
    }
    return s_sync_wal(j);
}

h2a_err h2a_journal_begin(H2A_JOURNAL *j, h2a_jsync sync)
{
    if (j->in_txn) {
        return h2a_err_set(H2A_ERR_INTERNAL, "journal: transaction already open");
    }
    if (s_ctl(j, S_BEGIN) != H2A_OK) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
        return h2a_err_set(H2A_ERR_STATE, "%s", msg);
    }
    j->in_txn = true;
    j->sync = sync;
    return H2A_OK;
}

h2a_err h2a_journal_commit(H2A_JOURNAL *j)
{
    h2a_err rv;

    if (!j->in_txn) {
        return h2a_err_set(H2A_ERR_INTERNAL, "journal: commit without begin");
    }
    rv = s_ctl(j, S_COMMIT);
    if (rv != H2A_OK) {
        h2a_journal_rollback(j);
        return rv;
    }
    j->in_txn = false;
    j->commits++;
    /* The commit is in the WAL; a lazy one is durable from the next sync on. */
    return j->sync == H2A_JSYNC_DURABLE ? s_sync_wal(j) : H2A_OK;
}

void h2a_journal_rollback(H2A_JOURNAL *j)
{
    if (j == NULL || !j->in_txn) {
        return;
    }
    (void)sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    j->in_txn = false;
}

h2a_err h2a_journal_end(H2A_JOURNAL *j, h2a_err rv)
{
    if (rv != H2A_OK) {
        h2a_journal_rollback(j);
        return rv;
    }
    return h2a_journal_commit(j);
}

unsigned long h2a_journal_durable_commits(const H2A_JOURNAL *j)
{
    return j->durable;
}

h2a_err h2a_journal_put_request(H2A_JOURNAL *j, h2a_jreq *req)
{
    return s_write_req(j, false, req);
}

h2a_err h2a_journal_put_target(H2A_JOURNAL *j, const char *id, h2a_jtarget *t)
{
    return s_write_target(j, id, t);
}

h2a_err h2a_journal_ids(H2A_JOURNAL *j, char ***ids, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    h2a_err rv = H2A_OK;
    int rc;

    *ids = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT id FROM requests ORDER BY created, id", -1,
                           &st, NULL) != SQLITE_OK) {
        return s_dberr(j, "list requests");
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt + 1 >= cap) {
            char **nv;

            cap = cap == 0 ? 16 : cap * 2;
            nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
                goto done;
            }
            v = nv;
        }
        v[cnt] = s_col(st, 0);
        if (v[cnt] == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
            goto done;
        }
        v[++cnt] = NULL;
    }
    if (rc != SQLITE_DONE) {
        rv = s_dberr(j, "list requests");
    }
done:
    sqlite3_finalize(st);
    if (rv != H2A_OK) {
        for (size_t i = 0; i < cnt; i++) {
            free(v[i]);
        }
        free(v);
        return rv;
    }
    if (v == NULL) {
        v = calloc(1, sizeof(*v));
        if (v == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "journal");
        }
    }
    *ids = v;
    *n = cnt;
    return H2A_OK;
}

h2a_err h2a_journal_knows_key(H2A_JOURNAL *j, const char *id_hex,
                              const char *label, bool *known)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *known = false;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT 1 FROM requests WHERE (key_id IS NOT NULL AND key_id=?)"
                           " OR (key_label IS NOT NULL AND key_label=?) LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        return s_dberr(j, "look up key");
    }
    s_bind_opt(st, 1, id_hex != NULL ? id_hex : "");
    s_bind_opt(st, 2, label != NULL ? label : "");
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) {
        *known = true;
    } else if (rc != SQLITE_DONE) {
        return s_dberr(j, "look up key");
    }
    return H2A_OK;
}
