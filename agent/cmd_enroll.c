/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "config/h2a_config.h"
#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"

static void s_help(const char *cmd)
{
    if (strcmp(cmd, "enroll") == 0) {
        printf("Usage: hsm2acm enroll [--config FILE] REQUEST.json\n"
               "       hsm2acm enroll [--config FILE] --batch FILE.jsonl [--jobs N]\n\n"
               "Run an enrollment request end to end: validate and check policy,\n"
               "generate the key in the token, sign the CSR there, have it issued,\n"
               "verify, stage the wrapped key in Secrets Manager, import into ACM\n"
               "(new or reimport), delete the staging secret. Each step is journaled;\n"
               "the same request again continues an interrupted run.\n"
               "Prints {\"id\", \"targets\":[{region, account, certificate_arn, serial,\n"
               "not_after, key_id, kcv, timings_ms}]} on stdout.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n"
               "  --batch FILE   one request per line (JSON lines); prints one result\n"
               "                 line per request, in input order: the output above, or\n"
               "                 {\"line\", \"id\", \"error\", \"exit_code\"}; exits with the\n"
               "                 first failing request's code\n"
               "  --jobs N       worker processes for --batch (1..64, default 1); each\n"
               "                 has its own token login and AWS connections\n\n");
    } else if (strcmp(cmd, "resume") == 0) {
        printf("Usage: hsm2acm resume [--config FILE] REQUEST_ID\n\n"
               "Continue an interrupted enrollment from its journal: no second key,\n"
               "no second staging secret, no duplicate import.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n\n");
    } else {
        printf("Usage: hsm2acm sweep [--config FILE]\n\n"
               "Delete staging secrets past their TTL (only those whose tags say\n"
               "hsm2acm made them), list token keys no journal entry knows, and list\n"
               "failed deliveries. Prints JSON.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n\n");
    }
    printf("%s", h2a_cli_exit_codes);
}

struct s_opts {
    const char *config;
    const char *batch;
    long jobs;
};

/* Parse options; *pos gets the index of the first positional argument. */
static int s_opts(int argc, char **argv, struct s_opts *o, int *pos, int npos)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool is_enroll = strcmp(argv[0], "enroll") == 0;
    bool jobs_given = false;
    char *end = NULL;
    int c;

    optind = 1;
    memset(o, 0, sizeof(*o));
    o->jobs = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'b':
        case 'j':
            if (!is_enroll) {
                return h2a_cli_usage_error(argv[0], "--batch and --jobs are enroll options");
            }
            if (c == 'b') {
                o->batch = optarg;
                break;
            }
            jobs_given = true;
            o->jobs = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || o->jobs < 1 || o->jobs > 64) {
                return h2a_cli_usage_error(argv[0], "--jobs: '%s' is not 1..64", optarg);
            }
            break;
        case 'h':
            s_help(argv[0]);
            return 0;
        default:
            return h2a_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (o->batch != NULL) {
        npos = 0;
    } else if (jobs_given) {
        /* Accepted and ignored would let a user believe a run was parallel. */
        return h2a_cli_usage_error(argv[0], "--jobs needs --batch (one request runs in "
                                            "one process)");
    }
    if (argc - optind != npos) {
        return h2a_cli_usage_error(argv[0], npos == 0 ? (o->batch != NULL
                                                            ? "--batch takes no REQUEST.json"
                                                            : "takes no arguments")
                                   : is_enroll ? "expects one REQUEST.json"
                                               : "expects one REQUEST_ID");
    }
    *pos = optind;
    return -1;
}

static int s_print(const char *cmd, h2a_err rv, h2a_buf *out)
{
    if (rv != H2A_OK) {
        h2a_buf_free(out);
        return h2a_cli_fail(cmd, rv);
    }
    printf("%s\n", (const char *)out->data);
    h2a_buf_free(out);
    return 0;
}

/* ------------------------------------------------------------------ */
/* --batch: worker processes, results in input order                   */
/* ------------------------------------------------------------------ */

#define H2A_BATCH_LINE_MAX (256u * 1024u)

struct s_line {
    char *text;  /* the request line; NULL for blank lines */
    char *result;
    long nul_at; /* offset of a NUL byte in the line, or -1 */
};

/* A failed request's result line (no newline). */
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
static void s_batch_worker(const h2a_config *cfg, struct s_line *lines, size_t n, long w,
                           long jobs, int fd)
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

            if (lines[i].text == NULL) {
                continue;
            }
            h2a_err_clear();
            if (lines[i].nul_at >= 0) {
                rv = h2a_err_set(H2A_ERR_INPUT, "request: a NUL byte at column %ld (JSON "
                                 "text has none)", lines[i].nul_at + 1);
                s_batch_emit(fd, i, s_batch_error(i + 1, NULL, rv, h2a_err_msg()));
                continue;
            }
            rv = h2a_request_parse(lines[i].text, strlen(lines[i].text), &req);
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
        h2a_enroll_group(cfg, items, k);
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

static h2a_err s_batch_read(const char *path, struct s_line **out, size_t *n_out)
{
    h2a_buf b;
    struct s_line *lines = NULL;
    size_t n = 0, cap = 0;
    char *p, *nl, *end;
    h2a_err rv;

    h2a_buf_init(&b, 64u * 1024u * 1024u);
    rv = h2a_file_read(path, &b);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&b);
    }
    /*
     * Split by hand, by length: blank lines keep their number (errors name
     * the line), and a NUL byte ends only its own line, as an error line.
     */
    end = rv == H2A_OK ? (char *)b.data + b.len : NULL;
    for (p = rv == H2A_OK ? (char *)b.data : NULL; p != NULL && p < end; p = nl) {
        struct s_line *grown;
        char *zero;
        bool blank;

        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            nl = end;
        }
        *nl++ = '\0';
        zero = strchr(p, '\0') < nl - 1 ? strchr(p, '\0') : NULL;
        blank = zero == NULL && strspn(p, " \t\r") == strlen(p);
        if (n == cap) {
            cap = cap == 0 ? 64 : cap * 2;
            grown = realloc(lines, cap * sizeof(*lines));
            if (grown == NULL) {
                rv = h2a_err_set(H2A_ERR_NOMEM, "batch");
                break;
            }
            lines = grown;
        }
        lines[n].text = blank ? NULL : strdup(p);
        lines[n].result = NULL;
        lines[n].nul_at = zero != NULL ? (long)(zero - p) : -1;
        n++;
    }
    h2a_buf_free(&b);
    if (rv != H2A_OK) {
        for (size_t i = 0; i < n; i++) {
            free(lines[i].text);
        }
        free(lines);
        return rv;
    }
    *out = lines;
    *n_out = n;
    return H2A_OK;
}

static int s_batch(const char *cmd, const h2a_config *cfg, const char *path, long jobs)
{
    struct s_line *lines = NULL;
    size_t n = 0;
    int fds[2];
    pid_t pids[64];
    long started = 0;
    int code = 0;
    FILE *in;
    char *line = NULL;
    size_t cap = 0;
    h2a_err rv;

    rv = s_batch_read(path, &lines, &n);
    if (rv != H2A_OK) {
        return h2a_cli_fail(cmd, rv);
    }
    if (pipe(fds) != 0) {
        return h2a_cli_fail(cmd, h2a_err_set(H2A_ERR_INTERNAL, "pipe: %s", strerror(errno)));
    }
    fflush(stdout);
    fflush(stderr);
    /* Processes, not threads: each worker has its own C_Initialize and login. */
    for (long w = 0; w < jobs && (size_t)w < n; w++) {
        pid_t pid = fork();

        if (pid < 0) {
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            /*
             * mlock is not inherited across fork(): remake the secure heap
             * (empty at this point) so key buffers are locked in the worker.
             */
            if (CRYPTO_secure_malloc_done() != 1 ||
                h2a_secure_heap_init(1u << 20) != H2A_OK) {
                _exit(h2a_err_exit_code(H2A_ERR_INTERNAL));
            }
            h2a_enroll_keep_token(true);
            s_batch_worker(cfg, lines, n, w, jobs < (long)n ? jobs : (long)n, fds[1]);
            h2a_enroll_keep_token(false);
            close(fds[1]);
            _exit(0);
        }
        pids[started++] = pid;
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    while (in != NULL && getline(&line, &cap, in) > 0) {
        char *tab = strchr(line, '\t');
        size_t idx;

        if (tab == NULL) {
            continue;
        }
        *tab = '\0';
        idx = (size_t)strtoull(line, NULL, 10);
        if (idx < n && lines[idx].result == NULL) {
            tab[strcspn(tab + 1, "\n") + 1] = '\0';
            lines[idx].result = strdup(tab + 1);
        }
    }
    free(line);
    if (in != NULL) {
        fclose(in);
    }
    for (long w = 0; w < started; w++) {
        int st = 0;

        while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            code = code != 0 ? code : h2a_err_exit_code(H2A_ERR_INTERNAL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (lines[i].text == NULL) {
            continue;
        }
        if (lines[i].result == NULL) {
            printf("{\"line\":%zu,\"error\":\"worker died before answering\",\"exit_code\":1}\n",
                   i + 1);
            code = code != 0 ? code : 1;
        } else {
            json_object *o = json_tokener_parse(lines[i].result), *ec = NULL;

            printf("%s\n", lines[i].result);
            if (code == 0 && o != NULL && json_object_object_get_ex(o, "exit_code", &ec)) {
                code = json_object_get_int(ec);
            }
            json_object_put(o);
        }
        free(lines[i].text);
        free(lines[i].result);
    }
    free(lines);
    return code;
}

int h2a_cmd_enroll(int argc, char **argv)
{
    struct s_opts o;
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_request *req = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &o, &pos, 1);
    if (code >= 0) {
        return code;
    }
    config = o.config;
    if (o.batch != NULL) {
        signal(SIGPIPE, SIG_IGN);
        rv = h2a_config_load(config, &cfg);
        if (rv != H2A_OK) {
            return h2a_cli_fail(argv[0], rv);
        }
        code = s_batch(argv[0], cfg, o.batch, o.jobs);
        h2a_config_free(cfg);
        return code;
    }
    /* Issuer commands may close their stdin early: EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    h2a_buf_init(&out, 0);
    rv = h2a_config_load(config, &cfg);
    if (rv == H2A_OK) {
        rv = h2a_request_load(argv[pos], &req);
    }
    if (rv == H2A_OK) {
        rv = h2a_enroll_run(cfg, req, NULL, &out);
    }
    h2a_request_free(req);
    h2a_config_free(cfg);
    return s_print(argv[0], rv, &out);
}

int h2a_cmd_resume(int argc, char **argv)
{
    struct s_opts o;
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &o, &pos, 1);
    if (code >= 0) {
        return code;
    }
    config = o.config;
    signal(SIGPIPE, SIG_IGN);
    h2a_buf_init(&out, 0);
    rv = h2a_request_id_check("REQUEST_ID", argv[pos]);
    if (rv == H2A_OK) {
        rv = h2a_config_load(config, &cfg);
    }
    if (rv == H2A_OK) {
        rv = h2a_enroll_run(cfg, NULL, argv[pos], &out);
    }
    h2a_config_free(cfg);
    return s_print(argv[0], rv, &out);
}

int h2a_cmd_sweep(int argc, char **argv)
{
    struct s_opts o;
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &o, &pos, 0);
    if (code >= 0) {
        return code;
    }
    config = o.config;
    h2a_buf_init(&out, 0);
    rv = h2a_config_load(config, &cfg);
    if (rv == H2A_OK) {
        rv = h2a_enroll_sweep(cfg, &out);
    }
    h2a_config_free(cfg);
    return s_print(argv[0], rv, &out);
}
