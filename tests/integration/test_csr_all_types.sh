#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# keygen + csr for all six key types: every CSR verifies with
# `openssl req -verify`, carries the token's public key (as printed by
# keygen), the requested SANs / KeyUsage / EKU, and the expected signature
# algorithm; CKA_ID is the RFC 5280 key identifier of that public key.
# RSA also with PSS; explicit sha384/sha512 on RSA and EC.
set -euo pipefail
. "$H2A_SRC_DIR/tests/lib/token.sh"
h2a_token_create csr_all_types
. "$H2A_SRC_DIR/tests/integration/lib_keygen.sh"

B=$H2A_BIN
U=$H2A_TEST_TOKEN_URI
POL=$KG_TMP/policy.json
echo '{"version": 1, "san": {"allow_ip": true, "allow_wildcards": true}}' >"$POL"

# check_csr PEM KEYJSON SIGALG [TEXT...]: verify, same key, fields present.
check_csr() {
    local pem=$1 json=$2 alg=$3 text
    shift 3
    if ! openssl req -in "$pem" -verify -noout 2>"$KG_TMP/verify"; then
        kg_fail "$pem: openssl req -verify failed"; cat "$KG_TMP/verify" >&2; return
    fi
    grep -q "verify OK" "$KG_TMP/verify" || kg_fail "$pem: no 'verify OK'"
    openssl req -in "$pem" -pubkey -noout >"$KG_TMP/csr.pub"
    kg_json "$json" public_key_pem >"$KG_TMP/token.pub"
    cmp -s "$KG_TMP/csr.pub" "$KG_TMP/token.pub" || kg_fail "$pem: public key differs from the token's"
    text=$(openssl req -in "$pem" -noout -text)
    grep -q "Signature Algorithm: $alg" <<<"$text" || kg_fail "$pem: signature algorithm is not $alg"
    for want in "$@"; do
        grep -qF -- "$want" <<<"$text" || kg_fail "$pem: '$want' missing from the CSR"
    done
}

# The CKA_ID must be SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 (1)).
check_id() {
    local json=$1 want
    want=$(/usr/bin/python3 - "$json" <<'PY'
import json, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key
k = json.load(open(sys.argv[1]))
pub = load_pem_public_key(k["public_key_pem"].encode())
print(x509.SubjectKeyIdentifier.from_public_key(pub).digest.hex(), end="")
PY
)
    [ "$want" = "$(kg_json "$json" id)" ] || kg_fail "$json: id is not the RFC 5280 key identifier ($want)"
}

n=0
for spec in "rsa:2048 RSA_2048 sha256WithRSAEncryption" \
            "rsa:3072 RSA_3072 sha256WithRSAEncryption" \
            "rsa:4096 RSA_4096 sha256WithRSAEncryption" \
            "ec:P-256 EC_prime256v1 ecdsa-with-SHA256" \
            "ec:P-384 EC_secp384r1 ecdsa-with-SHA384" \
            "ec:P-521 EC_secp521r1 ecdsa-with-SHA512"; do
    read -r type acm alg <<<"$spec"
    label="k-${type/:/-}"
    echo "== $type"
    "$B" keygen --token "$U" --type "$type" --label "$label" --policy "$POL" >"$KG_TMP/$label.json"
    [ "$(kg_json "$KG_TMP/$label.json" key_algorithm)" = "$acm" ] || kg_fail "$type: key_algorithm"
    [ "$(kg_json "$KG_TMP/$label.json" label)" = "$label" ] || kg_fail "$type: label"
    check_id "$KG_TMP/$label.json"
    n=$((n + 2))
    [ "$(kg_count)" = "$n" ] || kg_fail "$type: keygen did not add exactly two objects"

    "$B" csr --token "$U" --key "$label" --subject "CN=www.example.com,O=Example Org,C=DE" \
        --dns www.example.com --dns '*.api.example.com' --ip 192.0.2.7 --ip 2001:db8::7 \
        --eku TLS_WEB_SERVER_AUTHENTICATION,TLS_WEB_CLIENT_AUTHENTICATION \
        --policy "$POL" >"$KG_TMP/$label.pem"
    check_csr "$KG_TMP/$label.pem" "$KG_TMP/$label.json" "$alg" \
        "Subject: C = DE, O = Example Org, CN = www.example.com" \
        "DNS:www.example.com" "DNS:*.api.example.com" "IP Address:192.0.2.7" \
        "IP Address:2001:DB8:0:0:0:0:0:7" "Key Usage: critical" "Digital Signature" \
        "TLS Web Server Authentication" "TLS Web Client Authentication"
    # The policy's default KeyUsage: KEY_ENCIPHERMENT for RSA only.
    if [[ $type == rsa:* ]]; then
        grep -q "Key Encipherment" < <(openssl req -in "$KG_TMP/$label.pem" -noout -text) ||
            kg_fail "$type: default KeyUsage lacks Key Encipherment"
    elif openssl req -in "$KG_TMP/$label.pem" -noout -text | grep -q "Key Encipherment"; then
        kg_fail "$type: EC key asks for Key Encipherment"
    fi
done

echo "== RSA-PSS and explicit digests"
"$B" csr --token "$U" --key k-rsa-2048 --subject /CN=pss.example.com --pss >"$KG_TMP/pss.pem"
check_csr "$KG_TMP/pss.pem" "$KG_TMP/k-rsa-2048.json" rsassaPss "Hash Algorithm: sha256" \
    "Mask Algorithm: mgf1 with sha256" "Salt Length: 0x20"
"$B" csr --token "$U" --key k-rsa-3072 --subject CN=pss.example.com --pss --digest sha512 \
    >"$KG_TMP/pss512.pem"
check_csr "$KG_TMP/pss512.pem" "$KG_TMP/k-rsa-3072.json" rsassaPss "Hash Algorithm: sha512" \
    "Mask Algorithm: mgf1 with sha512" "Salt Length: 0x40"
"$B" csr --token "$U" --key k-rsa-2048 --subject CN=a.example.com --digest sha384 >"$KG_TMP/r384.pem"
check_csr "$KG_TMP/r384.pem" "$KG_TMP/k-rsa-2048.json" sha384WithRSAEncryption
"$B" csr --token "$U" --key k-rsa-4096 --subject CN=a.example.com --digest sha512 >"$KG_TMP/r512.pem"
check_csr "$KG_TMP/r512.pem" "$KG_TMP/k-rsa-4096.json" sha512WithRSAEncryption
"$B" csr --token "$U" --key k-ec-P-256 --subject CN=a.example.com --digest sha384 >"$KG_TMP/e384.pem"
check_csr "$KG_TMP/e384.pem" "$KG_TMP/k-ec-P-256.json" ecdsa-with-SHA384
"$B" csr --token "$U" --key k-ec-P-256 --subject CN=a.example.com --digest sha512 >"$KG_TMP/e512.pem"
check_csr "$KG_TMP/e512.pem" "$KG_TMP/k-ec-P-256.json" ecdsa-with-SHA512
"$B" csr --token "$U" --key k-ec-P-521 --subject CN=a.example.com --digest sha256 >"$KG_TMP/e256.pem"
check_csr "$KG_TMP/e256.pem" "$KG_TMP/k-ec-P-521.json" ecdsa-with-SHA256

echo "== --key-usage and --eku override the policy defaults"
"$B" csr --token "$U" --key k-ec-P-384 --subject CN=ku.example.com \
    --key-usage DIGITAL_SIGNATURE,NON_REPUDIATION --eku CODE_SIGNING >"$KG_TMP/ku.pem"
check_csr "$KG_TMP/ku.pem" "$KG_TMP/k-ec-P-384.json" ecdsa-with-SHA384 \
    "Digital Signature, Non Repudiation" "Code Signing"
openssl req -in "$KG_TMP/ku.pem" -noout -text | grep -q "TLS Web Server" &&
    kg_fail "--eku did not replace the policy default"

echo "== --out writes the same kind of PEM, atomically, and nothing on stdout"
"$B" csr --token "$U" --key k-ec-P-256 --subject CN=out.example.com --out "$KG_TMP/out.pem" \
    >"$KG_TMP/stdout"
[ ! -s "$KG_TMP/stdout" ] || kg_fail "--out also printed to stdout"
check_csr "$KG_TMP/out.pem" "$KG_TMP/k-ec-P-256.json" ecdsa-with-SHA256 "CN = out.example.com"
ls "$KG_TMP" | grep -q '\.tmp' && kg_fail "temporary file left behind"

echo "== exactly one C_Sign per CSR (the debug log names every C_* call)"
for key in k-ec-P-256 k-rsa-2048; do
    HSM2ACM_LOG=debug "$B" csr --token "$U" --key "$key" --subject CN=one.example.com \
        >/dev/null 2>"$KG_TMP/debug.log" || kg_fail "$key: csr with debug log"
    n_sign=$(grep -c 'C_Sign ->' "$KG_TMP/debug.log" || true)
    [ "$n_sign" = 1 ] || kg_fail "$key: $n_sign C_Sign calls for one CSR"
done

echo "== --key-id selects the key by the id keygen printed"
"$B" csr --token "$U" --key-id "$(kg_json "$KG_TMP/k-ec-P-521.json" id)" --subject CN=id.example.com \
    >"$KG_TMP/byid.pem"
check_csr "$KG_TMP/byid.pem" "$KG_TMP/k-ec-P-521.json" ecdsa-with-SHA512 "CN = id.example.com"

echo "== a CSR for one key never carries another key"
cmp -s <(openssl req -in "$KG_TMP/k-ec-P-256.pem" -pubkey -noout) \
    <(openssl req -in "$KG_TMP/k-ec-P-384.pem" -pubkey -noout) && kg_fail "two keys look equal"

[ "$(kg_count)" = 12 ] || kg_fail "csr changed the object count"
kg_done
