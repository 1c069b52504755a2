/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "issuers/h2a_issuer.h"

/*
 * Issuer `acm-pca`: AWS Private CA. IssueCertificate is the only PCA path
 * that signs a CSR whose key stays with the caller (ACM's RequestCertificate
 * with a CA ARN makes ACM keep the key), so submit sends the token-signed
 * CSR and returns the certificate ARN as the handle; the engine journals it
 * before the first GetCertificate. The signing algorithm follows the CA's
 * key, never the CSR's: PCA refuses a family that differs from the CA key.
 */

/* What the checks need to know about the CA. */
struct s_ca {
    char status[32];   /* "" when Describe was denied (a shared CA) */
    bool rsa;          /* the CA key's family */
    char sigalg[24];   /* the CA key's natural signing algorithm */
    char key_alg[32];  /* PCA KeyAlgorithm, or what the CA certificate shows */
    long long not_after; /* Unix seconds, 0 unknown */
};

/* Every AWS failure as an issuer error carrying the AWS code and request id. */
static h2a_err s_aws_fail(const h2a_issue_ctx *ctx, H2A_AWS_CTX *aws, const char *op)
{
    const struct h2a_aws_error *e = h2a_aws_last_error(aws);
    bool denied = strstr(e->code, "AccessDenied") != NULL && ctx->conf->role_arn == NULL;

    return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s on %s failed: %s%s%s (request id %s)%s",
                       ctx->conf->name, op, ctx->conf->ca_arn,
                       e->code[0] != '\0' ? e->code : "error",
                       e->message[0] != '\0' ? ": " : "", e->message,
                       e->request_id[0] != '\0' ? e->request_id : "none",
                       denied ? "; a CA of another account needs role_arn, or a share with "
                                "this account (RAM or a resource policy)" : "");
}

/* The client issuance runs as: the role of the CA's account, or the caller. */
static h2a_err s_client(const h2a_issue_ctx *ctx, H2A_AWS_CTX **out, bool *own)
{
    struct h2a_aws_assume_role ar = {0};
    char session[65];

    *out = ctx->aws;
    *own = false;
    if (ctx->aws == NULL) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: no AWS client", ctx->conf->name);
    }
    if (ctx->conf->role_arn == NULL) {
        return H2A_OK;
    }
    /* Named after the request, so the CA account's CloudTrail shows which one issued. */
    snprintf(session, sizeof(session), "hsm2acm-%s",
             ctx->request_id != NULL ? ctx->request_id : "issuer");
    ar.role_arn = ctx->conf->role_arn;
    ar.session_name = session;
    ar.region = ctx->conf->pca_region;
    if (h2a_aws_ctx_assume_role(ctx->aws, &ar, out) != H2A_OK) {
        *out = NULL;
        return h2a_err_prefix(H2A_ERR_ISSUER, "issuers.%s: role_arn %s: ", ctx->conf->name,
                              ctx->conf->role_arn);
    }
    *own = true;
    return H2A_OK;
}

static void s_sigalg_for(struct s_ca *ca)
{
    const char *a = ca->key_alg;

    ca->rsa = strncmp(a, "RSA", 3) == 0;
    snprintf(ca->sigalg, sizeof(ca->sigalg), "%s",
             ca->rsa                       ? "SHA256WITHRSA"
             : strstr(a, "384") != NULL    ? "SHA384WITHECDSA"
             : strstr(a, "521") != NULL    ? "SHA512WITHECDSA"
                                           : "SHA256WITHECDSA");
}

/* The CA certificate's key, for a CA whose Describe is denied (shared through RAM). */
static h2a_err s_ca_from_cert(const h2a_issue_ctx *ctx, H2A_AWS_CTX *aws, struct s_ca *ca)
{
    char *ca_cert = NULL, *chain = NULL;
    X509 *x = NULL;
    EVP_PKEY *pk;
    BIO *b;
    h2a_err rv = H2A_OK;

    if (h2a_pca_get_certificate_authority_certificate(aws, ctx->conf->pca_region,
                                                      ctx->conf->ca_arn, &ca_cert, &chain) != H2A_OK) {
        return s_aws_fail(ctx, aws, "GetCertificateAuthorityCertificate");
    }
    b = BIO_new_mem_buf(ca_cert, -1);
    x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    pk = x != NULL ? X509_get0_pubkey(x) : NULL;
    if (pk == NULL) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: the CA certificate of %s cannot be read",
                         ctx->conf->name, ctx->conf->ca_arn);
    } else {
        struct tm tm;

        snprintf(ca->key_alg, sizeof(ca->key_alg), "%s",
                 EVP_PKEY_is_a(pk, "RSA")          ? "RSA"
                 : EVP_PKEY_get_bits(pk) == 384    ? "EC_secp384r1"
                 : EVP_PKEY_get_bits(pk) == 521    ? "EC_secp521r1"
                                                   : "EC_prime256v1");
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
            ca->not_after = (long long)timegm(&tm);
        }
        s_sigalg_for(ca);
    }
    X509_free(x);
    BIO_free(b);
    free(ca_cert);
    free(chain);
    return rv;
}

static h2a_err s_ca_info(const h2a_issue_ctx *ctx, H2A_AWS_CTX *aws, struct s_ca *ca)
{
    json_object *d = NULL, *v, *cfg;
    h2a_err rv;

    memset(ca, 0, sizeof(*ca));
    rv = h2a_pca_describe_certificate_authority(aws, ctx->conf->pca_region, ctx->conf->ca_arn,
                                                &d);
    if (rv != H2A_OK && h2a_aws_last_error_is(aws, "AccessDeniedException")) {
        h2a_err_clear();
        return s_ca_from_cert(ctx, aws, ca);
    }
    if (rv != H2A_OK) {
        return s_aws_fail(ctx, aws, "DescribeCertificateAuthority");
    }
    if (json_object_object_get_ex(d, "Status", &v)) {
        snprintf(ca->status, sizeof(ca->status), "%s", json_object_get_string(v));
    }
    if (json_object_object_get_ex(d, "NotAfter", &v)) {
        ca->not_after = (long long)json_object_get_double(v);
    }
    if (json_object_object_get_ex(d, "CertificateAuthorityConfiguration", &cfg) &&
        json_object_object_get_ex(cfg, "KeyAlgorithm", &v)) {
        snprintf(ca->key_alg, sizeof(ca->key_alg), "%s", json_object_get_string(v));
    }
    json_object_put(d);
    if (ca->key_alg[0] == '\0') {
        return s_ca_from_cert(ctx, aws, ca);
    }
    s_sigalg_for(ca);
    return H2A_OK;
}

/* The configured algorithm, or the CA key's ("auto"); a family other than the CA's is refused. */
static h2a_err s_sigalg(const h2a_issue_ctx *ctx, const struct s_ca *ca, const char **out)
{
    const char *want = ctx->conf->signing_algorithm;
    bool rsa;

    if (want == NULL || strcmp(want, "auto") == 0) {
        *out = ca->sigalg;
        return H2A_OK;
    }
    rsa = strstr(want, "WITHRSA") != NULL;
    if (rsa != ca->rsa) {
        return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s.signing_algorithm: %s cannot sign with "
                           "CA %s, whose key is %s (use auto or a %s algorithm)",
                           ctx->conf->name, want, ctx->conf->ca_arn, ca->key_alg,
                           ca->rsa ? "...WITHRSA" : "...WITHECDSA");
    }
    *out = want;
    return H2A_OK;
}

/*
 * KeyUsage/ExtendedKeyUsage the AWS templates set whatever the CSR asks
 * (the template wins over the CSR, passthrough or not); Blank and unknown
 * templates take the CSR's.
 */
static void s_template_usage(const char *tpl, h2a_issuer_usage *u)
{
    static const struct {
        const char *name;
        unsigned ku, eku;
    } known[] = {
        {"/EndEntityCertificate", H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT,
         H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION | H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION},
        {"/EndEntityServerAuthCertificate", H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT,
         H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION},
        {"/EndEntityClientAuthCertificate", H2A_KU_DIGITAL_SIGNATURE,
         H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION},
        {"/CodeSigningCertificate", H2A_KU_DIGITAL_SIGNATURE, H2A_EKU_CODE_SIGNING},
    };
    const char *name = strstr(tpl, ":template");

    for (size_t i = 0; name != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
        size_t n = strlen(known[i].name);

        if (strncmp(name + 9, known[i].name, n) == 0 &&
            (name[9 + n] == '/' || name[9 + n] == '_')) {
            u->sets_usage = true;
            u->ku = known[i].ku;
            u->eku = known[i].eku;
        }
    }
}

static h2a_err s_precheck(const h2a_issue_ctx *ctx, h2a_keytype kt, h2a_issuer_usage *usage)
{
    const h2a_issuer_conf *c = ctx->conf;
    H2A_AWS_CTX *aws = NULL;
    struct s_ca ca;
    const char *alg;
    bool own = false;
    h2a_err rv;

    H2A_GUARD(s_client(ctx, &aws, &own));
    rv = s_ca_info(ctx, aws, &ca);
    if (rv == H2A_OK && ca.status[0] != '\0' && strcmp(ca.status, "ACTIVE") != 0) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: CA %s is %s, not ACTIVE: it cannot "
                         "issue", c->name, c->ca_arn, ca.status);
    }
    if (rv == H2A_OK && ca.not_after > 0 &&
        ca.not_after < (long long)time(NULL) + c->validity_days * 86400) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: CA %s expires before validity_days=%lld "
                         "would end (PCA issues no certificate that outlives its CA chain)",
                         c->name, c->ca_arn, c->validity_days);
    }
    if (rv == H2A_OK) {
        rv = s_sigalg(ctx, &ca, &alg);
    }
    if (rv == H2A_OK && kt != H2A_KT_NONE && h2a_keytype_is_rsa(kt) != ca.rsa) {
        rv = h2a_err_set(H2A_ERR_POLICY, "key: %s under issuer '%s' whose CA key is %s: ACM "
                         "imports a certificate only if its key family matches its signing "
                         "CA's; configure an issuer with a CA of the request's family",
                         h2a_keytype_cli_name(kt), c->name, ca.key_alg);
    }
    if (rv == H2A_OK) {
        s_template_usage(c->template_arn, usage);
    }
    if (own) {
        h2a_aws_ctx_free(aws);
    }
    return rv;
}

/*
 * One token per (request, key): a submit repeated after a crash in the window
 * before the ARN is journaled gets the same certificate while PCA remembers
 * the token (five minutes); a new key of the same request is a new one.
 */
static void s_token(const h2a_issue_ctx *ctx, char out[33])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char buf[512];

    snprintf(buf, sizeof(buf), "hsm2acm\n%s\n%s", ctx->request_id != NULL ? ctx->request_id : "",
             ctx->generation != NULL ? ctx->generation : "");
    SHA256((const unsigned char *)buf, strlen(buf), md);
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static h2a_err s_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    const h2a_issuer_conf *c = ctx->conf;
    struct h2a_pca_issue in = {0};
    H2A_AWS_CTX *aws = NULL;
    struct s_ca ca;
    h2a_buf pem;
    char token[33];
    bool own = false;
    h2a_err rv;

    h2a_buf_init(&pem, 0);
    H2A_GUARD(s_client(ctx, &aws, &own));
    rv = s_ca_info(ctx, aws, &ca);
    if (rv == H2A_OK) {
        rv = s_sigalg(ctx, &ca, &in.signing_algorithm);
    }
    if (rv == H2A_OK) {
        rv = h2a_pem_encode(H2A_PEM_CSR, csr, &pem);
    }
    if (rv == H2A_OK) {
        s_token(ctx, token);
        in.ca_arn = c->ca_arn;
        in.csr_pem = (const char *)pem.data;
        in.template_arn = c->template_arn;
        in.validity_type = "DAYS";
        in.validity_value = c->validity_days;
        in.idempotency_token = token;
        if (h2a_pca_issue_certificate(aws, c->pca_region, &in, &res->handle) != H2A_OK) {
            rv = s_aws_fail(ctx, aws, "IssueCertificate");
        }
    }
    if (rv == H2A_OK) {
        H2A_LOG_INFO("issuers.%s: CA %s template %s signing %s issued %s", c->name, c->ca_arn,
                     c->template_arn, in.signing_algorithm, res->handle);
        res->retry_after_ms = 200; /* PCA usually answers within a second */
    }
    h2a_buf_free(&pem);
    if (own) {
        h2a_aws_ctx_free(aws);
    }
    return rv;
}

/* 200 ms, doubling to a 5 s cap: fast while PCA is fast, gentle on its 75/s quota. */
static long long s_backoff(int attempt)
{
    long long ms = 200;

    for (int i = 0; i < attempt && ms < 5000; i++) {
        ms *= 2;
    }
    return ms < 5000 ? ms : 5000;
}

static h2a_err s_poll(const h2a_issue_ctx *ctx, const char *handle, h2a_issue_result *res)
{
    H2A_AWS_CTX *aws = NULL;
    char *cert = NULL, *chain = NULL;
    h2a_buf all;
    bool own = false;
    h2a_err rv;

    h2a_buf_init(&all, 0);
    H2A_GUARD(s_client(ctx, &aws, &own));
    rv = h2a_pca_get_certificate(aws, ctx->conf->pca_region, ctx->conf->ca_arn, handle, &cert,
                                 &chain);
    if (rv != H2A_OK && h2a_aws_last_error_is(aws, "RequestInProgressException")) {
        h2a_err_clear();
        res->retry_after_ms = s_backoff(ctx->poll_attempt);
        rv = H2A_OK;
    } else if (rv != H2A_OK) {
        rv = s_aws_fail(ctx, aws, "GetCertificate");
    } else {
        /* The chain as served, up to the PCA root: ACM gets exactly it. */
        rv = h2a_buf_append_str(&all, cert);
        if (rv == H2A_OK && chain != NULL) {
            rv = h2a_buf_append_str(&all, "\n");
        }
        if (rv == H2A_OK && chain != NULL) {
            rv = h2a_buf_append_str(&all, chain);
        }
        if (rv == H2A_OK) {
            rv = h2a_issuer_parse_pem_chain(ctx->conf->name, (const char *)all.data, all.len,
                                            &res->leaf, &res->chain);
        }
        res->done = rv == H2A_OK;
    }
    free(cert);
    free(chain);
    h2a_buf_free(&all);
    if (own) {
        h2a_aws_ctx_free(aws);
    }
    return rv;
}

const h2a_issuer_ops h2a_issuer_acm_pca_ops = {
    .type = "acm-pca",
    .submit = s_submit,
    .poll = s_poll,
    .precheck = s_precheck,
};
