/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * SigV4, stage by stage (canonical request, string to sign, signing key,
 * signature) so that each stage can be checked against the aws-c-auth
 * vectors byte for byte.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "aws_internal.h"

void h2a_sha256_hex(const void *data, size_t len, char out_hex[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];

    SHA256(data, len, md);
    h2a_hex_encode(md, sizeof(md), out_hex);
}

void h2a_sigv4_dates(time_t t, char amz_date[17], char date8[9])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date8, 9, "%Y%m%d", &tm);
}

static bool s_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 encoding of everything but the unreserved set (and '/' if kept). */
static h2a_err s_uri_encode(h2a_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (s_unreserved(c) || (keep_slash && c == '/')) {
            H2A_GUARD(h2a_buf_append(out, &c, 1));
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            H2A_GUARD(h2a_buf_append(out, e, 3));
        }
    }
    return H2A_OK;
}

/* Percent-decode s[0..n) into out (a bad escape is kept literally). */
static h2a_err s_uri_decode(h2a_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && h2a_hex_value(s[i + 1]) >= 0 &&
            h2a_hex_value(s[i + 2]) >= 0) {
            uint8_t c = (uint8_t)(h2a_hex_value(s[i + 1]) * 16 + h2a_hex_value(s[i + 2]));
            H2A_GUARD(h2a_buf_append(out, &c, 1));
            i += 2;
        } else {
            H2A_GUARD(h2a_buf_append(out, &s[i], 1));
        }
    }
    return H2A_OK;
}

/*
 * Remove "." and ".." segments and collapse repeated '/', keeping a
 * trailing '/' (the rules the vectors' `normalize` flag asks for).
 */
static h2a_err s_normalize_path(const char *path, h2a_buf *out)
{
    /* Segment start offsets in `out`, a stack for "..". */
    size_t starts[256];
    size_t depth = 0;
    const char *p = path;
    bool trailing = false;

    H2A_GUARD(h2a_buf_append(out, "/", 1));
    while (*p != '\0') {
        const char *seg;
        size_t n;

        while (*p == '/') {
            p++;
        }
        seg = p;
        while (*p != '\0' && *p != '/') {
            p++;
        }
        n = (size_t)(p - seg);
        trailing = (*p == '/');
        if (n == 0) {
            trailing = true;
            continue;
        }
        if (n == 1 && seg[0] == '.') {
            trailing = true;
            continue;
        }
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth > 0) {
                depth--;
                out->len = starts[depth];
            }
            trailing = true;
            continue;
        }
        H2A_ENSURE(depth < sizeof(starts) / sizeof(starts[0]), H2A_ERR_INPUT,
                   "sigv4: path has too many segments");
        starts[depth++] = out->len;
        if (out->len > 1) {
            H2A_GUARD(h2a_buf_append(out, "/", 1));
        }
        H2A_GUARD(h2a_buf_append(out, seg, n));
    }
    if (trailing && out->len > 1) {
        H2A_GUARD(h2a_buf_append(out, "/", 1));
    }
    /* starts[] records where "/seg" begins, so ".." truncates right. */
    return H2A_OK;
}

struct s_param {
    h2a_buf k;
    h2a_buf v;
};

static int s_param_cmp(const void *a, const void *b)
{
    const struct s_param *x = a;
    const struct s_param *y = b;
    int c = strcmp((const char *)x->k.data, (const char *)y->k.data);

    return c != 0 ? c : strcmp((const char *)x->v.data, (const char *)y->v.data);
}

static h2a_err s_canonical_query(const char *q, h2a_buf *out)
{
    struct s_param *params = NULL;
    size_t n = 0;
    size_t cap = 0;
    h2a_buf tmp;
    h2a_err rv = H2A_OK;
    const char *p = q;

    h2a_buf_init(&tmp, 0);
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq != NULL ? (size_t)(eq - p) : len;

        if (len > 0) {
            if (n == cap) {
                size_t ncap = cap == 0 ? 8 : cap * 2;
                struct s_param *np = realloc(params, ncap * sizeof(*np));
                if (np == NULL) {
                    rv = h2a_err_set(H2A_ERR_NOMEM, "sigv4: query parameters");
                    goto done;
                }
                params = np;
                cap = ncap;
            }
            h2a_buf_init(&params[n].k, 0);
            h2a_buf_init(&params[n].v, 0);
            n++;
            h2a_buf_reset(&tmp);
            tmp.len = 0;
            if ((rv = s_uri_decode(&tmp, p, klen)) != H2A_OK ||
                (rv = s_uri_encode(&params[n - 1].k, (const char *)tmp.data,
                                   tmp.len, false)) != H2A_OK ||
                (rv = h2a_buf_terminate(&params[n - 1].k)) != H2A_OK) {
                goto done;
            }
            tmp.len = 0;
            if (eq != NULL) {
                if ((rv = s_uri_decode(&tmp, eq + 1, len - klen - 1)) != H2A_OK ||
                    (rv = s_uri_encode(&params[n - 1].v, (const char *)tmp.data,
                                       tmp.len, false)) != H2A_OK) {
                    goto done;
                }
            }
            if ((rv = h2a_buf_terminate(&params[n - 1].v)) != H2A_OK) {
                goto done;
            }
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    if (n > 0) {
        qsort(params, n, sizeof(*params), s_param_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && (rv = h2a_buf_append(out, "&", 1)) != H2A_OK) ||
            (rv = h2a_buf_append(out, params[i].k.data, params[i].k.len)) != H2A_OK ||
            (rv = h2a_buf_append(out, "=", 1)) != H2A_OK ||
            (rv = h2a_buf_append(out, params[i].v.data, params[i].v.len)) != H2A_OK) {
            goto done;
        }
    }
done:
    for (size_t i = 0; i < n; i++) {
        h2a_buf_free(&params[i].k);
        h2a_buf_free(&params[i].v);
    }
    free(params);
    h2a_buf_free(&tmp);
    return rv;
}

struct s_hdr {
    char *name;  /* lower-cased */
    const char *value;
    size_t order;
};

static int s_hdr_cmp(const void *a, const void *b)
{
    const struct s_hdr *x = a;
    const struct s_hdr *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

/* Trim, and turn each run of blanks into one space. */
static h2a_err s_append_trimmed(h2a_buf *out, const char *v)
{
    bool pending = false;
    bool any = false;

    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            pending = any;
            continue;
        }
        if (pending) {
            H2A_GUARD(h2a_buf_append(out, " ", 1));
            pending = false;
        }
        H2A_GUARD(h2a_buf_append(out, v, 1));
        any = true;
    }
    return H2A_OK;
}

/* The headers with lower-case names, sorted by name (stable); *out freed by the caller. */
static h2a_err s_sorted_headers(const struct h2a_sigv4_input *in, struct s_hdr **out)
{
    struct s_hdr *h = calloc(in->n_headers + 1, sizeof(*h));

    *out = h;
    if (h == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "sigv4: headers");
    }
    for (size_t i = 0; i < in->n_headers; i++) {
        h[i].name = strdup(in->headers[i].name);
        if (h[i].name == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "sigv4: headers");
        }
        for (char *c = h[i].name; *c != '\0'; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
        h[i].value = in->headers[i].value;
        h[i].order = i;
    }
    qsort(h, in->n_headers, sizeof(*h), s_hdr_cmp);
    return H2A_OK;
}

/* "name:v1,v2" lines (repeated names joined in order) and the "a;b;c" list. */
static h2a_err s_header_lines(const struct s_hdr *h, size_t n, h2a_buf *out,
                              h2a_buf *signed_headers)
{
    for (size_t i = 0; i < n; i++) {
        bool first = (i == 0 || strcmp(h[i - 1].name, h[i].name) != 0);
        if (first) {
            if (i > 0) {
                H2A_GUARD(h2a_buf_append(out, "\n", 1));
            }
            H2A_GUARD(h2a_buf_append_str(out, h[i].name));
            H2A_GUARD(h2a_buf_append(out, ":", 1));
            if (signed_headers->len > 0) {
                H2A_GUARD(h2a_buf_append(signed_headers, ";", 1));
            }
            H2A_GUARD(h2a_buf_append_str(signed_headers, h[i].name));
        } else {
            H2A_GUARD(h2a_buf_append(out, ",", 1));
        }
        H2A_GUARD(s_append_trimmed(out, h[i].value));
    }
    return H2A_OK;
}

h2a_err h2a_sigv4_canonical_request(const struct h2a_sigv4_input *in,
                                    h2a_buf *out, h2a_buf *signed_headers)
{
    struct s_hdr *h = NULL;
    h2a_buf path;
    char hash[65];
    h2a_err rv = H2A_OK;

    h2a_buf_init(&path, 0);
    if (in->method == NULL || in->path == NULL || in->path[0] != '/') {
        rv = h2a_err_set(H2A_ERR_INPUT, "sigv4: method and an absolute path are required");
        goto done;
    }
    if ((rv = s_sorted_headers(in, &h)) != H2A_OK) {
        goto done;
    }
    /* METHOD \n URI \n QUERY \n */
    if ((rv = h2a_buf_append_str(out, in->method)) != H2A_OK ||
        (rv = h2a_buf_append(out, "\n", 1)) != H2A_OK) {
        goto done;
    }
    if (in->normalize_path) {
        rv = s_normalize_path(in->path, &path);
    } else {
        rv = h2a_buf_append_str(&path, in->path);
    }
    if (rv != H2A_OK ||
        (rv = s_uri_encode(out, (const char *)path.data, path.len, true)) != H2A_OK ||
        (rv = h2a_buf_append(out, "\n", 1)) != H2A_OK ||
        (rv = s_canonical_query(in->query, out)) != H2A_OK ||
        (rv = h2a_buf_append(out, "\n", 1)) != H2A_OK) {
        goto done;
    }
    if ((rv = s_header_lines(h, in->n_headers, out, signed_headers)) != H2A_OK) {
        goto done;
    }
    h2a_sha256_hex(in->body != NULL ? (const void *)in->body : (const void *)"",
                   in->body_len, hash);
    if ((rv = h2a_buf_append(out, "\n\n", 2)) != H2A_OK ||
        (rv = h2a_buf_append(out, signed_headers->data, signed_headers->len)) != H2A_OK ||
        (rv = h2a_buf_append(out, "\n", 1)) != H2A_OK ||
        (rv = h2a_buf_append_str(out, hash)) != H2A_OK ||
        (rv = h2a_buf_terminate(out)) != H2A_OK ||
        (rv = h2a_buf_terminate(signed_headers)) != H2A_OK) {
        goto done;
    }
done:
    if (h != NULL) {
        for (size_t i = 0; i < in->n_headers; i++) {
            free(h[i].name);
        }
        free(h);
    }
    h2a_buf_free(&path);
    return rv;
}

h2a_err h2a_sigv4_scope(const char *date8, const char *region,
                        const char *service, h2a_buf *out)
{
    H2A_GUARD(h2a_buf_printf(out, "%s/%s/%s/aws4_request", date8, region, service));
    return h2a_buf_terminate(out);
}

h2a_err h2a_sigv4_string_to_sign(const char *amz_date, const char *scope,
                                 const h2a_buf *canonical_request, h2a_buf *out)
{
    char hash[65];

    h2a_sha256_hex(canonical_request->data != NULL ? canonical_request->data
                                                   : (const uint8_t *)"",
                   canonical_request->len, hash);
    H2A_GUARD(h2a_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash));
    return h2a_buf_terminate(out);
}

static h2a_err s_hmac(const uint8_t *key, size_t klen, const char *msg,
                      size_t mlen, uint8_t out[32])
{
    unsigned int olen = 32;

    if (HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen,
             out, &olen) == NULL) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, "sigv4: HMAC-SHA256");
    }
    return H2A_OK;
}

h2a_err h2a_sigv4_signing_key(const char *secret_key, const char *date8,
                              const char *region, const char *service,
                              uint8_t out[32])
{
    h2a_buf k;
    uint8_t a[32];
    uint8_t b[32];
    h2a_err rv;

    /* "AWS4" + secret lives only in the secure heap and is wiped. */
    h2a_buf_init_secure(&k, 0);
    rv = h2a_buf_append_str(&k, "AWS4");
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(&k, secret_key);
    }
    if (rv == H2A_OK) {
        rv = s_hmac(k.data, k.len, date8, strlen(date8), a);
    }
    if (rv == H2A_OK) {
        rv = s_hmac(a, 32, region, strlen(region), b);
    }
    if (rv == H2A_OK) {
        rv = s_hmac(b, 32, service, strlen(service), a);
    }
    if (rv == H2A_OK) {
        rv = s_hmac(a, 32, "aws4_request", 12, out);
    }
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    h2a_buf_free(&k);
    return rv;
}

h2a_err h2a_sigv4_signature(const uint8_t key[32], const h2a_buf *string_to_sign,
                            char out_hex[65])
{
    uint8_t sig[32];

    H2A_GUARD(s_hmac(key, 32, (const char *)string_to_sign->data,
                     string_to_sign->len, sig));
    h2a_hex_encode(sig, sizeof(sig), out_hex);
    return H2A_OK;
}
