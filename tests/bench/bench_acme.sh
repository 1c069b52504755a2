#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test): time from request to certificate against pebble
# (PEBBLE_VA_NOSLEEP=1, no nonce rejection, no authz reuse), http-01 on the
# same port, in one run:
#   hsm2acm   `enroll` with token keys (SoftHSM2): account key and RSA-2048
#             certificate key in the token; per certificate its keygen + csr +
#             issue time (from the output's timings_ms, where a step under 1 ms
#             is absent and counts 0) and the whole enroll
#             (which also delivers to the local AWS endpoint)
#   lego      Debian's lego, software keys, `lego run --http` (one process per
#             certificate, account registered in a warm-up run)
# Target (issue 13): hsm2acm's request-to-certificate at most 1.2x lego's.
#
# Usage: tests/bench/bench_acme.sh [N]    (default 10)
# Needs a build with test hooks: H2A_BUILD_DIR (default build/release).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-10}
export H2A_SRC_DIR=$here
export H2A_BUILD_DIR=${H2A_BUILD_DIR:-$here/build/release}
export H2A_BIN=${H2A_BIN:-$H2A_BUILD_DIR/agent/hsm2acm}
export H2A_SOFTHSM_MODULE=${H2A_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
export PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
[ -x "$H2A_BIN" ] || { echo "bench_acme: no hsm2acm at $H2A_BIN" >&2; exit 2; }
command -v lego >/dev/null || { echo "bench_acme: lego not installed (apt-get install lego)" >&2; exit 2; }
. "$here/tests/integration/acme_lib.sh"
acme_setup bench_acme
acme_config "{\"type\":\"http-01\",\"listen\":\"127.0.0.1:$H2A_PEBBLE_HTTP_PORT\"}"
now() { date +%s%N; }

# Warm-up (account registration for both, caches), not measured.
acme_request "$ENR_DIR/warm.json" warm rsa:2048 "warm.example.com"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/warm.json" >/dev/null
lego_run() {
    LEGO_CA_CERTIFICATES="$H2A_PEBBLE_CA" lego --server "$H2A_PEBBLE_DIR_URL" --accept-tos \
        --email pki@example.com --path "$ENR_DIR/lego" --key-type rsa2048 \
        --http --http.port "127.0.0.1:$H2A_PEBBLE_HTTP_PORT" --domains "$1" run >/dev/null 2>&1
}
lego_run lego-warm.example.com

h_issue=0 h_total=0 l_total=0
for i in $(seq 1 "$N"); do
    acme_request "$ENR_DIR/b$i.json" "b$i" rsa:2048 "b$i.example.com"
    t0=$(now)
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/b$i.json" >"$ENR_DIR/b$i.out"
    t1=$(now)
    h_total=$((h_total + (t1 - t0) / 1000000))
    h_issue=$((h_issue + $(enr_json "$ENR_DIR/b$i.out" \
        'sum(d["targets"][0]["timings_ms"].get(k, 0) for k in ("keygen","csr","issue"))')))
    t0=$(now)
    lego_run "l$i.example.com"
    t1=$(now)
    l_total=$((l_total + (t1 - t0) / 1000000))
done
echo "certificates per tool: $N (RSA-2048, http-01, pebble NOSLEEP, nonce rejection 0)"
echo "hsm2acm keygen+csr+issue: $((h_issue / N)) ms/cert   whole enroll incl. ACM delivery: $((h_total / N)) ms/cert"
echo "lego run:                 $((l_total / N)) ms/cert"
$PY -c "import sys; h,l=int(sys.argv[1]),int(sys.argv[2]); print('ratio hsm2acm/lego (request to certificate): %.2f (target <= 1.20)' % (h/l))" \
    "$h_issue" "$l_total"
