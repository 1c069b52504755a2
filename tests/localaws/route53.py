# SPDX-License-Identifier: Apache-2.0
"""Route 53 (restXml, one global endpoint): hosted zones made through the control
interface, record sets changed in batches, changes PENDING until polled once.

Zones belong to an account (the service is global: no region in the state key).
Operation functions return the XML inside <OpResponse>; server.py wraps it.
"""
import json
import time
import urllib.request
import uuid

from errors import AwsError
from server_util import x

NS = "https://route53.amazonaws.com/doc/2013-04-01/"

# Set through /_control/route53/forward: {"url": "http://127.0.0.1:PORT"} of challtestsrv.
FORWARD = {"url": None}


def _forward_txt(z, names):
    """Make challtestsrv answer each changed TXT name with the zone's values now."""
    if not FORWARD["url"]:
        return
    def post(path, body):
        req = urllib.request.Request(FORWARD["url"] + path, data=json.dumps(body).encode(),
                                     method="POST")
        urllib.request.urlopen(req, timeout=5).read()
    for name in names:
        post("/clear-txt", {"host": name})
        have = z["rrsets"].get("%s|TXT" % name)
        for v in (have or {}).get("values", []):
            post("/set-txt", {"host": name, "value": v[1:-1] if v.startswith('"') else v})


def _zones(state, account):
    return state.data.setdefault("route53", {}).setdefault(account, {})


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _zone(ctx, zone_id):
    z = _zones(ctx["app"].state, ctx["account"]).get(zone_id.split("/")[-1])
    if z is None:
        raise AwsError("NoSuchHostedZone", "No hosted zone found with ID: %s" % zone_id, 404)
    return z


def _commit(ctx, zone_id):
    ctx["app"].state.commit("route53", ctx["account"], zone_id)


def _zone_xml(zid, z):
    return ("<HostedZone><Id>/hostedzone/%s</Id><Name>%s</Name><CallerReference>%s"
            "</CallerReference><Config><PrivateZone>%s</PrivateZone></Config>"
            "<ResourceRecordSetCount>%d</ResourceRecordSetCount></HostedZone>"
            % (x(zid), x(z["name"]), x(z["ref"]), "true" if z["private"] else "false",
               len(z["rrsets"])))


def op_ListHostedZonesByName(ctx, p):
    zones = sorted(_zones(ctx["app"].state, ctx["account"]).items(),
                   key=lambda kv: (kv[1]["name"][::-1].split(".")[::-1], kv[0]))
    start = _fqdn(p["DNSName"]).lower() if p.get("DNSName") else None
    names = [(zid, z) for zid, z in zones if start is None or z["name"] >= start]
    names.sort(key=lambda kv: kv[1]["name"])
    limit = int(p.get("MaxItems") or 100)
    page = names[:limit]
    out = "<HostedZones>%s</HostedZones>" % "".join(_zone_xml(zid, z) for zid, z in page)
    if p.get("DNSName"):
        out += "<DNSName>%s</DNSName>" % x(p["DNSName"])
    out += "<IsTruncated>%s</IsTruncated><MaxItems>%d</MaxItems>" % (
        "true" if len(names) > limit else "false", limit)
    if len(names) > limit:
        out += "<NextDNSName>%s</NextDNSName><NextHostedZoneId>%s</NextHostedZoneId>" % (
            x(names[limit][1]["name"]), x(names[limit][0]))
    return out


def _rrset_xml(s):
    recs = "".join("<ResourceRecord><Value>%s</Value></ResourceRecord>" % x(v)
                   for v in s["values"])
    return ("<ResourceRecordSet><Name>%s</Name><Type>%s</Type><TTL>%d</TTL>"
            "<ResourceRecords>%s</ResourceRecords></ResourceRecordSet>"
            % (x(s["name"]), x(s["type"]), s["ttl"], recs))


def op_ListResourceRecordSets(ctx, p):
    z = _zone(ctx, p["HostedZoneId"])
    sets = sorted(z["rrsets"].values(), key=lambda s: (s["name"], s["type"]))
    if p.get("StartRecordName"):
        key = (_fqdn(p["StartRecordName"]).lower(), p.get("StartRecordType") or "")
        sets = [s for s in sets if (s["name"], s["type"]) >= key]
    limit = min(int(p.get("MaxItems") or z.get("page_size") or 300), 300)
    page = sets[:limit]
    out = "<ResourceRecordSets>%s</ResourceRecordSets>" % "".join(_rrset_xml(s) for s in page)
    out += "<IsTruncated>%s</IsTruncated><MaxItems>%d</MaxItems>" % (
        "true" if len(sets) > limit else "false", limit)
    if len(sets) > limit:
        out += "<NextRecordName>%s</NextRecordName><NextRecordType>%s</NextRecordType>" % (
            x(sets[limit]["name"]), x(sets[limit]["type"]))
    return out


def _apply(z, change, errors):
    rs = change["ResourceRecordSet"]
    name = _fqdn(rs["Name"]).lower()
    if not (name == z["name"] or name.endswith("." + z["name"])):
        errors.append("RRSet with DNS name %s is not permitted in zone %s" % (name, z["name"]))
        return
    key = "%s|%s" % (name, rs["Type"])
    values = [r["Value"] for r in rs.get("ResourceRecords", [])]
    new = {"name": name, "type": rs["Type"], "ttl": rs.get("TTL", 300), "values": values}
    have = z["rrsets"].get(key)
    act = change["Action"]
    if act == "CREATE" and have is not None:
        errors.append("Tried to create resource record set [name='%s', type='%s'] but it "
                      "already exists" % (name, rs["Type"]))
    elif act == "DELETE" and (have is None or have != new):
        errors.append("Tried to delete resource record set [name='%s', type='%s'] but it was "
                      "not found" % (name, rs["Type"]))
    elif act == "DELETE":
        del z["rrsets"][key]
    else:
        z["rrsets"][key] = new


def _change_xml(cid, c):
    return ("<ChangeInfo><Id>/change/%s</Id><Status>%s</Status><SubmittedAt>%s</SubmittedAt>"
            "%s</ChangeInfo>" % (x(cid), c["status"], time.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(c["submitted"])),
                "<Comment>%s</Comment>" % x(c["comment"]) if c.get("comment") else ""))


def op_ChangeResourceRecordSets(ctx, p):
    zid = p["HostedZoneId"].split("/")[-1]
    z = _zone(ctx, zid)
    batch = p["ChangeBatch"]
    errors = []
    work = {"name": z["name"], "rrsets": dict(z["rrsets"])}
    for change in batch["Changes"]:
        _apply(work, change, errors)
    if errors:
        raise AwsError("InvalidChangeBatch", "[%s]" % ", ".join(errors))
    z["rrsets"] = work["rrsets"]
    _forward_txt(z, sorted({_fqdn(c["ResourceRecordSet"]["Name"]).lower()
                            for c in batch["Changes"]
                            if c["ResourceRecordSet"]["Type"] == "TXT"}))
    cid = "C" + uuid.uuid4().hex[:20].upper()
    changes = ctx["app"].state.data.setdefault("route53_changes", {})
    changes[cid] = {"status": "PENDING", "submitted": time.time(),
                    "comment": batch.get("Comment"), "account": ctx["account"]}
    _commit(ctx, zid)
    ctx["app"].state.commit("route53_changes", cid)
    return _change_xml(cid, changes[cid])


def op_GetChange(ctx, p):
    cid = p["Id"].split("/")[-1]
    c = ctx["app"].state.data.setdefault("route53_changes", {}).get(cid)
    if c is None or c["account"] != ctx["account"]:
        raise AwsError("NoSuchChange", "A change with the specified change ID does not exist.",
                       404)
    out = _change_xml(cid, c)
    # Propagation: the first poll sees PENDING, the next INSYNC.
    if c["status"] == "PENDING":
        c["status"] = "INSYNC"
        ctx["app"].state.commit("route53_changes", cid)
    return out


def control_create(state, account, body):
    name = _fqdn(str(body.get("name") or "")).lower()
    if name == ".":
        raise ValueError("field 'name' is required")
    zid = "Z" + uuid.uuid4().hex[:19].upper()
    _zones(state, account)[zid] = {"name": name, "ref": str(uuid.uuid4()),
                                   "private": bool(body.get("private")), "rrsets": {},
                                   "page_size": int(body.get("page_size") or 300)}
    state.commit("route53", account, zid)
    return {"id": "/hostedzone/" + zid, "name": name}


def control_list(state, account):
    return [{"id": "/hostedzone/" + zid, "name": z["name"],
             "rrsets": sorted(z["rrsets"].values(), key=lambda s: (s["name"], s["type"]))}
            for zid, z in _zones(state, account).items()]
