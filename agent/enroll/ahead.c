/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "enroll/enroll_int.h"

/*
 * Renewals' reads of their ARNs, made by a few threads of the worker beside
 * its other work. Validate must know what each ARN holds before the token
 * is touched, which makes a renewal one round trip longer than an
 * enrollment. Here a renewal loop queues the next group's ARNs (under their
 * locks) while the current group runs, and a group takes its answers just
 * before validate, which judges each exactly as if it had asked itself
 * (s_described in steps.c; its age counts from when it was sent, and an
 * answer older than H2A_REIMPORT_REUSE_MS is not taken). Only renewals:
 * hsm2acm derived them from requests it had authorized and delivered, so
 * no ARN is read for a request the policy has not passed before. A read
 * that fails here is made again by validate, which reports it.
 */

enum s_state { S_QUEUED, S_RUNNING, S_DONE, S_FAILED };

struct s_entry {
    char *region, *arn;
    enum s_state state;
    h2a_cert_usage u;
    long long sent;
};

struct h2a_ahead {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct s_entry **e; /* queued first come, first read */
    size_t n, cap;
    bool stop;
    pthread_t tid[H2A_AHEAD_CONNS];
    H2A_AWS_CTX *ctx[H2A_AHEAD_CONNS];
    size_t threads;
};

static void s_entry_free(struct s_entry *e)
{
    if (e != NULL) {
        h2a_cert_usage_cleanup(&e->u);
        free(e->region);
        free(e->arn);
        free(e);
    }
}

/* The first queued entry, taken (under mu); NULL when there is none. */
static struct s_entry *s_take_queued(struct h2a_ahead *a)
{
    for (size_t k = 0; k < a->n; k++) {
        if (a->e[k]->state == S_QUEUED) {
            a->e[k]->state = S_RUNNING;
            return a->e[k];
        }
    }
    return NULL;
}

static void s_read(H2A_AWS_CTX *ctx, struct s_entry *e, h2a_cert_usage *u, long long *sent)
{
    json_object *detail = NULL;

    *sent = h2a_enroll_now_ms();
    if (h2a_acm_describe_certificate(ctx, e->region, e->arn, &detail) != H2A_OK ||
        h2a_enroll_usage_from_describe(detail, u) != H2A_OK) {
        h2a_cert_usage_cleanup(u);
        *sent = 0;
    }
    json_object_put(detail);
    h2a_err_clear();
}

struct s_arg {
    struct h2a_ahead *a;
    H2A_AWS_CTX *ctx;
};

static void *s_thread_main(void *arg)
{
    struct s_arg *t = arg;
    struct h2a_ahead *a = t->a;
    H2A_AWS_CTX *ctx = t->ctx;

    free(t);
    pthread_mutex_lock(&a->mu);
    for (;;) {
        struct s_entry *e = s_take_queued(a);
        h2a_cert_usage u;
        long long sent;

        if (e == NULL) {
            if (a->stop) {
                break;
            }
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        /* The entry stays in place while RUNNING: only its reader's result changes it. */
        pthread_mutex_unlock(&a->mu);
        memset(&u, 0, sizeof(u));
        s_read(ctx, e, &u, &sent);
        pthread_mutex_lock(&a->mu);
        e->u = u;
        e->sent = sent;
        e->state = sent != 0 ? S_DONE : S_FAILED;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void s_pool_free(struct h2a_ahead *a)
{
    if (a == NULL) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    for (size_t k = 0; k < a->threads; k++) {
        pthread_join(a->tid[k], NULL);
    }
    for (size_t k = 0; k < H2A_AHEAD_CONNS; k++) {
        h2a_aws_ctx_free(a->ctx[k]);
    }
    for (size_t k = 0; k < a->n; k++) {
        s_entry_free(a->e[k]);
    }
    free(a->e);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* The worker's readers: made the first time, kept for its later groups. */
static struct h2a_ahead *s_pool(H2A_WORKER *w)
{
    struct h2a_ahead *a;

    if (w->ahead != NULL) {
        return w->ahead;
    }
    if (h2a_worker_aws_open(w) != H2A_OK || (a = calloc(1, sizeof(*a))) == NULL) {
        h2a_err_clear();
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (size_t k = 0; k < H2A_AHEAD_CONNS; k++) {
        struct s_arg *t = NULL;

        if (h2a_aws_ctx_clone(w->aws, &a->ctx[k]) != H2A_OK ||
            (t = malloc(sizeof(*t))) == NULL) {
            break;
        }
        *t = (struct s_arg){a, a->ctx[k]};
        if (pthread_create(&a->tid[k], NULL, s_thread_main, t) != 0) {
            free(t);
            break;
        }
        a->threads++;
    }
    h2a_err_clear();
    w->ahead = a;
    w->ahead_free = s_pool_free;
    return a;
}

/* Entry of (region, arn), under mu; its index in *at. */
static struct s_entry *s_find(struct h2a_ahead *a, const char *region, const char *arn,
                              size_t *at)
{
    for (size_t k = 0; k < a->n; k++) {
        if (strcmp(a->e[k]->arn, arn) == 0 && strcmp(a->e[k]->region, region) == 0) {
            *at = k;
            return a->e[k];
        }
    }
    return NULL;
}

/* Queue one read unless it is queued already (under mu). */
static void s_queue(struct h2a_ahead *a, const h2a_target *t)
{
    struct s_entry *e;
    size_t at;

    if (s_find(a, t->region, t->certificate_arn, &at) != NULL) {
        return;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        struct s_entry **ne = realloc(a->e, cap * sizeof(*ne));

        if (ne == NULL) {
            return;
        }
        a->e = ne;
        a->cap = cap;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->region = strdup(t->region)) == NULL ||
        (e->arn = strdup(t->certificate_arn)) == NULL) {
        s_entry_free(e);
        return;
    }
    a->e[a->n++] = e;
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

static size_t s_count(const H2A_WORKER *w, const h2a_request *const *reqs, size_t n)
{
    size_t wanted = 0;

    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; reqs[k] != NULL && i < reqs[k]->n_targets; i++) {
            wanted += s_wanted(w, reqs[k], i);
        }
    }
    return wanted;
}

void h2a_enroll_read_ahead(H2A_WORKER *w, const h2a_request *const *reqs, size_t n)
{
    size_t wanted = s_count(w, reqs, n);
    struct h2a_ahead *a;

    /* One read has nothing to overlap with: validate makes it on the worker's connection. */
    if (wanted == 0 || (w->ahead == NULL && wanted < 2) || (a = s_pool(w)) == NULL ||
        a->threads == 0) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; reqs[k] != NULL && i < reqs[k]->n_targets; i++) {
            if (s_wanted(w, reqs[k], i)) {
                s_queue(a, &reqs[k]->targets[i]);
            }
        }
    }
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

/* Wait for run r's target i's read and move its answer into the run (under mu). */
static void s_take(struct h2a_ahead *a, h2a_run *r, size_t i)
{
    const h2a_target *t = &r->item->req->targets[i];
    struct s_entry *e;
    size_t at;

    while ((e = s_find(a, t->region, t->certificate_arn, &at)) != NULL &&
           (e->state == S_QUEUED || e->state == S_RUNNING)) {
        pthread_cond_wait(&a->cv, &a->mu);
    }
    if (e == NULL) {
        return;
    }
    if (e->state == S_DONE && h2a_enroll_now_ms() - e->sent < H2A_REIMPORT_REUSE_MS) {
        r->ahead[i] = e->u;
        r->ahead_at[i] = e->sent > 0 ? e->sent : 1;
        memset(&e->u, 0, sizeof(e->u));
    }
    s_entry_free(e);
    /* Shifted, not swapped: the readers go first come, first read. */
    memmove(&a->e[at], &a->e[at + 1], (a->n - at - 1) * sizeof(*a->e));
    a->n--;
}

void h2a_enroll_describe_ahead(H2A_WORKER *w, h2a_run **runs, size_t n)
{
    const h2a_request *reqs[H2A_ENROLL_GROUP_MAX] = {NULL};
    struct h2a_ahead *a;

    n = n < H2A_ENROLL_GROUP_MAX ? n : H2A_ENROLL_GROUP_MAX;
    for (size_t k = 0; k < n; k++) {
        reqs[k] = runs[k]->item->req;
    }
    /* What no loop queued before (a group not from a renewal loop) goes now. */
    h2a_enroll_read_ahead(w, reqs, n);
    if ((a = w->ahead) == NULL) {
        return;
    }
    pthread_mutex_lock(&a->mu);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; reqs[k] != NULL && i < reqs[k]->n_targets; i++) {
            if (s_wanted(w, reqs[k], i)) {
                s_take(a, runs[k], i);
            }
        }
    }
    pthread_mutex_unlock(&a->mu);
}
