#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a ctest test): keygen + CSR per key type, three ways, all
# in one run on one fresh SoftHSM2 token, printed as ratios:
#   hsm2acm : N rounds of keygen + CSR in ONE process (bench_keygen.c, the
#             library calls the keygen/csr commands make; token opened once)
#   manual  : today's way, per round `pkcs11-tool --keypairgen` then
#             `openssl req -new -engine pkcs11 -keyform engine`
#   floor   : C_GenerateKeyPair + one C_Sign through the raw PKCS#11 API
#             (bench_floor.c), nothing else: the issue's token floor
#   copy    : the same with the pair generated as session objects and copied
#             to the token with CKA_ID (bench_floor.c ... copy), the method
#             hsm2acm uses; on SoftHSM2 it is cheaper than the floor above,
#             so hsm2acm/copy is hsm2acm's own overhead
# Medians of per-round wall time. RSA key generation is a random prime search
# (heavy tail), so RSA ratios over few rounds are noisy: read them as rough.
#
# usage: tests/bench/bench_keygen.sh [BUILD_DIR]   (a non-sanitizer build)
# env:   BENCH_N_EC (default 15), BENCH_N_RSA2048 (5), BENCH_N_RSA3072 (3),
#        BENCH_N_RSA4096 (2), BENCH_TYPES (default: all six)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-${H2A_BUILD_DIR:-$SRC/build}}
BUILD=$(cd "$BUILD" && pwd)
export H2A_BUILD_DIR=$BUILD
: "${H2A_SOFTHSM_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"
export H2A_SOFTHSM_MODULE
. "$SRC/tests/lib/token.sh"
h2a_token_create bench_keygen
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for lib in common/libh2a_common.a pkcs11/libh2a_pkcs11.a keygen/libh2a_keygen.a; do
    [ -f "$BUILD/$lib" ] || { echo "build $BUILD first (missing $lib)" >&2; exit 2; }
done
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -o "$OUT/bench_keygen" "$SRC/tests/bench/bench_keygen.c" \
    -I"$SRC/common" -I"$SRC/pkcs11" -I"$SRC/keygen" \
    "$BUILD/keygen/libh2a_keygen.a" "$BUILD/pkcs11/libh2a_pkcs11.a" "$BUILD/common/libh2a_common.a" \
    $(pkg-config --libs p11-kit-1 libcrypto) -ldl -lpthread
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -o "$OUT/bench_floor" "$SRC/tests/bench/bench_floor.c" \
    $(pkg-config --cflags p11-kit-1) -ldl

cat >"$OUT/engine.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
MODULE_PATH = $H2A_SOFTHSM_MODULE
init = 0
CNF

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%N | awk '{printf "%.3f\n", $1/1e6}'; }

# One manual round: pkcs11-tool keypairgen, then openssl req with the engine.
manual_round() {
    local type=$1 i=$2 kt t0 t1
    case $type in
        rsa:*) kt="rsa:${type#rsa:}" ;;
        ec:P-256) kt=EC:prime256v1 ;;
        ec:P-384) kt=EC:secp384r1 ;;
        ec:P-521) kt=EC:secp521r1 ;;
    esac
    t0=$(now_ms)
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
        --pin "$H2A_TEST_USER_PIN" --keypairgen --key-type "$kt" --label "manual-$i" \
        --id "$(printf '%04x' "$i")" --usage-sign >/dev/null 2>&1
    OPENSSL_CONF=$OUT/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
        -key "pkcs11:token=$H2A_TEST_TOKEN_LABEL;object=manual-$i;type=private;pin-value=$H2A_TEST_USER_PIN" \
        -subj /CN=www.example.com -sha256 -out "$OUT/manual.csr" 2>/dev/null
    t1=$(now_ms)
    openssl req -in "$OUT/manual.csr" -verify -noout 2>/dev/null || { echo "manual CSR broken" >&2; exit 1; }
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
        --pin "$H2A_TEST_USER_PIN" --delete-object --type privkey --id "$(printf '%04x' "$i")" >/dev/null 2>&1
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
        --pin "$H2A_TEST_USER_PIN" --delete-object --type pubkey --id "$(printf '%04x' "$i")" >/dev/null 2>&1
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

rounds() {
    case $1 in
        rsa:2048) echo "${BENCH_N_RSA2048:-5}" ;;
        rsa:3072) echo "${BENCH_N_RSA3072:-3}" ;;
        rsa:4096) echo "${BENCH_N_RSA4096:-2}" ;;
        *) echo "${BENCH_N_EC:-15}" ;;
    esac
}

printf '%-9s %3s %10s %10s %10s %10s %14s %13s %14s\n' type n hsm2acm floor copy manual \
    "hsm2acm/floor" "hsm2acm/copy" "manual/hsm2acm"
for type in ${BENCH_TYPES:-ec:P-256 ec:P-384 ec:P-521 rsa:2048 rsa:3072 rsa:4096}; do
    n=$(rounds "$type")
    : >"$OUT/h"; : >"$OUT/f"; : >"$OUT/c"; : >"$OUT/m"
    # Interleave the three ways in chunks of up to 5 rounds so that load from
    # other processes on the machine hits all of them alike.
    done_n=0
    while [ "$done_n" -lt "$n" ]; do
        c=$((n - done_n < 5 ? n - done_n : 5))
        "$OUT/bench_keygen" "$H2A_TEST_TOKEN_URI" "$type" "$c" >>"$OUT/h"
        "$OUT/bench_floor" "$H2A_SOFTHSM_MODULE" "$H2A_TEST_TOKEN_LABEL" "$H2A_TEST_USER_PIN" \
            "$type" "$c" >>"$OUT/f"
        "$OUT/bench_floor" "$H2A_SOFTHSM_MODULE" "$H2A_TEST_TOKEN_LABEL" "$H2A_TEST_USER_PIN" \
            "$type" "$c" copy >>"$OUT/c"
        for i in $(seq "$((done_n + 1))" "$((done_n + c))"); do manual_round "$type" "$i" >>"$OUT/m"; done
        done_n=$((done_n + c))
    done
    h=$(median <"$OUT/h"); f=$(median <"$OUT/f"); cp=$(median <"$OUT/c"); m=$(median <"$OUT/m")
    awk -v t="$type" -v n="$n" -v h="$h" -v f="$f" -v c="$cp" -v m="$m" \
        'BEGIN {printf "%-9s %3d %8.2fms %8.2fms %8.2fms %8.2fms %13.2fx %12.2fx %13.1fx\n", t, n, h, f, c, m, h/f, h/c, m/h}'
done
echo "(medians of per-round wall time; one-time token open/login not included for hsm2acm/floor)"
