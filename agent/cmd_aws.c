/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * `hsm2acm aws whoami`, `hsm2acm acm list`, `hsm2acm acm describe ARN`:
 * thin commands over the AWS layer, printing JSON on stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/h2a_aws.h"
#include "cli.h"
#include "config/h2a_config.h"

struct s_opts {
    const char *region;
    const char *profile;
    const char *config;
    const char *statuses[16];
    size_t n_statuses;
    long repeat;
    bool help;
};

static const char s_aws_usage[] =
    "Usage: hsm2acm aws whoami [--region R] [--profile P] [--config FILE] [--verbose]\n"
    "\n"
    "Prints the AWS caller identity (STS GetCallerIdentity) as JSON:\n"
    "  {\"account\": \"123456789012\", \"arn\": \"arn:aws:...\", \"user_id\": \"...\"}\n";

static const char s_acm_usage[] =
    "Usage: hsm2acm acm list [--region R] [--status S]... [--profile P] [--config FILE]\n"
    "       hsm2acm acm describe ARN [--region R] [--profile P] [--config FILE]\n"
    "\n"
    "list      every certificate of every key type (all seven) and status, all\n"
    "          pages, as a JSON array of CertificateSummary objects; --status\n"
    "          (repeatable) limits it to ISSUED, EXPIRED, ...\n"
    "describe  the CertificateDetail of ARN as JSON\n"
    "          (--repeat N: benchmark aid, N calls on one connection, the\n"
    "          last result printed and connection statistics on stderr)\n";

static const char s_common_help[] =
    "\nOptions:\n"
    "  --region R     AWS region (beats AWS_REGION, AWS_DEFAULT_REGION, the profile)\n"
    "  --profile P    shared config/credentials profile (beats AWS_PROFILE)\n"
    "  --config FILE  hsm2acm configuration; its \"aws\" object is used as by\n"
    "                 'enroll' (region, profile, credentials_file, ca_bundle,\n"
    "                 max_attempts, timeout_seconds, endpoints)\n"
    "                 (default: HSM2ACM_CONFIG if set)\n"
    "  --verbose      debug logging (never shows secrets or Authorization headers)\n"
    "\nCredentials, endpoints and the CA bundle also come from the standard AWS\n"
    "environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_ENDPOINT_URL[_<SERVICE>],\n"
    "AWS_CA_BUNDLE, AWS_MAX_ATTEMPTS, ...). See docs/aws.md.\n\n";

static int s_parse(int argc, char **argv, bool allow_status, struct s_opts *o)
{
    static const struct option longopts[] = {
        {"region", required_argument, NULL, 'r'}, {"profile", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'}, {"status", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {"repeat", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!h2a_aws_region_valid(optarg)) {
                return h2a_cli_usage_error(argv[0], "--region '%s': expected a region name "
                                           "like eu-west-1", optarg);
            }
            o->region = optarg;
            break;
        case 'p':
            o->profile = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 's':
            if (!allow_status || o->n_statuses >= 15) {
                return h2a_cli_usage_error(argv[0], "--status: only for 'acm list', at most 15");
            }
            if (!h2a_acm_status_valid(optarg)) {
                return h2a_cli_usage_error(argv[0], "--status '%s': expected PENDING_VALIDATION, "
                                           "ISSUED, INACTIVE, EXPIRED, VALIDATION_TIMED_OUT, "
                                           "REVOKED or FAILED", optarg);
            }
            o->statuses[o->n_statuses++] = optarg;
            break;
        case 'v':
            h2a_log_set_level(H2A_LOG_DEBUG);
            break;
        case 'n': {
            char *e = NULL;
            o->repeat = strtol(optarg, &e, 10);
            if (e == NULL || *e != '\0' || o->repeat < 1 || o->repeat > 1000000) {
                return h2a_cli_usage_error(argv[0], "--repeat '%s': expected 1..1000000", optarg);
            }
            break;
        }
        case 'h':
            o->help = true;
            break;
        default:
            return h2a_cli_usage_error(argv[0], "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
    }
    return 0;
}

/*
 * The ctx from the flags and, with --config (or HSM2ACM_CONFIG), the "aws"
 * object of hsm2acm's configuration, read by the same loader and mapped the
 * same way as for `enroll`, so both see one AWS setup.
 */
static h2a_err s_ctx(const struct s_opts *o, H2A_AWS_CTX **out)
{
    const char *path = o->config != NULL ? o->config : getenv("HSM2ACM_CONFIG");
    h2a_config *conf = NULL;
    struct h2a_aws_config cfg;
    h2a_err rv = H2A_OK;

    *out = NULL;
    memset(&cfg, 0, sizeof(cfg));
    if (path != NULL && path[0] != '\0') {
        rv = h2a_config_load(path, &conf);
        if (rv != H2A_OK) {
            return rv;
        }
        h2a_config_aws(&conf->aws, &cfg);
    }
    cfg.region_override = o->region;
    if (o->profile != NULL) {
        cfg.profile = o->profile;
    }
    rv = h2a_aws_ctx_new(&cfg, out);
    h2a_config_free(conf);
    return rv;
}

static void s_print(json_object *o)
{
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_SPACED |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
}

int h2a_cmd_aws(int argc, char **argv)
{
    struct s_opts o;
    H2A_AWS_CTX *ctx = NULL;
    struct h2a_aws_identity id;
    json_object *out = NULL;
    int code;
    h2a_err rv;

    if ((code = s_parse(argc, argv, false, &o)) != 0) {
        return code;
    }
    if (o.help) {
        printf("%s%s%s", s_aws_usage, s_common_help, h2a_cli_exit_codes);
        return 0;
    }
    if (optind >= argc || strcmp(argv[optind], "whoami") != 0) {
        return h2a_cli_usage_error(argv[0], "expected 'whoami'%s%s",
                                   optind < argc ? ", got " : "",
                                   optind < argc ? argv[optind] : "");
    }
    if (optind + 1 < argc) {
        return h2a_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind + 1]);
    }
    rv = s_ctx(&o, &ctx);
    if (rv == H2A_OK) {
        rv = h2a_sts_get_caller_identity(ctx, NULL, &id);
    }
    if (rv == H2A_OK) {
        out = json_object_new_object();
        json_object_object_add(out, "account", json_object_new_string(id.account));
        json_object_object_add(out, "arn", json_object_new_string(id.arn));
        json_object_object_add(out, "user_id", json_object_new_string(id.user_id));
        s_print(out);
        json_object_put(out);
    }
    h2a_aws_ctx_free(ctx);
    return rv == H2A_OK ? 0 : h2a_cli_fail(argv[0], rv);
}

int h2a_cmd_acm(int argc, char **argv)
{
    struct s_opts o;
    H2A_AWS_CTX *ctx = NULL;
    json_object *out = NULL;
    const char *sub;
    int code;
    h2a_err rv;

    if ((code = s_parse(argc, argv, true, &o)) != 0) {
        return code;
    }
    if (o.help) {
        printf("%s%s%s", s_acm_usage, s_common_help, h2a_cli_exit_codes);
        return 0;
    }
    if (optind >= argc) {
        return h2a_cli_usage_error(argv[0], "expected 'list' or 'describe ARN'");
    }
    sub = argv[optind];
    if (strcmp(sub, "list") == 0) {
        if (optind + 1 != argc) {
            return h2a_cli_usage_error(argv[0], "list: unexpected argument '%s'",
                                       argv[optind + 1]);
        }
    } else if (strcmp(sub, "describe") == 0) {
        if (o.n_statuses > 0) {
            return h2a_cli_usage_error(argv[0], "--status: only for 'acm list'");
        }
        struct h2a_acm_arn parts;
        if (optind + 2 != argc || argv[optind + 1][0] == '\0') {
            return h2a_cli_usage_error(argv[0], "describe: expected exactly one ARN");
        }
        if (h2a_acm_arn_parse("describe ARN", argv[optind + 1], &parts) != H2A_OK) {
            return h2a_cli_usage_error(argv[0], "%s", h2a_err_msg());
        }
    } else {
        return h2a_cli_usage_error(argv[0], "unknown subcommand '%s' (expected list or describe)",
                                   sub);
    }
    rv = s_ctx(&o, &ctx);
    if (rv == H2A_OK && strcmp(sub, "list") == 0) {
        o.statuses[o.n_statuses] = NULL;
        rv = h2a_acm_list_certificates(ctx, NULL, o.n_statuses > 0 ? o.statuses : NULL, &out);
    } else if (rv == H2A_OK) {
        for (long i = 0; rv == H2A_OK && i < (o.repeat > 0 ? o.repeat : 1); i++) {
            json_object_put(out);
            out = NULL;
            rv = h2a_acm_describe_certificate(ctx, NULL, argv[optind + 1], &out);
        }
        if (o.repeat > 0) {
            struct h2a_aws_stats st;
            h2a_aws_ctx_stats(ctx, &st);
            fprintf(stderr, "{\"calls\": %ld, \"http_requests\": %ld, \"retries\": %ld, "
                    "\"tls_connects\": %ld, \"endpoints\": %ld}\n", st.calls, st.http_requests,
                    st.retries, st.tls_connects, st.endpoints);
        }
    }
    if (rv == H2A_OK) {
        s_print(out);
    }
    json_object_put(out);
    h2a_aws_ctx_free(ctx);
    return rv == H2A_OK ? 0 : h2a_cli_fail(argv[0], rv);
}
