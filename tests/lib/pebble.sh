# SPDX-License-Identifier: Apache-2.0
# Sourced by ACME tests: Debian's pebble and pebble-challtestsrv on loopback.
#
#   h2a_pebble_start DIR [EAB]   start both (EAB non-empty: externalAccountBindingRequired with
#                                kid-1 = $H2A_PEBBLE_EAB_KEY); exports H2A_PEBBLE_DIR_URL,
#                                H2A_PEBBLE_CA (the TLS CA to pass as ca_bundle),
#                                H2A_PEBBLE_HTTP_PORT (where pebble validates http-01),
#                                H2A_PEBBLE_MGMT (https://...:port of pebble's management API),
#                                H2A_CHALL_MGMT (http://...:port of challtestsrv's API)
#   h2a_pebble_stop              stop both (safe twice; use in an EXIT trap)
#
# Environment passed to pebble as is: PEBBLE_WFE_NONCEREJECT (default 0 here
# unless set), PEBBLE_AUTHZREUSE. PEBBLE_VA_NOSLEEP is always 1.

H2A_PEBBLE_EAB_KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W

h2a_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

h2a_pebble_start() {
    local d=$1 eab=${2:-}
    mkdir -p "$d"
    # The package ships no TLS certificate: make a CA and a loopback server certificate.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=hsm2acm pebble test TLS CA" -keyout "$d/tlsca.key" -out "$d/tlsca.pem" \
        -addext basicConstraints=critical,CA:TRUE 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$d/tls.key" -out "$d/tls.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/tls.ext"
    openssl x509 -req -in "$d/tls.csr" -CA "$d/tlsca.pem" -CAkey "$d/tlsca.key" \
        -CAcreateserial -days 2 -extfile "$d/tls.ext" -out "$d/tls.pem" 2>/dev/null
    local acme mgmt dns cmgmt
    acme=$(h2a_free_port); mgmt=$(h2a_free_port); dns=$(h2a_free_port); cmgmt=$(h2a_free_port)
    H2A_PEBBLE_HTTP_PORT=$(h2a_free_port)
    local eabjson='"externalAccountBindingRequired": false'
    [ -n "$eab" ] && eabjson='"externalAccountBindingRequired": true, "externalAccountMACKeys": {"kid-1": "'$H2A_PEBBLE_EAB_KEY'"}'
    cat >"$d/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$acme", "managementListenAddress": "127.0.0.1:$mgmt",
 "certificate": "$d/tls.pem", "privateKey": "$d/tls.key",
 "httpPort": $H2A_PEBBLE_HTTP_PORT, "tlsPort": $(h2a_free_port),
 "ocspResponderURL": "", $eabjson}}
JSON
    pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" \
        -management "127.0.0.1:$cmgmt" -http01 "" -https01 "" -tlsalpn01 "" \
        >"$d/challtestsrv.log" 2>&1 &
    H2A_CHALL_PID=$!
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=${PEBBLE_WFE_NONCEREJECT:-0} \
        pebble -config "$d/pebble.json" -dnsserver "127.0.0.1:$dns" -strict \
        >"$d/pebble.log" 2>&1 &
    H2A_PEBBLE_PID=$!
    H2A_PEBBLE_DIR_URL="https://127.0.0.1:$acme/dir"
    H2A_PEBBLE_CA="$d/tlsca.pem"
    H2A_PEBBLE_MGMT="https://127.0.0.1:$mgmt"
    H2A_CHALL_MGMT="http://127.0.0.1:$cmgmt"
    export H2A_PEBBLE_DIR_URL H2A_PEBBLE_CA H2A_PEBBLE_MGMT H2A_CHALL_MGMT H2A_PEBBLE_HTTP_PORT
    local i
    for i in $(seq 1 100); do
        if curl -sf --cacert "$H2A_PEBBLE_CA" "$H2A_PEBBLE_DIR_URL" >/dev/null 2>&1 &&
           curl -s -o /dev/null "$H2A_CHALL_MGMT/" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "h2a_pebble_start: pebble did not come up; logs follow" >&2
    cat "$d/pebble.log" "$d/challtestsrv.log" >&2
    return 1
}

h2a_pebble_stop() {
    [ -n "${H2A_PEBBLE_PID:-}" ] && kill "$H2A_PEBBLE_PID" 2>/dev/null && wait "$H2A_PEBBLE_PID" 2>/dev/null
    [ -n "${H2A_CHALL_PID:-}" ] && kill "$H2A_CHALL_PID" 2>/dev/null && wait "$H2A_CHALL_PID" 2>/dev/null
    H2A_PEBBLE_PID= H2A_CHALL_PID=
    return 0
}
