#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hsm2acm rollback: after a renewal ACM serves the previous serial with the
# previous (kept) key at the same ARN, and rolling forward again works; each
# rollback is a generation. Refusals before anything is touched (exit 3,
# naming the rule): the key no longer in the token, a certificate expiring
# within the margin, a renewal whose CA added an EKU that a rollback would remove.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup rollback

# acm_state ARN: "<serial> <reimport_count>" as ACM holds it.
acm_state() {
    enr_acm | $PY -c 'import json,sys
c=[c for c in json.load(sys.stdin)["certificates"] if c["arn"]==sys.argv[1]][0]
print(c["serial"].replace(":","").lstrip("0"), c["reimport_count"])' "$1"
}
nozero() { echo "$1" | sed 's/^0*//'; }

lb="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/shop/1"
enr_request "$ENR_DIR/a.json" a ec:P-256 "a.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/a.json" >"$ENR_DIR/a.out"
arn=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["certificate_arn"]')
s1=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["serial"]')
k1=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["key_id"]')
h2a_localaws_ctl POST /_control/acm/inuse "{\"arn\":\"$arn\",\"in_use_by\":[\"$lb\"]}" >/dev/null
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/renew.out"
s2=$(enr_json "$ENR_DIR/renew.out" 'd["result"]["targets"][0]["serial"]')
k2=$(enr_json "$ENR_DIR/renew.out" 'd["result"]["targets"][0]["key_id"]')

# Back to generation 1: its serial and its key, at the same ARN.
h2a_localaws_ctl DELETE /_control/calls >/dev/null
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/rb1.out" || enr_fail "rollback: $(cat "$ENR_DIR/rb1.out")"
[ "$(enr_json "$ENR_DIR/rb1.out" 'd["rollback_id"]')" = "a.r3" ] || enr_fail "rollback id"
[ "$(enr_json "$ENR_DIR/rb1.out" 'd["to_generation"]')" = 1 ] || enr_fail "rolled back to the wrong generation"
[ "$(acm_state "$arn")" = "$(nozero "$s1") 2" ] || enr_fail "ACM after rollback: $(acm_state "$arn"), want $s1"
enr_check_acm_key "$arn" "$k1" >/dev/null
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
[ "$(enr_cert_count)" = 1 ] || enr_fail "rollback made a certificate"
enr_acm | grep -qF "$lb" || enr_fail "InUseBy lost"
# Generation 1's tags are the ones the ARN carries: none written.
[ "$(enr_calls AddTagsToCertificate)" = 0 ] || enr_fail "rollback rewrote unchanged tags"
[ "$(enr_tags "$arn")" = "hsm2acm:managed=true hsm2acm:request-id=a hsm2acm:target=0" ] ||
    enr_fail "tags after rollback: $(enr_tags "$arn")"
"$H2A_BIN" status --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/st.json"
$PY - "$ENR_DIR/st.json" "$s1" <<'PYEOF' || enr_fail "status after rollback"
import json, sys
g = json.load(open(sys.argv[1]))["generations"]
assert [(x["generation"], x["reason"]) for x in g] == [(3, "rollback"), (2, "renew"), (1, "enroll")], g
assert g[0]["serial"] == sys.argv[2] and g[0]["state"] == "serving", g
assert g[1]["can_rollback"] is True, g
PYEOF

# Forward again: the previous generation (2, the renewal) is the one to go to.
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/rb2.out"
[ "$(enr_json "$ENR_DIR/rb2.out" 'd["to_generation"]')" = 2 ] || enr_fail "roll forward chose $(cat "$ENR_DIR/rb2.out")"
[ "$(enr_json "$ENR_DIR/rb2.out" 'd["rollback_id"]')" = "a.r4" ] || enr_fail "roll-forward id"
[ "$(acm_state "$arn")" = "$(nozero "$s2") 3" ] || enr_fail "ACM after roll forward: $(acm_state "$arn")"
enr_check_acm_key "$arn" "$k2" >/dev/null
# By serial: back to s1, then forward to s2 again.
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "$s1" >"$ENR_DIR/rb3.out"
[ "$(acm_state "$arn")" = "$(nozero "$s1") 4" ] || enr_fail "ACM after --to-serial: $(acm_state "$arn")"
enr_check_acm_key "$arn" "$k1" >/dev/null
# Running a finished rollback's id again delivers nothing more.
"$H2A_BIN" resume --config "$ENR_CONFIG" a.r5 >/dev/null
[ "$(acm_state "$arn")" = "$(nozero "$s1") 4" ] || enr_fail "resume delivered again"
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "$s2" >"$ENR_DIR/rb4.out"
[ "$(acm_state "$arn")" = "$(nozero "$s2") 5" ] || enr_fail "ACM after the second roll forward"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"

# Back to a generation whose request had other tags (d-1's, before d-2 reimported
# with its own): they are written again, under the line's name (d-2).
enr_request "$ENR_DIR/d1.json" d-1 ec:P-256 "d.example.com" '[{"region":"eu-west-1","tags":{"team":"a"}}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/d1.json" >"$ENR_DIR/d1.out"
darn=$(enr_json "$ENR_DIR/d1.out" 'd["targets"][0]["certificate_arn"]')
enr_request "$ENR_DIR/d2.json" d-2 inherit "d.example.com" "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$darn\",\"tags\":{\"team\":\"b\"}}]"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/d2.json" >"$ENR_DIR/d2.out"
[ "$(enr_tags "$darn")" = "hsm2acm:managed=true hsm2acm:request-id=d-2 hsm2acm:target=0 team=b" ] ||
    enr_fail "tags after d-2's reimport: $(enr_tags "$darn")"
h2a_localaws_ctl DELETE /_control/calls >/dev/null
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$darn" >"$ENR_DIR/drb.out" || enr_fail "rollback of d: $(cat "$ENR_DIR/drb.out")"
[ "$(enr_json "$ENR_DIR/drb.out" 'd["rollback_id"]')" = "d-2.r3" ] || enr_fail "d rollback id"
[ "$(enr_calls AddTagsToCertificate)" = 1 ] || enr_fail "rollback to other tags wrote them $(enr_calls AddTagsToCertificate) times"
[ "$(enr_tags "$darn")" = "hsm2acm:managed=true hsm2acm:request-id=d-2 hsm2acm:target=0 team=a" ] ||
    enr_fail "tags after the rollback to d-1: $(enr_tags "$darn")"

# Refused: nothing to go back to, an unknown serial.
enr_request "$ENR_DIR/b.json" b ec:P-256 "b.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/b.json" >"$ENR_DIR/b.out"
barn=$(enr_json "$ENR_DIR/b.out" 'd["targets"][0]["certificate_arn"]')
enr_expect_fail 2 "only one generation" "$H2A_BIN" rollback --config "$ENR_CONFIG" "$barn"
enr_expect_fail 2 "no earlier generation has serial 00ff" "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial 00ff

# Refused: the certificate expires within the margin (30-day certificates, 40 days asked).
printf '{"renewal": {"min_remaining_for_rollback_days": 40}}' >"$ENR_DIR/margin.json"
enr_config_with "$ENR_DIR/margin.conf" "{\"policy\": \"$ENR_DIR/margin.json\"}"
before=$(acm_state "$arn")
enr_expect_fail 3 "rule 'renewal.min_remaining_for_rollback_days' (40)" \
    "$H2A_BIN" rollback --config "$ENR_DIR/margin.conf" "$arn" --to-serial "$s1"
grep -qF "expires at" "$ENR_DIR/last.err" || enr_fail "margin refusal does not name the expiry"
[ "$(acm_state "$arn")" = "$before" ] || enr_fail "refused rollback changed ACM"

# Refused: the key of generation 1 is gone from the token.
objs=$(enr_objects)
pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
    --pin "$H2A_TEST_USER_PIN" --delete-object --type privkey --id "$k1" >/dev/null 2>&1
[ "$(enr_objects)" -lt "$objs" ] || enr_fail "could not delete the key"
objs=$(enr_objects)
enr_expect_fail 3 "rule 'key still in the token': generation 5's key $k1 is not in the token" \
    "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" --to-serial "$s1"
[ "$(acm_state "$arn")" = "$before" ] || enr_fail "refused rollback changed ACM"
[ "$(enr_objects)" = "$objs" ] || enr_fail "refused rollback changed the token"
[ -z "$(enr_secrets)" ] || enr_fail "refused rollback left a secret"

# Refused: the CA's new profile added an EKU at renewal (ACM accepts adding);
# rolling back would remove it, which ACM refuses, so hsm2acm refuses first.
renew_cmd_issuer "" "-extfile $ENR_DIR/cmdca/profile.ext"
printf 'extendedKeyUsage=serverAuth\n' >"$ca/profile.ext"
enr_request "$ENR_DIR/c.json" c ec:P-256 "c.example.com" '[{"region":"eu-west-1"}]' '{"issuer":"cmd"}'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/c.json" >"$ENR_DIR/c.out"
carn=$(enr_json "$ENR_DIR/c.out" 'd["targets"][0]["certificate_arn"]')
printf 'extendedKeyUsage=serverAuth,codeSigning\n' >"$ca/profile.ext"
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$carn" >"$ENR_DIR/c.renew" || enr_fail "renewal with an added EKU: $(cat "$ENR_DIR/c.renew")"
enr_acm | grep -q CODE_SIGNING || enr_acm | grep -qi "code" || enr_fail "ACM does not hold the added EKU"
before=$(acm_state "$carn")
enr_expect_fail 3 "CODE_SIGNING" "$H2A_BIN" rollback --config "$ENR_CONFIG" "$carn"
grep -qF "reimport rules" "$ENR_DIR/last.err" || enr_fail "EKU refusal does not name the rule"
[ "$(acm_state "$carn")" = "$before" ] || enr_fail "refused rollback changed ACM"
[ -z "$(enr_secrets)" ] || enr_fail "refused rollback left a secret"
echo PASS
