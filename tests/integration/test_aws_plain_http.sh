#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# No key (wrapped or not) and no credentials over plain http://: an enrollment whose
# Secrets Manager or ACM endpoint is http:// (from the configuration, AWS_ENDPOINT_URL,
# AWS_ENDPOINT_URL_<SERVICE> or a profile) is refused with exit 2 naming where the
# endpoint was set, before a key is made; calls that carry nothing secret still work there.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup aws_plain_http

http=$H2A_LOCALAWS_HTTP_URL
enr_request "$ENR_DIR/r.json" plain-1 ec:P-256 "p.example.com" '[{"region":"eu-west-1"}]'
objs=$(enr_objects)
$PY - "$ENR_CONFIG" "$ENR_DIR/cfg-sm.json" "$http" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["aws"]["endpoints"] = {"secretsmanager": sys.argv[3]}
json.dump(c, open(sys.argv[2], "w"))
PYEOF
enr_expect_fail 2 "set by aws.endpoints.secretsmanager" \
    "$H2A_BIN" enroll --config "$ENR_DIR/cfg-sm.json" "$ENR_DIR/r.json"
grep -qF "refused over plain http://" "$ENR_DIR/last.err" || enr_fail "message: $(cat "$ENR_DIR/last.err")"
AWS_ENDPOINT_URL=$http enr_expect_fail 2 "set by AWS_ENDPOINT_URL" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json"
AWS_ENDPOINT_URL_ACM=$http enr_expect_fail 2 "acm ImportCertificate: refused over plain http:// ($http, set by AWS_ENDPOINT_URL_ACM)" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json"
printf '[default]\nendpoint_url = %s\n' "$http" >"$ENR_DIR/aws-config"
(
    unset AWS_ENDPOINT_URL
    AWS_CONFIG_FILE=$ENR_DIR/aws-config enr_expect_fail 2 "set by the profile's endpoint_url" \
        "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json"
)
[ "$(enr_objects)" = "$objs" ] || enr_fail "a key was made although the endpoint was refused"
[ -z "$(enr_secrets)" ] || enr_fail "a secret was staged"
[ "$(enr_cert_count)" = 0 ] || enr_fail "a certificate was imported"
# Nothing secret in GetCallerIdentity or DescribeCertificate: http:// stays allowed there.
AWS_ENDPOINT_URL=$http "$H2A_BIN" aws whoami >/dev/null || enr_fail "whoami over http://"
# Over https the same request goes through.
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json" >/dev/null || enr_fail "https enroll"
echo PASS
