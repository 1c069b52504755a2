/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <time.h>

#include "renew/h2a_renew.h"

#define S_DAY 86400LL

const char *h2a_due_rule_name(h2a_due_rule r)
{
    switch (r) {
    case H2A_DUE_BEFORE_EXPIRY:
        return "before_expiry_days";
    case H2A_DUE_ARI:
        return "ari";
    case H2A_DUE_LIFETIME:
    default:
        return "lifetime_fraction";
    }
}

uint32_t h2a_renew_seed(const char *serial)
{
    uint32_t h = 2166136261u;

    for (const char *p = serial != NULL ? serial : ""; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    return h;
}

/* `seed` as a fraction in [0, 1). */
static double s_unit(uint32_t seed)
{
    return (double)seed / 4294967296.0;
}

long long h2a_renew_due(const h2a_policy_lifecycle *l, const h2a_renew_times *t,
                        uint32_t seed, h2a_due_rule *rule)
{
    long long life = t->not_after - t->not_before;
    long long due = t->not_after - (long long)((double)(life > 0 ? life : 0) *
                                               l->lifetime_fraction);
    h2a_due_rule why = H2A_DUE_LIFETIME;

    if (l->before_expiry_days >= 0 &&
        t->not_after - (long long)l->before_expiry_days * S_DAY < due) {
        due = t->not_after - (long long)l->before_expiry_days * S_DAY;
        why = H2A_DUE_BEFORE_EXPIRY;
    }
    /* Earlier only: a later time could let a short certificate expire. */
    if (l->jitter_percent > 0 && t->not_after > due) {
        due -= (long long)((double)(t->not_after - due) * l->jitter_percent / 100.0 *
                           s_unit(seed));
    }
    if (l->use_ari && t->ari_start > 0 && t->ari_end >= t->ari_start) {
        /* RFC 9773: a random point in the window, not its start. */
        long long ari = t->ari_start +
                        (long long)((double)(t->ari_end - t->ari_start) * s_unit(seed));

        if (ari < due) {
            due = ari;
            why = H2A_DUE_ARI;
        }
    }
    if (due < t->not_before) {
        due = t->not_before;
    }
    if (rule != NULL) {
        *rule = why;
    }
    return due;
}

long long h2a_renew_now(void)
{
    const char *env = h2a_test_hook_env("HSM2ACM_TEST_NOW");
    char *end = NULL;
    long long v;

    if (env != NULL && *env != '\0') {
        v = strtoll(env, &end, 10);
        if (end != env && *end == '\0' && v > 0) {
            return v;
        }
    }
    return (long long)time(NULL);
}
