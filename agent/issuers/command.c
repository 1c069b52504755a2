/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "issuers/h2a_issuer.h"

#define H2A_ISSUER_OUT_MAX (1u << 20) /* a PEM chain is a few KiB */
#define H2A_ISSUER_ERR_MAX 2048

static long long s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * An issuer is someone else's program: it gets an allowlisted environment,
 * never ours wholesale, which may hold AWS secret keys, session tokens or
 * the token PIN (pin-source=env:NAME).
 */
static const char *const s_env_keep[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
                                         NULL};

static void s_exec_clean_env(const h2a_issue_ctx *ctx)
{
    static char vars[9][1024];
    char *envp[10];
    size_t n = 0;

    for (size_t i = 0; s_env_keep[i] != NULL; i++) {
        const char *v = getenv(s_env_keep[i]);

        if (v != NULL && (size_t)snprintf(vars[n], sizeof(vars[n]), "%s=%s", s_env_keep[i], v)
                             < sizeof(vars[n])) {
            envp[n] = vars[n];
            n++;
        }
    }
    snprintf(vars[n], sizeof(vars[n]), "HSM2ACM_REQUEST_ID=%s",
             ctx->request_id != NULL ? ctx->request_id : "");
    envp[n] = vars[n];
    n++;
    snprintf(vars[n], sizeof(vars[n]), "HSM2ACM_REQUESTER=%s",
             ctx->requester != NULL ? ctx->requester : "");
    envp[n] = vars[n];
    n++;
    snprintf(vars[n], sizeof(vars[n]), "HSM2ACM_ISSUER=%s", ctx->conf->name);
    envp[n] = vars[n];
    n++;
    envp[n] = NULL;
    execve(ctx->conf->argv[0], ctx->conf->argv, envp);
}

static void s_child(const h2a_issue_ctx *ctx, int in_fd, int out_fd, int err_fd)
{
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
        _exit(127);
    }
    /* The child sees no descriptor of ours (journal, token, sockets). */
    for (int fd = 3; fd < 1024; fd++) {
        (void)close(fd);
    }
    signal(SIGPIPE, SIG_DFL);
    s_exec_clean_env(ctx);
    dprintf(2, "cannot execute %s: %s", ctx->conf->argv[0], strerror(errno));
    _exit(127);
}

/* Pump stdin/stdout/stderr until the child closes them or time runs out. */
static h2a_err s_pump(const h2a_issue_ctx *ctx, int in_w, int out_r, int err_r,
                      const h2a_buf *csr, h2a_buf *out, h2a_buf *err, bool *timed_out)
{
    long long deadline = s_now_ms() + ctx->conf->timeout_seconds * 1000LL;
    size_t written = 0;
    char chunk[4096];

    *timed_out = false;
    while (out_r >= 0 || err_r >= 0) {
        struct pollfd p[3];
        int np = 0, rc;
        long long left = deadline - s_now_ms();

        if (left <= 0) {
            *timed_out = true;
            break;
        }
        if (in_w >= 0) {
            p[np++] = (struct pollfd){.fd = in_w, .events = POLLOUT};
        }
        if (out_r >= 0) {
            p[np++] = (struct pollfd){.fd = out_r, .events = POLLIN};
        }
        if (err_r >= 0) {
            p[np++] = (struct pollfd){.fd = err_r, .events = POLLIN};
        }
        rc = poll(p, (nfds_t)np, (int)(left > 1000 ? 1000 : left));
        if (rc < 0 && errno != EINTR) {
            return h2a_err_set(H2A_ERR_ISSUER, "issuers.%s: poll: %s",
                               ctx->conf->name, strerror(errno));
        }
        for (int i = 0; rc > 0 && i < np; i++) {
            ssize_t n;

            if (p[i].revents == 0) {
                continue;
            }
            if (p[i].fd == in_w) {
                n = write(in_w, csr->data + written, csr->len - written);
                if (n > 0) {
                    written += (size_t)n;
                }
                if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                    written == csr->len) {
                    close(in_w); /* EOF (or EPIPE: the program ignores stdin) */
                    in_w = -1;
                }
                continue;
            }
            n = read(p[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                if (p[i].fd == out_r) {
                    close(out_r);
                    out_r = -1;
                } else {
                    close(err_r);
                    err_r = -1;
                }
                continue;
            }
            if (p[i].fd == out_r) {
                if (h2a_buf_append(out, chunk, (size_t)n) != H2A_OK) {
                    return h2a_err_set(H2A_ERR_ISSUER,
                                       "issuers.%s: printed more than %u bytes",
                                       ctx->conf->name, H2A_ISSUER_OUT_MAX);
                }
            } else if (err->len + (size_t)n <= H2A_ISSUER_ERR_MAX &&
                       h2a_buf_append(err, chunk, (size_t)n) != H2A_OK) {
                h2a_err_clear(); /* stderr is only for the message */
            }
        }
    }
    if (in_w >= 0) {
        close(in_w);
    }
    if (out_r >= 0) {
        close(out_r);
    }
    if (err_r >= 0) {
        close(err_r);
    }
    return H2A_OK;
}

/* Last line of what the program wrote to stderr, for the error message. */
static const char *s_err_tail(h2a_buf *err)
{
    char *s, *nl;

    if (h2a_buf_terminate(err) != H2A_OK || err->len == 0) {
        return "";
    }
    s = (char *)err->data;
    while (err->len > 0 && (s[err->len - 1] == '\n' || s[err->len - 1] == '\r')) {
        s[--err->len] = '\0';
    }
    nl = strrchr(s, '\n');
    return nl != NULL ? nl + 1 : s;
}

static h2a_err s_command(const h2a_issue_ctx *ctx, X509_REQ *csr, X509 **leaf,
                         STACK_OF(X509) **chain)
{
    h2a_err rv = H2A_OK;
    h2a_buf in, out, err;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    pid_t pid = -1;
    int status = 0;
    bool timed_out = false;
    char who[128];

    *leaf = NULL;
    *chain = NULL;
    snprintf(who, sizeof(who), "issuers.%s (%s)", ctx->conf->name, ctx->conf->argv[0]);
    h2a_buf_init(&in, 0);
    h2a_buf_init(&out, H2A_ISSUER_OUT_MAX);
    h2a_buf_init(&err, H2A_ISSUER_ERR_MAX + 1);
    rv = h2a_issuer_pem(NULL, csr, &in);
    if (rv != H2A_OK) {
        goto done;
    }
    if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
        pipe2(perr, O_CLOEXEC) != 0) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: pipe: %s", who, strerror(errno));
        goto done;
    }
    pid = fork();
    if (pid < 0) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: fork: %s", who, strerror(errno));
        goto done;
    }
    if (pid == 0) {
        s_child(ctx, pin[0], pout[1], perr[1]);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    pin[0] = pout[1] = perr[1] = -1;
    (void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
    rv = s_pump(ctx, pin[1], pout[0], perr[0], &in, &out, &err, &timed_out);
    pin[1] = pout[0] = perr[0] = -1; /* closed by s_pump */
    if (rv != H2A_OK || timed_out) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    if (rv != H2A_OK) {
        goto done;
    }
    if (timed_out) {
        rv = h2a_err_set(H2A_ERR_ISSUER, "%s: no answer within timeout_seconds=%lld "
                         "(killed)", who, ctx->conf->timeout_seconds);
        goto done;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *tail = s_err_tail(&err);

        if (WIFEXITED(status)) {
            rv = h2a_err_set(H2A_ERR_ISSUER, "%s: exited with status %d%s%s", who,
                             WEXITSTATUS(status), tail[0] ? ": " : "", tail);
        } else {
            rv = h2a_err_set(H2A_ERR_ISSUER, "%s: killed by signal %d", who,
                             WTERMSIG(status));
        }
        goto done;
    }
    rv = h2a_issuer_parse_pem_chain(who, (const char *)out.data, out.len, leaf, chain);
done:
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0) {
            close(pin[i]);
        }
        if (pout[i] >= 0) {
            close(pout[i]);
        }
        if (perr[i] >= 0) {
            close(perr[i]);
        }
    }
    h2a_buf_free(&in);
    h2a_buf_free(&out);
    h2a_buf_free(&err);
    return rv;
}

/* A command answers on stdout before it exits: it completes at once. */
static h2a_err s_submit(const h2a_issue_ctx *ctx, X509_REQ *csr, h2a_issue_result *res)
{
    H2A_GUARD(s_command(ctx, csr, &res->leaf, &res->chain));
    res->done = true;
    return H2A_OK;
}

const h2a_issuer_ops h2a_issuer_command_ops = {"command", s_submit, NULL};
