/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The client against an in-process HTTP server on loopback that plays a
 * script of replies: keep-alive, retries (counts and exact backoff with an
 * injected RNG and clock), no retry on quota/validation errors, and every
 * kind of broken reply (not JSON, truncated, wrong types, oversized, huge
 * numbers, dropped connections, timeouts). Runs under ASan in CI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

#include "lib/aws_script_server.h"

static const char s_detail[] = "{\"Certificate\":{\"CertificateArn\":\"arn:aws:acm:eu-west-1:1:"
                               "certificate/x\",\"KeyAlgorithm\":\"EC_prime256v1\"}}";

static void test_keepalive_one_connection(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    struct h2a_aws_stats st;

    (void)state;
    for (int i = 0; i < 5; i++) {
        json_object *d = NULL;
        s_play(200, s_detail, M_NORMAL, 0);
        H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
        json_object_put(d);
    }
    h2a_aws_ctx_stats(ctx, &st);
    assert_int_equal(st.calls, 5);
    assert_int_equal(st.http_requests, 5);
    assert_int_equal(st.tls_connects, 1);
    assert_int_equal(st.endpoints, 1);
    assert_int_equal(S.accepts, 1);
    assert_string_equal(S.last_target, "CertificateManager.DescribeCertificate");
    /* Signed with the session token, as botocore does. */
    assert_non_null(strstr(S.last_auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
    assert_non_null(strstr(S.last_auth, "/eu-west-1/acm/aws4_request, SignedHeaders="
                                        "content-type;host;x-amz-date;x-amz-security-token;"
                                        "x-amz-target, Signature="));
    assert_string_equal(S.last_token, "testsessiontoken");
    h2a_aws_ctx_free(ctx);
}

static void test_retry_throttle_then_ok(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;
    struct h2a_aws_stats st;

    (void)state;
    s_play(400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", 0, 0);
    s_play(503, "{\"__type\":\"ServiceUnavailable\"}", 0, 0);
    s_play(200, s_detail, 0, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    assert_int_equal(S.requests, 3);
    /* rand = 1: the full backoff, 1 s then 2 s. */
    assert_int_equal(s_n_delays, 2);
    assert_int_equal(s_delays[0], 1000);
    assert_int_equal(s_delays[1], 2000);
    h2a_aws_ctx_stats(ctx, &st);
    assert_int_equal(st.retries, 2);
    assert_string_equal(h2a_aws_last_error(ctx)->code, "");
    h2a_aws_ctx_free(ctx);
}

static void test_retry_exhausted(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;
    const struct h2a_aws_error *e;

    (void)state;
    for (int i = 0; i < 3; i++) {
        s_play(500, "{\"__type\":\"InternalFailure\",\"message\":\"boom\"}", 0, 0);
    }
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "acm DescribeCertificate: HTTP 500 InternalFailure: boom (request id rid-3) "
                   "after 3 attempts");
    e = h2a_aws_last_error(ctx);
    assert_int_equal(e->attempts, 3);
    assert_int_equal(e->http_status, 500);
    assert_string_equal(e->service, "acm");
    assert_string_equal(e->operation, "DescribeCertificate");
    assert_string_equal(e->request_id, "rid-3");
    assert_int_equal(S.requests, 3);
    assert_null(d);
    h2a_aws_ctx_free(ctx);
}

static void test_max_attempts_env(void **state)
{
    H2A_AWS_CTX *ctx;
    json_object *d = NULL;

    (void)state;
    setenv("AWS_MAX_ATTEMPTS", "5", 1);
    ctx = s_ctx();
    for (int i = 0; i < 5; i++) {
        s_play(400, "{\"__type\":\"Throttling\"}", 0, 0);
    }
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "after 5 attempts");
    assert_int_equal(S.requests, 5);
    assert_int_equal(s_n_delays, 4);
    assert_int_equal(s_delays[3], 8000);
    unsetenv("AWS_MAX_ATTEMPTS");
    h2a_aws_ctx_free(ctx);
}

static void test_no_retry_quota_and_4xx(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    h2a_buf key;
    char *arn = NULL;
    struct h2a_acm_import in;
    json_object *d = NULL;

    (void)state;
    h2a_buf_init_secure(&key, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&key, "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE "
                                           "KEY-----\n"));
    memset(&in, 0, sizeof(in));
    in.certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
    in.private_key_pem = &key;
    s_play(400, "{\"__type\":\"LimitExceededException\",\"message\":\"quota\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_import_certificate(ctx, NULL, &in, &arn), H2A_ERR_AWS,
                   "HTTP 400 LimitExceededException: quota");
    assert_int_equal(S.requests, 1);
    assert_true(h2a_aws_last_error_is(ctx, "LimitExceededException"));
    /* The key went base64-encoded in PrivateKey, never as PEM text. */
    assert_non_null(strstr(S.last_body, "\"PrivateKey\":\"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0t"));
    assert_null(strstr(S.last_body, "BEGIN PRIVATE KEY"));
    assert_null(strstr(S.last_body, "Tags"));

    s_reset_script();
    s_play(400, "{\"__type\":\"com.amazonaws.acm#ValidationException:http://x\","
                "\"message\":\"nope\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "HTTP 400 ValidationException: nope (request id rid-1)");
    assert_int_equal(S.requests, 1);
    assert_int_equal(h2a_aws_last_error(ctx)->attempts, 1);

    /*
     * The key body is streamed from secure memory; when the kept-alive
     * connection is found dead, libcurl rewinds it and re-sends intact.
     */
    s_reset_script();
    {
        json_object *dd = NULL;
        s_play(200, s_detail, 0, 0);
        H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &dd));
        json_object_put(dd);
    }
    s_play(200, "", M_DROP, 0);
    s_play(200, "{\"CertificateArn\":\"arn:aws:acm:eu-west-1:1:certificate/new\"}", 0, 0);
    H2A_ASSERT_OK(h2a_acm_import_certificate(ctx, NULL, &in, &arn));
    assert_string_equal(arn, "arn:aws:acm:eu-west-1:1:certificate/new");
    free(arn);
    arn = NULL;
    assert_int_equal(S.requests, 3);
    assert_non_null(strstr(S.last_body, "\"PrivateKey\":\"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0t"));
    {
        json_object *sent = json_tokener_parse(S.last_body);
        assert_non_null(sent);
        json_object_put(sent);
    }

    /* Tags on a reimport: refused before anything is sent. */
    s_reset_script();
    {
        struct h2a_aws_tag t = {"k", "v"};
        in.certificate_arn = "arn:aws:acm:eu-west-1:1:certificate/x";
        in.tags = &t;
        in.n_tags = 1;
        H2A_ASSERT_ERR(h2a_acm_import_certificate(ctx, NULL, &in, &arn), H2A_ERR_INPUT,
                       "reimport");
        assert_int_equal(S.requests, 0);
    }
    h2a_buf_free(&key);
    h2a_aws_ctx_free(ctx);
}

static void test_malformed_replies(void **state)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        {"<html>busy</html>", "not JSON"},
        {"{\"Certificate\":{\"CertificateArn\":", "truncated"},
        {"", "empty reply"},
        {"[1,2]", "not an object"},
        {"{\"Certificate\":\"a string\"}", "Certificate: expected an object"},
        {"{\"Certificate\":null}", "Certificate: expected an object"},
        {"{} {}", "trailing"},
        {"{\"Certificate\":{}}x", "trailing"},
    };
    H2A_AWS_CTX *ctx = s_ctx();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *d = NULL;
        s_reset_script();
        s_play(200, cases[i].body, 0, 0);
        H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                       cases[i].want);
        assert_null(d);
        assert_true(h2a_aws_last_error(ctx)->malformed);
        /* A broken 200 is not retried (it may have had effects). */
        assert_int_equal(S.requests, 1);
    }
    h2a_aws_ctx_free(ctx);
}

static void test_huge_numbers_and_deep_nesting(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;
    char deep[2100];
    size_t n = 0;

    (void)state;
    s_play(200, "{\"Certificate\":{\"NotAfter\":1e99999,\"Serial\":"
                "123456789012345678901234567890123456789012345678901234567890}}", 0, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    /* Nesting beyond the parser's depth limit is refused, not recursed into. */
    n += (size_t)snprintf(deep, sizeof(deep), "{\"Certificate\":");
    for (int i = 0; i < 1000; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 1000; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '}';
    deep[n] = '\0';
    s_reset_script();
    s_play(200, deep, 0, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS, "not JSON");
    h2a_aws_ctx_free(ctx);
}

static void test_oversized_reply(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;

    (void)state;
    s_play(200, "", M_HUGE, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "reply of 9437184 bytes is larger than the limit of 8388608 bytes");
    assert_int_equal(S.requests, 1);
    h2a_aws_ctx_free(ctx);
}

static void test_truncated_and_dropped(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;
    const struct h2a_aws_error *e;

    (void)state;
    /* Dropped then truncated: both transient, the third attempt works. */
    s_play(200, "", M_DROP, 0);
    s_play(200, s_detail, M_TRUNCATE, 0);
    s_play(200, s_detail, 0, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    d = NULL;
    assert_int_equal(S.requests, 3);
    assert_int_equal(s_n_delays, 2);

    s_reset_script();
    /*
     * libcurl itself re-sends once when a kept-alive connection turns out
     * dead before any reply byte, so script more drops than attempts.
     */
    for (int i = 0; i < 6; i++) {
        s_play(200, "", M_DROP, 0);
    }
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "acm DescribeCertificate: network error after 3 attempts");
    e = h2a_aws_last_error(ctx);
    assert_true(e->network);
    assert_int_equal(e->http_status, 0);
    assert_int_equal(e->attempts, 3);
    assert_true(S.requests >= 3 && S.requests <= 6);
    h2a_aws_ctx_free(ctx);
}

static void test_timeout_retried(void **state)
{
    H2A_AWS_CTX *ctx;
    json_object *d = NULL;

    (void)state;
    setenv("HSM2ACM_AWS_TIMEOUT_MS", "300", 1);
    ctx = s_ctx();
    s_play(200, s_detail, M_DELAY, 700);
    s_play(200, s_detail, 0, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    assert_int_equal(s_n_delays, 1);
    setenv("HSM2ACM_AWS_TIMEOUT_MS", "1500", 1);
    h2a_aws_ctx_free(ctx);
}

static void test_list_pagination(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *l = NULL;

    (void)state;
    s_play(200, "{\"CertificateSummaryList\":[{\"CertificateArn\":\"a\"}],\"NextToken\":\"t1\"}",
           0, 0);
    s_play(200, "{\"CertificateSummaryList\":[],\"NextToken\":\"t2\"}", 0, 0);
    s_play(200, "{\"CertificateSummaryList\":[{\"CertificateArn\":\"b\"},"
                "{\"CertificateArn\":\"c\"}]}", 0, 0);
    H2A_ASSERT_OK(h2a_acm_list_certificates(ctx, NULL, NULL, &l));
    assert_int_equal(json_object_array_length(l), 3);
    assert_int_equal(S.requests, 3);
    /* The last request carried the token and all seven key types. */
    assert_non_null(strstr(S.last_body, "\"NextToken\":\"t2\""));
    assert_non_null(strstr(S.last_body, "\"keyTypes\":[\"RSA_1024\",\"RSA_2048\",\"RSA_3072\","
                                        "\"RSA_4096\",\"EC_prime256v1\",\"EC_secp384r1\","
                                        "\"EC_secp521r1\"]"));
    json_object_put(l);
    l = NULL;

    s_reset_script();
    s_play(200, "{\"CertificateSummaryList\":[],\"NextToken\":\"same\"}", 0, 0);
    s_play(200, "{\"CertificateSummaryList\":[],\"NextToken\":\"same\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_list_certificates(ctx, NULL, NULL, &l), H2A_ERR_AWS,
                   "NextToken repeats");
    s_reset_script();
    s_play(200, "{\"CertificateSummaryList\":5}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_list_certificates(ctx, NULL, NULL, &l), H2A_ERR_AWS,
                   "expected an array");
    s_reset_script();
    s_play(200, "{\"CertificateSummaryList\":[7]}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_list_certificates(ctx, NULL, NULL, &l), H2A_ERR_AWS,
                   "CertificateSummaryList[0]: expected an object");
    s_reset_script();
    s_play(200, "{\"CertificateSummaryList\":[],\"NextToken\":9}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_list_certificates(ctx, NULL, NULL, &l), H2A_ERR_AWS,
                   "NextToken: expected a string");
    assert_null(l);
    h2a_aws_ctx_free(ctx);
}

static void test_secret_value(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    h2a_buf sec;
    json_object *meta = NULL;
    json_object *v;

    (void)state;
    h2a_buf_init_secure(&sec, 0);
    s_play(200, "{\"ARN\":\"arn:s\",\"Name\":\"n\",\"VersionId\":\"v1\","
                "\"SecretString\":\"{\\\"wrapped\\\":\\\"AAAA\\\"}\",\"VersionStages\":[\"AWSCURRENT\"]}",
           0, 0);
    H2A_ASSERT_OK(h2a_sm_get_secret_value(ctx, NULL, "n", &sec, &meta));
    H2A_ASSERT_OK(h2a_buf_terminate(&sec));
    assert_string_equal((const char *)sec.data, "{\"wrapped\":\"AAAA\"}");
    assert_false(json_object_object_get_ex(meta, "SecretString", &v));
    assert_true(json_object_object_get_ex(meta, "VersionId", &v));
    assert_string_equal(S.last_target, "secretsmanager.GetSecretValue");
    json_object_put(meta);
    meta = NULL;

    s_reset_script();
    h2a_buf_reset(&sec);
    s_play(200, "{\"ARN\":\"arn:s\",\"SecretString\":42}", 0, 0);
    H2A_ASSERT_ERR(h2a_sm_get_secret_value(ctx, NULL, "n", &sec, &meta), H2A_ERR_AWS,
                   "expected a string");
    assert_int_equal(sec.len, 0);
    s_reset_script();
    s_play(200, "{\"ARN\":\"arn:s\",\"SecretBinary\":\"AAAA\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_sm_get_secret_value(ctx, NULL, "n", &sec, &meta), H2A_ERR_AWS,
                   "no SecretString");
    s_reset_script();
    s_play(400, "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets Manager "
                "can't find the specified secret.\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_sm_get_secret_value(ctx, NULL, "n", &sec, &meta), H2A_ERR_AWS,
                   "secretsmanager GetSecretValue: HTTP 400 ResourceNotFoundException: Secrets "
                   "Manager can't find");
    h2a_buf_free(&sec);
    h2a_aws_ctx_free(ctx);
}

static void test_create_secret_body(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    h2a_buf sec;
    struct h2a_sm_create in;
    struct h2a_aws_tag tags[2] = {{"hsm2acm:request", "r1"}, {"hsm2acm:expires", "123"}};
    json_object *out = NULL;

    (void)state;
    h2a_buf_init_secure(&sec, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&sec, "{\"k\":\"v\\\"\n\"}"));
    memset(&in, 0, sizeof(in));
    in.name = "hsm2acm/staging/r1-0";
    in.client_request_token = "0123456789abcdef0123456789abcdef";
    in.kms_key_id = "alias/x";
    in.secret_string = &sec;
    in.tags = tags;
    in.n_tags = 2;
    s_play(200, "{\"ARN\":\"arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCdEf\",\"Name\":\"x\","
                "\"VersionId\":\"0123456789abcdef0123456789abcdef\"}", 0, 0);
    H2A_ASSERT_OK(h2a_sm_create_secret(ctx, NULL, &in, &out));
    {
        json_object *sent = json_tokener_parse(S.last_body);
        json_object *v;
        assert_non_null(sent);
        assert_true(json_object_object_get_ex(sent, "SecretString", &v));
        assert_string_equal(json_object_get_string(v), "{\"k\":\"v\\\"\n\"}");
        assert_true(json_object_object_get_ex(sent, "ClientRequestToken", &v));
        assert_true(json_object_object_get_ex(sent, "KmsKeyId", &v));
        assert_true(json_object_object_get_ex(sent, "Tags", &v));
        assert_int_equal(json_object_array_length(v), 2);
        json_object_put(sent);
    }
    json_object_put(out);
    in.client_request_token = "short";
    H2A_ASSERT_ERR(h2a_sm_create_secret(ctx, NULL, &in, &out), H2A_ERR_INPUT,
                   "client_request_token");
    h2a_buf_free(&sec);
    h2a_aws_ctx_free(ctx);
}

/*
 * The marker that stands for key material: random hex, kept here only
 * XOR-masked, so that the one unmasked copy in memory is the one the code
 * under test was given (and whatever copies it made of it).
 */
#define S_MASK 0x5a
#define S_MARK_LEN 64

/* Reads memory ASan thinks freed or poisoned: that is the point. */
__attribute__((no_sanitize("address"))) static size_t
s_scan(const volatile uint8_t *lo, const volatile uint8_t *hi, const uint8_t *masked)
{
    size_t hits = 0;
    const uint8_t first = masked[0] ^ S_MASK;

    for (const volatile uint8_t *p = lo; p + S_MARK_LEN <= hi; p++) {
        size_t k = 1;

        if (*p != first) {
            continue;
        }
        while (k < S_MARK_LEN && p[k] == (uint8_t)(masked[k] ^ S_MASK)) {
            k++;
        }
        hits += k == S_MARK_LEN;
    }
    return hits;
}

/* Unmasked copies of the marker in this process's writable memory. */
static size_t s_marker_copies(const uint8_t *masked)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    size_t hits = 0, regions = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char perms[5];

        /* Over 1 GiB is ASan's shadow reservation, not data. */
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && perms[0] == 'r' &&
            perms[1] == 'w' && hi - lo <= (1ul << 30)) {
            hits += s_scan((const uint8_t *)lo, (const uint8_t *)hi, masked);
            regions++;
        }
    }
    fclose(f);
    assert_true(regions > 0);
    return hits;
}

/* One secret request with the marker `copies` times, `pad` bytes apart. */
static void s_secret_call(H2A_AWS_CTX *ctx, const uint8_t *masked, int copies, size_t pad)
{
    h2a_buf body, reply;
    size_t at;

    h2a_buf_init_secure(&body, 0);
    h2a_buf_init(&reply, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&body, "{\"SecretId\":\"x\",\"SecretString\":\""));
    at = body.len;
    for (int c = 0; c < copies; c++) {
        if (c > 0) {
            for (size_t i = 0; i < pad; i++) {
                H2A_ASSERT_OK(h2a_buf_append(&body, "=", 1));
            }
        }
        H2A_ASSERT_OK(h2a_buf_append(&body, masked, S_MARK_LEN));
        for (size_t k = body.len - S_MARK_LEN; k < body.len; k++) {
            body.data[k] ^= S_MASK;
        }
    }
    H2A_ASSERT_OK(h2a_buf_append_str(&body, "\"}"));
    s_play(200, "{}", 0, 0);
    H2A_ASSERT_OK(h2a_aws_raw_json_call(ctx, H2A_AWS_SVC_SECRETS_MANAGER, NULL, "PutSecretValue",
                                        body.data, body.len, true, &reply));
    /* It did go out: the server saw the marker where it was put. */
    pthread_mutex_lock(&S.mu);
    for (size_t k = 0; k < S_MARK_LEN; k++) {
        assert_int_equal((uint8_t)S.last_body[at + k], masked[k] ^ S_MASK);
    }
    OPENSSL_cleanse(S.last_body, sizeof(S.last_body));
    pthread_mutex_unlock(&S.mu);
    h2a_buf_free(&body);
    h2a_buf_free(&reply);
}

/*
 * Key custody in memory: once the caller has wiped its secret request body,
 * no copy of it is left in this process, libcurl's buffers included (the
 * request it assembles for a small body, the upload buffer for a large one).
 */
static void test_secret_body_no_copy(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    uint8_t raw[S_MARK_LEN / 2];
    uint8_t masked[S_MARK_LEN];
    char hex[S_MARK_LEN + 1];
    char *leak;

    (void)state;
    assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
    h2a_hex_encode(raw, sizeof(raw), hex);
    for (size_t k = 0; k < S_MARK_LEN; k++) {
        masked[k] = (uint8_t)hex[k] ^ S_MASK;
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(hex, sizeof(hex));
    S.wipe = 1;
    assert_int_equal(s_marker_copies(masked), 0);

    s_secret_call(ctx, masked, 1, 0);        /* new connection, body with the headers */
    s_secret_call(ctx, masked, 1, 0);        /* kept-alive connection */
    s_secret_call(ctx, masked, 3, 70000);    /* over 64 KiB: through the upload buffer */
    assert_int_equal(s_marker_copies(masked), 0);
    h2a_aws_ctx_free(ctx);
    assert_int_equal(s_marker_copies(masked), 0);

    /* The scan does see the heap: a copy nobody wiped is found. */
    leak = malloc(S_MARK_LEN);
    assert_non_null(leak);
    for (size_t k = 0; k < S_MARK_LEN; k++) {
        leak[k] = (char)(masked[k] ^ S_MASK);
    }
    assert_int_equal(s_marker_copies(masked), 1);
    OPENSSL_cleanse(leak, S_MARK_LEN);
    free(leak);
    S.wipe = 0;
}

static void test_sts_replies(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    struct h2a_aws_identity id;

    (void)state;
    s_play(200, "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/u</Arn>"
                "<UserId>AIDA1</UserId><Account>123456789012</Account>"
                "</GetCallerIdentityResult></GetCallerIdentityResponse>", 0, 0);
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(ctx, NULL, &id));
    assert_string_equal(id.account, "123456789012");
    assert_string_equal(id.arn, "arn:aws:iam::123456789012:user/u");
    assert_string_equal(S.last_body, "Action=GetCallerIdentity&Version=2011-06-15");
    assert_string_equal(S.last_target, "");
    s_reset_script();
    s_play(200, "{\"json\":\"not xml\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_sts_get_caller_identity(ctx, NULL, &id), H2A_ERR_AWS, "malformed reply");
    s_reset_script();
    s_play(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Account></Account>"
                "</GetCallerIdentityResult></GetCallerIdentityResponse>", 0, 0);
    H2A_ASSERT_ERR(h2a_sts_get_caller_identity(ctx, NULL, &id), H2A_ERR_AWS, "Account and Arn");
    s_reset_script();
    s_play(403, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                "<Message>The security token included in the request is invalid.</Message>"
                "</Error><RequestId>sts-rid</RequestId></ErrorResponse>", 0, 0);
    H2A_ASSERT_ERR(h2a_sts_get_caller_identity(ctx, NULL, &id), H2A_ERR_AWS,
                   "sts GetCallerIdentity: HTTP 403 InvalidClientTokenId: The security token "
                   "included in the request is invalid.");
    assert_int_equal(S.requests, 1);
    s_reset_script();
    s_play(400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message>"
                "</Error></ErrorResponse>", 0, 0);
    s_play(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn>"
                "<Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>", 0, 0);
    H2A_ASSERT_OK(h2a_sts_get_caller_identity(ctx, NULL, &id));
    assert_int_equal(S.requests, 2);
    h2a_aws_ctx_free(ctx);
}

/* One skew error with `date` (an hour ahead): one retry, signed with AWS's time `want`. */
static void s_skew_retried(long status, const char *body, const char *date, const char *want)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;

    s_reset_script();
    s_play_hdr(status, body, date);
    s_play(200, s_detail, 0, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    assert_int_equal(S.requests, 2);
    /* The retry was signed an hour ahead (same hour, allowing a tick). */
    assert_int_equal(strncmp(S.last_date, want, 11), 0);
    h2a_aws_ctx_free(ctx);
}

/* A skewed local clock: the client learns AWS's time from Date and re-signs. */
static void test_clock_skew_corrected(void **state)
{
    H2A_AWS_CTX *ctx;
    json_object *d = NULL;
    char date[80];
    char want[17];
    char d8[9];
    time_t ahead = time(NULL) + 3600;
    struct tm tm;

    (void)state;
    gmtime_r(&ahead, &tm);
    strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S GMT", &tm);
    h2a_sigv4_dates(ahead, want, d8);
    s_skew_retried(403, "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "
                        "expired\"}", date, want);
    /* EC2's AuthFailure comes with 401: the clock is corrected all the same. */
    s_skew_retried(401, "{\"__type\":\"AuthFailure\",\"message\":\"AWS was not able to "
                        "validate the provided access credentials\"}", date, want);
    /* A plain signature error without skew is not retried. */
    ctx = s_ctx();
    s_reset_script();
    s_play(403, "{\"__type\":\"InvalidSignatureException\",\"message\":\"bad\"}", 0, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "HTTP 403 InvalidSignatureException");
    assert_int_equal(S.requests, 1);
    h2a_aws_ctx_free(ctx);
}

struct s_worker {
    H2A_AWS_CTX *ctx;
    int ok;
    struct h2a_aws_stats st;
};

static void *s_worker_run(void *arg)
{
    struct s_worker *w = arg;

    for (int i = 0; i < 10; i++) {
        json_object *d = NULL;
        if (h2a_acm_describe_certificate(w->ctx, NULL, "arn:x", &d) == H2A_OK) {
            w->ok++;
        }
        json_object_put(d);
    }
    h2a_aws_ctx_stats(w->ctx, &w->st);
    return NULL;
}

/* Clones in threads share credentials (under a lock), each with its own connection. */
static void test_clones_in_threads(void **state)
{
    H2A_AWS_CTX *base = s_ctx();
    struct s_worker w[4];
    pthread_t t[4];

    (void)state;
    for (int i = 0; i < 40; i++) {
        s_play(200, s_detail, 0, 0);
    }
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        H2A_ASSERT_OK(h2a_aws_ctx_clone(base, &w[i].ctx));
    }
    /* The base may be freed while clones work: they hold references. */
    h2a_aws_ctx_free(base);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, s_worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 10);
        assert_int_equal(w[i].st.tls_connects, 1);
        assert_int_equal(w[i].st.endpoints, 1);
        h2a_aws_ctx_free(w[i].ctx);
    }
    assert_int_equal(S.requests, 40);
    assert_int_equal(S.accepts, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_one_connection),
        cmocka_unit_test(test_retry_throttle_then_ok),
        cmocka_unit_test(test_retry_exhausted),
        cmocka_unit_test(test_max_attempts_env),
        cmocka_unit_test(test_no_retry_quota_and_4xx),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_huge_numbers_and_deep_nesting),
        cmocka_unit_test(test_oversized_reply),
        cmocka_unit_test(test_truncated_and_dropped),
        cmocka_unit_test(test_timeout_retried),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_secret_value),
        cmocka_unit_test(test_create_secret_body),
        cmocka_unit_test(test_secret_body_no_copy),
        cmocka_unit_test(test_sts_replies),
        cmocka_unit_test(test_clones_in_threads),
        cmocka_unit_test(test_clock_skew_corrected),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
