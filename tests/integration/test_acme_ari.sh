#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ARI (RFC 9773): after issuance the renewal window is fetched from the
# directory's renewalInfo with the certificate's certID
# (base64url(AKI).base64url(serial)) and kept in the state directory.
# Pebble 2.4.0 has no ARI, so tests/lib/ari_proxy.py stands in front of it.
# A renewal of that certificate sends its certID as newOrder's "replaces".
. "$(dirname "$0")/acme_lib.sh"
export PEBBLE_ALTERNATE_ROOTS=1
acme_setup acme_ari
# preferred_chain: the alternate chain up to pebble's second root, by its common name.
alt=$(curl -sf --cacert "$H2A_PEBBLE_CA" "$H2A_PEBBLE_MGMT/roots/1" | openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
[ -n "$alt" ] || enr_fail "pebble has no alternate root"
acme_proxy_start
acme_config "{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}" "{\"preferred_chain\":\"$alt\"}"
acme_request "$ENR_DIR/r1.json" r1 rsa:2048 "ari.example.com"
: >"$ENR_DIR/ari.log.requests" # not the readiness check
HSM2ACM_LOG=info "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out" 2>"$ENR_DIR/r1.err" ||
    enr_fail "r1 exited $?: $(cat "$ENR_DIR/r1.err")"
arn=$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')
# One process, one issuer: one TLS connection and one directory read for submit and every poll.
[ "$(cut -d' ' -f1 "$ENR_DIR/ari.log.requests" | sort -u | wc -l)" = 1 ] ||
    enr_fail "connections: $(cat "$ENR_DIR/ari.log.requests")"
[ "$(grep -c ' GET /dir$' "$ENR_DIR/ari.log.requests")" = 1 ] ||
    enr_fail "directory read $(grep -c ' GET /dir$' "$ENR_DIR/ari.log.requests") times"
[ "$(grep -c ' POST /order-plz$' "$ENR_DIR/ari.log.requests")" = 1 ] || enr_fail "orders"
enr_acm >"$ENR_DIR/acm.json"
$PY - "$ENR_DIR/acm.json" "$arn" "$ENR_DIR/ari.log" "$ENR_DIR/state/acme" <<'PYEOF' || enr_fail "ARI"
import base64, json, os, sys
from cryptography import x509
acm, arn, log, state = sys.argv[1:5]
c = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn][0]
cert = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = cert.serial_number
ser = n.to_bytes((n.bit_length() + 8) // 8, "big")  # DER content octets: room for a sign bit
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
want = b64(aki) + "." + b64(ser)
asked = open(log).read().split()
assert asked == [want], (asked, want)
kept = json.load(open(os.path.join(state, "ari-%s.json" % want)))
assert kept["suggestedWindow"]["start"] == "2030-01-01T00:00:00Z", kept
print("ok ARI", want)
PYEOF
$PY - "$ENR_DIR/acm.json" "$arn" "$alt" <<'PYEOF' || enr_fail "preferred_chain"
import json, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
acm, arn, alt = sys.argv[1:4]
c = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn][0]
pems = c["chain_pem"].split("-----END CERTIFICATE-----")
top = x509.load_pem_x509_certificate((pems[-2] + "-----END CERTIFICATE-----\n").encode())
cn = top.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
assert cn == alt, (cn, alt)
print("ok preferred chain", cn)
PYEOF
grep -q "using the alternate chain" "$ENR_DIR/r1.err" || enr_fail "the alternate chain was not chosen"

# replaces: the enrollment's order had none; the renewal's names the certID asked for above.
[ "$(cat "$ENR_DIR/ari.log.orders")" = "-" ] || enr_fail "enrollment sent replaces: $(cat "$ENR_DIR/ari.log.orders")"
HSM2ACM_LOG=info "$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" >"$ENR_DIR/renew.out" 2>"$ENR_DIR/renew.err" ||
    enr_fail "renew exited $?: $(cat "$ENR_DIR/renew.err")"
[ "$(enr_json "$ENR_DIR/renew.out" 'd["result"]["targets"][0]["state"]')" = cleaned ] ||
    enr_fail "renew: $(cat "$ENR_DIR/renew.out")"
first=$(head -1 "$ENR_DIR/ari.log")
[ "$(sed -n 2p "$ENR_DIR/ari.log.orders")" = "$first" ] ||
    enr_fail "renewal replaces '$(sed -n 2p "$ENR_DIR/ari.log.orders")', wanted '$first'"
[ "$(wc -l <"$ENR_DIR/ari.log.orders")" = 2 ] || enr_fail "orders: $(cat "$ENR_DIR/ari.log.orders")"
grep -q "replacing certificate $first" "$ENR_DIR/renew.err" || enr_fail "no replaces in the log"

# A renewal whose journaled order is gone on resume: the replacement order sends replaces too.
set +e
HSM2ACM_TEST_CRASH_AT=submitted "$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn" \
    >/dev/null 2>"$ENR_DIR/renew3.crash.err"
set -e
grep -q 'crashing at submitted\|HSM2ACM_TEST_CRASH_AT' "$ENR_DIR/renew3.crash.err" ||
    enr_fail "renewal did not crash: $(cat "$ENR_DIR/renew3.crash.err")"
second=$(sed -n 2p "$ENR_DIR/ari.log")
[ "$(sed -n 3p "$ENR_DIR/ari.log.orders")" = "$second" ] ||
    enr_fail "second renewal replaces '$(sed -n 3p "$ENR_DIR/ari.log.orders")', wanted '$second'"
$PY - "$ENR_DIR/state/journal.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE requests SET issuer_handle = issuer_handle || '-gone' WHERE id='r1.g3'")
db.commit()
assert db.total_changes == 1
PYEOF
HSM2ACM_LOG=info "$H2A_BIN" resume --config "$ENR_CONFIG" r1.g3 >"$ENR_DIR/renew3.out" \
    2>"$ENR_DIR/renew3.err" || enr_fail "resume of the renewal exited $?: $(cat "$ENR_DIR/renew3.err")"
grep -q 'replaced by the new order' "$ENR_DIR/renew3.err" || enr_fail "order not replaced"
[ "$(sed -n 4p "$ENR_DIR/ari.log.orders")" = "$second" ] ||
    enr_fail "replacement order replaces '$(sed -n 4p "$ENR_DIR/ari.log.orders")', wanted '$second'"
! ls "$ENR_DIR"/state/acme/replaces-* >/dev/null 2>&1 || enr_fail "kept certID left behind"
echo PASS
