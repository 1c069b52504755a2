/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "aws/h2a_aws.h"
#include "enroll/h2a_enroll.h"
#include "h2a_pkcs11.h"
#include "renew/renew_int.h"

#define S_DAY 86400LL

/* The generation to roll back to: the named serial, else the one before the current. */
static h2a_err s_pick(H2A_JOURNAL *j, const char *arn, const char *serial, h2a_jgen *g,
                      size_t n, size_t *at)
{
    if (n == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "rollback %s: the journal has no generation of it "
                           "(hsm2acm did not deliver it)", arn);
    }
    for (size_t i = 1; i < n; i++) {
        h2a_jreq *r = NULL;
        h2a_jtarget *t = NULL;
        size_t nt = 0;
        bool match;

        if (serial == NULL) {
            *at = i;
            return H2A_OK;
        }
        H2A_GUARD(h2a_journal_get(j, g[i].request_id, &r, &t, &nt));
        match = r != NULL && r->serial != NULL && strcasecmp(r->serial, serial) == 0;
        h2a_jreq_free(r);
        h2a_jtargets_free(t, nt);
        if (match) {
            *at = i;
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT, serial != NULL
                                          ? "rollback %s: no earlier generation has serial %s"
                                          : "rollback %s: %s it has only one generation",
                       arn, serial != NULL ? serial : "nothing to roll back to:");
}

/* Rules the journal answers: the key was not destroyed, the certificate lasts. */
static h2a_err s_check_journal(const char *arn, const h2a_jgen *g, const h2a_jreq *r,
                               const h2a_policy_lifecycle *l)
{
    h2a_renew_times t;
    long long now = h2a_renew_now(), need = (long long)l->min_remaining_for_rollback_days;
    char na[32], limit[32];

    if (g->key_destroyed_at != 0) {
        h2a_renew_iso(g->key_destroyed_at, na);
        return h2a_err_set(H2A_ERR_POLICY, "rollback %s: rule 'key still in the token': "
                           "generation %lld's key %s was destroyed by sweep at %s", arn,
                           g->generation, r->key_id ? r->key_id : "?", na);
    }
    H2A_GUARD(h2a_renew_cert_times(r->cert_pem, &t));
    if (t.not_after - now < need * S_DAY) {
        h2a_renew_iso(t.not_after, na);
        h2a_renew_iso(now + need * S_DAY, limit);
        return h2a_err_set(H2A_ERR_POLICY, "rollback %s: rule "
                           "'renewal.min_remaining_for_rollback_days' (%lld): generation "
                           "%lld's certificate expires at %s, before %s", arn, need,
                           g->generation, na, limit);
    }
    return H2A_OK;
}

/* The generation's key must still be in the token (sweep or a person may have removed it). */
static h2a_err s_check_token(const h2a_config *cfg, const char *arn, const h2a_jgen *g,
                             const h2a_jreq *r)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    h2a_buf id;
    h2a_err rv;

    h2a_buf_init(&id, 64);
    rv = h2a_hex_decode(r->key_id != NULL ? r->key_id : "", &id);
    if (rv == H2A_OK) {
        rv = h2a_token_open(cfg->token, &tok);
    }
    if (rv == H2A_OK) {
        rv = h2a_session_open(tok, &s);
    }
    if (rv == H2A_OK) {
        rv = h2a_p11_key_find(s, NULL, id.data, id.len, &k);
        if (rv == H2A_ERR_TOKEN && strstr(h2a_err_msg(), "not found") != NULL) {
            rv = h2a_err_set(H2A_ERR_POLICY, "rollback %s: rule 'key still in the token': "
                             "generation %lld's key %s is not in the token", arn,
                             g->generation, r->key_id);
        }
    }
    h2a_p11_key_free(k);
    h2a_session_close(s);
    h2a_token_close(tok);
    h2a_buf_free(&id);
    return rv;
}

/* ACM's reimport rules against what the ARN holds now (the CA may have added usages since). */
static h2a_err s_check_acm(const h2a_config *cfg, const char *arn, const h2a_jgen *g,
                           const h2a_jreq *r, const char *region)
{
    struct h2a_aws_config ac;
    H2A_AWS_CTX *ctx = NULL;
    json_object *d = NULL;
    h2a_cert_usage cur = {0}, next = {0};
    BIO *b = BIO_new_mem_buf(r->cert_pem, -1);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    h2a_err rv = x != NULL ? H2A_OK : h2a_err_set(H2A_ERR_STATE, "journal: certificate of "
                                                  "generation %lld does not parse", g->generation);

    memset(&ac, 0, sizeof(ac));
    h2a_config_aws(&cfg->aws, &ac);
    if (rv == H2A_OK) {
        rv = h2a_aws_ctx_new(&ac, &ctx);
    }
    if (rv == H2A_OK) {
        rv = h2a_acm_describe_certificate(ctx, region, arn, &d);
    }
    if (rv == H2A_OK) {
        rv = h2a_enroll_usage_from_describe(d, &cur);
    }
    if (rv == H2A_OK) {
        rv = h2a_cert_usage_from_x509(x, &next);
    }
    if (rv == H2A_OK) {
        rv = h2a_reimport_check_cert(arn, &cur, &next);
        if (rv == H2A_ERR_POLICY) {
            rv = h2a_err_prefix(rv, "rollback to generation %lld (serial %s) refused by ACM's "
                                "reimport rules against what the ARN holds now: ",
                                g->generation, r->serial);
        }
    }
    h2a_cert_usage_cleanup(&cur);
    h2a_cert_usage_cleanup(&next);
    json_object_put(d);
    h2a_aws_ctx_free(ctx);
    X509_free(x);
    BIO_free(b);
    return rv;
}

/*
 * The rollback's journal rows, at state issued: the generation's key (by
 * its label), certificate and chain, one target (the ARN). The engine's
 * resume then stages, imports and cleans up as for any delivery.
 */
static h2a_err s_rows(H2A_JOURNAL *j, const h2a_jreq *from, const h2a_jtarget *jt, size_t njt,
                      size_t idx, const char *arn, const char *id)
{
    h2a_renew_cand c = {0};
    h2a_request *q = NULL;
    h2a_target keep;
    h2a_jreq row;
    h2a_jtarget t;
    h2a_buf body;
    char hash[65];
    size_t n;
    h2a_err rv;

    c.jr = (h2a_jreq *)from;
    c.jt = (h2a_jtarget *)jt;
    c.njt = njt;
    H2A_GUARD(h2a_renew_derive(&c, id, "rollback", &q));
    /* Only the target that delivered to this ARN: swapped first, the rest kept to be freed. */
    n = q->n_targets;
    keep = q->targets[idx];
    q->targets[idx] = q->targets[0];
    q->targets[0] = keep;
    q->n_targets = 1;
    h2a_buf_init(&body, 0);
    rv = h2a_request_canonical(q, &body);
    if (rv == H2A_OK) {
        rv = h2a_request_hash(q, hash);
    }
    if (rv == H2A_OK) {
        row = *from;
        row.id = (char *)id;
        row.body = (char *)body.data;
        row.body_hash = hash;
        row.state = H2A_JS_ISSUED;
        row.reason = (char *)"rollback";
        row.error = row.failed_step = NULL;
        row.created = 0;
        memset(&t, 0, sizeof(t));
        t.region = q->targets[0].region;
        t.account = q->targets[0].account;
        t.certificate_arn = (char *)arn;
        t.state = H2A_JS_ISSUED;
        rv = h2a_journal_insert(j, &row, &t, 1);
    }
    h2a_buf_free(&body);
    q->n_targets = n;
    h2a_request_free(q);
    return rv;
}

struct s_rb {
    h2a_jgen *g;
    size_t n, at;
    h2a_jreq *r;     /* the generation rolled back to */
    h2a_jtarget *t;
    size_t nt;
    h2a_jreq *cur;   /* the serving generation's request */
    h2a_jtarget *ct;
    size_t nct;
    char id[96];
};

static void s_rb_free(struct s_rb *b)
{
    h2a_jgens_free(b->g, b->n);
    h2a_jreq_free(b->r);
    h2a_jtargets_free(b->t, b->nt);
    h2a_jreq_free(b->cur);
    h2a_jtargets_free(b->ct, b->nct);
}

/* Load the generations, choose the one to go back to, name the rollback request. */
static h2a_err s_load(H2A_JOURNAL *j, const char *arn, const char *serial, struct s_rb *b)
{
    H2A_GUARD(h2a_journal_generations(j, arn, &b->g, &b->n));
    if (b->n > 0) {
        H2A_GUARD(h2a_journal_get(j, b->g[0].request_id, &b->cur, &b->ct, &b->nct));
    }
    /*
     * A rollback interrupted after its import (the delivery is already a
     * generation, its cleanup is not done) is finished, not rolled back
     * from: the generation it went to is the one with its serial.
     */
    if (b->cur != NULL && b->cur->state != H2A_JS_CLEANED && b->cur->reason != NULL &&
        strcmp(b->cur->reason, "rollback") == 0) {
        snprintf(b->id, sizeof(b->id), "%s", b->cur->id);
        H2A_GUARD(s_pick(j, arn, b->cur->serial, b->g, b->n, &b->at));
        return h2a_journal_get(j, b->g[b->at].request_id, &b->r, &b->t, &b->nt);
    }
    h2a_jreq_free(b->cur);
    h2a_jtargets_free(b->ct, b->nct);
    b->cur = NULL;
    b->ct = NULL;
    b->nct = 0;
    H2A_GUARD(s_pick(j, arn, serial, b->g, b->n, &b->at));
    H2A_GUARD(h2a_journal_get(j, b->g[b->at].request_id, &b->r, &b->t, &b->nt));
    H2A_GUARD(h2a_journal_get(j, b->g[0].request_id, &b->cur, &b->ct, &b->nct));
    if (b->r == NULL || b->cur == NULL || b->g[b->at].target_idx >= b->nt) {
        return h2a_err_set(H2A_ERR_STATE, "journal: the generations of %s name requests it "
                           "does not hold", arn);
    }
    return h2a_renew_derived_id(b->cur, 'r', b->g[0].generation + 1, b->id, sizeof(b->id));
}

/* Every check before anything is touched, then the rows the engine resumes from. */
static h2a_err s_prepare(const h2a_config *cfg, H2A_JOURNAL *j, const char *arn,
                         struct s_rb *b)
{
    h2a_policy_lifecycle l;
    const h2a_jgen *g = &b->g[b->at];
    h2a_jreq *again = NULL;
    h2a_jtarget *at = NULL;
    size_t nat = 0;
    bool started;

    H2A_GUARD(h2a_journal_get(j, b->id, &again, &at, &nat));
    started = again != NULL && again->state != H2A_JS_FAILED;
    h2a_jreq_free(again);
    h2a_jtargets_free(at, nat);
    if (started) {
        return H2A_OK; /* an interrupted rollback: the engine continues it */
    }
    H2A_GUARD(h2a_renew_lifecycle(cfg, &l));
    H2A_GUARD(s_check_journal(arn, g, b->r, &l));
    H2A_GUARD(s_check_token(cfg, arn, g, b->r));
    H2A_GUARD(s_check_acm(cfg, arn, g, b->r, b->t[g->target_idx].region));
    return s_rows(j, b->r, b->t, b->nt, g->target_idx, arn, b->id);
}

h2a_err h2a_renew_rollback(const h2a_config *cfg, const char *arn, const char *serial,
                           h2a_buf *out)
{
    struct s_rb b;
    h2a_renew_locks lk = {NULL, 0};
    H2A_JOURNAL *j = NULL;
    h2a_buf res;
    json_object *o = NULL, *r = NULL;
    h2a_err rv;

    memset(&b, 0, sizeof(b));
    h2a_buf_init(&res, 0);
    rv = h2a_journal_open(cfg->state_dir, &j);
    /* Before the journal is read: a renewal of this ARN may be writing its next generation. */
    if (rv == H2A_OK) {
        rv = h2a_renew_lock(cfg, arn, NULL, &lk);
    }
    if (rv == H2A_OK) {
        rv = s_load(j, arn, serial, &b);
    }
    if (rv == H2A_OK) {
        rv = s_prepare(cfg, j, arn, &b);
    }
    h2a_journal_close(j);
    if (rv == H2A_OK) {
        rv = h2a_enroll_run(cfg, NULL, b.id, &res);
    }
    if (rv == H2A_OK && (r = json_tokener_parse((const char *)res.data)) == NULL) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "rollback: the engine's result is not JSON");
    }
    if (rv == H2A_OK) {
        o = json_object_new_object();
        json_object_object_add(o, "arn", json_object_new_string(arn));
        json_object_object_add(o, "rollback_id", json_object_new_string(b.id));
        json_object_object_add(o, "to_generation", json_object_new_int64(b.g[b.at].generation));
        json_object_object_add(o, "to_serial", json_object_new_string(b.r->serial));
        json_object_object_add(o, "result", r);
        rv = h2a_buf_append_str(out, json_object_to_json_string_ext(
                                         o, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(o);
    h2a_buf_free(&res);
    s_rb_free(&b);
    h2a_renew_unlock(&lk);
    return rv == H2A_OK ? h2a_buf_terminate(out) : rv;
}
