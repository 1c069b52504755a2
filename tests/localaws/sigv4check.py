# SPDX-License-Identifier: Apache-2.0
"""Check a request's SigV4 signature with botocore's own signer.

The request is rebuilt as a botocore AWSRequest holding only the headers the
caller listed in SignedHeaders, with the caller's X-Amz-Date, and signed again
with the secret of the access key it names; the two signatures must match.
"""
import calendar
import hashlib
import hmac
import re
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import creds
from errors import AwsError

SKEW_SECONDS = 15 * 60
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
    r"\s*Signature=([0-9a-f]{64})\s*$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")

SIG_MSG = ("The request signature we calculated does not match the signature you "
           "provided. Check your AWS Secret Access Key and signing method. Consult "
           "the service documentation for details.")


class Codes:
    """Error codes differ between the JSON services and STS (query)."""

    def __init__(self, query):
        self.query = query
        self.bad_sig = "SignatureDoesNotMatch" if query else "InvalidSignatureException"
        self.bad_sig_status = 403
        self.unknown_key = "InvalidClientTokenId" if query else "UnrecognizedClientException"
        # AWS answers 400 for the JSON services' UnrecognizedClientException
        # and 403 for STS's InvalidClientTokenId.
        self.unknown_key_status = 403 if query else 400
        self.expired = "ExpiredToken" if query else "ExpiredTokenException"
        self.missing = "MissingAuthenticationToken" if query else "MissingAuthenticationTokenException"
        self.incomplete = "IncompleteSignature" if query else "IncompleteSignatureException"


def valid_region(region):
    return bool(_REGION_RE.match(region))


def verify(state, method, path, headers, body, signing_name, allowed_regions=None,
           query=False):
    """Return (Identity, region) or raise AwsError as AWS would.

    headers: list of (name, value) pairs as received.
    """
    c = Codes(query)
    hmap = {}
    for name, value in headers:
        hmap.setdefault(name.lower(), []).append(value)
    auth = hmap.get("authorization", [None])[0]
    if not auth:
        raise AwsError(c.missing, "Missing Authentication Token", 403)
    m = _AUTH_RE.match(auth.strip())
    if not m:
        raise AwsError(c.incomplete,
                       "Authorization header requires 'Credential', 'SignedHeaders' and "
                       "'Signature' parameters (AWS4-HMAC-SHA256). Authorization=%s"
                       % auth.split(" ")[0], 400)
    credential, signed_headers, signature = m.groups()
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AwsError(c.incomplete, "Credential should be scoped to a valid region, "
                       "service and terminated by aws4_request.", 400)
    akid, scope_date, region, service, _ = parts
    amz_date = hmap.get("x-amz-date", [None])[0]
    if not amz_date or not re.match(r"^\d{8}T\d{6}Z$", amz_date):
        raise AwsError(c.incomplete, "Authorization header requires existence of either "
                       "a 'X-Amz-Date' or a 'Date' header.", 400)
    if scope_date != amz_date[:8]:
        raise AwsError(c.bad_sig, "Date in Credential scope does not match YYYYMMDD from "
                       "ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
                       % (scope_date, amz_date[:8], amz_date), 403)
    if service != signing_name:
        raise AwsError(c.bad_sig, "Credential should be scoped to correct service: '%s'. "
                       % signing_name, 403)
    if not valid_region(region) or (allowed_regions and region not in allowed_regions):
        raise AwsError(c.bad_sig, "Credential should be scoped to a valid region. ", 403)
    signed = signed_headers.split(";")
    if "host" not in signed:
        raise AwsError(c.bad_sig, "'Host' or ':authority' must be a 'SignedHeader' in "
                       "the AWS Authorization.", 403)
    for h in signed:
        if h not in hmap:
            raise AwsError(c.bad_sig, SIG_MSG, 403)
    req_time = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    now = time.time()
    if abs(now - req_time) > SKEW_SECONDS:
        early = req_time < now
        raise AwsError(c.bad_sig, "Signature %s: %s is now %s than %s (%s %s 15 min.)" % (
            "expired" if early else "not yet current", amz_date,
            "earlier" if early else "later",
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - SKEW_SECONDS if early
                                                          else now + SKEW_SECONDS)),
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)),
            "-" if early else "+"), 403)
    ident = creds.lookup(state, akid)
    if ident is None:
        raise AwsError(c.unknown_key, "The security token included in the request is invalid.",
                       c.unknown_key_status)
    token = hmap.get("x-amz-security-token", [None])[0]
    if ident.token is not None:
        if token is None or not hmac.compare_digest(token, ident.token):
            raise AwsError(c.unknown_key,
                           "The security token included in the request is invalid.",
                           c.unknown_key_status)
    elif token is not None:
        raise AwsError(c.unknown_key, "The security token included in the request is invalid.",
                       c.unknown_key_status)
    content_sha = hmap.get("x-amz-content-sha256", [None])[0]
    if content_sha is not None and content_sha != "UNSIGNED-PAYLOAD":
        if content_sha != hashlib.sha256(body).hexdigest():
            raise AwsError(c.bad_sig, "The provided 'x-amz-content-sha256' header does not "
                           "match what was computed.", 400)
    # Rebuild the request as botocore sees it: only the signed headers.
    host = hmap["host"][0]
    req = AWSRequest(method=method, url="https://%s%s" % (host, path), data=body)
    for h in signed:
        for value in hmap[h]:
            req.headers.add_header(h, value)
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ident.access_key, ident.secret_key, ident.token),
                       service, region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, signature):
        raise AwsError(c.bad_sig, SIG_MSG, 403)
    if ident.expires is not None and ident.expires <= now:
        raise AwsError(c.expired, "The security token included in the request is expired",
                       400)
    return ident, region


def peek(state, headers):
    """(account, region, access key) named by the Authorization header, unverified.

    Only for the call log of calls that a fault answered before authentication.
    """
    for name, value in headers:
        if name.lower() == "authorization":
            m = _AUTH_RE.match(value.strip())
            if not m:
                return None, None, None
            parts = m.group(1).split("/")
            if len(parts) != 5:
                return None, None, None
            ident = creds.lookup(state, parts[0])
            return (ident.account if ident else None), parts[2], parts[0]
    return None, None, None
