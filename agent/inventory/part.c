/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * One part of a discovery run: one account in one region. ACM's quotas
 * are per account and region, so each part has its own token bucket per
 * API; a bucket halves its rate whenever AWS throttled (the AWS layer's
 * retries show it) and creeps back up while calls go through.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/walk_int.h"

#define S_TAG_MARKER "hsm2acm:managed"
#define S_THROTTLE_TRIES 6

/* AWS's ACM quotas (requests per second, per account and region). */
enum { S_LIST, S_DESCRIBE, S_TAGS, S_APIS };
static const double s_rates[S_APIS] = {1.0, 10.0, 10.0};

struct s_bucket {
    double max, rate, tokens;
    double last; /* 0: no call yet */
};

struct s_part {
    struct h2a_walk *w;
    H2A_AWS_CTX *ctx;
    const char *account, *region;
    struct s_bucket b[S_APIS];
    long retries_seen;
};

static double s_min(double a, double b)
{
    return a < b ? a : b;
}

static double s_max(double a, double b)
{
    return a > b ? a : b;
}

static double s_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (s > 0 && nanosleep(&ts, &ts) != 0) {
    }
}

/*
 * Wait for a token. AWS's bucket for an API fills from the first call that
 * reaches it, so this one's clock starts at its first call too, not when
 * the part starts (a part spends 0.1-0.3 s on ListCertificates first: a
 * bucket started earlier let the describes run that far ahead of AWS's
 * and be throttled). It holds one token less than a second of calls, so
 * that calls bunched up by network jitter do not reach AWS faster than
 * its bucket refills.
 */
static void s_take(struct s_bucket *b)
{
    double t = s_now();

    if (b->last == 0) {
        b->last = t;
    }
    b->tokens = s_min(s_max(1.0, b->rate - 1.0), b->tokens + (t - b->last) * b->rate);
    b->last = t;
    if (b->tokens < 1.0) {
        s_sleep((1.0 - b->tokens) / b->rate);
        b->tokens = 1.0;
        b->last = s_now();
    }
    b->tokens -= 1.0;
}

static void s_adapt(struct s_part *p, struct s_bucket *b, bool throttled)
{
    struct h2a_aws_stats st;

    h2a_aws_ctx_stats(p->ctx, &st);
    if (throttled || st.retries > p->retries_seen) {
        b->rate = s_max(b->max / 16.0, b->rate / 2.0);
        b->tokens = 0;
    } else {
        b->rate = s_min(b->max, b->rate + b->max / 20.0);
    }
    p->retries_seen = st.retries;
}

static h2a_err s_call(struct s_part *p, int api, const char *arn, json_object **out)
{
    h2a_err rv = H2A_OK;

    for (int i = 0; i < S_THROTTLE_TRIES; i++) {
        s_take(&p->b[api]);
        if (api == S_LIST) {
            rv = h2a_acm_list_certificates(p->ctx, p->region,
                                           (const char *const *)p->w->sc->statuses, out);
        } else if (api == S_DESCRIBE) {
            rv = h2a_acm_describe_certificate(p->ctx, p->region, arn, out);
        } else {
            rv = h2a_acm_list_tags(p->ctx, p->region, arn, out);
        }
        bool throttled = rv != H2A_OK && h2a_aws_last_error_is(p->ctx, "ThrottlingException");
        s_adapt(p, &p->b[api], throttled);
        if (!throttled) {
            break;
        }
    }
    return rv;
}

static char *s_dup(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return strdup(json_object_get_string(v));
}

static char *s_dup_json(json_object *o, const char *key, const char *dflt)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
        return strdup(dflt);
    }
    return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
}

static long long s_epoch(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
        return 0;
    }
    return (long long)json_object_get_double(v);
}

/* Tags [{Key, Value}] as {Key: Value}; *managed if hsm2acm's marker is there. */
static char *s_tags(json_object *tags, bool *managed)
{
    json_object *m = json_object_new_object();
    char *out;

    for (size_t i = 0; tags != NULL && i < json_object_array_length(tags); i++) {
        json_object *t = json_object_array_get_idx(tags, i), *k = NULL, *v = NULL;
        json_object_object_get_ex(t, "Key", &k);
        json_object_object_get_ex(t, "Value", &v);
        if (k == NULL) {
            continue;
        }
        const char *val = v != NULL ? json_object_get_string(v) : "";
        json_object_object_add(m, json_object_get_string(k), json_object_new_string(val));
        if (strcmp(json_object_get_string(k), S_TAG_MARKER) == 0 && strcmp(val, "true") == 0) {
            *managed = true;
        }
    }
    out = strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(m);
    return out;
}

/* ACM's enum spelling even when AWS printed "EC-prime256v1" / "RSA-2048". */
static char *s_key_algorithm(json_object *d)
{
    char *k = s_dup(d, "KeyAlgorithm");
    char *dash = k != NULL ? strchr(k, '-') : NULL;

    if (dash != NULL) {
        *dash = '_';
    }
    return k;
}

static void s_fill(struct s_part *p, json_object *d, json_object *tags, h2a_inv_cert *c)
{
    c->arn = s_dup(d, "CertificateArn");
    c->account = strdup(p->account);
    c->region = strdup(p->region);
    c->type = s_dup(d, "Type");
    c->status = s_dup(d, "Status");
    c->domain = s_dup(d, "DomainName");
    c->sans = s_dup_json(d, "SubjectAlternativeNames", "[]");
    c->key_algorithm = s_key_algorithm(d);
    c->serial = s_dup(d, "Serial");
    c->issuer = s_dup(d, "Issuer");
    c->not_before = s_epoch(d, "NotBefore");
    c->not_after = s_epoch(d, "NotAfter");
    c->in_use_by = s_dup_json(d, "InUseBy", "[]");
    c->renewal_eligibility = s_dup(d, "RenewalEligibility");
    c->tags = s_tags(tags, &c->managed);
    if (!c->managed && c->arn != NULL && p->w->journal_arns != NULL) {
        c->managed = json_object_object_get_ex(p->w->journal_arns, c->arn, NULL);
    }
}

static h2a_err s_store(struct s_part *p, const h2a_inv_cert *c)
{
    struct h2a_walk *w = p->w;
    bool is_new = false, changed = false;
    h2a_err rv;

    pthread_mutex_lock(&w->mu);
    rv = h2a_inventory_record(w->inv, c, w->now, &is_new, &changed);
    if (rv == H2A_OK) {
        w->certificates++;
        if (is_new || changed) {
            json_object_array_add(is_new ? w->news : w->changed, json_object_new_string(c->arn));
        }
    } else if (w->store_error == H2A_OK) {
        w->store_error = rv;
    }
    pthread_mutex_unlock(&w->mu);
    return rv;
}

/* Expired certificates older than expired_within_days are history, not inventory. */
static bool s_wanted(struct s_part *p, json_object *summary)
{
    json_object *st = NULL;
    long long na = s_epoch(summary, "NotAfter");

    if (!json_object_object_get_ex(summary, "Status", &st) ||
        strcmp(json_object_get_string(st), "EXPIRED") != 0 || na == 0) {
        return true;
    }
    return na >= p->w->now - p->w->sc->expired_within_days * 86400LL;
}

static h2a_err s_one(struct s_part *p, const char *arn)
{
    json_object *d = NULL, *tags = NULL;
    h2a_inv_cert c;
    h2a_err rv;

    memset(&c, 0, sizeof(c));
    rv = s_call(p, S_DESCRIBE, arn, &d);
    if (rv == H2A_OK) {
        rv = s_call(p, S_TAGS, arn, &tags);
    }
    if (rv == H2A_OK) {
        s_fill(p, d, tags, &c);
        rv = c.arn != NULL && c.account != NULL && c.region != NULL && c.sans != NULL &&
                     c.in_use_by != NULL && c.tags != NULL
                 ? s_store(p, &c)
                 : h2a_err_set(H2A_ERR_AWS, "DescribeCertificate %s: incomplete reply", arn);
    }
    h2a_inv_cert_clear(&c);
    json_object_put(d);
    json_object_put(tags);
    return rv;
}

static h2a_err s_walk_region(struct s_part *p)
{
    json_object *list = NULL;
    h2a_err rv = s_call(p, S_LIST, NULL, &list);

    for (size_t i = 0; rv == H2A_OK && i < json_object_array_length(list); i++) {
        json_object *s = json_object_array_get_idx(list, i), *arn = NULL;
        if (!json_object_object_get_ex(s, "CertificateArn", &arn)) {
            rv = h2a_err_set(H2A_ERR_AWS, "ListCertificates: a summary without CertificateArn");
        } else if (s_wanted(p, s)) {
            rv = s_one(p, json_object_get_string(arn));
        }
    }
    json_object_put(list);
    return rv;
}

/*
 * The session of account a, assumed once per run with the thread's ctx
 * (other threads share it through h2a_aws_ctx_share_session, on their own
 * connections). At most a few AssumeRole calls at once (their replies are
 * held in the locked heap).
 */
static h2a_err s_assume(struct h2a_walk *w, H2A_AWS_CTX *tctx, struct h2a_walk_acct *a,
                        H2A_AWS_CTX **out)
{
    char role_arn[256], session[64];
    struct h2a_aws_assume_role ar;
    h2a_err rv;

    snprintf(role_arn, sizeof(role_arn), "arn:aws:iam::%s:role/%s", a->id, w->sc->role_name);
    snprintf(session, sizeof(session), "hsm2acm-discover-%s", a->id);
    memset(&ar, 0, sizeof(ar));
    ar.role_arn = role_arn;
    ar.session_name = session;
    ar.external_id = w->sc->external_id;
    ar.duration_seconds = 3600; /* role chaining allows no more */
    while (sem_wait(&w->assume_slots) != 0) {
    }
    rv = h2a_aws_ctx_assume_role(tctx, &ar, out);
    sem_post(&w->assume_slots);
    return rv;
}

static void s_report_account(struct h2a_walk *w, struct h2a_walk_acct *a, const char *region)
{
    pthread_mutex_lock(&w->mu);
    if (a->management && region == NULL) {
        H2A_LOG_INFO("discover: management account %s skipped: %s", a->id, h2a_err_msg());
    } else {
        h2a_walk_failure(w, a->id, region, h2a_err_msg());
    }
    pthread_mutex_unlock(&w->mu);
}

/*
 * The first part of an account finds out whether its role can be assumed:
 * if not, the account is one failure (region null), or silently skipped
 * for the management account, which is in scope only where the role exists.
 * The parts that wait for it on a->mu then share its session.
 * *actx: this part's ctx on the thread's connections (NULL: the thread's
 * own ctx, for the caller's account without a role).
 */
static bool s_account_ready(struct h2a_walk *w, H2A_AWS_CTX *tctx, struct h2a_walk_acct *a,
                            const char *region, H2A_AWS_CTX **actx)
{
    bool first = false;
    h2a_err rv = H2A_OK;

    *actx = NULL;
    pthread_mutex_lock(&a->mu);
    if (a->state == S_ACCT_UNKNOWN) {
        first = true;
        rv = w->sc->role_name != NULL ? s_assume(w, tctx, a, &a->session) : H2A_OK;
        a->state = rv == H2A_OK ? S_ACCT_OK : a->management ? S_ACCT_SKIPPED : S_ACCT_FAILED;
    }
    pthread_mutex_unlock(&a->mu);
    if (first && rv != H2A_OK) {
        s_report_account(w, a, NULL);
        return false;
    }
    if (a->state != S_ACCT_OK || a->session == NULL) {
        return a->state == S_ACCT_OK;
    }
    if (h2a_aws_ctx_share_session(tctx, a->session, actx) != H2A_OK) {
        s_report_account(w, a, region);
        return false;
    }
    return true;
}

bool h2a_walk_account_regions(struct h2a_walk *w, H2A_AWS_CTX *tctx, struct h2a_walk_acct *a)
{
    H2A_AWS_CTX *actx = NULL;
    h2a_err rv;

    if (!s_account_ready(w, tctx, a, NULL, &actx)) {
        return false;
    }
    /* The session's own region (aws.region): EC2 is regional, any enabled region answers. */
    rv = h2a_ec2_enabled_regions(actx != NULL ? actx : tctx, NULL, &a->regions);
    h2a_aws_ctx_free(actx);
    if (rv != H2A_OK) {
        pthread_mutex_lock(&a->mu);
        a->state = S_ACCT_FAILED;
        pthread_mutex_unlock(&a->mu);
        pthread_mutex_lock(&w->mu);
        h2a_walk_failure(w, a->id, NULL, h2a_err_msg());
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    return true;
}

void h2a_walk_part(struct h2a_walk *w, H2A_AWS_CTX *tctx, struct h2a_walk_acct *a,
                   const char *region)
{
    struct s_part p;
    H2A_AWS_CTX *actx = NULL;
    h2a_err rv;

    if (!s_account_ready(w, tctx, a, region, &actx)) {
        return;
    }
    memset(&p, 0, sizeof(p));
    p.w = w;
    p.ctx = actx != NULL ? actx : tctx;
    p.account = a->id;
    p.region = region;
    /* AWS's buckets start full, so a part may spend (almost) a second's burst at once. */
    for (int i = 0; i < S_APIS; i++) {
        p.b[i] = (struct s_bucket){s_rates[i], s_rates[i], s_max(1.0, s_rates[i] - 1.0), 0};
    }
    {
        struct h2a_aws_stats st;
        h2a_aws_ctx_stats(p.ctx, &st);
        p.retries_seen = st.retries;
    }
    rv = s_walk_region(&p);
    pthread_mutex_lock(&w->mu);
    if (rv == H2A_OK) {
        rv = h2a_inventory_sweep(w->inv, a->id, region, w->now, w->now, w->gone);
        if (rv != H2A_OK && w->store_error == H2A_OK) {
            w->store_error = rv;
        }
    } else {
        h2a_walk_failure(w, a->id, region, h2a_err_msg());
    }
    pthread_mutex_unlock(&w->mu);
    h2a_aws_ctx_free(actx);
}
