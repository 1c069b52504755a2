#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One enroll/resume per request id at a time. While a run of request A waits
# in its issuer, a second `enroll` of A and a `resume A` are refused (8) and
# touch nothing; a request B runs meanwhile (the lock is per id). Once A's
# run ends its lock is gone, and the state directory did not grow by a file
# per request.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_lock

# A command issuer that holds the first run until the test opens the gate,
# then signs with a software CA.
gca="$ENR_DIR/gate-ca"
mkdir -p "$gca"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$gca/ca.key" \
    -out "$gca/ca.pem" -days 30 -subj "/CN=gate CA" -addext "basicConstraints=critical,CA:true" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cat >"$ENR_DIR/issuer-gate.sh" <<SH
#!/bin/sh
cat >"$gca/req.csr"
: >"$ENR_DIR/in-issuer"
i=0
while [ ! -e "$ENR_DIR/gate-open" ]; do
    i=\$((i + 1)); [ \$i -lt 600 ] || exit 9
    sleep 0.05
done
openssl x509 -req -in "$gca/req.csr" -CA "$gca/ca.pem" -CAkey "$gca/ca.key" -CAcreateserial \
    -days 2 -copy_extensions copyall 2>/dev/null || exit 4
cat "$gca/ca.pem"
SH
chmod +x "$ENR_DIR/issuer-gate.sh"
enr_config_with "$ENR_DIR/config-gate.json" \
    "{\"issuers\":{\"gate\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/issuer-gate.sh\"],\"timeout_seconds\":60}}}"
cfg="$ENR_DIR/config-gate.json"

# Warm-up: the state directory, the local CA, the journal exist afterwards.
enr_request "$ENR_DIR/w.json" lock-warm ec:P-256 w.example.com '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/w.json" >/dev/null || enr_fail "warm-up enroll"
files_before=$(find "$ENR_DIR/state" | wc -l)

enr_request "$ENR_DIR/a.json" lock-a ec:P-256 a.example.com '[{"region":"eu-west-1"}]' '{"issuer":"gate"}'
enr_request "$ENR_DIR/b.json" lock-b ec:P-256 b.example.com '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/a.json" >"$ENR_DIR/a.out" 2>"$ENR_DIR/a.err" &
apid=$!
for _ in $(seq 1 400); do
    [ -e "$ENR_DIR/in-issuer" ] && break
    kill -0 "$apid" 2>/dev/null || enr_fail "first run of lock-a ended early: $(cat "$ENR_DIR/a.err")"
    sleep 0.05
done
[ -e "$ENR_DIR/in-issuer" ] || enr_fail "first run of lock-a never reached its issuer"
objs=$(enr_objects)
audit_lines=$(wc -l <"$ENR_DIR/state/audit.log")

echo "second enroll of lock-a while the first runs:"
enr_expect_fail 8 "request 'lock-a' is being worked on by another hsm2acm process" \
    "$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/a.json"
echo "resume of lock-a while the first runs:"
enr_expect_fail 8 "request 'lock-a' is being worked on by another hsm2acm process" \
    "$H2A_BIN" resume --config "$cfg" lock-a
[ "$(enr_objects)" = "$objs" ] || enr_fail "a refused run touched the token"
[ "$(wc -l <"$ENR_DIR/state/audit.log")" = "$audit_lines" ] || enr_fail "a refused run wrote audit lines"

echo "lock-b runs meanwhile:"
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/b.json" >"$ENR_DIR/b.out" || enr_fail "lock-b was held up by lock-a"
kill -0 "$apid" 2>/dev/null || enr_fail "lock-a ended before the gate opened"

: >"$ENR_DIR/gate-open"
wait "$apid" || enr_fail "first run of lock-a exited $?: $(cat "$ENR_DIR/a.err")"
arn=$(enr_json "$ENR_DIR/a.out" 'd["targets"][0]["certificate_arn"]')
[ -n "$arn" ] || enr_fail "lock-a has no ARN"

echo "lock-a again once the first run is over: its delivery, no new work:"
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/a.json" >"$ENR_DIR/a2.out" || enr_fail "lock-a after its run"
[ "$(enr_json "$ENR_DIR/a2.out" 'd["targets"][0]["certificate_arn"]')" = "$arn" ] || enr_fail "lock-a ARN changed"
[ "$(enr_cert_count)" = 3 ] || enr_fail "ACM holds $(enr_cert_count) certificates, expected 3"

# Two more requests ran, and the state directory holds as many files as before.
files_after=$(find "$ENR_DIR/state" | wc -l)
[ "$files_after" = "$files_before" ] ||
    enr_fail "state directory went from $files_before to $files_after entries: $(find "$ENR_DIR/state")"
echo "PASS"
