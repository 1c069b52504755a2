/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws/h2a_aws.h"
#include "enroll/h2a_enroll.h"
#include "renew/renew_int.h"

/* Only IMPORTED certificates are ours to replace: ACM renews the others itself. */
static h2a_err s_type_ok(const char *arn, const char *type)
{
    if (type != NULL && strcmp(type, "IMPORTED") == 0) {
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_POLICY, "adopt %s: its Type is %s; only IMPORTED certificates "
                       "can be adopted (%s)", arn, type != NULL ? type : "(none)",
                       type != NULL && strcmp(type, "AMAZON_ISSUED") == 0
                           ? "ACM issues and renews an AMAZON_ISSUED one itself, and a "
                             "reimport over it is refused"
                       : type != NULL && strcmp(type, "PRIVATE") == 0
                           ? "a PRIVATE one is issued and renewed by AWS Private CA through "
                             "ACM, whose key never leaves AWS"
                           : "ACM accepts a reimport only over an imported certificate");
}

static json_object *s_bits(unsigned bits, const char *(*name)(unsigned))
{
    json_object *a = json_object_new_array();

    for (unsigned bit = 1; bit < 0x400u; bit <<= 1) {
        if ((bits & bit) != 0 && name(bit) != NULL) {
            json_object_array_add(a, json_object_new_string(name(bit)));
        }
    }
    return a;
}

/*
 * The request a DescribeCertificate answer stands for: its names, its
 * usages, a key of the type it has now ("inherit"), reimported into it.
 */
static h2a_err s_request(const char *arn, const char *region, const h2a_cert_usage *u,
                         const char *issuer, const char *requester, h2a_request **out)
{
    json_object *o = json_object_new_object(), *dns = json_object_new_array();
    json_object *t = json_object_new_object(), *ts = json_object_new_array();
    const char *slash = strrchr(arn, '/');
    char id[96], subject[300];
    const char *text;
    h2a_err rv;

    if (u->n_names == 0) {
        json_object_put(o);
        json_object_put(dns);
        json_object_put(t);
        json_object_put(ts);
        return h2a_err_set(H2A_ERR_POLICY, "adopt %s: the certificate has no domain name", arn);
    }
    snprintf(id, sizeof(id), "adopt-%s", slash != NULL ? slash + 1 : arn);
    snprintf(subject, sizeof(subject), "CN=%s", u->names[0]);
    for (size_t i = 0; i < u->n_names; i++) {
        json_object_array_add(dns, json_object_new_string(u->names[i]));
    }
    json_object_object_add(t, "region", json_object_new_string(region));
    json_object_object_add(t, "certificate_arn", json_object_new_string(arn));
    json_object_array_add(ts, t);
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "subject", json_object_new_string(subject));
    json_object_object_add(o, "dns", dns);
    json_object_object_add(o, "key", json_object_new_string("inherit"));
    json_object_object_add(o, "key_usage", s_bits(u->ku, h2a_ku_acm_name));
    json_object_object_add(o, "extended_key_usage",
                           s_bits(u->eku & H2A_EKU_REQUESTABLE, h2a_eku_acm_name));
    json_object_object_add(o, "issuer", json_object_new_string(issuer));
    json_object_object_add(o, "requester", json_object_new_string(requester));
    json_object_object_add(o, "targets", ts);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    rv = h2a_request_parse(text, strlen(text), out);
    json_object_put(o);
    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "adopt %s: ", arn);
    }
    (*out)->reason = "adopt";
    return H2A_OK;
}

/* Describe the ARN (no journal, no inventory needed) and make its request. */
static h2a_err s_describe(const h2a_config *cfg, const char *arn, const char *issuer,
                          const char *requester, h2a_request **out)
{
    struct h2a_acm_arn a;
    struct h2a_aws_config ac;
    H2A_AWS_CTX *ctx = NULL;
    json_object *d = NULL, *type = NULL;
    h2a_cert_usage u = {0};
    h2a_err rv;

    H2A_GUARD(h2a_acm_arn_parse("ARN", arn, &a));
    memset(&ac, 0, sizeof(ac));
    h2a_config_aws(&cfg->aws, &ac);
    rv = h2a_aws_ctx_new(&ac, &ctx);
    if (rv == H2A_OK) {
        rv = h2a_acm_describe_certificate(ctx, a.region, arn, &d);
    }
    if (rv == H2A_OK) {
        json_object_object_get_ex(d, "Type", &type);
        rv = s_type_ok(arn, type != NULL ? json_object_get_string(type) : NULL);
    }
    if (rv == H2A_OK) {
        rv = h2a_enroll_usage_from_describe(d, &u);
    }
    if (rv == H2A_OK) {
        rv = s_request(arn, a.region, &u, issuer, requester, out);
    }
    h2a_cert_usage_cleanup(&u);
    json_object_put(d);
    h2a_aws_ctx_free(ctx);
    return rv;
}

h2a_err h2a_renew_adopt(const h2a_config *cfg, const char *arn, const char *issuer,
                        const char *requester, h2a_buf *out)
{
    h2a_renew_locks lk = {NULL, 0};
    h2a_request *q = NULL;
    H2A_JOURNAL *j = NULL;
    h2a_err rv;

    /* The journal makes the state directory the ARN lock lives in. */
    H2A_GUARD(h2a_journal_open(cfg->state_dir, &j));
    h2a_journal_close(j);
    H2A_GUARD(h2a_renew_lock(cfg, arn, NULL, &lk));
    rv = s_describe(cfg, arn, issuer, requester, &q);
    /* Policy, authorization and the reimport rules: the enroll path's validate step. */
    if (rv == H2A_OK) {
        rv = h2a_enroll_run(cfg, q, NULL, out);
    }
    h2a_request_free(q);
    h2a_renew_unlock(&lk);
    return rv;
}
