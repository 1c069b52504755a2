/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "h2a_common.h"

void h2a_buf_init(h2a_buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void h2a_buf_init_secure(h2a_buf *b, size_t limit)
{
    h2a_buf_init(b, limit);
    b->secure = true;
}

static void *s_alloc(bool secure, size_t n)
{
    return secure ? OPENSSL_secure_zalloc(n) : OPENSSL_zalloc(n);
}

static void s_release(bool secure, void *p, size_t n)
{
    if (secure) {
        OPENSSL_secure_clear_free(p, n);
    } else {
        OPENSSL_clear_free(p, n);
    }
}

h2a_err h2a_buf_reserve(h2a_buf *b, size_t cap)
{
    size_t ncap;
    uint8_t *n;

    if (cap <= b->cap) {
        return H2A_OK;
    }
    if (b->limit != 0 && cap > b->limit + 1) {
        return h2a_err_set(H2A_ERR_INPUT, "data exceeds the limit of %zu bytes",
                           b->limit);
    }
    ncap = b->cap < 64 ? 64 : b->cap;
    while (ncap < cap) {
        ncap *= 2;
    }
    if (b->limit != 0 && ncap > b->limit + 1) {
        ncap = b->limit + 1;
    }
    /*
     * Never realloc: the old block is wiped before it is released, so a
     * growing key buffer leaves no stale copy in the heap.
     */
    n = s_alloc(b->secure, ncap);
    if (n == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "cannot allocate %zu bytes%s", ncap,
                           b->secure ? " of secure memory" : "");
    }
    if (b->data != NULL) {
        memcpy(n, b->data, b->len);
        s_release(b->secure, b->data, b->cap);
    }
    b->data = n;
    b->cap = ncap;
    return H2A_OK;
}

h2a_err h2a_buf_append(h2a_buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return H2A_OK;
    }
    if (b->len + n < b->len) {
        return h2a_err_set(H2A_ERR_INPUT, "buffer size overflow");
    }
    if (b->limit != 0 && b->len + n > b->limit) {
        return h2a_err_set(H2A_ERR_INPUT, "data exceeds the limit of %zu bytes",
                           b->limit);
    }
    H2A_GUARD(h2a_buf_reserve(b, b->len + n + 1));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return H2A_OK;
}

h2a_err h2a_buf_append_str(h2a_buf *b, const char *s)
{
    return h2a_buf_append(b, s, strlen(s));
}

h2a_err h2a_buf_printf(h2a_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "format error");
    }
    if (b->limit != 0 && b->len + (size_t)n > b->limit) {
        return h2a_err_set(H2A_ERR_INPUT, "data exceeds the limit of %zu bytes",
                           b->limit);
    }
    H2A_GUARD(h2a_buf_reserve(b, b->len + (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return H2A_OK;
}

h2a_err h2a_buf_terminate(h2a_buf *b)
{
    H2A_GUARD(h2a_buf_reserve(b, b->len + 1));
    b->data[b->len] = '\0';
    return H2A_OK;
}

void h2a_buf_reset(h2a_buf *b)
{
    if (b->data != NULL) {
        OPENSSL_cleanse(b->data, b->cap);
    }
    b->len = 0;
}

void h2a_buf_free(h2a_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->data != NULL) {
        s_release(b->secure, b->data, b->cap);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
