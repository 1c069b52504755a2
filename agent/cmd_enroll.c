/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

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

/* ------------------------------------------------------------------ */
/* --batch: the lines; the engine schedules them (enroll/batch.c)      */
/* ------------------------------------------------------------------ */

#define H2A_BATCH_LINE_MAX (256u * 1024u)

struct s_line {
    char *text;  /* the request line; NULL for blank lines and refused ones */
    long nul_at; /* offset of a NUL byte in the line, or -1 */
};

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
        lines[n].text = blank || zero != NULL ? NULL : strdup(p);
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
    char **text = NULL, **results = NULL;
    size_t n = 0;
    int code;
    h2a_err rv;

    rv = s_batch_read(path, &lines, &n);
    if (rv != H2A_OK) {
        return h2a_cli_fail(cmd, rv);
    }
    text = calloc(n + 1, sizeof(*text));
    results = calloc(n + 1, sizeof(*results));
    if (text == NULL || results == NULL) {
        code = h2a_cli_fail(cmd, h2a_err_set(H2A_ERR_NOMEM, "batch"));
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        text[i] = lines[i].text;
        if (lines[i].nul_at >= 0) {
            h2a_err_clear();
            results[i] = h2a_enroll_batch_error(
                i + 1, NULL,
                h2a_err_set(H2A_ERR_INPUT, "request: a NUL byte at column %ld (JSON text "
                                           "has none)", lines[i].nul_at + 1));
        }
    }
    code = h2a_enroll_batch(cfg, text, n, jobs, results);
    for (size_t i = 0; i < n; i++) {
        if (results[i] != NULL) {
            printf("%s\n", results[i]);
        }
    }
done:
    for (size_t i = 0; i < n; i++) {
        free(lines[i].text);
        free(results != NULL ? results[i] : NULL);
    }
    free(lines);
    free(text);
    free(results);
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
    return h2a_cli_result(argv[0], rv, &out);
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
    return h2a_cli_result(argv[0], rv, &out);
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
    return h2a_cli_result(argv[0], rv, &out);
}
