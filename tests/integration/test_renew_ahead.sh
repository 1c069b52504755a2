#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Renewals read their ARNs on the worker's reader threads (agent/enroll/ahead.c),
# the next group's while the current one runs. Ten renewals, one worker: groups of
# 8 and 2. With every DescribeCertificate held 1.2 s by the endpoint, more than one
# is in flight at once, a read of the second group is in flight while the first
# group stages its keys, and each ARN is still described once (validate judges the
# answer it was given). The answer is judged as if validate had asked: an ARN
# whose certificate someone replaced with one the renewal may not replace (EKU
# codeSigning would be removed) is refused (exit 3) before the token is touched,
# and the rest renew.
. "$(dirname "$0")/enroll_lib.sh"
. "$(dirname "$0")/renew_lib.sh"
enr_setup renew_ahead

for i in 1 2 3 4 5 6 7 8 9 10; do
    printf '{"id":"r%d","subject":"CN=a%d.example.com","dns":["a%d.example.com"],"ip":[],"key":"ec:P-256","issuer":"demo","requester":"team-web","targets":[{"region":"eu-west-1"}]}\n' "$i" "$i" "$i"
done >"$ENR_DIR/batch.jsonl"
"$H2A_BIN" enroll --config "$ENR_CONFIG" --batch "$ENR_DIR/batch.jsonl" >"$ENR_DIR/batch.out"
args=()
while read -r arn; do args+=(--arn "$arn"); done < <(enr_batch_arns "$ENR_DIR/batch.out")
[ "${#args[@]}" = 20 ] || enr_fail "batch enrollment delivered $((${#args[@]} / 2)) of 10"
bad=${args[5]}

# r3's ARN now holds a certificate imported outside hsm2acm with codeSigning added.
enr_import_openssl outside ec:prime256v1 "$(renew_exts_plus_codesigning "$bad")" a3.example.com "$bad" >/dev/null

objs=$(enr_objects)
h2a_localaws_ctl DELETE /_control/calls >/dev/null
h2a_localaws_ctl POST /_control/faults \
    '{"service":"acm","operation":"DescribeCertificate","kind":"delay","delay_ms":1200,"count":10}' >/dev/null
set +e
"$H2A_BIN" renew --config "$ENR_CONFIG" --jobs 1 "${args[@]}" >"$ENR_DIR/renew.out" 2>"$ENR_DIR/renew.err"
rc=$?
set -e
[ "$rc" = 3 ] || enr_fail "renew: exit $rc, want 3 (one refusal): $(cat "$ENR_DIR/renew.out" "$ENR_DIR/renew.err")"
h2a_localaws_ctl GET /_control/calls >"$ENR_DIR/calls.json"
$PY - "$ENR_DIR/calls.json" "$ENR_DIR/renew.out" "$bad" <<'PYEOF' || enr_fail "renewal group"
import json, sys
calls = [c for c in json.load(open(sys.argv[1]))["calls"]
         if (c.get("user_agent") or "").startswith("hsm2acm/")]
desc = [c for c in calls if c["operation"] == "DescribeCertificate"]
assert len(desc) == 10, "%d DescribeCertificate calls, want one per ARN" % len(desc)
most = max(sum(1 for d in desc if d["time"] <= c["time"] < d["end"]) for c in desc)
assert most >= 2, "the describes ran one after another"
staged = [c["time"] for c in calls if c["operation"] == "CreateSecret"]
assert len(staged) == 9, staged
assert any(d["time"] <= t < d["end"] for d in desc for t in staged), \
    "no read was in flight while keys were staged: the next group was not read ahead"
lines = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == 10, lines
for d in lines:
    if d["arn"] == sys.argv[3]:
        assert d["exit_code"] == 3 and "codeSigning" in d["error"].replace("CODE_SIGNING", "codeSigning"), d
    else:
        assert d["result"]["targets"][0]["state"] == "cleaned", d
print("  ok: %d describes, up to %d at once, the second group's during the first's staging" % (len(desc), most))
PYEOF
[ "$(enr_objects)" = $((objs + 18)) ] || enr_fail "token holds $(enr_objects) objects, want $((objs + 18)) (nine new key pairs)"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left: $(enr_secrets)"
echo PASS
