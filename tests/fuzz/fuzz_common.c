/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Linked into every harness: the process setup they all share. */
#include "fuzz.h"

/* A harness that needs more (a server, an environment) defines this. */
__attribute__((weak)) void h2a_fuzz_setup(void);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /*
     * Parsers put secrets in the secure heap, as the agent does after
     * main() made it; without it OpenSSL silently falls back to malloc and
     * the harness would test another allocation path. Messages are quiet:
     * at millions of executions the log is only noise.
     */
    if (h2a_secure_heap_init(1u << 20) != H2A_OK) {
        abort();
    }
    h2a_log_set_level(H2A_LOG_ERROR);
    if (h2a_fuzz_setup != NULL) {
        h2a_fuzz_setup();
    }
    return 0;
}

char *h2a_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

void h2a_fuzz_after(void)
{
    ERR_clear_error();
}
