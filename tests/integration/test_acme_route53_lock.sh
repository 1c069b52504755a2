#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Route 53 changes to one name are serialised across processes: two
# enrollments run at once, each with its own TXT value at the same
# _acme-challenge name. The local endpoint applies the first changes late,
# so without the lock both would read the empty set and the second UPSERT
# would drop the first value (a lost update: that order's validation
# fails). The third change (the first removal) is late too: the endpoint
# mirrors a change to challtestsrv as clear-then-set, and a validation
# landing between the two would see nothing; Route 53 itself has no such gap.
# With the lock both enrollments succeed, every change puts in or takes out
# exactly one value, and both values are taken out again.
. "$(dirname "$0")/acme_lib.sh"
export PEBBLE_AUTHZREUSE=0
acme_setup acme_route53_lock
zone=$(acme_r53_zone)
name=_acme-challenge.lock.example.com.
acme_config "{\"type\":\"dns-01\",\"route53_hosted_zone_id\":\"${zone##*/}\"}"
# The account first: two processes starting together would take turns making it.
acme_request "$ENR_DIR/w.json" w rsa:2048 "warm.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/w.json" >/dev/null 2>"$ENR_DIR/w.err" ||
    enr_fail "warm-up exited $?: $(cat "$ENR_DIR/w.err")"
acme_request "$ENR_DIR/a.json" a rsa:2048 "lock.example.com"
acme_request "$ENR_DIR/b.json" b rsa:2048 "lock.example.com"
h2a_localaws_ctl DELETE /_control/calls >/dev/null
h2a_localaws_ctl POST /_control/faults \
    '{"service":"route53","operation":"ChangeResourceRecordSets","kind":"delay","delay_ms":1500,"count":3}' >/dev/null
HSM2ACM_LOG=info "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/a.json" >"$ENR_DIR/a.out" 2>"$ENR_DIR/a.err" &
pa=$!
HSM2ACM_LOG=info "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/b.json" >"$ENR_DIR/b.out" 2>"$ENR_DIR/b.err" &
pb=$!
rca=0; rcb=0
wait $pa || rca=$?
wait $pb || rcb=$?
[ "$rca" = 0 ] || enr_fail "a exited $rca: $(cat "$ENR_DIR/a.err")"
[ "$rcb" = 0 ] || enr_fail "b exited $rcb: $(cat "$ENR_DIR/b.err")"
for id in a b; do
    enr_check_acm_key "$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["certificate_arn"]')" \
        "$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["key_id"]')"
done
grep -q 'waiting for another hsm2acm process (r53 ' "$ENR_DIR/a.err" "$ENR_DIR/b.err" ||
    enr_fail "neither process waited for the other's Route 53 change"
h2a_localaws_ctl GET '/_control/calls?service=route53' >"$ENR_DIR/calls.json"
h2a_localaws_ctl GET /_control/route53 >"$ENR_DIR/zones.json"
$PY - "$ENR_DIR/calls.json" "$ENR_DIR/zones.json" "$name" <<'PYEOF' || enr_fail "Route 53 changes"
import json, sys
calls, zones, name = sys.argv[1:4]
changes = [c["params"]["ChangeBatch"]["Changes"][0] for c in json.load(open(calls))["calls"]
           if c["operation"] == "ChangeResourceRecordSets"]
assert all(c["ResourceRecordSet"]["Name"] == name for c in changes), changes
# Two adds and two removals. Whether the second add came while the first value was up (one
# UPSERT then carries both) or after it was taken out depends on scheduling; either way no
# change may lose a value: each one puts in or takes out exactly one value of the set before
# it (a lost update would swap one value for the other).
assert len(changes) == 4, changes
live, added = set(), []
for c in changes:
    vals = {r["Value"] for r in c["ResourceRecordSet"]["ResourceRecords"]}
    new = set() if c["Action"] == "DELETE" else vals
    if c["Action"] == "DELETE":
        assert vals == live, ("DELETE of a set that is not the one up", vals, live)
    assert len(live ^ new) == 1, ("a change that is not one value in or out", live, new)
    added += list(new - live)
    live = new
assert len(set(added)) == 2 and len(added) == 2, added
z = json.load(open(zones))["zones"][0]
left = [s for s in z["rrsets"] if s["name"] == name and s["type"] == "TXT"]
assert not left, left
print("ok: %d changes, %s, none left" % (len(changes), [(c["Action"], len(c["ResourceRecordSet"]["ResourceRecords"])) for c in changes]))
PYEOF
echo PASS
