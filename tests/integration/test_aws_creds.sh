#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Every credential source against the local AWS endpoint, through
# `hsm2acm aws whoami` (the identity proves which source was used):
# environment (long-term and session), shared files and profiles,
# role_arn + source_profile chains with ExternalId, credential_process,
# web identity, ECS container credentials, EC2 IMDSv2, hsm2acm's explicit
# credentials_file; refusals with exit 2/5. Every run is at full debug
# verbosity and stderr is grepped for every secret that was in play.
source "$(dirname "$0")/aws_lib.sh"
h2a_localaws_start || exit 1
trap aws_it_cleanup EXIT
export HSM2ACM_LOG=debug HSM2ACM_RETRY_BASE_MS=50
SECRETS=(h2aLocalSecret11111111111111111111111111 h2aLocalSecret22222222222222222222222222
         h2aLocalSecret33333333333333333333333333)

# whoami_is NAME ACCOUNT ARN_SUBSTRING [hsm2acm args...]
whoami_is() {
    local name=$1 acct=$2 arn=$3
    shift 3
    run "$name" 0 "$H2A_BIN" aws whoami --verbose "$@" || return
    [ "$(jget "$T/$name.out" 'j["account"]')" = "$acct" ] ||
        fail "$name: account $(jget "$T/$name.out" 'j["account"]'), wanted $acct"
    expect_in "$name" "$T/$name.out" "$arn" && ok "$name"
}

no_env_keys() {
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
}

# --- environment ------------------------------------------------------------
whoami_is env 111111111111 ":user/h2a-test"
h2a_localaws_ctl POST /_control/credentials '{"account":"222222222222","role_name":"envrole","duration_seconds":3600}' >"$T/tmpcreds.json"
TMP_AK=$(jget "$T/tmpcreds.json" 'j["AccessKeyId"]')
TMP_SK=$(jget "$T/tmpcreds.json" 'j["SecretAccessKey"]')
TMP_TOK=$(jget "$T/tmpcreds.json" 'j["SessionToken"]')
SECRETS+=("$TMP_SK" "$TMP_TOK")
(
    export AWS_ACCESS_KEY_ID=$TMP_AK AWS_SECRET_ACCESS_KEY=$TMP_SK AWS_SESSION_TOKEN=$TMP_TOK
    whoami_is env_session 222222222222 ":assumed-role/envrole/"
    # Without the token the temporary key is refused by the endpoint: exit 5.
    unset AWS_SESSION_TOKEN
    run env_no_token 5 "$H2A_BIN" aws whoami
    expect_in env_no_token "$T/env_no_token.err" "InvalidClientTokenId"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))
h2a_localaws_ctl POST /_control/credentials '{"account":"222222222222","role_name":"old","duration_seconds":-60}' >"$T/expired.json"
SECRETS+=("$(jget "$T/expired.json" 'j["SecretAccessKey"]')" "$(jget "$T/expired.json" 'j["SessionToken"]')")
(
    AWS_ACCESS_KEY_ID=$(jget "$T/expired.json" 'j["AccessKeyId"]') \
    AWS_SECRET_ACCESS_KEY=$(jget "$T/expired.json" 'j["SecretAccessKey"]') \
    AWS_SESSION_TOKEN=$(jget "$T/expired.json" 'j["SessionToken"]') \
        run env_expired 5 "$H2A_BIN" aws whoami
    expect_in env_expired "$T/env_expired.err" "ExpiredToken"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))
(
    unset AWS_SECRET_ACCESS_KEY
    run env_partial 2 "$H2A_BIN" aws whoami
    expect_in env_partial "$T/env_partial.err" "AWS_SECRET_ACCESS_KEY"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))

# --- shared files and profiles ----------------------------------------------
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<EOF
[two]
aws_access_key_id = AKIAH2ALOCAL22222222
aws_secret_access_key = h2aLocalSecret22222222222222222222222222
EOF
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
region = eu-west-1
[profile two]
region = eu-central-1
[profile deploy]
role_arn = arn:aws:iam::333333333333:role/deploy
source_profile = two
role_session_name = it-deploy
[profile locked-ok]
role_arn = arn:aws:iam::333333333333:role/locked
source_profile = two
external_id = ext-123
[profile locked-bad]
role_arn = arn:aws:iam::333333333333:role/locked
source_profile = two
external_id = wrong-456
[profile hop]
role_arn = arn:aws:iam::111111111111:role/hop
source_profile = deploy
[profile loop-a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::111111111111:role/b
source_profile = loop-a
[profile proc]
credential_process = $T/cred-proc.sh --account "three three"
[profile procfail]
credential_process = $T/cred-proc.sh --fail
[profile procenv]
credential_process = env-proc.sh
EOF
h2a_localaws_ctl POST /_control/roles '{"account":"333333333333","role_name":"locked","external_id":"ext-123"}' >/dev/null
cat >"$T/cred-proc.sh" <<'EOF'
#!/bin/sh
[ "$1" = "--account" ] && [ "$2" = "three three" ] || exit 7
echo '{"Version": 1, "AccessKeyId": "AKIAH2ALOCAL33333333",'
echo ' "SecretAccessKey": "h2aLocalSecret33333333333333333333333333"}'
EOF
chmod +x "$T/cred-proc.sh"
(
    no_env_keys
    whoami_is profile_flag 222222222222 ":user/h2a-test" --profile two
    AWS_PROFILE=two whoami_is profile_env 222222222222 ":user/h2a-test"
    whoami_is role_chain 333333333333 ":assumed-role/deploy/it-deploy" --profile deploy
    whoami_is role_two_hops 111111111111 ":assumed-role/hop/" --profile hop
    whoami_is external_id 333333333333 ":assumed-role/locked/" --profile locked-ok
    run external_id_bad 5 "$H2A_BIN" aws whoami --profile locked-bad
    expect_in external_id_bad "$T/external_id_bad.err" "sts AssumeRole: HTTP 403 AccessDenied"
    run loop 2 "$H2A_BIN" aws whoami --profile loop-a
    expect_in loop "$T/loop.err" "source_profile loop"
    run no_profile 2 "$H2A_BIN" aws whoami --profile ghost
    expect_in no_profile "$T/no_profile.err" "profile 'ghost' not found"
    whoami_is process 333333333333 ":user/h2a-test" --profile proc
    # The one child runner (issue 11 item 5): a credential_process child sees the
    # allowlist and the AWS settings that pick a profile, never a PIN variable
    # (the one the configuration's pin-source=env: names is hidden even when it
    # is an allowlisted name), an AWS key, or anything else of ours.
    mkdir -p "$T/bin"
    printf '#!/bin/sh\nenv >"%s/procenv.txt"\nexec "%s/cred-proc.sh" --account "three three"\n' \
        "$T" "$T" >"$T/bin/env-proc.sh"
    chmod +x "$T/bin/env-proc.sh"
    printf '{"token": "pkcs11:token=t?module-path=/x.so&pin-source=env:TZ"}' >"$T/pinenv.json"
    (export PATH="$T/bin:$PATH" TZ=UTC0 HSM2ACM_PIN=pin-4321 H2A_UNRELATED=x
     export AWS_SECRET_ACCESS_KEY=h2aLocalSecret11111111111111111111111111
     whoami_is process_env 333333333333 ":user/h2a-test" --profile procenv --config "$T/pinenv.json"
     for bad in TZ= HSM2ACM_PIN pin-4321 H2A_UNRELATED AWS_SECRET_ACCESS_KEY; do
         if grep -q "$bad" "$T/procenv.txt"; then fail "credential_process saw $bad"; fi
     done
     grep -q "^PATH=$T/bin:" "$T/procenv.txt" || fail "credential_process lost PATH"
     grep -q "^AWS_CONFIG_FILE=" "$T/procenv.txt" || fail "credential_process lost AWS_CONFIG_FILE"
     exit "$FAILS") || FAILS=$((FAILS + 1))
    run process_fail 5 "$H2A_BIN" aws whoami --profile procfail
    expect_in process_fail "$T/process_fail.err" "exit status 7"
    # The profile's region is used when nothing beats it.
    (unset AWS_REGION AWS_DEFAULT_REGION
     run profile_region 0 "$H2A_BIN" acm list --profile two --verbose
     expect_in profile_region "$T/profile_region.err" "region eu-central-1"
     exit "$FAILS") || FAILS=$((FAILS + 1))
    exit "$FAILS"
) || FAILS=$((FAILS + 1))
# Profile settings for the transport: ca_bundle, endpoint_url, a services section.
cat >>"$AWS_CONFIG_FILE" <<CFG
[profile transport]
aws_access_key_id = AKIAH2ALOCAL22222222
aws_secret_access_key = h2aLocalSecret22222222222222222222222222
ca_bundle = $AWS_CA_BUNDLE
endpoint_url = $H2A_LOCALAWS_URL
[profile svc]
aws_access_key_id = AKIAH2ALOCAL33333333
aws_secret_access_key = h2aLocalSecret33333333333333333333333333
ca_bundle = $AWS_CA_BUNDLE
endpoint_url = https://127.0.0.1:9
services = local
[services local]
sts =
  endpoint_url = $H2A_LOCALAWS_URL
CFG
(
    unset AWS_CA_BUNDLE AWS_ENDPOINT_URL
    whoami_is profile_transport 222222222222 ":user/h2a-test" --profile transport
    # The services section's sts endpoint beats the profile-wide one.
    whoami_is profile_services 333333333333 ":user/h2a-test" --profile svc
    # (a dead proxy keeps the test off the real network)
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true AWS_ENDPOINT_URL_STS=$H2A_LOCALAWS_URL \
        HTTPS_PROXY=http://127.0.0.1:9 run ignore_configured 5 "$H2A_BIN" aws whoami --profile svc
    expect_in ignore_configured "$T/ignore_configured.err" "https://sts.eu-west-1.amazonaws.com/"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))
# Environment keys beat AWS_PROFILE (SDK order); an explicit --profile beats them.
AWS_PROFILE=two whoami_is env_beats_profile 111111111111 ":user/h2a-test"
whoami_is flag_beats_env 222222222222 ":user/h2a-test" --profile two

# --- temporary credentials are refreshed before they expire -------------------
# A credential_process that counts its runs; credentials expiring within the
# 5-minute margin are fetched again for every call, long-lived ones once.
cat >"$T/counting-proc.sh" <<'SH'
#!/bin/sh
echo run >>"$(dirname "$0")/proc-runs"
exp=$(date -u -d "+$1 seconds" +%Y-%m-%dT%H:%M:%SZ)
echo "{\"Version\": 1, \"AccessKeyId\": \"AKIAH2ALOCAL22222222\", \"Expiration\": \"$exp\","
echo " \"SecretAccessKey\": \"h2aLocalSecret22222222222222222222222222\"}"
SH
chmod +x "$T/counting-proc.sh"
cat >>"$AWS_CONFIG_FILE" <<CFG
[profile shortlived]
credential_process = $T/counting-proc.sh 120
[profile longlived]
credential_process = $T/counting-proc.sh 3600
CFG
mkcert refresh "ec -pkeyopt ec_paramgen_curve:P-256" refresh.example.com
h2a_localaws_use_account 222222222222
RARN=$(/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate \
    --certificate "fileb://$T/refresh.pem" --private-key "fileb://$T/refresh.key" \
    --query CertificateArn --output text)
h2a_localaws_use_account 111111111111
rm -f "$T/proc-runs"
run refresh_short 0 "$H2A_BIN" acm describe "$RARN" --profile shortlived --repeat 3
[ "$(wc -l <"$T/proc-runs")" = 3 ] ||
    fail "short-lived credentials: $(wc -l <"$T/proc-runs") fetches for 3 calls, wanted 3"
rm -f "$T/proc-runs"
run refresh_long 0 "$H2A_BIN" acm describe "$RARN" --profile longlived --repeat 3
[ "$(wc -l <"$T/proc-runs")" = 1 ] ||
    fail "long-lived credentials: $(wc -l <"$T/proc-runs") fetches for 3 calls, wanted 1"

# --- hsm2acm's own credentials_file (keys in a file, never argv) -------------
printf '{"AccessKeyId":"AKIAH2ALOCAL33333333","SecretAccessKey":"h2aLocalSecret33333333333333333333333333"}\n' >"$T/keys.json"
printf '{"token":"pkcs11:token=unused","aws":{"credentials_file":"%s"}}\n' "$T/keys.json" >"$T/cfg-keys.json"
whoami_is credentials_file 333333333333 ":user/h2a-test" --config "$T/cfg-keys.json"
HSM2ACM_CONFIG=$T/cfg-keys.json whoami_is credentials_file_env 333333333333 ":user/h2a-test"
printf '{"token":"pkcs11:token=unused","aws":{"credentials_file":"%s"}}\n' "$T/nope.json" >"$T/cfg-nokeys.json"
run credentials_file_missing 2 "$H2A_BIN" aws whoami --config "$T/cfg-nokeys.json"
expect_in credentials_file_missing "$T/credentials_file_missing.err" "aws.credentials_file"

# --- web identity -------------------------------------------------------------
h2a_localaws_ctl POST /_control/webtokens '{}' >"$T/wt.json"
jget "$T/wt.json" 'j["token"]' >"$T/web-token"
SECRETS+=("$(cat "$T/web-token")")
(
    no_env_keys
    export AWS_WEB_IDENTITY_TOKEN_FILE=$T/web-token AWS_ROLE_ARN=arn:aws:iam::222222222222:role/wi
    export AWS_ROLE_SESSION_NAME=it-web
    whoami_is web_identity 222222222222 ":assumed-role/wi/it-web"
    echo "not.a.token" >"$T/bad-token"
    AWS_WEB_IDENTITY_TOKEN_FILE=$T/bad-token run web_identity_bad 5 "$H2A_BIN" aws whoami
    expect_in web_identity_bad "$T/web_identity_bad.err" "InvalidIdentityToken"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))

# --- ECS container credentials -----------------------------------------------
h2a_localaws_ctl POST /_control/ecs '{"account":"333333333333","role_name":"task","authorization":"ecs-auth-token-1"}' >/dev/null
SECRETS+=(ecs-auth-token-1)
(
    no_env_keys
    export AWS_CONTAINER_CREDENTIALS_FULL_URI=$H2A_LOCALAWS_HTTP_URL/ecs/credentials
    export AWS_CONTAINER_AUTHORIZATION_TOKEN=ecs-auth-token-1
    whoami_is ecs 333333333333 ":assumed-role/task/"
    echo "ecs-auth-token-1" >"$T/ecs-token"
    (unset AWS_CONTAINER_AUTHORIZATION_TOKEN
     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$T/ecs-token whoami_is ecs_token_file 333333333333 ":assumed-role/task/"
     exit "$FAILS") || FAILS=$((FAILS + 1))
    AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong run ecs_bad_token 5 "$H2A_BIN" aws whoami
    expect_in ecs_bad_token "$T/ecs_bad_token.err" "HTTP 401"
    AWS_CONTAINER_CREDENTIALS_FULL_URI=http://example.com/creds run ecs_bad_uri 2 "$H2A_BIN" aws whoami
    expect_in ecs_bad_uri "$T/ecs_bad_uri.err" "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))

# --- EC2 IMDSv2 -----------------------------------------------------------------
(
    no_env_keys
    unset AWS_EC2_METADATA_DISABLED
    export AWS_EC2_METADATA_SERVICE_ENDPOINT=$H2A_LOCALAWS_HTTP_URL
    whoami_is imds 111111111111 ":assumed-role/h2a-instance-role/"
    # A role chain whose source is the instance profile.
    cat >>"$AWS_CONFIG_FILE" <<EOF
[profile from-ec2]
role_arn = arn:aws:iam::222222222222:role/from-ec2
credential_source = Ec2InstanceMetadata
EOF
    whoami_is imds_chain 222222222222 ":assumed-role/from-ec2/" --profile from-ec2
    # Nothing answers: a clear error, quickly (1 s timeout).
    AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 run imds_down 5 "$H2A_BIN" aws whoami
    expect_in imds_down "$T/imds_down.err" "EC2 instance metadata"
    AWS_EC2_METADATA_DISABLED=true run imds_disabled 2 "$H2A_BIN" aws whoami
    expect_in imds_disabled "$T/imds_disabled.err" "no AWS credentials found"
    exit "$FAILS"
) || FAILS=$((FAILS + 1))
# --- nothing secret in any debug output -------------------------------------------
[ -s "$T/all.err" ] || fail "no debug output captured"
grep -q "debug" "$T/all.err" || fail "debug logging was not on"
for s in "${SECRETS[@]}" "Authorization:" "Signature=" "X-Amz-Security-Token" "SecretString" \
    "PrivateKey" "aws_secret_access_key"; do
    [ -n "$s" ] || continue
    if grep -qF -- "$s" "$T/all.err"; then
        fail "debug stderr contains a secret or header: '${s:0:12}...'"
    fi
done
ok "no secret in $(wc -l <"$T/all.err") lines of debug output"
aws_it_finish
