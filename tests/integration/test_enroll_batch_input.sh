#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17 items 8 and 11: a NUL byte in one line of an `enroll --batch` file is an
# error line for that line only (the lines after it still run and answer), and
# --jobs without --batch is refused (exit 2) instead of being ignored.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_batch_input

enr_request "$ENR_DIR/warm.json" warm ec:P-256 "warm.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/warm.json" >/dev/null
for i in 1 2 3; do
    enr_request "$ENR_DIR/n$i.json" "nul-$i" ec:P-256 "n$i.example.com" '[{"region":"eu-west-1"}]'
done
$PY - "$ENR_DIR" >"$ENR_DIR/batch.jsonl" <<'PYEOF'
import json, sys
d = sys.argv[1]
line = lambda i: json.dumps(json.load(open("%s/n%d.json" % (d, i))))
sys.stdout.write(line(1) + "\n")
bad = line(2)
sys.stdout.write(bad[:20] + "\0" + bad[20:] + "\n")   # a NUL inside the JSON text
sys.stdout.write(line(3))                             # no newline at the end
PYEOF
objs=$(enr_objects)
set +e
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch.jsonl" --jobs 2 >"$ENR_DIR/batch.out" 2>"$ENR_DIR/batch.err"
rc=$?
set -e
cat "$ENR_DIR/batch.out"
[ "$rc" = 2 ] || enr_fail "batch exit $rc, expected 2: $(cat "$ENR_DIR/batch.err")"
$PY - "$ENR_DIR/batch.out" <<'PYEOF' || enr_fail "batch output"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3, rows
assert rows[0]["id"] == "nul-1" and rows[2]["id"] == "nul-3", rows
bad = rows[1]
assert bad["line"] == 2 and bad["exit_code"] == 2 and "NUL byte at column 21" in bad["error"], bad
for r in (rows[0], rows[2]):
    assert r["targets"][0]["state"] == "cleaned", r
PYEOF
# Two keys (two objects each), nothing for the NUL line, no secret left.
[ "$(enr_objects)" = $((objs + 4)) ] || enr_fail "token objects $(enr_objects), expected $((objs + 4))"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
enr_expect_fail 8 "no journal entry" "$H2A_BIN" resume --config "$ENR_CONFIG" nul-2

enr_expect_fail 2 "--jobs needs --batch" "$H2A_BIN" enroll --config "$ENR_CONFIG" --jobs 4 "$ENR_DIR/n1.json"
enr_expect_fail 2 "--batch and --jobs are enroll options" "$H2A_BIN" resume --config "$ENR_CONFIG" --jobs 2 nul-1
echo PASS
