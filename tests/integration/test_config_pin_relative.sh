#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17 item 14: a relative pin-source=file: in the configuration's token URI
# is read beside the configuration file, whatever the current directory is.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup config_pin_relative

d="$ENR_DIR/conf dir"
mkdir -p "$d/pins" "$ENR_DIR/elsewhere/pins"
cp "$H2A_TEST_PIN_FILE" "$d/pins/user"
chmod 600 "$d/pins/user"
# A decoy with a wrong PIN where the old code looked (the current directory).
printf '0000' >"$ENR_DIR/elsewhere/pins/user"
chmod 600 "$ENR_DIR/elsewhere/pins/user"
uri="${H2A_TEST_TOKEN_URI%%&pin-source=*}&pin-source=file:pins/user"
enr_config_with "$d/config.json" "{\"token\":\"$uri\"}"
enr_request "$ENR_DIR/rel.json" rel-1 ec:P-256 "rel.example.com" '[{"region":"eu-west-1"}]'
(cd "$ENR_DIR/elsewhere" && "$H2A_BIN" enroll --config "$d/config.json" "$ENR_DIR/rel.json") >"$ENR_DIR/rel.out" ||
    enr_fail "enroll with a relative pin-source failed"
[ "$(enr_json "$ENR_DIR/rel.out" 'd["targets"][0]["state"]')" = cleaned ] || enr_fail "not delivered"
# Without the file beside the configuration, the error names the resolved path.
rm "$d/pins/user"
(cd "$ENR_DIR/elsewhere" && enr_expect_fail 2 "$d/pins/user" "$H2A_BIN" sweep --config "$d/config.json")
echo PASS
