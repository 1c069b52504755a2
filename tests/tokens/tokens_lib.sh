# SPDX-License-Identifier: Apache-2.0
# Sourced by the portability suite: sets up one PKCS#11 token other than
# SoftHSM2 from Debian packages, and tears down every process it started.
#
#   h2a_ptok_setup NAME DIR   NAME: tpm2 | opencryptoki | nss; exports
#                             H2A_PTOK_URI (token URI with pin-source),
#                             H2A_PTOK_MODULE, H2A_PTOK_LABEL, H2A_PTOK_INIT
#                             (x-init-reserved value, may be empty)
#   h2a_ptok_teardown         stop what setup started (safe twice; EXIT trap)
#
# Set-up facts: docs/tokens.md and ../shared/docs/tokens.md.

H2A_PTOK_PIDS=()
H2A_PTOK_RESTORE=

h2a_ptok_free_port() {
    /usr/bin/python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); p=s.getsockname()[1]
t=socket.socket()
try:
    t.bind(("127.0.0.1",p+1)); print(p)
except OSError:
    print(0)'
}

h2a_ptok_wait() { # wait until "$@" succeeds (max ~10 s)
    local i
    for i in $(seq 1 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

h2a_ptok_pin_file() { # DIR PIN
    printf '%s' "$2" >"$1/pin"
    chmod 600 "$1/pin"
}

h2a_ptok_setup_tpm2() {
    local dir=$1 port=0 i
    for i in 1 2 3 4 5; do
        port=$(h2a_ptok_free_port)
        [ "$port" != 0 ] && break
    done
    mkdir -p "$dir/tpmstate" "$dir/store"
    swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
        --tpmstate "dir=$dir/tpmstate" --flags not-need-init,startup-clear \
        >"$dir/swtpm.log" 2>&1 &
    H2A_PTOK_PIDS+=($!)
    dbus-daemon --session --address="unix:path=$dir/dbus.sock" --nofork --nopidfile \
        >"$dir/dbus.log" 2>&1 &
    H2A_PTOK_PIDS+=($!)
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$dir/dbus.sock"
    h2a_ptok_wait test -S "$dir/dbus.sock" || return 1
    h2a_ptok_wait bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || return 1
    tpm2-abrmd --session --allow-root --tcti="swtpm:host=127.0.0.1,port=$port" \
        >"$dir/abrmd.log" 2>&1 &
    H2A_PTOK_PIDS+=($!)
    export TPM2_PKCS11_TCTI=tabrmd:bus_type=session
    export TPM2TOOLS_TCTI=tabrmd:bus_type=session
    export TPM2_PKCS11_STORE="$dir/store"
    export TPM2_PKCS11_LOG_LEVEL=0
    h2a_ptok_wait tpm2_getcap properties-fixed || return 1
    tpm2_ptool init --path="$dir/store" >/dev/null || return 1
    tpm2_ptool addtoken --path="$dir/store" --pid=1 --label=h2a-tpm \
        --userpin=123456 --sopin=654321 >/dev/null || return 1
    h2a_ptok_pin_file "$dir" 123456
    H2A_PTOK_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so
    H2A_PTOK_LABEL=h2a-tpm
    H2A_PTOK_INIT=
}

h2a_ptok_setup_opencryptoki() {
    local dir=$1 sw=/var/lib/opencryptoki/swtok
    # The soft token's store is a fixed system path: keep what was there.
    mkdir -p "$sw"
    H2A_PTOK_RESTORE="$dir/swtok.saved.tar"
    tar -C "$sw" -cf "$H2A_PTOK_RESTORE" . || return 1
    rm -rf "$sw/NVTOK.DAT" "$sw"/MK_* "$sw"/TOK_OBJ/*
    mkdir -p "$sw/TOK_OBJ"
    # pkcsslotd's lock and store directories (what systemd-tmpfiles would make).
    awk '$1 == "d" { print $2, $3, $5 }' /usr/lib/tmpfiles.d/opencryptoki.conf |
        while read -r d mode group; do
            mkdir -p "$d" && chmod "$mode" "$d" && chgrp "$group" "$d" 2>/dev/null || true
        done
    # A pkcsslotd someone else runs (a host with systemd) is used, not stopped.
    if ! { [ -s /var/run/pkcsslotd.pid ] && kill -0 "$(cat /var/run/pkcsslotd.pid)" 2>/dev/null; }; then
        pkcsslotd || return 1
        h2a_ptok_wait test -s /var/run/pkcsslotd.pid || return 1
        H2A_PTOK_PIDS+=($(cat /var/run/pkcsslotd.pid))
    fi
    # pkcsconf exits 0 even when a call fails: its "Error" lines tell.
    {
        echo h2a-ock | pkcsconf -I -c 3 -S 87654321
        pkcsconf -P -c 3 -S 87654321 -n 11223344
        pkcsconf -u -c 3 -S 11223344 -n 00000000
        # A user PIN must be changed once; an all-digit one is CKR_PIN_INVALID.
        pkcsconf -p -c 3 -U 00000000 -n h2aUser1
    } >"$dir/pkcsconf.log" 2>&1
    ! grep -q "Error" "$dir/pkcsconf.log" || { cat "$dir/pkcsconf.log"; return 1; }
    h2a_ptok_pin_file "$dir" h2aUser1
    H2A_PTOK_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so
    H2A_PTOK_LABEL=h2a-ock
    H2A_PTOK_INIT=
}

h2a_ptok_setup_nss() {
    local dir=$1
    mkdir -p "$dir/nssdb"
    certutil -N -d "sql:$dir/nssdb" --empty-password || return 1
    H2A_PTOK_MODULE=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
    H2A_PTOK_LABEL="NSS Certificate DB"
    H2A_PTOK_INIT="configdir='sql:$dir/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags="
    # A fresh database has an empty SO PIN and no user PIN: set one.
    "$H2A_PTOK_TOOL" initpin "$H2A_PTOK_MODULE" "$H2A_PTOK_INIT" "$H2A_PTOK_LABEL" 123456 || return 1
    h2a_ptok_pin_file "$dir" 123456
}

h2a_ptok_urlencode() {
    /usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

h2a_ptok_setup() {
    local name=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    "h2a_ptok_setup_$name" "$dir" || return 1
    local q="module-path=$H2A_PTOK_MODULE"
    [ -n "$H2A_PTOK_INIT" ] && q="$q&x-init-reserved=$(h2a_ptok_urlencode "$H2A_PTOK_INIT")"
    H2A_PTOK_URI="pkcs11:token=$(h2a_ptok_urlencode "$H2A_PTOK_LABEL")?$q&pin-source=file:$dir/pin"
    H2A_PTOK_URI_NOPIN="pkcs11:token=$(h2a_ptok_urlencode "$H2A_PTOK_LABEL")?$q"
    export H2A_PTOK_URI H2A_PTOK_URI_NOPIN H2A_PTOK_MODULE H2A_PTOK_LABEL H2A_PTOK_INIT
}

h2a_ptok_teardown() {
    local p
    for p in "${H2A_PTOK_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${H2A_PTOK_PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
    done
    H2A_PTOK_PIDS=()
    if [ -n "$H2A_PTOK_RESTORE" ] && [ -f "$H2A_PTOK_RESTORE" ]; then
        rm -rf /var/lib/opencryptoki/swtok/*
        tar -C /var/lib/opencryptoki/swtok -xf "$H2A_PTOK_RESTORE" || true
        H2A_PTOK_RESTORE=
    fi
}
