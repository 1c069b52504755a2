# SPDX-License-Identifier: Apache-2.0
"""localaws ACM PCA as a real CA, through botocore (every request model-validated): CA key
types, templates, Validity, the signing-family error shape, polls, the token window,
CA status and cross-account shares."""
import datetime
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402
from testlib import cached_key  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID as E, NameOID  # noqa: E402

TPL = "arn:aws:acm-pca:::template/%s/V1"


def csr_pem(key, eku=None, extra=None):
    b = (x509.CertificateSigningRequestBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pca.example.com")]))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("pca.example.com"),
                                                     x509.DNSName("b.example.com")]), False))
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), False)
    if extra:
        b = b.add_extension(extra, False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


class PcaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")
        self.pca = self.aws.client("acm-pca")

    def ca(self, alg, account="111111111111", **kw):
        return self.aws.ctl("POST", "/_control/pca", dict(kw, key_algorithm=alg,
                                                          account=account))["arn"]

    def issue(self, ca, csr, alg="SHA256WITHECDSA", client=None, **kw):
        return (client or self.pca).issue_certificate(
            CertificateAuthorityArn=ca, Csr=csr, SigningAlgorithm=alg,
            Validity={"Value": 30, "Type": "DAYS"}, **kw)["CertificateArn"]

    def get(self, ca, arn):
        for _ in range(5):
            try:
                return self.pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
            except ClientError as exc:
                self.assertEqual(exc.response["Error"]["Code"], "RequestInProgressException")
        self.fail("never issued")

    def code(self, fn, *a, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*a, **kw)
        return cm.exception.response["Error"]["Code"], cm.exception.response["Error"]["Message"]

    def test_key_types_and_family_rule(self):
        for alg, key, sig in (("RSA_2048", "rsa2048", "SHA256WITHRSA"),
                              ("EC_secp384r1", "ec384", "SHA384WITHECDSA"),
                              ("EC_secp521r1", "ec256", "SHA512WITHECDSA")):
            ca = self.ca(alg)
            d = self.pca.describe_certificate_authority(CertificateAuthorityArn=ca)
            self.assertEqual(d["CertificateAuthority"]["CertificateAuthorityConfiguration"]
                             ["KeyAlgorithm"], alg)
            out = self.get(ca, self.issue(ca, csr_pem(cached_key(key)), sig))
            cert = x509.load_pem_x509_certificate(out["Certificate"].encode())
            self.assertEqual(cert.signature_hash_algorithm.name, "sha" + sig[3:6])
        code, msg = self.code(self.issue, ca, csr_pem(cached_key("ec256")), "SHA256WITHRSA")
        self.assertEqual(code, "InvalidArgsException")
        self.assertEqual(msg, "Signing algorithm SHA256WITHRSA cannot be used with key type "
                              "EC_secp521r1. Valid signing algorithms are: SHA256WITHECDSA, "
                              "SHA384WITHECDSA, SHA512WITHECDSA.")

    def test_templates(self):
        ca = self.ca("EC_prime256v1")
        key = cached_key("ec256")
        ocsp = x509.OCSPNoCheck()
        want = {"EndEntityCertificate": [E.SERVER_AUTH, E.CLIENT_AUTH],
                "EndEntityServerAuthCertificate": [E.SERVER_AUTH],
                "EndEntityServerAuthCertificate_CSRPassthrough": [E.SERVER_AUTH],
                "EndEntityClientAuthCertificate": [E.CLIENT_AUTH],
                "BlankEndEntityCertificate_APICSRPassthrough": [E.CODE_SIGNING]}
        for tpl, eku in want.items():
            out = self.get(ca, self.issue(ca, csr_pem(key, [E.CODE_SIGNING], ocsp),
                                          TemplateArn=TPL % tpl))
            cert = x509.load_pem_x509_certificate(out["Certificate"].encode())
            got = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
            self.assertEqual(got, eku, tpl)
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            self.assertEqual(sans.get_values_for_type(x509.DNSName),
                             ["pca.example.com", "b.example.com"], tpl)
            passed = any(isinstance(e.value, x509.OCSPNoCheck) for e in cert.extensions)
            self.assertEqual(passed, "CSRPassthrough" in tpl, tpl)
        code, _ = self.code(self.issue, ca, csr_pem(key), TemplateArn=TPL % "NoSuchTemplate")
        self.assertEqual(code, "InvalidArgsException")

    def test_validity_and_ca_lifetime(self):
        ca = self.ca("EC_prime256v1", days=10)
        code, msg = self.code(self.issue, ca, csr_pem(cached_key("ec256")))
        self.assertEqual(code, "InvalidArgsException")
        self.assertIn("exceeds the certificate authority validity", msg)
        out = self.get(ca, self.pca.issue_certificate(
            CertificateAuthorityArn=ca, Csr=csr_pem(cached_key("ec256")),
            SigningAlgorithm="SHA256WITHECDSA", Validity={"Value": 5, "Type": "DAYS"})
            ["CertificateArn"])
        cert = x509.load_pem_x509_certificate(out["Certificate"].encode())
        left = cert.not_valid_after - datetime.datetime.utcnow()
        self.assertTrue(datetime.timedelta(days=4, hours=23) < left <= datetime.timedelta(days=5))

    def test_polls_and_token_window(self):
        ca = self.ca("EC_prime256v1")
        csr = csr_pem(cached_key("ec256"))
        self.aws.ctl("POST", "/_control/pca/settings", {"pending_polls": 3})
        arn = self.issue(ca, csr, IdempotencyToken="t1")
        for _ in range(3):
            code, _ = self.code(self.pca.get_certificate, CertificateAuthorityArn=ca,
                                CertificateArn=arn)
            self.assertEqual(code, "RequestInProgressException")
        self.pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn)
        self.assertEqual(self.issue(ca, csr, IdempotencyToken="t1"), arn)
        self.aws.ctl("POST", "/_control/pca/settings", {"token_window_seconds": 0})
        self.assertNotEqual(self.issue(ca, csr, IdempotencyToken="t1"), arn)
        self.aws.ctl("POST", "/_control/pca/settings", {"pending_polls": 0,
                                                        "issue_latency_ms": 300})
        t0 = time.monotonic()
        arn2 = self.issue(ca, csr)
        while True:
            try:
                self.pca.get_certificate(CertificateAuthorityArn=ca, CertificateArn=arn2)
                break
            except ClientError:
                time.sleep(0.02)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_status_and_cross_account(self):
        ca = self.ca("EC_prime256v1")
        self.aws.ctl("POST", "/_control/pca/update", {"arn": ca, "status": "DISABLED"})
        code, _ = self.code(self.issue, ca, csr_pem(cached_key("ec256")))
        self.assertEqual(code, "InvalidStateException")
        other = self.ca("EC_prime256v1", account="222222222222")
        code, _ = self.code(self.issue, other, csr_pem(cached_key("ec256")))
        self.assertEqual(code, "AccessDeniedException")
        self.aws.ctl("POST", "/_control/pca/update", {"arn": other, "account": "222222222222",
                                                      "shared_with": ["111111111111"],
                                                      "describe_denied": True})
        self.get(other, self.issue(other, csr_pem(cached_key("ec256"))))
        code, _ = self.code(self.pca.describe_certificate_authority,
                            CertificateAuthorityArn=other)
        self.assertEqual(code, "AccessDeniedException")
        owner = self.aws.client("acm-pca", account="222222222222")
        owner.describe_certificate_authority(CertificateAuthorityArn=other)


if __name__ == "__main__":
    unittest.main()
