/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"
#include "journal/h2a_journal.h"
#include "renew/h2a_renew.h"
#include "renew/renew_int.h"

h2a_err h2a_renew_cert_times(const char *pem, h2a_renew_times *t)
{
    BIO *b = BIO_new_mem_buf(pem != NULL ? pem : "", -1);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    struct tm nb, na;
    h2a_err rv = H2A_OK;

    memset(t, 0, sizeof(*t));
    if (x == NULL || ASN1_TIME_to_tm(X509_get0_notBefore(x), &nb) != 1 ||
        ASN1_TIME_to_tm(X509_get0_notAfter(x), &na) != 1) {
        rv = h2a_err_set(H2A_ERR_STATE, "journal: a delivered certificate does not parse");
    } else {
        t->not_before = (long long)timegm(&nb);
        t->not_after = (long long)timegm(&na);
    }
    X509_free(x);
    BIO_free(b);
    return rv;
}

void h2a_renew_iso(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void h2a_renew_cand_free(h2a_renew_cand *c)
{
    h2a_jreq_free(c->jr);
    h2a_jtargets_free(c->jt, c->njt);
    free(c->arn);
    memset(c, 0, sizeof(*c));
}

/*
 * The id a derivation from `jr` runs under: the enrollment's id, then
 * ".g<N>" (".r<N>" for a rollback) with N the ARN's next generation. A
 * renewal's own id is cut back to its root first, so ids do not grow.
 */
h2a_err h2a_renew_derived_id(const h2a_jreq *jr, char kind, long long next, char *out,
                             size_t cap)
{
    size_t len = h2a_request_root_len(jr->id, jr->reason);

    snprintf(out, cap, "%.*s.%c%lld", (int)len, jr->id, kind, next);
    return h2a_request_id_check("renewal id", out);
}

/* A candidate from a current-generation row (which it takes over). */
void h2a_renew_cand_take(h2a_jcur *cur, h2a_renew_cand *c)
{
    memset(c, 0, sizeof(*c));
    c->arn = cur->arn;
    c->gen = cur->generation;
    c->jr = cur->req;
    c->times.not_after = cur->not_after;
    cur->arn = NULL;
    cur->req = NULL;
}

/* The candidate for the current generation of `arn` (none: *found false). */
h2a_err h2a_renew_cand_for_arn(H2A_JOURNAL *j, const char *arn, h2a_renew_cand *c,
                               bool *found)
{
    h2a_jcur *cur = NULL;
    size_t n = 0;

    memset(c, 0, sizeof(*c));
    *found = false;
    H2A_GUARD(h2a_journal_current(j, arn, &cur, &n));
    if (n > 0) {
        *found = true;
        h2a_renew_cand_take(&cur[0], c);
    }
    h2a_jcurs_free(cur, n);
    return H2A_OK;
}

/* The whole request row and its targets, for a candidate that is to run. */
h2a_err h2a_renew_cand_load(H2A_JOURNAL *j, h2a_renew_cand *c)
{
    h2a_jreq *r = NULL;
    h2a_jtarget *t = NULL;
    size_t n = 0;

    H2A_GUARD(h2a_journal_get(j, c->jr->id, &r, &t, &n));
    if (r == NULL) {
        return h2a_err_set(H2A_ERR_STATE, "journal: generation %lld of %s names request "
                           "'%s', which the journal does not hold", c->gen, c->arn, c->jr->id);
    }
    h2a_jreq_free(c->jr);
    h2a_jtargets_free(c->jt, c->njt);
    c->jr = r;
    c->jt = t;
    c->njt = n;
    return H2A_OK;
}

/*
 * The request a renewal runs: the current generation's canonical request
 * with the new id, every target reimporting into the ARN it was delivered
 * to, and the key type taken from there ("inherit": the ACM reimport rule
 * that the type may not change, checked by validate against ACM itself).
 */
h2a_err h2a_renew_derive(const h2a_renew_cand *c, const char *id, const char *reason,
                         h2a_request **out)
{
    h2a_request *q = NULL;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(h2a_request_parse(c->jr->body, strlen(c->jr->body), &q));
    free(q->id);
    q->id = strdup(id);
    rv = q->id == NULL ? h2a_err_set(H2A_ERR_NOMEM, "renew") : H2A_OK;
    for (size_t i = 0; rv == H2A_OK && i < q->n_targets; i++) {
        const char *arn = i < c->njt ? c->jt[i].imported_arn : NULL;

        if (arn == NULL) {
            rv = h2a_err_set(H2A_ERR_STATE, "request '%s' target %zu was never delivered: "
                             "resume it (hsm2acm resume %s) before renewing", c->jr->id, i,
                             c->jr->id);
            break;
        }
        free(q->targets[i].certificate_arn);
        q->targets[i].certificate_arn = strdup(arn);
        if (q->targets[i].certificate_arn == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "renew");
        }
    }
    if (rv != H2A_OK) {
        h2a_request_free(q);
        return rv;
    }
    q->inherit = true;
    q->key = H2A_KT_NONE;
    q->reason = reason;
    *out = q;
    return H2A_OK;
}

void h2a_renew_unlock(h2a_renew_locks *l)
{
    for (size_t i = 0; i < l->n; i++) {
        close(l->fd[i]);
    }
    free(l->fd);
    l->fd = NULL;
    l->n = 0;
}

/* Lock `a` unless this set holds it already (a second lock of one byte would refuse it). */
static h2a_err s_lock_one(const h2a_config *cfg, const char *a, const char **held,
                          h2a_renew_locks *l)
{
    if (a == NULL) {
        return H2A_OK;
    }
    for (size_t k = 0; k < l->n; k++) {
        if (strcmp(held[k], a) == 0) {
            return H2A_OK;
        }
    }
    H2A_GUARD(h2a_enroll_lock_arn(cfg, a, &l->fd[l->n]));
    held[l->n++] = a;
    return H2A_OK;
}

/*
 * Every ARN the operation may write: those its request delivered to and
 * those it is to reimport into (a renewal's targets that are not delivered
 * yet have only the second).
 */
h2a_err h2a_renew_lock(const h2a_config *cfg, const char *arn, const h2a_renew_cand *c,
                       h2a_renew_locks *l)
{
    size_t cap = 1 + (c != NULL ? 2 * c->njt : 0);
    const char **held = calloc(cap, sizeof(*held));
    h2a_err rv;

    l->n = 0;
    l->fd = calloc(cap, sizeof(*l->fd));
    if (l->fd == NULL || held == NULL) {
        free(held);
        free(l->fd);
        l->fd = NULL;
        return h2a_err_set(H2A_ERR_NOMEM, "renew");
    }
    rv = s_lock_one(cfg, arn, held, l);
    for (size_t i = 0; rv == H2A_OK && c != NULL && i < c->njt; i++) {
        rv = s_lock_one(cfg, c->jt[i].imported_arn, held, l);
        if (rv == H2A_OK) {
            rv = s_lock_one(cfg, c->jt[i].certificate_arn, held, l);
        }
    }
    free(held);
    if (rv != H2A_OK) {
        h2a_renew_unlock(l);
    }
    return rv;
}
