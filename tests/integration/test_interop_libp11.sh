#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Keys made by `hsm2acm keygen` work with other PKCS#11 consumers:
#  - libp11 0.4.12 finds them by CKA_ID (PKCS11_enumerate_keys), gets an
#    EVP_PKEY (PKCS11_get_private_key) and signs; the signature verifies
#    with the public key hsm2acm printed;
#  - pkcs11-tool --list-objects shows the attributes the issue asks for:
#    private key usage "sign" only, sensitive + extractable; public key
#    usage "verify" only; ID and label on both halves.
set -euo pipefail
. "$H2A_SRC_DIR/tests/lib/token.sh"
h2a_token_create interop_libp11
. "$H2A_SRC_DIR/tests/integration/lib_keygen.sh"

B=$H2A_BIN
U=$H2A_TEST_TOKEN_URI
PROBE=$H2A_BUILD_DIR/interop_libp11_sign
# Compiled here rather than by CMake: a test-only probe against libp11.
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -o "$PROBE" "$H2A_SRC_DIR/tests/interop/libp11_sign.c" \
    $(pkg-config --cflags --libs libp11 libcrypto)

head -c 1500 /dev/urandom >"$KG_TMP/data"
for type in ec:P-256 rsa:2048 ec:P-384; do
    label="interop-${type/:/-}"
    echo "== $type"
    "$B" keygen --token "$U" --type "$type" --label "$label" --exportable >"$KG_TMP/key.json"
    id=$(kg_json "$KG_TMP/key.json" id)
    kg_json "$KG_TMP/key.json" public_key_pem >"$KG_TMP/pub.pem"
    "$PROBE" "$H2A_SOFTHSM_MODULE" "$H2A_TEST_TOKEN_LABEL" "$H2A_TEST_PIN_FILE" "$id" \
        "$KG_TMP/data" "$KG_TMP/sig" >"$KG_TMP/probe.out" || kg_fail "$type: libp11 probe failed"
    grep -q "found: label=$label" "$KG_TMP/probe.out" || kg_fail "$type: libp11 found another key"
    openssl dgst -sha256 -verify "$KG_TMP/pub.pem" -signature "$KG_TMP/sig" "$KG_TMP/data" |
        grep -q "Verified OK" || kg_fail "$type: libp11 signature does not verify"
    # The same check must fail for other data (the verification is real).
    echo tamper >>"$KG_TMP/data"
    if openssl dgst -sha256 -verify "$KG_TMP/pub.pem" -signature "$KG_TMP/sig" "$KG_TMP/data" \
        >/dev/null 2>&1; then
        kg_fail "$type: signature verified over other data"
    fi

    pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL" --login \
        --pin "$H2A_TEST_USER_PIN" --list-objects >"$KG_TMP/objs" 2>/dev/null
    /usr/bin/python3 - "$KG_TMP/objs" "$id" "$label" <<'PY' || kg_fail "$type: pkcs11-tool attributes"
import sys
text, want_id, want_label = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
objs, cur = [], None
for line in text.splitlines():
    if "Object;" in line:
        cur = {"kind": line.split(";")[0].strip()}
        objs.append(cur)
    elif cur is not None and ":" in line:
        k, v = line.split(":", 1)
        cur[k.strip()] = v.strip()
def fail(msg):
    print("pkcs11-tool:", msg, "\n", text, file=sys.stderr)
    sys.exit(1)
objs = [o for o in objs if o.get("ID") == want_id]
kinds = sorted(o["kind"] for o in objs)
if kinds != ["Private Key Object", "Public Key Object"]:
    fail("expected one private and one public key, got %s" % kinds)
for o in objs:
    if o.get("ID") != want_id or o.get("label") != want_label:
        fail("ID/label mismatch in %s" % o)
    usage = [u.strip() for u in o.get("Usage", "").split(",")]
    access = [a.strip() for a in o.get("Access", "").split(",")]
    if o["kind"] == "Private Key Object":
        if usage != ["sign"]:
            fail("private key usage %s, wanted only sign" % usage)
        for a in ("sensitive", "always sensitive", "extractable", "local"):
            if a not in access:
                fail("private key access lacks %s: %s" % (a, access))
        if "never extractable" in access:
            fail("private key is never extractable: it could not be delivered")
    else:
        if usage != ["verify"]:
            fail("public key usage %s, wanted only verify" % usage)
print("pkcs11-tool attributes ok")
PY
done
kg_done
