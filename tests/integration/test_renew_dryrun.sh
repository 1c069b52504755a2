#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# renew --dry-run reads more than the journal, and still makes no AWS call:
#  - the ARI window the ACME issuer kept for a certificate (<state_dir>/acme/
#    ari-<certID>.json, certID computed here independently): a window that
#    has started makes the certificate due ("why": "ari") with use_ari true,
#    and is ignored with use_ari false;
#  - the inventory (hsm2acm discover): a certificate ACM holds a later copy of
#    (reimported outside hsm2acm) is judged by the inventory's not_after; one
#    the inventory marks managed that this journal has no generation of is
#    listed as "not_in_journal", an unmanaged one is not.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup renew_dryrun

declare -A ARN
for id in r1 r2 r3; do
    enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "$id.example.com" '[{"region":"eu-west-1"}]'
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out"
    ARN[$id]=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["certificate_arn"]')
done
calls() { h2a_localaws_ctl GET /_control/calls | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))'; }
# dry NAME [NOW] [CONFIG]: a dry run into $ENR_DIR/NAME.out; no AWS call, no token object.
dry() {
    local c0 o0 now=${2:-$(date +%s)}
    c0=$(calls) o0=$(enr_objects)
    HSM2ACM_TEST_NOW=$now "$H2A_BIN" renew --config "${3:-$ENR_CONFIG}" --dry-run >"$ENR_DIR/$1.out" ||
        enr_fail "dry run $1: $(cat "$ENR_DIR/$1.out")"
    [ "$(calls)" = "$c0" ] || enr_fail "dry run $1 made AWS calls"
    [ "$(enr_objects)" = "$o0" ] || enr_fail "dry run $1 touched the token"
}
# listed NAME: "arn why due" per line of a dry run, sorted.
listed() { $PY -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l); print(d["arn"], d["why"], d["due"])' "$ENR_DIR/$1.out" | sort; }

dry none
[ ! -s "$ENR_DIR/none.out" ] || enr_fail "fresh certificates listed: $(cat "$ENR_DIR/none.out")"

echo "ARI: r1's window ended an hour ago"
enr_acm >"$ENR_DIR/acm.json"
certid=$($PY - "$ENR_DIR/acm.json" "${ARN[r1]}" <<'PYEOF'
import base64, json, sys
from cryptography import x509
c = [c for c in json.load(open(sys.argv[1]))["certificates"] if c["arn"] == sys.argv[2]][0]
cert = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = cert.serial_number
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
print(b64(aki) + "." + b64(n.to_bytes((n.bit_length() + 8) // 8, "big")))
PYEOF
)
mkdir -m 700 -p "$ENR_DIR/state/acme"
$PY - "$ENR_DIR/state/acme/ari-$certid.json" <<'PYEOF'
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
f = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
# Wholly past: the point chosen in it (per certificate) is past whatever the serial.
json.dump({"suggestedWindow": {"start": f(now - datetime.timedelta(hours=2)),
                               "end": f(now - datetime.timedelta(hours=1))}}, open(sys.argv[1], "w"))
PYEOF
dry ari
[ "$(listed ari)" = "${ARN[r1]} ari True" ] || enr_fail "ARI window not used: $(cat "$ENR_DIR/ari.out")"
printf '{"renewal": {"use_ari": false}}' >"$ENR_DIR/noari.policy.json"
enr_config_with "$ENR_DIR/noari.conf" "{\"policy\": \"$ENR_DIR/noari.policy.json\"}"
dry noari "" "$ENR_DIR/noari.conf"
[ ! -s "$ENR_DIR/noari.out" ] || enr_fail "use_ari false still used the window: $(cat "$ENR_DIR/noari.out")"

echo "inventory: r2 reimported outside hsm2acm with a 90-day certificate; two more imports"
d="$ENR_DIR/outside"
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/r2.key" -out "$d/r2.pem" \
    -days 90 -subj "/CN=r2.example.com" -addext "subjectAltName=DNS:r2.example.com" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment" -addext "extendedKeyUsage=serverAuth,clientAuth" 2>/dev/null
enr_aws acm import-certificate --certificate-arn "${ARN[r2]}" --certificate "fileb://$d/r2.pem" \
    --private-key "fileb://$d/r2.key" >/dev/null
r2_after=$(date -u -d "$(openssl x509 -in "$d/r2.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
for n in tagged plain; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" -out "$d/$n.pem" \
        -days 20 -subj "/CN=$n.example.com" -addext "subjectAltName=DNS:$n.example.com" 2>/dev/null
done
tagged=$(enr_aws acm import-certificate --certificate "fileb://$d/tagged.pem" --private-key "fileb://$d/tagged.key" \
    --tags Key=hsm2acm:managed,Value=true --query CertificateArn --output text)
enr_aws acm import-certificate --certificate "fileb://$d/plain.pem" --private-key "fileb://$d/plain.key" >/dev/null
"$H2A_BIN" discover --config "$ENR_CONFIG" >"$ENR_DIR/discover.out" || enr_fail "discover: $(cat "$ENR_DIR/discover.out")"
# Its rows, not its bytes: closing a WAL database checkpoints discover's writes into the file.
inv_rows() { sqlite3 "$ENR_DIR/state/inventory.db" .dump | sha256sum; }
inv_sum=$(inv_rows)

# 25 days on, the journal alone says r2 is due (a third of its 30 days left); ACM holds a
# 90-day certificate there, so it is not. r1 and r3 are; the tagged import is listed.
dry day25 $(($(date +%s) + 25 * 86400))
want=$(printf '%s\n' "${ARN[r1]} ari True" "${ARN[r3]} lifetime_fraction True" "$tagged not_in_journal None" | sort)
[ "$(listed day25)" = "$want" ] || enr_fail "dry run 25 days on: $(cat "$ENR_DIR/day25.out")"
grep -F "\"arn\":\"$tagged\"" "$ENR_DIR/day25.out" | grep -q '"request_id":null,.*"due":null,"why":"not_in_journal","hint":"the inventory marks it managed by hsm2acm' ||
    enr_fail "the tagged import's line: $(cat "$ENR_DIR/day25.out")"
# 65 days on r2 is due by the inventory's dates.
dry day65 $(($(date +%s) + 65 * 86400))
$PY - "$ENR_DIR/day65.out" "${ARN[r2]}" "$r2_after" <<'PYEOF' || enr_fail "r2 by the inventory's dates"
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["arn"] == sys.argv[2]]
assert len(d) == 1 and d[0]["due"] is True and d[0]["why"] == "lifetime_fraction", d
assert d[0]["not_after"] == sys.argv[3] and d[0]["not_after_from"] == "inventory", (d, sys.argv[3])
assert d[0]["renewal_id"] == "r2.g2", d
PYEOF
[ "$(inv_rows)" = "$inv_sum" ] || enr_fail "the dry run wrote the inventory"
# Named: only what is named, the inventory's extra lines are not.
"$H2A_BIN" renew --config "$ENR_CONFIG" --dry-run --arn "${ARN[r3]}" >"$ENR_DIR/named.out"
[ "$(listed named)" = "${ARN[r3]} named False" ] || enr_fail "named dry run: $(cat "$ENR_DIR/named.out")"
echo PASS
