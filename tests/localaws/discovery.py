# SPDX-License-Identifier: Apache-2.0
"""What discovery tests need beyond the single-account services: an Organizations tree
of extra accounts with states, roles that do not exist, ACM certificates of every key
type and status made directly (expired ones cannot be imported), (the per-API rate
limits are in ratelimit.py)."""
import datetime
import threading
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import acm
import certs
from errors import AwsError
from server_util import partition

STATUSES = ["PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT",
            "REVOKED", "FAILED"]
ACCOUNT_STATES = ["PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"]
_KEYS = {}
_KEYS_LOCK = threading.Lock()


def _key(alg):
    """One key per algorithm per process: seeding 6000 certificates must not wait for
    6000 RSA-4096 key generations, and ACM never compares keys across certificates."""
    with _KEYS_LOCK:
        if alg not in _KEYS:
            if alg.startswith("RSA_"):
                _KEYS[alg] = rsa.generate_private_key(65537, int(alg[4:]))
            else:
                curve = {"EC_prime256v1": ec.SECP256R1(), "EC_secp384r1": ec.SECP384R1(),
                         "EC_secp521r1": ec.SECP521R1()}[alg]
                _KEYS[alg] = ec.generate_private_key(curve)
        return _KEYS[alg]


def _cert(alg, domain, days_before, days_after, issuer_cn):
    key = _key(alg)
    now = datetime.datetime.utcnow()
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, domain)] if domain else \
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "h2a no domain")]
    b = (x509.CertificateBuilder().subject_name(x509.Name(subject))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=days_before))
         .not_valid_after(now + datetime.timedelta(days=days_after)))
    if domain:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(domain), x509.DNSName("www." + domain)]), False)
    return b.sign(key, hashes.SHA256())


def seed(state, account, region, body):
    """Create `count` certificates directly in ACM's state: any key type, type, status,
    validity (negative `days_valid` = already expired), with or without a domain."""
    alg = body.get("key_algorithm", "RSA_2048")
    if alg not in certs.KEY_ALGORITHMS:
        raise ValueError("key_algorithm: expected one of %s" % certs.KEY_ALGORITHMS)
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise ValueError("status: expected one of %s" % STATUSES)
    ctype = body.get("type", "IMPORTED")
    if ctype not in ("IMPORTED", "AMAZON_ISSUED", "PRIVATE"):
        raise ValueError("type: expected IMPORTED, AMAZON_ISSUED or PRIVATE")
    days = int(body.get("days_valid", 90))
    out = []
    for i in range(int(body.get("count", 1))):
        domain = body.get("domain_name", "seed-%s.h2a.test" % uuid.uuid4().hex[:8])
        if domain and int(body.get("count", 1)) > 1:
            domain = "%d.%s" % (i, domain)
        cert = _cert(alg, domain, 400 if days < 0 else 1, days, body.get("issuer", "h2a seed CA"))
        arn = "arn:%s:acm:%s:%s:certificate/%s" % (partition(region), region, account,
                                                   uuid.uuid4())
        t = time.time()
        rec = {"arn": arn, "type": ctype, "created_at": t, "imported_at": t,
               "in_use_by": list(body.get("in_use_by", [])), "tags": list(body.get("tags", [])),
               "history": [], "account": account, "region": region,
               "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
               "chain_pem": None, "key_pem": None, "serial": certs.serial_colon(cert.serial_number)}
        if status is not None:
            rec["status"] = status
        acm.cert_facts(rec["certificate_pem"])
        state.bucket("acm", account, region)[arn] = rec
        out.append(arn)
    state.save()
    return {"arns": out}


def org_accounts(state, body):
    """Add accounts to the organization: [{Id, Name, State}]; they can be assumed into."""
    rows = state.data.get("org_accounts") or []
    for a in body.get("accounts", []):
        if not (isinstance(a.get("Id"), str) and len(a["Id"]) == 12 and a["Id"].isdigit()):
            raise ValueError("accounts[].Id: expected 12 digits")
        if a.get("State", "ACTIVE") not in ACCOUNT_STATES:
            raise ValueError("accounts[].State: expected one of %s" % ACCOUNT_STATES)
        rows = [r for r in rows if r["Id"] != a["Id"]]
        rows.append({"Id": a["Id"], "Name": a.get("Name", "h2a-" + a["Id"]),
                     "Email": "%s@h2a.test" % a["Id"], "State": a.get("State", "ACTIVE")})
    state.data["org_accounts"] = rows
    cfg = state.data.setdefault("org_config", {})
    for k in ("page_size", "empty_pages"):
        if k in body:
            cfg[k] = body[k]
    state.save()
    return {"accounts": rows, "config": cfg}


def extra_account(state, account):
    return any(r["Id"] == account for r in state.data.get("org_accounts") or [])
