# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests/py/test_localaws_*.py: run the server, sign raw requests, make certs."""
import atexit
import base64
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
KEYS = {"111111111111": ("AKIAH2ALOCAL11111111", "h2aLocalSecret11111111111111111111111111"),
        "222222222222": ("AKIAH2ALOCAL22222222", "h2aLocalSecret22222222222222222222222222"),
        "333333333333": ("AKIAH2ALOCAL33333333", "h2aLocalSecret33333333333333333333333333")}
TARGETS = {"acm": "CertificateManager", "secretsmanager": "secretsmanager",
           "organizations": "AWSOrganizationsV20161128", "acm-pca": "ACMPrivateCA", "sqs": "AmazonSQS"}
_TLS_DIR = None
# botocore clients are not closed explicitly; their sockets go with the process.
warnings.simplefilter("ignore", ResourceWarning)


def shared_tls_dir():
    """One CA per test process: startup stays fast."""
    global _TLS_DIR
    if _TLS_DIR is None:
        _TLS_DIR = tempfile.mkdtemp(prefix="h2a-localaws-tls-")
        atexit.register(shutil.rmtree, _TLS_DIR, True)
    return _TLS_DIR


_SESSION = None
_CLIENT_LOCK = threading.Lock()


def _session():
    """One botocore session per process (creating one loads endpoints.json)."""
    global _SESSION
    if _SESSION is None:
        _SESSION = botocore.session.Session()
        _SESSION.set_config_variable("config_file", "/dev/null")
        _SESSION.set_config_variable("credentials_file", "/dev/null")
        # The models the server validates with: SQS in JSON 1.0 (see models/README.md).
        _SESSION.get_component("data_loader").search_paths.insert(
            0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    return _SESSION


class LocalAws:
    def __init__(self, state_dir=None):
        warnings.simplefilter("ignore", ResourceWarning)  # after unittest set its filters
        self.own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="h2a-localaws-")
        self.proc = None
        self.start()

    def start(self):
        ready = os.path.join(self.state_dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        os.makedirs(self.state_dir, exist_ok=True)
        self.log = open(os.path.join(self.state_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", SERVER, "--state-dir", self.state_dir, "--tls-dir",
             shared_tls_dir(), "--ready-file", ready, "--exit-with-parent"],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError("localaws exited: %s" % open(self.log.name).read())
            if time.time() > deadline:
                raise RuntimeError("localaws not ready")
            time.sleep(0.02)
        with open(ready) as f:
            info = json.load(f)
        self.https_port = info["https_port"]
        self.http_port = info["http_port"]
        self.ca = info["ca_bundle"]
        self.url = "https://127.0.0.1:%d" % self.https_port
        self.http_url = "http://127.0.0.1:%d" % self.http_port
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- clients --------------------------------------------------------------------------

    def client(self, service, account="111111111111", region="eu-west-1", creds=None):
        akid, secret = KEYS[account]
        token = None
        if creds is not None:
            akid, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], \
                creds.get("SessionToken")
        with _CLIENT_LOCK:  # botocore sessions are not thread-safe while creating clients
            return self._create(service, region, akid, secret, token)

    def _create(self, service, region, akid, secret, token):
        return _session().create_client(service, region_name=region, endpoint_url=self.url,
                               verify=self.ca, aws_access_key_id=akid,
                               aws_secret_access_key=secret, aws_session_token=token,
                               config=Config(retries={"max_attempts": 0}))

    def request(self, method, path, body=b"", headers=None, http_port=False, conn=None):
        c = conn or (http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
                     if http_port else
                     http.client.HTTPSConnection("127.0.0.1", self.https_port,
                                                 context=self.ssl, timeout=30))
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def signed_headers(self, service, body, extra=None, account="111111111111",
                       region="eu-west-1", akid=None, secret=None, token=None, when=None,
                       content_type=None, target=None):
        akid = akid or KEYS[account][0]
        secret = secret or KEYS[account][1]
        headers = {"Content-Type": content_type or ("application/x-amz-json-1.1"
                                                   if service != "sts" else
                                                   "application/x-www-form-urlencoded; charset=utf-8"),
                   "Host": "127.0.0.1:%d" % self.https_port}
        if target:
            headers["X-Amz-Target"] = target
        headers.update(extra or {})
        req = AWSRequest(method="POST", url=self.url + "/", data=body, headers=headers)
        signer = SigV4Auth(Credentials(akid, secret, token), service, region)
        if when is not None:
            req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
            req.headers["X-Amz-Date"] = req.context["timestamp"]
            if token:
                req.headers["X-Amz-Security-Token"] = token
            cr = signer.canonical_request(req)
            sig = signer.signature(signer.string_to_sign(req, cr), req)
            req.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
                signer.scope(req), signer.signed_headers(signer.headers_to_sign(req)), sig)
        else:
            signer.add_auth(req)
        return dict(req.headers.items())

    def raw_json(self, service, operation, params, sign=True, raw_body=None, mutate=None,
                 **kw):
        body = raw_body if raw_body is not None else json.dumps(params).encode()
        target = "%s.%s" % (TARGETS[service], operation)
        if sign:
            headers = self.signed_headers(service, body, target=target, **kw)
        else:
            headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
        if mutate:
            headers, body = mutate(headers, body)
        status, hdrs, data = self.request("POST", "/", body, headers)
        try:
            obj = json.loads(data) if data else None
        except ValueError:
            obj = None
        return status, obj, hdrs

    def raw_query(self, form, sign=True, mutate=None, **kw):
        from urllib.parse import urlencode
        body = urlencode(form).encode()
        headers = self.signed_headers("sts", body, **kw) if sign else \
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if mutate:
            headers, body = mutate(headers, body)
        status, hdrs, data = self.request("POST", "/", body, headers)
        return status, data.decode(), hdrs

    def ctl(self, method, path, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        status, _, data = self.request(method, path, body,
                                       {"Content-Type": "application/json"})
        if status != 200:
            raise AssertionError("control %s %s -> %d %s" % (method, path, status, data))
        return json.loads(data)


# -- certificates ----------------------------------------------------------------------------

def new_key(kind):
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    curve = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(), "ec521": ec.SECP521R1(),
             "ec224": ec.SECP224R1(), "k256": ec.SECP256K1()}[kind]
    return ec.generate_private_key(curve)


_KEY_CACHE = {}


def cached_key(kind, slot=0):
    """RSA generation is slow: reuse keys within a test process."""
    k = _KEY_CACHE.get((kind, slot))
    if k is None:
        k = _KEY_CACHE[(kind, slot)] = new_key(kind)
    return k


def make_cert(key, cn="www.example.com", sans=("www.example.com",), ku=None, eku=None,
              not_before=None, not_after=None, issuer_key=None, issuer_name=None,
              version_ok=True, empty_issuer=False, serial=None, ca=False):
    """ku: dict of KeyUsage flags (None: no extension); eku: list of OIDs (None: none)."""
    now = datetime.datetime.utcnow()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    if empty_issuer:
        iname = x509.Name([])
    else:
        iname = issuer_name or (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               "h2a test issuer")]))
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(iname)
         .public_key(key.public_key())
         .serial_number(serial or x509.random_serial_number())
         .not_valid_before(not_before or now - datetime.timedelta(hours=1))
         .not_valid_after(not_after or now + datetime.timedelta(days=30)))
    if sans:
        names = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(names), False)
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    if ku is not None:
        flags = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                     crl_sign=False, encipher_only=False, decipher_only=False)
        flags.update(ku)
        b = b.add_extension(x509.KeyUsage(**flags), True)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]),
                            False)
    signer = issuer_key or key
    algo = hashes.SHA256()
    return b.sign(signer, algo)


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
CODE_SIGNING = ExtendedKeyUsageOID.CODE_SIGNING.dotted_string


def b64(data):
    return base64.b64encode(data).decode()


