# SPDX-License-Identifier: Apache-2.0
"""Injected faults: what the next N matching calls get instead of a normal answer."""
from errors import AwsError


class Fault:
    def __init__(self, spec):
        self.service = spec.get("service", "*")
        self.operation = spec.get("operation", "*")
        self.kind = spec["kind"]
        self.count = int(spec.get("count", 1))
        self.after = int(spec.get("after", 0))
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.status = int(spec.get("status", 500))
        self.code = spec.get("code")
        self.message = spec.get("message")
        self.body = spec.get("body")
        if spec.get("body_b64") is not None:
            import base64
            self.body = base64.b64decode(spec["body_b64"])  # arbitrary bytes
        self.status_given = "status" in spec
        self.content_type = spec.get("content_type")
        self.size = int(spec.get("size", 0))

    def matches(self, service, operation):
        return (self.service in ("*", service)) and (self.operation in ("*", operation))

    def describe(self):
        return {k: getattr(self, k) for k in ("service", "operation", "kind", "count",
                                              "after", "delay_ms", "status", "code")}


FAULT_KINDS = {"throttle", "http500", "http503", "delay", "drop", "drop_after", "quota",
               "error", "garbage", "truncate", "crash", "exception", "oversized"}



def fault_error(fault, service, query):
    kind = fault.kind
    if kind == "throttle":
        if query:
            return AwsError("Throttling", "Rate exceeded", 400)
        if service == "organizations":
            return AwsError("TooManyRequestsException", "Rate exceeded", 400,
                            {"Type": "ThrottlingException"})
        return AwsError("ThrottlingException", "Rate exceeded", 400)
    if kind == "quota":
        if service == "acm":
            return AwsError("LimitExceededException", "The certificate quota has been "
                            "exceeded (injected fault).", 400)
        return AwsError("LimitExceededException" if not query else "LimitExceeded",
                        "A quota has been exceeded (injected fault).", 400)
    if kind == "http500":
        code = {"secretsmanager": "InternalServiceError",
                "organizations": "ServiceException"}.get(service, "InternalFailure")
        return AwsError(code, "We encountered an internal error. Please try again.", 500,
                        sender=False)
    if kind == "http503":
        return AwsError("ServiceUnavailable", "Service is unavailable (injected fault).", 503,
                        sender=False)
    return AwsError(fault.code or "InternalFailure", fault.message or "injected fault",
                    fault.status, sender=fault.status < 500)


def fault_outcome(fault, service, query):
    """(status, error code) for the call log; status 0 when no response was sent."""
    if fault.kind in ("drop", "truncate", "crash", "exception"):
        return 0, fault.kind
    if fault.kind in ("garbage", "oversized"):
        return (fault.status if fault.status_given else 200), fault.kind
    if fault.kind in ("delay", "drop_after"):
        return None, None
    err = fault_error(fault, service, query)
    return err.status, err.code
