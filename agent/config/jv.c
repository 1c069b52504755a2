/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/h2a_jv.h"
#include "h2a_policy.h"

h2a_err h2a_jv_parse(const char *what, const char *text, size_t len,
                     json_object **out)
{
    json_tokener *tok;
    json_object *v;
    enum json_tokener_error jerr;
    size_t end;

    *out = NULL;
    if (len > (size_t)INT32_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: too large", what);
    }
    tok = json_tokener_new();
    if (tok == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "json_tokener_new");
    }
    /* Strict: no comments, no single quotes, no trailing commas. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    v = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (v == NULL || jerr != json_tokener_success) {
        json_object_put(v);
        if (jerr == json_tokener_continue) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: not JSON (truncated)", what);
        }
        return h2a_err_set(H2A_ERR_INPUT, "%s: not JSON (%s at byte %zu)",
                           what, json_tokener_error_desc(jerr), end);
    }
    while (end < len && isspace((unsigned char)text[end])) {
        end++;
    }
    if (end < len) {
        json_object_put(v);
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: not JSON (trailing data at byte %zu)", what, end);
    }
    /* json-c keeps the last of two equal keys: a second "key" must not win silently. */
    if (h2a_policy_json_strict(text, len, &end) != H2A_OK) {
        json_object_put(v);
        return h2a_err_prefix(H2A_ERR_INPUT, "%s: not valid JSON at byte %zu: ", what, end);
    }
    *out = v;
    return H2A_OK;
}

h2a_err h2a_jv_parse_file(const char *path, size_t limit, json_object **out)
{
    h2a_buf b;
    h2a_err rv;

    h2a_buf_init(&b, limit);
    rv = h2a_file_read(path, &b);
    if (rv == H2A_OK) {
        rv = h2a_jv_parse(path, (const char *)b.data, b.len, out);
    }
    h2a_buf_free(&b);
    return rv;
}

const char *h2a_jv_path(char *buf, size_t n, const char *path, const char *key)
{
    if (path == NULL || path[0] == '\0') {
        snprintf(buf, n, "%s", key);
    } else {
        snprintf(buf, n, "%s.%s", path, key);
    }
    return buf;
}

h2a_err h2a_jv_require_object(json_object *v, const char *path)
{
    if (!json_object_is_type(v, json_type_object)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected a JSON object",
                           (path == NULL || path[0] == '\0') ? "(top level)" : path);
    }
    return H2A_OK;
}

h2a_err h2a_jv_only_keys(json_object *obj, const char *path,
                         const char *const *allowed)
{
    char p[256];

    json_object_object_foreach(obj, key, val)
    {
        bool ok = false;

        (void)val;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: unknown key",
                               h2a_jv_path(p, sizeof(p), path, key));
        }
    }
    return H2A_OK;
}

static h2a_err s_text_ok2(const char *field, const char *s, size_t len,
                          size_t min, size_t max, bool multiline);

static h2a_err s_text_ok(const char *field, const char *s, size_t len,
                         size_t min, size_t max)
{
    return s_text_ok2(field, s, len, min, max, false);
}

static h2a_err s_text_ok2(const char *field, const char *s, size_t len,
                          size_t min, size_t max, bool multiline)
{
    if (len < min) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %s", field,
                           min <= 1 ? "must not be empty" : "too short");
    }
    if (len > max) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: longer than %zu bytes", field, max);
    }
    if (strlen(s) != len) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: contains a NUL byte", field);
    }
    for (size_t i = 0; i < len; i++) {
        if (multiline && (s[i] == '\n' || s[i] == '\r')) {
            continue;
        }
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: contains a control character",
                               field);
        }
    }
    return H2A_OK;
}

static h2a_err s_str(json_object *obj, const char *path, const char *key,
                     bool required, size_t min, size_t max, bool multiline,
                     char **out);

h2a_err h2a_jv_str(json_object *obj, const char *path, const char *key,
                   bool required, size_t min, size_t max, char **out)
{
    return s_str(obj, path, key, required, min, max, false, out);
}

h2a_err h2a_jv_text(json_object *obj, const char *path, const char *key,
                    bool required, size_t min, size_t max, char **out)
{
    return s_str(obj, path, key, required, min, max, true, out);
}

static h2a_err s_str(json_object *obj, const char *path, const char *key,
                     bool required, size_t min, size_t max, bool multiline,
                     char **out)
{
    char p[256];
    json_object *v = NULL;
    const char *s;
    size_t len;
    char *copy;

    h2a_jv_path(p, sizeof(p), path, key);
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (required) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: missing (required)", p);
        }
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected a string", p);
    }
    s = json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    H2A_GUARD(s_text_ok2(p, s, len, min, max, multiline));
    copy = strdup(s);
    if (copy == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s", p);
    }
    free(*out);
    *out = copy;
    return H2A_OK;
}

h2a_err h2a_jv_int(json_object *obj, const char *path, const char *key,
                   bool required, long long min, long long max, long long *out)
{
    char p[256];
    json_object *v = NULL;
    long long n;

    h2a_jv_path(p, sizeof(p), path, key);
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (required) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: missing (required)", p);
        }
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected an integer", p);
    }
    errno = 0;
    n = (long long)json_object_get_int64(v);
    if (errno != 0 || n < min || n > max) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: must be between %lld and %lld",
                           p, min, max);
    }
    *out = n;
    return H2A_OK;
}

h2a_err h2a_jv_bool(json_object *obj, const char *path, const char *key,
                    bool *out)
{
    char p[256];
    json_object *v = NULL;

    h2a_jv_path(p, sizeof(p), path, key);
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        return H2A_OK;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected true or false", p);
    }
    *out = json_object_get_boolean(v);
    return H2A_OK;
}

void h2a_jv_strv_free(char **v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; v[i] != NULL; i++) {
        free(v[i]);
    }
    free(v);
}

h2a_err h2a_jv_strv(json_object *obj, const char *path, const char *key,
                    bool required, size_t max_items, size_t max, char ***out,
                    size_t *n_out)
{
    h2a_err rv = H2A_OK;
    char p[256], ip[300];
    json_object *v = NULL;
    char **arr = NULL;
    size_t n;

    h2a_jv_path(p, sizeof(p), path, key);
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (required) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: missing (required)", p);
        }
        n = 0;
    } else if (!json_object_is_type(v, json_type_array)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected an array of strings", p);
    } else {
        n = json_object_array_length(v);
    }
    if (n > max_items) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: more than %zu entries", p,
                           max_items);
    }
    arr = calloc(n + 1, sizeof(*arr));
    if (arr == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s", p);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);

        snprintf(ip, sizeof(ip), "%s[%zu]", p, i);
        if (!json_object_is_type(e, json_type_string)) {
            rv = h2a_err_set(H2A_ERR_INPUT, "%s: expected a string", ip);
            goto done;
        }
        rv = s_text_ok(ip, json_object_get_string(e),
                       (size_t)json_object_get_string_len(e), 1, max);
        if (rv != H2A_OK) {
            goto done;
        }
        arr[i] = strdup(json_object_get_string(e));
        if (arr[i] == NULL) {
            rv = h2a_err_set(H2A_ERR_NOMEM, "%s", ip);
            goto done;
        }
    }
done:
    if (rv != H2A_OK) {
        h2a_jv_strv_free(arr);
        return rv;
    }
    h2a_jv_strv_free(*out);
    *out = arr;
    if (n_out != NULL) {
        *n_out = n;
    }
    return H2A_OK;
}

bool h2a_jv_charset_ok(const char *s, const char *chars)
{
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) || (unsigned char)*s > 0x7f) {
            if (strchr(chars, *s) == NULL) {
                return false;
            }
        }
    }
    return true;
}
