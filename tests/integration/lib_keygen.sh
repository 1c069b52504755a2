# SPDX-License-Identifier: Apache-2.0
# Sourced by the keygen/csr/token/interop tests (not a test itself).
# Needs tests/lib/token.sh sourced and h2a_token_create run first.

: "${H2A_BIN:?run under ctest}"
KG_FAILS=0

kg_fail() {
    echo "FAIL: $*" >&2
    KG_FAILS=$((KG_FAILS + 1))
}

# Objects in the test token, counted by pkcs11-tool (independent of hsm2acm).
kg_count() {
    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" \
        --login --pin "$H2A_TEST_USER_PIN" --list-objects 2>/dev/null | grep -c 'Object;' || true
}

# kg_expect CODE NEEDLE CMD...: CMD must exit CODE, print NEEDLE on stderr,
# print nothing on stdout, and leave the token's object count unchanged.
kg_expect() {
    local want=$1 needle=$2 before after rc
    shift 2
    before=$(kg_count)
    set +e
    "$@" >"$KG_TMP/out" 2>"$KG_TMP/err"
    rc=$?
    set -e
    after=$(kg_count)
    if [ "$rc" != "$want" ]; then
        kg_fail "exit $rc (wanted $want): $*"; sed 's/^/    /' "$KG_TMP/err" >&2
    elif ! grep -qF -- "$needle" "$KG_TMP/err"; then
        kg_fail "stderr lacks '$needle': $*"; sed 's/^/    /' "$KG_TMP/err" >&2
    elif [ -s "$KG_TMP/out" ]; then
        kg_fail "stdout not empty on failure: $*"
    elif [ "$before" != "$after" ]; then
        kg_fail "object count $before -> $after: $*"
    else
        echo "ok: exit $rc: $(head -c 160 "$KG_TMP/err" | tr '\n' ' ')"
    fi
}

# kg_json FILE FIELD: one string field of a JSON object.
kg_json() {
    /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end="")' "$1" "$2"
}

kg_done() {
    if [ "$KG_FAILS" -ne 0 ]; then
        echo "$KG_FAILS check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}

KG_TMP=$(mktemp -d)
trap 'rm -rf "$KG_TMP"' EXIT
