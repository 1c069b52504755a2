#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Full enrollment for all six key types against SoftHSM2 + the local AWS
# endpoint: ACM holds exactly the token's key, the output names it, no
# staging secret is left, the journal and audit log hold no key material,
# and the same request again is a no-op that reports the same result.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_keytypes

n=0
for kt in ec:P-256 ec:P-384 ec:P-521 rsa:2048 rsa:3072 rsa:4096; do
    id="kt-${kt//[:]/-}"
    enr_request "$ENR_DIR/$id.json" "$id" "$kt" "www.example.com,api.example.com" \
        '[{"region":"eu-west-1","tags":{"env":"prod"}}]'
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" ||
        enr_fail "enroll $kt exited $?"
    n=$((n + 1))
    arn=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["certificate_arn"]')
    kid=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["key_id"]')
    [ "$(enr_json "$ENR_DIR/$id.out" 'd["id"]')" = "$id" ] || enr_fail "output id"
    for f in region account serial not_after kcv timings_ms; do
        [ "$(enr_json "$ENR_DIR/$id.out" "d['targets'][0]['$f'] is not None")" = True ] ||
            enr_fail "$kt: output lacks $f"
    done
    [ "$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["kcv"]')" = "$(enr_json "$ENR_DIR/wrapkey.json" 'd["kcv"]')" ] ||
        enr_fail "$kt: kcv differs from the wrap key's"
    enr_check_acm_key "$arn" "$kid"
    # The certificate carries the request's tags and hsm2acm's own.
    enr_acm >"$ENR_DIR/acm.json"
    $PY - "$ENR_DIR/acm.json" "$arn" "$id" <<'PYEOF' || enr_fail "$kt: tags"
import json, sys
acm, arn, rid = sys.argv[1:4]
c = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn][0]
tags = c["tags"] if isinstance(c["tags"], dict) else {t["Key"]: t["Value"] for t in c["tags"]}
assert tags.get("env") == "prod", tags
assert tags.get("hsm2acm:request-id") == rid, tags
PYEOF
    [ -z "$(enr_secrets)" ] || enr_fail "$kt: staging secret left: $(enr_secrets)"
done

# Exactly one certificate per request.
count=$(enr_acm | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')
[ "$count" = "$n" ] || enr_fail "ACM holds $count certificates, expected $n"

# Same request again: no new key, no new certificate, same answer.
objs=$(enr_objects)
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/kt-ec-P-256.json" >"$ENR_DIR/again.out" ||
    enr_fail "repeat exited $?"
[ "$(enr_json "$ENR_DIR/again.out" 'd["targets"][0]["certificate_arn"]')" = \
  "$(enr_json "$ENR_DIR/kt-ec-P-256.out" 'd["targets"][0]["certificate_arn"]')" ] || enr_fail "repeat: other ARN"
[ "$(enr_objects)" = "$objs" ] || enr_fail "repeat made token objects"
count=$(enr_acm | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')
[ "$count" = "$n" ] || enr_fail "repeat imported again"
# resume of a finished request reports it too.
"$H2A_BIN" resume --config "$ENR_CONFIG" kt-ec-P-256 >/dev/null || enr_fail "resume of a finished request"

# The same id with a different body is refused (exit 8), nothing made.
enr_request "$ENR_DIR/other.json" kt-ec-P-256 ec:P-256 "other.example.com" '[{"region":"eu-west-1"}]'
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/other.json" 2>"$ENR_DIR/err" >/dev/null
rc=$?
set -e
[ "$rc" = 8 ] || enr_fail "reused id: exit $rc, expected 8"
grep -q "already used for a different request" "$ENR_DIR/err" || enr_fail "reused id message: $(cat "$ENR_DIR/err")"
[ "$(enr_objects)" = "$objs" ] || enr_fail "reused id made token objects"

# Journal, audit log and state dir: modes, and no key material in any form.
[ "$(stat -c %a "$ENR_DIR/state")" = 700 ] || enr_fail "state dir mode"
[ "$(stat -c %a "$ENR_DIR/state/journal.db")" = 600 ] || enr_fail "journal mode"
[ "$(stat -c %a "$ENR_DIR/state/audit.log")" = 600 ] || enr_fail "audit mode"
enr_acm >"$ENR_DIR/acm.json"
$PY "$(dirname "$0")/enroll_nokey.py" "$ENR_DIR/acm.json" '*' "$ENR_DIR/state" ||
    enr_fail "key material found in the state dir"
grep -q '"step":"import","outcome":"ok"' "$ENR_DIR/state/audit.log" || enr_fail "audit has no import line"
grep -q '"caller":"arn:aws:iam::111111111111:user/h2a-test"' "$ENR_DIR/state/audit.log" || enr_fail "audit lacks the caller"
echo "PASS"
