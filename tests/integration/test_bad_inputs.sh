#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17 "Tests": every case of bad_inputs.table (requests, configurations,
# policies, token URIs, CLI arguments) exits with its documented code and a
# message naming the field; enroll cases leave nothing behind (token objects,
# staging secrets, ACM). Prints how many distinct cases ran; fewer than 200 fails.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup bad_inputs

# One enrollment first: the local CA keys exist, so a later count moves only on a leak.
enr_request "$ENR_DIR/ok.json" ok-1 ec:P-256 "www.example.com" '[{"region":"eu-west-1"}]'
"$H2A_BIN" enroll --config "$ENR_CONFIG" "$ENR_DIR/ok.json" >/dev/null
cp "$H2A_SRC_DIR/tests/integration/bad_inputs.policy.json" "$ENR_DIR/strict-policy.json"
chmod 600 "$ENR_DIR/strict-policy.json"
enr_config_with "$ENR_DIR/config-strict.json" "{\"policy\":\"$ENR_DIR/strict-policy.json\"}"
export H2A_TEST_TOKEN_LABEL H2A_TEST_USER_PIN H2A_TEST_TOKEN_URI ENR_DIR ENR_CONFIG
$PY "$H2A_SRC_DIR/tests/integration/bad_inputs.py" \
    "$H2A_SRC_DIR/tests/integration/bad_inputs.table" "$ENR_DIR/config-strict.json"
echo PASS
