# SPDX-License-Identifier: Apache-2.0
"""Secrets Manager: create (ClientRequestToken idempotency), get, describe, delete, list.

(The module is not called secrets.py so that it does not shadow the stdlib module.)
"""
import base64
import json
import random
import re
import string
import time

from errors import AwsError
from server_util import partition

DEFAULT_PAGE = 3  # small on purpose: clients must follow NextToken
_KMS_RE = re.compile(
    r"^(alias/[a-zA-Z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
    r"mrk-[0-9a-f]{32}|arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[a-zA-Z0-9/_-]+))$")
_ALNUM = string.ascii_letters + string.digits


def _bucket(ctx):
    return ctx["app"].state.bucket("secrets", ctx["account"], ctx["region"])


def _save(ctx, rec):
    ctx["app"].state.commit("secrets", "%s/%s" % (ctx["account"], ctx["region"]), rec["arn"])


def _live(ctx):
    return [r for r in _bucket(ctx).values() if not r.get("force_deleted")]


def _find(ctx, secret_id, allow_deleted=True):
    for rec in _live(ctx):
        if secret_id in (rec["arn"], rec["name"]) or \
                (secret_id.startswith("arn:") and rec["arn"][:-7] == secret_id):
            if not allow_deleted and rec.get("deleted_date"):
                raise AwsError("InvalidRequestException", "You can't perform this operation "
                               "on the secret because it was marked for deletion.")
            return rec
    raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified "
                   "secret.")


def _value(p):
    if p.get("SecretString") is not None:
        return {"string": p["SecretString"]}
    if p.get("SecretBinary") is not None:
        return {"binary": p["SecretBinary"]}
    return None


_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@!-]+$")


# AWS deletes asynchronously: for a while after a forced DeleteSecret (DescribeSecret
# may already say "not found") a secret of the same name cannot be created again.
DEFAULT_DELETION_LAG_MS = 2000


def _check_deletion_lag(ctx, name):
    cfg = ctx["app"].state.data.get("secrets_config") or {}
    lag = cfg.get("deletion_lag_ms", DEFAULT_DELETION_LAG_MS) / 1000.0
    now = time.time()
    for rec in _bucket(ctx).values():
        if rec["name"] == name and rec.get("force_deleted") and now < rec["force_deleted"] + lag:
            raise AwsError("InvalidRequestException", "You can't create this secret because "
                           "a secret with this name is already scheduled for deletion.")


def control_config(state, body):
    """POST /_control/secrets/config {"deletion_lag_ms": N}: the lag after a forced delete."""
    cfg = dict(state.data.get("secrets_config") or {})
    lag = body.get("deletion_lag_ms")
    if set(body) - {"deletion_lag_ms"} or not isinstance(lag, int) or lag < 0:
        raise ValueError("expected {\"deletion_lag_ms\": N >= 0}")
    cfg["deletion_lag_ms"] = lag
    state.data["secrets_config"] = cfg
    state.save()
    return cfg


def op_CreateSecret(ctx, p):
    name = p["Name"]
    if not _NAME_RE.match(name):
        raise AwsError("ValidationException", "Invalid name. Must be a valid name containing "
                       "alphanumeric characters, or any of the following: -/_+=.@!")
    token = p.get("ClientRequestToken")
    if p.get("SecretString") is not None and p.get("SecretBinary") is not None:
        raise AwsError("InvalidParameterException", "You can't specify both a binary secret "
                       "value and a string secret value in the same secret.")
    value = _value(p)
    if value is not None and token is None:
        raise AwsError("InvalidRequestException", "You must provide a ClientRequestToken "
                       "value. We recommend a UUID-type value.")
    kms = p.get("KmsKeyId")
    if kms and not _KMS_RE.match(kms):
        raise AwsError("InvalidParameterException", "The KmsKeyId %s is not a valid key "
                       "ID, key ARN, alias name or alias ARN." % kms)
    if p.get("AddReplicaRegions"):
        raise AwsError("InvalidRequestException", "localaws does not replicate secrets.")
    for t in p.get("Tags") or []:
        if t.get("Key", "").lower().startswith("aws:"):
            raise AwsError("InvalidParameterException", "Tag keys can't begin with 'aws:'.")
    _check_deletion_lag(ctx, name)
    for rec in _live(ctx):
        if rec["name"] != name:
            continue
        if rec.get("deleted_date"):
            raise AwsError("InvalidRequestException", "You can't create this secret because "
                           "a secret with this name is already scheduled for deletion.")
        if token is not None and token in rec["versions"]:
            if rec["versions"][token]["value"] == value:
                out = {"ARN": rec["arn"], "Name": rec["name"], "VersionId": token}
                return out
            raise AwsError("ResourceExistsException", "You can't modify an existing version, "
                           "you can only create new versions. The ClientRequestToken %s is "
                           "already in use with a different secret value." % token)
        raise AwsError("ResourceExistsException", "The operation failed because the secret "
                       "%s already exists." % name)
    now = time.time()
    suffix = "".join(random.choice(_ALNUM) for _ in range(6))
    arn = "arn:%s:secretsmanager:%s:%s:secret:%s-%s" % (partition(ctx["region"]), ctx["region"],
                                                        ctx["account"], name,
                                                         suffix)
    rec = {"arn": arn, "name": name, "description": p.get("Description"), "kms_key_id": kms,
           "tags": list(p.get("Tags") or []), "created": now, "last_changed": now,
           "versions": {}, "deleted_date": None, "deletion_date": None}
    out = {"ARN": arn, "Name": name}
    if value is not None:
        rec["versions"][token] = {"value": value, "stages": ["AWSCURRENT"], "created": now}
        out["VersionId"] = token
    _bucket(ctx)[arn] = rec
    _save(ctx, rec)
    return out


def _version(rec, p):
    vid = p.get("VersionId")
    stage = p.get("VersionStage")
    if vid is not None:
        v = rec["versions"].get(vid)
        if v is None or (stage and stage not in v["stages"]):
            raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the "
                           "specified secret value for VersionId: %s" % vid)
        return vid, v
    stage = stage or "AWSCURRENT"
    for vid, v in rec["versions"].items():
        if stage in v["stages"]:
            return vid, v
    raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified "
                   "secret value for staging label: %s" % stage)


def op_GetSecretValue(ctx, p):
    rec = _find(ctx, p["SecretId"], allow_deleted=False)
    vid, v = _version(rec, p)
    rec["last_accessed"] = int(time.time() // 86400 * 86400)
    out = {"ARN": rec["arn"], "Name": rec["name"], "VersionId": vid,
           "VersionStages": list(v["stages"]), "CreatedDate": v["created"]}
    if "string" in v["value"]:
        out["SecretString"] = v["value"]["string"]
    else:
        out["SecretBinary"] = v["value"]["binary"]
    return out


def _entry(rec, stages_key):
    out = {"ARN": rec["arn"], "Name": rec["name"], "LastChangedDate": rec["last_changed"],
           "CreatedDate": rec["created"], "Tags": list(rec["tags"]),
           stages_key: {vid: list(v["stages"]) for vid, v in rec["versions"].items()}}
    if rec.get("description") is not None:
        out["Description"] = rec["description"]
    if rec.get("kms_key_id"):
        out["KmsKeyId"] = rec["kms_key_id"]
    if rec.get("deleted_date"):
        out["DeletedDate"] = rec["deleted_date"]
    if rec.get("last_accessed"):
        out["LastAccessedDate"] = rec["last_accessed"]
    return out


def op_DescribeSecret(ctx, p):
    return _entry(_find(ctx, p["SecretId"]), "VersionIdsToStages")


def op_DeleteSecret(ctx, p):
    force = p.get("ForceDeleteWithoutRecovery")
    window = p.get("RecoveryWindowInDays")
    if force and window is not None:
        raise AwsError("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery "
                       "in conjunction with RecoveryWindowInDays.")
    if window is not None and not 7 <= window <= 30:
        raise AwsError("InvalidParameterException", "The RecoveryWindowInDays value must be "
                       "between 7 and 30 days (inclusive).")
    now = time.time()
    try:
        rec = _find(ctx, p["SecretId"])
    except AwsError:
        if force:
            # AWS answers a forced delete of a missing secret without an error.
            sid = p["SecretId"]
            name = sid.split(":secret:", 1)[1][:-7] if ":secret:" in sid else sid
            arn = sid if sid.startswith("arn:") else "arn:%s:secretsmanager:%s:%s:secret:%s" \
                % (partition(ctx["region"]), ctx["region"], ctx["account"], sid)
            return {"ARN": arn, "Name": name, "DeletionDate": now}
        raise
    if force:
        rec["force_deleted"] = now
        rec["deletion_date"] = now
        for v in rec["versions"].values():
            v["value"] = None  # the value is gone; the record stays for the control view
        _save(ctx, rec)
        return {"ARN": rec["arn"], "Name": rec["name"], "DeletionDate": now}
    if rec.get("deleted_date"):
        raise AwsError("InvalidRequestException", "You can't perform this operation on the "
                       "secret because it was already scheduled for deletion.")
    days = 30 if window is None else window
    rec["deleted_date"] = now
    rec["deletion_date"] = now + days * 86400
    _save(ctx, rec)
    return {"ARN": rec["arn"], "Name": rec["name"], "DeletionDate": rec["deletion_date"]}


def op_TagResource(ctx, p):
    rec = _find(ctx, p["SecretId"], allow_deleted=False)
    tags = {t["Key"]: t for t in rec["tags"]}
    for t in p["Tags"]:
        tags[t["Key"]] = t
    rec["tags"] = list(tags.values())
    _save(ctx, rec)
    return {}


def op_RestoreSecret(ctx, p):
    rec = _find(ctx, p["SecretId"])
    rec["deleted_date"] = None
    rec["deletion_date"] = None
    _save(ctx, rec)
    return {"ARN": rec["arn"], "Name": rec["name"]}


def _pred(key, value, rec):
    neg = value.startswith("!")
    if neg:
        value = value[1:]
    desc = rec.get("description") or ""
    if key == "name":
        hit = rec["name"].startswith(value)
    elif key == "tag-key":
        hit = any(t["Key"].startswith(value) for t in rec["tags"])
    elif key == "tag-value":
        hit = any(t.get("Value", "").startswith(value) for t in rec["tags"])
    elif key == "description":
        hit = desc.lower().startswith(value.lower())
    elif key == "primary-region":
        hit = False
    else:  # all
        v = value.lower()
        hit = (rec["name"].lower().startswith(v) or desc.lower().startswith(v) or
               any(t["Key"].lower().startswith(v) or t.get("Value", "").lower().startswith(v)
                   for t in rec["tags"]))
    return hit != neg


def op_ListSecrets(ctx, p):
    filters = p.get("Filters") or []
    if len(filters) > 10:
        raise AwsError("InvalidParameterException", "You can specify at most 10 filters.")
    include_deleted = bool(p.get("IncludePlannedDeletion"))
    rows = []
    for rec in sorted(_live(ctx), key=lambda r: (r["created"], r["arn"])):
        if rec.get("deleted_date") and not include_deleted:
            continue
        if all(any(_pred(f["Key"], v, rec) for v in f["Values"]) for f in filters):
            rows.append(_entry(rec, "SecretVersionsToStages"))
    if p.get("SortOrder") == "desc":
        rows.reverse()
    fingerprint = json.dumps([filters, p.get("SortOrder"), include_deleted], sort_keys=True)
    offset = 0
    if p.get("NextToken"):
        try:
            tok = json.loads(base64.b64decode(p["NextToken"]))
            offset = int(tok["o"])
            if tok["f"] != fingerprint:
                raise ValueError("filters changed")
        except (ValueError, KeyError, TypeError):
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.")
    page = int(p.get("MaxResults") or DEFAULT_PAGE)
    out = {"SecretList": rows[offset:offset + page]}
    if offset + page < len(rows):
        out["NextToken"] = base64.b64encode(json.dumps(
            {"o": offset + page, "f": fingerprint}).encode()).decode()
    return out


def control_list(state, account, region):
    out = []
    for rec in state.bucket("secrets", account, region).values():
        item = {"arn": rec["arn"], "name": rec["name"], "tags": rec["tags"],
                "kms_key_id": rec.get("kms_key_id"), "description": rec.get("description"),
                "scheduled_for_deletion": bool(rec.get("deleted_date")) and
                not rec.get("force_deleted"),
                "force_deleted": bool(rec.get("force_deleted")),
                "deleted": bool(rec.get("deleted_date") or rec.get("force_deleted")),
                "deletion_date": rec.get("deletion_date"),
                "versions": {vid: {"stages": v["stages"],
                                   "secret_string": (v["value"] or {}).get("string"),
                                   "secret_binary": (v["value"] or {}).get("binary")}
                             for vid, v in rec["versions"].items()}}
        out.append(item)
    return out
