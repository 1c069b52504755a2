# SPDX-License-Identifier: Apache-2.0
"""Route a validated call to its service module under the state lock."""
import acm
import ec2
import orgs
import pca
import route53
import secrets_svc
import sqs
import sts
from errors import AwsError

MODULES = {"acm": acm, "secretsmanager": secrets_svc, "sts": sts, "organizations": orgs,
           "acm-pca": pca, "route53": route53, "sqs": sqs,
           "ec2": ec2}


def call(service, operation, ctx, params):
    mod = MODULES[service]
    fn = getattr(mod, "op_" + operation, None)
    if fn is None:
        # Modeled in botocore but not implemented by the stand-in.
        raise AwsError("UnknownOperationException" if service != "sts" else "InvalidAction",
                       "localaws does not implement %s.%s" % (service, operation), 400)
    state = ctx["app"].state
    with state.lock:
        return fn(ctx, params)
