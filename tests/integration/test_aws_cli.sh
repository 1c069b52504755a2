#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# hsm2acm aws whoami / acm list / acm describe against the local AWS endpoint:
# output contract, every key type and page listed, exit codes, retries under
# injected faults (attempt counts from the endpoint's call log, backoff bounds,
# no retry on a quota error), TLS verification, endpoint precedence.
source "$(dirname "$0")/aws_lib.sh"
h2a_localaws_start || exit 1
trap aws_it_cleanup EXIT
export HSM2ACM_RETRY_BASE_MS=100

# --- help and usage --------------------------------------------------------
run help_aws 0 "$H2A_BIN" aws --help && expect_in help_aws "$T/help_aws.out" "Exit codes"
run help_acm 0 "$H2A_BIN" acm --help && expect_in help_acm "$T/help_acm.out" "describe"
run usage1 2 "$H2A_BIN" aws whoareyou
run usage2 2 "$H2A_BIN" acm describe
run usage3 2 "$H2A_BIN" acm frobnicate
run usage4 2 "$H2A_BIN" acm list extra
run usage5 2 "$H2A_BIN" acm list --bogus
run usage6 2 "$H2A_BIN" acm list --region 'eu west'
expect_in usage6 "$T/usage6.err" "region 'eu west'"

# --- whoami -----------------------------------------------------------------
if run whoami 0 "$H2A_BIN" aws whoami; then
    [ "$(jget "$T/whoami.out" 'j["account"]')" = 111111111111 ] || fail "whoami account"
    [ "$(jget "$T/whoami.out" 'j["arn"]')" = "arn:aws:iam::111111111111:user/h2a-test" ] ||
        fail "whoami arn"
    [ -n "$(jget "$T/whoami.out" 'j["user_id"]')" ] || fail "whoami user_id"
    ok "whoami"
fi
run whoami_region 0 "$H2A_BIN" aws whoami --region us-east-1
# STS is usable without any region (us-east-1, as the SDKs); ACM is not.
(unset AWS_REGION AWS_DEFAULT_REGION
 run whoami_noregion 0 "$H2A_BIN" aws whoami --verbose
 expect_in whoami_noregion "$T/whoami_noregion.err" "sts GetCallerIdentity"
 run list_noregion 2 "$H2A_BIN" acm list
 expect_in list_noregion "$T/list_noregion.err" "acm: no valid AWS region"
 exit "$FAILS") || FAILS=$((FAILS + 1))

# --- acm list over every key type and page ----------------------------------
mkcert ec256 "ec -pkeyopt ec_paramgen_curve:P-256" ec256.example.com
mkcert ec384 "ec -pkeyopt ec_paramgen_curve:P-384" ec384.example.com
mkcert rsa2048 "rsa:2048" rsa2048.example.com
mkcert rsa3072 "rsa:3072" rsa3072.example.com
declare -A ARN
for c in ec256 ec384 rsa2048 rsa3072; do
    ARN[$c]=$(/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate --certificate "fileb://$T/$c.pem" \
        --private-key "fileb://$T/$c.key" --query CertificateArn --output text) ||
        fail "import $c with the AWS CLI"
done
if run list 0 "$H2A_BIN" acm list; then
    [ "$(jget "$T/list.out" 'len(j)')" = 4 ] || fail "acm list: expected 4 certificates: $(cat "$T/list.out")"
    got=$(jget "$T/list.out" '" ".join(sorted(c["KeyAlgorithm"] for c in j))')
    [ "$got" = "EC_prime256v1 EC_secp384r1 RSA_2048 RSA_3072" ] || fail "acm list key types: $got"
    for c in ec256 ec384 rsa2048 rsa3072; do
        expect_in list "$T/list.out" "${ARN[$c]}"
    done
    # localaws pages by 3: two ListCertificates calls prove NextToken is followed.
    ok "acm list: all key types and pages"
fi
run list_other_region 0 "$H2A_BIN" acm list --region us-west-2
[ "$(jget "$T/list_other_region.out" 'len(j)')" = 0 ] || fail "acm list --region us-west-2 not empty"
run list_status 0 "$H2A_BIN" acm list --status EXPIRED
[ "$(jget "$T/list_status.out" 'len(j)')" = 0 ] || fail "acm list --status EXPIRED"

if run describe 0 "$H2A_BIN" acm describe "${ARN[ec384]}"; then
    [ "$(jget "$T/describe.out" 'j["KeyAlgorithm"]')" = EC_secp384r1 ] || fail "describe KeyAlgorithm"
    [ "$(jget "$T/describe.out" 'j["CertificateArn"]')" = "${ARN[ec384]}" ] || fail "describe ARN"
    [ "$(jget "$T/describe.out" 'j["DomainName"]')" = ec384.example.com ] || fail "describe DomainName"
    ok "acm describe"
fi
missing="arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
run describe_missing 5 "$H2A_BIN" acm describe "$missing"
expect_in describe_missing "$T/describe_missing.err" "acm DescribeCertificate: HTTP 400 ResourceNotFoundException"
expect_in describe_missing "$T/describe_missing.err" "(request id "
# Bad input is refused here (exit 2 naming the argument), not left to AWS (exit 5).
reset_calls
run describe_badarn 2 "$H2A_BIN" acm describe not-an-arn
expect_in describe_badarn "$T/describe_badarn.err" "describe ARN: 'not-an-arn' is not an ACM certificate ARN"
run describe_badarn2 2 "$H2A_BIN" acm describe "arn:aws:acm:eu-west-1:1111:certificate/x"
run list_bogus 2 "$H2A_BIN" acm list --status BOGUS
expect_in list_bogus "$T/list_bogus.err" "--status 'BOGUS'"
run whoami_empty_region 2 "$H2A_BIN" aws whoami --region ''
expect_in whoami_empty_region "$T/whoami_empty_region.err" "--region ''"
[ "$(calls acm DescribeCertificate)$(calls acm ListCertificates)$(calls sts GetCallerIdentity)" = 000 ] ||
    fail "a refused argument still reached AWS"

# --- retries ----------------------------------------------------------------
arn=${ARN[ec256]}
reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"throttle","count":2}'
run retry_throttle 0 "$H2A_BIN" acm describe "$arn"
[ "$(calls acm DescribeCertificate)" = 3 ] || fail "throttle x2: expected 3 calls"

reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"throttle","count":5}'
run retry_exhausted 5 "$H2A_BIN" acm describe "$arn"
expect_in retry_exhausted "$T/retry_exhausted.err" "HTTP 400 ThrottlingException"
expect_in retry_exhausted "$T/retry_exhausted.err" "after 3 attempts"
[ "$(calls acm DescribeCertificate)" = 3 ] || fail "throttle x5: expected 3 calls (default max attempts)"

reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"throttle","count":5}'
AWS_MAX_ATTEMPTS=2 run max_attempts 5 "$H2A_BIN" acm describe "$arn"
[ "$(calls acm DescribeCertificate)" = 2 ] || fail "AWS_MAX_ATTEMPTS=2: expected 2 calls"

reset_calls
fault '{"service":"acm","operation":"ListCertificates","kind":"quota"}'
run quota 5 "$H2A_BIN" acm list
expect_in quota "$T/quota.err" "LimitExceededException"
[ "$(calls acm ListCertificates)" = 1 ] || fail "quota: must not be retried"

for kind in http500 http503 drop truncate; do
    reset_calls
    fault "{\"service\":\"acm\",\"operation\":\"DescribeCertificate\",\"kind\":\"$kind\",\"count\":2}"
    run "retry_$kind" 0 "$H2A_BIN" acm describe "$arn"
    [ "$(calls acm DescribeCertificate)" = 3 ] || fail "$kind x2: expected 3 calls"
done

reset_calls
fault '{"service":"sts","operation":"GetCallerIdentity","kind":"throttle","count":1}'
run retry_sts 0 "$H2A_BIN" aws whoami
[ "$(calls sts GetCallerIdentity)" = 2 ] || fail "STS Throttling: expected 2 calls"

reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"delay","delay_ms":1500,"count":1}'
HSM2ACM_AWS_TIMEOUT_MS=400 run retry_timeout 0 "$H2A_BIN" acm describe "$arn"
sleep 1.5 # the delayed call is logged when its reply is finally written
[ "$(calls acm DescribeCertificate)" = 2 ] || fail "timeout: expected 2 calls"

reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"garbage"}'
run garbage 5 "$H2A_BIN" acm describe "$arn"
expect_in garbage "$T/garbage.err" "malformed reply: reply is not JSON"

reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"drop","count":3}'
run drop_exhausted 5 "$H2A_BIN" acm describe "$arn"
expect_in drop_exhausted "$T/drop_exhausted.err" "network error after 3 attempts"

# Backoff bounds: full jitter, so each gap is at most base*2^(n-1) plus overhead.
reset_calls
fault '{"service":"acm","operation":"DescribeCertificate","kind":"throttle","count":2}'
HSM2ACM_RETRY_BASE_MS=400 run backoff 0 "$H2A_BIN" acm describe "$arn"
h2a_localaws_ctl GET "/_control/calls?service=acm&operation=DescribeCertificate" >"$T/bo.json"
gaps=$(jget "$T/bo.json" '[round(j["calls"][i+1]["time"]-j["calls"][i]["time"],3) for i in range(len(j["calls"])-1)]')
"$PY" -c 'import json,sys
g=json.loads(sys.argv[1])
assert len(g)==2, g
assert g[0] <= 0.4+0.6 and g[1] <= 0.8+0.6, g
' "$gaps" || fail "backoff gaps $gaps exceed rand*min(base*2^(n-1),20s) (+0.6 s slack)"

# --- TLS and endpoints ------------------------------------------------------
(unset AWS_CA_BUNDLE; run no_ca 5 "$H2A_BIN" aws whoami) || FAILS=$((FAILS + 1))
expect_in no_ca "$T/no_ca.err" "sts GetCallerIdentity: network error"
AWS_CA_BUNDLE=/nonexistent/ca.pem run bad_ca 2 "$H2A_BIN" aws whoami
expect_in bad_ca "$T/bad_ca.err" "CA bundle /nonexistent/ca.pem"
# The per-service variable beats AWS_ENDPOINT_URL (port 9 refuses connections).
AWS_ENDPOINT_URL_STS=https://127.0.0.1:9 run ep_sts 5 "$H2A_BIN" aws whoami
expect_in ep_sts "$T/ep_sts.err" "https://127.0.0.1:9/"
AWS_ENDPOINT_URL_ACM=https://127.0.0.1:9 run ep_other 0 "$H2A_BIN" aws whoami
# http:// is accepted for an explicitly configured endpoint.
AWS_ENDPOINT_URL=$H2A_LOCALAWS_HTTP_URL run ep_http 0 "$H2A_BIN" aws whoami
AWS_ENDPOINT_URL=ftp://127.0.0.1 run ep_bad 2 "$H2A_BIN" aws whoami
expect_in ep_bad "$T/ep_bad.err" "AWS_ENDPOINT_URL: endpoint URL 'ftp://127.0.0.1'"
# --config FILE: its "aws" object (endpoint, region).
printf '{"token":"pkcs11:token=unused","aws":{"region":"us-west-2","endpoints":{"acm":"%s"}}}\n' \
    "$H2A_LOCALAWS_URL" >"$T/cfg.json"
(unset AWS_REGION AWS_DEFAULT_REGION; run cfg 0 "$H2A_BIN" acm list --config "$T/cfg.json") || FAILS=$((FAILS + 1))
[ "$(jget "$T/cfg.out" 'len(j)')" = 0 ] || fail "--config region us-west-2 should list nothing"
printf '{"token":"pkcs11:token=unused","aws":{"region":5}}\n' >"$T/badcfg.json"
run badcfg 2 "$H2A_BIN" acm list --config "$T/badcfg.json"
expect_in badcfg "$T/badcfg.err" "aws.region"

# HTTPS_PROXY / NO_PROXY are honoured (libcurl's environment handling is left on).
HTTPS_PROXY=http://127.0.0.1:9 run proxy_used 5 "$H2A_BIN" aws whoami
expect_in proxy_used "$T/proxy_used.err" "network error"
HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1 run proxy_bypassed 0 "$H2A_BIN" aws whoami

# No secret in any log line of this file's runs.
for s in h2aLocalSecret11111111111111111111111111 "Signature=" "Authorization"; do
    if grep -qF -- "$s" "$T/all.err"; then
        fail "stderr contains '$s'"
    fi
done
aws_it_finish
