/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "enroll/enroll_int.h"

/*
 * A renewal group's reads of its ARNs, side by side. Validate must know
 * what each ARN holds before the token is touched, and a renewal is one
 * call longer than an enrollment for it; made one after another, eight
 * renewals wait eight round trips before their first key. Here the group's
 * DescribeCertificate calls go out together, each thread on a connection
 * of its own that the worker keeps for its next groups, and validate then
 * judges each answer exactly as if it had asked itself (s_described in
 * steps.c; the answer's age counts from when it was sent). Only renewals:
 * hsm2acm derived them from requests it had authorized and delivered, so
 * no ARN is read for a request the policy has not passed before. Anything
 * that goes wrong here is dropped: validate asks again and reports it.
 */

struct s_job {
    h2a_run *r;
    size_t i;
};

struct s_ahead {
    struct s_job job[H2A_ENROLL_GROUP_MAX * H2A_REQUEST_MAX_TARGETS];
    size_t n;
    size_t next; /* under lock */
    pthread_mutex_t lock;
};

struct s_thread {
    struct s_ahead *a;
    H2A_AWS_CTX *ctx;
};

static void s_describe(H2A_AWS_CTX *ctx, const struct s_job *j)
{
    const h2a_target *t = &j->r->item->req->targets[j->i];
    json_object *detail = NULL;
    long long sent = h2a_enroll_now_ms();

    if (h2a_acm_describe_certificate(ctx, t->region, t->certificate_arn, &detail) == H2A_OK &&
        h2a_enroll_usage_from_describe(detail, &j->r->ahead[j->i]) == H2A_OK) {
        j->r->ahead_at[j->i] = sent > 0 ? sent : 1;
    } else {
        h2a_cert_usage_cleanup(&j->r->ahead[j->i]);
    }
    json_object_put(detail);
    h2a_err_clear();
}

static void *s_thread_main(void *arg)
{
    struct s_thread *th = arg;

    for (;;) {
        size_t k;

        pthread_mutex_lock(&th->a->lock);
        k = th->a->next++;
        pthread_mutex_unlock(&th->a->lock);
        if (k >= th->a->n) {
            return NULL;
        }
        s_describe(th->ctx, &th->a->job[k]);
    }
}

/* A reimport target of a renewal in the worker's own account (no AssumeRole to make first). */
static bool s_wanted(const H2A_WORKER *w, const h2a_request *q, size_t i)
{
    const h2a_target *t = &q->targets[i];

    if (q->reason == NULL || strcmp(q->reason, "renew") != 0 || t->certificate_arn == NULL) {
        return false;
    }
    return t->account == NULL || (w->have_id && strcmp(t->account, w->id.account) == 0);
}

static size_t s_jobs(H2A_WORKER *w, h2a_run **runs, size_t n, struct s_ahead *a)
{
    a->n = 0;
    for (size_t k = 0; k < n; k++) {
        const h2a_request *q = runs[k]->item->req;

        for (size_t i = 0; q != NULL && i < q->n_targets; i++) {
            if (s_wanted(w, q, i)) {
                a->job[a->n++] = (struct s_job){runs[k], i};
            }
        }
    }
    return a->n;
}

/* The worker's connections for this, made the first time and kept. */
static size_t s_conns(H2A_WORKER *w, size_t want)
{
    size_t have = 0;

    while (have < want && have < H2A_AHEAD_CONNS) {
        if (w->ahead[have] == NULL && h2a_aws_ctx_clone(w->aws, &w->ahead[have]) != H2A_OK) {
            h2a_err_clear();
            break;
        }
        have++;
    }
    return have;
}

void h2a_enroll_describe_ahead(H2A_WORKER *w, h2a_run **runs, size_t n)
{
    struct s_ahead a;
    struct s_thread th[H2A_AHEAD_CONNS];
    pthread_t tid[H2A_AHEAD_CONNS];
    size_t conns, started = 0;

    /* One renewal has nothing to overlap with. */
    if (n < 2 || s_jobs(w, runs, n, &a) < 2 || h2a_enroll_aws_open(runs[0]) != H2A_OK) {
        h2a_err_clear();
        return;
    }
    conns = s_conns(w, a.n);
    a.next = 0;
    if (conns < 2 || pthread_mutex_init(&a.lock, NULL) != 0) {
        return;
    }
    for (size_t k = 0; k < conns; k++) {
        th[k] = (struct s_thread){&a, w->ahead[k]};
        if (pthread_create(&tid[k], NULL, s_thread_main, &th[k]) != 0) {
            break;
        }
        started++;
    }
    /* With no thread at all the jobs stay undone: validate makes them. */
    for (size_t k = 0; k < started; k++) {
        pthread_join(tid[k], NULL);
    }
    pthread_mutex_destroy(&a.lock);
}
