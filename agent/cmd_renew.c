/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/h2a_config.h"
#include "enroll/h2a_request.h"
#include "renew/h2a_renew.h"

static void s_help(const char *cmd)
{
    if (strcmp(cmd, "renew") == 0) {
        printf("Usage: hsm2acm renew [--config FILE] [--dry-run] [--arn ARN]... [--id ID]... "
               "[--jobs N]\n\n"
               "Renew what is due (every ARN hsm2acm delivered to), or the named ARNs and\n"
               "requests even if not due. A renewal is an enrollment derived from the\n"
               "current generation: same subject, names, key type, usages, issuer and\n"
               "targets, a new key in the token, reimported into the same ARNs with every\n"
               "check enroll makes. It runs as request <id>.g<N>: journaled, resumable\n"
               "(run renew again, or hsm2acm resume <id>.g<N>), refused while another\n"
               "process runs it. A failed renewal leaves the current generation serving.\n"
               "Prints one JSON line per renewal: {request_id, arn, generation, serial,\n"
               "not_after, renewal_id, result | error + exit_code}; exits with the worst code.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n"
               "  --dry-run      list what is due and why, from the journal only: no AWS call,\n"
               "                 no token, nothing written\n"
               "  --arn ARN      renew this ARN (repeatable)\n"
               "  --id ID        renew this request's ARNs (repeatable)\n"
               "  --jobs N       worker processes (1..64, default 1), each with its own token\n"
               "                 login and AWS connections, as enroll --batch --jobs\n\n");
    } else if (strcmp(cmd, "adopt") == 0) {
        printf("Usage: hsm2acm adopt [--config FILE] ARN --issuer NAME --requester WHO\n\n"
               "Take over an IMPORTED certificate that hsm2acm did not make: the request is\n"
               "built from DescribeCertificate (names, key type, KeyUsage/EKU), checked\n"
               "against the policy and authorization like any request, and delivered into\n"
               "ARN with a key born in the token (request id adopt-<certificate id>). From\n"
               "then on renew and status know it. AMAZON_ISSUED and PRIVATE certificates\n"
               "are refused (exit 3). Prints the enroll result.\n\n"
               "  --config FILE     configuration (default: $HSM2ACM_CONFIG)\n"
               "  --issuer NAME     issuer of the configuration that issues from now on\n"
               "  --requester WHO   requester checked against the policy's authorization\n\n");
    } else if (strcmp(cmd, "rollback") == 0) {
        printf("Usage: hsm2acm rollback [--config FILE] ARN [--to-serial SERIAL]\n\n"
               "Reimport the previous generation (or the one with SERIAL) into ARN, with\n"
               "its key that the token kept, through the same wrapped staging as any\n"
               "delivery. Before anything is touched it checks, and refuses with exit 3\n"
               "naming the rule and both values: the key was not destroyed and is in the\n"
               "token; the certificate is valid for renewal.min_remaining_for_rollback_days;\n"
               "ACM's reimport rules against what the ARN holds now (same key type and\n"
               "size, no KeyUsage/ExtendedKeyUsage ACM holds now missing, a name). The\n"
               "rollback is a generation of its own (run as <id>.r<N>): rolling forward\n"
               "again is another rollback. Prints {arn, rollback_id, to_generation,\n"
               "to_serial, result}.\n\n"
               "  --config FILE     configuration (default: $HSM2ACM_CONFIG)\n"
               "  --to-serial S     the generation to go back to (hex serial)\n\n");
    } else {
        printf("Usage: hsm2acm status [--config FILE] ID|ARN\n\n"
               "The generations delivered to an ARN (or to the ARN of request ID), newest\n"
               "first: {\"arn\", \"request_id\", \"generations\": [{generation, reason, state,\n"
               "serial, not_after, key_id, imported_at, can_rollback}]}. State is serving,\n"
               "retained (its key is still in the token) or key_destroyed. Reads the\n"
               "journal only.\n\n"
               "  --config FILE  configuration (default: $HSM2ACM_CONFIG)\n\n");
    }
    printf("%s", h2a_cli_exit_codes);
}

struct s_opts {
    const char *config;
    const char *serial;
    const char *issuer;
    const char *requester;
    h2a_renew_opts r;
};

static int s_push(const char *cmd, const char *opt, char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof(*nv));

    if (nv == NULL) {
        return h2a_cli_fail(cmd, h2a_err_set(H2A_ERR_NOMEM, "%s", opt));
    }
    *v = nv;
    nv[(*n)++] = (char *)s;
    nv[*n] = NULL;
    return -1;
}

/* Options of renew and status; -1 to go on, else the exit code. */
static int s_opts(int argc, char **argv, struct s_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
        {"arn", required_argument, NULL, 'a'},    {"id", required_argument, NULL, 'i'},
        {"to-serial", required_argument, NULL, 't'},  {"jobs", required_argument, NULL, 'j'},
        {"issuer", required_argument, NULL, 'I'},   {"requester", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    bool renew = strcmp(argv[0], "renew") == 0;
    bool rollback = strcmp(argv[0], "rollback") == 0;
    bool adopt = strcmp(argv[0], "adopt") == 0;
    int c, code = -1;

    optind = 1;
    while (code < 0 && (c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            o->config = optarg;
        } else if (c == 'h') {
            s_help(argv[0]);
            return 0;
        } else if (!renew && (c == 'n' || c == 'a' || c == 'i' || c == 'j')) {
            return h2a_cli_usage_error(argv[0], "--dry-run, --arn, --id and --jobs are renew "
                                                "options");
        } else if (c == 'j') {
            char *end = NULL;

            o->r.jobs = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || o->r.jobs < 1 || o->r.jobs > 64) {
                return h2a_cli_usage_error(argv[0], "--jobs: '%s' is not 1..64", optarg);
            }
        } else if (c == 'I' || c == 'R') {
            if (!adopt) {
                return h2a_cli_usage_error(argv[0], "--issuer and --requester are adopt options");
            }
            *(c == 'I' ? &o->issuer : &o->requester) = optarg;
        } else if (c == 't') {
            if (!rollback) {
                return h2a_cli_usage_error(argv[0], "--to-serial is a rollback option");
            }
            o->serial = optarg;
        } else if (c == 'n') {
            o->r.dry_run = true;
        } else if (c == 'a') {
            if (strncmp(optarg, "arn:", 4) != 0) {
                return h2a_cli_usage_error(argv[0], "--arn: '%s' is not an ARN", optarg);
            }
            code = s_push(argv[0], "--arn", &o->r.arns, &o->r.n_arns, optarg);
        } else if (c == 'i') {
            if (h2a_request_id_check("--id", optarg) != H2A_OK) {
                return h2a_cli_fail(argv[0], H2A_ERR_INPUT);
            }
            code = s_push(argv[0], "--id", &o->r.ids, &o->r.n_ids, optarg);
        } else {
            return h2a_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (code < 0 && argc - optind != (renew ? 0 : 1)) {
        return h2a_cli_usage_error(argv[0], renew      ? "takes no arguments (use --arn or --id)"
                                            : rollback || adopt ? "expects one ARN"
                                                       : "expects one ID or ARN");
    }
    if (code < 0 && adopt && (o->issuer == NULL || o->requester == NULL)) {
        return h2a_cli_usage_error(argv[0], "needs --issuer NAME and --requester WHO");
    }
    if (code < 0 && (rollback || adopt) && strncmp(argv[optind], "arn:", 4) != 0) {
        return h2a_cli_usage_error(argv[0], "'%s' is not an ARN", argv[optind]);
    }
    return code;
}

int h2a_cmd_renew(int argc, char **argv)
{
    struct s_opts o;
    h2a_config *cfg = NULL;
    h2a_buf out;
    int code, worst = 0;
    h2a_err rv;

    memset(&o, 0, sizeof(o));
    code = s_opts(argc, argv, &o);
    if (code < 0) {
        /* Issuer commands may close their stdin early: EPIPE, not a signal. */
        signal(SIGPIPE, SIG_IGN);
        h2a_buf_init(&out, 0);
        rv = h2a_config_load(o.config, &cfg);
        if (rv == H2A_OK) {
            rv = h2a_renew_run(cfg, &o.r, &out, &worst);
        }
        if (out.len > 0) {
            fwrite(out.data, 1, out.len, stdout);
        }
        code = rv != H2A_OK ? h2a_cli_fail(argv[0], rv) : worst;
        h2a_buf_free(&out);
        h2a_config_free(cfg);
    }
    free(o.r.arns);
    free(o.r.ids);
    return code;
}

/* rollback and adopt: one ARN, one result. */
int h2a_cmd_rollback(int argc, char **argv)
{
    struct s_opts o;
    h2a_config *cfg = NULL;
    h2a_buf out;
    int code;
    h2a_err rv;

    memset(&o, 0, sizeof(o));
    code = s_opts(argc, argv, &o);
    if (code >= 0) {
        return code;
    }
    signal(SIGPIPE, SIG_IGN);
    h2a_buf_init(&out, 0);
    rv = h2a_config_load(o.config, &cfg);
    if (rv == H2A_OK) {
        rv = strcmp(argv[0], "adopt") == 0
                 ? h2a_renew_adopt(cfg, argv[optind], o.issuer, o.requester, &out)
                 : h2a_renew_rollback(cfg, argv[optind], o.serial, &out);
    }
    h2a_config_free(cfg);
    return h2a_cli_result(argv[0], rv, &out);
}

int h2a_cmd_status(int argc, char **argv)
{
    struct s_opts o;
    h2a_config *cfg = NULL;
    h2a_buf out;
    int code;
    h2a_err rv;

    memset(&o, 0, sizeof(o));
    code = s_opts(argc, argv, &o);
    if (code >= 0) {
        return code;
    }
    h2a_buf_init(&out, 0);
    rv = h2a_config_load(o.config, &cfg);
    if (rv == H2A_OK) {
        rv = h2a_renew_status(cfg, argv[optind], &out);
    }
    h2a_config_free(cfg);
    return h2a_cli_result(argv[0], rv, &out);
}
