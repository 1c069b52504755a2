/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * `hsm2acm inventory`: print the local inventory `discover` saved. Never
 * calls AWS, so monitoring can run it as often as it likes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/h2a_aws.h"
#include "cli.h"
#include "config/h2a_config.h"
#include "inventory/h2a_inventory.h"

static const char s_usage[] =
    "Usage: hsm2acm inventory [--config FILE] [--expiring DAYS] [--account A]\n"
    "                         [--region R] [--managed | --unmanaged] [--status S]\n"
    "                         [--format table|json|csv|prometheus]\n"
    "\n"
    "Prints the certificates the last 'discover' runs found (gone ones left out),\n"
    "sorted by expiry, from <state_dir>/inventory.db. No AWS calls.\n"
    "\nOptions:\n"
    "  --config FILE    hsm2acm configuration (default: HSM2ACM_CONFIG)\n"
    "  --expiring DAYS  only those whose not_after is before now + DAYS (expired\n"
    "                   ones included)\n"
    "  --account A      only this account (12 digits)\n"
    "  --region R       only this region\n"
    "  --managed        only certificates hsm2acm manages (its tag or its journal)\n"
    "  --unmanaged      only the others\n"
    "  --status S       only this ACM status (ISSUED, EXPIRED, ...)\n"
    "  --format F       table (default; EXPIRED / SOON (30 days) marked), json, csv,\n"
    "                   prometheus (node_exporter textfile)\n\n";

struct s_opts {
    const char *config;
    struct h2a_inv_filter f;
    h2a_inv_format fmt;
    long long expiring_days;
    bool help;
};

static int s_option(const char *cmd, int c, struct s_opts *o)
{
    char *e = NULL;

    switch (c) {
    case 'c':
        o->config = optarg;
        return 0;
    case 'e':
        o->expiring_days = strtoll(optarg, &e, 10);
        return e == NULL || *e != '\0' || o->expiring_days < 0 || o->expiring_days > 36500
                   ? h2a_cli_usage_error(cmd, "--expiring '%s': expected 0..36500 days", optarg)
                   : 0;
    case 'a':
        o->f.account = optarg;
        return strlen(optarg) != 12 || strspn(optarg, "0123456789") != 12
                   ? h2a_cli_usage_error(cmd, "--account '%s': expected 12 digits", optarg)
                   : 0;
    case 'r':
        o->f.region = optarg;
        return h2a_aws_region_valid(optarg)
                   ? 0 : h2a_cli_usage_error(cmd, "--region '%s': not a region name", optarg);
    case 's':
        o->f.status = optarg;
        return h2a_acm_status_valid(optarg)
                   ? 0 : h2a_cli_usage_error(cmd, "--status '%s': not an ACM status", optarg);
    case 'f':
        return h2a_inv_format_parse(optarg, &o->fmt)
                   ? 0 : h2a_cli_usage_error(cmd, "--format '%s': expected table, json, csv "
                                             "or prometheus", optarg);
    case 'm':
    case 'u':
        if (o->f.managed >= 0) {
            return h2a_cli_usage_error(cmd, "--managed and --unmanaged exclude each other");
        }
        o->f.managed = c == 'm' ? 1 : 0;
        return 0;
    case 'h':
        o->help = true;
        return 0;
    default:
        return h2a_cli_usage_error(cmd, "unknown or incomplete option '%s'", optarg);
    }
}

static int s_parse(int argc, char **argv, struct s_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"expiring", required_argument, NULL, 'e'},
        {"account", required_argument, NULL, 'a'}, {"region", required_argument, NULL, 'r'},
        {"status", required_argument, NULL, 's'}, {"format", required_argument, NULL, 'f'},
        {"managed", no_argument, NULL, 'm'},      {"unmanaged", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c, code = 0;

    memset(o, 0, sizeof(*o));
    o->f.managed = -1;
    o->expiring_days = -1;
    o->fmt = H2A_INV_TABLE;
    optind = 1;
    opterr = 0;
    while (code == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == '?') {
            return h2a_cli_usage_error(argv[0], "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
        code = s_option(argv[0], c, o);
    }
    if (code == 0 && optind < argc) {
        code = h2a_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    }
    return code;
}

int h2a_cmd_inventory(int argc, char **argv)
{
    struct s_opts o;
    h2a_config *cfg = NULL;
    H2A_INVENTORY *inv = NULL;
    h2a_inv_cert *v = NULL;
    size_t n = 0;
    long long now = (long long)time(NULL);
    h2a_err rv;
    int code;

    if ((code = s_parse(argc, argv, &o)) != 0) {
        return code;
    }
    if (o.help) {
        printf("%s%s", s_usage, h2a_cli_exit_codes);
        return 0;
    }
    if (o.expiring_days >= 0) {
        o.f.expiring_before = now + o.expiring_days * 86400LL;
    }
    rv = h2a_config_load(o.config, &cfg);
    rv = rv == H2A_OK ? h2a_inventory_open_read(cfg->state_dir, &inv) : rv;
    /* Before the first discover there is nothing to list (and nothing is created). */
    rv = rv == H2A_OK && inv != NULL ? h2a_inventory_query(inv, &o.f, &v, &n) : rv;
    rv = rv == H2A_OK ? h2a_inv_write(stdout, o.fmt, v, n, now) : rv;
    if (rv == H2A_OK && fflush(stdout) != 0) {
        rv = h2a_err_set(H2A_ERR_STATE, "inventory: cannot write the output");
    }
    h2a_inv_certs_free(v, n);
    h2a_inventory_close(inv);
    h2a_config_free(cfg);
    return rv == H2A_OK ? 0 : h2a_cli_fail(argv[0], rv);
}
