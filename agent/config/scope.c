/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The "scope" object of the configuration: which accounts and regions
 * `discover` walks. Strict like the rest of the file: every bad value names
 * its key ("scope.regions[1]", "scope.accounts.include[0]") and is exit 2.
 */
#include <stdlib.h>
#include <string.h>

#include "config/h2a_config.h"
#include "config/h2a_jv.h"

static const char *const s_scope_keys[] = {
    "type", "regions", "role_name", "external_id", "management_role_arn",
    "accounts", "statuses", "expired_within_days", NULL};
static const char *const s_account_keys[] = {"include", "exclude", NULL};

/*
 * Regions AWS has. A typo ("eu-west-9") would otherwise only show up as a
 * DNS failure per account at 3 a.m.; new regions are added here.
 */
static const char *const s_regions[] = {
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6",
    "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1",
    "us-gov-east-1", "us-gov-west-1", NULL};

bool h2a_config_region_known(const char *region)
{
    for (size_t i = 0; region != NULL && s_regions[i] != NULL; i++) {
        if (strcmp(region, s_regions[i]) == 0) {
            return true;
        }
    }
    return false;
}

void h2a_config_scope_free(h2a_scope_conf *s)
{
    h2a_jv_strv_free(s->regions);
    free(s->role_name);
    free(s->external_id);
    free(s->management_role_arn);
    h2a_jv_strv_free(s->include);
    h2a_jv_strv_free(s->exclude);
    h2a_jv_strv_free(s->statuses);
    memset(s, 0, sizeof(*s));
}

static h2a_err s_regions_parse(json_object *o, const char *default_region, h2a_scope_conf *s)
{
    H2A_GUARD(h2a_jv_strv(o, "scope", "regions", false, 64, 32, &s->regions, &s->n_regions));
    if (s->n_regions == 1 && strcmp(s->regions[0], "all") == 0) {
        s->all_regions = true;
        return H2A_OK;
    }
    for (size_t i = 0; i < s->n_regions; i++) {
        if (!h2a_config_region_known(s->regions[i])) {
            return h2a_err_set(H2A_ERR_INPUT, "scope.regions[%zu]: '%s' is not an AWS region"
                               " (or use [\"all\"] alone)", i, s->regions[i]);
        }
    }
    if (s->n_regions == 0 && default_region != NULL) {
        h2a_jv_strv_free(s->regions);
        s->regions = calloc(2, sizeof(char *));
        if (s->regions == NULL || (s->regions[0] = strdup(default_region)) == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "scope.regions");
        }
        s->n_regions = 1;
    }
    return H2A_OK;
}

static h2a_err s_account_list(json_object *acc, const char *key, char ***out, size_t *n)
{
    H2A_GUARD(h2a_jv_strv(acc, "scope.accounts", key, false, 10000, 12, out, n));
    for (size_t i = 0; i < *n; i++) {
        const char *a = (*out)[i];
        if (strlen(a) != 12 || strspn(a, "0123456789") != 12) {
            return h2a_err_set(H2A_ERR_INPUT, "scope.accounts.%s[%zu]: '%s' is not an AWS "
                               "account id (12 digits)", key, i, a);
        }
    }
    return H2A_OK;
}

static h2a_err s_accounts(json_object *o, h2a_scope_conf *s)
{
    json_object *acc = NULL;

    if (!json_object_object_get_ex(o, "accounts", &acc) || acc == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_jv_require_object(acc, "scope.accounts"));
    H2A_GUARD(h2a_jv_only_keys(acc, "scope.accounts", s_account_keys));
    H2A_GUARD(s_account_list(acc, "include", &s->include, &s->n_include));
    H2A_GUARD(s_account_list(acc, "exclude", &s->exclude, &s->n_exclude));
    for (size_t i = 0; i < s->n_include; i++) {
        for (size_t k = 0; k < s->n_exclude; k++) {
            if (strcmp(s->include[i], s->exclude[k]) == 0) {
                return h2a_err_set(H2A_ERR_INPUT, "scope.accounts.exclude[%zu]: account %s is "
                                   "also in scope.accounts.include", k, s->exclude[k]);
            }
        }
    }
    return H2A_OK;
}

static h2a_err s_statuses(json_object *o, h2a_scope_conf *s)
{
    H2A_GUARD(h2a_jv_strv(o, "scope", "statuses", false, 7, 32, &s->statuses, &s->n_statuses));
    for (size_t i = 0; i < s->n_statuses; i++) {
        if (!h2a_acm_status_valid(s->statuses[i])) {
            return h2a_err_set(H2A_ERR_INPUT, "scope.statuses[%zu]: '%s' is not an ACM "
                               "certificate status", i, s->statuses[i]);
        }
    }
    return H2A_OK;
}

static h2a_err s_type(json_object *o, h2a_scope_conf *s)
{
    char *type = NULL;

    H2A_GUARD(h2a_jv_str(o, "scope", "type", false, 1, 32, &type));
    s->organization = type != NULL && strcmp(type, "organization") == 0;
    if (type != NULL && !s->organization && strcmp(type, "account") != 0) {
        free(type);
        return h2a_err_set(H2A_ERR_INPUT, "scope.type: expected \"account\" or "
                           "\"organization\"");
    }
    free(type);
    return H2A_OK;
}

h2a_err h2a_config_scope(json_object *top, const char *default_region, h2a_scope_conf *s)
{
    json_object *o = NULL;

    memset(s, 0, sizeof(*s));
    s->expired_within_days = 90;
    if (!json_object_object_get_ex(top, "scope", &o) || o == NULL) {
        o = NULL;
    } else {
        H2A_GUARD(h2a_jv_require_object(o, "scope"));
        H2A_GUARD(h2a_jv_only_keys(o, "scope", s_scope_keys));
        H2A_GUARD(s_type(o, s));
    }
    H2A_GUARD(s_regions_parse(o, default_region, s));
    if (o == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_jv_str(o, "scope", "role_name", false, 1, 64, &s->role_name));
    if (s->role_name != NULL && !h2a_jv_charset_ok(s->role_name, "+=,.@_-")) {
        return h2a_err_set(H2A_ERR_INPUT, "scope.role_name: '%s' is not an IAM role name",
                           s->role_name);
    }
    H2A_GUARD(h2a_jv_str(o, "scope", "external_id", false, 2, 1224, &s->external_id));
    H2A_GUARD(h2a_jv_str(o, "scope", "management_role_arn", false, 20, 2048,
                         &s->management_role_arn));
    if (s->management_role_arn != NULL &&
        strncmp(s->management_role_arn, "arn:aws", 7) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "scope.management_role_arn: expected an IAM role ARN");
    }
    H2A_GUARD(s_accounts(o, s));
    H2A_GUARD(s_statuses(o, s));
    H2A_GUARD(h2a_jv_int(o, "scope", "expired_within_days", false, 0, 36500,
                         &s->expired_within_days));
    if (s->organization && s->role_name == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "scope.role_name: required when scope.type is "
                           "\"organization\"");
    }
    return H2A_OK;
}
