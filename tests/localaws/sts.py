# SPDX-License-Identifier: Apache-2.0
"""STS: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity (awsQuery, XML)."""
import base64
import json
import re

import creds
import discovery
from errors import AwsError
from server_util import x

_ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
DEFAULT_MAX_SESSION = 43200


def op_GetCallerIdentity(ctx, params):
    ident = ctx["identity"]
    return ("    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n    <Account>%s</Account>\n"
            % (x(ident.arn), x(ident.user_id), x(ident.account)))


def _role(ctx, role_arn):
    m = _ROLE_ARN.match(role_arn)
    if not m:
        raise AwsError("ValidationError", "%s is invalid" % role_arn)
    account, role_name = m.group(2), m.group(4)
    if account not in creds.ACCOUNTS and not discovery.extra_account(ctx["app"].state, account):
        raise AwsError("AccessDenied", "Not authorized to perform sts:AssumeRole", 403)
    cfg = ctx["app"].state.data["roles"].get("%s/%s" % (account, role_name), {})
    if cfg.get("missing"):
        # AWS answers a role that does not exist like one that may not be assumed.
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (ctx["identity"].arn, role_arn), 403)
    return account, role_name, cfg


def _credentials_xml(ctx, account, role_name, session_name, duration, cfg, extra=""):
    max_session = int(cfg.get("max_session", DEFAULT_MAX_SESSION))
    if duration > max_session:
        raise AwsError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.")
    rid = creds.role_id(account, role_name)
    arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name, session_name)
    c = creds.issue_temporary(ctx["app"].state, account, arn, "%s:%s" % (rid, session_name),
                              duration)
    return ("    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n"
            "      <SecretAccessKey>%s</SecretAccessKey>\n      <SessionToken>%s</SessionToken>\n"
            "      <Expiration>%s</Expiration>\n    </Credentials>\n"
            "    <AssumedRoleUser>\n      <AssumedRoleId>%s:%s</AssumedRoleId>\n"
            "      <Arn>%s</Arn>\n    </AssumedRoleUser>\n%s"
            % (c["AccessKeyId"], x(c["SecretAccessKey"]), x(c["SessionToken"]),
               creds.iso8601(c["Expiration"]), rid, x(session_name), x(arn), extra))


def op_AssumeRole(ctx, params):
    account, role_name, cfg = _role(ctx, params["RoleArn"])
    want = cfg.get("external_id")
    got = params.get("ExternalId")
    if want is not None and got != want:
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (ctx["identity"].arn,
                                                          params["RoleArn"]), 403)
    if cfg.get("deny"):
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (ctx["identity"].arn,
                                                          params["RoleArn"]), 403)
    duration = int(params.get("DurationSeconds", 3600))
    caller = ctx["identity"]
    if caller.token is not None and ":assumed-role/" in caller.arn and duration > 3600:
        raise AwsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                       "session limit for roles assumed by role chaining.")
    extra = "    <PackedPolicySize>0</PackedPolicySize>\n" if params.get("Policy") else ""
    return _credentials_xml(ctx, account, role_name, params["RoleSessionName"], duration,
                            cfg, extra)


def _looks_like_jwt(token):
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        pad = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(pad))
        return isinstance(header, dict)
    except ValueError:
        return False


def op_AssumeRoleWithWebIdentity(ctx, params):
    account, role_name, cfg = _role(ctx, params["RoleArn"])
    token = params["WebIdentityToken"]
    registered = ctx["app"].state.data.get("webtokens") or []
    if registered:
        # Token files often end with a newline; compare what the token is.
        ok = token.strip() in [t.strip() for t in registered]
    else:
        ok = _looks_like_jwt(token)
    if not ok:
        raise AwsError("InvalidIdentityToken", "The web identity token that was passed "
                       "could not be validated by AWS. Get a new identity token from the "
                       "identity provider and then retry the request.", 400)
    duration = int(params.get("DurationSeconds", 3600))
    extra = ("    <SubjectFromWebIdentityToken>h2a-test-subject</SubjectFromWebIdentityToken>\n"
             "    <Audience>sts.amazonaws.com</Audience>\n"
             "    <Provider>localaws.h2a.test</Provider>\n")
    return _credentials_xml(ctx, account, role_name, params["RoleSessionName"], duration,
                            cfg, extra)



