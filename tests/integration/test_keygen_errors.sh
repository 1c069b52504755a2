#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input to keygen / csr / token info / wrapkey create: each gives the
# documented exit code, a message naming what is wrong, nothing on stdout,
# and leaves the token's object count unchanged.
set -euo pipefail
. "$H2A_SRC_DIR/tests/lib/token.sh"
h2a_token_create keygen_errors
. "$H2A_SRC_DIR/tests/integration/lib_keygen.sh"

B=$H2A_BIN
U=$H2A_TEST_TOKEN_URI
M=$H2A_SOFTHSM_MODULE
PINF=$H2A_TEST_PIN_FILE
NOMOD="pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=/nonexistent/libnope.so&pin-source=file:$PINF"

"$B" keygen --token "$U" --type ec:P-256 --label existing >/dev/null
[ "$(kg_count)" = 2 ] || kg_fail "keygen did not make exactly 2 objects"

echo "== key types"
kg_expect 2 "--type" "$B" keygen --token "$U" --type rsa:1024 --label k
kg_expect 2 "secp256k1" "$B" keygen --token "$U" --type ec:secp256k1 --label k
kg_expect 2 "secp256k1" "$B" keygen --token "$U" --type secp256k1 --label k
kg_expect 2 "d25519" "$B" keygen --token "$U" --type ed25519 --label k
kg_expect 2 "--type" "$B" keygen --token "$U" --type ec:P-999 --label k
kg_expect 2 "--type" "$B" keygen --token "$U" --type rsa --label k
kg_expect 2 "--type" "$B" keygen --token "$U" --type "" --label k

echo "== labels"
kg_expect 2 "--label: label is 65 bytes" "$B" keygen --token "$U" --type ec:P-256 \
    --label "$(printf 'a%.0s' $(seq 65))"
kg_expect 2 "--label: empty" "$B" keygen --token "$U" --type ec:P-256 --label ""
kg_expect 2 "label 'existing': a private key with this label already exists" "$B" keygen --token "$U" --type ec:P-256 \
    --label existing

echo "== usage"
kg_expect 2 "are required" "$B" keygen --token "$U" --type ec:P-256
kg_expect 2 "unknown option '--pin'" "$B" keygen --token "$U" --type ec:P-256 --label k --pin 1234
kg_expect 2 "unexpected argument" "$B" keygen --token "$U" --type ec:P-256 --label k extra
kg_expect 2 "needs a value" "$B" csr --token "$U" --key existing --subject
kg_expect 2 "unknown subcommand" "$B" token list --token "$U"
kg_expect 2 "--token is required" "$B" token info
kg_expect 2 "unknown subcommand" "$B" wrapkey delete --token "$U"

echo "== URIs, module, token, PIN"
kg_expect 2 "does not start with 'pkcs11:'" "$B" keygen --token "notpkcs11:token=x" --type ec:P-256 --label k
kg_expect 2 "module-path" "$B" keygen --token "pkcs11:token=$H2A_TEST_TOKEN_LABEL?pin-source=file:$PINF" \
    --type ec:P-256 --label k
kg_expect 2 "pin-value" "$B" keygen --token "pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=$M&pin-value=1234" \
    --type ec:P-256 --label k
kg_expect 2 "malformed" "$B" keygen --token "pkcs11:token=%zz?module-path=$M&pin-source=file:$PINF" \
    --type ec:P-256 --label k
kg_expect 2 "pin" "$B" keygen --token "pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=$M&pin-source=file:/nonexistent/pin" \
    --type ec:P-256 --label k
kg_expect 4 "/nonexistent/libnope.so" "$B" keygen --token "$NOMOD" --type ec:P-256 --label k
kg_expect 4 "$H2A_TEST_TOKEN_LABEL" "$B" keygen \
    --token "pkcs11:token=no-such-token?module-path=$M&pin-source=file:$PINF" --type ec:P-256 --label k
printf '9999' >"$KG_TMP/badpin"; chmod 600 "$KG_TMP/badpin"
kg_expect 4 "CKR_PIN_INCORRECT" "$B" keygen \
    --token "pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=$M&pin-source=file:$KG_TMP/badpin" \
    --type ec:P-256 --label k
kg_expect 4 "CKR_PIN_INCORRECT" "$B" csr \
    --token "pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=$M&pin-source=file:$KG_TMP/badpin" \
    --key existing --subject CN=a.example.com
kg_expect 4 "/nonexistent/libnope.so" "$B" token info --token "$NOMOD"
kg_expect 4 "/nonexistent/libnope.so" "$B" wrapkey create --token "$NOMOD"

echo "== input and policy are checked before the token is opened (module is missing here)"
kg_expect 2 "--type" "$B" keygen --token "$NOMOD" --type rsa:1024 --label k
kg_expect 2 "subject: empty" "$B" csr --token "$NOMOD" --key existing --subject ""
echo '{"version": 1, "key_algorithms": ["EC_prime256v1"]}' >"$KG_TMP/ec-only.json"
kg_expect 3 "key_algorithms" "$B" keygen --token "$NOMOD" --type rsa:2048 --label k \
    --policy "$KG_TMP/ec-only.json"
kg_expect 3 "key_algorithms" "$B" keygen --token "$U" --type ec:P-384 --label k \
    --policy "$KG_TMP/ec-only.json"
kg_expect 3 "allow_ip" "$B" csr --token "$NOMOD" --key existing --subject CN=a.example.com \
    --ip 192.0.2.1
kg_expect 3 "wildcard" "$B" csr --token "$NOMOD" --key existing --subject CN=a.example.com \
    --dns '*.example.com'
echo '{"version": 1, "san": {"dns_suffixes": ["example.com"]}}' >"$KG_TMP/suffix.json"
kg_expect 3 "example.org" "$B" csr --token "$NOMOD" --key existing --subject CN=www.example.org \
    --policy "$KG_TMP/suffix.json"
echo '{"version": 1, "digests": ["sha384"]}' >"$KG_TMP/sha384.json"
kg_expect 3 "digest" "$B" csr --token "$NOMOD" --key existing --subject CN=a.example.com \
    --digest sha256 --policy "$KG_TMP/sha384.json"
# The default digest for P-256 is SHA-256: refused once the key type is known.
kg_expect 3 "digest" "$B" csr --token "$U" --key existing --subject CN=a.example.com \
    --policy "$KG_TMP/sha384.json"
echo '{not json' >"$KG_TMP/broken.json"
kg_expect 2 "broken.json" "$B" keygen --token "$NOMOD" --type ec:P-256 --label k \
    --policy "$KG_TMP/broken.json"
echo '{"version": 1, "key_algorithm": ["EC_prime256v1"]}' >"$KG_TMP/typo.json"
kg_expect 2 "key_algorithm" "$B" keygen --token "$NOMOD" --type ec:P-256 --label k \
    --policy "$KG_TMP/typo.json"

echo "== CSR input"
big=$(printf 'CN=%s' "$(printf 'a%.0s' $(seq 1030))")
kg_expect 2 "subject: 1033 bytes, at most 1024" "$B" csr --token "$U" --key existing --subject "$big"
kg_expect 2 "longer than 64 bytes" "$B" csr --token "$U" --key existing \
    --subject "CN=$(printf 'a%.0s' $(seq 65))"
kg_expect 2 "subject: empty attribute" "$B" csr --token "$U" --key existing --subject ","
kg_expect 2 "unknown attribute" "$B" csr --token "$U" --key existing --subject "FOO=bar"
kg_expect 2 "ip[0]: '192.0.2' is not an IPv4 or IPv6" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --ip 192.0.2
kg_expect 2 "ip[1]: '::g' is not" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --ip ::1 --ip ::g
kg_expect 2 "dns[1]: label 1 of" "$B" csr --token "$U" --key existing --subject CN=a.example.com \
    --dns ok.example.com --dns "$(printf 'a%.0s' $(seq 64)).example.com"
kg_expect 2 "dns[0]: DNS name is 254 bytes" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --dns "$(for i in $(seq 25); do printf 'abcdefghi.'; done)abcd"
kg_expect 2 "LDH" "$B" csr --token "$U" --key existing --subject CN=a.example.com --dns 'a_b.example.com'
kg_expect 2 "dns[0]: empty DNS name" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --dns ''
kg_expect 2 "ends with a hyphen" "$B" csr --token "$U" --key existing --subject CN=a.example.com \
    --dns 'a-.example.com'
kg_expect 2 "starts with a hyphen" "$B" csr --token "$U" --key existing --subject CN=a.example.com \
    --dns '-a.example.com'
kg_expect 2 "leftmost" "$B" csr --token "$U" --key existing --subject CN=a.example.com \
    --dns 'www.*.example.com'
kg_expect 2 "--digest: unknown digest 'md5'" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --digest md5
kg_expect 2 "--key-usage: unknown KeyUsage name 'SIGNING'" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --key-usage SIGNING
kg_expect 2 "--eku: unknown ExtendedKeyUsage name" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --eku WEB
# Usage overrides are checked against the policy, like its defaults: a leaf
# that asks to sign certificates, or an EC key that asks for encipherment.
kg_expect 3 "CERTIFICATE_SIGNING" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --key-usage DIGITAL_SIGNATURE,CERTIFICATE_SIGNING
kg_expect 3 "KEY_ENCIPHERMENT" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --key-usage DIGITAL_SIGNATURE,KEY_ENCIPHERMENT
kg_expect 2 "pss: RSA-PSS needs an RSA key" "$B" csr --token "$U" --key existing \
    --subject CN=a.example.com --pss
kg_expect 4 "no-such-key" "$B" csr --token "$U" --key no-such-key --subject CN=a.example.com
kg_expect 2 "one of --key or --key-id" "$B" csr --token "$U" --key existing --key-id 00 \
    --subject CN=a.example.com
kg_expect 2 "--key-id: 'zz' is not" "$B" csr --token "$NOMOD" --key-id zz --subject CN=a.example.com
kg_expect 4 "0011" "$B" csr --token "$U" --key-id 0011 --subject CN=a.example.com
# A failed csr with --out leaves no file behind.
kg_expect 4 "no-such-key" "$B" csr --token "$U" --key no-such-key --subject CN=a.example.com \
    --out "$KG_TMP/never.pem"
[ ! -e "$KG_TMP/never.pem" ] || kg_fail "--out file written by a failed csr"

echo "== wrapkey"
kg_expect 2 "--label: empty" "$B" wrapkey create --token "$U" --label ""

echo "== help"
for cmd in "keygen" "csr" "token info" "wrapkey create" "token" "wrapkey"; do
    # shellcheck disable=SC2086
    if ! "$B" $cmd --help >"$KG_TMP/help" 2>&1 || ! grep -q "Exit codes" "$KG_TMP/help" ||
        ! grep -q -- "--token" "$KG_TMP/help" || grep -q -- "--pin " "$KG_TMP/help"; then
        kg_fail "$cmd --help"
    fi
done

[ "$(kg_count)" = 2 ] || kg_fail "object count changed over the test"
echo "== URIs: module-name refused (exit 2); no message shows a pin-value"
kg_expect 2 "module-name is refused" "$B" token info --token "${U}&module-name=softhsm2"
for bad in "pkcs11:tokn=x;pin-value=S3CR3TPIN?module-path=$H2A_SOFTHSM_MODULE" \
           "pkcs11:token=%zz?pin-value=S3CR3TPIN&module-path=$H2A_SOFTHSM_MODULE" \
           "pkcs11:token=x?pin-value=S3CR3TPIN&module-name=softhsm2" \
           "pkcs11:token=x?module-path=$H2A_SOFTHSM_MODULE&pin-value=S3CR3TPIN"; do
    kg_expect 2 "token URI" "$B" keygen --token "$bad" --type ec:P-256 --label k
    ! grep -q S3CR3TPIN "$KG_TMP/err" || kg_fail "a message shows the PIN: $(cat "$KG_TMP/err")"
done
kg_done
