# SPDX-License-Identifier: Apache-2.0
# Sourced by test_discover.sh: scope.regions ["all"] walks exactly the regions enabled
# for each account (EC2 DescribeRegions on the account's own session). 222222222222 has
# opted in to af-south-1; 333333333333 opted in to it and out again, and holds a
# certificate there that must stay out of the inventory.

ctl POST /_control/regions '{"account":"222222222222","region":"af-south-1","status":"opted-in"}'
ctl POST /_control/regions '{"account":"333333333333","region":"af-south-1","status":"opted-in"}'
ctl POST /_control/regions '{"account":"333333333333","region":"af-south-1","status":"not-opted-in"}'
ctl POST /_control/acm/seed '{"account":"222222222222","region":"af-south-1","key_algorithm":"EC_prime256v1"}'
ctl POST /_control/acm/seed '{"account":"333333333333","region":"af-south-1","key_algorithm":"RSA_2048"}'
ctl POST /_control/acm/seed '{"account":"333333333333","region":"sa-east-1","key_algorithm":"RSA_3072"}'
ALL="{\"type\":\"organization\",\"regions\":[\"all\"],\"role_name\":\"$ROLE\",
      \"accounts\":{\"include\":[\"222222222222\",\"333333333333\"],\"exclude\":[]},
      \"statuses\":$ALLSTAT,\"expired_within_days\":90}"
conf "$T/all.json" "$T/state_all" "$ALL"

# What the account itself is told by EC2 (the CLI parses the endpoint's reply with botocore).
enabled() {
    h2a_localaws_use_account "$1"
    /usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" ec2 describe-regions \
        --query 'Regions[].RegionName' --output text | tr '\t' '\n' | sort
    h2a_localaws_use_account 111111111111
}
enabled 222222222222 >"$T/en2" || fail "ec2 describe-regions as 222222222222"
enabled 333333333333 >"$T/en3" || fail "ec2 describe-regions as 333333333333"
grep -qx af-south-1 "$T/en2" && ! grep -qx af-south-1 "$T/en3" && [ "$(wc -l <"$T/en3")" -ge 10 ] ||
    fail "localaws enabled regions: $(tr '\n' ' ' <"$T/en2") / $(tr '\n' ' ' <"$T/en3")"
PARTS=""
while read -r r; do PARTS="$PARTS 222222222222:$r"; done <"$T/en2"
while read -r r; do PARTS="$PARTS 333333333333:$r"; done <"$T/en3"

reset_calls
if run dall 0 "$H2A_BIN" discover --config "$T/all.json"; then
    [ "$(jget "$T/dall.out" 'j["regions"]')" = "$(sort -u "$T/en2" "$T/en3" | wc -l)" ] ||
        fail "dall: regions $(jget "$T/dall.out" 'j["regions"]')"
    h2a_localaws_ctl GET '/_control/calls?service=acm&operation=ListCertificates' >"$T/lcall.json"
    jget "$T/lcall.json" '"\n".join(sorted(set("%s:%s" % (c["account"], c["region"]) for c in j["calls"])))' >"$T/walked"
    # shellcheck disable=SC2086
    printf '%s\n' $PARTS | sort >"$T/want"
    diff "$T/want" "$T/walked" >"$T/walked.diff" ||
        fail "dall: parts walked differ from the enabled regions: $(head -c 600 "$T/walked.diff")"
    [ "$(calls ec2 DescribeRegions)" = 2 ] || fail "dall: DescribeRegions calls: $(cat "$T/calls.json")"
    [ "$(jget "$T/calls.json" 'sorted(c["account"] for c in j["calls"])')" = '["222222222222", "333333333333"]' ] ||
        fail "dall: DescribeRegions not asked on each account's session"
    truth tall "$T/state_all" "$T/all.json"
    "$H2A_BIN" inventory --config "$T/all.json" --format csv >"$T/all.csv"
    grep -q ',222222222222,af-south-1,' "$T/all.csv" && ! grep -q ',333333333333,af-south-1,' "$T/all.csv" &&
        grep -q ',333333333333,sa-east-1,' "$T/all.csv" || fail "dall: af-south-1 / sa-east-1 rows: $(cut -d, -f2,3 "$T/all.csv" | sort -u | tr '\n' ' ')"
    ok "regions [\"all\"]: exactly each account's enabled regions (opted-in yes, opted-out no)"
fi

# An account whose regions cannot be listed is one failure (region null); the other is walked.
fault '{"service":"ec2","operation":"DescribeRegions","kind":"error","status":403,"code":"UnauthorizedOperation","message":"not allowed","count":1}'
if run dall2 5 "$H2A_BIN" discover --config "$T/all.json"; then
    [ "$(jget "$T/dall2.out" '[(f["region"], "UnauthorizedOperation" in f["error"]) for f in j["failures"]]')" = '[[null, true]]' ] ||
        fail "dall2: failures $(jget "$T/dall2.out" 'j["failures"]')"
    [ "$(jget "$T/dall2.out" 'j["gone"]')" = "[]" ] || fail "dall2: the failed account's certificates marked gone"
    [ "$(jget "$T/dall2.out" 'j["regions"] >= 17')" = true ] || fail "dall2: the other account not walked"
    ok "regions [\"all\"]: an account refusing DescribeRegions is reported, the other walked"
fi
