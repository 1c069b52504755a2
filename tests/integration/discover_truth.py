# SPDX-License-Identifier: Apache-2.0
"""Compare `hsm2acm inventory --format json` with the local endpoint's ground truth.

usage: discover_truth.py CONTROL_URL CA INVENTORY_JSON EXPIRED_WITHIN_DAYS ACCOUNT:REGION...
Exit 0 when the inventory holds exactly the endpoint's certificates of those parts (EXPIRED
ones only within EXPIRED_WITHIN_DAYS), with the same type, status, key algorithm (ACM's enum
spelling), serial, not_after, in-use and tags; prints what differs otherwise.
"""
import datetime
import json
import ssl
import sys
import time
import urllib.request


def control(url, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(url + path, context=ctx) as r:
        return json.load(r)


def rfc3339(epoch):
    return datetime.datetime.utcfromtimestamp(int(epoch)).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    url, ca, inv_path, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    truth = {}
    for part in sys.argv[5:]:
        account, region = part.split(":")
        for c in control(url, ca, "/_control/acm?account=%s&region=%s" % (account, region))[
                "certificates"]:
            d = c["detail"]
            if d["Status"] == "EXPIRED" and d["NotAfter"] < time.time() - days * 86400:
                continue
            truth[c["arn"]] = (account, region, d)
    inv = {c["arn"]: c for c in json.load(open(inv_path))["certificates"]}
    bad = []
    for arn in sorted(set(truth) - set(inv)):
        bad.append("missing from the inventory: %s (%s)" % (arn, truth[arn][2]["KeyAlgorithm"]))
    for arn in sorted(set(inv) - set(truth)):
        bad.append("not in ACM (or too old): %s" % arn)
    for arn in sorted(set(inv) & set(truth)):
        account, region, d = truth[arn]
        c = inv[arn]
        want = {"account": account, "region": region, "type": d["Type"], "status": d["Status"],
                "key_algorithm": d["KeyAlgorithm"].replace("-", "_", 1), "serial": d["Serial"],
                "not_after": rfc3339(d["NotAfter"]), "not_before": rfc3339(d["NotBefore"]),
                "domain": d.get("DomainName"), "sans": d.get("SubjectAlternativeNames", []),
                "in_use_by": d["InUseBy"], "issuer": d["Issuer"],
                "renewal_eligibility": d["RenewalEligibility"]}
        for k, v in want.items():
            if c.get(k) != v:
                bad.append("%s: %s is %r, ACM says %r" % (arn, k, c.get(k), v))
        for k in ("first_seen", "last_seen", "tags", "managed"):
            if k not in c:
                bad.append("%s: no %s" % (arn, k))
    for b in bad:
        print(b)
    print("%d certificates compared, %d differences" % (len(truth), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
