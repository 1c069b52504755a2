/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Every typed operation of the AWS layer against the local AWS endpoint
 * (tests/localaws, started here on loopback with its own test CA): ACM
 * import/reimport/describe/get/list/tags/delete, Secrets Manager
 * create (idempotent token)/get/describe/list/delete, STS identity,
 * AssumeRole (ctx and raw), web identity, Organizations, ACM PCA. The
 * endpoint checks every signature and request against botocore's models;
 * its control interface shows what ACM stored (the key). One TLS handshake
 * per endpoint per ctx is asserted over real HTTPS.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

extern char **environ;

static char s_dir[256];
static pid_t s_pid = -1;
static char s_url[128];
static char s_ca[512];

static void s_clear_aws_env(void)
{
    for (bool again = true; again;) {
        again = false;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "AWS_", 4) == 0) {
                char name[128];
                snprintf(name, sizeof(name), "%.*s", (int)(strchr(*e, '=') - *e), *e);
                unsetenv(name);
                again = true;
                break;
            }
        }
    }
}

static char *s_slurp(const char *path)
{
    h2a_buf b;
    char *s;

    h2a_buf_init(&b, 1u << 24);
    if (h2a_file_read(path, &b) != H2A_OK || h2a_buf_terminate(&b) != H2A_OK) {
        h2a_buf_free(&b);
        return NULL;
    }
    s = strdup((const char *)b.data);
    h2a_buf_free(&b);
    return s;
}

static const char *s_p(const char *leaf)
{
    static char p[8][600];
    static int i;

    i = (i + 1) % 8;
    snprintf(p[i], sizeof(p[i]), "%s/%s", s_dir, leaf);
    return p[i];
}

static int s_setup(void **state)
{
    char ready[600];
    char cmd[2048];
    const char *src = getenv("H2A_SRC_DIR");
    json_object *r = NULL;

    (void)state;
    if (src == NULL) {
        fprintf(stderr, "H2A_SRC_DIR is not set (run under ctest)\n");
        return -1;
    }
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-aws-ops-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    snprintf(ready, sizeof(ready), "%s/ready.json", s_dir);
    s_pid = fork();
    if (s_pid == 0) {
        char server[1024];
        char log[600];
        snprintf(server, sizeof(server), "%s/tests/localaws/server.py", src);
        snprintf(log, sizeof(log), "%s/server.log", s_dir);
        freopen(log, "a", stdout);
        freopen(log, "a", stderr);
        execl("/usr/bin/python3", "python3", server, "--state-dir", s_dir, "--port", "0",
              "--http-port", "0", "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400 && r == NULL; i++) {
        char *t;
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
        t = s_slurp(ready);
        if (t != NULL) {
            r = json_tokener_parse(t);
            free(t);
        }
    }
    if (r == NULL) {
        fprintf(stderr, "localaws did not start; see %s/server.log\n", s_dir);
        return -1;
    }
    {
        json_object *v;
        json_object_object_get_ex(r, "https_port", &v);
        snprintf(s_url, sizeof(s_url), "https://127.0.0.1:%d", json_object_get_int(v));
        json_object_object_get_ex(r, "ca_bundle", &v);
        snprintf(s_ca, sizeof(s_ca), "%s", json_object_get_string(v));
    }
    json_object_put(r);
    /* Full debug logging to a file, grepped for secrets at the end. */
    setenv("HSM2ACM_LOG", "debug", 1);
    setenv("HSM2ACM_LOG_FILE", s_p("debug.log"), 1);
    h2a_log_init_from_env();
    s_clear_aws_env();
    setenv("AWS_ENDPOINT_URL", s_url, 1);
    setenv("AWS_CA_BUNDLE", s_ca, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAH2ALOCAL11111111", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "h2aLocalSecret11111111111111111111111111", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_CONFIG_FILE", s_p("none"), 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", s_p("none"), 1);
    /* Test material made with the openssl CLI (not what is under test). */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && for n in a b; do openssl req -x509 -new -newkey ec "
             "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.pem -days 30 "
             "-subj /CN=ops-$n.example.com -addext subjectAltName=DNS:ops-$n.example.com "
             "2>/dev/null || exit 1; done && openssl req -new -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout csr.key -out csr.pem "
             "-subj /CN=pca.example.com 2>/dev/null",
             s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    char cmd[400];
    int st;

    (void)state;
    if (s_pid > 0) {
        kill(s_pid, SIGTERM);
        waitpid(s_pid, &st, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    if (system(cmd) != 0) {
        return -1;
    }
    s_clear_aws_env();
    return 0;
}

static size_t s_sink(char *p, size_t s, size_t n, void *arg)
{
    if (h2a_buf_append(arg, p, s * n) != H2A_OK) {
        return 0;
    }
    return s * n;
}

/* GET/POST the endpoint's control interface; returns the parsed reply. */
static json_object *s_control(const char *method, const char *path, const char *body)
{
    CURL *h = curl_easy_init();
    char url[600];
    h2a_buf b;
    json_object *o;
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");

    h2a_buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s%s", s_url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, s_ca);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    o = json_tokener_parse((const char *)b.data);
    h2a_buf_free(&b);
    assert_non_null(o);
    return o;
}

static const char *s_js(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void s_strip_ws(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0'; r++) {
        if (*r != '\n' && *r != '\r' && *r != ' ') {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static H2A_AWS_CTX *s_ctx(void)
{
    H2A_AWS_CTX *ctx = NULL;
    H2A_ASSERT_OK(h2a_aws_ctx_new(NULL, &ctx));
    return ctx;
}

/* Import, describe, get, tags, reimport, list, delete. */
static void test_acm_lifecycle(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    char *cert_a = s_slurp(s_p("a.pem"));
    char *cert_b = s_slurp(s_p("b.pem"));
    char *key_a_txt = s_slurp(s_p("a.key"));
    char *key_b_txt = s_slurp(s_p("b.key"));
    h2a_buf key;
    struct h2a_aws_tag tags[2] = {{"env", "test"}, {"hsm2acm:request", "r-1"}};
    struct h2a_acm_import in;
    char *arn = NULL;
    char *arn2 = NULL;
    json_object *d = NULL;
    json_object *l = NULL;
    json_object *ctl;
    char *got_cert = NULL;
    char *got_chain = NULL;
    struct h2a_aws_stats st;

    (void)state;
    assert_non_null(cert_a);
    assert_non_null(key_a_txt);
    h2a_buf_init_secure(&key, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&key, key_a_txt));
    memset(&in, 0, sizeof(in));
    in.certificate_pem = cert_a;
    in.private_key_pem = &key;
    in.tags = tags;
    in.n_tags = 2;
    H2A_ASSERT_OK(h2a_acm_import_certificate(ctx, NULL, &in, &arn));
    assert_non_null(strstr(arn, "arn:aws:acm:eu-west-1:111111111111:certificate/"));

    /* What ACM stored is our key, byte for byte. */
    ctl = s_control("GET", "/_control/acm?account=111111111111&region=eu-west-1", NULL);
    {
        json_object *certs;
        json_object_object_get_ex(ctl, "certificates", &certs);
        assert_int_equal(json_object_array_length(certs), 1);
        assert_string_equal(s_js(json_object_array_get_idx(certs, 0), "private_key_pem"),
                            key_a_txt);
    }
    json_object_put(ctl);

    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, arn, &d));
    assert_string_equal(s_js(d, "KeyAlgorithm"), "EC_prime256v1");
    assert_string_equal(s_js(d, "DomainName"), "ops-a.example.com");
    assert_string_equal(s_js(d, "Type"), "IMPORTED");
    json_object_put(d);
    d = NULL;

    H2A_ASSERT_OK(h2a_acm_get_certificate(ctx, NULL, arn, &got_cert, &got_chain));
    s_strip_ws(got_cert);
    {
        char *want = strdup(cert_a);
        s_strip_ws(want);
        assert_string_equal(got_cert, want);
        free(want);
    }

    H2A_ASSERT_OK(h2a_acm_list_tags(ctx, NULL, arn, &l));
    assert_int_equal(json_object_array_length(l), 2);
    json_object_put(l);
    l = NULL;
    {
        struct h2a_aws_tag more = {"owner", "team-web"};
        H2A_ASSERT_OK(h2a_acm_add_tags(ctx, NULL, arn, &more, 1));
    }
    H2A_ASSERT_OK(h2a_acm_list_tags(ctx, NULL, arn, &l));
    assert_int_equal(json_object_array_length(l), 3);
    json_object_put(l);
    l = NULL;

    /* Reimport into the same ARN with a new certificate and key. */
    h2a_buf_reset(&key);
    H2A_ASSERT_OK(h2a_buf_append_str(&key, key_b_txt));
    in.certificate_pem = cert_b;
    in.certificate_arn = arn;
    in.tags = NULL;
    in.n_tags = 0;
    H2A_ASSERT_OK(h2a_acm_import_certificate(ctx, NULL, &in, &arn2));
    assert_string_equal(arn, arn2);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, arn, &d));
    assert_string_equal(s_js(d, "DomainName"), "ops-b.example.com");
    json_object_put(d);
    d = NULL;
    ctl = s_control("GET", "/_control/acm?account=111111111111&region=eu-west-1", NULL);
    {
        json_object *certs;
        json_object_object_get_ex(ctl, "certificates", &certs);
        assert_string_equal(s_js(json_object_array_get_idx(certs, 0), "private_key_pem"),
                            key_b_txt);
    }
    json_object_put(ctl);

    /* AWS's own refusal comes back with its code. */
    free(arn2);
    arn2 = NULL;
    in.certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/"
                         "00000000-0000-0000-0000-000000000000";
    H2A_ASSERT_ERR(h2a_acm_import_certificate(ctx, NULL, &in, &arn2),
                   H2A_ERR_AWS, "ImportCertificate: HTTP 400 ResourceNotFoundException");
    assert_null(arn2);

    H2A_ASSERT_OK(h2a_acm_list_certificates(ctx, NULL, NULL, &l));
    assert_int_equal(json_object_array_length(l), 1);
    assert_string_equal(s_js(json_object_array_get_idx(l, 0), "CertificateArn"), arn);
    json_object_put(l);
    l = NULL;
    {
        const char *const st_list[] = {"EXPIRED", NULL};
        H2A_ASSERT_OK(h2a_acm_list_certificates(ctx, NULL, st_list, &l));
        assert_int_equal(json_object_array_length(l), 0);
        json_object_put(l);
        l = NULL;
    }

    H2A_ASSERT_OK(h2a_acm_delete_certificate(ctx, NULL, arn));
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, arn, &d), H2A_ERR_AWS,
                   "ResourceNotFoundException");
    assert_true(h2a_aws_last_error_is(ctx, "ResourceNotFoundException"));
    assert_int_equal(h2a_aws_last_error(ctx)->http_status, 400);
    assert_true(h2a_aws_last_error(ctx)->request_id[0] != '\0');

    /* Keep-alive over real TLS: one handshake for all of the above. */
    h2a_aws_ctx_stats(ctx, &st);
    assert_true(st.calls >= 12);
    assert_int_equal(st.endpoints, 1);
    assert_int_equal(st.tls_connects, 1);

    h2a_buf_free(&key);
    free(arn);
    free(cert_a);
    free(cert_b);
    free(key_a_txt);
    free(key_b_txt);
    free(got_cert);
    free(got_chain);
    h2a_aws_ctx_free(ctx);
}

static void test_secrets_manager(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    h2a_buf val;
    h2a_buf got;
    struct h2a_aws_tag tags[2] = {{"hsm2acm:request", "job-7"}, {"hsm2acm:expires", "1900000000"}};
    struct h2a_sm_create in;
    json_object *out = NULL;
    json_object *out2 = NULL;
    json_object *meta = NULL;
    json_object *l = NULL;
    char arn[512];

    (void)state;
    h2a_buf_init_secure(&val, 0);
    h2a_buf_init_secure(&got, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&val, "{\"v\":1,\"wrapped\":\"AAECAw==\",\"note\":\"q\\\"\"}"));
    memset(&in, 0, sizeof(in));
    in.name = "hsm2acm/staging/job-7/eu-west-1";
    in.client_request_token = "job-7-eu-west-1-0000000000000000000";
    in.kms_key_id = "alias/hsm2acm";
    in.secret_string = &val;
    in.description = "hsm2acm staging";
    in.tags = tags;
    in.n_tags = 2;
    H2A_ASSERT_OK(h2a_sm_create_secret(ctx, NULL, &in, &out));
    snprintf(arn, sizeof(arn), "%s", s_js(out, "ARN"));
    /* Same token and value again: idempotent, same ARN. */
    H2A_ASSERT_OK(h2a_sm_create_secret(ctx, NULL, &in, &out2));
    assert_string_equal(s_js(out2, "ARN"), arn);
    json_object_put(out2);
    out2 = NULL;
    /* Same token, other value: AWS refuses. */
    h2a_buf_reset(&val);
    H2A_ASSERT_OK(h2a_buf_append_str(&val, "{\"v\":2}"));
    H2A_ASSERT_ERR(h2a_sm_create_secret(ctx, NULL, &in, &out2), H2A_ERR_AWS,
                   "ResourceExistsException");

    H2A_ASSERT_OK(h2a_sm_get_secret_value(ctx, NULL, arn, &got, &meta));
    H2A_ASSERT_OK(h2a_buf_terminate(&got));
    assert_string_equal((const char *)got.data, "{\"v\":1,\"wrapped\":\"AAECAw==\",\"note\":\"q\\\"\"}");
    assert_string_equal(s_js(meta, "ARN"), arn);
    json_object_put(meta);
    meta = NULL;

    H2A_ASSERT_OK(h2a_sm_describe_secret(ctx, NULL, in.name, &meta));
    assert_string_equal(s_js(meta, "KmsKeyId"), "alias/hsm2acm");
    json_object_put(meta);
    meta = NULL;

    {
        const char *const v1[] = {"hsm2acm:request", NULL};
        const char *const v2[] = {"job-7", NULL};
        struct h2a_sm_filter f[2] = {{"tag-key", v1}, {"tag-value", v2}};
        H2A_ASSERT_OK(h2a_sm_list_secrets(ctx, NULL, f, 2, &l));
        assert_int_equal(json_object_array_length(l), 1);
        assert_string_equal(s_js(json_object_array_get_idx(l, 0), "ARN"), arn);
        json_object_put(l);
        l = NULL;
    }
    /* Pagination: localaws pages by 3. */
    for (int i = 0; i < 5; i++) {
        char name[64];
        char tok[64];
        snprintf(name, sizeof(name), "hsm2acm/other/%d", i);
        snprintf(tok, sizeof(tok), "other-token-%d-000000000000000000000000", i);
        in.name = name;
        in.client_request_token = tok;
        in.n_tags = 0;
        H2A_ASSERT_OK(h2a_sm_create_secret(ctx, NULL, &in, NULL));
    }
    H2A_ASSERT_OK(h2a_sm_list_secrets(ctx, NULL, NULL, 0, &l));
    assert_int_equal(json_object_array_length(l), 6);
    json_object_put(l);
    l = NULL;

    H2A_ASSERT_OK(h2a_sm_delete_secret(ctx, NULL, arn, true));
    H2A_ASSERT_ERR(h2a_sm_describe_secret(ctx, NULL, arn, &meta), H2A_ERR_AWS,
                   "ResourceNotFoundException");
    /* Force-deleting a missing secret succeeds, as on AWS. */
    H2A_ASSERT_OK(h2a_sm_delete_secret(ctx, NULL, arn, true));
    H2A_ASSERT_ERR(h2a_sm_get_secret_value(ctx, NULL, arn, &got, NULL), H2A_ERR_AWS,
                   "secretsmanager GetSecretValue: HTTP 400 ResourceNotFoundException");

    json_object_put(out);
    h2a_buf_free(&val);
    h2a_buf_free(&got);
    h2a_aws_ctx_free(ctx);
}

static void test_sts_and_assume_role(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    H2A_AWS_CTX *sub = NULL;
    H2A_AWS_CTX *clone = NULL;
    struct h2a_aws_identity id;
    struct h2a_aws_credentials *c = NULL;
    struct h2a_aws_assume_role ar;
    json_object *o;

    (void)state;
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(ctx, NULL, &id));
    assert_string_equal(id.account, "111111111111");

    memset(&ar, 0, sizeof(ar));
    ar.role_arn = "arn:aws:iam::222222222222:role/hsm2acm-delivery";
    ar.session_name = "ops-test";
    ar.duration_seconds = 900;
    H2A_ASSERT_OK(h2a_sts_assume_role(ctx, &ar, &c));
    assert_non_null(c->session_token);
    assert_true(c->expiration > time(NULL) + 800 && c->expiration <= time(NULL) + 960);
    h2a_aws_credentials_free(c);
    c = NULL;

    /* A ctx in the other account: its calls land there. */
    H2A_ASSERT_OK(h2a_aws_ctx_assume_role(ctx, &ar, &sub));
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(sub, NULL, &id));
    assert_string_equal(id.account, "222222222222");
    assert_non_null(strstr(id.arn, ":assumed-role/hsm2acm-delivery/ops-test"));
    {
        /* Same worker, another account: still the one TLS connection. */
        struct h2a_aws_stats st;
        h2a_aws_ctx_stats(sub, &st);
        assert_int_equal(st.tls_connects, 1);
        assert_int_equal(st.endpoints, 1);
    }
    /* The base may go first; the derived ctx keeps what it needs. */
    H2A_ASSERT_OK(h2a_aws_ctx_clone(sub, &clone));
    h2a_aws_ctx_free(sub);
    sub = NULL;
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(clone, "us-east-1", &id));
    assert_string_equal(id.account, "222222222222");
    h2a_aws_ctx_free(clone);

    /* ExternalId required by the role. */
    o = s_control("POST", "/_control/roles",
                  "{\"account\":\"333333333333\",\"role_name\":\"ext\",\"external_id\":\"e-42\"}");
    json_object_put(o);
    ar.role_arn = "arn:aws:iam::333333333333:role/ext";
    H2A_ASSERT_ERR(h2a_aws_ctx_assume_role(ctx, &ar, &sub), H2A_ERR_AWS,
                   "sts AssumeRole: HTTP 403 AccessDenied");
    assert_null(sub);
    ar.external_id = "e-42";
    H2A_ASSERT_OK(h2a_aws_ctx_assume_role(ctx, &ar, &sub));
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(sub, NULL, &id));
    assert_string_equal(id.account, "333333333333");
    h2a_aws_ctx_free(sub);
    ar.duration_seconds = 10;
    H2A_ASSERT_ERR(h2a_aws_ctx_assume_role(ctx, &ar, &sub), H2A_ERR_INPUT, "duration_seconds");

    /* Web identity: unsigned AssumeRoleWithWebIdentity. */
    o = s_control("POST", "/_control/webtokens", "{}");
    H2A_ASSERT_OK(h2a_sts_assume_role_with_web_identity(
        ctx, NULL, "arn:aws:iam::222222222222:role/wi", "wi-sess", s_js(o, "token"), 0, &c));
    assert_non_null(c->session_token);
    h2a_aws_credentials_free(c);
    c = NULL;
    H2A_ASSERT_ERR(h2a_sts_assume_role_with_web_identity(ctx, NULL,
                                                         "arn:aws:iam::222222222222:role/wi",
                                                         "wi-sess", "bogus", 0, &c),
                   H2A_ERR_AWS, "InvalidIdentityToken");
    json_object_put(o);
    h2a_aws_ctx_free(ctx);
}

static void test_organizations(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *l = NULL;

    (void)state;
    /* Signed for us-east-1 whatever the ctx region (eu-west-1). */
    H2A_ASSERT_OK(h2a_org_list_accounts(ctx, &l));
    assert_int_equal(json_object_array_length(l), 3);
    json_object_put(l);
    l = NULL;
    setenv("AWS_ACCESS_KEY_ID", "AKIAH2ALOCAL22222222", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "h2aLocalSecret22222222222222222222222222", 1);
    h2a_aws_ctx_free(ctx);
    ctx = s_ctx();
    H2A_ASSERT_ERR(h2a_org_list_accounts(ctx, &l), H2A_ERR_AWS,
                   "organizations ListAccounts: HTTP 400 AccessDeniedException");
    setenv("AWS_ACCESS_KEY_ID", "AKIAH2ALOCAL11111111", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "h2aLocalSecret11111111111111111111111111", 1);
    h2a_aws_ctx_free(ctx);
}

static void test_pca(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    char *csr = s_slurp(s_p("csr.pem"));
    struct h2a_pca_issue in;
    char *cert_arn = NULL;
    char *cert = NULL;
    char *chain = NULL;
    const char *ca = "arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/"
                     "11111111-2222-3333-4444-555555555555";

    (void)state;
    memset(&in, 0, sizeof(in));
    in.ca_arn = ca;
    in.csr_pem = csr;
    in.signing_algorithm = "SHA256WITHECDSA";
    in.validity_type = "DAYS";
    in.validity_value = 30;
    in.idempotency_token = "ops-test-1";
    H2A_ASSERT_OK(h2a_pca_issue_certificate(ctx, NULL, &in, &cert_arn));
    assert_non_null(strstr(cert_arn, "/certificate/"));
    /* Not issued yet on the first call: the caller polls. */
    H2A_ASSERT_ERR(h2a_pca_get_certificate(ctx, NULL, ca, cert_arn, &cert, &chain), H2A_ERR_AWS,
                   "RequestInProgressException");
    assert_true(h2a_aws_last_error_is(ctx, "RequestInProgressException"));
    H2A_ASSERT_OK(h2a_pca_get_certificate(ctx, NULL, ca, cert_arn, &cert, &chain));
    assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(chain);
    in.signing_algorithm = "SHA256WITHRSA";
    in.idempotency_token = NULL;
    free(cert_arn);
    cert_arn = NULL;
    H2A_ASSERT_ERR(h2a_pca_issue_certificate(ctx, NULL, &in, &cert_arn), H2A_ERR_AWS,
                   "acm-pca IssueCertificate: HTTP 400");
    in.validity_value = 0;
    H2A_ASSERT_ERR(h2a_pca_issue_certificate(ctx, NULL, &in, &cert_arn), H2A_ERR_INPUT,
                   "validity");
    free(csr);
    free(cert);
    free(chain);
    h2a_aws_ctx_free(ctx);
}

/* Route 53 through the endpoint: restXml on a global host, checked against the model. */
static void test_route53(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *z = s_control("POST", "/_control/route53", "{\"name\":\"example.com\"}");
    json_object *out = NULL;
    const char *vals[] = {"\"token-1\"", NULL};
    struct h2a_r53_change ch = {"UPSERT", "_acme-challenge.example.com", "TXT", 60, vals};
    char *id = NULL, *status = NULL;

    (void)state;
    H2A_ASSERT_OK(h2a_r53_list_hosted_zones_by_name(ctx, "example.com", 10, &out));
    assert_int_equal(json_object_array_length(out), 1);
    assert_string_equal(s_js(json_object_array_get_idx(out, 0), "Id"), s_js(z, "id"));
    json_object_put(out);
    H2A_ASSERT_OK(h2a_r53_change_resource_record_sets(ctx, s_js(z, "id"), "dns-01", &ch, 1, &id,
                                                      &status));
    assert_string_equal(status, "PENDING");
    free(status);
    H2A_ASSERT_OK(h2a_r53_get_change(ctx, id, &status));
    free(status);
    H2A_ASSERT_OK(h2a_r53_get_change(ctx, id, &status));
    assert_string_equal(status, "INSYNC");
    free(status);
    H2A_ASSERT_OK(h2a_r53_list_resource_record_sets(ctx, s_js(z, "id"), &out));
    assert_int_equal(json_object_array_length(out), 1);
    assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(out, 0),
                                                       JSON_C_TO_STRING_PLAIN),
                        "{\"Values\":[\"\\\"token-1\\\"\"],\"Name\":"
                        "\"_acme-challenge.example.com.\",\"Type\":\"TXT\",\"TTL\":60}");
    json_object_put(out);
    ch.type = "NOPE";
    free(id);
    H2A_ASSERT_ERR(h2a_r53_change_resource_record_sets(ctx, s_js(z, "id"), NULL, &ch, 1, &id,
                                                       &status),
                   H2A_ERR_AWS, "route53 ChangeResourceRecordSets: HTTP 400 InvalidInput");
    H2A_ASSERT_ERR(h2a_r53_get_change(ctx, "/change/CNOSUCH", &status), H2A_ERR_AWS,
                   "HTTP 404 NoSuchChange");
    free(id);
    json_object_put(z);
    h2a_aws_ctx_free(ctx);
}

/* SQS in AWS JSON 1.0 through the endpoint (validated against the shipped model). */
static void test_sqs(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *q = s_control("POST", "/_control/sqs", "{\"name\":\"requests\"}");
    struct h2a_sqs_receive rcv = {10, 0, 60};
    json_object *msgs = NULL;
    char *url = NULL, *mid = NULL;
    const char *rh;

    (void)state;
    H2A_ASSERT_OK(h2a_sqs_get_queue_url(ctx, NULL, "requests", NULL, &url));
    assert_string_equal(url, s_js(q, "url"));
    H2A_ASSERT_OK(h2a_sqs_send_message(ctx, NULL, url, "{\"id\":\"r-1\"}", 0, &mid));
    H2A_ASSERT_OK(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs));
    assert_int_equal(json_object_array_length(msgs), 1);
    assert_string_equal(s_js(json_object_array_get_idx(msgs, 0), "MessageId"), mid);
    assert_string_equal(s_js(json_object_array_get_idx(msgs, 0), "Body"), "{\"id\":\"r-1\"}");
    rh = s_js(json_object_array_get_idx(msgs, 0), "ReceiptHandle");
    H2A_ASSERT_OK(h2a_sqs_change_message_visibility(ctx, NULL, url, rh, 0));
    H2A_ASSERT_OK(h2a_sqs_delete_message(ctx, NULL, url, rh));
    H2A_ASSERT_ERR(h2a_sqs_delete_message(ctx, NULL, url, rh), H2A_ERR_AWS,
                   "sqs DeleteMessage: HTTP 400 ReceiptHandleIsInvalid");
    json_object_put(msgs);
    msgs = NULL;
    H2A_ASSERT_OK(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs));
    assert_int_equal(json_object_array_length(msgs), 0);
    free(mid);
    H2A_ASSERT_ERR(h2a_sqs_get_queue_url(ctx, NULL, "nope", NULL, &mid), H2A_ERR_AWS,
                   "QueueDoesNotExist");
    json_object_put(msgs);
    json_object_put(q);
    free(url);
    h2a_aws_ctx_free(ctx);
}

static void test_pca_ca(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *made = s_control("POST", "/_control/pca", "{\"key_algorithm\":\"RSA_2048\"}");
    json_object *ca = NULL, *conf = NULL;
    char *cert = NULL, *chain = NULL;
    char *want;

    (void)state;
    H2A_ASSERT_OK(h2a_pca_describe_certificate_authority(ctx, NULL, s_js(made, "arn"), &ca));
    assert_string_equal(s_js(ca, "Status"), "ACTIVE");
    assert_true(json_object_object_get_ex(ca, "CertificateAuthorityConfiguration", &conf));
    assert_string_equal(s_js(conf, "KeyAlgorithm"), "RSA_2048");
    json_object_put(ca);
    H2A_ASSERT_OK(h2a_pca_get_certificate_authority_certificate(ctx, NULL, s_js(made, "arn"),
                                                                &cert, &chain));
    want = strdup(s_js(made, "certificate_pem"));
    s_strip_ws(want);
    s_strip_ws(cert);
    assert_string_equal(cert, want);
    H2A_ASSERT_ERR(h2a_pca_describe_certificate_authority(ctx, NULL, "not-an-arn", &ca),
                   H2A_ERR_AWS, "acm-pca DescribeCertificateAuthority: HTTP 400");
    free(want);
    free(cert);
    free(chain);
    json_object_put(made);
    h2a_aws_ctx_free(ctx);
}

/* Nothing secret reached the debug log while all of the above ran. */
static void test_debug_log_has_no_secrets(void **state)
{
    char *log = s_slurp(s_p("debug.log"));
    char *key_a = s_slurp(s_p("a.key"));
    char *key_b = s_slurp(s_p("b.key"));
    h2a_buf b64;
    const char *const never[] = {
        "h2aLocalSecret", "Authorization", "Signature=", "X-Amz-Security-Token",
        "wrapped", "AAECAw==", "PRIVATE KEY", "SecretString\":", "PrivateKey\":",
    };

    (void)state;
    assert_non_null(log);
    /* The log is not empty: requests were logged (without bodies). */
    assert_non_null(strstr(log, "acm ImportCertificate"));
    assert_non_null(strstr(log, "(secret, not shown)"));
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        if (strstr(log, never[i]) != NULL) {
            print_error("debug log contains '%s'\n", never[i]);
            fail();
        }
    }
    /* Neither key, as PEM body lines or as the base64 sent to ACM. */
    for (int k = 0; k < 2; k++) {
        const char *pem = k == 0 ? key_a : key_b;
        const char *line = strchr(pem, '\n') + 1;
        char first[41];
        snprintf(first, sizeof(first), "%.40s", line);
        assert_null(strstr(log, first));
        h2a_buf_init(&b64, 0);
        H2A_ASSERT_OK(h2a_base64_encode((const uint8_t *)pem, strlen(pem), &b64));
        /* Past the generic header: bytes of the key itself. */
        assert_true(b64.len > 100);
        b64.data[100] = '\0';
        assert_null(strstr(log, (const char *)b64.data + 60));
        h2a_buf_free(&b64);
    }
    free(log);
    free(key_a);
    free(key_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acm_lifecycle),
        cmocka_unit_test(test_secrets_manager),
        cmocka_unit_test(test_sts_and_assume_role),
        cmocka_unit_test(test_organizations),
        cmocka_unit_test(test_pca),
        cmocka_unit_test(test_route53),
        cmocka_unit_test(test_sqs),
        cmocka_unit_test(test_pca_ca),
        cmocka_unit_test(test_debug_log_has_no_secrets),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
