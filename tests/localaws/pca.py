# SPDX-License-Identifier: Apache-2.0
"""ACM PCA as a real CA: IssueCertificate signs the CSR with the CA's key and applies the
template; GetCertificate polls.

Control (/_control/pca): CAs of any PCA key algorithm (RSA_2048..EC_secp521r1), their
status, lifetime, shares with other accounts and whether Describe is denied; settings
(POST /_control/pca/settings): `pending_polls` (GetCertificate answers
RequestInProgressException that many times per certificate, default 1),
`issue_latency_ms` (and until that long after IssueCertificate), `token_window_seconds`
(how long an IdempotencyToken returns the same certificate, default 300; 0 forgets at once).
"""
import base64
import datetime
import re
import time
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from errors import AwsError
from server_util import partition

DEFAULT_CA_ID = "11111111-2222-3333-4444-555555555555"
_HASH = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}
_CURVES = {"EC_prime256v1": ec.SECP256R1, "EC_secp384r1": ec.SECP384R1,
           "EC_secp521r1": ec.SECP521R1}
_KEY_ALGS = ("RSA_2048", "RSA_3072", "RSA_4096") + tuple(_CURVES)
_DEFAULTS = {"pending_polls": 1, "issue_latency_ms": 0, "token_window_seconds": 300}
_SA, _CA_ = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
# KeyUsage (digital_signature, key_encipherment) and EKU the AWS templates set; the
# template wins over the CSR. Blank templates take the CSR's.
_TEMPLATES = {
    "EndEntityCertificate": ((True, True), [_SA, _CA_]),
    "EndEntityServerAuthCertificate": ((True, True), [_SA]),
    "EndEntityClientAuthCertificate": ((True, False), [_CA_]),
    "CodeSigningCertificate": ((True, False), [ExtendedKeyUsageOID.CODE_SIGNING]),
    "BlankEndEntityCertificate": (None, None),
}
# What the template sets itself: never copied from the CSR.
_TEMPLATE_OWNED = (ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                   ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
                   ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)


def _settings(state):
    cur = state.data["pca"].get("_settings") or {}
    return dict(_DEFAULTS, **cur)


def control_settings(state, body):
    cur = state.data["pca"].setdefault("_settings", {})
    for k, v in body.items():
        if k not in _DEFAULTS or not isinstance(v, int) or v < 0:
            raise ValueError("setting %r: expected one of %s, an integer >= 0"
                             % (k, sorted(_DEFAULTS)))
        cur[k] = v
    state.save()
    return _settings(state)


def _bucket(state, account, region):
    return state.bucket("pca", account, region)


def _new_ca(state, account, region, ca_id=None, key_algorithm="EC_prime256v1", days=3650):
    if key_algorithm not in _KEY_ALGS:
        raise ValueError("key_algorithm: one of %s" % ", ".join(_KEY_ALGS))
    ca_id = ca_id or str(uuid.uuid4())
    arn = "arn:%s:acm-pca:%s:%s:certificate-authority/%s" % (partition(region), region, account,
                                                             ca_id)
    if key_algorithm.startswith("RSA"):
        key = rsa.generate_private_key(65537, int(key_algorithm.split("_")[1]))
    else:
        key = ec.generate_private_key(_CURVES[key_algorithm]())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hsm2acm tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "localaws PCA %s" % ca_id[:8])])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                         False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA384() if "384" in key_algorithm or "521" in key_algorithm
                  else hashes.SHA256()))
    rec = {"arn": arn, "key_algorithm": key_algorithm,
           "key_pem": key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode(),
           "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(), "issued": {},
           "status": "ACTIVE", "shared_with": [], "describe_denied": False}
    _bucket(state, account, region)[arn] = rec
    state.save()
    return rec


def _ca(ctx, arn, op="IssueCertificate"):
    """The CA an ARN names, in the ARN's account: another account's CA only if shared."""
    state = ctx["app"].state
    m = re.match(r"^arn:aws[a-z-]*:acm-pca:([a-z0-9-]+):(\d{12}):certificate-authority/", arn)
    if not m:
        raise AwsError("InvalidArnException", "The ARN %s is not valid." % arn)
    region, owner = m.group(1), m.group(2)
    rec = _bucket(state, owner, region).get(arn)
    if rec is None and owner == ctx["account"] and arn.endswith("/" + DEFAULT_CA_ID):
        rec = _new_ca(state, owner, region, DEFAULT_CA_ID)
    if owner != ctx["account"] and (rec is None or ctx["account"] not in rec["shared_with"]):
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: "
                       "acm-pca:%s on resource: %s" % (ctx["identity"].arn, op, arn))
    if rec is None:
        raise AwsError("ResourceNotFoundException", "Could not find certificate authority "
                       "%s." % arn)
    return rec


def _validity(v, now):
    t, n = v["Type"], int(v["Value"])
    if t == "DAYS":
        return now + datetime.timedelta(days=n)
    if t == "MONTHS":
        return now + datetime.timedelta(days=30 * n)
    if t == "YEARS":
        return now + datetime.timedelta(days=365 * n)
    if t == "ABSOLUTE":
        return datetime.datetime.utcfromtimestamp(n)
    s = str(n)
    fmt = "%y%m%d%H%M%S" if len(s) == 12 else "%Y%m%d%H%M%S"
    try:
        return datetime.datetime.strptime(s, fmt)
    except ValueError:
        raise AwsError("InvalidArgsException", "Validity END_DATE %s is not valid." % s)


def _where(ca):
    f = ca["arn"].split(":")
    return "%s/%s" % (f[4], f[3])


def _template(arn):
    m = re.match(r"^arn:aws[a-z-]*:acm-pca:::template/([A-Za-z]+)(_[A-Za-z]+)?/V\d+$", arn or "")
    if not m or m.group(1) not in _TEMPLATES:
        raise AwsError("InvalidArgsException", "The template %s is not supported." % arn)
    return m.group(1), m.group(2) or ""


def _check_sigalg(ca, alg):
    ca_is_rsa = ca["key_algorithm"].startswith("RSA")
    if alg.endswith("WITHRSA") != ca_is_rsa or alg[:6] not in _HASH:
        valid = ["%sWITH%s" % (h, "RSA" if ca_is_rsa else "ECDSA") for h in _HASH]
        raise AwsError("InvalidArgsException", "Signing algorithm %s cannot be used with key "
                       "type %s. Valid signing algorithms are: %s." % (alg, ca["key_algorithm"],
                                                                      ", ".join(valid)))


def _load_csr(blob):
    # PCA wants the PEM text with exactly this header; "NEW CERTIFICATE REQUEST" and DER fail.
    raw = base64.b64decode(blob)
    if not raw.lstrip().startswith(b"-----BEGIN CERTIFICATE REQUEST-----"):
        raise AwsError("MalformedCSRException", "The certificate signing request is not in "
                       "the expected PEM format (-----BEGIN CERTIFICATE REQUEST-----).")
    try:
        csr = x509.load_pem_x509_csr(raw)
        if not csr.is_signature_valid:
            raise AwsError("MalformedCSRException", "The CSR signature is not valid.")
    except (ValueError, InvalidSignature):
        raise AwsError("MalformedCSRException", "The CSR is not a valid PEM CSR.")
    return csr


def _extensions(b, csr, tpl, variant, is_ec):
    """The template's extensions, SANs from the CSR, the CSR's other extensions if passthrough."""
    usage, eku = _TEMPLATES[tpl]
    exts = {e.oid: e for e in csr.extensions}
    if ExtensionOID.SUBJECT_ALTERNATIVE_NAME in exts:
        e = exts[ExtensionOID.SUBJECT_ALTERNATIVE_NAME]
        b = b.add_extension(e.value, e.critical)
    if usage is None:  # Blank: the CSR's usages
        for oid in (ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE):
            if oid in exts:
                b = b.add_extension(exts[oid].value, exts[oid].critical)
    else:
        ds, ke = usage
        b = b.add_extension(x509.KeyUsage(ds, False, ke, False, False, False, False, False,
                                          False), True)
        b = b.add_extension(x509.ExtendedKeyUsage(eku), False)
    if "CSRPassthrough" in variant:
        for oid, e in exts.items():
            if oid not in _TEMPLATE_OWNED:
                b = b.add_extension(e.value, e.critical)
    return b


def op_IssueCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"])
    alg = p["SigningAlgorithm"]
    _check_sigalg(ca, alg)
    tpl_arn = p.get("TemplateArn") or ("arn:%s:acm-pca:::template/EndEntityCertificate/V1"
                                       % partition(ctx["region"]))
    tpl, variant = _template(tpl_arn)
    if ca["status"] != "ACTIVE":
        raise AwsError("InvalidStateException", "The certificate authority %s is in the %s "
                       "state and cannot issue certificates." % (ca["arn"], ca["status"]))
    token = p.get("IdempotencyToken")
    now_t = time.time()
    window = _settings(ctx["app"].state)["token_window_seconds"]
    if token:
        for arn, it in ca["issued"].items():
            if it.get("token") == token and now_t - it["time"] < window:
                return {"CertificateArn": arn}
    csr = _load_csr(p["Csr"])
    has_san = any(e.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME for e in csr.extensions)
    if len(csr.subject) == 0 and not has_san:
        raise AwsError("MalformedCSRException", "The CSR must provide either a subject name "
                       "or a subject alternative name.")
    ca_key = serialization.load_pem_private_key(ca["key_pem"].encode(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca["cert_pem"].encode())
    now = datetime.datetime.utcnow()
    not_before = now - datetime.timedelta(minutes=60)
    if p.get("ValidityNotBefore"):
        not_before = _validity(p["ValidityNotBefore"], now)
    not_after = _validity(p["Validity"], now)
    if not_after <= now:
        raise AwsError("InvalidArgsException", "The Validity must end in the future.")
    if not_after > ca_cert.not_valid_after:
        raise AwsError("InvalidArgsException", "The certificate validity specified exceeds "
                       "the certificate authority validity.")
    b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject)
         .public_key(csr.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        False))
    b = _extensions(b, csr, tpl, variant,
                    isinstance(csr.public_key(), ec.EllipticCurvePublicKey))
    cert = b.sign(ca_key, _HASH[alg[:6]]())
    arn = "%s/certificate/%x" % (ca["arn"], cert.serial_number)
    ca["issued"][arn] = {"pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
                         "token": token, "time": now_t, "polls": 0, "signing_algorithm": alg,
                         "template": tpl_arn, "caller": ctx["account"],
                         "caller_arn": ctx["identity"].arn,
                         "csr_header": base64.b64decode(p["Csr"]).lstrip().split(b"\n")[0]
                         .decode(errors="replace")}
    ctx["app"].state.commit("pca", _where(ca), ca["arn"], "issued", arn)
    return {"CertificateArn": arn}


def op_GetCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"], "GetCertificate")
    it = ca["issued"].get(p["CertificateArn"])
    if it is None:
        raise AwsError("ResourceNotFoundException", "Could not find certificate %s."
                       % p["CertificateArn"])
    cfg = _settings(ctx["app"].state)
    it["polls"] = it.get("polls", 0) + 1
    ctx["app"].state.commit("pca", _where(ca), ca["arn"], "issued", p["CertificateArn"])
    if (it["polls"] <= cfg["pending_polls"] or
            (time.time() - it["time"]) * 1000 < cfg["issue_latency_ms"]):
        raise AwsError("RequestInProgressException", "The request is in progress and the "
                       "certificate is not yet available.")
    return {"Certificate": it["pem"], "CertificateChain": ca["cert_pem"]}


def op_DescribeCertificateAuthority(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"], "DescribeCertificateAuthority")
    if ca.get("describe_denied") and ca["arn"].split(":")[4] != ctx["account"]:
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: "
                       "acm-pca:DescribeCertificateAuthority on resource: %s"
                       % (ctx["identity"].arn, ca["arn"]))
    cert = x509.load_pem_x509_certificate(ca["cert_pem"].encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    sig = "SHA256WITHRSA" if ca["key_algorithm"].startswith("RSA") else "SHA256WITHECDSA"
    return {"CertificateAuthority": {
        "Arn": ca["arn"], "OwnerAccount": ca["arn"].split(":")[4], "Type": "ROOT",
        "Status": ca["status"], "Serial": "%x" % cert.serial_number,
        "KeyStorageSecurityStandard": "FIPS_140_2_LEVEL_3_OR_HIGHER",
        "CreatedAt": cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp(),
        "NotBefore": cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp(),
        "NotAfter": cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp(),
        "CertificateAuthorityConfiguration": {
            "KeyAlgorithm": ca["key_algorithm"], "SigningAlgorithm": sig,
            "Subject": {"Organization": "hsm2acm tests", "CommonName": cn}}}}


def op_GetCertificateAuthorityCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"], "GetCertificateAuthorityCertificate")
    return {"Certificate": ca["cert_pem"]}


def control_create(state, account, region, body):
    rec = _new_ca(state, account, region, body.get("ca_id"),
                  body.get("key_algorithm", "EC_prime256v1"), int(body.get("days", 3650)))
    return control_update(state, account, region, dict(body, arn=rec["arn"]))


def control_update(state, account, region, body):
    """status, shared_with (accounts), describe_denied of an existing CA."""
    rec = _bucket(state, account, region).get(body.get("arn"))
    if rec is None:
        raise ValueError("arn: no such CA in %s/%s" % (account, region))
    for k in ("status", "shared_with", "describe_denied"):
        if k in body:
            rec[k] = body[k]
    state.save()
    return {"arn": rec["arn"], "certificate_pem": rec["cert_pem"], "status": rec["status"]}


def control_list(state, account, region):
    return [{"arn": r["arn"], "key_algorithm": r["key_algorithm"], "certificate_pem":
             r["cert_pem"], "status": r["status"], "issued": sorted(r["issued"]),
             "certificates": {a: {k: v for k, v in it.items() if k != "token"}
                              for a, it in r["issued"].items()}}
            for r in _bucket(state, account, region).values()]
