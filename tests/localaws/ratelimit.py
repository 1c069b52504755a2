# SPDX-License-Identifier: Apache-2.0
"""Per-API rate limits answering ThrottlingException like AWS's quotas (no heavy
imports: the server loads this before it listens)."""
import threading
import time

from errors import AwsError


class RateLimits:
    """Token buckets per (service, operation, account, region), as AWS applies its
    per-account, per-region API quotas; a call over the rate is refused at once."""

    def __init__(self):
        self.rates = {}
        self.buckets = {}
        self.lock = threading.Lock()
        self.refused = 0

    def configure(self, body):
        with self.lock:
            self.rates = {k: float(v) for k, v in body.items() if float(v) > 0}
            self.buckets = {}
            self.refused = 0
            return {"rates": self.rates}

    def check(self, service, operation, account, region):
        rate = self.rates.get("%s.%s" % (service, operation))
        if rate is None:
            return
        now = time.monotonic()
        key = (service, operation, account, region)
        with self.lock:
            tokens, last = self.buckets.get(key, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                self.refused += 1
                code = "TooManyRequestsException" if service == "organizations" else \
                    "RequestLimitExceeded" if service == "ec2" \
                    else "ThrottlingException"
                raise AwsError(code, "Rate exceeded", 400)
            self.buckets[key] = (tokens - 1.0, now)
