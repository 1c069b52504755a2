#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reimport into the same ARN: ARN and InUseBy unchanged, the new serial is
# served with the new token key, `inherit` takes the ARN's key type, tags are
# added after the reimport (ACM takes none with it). Also reimport over a
# certificate someone imported with the AWS CLI.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_reimport

enr_request "$ENR_DIR/r1.json" r-1 ec:P-256 "shop.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >"$ENR_DIR/r1.out"
arn=$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["certificate_arn"]')
serial1=$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["serial"]')
lb="arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/shop/1"
h2a_localaws_ctl POST /_control/acm/inuse "{\"arn\":\"$arn\",\"in_use_by\":[\"$lb\"]}" >/dev/null

# Renewal: same ARN, key inherited, an extra name (adding names is allowed).
enr_request "$ENR_DIR/r2.json" r-2 inherit "shop.example.com,www.shop.example.com" \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$arn\",\"tags\":{\"renewed\":\"yes\"}}]"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r2.json" >"$ENR_DIR/r2.out"
[ "$(enr_json "$ENR_DIR/r2.out" 'd["targets"][0]["certificate_arn"]')" = "$arn" ] || enr_fail "ARN changed"
serial2=$(enr_json "$ENR_DIR/r2.out" 'd["targets"][0]["serial"]')
[ "$serial2" != "$serial1" ] || enr_fail "serial unchanged"
kid2=$(enr_json "$ENR_DIR/r2.out" 'd["targets"][0]["key_id"]')
[ "$kid2" != "$(enr_json "$ENR_DIR/r1.out" 'd["targets"][0]["key_id"]')" ] || enr_fail "same key reused"
enr_check_acm_key "$arn" "$kid2"
[ "$(enr_cert_count)" = 1 ] || enr_fail "reimport made a second certificate"
enr_acm >"$ENR_DIR/acm.json"
$PY - "$ENR_DIR/acm.json" "$arn" "$lb" "$serial2" <<'PYEOF' || enr_fail "reimport state"
import json, sys
acm, arn, lb, serial = sys.argv[1:5]
c = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn][0]
assert c["in_use_by"] == [lb], c["in_use_by"]
assert c["reimport_count"] == 1, c["reimport_count"]
assert c["serial"].replace(":", "").lstrip("0") == serial.lstrip("0"), (c["serial"], serial)
tags = c["tags"] if isinstance(c["tags"], dict) else {t["Key"]: t["Value"] for t in c["tags"]}
assert tags.get("renewed") == "yes" and tags.get("hsm2acm:request-id") == "r-2", tags
PYEOF
# The AWS CLI sees the new serial at the same ARN.
served=$(enr_aws acm describe-certificate --certificate-arn "$arn" --query Certificate.Serial --output text)
[ "$(echo "$served" | tr -d ':' | sed 's/^0*//')" = "$(echo "$serial2" | sed 's/^0*//')" ] ||
    enr_fail "describe-certificate serial $served != $serial2"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"

# Killed between the reimport and its tags: resume writes them.
enr_request "$ENR_DIR/r4.json" r-4 inherit "shop.example.com" \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$arn\",\"tags\":{\"renewed\":\"twice\"}}]"
set +e
HSM2ACM_TEST_CRASH_AT=import "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r4.json" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 137 ] || enr_fail "crash at import: exit $rc, want 137"
enr_tags "$arn" | grep -q "renewed=yes" || enr_fail "the tags were written before the crash point"
"$H2A_BIN" resume --config "$ENR_CONFIG" r-4 >"$ENR_DIR/r4.out" || enr_fail "resume r-4: $(cat "$ENR_DIR/r4.out")"
[ "$(enr_tags "$arn")" = "hsm2acm:managed=true hsm2acm:request-id=r-4 hsm2acm:target=0 renewed=twice" ] ||
    enr_fail "tags after resume: $(enr_tags "$arn")"

# Reimport over an RSA-2048 certificate that a team imported with the AWS CLI.
legacy=$(enr_import_openssl legacy rsa:2048 "keyUsage=critical,digitalSignature,keyEncipherment;extendedKeyUsage=serverAuth" legacy.example.com)
enr_request "$ENR_DIR/r3.json" r-3 rsa:2048 "legacy.example.com" \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$legacy\"}]"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r3.json" >"$ENR_DIR/r3.out"
[ "$(enr_json "$ENR_DIR/r3.out" 'd["targets"][0]["certificate_arn"]')" = "$legacy" ] || enr_fail "legacy ARN changed"
enr_check_acm_key "$legacy" "$(enr_json "$ENR_DIR/r3.out" 'd["targets"][0]["key_id"]')"
[ "$(enr_cert_count)" = 2 ] || enr_fail "expected two certificates"
echo PASS
