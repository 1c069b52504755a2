# SPDX-License-Identifier: Apache-2.0
"""ACM PCA: IssueCertificate signs the CSR with a local CA key; GetCertificate polls.

The first GetCertificate for a new certificate answers RequestInProgressException
(as a freshly issued PCA certificate often does), the next one returns it.
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
from cryptography.x509.oid import NameOID

from errors import AwsError
from server_util import partition

DEFAULT_CA_ID = "11111111-2222-3333-4444-555555555555"
_HASH = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


def _bucket(state, account, region):
    return state.bucket("pca", account, region)


def _new_ca(state, account, region, ca_id=None, key_algorithm="EC_prime256v1"):
    ca_id = ca_id or str(uuid.uuid4())
    arn = "arn:%s:acm-pca:%s:%s:certificate-authority/%s" % (partition(region), region, account,
                                                             ca_id)
    if key_algorithm.startswith("RSA"):
        key = rsa.generate_private_key(65537, int(key_algorithm.split("_")[1]))
    else:
        key = ec.generate_private_key(ec.SECP384R1() if "384" in key_algorithm
                                      else ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hsm2acm tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "localaws PCA %s" % ca_id[:8])])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                         False), True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256()))
    rec = {"arn": arn, "key_algorithm": key_algorithm,
           "key_pem": key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode(),
           "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode(), "issued": {}}
    _bucket(state, account, region)[arn] = rec
    state.save()
    return rec


def _ca(ctx, arn):
    state = ctx["app"].state
    b = _bucket(state, ctx["account"], ctx["region"])
    rec = b.get(arn)
    if rec is None and arn == "arn:%s:acm-pca:%s:%s:certificate-authority/%s" % (
            partition(ctx["region"]), ctx["region"], ctx["account"], DEFAULT_CA_ID):
        rec = _new_ca(state, ctx["account"], ctx["region"], DEFAULT_CA_ID)
    if rec is None:
        if not re.match(r"^arn:aws[a-z-]*:acm-pca:", arn):
            raise AwsError("InvalidArnException", "The ARN %s is not valid." % arn)
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


def op_IssueCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"])
    alg = p["SigningAlgorithm"]
    ca_is_rsa = ca["key_algorithm"].startswith("RSA")
    if alg.endswith("WITHRSA") != ca_is_rsa or not alg[:6] in _HASH:
        raise AwsError("InvalidArgsException", "The signing algorithm %s does not match the "
                       "CA key algorithm %s." % (alg, ca["key_algorithm"]))
    token = p.get("IdempotencyToken")
    now_t = time.time()
    if token:
        for arn, it in ca["issued"].items():
            if it.get("token") == token and now_t - it["time"] < 300:
                return {"CertificateArn": arn}
    try:
        csr = x509.load_pem_x509_csr(base64.b64decode(p["Csr"]))
    except ValueError:
        raise AwsError("MalformedCSRException", "The CSR is not a valid PEM CSR.")
    try:
        if not csr.is_signature_valid:
            raise AwsError("MalformedCSRException", "The CSR signature is not valid.")
    except InvalidSignature:
        raise AwsError("MalformedCSRException", "The CSR signature is not valid.")
    san = None
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    if len(csr.subject) == 0 and san is None:
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
    b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject)
         .public_key(csr.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        False))
    if san is not None:
        b = b.add_extension(san, False)
    is_ec = isinstance(csr.public_key(), ec.EllipticCurvePublicKey)
    b = b.add_extension(x509.KeyUsage(True, False, not is_ec, False, is_ec, False, False, False,
                                      False), True)
    b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                               x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    cert = b.sign(ca_key, _HASH[alg[:6]]())
    arn = "%s/certificate/%x" % (ca["arn"], cert.serial_number)
    ca["issued"][arn] = {"pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
                         "token": token, "time": now_t, "polled": False}
    ctx["app"].state.commit("pca", "%s/%s" % (ctx["account"], ctx["region"]), ca["arn"],
                            "issued", arn)
    return {"CertificateArn": arn}


def op_GetCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"])
    it = ca["issued"].get(p["CertificateArn"])
    if it is None:
        raise AwsError("ResourceNotFoundException", "Could not find certificate %s."
                       % p["CertificateArn"])
    if not it["polled"]:
        it["polled"] = True
        ctx["app"].state.commit("pca", "%s/%s" % (ctx["account"], ctx["region"]), ca["arn"],
                                "issued", p["CertificateArn"])
        raise AwsError("RequestInProgressException", "The request is in progress and the "
                       "certificate is not yet available.")
    return {"Certificate": it["pem"], "CertificateChain": ca["cert_pem"]}


def op_DescribeCertificateAuthority(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"])
    cert = x509.load_pem_x509_certificate(ca["cert_pem"].encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    sig = "SHA256WITHRSA" if ca["key_algorithm"].startswith("RSA") else "SHA256WITHECDSA"
    return {"CertificateAuthority": {
        "Arn": ca["arn"], "OwnerAccount": ctx["account"], "Type": "ROOT", "Status": "ACTIVE",
        "Serial": "%x" % cert.serial_number, "KeyStorageSecurityStandard": "FIPS_140_2_LEVEL_3_OR_HIGHER",
        "CreatedAt": cert.not_valid_before.timestamp(),
        "NotBefore": cert.not_valid_before.timestamp(),
        "NotAfter": cert.not_valid_after.timestamp(),
        "CertificateAuthorityConfiguration": {
            "KeyAlgorithm": ca["key_algorithm"], "SigningAlgorithm": sig,
            "Subject": {"Organization": "hsm2acm tests", "CommonName": cn}}}}


def op_GetCertificateAuthorityCertificate(ctx, p):
    ca = _ca(ctx, p["CertificateAuthorityArn"])
    return {"Certificate": ca["cert_pem"]}


def control_create(state, account, region, body):
    rec = _new_ca(state, account, region, body.get("ca_id"),
                  body.get("key_algorithm", "EC_prime256v1"))
    return {"arn": rec["arn"], "certificate_pem": rec["cert_pem"]}


def control_list(state, account, region):
    return [{"arn": r["arn"], "key_algorithm": r["key_algorithm"], "certificate_pem":
             r["cert_pem"], "issued": sorted(r["issued"])}
            for r in _bucket(state, account, region).values()]
