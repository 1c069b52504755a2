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
#   enr_refuse NAME CODE NEEDLE KEY DNS TARGETS [EXTRA] [CONFIG]
#                                     a request refused with CODE and NEEDLE, nothing left
#   enr_unchanged NAME                token objects ($objs), secrets, ACM ($certs) as before
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
    enr_write_config "$H2A_TEST_TOKEN_URI"
}

# enr_write_config TOKEN_URI: $ENR_DIR/config.json for that token, the local CA
# and the local endpoint; exports ENR_DIR and ENR_CONFIG.
enr_write_config() {
    ENR_CONFIG="$ENR_DIR/config.json"
    cat >"$ENR_CONFIG" <<JSON
{"token": "$1",
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

# enr_token_has_key ID_HEX: the token holds a private key with that CKA_ID.
enr_token_has_key() {
    # Read everything first: `grep -q` in a pipe would SIGPIPE pkcs11-tool (pipefail).
    local objs
    objs=$(pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" \
        --login --pin "$H2A_TEST_USER_PIN" --list-objects --type privkey 2>/dev/null)
    grep -q "ID: *$1\$" <<<"$objs"
}

# enr_check_acm_key ARN KEY_ID_HEX [ACCOUNT [REGION]]: the key ACM holds for ARN
# (read through the control interface) is the token key with that CKA_ID:
# hsm2acm sets CKA_ID to the RFC 5280 key identifier (SHA-1 of the public key
# bits) of the token's public key, so the ids must agree; and the certificate
# ACM serves carries the same public key.
enr_check_acm_key() {
    local arn=$1 kid=$2 acct=${3:-111111111111} region=${4:-eu-west-1}
    enr_token_has_key "$kid" || enr_fail "no token private key with id $kid"
    enr_acm "$acct" "$region" >"$ENR_DIR/acm.json"
    $PY - "$ENR_DIR/acm.json" "$arn" "$kid" <<'PYEOF' || enr_fail "ACM key check for $arn"
import hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa
acm, arn, kid = sys.argv[1:4]
certs = [c for c in json.load(open(acm))["certificates"] if c["arn"] == arn]
assert len(certs) == 1, "ARN %s not in ACM" % arn
c = certs[0]
def bits(pub):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return pub.public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)
    return pub.public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1)
key = ser.load_pem_private_key(c["private_key_pem"].encode(), None)
assert hashlib.sha1(bits(key.public_key())).hexdigest() == kid, "ACM holds a key other than token key " + kid
cert = x509.load_pem_x509_certificate(c["certificate_pem"].encode())
assert bits(cert.public_key()) == bits(key.public_key()), "served certificate does not match the key"
print("ok", arn, c["serial"])
PYEOF
}

# enr_json FILE EXPR: evaluate a Python expression on the JSON in FILE (as `d`).
enr_json() {
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2"
}

# enr_aws ARGS...: the real AWS CLI against the local endpoint.
enr_aws() {
    /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" --ca-bundle "$H2A_LOCALAWS_CA" --region "${ENR_REGION:-eu-west-1}" "$@"
}

# enr_import_openssl NAME KEYSPEC EXTS [DNS [ARN]]: make a key and a CA-signed certificate
# with openssl (KEYSPEC: "ec:prime256v1" or "rsa:2048"; EXTS: openssl -addext lines joined
# by ';', e.g. "extendedKeyUsage=serverAuth,codeSigning"), import it with the AWS CLI
# (as a team would today; into ARN when given, a reimport), print the ARN.
enr_import_openssl() {
    local name=$1 spec=$2 exts=$3 dns=${4:-legacy.example.com} into=()
    [ -n "${5:-}" ] && into=(--certificate-arn "$5")
    local d="$ENR_DIR/ossl-$name" alg=${spec%%:*} arg=${spec#*:}
    mkdir -p "$d"
    local keyopt=(-newkey "rsa:$arg")
    [ "$alg" = ec ] && keyopt=(-newkey ec -pkeyopt "ec_paramgen_curve:$arg")
    openssl req -x509 "${keyopt[@]}" -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
        -subj "/CN=openssl test CA $name" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
    local addext=(-addext "subjectAltName=DNS:$dns")
    local IFS=';' e
    for e in $exts; do addext+=(-addext "$e"); done
    unset IFS
    openssl req -new "${keyopt[@]}" -nodes -keyout "$d/leaf.key" -out "$d/leaf.csr" \
        -subj "/CN=$dns" "${addext[@]}" 2>/dev/null
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 20 -copy_extensions copyall -out "$d/leaf.pem" 2>/dev/null
    enr_aws acm import-certificate --certificate "fileb://$d/leaf.pem" \
        --private-key "fileb://$d/leaf.key" --certificate-chain "fileb://$d/ca.pem" \
        "${into[@]}" --query CertificateArn --output text
}

# enr_expect_fail CODE NEEDLE CMD...: CMD must exit CODE with NEEDLE on stderr.
enr_expect_fail() {
    local code=$1 needle=$2 rc
    shift 2
    set +e
    "$@" >"$ENR_DIR/last.out" 2>"$ENR_DIR/last.err"
    rc=$?
    set -e
    [ "$rc" = "$code" ] || enr_fail "$*: exit $rc, expected $code: $(cat "$ENR_DIR/last.err")"
    grep -qF -- "$needle" "$ENR_DIR/last.err" ||
        enr_fail "$*: message lacks '$needle': $(cat "$ENR_DIR/last.err")"
    echo "  ok (exit $rc): $(head -c 300 "$ENR_DIR/last.err")"
}

enr_cert_count() {
    enr_acm "${1:-111111111111}" "${2:-eu-west-1}" |
        $PY -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))'
}

# enr_batch_arns FILE: the first target's ARN of each line of an `enroll --batch` output.
enr_batch_arns() {
    $PY -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["targets"][0]["certificate_arn"])' "$1"
}

# enr_calls OPERATION: how many calls of it hsm2acm (not a test's AWS CLI) made since
# the endpoint's call log was last cleared (h2a_localaws_ctl DELETE /_control/calls).
enr_calls() {
    h2a_localaws_ctl GET "/_control/calls?operation=$1" | $PY -c 'import json,sys
print(sum((c.get("user_agent") or "").startswith("hsm2acm/") for c in json.load(sys.stdin)["calls"]))'
}

# enr_tags ARN: the certificate's ACM tags, "key=value" joined by spaces, sorted.
enr_tags() {
    enr_acm "${2:-111111111111}" "${3:-eu-west-1}" | $PY -c 'import json,sys
c = [c for c in json.load(sys.stdin)["certificates"] if c["arn"] == sys.argv[1]][0]
t = c["tags"] if isinstance(c["tags"], dict) else {x["Key"]: x["Value"] for x in c["tags"]}
print(" ".join(sorted("%s=%s" % kv for kv in t.items())))' "$1"
}

# enr_config_with OUT PATCH_JSON: ENR_CONFIG with top-level members replaced/added
# (objects are merged one level deep, e.g. '{"issuers":{"bad":{...}}}').
enr_config_with() {
    $PY - "$ENR_CONFIG" "$1" "$2" <<'PYEOF'
import json, sys
base, out, patch = sys.argv[1:4]
c = json.load(open(base))
for k, v in json.loads(patch).items():
    if isinstance(v, dict) and isinstance(c.get(k), dict):
        c[k].update(v)
    else:
        c[k] = v
json.dump(c, open(out, "w"), indent=1)
PYEOF
}

# enr_unchanged NAME: the token, Secrets Manager and ACM are as before a refusal
# (the caller keeps the counts in $objs and $certs).
enr_unchanged() {
    [ "$(enr_objects)" = "$objs" ] || enr_fail "$1: token object count changed"
    [ -z "$(enr_secrets)" ] || enr_fail "$1: staging secret left"
    [ -z "$(enr_secrets 111111111111 us-east-1)" ] || enr_fail "$1: staging secret left (us-east-1)"
    [ "$(enr_cert_count)" = "$certs" ] || enr_fail "$1: ACM changed"
}

# enr_refuse NAME CODE NEEDLE KEY DNS TARGETS [EXTRA] [CONFIG]
enr_refuse() {
    local name=$1 code=$2 needle=$3 key=$4 dns=$5 targets=$6 extra=${7:-} cfg=${8:-$ENR_CONFIG}
    enr_request "$ENR_DIR/$name.json" "$name" "$key" "$dns" "$targets" "$extra"
    enr_expect_fail "$code" "$needle" "$H2A_BIN" enroll --config "$cfg" "$ENR_DIR/$name.json"
    enr_unchanged "$name"
}
