#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# hsm2acm discover / inventory against the local AWS endpoint: an organization of
# seven accounts (two suspended or closed, one without the member role) in two regions,
# certificates of all seven key types and all statuses, ACM's default keyTypes filter,
# Organizations pages of two with empty pages between, per-API rate limits on; both
# authentication flows; ground truth from the endpoint; new / changed / gone on a second
# run; every output format; bad scope configuration.
source "$(dirname "$0")/aws_lib.sh"
h2a_localaws_start || exit 1
trap aws_it_cleanup EXIT
export HSM2ACM_RETRY_BASE_MS=50
ctl() { h2a_localaws_ctl "$@" >/dev/null || fail "control $*"; }
ROLE=OrganizationAccountAccessRole
REGIONS=(eu-west-1 us-east-1)
MEMBERS=(111111111111 222222222222 333333333333 444444444444)
KEYS=(RSA_1024 RSA_2048 RSA_3072 RSA_4096 EC_prime256v1 EC_secp384r1 EC_secp521r1)
STATUSES=(PENDING_VALIDATION ISSUED INACTIVE EXPIRED VALIDATION_TIMED_OUT REVOKED FAILED)

# --- the organization -------------------------------------------------------
ctl POST /_control/org '{"accounts":[{"Id":"444444444444"},{"Id":"555555555555"},
  {"Id":"666666666666","State":"SUSPENDED"},{"Id":"777777777777","State":"CLOSED"}],
  "page_size":2,"empty_pages":true}'
ctl POST /_control/roles "{\"account\":\"555555555555\",\"role_name\":\"$ROLE\",\"missing\":true}"
ctl POST /_control/ratelimits '{"acm.ListCertificates":1,"acm.DescribeCertificate":10,
  "acm.ListTagsForCertificate":10}'

# Every key type and every status in every member account and region; one EXPIRED
# certificate within expired_within_days and one older per part; one without a domain.
i=0
for a in "${MEMBERS[@]}"; do
    for r in "${REGIONS[@]}"; do
        k=${KEYS[$((i % 7))]} s=${STATUSES[$((i % 7))]}
        ctl POST /_control/acm/seed "{\"account\":\"$a\",\"region\":\"$r\",\"key_algorithm\":\"$k\",\"status\":\"$s\"}"
        k2=${KEYS[$(((i + 3) % 7))]}
        ctl POST /_control/acm/seed "{\"account\":\"$a\",\"region\":\"$r\",\"key_algorithm\":\"$k2\",\"type\":\"PRIVATE\",\"count\":2}"
        ctl POST /_control/acm/seed "{\"account\":\"$a\",\"region\":\"$r\",\"key_algorithm\":\"EC_secp384r1\",\"days_valid\":-10,\"status\":\"EXPIRED\"}"
        ctl POST /_control/acm/seed "{\"account\":\"$a\",\"region\":\"$r\",\"key_algorithm\":\"RSA_2048\",\"days_valid\":-200,\"status\":\"EXPIRED\"}"
        i=$((i + 1))
    done
done
ctl POST /_control/acm/seed '{"account":"222222222222","region":"eu-west-1","key_algorithm":"RSA_4096","domain_name":null}'
ctl POST /_control/acm/seed '{"account":"333333333333","region":"us-east-1","key_algorithm":"EC_prime256v1","tags":[{"Key":"hsm2acm:managed","Value":"true"}]}'
ctl POST /_control/acm/seed '{"account":"444444444444","region":"eu-west-1","key_algorithm":"EC_prime256v1","days_valid":10}'
ctl POST /_control/acm/seed '{"account":"666666666666","region":"eu-west-1","key_algorithm":"RSA_2048"}'
ctl POST /_control/acm/seed '{"account":"555555555555","region":"eu-west-1","key_algorithm":"RSA_2048"}'
# An imported certificate to reimport and one to delete before the second run.
mkcert imp "ec -pkeyopt ec_paramgen_curve:P-256" imp.example.com
mkcert del "rsa:2048" del.example.com
IMP=$(/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate --certificate "fileb://$T/imp.pem" \
      --private-key "fileb://$T/imp.key" --query CertificateArn --output text) || fail "import"
DEL=$(/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate --certificate "fileb://$T/del.pem" \
      --private-key "fileb://$T/del.key" --query CertificateArn --output text) || fail "import"
ctl POST /_control/acm/inuse "{\"arn\":\"$IMP\",\"in_use_by\":[\"arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/1\"]}"
ALLSTAT='["PENDING_VALIDATION","ISSUED","INACTIVE","EXPIRED","VALIDATION_TIMED_OUT","REVOKED","FAILED"]'

conf() { # conf FILE STATE_DIR SCOPE_JSON
    cat >"$1" <<JSON
{"token": "pkcs11:token=unused", "state_dir": "$2",
 "aws": {"region": "eu-west-1", "ca_bundle": "$H2A_LOCALAWS_CA"},
 "scope": $3}
JSON
}
ORG="{\"type\":\"organization\",\"regions\":[\"eu-west-1\",\"us-east-1\"],\"role_name\":\"$ROLE\",
      \"accounts\":{\"include\":[],\"exclude\":[\"999999999999\"]},\"statuses\":$ALLSTAT,
      \"expired_within_days\":90}"
conf "$T/org.json" "$T/state1" "$ORG"
PARTS=""
for a in "${MEMBERS[@]}"; do for r in "${REGIONS[@]}"; do PARTS="$PARTS $a:$r"; done; done
truth() { # truth NAME STATE CONF
    "$H2A_BIN" inventory --config "$3" --format json >"$T/$1.inv.json" || fail "$1: inventory"
    # shellcheck disable=SC2086
    "$PY" "$H2A_SRC_DIR/tests/integration/discover_truth.py" "$H2A_LOCALAWS_URL" \
        "$H2A_LOCALAWS_CA" "$T/$1.inv.json" 90 $PARTS >"$T/$1.truth" ||
        fail "$1: inventory differs from ACM: $(head -c 1500 "$T/$1.truth")"
}

# --- help and usage ------------------------------------------------------------
run help_d 0 "$H2A_BIN" discover --help && expect_in help_d "$T/help_d.out" "Exit codes"
run help_i 0 "$H2A_BIN" inventory --help && expect_in help_i "$T/help_i.out" "Exit codes"
run usage_d 2 "$H2A_BIN" discover --config "$T/org.json" --region eu-west-9
expect_in usage_d "$T/usage_d.err" "eu-west-9"
run usage_w 2 "$H2A_BIN" discover --config "$T/org.json" --workers 65
expect_in usage_w "$T/usage_w.err" "1..64"
run usage_i 2 "$H2A_BIN" inventory --config "$T/org.json" --format yaml
run usage_i2 2 "$H2A_BIN" inventory --config "$T/org.json" --managed --unmanaged

# --- flow 1: management-account credentials -----------------------------------
reset_calls
ctl DELETE /_control/stats
if run d1 5 "$H2A_BIN" discover --config "$T/org.json"; then
    h2a_localaws_ctl GET /_control/stats >"$T/d1.stats" || fail "d1: stats"
    # One AssumeRole per account (four walked, one refused), not one per account and region.
    [ "$(calls sts AssumeRole)" = 5 ] || fail "d1: AssumeRole calls: $(calls sts AssumeRole), want 5"
    # The workers' connections resume the TLS session of the first one (shared session
    # cache) instead of full handshakes: most of them, never none (one or two are sometimes
    # full; why is not established). Not counted: the stats request's own.
    [ "$(jget "$T/d1.stats" 'j["tls_resumed"] >= 4 and 2 * j["tls_resumed"] >= j["https_connections"] - 2')" = true ] ||
        fail "d1: TLS sessions not shared: $(cat "$T/d1.stats")"
    [ "$(jget "$T/d1.out" 'j["accounts"]')" = 5 ] || fail "d1: accounts (ACTIVE ones): $(cat "$T/d1.out")"
    [ "$(jget "$T/d1.out" 'j["regions"]')" = 2 ] || fail "d1: regions"
    [ "$(jget "$T/d1.out" '[(f["account"], f["region"]) for f in j["failures"]]')" = '[["555555555555", null]]' ] ||
        fail "d1: failures: $(jget "$T/d1.out" 'j["failures"]')"
    [ "$(jget "$T/d1.out" 'j["gone"] + j["changed"]')" = "[]" ] || fail "d1: gone/changed on a first run"
    expect_in d1 "$T/d1.err" "1 part(s) failed"
    [ "$(jget "$T/d1.out" 'j["certificates"]')" = "$(jget "$T/d1.out" 'len(j["new"])')" ] ||
        fail "d1: every certificate is new on the first run"
    [ -s "$T/d1.err" ] && ! grep -q $'\r' "$T/d1.err" || fail "d1: a progress line without a tty"
    truth t1 "$T/state1" "$T/org.json"
    n=$(calls organizations ListAccounts)
    [ "$n" -ge 8 ] || fail "d1: ListAccounts pages (2 per page, empty pages between): $n"
    h2a_localaws_ctl GET '/_control/calls?service=acm&operation=ListCertificates' >"$T/lc.json"
    [ "$(jget "$T/lc.json" 'all(sorted(c["params"]["Includes"]["keyTypes"]) == sorted(["RSA_1024","RSA_2048","RSA_3072","RSA_4096","EC_prime256v1","EC_secp384r1","EC_secp521r1"]) for c in j["calls"])')" = true ] ||
        fail "d1: ListCertificates without all seven key types"
    for a in 666666666666 777777777777; do
        ! grep -q "$a" "$T/d1.out" "$T/t1.inv.json" || fail "d1: suspended/closed $a walked"
    done
    # The audit line: scope, caller identity, counts and failures of this run.
    grep '"step":"discover"' "$T/state1/audit.log" | tail -1 >"$T/d1.audit"
    [ "$(jget "$T/d1.audit" '(j["account"], ":user/" in j["caller"] and j["caller"].startswith("arn:aws:iam::111111111111:"), j["outcome"])')" = '["111111111111", true, "partial"]' ] ||
        fail "d1: audit line: $(cat "$T/d1.audit")"
    [ "$(jget "$T/d1.audit" 'j["detail"]')" = "$(jget "$T/d1.out" '"scope=organization accounts=%d regions=%d certificates=%d new=%d changed=0 gone=0 failures=1" % (j["accounts"], j["regions"], j["certificates"], len(j["new"]))')" ] ||
        fail "d1: audit detail: $(jget "$T/d1.audit" 'j["detail"]')"
    ok "organization scope, flow 1: ground truth, failures, suspended skipped, pages, key types, one AssumeRole per account, TLS sessions resumed"
fi
# The management account has no role: skipped, not a failure.
ctl POST /_control/roles "{\"account\":\"111111111111\",\"role_name\":\"$ROLE\",\"missing\":true}"
if run d1b 5 "$H2A_BIN" discover --config "$T/org.json" --region eu-west-1; then
    [ "$(jget "$T/d1b.out" '[f["account"] for f in j["failures"]]')" = '["555555555555"]' ] ||
        fail "d1b: failures $(jget "$T/d1b.out" 'j["failures"]')"
    ok "management account without the role is skipped"
fi
ctl POST /_control/roles "{\"account\":\"111111111111\",\"role_name\":\"$ROLE\"}"

# --- flow 2: a member user assumes management_role_arn --------------------------
h2a_localaws_use_account 222222222222
ORG2=${ORG/\"role_name\"/\"management_role_arn\":\"arn:aws:iam::111111111111:role/OrgReader\",\"role_name\"}
conf "$T/org2.json" "$T/state2" "$ORG2"
if run d2 5 "$H2A_BIN" discover --config "$T/org2.json"; then
    [ "$(jget "$T/d2.out" 'j["accounts"]')" = 5 ] || fail "d2: accounts"
    truth t2 "$T/state2" "$T/org2.json"
    ok "organization scope, flow 2 (management_role_arn)"
fi
# Without the management role, a member cannot list accounts: exit 5, nothing saved.
conf "$T/org3.json" "$T/state3" "$ORG"
run d3 5 "$H2A_BIN" discover --config "$T/org3.json" && expect_in d3 "$T/d3.err" "AccessDenied"
h2a_localaws_use_account 111111111111

# --- second run: new, changed (reimport with a new serial), gone ------------------
ctl POST /_control/ratelimits '{}'
NEW=$(h2a_localaws_ctl POST /_control/acm/seed '{"account":"222222222222","region":"us-east-1","key_algorithm":"EC_secp521r1"}' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["arns"][0])')
openssl req -x509 -new -key "$T/imp.key" -out "$T/imp2.pem" -days 40 -subj /CN=imp.example.com \
    -addext "subjectAltName=DNS:imp.example.com" -addext "keyUsage=digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=serverAuth" 2>/dev/null
/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm import-certificate --certificate-arn "$IMP" --certificate "fileb://$T/imp2.pem" \
    --private-key "fileb://$T/imp.key" >/dev/null || fail "reimport"
/usr/bin/aws --endpoint-url "$H2A_LOCALAWS_URL" acm delete-certificate --certificate-arn "$DEL" || fail "delete"
if run d4 5 "$H2A_BIN" discover --config "$T/org.json"; then
    [ "$(jget "$T/d4.out" 'j["new"]')" = "[\"$NEW\"]" ] || fail "d4: new $(jget "$T/d4.out" 'j["new"]')"
    [ "$(jget "$T/d4.out" 'j["changed"]')" = "[\"$IMP\"]" ] || fail "d4: changed $(jget "$T/d4.out" 'j["changed"]')"
    [ "$(jget "$T/d4.out" 'j["gone"]')" = "[\"$DEL\"]" ] || fail "d4: gone $(jget "$T/d4.out" 'j["gone"]')"
    truth t4 "$T/state1" "$T/org.json"
    [ "$(sqlite3 "$T/state1/inventory.db" "SELECT field FROM changes WHERE arn='$IMP'")" = serial ] ||
        fail "d4: the serial change is not in the history"
    [ "$(sqlite3 "$T/state1/inventory.db" "SELECT gone_at IS NOT NULL FROM certificates WHERE arn='$DEL'")" = 1 ] ||
        fail "d4: the deleted certificate is not kept as gone"
    ok "second run: exactly the new, changed and gone certificates"
fi
run d5 5 "$H2A_BIN" discover --config "$T/org.json" &&
    [ "$(jget "$T/d5.out" 'len(j["new"]) + len(j["changed"]) + len(j["gone"])')" = 0 ] ||
    fail "d5: a run without changes reports changes"

# --- managed by the journal: what hsm2acm imported (or was asked to reimport), untagged ---
# The journal is made by hsm2acm itself (renew --dry-run opens it, no AWS call); the rows
# are what a delivery leaves: a target with the ARN it imported into, and one naming the
# ARN it was asked to reimport.
conf "$T/orgj.json" "$T/statej" "$ORG"
run jmk 0 "$H2A_BIN" renew --dry-run --config "$T/orgj.json"
JREQ=$(h2a_localaws_ctl POST /_control/acm/seed '{"account":"111111111111","region":"eu-west-1","key_algorithm":"RSA_3072"}' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["arns"][0])')
sqlite3 "$T/statej/journal.db" "INSERT INTO requests(id, body_hash, body, requester, state, created, updated)
    VALUES ('jm-1', 'h', '{}', 'it', 'done', 0, 0);
  INSERT INTO targets(request_id, idx, region, account, certificate_arn, state, imported_arn, updated)
    VALUES ('jm-1', 0, 'eu-west-1', '111111111111', NULL, 'imported', '$IMP', 0),
           ('jm-1', 1, 'eu-west-1', '111111111111', '$JREQ', 'failed', NULL, 0);" ||
    fail "journal rows"
if run dj 0 "$H2A_BIN" discover --config "$T/orgj.json" --account 111111111111 --region eu-west-1; then
    "$H2A_BIN" inventory --config "$T/orgj.json" --format json >"$T/dj.inv.json" || fail "dj: inventory"
    [ "$(jget "$T/dj.inv.json" 'sorted(c["arn"] for c in j["certificates"] if c["managed"])')" = "$(printf '%s
' "$IMP" "$JREQ" | "$PY" -c 'import json,sys; print(json.dumps(sorted(sys.stdin.read().split())))')" ] ||
        fail "dj: managed: $(jget "$T/dj.inv.json" '[(c["arn"], c["managed"], c["tags"]) for c in j["certificates"]]')"
    [ "$(jget "$T/dj.inv.json" '[c["tags"] for c in j["certificates"] if c["arn"] == "'"$IMP"'"]')" = '[{}]' ] ||
        fail "dj: $IMP is tagged: managed only by its tags?"
    [ "$(jget "$T/dj.inv.json" 'len(j["certificates"]) > 2')" = true ] || fail "dj: walked too little"
    ok "managed by the journal: imported and reimport-requested ARNs, untagged; the rest not"
fi

# --- a progress line when stderr is a terminal (script(1) gives it one) ------------
if command -v script >/dev/null; then
    script -qec "'$H2A_BIN' discover --config '$T/org.json' --account 222222222222 >'$T/tty.out'" \
        "$T/tty.log" >/dev/null 2>&1
    grep -q 'discover: 2/2 account-regions, [0-9]* certificates' "$T/tty.log" ||
        fail "no progress line on a terminal: $(head -c 300 "$T/tty.log")"
    grep -q 'account-regions' "$T/tty.out" && fail "progress line on stdout"
    ok "progress line only on a terminal"
fi

# --- throttling is absorbed ------------------------------------------------------
fault '{"service":"acm","operation":"DescribeCertificate","kind":"throttle","count":4}'
fault '{"service":"acm","operation":"ListCertificates","kind":"throttle","count":2}'
run d6 0 "$H2A_BIN" discover --config "$T/org.json" --account 333333333333 &&
    [ "$(jget "$T/d6.out" 'j["failures"]')" = "[]" ] && ok "throttling absorbed" ||
    fail "d6: throttling not absorbed"

# --- a region answering AccessDenied: reported, the other goes on, nothing marked gone ---
before=$("$H2A_BIN" inventory --config "$T/org.json" --format json --account 333333333333 |
         "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')
fault '{"service":"acm","operation":"ListCertificates","kind":"error","status":400,"code":"AccessDeniedException","message":"no","count":1}'
if run d7 5 "$H2A_BIN" discover --config "$T/org.json" --account 333333333333; then
    [ "$(jget "$T/d7.out" '[(f["account"], f["region"] in ("eu-west-1", "us-east-1"), "AccessDeniedException" in f["error"]) for f in j["failures"]]')" = '[["333333333333", true, true]]' ] ||
        fail "d7: failures $(jget "$T/d7.out" 'j["failures"]')"
    [ "$(jget "$T/d7.out" 'j["gone"]')" = "[]" ] || fail "d7: a failed region marked certificates gone"
    after=$("$H2A_BIN" inventory --config "$T/org.json" --format json --account 333333333333 |
            "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["certificates"]))')
    [ "$before" = "$after" ] && [ "$(jget "$T/d7.out" 'j["certificates"] > 0')" = true ] ||
        fail "d7: inventory of 333333333333 changed from $before to $after"
    ok "a region answering AccessDenied is reported, the rest is walked and kept"
fi

source "$H2A_SRC_DIR/tests/integration/discover_formats.sh"
source "$H2A_SRC_DIR/tests/integration/discover_regions.sh"
aws_it_finish
