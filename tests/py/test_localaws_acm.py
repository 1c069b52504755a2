# SPDX-License-Identifier: Apache-2.0
"""localaws ACM: import and reimport rules, describe/list/tags/delete, control view."""
import datetime
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402
from testlib import CLIENT_AUTH, CODE_SIGNING, SERVER_AUTH, cached_key, make_cert, pem  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

KU_RSA = {"digital_signature": True, "key_encipherment": True}
KU_EC = {"digital_signature": True, "key_encipherment": True}


class AcmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()
        cls.acm = cls.aws.client("acm")

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")

    def imp(self, cert, key, **kw):
        return self.acm.import_certificate(Certificate=pem(cert), PrivateKey=pem(key),
                                           **kw)["CertificateArn"]

    def refused(self, code, fn, *a, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    # -- import ----------------------------------------------------------------------------

    def test_import_describe_and_key_held(self):
        key = cached_key("ec256")
        cert = make_cert(key, sans=("www.example.com", "api.example.com"), ku=KU_EC,
                         eku=[SERVER_AUTH, CLIENT_AUTH], serial=0x0a1b2c)
        arn = self.imp(cert, key, Tags=[{"Key": "env", "Value": "prod"}])
        self.assertRegex(arn, r"^arn:aws:acm:eu-west-1:111111111111:certificate/[0-9a-f-]{36}$")
        # Raw call: timestamps must be epoch numbers on the wire.
        st, d, hdrs = self.aws.raw_json("acm", "DescribeCertificate", {"CertificateArn": arn})
        self.assertEqual(st, 200)
        self.assertIn("x-amzn-requestid", hdrs)
        c = d["Certificate"]
        self.assertEqual(c["Type"], "IMPORTED")
        self.assertEqual(c["Status"], "ISSUED")
        self.assertEqual(c["KeyAlgorithm"], "EC_prime256v1")
        self.assertEqual(c["Serial"], "0a:1b:2c")
        self.assertEqual(c["DomainName"], "www.example.com")
        self.assertEqual(c["SubjectAlternativeNames"], ["www.example.com", "api.example.com"])
        self.assertEqual(c["KeyUsages"], [{"Name": "DIGITAL_SIGNATURE"},
                                          {"Name": "KEY_ENCIPHERMENT"}])
        self.assertEqual(c["ExtendedKeyUsages"],
                         [{"Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": SERVER_AUTH},
                          {"Name": "TLS_WEB_CLIENT_AUTHENTICATION", "OID": CLIENT_AUTH}])
        self.assertEqual(c["SignatureAlgorithm"], "SHA256WITHECDSA")
        for k in ("NotBefore", "NotAfter", "ImportedAt", "CreatedAt"):
            self.assertIsInstance(c[k], (int, float), k)
        self.assertEqual(c["InUseBy"], [])
        self.assertEqual(c["Issuer"], "CN=h2a test issuer")
        # The control interface returns the key ACM holds.
        held = self.aws.ctl("GET", "/_control/acm?account=111111111111&region=eu-west-1")
        (rec,) = held["certificates"]
        held_key = serialization.load_pem_private_key(rec["private_key_pem"].encode(), None)
        self.assertEqual(held_key.public_key().public_numbers(), key.public_key().public_numbers())
        self.assertEqual(rec["tags"], [{"Key": "env", "Value": "prod"}])
        got = self.acm.get_certificate(CertificateArn=arn)
        self.assertEqual(got["Certificate"].encode(), pem(cert))
        self.assertNotIn("CertificateChain", got)
        self.assertEqual(self.acm.list_tags_for_certificate(CertificateArn=arn)["Tags"],
                         [{"Key": "env", "Value": "prod"}])
        # Other account / region do not see it.
        other = self.aws.client("acm", account="222222222222")
        self.refused("ResourceNotFoundException", other.describe_certificate, CertificateArn=arn)
        other_region = self.aws.client("acm", region="us-east-1")
        self.refused("ResourceNotFoundException", other_region.describe_certificate,
                     CertificateArn=arn)

    def test_partitions_and_regions(self):
        key = cached_key("ec256")
        for region, prefix in (("cn-north-1", "arn:aws-cn:acm:cn-north-1:"),
                               ("us-gov-west-1", "arn:aws-us-gov:acm:us-gov-west-1:"),
                               ("ap-southeast-2", "arn:aws:acm:ap-southeast-2:")):
            acm = self.aws.client("acm", region=region)
            arn = acm.import_certificate(Certificate=pem(make_cert(key)),
                                         PrivateKey=pem(key))["CertificateArn"]
            self.assertTrue(arn.startswith(prefix + "111111111111:certificate/"), arn)
            self.assertEqual(acm.describe_certificate(CertificateArn=arn)["Certificate"]["CertificateArn"], arn)
            held = self.aws.ctl("GET", "/_control/acm?region=" + region)["certificates"]
            self.assertEqual([c["arn"] for c in held], [arn])
        sm = self.aws.client("secretsmanager", region="cn-north-1")
        self.assertTrue(sm.create_secret(Name="p", SecretString="x")["ARN"].startswith(
            "arn:aws-cn:secretsmanager:cn-north-1:111111111111:secret:p-"))

    def test_all_seven_key_algorithms(self):
        names = {"rsa1024": "RSA_1024", "rsa2048": "RSA_2048", "rsa3072": "RSA_3072",
                 "rsa4096": "RSA_4096", "ec256": "EC_prime256v1", "ec384": "EC_secp384r1",
                 "ec521": "EC_secp521r1"}
        for kind, alg in names.items():
            key = cached_key(kind)
            arn = self.imp(make_cert(key), key)
            d = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
            self.assertEqual(d["KeyAlgorithm"], alg)
            self.assertEqual(d["SignatureAlgorithm"],
                             "SHA256WITHRSA" if kind.startswith("rsa") else "SHA256WITHECDSA")

    def test_unsupported_key_algorithm(self):
        for kind in ("ec224", "k256"):
            key = cached_key(kind)
            msg = self.refused("ValidationException", self.imp, make_cert(key), key)
            self.assertIn("key algorithm", msg)

    def test_more_than_one_certificate(self):
        key = cached_key("ec256")
        two = pem(make_cert(key)) + pem(make_cert(key))
        msg = self.refused("ValidationException", self.acm.import_certificate,
                           Certificate=two, PrivateKey=pem(key))
        self.assertEqual(msg, "The certificate field contains more than one certificate. "
                         "You can specify only one certificate in this field.")

    def test_der_refused(self):
        key = cached_key("ec256")
        cert = make_cert(key)
        der = cert.public_bytes(serialization.Encoding.DER)
        self.refused("ValidationException", self.acm.import_certificate, Certificate=der,
                     PrivateKey=pem(key))
        der_key = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self.refused("ValidationException", self.acm.import_certificate,
                     Certificate=pem(cert), PrivateKey=der_key)

    def test_key_mismatch_encrypted_and_too_big(self):
        key, other = cached_key("ec256"), cached_key("ec256", 1)
        cert = make_cert(key)
        msg = self.refused("ValidationException", self.imp, cert, other)
        self.assertIn("does not match", msg)
        enc = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(b"pw"))
        msg = self.refused("ValidationException", self.acm.import_certificate,
                           Certificate=pem(cert), PrivateKey=enc)
        self.assertIn("encrypted", msg)
        big = pem(key) + b"\n" * 5200
        msg = self.refused("ValidationException", self.acm.import_certificate,
                           Certificate=pem(cert), PrivateKey=big)
        self.assertIn("'privateKey' failed to satisfy constraint: Member must have length "
                      "less than or equal to 5120", msg)
        self.assertNotIn("PRIVATE KEY", msg)  # the key is never echoed
        # Nothing was stored by the refused imports.
        self.assertEqual(self.aws.ctl("GET", "/_control/acm")["certificates"], [])

    def test_validity_and_issuer(self):
        key = cached_key("ec256")
        now = datetime.datetime.utcnow()
        expired = make_cert(key, not_before=now - datetime.timedelta(days=10),
                            not_after=now - datetime.timedelta(days=1))
        self.assertIn("expired", self.refused("ValidationException", self.imp, expired, key))
        future = make_cert(key, not_before=now + datetime.timedelta(days=1),
                           not_after=now + datetime.timedelta(days=10))
        self.assertIn("not valid yet", self.refused("ValidationException", self.imp, future, key))
        noissuer = make_cert(key, empty_issuer=True)
        self.assertIn("Issuer", self.refused("ValidationException", self.imp, noissuer, key))

    def test_ocsp_url_length(self):
        from cryptography import x509
        key = cached_key("ec256")
        def with_ocsp(url):
            issuer = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "i")])
            now = datetime.datetime.utcnow()
            return (x509.CertificateBuilder().subject_name(issuer).issuer_name(issuer)
                    .public_key(key.public_key()).serial_number(7)
                    .not_valid_before(now - datetime.timedelta(hours=1))
                    .not_valid_after(now + datetime.timedelta(days=1))
                    .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(url))]), False)
                    .sign(key, testlib.hashes.SHA256()))
        self.imp(with_ocsp("http://ocsp.example.com/" + "a" * 900), key)
        msg = self.refused("ValidationException", self.imp,
                           with_ocsp("http://ocsp.example.com/" + "a" * 1000), key)
        self.assertIn("OCSP", msg)

    def test_chain(self):
        ca_key = cached_key("ec384")
        ca = make_cert(ca_key, cn="h2a test issuer", sans=(), ca=True)
        key = cached_key("ec256")
        leaf = make_cert(key, issuer_key=ca_key, issuer_name=ca.subject)
        arn = self.imp(leaf, key, CertificateChain=pem(ca))
        self.assertEqual(self.acm.get_certificate(CertificateArn=arn)["CertificateChain"].encode(),
                         pem(ca))
        other_ca_key = cached_key("ec384", 1)
        wrong = make_cert(other_ca_key, cn="h2a test issuer", sans=(), ca=True)
        self.refused("ValidationException", self.imp, leaf, key, CertificateChain=pem(wrong))
        self.refused("ValidationException", self.imp, leaf, key,
                     CertificateChain=pem(leaf) + pem(ca))
        self.refused("ValidationException", self.acm.import_certificate, Certificate=pem(leaf),
                     PrivateKey=pem(key), CertificateChain=b"not pem")

    def test_issuer_key_algorithm_knob(self):
        ca_key = cached_key("rsa2048")
        ca = make_cert(ca_key, cn="h2a test issuer", sans=(), ca=True)
        key = cached_key("ec256")
        leaf = make_cert(key, issuer_key=ca_key, issuer_name=ca.subject)
        # Enforced by default, as ACM documents; the knob turns it off.
        msg = self.refused("ValidationException", self.imp, leaf, key, CertificateChain=pem(ca))
        self.assertIn("algorithm of the signing CA", msg)
        self.aws.ctl("POST", "/_control/acm/config", {"enforce_issuer_key_algorithm": False})
        self.imp(leaf, key, CertificateChain=pem(ca))
        self.aws.ctl("POST", "/_control/acm/config", {"enforce_issuer_key_algorithm": True})
        rsa_leaf_key = cached_key("rsa2048", 1)
        self.imp(make_cert(rsa_leaf_key, issuer_key=ca_key, issuer_name=ca.subject),
                 rsa_leaf_key, CertificateChain=pem(ca))

    # -- reimport ----------------------------------------------------------------------------

    def _base(self, kind="ec256", ku=KU_EC, eku=(SERVER_AUTH, CLIENT_AUTH)):
        key = cached_key(kind)
        arn = self.imp(make_cert(key, ku=ku, eku=list(eku) if eku is not None else None), key)
        return arn, key

    def test_reimport_keeps_arn_and_inuse(self):
        arn, key = self._base()
        elb = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/web/50dc6c495c0c9188"
        self.aws.ctl("POST", "/_control/acm/inuse", {"arn": arn, "in_use_by": [elb]})
        before = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        new_key = cached_key("ec256", 1)
        new = make_cert(new_key, sans=("www.example.com", "new.example.com"), ku=KU_EC,
                        eku=[SERVER_AUTH, CLIENT_AUTH, CODE_SIGNING])
        self.assertEqual(self.imp(new, new_key, CertificateArn=arn), arn)
        after = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        self.assertEqual(after["InUseBy"], [elb])
        self.assertNotEqual(after["Serial"], before["Serial"])
        self.assertEqual(after["CreatedAt"], before["CreatedAt"])
        self.assertIn("new.example.com", after["SubjectAlternativeNames"])
        (rec,) = self.aws.ctl("GET", "/_control/acm")["certificates"]
        self.assertEqual(rec["reimport_count"], 1)
        held = serialization.load_pem_private_key(rec["private_key_pem"].encode(), None)
        self.assertEqual(held.public_key().public_numbers(), new_key.public_key().public_numbers())
        # Still in use: cannot be deleted.
        self.refused("ResourceInUseException", self.acm.delete_certificate, CertificateArn=arn)

    def test_reimport_unknown_and_bad_arn(self):
        key = cached_key("ec256")
        cert = make_cert(key)
        self.refused("ResourceNotFoundException", self.imp, cert, key,
                     CertificateArn="arn:aws:acm:eu-west-1:111111111111:certificate/"
                                    "00000000-0000-0000-0000-000000000000")
        self.refused("InvalidArnException", self.imp, cert, key,
                     CertificateArn="arn:aws:acm:eu-west-1:111111111111:nothing/abc")
        self.refused("ValidationException", self.imp, cert, key, CertificateArn="not-an-arn-at-all-but-long-enough!!")

    def test_reimport_with_tags_refused(self):
        arn, key = self._base()
        self.refused("ValidationException", self.imp, make_cert(key, ku=KU_EC,
                                                               eku=[SERVER_AUTH, CLIENT_AUTH]),
                     key, CertificateArn=arn, Tags=[{"Key": "a", "Value": "b"}])

    def test_reimport_amazon_issued_refused(self):
        made = self.aws.ctl("POST", "/_control/acm/amazon-issued",
                            {"domain_name": "shop.example.com", "key_algorithm": "EC_prime256v1"})
        d = self.acm.describe_certificate(CertificateArn=made["arn"])["Certificate"]
        self.assertEqual(d["Type"], "AMAZON_ISSUED")
        key = cached_key("ec256")
        msg = self.refused("ValidationException", self.imp, make_cert(key), key,
                           CertificateArn=made["arn"])
        self.assertIn("IMPORTED", msg)

    def test_reimport_key_type_and_size_change(self):
        arn, _ = self._base("ec256")
        rsa = cached_key("rsa2048")
        self.assertIn("key algorithm", self.refused(
            "ValidationException", self.imp,
            make_cert(rsa, ku=KU_RSA, eku=[SERVER_AUTH, CLIENT_AUTH]), rsa, CertificateArn=arn))
        p384 = cached_key("ec384")
        self.refused("ValidationException", self.imp,
                     make_cert(p384, ku=KU_EC, eku=[SERVER_AUTH, CLIENT_AUTH]), p384,
                     CertificateArn=arn)
        arn_rsa, _ = self._base("rsa2048", ku=KU_RSA)
        r3 = cached_key("rsa3072")
        self.refused("ValidationException", self.imp,
                     make_cert(r3, ku=KU_RSA, eku=[SERVER_AUTH, CLIENT_AUTH]), r3,
                     CertificateArn=arn_rsa)

    def test_reimport_key_usage_rules(self):
        # RSA: removing keyEncipherment is refused.
        arn, key = self._base("rsa2048", ku=KU_RSA)
        msg = self.refused("ValidationException", self.imp,
                           make_cert(key, ku={"digital_signature": True},
                                     eku=[SERVER_AUTH, CLIENT_AUTH]), key, CertificateArn=arn)
        self.assertIn("KEY_ENCIPHERMENT", msg)
        # Adding a value is fine.
        self.imp(make_cert(key, ku=dict(KU_RSA, content_commitment=True),
                           eku=[SERVER_AUTH, CLIENT_AUTH]), key, CertificateArn=arn)
        # EC: dropping keyEncipherment is the documented exception.
        arn_ec, eckey = self._base("ec256", ku=KU_EC)
        self.imp(make_cert(eckey, ku={"digital_signature": True},
                           eku=[SERVER_AUTH, CLIENT_AUTH]), eckey, CertificateArn=arn_ec)
        # ... but dropping digitalSignature is not.
        self.refused("ValidationException", self.imp,
                     make_cert(eckey, ku={"key_agreement": True}, eku=[SERVER_AUTH, CLIENT_AUTH]),
                     eckey, CertificateArn=arn_ec)
        # Dropping the whole KU extension removes its values.
        self.refused("ValidationException", self.imp,
                     make_cert(eckey, ku=None, eku=[SERVER_AUTH, CLIENT_AUTH]), eckey,
                     CertificateArn=arn_ec)

    def test_reimport_eku_rules(self):
        arn, key = self._base("ec256")
        msg = self.refused("ValidationException", self.imp,
                           make_cert(key, ku=KU_EC, eku=[CLIENT_AUTH]), key, CertificateArn=arn)
        self.assertIn("TLS_WEB_SERVER_AUTHENTICATION", msg)
        # clientAuth may be dropped (documented exception).
        self.imp(make_cert(key, ku=KU_EC, eku=[SERVER_AUTH]), key, CertificateArn=arn)
        d = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        self.assertEqual([e["Name"] for e in d["ExtendedKeyUsages"]],
                         ["TLS_WEB_SERVER_AUTHENTICATION"])

    def test_reimport_new_extension_refused(self):
        arn, key = self._base("ec256", ku=None, eku=None)
        self.assertIn("adds a KeyUsage", self.refused(
            "ValidationException", self.imp, make_cert(key, ku=KU_EC), key, CertificateArn=arn))
        self.assertIn("adds an ExtendedKeyUsage", self.refused(
            "ValidationException", self.imp, make_cert(key, eku=[SERVER_AUTH]), key,
            CertificateArn=arn))
        self.imp(make_cert(key), key, CertificateArn=arn)  # same (absent) extensions: fine

    def test_reimport_needs_domain_name(self):
        arn, key = self._base("ec256", ku=None, eku=None)
        msg = self.refused("ValidationException", self.imp, make_cert(key, cn=None, sans=()),
                           key, CertificateArn=arn)
        self.assertIn("domain name", msg)

    # -- list / tags / delete -----------------------------------------------------------------

    def test_list_default_key_types_and_pagination(self):
        arns = {}
        for kind in ("rsa2048", "rsa1024", "ec256", "ec384", "rsa3072", "rsa4096", "ec521"):
            key = cached_key(kind)
            arns[kind] = self.imp(make_cert(key), key)
        key = cached_key("rsa2048")
        nodomain = self.imp(make_cert(key, cn=None, sans=("10.0.0.1",)), key)
        default = self.acm.get_paginator("list_certificates").paginate().build_full_result()
        self.assertEqual({c["CertificateArn"] for c in default["CertificateSummaryList"]},
                         {arns["rsa2048"], arns["rsa1024"]})
        every = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                 "EC_secp384r1", "EC_secp521r1"]
        pages = list(self.acm.get_paginator("list_certificates").paginate(
            Includes={"keyTypes": every}))
        self.assertGreaterEqual(len(pages), 3)  # default page size 3
        got = [c["CertificateArn"] for p in pages for c in p["CertificateSummaryList"]]
        self.assertEqual(sorted(got), sorted(list(arns.values()) + [nodomain]))
        one = self.acm.list_certificates(Includes={"keyTypes": every}, MaxItems=1)
        self.assertEqual(len(one["CertificateSummaryList"]), 1)
        self.assertIn("NextToken", one)
        ec = self.acm.list_certificates(Includes={"keyTypes": ["EC_prime256v1"]})
        (s,) = ec["CertificateSummaryList"]
        self.assertEqual((s["CertificateArn"], s["KeyAlgorithm"], s["Type"], s["Status"]),
                         (arns["ec256"], "EC_prime256v1", "IMPORTED", "ISSUED"))
        self.refused("InvalidArgsException", self.acm.list_certificates, NextToken="bogus")
        self.refused("ValidationException", self.acm.list_certificates,
                     Includes={"keyTypes": ["ED25519"]})

    def test_tags_and_delete(self):
        key = cached_key("ec256")
        arn = self.imp(make_cert(key), key, Tags=[{"Key": "a", "Value": "1"}])
        self.acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": "a", "Value": "2"},
                                                                   {"Key": "b", "Value": "3"}])
        tags = self.acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "2"), ("b", "3")])
        self.refused("InvalidTagException", self.acm.add_tags_to_certificate,
                     CertificateArn=arn, Tags=[{"Key": "aws:x", "Value": "1"}])
        self.refused("TooManyTagsException", self.acm.add_tags_to_certificate,
                     CertificateArn=arn, Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(49)])
        self.acm.delete_certificate(CertificateArn=arn)
        self.refused("ResourceNotFoundException", self.acm.describe_certificate,
                     CertificateArn=arn)
        self.refused("ResourceNotFoundException", self.acm.delete_certificate,
                     CertificateArn=arn)

    def test_key_algorithm_style_knob(self):
        key = cached_key("ec256")
        arn = self.imp(make_cert(key), key)
        self.aws.ctl("POST", "/_control/acm/config", {"key_algorithm_style": "hyphen"})
        d = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        self.assertEqual(d["KeyAlgorithm"], "EC-prime256v1")
        self.aws.ctl("POST", "/_control/acm/config", {"key_algorithm_style": "enum"})
        d = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        self.assertEqual(d["KeyAlgorithm"], "EC_prime256v1")

    def test_error_shape_is_lowercase_message(self):
        st, body, hdrs = self.aws.raw_json("acm", "DescribeCertificate", {
            "CertificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/"
                              "00000000-0000-0000-0000-000000000000"})
        self.assertEqual(st, 400)
        self.assertEqual(body["__type"], "ResourceNotFoundException")
        self.assertIn("message", body)
        self.assertNotIn("Message", body)
        self.assertEqual(hdrs["content-type"], "application/x-amz-json-1.1")
        self.assertEqual(json.loads(json.dumps(body)), body)


if __name__ == "__main__":
    unittest.main()
