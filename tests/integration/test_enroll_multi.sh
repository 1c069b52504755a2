#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One key, several regions and accounts in one request: one certificate,
# one staging secret and one ARN per target, each in its own account and
# region (other accounts through AssumeRole with the configured role name and
# ExternalId), all with the same token key; nothing left in Secrets Manager.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_multi
h2a_localaws_ctl POST /_control/roles \
    '{"account":"333333333333","role_name":"hsm2acm-delivery","external_id":"h2a-ext-42"}' >/dev/null
enr_config_with "$ENR_DIR/config-multi.json" '{"aws":{"external_id":"h2a-ext-42"}}'

targets='[{"region":"eu-west-1","tags":{"env":"prod"}},
          {"region":"us-east-1","service":"cloudfront"},
          {"region":"eu-central-1","account":"222222222222","service":"elb"},
          {"region":"eu-west-1","account":"333333333333"}]'
objs=$(enr_objects)
enr_request "$ENR_DIR/m.json" multi-1 ec:P-256 "cdn.example.com,static.example.com" "$targets"
"$H2A_BIN" enroll --config "$ENR_DIR/config-multi.json" "$ENR_DIR/m.json" >"$ENR_DIR/m.out" ||
    enr_fail "multi enroll exited $?"
kid=$(enr_json "$ENR_DIR/m.out" 'd["targets"][0]["key_id"]')
i=0
for place in 111111111111/eu-west-1 111111111111/us-east-1 222222222222/eu-central-1 333333333333/eu-west-1; do
    acct=${place%/*} region=${place#*/}
    arn=$(enr_json "$ENR_DIR/m.out" "d['targets'][$i]['certificate_arn']")
    [ "$(enr_json "$ENR_DIR/m.out" "d['targets'][$i]['account']")" = "$acct" ] || enr_fail "target $i account"
    [ "$(enr_json "$ENR_DIR/m.out" "d['targets'][$i]['key_id']")" = "$kid" ] || enr_fail "target $i key"
    case "$arn" in arn:aws:acm:$region:$acct:certificate/*) ;; *) enr_fail "target $i ARN $arn";; esac
    enr_check_acm_key "$arn" "$kid" "$acct" "$region" >/dev/null
    [ -z "$(enr_secrets "$acct" "$region")" ] || enr_fail "staging secret left in $place"
    i=$((i + 1))
done
# One certificate per place (111/eu-west-1 holds exactly one as well).
[ "$(enr_cert_count 111111111111 eu-west-1)" = 1 ] || enr_fail "111/eu-west-1 count"
[ "$(enr_cert_count 333333333333 eu-west-1)" = 1 ] || enr_fail "333/eu-west-1 count"
# One key pair for the four targets (plus the local CA's EC key pair).
[ "$(enr_objects)" = $((objs + 4)) ] || enr_fail "token objects $(enr_objects), expected $((objs + 4))"
# The audit log names the assumed-role identity for the other accounts.
grep -q '"account":"222222222222","caller":"arn:aws:sts::222222222222:assumed-role/hsm2acm-delivery/' \
    "$ENR_DIR/state/audit.log" || enr_fail "audit lacks the assumed role"
# Without the ExternalId account 333 refuses the role: AWS error, resumable.
enr_request "$ENR_DIR/m2.json" multi-2 ec:P-256 "x.example.com" '[{"region":"eu-west-1","account":"333333333333"}]'
enr_expect_fail 5 "AccessDenied" "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/m2.json"
# An account without aws.role_name configured is bad input.
enr_config_with "$ENR_DIR/config-norole.json" '{"aws":{"region":"eu-west-1"}}'
$PY - "$ENR_DIR/config-norole.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["aws"].pop("role_name", None); json.dump(c, open(sys.argv[1], "w"))
PYEOF
enr_expect_fail 2 "aws.role_name" "$H2A_BIN" enroll --config "$ENR_DIR/config-norole.json" "$ENR_DIR/m2.json"
echo PASS
