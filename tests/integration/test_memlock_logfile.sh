#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Process hardening the user cannot see: (1) with RLIMIT_MEMLOCK too small
# for the secure heap, OpenSSL still makes the arena but cannot mlock it
# (CRYPTO_secure_malloc_init returns 2); hsm2acm must refuse to handle key
# material (exit 1, message naming RLIMIT_MEMLOCK and the size needed) and
# leave nothing behind, where it used to run with VmLck 0 kB. (2) The
# HSM2ACM_LOG_FILE is created 0600 whatever the umask, like the audit log.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup memlock_logfile

# root has CAP_IPC_LOCK, which ignores RLIMIT_MEMLOCK: drop it from the
# bounding set so the limit applies as it does for an ordinary user.
lowlock() {
    if [ "$(id -u)" = 0 ]; then
        (ulimit -l 64 && exec setpriv --bounding-set=-ipc_lock -- "$@")
    else
        (ulimit -l 64 && exec "$@")
    fi
}

# The wrapper really leaves the process unable to lock 1 MiB (else the test
# below would prove nothing).
lowlock /usr/bin/python3 -c '
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
m = mmap.mmap(-1, 1 << 20)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
sys.exit(0 if libc.mlock(ctypes.c_void_p(addr), 1 << 20) != 0 else 1)
' || enr_fail "mlock of 1 MiB still succeeds under the low limit"

echo "== enroll with memlock 64 KiB"
enr_request "$ENR_DIR/r1.json" memlock-1 ec:P-256 "memlock.example.com" '[{"region":"eu-west-1"}]'
objs=$(enr_objects)
certs=$(enr_cert_count)
enr_expect_fail 1 "RLIMIT_MEMLOCK" lowlock "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json"
grep -qF "at least 1024 KiB" "$ENR_DIR/last.err" || enr_fail "message lacks the size needed"
grep -qF "64 KiB" "$ENR_DIR/last.err" || enr_fail "message lacks the current limit"
[ ! -s "$ENR_DIR/last.out" ] || enr_fail "stdout not empty on refusal"
[ "$(enr_objects)" = "$objs" ] || enr_fail "token object count changed"
[ -z "$(enr_secrets)" ] || enr_fail "staging secret left"
[ "$(enr_cert_count)" = "$certs" ] || enr_fail "ACM changed"

echo "== keygen with memlock 64 KiB"
enr_expect_fail 1 "RLIMIT_MEMLOCK" lowlock "$H2A_BIN" keygen --token "$H2A_TEST_TOKEN_URI" \
    --type ec:P-256 --label lowlock
[ "$(enr_objects)" = "$objs" ] || enr_fail "keygen made objects under the low limit"

echo "== help needs no locked memory"
lowlock "$H2A_BIN" --help >/dev/null || enr_fail "--help refused under the low limit"

echo "== the same enroll with the normal limit"
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >/dev/null
[ "$(enr_cert_count)" = "$((certs + 1))" ] || enr_fail "enroll did not import"

echo "== HSM2ACM_LOG_FILE is created 0600"
log="$ENR_DIR/debug.log"
rm -f "$log"
(umask 022 && HSM2ACM_LOG=debug HSM2ACM_LOG_FILE="$log" \
    "$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/r1.json" >/dev/null)
[ -s "$log" ] || enr_fail "debug log is empty"
mode=$(stat -c %a "$log")
[ "$mode" = 600 ] || enr_fail "log file mode $mode, expected 600"
echo "all checks passed"
