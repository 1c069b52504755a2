# SPDX-License-Identifier: Apache-2.0
"""EC2, only what discovery needs: DescribeRegions, answered per account from the
regions AWS has and the account's opt-in choices (set with POST /_control/regions)."""
from errors import AwsError
from server_util import x

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
# Regions enabled in every account (AWS's "opt-in-not-required") and opt-in regions,
# which are off until the account enables them.
DEFAULT_ON = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
              "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
              "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
              "us-east-1", "us-east-2", "us-west-1", "us-west-2"]
OPT_IN = ["af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
          "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
          "me-central-1", "me-south-1"]
OPT_STATES = ("opted-in", "not-opted-in")


def region_states(state, account):
    """{region: optInStatus} of one account in the aws partition."""
    chosen = (state.data.get("region_optin") or {}).get(account, {})
    out = {r: "opt-in-not-required" for r in DEFAULT_ON}
    out.update({r: chosen.get(r, "not-opted-in") for r in OPT_IN})
    return out


def control_regions(state, body):
    """Enable or disable an opt-in region of an account: {account, region, status}."""
    account, region, status = body.get("account"), body.get("region"), body.get("status")
    if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        raise ValueError("account: expected 12 digits")
    if region not in OPT_IN:
        raise ValueError("region: expected an opt-in region, one of %s" % OPT_IN)
    if status not in OPT_STATES:
        raise ValueError("status: expected one of %s" % (OPT_STATES,))
    state.data.setdefault("region_optin", {}).setdefault(account, {})[region] = status
    state.save()
    return {"account": account, "regions": region_states(state, account)}


def op_DescribeRegions(ctx, p):
    if p.get("Filters") or p.get("RegionNames"):
        raise AwsError("InvalidParameterValue", "localaws DescribeRegions supports no "
                       "filters or region names", 400)
    rows = region_states(ctx["app"].state, ctx["account"])
    items = "".join("    <item>\n      <regionName>%s</regionName>\n"
                    "      <regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint>\n"
                    "      <optInStatus>%s</optInStatus>\n    </item>\n"
                    % (x(r), x(r), s)
                    for r, s in sorted(rows.items())
                    if p.get("AllRegions") or s != "not-opted-in")
    return "  <regionInfo>\n%s  </regionInfo>\n" % items
