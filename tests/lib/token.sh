# SPDX-License-Identifier: Apache-2.0
# Sourced by tests: makes a fresh, throwaway SoftHSM2 token in the build tree.
# h2a_token_create NAME  exports SOFTHSM2_CONF and the H2A_TEST_TOKEN_* variables.

: "${H2A_BUILD_DIR:?run under ctest (H2A_BUILD_DIR unset)}"
: "${H2A_SOFTHSM_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"

H2A_TEST_TOKEN_LABEL=hsm2acm-test
H2A_TEST_USER_PIN=1234
H2A_TEST_SO_PIN=5678

h2a_token_create() {
    local name=$1
    local dir="$H2A_BUILD_DIR/testtokens/$name"
    rm -rf "$dir"
    mkdir -p "$dir/tokens"
    cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
    export SOFTHSM2_CONF="$dir/softhsm2.conf"
    softhsm2-util --init-token --free --label "$H2A_TEST_TOKEN_LABEL" \
        --pin "$H2A_TEST_USER_PIN" --so-pin "$H2A_TEST_SO_PIN" >/dev/null
    printf '%s' "$H2A_TEST_USER_PIN" >"$dir/pin"
    chmod 600 "$dir/pin"
    export H2A_TEST_TOKEN_DIR="$dir"
    export H2A_TEST_TOKEN_LABEL H2A_TEST_USER_PIN H2A_TEST_SO_PIN
    export H2A_TEST_PIN_FILE="$dir/pin"
    export H2A_TEST_TOKEN_URI="pkcs11:token=$H2A_TEST_TOKEN_LABEL?module-path=$H2A_SOFTHSM_MODULE&pin-source=file:$dir/pin"
}
