#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# enroll --batch FILE.jsonl --jobs N: worker processes, one result line per
# request in input order, a bad line reported with its line number and exit
# code while the others are delivered; then the same batch again is a no-op.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_batch

# Warm-up (local CA made once, not by several workers at the same time).
enr_request "$ENR_DIR/warm.json" warm ec:P-256 "warm.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/warm.json" >/dev/null

: >"$ENR_DIR/batch.jsonl"
for i in 1 2 3 4 5 6; do
    enr_request "$ENR_DIR/b$i.json" "batch-$i" ec:P-256 "b$i.example.com" '[{"region":"eu-west-1"}]'
    $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$ENR_DIR/b$i.json" >>"$ENR_DIR/batch.jsonl"
    [ "$i" = 3 ] && { echo; echo '{"id":"batch-bad","key":"ec:P-256"}'; } >>"$ENR_DIR/batch.jsonl"
done
objs=$(enr_objects)
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch.jsonl" --jobs 3 >"$ENR_DIR/batch.out" 2>"$ENR_DIR/batch.err"
rc=$?
set -e
cat "$ENR_DIR/batch.out"
[ "$rc" = 2 ] || enr_fail "batch exit $rc, expected 2 (the bad line): $(cat "$ENR_DIR/batch.err")"
$PY - "$ENR_DIR/batch.out" <<'PYEOF' || enr_fail "batch output"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 7, len(rows)
ids = [r.get("id") for r in rows]
assert ids[:3] == ["batch-1", "batch-2", "batch-3"] and ids[4:] == ["batch-4", "batch-5", "batch-6"], ids
bad = rows[3]
assert bad["line"] == 5 and bad["exit_code"] == 2 and "subject: missing" in bad["error"], bad
for r in rows[:3] + rows[4:]:
    assert r["targets"][0]["certificate_arn"].startswith("arn:aws:acm:eu-west-1:"), r
PYEOF
[ "$(enr_objects)" = $((objs + 12)) ] || enr_fail "token objects $(enr_objects), expected $((objs + 12))"
for i in 1 2 3 4 5 6; do
    arn=$($PY -c "import json; rows=[json.loads(l) for l in open('$ENR_DIR/batch.out')]; print([r for r in rows if r.get('id')=='batch-$i'][0]['targets'][0]['certificate_arn'])")
    kid=$($PY -c "import json; rows=[json.loads(l) for l in open('$ENR_DIR/batch.out')]; print([r for r in rows if r.get('id')=='batch-$i'][0]['targets'][0]['key_id'])")
    enr_check_acm_key "$arn" "$kid" >/dev/null
done
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
# Again: every request is already done, nothing new is made.
grep -v batch-bad "$ENR_DIR/batch.jsonl" >"$ENR_DIR/batch2.jsonl"
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch2.jsonl" --jobs 2 >"$ENR_DIR/batch2.out"
[ "$(enr_objects)" = $((objs + 12)) ] || enr_fail "repeat made keys"
[ "$(enr_cert_count)" = 7 ] || enr_fail "repeat imported again ($(enr_cert_count))"
# One worker keeps its token login, its AWS connection and the caller
# identity from one request to the next.
: >"$ENR_DIR/batch3.jsonl"
for i in 1 2 3; do
    enr_request "$ENR_DIR/k$i.json" "keep-$i" ec:P-256 "k$i.example.com" '[{"region":"eu-west-1"}]'
    $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$ENR_DIR/k$i.json" >>"$ENR_DIR/batch3.jsonl"
done
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch3.jsonl" --jobs 1 \
    >"$ENR_DIR/batch3.out" 2>"$ENR_DIR/batch3.err"
[ "$(wc -l <"$ENR_DIR/batch3.out")" = 3 ] || enr_fail "batch3: $(cat "$ENR_DIR/batch3.out")"
[ "$(grep -c 'sts GetCallerIdentity' "$ENR_DIR/batch3.err")" = 1 ] ||
    enr_fail "batch3: GetCallerIdentity more than once: $(grep -c 'sts GetCallerIdentity' "$ENR_DIR/batch3.err")"
grep 'TLS connections' "$ENR_DIR/batch3.err" >"$ENR_DIR/batch3.tls"
[ "$(wc -l <"$ENR_DIR/batch3.tls")" = 1 ] && grep -q '19 calls.* 1 TLS connections' "$ENR_DIR/batch3.tls" ||
    enr_fail "batch3: one AWS context with one connection expected: $(cat "$ENR_DIR/batch3.tls")"
[ "$(grep -c 'logged in as user' "$ENR_DIR/batch3.err")" = 1 ] || enr_fail "batch3: not exactly one login"
# Two fsync'd journal commits per group of requests a worker takes together:
# the rows before the token is touched, the certificates before staging (the
# rest is in the WAL; see "Durability" and "Group commit" in docs/enroll.md).
# The three requests are one group: 7 transactions in all, one for each step
# of the group (rows, keys, CSRs, certificates, stagings, imports, cleanups);
# 20 with one per request and target step.
grep -q 'journal .*: 2 durable commits, 7 transactions' "$ENR_DIR/batch3.err" ||
    enr_fail "batch3: $(grep 'durable commits' "$ENR_DIR/batch3.err")"
# The worker reads the token's key labels once (from its second key on) instead
# of searching the token for each new label, and the index still refuses a label
# that another program put on the token before the batch.
[ "$(grep -c 'label index: reading' "$ENR_DIR/batch3.err")" = 1 ] ||
    enr_fail "batch3: label index read $(grep -c 'label index: reading' "$ENR_DIR/batch3.err") times"
# A search reads every object on SoftHSM2, so a worker makes three, however
# many requests it has: the wrapping key, the label index (at its first key,
# with no search for that key's label first), and the local CA key (both
# halves in one search).
[ "$(grep -c 'C_FindObjectsInit' "$ENR_DIR/batch3.err")" = 3 ] ||
    enr_fail "batch3: $(grep -c 'C_FindObjectsInit' "$ENR_DIR/batch3.err") token searches, expected 3"
pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
    --pin "$H2A_TEST_USER_PIN" --keypairgen --key-type EC:prime256v1 --label h2a-idx-3 \
    --id 0badc0de >/dev/null 2>&1 || enr_fail "pkcs11-tool keypairgen"
objs=$(enr_objects)
: >"$ENR_DIR/batch4.jsonl"
for i in 1 2 3 4; do
    enr_request "$ENR_DIR/x$i.json" "idx-$i" ec:P-256 "x$i.example.com" '[{"region":"eu-west-1"}]'
    $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$ENR_DIR/x$i.json" >>"$ENR_DIR/batch4.jsonl"
done
set +e
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch4.jsonl" --jobs 1 \
    >"$ENR_DIR/batch4.out" 2>"$ENR_DIR/batch4.err"
set -e
$PY - "$ENR_DIR/batch4.out" <<'PYEOF' || enr_fail "batch4 output: $(cat "$ENR_DIR/batch4.out")"
import json, sys
rows = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
for i in (1, 2, 4):
    assert rows["idx-%d" % i]["targets"][0]["certificate_arn"].startswith("arn:aws:acm:"), rows
bad = rows["idx-3"]
assert bad["exit_code"] == 2 and "label 'h2a-idx-3'" in bad["error"] and \
    "already exists" in bad["error"], bad
PYEOF
grep -q 'label index: reading' "$ENR_DIR/batch4.err" || enr_fail "batch4: no label index"
[ "$(enr_objects)" = $((objs + 6)) ] || enr_fail "batch4: token objects $(enr_objects), expected $((objs + 6))"
# Groups: at most 8 requests, and a group ends before an id it already holds.
# g2 twice: groups g1 g2 g3 | g2 g4 .. g9 (the second g2 is done already and
# reports the same delivery), so 2 groups and 4 durable commits.
: >"$ENR_DIR/batch5.jsonl"
for i in 1 2 3 2 4 5 6 7 8 9; do
    enr_request "$ENR_DIR/g$i.json" "grp-$i" ec:P-256 "g$i.example.com" '[{"region":"eu-west-1"}]'
    $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$ENR_DIR/g$i.json" >>"$ENR_DIR/batch5.jsonl"
done
objs=$(enr_objects)
HSM2ACM_LOG=debug "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch5.jsonl" --jobs 1 \
    >"$ENR_DIR/batch5.out" 2>"$ENR_DIR/batch5.err" || enr_fail "batch5 exited $?: $(cat "$ENR_DIR/batch5.out")"
$PY - "$ENR_DIR/batch5.out" <<'PYEOF' || enr_fail "batch5 output: $(cat "$ENR_DIR/batch5.out")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ids = [r["id"] for r in rows]
assert ids == ["grp-%d" % i for i in (1, 2, 3, 2, 4, 5, 6, 7, 8, 9)], ids
assert all(r["targets"][0]["certificate_arn"].startswith("arn:aws:acm:") for r in rows), rows
same = ("certificate_arn", "serial", "key_id")
assert [rows[1]["targets"][0][k] for k in same] == [rows[3]["targets"][0][k] for k in same], rows
PYEOF
grep -q 'journal .*: 4 durable commits' "$ENR_DIR/batch5.err" ||
    enr_fail "batch5: $(grep 'durable commits' "$ENR_DIR/batch5.err")"
[ "$(enr_objects)" = $((objs + 18)) ] || enr_fail "batch5: token objects $(enr_objects), expected $((objs + 18))"

# A worker killed in the middle of a group (right after the first request's
# certificate came back: every row, key and CSR of the group made): the same
# batch again adopts the four keys and delivers each request once.
: >"$ENR_DIR/batch6.jsonl"
for i in 1 2 3 4; do
    enr_request "$ENR_DIR/c$i.json" "crash-$i" ec:P-256 "c$i.example.com" '[{"region":"eu-west-1"}]'
    $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$ENR_DIR/c$i.json" >>"$ENR_DIR/batch6.jsonl"
done
objs=$(enr_objects)
certs=$(enr_cert_count)
set +e
HSM2ACM_TEST_CRASH_AT=issue "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch6.jsonl" \
    --jobs 1 >"$ENR_DIR/batch6.out" 2>"$ENR_DIR/batch6.err"
rc=$?
set -e
[ "$rc" = 1 ] || enr_fail "batch6: crashed worker gave exit $rc"
[ "$(grep -c 'worker died before answering' "$ENR_DIR/batch6.out")" = 4 ] || enr_fail "batch6: $(cat "$ENR_DIR/batch6.out")"
[ "$(enr_objects)" = $((objs + 8)) ] || enr_fail "batch6: four keys expected before the crash, objects $(enr_objects)"
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch6.jsonl" --jobs 1 >"$ENR_DIR/batch6b.out" ||
    enr_fail "batch6 again exited $?: $(cat "$ENR_DIR/batch6b.out")"
[ "$(enr_objects)" = $((objs + 8)) ] || enr_fail "batch6: token objects $(enr_objects), expected $((objs + 8))"
[ "$(enr_cert_count)" = $((certs + 4)) ] || enr_fail "batch6: $(enr_cert_count) certificates, expected $((certs + 4))"
for i in 1 2 3 4; do
    arn=$($PY -c "import json; rows=[json.loads(l) for l in open('$ENR_DIR/batch6b.out')]; print(rows[$i - 1]['targets'][0]['certificate_arn'])")
    kid=$($PY -c "import json; rows=[json.loads(l) for l in open('$ENR_DIR/batch6b.out')]; print(rows[$i - 1]['targets'][0]['key_id'])")
    enr_check_acm_key "$arn" "$kid" >/dev/null
done
[ -z "$(enr_secrets)" ] || enr_fail "batch6: staging secret left"

enr_expect_fail 2 "--jobs" "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch2.jsonl" --jobs 0
enr_expect_fail 2 "--batch takes no REQUEST.json" "$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch2.jsonl" x.json
echo PASS
