/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Golden vectors (tests/vectors/README.md) for the byte formats that outlive
 * a process: a change to any of them must be deliberate, because an
 * in-flight request journaled by the previous version would be refused or
 * staged twice after an upgrade.
 */
#include <stdio.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "h2a_test.h"

#include "enroll/h2a_audit.h"
#include "enroll/h2a_envelope.h"
#include "enroll/h2a_request.h"
#include "journal/h2a_journal.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-vectors-XXXXXX");
    return mkdtemp(s_dir) == NULL ? -1 : 0;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A vector file's text, without one final newline. */
static char *s_vector(const char *name)
{
    char path[512];
    h2a_buf b;
    char *s;

    snprintf(path, sizeof(path), "%s/tests/vectors/%s", h2a_test_env("H2A_SRC_DIR"), name);
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_file_read(path, &b));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    s = strdup((const char *)b.data);
    h2a_buf_free(&b);
    assert_non_null(s);
    if (s[0] != '\0' && s[strlen(s) - 1] == '\n') {
        s[strlen(s) - 1] = '\0';
    }
    return s;
}

static h2a_request *s_request(const char *name)
{
    char file[128];
    char *text;
    h2a_request *r = NULL;

    snprintf(file, sizeof(file), "request/%s.json", name);
    text = s_vector(file);
    H2A_ASSERT_OK(h2a_request_parse(text, strlen(text), &r));
    free(text);
    return r;
}

/* Canonical JSON, hash, ClientRequestToken and secret name of each request. */
static void test_request_derivations(void **state)
{
    char *derive = s_vector("request/derive.txt"), *save = NULL;
    size_t checked = 0;

    (void)state;
    for (char *line = strtok_r(derive, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[32], kind[16], a[128], b[128] = "", c[128] = "", file[128], got[65];
        h2a_request *r;
        int n;

        if (line[0] == '#') {
            continue;
        }
        n = sscanf(line, "%31s %15s %127s %127s %127s", name, kind, a, b, c);
        assert_true(n >= 3);
        r = s_request(name);
        if (strcmp(kind, "hash") == 0) {
            char *canon;
            h2a_buf out;

            snprintf(file, sizeof(file), "request/%s.canonical.json", name);
            canon = s_vector(file);
            h2a_buf_init(&out, 0);
            H2A_ASSERT_OK(h2a_request_canonical(r, &out));
            assert_string_equal((const char *)out.data, canon);
            H2A_ASSERT_OK(h2a_request_hash(r, got));
            assert_string_equal(got, a);
            h2a_buf_free(&out);
            free(canon);
        } else if (strcmp(kind, "token") == 0) {
            H2A_ASSERT_OK(h2a_request_client_token(r, strtoul(a, NULL, 10), got));
            assert_string_equal(got, b);
        } else {
            h2a_buf out;

            assert_string_equal(kind, "secret");
            h2a_buf_init(&out, 0);
            H2A_ASSERT_OK(h2a_request_secret_name(r, b, strtoul(a, NULL, 10), &out));
            assert_string_equal((const char *)out.data, c);
            h2a_buf_free(&out);
        }
        h2a_request_free(r);
        checked++;
    }
    assert_int_equal(checked, 8);
    free(derive);
}

/* The envelope of tests/vectors/envelope/fields.txt, built and parsed back. */
static void test_envelope(void **state)
{
    char *want = s_vector("envelope/v1.json");
    h2a_envelope e = {0}, back = {0};
    h2a_buf out;

    (void)state;
    e.format_version = H2A_ENVELOPE_VERSION;
    e.mech = H2A_WRAP_AES_KWP;
    e.wrap_key_label = (char *)"hsm2acm-wrap";
    e.kcv = (char *)"1a2b3c";
    h2a_buf_init(&e.wrapped, 0);
    for (unsigned char i = 0; i < 40; i++) {
        H2A_ASSERT_OK(h2a_buf_append(&e.wrapped, &i, 1));
    }
    e.key_type = H2A_KT_EC_P256;
    e.certificate = (char *)"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
    e.chain = (char *)"";
    e.request_id = (char *)"web-2026-11";
    e.target_index = 1;
    e.region = (char *)"eu-west-1";
    e.account = (char *)"111111111111";
    e.certificate_arn = NULL;
    h2a_buf_init(&out, 0);
    H2A_ASSERT_OK(h2a_envelope_build(&e, &out));
    assert_string_equal((const char *)out.data, want);
    H2A_ASSERT_OK(h2a_envelope_parse(want, strlen(want), &back));
    assert_int_equal(back.mech, H2A_WRAP_AES_KWP);
    assert_int_equal(back.key_type, H2A_KT_EC_P256);
    assert_int_equal(back.wrapped.len, 40);
    assert_memory_equal(back.wrapped.data, e.wrapped.data, 40);
    assert_string_equal(back.certificate, e.certificate);
    assert_string_equal(back.account, "111111111111");
    assert_null(back.certificate_arn);
    assert_int_equal(back.target_index, 1);
    h2a_envelope_cleanup(&back);
    h2a_buf_free(&e.wrapped);
    h2a_buf_free(&out);
    free(want);
}

/* An audit line: its members and their order, the time's shape. */
static void test_audit_line(void **state)
{
    char *want = s_vector("audit/line.json");
    char path[128], *line, *t0, *t1;
    H2A_AUDIT *a = NULL;
    h2a_audit_event ev = {
        .request_id = "web-2026-11", .requester = "team-web", .target = 0,
        .region = "eu-west-1", .account = "111111111111",
        .caller = "arn:aws:iam::111111111111:user/hsm2acm", .key_id = "5f0c9d1e",
        .kcv = "1a2b3c", .arn = "arn:aws:acm:eu-west-1:111111111111:certificate/x",
        .secret = "hsm2acm/staging/web-2026-11/t0", .serial = "1092", .step = "import",
        .outcome = "ok", .detail = "new"};
    h2a_buf b;

    (void)state;
    snprintf(path, sizeof(path), "%s/audit.log", s_dir);
    H2A_ASSERT_OK(h2a_audit_open(path, false, &a));
    H2A_ASSERT_OK(h2a_audit_write(a, &ev));
    h2a_audit_close(a);
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_file_read(path, &b));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    line = (char *)b.data;
    /* "time":"YYYY-MM-DDTHH:MM:SS.mmmZ" is the one member that varies. */
    t0 = strstr(line, "\"time\":\"");
    assert_non_null(t0);
    t0 += 8;
    t1 = strchr(t0, '"');
    assert_non_null(t1);
    assert_int_equal(t1 - t0, 24);
    assert_true(t0[4] == '-' && t0[10] == 'T' && t0[19] == '.' && t0[23] == 'Z');
    memmove(t0 + 1, t1, strlen(t1) + 1);
    t0[0] = '*';
    line[strcspn(line, "\n")] = '\0';
    assert_string_equal(line, want);
    h2a_buf_free(&b);
    free(want);
}

/* The journal's tables as "table|cid|name|type|notnull|default|pk" lines, and its version. */
static char *s_schema_dump(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    h2a_buf b;
    char *s;

    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    h2a_buf_init(&b, 0);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\","
                                        " ifnull(p.dflt_value, ''), p.pk FROM sqlite_master m,"
                                        " pragma_table_info(m.name) p WHERE m.type='table'"
                                        " ORDER BY m.name, p.cid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        H2A_ASSERT_OK(h2a_buf_printf(&b, "%s|%d|%s|%s|%d|%s|%d\n", sqlite3_column_text(st, 0),
                                     sqlite3_column_int(st, 1), sqlite3_column_text(st, 2),
                                     sqlite3_column_text(st, 3), sqlite3_column_int(st, 4),
                                     sqlite3_column_text(st, 5), sqlite3_column_int(st, 6)));
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    H2A_ASSERT_OK(h2a_buf_printf(&b, "user_version %d", sqlite3_column_int(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    s = strdup((const char *)b.data);
    h2a_buf_free(&b);
    return s;
}

static void s_db_from_sql(const char *dir, const char *sql)
{
    char path[256];
    sqlite3 *db = NULL;

    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/journal.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}


/*
 * Version 3 made every delivery a generation: the fixture's two delivered
 * targets (one cleaned, one imported) become their ARNs' first, its failed
 * one none; a later delivery to the same ARN is the second.
 */
static void s_migrated_generations(H2A_JOURNAL *j)
{
    h2a_jgen *g = NULL;
    size_t n = 0;
    h2a_jtarget t = {0};
    const char *arn = "arn:aws:acm:eu-west-1:111111111111:certificate/"
                      "00000000-0000-4000-8000-000000000001";

    H2A_ASSERT_OK(h2a_journal_current_generations(j, &g, &n));
    assert_int_equal(n, 2);
    /* By request id: a request's ARNs come together (renew takes them as one). */
    assert_string_equal(g[0].request_id, "pay-api-7");
    assert_string_equal(g[1].request_id, "web-2026-11");
    assert_int_equal(g[1].generation, 1);
    assert_string_equal(g[1].reason, "enroll");
    assert_int_equal(g[1].imported_at, 1764842460);
    h2a_jgens_free(g, n);
    t.idx = 1; /* the failed target, delivered at last (idx 0 is a generation already) */
    t.region = (char *)"eu-west-1";
    t.state = H2A_JS_CLEANED;
    t.imported_arn = (char *)arn;
    H2A_ASSERT_OK(h2a_journal_put_target(j, "pay-api-7", &t));
    H2A_ASSERT_OK(h2a_journal_put_target(j, "pay-api-7", &t));
    H2A_ASSERT_OK(h2a_journal_generations(j, arn, &g, &n));
    assert_int_equal(n, 2);
    assert_int_equal(g[0].generation, 2);
    assert_string_equal(g[0].request_id, "pay-api-7");
    assert_int_equal(g[0].target_idx, 1);
    assert_int_equal(g[1].generation, 1);
    assert_string_equal(g[1].request_id, "web-2026-11");
    h2a_jgens_free(g, n);
}

/* The journal of fixture journal/<name>-journal.sql in s_dir/<name>, migrated by opening it. */
static H2A_JOURNAL *s_open_fixture(const char *name, char *dir, size_t cap)
{
    char vec[64];
    char *sql;
    H2A_JOURNAL *j = NULL;

    snprintf(vec, sizeof(vec), "journal/%s-journal.sql", name);
    sql = s_vector(vec);
    snprintf(dir, cap, "%s/%s", s_dir, name);
    s_db_from_sql(dir, sql);
    free(sql);
    H2A_ASSERT_OK(h2a_journal_open(dir, &j));
    assert_int_equal(h2a_journal_schema(j), H2A_JOURNAL_SCHEMA);
    return j;
}

/* Close `j` and compare its schema with the pinned one (a migrated journal = a new one). */
static void s_close_pinned(H2A_JOURNAL *j, const char *dir)
{
    char db[160], *got, *want = s_vector("journal/schema.txt");

    h2a_journal_close(j);
    snprintf(db, sizeof(db), "%s/journal.db", dir);
    got = s_schema_dump(db);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_journal_schema_new(void **state)
{
    char dir[128];
    H2A_JOURNAL *j = NULL;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/new", s_dir);
    H2A_ASSERT_OK(h2a_journal_open(dir, &j));
    assert_int_equal(h2a_journal_schema(j), H2A_JOURNAL_SCHEMA);
    s_close_pinned(j, dir);
}

/* Today's journal (the fixture) migrates to the schema a new journal has, rows intact. */
static void test_journal_migrates_v1(void **state)
{
    char dir[128];
    H2A_JOURNAL *j = s_open_fixture("v1", dir, sizeof(dir));
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    size_t n = 0;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_get(j, "pay-api-7", &r, &t, &n));
    assert_non_null(r);
    assert_int_equal(r->state, H2A_JS_ISSUED);
    assert_string_equal(r->key_label, "h2a-pay-api-7");
    assert_null(r->issuer_handle);
    assert_int_equal(n, 2);
    assert_int_equal(t[0].state, H2A_JS_IMPORTED);
    assert_true(t[0].new_arn);
    assert_int_equal(t[1].state, H2A_JS_FAILED);
    assert_int_equal(t[1].resume_from, H2A_JS_ISSUED);
    /* The new column is written and read back. */
    H2A_ASSERT_OK(h2a_jset(&r->issuer_handle, "arn:aws:acm-pca:x"));
    H2A_ASSERT_OK(h2a_journal_put_request(j, r));
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    H2A_ASSERT_OK(h2a_journal_get(j, "pay-api-7", &r, &t, &n));
    assert_string_equal(r->issuer_handle, "arn:aws:acm-pca:x");
    assert_string_equal(r->reason, "enroll");
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    s_migrated_generations(j);
    s_close_pinned(j, dir);
}

/*
 * Version 4 keeps what renew's due time needs from a certificate as
 * columns: the v3 fixture's rows get them from their certificates at
 * migration (values computed independently, with Python's cryptography),
 * a certificate that does not parse leaves them empty, and the one-query
 * read of current generations returns them with not_after in seconds.
 */
static void s_migrated_v4_rows(H2A_JOURNAL *j)
{
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    h2a_jcur *c = NULL;
    size_t n = 0;

    H2A_ASSERT_OK(h2a_journal_get(j, "web", &r, &t, &n));
    assert_int_equal(r->not_before, 1790812800); /* 2026-10-01T00:00:00Z */
    assert_string_equal(r->ari_id, "q2Aun4gLMGi5gVCM_SaaRcTr_RA.AIobLD1OX2BxgpOktQ");
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    H2A_ASSERT_OK(h2a_journal_get(j, "bad", &r, &t, &n));
    assert_int_equal(r->not_before, 0);
    assert_null(r->ari_id);
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    H2A_ASSERT_OK(h2a_journal_current(j, NULL, &c, &n));
    assert_int_equal(n, 2);
    assert_string_equal(c[0].req->id, "bad"); /* by request id */
    assert_non_null(c[0].req->cert_pem); /* no not_before: the certificate comes along */
    assert_string_equal(c[1].req->id, "web.g2");
    assert_int_equal(c[1].generation, 2);
    assert_int_equal(c[1].req->not_before, 1792886400);
    assert_int_equal(c[1].not_after, 1795478400); /* 2026-11-24T00:00:00Z */
    assert_string_equal(c[1].req->ari_id, "q2Aun4gLMGi5gVCM_SaaRcTr_RA.EJI");
    assert_string_equal(c[1].req->reason, "renew");
    assert_int_equal(c[1].req->state, H2A_JS_CLEANED);
    assert_null(c[1].req->cert_pem); /* not needed: not_before is known */
    h2a_jcurs_free(c, n);
    H2A_ASSERT_OK(h2a_journal_current(j, "arn:aws:acm:eu-west-1:111111111111:certificate/"
                                         "00000000-0000-4000-8000-00000000000a", &c, &n));
    assert_int_equal(n, 1);
    assert_string_equal(c[0].req->id, "web.g2");
    h2a_jcurs_free(c, n);
    /* A not_after SQLite cannot read: the certificate comes along, for renew to parse. */
    H2A_ASSERT_OK(h2a_journal_get(j, "web.g2", &r, &t, &n));
    H2A_ASSERT_OK(h2a_jset(&r->not_after, "soon"));
    H2A_ASSERT_OK(h2a_journal_put_request(j, r));
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    H2A_ASSERT_OK(h2a_journal_current(j, "arn:aws:acm:eu-west-1:111111111111:certificate/"
                                         "00000000-0000-4000-8000-00000000000a", &c, &n));
    assert_int_equal(c[0].not_after, 0);
    assert_non_null(c[0].req->cert_pem);
    h2a_jcurs_free(c, n);
}

/* A row written with a certificate and no not_before gets it from the certificate. */
static void s_written_row_v4(H2A_JOURNAL *j)
{
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    size_t n = 0;

    H2A_ASSERT_OK(h2a_journal_get(j, "web", &r, &t, &n));
    H2A_ASSERT_OK(h2a_jset(&r->id, "web.copy"));
    r->not_before = 0;
    free(r->ari_id);
    r->ari_id = NULL;
    H2A_ASSERT_OK(h2a_journal_insert(j, r, t, n));
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
    H2A_ASSERT_OK(h2a_journal_get(j, "web.copy", &r, &t, &n));
    assert_int_equal(r->not_before, 1790812800);
    assert_string_equal(r->ari_id, "q2Aun4gLMGi5gVCM_SaaRcTr_RA.AIobLD1OX2BxgpOktQ");
    h2a_jreq_free(r);
    h2a_jtargets_free(t, n);
}

static void test_journal_migrates_v3(void **state)
{
    char dir[128];
    H2A_JOURNAL *j = s_open_fixture("v3", dir, sizeof(dir));

    (void)state;
    s_migrated_v4_rows(j);
    s_written_row_v4(j);
    s_close_pinned(j, dir);
}

static void test_journal_newer_refused(void **state)
{
    char dir[128], db[160], *before, *after;
    H2A_JOURNAL *j = NULL;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/newer", s_dir);
    s_db_from_sql(dir, "CREATE TABLE requests(id TEXT, future TEXT); PRAGMA user_version=99;");
    snprintf(db, sizeof(db), "%s/journal.db", dir);
    before = s_schema_dump(db);
    H2A_ASSERT_ERR(h2a_journal_open(dir, &j), H2A_ERR_STATE, "schema version 99");
    assert_non_null(strstr(h2a_err_msg(), "versions up to 4"));
    assert_int_equal(h2a_err_exit_code(H2A_ERR_STATE), 8);
    assert_null(j);
    after = s_schema_dump(db);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_derivations),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_audit_line),
        cmocka_unit_test(test_journal_schema_new),
        cmocka_unit_test(test_journal_migrates_v1),
        cmocka_unit_test(test_journal_migrates_v3),
        cmocka_unit_test(test_journal_newer_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
