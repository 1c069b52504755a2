# SPDX-License-Identifier: Apache-2.0
# Helpers for the AWS-layer integration tests (sourced; not a test itself).

set -uo pipefail
: "${H2A_BIN:?run under ctest}" "${H2A_SRC_DIR:?run under ctest}"
# shellcheck source=../lib/localaws.sh
source "$H2A_SRC_DIR/tests/lib/localaws.sh"

PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/h2a-aws-it.XXXXXX")
FAILS=0

aws_it_cleanup() {
    h2a_localaws_stop
    rm -rf "$T"
}

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

ok() {
    echo "ok: $*"
}

# jget FILE 'python expression over j' : print the value (json for non-strings)
jget() {
    "$PY" -c 'import json,sys
j=json.load(open(sys.argv[1]))
v=eval(sys.argv[2])
print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2"
}

# run NAME EXPECTED_EXIT CMD...: runs CMD with stdout to $T/NAME.out and
# stderr to $T/NAME.err (appended to $T/all.err for the secret grep).
run() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    cat "$T/$name.err" >>"$T/all.err"
    if [ "$rc" != "$want" ]; then
        fail "$name: exit $rc, wanted $want; stderr: $(head -c 600 "$T/$name.err")"
        return 1
    fi
    return 0
}

# expect_in NAME FILE TEXT
expect_in() {
    if ! grep -qF -- "$3" "$2"; then
        fail "$1: '$3' not in $(basename "$2"): $(head -c 600 "$2")"
        return 1
    fi
    return 0
}

# calls SERVICE OPERATION : number of calls in the endpoint's log
calls() {
    h2a_localaws_ctl GET "/_control/calls?service=$1&operation=$2" >"$T/calls.json" &&
        jget "$T/calls.json" 'len(j["calls"])'
}

reset_calls() {
    h2a_localaws_ctl DELETE /_control/calls >/dev/null
    h2a_localaws_ctl DELETE /_control/faults >/dev/null
}

fault() {
    h2a_localaws_ctl POST /_control/faults "$1" >/dev/null
}

# A self-signed certificate + key of a given openssl keygen spec, valid now.
mkcert() {
    local name=$1 spec=$2 cn=$3
    # shellcheck disable=SC2086
    openssl req -x509 -new -newkey $spec -nodes -keyout "$T/$name.key" -out "$T/$name.pem" \
        -days 30 -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn" \
        -addext "keyUsage=digitalSignature,keyEncipherment" \
        -addext "extendedKeyUsage=serverAuth" 2>/dev/null
}

aws_it_finish() {
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
