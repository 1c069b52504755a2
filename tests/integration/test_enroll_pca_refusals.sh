#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# acm-pca refusals, all before any key exists (token, Secrets Manager, ACM and the
# CA unchanged): CA disabled, CA expiring before the validity, an explicit signing
# algorithm of the wrong family (exit 6 naming both), a key family other than the
# CA's (exit 3), a template that drops serverAuth under a reimport that needs it
# (exit 3), a CA in another account without role_arn and without a share (exit 6
# with the AWS code), which works with role_arn; a bad issuer configuration (exit 2).
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/pca_lib.sh"
enr_setup enroll_pca_refusals

ec_ca=$(pca_ca EC_prime256v1)
off_ca=$(pca_ca EC_prime256v1)
pca_update "$off_ca" '{"status":"DISABLED"}'
short_ca=$(pca_ca EC_prime256v1 111111111111 '"days":10')
other_ca=$(pca_ca EC_prime256v1 222222222222)
pca_config "$ENR_DIR/pca.json" "{
  \"ec\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$ec_ca\", \"validity_days\": 30},
  \"off\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$off_ca\"},
  \"short\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$short_ca\", \"validity_days\": 30},
  \"rsaalg\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$ec_ca\", \"signing_algorithm\": \"SHA256WITHRSA\"},
  \"client\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$ec_ca\", \"validity_days\": 30,
     \"template_arn\": \"arn:aws:acm-pca:::template/EndEntityClientAuthCertificate_CSRPassthrough/V1\"},
  \"other\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$other_ca\", \"validity_days\": 30},
  \"other-role\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$other_ca\", \"validity_days\": 30,
     \"role_arn\": \"arn:aws:iam::222222222222:role/central-pki\"}}"
cfg="$ENR_DIR/pca.json"
t='[{"region":"eu-west-1"}]'

# One good enrollment: the certificate a reimport below must keep serverAuth for.
enr_request "$ENR_DIR/ok.json" ok ec:P-256 "www.example.com" "$t" '{"issuer":"ec"}'
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/ok.json" >"$ENR_DIR/ok.out" || enr_fail "good enrollment"
arn=$(enr_json "$ENR_DIR/ok.out" 'd["targets"][0]["certificate_arn"]')
objs=$(enr_objects)
certs=$(enr_cert_count)
issued=$(pca_issued "$ec_ca")

enr_refuse r-off 6 "is DISABLED, not ACTIVE" ec:P-256 www.example.com "$t" '{"issuer":"off"}' "$cfg"
grep -qF "$off_ca" "$ENR_DIR/last.err" || enr_fail "disabled: message does not name the CA"
enr_refuse r-short 6 "expires before validity_days=30" ec:P-256 www.example.com "$t" '{"issuer":"short"}' "$cfg"
enr_refuse r-alg 6 "SHA256WITHRSA cannot sign with CA $ec_ca, whose key is EC_prime256v1" \
    ec:P-256 www.example.com "$t" '{"issuer":"rsaalg"}' "$cfg"
enr_refuse r-family 3 "rsa:2048 under issuer 'ec' whose CA key is EC_prime256v1" \
    rsa:2048 www.example.com "$t" '{"issuer":"ec"}' "$cfg"
enr_refuse r-template 3 "targets[0]" ec:P-256 www.example.com \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$arn\"}]" '{"issuer":"client"}' "$cfg"
grep -qi "server" "$ENR_DIR/last.err" || enr_fail "template refusal does not name serverAuth: $(cat "$ENR_DIR/last.err")"
enr_refuse r-other 6 "AccessDeniedException" ec:P-256 www.example.com "$t" '{"issuer":"other"}' "$cfg"
grep -q "request id [^n]" "$ENR_DIR/last.err" || enr_fail "cross-account: no AWS request id: $(cat "$ENR_DIR/last.err")"
[ "$(pca_issued "$ec_ca")" = "$issued" ] || enr_fail "a refusal reached IssueCertificate"
[ "$(pca_issued "$other_ca" 222222222222)" = 0 ] || enr_fail "the other account's CA issued"

# With role_arn the central account's CA issues (AssumeRole into 222222222222).
enr_request "$ENR_DIR/role.json" role ec:P-256 "www.example.com" "$t" '{"issuer":"other-role"}'
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/role.json" >"$ENR_DIR/role.out" || enr_fail "role_arn enrollment"
[ "$(pca_issued "$other_ca" 222222222222)" = 1 ] || enr_fail "role_arn: the CA issued $(pca_issued "$other_ca" 222222222222)"
# Issued by the role, in a session named after the request.
pca_view "$other_ca" 222222222222 | $PY -c '
import json, sys
c = list(json.load(sys.stdin)["certificates"].values())
assert [i["caller_arn"] for i in c] == ["arn:aws:sts::222222222222:assumed-role/central-pki/hsm2acm-role"], c' ||
    enr_fail "role_arn: not issued by the role session"

# Configuration: strict, exit 2 naming the key.
for bad in '"certificate_authority_arn": "arn:aws:acm:eu-west-1:111111111111:certificate/x"|certificate_authority_arn' \
           '"certificate_authority_arn": "'"$ec_ca"'", "signing_algorithm": "SHA1WITHRSA"|signing_algorithm' \
           '"certificate_authority_arn": "'"$ec_ca"'", "template_arn": "EndEntityCertificate/V1"|template_arn' \
           '"certificate_authority_arn": "'"$ec_ca"'", "validity": 3|validity' \
           '"template_arn": "arn:aws:acm-pca:::template/EndEntityCertificate/V1"|certificate_authority_arn'; do
    pca_config "$ENR_DIR/bad.json" "{\"bad\": {\"type\": \"acm-pca\", ${bad%|*}}}"
    enr_expect_fail 2 "issuers.bad.${bad#*|}" "$H2A_BIN" enroll --config "$ENR_DIR/bad.json" "$ENR_DIR/ok.json"
done
echo "PASS"
