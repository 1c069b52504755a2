/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * `hsm2acm discover`: walk the configured scope (docs/inventory.md) and
 * print the run's JSON summary on stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config/h2a_config.h"
#include "inventory/h2a_inventory.h"

#define S_MAX_FILTERS 64

static const char s_usage[] =
    "Usage: hsm2acm discover [--config FILE] [--account A]... [--region R]...\n"
    "                        [--workers N] [--verbose]\n"
    "\n"
    "Walks the \"scope\" of the configuration (one account, or every ACTIVE account\n"
    "of the AWS Organization through scope.role_name) in every scope region, in\n"
    "parallel within ACM's per-API rate quotas, lists certificates of all seven key\n"
    "types, and saves them with their history in <state_dir>/inventory.db. Prints\n"
    "  {\"accounts\": N, \"regions\": N, \"certificates\": N, \"new\": [ARN...],\n"
    "   \"changed\": [ARN...], \"gone\": [ARN...],\n"
    "   \"failures\": [{\"account\", \"region\" (null: the whole account), \"error\"}]}\n"
    "An account or region that fails is reported and the rest is saved (exit 5).\n"
    "\nOptions:\n"
    "  --config FILE  hsm2acm configuration (default: HSM2ACM_CONFIG)\n"
    "  --account A    only this account of the scope (repeatable)\n"
    "  --region R     these regions instead of scope.regions (repeatable)\n"
    "  --workers N    parallel account-region walks (1..64, default 64)\n"
    "  --verbose      debug logging\n"
    "A progress line goes to stderr when stderr is a terminal.\n\n";

struct s_opts {
    const char *config;
    const char *accounts[S_MAX_FILTERS + 1];
    const char *regions[S_MAX_FILTERS + 1];
    size_t n_accounts, n_regions;
    int workers;
    bool help;
};

static int s_add(const char *cmd, const char *opt, const char **v, size_t *n, const char *s)
{
    if (*n >= S_MAX_FILTERS) {
        return h2a_cli_usage_error(cmd, "%s: at most %d", opt, S_MAX_FILTERS);
    }
    v[(*n)++] = s;
    return 0;
}

static int s_parse(int argc, char **argv, struct s_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"account", required_argument, NULL, 'a'},
        {"region", required_argument, NULL, 'r'}, {"workers", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, code = 0;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while (code == 0 && (c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (c == 'c') {
            o->config = optarg;
        } else if (c == 'a') {
            code = strlen(optarg) != 12 || strspn(optarg, "0123456789") != 12
                       ? h2a_cli_usage_error(argv[0], "--account '%s': expected a 12-digit "
                                             "account id", optarg)
                       : s_add(argv[0], "--account", o->accounts, &o->n_accounts, optarg);
        } else if (c == 'r') {
            code = !h2a_config_region_known(optarg)
                       ? h2a_cli_usage_error(argv[0], "--region '%s': not an AWS region",
                                             optarg)
                       : s_add(argv[0], "--region", o->regions, &o->n_regions, optarg);
        } else if (c == 'w') {
            char *e = NULL;
            long n = strtol(optarg, &e, 10);
            code = e == NULL || *e != '\0' || n < 1 || n > H2A_DISCOVER_MAX_WORKERS
                       ? h2a_cli_usage_error(argv[0], "--workers '%s': expected 1..64", optarg)
                       : 0;
            o->workers = (int)n;
        } else if (c == 'v') {
            h2a_log_set_level(H2A_LOG_DEBUG);
        } else if (c == 'h') {
            o->help = true;
        } else {
            code = h2a_cli_usage_error(argv[0], "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (code == 0 && optind < argc) {
        code = h2a_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    }
    return code;
}

int h2a_cmd_discover(int argc, char **argv)
{
    struct s_opts o;
    struct h2a_discover_opts d;
    h2a_config *cfg = NULL;
    json_object *summary = NULL;
    h2a_err rv;
    int code;

    if ((code = s_parse(argc, argv, &o)) != 0) {
        return code;
    }
    if (o.help) {
        printf("%s%s", s_usage, h2a_cli_exit_codes);
        return 0;
    }
    rv = h2a_config_load(o.config, &cfg);
    if (rv == H2A_OK) {
        memset(&d, 0, sizeof(d));
        d.cfg = cfg;
        d.accounts = o.accounts;
        d.regions = o.regions;
        d.workers = o.workers;
        d.progress = isatty(STDERR_FILENO) == 1;
        rv = h2a_discover(&d, &summary);
    }
    if (summary != NULL) {
        printf("%s\n", json_object_to_json_string_ext(summary, JSON_C_TO_STRING_PRETTY |
                                                                   JSON_C_TO_STRING_SPACED |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
    }
    json_object_put(summary);
    h2a_config_free(cfg);
    return rv == H2A_OK ? 0 : h2a_cli_fail(argv[0], rv);
}
