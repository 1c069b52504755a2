/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "h2a_common.h"

/* The soft RLIMIT_MEMLOCK as "64 KiB" or "unlimited", for messages. */
static void s_memlock_text(char *out, size_t n)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        snprintf(out, n, "unlimited");
    } else {
        snprintf(out, n, "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
    }
}

h2a_err h2a_secure_heap_init(size_t bytes)
{
    int rc;

    if (CRYPTO_secure_malloc_initialized()) {
        return H2A_OK;
    }
    /*
     * OpenSSL's secure heap is mlocked and MADV_DONTDUMP; once it exists,
     * OpenSSL also keeps private BIGNUMs there. OpenSSL returns 2 when the
     * arena exists but mlock (or MADV_DONTDUMP) failed: key material would
     * then sit in swappable memory behind a "secure" name, so 2 is a
     * failure too, and the heap is torn down so nothing uses it.
     */
    rc = CRYPTO_secure_malloc_init(bytes, 32);
    if (rc == 0) {
        return h2a_err_set(H2A_ERR_INTERNAL,
                           "cannot create a locked heap of %zu bytes "
                           "(check RLIMIT_MEMLOCK, ulimit -l)",
                           bytes);
    }
    if (rc != 1) {
        char limit[32];
        s_memlock_text(limit, sizeof(limit));
        (void)CRYPTO_secure_malloc_done();
        return h2a_err_set(H2A_ERR_INTERNAL,
                           "cannot lock the heap for key material in memory: "
                           "RLIMIT_MEMLOCK (ulimit -l) is %s, at least %zu KiB is "
                           "needed; refusing to handle keys in unlocked memory",
                           limit, (bytes + 1023) / 1024);
    }
    return H2A_OK;
}

h2a_err h2a_process_harden(void)
{
    struct rlimit none = {0, 0};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "prctl(PR_SET_DUMPABLE): %s",
                           strerror(errno));
    }
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "setrlimit(RLIMIT_CORE): %s",
                           strerror(errno));
    }
    return H2A_OK;
}

bool h2a_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

h2a_err h2a_file_read(const char *path, h2a_buf *out)
{
    h2a_err rv = H2A_OK;
    uint8_t chunk[4096];
    FILE *f;
    size_t n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "cannot open %s: %s", path,
                           strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rv = h2a_buf_append(out, chunk, n);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "%s: ", path);
            goto done;
        }
    }
    if (ferror(f)) {
        rv = h2a_err_set(H2A_ERR_INPUT, "cannot read %s", path);
        goto done;
    }
    rv = h2a_buf_terminate(out);
done:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    fclose(f);
    return rv;
}

h2a_err h2a_file_write_atomic(const char *path, const void *data, size_t len,
                              unsigned mode)
{
    h2a_err rv = H2A_OK;
    char tmp[4096];
    const uint8_t *p = data;
    int fd = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())
        >= sizeof(tmp)) {
        return h2a_err_set(H2A_ERR_INPUT, "path too long: %s", path);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return h2a_err_set(H2A_ERR_INPUT, "cannot create %s: %s", tmp,
                           strerror(errno));
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            rv = h2a_err_set(H2A_ERR_INPUT, "cannot write %s: %s", tmp,
                             strerror(errno));
            goto done;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rv = h2a_err_set(H2A_ERR_INPUT, "cannot flush %s: %s", tmp,
                         strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "cannot rename %s to %s: %s", tmp,
                         path, strerror(errno));
    }
done:
    if (fd >= 0) {
        close(fd);
    }
    if (rv != H2A_OK) {
        unlink(tmp);
    }
    return rv;
}

void h2a_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

int h2a_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool h2a_account_id_ok(const char *a)
{
    if (strlen(a) != 12) {
        return false;
    }
    for (size_t i = 0; i < 12; i++) {
        if (!isdigit((unsigned char)a[i])) {
            return false;
        }
    }
    return true;
}

h2a_err h2a_hex_decode(const char *in, h2a_buf *out)
{
    size_t n = strlen(in);

    H2A_ENSURE(n % 2 == 0, H2A_ERR_INPUT, "hex string has odd length");
    for (size_t i = 0; i < n; i += 2) {
        int hi = h2a_hex_value(in[i]);
        int lo = h2a_hex_value(in[i + 1]);
        uint8_t byte;

        H2A_ENSURE(hi >= 0 && lo >= 0, H2A_ERR_INPUT,
                   "not a hex digit at offset %zu", i);
        byte = (uint8_t)(hi << 4 | lo);
        H2A_GUARD(h2a_buf_append(out, &byte, 1));
    }
    return H2A_OK;
}

h2a_err h2a_base64_encode(const uint8_t *in, size_t n, h2a_buf *out)
{
    size_t need = 4 * ((n + 2) / 3);
    int w;

    H2A_GUARD(h2a_buf_reserve(out, out->len + need + 1));
    w = EVP_EncodeBlock(out->data + out->len, in, (int)n);
    if (w < 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "base64 encoding failed");
    }
    out->len += (size_t)w;
    return h2a_buf_terminate(out);
}

h2a_err h2a_base64url_encode(const uint8_t *in, size_t n, h2a_buf *out)
{
    size_t start = out->len;

    H2A_GUARD(h2a_base64_encode(in, n, out));
    while (out->len > start && out->data[out->len - 1] == '=') {
        out->len--;
    }
    for (size_t i = start; i < out->len; i++) {
        out->data[i] = out->data[i] == '+' ? '-' : out->data[i] == '/' ? '_' : out->data[i];
    }
    return h2a_buf_terminate(out);
}

h2a_err h2a_base64url_decode(const char *in, size_t n, h2a_buf *out)
{
    char *std;
    size_t m = 0;
    h2a_err rv;

    while (n > 0 && in[n - 1] == '=') {
        n--;
    }
    /* A lone sextet in the last quantum carries no whole byte. */
    H2A_ENSURE(n % 4 != 1, H2A_ERR_INPUT, "the text is not base64url (bad length)");
    std = malloc(n + 4);
    H2A_ENSURE(std != NULL, H2A_ERR_NOMEM, "base64url");
    for (size_t i = 0; i < n; i++) {
        char c = in[i];

        if (c == '-' || c == '_') {
            c = c == '-' ? '+' : '/';
        } else if (!isalnum((unsigned char)c)) {
            OPENSSL_cleanse(std, n + 4);
            free(std);
            return h2a_err_set(H2A_ERR_INPUT, "the text is not base64url (character "
                               "%zu is outside its alphabet)", i + 1);
        }
        std[m++] = c;
    }
    while (m % 4 != 0) {
        std[m++] = '=';
    }
    rv = h2a_base64_decode(std, m, out);
    OPENSSL_cleanse(std, n + 4);
    free(std);
    return rv;
}

h2a_err h2a_base64_decode(const char *in, size_t n, h2a_buf *out)
{
    size_t pad = 0;
    int w;

    H2A_ENSURE(n % 4 == 0, H2A_ERR_INPUT,
               "base64 text length %zu is not a multiple of 4", n);
    if (n >= 1 && in[n - 1] == '=') {
        pad++;
    }
    if (n >= 2 && in[n - 2] == '=') {
        pad++;
    }
    H2A_GUARD(h2a_buf_reserve(out, out->len + n / 4 * 3 + 1));
    w = EVP_DecodeBlock(out->data + out->len, (const unsigned char *)in, (int)n);
    H2A_ENSURE(w >= 0, H2A_ERR_INPUT, "invalid base64 text");
    /* EVP_DecodeBlock counts padding bytes as data; drop them. */
    out->len += (size_t)w - pad;
    return h2a_buf_terminate(out);
}
