/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "aws/aws_internal.h"
#include "renew/renew_int.h"

/*
 * What the due time reads besides the journal: the ARI windows the ACME
 * issuer kept (<state_dir>/acme/ari-<certID>.json, docs/acme.md) and the
 * inventory discover wrote (docs/inventory.md). Both only read: a missing
 * file is no window and no inventory, never created here.
 */

static bool s_has_ari_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool any = false;

    while (d != NULL && !any && (e = readdir(d)) != NULL) {
        any = strncmp(e->d_name, "ari-", 4) == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return any;
}

static int s_by_arn(const void *a, const void *b)
{
    return strcmp(((const h2a_inv_cert *)a)->arn, ((const h2a_inv_cert *)b)->arn);
}

h2a_err h2a_renew_src_open(const h2a_config *cfg, const h2a_policy_lifecycle *l,
                           h2a_renew_src *s)
{
    struct h2a_inv_filter f = {0, NULL, NULL, NULL, -1};
    H2A_INVENTORY *inv = NULL;
    h2a_err rv;

    memset(s, 0, sizeof(*s));
    snprintf(s->ari_dir, sizeof(s->ari_dir), "%s/acme", cfg->state_dir);
    /* One directory read decides it: a fleet without ACME costs no per-certificate look. */
    s->ari = l->use_ari && s_has_ari_files(s->ari_dir);
    H2A_GUARD(h2a_inventory_open_read(cfg->state_dir, &inv));
    if (inv == NULL) {
        return H2A_OK;
    }
    rv = h2a_inventory_query(inv, &f, &s->inv, &s->ninv);
    h2a_inventory_close(inv);
    H2A_GUARD(rv);
    if (s->ninv > 0) {
        qsort(s->inv, s->ninv, sizeof(*s->inv), s_by_arn);
        s->inv_seen = calloc(s->ninv, sizeof(*s->inv_seen));
        if (s->inv_seen == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "renew");
        }
    }
    return H2A_OK;
}

void h2a_renew_src_close(h2a_renew_src *s)
{
    h2a_inv_certs_free(s->inv, s->ninv);
    free(s->inv_seen);
    memset(s, 0, sizeof(*s));
}

/* The window of the certificate with this certID, if the issuer kept one. */
static void s_ari_window(const h2a_renew_src *s, const char *ari_id, h2a_renew_times *t)
{
    json_object *o = NULL, *w = NULL, *start = NULL, *end = NULL;
    char path[4400];
    h2a_buf b;
    time_t ts = 0, te = 0;

    /* A certID is base64url and one dot; anything else names no file of ours. */
    if (ari_id == NULL || ari_id[0] == '\0' ||
        strspn(ari_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
            strlen(ari_id)) {
        return;
    }
    snprintf(path, sizeof(path), "%s/ari-%s.json", s->ari_dir, ari_id);
    h2a_buf_init(&b, 0);
    if (h2a_file_read(path, &b) == H2A_OK && h2a_buf_terminate(&b) == H2A_OK &&
        (o = json_tokener_parse((const char *)b.data)) != NULL &&
        json_object_object_get_ex(o, "suggestedWindow", &w) &&
        json_object_object_get_ex(w, "start", &start) &&
        json_object_object_get_ex(w, "end", &end) &&
        h2a_aws_parse_iso8601(json_object_get_string(start), &ts) == H2A_OK &&
        h2a_aws_parse_iso8601(json_object_get_string(end), &te) == H2A_OK && te >= ts) {
        t->ari_start = (long long)ts;
        t->ari_end = (long long)te;
    } else if (access(path, F_OK) == 0) {
        H2A_LOG_WARN("renew: %s is not an ARI window; due time without it", path);
    }
    h2a_err_clear();
    json_object_put(o);
    h2a_buf_free(&b);
}

void h2a_renew_src_apply(h2a_renew_src *s, h2a_renew_cand *c)
{
    h2a_inv_cert key = {0};
    h2a_inv_cert *hit;

    if (s->ari) {
        s_ari_window(s, c->jr->ari_id, &c->times);
    }
    if (s->ninv == 0) {
        return;
    }
    key.arn = c->arn;
    hit = bsearch(&key, s->inv, s->ninv, sizeof(*s->inv), s_by_arn);
    if (hit == NULL) {
        return;
    }
    s->inv_seen[hit - s->inv] = true;
    /* ACM was reimported outside hsm2acm since: its dates are the ones that expire. */
    if (hit->not_after > c->times.not_after) {
        c->times.not_after = hit->not_after;
        if (hit->not_before > 0) {
            c->times.not_before = hit->not_before;
        }
        c->from_inventory = true;
    }
}

h2a_err h2a_renew_src_unjournaled(const h2a_renew_src *s, h2a_buf *out)
{
    for (size_t i = 0; i < s->ninv; i++) {
        const h2a_inv_cert *c = &s->inv[i];
        json_object *o;
        char t[32];
        h2a_err rv;

        if (s->inv_seen[i] || !c->managed) {
            continue;
        }
        o = json_object_new_object();
        json_object_object_add(o, "arn", json_object_new_string(c->arn));
        json_object_object_add(o, "request_id", NULL);
        json_object_object_add(o, "serial", c->serial ? json_object_new_string(c->serial) : NULL);
        h2a_renew_iso(c->not_after, t);
        json_object_object_add(o, "not_after", c->not_after > 0 ? json_object_new_string(t) : NULL);
        json_object_object_add(o, "due", NULL);
        json_object_object_add(o, "why", json_object_new_string("not_in_journal"));
        json_object_object_add(o, "hint", json_object_new_string(
                                              "the inventory marks it managed by hsm2acm, but "
                                              "this journal has no generation of it: adopt it "
                                              "or resume it with the journal that made it"));
        rv = h2a_buf_printf(out, "%s\n", json_object_to_json_string_ext(
                                             o, JSON_C_TO_STRING_PLAIN |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        H2A_GUARD(rv);
    }
    return H2A_OK;
}
