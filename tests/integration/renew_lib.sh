# SPDX-License-Identifier: Apache-2.0
# Sourced by the renew tests after enroll_lib.sh.
#
#   renew_cmd_issuer [PRELUDE] [X509_ARGS]
#       an openssl CA ($ENR_DIR/cmdca, P-256) behind a command issuer named "cmd"
#       added to $ENR_CONFIG; PRELUDE is shell run first by the issuer script
#       (it may fail the issue), X509_ARGS are extra `openssl x509 -req` arguments
#       (a CA profile: "-extfile FILE").
renew_cmd_issuer() {
    local prelude=${1:-} extra=${2:-}
    ca="$ENR_DIR/cmdca"
    mkdir -p "$ca"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ca/ca.key" \
        -out "$ca/ca.pem" -days 60 -subj "/CN=hsm2acm renew test command CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    cat >"$ca/issue.sh" <<SH
#!/bin/sh
set -e
$prelude
t=\$(mktemp -d)
cat >"\$t/csr.pem"
openssl x509 -req -in "\$t/csr.pem" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -set_serial 0x\$(openssl rand -hex 12) \
    -days 20 $extra -copy_extensions copyall -out "\$t/leaf.pem" 2>/dev/null
cat "\$t/leaf.pem" "$ca/ca.pem"
rm -rf "\$t"
SH
    chmod +x "$ca/issue.sh"
    enr_config_with "$ENR_CONFIG.tmp" "{\"issuers\":{\"cmd\":{\"type\":\"command\",\"argv\":[\"$ca/issue.sh\"],\"timeout_seconds\":30}}}"
    mv "$ENR_CONFIG.tmp" "$ENR_CONFIG"
}

# renew_exts_plus_codesigning ARN: the KeyUsage and EKUs of the certificate ACM serves
# at ARN, plus EKU codeSigning, as enr_import_openssl's EXTS (a certificate a renewal
# may not replace: ACM refuses a reimport that removes a usage).
renew_exts_plus_codesigning() {
    local pem="$ENR_DIR/current.pem" ku eku
    enr_aws acm get-certificate --certificate-arn "$1" --query Certificate --output text >"$pem"
    ku=$(openssl x509 -in "$pem" -noout -ext keyUsage | sed -n 2p | sed 's/^ *//; s/Digital Signature/digitalSignature/; s/Key Agreement/keyAgreement/; s/Key Encipherment/keyEncipherment/; s/, /,/g')
    eku=$(openssl x509 -in "$pem" -noout -ext extendedKeyUsage | sed -n 2p | sed 's/^ *//; s/TLS Web Server Authentication/serverAuth/; s/TLS Web Client Authentication/clientAuth/; s/, /,/g')
    echo "keyUsage=critical,$ku;extendedKeyUsage=$eku,codeSigning"
}
