#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# README command 1: the whole product on one machine. Installs what it needs
# (Debian 12 packages), builds hsm2acm, creates a SoftHSM2 token with its own
# configuration and a 0600 PIN file, makes the wrapping key, starts the local
# AWS endpoint, enrolls examples/request.json with the local token-backed CA,
# prints the ARN, and shows with the real AWS CLI that ACM holds the
# certificate and that no staging secret is left. Stops the endpoint at the end.
#
#   bash scripts/demo.sh            (as root on a fresh machine; as a user if the
#                                    packages are already installed)
#   H2A_DEMO_DIR=/some/dir bash scripts/demo.sh   (where the demo state goes)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { printf '\n== %s\n' "$*"; }

say "Installing Debian packages"
if [ "$(id -u)" = 0 ]; then
    bash scripts/install-deps.sh >/dev/null
else
    echo "not root: assuming the packages of scripts/install-deps.sh are installed"
fi

say "Building hsm2acm"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/demo -j"$(nproc)" --target hsm2acm >/dev/null
bin="$root/build/demo/agent/hsm2acm"
"$bin" --version

demo=${H2A_DEMO_DIR:-$root/build/demo-run}
rm -rf "$demo"
mkdir -p "$demo/tokens"
chmod 700 "$demo"

say "Creating a SoftHSM2 token in $demo"
module=/usr/lib/softhsm/libsofthsm2.so
cat >"$demo/softhsm2.conf" <<CONF
directories.tokendir = $demo/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$demo/softhsm2.conf"
pin=$(openssl rand -hex 8)
so_pin=$(openssl rand -hex 8)
(umask 077 && printf '%s' "$pin" >"$demo/pin")
softhsm2-util --init-token --free --label hsm2acm-demo --pin "$pin" --so-pin "$so_pin" >/dev/null
unset pin so_pin
token="pkcs11:token=hsm2acm-demo?module-path=$module&pin-source=file:$demo/pin"
echo "token: $token (PIN in $demo/pin, mode $(stat -c %a "$demo/pin"))"

say "Making the wrapping key (AES-256, wrap/unwrap only, never extractable)"
"$bin" wrapkey create --token "$token" --label hsm2acm-wrap

say "Starting the local AWS endpoint"
. "$root/tests/lib/localaws.sh"
h2a_localaws_start "$demo/aws" >/dev/null
trap h2a_localaws_stop EXIT
echo "endpoint: $H2A_LOCALAWS_URL (CA bundle $H2A_LOCALAWS_CA)"

say "Writing $demo/config.json from examples/config.json"
/usr/bin/python3 - "$root/examples/config.json" "$demo/config.json" "$token" "$demo" "$root" <<'PY'
import json, sys
src, out, token, demo, root = sys.argv[1:6]
c = json.load(open(src))
c["token"] = token
c["state_dir"] = demo + "/state"
c["policy"] = root + "/examples/policy.json"
c["audit"] = {"file": demo + "/state/audit.log", "syslog": False}
# The demo CA: a local issuer whose keys live in the demo token.
c["issuers"] = {"demo": c["issuers"]["demo"]}
json.dump(c, open(out, "w"), indent=2)
PY
cat "$demo/config.json"

say "Enrolling examples/request.json (the local CA is made in the token on first use)"
"$bin" enroll --config "$demo/config.json" "$root/examples/request.json" | tee "$demo/result.json"
arn=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["targets"][0]["certificate_arn"])' "$demo/result.json")
echo
echo "Certificate ARN: $arn"

aws_cli() {
    /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" --ca-bundle "$H2A_LOCALAWS_CA" --region eu-west-1 "$@"
}
say "ACM holds it (aws acm describe-certificate)"
aws_cli acm describe-certificate --certificate-arn "$arn" \
    --query 'Certificate.{Arn:CertificateArn,Type:Type,Status:Status,Domain:DomainName,Names:SubjectAlternativeNames,KeyAlgorithm:KeyAlgorithm,Serial:Serial,Issuer:Issuer,NotAfter:NotAfter}' \
    --output json

say "No staging secret is left (aws secretsmanager list-secrets)"
secrets=$(aws_cli secretsmanager list-secrets --include-planned-deletion --query 'SecretList[].Name' --output json)
echo "$secrets"
[ "$secrets" = "[]" ] || { echo "demo: staging secrets left behind" >&2; exit 1; }

say "The journal and the audit log"
sqlite3 "$demo/state/journal.db" 'select id, state, key_id, kcv, serial from requests; select request_id, idx, region, state, imported_arn from targets;'
tail -n 3 "$demo/state/audit.log"

say "Demo done. Token, state and endpoint data are in $demo"
