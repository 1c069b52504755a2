/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The output formats of `hsm2acm inventory`: a table for people, JSON and
 * CSV for scripts, and the node_exporter textfile format for monitoring.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/h2a_inventory.h"

#define H2A_SOON_DAYS 30

bool h2a_inv_format_parse(const char *s, h2a_inv_format *out)
{
    static const char *const names[] = {"table", "json", "csv", "prometheus"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (h2a_inv_format)i;
            return true;
        }
    }
    return false;
}

const char *h2a_inv_time(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;

    buf[0] = '\0';
    if (t != 0 && gmtime_r(&tt, &tm) != NULL) {
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return buf;
}

static json_object *s_time_json(long long t)
{
    char b[32];

    return t == 0 ? NULL : json_object_new_string(h2a_inv_time(t, b, sizeof(b)));
}

static json_object *s_str(const char *s)
{
    return s == NULL ? NULL : json_object_new_string(s);
}

/* Stored JSON text back into JSON; `fallback` ("[]", "{}") if unreadable. */
static json_object *s_parsed(const char *text, const char *fallback)
{
    json_object *o = text != NULL ? json_tokener_parse(text) : NULL;

    return o != NULL ? o : json_tokener_parse(fallback);
}

static json_object *s_cert_json(const h2a_inv_cert *c)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "arn", s_str(c->arn));
    json_object_object_add(o, "account", s_str(c->account));
    json_object_object_add(o, "region", s_str(c->region));
    json_object_object_add(o, "type", s_str(c->type));
    json_object_object_add(o, "status", s_str(c->status));
    json_object_object_add(o, "domain", s_str(c->domain));
    json_object_object_add(o, "sans", s_parsed(c->sans, "[]"));
    json_object_object_add(o, "key_algorithm", s_str(c->key_algorithm));
    json_object_object_add(o, "serial", s_str(c->serial));
    json_object_object_add(o, "issuer", s_str(c->issuer));
    json_object_object_add(o, "not_before", s_time_json(c->not_before));
    json_object_object_add(o, "not_after", s_time_json(c->not_after));
    json_object_object_add(o, "in_use_by", s_parsed(c->in_use_by, "[]"));
    json_object_object_add(o, "renewal_eligibility", s_str(c->renewal_eligibility));
    json_object_object_add(o, "tags", s_parsed(c->tags, "{}"));
    json_object_object_add(o, "managed", json_object_new_boolean(c->managed));
    json_object_object_add(o, "first_seen", s_time_json(c->first_seen));
    json_object_object_add(o, "last_seen", s_time_json(c->last_seen));
    return o;
}

static h2a_err s_json(FILE *f, const h2a_inv_cert *v, size_t n)
{
    json_object *top = json_object_new_object();
    json_object *arr = json_object_new_array();

    if (top == NULL || arr == NULL) {
        json_object_put(top);
        json_object_put(arr);
        return h2a_err_set(H2A_ERR_NOMEM, "inventory json");
    }
    for (size_t i = 0; i < n; i++) {
        json_object_array_add(arr, s_cert_json(&v[i]));
    }
    json_object_object_add(top, "certificates", arr);
    fprintf(f, "%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_SPACED |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(top);
    return H2A_OK;
}

/* A JSON array of strings as "a;b;c" (CSV and table cells). */
static void s_joined(const char *json_text, char *buf, size_t n)
{
    json_object *a = s_parsed(json_text, "[]");
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; json_object_is_type(a, json_type_array) &&
                       i < json_object_array_length(a) && used < n; i++) {
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ";" : "",
                                 json_object_get_string(json_object_array_get_idx(a, i)));
    }
    json_object_put(a);
}

static void s_csv_cell(FILE *f, const char *s, bool last)
{
    if (s != NULL && strpbrk(s, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (; *s != '\0'; s++) {
            if (*s == '"') {
                fputc('"', f);
            }
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s != NULL ? s : "", f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void s_csv(FILE *f, const h2a_inv_cert *v, size_t n)
{
    fputs("arn,account,region,type,status,domain,sans,key_algorithm,serial,issuer,"
          "not_before,not_after,in_use_by,renewal_eligibility,tags,managed,first_seen,"
          "last_seen\r\n", f);
    for (size_t i = 0; i < n; i++) {
        const h2a_inv_cert *c = &v[i];
        char sans[8192], inuse[8192], t[6][32];
        const char *cells[] = {c->arn, c->account, c->region, c->type, c->status, c->domain,
                               sans, c->key_algorithm, c->serial, c->issuer,
                               h2a_inv_time(c->not_before, t[0], 32),
                               h2a_inv_time(c->not_after, t[1], 32), inuse,
                               c->renewal_eligibility, c->tags, c->managed ? "true" : "false",
                               h2a_inv_time(c->first_seen, t[2], 32),
                               h2a_inv_time(c->last_seen, t[3], 32)};
        s_joined(c->sans, sans, sizeof(sans));
        s_joined(c->in_use_by, inuse, sizeof(inuse));
        for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++) {
            s_csv_cell(f, cells[k], k + 1 == sizeof(cells) / sizeof(cells[0]));
        }
    }
}

static void s_table(FILE *f, const h2a_inv_cert *v, size_t n, long long now)
{
    fprintf(f, "%-20s %-8s %-12s %-14s %-20s %-14s %-7s %-40s %s\n", "NOT_AFTER", "MARK",
            "ACCOUNT", "REGION", "STATUS", "KEY", "MANAGED", "DOMAIN", "ARN");
    for (size_t i = 0; i < n; i++) {
        const h2a_inv_cert *c = &v[i];
        char t[32];
        const char *mark = c->not_after != 0 && c->not_after < now ? "EXPIRED"
                           : c->not_after != 0 && c->not_after < now + H2A_SOON_DAYS * 86400LL
                               ? "SOON" : "-";
        fprintf(f, "%-20s %-8s %-12s %-14s %-20s %-14s %-7s %-40s %s\n",
                c->not_after ? h2a_inv_time(c->not_after, t, sizeof(t)) : "-", mark,
                c->account, c->region, c->status ? c->status : "-",
                c->key_algorithm ? c->key_algorithm : "-", c->managed ? "yes" : "no",
                c->domain ? c->domain : "-", c->arn);
    }
}

h2a_err h2a_inv_write(FILE *f, h2a_inv_format fmt, const h2a_inv_cert *v, size_t n,
                      long long now)
{
    switch (fmt) {
    case H2A_INV_JSON:
        return s_json(f, v, n);
    case H2A_INV_CSV:
        s_csv(f, v, n);
        return H2A_OK;
    case H2A_INV_PROMETHEUS:
        return h2a_inv_prometheus(f, v, n);
    case H2A_INV_TABLE:
    default:
        s_table(f, v, n, now);
        return H2A_OK;
    }
}
