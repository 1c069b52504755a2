/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Asynchronous issuers through the engine's issue step (enroll/issue.c) with
 * a fake issuer and a real journal: the handle is journaled (submitted,
 * durable) before anything waits; a crash right after that and a resume
 * polls the handle and never submits again; the issuer's timeout leaves the
 * request submitted; an issuer that completes at once journals nothing; an
 * illegal state move is a state error that writes nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "h2a_test.h"

#include "enroll/enroll_int.h"

static char s_dir[64];
static char s_state[128];

/* How many lines a fake issuer's log file has (submits, polls), or NULL: of them equal to `line`. */
static int s_count_of(const char *what, const char *only)
{
    char path[192], line[256];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", s_dir, what);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        n += only == NULL || strcmp(line, only) == 0;
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

static int s_count(const char *what)
{
    return s_count_of(what, NULL);
}

static void s_log(const char *what, const char *text)
{
    char path[192];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_dir, what);
    f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "%s\n", text);
    fclose(f);
}

/* A self-signed EC certificate valid now: what the fake CA hands back. */
static X509 *s_cert(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();

    assert_non_null(k);
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fake", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    EVP_PKEY_free(k);
    return x;
}

static h2a_err s_fake_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    (void)csr;
    char handle[64];

    s_log("submits", ctx->request_id);
    snprintf(handle, sizeof(handle), "fake:order/%s", ctx->request_id);
    res->handle = strdup(handle);
    res->retry_after_ms = strcmp(ctx->conf->name, "slow") == 0 ? 200 : 20;
    return H2A_OK;
}

/* Pending for two polls, then the certificate; `never` stays pending, `refuses` says no. */
static h2a_err s_fake_poll(const h2a_issue_ctx *ctx, const char *handle, h2a_issue_result *res)
{
    s_log("polls", handle);
    if (strcmp(ctx->conf->name, "refuses") == 0) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.refuses: order %s is invalid", handle);
    }
    if (strcmp(ctx->conf->name, "never") == 0 || s_count_of("polls", handle) < 3) {
        res->retry_after_ms = strcmp(ctx->conf->name, "slow") == 0 ? 200 : 20;
        return H2A_OK;
    }
    res->leaf = s_cert();
    res->chain = sk_X509_new_null();
    res->done = true;
    return H2A_OK;
}

static h2a_err s_sync_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    (void)csr;
    s_log("submits", ctx->request_id);
    res->leaf = s_cert();
    res->chain = sk_X509_new_null();
    res->done = true;
    return H2A_OK;
}

static const h2a_issuer_ops s_async = {.type = "fake-async", .submit = s_fake_submit, .poll = s_fake_poll};
static const h2a_issuer_ops s_sync = {.type = "fake-sync", .submit = s_sync_submit};

static h2a_issuer_conf s_conf = {.name = (char *)"fake", .timeout_seconds = 5};
static h2a_issuer_conf s_never = {.name = (char *)"never", .timeout_seconds = 1};
static h2a_issuer_conf s_refuses = {.name = (char *)"refuses", .timeout_seconds = 5};
static h2a_issuer_conf s_slow = {.name = (char *)"slow", .timeout_seconds = 5};
static h2a_request s_req = {.id = (char *)"async-1"};
static h2a_request s_req2 = {.id = (char *)"async-2"};

static void s_ctx(h2a_issue_ctx *ic, const h2a_issuer_conf *conf, const h2a_issuer_ops *ops)
{
    memset(ic, 0, sizeof(*ic));
    ic->conf = conf;
    ic->request_id = s_req.id;
    ic->ops = ops;
}

/* A run over the journal's rows for request q (made at csr_signed when absent). */
static h2a_run *s_run_of(H2A_JOURNAL *j, h2a_request *q)
{
    h2a_run *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->journal = j;
    r->req = q;
    H2A_ASSERT_OK(h2a_journal_get(j, q->id, &r->jr, &r->jt, &r->njt));
    if (r->jr == NULL) {
        r->jr = calloc(1, sizeof(*r->jr));
        r->jt = calloc(1, sizeof(*r->jt));
        r->njt = 1;
        r->jr->id = strdup(q->id);
        r->jr->body_hash = strdup("00");
        r->jr->body = strdup("{}");
        r->jr->requester = strdup("team-web");
        r->jr->state = H2A_JS_CSR_SIGNED;
        r->jt[0].region = strdup("eu-west-1");
        r->jt[0].state = H2A_JS_CSR_SIGNED;
        H2A_ASSERT_OK(h2a_journal_insert(j, r->jr, r->jt, r->njt));
    }
    return r;
}

static h2a_run *s_run(H2A_JOURNAL *j)
{
    return s_run_of(j, &s_req);
}

static void s_run_free(h2a_run *r)
{
    X509_free(r->cert);
    sk_X509_pop_free(r->chain, X509_free);
    h2a_jreq_free(r->jr);
    h2a_jtargets_free(r->jt, r->njt);
    free(r);
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-async-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    snprintf(s_state, sizeof(s_state), "%s/state", s_dir);
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    unsetenv("HSM2ACM_TEST_CRASH_AT");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run the submit step in a child that crashes at `point`; the child must die there. */
static void s_submit_and_crash(const char *point)
{
    pid_t pid;
    int st = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        H2A_JOURNAL *j = NULL;
        h2a_issue_ctx ic;
        h2a_run *r;

        setenv("HSM2ACM_TEST_CRASH_AT", point, 1);
        if (h2a_journal_open(s_state, &j) != H2A_OK) {
            _exit(3);
        }
        r = s_run(j);
        s_ctx(&ic, &s_conf, &s_async);
        _exit(h2a_enroll_submit(r, &ic) == H2A_OK ? 4 : 5); /* the crash point kills it first */
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_crash_after_submitted_then_resume(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_issue_ctx ic;
    h2a_run *r;

    (void)state;
    s_submit_and_crash("submitted");
    assert_int_equal(s_count("submits"), 1);
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_SUBMITTED);
    assert_int_equal(r->jt[0].state, H2A_JS_SUBMITTED);
    assert_string_equal(r->jr->issuer_handle, "fake:order/async-1");
    /* Resume: the submit step sees the handle, the poll step waits on it. */
    s_ctx(&ic, &s_conf, &s_async);
    H2A_ASSERT_OK(h2a_enroll_submit(r, &ic));
    H2A_ASSERT_OK(h2a_enroll_poll(r, &ic));
    assert_int_equal(s_count("submits"), 1);
    assert_int_equal(s_count("polls"), 3);
    assert_non_null(r->cert);
    assert_string_equal(r->jr->serial, "1092");
    H2A_ASSERT_OK(h2a_enroll_advance(r, H2A_JS_ISSUED, H2A_JSYNC_DURABLE));
    s_run_free(r);
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_ISSUED);
    assert_non_null(r->jr->cert_pem);
    assert_string_equal(r->jr->issuer_handle, "fake:order/async-1");
    s_run_free(r);
    h2a_journal_close(j);
}

/*
 * The window a crash between submit and its journal row leaves: the journal
 * still says csr_signed, so a resume submits again (an issuer's idempotency
 * token covers it where it has one).
 */
static void test_crash_before_handle_journaled(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_run *r;

    (void)state;
    s_submit_and_crash("submit");
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_CSR_SIGNED);
    assert_null(r->jr->issuer_handle);
    s_run_free(r);
    h2a_journal_close(j);
}

static void test_timeout_stays_submitted(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_issue_ctx ic;
    h2a_run *r;
    long long t0;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    s_ctx(&ic, &s_never, &s_async);
    H2A_ASSERT_OK(h2a_enroll_submit(r, &ic));
    assert_int_equal(r->jr->state, H2A_JS_SUBMITTED);
    t0 = h2a_enroll_now_ms();
    H2A_ASSERT_ERR(h2a_enroll_poll(r, &ic), H2A_ERR_ISSUER, "timeout_seconds=1");
    assert_true(h2a_enroll_now_ms() - t0 >= 1000);
    assert_true(r->wait_timed_out);
    s_run_free(r);
    /* Not rolled back: resume can still poll the handle. */
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_SUBMITTED);
    assert_string_equal(r->jr->issuer_handle, "fake:order/async-1");
    assert_non_null(strstr(r->jr->error, "resume polls it again"));
    s_run_free(r);
    h2a_journal_close(j);
}

/* The issuer's own "no" is terminal: the request fails and starts over when run again. */
static void test_refusal_after_submit_fails_request(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_issue_ctx ic;
    h2a_run *r;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    s_ctx(&ic, &s_refuses, &s_async);
    H2A_ASSERT_OK(h2a_enroll_submit(r, &ic));
    H2A_ASSERT_ERR(h2a_enroll_poll(r, &ic), H2A_ERR_ISSUER, "order fake:order/async-1 is invalid");
    assert_false(r->wait_timed_out);
    s_run_free(r);
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_FAILED);
    assert_string_equal(r->jr->failed_step, "issue");
    assert_int_equal(r->jt[0].state, H2A_JS_FAILED);
    assert_int_equal(r->jt[0].resume_from, H2A_JS_SUBMITTED);
    s_run_free(r);
    h2a_journal_close(j);
}

struct s_group_poll {
    h2a_issue_ctx ic[2];
    h2a_run *runs[2];
};

static void s_group_poll_one(h2a_run *r, void *arg)
{
    struct s_group_poll *g = arg;

    assert_int_equal(h2a_enroll_poll_once(r, &g->ic[r == g->runs[0] ? 0 : 1]), H2A_OK);
}

/* Two requests waiting on their issuer wait together: their polls interleave. */
static void test_group_waits_together(void **state)
{
    H2A_JOURNAL *j = NULL;
    struct s_group_poll g;
    char *log;
    h2a_buf b;
    char path[192];
    long long t0;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    g.runs[0] = s_run_of(j, &s_req);
    g.runs[1] = s_run_of(j, &s_req2);
    for (int k = 0; k < 2; k++) {
        s_ctx(&g.ic[k], &s_slow, &s_async);
        g.ic[k].request_id = g.runs[k]->req->id;
        H2A_ASSERT_OK(h2a_enroll_submit(g.runs[k], &g.ic[k]));
    }
    t0 = h2a_enroll_now_ms();
    for (int k = 0; k < 2; k++) {
        H2A_ASSERT_OK(h2a_enroll_poll_once(g.runs[k], &g.ic[k]));
        assert_true(g.runs[k]->poll_next > 0);
    }
    h2a_enroll_wait_due(g.runs, 2, s_group_poll_one, &g);
    /* Two retry-afters of 200 ms each, for both at once (one after the other: 800 ms). */
    assert_true(h2a_enroll_now_ms() - t0 < 700);
    assert_non_null(g.runs[0]->cert);
    assert_non_null(g.runs[1]->cert);
    snprintf(path, sizeof(path), "%s/polls", s_dir);
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_file_read(path, &b));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    log = (char *)b.data;
    assert_string_equal(log, "fake:order/async-1\nfake:order/async-2\nfake:order/async-1\n"
                             "fake:order/async-2\nfake:order/async-1\nfake:order/async-2\n");
    h2a_buf_free(&b);
    s_run_free(g.runs[0]);
    s_run_free(g.runs[1]);
    h2a_journal_close(j);
}

static void test_at_once_journals_nothing(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_issue_ctx ic;
    h2a_run *r;
    unsigned long durable;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    durable = h2a_journal_durable_commits(j);
    s_ctx(&ic, &s_conf, &s_sync);
    H2A_ASSERT_OK(h2a_enroll_submit(r, &ic));
    H2A_ASSERT_OK(h2a_enroll_poll(r, &ic));
    assert_non_null(r->cert);
    assert_int_equal(r->jr->state, H2A_JS_CSR_SIGNED);
    assert_null(r->jr->issuer_handle);
    assert_int_equal(h2a_journal_durable_commits(j), durable);
    /* csr_signed → issued directly: legal for an issuer that completes at once. */
    H2A_ASSERT_OK(h2a_enroll_advance(r, H2A_JS_ISSUED, H2A_JSYNC_DURABLE));
    s_run_free(r);
    h2a_journal_close(j);
}

static void test_illegal_move_is_state_error(void **state)
{
    H2A_JOURNAL *j = NULL;
    h2a_run *r;

    (void)state;
    H2A_ASSERT_OK(h2a_journal_open(s_state, &j));
    r = s_run(j);
    H2A_ASSERT_ERR(h2a_enroll_advance(r, H2A_JS_STAGED, H2A_JSYNC_LAZY), H2A_ERR_STATE,
                   "cannot move from csr_signed to staged");
    assert_int_equal(h2a_err_exit_code(H2A_ERR_STATE), 8);
    H2A_ASSERT_ERR(h2a_enroll_target_move(r, 0, H2A_JS_IMPORTED), H2A_ERR_STATE,
                   "target 0 cannot move from csr_signed to imported");
    s_run_free(r);
    r = s_run(j);
    assert_int_equal(r->jr->state, H2A_JS_CSR_SIGNED);
    assert_int_equal(r->jt[0].state, H2A_JS_CSR_SIGNED);
    s_run_free(r);
    h2a_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_after_submitted_then_resume, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_handle_journaled, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_stays_submitted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_after_submit_fails_request, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_group_waits_together, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_at_once_journals_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_illegal_move_is_state_error, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
