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
 *    the last state reached and the error. So is an asynchronous issuer's
 *    wait that ran past its timeout (6): the request stays `submitted` and
 *    resume polls the same handle. A target whose import failed
 *    has its staging secret deleted again (best effort) and goes back to
 *    `issued`, so resume re-stages it (same ClientRequestToken, same value).
 *  - A staging secret that could not be deleted (AWS unreachable) is found
 *    by `resume`, or by `sweep` once its TTL has passed.
 */

#include "config/h2a_config.h"
#include "enroll/h2a_request.h"
#include <stdbool.h>

#include <json-c/json.h>

#include "h2a_common.h"

/*
 * A worker: what one process keeps for all the requests it runs (token
 * session and wrap key, AWS client and identity, journal, issuers' state).
 * `many`: more requests will follow (batch, queue, renewal run), so keygen
 * reads the token's label index at the first key. Freed with
 * h2a_worker_free (closes what it opened). `cfg` must outlive it.
 */
typedef struct h2a_worker H2A_WORKER;
h2a_err h2a_worker_new(const h2a_config *cfg, bool many, H2A_WORKER **out) H2A_MUST_USE;
void h2a_worker_free(H2A_WORKER *w);

/*
 * Run (or continue) an enrollment with a worker of its own. `req` is the
 * parsed request (enroll), or NULL with `resume_id` (resume: the request
 * comes from the journal). The result JSON is appended to `out` (NUL
 * terminated) on success.
 */
h2a_err h2a_enroll_run(const h2a_config *cfg, const h2a_request *req,
                       const char *resume_id, h2a_buf *out) H2A_MUST_USE;

/*
 * Several enrollments at once on one worker: the requests go through the
 * steps together, so that one fsync'd journal commit covers all their rows
 * before any of their keys is made, and one all their certificates before
 * any staging secret (group commit). Each item gets what h2a_enroll_run
 * would give it. Request ids must differ.
 */
#define H2A_ENROLL_GROUP_MAX 8
typedef struct {
    const h2a_request *req; /* the request; NULL to resume `resume_id` */
    const char *resume_id;
    h2a_err rv;             /* out */
    char error[1024];       /* out: the message when rv != H2A_OK */
    h2a_buf out;            /* out: the result JSON (caller inits and frees) */
} h2a_enroll_item;
void h2a_enroll_group(H2A_WORKER *w, h2a_enroll_item *items, size_t n);
/*
 * Start reading the ARNs these renewals reimport into (DescribeCertificate,
 * on threads of the worker), for a later h2a_enroll_group of them to take:
 * a renewal loop calls it for its next group, whose ARN locks it holds,
 * while the current group runs (agent/enroll/ahead.c). Never blocks.
 */
void h2a_enroll_read_ahead(H2A_WORKER *w, const h2a_request *const *reqs, size_t n);

/*
 * A batch: `lines[i]` is a request's JSON text, NULL for a line to skip.
 * `jobs` worker processes (each its own token login and AWS connections)
 * take lines i, i+jobs, ... in groups (h2a_enroll_group). results[i] gets
 * line i's result line (malloc'd; NULL for skipped lines): the result JSON,
 * or {"line", "id", "error", "exit_code"}. A caller that refused a line
 * itself passes it as NULL with results[i] already set (from
 * h2a_enroll_batch_error); it is kept and counts for the exit code. Returns
 * the process exit code of the first failing line (or of a worker that
 * died), 0 if none failed.
 */
int h2a_enroll_batch(const h2a_config *cfg, char *const *lines, size_t n, long jobs,
                     char **results);

/* Line `lineno`'s error result line for `rv` and h2a_err_msg() (malloc'd). */
char *h2a_enroll_batch_error(size_t lineno, const char *id, h2a_err rv);

/*
 * One renew, rollback or adopt per ARN at a time, across processes (they
 * run under different request ids, so the request lock does not keep them
 * apart): an OFD lock in the same file as the request lock, released when
 * *fd_out is closed or the process ends. Held by another: H2A_ERR_STATE.
 */
h2a_err h2a_enroll_lock_arn(const h2a_config *cfg, const char *arn, int *fd_out) H2A_MUST_USE;

/* Sweep: expired staging secrets, unknown token keys, failed deliveries. */
h2a_err h2a_enroll_sweep(const h2a_config *cfg, h2a_buf *out) H2A_MUST_USE;

/* The token key label reserved for a request id (<= 64 bytes). */
void h2a_enroll_key_label(const char *id, char out[65]);

/* What reimport compares, from a DescribeCertificate detail (verify.c; adopt and rollback too). */
h2a_err h2a_enroll_usage_from_describe(json_object *detail,
                                       h2a_cert_usage *out) H2A_MUST_USE;
