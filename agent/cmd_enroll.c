/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config/h2a_config.h"
#include "enroll/h2a_enroll.h"
#include "enroll/h2a_request.h"

static void s_help(const char *cmd)
{
    if (strcmp(cmd, "enroll") == 0) {
        printf("Usage: hsm2acm enroll [--config FILE] REQUEST.json\n\n"
               "Run an enrollment request end to end: validate and check policy,\n"
               "generate the key in the token, sign the CSR there, have it issued,\n"
               "verify, stage the wrapped key in Secrets Manager, import into ACM\n"
               "(new or reimport), delete the staging secret. Each step is journaled;\n"
               "the same request again continues an interrupted run.\n"
               "Prints {\"id\", \"targets\":[{region, account, certificate_arn, serial,\n"
               "not_after, key_id, kcv, timings_ms}]} on stdout.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n\n");
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

/* Parse --config/--help; *pos gets the index of the first positional argument. */
static int s_opts(int argc, char **argv, const char **config, int *pos, int npos)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    *config = NULL;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            *config = optarg;
            break;
        case 'h':
            s_help(argv[0]);
            return 0;
        default:
            return h2a_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (argc - optind != npos) {
        return h2a_cli_usage_error(argv[0], npos == 0 ? "takes no arguments"
                                   : npos == 1 && strcmp(argv[0], "enroll") == 0
                                       ? "expects one REQUEST.json"
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

int h2a_cmd_enroll(int argc, char **argv)
{
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_request *req = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &config, &pos, 1);
    if (code >= 0) {
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
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &config, &pos, 1);
    if (code >= 0) {
        return code;
    }
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
    const char *config;
    int pos = 0, code;
    h2a_config *cfg = NULL;
    h2a_buf out;
    h2a_err rv;

    code = s_opts(argc, argv, &config, &pos, 0);
    if (code >= 0) {
        return code;
    }
    h2a_buf_init(&out, 0);
    rv = h2a_config_load(config, &cfg);
    if (rv == H2A_OK) {
        rv = h2a_enroll_sweep(cfg, &out);
    }
    h2a_config_free(cfg);
    return s_print(argv[0], rv, &out);
}
