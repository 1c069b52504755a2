#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test): full enrollment (key in the token, CSR, issue,
# wrapped staging in Secrets Manager, ACM import, staging deleted) for P-256
# and RSA-2048 against the local AWS endpoint, in one run, with ratios:
#   hsm2acm   steady: a worker's time per request: `hsm2acm enroll --batch
#             FILE --jobs 1` over N requests less the same over 1, per extra
#             request (what a worker does once, start, login, TLS handshake,
#             caller identity, is left out, as in the floor)
#             cold: `hsm2acm enroll` per request (a whole process each:
#             start, module load, login, TLS handshake, identity)
#   manual    today's pipeline: pkcs11-tool --keypairgen; openssl req with the
#             pkcs11 engine; openssl x509 -req as the CA; /usr/bin/aws
#             secretsmanager create-secret; aws acm import-certificate; aws
#             secretsmanager delete-secret. (The token key is sensitive, so
#             the pipeline cannot export it: its import uploads a software key
#             of the same type, which costs the CLI the same.)
#   floor     the same token operations and the same HTTP calls, with
#             nothing around them (no journal, policy, checks or audit):
#             token: tests/bench/bench_floor.c "enroll", every PKCS#11 call
#               an enrollment needs, made the way hsm2acm makes them (pair as
#               session objects copied to the token with CKA_ID, CSR and CA
#               signatures, C_WrapKey, C_UnwrapKey into a session object, one
#               read of its components, destroy), straight through the
#               function list, keys found by label before the clock starts;
#             HTTP: tests/bench/http_floor.py, the same calls a worker makes
#               (GetCallerIdentity once, then CreateSecret, GetSecretValue,
#               ImportCertificate, GetCertificate, DeleteSecret,
#               DescribeSecret per enrollment) with bodies of the same shape
#               and size, pre-signed, on one keep-alive connection.
#             Steady and floor alternate in R rounds on the same growing
#             token and endpoint; the ratio is the median of the rounds.
# Batch: `enroll --batch --jobs J` against the token's raw key-generation
# throughput (J processes of bench_floor: C_GenerateKeyPair of token objects,
# and the faster copy method), for P-256 and RSA-2048; and the peak RSS of one
# hsm2acm process.
#
# Usage: tests/bench/bench_enroll.sh [N] [N_MANUAL]   (defaults 20 and 3; ROUNDS=5,
#        BATCH_N=40, BATCH_JOBS=nproc)
# Needs a build: H2A_BIN (default build/agent/hsm2acm).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-20}
NM=${2:-3}
H2A_BIN=${H2A_BIN:-$here/build/agent/hsm2acm}
PY=/usr/bin/python3
MODULE=${H2A_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ "$N" -ge 2 ] || { echo "bench_enroll: N must be at least 2" >&2; exit 2; }
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

# Manual pipeline pieces: a software CA, engine config.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.pem" -days 30 -subj "/CN=manual CA" 2>/dev/null
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$T/carsa.key" \
    -out "$T/carsa.pem" -days 30 -subj "/CN=manual RSA CA" 2>/dev/null
aws_cli() { /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" --region eu-west-1 "$@"; }

manual_once() { # manual_once KT I
    local kt=$1 i=$2 label="manual-$1-$2" gen ca cakey
    if [ "$kt" = ec ]; then gen=(--key-type EC:prime256v1); ca=$T/ca.pem; cakey=$T/ca.key
    else gen=(--key-type rsa:2048); ca=$T/carsa.pem; cakey=$T/carsa.key; fi
    pkcs11-tool --module "$MODULE" --token-label bench --login --pin 1234 --keypairgen "${gen[@]}" \
        --label "$label" --id "$(printf '%04x' "$i")" >/dev/null 2>&1
    OPENSSL_CONF=/dev/null openssl req -new -engine pkcs11 -keyform engine \
        -key "pkcs11:token=bench;object=$label;type=private;pin-value=1234" \
        -subj "/CN=bench.example.com" -addext subjectAltName=DNS:bench.example.com -out "$T/m.csr" 2>/dev/null
    openssl x509 -req -in "$T/m.csr" -CA "$ca" -CAkey "$cakey" -CAcreateserial -days 30 \
        -copy_extensions copyall -out "$T/m.pem" 2>/dev/null
    aws_cli secretsmanager create-secret --name "manual/$label" \
        --secret-string "$(head -c 900 /dev/urandom | base64 -w0)" >/dev/null
    # The token key cannot be exported, so a software key/cert pair stands in.
    aws_cli acm import-certificate --certificate "fileb://$T/sw-$kt.pem" \
        --private-key "fileb://$T/sw-$kt.key" --certificate-chain "fileb://$T/sw-$kt-ca.pem" >/dev/null
    aws_cli secretsmanager delete-secret --secret-id "manual/$label" --force-delete-without-recovery >/dev/null
}
# Software pairs of each type: the manual pipeline's import, and the bodies
# of the HTTP floor.
for kt in ec rsa; do
    if [ $kt = ec ]; then ca=$T/ca.pem; cakey=$T/ca.key; k=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    else ca=$T/carsa.pem; cakey=$T/carsa.key; k=(-newkey rsa:2048); fi
    openssl req -new "${k[@]}" -nodes -keyout "$T/sw-$kt.key" -out "$T/sw.csr" -subj /CN=bench.example.com \
        -addext subjectAltName=DNS:bench.example.com 2>/dev/null
    openssl x509 -req -in "$T/sw.csr" -CA "$ca" -CAkey "$cakey" -CAcreateserial -days 30 \
        -copy_extensions copyall -out "$T/sw-$kt.pem" 2>/dev/null
    cp "$ca" "$T/sw-$kt-ca.pem"
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mean() { awk '{s += $1} END {print s / NR}'; }
# token_floor KT N: mean ms of the token operations of one enrollment
token_floor() {
    local ca=hsm2acm-local-ca-ec
    [ "${1%%:*}" = rsa ] && ca=hsm2acm-local-ca-rsa
    "$T/bench_floor" "$MODULE" bench 1234 "$1" "$2" enroll hsm2acm-wrap "$ca" | mean
}
# http_floor KT N: mean ms of the HTTP calls of one enrollment (wrapped key
# sizes: KWP of the PKCS#8 DER, 144 bytes for P-256, 1232 for RSA-2048)
http_floor() {
    local short=${1%%:*} wl=144
    [ "$short" = rsa ] && wl=1232
    "$PY" "$here/tests/bench/http_floor.py" "$H2A_LOCALAWS_URL" "$AWS_CA_BUNDLE" \
        "$T/sw-$short.pem" "$T/sw-$short.key" "$T/sw-$short-ca.pem" "$wl" "$2"
}

printf 'bench_enroll: full enrollment against localaws (%s), SoftHSM2 token\n' "$H2A_LOCALAWS_URL"
R=${ROUNDS:-5}
for kt in ec:P-256 rsa:2048; do
    short=${kt%%:*}
    : >"$T/steady"; : >"$T/floor"; : >"$T/tok"; : >"$T/http"; : >"$T/ratio"
    for r in $(seq 1 "$R"); do
        # hsm2acm, steady: a worker's time per request. A batch of N less a
        # batch of 1, over N - 1, leaves out what a worker does once (process start,
        # module load, login, TLS handshake, caller identity).
        : >"$T/steady-$short-$r.jsonl"
        for i in $(seq 0 "$N"); do
            req "s-$short-$r-$i" "$kt"
            cat "$T/s-$short-$r-$i.json" >>"$T/steady-$short-$r.jsonl"
            echo >>"$T/steady-$short-$r.jsonl"
            [ "$i" = 0 ] && mv "$T/steady-$short-$r.jsonl" "$T/one-$short-$r.jsonl"
        done
        t0=$(now)
        "$H2A_BIN" enroll --config "$T/config.json" --batch "$T/one-$short-$r.jsonl" --jobs 1 >/dev/null
        t1=$(now)
        "$H2A_BIN" enroll --config "$T/config.json" --batch "$T/steady-$short-$r.jsonl" --jobs 1 >/dev/null
        t2=$(now)
        s_ms=$(calc "($(ms "$t1" "$t2") - $(ms "$t0" "$t1")) / ($N - 1)")
        tk=$(token_floor "$kt" "$N")
        ht=$(http_floor "$kt" "$N")
        f_ms=$(calc "$tk + $ht")
        echo "$s_ms" >>"$T/steady"; echo "$f_ms" >>"$T/floor"; echo "$tk" >>"$T/tok"; echo "$ht" >>"$T/http"
        calc "$s_ms / $f_ms" >>"$T/ratio"; echo >>"$T/ratio"
    done
    # hsm2acm, cold: a process per request.
    t0=$(now)
    for i in $(seq 1 "$N"); do
        req "c-$short-$i" "$kt"
        "$H2A_BIN" enroll --config "$T/config.json" "$T/c-$short-$i.json" >/dev/null
    done
    t1=$(now)
    h_ms=$(calc "$(ms "$t0" "$t1") / $N")
    t0=$(now)
    for i in $(seq 1 "$NM"); do manual_once "$short" "$i"; done
    t1=$(now)
    m_ms=$(calc "$(ms "$t0" "$t1") / $NM")
    s_ms=$(median <"$T/steady"); f_ms=$(median <"$T/floor")
    printf '  %-8s medians of %d rounds of %d: hsm2acm steady %6.1f ms | floor %6.1f ms (token %.1f + HTTP %.1f) | cold %6.1f ms | manual %7.1f ms\n' \
        "$kt" "$R" "$N" "$s_ms" "$f_ms" "$(median <"$T/tok")" "$(median <"$T/http")" "$h_ms" "$m_ms"
    printf '           hsm2acm steady / floor = %5.2fx (rounds: %s; target <= 1.3x)\n' \
        "$(grep . "$T/ratio" | median)" "$(grep . "$T/ratio" | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}')"
    printf '           manual / hsm2acm cold = %5.1fx (target >= 20x for P-256) ; cold / floor = %5.2fx\n' \
        "$(calc "$m_ms / $h_ms")" "$(calc "$h_ms / $f_ms")"
done

# Batch: R rounds, each M requests with --jobs J, then J processes of raw token
# keygen making M key pairs in all, by C_GenerateKeyPair of token objects and
# by the copy method. Rounds are interleaved so that the growing token and
# machine noise hit both alike; the ratio is the median of the per-round ratios.
M=${BATCH_N:-40}
J=${BATCH_JOBS:-$(nproc)}
batch_file() { # batch_file FILE PREFIX COUNT KEY
    local i
    : >"$1"
    for i in $(seq 1 "$3"); do
        printf '{"id":"%s-%s","subject":"CN=bench.example.com","dns":["bench.example.com"],"key":"%s","issuer":"demo","requester":"bench","targets":[{"region":"eu-west-1"}]}\n' "$2" "$i" "$4" >>"$1"
    done
}
cat >"$T/rss.py" <<'PYEOF'
import resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
dt = time.perf_counter() - t0
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PYEOF
raw_rate() { # raw_rate KT [copy]: key pairs per second, J processes making about M in all
    local kt=$1 t0 t1 pids=() per=$(( (M + J - 1) / J ))
    shift
    t0=$(now)
    for j in $(seq 1 "$J"); do
        "$T/bench_floor" "$MODULE" bench 1234 "$kt" "$per" "$@" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"   # not a bare wait: the local endpoint is a child too
    t1=$(now)
    calc "$J * $per / ($t1 - $t0)"
}
maxrss=0
for kt in ec:P-256 rsa:2048; do
    short=${kt%%:*}
    : >"$T/rates"; : >"$T/raws"; : >"$T/copies"; : >"$T/ratios"; : >"$T/cratios"
    for r in $(seq 1 "$R"); do
        batch_file "$T/batch-$short-$r.jsonl" "batch-$short-$r" "$M" "$kt"
        read -r bsec brss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
            --batch "$T/batch-$short-$r.jsonl" --jobs "$J")
        rate=$(calc "$M / $bsec")
        raw=$(raw_rate "$kt")
        cop=$(raw_rate "$kt" copy)
        echo "$rate" >>"$T/rates"; echo "$raw" >>"$T/raws"; echo "$cop" >>"$T/copies"
        calc "$rate / $raw" >>"$T/ratios"; echo >>"$T/ratios"
        calc "$rate / $cop" >>"$T/cratios"; echo >>"$T/cratios"
        [ "$brss" -gt "$maxrss" ] && maxrss=$brss
    done
    printf '  batch    %s, %d rounds of %d, --jobs %d: median %.1f/s | raw keygen in %d processes: C_GenerateKeyPair %.1f/s, copy method %.1f/s\n' \
        "$kt" "$R" "$M" "$J" "$(median <"$T/rates")" "$J" "$(median <"$T/raws")" "$(median <"$T/copies")"
    printf '           batch / raw keygen = %.0f%% (C_GenerateKeyPair) ; %.0f%% (copy method; rounds: %s) ; target >= 80%%\n' \
        "$(calc "100 * $(grep . "$T/ratios" | median)")" "$(calc "100 * $(grep . "$T/cratios" | median)")" \
        "$(grep . "$T/cratios" | awk '{printf "%s%.0f%%", (NR > 1 ? " " : ""), 100 * $1}')"
done
# Peak RSS does not grow with the batch: one batch five times as large.
batch_file "$T/batch-big.jsonl" big "$((5 * M))" ec:P-256
read -r _ bigrss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
    --batch "$T/batch-big.jsonl" --jobs "$J")
# SoftHSM2 keeps every token object in memory, so RSS also follows the token's
# size: a batch of M again, on the token the big batch grew, separates the two.
batch_file "$T/batch-after.jsonl" after "$M" ec:P-256
read -r _ afterrss < <("$PY" "$T/rss.py" "$H2A_BIN" enroll --config "$T/config.json" \
    --batch "$T/batch-after.jsonl" --jobs "$J")
printf '           peak RSS of one hsm2acm process: %.1f MiB in the batches above, %.1f MiB with %d requests, then %.1f MiB with %d on the grown token (target <= 32 MiB)\n' \
    "$(calc "$maxrss / 1024")" "$(calc "$bigrss / 1024")" "$((5 * M))" \
    "$(calc "$afterrss / 1024")" "$M"
