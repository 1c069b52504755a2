# SPDX-License-Identifier: Apache-2.0
"""localaws core: SigV4 checks, model validation, STS XML, faults, IMDS/ECS, persistence."""
import base64
import datetime
import http.client
import json
import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402
from testlib import KEYS, cached_key, make_cert, pem  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
ARN0 = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"


def xml_err(body):
    root = ET.fromstring(body)
    err = root.find(NS + "Error")
    return err.find(NS + "Code").text, err.find(NS + "Message").text, err.find(NS + "Type").text


class CoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")

    def describe(self, **kw):
        return self.aws.raw_json("acm", "DescribeCertificate", {"CertificateArn": ARN0}, **kw)

    # -- SigV4 -----------------------------------------------------------------------------

    def test_signature_good_and_bad(self):
        st, body, _ = self.describe()
        self.assertEqual((st, body["__type"]), (400, "ResourceNotFoundException"))
        st, body, _ = self.describe(secret="x" * 40)
        self.assertEqual((st, body["__type"]), (403, "InvalidSignatureException"))
        self.assertTrue(body["message"].startswith("The request signature we calculated does "
                                                   "not match the signature you provided."))
        st, body, _ = self.describe(mutate=lambda h, b: (h, b.replace(b"0000", b"1111", 1)))
        self.assertEqual((st, body["__type"]), (403, "InvalidSignatureException"))
        st, body, _ = self.describe(akid="AKIAUNKNOWNUNKNOWN00")
        self.assertEqual((st, body["__type"]), (400, "UnrecognizedClientException"))
        self.assertEqual(body["message"], "The security token included in the request is invalid.")
        st, body, _ = self.aws.raw_json("acm", "DescribeCertificate", {"CertificateArn": ARN0},
                                        sign=False)
        self.assertEqual((st, body["__type"]), (403, "MissingAuthenticationTokenException"))

    def test_signature_scope_and_clock(self):
        body = json.dumps({"CertificateArn": ARN0}).encode()
        # Signed for the wrong service.
        h = self.aws.signed_headers("secretsmanager", body,
                                    target="CertificateManager.DescribeCertificate")
        st, _, data = self.aws.request("POST", "/", body, h)
        self.assertEqual(st, 403)
        self.assertIn("Credential should be scoped to correct service: 'acm'",
                      json.loads(data)["message"])
        # Not a region.
        st, b, _ = self.describe(region="mars")
        self.assertEqual((st, b["__type"]), (403, "InvalidSignatureException"))
        # 20 minutes off.
        when = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
        st, b, _ = self.describe(when=when)
        self.assertEqual((st, b["__type"]), (403, "InvalidSignatureException"))
        self.assertIn("Signature expired", b["message"])
        # 5 minutes off is fine.
        st, b, _ = self.describe(when=datetime.datetime.utcnow() - datetime.timedelta(minutes=5))
        self.assertEqual(b["__type"], "ResourceNotFoundException")
        # Organizations must be signed for us-east-1.
        st, b, _ = self.aws.raw_json("organizations", "ListAccounts", {}, region="eu-west-1")
        self.assertEqual((st, b["__type"]), (403, "InvalidSignatureException"))
        st, b, _ = self.aws.raw_json("organizations", "ListAccounts", {}, region="us-east-1")
        self.assertEqual(st, 200)
        # Host must be signed.
        def drop_host(h, b):
            auth = h["Authorization"].replace("host;", "")
            return dict(h, Authorization=auth), b
        st, b, _ = self.describe(mutate=drop_host)
        self.assertEqual(st, 403)

    def test_sts_signature_errors(self):
        form = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
        st, body, _ = self.aws.raw_query(form, secret="y" * 40)
        self.assertEqual(st, 403)
        self.assertEqual(xml_err(body)[:1], ("SignatureDoesNotMatch",))
        st, body, _ = self.aws.raw_query(form, akid="AKIAUNKNOWNUNKNOWN00")
        self.assertEqual((st, xml_err(body)[0]), (403, "InvalidClientTokenId"))

    def test_temporary_credentials(self):
        sts = self.aws.client("sts")
        out = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/hsm2acm-deployer",
                              RoleSessionName="enroll", DurationSeconds=900)
        c = out["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::222222222222:assumed-role/hsm2acm-deployer/enroll")
        left = (c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(850 < left <= 900, left)
        who = self.aws.client("sts", creds=c).get_caller_identity()
        self.assertEqual((who["Account"], who["Arn"]), ("222222222222",
                         "arn:aws:sts::222222222222:assumed-role/hsm2acm-deployer/enroll"))
        # State is per account: a certificate imported with the role lands in 222222222222.
        key = cached_key("ec256")
        acm2 = self.aws.client("acm", creds=c)
        arn = acm2.import_certificate(Certificate=pem(make_cert(key)), PrivateKey=pem(key))["CertificateArn"]
        self.assertIn(":222222222222:", arn)
        self.assertEqual(len(self.aws.ctl("GET", "/_control/acm?account=222222222222")["certificates"]), 1)
        # Without the session token the key is not recognised.
        st, b, _ = self.describe(akid=c["AccessKeyId"], secret=c["SecretAccessKey"])
        self.assertEqual((st, b["__type"]), (400, "UnrecognizedClientException"))
        # Expired credentials.
        old = self.aws.ctl("POST", "/_control/credentials", {"account": "333333333333",
                                                             "duration_seconds": -5})
        st, b, _ = self.describe(akid=old["AccessKeyId"], secret=old["SecretAccessKey"],
                                 token=old["SessionToken"])
        self.assertEqual((st, b["__type"]), (400, "ExpiredTokenException"))
        st, body, _ = self.aws.raw_query({"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                                         akid=old["AccessKeyId"], secret=old["SecretAccessKey"],
                                         token=old["SessionToken"])
        self.assertEqual((st, xml_err(body)[0]), (400, "ExpiredToken"))

    # -- model validation ------------------------------------------------------------------

    def test_model_validation_json(self):
        st, b, _ = self.aws.raw_json("acm", "DescribeCertificate", {})
        self.assertEqual((st, b["__type"]), (400, "ValidationException"))
        self.assertEqual(b["message"], "1 validation error detected: Value null at "
                         "'certificateArn' failed to satisfy constraint: Member must not be null")
        st, b, _ = self.aws.raw_json("acm", "DescribeCertificate", {"CertificateArn": ARN0,
                                                                    "Bogus": 1})
        self.assertEqual((st, b["__type"]), (400, "ValidationException"))
        self.assertIn("Bogus", b["message"])
        st, b, _ = self.aws.raw_json("acm", "DescribeCertificate", {"CertificateArn": 42})
        self.assertEqual((st, b["__type"]), (400, "SerializationException"))
        st, b, _ = self.aws.raw_json("acm", "ListCertificates", {"CertificateStatuses": ["NOPE"]})
        self.assertEqual(b["__type"], "ValidationException")
        self.assertIn("Member must satisfy enum value set: [PENDING_VALIDATION", b["message"])
        st, b, _ = self.aws.raw_json("acm", "AddTagsToCertificate", {
            "CertificateArn": "arn-but-not-really-an-arn!", "Tags": [{"Key": "k" * 129, "Value": "v"}]})
        self.assertEqual(b["__type"], "ValidationException")
        self.assertTrue(b["message"].startswith("2 validation errors detected: "), b["message"])
        self.assertIn("'tags.1.member.key' failed to satisfy constraint: Member must have "
                      "length less than or equal to 128", b["message"])
        self.assertIn("Member must satisfy regular expression pattern", b["message"])
        st, b, _ = self.aws.raw_json("acm", "ListCertificates", None, raw_body=b"{not json")
        self.assertEqual((st, b["__type"]), (400, "SerializationException"))
        st, b, _ = self.aws.raw_json("secretsmanager", "ListSecrets", {"MaxResults": 1000})
        self.assertEqual(b["__type"], "ValidationException")
        self.assertIn("Message", b)
        st, b, _ = self.aws.raw_json("acm", "ListCertificates", {"Includes": {
            "keyTypes": ["RSA_2048"], "managedBy": "CLOUDFRONT"}})
        self.assertEqual(st, 200)  # newer model member, accepted
        body = b'{}'
        h = self.aws.signed_headers("acm", body, target="CertificateManager.NoSuchOp")
        st, _, data = self.aws.request("POST", "/", body, h)
        self.assertEqual((st, json.loads(data)["__type"]), (400, "UnknownOperationException"))

    def test_model_validation_query(self):
        base = {"Action": "AssumeRole", "Version": "2011-06-15",
                "RoleArn": "arn:aws:iam::222222222222:role/r"}
        st, body, _ = self.aws.raw_query(base)
        code, msg, typ = xml_err(body)
        self.assertEqual((st, code, typ), (400, "ValidationError", "Sender"))
        self.assertIn("'roleSessionName' failed to satisfy constraint: Member must not be null", msg)
        st, body, _ = self.aws.raw_query(dict(base, RoleSessionName="s", DurationSeconds="100"))
        code, msg, _ = xml_err(body)
        self.assertEqual(code, "ValidationError")
        self.assertIn("roleSessionName", msg)  # too short (min 2)
        self.assertIn("greater than or equal to 900", msg)
        st, body, _ = self.aws.raw_query(dict(base, RoleSessionName="ss", Colour="blue"))
        self.assertEqual(xml_err(body)[0], "ValidationError")
        st, body, _ = self.aws.raw_query({"Action": "Explode", "Version": "2011-06-15"})
        self.assertEqual((st, xml_err(body)[0]), (400, "InvalidAction"))

    # -- STS -------------------------------------------------------------------------------

    def test_sts_xml_shapes(self):
        st, body, hdrs = self.aws.raw_query({"Action": "GetCallerIdentity",
                                             "Version": "2011-06-15"})
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/xml"))
        root = ET.fromstring(body)
        self.assertEqual(root.tag, NS + "GetCallerIdentityResponse")
        res = root.find(NS + "GetCallerIdentityResult")
        self.assertEqual(res.find(NS + "Account").text, "111111111111")
        self.assertEqual(res.find(NS + "Arn").text, "arn:aws:iam::111111111111:user/h2a-test")
        self.assertEqual(root.find(NS + "ResponseMetadata/" + NS + "RequestId").text,
                         hdrs["x-amzn-requestid"])
        st, body, _ = self.aws.raw_query({"Action": "AssumeRole", "Version": "2011-06-15",
                                          "RoleArn": "arn:aws:iam::333333333333:role/x",
                                          "RoleSessionName": "sess"})
        res = ET.fromstring(body).find(NS + "AssumeRoleResult")
        cred = res.find(NS + "Credentials")
        for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"):
            self.assertTrue(cred.find(NS + tag).text, tag)
        self.assertRegex(cred.find(NS + "Expiration").text, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(res.find(NS + "AssumedRoleUser/" + NS + "Arn").text,
                         "arn:aws:sts::333333333333:assumed-role/x/sess")

    def test_external_id(self):
        self.aws.ctl("POST", "/_control/roles", {"account": "222222222222",
                                                 "role_name": "guarded", "external_id": "ext-42"})
        sts = self.aws.client("sts")
        arn = "arn:aws:iam::222222222222:role/guarded"
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn=arn, RoleSessionName="s1")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        with self.assertRaises(ClientError):
            sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="ext-43")
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="ext-42")
        self.aws.ctl("POST", "/_control/roles", {"account": "333333333333", "role_name": "shut",
                                                 "deny": True})
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/shut", RoleSessionName="s1")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.aws.ctl("POST", "/_control/roles", {"account": "333333333333", "role_name": "short",
                                                 "max_session": 1800})
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::333333333333:role/short", RoleSessionName="s1",
                            DurationSeconds=3600)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::999999999999:role/x", RoleSessionName="s1")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_web_identity(self):
        def call(token):
            return self.aws.raw_query({"Action": "AssumeRoleWithWebIdentity",
                                       "Version": "2011-06-15",
                                       "RoleArn": "arn:aws:iam::222222222222:role/web",
                                       "RoleSessionName": "pod", "WebIdentityToken": token},
                                      sign=False)
        hdr = base64.urlsafe_b64encode(b'{"alg":"RS256"}').decode().rstrip("=")
        st, body, _ = call(hdr + ".eyJzdWIiOiJ4In0.c2ln")
        self.assertEqual(st, 200)
        res = ET.fromstring(body).find(NS + "AssumeRoleWithWebIdentityResult")
        key = res.find(NS + "Credentials/" + NS + "AccessKeyId").text
        self.assertTrue(key.startswith("ASIA"))
        st, body, _ = call("not-a-jwt")
        self.assertEqual((st, xml_err(body)[0]), (400, "InvalidIdentityToken"))
        tok = self.aws.ctl("POST", "/_control/webtokens", {})["token"]
        self.assertEqual(call(tok)[0], 200)
        # Once tokens are registered only those are accepted.
        self.assertEqual(call(hdr + ".eyJzdWIiOiJ4In0.c2ln")[0], 400)

    # -- other services ----------------------------------------------------------------------

    def test_organizations(self):
        org = self.aws.client("organizations", region="us-east-1")
        pages = list(org.get_paginator("list_accounts").paginate())
        self.assertGreaterEqual(len(pages), 2)
        ids = [a["Id"] for p in pages for a in p["Accounts"]]
        self.assertEqual(ids, ["111111111111", "222222222222", "333333333333"])
        other = self.aws.client("organizations", account="222222222222", region="us-east-1")
        with self.assertRaises(ClientError) as cm:
            other.list_accounts()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")

    def test_pca(self):
        pca = self.aws.client("acm-pca")
        ca_arn = ("arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/"
                  "11111111-2222-3333-4444-555555555555")
        key = cached_key("ec256")
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pca.example.com")]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName("pca.example.com")]), False)
               .sign(key, hashes.SHA256()))
        from cryptography.hazmat.primitives import serialization
        csr_pem = csr.public_bytes(serialization.Encoding.PEM)
        arn = pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=csr_pem,
                                    SigningAlgorithm="SHA256WITHECDSA",
                                    Validity={"Value": 30, "Type": "DAYS"},
                                    IdempotencyToken="tok1")["CertificateArn"]
        self.assertTrue(arn.startswith(ca_arn + "/certificate/"))
        same = pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=csr_pem,
                                     SigningAlgorithm="SHA256WITHECDSA",
                                     Validity={"Value": 30, "Type": "DAYS"},
                                     IdempotencyToken="tok1")["CertificateArn"]
        self.assertEqual(same, arn)
        with self.assertRaises(ClientError) as cm:
            pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=arn)
        self.assertEqual(cm.exception.response["Error"]["Code"], "RequestInProgressException")
        out = pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=arn)
        cert = x509.load_pem_x509_certificate(out["Certificate"].encode())
        self.assertEqual(cert.public_key().public_numbers(), key.public_key().public_numbers())
        ca = x509.load_pem_x509_certificate(out["CertificateChain"].encode())
        self.assertEqual(cert.issuer, ca.subject)
        with self.assertRaises(ClientError) as cm:
            pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=b"junk",
                                  SigningAlgorithm="SHA256WITHECDSA",
                                  Validity={"Value": 30, "Type": "DAYS"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "MalformedCSRException")
        with self.assertRaises(ClientError) as cm:
            pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=csr_pem,
                                  SigningAlgorithm="SHA256WITHRSA",
                                  Validity={"Value": 30, "Type": "DAYS"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgsException")

    # -- faults ------------------------------------------------------------------------------

    def fault(self, **spec):
        return self.aws.ctl("POST", "/_control/faults", spec)

    def test_fault_throttle_quota_5xx(self):
        self.fault(service="acm", operation="DescribeCertificate", kind="throttle", count=2)
        for _ in range(2):
            st, b, _ = self.describe()
            self.assertEqual((st, b["__type"], b["message"]), (400, "ThrottlingException",
                                                               "Rate exceeded"))
        st, b, _ = self.describe()
        self.assertEqual(b["__type"], "ResourceNotFoundException")
        self.fault(service="acm", operation="*", kind="quota")
        self.assertEqual(self.describe()[1]["__type"], "LimitExceededException")
        self.fault(service="acm", operation="*", kind="http500")
        st, b, _ = self.describe()
        self.assertEqual((st, b["__type"]), (500, "InternalFailure"))
        self.fault(service="*", operation="*", kind="http503")
        self.assertEqual(self.describe()[0], 503)
        self.fault(service="acm", operation="*", kind="error", status=502, code="BadGateway")
        st, b, _ = self.describe()
        self.assertEqual((st, b["__type"]), (502, "BadGateway"))
        self.fault(service="sts", operation="GetCallerIdentity", kind="throttle")
        st, body, _ = self.aws.raw_query({"Action": "GetCallerIdentity", "Version": "2011-06-15"})
        self.assertEqual((st, xml_err(body)[0]), (400, "Throttling"))
        # A fault for another operation does not fire.
        self.fault(service="acm", operation="ImportCertificate", kind="http500")
        self.assertEqual(self.describe()[0], 400)
        self.assertEqual(len(self.aws.ctl("GET", "/_control/faults")["faults"]), 1)
        calls = self.aws.ctl("GET", "/_control/calls?service=acm")["calls"]
        self.assertEqual([c["status"] for c in calls[:3]], [400, 400, 400])
        self.assertEqual(calls[0]["error"], "ThrottlingException")
        self.assertEqual(calls[0]["fault"], "throttle")
        self.assertEqual(calls[0]["account"], "111111111111")

    def test_call_log_params_are_redacted(self):
        key = cached_key("ec256")
        self.aws.client("acm").import_certificate(Certificate=pem(make_cert(key)),
                                                  PrivateKey=pem(key),
                                                  Tags=[{"Key": "k", "Value": "v"}])
        self.aws.client("secretsmanager").create_secret(Name="n", SecretString="TOPSECRET",
                                                        ClientRequestToken="t" * 32)
        calls = self.aws.ctl("GET", "/_control/calls")["calls"]
        text = json.dumps(calls)
        self.assertNotIn("PRIVATE KEY", text)
        self.assertNotIn("TOPSECRET", text)
        self.assertNotIn(base64.b64encode(pem(key)).decode()[:40], text)
        imp = [c for c in calls if c["operation"] == "ImportCertificate"][0]
        self.assertEqual(imp["params"]["Tags"], [{"Key": "k", "Value": "v"}])
        self.assertTrue(imp["params"]["PrivateKey"].startswith("<redacted"))
        self.assertIn("Botocore", imp["user_agent"])
        cs = [c for c in calls if c["operation"] == "CreateSecret"][0]
        self.assertEqual(cs["params"]["ClientRequestToken"], "t" * 32)

    def test_fault_after(self):
        self.fault(service="acm", operation="DescribeCertificate", kind="http500", after=1)
        self.assertEqual(self.describe()[0], 400)
        self.assertEqual(self.describe()[0], 500)
        self.assertEqual(self.describe()[0], 400)

    def test_fault_delay_drop_garbage_truncate(self):
        self.fault(service="acm", operation="*", kind="delay", delay_ms=400)
        t0 = time.monotonic()
        self.assertEqual(self.describe()[1]["__type"], "ResourceNotFoundException")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.fault(service="acm", operation="*", kind="drop")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.describe()
        self.fault(service="acm", operation="*", kind="garbage")
        st, b, hdrs = self.describe()
        self.assertEqual((st, b), (200, None))
        self.fault(service="acm", operation="*", kind="truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.describe()
        self.assertEqual(self.describe()[0], 400)  # still serving

    def test_fault_drop_after_runs_the_operation(self):
        key = cached_key("ec256")
        self.fault(service="acm", operation="ImportCertificate", kind="drop_after")
        acm = self.aws.client("acm")
        with self.assertRaises(Exception):
            acm.import_certificate(Certificate=pem(make_cert(key)), PrivateKey=pem(key))
        self.assertEqual(len(self.aws.ctl("GET", "/_control/acm")["certificates"]), 1)
        (call,) = self.aws.ctl("GET", "/_control/calls?operation=ImportCertificate")["calls"]
        self.assertEqual((call["status"], call["error"]), (0, "drop_after"))

    def test_fault_malformed_replies(self):
        self.fault(service="acm", operation="*", kind="garbage", status=200,
                   content_type="application/x-amz-json-1.1",
                   body='{"Certificate": {"CertificateArn": 5}}')
        st, b, hdrs = self.describe()
        self.assertEqual((st, b, hdrs["content-type"]),
                         (200, {"Certificate": {"CertificateArn": 5}}, "application/x-amz-json-1.1"))
        self.fault(service="acm", operation="*", kind="garbage", status=400,
                   body_b64=base64.b64encode(b'{"__type": "\xff\xfe"}').decode())
        st, _, data = self.aws.request("POST", "/", b"{}", self.aws.signed_headers(
            "acm", b"{}", target="CertificateManager.ListCertificates"))
        self.assertEqual((st, data), (400, b'{"__type": "\xff\xfe"}'))
        self.fault(service="acm", operation="*", kind="oversized", size=3 << 20)
        st, _, data = self.aws.request("POST", "/", b"{}", self.aws.signed_headers(
            "acm", b"{}", target="CertificateManager.ListCertificates"))
        self.assertEqual((st, len(data)), (200, (3 << 20) + 11))
        self.assertEqual(json.loads(data)["pad"], "x" * (3 << 20))

    def test_connect_proxy(self):
        c = http.client.HTTPSConnection("127.0.0.1", self.aws.http_port, context=self.aws.ssl)
        c.set_tunnel("127.0.0.1", self.aws.https_port)
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        h = self.aws.signed_headers("sts", body)
        c.request("POST", "/", body=body, headers=h)
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"<Account>111111111111</Account>", r.read())
        c.close()
        (p,) = self.aws.ctl("GET", "/_control/calls?service=proxy")["calls"]
        self.assertEqual((p["operation"], p["status"]),
                         ("CONNECT 127.0.0.1:%d" % self.aws.https_port, 200))
        # Only loopback targets.
        c = http.client.HTTPConnection("127.0.0.1", self.aws.http_port)
        c.request("CONNECT", "example.com:443")
        self.assertEqual(c.getresponse().status, 403)
        c.close()

    def test_role_chaining_limit(self):
        c = self.aws.client("sts").assume_role(RoleArn="arn:aws:iam::222222222222:role/a",
                                               RoleSessionName="one")["Credentials"]
        chained = self.aws.client("sts", creds=c)
        with self.assertRaises(ClientError) as cm:
            chained.assume_role(RoleArn="arn:aws:iam::333333333333:role/b",
                                RoleSessionName="two", DurationSeconds=7200)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")
        out = chained.assume_role(RoleArn="arn:aws:iam::333333333333:role/b",
                                  RoleSessionName="two", DurationSeconds=3600)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::333333333333:assumed-role/b/two")

    def test_handler_exception_is_500(self):
        self.fault(service="acm", operation="*", kind="exception")
        st, b, _ = self.describe()
        self.assertEqual((st, b["__type"]), (500, "InternalFailure"))
        self.assertEqual(self.describe()[0], 400)

    def test_malformed_requests_never_hang(self):
        import socket
        import ssl as _ssl
        cases = [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: CertificateManager.ListCertificates\r\n"
            b"Authorization: AWS4-HMAC-SHA256 garbage\r\nContent-Length: 2\r\n\r\n{}",
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: CertificateManager.ListCertificates\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=AKIAH2ALOCAL11111111/2026/x/acm/aws4_request, "
            b"SignedHeaders=host, Signature=" + b"0" * 64 + b"\r\nX-Amz-Date: nope\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 4\r\n\r\n\xff\xfe\x00=",
            b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\x16\x03\x01garbage-not-http\r\n\r\n",
        ]
        for raw in cases:
            sock = socket.create_connection(("127.0.0.1", self.aws.https_port), timeout=10)
            tls = self.aws.ssl.wrap_socket(sock, server_hostname="127.0.0.1")
            tls.sendall(raw)
            try:
                reply = tls.recv(4096)
            except (ConnectionError, _ssl.SSLError):
                reply = b""
            tls.close()
            if b"Error code: 400" in reply and not reply.startswith(b"HTTP/"):
                continue  # unparseable request line: http.server's HTTP/0.9-style 400 page
            self.assertTrue(reply == b"" or reply.startswith(b"HTTP/1."), (raw, reply))
            if reply:
                status = int(reply.split(b" ")[1])
                self.assertTrue(400 <= status < 600, (raw, reply[:200]))
        # Not TLS at all on the HTTPS port.
        sock = socket.create_connection(("127.0.0.1", self.aws.https_port), timeout=10)
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.recv(100)
        sock.close()
        self.assertEqual(self.describe()[1]["__type"], "ResourceNotFoundException")

    # -- transport ---------------------------------------------------------------------------

    def test_keep_alive(self):
        self.aws.ctl("DELETE", "/_control/stats")
        c = http.client.HTTPSConnection("127.0.0.1", self.aws.https_port, context=self.aws.ssl)
        body = json.dumps({"CertificateArn": ARN0}).encode()
        socks = set()
        for _ in range(5):
            h = self.aws.signed_headers("acm", body, target="CertificateManager.DescribeCertificate")
            c.request("POST", "/", body=body, headers=h)
            r = c.getresponse()
            self.assertEqual(int(r.getheader("Content-Length")), len(r.read()))
            self.assertEqual(r.status, 400)
            socks.add(id(c.sock))
        self.assertEqual(len(socks), 1)
        c.close()
        # The server saw one connection for the five calls (one TLS handshake).
        calls = self.aws.ctl("GET", "/_control/calls?operation=DescribeCertificate")["calls"]
        self.assertEqual(len(calls), 5)
        self.assertEqual(len({x["connection"] for x in calls}), 1)
        stats = self.aws.ctl("GET", "/_control/stats")
        self.assertEqual(stats["requests"], 5)

    def test_concurrent_clients(self):
        import threading
        key = cached_key("ec256")
        cert, kpem = pem(make_cert(key)), pem(key)
        self.fault(service="acm", operation="ImportCertificate", kind="throttle", count=3)
        errors, arns = [], []

        def work(i):
            acm, sm = self.aws.client("acm"), self.aws.client("secretsmanager")
            for j in range(5):
                try:
                    arn = acm.import_certificate(Certificate=cert, PrivateKey=kpem)["CertificateArn"]
                    acm.describe_certificate(CertificateArn=arn)
                    sm.create_secret(Name="c%d-%d" % (i, j), SecretString="x")
                    arns.append(arn)
                except ClientError as exc:
                    errors.append(exc.response["Error"]["Code"])
        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, ["ThrottlingException"] * 3)
        self.assertEqual(len(set(arns)), 27)
        self.assertEqual(len(self.aws.ctl("GET", "/_control/acm")["certificates"]), 27)
        self.assertEqual(len(self.aws.ctl("GET", "/_control/secrets")["secrets"]), 27)

    # -- credential endpoints ----------------------------------------------------------------

    def test_imds_v2(self):
        st, _, data = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/",
                                       http_port=True)
        self.assertEqual(st, 401)
        st, _, _ = self.aws.request("PUT", "/latest/api/token", http_port=True)
        self.assertEqual(st, 400)
        st, _, tok = self.aws.request("PUT", "/latest/api/token", http_port=True, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "21600"})
        self.assertEqual(st, 200)
        h = {"X-aws-ec2-metadata-token": tok.decode()}
        st, _, role = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/",
                                       http_port=True, headers=h)
        self.assertEqual((st, role), (200, b"h2a-instance-role"))
        st, _, data = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/"
                                       "h2a-instance-role", http_port=True, headers=h)
        c = json.loads(data)
        self.assertEqual(c["Code"], "Success")
        who = self.aws.client("sts", creds={"AccessKeyId": c["AccessKeyId"],
                                            "SecretAccessKey": c["SecretAccessKey"],
                                            "SessionToken": c["Token"]}).get_caller_identity()
        self.assertEqual(who["Arn"], "arn:aws:sts::111111111111:assumed-role/h2a-instance-role/i-0h2a")
        st, _, _ = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/",
                                    http_port=True, headers={"X-aws-ec2-metadata-token": "forged"})
        self.assertEqual(st, 401)
        imds = self.aws.ctl("GET", "/_control/calls?service=imds")["calls"]
        self.assertEqual([(x["operation"].split(" ")[0], x["status"], x["has_token"]) for x in imds],
                         [("GET", 401, False), ("PUT", 400, False), ("PUT", 200, False),
                          ("GET", 200, True), ("GET", 200, True), ("GET", 401, True)])

    def test_imds_disabled_and_short_credentials(self):
        self.aws.ctl("POST", "/_control/imds", {"enabled": False})
        st, _, _ = self.aws.request("PUT", "/latest/api/token", http_port=True, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "60"})
        self.assertEqual(st, 404)
        self.aws.ctl("POST", "/_control/imds", {"enabled": True, "role_name": "short",
                                                "duration_seconds": 120, "account": "222222222222"})
        _, _, tok = self.aws.request("PUT", "/latest/api/token", http_port=True, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "60"})
        h = {"X-aws-ec2-metadata-token": tok.decode()}
        _, _, data = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/short",
                                      http_port=True, headers=h)
        c = json.loads(data)
        exp = datetime.datetime.strptime(c["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
        left = (exp - datetime.datetime.utcnow()).total_seconds()
        self.assertTrue(100 < left <= 120, left)
        st, _, _ = self.aws.request("GET", "/latest/meta-data/iam/security-credentials/other",
                                    http_port=True, headers=h)
        self.assertEqual(st, 404)

    def test_ecs(self):
        st, _, data = self.aws.request("GET", "/ecs/credentials", http_port=True)
        self.assertEqual(st, 200)
        self.assertTrue(json.loads(data)["AccessKeyId"].startswith("ASIA"))
        self.aws.ctl("POST", "/_control/ecs", {"authorization": "Bearer s3cret",
                                               "account": "333333333333"})
        self.assertEqual(self.aws.request("GET", "/ecs/credentials", http_port=True)[0], 401)
        st, _, data = self.aws.request("GET", "/ecs/credentials", http_port=True,
                                       headers={"Authorization": "Bearer s3cret"})
        c = json.loads(data)
        self.assertEqual(c["RoleArn"], "arn:aws:iam::333333333333:role/h2a-task-role")
        who = self.aws.client("sts", creds={"AccessKeyId": c["AccessKeyId"],
                                            "SecretAccessKey": c["SecretAccessKey"],
                                            "SessionToken": c["Token"]}).get_caller_identity()
        self.assertEqual(who["Account"], "333333333333")


class PersistenceTest(unittest.TestCase):
    def test_state_survives_restart(self):
        aws = testlib.LocalAws()
        try:
            key = cached_key("ec256")
            acm = aws.client("acm")
            arn = acm.import_certificate(Certificate=pem(make_cert(key)),
                                         PrivateKey=pem(key))["CertificateArn"]
            aws.client("secretsmanager").create_secret(Name="keep", SecretString="v")
            c = aws.client("sts").assume_role(RoleArn="arn:aws:iam::222222222222:role/r",
                                              RoleSessionName="ss")["Credentials"]
            aws.restart()
            d = aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
            self.assertEqual(d["CertificateArn"], arn)
            self.assertEqual(aws.client("secretsmanager").get_secret_value(
                SecretId="keep")["SecretString"], "v")
            self.assertEqual(aws.client("sts", creds=c).get_caller_identity()["Account"],
                             "222222222222")
            self.assertEqual(KEYS["111111111111"][0], "AKIAH2ALOCAL11111111")
        finally:
            aws.close()


class CrashPersistenceTest(unittest.TestCase):
    def test_state_survives_kill_9_and_torn_log_line(self):
        import signal
        aws = testlib.LocalAws()
        try:
            key = cached_key("ec256")
            arn = aws.client("acm").import_certificate(
                Certificate=pem(make_cert(key)), PrivateKey=pem(key))["CertificateArn"]
            aws.client("acm").add_tags_to_certificate(CertificateArn=arn,
                                                      Tags=[{"Key": "t", "Value": "1"}])
            aws.client("secretsmanager").create_secret(Name="gone", SecretString="v")
            aws.client("secretsmanager").delete_secret(SecretId="gone",
                                                       ForceDeleteWithoutRecovery=True)
            aws.stop(sig=signal.SIGKILL)
            # A change that was being written when the process died.
            with open(os.path.join(aws.state_dir, "state.log"), "a") as f:
                f.write('{"p":["acm","111111111111/eu-west-1"')
            aws.start()
            acm = aws.client("acm")
            self.assertEqual(acm.list_tags_for_certificate(CertificateArn=arn)["Tags"],
                             [{"Key": "t", "Value": "1"}])
            with self.assertRaises(ClientError):
                aws.client("secretsmanager").describe_secret(SecretId="gone")
            (s,) = aws.ctl("GET", "/_control/secrets")["secrets"]
            self.assertTrue(s["force_deleted"])
            # The crash fault ends the server in the middle of a call.
            aws.ctl("POST", "/_control/faults", {"service": "acm", "operation": "ListCertificates",
                                                 "kind": "crash"})
            with self.assertRaises(Exception):
                acm.list_certificates()
            self.assertEqual(aws.proc.wait(10), 9)
            aws.start()
            self.assertEqual(aws.client("acm").describe_certificate(
                CertificateArn=arn)["Certificate"]["CertificateArn"], arn)
        finally:
            aws.close()


if __name__ == "__main__":
    unittest.main()
