/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Polling an ACME order (RFC 8555 7.4, 7.5): pending authorizations are
 * solved (already valid ones are left alone), a ready order is finalized
 * with the CSR kept at submit, a valid one has its chain downloaded.
 * Challenge material (webroot files, responder) is removed on every path.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/x509_vfy.h>

#include "config/h2a_jv.h"
#include "issuers/acme_int.h"

#define H2A_ACME_MAX_AUTHZ 64

struct s_solving {
    h2a_acme_responder *responder;
    char pending[4400]; /* the order's record of what is put up */
    h2a_buf record;
    char *tokens[H2A_ACME_MAX_AUTHZ];
    char *authz[H2A_ACME_MAX_AUTHZ];
    char *txt_name[H2A_ACME_MAX_AUTHZ]; /* dns-01: what to remove */
    char *txt_value[H2A_ACME_MAX_AUTHZ];
    size_t n;
};

/* POST (payload "" = POST-as-GET) and parse the JSON answer into *obj. */
static h2a_err s_post_json(h2a_acme *a, const char *url, const char *payload,
                           json_object **obj, h2a_acme_reply *r)
{
    h2a_acme_reply_clear(r);
    H2A_GUARD(h2a_acme_post(a, url, payload, r));
    *obj = json_tokener_parse((const char *)r->body.data);
    H2A_ENSURE(*obj != NULL, H2A_ERR_ISSUER, "issuers.%s: %s: the answer is not JSON",
               a->ctx->conf->name, url);
    return H2A_OK;
}

static void s_solving_clear(h2a_acme *a, struct s_solving *s)
{
    h2a_acme_responder_stop(s->responder);
    for (size_t i = 0; i < s->n; i++) {
        if (a->conf->challenge == H2A_ACME_CH_HTTP_WEBROOT) {
            h2a_acme_webroot_remove(a->conf->webroot, s->tokens[i]);
        }
        if (s->txt_name[i] != NULL && s->txt_value[i] != NULL) {
            h2a_acme_dns_remove(a, s->txt_name[i], s->txt_value[i]);
        }
        free(s->txt_name[i]);
        free(s->txt_value[i]);
        free(s->tokens[i]);
        free(s->authz[i]);
    }
    if (s->pending[0] != '\0') {
        (void)unlink(s->pending);
    }
    h2a_buf_free(&s->record);
    memset(s, 0, sizeof(*s));
}

static const char *s_ident(json_object *authz)
{
    json_object *id = NULL;

    json_object_object_get_ex(authz, "identifier", &id);
    return h2a_acme_jstr(id, "value") != NULL ? h2a_acme_jstr(id, "value") : "(unknown)";
}

/*
 * Note a challenge record in the order's pending file before it is put up,
 * so a run that dies before its cleanup leaves the resume a list to remove.
 */
static h2a_err s_note(struct s_solving *s, const char *kind, const char *a1, const char *a2)
{
    H2A_GUARD(h2a_buf_printf(&s->record, "%s %s %s\n", kind, a1, a2 ? a2 : "-"));
    return h2a_file_write_atomic(s->pending, s->record.data, s->record.len, 0600);
}

/* Remove what an earlier run of this order put up and never took down. */
static void s_leftovers(h2a_acme *a, const char *handle)
{
    char path[4400], kind[8], a1[300], a2[200];
    FILE *f;

    if (h2a_acme_order_path(a, handle, "pending", path, sizeof(path)) != H2A_OK) {
        h2a_err_clear();
        return;
    }
    f = fopen(path, "r");
    while (f != NULL && fscanf(f, "%7s %299s %199s", kind, a1, a2) == 3) {
        H2A_LOG_INFO("issuers.%s: removing %s record %s left by an interrupted run",
                     a->ctx->conf->name, kind, a1);
        if (strcmp(kind, "dns") == 0) {
            h2a_acme_dns_remove(a, a1, a2);
        } else if (strcmp(kind, "web") == 0 && a->conf->webroot != NULL) {
            h2a_acme_webroot_remove(a->conf->webroot, a1);
        }
    }
    if (f != NULL) {
        fclose(f);
        (void)unlink(path);
    }
}

/* dns-01: _acme-challenge.<name>. gets our value; remembered for removal first. */
static h2a_err s_put_txt(h2a_acme *a, struct s_solving *s, json_object *authz,
                         const char *key_auth)
{
    const char *id = s_ident(authz);
    h2a_buf v, n;
    h2a_err rv;

    /* The server names the record: only a host name may reach DNS and the pending file. */
    H2A_ENSURE(id[0] != '\0' && id[0] != '.' && strlen(id) < 254 && h2a_jv_charset_ok(id, "-."),
               H2A_ERR_ISSUER, "issuers.%s: the authorization's identifier is not a DNS name",
               a->ctx->conf->name);
    h2a_buf_init(&v, 0);
    h2a_buf_init(&n, 0);
    rv = h2a_acme_dns_value(key_auth, &v);
    if (rv == H2A_OK && (rv = h2a_buf_printf(&n, "_acme-challenge.%s.", id)) == H2A_OK &&
        (rv = h2a_buf_terminate(&n)) == H2A_OK) {
        s->txt_name[s->n - 1] = strdup((const char *)n.data);
        s->txt_value[s->n - 1] = strdup((const char *)v.data);
        rv = s_note(s, "dns", (const char *)n.data, (const char *)v.data);
        if (rv == H2A_OK) {
            rv = h2a_acme_dns_add(a, (const char *)n.data, (const char *)v.data);
        }
    }
    h2a_buf_free(&v);
    h2a_buf_free(&n);
    return rv;
}

/* Put up the key authorization of this authz's http-01 challenge and answer it. */
static h2a_err s_answer(h2a_acme *a, struct s_solving *s, const char *url, json_object *authz)
{
    json_object *chs = NULL, *ch = NULL, *o = NULL;
    const char *token = NULL, *curl = NULL;
    bool dns = a->conf->challenge == H2A_ACME_CH_DNS_ARGV ||
               a->conf->challenge == H2A_ACME_CH_DNS_ROUTE53;
    const char *want = dns ? "dns-01" : "http-01";
    h2a_acme_reply r = {0};
    h2a_buf ka;
    h2a_err rv;

    chs = h2a_acme_jarr(authz, "challenges");
    for (size_t i = 0; chs != NULL && i < json_object_array_length(chs); i++) {
        ch = json_object_array_get_idx(chs, i);
        if (strcmp(h2a_acme_jstr(ch, "type") ? h2a_acme_jstr(ch, "type") : "", want) == 0) {
            token = h2a_acme_jstr(ch, "token");
            curl = h2a_acme_jstr(ch, "url");
        }
    }
    H2A_ENSURE(token != NULL && curl != NULL, H2A_ERR_ISSUER, "issuers.%s: %s: the "
               "authorization offers no %s challenge", a->ctx->conf->name, s_ident(authz), want);
    /*
     * Before the token reaches the pending file: a token with a space or a
     * newline would add records that a resume then removes (any name, any value).
     */
    H2A_ENSURE(h2a_acme_token_ok(token), H2A_ERR_ISSUER, "issuers.%s: %s: the server's %s "
               "token is not base64url", a->ctx->conf->name, s_ident(authz), want);
    H2A_ENSURE(s->n < H2A_ACME_MAX_AUTHZ, H2A_ERR_ISSUER, "too many authorizations");
    h2a_buf_init(&ka, 0);
    rv = h2a_buf_printf(&ka, "%s.%s", token, (const char *)a->thumb.data);
    if (rv == H2A_OK) {
        s->tokens[s->n] = strdup(token);
        s->authz[s->n] = strdup(url);
        s->n++;
        if (dns) {
            rv = s_put_txt(a, s, authz, (const char *)ka.data);
        } else if (a->conf->challenge == H2A_ACME_CH_HTTP_WEBROOT) {
            rv = s_note(s, "web", token, NULL);
            rv = rv != H2A_OK ? rv
                              : h2a_acme_webroot_put(a->conf->webroot, token, (const char *)ka.data);
        } else {
            rv = h2a_acme_responder_add(s->responder, token, (const char *)ka.data);
        }
    }
    /* -strict servers want exactly {} to start validation. */
    if (rv == H2A_OK && (rv = s_post_json(a, curl, "{}", &o, &r)) == H2A_OK) {
        H2A_LOG_INFO("issuers.%s: answered %s for %s", a->ctx->conf->name, want,
                     s_ident(authz));
    }
    json_object_put(o);
    h2a_buf_free(&ka);
    h2a_buf_free(&r.body);
    return rv;
}

static h2a_err s_authz_failed(h2a_acme *a, json_object *authz)
{
    json_object *chs = NULL, *err = NULL;
    const char *type = NULL, *detail = NULL;

    chs = h2a_acme_jarr(authz, "challenges");
    for (size_t i = 0; chs != NULL && i < json_object_array_length(chs); i++) {
        if (json_object_object_get_ex(json_object_array_get_idx(chs, i), "error", &err)) {
            type = h2a_acme_jstr(err, "type");
            detail = h2a_acme_jstr(err, "detail");
        }
    }
    return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: authorization for %s is invalid: %s: %s",
                       a->ctx->conf->name, s_ident(authz), type ? type : "(no problem type)",
                       detail ? detail : "(no detail)");
}

/* Poll one answered authorization until it is valid or invalid. */
static h2a_err s_authz_wait(h2a_acme *a, const char *url)
{
    for (;;) {
        json_object *o = NULL;
        h2a_acme_reply r = {0};
        const char *st;
        long long pause;
        h2a_err rv = s_post_json(a, url, "", &o, &r);

        st = rv == H2A_OK ? h2a_acme_jstr(o, "status") : NULL;
        if (rv == H2A_OK && st != NULL && strcmp(st, "invalid") == 0) {
            rv = s_authz_failed(a, o);
        } else if (rv == H2A_OK && (st == NULL || strcmp(st, "valid") != 0) &&
                   h2a_acme_now_ms() > a->deadline_ms) {
            rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s still %s at the timeout",
                             a->ctx->conf->name, s_ident(o), st ? st : "(no status)");
        }
        bool valid = st != NULL && strcmp(st, "valid") == 0; /* st lives in o */

        pause = r.retry_after_ms > 0 ? r.retry_after_ms : 250;
        json_object_put(o);
        h2a_buf_free(&r.body);
        if (rv != H2A_OK || valid) {
            return rv;
        }
        h2a_acme_pause(a, pause > 10000 ? 10000 : pause);
    }
}

/*
 * Test builds: die like a power cut at `point` (acme-answered: every
 * challenge answered; acme-finalized: the finalize request accepted).
 */
static void s_crash_point(const char *point)
{
    const char *c = h2a_test_hook_env("HSM2ACM_TEST_CRASH_AT");

    if (c != NULL && strstr(c, point) != NULL) {
        H2A_LOG_WARN("HSM2ACM_TEST_CRASH_AT: crashing at %s", point);
        raise(SIGKILL);
    }
}

static h2a_err s_solve(h2a_acme *a, const char *handle, json_object *order)
{
    json_object *list = NULL;
    struct s_solving s;
    h2a_err rv = H2A_OK;

    memset(&s, 0, sizeof(s));
    h2a_buf_init(&s.record, 0);
    H2A_GUARD(h2a_acme_order_path(a, handle, "pending", s.pending, sizeof(s.pending)));
    list = h2a_acme_jarr(order, "authorizations");
    if (a->conf->challenge == H2A_ACME_CH_HTTP_LISTEN) {
        H2A_GUARD(h2a_acme_responder_start(a->conf->listen_host, a->conf->listen_port,
                                           &s.responder));
    }
    for (size_t i = 0; rv == H2A_OK && list != NULL && i < json_object_array_length(list); i++) {
        json_object *u = json_object_array_get_idx(list, i);
        const char *url = json_object_is_type(u, json_type_string) ? json_object_get_string(u) : NULL;
        json_object *authz = NULL;
        h2a_acme_reply r = {0};
        const char *st;

        if (url == NULL) {
            rv = h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: order %s: authorization %zu is not a URL",
                             a->ctx->conf->name, handle, i);
            break;
        }

        rv = s_post_json(a, url, "", &authz, &r);
        st = rv == H2A_OK ? h2a_acme_jstr(authz, "status") : NULL;
        if (rv == H2A_OK && st != NULL && strcmp(st, "pending") == 0) {
            rv = a->conf->challenge == H2A_ACME_CH_NONE
                     ? h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: %s is not pre-authorized and "
                                   "challenge is none", a->ctx->conf->name, s_ident(authz))
                     : s_answer(a, &s, url, authz);
        } else if (rv == H2A_OK && st != NULL && strcmp(st, "invalid") == 0) {
            rv = s_authz_failed(a, authz);
        }
        json_object_put(authz);
        h2a_buf_free(&r.body);
    }
    if (rv == H2A_OK && s.n > 0) {
        s_crash_point("acme-answered");
    }
    for (size_t i = 0; rv == H2A_OK && i < s.n; i++) {
        rv = s_authz_wait(a, s.authz[i]);
    }
    s_solving_clear(a, &s);
    return rv;
}

static h2a_err s_finalize(h2a_acme *a, const char *handle, json_object *order)
{
    char path[4400];
    h2a_buf der, payload;
    json_object *o = NULL;
    h2a_acme_reply r = {0};
    const char *fin = h2a_acme_jstr(order, "finalize");
    h2a_err rv;

    H2A_ENSURE(fin != NULL, H2A_ERR_ISSUER, "issuers.%s: order %s has no finalize URL",
               a->ctx->conf->name, handle);
    h2a_buf_init(&der, 64 * 1024);
    h2a_buf_init(&payload, 0);
    rv = h2a_acme_csr_path(a, handle, path, sizeof(path));
    if (rv == H2A_OK && (rv = h2a_file_read(path, &der)) != H2A_OK) {
        rv = h2a_err_prefix(rv, "issuers.%s: the CSR of order %s: ", a->ctx->conf->name, handle);
    }
    if (rv == H2A_OK && (rv = h2a_buf_append_str(&payload, "{\"csr\":\"")) == H2A_OK &&
        (rv = h2a_base64url_encode(der.data, der.len, &payload)) == H2A_OK &&
        (rv = h2a_buf_append_str(&payload, "\"}")) == H2A_OK &&
        (rv = h2a_buf_terminate(&payload)) == H2A_OK) {
        rv = s_post_json(a, fin, (const char *)payload.data, &o, &r);
    }
    if (rv == H2A_OK) {
        s_crash_point("acme-finalized");
    }
    json_object_put(o);
    h2a_buf_free(&r.body);
    h2a_buf_free(&der);
    h2a_buf_free(&payload);
    return rv;
}

/* With trust_anchors the leaf must verify through the served chain to one of them. */
static h2a_err s_anchored(h2a_acme *a, X509 *leaf, STACK_OF(X509) *chain)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    h2a_err rv = H2A_OK;

    if (store == NULL || vc == NULL ||
        X509_STORE_load_file(store, a->conf->trust_anchors) != 1 ||
        X509_STORE_CTX_init(vc, store, leaf, chain) != 1) {
        rv = h2a_err_openssl(H2A_ERR_VERIFY, "trust_anchors");
        rv = h2a_err_prefix(rv, "issuers.%s: %s: ", a->ctx->conf->name, a->conf->trust_anchors);
    } else if (X509_verify_cert(vc) != 1) {
        rv = h2a_err_set(H2A_ERR_VERIFY, "certificate from issuer '%s' does not verify to "
                         "its trust_anchors: %s", a->ctx->conf->name,
                         X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc)));
    }
    X509_STORE_CTX_free(vc);
    X509_STORE_free(store);
    return rv;
}

/* True when the chain's top certificate was issued by a CA of common name `cn`. */
static bool s_top_issuer_is(STACK_OF(X509) *chain, X509 *leaf, const char *cn)
{
    X509 *top = sk_X509_num(chain) > 0 ? sk_X509_value(chain, sk_X509_num(chain) - 1) : leaf;
    char have[256] = "";

    X509_NAME_get_text_by_NID(X509_get_issuer_name(top), NID_commonName, have, sizeof(have));
    return strcmp(have, cn) == 0;
}

/* preferred_chain: swap in the first alternate chain whose top issuer has that name. */
static void s_prefer(h2a_acme *a, const h2a_acme_reply *first, h2a_issue_result *res)
{
    char who[128];

    snprintf(who, sizeof(who), "issuers.%s", a->ctx->conf->name);
    for (size_t i = 0; !s_top_issuer_is(res->chain, res->leaf, a->conf->preferred_chain) &&
                       i < first->n_alternates; i++) {
        h2a_acme_reply r = {0};
        X509 *leaf = NULL;
        STACK_OF(X509) *chain = NULL;

        h2a_acme_reply_clear(&r);
        if (h2a_acme_post(a, first->alternates[i], "", &r) == H2A_OK &&
            h2a_issuer_parse_pem_chain(who, (const char *)r.body.data, r.body.len, &leaf,
                                       &chain) == H2A_OK &&
            s_top_issuer_is(chain, leaf, a->conf->preferred_chain)) {
            H2A_LOG_INFO("%s: using the alternate chain to '%s'", who, a->conf->preferred_chain);
            X509_free(res->leaf);
            sk_X509_pop_free(res->chain, X509_free);
            res->leaf = leaf;
            res->chain = chain;
            leaf = NULL;
            chain = NULL;
        }
        h2a_err_clear();
        X509_free(leaf);
        sk_X509_pop_free(chain, X509_free);
        h2a_buf_free(&r.body);
    }
}

static h2a_err s_download(h2a_acme *a, const char *handle, json_object *order,
                          h2a_issue_result *res)
{
    const char *url = h2a_acme_jstr(order, "certificate");
    h2a_acme_reply r = {0};
    char who[128];
    h2a_err rv;

    H2A_ENSURE(url != NULL, H2A_ERR_ISSUER, "issuers.%s: a valid order without a "
               "certificate URL", a->ctx->conf->name);
    h2a_acme_reply_clear(&r);
    snprintf(who, sizeof(who), "issuers.%s", a->ctx->conf->name);
    rv = h2a_acme_post(a, url, "", &r);
    if (rv == H2A_OK) {
        rv = h2a_issuer_parse_pem_chain(who, (const char *)r.body.data, r.body.len,
                                        &res->leaf, &res->chain);
    }
    if (rv == H2A_OK && a->conf->preferred_chain != NULL) {
        s_prefer(a, &r, res);
    }
    if (rv == H2A_OK && a->conf->trust_anchors != NULL) {
        rv = s_anchored(a, res->leaf, res->chain);
    }
    if (rv == H2A_OK) {
        res->done = true;
        h2a_acme_ari_store(a, res->leaf);
        h2a_acme_order_done(a, handle);
    }
    h2a_buf_free(&r.body);
    return rv;
}

/*
 * The journaled order is dead (invalid, expired, or unknown to the server):
 * a new order for the same CSR, handed back for the engine to journal in
 * place of the old one before anything is answered for it.
 */
static h2a_err s_replace(h2a_acme *a, const char *handle, const char *why,
                         h2a_issue_result *res)
{
    char path[4400];
    h2a_buf der;
    const unsigned char *p;
    X509_REQ *csr = NULL;
    h2a_err rv;

    h2a_buf_init(&der, 64 * 1024);
    rv = h2a_acme_csr_path(a, handle, path, sizeof(path));
    if (rv == H2A_OK && (rv = h2a_file_read(path, &der)) == H2A_OK) {
        p = der.data;
        csr = d2i_X509_REQ(NULL, &p, (long)der.len);
        rv = csr == NULL ? h2a_err_openssl(H2A_ERR_STATE, path) : H2A_OK;
    }
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(rv, "issuers.%s: order %s %s and cannot be replaced: ",
                            a->ctx->conf->name, handle, why);
    } else if ((rv = h2a_acme_order_new(a, csr, &res->handle)) == H2A_OK) {
        H2A_LOG_WARN("issuers.%s: order %s %s: replaced by the new order %s",
                     a->ctx->conf->name, handle, why, res->handle);
        res->retry_after_ms = 10;
    }
    X509_REQ_free(csr);
    h2a_buf_free(&der);
    return rv;
}

/*
 * The order's state at the start of its first poll in this process (a
 * resume, or the poll right after submit): dead there means replaced. Later
 * it is an error: this process drove the order, and replacing it again
 * would loop on an order the server keeps refusing.
 */
static h2a_err s_dead(h2a_acme *a, const char *handle, json_object *order,
                      const h2a_acme_reply *r, h2a_err rv, bool first, h2a_issue_result *res)
{
    json_object *err = NULL;
    const char *st = h2a_acme_jstr(order, "status") ? h2a_acme_jstr(order, "status") : "";
    char why[600];

    if (rv != H2A_OK && r->status == 404 && first) {
        snprintf(why, sizeof(why), "is unknown to the server (HTTP 404)");
    } else if (rv != H2A_OK) {
        return rv;
    } else {
        json_object_object_get_ex(order, "error", &err);
        snprintf(why, sizeof(why), "is %s: %s: %s", st[0] ? st : "(no status)",
                 h2a_acme_jstr(err, "type") ? h2a_acme_jstr(err, "type") : "",
                 h2a_acme_jstr(err, "detail") ? h2a_acme_jstr(err, "detail") : "");
        if (!first) {
            return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: order %s %s", a->ctx->conf->name,
                               handle, why);
        }
    }
    h2a_err_clear();
    return s_replace(a, handle, why, res);
}

bool h2a_acme_order_expired(json_object *order, time_t now)
{
    const char *e = h2a_acme_jstr(order, "expires");
    struct tm tm;
    int off_h = 0, off_m = 0, used = 0;
    char sign = 'Z';
    const char *rest;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (e == NULL || sscanf(e, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6) {
        return false; /* no usable time: the server's status decides */
    }
    rest = e + used;
    if (*rest == '.') {
        rest += 1 + strspn(rest + 1, "0123456789");
    }
    if ((*rest == '+' || *rest == '-') && sscanf(rest, "%c%2d:%2d", &sign, &off_h, &off_m) != 3) {
        return false;
    } else if (*rest != '+' && *rest != '-' && strcmp(rest, "Z") != 0 && strcmp(rest, "z") != 0) {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    /* 2026-01-01T10:00:00+02:00 is 08:00 UTC. */
    t += (sign == '-' ? 1 : sign == '+' ? -1 : 0) * (time_t)(off_h * 3600 + off_m * 60);
    return t <= now;
}

/* One step of the order's state machine; *again when the next one can follow at once. */
static h2a_err s_step(h2a_acme *a, const char *handle, bool first, h2a_issue_result *res,
                      bool *again)
{
    json_object *order = NULL;
    h2a_acme_reply r = {0};
    const char *st;
    h2a_err rv = s_post_json(a, handle, "", &order, &r);

    *again = false;
    st = rv == H2A_OK && h2a_acme_jstr(order, "status") ? h2a_acme_jstr(order, "status") : "";
    if (rv != H2A_OK) {
        rv = s_dead(a, handle, NULL, &r, rv, first, res);
    } else if (first && (strcmp(st, "pending") == 0 || strcmp(st, "ready") == 0) &&
               h2a_acme_order_expired(order, time(NULL))) {
        /* Answering it would be wasted: the server is about to call it invalid. */
        char why[200];

        snprintf(why, sizeof(why), "expired at %s", h2a_acme_jstr(order, "expires"));
        rv = s_replace(a, handle, why, res);
    } else if (strcmp(st, "pending") == 0) {
        rv = s_solve(a, handle, order);
        *again = true;
    } else if (strcmp(st, "ready") == 0) {
        rv = s_finalize(a, handle, order);
        *again = true;
    } else if (strcmp(st, "processing") == 0) {
        res->retry_after_ms = r.retry_after_ms > 0 ? r.retry_after_ms : 500;
    } else if (strcmp(st, "valid") == 0) {
        rv = s_download(a, handle, order, res);
    } else {
        rv = s_dead(a, handle, order, &r, H2A_OK, first, res);
    }
    json_object_put(order);
    h2a_buf_free(&r.body);
    return rv;
}

h2a_err h2a_acme_poll(const h2a_issue_ctx *ctx, const char *handle, h2a_issue_result *res)
{
    h2a_acme a;
    bool again = true;
    h2a_err rv = h2a_acme_open(ctx, &a);

    if (rv == H2A_OK) {
        rv = h2a_acme_account(&a);
    }
    if (rv == H2A_OK) {
        s_leftovers(&a, handle);
    }
    for (int i = 0; rv == H2A_OK && again && !res->done && res->handle == NULL && i < 4; i++) {
        rv = s_step(&a, handle, i == 0 && ctx->poll_attempt == 0, res, &again);
    }
    if (rv == H2A_OK && !res->done && res->retry_after_ms == 0) {
        res->retry_after_ms = 250;
    }
    h2a_acme_close(&a);
    return rv;
}
