#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Portability suite: run.sh TOKEN (tpm2 | opencryptoki | nss). Sets the token
# up from Debian packages (tokens_lib.sh), runs the same checks on it as on
# every token, compares each outcome with tests/tokens/expected.tsv (a
# difference in either direction fails), checks that every refusal left the
# token's object count unchanged, and tears down every process it started.
set -euo pipefail
: "${H2A_SRC_DIR:?run under ctest}" "${H2A_BIN:?}" "${H2A_BUILD_DIR:?}"
TOKEN=$1
HERE="$H2A_SRC_DIR/tests/tokens"
. "$HERE/tokens_lib.sh"
. "$H2A_SRC_DIR/tests/integration/enroll_lib.sh"
DIR="$H2A_BUILD_DIR/testtokens/ptok-$TOKEN"
FAILS=0

pt_fail() {
    echo "FAIL[$TOKEN]: $*" >&2
    FAILS=$((FAILS + 1))
}

pt_cleanup() {
    h2a_localaws_stop || true
    h2a_ptok_teardown
}
trap pt_cleanup EXIT

# The outcome the table expects for CHECK on this token.
pt_expected() {
    awk -F'\t' -v c="$1" -v t="$TOKEN" '
        NR == 1 || /^#/ { if ($0 ~ /^# check\t/) { for (i = 2; i <= NF; i++) col[$i] = i } next }
        $1 == c { print $(col[t]); found = 1 }
        END { if (!found) print "missing" }' "$HERE/expected.tsv"
}

pt_objects() {
    "$H2A_BIN" token info --token "$H2A_PTOK_URI" 2>/dev/null |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["object_count"])'
}

# pt_check CHECK NEEDLE CMD...: run CMD; its outcome must be the table's. A
# refusal must leave the object count unchanged and, when NEEDLE is given,
# say it on stderr.
pt_check() {
    local check=$1 needle=$2 want got rc before after
    shift 2
    want=$(pt_expected "$check")
    before=$(pt_objects)
    set +e
    "$@" >"$DIR/out" 2>"$DIR/err"
    rc=$?
    set -e
    got=ok
    [ "$rc" = 0 ] || got="exit:$rc"
    if [ "$got" != "$want" ]; then
        pt_fail "$check: $got, the table says $want"
        sed 's/^/    /' "$DIR/err" | head -5 >&2
        return 0
    fi
    if [ "$rc" != 0 ]; then
        local fails=$FAILS
        after=$(pt_objects)
        [ "$before" = "$after" ] || pt_fail "$check: refused, but object count $before -> $after"
        if [ -n "$needle" ] && ! grep -qF -- "$needle" "$DIR/err"; then
            pt_fail "$check: message lacks '$needle'"
            sed 's/^/    /' "$DIR/err" | head -5 >&2
        fi
        [ "$fails" = "$FAILS" ] || return 0
    fi
    echo "ok[$TOKEN]: $check -> $got $( [ "$rc" = 0 ] || head -c 140 "$DIR/err" | tr '\n' ' ')"
}

pt_csr() { # TYPE
    "$H2A_BIN" csr --token "$H2A_PTOK_URI" --key "k-${1/:/-}" --subject "CN=www.example.com" \
        --dns www.example.com --out "$DIR/csr.pem" &&
        openssl req -verify -noout -in "$DIR/csr.pem" 2>&1 | grep -q "verify OK"
}

# token info --probe: exit 0, object count unchanged, and per key type a
# summary ("gen+deliv+sign+wrap", what worked; "-" for nothing) that must
# equal the table's probe:TYPE rows, as must probe:wrapping_key.
pt_probe() {
    local before after
    before=$(pt_objects)
    "$H2A_BIN" token info --token "$H2A_PTOK_URI" --probe >"$DIR/probe.json" 2>"$DIR/probe.err" ||
        { pt_fail "token info --probe exited $?"; sed 's/^/    /' "$DIR/probe.err" | head -5 >&2; return 0; }
    after=$(pt_objects)
    [ "$before" = "$after" ] || pt_fail "probe: object count $before -> $after"
    $PY - "$DIR/probe.json" >"$DIR/probe.txt" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))["probe"]
for t in p["key_types"]:
    rsa = t["type"].startswith("rsa")
    parts = [n for n, ok in (("gen", t["generate"]), ("deliv", t["generate_delivery"]),
             ("sign", (t["sign_pkcs1"] and t["sign_pss"]) if rsa else t["sign_ecdsa"]),
             ("wrap", t["wrap"] and t["unwrap"])) if ok]
    print("probe:%s\t%s" % (t["type"], "+".join(parts) or "-"))
wk = [n for n, ok in (("make", p["wrapping_key"]), ("identify", p["identify_wrapping_key"])) if ok]
print("probe:wrapping_key\t%s" % ("+".join(wk) or "-"))
PYEOF
    local check got want
    while IFS=$'\t' read -r check got; do
        want=$(pt_expected "$check")
        if [ "$got" = "$want" ]; then
            echo "ok[$TOKEN]: $check -> $got"
        else
            pt_fail "$check: $got, the table says $want"
        fi
    done <"$DIR/probe.txt"
}

pt_uri_without() { # drop the path part (token=...) from the URI
    printf 'pkcs11:?%s' "${H2A_PTOK_URI#*\?}"
}

pt_enroll() { # TYPE
    local id="pt-${1//:/-}"
    enr_request "$DIR/$id.json" "$id" "$1" "www.example.com" '[{"region":"eu-west-1"}]'
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$DIR/$id.json" >"$DIR/$id.out" || return $?
    enr_check_acm_key "$(enr_json "$DIR/$id.out" 'd["targets"][0]["certificate_arn"]')" \
        "$(enr_json "$DIR/$id.out" 'd["targets"][0]["key_id"]')" >/dev/null
}

# enroll_lib's check, with the key looked up through hsm2acm on this token.
enr_token_has_key() {
    "$H2A_BIN" csr --token "$H2A_PTOK_URI" --key-id "$1" --subject CN=x >/dev/null 2>&1
}

h2a_ptok_setup "$TOKEN" "$DIR" >"$DIR.setup.log" 2>&1 || {
    cat "$DIR.setup.log" >&2
    pt_fail "setting up $TOKEN"
    exit 1
}
echo "== $TOKEN: $H2A_PTOK_URI"
ENR_DIR=$DIR
pt_check open "" "$H2A_BIN" token info --token "$H2A_PTOK_URI"
# The quirks row that applies: the token is recognised as what it is.
want_row=$(case $TOKEN in tpm2) echo tpm2-pkcs11 ;; nss) echo "NSS softokn" ;; *) echo openCryptoki ;; esac)
[ "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["quirks"])' "$DIR/out")" = "$want_row" ] ||
    pt_fail "token info: quirks row is not '$want_row': $(cat "$DIR/out" | head -c 300)"
pt_check bad_label "'$H2A_PTOK_LABEL' (slot" "$H2A_BIN" token info \
    --token "pkcs11:token=no-such-token?${H2A_PTOK_URI#*\?}"
printf 'wrong-pin' >"$DIR/badpin"
chmod 600 "$DIR/badpin"
pt_check wrong_pin "C_Login" "$H2A_BIN" token info --token "${H2A_PTOK_URI%pin-source=*}pin-source=file:$DIR/badpin"
pt_check missing_slot "no token matches" "$H2A_BIN" token info \
    --token "pkcs11:slot-id=4242?${H2A_PTOK_URI#*\?}"
pt_check no_token_attr "tokens match" "$H2A_BIN" token info --token "$(pt_uri_without)"

pt_probe
for kt in rsa:2048 rsa:3072 rsa:4096 ec:P-256 ec:P-384 ec:P-521; do
    pt_check "keygen:$kt" "" "$H2A_BIN" keygen --token "$H2A_PTOK_URI" --type "$kt" \
        --label "k-${kt/:/-}"
done
for kt in rsa:2048 rsa:3072 rsa:4096 ec:P-256 ec:P-384 ec:P-521; do
    pt_check "csr:$kt" "" pt_csr "$kt"
done
pt_check delivery_key "cannot export keys under wrap" "$H2A_BIN" keygen --token "$H2A_PTOK_URI" \
    --type rsa:2048 --label delivery --exportable

pt_check wrapkey "" "$H2A_BIN" wrapkey create --token "$H2A_PTOK_URI" --label hsm2acm-wrap
mkdir -p "$DIR/aws"
h2a_localaws_start "$DIR/aws" >/dev/null
enr_write_config "$H2A_PTOK_URI"
for kt in rsa:2048 ec:P-256; do
    pt_check "enroll:$kt" "cannot export keys under wrap" pt_enroll "$kt"
done
[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed on $TOKEN" >&2; exit 1; }
echo "all checks on $TOKEN match tests/tokens/expected.tsv"
