# SPDX-License-Identifier: Apache-2.0
"""localaws for discovery: Organizations states and empty pages, roles that do not exist,
seeded certificates of every key type and status behind ACM's default keyTypes filter,
and per-API rate limits answering ThrottlingException."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

ALL_KEYS = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1",
            "EC_secp521r1"]
STATUSES = ["PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT",
            "REVOKED", "FAILED"]


class DiscoveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")
        self.aws.ctl("POST", "/_control/ratelimits", {})

    def test_org_states_and_empty_pages(self):
        self.aws.ctl("POST", "/_control/org", {"accounts": [
            {"Id": "444444444444"}, {"Id": "666666666666", "State": "SUSPENDED"}],
            "page_size": 2, "empty_pages": True})
        pages, accounts, token = 0, [], None
        while True:
            # Raw calls: Debian's botocore model predates the State member and drops it.
            st, r, _h = self.aws.raw_json("organizations", "ListAccounts",
                                          {"NextToken": token} if token else {},
                                          region="us-east-1")
            self.assertEqual(st, 200, r)
            pages += 1
            if pages == 1:
                self.assertEqual(r["Accounts"], [])  # an empty first page with a token
            accounts += r["Accounts"]
            token = r.get("NextToken")
            if not token:
                break
        states = {a["Id"]: a["State"] for a in accounts}
        self.assertEqual(states["666666666666"], "SUSPENDED")
        self.assertEqual(states["444444444444"], "ACTIVE")
        self.assertEqual(len(accounts), 5)
        self.assertEqual(pages, 6)  # 3 real pages of at most 2, each after an empty one

    def test_missing_role(self):
        self.aws.ctl("POST", "/_control/org", {"accounts": [{"Id": "444444444444"}]})
        sts = self.aws.client("sts")
        arn = "arn:aws:iam::444444444444:role/OrganizationAccountAccessRole"
        c = sts.assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
        acm = self.aws.client("acm", creds=c)
        self.assertEqual(acm.list_certificates()["CertificateSummaryList"], [])
        self.aws.ctl("POST", "/_control/roles", {"account": "444444444444", "missing": True,
                                                 "role_name": "OrganizationAccountAccessRole"})
        with self.assertRaises(ClientError) as cm:
            sts.assume_role(RoleArn=arn, RoleSessionName="test")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_seed_every_key_type_and_status_default_filter(self):
        for k, s in zip(ALL_KEYS, STATUSES):
            self.aws.ctl("POST", "/_control/acm/seed", {"key_algorithm": k, "status": s})
        self.aws.ctl("POST", "/_control/acm/seed", {"key_algorithm": "RSA_2048",
                                                    "domain_name": None})
        acm = self.aws.client("acm")
        every = acm.list_certificates(Includes={"keyTypes": ALL_KEYS}, MaxItems=100)
        rows = every["CertificateSummaryList"]
        self.assertEqual(sorted(r["KeyAlgorithm"] for r in rows), sorted(ALL_KEYS + ["RSA_2048"]))
        self.assertEqual(sorted(set(r["Status"] for r in rows)), sorted(STATUSES))
        default = acm.list_certificates(MaxItems=100)["CertificateSummaryList"]
        # Without keyTypes ACM lists RSA_1024/RSA_2048 with a domain only.
        self.assertEqual(sorted(r["KeyAlgorithm"] for r in default), ["RSA_1024", "RSA_2048"])

    def test_rate_limit_throttles(self):
        self.aws.ctl("POST", "/_control/acm/seed", {})
        self.aws.ctl("POST", "/_control/ratelimits", {"acm.ListCertificates": 1})
        codes = []
        for _ in range(3):
            st, b, _h = self.aws.raw_json("acm", "ListCertificates", {})
            codes.append(b.get("__type", "ok") if st != 200 else "ok")
        self.assertEqual(codes[0], "ok")
        self.assertIn("ThrottlingException", codes[1:])
        self.assertGreaterEqual(self.aws.ctl("GET", "/_control/ratelimits")["refused"], 1)
        # Another region has its own budget.
        st, _b, _h = self.aws.raw_json("acm", "ListCertificates", {}, region="us-east-1")
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
