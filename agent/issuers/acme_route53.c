/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * dns-01 through Route 53. UPSERT replaces a whole record set, and an apex
 * and its wildcard need two values at one name, so every change reads the
 * set first, merges or removes only our value, and writes the result; a
 * set left empty is DELETEd exactly as it stands. Each change is waited
 * for until INSYNC. Read, write and wait hold a lock on the name, so two
 * hsm2acm processes (or workers) never merge into the same stale set.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "issuers/acme_int.h"

#define H2A_ACME_TXT_TTL 60
#define H2A_ACME_TXT_MAX 32

/* route53_zone: the hosted zone of exactly that name. */
static h2a_err s_zone_id(h2a_acme *a, char *out, size_t n)
{
    json_object *zones = NULL;
    char want[300];
    h2a_err rv;

    if (a->conf->zone_id != NULL) {
        snprintf(out, n, "%s", a->conf->zone_id);
        return H2A_OK;
    }
    snprintf(want, sizeof(want), "%s%s", a->conf->zone_name,
             a->conf->zone_name[strlen(a->conf->zone_name) - 1] == '.' ? "" : ".");
    H2A_GUARD(h2a_r53_list_hosted_zones_by_name(a->ctx->aws, want, 1, &zones));
    rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s.challenge.route53_zone: no hosted zone "
                     "named %s", a->ctx->conf->name, want);
    if (json_object_array_length(zones) == 1) {
        json_object *z = json_object_array_get_idx(zones, 0);

        if (strcasecmp(h2a_acme_jstr(z, "Name") ? h2a_acme_jstr(z, "Name") : "", want) == 0) {
            snprintf(out, n, "%s", h2a_acme_jstr(z, "Id"));
            h2a_err_clear();
            rv = H2A_OK;
        }
    }
    json_object_put(zones);
    return rv;
}

/* The TXT values now at `name` (quoted, as Route 53 keeps them) and their TTL. */
static h2a_err s_current(h2a_acme *a, const char *zone, const char *name, char **vals,
                         size_t *n, long *ttl)
{
    json_object *sets = NULL, *v = NULL;
    h2a_err rv = h2a_r53_list_resource_record_sets(a->ctx->aws, zone, &sets);

    *n = 0;
    *ttl = H2A_ACME_TXT_TTL;
    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(sets); i++) {
        json_object *s = json_object_array_get_idx(sets, i);

        if (strcasecmp(h2a_acme_jstr(s, "Name") ? h2a_acme_jstr(s, "Name") : "", name) != 0 ||
            strcmp(h2a_acme_jstr(s, "Type") ? h2a_acme_jstr(s, "Type") : "", "TXT") != 0) {
            continue;
        }
        if (json_object_object_get_ex(s, "TTL", &v)) {
            *ttl = (long)json_object_get_int64(v);
        }
        json_object_object_get_ex(s, "Values", &v);
        for (size_t k = 0; v != NULL && k < json_object_array_length(v) &&
                           *n < H2A_ACME_TXT_MAX; k++) {
            vals[(*n)++] = strdup(json_object_get_string(json_object_array_get_idx(v, k)));
        }
    }
    json_object_put(sets);
    return rv;
}

static h2a_err s_wait_insync(h2a_acme *a, const char *change_id)
{
    char *st = NULL;

    for (;;) {
        H2A_GUARD(h2a_r53_get_change(a->ctx->aws, change_id, &st));
        if (strcmp(st, "INSYNC") == 0) {
            free(st);
            return H2A_OK;
        }
        free(st);
        st = NULL;
        H2A_ENSURE(h2a_acme_now_ms() < a->deadline_ms, H2A_ERR_ISSUER, "issuers.%s: Route 53 change "
                   "%s not INSYNC within the timeout", a->ctx->conf->name, change_id);
        h2a_acme_pause(a, 500);
    }
}

/* The lock of one record name (DNS names are case-blind): zone NUL name. */
static h2a_err s_lock(h2a_acme *a, const char *zone, const char *name, int *fd)
{
    char key[600];
    size_t n = (size_t)snprintf(key, sizeof(key), "r53 %s%c%s", zone, '\0', name);

    n = n < sizeof(key) ? n : sizeof(key) - 1;
    for (size_t i = strlen(key) + 1; i < n; i++) {
        key[i] = (char)tolower((unsigned char)key[i]);
    }
    return h2a_acme_lock(a, key, n, fd);
}

h2a_err h2a_acme_r53_txt(h2a_acme *a, const char *name, const char *value, bool add)
{
    char zone[128], quoted[200], *vals[H2A_ACME_TXT_MAX + 2] = {0}, *cid = NULL, *st = NULL;
    const char *next[H2A_ACME_TXT_MAX + 2] = {0};
    size_t n = 0, m = 0;
    long ttl;
    bool ours = false;
    int fd = -1;
    struct h2a_r53_change ch = {0};
    h2a_err rv;

    H2A_ENSURE(a->ctx->aws != NULL, H2A_ERR_INTERNAL, "dns-01 via Route 53 without AWS");
    snprintf(quoted, sizeof(quoted), "\"%s\"", value);
    H2A_GUARD(s_zone_id(a, zone, sizeof(zone)));
    H2A_GUARD(s_lock(a, zone, name, &fd));
    rv = s_current(a, zone, name, vals, &n, &ttl);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        if (vals[i] != NULL && strcmp(vals[i], quoted) == 0) {
            ours = true;
        } else if (vals[i] != NULL) {
            next[m++] = vals[i];
        }
    }
    if (rv == H2A_OK && (add ? !ours : ours)) {
        if (add) {
            next[m++] = quoted;
        }
        ch.name = name;
        ch.type = "TXT";
        ch.ttl = ttl;
        /* Nothing else left: DELETE must repeat the set exactly as it is. */
        ch.action = m == 0 ? "DELETE" : "UPSERT";
        ch.values = m == 0 ? (const char *const *)vals : next;
        rv = h2a_r53_change_resource_record_sets(a->ctx->aws, zone, "hsm2acm acme dns-01",
                                                 &ch, 1, &cid, &st);
        if (rv == H2A_OK) {
            rv = s_wait_insync(a, cid);
        }
    }
    close(fd);
    for (size_t i = 0; i < n; i++) {
        free(vals[i]);
    }
    free(cid);
    free(st);
    return rv;
}
