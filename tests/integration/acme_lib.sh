# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/integration/test_acme_*.sh: enroll_lib.sh plus pebble, and
# an hsm2acm configuration whose issuer "acme" is that pebble.
#
#   acme_setup NAME [EAB]              token, local AWS endpoint, pebble
#   acme_config CHALLENGE_JSON [EXTRA] rewrite $ENR_CONFIG with issuer "acme"
#   acme_orders                        number of orders pebble has made (its log)
#   acme_r53_zone                      a hosted zone example.com in the local endpoint whose TXT
#                                      changes reach challtestsrv; prints its id
#   acme_proxy_start                   tests/lib/ari_proxy.py in front of pebble (renewalInfo,
#                                      H2A_PROXY_429); H2A_PEBBLE_DIR_URL then points at it,
#                                      its logs are $ENR_DIR/ari.log*
. "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"
. "$H2A_SRC_DIR/tests/lib/pebble.sh"

acme_cleanup() {
    h2a_pebble_stop || true
    enr_cleanup
}

acme_setup() {
    enr_setup "$1"
    h2a_pebble_start "$ENR_DIR/pebble" "${2:-}"
    trap acme_cleanup EXIT
}

acme_config() {
    local challenge=$1 extra=${2:-}
    $PY - "$ENR_CONFIG" "$challenge" "$extra" <<'PYEOF'
import json, os, sys
path, ch, extra = sys.argv[1:4]
c = json.load(open(path))
acme = {"type": "acme", "directory_url": os.environ["H2A_PEBBLE_DIR_URL"],
        "account_key": {"label": "acme-account", "type": "ec:P-256"},
        "contact": ["mailto:pki@example.com"], "terms_of_service_agreed": True,
        "challenge": json.loads(ch), "ca_bundle": os.environ["H2A_PEBBLE_CA"],
        "timeout_seconds": 120}
if extra:
    acme.update(json.loads(extra))
c["issuers"]["acme"] = acme
json.dump(c, open(path, "w"), indent=1)
PYEOF
}

# acme_request FILE ID KEY DNS_CSV: an enrollment request through issuer "acme".
acme_request() {
    enr_request "$1" "$2" "$3" "$4" '[{"region":"eu-west-1"}]' '{"issuer":"acme"}'
}

acme_r53_zone() {
    local zone
    zone=$(h2a_localaws_ctl POST /_control/route53 '{"name":"example.com"}' |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    h2a_localaws_ctl POST /_control/route53/forward "{\"challtestsrv\":\"$H2A_CHALL_MGMT\"}" >/dev/null
    echo "$zone"
}

acme_orders() {
    grep -c 'POST /order-plz' "$ENR_DIR/pebble/pebble.log" || true
}

acme_proxy_start() {
    local pport
    pport=$(h2a_free_port)
    # Pebble itself, also when an earlier proxy took its place in H2A_PEBBLE_DIR_URL.
    : "${ACME_PEBBLE_URL:=$H2A_PEBBLE_DIR_URL}"
    $PY "$H2A_SRC_DIR/tests/lib/ari_proxy.py" "$pport" \
        "$(echo "$ACME_PEBBLE_URL" | sed -E "s#https://([^/]+)/.*#\\1#")" \
        "$ENR_DIR/pebble/tls.pem" "$ENR_DIR/pebble/tls.key" "$H2A_PEBBLE_CA" "$ENR_DIR/ari.log" \
        >"$ENR_DIR/proxy.log" 2>&1 &
    ACME_PROXY_PID=$!
    trap 'kill $ACME_PROXY_PID 2>/dev/null; acme_cleanup' EXIT
    H2A_PEBBLE_DIR_URL="https://127.0.0.1:$pport/dir"
    for _ in $(seq 1 50); do
        curl -sf --cacert "$H2A_PEBBLE_CA" "$H2A_PEBBLE_DIR_URL" >/dev/null && break
        sleep 0.1
    done
    export H2A_PEBBLE_DIR_URL
}
