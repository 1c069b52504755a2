/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include "enroll/enroll_int.h"

/*
 * Step 4: the issuer. Submit the CSR; an issuer that completes at once
 * (local, command) hands the certificate back, an asynchronous one a handle
 * that is journaled (state submitted, durable) before anything waits. Then
 * poll that handle until the certificate comes, the issuer refuses, or the
 * issuer's timeout passes. A resumed request in state submitted polls its
 * journaled handle: it never submits again.
 */

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
    rv = h2a_pem_encode(H2A_PEM_CERT, r->cert, &leaf);
    for (int i = 0; rv == H2A_OK && i < sk_X509_num(r->chain); i++) {
        rv = h2a_pem_encode(H2A_PEM_CERT, sk_X509_value(r->chain, i), &chain);
    }
    /* A leaf with no chain has not been through h2a_pem_encode(). */
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

h2a_err h2a_enroll_load_issued(h2a_run *r)
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

/*
 * A renewal's predecessor for the issuer (ACME's `replaces`): the
 * certificate of the current generation of its first reimport ARN, when
 * that came from the same issuer. NULL when there is none or the issuer
 * has no use for it (its journal reads are not free); a failed lookup only
 * loses the hint.
 */
static char *s_predecessor(h2a_run *r, const h2a_issue_ctx *ic)
{
    const h2a_issuer_ops *ops = h2a_issuer_ops_for(ic);
    const char *arn = NULL;
    h2a_enroll_serving cur;
    char *pem = NULL;

    if (ops == NULL || !ops->names_predecessor || r->req == NULL || r->journal == NULL ||
        r->req->reason == NULL || strcmp(r->req->reason, "renew") != 0) {
        return NULL;
    }
    for (size_t i = 0; arn == NULL && i < r->req->n_targets; i++) {
        arn = r->req->targets[i].certificate_arn;
    }
    if (arn != NULL && h2a_enroll_serving_get(r, arn, &cur) == H2A_OK) {
        if (cur.q != NULL && cur.jr->cert_pem != NULL &&
            strcmp(cur.q->issuer, r->req->issuer) == 0) {
            pem = strdup(cur.jr->cert_pem);
        }
        h2a_enroll_serving_free(&cur);
    }
    h2a_err_clear();
    return pem;
}

h2a_err h2a_enroll_submit(h2a_run *r, const h2a_issue_ctx *ic)
{
    h2a_issue_result res;
    h2a_issue_ctx c = *ic;
    char *pred;
    long long t0 = h2a_enroll_now_ms();
    h2a_err rv;

    if (r->jr->state >= H2A_JS_SUBMITTED) {
        return H2A_OK; /* the handle, or the certificate, is in the journal */
    }
    pred = s_predecessor(r, ic);
    c.predecessor_pem = pred;
    rv = h2a_issuer_submit(&c, r->csr, &res);
    free(pred);
    if (rv != H2A_OK) {
        return h2a_enroll_fail_early(r, rv, "issue");
    }
    X509_REQ_free(r->csr);
    r->csr = NULL;
    r->t_ms[H2A_T_ISSUE] = h2a_enroll_now_ms() - t0;
    if (res.done) {
        r->cert = res.leaf;
        r->chain = res.chain;
        res.leaf = NULL;
        res.chain = NULL;
        h2a_issue_result_clear(&res);
        h2a_enroll_crash_point("issue", -1);
        rv = s_cert_facts(r);
        return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "issue");
    }
    /* The issuer has the CSR: from here a lost handle means a second certificate. */
    h2a_enroll_crash_point("submit", -1);
    rv = h2a_jset(&r->jr->issuer_handle, res.handle);
    h2a_issue_result_clear(&res);
    if (rv == H2A_OK && r->defer) {
        rv = h2a_enroll_can_advance(r, H2A_JS_SUBMITTED);
        r->need_submitted = rv == H2A_OK;
    } else if (rv == H2A_OK) {
        rv = h2a_enroll_advance(r, H2A_JS_SUBMITTED, H2A_JSYNC_DURABLE);
        if (rv == H2A_OK) {
            h2a_enroll_submitted(r);
        }
    }
    return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "issue");
}

void h2a_enroll_submitted(h2a_run *r)
{
    char detail[1024];

    r->need_submitted = false;
    /* A run without its request (tests driving the issue step alone) names the handle only. */
    h2a_issuer_audit_detail(r->cfg != NULL && r->req != NULL
                                ? h2a_config_issuer(r->cfg, r->req->issuer)
                                : NULL,
                            r->jr->issuer_handle, detail, sizeof(detail));
    h2a_enroll_audit(r, -1, "submit", "ok", NULL, NULL, detail);
    h2a_enroll_crash_point("submitted", -1);
}

/*
 * The issuer gave up the journaled handle for a new one (an ACME order that
 * became invalid or was forgotten): the new handle is durable, and audited,
 * before the next poll answers anything for it.
 */
static h2a_err s_replace_handle(h2a_run *r, const char *handle)
{
    char detail[2100];
    h2a_err rv;

    snprintf(detail, sizeof(detail), "%s replaces %s", handle, r->jr->issuer_handle);
    H2A_GUARD(h2a_jset(&r->jr->issuer_handle, handle));
    H2A_GUARD(h2a_journal_begin(r->journal, H2A_JSYNC_DURABLE));
    rv = h2a_journal_end(r->journal, h2a_enroll_put_req(r));
    if (rv == H2A_OK) {
        h2a_enroll_audit(r, -1, "submit", "replaced", NULL, NULL, detail);
    }
    return rv;
}

/* One poll of a submitted request's journaled handle. */
static h2a_err s_poll_due(h2a_run *r, const h2a_issue_ctx *ic)
{
    h2a_issue_result res;
    h2a_issue_ctx c = *ic;
    long long now = h2a_enroll_now_ms();
    h2a_err rv;

    c.poll_attempt = r->poll_attempts++;
    ic = &c;
    if (r->jr->issuer_handle == NULL) {
        return h2a_err_set(H2A_ERR_STATE, "journal: request '%s' is submitted but has no "
                           "issuer handle", r->jr->id);
    }
    if (r->poll_deadline == 0) {
        r->poll_deadline = now + h2a_issuer_timeout_ms(ic->conf);
        r->poll_t0 = now;
    }
    rv = h2a_issuer_poll_due(ic, r->jr->issuer_handle, r->poll_deadline, &res, &r->poll_next);
    r->wait_timed_out = res.timed_out;
    if (rv == H2A_OK && res.done) {
        r->cert = res.leaf;
        r->chain = res.chain;
        res.leaf = NULL;
        res.chain = NULL;
        r->t_ms[H2A_T_ISSUE] += h2a_enroll_now_ms() - r->poll_t0;
        h2a_enroll_crash_point("issue", -1);
        rv = s_cert_facts(r);
    } else if (rv == H2A_OK && res.handle != NULL) {
        rv = s_replace_handle(r, res.handle);
    }
    h2a_issue_result_clear(&res);
    return rv;
}

h2a_err h2a_enroll_poll_once(h2a_run *r, const h2a_issue_ctx *ic)
{
    h2a_err rv = H2A_OK;

    r->poll_next = 0;
    if (r->jr->state >= H2A_JS_ISSUED) {
        rv = h2a_enroll_load_issued(r);
    } else if (r->cert == NULL) {
        rv = s_poll_due(r, ic);
    }
    return rv == H2A_OK ? H2A_OK : h2a_enroll_fail_early(r, rv, "issue");
}

struct s_one {
    const h2a_issue_ctx *ic;
    h2a_err rv;
};

static void s_poll_one(h2a_run *r, void *arg)
{
    struct s_one *o = arg;

    o->rv = h2a_enroll_poll_once(r, o->ic);
    if (o->rv != H2A_OK) {
        r->poll_next = 0;
    }
}

h2a_err h2a_enroll_poll(h2a_run *r, const h2a_issue_ctx *ic)
{
    struct s_one o = {ic, H2A_OK};

    H2A_GUARD(h2a_enroll_poll_once(r, ic));
    h2a_enroll_wait_due(&r, 1, s_poll_one, &o);
    return o.rv;
}

void h2a_enroll_wait_due(h2a_run **runs, size_t n, void (*poll)(h2a_run *r, void *arg),
                         void *arg)
{
    for (;;) {
        long long next = 0, now;

        for (size_t i = 0; i < n; i++) {
            long long t = runs[i]->poll_next;

            if (t > 0 && (next == 0 || t < next)) {
                next = t;
            }
        }
        if (next == 0) {
            return;
        }
        now = h2a_enroll_now_ms();
        if (next > now) {
            usleep((useconds_t)((next - now) * 1000));
        }
        now = h2a_enroll_now_ms();
        for (size_t i = 0; i < n; i++) {
            if (runs[i]->poll_next > 0 && runs[i]->poll_next <= now) {
                poll(runs[i], arg);
            }
        }
    }
}
