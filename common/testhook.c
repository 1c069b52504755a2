/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>

#include "h2a_common.h"

/*
 * Crash points and fault injection read their switches through here, so a
 * build without H2A_TEST_HOOKS (the default: what users install) ignores
 * them whatever the environment says. Only the test builds define it
 * (scripts/test.sh configures with -DH2A_TEST_HOOKS=ON).
 */
const char *h2a_test_hook_env(const char *name)
{
#ifdef H2A_TEST_HOOKS
    return getenv(name);
#else
    (void)name;
    return NULL;
#endif
}

bool h2a_test_hooks_built(void)
{
#ifdef H2A_TEST_HOOKS
    return true;
#else
    return false;
#endif
}
