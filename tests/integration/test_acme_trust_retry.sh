#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# trust_anchors and Retry-After against pebble:
# 1. trust_anchors naming a CA the leaf does not chain to: exit 7, the key
#    destroyed, nothing staged or imported; pebble's own root: success.
# 2. newOrder answered 429 rateLimited with "Retry-After: 2" twice (a proxy in
#    front of pebble): the client waits at least 2 s before each retry, sends
#    exactly three newOrders, and succeeds.
# 3. A Retry-After longer than the issuer's timeout is not waited for: exit 6
#    at once, quoting the rateLimited problem.
# 4. A hostile server's challenge token carrying a newline and a record of its
#    own: refused before anything is written (exit 6), no webroot file, no
#    pending note for a resume to act on, the key destroyed.
. "$(dirname "$0")/acme_lib.sh"
acme_setup acme_trust_retry
listen="{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}"
curl -sf --cacert "$H2A_PEBBLE_CA" "$H2A_PEBBLE_MGMT/roots/0" >"$ENR_DIR/root.pem"
grep -q 'BEGIN CERTIFICATE' "$ENR_DIR/root.pem" || enr_fail "pebble gave no root"
certs() { enr_acm | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))'; }

# 1a. The wrong anchor: pebble's TLS CA signed no ACME certificate.
acme_config "$listen" "{\"trust_anchors\":\"$H2A_PEBBLE_CA\"}"
acme_request "$ENR_DIR/t1.json" t1 rsa:2048 "anchor.example.com"
objs=$(enr_objects); before=$(certs)
enr_expect_fail 7 "certificate from issuer 'acme' does not verify to its trust_anchors" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/t1.json"
# The account key pair (made by this first run) stays; the certificate key made for t1 is gone.
[ "$(enr_objects)" = $((objs + 2)) ] || enr_fail "wrong anchor left the key ($(enr_objects) vs $objs + 2)"
[ -z "$(enr_secrets)" ] || enr_fail "wrong anchor staged something"
[ "$(certs)" = "$before" ] || enr_fail "wrong anchor imported something"

# 1b. The right anchor.
acme_config "$listen" "{\"trust_anchors\":\"$ENR_DIR/root.pem\"}"
acme_request "$ENR_DIR/t2.json" t2 rsa:2048 "anchor2.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/t2.json" >"$ENR_DIR/t2.out" 2>"$ENR_DIR/t2.err" ||
    enr_fail "right anchor exited $?: $(cat "$ENR_DIR/t2.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/t2.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/t2.out" 'd["targets"][0]["key_id"]')"

# 2. Two 429s with Retry-After: 2 on newOrder.
# Account URLs carry the host the account was made through: a new account per proxy.
H2A_PROXY_429=/order-plz:2:2 acme_proxy_start
acme_config "$listen" '{"account_key":{"label":"acme-account-p1","type":"ec:P-256"}}'
acme_request "$ENR_DIR/r1.json" r1 rsa:2048 "retry.example.com"
HSM2ACM_LOG=info "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out" \
    2>"$ENR_DIR/r1.err" || enr_fail "Retry-After run exited $?: $(cat "$ENR_DIR/r1.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["key_id"]')"
$PY - "$ENR_DIR/ari.log.429" <<'PYEOF' || enr_fail "Retry-After not honoured"
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1])]
assert len(t) == 3, t  # two refused, one through: no hammering
gaps = [b - a for a, b in zip(t, t[1:])]
assert all(g >= 2.0 for g in gaps), gaps
print("ok: newOrder retried after", ["%.2f" % g for g in gaps])
PYEOF
[ "$(grep -c 'answered 429, waiting 2000 ms (Retry-After)' "$ENR_DIR/r1.err")" = 2 ] ||
    enr_fail "no Retry-After wait logged: $(cat "$ENR_DIR/r1.err")"
kill "$ACME_PROXY_PID"; wait "$ACME_PROXY_PID" 2>/dev/null || true

# 3. Retry-After past the timeout (and past what usleep could take): refused at once.
rm -f "$ENR_DIR/ari.log.429"
H2A_PROXY_429=/order-plz:1:5000000 acme_proxy_start
acme_config "$listen" '{"timeout_seconds":30,"account_key":{"label":"acme-account-p2","type":"ec:P-256"}}'
acme_request "$ENR_DIR/r2.json" r2 rsa:2048 "late.example.com"
objs=$(($(enr_objects) + 2)) # the new account key pair stays
start=$(date +%s)
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r2.json" >/dev/null 2>"$ENR_DIR/r2.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "long Retry-After: exit $rc: $(cat "$ENR_DIR/r2.err")"
[ $(($(date +%s) - start)) -lt 20 ] || enr_fail "long Retry-After was waited for"
grep -q 'HTTP 429: urn:ietf:params:acme:error:rateLimited: slow down' "$ENR_DIR/r2.err" ||
    enr_fail "long Retry-After message: $(cat "$ENR_DIR/r2.err")"
[ "$(wc -l <"$ENR_DIR/ari.log.429")" = 1 ] || enr_fail "retried a refused newOrder"
[ "$(enr_objects)" = "$objs" ] || enr_fail "long Retry-After left the key"
kill "$ACME_PROXY_PID"; wait "$ACME_PROXY_PID" 2>/dev/null || true

# 4. A token with a planted line for the order's pending file.
H2A_PROXY_TOKEN=$'\ndns _acme-challenge.victim.example.com. planted' acme_proxy_start
mkdir -p "$ENR_DIR/www"
acme_config "{\"type\":\"http-01\",\"webroot\":\"$ENR_DIR/www\"}" \
    '{"account_key":{"label":"acme-account-p3","type":"ec:P-256"}}'
acme_request "$ENR_DIR/h1.json" h1 rsa:2048 "hostile.example.com"
objs=$(($(enr_objects) + 2))
enr_expect_fail 6 "hostile.example.com: the server's http-01 token is not base64url" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/h1.json"
! grep -rq planted "$ENR_DIR/state" "$ENR_DIR/www" || enr_fail "the planted record was written"
[ -z "$(find "$ENR_DIR/www" -type f)" ] || enr_fail "a webroot file was left"
[ -z "$(find "$ENR_DIR/state/acme" -name '*.pending')" ] || enr_fail "a pending note was left"
[ "$(enr_objects)" = "$objs" ] || enr_fail "hostile token left the key"
[ -z "$(enr_secrets)" ] || enr_fail "hostile token staged something"
echo PASS
