#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpus of every harness into tests/fuzz/corpus/<harness>/seed-*.

Seeds come from the test fixtures (examples/, tests/policy_snapshot, the
strings the unit tests feed the parsers) and from the reply shapes the local
AWS endpoint (tests/localaws) sends. Crash regressions live beside them as
crash-* files and are never rewritten here. Run again after a fixture changes.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(SRC, "tests", "fuzz", "corpus")
MOD = "/usr/lib/softhsm/libsofthsm2.so"


def fixture(*parts):
    with open(os.path.join(SRC, *parts), "rb") as f:
        return f.read()


def write(harness, items):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.unlink(os.path.join(d, name))
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        name = "seed-" + hashlib.sha256(data).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def pem_chain():
    """A leaf and its issuing CA, as a command issuer prints them."""
    with tempfile.TemporaryDirectory() as t:
        def run(*a):
            subprocess.run(a, cwd=t, check=True, capture_output=True)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=fuzz CA", "-days", "30")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=www.example.com")
        run("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "30")
        leaf = open(os.path.join(t, "leaf.pem"), "rb").read()
        ca = open(os.path.join(t, "ca.pem"), "rb").read()
    return leaf, ca


def main():
    leaf, ca = pem_chain()
    write("fuzz_request", [
        fixture("examples", "request.json"), fixture("examples", "reimport.json"),
        fixture("examples", "multi.json"),
        '{"id":"ip-1","subject":"CN=a.example.com","dns":["a.example.com"],"ip":["10.1.2.3","::1"],'
        '"key":"rsa:3072","digest":"sha384","issuer":"demo","requester":"team-web",'
        '"key_usage":["DIGITAL_SIGNATURE","KEY_ENCIPHERMENT"],"extended_key_usage":["TLS_WEB_SERVER_AUTHENTICATION"],'
        '"targets":[{"region":"eu-west-1","certificate_arn":"arn:aws:acm:eu-west-1:111111111111:certificate/x"}]}',
        '{"id":"inh","subject":"CN=b.example.com","dns":["b.example.com"],"key":"inherit","issuer":"demo",'
        '"requester":"r","targets":[{"region":"eu-west-1","account":"222222222222","tags":{"a":"b"}}]}',
    ])
    write("fuzz_config", [
        fixture("examples", "config.json"),
        '{"token":"pkcs11:token=t?module-path=%s&pin-source=file:pin","wrap_key":"w","state_dir":"state",'
        '"issuers":{"demo":{"type":"local","key_label":"ca","subject":"CN=CA","validity_days":30},'
        '"pca":{"type":"acm-pca","ca_arn":"arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/x"}},'
        '"aws":{"region":"eu-west-1","role_name":"hsm2acm-delivery","endpoint_url":"https://127.0.0.1:8443",'
        '"endpoints":{"acm":"https://127.0.0.1:1"},"timeout_seconds":30},'
        '"staging":{"prefix":"hsm2acm/staging/","ttl_seconds":600}}' % MOD,
    ])
    write("fuzz_policy", [fixture("examples", "policy.json"),
                          fixture("tests", "policy_snapshot", "sample.json")])
    write("fuzz_p11_uri", [
        "pkcs11:token=hsm2acm;serial=abc123;manufacturer=SoftHSM%20project;model=SoftHSM%20v2"
        "?module-path=" + MOD + "&pin-source=file:/etc/hsm2acm/pin",
        "pkcs11:?module-path=" + MOD + "&pin-source=env:HSM2ACM_PIN",
        "pkcs11:slot-id=3?module-path=" + MOD + "&pin-source=file:///x/pin",
        "pkcs11:token=x?module-path=" + MOD + "&pin-value=1234",
        "pkcs11:token=%zz?module-path=" + MOD + "&pin-source=env:P",
    ])
    good_t = '"target":{"request_id":"r","index":0,"region":"eu-west-1"}'
    head = ('"format_version":1,"wrap_mechanism":"CKM_AES_KEY_WRAP_PAD","wrap_key_label":"w",'
            '"kcv":"abcdef","key_algorithm":"RSA_2048","certificate":"x","chain":"",')
    write("fuzz_envelope", [
        "{" + head + '"wrapped_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA",' + good_t + "}",
        '{"format_version":1,"wrap_mechanism":"CKM_AES_KEY_WRAP_PAD","wrap_key_label":"hsm2acm-wrap",'
        '"kcv":"1a2b3c","wrapped_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",'
        '"key_algorithm":"EC_prime256v1","certificate":' + repr_json(leaf) + ',"chain":' + repr_json(ca) +
        ',"target":{"request_id":"web-1","index":2,"region":"us-east-1","account":"222222222222",'
        '"certificate_arn":"arn:aws:acm:us-east-1:222222222222:certificate/x"}}',
    ])
    write("fuzz_aws_json", [
        '{"__type":"com.amazonaws.acm#ResourceNotFoundException","message":"no such certificate"}',
        '{"__type":"ThrottlingException:http://internal.amazon.com/","Message":"Rate exceeded"}',
        '{"code":"InvalidRequestException","Message":"scheduled for deletion"}',
        '{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG",'
        '"SessionToken":"tok","Expiration":"2026-11-24T10:00:00Z"}',
        '{"Code":"Success","LastUpdated":"2026-11-24T09:00:00Z","Type":"AWS-HMAC",'
        '"AccessKeyId":"ASIA","SecretAccessKey":"s\\"\\u00e9","Token":"t","Expiration":"2026-11-24T10:00:00.123+00:00"}',
    ])
    write("fuzz_aws_xml", [
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n'
        '    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>Not &amp; authorized</Message>\n'
        '  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n',
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <AssumeRoleResult>\n'
        '    <Credentials>\n      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n'
        '      <SecretAccessKey>secret&lt;x&gt;</SecretAccessKey>\n      <SessionToken>tok</SessionToken>\n'
        '      <Expiration>2026-11-24T10:00:00Z</Expiration>\n    </Credentials>\n'
        '    <AssumedRoleUser>\n      <AssumedRoleId>AROA:s</AssumedRoleId>\n'
        '      <Arn>arn:aws:sts::222222222222:assumed-role/r/s</Arn>\n    </AssumedRoleUser>\n'
        '  </AssumeRoleResult>\n  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\n'
        '</AssumeRoleResponse>\n',
    ])
    write("fuzz_ini", [
        "[default]\nregion = eu-west-1\noutput=json\n\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\n"
        "source_profile = default\ns3 =\n  max_concurrent_requests = 10\n; comment\n# comment\n"
        "[services s]\nacm =\n  endpoint_url = https://127.0.0.1:1\n",
        "[default]\naws_access_key_id = AKID\naws_secret_access_key = secret\n"
        "aws_session_token = tok\n[other]\ncredential_process = /bin/echo \"a b\" 'c'\n",
    ])
    write("fuzz_pem_chain", [leaf + ca, leaf, b"garbage\n" + leaf, leaf + b"-----BEGIN CERTIFICATE-----\nAA\n"])
    write("fuzz_aws_ops", ops_seeds(leaf, ca))
    write("fuzz_aws_route53", route53_seeds())
    write("fuzz_aws_sqs", sqs_seeds())
    write("fuzz_scope", scope_seeds())
    write("fuzz_acme", acme_seeds() + acme_conversations(leaf, ca))


def repr_json(b):
    import json
    return json.dumps(b.decode())


def ops_seeds(leaf, ca):
    """Byte 0: operation (see fuzz_aws_ops.c), byte 1: status (0: 200, 4: 400, 7: 500)."""
    import json
    arn = "arn:aws:acm:eu-west-1:111111111111:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    pem, chain = leaf.decode(), ca.decode()
    secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:hsm2acm/staging/fuzz-1-0-AbCdEf"
    sts_ns = "https://sts.amazonaws.com/doc/2011-06-15/"
    replies = {
        0: {"Certificate": {"CertificateArn": arn, "DomainName": "www.example.com",
                            "SubjectAlternativeNames": ["www.example.com"], "KeyAlgorithm": "EC_prime256v1",
                            "Status": "ISSUED", "Type": "IMPORTED", "NotAfter": 1.8e9, "InUseBy": []}},
        1: {"Certificate": pem, "CertificateChain": chain},
        2: {"CertificateSummaryList": [{"CertificateArn": arn, "DomainName": "www.example.com"}],
            "NextToken": "page2"},
        3: {"Tags": [{"Key": "hsm2acm:request", "Value": "web-1"}]},
        4: {}, 5: {},
        6: {"CertificateArn": arn},
        7: {"ARN": secret, "Name": "hsm2acm/staging/fuzz-1-0", "VersionId": "v1",
            "SecretString": "{\"format_version\":1,\"note\":\"q\\\"\"}", "VersionStages": ["AWSCURRENT"],
            "CreatedDate": 1.7e9},
        8: {"ARN": secret, "Name": "hsm2acm/staging/fuzz-1-0", "Tags": [{"Key": "k", "Value": "v"}],
            "DeletedDate": None},
        9: {"SecretList": [{"ARN": secret, "Name": "hsm2acm/staging/fuzz-1-0"}]},
        10: {"ARN": secret, "Name": "n", "DeletionDate": 1.7e9},
        11: {"ARN": secret, "Name": "hsm2acm/staging/fuzz-1-0", "VersionId": "v1"},
        15: {"Accounts": [{"Id": "111111111111", "Status": "ACTIVE"}]},
        16: {"CertificateArn": "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/ca/certificate/c"},
        17: {"Certificate": pem, "CertificateChain": chain},
        18: {"CertificateAuthority": {"Arn": "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/ca",
                                      "Status": "ACTIVE", "Type": "SUBORDINATE",
                                      "CertificateAuthorityConfiguration": {"KeyAlgorithm": "EC_prime256v1"}}},
        19: {"Certificate": chain, "CertificateChain": chain},
    }
    out = []
    for op, body in replies.items():
        out.append(bytes([op, 0]) + json.dumps(body).encode())
    creds = ("<Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
             "<SessionToken>t</SessionToken><Expiration>2026-11-24T10:00:00Z</Expiration></Credentials>")
    out.append(bytes([12, 0]) + ('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult>'
                                 "<Arn>arn:aws:iam::111111111111:user/u</Arn><UserId>AIDA</UserId>"
                                 "<Account>111111111111</Account></GetCallerIdentityResult>"
                                 "</GetCallerIdentityResponse>" % sts_ns).encode())
    out.append(bytes([13, 0]) + ('<AssumeRoleResponse xmlns="%s"><AssumeRoleResult>%s'
                                 "</AssumeRoleResult></AssumeRoleResponse>" % (sts_ns, creds)).encode())
    out.append(bytes([14, 0]) + ('<AssumeRoleWithWebIdentityResponse xmlns="%s">'
                                 "<AssumeRoleWithWebIdentityResult>%s</AssumeRoleWithWebIdentityResult>"
                                 "</AssumeRoleWithWebIdentityResponse>" % (sts_ns, creds)).encode())
    out.append(bytes([0, 4]) + b'{"__type":"ResourceNotFoundException","message":"x"}')
    out.append(bytes([12, 5]) + ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>AccessDenied'
                                 "</Code><Message>no</Message></Error><RequestId>r</RequestId>"
                                 "</ErrorResponse>" % sts_ns).encode())
    out.append(bytes([7, 7]) + b'{"__type":"InternalServiceError","Message":"retry"}')
    ec2_ns = "http://ec2.amazonaws.com/doc/2016-11-15/"
    regions = "".join("<item><regionName>%s</regionName><regionEndpoint>ec2.%s.amazonaws.com"
                      "</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>" % (r, r)
                      for r in ("eu-west-1", "us-east-1"))
    out.append(bytes([20, 0]) + ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse '
                                 'xmlns="%s"><requestId>r</requestId><regionInfo>%s</regionInfo>'
                                 "</DescribeRegionsResponse>" % (ec2_ns, regions)).encode())
    out.append(bytes([20, 5]) + b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
               b"<Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors>"
               b"<RequestID>r</RequestID></Response>")
    return out


def acme_seeds():
    """Byte 0: status (see fuzz_acme.c; 0: 200, 4: 400, 7: 429, 9: 503), header lines, blank line, body."""
    import json
    base = "https://acme.invalid/"
    directory = {"newNonce": base + "new-nonce", "newAccount": base + "new-acct",
                 "newOrder": base + "new-order", "revokeCert": base + "revoke-cert",
                 "keyChange": base + "key-change", "renewalInfo": base + "renewal-info",
                 "meta": {"termsOfService": base + "tos", "externalAccountRequired": True}}
    hdrs = ("Content-Type: application/json\r\nReplay-Nonce: oFvnlFP1wIhRlYS2jTaXbA\r\n"
            "Location: %sorder/1\r\nLink: <%scert/1/1>;rel=\"alternate\"\r\n"
            "Link: <%sdirectory>;rel=\"index\"\r\nRetry-After: 3\r\n" % (base, base, base))
    order = {"status": "pending", "expires": "2026-12-10T00:00:00Z",
             "identifiers": [{"type": "dns", "value": "www.example.com"}],
             "authorizations": [base + "authz/1"], "finalize": base + "order/1/finalize"}
    problem = {"type": "urn:ietf:params:acme:error:rateLimited", "detail": "too many \"orders\"",
               "subproblems": [{"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                                "identifier": {"type": "dns", "value": "x"}}]}
    out = [bytes([s]) + (hdrs + "\n").encode() + json.dumps(b).encode()
           for s, b in ((0, directory), (0, order), (4, problem), (7, problem), (9, {"detail": 1}))]
    out.append(bytes([0]) + json.dumps(directory).encode())
    return out


def acme_conversations(leaf, ca):
    """Byte 0 >= 0x80: a whole submit or poll, replies separated by "\\n--\\n" (see fuzz_acme.c)."""
    import json
    base = "https://acme.invalid/"
    directory = {"newNonce": base + "new-nonce", "newAccount": base + "new-acct",
                 "newOrder": base + "new-order", "renewalInfo": base + "renewal-info"}
    nonce = [0]

    def rep(status, body, location=None, extra=""):
        nonce[0] += 1
        hdrs = "Replay-Nonce: n%04d\r\nContent-Type: application/json\r\n" % nonce[0]
        if location:
            hdrs += "Location: %s\r\n" % location
        text = body if isinstance(body, str) else json.dumps(body)
        return bytes([status]) + (hdrs + extra + "\n").encode() + text.encode()

    order = {"status": "pending", "identifiers": [{"type": "dns", "value": "example.com"},
                                                  {"type": "dns", "value": "*.example.com"}],
             "authorizations": [base + "authz/1", base + "authz/2"], "finalize": base + "order/1/finalize"}
    authz1 = {"status": "pending", "identifier": {"type": "dns", "value": "example.com"},
              "challenges": [{"type": "http-01", "url": base + "chall/1", "token": "tok-1_A"},
                             {"type": "dns-01", "url": base + "chall/2", "token": "tok-2"}]}
    authz2 = {"status": "valid", "identifier": {"type": "dns", "value": "example.com"}, "wildcard": True,
              "challenges": [{"type": "dns-01", "url": base + "chall/3", "token": "tok-3", "status": "valid"}]}
    ready = dict(order, status="ready")
    valid = dict(order, status="valid", certificate=base + "cert/1")
    no_account = {"type": "urn:ietf:params:acme:error:accountDoesNotExist", "detail": "no such account"}
    bad_nonce = {"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"}
    invalid = dict(authz1, status="invalid", challenges=[dict(authz1["challenges"][0], status="invalid",
                   error={"type": "urn:ietf:params:acme:error:unauthorized", "detail": "wrong \"value\""})])
    ari = {"suggestedWindow": {"start": "2027-01-01T00:00:00Z", "end": "2027-01-03T00:00:00Z"},
           "explanationURL": base + "why"}
    pem = (leaf + ca).decode()
    link = "Link: <%scert/1/alt>;rel=\"alternate\"\r\n" % base
    sep = b"\n--\n"
    convs = [
        (0x80, [rep(0, directory), rep(4, no_account), rep(3, {"status": "valid"}, base + "acct/1"),
                rep(3, order, base + "order/1")]),
        (0x84, [rep(0, directory), rep(3, order, base + "order/1")]),
        (0x80, [rep(0, directory), rep(0, {"status": "valid"}, base + "acct/1"), rep(7, {"detail": "slow"},
                extra="Retry-After: 2\r\n"), rep(3, order, base + "order/1")]),
        (0x85, [rep(0, directory), rep(0, order), rep(0, authz1), rep(0, {"status": "processing"}),
                rep(0, authz2), rep(0, dict(authz1, status="valid")), rep(0, ready),
                rep(0, dict(order, status="processing")), rep(0, valid), rep(0, pem, extra=link),
                rep(0, ari)]),
        (0x85, [rep(0, directory), rep(4, bad_nonce), rep(0, order), rep(0, invalid)]),
        (0x87, [rep(0, directory), rep(0, ready), rep(0, valid), rep(0, valid), rep(0, pem), rep(0, ari)]),
        (0x87, [rep(0, directory), rep(0, order), rep(0, authz1)]),
        (0x85, [rep(0, directory), rep(0, dict(order, status="invalid",
                error={"type": "urn:ietf:params:acme:error:malformed", "detail": "expired"}))]),
    ]
    return [bytes([mode]) + sep.join(replies) for mode, replies in convs]


R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"


def route53_seeds():
    """Byte 0: operation (see fuzz_aws_route53.c), byte 1: status (0: 200, 6: 404)."""
    def doc(op, inner):
        return ('<?xml version="1.0"?>\n<%sResponse xmlns="%s">%s</%sResponse>\n'
                % (op, R53_NS, inner, op)).encode()
    zone = ("<HostedZone><Id>/hostedzone/Z0123456789</Id><Name>example.com.</Name><CallerReference>r"
            "</CallerReference><Config><PrivateZone>false</PrivateZone></Config>"
            "<ResourceRecordSetCount>3</ResourceRecordSetCount></HostedZone>")
    rrset = ("<ResourceRecordSet><Name>_acme-challenge.example.com.</Name><Type>TXT</Type><TTL>60</TTL>"
             "<ResourceRecords><ResourceRecord><Value>\"tok&amp;en\"</Value></ResourceRecord>"
             "</ResourceRecords></ResourceRecordSet>")
    info = ("<ChangeInfo><Id>/change/C0123456789</Id><Status>PENDING</Status>"
            "<SubmittedAt>2026-12-04T10:00:00Z</SubmittedAt><Comment>c</Comment></ChangeInfo>")
    return [
        bytes([0, 0]) + doc("ListHostedZonesByName", "<HostedZones>%s</HostedZones><DNSName>example.com."
                            "</DNSName><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>" % zone),
        bytes([1, 0]) + doc("ListResourceRecordSets", "<ResourceRecordSets>%s</ResourceRecordSets>"
                            "<IsTruncated>true</IsTruncated><MaxItems>1</MaxItems><NextRecordName>b."
                            "</NextRecordName><NextRecordType>TXT</NextRecordType>" % rrset),
        bytes([2, 0]) + doc("ChangeResourceRecordSets", info),
        bytes([3, 0]) + doc("GetChange", info.replace("PENDING", "INSYNC")),
        bytes([1, 6]) + ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>Sender'
                         "</Type>\n    <Code>NoSuchHostedZone</Code>\n    <Message>No hosted zone found"
                         "</Message>\n  </Error>\n  <RequestId>r</RequestId>\n</ErrorResponse>\n"
                         % R53_NS).encode(),
        bytes([2, 4]) + ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>InvalidChangeBatch'
                         "</Code><Message>[Tried to create resource record set but it already exists]"
                         "</Message></Error><RequestId>r</RequestId></ErrorResponse>" % R53_NS).encode(),
    ]


def sqs_seeds():
    """Byte 0: operation (see fuzz_aws_sqs.c), byte 1: status (0: 200, 4: 400)."""
    import json
    url = "https://sqs.eu-west-1.amazonaws.com/111111111111/hsm2acm-events"
    msg = {"MessageId": "m1", "ReceiptHandle": "h" * 64, "Body": "{\"event\":\"expiring\"}",
           "MD5OfBody": "0" * 32}
    replies = [(0, 0, {"QueueUrl": url}), (1, 0, {"Messages": [msg, msg]}), (1, 0, {}),
               (2, 0, {}), (3, 0, {}), (4, 0, {"MessageId": "m2", "MD5OfMessageBody": "0" * 32}),
               (1, 4, {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no queue"})]
    return [bytes([op, st]) + json.dumps(body).encode() for op, st, body in replies]


def scope_seeds():
    """Configuration documents with a "scope" (docs/inventory.md)."""
    return [
        '{"scope": {"type": "organization", "regions": ["eu-west-1", "us-east-1"],'
        ' "role_name": "OrganizationAccountAccessRole", "external_id": null,'
        ' "management_role_arn": null, "accounts": {"include": [], "exclude": ["999999999999"]},'
        ' "statuses": ["ISSUED", "EXPIRED", "REVOKED", "INACTIVE"], "expired_within_days": 90}}',
        '{"scope": {"type": "account", "regions": ["all"], "role_name": "r", "external_id": "ext-1",'
        ' "management_role_arn": "arn:aws:iam::111111111111:role/m",'
        ' "accounts": {"include": ["111111111111", "222222222222"]}}}',
        '{"aws": {"region": "eu-west-1"}}',
    ]


if __name__ == "__main__":
    sys.exit(main())
