/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * One assumed-role session shared by contexts on other connections
 * (h2a_aws_ctx_share_session, as discover's threads share an account's
 * role): one AssumeRole for all of them, each call over its own ctx's
 * connection and signed with the session's keys, and credentials near
 * expiry refreshed once, by the first ctx that needs them, for all. Against
 * recorded replies on an in-process loopback server. Runs under ASan in CI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

#include "lib/aws_script_server.h"

static const char s_detail[] = "{\"Certificate\":{\"CertificateArn\":\"arn:aws:acm:eu-west-1:"
                               "222222222222:certificate/x\",\"KeyAlgorithm\":\"RSA_2048\"}}";

/* An STS AssumeRole reply for key `akid` expiring `in_s` seconds from now. */
static const char *s_assumed(const char *akid, long in_s)
{
    static char xml[4][1024];
    static int i;
    char exp[32];
    time_t t = time(NULL) + in_s;
    struct tm tm;

    i = (i + 1) % 4;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(xml[i], sizeof(xml[i]),
             "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
             "<AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId>"
             "<SecretAccessKey>secret-of-%s</SecretAccessKey><SessionToken>token-of-%s"
             "</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser>"
             "<Arn>arn:aws:sts::222222222222:assumed-role/Org/s</Arn></AssumedRoleUser>"
             "</AssumeRoleResult></AssumeRoleResponse>",
             akid, akid, akid, exp);
    return xml[i];
}

static const struct h2a_aws_assume_role s_role = {
    .role_arn = "arn:aws:iam::222222222222:role/Org", .session_name = "hsm2acm-discover-2"};

/* One DescribeCertificate on ctx, which must be signed with key `akid`. */
static void s_describe_as(H2A_AWS_CTX *ctx, const char *akid)
{
    json_object *d = NULL;
    char cred[64];
    char tok[64];

    s_play(200, s_detail, M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    json_object_put(d);
    snprintf(cred, sizeof(cred), "Credential=%s/", akid);
    snprintf(tok, sizeof(tok), "token-of-%s", akid);
    assert_non_null(strstr(S.last_auth, cred));
    assert_string_equal(S.last_token, tok);
    assert_string_equal(S.last_target, "CertificateManager.DescribeCertificate");
}

static void test_one_assume_for_all(void **state)
{
    H2A_AWS_CTX *base = s_ctx();
    H2A_AWS_CTX *other = NULL, *session = NULL, *a = NULL, *b = NULL;
    struct h2a_aws_stats st;

    (void)state;
    s_play(200, s_assumed("ASIAONE", 3600), M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_aws_ctx_assume_role(base, &s_role, &session));
    assert_int_equal(S.requests, 1);
    assert_non_null(strstr(S.last_body, "Action=AssumeRole&"));
    /* Another thread's ctx (its own connections) and one on base's. */
    H2A_ASSERT_OK(h2a_aws_ctx_clone(base, &other));
    H2A_ASSERT_OK(h2a_aws_ctx_share_session(other, session, &a));
    H2A_ASSERT_OK(h2a_aws_ctx_share_session(base, session, &b));
    s_describe_as(a, "ASIAONE");
    assert_int_equal(S.accepts, 2); /* a went over other's connection, not base's */
    s_describe_as(b, "ASIAONE");
    assert_int_equal(S.accepts, 2);
    h2a_aws_ctx_stats(a, &st);
    assert_int_equal(st.endpoints, 1);
    /* The session may go first: the shared contexts hold their references. */
    h2a_aws_ctx_free(session);
    s_describe_as(a, "ASIAONE");
    s_describe_as(b, "ASIAONE");
    assert_int_equal(S.requests, 5); /* one AssumeRole, four calls */
    h2a_aws_ctx_free(a);
    h2a_aws_ctx_free(b);
    h2a_aws_ctx_free(other);
    h2a_aws_ctx_free(base);
}

/* Credentials within the refresh margin (5 min) are renewed once, for every sharer. */
static void test_refresh_before_expiry(void **state)
{
    H2A_AWS_CTX *base = s_ctx();
    H2A_AWS_CTX *other = NULL, *session = NULL, *a = NULL, *b = NULL;

    (void)state;
    s_play(200, s_assumed("ASIAOLD", 200), M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_aws_ctx_assume_role(base, &s_role, &session));
    H2A_ASSERT_OK(h2a_aws_ctx_clone(base, &other));
    h2a_aws_ctx_allow_plain_http_secrets(other); /* a renews over it: STS on this http server */
    H2A_ASSERT_OK(h2a_aws_ctx_share_session(other, session, &a));
    H2A_ASSERT_OK(h2a_aws_ctx_share_session(base, session, &b));
    /* a's first call finds them expiring: AssumeRole again (on a's connection), then the call. */
    s_play(200, s_assumed("ASIANEW", 3600), M_NORMAL, 0);
    s_describe_as(a, "ASIANEW");
    assert_int_equal(S.requests, 3);
    assert_int_equal(S.accepts, 2);
    /* b shares the renewed ones: no second AssumeRole. */
    s_describe_as(b, "ASIANEW");
    s_describe_as(a, "ASIANEW");
    assert_int_equal(S.requests, 5);
    h2a_aws_ctx_free(a);
    h2a_aws_ctx_free(b);
    h2a_aws_ctx_free(session);
    h2a_aws_ctx_free(other);
    h2a_aws_ctx_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_assume_for_all),
        cmocka_unit_test(test_refresh_before_expiry),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
