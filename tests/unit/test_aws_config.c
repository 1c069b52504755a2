/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Shared config/credentials files, the credential chain decision (env, web
 * identity, profiles, role chains, loops, credential_process, explicit key
 * files), endpoints, partitions and region precedence. Temporary files only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"
#include "config/h2a_config.h"

extern char **environ;

static char s_dir[256];

static void s_clear_aws_env(void)
{
    for (;;) {
        bool again = false;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "AWS_", 4) == 0) {
                char name[128];
                const char *eq = strchr(*e, '=');
                size_t n = eq != NULL ? (size_t)(eq - *e) : strlen(*e);
                snprintf(name, sizeof(name), "%.*s", (int)n, *e);
                unsetenv(name);
                again = true;
                break;
            }
        }
        if (!again) {
            break;
        }
    }
}

static void s_write(const char *name, const char *text, mode_t mode)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static const char *s_path(const char *name)
{
    static char path[4][512];
    static int i;

    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/%s", s_dir, name);
    return path[i];
}

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-aws-cfg-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    s_clear_aws_env();
    s_write("config", "", 0600);
    s_write("credentials", "", 0600);
    setenv("AWS_CONFIG_FILE", s_path("config"), 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", s_path("credentials"), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[600];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    assert_int_equal(system(cmd), 0);
    s_clear_aws_env();
    return 0;
}

static void s_load(struct h2a_aws_profiles *pf)
{
    H2A_ASSERT_OK(h2a_aws_profiles_load(pf));
}

static void test_ini_parse(void **state)
{
    struct h2a_ini *ini = NULL;
    static const char text[] = "# comment\n"
                               "[default]\n"
                               "region = eu-west-1\n"
                               "  ; indented comment\n"
                               "[profile dev]\n"
                               "s3 =\n"
                               "  addressing_style = path\n"
                               "region=us-east-1  \n"
                               "region = us-east-2\n"
                               "[ services  local ]\n"
                               "acm =\n"
                               "    endpoint_url = https://127.0.0.1:1\n";

    (void)state;
    H2A_ASSERT_OK(h2a_ini_parse(text, strlen(text), "test", &ini));
    assert_true(h2a_ini_has_section(ini, "default"));
    assert_true(h2a_ini_has_section(ini, "profile dev"));
    assert_true(h2a_ini_has_section(ini, "services  local"));
    assert_string_equal(h2a_ini_get(ini, "default", "region"), "eu-west-1");
    /* The last assignment wins. */
    assert_string_equal(h2a_ini_get(ini, "profile dev", "region"), "us-east-2");
    assert_string_equal(h2a_ini_get(ini, "profile dev", "s3.addressing_style"), "path");
    assert_string_equal(h2a_ini_get(ini, "services  local", "acm.endpoint_url"),
                        "https://127.0.0.1:1");
    assert_null(h2a_ini_get(ini, "default", "nope"));
    h2a_ini_free(ini);

    H2A_ASSERT_ERR(h2a_ini_parse("key = v\n", 8, "f.ini", &ini), H2A_ERR_INPUT, "f.ini:1");
    H2A_ASSERT_ERR(h2a_ini_parse("[a]\nnot a pair\n", 15, "f.ini", &ini), H2A_ERR_INPUT,
                   "f.ini:2");
    H2A_ASSERT_ERR(h2a_ini_parse("[a\n", 3, "f.ini", &ini), H2A_ERR_INPUT, "']'");
    assert_null(ini);
}

static void test_profile_sections(void **state)
{
    struct h2a_aws_profiles pf;

    (void)state;
    s_write("config", "[default]\nregion = eu-central-1\n[profile dev]\nregion = us-west-2\n"
                      "[other]\nregion = bad\n", 0600);
    s_write("credentials", "[dev]\naws_access_key_id = AKIDEV\naws_secret_access_key = S\n"
                           "[prod]\naws_access_key_id = AKIPROD\n", 0600);
    s_load(&pf);
    assert_true(h2a_aws_profile_exists(&pf, "dev"));
    assert_true(h2a_aws_profile_exists(&pf, "prod"));
    assert_true(h2a_aws_profile_exists(&pf, "default"));
    /* In the config file a non-default profile needs the "profile " prefix. */
    assert_false(h2a_aws_profile_exists(&pf, "other"));
    assert_string_equal(h2a_aws_profile_get(&pf, "dev", "region"), "us-west-2");
    assert_string_equal(h2a_aws_profile_get(&pf, "dev", "aws_access_key_id"), "AKIDEV");
    assert_string_equal(h2a_aws_profile_get(&pf, "default", "region"), "eu-central-1");
    h2a_aws_profiles_cleanup(&pf);
}

static void test_env_first(void **state)
{
    struct h2a_aws_profiles pf;
    struct h2a_cred_provider *p = NULL;

    (void)state;
    s_write("credentials", "[default]\naws_access_key_id = AKIFILE\naws_secret_access_key = F\n",
            0600);
    setenv("AWS_ACCESS_KEY_ID", "AKIENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    s_load(&pf);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, NULL, &p));
    assert_int_equal(p->kind, H2A_CRED_STATIC);
    assert_string_equal(p->describe, "environment");
    assert_string_equal(p->fixed->access_key_id, "AKIENV");
    assert_string_equal(p->fixed->session_token, "envtoken");
    h2a_cred_provider_free(p);
    /* An explicit profile skips the environment (as the SDKs do). */
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, "default", &p));
    assert_string_equal(p->fixed->access_key_id, "AKIFILE");
    h2a_cred_provider_free(p);
    /* Half-set environment is an error, not a silent fall-through. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, NULL, &p), H2A_ERR_INPUT, "AWS_SECRET_ACCESS_KEY");
    assert_null(p);
    h2a_aws_profiles_cleanup(&pf);
}

static void test_web_identity_env(void **state)
{
    struct h2a_aws_profiles pf;
    struct h2a_cred_provider *p = NULL;

    (void)state;
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", s_path("token"), 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::222222222222:role/wi", 1);
    setenv("AWS_ROLE_SESSION_NAME", "sess", 1);
    s_load(&pf);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, NULL, &p));
    assert_int_equal(p->kind, H2A_CRED_WEB_IDENTITY);
    assert_string_equal(p->role_arn, "arn:aws:iam::222222222222:role/wi");
    assert_string_equal(p->session_name, "sess");
    h2a_cred_provider_free(p);
    unsetenv("AWS_ROLE_ARN");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, NULL, &p), H2A_ERR_INPUT, "AWS_ROLE_ARN");
    h2a_aws_profiles_cleanup(&pf);
}

static void test_role_chain(void **state)
{
    struct h2a_aws_profiles pf;
    struct h2a_cred_provider *p = NULL;

    (void)state;
    s_write("config", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
                      "external_id = ext-1\nduration_seconds = 900\nrole_session_name = s-a\n"
                      "[profile b]\nrole_arn = arn:aws:iam::2:role/b\nsource_profile = c\n"
                      "[profile c]\ncredential_process = /bin/true\n"
                      "[profile ec2]\nrole_arn = arn:aws:iam::3:role/x\n"
                      "credential_source = Ec2InstanceMetadata\n"
                      "[profile self]\nrole_arn = arn:aws:iam::3:role/s\nsource_profile = self\n"
                      "aws_access_key_id = AKISELF\naws_secret_access_key = S\n",
            0600);
    s_load(&pf);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, "a", &p));
    assert_int_equal(p->kind, H2A_CRED_ASSUME_ROLE);
    assert_string_equal(p->role_arn, "arn:aws:iam::1:role/a");
    assert_string_equal(p->external_id, "ext-1");
    assert_string_equal(p->session_name, "s-a");
    assert_int_equal(p->duration_seconds, 900);
    assert_int_equal(p->source->kind, H2A_CRED_ASSUME_ROLE);
    assert_string_equal(p->source->role_arn, "arn:aws:iam::2:role/b");
    assert_int_equal(p->source->source->kind, H2A_CRED_PROCESS);
    assert_string_equal(p->source->source->process, "/bin/true");
    h2a_cred_provider_free(p);

    H2A_ASSERT_OK(h2a_cred_resolve(&pf, "ec2", &p));
    assert_int_equal(p->source->kind, H2A_CRED_IMDS);
    h2a_cred_provider_free(p);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, "self", &p));
    assert_int_equal(p->source->kind, H2A_CRED_STATIC);
    assert_string_equal(p->source->fixed->access_key_id, "AKISELF");
    h2a_cred_provider_free(p);
    /* AWS_PROFILE selects it too. */
    setenv("AWS_PROFILE", "ec2", 1);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, NULL, &p));
    assert_string_equal(p->role_arn, "arn:aws:iam::3:role/x");
    h2a_cred_provider_free(p);
    h2a_aws_profiles_cleanup(&pf);
}

static void test_role_chain_errors(void **state)
{
    struct h2a_aws_profiles pf;
    struct h2a_cred_provider *p = NULL;

    (void)state;
    s_write("config", "[profile x]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = y\n"
                      "[profile y]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = z\n"
                      "[profile z]\nrole_arn = arn:aws:iam::1:role/z\nsource_profile = x\n"
                      "[profile dangling]\nrole_arn = arn:aws:iam::1:role/d\nsource_profile = nope\n"
                      "[profile both]\nrole_arn = r\nsource_profile = x\ncredential_source = "
                      "Environment\n"
                      "[profile neither]\nrole_arn = r\n"
                      "[profile badsrc]\nrole_arn = r\ncredential_source = Moon\n"
                      "[profile envsrc]\nrole_arn = r\ncredential_source = Environment\n"
                      "[profile baddur]\nrole_arn = r\nsource_profile = k\nduration_seconds = 5\n"
                      "[profile k]\naws_access_key_id = A\naws_secret_access_key = B\n"
                      "[profile half]\naws_access_key_id = A\n"
                      "[profile empty]\nregion = eu-west-1\n"
                      "[profile mfa]\nrole_arn = r\nsource_profile = k\nmfa_serial = arn:m\n"
                      "[profile sso]\nsso_session = corp\nsso_account_id = 1\n",
            0600);
    s_load(&pf);
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "x", &p), H2A_ERR_INPUT, "loop: x -> y -> z -> x");
    assert_null(p);
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "dangling", &p), H2A_ERR_INPUT,
                   "source_profile 'nope' not found");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "both", &p), H2A_ERR_INPUT, "mutually exclusive");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "neither", &p), H2A_ERR_INPUT, "needs source_profile");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "badsrc", &p), H2A_ERR_INPUT, "credential_source 'Moon'");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "envsrc", &p), H2A_ERR_INPUT, "AWS_ACCESS_KEY_ID");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "baddur", &p), H2A_ERR_INPUT, "duration_seconds");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "half", &p), H2A_ERR_INPUT, "set together");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "empty", &p), H2A_ERR_INPUT, "no credentials");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "mfa", &p), H2A_ERR_INPUT, "mfa_serial is not supported");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "sso", &p), H2A_ERR_INPUT, "(SSO) profiles are not");
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, "missing", &p), H2A_ERR_INPUT,
                   "profile 'missing' not found");
    /* Nothing at all and IMDS disabled: a clear error. */
    H2A_ASSERT_ERR(h2a_cred_resolve(&pf, NULL, &p), H2A_ERR_INPUT, "no AWS credentials");
    /* IMDS is the last resort when not disabled. */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, NULL, &p));
    assert_int_equal(p->kind, H2A_CRED_IMDS);
    h2a_cred_provider_free(p);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/ecs", 1);
    H2A_ASSERT_OK(h2a_cred_resolve(&pf, NULL, &p));
    assert_int_equal(p->kind, H2A_CRED_ECS);
    h2a_cred_provider_free(p);
    h2a_aws_profiles_cleanup(&pf);
}

static void test_credential_process(void **state)
{
    struct h2a_aws_credentials *c = NULL;
    char cmd[700];

    (void)state;
    s_write("cp.sh", "#!/bin/sh\n"
                     "[ \"$1\" = \"--flag\" ] && [ \"$2\" = \"two words\" ] || exit 3\n"
                     "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
                     "\"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", "
                     "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
            0700);
    snprintf(cmd, sizeof(cmd), "%s --flag \"two words\"", s_path("cp.sh"));
    H2A_ASSERT_OK(h2a_cred_run_process("profile p (credential_process)", cmd, &c));
    assert_string_equal(c->access_key_id, "ASIAPROC");
    assert_string_equal(c->secret_access_key, "procsecret");
    assert_string_equal(c->session_token, "proctoken");
    h2a_aws_credentials_free(c);
    c = NULL;

    /* Exit status, bad JSON, missing program: clear errors. */
    snprintf(cmd, sizeof(cmd), "%s --flag wrong", s_path("cp.sh"));
    H2A_ASSERT_ERR(h2a_cred_run_process("cp", cmd, &c), H2A_ERR_AWS, "exit status 3");
    s_write("bad.sh", "#!/bin/sh\necho '{\"Version\": 2}'\n", 0700);
    H2A_ASSERT_ERR(h2a_cred_run_process("cp", s_path("bad.sh"), &c), H2A_ERR_AWS, "Version");
    H2A_ASSERT_ERR(h2a_cred_run_process("cp", "/nonexistent/prog", &c), H2A_ERR_AWS,
                   "exit status 127");
    /* No shell: metacharacters are plain arguments. */
    s_write("args.sh", "#!/bin/sh\n[ \"$1\" = ';' ] && [ \"$2\" = '$(id)' ] || exit 4\n"
                       "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}'\n",
            0700);
    snprintf(cmd, sizeof(cmd), "%s ';' '$(id)'", s_path("args.sh"));
    H2A_ASSERT_OK(h2a_cred_run_process("cp", cmd, &c));
    h2a_aws_credentials_free(c);
}

static void test_split_argv(void **state)
{
    char **argv = NULL;
    size_t argc = 0;

    (void)state;
    H2A_ASSERT_OK(h2a_split_argv("  prog a\\ b 'c d' \"e \\\"f\\\"\" ''  ", &argv, &argc));
    assert_int_equal(argc, 5);
    assert_string_equal(argv[0], "prog");
    assert_string_equal(argv[1], "a b");
    assert_string_equal(argv[2], "c d");
    assert_string_equal(argv[3], "e \"f\"");
    assert_string_equal(argv[4], "");
    assert_null(argv[5]);
    h2a_argv_free(argv);
    H2A_ASSERT_ERR(h2a_split_argv("prog 'open", &argv, &argc), H2A_ERR_INPUT, "unterminated");
    H2A_ASSERT_ERR(h2a_split_argv("   ", &argv, &argc), H2A_ERR_INPUT, "empty");
}

static void test_explicit_file(void **state)
{
    struct h2a_aws_credentials *c = NULL;

    (void)state;
    s_write("keys.json", "{\"AccessKeyId\":\"AKIJSON\",\"SecretAccessKey\":\"jsonsecret\"}\n",
            0600);
    H2A_ASSERT_OK(h2a_cred_from_file(s_path("keys.json"), NULL, &c));
    assert_string_equal(c->access_key_id, "AKIJSON");
    assert_null(c->session_token);
    h2a_aws_credentials_free(c);
    s_write("keys.ini", "[default]\naws_access_key_id = AKIINI\naws_secret_access_key = is\n"
                        "[ops]\naws_access_key_id = AKIOPS\naws_secret_access_key = os\n"
                        "aws_session_token = ot\n",
            0600);
    H2A_ASSERT_OK(h2a_cred_from_file(s_path("keys.ini"), "ops", &c));
    assert_string_equal(c->access_key_id, "AKIOPS");
    assert_string_equal(c->session_token, "ot");
    h2a_aws_credentials_free(c);
    H2A_ASSERT_ERR(h2a_cred_from_file(s_path("keys.ini"), "nope", &c), H2A_ERR_INPUT, "[nope]");
    H2A_ASSERT_ERR(h2a_cred_from_file(s_path("missing"), NULL, &c), H2A_ERR_INPUT,
                   "aws.credentials_file");
    s_write("bad.json", "{\"AccessKeyId\":\"A\"}", 0600);
    H2A_ASSERT_ERR(h2a_cred_from_file(s_path("bad.json"), NULL, &c), H2A_ERR_INPUT,
                   "SecretAccessKey");
}

static void test_endpoints(void **state)
{
    struct h2a_endpoint ep;

    (void)state;
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, "eu-west-1", NULL, &ep));
    assert_string_equal(ep.url, "https://acm.eu-west-1.amazonaws.com/");
    assert_string_equal(ep.host_header, "acm.eu-west-1.amazonaws.com");
    assert_string_equal(ep.signing_region, "eu-west-1");
    assert_false(ep.explicit_endpoint);
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_SECRETS_MANAGER, "cn-north-1", NULL, &ep));
    assert_string_equal(ep.url, "https://secretsmanager.cn-north-1.amazonaws.com.cn/");
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_STS, "us-gov-west-1", NULL, &ep));
    assert_string_equal(ep.url, "https://sts.us-gov-west-1.amazonaws.com/");
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM_PCA, "ap-south-1", NULL, &ep));
    assert_string_equal(ep.host_header, "acm-pca.ap-south-1.amazonaws.com");
    /* Organizations: one endpoint and signing region per partition. */
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ORGANIZATIONS, "eu-west-1", NULL, &ep));
    assert_string_equal(ep.url, "https://organizations.us-east-1.amazonaws.com/");
    assert_string_equal(ep.signing_region, "us-east-1");
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ORGANIZATIONS, "cn-north-1", NULL, &ep));
    assert_string_equal(ep.url, "https://organizations.cn-northwest-1.amazonaws.com.cn/");
    assert_string_equal(ep.signing_region, "cn-northwest-1");
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ORGANIZATIONS, "us-gov-east-1", NULL, &ep));
    assert_string_equal(ep.signing_region, "us-gov-west-1");
    /* Explicit endpoints keep the port in the signed host. */
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, "eu-west-1",
                                           "https://127.0.0.1:8443", &ep));
    assert_string_equal(ep.url, "https://127.0.0.1:8443/");
    assert_string_equal(ep.host_header, "127.0.0.1:8443");
    assert_string_equal(ep.signing_region, "eu-west-1");
    assert_true(ep.explicit_endpoint);
    H2A_ASSERT_OK(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ORGANIZATIONS, "eu-west-1",
                                           "http://localhost:9/", &ep));
    assert_string_equal(ep.signing_region, "us-east-1");
    assert_string_equal(ep.scheme, "http");
    H2A_ASSERT_ERR(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, "eu-west-1", "ftp://x/", &ep),
                   H2A_ERR_INPUT, "scheme");
    H2A_ASSERT_ERR(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, "eu-west-1", "not a url", &ep),
                   H2A_ERR_INPUT, "endpoint URL");
    /* Region names end up in host names: strictly checked. */
    H2A_ASSERT_ERR(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, "evil.com/x", NULL, &ep),
                   H2A_ERR_USAGE, "region");
    H2A_ASSERT_ERR(h2a_aws_endpoint_resolve(H2A_AWS_SVC_ACM, NULL, NULL, &ep), H2A_ERR_USAGE,
                   "region");
    assert_string_equal(h2a_aws_partition("cn-northwest-1"), "aws-cn");
    assert_string_equal(h2a_aws_partition("us-gov-east-1"), "aws-us-gov");
    assert_string_equal(h2a_aws_partition("us-east-1"), "aws");
}

static void s_ctx_region(const struct h2a_aws_config *cfg, const char *want)
{
    H2A_AWS_CTX *ctx = NULL;

    H2A_ASSERT_OK(h2a_aws_ctx_new(cfg, &ctx));
    if (want == NULL) {
        assert_null(h2a_aws_ctx_region(ctx));
    } else {
        assert_string_equal(h2a_aws_ctx_region(ctx), want);
    }
    h2a_aws_ctx_free(ctx);
}

static void test_region_precedence(void **state)
{
    struct h2a_aws_config cfg;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    setenv("AWS_ACCESS_KEY_ID", "AKI", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
    s_write("config", "[default]\nregion = ap-south-1\n[profile p]\nregion = sa-east-1\n"
                      "aws_access_key_id = A\naws_secret_access_key = B\n", 0600);
    cfg.region = "ca-central-1";
    s_ctx_region(&cfg, "ap-south-1");
    cfg.profile = "p";
    s_ctx_region(&cfg, "sa-east-1");
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    s_ctx_region(&cfg, "us-west-1");
    setenv("AWS_REGION", "us-west-2", 1);
    s_ctx_region(&cfg, "us-west-2");
    cfg.region_override = "eu-north-1";
    s_ctx_region(&cfg, "eu-north-1");
    cfg.region_override = NULL;
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    s_write("config", "", 0600);
    cfg.profile = NULL;
    s_ctx_region(&cfg, "ca-central-1");
    cfg.region = NULL;
    s_ctx_region(&cfg, NULL);
}

static void test_ctx_config_errors(void **state)
{
    struct h2a_aws_config cfg;
    H2A_AWS_CTX *ctx = NULL;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    setenv("AWS_ACCESS_KEY_ID", "AKI", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
    cfg.profile = "ghost";
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "profile 'ghost' not found");
    assert_null(ctx);
    cfg.profile = NULL;
    cfg.region_override = "Not_A_Region";
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "region 'Not_A_Region'");
    cfg.region_override = NULL;
    cfg.ca_bundle = "/nonexistent/ca.pem";
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "CA bundle");
    cfg.ca_bundle = NULL;
    setenv("AWS_ENDPOINT_URL_ACM", "gopher://x", 1);
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "AWS_ENDPOINT_URL_ACM");
    /* ...unless configured endpoints are ignored. */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    H2A_ASSERT_OK(h2a_aws_ctx_new(&cfg, &ctx));
    h2a_aws_ctx_free(ctx);
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    unsetenv("AWS_ENDPOINT_URL_ACM");
    setenv("AWS_MAX_ATTEMPTS", "0", 1);
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "AWS_MAX_ATTEMPTS");
    unsetenv("AWS_MAX_ATTEMPTS");
    cfg.max_attempts = 99;
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "max_attempts");
    cfg.max_attempts = 0;
    cfg.credentials_file = s_path("nokeys");
    H2A_ASSERT_ERR(h2a_aws_ctx_new(&cfg, &ctx), H2A_ERR_USAGE, "credentials_file");
}

/*
 * The one parser of the "aws" configuration (the config loader): endpoints
 * keyed by any service of the table, by signing name or SDK key; unknown
 * services, duplicates (the same service twice) and bad URLs refused.
 */
static void test_config_endpoints(void **state)
{
    static const char good[] =
        "{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"region\":\"eu-west-1\","
        "\"endpoints\":{\"secrets_manager\":"
        "\"https://sm\",\"route53\":\"https://r53:1\",\"sqs\":\"https://q\","
        "\"acm-pca\":\"https://pca\",\"organizations\":\"https://org\"}}}";
    struct h2a_aws_config cfg;
    h2a_config *c = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_config_parse(good, strlen(good), "/", &c));
    h2a_config_aws(&c->aws, &cfg);
    assert_string_equal(cfg.region, "eu-west-1");
    assert_string_equal(cfg.endpoint_url[H2A_AWS_SVC_SECRETS_MANAGER], "https://sm");
    assert_string_equal(cfg.endpoint_url[H2A_AWS_SVC_ROUTE53], "https://r53:1");
    assert_string_equal(cfg.endpoint_url[H2A_AWS_SVC_SQS], "https://q");
    assert_string_equal(cfg.endpoint_url[H2A_AWS_SVC_ACM_PCA], "https://pca");
    assert_string_equal(cfg.endpoint_url[H2A_AWS_SVC_ORGANIZATIONS], "https://org");
    assert_null(cfg.endpoint_url[H2A_AWS_SVC_ACM]);
    h2a_config_free(c);
    c = NULL;
    static const char *const bad[][2] = {
        {"{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"endpoints\":{\"s3\":\"https://x\"}}}", "aws.endpoints.s3"},
        {"{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"endpoints\":{\"sqs\":\"ftp://x.example\"}}}", "aws.endpoints.sqs"},
        {"{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"endpoints\":{\"sqs\":7}}}", "aws.endpoints"},
        {"{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"endpoints\":{\"acm-pca\":\"https://a.example\",\"acm_pca\":"
         "\"https://b.example\"}}}", "aws.endpoints.acm_pca"},
        {"{\"token\":\"pkcs11:token=t?pin-source=file:/p\",\"aws\":{\"region\":7}}", "aws.region"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        H2A_ASSERT_ERR(h2a_config_parse(bad[i][0], strlen(bad[i][0]), "/", &c), H2A_ERR_INPUT,
                       bad[i][1]);
        assert_null(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ini_parse, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_profile_sections, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_env_first, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_web_identity_env, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_role_chain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_role_chain_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_credential_process, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_split_argv, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_explicit_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_endpoints, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_region_precedence, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ctx_config_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_endpoints, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
