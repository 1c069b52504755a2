# SPDX-License-Identifier: Apache-2.0
# Sourced by tests: runs the local AWS endpoint (tests/localaws/server.py).
#
#   h2a_localaws_start [STATE_DIR]   start it, wait until it listens, export the AWS_* env
#   h2a_localaws_stop                stop it (safe to call twice; use in an EXIT trap); a state
#                                    dir that start created itself is removed unless
#                                    H2A_KEEP_LOCALAWS is set
#   h2a_localaws_restart             stop and start again: same state dir, same ports
#   h2a_localaws_ctl METHOD PATH [JSON]   call the control interface, print the JSON reply
#   h2a_localaws_use_account ACCOUNT       switch AWS_ACCESS_KEY_ID/SECRET to a test account
#
# After start: AWS_ENDPOINT_URL, AWS_CA_BUNDLE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION, AWS_DEFAULT_REGION, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
# AWS_EC2_METADATA_DISABLED, AWS_PAGER, H2A_LOCALAWS_URL, H2A_LOCALAWS_HTTP_URL,
# H2A_LOCALAWS_PID, H2A_LOCALAWS_STATE_DIR, H2A_LOCALAWS_CA.

H2A_LOCALAWS_PY=/usr/bin/python3
H2A_LOCALAWS_SERVER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../localaws" && pwd)/server.py"

h2a_localaws_use_account() {
    case "$1" in
        111111111111) AWS_ACCESS_KEY_ID=AKIAH2ALOCAL11111111
                      AWS_SECRET_ACCESS_KEY=h2aLocalSecret11111111111111111111111111 ;;
        222222222222) AWS_ACCESS_KEY_ID=AKIAH2ALOCAL22222222
                      AWS_SECRET_ACCESS_KEY=h2aLocalSecret22222222222222222222222222 ;;
        333333333333) AWS_ACCESS_KEY_ID=AKIAH2ALOCAL33333333
                      AWS_SECRET_ACCESS_KEY=h2aLocalSecret33333333333333333333333333 ;;
        *) echo "h2a_localaws_use_account: unknown test account '$1'" >&2; return 2 ;;
    esac
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
}

h2a_localaws_start() {
    local dir=${1:-}
    H2A_LOCALAWS_OWN_DIR=
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/h2a-localaws.XXXXXX") || return 1
        H2A_LOCALAWS_OWN_DIR=$dir
    fi
    mkdir -p "$dir" || return 1
    local ready="$dir/ready.json" log="$dir/server.log"
    rm -f "$ready"
    # The server exits when this shell is gone (a killed test leaves no orphan);
    # call start from the test's own shell, not from $(...) or a pipeline, or set
    # H2A_LOCALAWS_DETACH=1.
    local tie=--exit-with-parent
    [ -n "${H2A_LOCALAWS_DETACH:-}" ] && tie=
    "$H2A_LOCALAWS_PY" "$H2A_LOCALAWS_SERVER" --state-dir "$dir" \
        --port "${H2A_LOCALAWS_PORT:-0}" --http-port "${H2A_LOCALAWS_HTTP_PORT:-0}" \
        --ready-file "$ready" $tie >>"$log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 200); do
        [ -s "$ready" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "h2a_localaws_start: server exited; log follows" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.05
    done
    if [ ! -s "$ready" ]; then
        echo "h2a_localaws_start: no ready file after 10 s; log follows" >&2
        cat "$log" >&2
        kill "$pid" 2>/dev/null
        return 1
    fi
    local https_port http_port ca
    read -r https_port http_port ca < <("$H2A_LOCALAWS_PY" -c \
        'import json,sys; r=json.load(open(sys.argv[1])); print(r["https_port"], r["http_port"], r["ca_bundle"])' \
        "$ready")
    # Nothing from the real environment may leak into a test.
    local v
    for v in $(compgen -v AWS_); do
        unset "$v"
    done
    export H2A_LOCALAWS_PID=$pid
    export H2A_LOCALAWS_STATE_DIR=$dir
    export H2A_LOCALAWS_URL="https://127.0.0.1:$https_port"
    export H2A_LOCALAWS_HTTP_URL="http://127.0.0.1:$http_port"
    export H2A_LOCALAWS_CA=$ca
    export AWS_ENDPOINT_URL=$H2A_LOCALAWS_URL
    export AWS_CA_BUNDLE=$ca
    export AWS_REGION=eu-west-1
    export AWS_DEFAULT_REGION=eu-west-1
    # Empty config files, so ~/.aws is never read.
    : >"$dir/aws-config"
    : >"$dir/aws-credentials"
    export AWS_CONFIG_FILE="$dir/aws-config"
    export AWS_SHARED_CREDENTIALS_FILE="$dir/aws-credentials"
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_PAGER=""
    h2a_localaws_use_account 111111111111
}

h2a_localaws_stop() {
    local pid=${H2A_LOCALAWS_PID:-}
    [ -n "$pid" ] || return 0
    # Every command may fail harmlessly (the server may be gone already); under
    # `set -e` in an EXIT trap an unguarded failure would change the exit status.
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset H2A_LOCALAWS_PID
    # A directory start made itself goes too, unless H2A_KEEP_LOCALAWS is set.
    if [ -n "${H2A_LOCALAWS_OWN_DIR:-}" ] && [ -z "${H2A_KEEP_LOCALAWS:-}" ]; then
        rm -rf "$H2A_LOCALAWS_OWN_DIR"
    fi
    H2A_LOCALAWS_OWN_DIR=
    return 0
}

# h2a_localaws_restart: stop and start again on the same state dir and the same ports
# (the state persists; endpoint URLs in configs stay valid).  The AWS_* variables are
# exported afresh for account 111111111111.
h2a_localaws_restart() {
    local dir=${H2A_LOCALAWS_STATE_DIR:?h2a_localaws_restart: not started}
    local own=${H2A_LOCALAWS_OWN_DIR:-}
    local port=${H2A_LOCALAWS_URL##*:} http_port=${H2A_LOCALAWS_HTTP_URL##*:}
    H2A_LOCALAWS_OWN_DIR=  # keep the directory across the restart
    h2a_localaws_stop
    H2A_LOCALAWS_PORT=$port H2A_LOCALAWS_HTTP_PORT=$http_port h2a_localaws_start "$dir" || return 1
    H2A_LOCALAWS_OWN_DIR=$own
}

# h2a_localaws_ctl METHOD PATH [JSON]: e.g.
#   h2a_localaws_ctl POST /_control/faults '{"service":"acm","operation":"*","kind":"throttle","count":2}'
# Prints the reply body; fails (status 22) on an HTTP error.
h2a_localaws_ctl() {
    local method=$1 path=$2 data=${3:-}
    local args=(-sS --fail-with-body --cacert "$H2A_LOCALAWS_CA" -X "$method")
    if [ -n "$data" ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$data")
    fi
    curl "${args[@]}" "$H2A_LOCALAWS_URL$path"
}
