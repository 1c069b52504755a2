/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "enroll/enroll_int.h"
#include "enroll/h2a_envelope.h"

/*
 * Steps 5-7 for one target: stage the wrapped key in Secrets Manager,
 * import into ACM from what was staged, then delete the staging secret.
 * Each step is journaled before the next; a crash anywhere is finished by
 * `resume` without a second key, secret or import.
 */

#define H2A_MAX_TAGS 50

struct s_tags {
    struct h2a_aws_tag t[H2A_MAX_TAGS];
    size_t n;
    char idx[24];
    char expiry[24];
    char id[H2A_REQUEST_ID_MAX + 1];
};

/*
 * Our tags for target i: on a staging secret (user false) and on a
 * certificate (user true: the target's tags too). `root` names the
 * request by its line's root (a reimport by a renewal or rollback, see
 * s_tags_kept); new imports and secrets carry the run's own id, which
 * resume and dedupe search for.
 */
static void s_own_tags(h2a_run *r, size_t i, struct s_tags *tg, bool user, bool root,
                       long long expiry)
{
    const h2a_target *t = &r->req->targets[i];
    size_t n = root ? h2a_request_root_len(r->req->id, r->jr->reason) : strlen(r->req->id);

    tg->n = 0;
    snprintf(tg->idx, sizeof(tg->idx), "%zu", i);
    snprintf(tg->id, sizeof(tg->id), "%.*s", (int)n, r->req->id);
    tg->t[tg->n++] = (struct h2a_aws_tag){H2A_TAG_MARKER, "true"};
    tg->t[tg->n++] = (struct h2a_aws_tag){H2A_TAG_REQUEST, tg->id};
    tg->t[tg->n++] = (struct h2a_aws_tag){H2A_TAG_TARGET, tg->idx};
    if (expiry > 0) {
        snprintf(tg->expiry, sizeof(tg->expiry), "%lld", expiry);
        tg->t[tg->n++] = (struct h2a_aws_tag){H2A_TAG_EXPIRY, tg->expiry};
    }
    for (size_t k = 0; user && k < t->n_tags && tg->n < H2A_MAX_TAGS; k++) {
        tg->t[tg->n++] = (struct h2a_aws_tag){t->tags[k].key, t->tags[k].value};
    }
}

static void s_timing(h2a_run *r, size_t i)
{
    char buf[160];

    snprintf(buf, sizeof(buf), "{\"stage\":%lld,\"import\":%lld,\"cleanup\":%lld}",
             r->tt_ms[i][H2A_TT_STAGE], r->tt_ms[i][H2A_TT_IMPORT],
             r->tt_ms[i][H2A_TT_CLEANUP]);
    (void)h2a_jset(&r->jt[i].timings, buf);
}

static void s_step_audit(h2a_run *r, size_t i, const char *step, const char *detail,
                         bool ok)
{
    bool stage = strcmp(step, "stage") == 0;

    h2a_enroll_audit(r, (long)i, step, ok ? "ok" : "failed",
                     stage ? NULL : r->jt[i].imported_arn,
                     strcmp(step, "import") == 0 ? NULL : r->jt[i].secret_name, detail);
}

/*
 * A step of target i is done: journal it (lazy) and audit it, or in a group
 * leave both for the group's next commit.
 */
static h2a_err s_step_done(h2a_run *r, size_t i, const char *step, const char *detail)
{
    h2a_err rv;

    if (r->defer && r->npend < H2A_REQUEST_MAX_TARGETS) {
        r->pend[r->npend++] = (struct h2a_pending_step){i, step, detail};
        return H2A_OK;
    }
    rv = h2a_enroll_put_target(r, i, H2A_JSYNC_LAZY);
    s_step_audit(r, i, step, detail, rv == H2A_OK);
    return rv;
}

h2a_err h2a_enroll_pending_rows(h2a_run *r)
{
    for (size_t k = 0; k < r->npend; k++) {
        H2A_GUARD(h2a_journal_put_target(r->journal, r->req->id, &r->jt[r->pend[k].i]));
    }
    return H2A_OK;
}

void h2a_enroll_pending_audit(h2a_run *r, bool committed)
{
    for (size_t k = 0; k < r->npend; k++) {
        s_step_audit(r, r->pend[k].i, r->pend[k].step, r->pend[k].detail, committed);
    }
    r->npend = 0;
}

static h2a_err s_envelope(h2a_run *r, size_t i, h2a_buf *out)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_envelope e = {0};
    h2a_err rv;

    h2a_buf_init(&e.wrapped, 0);
    rv = h2a_keygen_wrap(r->wrap, r->key, &e.mech, &e.wrapped);
    if (rv == H2A_OK) {
        e.format_version = H2A_ENVELOPE_VERSION;
        e.wrap_key_label = (char *)r->cfg->wrap_key;
        e.kcv = r->kcv;
        e.kcv_kind = (char *)h2a_wrapkey_idkind_name(h2a_p11_wrapkey_idkind(r->wrap));
        e.key_type = r->kt;
        e.certificate = r->jr->cert_pem;
        e.chain = r->jr->chain_pem;
        e.request_id = r->req->id;
        e.target_index = i;
        e.region = t->region;
        e.account = r->jt[i].account;
        e.certificate_arn = t->certificate_arn;
        rv = h2a_envelope_build(&e, out);
    }
    h2a_buf_free(&e.wrapped);
    return rv;
}

/* Step 5. */
static h2a_err s_stage(h2a_run *r, size_t i, h2a_acct *a)
{
    const h2a_target *t = &r->req->targets[i];
    struct h2a_sm_create in = {0};
    struct s_tags tg;
    char token[H2A_CRT_LEN + 1], desc[200];
    h2a_buf name;
    json_object *resp = NULL, *v = NULL;
    long long t0 = h2a_enroll_now_ms();
    long long expiry = (long long)time(NULL) + r->cfg->staging.ttl_seconds;
    h2a_err rv;

    h2a_buf_init(&name, 0);
    h2a_buf_free(&r->staged[i]);
    h2a_buf_init(&r->staged[i], 0);
    rv = h2a_request_secret_name(r->req, r->cfg->staging.prefix, i, &name);
    if (rv == H2A_OK) {
        rv = h2a_request_client_token(r->req, i, token);
    }
    if (rv == H2A_OK) {
        rv = s_envelope(r, i, &r->staged[i]);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    s_own_tags(r, i, &tg, false, false, expiry);
    snprintf(desc, sizeof(desc), "hsm2acm staging: wrapped key for request %s target %zu; "
             "deleted after import", r->req->id, i);
    in.name = (const char *)name.data;
    in.client_request_token = token;
    in.kms_key_id = r->cfg->staging.kms_key_id;
    in.secret_string = &r->staged[i];
    in.description = desc;
    in.tags = tg.t;
    in.n_tags = tg.n;
    rv = h2a_sm_create_secret(a->ctx, t->region, &in, &resp);
    if (rv != H2A_OK) {
        goto done;
    }
    r->staged_here[i] = true;
    h2a_enroll_crash_point("stage", (long)i);
    rv = h2a_jset(&r->jt[i].secret_name, (const char *)name.data);
    if (rv == H2A_OK && json_object_object_get_ex(resp, "ARN", &v)) {
        rv = h2a_jset(&r->jt[i].secret_arn, json_object_get_string(v));
    }
    if (rv != H2A_OK) {
        goto done;
    }
    r->jt[i].secret_expiry = expiry;
    rv = h2a_enroll_target_move(r, i, H2A_JS_STAGED);
    if (rv != H2A_OK) {
        goto done;
    }
    r->tt_ms[i][H2A_TT_STAGE] = h2a_enroll_now_ms() - t0;
    s_timing(r, i);
    /*
     * Lazy. If a power cut takes it, the journal says "issued" (durable) and
     * resume stages again: the same name, ClientRequestToken and value make
     * CreateSecret idempotent, and a resumed import looks for the
     * certificate in ACM before importing, so nothing is made twice.
     */
    rv = s_step_done(r, i, "stage", NULL);
done:
    json_object_put(resp);
    h2a_buf_free(&name);
    return rv;
}

static h2a_err s_x509_from_pem(const char *pem, X509 **out)
{
    BIO *b = BIO_new_mem_buf(pem, -1);

    *out = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (*out == NULL) {
        return h2a_err_openssl(H2A_ERR_VERIFY, "certificate served by ACM is not PEM");
    }
    return H2A_OK;
}

/*
 * The common answer without parsing: ACM serves the bytes it was given, and
 * parsing a certificate costs OpenSSL 3.0 a decoder set-up for its key.
 */
static bool s_same_der(const char *pem, X509 *ours)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL, *mine = NULL;
    long len = 0;
    int mlen = i2d_X509(ours, &mine);
    bool same = false;

    if (b != NULL && mlen > 0 && PEM_read_bio(b, &name, &header, &der, &len) == 1) {
        same = strcmp(name, PEM_STRING_X509) == 0 && len == mlen &&
               memcmp(der, mine, (size_t)len) == 0;
    }
    ERR_clear_error();
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    OPENSSL_free(mine);
    BIO_free(b);
    return same;
}

/* Does `arn` serve our certificate (serial and token public key)? */
static h2a_err s_serves_ours(h2a_run *r, h2a_acct *a, const char *region, const char *arn,
                             bool *yes)
{
    char *cert_text = NULL, *chain = NULL;
    X509 *x = NULL;
    h2a_err rv;

    *yes = false;
    rv = h2a_acm_get_certificate(a->ctx, region, arn, &cert_text, &chain);
    if (rv == H2A_OK && s_same_der(cert_text, r->cert)) {
        *yes = true;
        goto done;
    }
    if (rv == H2A_OK) {
        rv = s_x509_from_pem(cert_text, &x);
    }
    if (rv == H2A_OK) {
        *yes = ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
                                X509_get0_serialNumber(r->cert)) == 0 &&
               EVP_PKEY_eq(X509_get0_pubkey(x), h2a_p11_key_public(r->key)) == 1;
    }
done:
    X509_free(x);
    free(cert_text);
    free(chain);
    return rv;
}

/*
 * New imports carrying our request id and target index tags. With `keep`
 * NULL: the first one that serves our certificate goes to *arn_out. With
 * `keep` set: every OTHER one is deleted (a duplicate from a retried call).
 */
static h2a_err s_scan_imports(h2a_run *r, size_t i, h2a_acct *a, const char *keep,
                              char **arn_out);

static h2a_err s_dedupe(h2a_run *r, size_t i, h2a_acct *a, const char *keep)
{
    return s_scan_imports(r, i, a, keep, NULL);
}

/* A new import made by an interrupted run: find it by our tags. */
static h2a_err s_find_import(h2a_run *r, size_t i, h2a_acct *a, char **arn_out)
{
    const h2a_target *t = &r->req->targets[i];

    *arn_out = NULL;
    if (t->certificate_arn != NULL && !r->jt[i].new_arn) {
        bool yes = false;

        H2A_GUARD(s_serves_ours(r, a, t->region, t->certificate_arn, &yes));
        if (yes) {
            *arn_out = strdup(t->certificate_arn);
        }
        return H2A_OK;
    }
    return s_scan_imports(r, i, a, NULL, arn_out);
}

static h2a_err s_scan_imports(h2a_run *r, size_t i, h2a_acct *a, const char *keep,
                              char **arn_out)
{
    const h2a_target *t = &r->req->targets[i];
    json_object *list = NULL;
    char idx[24];
    char *dummy = NULL;
    h2a_err rv;

    if (arn_out == NULL) {
        arn_out = &dummy;
    }
    *arn_out = NULL;
    snprintf(idx, sizeof(idx), "%zu", i);
    H2A_GUARD(h2a_acm_list_certificates(a->ctx, t->region, NULL, &list));
    rv = H2A_OK;
    for (size_t k = 0; rv == H2A_OK && *arn_out == NULL && k < json_object_array_length(list);
         k++) {
        json_object *arnv = NULL, *tags = NULL;
        const char *arn;
        bool req_ok = false, idx_ok = false;

        if (!json_object_object_get_ex(json_object_array_get_idx(list, k), "CertificateArn",
                                       &arnv)) {
            continue;
        }
        arn = json_object_get_string(arnv);
        rv = h2a_acm_list_tags(a->ctx, t->region, arn, &tags);
        for (size_t m = 0; rv == H2A_OK && m < json_object_array_length(tags); m++) {
            json_object *tag = json_object_array_get_idx(tags, m), *kk = NULL, *vv = NULL;

            if (!json_object_object_get_ex(tag, "Key", &kk) ||
                !json_object_object_get_ex(tag, "Value", &vv)) {
                continue;
            }
            if (strcmp(json_object_get_string(kk), H2A_TAG_REQUEST) == 0 &&
                strcmp(json_object_get_string(vv), r->req->id) == 0) {
                req_ok = true;
            }
            if (strcmp(json_object_get_string(kk), H2A_TAG_TARGET) == 0 &&
                strcmp(json_object_get_string(vv), idx) == 0) {
                idx_ok = true;
            }
        }
        json_object_put(tags);
        if (rv == H2A_OK && req_ok && idx_ok && keep != NULL) {
            if (strcmp(arn, keep) != 0) {
                H2A_LOG_WARN("targets[%zu]: deleting duplicate import %s", i, arn);
                rv = h2a_acm_delete_certificate(a->ctx, t->region, arn);
                h2a_enroll_audit(r, (long)i, "dedupe", rv == H2A_OK ? "ok" : "failed", arn,
                                 NULL, "duplicate new import from a retried call");
            }
        } else if (rv == H2A_OK && req_ok && idx_ok) {
            bool yes = false;

            rv = s_serves_ours(r, a, t->region, arn, &yes);
            if (rv == H2A_OK && yes) {
                *arn_out = strdup(arn);
            }
        }
    }
    json_object_put(list);
    free(dummy);
    return rv;
}

/* Read the staged value back and check it is what hsm2acm staged. */
static h2a_err s_read_staged(h2a_run *r, size_t i, h2a_acct *a, h2a_envelope *e)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_buf val;
    h2a_err rv;
    const char *id = r->jt[i].secret_arn != NULL ? r->jt[i].secret_arn : r->jt[i].secret_name;

    h2a_buf_init_secure(&val, H2A_ENVELOPE_MAX + 1);
    rv = h2a_sm_get_secret_value(a->ctx, t->region, id, &val, NULL);
    if (rv != H2A_OK) {
        goto done;
    }
    if (r->staged_here[i] &&
        (val.len != r->staged[i].len || !h2a_ct_equal(val.data, r->staged[i].data, val.len))) {
        rv = h2a_err_set(H2A_ERR_VERIFY, "staging secret %s does not hold what was staged",
                         id);
        goto done;
    }
    rv = h2a_envelope_parse((const char *)val.data, val.len, e);
    if (rv != H2A_OK) {
        goto done;
    }
    if (strcmp(e->request_id, r->req->id) != 0 || e->target_index != i ||
        strcmp(e->region, t->region) != 0 || e->key_type != r->kt ||
        strcmp(e->wrap_key_label, r->cfg->wrap_key) != 0 || strcmp(e->kcv, r->kcv) != 0 ||
        !h2a_p11_wrapkey_idkind_is(r->wrap, e->kcv_kind) ||
        strcmp(e->certificate, r->jr->cert_pem) != 0 ||
        strcmp(e->chain, r->jr->chain_pem != NULL ? r->jr->chain_pem : "") != 0) {
        rv = h2a_err_set(H2A_ERR_VERIFY,
                         "staging secret %s is not the value staged for request %s target %zu "
                         "(request, target, key type, wrap key %s/%s or certificate differ)",
                         id, r->req->id, i, r->cfg->wrap_key, r->kcv);
    }
done:
    h2a_buf_free(&val);
    return rv;
}

/*
 * Import from what was staged: read the value back, unwrap it in the token
 * into a locked buffer, ImportCertificate, and wipe it. *arn gets the ARN;
 * *before the client's counters just before the import call.
 */
static h2a_err s_import_staged(h2a_run *r, size_t i, h2a_acct *a, bool reimport, char **arn,
                               struct h2a_aws_stats *before)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_envelope e = {0};
    h2a_buf pem;
    struct h2a_acm_import in = {0};
    struct s_tags tg;
    h2a_err rv;

    h2a_buf_init_secure(&pem, 8192);
    rv = s_read_staged(r, i, a, &e);
    if (rv == H2A_OK) {
        rv = h2a_keygen_unwrap_pem(r->sess, r->wrap, e.mech, r->kt, e.wrapped.data,
                                   e.wrapped.len, h2a_p11_key_public(r->key), &pem);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    h2a_enroll_crash_point("unwrap", (long)i);
    in.certificate_pem = r->jr->cert_pem;
    in.chain_pem = (r->jr->chain_pem != NULL && r->jr->chain_pem[0] != '\0')
                       ? r->jr->chain_pem : NULL;
    in.private_key_pem = &pem;
    if (reimport) {
        in.certificate_arn = t->certificate_arn;
    } else {
        s_own_tags(r, i, &tg, true, false, 0);
        in.tags = tg.t;
        in.n_tags = tg.n;
    }
    h2a_aws_ctx_stats(a->ctx, before);
    rv = h2a_acm_import_certificate(a->ctx, t->region, &in, arn);
done:
    h2a_buf_free(&pem); /* the plaintext key is gone from here on */
    h2a_envelope_cleanup(&e);
    return rv;
}

static bool s_same_tags(const h2a_target *x, const h2a_target *y)
{
    if (x->n_tags != y->n_tags) {
        return false;
    }
    for (size_t k = 0; k < x->n_tags; k++) {
        if (strcmp(x->tags[k].key, y->tags[k].key) != 0 ||
            strcmp(x->tags[k].value, y->tags[k].value) != 0) {
            return false;
        }
    }
    return true;
}

/*
 * A renewal or rollback is another generation of what the ARN serves.
 * ACM keeps an ARN's tags across a reimport, so when the ARN's current
 * generation was delivered from the same target index with the same tags,
 * they stand as they are, request id included: it keeps naming the request
 * that brought the ARN under hsm2acm (`status ARN` lists the generations).
 * Writing them again would be one more ACM call per renewal for nothing.
 */
static bool s_tags_kept(h2a_run *r, size_t i, const char *arn)
{
    const char *why = r->jr->reason;
    h2a_enroll_serving cur;
    size_t n;
    bool kept;

    if (why == NULL || (strcmp(why, "renew") != 0 && strcmp(why, "rollback") != 0)) {
        return false;
    }
    /* A journal that cannot say only costs the call: the tags are written. */
    if (h2a_enroll_serving_get(r, arn, &cur) != H2A_OK) {
        h2a_err_clear();
        return false;
    }
    /* The request id tag that delivery wrote is its line's root; ours must be the same. */
    n = h2a_request_root_len(r->req->id, why);
    kept = cur.q != NULL && cur.target_idx == i && i < cur.q->n_targets &&
           h2a_request_root_len(cur.jr->id, cur.jr->reason) == n &&
           strncmp(cur.jr->id, r->req->id, n) == 0 &&
           s_same_tags(&cur.q->targets[i], &r->req->targets[i]);
    h2a_enroll_serving_free(&cur);
    return kept;
}

/* A reimport gets its tags, unless the ARN already carries them. */
static h2a_err s_retag(h2a_run *r, size_t i, h2a_acct *a, const char *arn)
{
    struct s_tags tg;

    if (s_tags_kept(r, i, arn)) {
        return H2A_OK;
    }
    /* ACM takes no Tags with a reimport; tag afterwards. */
    s_own_tags(r, i, &tg, true, true, 0);
    return h2a_acm_add_tags(a->ctx, r->req->targets[i].region, arn, tg.t, tg.n);
}

/* A new import whose call was retried may exist twice; a reimport gets its tags. */
static h2a_err s_after_import(h2a_run *r, size_t i, h2a_acct *a, bool reimport,
                              const char *arn, const struct h2a_aws_stats *before)
{
    struct h2a_aws_stats after = {0};

    h2a_aws_ctx_stats(a->ctx, &after);
    if (!reimport && (after.retries > before->retries ||
                      after.tls_connects > before->tls_connects)) {
        /*
         * A retried new import may have run twice (reply lost): keep one.
         * A new connection counts too: libcurl silently re-sends a request
         * whose reused connection died, which the retry counter never sees.
         */
        return s_dedupe(r, i, a, arn);
    }
    return reimport ? s_retag(r, i, a, arn) : H2A_OK;
}

/* Step 6. */
static h2a_err s_import(h2a_run *r, size_t i, h2a_acct *a)
{
    const h2a_target *t = &r->req->targets[i];
    char *arn = NULL;
    bool reimport = t->certificate_arn != NULL && !r->jt[i].new_arn;
    bool yes = false;
    long long t0 = h2a_enroll_now_ms();
    struct h2a_aws_stats before = {0};
    h2a_err rv = H2A_OK;

    if (r->resumed) {
        /* An import that happened but was not journaled: never import twice. */
        rv = s_find_import(r, i, a, &arn);
        if (rv == H2A_OK && arn != NULL) {
            H2A_LOG_INFO("targets[%zu]: ACM already serves this certificate at %s", i, arn);
        }
    }
    if (rv == H2A_OK && arn == NULL) {
        rv = s_import_staged(r, i, a, reimport, &arn, &before);
        if (rv == H2A_OK) {
            h2a_enroll_crash_point("import", (long)i);
            rv = s_after_import(r, i, a, reimport, arn, &before);
        }
    } else if (rv == H2A_OK && reimport) {
        /* The interruption may have come between the reimport and its tags. */
        rv = s_retag(r, i, a, arn);
    }
    if (rv == H2A_OK) {
        rv = s_serves_ours(r, a, t->region, arn, &yes);
    }
    if (rv == H2A_OK && !yes) {
        rv = h2a_err_set(H2A_ERR_VERIFY, "after ImportCertificate, %s does not serve serial %s "
                         "with the token key", arn, r->jr->serial);
    }
    if (rv == H2A_OK && (h2a_jset(&r->jt[i].imported_arn, arn) != H2A_OK ||
                         h2a_jset(&r->jt[i].serial, r->jr->serial) != H2A_OK)) {
        rv = H2A_ERR_NOMEM;
    }
    if (rv == H2A_OK) {
        rv = h2a_enroll_target_move(r, i, H2A_JS_IMPORTED);
    }
    free(arn);
    if (rv != H2A_OK) {
        return rv;
    }
    r->tt_ms[i][H2A_TT_IMPORT] = h2a_enroll_now_ms() - t0;
    s_timing(r, i);
    /* Lazy: resume finds an import whose record was lost by its tags. */
    return s_step_done(r, i, "import", reimport ? "reimport" : "new");
}

/* Step 7. */
static h2a_err s_cleanup(h2a_run *r, size_t i, h2a_acct *a)
{
    long long t0 = h2a_enroll_now_ms();
    const char *id = r->jt[i].secret_arn != NULL ? r->jt[i].secret_arn : r->jt[i].secret_name;
    h2a_err rv = H2A_OK;

    if (id != NULL) {
        rv = h2a_enroll_delete_secret(a, r->req->targets[i].region, id, "cleanup", (long)i);
    }
    if (rv != H2A_OK) {
        return rv;
    }
    H2A_GUARD(h2a_enroll_target_move(r, i, H2A_JS_CLEANED));
    (void)h2a_jset(&r->jt[i].error, NULL);
    r->tt_ms[i][H2A_TT_CLEANUP] = h2a_enroll_now_ms() - t0;
    s_timing(r, i);
    /* Lazy: a forced DeleteSecret of a missing secret succeeds on resume. */
    return s_step_done(r, i, "cleanup", NULL);
}

static h2a_err s_fail_target(h2a_run *r, size_t i, h2a_acct *a, h2a_err rv,
                             const char *step, h2a_jstate reached)
{
    char msg[1024];

    snprintf(msg, sizeof(msg), "%s", h2a_err_msg());
    /*
     * Nothing half-made: if the import did not happen, the staging secret
     * goes again now (best effort) and the target returns to `issued`, so
     * resume re-stages it with the same token and value.
     */
    if (reached == H2A_JS_STAGED && a != NULL && r->jt[i].secret_name != NULL) {
        const char *id = r->jt[i].secret_arn != NULL ? r->jt[i].secret_arn
                                                      : r->jt[i].secret_name;

        if (h2a_enroll_delete_secret(a, r->req->targets[i].region, id, NULL, -1) == H2A_OK) {
            h2a_enroll_audit(r, (long)i, "unstage", "ok", NULL, r->jt[i].secret_name, NULL);
            reached = H2A_JS_ISSUED;
            (void)h2a_jset(&r->jt[i].secret_name, NULL);
            (void)h2a_jset(&r->jt[i].secret_arn, NULL);
            r->jt[i].secret_expiry = 0;
        } else {
            H2A_LOG_WARN("targets[%zu]: staging secret %s stays until resume or sweep: %s",
                         i, id, h2a_err_msg());
        }
    }
    if (h2a_enroll_target_move(r, i, H2A_JS_FAILED) != H2A_OK) {
        H2A_LOG_ERR("%s", h2a_err_msg());
    } else {
        /* `reached` is issued again when the staging secret was deleted above. */
        r->jt[i].resume_from = reached;
    }
    (void)h2a_jset(&r->jt[i].error, msg);
    if (h2a_enroll_put_target(r, i, H2A_JSYNC_DURABLE) != H2A_OK) {
        H2A_LOG_ERR("journal: %s", h2a_err_msg());
    }
    h2a_enroll_audit(r, (long)i, step, "failed", r->jt[i].imported_arn, r->jt[i].secret_name,
                     msg);
    return h2a_err_set(rv, "%s", msg);
}

h2a_err h2a_enroll_deliver_target(h2a_run *r, size_t i, h2a_jstate upto)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_acct *a = NULL;
    h2a_jstate st = r->jt[i].state == H2A_JS_FAILED ? r->jt[i].resume_from : r->jt[i].state;
    h2a_err rv;

    if (st < H2A_JS_ISSUED) {
        st = H2A_JS_ISSUED;
    }
    rv = h2a_enroll_acct(r, t->account, t->region, &a);
    if (rv != H2A_OK) {
        return s_fail_target(r, i, NULL, rv, "stage", st);
    }
    if (st == H2A_JS_ISSUED && upto >= H2A_JS_STAGED) {
        rv = s_stage(r, i, a);
        if (rv != H2A_OK) {
            return s_fail_target(r, i, a, rv, "stage", st);
        }
        st = H2A_JS_STAGED;
    }
    if (st == H2A_JS_STAGED && upto >= H2A_JS_IMPORTED) {
        rv = s_import(r, i, a);
        if (rv != H2A_OK) {
            return s_fail_target(r, i, a, rv, "import", st);
        }
        st = H2A_JS_IMPORTED;
    }
    if (st == H2A_JS_IMPORTED && upto >= H2A_JS_CLEANED) {
        rv = s_cleanup(r, i, a);
        if (rv != H2A_OK) {
            return s_fail_target(r, i, a, rv, "cleanup", st);
        }
    }
    return H2A_OK;
}
