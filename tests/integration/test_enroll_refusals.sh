#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every refusal, with its exit code and a message naming what is wrong, and
# nothing half-made: token object count unchanged (refused before the token
# is touched, or the key made for it destroyed), no staging secret, ACM
# unchanged. Covers ACM's reimport rules, CloudFront, authorization, policy
# on_incompatible=new-arn, issuer errors (6), verification failures (7), bad
# requests and configurations (2), a missing wrap key (4).
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_refusals

# One successful enrollment first, so the local CA keys exist and later
# object counts only move if a refusal leaks a key.
enr_request "$ENR_DIR/ok.json" ok-1 ec:P-256 "ok.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok.json" >/dev/null

objs=$(enr_objects)
# Existing certificates imported with the AWS CLI.
ec_arn=$(enr_import_openssl ec ec:prime256v1 "keyUsage=critical,digitalSignature;extendedKeyUsage=serverAuth" legacy.example.com)
rsa_arn=$(enr_import_openssl rsa rsa:2048 "keyUsage=critical,digitalSignature,keyEncipherment;extendedKeyUsage=serverAuth" legacy.example.com)
eku2_arn=$(enr_import_openssl eku2 ec:prime256v1 "keyUsage=critical,digitalSignature;extendedKeyUsage=serverAuth,codeSigning" legacy.example.com)
noeku_arn=$(enr_import_openssl noeku ec:prime256v1 "keyUsage=critical,digitalSignature" legacy.example.com)
amazon_arn=$(h2a_localaws_ctl POST /_control/acm/amazon-issued \
    '{"account":"111111111111","region":"eu-west-1","domain_name":"legacy.example.com","key_algorithm":"EC_prime256v1"}' |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["arn"])')
certs=$(enr_cert_count)

t() { echo "[{\"region\":\"${2:-eu-west-1}\",\"certificate_arn\":\"$1\"}]"; }

# ACM's reimport rules, refused from DescribeCertificate before any key exists.
enr_refuse keytype 3 "targets[0]" rsa:2048 legacy.example.com "$(t "$ec_arn")"
enr_refuse keysize 3 "targets[0]" rsa:3072 legacy.example.com "$(t "$rsa_arn")"
enr_refuse eku-removed 3 "CODE_SIGNING" ec:P-256 legacy.example.com "$(t "$eku2_arn")"
enr_refuse eku-added 3 "ExtendedKeyUsage" ec:P-256 legacy.example.com "$(t "$noeku_arn")"
enr_refuse amazon-issued 3 "targets[0]" inherit legacy.example.com "$(t "$amazon_arn")"
enr_refuse no-dns 3 "at least one DNS name" ec:P-256 "" '[{"region":"eu-west-1"}]'
grep -q '"step":"validate","outcome":"refused"' "$ENR_DIR/state/audit.log" || enr_fail "refusals not audited"

# CloudFront: us-east-1 only, RSA or P-256 only.
enr_refuse cf-region 3 "us-east-1" ec:P-256 cf.example.com '[{"region":"eu-west-1","service":"cloudfront"}]'
enr_refuse cf-key 3 "targets[0]" ec:P-384 cf.example.com '[{"region":"us-east-1","service":"cloudfront"}]'

# Authorization: requester -> DNS suffixes and accounts.
cat >"$ENR_DIR/policy-auth.json" <<'JSON'
{"version": 1, "authorization": {"team-web": {"dns_suffixes": ["example.com"], "accounts": ["111111111111"]}}}
JSON
enr_config_with "$ENR_DIR/config-auth.json" "{\"policy\":\"$ENR_DIR/policy-auth.json\"}"
enr_refuse auth-dns 3 "www.example.org" ec:P-256 "www.example.org" '[{"region":"eu-west-1"}]' "" "$ENR_DIR/config-auth.json"
enr_refuse auth-account 3 "222222222222" ec:P-256 "a.example.com" '[{"region":"eu-west-1","account":"222222222222"}]' "" "$ENR_DIR/config-auth.json"
enr_refuse auth-requester 3 "team-x" ec:P-256 "a.example.com" '[{"region":"eu-west-1"}]' '{"requester":"team-x"}' "$ENR_DIR/config-auth.json"

# Issuer errors (6) and verification failures (7): the key made for the
# request is destroyed again, nothing is staged.
cat >"$ENR_DIR/issuer-fail.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "CA refuses: quota exceeded" >&2
exit 3
SH
cat >"$ENR_DIR/issuer-slow.sh" <<'SH'
#!/bin/sh
sleep 30
SH
cat >"$ENR_DIR/issuer-garbage.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "this is not PEM"
SH
# Prints a certificate for some other key: must fail verification.
other="$ENR_DIR/ossl-ec"
cat >"$ENR_DIR/issuer-otherkey.sh" <<SH
#!/bin/sh
cat >/dev/null
cat "$other/leaf.pem" "$other/ca.pem"
SH
chmod +x "$ENR_DIR"/issuer-*.sh
enr_config_with "$ENR_DIR/config-iss.json" "{\"issuers\":{
  \"fail\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/issuer-fail.sh\"]},
  \"slow\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/issuer-slow.sh\"],\"timeout_seconds\":1},
  \"garbage\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/issuer-garbage.sh\"]},
  \"otherkey\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/issuer-otherkey.sh\"]},
  \"missing\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/does-not-exist\"]}}}"
enr_refuse iss-fail 6 "CA refuses: quota exceeded" ec:P-256 i.example.com '[{"region":"eu-west-1"}]' '{"issuer":"fail"}' "$ENR_DIR/config-iss.json"
enr_refuse iss-slow 6 "timeout_seconds=1" ec:P-256 i.example.com '[{"region":"eu-west-1"}]' '{"issuer":"slow"}' "$ENR_DIR/config-iss.json"
enr_refuse iss-garbage 6 "no PEM certificate" ec:P-256 i.example.com '[{"region":"eu-west-1"}]' '{"issuer":"garbage"}' "$ENR_DIR/config-iss.json"
enr_refuse iss-missing 6 "exited with status 127" ec:P-256 i.example.com '[{"region":"eu-west-1"}]' '{"issuer":"missing"}' "$ENR_DIR/config-iss.json"
enr_refuse verify-key 7 "does not carry the token key" ec:P-256 i.example.com '[{"region":"eu-west-1"}]' '{"issuer":"otherkey"}' "$ENR_DIR/config-iss.json"
# resume of a rolled-back request says so; the same request again starts over.
enr_expect_fail 8 "rolled back" "$H2A_BIN" resume --config "$ENR_DIR/config-iss.json" verify-key
enr_expect_fail 6 "CA refuses" "$H2A_BIN" enroll --config "$ENR_DIR/config-iss.json" "$ENR_DIR/iss-fail.json"
enr_unchanged iss-fail-again

# Bad requests and configurations (2), a missing wrap key (4).
enr_refuse bad-issuer 2 "issuer: 'nope' is not configured" ec:P-256 b.example.com '[{"region":"eu-west-1"}]' '{"issuer":"nope"}'
enr_refuse bad-key 2 "key:" ec:P-999 b.example.com '[{"region":"eu-west-1"}]'
enr_refuse bad-region 2 "targets[0].region" ec:P-256 b.example.com '[{"region":"moon-1"}]'
enr_refuse bad-member 2 "colour: unknown key" ec:P-256 b.example.com '[{"region":"eu-west-1"}]' '{"colour":"red"}'
enr_refuse bad-dns 2 "dns[0]" ec:P-256 "bad_name.example.com" '[{"region":"eu-west-1"}]'
enr_config_with "$ENR_DIR/config-bad.json" '{"staging":{"ttl_seconds":5}}'
enr_refuse bad-config 2 "staging.ttl_seconds" ec:P-256 b.example.com '[{"region":"eu-west-1"}]' "" "$ENR_DIR/config-bad.json"
enr_config_with "$ENR_DIR/config-bad2.json" '{"isuers":{}}'
enr_refuse bad-config2 2 "isuers: unknown key" ec:P-256 b.example.com '[{"region":"eu-west-1"}]' "" "$ENR_DIR/config-bad2.json"
enr_config_with "$ENR_DIR/config-nowrap.json" '{"wrap_key":"no-such-wrap-key"}'
enr_refuse no-wrapkey 4 "no-such-wrap-key" ec:P-256 b.example.com '[{"region":"eu-west-1"}]' "" "$ENR_DIR/config-nowrap.json"
enr_expect_fail 2 "no configuration" env -u HSM2ACM_CONFIG "$H2A_BIN" enroll "$ENR_DIR/ok.json"
enr_expect_fail 2 "expects one REQUEST.json" "$H2A_BIN" enroll --config "$ENR_CONFIG"
enr_expect_fail 8 "no journal entry" "$H2A_BIN" resume --config "$ENR_CONFIG" never-seen

# on_incompatible: new-arn imports under a new ARN and leaves the old one alone.
cat >"$ENR_DIR/policy-newarn.json" <<'JSON'
{"version": 1, "on_incompatible": "new-arn"}
JSON
enr_config_with "$ENR_DIR/config-newarn.json" "{\"policy\":\"$ENR_DIR/policy-newarn.json\"}"
before=$(enr_acm | $PY -c "import json,sys; print([c['serial'] for c in json.load(sys.stdin)['certificates'] if c['arn']=='$eku2_arn'][0])")
enr_request "$ENR_DIR/newarn.json" newarn-1 ec:P-256 legacy.example.com "$(t "$eku2_arn")"
"$H2A_BIN" enroll --config "$ENR_DIR/config-newarn.json" "$ENR_DIR/newarn.json" >"$ENR_DIR/newarn.out"
new=$(enr_json "$ENR_DIR/newarn.out" 'd["targets"][0]["certificate_arn"]')
[ "$new" != "$eku2_arn" ] || enr_fail "new-arn reimported into the old ARN"
[ "$(enr_json "$ENR_DIR/newarn.out" 'd["targets"][0].get("new_arn")')" = True ] || enr_fail "new_arn not reported"
after=$(enr_acm | $PY -c "import json,sys; print([c['serial'] for c in json.load(sys.stdin)['certificates'] if c['arn']=='$eku2_arn'][0])")
[ "$before" = "$after" ] || enr_fail "old ARN changed"
enr_check_acm_key "$new" "$(enr_json "$ENR_DIR/newarn.out" 'd["targets"][0]["key_id"]')"
echo PASS
