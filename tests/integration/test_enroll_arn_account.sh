#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A reimport ARN of another account than the target's (the target names no account, so it
# is the caller's): refused locally with exit 2 naming the field, before a key is made or
# anything reaches ACM (it used to be AWS's error, exit 5).
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_arn_account

arn="arn:aws:acm:eu-west-1:222222222222:certificate/0aa1b2c3-0000-4000-8000-000000000001"
enr_request "$ENR_DIR/r.json" other-acct ec:P-256 "o.example.com" \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$arn\"}]"
objs=$(enr_objects)
h2a_localaws_ctl DELETE /_control/calls >/dev/null
enr_expect_fail 2 "targets[0].certificate_arn: ARN account 222222222222 differs from the target's account 111111111111" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json"
[ "$(enr_objects)" = "$objs" ] || enr_fail "a key was made"
h2a_localaws_ctl GET "/_control/calls?service=acm" |
    $PY -c 'import json,sys; c=json.load(sys.stdin)["calls"]; assert not c, c' ||
    enr_fail "ACM was called"
echo PASS
