# SPDX-License-Identifier: Apache-2.0
# Sourced by tests/integration/test_enroll_pca*.sh, after enroll_lib.sh: Private CAs in
# the local endpoint and an hsm2acm configuration with one acm-pca issuer per CA.
#
#   pca_ca KEY_ALG [ACCOUNT] [EXTRA_JSON]   create a CA, print its ARN
#   pca_settings JSON                       endpoint settings (pending_polls, ...)
#   pca_update ARN JSON [ACCOUNT]           CA status, shares, describe_denied
#   pca_issued ARN [ACCOUNT]                how many certificates the CA has issued
#   pca_config OUT ISSUERS_JSON             ENR_CONFIG with these issuers added

pca_ca() {
    local acct=${2:-111111111111} extra=${3:-}
    h2a_localaws_ctl POST /_control/pca \
        "{\"account\":\"$acct\",\"region\":\"eu-west-1\",\"key_algorithm\":\"$1\"${extra:+,$extra}}" |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["arn"])'
}

pca_settings() {
    h2a_localaws_ctl POST /_control/pca/settings "$1" >/dev/null
}

pca_update() {
    local acct=${3:-111111111111}
    $PY - "$1" "$2" "$acct" >"$ENR_DIR/pca-update.json" <<'PYEOF'
import json, sys
arn, patch, acct = sys.argv[1:4]
d = json.loads(patch)
d.update({"arn": arn, "account": acct, "region": "eu-west-1"})
print(json.dumps(d))
PYEOF
    h2a_localaws_ctl POST /_control/pca/update "$(cat "$ENR_DIR/pca-update.json")" >/dev/null
}

# pca_view ARN [ACCOUNT]: the control view of one CA (JSON) on stdout.
pca_view() {
    h2a_localaws_ctl GET "/_control/pca?account=${2:-111111111111}&region=eu-west-1" |
        $PY -c 'import json,sys; print(json.dumps([c for c in json.load(sys.stdin)["certificate_authorities"] if c["arn"] == sys.argv[1]][0]))' "$1"
}

pca_issued() {
    pca_view "$@" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["issued"]))'
}

pca_config() {
    enr_config_with "$1" "{\"issuers\": $2}"
}
