/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include "aws_reply.h"

#include <stdio.h>

static H2A_AWS_CTX *s_ctx;
static const uint8_t *s_body;
static size_t s_body_len;
static long s_status;
static bool s_errortype;

static const long s_statuses[] = {200, 200, 200, 200, 400, 403, 404, 500, 503, 204, 301, 418};
#define S_NSTATUS (sizeof(s_statuses) / sizeof(s_statuses[0]))

static void s_reply(h2a_aws_service svc, long *status, const uint8_t **body, size_t *len,
                    char *errortype, size_t errortype_sz)
{
    (void)svc;
    *status = s_status;
    *body = s_body;
    *len = s_status == 204 ? 0 : s_body_len;
    if (s_errortype) {
        snprintf(errortype, errortype_sz, "ResourceNotFoundException:http://internal.amazon.com/");
    }
}

static void s_no_sleep(void *arg, long ms)
{
    (void)arg;
    (void)ms;
}

static double s_rand(void *arg)
{
    (void)arg;
    return 0.5;
}

/* What the client reads from the environment: fixed keys, no files, no network. */
static const char *const s_env[][2] = {
    {"AWS_ACCESS_KEY_ID", "AKIDFUZZ"},
    {"AWS_SECRET_ACCESS_KEY", "fuzzsecretkey"},
    {"AWS_SESSION_TOKEN", "fuzzsessiontoken"},
    {"AWS_REGION", "eu-west-1"},
    {"AWS_CONFIG_FILE", "/nonexistent/config"},
    {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
    {"AWS_MAX_ATTEMPTS", "2"},
};

void h2a_fuzz_setup(void)
{
    for (size_t i = 0; i < sizeof(s_env) / sizeof(s_env[0]); i++) {
        setenv(s_env[i][0], s_env[i][1], 1);
    }
    /* The default https:// endpoints: the secret-carrying calls are not refused. */
    unsetenv("AWS_ENDPOINT_URL");
    if (h2a_aws_ctx_new(NULL, &s_ctx) != H2A_OK) {
        abort();
    }
    h2a_aws_ctx_set_hooks(s_ctx, s_rand, s_no_sleep, NULL);
    h2a_aws_fuzz_set_reply(s_reply);
}

int h2a_fuzz_aws_run(const h2a_fuzz_aws_op *ops, size_t n, const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    s_status = s_statuses[data[1] % S_NSTATUS];
    s_errortype = (data[1] / S_NSTATUS) % 2 == 1;
    s_body = data + 2;
    s_body_len = size - 2;
    ops[data[0] % n](s_ctx);
    s_body = NULL;
    h2a_fuzz_after();
    return 0;
}
