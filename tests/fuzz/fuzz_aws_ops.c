/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The typed AWS operations' reply parsers (ACM, Secrets Manager, STS XML,
 * Organizations, ACM PCA), reached through their public functions: an
 * in-process HTTP server on loopback answers every request with the fuzz
 * input. Input: byte 0 picks the operation, byte 1 the HTTP status
 * (2xx replies go to the operation's parser, others to the error parser),
 * the rest is the reply body.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/aws_internal.h"

#define S_REQ_MAX (1u << 20)

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
/* A copy: a reply still being sent must not read the input libFuzzer freed. */
static uint8_t *s_body;
static size_t s_body_len;
static int s_status = 200;
static H2A_AWS_CTX *s_ctx;

static const int s_statuses[] = {200, 200, 200, 200, 400, 403, 404, 500, 503, 204, 301, 418};

static void s_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        c += w;
        n -= (size_t)w;
    }
}

/* Content-Length of the request in buf[0..hlen), 0 if none. */
static size_t s_content_length(const char *buf, size_t hlen)
{
    for (const char *p = buf; p < buf + hlen; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            return (size_t)strtoul(p + 15, NULL, 10);
        }
    }
    return 0;
}

/* Answer each request on one keep-alive connection with the current input. */
static void s_serve(int fd, char *buf)
{
    size_t have = 0;

    for (;;) {
        char *end;
        size_t hlen, clen;
        char head[256];

        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t r = recv(fd, buf + have, S_REQ_MAX - have, 0);
            if (r <= 0 || have + (size_t)r >= S_REQ_MAX) {
                return;
            }
            have += (size_t)r;
        }
        hlen = (size_t)(end - buf) + 4;
        clen = s_content_length(buf, hlen);
        while (have < hlen + clen) {
            ssize_t r = recv(fd, buf + have, S_REQ_MAX - have, 0);
            if (r <= 0 || have + (size_t)r > S_REQ_MAX) {
                return;
            }
            have += (size_t)r;
        }
        memmove(buf, buf + hlen + clen, have - hlen - clen);
        have -= hlen + clen;
        pthread_mutex_lock(&s_mu);
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 "x-amzn-RequestId: fuzz\r\nContent-Length: %zu\r\n\r\n",
                 s_status, s_status == 204 ? (size_t)0 : s_body_len);
        s_send_all(fd, head, strlen(head));
        if (s_status != 204) {
            s_send_all(fd, s_body, s_body_len);
        }
        pthread_mutex_unlock(&s_mu);
    }
}

static void *s_server(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    char *buf = malloc(S_REQ_MAX);

    for (;;) {
        int one = 1;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        /* Without it each reply waits for the client's delayed ACK (40 ms). */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        s_serve(fd, buf);
        close(fd);
    }
    return NULL;
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

/* What the client reads from the environment: this server, fixed keys, no files. */
static const char *const s_env[][2] = {
    {"AWS_ACCESS_KEY_ID", "AKIDFUZZ"},
    {"AWS_SECRET_ACCESS_KEY", "fuzzsecretkey"},
    {"AWS_SESSION_TOKEN", "fuzzsessiontoken"},
    {"AWS_REGION", "eu-west-1"},
    {"AWS_CONFIG_FILE", "/nonexistent/config"},
    {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"},
    {"AWS_MAX_ATTEMPTS", "2"},
    {"HSM2ACM_AWS_TIMEOUT_MS", "5000"},
};

void h2a_fuzz_setup(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    pthread_t t;
    char url[64];

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&t, NULL, s_server, (void *)(intptr_t)lfd) != 0) {
        abort();
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL", url, 1);
    for (size_t i = 0; i < sizeof(s_env) / sizeof(s_env[0]); i++) {
        setenv(s_env[i][0], s_env[i][1], 1);
    }
    if (h2a_aws_ctx_new(NULL, &s_ctx) != H2A_OK) {
        abort();
    }
    h2a_aws_ctx_set_hooks(s_ctx, s_rand, s_no_sleep, NULL);
}

#define ARN "arn:aws:acm:eu-west-1:111111111111:certificate/0f0e0d0c-1111-2222-3333-444455556666"
#define CA "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/ca"
#define SECRET "hsm2acm/staging/fuzz-1-0"
#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static void s_acm(int op)
{
    json_object *o = NULL;
    char *a = NULL, *b = NULL;
    static const struct h2a_aws_tag tag = {"env", "fuzz"};

    switch (op) {
    case 0: (void)h2a_acm_describe_certificate(s_ctx, NULL, ARN, &o); break;
    case 1: (void)h2a_acm_get_certificate(s_ctx, NULL, ARN, &a, &b); break;
    case 2: (void)h2a_acm_list_certificates(s_ctx, NULL, NULL, &o); break;
    case 3: (void)h2a_acm_list_tags(s_ctx, NULL, ARN, &o); break;
    case 4: (void)h2a_acm_add_tags(s_ctx, NULL, ARN, &tag, 1); break;
    case 5: (void)h2a_acm_delete_certificate(s_ctx, NULL, ARN); break;
    default: {
        h2a_buf key;
        struct h2a_acm_import in = {.certificate_pem = PEM, .private_key_pem = &key};
        h2a_buf_init_secure(&key, 0);
        if (h2a_buf_append_str(&key, "-----BEGIN PRIVATE KEY-----\nAA\n"
                                     "-----END PRIVATE KEY-----\n") == H2A_OK) {
            (void)h2a_acm_import_certificate(s_ctx, NULL, &in, &a);
        }
        h2a_buf_free(&key);
    }
    }
    json_object_put(o);
    free(a);
    free(b);
}

static void s_sm(int op)
{
    json_object *o = NULL;
    h2a_buf v;
    static const char *const names[] = {"hsm2acm/staging/", NULL};
    static const struct h2a_sm_filter f = {"name", names};

    h2a_buf_init_secure(&v, 0);
    switch (op) {
    case 0: (void)h2a_sm_get_secret_value(s_ctx, NULL, SECRET, &v, &o); break;
    case 1: (void)h2a_sm_describe_secret(s_ctx, NULL, SECRET, &o); break;
    case 2: (void)h2a_sm_list_secrets(s_ctx, NULL, &f, 1, &o); break;
    case 3: (void)h2a_sm_delete_secret(s_ctx, NULL, SECRET, true); break;
    default: {
        struct h2a_sm_create in = {.name = SECRET,
                                   .client_request_token = "0123456789abcdef0123456789abcdef",
                                   .secret_string = &v};
        if (h2a_buf_append_str(&v, "{\"format_version\":1}") == H2A_OK) {
            (void)h2a_sm_create_secret(s_ctx, NULL, &in, &o);
        }
    }
    }
    json_object_put(o);
    h2a_buf_free(&v);
}

static void s_other(int op)
{
    struct h2a_aws_identity id;
    struct h2a_aws_credentials *cr = NULL;
    struct h2a_aws_assume_role ar = {.role_arn = "arn:aws:iam::222222222222:role/r",
                                     .session_name = "fuzz"};
    struct h2a_pca_issue pi = {.ca_arn = CA, .csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nAA\n"
                                                       "-----END CERTIFICATE REQUEST-----\n",
                               .signing_algorithm = "SHA256WITHECDSA",
                               .validity_type = "DAYS", .validity_value = 30};
    json_object *o = NULL;
    char *a = NULL, *b = NULL;

    switch (op) {
    case 0: (void)h2a_sts_get_caller_identity(s_ctx, NULL, &id); break;
    case 1: (void)h2a_sts_assume_role(s_ctx, &ar, &cr); break;
    case 2: (void)h2a_sts_assume_role_with_web_identity(s_ctx, NULL, ar.role_arn, "fuzz",
                                                         "eyJhbGciOiJub25lIn0.e30.", 900, &cr);
        break;
    case 3: (void)h2a_org_list_accounts(s_ctx, &o); break;
    case 4: (void)h2a_pca_issue_certificate(s_ctx, NULL, &pi, &a); break;
    default: (void)h2a_pca_get_certificate(s_ctx, NULL, CA, CA "/certificate/c", &a, &b); break;
    }
    h2a_aws_credentials_free(cr);
    json_object_put(o);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int op;

    if (size < 2) {
        return 0;
    }
    op = data[0] % 18;
    pthread_mutex_lock(&s_mu);
    s_status = s_statuses[data[1] % (sizeof(s_statuses) / sizeof(s_statuses[0]))];
    free(s_body);
    s_body = malloc(size - 2 + 1);
    if (s_body == NULL) {
        abort();
    }
    memcpy(s_body, data + 2, size - 2);
    s_body_len = size - 2;
    pthread_mutex_unlock(&s_mu);
    if (op < 7) {
        s_acm(op);
    } else if (op < 12) {
        s_sm(op - 7);
    } else {
        s_other(op - 12);
    }
    h2a_fuzz_after();
    return 0;
}
