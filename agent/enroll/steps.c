/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll/enroll_int.h"

/*
 * Steps 1-3 of a request: validate (policy, authorization, reimport
 * pre-checks), the key in the token, the CSR signed there.
 */

static void s_csr_req(const h2a_run *r, struct h2a_csr_req *c)
{
    memset(c, 0, sizeof(*c));
    c->subject = r->req->subject;
    c->dns = (const char *const *)r->req->names.dns;
    c->n_dns = r->req->names.ndns;
    c->ip = (const char *const *)r->req->names.ip;
    c->n_ip = r->req->names.nip;
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
    struct h2a_csr_req c;

    H2A_GUARD(h2a_policy_check_keytype(r->policy, r->kt));
    H2A_GUARD(h2a_policy_check_digest(r->policy, md));
    /* The usages the CSR will carry, the request's or the policy's. */
    s_csr_req(r, &c);
    H2A_GUARD(h2a_policy_check_usage(r->policy, r->kt, c.key_usage, c.ext_key_usage));
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
    H2A_GUARD(h2a_policy_check_cert_names(r->policy, &q->names));
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

/* Forget what an earlier validate of this run described. */
static void s_held_clear(h2a_run *r)
{
    for (size_t i = 0; i < H2A_REQUEST_MAX_TARGETS; i++) {
        h2a_cert_usage_cleanup(&r->held[i]);
        r->held_at[i] = 0;
    }
}

/*
 * What DescribeCertificate says reimport target i's ARN holds: asked once
 * per validate, both of its checks read the same answer (r->held[i]).
 */
static h2a_err s_described(h2a_run *r, size_t i, const h2a_cert_usage **cur)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_acct *a = NULL;
    json_object *detail = NULL;
    long long sent;
    h2a_err rv;

    if (r->held_at[i] == 0 && r->ahead_at[i] != 0) {
        /* The group asked already (ahead.c): that answer, once, as if asked here. */
        r->held[i] = r->ahead[i];
        r->held_at[i] = r->ahead_at[i];
        memset(&r->ahead[i], 0, sizeof(r->ahead[i]));
        r->ahead_at[i] = 0;
    }
    if (r->held_at[i] == 0) {
        H2A_GUARD(h2a_enroll_acct(r, t->account, t->region, &a));
        sent = h2a_enroll_now_ms();
        rv = h2a_acm_describe_certificate(a->ctx, t->region, t->certificate_arn, &detail);
        if (rv == H2A_OK) {
            rv = h2a_enroll_usage_from_describe(detail, &r->held[i]);
        }
        json_object_put(detail);
        if (rv != H2A_OK) {
            h2a_cert_usage_cleanup(&r->held[i]);
            return rv;
        }
        r->held_at[i] = sent > 0 ? sent : 1;
    }
    *cur = &r->held[i];
    return H2A_OK;
}

/* A reimport ARN of another account than the target's: refused here, not by AWS. */
static h2a_err s_reimport_account(const h2a_target *t, size_t i, const char *account)
{
    struct h2a_acm_arn arn;

    if (t->certificate_arn == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_acm_arn_parse("certificate_arn", t->certificate_arn, &arn));
    if (strcmp(arn.account, account) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "targets[%zu].certificate_arn: ARN account %s "
                           "differs from the target's account %s", i, arn.account, account);
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
        rv = h2a_policy_check_cert_authorization(r->policy, q->requester, &q->names,
                                                 a->id.account);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
        if (h2a_jset(&r->jt[i].account, a->id.account) != H2A_OK) {
            return H2A_ERR_NOMEM;
        }
        H2A_GUARD(s_reimport_account(t, i, a->id.account));
    }
    for (size_t i = 0; i < q->n_targets; i++) {
        const h2a_target *t = &q->targets[i];
        const h2a_cert_usage *cur = NULL;
        h2a_keytype kt = H2A_KT_NONE;
        h2a_err rv;

        if (t->certificate_arn == NULL) {
            continue;
        }
        rv = s_described(r, i, &cur);
        if (rv == H2A_OK) {
            rv = h2a_reimport_check_describe(t->certificate_arn, cur,
                                             q->inherit ? H2A_KT_NONE : r->kt, &kt);
        }
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
        const h2a_cert_usage *cur = NULL;
        h2a_cert_usage next = {0};
        h2a_err rv;

        if (t->certificate_arn == NULL) {
            continue;
        }
        rv = s_described(r, i, &cur);
        if (rv == H2A_OK) {
            rv = h2a_cert_usage_from_request(r->policy, r->kt,
                                             (const char *const *)q->names.dns,
                                             q->names.ndns, &next);
        }
        if (rv == H2A_OK) {
            /* What the certificate will carry: the issuer's template, else the CSR's. */
            const h2a_issuer_usage *iu = &r->issuer_usage;

            next.has_ku = iu->sets_usage || c.key_usage != 0;
            next.ku = iu->sets_usage ? iu->ku : c.key_usage;
            next.has_eku = iu->sets_usage || c.ext_key_usage != 0;
            next.eku = iu->sets_usage ? iu->eku : c.ext_key_usage;
            rv = h2a_reimport_check_cert(t->certificate_arn, cur, &next);
        }
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

/* The issuer's own refusals (acm-pca: CA state, families), before any key exists. */
static h2a_err s_issuer_precheck(h2a_run *r)
{
    h2a_issue_ctx ic;

    memset(&ic, 0, sizeof(ic));
    ic.conf = h2a_config_issuer(r->cfg, r->req->issuer);
    ic.request_id = r->req->id;
    ic.requester = r->req->requester;
    ic.state = r->w->issuers;
    if (ic.conf->type == H2A_ISSUER_ACM_PCA) {
        H2A_GUARD(h2a_enroll_aws_open(r));
        ic.aws = r->aws;
    }
    return h2a_issuer_precheck(&ic, r->kt, &r->issuer_usage);
}

/* ------------------------------------------------------------------ */
/* Step 1                                                              */
/* ------------------------------------------------------------------ */

/*
 * Step 1 of a fresh request: checks that need neither AWS nor the token,
 * then identities, authorization and the reimport pre-checks, then the
 * token (last: a refusal above never touched it). Its journal row is
 * written by the engine (durable, before any key).
 */
h2a_err h2a_enroll_validate(h2a_run *r)
{
    long long t0 = h2a_enroll_now_ms();
    h2a_err rv;

    r->kt = r->req->key;
    h2a_jreq_free(r->jr);
    h2a_jtargets_free(r->jt, r->njt);
    r->jr = NULL;
    r->jt = NULL;
    r->njt = 0;
    s_held_clear(r);
    H2A_GUARD(h2a_enroll_new_rows(r));
    rv = s_validate_local(r);
    if (rv == H2A_OK) {
        rv = s_validate_aws(r);
    }
    if (rv == H2A_OK) {
        rv = s_issuer_precheck(r);
    }
    if (rv == H2A_OK) {
        rv = s_reimport_precheck(r);
    }
    if (rv != H2A_OK) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
        h2a_enroll_audit(r, -1, "validate", h2a_enroll_terminal(rv) ? "refused" : "failed", NULL,
                         NULL, msg);
        h2a_err_set(rv, "%s", msg);
        return rv;
    }
    H2A_GUARD(h2a_enroll_token_open(r));
    H2A_GUARD(h2a_jset(&r->jr->key_type, h2a_keytype_cli_name(r->kt)));
    H2A_GUARD(h2a_jset(&r->jr->kcv, r->kcv));
    /* The row (durable before the token is touched) is written by the group. */
    r->t_validate0 = t0;
    r->need_insert = true;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Steps 2-3: key, CSR                                                 */
/* ------------------------------------------------------------------ */

/* The key a journal row names by its CKA_ID (a resumed request). */
h2a_err h2a_enroll_key_load(h2a_run *r)
{
    h2a_err rv = h2a_keygen_find_by_id_hex(r->sess, r->jr->key_id, &r->key);

    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "journal says key %s exists: ", r->jr->key_id);
    }
    snprintf(r->key_id, sizeof(r->key_id), "%s", r->jr->key_id);
    return H2A_OK;
}

static h2a_err s_keygen(h2a_run *r)
{
    long long t0 = h2a_enroll_now_ms();
    h2a_err rv;

    if (r->jr->state >= H2A_JS_KEY_GENERATED && r->jr->key_id != NULL) {
        return h2a_enroll_key_load(r);
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
                (r->w->many ? H2A_KEYGEN_MANY_KEYS : 0u),
            &r->key));
        r->key_made_here = true;
        h2a_enroll_crash_point("keygen", -1);
    }
    H2A_GUARD(h2a_keygen_key_id_hex(r->key, r->key_id));
    H2A_GUARD(h2a_jset(&r->jr->key_id, r->key_id));
    /* Lazy: a lost key id is found again by the label journaled before keygen. */
    H2A_GUARD(h2a_enroll_lazy_state(r, H2A_JS_KEY_GENERATED));
    r->t_ms[H2A_T_KEYGEN] = h2a_enroll_now_ms() - t0;
    if (r->defer) {
        r->pend_keygen_audit = true; /* after the group's commit */
    } else {
        h2a_enroll_audit(r, -1, "keygen", "ok", NULL, NULL, r->jr->key_label);
    }
    return H2A_OK;
}

/* The CSR, signed in the token; the issuer gets it in the submit step. */
static h2a_err s_csr(h2a_run *r)
{
    struct h2a_csr_req c;
    long long t0 = h2a_enroll_now_ms();

    if (r->jr->state >= H2A_JS_SUBMITTED) {
        return H2A_OK; /* the issuer has it, or the certificate is in the journal */
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
    return h2a_enroll_lazy_state(r, H2A_JS_CSR_SIGNED);
}


/* Step 2: the key. A failure is journaled by the failure rule. */
h2a_err h2a_enroll_keygen(h2a_run *r)
{
    h2a_err rv = s_keygen(r);

    return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "keygen");
}

h2a_err h2a_enroll_csr(h2a_run *r)
{
    h2a_err rv = s_csr(r);

    return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "csr");
}
