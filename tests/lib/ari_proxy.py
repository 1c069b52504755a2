#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A thin HTTPS proxy in front of pebble 2.4.0 (which has no ARI): it passes
every request through with its Host header (pebble builds its URLs and checks
JWS "url" from it), adds "renewalInfo" to the directory, and answers
GET /renewal-info/<certID> itself, writing each certID asked for to a file.
Every newOrder payload's "replaces" (RFC 9773 5) goes to LOG_FILE.orders, one
line per order ("-" when absent).

With H2A_PROXY_429=PATH_PREFIX:COUNT:SECONDS the first COUNT POSTs to a path
starting with PATH_PREFIX get 429 rateLimited with "Retry-After: SECONDS"
instead of reaching pebble; every POST to that prefix is logged with its
arrival time to LOG_FILE.429. Every request is logged to LOG_FILE.requests as
"<client port> <method> <path>" (one port per TCP connection).

With H2A_PROXY_TOKEN=TEXT every challenge token in an authorization reply
gets TEXT appended: a hostile server's token (newlines, path characters).

usage: ari_proxy.py PORT PEBBLE_HOST:PORT TLS_CERT TLS_KEY PEBBLE_CA LOG_FILE
"""
import base64
import http.client
import http.server
import json
import os
import ssl
import sys
import threading
import time

port, upstream, cert, key, ca, log = sys.argv[1:7]
LIMIT = (os.environ.get("H2A_PROXY_429") or "::").split(":")
LIMIT_LEFT = [int(LIMIT[1] or 0)]
LIMIT_LOCK = threading.Lock()
TOKEN_TAIL = os.environ.get("H2A_PROXY_TOKEN")
WINDOW = {"suggestedWindow": {"start": "2030-01-01T00:00:00Z", "end": "2030-01-03T00:00:00Z"}}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self):
        with LIMIT_LOCK, open(log + ".requests", "a") as f:
            f.write("%d %s %s\n" % (self.client_address[1], self.command, self.path))
        if self.path.startswith("/renewal-info/"):
            with open(log, "a") as f:
                f.write(self.path[len("/renewal-info/"):] + "\n")
            body = json.dumps(WINDOW).encode()
            return self._send(200, [("Content-Type", "application/json"),
                                    ("Retry-After", "21600")], body)
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else None
        if self.command == "POST" and LIMIT[0] and self.path.startswith(LIMIT[0]):
            with LIMIT_LOCK:
                with open(log + ".429", "a") as f:
                    f.write("%.3f %s\n" % (time.monotonic(), self.path))
                refuse = LIMIT_LEFT[0] > 0
                LIMIT_LEFT[0] -= 1
            if refuse:
                body = json.dumps({"type": "urn:ietf:params:acme:error:rateLimited",
                                   "detail": "slow down (test proxy)"}).encode()
                return self._send(429, [("Content-Type", "application/problem+json"),
                                        ("Retry-After", LIMIT[2])], body)
        if self.command == "POST" and self.path.startswith("/order-plz"):
            p = json.loads(data)["payload"]
            order = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
            with open(log + ".orders", "a") as f:
                f.write(order.get("replaces", "-") + "\n")
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection(upstream, context=ctx, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=data, headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        if TOKEN_TAIL and self.path.startswith("/authZ/") and r.status == 200:
            d = json.loads(body)
            for ch in d.get("challenges", []):
                ch["token"] += TOKEN_TAIL
            body = json.dumps(d).encode()
        if self.path == "/dir" and r.status == 200:
            d = json.loads(body)
            d["renewalInfo"] = "https://%s/renewal-info/" % self.headers["Host"]
            body = json.dumps(d).encode()
        self._send(r.status, r.getheaders(), body)
        conn.close()

    do_GET = do_POST = do_HEAD = _forward


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Proxy)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
srv.socket = tls.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
