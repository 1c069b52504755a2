/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>

#include "journal/h2a_journal.h"

/* The state machine and the row structs; journal.c stores them. */

static const char *const s_state_names[] = {
    [H2A_JS_NONE] = "none",
    [H2A_JS_VALIDATED] = "validated",
    [H2A_JS_KEY_GENERATED] = "key_generated",
    [H2A_JS_CSR_SIGNED] = "csr_signed",
    [H2A_JS_SUBMITTED] = "submitted",
    [H2A_JS_ISSUED] = "issued",
    [H2A_JS_STAGED] = "staged",
    [H2A_JS_IMPORTED] = "imported",
    [H2A_JS_CLEANED] = "cleaned",
    [H2A_JS_FAILED] = "failed",
};

const char *h2a_jstate_name(h2a_jstate s)
{
    if ((size_t)s >= sizeof(s_state_names) / sizeof(s_state_names[0])) {
        return "none";
    }
    return s_state_names[s];
}

h2a_jstate h2a_jstate_parse(const char *s)
{
    if (s == NULL) {
        return H2A_JS_NONE;
    }
    for (size_t i = 0; i < sizeof(s_state_names) / sizeof(s_state_names[0]); i++) {
        if (strcmp(s, s_state_names[i]) == 0) {
            return (h2a_jstate)i;
        }
    }
    return H2A_JS_NONE;
}

bool h2a_jstate_can_move(h2a_jrow row, h2a_jstate from, h2a_jstate to)
{
    if (from == H2A_JS_NONE || from == H2A_JS_FAILED || to == H2A_JS_NONE) {
        /* Only a new row starts at validated; failed rows move from resume_from. */
        return from == H2A_JS_NONE && to == H2A_JS_VALIDATED;
    }
    if (to == H2A_JS_FAILED) {
        return from != H2A_JS_CLEANED;
    }
    if (to == from) {
        return true;
    }
    switch (from) {
    case H2A_JS_CSR_SIGNED:
        /* An issuer that completes at once never leaves a handle to journal. */
        return to == H2A_JS_SUBMITTED || to == H2A_JS_ISSUED;
    case H2A_JS_ISSUED:
        return to == (row == H2A_JROW_REQUEST ? H2A_JS_CLEANED : H2A_JS_STAGED);
    case H2A_JS_STAGED:
    case H2A_JS_IMPORTED:
        return row == H2A_JROW_TARGET && to == from + 1;
    case H2A_JS_CLEANED:
        return false;
    default:
        return to == from + 1;
    }
}

/* Public strings whose names only look secret (lint checks free() names). */
static void s_drop(void *p)
{
    free(p);
}

h2a_err h2a_jset(char **field, const char *value)
{
    char *c = NULL;

    if (value != NULL) {
        c = strdup(value);
        if (c == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "journal");
        }
    }
    free(*field);
    *field = c;
    return H2A_OK;
}

void h2a_jreq_free(h2a_jreq *r)
{
    if (r == NULL) {
        return;
    }
    free(r->id);
    free(r->body_hash);
    free(r->body);
    free(r->requester);
    free(r->key_type);
    free(r->key_label);
    free(r->key_id);
    free(r->kcv);
    free(r->serial);
    free(r->not_after);
    s_drop(r->cert_pem);
    s_drop(r->chain_pem);
    free(r->error);
    free(r->failed_step);
    free(r->issuer_handle);
    free(r->reason);
    free(r->ari_id);
    free(r);
}

void h2a_jtargets_free(h2a_jtarget *t, size_t n)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(t[i].region);
        free(t[i].account);
        free(t[i].certificate_arn);
        s_drop(t[i].secret_name);
        s_drop(t[i].secret_arn);
        free(t[i].imported_arn);
        free(t[i].serial);
        free(t[i].error);
        free(t[i].timings);
    }
    free(t);
}
