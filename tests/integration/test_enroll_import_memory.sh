#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The plaintext key of an import lives in locked memory only, also while libcurl sends it:
# an ImportCertificate is held by the endpoint (a delay fault, after the whole body was
# read), and meanwhile every readable mapping of the hsm2acm process that is not locked
# (smaps "Locked: 0 kB", no do-not-dump mark: everything but OpenSSL's secure heap arena) is copied from
# /proc/PID/mem. Once ACM has the key, the copy is searched for it in every form it takes
# on the way to ACM (PEM body, the base64 of the PEM that the JSON body carries): no match.
. "$(dirname "$0")/enroll_lib.sh"
enr_setup enroll_import_memory

enr_request "$ENR_DIR/r.json" mem-1 ec:P-256 "m.example.com" '[{"region":"eu-west-1"}]'
h2a_localaws_ctl POST /_control/faults \
    '{"service":"acm","operation":"ImportCertificate","kind":"delay","delay_ms":4000,"count":1}' >/dev/null
$PY - "$H2A_BIN" "$ENR_CONFIG" "$ENR_DIR/r.json" <<'PYEOF' || enr_fail "memory scan"
import base64, json, os, re, ssl, subprocess, sys, time, urllib.request

binary, config, request = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=os.environ["H2A_LOCALAWS_CA"])


def ctl(path):
    with urllib.request.urlopen(os.environ["H2A_LOCALAWS_URL"] + path, context=ctx) as r:
        return json.load(r)


def unlocked_dump(pid):
    """Every readable mapping whose smaps says Locked: 0 kB, as (name, bytes)."""
    out, maps = [], []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4), 0]
                maps.append(cur)
            elif line.startswith("Locked:") and cur is not None:
                cur[4] = int(line.split()[1])
            elif line.startswith("VmFlags:") and cur is not None and " dd" in line:
                # OpenSSL's secure arena is also marked do-not-dump: under ASan, whose
                # mlock does nothing, that mark is what tells it apart.
                cur[4] = max(cur[4], 1)
    locked = [m for m in maps if m[4] > 0]
    assert locked, "no locked mapping: the secure heap is not in use"
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for lo, hi, perms, name, lk in maps:
            # Over 1 GiB is ASan's shadow (metadata, reserved not used): never data.
            if lk > 0 or not perms.startswith("r") or name in ("[vvar]", "[vsyscall]") \
                    or hi - lo > 1 << 30:
                continue
            try:
                mem.seek(lo)
                out.append((name, mem.read(hi - lo)))
            except (OSError, ValueError, OverflowError):
                pass
    return out, len(locked)


proc = subprocess.Popen([binary, "enroll", "--config", config, request],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
deadline = time.time() + 30
while ctl("/_control/faults")["faults"]:  # taken once the body was read
    assert proc.poll() is None, proc.communicate()
    assert time.time() < deadline, "ImportCertificate never arrived"
    time.sleep(0.02)
time.sleep(0.3)  # the request is held for 4 s: the client waits for the reply
assert proc.poll() is None, "enroll finished before the scan"
dump, n_locked = unlocked_dump(proc.pid)
out, err = proc.communicate(timeout=60)
assert proc.returncode == 0, err.decode()
certs = ctl("/_control/acm?account=111111111111&region=eu-west-1")["certificates"]
key_pem = certs[0]["private_key_pem"]
body_b64 = "".join(l for l in key_pem.splitlines() if not l.startswith("-----"))
der = base64.b64decode(body_b64)
sent = base64.b64encode(key_pem.encode()).decode()  # what the JSON body carries
# The secret is the private scalar; the public half is in the certificate, everywhere.
from cryptography.hazmat.primitives.serialization import load_pem_private_key
scalar = load_pem_private_key(key_pem.encode(), None).private_numbers().private_value
scalar = scalar.to_bytes(32, "big")
pos = der.index(scalar)
# The PEM and the body that carries it: what the delivery path (agent/aws) holds. The raw
# scalar is not searched: the token library and libcrypto hold it on the way (under ASan,
# whose allocator never reuses a freed block at once, copies of it show up in ordinary heap;
# that is the keygen/PKCS#11 side's business, not this test's).
needles = set()
lo, hi = -(-pos // 3) * 4, (pos + 32) // 3 * 4  # PEM-body characters made of scalar bytes only
needles |= {body_b64[i:i + 16].encode() for i in range(lo, hi - 16, 4)}
for i in range(40, len(sent) - 24, 12):  # base64 of the PEM text: nothing else is like it
    needles.add(sent[i:i + 24].encode())
found = [(name, n[:8]) for name, data in dump for n in needles if n in data]
total = sum(len(d) for _, d in dump)
print("scanned %d unlocked bytes in %d mappings (%d locked mappings skipped), %d needles"
      % (total, len(dump), n_locked, len(needles)))
assert total > 1 << 20, "scanned too little"
assert not found, "key bytes in unlocked memory: %s" % found[:5]
PYEOF
echo PASS
