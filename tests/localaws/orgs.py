# SPDX-License-Identifier: Apache-2.0
"""Organizations: ListAccounts over the test accounts (management account only)."""
import base64
import json

import creds
from errors import AwsError

ORG_ID = "o-h2alocal01"
DEFAULT_PAGE = 2
JOINED = 1767225600  # 2026-01-01T00:00:00Z


def accounts(state):
    extra = state.data.get("org_accounts") or []
    out = []
    for acct, info in list(creds.ACCOUNTS.items()) + [(a["Id"], a) for a in extra]:
        out.append({"Id": acct,
                    "Arn": "arn:aws:organizations::%s:account/%s/%s"
                           % (creds.MANAGEMENT_ACCOUNT, ORG_ID, acct),
                    "Email": info.get("email") or info.get("Email", "%s@h2a.test" % acct),
                    "Name": info.get("name") or info.get("Name", acct),
                    "Status": _retired_status(info.get("State", "ACTIVE")),
                    "State": info.get("State", "ACTIVE"), "JoinedMethod": "CREATED"
                    if acct != creds.MANAGEMENT_ACCOUNT else "INVITED",
                    "JoinedTimestamp": JOINED})
    return out


def _retired_status(state):
    """The retiring Status member as AWS derives it from State."""
    return state if state in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE") else "SUSPENDED"


def _decode(token):
    try:
        tok = json.loads(base64.b64decode(token))
        return int(tok["o"]), bool(tok.get("e"))
    except (ValueError, KeyError, TypeError):
        raise AwsError("InvalidInputException", "You provided an invalid value for "
                       "NextToken.", 400, {"Reason": "INVALID_NEXT_TOKEN"})


def _token(offset, empty_done):
    return base64.b64encode(json.dumps({"o": offset, "e": empty_done}).encode()).decode()


def op_ListAccounts(ctx, p):
    if ctx["account"] != creds.MANAGEMENT_ACCOUNT:
        raise AwsError("AccessDeniedException", "You don't have permissions to access this "
                       "resource.", 400)
    rows = accounts(ctx["app"].state)
    cfg = ctx["app"].state.data.get("org_config") or {}
    offset, empty_done = _decode(p["NextToken"]) if p.get("NextToken") else (0, False)
    if cfg.get("empty_pages") and not empty_done:
        # AWS may answer a page with no accounts but a NextToken: clients must go on.
        return {"Accounts": [], "NextToken": _token(offset, True)}
    page = min(int(p.get("MaxResults") or DEFAULT_PAGE), int(cfg.get("page_size") or 20))
    out = {"Accounts": rows[offset:offset + page]}
    if offset + page < len(rows):
        out["NextToken"] = _token(offset + page, False)
    return out


def op_DescribeOrganization(ctx, p):
    m = creds.MANAGEMENT_ACCOUNT
    return {"Organization": {"Id": ORG_ID,
                             "Arn": "arn:aws:organizations::%s:organization/%s" % (m, ORG_ID),
                             "FeatureSet": "ALL", "MasterAccountId": m,
                             "MasterAccountArn": "arn:aws:organizations::%s:account/%s/%s"
                                                 % (m, ORG_ID, m),
                             "MasterAccountEmail": creds.ACCOUNTS[m]["email"]}}
