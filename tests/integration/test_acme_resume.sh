#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Resuming ACME orders against pebble:
# 1. a crash right after finalize was accepted: resume downloads the
#    certificate of that order (one order, one finalize), and no webroot
#    file or pending-records note is left;
# 2. a journaled order the server no longer knows (the handle pointed at a
#    bogus order, as after a server that forgot it): resume makes a new order,
#    says so, journals it before any challenge is answered (a crash right
#    after answering, then a second resume, still finds that one order),
#    and one certificate is issued;
# 3. a journaled order that became invalid (its challenge failed while no
#    run was there): resume replaces it and gets the certificate.
. "$(dirname "$0")/acme_lib.sh"
acme_setup acme_resume
mkdir -p "$ENR_DIR/www"
$PY -m http.server --bind 127.0.0.1 --directory "$ENR_DIR/www" "$H2A_PEBBLE_HTTP_PORT" \
    >"$ENR_DIR/www.log" 2>&1 &
www=$!
trap 'kill $www 2>/dev/null; acme_cleanup' EXIT
acme_config "{\"type\":\"http-01\",\"webroot\":\"$ENR_DIR/www\"}"
finalizes() { grep -c 'POST /finalize-order/' "$ENR_DIR/pebble/pebble.log" || true; }
handle() {
    $PY - "$ENR_DIR/state/journal.db" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT issuer_handle FROM requests WHERE id=?", (sys.argv[2],)).fetchone()[0])
PYEOF
}

# 1. Crash after finalize.
acme_request "$ENR_DIR/f.json" f rsa:2048 "fin.example.com"
HSM2ACM_TEST_CRASH_AT=acme-finalized enr_expect_fail 137 "crashing at acme-finalized" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/f.json"
[ "$(acme_orders)" = 1 ] && [ "$(finalizes)" = 1 ] || enr_fail "crash run: $(acme_orders) orders, $(finalizes) finalizes"
"$H2A_BIN" resume --config "$ENR_CONFIG" f >"$ENR_DIR/f.out" 2>"$ENR_DIR/f.err" ||
    enr_fail "resume after finalize exited $?: $(cat "$ENR_DIR/f.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/f.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/f.out" 'd["targets"][0]["key_id"]')"
[ "$(acme_orders)" = 1 ] && [ "$(finalizes)" = 1 ] ||
    enr_fail "resume after finalize: $(acme_orders) orders, $(finalizes) finalizes"
[ -z "$(ls -A "$ENR_DIR/www/.well-known/acme-challenge")" ] || enr_fail "webroot file left behind"
! ls "$ENR_DIR"/state/acme/*.pending >/dev/null 2>&1 || enr_fail "pending-records note left behind"
! ls "$ENR_DIR"/state/acme/csr-* >/dev/null 2>&1 || enr_fail "the CSR of an issued order left behind"

# 2. The journaled order is gone: point the handle at an order pebble never made.
acme_request "$ENR_DIR/g.json" g rsa:2048 "gone.example.com"
HSM2ACM_TEST_CRASH_AT=submitted enr_expect_fail 137 "crashing at submitted" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/g.json"
[ "$(acme_orders)" = 2 ] || enr_fail "orders after the submit crash: $(acme_orders)"
old=$(handle g)
bogus="${old%/*}/bogus-order-id"
$PY - "$ENR_DIR/state/journal.db" "$bogus" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE requests SET issuer_handle=? WHERE id='g'", (sys.argv[2],))
db.commit()
PYEOF
# The resume replaces it, and dies right after answering the new order's challenge.
set +e
HSM2ACM_TEST_CRASH_AT=acme-answered "$H2A_BIN" resume --config "$ENR_CONFIG" g \
    >/dev/null 2>"$ENR_DIR/g.r1.err"
rc=$?
set -e
[ "$rc" = 137 ] || enr_fail "resume with a gone order: exit $rc: $(cat "$ENR_DIR/g.r1.err")"
grep -q "order $bogus is unknown to the server (HTTP 404): replaced by the new order https://" \
    "$ENR_DIR/g.r1.err" || enr_fail "no replacement message: $(cat "$ENR_DIR/g.r1.err")"
grep -q 'crashing at acme-answered' "$ENR_DIR/g.r1.err" || enr_fail "the new order was not answered"
new=$(handle g)
[ "$new" != "$bogus" ] && [ "$new" != "$old" ] || enr_fail "journal still holds $new"
grep -q "replaced by the new order $new" "$ENR_DIR/g.r1.err" || enr_fail "journaled $new, not the new order"
[ "$(acme_orders)" = 3 ] || enr_fail "orders after the replacement: $(acme_orders)"
# The second resume continues the journaled replacement: no further order.
"$H2A_BIN" resume --config "$ENR_CONFIG" g >"$ENR_DIR/g.out" 2>"$ENR_DIR/g.err" ||
    enr_fail "second resume exited $?: $(cat "$ENR_DIR/g.err")"
[ "$(acme_orders)" = 3 ] || enr_fail "the second resume ordered again: $(acme_orders)"
[ "$(handle g)" = "$new" ] || enr_fail "handle changed on the second resume"
! grep -q 'replaced by the new order' "$ENR_DIR/g.err" || enr_fail "replaced a live order"
[ "$(finalizes)" = 2 ] || enr_fail "finalizes: $(finalizes)"
enr_check_acm_key "$(enr_json "$ENR_DIR/g.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/g.out" 'd["targets"][0]["key_id"]')"
$PY - "$ENR_DIR/state/audit.log" "$new" "$bogus" <<'PYEOF' || enr_fail "no audit record of the replacement"
import json, sys
log, new, bogus = sys.argv[1:4]
ev = [json.loads(l) for l in open(log)]
rep = [e for e in ev if e.get("outcome") == "replaced"]
assert len(rep) == 1 and rep[0]["step"] == "submit", rep
assert new in json.dumps(rep[0]) and bogus in json.dumps(rep[0]), rep[0]
PYEOF
[ -z "$(ls -A "$ENR_DIR/www/.well-known/acme-challenge")" ] || enr_fail "webroot file left behind"

# 3. A journaled order that became invalid: its challenge was answered by a run whose responder
#    pebble could not reach (a port pebble does not use), which then died; resume with the
#    right port replaces the order.
acme_config "{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$(h2a_free_port)\"}"
acme_request "$ENR_DIR/i.json" i rsa:2048 "invalid.example.com"
HSM2ACM_TEST_CRASH_AT=acme-answered enr_expect_fail 137 "crashing at acme-answered" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/i.json"
dead=$(handle i)
kill $www 2>/dev/null; wait $www 2>/dev/null || true
trap acme_cleanup EXIT
acme_config "{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}"
sleep 1 # pebble's validation of the unreachable responder fails, and the order with it
"$H2A_BIN" resume --config "$ENR_CONFIG" i >"$ENR_DIR/i.out" 2>"$ENR_DIR/i.err" ||
    enr_fail "resume of an invalid order exited $?: $(cat "$ENR_DIR/i.err")"
grep -q "order $dead is invalid: urn:ietf:params:acme:error:.*: replaced by the new order https://" \
    "$ENR_DIR/i.err" || enr_fail "invalid order not replaced: $(cat "$ENR_DIR/i.err")"
[ "$(handle i)" != "$dead" ] || enr_fail "the invalid order is still journaled"
[ "$(acme_orders)" = 5 ] || enr_fail "orders after replacing the invalid one: $(acme_orders)"
enr_check_acm_key "$(enr_json "$ENR_DIR/i.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/i.out" 'd["targets"][0]["key_id"]')"
echo PASS
