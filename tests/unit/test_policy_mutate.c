/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Robustness of the policy parser: every truncation and many single-byte
 * changes of the sample policy either load (and then render) or fail with
 * H2A_ERR_INPUT and a message naming the file. Run under ASan this also
 * shows that no path reads out of bounds or leaks.
 */

#include <stdio.h>

#include "h2a_test.h"
#include "h2a_policy.h"

static char *s_sample(size_t *len)
{
    char path[4096];
    h2a_buf b;
    char *copy;

    snprintf(path, sizeof(path), "%s/tests/policy_snapshot/sample.json",
             h2a_test_env("H2A_SRC_DIR"));
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_file_read(path, &b));
    copy = malloc(b.len + 1);
    assert_non_null(copy);
    memcpy(copy, b.data, b.len);
    copy[b.len] = '\0';
    *len = b.len;
    h2a_buf_free(&b);
    return copy;
}

/* Parse `text`; it must load and render, or be bad input naming "m.json". */
static bool s_try(const char *text, size_t len)
{
    H2A_POLICY *p = NULL;
    h2a_err rv;

    h2a_err_clear();
    rv = h2a_policy_parse(text, len, "m.json", &p);
    if (rv == H2A_OK) {
        h2a_buf r;

        assert_non_null(p);
        h2a_buf_init(&r, 0);
        H2A_ASSERT_OK(h2a_policy_render(p, &r));
        assert_true(r.len > 0);
        h2a_buf_free(&r);
        h2a_policy_free(p);
        return true;
    }
    if (rv != H2A_ERR_INPUT || strstr(h2a_err_msg(), "m.json") == NULL) {
        print_error("input %.*s\ngave %s '%s'\n", (int)len, text, h2a_err_name(rv),
                    h2a_err_msg());
    }
    assert_int_equal(rv, H2A_ERR_INPUT);
    assert_non_null(strstr(h2a_err_msg(), "m.json"));
    assert_null(p);
    return false;
}

static void test_truncations(void **state)
{
    size_t len;
    char *text = s_sample(&len);
    size_t ok = 0;

    (void)state;
    assert_true(s_try(text, len));
    for (size_t cut = 0; cut < len; cut++) {
        ok += s_try(text, cut) ? 1 : 0;
    }
    /* Only cuts in the trailing whitespace can still be a whole object. */
    assert_true(ok <= 2);
    free(text);
}

static void test_substitutions(void **state)
{
    static const char subst[] = {'"', '{', '}', '[', ']', ',', ':', '0', 'x', ' ',
                                 '\'', '\\', '\n', '*', '-', '\x01', '\xff'};
    size_t len;
    char *text = s_sample(&len);
    size_t ok = 0;
    size_t tries = 0;

    (void)state;
    for (size_t i = 0; i < len; i++) {
        char orig = text[i];

        for (size_t k = 0; k < sizeof(subst); k++) {
            if (subst[k] == orig) {
                continue;
            }
            text[i] = subst[k];
            ok += s_try(text, len) ? 1 : 0;
            tries++;
        }
        text[i] = orig;
    }
    /* Most changes must be refused (a change that still loads is e.g. in whitespace). */
    print_message("substitutions: %zu of %zu still load\n", ok, tries);
    assert_true(tries > 1000);
    assert_true(ok < tries / 4);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_substitutions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
