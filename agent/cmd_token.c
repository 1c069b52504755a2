/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Placeholder until the owning work lands: fails loudly, never pretends. */
#include "cli.h"

int h2a_cmd_keygen(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

int h2a_cmd_csr(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

int h2a_cmd_token(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

int h2a_cmd_wrapkey(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

