/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Error parsing of both protocols, retry classification, backoff bounds,
 * the retry quota, and the extraction of secrets from JSON/XML replies.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

static void test_clean_code(void **state)
{
    char out[64];

    (void)state;
    h2a_aws_clean_code("aws.protocoltests#FooError:http://internal.amazon.com/", out, sizeof(out));
    assert_string_equal(out, "FooError");
    h2a_aws_clean_code("com.amazonaws.acm#ResourceNotFoundException", out, sizeof(out));
    assert_string_equal(out, "ResourceNotFoundException");
    h2a_aws_clean_code("ThrottlingException", out, sizeof(out));
    assert_string_equal(out, "ThrottlingException");
    h2a_aws_clean_code("FooError:http://x#y", out, sizeof(out));
    assert_string_equal(out, "FooError");
    h2a_aws_clean_code(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    /* Bounded: never writes past the output. */
    h2a_aws_clean_code("AVeryLongErrorCodeThatDoesNotFit", out, 8);
    assert_string_equal(out, "AVeryLo");
}

static void test_json_error_shapes(void **state)
{
    struct h2a_aws_error e;
    static const char acm[] = "{\"__type\":\"com.amazonaws.acm#ValidationException\","
                              "\"message\":\"bad cert\"}";
    static const char sm[] = "{\"__type\":\"ResourceExistsException\",\"Message\":\"exists\"}";
    static const char code[] = "{\"code\":\"ThrottlingException\",\"message\":\"slow\"}";

    (void)state;
    memset(&e, 0, sizeof(e));
    assert_true(h2a_aws_parse_json_error(acm, strlen(acm), NULL, &e));
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.message, "bad cert");
    assert_true(h2a_aws_parse_json_error(sm, strlen(sm), NULL, &e));
    assert_string_equal(e.code, "ResourceExistsException");
    assert_string_equal(e.message, "exists");
    assert_true(h2a_aws_parse_json_error(code, strlen(code), NULL, &e));
    assert_string_equal(e.code, "ThrottlingException");
    /* No __type in the body: the header gives the code. */
    assert_true(h2a_aws_parse_json_error("{\"message\":\"m\"}", 15, "AccessDeniedException:http://x",
                                         &e));
    assert_string_equal(e.code, "AccessDeniedException");
    /* Not JSON: false, code from the header, no crash. */
    assert_false(h2a_aws_parse_json_error("<html>oops</html>", 17, "InternalFailure", &e));
    assert_string_equal(e.code, "InternalFailure");
    assert_false(h2a_aws_parse_json_error("{\"__type\":", 10, NULL, &e));
    assert_string_equal(e.code, "");
    assert_false(h2a_aws_parse_json_error("", 0, NULL, &e));
    /* Wrong types are ignored, not trusted. */
    assert_true(h2a_aws_parse_json_error("{\"__type\":5,\"message\":[1]}", 26, NULL, &e));
    assert_string_equal(e.code, "");
    assert_string_equal(e.message, "");
    /* Trailing garbage means not a JSON object. */
    assert_false(h2a_aws_parse_json_error("{\"__type\":\"X\"} trailing", 23, NULL, &e));
}

static void test_query_error(void **state)
{
    struct h2a_aws_error e;
    static const char xml[] =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
        "<Message>User is not authorized &amp; denied</Message></Error>"
        "<RequestId>abc-123</RequestId></ErrorResponse>";

    (void)state;
    memset(&e, 0, sizeof(e));
    assert_true(h2a_aws_parse_query_error(xml, strlen(xml), &e));
    assert_string_equal(e.code, "AccessDenied");
    assert_string_equal(e.message, "User is not authorized & denied");
    assert_string_equal(e.request_id, "abc-123");
    assert_false(h2a_aws_parse_query_error("{\"json\":1}", 10, &e));
    assert_false(h2a_aws_parse_query_error("<ErrorResponse><Error>", 22, &e));
    assert_false(h2a_aws_parse_query_error("<Other/>", 8, &e));
}

/* Bodies libxml2's encoding conversion chokes on: it used to print them to stderr. */
static const char *const s_bad_xml[] = {
    "<ErrorResponse>\xff\xfe</ErrorResponse>",
    "<?xml version=\"1.0\" encoding=\"EUC-JP\"?><ErrorResponse>\xff\xff\xff</ErrorResponse>",
    "<?xml version=\"1.0\" encoding=\"UTF-16\"?><ErrorResponse/>",
};

static void *s_parse_bad_xml(void *arg)
{
    struct h2a_aws_error e;
    bool *any = arg;

    for (size_t i = 0; i < sizeof(s_bad_xml) / sizeof(s_bad_xml[0]); i++) {
        *any |= h2a_aws_parse_query_error(s_bad_xml[i], strlen(s_bad_xml[i]), &e);
    }
    return NULL;
}

/* A broken XML reply is an error, never libxml2 text on the agent's stderr (any thread). */
static void test_xml_errors_quiet(void **state)
{
    char path[] = "/tmp/h2a-xml-stderr-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    bool parsed_main = false, parsed_thread = false;
    pthread_t t;
    struct stat st;

    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    assert_int_equal(dup2(fd, 2), 2);
    s_parse_bad_xml(&parsed_main);
    assert_int_equal(pthread_create(&t, NULL, s_parse_bad_xml, &parsed_thread), 0);
    pthread_join(t, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    unlink(path);
    assert_false(parsed_main);
    assert_false(parsed_thread);
    assert_int_equal(st.st_size, 0);
}

static void test_retry_classify(void **state)
{
    (void)state;
    assert_int_equal(h2a_aws_retry_classify(400, "ThrottlingException", false, false),
                     H2A_RETRY_THROTTLE);
    assert_int_equal(h2a_aws_retry_classify(400, "Throttling", false, false), H2A_RETRY_THROTTLE);
    assert_int_equal(h2a_aws_retry_classify(400, "TooManyRequestsException", false, false),
                     H2A_RETRY_THROTTLE);
    assert_int_equal(h2a_aws_retry_classify(503, "RequestLimitExceeded", false, false),
                     H2A_RETRY_THROTTLE);
    assert_int_equal(h2a_aws_retry_classify(500, "InternalFailure", false, false),
                     H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(502, "", false, false), H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(503, "ServiceUnavailable", false, false),
                     H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(504, NULL, false, false), H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(400, "RequestTimeout", false, false),
                     H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(0, NULL, true, false), H2A_RETRY_TRANSIENT);
    assert_int_equal(h2a_aws_retry_classify(0, NULL, true, true), H2A_RETRY_TIMEOUT);
    /* A quota, not throttling: never retried. */
    assert_int_equal(h2a_aws_retry_classify(400, "LimitExceededException", false, false),
                     H2A_RETRY_NO);
    assert_int_equal(h2a_aws_retry_classify(400, "ValidationException", false, false),
                     H2A_RETRY_NO);
    assert_int_equal(h2a_aws_retry_classify(403, "AccessDeniedException", false, false),
                     H2A_RETRY_NO);
    assert_int_equal(h2a_aws_retry_classify(404, NULL, false, false), H2A_RETRY_NO);
    assert_int_equal(h2a_aws_retry_classify(501, NULL, false, false), H2A_RETRY_NO);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    /* rand * min(base * 2^(attempt-1), 20 s) */
    assert_int_equal(h2a_aws_backoff_ms(1, 1.0, 1000), 1000);
    assert_int_equal(h2a_aws_backoff_ms(2, 1.0, 1000), 2000);
    assert_int_equal(h2a_aws_backoff_ms(3, 1.0, 1000), 4000);
    assert_int_equal(h2a_aws_backoff_ms(5, 1.0, 1000), 16000);
    assert_int_equal(h2a_aws_backoff_ms(6, 1.0, 1000), 20000);
    assert_int_equal(h2a_aws_backoff_ms(60, 1.0, 1000), 20000);
    assert_int_equal(h2a_aws_backoff_ms(3, 0.0, 1000), 0);
    assert_int_equal(h2a_aws_backoff_ms(3, 0.5, 1000), 2000);
    assert_int_equal(h2a_aws_backoff_ms(2, 0.25, 10), 5);
    /* Out-of-range randomness is clamped, never beyond the cap. */
    assert_int_equal(h2a_aws_backoff_ms(9, 7.0, 1000), 20000);
    assert_int_equal(h2a_aws_backoff_ms(2, -1.0, 1000), 0);
    for (int a = 1; a < 40; a++) {
        long d = h2a_aws_backoff_ms(a, 0.999, 1000);
        assert_true(d >= 0 && d <= 20000);
    }
}

static void test_retry_quota(void **state)
{
    struct h2a_retry_quota q;
    int cost = 0;
    int n = 0;

    (void)state;
    h2a_retry_quota_init(&q);
    assert_true(h2a_retry_quota_take(&q, H2A_RETRY_THROTTLE, &cost));
    assert_int_equal(cost, 5);
    assert_true(h2a_retry_quota_take(&q, H2A_RETRY_TIMEOUT, &cost));
    assert_int_equal(cost, 10);
    assert_int_equal(q.tokens, 485);
    h2a_retry_quota_success(&q, 15);
    assert_int_equal(q.tokens, 500);
    h2a_retry_quota_success(&q, 0);
    assert_int_equal(q.tokens, 500);
    while (h2a_retry_quota_take(&q, H2A_RETRY_TRANSIENT, &cost)) {
        n++;
    }
    assert_int_equal(n, 100);
    assert_false(h2a_retry_quota_take(&q, H2A_RETRY_TIMEOUT, &cost));
}

static void test_json_take_string(void **state)
{
    h2a_buf body;
    h2a_buf out;
    bool found = false;
    static const char doc[] = "{\"ARN\":\"arn:x\",\"Nested\":{\"SecretString\":\"no\"},"
                              "\"SecretString\":\"s3cr\\\"et\\n\\u00e9\\ud83d\\ude00\","
                              "\"N\":12}";

    (void)state;
    h2a_buf_init(&body, 0);
    h2a_buf_init_secure(&out, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&body, doc));
    H2A_ASSERT_OK(h2a_buf_terminate(&body));
    H2A_ASSERT_OK(h2a_json_take_string(&body, "SecretString", &out, &found));
    assert_true(found);
    H2A_ASSERT_OK(h2a_buf_terminate(&out));
    /* The top-level one, decoded (quote, newline, é, U+1F600). */
    assert_string_equal((const char *)out.data, "s3cr\"et\n\xc3\xa9\xf0\x9f\x98\x80");
    /* Blanked in the body, which still parses. */
    assert_null(strstr((const char *)body.data, "s3cr"));
    assert_non_null(strstr((const char *)body.data, "\"Nested\":{\"SecretString\":\"no\"}"));
    {
        struct h2a_aws_error e;
        assert_true(h2a_aws_parse_json_error((const char *)body.data, body.len, NULL, &e));
    }
    /* Absent: OK with found=false, or an error when required. */
    out.len = 0;
    H2A_ASSERT_OK(h2a_json_take_string(&body, "Missing", &out, &found));
    assert_false(found);
    H2A_ASSERT_ERR(h2a_json_take_string(&body, "Missing", &out, NULL), H2A_ERR_INPUT, "missing");
    H2A_ASSERT_ERR(h2a_json_take_string(&body, "N", &out, NULL), H2A_ERR_INPUT,
                   "expected a string");
    h2a_buf_free(&body);

    /* Malformed documents never crash and never read past the end. */
    {
        static const char *const bad[] = {
            "", "[]", "{", "{\"SecretString\"", "{\"SecretString\":", "{\"SecretString\":\"abc",
            "{\"a\":{\"b\":[1,2}", "{\"SecretString\":\"\\u12\"}", "{\"x\" 1}",
            "{\"SecretString\":\"\\q\"}", "{\"a\":\"\x01\"}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            h2a_buf b;
            h2a_buf_init(&b, 0);
            H2A_ASSERT_OK(h2a_buf_append(&b, bad[i], strlen(bad[i])));
            out.len = 0;
            assert_int_equal(h2a_json_take_string(&b, "SecretString", &out, &found),
                             H2A_ERR_INPUT);
            h2a_buf_free(&b);
        }
    }
    h2a_buf_free(&out);
}

static void test_xml_take_text(void **state)
{
    h2a_buf body;
    h2a_buf out;
    bool found = true;

    (void)state;
    h2a_buf_init(&body, 0);
    h2a_buf_init(&out, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&body, "<R><SecretAccessKey>a&amp;b&lt;c&#65;&#x42;"
                                            "</SecretAccessKey><X></R>"));
    H2A_ASSERT_OK(h2a_xml_take_text(&body, "SecretAccessKey", &out, NULL));
    H2A_ASSERT_OK(h2a_buf_terminate(&out));
    assert_string_equal((const char *)out.data, "a&b<cAB");
    H2A_ASSERT_OK(h2a_xml_take_text(&body, "Nope", &out, &found));
    assert_false(found);
    H2A_ASSERT_ERR(h2a_xml_take_text(&body, "X", &out, NULL), H2A_ERR_INPUT, "not closed");
    h2a_buf_reset(&body);
    H2A_ASSERT_OK(h2a_buf_append_str(&body, "<A>x<b>y</b></A><C>&bogus;</C>"));
    H2A_ASSERT_ERR(h2a_xml_take_text(&body, "A", &out, NULL), H2A_ERR_INPUT, "markup");
    H2A_ASSERT_ERR(h2a_xml_take_text(&body, "C", &out, NULL), H2A_ERR_INPUT, "entity");
    h2a_buf_free(&body);
    h2a_buf_free(&out);
}

static void test_creds_from_json(void **state)
{
    h2a_buf b;
    struct h2a_aws_credentials *c = NULL;

    (void)state;
    h2a_buf_init_secure(&b, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Version\":1,\"AccessKeyId\":\"ASIAX\","
                                         "\"SecretAccessKey\":\"sek\",\"SessionToken\":\"tok\","
                                         "\"Expiration\":\"2026-11-24T10:00:00Z\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_OK(h2a_aws_creds_from_json(&b, "credential_process", true, &c));
    assert_string_equal(c->access_key_id, "ASIAX");
    assert_string_equal(c->secret_access_key, "sek");
    assert_string_equal(c->session_token, "tok");
    assert_int_equal(c->expiration, 1795514400);
    h2a_aws_credentials_free(c);
    /* The document was wiped. */
    assert_int_equal(b.len, 0);

    /* IMDS/ECS shape: Token, no Version. */
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAY\","
                                         "\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                                         "\"Expiration\":\"2026-11-24T10:00:00.123+01:00\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_OK(h2a_aws_creds_from_json(&b, "IMDS", false, &c));
    assert_string_equal(c->session_token, "t");
    assert_int_equal(c->expiration, 1795514400 - 3600);
    h2a_aws_credentials_free(c);

    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Version\":2,\"AccessKeyId\":\"A\","
                                         "\"SecretAccessKey\":\"s\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_ERR(h2a_aws_creds_from_json(&b, "cp", true, &c), H2A_ERR_AWS, "Version must be 1");
    assert_null(c);
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Version\":1,\"AccessKeyId\":7,"
                                         "\"SecretAccessKey\":\"s\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_ERR(h2a_aws_creds_from_json(&b, "cp", true, &c), H2A_ERR_AWS, "AccessKeyId");
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Version\":1,\"AccessKeyId\":\"A\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_ERR(h2a_aws_creds_from_json(&b, "cp", true, &c), H2A_ERR_AWS, "SecretAccessKey");
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "{\"Version\":1,\"AccessKeyId\":\"A\","
                                         "\"SecretAccessKey\":\"s\",\"Expiration\":\"soon\"}"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_ERR(h2a_aws_creds_from_json(&b, "cp", true, &c), H2A_ERR_AWS, "Expiration");
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "not json"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    H2A_ASSERT_ERR(h2a_aws_creds_from_json(&b, "cp", true, &c), H2A_ERR_AWS, "cp");
    h2a_buf_free(&b);
}

static void test_sts_parse_credentials(void **state)
{
    h2a_buf b;
    struct h2a_aws_credentials *c = NULL;

    (void)state;
    h2a_buf_init_secure(&b, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(
        &b, "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
            "<SecretAccessKey>sk/+=</SecretAccessKey><SessionToken>tok&amp;en</SessionToken>"
            "<Expiration>2026-11-24T10:00:00Z</Expiration></Credentials>"
            "</AssumeRoleResult></AssumeRoleResponse>"));
    H2A_ASSERT_OK(h2a_sts_parse_credentials(&b, &c));
    assert_string_equal(c->secret_access_key, "sk/+=");
    assert_string_equal(c->session_token, "tok&en");
    h2a_aws_credentials_free(c);
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "<AssumeRoleResponse/>"));
    H2A_ASSERT_ERR(h2a_sts_parse_credentials(&b, &c), H2A_ERR_AWS, "Credentials");
    H2A_ASSERT_OK(h2a_buf_append_str(&b, "<Credentials><AccessKeyId>A</AccessKeyId>"));
    assert_int_not_equal(h2a_sts_parse_credentials(&b, &c), H2A_OK);
    assert_null(c);
    h2a_buf_free(&b);
}

static void test_iso8601(void **state)
{
    time_t t;

    (void)state;
    H2A_ASSERT_OK(h2a_aws_parse_iso8601("2015-08-30T12:36:00Z", &t));
    assert_int_equal(t, 1440938160);
    H2A_ASSERT_OK(h2a_aws_parse_iso8601("2015-08-30T12:36:00.5Z", &t));
    assert_int_equal(t, 1440938160);
    H2A_ASSERT_OK(h2a_aws_parse_iso8601("2015-08-30T14:36:00+02:00", &t));
    assert_int_equal(t, 1440938160);
    H2A_ASSERT_ERR(h2a_aws_parse_iso8601("yesterday", &t), H2A_ERR_INPUT, "ISO-8601");
    H2A_ASSERT_ERR(h2a_aws_parse_iso8601("2015-08-30T12:36:00Zjunk", &t), H2A_ERR_INPUT,
                   "trailing");
}

static void test_form_append(void **state)
{
    h2a_buf b;

    (void)state;
    h2a_buf_init(&b, 0);
    H2A_ASSERT_OK(h2a_form_append(&b, "RoleArn", "arn:aws:iam::123:role/a b+c"));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    assert_string_equal((const char *)b.data, "&RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fa%20b%2Bc");
    h2a_buf_free(&b);
}

/*
 * Deterministic mutation fuzzing of every parser that sees bytes from the
 * network or from files: flips, truncations and insertions of seed
 * documents must never crash or read out of bounds (ASan in CI).
 */
static void test_parsers_fuzz(void **state)
{
    static const char *const seeds[] = {
        "{\"ARN\":\"a\",\"SecretString\":\"v\\\\u00e9\\\"x\",\"N\":[1,{\"b\":\"}\"}]}",
        "{\"__type\":\"x#ThrottlingException:http://y\",\"message\":\"m\"}",
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>a&amp;b</Message></Error>"
        "<RequestId>r</RequestId></ErrorResponse>",
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
        "<SecretAccessKey>S&#x41;</SecretAccessKey><SessionToken>T</SessionToken>"
        "<Expiration>2026-11-24T10:00:00Z</Expiration></Credentials></AssumeRoleResult>"
        "</AssumeRoleResponse>",
        "[default]\nregion = x\n[profile a]\ns3 =\n  k = v\nrole_arn=r\n",
        "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":"
        "\"2026-11-24T10:00:00+01:00\"}",
    };
    uint32_t rng = 12345;
    const char *chars = "{}[]\":,\\u<>&#;/= \n\x01\xff" "aZ09";

    (void)state;
    for (int it = 0; it < 6000; it++) {
        const char *seed = seeds[it % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t n = strlen(seed);
        h2a_buf b;
        h2a_buf out;
        struct h2a_aws_error e;
        struct h2a_aws_credentials *c = NULL;
        struct h2a_ini *ini = NULL;
        bool found;
        int muts;

        h2a_buf_init(&b, 0);
        h2a_buf_init_secure(&out, 0);
        H2A_ASSERT_OK(h2a_buf_append(&b, seed, n));
        rng = rng * 1103515245u + 12345u;
        muts = 1 + (int)((rng >> 16) % 4);
        for (int m = 0; m < muts && b.len > 0; m++) {
            size_t pos;
            rng = rng * 1103515245u + 12345u;
            pos = (rng >> 8) % b.len;
            switch ((rng >> 4) % 3) {
            case 0:
                b.data[pos] = (uint8_t)chars[(rng >> 20) % strlen(chars)];
                break;
            case 1:
                b.len = pos;
                break;
            default:
                if (h2a_buf_append(&b, "x", 1) == H2A_OK) {
                    memmove(&b.data[pos + 1], &b.data[pos], b.len - pos - 1);
                    b.data[pos] = (uint8_t)chars[(rng >> 22) % strlen(chars)];
                }
                break;
            }
        }
        if (h2a_json_take_string(&b, "SecretString", &out, &found) != H2A_OK) {
            h2a_err_clear();
        }
        memset(&e, 0, sizeof(e));
        (void)h2a_aws_parse_json_error((const char *)b.data, b.len, "X", &e);
        (void)h2a_aws_parse_query_error((const char *)b.data, b.len, &e);
        if (h2a_xml_take_text(&b, "SecretAccessKey", &out, &found) != H2A_OK) {
            h2a_err_clear();
        }
        if (h2a_ini_parse((const char *)b.data, b.len, "fuzz", &ini) == H2A_OK) {
            h2a_ini_free(ini);
        }
        {
            h2a_buf copy;
            h2a_buf_init_secure(&copy, 0);
            H2A_ASSERT_OK(h2a_buf_append(&copy, b.data, b.len));
            H2A_ASSERT_OK(h2a_buf_terminate(&copy));
            if (h2a_aws_creds_from_json(&copy, "fuzz", false, &c) == H2A_OK) {
                h2a_aws_credentials_free(c);
            }
            h2a_buf_free(&copy);
            h2a_buf_init_secure(&copy, 0);
            H2A_ASSERT_OK(h2a_buf_append(&copy, b.data, b.len));
            if (h2a_sts_parse_credentials(&copy, &c) == H2A_OK) {
                h2a_aws_credentials_free(c);
            }
            h2a_buf_free(&copy);
        }
        h2a_buf_free(&b);
        h2a_buf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_code),        cmocka_unit_test(test_json_error_shapes),
        cmocka_unit_test(test_query_error),       cmocka_unit_test(test_retry_classify),
        cmocka_unit_test(test_backoff_bounds),    cmocka_unit_test(test_retry_quota),
        cmocka_unit_test(test_json_take_string),  cmocka_unit_test(test_xml_take_text),
        cmocka_unit_test(test_creds_from_json),   cmocka_unit_test(test_sts_parse_credentials),
        cmocka_unit_test(test_iso8601),           cmocka_unit_test(test_form_append),
        cmocka_unit_test(test_parsers_fuzz),      cmocka_unit_test(test_xml_errors_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
