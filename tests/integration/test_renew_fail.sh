#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A renewal that fails leaves the current generation serving with its key,
# destroys the key it made, and reports per renewal; the exit code is the
# worst renewal's. The failed renewal runs again (same id) once the issuer works.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew_fail

acm_serial() {
    enr_acm | $PY -c 'import json,sys
c=[c for c in json.load(sys.stdin)["certificates"] if c["arn"]==sys.argv[1]][0]
print(c["serial"].replace(":","").lstrip("0"), c["reimport_count"])' "$1"
}

# A command issuer that fails while $ENR_DIR/broken exists (a CA outage).
renew_cmd_issuer "if [ -e \"$ENR_DIR/broken\" ]; then cat >/dev/null; echo \"CA profile retired\" >&2; exit 3; fi"

enr_request "$ENR_DIR/ok.json" ok ec:P-256 "ok.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok.json" >"$ENR_DIR/ok.out"
enr_request "$ENR_DIR/bad.json" bad ec:P-256 "bad.example.com" '[{"region":"eu-west-1"}]' '{"issuer":"cmd"}'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/bad.json" >"$ENR_DIR/bad.out"
ok_arn=$(enr_json "$ENR_DIR/ok.out" 'd["targets"][0]["certificate_arn"]')
bad_arn=$(enr_json "$ENR_DIR/bad.out" 'd["targets"][0]["certificate_arn"]')
bad_kid=$(enr_json "$ENR_DIR/bad.out" 'd["targets"][0]["key_id"]')
touch "$ENR_DIR/broken"
before=$(acm_serial "$bad_arn")
objs=$(enr_objects)

set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$ok_arn" --arn "$bad_arn" >"$ENR_DIR/renew.out" 2>"$ENR_DIR/renew.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "renew: exit $rc, want 6 (the worst): $(cat "$ENR_DIR/renew.out" "$ENR_DIR/renew.err")"
[ "$(wc -l <"$ENR_DIR/renew.out")" = 2 ] || enr_fail "renew printed $(wc -l <"$ENR_DIR/renew.out") lines"
grep -F '"request_id":"ok"' "$ENR_DIR/renew.out" | grep -q '"result"' || enr_fail "ok's renewal has no result"
grep -F '"request_id":"bad"' "$ENR_DIR/renew.out" >"$ENR_DIR/bad.line"
[ "$(enr_json "$ENR_DIR/bad.line" 'd["exit_code"]')" = 6 ] || enr_fail "bad's line: $(cat "$ENR_DIR/bad.line")"
grep -q "issuer" "$ENR_DIR/bad.line" || enr_fail "bad's error does not say why: $(cat "$ENR_DIR/bad.line")"
# The current generation serves on, with its key; the failed renewal's key is gone.
[ "$(acm_serial "$bad_arn")" = "$before" ] || enr_fail "a failed renewal changed ACM"
enr_check_acm_key "$bad_arn" "$bad_kid" >/dev/null
[ "$(enr_objects)" = $((objs + 2)) ] || enr_fail "token objects: $(enr_objects), want $((objs + 2)) (ok's new pair only)"
"$H2A_BIN" status --config "$ENR_CONFIG" "$bad_arn" | grep -q '^{"arn":"[^"]*","request_id":"bad","generations":\[{"generation":1,"reason":"enroll","state":"serving"' ||
    enr_fail "status after a failed renewal"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"

# The issuer works again: the same renewal id runs again and delivers.
rm "$ENR_DIR/broken"
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$bad_arn" >"$ENR_DIR/again.out"
[ "$(enr_json "$ENR_DIR/again.out" 'd["renewal_id"]')" = "bad.g2" ] || enr_fail "second try id"
enr_check_acm_key "$bad_arn" "$(enr_json "$ENR_DIR/again.out" 'd["result"]["targets"][0]["key_id"]')" >/dev/null
echo PASS
