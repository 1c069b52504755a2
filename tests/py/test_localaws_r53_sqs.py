# SPDX-License-Identifier: Apache-2.0
"""localaws Route 53 (restXml, global), SQS (AWS JSON 1.0) and ACM PCA's CA operations,
driven by botocore clients: what the endpoint accepts, refuses and answers."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "localaws"))
import testlib  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402


class Route53SqsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = testlib.LocalAws()

    @classmethod
    def tearDownClass(cls):
        cls.aws.close()

    def setUp(self):
        self.aws.ctl("POST", "/_control/reset")

    def code(self, cm):
        return cm.exception.response["Error"]["Code"]

    def test_route53_zone_records_and_change(self):
        zone = self.aws.ctl("POST", "/_control/route53", {"name": "example.com"})
        self.aws.ctl("POST", "/_control/route53", {"name": "other.org"})
        r53 = self.aws.client("route53", region="us-east-1")
        zones = r53.list_hosted_zones_by_name(DNSName="example.com")["HostedZones"]
        self.assertEqual([z["Name"] for z in zones], ["example.com.", "other.org."])
        self.assertEqual(zones[0]["Id"], zone["id"])
        batch = {"Comment": "dns-01", "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "_acme-challenge.example.com", "Type": "TXT", "TTL": 60,
            "ResourceRecords": [{"Value": '"token-1"'}]}}]}
        info = r53.change_resource_record_sets(HostedZoneId=zone["id"], ChangeBatch=batch)
        self.assertEqual(info["ChangeInfo"]["Status"], "PENDING")
        cid = info["ChangeInfo"]["Id"]
        self.assertEqual(r53.get_change(Id=cid)["ChangeInfo"]["Status"], "PENDING")
        self.assertEqual(r53.get_change(Id=cid)["ChangeInfo"]["Status"], "INSYNC")
        sets = r53.list_resource_record_sets(HostedZoneId=zone["id"])["ResourceRecordSets"]
        self.assertEqual([(s["Name"], s["Type"], s["ResourceRecords"][0]["Value"])
                          for s in sets],
                         [("_acme-challenge.example.com.", "TXT", '"token-1"')])
        # A name outside the zone, deleting what is not there, a zone that does not exist.
        bad = {"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "x.evil.com", "Type": "TXT", "TTL": 60,
            "ResourceRecords": [{"Value": '"a"'}]}}]}
        with self.assertRaises(ClientError) as cm:
            r53.change_resource_record_sets(HostedZoneId=zone["id"], ChangeBatch=bad)
        self.assertEqual(self.code(cm), "InvalidChangeBatch")
        with self.assertRaises(ClientError) as cm:
            r53.list_resource_record_sets(HostedZoneId="ZNOSUCHZONE")
        self.assertEqual(self.code(cm), "NoSuchHostedZone")
        with self.assertRaises(ClientError) as cm:
            r53.get_change(Id="/change/CNOSUCH")
        self.assertEqual(self.code(cm), "NoSuchChange")

    def test_route53_validates_against_the_model(self):
        zone = self.aws.ctl("POST", "/_control/route53", {"name": "example.com"})
        st, body = self.aws.request("POST", "/2013-04-01/hostedzone/%s/rrset/"
                                    % zone["id"].split("/")[-1],
                                    b"<ChangeResourceRecordSetsRequest/>")[:2]
        self.assertEqual(st, 403)  # unsigned first
        r53 = self.aws.client("route53", region="us-east-1")
        batch = {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "a.example.com", "Type": "NOPE", "TTL": 60,
            "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}
        with self.assertRaises(Exception):
            r53.change_resource_record_sets(HostedZoneId=zone["id"], ChangeBatch=batch)

    def test_sqs_json10_lifecycle(self):
        made = self.aws.ctl("POST", "/_control/sqs", {"name": "requests"})
        sqs = self.aws.client("sqs")
        self.assertEqual(sqs.meta.service_model.protocol, "json")
        url = sqs.get_queue_url(QueueName="requests")["QueueUrl"]
        self.assertEqual(url, made["url"])
        mid = sqs.send_message(QueueUrl=url, MessageBody="hello")["MessageId"]
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([(m["MessageId"], m["Body"]) for m in got], [(mid, "hello")])
        # Hidden while in flight, back after its visibility is cut to 0.
        self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"],
                                      VisibilityTimeout=0)
        again = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
        self.assertEqual(self.aws.ctl("GET", "/_control/sqs")["queues"][0]["messages"], [])
        with self.assertRaises(ClientError) as cm:
            sqs.delete_message(QueueUrl=url, ReceiptHandle="stale")
        self.assertEqual(self.code(cm), "ReceiptHandleIsInvalid")
        with self.assertRaises(ClientError) as cm:
            sqs.get_queue_url(QueueName="nope")
        self.assertIn("QueueDoesNotExist", self.code(cm))
        st, body, _ = self.aws.raw_json("sqs", "ReceiveMessage",
                                        {"QueueUrl": url, "MaxNumberOfMessages": "ten"})
        self.assertEqual(st, 400)

    def test_pca_describe_and_ca_certificate(self):
        ca = self.aws.ctl("POST", "/_control/pca", {"key_algorithm": "EC_prime256v1"})
        pca = self.aws.client("acm-pca")
        d = pca.describe_certificate_authority(CertificateAuthorityArn=ca["arn"])
        self.assertEqual(d["CertificateAuthority"]["Arn"], ca["arn"])
        self.assertEqual(d["CertificateAuthority"]["Status"], "ACTIVE")
        self.assertEqual(d["CertificateAuthority"]["CertificateAuthorityConfiguration"]
                         ["KeyAlgorithm"], "EC_prime256v1")
        got = pca.get_certificate_authority_certificate(CertificateAuthorityArn=ca["arn"])
        self.assertEqual(got["Certificate"], ca["certificate_pem"])
        with self.assertRaises(ClientError) as cm:
            pca.describe_certificate_authority(
                CertificateAuthorityArn=ca["arn"].replace(ca["arn"][-4:], "0000"))
        self.assertEqual(self.code(cm), "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main()
