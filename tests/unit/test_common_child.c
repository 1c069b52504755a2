/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* The one child runner (common/child.c): environment, stdin, timeout, output cap. */

#include <stdlib.h>
#include <string.h>

#include "h2a_test.h"

static h2a_child_result s_run(const char *const *argv, const char *in, h2a_buf *out,
                              h2a_buf *err, long long timeout_ms)
{
    h2a_child_result res;
    h2a_child_spec spec = {.argv = argv, .in = in, .in_len = in != NULL ? strlen(in) : 0,
                           .timeout_ms = timeout_ms};

    H2A_ASSERT_OK(h2a_child_run(&spec, out, err, &res));
    return res;
}

static void test_stdin_stdout_exit(void **state)
{
    static const char *const cat[] = {"/bin/cat", NULL};
    static const char *const fail[] = {"/bin/sh", "-c", "echo oops >&2; exit 3", NULL};
    h2a_buf out, err;
    h2a_child_result r;

    (void)state;
    h2a_buf_init(&out, 1024);
    r = s_run(cat, "hello child", &out, NULL, 5000);
    assert_true(r.exited);
    assert_int_equal(r.code, 0);
    assert_int_equal(out.len, 11);
    assert_memory_equal(out.data, "hello child", 11);
    /* No data: stdin is at EOF at once, never our terminal. */
    out.len = 0;
    r = s_run(cat, NULL, &out, NULL, 5000);
    assert_int_equal(r.code, 0);
    assert_int_equal(out.len, 0);
    h2a_buf_init(&err, 64);
    r = s_run(fail, NULL, &out, &err, 5000);
    assert_int_equal(r.code, 3);
    H2A_ASSERT_OK(h2a_buf_terminate(&err));
    assert_string_equal((const char *)err.data, "oops\n");
    h2a_buf_free(&out);
    h2a_buf_free(&err);
}

static void test_timeout_and_cap(void **state)
{
    static const char *const slow[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", NULL};
    static const char *const loud[] = {"/bin/sh", "-c", "yes", NULL};
    static const char *const none[] = {"/nonexistent/prog", NULL};
    h2a_buf out, err;
    h2a_child_result r;

    (void)state;
    h2a_buf_init(&out, 4096);
    r = s_run(slow, NULL, &out, NULL, 300);
    assert_true(r.timed_out);
    assert_false(r.exited);
    assert_int_equal(r.signal, 9);
    r = s_run(loud, NULL, &out, NULL, 5000);
    assert_true(r.overflow);
    assert_false(r.exited);
    h2a_buf_init(&err, 256);
    r = s_run(none, NULL, &out, &err, 5000);
    assert_int_equal(r.code, 127);
    H2A_ASSERT_OK(h2a_buf_terminate(&err));
    assert_non_null(strstr((const char *)err.data, "cannot execute /nonexistent/prog"));
    h2a_buf_free(&out);
    h2a_buf_free(&err);
}

static void test_environment(void **state)
{
    static const char *const env[] = {"/usr/bin/env", NULL};
    static const char *const pass[] = {"H2A_T_PASSED", "H2A_T_PIN", NULL};
    static const char *const set[] = {"HSM2ACM_REQUEST_ID=r-1", NULL};
    h2a_child_spec spec = {.argv = env, .env_pass = pass, .env_set = set, .timeout_ms = 5000};
    h2a_child_result r;
    h2a_buf out;
    const char *o;

    (void)state;
    setenv("H2A_T_SECRET", "leak-me", 1);
    setenv("H2A_T_PASSED", "yes", 1);
    setenv("H2A_T_PIN", "1234", 1);
    setenv("LANG", "C.UTF-8", 1);
    H2A_ASSERT_OK(h2a_child_hide_env("H2A_T_PIN"));
    H2A_ASSERT_OK(h2a_child_hide_env("LANG"));
    h2a_buf_init(&out, 65536);
    H2A_ASSERT_OK(h2a_child_run(&spec, &out, NULL, &r));
    H2A_ASSERT_OK(h2a_buf_terminate(&out));
    o = (const char *)out.data;
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(o, "PATH="));
    assert_non_null(strstr(o, "H2A_T_PASSED=yes"));
    assert_non_null(strstr(o, "HSM2ACM_REQUEST_ID=r-1"));
    assert_null(strstr(o, "leak-me"));
    assert_null(strstr(o, "H2A_T_PIN"));
    assert_null(strstr(o, "LANG="));
    h2a_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdin_stdout_exit),
        cmocka_unit_test(test_timeout_and_cap),
        cmocka_unit_test(test_environment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
