/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "h2a_common.h"

#define H2A_ERRMSG_MAX 1024

struct h2a_err_entry {
    const char *name;
    int exit_code;
    const char *text;
};

static const struct h2a_err_entry s_errors[] = {
#define H2A_X_ENTRY(name, code, text) {#name, code, text},
    H2A_ERROR_TABLE(H2A_X_ENTRY)
#undef H2A_X_ENTRY
};

/*
 * Per-thread so that a thread (a library caller's, or the provider tests'
 * signing threads) keeps the message of its own failure; batch workers are
 * processes and each has its own anyway. The code itself is always
 * returned directly.
 */
static _Thread_local char s_msg[H2A_ERRMSG_MAX];

static const struct h2a_err_entry *s_entry(h2a_err e)
{
    if ((int)e < 0 || e >= H2A_ERR__COUNT) {
        return &s_errors[H2A_ERR_INTERNAL];
    }
    return &s_errors[e];
}

const char *h2a_err_name(h2a_err e)
{
    return s_entry(e)->name;
}

const char *h2a_err_text(h2a_err e)
{
    return s_entry(e)->text;
}

int h2a_err_exit_code(h2a_err e)
{
    return s_entry(e)->exit_code;
}

h2a_err h2a_err_set(h2a_err e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s_msg, sizeof(s_msg), fmt, ap);
    va_end(ap);
    return e;
}

h2a_err h2a_err_prefix(h2a_err e, const char *fmt, ...)
{
    char prefix[256];
    char old[H2A_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t plen = strnlen(prefix, sizeof(prefix));

    memcpy(old, s_msg, sizeof(old));
    memcpy(s_msg, prefix, plen);
    /* The old message is cut, not the prefix that says where it came from. */
    snprintf(s_msg + plen, sizeof(s_msg) - plen, "%.*s",
             (int)(sizeof(s_msg) - plen - 1), old);
    return e;
}

const char *h2a_err_msg(void)
{
    return s_msg;
}

void h2a_err_clear(void)
{
    s_msg[0] = '\0';
}

h2a_err h2a_err_openssl(h2a_err e, const char *what)
{
    char detail[256] = "no detail from OpenSSL";
    unsigned long code = ERR_get_error();

    if (code != 0) {
        ERR_error_string_n(code, detail, sizeof(detail));
    }
    ERR_clear_error();
    return h2a_err_set(e, "%s: %s", what, detail);
}
