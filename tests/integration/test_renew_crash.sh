#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 at every step of a renewal and of a rollback (test-only crash
# points), then the same command again: one delivery per generation (ACM's
# reimport count goes up by exactly one), the new generation serving with
# its key, one new key pair per renewal and none per rollback, no staging
# secret left.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup renew_crash

acm_state() {
    enr_acm | $PY -c 'import json,sys
c=[c for c in json.load(sys.stdin)["certificates"] if c["arn"]==sys.argv[1]][0]
print(c["serial"].replace(":","").lstrip("0"), c["reimport_count"])' "$1"
}
gens() {
    "$H2A_BIN" status --config "$ENR_CONFIG" "$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["generations"]))'
}

enr_request "$ENR_DIR/x.json" x ec:P-256 "x.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/x.json" >"$ENR_DIR/x.out"
arn=$(enr_json "$ENR_DIR/x.out" 'd["targets"][0]["certificate_arn"]')

# crash_then CMD... : CMD dies at $point (137), then runs again to the end.
crash_then() {
    local out=$1 rc
    shift
    set +e
    HSM2ACM_TEST_CRASH_AT=$point "$@" >"$out.crash" 2>"$out.crash.err"
    rc=$?
    set -e
    [ "$rc" = 137 ] || enr_fail "$point: expected SIGKILL (137), got $rc: $(cat "$out.crash" "$out.crash.err")"
    "$@" >"$out" 2>"$out.err" || enr_fail "$point: again: $(cat "$out" "$out.err")"
}

count=0
for point in validate keygen csr issue stage unwrap import cleanup; do
    objs=$(enr_objects)
    g=$(gens "$arn")
    crash_then "$ENR_DIR/renew-$point.out" "$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn"
    count=$((count + 1))
    serial=$(enr_json "$ENR_DIR/renew-$point.out" 'd["result"]["targets"][0]["serial"]')
    kid=$(enr_json "$ENR_DIR/renew-$point.out" 'd["result"]["targets"][0]["key_id"]')
    [ "$(acm_state "$arn")" = "$(echo "$serial" | sed 's/^0*//') $count" ] ||
        enr_fail "renew, crash at $point: ACM holds $(acm_state "$arn"), want $serial after $count reimports"
    enr_check_acm_key "$arn" "$kid" >/dev/null
    [ "$(gens "$arn")" = $((g + 1)) ] || enr_fail "renew, crash at $point: $(gens "$arn") generations, want $((g + 1))"
    [ "$(enr_objects)" = $((objs + 2)) ] || enr_fail "renew, crash at $point: $(enr_objects) token objects, want $((objs + 2))"
    [ -z "$(enr_secrets)" ] || enr_fail "renew, crash at $point: staging secret left"
    echo "  ok: renew, crash at $point, then renew again"
done

for point in stage unwrap import cleanup; do
    objs=$(enr_objects)
    g=$(gens "$arn")
    crash_then "$ENR_DIR/rb-$point.out" "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn"
    count=$((count + 1))
    serial=$(enr_json "$ENR_DIR/rb-$point.out" 'd["to_serial"]')
    kid=$(enr_json "$ENR_DIR/rb-$point.out" 'd["result"]["targets"][0]["key_id"]')
    [ "$(acm_state "$arn")" = "$(echo "$serial" | sed 's/^0*//') $count" ] ||
        enr_fail "rollback, crash at $point: ACM holds $(acm_state "$arn"), want $serial after $count reimports"
    enr_check_acm_key "$arn" "$kid" >/dev/null
    [ "$(gens "$arn")" = $((g + 1)) ] || enr_fail "rollback, crash at $point: generations"
    [ "$(enr_objects)" = "$objs" ] || enr_fail "rollback, crash at $point: token objects changed"
    [ -z "$(enr_secrets)" ] || enr_fail "rollback, crash at $point: staging secret left"
    echo "  ok: rollback, crash at $point, then rollback again"
done
[ "$(enr_cert_count)" = 1 ] || enr_fail "more than one certificate in ACM"
echo PASS
