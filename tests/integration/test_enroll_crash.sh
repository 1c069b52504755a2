#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 at every step (test-only fault point HSM2ACM_TEST_CRASH_AT), then
# `resume`: exactly one ACM certificate per target with the token's key, one
# key pair in the token, no staging secret. After a crash right after unwrap,
# no plaintext key bytes in any file hsm2acm wrote (journal, audit log, state
# dir, its TMPDIR).
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_crash
export TMPDIR="$ENR_DIR/tmp"
mkdir -p "$TMPDIR"

# Warm up (local CA key made once), so object counts compare cleanly.
enr_request "$ENR_DIR/warm.json" warm ec:P-256 "warm.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/warm.json" >/dev/null

targets='[{"region":"eu-west-1","tags":{"k":"v"}},{"region":"us-east-1"}]'
for point in validate keygen csr issue stage unwrap import cleanup stage@1 import@1 cleanup@1; do
    id="crash-${point//@/-t}"
    objs=$(enr_objects)
    enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "$id.example.com" "$targets"
    set +e
    HSM2ACM_TEST_CRASH_AT=$point "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" \
        >"$ENR_DIR/$id.crash.out" 2>"$ENR_DIR/$id.crash.err"
    rc=$?
    set -e
    [ "$rc" = 137 ] || enr_fail "$point: expected SIGKILL (137), got $rc: $(cat "$ENR_DIR/$id.crash.err")"
    if [ "$point" = unwrap ]; then
        # The process died holding the plaintext key: it must be nowhere on disk.
        cp -r "$ENR_DIR/state" "$ENR_DIR/state-after-unwrap-crash"
        cp -r "$TMPDIR" "$ENR_DIR/tmp-after-unwrap-crash"
    fi
    # Half the crashes resume with `resume`, half by running enroll again.
    if [ $((${#point} % 2)) = 0 ]; then
        "$H2A_BIN" resume --config "$ENR_CONFIG" "$id" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
            enr_fail "$point: resume failed: $(cat "$ENR_DIR/$id.err")"
    else
        "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
            enr_fail "$point: enroll again failed: $(cat "$ENR_DIR/$id.err")"
    fi
    [ "$(enr_objects)" = $((objs + 2)) ] || enr_fail "$point: token has $(enr_objects) objects, expected $((objs + 2))"
    kid=$(enr_json "$ENR_DIR/$id.out" 'd["targets"][0]["key_id"]')
    for i in 0 1; do
        region=$(enr_json "$ENR_DIR/$id.out" "d['targets'][$i]['region']")
        arn=$(enr_json "$ENR_DIR/$id.out" "d['targets'][$i]['certificate_arn']")
        n=$(enr_acm 111111111111 "$region" | $PY -c "
import json,sys
cs=json.load(sys.stdin)['certificates']
def tags(c): return c['tags'] if isinstance(c['tags'], dict) else {t['Key']: t['Value'] for t in c['tags']}
print(sum(1 for c in cs if tags(c).get('hsm2acm:request-id') == '$id'))")
        [ "$n" = 1 ] || enr_fail "$point: $n certificates for $id in $region"
        enr_check_acm_key "$arn" "$kid" 111111111111 "$region" >/dev/null
        [ -z "$(enr_secrets 111111111111 "$region")" ] || enr_fail "$point: staging secret left in $region"
    done
    echo "  ok: crash at $point, then resume"
done

# No plaintext key bytes where the unwrap crash could have left them.
enr_acm 111111111111 eu-west-1 >"$ENR_DIR/acm-eu.json"
$PY - "$ENR_DIR/acm-eu.json" crash-unwrap "$ENR_DIR/state-after-unwrap-crash" \
    "$ENR_DIR/tmp-after-unwrap-crash" "$ENR_DIR/state" "$TMPDIR" <<'PYEOF' || enr_fail "plaintext key on disk"
import base64, json, os, sys
from cryptography.hazmat.primitives import serialization as ser
acm, rid, *dirs = sys.argv[1:]
def tags(c): return c["tags"] if isinstance(c["tags"], dict) else {t["Key"]: t["Value"] for t in c["tags"]}
c = [c for c in json.load(open(acm))["certificates"] if tags(c).get("hsm2acm:request-id") == rid][0]
k = ser.load_pem_private_key(c["private_key_pem"].encode(), None)
# Only private parts count (PKCS#8 and SEC1 forms also carry the public
# point, which the certificate legitimately holds): the private scalar raw,
# in hex, and as the base64 window of each DER form that covers it.
scalar = k.private_numbers().private_value.to_bytes((k.curve.key_size + 7) // 8, "big")
needles = [scalar, scalar.hex().encode(), scalar.hex().upper().encode(), base64.b64encode(scalar)]
for fmt in (ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL):
    der = k.private_bytes(ser.Encoding.DER, fmt, ser.NoEncryption())
    off = der.find(scalar)
    assert off > 0
    b64 = base64.b64encode(der)
    start, end = -(-off // 3) * 4, ((off + len(scalar)) // 3) * 4
    needles.append(b64[start:end])
# Positive control: the needles do find the key in its own PEM.
pem = k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).replace(b"\n", b"")
assert needles[-2] in pem
checked = 0
for d in dirs:
    for root, _, files in os.walk(d):
        for f in files:
            raw = open(os.path.join(root, f), "rb").read()
            data = raw + b"\0" + raw.replace(b"\n", b"").replace(b"\r", b"")
            checked += 1
            for n in needles:
                assert n not in data, "key bytes in " + os.path.join(root, f)
assert checked >= 3, checked
print("no key bytes in", checked, "files")
PYEOF
echo PASS
