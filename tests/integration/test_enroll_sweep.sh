#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sweep: deletes staging secrets past their TTL only when their tags say
# hsm2acm made them (name prefix alone is not enough), keeps unexpired ones,
# lists token keys that no journal entry knows and failed deliveries.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_sweep

enr_request "$ENR_DIR/ok.json" ok-1 ec:P-256 "ok.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok.json" >/dev/null

past=$(( $(date +%s) - 60 ))
future=$(( $(date +%s) + 3600 ))
mk() { # mk NAME TAGS_JSON
    enr_aws secretsmanager create-secret --name "$1" --secret-string '{"x":1}' \
        --tags "$2" >/dev/null
}
mk hsm2acm/staging/old-1/t0 "[{\"Key\":\"hsm2acm:managed\",\"Value\":\"true\"},{\"Key\":\"hsm2acm:request-id\",\"Value\":\"old-1\"},{\"Key\":\"hsm2acm:expiry\",\"Value\":\"$past\"}]"
mk hsm2acm/staging/new-1/t0 "[{\"Key\":\"hsm2acm:managed\",\"Value\":\"true\"},{\"Key\":\"hsm2acm:request-id\",\"Value\":\"new-1\"},{\"Key\":\"hsm2acm:expiry\",\"Value\":\"$future\"}]"
mk hsm2acm/staging/foreign/t0 "[{\"Key\":\"owner\",\"Value\":\"someone\"},{\"Key\":\"hsm2acm:expiry\",\"Value\":\"$past\"}]"
mk hsm2acm/staging/badexp/t0 "[{\"Key\":\"hsm2acm:managed\",\"Value\":\"true\"},{\"Key\":\"hsm2acm:expiry\",\"Value\":\"soon\"}]"
mk other/prefix/x "[{\"Key\":\"hsm2acm:managed\",\"Value\":\"true\"},{\"Key\":\"hsm2acm:expiry\",\"Value\":\"$past\"}]"

# A key no journal knows, and a delivery that fails (Secrets Manager down).
"$H2A_BIN" keygen --token "$H2A_TEST_TOKEN_URI" --type ec:P-256 --label stray-key >"$ENR_DIR/stray.json"
stray=$(enr_json "$ENR_DIR/stray.json" 'd["id"]')
h2a_localaws_ctl POST /_control/faults '{"service":"secretsmanager","operation":"CreateSecret","kind":"http500","count":20}' >/dev/null
enr_request "$ENR_DIR/bad.json" fails-1 ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'
enr_expect_fail 5 "CreateSecret" "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/bad.json"
h2a_localaws_ctl DELETE /_control/faults >/dev/null

"$H2A_BIN" sweep --config "$ENR_CONFIG" >"$ENR_DIR/sweep.out" || enr_fail "sweep exited $?"
cat "$ENR_DIR/sweep.out"
$PY - "$ENR_DIR/sweep.out" "$stray" <<'PYEOF' || enr_fail "sweep report"
import json, sys
d = json.load(open(sys.argv[1])); stray = sys.argv[2]
names = lambda k: sorted(x["name"] for x in d[k])
assert names("deleted_secrets") == ["hsm2acm/staging/old-1/t0"], d["deleted_secrets"]
assert names("active_secrets") == ["hsm2acm/staging/new-1/t0"], d["active_secrets"]
assert "hsm2acm/staging/badexp/t0" in names("skipped_secrets"), d["skipped_secrets"]
assert "hsm2acm/staging/foreign/t0" not in names("deleted_secrets")
keys = [k["id"] for k in d["unknown_keys"]]
assert keys == [stray], d["unknown_keys"]
f = [x for x in d["failed_deliveries"] if x["id"] == "fails-1"]
assert f and "CreateSecret" in (f[0].get("error") or ""), d["failed_deliveries"]
assert not [x for x in d["failed_deliveries"] if x["id"] == "ok-1"]
assert d["errors"] == [], d["errors"]
PYEOF
left=$(enr_secrets | sort | tr '\n' ' ')
[ "$left" = "hsm2acm/staging/badexp/t0 hsm2acm/staging/foreign/t0 hsm2acm/staging/new-1/t0 other/prefix/x " ] ||
    enr_fail "secrets after sweep: $left"

# The failed delivery is finished by resume once the service is back.
"$H2A_BIN" resume --config "$ENR_CONFIG" fails-1 >"$ENR_DIR/resume.out" || enr_fail "resume after fault"
enr_check_acm_key "$(enr_json "$ENR_DIR/resume.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/resume.out" 'd["targets"][0]["key_id"]')"
"$H2A_BIN" sweep --config "$ENR_CONFIG" >"$ENR_DIR/sweep2.out"
[ "$(enr_json "$ENR_DIR/sweep2.out" 'len(d["failed_deliveries"])')" = 0 ] || enr_fail "still failed after resume"

# A staging secret that outlived its TTL (a crash right after staging): sweep deletes it,
# and the resume right after it stages again under the same name the first time, although
# AWS (and the local endpoint, which models the lag) refuses that name for a while.
enr_request "$ENR_DIR/crash.json" crash-1 ec:P-256 "c.example.com" '[{"region":"eu-west-1"}]'
HSM2ACM_TEST_CRASH_AT=stage "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/crash.json" \
    >/dev/null 2>&1 && enr_fail "crash point did not fire"
staged=$(enr_secrets | grep crash-1) || enr_fail "no staging secret after the crash"
enr_aws secretsmanager tag-resource --secret-id "$staged" \
    --tags "[{\"Key\":\"hsm2acm:expiry\",\"Value\":\"$past\"}]"
"$H2A_BIN" sweep --config "$ENR_CONFIG" >"$ENR_DIR/sweep3.out" || enr_fail "sweep 3 exited $?"
[ "$(enr_json "$ENR_DIR/sweep3.out" '" ".join(x["name"] for x in d["deleted_secrets"])')" = "$staged" ] ||
    enr_fail "sweep did not delete the expired staging secret: $(cat "$ENR_DIR/sweep3.out")"
"$H2A_BIN" resume --config "$ENR_CONFIG" crash-1 >"$ENR_DIR/resume3.out" 2>"$ENR_DIR/resume3.err" ||
    enr_fail "resume right after sweep: exit $?: $(cat "$ENR_DIR/resume3.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/resume3.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/resume3.out" 'd["targets"][0]["key_id"]')"
echo PASS
