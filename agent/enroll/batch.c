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

#include "enroll/enroll_int.h"

/*
 * Batch scheduling: worker processes, each one H2A_WORKER, taking every
 * jobs-th line in groups of up to H2A_ENROLL_GROUP_MAX; results come back
 * over one pipe as "index\tresult\n" and are put in input order.
 * Processes, not threads: each worker has its own C_Initialize and login.
 */

static char *s_batch_error(size_t lineno, const char *id, h2a_err rv, const char *msg)
{
    json_object *o = json_object_new_object();
    char *res;

    json_object_object_add(o, "line", json_object_new_int64((int64_t)lineno));
    json_object_object_add(o, "id", id != NULL ? json_object_new_string(id) : NULL);
    json_object_object_add(o, "error", json_object_new_string(msg));
    json_object_object_add(o, "exit_code", json_object_new_int(h2a_err_exit_code(rv)));
    res = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return res;
}

static void s_batch_emit(int fd, size_t idx, char *res)
{
    FILE *f = fdopen(dup(fd), "w");

    if (f != NULL) {
        fprintf(f, "%zu\t%s\n", idx, res != NULL ? res : "{\"error\":\"out of memory\"}");
        fclose(f);
    }
    free(res);
}

/* Worker `w` of `jobs`: lines w, w+jobs, ...; writes "index\tresult\n" to fd. */
static void s_batch_worker(H2A_WORKER *wk, char *const *lines, size_t n, long w, long jobs,
                           int fd)
{
    size_t i = (size_t)w;

    while (i < n) {
        h2a_enroll_item items[H2A_ENROLL_GROUP_MAX];
        h2a_request *reqs[H2A_ENROLL_GROUP_MAX];
        size_t idx[H2A_ENROLL_GROUP_MAX], k = 0;

        /*
         * Requests taken together (h2a_enroll_group): one fsync per group at
         * each durable point. A group ends when full, or before a request id
         * it already holds.
         */
        for (; i < n && k < H2A_ENROLL_GROUP_MAX; i += (size_t)jobs) {
            h2a_request *req = NULL;
            h2a_err rv;
            bool dup = false;

            if (lines[i] == NULL) {
                continue;
            }
            h2a_err_clear();
            rv = h2a_request_parse(lines[i], strlen(lines[i]), &req);
            if (rv != H2A_OK) {
                s_batch_emit(fd, i, s_batch_error(i + 1, NULL, rv, h2a_err_msg()));
                continue;
            }
            for (size_t g = 0; g < k && !dup; g++) {
                dup = strcmp(reqs[g]->id, req->id) == 0;
            }
            if (dup) {
                h2a_request_free(req);
                break;
            }
            memset(&items[k], 0, sizeof(items[k]));
            items[k].req = req;
            h2a_buf_init(&items[k].out, 0);
            reqs[k] = req;
            idx[k++] = i;
        }
        h2a_enroll_group(wk, items, k);
        for (size_t g = 0; g < k; g++) {
            s_batch_emit(fd, idx[g],
                         items[g].rv == H2A_OK
                             ? strdup((const char *)items[g].out.data)
                             : s_batch_error(idx[g] + 1, reqs[g]->id, items[g].rv,
                                             items[g].error));
            h2a_buf_free(&items[g].out);
            h2a_request_free(reqs[g]);
        }
    }
}

/* The child: one worker for its lines, then _exit (never returns). */
static void s_child(const h2a_config *cfg, char *const *lines, size_t n, long w, long jobs,
                    int fd)
{
    H2A_WORKER *wk = NULL;

    /*
     * mlock is not inherited across fork(): remake the secure heap (empty at
     * this point) so key buffers are locked in the worker.
     */
    if (CRYPTO_secure_malloc_done() != 1 || h2a_secure_heap_init(1u << 20) != H2A_OK ||
        h2a_worker_new(cfg, true, &wk) != H2A_OK) {
        _exit(h2a_err_exit_code(H2A_ERR_INTERNAL));
    }
    s_batch_worker(wk, lines, n, w, jobs, fd);
    h2a_worker_free(wk);
    close(fd);
    _exit(0);
}

/* Read "index\tresult" lines until every worker has closed the pipe. */
static void s_collect(int fd, size_t n, char **results)
{
    FILE *in = fdopen(fd, "r");
    char *line = NULL;
    size_t cap = 0;

    while (in != NULL && getline(&line, &cap, in) > 0) {
        char *tab = strchr(line, '\t');
        size_t idx;

        if (tab == NULL) {
            continue;
        }
        *tab = '\0';
        idx = (size_t)strtoull(line, NULL, 10);
        if (idx < n && results[idx] == NULL) {
            tab[strcspn(tab + 1, "\n") + 1] = '\0';
            results[idx] = strdup(tab + 1);
        }
    }
    free(line);
    if (in != NULL) {
        fclose(in);
    } else {
        close(fd);
    }
}

/* The exit code: the first failing line's, in input order. */
static int s_code(char *const *lines, size_t n, char **results, int code)
{
    for (size_t i = 0; i < n; i++) {
        json_object *o, *ec = NULL;

        if (lines[i] == NULL && results[i] == NULL) {
            continue;
        }
        if (results[i] == NULL) {
            char buf[96];

            snprintf(buf, sizeof(buf),
                     "{\"line\":%zu,\"error\":\"worker died before answering\","
                     "\"exit_code\":1}", i + 1);
            results[i] = strdup(buf);
            code = code != 0 ? code : 1;
            continue;
        }
        o = json_tokener_parse(results[i]);
        if (code == 0 && o != NULL && json_object_object_get_ex(o, "exit_code", &ec)) {
            code = json_object_get_int(ec);
        }
        json_object_put(o);
    }
    return code;
}

char *h2a_enroll_batch_error(size_t lineno, const char *id, h2a_err rv)
{
    return s_batch_error(lineno, id, rv, h2a_err_msg());
}

int h2a_enroll_batch(const h2a_config *cfg, char *const *lines, size_t n, long jobs,
                     char **results)
{
    int fds[2];
    pid_t pids[64];
    long started = 0;
    int code = 0;

    if (jobs > 64) {
        jobs = 64;
    }
    if (pipe(fds) != 0) {
        h2a_err_set(H2A_ERR_INTERNAL, "pipe: %s", strerror(errno));
        return h2a_err_exit_code(H2A_ERR_INTERNAL);
    }
    fflush(stdout);
    fflush(stderr);
    for (long w = 0; w < jobs && (size_t)w < n; w++) {
        pid_t pid = fork();

        if (pid < 0) {
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            s_child(cfg, lines, n, w, jobs < (long)n ? jobs : (long)n, fds[1]);
        }
        pids[started++] = pid;
    }
    close(fds[1]);
    s_collect(fds[0], n, results);
    for (long w = 0; w < started; w++) {
        int st = 0;

        while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            code = code != 0 ? code : h2a_err_exit_code(H2A_ERR_INTERNAL);
        }
    }
    return s_code(lines, n, results, code);
}
