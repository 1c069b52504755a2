/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/* Shared between the discovery orchestration (walk.c) and one part (part.c). */

#include <pthread.h>
#include <semaphore.h>

#include "aws/h2a_aws.h"
#include "inventory/h2a_inventory.h"

enum { S_ACCT_UNKNOWN = 0, S_ACCT_OK, S_ACCT_FAILED, S_ACCT_SKIPPED };

struct h2a_walk_acct {
    char id[16];
    bool management;     /* skipped, not failed, when the role is not there */
    pthread_mutex_t mu;  /* the first part of the account decides its state */
    int state;
    json_object *regions;  /* scope.regions ["all"]: the account's enabled regions */
    /*
     * The role's session, made by the account's first part: every part of the
     * account signs with its credentials (refreshed before they expire) over
     * its own thread's connections, so an account costs one AssumeRole.
     */
    H2A_AWS_CTX *session;
};

/* One part: an account in one region. */
struct h2a_walk_item {
    struct h2a_walk_acct *a;
    const char *region;
};

struct h2a_walk {
    const struct h2a_discover_opts *o;
    const h2a_scope_conf *sc;
    H2A_AWS_CTX *base;           /* assumes the member roles (clone per thread) */
    char caller_account[16];
    struct h2a_walk_acct *accts;
    size_t n_accts;
    const char *const *regions;  /* NULL with ["all"]: each account's own */
    size_t n_regions;            /* distinct regions walked */
    struct h2a_walk_item *parts;
    size_t n_parts;
    bool listing;                /* workers list accounts' regions, not walk parts */
    json_object *journal_arns;   /* set of ARNs the journal imported */
    long long now;
    sem_t assume_slots;          /* AssumeRole calls at once (their replies are secure memory) */
    pthread_mutex_t mu;          /* everything below */
    size_t next;                 /* next part (or account, when listing) */
    size_t done;
    long certificates;
    H2A_INVENTORY *inv;
    json_object *news, *changed, *gone, *failures;
    h2a_err store_error;
};

/* Walk one account + region on this thread's ctx; results go into w. */
void h2a_walk_part(struct h2a_walk *w, H2A_AWS_CTX *thread_ctx, struct h2a_walk_acct *a,
                   const char *region);
/* ["all"]: a->regions from EC2 on the account's session; false (reported) if not. */
bool h2a_walk_account_regions(struct h2a_walk *w, H2A_AWS_CTX *thread_ctx,
                              struct h2a_walk_acct *a);
/* Add {"account","region"|null,"error"} to w->failures (lock held by the caller). */
void h2a_walk_failure(struct h2a_walk *w, const char *account, const char *region,
                      const char *error);
