/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Command entry points. Each takes argv with argv[0] = the command word
 * (so getopt_long works as usual) and returns the process exit code.
 * Each lives in its own cmd_*.c file.
 */

#include <stdio.h>

#include "h2a_common.h"

int h2a_cmd_keygen(int argc, char **argv);
int h2a_cmd_csr(int argc, char **argv);
int h2a_cmd_token(int argc, char **argv);   /* token info */
int h2a_cmd_wrapkey(int argc, char **argv); /* wrapkey create */
int h2a_cmd_policy(int argc, char **argv);  /* policy show */
int h2a_cmd_aws(int argc, char **argv);     /* aws whoami */
int h2a_cmd_acm(int argc, char **argv);     /* acm list | describe */
int h2a_cmd_enroll(int argc, char **argv);
int h2a_cmd_resume(int argc, char **argv);
int h2a_cmd_sweep(int argc, char **argv);
int h2a_cmd_discover(int argc, char **argv);
int h2a_cmd_inventory(int argc, char **argv);
int h2a_cmd_renew(int argc, char **argv);  /* renew */
int h2a_cmd_status(int argc, char **argv); /* status ID|ARN */
int h2a_cmd_rollback(int argc, char **argv); /* rollback and adopt */

/* The exit-code table, printed by every --help. */
extern const char h2a_cli_exit_codes[];

/*
 * Print "hsm2acm: <cmd>: error: <h2a_err_msg()>" to stderr and return the
 * exit code of `e`. Commands end failures with `return h2a_cli_fail(cmd, e);`.
 */
int h2a_cli_fail(const char *cmd, h2a_err e);
/* A command's end: its JSON `out` and exit 0, or h2a_cli_fail(); frees `out`. */
int h2a_cli_result(const char *cmd, h2a_err rv, h2a_buf *out);
/* Print a usage error for `cmd` and return 2. */
int h2a_cli_usage_error(const char *cmd, const char *fmt, ...) H2A_PRINTF(2, 3);

/*
 * "CMD SUB [ARGS]" for a command group with one subcommand: `--help`, `-h`
 * and `help` print `help` to stdout (exit 0); no SUB prints it to stderr
 * (exit 2); an unknown SUB is a usage error naming it. Otherwise returns
 * run(argc - 1, argv + 1).
 */
int h2a_cli_subcommand(int argc, char **argv, void (*help)(FILE *out), const char *sub,
                       int (*run)(int argc, char **argv));
