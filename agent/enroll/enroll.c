/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "enroll/enroll_int.h"
#include "issuers/h2a_issuer.h"

/*
 * Batch workers keep one token (one C_Initialize and login) and one AWS
 * client (its connections and the caller identity) for all their requests.
 */
static bool s_keep_token;
static H2A_TOKEN *s_kept_token;
static H2A_SESSION *s_kept_sess;
static H2A_P11_SECRET *s_kept_wrap;
static char s_kept_kcv[7];
static H2A_AWS_CTX *s_kept_aws;
static H2A_JOURNAL *s_kept_journal;
static struct h2a_aws_identity s_kept_id;
static bool s_kept_have_id;

void h2a_enroll_keep_token(bool keep)
{
    s_keep_token = keep;
    h2a_issuer_local_cache(keep);
    if (!keep) {
        h2a_p11_wrapkey_free(s_kept_wrap);
        s_kept_wrap = NULL;
        h2a_session_close(s_kept_sess);
        s_kept_sess = NULL;
        h2a_token_close(s_kept_token);
        s_kept_token = NULL;
        h2a_aws_ctx_free(s_kept_aws);
        s_kept_aws = NULL;
        h2a_journal_close(s_kept_journal);
        s_kept_journal = NULL;
        s_kept_have_id = false;
    }
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
    const char *env = getenv("HSM2ACM_TEST_CRASH_AT");
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

/* ------------------------------------------------------------------ */
/* AWS contexts and identities                                         */
/* ------------------------------------------------------------------ */

h2a_err h2a_enroll_aws_open(h2a_run *r)
{
    struct h2a_aws_config ac = {0};
    const h2a_aws_conf *c = &r->cfg->aws;

    if (r->aws != NULL) {
        return H2A_OK;
    }
    if (s_keep_token && s_kept_aws != NULL) {
        r->aws = s_kept_aws;
        return H2A_OK;
    }
    ac.region = c->region;
    ac.profile = c->profile;
    ac.credentials_file = c->credentials_file;
    ac.ca_bundle = c->ca_bundle;
    ac.max_attempts = (int)c->max_attempts;
    ac.timeout_ms = (long)c->timeout_seconds * 1000L;
    ac.endpoint_url[H2A_AWS_SVC_ACM] = c->endpoint_acm;
    ac.endpoint_url[H2A_AWS_SVC_SECRETS_MANAGER] = c->endpoint_secretsmanager;
    ac.endpoint_url[H2A_AWS_SVC_STS] = c->endpoint_sts;
    H2A_GUARD(h2a_aws_ctx_new(&ac, &r->aws));
    if (s_keep_token) {
        /* Batch: the next request reuses the connections and the identity. */
        s_kept_aws = r->aws;
    }
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
        if (s_keep_token && s_kept_have_id && r->aws == s_kept_aws) {
            r->accts[0].id = s_kept_id;
            r->accts[0].have_id = true;
        }
    }
    base = &r->accts[0];
    H2A_GUARD(s_identity(base, region));
    if (s_keep_token && r->aws == s_kept_aws && !s_kept_have_id) {
        s_kept_id = base->id;
        s_kept_have_id = true;
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


h2a_err h2a_enroll_token_open(h2a_run *r)
{
    if (r->sess != NULL) {
        return H2A_OK;
    }
    if (s_keep_token && s_kept_sess != NULL && s_kept_wrap != NULL) {
        r->tok = s_kept_token;
        r->sess = s_kept_sess;
        r->wrap = s_kept_wrap;
        memcpy(r->kcv, s_kept_kcv, sizeof(r->kcv));
        return H2A_OK;
    }
    if (s_keep_token && s_kept_token != NULL) {
        r->tok = s_kept_token;
    } else {
        H2A_GUARD(h2a_token_open(r->cfg->token, &r->tok));
        if (s_keep_token) {
            s_kept_token = r->tok;
        }
    }
    H2A_GUARD(h2a_session_open(r->tok, &r->sess));
    H2A_GUARD(h2a_p11_provider_load(NULL));
    if (r->wrap == NULL) {
        h2a_err rv = h2a_keygen_preflight(r->sess, H2A_KT_NONE, NULL);

        if (rv != H2A_OK) {
            return rv;
        }
        rv = h2a_p11_wrapkey_find(r->sess, r->cfg->wrap_key, &r->wrap);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "wrap_key '%s' (make it with 'hsm2acm wrapkey "
                                      "create'): ", r->cfg->wrap_key);
        }
        H2A_GUARD(h2a_p11_wrapkey_kcv(r->wrap, r->kcv));
    }
    if (s_keep_token && r->tok == s_kept_token && s_kept_sess == NULL) {
        s_kept_sess = r->sess;
        s_kept_wrap = r->wrap;
        memcpy(s_kept_kcv, r->kcv, sizeof(s_kept_kcv));
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Step 1: validate, policy, reimport pre-checks, authorization        */
/* ------------------------------------------------------------------ */

static void s_csr_req(const h2a_run *r, struct h2a_csr_req *c)
{
    memset(c, 0, sizeof(*c));
    c->subject = r->req->subject;
    c->dns = (const char *const *)r->req->dns;
    c->n_dns = r->req->n_dns;
    c->ip = (const char *const *)r->req->ip;
    c->n_ip = r->req->n_ip;
    c->key_usage = r->req->key_usage != 0 ? r->req->key_usage
                                          : h2a_policy_csr_key_usage(r->policy, r->kt);
    c->ext_key_usage = r->req->ext_key_usage != 0 ? r->req->ext_key_usage
                                                  : h2a_policy_csr_ext_key_usage(r->policy);
    c->md_nid = r->req->md_nid;
}

static h2a_err s_policy_checks(h2a_run *r)
{
    const h2a_request *q = r->req;
    int md = q->md_nid != 0 ? q->md_nid : h2a_keytype_default_md_nid(r->kt);

    H2A_GUARD(h2a_policy_check_keytype(r->policy, r->kt));
    H2A_GUARD(h2a_policy_check_digest(r->policy, md));
    for (size_t i = 0; i < q->n_targets; i++) {
        h2a_err rv = h2a_policy_check_target(r->policy, r->kt, q->targets[i].region,
                                             h2a_service_name(q->targets[i].service));
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
    }
    return H2A_OK;
}

/* Checks that need neither AWS nor the token. */
static h2a_err s_validate_local(h2a_run *r)
{
    const h2a_request *q = r->req;
    struct h2a_csr_req c;

    if (h2a_config_issuer(r->cfg, q->issuer) == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "issuer: '%s' is not configured (config issuers)",
                           q->issuer);
    }
    s_csr_req(r, &c);
    H2A_GUARD(h2a_csr_validate(&c));
    H2A_GUARD(h2a_policy_check_names(r->policy, (const char *const *)q->dns, q->n_dns,
                                     (const char *const *)q->ip, q->n_ip));
    if (q->n_dns == 0) {
        return h2a_err_set(H2A_ERR_POLICY,
                           "dns: at least one DNS name is required (ACM needs a domain "
                           "name; a reimport cannot remove all of them)");
    }
    if (!q->inherit) {
        H2A_GUARD(s_policy_checks(r));
    }
    return H2A_OK;
}

/* Step 1, part that needs AWS: identities, authorization, DescribeCertificate. */
static h2a_err s_validate_aws(h2a_run *r)
{
    const h2a_request *q = r->req;
    h2a_keytype inherited = H2A_KT_NONE;
    size_t inherited_from = 0;

    for (size_t i = 0; i < q->n_targets; i++) {
        const h2a_target *t = &q->targets[i];
        h2a_acct *a = NULL;
        h2a_err rv = h2a_enroll_acct(r, t->account, t->region, &a);

        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
        rv = h2a_policy_check_authorization(r->policy, q->requester,
                                            (const char *const *)q->dns, q->n_dns,
                                            a->id.account);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
        if (h2a_jset(&r->jt[i].account, a->id.account) != H2A_OK) {
            return H2A_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < q->n_targets; i++) {
        const h2a_target *t = &q->targets[i];
        h2a_acct *a = NULL;
        json_object *detail = NULL;
        h2a_cert_usage cur = {0};
        h2a_keytype kt = H2A_KT_NONE;
        h2a_err rv;

        if (t->certificate_arn == NULL) {
            continue;
        }
        H2A_GUARD(h2a_enroll_acct(r, t->account, t->region, &a));
        rv = h2a_acm_describe_certificate(a->ctx, t->region, t->certificate_arn, &detail);
        if (rv == H2A_OK) {
            rv = h2a_enroll_usage_from_describe(detail, &cur);
        }
        if (rv == H2A_OK) {
            rv = h2a_reimport_check_describe(t->certificate_arn, &cur,
                                             q->inherit ? H2A_KT_NONE : r->kt, &kt);
        }
        json_object_put(detail);
        h2a_cert_usage_cleanup(&cur);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
        if (q->inherit) {
            if (inherited != H2A_KT_NONE && inherited != kt) {
                return h2a_err_set(H2A_ERR_POLICY,
                                   "key: 'inherit' is ambiguous: targets[%zu] is %s but "
                                   "targets[%zu] is %s", inherited_from,
                                   h2a_keytype_acm_name(inherited), i,
                                   h2a_keytype_acm_name(kt));
            }
            inherited = kt;
            inherited_from = i;
        }
    }
    if (q->inherit) {
        r->kt = inherited;
        H2A_GUARD(s_policy_checks(r));
    }
    return H2A_OK;
}

/*
 * Reimport pre-check before the token is touched: what the CSR asks for
 * against what DescribeCertificate says the ARN holds. Incompatible →
 * refuse, or (policy on_incompatible: new-arn) import under a new ARN.
 */
static h2a_err s_reimport_precheck(h2a_run *r)
{
    const h2a_request *q = r->req;
    struct h2a_csr_req c;

    s_csr_req(r, &c);
    for (size_t i = 0; i < q->n_targets; i++) {
        const h2a_target *t = &q->targets[i];
        h2a_acct *a = NULL;
        json_object *detail = NULL;
        h2a_cert_usage cur = {0}, next = {0};
        h2a_err rv;

        if (t->certificate_arn == NULL) {
            continue;
        }
        H2A_GUARD(h2a_enroll_acct(r, t->account, t->region, &a));
        rv = h2a_acm_describe_certificate(a->ctx, t->region, t->certificate_arn, &detail);
        if (rv == H2A_OK) {
            rv = h2a_enroll_usage_from_describe(detail, &cur);
        }
        if (rv == H2A_OK) {
            rv = h2a_cert_usage_from_request(r->policy, r->kt, (const char *const *)q->dns,
                                             q->n_dns, &next);
        }
        if (rv == H2A_OK) {
            next.has_ku = c.key_usage != 0;
            next.ku = c.key_usage;
            next.has_eku = c.ext_key_usage != 0;
            next.eku = c.ext_key_usage;
            rv = h2a_reimport_check_cert(t->certificate_arn, &cur, &next);
        }
        json_object_put(detail);
        h2a_cert_usage_cleanup(&cur);
        h2a_cert_usage_cleanup(&next);
        if (rv == H2A_ERR_POLICY &&
            h2a_policy_on_incompatible(r->policy) == H2A_ON_INCOMPATIBLE_NEW_ARN) {
            H2A_LOG_WARN("targets[%zu]: %s; policy on_incompatible=new-arn: importing "
                         "under a new ARN", i, h2a_err_msg());
            r->jt[i].new_arn = true;
            h2a_err_clear();
            continue;
        }
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Journal rows                                                        */
/* ------------------------------------------------------------------ */

static h2a_err s_new_rows(h2a_run *r)
{
    h2a_buf body;
    char label[65];
    h2a_err rv;

    r->jr = calloc(1, sizeof(*r->jr));
    r->jt = calloc(r->req->n_targets, sizeof(*r->jt));
    if (r->jr == NULL || r->jt == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "journal");
    }
    r->njt = r->req->n_targets;
    h2a_buf_init(&body, 0);
    rv = h2a_request_canonical(r->req, &body);
    h2a_enroll_key_label(r->req->id, label);
    if (rv == H2A_OK) {
        r->jr->state = H2A_JS_VALIDATED;
        if (h2a_jset(&r->jr->id, r->req->id) != H2A_OK ||
            h2a_jset(&r->jr->body_hash, r->hash) != H2A_OK ||
            h2a_jset(&r->jr->body, (const char *)body.data) != H2A_OK ||
            h2a_jset(&r->jr->requester, r->req->requester) != H2A_OK ||
            h2a_jset(&r->jr->key_label, label) != H2A_OK) {
            rv = H2A_ERR_NOMEM;
        }
    }
    for (size_t i = 0; rv == H2A_OK && i < r->njt; i++) {
        const h2a_target *t = &r->req->targets[i];

        r->jt[i].idx = i;
        r->jt[i].state = H2A_JS_VALIDATED;
        if (h2a_jset(&r->jt[i].region, t->region) != H2A_OK ||
            h2a_jset(&r->jt[i].account, t->account) != H2A_OK ||
            h2a_jset(&r->jt[i].certificate_arn, t->certificate_arn) != H2A_OK) {
            rv = H2A_ERR_NOMEM;
        }
    }
    h2a_buf_free(&body);
    return rv;
}

static h2a_err s_put_req(h2a_run *r)
{
    return h2a_journal_put_request(r->journal, r->jr);
}

/*
 * Move the request and every target still behind it to `st`, in one
 * transaction. `sync`: see h2a_jsync; durable when the next step acts
 * outside this process.
 */
static h2a_err s_advance_rows(h2a_run *r, h2a_jstate st)
{
    h2a_err rv;

    r->jr->state = st;
    rv = s_put_req(r);
    for (size_t i = 0; rv == H2A_OK && i < r->njt; i++) {
        if (r->jt[i].state < st) {
            r->jt[i].state = st;
            rv = h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]);
        }
    }
    return rv;
}

static h2a_err s_advance(h2a_run *r, h2a_jstate st, h2a_jsync sync)
{
    H2A_GUARD(h2a_journal_begin(r->journal, sync));
    return h2a_journal_end(r->journal, s_advance_rows(r, st));
}

h2a_err h2a_enroll_put_target(h2a_run *r, size_t i, h2a_jsync sync)
{
    H2A_GUARD(h2a_journal_begin(r->journal, sync));
    return h2a_journal_end(r->journal,
                           h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]));
}

/*
 * A lazy state move after keygen or the CSR: its own transaction, or in a
 * group the group's next one (s_states).
 */
static h2a_err s_lazy_state(h2a_run *r, h2a_jstate st)
{
    if (!r->defer) {
        return s_advance(r, st, H2A_JSYNC_LAZY);
    }
    r->pend_state = st;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Steps 2-4: key, CSR, issue, verify                                  */
/* ------------------------------------------------------------------ */

static h2a_err s_keygen(h2a_run *r)
{
    long long t0 = h2a_enroll_now_ms();
    h2a_err rv;

    if (r->jr->state >= H2A_JS_KEY_GENERATED && r->jr->key_id != NULL) {
        rv = h2a_keygen_find_by_id_hex(r->sess, r->jr->key_id, &r->key);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "journal says key %s exists: ", r->jr->key_id);
        }
        snprintf(r->key_id, sizeof(r->key_id), "%s", r->jr->key_id);
        return H2A_OK;
    }
    /*
     * The label was journaled before generation: a key with it is the one a
     * crashed run made but could not journal. Adopt it, never make a second.
     */
    rv = r->resumed ? h2a_p11_key_find(r->sess, r->jr->key_label, NULL, 0, &r->key)
                    : H2A_ERR_TOKEN; /* fresh: keygen itself refuses an existing label */
    if (rv == H2A_OK) {
        if (h2a_p11_key_type(r->key) != r->kt) {
            return h2a_err_set(H2A_ERR_STATE,
                               "token key '%s' exists with type %s, request wants %s",
                               r->jr->key_label, h2a_keytype_cli_name(h2a_p11_key_type(r->key)),
                               h2a_keytype_cli_name(r->kt));
        }
        H2A_LOG_INFO("adopting token key '%s' from an interrupted run", r->jr->key_label);
        r->key_made_here = r->resumed; /* still ours to destroy on a refusal */
    } else {
        h2a_err_clear();
        H2A_GUARD(h2a_keygen_preflight(r->sess, r->kt, r->wrap));
        H2A_GUARD(h2a_keygen_generate(
            r->sess, r->kt, r->jr->key_label,
            H2A_KEYGEN_EXPORTABLE | (r->cfg->trusted_wrap ? H2A_KEYGEN_WRAP_WITH_TRUSTED : 0u) |
                (r->label_reserved ? H2A_KEYGEN_LABEL_RESERVED : 0u) |
                (s_keep_token ? H2A_KEYGEN_MANY_KEYS : 0u),
            &r->key));
        r->key_made_here = true;
        h2a_enroll_crash_point("keygen", -1);
    }
    H2A_GUARD(h2a_keygen_key_id_hex(r->key, r->key_id));
    H2A_GUARD(h2a_jset(&r->jr->key_id, r->key_id));
    /* Lazy: a lost key id is found again by the label journaled before keygen. */
    H2A_GUARD(s_lazy_state(r, H2A_JS_KEY_GENERATED));
    r->t_ms[H2A_T_KEYGEN] = h2a_enroll_now_ms() - t0;
    if (r->defer) {
        r->pend_keygen_audit = true; /* after the group's commit */
    } else {
        h2a_enroll_audit(r, -1, "keygen", "ok", NULL, NULL, r->jr->key_label);
    }
    return H2A_OK;
}

static h2a_err s_x509_pem(X509 *x, h2a_buf *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    h2a_err rv;

    if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
        BIO_free(b);
        return h2a_err_openssl(H2A_ERR_INTERNAL, "certificate PEM");
    }
    n = BIO_get_mem_data(b, &p);
    rv = h2a_buf_append(out, p, (size_t)n);
    BIO_free(b);
    return rv;
}

static h2a_err s_cert_facts(h2a_run *r)
{
    h2a_buf leaf, chain;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    struct tm tm;
    char when[32];
    h2a_err rv;

    h2a_buf_init(&leaf, 0);
    h2a_buf_init(&chain, 0);
    rv = s_x509_pem(r->cert, &leaf);
    for (int i = 0; rv == H2A_OK && i < sk_X509_num(r->chain); i++) {
        rv = s_x509_pem(sk_X509_value(r->chain, i), &chain);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&leaf);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&chain);
    }
    if (rv == H2A_OK) {
        bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(r->cert), NULL);
        hex = bn != NULL ? BN_bn2hex(bn) : NULL;
        if (hex == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(r->cert), &tm) != 1) {
            rv = h2a_err_openssl(H2A_ERR_VERIFY, "certificate serial/notAfter");
        }
    }
    if (rv == H2A_OK) {
        for (char *p = hex; *p != '\0'; p++) {
            *p = (char)((*p >= 'A' && *p <= 'F') ? *p - 'A' + 'a' : *p);
        }
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (h2a_jset(&r->jr->cert_pem, (const char *)leaf.data) != H2A_OK ||
            h2a_jset(&r->jr->chain_pem, chain.len > 0 ? (const char *)chain.data : "") != H2A_OK ||
            h2a_jset(&r->jr->serial, hex) != H2A_OK ||
            h2a_jset(&r->jr->not_after, when) != H2A_OK) {
            rv = H2A_ERR_NOMEM;
        }
    }
    OPENSSL_free(hex);
    BN_free(bn);
    h2a_buf_free(&leaf);
    h2a_buf_free(&chain);
    return rv;
}

static h2a_err s_load_issued(h2a_run *r)
{
    h2a_buf all;
    h2a_err rv;

    h2a_buf_init(&all, 0);
    rv = h2a_buf_append_str(&all, r->jr->cert_pem != NULL ? r->jr->cert_pem : "");
    if (rv == H2A_OK && r->jr->chain_pem != NULL) {
        rv = h2a_buf_append_str(&all, r->jr->chain_pem);
    }
    if (rv == H2A_OK) {
        rv = h2a_issuer_parse_pem_chain("journal", (const char *)all.data, all.len,
                                        &r->cert, &r->chain);
        if (rv != H2A_OK) {
            rv = h2a_err_prefix(H2A_ERR_STATE, "journal certificate: ");
        }
    }
    h2a_buf_free(&all);
    return rv;
}

/* The CSR, signed in the token; the issuer gets it in s_issue. */
static h2a_err s_csr(h2a_run *r)
{
    struct h2a_csr_req c;
    long long t0 = h2a_enroll_now_ms();

    if (r->jr->state >= H2A_JS_ISSUED) {
        return H2A_OK; /* the certificate is in the journal */
    }
    s_csr_req(r, &c);
    H2A_GUARD(h2a_csr_make_req(r->key, &c, &r->csr));
    r->t_ms[H2A_T_CSR] = h2a_enroll_now_ms() - t0;
    h2a_enroll_crash_point("csr", -1);
    /*
     * Lazy: losing it to a power cut changes nothing, resume signs a CSR
     * again and the issuer is asked again either way (the issued certificate
     * is what must be durable, in the group's "issued" commit).
     */
    return s_lazy_state(r, H2A_JS_CSR_SIGNED);
}

static h2a_err s_issue(h2a_run *r)
{
    h2a_issue_ctx ic = {0};
    long long t0 = h2a_enroll_now_ms();

    if (r->jr->state >= H2A_JS_ISSUED) {
        return s_load_issued(r);
    }
    ic.conf = h2a_config_issuer(r->cfg, r->req->issuer);
    if (ic.conf == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "issuer: '%s' is not configured", r->req->issuer);
    }
    ic.state_dir = r->cfg->state_dir;
    ic.session = r->sess;
    ic.request_id = r->req->id;
    ic.requester = r->req->requester;
    H2A_GUARD(h2a_issuer_issue(&ic, r->csr, &r->cert, &r->chain));
    X509_REQ_free(r->csr);
    r->csr = NULL;
    r->t_ms[H2A_T_ISSUE] = h2a_enroll_now_ms() - t0;
    h2a_enroll_crash_point("issue", -1);
    return s_cert_facts(r);
}

/* ------------------------------------------------------------------ */
/* Failure handling                                                    */
/* ------------------------------------------------------------------ */

bool h2a_enroll_anything_staged(const h2a_run *r)
{
    for (size_t i = 0; i < r->njt; i++) {
        h2a_jstate s = r->jt[i].state == H2A_JS_FAILED ? r->jt[i].resume_from
                                                        : r->jt[i].state;
        if (s >= H2A_JS_STAGED || r->jt[i].imported_arn != NULL) {
            return true;
        }
    }
    return false;
}

static bool s_terminal(h2a_err e)
{
    return e == H2A_ERR_INPUT || e == H2A_ERR_USAGE || e == H2A_ERR_POLICY ||
           e == H2A_ERR_ISSUER || e == H2A_ERR_VERIFY;
}

/* A failure in steps 2-4: terminal ones roll back the key; others stay resumable. */
static h2a_err s_fail_early(h2a_run *r, h2a_err rv, const char *step)
{
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
    if (r->jr == NULL) {
        return rv;
    }
    (void)h2a_jset(&r->jr->error, msg);
    (void)h2a_jset(&r->jr->failed_step, step);
    if (s_terminal(rv) && !h2a_enroll_anything_staged(r)) {
        if (r->key != NULL) {
            h2a_err drv = h2a_p11_key_destroy(r->key);

            r->key = NULL;
            if (drv != H2A_OK) {
                H2A_LOG_ERR("could not destroy key '%s': %s", r->jr->key_label,
                            h2a_err_msg());
            } else {
                h2a_enroll_audit(r, -1, "key_destroyed", "ok", NULL, NULL,
                                 r->jr->key_label);
            }
        }
        r->jr->state = H2A_JS_FAILED;
        for (size_t i = 0; i < r->njt; i++) {
            r->jt[i].resume_from = r->jt[i].state;
            r->jt[i].state = H2A_JS_FAILED;
            if (h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]) != H2A_OK) {
                H2A_LOG_ERR("journal: %s", h2a_err_msg());
            }
        }
    }
    if (h2a_journal_put_request(r->journal, r->jr) != H2A_OK) {
        H2A_LOG_ERR("journal: %s", h2a_err_msg());
    }
    h2a_err_set(rv, "%s", msg);
    h2a_enroll_audit(r, -1, step, s_terminal(rv) ? "refused" : "failed", NULL, NULL, msg);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static h2a_err s_output(h2a_run *r, h2a_buf *out)
{
    static const char *const tnames[H2A_T__COUNT] = {"validate", "keygen", "csr", "issue",
                                                      "verify"};
    json_object *o = json_object_new_object();
    json_object *arr = json_object_new_array();
    const char *txt;
    h2a_err rv = H2A_OK;

    if (o == NULL || arr == NULL) {
        json_object_put(o);
        json_object_put(arr);
        return h2a_err_set(H2A_ERR_NOMEM, "output");
    }
    json_object_object_add(o, "id", json_object_new_string(r->req->id));
    for (size_t i = 0; i < r->njt; i++) {
        const h2a_jtarget *t = &r->jt[i];
        json_object *jt = json_object_new_object();
        json_object *tm = NULL;

        json_object_object_add(jt, "region", json_object_new_string(t->region));
        json_object_object_add(jt, "account", t->account ? json_object_new_string(t->account) : NULL);
        json_object_object_add(jt, "certificate_arn",
                               t->imported_arn ? json_object_new_string(t->imported_arn) : NULL);
        json_object_object_add(jt, "serial", t->serial ? json_object_new_string(t->serial) : NULL);
        json_object_object_add(jt, "not_after",
                               r->jr->not_after ? json_object_new_string(r->jr->not_after) : NULL);
        json_object_object_add(jt, "key_id", r->jr->key_id ? json_object_new_string(r->jr->key_id) : NULL);
        json_object_object_add(jt, "kcv", r->jr->kcv ? json_object_new_string(r->jr->kcv) : NULL);
        if (t->new_arn) {
            json_object_object_add(jt, "new_arn", json_object_new_boolean(1));
        }
        json_object_object_add(jt, "state", json_object_new_string(h2a_jstate_name(t->state)));
        if (t->timings != NULL) {
            tm = json_tokener_parse(t->timings);
        }
        if (tm == NULL) {
            tm = json_object_new_object();
        }
        for (int k = 0; k < H2A_T__COUNT; k++) {
            if (r->t_ms[k] > 0 && !json_object_object_get_ex(tm, tnames[k], NULL)) {
                json_object_object_add(tm, tnames[k], json_object_new_int64(r->t_ms[k]));
            }
        }
        json_object_object_add(jt, "timings_ms", tm);
        json_object_array_add(arr, jt);
    }
    json_object_object_add(o, "targets", arr);
    txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    if (txt == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "output");
    } else {
        rv = h2a_buf_append_str(out, txt);
        if (rv == H2A_OK) {
            rv = h2a_buf_terminate(out);
        }
    }
    json_object_put(o);
    return rv;
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

static void s_run_cleanup(h2a_run *r)
{
    for (size_t i = 0; i < H2A_REQUEST_MAX_TARGETS; i++) {
        h2a_buf_free(&r->staged[i]);
    }
    X509_REQ_free(r->csr);
    X509_free(r->cert);
    sk_X509_pop_free(r->chain, X509_free);
    h2a_p11_key_free(r->key);
    if (r->wrap != s_kept_wrap) {
        h2a_p11_wrapkey_free(r->wrap);
    }
    if (r->sess != s_kept_sess) {
        h2a_session_close(r->sess);
    }
    if (r->tok != s_kept_token) {
        h2a_token_close(r->tok);
    }
    for (size_t i = 0; i < r->n_accts; i++) {
        if (r->accts[i].own) {
            h2a_aws_ctx_free(r->accts[i].ctx);
        }
        free(r->accts[i].account);
    }
    if (r->aws != s_kept_aws) {
        h2a_aws_ctx_free(r->aws);
    }
    h2a_jreq_free(r->jr);
    h2a_jtargets_free(r->jt, r->njt);
    h2a_request_free(r->req);
    h2a_policy_free(r->policy);
    h2a_audit_close(r->audit);
    if (r->journal != s_kept_journal) {
        h2a_journal_close(r->journal);
    }
}

/*
 * Batch: one open journal for the worker's requests. Closing the last
 * connection checkpoints and removes the WAL, which costs fsyncs per request.
 */
static h2a_err s_journal_open(h2a_run *r)
{
    if (s_keep_token && s_kept_journal != NULL) {
        r->journal = s_kept_journal;
        return H2A_OK;
    }
    H2A_GUARD(h2a_journal_open(r->cfg->state_dir, &r->journal));
    if (s_keep_token) {
        s_kept_journal = r->journal;
    }
    return H2A_OK;
}

/*
 * One enrollment per request id at a time, across processes: an OFD write
 * lock on one byte of state_dir/requests.lock, at an offset taken from the
 * id's SHA-256 (62 bits: two ids share a byte with odds of 2^-62 per pair,
 * and then the later one is refused as busy). One file for every id: a lock
 * file per id grew the state directory by a file per request for ever, and
 * making the file (a new inode) cost more than the rest of the lock.
 */
static h2a_err s_lock(const h2a_config *cfg, const char *id, int *fd_out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    uint64_t slot = 0;
    struct flock fl;
    char path[4300];
    int fd;

    if (EVP_Digest(id, strlen(id), md, &mdn, EVP_sha256(), NULL) != 1) {
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
        if (e == EAGAIN || e == EACCES) {
            return h2a_err_set(H2A_ERR_STATE, "request '%s' is being worked on by another "
                               "hsm2acm process (lock in %s)", id, path);
        }
        return h2a_err_set(H2A_ERR_STATE, "%s: lock: %s", path, strerror(e));
    }
    *fd_out = fd;
    return H2A_OK;
}

static h2a_err s_load_existing(h2a_run *r, const char *id, bool *found)
{
    *found = false;
    H2A_GUARD(h2a_journal_get(r->journal, id, &r->jr, &r->jt, &r->njt));
    if (r->jr != NULL) {
        *found = true;
    }
    return H2A_OK;
}

/* Step 2: the key (and the token, on a run's first use of it). */
static h2a_err s_phase_keygen(h2a_run *r)
{
    h2a_err rv = h2a_enroll_token_open(r);

    if (rv != H2A_OK) {
        return s_fail_early(r, rv, "token");
    }
    if (r->jr->kcv == NULL) {
        H2A_GUARD(h2a_jset(&r->jr->kcv, r->kcv));
        H2A_GUARD(s_put_req(r));
    }
    rv = s_keygen(r);
    return rv == H2A_OK ? H2A_OK : s_fail_early(r, rv, "keygen");
}

static h2a_err s_phase_csr(h2a_run *r)
{
    h2a_err rv = s_csr(r);

    return rv == H2A_OK ? H2A_OK : s_fail_early(r, rv, "csr");
}

/* Steps 3-4, up to a verified certificate; "issued" is journaled by the group. */
static h2a_err s_phase_issue(h2a_run *r)
{
    h2a_err rv;
    long long t0;

    rv = s_issue(r);
    if (rv != H2A_OK) {
        return s_fail_early(r, rv, "issue");
    }
    t0 = h2a_enroll_now_ms();
    rv = h2a_enroll_verify(r);
    if (rv != H2A_OK) {
        return s_fail_early(r, rv, "verify");
    }
    r->t_ms[H2A_T_VERIFY] = h2a_enroll_now_ms() - t0;
    r->need_issued = r->jr->state < H2A_JS_ISSUED;
    return H2A_OK;
}

/* The "issued" rows of a run, in the caller's transaction. */
static h2a_err s_issued_rows(h2a_run *r)
{
    (void)h2a_jset(&r->jr->error, NULL);
    return s_advance_rows(r, H2A_JS_ISSUED);
}

static void s_failed(h2a_run *r, h2a_err rv)
{
    r->item->rv = rv;
    snprintf(r->item->error, sizeof(r->item->error), "%s", h2a_err_msg());
}

static bool s_active(const h2a_run *r)
{
    return r->item->rv == H2A_OK && !r->finished;
}

/*
 * Steps 5-7 of a run's targets as far as state `upto`, target by target; a
 * target that fails goes no further in this run, and does not stop the others.
 */
static void s_deliver_upto(h2a_run *r, h2a_jstate upto)
{
    for (size_t i = 0; i < r->njt; i++) {
        h2a_err rv;

        if (r->jt[i].state == H2A_JS_CLEANED || r->target_failed[i]) {
            continue;
        }
        rv = h2a_enroll_deliver_target(r, i, upto);
        if (rv != H2A_OK) {
            r->target_failed[i] = true;
            if (r->deliver_rv == H2A_OK) {
                r->deliver_rv = rv;
                snprintf(r->deliver_msg, sizeof(r->deliver_msg), "targets[%zu]: %s", i,
                         h2a_err_msg());
            }
        }
    }
}

/* The request row of a run whose targets are all delivered. */
static h2a_err s_cleaned_rows(h2a_run *r)
{
    (void)h2a_jset(&r->jr->error, NULL);
    (void)h2a_jset(&r->jr->failed_step, NULL);
    return s_advance_rows(r, H2A_JS_CLEANED);
}

/*
 * A transaction the runs of a group share: which runs take part, what each
 * writes in it, and what follows for each once it is over.
 */
struct s_commit {
    h2a_jsync sync;
    bool (*want)(const h2a_run *);
    h2a_err (*rows)(h2a_run *);
    void (*done)(h2a_run *, bool committed);
};

/*
 * One transaction for the active runs that want it. If it fails, each of
 * them fails (what it records stays as resume would find it after a crash).
 */
static void s_group_commit(h2a_run **runs, size_t n, const struct s_commit *c)
{
    H2A_JOURNAL *j = NULL;
    h2a_err rv;

    for (size_t i = 0; i < n && j == NULL; i++) {
        if (s_active(runs[i]) && c->want(runs[i])) {
            j = runs[i]->journal;
        }
    }
    if (j == NULL) {
        return;
    }
    rv = h2a_journal_begin(j, c->sync);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        if (s_active(runs[i]) && c->want(runs[i])) {
            rv = c->rows(runs[i]);
        }
    }
    rv = h2a_journal_end(j, rv);
    for (size_t i = 0; i < n; i++) {
        if (!s_active(runs[i]) || !c->want(runs[i])) {
            continue;
        }
        if (rv != H2A_OK) {
            s_failed(runs[i], rv);
        }
        c->done(runs[i], rv == H2A_OK);
    }
}

/* Keygen and CSR: the state moves the runs left pending (s_lazy_state). */
static bool s_wants_state(const h2a_run *r)
{
    return r->pend_state != H2A_JS_NONE;
}

static h2a_err s_state_rows(h2a_run *r)
{
    return s_advance_rows(r, r->pend_state);
}

static void s_state_done(h2a_run *r, bool committed)
{
    if (committed && r->pend_keygen_audit) {
        h2a_enroll_audit(r, -1, "keygen", "ok", NULL, NULL, r->jr->key_label);
    }
    r->pend_state = H2A_JS_NONE;
    r->pend_keygen_audit = false;
}

static const struct s_commit s_states = {H2A_JSYNC_LAZY, s_wants_state, s_state_rows,
                                         s_state_done};

/* Delivery: the step rows the runs left pending; the last step ends the request. */
static bool s_wants_steps(const h2a_run *r)
{
    return r->npend > 0;
}

static bool s_wants_end(const h2a_run *r)
{
    (void)r;
    return true;
}

static h2a_err s_end_rows(h2a_run *r)
{
    H2A_GUARD(h2a_enroll_pending_rows(r));
    return r->deliver_rv == H2A_OK ? s_cleaned_rows(r) : H2A_OK;
}

static const struct s_commit s_steps = {H2A_JSYNC_LAZY, s_wants_steps,
                                        h2a_enroll_pending_rows, h2a_enroll_pending_audit};
static const struct s_commit s_end = {H2A_JSYNC_LAZY, s_wants_end, s_end_rows,
                                      h2a_enroll_pending_audit};

/*
 * Steps 5-7 for the group, step by step across its runs: every target's
 * staging, one commit, every import, one commit, every cleanup, one commit.
 * Each target still has each step journaled before its next starts.
 */
static void s_deliver_group(h2a_run **runs, size_t n)
{
    static const h2a_jstate upto[] = {H2A_JS_STAGED, H2A_JS_IMPORTED, H2A_JS_CLEANED};

    for (size_t k = 0; k < sizeof(upto) / sizeof(upto[0]); k++) {
        for (size_t i = 0; i < n; i++) {
            if (s_active(runs[i])) {
                runs[i]->defer = true;
                s_deliver_upto(runs[i], upto[k]);
                runs[i]->defer = false;
            }
        }
        s_group_commit(runs, n, upto[k] == H2A_JS_CLEANED ? &s_end : &s_steps);
    }
    for (size_t i = 0; i < n; i++) {
        h2a_run *r = runs[i];
        h2a_err rv;

        if (!s_active(r)) {
            continue;
        }
        if (r->deliver_rv != H2A_OK) {
            (void)h2a_jset(&r->jr->error, r->deliver_msg);
            (void)s_put_req(r);
            h2a_err_set(r->deliver_rv, "%s", r->deliver_msg);
            s_failed(r, r->deliver_rv);
            continue;
        }
        h2a_enroll_audit(r, -1, "done", "ok", NULL, NULL, NULL);
        rv = s_output(r, &r->item->out);
        if (rv != H2A_OK) {
            s_failed(r, rv);
        }
    }
}

static bool s_all_cleaned(const h2a_run *r)
{
    for (size_t i = 0; i < r->njt; i++) {
        if (r->jt[i].state != H2A_JS_CLEANED) {
            return false;
        }
    }
    return r->njt > 0;
}

static h2a_err s_fresh(h2a_run *r)
{
    long long t0 = h2a_enroll_now_ms();
    h2a_err rv;

    r->kt = r->req->key;
    h2a_jreq_free(r->jr);
    h2a_jtargets_free(r->jt, r->njt);
    r->jr = NULL;
    r->jt = NULL;
    r->njt = 0;
    H2A_GUARD(s_new_rows(r));
    rv = s_validate_local(r);
    if (rv == H2A_OK) {
        rv = s_validate_aws(r);
    }
    if (rv == H2A_OK) {
        rv = s_reimport_precheck(r);
    }
    if (rv != H2A_OK) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
        h2a_enroll_audit(r, -1, "validate", s_terminal(rv) ? "refused" : "failed", NULL,
                         NULL, msg);
        h2a_err_set(rv, "%s", msg);
        return rv;
    }
    /* The token last: a refusal above never touched it. */
    rv = h2a_enroll_token_open(r);
    if (rv != H2A_OK) {
        return rv;
    }
    H2A_GUARD(h2a_jset(&r->jr->key_type, h2a_keytype_cli_name(r->kt)));
    H2A_GUARD(h2a_jset(&r->jr->kcv, r->kcv));
    /* The row (durable before the token is touched) is written by the group. */
    r->t_validate0 = t0;
    r->need_insert = true;
    return H2A_OK;
}

/* After the row of a fresh request is durable. */
static void s_inserted(h2a_run *r)
{
    r->need_insert = false;
    r->t_ms[H2A_T_VALIDATE] = h2a_enroll_now_ms() - r->t_validate0;
    h2a_enroll_audit(r, -1, "validate", "ok", NULL, NULL, NULL);
    h2a_enroll_crash_point("validate", -1);
}

static h2a_err s_continue(h2a_run *r)
{
    h2a_err rv;

    r->resumed = true;
    if (r->jr->key_type == NULL || h2a_keytype_parse(r->jr->key_type, &r->kt) != H2A_OK) {
        return h2a_err_set(H2A_ERR_STATE, "journal: request '%s' has no key type", r->jr->id);
    }
    /* Identities again (audit, account ids); no new checks on a resumed request. */
    for (size_t i = 0; i < r->req->n_targets; i++) {
        h2a_acct *a = NULL;

        rv = h2a_enroll_acct(r, r->req->targets[i].account, r->req->targets[i].region, &a);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
    }
    h2a_enroll_audit(r, -1, "resume", "ok", NULL, NULL, h2a_jstate_name(r->jr->state));
    return H2A_OK;
}

/*
 * Step 1 of a run: lock, load, parse; then either finished (done before:
 * its output), continued (resume from the journal), or fresh and validated
 * with its journal row still to write.
 */
static h2a_err s_prepare(h2a_run *r, const h2a_request *req, const char *resume_id)
{
    const h2a_config *cfg = r->cfg;
    const char *id = req != NULL ? req->id : resume_id;
    bool found = false;
    h2a_err rv;

    H2A_GUARD(s_journal_open(r));
    H2A_GUARD(s_lock(cfg, id, &r->lock_fd));
    H2A_GUARD(h2a_audit_open(cfg->audit.file, cfg->audit.syslog, &r->audit));
    H2A_GUARD(h2a_policy_load(cfg->policy, &r->policy));
    H2A_GUARD(s_load_existing(r, id, &found));
    if (req == NULL) {
        /* resume: the request comes from the journal. */
        if (!found) {
            return h2a_err_set(H2A_ERR_STATE, "no journal entry for request id '%s' in %s", id,
                               cfg->state_dir);
        }
        rv = h2a_request_parse(r->jr->body, strlen(r->jr->body), &r->req);
        if (rv != H2A_OK) {
            return h2a_err_prefix(H2A_ERR_STATE, "journal body of '%s': ", id);
        }
        if (r->jr->state == H2A_JS_FAILED) {
            return h2a_err_set(H2A_ERR_STATE,
                               "request '%s' failed at step %s and was rolled back (%s); "
                               "run 'hsm2acm enroll' with the request again to start over",
                               id, r->jr->failed_step ? r->jr->failed_step : "?",
                               r->jr->error ? r->jr->error : "no message");
        }
    } else {
        h2a_buf body;

        h2a_buf_init(&body, 0);
        rv = h2a_request_canonical(req, &body);
        if (rv == H2A_OK) {
            rv = h2a_request_parse((const char *)body.data, body.len, &r->req);
        }
        h2a_buf_free(&body);
        H2A_GUARD(rv);
    }
    H2A_GUARD(h2a_request_hash(r->req, r->hash));
    if (found && strcmp(r->jr->body_hash, r->hash) != 0) {
        return h2a_err_set(H2A_ERR_STATE,
                           "id: '%s' was already used for a different request (journal %s); "
                           "a request id names exactly one request", id, cfg->state_dir);
    }
    if (found && r->jr->state != H2A_JS_FAILED) {
        if (s_all_cleaned(r)) {
            /* Done before: idempotent, report what was delivered. */
            r->finished = true;
            return s_output(r, &r->item->out);
        }
        return s_continue(r);
    }
    r->label_reserved = !found;
    return s_fresh(r);
}

/* The fresh requests' rows, durable before any key of the group is made. */
static bool s_wants_insert(const h2a_run *r)
{
    return r->need_insert;
}

static h2a_err s_insert_rows(h2a_run *r)
{
    return h2a_journal_insert(r->journal, r->jr, r->jt, r->njt);
}

static void s_insert_done(h2a_run *r, bool committed)
{
    if (committed) {
        s_inserted(r);
    }
}

static const struct s_commit s_inserts = {H2A_JSYNC_DURABLE, s_wants_insert, s_insert_rows,
                                          s_insert_done};

/* The certificates, durable before any staging secret of the group. */
static bool s_wants_issued(const h2a_run *r)
{
    return r->need_issued;
}

static void s_issued_done(h2a_run *r, bool committed)
{
    if (committed) {
        r->need_issued = false;
        h2a_err_clear();
        h2a_enroll_audit(r, -1, "issue", "ok", NULL, NULL, r->req->issuer);
    }
}

static const struct s_commit s_issues = {H2A_JSYNC_DURABLE, s_wants_issued, s_issued_rows,
                                         s_issued_done};

/* One step for each active run; `defer`: its lazy state move waits for the group. */
static void s_each(h2a_run **runs, size_t n, h2a_err (*step)(h2a_run *), bool defer)
{
    for (size_t i = 0; i < n; i++) {
        h2a_err rv;

        if (!s_active(runs[i])) {
            continue;
        }
        runs[i]->defer = defer;
        rv = step(runs[i]);
        runs[i]->defer = false;
        if (rv != H2A_OK) {
            s_failed(runs[i], rv);
        }
    }
}

/*
 * The runs advance together, phase by phase, so that one fsync covers the
 * group at each of the two durable points: every fresh request's row before
 * any of their keys is made, every certificate before any staging secret.
 * Each request still goes through its own steps in order; a failure stops
 * only its own run.
 */
static void s_group(h2a_run **runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h2a_err rv = s_prepare(runs[i], runs[i]->item->req, runs[i]->item->resume_id);

        if (rv != H2A_OK) {
            s_failed(runs[i], rv);
        }
    }
    s_group_commit(runs, n, &s_inserts);
    s_each(runs, n, s_phase_keygen, true);
    s_group_commit(runs, n, &s_states);
    s_each(runs, n, s_phase_csr, true);
    s_group_commit(runs, n, &s_states);
    s_each(runs, n, s_phase_issue, false);
    s_group_commit(runs, n, &s_issues);
    s_deliver_group(runs, n);
}

static void s_run_end(h2a_run *r)
{
    s_run_cleanup(r);
    if (r->lock_fd >= 0) {
        close(r->lock_fd);
    }
    free(r);
}

void h2a_enroll_group(const h2a_config *cfg, h2a_enroll_item *items, size_t n)
{
    h2a_run *runs[H2A_ENROLL_GROUP_MAX];
    size_t made = 0;

    /* Without kept token and journal, runs cannot share them: one at a time. */
    if (n > 1 && !s_keep_token) {
        for (size_t i = 0; i < n; i++) {
            h2a_enroll_group(cfg, &items[i], 1);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].rv = H2A_OK;
        items[i].error[0] = '\0';
    }
    if (n > H2A_ENROLL_GROUP_MAX) {
        for (size_t i = 0; i < n; i++) {
            items[i].rv = h2a_err_set(H2A_ERR_INTERNAL, "enroll group of %zu requests", n);
            snprintf(items[i].error, sizeof(items[i].error), "%s", h2a_err_msg());
        }
        return;
    }
    for (; made < n; made++) {
        runs[made] = calloc(1, sizeof(h2a_run));
        if (runs[made] == NULL) {
            break;
        }
        runs[made]->cfg = cfg;
        runs[made]->lock_fd = -1;
        runs[made]->item = &items[made];
    }
    if (made == n) {
        s_group(runs, n);
    } else {
        /* Nothing ran: every item says so, not only those without a run. */
        h2a_err_set(H2A_ERR_NOMEM, "enroll: out of memory");
        for (size_t i = 0; i < n; i++) {
            items[i].rv = H2A_ERR_NOMEM;
            snprintf(items[i].error, sizeof(items[i].error), "%s", h2a_err_msg());
        }
    }
    for (size_t i = 0; i < made; i++) {
        s_run_end(runs[i]);
    }
}

h2a_err h2a_enroll_run(const h2a_config *cfg, const h2a_request *req,
                       const char *resume_id, h2a_buf *out)
{
    h2a_enroll_item it;

    memset(&it, 0, sizeof(it));
    it.req = req;
    it.resume_id = resume_id;
    h2a_buf_init(&it.out, 0);
    h2a_enroll_group(cfg, &it, 1);
    if (it.rv != H2A_OK) {
        h2a_buf_free(&it.out);
        return h2a_err_set(it.rv, "%s", it.error);
    }
    /* The caller's buffer takes the result as it is (it may be wiped on free). */
    H2A_GUARD(h2a_buf_append(out, it.out.data, it.out.len));
    h2a_buf_free(&it.out);
    return h2a_buf_terminate(out);
}
