#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hsm2acm renew and status: each key family, local and command issuers, into
# the same ARN (new serial, new key id, InUseBy unchanged, the previous key
# still in the token), generations journaled newest first, due computation
# with the test-build clock, --dry-run touching nothing, and a second renewal
# of the same ARN at once refused with exit 8.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew

# A command issuer: an openssl CA behind a script.
renew_cmd_issuer

lb="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/shop/1"
declare -A ARN KID SERIAL
n=0
for spec in "ec:P-256 demo" "ec:P-384 demo" "rsa:2048 demo" "ec:P-256 cmd" "ec:P-384 cmd"; do
    key=${spec% *} iss=${spec#* } n=$((n + 1))
    id="r$n"
    enr_request "$ENR_DIR/$id.json" "$id" "$key" "s$n.example.com" '[{"region":"eu-west-1"}]' "{\"issuer\":\"$iss\"}"
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out"
    ARN[$id]=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["certificate_arn"]')
    KID[$id]=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["key_id"]')
    SERIAL[$id]=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["serial"]')
    h2a_localaws_ctl POST /_control/acm/inuse "{\"arn\":\"${ARN[$id]}\",\"in_use_by\":[\"$lb\"]}" >/dev/null
done

# status after enrollment: one generation, serving, reason enroll.
"$H2A_BIN" status --config "$ENR_CONFIG" r1 >"$ENR_DIR/st1.json"
$PY - "$ENR_DIR/st1.json" "${ARN[r1]}" "${KID[r1]}" <<'PYEOF' || enr_fail "status after enroll"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d) == ["arn", "request_id", "generations"], list(d)
assert d["arn"] == sys.argv[2] and d["request_id"] == "r1", d
g = d["generations"]
assert len(g) == 1, g
assert list(g[0]) == ["generation", "reason", "state", "serial", "not_after", "key_id",
                      "imported_at", "can_rollback"], list(g[0])
assert g[0]["generation"] == 1 and g[0]["reason"] == "enroll" and g[0]["state"] == "serving", g
assert g[0]["key_id"] == sys.argv[3] and g[0]["can_rollback"] is False, g
PYEOF

# Nothing is due yet (30-day certificates, a third of 30 days is 9.9 days):
# a dry run lists nothing; 25 days later (the test-build clock) all five.
"$H2A_BIN" renew --config "$ENR_CONFIG" --dry-run >"$ENR_DIR/dry0.out"
[ ! -s "$ENR_DIR/dry0.out" ] || enr_fail "dry run lists certificates that are not due: $(cat "$ENR_DIR/dry0.out")"
calls_before=$(h2a_localaws_ctl GET /_control/calls | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
objs=$(enr_objects)
HSM2ACM_TEST_NOW=$(($(date +%s) + 25 * 86400)) "$H2A_BIN" renew --config "$ENR_CONFIG" --dry-run >"$ENR_DIR/dry1.out"
[ "$(wc -l <"$ENR_DIR/dry1.out")" = 5 ] || enr_fail "dry run 25 days on: $(cat "$ENR_DIR/dry1.out")"
$PY - "$ENR_DIR/dry1.out" <<'PYEOF' || enr_fail "dry run lines"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["due"] is True and d["why"] == "lifetime_fraction", d
    assert d["renewal_id"] == d["request_id"] + ".g2", d
PYEOF
calls_after=$(h2a_localaws_ctl GET /_control/calls | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
[ "$calls_before" = "$calls_after" ] || enr_fail "dry run made AWS calls ($calls_before -> $calls_after)"
[ "$(enr_objects)" = "$objs" ] || enr_fail "dry run touched the token"

# Renew them all (named, so the real clock does not matter): same ARN, new
# serial, new key, InUseBy unchanged, previous key kept.
args=()
for id in r1 r2 r3 r4 r5; do args+=(--arn "${ARN[$id]}"); done
h2a_localaws_ctl DELETE /_control/calls >/dev/null
"$H2A_BIN" renew --config "$ENR_CONFIG" "${args[@]}" >"$ENR_DIR/renew1.out" ||
    enr_fail "renew: exit $?: $(cat "$ENR_DIR/renew1.out")"
[ "$(wc -l <"$ENR_DIR/renew1.out")" = 5 ] || enr_fail "renew printed $(wc -l <"$ENR_DIR/renew1.out") lines"
enr_acm >"$ENR_DIR/acm.json"
for id in r1 r2 r3 r4 r5; do
    grep -F "\"request_id\":\"$id\"" "$ENR_DIR/renew1.out" >"$ENR_DIR/$id.renew" || enr_fail "$id: no renewal line"
    [ "$(enr_json "$ENR_DIR/$id.renew" 'd["renewal_id"]')" = "$id.g2" ] || enr_fail "$id: renewal id"
    [ "$(enr_json "$ENR_DIR/$id.renew" 'd["result"]["targets"][0]["certificate_arn"]')" = "${ARN[$id]}" ] || enr_fail "$id: ARN changed"
    s2=$(enr_json "$ENR_DIR/$id.renew" 'd["result"]["targets"][0]["serial"]')
    k2=$(enr_json "$ENR_DIR/$id.renew" 'd["result"]["targets"][0]["key_id"]')
    [ "$s2" != "${SERIAL[$id]}" ] || enr_fail "$id: serial unchanged"
    [ "$k2" != "${KID[$id]}" ] || enr_fail "$id: key reused"
    enr_check_acm_key "${ARN[$id]}" "$k2" >/dev/null
    enr_token_has_key "${KID[$id]}" || enr_fail "$id: previous key gone from the token"
    $PY - "$ENR_DIR/acm.json" "${ARN[$id]}" "$lb" <<'PYEOF' || enr_fail "$id: InUseBy"
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["certificates"] if c["arn"] == sys.argv[2]][0]
assert c["in_use_by"] == [sys.argv[3]], c["in_use_by"]
PYEOF
done
[ "$(enr_cert_count)" = 5 ] || enr_fail "renewal made new certificates"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
# ACM keeps tags across a reimport and a renewal's are its enrollment's: none are written,
# and the ARN still names the request that brought it under hsm2acm.
[ "$(enr_calls AddTagsToCertificate)" = 0 ] || enr_fail "renewal rewrote unchanged tags"
for id in r1 r2 r3 r4 r5; do
    [ "$(enr_tags "${ARN[$id]}")" = "hsm2acm:managed=true hsm2acm:request-id=$id hsm2acm:target=0" ] ||
        enr_fail "$id: tags after renewal: $(enr_tags "${ARN[$id]}")"
done

# Generations, newest first, by ARN and by either request id.
"$H2A_BIN" status --config "$ENR_CONFIG" "${ARN[r3]}" >"$ENR_DIR/st3.json"
$PY - "$ENR_DIR/st3.json" "${KID[r3]}" <<'PYEOF' || enr_fail "status after renew"
import json, sys
d = json.load(open(sys.argv[1]))
g = d["generations"]
assert d["request_id"] == "r3.g2", d
assert [x["generation"] for x in g] == [2, 1], g
assert [x["reason"] for x in g] == ["renew", "enroll"], g
assert [x["state"] for x in g] == ["serving", "retained"], g
assert g[1]["key_id"] == sys.argv[2] and g[0]["key_id"] != sys.argv[2], g
assert g[1]["can_rollback"] is True and g[0]["can_rollback"] is False, g
PYEOF
"$H2A_BIN" status --config "$ENR_CONFIG" r3.g2 | grep -q '"generation":2' || enr_fail "status by renewal id"

# Renewing again continues from generation 2 (id r1.g3, not r1.g2.g3).
"$H2A_BIN" renew --config "$ENR_CONFIG" --id r1 >"$ENR_DIR/renew2.out"
[ "$(enr_json "$ENR_DIR/renew2.out" 'd["renewal_id"]')" = "r1.g3" ] || enr_fail "third generation id"
"$H2A_BIN" status --config "$ENR_CONFIG" "${ARN[r1]}" | grep -q '"generation":3,"reason":"renew","state":"serving"' ||
    enr_fail "third generation not serving"

# The same renewal run twice is one delivery: the journal says it is done.
"$H2A_BIN" resume --config "$ENR_CONFIG" r1.g3 >/dev/null
[ "$(enr_cert_count)" = 5 ] || enr_fail "resume of a finished renewal delivered again"

# Unknown names: exit 2, nothing done.
enr_expect_fail 2 "no generation of it" "$H2A_BIN" renew --config "$ENR_CONFIG" \
    --arn "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000ffff"
enr_expect_fail 2 "no delivery of that request" "$H2A_BIN" renew --config "$ENR_CONFIG" --id nosuch
enr_expect_fail 8 "no delivery of it" "$H2A_BIN" status --config "$ENR_CONFIG" nosuch
enr_expect_fail 2 "expects one ID or ARN" "$H2A_BIN" status --config "$ENR_CONFIG"

# Two renewals of one ARN at once: the second is refused with exit 8 (the
# command issuer waits until the test lets it go).
cat >"$ca/slow.sh" <<SH
#!/bin/sh
touch "$ENR_DIR/slow.started"
while [ ! -e "$ENR_DIR/slow.go" ]; do sleep 0.1; done
exec "$ca/issue.sh"
SH
chmod +x "$ca/slow.sh"
# Swap the command issuer's program for the slow one for r4 only.
mv "$ca/issue.sh" "$ca/issue.fast.sh"
sed "s#exec \"$ca/issue.sh\"#exec \"$ca/issue.fast.sh\"#" "$ca/slow.sh" >"$ca/issue.sh"
chmod +x "$ca/issue.sh"
"$H2A_BIN" renew --config "$ENR_CONFIG" --id r4 >"$ENR_DIR/first.out" 2>"$ENR_DIR/first.err" &
first=$!
for _ in $(seq 100); do [ -e "$ENR_DIR/slow.started" ] && break; sleep 0.1; done
[ -e "$ENR_DIR/slow.started" ] || enr_fail "first renewal never reached its issuer"
set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --id r4 >"$ENR_DIR/second.out" 2>"$ENR_DIR/second.err"
rc=$?
set -e
touch "$ENR_DIR/slow.go"
wait "$first" || enr_fail "first renewal failed: $(cat "$ENR_DIR/first.out" "$ENR_DIR/first.err")"
[ "$rc" = 8 ] || enr_fail "second renewal: exit $rc, expected 8: $(cat "$ENR_DIR/second.out")"
grep -q '"exit_code":8' "$ENR_DIR/second.out" || enr_fail "second renewal line: $(cat "$ENR_DIR/second.out")"
"$H2A_BIN" status --config "$ENR_CONFIG" r4 | grep -q '"generation":3,"reason":"renew","state":"serving"' ||
    enr_fail "r4's renewal not serving"
[ "$(enr_cert_count)" = 5 ] || enr_fail "concurrent renewals made certificates"

# Every new command's --help ends with the exit-code table; usage errors are exit 2.
for cmd in renew status rollback adopt; do
    "$H2A_BIN" $cmd --help >"$ENR_DIR/help" 2>&1 || enr_fail "$cmd --help failed"
    tail -10 "$ENR_DIR/help" | head -1 | grep -q "^Exit codes:" || enr_fail "$cmd --help does not end in the exit-code table"
    "$H2A_BIN" --help | grep -q "^  $cmd " || enr_fail "$cmd not in hsm2acm --help"
done
enr_expect_fail 2 "--to-serial is a rollback option" "$H2A_BIN" renew --to-serial 01
enr_expect_fail 2 "is not an ARN" "$H2A_BIN" rollback --config "$ENR_CONFIG" r1
enr_expect_fail 2 "--dry-run, --arn, --id and --jobs are renew" "$H2A_BIN" status --dry-run r1
echo PASS
