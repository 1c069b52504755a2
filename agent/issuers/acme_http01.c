/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * http-01 solvers. The responder answers only for the tokens of the order
 * being solved, and exists only while hsm2acm waits for validation, so a
 * port 80 it binds is not left serving anything afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/h2a_jv.h"
#include "issuers/acme_int.h"

#define H2A_ACME_TOKENS 64
#define H2A_ACME_PREFIX "/.well-known/acme-challenge/"

struct h2a_acme_responder {
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t mu;
    char *tokens[H2A_ACME_TOKENS];
    char *auths[H2A_ACME_TOKENS];
    size_t n;
};

static void s_answer(h2a_acme_responder *s, int c)
{
    char req[2048], path[512], out[2048];
    ssize_t n = recv(c, req, sizeof(req) - 1, 0);
    const char *body = NULL;
    int len;

    if (n <= 0) {
        return;
    }
    req[n] = '\0';
    if (sscanf(req, "GET %511s HTTP/", path) == 1 &&
        strncmp(path, H2A_ACME_PREFIX, strlen(H2A_ACME_PREFIX)) == 0) {
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->n; i++) {
            if (strcmp(path + strlen(H2A_ACME_PREFIX), s->tokens[i]) == 0) {
                body = s->auths[i];
            }
        }
        if (body != NULL) {
            len = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (body == NULL) {
        len = snprintf(out, sizeof(out), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n");
    }
    if (len > 0 && (size_t)len < sizeof(out)) {
        (void)!send(c, out, (size_t)len, MSG_NOSIGNAL);
    }
}

static void *s_loop(void *arg)
{
    h2a_acme_responder *s = arg;
    struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};

    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        if (p[1].revents != 0) {
            break;
        }
        if (p[0].revents & POLLIN) {
            int c = accept(s->fd, NULL, NULL);
            struct timeval tv = {5, 0};

            if (c >= 0) {
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                s_answer(s, c);
                close(c);
            }
        }
    }
    return NULL;
}

static h2a_err s_bind(const char *host, int port, int *fd_out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1, fd;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in);
    } else {
        H2A_ENSURE(inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1,
                   H2A_ERR_INPUT, "http-01 listen: '%s' is not an IP address", host);
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in6);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    H2A_ENSURE(fd >= 0, H2A_ERR_ISSUER, "http-01 responder: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 16) != 0) {
        int e = errno;

        close(fd);
        return h2a_err_set(H2A_ERR_ISSUER, "http-01 responder: cannot listen on %s:%d: %s",
                           host, port, strerror(e));
    }
    *fd_out = fd;
    return H2A_OK;
}

h2a_err h2a_acme_responder_start(const char *host, int port, h2a_acme_responder **out)
{
    h2a_acme_responder *s = calloc(1, sizeof(*s));
    h2a_err rv;

    H2A_ENSURE(s != NULL, H2A_ERR_NOMEM, "responder");
    s->fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    rv = s_bind(host, port, &s->fd);
    if (rv == H2A_OK && pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "responder pipe: %s", strerror(errno));
    } else if (rv == H2A_OK && pthread_create(&s->thread, NULL, s_loop, s) != 0) {
        close(s->stop_pipe[0]);
        close(s->stop_pipe[1]);
        rv = h2a_err_set(H2A_ERR_INTERNAL, "responder thread");
    }
    if (rv != H2A_OK) {
        if (s->fd >= 0) {
            close(s->fd);
        }
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rv;
    }
    *out = s;
    return H2A_OK;
}

h2a_err h2a_acme_responder_add(h2a_acme_responder *s, const char *token, const char *key_auth)
{
    h2a_err rv = H2A_OK;

    pthread_mutex_lock(&s->mu);
    if (s->n == H2A_ACME_TOKENS) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "http-01 responder: more than %d tokens",
                         H2A_ACME_TOKENS);
    } else if ((s->tokens[s->n] = strdup(token)) == NULL ||
               (s->auths[s->n] = strdup(key_auth)) == NULL) {
        free(s->tokens[s->n]);
        rv = h2a_err_set(H2A_ERR_NOMEM, "responder");
    } else {
        s->n++;
    }
    pthread_mutex_unlock(&s->mu);
    return rv;
}

void h2a_acme_responder_stop(h2a_acme_responder *s)
{
    if (s == NULL) {
        return;
    }
    (void)!write(s->stop_pipe[1], "x", 1);
    pthread_join(s->thread, NULL);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    close(s->fd);
    for (size_t i = 0; i < s->n; i++) {
        free(s->tokens[i]);
        free(s->auths[i]);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Tokens are base64url (RFC 8555 8.1): anything else could walk out of the webroot. */
bool h2a_acme_token_ok(const char *t)
{
    return t[0] != '\0' && strlen(t) < 256 && h2a_jv_charset_ok(t, "-_");
}

h2a_err h2a_acme_webroot_put(const char *webroot, const char *token, const char *key_auth)
{
    char path[4600];
    FILE *f;

    H2A_ENSURE(h2a_acme_token_ok(token), H2A_ERR_ISSUER, "http-01: the server's token is not "
               "base64url");
    snprintf(path, sizeof(path), "%s/.well-known", webroot);
    (void)mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", webroot);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return h2a_err_set(H2A_ERR_ISSUER, "http-01 webroot: %s: %s", path, strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", webroot, token);
    f = fopen(path, "w");
    H2A_ENSURE(f != NULL, H2A_ERR_ISSUER, "http-01 webroot: %s: %s", path, strerror(errno));
    fputs(key_auth, f);
    if (fclose(f) != 0) {
        unlink(path);
        return h2a_err_set(H2A_ERR_ISSUER, "http-01 webroot: %s: write failed", path);
    }
    (void)chmod(path, 0644);
    return H2A_OK;
}

void h2a_acme_webroot_remove(const char *webroot, const char *token)
{
    char path[4600];

    if (h2a_acme_token_ok(token)) {
        snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", webroot, token);
        (void)unlink(path);
    }
}
