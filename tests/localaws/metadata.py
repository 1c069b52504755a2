# SPDX-License-Identifier: Apache-2.0
"""Credential endpoints AWS serves over plain HTTP: EC2 IMDSv2 and ECS.

IMDSv2:  PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds: 1..21600)
         GET /latest/meta-data/iam/security-credentials/        -> role name
         GET /latest/meta-data/iam/security-credentials/<role>  -> JSON credentials
         A GET without a valid X-aws-ec2-metadata-token gets 401 (IMDSv1 is off).
ECS:     GET /ecs/<anything>  -> JSON credentials; when an authorization token is
         configured (POST /_control/ecs) the Authorization header must equal it.
"""
import hmac
import json
import secrets
import threading
import time

import creds

_lock = threading.Lock()
_imds_tokens = {}  # token -> expiry

DEFAULT_IMDS = {"account": creds.DEFAULT_ACCOUNT, "role_name": "h2a-instance-role",
                "duration_seconds": 21600, "enabled": True}
DEFAULT_ECS = {"account": creds.DEFAULT_ACCOUNT, "role_name": "h2a-task-role",
               "duration_seconds": 21600, "authorization": None, "enabled": True}


def _cfg(app, kind):
    base = dict(DEFAULT_IMDS if kind == "imds" else DEFAULT_ECS)
    base.update(app.state.data.get(kind) or {})
    return base


def _credentials(app, kind):
    """Current credentials for the instance/task role, rotated at half-life."""
    cfg = _cfg(app, kind)
    state = app.state
    with state.lock:
        cache = state.data.setdefault("cache_" + kind, {})
        now = time.time()
        dur = int(cfg["duration_seconds"])
        if cache.get("AccessKeyId") and cache.get("role_name") == cfg["role_name"] and \
                cache["Expiration"] - now > dur / 2.0:
            return cfg, cache
        arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (cfg["account"], cfg["role_name"],
                                                      "i-0h2a" if kind == "imds" else "task")
        rid = creds.role_id(cfg["account"], cfg["role_name"])
        c = creds.issue_temporary(state, cfg["account"], arn, rid + ":session", dur,
                                  save=False)
        c["role_name"] = cfg["role_name"]
        c["issued"] = now
        state.data["cache_" + kind] = c
        state.commit("tempcreds", c["AccessKeyId"])
        state.commit("cache_" + kind)
        return cfg, c


def _json_creds(c, kind, cfg):
    out = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
           "Token": c["SessionToken"], "Expiration": creds.iso8601(c["Expiration"])}
    if kind == "imds":
        out = dict({"Code": "Success", "LastUpdated": creds.iso8601(c["issued"]),
                    "Type": "AWS-HMAC"}, **out)
    else:
        out["RoleArn"] = "arn:aws:iam::%s:role/%s" % (cfg["account"], cfg["role_name"])
    return json.dumps(out, indent=2)


def _text(status, body):
    return status, "text/plain", body, {}


def handle(app, method, path, headers, body):
    if path.startswith("/ecs/"):
        return _ecs(app, method, headers)
    cfg = _cfg(app, "imds")
    if not cfg.get("enabled", True):
        return _text(404, "Not Found")
    if path == "/latest/api/token":
        if method != "PUT":
            return _text(405, "Method Not Allowed")
        ttl = headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            return _text(400, "Bad Request")
        if not 1 <= ttl <= 21600:
            return _text(400, "Bad Request")
        tok = "AQAEA" + secrets.token_urlsafe(40)
        with _lock:
            _imds_tokens[tok] = time.time() + ttl
        return 200, "text/plain", tok, {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)}
    if method != "GET":
        return _text(405, "Method Not Allowed")
    tok = headers.get("X-aws-ec2-metadata-token")
    with _lock:
        exp = _imds_tokens.get(tok) if tok else None
    if exp is None or exp < time.time():
        return _text(401, "Unauthorized")
    prefix = "/latest/meta-data/iam/security-credentials/"
    if path == prefix or path == prefix.rstrip("/"):
        return _text(200, cfg["role_name"])
    if path.startswith(prefix):
        role = path[len(prefix):]
        if role != cfg["role_name"]:
            return _text(404, "Not Found")
        cfg, c = _credentials(app, "imds")
        return 200, "text/plain", _json_creds(c, "imds", cfg), {}
    if path == "/latest/meta-data/placement/region":
        return _text(200, "eu-west-1")
    if path == "/latest/meta-data/instance-id":
        return _text(200, "i-0h2a0000000000000")
    return _text(404, "Not Found")


def _ecs(app, method, headers):
    cfg = _cfg(app, "ecs")
    if method != "GET" or not cfg.get("enabled", True):
        return 404, "application/json", json.dumps({"message": "Not Found"}), {}
    want = cfg.get("authorization")
    if want:
        got = headers.get("Authorization") or ""
        if not hmac.compare_digest(got.encode(), want.encode()):
            return 401, "application/json", json.dumps(
                {"code": "AccessDenied", "message": "invalid Authorization header"}), {}
    cfg, c = _credentials(app, "ecs")
    return 200, "application/json", _json_creds(c, "ecs", cfg), {}


def reset():
    with _lock:
        _imds_tokens.clear()
