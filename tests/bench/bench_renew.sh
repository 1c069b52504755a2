#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test, not run by CI): renewal throughput and dry-run cost.
#   1. N certificates (local issuer, P-256, local endpoint) enrolled by
#      `enroll --batch`, then all renewed by `renew --jobs 2 --arn ...` (each
#      named, so all are renewed), against `enroll --batch --jobs 2` of N fresh
#      requests in the same run (the issue's comparison; JOBS=1 runs both
#      with one worker process). Every key made stays in the token, and
#      SoftHSM2 gets slower as its object count grows (one file per object,
#      its directory read again and again), so whatever runs later runs on a
#      bigger token: the batch enrollment runs twice, once before the renewal
#      and once after it, and the renewal is compared with their mean time
#      (both single runs are printed too). Target: renewal at least 90% of
#      batch enrollment's rate. The AWS calls each side made are printed too.
#   2. `renew --dry-run` over a journal of M certificates and an inventory of
#      as many (rows copied with sqlite3 from real ones: discover ran once),
#      against one `sqlite3` selecting the same rows from the same files: the
#      journal's current generations with the request columns the due time
#      reads, and the inventory's present certificates. Target: at most 3x;
#      no AWS call (the endpoint's call count is printed before and after).
#
# Usage: tests/bench/bench_renew.sh [N] [M]   (defaults 200 and 10000)
set -euo pipefail
: "${H2A_BIN:=$PWD/build/release/agent/hsm2acm}"
: "${H2A_SRC_DIR:=$PWD}"
: "${H2A_BUILD_DIR:=$PWD/build/release}"
: "${H2A_SOFTHSM_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"
export H2A_BIN H2A_SRC_DIR H2A_BUILD_DIR H2A_SOFTHSM_MODULE
N=${1:-200}
M=${2:-10000}
. "$H2A_SRC_DIR/tests/integration/enroll_lib.sh"
enr_setup bench_renew

now_ms() { date +%s%3N; }
lines() { # lines PREFIX COUNT: a JSONL batch of COUNT requests
    local i
    for i in $(seq "$1" "$2"); do
        printf '{"id":"%s%d","subject":"CN=b%d.example.com","dns":["b%d.example.com"],"ip":[],"key":"ec:P-256","issuer":"demo","requester":"team-web","targets":[{"region":"eu-west-1"}]}\n' \
            "$3" "$i" "$i" "$i"
    done
}

# Warm-up: the local CA's key.
lines 1 1 warm >"$ENR_DIR/warm.jsonl"
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/warm.jsonl" >/dev/null

lines 1 "$N" old >"$ENR_DIR/old.jsonl"
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/old.jsonl" --jobs 1 >"$ENR_DIR/old.out"
args=()
while read -r arn; do args+=(--arn "$arn"); done < <(enr_batch_arns "$ENR_DIR/old.out")

calls() { h2a_localaws_ctl GET /_control/calls | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))'; }
# by_op: the calls since the last reset, counted per operation.
by_op() { h2a_localaws_ctl GET /_control/calls | $PY -c 'import collections,json,sys
n = collections.Counter(c["operation"] for c in json.load(sys.stdin)["calls"])
print(", ".join("%s %d" % kv for kv in sorted(n.items())))'; }
lines 1 "$N" new >"$ENR_DIR/new.jsonl"
lines 1 "$N" after >"$ENR_DIR/after.jsonl"
# batch FILE: the wall time in ms of one timed `enroll --batch`; its AWS calls in $batch_calls.
batch() {
    local t0 t1
    h2a_localaws_ctl DELETE /_control/calls >/dev/null
    t0=$(now_ms)
    "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$1" --jobs "${JOBS:-2}" >/dev/null
    t1=$(now_ms)
    batch_calls="$(calls) ($(by_op))"
    batch_ms=$((t1 - t0))
}
batch "$ENR_DIR/new.jsonl"
before_ms=$batch_ms
enroll_calls=$batch_calls
h2a_localaws_ctl DELETE /_control/calls >/dev/null
t1b=$(now_ms)
"$H2A_BIN" renew --config "$ENR_CONFIG" --jobs "${JOBS:-2}" "${args[@]}" >"$ENR_DIR/renew.out"
t2=$(now_ms)
renew_calls="$(calls) ($(by_op))"
batch "$ENR_DIR/after.jsonl"
after_ms=$batch_ms
rate() { echo "scale=2; $N * 1000 / $1" | bc; }
renew_rate=$(rate $((t2 - t1b)))
enroll_rate=$(rate $(((before_ms + after_ms) / 2)))
echo "enroll --batch --jobs ${JOBS:-2} before: $N in $before_ms ms, $(rate "$before_ms")/s, $enroll_calls AWS calls"
echo "renew --jobs ${JOBS:-2}:                 $N in $((t2 - t1b)) ms, $renew_rate/s, $renew_calls AWS calls"
echo "enroll --batch --jobs ${JOBS:-2} after:  $N in $after_ms ms, $(rate "$after_ms")/s"
echo "renew / enroll before: $(echo "scale=1; 100 * $renew_rate / $(rate "$before_ms")" | bc)%," \
    "after: $(echo "scale=1; 100 * $renew_rate / $(rate "$after_ms")" | bc)%"
echo "renew / enroll (mean of before and after): $(echo "scale=1; 100 * $renew_rate / $enroll_rate" | bc)% (target >= 90%)"

# Dry run over M certificates: copies of one delivered request and its generation, and of
# its inventory row (discover sees the 4N + 1 real ones first).
"$H2A_BIN" discover --config "$ENR_CONFIG" >/dev/null
db="$ENR_DIR/state/journal.db" inv="$ENR_DIR/state/inventory.db"
sqlite3 "$db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $M)
INSERT INTO requests SELECT 'dry' || i, body_hash, body, requester, state, key_type, key_label,
  key_id, kcv, serial, not_after, cert_pem, chain_pem, error, failed_step, created, updated,
  issuer_handle, reason, not_before, ari_id FROM requests, n WHERE id = 'old1';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $M)
INSERT INTO generations SELECT 'arn:aws:acm:eu-west-1:111111111111:certificate/dry-' || i, 1,
  'dry' || i, 0, 'enroll', imported_at, NULL FROM generations, n WHERE request_id = 'old1';
SQL
old1=$(enr_batch_arns "$ENR_DIR/old.out" | sed -n 1p)
sqlite3 "$inv" <<SQL
CREATE TEMP TABLE one AS SELECT * FROM certificates WHERE arn = '$old1';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $M)
INSERT INTO certificates SELECT 'arn:aws:acm:eu-west-1:111111111111:certificate/dry-' || i,
  account, region, type, status, domain, sans, key_algorithm, serial, issuer, not_before,
  not_after, in_use_by, renewal_eligibility, tags, managed, first_seen, last_seen, last_run,
  gone_at FROM one, n;
SQL
c0=$(calls)
t0=$(now_ms)
sqlite3 "$db" "ATTACH '$inv' AS inv;
SELECT g.arn, g.generation, r.id, r.state, r.reason, r.serial, r.not_after, r.not_before, r.ari_id
  FROM generations g JOIN requests r ON r.id = g.request_id
  WHERE g.generation = (SELECT MAX(generation) FROM generations WHERE arn = g.arn) ORDER BY r.id, g.arn;
SELECT * FROM inv.certificates WHERE gone_at IS NULL;" >/dev/null
t1=$(now_ms)
HSM2ACM_TEST_NOW=$(($(date +%s) + 29 * 86400)) "$H2A_BIN" renew --config "$ENR_CONFIG" --dry-run >"$ENR_DIR/dry.out"
t2=$(now_ms)
c1=$(calls)
echo "sqlite3 select: $((t1 - t0)) ms; renew --dry-run over $((M + 3 * N + 1)) certificates: $((t2 - t1)) ms," \
    "$(wc -l <"$ENR_DIR/dry.out") lines; ratio $(echo "scale=2; ($t2 - $t1) / ($t1 - $t0 + 1)" | bc)x (target <= 3x)"
echo "AWS calls during the dry run: $((c1 - c0)) (must be 0)"
