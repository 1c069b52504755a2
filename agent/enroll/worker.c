/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "enroll/enroll_int.h"

/*
 * The worker and what a run borrows from it: the token session and wrap
 * key, the AWS client with the configured identity, the journal, the
 * issuers' kept state. The lowest layer of agent/enroll: it calls no other
 * file of it (docs/architecture.md).
 */

h2a_err h2a_worker_new(const h2a_config *cfg, bool many, H2A_WORKER **out)
{
    H2A_WORKER *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "worker");
    }
    w->cfg = cfg;
    w->many = many;
    if (h2a_issuer_state_new(&w->issuers) != H2A_OK) {
        free(w);
        return H2A_ERR_NOMEM;
    }
    *out = w;
    return H2A_OK;
}

void h2a_worker_free(H2A_WORKER *w)
{
    if (w == NULL) {
        return;
    }
    /* CA keys are token objects of this session: they go before it. */
    h2a_issuer_state_free(w->issuers);
    h2a_p11_wrapkey_free(w->wrap);
    h2a_session_close(w->sess);
    h2a_token_close(w->tok);
    /* Its threads use clones of aws: they stop first. */
    if (w->ahead != NULL) {
        w->ahead_free(w->ahead);
    }
    h2a_aws_ctx_free(w->aws);
    h2a_journal_close(w->journal);
    free(w);
}

long long h2a_enroll_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Test-only fault points for the crash tests. HSM2ACM_TEST_CRASH_AT is a
 * comma-separated list of "<point>" or "<point>@<target index>"; the
 * process kills itself with SIGKILL there (no cleanup, like a power cut).
 * Points, each right AFTER the side effect and BEFORE it is journaled:
 * validate, keygen, csr, issue, stage, unwrap, import, cleanup.
 */
void h2a_enroll_crash_point(const char *point, long target)
{
    const char *env = h2a_test_hook_env("HSM2ACM_TEST_CRASH_AT");
    char buf[256], want[64];
    char *save = NULL;

    if (env == NULL || env[0] == '\0') {
        return;
    }
    snprintf(buf, sizeof(buf), "%s", env);
    snprintf(want, sizeof(want), "%s@%ld", point, target);
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, point) == 0 || (target >= 0 && strcmp(tok, want) == 0)) {
            H2A_LOG_WARN("HSM2ACM_TEST_CRASH_AT: crashing at %s", point);
            raise(SIGKILL);
        }
    }
}

void h2a_enroll_key_label(const char *id, char out[65])
{
    size_t n = strlen(id);

    if (n <= 60) {
        snprintf(out, 65, "h2a-%s", id);
    } else {
        /* Long ids: a prefix plus a hash keeps labels unique and <= 64. */
        uint8_t md[32];
        unsigned int mdn = 0;
        char hex[65];

        EVP_Digest(id, n, md, &mdn, EVP_sha256(), NULL);
        h2a_hex_encode(md, 8, hex);
        snprintf(out, 65, "h2a-%.43s-%.16s", id, hex);
    }
}

void h2a_enroll_audit(h2a_run *r, long target, const char *step, const char *outcome,
                      const char *arn, const char *secret, const char *detail)
{
    h2a_audit_event ev = {0};
    const h2a_target *t = NULL;
    const h2a_acct *a = NULL;

    if (r->audit == NULL) {
        return;
    }
    ev.request_id = r->req != NULL ? r->req->id : NULL;
    ev.requester = r->req != NULL ? r->req->requester : NULL;
    ev.target = target;
    if (target >= 0 && r->req != NULL && (size_t)target < r->req->n_targets) {
        t = &r->req->targets[target];
        ev.region = t->region;
        for (size_t i = 0; i < r->n_accts; i++) {
            const char *acc = r->accts[i].account;

            if ((acc == NULL && t->account == NULL) ||
                (acc != NULL && t->account != NULL && strcmp(acc, t->account) == 0)) {
                a = &r->accts[i];
            }
        }
    } else if (r->n_accts > 0) {
        a = &r->accts[0];
    }
    if (a != NULL && a->have_id) {
        ev.account = a->id.account;
        ev.caller = a->id.arn;
    }
    ev.key_id = r->key_id[0] != '\0' ? r->key_id : NULL;
    ev.kcv = r->kcv[0] != '\0' ? r->kcv : NULL;
    ev.arn = arn;
    ev.secret = secret;
    ev.serial = r->jr != NULL ? r->jr->serial : NULL;
    ev.step = step;
    ev.outcome = outcome;
    ev.detail = detail;
    if (h2a_audit_write(r->audit, &ev) != H2A_OK) {
        H2A_LOG_ERR("audit: %s", h2a_err_msg());
    }
}


/*
 * One journal connection for all the worker's requests: closing the last
 * connection checkpoints and removes the WAL, which costs fsyncs per request.
 */
h2a_err h2a_enroll_journal_open(h2a_run *r)
{
    if (r->w->journal == NULL) {
        H2A_GUARD(h2a_journal_open(r->w->cfg->state_dir, &r->w->journal));
    }
    r->journal = r->w->journal;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* AWS contexts and identities                                         */
/* ------------------------------------------------------------------ */

/* The worker's client: its connections and identity serve every request. */
h2a_err h2a_worker_aws_open(H2A_WORKER *w)
{
    struct h2a_aws_config ac = {0};

    if (w->aws == NULL) {
        h2a_config_aws(&w->cfg->aws, &ac);
        H2A_GUARD(h2a_aws_ctx_new(&ac, &w->aws));
        /* Refused before any key exists: the keys travel to these two. */
        if (h2a_aws_ctx_require_https(w->aws, H2A_AWS_SVC_SECRETS_MANAGER, "staging") !=
                H2A_OK ||
            h2a_aws_ctx_require_https(w->aws, H2A_AWS_SVC_ACM, "ImportCertificate") != H2A_OK) {
            h2a_aws_ctx_free(w->aws);
            w->aws = NULL;
            return H2A_ERR_USAGE;
        }
    }
    return H2A_OK;
}

h2a_err h2a_enroll_aws_open(h2a_run *r)
{
    H2A_GUARD(h2a_worker_aws_open(r->w));
    r->aws = r->w->aws;
    return H2A_OK;
}

static const char *s_partition(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0) {
        return "aws-cn";
    }
    if (strncmp(region, "us-gov-", 7) == 0) {
        return "aws-us-gov";
    }
    return "aws";
}

static h2a_err s_identity(h2a_acct *a, const char *region)
{
    if (a->have_id) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_sts_get_caller_identity(a->ctx, region, &a->id));
    a->have_id = true;
    return H2A_OK;
}

/*
 * Accounts reached by assume-role stay with the run, not the worker: the
 * role session is named after the request (CloudTrail shows which request
 * acted in the target account).
 */
h2a_err h2a_enroll_acct(h2a_run *r, const char *account, const char *region,
                        h2a_acct **out)
{
    h2a_acct *base, *a;
    char role_arn[256], session[65];
    struct h2a_aws_assume_role ar = {0};

    *out = NULL;
    H2A_GUARD(h2a_enroll_aws_open(r));
    if (r->n_accts == 0) {
        r->accts[0].ctx = r->aws;
        r->n_accts = 1;
        if (r->w->have_id) {
            r->accts[0].id = r->w->id;
            r->accts[0].have_id = true;
        }
    }
    base = &r->accts[0];
    H2A_GUARD(s_identity(base, region));
    if (!r->w->have_id) {
        /* The worker's next request skips GetCallerIdentity. */
        r->w->id = base->id;
        r->w->have_id = true;
    }
    if (account == NULL || strcmp(account, base->id.account) == 0) {
        *out = base;
        return H2A_OK;
    }
    for (size_t i = 1; i < r->n_accts; i++) {
        if (strcmp(r->accts[i].account, account) == 0) {
            *out = &r->accts[i];
            return H2A_OK;
        }
    }
    if (r->cfg->aws.role_name == NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "aws.role_name: needed to reach account %s (the configured "
                           "credentials are account %s)", account, base->id.account);
    }
    if (r->n_accts >= sizeof(r->accts) / sizeof(r->accts[0])) {
        return h2a_err_set(H2A_ERR_INTERNAL, "too many accounts");
    }
    a = &r->accts[r->n_accts];
    a->account = strdup(account);
    if (a->account == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "account");
    }
    r->n_accts++;
    snprintf(role_arn, sizeof(role_arn), "arn:%s:iam::%s:role/%s", s_partition(region),
             account, r->cfg->aws.role_name);
    snprintf(session, sizeof(session), "hsm2acm-%.56s", r->req != NULL ? r->req->id : "sweep");
    ar.role_arn = role_arn;
    ar.session_name = session;
    ar.external_id = r->cfg->aws.external_id;
    ar.region = region;
    H2A_GUARD(h2a_aws_ctx_assume_role(r->aws, &ar, &a->ctx));
    a->own = true;
    H2A_GUARD(s_identity(a, region));
    if (strcmp(a->id.account, account) != 0) {
        return h2a_err_set(H2A_ERR_AWS, "assumed %s but STS says account %s", role_arn,
                           a->id.account);
    }
    *out = a;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Token                                                               */
/* ------------------------------------------------------------------ */

/* The worker's token: one C_Initialize, login and wrap key lookup for all. */
h2a_err h2a_enroll_token_open(h2a_run *r)
{
    H2A_WORKER *w = r->w;

    if (w->wrap == NULL) {
        if (w->tok == NULL) {
            H2A_GUARD(h2a_token_open(w->cfg->token, &w->tok));
        }
        if (w->sess == NULL) {
            H2A_GUARD(h2a_session_open(w->tok, &w->sess));
        }
        H2A_GUARD(h2a_p11_provider_load(NULL));
        h2a_err rv = h2a_keygen_preflight(w->sess, H2A_KT_NONE, NULL);

        if (rv != H2A_OK) {
            return rv;
        }
        rv = h2a_p11_wrapkey_find(w->sess, w->cfg->wrap_key, &w->wrap);

        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "wrap_key '%s' (make it with 'hsm2acm wrapkey "
                                      "create'): ", w->cfg->wrap_key);
        }
        rv = h2a_p11_wrapkey_kcv(w->wrap, w->kcv);
        if (rv != H2A_OK) {
            h2a_p11_wrapkey_free(w->wrap);
            w->wrap = NULL;
            return rv;
        }
    }
    r->tok = w->tok;
    r->sess = w->sess;
    r->wrap = w->wrap;
    memcpy(r->kcv, w->kcv, sizeof(r->kcv));
    return H2A_OK;
}

/*
 * One enrollment per request id at a time, across processes: an OFD write
 * lock on one byte of state_dir/requests.lock, at an offset taken from the
 * id's SHA-256 (62 bits: two ids share a byte with odds of 2^-62 per pair,
 * and then the later one is refused as busy). One file for every id: a lock
 * file per id grew the state directory by a file per request for ever, and
 * making the file (a new inode) cost more than the rest of the lock.
 * *busy: another open file description holds that byte.
 */
static h2a_err s_lock(const h2a_config *cfg, const char *key, int *fd_out, bool *busy)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    uint64_t slot = 0;
    struct flock fl;
    char path[4300];
    int fd;

    *busy = false;
    if (EVP_Digest(key, strlen(key), md, &mdn, EVP_sha256(), NULL) != 1) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, "request lock");
    }
    for (int i = 0; i < 8; i++) {
        slot = (slot << 8) | md[i];
    }
    snprintf(path, sizeof(path), "%s/requests.lock", cfg->state_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return h2a_err_set(H2A_ERR_STATE, "%s: %s", path, strerror(errno));
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)(slot >> 2);
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;

        close(fd);
        *busy = e == EAGAIN || e == EACCES;
        return h2a_err_set(H2A_ERR_STATE, "%s: lock: %s", path, strerror(e));
    }
    *fd_out = fd;
    return H2A_OK;
}

h2a_err h2a_enroll_lock(const h2a_config *cfg, const char *id, int *fd_out)
{
    bool busy = false;
    h2a_err rv = s_lock(cfg, id, fd_out, &busy);

    if (busy) {
        return h2a_err_set(H2A_ERR_STATE, "request '%s' is being worked on by another "
                           "hsm2acm process (lock in %s/requests.lock)", id, cfg->state_dir);
    }
    return rv;
}

/*
 * The ARN's byte is keyed "arn\n<ARN>": a request id cannot hold a newline,
 * so no id shares it but by the hash odds above.
 */
h2a_err h2a_enroll_lock_arn(const h2a_config *cfg, const char *arn, int *fd_out)
{
    char key[2100];
    bool busy = false;
    h2a_err rv;

    if ((size_t)snprintf(key, sizeof(key), "arn\n%s", arn) >= sizeof(key)) {
        return h2a_err_set(H2A_ERR_INPUT, "ARN %.64s...: too long", arn);
    }
    rv = s_lock(cfg, key, fd_out, &busy);
    if (busy) {
        return h2a_err_set(H2A_ERR_STATE, "%s is being renewed, rolled back or adopted by "
                           "another hsm2acm process (lock in %s/requests.lock)", arn,
                           cfg->state_dir);
    }
    return rv;
}

/*
 * The crash point comes once the secret is gone but before the journal
 * says so: the state a resume must cope with (a forced DeleteSecret of a
 * missing secret succeeds).
 */
h2a_err h2a_enroll_delete_secret(h2a_acct *a, const char *region, const char *id,
                               const char *crash_point, long idx)
{
    H2A_GUARD(h2a_sm_delete_secret_and_wait(a->ctx, region, id));
    if (crash_point != NULL) {
        h2a_enroll_crash_point(crash_point, idx);
    }
    return H2A_OK;
}
