# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/integration/test_enroll_*.sh: a fresh token, a fresh local
# AWS endpoint, a wrapping key and an hsm2acm configuration per test.
#
#   enr_setup NAME            token + endpoint + wrap key + $ENR_DIR/config.json
#   enr_request FILE ID KEY DNS TARGETS_JSON [EXTRA_JSON_MEMBERS]
#   enr_acm [ACCOUNT [REGION]]        control view of ACM (JSON)
#   enr_secrets [ACCOUNT [REGION]]    live (not deleted) staging secrets, one name per line
#   enr_objects                       token object count
#   enr_fail MSG                      print and exit 1
set -euo pipefail

: "${H2A_SRC_DIR:?run under ctest}"
. "$H2A_SRC_DIR/tests/lib/token.sh"
. "$H2A_SRC_DIR/tests/lib/localaws.sh"

PY=/usr/bin/python3

enr_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

enr_cleanup() {
    h2a_localaws_stop || true
}

enr_setup() {
    local name=$1
    h2a_token_create "$name"
    ENR_DIR="$H2A_TEST_TOKEN_DIR"
    mkdir -p "$ENR_DIR/aws"
    h2a_localaws_start "$ENR_DIR/aws" >/dev/null
    trap enr_cleanup EXIT
    "$H2A_BIN" wrapkey create --token "$H2A_TEST_TOKEN_URI" --label hsm2acm-wrap >"$ENR_DIR/wrapkey.json"
    ENR_CONFIG="$ENR_DIR/config.json"
    cat >"$ENR_CONFIG" <<JSON
{"token": "$H2A_TEST_TOKEN_URI",
 "wrap_key": "hsm2acm-wrap",
 "state_dir": "$ENR_DIR/state",
 "issuers": {"demo": {"type": "local", "key_label": "test-ca", "subject": "CN=hsm2acm test CA", "validity_days": 30}},
 "aws": {"region": "eu-west-1", "role_name": "hsm2acm-delivery"},
 "staging": {"prefix": "hsm2acm/staging/", "ttl_seconds": 600}}
JSON
    export ENR_DIR ENR_CONFIG
}

# enr_request FILE ID KEY DNS_CSV TARGETS_JSON [EXTRA]
enr_request() {
    local file=$1 id=$2 key=$3 dns=$4 targets=$5 extra=${6:-}
    $PY - "$file" "$id" "$key" "$dns" "$targets" "$extra" <<'PYEOF'
import json, sys
f, rid, key, dns, targets, extra = sys.argv[1:7]
names = [d for d in dns.split(",") if d]
req = {"id": rid, "subject": "CN=" + (names[0] if names else "nodns.example.com"),
       "dns": names, "ip": [], "key": key, "issuer": "demo", "requester": "team-web",
       "targets": json.loads(targets)}
if extra:
    req.update(json.loads(extra))
json.dump(req, open(f, "w"), indent=1)
PYEOF
}

enr_acm() {
    h2a_localaws_ctl GET "/_control/acm?account=${1:-111111111111}&region=${2:-eu-west-1}"
}

enr_secrets() {
    h2a_localaws_ctl GET "/_control/secrets?account=${1:-111111111111}&region=${2:-eu-west-1}" |
        $PY -c 'import json,sys; [print(s["name"]) for s in json.load(sys.stdin)["secrets"] if not s.get("force_deleted") and not s.get("deleted")]'
}

enr_objects() {
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" \
        --login --pin "$H2A_TEST_USER_PIN" --list-objects 2>/dev/null | grep -c '^[A-Z][a-z]* Key Object' || true
}

# The public key (PEM, SPKI) of the token key a request made, from the journal's key id.
enr_token_pub() {
    local id_hex=$1
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" \
        --login --pin "$H2A_TEST_USER_PIN" --read-object --type pubkey --id "$id_hex" 2>/dev/null |
        openssl pkey -pubin -inform DER -outform PEM
}
