#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dns-01 through the argv hook, against pebble resolving through
# challtestsrv: a wildcard and its apex in one order (two TXT values at one
# name), the hook's add/remove contract (`argv... add|remove <name.> <value>`),
# removal after validation, a failing hook (exit 6, nothing left), and
# `challenge: none` on a server whose authorizations are not pre-approved.
. "$(dirname "$0")/acme_lib.sh"
export PEBBLE_AUTHZREUSE=0
acme_setup acme_dns_hook
cat >"$ENR_DIR/hook.sh" <<SH
#!/bin/sh
echo "\$*" >>"$ENR_DIR/hook.calls"
[ -e "$ENR_DIR/hook.fail" ] && { echo "refusing on purpose" >&2; exit 3; }
shift 2 # --zone example.com
case "\$1" in
add) curl -sf -X POST -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" "$H2A_CHALL_MGMT/set-txt" ;;
remove) curl -sf -X POST -d "{\"host\":\"\$2\"}" "$H2A_CHALL_MGMT/clear-txt" ;;
esac
SH
chmod 0755 "$ENR_DIR/hook.sh"
acme_config "{\"type\":\"dns-01\",\"argv\":[\"$ENR_DIR/hook.sh\",\"--zone\",\"example.com\"]}"

cat >"$ENR_DIR/policy.json" <<'JSON'
{"version": 1, "san": {"dns_suffixes": ["example.com"], "allow_wildcards": true, "allow_ip": false}}
JSON
$PY - "$ENR_CONFIG" "$ENR_DIR/policy.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["policy"] = sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))
PYEOF
acme_request "$ENR_DIR/r1.json" r1 rsa:2048 "wild.example.com,*.wild.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out" 2>"$ENR_DIR/r1.err" ||
    enr_fail "r1 exited $?: $(cat "$ENR_DIR/r1.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["key_id"]')"
$PY - "$ENR_DIR/hook.calls" <<'PYEOF' || enr_fail "hook calls: $(cat "$ENR_DIR/hook.calls")"
import sys
calls = [l.split() for l in open(sys.argv[1])]
adds = [c for c in calls if c[2] == "add"]
removes = [c for c in calls if c[2] == "remove"]
assert all(c[:2] == ["--zone", "example.com"] for c in calls), calls
# Wildcard and apex: two different values at one name, each added and removed once.
assert len(adds) == 2 and {c[3] for c in adds} == {"_acme-challenge.wild.example.com."}, adds
assert adds[0][4] != adds[1][4] and len(adds[0][4]) == 43, adds
assert sorted(c[3:] for c in removes) == sorted(c[3:] for c in adds), (adds, removes)
assert calls.index(removes[0]) > calls.index(adds[-1]), calls
PYEOF

# Crash once the challenge is answered: the TXT value stays up; resume removes it
# (from the order's pending record), continues the same order, and finishes.
: >"$ENR_DIR/hook.calls"
orders=$(acme_orders)
acme_request "$ENR_DIR/rc.json" rc rsa:2048 "crash.example.com"
HSM2ACM_TEST_CRASH_AT=acme-answered enr_expect_fail 137 "crashing at acme-answered" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/rc.json"
grep -q " add _acme-challenge.crash.example.com. " "$ENR_DIR/hook.calls" || enr_fail "crash: no add"
! grep -q " remove " "$ENR_DIR/hook.calls" || enr_fail "crash: removed before dying?"
"$H2A_BIN" resume --config "$ENR_CONFIG" rc >"$ENR_DIR/rc.out" 2>"$ENR_DIR/rc.err" ||
    enr_fail "resume exited $?: $(cat "$ENR_DIR/rc.err")"
[ "$(acme_orders)" = $((orders + 1)) ] || enr_fail "resume ordered again"
added=$(awk '$3 == "add" {print $4, $5}' "$ENR_DIR/hook.calls" | sort)
removed=$(awk '$3 == "remove" {print $4, $5}' "$ENR_DIR/hook.calls" | sort -u)
[ -n "$added" ] && [ "$added" = "$removed" ] || enr_fail "leftover TXT not removed: $(cat "$ENR_DIR/hook.calls")"
enr_check_acm_key "$(enr_json "$ENR_DIR/rc.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/rc.out" 'd["targets"][0]["key_id"]')"
[ -z "$(ls "$ENR_DIR"/state/acme/*.pending 2>/dev/null)" ] || enr_fail "pending record left"

# A failing hook: exit 6 with its stderr, nothing staged, the key destroyed.
touch "$ENR_DIR/hook.fail"
objs=$(enr_objects)
acme_request "$ENR_DIR/r2.json" r2 rsa:2048 "fail.example.com"
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r2.json" >/dev/null 2>"$ENR_DIR/r2.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "failing hook: exit $rc: $(cat "$ENR_DIR/r2.err")"
grep -q "dns-01 hook 'add _acme-challenge.fail.example.com. .*exited 3: refusing on purpose" "$ENR_DIR/r2.err" ||
    enr_fail "failing hook message: $(cat "$ENR_DIR/r2.err")"
[ "$(enr_objects)" = "$objs" ] || enr_fail "failing hook left the key"
[ -z "$(enr_secrets)" ] || enr_fail "failing hook staged something"

# challenge none: pebble's authorizations are pending, so the order cannot proceed.
acme_config '{"type":"none"}'
acme_request "$ENR_DIR/r3.json" r3 rsa:2048 "none.example.com"
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r3.json" >/dev/null 2>"$ENR_DIR/r3.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "challenge none: exit $rc"
grep -q "none.example.com is not pre-authorized and challenge is none" "$ENR_DIR/r3.err" ||
    enr_fail "challenge none message: $(cat "$ENR_DIR/r3.err")"
echo PASS
