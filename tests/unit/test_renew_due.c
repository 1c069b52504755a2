/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* When a certificate is due for renewal (agent/renew/due.c): every knob, four lifetimes, ARI. */

#include "h2a_test.h"
#include "renew/h2a_renew.h"

#define DAY 86400LL
#define T0 1800000000LL /* an arbitrary not_before */

static h2a_policy_lifecycle s_life(void)
{
    h2a_policy_lifecycle l;

    h2a_policy_lifecycle_defaults(&l);
    l.jitter_percent = 0;
    return l;
}

static h2a_renew_times s_cert(long long days)
{
    h2a_renew_times t = {T0, T0 + days * DAY, 0, 0};

    return t;
}

/* The default third of the lifetime fits 6 days as well as 398 without tuning. */
static void test_lifetimes(void **state)
{
    static const long long days[] = {6, 47, 90, 398};
    h2a_policy_lifecycle l = s_life();
    h2a_due_rule why = H2A_DUE_ARI;

    (void)state;
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        h2a_renew_times t = s_cert(days[i]);
        long long due = h2a_renew_due(&l, &t, 12345, &why);
        long long left = t.not_after - due;

        assert_int_equal(why, H2A_DUE_LIFETIME);
        /* 0.33 of the lifetime left, to the second. */
        assert_int_equal(left, (long long)((double)(days[i] * DAY) * 0.33));
    }
    /* 6 days: about 2 days left (47 h 31 min); 90 days: 29.7 days. */
    {
        h2a_renew_times t6 = s_cert(6), t90 = s_cert(90);

        assert_int_equal(t6.not_after - h2a_renew_due(&l, &t6, 0, NULL), 171072);
        assert_int_equal(t90.not_after - h2a_renew_due(&l, &t90, 0, NULL), 2566080);
    }
}

/* before_expiry_days wins only where it is earlier than the fraction. */
static void test_before_expiry(void **state)
{
    h2a_policy_lifecycle l = s_life();
    h2a_renew_times t398 = s_cert(398), t6 = s_cert(6), t47 = s_cert(47);
    h2a_due_rule why;

    (void)state;
    l.before_expiry_days = 30;
    /* 398 days: a third is 131 days, earlier than 30: the fraction rules. */
    assert_int_equal(h2a_renew_due(&l, &t398, 0, &why),
                     t398.not_after - (long long)((double)(398 * DAY) * 0.33));
    assert_int_equal(why, H2A_DUE_LIFETIME);
    /* 47 days: 30 days before expiry is earlier than 15.5 days. */
    assert_int_equal(h2a_renew_due(&l, &t47, 0, &why), t47.not_after - 30 * DAY);
    assert_int_equal(why, H2A_DUE_BEFORE_EXPIRY);
    /* 6 days: 30 days before expiry is before issuance: due from the start. */
    assert_int_equal(h2a_renew_due(&l, &t6, 0, &why), t6.not_before);
    assert_int_equal(why, H2A_DUE_BEFORE_EXPIRY);
    l.before_expiry_days = 200;
    assert_int_equal(h2a_renew_due(&l, &t398, 0, &why), t398.not_after - 200 * DAY);
    assert_int_equal(why, H2A_DUE_BEFORE_EXPIRY);
}

static void test_fraction(void **state)
{
    h2a_policy_lifecycle l = s_life();
    h2a_renew_times t = s_cert(90);

    (void)state;
    l.lifetime_fraction = 0.5;
    assert_int_equal(h2a_renew_due(&l, &t, 0, NULL), T0 + 45 * DAY);
    l.lifetime_fraction = 0.1;
    assert_int_equal(h2a_renew_due(&l, &t, 0, NULL), T0 + 81 * DAY);
}

/* Jitter: earlier only, at most jitter_percent of the time left, per seed, reproducible. */
static void test_jitter(void **state)
{
    h2a_policy_lifecycle l = s_life();
    h2a_renew_times t = s_cert(47);
    long long plain = h2a_renew_due(&l, &t, 0, NULL), lo, hi, a, b;

    (void)state;
    l.jitter_percent = 10;
    lo = plain - (t.not_after - plain) / 10;
    hi = plain;
    a = h2a_renew_due(&l, &t, h2a_renew_seed("0a1b"), NULL);
    b = h2a_renew_due(&l, &t, h2a_renew_seed("0a1c"), NULL);
    assert_true(a >= lo && a <= hi);
    assert_true(b >= lo && b <= hi);
    assert_true(a != b);
    assert_int_equal(a, h2a_renew_due(&l, &t, h2a_renew_seed("0a1b"), NULL));
    /* The largest seed moves it almost the whole 10%. */
    assert_true(h2a_renew_due(&l, &t, UINT32_MAX, NULL) < plain - (t.not_after - plain) / 11);
    assert_int_equal(h2a_renew_due(&l, &t, 0, NULL), plain);
}

/* ARI: a point in the window, when earlier and use_ari; ignored otherwise. */
static void test_ari(void **state)
{
    h2a_policy_lifecycle l = s_life();
    h2a_renew_times t = s_cert(90);
    h2a_due_rule why;
    long long due;

    (void)state;
    t.ari_start = T0 + 10 * DAY;
    t.ari_end = T0 + 12 * DAY;
    due = h2a_renew_due(&l, &t, 1u << 31, &why);
    assert_int_equal(why, H2A_DUE_ARI);
    assert_int_equal(due, T0 + 11 * DAY);
    assert_int_equal(h2a_renew_due(&l, &t, 0, NULL), T0 + 10 * DAY);
    l.use_ari = false;
    assert_int_equal(h2a_renew_due(&l, &t, 0, &why), T0 + 90 * DAY - 2566080);
    assert_int_equal(why, H2A_DUE_LIFETIME);
    /* A window later than the fraction's point does not delay renewal. */
    l.use_ari = true;
    t.ari_start = T0 + 80 * DAY;
    t.ari_end = T0 + 85 * DAY;
    assert_int_equal(h2a_renew_due(&l, &t, 0, &why), T0 + 90 * DAY - 2566080);
    assert_int_equal(why, H2A_DUE_LIFETIME);
    /* A 6-day certificate whose CA asks for renewal right away (mass revocation). */
    t = s_cert(6);
    t.ari_start = T0 + DAY / 2;
    t.ari_end = T0 + DAY / 2;
    assert_int_equal(h2a_renew_due(&l, &t, 99, &why), T0 + DAY / 2);
    assert_int_equal(why, H2A_DUE_ARI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifetimes), cmocka_unit_test(test_before_expiry),
        cmocka_unit_test(test_fraction),  cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_ari),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
