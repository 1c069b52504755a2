#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark (not a test; CI does not run it): acm-pca issuance, from submit to a
# verified certificate, against the local endpoint's own issue latency (set to 0,
# then 500 ms: GetCertificate answers RequestInProgressException until then).
#   hsm2acm   the enroll output's timings_ms.issue + timings_ms.verify (IssueCertificate,
#             the polls, the chain and key checks), and the GetCertificate calls it made
#   floor     botocore (the AWS CLI's library, one client, one connection): the same
#             IssueCertificate, then GetCertificate every 10 ms until it answers
# Target (issue 12): hsm2acm adds at most 50 ms + one poll interval to the floor, and
# makes at most 3 polls for a 500 ms issue.
#
# Usage: tests/bench/bench_pca.sh [N]   (default 5 enrollments per latency, P-256)
# Needs a build: H2A_BIN (default build/agent/hsm2acm).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-5}
H2A_BIN=${H2A_BIN:-$here/build/agent/hsm2acm}
PY=/usr/bin/python3
MODULE=${H2A_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -x "$H2A_BIN" ] || { echo "bench_pca: no hsm2acm at $H2A_BIN (set H2A_BIN)" >&2; exit 2; }
T=$(mktemp -d)
. "$here/tests/lib/localaws.sh"
h2a_localaws_start "$T/aws" >/dev/null
trap 'h2a_localaws_stop; rm -rf "$T"' EXIT

mkdir -p "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$T/softhsm2.conf"
export SOFTHSM2_CONF="$T/softhsm2.conf"
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
printf 1234 >"$T/pin"; chmod 600 "$T/pin"
URI="pkcs11:token=bench?module-path=$MODULE&pin-source=file:$T/pin"
"$H2A_BIN" wrapkey create --token "$URI" >/dev/null
CA=$(h2a_localaws_ctl POST /_control/pca '{"key_algorithm":"EC_prime256v1"}' |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["arn"])')
cat >"$T/config.json" <<JSON
{"token": "$URI", "state_dir": "$T/state",
 "issuers": {"pca": {"type": "acm-pca", "certificate_authority_arn": "$CA", "validity_days": 30}},
 "aws": {"region": "eu-west-1"}}
JSON
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/f.key" \
    -subj /CN=floor.example.com -addext subjectAltName=DNS:floor.example.com -out "$T/f.csr" 2>/dev/null

floor() { # floor N: median ms of IssueCertificate + GetCertificate until issued
    $PY - "$CA" "$T/f.csr" "$1" <<'PYEOF'
import os, statistics, sys, time, uuid
import botocore.session
ca, csr, n = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
c = botocore.session.get_session().create_client(
    "acm-pca", region_name="eu-west-1", endpoint_url=os.environ["H2A_LOCALAWS_URL"],
    verify=os.environ["H2A_LOCALAWS_CA"])
out = []
for _ in range(n + 1):
    t0 = time.monotonic()
    arn = c.issue_certificate(CertificateAuthorityArn=ca, Csr=csr, SigningAlgorithm="SHA256WITHECDSA",
                              Validity={"Type": "DAYS", "Value": 1},
                              IdempotencyToken=uuid.uuid4().hex[:32])["CertificateArn"]
    while True:
        try:
            c.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
            break
        except c.exceptions.RequestInProgressException:
            time.sleep(0.01)
    out.append((time.monotonic() - t0) * 1000)
print("%.1f" % statistics.median(out[1:]))
PYEOF
}

run() { # run LATENCY_MS
    h2a_localaws_ctl POST /_control/pca/settings "{\"pending_polls\":0,\"issue_latency_ms\":$1}" >/dev/null
    local i id times=() polls=()
    for i in $(seq 0 "$N"); do
        id="b$1-$i"
        printf '{"id":"%s","subject":"CN=bench.example.com","dns":["bench.example.com"],"key":"ec:P-256","issuer":"pca","requester":"bench","targets":[{"region":"eu-west-1"}]}' "$id" >"$T/$id.json"
        "$H2A_BIN" enroll --config "$T/config.json" "$T/$id.json" >"$T/$id.out"
        [ "$i" = 0 ] && continue   # warm-up
        times+=("$($PY -c 'import json,sys; t=json.load(open(sys.argv[1]))["targets"][0]["timings_ms"]; print(t["issue"] + t.get("verify", 0))' "$T/$id.out")")
    done
    local f
    f=$(floor "$N")
    $PY - "$1" "$f" "${times[@]}" <<'PYEOF'
import json, statistics, sys
lat, floor = int(sys.argv[1]), float(sys.argv[2])
times = [float(x) for x in sys.argv[5:]]
med = statistics.median(times)
print("latency %4d ms: hsm2acm submit->verified median %.1f ms (max %.1f), floor %.1f ms, "
      "overhead %.1f ms" % (lat, med, max(times), floor, med - floor))
PYEOF
}

echo "bench_pca: N=$N per latency, P-256 under an EC P-256 CA"
run 0
run 500
h2a_localaws_ctl GET "/_control/pca?account=111111111111&region=eu-west-1" >"$T/ca.json"
# Poll counts: GetCertificate calls per hsm2acm certificate (the floor's are excluded
# by their subject).
$PY - "$T/ca.json" "$CA" "$N" <<'PYEOF'
import json, sys
from cryptography import x509
ca = [c for c in json.load(open(sys.argv[1]))["certificate_authorities"] if c["arn"] == sys.argv[2]][0]
n = int(sys.argv[3])
rows = []
for it in sorted(ca["certificates"].values(), key=lambda it: it["time"]):
    cn = x509.load_pem_x509_certificate(it["pem"].encode()).subject.rfc4514_string()
    if "bench.example.com" in cn:
        rows.append(it["polls"])
half = len(rows) // 2
print("GetCertificate calls per certificate: latency 0: %s; latency 500: %s"
      % (rows[1:half], rows[half + 1:]))
PYEOF
