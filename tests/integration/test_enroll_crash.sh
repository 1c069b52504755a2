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
$PY "$(dirname "$0")/enroll_nokey.py" "$ENR_DIR/acm-eu.json" crash-unwrap "$ENR_DIR/state-after-unwrap-crash" \
    "$ENR_DIR/tmp-after-unwrap-crash" "$ENR_DIR/state" "$TMPDIR" || enr_fail "plaintext key on disk"
echo PASS
