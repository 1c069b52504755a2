/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Which credential source applies (the SDK chain, decided without any
 * network call), explicit key files, and credential_process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws_internal.h"

#define S_MAX_PROFILE_DEPTH 10
#define S_PROCESS_TIMEOUT_MS 60000
#define S_PROCESS_MAX_OUTPUT (64u * 1024u)

void h2a_cred_provider_free(struct h2a_cred_provider *p)
{
    if (p == NULL) {
        return;
    }
    free(p->describe);
    h2a_aws_credentials_free(p->fixed);
    free(p->process);
    free(p->role_arn);
    free(p->session_name);
    free(p->external_id);
    free(p->token_file);
    free(p->sts_region);
    h2a_cred_provider_free(p->source);
    /* source_state is released by the owner (client.c), which set it. */
    free(p);
}

static h2a_err s_new(h2a_cred_kind kind, const char *describe,
                     struct h2a_cred_provider **out)
{
    struct h2a_cred_provider *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (p == NULL || (p->describe = strdup(describe)) == NULL) {
        free(p);
        return h2a_err_set(H2A_ERR_NOMEM, "credential provider");
    }
    p->kind = kind;
    *out = p;
    return H2A_OK;
}

static bool s_set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

static h2a_err s_dup(char **dst, const char *v)
{
    if (v == NULL) {
        return H2A_OK;
    }
    *dst = strdup(v);
    return *dst != NULL ? H2A_OK : h2a_err_set(H2A_ERR_NOMEM, "credential provider");
}

static h2a_err s_from_env(struct h2a_cred_provider **out, bool *found)
{
    const char *akid = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = getenv("AWS_SESSION_TOKEN");
    const char *exp = getenv("AWS_CREDENTIAL_EXPIRATION");
    time_t expiration = 0;
    struct h2a_cred_provider *p = NULL;
    h2a_err rv;

    *found = false;
    if (!s_set(akid) && !s_set(sk)) {
        return H2A_OK;
    }
    if (!s_set(akid) || !s_set(sk)) {
        return h2a_err_set(H2A_ERR_INPUT, "environment: AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY must be set together (only %s is set)",
                           s_set(akid) ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY");
    }
    if (!s_set(tok)) {
        tok = getenv("AWS_SECURITY_TOKEN");
    }
    if (s_set(exp) && h2a_aws_parse_iso8601(exp, &expiration) != H2A_OK) {
        return h2a_err_prefix(H2A_ERR_INPUT, "AWS_CREDENTIAL_EXPIRATION: ");
    }
    H2A_GUARD(s_new(H2A_CRED_STATIC, "environment", &p));
    rv = h2a_aws_credentials_make(akid, sk, s_set(tok) ? tok : NULL, expiration, &p->fixed);
    if (rv != H2A_OK) {
        h2a_cred_provider_free(p);
        return rv;
    }
    *out = p;
    *found = true;
    return H2A_OK;
}

static h2a_err s_web_identity(const char *what, const char *token_file,
                              const char *role_arn, const char *session,
                              struct h2a_cred_provider **out)
{
    struct h2a_cred_provider *p = NULL;
    h2a_err rv;

    if (!s_set(role_arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: a web identity token file needs a role ARN "
                           "(AWS_ROLE_ARN / role_arn)", what);
    }
    H2A_GUARD(s_new(H2A_CRED_WEB_IDENTITY, what, &p));
    rv = s_dup(&p->token_file, token_file);
    if (rv == H2A_OK) {
        rv = s_dup(&p->role_arn, role_arn);
    }
    if (rv == H2A_OK) {
        rv = s_dup(&p->session_name, s_set(session) ? session : NULL);
    }
    if (rv != H2A_OK) {
        h2a_cred_provider_free(p);
        return rv;
    }
    *out = p;
    return H2A_OK;
}

static h2a_err s_ecs_or_imds(h2a_cred_kind kind, const char *what,
                             struct h2a_cred_provider **out)
{
    return s_new(kind, what, out);
}

static h2a_err s_from_profile(const struct h2a_aws_profiles *pf, const char *name,
                              const char **chain, int depth, bool as_source,
                              struct h2a_cred_provider **out);

static h2a_err s_chain_text(const char **chain, int depth, const char *last, char *buf,
                            size_t n)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < depth; i++) {
        off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%s -> ", chain[i]);
    }
    snprintf(buf + (off < n ? off : n - 1), off < n ? n - off : 1, "%s", last);
    return H2A_OK;
}

/* credential_source: Environment, Ec2InstanceMetadata or EcsContainer. */
static h2a_err s_credential_source(const char *name, const char *csrc,
                                   struct h2a_cred_provider **out)
{
    bool found = false;
    h2a_err rv;

    if (strcmp(csrc, "Environment") == 0) {
        rv = s_from_env(out, &found);
        if (rv == H2A_OK && !found) {
            rv = h2a_err_set(H2A_ERR_INPUT, "profile %s: credential_source Environment "
                             "but AWS_ACCESS_KEY_ID is not set", name);
        }
        return rv;
    }
    if (strcmp(csrc, "Ec2InstanceMetadata") == 0) {
        return s_ecs_or_imds(H2A_CRED_IMDS, "EC2 instance metadata", out);
    }
    if (strcmp(csrc, "EcsContainer") == 0) {
        return s_ecs_or_imds(H2A_CRED_ECS, "ECS container credentials", out);
    }
    return h2a_err_set(H2A_ERR_INPUT, "profile %s: credential_source '%s': expected "
                       "Environment, Ec2InstanceMetadata or EcsContainer", name, csrc);
}

/* source_profile `src` of profile `name`: itself (static keys), or another profile. */
static h2a_err s_source_profile(const struct h2a_aws_profiles *pf, const char *name,
                                const char *src, const char **chain, int depth,
                                struct h2a_cred_provider **out)
{
    /* A loop is any profile seen twice on the way. */
    for (int i = 0; i <= depth; i++) {
        const char *seen = i < depth ? chain[i] : name;
        if (strcmp(seen, src) == 0 && !(i == depth && strcmp(src, name) == 0)) {
            char text[1024];
            s_chain_text(chain, depth, name, text, sizeof(text));
            return h2a_err_set(H2A_ERR_INPUT, "profile %s: source_profile loop: %s -> %s",
                               name, text, src);
        }
    }
    if (strcmp(src, name) == 0) {
        /* Self-reference: the profile's own static keys are the source. */
        const char *ak = h2a_aws_profile_get(pf, name, "aws_access_key_id");
        const char *sk = h2a_aws_profile_get(pf, name, "aws_secret_access_key");
        if (!s_set(ak) || !s_set(sk)) {
            return h2a_err_set(H2A_ERR_INPUT, "profile %s: source_profile is itself but it "
                               "has no static keys", name);
        }
        H2A_GUARD(s_new(H2A_CRED_STATIC, name, out));
        return h2a_aws_credentials_make(ak, sk,
                                        h2a_aws_profile_get(pf, name, "aws_session_token"), 0,
                                        &(*out)->fixed);
    }
    if (!h2a_aws_profile_exists(pf, src)) {
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: source_profile '%s' not found in %s or "
                           "%s", name, src, pf->config_path, pf->credentials_path);
    }
    chain[depth] = name;
    return s_from_profile(pf, src, chain, depth + 1, true, out);
}

static h2a_err s_assume_role_profile(const struct h2a_aws_profiles *pf, const char *name,
                                     const char **chain, int depth,
                                     struct h2a_cred_provider **out)
{
    const char *role = h2a_aws_profile_get(pf, name, "role_arn");
    const char *src = h2a_aws_profile_get(pf, name, "source_profile");
    const char *csrc = h2a_aws_profile_get(pf, name, "credential_source");
    const char *dur = h2a_aws_profile_get(pf, name, "duration_seconds");
    const char *wif = h2a_aws_profile_get(pf, name, "web_identity_token_file");
    struct h2a_cred_provider *p = NULL;
    char what[300];
    h2a_err rv = H2A_OK;

    if (s_set(wif)) {
        snprintf(what, sizeof(what), "profile %s (web identity)", name);
        return s_web_identity(what, wif, role,
                              h2a_aws_profile_get(pf, name, "role_session_name"), out);
    }
    if (s_set(h2a_aws_profile_get(pf, name, "mfa_serial"))) {
        /* hsm2acm runs unattended: there is nobody to type a token code. */
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: mfa_serial is not supported (hsm2acm "
                           "runs unattended); use a role without an MFA condition", name);
    }
    if (s_set(src) && s_set(csrc)) {
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: source_profile and credential_source "
                           "are mutually exclusive", name);
    }
    if (!s_set(src) && !s_set(csrc)) {
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: role_arn needs source_profile or "
                           "credential_source", name);
    }
    snprintf(what, sizeof(what), "profile %s (assume role)", name);
    H2A_GUARD(s_new(H2A_CRED_ASSUME_ROLE, what, &p));
    if ((rv = s_dup(&p->role_arn, role)) != H2A_OK ||
        (rv = s_dup(&p->external_id, h2a_aws_profile_get(pf, name, "external_id"))) != H2A_OK ||
        (rv = s_dup(&p->session_name,
                    h2a_aws_profile_get(pf, name, "role_session_name"))) != H2A_OK) {
        goto done;
    }
    if (s_set(dur)) {
        char *e = NULL;
        long d = strtol(dur, &e, 10);
        if (e == NULL || *e != '\0' || d < 900 || d > 43200) {
            rv = h2a_err_set(H2A_ERR_INPUT, "profile %s: duration_seconds '%s': expected "
                             "900..43200", name, dur);
            goto done;
        }
        p->duration_seconds = (int)d;
    }
    if (s_set(csrc)) {
        rv = s_credential_source(name, csrc, &p->source);
    } else {
        rv = s_source_profile(pf, name, src, chain, depth, &p->source);
    }
done:
    if (rv != H2A_OK) {
        h2a_cred_provider_free(p);
        return rv;
    }
    *out = p;
    return H2A_OK;
}

static h2a_err s_from_profile(const struct h2a_aws_profiles *pf, const char *name,
                              const char **chain, int depth, bool as_source,
                              struct h2a_cred_provider **out)
{
    const char *ak = h2a_aws_profile_get(pf, name, "aws_access_key_id");
    const char *sk = h2a_aws_profile_get(pf, name, "aws_secret_access_key");
    const char *proc = h2a_aws_profile_get(pf, name, "credential_process");
    struct h2a_cred_provider *p = NULL;
    char what[300];
    h2a_err rv;

    (void)as_source;
    if (depth >= S_MAX_PROFILE_DEPTH) {
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: role chain deeper than %d profiles",
                           name, S_MAX_PROFILE_DEPTH);
    }
    if (s_set(h2a_aws_profile_get(pf, name, "role_arn"))) {
        return s_assume_role_profile(pf, name, chain, depth, out);
    }
    if (s_set(ak) || s_set(sk)) {
        if (!s_set(ak) || !s_set(sk)) {
            return h2a_err_set(H2A_ERR_INPUT, "profile %s: aws_access_key_id and "
                               "aws_secret_access_key must be set together", name);
        }
        snprintf(what, sizeof(what), "profile %s", name);
        H2A_GUARD(s_new(H2A_CRED_STATIC, what, &p));
        rv = h2a_aws_credentials_make(ak, sk, h2a_aws_profile_get(pf, name, "aws_session_token"),
                                      0, &p->fixed);
        if (rv != H2A_OK) {
            h2a_cred_provider_free(p);
            return rv;
        }
        *out = p;
        return H2A_OK;
    }
    if (s_set(proc)) {
        snprintf(what, sizeof(what), "profile %s (credential_process)", name);
        H2A_GUARD(s_new(H2A_CRED_PROCESS, what, &p));
        rv = s_dup(&p->process, proc);
        if (rv != H2A_OK) {
            h2a_cred_provider_free(p);
            return rv;
        }
        *out = p;
        return H2A_OK;
    }
    if (s_set(h2a_aws_profile_get(pf, name, "sso_session")) ||
        s_set(h2a_aws_profile_get(pf, name, "sso_start_url"))) {
        return h2a_err_set(H2A_ERR_INPUT, "profile %s: IAM Identity Center (SSO) profiles are not "
                           "supported; use credential_process, a role or keys", name);
    }
    return h2a_err_set(H2A_ERR_INPUT, "profile %s: no credentials (expected aws_access_key_id, "
                       "role_arn, credential_process or web_identity_token_file)", name);
}

h2a_err h2a_cred_resolve(const struct h2a_aws_profiles *pf, const char *explicit_profile,
                         struct h2a_cred_provider **out)
{
    const char *chain[S_MAX_PROFILE_DEPTH + 1];
    const char *profile = explicit_profile;
    const char *wif;
    const char *v;
    bool found = false;

    *out = NULL;
    if (!s_set(profile)) {
        H2A_GUARD(s_from_env(out, &found));
        if (found) {
            return H2A_OK;
        }
        wif = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
        if (s_set(wif)) {
            return s_web_identity("web identity (environment)", wif, getenv("AWS_ROLE_ARN"),
                                  getenv("AWS_ROLE_SESSION_NAME"), out);
        }
        profile = getenv("AWS_PROFILE");
        if (!s_set(profile)) {
            profile = getenv("AWS_DEFAULT_PROFILE");
        }
    }
    if (s_set(profile)) {
        if (!h2a_aws_profile_exists(pf, profile)) {
            return h2a_err_set(H2A_ERR_INPUT, "profile '%s' not found in %s or %s", profile,
                               pf->config_path, pf->credentials_path);
        }
        return s_from_profile(pf, profile, chain, 0, false, out);
    }
    if (h2a_aws_profile_exists(pf, "default")) {
        h2a_err rv = s_from_profile(pf, "default", chain, 0, false, out);
        /* A default profile with only settings (region) is not a source. */
        if (rv == H2A_OK || strstr(h2a_err_msg(), "no credentials") == NULL) {
            return rv;
        }
        h2a_err_clear();
    }
    if (s_set(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) ||
        s_set(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"))) {
        return s_ecs_or_imds(H2A_CRED_ECS, "ECS container credentials", out);
    }
    v = getenv("AWS_EC2_METADATA_DISABLED");
    if (v != NULL && strcasecmp(v, "true") == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "no AWS credentials found (environment, web "
                           "identity, %s, %s, container) and AWS_EC2_METADATA_DISABLED=true",
                           pf->config_path, pf->credentials_path);
    }
    return s_ecs_or_imds(H2A_CRED_IMDS, "EC2 instance metadata", out);
}

h2a_err h2a_cred_from_file(const char *path, const char *profile,
                           struct h2a_aws_credentials **out)
{
    h2a_buf b;
    struct h2a_ini *ini = NULL;
    const char *sec = s_set(profile) ? profile : "default";
    size_t i = 0;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&b, 1u << 20);
    rv = h2a_file_read(path, &b);
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(H2A_ERR_INPUT, "aws.credentials_file %s: ", path);
        goto done;
    }
    while (i < b.len && (b.data[i] == ' ' || b.data[i] == '\n' || b.data[i] == '\t' ||
                         b.data[i] == '\r')) {
        i++;
    }
    if (i < b.len && b.data[i] == '{') {
        rv = h2a_buf_terminate(&b);
        if (rv == H2A_OK) {
            rv = h2a_aws_creds_from_json(&b, path, false, out);
        }
        if (rv != H2A_OK) {
            rv = h2a_err_prefix(H2A_ERR_INPUT, "aws.credentials_file: ");
        }
        goto done;
    }
    rv = h2a_ini_parse((const char *)b.data, b.len, path, &ini);
    if (rv != H2A_OK) {
        goto done;
    }
    if (!h2a_ini_has_section(ini, sec)) {
        rv = h2a_err_set(H2A_ERR_INPUT, "aws.credentials_file %s: no [%s] section", path, sec);
        goto done;
    }
    rv = h2a_aws_credentials_make(h2a_ini_get(ini, sec, "aws_access_key_id"),
                                  h2a_ini_get(ini, sec, "aws_secret_access_key"),
                                  h2a_ini_get(ini, sec, "aws_session_token"), 0, out);
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(H2A_ERR_INPUT, "aws.credentials_file %s [%s]: ", path, sec);
    }
done:
    h2a_ini_free(ini);
    h2a_buf_free(&b);
    return rv;
}

/* ------------------------------------------------------------------ */
/* credential_process                                                  */
/* ------------------------------------------------------------------ */

void h2a_argv_free(char **argv)
{
    if (argv == NULL) {
        return;
    }
    for (char **a = argv; *a != NULL; a++) {
        free(*a);
    }
    free(argv);
}

h2a_err h2a_split_argv(const char *cmd, char ***out_argv, size_t *out_argc)
{
    char **argv = NULL;
    size_t argc = 0;
    h2a_buf cur;
    const char *p = cmd;
    h2a_err rv = H2A_OK;

    *out_argv = NULL;
    *out_argc = 0;
    h2a_buf_init(&cur, 0);
    while (*p != '\0') {
        char quote = 0;
        bool have = false;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        cur.len = 0;
        while (*p != '\0' && (quote != 0 || (*p != ' ' && *p != '\t'))) {
            if (quote == 0 && (*p == '"' || *p == '\'')) {
                quote = *p++;
                have = true;
                continue;
            }
            if (quote != 0 && *p == quote) {
                quote = 0;
                p++;
                continue;
            }
            if (*p == '\\' && quote != '\'' && p[1] != '\0') {
                p++;
            }
            if ((rv = h2a_buf_append(&cur, p, 1)) != H2A_OK) {
                goto done;
            }
            have = true;
            p++;
        }
        if (quote != 0) {
            rv = h2a_err_set(H2A_ERR_INPUT, "credential_process: unterminated quote");
            goto done;
        }
        if (have) {
            char **na = realloc(argv, (argc + 2) * sizeof(char *));
            if (na == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "credential_process argv");
                goto done;
            }
            argv = na;
            argv[argc] = strndup(cur.data != NULL ? (const char *)cur.data : "", cur.len);
            argv[argc + 1] = NULL;
            if (argv[argc] == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "credential_process argv");
                goto done;
            }
            argc++;
        }
    }
    if (argc == 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "credential_process: empty command");
    }
done:
    h2a_buf_free(&cur);
    if (rv != H2A_OK) {
        h2a_argv_free(argv);
        return rv;
    }
    *out_argv = argv;
    *out_argc = argc;
    return H2A_OK;
}

/*
 * A credential source by design: besides the runner's allowlist it sees the
 * AWS settings that choose a profile or a file, never a key, a session
 * token or the PIN.
 */
static const char *const s_process_env[] = {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
                                            "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE",
                                            "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",
                                            NULL};

h2a_err h2a_cred_run_process(const char *what, const char *cmd,
                             struct h2a_aws_credentials **out)
{
    char **argv = NULL;
    size_t argc = 0;
    h2a_buf outb;
    h2a_child_result res;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&outb, S_PROCESS_MAX_OUTPUT);
    rv = h2a_split_argv(cmd, &argv, &argc);
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(H2A_ERR_INPUT, "%s: ", what);
        goto done;
    }
    {
        /* No shell: argv[0] is looked up on PATH like the SDKs do. */
        h2a_child_spec spec = {.argv = (const char *const *)argv, .search_path = true,
                               .env_pass = s_process_env, .timeout_ms = S_PROCESS_TIMEOUT_MS,
                               .stderr_inherit = true};

        rv = h2a_child_run(&spec, &outb, NULL, &res);
    }
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(rv, "%s: ", what);
    } else if (res.timed_out) {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: '%s' did not finish within %d s", what, argv[0],
                         S_PROCESS_TIMEOUT_MS / 1000);
    } else if (res.overflow) {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: output larger than %u bytes", what,
                         S_PROCESS_MAX_OUTPUT);
    } else if (!res.exited || res.code != 0) {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: '%s' failed (exit status %d)", what, argv[0],
                         res.code);
    } else {
        rv = h2a_buf_terminate(&outb);
        if (rv == H2A_OK) {
            rv = h2a_aws_creds_from_json(&outb, what, true, out);
        }
    }
done:
    h2a_argv_free(argv);
    h2a_buf_free(&outb);
    return rv;
}
