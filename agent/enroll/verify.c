/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "enroll/enroll_int.h"

/*
 * Step 4: nothing is delivered unless the issued certificate
 *  - carries the token key's public key,
 *  - verifies through its chain (OpenSSL, at the current time),
 *  - is valid now and names at least one DNS name,
 *  - names nothing the request did not ask for, every name passing the
 *    policy's SAN rules and authorization as the request's did,
 *  - has a key of the same family as its issuing CA's (ACM's rule),
 *  - and, for a reimport, meets ACM's KeyUsage/ExtendedKeyUsage rules
 *    against what the ARN holds now (s_reimport_current).
 */

static h2a_err s_chain_verifies(h2a_run *r)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int n = sk_X509_num(r->chain);
    h2a_err rv = H2A_OK;

    if (store == NULL || ctx == NULL || untrusted == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "verify");
        goto done;
    }
    if (n == 0) {
        rv = h2a_err_set(H2A_ERR_VERIFY,
                         "issuer '%s' returned no chain: the certificate cannot be verified",
                         r->req->issuer);
        goto done;
    }
    /* The top of the chain is the anchor; the rest are intermediates. */
    if (X509_STORE_add_cert(store, sk_X509_value(r->chain, n - 1)) != 1) {
        rv = h2a_err_openssl(H2A_ERR_VERIFY, "chain anchor");
        goto done;
    }
    for (int i = 0; i < n - 1; i++) {
        if (sk_X509_push(untrusted, sk_X509_value(r->chain, i)) <= 0) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "verify");
            goto done;
        }
    }
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
    if (X509_STORE_CTX_init(ctx, store, r->cert, untrusted) != 1) {
        rv = h2a_err_openssl(H2A_ERR_VERIFY, "X509_STORE_CTX_init");
        goto done;
    }
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);

        rv = h2a_err_set(H2A_ERR_VERIFY,
                         "certificate from issuer '%s' does not verify through its chain: %s",
                         r->req->issuer, X509_verify_cert_error_string(e));
        ERR_clear_error();
    }
done:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rv;
}

static size_t s_dns_count(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t n = 0;

    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        if (sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS) {
            n++;
        }
    }
    GENERAL_NAMES_free(gens);
    return n;
}

static h2a_err s_pem_x509(const char *pem, X509 **out)
{
    BIO *b = BIO_new_mem_buf(pem, -1);

    *out = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (*out == NULL) {
        return h2a_err_openssl(H2A_ERR_AWS, "certificate served by ACM is not PEM");
    }
    return H2A_OK;
}

/* H2A_REIMPORT_REUSE_MS; a test build may set it (HSM2ACM_TEST_REIMPORT_REUSE_MS). */
static long long s_reuse_ms(void)
{
    const char *env = h2a_test_hook_env("HSM2ACM_TEST_REIMPORT_REUSE_MS");
    char *end = NULL;
    long long v = env != NULL ? strtoll(env, &end, 10) : -1;

    return env != NULL && end != env && *end == '\0' && v >= 0 ? v : H2A_REIMPORT_REUSE_MS;
}

/*
 * What reimport target i's ARN holds, for the reimport rules: validate's
 * DescribeCertificate of it when that was sent less than
 * H2A_REIMPORT_REUSE_MS ago (a run that went from validate through keygen,
 * CSR and an issuer that answered at once), else GetCertificate now (a
 * resumed run, an issuer that made us wait, a slow group). The reuse does
 * not widen the window much: between a read here and the import lie the
 * group's other verifications, a durable commit and its staging calls,
 * up to seconds already; a renewal holds the ARN's lock from before
 * validate to after the import, so no other renewal, rollback or adoption
 * of it runs in between; and ACM refuses an incompatible reimport itself, the target then failing
 * like any refused import (tests/integration/test_renew_stale.sh shows
 * both sides of the bound). *cur points at r->held[i] or at `read` (the
 * caller's, zeroed); *served is true when the ARN already serves r->cert
 * (a resumed run whose import happened).
 */
static h2a_err s_reimport_current(h2a_run *r, size_t i, h2a_cert_usage *read,
                                  const h2a_cert_usage **cur, bool *served)
{
    const h2a_target *t = &r->req->targets[i];
    h2a_acct *a = NULL;
    char *cert_text = NULL, *chain = NULL;
    X509 *current = NULL;
    h2a_err rv;

    *served = false;
    *cur = read;
    if (r->held_at[i] > 0 && h2a_enroll_now_ms() - r->held_at[i] < s_reuse_ms()) {
        *cur = &r->held[i];
        return H2A_OK;
    }
    H2A_GUARD(h2a_enroll_acct(r, t->account, t->region, &a));
    rv = h2a_acm_get_certificate(a->ctx, t->region, t->certificate_arn, &cert_text, &chain);
    if (rv == H2A_OK) {
        rv = s_pem_x509(cert_text, &current);
    }
    if (rv == H2A_OK &&
        ASN1_INTEGER_cmp(X509_get0_serialNumber(current), X509_get0_serialNumber(r->cert)) == 0) {
        *served = true; /* the ARN already serves this certificate (resumed run) */
        goto done;
    }
    if (rv == H2A_OK) {
        rv = h2a_cert_usage_from_x509(current, read);
    }
    if (rv == H2A_OK) {
        rv = h2a_cert_usage_set(read, "IMPORTED", NULL);
    }
done:
    X509_free(current);
    free(cert_text);
    free(chain);
    return rv;
}

/* Reimport rules against what the ARN holds now. */
static h2a_err s_reimport_rules(h2a_run *r, size_t i)
{
    h2a_cert_usage read = {0}, next = {0};
    const h2a_cert_usage *cur = NULL;
    bool served = false;
    h2a_err rv = s_reimport_current(r, i, &read, &cur, &served);

    if (rv == H2A_OK && !served) {
        rv = h2a_cert_usage_from_x509(r->cert, &next);
        if (rv == H2A_OK) {
            rv = h2a_reimport_check_cert(r->req->targets[i].certificate_arn, cur, &next);
        }
    }
    h2a_cert_usage_cleanup(&read);
    h2a_cert_usage_cleanup(&next);
    return rv;
}

/*
 * The issued certificate's names pass the rules the request's passed: an
 * issuer that adds a name, or a policy changed before a resume, stops here
 * before anything is staged. A refusal is a verification failure (exit 7).
 */
static h2a_err s_names_check(h2a_run *r)
{
    h2a_cert_names got = {0};
    h2a_err rv = h2a_cert_names_from_x509(r->cert, &got);

    if (rv == H2A_OK) {
        rv = h2a_cert_names_within(&got, &r->req->names);
    }
    if (rv == H2A_OK) {
        rv = h2a_policy_check_cert_names(r->policy, &got);
    }
    for (size_t i = 0; rv == H2A_OK && i < r->njt; i++) {
        rv = h2a_policy_check_cert_authorization(r->policy, r->req->requester, &got,
                                                 r->jt[i].account);
    }
    h2a_cert_names_cleanup(&got);
    if (rv != H2A_OK) {
        h2a_err_prefix(rv, "certificate from issuer '%s': ", r->req->issuer);
        return H2A_ERR_VERIFY;
    }
    return H2A_OK;
}

static const char *s_key_name(EVP_PKEY *pk)
{
    h2a_keytype kt;

    if (h2a_keytype_from_pkey(pk, &kt) == H2A_OK) {
        return h2a_keytype_acm_name(kt);
    }
    h2a_err_clear();
    return OBJ_nid2sn(EVP_PKEY_get_base_id(pk));
}

/*
 * ACM's ImportCertificate takes a leaf only when its key is of the same
 * family as its signing CA's (an RSA CA signs RSA leaves). Checked here,
 * before staging, so ACM never refuses a staged key.
 */
static h2a_err s_key_family(h2a_run *r)
{
    X509 *ca = NULL;
    EVP_PKEY *leaf_pk = X509_get0_pubkey(r->cert);
    EVP_PKEY *ca_pk;

    for (int i = 0; i < sk_X509_num(r->chain) && ca == NULL; i++) {
        if (X509_check_issued(sk_X509_value(r->chain, i), r->cert) == X509_V_OK) {
            ca = sk_X509_value(r->chain, i);
        }
    }
    ca_pk = ca != NULL ? X509_get0_pubkey(ca) : NULL;
    if (leaf_pk == NULL || ca_pk == NULL) {
        ERR_clear_error();
        return h2a_err_set(H2A_ERR_VERIFY,
                           "certificate from issuer '%s': its issuing CA's key cannot be "
                           "read from the chain", r->req->issuer);
    }
    if (EVP_PKEY_get_base_id(leaf_pk) != EVP_PKEY_get_base_id(ca_pk)) {
        return h2a_err_set(H2A_ERR_VERIFY,
                           "certificate from issuer '%s': its key is %s but its issuing "
                           "CA's key is %s; ACM imports a certificate only when both keys "
                           "are of the same family (RSA or EC)",
                           r->req->issuer, s_key_name(leaf_pk), s_key_name(ca_pk));
    }
    return H2A_OK;
}

/*
 * The same SPKI bytes settle it; an issuer may encode the same key another
 * way (RSA parameters absent, say), so a difference is decided on the keys.
 */
static bool s_carries_token_key(h2a_run *r)
{
    EVP_PKEY *pub = NULL;
    bool same;

    if (h2a_spki_equal(X509_get_X509_PUBKEY(r->cert), h2a_p11_key_spki(r->key))) {
        return true;
    }
    same = h2a_x509_public(r->cert, &pub) == H2A_OK &&
           EVP_PKEY_eq(pub, h2a_p11_key_public(r->key)) == 1;
    EVP_PKEY_free(pub);
    ERR_clear_error();
    h2a_err_clear();
    return same;
}

h2a_err h2a_enroll_verify(h2a_run *r)
{
    if (!s_carries_token_key(r)) {
        return h2a_err_set(H2A_ERR_VERIFY,
                           "certificate from issuer '%s' does not carry the token key %s",
                           r->req->issuer, r->key_id);
    }
    if (X509_cmp_current_time(X509_get0_notBefore(r->cert)) >= 0 ||
        X509_cmp_current_time(X509_get0_notAfter(r->cert)) <= 0) {
        return h2a_err_set(H2A_ERR_VERIFY,
                           "certificate from issuer '%s' is not valid now", r->req->issuer);
    }
    if (s_dns_count(r->cert) == 0) {
        return h2a_err_set(H2A_ERR_VERIFY,
                           "certificate from issuer '%s' has no DNS name (ACM needs one)",
                           r->req->issuer);
    }
    H2A_GUARD(s_names_check(r));
    H2A_GUARD(s_key_family(r));
    H2A_GUARD(s_chain_verifies(r));
    for (size_t i = 0; i < r->req->n_targets; i++) {
        h2a_err rv;

        if (r->req->targets[i].certificate_arn == NULL || r->jt[i].new_arn ||
            r->jt[i].state >= H2A_JS_IMPORTED ||
            (r->jt[i].state == H2A_JS_FAILED && r->jt[i].resume_from >= H2A_JS_IMPORTED)) {
            continue;
        }
        rv = s_reimport_rules(r, i);
        if (rv == H2A_ERR_POLICY &&
            h2a_policy_on_incompatible(r->policy) == H2A_ON_INCOMPATIBLE_NEW_ARN) {
            H2A_LOG_WARN("targets[%zu]: %s; policy on_incompatible=new-arn: importing "
                         "under a new ARN", i, h2a_err_msg());
            h2a_err_clear();
            r->jt[i].new_arn = true;
            H2A_GUARD(h2a_journal_put_target(r->journal, r->req->id, &r->jt[i]));
            continue;
        }
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "targets[%zu]: ", i);
        }
    }
    return H2A_OK;
}

static const char *s_str(json_object *o, const char *k)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

h2a_err h2a_enroll_usage_from_describe(json_object *d, h2a_cert_usage *out)
{
    json_object *arr = NULL;
    const char *dn;

    H2A_GUARD(h2a_cert_usage_set(out, s_str(d, "Type"), s_str(d, "KeyAlgorithm")));
    if (json_object_object_get_ex(d, "KeyUsages", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            const char *n = s_str(json_object_array_get_idx(arr, i), "Name");

            if (n != NULL) {
                H2A_GUARD(h2a_cert_usage_add_ku(out, n));
            }
        }
    }
    if (json_object_object_get_ex(d, "ExtendedKeyUsages", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);
            const char *n = s_str(e, "Name");

            if (n != NULL) {
                H2A_GUARD(h2a_cert_usage_add_eku(out, n, s_str(e, "OID")));
            }
        }
    }
    dn = s_str(d, "DomainName");
    if (dn != NULL) {
        H2A_GUARD(h2a_cert_usage_add_name(out, dn));
    }
    if (json_object_object_get_ex(d, "SubjectAlternativeNames", &arr) &&
        json_object_is_type(arr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *e = json_object_array_get_idx(arr, i);

            if (json_object_is_type(e, json_type_string)) {
                H2A_GUARD(h2a_cert_usage_add_name(out, json_object_get_string(e)));
            }
        }
    }
    return H2A_OK;
}
