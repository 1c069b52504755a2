#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A renewal of a two-target request (eu-west-1 and us-east-1) whose second
# ImportCertificate is refused: exit 5, the line reports each target (one
# delivered, one not, with ACM's message), the delivered ARN serves the new
# certificate as its generation 2 and the other the old one. Running renew
# again with both ARNs named is one renewal, the same id, that delivers the
# rest: one delivery per target, no staging secret left.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup renew_partial

enr_request "$ENR_DIR/m.json" multi ec:P-256 m.example.com '[{"region":"eu-west-1"},{"region":"us-east-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/m.json" >"$ENR_DIR/m.out"
arn0=$(enr_json "$ENR_DIR/m.out" 'd["targets"][0]["certificate_arn"]')
arn1=$(enr_json "$ENR_DIR/m.out" 'd["targets"][1]["certificate_arn"]')
old_serial=$(enr_json "$ENR_DIR/m.out" 'd["targets"][0]["serial"]')
# acm_state ARN REGION: "serial reimport_count" as ACM holds it.
acm_state() {
    enr_acm 111111111111 "$2" | $PY -c 'import json,sys
c=[c for c in json.load(sys.stdin)["certificates"] if c["arn"]==sys.argv[1]][0]
print(c["serial"].replace(":","").lstrip("0").lower(), c["reimport_count"])' "$1"
}
gens() { "$H2A_BIN" status --config "$ENR_CONFIG" "$1" | $PY -c 'import json,sys
print(" ".join("%d:%s" % (g["generation"], g["reason"]) for g in json.load(sys.stdin)["generations"]))'; }

# The first import of the renewal goes through; every later one is refused.
h2a_localaws_ctl POST /_control/faults '{"service":"acm","operation":"ImportCertificate","kind":"error","status":400,"code":"AccessDeniedException","message":"not allowed in this region today","after":1,"count":20}' >/dev/null
set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn0" >"$ENR_DIR/r1.out" 2>"$ENR_DIR/r1.err"
rc=$?
set -e
[ "$rc" = 5 ] || enr_fail "partial renewal: exit $rc, want 5: $(cat "$ENR_DIR/r1.out" "$ENR_DIR/r1.err")"
h2a_localaws_ctl DELETE /_control/faults >/dev/null
read -r done_i todo_i < <($PY - "$ENR_DIR/r1.out" "$arn0" "$arn1" <<'PYEOF'
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert len(ls) == 1, ls
d = ls[0]
assert d["renewal_id"] == "multi.g2" and d["exit_code"] == 5 and "not allowed in this region" in d["error"], d
t = d["targets"]
assert [x["region"] for x in t] == ["eu-west-1", "us-east-1"], t
assert [x["certificate_arn"] for x in t] == sys.argv[2:4], t
done = [i for i, x in enumerate(t) if x["delivered"]]
todo = [i for i, x in enumerate(t) if not x["delivered"]]
assert len(done) == 1 and len(todo) == 1, t
assert t[done[0]]["state"] in ("imported", "cleaned") and t[done[0]]["error"] is None, t
assert "not allowed in this region today" in t[todo[0]]["error"], t
print(done[0], todo[0])
PYEOF
) || enr_fail "the partial renewal's line: $(cat "$ENR_DIR/r1.out")"
arns=("$arn0" "$arn1") regions=(eu-west-1 us-east-1)
read -r new_serial cnt < <(acm_state "${arns[$done_i]}" "${regions[$done_i]}")
[ "$new_serial" != "$old_serial" ] && [ "$cnt" = 1 ] || enr_fail "the delivered target: $new_serial $cnt"
[ "$(acm_state "${arns[$todo_i]}" "${regions[$todo_i]}")" = "$old_serial 0" ] || enr_fail "the refused target changed"
[ "$(gens "${arns[$done_i]}")" = "2:renew 1:enroll" ] || enr_fail "delivered ARN: $(gens "${arns[$done_i]}")"
[ "$(gens "${arns[$todo_i]}")" = "1:enroll" ] || enr_fail "refused ARN: $(gens "${arns[$todo_i]}")"

# Both ARNs named: one for the resumed renewal, one for the request it derives from; one renewal.
"$H2A_BIN" renew --config "$ENR_CONFIG" --arn "$arn0" --arn "$arn1" >"$ENR_DIR/r2.out" ||
    enr_fail "resume of the partial renewal: $(cat "$ENR_DIR/r2.out")"
$PY - "$ENR_DIR/r2.out" "$new_serial" <<'PYEOF' || enr_fail "the resumed renewal: $(cat "$ENR_DIR/r2.out")"
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert len(ls) == 1 and ls[0]["renewal_id"] == "multi.g2", ls
t = ls[0]["result"]["targets"]
assert [x["state"] for x in t] == ["cleaned", "cleaned"], t
assert {x["serial"].lower().lstrip("0") for x in t} == {sys.argv[2]}, t
PYEOF
for i in 0 1; do
    [ "$(acm_state "${arns[$i]}" "${regions[$i]}")" = "$new_serial 1" ] ||
        enr_fail "target $i: $(acm_state "${arns[$i]}" "${regions[$i]}"), want one delivery of $new_serial"
    [ "$(gens "${arns[$i]}")" = "2:renew 1:enroll" ] || enr_fail "ARN $i: $(gens "${arns[$i]}")"
done
# Nothing more to do: a renewal now is the next generation, not this one again.
"$H2A_BIN" renew --config "$ENR_CONFIG" --dry-run --arn "$arn0" | grep -q '"renewal_id":"multi.g3"' || enr_fail "next renewal id"
[ -z "$(enr_secrets)" ] && [ -z "$(enr_secrets 111111111111 us-east-1)" ] || enr_fail "staging secret left"
echo PASS
