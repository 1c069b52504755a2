# SPDX-License-Identifier: Apache-2.0
"""X.509 facts ACM reports, computed with python3-cryptography."""
import datetime
import calendar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

KEY_ALGORITHMS = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                  "EC_secp384r1", "EC_secp521r1"]
_EC_NAMES = {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1",
             "secp521r1": "EC_secp521r1"}

EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "TLS_WEB_SERVER_AUTHENTICATION",
    "1.3.6.1.5.5.7.3.2": "TLS_WEB_CLIENT_AUTHENTICATION",
    "1.3.6.1.5.5.7.3.3": "CODE_SIGNING",
    "1.3.6.1.5.5.7.3.4": "EMAIL_PROTECTION",
    "1.3.6.1.5.5.7.3.5": "IPSEC_END_SYSTEM",
    "1.3.6.1.5.5.7.3.6": "IPSEC_TUNNEL",
    "1.3.6.1.5.5.7.3.7": "IPSEC_USER",
    "1.3.6.1.5.5.7.3.8": "TIME_STAMPING",
    "1.3.6.1.5.5.7.3.9": "OCSP_SIGNING",
    "2.5.29.37.0": "ANY",
}
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
_KU_FIELDS = [("digital_signature", "DIGITAL_SIGNATURE"), ("content_commitment", "NON_REPUDIATION"),
              ("key_encipherment", "KEY_ENCIPHERMENT"), ("data_encipherment", "DATA_ENCIPHERMENT"),
              ("key_agreement", "KEY_AGREEMENT"), ("key_cert_sign", "CERTIFICATE_SIGNING"),
              ("crl_sign", "CRL_SIGNING")]


def key_algorithm(pub):
    """ACM's KeyAlgorithm for a public key, or None when ACM does not support it."""
    if isinstance(pub, rsa.RSAPublicKey):
        name = "RSA_%d" % pub.key_size
        return name if name in KEY_ALGORITHMS else None
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return _EC_NAMES.get(pub.curve.name)
    return None


def spki_der(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def epoch(dt):
    return calendar.timegm(dt.utctimetuple())


def serial_colon(n):
    h = "%x" % n
    if len(h) % 2:
        h = "0" + h
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def key_usages(cert):
    """List of ACM KeyUsage names, or None when the extension is absent."""
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None:
        return None
    names = [name for field, name in _KU_FIELDS if getattr(ku, field)]
    if ku.key_agreement:
        if ku.encipher_only:
            names.append("ENCIPHER_ONLY")
        if ku.decipher_only:
            names.append("DECIPHER_ONLY")
    return names


def ext_key_usages(cert):
    """List of EKU OIDs (dotted), or None when the extension is absent."""
    eku = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    if eku is None:
        return None
    return [oid.dotted_string for oid in eku]


def eku_name(oid):
    return EKU_NAMES.get(oid, "CUSTOM")


def common_name(cert):
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def dns_names(cert):
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is None:
        return []
    return list(san.get_values_for_type(x509.DNSName))


def ip_names(cert):
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is None:
        return []
    return [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def domain_names(cert):
    """(DomainName, SubjectAlternativeNames) as ACM reports them."""
    cn = common_name(cert)
    sans = dns_names(cert)
    names = []
    if cn:
        names.append(cn)
    for n in sans:
        if n not in names:
            names.append(n)
    return (names[0] if names else None), names


def signature_algorithm(cert):
    h = cert.signature_hash_algorithm
    hname = h.name.upper().replace("-", "") if h else "NONE"
    oid = cert.signature_algorithm_oid._name.lower()
    if "ecdsa" in oid:
        return "%sWITHECDSA" % hname
    if "pss" in oid:
        return "%sWITHRSAANDMGF1" % hname
    if "rsa" in oid:
        return "%sWITHRSA" % hname
    return cert.signature_algorithm_oid._name.upper()


def name_string(name):
    return name.rfc4514_string()


def load_pem_certs(data):
    """All certificates in a PEM text; raises ValueError on anything else."""
    text = data.decode("ascii") if isinstance(data, bytes) else data
    blocks = []
    marker = "-----BEGIN CERTIFICATE-----"
    end = "-----END CERTIFICATE-----"
    pos = 0
    while True:
        i = text.find(marker, pos)
        if i < 0:
            break
        j = text.find(end, i)
        if j < 0:
            raise ValueError("unterminated PEM block")
        blocks.append(text[i:j + len(end)] + "\n")
        pos = j + len(end)
    certs = [x509.load_pem_x509_certificate(b.encode("ascii")) for b in blocks]
    return certs, blocks


def signed_by(child, parent):
    """True when parent's key verifies child's signature."""
    pub = parent.public_key()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            oid = child.signature_algorithm_oid._name.lower()
            if "pss" in oid:
                pad = padding.PSS(padding.MGF1(child.signature_hash_algorithm),
                                  padding.PSS.AUTO)
            else:
                pad = padding.PKCS1v15()
            pub.verify(child.signature, child.tbs_certificate_bytes, pad,
                       child.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(child.signature, child.tbs_certificate_bytes,
                       ec.ECDSA(child.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def now_utc():
    return datetime.datetime.utcnow()


def public_pem(pub):
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()




def ocsp_urls(cert):
    aia = _ext(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if aia is None:
        return []
    return [d.access_location.value for d in aia
            if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP]
