/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "cli.h"

/* Enough for RSA-4096 key components, PEMs and PINs of several workers. */
#define H2A_SECURE_HEAP_BYTES (1u << 20)

struct h2a_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct h2a_command s_commands[] = {
    {"keygen", h2a_cmd_keygen, "generate a key pair in the token"},
    {"csr", h2a_cmd_csr, "make a CSR signed by a token key"},
    {"token", h2a_cmd_token, "token info: label, serial, objects, mechanisms"},
    {"wrapkey", h2a_cmd_wrapkey, "wrapkey create: make the AES wrapping key"},
    {"policy", h2a_cmd_policy, "policy show: print the effective policy"},
    {"aws", h2a_cmd_aws, "aws whoami: the AWS caller identity"},
    {"acm", h2a_cmd_acm, "acm list | acm describe ARN"},
    {"enroll", h2a_cmd_enroll, "run an enrollment request end to end"},
    {"resume", h2a_cmd_resume, "continue an interrupted enrollment"},
    {"sweep", h2a_cmd_sweep, "remove expired staging secrets, list orphans"},
    {"discover", h2a_cmd_discover, "walk ACM in the account/organization scope"},
    {"inventory", h2a_cmd_inventory, "print the saved ACM inventory (no AWS calls)"},
    {"renew", h2a_cmd_renew, "renew due certificates into the same ARNs"},
    {"adopt", h2a_cmd_rollback, "take over an IMPORTED certificate hsm2acm did not make"},
    {"rollback", h2a_cmd_rollback, "reimport an earlier generation with its kept key"},
    {"status", h2a_cmd_status, "the generations of a request or ARN"},
};

static void s_usage(FILE *out)
{
    fprintf(out, "Usage: hsm2acm COMMAND [OPTIONS]\n\n"
                 "Generates keys inside a PKCS#11 token and delivers "
                 "certificates to AWS Certificate Manager.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        fprintf(out, "  %-9s %s\n", s_commands[i].name, s_commands[i].summary);
    }
    fprintf(out, "\n'hsm2acm COMMAND --help' describes a command.\n"
                 "Logging: HSM2ACM_LOG=error|warn|info|debug, "
                 "HSM2ACM_LOG_FILE=PATH.\n\n%s",
            h2a_cli_exit_codes);
}

int main(int argc, char **argv)
{
    h2a_err rv;

    h2a_log_init_from_env();
    /* Help and version touch no secret: they work whatever the memlock limit. */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? h2a_err_exit_code(H2A_ERR_USAGE) : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hsm2acm 0.1.0\n");
        return 0;
    }
    rv = h2a_process_harden();
    if (rv == H2A_OK) {
        rv = h2a_secure_heap_init(H2A_SECURE_HEAP_BYTES);
    }
    if (rv != H2A_OK) {
        return h2a_cli_fail("startup", rv);
    }
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        if (strcmp(argv[1], s_commands[i].name) == 0) {
            int code = s_commands[i].run(argc - 1, argv + 1);
            ERR_clear_error();
            return code;
        }
    }
    fprintf(stderr, "hsm2acm: unknown command '%s'\n\n", argv[1]);
    s_usage(stderr);
    return h2a_err_exit_code(H2A_ERR_USAGE);
}
