# SPDX-License-Identifier: Apache-2.0
"""The one exception type handlers raise; server.py renders it per protocol."""


class AwsError(Exception):
    """An error AWS would send: code, message, HTTP status, extra body members."""

    def __init__(self, code, message, status=400, extra=None, sender=True):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.sender = sender


def validation(msgs):
    """AWS's "N validation error(s) detected: a; b" form."""
    if isinstance(msgs, str):
        msgs = [msgs]
    word = "error" if len(msgs) == 1 else "errors"
    return "%d validation %s detected: %s" % (len(msgs), word, "; ".join(msgs))
