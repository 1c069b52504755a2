#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sweep's key retention (policy "keys"): per ARN the keys of the newest
# retain_generations generations stay, older ones go once destroy_after_days
# have passed (never the current one, never one an unfinished request needs,
# never one a kept generation shares); each destruction is listed, audited
# and journaled (status: key_destroyed; rollback to it refused).
. "$(dirname "$0")/enroll_lib.sh"
enr_setup renew_sweep

has_key() { enr_token_has_key "$1" && echo yes || echo no; }

enr_request "$ENR_DIR/a.json" a ec:P-256 "a.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/a.json" >"$ENR_DIR/a.out"
arn=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["certificate_arn"]')
k[1]=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["key_id"]')
s[1]=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["serial"]')
for g in 2 3 4; do
    "$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/r$g.out"
    k[$g]=$(enr_json "$ENR_DIR/r$g.out" 'd["result"]["targets"][0]["key_id"]')
    s[$g]=$(enr_json "$ENR_DIR/r$g.out" 'd["result"]["targets"][0]["serial"]')
done

# The default policy keeps keys 30 days after they were replaced: nothing goes.
"$H2A_BIN" sweep --config "$ENR_CONFIG" >"$ENR_DIR/sw0.json"
[ "$(enr_json "$ENR_DIR/sw0.json" 'len(d["destroyed_keys"])')" = 0 ] || enr_fail "default policy destroyed keys"
for g in 1 2 3 4; do [ "$(has_key "${k[$g]}")" = yes ] || enr_fail "key $g gone"; done

printf '{"keys": {"retain_generations": 2, "destroy_after_days": 0}}' >"$ENR_DIR/keep2.json"
enr_config_with "$ENR_DIR/keep2.conf" "{\"policy\": \"$ENR_DIR/keep2.json\"}"

# An unfinished rollback to generation 2 needs its key: sweep leaves it.
set +e
HSM2ACM_TEST_CRASH_AT=stage "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "${s[2]}" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 137 ] || enr_fail "rollback did not crash at stage ($rc)"
"$H2A_BIN" sweep --config "$ENR_DIR/keep2.conf" >"$ENR_DIR/sw1.json"
[ "$(enr_json "$ENR_DIR/sw1.json" '[x["generation"] for x in d["destroyed_keys"]]')" = "[1]" ] ||
    enr_fail "first retention sweep: $(cat "$ENR_DIR/sw1.json")"
[ "$(has_key "${k[1]}") $(has_key "${k[2]}") $(has_key "${k[3]}") $(has_key "${k[4]}")" = "no yes yes yes" ] ||
    enr_fail "keys after the first sweep"
[ "$(grep -c '"retention_destroy"' "$ENR_DIR/state/audit.log")" = 1 ] || enr_fail "audit lines after the first sweep"

# The rollback finishes (generation 5, key 2); now generations 5 and 4 are
# kept, and generation 2 shares key 2 with 5: only key 3 goes.
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "${s[2]}" >/dev/null
"$H2A_BIN" sweep --config "$ENR_DIR/keep2.conf" >"$ENR_DIR/sw2.json"
[ "$(enr_json "$ENR_DIR/sw2.json" '[x["generation"] for x in d["destroyed_keys"]]')" = "[3]" ] ||
    enr_fail "second retention sweep: $(cat "$ENR_DIR/sw2.json")"
[ "$(has_key "${k[1]}") $(has_key "${k[2]}") $(has_key "${k[3]}") $(has_key "${k[4]}")" = "no yes no yes" ] ||
    enr_fail "keys after the second sweep"
[ "$(grep -c '"retention_destroy"' "$ENR_DIR/state/audit.log")" = 2 ] || enr_fail "audit lines after the second sweep"
# Again: nothing more to do.
"$H2A_BIN" sweep --config "$ENR_DIR/keep2.conf" >"$ENR_DIR/sw3.json"
[ "$(enr_json "$ENR_DIR/sw3.json" 'len(d["destroyed_keys"])')" = 0 ] || enr_fail "third sweep destroyed more"

"$H2A_BIN" status --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/st.json"
$PY - "$ENR_DIR/st.json" <<'PYEOF' || enr_fail "status after retention"
import json, sys
g = json.load(open(sys.argv[1]))["generations"]
st = {x["generation"]: (x["state"], x["can_rollback"]) for x in g}
assert st == {5: ("serving", False), 4: ("retained", True), 3: ("key_destroyed", False),
              2: ("retained", True), 1: ("key_destroyed", False)}, st
PYEOF
enr_expect_fail 3 "destroyed by sweep" "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "${s[3]}"
echo PASS
