#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Local stand-in for AWS used by hsm2acm's tests and the demo.

    /usr/bin/python3 tests/localaws/server.py --state-dir DIR [--port 0]
        [--http-port 0] [--tls-dir DIR] [--ready-file FILE] [--host 127.0.0.1]

Serves ACM, Secrets Manager, STS, Organizations and ACM PCA over HTTPS with a
test CA, the IMDSv2 and ECS credential endpoints over plain HTTP, and a JSON
control interface under /_control/ on both ports.  See README.md.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tlsgen  # noqa: E402
from errors import AwsError  # noqa: E402
from faults import fault_error, fault_outcome  # noqa: E402
from ratelimit import RateLimits  # noqa: E402
from state import State  # noqa: E402

# botocore and cryptography take ~1 s to import: they are loaded by a
# background thread once the ports listen (see warm_up), and on first use.
model = None
sigv4check = None


def warm_up():
    global model, sigv4check
    import importlib
    import model as _model
    import sigv4check as _sigv4check
    for name in ("services", "control", "metadata"):  # services pulls in cryptography
        importlib.import_module(name)
    for name in ("acm", "secretsmanager", "sts", "organizations", "acm-pca", "route53", "sqs",
                 "ec2"):
        _model.service_model(name)
    model, sigv4check = _model, _sigv4check

MAX_BODY = 8 * 1024 * 1024

# X-Amz-Target prefix -> (botocore service name, SigV4 signing name)
JSON_TARGETS = {
    "CertificateManager": "acm",
    "secretsmanager": "secretsmanager",
    "AWSOrganizationsV20161128": "organizations",
    "ACMPrivateCA": "acm-pca",
    "AmazonSQS": "sqs",
}
# awsJson 1.0 services (the rest are 1.1).
JSON_10 = {"sqs"}
# Services whose modeled errors carry "Message" rather than "message".
CAPITAL_MESSAGE = {"secretsmanager", "organizations"}
# Organizations is a global service signed for one region per partition.
ALLOWED_REGIONS = {"organizations": {"us-east-1", "cn-northwest-1", "us-gov-west-1"},
                   "route53": {"us-east-1", "cn-northwest-1", "us-gov-west-1"}}
R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
# awsQuery-style services told apart by the SigV4 scope (EC2's "ec2" protocol: no
# <...Result> wrapper, <Response><Errors> errors).
QUERY_SERVICES = {"sts", "ec2"}


def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class App:
    """Everything the handlers share."""

    def __init__(self, state_dir, tls_dir):
        self.state = State(state_dir)
        self.tls_dir = tls_dir
        self.faults = []
        self.calls = []
        self.lock = threading.Lock()  # faults and calls
        self.started = time.time()
        self.https_port = None
        self.http_port = None
        self.stats = {"https_connections": 0, "http_connections": 0, "requests": 0,
                      "tls_resumed": 0}
        self.ratelimits = RateLimits()
        self._conn_seq = 0

    def new_connection(self, tls):
        with self.lock:
            self._conn_seq += 1
            self.stats["https_connections" if tls else "http_connections"] += 1
            return self._conn_seq

    @property
    def services(self):
        import services
        return services

    def take_fault(self, service, operation):
        with self.lock:
            for f in self.faults:
                if f.count > 0 and f.matches(service, operation):
                    if f.after > 0:
                        f.after -= 1
                        continue
                    f.count -= 1
                    kind = f
                    self.faults = [x for x in self.faults if x.count > 0]
                    return kind
        return None

    def note_resumed(self):
        with self.lock:
            self.stats["tls_resumed"] += 1

    def record(self, entry):
        entry.setdefault("end", time.time())  # with "time": which calls were in flight together
        with self.lock:
            self.stats["requests"] += 1
            self.calls.append(entry)
            if len(self.calls) > 20000:
                del self.calls[:10000]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "h2a-localaws"

    def version_string(self):
        return self.server_version
    timeout = 300  # idle keep-alive connections end eventually

    # -- plumbing -------------------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.server.app_verbose:
            sys.stderr.write("localaws: %s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_CONNECT(self):
        """A forward proxy for HTTPS_PROXY tests (plain HTTP port, loopback targets only)."""
        self.request_id = str(uuid.uuid4())
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]")
        entry = {"service": "proxy", "operation": "CONNECT %s" % self.path, "time": time.time(),
                 "status": None, "error": None, "account": None, "region": None,
                 "access_key": None, "request_id": self.request_id, "connection": self.conn_id}
        try:
            if self.server.ssl_ctx is not None or host not in ("127.0.0.1", "localhost", "::1") \
                    or not port.isdigit():
                entry["status"] = 403
                self.close_connection = True
                self.send(403, "CONNECT only to loopback, on the plain HTTP port\n", "text/plain")
                return
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError as exc:
                entry["status"] = 502
                self.close_connection = True
                self.send(502, "cannot connect: %s\n" % exc, "text/plain")
                return
            entry["status"] = 200
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            self._relay(self.connection, upstream)
        finally:
            self.app.record(entry)

    def _relay(self, client, upstream):
        import select
        socks = [client, upstream]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 300)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()

    @property
    def app(self):
        return self.server.app

    def setup(self):
        super().setup()
        self.conn_id = self.server.app.new_connection(self.server.ssl_ctx is not None)
        self.tls_noted = self.server.ssl_ctx is None

    def _note_tls(self):
        """Count a connection whose handshake (done by its first read) resumed a session."""
        if not self.tls_noted:
            self.tls_noted = True
            if self.connection.session_reused:
                self.app.note_resumed()

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _record_once(self, status=None):
        """Put the pending API call in the call log, once. send() does it before
        the reply leaves, so a client that reads /_control/calls right after its
        reply always finds the call there (recording after the reply raced)."""
        entry, self._entry = getattr(self, "_entry", None), None
        if entry is not None:
            if entry.get("status") is None and status is not None:
                entry["status"] = status
            self.app.record(entry)

    def send(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._record_once(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one write: two small segments would meet the
        # client's delayed ACK (~40 ms per call with keep-alive).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def drop(self):
        """Close the connection without a byte of response."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _dispatch(self):
        self.request_id = str(uuid.uuid4())
        self._note_tls()
        if model is None:
            warm_up()
        try:
            try:
                body = self._read_body()
            except (ValueError, OSError):
                self.close_connection = True
                self.send(400, json.dumps({"__type": "SerializationException",
                                           "message": "unreadable request body"}))
                return
            parts = urlsplit(self.path)
            path = parts.path
            self.sign_path = path + ("?" + parts.query if parts.query else "")
            if path.startswith("/_control/") or path == "/_control":
                if self.client_address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
                    self.send(403, json.dumps({"error": "control interface is loopback only"}))
                    return
                import control
                status, obj = control.handle(self.app, self.command, path,
                                             dict(parse_qsl(parts.query)), body)
                self.send(status, json.dumps(obj, indent=1, sort_keys=True))
                return
            if path.startswith("/latest/") or path.startswith("/ecs/"):
                import metadata
                status, ctype, out, hdrs = metadata.handle(self.app, self.command, path,
                                                          self.headers, body)
                self.app.record({"service": "ecs" if path.startswith("/ecs/") else "imds",
                                 "operation": "%s %s" % (self.command, path),
                                 "time": time.time(), "status": status,
                                 "error": None if status < 400 else str(status),
                                 "account": None, "region": None, "access_key": None,
                                 "request_id": self.request_id, "connection": self.conn_id,
                                 "has_token": bool(self.headers.get(
                                     "X-aws-ec2-metadata-token"))})
                self.send(status, out, ctype, hdrs)
                return
            target = self.headers.get("X-Amz-Target")
            if self.command == "POST" and target:
                self._json_api(target, body)
                return
            ctype = self.headers.get("Content-Type", "")
            if self.command == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
                self._query_api(body)
                return
            if path.startswith("/2013-04-01/"):
                self._rest_xml_api("route53", path, dict(parse_qsl(parts.query)), body)
                return
            self.send(404, json.dumps({"__type": "UnknownOperationException",
                                       "message": "no such path or operation: %s %s"
                                       % (self.command, path)}),
                      headers={"x-amzn-RequestId": self.request_id})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # never leave a connection hanging
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send(500, json.dumps({"__type": "InternalFailure",
                                           "message": "localaws internal error"}),
                          headers={"x-amzn-RequestId": self.request_id})
            except OSError:
                pass

    # -- faults ---------------------------------------------------------------------

    def _apply_fault(self, fault, service, query):
        """Return True when the fault produced the whole answer."""
        kind = fault.kind
        if kind == "delay":
            time.sleep(fault.delay_ms / 1000.0)
            return False
        if kind == "drop":
            self.drop()
            return True
        if kind == "crash":
            os._exit(9)
        if kind == "exception":
            raise RuntimeError("injected handler exception")
        if kind == "garbage":
            self.send(fault.status if fault.status_given else 200,
                      fault.body or "<html>this is not what the protocol promises",
                      fault.content_type or "text/html", {"x-amzn-RequestId": self.request_id})
            return True
        if kind == "oversized":
            # A well-formed reply far larger than any real one (default 64 MiB).
            pad = fault.size or (64 << 20)
            head = b'{"pad": "'
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(head) + pad + 2))
            self.send_header("x-amzn-RequestId", self.request_id)
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"x" * (1 << 20)
                left = pad
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
                self.wfile.write(b'"}')
            except OSError:
                self.close_connection = True  # the client gave up reading: expected
            return True
        if kind == "truncate":
            payload = (fault.body or '{"Certificate": {"CertificateArn": "arn:aws:acm:').encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload) + 100))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.drop()
            return True
        if kind == "drop_after":
            return False  # handled after the operation ran
        err = fault_error(fault, service, query)
        self._send_error(err, service, query)
        return True

    # -- JSON protocol ----------------------------------------------------------------

    def _json_error(self, err, service):
        key = "Message" if service in CAPITAL_MESSAGE else "message"
        if service == "acm" and err.code == "AccessDeniedException":
            key = "Message"
        obj = {"__type": err.code, key: err.message}
        obj.update(err.extra)
        return json.dumps(obj)

    def _send_error(self, err, service, query):
        hdrs = {"x-amzn-RequestId": self.request_id}
        if query and service == "ec2":
            body = ('<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error>'
                    '</Errors><RequestID>%s</RequestID></Response>\n'
                    % (xml_escape(err.code), xml_escape(err.message), self.request_id))
            self.send(err.status, body, "text/xml;charset=UTF-8", hdrs)
        elif query:
            body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                    '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                    '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                    % (R53_NS if service == "route53" else STS_NS,
                       "Sender" if err.sender and err.status < 500 else "Receiver",
                       xml_escape(err.code), xml_escape(err.message), self.request_id))
            self.send(err.status, body, "text/xml", hdrs)
        else:
            hdrs["X-Amzn-ErrorType"] = err.code
            self.send(err.status, self._json_error(err, service), self._json_ctype(service),
                      hdrs)

    @staticmethod
    def _json_ctype(service):
        return "application/x-amz-json-1.0" if service in JSON_10 \
            else "application/x-amz-json-1.1"

    def _json_api(self, target, body):
        prefix, _, operation = target.partition(".")
        service = JSON_TARGETS.get(prefix)
        entry = {"service": service or prefix, "operation": operation, "time": time.time(),
                 "account": None, "region": None, "status": None, "error": None,
                 "request_id": self.request_id, "access_key": None,
                 "connection": self.conn_id,
                 "user_agent": self.headers.get("User-Agent")}
        self._entry = entry
        try:
            self._json_call(service, operation, body, entry)
        finally:
            self._record_once()

    def _json_call(self, service, operation, body, entry):
        def fail(err):
            entry["status"] = err.status
            entry["error"] = err.code
            self._send_error(err, service, False)

        if service is None:
            fail(AwsError("UnknownOperationException", "", 400))
            return
        smodel = model.service_model(service)
        if operation not in smodel.operation_names:
            fail(AwsError("UnknownOperationException", "", 400))
            return
        fault = self.app.take_fault(service, operation)
        if fault is not None:
            entry["fault"] = fault.kind
            entry["account"], entry["region"], entry["access_key"] = sigv4check.peek(
                self.app.state, self.headers.items())
            if self._apply_fault(fault, service, False):
                entry["status"], entry["error"] = fault_outcome(fault, service, False)
                return
        try:
            ident, region = sigv4check.verify(
                self.app.state, "POST", self.sign_path, self.headers.items(), body,
                smodel.signing_name, ALLOWED_REGIONS.get(service), query=False)
            entry["account"] = ident.account
            entry["region"] = region
            entry["access_key"] = ident.access_key
            try:
                params = json.loads(body.decode("utf-8")) if body.strip() else {}
            except (ValueError, UnicodeDecodeError):
                raise AwsError("SerializationException", "Start of structure or map found "
                               "where not expected." if body else "empty body")
            if not isinstance(params, dict):
                raise AwsError("SerializationException",
                               "Start of structure or map found where not expected.")
            entry["params"] = redact(params)
            self.app.ratelimits.check(service, operation, ident.account, region)
            model.validate(service, operation, params)
            ctx = {"identity": ident, "account": ident.account, "region": region,
                   "app": self.app}
            result = self.app.services.call(service, operation, ctx, params)
        except AwsError as err:
            fail(err)
            return
        if fault is not None and fault.kind == "drop_after":
            entry["status"] = 0
            entry["error"] = "drop_after"
            self.drop()
            return
        entry["status"] = 200
        self.send(200, json.dumps(result), self._json_ctype(service),
                  {"x-amzn-RequestId": self.request_id})

    # -- restXml (Route 53) ----------------------------------------------------------

    def _rest_xml_api(self, service, path, query, body):
        entry = {"service": service, "operation": None, "time": time.time(),
                 "account": None, "region": None, "status": None, "error": None,
                 "request_id": self.request_id, "access_key": None,
                 "connection": self.conn_id, "user_agent": self.headers.get("User-Agent")}
        self._entry = entry
        try:
            RestXml.call(self, service, path, query, body, entry)
        finally:
            self._record_once()

    # -- query protocol (STS) -----------------------------------------------------------

    def _query_service(self):
        """The service a form-encoded call is for: the one its SigV4 scope names
        (unsigned calls are STS's AssumeRoleWithWebIdentity)."""
        auth = self.headers.get("Authorization", "")
        cred = auth.partition("Credential=")[2].split(",")[0].split("/")
        return cred[3] if len(cred) == 5 and cred[3] in QUERY_SERVICES else "sts"

    def _query_api(self, body):
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        operation = form.get("Action", "")
        service = self._query_service()
        entry = {"service": service, "operation": operation, "time": time.time(),
                 "account": None, "region": None, "status": None, "error": None,
                 "request_id": self.request_id, "access_key": None,
                 "connection": self.conn_id,
                 "user_agent": self.headers.get("User-Agent")}
        self._entry = entry
        try:
            self._query_call(service, operation, form, body, entry)
        finally:
            self._record_once()

    def _query_call(self, service, operation, form, body, entry):
        def fail(err):
            entry["status"] = err.status
            entry["error"] = err.code
            self._send_error(err, service, True)

        smodel = model.service_model(service)
        if operation not in smodel.operation_names:
            fail(AwsError("InvalidAction", "Could not find operation %s for version %s"
                          % (operation, form.get("Version", "NO_VERSION_SPECIFIED"))))
            return
        fault = self.app.take_fault(service, operation)
        if fault is not None:
            entry["fault"] = fault.kind
            entry["account"], entry["region"], entry["access_key"] = sigv4check.peek(
                self.app.state, self.headers.items())
            if self._apply_fault(fault, service, True):
                entry["status"], entry["error"] = fault_outcome(fault, service, True)
                return
        try:
            if form.get("Version") != smodel.api_version:
                raise AwsError("InvalidAction", "Could not find operation %s for version %s"
                               % (operation, form.get("Version", "NO_VERSION_SPECIFIED")))
            # Authenticate first, then validate, as AWS does.  AssumeRoleWithWebIdentity
            # may come unsigned (the token is the credential).
            unsigned = service == "sts" and operation == "AssumeRoleWithWebIdentity"
            ident, region = None, None
            if unsigned and "authorization" not in {k.lower() for k in self.headers.keys()}:
                region = "us-east-1"
            else:
                ident, region = sigv4check.verify(
                    self.app.state, "POST", self.sign_path, self.headers.items(), body, service,
                    None, query=True)
                entry["account"] = ident.account
                entry["access_key"] = ident.access_key
            entry["region"] = region
            params = model.parse_query(service, operation, form)
            entry["params"] = redact(params)
            if service == "ec2":
                self.app.ratelimits.check(service, operation, ident.account, region)
            model.validate(service, operation, params, query=True)
            ctx = {"identity": ident, "account": ident.account if ident else None,
                   "region": region, "app": self.app}
            result_xml = self.app.services.call(service, operation, ctx, params)
        except AwsError as err:
            fail(err)
            return
        if fault is not None and fault.kind == "drop_after":
            entry["status"] = 0
            entry["error"] = "drop_after"
            self.drop()
            return
        entry["status"] = 200
        if service == "ec2":
            xml = ('<%sResponse xmlns="%s">\n  <requestId>%s</requestId>\n%s</%sResponse>\n'
                   % (operation, EC2_NS, self.request_id, result_xml, operation))
            self.send(200, xml, "text/xml;charset=UTF-8", {"x-amzn-RequestId": self.request_id})
            return
        xml = ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n  <ResponseMetadata>\n'
               '    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n</%sResponse>\n'
               % (operation, STS_NS, operation, result_xml, operation, self.request_id,
                  operation))
        self.send(200, xml, "text/xml", {"x-amzn-RequestId": self.request_id})


class RestXml:
    """restXml (Route 53): the operation from method + path, input from the URI, the
    query string and the XML body, checked against the model like every other call."""

    @staticmethod
    def call(handler, service, path, query, body, entry):
        def fail(err):
            entry["status"] = err.status
            entry["error"] = err.code
            handler._send_error(err, service, True)

        operation, uri = model.rest_xml_route(service, handler.command, path)
        entry["operation"] = operation
        if operation is None:
            fail(AwsError("InvalidInput", "no such path or operation: %s %s"
                          % (handler.command, path), 404))
            return
        fault = handler.app.take_fault(service, operation)
        if fault is not None:
            entry["fault"] = fault.kind
            if handler._apply_fault(fault, service, True):
                entry["status"], entry["error"] = fault_outcome(fault, service, True)
                return
        try:
            ident, region = sigv4check.verify(
                handler.app.state, handler.command, handler.sign_path, handler.headers.items(),
                body, model.service_model(service).signing_name,
                ALLOWED_REGIONS.get(service), query=True)
            entry["account"], entry["region"] = ident.account, region
            entry["access_key"] = ident.access_key
            params = model.parse_rest_xml(service, operation, uri, query, body)
            entry["params"] = redact(params)
            model.validate(service, operation, params, query=False)
            ctx = {"identity": ident, "account": ident.account, "region": region,
                   "app": handler.app}
            inner = handler.app.services.call(service, operation, ctx, params)
        except AwsError as err:
            if err.code in ("ValidationException", "SerializationException"):
                err.code = "InvalidInput"
            fail(err)
            return
        entry["status"] = 200
        xml = ('<?xml version="1.0"?>\n<%sResponse xmlns="%s">%s</%sResponse>\n'
               % (operation, R53_NS, inner, operation))
        handler.send(200, xml, "text/xml", {"x-amzn-RequestId": handler.request_id})


REDACT = {"PrivateKey", "SecretString", "SecretBinary", "Certificate", "CertificateChain",
          "Csr", "WebIdentityToken", "SessionToken", "SecretAccessKey", "Policy"}


def redact(obj):
    """Request parameters for the call log: secrets and bulky blobs replaced by their size."""
    if isinstance(obj, dict):
        return {k: ("<redacted %d chars>" % len(v) if isinstance(v, str) else "<redacted>")
                if k in REDACT else redact(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, app, ssl_ctx=None, verbose=False):
        self.app = app
        self.app_verbose = verbose
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_ctx is not None:
            # The handshake runs lazily in the handler thread (first read), so a
            # slow or broken client cannot stall the accept loop.
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, socket.timeout, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--tls-dir", help="test CA and server certificate (default STATE_DIR/tls)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0: any free port)")
    ap.add_argument("--http-port", type=int, default=0,
                    help="plain HTTP port for IMDS/ECS (0: any free port, -1: none)")
    ap.add_argument("--ready-file", help="JSON with ports, CA bundle and pid, once listening")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="exit when the process that started it is gone (no orphan servers "
                         "after a killed test)")
    args = ap.parse_args(argv)

    tls_dir = args.tls_dir or os.path.join(args.state_dir, "tls")
    os.makedirs(args.state_dir, exist_ok=True)
    ca_path, cert_path, key_path = tlsgen.ensure(tls_dir)
    app = App(args.state_dir, tls_dir)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    https = Server((args.host, args.port), app, ctx, args.verbose)
    app.https_port = https.server_address[1]
    servers = [https]
    if args.http_port >= 0:
        http = Server((args.host, args.http_port), app, None, args.verbose)
        app.http_port = http.server_address[1]
        servers.append(http)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()

    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"https_port": app.https_port, "http_port": app.http_port,
                       "ca_bundle": os.path.abspath(ca_path), "pid": os.getpid(),
                       "state_dir": os.path.abspath(args.state_dir)}, f)
        os.replace(tmp, args.ready_file)
    sys.stderr.write("localaws: https://%s:%d http://%s:%s state=%s\n"
                     % (args.host, app.https_port, args.host, app.http_port, args.state_dir))
    sys.stderr.flush()
    threading.Thread(target=warm_up, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(1.0 if args.exit_with_parent else 3600):
        if args.exit_with_parent and os.getppid() != parent:
            break
    # Every change is on disk once its call answered; wait for a write in
    # progress, then leave at once (no 0.5 s shutdown polling).
    with app.state.lock:
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
