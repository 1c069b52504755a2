/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* The inventory store (history: new / changed / gone) and its output formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "h2a_test.h"
#include "inventory/h2a_inventory.h"

static char s_dir[] = "/tmp/h2a-inv-XXXXXX";

static int s_setup(void **state)
{
    (void)state;
    return mkdtemp(s_dir) != NULL ? 0 : -1;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static h2a_inv_cert s_cert(const char *arn, const char *region, const char *serial,
                           const char *status, long long not_after)
{
    h2a_inv_cert c = {0};

    c.arn = (char *)arn;
    c.account = (char *)"111111111111";
    c.region = (char *)region;
    c.type = (char *)"IMPORTED";
    c.status = (char *)status;
    c.domain = (char *)"a.example.com";
    c.sans = (char *)"[\"a.example.com\"]";
    c.key_algorithm = (char *)"EC_prime256v1";
    c.serial = (char *)serial;
    c.in_use_by = (char *)"[]";
    c.tags = (char *)"{}";
    c.not_after = not_after;
    return c;
}

static void s_record(H2A_INVENTORY *inv, h2a_inv_cert c, long long now, bool want_new,
                     bool want_changed)
{
    bool is_new, changed;

    H2A_ASSERT_OK(h2a_inventory_record(inv, &c, now, &is_new, &changed));
    assert_int_equal(is_new, want_new);
    assert_int_equal(changed, want_changed);
}

/* A run: begin, record, sweep one part, commit; returns the gone ARNs as JSON text. */
static char *s_run(H2A_INVENTORY *inv, const h2a_inv_cert *v, const bool *want, size_t n,
                   long long now)
{
    json_object *gone = json_object_new_array();
    char *out;

    H2A_ASSERT_OK(h2a_inventory_begin(inv));
    for (size_t i = 0; i < n; i++) {
        s_record(inv, v[i], now, want[2 * i], want[2 * i + 1]);
    }
    H2A_ASSERT_OK(h2a_inventory_sweep(inv, "111111111111", "eu-west-1", now, now, gone));
    H2A_ASSERT_OK(h2a_inventory_run(inv, now, now, "{}"));
    H2A_ASSERT_OK(h2a_inventory_commit(inv));
    out = strdup(json_object_to_json_string_ext(gone, JSON_C_TO_STRING_PLAIN));
    json_object_put(gone);
    return out;
}

static void test_history(void **state)
{
    H2A_INVENTORY *inv = NULL;
    h2a_inv_cert *v = NULL;
    size_t n = 0;
    struct h2a_inv_filter all = {0, NULL, NULL, NULL, -1};
    char *gone;

    (void)state;
    H2A_ASSERT_OK(h2a_inventory_open(s_dir, &inv));
    h2a_inv_cert r1[] = {s_cert("arn:a", "eu-west-1", "01", "ISSUED", 2000),
                         s_cert("arn:b", "eu-west-1", "02", "ISSUED", 1000),
                         s_cert("arn:c", "us-east-1", "03", "ISSUED", 3000)};
    bool w1[] = {true, false, true, false, true, false};
    gone = s_run(inv, r1, w1, 3, 100);
    assert_string_equal(gone, "[]");
    free(gone);
    /* Same second, next run: a new serial on a, b deleted, c in another region untouched. */
    h2a_inv_cert r2[] = {s_cert("arn:a", "eu-west-1", "09", "ISSUED", 2000)};
    bool w2[] = {false, true};
    gone = s_run(inv, r2, w2, 1, 100);
    assert_string_equal(gone, "[\"arn:b\"]");
    free(gone);
    H2A_ASSERT_OK(h2a_inventory_query(inv, &all, &v, &n));
    assert_int_equal(n, 2);
    assert_string_equal(v[0].arn, "arn:a"); /* sorted by not_after */
    assert_string_equal(v[0].serial, "09");
    assert_int_equal(v[0].first_seen, 100);
    h2a_inv_certs_free(v, n);
    /* b comes back: new again, first_seen restarts. */
    h2a_inv_cert r3[] = {s_cert("arn:a", "eu-west-1", "09", "ISSUED", 2000),
                         s_cert("arn:b", "eu-west-1", "02", "REVOKED", 1000)};
    bool w3[] = {false, false, true, false};
    gone = s_run(inv, r3, w3, 2, 200);
    free(gone);
    struct h2a_inv_filter f = {1500, "111111111111", "eu-west-1", "REVOKED", 0};
    H2A_ASSERT_OK(h2a_inventory_query(inv, &f, &v, &n));
    assert_int_equal(n, 1);
    assert_string_equal(v[0].arn, "arn:b");
    assert_int_equal(v[0].first_seen, 200);
    h2a_inv_certs_free(v, n);
    f.managed = 1;
    H2A_ASSERT_OK(h2a_inventory_query(inv, &f, &v, &n));
    assert_int_equal(n, 0);
    h2a_inv_certs_free(v, n);
    h2a_inventory_close(inv);
}

/* Readers open it read-only: nothing created before discover, nothing written after. */
static void test_open_read(void **state)
{
    H2A_INVENTORY *inv = NULL;
    h2a_inv_cert *v = NULL;
    size_t n = 0;
    struct h2a_inv_filter all = {0, NULL, NULL, NULL, -1};
    char dir[300], path[320], *gone;
    h2a_buf before, after;
    sqlite3 *db = NULL;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/ro", s_dir);
    snprintf(path, sizeof(path), "%s/inventory.db", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    H2A_ASSERT_OK(h2a_inventory_open_read(dir, &inv));
    assert_null(inv);
    assert_int_not_equal(access(path, F_OK), 0);

    H2A_ASSERT_OK(h2a_inventory_open(dir, &inv));
    h2a_inv_cert r1[] = {s_cert("arn:ro", "eu-west-1", "01", "ISSUED", 2000)};
    bool w1[] = {true, false};
    gone = s_run(inv, r1, w1, 1, 100);
    free(gone);
    h2a_inventory_close(inv);
    h2a_buf_init(&before, 0);
    h2a_buf_init(&after, 0);
    H2A_ASSERT_OK(h2a_file_read(path, &before));
    H2A_ASSERT_OK(h2a_inventory_open_read(dir, &inv));
    assert_non_null(inv);
    H2A_ASSERT_OK(h2a_inventory_query(inv, &all, &v, &n));
    assert_int_equal(n, 1);
    assert_string_equal(v[0].arn, "arn:ro");
    h2a_inv_certs_free(v, n);
    h2a_inventory_close(inv);
    H2A_ASSERT_OK(h2a_file_read(path, &after));
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    h2a_buf_free(&before);
    h2a_buf_free(&after);

    /* A newer schema than this build knows is refused, as for a writer. */
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(h2a_inventory_open_read(dir, &inv), H2A_ERR_STATE);
    assert_null(inv);
    assert_non_null(strstr(h2a_err_msg(), "schema version 99"));
}

/* The change rows of `arn` as "field:old>new;..." in the order they were made. */
static char *s_changes(const char *arn)
{
    char path[300];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char out[1024] = "";

    snprintf(path, sizeof(path), "%s/inventory.db", s_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT field, old, new FROM changes WHERE arn = ?"
                                        " ORDER BY rowid", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, arn, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof(out) - l, "%s:%s>%s;", sqlite3_column_text(st, 0),
                 sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return strdup(out);
}

/* History keeps status and in-use changes as well as serial ones, each with old and new. */
static void test_history_status_in_use(void **state)
{
    H2A_INVENTORY *inv = NULL;
    char *gone, *ch;

    (void)state;
    H2A_ASSERT_OK(h2a_inventory_open(s_dir, &inv));
    h2a_inv_cert r1[] = {s_cert("arn:s", "eu-west-1", "05", "ISSUED", 4000)};
    bool w1[] = {true, false};
    free(s_run(inv, r1, w1, 1, 300));
    /* Revoked: a status change. */
    h2a_inv_cert r2[] = {s_cert("arn:s", "eu-west-1", "05", "REVOKED", 4000)};
    bool w2[] = {false, true};
    free(s_run(inv, r2, w2, 1, 400));
    /* Put behind a load balancer: an in-use change. */
    h2a_inv_cert r3[] = {s_cert("arn:s", "eu-west-1", "05", "REVOKED", 4000)};
    r3[0].in_use_by = (char *)"[\"arn:aws:elasticloadbalancing:eu-west-1:1:lb/x\"]";
    bool w3[] = {false, true};
    free(s_run(inv, r3, w3, 1, 500));
    /* The same again: no change. */
    bool w4[] = {false, false};
    gone = s_run(inv, r3, w4, 1, 600);
    assert_string_equal(gone, "[]");
    free(gone);
    h2a_inventory_close(inv);
    ch = s_changes("arn:s");
    assert_string_equal(ch, "status:ISSUED>REVOKED;in_use_by:[]>[\"arn:aws:elasticloadbalancing:"
                            "eu-west-1:1:lb/x\"];");
    free(ch);
}

/* The schema on disk is tests/vectors/inventory_schema.sql, version 1. */
static void test_schema_golden(void **state)
{
    char path[4200], want[8192], got[8192] = "";
    const char *src = getenv("H2A_SRC_DIR");
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    FILE *f;
    size_t len;

    (void)state;
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/tests/vectors/inventory_schema.sql", src);
    assert_non_null(f = fopen(path, "r"));
    len = fread(want, 1, sizeof(want) - 1, f);
    want[len] = '\0';
    fclose(f);
    snprintf(path, sizeof(path), "%s/inventory.db", s_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE sql IS NOT "
                                        "NULL ORDER BY name", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        len = strlen(got);
        snprintf(got + len, sizeof(got) - len, "%s;\n", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), H2A_INV_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_string_equal(got, want);
}

static char *s_render(h2a_inv_format fmt, const h2a_inv_cert *v, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    H2A_ASSERT_OK(h2a_inv_write(f, fmt, v, n, 1767225600));
    fclose(f);
    return buf;
}

static void test_formats(void **state)
{
    h2a_inv_cert c = s_cert("arn:x", "eu-west-1", "0a", "ISSUED", 1767225600 + 86400);
    char *out;

    (void)state;
    c.domain = (char *)"we\"ird,\\name";
    c.in_use_by = (char *)"[\"arn:elb:1\"]";
    c.managed = true;
    out = s_render(H2A_INV_CSV, &c, 1);
    assert_non_null(strstr(out, ",\"we\"\"ird,\\name\",a.example.com,EC_prime256v1,0a,,,"
                                "2026-01-02T00:00:00Z,arn:elb:1,"));
    free(out);
    out = s_render(H2A_INV_PROMETHEUS, &c, 1);
    assert_non_null(strstr(out, "# TYPE hsm2acm_certificate_not_after_seconds gauge\n"));
    assert_non_null(strstr(out, "hsm2acm_certificate_in_use{arn=\"arn:x\",account=\"111111111111\","
                                "region=\"eu-west-1\",domain=\"we\\\"ird,\\\\name\","
                                "key_algorithm=\"EC_prime256v1\",managed=\"true\"} 1\n"));
    assert_non_null(strstr(out, "hsm2acm_certificates{account=\"111111111111\",region=\"eu-west-1\","
                                "status=\"ISSUED\"} 1\n"));
    free(out);
    out = s_render(H2A_INV_JSON, &c, 1);
    assert_non_null(strstr(out, "\"not_after\": \"2026-01-02T00:00:00Z\""));
    assert_non_null(strstr(out, "\"not_before\": null"));
    assert_non_null(strstr(out, "\"managed\": true"));
    free(out);
    out = s_render(H2A_INV_TABLE, &c, 1);
    assert_non_null(strstr(out, "2026-01-02T00:00:00Z SOON "));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_history_status_in_use),
        cmocka_unit_test(test_schema_golden),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_open_read),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
