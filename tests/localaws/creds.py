# SPDX-License-Identifier: Apache-2.0
"""Test accounts, long-term keys and temporary credentials.

Three accounts exist from the start, each with one IAM user and one fixed
access key (documented in README.md).  AssumeRole, AssumeRoleWithWebIdentity,
IMDS and ECS hand out temporary credentials (ASIA...) that are stored in the
state so they survive a restart and expire like AWS's.
"""
import base64
import os
import secrets
import string
import time

ACCOUNTS = {
    "111111111111": {"name": "h2a-default", "email": "default@h2a.test",
                     "access_key": "AKIAH2ALOCAL11111111",
                     "secret_key": "h2aLocalSecret11111111111111111111111111"},
    "222222222222": {"name": "h2a-second", "email": "second@h2a.test",
                     "access_key": "AKIAH2ALOCAL22222222",
                     "secret_key": "h2aLocalSecret22222222222222222222222222"},
    "333333333333": {"name": "h2a-third", "email": "third@h2a.test",
                     "access_key": "AKIAH2ALOCAL33333333",
                     "secret_key": "h2aLocalSecret33333333333333333333333333"},
}
DEFAULT_ACCOUNT = "111111111111"
USER_NAME = "h2a-test"
MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT

_ALNUM = string.ascii_uppercase + string.digits


def _rand(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def user_arn(account):
    return "arn:aws:iam::%s:user/%s" % (account, USER_NAME)


def user_id(account):
    return "AIDA" + account[-4:] * 4  # stable, 20 characters


class Identity:
    """Who signed a request."""

    def __init__(self, account, arn, user_id_, access_key, secret_key, token=None,
                 expires=None):
        self.account = account
        self.arn = arn
        self.user_id = user_id_
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.expires = expires


def lookup(state, access_key):
    """Identity for an access key id, or None when no such key exists."""
    for acct, info in ACCOUNTS.items():
        if info["access_key"] == access_key:
            return Identity(acct, user_arn(acct), user_id(acct), access_key,
                            info["secret_key"])
    with state.lock:
        rec = state.data["tempcreds"].get(access_key)
        if rec is None:
            return None
        return Identity(rec["account"], rec["arn"], rec["user_id"], access_key,
                        rec["secret"], rec["token"], rec["expires"])


def issue_temporary(state, account, arn, role_id, duration, save=True):
    """Mint ASIA credentials bound to account/arn valid for duration seconds."""
    akid = "ASIA" + _rand(_ALNUM, 16)
    secret = base64.b64encode(os.urandom(30)).decode()
    token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(os.urandom(180)).decode()
    expires = int(time.time()) + int(duration)
    rec = {"account": account, "arn": arn, "user_id": role_id, "secret": secret,
           "token": token, "expires": expires}
    with state.lock:
        # Drop credentials that expired more than a day ago so the file stays small.
        old = [k for k, v in state.data["tempcreds"].items()
               if v["expires"] < time.time() - 86400]
        for k in old:
            del state.data["tempcreds"][k]
            state.commit("tempcreds", k)
        state.data["tempcreds"][akid] = rec
        if save:
            state.commit("tempcreds", akid)
    return {"AccessKeyId": akid, "SecretAccessKey": secret, "SessionToken": token,
            "Expiration": expires}


def role_id(account, role_name):
    """A stable AROA id per role, like IAM's unique ids."""
    import hashlib
    digest = hashlib.sha256(("%s/%s" % (account, role_name)).encode()).hexdigest().upper()
    return "AROA" + "".join(c for c in digest if c in _ALNUM)[:17]


def iso8601(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
