/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "h2a_keygen.h"
#include "issuers/h2a_issuer.h"

/*
 * The `local` issuer: a small CA for the demo and the tests whose keys are
 * token keys. ACM documents that an imported certificate's key algorithm
 * must match its issuer's, so there are two CA keys, one per family:
 * "<key_label>-rsa" (RSA-2048) and "<key_label>-ec" (P-256), each with a
 * self-signed certificate kept in <state_dir>/local-ca/. Both are made on
 * first use. Certificates are signed by OpenSSL's X509_sign_ctx with the
 * key living in the token (built-in provider); no CA key is ever outside it.
 */

#define H2A_LOCAL_CA_DAYS 3650

struct s_ca {
    H2A_P11_KEY *key;
    EVP_PKEY *evp;  /* token-backed, via the provider */
    X509 *cert;
};

static void s_ca_clear(struct s_ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->evp);
    h2a_p11_key_free(ca->key);
    memset(ca, 0, sizeof(*ca));
}

static h2a_err s_ossl(const h2a_issue_ctx *ctx, const char *what)
{
    h2a_err rv = h2a_err_openssl(H2A_ERR_ISSUER, what);

    return h2a_err_prefix(rv, "issuers.%s: ", ctx->conf->name);
}

static h2a_err s_random_serial(X509 *x)
{
    uint8_t b[16];
    BIGNUM *bn;
    h2a_err rv = H2A_OK;

    if (RAND_bytes(b, sizeof(b)) != 1) {
        return h2a_err_openssl(H2A_ERR_ISSUER, "RAND_bytes");
    }
    b[0] &= 0x7f; /* positive */
    b[0] |= 0x40; /* and always 16 bytes long */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        rv = h2a_err_openssl(H2A_ERR_ISSUER, "serial number");
    }
    BN_free(bn);
    return rv;
}

static h2a_err s_add_conf_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        X509_EXTENSION_free(ext);
        return h2a_err_openssl(H2A_ERR_ISSUER, OBJ_nid2sn(nid));
    }
    X509_EXTENSION_free(ext);
    return H2A_OK;
}

static h2a_err s_sign(const h2a_issue_ctx *ctx, struct s_ca *ca, X509 *x)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    h2a_err rv = H2A_OK;

    if (mctx == NULL ||
        EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL, NULL, ca->evp, NULL) != 1 ||
        X509_sign_ctx(x, mctx) <= 0) {
        rv = s_ossl(ctx, "signing with the CA key in the token");
    }
    EVP_MD_CTX_free(mctx);
    return rv;
}

static h2a_err s_ca_paths(const h2a_issue_ctx *ctx, bool rsa, char *label,
                          size_t nl, char *path, size_t np)
{
    char dir[4200];

    snprintf(label, nl, "%s-%s", ctx->conf->key_label, rsa ? "rsa" : "ec");
    snprintf(dir, sizeof(dir), "%s/local-ca", ctx->state_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return h2a_err_set(H2A_ERR_STATE, "%s: cannot create: %s", dir, strerror(errno));
    }
    if ((size_t)snprintf(path, np, "%s/%s-%s.pem", dir, ctx->conf->name,
                         rsa ? "rsa" : "ec") >= np) {
        return h2a_err_set(H2A_ERR_STATE, "%s: path too long", dir);
    }
    return H2A_OK;
}

static h2a_err s_ca_key(const h2a_issue_ctx *ctx, bool rsa, const char *label,
                        struct s_ca *ca)
{
    h2a_err rv;

    rv = h2a_p11_key_find(ctx->session, label, NULL, 0, &ca->key);
    if (rv != H2A_OK) {
        /* First use: make the CA key in the token. */
        h2a_err_clear();
        rv = h2a_keygen_generate(ctx->session, rsa ? H2A_KT_RSA_2048 : H2A_KT_EC_P256,
                                 label, 0, &ca->key);
        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "issuers.%s: CA key %s: ", ctx->conf->name, label);
        }
        H2A_LOG_INFO("issuers.%s: made CA key '%s' in the token", ctx->conf->name, label);
    }
    H2A_GUARD(h2a_p11_provider_load(NULL));
    return h2a_p11_key_evp(ca->key, NULL, &ca->evp);
}

static h2a_err s_ca_selfsign(const h2a_issue_ctx *ctx, struct s_ca *ca)
{
    X509_NAME *name = NULL;
    X509 *x = X509_new();
    h2a_err rv = H2A_OK;

    if (x == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "CA certificate");
    }
    rv = h2a_subject_parse("subject", ctx->conf->subject, &name);
    if (rv != H2A_OK) {
        h2a_err_prefix(rv, "issuers.%s.", ctx->conf->name);
        goto done;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * H2A_LOCAL_CA_DAYS) == NULL ||
        X509_set_pubkey(x, h2a_p11_key_public(ca->key)) != 1) {
        rv = s_ossl(ctx, "CA certificate");
        goto done;
    }
    rv = s_random_serial(x);
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    }
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(x, x, NID_subject_key_identifier, "hash");
    }
    if (rv == H2A_OK) {
        rv = s_sign(ctx, ca, x);
    }
    if (rv == H2A_OK) {
        ca->cert = x;
        x = NULL;
    }
done:
    X509_NAME_free(name);
    X509_free(x);
    return rv;
}

static h2a_err s_write_pem(const char *path, X509 *x)
{
    h2a_buf b;
    h2a_err rv;

    h2a_buf_init(&b, 0);
    rv = h2a_pem_encode(H2A_PEM_CERT, x, &b);
    if (rv == H2A_OK) {
        rv = h2a_file_write_atomic(path, b.data, b.len, 0644);
    }
    h2a_buf_free(&b);
    return rv;
}

static X509 *s_read_pem(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = NULL;

    if (b != NULL) {
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    ERR_clear_error();
    return x;
}

static h2a_err s_ca_load(const h2a_issue_ctx *ctx, bool rsa, struct s_ca *ca,
                         h2a_buf *path_out)
{
    char label[128], path[4300];
    h2a_err rv;

    H2A_GUARD(s_ca_paths(ctx, rsa, label, sizeof(label), path, sizeof(path)));
    H2A_GUARD(s_ca_key(ctx, rsa, label, ca));
    ca->cert = s_read_pem(path);
    if (ca->cert != NULL &&
        (EVP_PKEY_eq(X509_get0_pubkey(ca->cert), h2a_p11_key_public(ca->key)) != 1 ||
         X509_cmp_time(X509_get0_notAfter(ca->cert), NULL) <= 0)) {
        /* The token key was replaced or the certificate expired: remake it. */
        X509_free(ca->cert);
        ca->cert = NULL;
    }
    if (ca->cert == NULL) {
        H2A_GUARD(s_ca_selfsign(ctx, ca));
        rv = s_write_pem(path, ca->cert);
        if (rv != H2A_OK) {
            return rv;
        }
    }
    if (path_out != NULL) {
        H2A_GUARD(h2a_buf_append_str(path_out, path));
        H2A_GUARD(h2a_buf_terminate(path_out));
    }
    return H2A_OK;
}

h2a_err h2a_issuer_local_setup(const h2a_issue_ctx *ctx, bool rsa, h2a_buf *path_out)
{
    struct s_ca ca = {0};
    h2a_err rv = s_ca_load(ctx, rsa, &ca, path_out);

    s_ca_clear(&ca);
    return rv;
}

/* Copy SAN, KeyUsage and ExtendedKeyUsage as the CSR asks for them. */
static h2a_err s_copy_csr_exts(X509_REQ *csr, X509 *x, bool *has_ku, bool *has_eku)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    h2a_err rv = H2A_OK;

    *has_ku = *has_eku = false;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));

        if (nid != NID_subject_alt_name && nid != NID_key_usage &&
            nid != NID_ext_key_usage) {
            continue;
        }
        if (X509_add_ext(x, e, -1) != 1) {
            rv = h2a_err_openssl(H2A_ERR_ISSUER, "copy CSR extension");
            break;
        }
        *has_ku |= nid == NID_key_usage;
        *has_eku |= nid == NID_ext_key_usage;
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rv;
}

static h2a_err s_leaf(const h2a_issue_ctx *ctx, struct s_ca *ca, X509_REQ *csr,
                      EVP_PKEY *pub, X509 **out)
{
    X509 *x = X509_new();
    h2a_err rv = H2A_OK;
    bool has_ku, has_eku;

    if (x == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "certificate");
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_set_subject_name(x, X509_REQ_get_subject_name(csr)) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * ctx->conf->validity_days) == NULL ||
        X509_set_pubkey(x, pub) != 1) {
        rv = s_ossl(ctx, "certificate");
        goto done;
    }
    rv = s_random_serial(x);
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(ca->cert, x, NID_basic_constraints, "critical,CA:FALSE");
    }
    if (rv == H2A_OK) {
        rv = s_copy_csr_exts(csr, x, &has_ku, &has_eku);
    }
    if (rv == H2A_OK && !has_ku) {
        rv = s_add_conf_ext(ca->cert, x, NID_key_usage,
                            EVP_PKEY_base_id(pub) == EVP_PKEY_RSA
                                ? "critical,digitalSignature,keyEncipherment"
                                : "critical,digitalSignature");
    }
    if (rv == H2A_OK && !has_eku) {
        rv = s_add_conf_ext(ca->cert, x, NID_ext_key_usage, "serverAuth");
    }
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(ca->cert, x, NID_subject_key_identifier, "hash");
    }
    if (rv == H2A_OK) {
        rv = s_add_conf_ext(ca->cert, x, NID_authority_key_identifier, "keyid:always");
    }
    if (rv == H2A_OK) {
        rv = s_sign(ctx, ca, x);
    }
done:
    if (rv != H2A_OK) {
        X509_free(x);
        return rv;
    }
    *out = x;
    return H2A_OK;
}

/*
 * A batch worker signs every certificate with the same CA key; finding it
 * again costs two token searches, O(objects) on SoftHSM2's file store.
 */
#define H2A_LOCAL_CACHE 4

struct h2a_issuer_state {
    struct {
        const H2A_SESSION *session;
        char name[64];
        bool rsa;
        struct s_ca ca;
    } e[H2A_LOCAL_CACHE];
    struct h2a_acme_keep *acme; /* acme_client.c: connections, directories, accounts */
};

struct h2a_acme_keep **h2a_issuer_state_acme(h2a_issuer_state *st)
{
    return &st->acme;
}

h2a_err h2a_issuer_state_new(h2a_issuer_state **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? H2A_OK : h2a_err_set(H2A_ERR_NOMEM, "issuer state");
}

void h2a_issuer_state_free(h2a_issuer_state *st)
{
    for (size_t i = 0; st != NULL && i < H2A_LOCAL_CACHE; i++) {
        s_ca_clear(&st->e[i].ca);
    }
    if (st != NULL) {
        h2a_acme_keep_free(st->acme);
    }
    free(st);
}

/* The CA to sign with: from the worker's cache, or loaded into `own`. */
static h2a_err s_ca_get(const h2a_issue_ctx *ctx, bool rsa, struct s_ca *own,
                        struct s_ca **ca)
{
    h2a_issuer_state *c = ctx->state;
    size_t slot = H2A_LOCAL_CACHE;

    for (size_t i = 0; c != NULL && i < H2A_LOCAL_CACHE; i++) {
        if (c->e[i].session == ctx->session && c->e[i].rsa == rsa &&
            strcmp(c->e[i].name, ctx->conf->name) == 0) {
            *ca = &c->e[i].ca;
            return H2A_OK;
        }
        if (c->e[i].session == NULL && slot == H2A_LOCAL_CACHE) {
            slot = i;
        }
    }
    H2A_GUARD(s_ca_load(ctx, rsa, own, NULL));
    *ca = own;
    if (c != NULL && slot < H2A_LOCAL_CACHE && strlen(ctx->conf->name) < 64) {
        c->e[slot].session = ctx->session;
        c->e[slot].rsa = rsa;
        snprintf(c->e[slot].name, sizeof(c->e[slot].name), "%s", ctx->conf->name);
        c->e[slot].ca = *own;
        memset(own, 0, sizeof(*own));
        *ca = &c->e[slot].ca;
    }
    return H2A_OK;
}

static h2a_err s_local(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                       STACK_OF(X509) **chain)
{
    struct s_ca own = {0}, *ca = NULL;
    EVP_PKEY *pub;
    STACK_OF(X509) *sk = NULL;
    h2a_err rv;

    *leaf = NULL;
    *chain = NULL;
    /* From the SPKI: a request hsm2acm built carries no decoded key (common/spki.c). */
    rv = h2a_spki_to_pkey(X509_REQ_get_X509_PUBKEY(csr), &pub);
    if (rv != H2A_OK) {
        return h2a_err_prefix(H2A_ERR_ISSUER, "issuers.%s: CSR public key: ", ctx->conf->name);
    }
    if (X509_REQ_verify(csr, pub) != 1) {
        EVP_PKEY_free(pub);
        return s_ossl(ctx, "CSR signature does not verify");
    }
    rv = s_ca_get(ctx, EVP_PKEY_base_id(pub) == EVP_PKEY_RSA, &own, &ca);
    if (rv == H2A_OK) {
        rv = s_leaf(ctx, ca, csr, pub, leaf);
    }
    if (rv == H2A_OK) {
        sk = sk_X509_new_null();
        if (sk == NULL || X509_up_ref(ca->cert) != 1) {
            sk_X509_free(sk);
            sk = NULL;
        } else if (sk_X509_push(sk, ca->cert) <= 0) {
            X509_free(ca->cert);
            sk_X509_free(sk);
            sk = NULL;
        }
        if (sk == NULL) {
            X509_free(*leaf);
            *leaf = NULL;
            rv = h2a_err_set(H2A_ERR_NOMEM, "chain");
        } else {
            *chain = sk;
        }
    }
    s_ca_clear(&own);
    EVP_PKEY_free(pub);
    if (rv != H2A_OK && h2a_err_exit_code(rv) == h2a_err_exit_code(H2A_ERR_INTERNAL)) {
        rv = h2a_err_prefix(H2A_ERR_ISSUER, "issuers.%s: ", ctx->conf->name);
    }
    return rv;
}

/* Signed here, in the token: it completes at once. */
static h2a_err s_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    H2A_GUARD(s_local(ctx, csr, &res->leaf, &res->chain));
    res->done = true;
    return H2A_OK;
}

const h2a_issuer_ops h2a_issuer_local_ops = {.type = "local", .submit = s_submit};
