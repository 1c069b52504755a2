/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* cmocka plus the few helpers every hsm2acm C test uses. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h2a_common.h"

/* The call must succeed; on failure print h2a_err_msg() first. */
#define H2A_ASSERT_OK(expr)                                              \
    do {                                                                 \
        h2a_err h2a_t_rv_ = (expr);                                      \
        if (h2a_t_rv_ != H2A_OK) {                                       \
            print_error("%s failed: %s: %s\n", #expr,                    \
                        h2a_err_name(h2a_t_rv_), h2a_err_msg());         \
        }                                                                \
        assert_int_equal(h2a_t_rv_, H2A_OK);                             \
    } while (0)

/* The call must fail with `err` and a message containing `needle`. */
#define H2A_ASSERT_ERR(expr, err, needle)                                \
    do {                                                                 \
        h2a_err_clear();                                                 \
        h2a_err h2a_t_rv_ = (expr);                                      \
        if (h2a_t_rv_ != (err) || strstr(h2a_err_msg(), (needle)) == NULL) { \
            print_error("%s: got %s '%s', wanted %s containing '%s'\n",  \
                        #expr, h2a_err_name(h2a_t_rv_), h2a_err_msg(),   \
                        h2a_err_name(err), (needle));                    \
        }                                                                \
        assert_int_equal(h2a_t_rv_, (err));                              \
        assert_non_null(strstr(h2a_err_msg(), (needle)));                \
    } while (0)

/* Environment variable that the ctest harness must set. */
static inline const char *h2a_test_env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        print_error("environment variable %s is not set (run under ctest)\n", name);
        fail();
    }
    return v;
}
