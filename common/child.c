/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The one way hsm2acm runs another program (issuer commands,
 * credential_process, later ACME and DNS hooks). Everything a child could
 * take from us that it should not is decided here, once: our environment
 * (AWS keys, a PIN from pin-source=env:), our descriptors (journal, token,
 * sockets), our terminal's stdin, unbounded time and unbounded output.
 */

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

#include <openssl/crypto.h>

#include "h2a_common.h"

/* What every child may see of our environment; callers add names to it. */
static const char *const s_env_keep[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
                                         NULL};

#define S_HIDE_MAX 8
#define S_ENV_MAX 64
#define S_NAME_MAX 128

/* Variables no child ever gets, whatever the allowlists say (the PIN's). */
static char s_hidden[S_HIDE_MAX][S_NAME_MAX];
static size_t s_n_hidden;

h2a_err h2a_child_hide_env(const char *name)
{
    H2A_ENSURE(name != NULL && name[0] != '\0' && strlen(name) < S_NAME_MAX, H2A_ERR_INPUT,
               "environment variable name: empty or too long");
    for (size_t i = 0; i < s_n_hidden; i++) {
        if (strcmp(s_hidden[i], name) == 0) {
            return H2A_OK;
        }
    }
    H2A_ENSURE(s_n_hidden < S_HIDE_MAX, H2A_ERR_INTERNAL, "too many hidden variables");
    snprintf(s_hidden[s_n_hidden++], S_NAME_MAX, "%s", name);
    return H2A_OK;
}

static bool s_hidden_name(const char *name)
{
    for (size_t i = 0; i < s_n_hidden; i++) {
        if (strcmp(s_hidden[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static long long s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Add NAME=value from our environment, unless hidden or unset. */
static h2a_err s_env_pass(const char *name, char **envp, size_t *n)
{
    const char *v = getenv(name);
    char *e;

    if (v == NULL || s_hidden_name(name)) {
        return H2A_OK;
    }
    H2A_ENSURE(*n + 1 < S_ENV_MAX, H2A_ERR_INTERNAL, "child environment: too many variables");
    if (asprintf(&e, "%s=%s", name, v) < 0) {
        return h2a_err_set(H2A_ERR_NOMEM, "child environment");
    }
    envp[(*n)++] = e;
    return H2A_OK;
}

/* Built before fork: the child only calls async-signal-safe functions. */
static h2a_err s_envp(const h2a_child_spec *spec, char **envp)
{
    size_t n = 0;

    for (size_t i = 0; s_env_keep[i] != NULL; i++) {
        H2A_GUARD(s_env_pass(s_env_keep[i], envp, &n));
    }
    for (size_t i = 0; spec->env_pass != NULL && spec->env_pass[i] != NULL; i++) {
        H2A_GUARD(s_env_pass(spec->env_pass[i], envp, &n));
    }
    for (size_t i = 0; spec->env_set != NULL && spec->env_set[i] != NULL; i++) {
        H2A_ENSURE(n + 1 < S_ENV_MAX, H2A_ERR_INTERNAL, "child environment: too many");
        envp[n] = strdup(spec->env_set[i]);
        if (envp[n++] == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "child environment");
        }
    }
    envp[n] = NULL;
    return H2A_OK;
}

static void s_envp_free(char **envp)
{
    for (size_t i = 0; i < S_ENV_MAX && envp[i] != NULL; i++) {
        free(envp[i]);
    }
}

static void s_child(const h2a_child_spec *spec, char **envp, int in_fd, int out_fd, int err_fd)
{
    /* Its own process group: a timeout kills whatever it started too. */
    (void)setpgid(0, 0);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || (err_fd >= 0 && dup2(err_fd, 2) < 0)) {
        _exit(127);
    }
    /* No descriptor of ours (journal, token, sockets) crosses over. */
    if (close_range(3, ~0u, 0) != 0) {
        for (int fd = 3; fd < 4096; fd++) {
            (void)close(fd);
        }
    }
    signal(SIGPIPE, SIG_DFL);
    if (spec->search_path) {
        execvpe(spec->argv[0], (char *const *)spec->argv, envp);
    } else {
        execve(spec->argv[0], (char *const *)spec->argv, envp);
    }
    dprintf(2, "cannot execute %s: %s\n", spec->argv[0], strerror(errno));
    _exit(127);
}

struct s_io {
    int in_w, out_r, err_r;
    size_t written;
};

static void s_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* One readable descriptor: into `b` (stdout) or the capped stderr buffer. */
static h2a_err s_read(int *fd, h2a_buf *b, bool capped, h2a_child_result *res)
{
    unsigned char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return H2A_OK;
    }
    if (n <= 0) {
        s_close(fd);
        return H2A_OK;
    }
    if (b != NULL && capped) {
        /* One byte stays free for the caller's terminator. */
        size_t room = b->limit > b->len + 1 ? b->limit - b->len - 1 : 0;

        if (room > 0) {
            H2A_GUARD(h2a_buf_append(b, chunk, (size_t)n < room ? (size_t)n : room));
        }
    } else if (b != NULL && h2a_buf_append(b, chunk, (size_t)n) != H2A_OK) {
        h2a_err_clear();
        res->overflow = true;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    return H2A_OK;
}

/* Feed stdin, drain stdout/stderr, until both close, time runs out or output overflows. */
static h2a_err s_pump(const h2a_child_spec *spec, struct s_io *io, h2a_buf *out, h2a_buf *err,
                      h2a_child_result *res)
{
    long long deadline = s_now_ms() + spec->timeout_ms;

    while ((io->out_r >= 0 || io->err_r >= 0) && !res->overflow) {
        struct pollfd p[3];
        int np = 0, rc;
        long long left = deadline - s_now_ms();

        if (left <= 0) {
            res->timed_out = true;
            break;
        }
        if (io->in_w >= 0) {
            p[np++] = (struct pollfd){.fd = io->in_w, .events = POLLOUT};
        }
        if (io->out_r >= 0) {
            p[np++] = (struct pollfd){.fd = io->out_r, .events = POLLIN};
        }
        if (io->err_r >= 0) {
            p[np++] = (struct pollfd){.fd = io->err_r, .events = POLLIN};
        }
        rc = poll(p, (nfds_t)np, (int)(left > 1000 ? 1000 : left));
        if (rc < 0 && errno != EINTR) {
            return h2a_err_set(H2A_ERR_INTERNAL, "%s: poll: %s", spec->argv[0],
                               strerror(errno));
        }
        for (int i = 0; rc > 0 && i < np; i++) {
            if (p[i].revents == 0) {
                continue;
            }
            if (p[i].fd == io->in_w) {
                ssize_t n = write(io->in_w, (const char *)spec->in + io->written,
                                  spec->in_len - io->written);

                io->written += n > 0 ? (size_t)n : 0;
                if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                    io->written == spec->in_len) {
                    s_close(&io->in_w); /* EOF, or EPIPE: the program ignores stdin */
                }
            } else if (p[i].fd == io->out_r) {
                H2A_GUARD(s_read(&io->out_r, out, false, res));
            } else {
                H2A_GUARD(s_read(&io->err_r, err, true, res));
            }
        }
    }
    return H2A_OK;
}

static h2a_err s_pipes(const h2a_child_spec *spec, int in[2], int out[2], int err[2])
{
    if (spec->in != NULL) {
        if (pipe2(in, O_CLOEXEC) != 0) {
            return h2a_err_set(H2A_ERR_INTERNAL, "pipe: %s", strerror(errno));
        }
    } else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "/dev/null: %s", strerror(errno));
    }
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "pipe: %s", strerror(errno));
    }
    return H2A_OK;
}

static void s_wait(pid_t pid, h2a_child_result *res)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    res->exited = WIFEXITED(status);
    res->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

h2a_err h2a_child_run(const h2a_child_spec *spec, h2a_buf *out, h2a_buf *err,
                      h2a_child_result *res)
{
    char *envp[S_ENV_MAX] = {0};
    int in[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    struct s_io io = {-1, -1, -1, 0};
    pid_t pid;
    h2a_err rv;

    memset(res, 0, sizeof(*res));
    H2A_ENSURE(spec->argv != NULL && spec->argv[0] != NULL && spec->timeout_ms > 0,
               H2A_ERR_INTERNAL, "child: no program or no timeout");
    rv = s_envp(spec, envp);
    if (rv == H2A_OK) {
        rv = s_pipes(spec, in, po, pe);
    }
    if (rv != H2A_OK) {
        goto done;
    }
    pid = fork();
    if (pid < 0) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "%s: fork: %s", spec->argv[0], strerror(errno));
        goto done;
    }
    if (pid == 0) {
        s_child(spec, envp, in[0], po[1], spec->stderr_inherit ? -1 : pe[1]);
    }
    s_close(&in[0]);
    s_close(&po[1]);
    s_close(&pe[1]);
    io.in_w = in[1];
    io.out_r = po[0];
    io.err_r = pe[0];
    in[1] = po[0] = pe[0] = -1;
    if (io.in_w >= 0) {
        (void)fcntl(io.in_w, F_SETFL, O_NONBLOCK);
    }
    rv = s_pump(spec, &io, out, err, res);
    if (rv != H2A_OK || res->timed_out || res->overflow) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    s_close(&io.in_w);
    s_close(&io.out_r);
    s_close(&io.err_r);
    s_wait(pid, res);
done:
    for (int i = 0; i < 2; i++) {
        s_close(&in[i]);
        s_close(&po[i]);
        s_close(&pe[i]);
    }
    s_envp_free(envp);
    return rv;
}
