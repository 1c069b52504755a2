#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issuer acm-pca against the local endpoint's Private CA: all six key types, each
# under a CA of its family; the certificate in ACM chains to the PCA root; a
# reimport into the same ARN with a PCA certificate; audit lines name the CA, the
# template and the PCA certificate ARN. Pitfalls of other PCA clients: the
# signing algorithm follows the CA's key (never the CSR's), also for a shared CA
# whose Describe is denied; the CSR goes as base64 of PEM with the exact
# "BEGIN CERTIFICATE REQUEST" header (the endpoint refuses the NEW variant, as PCA does).
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/pca_lib.sh"
enr_setup enroll_pca

rsa_ca=$(pca_ca RSA_2048)
ec_ca=$(pca_ca EC_prime256v1)
pca_config "$ENR_DIR/pca.json" "{
  \"pca-rsa\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$rsa_ca\", \"validity_days\": 30},
  \"pca-ec\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$ec_ca\", \"validity_days\": 30,
     \"template_arn\": \"arn:aws:acm-pca:::template/EndEntityServerAuthCertificate_CSRPassthrough/V1\"}}"
cfg="$ENR_DIR/pca.json"

n=0
for kt in ec:P-256 ec:P-384 ec:P-521 rsa:2048 rsa:3072 rsa:4096; do
    id="pca-${kt//[:]/-}"
    iss=pca-ec ca=$ec_ca
    case $kt in rsa:*) iss=pca-rsa ca=$rsa_ca ;; esac
    enr_request "$ENR_DIR/$id.json" "$id" "$kt" "www.example.com,api.example.com" \
        '[{"region":"eu-west-1"}]' "{\"issuer\":\"$iss\"}"
    "$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" ||
        enr_fail "enroll $kt exited $?"
    n=$((n + 1))
    arn=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["certificate_arn"]')
    kid=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["key_id"]')
    enr_check_acm_key "$arn" "$kid"
    pca_view "$ca" >"$ENR_DIR/ca.json"
    enr_acm >"$ENR_DIR/acm.json"
    # ACM's certificate is one the CA issued, its chain is the PCA root, it verifies
    # against that root, and the algorithm is the CA's (an EC P-256 CA signs with
    # SHA256 even for a P-384 or P-521 key: taken from the CA, not from the CSR).
    $PY - "$ENR_DIR/acm.json" "$ENR_DIR/ca.json" "$arn" "$kt" <<'PYEOF' || enr_fail "$kt: PCA chain"
import json, sys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding
acm, ca, arn, kt = sys.argv[1:5]
c = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn][0]
ca = json.load(open(ca))
root = x509.load_pem_x509_certificate(ca["certificate_pem"].encode())
leaf = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
import re
chain = [x509.load_pem_x509_certificate(m.encode()) for m in re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", c.get("chain_pem") or "", re.S)]
assert [x.fingerprint(x.signature_hash_algorithm) for x in chain] == [root.fingerprint(root.signature_hash_algorithm)], "chain is not the PCA root"
pub = root.public_key()
if isinstance(pub, ec.EllipticCurvePublicKey):
    pub.verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))
else:
    pub.verify(leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), leaf.signature_hash_algorithm)
assert leaf.signature_hash_algorithm.name == "sha256", leaf.signature_hash_algorithm.name
issued = [it for it in ca["certificates"].values() if it["pem"].strip() == c["certificate_pem"].strip()]
assert len(issued) == 1, "ACM's certificate was not issued by the CA"
it = issued[0]
assert it["signing_algorithm"] == ("SHA256WITHRSA" if kt.startswith("rsa") else "SHA256WITHECDSA"), it
assert it["csr_header"] == "-----BEGIN CERTIFICATE REQUEST-----", it["csr_header"]
assert it["polls"] >= 2, "the first GetCertificate answered RequestInProgressException"
PYEOF
done
[ "$(pca_issued "$ec_ca")" = 3 ] || enr_fail "EC CA issued $(pca_issued "$ec_ca"), expected 3"
[ "$(pca_issued "$rsa_ca")" = 3 ] || enr_fail "RSA CA issued $(pca_issued "$rsa_ca"), expected 3"
[ "$(enr_cert_count)" = "$n" ] || enr_fail "ACM holds $(enr_cert_count), expected $n"

# Audit: the submit line names the CA, the template and the PCA certificate ARN.
grep '"step":"submit"' "$ENR_DIR/state/audit.log" | grep -F "ca=$ec_ca" |
    grep -F "template=arn:aws:acm-pca:::template/EndEntityServerAuthCertificate_CSRPassthrough/V1" |
    grep -qF "certificate=$ec_ca/certificate/" || enr_fail "audit submit line: $(grep '"step":"submit"' "$ENR_DIR/state/audit.log" | head -2)"

# Reimport into the same ARN with a new PCA certificate (the default template keeps serverAuth).
first=$(enr_json "$ENR_DIR/pca-rsa-2048.out" 'd["targets"][0]["certificate_arn"]')
enr_request "$ENR_DIR/re.json" pca-re rsa:2048 "www.example.com,api.example.com" \
    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$first\"}]" '{"issuer":"pca-rsa"}'
"$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/re.json" >"$ENR_DIR/re.out" || enr_fail "reimport exited $?"
[ "$(enr_json "$ENR_DIR/re.out" 'd["targets"][0]["certificate_arn"]')" = "$first" ] || enr_fail "reimport: ARN changed"
enr_check_acm_key "$first" "$(enr_json "$ENR_DIR/re.out" 'd["targets"][0]["key_id"]')"
[ "$(enr_cert_count)" = "$n" ] || enr_fail "reimport made a new ACM certificate"
[ "$(pca_issued "$rsa_ca")" = 4 ] || enr_fail "reimport: RSA CA issued $(pca_issued "$rsa_ca")"

# A CA of account 222222222222 shared with us whose Describe is denied (RAM share): the
# family comes from the CA certificate. A P-384 CA signs with SHA384 for a P-256 key.
shared=$(pca_ca EC_secp384r1 222222222222)
pca_update "$shared" '{"shared_with":["111111111111"],"describe_denied":true}' 222222222222
pca_config "$ENR_DIR/shared.json" "{\"shared\": {\"type\": \"acm-pca\", \"certificate_authority_arn\": \"$shared\", \"validity_days\": 30}}"
enr_request "$ENR_DIR/sh.json" pca-shared ec:P-256 "www.example.com" '[{"region":"eu-west-1"}]' '{"issuer":"shared"}'
"$H2A_BIN" enroll --config "$ENR_DIR/shared.json" "$ENR_DIR/sh.json" >"$ENR_DIR/sh.out" || enr_fail "shared CA exited $?"
pca_view "$shared" 222222222222 | $PY -c '
import json, sys
c = json.load(sys.stdin)["certificates"]
assert [i["signing_algorithm"] for i in c.values()] == ["SHA384WITHECDSA"], c
assert [i["caller"] for i in c.values()] == ["111111111111"], c' || enr_fail "shared CA: signing algorithm"

# The NEW CERTIFICATE REQUEST header variant and DER are refused (as PCA does): the AWS
# CLI shows the endpoint enforces the header hsm2acm sends (checked above).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ENR_DIR/x.key" \
    -subj /CN=x.example.com -out "$ENR_DIR/x.csr" 2>/dev/null
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' "$ENR_DIR/x.csr" >"$ENR_DIR/xnew.csr"
openssl req -in "$ENR_DIR/x.csr" -outform DER -out "$ENR_DIR/x.der"
for f in xnew.csr x.der; do
    set +e
    enr_aws acm-pca issue-certificate --certificate-authority-arn "$ec_ca" --csr "fileb://$ENR_DIR/$f" \
        --signing-algorithm SHA256WITHECDSA --validity Value=1,Type=DAYS >/dev/null 2>"$ENR_DIR/cli.err"
    rc=$?
    set -e
    [ "$rc" != 0 ] && grep -q MalformedCSRException "$ENR_DIR/cli.err" || enr_fail "$f accepted: $(cat "$ENR_DIR/cli.err")"
done
enr_aws acm-pca issue-certificate --certificate-authority-arn "$ec_ca" --csr "fileb://$ENR_DIR/x.csr" \
    --signing-algorithm SHA256WITHECDSA --validity Value=1,Type=DAYS >/dev/null || enr_fail "the exact header refused"
echo "PASS"
