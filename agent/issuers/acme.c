/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The `acme` issuer (RFC 8555). submit: the account (key made in the token
 * on first use, account URL kept in <state_dir>/acme/), then newOrder; the
 * order URL is the handle the engine journals before any challenge is
 * answered. poll: solve the order's pending authorizations, finalize with
 * the token-signed CSR (kept beside the account, it is public), and
 * download the chain once the order is valid. A resumed request polls the
 * same order, so one generation never orders twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "h2a_keygen.h"
#include "issuers/acme_int.h"

h2a_err h2a_acme_state_path(const h2a_acme *a, const char *what, char *out, size_t n)
{
    char dir[4200];

    snprintf(dir, sizeof(dir), "%s/acme", a->ctx->state_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return h2a_err_set(H2A_ERR_STATE, "%s: cannot create: %s", dir, strerror(errno));
    }
    H2A_ENSURE((size_t)snprintf(out, n, "%s/%s", dir, what) < n, H2A_ERR_STATE,
               "%s: path too long", dir);
    return H2A_OK;
}

/* <state_dir>/acme/order-<sha256(order URL)>.<ext> */
h2a_err h2a_acme_order_path(const h2a_acme *a, const char *order, const char *ext, char *out,
                            size_t n)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1], name[128];

    SHA256((const unsigned char *)order, strlen(order), md);
    h2a_hex_encode(md, sizeof(md), hex);
    snprintf(name, sizeof(name), "order-%s.%s", hex, ext);
    return h2a_acme_state_path(a, name, out, n);
}

/* The generation (token key id, hex) when it can name a file; NULL otherwise. */
static const char *s_generation(const h2a_acme *a)
{
    const char *g = a->ctx->generation;

    return g != NULL && g[0] != '\0' && strlen(g) <= 128 &&
                   strspn(g, "0123456789abcdefABCDEF") == strlen(g)
               ? g
               : NULL;
}

h2a_err h2a_acme_csr_path(const h2a_acme *a, const char *order, char *out, size_t n)
{
    const char *g = s_generation(a);
    char name[160];

    if (g == NULL) {
        return h2a_acme_order_path(a, order, "csr", out, n);
    }
    snprintf(name, sizeof(name), "csr-%s.der", g);
    return h2a_acme_state_path(a, name, out, n);
}

h2a_err h2a_acme_lock(h2a_acme *a, const char *key, size_t len, int *fd)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char path[4400];
    uint64_t slot = 0;
    struct flock fl;
    int r;

    SHA256((const unsigned char *)key, len, md);
    for (int i = 0; i < 8; i++) {
        slot = (slot << 8) | md[i];
    }
    H2A_GUARD(h2a_acme_state_path(a, "locks", path, sizeof(path)));
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    H2A_ENSURE(*fd >= 0, H2A_ERR_STATE, "%s: %s", path, strerror(errno));
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)(slot >> 2);
    fl.l_len = 1;
    r = fcntl(*fd, F_OFD_SETLK, &fl);
    if (r != 0 && (errno == EAGAIN || errno == EACCES)) {
        /*
         * Blocking: the kernel hands the lock to a waiter as it is released, so
         * a holder that comes straight back (its next change to the name) does
         * not starve us. Every holder lets go within its own timeout, or dies.
         */
        H2A_LOG_INFO("issuers.%s: waiting for another hsm2acm process (%s)",
                     a->ctx->conf->name, key);
        do {
            r = fcntl(*fd, F_OFD_SETLKW, &fl);
        } while (r != 0 && errno == EINTR);
    }
    if (r != 0) {
        int e = errno;

        close(*fd);
        *fd = -1;
        return h2a_err_set(H2A_ERR_STATE, "issuers.%s: %s: cannot lock: %s", a->ctx->conf->name,
                           path, strerror(e));
    }
    return H2A_OK;
}

/* The account key by its label, made in the token (not extractable, sign only) if absent. */
static h2a_err s_account_key(h2a_acme *a, bool *made)
{
    H2A_SESSION *s = a->ctx->session;
    h2a_err rv;

    *made = false;
#ifdef H2A_FUZZ_HOOKS
    if (s == NULL) {
        /* fuzz_acme: no token, so a fixed public key stands in (RFC 7638's example). */
        H2A_GUARD(h2a_buf_append_str(&a->jwk, H2A_ACME_FUZZ_JWK));
        H2A_GUARD(h2a_buf_terminate(&a->jwk));
        return h2a_acme_thumbprint((const char *)a->jwk.data, &a->thumb);
    }
#endif
    if (h2a_p11_key_find(s, a->conf->account_label, NULL, 0, &a->key) != H2A_OK) {
        h2a_err_clear();
        rv = h2a_keygen_generate(s, a->conf->account_type, a->conf->account_label, 0, &a->key);
        if (rv == H2A_OK) {
            *made = true;
            H2A_LOG_INFO("issuers.%s: made the ACME account key '%s' (%s) in the token",
                         a->ctx->conf->name, a->conf->account_label,
                         h2a_keytype_cli_name(a->conf->account_type));
        } else if (h2a_p11_key_find(s, a->conf->account_label, NULL, 0, &a->key) == H2A_OK) {
            /* Another process made it between our find and keygen: theirs is the key. */
            h2a_err_clear();
        } else {
            return h2a_err_prefix(rv, "issuers.%s.account_key: ", a->ctx->conf->name);
        }
    }
    H2A_ENSURE(h2a_acme_alg(a->key) != NULL, H2A_ERR_INPUT, "issuers.%s.account_key: key "
               "'%s' has no JWS algorithm", a->ctx->conf->name, a->conf->account_label);
    if (strcmp(h2a_acme_alg(a->key), "RS256") == 0) {
        H2A_LOG_DBG("issuers.%s: JWS RS256 in the token with %s", a->ctx->conf->name,
                    h2a_mech_name(h2a_acme_rs256_mech(a->key)));
    }
    H2A_GUARD(h2a_acme_jwk(h2a_p11_key_public(a->key), &a->jwk));
    H2A_GUARD(h2a_buf_terminate(&a->jwk));
    return h2a_acme_thumbprint((const char *)a->jwk.data, &a->thumb);
}

static h2a_err s_account_payload(h2a_acme *a, bool only_existing, h2a_buf *out)
{
    json_object *p = json_object_new_object(), *c = json_object_new_array();
    h2a_buf key, eab;
    h2a_err rv = H2A_OK;

    h2a_buf_init_secure(&key, 4096);
    h2a_buf_init(&eab, 0);
    if (only_existing) {
        json_object_object_add(p, "onlyReturnExisting", json_object_new_boolean(1));
    } else {
        json_object_object_add(p, "termsOfServiceAgreed",
                               json_object_new_boolean(a->conf->tos_agreed));
        for (size_t i = 0; i < a->conf->n_contact; i++) {
            json_object_array_add(c, json_object_new_string(a->conf->contact[i]));
        }
        json_object_object_add(p, "contact", c);
        c = NULL;
    }
    if (!only_existing && a->conf->eab_kid != NULL) {
        char field[300];

        snprintf(field, sizeof(field), "issuers.%s.eab.hmac_key_file", a->ctx->conf->name);
        if ((rv = h2a_acme_eab_key_load(field, a->conf->eab_key_file, &key)) == H2A_OK &&
            (rv = h2a_acme_eab(a->conf->eab_kid, &key, a->new_account,
                               (const char *)a->jwk.data, &eab)) == H2A_OK &&
            (rv = h2a_buf_terminate(&eab)) == H2A_OK) {
            json_object_object_add(p, "externalAccountBinding",
                                   json_tokener_parse((const char *)eab.data));
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(out, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(c);
    json_object_put(p);
    h2a_buf_free(&key);
    h2a_buf_free(&eab);
    return rv == H2A_OK ? h2a_buf_terminate(out) : rv;
}

/* newAccount, or with `only_existing` the account this key already has. */
static h2a_err s_new_account(h2a_acme *a, bool only_existing, bool *missing)
{
    h2a_acme_reply r = {0};
    h2a_buf payload;
    h2a_err rv;

    *missing = false;
    h2a_buf_init(&payload, 0);
    h2a_acme_reply_clear(&r);
    rv = s_account_payload(a, only_existing, &payload);
    if (rv == H2A_OK) {
        rv = h2a_acme_post(a, a->new_account, (const char *)payload.data, &r);
    }
    if (rv != H2A_OK && only_existing && r.status == 400 &&
        strstr((const char *)r.body.data, "accountDoesNotExist") != NULL) {
        h2a_err_clear();
        *missing = true;
        rv = H2A_OK;
    } else if (rv == H2A_OK) {
        H2A_LOG_INFO("issuers.%s: ACME account %s (%s)", a->ctx->conf->name, r.location,
                     only_existing ? "recovered with onlyReturnExisting" : "registered");
        a->kid = strdup(r.location);
        if (a->kid == NULL || r.location[0] == '\0') {
            rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: newAccount gave no account URL",
                             a->ctx->conf->name);
        }
    }
    h2a_buf_free(&payload);
    h2a_buf_free(&r.body);
    return rv;
}

/* The account URL: kept, recovered with onlyReturnExisting, or registered. */
static h2a_err s_account_url(h2a_acme *a)
{
    char path[4400], name[128];
    h2a_buf url;
    bool made, missing = true;
    h2a_err rv;

    H2A_GUARD(s_account_key(a, &made));
    /* Named by the key's thumbprint: an account URL belongs to exactly one key. */
    snprintf(name, sizeof(name), "account-%s.url", (const char *)a->thumb.data);
    H2A_GUARD(h2a_acme_state_path(a, name, path, sizeof(path)));
    h2a_buf_init(&url, 4096);
    if (!made && h2a_file_read(path, &url) == H2A_OK && url.len > 0) {
        rv = h2a_buf_terminate(&url);
        if (rv == H2A_OK && (a->kid = strdup((const char *)url.data)) == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "account");
        }
        h2a_buf_free(&url);
        return rv;
    }
    h2a_err_clear();
    h2a_buf_free(&url);
    /* A key made earlier whose URL was lost still has its account: ask for it. */
    rv = made ? H2A_OK : s_new_account(a, true, &missing);
    if (rv == H2A_OK && missing) {
        rv = s_new_account(a, false, &missing);
    }
    if (rv == H2A_OK) {
        rv = h2a_file_write_atomic(path, a->kid, strlen(a->kid), 0600);
    }
    return rv;
}

h2a_err h2a_acme_account(h2a_acme *a)
{
    char name[300];
    int fd = -1;
    h2a_err rv;

    if (a->key != NULL && a->kid != NULL) {
        return H2A_OK; /* kept by the worker from an earlier call */
    }
    /* What a failed earlier call left half-made is made again. */
    h2a_p11_key_free(a->key);
    a->key = NULL;
    h2a_buf_reset(&a->jwk);
    h2a_buf_reset(&a->thumb);
    free(a->kid);
    a->kid = NULL;
    if (a->conf->eab_kid != NULL) {
        /* A bad key file is the operator's mistake: refuse before the token is touched. */
        h2a_buf key;

        h2a_buf_init_secure(&key, 4096);
        snprintf(name, sizeof(name), "issuers.%s.eab.hmac_key_file", a->ctx->conf->name);
        rv = h2a_acme_eab_key_load(name, a->conf->eab_key_file, &key);
        h2a_buf_free(&key);
        H2A_GUARD(rv);
    }
    /* Processes that start together would each make a key under the one label. */
    snprintf(name, sizeof(name), "account %s", a->conf->account_label);
    H2A_GUARD(h2a_acme_lock(a, name, strlen(name), &fd));
    rv = s_account_url(a);
    close(fd);
    return rv;
}

/*
 * {"identifiers":[{"type":"dns","value":...}...]} from the CSR's DNS names,
 * with "replaces" (RFC 9773) when `replaces` names a predecessor's certID.
 */
h2a_err h2a_acme_order_body(const h2a_acme *a, X509_REQ *csr, const char *replaces,
                            h2a_buf *out)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    GENERAL_NAMES *gens = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
    json_object *p = json_object_new_object(), *ids = json_object_new_array();
    int n = 0;
    h2a_err rv;

    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        json_object *id;

        if (g->type != GEN_DNS) {
            continue;
        }
        id = json_object_new_object();
        json_object_object_add(id, "type", json_object_new_string("dns"));
        json_object_object_add(id, "value", json_object_new_string_len(
            (const char *)ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName)));
        json_object_array_add(ids, id);
        n++;
    }
    json_object_object_add(p, "identifiers", ids);
    if (replaces != NULL) {
        json_object_object_add(p, "replaces", json_object_new_string(replaces));
    }
    rv = n == 0 ? h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: the CSR names no DNS name to "
                              "order", a->ctx->conf->name)
                : h2a_buf_append_str(out, json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    json_object_put(p);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rv == H2A_OK ? h2a_buf_terminate(out) : rv;
}

/*
 * <state_dir>/acme/replaces-<key id>: the certID a generation's first order
 * sent, for its replacement orders (poll has no predecessor). False without
 * a generation.
 */
static bool s_replaces_path(const h2a_acme *a, char *out, size_t n)
{
    char name[200];
    const char *g = s_generation(a);

    if (g == NULL) {
        return false;
    }
    snprintf(name, sizeof(name), "replaces-%s", g);
    if (h2a_acme_state_path(a, name, out, n) != H2A_OK) {
        h2a_err_clear();
        return false;
    }
    return true;
}

/*
 * The ARI certID of the predecessor a renewal names (kept for the
 * generation's replacement orders), or the one kept; NULL (and no error)
 * when there is none.
 */
static char *s_replaces(const h2a_acme *a)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    h2a_buf id;
    char path[4400], *out = NULL;
    bool kept = s_replaces_path(a, path, sizeof(path));

    h2a_buf_init(&id, 256);
    if (a->ctx->predecessor_pem == NULL) {
        if (kept && h2a_file_read(path, &id) == H2A_OK && h2a_buf_terminate(&id) == H2A_OK) {
            out = strdup((const char *)id.data);
        }
        h2a_err_clear();
    } else if (h2a_issuer_parse_pem_chain("predecessor", a->ctx->predecessor_pem,
                                          strlen(a->ctx->predecessor_pem), &leaf,
                                          &chain) == H2A_OK &&
               h2a_acme_cert_id(leaf, &id) == H2A_OK && h2a_buf_terminate(&id) == H2A_OK) {
        out = strdup((const char *)id.data);
        if (out != NULL && kept && h2a_file_write_atomic(path, out, strlen(out), 0600) != H2A_OK) {
            H2A_LOG_WARN("issuers.%s: %s", a->ctx->conf->name, h2a_err_msg());
            h2a_err_clear();
        }
    } else {
        H2A_LOG_WARN("issuers.%s: the renewal's predecessor has no ARI certID, ordering "
                     "without replaces: %s", a->ctx->conf->name, h2a_err_msg());
        h2a_err_clear();
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    h2a_buf_free(&id);
    return out;
}

void h2a_acme_order_done(const h2a_acme *a, const char *order)
{
    char path[4400];

    /* A later poll of the valid order downloads again; it needs neither. */
    if (h2a_acme_csr_path(a, order, path, sizeof(path)) == H2A_OK) {
        (void)unlink(path);
    }
    if (s_replaces_path(a, path, sizeof(path))) {
        (void)unlink(path);
    }
    h2a_err_clear();
}

h2a_err h2a_acme_order_new(h2a_acme *a, X509_REQ *csr, char **url)
{
    h2a_acme_reply r = {0};
    h2a_buf payload;
    unsigned char *der = NULL;
    int der_len;
    char path[4400], *replaces = s_replaces(a);
    h2a_err rv;

    *url = NULL;
    h2a_buf_init(&payload, 0);
    h2a_acme_reply_clear(&r);
    rv = h2a_acme_order_body(a, csr, replaces, &payload);
    if (rv == H2A_OK) {
        rv = h2a_acme_post(a, a->new_order, (const char *)payload.data, &r);
    }
    if (rv == H2A_OK && r.location[0] == '\0') {
        rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: newOrder gave no order URL",
                         a->ctx->conf->name);
    }
    /* The CSR waits beside the order for finalize (a resume has only the handle). */
    if (rv == H2A_OK &&
        (rv = h2a_acme_csr_path(a, r.location, path, sizeof(path))) == H2A_OK) {
        der_len = i2d_X509_REQ(csr, &der);
        rv = der_len <= 0 ? h2a_err_openssl(H2A_ERR_INTERNAL, "CSR")
                          : h2a_file_write_atomic(path, der, (size_t)der_len, 0600);
    }
    if (rv == H2A_OK) {
        H2A_LOG_INFO("issuers.%s: ACME order %s%s%s", a->ctx->conf->name, r.location,
                     replaces != NULL ? " replacing certificate " : "",
                     replaces != NULL ? replaces : "");
        *url = strdup(r.location);
        rv = *url == NULL ? h2a_err_set(H2A_ERR_NOMEM, "order") : H2A_OK;
    }
    free(replaces);
    OPENSSL_free(der);
    h2a_buf_free(&payload);
    h2a_buf_free(&r.body);
    return rv;
}

static h2a_err s_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    h2a_acme a;
    h2a_err rv = h2a_acme_open(ctx, &a);

    if (rv == H2A_OK && (rv = h2a_acme_account(&a)) == H2A_OK) {
        rv = h2a_acme_order_new(&a, csr, &res->handle);
    }
    h2a_acme_close(&a);
    return rv;
}

const h2a_issuer_ops h2a_issuer_acme_ops = {
    .type = "acme",
    .submit = s_submit,
    .poll = h2a_acme_poll,
    .names_predecessor = true,
};
