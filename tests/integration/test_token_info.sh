#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `token info` reports the token as pkcs11-tool sees it (label, serial,
# object count, mechanisms with key sizes); `wrapkey create` makes an
# AES-256 key that is wrap/unwrap only and never extractable, reports a
# KCV, and refuses a label that exists; keygen keys are non-exportable
# unless --exportable; --probe finds everything and leaves nothing.
set -euo pipefail
. "$H2A_SRC_DIR/tests/lib/token.sh"
h2a_token_create token_info
. "$H2A_SRC_DIR/tests/integration/lib_keygen.sh"

B=$H2A_BIN
U=$H2A_TEST_TOKEN_URI
PY=/usr/bin/python3
P11=(pkcs11-tool --module "$H2A_SOFTHSM_MODULE" --token-label "$H2A_TEST_TOKEN_LABEL")

# info_check FILE WANT_COUNT: compare with pkcs11-tool's view.
info_check() {
    "${P11[@]}" --list-token-slots >"$KG_TMP/slots" 2>/dev/null
    "${P11[@]}" --list-mechanisms >"$KG_TMP/mechs" 2>/dev/null
    /usr/bin/python3 - "$1" "$2" "$KG_TMP/slots" "$KG_TMP/mechs" <<'PY'
import json, re, sys
info = json.load(open(sys.argv[1]))
want_count = int(sys.argv[2])
slots, mechs = open(sys.argv[3]).read(), open(sys.argv[4]).read()
def fail(msg):
    print("token info:", msg, file=sys.stderr)
    sys.exit(1)
if info["label"] != "hsm2acm-test":
    fail("label %r" % info["label"])
serial = re.search(r"serial num\s*:\s*(\S+)", slots).group(1)
if info["serial"] != serial:
    fail("serial %r, pkcs11-tool says %r" % (info["serial"], serial))
if info["manufacturer"] != "SoftHSM project" or not info["model"].startswith("SoftHSM"):
    fail("manufacturer/model %r %r" % (info["manufacturer"], info["model"]))
if info["object_count"] != want_count:
    fail("object_count %d, wanted %d" % (info["object_count"], want_count))
by_name = {m["name"]: m for m in info["mechanisms"]}
want = {"CKM_RSA_PKCS_KEY_PAIR_GEN": "RSA-PKCS-KEY-PAIR-GEN", "CKM_EC_KEY_PAIR_GEN": "ECDSA-KEY-PAIR-GEN",
        "CKM_RSA_PKCS": "RSA-PKCS", "CKM_RSA_PKCS_PSS": "RSA-PKCS-PSS", "CKM_ECDSA": "ECDSA",
        "CKM_AES_KEY_GEN": "AES-KEY-GEN", "CKM_AES_KEY_WRAP": "AES-KEY-WRAP",
        "CKM_AES_KEY_WRAP_PAD": None, "CKM_SHA256_RSA_PKCS": "SHA256-RSA-PKCS"}
if sorted(by_name) != sorted(list(want) + ["CKM_AES_KEY_WRAP_KWP"]):
    fail("mechanism list %s" % sorted(by_name))
# SoftHSM2 2.6 has no PKCS#11 3.0 KWP (0x210B): reported, as absent.
if by_name["CKM_AES_KEY_WRAP_KWP"]["present"]:
    fail("CKM_AES_KEY_WRAP_KWP reported present on SoftHSM2 2.6")
for ours, tool in want.items():
    m = by_name[ours]
    if not m["present"]:
        fail("%s reported absent" % ours)
    if tool is None:
        continue
    found = re.search(r"^\s*%s, keySize=\{(\d+),(\d+)\}" % re.escape(tool), mechs, re.M)
    if not found:
        fail("pkcs11-tool does not list %s" % tool)
    if (m["min_key_size"], m["max_key_size"]) != (int(found.group(1)), int(found.group(2))):
        fail("%s key sizes %s..%s, pkcs11-tool says %s..%s" % (ours, m["min_key_size"],
             m["max_key_size"], found.group(1), found.group(2)))
if not by_name["CKM_RSA_PKCS_KEY_PAIR_GEN"]["generate"] or not by_name["CKM_ECDSA"]["sign"] \
        or not by_name["CKM_AES_KEY_WRAP_PAD"]["wrap"]:
    fail("capability flags wrong")
print("token info ok: %d objects" % want_count)
PY
}

echo "== token info on a fresh token"
"$B" token info --token "$U" >"$KG_TMP/info.json"
info_check "$KG_TMP/info.json" 0 || kg_fail "token info (fresh)"

echo "== token info counts objects"
"$B" keygen --token "$U" --type ec:P-256 --label k1 >/dev/null
"$B" token info --token "$U" >"$KG_TMP/info.json"
info_check "$KG_TMP/info.json" 2 || kg_fail "token info (after keygen)"
[ "$(kg_count)" = 2 ] || kg_fail "pkcs11-tool count differs"

echo "== wrapkey create (default label)"
"$B" wrapkey create --token "$U" >"$KG_TMP/wk.json"
[ "$(kg_json "$KG_TMP/wk.json" label)" = "hsm2acm-wrap" ] || kg_fail "default wrap key label"
kcv1=$(kg_json "$KG_TMP/wk.json" kcv)
[[ $kcv1 =~ ^[0-9a-f]{6}$ ]] || kg_fail "kcv '$kcv1' is not 6 hex digits"
"${P11[@]}" --login --pin "$H2A_TEST_USER_PIN" --list-objects --type secrkey >"$KG_TMP/sk" 2>/dev/null
grep -q "Secret Key Object; AES length 32" "$KG_TMP/sk" || kg_fail "wrap key is not AES-256"
grep -q "label:      hsm2acm-wrap" "$KG_TMP/sk" || kg_fail "wrap key label"
grep -qx "  Usage:      wrap, unwrap" "$KG_TMP/sk" || kg_fail "wrap key usage is not exactly wrap, unwrap"
grep -q "Access:     sensitive, always sensitive, never extractable, local" "$KG_TMP/sk" ||
    kg_fail "wrap key access flags"

echo "== wrapkey create with a label; a second key has another KCV"
"$B" wrapkey create --token "$U" --label other-wrap >"$KG_TMP/wk2.json"
[ "$(kg_json "$KG_TMP/wk2.json" label)" = "other-wrap" ] || kg_fail "wrap key --label"
[ "$(kg_json "$KG_TMP/wk2.json" kcv)" != "$kcv1" ] || kg_fail "two wrap keys share a KCV"
[ "$(kg_count)" = 4 ] || kg_fail "wrapkey create did not add exactly one object each"

echo "== duplicate wrap key label is refused, nothing made"
kg_expect 2 "already exists" "$B" wrapkey create --token "$U"
"$B" token info --token "$U" >"$KG_TMP/info.json"
info_check "$KG_TMP/info.json" 4 || kg_fail "token info (after wrap keys)"

echo "== keygen: non-exportable unless --exportable"
"$B" keygen --token "$U" --type ec:P-256 --label stays >/dev/null
"$B" keygen --token "$U" --type ec:P-256 --label leaves --exportable >/dev/null
"${P11[@]}" --login --pin "$H2A_TEST_USER_PIN" --list-objects --type privkey >"$KG_TMP/pk" 2>/dev/null
$PY - "$KG_TMP/pk" <<'PY' || kg_fail "keygen extractable flags"
import re, sys
objs = open(sys.argv[1]).read().split("Private Key Object")[1:]
access = {re.search(r"label:\s*(\S+)", o).group(1): re.search(r"Access:\s*(.*)", o).group(1) for o in objs}
assert "never extractable" in access["stays"], access["stays"]
assert "never extractable" not in access["leaves"] and "extractable" in access["leaves"], access["leaves"]
PY

echo "== token info --probe: everything works on SoftHSM2, nothing is left behind"
before=$(kg_count)
"$B" token info --token "$U" --probe >"$KG_TMP/probe.json"
[ "$(kg_count)" = "$before" ] || kg_fail "probe changed the object count ($before -> $(kg_count))"
$PY - "$KG_TMP/probe.json" <<'PY' || kg_fail "probe table"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["probe"]
assert d["quirks"] == "SoftHSM2", d["quirks"]
assert p["wrap_mechanism"] == "CKM_AES_KEY_WRAP_PAD", p
assert p["wrapping_key"] and p["identify_wrapping_key"] and p["identify_kind"] == "CKA_CHECK_VALUE", p
types = [t["type"] for t in p["key_types"]]
assert types == ["rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", "ec:P-521"], types
for t in p["key_types"]:
    rsa = t["type"].startswith("rsa")
    assert t["generate"] and t["generate_delivery"] and t["wrap"] and t["unwrap"], t
    assert (t["sign_pkcs1"], t["sign_pss"], t["sign_ecdsa"]) == (rsa, rsa, not rsa), t
PY

echo "== a token without CKA_CHECK_VALUE: the wrap key is identified by a wrap digest"
H2A_TEST_FAULT=p11_no_check_value "$B" wrapkey create --token "$U" --label nokcv-wrap >"$KG_TMP/wk3.json"
[ "$(kg_json "$KG_TMP/wk3.json" kcv_kind)" = "sha256-wrap:CKM_AES_KEY_WRAP" ] || kg_fail "kcv_kind"
[[ $(kg_json "$KG_TMP/wk3.json" kcv) =~ ^[0-9a-f]{6}$ ]] || kg_fail "wrap-digest kcv shape"
[ "$(kg_json "$KG_TMP/wk.json" kcv_kind)" = "CKA_CHECK_VALUE" ] || kg_fail "kcv_kind of a KCV key"
kg_done
