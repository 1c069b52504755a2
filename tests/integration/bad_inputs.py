#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Table-driven bad-input cases (issue 17, "Tests"): run by test_bad_inputs.sh.

Each line of the table is KIND<TAB>EXIT<TAB>NEEDLE<TAB>ARG (ARG is JSON):
  req     patch merged into a valid request; enroll must refuse it
  reqraw  the request file's whole text (a JSON string)
  reqpol  like req, under a strict policy (tests/integration/bad_inputs.policy.json)
  cfg     patch merged (one level deep) into the test configuration; enroll a valid request
  cfgraw  the configuration file's whole text
  pol     policy file text (a JSON string); `hsm2acm policy show --policy FILE`
  uri     a token URI; `hsm2acm token info --token URI` ($LABEL $MODULE: the test token's)
  cli     hsm2acm's argv (a JSON array; $URI $CFG $REQ $BATCH are replaced)
"__DELETE__" as a patch value removes the key. Every case asserts the exit
code and that stderr names the field (NEEDLE); the enroll kinds also assert
that nothing was left behind: token object count, live staging secrets and
ACM certificates as before.
"""
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.request

BIN = os.environ["H2A_BIN"]
D = os.environ["ENR_DIR"]
CFG = os.environ["ENR_CONFIG"]
URI = os.environ["H2A_TEST_TOKEN_URI"]
CTX = ssl.create_default_context(cafile=os.environ["H2A_LOCALAWS_CA"])
ENROLL_KINDS = ("req", "reqraw", "reqpol", "cfg", "cfgraw")


def ctl(path):
    with urllib.request.urlopen(os.environ["H2A_LOCALAWS_URL"] + path, context=CTX) as r:
        return json.load(r)


def left_behind():
    q = "?account=111111111111&region=eu-west-1"
    secrets = [s["name"] for s in ctl("/_control/secrets" + q)["secrets"]
               if not s.get("force_deleted") and not s.get("deleted")]
    certs = len(ctl("/_control/acm" + q)["certificates"])
    out = subprocess.run(["pkcs11-tool", "--module", os.environ["H2A_SOFTHSM_MODULE"],
                          "--token-label", os.environ["H2A_TEST_TOKEN_LABEL"], "--login",
                          "--pin", os.environ["H2A_TEST_USER_PIN"], "--list-objects"],
                         capture_output=True, text=True).stdout
    objs = sum(1 for l in out.splitlines() if re.match(r"[A-Z][a-z]* Key Object", l))
    return (objs, tuple(secrets), certs)


def merge(base, patch, deep):
    out = json.loads(json.dumps(base))
    for k, v in patch.items():
        if v == "__DELETE__":
            out.pop(k, None)
        elif deep and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v, False)
        else:
            out[k] = v
    return out


def base_request(n):
    return {"id": "bad-%d" % n, "subject": "CN=www.example.com", "dns": ["www.example.com"],
            "ip": [], "key": "ec:P-256", "issuer": "demo", "requester": "team-web",
            "targets": [{"region": "eu-west-1"}]}


def write(name, text):
    path = os.path.join(D, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def argv_for(n, kind, arg, cfg_strict):
    if kind in ("req", "reqpol"):
        req = write("case%d.json" % n, json.dumps(merge(base_request(n), arg, False)))
        return [BIN, "enroll", "--config", cfg_strict if kind == "reqpol" else CFG, req]
    if kind == "reqraw":
        return [BIN, "enroll", "--config", CFG, write("case%d.json" % n, arg)]
    ok = write("case%d-req.json" % n, json.dumps(base_request(n)))
    if kind == "cfg":
        cfg = json.load(open(CFG))
        return [BIN, "enroll", "--config", write("case%d-cfg.json" % n,
                                                   json.dumps(merge(cfg, arg, True))), ok]
    if kind == "cfgraw":
        return [BIN, "enroll", "--config", write("case%d-cfg.json" % n, arg), ok]
    if kind == "pol":
        path = write("case%d-pol.json" % n, arg)
        os.chmod(path, 0o600)
        return [BIN, "policy", "show", "--policy", path]
    if kind == "uri":
        uri = arg.replace("$LABEL", os.environ["H2A_TEST_TOKEN_LABEL"])
        return [BIN, "token", "info", "--token",
                uri.replace("$MODULE", os.environ["H2A_SOFTHSM_MODULE"])]
    if kind == "cli":
        subst = {"$URI": URI, "$CFG": CFG, "$REQ": ok,
                 "$BATCH": write("case%d.jsonl" % n, json.dumps(base_request(n)) + "\n")}
        return [BIN] + [subst.get(a, a) for a in arg]
    raise SystemExit("unknown kind %r" % kind)


def main():
    table, cfg_strict = sys.argv[1], sys.argv[2]
    cases, seen = [], set()
    for lineno, line in enumerate(open(table), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, code, needle, arg = line.rstrip("\n").split("\t", 3)
        key = (kind, arg)
        if key in seen:
            raise SystemExit("%s:%d: repeats an earlier case" % (table, lineno))
        seen.add(key)
        cases.append((lineno, kind, int(code), needle, json.loads(arg)))
    before = left_behind()
    fails, per_kind = 0, {}
    for n, (lineno, kind, code, needle, arg) in enumerate(cases):
        r = subprocess.run(argv_for(n, kind, arg, cfg_strict), capture_output=True, text=True,
                           timeout=120)
        problems = []
        if r.returncode != code:
            problems.append("exit %d, expected %d" % (r.returncode, code))
        if needle not in r.stderr:
            problems.append("message lacks %r" % needle)
        if kind in ENROLL_KINDS:
            after = left_behind()
            if after != before:
                problems.append("left behind: %r -> %r" % (before, after))
                before = after
        per_kind[kind] = per_kind.get(kind, 0) + 1
        if problems:
            fails += 1
            print("FAIL line %d (%s): %s; stderr: %s" % (lineno, kind, "; ".join(problems),
                                                        r.stderr.strip()[:400]))
    print("bad-input cases: %d distinct (%s), %d failed" % (
        len(cases), ", ".join("%s %d" % kv for kv in sorted(per_kind.items())), fails))
    if len(cases) < 200:
        print("FAIL: fewer than 200 cases")
        return 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
