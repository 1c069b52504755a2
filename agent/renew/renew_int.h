/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Shared by the renew, rollback and status drivers of agent/renew/. */

#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"
#include "inventory/h2a_inventory.h"
#include "journal/h2a_journal.h"
#include "renew/h2a_renew.h"

/* The current generation of an ARN and the request that delivered it. */
typedef struct {
    char *arn;
    long long gen;
    h2a_jreq *jr;
    h2a_jtarget *jt;
    size_t njt;
    bool named;  /* asked for by --arn/--id: renewed even if not due */
    bool resume; /* its own renewal was interrupted after the import: finish that */
    bool from_inventory; /* times are the inventory's: ACM holds a later certificate */
    long long due;
    h2a_due_rule why;
    h2a_renew_times times;
    char new_id[96];
} h2a_renew_cand;

void h2a_renew_cand_free(h2a_renew_cand *c);

/* What the due time reads besides the journal (sources.c). */
typedef struct {
    char ari_dir[4200];
    bool ari;              /* use_ari and the ACME issuer kept windows */
    h2a_inv_cert *inv;     /* the inventory's present certificates, by ARN */
    size_t ninv;
    bool *inv_seen;        /* matched by a journal generation */
} h2a_renew_src;
h2a_err h2a_renew_src_open(const h2a_config *cfg, const h2a_policy_lifecycle *l,
                           h2a_renew_src *s) H2A_MUST_USE;
void h2a_renew_src_close(h2a_renew_src *s);
/* The ARI window, and the inventory's dates when they are later than the journal's. */
void h2a_renew_src_apply(h2a_renew_src *s, h2a_renew_cand *c);
/* Dry-run lines for what the inventory marks managed and no generation matched. */
h2a_err h2a_renew_src_unjournaled(const h2a_renew_src *s, h2a_buf *out) H2A_MUST_USE;
/*
 * A candidate's jr holds only what the due time needs (h2a_journal_current);
 * h2a_renew_cand_load reads the whole row and its targets before it runs.
 */
void h2a_renew_cand_take(h2a_jcur *cur, h2a_renew_cand *c);
h2a_err h2a_renew_cand_for_arn(H2A_JOURNAL *j, const char *arn, h2a_renew_cand *c,
                               bool *found) H2A_MUST_USE;
h2a_err h2a_renew_cand_load(H2A_JOURNAL *j, h2a_renew_cand *c) H2A_MUST_USE;
h2a_err h2a_renew_derived_id(const h2a_jreq *jr, char kind, long long next, char *out,
                             size_t cap) H2A_MUST_USE;
h2a_err h2a_renew_derive(const h2a_renew_cand *c, const char *id, const char *reason,
                         h2a_request **out) H2A_MUST_USE;
h2a_err h2a_renew_cert_times(const char *pem, h2a_renew_times *t) H2A_MUST_USE;
void h2a_renew_iso(long long t, char out[32]);
/* The configured policy's renewal and keys sections. */
h2a_err h2a_renew_lifecycle(const h2a_config *cfg, h2a_policy_lifecycle *l) H2A_MUST_USE;
/* The ARN locks (h2a_enroll_lock_arn) an operation holds. */
typedef struct {
    int *fd;
    size_t n;
} h2a_renew_locks;
/* Lock `arn` and every ARN candidate `c` (if any) imports into; all or none. */
h2a_err h2a_renew_lock(const h2a_config *cfg, const char *arn, const h2a_renew_cand *c,
                       h2a_renew_locks *l) H2A_MUST_USE;
void h2a_renew_unlock(h2a_renew_locks *l);
/*
 * Renewals through the engine in groups of H2A_ENROLL_GROUP_MAX, each group
 * locked and its ARN reads started while the one before it runs; after
 * each group, cb gets its result lines (one per renewal, cs[first] to
 * cs[first + k - 1], in order). Returns the worst exit code.
 */
typedef void (*h2a_renew_group_cb)(void *arg, size_t first, size_t k, const h2a_buf *lines);
int h2a_renew_groups(const h2a_config *cfg, H2A_WORKER *w, h2a_renew_cand **cs, size_t n,
                     h2a_renew_group_cb cb, void *arg);
/* The same over `jobs` worker processes, lines in input order (jobs.c). */
h2a_err h2a_renew_jobs(const h2a_config *cfg, h2a_renew_cand **todo, size_t n, long jobs,
                       h2a_buf *out, int *worst) H2A_MUST_USE;
