/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * The audit log: one JSON line per enrollment step, appended to a file
 * (config audit.file, default <state_dir>/audit.log, mode 0600) and, if
 * configured, sent to syslog (LOG_AUTHPRIV). Lines carry identifiers only:
 * request id, requester, AWS caller identity, key id, KCV, ARN, serial,
 * step, outcome. Never a secret, a key, a PIN or a secret value.
 */

#include <stdbool.h>

#include "h2a_common.h"

typedef struct h2a_audit H2A_AUDIT;

typedef struct {
    const char *request_id;
    const char *requester;
    long target;            /* -1: the request as a whole */
    const char *region;
    const char *account;
    const char *caller;     /* AWS caller identity ARN */
    const char *key_id;
    const char *kcv;
    const char *arn;
    const char *secret;     /* staging secret name (not its value) */
    const char *serial;
    const char *step;
    const char *outcome;    /* "ok" | "failed" | "refused" | "skipped" ... */
    const char *detail;     /* error message, already free of secrets */
} h2a_audit_event;

h2a_err h2a_audit_open(const char *file, bool use_syslog,
                       H2A_AUDIT **out) H2A_MUST_USE;
void h2a_audit_close(H2A_AUDIT *a);
/*
 * Append one line. A write failure is returned (H2A_ERR_STATE): losing the
 * audit trail is not silently ignored. NULL `a` is a no-op.
 */
h2a_err h2a_audit_write(H2A_AUDIT *a, const h2a_audit_event *ev) H2A_MUST_USE;
