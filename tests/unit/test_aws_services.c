/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * The services added over the generic request, against recorded replies
 * (an in-process server): what goes on the wire (method, path, query,
 * content type, X-Amz-Target, body, signing scope) and how the replies and
 * errors of each protocol are read. Route 53 (restXml, global host, signed
 * for us-east-1), SQS (AWS JSON 1.0), ACM PCA's CA operations; and the
 * transport rules every protocol shares: no secret over http://, server
 * text escaped, the real status of a malformed 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

#include "lib/aws_script_server.h"

#define R53_NS "xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\""

static void s_assert_scope(const char *region, const char *service)
{
    char want[96];

    snprintf(want, sizeof(want), "/%s/%s/aws4_request", region, service);
    assert_non_null(strstr(S.last_auth, want));
}

static void test_route53_recorded(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *out = NULL;
    char *id = NULL, *status = NULL;
    const char *vals[] = {"\"tok<1>&\"", NULL};
    struct h2a_r53_change ch = {"UPSERT", "_acme-challenge.example.com.", "TXT", 60, vals};

    (void)state;
    s_play(200, "<?xml version=\"1.0\"?><ListHostedZonesByNameResponse " R53_NS "><HostedZones>"
           "<HostedZone><Id>/hostedzone/Z111</Id><Name>example.com.</Name><CallerReference>r"
           "</CallerReference><Config><PrivateZone>false</PrivateZone></Config>"
           "</HostedZone></HostedZones><IsTruncated>false</IsTruncated><MaxItems>5</MaxItems>"
           "</ListHostedZonesByNameResponse>", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_r53_list_hosted_zones_by_name(ctx, "example.com", 5, &out));
    assert_string_equal(S.last_line, "GET /2013-04-01/hostedzonesbyname?dnsname=example.com"
                                     "&maxitems=5 HTTP/1.1");
    assert_string_equal(S.last_target, "");
    s_assert_scope("us-east-1", "route53");
    assert_int_equal(json_object_array_length(out), 1);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_array_get_idx(out, 0), "Id")), "/hostedzone/Z111");
    json_object_put(out);
    /* Two pages: the second asked from NextRecordName/NextRecordType. */
    s_play(200, "<ListResourceRecordSetsResponse " R53_NS "><ResourceRecordSets>"
           "<ResourceRecordSet><Name>a.example.com.</Name><Type>A</Type><TTL>300</TTL>"
           "<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>"
           "</ResourceRecords></ResourceRecordSet></ResourceRecordSets><IsTruncated>true"
           "</IsTruncated><NextRecordName>b.example.com.</NextRecordName><NextRecordType>TXT"
           "</NextRecordType><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>",
           M_NORMAL, 0);
    s_play(200, "<ListResourceRecordSetsResponse " R53_NS "><ResourceRecordSets>"
           "<ResourceRecordSet><Name>b.example.com.</Name><Type>TXT</Type><TTL>60</TTL>"
           "<ResourceRecords><ResourceRecord><Value>\"x\"</Value></ResourceRecord>"
           "<ResourceRecord><Value>\"y\"</Value></ResourceRecord></ResourceRecords>"
           "</ResourceRecordSet></ResourceRecordSets><IsTruncated>false</IsTruncated>"
           "<MaxItems>1</MaxItems></ListResourceRecordSetsResponse>", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_r53_list_resource_record_sets(ctx, "/hostedzone/Z111", &out));
    assert_string_equal(S.last_line, "GET /2013-04-01/hostedzone/Z111/rrset?name=b.example.com."
                                     "&type=TXT HTTP/1.1");
    assert_int_equal(json_object_array_length(out), 2);
    assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(out, 1),
                                                       JSON_C_TO_STRING_PLAIN),
                        "{\"Values\":[\"\\\"x\\\"\",\"\\\"y\\\"\"],\"Name\":\"b.example.com.\","
                        "\"Type\":\"TXT\",\"TTL\":60}");
    json_object_put(out);
    s_play(200, "<ChangeResourceRecordSetsResponse " R53_NS "><ChangeInfo><Id>/change/C2682N5"
           "</Id><Status>PENDING</Status><SubmittedAt>2026-12-04T20:00:00.000Z</SubmittedAt>"
           "</ChangeInfo></ChangeResourceRecordSetsResponse>", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_r53_change_resource_record_sets(ctx, "Z111", "dns-01", &ch, 1, &id,
                                                      &status));
    assert_string_equal(S.last_line, "POST /2013-04-01/hostedzone/Z111/rrset/ HTTP/1.1");
    assert_string_equal(S.last_ctype, "application/xml");
    assert_non_null(strstr(S.last_body, "<Change><Action>UPSERT</Action><ResourceRecordSet>"
                                        "<Name>_acme-challenge.example.com.</Name><Type>TXT"
                                        "</Type><TTL>60</TTL><ResourceRecords><ResourceRecord>"
                                        "<Value>\"tok&lt;1&gt;&amp;\"</Value>"));
    assert_non_null(strstr(S.last_body, "<Comment>dns-01</Comment>"));
    assert_string_equal(id, "/change/C2682N5");
    assert_string_equal(status, "PENDING");
    free(status);
    status = NULL;
    s_play(200, "<GetChangeResponse " R53_NS "><ChangeInfo><Id>/change/C2682N5</Id><Status>"
           "INSYNC</Status></ChangeInfo></GetChangeResponse>", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_r53_get_change(ctx, id, &status));
    assert_string_equal(S.last_line, "GET /2013-04-01/change/C2682N5 HTTP/1.1");
    assert_string_equal(status, "INSYNC");
    free(status);
    free(id);
    h2a_aws_ctx_free(ctx);
}

static void test_route53_errors(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *out = NULL;
    char *id = NULL, *status = NULL;
    const char *vals[] = {"\"a\"", NULL};
    struct h2a_r53_change ch = {"CREATE", "x.evil.com.", "TXT", 60, vals};

    (void)state;
    s_play(404, "<ErrorResponse " R53_NS "><Error><Type>Sender</Type><Code>NoSuchHostedZone"
           "</Code><Message>No hosted zone found with ID: Z9</Message></Error><RequestId>"
           "r-1</RequestId></ErrorResponse>", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_r53_list_resource_record_sets(ctx, "Z9", &out), H2A_ERR_AWS,
                   "route53 ListResourceRecordSets: HTTP 404 NoSuchHostedZone: No hosted zone "
                   "found with ID: Z9");
    assert_true(h2a_aws_last_error_is(ctx, "NoSuchHostedZone"));
    s_play(400, "<InvalidChangeBatch " R53_NS "><Messages><Message>RRSet with DNS name "
           "x.evil.com. is not permitted in zone example.com.</Message></Messages>"
           "</InvalidChangeBatch>", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_r53_change_resource_record_sets(ctx, "Z111", NULL, &ch, 1, &id,
                                                       &status),
                   H2A_ERR_AWS, "HTTP 400 InvalidChangeBatch: RRSet with DNS name x.evil.com.");
    s_play(200, "<GetChangeResponse " R53_NS "><ChangeInfo><Id>/change/C1</Id></ChangeInfo>"
           "</GetChangeResponse>", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_r53_get_change(ctx, "C1", &status), H2A_ERR_AWS,
                   "HTTP 200: malformed reply: ChangeInfo needs Id and Status");
    H2A_ASSERT_ERR(h2a_r53_get_change(ctx, "/change/../x", &status), H2A_ERR_INPUT,
                   "GetChange");
    assert_int_equal(S.requests, 3);
    /* A page that names itself as the next one (found by fuzz_aws_route53): not followed. */
    for (int i = 0; i < 2; i++) {
        s_play(200, "<ListResourceRecordSetsResponse " R53_NS "><ResourceRecordSets/>"
               "<IsTruncated>true</IsTruncated><NextRecordName>b.example.com.</NextRecordName>"
               "<NextRecordType>TXT</NextRecordType></ListResourceRecordSetsResponse>",
               M_NORMAL, 0);
    }
    H2A_ASSERT_ERR(h2a_r53_list_resource_record_sets(ctx, "Z111", &out), H2A_ERR_AWS,
                   "NextRecordName repeats (page 2)");
    assert_null(out);
    assert_int_equal(S.requests, 5);
    h2a_aws_ctx_free(ctx);
}

static void test_sqs_recorded(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    struct h2a_sqs_receive rcv = {10, 20, 120};
    json_object *msgs = NULL;
    char *url = NULL, *mid = NULL;

    (void)state;
    s_play(200, "{\"QueueUrl\":\"https://sqs.eu-west-1.amazonaws.com/1/requests\"}", M_NORMAL,
           0);
    H2A_ASSERT_OK(h2a_sqs_get_queue_url(ctx, NULL, "requests", NULL, &url));
    assert_string_equal(S.last_line, "POST / HTTP/1.1");
    assert_string_equal(S.last_ctype, "application/x-amz-json-1.0");
    assert_string_equal(S.last_target, "AmazonSQS.GetQueueUrl");
    assert_string_equal(S.last_body, "{\"QueueName\":\"requests\"}");
    s_assert_scope("eu-west-1", "sqs");
    s_play(200, "{\"Messages\":[{\"MessageId\":\"m-1\",\"ReceiptHandle\":\"rh-1\",\"Body\":"
           "\"{\\\"id\\\":1}\",\"MD5OfBody\":\"x\"}]}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs));
    assert_string_equal(S.last_target, "AmazonSQS.ReceiveMessage");
    assert_string_equal(S.last_body, "{\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":20,"
                                     "\"VisibilityTimeout\":120,\"QueueUrl\":\"https:\\/\\/sqs."
                                     "eu-west-1.amazonaws.com\\/1\\/requests\"}");
    assert_int_equal(json_object_array_length(msgs), 1);
    json_object_put(msgs);
    s_play(200, "{}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs));
    assert_int_equal(json_object_array_length(msgs), 0);
    json_object_put(msgs);
    s_play(200, "{}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sqs_change_message_visibility(ctx, NULL, url, "rh-1", 0));
    assert_string_equal(S.last_target, "AmazonSQS.ChangeMessageVisibility");
    assert_non_null(strstr(S.last_body, "\"ReceiptHandle\":\"rh-1\",\"VisibilityTimeout\":0"));
    s_play(200, "{}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sqs_delete_message(ctx, NULL, url, "rh-1"));
    assert_string_equal(S.last_target, "AmazonSQS.DeleteMessage");
    s_play(200, "{\"MessageId\":\"m-2\",\"MD5OfMessageBody\":\"y\"}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sqs_send_message(ctx, NULL, url, "hello", 0, &mid));
    assert_string_equal(S.last_body, "{\"MessageBody\":\"hello\",\"QueueUrl\":\"https:\\/\\/sqs."
                                     "eu-west-1.amazonaws.com\\/1\\/requests\"}");
    assert_string_equal(mid, "m-2");
    free(mid);
    mid = NULL;
    s_play(400, "{\"__type\":\"com.amazonaws.sqs#ReceiptHandleIsInvalid\",\"message\":\"bad\"}",
           M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_sqs_delete_message(ctx, NULL, url, "stale"), H2A_ERR_AWS,
                   "sqs DeleteMessage: HTTP 400 ReceiptHandleIsInvalid: bad");
    s_play(200, "{\"Messages\":[{\"MessageId\":\"m-3\"}]}", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs), H2A_ERR_AWS,
                   "member ReceiptHandle missing");
    rcv.max_messages = 11;
    H2A_ASSERT_ERR(h2a_sqs_receive_message(ctx, NULL, url, &rcv, &msgs), H2A_ERR_INPUT,
                   "max_messages");
    free(url);
    h2a_aws_ctx_free(ctx);
}

static void test_pca_ca_recorded(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *ca = NULL;
    char *cert = NULL, *chain = NULL;
    const char *arn = "arn:aws:acm-pca:eu-west-1:1:certificate-authority/x";

    (void)state;
    s_play(200, "{\"CertificateAuthority\":{\"Arn\":\"arn:x\",\"Status\":\"ACTIVE\","
           "\"CertificateAuthorityConfiguration\":{\"KeyAlgorithm\":\"RSA_2048\"}}}",
           M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_pca_describe_certificate_authority(ctx, NULL, arn, &ca));
    assert_string_equal(S.last_target, "ACMPrivateCA.DescribeCertificateAuthority");
    assert_string_equal(S.last_ctype, "application/x-amz-json-1.1");
    assert_string_equal(json_object_get_string(json_object_object_get(ca, "Status")), "ACTIVE");
    json_object_put(ca);
    s_play(200, "{\"Certificate\":\"-----BEGIN CERTIFICATE-----\\nA\\n-----END CERTIFICATE-----"
           "\\n\",\"CertificateChain\":\"C\"}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_pca_get_certificate_authority_certificate(ctx, NULL, arn, &cert, &chain));
    assert_string_equal(S.last_target, "ACMPrivateCA.GetCertificateAuthorityCertificate");
    assert_non_null(strstr(cert, "BEGIN CERTIFICATE"));
    assert_string_equal(chain, "C");
    free(cert);
    free(chain);
    s_play(200, "{\"CertificateAuthority\":[]}", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_pca_describe_certificate_authority(ctx, NULL, arn, &ca), H2A_ERR_AWS,
                   "acm-pca DescribeCertificateAuthority: HTTP 200: malformed reply: member "
                   "CertificateAuthority: expected an object");
    h2a_aws_ctx_free(ctx);
}

/* CreateSecret of a name AWS is still deleting: bounded backoff, then it works. */
static void test_create_secret_waits_out_deletion(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    h2a_buf v;
    struct h2a_sm_create in = {.name = "hsm2acm/staging/r/t0",
                               .client_request_token = "0123456789abcdef0123456789abcdef"};
    static const char sched[] = "{\"__type\":\"InvalidRequestException\",\"Message\":\"You "
                                "can't create this secret because a secret with this name is "
                                "already scheduled for deletion.\"}";

    (void)state;
    h2a_buf_init_secure(&v, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&v, "{\"wrapped\":1}"));
    in.secret_string = &v;
    s_play(400, sched, M_NORMAL, 0);
    s_play(400, sched, M_NORMAL, 0);
    s_play(200, "{\"ARN\":\"arn:aws:secretsmanager:eu-west-1:1:secret:x\",\"Name\":\"x\"}",
           M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_sm_create_secret(ctx, NULL, &in, NULL));
    assert_int_equal(S.requests, 3);
    assert_int_equal(s_n_delays, 2);
    assert_int_equal(s_delays[0], 250);
    assert_int_equal(s_delays[1], 500);
    /* Another InvalidRequestException is final at once. */
    s_reset_script();
    s_play(400, "{\"__type\":\"InvalidRequestException\",\"Message\":\"marked for "
           "deletion\"}", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_sm_create_secret(ctx, NULL, &in, NULL), H2A_ERR_AWS,
                   "HTTP 400 InvalidRequestException: marked for deletion");
    assert_int_equal(S.requests, 1);
    /* Bounded: a name that never frees up fails after about a minute of backoff. */
    s_reset_script();
    for (int i = 0; i < MAX_SCRIPT; i++) {
        s_play(400, sched, M_NORMAL, 0);
    }
    H2A_ASSERT_ERR(h2a_sm_create_secret(ctx, NULL, &in, NULL), H2A_ERR_AWS,
                   "scheduled for deletion");
    assert_true(S.requests > 10 && S.requests < MAX_SCRIPT);
    h2a_buf_free(&v);
    h2a_aws_ctx_free(ctx);
}

/* Calls that carry key material or credentials never go to an http:// endpoint. */
static void test_plain_http_refused(void **state)
{
    H2A_AWS_CTX *ctx = NULL;
    h2a_buf key, val;
    struct h2a_acm_import imp = {.certificate_pem = "-----BEGIN CERTIFICATE-----\nA\n"};
    struct h2a_sm_create cs = {.name = "n", .client_request_token =
                                                "0123456789abcdef0123456789abcdef"};
    struct h2a_aws_assume_role ar = {.role_arn = "arn:aws:iam::1:role/r"};
    struct h2a_aws_credentials *cr = NULL;
    json_object *d = NULL;
    char *arn = NULL;
    static const char want[] = "refused over plain http:// (http://127.0.0.1:";

    (void)state;
    s_reset_script();
    H2A_ASSERT_OK(h2a_aws_ctx_new(NULL, &ctx)); /* AWS_ENDPOINT_URL is http:// here */
    h2a_buf_init_secure(&key, 0);
    h2a_buf_init_secure(&val, 0);
    H2A_ASSERT_OK(h2a_buf_append_str(&key, "-----BEGIN PRIVATE KEY-----\nB\n"));
    H2A_ASSERT_OK(h2a_buf_append_str(&val, "{}"));
    imp.private_key_pem = &key;
    cs.secret_string = &val;
    H2A_ASSERT_ERR(h2a_acm_import_certificate(ctx, NULL, &imp, &arn), H2A_ERR_USAGE, want);
    assert_non_null(strstr(h2a_err_msg(), "set by AWS_ENDPOINT_URL)"));
    H2A_ASSERT_ERR(h2a_sm_create_secret(ctx, NULL, &cs, NULL), H2A_ERR_USAGE,
                   "secretsmanager CreateSecret: refused over plain http://");
    H2A_ASSERT_ERR(h2a_sm_get_secret_value(ctx, NULL, "n", &val, NULL), H2A_ERR_USAGE,
                   "secretsmanager GetSecretValue: refused over plain http://");
    H2A_ASSERT_ERR(h2a_sts_assume_role(ctx, &ar, &cr), H2A_ERR_USAGE,
                   "sts AssumeRole: refused over plain http://");
    H2A_ASSERT_ERR(h2a_aws_ctx_require_https(ctx, H2A_AWS_SVC_ACM, "ImportCertificate"),
                   H2A_ERR_USAGE, want);
    assert_int_equal(S.requests, 0);
    /* Nothing secret in DescribeCertificate: it goes through. */
    s_play(200, "{\"Certificate\":{\"CertificateArn\":\"arn:x\"}}", M_NORMAL, 0);
    H2A_ASSERT_OK(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d));
    assert_int_equal(S.requests, 1);
    json_object_put(d);
    h2a_buf_free(&key);
    h2a_buf_free(&val);
    h2a_aws_ctx_free(ctx);
}

/*
 * What a server says is shown, never obeyed: newlines and ANSI escapes in an
 * error are escaped; a 200 that breaks the protocol shows its real status.
 */
static void test_server_text_and_status(void **state)
{
    H2A_AWS_CTX *ctx = s_ctx();
    json_object *d = NULL;

    (void)state;
    s_play(400, "{\"__type\":\"ValidationException\",\"message\":\"bad\\n\\u001b[31mFAKE: "
           "all good\\u001b[0m\\r\"}", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "ValidationException: bad\\n\\x1b[31mFAKE: all good\\x1b[0m\\r");
    assert_null(strchr(h2a_err_msg(), '\n'));
    assert_null(strchr(h2a_err_msg(), 0x1b));
    s_play(200, "{\"Certificate\":", M_NORMAL, 0);
    H2A_ASSERT_ERR(h2a_acm_describe_certificate(ctx, NULL, "arn:x", &d), H2A_ERR_AWS,
                   "acm DescribeCertificate: HTTP 200: malformed reply: reply is not JSON");
    assert_int_equal(h2a_aws_last_error(ctx)->http_status, 200);
    h2a_aws_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route53_recorded),
        cmocka_unit_test(test_route53_errors),
        cmocka_unit_test(test_sqs_recorded),
        cmocka_unit_test(test_pca_ca_recorded),
        cmocka_unit_test(test_create_secret_waits_out_deletion),
        cmocka_unit_test(test_plain_http_refused),
        cmocka_unit_test(test_server_text_and_status),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
