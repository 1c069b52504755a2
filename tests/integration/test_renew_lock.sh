#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One renew, rollback or adopt per ARN at a time. They run under different
# request ids (r1.g3, r1.r3, adopt-...), so the request lock alone would let
# them race on one ARN. While a renewal of the ARN waits in its issuer, a
# rollback, an adopt and a renewal named by ARN are refused with exit 8 and
# make nothing; while a rollback waits on ACM (a delayed DescribeCertificate),
# a renewal is refused the same way. Afterwards each of them works.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew_lock

# The command issuer waits while $ENR_DIR/gate exists, once it said it started.
renew_cmd_issuer "if [ -e \"$ENR_DIR/gate\" ]; then : >\"$ENR_DIR/started\"; i=0; while [ -e \"$ENR_DIR/gate\" ] && [ \$i -lt 600 ]; do i=\$((i + 1)); sleep 0.1; done; fi"
enr_request "$ENR_DIR/r1.json" r1 ec:P-256 lock.example.com '[{"region":"eu-west-1"}]' '{"issuer":"cmd"}'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out"
arn=$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')
"$H2A_BIN" renew --config "$ENR_CONFIG" --id r1 >"$ENR_DIR/g2.out" || enr_fail "first renewal: $(cat "$ENR_DIR/g2.out")"

serving() { enr_acm | $PY -c 'import json,sys; print([c["serial"] for c in json.load(sys.stdin)["certificates"] if c["arn"] == sys.argv[1]][0])' "$arn"; }
gens() { "$H2A_BIN" status --config "$ENR_CONFIG" "$arn" | $PY -c 'import json,sys; print([(g["generation"], g["reason"]) for g in json.load(sys.stdin)["generations"]])'; }
# nothing_made NAME: token, staging secrets, ACM's certificates, the serial it serves and the generations as before.
nothing_made() {
    enr_unchanged "$1"
    [ "$(serving)" = "$serial" ] || enr_fail "$1: ACM serves another serial"
    [ "$(gens)" = "$gens_before" ] || enr_fail "$1: generations changed: $(gens)"
}

echo "a renewal of the ARN waits in its issuer:"
: >"$ENR_DIR/gate"
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/slow.out" 2>"$ENR_DIR/slow.err" &
slow=$!
for _ in $(seq 200); do [ -e "$ENR_DIR/started" ] && break; sleep 0.05; done
[ -e "$ENR_DIR/started" ] || enr_fail "the renewal never reached its issuer: $(cat "$ENR_DIR/slow.err")"
objs=$(enr_objects) certs=$(enr_cert_count) serial=$(serving) gens_before=$(gens)
# The renewal's key is made before it asks the issuer: the count above includes it.

echo "rollback of that ARN meanwhile:"
enr_expect_fail 8 "$arn is being renewed, rolled back or adopted by another hsm2acm process" \
    "$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn"
nothing_made rollback
enr_expect_fail 8 "no delivery of it" "$H2A_BIN" status --config "$ENR_CONFIG" r1.r3
echo "adopt of that ARN meanwhile:"
enr_expect_fail 8 "$arn is being renewed, rolled back or adopted" \
    "$H2A_BIN" adopt --config "$ENR_CONFIG" "$arn" --issuer demo --requester team-web
nothing_made adopt
echo "a second renewal of that ARN meanwhile:"
set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/second.out" 2>"$ENR_DIR/second.err"
rc=$?
set -e
[ "$rc" = 8 ] || enr_fail "second renewal: exit $rc, expected 8: $(cat "$ENR_DIR/second.out")"
grep -qF '"exit_code":8' "$ENR_DIR/second.out" || enr_fail "second renewal line: $(cat "$ENR_DIR/second.out")"
nothing_made "second renewal"

rm -f "$ENR_DIR/gate"
wait "$slow" || enr_fail "the waiting renewal failed: $(cat "$ENR_DIR/slow.out" "$ENR_DIR/slow.err")"
[ "$(gens)" = "[(3, 'renew'), (2, 'renew'), (1, 'enroll')]" ] || enr_fail "after the renewal: $(gens)"

echo "rollback once the renewal is over: it works"
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/rb.out" || enr_fail "rollback: $(cat "$ENR_DIR/rb.out")"
[ "$(gens)" = "[(4, 'rollback'), (3, 'renew'), (2, 'renew'), (1, 'enroll')]" ] || enr_fail "after the rollback: $(gens)"

echo "a rollback waits on ACM (DescribeCertificate delayed 4 s); a renewal meanwhile:"
h2a_localaws_ctl POST /_control/faults '{"service":"acm","operation":"DescribeCertificate","kind":"delay","delay_ms":4000}' >/dev/null
"$H2A_BIN" rollback --config "$ENR_CONFIG" "$arn" >"$ENR_DIR/rb2.out" 2>"$ENR_DIR/rb2.err" &
rb=$!
for _ in $(seq 200); do
    [ "$(h2a_localaws_ctl GET /_control/faults | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["faults"]))')" = 0 ] && break
    sleep 0.05
done
objs=$(enr_objects) certs=$(enr_cert_count) serial=$(serving) gens_before=$(gens)
set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/third.out" 2>"$ENR_DIR/third.err"
rc=$?
set -e
kill -0 "$rb" 2>/dev/null || enr_fail "the rollback ended before the renewal was tried: $(cat "$ENR_DIR/rb2.err")"
[ "$rc" = 8 ] || enr_fail "renewal during a rollback: exit $rc, expected 8: $(cat "$ENR_DIR/third.out")"
grep -qF "is being renewed, rolled back or adopted" "$ENR_DIR/third.out" || enr_fail "renewal line: $(cat "$ENR_DIR/third.out")"
nothing_made "renewal during a rollback"
wait "$rb" || enr_fail "the delayed rollback failed: $(cat "$ENR_DIR/rb2.out" "$ENR_DIR/rb2.err")"
[ "$(gens)" = "[(5, 'rollback'), (4, 'rollback'), (3, 'renew'), (2, 'renew'), (1, 'enroll')]" ] || enr_fail "after the second rollback: $(gens)"

echo "and the renewal afterwards:"
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/g6.out" || enr_fail "renewal after the rollback: $(cat "$ENR_DIR/g6.out")"
[ "$(gens | cut -c1-15)" = "[(6, 'renew'), " ] || enr_fail "after the last renewal: $(gens)"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
echo PASS
