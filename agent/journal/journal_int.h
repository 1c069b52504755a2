/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* What journal.c and generations.c share: the connection and its statements. */

#include <sqlite3.h>

#include "journal/h2a_journal.h"

struct h2a_journal {
    sqlite3 *db;
    char *path;
    /* Prepared once: each enrollment writes a row several times. */
    sqlite3_stmt *st_req_insert;
    sqlite3_stmt *st_req_upsert;
    sqlite3_stmt *st_req_drop_failed;
    sqlite3_stmt *st_target;
    sqlite3_stmt *st_gen; /* a delivery becomes a generation */
    /* BEGIN and COMMIT run at every step: parse them once. */
    sqlite3_stmt *st_ctl[2];
    int schema;          /* PRAGMA user_version once open */
    bool in_txn;         /* between h2a_journal_begin and commit/rollback */
    h2a_jsync sync;      /* of the open transaction */
    unsigned long durable;
    unsigned long commits; /* through h2a_journal_begin/commit, durable or lazy */
};

h2a_err h2a_journal_dberr(H2A_JOURNAL *j, const char *what);
/* A cached statement, ready to bind (prepared on first use). */
h2a_err h2a_journal_stmt(H2A_JOURNAL *j, sqlite3_stmt **slot, const char *sql,
                         const char *what) H2A_MUST_USE;
/* Run a bound write; outside a transaction it is its own durable commit. */
h2a_err h2a_journal_stmt_done(H2A_JOURNAL *j, sqlite3_stmt *st, const char *what) H2A_MUST_USE;
char *h2a_journal_col(sqlite3_stmt *st, int i);
int h2a_journal_bind_opt(sqlite3_stmt *st, int i, const char *s);
/* Record target `t` of request `id` as its ARN's next generation (once). */
h2a_err h2a_journal_gen_record(H2A_JOURNAL *j, const char *id, const h2a_jtarget *t) H2A_MUST_USE;

/*
 * A certificate's not_before and ARI certID (certcols.c). A PEM that does
 * not parse gives 0 and NULL: the columns are a cache, never a refusal.
 */
h2a_err h2a_journal_cert_cols(const char *pem, long long *not_before,
                              char **ari_id) H2A_MUST_USE;
/* Schema 3 → 4: fill not_before and ari_id of every row with a certificate. */
h2a_err h2a_journal_backfill_v4(H2A_JOURNAL *j) H2A_MUST_USE;
/* Read a request row (journal.c's column order) from a statement's first columns. */
h2a_err h2a_journal_read_req(sqlite3_stmt *st, h2a_jreq **out) H2A_MUST_USE;
