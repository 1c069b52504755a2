#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# AWS faults at every call of an enrollment (throttling, HTTP 500, a timeout,
# a dropped connection, a reply lost after the operation ran): success after
# retries with exactly one certificate and no staging secret; or, when the
# fault outlasts the retries, a clean failure (exit 5, staging secret deleted
# again, key kept) that `resume` completes.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_faults
enr_config_with "$ENR_DIR/config-f.json" '{"aws":{"max_attempts":4,"timeout_seconds":3}}'
CFG="$ENR_DIR/config-f.json"

# A certificate to reimport into, and a warm-up so the local CA exists.
enr_request "$ENR_DIR/base.json" base ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$CFG" "$ENR_DIR/base.json" >"$ENR_DIR/base.out"
arn=$(enr_json "$ENR_DIR/base.out" 'd["targets"][0]["certificate_arn"]')

fault() { h2a_localaws_ctl POST /_control/faults "$1" >/dev/null; }
clear_faults() { h2a_localaws_ctl DELETE /_control/faults >/dev/null; }
ours() { # number of certificates tagged with request id $1 (eu-west-1)
    enr_acm | $PY -c "
import json,sys
def tags(c): return c['tags'] if isinstance(c['tags'], dict) else {t['Key']: t['Value'] for t in c['tags']}
print(sum(1 for c in json.load(sys.stdin)['certificates'] if tags(c).get('hsm2acm:request-id') == '$1'))"
}
check_done() { # check_done ID OUTFILE [reimport]
    local a
    a=$(enr_json "$2" 'd["targets"][0]["certificate_arn"]')
    enr_check_acm_key "$a" "$(enr_json "$2" 'd["targets"][0]["key_id"]')" >/dev/null
    [ -z "$(enr_secrets)" ] || enr_fail "$1: staging secret left"
    if [ -z "${3:-}" ]; then
        [ "$(ours "$1")" = 1 ] || enr_fail "$1: $(ours "$1") certificates"
    else
        [ "$a" = "$arn" ] || enr_fail "$1: reimport moved to $a"
    fi
}

n=0
for op in sts:GetCallerIdentity acm:DescribeCertificate secretsmanager:CreateSecret \
          secretsmanager:GetSecretValue acm:ImportCertificate acm:GetCertificate \
          acm:AddTagsToCertificate secretsmanager:DeleteSecret secretsmanager:DescribeSecret; do
    svc=${op%%:*} name=${op#*:}
    kinds="throttle http500 drop delay timeout"
    # A timed-out create still runs late on the server (as on AWS), after the
    # retry succeeded; that case is checked separately below.
    case $name in CreateSecret|ImportCertificate) kinds="throttle http500 drop delay" ;; esac
    for kind in $kinds; do
        n=$((n + 1))
        id="f$n-$name-$kind"
        spec="{\"service\":\"$svc\",\"operation\":\"$name\",\"kind\":\"$kind\",\"count\":1}"
        [ "$kind" = delay ] && spec="{\"service\":\"$svc\",\"operation\":\"$name\",\"kind\":\"delay\",\"delay_ms\":500,\"count\":1}"
        [ "$kind" = timeout ] && spec="{\"service\":\"$svc\",\"operation\":\"$name\",\"kind\":\"delay\",\"delay_ms\":4500,\"count\":1}"
        # Reimport requests exercise DescribeCertificate and AddTagsToCertificate.
        case $name in
            DescribeCertificate|AddTagsToCertificate)
                enr_request "$ENR_DIR/$id.json" "$id" inherit "f.example.com" \
                    "[{\"region\":\"eu-west-1\",\"certificate_arn\":\"$arn\"}]"; re=1 ;;
            *) enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'; re= ;;
        esac
        fault "$spec"
        "$H2A_BIN" enroll --config "$CFG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
            enr_fail "$id: exit $?: $(cat "$ENR_DIR/$id.err")"
        clear_faults
        check_done "$id" "$ENR_DIR/$id.out" $re
    done
    echo "  ok: $op survives $kinds"
done

# CreateSecret timing out: the retry stages and delivery completes; the late
# original create may land after cleanup (AWS behaves the same). What it leaves
# is a marked staging secret with an expiry, which `sweep` deletes after the TTL.
id=late-create
enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'
fault '{"service":"secretsmanager","operation":"CreateSecret","kind":"delay","delay_ms":4500,"count":1}'
"$H2A_BIN" enroll --config "$CFG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
    enr_fail "$id: exit $?: $(cat "$ENR_DIR/$id.err")"
clear_faults
[ "$(ours "$id")" = 1 ] || enr_fail "$id: $(ours "$id") certificates"
sleep 3
h2a_localaws_ctl GET "/_control/secrets?account=111111111111&region=eu-west-1" >"$ENR_DIR/late.json"
$PY - "$ENR_DIR/late.json" "$id" <<'PYEOF' || enr_fail "$id: late secret not marked for sweep"
import json, sys, time
rid = sys.argv[2]
for s in json.load(open(sys.argv[1]))["secrets"]:
    if s.get("force_deleted") or s.get("deleted") or rid not in s["name"]:
        continue
    tags = s["tags"] if isinstance(s["tags"], dict) else {t["Key"]: t["Value"] for t in s["tags"]}
    assert tags.get("hsm2acm:managed") == "true" and tags.get("hsm2acm:request-id") == rid, tags
    assert int(tags["hsm2acm:expiry"]) <= time.time() + 600, tags
    print("late secret", s["name"], "is marked; sweep removes it after its TTL")
PYEOF
for s in $(enr_secrets); do enr_aws secretsmanager delete-secret --secret-id "$s" --force-delete-without-recovery >/dev/null; done

# A reply lost after the operation ran: the retried call must not duplicate.
for op in secretsmanager:CreateSecret acm:ImportCertificate secretsmanager:DeleteSecret; do
    svc=${op%%:*} name=${op#*:}
    id="lost-$name"
    enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'
    fault "{\"service\":\"$svc\",\"operation\":\"$name\",\"kind\":\"drop_after\",\"count\":1}"
    "$H2A_BIN" enroll --config "$CFG" "$ENR_DIR/$id.json" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
        enr_fail "$id: exit $?: $(cat "$ENR_DIR/$id.err")"
    clear_faults
    check_done "$id" "$ENR_DIR/$id.out"
    echo "  ok: $op reply lost, no duplicate"
done

# Faults that outlast the retries: exit 5, nothing half-made, resume completes.
for op in secretsmanager:CreateSecret secretsmanager:GetSecretValue acm:ImportCertificate \
          acm:GetCertificate secretsmanager:DeleteSecret; do
    svc=${op%%:*} name=${op#*:}
    id="down-$name"
    enr_request "$ENR_DIR/$id.json" "$id" ec:P-256 "f.example.com" '[{"region":"eu-west-1"}]'
    objs=$(enr_objects)
    fault "{\"service\":\"$svc\",\"operation\":\"$name\",\"kind\":\"http500\",\"count\":100}"
    enr_expect_fail 5 "$name" "$H2A_BIN" enroll --config "$CFG" "$ENR_DIR/$id.json"
    clear_faults
    case $name in
        CreateSecret|GetSecretValue|ImportCertificate)
            # The import did not happen: the staging secret was deleted again.
            [ -z "$(enr_secrets)" ] || enr_fail "$id: staging secret left after failure"
            [ "$(ours "$id")" = 0 ] || enr_fail "$id: imported although it failed" ;;
    esac
    [ "$(enr_objects)" = $((objs + 2)) ] || enr_fail "$id: key not kept for resume"
    "$H2A_BIN" resume --config "$CFG" "$id" >"$ENR_DIR/$id.out" 2>"$ENR_DIR/$id.err" ||
        enr_fail "$id: resume exit $?: $(cat "$ENR_DIR/$id.err")"
    check_done "$id" "$ENR_DIR/$id.out"
    echo "  ok: $op down, then resume"
done
echo PASS
