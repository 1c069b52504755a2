/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Placeholder until the owning work lands: fails loudly, never pretends. */
#include "cli.h"

int h2a_cmd_enroll(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

int h2a_cmd_resume(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

int h2a_cmd_sweep(int argc, char **argv)
{
    (void)argc;
    return h2a_cli_fail(argv[0], h2a_err_set(H2A_ERR_INTERNAL, "not implemented yet"));
}

