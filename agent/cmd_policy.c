/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/* `hsm2acm policy show [--policy FILE | --config FILE]`: print the effective policy. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config/h2a_config.h"
#include "h2a_policy.h"

static void s_help(FILE *out)
{
    fprintf(out,
            "Usage: hsm2acm policy show [--policy FILE | --config FILE]\n"
            "\n"
            "Prints the effective policy: the built-in default, or FILE (JSON,\n"
            "see docs/policy.md) after validation. One fact per line, keys and\n"
            "list values sorted, so a policy change shows as a diff in review.\n"
            "A bad policy file is refused with a message naming the key.\n"
            "\n"
            "Options:\n"
            "  --policy FILE  policy file to show (default: built-in default)\n"
            "  --config FILE  show the policy that `enroll --config FILE` uses\n"
            "                 (its \"policy\" key, else the built-in default)\n"
            "  -h, --help     this help\n"
            "\n%s",
            h2a_cli_exit_codes);
}

static int s_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    const char *config = NULL;
    h2a_config *conf = NULL;
    H2A_POLICY *pol = NULL;
    h2a_buf out;
    h2a_err rv;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (path != NULL) {
                return h2a_cli_usage_error("policy show", "--policy given twice");
            }
            path = optarg;
            break;
        case 'c':
            if (config != NULL) {
                return h2a_cli_usage_error("policy show", "--config given twice");
            }
            config = optarg;
            break;
        case 'h':
            s_help(stdout);
            return 0;
        case ':':
            return h2a_cli_usage_error("policy show", "%s needs a value",
                                       argv[optind - 1]);
        default:
            return h2a_cli_usage_error("policy show", "unknown option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return h2a_cli_usage_error("policy show", "unexpected argument '%s'", argv[optind]);
    }
    if (path != NULL && config != NULL) {
        return h2a_cli_usage_error("policy show", "give --policy or --config, not both");
    }
    h2a_buf_init(&out, 0);
    rv = H2A_OK;
    if (config != NULL) {
        rv = h2a_config_load(config, &conf);
        if (rv == H2A_OK) {
            path = conf->policy;
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_policy_load(path, &pol);
    }
    if (rv == H2A_OK) {
        rv = h2a_policy_render(pol, &out);
    }
    if (rv == H2A_OK && fwrite(out.data, 1, out.len, stdout) != out.len) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "cannot write to stdout");
    }
    if (rv == H2A_OK && fflush(stdout) != 0) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "cannot write to stdout");
    }
    h2a_buf_free(&out);
    h2a_policy_free(pol);
    h2a_config_free(conf);
    if (rv != H2A_OK) {
        return h2a_cli_fail("policy show", rv);
    }
    return 0;
}

int h2a_cmd_policy(int argc, char **argv)
{
    return h2a_cli_subcommand(argc, argv, s_help, "show", s_show);
}
