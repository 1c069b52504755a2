/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * EC2 DescribeRegions (discovery's scope.regions ["all"]) against recorded
 * replies on an in-process loopback server: the regions of a good reply,
 * and what an error reply becomes. EC2's errors are not awsQuery's
 * <ErrorResponse> but <Response><Errors><Error>; the code read from them
 * decides retries (RequestLimitExceeded) and the message discover reports
 * for the account, and every failure is H2A_ERR_AWS, exit 5. Runs under ASan in CI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

#include "lib/aws_script_server.h"

#define S_FORM "Action=DescribeRegions&Version=2016-11-15"

static const char s_two[] =
    "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>r-1</requestId><regionInfo>"
    "<item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com"
    "</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
    "<item><regionName>af-south-1</regionName><optInStatus>opted-in</optInStatus></item>"
    "</regionInfo></DescribeRegionsResponse>";

/* EC2's error shape, as AWS and tests/localaws send it. */
#define S_EC2_ERROR(code, msg)                                                             \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" code      \
    "</Code><Message>" msg "</Message></Error></Errors><RequestID>ec2-rid-1</RequestID>"   \
    "</Response>"

/* DescribeRegions must fail with `status`/`code` and a message containing `needle`. */
static void s_fails(H2A_AWS_CTX *ctx, long status, const char *code, const char *needle)
{
    json_object *out = NULL;
    const struct h2a_aws_error *e;

    H2A_ASSERT_ERR(h2a_ec2_enabled_regions(ctx, NULL, &out), H2A_ERR_AWS, needle);
    assert_null(out); /* nothing half-made for the caller to walk */
    /* AWS errors are exit 5: discover reports the account and goes on. */
    assert_int_equal(h2a_err_exit_code(H2A_ERR_AWS), 5);
    e = h2a_aws_last_error(ctx);
    assert_string_equal(e->service, "ec2");
    assert_string_equal(e->operation, "DescribeRegions");
    assert_int_equal(e->http_status, status);
    assert_string_equal(e->code, code);
    assert_true(h2a_aws_last_error_is(ctx, code) || code[0] == '\0');
    assert_false(e->network);
}

static void test_regions_ok(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *out = NULL;

    (void)state;
    s_play(200, s_two, M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_ec2_enabled_regions(ctx, NULL, &out));
    assert_int_equal(json_object_array_length(out), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(out, 0)), "eu-west-1");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(out, 1)), "af-south-1");
    json_object_put(out);
    /* The query protocol's form, signed for ec2 in the ctx's region. */
    assert_string_equal(S.last_body, S_FORM);
    assert_string_equal(S.last_ctype, "application/x-www-form-urlencoded; charset=utf-8");
    assert_string_equal(S.last_target, "");
    assert_non_null(strstr(S.last_auth, "/eu-west-1/ec2/aws4_request"));
    assert_int_equal(S.requests, 1);
    h2a_aws_ctx_free(ctx);
}

static void test_unauthorized_operation(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();

    (void)state;
    s_play(403, S_EC2_ERROR("UnauthorizedOperation", "You are not authorized to perform this "
                            "operation. User: arn:aws:sts::2:assumed-role/r/s &amp; more"),
           M_NORMAL, 0);
    s_fails(ctx, 403, "UnauthorizedOperation",
            "ec2 DescribeRegions: HTTP 403 UnauthorizedOperation: You are not authorized to "
            "perform this operation. User: arn:aws:sts::2:assumed-role/r/s & more");
    assert_string_equal(h2a_aws_last_error(ctx)->message,
                        "You are not authorized to perform this operation. User: "
                        "arn:aws:sts::2:assumed-role/r/s & more");
    /* The reply's x-amzn-RequestId header names the request. */
    assert_non_null(strstr(h2a_err_msg(), "(request id rid-1)"));
    assert_int_equal(S.requests, 1); /* a refusal is not retried */
    h2a_aws_ctx_free(ctx);
}

static void test_auth_failure(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();

    (void)state;
    s_play(401, S_EC2_ERROR("AuthFailure", "AWS was not able to validate the provided access "
                            "credentials"), M_NORMAL, 0);
    s_fails(ctx, 401, "AuthFailure",
            "HTTP 401 AuthFailure: AWS was not able to validate the provided access credentials");
    assert_int_equal(S.requests, 1);
    h2a_aws_ctx_free(ctx);
}

/* EC2's throttling code (not ACM's ThrottlingException) is retried with backoff. */
static void test_request_limit_exceeded(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *out = NULL;

    (void)state;
    s_play(503, S_EC2_ERROR("RequestLimitExceeded", "Request limit exceeded."), M_NORMAL, 0);
    s_play(200, s_two, M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_ec2_enabled_regions(ctx, NULL, &out));
    json_object_put(out);
    assert_int_equal(S.requests, 2);
    assert_int_equal(s_n_delays, 1);
    /* Every attempt refused: the last code is reported, with the attempts. */
    s_reset_script();
    for (int i = 0; i < 3; i++) {
        s_play(503, S_EC2_ERROR("RequestLimitExceeded", "Request limit exceeded."), M_NORMAL, 0);
    }
    s_fails(ctx, 503, "RequestLimitExceeded",
            "HTTP 503 RequestLimitExceeded: Request limit exceeded. (request id rid-3) after 3 "
            "attempts");
    h2a_aws_ctx_free(ctx);
}

/* Error bodies that are not EC2 XML: no code is made up, the status is kept. */
static void test_unreadable_error_bodies(void **state)
{
    static const char *const bodies[] = {
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>cut",
        "<html><body><h1>403 Forbidden</h1>proxy says no</body></html>",
        "{\"__type\":\"UnauthorizedOperation\",\"message\":\"JSON is not EC2's\"}",
        "<Response><Errors></Errors></Response>",
        "",
    };
    H2A_AWS_CTX *ctx = s_ctx();

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        s_reset_script();
        s_play(403, bodies[i], M_NORMAL, 0);
        s_fails(ctx, 403, "", "ec2 DescribeRegions: HTTP 403 (no error code): (no message)");
        assert_int_equal(S.requests, 1);
    }
    h2a_aws_ctx_free(ctx);
}

/* A 2xx that is not a DescribeRegionsResponse with valid region names is refused. */
static void test_malformed_success(void **state)
{
    static const struct {
        const char *body;
        const char *needle;
    } cases[] = {
        {"{\"Regions\":[{\"RegionName\":\"eu-west-1\"}]}",
         "malformed reply: expected an XML <DescribeRegionsResponse> reply"},
        {"<DescribeRegionsResponse><regionInfo><item><regionName>eu-west-1", "malformed reply"},
        {S_EC2_ERROR("UnauthorizedOperation", "an error with a 200"),
         "expected an XML <DescribeRegionsResponse> reply"},
        {"<DescribeRegionsResponse><requestId>x</requestId></DescribeRegionsResponse>",
         "expected <DescribeRegionsResponse><regionInfo>"},
        {"<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>",
         "no region is enabled"},
        {"<DescribeRegionsResponse><regionInfo><item><regionName>eu-west-1.evil.example/x"
         "</regionName></item></regionInfo></DescribeRegionsResponse>",
         "an item without a valid regionName"},
        {"<DescribeRegionsResponse><regionInfo><item><optInStatus>opted-in</optInStatus>"
         "</item></regionInfo></DescribeRegionsResponse>",
         "an item without a valid regionName"},
        {"", "empty reply, expected XML"},
    };
    H2A_AWS_CTX *ctx = s_ctx();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_reset_script();
        s_play(200, cases[i].body, M_NORMAL, 0);
        s_fails(ctx, 200, "", cases[i].needle);
        assert_true(h2a_aws_last_error(ctx)->malformed);
        assert_int_equal(S.requests, 1);
    }
    h2a_aws_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions_ok),
        cmocka_unit_test(test_unauthorized_operation),
        cmocka_unit_test(test_auth_failure),
        cmocka_unit_test(test_request_limit_exceeded),
        cmocka_unit_test(test_unreadable_error_bodies),
        cmocka_unit_test(test_malformed_success),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
