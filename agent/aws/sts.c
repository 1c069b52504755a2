/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * STS (awsQuery: form bodies, XML replies). The one AssumeRole builder is
 * here; the credential fetchers (credfetch.c) call it with their source
 * keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ops.h"

h2a_err h2a_sts_parse_credentials(h2a_buf *body, struct h2a_aws_credentials **out)
{
    h2a_buf akid;
    h2a_buf sk;
    h2a_buf tok;
    h2a_buf exp;
    time_t expiration = 0;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&akid, 0);
    h2a_buf_init_secure(&sk, 0);
    h2a_buf_init_secure(&tok, 0);
    h2a_buf_init(&exp, 0);
    if (body->data == NULL || memmem(body->data, body->len, "<Credentials>", 13) == NULL) {
        rv = h2a_err_set(H2A_ERR_AWS, "STS reply has no <Credentials> element");
        goto done;
    }
    if ((rv = h2a_xml_take_text(body, "AccessKeyId", &akid, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "SecretAccessKey", &sk, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "SessionToken", &tok, NULL)) != H2A_OK ||
        (rv = h2a_xml_take_text(body, "Expiration", &exp, NULL)) != H2A_OK ||
        (rv = h2a_buf_terminate(&akid)) != H2A_OK || (rv = h2a_buf_terminate(&sk)) != H2A_OK ||
        (rv = h2a_buf_terminate(&tok)) != H2A_OK || (rv = h2a_buf_terminate(&exp)) != H2A_OK) {
        goto done;
    }
    if ((rv = h2a_aws_parse_iso8601((const char *)exp.data, &expiration)) != H2A_OK) {
        goto done;
    }
    rv = h2a_aws_credentials_make((const char *)akid.data, (const char *)sk.data,
                                  (const char *)tok.data, expiration, out);
done:
    h2a_buf_reset(body);
    h2a_buf_free(&akid);
    h2a_buf_free(&sk);
    h2a_buf_free(&tok);
    h2a_buf_free(&exp);
    return rv;
}

/* One awsQuery call: `form` after "Action=<op>&Version=2011-06-15". */
static h2a_err s_query(H2A_AWS_CTX *ctx, const char *region, const char *op,
                       const h2a_buf *form, const struct h2a_aws_credentials *creds,
                       bool unsigned_call, h2a_buf *reply)
{
    struct h2a_aws_request rq = {.operation = op, .body = form->data, .body_len = form->len,
                                 .creds = creds, .unsigned_call = unsigned_call,
                                 /* The one unsigned call carries the web identity token. */
                                 .secret_body = unsigned_call, .secret_reply = reply->secure};

    return h2a_aws_send(ctx, H2A_AWS_SVC_STS, region, &rq, reply);
}

static h2a_err s_form_start(h2a_buf *form, const char *op)
{
    return h2a_buf_printf(form, "Action=%s&Version=2011-06-15", op);
}

h2a_err h2a_sts_get_caller_identity(H2A_AWS_CTX *ctx, const char *region,
                                    struct h2a_aws_identity *out)
{
    static const char op[] = "GetCallerIdentity";
    h2a_buf form, reply;
    xmlDoc *doc = NULL;
    const xmlNode *res = NULL;
    h2a_err rv;

    memset(out, 0, sizeof(*out));
    h2a_buf_init(&form, 0);
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    if ((rv = s_form_start(&form, op)) == H2A_OK &&
        (rv = s_query(ctx, region, op, &form, NULL, false, &reply)) == H2A_OK &&
        (rv = h2a_aws_xml_parse(ctx, H2A_AWS_SVC_STS, op, &reply, "GetCallerIdentityResponse",
                                &doc)) == H2A_OK) {
        res = h2a_xml_child(xmlDocGetRootElement(doc), "GetCallerIdentityResult");
        if (res == NULL) {
            rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, op, "expected "
                                   "<GetCallerIdentityResponse><GetCallerIdentityResult>");
        }
    }
    if (rv == H2A_OK &&
        (!h2a_xml_text(h2a_xml_child(res, "Account"), out->account, sizeof(out->account)) ||
         out->account[0] == '\0' ||
         !h2a_xml_text(h2a_xml_child(res, "Arn"), out->arn, sizeof(out->arn)) ||
         out->arn[0] == '\0')) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, op,
                               "Account and Arn are required (and bounded)");
    }
    if (rv == H2A_OK) {
        (void)h2a_xml_text(h2a_xml_child(res, "UserId"), out->user_id, sizeof(out->user_id));
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&form);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sts_assume_role_as(H2A_AWS_CTX *ctx, const struct h2a_aws_assume_role *ar,
                               const struct h2a_aws_credentials *src,
                               struct h2a_aws_credentials **out)
{
    h2a_buf form, reply;
    char dur[16], session[64];
    h2a_err rv;

    *out = NULL;
    if (ar == NULL || !h2a_aws_set(ar->role_arn)) {
        return h2a_err_set(H2A_ERR_INPUT, "AssumeRole: role_arn is required");
    }
    snprintf(session, sizeof(session), "hsm2acm-%ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(dur, sizeof(dur), "%d", ar->duration_seconds > 0 ? ar->duration_seconds : 3600);
    h2a_buf_init(&form, 0);
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    if ((rv = s_form_start(&form, "AssumeRole")) == H2A_OK &&
        (rv = h2a_form_append(&form, "RoleArn", ar->role_arn)) == H2A_OK &&
        (rv = h2a_form_append(&form, "RoleSessionName",
                              h2a_aws_set(ar->session_name) ? ar->session_name : session)) ==
            H2A_OK &&
        (rv = h2a_form_append(&form, "DurationSeconds", dur)) == H2A_OK &&
        (!h2a_aws_set(ar->external_id) ||
         (rv = h2a_form_append(&form, "ExternalId", ar->external_id)) == H2A_OK)) {
        rv = s_query(ctx, ar->region, "AssumeRole", &form, src, false, &reply);
    }
    if (rv == H2A_OK && (rv = h2a_sts_parse_credentials(&reply, out)) != H2A_OK) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, "AssumeRole", "%s", h2a_err_msg());
    }
    h2a_buf_free(&form);
    h2a_buf_free(&reply);
    return rv;
}

h2a_err h2a_sts_assume_role(H2A_AWS_CTX *ctx, const struct h2a_aws_assume_role *ar,
                            struct h2a_aws_credentials **out)
{
    return h2a_sts_assume_role_as(ctx, ar, NULL, out);
}

h2a_err h2a_sts_assume_role_with_web_identity(H2A_AWS_CTX *ctx, const char *region,
                                              const char *role_arn, const char *session_name,
                                              const char *web_identity_token,
                                              int duration_seconds,
                                              struct h2a_aws_credentials **out)
{
    static const char op[] = "AssumeRoleWithWebIdentity";
    h2a_buf form, reply;
    char dur[16];
    h2a_err rv;

    *out = NULL;
    if (!h2a_aws_set(role_arn) || !h2a_aws_set(session_name) ||
        !h2a_aws_set(web_identity_token)) {
        return h2a_err_set(H2A_ERR_INPUT, "AssumeRoleWithWebIdentity: role ARN, session name "
                           "and token are required");
    }
    snprintf(dur, sizeof(dur), "%d", duration_seconds > 0 ? duration_seconds : 3600);
    h2a_buf_init_secure(&form, 0);
    h2a_buf_init_secure(&reply, H2A_AWS_MAX_REPLY);
    if ((rv = s_form_start(&form, op)) == H2A_OK &&
        (rv = h2a_form_append(&form, "RoleArn", role_arn)) == H2A_OK &&
        (rv = h2a_form_append(&form, "RoleSessionName", session_name)) == H2A_OK &&
        (rv = h2a_form_append(&form, "WebIdentityToken", web_identity_token)) == H2A_OK &&
        (rv = h2a_form_append(&form, "DurationSeconds", dur)) == H2A_OK) {
        rv = s_query(ctx, region, op, &form, NULL, true, &reply);
    }
    if (rv == H2A_OK && (rv = h2a_sts_parse_credentials(&reply, out)) != H2A_OK) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_STS, op, "%s", h2a_err_msg());
    }
    h2a_buf_free(&form);
    h2a_buf_free(&reply);
    return rv;
}
