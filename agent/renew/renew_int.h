/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Shared by the renew, rollback and status drivers of agent/renew/. */

#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"
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
    long long due;
    h2a_due_rule why;
    h2a_renew_times times;
    char new_id[96];
} h2a_renew_cand;

void h2a_renew_cand_free(h2a_renew_cand *c);
h2a_err h2a_renew_cand_for_arn(H2A_JOURNAL *j, const char *arn, h2a_renew_cand *c,
                               bool *found) H2A_MUST_USE;
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
/* Up to a group of renewals through the engine; one line each in `out`; the worst code. */
int h2a_renew_group(const h2a_config *cfg, H2A_WORKER *w, h2a_renew_cand **cs, size_t n,
                    h2a_buf *out);
/* The same over `jobs` worker processes, lines in input order (jobs.c). */
h2a_err h2a_renew_jobs(const h2a_config *cfg, h2a_renew_cand **todo, size_t n, long jobs,
                       h2a_buf *out, int *worst) H2A_MUST_USE;
