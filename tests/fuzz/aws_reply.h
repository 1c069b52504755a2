/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Shared by the AWS operation harnesses (aws_reply.c): a client context
 * whose every HTTP attempt is answered in-process with the fuzz input
 * (H2A_FUZZ_HOOKS in agent/aws/aws_internal.h), so each operation's own
 * reply parser, the error parsers and the retry rules run without a socket.
 */
#include "fuzz.h"

#include "aws/aws_internal.h"

/* One operation against the ctx; its outputs are freed before it returns. */
typedef void (*h2a_fuzz_aws_op)(H2A_AWS_CTX *ctx);

/*
 * Byte 0 picks ops[byte 0 % n]; byte 1 the HTTP status (index into a list
 * where 2xx dominate; (byte 1 / 12) odd adds an X-Amzn-ErrorType header);
 * the rest is the reply body of every attempt.
 */
int h2a_fuzz_aws_run(const h2a_fuzz_aws_op *ops, size_t n, const uint8_t *data, size_t size);
