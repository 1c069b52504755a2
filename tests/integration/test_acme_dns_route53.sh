#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dns-01 through hsm2acm's Route 53 client, end to end: the local AWS
# endpoint mirrors TXT changes to pebble-challtestsrv, which pebble resolves
# through. A wildcard and its apex in one order need two values at one name
# beside a value someone else keeps there; afterwards only that value is
# left, on success and on failure; route53_zone finds the zone by name.
. "$(dirname "$0")/acme_lib.sh"
export PEBBLE_AUTHZREUSE=0
acme_setup acme_dns_route53
zone=$(acme_r53_zone)
name=_acme-challenge.wild.example.com.
ENR_REGION=us-east-1 enr_aws route53 change-resource-record-sets --hosted-zone-id "$zone" --change-batch \
    "{\"Changes\":[{\"Action\":\"CREATE\",\"ResourceRecordSet\":{\"Name\":\"$name\",\"Type\":\"TXT\",\"TTL\":300,\"ResourceRecords\":[{\"Value\":\"\\\"someone-else\\\"\"}]}}]}" >/dev/null
txt() { # the TXT values the zone holds at $name, sorted, one line
    h2a_localaws_ctl GET /_control/route53 | $PY -c '
import json, sys
z = json.load(sys.stdin)["zones"][0]
print(" ".join(sorted(v for s in z["rrsets"] if s["name"] == sys.argv[1] and s["type"] == "TXT" for v in s["values"])))' "$name"
}
cat >"$ENR_DIR/policy.json" <<'JSON'
{"version": 1, "san": {"dns_suffixes": ["example.com"], "allow_wildcards": true, "allow_ip": false}}
JSON
acme_config "{\"type\":\"dns-01\",\"route53_hosted_zone_id\":\"${zone##*/}\"}"
$PY - "$ENR_CONFIG" "$ENR_DIR/policy.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["policy"] = sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))
PYEOF

acme_request "$ENR_DIR/r1.json" r1 rsa:2048 "wild.example.com,*.wild.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out" 2>"$ENR_DIR/r1.err" ||
    enr_fail "r1 exited $?: $(cat "$ENR_DIR/r1.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["key_id"]')"
[ "$(txt)" = '"someone-else"' ] || enr_fail "TXT left at $name: $(txt)"

# Failure: the mirror is off, so pebble finds no TXT record: exit 6, our value removed anyway.
h2a_localaws_ctl POST /_control/route53/forward '{"challtestsrv":""}' >/dev/null
acme_config '{"type":"dns-01","route53_zone":"example.com"}'
$PY - "$ENR_CONFIG" "$ENR_DIR/policy.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["policy"] = sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))
PYEOF
objs=$(enr_objects)
acme_request "$ENR_DIR/r2.json" r2 rsa:2048 "wild.example.com"
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r2.json" >/dev/null 2>"$ENR_DIR/r2.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "no TXT: exit $rc: $(cat "$ENR_DIR/r2.err")"
grep -q "authorization for wild.example.com is invalid: urn:ietf:params:acme:error:" "$ENR_DIR/r2.err" ||
    enr_fail "no TXT message: $(cat "$ENR_DIR/r2.err")"
[ "$(txt)" = '"someone-else"' ] || enr_fail "failure left TXT at $name: $(txt)"
[ "$(enr_objects)" = "$objs" ] || enr_fail "failure left the key"
[ -z "$(enr_secrets)" ] || enr_fail "failure staged something"

# An unknown zone name: exit 6 naming the key.
acme_config '{"type":"dns-01","route53_zone":"nowhere.test"}'
acme_request "$ENR_DIR/r3.json" r3 rsa:2048 "x.example.com"
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r3.json" >/dev/null 2>"$ENR_DIR/r3.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "unknown zone: exit $rc: $(cat "$ENR_DIR/r3.err")"
grep -q "route53_zone: no hosted zone named nowhere.test." "$ENR_DIR/r3.err" || enr_fail "unknown zone message: $(cat "$ENR_DIR/r3.err")"
echo PASS
