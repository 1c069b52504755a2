#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17, items 1, 2, 7 and 15, through the local AWS endpoint:
#  - every name in the certificate (the subject CN too) passes san.* and
#    authorization, in enroll and csr, and the issued certificate is checked
#    again before anything is staged (an issuer that adds a name: exit 7);
#  - enroll runs the KeyUsage/EKU check before the token is touched, for
#    new imports and reimports;
#  - a command issuer that prints nothing: exit 6, key destroyed, journal failed;
#  - ACM's key family rule: an EC leaf from an RSA CA is refused (exit 7).
# Every refusal leaves the token object count, Secrets Manager and ACM as they were.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_names

enr_request "$ENR_DIR/ok.json" ok-1 ec:P-256 "ok.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok.json" >/dev/null
enr_request "$ENR_DIR/ok2.json" ok-2 rsa:2048 "ok2.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok2.json" >/dev/null
ec_arn=$(enr_import_openssl ec ec:prime256v1 "keyUsage=critical,digitalSignature;extendedKeyUsage=serverAuth" legacy.example.com)
objs=$(enr_objects)
certs=$(enr_cert_count)

T='[{"region":"eu-west-1"}]'

# --- Item 1: the subject CN is a name like any SAN --------------------------
cat >"$ENR_DIR/policy-san.json" <<'JSON'
{"version": 1, "san": {"dns_suffixes": ["example.com"], "allow_wildcards": false, "allow_ip": false}}
JSON
enr_config_with "$ENR_DIR/config-san.json" "{\"policy\":\"$ENR_DIR/policy-san.json\"}"
S="$ENR_DIR/config-san.json"
enr_refuse cn-suffix 3 "subject CN 'www.evil.com'" ec:P-256 www.example.com "$T" '{"subject":"CN=www.evil.com"}' "$S"
enr_refuse cn-wild 3 "allow_wildcards is false" ec:P-256 www.example.com "$T" '{"subject":"CN=*.example.com"}' "$S"
enr_refuse cn-ip 3 "allow_ip is false" ec:P-256 www.example.com "$T" '{"subject":"CN=10.1.2.3"}' "$S"
enr_refuse cn-two 2 "subject: more than one CN" ec:P-256 www.example.com "$T" '{"subject":"/CN=www.example.com/CN=www.evil.com"}' "$S"
enr_refuse cn-text 2 "subject CN: 'Web Service' is neither a DNS name nor an IP address" ec:P-256 www.example.com "$T" '{"subject":"CN=Web Service,O=Example"}' "$S"
enr_refuse cn-reimport 3 "subject CN 'legacy.evil.com'" ec:P-256 legacy.example.com \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$ec_arn\"}]" '{"subject":"CN=legacy.evil.com"}' "$S"
cat >"$ENR_DIR/policy-auth.json" <<'JSON'
{"version": 1, "authorization": {"team-web": {"dns_suffixes": ["example.com"], "accounts": ["*"]}}}
JSON
enr_config_with "$ENR_DIR/config-auth.json" "{\"policy\":\"$ENR_DIR/policy-auth.json\"}"
enr_refuse cn-auth 3 "authorization.team-web.dns_suffixes" ec:P-256 www.example.com "$T" '{"subject":"CN=www.example.org"}' "$ENR_DIR/config-auth.json"

# A CN that passes but is not among dns[] is added to the certificate's SANs.
enr_request "$ENR_DIR/cn-add.json" cn-add ec:P-256 www.example.com "$T" '{"subject":"CN=api.example.com"}'
"$H2A_BIN" enroll --config "$S" "$ENR_DIR/cn-add.json" >"$ENR_DIR/cn-add.out"
arn=$(enr_json "$ENR_DIR/cn-add.out" 'd["targets"][0]["certificate_arn"]')
enr_acm | $PY -c '
import json, sys
from cryptography import x509
c = [c for c in json.load(sys.stdin)["certificates"] if c["arn"] == sys.argv[1]][0]
cert = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
assert sorted(names) == ["api.example.com", "www.example.com"], names
print("  ok: CN added to the SANs:", names)' "$arn" || enr_fail "CN not added to the SANs"
certs=$(enr_cert_count)
objs=$(enr_objects)

# csr: the same rules, and the CN joins the CSR's SANs.
"$H2A_BIN" keygen --token "$H2A_TEST_TOKEN_URI" --type ec:P-256 --label csr-key >/dev/null
enr_expect_fail 3 "subject CN 'www.evil.com'" "$H2A_BIN" csr --token "$H2A_TEST_TOKEN_URI" --key csr-key \
    --subject CN=www.evil.com --dns www.example.com --policy "$ENR_DIR/policy-san.json"
enr_expect_fail 3 "allow_ip" "$H2A_BIN" csr --token "$H2A_TEST_TOKEN_URI" --key csr-key \
    --subject CN=192.0.2.7 --policy "$ENR_DIR/policy-san.json"
enr_expect_fail 2 "more than one CN" "$H2A_BIN" csr --token "$H2A_TEST_TOKEN_URI" --key csr-key \
    --subject /CN=a.example.com/CN=b.example.com
"$H2A_BIN" csr --token "$H2A_TEST_TOKEN_URI" --key csr-key --subject CN=only.example.com >"$ENR_DIR/only.csr"
openssl req -in "$ENR_DIR/only.csr" -noout -text | grep -q "DNS:only.example.com" ||
    enr_fail "csr: the CN is not among the CSR's SANs"
# csr: the usage check runs on the policy's defaults too, and refuses DECIPHER_ONLY.
enr_expect_fail 3 "DECIPHER_ONLY" "$H2A_BIN" csr --token "$H2A_TEST_TOKEN_URI" --key csr-key \
    --subject CN=a.example.com --key-usage KEY_AGREEMENT,DECIPHER_ONLY
objs=$(enr_objects)

# --- Item 2: the usage check runs in enroll, before the token ---------------
enr_refuse ku-ec-ke 3 "KEY_ENCIPHERMENT does not fit a EC_prime256v1 key" ec:P-256 u.example.com "$T" \
    '{"key_usage":["DIGITAL_SIGNATURE","KEY_ENCIPHERMENT"]}'
enr_refuse ku-crl 3 "CRL_SIGNING is refused" ec:P-256 u.example.com "$T" '{"key_usage":["DIGITAL_SIGNATURE","CRL_SIGNING"]}'
enr_refuse ku-ca 3 "CERTIFICATE_SIGNING is refused" rsa:2048 u.example.com "$T" '{"key_usage":["CERTIFICATE_SIGNING"]}'
enr_refuse ku-rsa-ka 3 "KEY_AGREEMENT does not fit a RSA_2048 key" rsa:2048 u.example.com "$T" '{"key_usage":["KEY_AGREEMENT"]}'
enr_refuse ku-do 3 "DECIPHER_ONLY is refused" ec:P-256 u.example.com "$T" '{"key_usage":["KEY_AGREEMENT","DECIPHER_ONLY"]}'
enr_refuse ku-eo 3 "ENCIPHER_ONLY is refused" ec:P-384 u.example.com "$T" '{"key_usage":["DIGITAL_SIGNATURE","ENCIPHER_ONLY"]}'
enr_refuse ku-reimport 3 "CRL_SIGNING is refused" ec:P-256 legacy.example.com \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$ec_arn\"}]" '{"key_usage":["DIGITAL_SIGNATURE","CRL_SIGNING"]}'
enr_refuse ku-inherit 3 "KEY_ENCIPHERMENT does not fit" inherit legacy.example.com \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$ec_arn\"}]" '{"key_usage":["DIGITAL_SIGNATURE","KEY_ENCIPHERMENT"]}'
grep -q '"step":"validate","outcome":"refused"' "$ENR_DIR/state/audit.log" || enr_fail "refusals not audited"

# --- Items 1 (verify), 7 and 15: command issuers -----------------------------
mkca() { # mkca DIR KEYSPEC...
    local d=$1
    shift
    mkdir -p "$d"
    openssl req -x509 "$@" -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
        -subj "/CN=test CA $(basename "$d")" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
mkca "$ENR_DIR/ca-rsa" -newkey rsa:2048
mkca "$ENR_DIR/ca-ec" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
printf 'subjectAltName=DNS:n.example.com,DNS:extra.example.com\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
    >"$ENR_DIR/ca-ec/addname.ext"
for ca in rsa ec; do
    cat >"$ENR_DIR/sign-$ca.sh" <<SH
#!/bin/sh
openssl x509 -req -in /dev/stdin -CA "$ENR_DIR/ca-$ca/ca.pem" -CAkey "$ENR_DIR/ca-$ca/ca.key" \\
    -CAcreateserial -days 10 -copy_extensions copyall 2>/dev/null && cat "$ENR_DIR/ca-$ca/ca.pem"
SH
done
cat >"$ENR_DIR/sign-addname.sh" <<SH
#!/bin/sh
openssl x509 -req -in /dev/stdin -CA "$ENR_DIR/ca-ec/ca.pem" -CAkey "$ENR_DIR/ca-ec/ca.key" \\
    -CAcreateserial -days 10 -extfile "$ENR_DIR/ca-ec/addname.ext" 2>/dev/null
cat "$ENR_DIR/ca-ec/ca.pem"
SH
cat >"$ENR_DIR/sign-empty.sh" <<'SH'
#!/bin/sh
cat >/dev/null
exit 0
SH
chmod +x "$ENR_DIR"/sign-*.sh
enr_config_with "$ENR_DIR/config-iss.json" "{\"issuers\":{
  \"rsa-ca\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/sign-rsa.sh\"]},
  \"ec-ca\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/sign-ec.sh\"]},
  \"addname\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/sign-addname.sh\"]},
  \"empty\":{\"type\":\"command\",\"argv\":[\"$ENR_DIR/sign-empty.sh\"]}}}"
I="$ENR_DIR/config-iss.json"
enr_refuse iss-addname 7 "names DNS 'extra.example.com', which the request did not ask for" ec:P-256 n.example.com "$T" '{"issuer":"addname"}' "$I"
enr_refuse iss-empty 6 "printed no certificate" ec:P-256 e.example.com "$T" '{"issuer":"empty"}' "$I"
enr_expect_fail 8 "rolled back" "$H2A_BIN" resume --config "$I" iss-empty
enr_refuse family 7 "its key is EC_prime256v1 but its issuing CA's key is RSA_2048" ec:P-256 f.example.com "$T" '{"issuer":"rsa-ca"}' "$I"
enr_expect_fail 8 "rolled back" "$H2A_BIN" resume --config "$I" family
# The same issuers deliver when the families agree.
enr_request "$ENR_DIR/fam-ok.json" fam-ok rsa:2048 f.example.com "$T" '{"issuer":"rsa-ca"}'
"$H2A_BIN" enroll --config "$I" "$ENR_DIR/fam-ok.json" >/dev/null
enr_request "$ENR_DIR/fam-ok2.json" fam-ok2 ec:P-256 f2.example.com "$T" '{"issuer":"ec-ca"}'
"$H2A_BIN" enroll --config "$I" "$ENR_DIR/fam-ok2.json" >/dev/null
echo PASS
