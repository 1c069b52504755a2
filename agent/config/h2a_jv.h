/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Strict JSON readers for hsm2acm's own input files (configuration,
 * enrollment requests, staging envelopes). Every error names the JSON path
 * of the offending member ("targets[1].region") and what was expected, so
 * the CLI can print it as is (exit code 2).
 *
 * Strings returned through char ** are malloc'd copies owned by the caller
 * (free()); none of these files carry secrets.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "h2a_common.h"

/* Parse `len` bytes of JSON text; `what` names the file in errors. */
h2a_err h2a_jv_parse(const char *what, const char *text, size_t len,
                     json_object **out) H2A_MUST_USE;
/* Read (at most `limit` bytes) and parse a JSON file. */
h2a_err h2a_jv_parse_file(const char *path, size_t limit,
                          json_object **out) H2A_MUST_USE;

/* The value must be a JSON object (path "" means the top level). */
h2a_err h2a_jv_require_object(json_object *v, const char *path) H2A_MUST_USE;

/*
 * Refuse any member of `obj` not in the NULL-terminated `allowed` list,
 * naming it as "<path>.<key>" (or "<key>" at the top level).
 */
h2a_err h2a_jv_only_keys(json_object *obj, const char *path,
                         const char *const *allowed) H2A_MUST_USE;

/* "<path>.<key>" or "<key>" into buf. */
const char *h2a_jv_path(char *buf, size_t n, const char *path,
                        const char *key);

/*
 * Optional string member: absent or null leaves *out untouched (so the
 * caller's default stays) unless `required`. Length in bytes must be in
 * [min, max]; control characters are refused.
 */
h2a_err h2a_jv_str(json_object *obj, const char *path, const char *key,
                   bool required, size_t min, size_t max,
                   char **out) H2A_MUST_USE;
/* Same, but line breaks (\n, \r) are allowed: PEM text. */
h2a_err h2a_jv_text(json_object *obj, const char *path, const char *key,
                    bool required, size_t min, size_t max,
                    char **out) H2A_MUST_USE;
/* Integer member in [min, max]; absent keeps *out unless `required`. */
h2a_err h2a_jv_int(json_object *obj, const char *path, const char *key,
                   bool required, long long min, long long max,
                   long long *out) H2A_MUST_USE;
/* Boolean member; absent keeps *out. */
h2a_err h2a_jv_bool(json_object *obj, const char *path, const char *key,
                    bool *out) H2A_MUST_USE;
/*
 * Array of strings (each 1..max bytes, no control characters); absent
 * gives an empty list. *out is a NULL-terminated array (h2a_jv_strv_free).
 */
h2a_err h2a_jv_strv(json_object *obj, const char *path, const char *key,
                    bool required, size_t max_items, size_t max,
                    char ***out, size_t *n_out) H2A_MUST_USE;
void h2a_jv_strv_free(char **v);

/* True if every byte of s is in the set `chars` or alphanumeric ASCII. */
bool h2a_jv_charset_ok(const char *s, const char *chars);
