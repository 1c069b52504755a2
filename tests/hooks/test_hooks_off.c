/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * common/testhook.c built as a user's build has it (no H2A_TEST_HOOKS):
 * crash points and injected faults are ignored whatever the environment
 * says. The test build's own library has hooks on, and its crash tests
 * show that side.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>

#include <cmocka.h>

#include "h2a_common.h"

static void test_release_ignores_hooks(void **state)
{
    (void)state;
    assert_int_equal(setenv("HSM2ACM_TEST_CRASH_AT", "validate,keygen", 1), 0);
    assert_int_equal(setenv("H2A_TEST_FAULT", "p11_after_generate", 1), 0);
    assert_false(h2a_test_hooks_built());
    assert_null(h2a_test_hook_env("HSM2ACM_TEST_CRASH_AT"));
    assert_null(h2a_test_hook_env("H2A_TEST_FAULT"));
    /* An ordinary variable is still there: only the hook lookup is off. */
    assert_non_null(getenv("HSM2ACM_TEST_CRASH_AT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_ignores_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
