/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "renew/renew_int.h"

/*
 * `renew --jobs N`: N worker processes, as `enroll --batch --jobs N` has
 * (each its own token login, AWS connections and journal connection);
 * worker w takes renewals w, w+N, ... in groups of 8 (h2a_renew_groups). Each result line
 * goes through one pipe as "index\tline", one write per line (below
 * PIPE_BUF for any result, so lines of two workers never interleave).
 */

static void s_emit_line(int fd, size_t idx, const char *line, size_t len)
{
    FILE *f = fdopen(dup(fd), "w");

    if (f != NULL) {
        fprintf(f, "%zu\t%.*s\n", idx, (int)len, line);
        fclose(f);
    }
}

struct s_emit {
    int fd;
    const size_t *idx;
};

/* A group's lines, each under its renewal's index in the whole list. */
static void s_emit_group(void *arg, size_t first, size_t k, const h2a_buf *lines)
{
    const struct s_emit *e = arg;
    const char *p = (const char *)lines->data;
    const char *end = p + lines->len;

    for (size_t m = 0; m < k && p != NULL && p < end; m++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

        s_emit_line(e->fd, e->idx[first + m], p, len);
        p = nl != NULL ? nl + 1 : end;
    }
}

static void s_child(const h2a_config *cfg, h2a_renew_cand **todo, size_t n, size_t w,
                    size_t jobs, int fd)
{
    H2A_WORKER *wk = NULL;
    h2a_renew_cand **mine = calloc(n / jobs + 1, sizeof(*mine));
    size_t *idx = calloc(n / jobs + 1, sizeof(*idx)), k = 0;
    struct s_emit e = {fd, idx};

    /* mlock is not inherited across fork(): remake the (still empty) secure heap. */
    if (mine == NULL || idx == NULL || CRYPTO_secure_malloc_done() != 1 ||
        h2a_secure_heap_init(1u << 20) != H2A_OK || h2a_worker_new(cfg, true, &wk) != H2A_OK) {
        _exit(h2a_err_exit_code(H2A_ERR_INTERNAL));
    }
    for (size_t i = w; i < n; i += jobs) {
        mine[k] = todo[i];
        idx[k++] = i;
    }
    (void)h2a_renew_groups(cfg, wk, mine, k, s_emit_group, &e);
    h2a_worker_free(wk);
    free(mine);
    free(idx);
    close(fd);
    _exit(0);
}

/* Lines by index; a renewal no worker answered for is an error line of its own. */
static int s_gather(int fd, h2a_renew_cand **todo, size_t n, h2a_buf *out)
{
    char **res = calloc(n + 1, sizeof(*res));
    FILE *in = fdopen(fd, "r");
    char *line = NULL;
    size_t cap = 0;
    int worst = 0;

    while (res != NULL && in != NULL && getline(&line, &cap, in) > 0) {
        char *tab = strchr(line, '\t');
        size_t i = (size_t)strtoull(line, NULL, 10);

        if (tab != NULL && i < n && res[i] == NULL) {
            tab[strcspn(tab + 1, "\n") + 1] = '\0';
            res[i] = strdup(tab + 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_object *o = res != NULL && res[i] != NULL ? json_tokener_parse(res[i]) : NULL;
        json_object *ec = NULL;
        int code = o == NULL ? h2a_err_exit_code(H2A_ERR_INTERNAL) : 0;

        if (o != NULL && json_object_object_get_ex(o, "exit_code", &ec)) {
            code = json_object_get_int(ec);
        }
        if ((o == NULL ? h2a_buf_printf(out, "{\"request_id\":\"%s\",\"renewal_id\":\"%s\","
                                             "\"error\":\"worker died before answering\","
                                             "\"exit_code\":%d}\n",
                                        todo[i]->jr->id, todo[i]->new_id, code)
                       : h2a_buf_printf(out, "%s\n", res[i])) != H2A_OK) {
            code = h2a_err_exit_code(H2A_ERR_NOMEM);
        }
        worst = code > worst ? code : worst;
        json_object_put(o);
        free(res != NULL ? res[i] : NULL);
    }
    free(line);
    free(res);
    if (in != NULL) {
        fclose(in);
    } else {
        close(fd);
    }
    return worst;
}

h2a_err h2a_renew_jobs(const h2a_config *cfg, h2a_renew_cand **todo, size_t n, long jobs,
                       h2a_buf *out, int *worst)
{
    pid_t pids[64];
    size_t started = 0, nj = (size_t)jobs < n ? (size_t)jobs : n;
    int fds[2];

    if (pipe(fds) != 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "pipe: %s", strerror(errno));
    }
    fflush(stdout);
    fflush(stderr);
    for (size_t w = 0; w < nj && w < 64; w++) {
        pid_t pid = fork();

        if (pid < 0) {
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            s_child(cfg, todo, n, w, nj, fds[1]);
        }
        pids[started++] = pid;
    }
    close(fds[1]);
    *worst = s_gather(fds[0], todo, n, out);
    for (size_t w = 0; w < started; w++) {
        int st = 0;

        while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {
        }
        if ((!WIFEXITED(st) || WEXITSTATUS(st) != 0) && *worst == 0) {
            *worst = h2a_err_exit_code(H2A_ERR_INTERNAL);
        }
    }
    return H2A_OK;
}
