/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config/h2a_config.h"
#include "config/h2a_jv.h"

static const char *const s_keys[] = {
    "type", "directory_url", "account_key", "contact", "terms_of_service_agreed", "eab",
    "challenge", "ca_bundle", "preferred_chain", "trust_anchors", "timeout_seconds", NULL};
static const char *const s_account_keys[] = {"label", "type", NULL};
static const char *const s_eab_keys[] = {"kid", "hmac_key_file", NULL};
static const char *const s_ch_keys[] = {"type", "listen", "webroot", "route53_hosted_zone_id",
                                        "route53_zone", "argv", NULL};

void h2a_config_acme_free(h2a_acme_conf *a)
{
    if (a == NULL) {
        return;
    }
    free(a->directory_url);
    free(a->account_label);
    h2a_jv_strv_free(a->contact);
    free(a->eab_kid);
    free(a->eab_key_file);
    free(a->listen_host);
    free(a->webroot);
    free(a->zone_id);
    free(a->zone_name);
    h2a_jv_strv_free(a->hook_argv);
    free(a->ca_bundle);
    free(a->preferred_chain);
    free(a->trust_anchors);
    free(a);
}

/* "IP:port" or "[IPv6]:port"; the responder binds exactly that. */
static h2a_err s_listen(const char *field, const char *v, h2a_acme_conf *a)
{
    const char *colon = strrchr(v, ':');
    char host[64];
    size_t hl;
    long port;
    char *end;
    uint8_t any[16];

    H2A_ENSURE(colon != NULL && colon != v, H2A_ERR_INPUT,
               "%s: '%s' is not IP:port", field, v);
    hl = (size_t)(colon - v);
    if (v[0] == '[' && hl >= 2 && v[hl - 1] == ']') {
        v++;
        hl -= 2;
    }
    H2A_ENSURE(hl < sizeof(host), H2A_ERR_INPUT, "%s: address too long", field);
    memcpy(host, v, hl);
    host[hl] = '\0';
    port = strtol(colon + 1, &end, 10);
    H2A_ENSURE(*end == '\0' && port >= 1 && port <= 65535, H2A_ERR_INPUT,
               "%s: port '%s' is not 1..65535", field, colon + 1);
    H2A_ENSURE(inet_pton(AF_INET, host, any) == 1 || inet_pton(AF_INET6, host, any) == 1,
               H2A_ERR_INPUT, "%s: '%s' is not an IP address", field, host);
    a->listen_host = strdup(host);
    H2A_ENSURE(a->listen_host != NULL, H2A_ERR_NOMEM, "%s", field);
    a->listen_port = (int)port;
    return H2A_OK;
}

static h2a_err s_challenge_dns(json_object *ch, const char *cpath, const char *base_dir,
                               h2a_acme_conf *a)
{
    char p[256];
    int n = 0;

    H2A_GUARD(h2a_jv_str(ch, cpath, "route53_hosted_zone_id", false, 1, 64, &a->zone_id));
    H2A_GUARD(h2a_jv_str(ch, cpath, "route53_zone", false, 1, 253, &a->zone_name));
    H2A_GUARD(h2a_jv_strv(ch, cpath, "argv", false, 64, 4096, &a->hook_argv, &a->hook_argc));
    n = (a->zone_id != NULL) + (a->zone_name != NULL) + (a->hook_argc > 0);
    H2A_ENSURE(n == 1, H2A_ERR_INPUT, "%s: dns-01 needs exactly one of "
               "route53_hosted_zone_id, route53_zone, argv", cpath);
    if (a->hook_argc > 0) {
        h2a_jv_path(p, sizeof(p), cpath, "argv");
        H2A_GUARD(h2a_config_resolve(p, base_dir, &a->hook_argv[0]));
        H2A_ENSURE(a->hook_argv[0][0] == '/', H2A_ERR_INPUT, "%s[0]: must be an absolute "
                   "path", p);
        a->challenge = H2A_ACME_CH_DNS_ARGV;
    } else {
        a->challenge = H2A_ACME_CH_DNS_ROUTE53;
    }
    return H2A_OK;
}

static h2a_err s_challenge(json_object *o, const char *path, const char *base_dir,
                           h2a_acme_conf *a)
{
    json_object *ch = NULL;
    char cpath[256], p[256], *type = NULL, *listen = NULL;
    h2a_err rv = H2A_OK;

    h2a_jv_path(cpath, sizeof(cpath), path, "challenge");
    H2A_ENSURE(json_object_object_get_ex(o, "challenge", &ch) && ch != NULL, H2A_ERR_INPUT,
               "%s: required (type http-01, dns-01 or none)", cpath);
    H2A_GUARD(h2a_jv_require_object(ch, cpath));
    H2A_GUARD(h2a_jv_only_keys(ch, cpath, s_ch_keys));
    H2A_GUARD(h2a_jv_str(ch, cpath, "type", true, 1, 16, &type));
    if (strcmp(type, "none") == 0) {
        a->challenge = H2A_ACME_CH_NONE;
    } else if (strcmp(type, "http-01") == 0) {
        if ((rv = h2a_jv_str(ch, cpath, "listen", false, 3, 64, &listen)) == H2A_OK &&
            (rv = h2a_jv_str(ch, cpath, "webroot", false, 1, 4000, &a->webroot)) == H2A_OK) {
            if ((listen != NULL) == (a->webroot != NULL)) {
                rv = h2a_err_set(H2A_ERR_INPUT, "%s: http-01 needs exactly one of listen, "
                                 "webroot", cpath);
            } else if (listen != NULL) {
                a->challenge = H2A_ACME_CH_HTTP_LISTEN;
                rv = s_listen(h2a_jv_path(p, sizeof(p), cpath, "listen"), listen, a);
            } else {
                a->challenge = H2A_ACME_CH_HTTP_WEBROOT;
                rv = h2a_config_resolve(h2a_jv_path(p, sizeof(p), cpath, "webroot"), base_dir,
                                        &a->webroot);
            }
        }
    } else if (strcmp(type, "dns-01") == 0) {
        rv = s_challenge_dns(ch, cpath, base_dir, a);
    } else {
        rv = h2a_err_set(H2A_ERR_INPUT, "%s.type: '%s' is not a challenge type (http-01, "
                         "dns-01, none)", cpath, type);
    }
    free(type);
    free(listen);
    return rv;
}

static h2a_err s_account(json_object *o, const char *path, h2a_acme_conf *a)
{
    json_object *ak = NULL;
    char apath[256], *type = NULL;
    h2a_err rv;

    h2a_jv_path(apath, sizeof(apath), path, "account_key");
    H2A_ENSURE(json_object_object_get_ex(o, "account_key", &ak) && ak != NULL, H2A_ERR_INPUT,
               "%s: required ({\"label\": ..., \"type\": ...})", apath);
    H2A_GUARD(h2a_jv_require_object(ak, apath));
    H2A_GUARD(h2a_jv_only_keys(ak, apath, s_account_keys));
    H2A_GUARD(h2a_jv_str(ak, apath, "label", true, 1, 64, &a->account_label));
    H2A_GUARD(h2a_jv_str(ak, apath, "type", false, 1, 16, &type));
    a->account_type = H2A_KT_EC_P256;
    rv = type == NULL ? H2A_OK : h2a_keytype_parse(type, &a->account_type);
    if (rv == H2A_OK && a->account_type != H2A_KT_EC_P256 &&
        a->account_type != H2A_KT_EC_P384 && a->account_type != H2A_KT_RSA_2048 &&
        a->account_type != H2A_KT_RSA_3072) {
        rv = h2a_err_set(H2A_ERR_INPUT, "'%s' is not an account key type here "
                         "(ec:P-256, ec:P-384, rsa:2048, rsa:3072)", type);
    }
    free(type);
    return rv == H2A_OK ? rv : h2a_err_prefix(rv, "%s.type: ", apath);
}

static h2a_err s_eab(json_object *o, const char *path, const char *base_dir, h2a_acme_conf *a)
{
    json_object *eab = NULL;
    char epath[256], p[256];

    if (!json_object_object_get_ex(o, "eab", &eab) || eab == NULL) {
        return H2A_OK;
    }
    h2a_jv_path(epath, sizeof(epath), path, "eab");
    H2A_GUARD(h2a_jv_require_object(eab, epath));
    H2A_GUARD(h2a_jv_only_keys(eab, epath, s_eab_keys));
    H2A_GUARD(h2a_jv_str(eab, epath, "kid", true, 1, 256, &a->eab_kid));
    H2A_ENSURE(h2a_jv_charset_ok(a->eab_kid, "._-:"), H2A_ERR_INPUT,
               "%s.kid: only A-Z a-z 0-9 . _ - : allowed", epath);
    H2A_GUARD(h2a_jv_str(eab, epath, "hmac_key_file", true, 1, 4000, &a->eab_key_file));
    return h2a_config_resolve(h2a_jv_path(p, sizeof(p), epath, "hmac_key_file"), base_dir,
                              &a->eab_key_file);
}

h2a_err h2a_config_acme(json_object *o, const char *path, const char *base_dir,
                        h2a_issuer_conf *is)
{
    h2a_acme_conf *a = calloc(1, sizeof(*a));
    char p[256];

    H2A_ENSURE(a != NULL, H2A_ERR_NOMEM, "%s", path);
    is->acme = a;
    H2A_GUARD(h2a_jv_only_keys(o, path, s_keys));
    H2A_GUARD(h2a_jv_str(o, path, "directory_url", true, 9, 2048, &a->directory_url));
    H2A_ENSURE(strncmp(a->directory_url, "https://", 8) == 0, H2A_ERR_INPUT,
               "%s: must be an https:// URL", h2a_jv_path(p, sizeof(p), path, "directory_url"));
    H2A_GUARD(s_account(o, path, a));
    H2A_GUARD(h2a_jv_strv(o, path, "contact", false, 16, 320, &a->contact, &a->n_contact));
    H2A_GUARD(h2a_jv_bool(o, path, "terms_of_service_agreed", &a->tos_agreed));
    H2A_GUARD(s_eab(o, path, base_dir, a));
    H2A_GUARD(s_challenge(o, path, base_dir, a));
    H2A_GUARD(h2a_jv_str(o, path, "ca_bundle", false, 1, 4000, &a->ca_bundle));
    H2A_GUARD(h2a_config_resolve(h2a_jv_path(p, sizeof(p), path, "ca_bundle"), base_dir,
                                 &a->ca_bundle));
    H2A_GUARD(h2a_jv_str(o, path, "preferred_chain", false, 1, 256, &a->preferred_chain));
    H2A_GUARD(h2a_jv_str(o, path, "trust_anchors", false, 1, 4000, &a->trust_anchors));
    H2A_GUARD(h2a_config_resolve(h2a_jv_path(p, sizeof(p), path, "trust_anchors"), base_dir,
                                 &a->trust_anchors));
    /* ACM's ACME endpoints can take several minutes to issue. */
    is->timeout_seconds = 900;
    return h2a_jv_int(o, path, "timeout_seconds", false, 10, 3600, &is->timeout_seconds);
}
