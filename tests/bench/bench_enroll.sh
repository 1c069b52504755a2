#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test): full enrollment (key in the token, CSR, issue,
# wrapped staging in Secrets Manager, ACM import, staging deleted) for P-256
# and RSA-2048 against the local AWS endpoint, in one run, with ratios:
#   hsm2acm   steady: `hsm2acm enroll --batch FILE --jobs 1` over N requests,
#             per request (one process: token login, AWS connection and
#             caller identity once, as a worker does)
#             cold: `hsm2acm enroll` per request (a whole process each:
#             start, module load, login, TLS handshake, identity)
#   manual    today's pipeline: pkcs11-tool --keypairgen; openssl req with the
#             pkcs11 engine; openssl x509 -req as the CA; /usr/bin/aws
#             secretsmanager create-secret; aws acm import-certificate; aws
#             secretsmanager delete-secret. (The token key is sensitive, so
#             the pipeline cannot export it: its import uploads a software key
#             of the same type, which costs the CLI the same.)
#   floor     the same token operations and the same HTTP calls with nothing
#             around them: C_GenerateKeyPair + C_Sign straight through PKCS#11
#             (tests/bench/bench_floor.c) plus 7 pre-signed HTTPS calls on one
#             keep-alive connection (Python http.client), the calls an
#             enrollment makes (GetCallerIdentity, CreateSecret, GetSecretValue,
#             ImportCertificate, GetCertificate, DeleteSecret, DescribeSecret),
#             timed as DescribeCertificate round trips. Wrap/unwrap and the CA
#             signature are not in the floor (a few ms), so it is a lower bound.
#   copy floor  the same, with the key pair made the way hsm2acm makes it
#             (session objects copied to the token with CKA_ID, see
#             bench_floor.c): on SoftHSM2 cheaper than C_GenerateKeyPair of
#             token objects, so hsm2acm / copy floor is hsm2acm's own overhead.
# Batch: `enroll --batch --jobs J` against J processes of raw token keygen +
# sign (both floors), and the peak RSS of one hsm2acm process.
#
# Usage: tests/bench/bench_enroll.sh [N] [N_MANUAL]   (defaults 10 and 3)
# Needs a build: H2A_BIN (default build/agent/hsm2acm).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-10}
NM=${2:-3}
H2A_BIN=${H2A_BIN:-$here/build/agent/hsm2acm}
PY=/usr/bin/python3
MODULE=${H2A_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -x "$H2A_BIN" ] || { echo "bench_enroll: no hsm2acm at $H2A_BIN (set H2A_BIN)" >&2; exit 2; }
T=$(mktemp -d)
. "$here/tests/lib/localaws.sh"
h2a_localaws_start "$T/aws" >/dev/null
trap 'h2a_localaws_stop; rm -rf "$T"' EXIT

# Token.
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$T/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm2.conf"
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
printf 1234 >"$T/pin"; chmod 600 "$T/pin"
URI="pkcs11:token=bench?module-path=$MODULE&pin-source=file:$T/pin"
"$H2A_BIN" wrapkey create --token "$URI" >/dev/null
cat >"$T/config.json" <<JSON
{"token": "$URI", "state_dir": "$T/state",
 "issuers": {"demo": {"type": "local"}},
 "aws": {"region": "eu-west-1"}}
JSON
req() { # req ID KEY
    printf '{"id":"%s","subject":"CN=bench.example.com","dns":["bench.example.com"],"key":"%s","issuer":"demo","requester":"bench","targets":[{"region":"eu-west-1"}]}' "$1" "$2" >"$T/$1.json"
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }   # awk is always there; bc may not be
ms() { calc "1000 * ($2 - $1)"; }

# Warm-up: makes the local CA keys, fills caches.
for kt in ec:P-256 rsa:2048; do
    req "warm-${kt/:/-}" "$kt"
    "$H2A_BIN" enroll --config "$T/config.json" "$T/warm-${kt/:/-}.json" >/dev/null
done

# Floor helpers.
cc -std=gnu11 -O2 -o "$T/bench_floor" "$here/tests/bench/bench_floor.c" -ldl $(pkg-config --cflags p11-kit-1)
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/fk.pem" \
    -out "$T/fc.pem" -days 30 -subj /CN=floor.example.com -addext subjectAltName=DNS:floor.example.com 2>/dev/null
FARN=$(/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate \
    --certificate "fileb://$T/fc.pem" --private-key "fileb://$T/fk.pem" --query CertificateArn --output text)
cat >"$T/http_floor.py" <<'PYEOF'
import http.client, json, os, ssl, sys, time, urllib.parse
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, ca, arn, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlparse(url)
body = json.dumps({"CertificateArn": arn}).encode()
req = AWSRequest(method="POST", url=url + "/", data=body, headers={
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "CertificateManager.DescribeCertificate"})
SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
          "acm", os.environ["AWS_REGION"]).add_auth(req)
headers = dict(req.headers.items())
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
conn.request("POST", "/", body=body, headers=headers); r = conn.getresponse(); r.read()
t0 = time.perf_counter()
for _ in range(n):
    conn.request("POST", "/", body=body, headers=headers); r = conn.getresponse(); r.read()
    assert r.status == 200
print(1000 * (time.perf_counter() - t0) / n)
PYEOF
http_ms=$("$PY" "$T/http_floor.py" "$H2A_LOCALAWS_URL" "$AWS_CA_BUNDLE" "$FARN" 50)

# Manual pipeline pieces: a software CA, engine config.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.pem" -days 30 -subj "/CN=manual CA" 2>/dev/null
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$T/carsa.key" \
    -out "$T/carsa.pem" -days 30 -subj "/CN=manual RSA CA" 2>/dev/null
aws_cli() { /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" --region eu-west-1 "$@"; }

manual_once() { # manual_once KT I
    local kt=$1 i=$2 label="manual-$1-$2" gen ca cakey swkey
    if [ "$kt" = ec ]; then gen=(--key-type EC:prime256v1); ca=$T/ca.pem; cakey=$T/ca.key; swkey=(ec -pkeyopt ec_paramgen_curve:P-256)
    else gen=(--key-type rsa:2048); ca=$T/carsa.pem; cakey=$T/carsa.key; swkey=(rsa:2048); fi
    pkcs11-tool --module "$MODULE" --token-label bench --login --pin 1234 --keypairgen "${gen[@]}" \
        --label "$label" --id "$(printf '%04x' "$i")" >/dev/null 2>&1
    OPENSSL_CONF=/dev/null openssl req -new -engine pkcs11 -keyform engine \
        -key "pkcs11:token=bench;object=$label;type=private;pin-value=1234" \
        -subj "/CN=bench.example.com" -addext subjectAltName=DNS:bench.example.com -out "$T/m.csr" 2>/dev/null
    openssl x509 -req -in "$T/m.csr" -CA "$ca" -CAkey "$cakey" -CAcreateserial -days 30 \
        -copy_extensions copyall -out "$T/m.pem" 2>/dev/null
    # (Not timed separately: a software key of the same type for the import.)
    aws_cli secretsmanager create-secret --name "manual/$label" \
        --secret-string "$(head -c 900 /dev/urandom | base64 -w0)" >/dev/null
    # The token key cannot be exported, so a software key/cert pair stands in.
    aws_cli acm import-certificate --certificate "fileb://$T/sw-$kt.pem" \
        --private-key "fileb://$T/sw-$kt.key" --certificate-chain "fileb://$T/sw-$kt-ca.pem" >/dev/null
    aws_cli secretsmanager delete-secret --secret-id "manual/$label" --force-delete-without-recovery >/dev/null
}
for kt in ec rsa; do
    if [ $kt = ec ]; then ca=$T/ca.pem; cakey=$T/ca.key; k=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    else ca=$T/carsa.pem; cakey=$T/carsa.key; k=(-newkey rsa:2048); fi
    openssl req -new "${k[@]}" -nodes -keyout "$T/sw-$kt.key" -out "$T/sw.csr" -subj /CN=bench.example.com \
        -addext subjectAltName=DNS:bench.example.com 2>/dev/null
    openssl x509 -req -in "$T/sw.csr" -CA "$ca" -CAkey "$cakey" -CAcreateserial -days 30 \
        -copy_extensions copyall -out "$T/sw-$kt.pem" 2>/dev/null
    cp "$ca" "$T/sw-$kt-ca.pem"
done

printf 'bench_enroll: full enrollment against localaws (%s), SoftHSM2 token\n' "$H2A_LOCALAWS_URL"
printf '  HTTP floor: %.2f ms per signed call on a keep-alive connection\n' "$http_ms"
floor_ms() { # floor_ms KT N [copy]: mean ms of token keygen + sign
    "$T/bench_floor" "$MODULE" bench 1234 "$@" | $PY -c 'import sys; v=[float(x) for x in sys.stdin.read().split()]; print(sum(v)/len(v))'
}
for kt in ec:P-256 rsa:2048; do
    short=${kt%%:*}
    # hsm2acm, steady: one worker process over N requests.
    : >"$T/steady-$short.jsonl"
    for i in $(seq 1 "$N"); do
        req "s-$short-$i" "$kt"
        cat "$T/s-$short-$i.json" >>"$T/steady-$short.jsonl"
        echo >>"$T/steady-$short.jsonl"
    done
    t0=$(now)
    "$H2A_BIN" enroll --config "$T/config.json" --batch "$T/steady-$short.jsonl" --jobs 1 >/dev/null
    t1=$(now)
    s_ms=$(calc "$(ms "$t0" "$t1") / $N")
    # hsm2acm, cold: a process per request.
    t0=$(now)
    for i in $(seq 1 "$N"); do
        req "b-$short-$i" "$kt"
        "$H2A_BIN" enroll --config "$T/config.json" "$T/b-$short-$i.json" >/dev/null
    done
    t1=$(now)
    h_ms=$(calc "$(ms "$t0" "$t1") / $N")
    # manual
    t0=$(now)
    for i in $(seq 1 "$NM"); do manual_once "$short" "$i"; done
    t1=$(now)
    m_ms=$(calc "$(ms "$t0" "$t1") / $NM")
    # floors: token keygen + sign, plus 7 HTTP calls
    tok_ms=$(floor_ms "$kt" "$N")
    cp_ms=$(floor_ms "$kt" "$N" copy)
    f_ms=$(calc "$tok_ms + 7 * $http_ms")
    c_ms=$(calc "$cp_ms + 7 * $http_ms")
    printf '  %-8s hsm2acm steady %7.1f ms, cold %7.1f ms | manual %7.1f ms | floor %6.1f ms (token %.1f + 7 calls) | copy floor %6.1f ms (token %.1f)\n' \
        "$kt" "$s_ms" "$h_ms" "$m_ms" "$f_ms" "$tok_ms" "$c_ms" "$cp_ms"
    printf '           manual / hsm2acm cold = %5.1fx (target >= 20x for P-256)\n' "$(calc "$m_ms / $h_ms")"
    printf '           hsm2acm steady / floor = %5.2fx (target <= 1.3x) ; / copy floor = %5.2fx ; cold / floor = %5.2fx\n' \
        "$(calc "$s_ms / $f_ms")" "$(calc "$s_ms / $c_ms")" "$(calc "$h_ms / $f_ms")"
done

# Batch: R rounds, each M P-256 requests with --jobs J, then J processes of
# raw token keygen + sign making M key pairs in all (both floors). Rounds are
# interleaved so that the growing token and machine noise hit both alike;
# the ratio is the median of the per-round ratios.
M=${BATCH_N:-40}
J=${BATCH_JOBS:-$(nproc)}
R=${BATCH_ROUNDS:-5}
batch_file() { # batch_file FILE PREFIX COUNT
    : >"$1"
    for i in $(seq 1 "$3"); do
        printf '{"id":"%s-%s","subject":"CN=bench.example.com","dns":["bench.example.com"],"key":"ec:P-256","issuer":"demo","requester":"bench","targets":[{"region":"eu-west-1"}]}\n' "$2" "$i" >>"$1"
    done
}
cat >"$T/rss.py" <<'PYEOF'
import resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
dt = time.perf_counter() - t0
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PYEOF
raw_rate() { # raw_rate [copy]: key pairs per second, J processes making about M in all
    local t0 t1 pids=() per=$(( (M + J - 1) / J ))
    t0=$(now)
    for j in $(seq 1 "$J"); do
        "$T/bench_floor" "$MODULE" bench 1234 ec:P-256 "$per" "$@" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"   # not a bare wait: the local endpoint is a child too
    t1=$(now)
    calc "$J * $per / ($t1 - $t0)"
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
: >"$T/rates"; : >"$T/raws"; : >"$T/copies"; : >"$T/ratios"; : >"$T/cratios"; maxrss=0
for r in $(seq 1 "$R"); do
    batch_file "$T/batch-$r.jsonl" "batch$r" "$M"
    read -r bsec brss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
        --batch "$T/batch-$r.jsonl" --jobs "$J")
    rate=$(calc "$M / $bsec")
    raw=$(raw_rate)
    cop=$(raw_rate copy)
    echo "$rate" >>"$T/rates"; echo "$raw" >>"$T/raws"; echo "$cop" >>"$T/copies"
    calc "$rate / $raw" >>"$T/ratios"; echo >>"$T/ratios"
    calc "$rate / $cop" >>"$T/cratios"; echo >>"$T/cratios"
    [ "$brss" -gt "$maxrss" ] && maxrss=$brss
done
printf '  batch    %d rounds of %d P-256 enrollments, --jobs %d: median %.1f/s | raw token keygen+sign, %d processes: median %.1f/s (copy method %.1f/s)\n' \
    "$R" "$M" "$J" "$(median <"$T/rates")" "$J" "$(median <"$T/raws")" "$(median <"$T/copies")"
printf '           batch / raw = %.0f%% (median of rounds: %s; target >= 80%%) ; batch / raw copy method = %.0f%%\n' \
    "$(calc "100 * $(grep . "$T/ratios" | median)")" \
    "$(grep . "$T/ratios" | awk '{printf "%s%.0f%%", (NR > 1 ? " " : ""), 100 * $1}')" \
    "$(calc "100 * $(grep . "$T/cratios" | median)")"
# Peak RSS does not grow with the batch: one batch five times as large.
batch_file "$T/batch-big.jsonl" big "$((5 * M))"
read -r _ bigrss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
    --batch "$T/batch-big.jsonl" --jobs "$J")
# SoftHSM2 keeps every token object in memory, so RSS also follows the token's
# size: a batch of M again, on the token the big batch grew, separates the two.
batch_file "$T/batch-after.jsonl" after "$M"
read -r _ afterrss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
    --batch "$T/batch-after.jsonl" --jobs "$J")
printf '           peak RSS of one hsm2acm process: %.1f MiB with %d requests, %.1f MiB with %d, then %.1f MiB with %d on the grown token (target <= 32 MiB)\n' \
    "$(calc "$maxrss / 1024")" "$M" "$(calc "$bigrss / 1024")" "$((5 * M))" \
    "$(calc "$afterrss / 1024")" "$M"
