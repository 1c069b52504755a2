/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The AWS shared config and credentials files: INI with `[section]`,
 * `key = value`, full-line `#`/`;` comments and one level of indented
 * sub-keys (`s3 =\n  addressing_style = path`, stored as "s3.addressing_style").
 * Values may be secret keys: entries are wiped when freed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws_internal.h"

struct s_entry {
    char *section;
    char *key;
    char *value;
    struct s_entry *next;
};

struct h2a_ini {
    struct s_entry *head;
    struct s_entry **tail;
    char **sections;
    size_t n_sections;
};

static void s_str_free(char *s)
{
    if (s != NULL) {
        OPENSSL_clear_free(s, strlen(s) + 1);
    }
}

void h2a_ini_free(struct h2a_ini *ini)
{
    struct s_entry *e;

    if (ini == NULL) {
        return;
    }
    e = ini->head;
    while (e != NULL) {
        struct s_entry *next = e->next;
        s_str_free(e->section);
        s_str_free(e->key);
        s_str_free(e->value);
        OPENSSL_free(e);
        e = next;
    }
    for (size_t i = 0; i < ini->n_sections; i++) {
        s_str_free(ini->sections[i]);
    }
    OPENSSL_free(ini->sections);
    OPENSSL_free(ini);
}

static char *s_dup_trim(const char *s, size_t n)
{
    char *p;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    p = OPENSSL_zalloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static h2a_err s_add(struct h2a_ini *ini, const char *section, const char *key,
                     const char *value)
{
    struct s_entry *e = OPENSSL_zalloc(sizeof(*e));

    if (e == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "config file entry");
    }
    e->section = s_dup_trim(section, strlen(section));
    e->key = s_dup_trim(key, strlen(key));
    e->value = s_dup_trim(value, strlen(value));
    *ini->tail = e;
    ini->tail = &e->next;
    if (e->section == NULL || e->key == NULL || e->value == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "config file entry");
    }
    return H2A_OK;
}

static h2a_err s_add_section(struct h2a_ini *ini, const char *name, size_t n)
{
    char **ns = OPENSSL_realloc(ini->sections, (ini->n_sections + 1) * sizeof(char *));

    if (ns == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "config file section");
    }
    ini->sections = ns;
    ini->sections[ini->n_sections] = s_dup_trim(name, n);
    if (ini->sections[ini->n_sections] == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "config file section");
    }
    ini->n_sections++;
    return H2A_OK;
}

/*
 * One "key = value" line; an indented one under a "key =" line with no
 * value is stored as "parent.key" (the SDKs' nested sub-keys).
 */
static h2a_err s_key_line(struct h2a_ini *ini, const char *section, const char *s,
                          const char *eq, const char *le, bool indented, char *parent,
                          size_t parent_size, const char *what)
{
    char key[256];
    char *v = s_dup_trim(eq + 1, (size_t)(le - eq - 1));
    char *k = s_dup_trim(s, (size_t)(eq - s));
    h2a_err rv;

    if (v == NULL || k == NULL) {
        s_str_free(v);
        s_str_free(k);
        return h2a_err_set(H2A_ERR_NOMEM, "%s", what);
    }
    if (indented && parent[0] != '\0') {
        snprintf(key, sizeof(key), "%s.%s", parent, k);
    } else {
        snprintf(key, sizeof(key), "%s", k);
        parent[0] = '\0';
        if (v[0] == '\0') {
            /* "s3 =" opens a block of indented sub-keys. */
            snprintf(parent, parent_size, "%s", k);
        }
    }
    rv = s_add(ini, section, key, v);
    s_str_free(v);
    s_str_free(k);
    return rv;
}

h2a_err h2a_ini_parse(const char *text, size_t len, const char *what,
                      struct h2a_ini **out)
{
    struct h2a_ini *ini = OPENSSL_zalloc(sizeof(*ini));
    const char *p = text;
    const char *end = text + len;
    const char *section = NULL;
    char parent[128] = "";
    int lineno = 0;
    h2a_err rv = H2A_OK;

    *out = NULL;
    if (ini == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s", what);
    }
    ini->tail = &ini->head;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol != NULL ? eol : end;
        const char *s = p;
        bool indented = (s < le && (*s == ' ' || *s == '\t'));
        const char *eq;

        lineno++;
        p = eol != NULL ? eol + 1 : end;
        while (s < le && isspace((unsigned char)*s)) {
            s++;
        }
        if (s == le || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            const char *rb = memchr(s, ']', (size_t)(le - s));
            if (rb == NULL) {
                rv = h2a_err_set(H2A_ERR_INPUT, "%s:%d: section header without ']'",
                                 what, lineno);
                goto done;
            }
            if ((rv = s_add_section(ini, s + 1, (size_t)(rb - s - 1))) != H2A_OK) {
                goto done;
            }
            section = ini->sections[ini->n_sections - 1];
            parent[0] = '\0';
            continue;
        }
        eq = memchr(s, '=', (size_t)(le - s));
        if (eq == NULL || section == NULL) {
            rv = h2a_err_set(H2A_ERR_INPUT, "%s:%d: expected 'key = value' inside a "
                             "[section]", what, lineno);
            goto done;
        }
        if ((rv = s_key_line(ini, section, s, eq, le, indented, parent, sizeof(parent),
                             what)) != H2A_OK) {
            goto done;
        }
    }
done:
    if (rv != H2A_OK) {
        h2a_ini_free(ini);
        return rv;
    }
    *out = ini;
    return H2A_OK;
}

h2a_err h2a_ini_load(const char *path, bool must_exist, struct h2a_ini **out)
{
    h2a_buf b;
    h2a_err rv;
    FILE *f;

    *out = NULL;
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT && !must_exist) {
            return h2a_ini_parse("", 0, path, out);
        }
        return h2a_err_set(H2A_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    }
    fclose(f);
    h2a_buf_init_secure(&b, 1u << 20);
    rv = h2a_file_read(path, &b);
    if (rv == H2A_OK) {
        rv = h2a_ini_parse((const char *)b.data, b.len, path, out);
    } else {
        rv = h2a_err_prefix(H2A_ERR_INPUT, "%s: ", path);
    }
    h2a_buf_free(&b);
    return rv;
}

bool h2a_ini_has_section(const struct h2a_ini *ini, const char *section)
{
    for (size_t i = 0; ini != NULL && i < ini->n_sections; i++) {
        if (strcmp(ini->sections[i], section) == 0) {
            return true;
        }
    }
    return false;
}

const char *h2a_ini_get(const struct h2a_ini *ini, const char *section, const char *key)
{
    const char *found = NULL;

    /* The last assignment wins, as in configparser. */
    for (const struct s_entry *e = ini != NULL ? ini->head : NULL; e != NULL; e = e->next) {
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) {
            found = e->value;
        }
    }
    return found;
}

/* ------------------------------------------------------------------ */
/* Profiles over both files                                            */
/* ------------------------------------------------------------------ */

static char *s_default_path(const char *env, const char *leaf)
{
    const char *v = getenv(env);
    const char *home = getenv("HOME");
    char buf[1024];

    if (v != NULL && v[0] != '\0') {
        return strdup(v);
    }
    snprintf(buf, sizeof(buf), "%s/.aws/%s", home != NULL ? home : "", leaf);
    return strdup(buf);
}

h2a_err h2a_aws_profiles_load(struct h2a_aws_profiles *p)
{
    h2a_err rv;

    memset(p, 0, sizeof(*p));
    p->config_path = s_default_path("AWS_CONFIG_FILE", "config");
    p->credentials_path = s_default_path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    if (p->config_path == NULL || p->credentials_path == NULL) {
        h2a_aws_profiles_cleanup(p);
        return h2a_err_set(H2A_ERR_NOMEM, "AWS config file paths");
    }
    rv = h2a_ini_load(p->config_path, false, &p->config);
    if (rv == H2A_OK) {
        rv = h2a_ini_load(p->credentials_path, false, &p->credentials);
    }
    if (rv != H2A_OK) {
        h2a_aws_profiles_cleanup(p);
    }
    return rv;
}

void h2a_aws_profiles_cleanup(struct h2a_aws_profiles *p)
{
    h2a_ini_free(p->config);
    h2a_ini_free(p->credentials);
    free(p->config_path);
    free(p->credentials_path);
    memset(p, 0, sizeof(*p));
}

static void s_config_section(const char *name, char *out, size_t n)
{
    snprintf(out, n, "profile %s", name);
}

bool h2a_aws_profile_exists(const struct h2a_aws_profiles *p, const char *name)
{
    char sec[300];

    s_config_section(name, sec, sizeof(sec));
    return h2a_ini_has_section(p->credentials, name) ||
           h2a_ini_has_section(p->config, sec) ||
           (strcmp(name, "default") == 0 && h2a_ini_has_section(p->config, "default"));
}

const char *h2a_aws_profile_get(const struct h2a_aws_profiles *p, const char *name,
                                const char *key)
{
    char sec[300];
    const char *v = h2a_ini_get(p->credentials, name, key);

    if (v != NULL) {
        return v;
    }
    s_config_section(name, sec, sizeof(sec));
    v = h2a_ini_get(p->config, sec, key);
    if (v == NULL && strcmp(name, "default") == 0) {
        v = h2a_ini_get(p->config, "default", key);
    }
    return v;
}
