# SPDX-License-Identifier: Apache-2.0
"""Persistent state of the local AWS endpoint.

Everything the endpoint stores (certificates, secrets, temporary credentials,
roles, PCA keys) lives in one JSON document guarded by one lock.  On disk it is
a snapshot (`state.json`, replaced atomically: temp file, fsync, rename) plus a
log of record changes (`state.log`, one JSON line per change, appended and
flushed before the call answers).  Hot operations log only the record they
changed, so a long batch does not rewrite the whole document per call; the
log is folded into the snapshot at startup and when it grows.  The call log
and pending faults are kept in memory only because they describe one run.
"""
import json
import os
import tempfile
import threading

STATE_FILE = "state.json"
LOG_FILE = "state.log"
_ABSENT = {"__absent__": True}


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
        "route53": {},    # account -> {zone id: {name, rrsets: {"name|type": record}}}
        "route53_changes": {},  # change id -> {status, submitted, comment, account}
        "sqs": {},        # "acct/region" -> {queue name: {url, messages, visibility}}
    }


def _apply(data, path, value):
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value == _ABSENT:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


class State:
    """The document plus the lock; callers mutate under `with state.lock`."""

    def __init__(self, state_dir):
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, STATE_FILE)
        self.log_path = os.path.join(state_dir, LOG_FILE)
        self.lock = threading.RLock()
        self.data = _empty()
        self._log = None
        self._log_bytes = 0
        self._snapshot_bytes = 0
        if os.path.exists(self.path):
            with open(self.path, "r", encoding="utf-8") as f:
                loaded = json.load(f)
            for key, value in loaded.items():
                self.data[key] = value
        if os.path.exists(self.log_path):
            with open(self.log_path, "r", encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        break  # a torn last line: the change never answered
                    _apply(self.data, rec["p"], rec["v"])
        self.save()

    def bucket(self, kind, account, region):
        return self.data[kind].setdefault("%s/%s" % (account, region), {})

    def reset(self):
        with self.lock:
            self.data = _empty()
            self.save()

    def commit(self, *path):
        """Persist the value now at data[path[0]][path[1]]... (or its absence)."""
        with self.lock:
            node = self.data
            for key in path:
                if not isinstance(node, dict) or key not in node:
                    node = _ABSENT
                    break
                node = node[key]
            line = json.dumps({"p": list(path), "v": node}, separators=(",", ":")) + "\n"
            if self._log is None:
                self._log = open(self.log_path, "a", encoding="utf-8")
            self._log.write(line)
            self._log.flush()
            self._log_bytes += len(line)
            if self._log_bytes > max(1 << 20, 2 * self._snapshot_bytes):
                self.save()

    def save(self):
        """Write the whole document atomically and start an empty change log."""
        with self.lock:
            fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            self._snapshot_bytes = len(text)
            if self._log is not None:
                self._log.close()
            # The snapshot holds every logged change: the log starts over.
            self._log = open(self.log_path, "w", encoding="utf-8")
            self._log_bytes = 0
