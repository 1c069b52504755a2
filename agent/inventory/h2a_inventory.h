/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The certificate inventory: what `discover` saw in ACM, kept with its
 * history in <state_dir>/inventory.db (SQLite, schema version in
 * PRAGMA user_version; the schema is tests/vectors/inventory_schema.sql),
 * and the formats `inventory` prints. Nothing in it is secret: ARNs,
 * names, serials, dates, tags.
 */

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "config/h2a_config.h"
#include "h2a_common.h"

#define H2A_INV_SCHEMA_VERSION 1

typedef struct h2a_inventory H2A_INVENTORY;

/* One certificate; strings are owned by whoever filled it. */
typedef struct {
    char *arn, *account, *region, *type, *status, *domain, *key_algorithm;
    char *serial, *issuer, *renewal_eligibility;
    char *sans;       /* JSON array text */
    char *in_use_by;  /* JSON array text */
    char *tags;       /* JSON object text {key: value} */
    long long not_before, not_after; /* Unix seconds; 0 unknown */
    bool managed;
    long long first_seen, last_seen;
} h2a_inv_cert;

void h2a_inv_cert_clear(h2a_inv_cert *c);

h2a_err h2a_inventory_open(const char *state_dir, H2A_INVENTORY **out) H2A_MUST_USE;
/*
 * For readers (`renew --dry-run`, `inventory`): read-only, so neither the
 * schema nor a WAL checkpoint is written, and nothing is synced to disk.
 * *out is NULL (and H2A_OK) when discover has not written an inventory yet.
 */
h2a_err h2a_inventory_open_read(const char *state_dir, H2A_INVENTORY **out) H2A_MUST_USE;
void h2a_inventory_close(H2A_INVENTORY *inv);

/* One discovery run writes in one transaction: all of it or nothing. */
h2a_err h2a_inventory_begin(H2A_INVENTORY *inv) H2A_MUST_USE;
h2a_err h2a_inventory_commit(H2A_INVENTORY *inv) H2A_MUST_USE;
void h2a_inventory_rollback(H2A_INVENTORY *inv);

/*
 * Record `c` as seen at `now`. *is_new: never seen before (or seen again
 * after it was gone); *changed: serial, status or in-use changed (each
 * change is kept in the changes table).
 */
h2a_err h2a_inventory_record(H2A_INVENTORY *inv, const h2a_inv_cert *c, long long now,
                             bool *is_new, bool *changed) H2A_MUST_USE;
/*
 * Certificates of `account`/`region` present before but not seen since
 * `run_start` are marked gone (last_seen stays when they were last seen);
 * their ARNs are appended to `gone`. Only called for parts that answered.
 */
h2a_err h2a_inventory_sweep(H2A_INVENTORY *inv, const char *account, const char *region,
                            long long run_start, long long now,
                            json_object *gone) H2A_MUST_USE;
/* The run's summary line, kept for history. */
h2a_err h2a_inventory_run(H2A_INVENTORY *inv, long long started, long long finished,
                          const char *summary_json) H2A_MUST_USE;

struct h2a_inv_filter {
    long long expiring_before;  /* 0: any; else not_after < this */
    const char *account;
    const char *region;
    const char *status;
    int managed;                /* -1 any, 0 unmanaged, 1 managed */
};
/* Present (not gone) certificates matching `f`, sorted by not_after then ARN. */
h2a_err h2a_inventory_query(H2A_INVENTORY *inv, const struct h2a_inv_filter *f,
                            h2a_inv_cert **out, size_t *n_out) H2A_MUST_USE;
void h2a_inv_certs_free(h2a_inv_cert *v, size_t n);

typedef enum {
    H2A_INV_TABLE, H2A_INV_JSON, H2A_INV_CSV, H2A_INV_PROMETHEUS
} h2a_inv_format;
bool h2a_inv_format_parse(const char *s, h2a_inv_format *out);
/* Write `v` in `fmt`; `now` marks expired / soon-expiring rows in the table. */
h2a_err h2a_inv_write(FILE *f, h2a_inv_format fmt, const h2a_inv_cert *v, size_t n,
                      long long now) H2A_MUST_USE;
/* The node_exporter textfile format (prometheus.c). */
h2a_err h2a_inv_prometheus(FILE *f, const h2a_inv_cert *v, size_t n) H2A_MUST_USE;
/* RFC 3339 UTC ("2026-01-01T00:00:00Z") into buf (>= 21 bytes); "" for 0. */
const char *h2a_inv_time(long long t, char *buf, size_t n);

/* Discovery (walk.c): walk the scope, save, print the summary. */
/* Threads of one discovery run (each walks one account x region at a time). */
#define H2A_DISCOVER_MAX_WORKERS 64

struct h2a_discover_opts {
    const h2a_config *cfg;
    const char *const *accounts;  /* --account: only these (NULL-terminated) */
    const char *const *regions;   /* --region: instead of scope.regions */
    int workers;                  /* 0: default; at most H2A_DISCOVER_MAX_WORKERS */
    bool progress;                /* progress line on stderr */
};
/*
 * H2A_OK when every part answered; H2A_ERR_AWS (exit 5) when some part
 * failed and the rest was saved; *summary is the JSON summary either way
 * (NULL only for errors before any walking).
 */
h2a_err h2a_discover(const struct h2a_discover_opts *o, json_object **summary) H2A_MUST_USE;
