#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test, not run by CI): organization discovery on the local AWS endpoint
# with ACM's per-API rate limits on (ListCertificates 1/s, DescribeCertificate and
# ListTagsForCertificate 10/s, per account and region), measured in one run:
#   hsm2acm  `discover` over ACCOUNTS x REGIONS x CERTS certificates (peak RSS too)
#   aws-cli  a shell loop of /usr/bin/aws doing the same listing (list-accounts, assume-role,
#            list-certificates with all key types, describe-certificate), one process per
#            call, run over CLI_PARTS account-regions and scaled to all of them
#   floor    what the rate limits allow: per account-region the slowest API's
#            calls / rate, all account-regions in parallel
# Prints times and ratios (targets: >= 20x faster than aws-cli, <= 1.25x the floor,
# peak RSS < 64 MiB).
#
# Usage: tests/bench/bench_discover.sh   (ACCOUNTS=20 REGIONS=3 CERTS=100 CLI_PARTS=1 WORKERS=64)
# Needs a build: H2A_BIN (default build/agent/hsm2acm).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
ACCOUNTS=${ACCOUNTS:-20}
NREG=${REGIONS:-3}
CERTS=${CERTS:-100}
CLI_PARTS=${CLI_PARTS:-1}
WORKERS=${WORKERS:-64}
H2A_BIN=${H2A_BIN:-$here/build/agent/hsm2acm}
PY=/usr/bin/python3
[ -x "$H2A_BIN" ] || { echo "bench_discover: no hsm2acm at $H2A_BIN (set H2A_BIN)" >&2; exit 2; }
source "$here/tests/lib/localaws.sh"
h2a_localaws_start >/dev/null
T=$(mktemp -d)
trap 'h2a_localaws_stop; rm -rf "$T"' EXIT
ROLE=OrganizationAccountAccessRole
ALLREG=(eu-west-1 us-east-1 ap-southeast-2 eu-central-1 us-west-2)
REGS=("${ALLREG[@]:0:$NREG}")
KEYS=(RSA_2048 EC_prime256v1 EC_secp384r1 RSA_3072 RSA_4096 EC_secp521r1 RSA_1024)
now() { date +%s.%N; }

# The organization: the three built-in accounts plus generated ones.
ACCTS=(111111111111 222222222222 333333333333)
extra=""
for i in $(seq 4 "$ACCOUNTS"); do
    id=$(printf '%012d' $((400000000000 + i)))
    ACCTS+=("$id")
    extra="$extra{\"Id\":\"$id\"},"
done
ACCTS=("${ACCTS[@]:0:$ACCOUNTS}")
h2a_localaws_ctl POST /_control/org "{\"accounts\":[${extra%,}]}" >/dev/null
echo "bench_discover: seeding $ACCOUNTS accounts x $NREG regions x $CERTS certificates..." >&2
i=0
for a in "${ACCTS[@]}"; do
    for r in "${REGS[@]}"; do
        h2a_localaws_ctl POST /_control/acm/seed "{\"account\":\"$a\",\"region\":\"$r\",\"key_algorithm\":\"${KEYS[$((i % 7))]}\",\"count\":$CERTS}" >/dev/null
        i=$((i + 1))
    done
done
h2a_localaws_ctl POST /_control/ratelimits '{"acm.ListCertificates":1,"acm.DescribeCertificate":10,"acm.ListTagsForCertificate":10}' >/dev/null

regs_json=$(printf '"%s",' "${REGS[@]}")
cat >"$T/conf.json" <<JSON
{"token": "pkcs11:token=unused", "state_dir": "$T/state",
 "aws": {"region": "eu-west-1", "ca_bundle": "$H2A_LOCALAWS_CA"},
 "scope": {"type": "organization", "regions": [${regs_json%,}], "role_name": "$ROLE"}}
JSON

# 1. hsm2acm
h2a_localaws_ctl DELETE /_control/calls >/dev/null
t0=$(now)
rc=0
/usr/bin/time -q -f '%M' -o "$T/rss" "$H2A_BIN" discover --config "$T/conf.json" --workers "$WORKERS" >"$T/sum.json" ||
    rc=$?
t1=$(now)
[ "$rc" = 0 ] || "$PY" -c 'import json,sys; print("bench_discover: discover failures:", json.dumps(json.load(open(sys.argv[1]))["failures"], indent=1))' "$T/sum.json"
h2a_s=$(echo "$t1 - $t0" | bc -l)
found=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificates"])' "$T/sum.json")
refused=$(h2a_localaws_ctl GET /_control/ratelimits | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["refused"])')
rss_kib=$(cat "$T/rss")

# 2. the aws-cli loop over CLI_PARTS account-regions, scaled to all of them
KT="RSA_1024,RSA_2048,RSA_3072,RSA_4096,EC_prime256v1,EC_secp384r1,EC_secp521r1"
aws_() { /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" "$@"; }
t0=$(now)
aws_ organizations list-accounts --region us-east-1 --query 'Accounts[].Id' --output text >/dev/null
p=0
for a in "${ACCTS[@]}"; do
    for r in "${REGS[@]}"; do
        [ "$p" -lt "$CLI_PARTS" ] || break 2
        read -r ak sk st < <(aws_ sts assume-role --role-arn "arn:aws:iam::$a:role/$ROLE" \
            --role-session-name bench --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' \
            --output text)
        for arn in $(AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_SESSION_TOKEN=$st \
                     aws_ acm list-certificates --region "$r" --includes "keyTypes=$KT" --max-items 1000 --page-size 1000 \
                     --query 'CertificateSummaryList[].CertificateArn' --output text); do
            AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_SESSION_TOKEN=$st \
                aws_ acm describe-certificate --region "$r" --certificate-arn "$arn" >/dev/null
        done
        p=$((p + 1))
    done
done
t1=$(now)
parts=$((ACCOUNTS * NREG))
cli_s=$(echo "($t1 - $t0) * $parts / ($p + ($p == 0))" | bc -l)

# 3. the floor: per part max(1 list / 1 per s, CERTS / 10 per s, CERTS / 10 per s), parts in parallel
floor_s=$(echo "x = $CERTS / 10; if (x < 1) 1 else x" | bc -l)

printf 'bench_discover: %d accounts x %d regions x %d certificates, rate limits on\n' "$ACCOUNTS" "$NREG" "$CERTS"
printf '  hsm2acm discover      %8.1f s   exit %s, %s certificates, %s calls refused by the rate limits, peak RSS %d KiB\n' "$h2a_s" "$rc" "$found" "$refused" "$rss_kib"
if [ "$p" = 0 ]; then
    echo "  aws-cli shell loop    skipped (CLI_PARTS=0)"
else
    printf '  aws-cli shell loop    %8.1f s   (measured over %d of %d account-regions, scaled)\n' "$cli_s" "$p" "$parts"
fi
printf '  rate-limit floor      %8.1f s   (every account-region at once)\n' "$floor_s"
waves=$(( (parts + WORKERS - 1) / WORKERS ))
printf '  floor at %2d workers   %8.1f s   (%d waves of %d parallel parts)\n' "$WORKERS" "$(echo "$waves * $floor_s" | bc -l)" "$waves" "$WORKERS"
[ "$p" = 0 ] || printf '  ratio aws-cli / hsm2acm  %6.1fx   (target >= 20x)\n' "$(echo "$cli_s / $h2a_s" | bc -l)"
printf '  ratio hsm2acm / floor    %6.2fx   (target <= 1.25x)\n' "$(echo "$h2a_s / $floor_s" | bc -l)"
printf '  peak RSS                 %6.1f MiB (target < 64 MiB)\n' "$(echo "$rss_kib / 1024" | bc -l)"
