/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* Configuration parsing: defaults, every key, and errors naming the key path. */
#include <stdio.h>
#include <unistd.h>

#include "h2a_test.h"

#include "config/h2a_config.h"
#include "enroll/h2a_request.h"

static h2a_config *s_parse_ok(const char *json)
{
    h2a_config *c = NULL;

    H2A_ASSERT_OK(h2a_config_parse(json, strlen(json), "/etc/hsm2acm", &c));
    return c;
}

#define BAD(json, needle)                                                   \
    do {                                                                    \
        h2a_config *c_ = NULL;                                              \
        H2A_ASSERT_ERR(h2a_config_parse(json, strlen(json), "/etc/hsm2acm", &c_), \
                       H2A_ERR_INPUT, needle);                              \
        assert_null(c_);                                                    \
    } while (0)

#define TOK "\"token\":\"pkcs11:token=t?pin-source=file:/p\""

static void test_minimal_defaults(void **state)
{
    (void)state;
    h2a_config *c = s_parse_ok("{" TOK "}");

    assert_string_equal(c->token, "pkcs11:token=t?pin-source=file:/p");
    assert_string_equal(c->wrap_key, "hsm2acm-wrap");
    assert_string_equal(c->state_dir, "/var/lib/hsm2acm");
    assert_null(c->policy);
    assert_false(c->trusted_wrap);
    assert_int_equal(c->n_issuers, 0);
    assert_string_equal(c->staging.prefix, "hsm2acm/staging/");
    assert_null(c->staging.kms_key_id);
    assert_int_equal(c->staging.ttl_seconds, 3600);
    assert_string_equal(c->audit.file, "/var/lib/hsm2acm/audit.log");
    assert_false(c->audit.syslog);
    h2a_config_free(c);
}

static void test_full(void **state)
{
    (void)state;
    h2a_config *c = s_parse_ok(
        "{" TOK ", \"wrap_key\":\"w1\", \"state_dir\":\"state\","
        " \"policy\":\"policy.json\", \"trusted_wrap\":true,"
        " \"issuers\":{\"ops-ca\":{\"type\":\"command\",\"argv\":[\"/bin/sign\",\"-x\"],"
        "   \"timeout_seconds\":5},"
        "   \"demo\":{\"type\":\"local\",\"key_label\":\"ca1\",\"subject\":\"CN=Test CA\","
        "   \"validity_days\":30}},"
        " \"aws\":{\"region\":\"eu-west-1\",\"profile\":\"p\",\"credentials_file\":\"creds\","
        "   \"role_name\":\"hsm2acm-delivery\",\"external_id\":\"ext-1\",\"ca_bundle\":\"/ca.pem\","
        "   \"max_attempts\":5,\"timeout_seconds\":7,\"endpoints\":{\"acm\":\"https://127.0.0.1:1\","
        "   \"secretsmanager\":\"https://127.0.0.1:2\",\"sts\":\"https://127.0.0.1:3\"}},"
        " \"staging\":{\"prefix\":\"x/y/\",\"kms_key_id\":\"alias/k\",\"ttl_seconds\":600},"
        " \"audit\":{\"file\":\"/var/log/a.log\",\"syslog\":true}}");
    const h2a_issuer_conf *ops = h2a_config_issuer(c, "ops-ca");
    const h2a_issuer_conf *demo = h2a_config_issuer(c, "demo");

    assert_string_equal(c->wrap_key, "w1");
    assert_string_equal(c->state_dir, "/etc/hsm2acm/state");
    assert_string_equal(c->policy, "/etc/hsm2acm/policy.json");
    assert_true(c->trusted_wrap);
    assert_non_null(ops);
    assert_int_equal(ops->type, H2A_ISSUER_COMMAND);
    assert_int_equal(ops->argc, 2);
    assert_string_equal(ops->argv[1], "-x");
    assert_null(ops->argv[2]);
    assert_int_equal(ops->timeout_seconds, 5);
    assert_non_null(demo);
    assert_int_equal(demo->type, H2A_ISSUER_LOCAL);
    assert_string_equal(demo->key_label, "ca1");
    assert_string_equal(demo->subject, "CN=Test CA");
    assert_int_equal(demo->validity_days, 30);
    assert_null(h2a_config_issuer(c, "nope"));
    assert_string_equal(c->aws.region, "eu-west-1");
    assert_string_equal(c->aws.credentials_file, "/etc/hsm2acm/creds");
    assert_string_equal(c->aws.role_name, "hsm2acm-delivery");
    assert_int_equal(c->aws.max_attempts, 5);
    assert_int_equal(c->aws.timeout_seconds, 7);
    assert_string_equal(c->aws.endpoints[H2A_AWS_SVC_STS], "https://127.0.0.1:3");
    assert_string_equal(c->staging.prefix, "x/y/");
    assert_string_equal(c->staging.kms_key_id, "alias/k");
    assert_int_equal(c->staging.ttl_seconds, 600);
    assert_string_equal(c->audit.file, "/var/log/a.log");
    assert_true(c->audit.syslog);
    h2a_config_free(c);
}

static void test_local_defaults(void **state)
{
    (void)state;
    h2a_config *c = s_parse_ok("{" TOK ",\"issuers\":{\"l\":{\"type\":\"local\"}}}");
    const h2a_issuer_conf *l = h2a_config_issuer(c, "l");

    assert_string_equal(l->key_label, "hsm2acm-local-ca");
    assert_string_equal(l->subject, "CN=hsm2acm local CA");
    assert_int_equal(l->validity_days, 90);
    h2a_config_free(c);
}

#define PCA_ARN(p, r) "arn:" p ":acm-pca:" r ":123456789012:certificate-authority/1-2-3"

/* Region, account and the default template's partition come from the CA ARN. */
static void test_acm_pca(void **state)
{
    (void)state;
    h2a_config *c = s_parse_ok("{" TOK ",\"issuers\":{"
                               "\"p\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":\""
                               PCA_ARN("aws-cn", "cn-north-1") "\",\"role_arn\":null},"
                               "\"q\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":\""
                               PCA_ARN("aws", "eu-west-1") "\",\"signing_algorithm\":"
                               "\"SHA384WITHECDSA\",\"role_arn\":"
                               "\"arn:aws:iam::222222222222:role/pki\",\"timeout_seconds\":30,"
                               "\"validity_days\":7}}}");
    const h2a_issuer_conf *p = h2a_config_issuer(c, "p"), *q = h2a_config_issuer(c, "q");

    assert_int_equal(p->type, H2A_ISSUER_ACM_PCA);
    assert_string_equal(p->pca_region, "cn-north-1");
    assert_string_equal(p->pca_account, "123456789012");
    assert_string_equal(p->template_arn, "arn:aws-cn:acm-pca:::template/EndEntityCertificate/V1");
    assert_string_equal(p->signing_algorithm, "auto");
    assert_null(p->role_arn);
    assert_int_equal(p->validity_days, 90);
    assert_int_equal(p->timeout_seconds, 300);
    assert_string_equal(q->signing_algorithm, "SHA384WITHECDSA");
    assert_string_equal(q->role_arn, "arn:aws:iam::222222222222:role/pki");
    assert_int_equal(q->timeout_seconds, 30);
    assert_int_equal(q->validity_days, 7);
    h2a_config_free(c);
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":"
        "\"arn:aws:acm-pca:eu-west-1:12:certificate-authority/1\"}}}",
        "issuers.x.certificate_authority_arn: 'arn:aws:acm-pca:eu-west-1:12:");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":"
        "\"" PCA_ARN("aws", "eu west") "\"}}}", "issuers.x.certificate_authority_arn: 'eu west'");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":"
        "\"" PCA_ARN("aws", "eu-west-1") "\",\"role_arn\":\"pki-role-in-the-other-acct\"}}}",
        "issuers.x.role_arn:");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acm-pca\",\"certificate_authority_arn\":"
        "\"" PCA_ARN("aws", "eu-west-1") "\",\"timeout_seconds\":0}}}",
        "issuers.x.timeout_seconds: must be between 1 and 3600");
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    BAD("", "not JSON");
    BAD("{" TOK ",}", "not JSON");
    BAD("[]", "expected a JSON object");
    BAD("{}", "token: missing");
    BAD("{\"token\":\"file:/x\"}", "token: expected a PKCS#11 URI");
    BAD("{" TOK ",\"tokne\":1}", "tokne: unknown key");
    BAD("{" TOK ",\"wrap_key\":7}", "wrap_key: expected a string");
    BAD("{" TOK ",\"wrap_key\":\"\"}", "wrap_key: must not be empty");
    BAD("{" TOK ",\"trusted_wrap\":\"yes\"}", "trusted_wrap: expected true or false");
    BAD("{" TOK ",\"issuers\":[]}", "issuers: expected a JSON object");
    BAD("{" TOK ",\"issuers\":{\"a b\":{\"type\":\"local\"}}}", "issuers: 'a b'");
    BAD("{" TOK ",\"issuers\":{\"x\":{}}}", "issuers.x.type: missing");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"est\"}}}", "issuers.x.type: 'est' is not");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acme\"}}}", "issuers.x.directory_url: missing");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acme\",\"directory_url\":\"https://a/d\","
        "\"account_key\":{\"label\":\"k\"},\"challenge\":{\"type\":\"dns-01\"}}}}",
        "issuers.x.challenge: dns-01 needs exactly one of route53_hosted_zone_id, route53_zone, argv");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acme\",\"directory_url\":\"https://a/d\","
        "\"account_key\":{\"label\":\"k\"},\"challenge\":{\"type\":\"tls-alpn-01\"}}}}",
        "issuers.x.challenge.type: 'tls-alpn-01' is not a challenge type");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"acme\",\"directory_url\":\"https://a/d\","
        "\"account_key\":{\"label\":\"k\"},\"challenge\":{\"type\":\"none\"},"
        "\"eab\":{\"kid\":\"k\"}}}}", "issuers.x.eab.hmac_key_file: missing");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"command\"}}}", "issuers.x.argv: missing");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"command\",\"argv\":[]}}}",
        "issuers.x.argv: must name the program");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"command\",\"argv\":[1]}}}",
        "issuers.x.argv[0]: expected a string");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"command\",\"argv\":[\"/a\"],"
        "\"timeout_seconds\":0}}}", "issuers.x.timeout_seconds: must be between 1 and 3600");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"command\",\"argv\":[\"/a\"],\"shell\":true}}}",
        "issuers.x.shell: unknown key");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"local\",\"argv\":[\"/a\"]}}}",
        "issuers.x.argv: unknown key");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"local\",\"subject\":\"nothing\"}}}",
        "issuers.x.subject: expected a subject");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"local\",\"validity_days\":9999}}}",
        "issuers.x.validity_days: must be between 1 and 825");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"local\",\"key_label\":\"a b\"}}}",
        "issuers.x.key_label");
    BAD("{" TOK ",\"aws\":{\"regoin\":\"x\"}}", "aws.regoin: unknown key");
    BAD("{" TOK ",\"aws\":{\"region\":\"eu west\"}}", "aws.region:");
    BAD("{" TOK ",\"aws\":{\"max_attempts\":0}}", "aws.max_attempts: must be between 1 and 20");
    BAD("{" TOK ",\"aws\":{\"max_attempts\":1.5}}", "aws.max_attempts: expected an integer");
    BAD("{" TOK ",\"aws\":{\"timeout_seconds\":0}}", "aws.timeout_seconds: must be between 1 and 300");
    BAD("{" TOK ",\"aws\":{\"role_name\":\"a b\"}}", "aws.role_name:");
    BAD("{" TOK ",\"aws\":{\"endpoints\":{\"acm\":\"ftp://x.example\"}}}",
        "aws.endpoints.acm: 'ftp://x.example' must start with https://");
    BAD("{" TOK ",\"aws\":{\"endpoints\":{\"s3\":\"https://x\"}}}", "aws.endpoints.s3: unknown key");
    BAD("{" TOK ",\"staging\":{\"prefix\":\"a b/\"}}", "staging.prefix:");
    BAD("{" TOK ",\"staging\":{\"ttl_seconds\":10}}", "staging.ttl_seconds: must be between 60");
    BAD("{" TOK ",\"staging\":{\"kms\":\"x\"}}", "staging.kms: unknown key");
    BAD("{" TOK ",\"audit\":{\"syslog\":1}}", "audit.syslog: expected true or false");
    BAD("{" TOK ",\"audit\":{\"file\":\"a\\u0001b\"}}", "audit.file: contains a control character");
}

static void test_kms_null_is_default(void **state)
{
    (void)state;
    h2a_config *c = s_parse_ok("{" TOK ",\"staging\":{\"kms_key_id\":null}}");

    assert_null(c->staging.kms_key_id);
    h2a_config_free(c);
}

static void test_load_file_and_env(void **state)
{
    (void)state;
    h2a_config *c = NULL;
    char dir[] = "/tmp/h2a-cfg-XXXXXX";
    char path[128];
    const char *txt = "{" TOK ",\"state_dir\":\"st\"}";
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(txt, f);
    fclose(f);
    unsetenv("HSM2ACM_CONFIG");
    H2A_ASSERT_ERR(h2a_config_load(NULL, &c), H2A_ERR_USAGE, "HSM2ACM_CONFIG");
    setenv("HSM2ACM_CONFIG", path, 1);
    H2A_ASSERT_OK(h2a_config_load(NULL, &c));
    assert_non_null(strstr(c->state_dir, "/st"));
    assert_int_equal(c->state_dir[0], '/');
    h2a_config_free(c);
    H2A_ASSERT_ERR(h2a_config_load("/nonexistent/c.json", &c), H2A_ERR_INPUT, "/nonexistent/c.json");
    unlink(path);
    rmdir(dir);
}

/* The shipped examples stay valid (they are documentation). */
static void test_examples_load(void **state)
{
    (void)state;
    const char *src = h2a_test_env("H2A_SRC_DIR");
    const char *reqs[] = {"request.json", "reimport.json", "multi.json"};
    char path[4096];
    h2a_config *c = NULL;

    snprintf(path, sizeof(path), "%s/examples/config.json", src);
    H2A_ASSERT_OK(h2a_config_load(path, &c));
    assert_non_null(h2a_config_issuer(c, "demo"));
    assert_non_null(strstr(c->policy, "/examples/policy.json"));
    h2a_config_free(c);
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        h2a_request *r = NULL;

        snprintf(path, sizeof(path), "%s/examples/%s", src, reqs[i]);
        H2A_ASSERT_OK(h2a_request_load(path, &r));
        assert_int_equal(strcmp(r->issuer, "demo"), 0);
        h2a_request_free(r);
    }
}

/* Issue 11 item 6: duplicate keys are refused as the policy loader refuses them. */
static void test_duplicate_keys(void **state)
{
    (void)state;
    BAD("{" TOK ",\"wrap_key\":\"a\",\"wrap_key\":\"b\"}",
        "configuration: not valid JSON at byte");
    BAD("{" TOK ",\"wrap_key\":\"a\",\"wrap_key\":\"b\"}", "(at wrap_key)");
    BAD("{" TOK ",\"issuers\":{\"x\":{\"type\":\"local\",\"key_label\":\"a\","
        "\"type\":\"command\"}}}",
        "(at issuers.x.type)");
    BAD("{" TOK ",\"aws\":{\"region\":\"eu-west-1\",\"region\":\"us-east-1\"}}",
        "key \"region\" appears twice in one object (at aws.region)");
}

/* Issue 17 item 14: a relative pin-source=file: lives beside the configuration. */
static void test_pin_source_relative(void **state)
{
    static const char rel[] = "{\"token\":\"pkcs11:token=t?module-path=/m.so&pin-source="
                              "file:pins/user&x=1\"}";
    static const char abs_[] = "{\"token\":\"pkcs11:token=t?pin-source=file:/run/pin\"}";
    static const char env[] = "{\"token\":\"pkcs11:token=t?pin-source=env:PIN\"}";
    h2a_config *c = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_config_parse(rel, strlen(rel), "/etc/h2a dir", &c));
    assert_string_equal(c->token, "pkcs11:token=t?module-path=/m.so&pin-source="
                                  "file:/etc/h2a%20dir/pins/user&x=1");
    h2a_config_free(c);
    H2A_ASSERT_OK(h2a_config_parse(abs_, strlen(abs_), "/etc/hsm2acm", &c));
    assert_string_equal(c->token, "pkcs11:token=t?pin-source=file:/run/pin");
    h2a_config_free(c);
    H2A_ASSERT_OK(h2a_config_parse(env, strlen(env), "/etc/hsm2acm", &c));
    assert_string_equal(c->token, "pkcs11:token=t?pin-source=env:PIN");
    h2a_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_local_defaults),
        cmocka_unit_test(test_acm_pca),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_kms_null_is_default),
        cmocka_unit_test(test_load_file_and_env),
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_pin_source_relative),
        cmocka_unit_test(test_duplicate_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
