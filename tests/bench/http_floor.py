# SPDX-License-Identifier: Apache-2.0
"""Benchmark helper (not a test): the HTTP half of the enrollment floor.

A minimal client making the same AWS calls an hsm2acm worker makes for N
single-target enrollments, with bodies of the same shape and size: one
GetCallerIdentity (not timed, like the handshake: a worker makes both once),
then per enrollment CreateSecret (4 tags), GetSecretValue,
ImportCertificate (certificate, key, chain, 3 tags), GetCertificate,
DeleteSecret (force) and DescribeSecret (answered ResourceNotFound). One
keep-alive HTTPS connection (http.client + ssl), nothing else around it.

Requests are signed before the clock starts, so signing is not in the
floor. GetCertificate needs the ARN the import returns: it is signed with the
clock stopped. Prints the mean milliseconds per enrollment.

usage: http_floor.py URL CA_BUNDLE CERT.pem KEY.pem CHAIN.pem WRAPPED_LEN N
"""
import base64
import http.client
import json
import os
import ssl
import sys
import time
import urllib.parse
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, ca, cert_f, key_f, chain_f = sys.argv[1:6]
wrapped_len, n = int(sys.argv[6]), int(sys.argv[7])
region = os.environ["AWS_REGION"]
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                    os.environ.get("AWS_SESSION_TOKEN"))
u = urllib.parse.urlparse(url)
cert, key, chain = (open(f, "rb").read() for f in (cert_f, key_f, chain_f))
run = uuid.uuid4().hex[:8]


def signed(service, target, body, ctype="application/x-amz-json-1.1"):
    headers = {"Content-Type": ctype}
    if target:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(creds, service, region).add_auth(req)
    return body, dict(req.headers.items())


def js(service, target, params):
    return signed(service, target, json.dumps(params).encode())


def tags(rid, *extra):
    t = [{"Key": "hsm2acm:managed", "Value": "true"}, {"Key": "hsm2acm:request-id", "Value": rid},
         {"Key": "hsm2acm:target", "Value": "0"}]
    return t + [{"Key": k, "Value": v} for k, v in extra]


def plan(i):
    """The five calls of enrollment i that can be signed in advance."""
    rid = "floor-%s-%d" % (run, i)
    name = "hsm2acm/staging/%s/t0" % rid
    # The staging envelope: version, mechanism, key label and KCV, the wrapped
    # key, key type, certificate and chain, target (see docs/enroll.md).
    value = json.dumps({
        "v": 1, "mech": "CKM_AES_KEY_WRAP_PAD", "wrap_key": "hsm2acm-wrap", "kcv": "d3ad7e",
        "wrapped": base64.b64encode(os.urandom(wrapped_len)).decode(), "key": "ec:P-256",
        "certificate": cert.decode(), "chain": chain.decode(),
        "target": {"region": region, "account": None}})
    return [
        js("secretsmanager", "secretsmanager.CreateSecret", {
            "Name": name, "ClientRequestToken": "h2a1-" + (uuid.uuid4().hex * 2)[:59],
            "Description": "hsm2acm staging: wrapped key for request %s target 0; "
                           "deleted after import" % rid,
            "SecretString": value,
            "Tags": tags(rid, ("hsm2acm:expiry", str(int(time.time()) + 3600)))}),
        js("secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": name}),
        js("acm", "CertificateManager.ImportCertificate", {
            "Certificate": base64.b64encode(cert).decode(),
            "PrivateKey": base64.b64encode(key).decode(),
            "CertificateChain": base64.b64encode(chain).decode(), "Tags": tags(rid)}),
        js("secretsmanager", "secretsmanager.DeleteSecret",
           {"SecretId": name, "ForceDeleteWithoutRecovery": True}),
        js("secretsmanager", "secretsmanager.DescribeSecret", {"SecretId": name}),
    ]


def call(conn, req, want=200):
    conn.request("POST", "/", body=req[0], headers=req[1])
    r = conn.getresponse()
    data = r.read()
    if r.status != want:
        sys.exit("http_floor: HTTP %d, wanted %d: %s" % (r.status, want, data[:200]))
    return data


plans = [plan(i) for i in range(n)]
ident = signed("sts", None, b"Action=GetCallerIdentity&Version=2011-06-15",
               "application/x-www-form-urlencoded; charset=utf-8")
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
call(conn, ident)  # and the TLS handshake: once per worker, not per enrollment
paused = 0.0
t0 = time.perf_counter()
for create, get, imp, delete, describe in plans:
    call(conn, create)
    call(conn, get)
    arn = json.loads(call(conn, imp))["CertificateArn"]
    p0 = time.perf_counter()
    getcert = js("acm", "CertificateManager.GetCertificate", {"CertificateArn": arn})
    paused += time.perf_counter() - p0
    call(conn, getcert)
    call(conn, delete)
    call(conn, describe, 400)
print(1000 * (time.perf_counter() - t0 - paused) / n)
