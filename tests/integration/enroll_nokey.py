# SPDX-License-Identifier: Apache-2.0
"""No private key bytes in any file under the given directories.

usage: enroll_nokey.py ACM_CONTROL_JSON REQUEST_ID|'*' DIR...

For each certificate in the control view of ACM (the key ACM holds) that
belongs to REQUEST_ID (tag hsm2acm:request-id; '*' = all), search every file
under DIR... for the PRIVATE parts of its key: the EC scalar or RSA private
exponent and primes, raw, in hex and as the base64 window of each DER form
(PKCS#8, SEC1/PKCS#1) that covers them; files are also searched with line
breaks removed, so PEM bodies count. Public parts (which certificates and
the journal rightly hold) are not searched. A positive control makes sure
the needles do find the key in its own PEM.
"""
import base64
import json
import os
import sys

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def tags(c):
    return c["tags"] if isinstance(c["tags"], dict) else {t["Key"]: t["Value"] for t in c["tags"]}


def secret_ints(k):
    if isinstance(k, ec.EllipticCurvePrivateKey):
        n = (k.curve.key_size + 7) // 8
        return [k.private_numbers().private_value.to_bytes(n, "big")]
    p = k.private_numbers()
    out = []
    for v in (p.d, p.p, p.q):
        out.append(v.to_bytes((v.bit_length() + 7) // 8, "big"))
    return out


def needles_for(k):
    needles = []
    for s in secret_ints(k):
        needles += [s, s.hex().encode(), s.hex().upper().encode()]
        for fmt in (ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL):
            der = k.private_bytes(ser.Encoding.DER, fmt, ser.NoEncryption())
            off = der.find(s)
            assert off > 0
            b64 = base64.b64encode(der)
            start, end = -(-off // 3) * 4, ((off + len(s)) // 3) * 4
            needles.append(b64[start:end][:64])
    pem = k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).replace(b"\n", b"")
    assert any(n in pem for n in needles), "positive control failed"
    return needles


def main():
    acm, rid, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    needles = []
    for c in json.load(open(acm))["certificates"]:
        if rid != "*" and tags(c).get("hsm2acm:request-id") != rid:
            continue
        needles += needles_for(ser.load_pem_private_key(c["private_key_pem"].encode(), None))
    assert needles, "no certificate for " + rid
    checked = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                raw = open(os.path.join(root, f), "rb").read()
                data = raw + b"\0" + raw.replace(b"\n", b"").replace(b"\r", b"")
                checked += 1
                for n in needles:
                    assert n not in data, "private key bytes in " + os.path.join(root, f)
    assert checked >= 2, checked
    print("no private key bytes in %d files" % checked)


main()
