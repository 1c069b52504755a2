/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* The SQLite journal: modes, round trips, state moves, restart of failed requests. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "h2a_test.h"

#include "journal/h2a_journal.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-journal-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_fill(h2a_jreq *r, h2a_jtarget t[2], const char *id)
{
    memset(r, 0, sizeof(*r));
    memset(t, 0, 2 * sizeof(*t));
    r->id = strdup(id);
    r->body_hash = strdup("00ff");
    r->body = strdup("{}");
    r->requester = strdup("team-web");
    r->state = H2A_JS_VALIDATED;
    r->key_label = strdup("h2a-web-1");
    for (size_t i = 0; i < 2; i++) {
        t[i].idx = i;
        t[i].region = strdup(i == 0 ? "eu-west-1" : "us-east-1");
        t[i].state = H2A_JS_VALIDATED;
    }
    t[1].account = strdup("123456789012");
}

static void s_unfill(h2a_jreq *r, h2a_jtarget t[2])
{
    h2a_jtarget *heap = calloc(2, sizeof(*heap));

    memcpy(heap, t, 2 * sizeof(*t));
    h2a_jtargets_free(heap, 2);
    h2a_jreq *hr = calloc(1, sizeof(*hr));
    *hr = *r;
    h2a_jreq_free(hr);
}

static void test_modes_and_roundtrip(void **state)
{
    (void)state;
    H2A_JOURNAL *j = NULL;
    h2a_jreq r, *got = NULL;
    h2a_jtarget t[2], *gt = NULL;
    size_t n = 0;
    char state_dir[128], db[160];
    struct stat st;

    snprintf(state_dir, sizeof(state_dir), "%s/state", s_dir);
    H2A_ASSERT_OK(h2a_journal_open(state_dir, &j));
    assert_int_equal(stat(state_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(db, sizeof(db), "%s/journal.db", state_dir);
    assert_int_equal(stat(db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    H2A_ASSERT_OK(h2a_journal_get(j, "web-1", &got, &gt, &n));
    assert_null(got);
    s_fill(&r, t, "web-1");
    H2A_ASSERT_OK(h2a_journal_insert(j, &r, t, 2));
    /* A second insert of a live request is refused by the primary key. */
    H2A_ASSERT_ERR(h2a_journal_insert(j, &r, t, 2), H2A_ERR_STATE, "journal");

    r.state = H2A_JS_KEY_GENERATED;
    H2A_ASSERT_OK(h2a_jset(&r.key_id, "a1b2"));
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    t[1].state = H2A_JS_STAGED;
    t[1].secret_expiry = 1234;
    H2A_ASSERT_OK(h2a_jset(&t[1].secret_name, "hsm2acm/staging/web-1/t1"));
    H2A_ASSERT_OK(h2a_journal_put_target(j, "web-1", &t[1]));

    H2A_ASSERT_OK(h2a_journal_get(j, "web-1", &got, &gt, &n));
    assert_non_null(got);
    assert_int_equal(got->state, H2A_JS_KEY_GENERATED);
    assert_string_equal(got->key_id, "a1b2");
    assert_string_equal(got->requester, "team-web");
    assert_int_equal(n, 2);
    assert_int_equal(gt[0].state, H2A_JS_VALIDATED);
    assert_null(gt[0].account);
    assert_int_equal(gt[1].state, H2A_JS_STAGED);
    assert_string_equal(gt[1].account, "123456789012");
    assert_string_equal(gt[1].secret_name, "hsm2acm/staging/web-1/t1");
    assert_int_equal(gt[1].secret_expiry, 1234);
    h2a_jreq_free(got);
    h2a_jtargets_free(gt, n);

    bool known = false;
    H2A_ASSERT_OK(h2a_journal_knows_key(j, "a1b2", NULL, &known));
    assert_true(known);
    H2A_ASSERT_OK(h2a_journal_knows_key(j, "ffff", "h2a-web-1", &known));
    assert_true(known);
    H2A_ASSERT_OK(h2a_journal_knows_key(j, "ffff", "other", &known));
    assert_false(known);

    /* A FAILED request may be inserted afresh (start over). */
    r.state = H2A_JS_FAILED;
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    r.state = H2A_JS_VALIDATED;
    H2A_ASSERT_OK(h2a_journal_insert(j, &r, t, 2));
    H2A_ASSERT_OK(h2a_journal_get(j, "web-1", &got, &gt, &n));
    assert_int_equal(got->state, H2A_JS_VALIDATED);
    h2a_jreq_free(got);
    h2a_jtargets_free(gt, n);

    char **ids = NULL;
    H2A_ASSERT_OK(h2a_journal_ids(j, &ids, &n));
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "web-1");
    assert_null(ids[1]);
    free(ids[0]);
    free(ids);
    s_unfill(&r, t);
    h2a_journal_close(j);

    /* Reopen: the data is durable. */
    H2A_ASSERT_OK(h2a_journal_open(state_dir, &j));
    H2A_ASSERT_OK(h2a_journal_get(j, "web-1", &got, &gt, &n));
    assert_non_null(got);
    h2a_jreq_free(got);
    h2a_jtargets_free(gt, n);
    h2a_journal_close(j);
}

/*
 * Transactions: several rows in one commit; lazy commits are not counted as
 * fsync'd but survive the death of the process that made them (the WAL);
 * a rollback leaves nothing; writes outside a transaction stay durable.
 */
static void test_transactions(void **state)
{
    H2A_JOURNAL *j = NULL, *j2 = NULL;
    h2a_jreq r, *got = NULL;
    h2a_jtarget t[2], *gt = NULL;
    size_t n = 0;
    char state_dir[128];
    int status = 0;
    pid_t pid;

    (void)state;
    snprintf(state_dir, sizeof(state_dir), "%s/txn", s_dir);
    H2A_ASSERT_OK(h2a_journal_open(state_dir, &j));
    s_fill(&r, t, "txn-1");
    H2A_ASSERT_OK(h2a_journal_insert(j, &r, t, 2));
    assert_int_equal(h2a_journal_durable_commits(j), 1);

    H2A_ASSERT_OK(h2a_journal_begin(j, H2A_JSYNC_LAZY));
    H2A_ASSERT_ERR(h2a_journal_begin(j, H2A_JSYNC_LAZY), H2A_ERR_INTERNAL, "already open");
    r.state = H2A_JS_KEY_GENERATED;
    t[0].state = t[1].state = H2A_JS_KEY_GENERATED;
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    H2A_ASSERT_OK(h2a_journal_put_target(j, "txn-1", &t[0]));
    H2A_ASSERT_OK(h2a_journal_put_target(j, "txn-1", &t[1]));
    H2A_ASSERT_OK(h2a_journal_commit(j));
    assert_int_equal(h2a_journal_durable_commits(j), 1);

    H2A_ASSERT_OK(h2a_journal_begin(j, H2A_JSYNC_DURABLE));
    r.state = H2A_JS_CSR_SIGNED;
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    H2A_ASSERT_OK(h2a_journal_commit(j));
    assert_int_equal(h2a_journal_durable_commits(j), 2);

    /* Rolled back: as if never written. */
    H2A_ASSERT_OK(h2a_journal_begin(j, H2A_JSYNC_LAZY));
    r.state = H2A_JS_FAILED;
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    h2a_journal_rollback(j);
    H2A_ASSERT_ERR(h2a_journal_commit(j), H2A_ERR_INTERNAL, "without begin");
    H2A_ASSERT_OK(h2a_journal_get(j, "txn-1", &got, &gt, &n));
    assert_int_equal(got->state, H2A_JS_CSR_SIGNED);
    assert_int_equal(gt[1].state, H2A_JS_KEY_GENERATED);
    h2a_jreq_free(got);
    h2a_jtargets_free(gt, n);

    /* Outside a transaction a write is its own durable commit again. */
    r.state = H2A_JS_ISSUED;
    H2A_ASSERT_OK(h2a_journal_put_request(j, &r));
    assert_int_equal(h2a_journal_durable_commits(j), 3);

    /* A lazy commit by a process that dies without closing is still there. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (h2a_journal_open(state_dir, &j2) != H2A_OK ||
            h2a_journal_begin(j2, H2A_JSYNC_LAZY) != H2A_OK) {
            _exit(2);
        }
        t[0].state = H2A_JS_STAGED;
        if (h2a_journal_put_target(j2, "txn-1", &t[0]) != H2A_OK ||
            h2a_journal_commit(j2) != H2A_OK) {
            _exit(3);
        }
        _exit(0); /* no close, no checkpoint */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    H2A_ASSERT_OK(h2a_journal_get(j, "txn-1", &got, &gt, &n));
    assert_int_equal(gt[0].state, H2A_JS_STAGED);
    assert_int_equal(got->state, H2A_JS_ISSUED);
    h2a_jreq_free(got);
    h2a_jtargets_free(gt, n);
    s_unfill(&r, t);
    h2a_journal_close(j);
}

static void test_state_names_and_moves(void **state)
{
    (void)state;
    const char *names[] = {"validated", "key_generated", "csr_signed", "issued",
                           "staged", "imported", "cleaned", "failed"};

    for (size_t i = 0; i < 8; i++) {
        h2a_jstate s = h2a_jstate_parse(names[i]);

        assert_int_not_equal(s, H2A_JS_NONE);
        assert_string_equal(h2a_jstate_name(s), names[i]);
    }
    assert_int_equal(h2a_jstate_parse("bogus"), H2A_JS_NONE);
    const h2a_jrow R = H2A_JROW_REQUEST, T = H2A_JROW_TARGET;

    assert_int_equal(h2a_jstate_parse("submitted"), H2A_JS_SUBMITTED);
    assert_string_equal(h2a_jstate_name(H2A_JS_SUBMITTED), "submitted");
    assert_true(h2a_jstate_can_move(R, H2A_JS_NONE, H2A_JS_VALIDATED));
    assert_false(h2a_jstate_can_move(R, H2A_JS_NONE, H2A_JS_KEY_GENERATED));
    assert_true(h2a_jstate_can_move(T, H2A_JS_VALIDATED, H2A_JS_KEY_GENERATED));
    /* An issuer that completes at once skips submitted; an asynchronous one does not. */
    assert_true(h2a_jstate_can_move(R, H2A_JS_CSR_SIGNED, H2A_JS_ISSUED));
    assert_true(h2a_jstate_can_move(R, H2A_JS_CSR_SIGNED, H2A_JS_SUBMITTED));
    assert_true(h2a_jstate_can_move(R, H2A_JS_SUBMITTED, H2A_JS_ISSUED));
    assert_true(h2a_jstate_can_move(R, H2A_JS_SUBMITTED, H2A_JS_SUBMITTED));
    assert_false(h2a_jstate_can_move(R, H2A_JS_SUBMITTED, H2A_JS_CSR_SIGNED));
    assert_false(h2a_jstate_can_move(R, H2A_JS_KEY_GENERATED, H2A_JS_SUBMITTED));
    /* Delivery: targets step through it, the request row jumps to cleaned. */
    assert_true(h2a_jstate_can_move(T, H2A_JS_ISSUED, H2A_JS_STAGED));
    assert_true(h2a_jstate_can_move(T, H2A_JS_STAGED, H2A_JS_IMPORTED));
    assert_true(h2a_jstate_can_move(T, H2A_JS_IMPORTED, H2A_JS_CLEANED));
    assert_false(h2a_jstate_can_move(T, H2A_JS_ISSUED, H2A_JS_CLEANED));
    assert_true(h2a_jstate_can_move(R, H2A_JS_ISSUED, H2A_JS_CLEANED));
    assert_false(h2a_jstate_can_move(R, H2A_JS_ISSUED, H2A_JS_STAGED));
    assert_false(h2a_jstate_can_move(T, H2A_JS_VALIDATED, H2A_JS_STAGED));
    assert_false(h2a_jstate_can_move(T, H2A_JS_IMPORTED, H2A_JS_STAGED));
    assert_false(h2a_jstate_can_move(T, H2A_JS_CLEANED, H2A_JS_FAILED));
    assert_false(h2a_jstate_can_move(T, H2A_JS_CLEANED, H2A_JS_STAGED));
    assert_true(h2a_jstate_can_move(T, H2A_JS_STAGED, H2A_JS_FAILED));
    assert_true(h2a_jstate_can_move(R, H2A_JS_SUBMITTED, H2A_JS_FAILED));
    /* A failed row moves on from its resume_from state, never from "failed". */
    assert_false(h2a_jstate_can_move(T, H2A_JS_FAILED, H2A_JS_IMPORTED));
}

static void test_bad_state_dir(void **state)
{
    (void)state;
    H2A_JOURNAL *j = NULL;
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/afile", s_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    H2A_ASSERT_ERR(h2a_journal_open(path, &j), H2A_ERR_STATE, "not a directory");
    assert_null(j);
    H2A_ASSERT_ERR(h2a_journal_open("/proc/nonexistent/x", &j), H2A_ERR_STATE, "state_dir");
}

/*
 * Worker processes that open a journal in a new state directory at once
 * (enroll --batch, renew --jobs) all get it: the change to WAL mode does not
 * fail with "database is locked" in the loser of SQLite's lock upgrade.
 */
static void test_concurrent_first_open(void **state)
{
    enum { S_PROCS = 4, S_ROUNDS = 60 };
    char dir[128], cmd[160];

    (void)state;
    for (int round = 0; round < S_ROUNDS; round++) {
        pid_t pid[S_PROCS];

        snprintf(dir, sizeof(dir), "%s/race%d", s_dir, round);
        for (int k = 0; k < S_PROCS; k++) {
            pid[k] = fork();
            assert_true(pid[k] >= 0);
            if (pid[k] == 0) {
                H2A_JOURNAL *j = NULL;
                h2a_err rv = h2a_journal_open(dir, &j);

                if (rv != H2A_OK) {
                    fprintf(stderr, "round %d: %s\n", round, h2a_err_msg());
                }
                h2a_journal_close(j);
                _exit(rv == H2A_OK ? 0 : 1);
            }
        }
        for (int k = 0; k < S_PROCS; k++) {
            int st = 0;

            assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_and_roundtrip),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_state_names_and_moves),
        cmocka_unit_test(test_bad_state_dir),
        cmocka_unit_test(test_concurrent_first_open),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
