/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Shared by the libFuzzer harnesses (fuzz_common.c). Each harness is one
 * thin call to a public parser so that it follows the parser when code
 * moves: only the include and the call change.
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
/* Extra process setup of one harness (optional). */
void h2a_fuzz_setup(void);

/*
 * Most parsers take text + length, some (URIs) a C string: a heap copy
 * with a NUL, so ASan sees a read past the input as the overflow it is.
 */
char *h2a_fuzz_cstr(const uint8_t *data, size_t size);
/* After each input: nothing may pile up between executions. */
void h2a_fuzz_after(void);
