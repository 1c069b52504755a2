# SPDX-License-Identifier: Apache-2.0
"""localaws Secrets Manager: ClientRequestToken idempotency, delete rules, list filters."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

TOKEN_A = "hsm2acm-web-2026-11-eu-west-1-000000000001"
TOKEN_B = "hsm2acm-web-2026-11-eu-west-1-000000000002"


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()
        cls.sm = cls.aws.client("secretsmanager")

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")

    def refused(self, code, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def test_create_get_describe(self):
        out = self.sm.create_secret(Name="hsm2acm/staging/a", SecretString='{"v":1}',
                                    ClientRequestToken=TOKEN_A, KmsKeyId="alias/h2a",
                                    Tags=[{"Key": "hsm2acm:request", "Value": "a"}])
        self.assertRegex(out["ARN"], r"^arn:aws:secretsmanager:eu-west-1:111111111111:secret:"
                                     r"hsm2acm/staging/a-[A-Za-z0-9]{6}$")
        self.assertEqual(out["VersionId"], TOKEN_A)
        got = self.sm.get_secret_value(SecretId="hsm2acm/staging/a")
        self.assertEqual((got["SecretString"], got["VersionId"], got["VersionStages"]),
                         ('{"v":1}', TOKEN_A, ["AWSCURRENT"]))
        self.assertEqual(self.sm.get_secret_value(SecretId=out["ARN"])["SecretString"], '{"v":1}')
        d = self.sm.describe_secret(SecretId=out["ARN"])
        self.assertEqual(d["KmsKeyId"], "alias/h2a")
        self.assertEqual(d["Tags"], [{"Key": "hsm2acm:request", "Value": "a"}])
        self.assertEqual(d["VersionIdsToStages"], {TOKEN_A: ["AWSCURRENT"]})
        b = self.sm.create_secret(Name="bin", SecretBinary=b"\x00\x01wrapped",
                                  ClientRequestToken=TOKEN_B)
        self.assertEqual(self.sm.get_secret_value(SecretId=b["ARN"])["SecretBinary"],
                         b"\x00\x01wrapped")
        self.assertNotIn("KmsKeyId", self.sm.describe_secret(SecretId="bin"))
        # Raw error shape: capital-M Message.
        st, body, _ = self.aws.raw_json("secretsmanager", "GetSecretValue", {"SecretId": "nope"})
        self.assertEqual((st, body["__type"]), (400, "ResourceNotFoundException"))
        self.assertIn("Message", body)
        self.assertNotIn("message", body)

    def test_client_request_token_idempotency(self):
        first = self.sm.create_secret(Name="s", SecretString="v1", ClientRequestToken=TOKEN_A)
        again = self.sm.create_secret(Name="s", SecretString="v1", ClientRequestToken=TOKEN_A)
        self.assertEqual((again["ARN"], again["VersionId"]), (first["ARN"], TOKEN_A))
        self.refused("ResourceExistsException", self.sm.create_secret, Name="s",
                     SecretString="v2", ClientRequestToken=TOKEN_A)
        msg = self.refused("ResourceExistsException", self.sm.create_secret, Name="s",
                           SecretString="v1", ClientRequestToken=TOKEN_B)
        self.assertIn("already exists", msg)
        secrets = self.aws.ctl("GET", "/_control/secrets")["secrets"]
        self.assertEqual(len(secrets), 1)
        self.assertEqual(secrets[0]["versions"][TOKEN_A]["secret_string"], "v1")

    def test_raw_create_needs_token(self):
        st, body, _ = self.aws.raw_json("secretsmanager", "CreateSecret",
                                        {"Name": "raw", "SecretString": "x"})
        self.assertEqual((st, body["__type"]), (400, "InvalidRequestException"))
        self.assertEqual(body["Message"], "You must provide a ClientRequestToken value. "
                                          "We recommend a UUID-type value.")
        st, body, _ = self.aws.raw_json("secretsmanager", "CreateSecret",
                                        {"Name": "raw", "SecretString": "x",
                                         "ClientRequestToken": "short"})
        self.assertEqual((st, body["__type"]), (400, "ValidationException"))
        self.assertIn("'clientRequestToken' failed to satisfy constraint: Member must have "
                      "length greater than or equal to 32", body["Message"])
        st, body, _ = self.aws.raw_json("secretsmanager", "CreateSecret",
                                        {"Name": "raw", "SecretString": "x",
                                         "SecretBinary": "eA==", "ClientRequestToken": TOKEN_A})
        self.assertEqual(body["__type"], "InvalidParameterException")
        self.assertEqual(self.aws.ctl("GET", "/_control/secrets")["secrets"], [])

    def test_bad_name(self):
        msg = self.refused("ValidationException", self.sm.create_secret, Name="has space",
                           SecretString="x", ClientRequestToken=TOKEN_A)
        self.assertIn("Invalid name", msg)
        self.assertEqual(self.aws.ctl("GET", "/_control/secrets")["secrets"], [])

    def test_bad_kms_key(self):
        self.refused("InvalidParameterException", self.sm.create_secret, Name="k",
                     SecretString="x", KmsKeyId="not a key")
        for good in ("alias/aws/custom", "1234abcd-12ab-34cd-56ef-1234567890ab",
                     "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                     "arn:aws:kms:eu-west-1:111111111111:alias/x"):
            self.sm.create_secret(Name="k" + str(abs(hash(good))), SecretString="x",
                                  KmsKeyId=good)

    def test_delete_rules(self):
        self.sm.create_secret(Name="d", SecretString="x")
        msg = self.refused("InvalidParameterException", self.sm.delete_secret, SecretId="d",
                           ForceDeleteWithoutRecovery=True, RecoveryWindowInDays=7)
        self.assertIn("ForceDeleteWithoutRecovery", msg)
        for bad in (6, 31):
            self.refused("InvalidParameterException", self.sm.delete_secret, SecretId="d",
                         RecoveryWindowInDays=bad)
        out = self.sm.delete_secret(SecretId="d", RecoveryWindowInDays=7)
        self.assertIn("DeletionDate", out)
        self.refused("InvalidRequestException", self.sm.get_secret_value, SecretId="d")
        self.refused("InvalidRequestException", self.sm.delete_secret, SecretId="d")
        self.refused("InvalidRequestException", self.sm.create_secret, Name="d",
                     SecretString="x")
        self.assertIn("DeletedDate", self.sm.describe_secret(SecretId="d"))
        self.assertEqual(self.sm.list_secrets()["SecretList"], [])
        (s,) = self.aws.ctl("GET", "/_control/secrets")["secrets"]
        self.assertTrue(s["scheduled_for_deletion"])
        self.sm.delete_secret(SecretId="d", ForceDeleteWithoutRecovery=True)
        self.refused("ResourceNotFoundException", self.sm.describe_secret, SecretId="d")
        (s,) = self.aws.ctl("GET", "/_control/secrets")["secrets"]
        self.assertTrue(s["force_deleted"] and s["deleted"])
        self.assertIsNone(s["versions"][list(s["versions"])[0]]["secret_string"])
        # As on AWS, the name stays refused for a while after a forced delete (the lag is
        # 2 s by default, set here), then it is reusable.
        self.refused("InvalidRequestException", self.sm.create_secret, Name="d",
                     SecretString="y")
        self.aws.ctl("POST", "/_control/secrets/config", {"deletion_lag_ms": 0})
        self.sm.create_secret(Name="d", SecretString="y")
        # Force-deleting a missing secret succeeds.
        self.sm.delete_secret(SecretId="never-existed", ForceDeleteWithoutRecovery=True)
        self.refused("ResourceNotFoundException", self.sm.delete_secret, SecretId="never-existed")

    def test_list_filters_and_pages(self):
        for i in range(7):
            self.sm.create_secret(Name="hsm2acm/staging/r%d" % i, SecretString="x",
                                  Tags=[{"Key": "hsm2acm:expires", "Value": "17000000%02d" % i},
                                        {"Key": "team", "Value": "web" if i % 2 else "db"}])
        self.sm.create_secret(Name="other/z", SecretString="x")
        pages = list(self.sm.get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": ["hsm2acm/staging/"]}]))
        self.assertGreaterEqual(len(pages), 3)  # default page 3
        names = [s["Name"] for p in pages for s in p["SecretList"]]
        self.assertEqual(sorted(names), ["hsm2acm/staging/r%d" % i for i in range(7)])
        self.assertTrue(all(s["Tags"] for p in pages for s in p["SecretList"]))
        web = self.sm.list_secrets(Filters=[{"Key": "tag-value", "Values": ["web"]}],
                                   MaxResults=100)["SecretList"]
        self.assertEqual(len(web), 3)
        notstaging = self.sm.list_secrets(Filters=[{"Key": "name", "Values": ["!hsm2acm/"]}],
                                          MaxResults=100)["SecretList"]
        self.assertEqual([s["Name"] for s in notstaging], ["other/z"])
        keyed = self.sm.list_secrets(Filters=[{"Key": "tag-key", "Values": ["hsm2acm:exp"]}],
                                     MaxResults=100)["SecretList"]
        self.assertEqual(len(keyed), 7)
        self.refused("InvalidNextTokenException", self.sm.list_secrets, NextToken="garbage")
        self.refused("ValidationException", self.sm.list_secrets,
                     Filters=[{"Key": "colour", "Values": ["x"]}])


if __name__ == "__main__":
    unittest.main()
