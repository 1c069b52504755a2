/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char h2a_cli_exit_codes[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  internal error\n"
    "  2  usage error or bad input (request, configuration, URI, file)\n"
    "  3  refused by policy (key type, SANs, reimport compatibility, "
    "authorization)\n"
    "  4  token error (module, token, PIN, object, mechanism)\n"
    "  5  AWS error (the message carries the error code and request id)\n"
    "  6  issuer error\n"
    "  7  verification failure (issued certificate or delivered state)\n"
    "  8  state error (journal, state directory)\n";

int h2a_cli_fail(const char *cmd, h2a_err e)
{
    const char *msg = h2a_err_msg();

    fprintf(stderr, "hsm2acm: %s: error: %s\n", cmd,
            msg[0] != '\0' ? msg : h2a_err_text(e));
    return h2a_err_exit_code(e);
}

int h2a_cli_result(const char *cmd, h2a_err rv, h2a_buf *out)
{
    int code = rv != H2A_OK ? h2a_cli_fail(cmd, rv) : 0;

    if (rv == H2A_OK) {
        printf("%s\n", (const char *)out->data);
    }
    h2a_buf_free(out);
    return code;
}

int h2a_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "hsm2acm: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hsm2acm %s --help'.\n", cmd);
    return h2a_err_exit_code(H2A_ERR_USAGE);
}

int h2a_cli_subcommand(int argc, char **argv, void (*help)(FILE *out), const char *sub,
                       int (*run)(int argc, char **argv))
{
    if (argc < 2) {
        help(stderr);
        return h2a_err_exit_code(H2A_ERR_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        help(stdout);
        return 0;
    }
    if (strcmp(argv[1], sub) == 0) {
        return run(argc - 1, argv + 1);
    }
    return h2a_cli_usage_error(argv[0], "unknown subcommand '%s' (expected: %s)", argv[1], sub);
}
