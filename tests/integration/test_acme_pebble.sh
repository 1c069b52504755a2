#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The acme issuer against Debian's pebble (-strict, no VA sleeps) into the
# local AWS endpoint: http-01 by the built-in responder and by a webroot,
# RSA-2048/3072 leaves, EC and RSA account keys (JWS signed in the token),
# the account key not extractable, a P-256 order refused at verification
# (pebble signs with an RSA intermediate), an invalid challenge, and a
# crash right after the order is journaled (resume continues that order).
. "$(dirname "$0")/acme_lib.sh"
acme_setup acme_pebble
listen="{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}"

# 1. RSA-2048, responder, EC P-256 account key (ES256).
acme_config "$listen"
acme_request "$ENR_DIR/r1.json" r1 rsa:2048 "www.example.com,api.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out" 2>"$ENR_DIR/r1.err" ||
    enr_fail "r1 exited $?: $(cat "$ENR_DIR/r1.err")"
enr_check_acm_key "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["key_id"]')"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
# The certificate ACM holds was issued by pebble's intermediate.
# Account key: both halves labelled, private not extractable, sensitive, sign only.
objs=$(pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" \
    --login --pin "$H2A_TEST_USER_PIN" --list-objects 2>/dev/null)
$PY - "$objs" <<'PYEOF' || enr_fail "account key attributes"
import re, sys
blocks = re.split(r"\n(?=\S)", sys.argv[1])
acct = [b for b in blocks if 'label:      acme-account' in b]
priv = [b for b in acct if b.startswith("Private Key Object")]
pub = [b for b in acct if b.startswith("Public Key Object")]
assert len(priv) == 1 and len(pub) == 1, acct
p = priv[0]
assert "Access:     sensitive, always sensitive, never extractable, local" in p, p
assert re.search(r"Usage:\s+sign\n", p), p
PYEOF
# The account URL is kept in the state directory; the order URL is in the journal.
acct_file=$(ls "$ENR_DIR"/state/acme/account-*.url)
grep -q '^https://127.0.0.1:.*/my-account/' "$acct_file" ||
    enr_fail "account URL not kept: $(cat "$acct_file")"
[ "$(stat -c %a "$acct_file")" = 600 ] || enr_fail "account file mode"
[ "$(acme_orders)" = 1 ] || enr_fail "orders: $(acme_orders)"

# 2. RSA-3072 through a webroot served by a plain web server, RSA account key (RS256).
mkdir -p "$ENR_DIR/www"
$PY -m http.server --bind 127.0.0.1 --directory "$ENR_DIR/www" "$H2A_PEBBLE_HTTP_PORT" \
    >"$ENR_DIR/www.log" 2>&1 &
www=$!
trap 'kill $www 2>/dev/null; acme_cleanup' EXIT
sleep 0.5
acme_config "{\"type\":\"http-01\",\"webroot\":\"$ENR_DIR/www\"}" \
    '{"account_key":{"label":"acme-account-rsa","type":"rsa:2048"}}'
acme_request "$ENR_DIR/r2.json" r2 rsa:3072 "web.example.com"
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r2.json" >"$ENR_DIR/r2.out" \
    2>"$ENR_DIR/r2.err" || enr_fail "r2 exited $?: $(cat "$ENR_DIR/r2.err")"
grep -q 'JWS RS256 in the token with CKM_SHA256_RSA_PKCS' "$ENR_DIR/r2.err" ||
    enr_fail "RS256 not signed with CKM_SHA256_RSA_PKCS"
enr_check_acm_key "$(enr_json "$ENR_DIR/r2.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r2.out" 'd["targets"][0]["key_id"]')"
grep -q 'GET /.well-known/acme-challenge/' "$ENR_DIR/www.log" || enr_fail "pebble did not use the webroot"
[ -z "$(ls -A "$ENR_DIR/www/.well-known/acme-challenge")" ] || enr_fail "webroot file left behind"

# 3. Invalid challenge: something else answers on pebble's http-01 port with a wrong value.
printf 'wrong' >"$ENR_DIR/www/.well-known/acme-challenge/x"
acme_config "{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$(h2a_free_port)\"}"
objs=$(enr_objects); certs=$(enr_acm | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')
acme_request "$ENR_DIR/r3.json" r3 rsa:2048 "bad.example.com"
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r3.json" >/dev/null 2>"$ENR_DIR/r3.err"
rc=$?
set -e
[ "$rc" = 6 ] || enr_fail "invalid challenge: exit $rc: $(cat "$ENR_DIR/r3.err")"
grep -q 'authorization for bad.example.com is invalid: urn:ietf:params:acme:error:' "$ENR_DIR/r3.err" ||
    enr_fail "invalid challenge message: $(cat "$ENR_DIR/r3.err")"
[ "$(enr_objects)" = "$objs" ] || enr_fail "invalid challenge left the key ($(enr_objects) vs $objs)"
[ -z "$(enr_secrets)" ] || enr_fail "invalid challenge staged something"
kill $www 2>/dev/null; wait $www 2>/dev/null || true
trap acme_cleanup EXIT

# 4. EC leaves: pebble signs them with its RSA intermediate; ACM would refuse the pair.
acme_config "$listen"
for kt in ec:P-256 ec:P-384; do
    objs=$(enr_objects)
    id="r4-${kt#ec:}"
    acme_request "$ENR_DIR/$id.json" "$id" "$kt" "$id.example.com"
    set +e
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" >/dev/null 2>"$ENR_DIR/$id.err"
    rc=$?
    set -e
    [ "$rc" = 7 ] || enr_fail "$kt leaf: exit $rc: $(cat "$ENR_DIR/$id.err")"
    grep -q "its issuing CA's key\|key is EC" "$ENR_DIR/$id.err" || enr_fail "$kt message: $(cat "$ENR_DIR/$id.err")"
    [ "$(enr_objects)" = "$objs" ] || enr_fail "$kt refusal left the key"
    [ -z "$(enr_secrets)" ] || enr_fail "$kt refusal staged something"
done

# 5. Crash right after the order is journaled; resume polls that order, orders nothing new.
before=$(acme_orders)
acme_request "$ENR_DIR/r5.json" r5 rsa:2048 "crash.example.com"
HSM2ACM_TEST_CRASH_AT=submitted enr_expect_fail 137 "crashing at submitted" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r5.json"
[ "$(acme_orders)" = $((before + 1)) ] || enr_fail "crash run ordered $(( $(acme_orders) - before ))"
"$H2A_BIN" resume --config "$ENR_CONFIG" r5 >"$ENR_DIR/r5.out" 2>"$ENR_DIR/r5.err" ||
    enr_fail "resume exited $?: $(cat "$ENR_DIR/r5.err")"
[ "$(acme_orders)" = $((before + 1)) ] || enr_fail "resume ordered again"
enr_check_acm_key "$(enr_json "$ENR_DIR/r5.out" 'd["targets"][0]["certificate_arn"]')" \
    "$(enr_json "$ENR_DIR/r5.out" 'd["targets"][0]["key_id"]')"

# 6. The account URL lost: onlyReturnExisting recovers the same account.
url=$(cat "$acct_file")
rm "$acct_file"
acme_request "$ENR_DIR/r6.json" r6 rsa:2048 "again.example.com"
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r6.json" >/dev/null 2>"$ENR_DIR/r6.err" ||
    enr_fail "r6 exited $?: $(cat "$ENR_DIR/r6.err")"
[ "$(cat "$acct_file")" = "$url" ] || enr_fail "account not recovered"
grep -q 'recovered with onlyReturnExisting' "$ENR_DIR/r6.err" || enr_fail "no onlyReturnExisting"
# A whole ACME conversation at debug level: no JWS (signatures) and no EAB/key bytes logged.
! grep -qi 'signature\|protected' "$ENR_DIR/r6.err" || enr_fail "JWS in the debug log"
echo PASS
