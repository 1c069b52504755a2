#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# hsm2acm adopt: an IMPORTED certificate made outside hsm2acm (software key,
# imported with the AWS CLI) is taken over at the same ARN with a key born in
# the token, its names and usages kept; from then on renew and status know
# it. AMAZON_ISSUED and PRIVATE are refused (exit 3) with the reason, and so is a
# requester the policy does not authorize; nothing changes then.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup renew_adopt

legacy=$(enr_import_openssl legacy ec:prime256v1 "keyUsage=critical,digitalSignature;extendedKeyUsage=serverAuth" legacy.example.com)
lb="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/legacy/1"
h2a_localaws_ctl POST /_control/acm/inuse "{\"arn\":\"$legacy\",\"in_use_by\":[\"$lb\"]}" >/dev/null
amazon=$(h2a_localaws_ctl POST /_control/acm/amazon-issued \
    '{"account":"111111111111","region":"eu-west-1","domain_name":"amz.example.com","key_algorithm":"EC_prime256v1"}' |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["arn"])')
private=$(h2a_localaws_ctl POST /_control/acm/seed \
    '{"account":"111111111111","region":"eu-west-1","type":"PRIVATE","key_algorithm":"EC_prime256v1","domain_name":"pca.example.com"}' |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["arns"][0])')
objs=$(enr_objects)
certs=$(enr_cert_count)

enr_expect_fail 3 "its Type is AMAZON_ISSUED; only IMPORTED" \
    "$H2A_BIN" adopt --config "$ENR_CONFIG" "$amazon" --issuer demo --requester team-web
enr_unchanged amazon
# A PRIVATE one too, with its own reason; and neither is a generation afterwards.
enr_expect_fail 3 "its Type is PRIVATE; only IMPORTED certificates can be adopted (a PRIVATE one is issued and renewed by AWS Private CA" \
    "$H2A_BIN" adopt --config "$ENR_CONFIG" "$private" --issuer demo --requester team-web
enr_unchanged private
for a in "$amazon" "$private"; do
    enr_expect_fail 8 "no delivery of it" "$H2A_BIN" status --config "$ENR_CONFIG" "$a"
done
enr_expect_fail 2 "needs --issuer NAME and --requester WHO" "$H2A_BIN" adopt --config "$ENR_CONFIG" "$legacy"

# A policy that authorizes team-web for other names only: refused like any request.
printf '{"authorization": {"team-web": {"dns_suffixes": ["other.example.org"], "accounts": ["*"]}}}' >"$ENR_DIR/auth.json"
enr_config_with "$ENR_DIR/auth.conf" "{\"policy\": \"$ENR_DIR/auth.json\"}"
enr_expect_fail 3 "legacy.example.com" \
    "$H2A_BIN" adopt --config "$ENR_DIR/auth.conf" "$legacy" --issuer demo --requester team-web
enr_unchanged authorization

"$H2A_BIN" adopt --config "$ENR_CONFIG" "$legacy" --issuer demo --requester team-web >"$ENR_DIR/adopt.out" ||
    enr_fail "adopt: $(cat "$ENR_DIR/adopt.out")"
[ "$(enr_json "$ENR_DIR/adopt.out" 'd["targets"][0]["certificate_arn"]')" = "$legacy" ] || enr_fail "adopt changed the ARN"
kid=$(enr_json "$ENR_DIR/adopt.out" 'd["targets"][0]["key_id"]')
enr_check_acm_key "$legacy" "$kid" >/dev/null
[ "$(enr_cert_count)" = "$certs" ] || enr_fail "adopt made a certificate"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
enr_acm >"$ENR_DIR/acm.json"
$PY - "$ENR_DIR/acm.json" "$legacy" "$lb" <<'PYEOF' || enr_fail "adopted certificate"
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["certificates"] if c["arn"] == sys.argv[2]][0]
assert c["in_use_by"] == [sys.argv[3]], c["in_use_by"]
assert c["reimport_count"] == 1, c
from cryptography import x509
cert = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
assert san.get_values_for_type(x509.DNSName) == ["legacy.example.com"], san
eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
assert [e.dotted_string for e in eku] == ["1.3.6.1.5.5.7.3.1"], list(eku)
PYEOF

id="adopt-${legacy##*/}"
"$H2A_BIN" status --config "$ENR_CONFIG" "$legacy" >"$ENR_DIR/st.json"
[ "$(enr_json "$ENR_DIR/st.json" '[(g["generation"], g["reason"], g["state"]) for g in d["generations"]]')" = '[[1, "adopt", "serving"]]' ] ||
    enr_fail "status after adopt: $(cat "$ENR_DIR/st.json")"
[ "$(enr_json "$ENR_DIR/st.json" 'd["request_id"]')" = "$id" ] || enr_fail "adopt request id"
# Managed from now on: renewal into the same ARN.
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$legacy" >"$ENR_DIR/renew.out"
[ "$(enr_json "$ENR_DIR/renew.out" 'd["renewal_id"]')" = "$id.g2" ] || enr_fail "renewal of the adopted certificate"
enr_check_acm_key "$legacy" "$(enr_json "$ENR_DIR/renew.out" 'd["result"]["targets"][0]["key_id"]')" >/dev/null
echo PASS
