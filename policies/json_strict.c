/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * What json-c accepts although RFC 8259 does not, and what it drops
 * silently. Run on text json-c has already parsed, so the structure is
 * known to be balanced. Each case could make a policy mean something else
 * than its author read:
 *   - a duplicate key: json-c keeps the last value, so an appended
 *     "allow_ip": true overrides an earlier false without a word;
 *   - "\u0000" in a string: json-c's keys are C strings, so "a\u0000b"
 *     would silently become "a";
 *   - single-quoted strings and raw control characters in strings.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "policy_internal.h"

#define S_MAX_DEPTH 64

struct s_key {
    const char *p; /* first byte after the opening quote */
    size_t len;
};

struct s_frame {
    bool object;
    bool expect_key;
    struct s_key *keys;
    size_t n;
    size_t cap;
    struct s_key cur; /* object: the key whose value is being read */
    size_t index;     /* array: the element being read */
};

/* "san.allow_ip", "targets[0].region": where in the document frame `depth - 1` is. */
static void s_path(const struct s_frame *st, size_t depth, const struct s_key *last,
                   char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t d = 0; d < depth && len < cap; d++) {
        const struct s_frame *f = &st[d];
        const struct s_key *k = d + 1 == depth ? last : &f->cur;
        int n;

        if (f->object) {
            n = snprintf(out + len, cap - len, "%s%.*s", len > 0 ? "." : "",
                         (int)(k->len > 64 ? 64 : k->len), k->p);
        } else {
            n = snprintf(out + len, cap - len, "[%zu]", f->index);
        }
        len = n < 0 ? cap : len + (size_t)n;
    }
}

static int s_key_cmp(const void *a, const void *b)
{
    const struct s_key *x = a;
    const struct s_key *y = b;

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }
    return memcmp(x->p, y->p, x->len);
}

static h2a_err s_frame_close(const char *json, struct s_frame *st, size_t depth,
                             size_t *err_off)
{
    struct s_frame *f = &st[depth - 1];
    h2a_err rv = H2A_OK;
    char path[512];

    if (f->n > 1) {
        qsort(f->keys, f->n, sizeof(f->keys[0]), s_key_cmp);
        for (size_t i = 1; i < f->n; i++) {
            if (s_key_cmp(&f->keys[i - 1], &f->keys[i]) == 0) {
                const char *later = f->keys[i].p > f->keys[i - 1].p ? f->keys[i].p
                                                                     : f->keys[i - 1].p;

                *err_off = (size_t)(later - json);
                s_path(st, depth, &f->keys[i], path, sizeof(path));
                rv = h2a_err_set(H2A_ERR_INPUT,
                                 "key \"%.*s\" appears twice in one object (at %s)",
                                 (int)(f->keys[i].len > 64 ? 64 : f->keys[i].len),
                                 f->keys[i].p, path);
                break;
            }
        }
    }
    OPENSSL_free(f->keys);
    memset(f, 0, sizeof(*f));
    return rv;
}

static h2a_err s_key_push(struct s_frame *f, const char *p, size_t len)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap == 0 ? 16 : 2 * f->cap;
        struct s_key *nk = OPENSSL_realloc(f->keys, ncap * sizeof(*nk));

        if (nk == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        }
        f->keys = nk;
        f->cap = ncap;
    }
    f->keys[f->n].p = p;
    f->keys[f->n].len = len;
    f->n++;
    return H2A_OK;
}

/* End of the string whose opening quote is at `i`; checks its contents. */
static h2a_err s_string(const char *json, size_t len, size_t i, size_t *end, size_t *err_off)
{
    for (size_t k = i + 1; k < len; k++) {
        unsigned char c = (unsigned char)json[k];

        if (c == '"') {
            *end = k;
            return H2A_OK;
        }
        if (c < 0x20) {
            *err_off = k;
            return h2a_err_set(H2A_ERR_INPUT, "raw control character in a string");
        }
        if (c == '\\') {
            if (k + 5 < len && json[k + 1] == 'u' && memcmp(json + k + 2, "0000", 4) == 0) {
                *err_off = k;
                return h2a_err_set(H2A_ERR_INPUT, "\\u0000 in a string");
            }
            k++;
        }
    }
    *err_off = len;
    return h2a_err_set(H2A_ERR_INPUT, "unterminated string");
}

h2a_err h2a_policy_json_strict(const char *json, size_t len, size_t *err_off)
{
    struct s_frame st[S_MAX_DEPTH];
    size_t depth = 0;
    h2a_err rv = H2A_OK;

    memset(st, 0, sizeof(st));
    *err_off = 0;
    for (size_t i = 0; i < len && rv == H2A_OK; i++) {
        char c = json[i];
        struct s_frame *top = depth > 0 ? &st[depth - 1] : NULL;
        size_t end = 0;

        switch (c) {
        case '{':
        case '[':
            if (depth == S_MAX_DEPTH) {
                *err_off = i;
                rv = h2a_err_set(H2A_ERR_INPUT, "nested more than %d levels", S_MAX_DEPTH);
                break;
            }
            memset(&st[depth], 0, sizeof(st[depth]));
            st[depth].object = c == '{';
            st[depth].expect_key = c == '{';
            depth++;
            break;
        case '}':
        case ']':
            if (top != NULL) {
                rv = s_frame_close(json, st, depth, err_off);
                depth--;
            }
            break;
        case ',':
            if (top != NULL && top->object) {
                top->expect_key = true;
            } else if (top != NULL) {
                top->index++;
            }
            break;
        case '\'':
            *err_off = i;
            rv = h2a_err_set(H2A_ERR_INPUT, "single quote (JSON strings use double quotes)");
            break;
        case '"':
            rv = s_string(json, len, i, &end, err_off);
            if (rv == H2A_OK && top != NULL && top->object && top->expect_key) {
                top->expect_key = false;
                top->cur.p = json + i + 1;
                top->cur.len = end - i - 1;
                rv = s_key_push(top, top->cur.p, top->cur.len);
            }
            i = end;
            break;
        default:
            break;
        }
    }
    while (depth > 0) {
        OPENSSL_free(st[--depth].keys);
    }
    return rv;
}
