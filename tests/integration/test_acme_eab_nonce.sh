#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The acme issuer against a pebble that requires External Account Binding and
# rejects 60% of good nonces: badNonce is retried with the error's nonce until
# the enrollment goes through; the EAB MAC key file is checked (mode, encoding)
# before anything is made; a wrong MAC key is the server's problem quoted in
# an exit 6; configuration mistakes are exit 2 naming the key.
. "$(dirname "$0")/acme_lib.sh"
export PEBBLE_WFE_NONCEREJECT=60
acme_setup acme_eab_nonce eab
listen="{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}"
eab="{\"eab\":{\"kid\":\"kid-1\",\"hmac_key_file\":\"$ENR_DIR/eab.key\"}}"

expect() { # expect CODE NEEDLE FILE: run enroll on FILE, want exit CODE and NEEDLE in stderr
    local code=$1 needle=$2 f=$3 rc
    set +e
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$f" >/dev/null 2>"$ENR_DIR/err"
    rc=$?
    set -e
    [ "$rc" = "$code" ] || enr_fail "wanted exit $code ($needle), got $rc: $(cat "$ENR_DIR/err")"
    grep -qF -- "$needle" "$ENR_DIR/err" || enr_fail "wanted '$needle' in: $(cat "$ENR_DIR/err")"
}

acme_request "$ENR_DIR/r.json" r1 rsa:2048 "eab.example.com"
objs=$(enr_objects)

# Key file readable by others, then not base64url: exit 2, no token object made.
printf '%s\n' "$H2A_PEBBLE_EAB_KEY" >"$ENR_DIR/eab.key"
chmod 0644 "$ENR_DIR/eab.key"
acme_config "$listen" "$eab"
expect 2 "readable by group or others" "$ENR_DIR/r.json"
printf 'not+base64/url!\n' >"$ENR_DIR/eab.key"
chmod 0600 "$ENR_DIR/eab.key"
acme_request "$ENR_DIR/r.json" r2 rsa:2048 "eab.example.com"
expect 2 "not base64url" "$ENR_DIR/r.json"
[ -z "$(enr_secrets)" ] || enr_fail "staged something"
[ "$(enr_objects)" = "$objs" ] || enr_fail "a refused EAB key file left token objects"

# Without EAB on this server: the problem document is quoted.
acme_config "$listen"
acme_request "$ENR_DIR/r.json" r3 rsa:2048 "eab.example.com"
expect 6 "urn:ietf:params:acme:error:externalAccountRequired" "$ENR_DIR/r.json"

# A wrong MAC key (valid base64url): exit 6 quoting pebble's problem.
printf 'c29tZSBvdGhlciBtYWMga2V5IG9mIDQ4IGJ5dGVzLCB3cm9uZyBmb3IgcGViYmxl\n' >"$ENR_DIR/eab.key"
acme_config "$listen" "$eab"
acme_request "$ENR_DIR/r.json" r4 rsa:2048 "eab.example.com"
expect 6 "urn:ietf:params:acme:error:" "$ENR_DIR/r.json"
grep -qi "mac\|external account\|eab" "$ENR_DIR/err" || enr_fail "wrong MAC message: $(cat "$ENR_DIR/err")"

# The right key: full enrollment, with 60% of nonces rejected along the way.
printf '%s\n' "$H2A_PEBBLE_EAB_KEY" >"$ENR_DIR/eab.key"
acme_request "$ENR_DIR/r.json" r5 rsa:2048 "eab.example.com,www.eab.example.com"
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r.json" >"$ENR_DIR/r5.out" 2>"$ENR_DIR/r5.err" ||
    enr_fail "EAB enrollment exited $?: $(tail -5 "$ENR_DIR/r5.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/r5.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r5.out" 'd["targets"][0]["key_id"]')"
n=$(grep -c "badNonce from" "$ENR_DIR/r5.err" || true)
[ "$n" -gt 0 ] || enr_fail "no badNonce was retried at 60% rejection"
! grep -q "$H2A_PEBBLE_EAB_KEY" "$ENR_DIR/r5.err" || enr_fail "EAB key in the log"
echo "  ok: $n badNonce answers retried"

# Configuration mistakes: exit 2 naming the key.
acme_config "$listen" '{"bogus": 1}'
expect 2 "issuers.acme.bogus" "$ENR_DIR/r.json"
acme_config '{"type":"http-01"}'
expect 2 "issuers.acme.challenge: http-01 needs exactly one of listen, webroot" "$ENR_DIR/r.json"
acme_config '{"type":"http-01","listen":"localhost:80"}'
expect 2 "issuers.acme.challenge.listen" "$ENR_DIR/r.json"
acme_config "$listen" '{"account_key":{"label":"x","type":"ec:P-521"}}'
expect 2 "issuers.acme.account_key.type" "$ENR_DIR/r.json"
acme_config "$listen" '{"directory_url":"http://127.0.0.1/dir"}'
expect 2 "issuers.acme.directory_url: must be an https:// URL" "$ENR_DIR/r.json"
# TLS is verified: without ca_bundle the system store does not know pebble's CA.
acme_config "$listen" '{"ca_bundle":null}'
acme_request "$ENR_DIR/r.json" r6 rsa:2048 "tls.example.com"
expect 6 "certificate" "$ENR_DIR/r.json"
echo PASS
