/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Enrollment: request → key in the token → CSR → certificate → wrapped
 * staging in Secrets Manager → ImportCertificate → clean up; each step
 * journaled before the next starts (docs/enroll.md).
 *
 * Failure rule (what is left behind):
 *  - Refusals and failures that a retry cannot fix, before anything was
 *    staged: bad input (2), policy (3), issuer (6), verification (7). The
 *    key made for the request is destroyed, the request is journaled
 *    FAILED, and running the same request again starts over.
 *  - Everything else (token 4, AWS 5, state 8, internal 1, a crash) is
 *    meant to be finished by `resume`: the key is kept, the journal keeps
 *    the last state reached and the error. A target whose import failed
 *    has its staging secret deleted again (best effort) and goes back to
 *    `issued`, so resume re-stages it (same ClientRequestToken, same value).
 *  - A staging secret that could not be deleted (AWS unreachable) is found
 *    by `resume`, or by `sweep` once its TTL has passed.
 */

#include "config/h2a_config.h"
#include "enroll/h2a_request.h"
#include <stdbool.h>

#include "h2a_common.h"

/*
 * Run (or continue) an enrollment. `req` is the parsed request (enroll), or
 * NULL with `resume_id` (resume: the request comes from the journal).
 * The result JSON is appended to `out` (NUL terminated) on success.
 */
h2a_err h2a_enroll_run(const h2a_config *cfg, const h2a_request *req,
                       const char *resume_id, h2a_buf *out) H2A_MUST_USE;

/*
 * Several enrollments at once (batch workers; with h2a_enroll_keep_token):
 * the requests go through the steps phase by phase, so that one fsync'd
 * journal commit covers all their rows before any of their keys is made,
 * and one all their certificates before any staging secret (group commit).
 * Each item gets what h2a_enroll_run would give it. Request ids must differ.
 */
#define H2A_ENROLL_GROUP_MAX 8
typedef struct {
    const h2a_request *req; /* the request; NULL to resume `resume_id` */
    const char *resume_id;
    h2a_err rv;             /* out */
    char error[1024];       /* out: the message when rv != H2A_OK */
    h2a_buf out;            /* out: the result JSON (caller inits and frees) */
} h2a_enroll_item;
void h2a_enroll_group(const h2a_config *cfg, h2a_enroll_item *items, size_t n);

/* Sweep: expired staging secrets, unknown token keys, failed deliveries. */
h2a_err h2a_enroll_sweep(const h2a_config *cfg, h2a_buf *out) H2A_MUST_USE;

/*
 * Keep the token open across h2a_enroll_run calls in this process (batch
 * workers: one C_Initialize and login for all their requests); false
 * closes it.
 */
void h2a_enroll_keep_token(bool keep);

/* The token key label reserved for a request id (<= 64 bytes). */
void h2a_enroll_key_label(const char *id, char out[65]);
