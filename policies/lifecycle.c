/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <math.h>
#include <string.h>

#include "policy_internal.h"

void h2a_policy_lifecycle_defaults(h2a_policy_lifecycle *l)
{
    /*
     * A third of the lifetime left (certbot, cert-manager, autocert): 30
     * days of a 90-day certificate, 2 days of a 6-day one, with no fixed
     * day count that would be wrong for one of them.
     */
    l->before_expiry_days = -1;
    l->lifetime_fraction = 0.33;
    l->use_ari = true;
    l->jitter_percent = 10;
    l->min_remaining_for_rollback_days = 2;
    l->retain_generations = 2;
    l->destroy_after_days = 30;
}

void h2a_policy_get_lifecycle(const H2A_POLICY *p, h2a_policy_lifecycle *out)
{
    if (p == NULL) {
        h2a_policy_lifecycle_defaults(out);
        return;
    }
    *out = p->life;
}

static h2a_err s_fraction(json_object *v, double *out)
{
    double x;

    if (v == NULL || (json_object_get_type(v) != json_type_double &&
                      json_object_get_type(v) != json_type_int)) {
        return h2a_err_set(H2A_ERR_INPUT, "renewal.lifetime_fraction: expected a number "
                                          "between 0 and 1 (exclusive)");
    }
    x = json_object_get_double(v);
    /* 0 would never renew, 1 would renew at once, always. */
    if (!isfinite(x) || x <= 0.0 || x >= 1.0) {
        return h2a_err_set(H2A_ERR_INPUT, "renewal.lifetime_fraction: %g is not between 0 "
                                          "and 1 (exclusive)", x);
    }
    *out = x;
    return H2A_OK;
}

static h2a_err s_renewal(h2a_policy_lifecycle *l, json_object *o)
{
    static const char *const known[] = {"before_expiry_days", "lifetime_fraction", "use_ari",
                                        "jitter_percent", "min_remaining_for_rollback_days",
                                        NULL};
    json_object *v;
    int64_t x;

    H2A_GUARD(h2a_pol_want("renewal", o, json_type_object, "an object"));
    H2A_GUARD(h2a_pol_known_keys("renewal", o, known));
    if (json_object_object_get_ex(o, "before_expiry_days", &v) && v != NULL) {
        H2A_GUARD(h2a_pol_get_int("renewal.before_expiry_days", v, 1, 3650, &x));
        l->before_expiry_days = (int)x;
    }
    if (json_object_object_get_ex(o, "lifetime_fraction", &v)) {
        H2A_GUARD(s_fraction(v, &l->lifetime_fraction));
    }
    if (json_object_object_get_ex(o, "use_ari", &v)) {
        H2A_GUARD(h2a_pol_get_bool("renewal.use_ari", v, &l->use_ari));
    }
    if (json_object_object_get_ex(o, "jitter_percent", &v)) {
        H2A_GUARD(h2a_pol_get_int("renewal.jitter_percent", v, 0, 50, &x));
        l->jitter_percent = (int)x;
    }
    if (json_object_object_get_ex(o, "min_remaining_for_rollback_days", &v)) {
        H2A_GUARD(h2a_pol_get_int("renewal.min_remaining_for_rollback_days", v, 0, 365, &x));
        l->min_remaining_for_rollback_days = (int)x;
    }
    return H2A_OK;
}

static h2a_err s_keys(h2a_policy_lifecycle *l, json_object *o)
{
    static const char *const known[] = {"retain_generations", "destroy_after_days", NULL};
    json_object *v;
    int64_t x;

    H2A_GUARD(h2a_pol_want("keys", o, json_type_object, "an object"));
    H2A_GUARD(h2a_pol_known_keys("keys", o, known));
    if (json_object_object_get_ex(o, "retain_generations", &v)) {
        /* 1 keeps only the serving key: no rollback at all. */
        H2A_GUARD(h2a_pol_get_int("keys.retain_generations", v, 1, 100, &x));
        l->retain_generations = (int)x;
    }
    if (json_object_object_get_ex(o, "destroy_after_days", &v)) {
        H2A_GUARD(h2a_pol_get_int("keys.destroy_after_days", v, 0, 3650, &x));
        l->destroy_after_days = (int)x;
    }
    return H2A_OK;
}

h2a_err h2a_pol_parse_lifecycle(H2A_POLICY *p, json_object *root)
{
    json_object *v;

    if (json_object_object_get_ex(root, "renewal", &v)) {
        H2A_GUARD(s_renewal(&p->life, v));
    }
    if (json_object_object_get_ex(root, "keys", &v)) {
        H2A_GUARD(s_keys(&p->life, v));
    }
    return H2A_OK;
}
