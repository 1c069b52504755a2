# SPDX-License-Identifier: Apache-2.0
# Sourced by test_discover.sh after its runs: every `inventory` output format over the
# inventory in $T/state1, filters, and bad scope configurations (exit 2 naming the key).

# --- json filters ---------------------------------------------------------------
jcount() { jget "$1" 'len(j["certificates"])'; }
run all 0 "$H2A_BIN" inventory --config "$T/org.json" --format json
TOTAL=$(jcount "$T/all.out")
run f_acct 0 "$H2A_BIN" inventory --config "$T/org.json" --format json --account 333333333333
[ "$(jget "$T/f_acct.out" 'sorted(set(c["account"] for c in j["certificates"]))')" = '["333333333333"]' ] ||
    fail "--account filter"
run f_reg 0 "$H2A_BIN" inventory --config "$T/org.json" --format json --region us-east-1 --status ISSUED
[ "$(jget "$T/f_reg.out" 'sorted(set((c["region"], c["status"]) for c in j["certificates"]))')" = '[["us-east-1", "ISSUED"]]' ] ||
    fail "--region/--status filter"
run f_man 0 "$H2A_BIN" inventory --config "$T/org.json" --format json --managed
run f_unman 0 "$H2A_BIN" inventory --config "$T/org.json" --format json --unmanaged
[ "$(jget "$T/f_man.out" '[c["tags"].get("hsm2acm:managed") for c in j["certificates"]]')" = '["true"]' ] ||
    fail "--managed: $(cat "$T/f_man.out")"
[ $(( $(jcount "$T/f_man.out") + $(jcount "$T/f_unman.out") )) = "$TOTAL" ] || fail "--managed + --unmanaged"
run f_exp 0 "$H2A_BIN" inventory --config "$T/org.json" --format json --expiring 35
"$PY" - "$T/all.out" "$T/f_exp.out" <<'PY' || fail "--expiring 35"
import datetime, json, sys
now = datetime.datetime.utcnow()
lim = (now + datetime.timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ")
want = sorted(c["arn"] for c in json.load(open(sys.argv[1]))["certificates"] if c["not_after"] < lim)
got = [c["arn"] for c in json.load(open(sys.argv[2]))["certificates"]]
assert got == sorted(got, key=lambda a: [c["not_after"] for c in json.load(open(sys.argv[2]))["certificates"] if c["arn"] == a][0]), "not sorted by not_after"
assert sorted(got) == want and any(c["status"] == "EXPIRED" for c in json.load(open(sys.argv[2]))["certificates"]), (got, want)
PY
ok "inventory json filters"

# --- csv ---------------------------------------------------------------------------
run csv 0 "$H2A_BIN" inventory --config "$T/org.json" --format csv
"$PY" - "$T/csv.out" "$T/all.out" <<'PY' || fail "csv"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
js = {c["arn"]: c for c in json.load(open(sys.argv[2]))["certificates"]}
assert len(rows) == len(js), (len(rows), len(js))
for r in rows:
    c = js[r["arn"]]
    assert r["key_algorithm"] == c["key_algorithm"] and r["not_after"] == c["not_after"], r
    assert r["sans"] == ";".join(c["sans"]) and r["managed"] == str(c["managed"]).lower(), r
    assert json.loads(r["tags"]) == c["tags"], r
PY
ok "inventory csv"

# --- table ---------------------------------------------------------------------------
run table 0 "$H2A_BIN" inventory --config "$T/org.json"
[ "$(($(wc -l <"$T/table.out") - 1))" = "$TOTAL" ] || fail "table rows"
head -1 "$T/table.out" | grep -q '^NOT_AFTER ' || fail "table header"
grep -q ' EXPIRED ' "$T/table.out" && grep -q ' SOON ' "$T/table.out" || fail "table marks"
ok "inventory table"

# --- prometheus ------------------------------------------------------------------------
run prom 0 "$H2A_BIN" inventory --config "$T/org.json" --format prometheus
if command -v promtool >/dev/null; then
    promtool check metrics <"$T/prom.out" >"$T/promtool.out" 2>&1 ||
        fail "promtool check metrics: $(head -c 800 "$T/promtool.out")"
else
    fail "promtool missing (scripts/install-deps.sh installs prometheus)"
fi
"$PY" - "$T/prom.out" "$T/all.out" <<'PY' || fail "prometheus content"
import calendar, json, re, sys, time
js = {c["arn"]: c for c in json.load(open(sys.argv[2]))["certificates"]}
line = re.compile(r'^(\w+)\{((?:\w+="(?:[^"\\]|\\.)*",?)*)\} (\S+)$')
seen = {"hsm2acm_certificate_not_after_seconds": {}, "hsm2acm_certificate_in_use": {},
        "hsm2acm_certificates": {}}
for l in open(sys.argv[1]):
    l = l.rstrip("\n")
    if l.startswith("# HELP ") or l.startswith("# TYPE "):
        assert l.split()[2] in seen, l
        continue
    m = line.match(l)
    assert m, l
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    seen[m.group(1)][tuple(sorted(labels.items()))] = float(m.group(3))
    if m.group(1) != "hsm2acm_certificates":
        c = js[labels["arn"]]
        assert set(labels) == {"arn", "account", "region", "domain", "key_algorithm", "managed"}
        assert labels["key_algorithm"] == c["key_algorithm"] and labels["managed"] == str(c["managed"]).lower()
        if m.group(1) == "hsm2acm_certificate_in_use":
            assert float(m.group(3)) == (1 if c["in_use_by"] else 0)
        else:
            assert int(m.group(3)) == calendar.timegm(time.strptime(c["not_after"], "%Y-%m-%dT%H:%M:%SZ"))
assert len(seen["hsm2acm_certificate_not_after_seconds"]) == len(js)
assert len(seen["hsm2acm_certificate_in_use"]) == len(js)
counts = {}
for c in js.values():
    k = (c["account"], c["region"], c["status"])
    counts[k] = counts.get(k, 0) + 1
got = {(dict(k)["account"], dict(k)["region"], dict(k)["status"]): v
       for k, v in seen["hsm2acm_certificates"].items()}
assert got == counts, (got, counts)
PY
ok "inventory prometheus"

# --- bad scope configuration: exit 2 naming the key ---------------------------------------
badconf() { # badconf NAME SCOPE_JSON EXPECTED_TEXT
    conf "$T/bad_$1.json" "$T/state_bad" "$2"
    run "bad_$1" 2 "$H2A_BIN" discover --config "$T/bad_$1.json" &&
        expect_in "bad_$1" "$T/bad_$1.err" "$3"
    [ ! -e "$T/state_bad/inventory.db" ] || fail "bad_$1: an inventory was made"
}
badconf region '{"type":"account","regions":["eu-west-1","eu-westt-1"]}' "scope.regions[1]"
badconf acct '{"type":"account","accounts":{"include":["12345678901"]},"role_name":"R"}' \
    "scope.accounts.include[0]"
badconf both '{"type":"account","role_name":"R","accounts":{"include":["123456789012"],"exclude":["123456789012"]}}' \
    "scope.accounts.exclude[0]"
badconf key '{"type":"account","regionz":["eu-west-1"]}' "scope.regionz"
badconf type '{"type":"org"}' "scope.type"
badconf status '{"statuses":["ISSUED","GOOD"]}' "scope.statuses[1]"
badconf norole '{"type":"organization","regions":["eu-west-1"]}' "scope.role_name"
ok "bad scope configuration"
