/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/h2a_config.h"
#include "config/h2a_jv.h"

#define H2A_CONFIG_MAX_BYTES (256u * 1024u)
#define H2A_PATH_MAX 4096
#define H2A_MAX_ISSUERS 64

static const char *const s_top_keys[] = {
    "token", "wrap_key", "state_dir", "policy", "trusted_wrap", "issuers",
    "aws", "staging", "audit", "scope", NULL};
static const char *const s_aws_keys[] = {
    "region", "profile", "credentials_file", "role_name", "external_id",
    "ca_bundle", "max_attempts", "timeout_seconds", "endpoints", NULL};
static const char *const s_staging_keys[] = {"prefix", "kms_key_id", "ttl_seconds", NULL};
static const char *const s_audit_keys[] = {"file", "syslog", NULL};
static const char *const s_cmd_keys[] = {"type", "argv", "timeout_seconds", NULL};
static const char *const s_local_keys[] = {"type", "key_label", "subject",
                                           "validity_days", NULL};
static const char *const s_pca_keys[] = {"type", "certificate_authority_arn", "template_arn",
                                         "validity_days", "signing_algorithm", "role_arn",
                                         "timeout_seconds", NULL};

static void s_issuer_clear(h2a_issuer_conf *i)
{
    free(i->name);
    h2a_jv_strv_free(i->argv);
    free(i->key_label);
    free(i->subject);
    free(i->ca_arn);
    free(i->template_arn);
    free(i->signing_algorithm);
    free(i->role_arn);
    h2a_config_acme_free(i->acme);
}

void h2a_config_free(h2a_config *c)
{
    if (c == NULL) {
        return;
    }
    free(c->path);
    free(c->token);
    free(c->wrap_key);
    free(c->state_dir);
    free(c->policy);
    for (size_t i = 0; i < c->n_issuers; i++) {
        s_issuer_clear(&c->issuers[i]);
    }
    free(c->issuers);
    free(c->aws.region);
    free(c->aws.profile);
    free(c->aws.credentials_file);
    free(c->aws.role_name);
    free(c->aws.external_id);
    free(c->aws.ca_bundle);
    for (int i = 0; i < H2A_AWS_SVC__COUNT; i++) {
        free(c->aws.endpoints[i]);
    }
    free(c->staging.prefix);
    free(c->staging.kms_key_id);
    free(c->audit.file);
    h2a_config_scope_free(&c->scope);
    free(c);
}

const h2a_issuer_conf *h2a_config_issuer(const h2a_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_issuers; i++) {
        if (strcmp(c->issuers[i].name, name) == 0) {
            return &c->issuers[i];
        }
    }
    return NULL;
}

/* Make a relative path absolute against the configuration's directory. */
h2a_err h2a_config_resolve(const char *field, const char *base_dir, char **p)
{
    char buf[H2A_PATH_MAX];
    char *abs;

    if (*p == NULL || (*p)[0] == '/' || base_dir == NULL) {
        return H2A_OK;
    }
    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", base_dir, *p) >= sizeof(buf)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: path too long", field);
    }
    abs = strdup(buf);
    if (abs == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s", field);
    }
    free(*p);
    *p = abs;
    return H2A_OK;
}

static h2a_err s_dup(const char *s, char **out)
{
    *out = strdup(s);
    return *out == NULL ? h2a_err_set(H2A_ERR_NOMEM, "config") : H2A_OK;
}

static h2a_err s_name_ok(const char *field, const char *s, size_t max)
{
    if (s[0] == '\0' || strlen(s) > max || !h2a_jv_charset_ok(s, "._-")) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%s' must be 1..%zu characters of A-Z a-z 0-9 . _ -",
                           field, s, max);
    }
    return H2A_OK;
}

static h2a_err s_issuer_command(json_object *o, const char *path,
                                const char *base_dir, h2a_issuer_conf *is)
{
    char p[256];

    H2A_GUARD(h2a_jv_only_keys(o, path, s_cmd_keys));
    H2A_GUARD(h2a_jv_strv(o, path, "argv", true, 256, 4096, &is->argv, &is->argc));
    h2a_jv_path(p, sizeof(p), path, "argv");
    if (is->argc == 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: must name the program to run (argv[0])", p);
    }
    if (is->argv[0][0] != '/') {
        /* No PATH search and no shell: the program is named exactly. */
        H2A_GUARD(h2a_config_resolve(p, base_dir, &is->argv[0]));
        if (is->argv[0][0] != '/') {
            return h2a_err_set(H2A_ERR_INPUT, "%s[0]: must be an absolute path", p);
        }
    }
    is->timeout_seconds = 60;
    H2A_GUARD(h2a_jv_int(o, path, "timeout_seconds", false, 1, 3600,
                         &is->timeout_seconds));
    return H2A_OK;
}

static h2a_err s_issuer_local(json_object *o, const char *path,
                              h2a_issuer_conf *is)
{
    char p[256];

    H2A_GUARD(h2a_jv_only_keys(o, path, s_local_keys));
    H2A_GUARD(s_dup("hsm2acm-local-ca", &is->key_label));
    H2A_GUARD(h2a_jv_str(o, path, "key_label", false, 1, 56, &is->key_label));
    H2A_GUARD(s_name_ok(h2a_jv_path(p, sizeof(p), path, "key_label"),
                        is->key_label, 56));
    H2A_GUARD(s_dup("CN=hsm2acm local CA", &is->subject));
    H2A_GUARD(h2a_jv_str(o, path, "subject", false, 3, 1024, &is->subject));
    if (strchr(is->subject, '=') == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected a subject like 'CN=...'",
                           h2a_jv_path(p, sizeof(p), path, "subject"));
    }
    is->validity_days = 90;
    H2A_GUARD(h2a_jv_int(o, path, "validity_days", false, 1, 825,
                         &is->validity_days));
    return H2A_OK;
}

/* arn:PARTITION:acm-pca:REGION:ACCOUNT:certificate-authority/ID: where the CA lives. */
static h2a_err s_pca_arn(const char *p, h2a_issuer_conf *is)
{
    const char *a = is->ca_arn, *f[6];
    size_t n = 0;

    for (const char *c = a; n < 6; n++) {
        f[n] = c;
        c = n < 5 ? strchr(c, ':') : c + strlen(c);
        if (c == NULL || c == f[n]) {
            break;
        }
        c += n < 5 ? 1 : 0;
    }
    if (n != 6 || strncmp(f[0], "arn:", 4) != 0 || strncmp(f[1], "aws", 3) != 0 ||
        (size_t)(f[2] - f[1] - 1) >= sizeof(is->pca_partition) ||
        strncmp(f[2], "acm-pca:", 8) != 0 || strspn(f[4], "0123456789") != 12 ||
        f[4][12] != ':' || strncmp(f[5], "certificate-authority/", 22) != 0 ||
        f[5][22] == '\0' || (size_t)(f[4] - f[3] - 1) >= sizeof(is->pca_region)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%.200s' is not a Private CA ARN "
                           "(arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID)", p, a);
    }
    snprintf(is->pca_partition, sizeof(is->pca_partition), "%.*s", (int)(f[2] - f[1] - 1), f[1]);
    snprintf(is->pca_region, sizeof(is->pca_region), "%.*s", (int)(f[4] - f[3] - 1), f[3]);
    snprintf(is->pca_account, sizeof(is->pca_account), "%.12s", f[4]);
    if (!h2a_aws_region_valid(is->pca_region)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' is not a region", p, is->pca_region);
    }
    return H2A_OK;
}

static h2a_err s_pca_sigalg_ok(const char *p, const char *alg)
{
    static const char *const ok[] = {"auto", "SHA256WITHRSA", "SHA384WITHRSA", "SHA512WITHRSA",
                                     "SHA256WITHECDSA", "SHA384WITHECDSA", "SHA512WITHECDSA"};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strcmp(alg, ok[i]) == 0) {
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' is not auto or a Private CA signing algorithm "
                       "(SHA256WITHRSA, SHA384WITHECDSA, ...)", p, alg);
}

static h2a_err s_issuer_pca(json_object *o, const char *path, h2a_issuer_conf *is)
{
    char p[256], def[128];

    H2A_GUARD(h2a_jv_only_keys(o, path, s_pca_keys));
    H2A_GUARD(h2a_jv_str(o, path, "certificate_authority_arn", true, 20, 2048, &is->ca_arn));
    H2A_GUARD(s_pca_arn(h2a_jv_path(p, sizeof(p), path, "certificate_authority_arn"), is));
    snprintf(def, sizeof(def), "arn:%s:acm-pca:::template/EndEntityCertificate/V1",
             is->pca_partition);
    H2A_GUARD(s_dup(def, &is->template_arn));
    H2A_GUARD(h2a_jv_str(o, path, "template_arn", false, 20, 2048, &is->template_arn));
    if (strncmp(is->template_arn, "arn:aws", 7) != 0 ||
        strstr(is->template_arn, ":acm-pca:::template/") == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%.200s' is not a Private CA template ARN "
                           "(arn:aws:acm-pca:::template/NAME/V1)",
                           h2a_jv_path(p, sizeof(p), path, "template_arn"), is->template_arn);
    }
    H2A_GUARD(s_dup("auto", &is->signing_algorithm));
    H2A_GUARD(h2a_jv_str(o, path, "signing_algorithm", false, 4, 32, &is->signing_algorithm));
    H2A_GUARD(s_pca_sigalg_ok(h2a_jv_path(p, sizeof(p), path, "signing_algorithm"),
                              is->signing_algorithm));
    H2A_GUARD(h2a_jv_str(o, path, "role_arn", false, 20, 2048, &is->role_arn));
    if (is->role_arn != NULL && strncmp(is->role_arn, "arn:aws", 7) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%.200s' is not an IAM role ARN",
                           h2a_jv_path(p, sizeof(p), path, "role_arn"), is->role_arn);
    }
    is->validity_days = 90;
    H2A_GUARD(h2a_jv_int(o, path, "validity_days", false, 1, 825, &is->validity_days));
    is->timeout_seconds = 300;
    H2A_GUARD(h2a_jv_int(o, path, "timeout_seconds", false, 1, 3600, &is->timeout_seconds));
    return H2A_OK;
}

static h2a_err s_issuers(json_object *top, const char *base_dir, h2a_config *c)
{
    json_object *iss = NULL;
    size_t n, k = 0;
    char path[256];

    if (!json_object_object_get_ex(top, "issuers", &iss) || iss == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_jv_require_object(iss, "issuers"));
    n = (size_t)json_object_object_length(iss);
    if (n > H2A_MAX_ISSUERS) {
        return h2a_err_set(H2A_ERR_INPUT, "issuers: more than %d issuers",
                           H2A_MAX_ISSUERS);
    }
    c->issuers = calloc(n == 0 ? 1 : n, sizeof(*c->issuers));
    if (c->issuers == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "issuers");
    }
    json_object_object_foreach(iss, name, o)
    {
        h2a_issuer_conf *is = &c->issuers[k++];
        char *type = NULL;
        h2a_err rv;

        c->n_issuers = k;
        snprintf(path, sizeof(path), "issuers.%s", name);
        H2A_GUARD(s_name_ok("issuers", name, 64));
        H2A_GUARD(s_dup(name, &is->name));
        H2A_GUARD(h2a_jv_require_object(o, path));
        H2A_GUARD(h2a_jv_str(o, path, "type", true, 1, 32, &type));
        if (strcmp(type, "command") == 0) {
            is->type = H2A_ISSUER_COMMAND;
            rv = s_issuer_command(o, path, base_dir, is);
        } else if (strcmp(type, "local") == 0) {
            is->type = H2A_ISSUER_LOCAL;
            rv = s_issuer_local(o, path, is);
        } else if (strcmp(type, "acm-pca") == 0) {
            is->type = H2A_ISSUER_ACM_PCA;
            rv = s_issuer_pca(o, path, is);
        } else if (strcmp(type, "acme") == 0) {
            is->type = H2A_ISSUER_ACME;
            rv = h2a_config_acme(o, path, base_dir, is);
        } else {
            rv = h2a_err_set(H2A_ERR_INPUT,
                             "%s.type: '%s' is not an issuer type (command, local, acm-pca, acme)",
                             path, type);
        }
        free(type);
        H2A_GUARD(rv);
    }
    return H2A_OK;
}

static h2a_err s_url_ok(const char *field, const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' must start with https://",
                           field, u);
    }
    return H2A_OK;
}

/* aws.endpoints: one URL per service of the AWS layer's table, by its name. */
static h2a_err s_aws_endpoints(json_object *ep, h2a_aws_conf *a)
{
    H2A_GUARD(h2a_jv_require_object(ep, "aws.endpoints"));
    json_object_object_foreach(ep, k, v)
    {
        char field[96];
        h2a_aws_service svc;

        (void)v;
        snprintf(field, sizeof(field), "aws.endpoints.%.60s", k);
        if (!h2a_aws_service_lookup(k, &svc)) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: unknown key (a service name: acm, "
                               "secretsmanager, sts, organizations, acm-pca, route53 or sqs)",
                               field);
        }
        if (a->endpoints[svc] != NULL) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: the service %s is already set", field,
                               h2a_aws_service_name(svc));
        }
        H2A_GUARD(h2a_jv_str(ep, "aws.endpoints", k, true, 8, 2048, &a->endpoints[svc]));
        H2A_GUARD(s_url_ok(field, a->endpoints[svc]));
    }
    return H2A_OK;
}

static h2a_err s_aws(json_object *top, const char *base_dir, h2a_config *c)
{
    json_object *o = NULL, *ep = NULL;
    h2a_aws_conf *a = &c->aws;

    if (!json_object_object_get_ex(top, "aws", &o) || o == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_jv_require_object(o, "aws"));
    H2A_GUARD(h2a_jv_only_keys(o, "aws", s_aws_keys));
    H2A_GUARD(h2a_jv_str(o, "aws", "region", false, 1, 64, &a->region));
    if (a->region != NULL && !h2a_jv_charset_ok(a->region, "-")) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.region: '%s' is not a region name",
                           a->region);
    }
    H2A_GUARD(h2a_jv_str(o, "aws", "profile", false, 1, 128, &a->profile));
    H2A_GUARD(h2a_jv_str(o, "aws", "credentials_file", false, 1, H2A_PATH_MAX,
                         &a->credentials_file));
    H2A_GUARD(h2a_config_resolve("aws.credentials_file", base_dir, &a->credentials_file));
    H2A_GUARD(h2a_jv_str(o, "aws", "role_name", false, 1, 64, &a->role_name));
    if (a->role_name != NULL && !h2a_jv_charset_ok(a->role_name, "+=,.@_-/")) {
        return h2a_err_set(H2A_ERR_INPUT, "aws.role_name: '%s' is not an IAM role name",
                           a->role_name);
    }
    H2A_GUARD(h2a_jv_str(o, "aws", "external_id", false, 2, 1224, &a->external_id));
    H2A_GUARD(h2a_jv_str(o, "aws", "ca_bundle", false, 1, H2A_PATH_MAX, &a->ca_bundle));
    H2A_GUARD(h2a_config_resolve("aws.ca_bundle", base_dir, &a->ca_bundle));
    H2A_GUARD(h2a_jv_int(o, "aws", "max_attempts", false, 1, 20, &a->max_attempts));
    H2A_GUARD(h2a_jv_int(o, "aws", "timeout_seconds", false, 1, 300, &a->timeout_seconds));
    if (json_object_object_get_ex(o, "endpoints", &ep) && ep != NULL) {
        H2A_GUARD(s_aws_endpoints(ep, a));
    }
    return H2A_OK;
}

void h2a_config_aws(const h2a_aws_conf *c, struct h2a_aws_config *out)
{
    memset(out, 0, sizeof(*out));
    out->region = c->region;
    out->profile = c->profile;
    out->credentials_file = c->credentials_file;
    out->ca_bundle = c->ca_bundle;
    out->max_attempts = (int)c->max_attempts;
    out->timeout_ms = (long)c->timeout_seconds * 1000L;
    for (int i = 0; i < H2A_AWS_SVC__COUNT; i++) {
        out->endpoint_url[i] = c->endpoints[i];
    }
}

static h2a_err s_staging(json_object *top, h2a_config *c)
{
    json_object *o = NULL, *kms = NULL;

    H2A_GUARD(s_dup("hsm2acm/staging/", &c->staging.prefix));
    c->staging.ttl_seconds = 3600;
    if (!json_object_object_get_ex(top, "staging", &o) || o == NULL) {
        return H2A_OK;
    }
    H2A_GUARD(h2a_jv_require_object(o, "staging"));
    H2A_GUARD(h2a_jv_only_keys(o, "staging", s_staging_keys));
    H2A_GUARD(h2a_jv_str(o, "staging", "prefix", false, 1, H2A_STAGING_PREFIX_MAX,
                         &c->staging.prefix));
    /* Secrets Manager's name alphabet, minus what a ListSecrets filter refuses. */
    if (!h2a_jv_charset_ok(c->staging.prefix, "/_+=.@-")) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "staging.prefix: '%s' may only contain A-Z a-z 0-9 / _ + = . @ -",
                           c->staging.prefix);
    }
    if (json_object_object_get_ex(o, "kms_key_id", &kms) && kms != NULL) {
        H2A_GUARD(h2a_jv_str(o, "staging", "kms_key_id", false, 1, 2048,
                             &c->staging.kms_key_id));
    }
    H2A_GUARD(h2a_jv_int(o, "staging", "ttl_seconds", false, 60, 7 * 86400,
                         &c->staging.ttl_seconds));
    return H2A_OK;
}

static h2a_err s_audit(json_object *top, const char *base_dir, h2a_config *c)
{
    json_object *o = NULL;

    if (json_object_object_get_ex(top, "audit", &o) && o != NULL) {
        H2A_GUARD(h2a_jv_require_object(o, "audit"));
        H2A_GUARD(h2a_jv_only_keys(o, "audit", s_audit_keys));
        H2A_GUARD(h2a_jv_str(o, "audit", "file", false, 1, H2A_PATH_MAX,
                             &c->audit.file));
        H2A_GUARD(h2a_config_resolve("audit.file", base_dir, &c->audit.file));
        H2A_GUARD(h2a_jv_bool(o, "audit", "syslog", &c->audit.syslog));
    }
    if (c->audit.file == NULL) {
        char buf[H2A_PATH_MAX];

        snprintf(buf, sizeof(buf), "%s/audit.log", c->state_dir);
        H2A_GUARD(s_dup(buf, &c->audit.file));
    }
    return H2A_OK;
}

/*
 * pin-source=env:NAME: NAME is hidden from every child process.
 * A relative pin-source=file:PATH in the token URI names a file beside the
 * configuration, like every other relative path in it (not one in whatever
 * directory the command runs from): the URI gets the absolute path,
 * percent-encoded as a URI value.
 */
static h2a_err s_resolve_pin_source(const char *base_dir, char **uri)
{
    const char *q = strchr(*uri, '?');
    const char *val = NULL, *rest;
    h2a_buf b;
    h2a_err rv = H2A_OK;

    for (const char *p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
        if (strncmp(p, "pin-source=", 11) == 0) {
            val = p + 11;
            break;
        }
        p = strchr(p, '&');
        p = p != NULL ? p + 1 : NULL;
    }
    if (val != NULL && strncmp(val, "env:", 4) == 0) {
        /* The PIN's variable: no child process hsm2acm starts may see it. */
        char name[128];
        size_t n = strcspn(val + 4, "&");

        snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
                 val + 4);
        return n > 0 ? h2a_child_hide_env(name) : H2A_OK;
    }
    if (base_dir == NULL || val == NULL || strncmp(val, "file:", 5) != 0 || val[5] == '/' ||
        strncasecmp(val + 5, "%2f", 3) == 0) {
        return H2A_OK;
    }
    rest = val + 5;
    h2a_buf_init(&b, 0);
    rv = h2a_buf_append(&b, *uri, (size_t)(rest - *uri));
    for (const char *d = base_dir; rv == H2A_OK && *d != '\0'; d++) {
        unsigned char ch = (unsigned char)*d;

        rv = isalnum(ch) || strchr("/-._~", ch) != NULL ? h2a_buf_append(&b, d, 1)
                                                         : h2a_buf_printf(&b, "%%%02X", ch);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_printf(&b, "/%s", rest);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&b);
    }
    if (rv == H2A_OK) {
        char *abs = strdup((const char *)b.data);

        if (abs == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "token");
        } else {
            free(*uri);
            *uri = abs;
        }
    }
    h2a_buf_free(&b);
    return rv;
}

static h2a_err s_parse(json_object *top, const char *base_dir, h2a_config *c)
{
    H2A_GUARD(h2a_jv_require_object(top, ""));
    H2A_GUARD(h2a_jv_only_keys(top, "", s_top_keys));
    H2A_GUARD(h2a_jv_str(top, "", "token", true, 1, H2A_PATH_MAX, &c->token));
    if (strncmp(c->token, "pkcs11:", 7) != 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token: expected a PKCS#11 URI (pkcs11:token=...)");
    }
    H2A_GUARD(s_resolve_pin_source(base_dir, &c->token));
    H2A_GUARD(s_dup("hsm2acm-wrap", &c->wrap_key));
    H2A_GUARD(h2a_jv_str(top, "", "wrap_key", false, 1, 64, &c->wrap_key));
    H2A_GUARD(s_dup("/var/lib/hsm2acm", &c->state_dir));
    H2A_GUARD(h2a_jv_str(top, "", "state_dir", false, 1, 3000, &c->state_dir));
    H2A_GUARD(h2a_config_resolve("state_dir", base_dir, &c->state_dir));
    H2A_GUARD(h2a_jv_str(top, "", "policy", false, 1, H2A_PATH_MAX, &c->policy));
    H2A_GUARD(h2a_config_resolve("policy", base_dir, &c->policy));
    H2A_GUARD(h2a_jv_bool(top, "", "trusted_wrap", &c->trusted_wrap));
    H2A_GUARD(s_issuers(top, base_dir, c));
    H2A_GUARD(s_aws(top, base_dir, c));
    H2A_GUARD(s_staging(top, c));
    H2A_GUARD(s_audit(top, base_dir, c));
    H2A_GUARD(h2a_config_scope(top, c->aws.region, &c->scope));
    return H2A_OK;
}

h2a_err h2a_config_parse(const char *text, size_t len, const char *base_dir,
                         h2a_config **out)
{
    h2a_err rv;
    json_object *top = NULL;
    h2a_config *c;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "config");
    }
    rv = h2a_jv_parse("configuration", text, len, &top);
    if (rv == H2A_OK) {
        rv = s_parse(top, base_dir, c);
    }
    json_object_put(top);
    if (rv != H2A_OK) {
        h2a_config_free(c);
        return rv;
    }
    *out = c;
    return H2A_OK;
}

h2a_err h2a_config_load(const char *path, h2a_config **out)
{
    h2a_err rv;
    h2a_buf b;
    char dir[H2A_PATH_MAX], real[PATH_MAX];

    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        path = getenv("HSM2ACM_CONFIG");
    }
    if (path == NULL || path[0] == '\0') {
        return h2a_err_set(H2A_ERR_USAGE,
                           "no configuration: give --config FILE or set HSM2ACM_CONFIG");
    }
    if (realpath(path, real) == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "configuration %s: cannot open", path);
    }
    snprintf(dir, sizeof(dir), "%s", real);
    h2a_buf_init(&b, H2A_CONFIG_MAX_BYTES);
    rv = h2a_file_read(real, &b);
    if (rv == H2A_OK) {
        rv = h2a_config_parse((const char *)b.data, b.len, dirname(dir), out);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "%s: ", path);
        }
    }
    h2a_buf_free(&b);
    if (rv == H2A_OK) {
        (*out)->path = strdup(real);
        if ((*out)->path == NULL) {
            h2a_config_free(*out);
            *out = NULL;
            return h2a_err_set(H2A_ERR_NOMEM, "config");
        }
    }
    return rv;
}
