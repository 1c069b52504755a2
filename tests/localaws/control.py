# SPDX-License-Identifier: Apache-2.0
"""Unsigned JSON control interface under /_control/ (see README.md)."""
import base64
import json
import os
import secrets
import time

import acm
import creds
import discovery
import ec2
import metadata
import pca
import secrets_svc
from errors import AwsError


class BadRequest(Exception):
    pass


def _need(obj, name, kind=str):
    v = obj.get(name)
    if not isinstance(v, kind):
        raise BadRequest("field %r: expected %s" % (name, kind.__name__))
    return v


def _acct_region(q, body=None):
    src = dict(q)
    if body:
        src.update({k: v for k, v in body.items() if k in ("account", "region")})
    return src.get("account", creds.DEFAULT_ACCOUNT), src.get("region", "eu-west-1")


def handle(app, method, path, query, raw):
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except ValueError:
        return 400, {"error": "body is not JSON"}
    try:
        return _route(app, method, path.rstrip("/"), query, body)
    except BadRequest as exc:
        return 400, {"error": str(exc)}
    except AwsError as exc:
        return exc.status, {"error": exc.message, "code": exc.code}


def _route(app, method, path, q, body):
    st = app.state
    if path == "/_control/health":
        return 200, {"ok": True, "https_port": app.https_port, "http_port": app.http_port,
                     "pid": os.getpid(), "uptime": time.time() - app.started}
    if path == "/_control/stats":
        with app.lock:
            if method == "DELETE":
                for k in app.stats:
                    app.stats[k] = 0
            return 200, dict(app.stats)
    if path == "/_control/faults":
        if method == "POST":
            from faults import FAULT_KINDS, Fault
            specs = body if isinstance(body, list) else [body]
            added = []
            for spec in specs:
                if spec.get("kind") not in FAULT_KINDS:
                    raise BadRequest("field 'kind': expected one of %s" % sorted(FAULT_KINDS))
                try:
                    f = Fault(spec)
                except (TypeError, ValueError) as exc:
                    raise BadRequest("fault: %s" % exc)
                added.append(f)
            with app.lock:
                app.faults.extend(added)
                return 200, {"faults": [f.describe() for f in app.faults]}
        if method == "DELETE":
            with app.lock:
                app.faults = []
            return 200, {"faults": []}
        with app.lock:
            return 200, {"faults": [f.describe() for f in app.faults]}
    if path == "/_control/calls":
        if method == "DELETE":
            with app.lock:
                app.calls = []
            return 200, {"calls": []}
        with app.lock:
            calls = [c for c in app.calls
                     if all(c.get(k) == v for k, v in q.items()
                            if k in ("service", "operation", "account", "region"))]
        return 200, {"calls": calls}
    if path == "/_control/reset":
        st.reset()
        metadata.reset()
        with app.lock:
            app.faults = []
            app.calls = []
            for k in app.stats:
                app.stats[k] = 0
        return 200, {"reset": True}
    if path == "/_control/acm":
        account, region = _acct_region(q)
        with st.lock:
            return 200, {"certificates": acm.control_list(st, account, region)}
    if path == "/_control/acm/config" and method == "POST":
        cfg = dict(st.data.get("acm_config") or {})
        bad = set(body) - {"key_algorithm_style", "enforce_issuer_key_algorithm"}
        if bad:
            raise BadRequest("unknown fields %s" % sorted(bad))
        if "key_algorithm_style" in body:
            if body["key_algorithm_style"] not in ("enum", "hyphen"):
                raise BadRequest("field 'key_algorithm_style': expected 'enum' or 'hyphen'")
            cfg["key_algorithm_style"] = body["key_algorithm_style"]
        if "enforce_issuer_key_algorithm" in body:
            cfg["enforce_issuer_key_algorithm"] = bool(body["enforce_issuer_key_algorithm"])
        with st.lock:
            st.data["acm_config"] = cfg
            st.save()
        return 200, cfg
    if path == "/_control/acm/inuse" and method == "POST":
        arn = _need(body, "arn")
        users = _need(body, "in_use_by", list)
        with st.lock:
            return 200, acm.control_inuse(st, arn, users)
    if path == "/_control/acm/amazon-issued" and method == "POST":
        account, region = _acct_region(q, body)
        with st.lock:
            return 200, acm.control_amazon_issued(st, account, region, body)
    if path == "/_control/acm/seed" and method == "POST":
        account, region = _acct_region(q, body)
        with st.lock:
            try:
                return 200, discovery.seed(st, account, region, body)
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/org" and method == "POST":
        with st.lock:
            try:
                return 200, discovery.org_accounts(st, body)
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/regions" and method == "POST":
        with st.lock:
            try:
                return 200, ec2.control_regions(st, body)
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/ratelimits" and method == "POST":
        return 200, app.ratelimits.configure(body)
    if path == "/_control/ratelimits":
        return 200, {"rates": app.ratelimits.rates, "refused": app.ratelimits.refused}
    if path == "/_control/secrets/config" and method == "POST":
        with st.lock:
            try:
                return 200, secrets_svc.control_config(st, body or {})
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/secrets":
        account, region = _acct_region(q)
        with st.lock:
            return 200, {"secrets": secrets_svc.control_list(st, account, region)}
    if path == "/_control/pca/settings" and method == "POST":
        with st.lock:
            try:
                return 200, pca.control_settings(st, body)
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/pca/update" and method == "POST":
        account, region = _acct_region(q, body)
        with st.lock:
            try:
                return 200, pca.control_update(st, account, region, body)
            except ValueError as exc:
                raise BadRequest(str(exc))
    if path == "/_control/pca":
        account, region = _acct_region(q, body)
        with st.lock:
            if method == "POST":
                try:
                    return 200, pca.control_create(st, account, region, body)
                except ValueError as exc:
                    raise BadRequest(str(exc))
            return 200, {"certificate_authorities": pca.control_list(st, account, region)}
    if path == "/_control/route53/forward":
        import route53
        # ACME tests: TXT changes are mirrored to pebble-challtestsrv's management API.
        route53.FORWARD["url"] = str((body or {}).get("challtestsrv") or "") or None
        return 200, {"challtestsrv": route53.FORWARD["url"]}
    if path == "/_control/route53":
        import route53
        account = q.get("account") or (body or {}).get("account") or "111111111111"
        with st.lock:
            if method == "POST":
                try:
                    return 200, route53.control_create(st, account, body)
                except ValueError as exc:
                    raise BadRequest(str(exc))
            return 200, {"zones": route53.control_list(st, account)}
    if path == "/_control/sqs":
        import sqs
        account, region = _acct_region(q, body)
        with st.lock:
            if method == "POST":
                try:
                    return 200, sqs.control_create(st, account, region, body)
                except ValueError as exc:
                    raise BadRequest(str(exc))
            return 200, {"queues": sqs.control_list(st, account, region)}
    if path == "/_control/roles" and method == "POST":
        account = _need(body, "account")
        role = _need(body, "role_name")
        if account not in creds.ACCOUNTS and not discovery.extra_account(st, account):
            raise BadRequest("field 'account': unknown test account %s" % account)
        cfg = {"external_id": body.get("external_id"),
               "max_session": int(body.get("max_session", 43200)),
               "deny": bool(body.get("deny", False)),
               "missing": bool(body.get("missing", False))}
        with st.lock:
            st.data["roles"]["%s/%s" % (account, role)] = cfg
            st.save()
        return 200, {"role_arn": "arn:aws:iam::%s:role/%s" % (account, role), **cfg}
    if path == "/_control/roles":
        return 200, {"roles": st.data["roles"]}
    if path == "/_control/credentials" and method == "POST":
        account = body.get("account", creds.DEFAULT_ACCOUNT)
        if account not in creds.ACCOUNTS:
            raise BadRequest("field 'account': unknown test account %s" % account)
        role = body.get("role_name", "h2a-control-role")
        dur = int(body.get("duration_seconds", 3600))
        arn = "arn:aws:sts::%s:assumed-role/%s/control" % (account, role)
        c = creds.issue_temporary(st, account, arn, creds.role_id(account, role) + ":control",
                                  dur)
        c["ExpirationISO"] = creds.iso8601(c["Expiration"])
        return 200, c
    if path == "/_control/accounts":
        return 200, {"accounts": [{"account": a, "access_key_id": i["access_key"],
                                   "secret_access_key": i["secret_key"], "name": i["name"],
                                   "user_arn": creds.user_arn(a)}
                                  for a, i in creds.ACCOUNTS.items()]}
    if path == "/_control/webtokens" and method == "POST":
        token = body.get("token")
        if not token:
            def b64(o):
                return base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")
            token = "%s.%s.%s" % (b64({"alg": "RS256", "typ": "JWT"}),
                                  b64({"sub": "h2a-test-subject", "aud": "sts.amazonaws.com",
                                       "iat": int(time.time())}), secrets.token_urlsafe(32))
        with st.lock:
            st.data.setdefault("webtokens", []).append(token)
            st.save()
        return 200, {"token": token}
    if path in ("/_control/imds", "/_control/ecs") and method == "POST":
        kind = path.rsplit("/", 1)[1]
        allowed = {"account", "role_name", "duration_seconds", "enabled"}
        if kind == "ecs":
            allowed.add("authorization")
        bad = set(body) - allowed
        if bad:
            raise BadRequest("unknown fields %s; allowed %s" % (sorted(bad), sorted(allowed)))
        if "account" in body and body["account"] not in creds.ACCOUNTS:
            raise BadRequest("field 'account': unknown test account")
        with st.lock:
            cfg = st.data.setdefault(kind, {})
            cfg.update(body)
            st.data.pop("cache_" + kind, None)
            st.save()
            return 200, dict(cfg)
    return 404, {"error": "no control endpoint %s %s" % (method, path)}
