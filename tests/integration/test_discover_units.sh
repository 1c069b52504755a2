#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# contrib/systemd/hsm2acm-discover.{service,timer} as issue 14 and README describe them:
# systemd's own parser accepts both without a warning, the timer starts the service daily
# with a randomized delay and catches up a missed run, and the service runs `hsm2acm
# discover` with the configuration its Environment= names, then refreshes the
# node_exporter textfile.
set -uo pipefail
: "${H2A_BIN:?run under ctest}" "${H2A_SRC_DIR:?run under ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/h2a-units.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
U=$H2A_SRC_DIR/contrib/systemd
SVC=$U/hsm2acm-discover.service
TIM=$U/hsm2acm-discover.timer
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (scripts/install-deps.sh installs systemd)" >&2; exit 1; }
val() { sed -n "s/^$2=//p" "$1"; } # val FILE KEY: the key's value(s)

# systemd's parser: the units name the installed /usr/bin/hsm2acm, which verify wants to
# exist; that path is the only thing changed in the copies it reads.
cp "$SVC" "$TIM" "$T/"
sed -i "s|/usr/bin/hsm2acm|$H2A_BIN|g" "$T/hsm2acm-discover.service"
out=$(cd "$T" && systemd-analyze verify hsm2acm-discover.timer hsm2acm-discover.service 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then
    ok "systemd-analyze verify: no error, no warning"
else
    fail "systemd-analyze verify (exit $rc): $out"
fi

# The timer: daily, spread over a randomized delay, a missed run made up at boot; it starts
# the service of its own name (no Unit= pointing elsewhere).
[ "$(val "$TIM" OnCalendar)" = daily ] || fail "timer OnCalendar: $(val "$TIM" OnCalendar)"
next=$(systemd-analyze calendar "$(val "$TIM" OnCalendar)" 2>&1 | sed -n 's/^ *Normalized form: //p')
[ "$next" = "*-*-* 00:00:00" ] || fail "timer calendar: $next"
delay=$(val "$TIM" RandomizedDelaySec)
us=$(systemd-analyze timespan "$delay" 2>/dev/null | sed -n 's/^ *μs: //p')
if [ -z "$us" ] || [ "$us" -lt 600000000 ]; then
    fail "RandomizedDelaySec '$delay' ($us us): want at least 10 min"
fi
[ "$(val "$TIM" Persistent)" = true ] || fail "timer Persistent"
[ -z "$(val "$TIM" Unit)" ] || fail "timer Unit= points elsewhere"
grep -q '^WantedBy=timers.target$' "$TIM" || fail "timer WantedBy"
ok "timer: daily, randomized delay $delay, persistent"

# The service: a oneshot `hsm2acm discover`, configuration from its Environment= (which
# discover honours: run it as the unit would, with a configuration that is not there).
[ "$(val "$SVC" Type)" = oneshot ] || fail "service Type"
[ "$(val "$SVC" ExecStart)" = "/usr/bin/hsm2acm discover" ] || fail "ExecStart: $(val "$SVC" ExecStart)"
env_cfg=$(val "$SVC" Environment | sed -n 's/^HSM2ACM_CONFIG=//p')
[ -n "$env_cfg" ] || fail "no HSM2ACM_CONFIG in Environment="
HSM2ACM_CONFIG="$T/absent.json" "$H2A_BIN" discover >"$T/d.out" 2>"$T/d.err"
rc=$?
if [ "$rc" != 2 ] || ! grep -qF "$T/absent.json" "$T/d.err"; then
    fail "discover does not read HSM2ACM_CONFIG (exit $rc): $(cat "$T/d.err")"
fi
post=$(val "$SVC" ExecStopPost)
case $post in
*"hsm2acm inventory --format prometheus"*) ;;
*) fail "ExecStopPost does not refresh the textfile: $post" ;;
esac
grep -q "hsm2acm-discover.timer" "$H2A_SRC_DIR/README.md" || fail "README does not document the timer"
ok "service: oneshot hsm2acm discover with HSM2ACM_CONFIG=$env_cfg, textfile refreshed after"

[ "$FAILS" = 0 ] || { echo "$FAILS check(s) failed" >&2; exit 1; }
