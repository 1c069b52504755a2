/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * An in-process HTTP server on loopback that plays a script of replies
 * ("recorded replies") and keeps what the last request looked like
 * (request line, content type, target, signature, body), for the unit
 * tests of the AWS layer. Include it in one test file; it defines statics.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

extern char **environ;

enum { M_NORMAL = 0, M_DROP, M_TRUNCATE, M_HUGE, M_DELAY };

struct canned {
    int status;
    const char *body;
    int mode;
    long delay_ms;
    const char *hdr; /* one extra header line ("Date: ...") or NULL */
};

#define MAX_SCRIPT 64
#define S_BUF (1 << 18)

static struct {
    pthread_mutex_t mu;
    struct canned script[MAX_SCRIPT];
    int n;
    int next;
    int requests;
    int accepts;
    char last_line[1024]; /* "GET /path?query HTTP/1.1" */
    char last_ctype[128];
    char last_target[128];
    char last_auth[512];
    char last_token[256];
    char last_body[8192];
    char last_date[32];
    int wipe; /* leave no request bytes behind (test_secret_body_no_copy) */
    int listen_fd;
    int port;
    volatile int stop;
    pthread_t thread;
} S;

static long s_delays[16];
static int s_n_delays;

static void s_play(int status, const char *body, int mode, long delay_ms)
{
    pthread_mutex_lock(&S.mu);
    assert_true(S.n < MAX_SCRIPT);
    S.script[S.n++] = (struct canned){status, body, mode, delay_ms, NULL};
    pthread_mutex_unlock(&S.mu);
}

static inline void s_play_hdr(int status, const char *body, const char *hdr)
{
    s_play(status, body, M_NORMAL, 0);
    S.script[S.n - 1].hdr = hdr;
}

static inline void s_reset_script(void)
{
    pthread_mutex_lock(&S.mu);
    S.n = 0;
    S.next = 0;
    S.requests = 0;
    S.accepts = 0;
    S.last_target[0] = '\0';
    S.last_body[0] = '\0';
    pthread_mutex_unlock(&S.mu);
    s_n_delays = 0;
}

static void s_header(const char *hdrs, const char *name, char *out, size_t n)
{
    const char *p = strcasestr(hdrs, name);

    out[0] = '\0';
    if (p != NULL) {
        const char *v = p + strlen(name);
        const char *e = strstr(v, "\r\n");
        while (*v == ' ') {
            v++;
        }
        snprintf(out, n, "%.*s", (int)(e != NULL ? e - v : (long)strlen(v)), v);
    }
}

static void s_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Serve one connection until the peer closes or the script says drop. */
static void s_serve_buf(int fd, char *buf);
static void s_serve(int fd)
{
    char *b = malloc(S_BUF);

    if (b != NULL) {
        s_serve_buf(fd, b);
        OPENSSL_cleanse(b, S_BUF);
        free(b);
    }
}

static void s_serve_buf(int fd, char *buf)
{
    size_t have = 0;

    for (;;) {
        char *end;
        size_t hlen;
        long clen;
        char tmp[64];
        struct canned c = {200, "{}", M_NORMAL, 0, NULL};
        char head[512];

        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            ssize_t r;
            if (S.stop || poll(&p, 1, 100) < 0) {
                return;
            }
            if (!(p.revents & (POLLIN | POLLHUP))) {
                continue;
            }
            r = recv(fd, buf + have, S_BUF - 1 - have, 0);
            if (r <= 0) {
                return;
            }
            have += (size_t)r;
        }
        hlen = (size_t)(end - buf) + 4;
        buf[hlen - 1] = '\0';
        s_header(buf, "content-length:", tmp, sizeof(tmp));
        clen = strtol(tmp, NULL, 10);
        while (have < hlen + (size_t)clen) {
            ssize_t r = recv(fd, buf + have, S_BUF - 1 - have, 0);
            if (r <= 0) {
                return;
            }
            have += (size_t)r;
        }
        pthread_mutex_lock(&S.mu);
        S.requests++;
        snprintf(S.last_line, sizeof(S.last_line), "%.*s", (int)strcspn(buf, "\r\n"), buf);
        s_header(buf, "content-type:", S.last_ctype, sizeof(S.last_ctype));
        s_header(buf, "x-amz-target:", S.last_target, sizeof(S.last_target));
        s_header(buf, "authorization:", S.last_auth, sizeof(S.last_auth));
        s_header(buf, "x-amz-security-token:", S.last_token, sizeof(S.last_token));
        s_header(buf, "x-amz-date:", S.last_date, sizeof(S.last_date));
        snprintf(S.last_body, sizeof(S.last_body), "%.*s", (int)clen, buf + hlen);
        if (S.next < S.n) {
            c = S.script[S.next++];
        }
        pthread_mutex_unlock(&S.mu);
        memmove(buf, buf + hlen + (size_t)clen, have - hlen - (size_t)clen);
        have -= hlen + (size_t)clen;
        if (S.wipe) {
            OPENSSL_cleanse(buf + have, hlen + (size_t)clen);
        }

        if (c.mode == M_DROP) {
            return;
        }
        if (c.mode == M_DELAY) {
            struct timespec ts = {c.delay_ms / 1000, (c.delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (c.mode == M_HUGE) {
            static char chunk[65536]; /* read-only after memset */
            size_t total = 9u << 20;
            memset(chunk, ' ', sizeof(chunk));
            snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                     "x-amzn-RequestId: rid-huge\r\n\r\n", total);
            s_send_all(fd, head, strlen(head));
            for (size_t sent = 0; sent < total; sent += sizeof(chunk)) {
                s_send_all(fd, chunk, sizeof(chunk));
            }
            return;
        }
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Type: application/x-amz-json-1.1\r\n"
                 "x-amzn-RequestId: rid-%d\r\n%s%sContent-Length: %zu\r\n\r\n",
                 c.status, S.requests, c.hdr != NULL ? c.hdr : "", c.hdr != NULL ? "\r\n" : "",
                 strlen(c.body) + (c.mode == M_TRUNCATE ? 100 : 0));
        s_send_all(fd, head, strlen(head));
        s_send_all(fd, c.body, strlen(c.body));
        if (c.mode == M_TRUNCATE) {
            return;
        }
    }
}

static inline void *s_conn_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;

    s_serve(fd);
    close(fd);
    return NULL;
}

static inline void *s_server(void *arg)
{
    (void)arg;
    while (!S.stop) {
        struct pollfd p = {.fd = S.listen_fd, .events = POLLIN};
        int fd;
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        fd = accept(S.listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        pthread_mutex_lock(&S.mu);
        S.accepts++;
        pthread_mutex_unlock(&S.mu);
        {
            /* One thread per connection: a delayed reply must not block the next. */
            pthread_t t;
            pthread_attr_t at;
            pthread_attr_init(&at);
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&t, &at, s_conn_thread, (void *)(intptr_t)fd) != 0) {
                close(fd);
            }
            pthread_attr_destroy(&at);
        }
    }
    return NULL;
}

static double s_rand_one(void *arg)
{
    (void)arg;
    return 1.0;
}

static void s_fake_sleep(void *arg, long ms)
{
    (void)arg;
    if (s_n_delays < 16) {
        s_delays[s_n_delays++] = ms;
    }
}

static void s_clear_aws_env(void)
{
    for (bool again = true; again;) {
        again = false;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "AWS_", 4) == 0) {
                char name[128];
                snprintf(name, sizeof(name), "%.*s", (int)(strchr(*e, '=') - *e), *e);
                unsetenv(name);
                again = true;
                break;
            }
        }
    }
}

static int s_group_setup(void **state)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    char url[64];

    (void)state;
    pthread_mutex_init(&S.mu, NULL);
    S.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(S.listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(S.listen_fd, 16) != 0 ||
        getsockname(S.listen_fd, (struct sockaddr *)&a, &al) != 0) {
        return -1;
    }
    S.port = ntohs(a.sin_port);
    pthread_create(&S.thread, NULL, s_server, NULL);
    s_clear_aws_env();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "testsecretkey", 1);
    setenv("AWS_SESSION_TOKEN", "testsessiontoken", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("HSM2ACM_AWS_TIMEOUT_MS", "1500", 1);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    S.stop = 1;
    pthread_join(S.thread, NULL);
    close(S.listen_fd);
    s_clear_aws_env();
    return 0;
}

static inline H2A_AWS_CTX *s_ctx(void)
{
    H2A_AWS_CTX *ctx = NULL;

    s_reset_script();
    H2A_ASSERT_OK(h2a_aws_ctx_new(NULL, &ctx));
    h2a_aws_ctx_set_hooks(ctx, s_rand_one, s_fake_sleep, NULL);
    /* This server is plain HTTP on loopback; test_plain_http_refused checks the rule. */
    h2a_aws_ctx_allow_plain_http_secrets(ctx);
    return ctx;
}
