/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The node_exporter textfile format (Prometheus text exposition 0.0.4):
 * per-certificate expiry and in-use gauges, and counts by status, so that
 * existing alerting can watch ACM without calling AWS.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory/h2a_inventory.h"

/* Label values escape backslash, double quote and line feed, nothing else. */
static void s_label(FILE *f, const char *name, const char *v, bool first)
{
    fprintf(f, "%s%s=\"", first ? "" : ",", name);
    for (; v != NULL && *v != '\0'; v++) {
        if (*v == '\\' || *v == '"') {
            fputc('\\', f);
            fputc(*v, f);
        } else if (*v == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*v, f);
        }
    }
    fputc('"', f);
}

static void s_cert_labels(FILE *f, const h2a_inv_cert *c)
{
    fputc('{', f);
    s_label(f, "arn", c->arn, true);
    s_label(f, "account", c->account, false);
    s_label(f, "region", c->region, false);
    s_label(f, "domain", c->domain, false);
    s_label(f, "key_algorithm", c->key_algorithm, false);
    s_label(f, "managed", c->managed ? "true" : "false", false);
    fputc('}', f);
}

static bool s_in_use(const h2a_inv_cert *c)
{
    json_object *a = c->in_use_by != NULL ? json_tokener_parse(c->in_use_by) : NULL;
    bool used = json_object_is_type(a, json_type_array) && json_object_array_length(a) > 0;

    json_object_put(a);
    return used;
}

static int s_by_group(const void *a, const void *b)
{
    const h2a_inv_cert *x = *(const h2a_inv_cert *const *)a;
    const h2a_inv_cert *y = *(const h2a_inv_cert *const *)b;
    int r = strcmp(x->account, y->account);

    if (r == 0) {
        r = strcmp(x->region, y->region);
    }
    return r != 0 ? r : strcmp(x->status ? x->status : "", y->status ? y->status : "");
}

static h2a_err s_counts(FILE *f, const h2a_inv_cert *v, size_t n)
{
    const h2a_inv_cert **idx = calloc(n + 1, sizeof(*idx));

    if (idx == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "prometheus");
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = &v[i];
    }
    qsort(idx, n, sizeof(*idx), s_by_group);
    fputs("# HELP hsm2acm_certificates Certificates in ACM by account, region and status.\n"
          "# TYPE hsm2acm_certificates gauge\n", f);
    for (size_t i = 0, k; i < n; i = k) {
        for (k = i + 1; k < n && s_by_group(&idx[i], &idx[k]) == 0; k++) {
        }
        fputs("hsm2acm_certificates{", f);
        s_label(f, "account", idx[i]->account, true);
        s_label(f, "region", idx[i]->region, false);
        s_label(f, "status", idx[i]->status, false);
        fprintf(f, "} %zu\n", k - i);
    }
    free(idx);
    return H2A_OK;
}

/* One per-certificate gauge: its HELP and TYPE, then a sample per certificate. */
static void s_gauge(FILE *f, const char *name, const char *help, const h2a_inv_cert *v,
                    size_t n, bool in_use)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        fputs(name, f);
        s_cert_labels(f, &v[i]);
        if (in_use) {
            fprintf(f, " %d\n", s_in_use(&v[i]) ? 1 : 0);
        } else {
            fprintf(f, " %lld\n", v[i].not_after);
        }
    }
}

h2a_err h2a_inv_prometheus(FILE *f, const h2a_inv_cert *v, size_t n)
{
    s_gauge(f, "hsm2acm_certificate_not_after_seconds",
            "Expiry (NotAfter) of an ACM certificate, Unix seconds.", v, n, false);
    s_gauge(f, "hsm2acm_certificate_in_use",
            "Whether an AWS resource uses the certificate (1) or not (0).", v, n, true);
    return s_counts(f, v, n);
}
