# SPDX-License-Identifier: Apache-2.0
"""SQS in AWS JSON 1.0: queues made through the control interface; messages hidden
for their visibility timeout after ReceiveMessage, gone after DeleteMessage.

Long polling does not wait here (the state lock is held during a call): an empty
queue answers at once with no Messages.
"""
import hashlib
import time
import uuid

from errors import AwsError


def _queues(ctx):
    return ctx["app"].state.bucket("sqs", ctx["account"], ctx["region"])


def _url(account, region, name):
    return "https://sqs.%s.amazonaws.com/%s/%s" % (region, account, name)


def _queue(ctx, url):
    q = _queues(ctx).get(url.rstrip("/").split("/")[-1])
    if q is None or q["url"] != url:
        raise AwsError("com.amazonaws.sqs#QueueDoesNotExist",
                       "The specified queue does not exist.")
    return q


def _commit(ctx, q):
    ctx["app"].state.commit("sqs", "%s/%s" % (ctx["account"], ctx["region"]), q["name"])


def op_GetQueueUrl(ctx, p):
    owner = p.get("QueueOwnerAWSAccountId") or ctx["account"]
    q = ctx["app"].state.bucket("sqs", owner, ctx["region"]).get(p["QueueName"])
    if q is None:
        raise AwsError("com.amazonaws.sqs#QueueDoesNotExist",
                       "The specified queue does not exist.")
    return {"QueueUrl": q["url"]}


def op_SendMessage(ctx, p):
    q = _queue(ctx, p["QueueUrl"])
    body = p["MessageBody"]
    if not body:
        raise AwsError("com.amazonaws.sqs#InvalidParameterValue",
                       "The request must contain the parameter MessageBody.")
    mid = str(uuid.uuid4())
    q["messages"].append({"id": mid, "body": body, "visible_at":
                          time.time() + int(p.get("DelaySeconds") or 0), "receipt": None,
                          "receives": 0})
    _commit(ctx, q)
    return {"MessageId": mid, "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()}


def op_ReceiveMessage(ctx, p):
    q = _queue(ctx, p["QueueUrl"])
    now = time.time()
    limit = int(p.get("MaxNumberOfMessages") or 1)
    vis = int(p["VisibilityTimeout"]) if p.get("VisibilityTimeout") is not None \
        else q["visibility"]
    out = []
    for m in q["messages"]:
        if len(out) >= limit:
            break
        if m["visible_at"] > now:
            continue
        m["receipt"] = uuid.uuid4().hex + uuid.uuid4().hex
        m["visible_at"] = now + vis
        m["receives"] += 1
        out.append({"MessageId": m["id"], "ReceiptHandle": m["receipt"], "Body": m["body"],
                    "MD5OfBody": hashlib.md5(m["body"].encode()).hexdigest()})
    if out:
        _commit(ctx, q)
    return {"Messages": out} if out else {}


def _by_receipt(q, receipt):
    for m in q["messages"]:
        if m["receipt"] == receipt:
            return m
    raise AwsError("com.amazonaws.sqs#ReceiptHandleIsInvalid",
                   "The input receipt handle \"%s\" is not a valid receipt handle." % receipt)


def op_ChangeMessageVisibility(ctx, p):
    q = _queue(ctx, p["QueueUrl"])
    m = _by_receipt(q, p["ReceiptHandle"])
    m["visible_at"] = time.time() + int(p["VisibilityTimeout"])
    _commit(ctx, q)
    return {}


def op_DeleteMessage(ctx, p):
    q = _queue(ctx, p["QueueUrl"])
    m = _by_receipt(q, p["ReceiptHandle"])
    q["messages"].remove(m)
    _commit(ctx, q)
    return {}


def control_create(state, account, region, body):
    name = str(body.get("name") or "")
    if not name:
        raise ValueError("field 'name' is required")
    q = {"name": name, "url": _url(account, region, name), "messages": [],
         "visibility": int(body.get("visibility_timeout") or 30)}
    state.bucket("sqs", account, region)[name] = q
    state.commit("sqs", "%s/%s" % (account, region), name)
    return {"url": q["url"]}


def control_list(state, account, region):
    return [{"url": q["url"], "messages": [{"id": m["id"], "body": m["body"],
                                            "receives": m["receives"]}
                                           for m in q["messages"]]}
            for q in state.bucket("sqs", account, region).values()]
