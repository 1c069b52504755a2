#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The built-in provider serves other OpenSSL consumers: a token key signs an
# X.509 certificate and is the client key of in-memory mutual TLS 1.3 and 1.2
# handshakes (tests/interop/provider_tls.c, compiled here against the
# build's static libraries because it needs libssl).
set -euo pipefail
. "$H2A_SRC_DIR/tests/lib/token.sh"
h2a_token_create interop_tls

B=$H2A_BUILD_DIR
S=$H2A_SRC_DIR
flags=()
# A sanitizer build's libraries need the sanitizer runtime in the probe too.
if grep -q '^H2A_SANITIZE:BOOL=ON' "$B/CMakeCache.txt"; then
    flags=(-fsanitize=address,undefined -fno-omit-frame-pointer)
fi
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED "${flags[@]}" \
    -o "$B/interop_provider_tls" "$S/tests/interop/provider_tls.c" \
    -I"$S/common" -I"$S/pkcs11" -I"$S/keygen" \
    "$B/keygen/libh2a_keygen.a" "$B/pkcs11/libh2a_pkcs11.a" "$B/common/libh2a_common.a" \
    $(pkg-config --libs p11-kit-1 libssl libcrypto) -ldl -lpthread
"$B/interop_provider_tls" "$H2A_TEST_TOKEN_URI"
