/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Shared by the libFuzzer harnesses. Each harness is one thin call to a
 * public parser so that it follows the parser when code moves: only the
 * include and the call change.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "h2a_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The parsers take text + length but some (URIs, file formats read with
 * a NUL appended) take C strings: a heap copy with a NUL, so ASan sees a
 * read past the input as the overflow it is.
 */
static inline char *h2a_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/*
 * Parsers put secrets in the secure heap, as the agent does after main()
 * made it; without it OpenSSL silently falls back to malloc and the
 * harness would test a different allocation path. Messages are quiet:
 * at millions of executions the error log is only noise.
 */
static inline void h2a_fuzz_init(void)
{
    if (h2a_secure_heap_init(1u << 20) != H2A_OK) {
        abort();
    }
    h2a_log_set_level(H2A_LOG_ERROR);
}

/* After each input: nothing may pile up between executions. */
static inline void h2a_fuzz_after(void)
{
    ERR_clear_error();
}
