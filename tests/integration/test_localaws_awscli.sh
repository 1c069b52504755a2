#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The real AWS CLI (/usr/bin/aws, Debian awscli v2) accepts the local AWS endpoint:
# a client we did not write signs, parses and paginates against it.
set -euo pipefail

SRC=${H2A_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/tests/lib/localaws.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); exec("print(" + sys.argv[1] + ")")' "$1"; }

# Variables from the caller's environment must not leak into the test.
export AWS_PROFILE=leaked AWS_SESSION_TOKEN=leaked AWS_ROLE_ARN=leaked
h2a_localaws_start
trap h2a_localaws_stop EXIT
[ -z "${AWS_PROFILE:-}${AWS_SESSION_TOKEN:-}${AWS_ROLE_ARN:-}" ] || fail "AWS_* leaked through h2a_localaws_start"
[ -f "$AWS_CONFIG_FILE" ] && [ ! -s "$AWS_CONFIG_FILE" ] || fail "AWS_CONFIG_FILE is not an empty file"
[ "$AWS_REGION" = eu-west-1 ] && [ "$AWS_ENDPOINT_URL" = "$H2A_LOCALAWS_URL" ] || fail "endpoint env"
[ "$(h2a_localaws_ctl GET /_control/health | jget 'd["https_port"]')" = "${H2A_LOCALAWS_URL##*:}" ] \
    || fail "h2a_localaws_ctl health"
work=$H2A_LOCALAWS_STATE_DIR/cli
mkdir -p "$work"

aws() { /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" --ca-bundle "$AWS_CA_BUNDLE" \
        --output json "$@"; }

# STS
who=$(aws sts get-caller-identity)
[ "$(jget 'd["Account"]' <<<"$who")" = 111111111111 ] || fail "get-caller-identity: $who"
[ "$(jget 'd["Arn"]' <<<"$who")" = arn:aws:iam::111111111111:user/h2a-test ] || fail "arn: $who"
role=$(aws sts assume-role --role-arn arn:aws:iam::222222222222:role/cli --role-session-name cli)
[ "$(jget 'd["AssumedRoleUser"]["Arn"]' <<<"$role")" = arn:aws:sts::222222222222:assumed-role/cli/cli ] \
    || fail "assume-role: $role"

# A wrong secret key: the CLI reports AWS's error code.
if out=$(AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong aws sts get-caller-identity 2>&1); then
    fail "bad secret accepted"
fi
grep -q SignatureDoesNotMatch <<<"$out" || fail "bad secret: $out"

# Certificates made with python3-cryptography: one EC P-256, one RSA-2048.
/usr/bin/python3 - "$work" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
d = sys.argv[1]
now = datetime.datetime.utcnow()
for name, key in (("ec", ec.generate_private_key(ec.SECP256R1())),
                  ("rsa", rsa.generate_private_key(65537, 2048))):
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "%s.example.com" % name)])
    iss = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cli test issuer")])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(iss)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("%s.example.com" % name)]), False)
            .sign(key, hashes.SHA256()))
    open("%s/%s.crt" % (d, name), "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open("%s/%s.key" % (d, name), "wb").write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    open("%s/two-%s.crt" % (d, name), "wb").write(cert.public_bytes(serialization.Encoding.PEM) * 2)
PY

ec_arn=$(aws acm import-certificate --certificate "fileb://$work/ec.crt" \
         --private-key "fileb://$work/ec.key" --tags Key=env,Value=test | jget 'd["CertificateArn"]')
rsa_arn=$(aws acm import-certificate --certificate "fileb://$work/rsa.crt" \
          --private-key "fileb://$work/rsa.key" | jget 'd["CertificateArn"]')
case $ec_arn in arn:aws:acm:eu-west-1:111111111111:certificate/*) ;; *) fail "ec arn $ec_arn" ;; esac

# Two certificates in --certificate: AWS's ValidationException text.
if out=$(aws acm import-certificate --certificate "fileb://$work/two-ec.crt" \
         --private-key "fileb://$work/ec.key" 2>&1); then
    fail "two certificates accepted"
fi
grep -q "The certificate field contains more than one certificate" <<<"$out" || fail "two: $out"

# Default listing shows RSA only; keyTypes shows both.
default=$(aws acm list-certificates | jget '" ".join(sorted(c["CertificateArn"] for c in d["CertificateSummaryList"]))')
[ "$default" = "$rsa_arn" ] || fail "default list: $default"
both=$(aws acm list-certificates --includes keyTypes=EC_prime256v1,RSA_2048 \
       | jget 'len(d["CertificateSummaryList"])')
[ "$both" = 2 ] || fail "keyTypes list: $both"

desc=$(aws acm describe-certificate --certificate-arn "$ec_arn")
[ "$(jget 'd["Certificate"]["KeyAlgorithm"]' <<<"$desc")" = EC_prime256v1 ] || fail "describe: $desc"
[ "$(jget 'd["Certificate"]["Type"]' <<<"$desc")" = IMPORTED ] || fail "describe: $desc"
[ "$(jget 'd["Certificate"]["DomainName"]' <<<"$desc")" = ec.example.com ] || fail "describe: $desc"

# Reimport with the CLI keeps the ARN.
re_arn=$(aws acm import-certificate --certificate-arn "$ec_arn" --certificate "fileb://$work/ec.crt" \
         --private-key "fileb://$work/ec.key" | jget 'd["CertificateArn"]')
[ "$re_arn" = "$ec_arn" ] || fail "reimport arn $re_arn"
got=$(aws acm get-certificate --certificate-arn "$ec_arn" | jget 'd["Certificate"]')
[[ $got == *"BEGIN CERTIFICATE"* ]] || fail "get-certificate: $got"

# Secrets Manager (the CLI fills ClientRequestToken itself).
sec=$(aws secretsmanager create-secret --name hsm2acm/staging/cli --secret-string '{"k":"v"}' \
      --tags Key=hsm2acm:request,Value=cli)
sec_arn=$(jget 'd["ARN"]' <<<"$sec")
[[ $sec_arn == arn:aws:secretsmanager:eu-west-1:111111111111:secret:hsm2acm/staging/cli-?????? ]] \
    || fail "secret arn $sec_arn"
[ "$(aws secretsmanager get-secret-value --secret-id hsm2acm/staging/cli | jget 'd["SecretString"]')" = '{"k":"v"}' ] \
    || fail "get-secret-value"
listed=$(aws secretsmanager list-secrets --filters Key=tag-key,Values=hsm2acm:request | jget 'len(d["SecretList"])')
[ "$listed" = 1 ] || fail "list-secrets: $listed"
if out=$(aws secretsmanager delete-secret --secret-id "$sec_arn" --force-delete-without-recovery \
         --recovery-window-in-days 7 2>&1); then
    fail "force + window accepted"
fi
grep -q InvalidParameterException <<<"$out" || fail "force+window: $out"
aws secretsmanager delete-secret --secret-id "$sec_arn" --force-delete-without-recovery >/dev/null
if aws secretsmanager get-secret-value --secret-id "$sec_arn" >/dev/null 2>&1; then
    fail "secret still readable after force delete"
fi

# A restart keeps the state and the URL.
url_before=$AWS_ENDPOINT_URL pid_before=$H2A_LOCALAWS_PID
h2a_localaws_restart
[ "$AWS_ENDPOINT_URL" = "$url_before" ] && [ "$H2A_LOCALAWS_PID" != "$pid_before" ] || fail "restart"
[ "$(aws acm describe-certificate --certificate-arn "$ec_arn" | jget 'd["Certificate"]["CertificateArn"]')" = "$ec_arn" ] \
    || fail "certificate lost across restart"

# What the CLI did is in the call log (since the restart), all signed by account 111111111111.
aws acm import-certificate --certificate-arn "$ec_arn" --certificate "fileb://$work/ec.crt" \
    --private-key "fileb://$work/ec.key" >/dev/null
calls=$(h2a_localaws_ctl GET /_control/calls)
n_import=$(jget 'sum(1 for c in d["calls"] if c["operation"] == "ImportCertificate" and c["status"] == 200)' <<<"$calls")
[ "$n_import" = 1 ] || fail "ImportCertificate calls: $n_import"
[ "$(jget 'sorted({c["account"] for c in d["calls"]})' <<<"$calls")" = "['111111111111']" ] || fail "accounts"

echo "PASS test_localaws_awscli"
