#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# renew --jobs N: renewals spread over N worker processes, one result line
# per renewal in the order asked, each delivered once into its ARN.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew_jobs

# A command issuer that notes which hsm2acm process asked (its parent).
renew_cmd_issuer "echo \"\$PPID\" >>\"$ENR_DIR/askers\""
for i in 1 2 3 4 5; do
    printf '{"id":"j%d","subject":"CN=j%d.example.com","dns":["j%d.example.com"],"ip":[],"key":"ec:P-256","issuer":"cmd","requester":"team-web","targets":[{"region":"eu-west-1"}]}\n' "$i" "$i" "$i"
done >"$ENR_DIR/batch.jsonl"
# Two batch workers open the journal of a new state directory at once: the
# race that once failed this test in 0.57 s with no output (one worker's
# "set WAL mode: database is locked" went to batch.out and set -e ended the
# script; unit_test_journal_states covers the journal side).
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch.jsonl" --jobs 2 >"$ENR_DIR/batch.out" ||
    enr_fail "enroll --batch --jobs 2: exit $?: $(cat "$ENR_DIR/batch.out")"
mapfile -t arns < <(enr_batch_arns "$ENR_DIR/batch.out")
[ "${#arns[@]}" = 5 ] || enr_fail "batch made ${#arns[@]} certificates"
# Asked in reverse order: the lines follow it.
args=()
for ((i = 4; i >= 0; i--)); do args+=(--arn "${arns[$i]}"); done
for round in 2 3; do
    rm -f "$ENR_DIR/askers"
    "$H2A_BIN" renew --config "$ENR_CONFIG" --jobs $((round)) "${args[@]}" >"$ENR_DIR/r$round.out" ||
        enr_fail "renew --jobs $round: $(cat "$ENR_DIR/r$round.out")"
    $PY - "$ENR_DIR/r$round.out" "$round" <<'PYEOF' || enr_fail "renew --jobs $round lines"
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
g = int(sys.argv[2])
assert [d["request_id"] for d in ls] == (["j5", "j4", "j3", "j2", "j1"] if g == 2 else
                                          ["j5.g2", "j4.g2", "j3.g2", "j2.g2", "j1.g2"]), ls
for d in ls:
    assert d["generation"] == g - 1 and d["result"]["targets"][0]["state"] == "cleaned", d
    assert d["result"]["targets"][0]["certificate_arn"] == d["arn"], d
PYEOF
    # --jobs N: N worker processes asked the issuer.
    [ "$(sort -u "$ENR_DIR/askers" | wc -l)" = "$round" ] ||
        enr_fail "renew --jobs $round: $(sort -u "$ENR_DIR/askers" | wc -l) processes issued"
done
enr_acm | $PY -c 'import json,sys
cs=json.load(sys.stdin)["certificates"]
assert len(cs) == 5 and all(c["reimport_count"] == 2 for c in cs), [(c["arn"], c["reimport_count"]) for c in cs]' ||
    enr_fail "each certificate reimported exactly twice"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
enr_expect_fail 2 "--jobs: '0' is not 1..64" "$H2A_BIN" renew --config "$ENR_CONFIG" --jobs 0
echo PASS
