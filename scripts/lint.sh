#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cheap checks for mistakes that must never land (key custody, TLS, banned calls).
# Run by scripts/test.sh; exits non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
report() { echo "lint: $1"; echo "$2"; fail=1; }

src=$(git ls-files -- '*.c' '*.h' | grep -v -E '^tests/' || true)
[ -n "$src" ] || exit 0

hits=$(grep -Hn -E 'CURLOPT_SSL_VERIFY(PEER|HOST)[^;]*,[[:space:]]*0' $src)
[ -n "$hits" ] && report "TLS verification switched off" "$hits"

hits=$(grep -Hn -E '\bfree\([^)]*(pin|secret|priv|plain|key_?der|pem)[^)]*\)' $src)
[ -n "$hits" ] && report "plain free() of what may be secret (use h2a_buf_free/OPENSSL_clear_free)" "$hits"

hits=$(grep -Hn -E '\b(sprintf|strcpy|strcat|gets|atoi|atol)\(' $src)
[ -n "$hits" ] && report "banned libc call (use snprintf/h2a_buf/strtol)" "$hits"

hits=$(grep -Hn -E 'RTLD_DEEPBIND' $src)
[ -n "$hits" ] && report "RTLD_DEEPBIND breaks ASan" "$hits"

hits=$(grep -Hln -E '[<"/]pkcs11(t|f)?\.h' $src | grep -v -E '^pkcs11/')
[ -n "$hits" ] && report "pkcs11.h outside pkcs11/" "$hits"

keys=$(git grep -l -E -- '-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----' | grep -v -E '^tests/|^docs/|\.md$')
[ -n "$keys" ] && report "private key PEM committed outside tests/ and docs" "$keys"

exit $fail
