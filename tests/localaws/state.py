# SPDX-License-Identifier: Apache-2.0
"""Persistent state of the local AWS endpoint.

Everything the endpoint stores (certificates, secrets, temporary credentials,
roles, PCA keys) lives in one JSON document guarded by one lock.  It is written
atomically (temp file, fsync, rename) after every mutating call so that a
restarted server finds what it had; the call log and pending faults are kept
in memory only because they describe one test run.
"""
import json
import os
import tempfile
import threading

STATE_FILE = "state.json"


def _empty():
    return {
        "version": 1,
        "acm": {},        # "acct/region" -> {arn: cert record}
        "secrets": {},    # "acct/region" -> {arn: secret record}
        "tempcreds": {},  # access key id -> {secret, token, account, arn, expires}
        "roles": {},      # "acct/role" -> {"external_id": str|None, "max_session": int}
        "pca": {},        # "acct/region" -> {ca_arn: {key_pem, cert_pem, issued: {arn: pem}}}
        "webtokens": [],  # registered web identity tokens
        "imds": {},       # role name / credentials configuration
        "ecs": {},
        "org_accounts": None,
    }


class State:
    """The document plus the lock; callers mutate under `with state.lock`."""

    def __init__(self, state_dir):
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, STATE_FILE)
        self.lock = threading.RLock()
        self.data = _empty()
        if os.path.exists(self.path):
            with open(self.path, "r", encoding="utf-8") as f:
                loaded = json.load(f)
            for key, value in loaded.items():
                self.data[key] = value

    def bucket(self, kind, account, region):
        return self.data[kind].setdefault("%s/%s" % (account, region), {})

    def reset(self):
        with self.lock:
            self.data = _empty()
            self.save()

    def save(self):
        """Write the document atomically: a crash leaves the old or the new file."""
        with self.lock:
            fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(self.data, f, indent=1, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
