/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * libcurl's memory, wiped when it is given back.
 *
 * An ImportCertificate body carries the plaintext private key, and a
 * CreateSecret body the wrapped one. libcurl copies a request body into
 * buffers of its own (the request it assembles, the upload buffer) and frees
 * them with plain free(), which leaves the bytes in the heap for whatever
 * allocation comes next. Giving libcurl an allocator that wipes every block
 * on free and on realloc means no such copy outlives the transfer, without
 * depending on which buffer a given libcurl version happens to use. The
 * one buffer a secret body is streamed through is also locked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws_internal.h"
#include "http.h"

/* The block's size sits in front of it; the union keeps malloc's alignment. */
typedef union {
    size_t n;
    max_align_t align;
} s_head;

static void *s_malloc(size_t n)
{
    s_head *h;

    if (n > SIZE_MAX - sizeof(s_head)) {
        return NULL;
    }
    /*
     * libcurl's upload buffer (its size is ours, see http.c) receives a
     * secret request body from the read callback: it lives in the locked
     * secure heap, like the body itself.
     */
    h = n == H2A_CURL_UPLOAD_BUFSIZE ? OPENSSL_secure_malloc(sizeof(s_head) + n) : NULL;
    if (h == NULL) {
        h = malloc(sizeof(s_head) + n);
    }
    if (h == NULL) {
        return NULL;
    }
    h->n = n;
    return h + 1;
}

static void s_free(void *p)
{
    s_head *h;

    if (p == NULL) {
        return;
    }
    h = (s_head *)p - 1;
    if (CRYPTO_secure_allocated(h)) {
        OPENSSL_secure_clear_free(h, sizeof(s_head) + h->n);
        return;
    }
    OPENSSL_cleanse(h, sizeof(s_head) + h->n);
    free(h);
}

/* Never realloc() in place: the old block must be wiped before it is freed. */
static void *s_realloc(void *p, size_t n)
{
    void *q;
    size_t old;

    if (p == NULL) {
        return s_malloc(n);
    }
    q = s_malloc(n == 0 ? 1 : n);
    if (q == NULL) {
        return NULL;
    }
    old = ((s_head *)p - 1)->n;
    memcpy(q, p, old < n ? old : n);
    s_free(p);
    return q;
}

static void *s_calloc(size_t nmemb, size_t size)
{
    void *p;

    if (size != 0 && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    p = s_malloc(nmemb * size);
    if (p != NULL) {
        memset(p, 0, nmemb * size);
    }
    return p;
}

static char *s_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = s_malloc(n);

    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

bool h2a_curl_global_init(void)
{
    return curl_global_init_mem(CURL_GLOBAL_DEFAULT, s_malloc, s_free, s_realloc, s_strdup,
                                s_calloc) == CURLE_OK;
}
