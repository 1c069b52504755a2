/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/journal_int.h"

h2a_err h2a_journal_gen_record(H2A_JOURNAL *j, const char *id, const h2a_jtarget *t)
{
    sqlite3_stmt *st;

    /*
     * OR IGNORE on (request_id, target_idx): a target records imported,
     * then cleaned, and a resumed run records them again; it is one
     * delivery. The number is taken under the write lock the caller's
     * statement already holds, so two processes cannot take the same one.
     */
    H2A_GUARD(h2a_journal_stmt(
        j, &j->st_gen,
        "INSERT OR IGNORE INTO generations(arn, generation, request_id, target_idx, reason,"
        " imported_at) SELECT ?1, COALESCE((SELECT MAX(generation) FROM generations"
        " WHERE arn=?1), 0) + 1, ?2, ?3, COALESCE((SELECT reason FROM requests"
        " WHERE id=?2), 'enroll'), ?4"
        " WHERE NOT EXISTS (SELECT 1 FROM generations WHERE request_id=?2 AND target_idx=?3)",
        "record generation"));
    st = j->st_gen;
    h2a_journal_bind_opt(st, 1, t->imported_arn);
    h2a_journal_bind_opt(st, 2, id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)t->idx);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    return h2a_journal_stmt_done(j, st, "record generation");
}

void h2a_jgens_free(h2a_jgen *g, size_t n)
{
    for (size_t i = 0; g != NULL && i < n; i++) {
        free(g[i].arn);
        free(g[i].request_id);
        free(g[i].reason);
    }
    free(g);
}

#define S_GEN_COLS "arn, generation, request_id, target_idx, reason, imported_at, key_destroyed_at"

/* Run a generations query whose `?1` (if any) is `arg`. */
static h2a_err s_gens(H2A_JOURNAL *j, const char *sql, const char *arg, h2a_jgen **out,
                      size_t *n)
{
    sqlite3_stmt *st = NULL;
    h2a_jgen *g = NULL;
    size_t cnt = 0, cap = 0;
    h2a_err rv = H2A_OK;
    int rc;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return h2a_journal_dberr(j, "read generations");
    }
    if (arg != NULL) {
        h2a_journal_bind_opt(st, 1, arg);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            h2a_jgen *ng;

            cap = cap == 0 ? 8 : cap * 2;
            ng = realloc(g, cap * sizeof(*g));
            if (ng == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
                goto done;
            }
            g = ng;
        }
        memset(&g[cnt], 0, sizeof(g[cnt]));
        g[cnt].arn = h2a_journal_col(st, 0);
        g[cnt].generation = sqlite3_column_int64(st, 1);
        g[cnt].request_id = h2a_journal_col(st, 2);
        g[cnt].target_idx = (size_t)sqlite3_column_int64(st, 3);
        g[cnt].reason = h2a_journal_col(st, 4);
        g[cnt].imported_at = sqlite3_column_int64(st, 5);
        g[cnt].key_destroyed_at = sqlite3_column_int64(st, 6);
        cnt++;
        if (g[cnt - 1].arn == NULL || g[cnt - 1].request_id == NULL || g[cnt - 1].reason == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
            goto done;
        }
    }
    if (rc != SQLITE_DONE) {
        rv = h2a_journal_dberr(j, "read generations");
    }
done:
    sqlite3_finalize(st);
    if (rv != H2A_OK) {
        h2a_jgens_free(g, cnt);
        return rv;
    }
    *out = g;
    *n = cnt;
    return H2A_OK;
}

h2a_err h2a_journal_generations(H2A_JOURNAL *j, const char *arn, h2a_jgen **out, size_t *n)
{
    return s_gens(j, "SELECT " S_GEN_COLS " FROM generations WHERE arn=?1"
                     " ORDER BY generation DESC", arn, out, n);
}

h2a_err h2a_journal_current_generations(H2A_JOURNAL *j, h2a_jgen **out, size_t *n)
{
    return s_gens(j, "SELECT " S_GEN_COLS " FROM generations g WHERE generation ="
                     " (SELECT MAX(generation) FROM generations WHERE arn=g.arn)"
                     " ORDER BY request_id, arn",
                  NULL, out, n);
}

h2a_err h2a_journal_request_arn(H2A_JOURNAL *j, const char *id, char **arn)
{
    h2a_jgen *g = NULL;
    size_t n = 0;

    *arn = NULL;
    H2A_GUARD(s_gens(j, "SELECT " S_GEN_COLS " FROM generations WHERE request_id=?1"
                        " ORDER BY target_idx LIMIT 1", id, &g, &n));
    if (n > 0) {
        *arn = g[0].arn;
        g[0].arn = NULL;
    }
    h2a_jgens_free(g, n);
    return H2A_OK;
}

h2a_err h2a_journal_gen_key_destroyed(H2A_JOURNAL *j, const char *key_id)
{
    sqlite3_stmt *st = NULL;
    h2a_err rv = H2A_OK;

    /* Every generation with that key: a rollback shares its key with the generation it repeats. */
    if (sqlite3_prepare_v2(j->db, "UPDATE generations SET key_destroyed_at=?2"
                                  " WHERE request_id IN (SELECT id FROM requests WHERE key_id=?1)",
                           -1, &st, NULL) != SQLITE_OK) {
        return h2a_journal_dberr(j, "mark key destroyed");
    }
    h2a_journal_bind_opt(st, 1, key_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    rv = h2a_journal_stmt_done(j, st, "mark key destroyed");
    sqlite3_finalize(st);
    return rv;
}

h2a_err h2a_journal_key_needed(H2A_JOURNAL *j, const char *key_id, bool *needed)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *needed = false;
    if (sqlite3_prepare_v2(j->db, "SELECT 1 FROM requests WHERE key_id=?1"
                                  " AND state NOT IN ('cleaned', 'failed') LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        return h2a_journal_dberr(j, "look up key");
    }
    h2a_journal_bind_opt(st, 1, key_id);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return h2a_journal_dberr(j, "look up key");
    }
    *needed = rc == SQLITE_ROW;
    return H2A_OK;
}

h2a_err h2a_journal_gen_key(H2A_JOURNAL *j, const h2a_jgen *g, char **key_id, char **label)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *key_id = *label = NULL;
    if (sqlite3_prepare_v2(j->db, "SELECT key_id, key_label FROM requests WHERE id=?1", -1,
                           &st, NULL) != SQLITE_OK) {
        return h2a_journal_dberr(j, "look up key");
    }
    h2a_journal_bind_opt(st, 1, g->request_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *key_id = h2a_journal_col(st, 0);
        *label = h2a_journal_col(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return h2a_journal_dberr(j, "look up key");
    }
    return H2A_OK;
}

void h2a_jcurs_free(h2a_jcur *c, size_t n)
{
    for (size_t i = 0; c != NULL && i < n; i++) {
        free(c[i].arn);
        h2a_jreq_free(c[i].req);
    }
    free(c);
}

/*
 * The request columns in journal.c's order (body and hash as empty text:
 * the row reader insists on them), so one reader serves both; not_after
 * also as seconds, which SQLite parses faster than a strptime per row.
 */
#define S_CUR_SQL                                                                            \
    "SELECT r.id, '', '', r.requester, r.state, NULL, NULL, NULL, NULL, r.serial,"           \
    " r.not_after, CASE WHEN r.not_before IS NULL OR strftime('%s', r.not_after) IS NULL"    \
    " THEN r.cert_pem END, NULL, NULL, NULL,"                                                \
    " r.created, r.updated, NULL, r.reason, r.not_before, r.ari_id, g.arn, g.generation,"    \
    " CAST(strftime('%s', r.not_after) AS INTEGER)"                                          \
    " FROM generations g JOIN requests r ON r.id = g.request_id"                             \
    " WHERE g.generation = (SELECT MAX(generation) FROM generations WHERE arn = g.arn)"

static h2a_err s_cur_row(sqlite3_stmt *st, h2a_jcur *c)
{
    memset(c, 0, sizeof(*c));
    H2A_GUARD(h2a_journal_read_req(st, &c->req));
    c->arn = h2a_journal_col(st, 21);
    c->generation = sqlite3_column_int64(st, 22);
    c->not_after = sqlite3_column_int64(st, 23);
    return c->arn == NULL ? h2a_err_set(H2A_ERR_NOMEM, "journal") : H2A_OK;
}

static int s_cur_cmp(const void *a, const void *b)
{
    const h2a_jcur *x = a, *y = b;
    int c = strcmp(x->req->id, y->req->id);

    return c != 0 ? c : strcmp(x->arn, y->arn);
}

h2a_err h2a_journal_current(H2A_JOURNAL *j, const char *arn, h2a_jcur **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    h2a_jcur *v = NULL;
    size_t cnt = 0, cap = 0;
    h2a_err rv = H2A_OK;
    int rc = SQLITE_DONE;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(j->db, arn != NULL ? S_CUR_SQL " AND g.arn = ?1" : S_CUR_SQL, -1,
                           &st, NULL) != SQLITE_OK) {
        return h2a_journal_dberr(j, "read current generations");
    }
    if (arn != NULL) {
        h2a_journal_bind_opt(st, 1, arn);
    }
    while (rv == H2A_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            h2a_jcur *nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

            if (nv == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
                break;
            }
            v = nv;
            cap = cap ? cap * 2 : 64;
        }
        rv = s_cur_row(st, &v[cnt]);
        cnt += v[cnt].req != NULL || v[cnt].arn != NULL ? 1 : 0;
    }
    if (rv == H2A_OK && rc != SQLITE_DONE) {
        rv = h2a_journal_dberr(j, "read current generations");
    }
    sqlite3_finalize(st);
    if (rv != H2A_OK) {
        h2a_jcurs_free(v, cnt);
        return rv;
    }
    /*
     * Sorted here, not by ORDER BY: SQLite sorts whole rows and spilled
     * 10,000 of them to temporary files; this moves pointers' worth.
     */
    if (cnt > 1) {
        qsort(v, cnt, sizeof(*v), s_cur_cmp);
    }
    *out = v;
    *n = cnt;
    return H2A_OK;
}
