#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `hsm2acm policy show`: the default and a sample file against their
# snapshots (a change to the built-in default is a failing diff here; see
# docs/policy.md for how to update), and exit codes for bad files and usage.
set -uo pipefail
: "${H2A_BIN:?run under ctest}" "${H2A_SRC_DIR:?run under ctest}" "${H2A_BUILD_DIR:?run under ctest}"

snap="$H2A_SRC_DIR/tests/policy_snapshot"
work="$H2A_BUILD_DIR/policy-snapshot-test"
rm -rf "$work"
mkdir -p "$work"
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# run NAME ARGS...: runs hsm2acm, keeps stdout/stderr/exit code in $work/NAME.*
run() {
    local name=$1
    shift
    "$H2A_BIN" "$@" >"$work/$name.out" 2>"$work/$name.err"
    echo $? >"$work/$name.rc"
}

expect_rc() {
    local name=$1 want=$2 got
    got=$(cat "$work/$name.rc")
    [ "$got" = "$want" ] || fail "$name: exit code $got, wanted $want (stderr: $(cat "$work/$name.err"))"
}

expect_err() {
    local name=$1 needle=$2
    grep -qF -- "$needle" "$work/$name.err" || fail "$name: stderr lacks '$needle': $(cat "$work/$name.err")"
}

expect_no_out() {
    local name=$1
    [ ! -s "$work/$name.out" ] || fail "$name: printed to stdout on failure: $(head -c 200 "$work/$name.out")"
}

snapshot() {
    local name=$1 want=$2
    if ! diff -u "$want" "$work/$name.out" >"$work/$name.diff"; then
        fail "$name: output differs from $want. If the change is intended, update the snapshot:
    $H2A_BIN policy show > tests/policy_snapshot/default.txt
    (cd tests/policy_snapshot && $H2A_BIN policy show --policy sample.json > sample.txt)
and commit it with the change that explains why.
$(cat "$work/$name.diff")"
    fi
}

# --- The built-in default. ---
run default policy show
expect_rc default 0
[ ! -s "$work/default.err" ] || fail "default: wrote to stderr: $(cat "$work/default.err")"
snapshot default "$snap/default.txt"
# Deterministic: the same output twice.
run default2 policy show
cmp -s "$work/default.out" "$work/default2.out" || fail "default: output not stable between runs"
# One fact per line, sorted after the header line.
tail -n +2 "$work/default.out" | LC_ALL=C sort -c 2>/dev/null || fail "default: lines not sorted"
grep -qE '^[a-z_.]+ = .+$' "$work/default.out" || fail "default: not 'key = value' lines"
if tail -n +2 "$work/default.out" | grep -vqE '^[A-Za-z0-9_.@:/+-]+ = .+$'; then
    fail "default: a line is not 'key = value'"
fi

# --- A sample policy file (relative path so the source line is stable). ---
(cd "$snap" && "$H2A_BIN" policy show --policy sample.json >"$work/sample.out" 2>"$work/sample.err")
echo $? >"$work/sample.rc"
expect_rc sample 0
snapshot sample "$snap/sample.txt"
# The sample really differs from the default where it says so.
grep -qx 'min_rsa_bits = 3072' "$work/sample.out" || fail "sample: min_rsa_bits not shown as 3072"
grep -qx 'authorization.team-web.accounts = 123456789012' "$work/sample.out" ||
    fail "sample: authorization not shown"

# --- --config: the policy `enroll --config` would use (path relative to the config). ---
mkdir -p "$work/conf"
cp "$snap/sample.json" "$work/conf/pol.json"
cat >"$work/conf/config.json" <<EOF
{"token": "pkcs11:token=x?module-path=$H2A_SOFTHSM_MODULE&pin-source=file:$work/conf/pin",
 "wrap_key": "hsm2acm-wrap", "state_dir": "$work/conf/state", "policy": "pol.json",
 "issuers": {"ops-ca": {"type": "command", "argv": ["/bin/cat"], "timeout_seconds": 60}},
 "aws": {"region": "eu-west-1"},
 "staging": {"prefix": "hsm2acm/staging/", "kms_key_id": null, "ttl_seconds": 3600}}
EOF
run config policy show --config "$work/conf/config.json"
expect_rc config 0
head -n 1 "$work/config.out" | grep -qF "(source: $work/conf/pol.json)" ||
    fail "config: source line is not the config's policy: $(head -n 1 "$work/config.out")"
diff <(tail -n +2 "$snap/sample.txt") <(tail -n +2 "$work/config.out") >/dev/null ||
    fail "config: policy from --config differs from the sample snapshot"
sed 's/ "policy": "pol.json",//' "$work/conf/config.json" >"$work/conf/nopolicy.json"
run config_default policy show --config "$work/conf/nopolicy.json"
expect_rc config_default 0
diff <(tail -n +2 "$snap/default.txt") <(tail -n +2 "$work/config_default.out") >/dev/null ||
    fail "config_default: a config without policy should show the built-in default"
printf '{"san": {"allow_ip": "no"}}' >"$work/conf/pol.json"
run config_bad policy show --config "$work/conf/config.json"
expect_rc config_bad 2
expect_err config_bad 'san.allow_ip: expected true or false'
expect_no_out config_bad
run both policy show --config "$work/conf/config.json" --policy "$snap/sample.json"
expect_rc both 2
expect_err both 'give --policy or --config, not both'

# --- Bad policy files: exit 2, the key named, nothing on stdout. ---
bad() {
    local name=$1 json=$2 needle=$3
    printf '%s' "$json" >"$work/$name.json"
    run "$name" policy show --policy "$work/$name.json"
    expect_rc "$name" 2
    expect_err "$name" "$needle"
    expect_err "$name" "$work/$name.json"
    expect_no_out "$name"
}
bad not_json '{"version": 1,' 'not valid JSON at line 1'
bad unknown_key '{"san": {"allow_wildcard": true}}' "san: unknown key 'allow_wildcard'"
bad unknown_top '{"keyalgorithms": ["RSA_2048"]}' "unknown key 'keyalgorithms'"
bad wrong_type '{"min_rsa_bits": "3072"}' 'min_rsa_bits: expected an integer, got a string'
bad contradiction '{"key_algorithms": ["RSA_2048"], "min_rsa_bits": 4096}' \
    'min_rsa_bits: 4096 contradicts key_algorithms, which allows RSA_2048'
bad rsa1024 '{"key_algorithms": ["RSA_1024"]}' 'key_algorithms[0]: RSA_1024 is refused'
bad empty_algs '{"key_algorithms": []}' 'key_algorithms: the list is empty'
bad bad_fraction '{"renewal": {"lifetime_fraction": 1.5}}' 'renewal.lifetime_fraction'
bad bad_renewal_key '{"renewal": {"before_expiry": 3}}' "renewal: unknown key 'before_expiry'"
bad bad_jitter '{"renewal": {"jitter_percent": 80}}' 'renewal.jitter_percent'
bad bad_retain '{"keys": {"retain_generations": 0}}' 'keys.retain_generations'
bad bad_keys_type '{"keys": []}' 'keys: expected an object'
bad bad_before '{"renewal": {"before_expiry_days": "14"}}' 'renewal.before_expiry_days'
bad bad_suffix '{"san": {"dns_suffixes": ["exa_mple.com"]}}' 'san.dns_suffixes[0]'
bad bad_account '{"authorization": {"t": {"dns_suffixes": ["*"], "accounts": ["1234"]}}}' \
    "authorization.t.accounts[0]: '1234' is not an AWS account id"
bad dup_key '{"san": {"allow_ip": false, "allow_ip": true}}' 'key "allow_ip" appears twice'
bad on_incompat '{"on_incompatible": "ignore"}' "on_incompatible: 'ignore' is not one of"

# World-writable: anyone could weaken it.
printf '{}' >"$work/ww.json"
chmod 0666 "$work/ww.json"
run ww policy show --policy "$work/ww.json"
expect_rc ww 2
expect_err ww 'is writable by every user'
expect_no_out ww

# Over 1 MiB.
head -c 1100000 /dev/zero | tr '\0' ' ' >"$work/big.json"
run big policy show --policy "$work/big.json"
expect_rc big 2
expect_err big 'larger than the limit'
expect_no_out big

# Missing file.
run missing policy show --policy "$work/does-not-exist.json"
expect_rc missing 2
expect_err missing 'cannot open'
expect_no_out missing

# --- Usage. ---
run help policy --help
expect_rc help 0
grep -qF 'hsm2acm policy show [--policy FILE | --config FILE]' "$work/help.out" || fail "help: no usage line"
grep -qF '3  refused by policy' "$work/help.out" || fail "help: no exit code table"
run show_help policy show --help
expect_rc show_help 0
grep -qF 'Exit codes' "$work/show_help.out" || fail "show --help: no exit code table"
run noargs policy
expect_rc noargs 2
run badsub policy frob
expect_rc badsub 2
expect_err badsub "unknown subcommand 'frob'"
run badopt policy show --frob
expect_rc badopt 2
expect_err badopt "unknown option '--frob'"
run noval policy show --policy
expect_rc noval 2
expect_err noval '--policy needs a value'
run extra policy show extra
expect_rc extra 2
expect_err extra "unexpected argument 'extra'"
run twice policy show --policy a.json --policy b.json
expect_rc twice 2
expect_err twice '--policy given twice'

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "policy snapshot: all checks passed"
