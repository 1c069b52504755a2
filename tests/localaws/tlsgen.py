# SPDX-License-Identifier: Apache-2.0
"""The endpoint's own test CA and server certificate (made once per TLS dir)."""
import datetime
import ipaddress
import os


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def ensure(tls_dir):
    """Return (ca.pem, server.pem, server.key), creating them when absent."""
    os.makedirs(tls_dir, exist_ok=True)
    ca_path = os.path.join(tls_dir, "ca.pem")
    cert_path = os.path.join(tls_dir, "server.pem")
    key_path = os.path.join(tls_dir, "server.key")
    if all(os.path.exists(p) for p in (ca_path, cert_path, key_path)):
        # Made for 825 days; delete the directory to make new ones.
        return ca_path, cert_path, key_path
    # Imported here: cryptography costs startup time that a reused CA avoids.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    now = datetime.datetime.utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hsm2acm tests"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "localaws test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    _write(os.path.join(tls_dir, "ca.key"),
           ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()), 0o600)
    _write(cert_path, cert.public_bytes(pem))
    _write(ca_path, ca.public_bytes(pem))
    return ca_path, cert_path, key_path
