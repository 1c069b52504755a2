# SPDX-License-Identifier: Apache-2.0
"""ACM: import/reimport with AWS's documented rules, describe, get, list, tags, delete."""
import base64
import datetime
import json
import re
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import certs
from errors import AwsError
from server_util import partition

MAX_IMPORTED = 2500
DEFAULT_PAGE = 3  # small on purpose: clients must follow NextToken
DEFAULT_KEY_TYPES = ["RSA_1024", "RSA_2048"]
_ARN_RE = re.compile(r"^arn:aws(-cn|-us-gov)?:acm:([a-z0-9-]+):(\d{12}):certificate/([A-Za-z0-9-]+)$")


def V(msg):
    return AwsError("ValidationException", msg)


def _bucket(ctx):
    return ctx["app"].state.bucket("acm", ctx["account"], ctx["region"])


def _save(ctx, arn):
    """Log the one changed (or deleted) certificate record."""
    ctx["app"].state.commit("acm", "%s/%s" % (ctx["account"], ctx["region"]), arn)


def _find(ctx, arn):
    m = _ARN_RE.match(arn)
    if not m:
        raise AwsError("InvalidArnException", "The ARN %s is not valid." % arn)
    rec = _bucket(ctx).get(arn)
    if rec is None or m.group(2) != ctx["region"] or m.group(3) != ctx["account"]:
        raise AwsError("ResourceNotFoundException",
                       "Could not find certificate %s." % arn)
    return rec


# -- import ----------------------------------------------------------------------------

def _text(blob, what):
    try:
        return blob.decode("ascii")
    except UnicodeDecodeError:
        raise V("The %s is not PEM-encoded: DER or binary input is not supported; "
                "provide PEM text." % what)


def _parse_leaf(blob):
    text = _text(blob, "certificate")
    n = text.count("-----BEGIN CERTIFICATE-----")
    if n > 1:
        raise V("The certificate field contains more than one certificate. You can "
                "specify only one certificate in this field.")
    if n == 0:
        raise V("Unable to parse certificate. Please ensure the certificate is in PEM format.")
    try:
        found, blocks = certs.load_pem_certs(text)
    except ValueError:
        raise V("Unable to parse certificate. Please ensure the certificate is in PEM format.")
    return found[0], blocks[0]


def _parse_key(blob):
    text = _text(blob, "private key")
    if "ENCRYPTED" in text:
        raise V("The private key is encrypted. Provide an unencrypted private key "
                "(no password or passphrase).")
    if "-----BEGIN" not in text:
        raise V("Unable to parse private key. Please ensure the key is in PEM format.")
    # ACM strips an optional EC PARAMETERS block.
    text = re.sub(r"-----BEGIN EC PARAMETERS-----.*?-----END EC PARAMETERS-----\s*", "",
                  text, flags=re.S)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        raise V("The private key is encrypted. Provide an unencrypted private key "
                "(no password or passphrase).")
    except (ValueError, Exception):
        raise V("Unable to parse private key. Please ensure the key is in PEM format.")
    return key


def _check_cert(cert, key):
    if cert.version != x509.Version.v3:
        raise V("The certificate must be an X.509 version 3 certificate.")
    alg = certs.key_algorithm(cert.public_key())
    if alg is None:
        raise V("The certificate key algorithm is not supported. Supported algorithms: %s."
                % ", ".join(certs.KEY_ALGORITHMS))
    if certs.spki_der(key.public_key()) != certs.spki_der(cert.public_key()):
        raise V("The private key does not match the public key in the certificate.")
    now = certs.now_utc()
    if cert.not_valid_before > now:
        raise V("The certificate is not valid yet: NotBefore is %s."
                % cert.not_valid_before.isoformat())
    if cert.not_valid_after < now:
        raise V("The certificate has expired: NotAfter is %s." % cert.not_valid_after.isoformat())
    if len(cert.issuer) == 0:
        raise V("The certificate's Issuer field must not be empty.")
    for url in certs.ocsp_urls(cert):
        if len(url) > 1000:
            raise V("The OCSP authority URL must not exceed 1000 characters.")
    return alg


def _check_chain(cert, blob):
    text = _text(blob, "certificate chain")
    try:
        chain, blocks = certs.load_pem_certs(text)
    except ValueError:
        chain, blocks = [], []
    if not chain:
        raise V("Unable to parse certificate chain. Please ensure the chain is PEM-encoded.")
    leaf_der = cert.public_bytes(serialization.Encoding.DER)
    if any(c.public_bytes(serialization.Encoding.DER) == leaf_der for c in chain):
        raise V("The certificate chain must not contain the certificate itself.")
    child = cert
    for parent in chain:
        if child.issuer != parent.subject or not certs.signed_by(child, parent):
            raise V("Could not validate the certificate with the certificate chain.")
        child = parent
    return "".join(blocks)


def _check_issuer_family(cert, chain):
    """ACM's rule: the leaf's key is of the signing CA's key family (RSA CA, RSA leaf)."""
    issuer = chain[0]  # _check_chain proved it signed the leaf
    if certs.key_algorithm(issuer.public_key())[:2] != certs.key_algorithm(cert.public_key())[:2]:
        raise V("The cryptographic algorithm of an imported certificate must match the "
                "algorithm of the signing CA. For example, if the signing CA key type is RSA, "
                "then the certificate key type must also be RSA.")


def _check_reimport(old, cert):
    old_cert = x509.load_pem_x509_certificate(old["certificate_pem"].encode())
    old_alg = certs.key_algorithm(old_cert.public_key())
    new_alg = certs.key_algorithm(cert.public_key())
    if old_alg != new_alg:
        raise V("The certificate's key algorithm %s does not match the key algorithm %s of "
                "the certificate being replaced. You cannot change the key type or size "
                "when reimporting." % (new_alg, old_alg))
    is_ec = new_alg.startswith("EC_")
    old_ku, new_ku = certs.key_usages(old_cert), certs.key_usages(cert)
    if old_ku is None and new_ku is not None:
        raise V("The certificate being reimported adds a KeyUsage extension that the "
                "existing certificate does not have.")
    if old_ku is not None:
        missing = [k for k in old_ku if k not in (new_ku or [])
                   and not (is_ec and k == "KEY_ENCIPHERMENT")]
        if missing:
            raise V("The certificate being reimported removes KeyUsage values present in "
                    "the existing certificate: %s." % ", ".join(missing))
    old_eku, new_eku = certs.ext_key_usages(old_cert), certs.ext_key_usages(cert)
    if old_eku is None and new_eku is not None:
        raise V("The certificate being reimported adds an ExtendedKeyUsage extension that "
                "the existing certificate does not have.")
    if old_eku is not None:
        missing = [certs.eku_name(o) for o in old_eku if o not in (new_eku or [])
                   and o != certs.CLIENT_AUTH]
        if missing:
            raise V("The certificate being reimported removes ExtendedKeyUsage values "
                    "present in the existing certificate: %s." % ", ".join(missing))
    domain, _ = certs.domain_names(cert)
    if not domain:
        raise V("The certificate must contain at least one domain name.")


def _check_tags(tags, existing=None):
    for t in tags or []:
        if t["Key"].lower().startswith("aws:"):
            raise AwsError("InvalidTagException",
                           "Tag key '%s' uses the reserved prefix 'aws:'." % t["Key"])
    merged = {t["Key"]: t.get("Value") for t in existing or []}
    for t in tags or []:
        merged[t["Key"]] = t.get("Value")
    if len(merged) > 50:
        raise AwsError("TooManyTagsException", "A certificate can have at most 50 tags.")
    return [{"Key": k, "Value": v} if v is not None else {"Key": k} for k, v in merged.items()]


def op_ImportCertificate(ctx, p):
    cert_blob = base64.b64decode(p["Certificate"])
    key_blob = base64.b64decode(p["PrivateKey"])
    arn = p.get("CertificateArn")
    if arn and p.get("Tags"):
        raise V("You cannot apply tags when reimporting a certificate. Use "
                "AddTagsToCertificate after the reimport.")
    old = None
    if arn:
        old = _find(ctx, arn)
        if old["type"] != "IMPORTED":
            raise V("The certificate %s is of type %s; only IMPORTED certificates can be "
                    "reimported." % (arn, old["type"]))
    cert, cert_pem = _parse_leaf(cert_blob)
    key = _parse_key(key_blob)
    _check_cert(cert, key)
    chain_pem = None
    if p.get("CertificateChain") is not None:
        chain_pem = _check_chain(cert, base64.b64decode(p["CertificateChain"]))
        cfg = ctx["app"].state.data.get("acm_config") or {}
        if cfg.get("enforce_issuer_key_algorithm", True):
            _check_issuer_family(cert, certs.load_pem_certs(chain_pem)[0])
    if old is not None:
        _check_reimport(old, cert)
    tags = _check_tags(p.get("Tags"))
    key_pem = key_blob.decode("ascii")
    now = time.time()
    bucket = _bucket(ctx)
    if old is None:
        if sum(1 for r in bucket.values() if r["type"] == "IMPORTED") >= MAX_IMPORTED:
            raise AwsError("LimitExceededException", "The certificate quota has been exceeded.")
        arn = "arn:%s:acm:%s:%s:certificate/%s" % (partition(ctx["region"]), ctx["region"],
                                                   ctx["account"], uuid.uuid4())
        rec = {"arn": arn, "type": "IMPORTED", "created_at": now, "in_use_by": [],
               "tags": tags, "history": [], "account": ctx["account"], "region": ctx["region"]}
        bucket[arn] = rec
    else:
        rec = old
        rec["history"].append({"serial": rec["serial"], "imported_at": rec["imported_at"]})
    rec.update({"certificate_pem": cert_pem, "chain_pem": chain_pem, "key_pem": key_pem,
                "imported_at": now, "serial": certs.serial_colon(cert.serial_number)})
    cert_facts(cert_pem)
    _save(ctx, arn)
    return {"CertificateArn": arn}


# -- describe / get / list --------------------------------------------------------------

def _alg_name(alg, state):
    """KeyAlgorithm as reported: the model's enum (RSA_2048) or, when a test asks
    for it, the hyphenated form (RSA-2048, EC-prime256v1) seen in some AWS output."""
    style = ((state.data.get("acm_config") or {}) if state is not None else {}).get(
        "key_algorithm_style", "enum")
    return alg.replace("_", "-", 1) if style == "hyphen" and alg else alg


# What detail() reads from a certificate, by its PEM. Parsing it was most of the cost of a
# DescribeCertificate (~0.3 ms of CPU in a process that serves every simulated account at
# once), so it is done when a certificate is stored, as ACM keeps its metadata from import
# on, and looked up after. A PEM not seen yet (state loaded from disk) is parsed on first
# use, with the same result. Bounded so a long run of imports cannot grow it without end.
_FACTS = {}
_FACTS_MAX = 50000


def cert_facts(pem):
    f = _FACTS.get(pem)
    if f is not None:
        return f
    cert = x509.load_pem_x509_certificate(pem.encode())
    domain, sans = certs.domain_names(cert)
    f = {"serial": certs.serial_colon(cert.serial_number),
         "subject": certs.name_string(cert.subject),
         "issuer": certs.name_string(cert.issuer),
         "not_after_dt": cert.not_valid_after,
         "not_before": certs.epoch(cert.not_valid_before),
         "not_after": certs.epoch(cert.not_valid_after),
         "key_algorithm": certs.key_algorithm(cert.public_key()),
         "signature_algorithm": certs.signature_algorithm(cert),
         "key_usages": tuple(certs.key_usages(cert) or ()),
         "ext_key_usages": tuple(certs.ext_key_usages(cert) or ()),
         "domain": domain, "sans": tuple(sans)}
    if len(_FACTS) >= _FACTS_MAX:
        _FACTS.clear()
    _FACTS[pem] = f
    return f


def detail(rec, state=None):
    f = cert_facts(rec["certificate_pem"])
    domain, sans = f["domain"], list(f["sans"])
    now = certs.now_utc()
    d = {"CertificateArn": rec["arn"],
         "Serial": f["serial"],
         "Subject": f["subject"],
         "Issuer": f["issuer"],
         "CreatedAt": rec["created_at"],
         "Status": rec.get("status") or ("EXPIRED" if f["not_after_dt"] < now else "ISSUED"),
         "NotBefore": f["not_before"],
         "NotAfter": f["not_after"],
         "KeyAlgorithm": _alg_name(f["key_algorithm"], state),
         "SignatureAlgorithm": f["signature_algorithm"],
         "InUseBy": list(rec["in_use_by"]),
         "Type": rec["type"],
         "KeyUsages": [{"Name": n} for n in f["key_usages"]],
         "ExtendedKeyUsages": [{"Name": certs.eku_name(o), "OID": o}
                               for o in f["ext_key_usages"]],
         "RenewalEligibility": "INELIGIBLE" if rec["type"] == "IMPORTED" else "ELIGIBLE",
         "Options": {"CertificateTransparencyLoggingPreference": "ENABLED"}}
    if domain:
        d["DomainName"] = domain
        d["SubjectAlternativeNames"] = sans
    if rec["type"] == "IMPORTED":
        d["ImportedAt"] = rec["imported_at"]
    else:
        d["IssuedAt"] = rec["imported_at"]
        d["DomainValidationOptions"] = [{"DomainName": n, "ValidationDomain": n,
                                         "ValidationStatus": "SUCCESS",
                                         "ValidationMethod": "DNS"} for n in sans]
    return d


def op_DescribeCertificate(ctx, p):
    return {"Certificate": detail(_find(ctx, p["CertificateArn"]), ctx["app"].state)}


def op_GetCertificate(ctx, p):
    rec = _find(ctx, p["CertificateArn"])
    out = {"Certificate": rec["certificate_pem"]}
    if rec.get("chain_pem"):
        out["CertificateChain"] = rec["chain_pem"]
    return out


def _summary(rec):
    d = detail(rec)
    s = {k: d[k] for k in ("CertificateArn", "Status", "Type", "KeyAlgorithm",
                           "RenewalEligibility", "NotBefore", "NotAfter", "CreatedAt")}
    if "DomainName" in d:
        s["DomainName"] = d["DomainName"]
        s["SubjectAlternativeNameSummaries"] = d["SubjectAlternativeNames"][:100]
        s["HasAdditionalSubjectAlternativeNames"] = len(d["SubjectAlternativeNames"]) > 100
    s["KeyUsages"] = [k["Name"] for k in d["KeyUsages"]]
    s["ExtendedKeyUsages"] = [k["Name"] for k in d["ExtendedKeyUsages"]]
    s["InUse"] = bool(d["InUseBy"])
    s["Exported"] = False
    for k in ("ImportedAt", "IssuedAt"):
        if k in d:
            s[k] = d[k]
    return s, d


def _token(offset, fingerprint):
    return base64.b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode()


def op_ListCertificates(ctx, p):
    inc = p.get("Includes") or {}
    key_types = inc.get("keyTypes") or DEFAULT_KEY_TYPES
    default_types = not inc.get("keyTypes")
    eku_f = inc.get("extendedKeyUsage") or []
    ku_f = inc.get("keyUsage") or []
    statuses = p.get("CertificateStatuses") or []
    fingerprint = json.dumps([inc, statuses, p.get("SortBy"), p.get("SortOrder")],
                             sort_keys=True)
    offset = 0
    if p.get("NextToken"):
        try:
            tok = json.loads(base64.b64decode(p["NextToken"]))
            offset = int(tok["o"])
            if tok["f"] != fingerprint:
                raise ValueError("filters changed")
        except (ValueError, KeyError, TypeError):
            raise AwsError("InvalidArgsException", "The NextToken is not valid.")
    rows = []
    for rec in sorted(_bucket(ctx).values(), key=lambda r: (r["created_at"], r["arn"])):
        s, d = _summary(rec)
        if s["KeyAlgorithm"] not in key_types:
            continue
        if default_types and "DomainName" not in s:
            continue
        if statuses and s["Status"] not in statuses:
            continue
        if eku_f and not _match_eku(eku_f, s["ExtendedKeyUsages"]):
            continue
        if ku_f and not _match_ku(ku_f, s["KeyUsages"]):
            continue
        rows.append(s)
    if p.get("SortOrder") == "DESCENDING":
        rows.reverse()
    page = int(p.get("MaxItems") or DEFAULT_PAGE)
    out = {"CertificateSummaryList": rows[offset:offset + page]}
    if offset + page < len(rows):
        out["NextToken"] = _token(offset + page, fingerprint)
    return out


def _match_eku(wanted, have):
    for w in wanted:
        if w == "ANY" and have:
            return True
        if w == "NONE" and not have:
            return True
        if w in have:
            return True
    return False


def _match_ku(wanted, have):
    return any(w in have or (w == "ANY" and have) for w in wanted)


# -- tags / delete ------------------------------------------------------------------------

def op_AddTagsToCertificate(ctx, p):
    rec = _find(ctx, p["CertificateArn"])
    rec["tags"] = _check_tags(p["Tags"], rec["tags"])
    _save(ctx, rec["arn"])
    return {}


def op_RemoveTagsFromCertificate(ctx, p):
    rec = _find(ctx, p["CertificateArn"])
    drop = {(t["Key"], t.get("Value")) for t in p["Tags"]}
    keys = {t["Key"] for t in p["Tags"] if "Value" not in t}
    rec["tags"] = [t for t in rec["tags"] if t["Key"] not in keys
                   and (t["Key"], t.get("Value")) not in drop]
    _save(ctx, rec["arn"])
    return {}


def op_ListTagsForCertificate(ctx, p):
    rec = _find(ctx, p["CertificateArn"])
    return {"Tags": list(rec["tags"])}


def op_DeleteCertificate(ctx, p):
    rec = _find(ctx, p["CertificateArn"])
    if rec["in_use_by"]:
        raise AwsError("ResourceInUseException", "Certificate %s is in use by %s."
                       % (rec["arn"], ", ".join(rec["in_use_by"])))
    del _bucket(ctx)[rec["arn"]]
    _save(ctx, rec["arn"])
    return {}


# -- control interface -------------------------------------------------------------------

def control_list(state, account, region):
    out = []
    for rec in state.bucket("acm", account, region).values():
        item = {"arn": rec["arn"], "type": rec["type"], "certificate_pem": rec["certificate_pem"],
                "chain_pem": rec.get("chain_pem"), "private_key_pem": rec.get("key_pem"),
                "in_use_by": rec["in_use_by"], "tags": rec["tags"], "serial": rec["serial"],
                "history": rec["history"], "reimport_count": len(rec["history"]),
                "detail": detail(rec)}
        if rec.get("key_pem"):
            key = serialization.load_pem_private_key(rec["key_pem"].encode(), password=None)
            item["public_key_pem"] = certs.public_pem(key.public_key())
        out.append(item)
    return out


def control_inuse(state, arn, users):
    m = _ARN_RE.match(arn)
    if not m:
        raise AwsError("InvalidArnException", "The ARN %s is not valid." % arn)
    rec = state.bucket("acm", m.group(3), m.group(2)).get(arn)
    if rec is None:
        raise AwsError("ResourceNotFoundException", "Could not find certificate %s." % arn, 404)
    rec["in_use_by"] = [str(u) for u in users]
    state.save()
    return {"arn": arn, "in_use_by": rec["in_use_by"]}


def control_amazon_issued(state, account, region, body):
    """Create an AMAZON_ISSUED certificate (as RequestCertificate would, validated)."""
    domain = body.get("domain_name", "amazon-issued.example.com")
    alg = body.get("key_algorithm", "RSA_2048")
    if alg == "RSA_2048":
        key = rsa.generate_private_key(65537, 2048)
    elif alg == "EC_prime256v1":
        key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EC_secp384r1":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        raise AwsError("ValidationException", "key_algorithm must be RSA_2048, "
                       "EC_prime256v1 or EC_secp384r1", 400)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=395))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), False)
            .add_extension(x509.KeyUsage(True, False, alg == "RSA_2048", False, False, False,
                                         False, False, False), True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                  x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                           False)
            .sign(ca_key, hashes.SHA256()))
    arn = "arn:%s:acm:%s:%s:certificate/%s" % (partition(region), region, account, uuid.uuid4())
    t = time.time()
    rec = {"arn": arn, "type": "AMAZON_ISSUED", "created_at": t, "imported_at": t,
           "in_use_by": list(body.get("in_use_by", [])), "tags": [], "history": [],
           "account": account, "region": region,
           "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
           "chain_pem": None, "key_pem": None, "serial": certs.serial_colon(cert.serial_number)}
    state.bucket("acm", account, region)[arn] = rec
    state.save()
    return {"arn": arn, "detail": detail(rec)}
