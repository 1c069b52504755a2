/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "config/h2a_jv.h"
#include "enroll/h2a_request.h"
#include "h2a_keygen.h"

#define H2A_REQUEST_MAX_BYTES (256u * 1024u)

static const char *const s_req_keys[] = {
    "id", "subject", "dns", "ip", "key", "digest", "key_usage",
    "extended_key_usage", "issuer", "requester", "targets", NULL};
static const char *const s_target_keys[] = {
    "region", "account", "certificate_arn", "tags", "service", NULL};

/* KeyUsage / EKU names are ACM's, from the one table in common/usage.c. */

const char *h2a_service_name(h2a_service s)
{
    switch (s) {
    case H2A_SERVICE_CLOUDFRONT:
        return "cloudfront";
    case H2A_SERVICE_ELB:
        return "elb";
    case H2A_SERVICE_NONE:
    default:
        return NULL;
    }
}

static void s_target_clear(h2a_target *t)
{
    free(t->region);
    free(t->account);
    free(t->certificate_arn);
    for (size_t i = 0; i < t->n_tags; i++) {
        free(t->tags[i].key);
        free(t->tags[i].value);
    }
    free(t->tags);
}

void h2a_request_free(h2a_request *r)
{
    if (r == NULL) {
        return;
    }
    free(r->id);
    free(r->subject);
    h2a_jv_strv_free(r->dns);
    h2a_jv_strv_free(r->ip);
    free(r->digest);
    free(r->issuer);
    free(r->requester);
    h2a_cert_names_cleanup(&r->names);
    for (size_t i = 0; i < r->n_targets; i++) {
        s_target_clear(&r->targets[i]);
    }
    free(r->targets);
    free(r);
}

h2a_err h2a_request_id_check(const char *field, const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > H2A_REQUEST_ID_MAX || !isalnum((unsigned char)id[0]) ||
        !h2a_jv_charset_ok(id, "._-")) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%.80s' must be 1..%d characters of A-Z a-z 0-9 . _ - "
                           "starting with a letter or digit",
                           field, id, H2A_REQUEST_ID_MAX);
    }
    return H2A_OK;
}

size_t h2a_request_root_len(const char *id, const char *reason)
{
    const char *dot = strrchr(id, '.');

    if (reason != NULL && strcmp(reason, "enroll") != 0 && dot != NULL &&
        (dot[1] == 'g' || dot[1] == 'r') && dot[2] != '\0' &&
        strspn(dot + 2, "0123456789") == strlen(dot + 2)) {
        return (size_t)(dot - id);
    }
    return strlen(id);
}

static bool s_region_ok(const char *r)
{
    /* e.g. eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-3 */
    size_t n = strlen(r);

    if (n < 9 || n > 25 || !islower((unsigned char)r[0]) ||
        !isdigit((unsigned char)r[n - 1]) || r[n - 2] != '-' ||
        strchr(r, '-') == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!islower((unsigned char)r[i]) && !isdigit((unsigned char)r[i]) &&
            r[i] != '-') {
            return false;
        }
    }
    return true;
}

/*
 * arn:<partition>:acm:<region>:<account>:certificate/<id>; the region and
 * account must agree with the target's.
 */
static h2a_err s_arn_check(const char *field, const h2a_target *t)
{
    char buf[2100];
    char *part[6] = {0};
    char *p, *save = NULL;
    size_t n = 0;

    if (strlen(t->certificate_arn) >= sizeof(buf)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: too long", field);
    }
    snprintf(buf, sizeof(buf), "%s", t->certificate_arn);
    /* strtok would merge empty fields; split by hand. */
    p = buf;
    while (n < 6) {
        part[n++] = p;
        save = strchr(p, ':');
        if (save == NULL || n == 6) {
            break;
        }
        *save = '\0';
        p = save + 1;
    }
    if (n != 6 || strcmp(part[0], "arn") != 0 ||
        strncmp(part[1], "aws", 3) != 0 || strcmp(part[2], "acm") != 0 ||
        strncmp(part[5], "certificate/", 12) != 0 || part[5][12] == '\0' ||
        !h2a_jv_charset_ok(part[5] + 12, "-")) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%.200s' is not an ACM certificate ARN "
                           "(arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
                           field, t->certificate_arn);
    }
    if (strcmp(part[3], t->region) != 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: ARN region '%s' differs from the target's region '%s'",
                           field, part[3], t->region);
    }
    if (!h2a_account_id_ok(part[4])) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: ARN account '%s' is not 12 digits",
                           field, part[4]);
    }
    if (t->account != NULL && strcmp(part[4], t->account) != 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: ARN account %s differs from the target's account %s",
                           field, part[4], t->account);
    }
    return H2A_OK;
}

static bool s_tag_text_ok(const char *s)
{
    /* ACM's tag pattern [\p{L}\p{Z}\p{N}_.:\/=+\-@]*, ASCII part. */
    return h2a_jv_charset_ok(s, " _.:/=+-@");
}

static h2a_err s_tags(json_object *o, const char *path, h2a_target *t)
{
    json_object *tags = NULL;
    char p[300];
    size_t n, k = 0;

    if (!json_object_object_get_ex(o, "tags", &tags) || tags == NULL) {
        return H2A_OK;
    }
    snprintf(p, sizeof(p), "%s.tags", path);
    H2A_GUARD(h2a_jv_require_object(tags, p));
    n = (size_t)json_object_object_length(tags);
    if (n > H2A_REQUEST_MAX_TAGS) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: more than %d tags", p,
                           H2A_REQUEST_MAX_TAGS);
    }
    t->tags = calloc(n == 0 ? 1 : n, sizeof(*t->tags));
    if (t->tags == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s", p);
    }
    json_object_object_foreach(tags, key, val)
    {
        char tp[600];
        const char *v;

        snprintf(tp, sizeof(tp), "%s.%s", p, key);
        if (key[0] == '\0' || strlen(key) > 128 || !s_tag_text_ok(key)) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: tag key must be 1..128 characters of "
                               "letters, digits, space and _ . : / = + - @", tp);
        }
        if (strncmp(key, "aws:", 4) == 0 || strncmp(key, "hsm2acm:", 8) == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: the prefixes 'aws:' and 'hsm2acm:' are reserved", tp);
        }
        if (!json_object_is_type(val, json_type_string)) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: expected a string", tp);
        }
        v = json_object_get_string(val);
        if (strlen(v) > 256 || !s_tag_text_ok(v)) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s: tag value must be 0..256 characters of "
                               "letters, digits, space and _ . : / = + - @", tp);
        }
        t->tags[k].key = strdup(key);
        t->tags[k].value = strdup(v);
        t->n_tags = ++k;
        if (t->tags[k - 1].key == NULL || t->tags[k - 1].value == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "%s", tp);
        }
    }
    return H2A_OK;
}

static h2a_err s_target(json_object *o, const char *path, h2a_target *t)
{
    char *service = NULL;
    char p[300];
    h2a_err rv;

    H2A_GUARD(h2a_jv_require_object(o, path));
    H2A_GUARD(h2a_jv_only_keys(o, path, s_target_keys));
    H2A_GUARD(h2a_jv_str(o, path, "region", true, 1, 32, &t->region));
    if (!s_region_ok(t->region)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s.region: '%s' is not an AWS region name",
                           path, t->region);
    }
    H2A_GUARD(h2a_jv_str(o, path, "account", false, 1, 32, &t->account));
    if (t->account != NULL && !h2a_account_id_ok(t->account)) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s.account: '%s' is not a 12-digit AWS account id",
                           path, t->account);
    }
    H2A_GUARD(h2a_jv_str(o, path, "certificate_arn", false, 20, 2048,
                         &t->certificate_arn));
    if (t->certificate_arn != NULL) {
        snprintf(p, sizeof(p), "%s.certificate_arn", path);
        H2A_GUARD(s_arn_check(p, t));
    }
    H2A_GUARD(s_tags(o, path, t));
    H2A_GUARD(h2a_jv_str(o, path, "service", false, 1, 32, &service));
    rv = H2A_OK;
    if (service == NULL) {
        t->service = H2A_SERVICE_NONE;
    } else if (strcmp(service, "cloudfront") == 0) {
        t->service = H2A_SERVICE_CLOUDFRONT;
    } else if (strcmp(service, "elb") == 0) {
        t->service = H2A_SERVICE_ELB;
    } else {
        rv = h2a_err_set(H2A_ERR_INPUT,
                         "%s.service: '%s' is not a service hint (cloudfront, elb)",
                         path, service);
    }
    free(service);
    return rv;
}

static bool s_same_dest(const h2a_target *a, const h2a_target *b)
{
    bool same_acct = (a->account == NULL && b->account == NULL) ||
                     (a->account != NULL && b->account != NULL &&
                      strcmp(a->account, b->account) == 0);

    if (a->certificate_arn != NULL || b->certificate_arn != NULL) {
        return a->certificate_arn != NULL && b->certificate_arn != NULL &&
               strcmp(a->certificate_arn, b->certificate_arn) == 0;
    }
    return same_acct && strcmp(a->region, b->region) == 0;
}

static h2a_err s_targets(json_object *top, h2a_request *r)
{
    json_object *arr = NULL;
    size_t n;
    char path[64];

    if (!json_object_object_get_ex(top, "targets", &arr) || arr == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "targets: missing (required)");
    }
    if (!json_object_is_type(arr, json_type_array)) {
        return h2a_err_set(H2A_ERR_INPUT, "targets: expected an array of objects");
    }
    n = json_object_array_length(arr);
    if (n == 0 || n > H2A_REQUEST_MAX_TARGETS) {
        return h2a_err_set(H2A_ERR_INPUT, "targets: expected 1..%d targets",
                           H2A_REQUEST_MAX_TARGETS);
    }
    r->targets = calloc(n, sizeof(*r->targets));
    if (r->targets == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "targets");
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "targets[%zu]", i);
        r->n_targets = i + 1;
        H2A_GUARD(s_target(json_object_array_get_idx(arr, i), path, &r->targets[i]));
        for (size_t j = 0; j < i; j++) {
            if (s_same_dest(&r->targets[j], &r->targets[i])) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "%s: same destination as targets[%zu]", path, j);
            }
        }
    }
    return H2A_OK;
}

static h2a_err s_usage_list(json_object *top, const char *key, bool eku, unsigned *bits)
{
    char **names = NULL;
    size_t n = 0;
    h2a_err rv;

    rv = h2a_jv_strv(top, "", key, false, 16, 64, &names, &n);
    for (size_t i = 0; rv == H2A_OK && i < n; i++) {
        /* ANY and CUSTOM describe certificates ACM holds; nobody requests them. */
        unsigned bit = eku ? h2a_eku_lookup(names[i], strlen(names[i]), true) &
                                 H2A_EKU_REQUESTABLE
                           : h2a_ku_lookup(names[i], strlen(names[i]), true) &
                                 H2A_KU_REQUESTABLE;

        if (bit == 0) {
            rv = h2a_err_set(H2A_ERR_INPUT, "%s[%zu]: '%s' is not an ACM %s name", key, i,
                             names[i], eku ? "ExtendedKeyUsage" : "KeyUsage");
        }
        *bits |= bit;
    }
    h2a_jv_strv_free(names);
    return rv;
}

/* The names the certificate will carry: the SANs and the subject's CN. */
static h2a_err s_names(h2a_request *r)
{
    X509_NAME *subj = NULL;
    h2a_err rv;

    H2A_GUARD(h2a_subject_parse("subject", r->subject, &subj));
    rv = h2a_cert_names_from_request(subj, (const char *const *)r->dns, r->n_dns,
                                     (const char *const *)r->ip, r->n_ip, &r->names);
    X509_NAME_free(subj);
    if (rv == H2A_OK && r->names.ndns + r->names.nip > H2A_CSR_MAX_SANS) {
        rv = h2a_err_set(H2A_ERR_INPUT, "subject CN, dns, ip: more than %d names together",
                         H2A_CSR_MAX_SANS);
    }
    return rv;
}

static h2a_err s_parse(json_object *top, h2a_request *r)
{
    char *key = NULL;
    h2a_err rv;

    H2A_GUARD(h2a_jv_require_object(top, ""));
    H2A_GUARD(h2a_jv_only_keys(top, "", s_req_keys));
    H2A_GUARD(h2a_jv_str(top, "", "id", true, 1, H2A_REQUEST_ID_MAX * 2, &r->id));
    H2A_GUARD(h2a_request_id_check("id", r->id));
    H2A_GUARD(h2a_jv_str(top, "", "subject", true, 1, H2A_SUBJECT_MAX, &r->subject));
    H2A_GUARD(h2a_jv_strv(top, "", "dns", false, H2A_CSR_MAX_SANS, 300, &r->dns,
                          &r->n_dns));
    H2A_GUARD(h2a_jv_strv(top, "", "ip", false, H2A_CSR_MAX_SANS, 64, &r->ip,
                          &r->n_ip));
    if (r->n_dns + r->n_ip > H2A_CSR_MAX_SANS) {
        return h2a_err_set(H2A_ERR_INPUT, "dns, ip: more than %d names together",
                           H2A_CSR_MAX_SANS);
    }
    H2A_GUARD(s_names(r));
    H2A_GUARD(h2a_jv_str(top, "", "key", true, 1, 32, &key));
    if (strcmp(key, "inherit") == 0) {
        r->inherit = true;
        r->key = H2A_KT_NONE;
        rv = H2A_OK;
    } else {
        rv = h2a_keytype_parse(key, &r->key);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "key: ");
        }
    }
    free(key);
    H2A_GUARD(rv);
    H2A_GUARD(h2a_jv_str(top, "", "digest", false, 1, 16, &r->digest));
    if (r->digest != NULL) {
        if (strcasecmp(r->digest, "sha256") == 0) {
            r->md_nid = NID_sha256;
        } else if (strcasecmp(r->digest, "sha384") == 0) {
            r->md_nid = NID_sha384;
        } else if (strcasecmp(r->digest, "sha512") == 0) {
            r->md_nid = NID_sha512;
        } else {
            return h2a_err_set(H2A_ERR_INPUT,
                               "digest: '%s' is not sha256, sha384 or sha512", r->digest);
        }
    }
    H2A_GUARD(s_usage_list(top, "key_usage", false, &r->key_usage));
    H2A_GUARD(s_usage_list(top, "extended_key_usage", true, &r->ext_key_usage));
    H2A_GUARD(h2a_jv_str(top, "", "issuer", true, 1, 64, &r->issuer));
    H2A_GUARD(h2a_jv_str(top, "", "requester", true, 1, 128, &r->requester));
    H2A_GUARD(s_targets(top, r));
    if (r->inherit) {
        for (size_t i = 0; i < r->n_targets; i++) {
            if (r->targets[i].certificate_arn == NULL) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "targets[%zu]: key 'inherit' needs a certificate_arn "
                                   "on every target (it takes the key type from it)", i);
            }
        }
    }
    return H2A_OK;
}

h2a_err h2a_request_parse(const char *text, size_t len, h2a_request **out)
{
    h2a_err rv;
    json_object *top = NULL;
    h2a_request *r;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "request");
    }
    rv = h2a_jv_parse("request", text, len, &top);
    if (rv == H2A_OK) {
        rv = s_parse(top, r);
    }
    json_object_put(top);
    if (rv != H2A_OK) {
        h2a_request_free(r);
        return rv;
    }
    *out = r;
    return H2A_OK;
}

h2a_err h2a_request_load(const char *path, h2a_request **out)
{
    h2a_buf b;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init(&b, H2A_REQUEST_MAX_BYTES);
    rv = h2a_file_read(path, &b);
    if (rv == H2A_OK) {
        rv = h2a_request_parse((const char *)b.data, b.len, out);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "%s: ", path);
        }
    }
    h2a_buf_free(&b);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Canonical form, hash, tokens, names                                 */
/* ------------------------------------------------------------------ */

static int s_tag_cmp(const void *a, const void *b)
{
    return strcmp(((const h2a_tag *)a)->key, ((const h2a_tag *)b)->key);
}

static json_object *s_strv_json(char **v, size_t n)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        json_object_array_add(a, json_object_new_string(v[i]));
    }
    return a;
}

/* Names in bit order, so the canonical form (and its hash) is stable. */
static json_object *s_bits_json(unsigned bits, const char *(*name)(unsigned bit))
{
    json_object *a = json_object_new_array();

    for (unsigned bit = 1; a != NULL && bit <= H2A_KU_REQUESTABLE; bit <<= 1) {
        if ((bits & bit) != 0 && name(bit) != NULL) {
            json_object_array_add(a, json_object_new_string(name(bit)));
        }
    }
    return a;
}

static json_object *s_opt_str(const char *s)
{
    return s == NULL ? NULL : json_object_new_string(s);
}

h2a_err h2a_request_canonical(const h2a_request *r, h2a_buf *out)
{
    json_object *o = json_object_new_object();
    json_object *targets = json_object_new_array();
    const char *txt;
    h2a_err rv;

    if (o == NULL || targets == NULL) {
        json_object_put(o);
        json_object_put(targets);
        return h2a_err_set(H2A_ERR_NOMEM, "request");
    }
    json_object_object_add(o, "id", json_object_new_string(r->id));
    json_object_object_add(o, "subject", json_object_new_string(r->subject));
    json_object_object_add(o, "dns", s_strv_json(r->dns, r->n_dns));
    json_object_object_add(o, "ip", s_strv_json(r->ip, r->n_ip));
    json_object_object_add(o, "key", json_object_new_string(
                                         r->inherit ? "inherit" : h2a_keytype_cli_name(r->key)));
    json_object_object_add(o, "digest", s_opt_str(r->md_nid == NID_sha256   ? "sha256"
                                                  : r->md_nid == NID_sha384 ? "sha384"
                                                  : r->md_nid == NID_sha512 ? "sha512"
                                                                            : NULL));
    json_object_object_add(o, "key_usage", s_bits_json(r->key_usage, h2a_ku_acm_name));
    json_object_object_add(o, "extended_key_usage", s_bits_json(r->ext_key_usage, h2a_eku_acm_name));
    json_object_object_add(o, "issuer", json_object_new_string(r->issuer));
    json_object_object_add(o, "requester", json_object_new_string(r->requester));
    for (size_t i = 0; i < r->n_targets; i++) {
        const h2a_target *t = &r->targets[i];
        json_object *jt = json_object_new_object();
        json_object *tags = json_object_new_object();
        h2a_tag *sorted = calloc(t->n_tags + 1, sizeof(*sorted));

        if (jt == NULL || tags == NULL || sorted == NULL) {
            json_object_put(jt);
            json_object_put(tags);
            free(sorted);
            json_object_put(o);
            json_object_put(targets);
            return h2a_err_set(H2A_ERR_NOMEM, "request");
        }
        if (t->n_tags > 0) {
            memcpy(sorted, t->tags, t->n_tags * sizeof(*sorted));
            qsort(sorted, t->n_tags, sizeof(*sorted), s_tag_cmp);
        }
        for (size_t k = 0; k < t->n_tags; k++) {
            json_object_object_add(tags, sorted[k].key,
                                   json_object_new_string(sorted[k].value));
        }
        free(sorted);
        json_object_object_add(jt, "region", json_object_new_string(t->region));
        json_object_object_add(jt, "account", s_opt_str(t->account));
        json_object_object_add(jt, "certificate_arn", s_opt_str(t->certificate_arn));
        json_object_object_add(jt, "tags", tags);
        json_object_object_add(jt, "service", s_opt_str(h2a_service_name(t->service)));
        json_object_array_add(targets, jt);
    }
    json_object_object_add(o, "targets", targets);
    txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    rv = txt == NULL ? h2a_err_set(H2A_ERR_NOMEM, "request") : h2a_buf_append_str(out, txt);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
    json_object_put(o);
    return rv;
}

static h2a_err s_sha256(const void *data, size_t len, uint8_t md[32])
{
    unsigned int n = 0;

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        return h2a_err_openssl(H2A_ERR_INTERNAL, "SHA-256");
    }
    return H2A_OK;
}

h2a_err h2a_request_hash(const h2a_request *r, char out[65])
{
    h2a_buf b;
    uint8_t md[32];
    h2a_err rv;

    h2a_buf_init(&b, 0);
    rv = h2a_request_canonical(r, &b);
    if (rv == H2A_OK) {
        rv = s_sha256(b.data, b.len, md);
    }
    if (rv == H2A_OK) {
        h2a_hex_encode(md, sizeof(md), out);
    }
    h2a_buf_free(&b);
    return rv;
}

h2a_err h2a_request_client_token(const h2a_request *r, size_t idx,
                                 char out[H2A_CRT_LEN + 1])
{
    h2a_buf b;
    uint8_t md[32];
    char hex[65];
    const h2a_target *t;
    h2a_err rv;

    if (idx >= r->n_targets) {
        return h2a_err_set(H2A_ERR_INTERNAL, "target index %zu out of range", idx);
    }
    t = &r->targets[idx];
    h2a_buf_init(&b, 0);
    /* NUL separators: no two (id, target) pairs can give the same input. */
    rv = h2a_buf_append(&b, "hsm2acm staging v1", 19);
    if (rv == H2A_OK) {
        rv = h2a_buf_append(&b, r->id, strlen(r->id) + 1);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_printf(&b, "%zu", idx);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append(&b, "", 1);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append(&b, t->region, strlen(t->region) + 1);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(&b, t->account != NULL ? t->account : "");
    }
    if (rv == H2A_OK) {
        rv = s_sha256(b.data, b.len, md);
    }
    h2a_buf_free(&b);
    H2A_GUARD(rv);
    h2a_hex_encode(md, sizeof(md), hex);
    snprintf(out, H2A_CRT_LEN + 1, "h2a1-%.59s", hex);
    return H2A_OK;
}

h2a_err h2a_request_secret_name(const h2a_request *r, const char *prefix,
                                size_t idx, h2a_buf *out)
{
    H2A_GUARD(h2a_buf_printf(out, "%s%s/t%zu", prefix, r->id, idx));
    return h2a_buf_terminate(out);
}
