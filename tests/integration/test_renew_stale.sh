#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A renewal reads the ARN it reimports into once (validate's DescribeCertificate);
# verify judges ACM's reimport rules against that answer only while it is younger
# than H2A_REIMPORT_REUSE_MS (5 s; the test hook HSM2ACM_TEST_REIMPORT_REUSE_MS sets
# it here, so the AWS CLI's own slowness cannot decide which side a case lands on),
# else reads the ARN again. Here someone outside hsm2acm reimports a certificate the
# renewal may not replace (its EKU codeSigning would be removed) while the issuer
# runs, after validate described the ARN:
#   - the issuer takes longer than the bound: verify reads the ARN again and refuses
#     (exit 3) before anything is staged; ACM keeps the outside certificate;
#   - the issuer answers at once (inside the bound): ACM refuses the reimport itself,
#     the target fails (exit 5), its staging secret is deleted, ACM keeps the
#     outside certificate.
# An undisturbed renewal reads the ARN once before its import (one DescribeCertificate,
# no GetCertificate until the check after the import).
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew_stale

# While $ENR_DIR/swap exists the issuer says it runs (issuing), waits for the test's
# outside reimport (swapped), then takes as many seconds as swap says.
renew_cmd_issuer "if [ -e \"$ENR_DIR/swap\" ]; then touch \"$ENR_DIR/issuing\"; i=0; while [ ! -e \"$ENR_DIR/swapped\" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done; sleep \$(cat \"$ENR_DIR/swap\"); fi"

enroll_one() { # NAME: enroll NAME.example.com with the command issuer, print its ARN
    enr_request "$ENR_DIR/$1.json" "$1" ec:P-256 "$1.example.com" '[{"region":"eu-west-1"}]' '{"issuer":"cmd"}'
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/$1.json" >"$ENR_DIR/$1.out"
    enr_json "$ENR_DIR/$1.out" 'd["targets"][0]["certificate_arn"]'
}
# Through a file, not a pipe: openssl stops reading at the END line, and the AWS CLI
# writing its last newline after that dies of EPIPE, which pipefail makes fatal.
served_serial() { # ARN
    enr_aws acm get-certificate --certificate-arn "$1" --query Certificate --output text >"$ENR_DIR/served.pem"
    openssl x509 -in "$ENR_DIR/served.pem" -noout -serial | cut -d= -f2
}
# renew_swapped NAME ARN SECONDS BOUND_MS: renew NAME's ARN while its certificate is
# replaced during the issue, which then takes SECONDS more.
renew_swapped() {
    local name=$1
    shift
    rm -f "$ENR_DIR/issuing" "$ENR_DIR/swapped"
    echo "$2" >"$ENR_DIR/swap"
    h2a_localaws_ctl DELETE /_control/calls >/dev/null
    HSM2ACM_TEST_REIMPORT_REUSE_MS=$3 "$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$1" \
        >"$ENR_DIR/renew.out" 2>"$ENR_DIR/renew.err" &
    local pid=$! i
    for i in $(seq 1 300); do
        [ -e "$ENR_DIR/issuing" ] && break
        sleep 0.1
    done
    [ -e "$ENR_DIR/issuing" ] || enr_fail "the issuer never ran: $(cat "$ENR_DIR/renew.err")"
    [ "$(enr_calls DescribeCertificate)" = 1 ] || enr_fail "validate did not describe $1 once"
    enr_import_openssl "outside$2" ec:prime256v1 "$(renew_exts_plus_codesigning "$1")" "$name.example.com" "$1" >/dev/null
    outside=$(served_serial "$1")
    touch "$ENR_DIR/swapped"
    set +e
    wait "$pid"
    rc=$?
    set -e
    rm -f "$ENR_DIR/swap"
}

slow=$(enroll_one slow)
fast=$(enroll_one fast)
calm=$(enroll_one calm)

# Past the bound: verify reads the ARN again and refuses before staging.
renew_swapped slow "$slow" 2 1000
[ "$rc" = 3 ] || enr_fail "slow: exit $rc, want 3: $(cat "$ENR_DIR/renew.out" "$ENR_DIR/renew.err")"
grep -q "codeSigning\|CODE_SIGNING" "$ENR_DIR/renew.out" ||
    enr_fail "slow: the refusal does not name the EKU: $(cat "$ENR_DIR/renew.out")"
[ "$(enr_calls GetCertificate)" = 1 ] || enr_fail "slow: verify did not read the ARN again"
[ "$(enr_calls CreateSecret)" = 0 ] || enr_fail "slow: a staging secret was made after a stale check"
[ "$(enr_calls ImportCertificate)" = 0 ] || enr_fail "slow: an import was tried"
[ "$(served_serial "$slow")" = "$outside" ] || enr_fail "slow: ACM no longer serves the outside certificate"
echo "  ok: past the bound, verify read $slow again and refused"

# Inside the bound: verify takes validate's answer; ACM refuses the import.
renew_swapped fast "$fast" 0 600000
[ "$rc" = 5 ] || enr_fail "fast: exit $rc, want 5: $(cat "$ENR_DIR/renew.out" "$ENR_DIR/renew.err")"
[ "$(enr_calls GetCertificate)" = 0 ] || enr_fail "fast: verify read the ARN again inside the bound"
[ "$(enr_calls ImportCertificate)" = 1 ] || enr_fail "fast: no import was tried"
[ "$(served_serial "$fast")" = "$outside" ] || enr_fail "fast: ACM no longer serves the outside certificate"
[ -z "$(enr_secrets)" ] || enr_fail "fast: staging secret left: $(enr_secrets)"
echo "  ok: inside the bound, ACM refused the reimport into $fast and nothing was left staged"

# Undisturbed: one read of the ARN before its import.
h2a_localaws_ctl DELETE /_control/calls >/dev/null
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$calm" >"$ENR_DIR/calm.renew"
[ "$(enr_calls DescribeCertificate)" = 1 ] || enr_fail "calm: $(enr_calls DescribeCertificate) DescribeCertificate calls, want 1"
[ "$(enr_calls GetCertificate)" = 1 ] || enr_fail "calm: $(enr_calls GetCertificate) GetCertificate calls, want 1 (after the import)"
enr_check_acm_key "$calm" "$(enr_json "$ENR_DIR/calm.renew" 'd["result"]["targets"][0]["key_id"]')" >/dev/null
echo PASS
