/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Route 53 (restXml on a global host, signed for the partition's global
 * region): the four operations an ACME dns-01 issuer needs. Replies become
 * small JSON objects so that callers handle one shape for every service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ops.h"

#define S_API "/2013-04-01"
#define S_NS "https://route53.amazonaws.com/doc/2013-04-01/"

/* "Z123" or "/hostedzone/Z123" (as the API returns ids) → "Z123"; bounded, no '/'. */
static h2a_err s_bare_id(const char *what, const char *prefix, const char *id, char *out,
                         size_t outsz)
{
    size_t pl = strlen(prefix);

    if (h2a_aws_set(id) && strncmp(id, prefix, pl) == 0) {
        id += pl;
    }
    if (!h2a_aws_set(id) || strlen(id) >= outsz || strchr(id, '/') != NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected an id like Z0123456789 or "
                           "%s<id>, got '%.80s'", what, prefix, id != NULL ? id : "");
    }
    snprintf(out, outsz, "%s", id);
    return H2A_OK;
}

/* A GET or POST of `op` whose XML reply has root <op>Response, parsed. */
static h2a_err s_call(H2A_AWS_CTX *ctx, const char *op, const char *method, const h2a_buf *path,
                      const h2a_buf *query, const h2a_buf *body, xmlDoc **out)
{
    struct h2a_aws_request rq = {.operation = op, .method = method,
                                 .path = (const char *)path->data};
    char root[80];
    h2a_buf reply;
    h2a_err rv;

    if (query != NULL && query->len > 0) {
        rq.query = (const char *)query->data;
    }
    if (body != NULL) {
        rq.body = body->data;
        rq.body_len = body->len;
    }
    snprintf(root, sizeof(root), "%sResponse", op);
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    rv = h2a_aws_send(ctx, H2A_AWS_SVC_ROUTE53, NULL, &rq, &reply);
    if (rv == H2A_OK) {
        rv = h2a_aws_xml_parse(ctx, H2A_AWS_SVC_ROUTE53, op, &reply, root, out);
    }
    h2a_buf_free(&reply);
    return rv;
}

static h2a_err s_query_param(h2a_buf *q, const char *name, const char *value)
{
    if (!h2a_aws_set(value)) {
        return H2A_OK;
    }
    /* Sorted by name, as SigV4's canonical query wants them (callers add in order). */
    H2A_GUARD(h2a_buf_printf(q, "%s%s=", q->len > 0 ? "&" : "", name));
    H2A_GUARD(h2a_uri_append(q, value, false));
    return h2a_buf_terminate(q);
}

/* Copy the text of child `name` of `n` as member `key` of `o` (absent: skipped). */
static h2a_err s_member(json_object *o, const char *key, const xmlNode *n, const char *name)
{
    char *v = h2a_xml_strdup(h2a_xml_child(n, name));
    h2a_err rv = H2A_OK;

    if (v != NULL) {
        rv = h2a_aws_add_str(o, key, v);
    }
    free(v);
    return rv;
}

h2a_err h2a_r53_list_hosted_zones_by_name(H2A_AWS_CTX *ctx, const char *dns_name, int max_items,
                                          json_object **out)
{
    static const char op[] = "ListHostedZonesByName";
    h2a_buf path, q;
    char mi[16];
    xmlDoc *doc = NULL;
    json_object *arr = json_object_new_array();
    h2a_err rv;

    *out = NULL;
    H2A_ENSURE(max_items >= 0 && max_items <= 100, H2A_ERR_INPUT,
               "%s: max_items %d: expected 1..100 (0: the default)", op, max_items);
    snprintf(mi, sizeof(mi), "%d", max_items);
    h2a_buf_init(&path, 0);
    h2a_buf_init(&q, 0);
    if ((rv = h2a_buf_append_str(&path, S_API "/hostedzonesbyname")) == H2A_OK &&
        (rv = h2a_buf_terminate(&path)) == H2A_OK &&
        (rv = s_query_param(&q, "dnsname", dns_name)) == H2A_OK &&
        (rv = s_query_param(&q, "maxitems", max_items > 0 ? mi : NULL)) == H2A_OK) {
        rv = s_call(ctx, op, "GET", &path, &q, NULL, &doc);
    }
    if (rv == H2A_OK) {
        const xmlNode *zs = h2a_xml_child(xmlDocGetRootElement(doc), "HostedZones");
        for (const xmlNode *z = zs != NULL ? zs->children : NULL; z != NULL && rv == H2A_OK;
             z = z->next) {
            json_object *o;
            char priv[8] = "";
            if (z->type != XML_ELEMENT_NODE || strcmp((const char *)z->name, "HostedZone") != 0) {
                continue;
            }
            o = json_object_new_object();
            json_object_array_add(arr, o);
            (void)h2a_xml_text(h2a_xml_child(h2a_xml_child(z, "Config"), "PrivateZone"), priv,
                               sizeof(priv));
            json_object_object_add(o, "PrivateZone",
                                   json_object_new_boolean(strcmp(priv, "true") == 0));
            if ((rv = s_member(o, "Id", z, "Id")) == H2A_OK &&
                (rv = s_member(o, "Name", z, "Name")) == H2A_OK &&
                (!json_object_object_get_ex(o, "Id", NULL) ||
                 !json_object_object_get_ex(o, "Name", NULL))) {
                rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_ROUTE53, op, "HostedZone without "
                                       "Id or Name");
            }
        }
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&path);
    h2a_buf_free(&q);
    if (rv != H2A_OK) {
        json_object_put(arr);
        return rv;
    }
    *out = arr;
    return H2A_OK;
}

/* One ResourceRecordSet element as {Name, Type, TTL, Values: [...]}. */
static h2a_err s_rrset(H2A_AWS_CTX *ctx, const xmlNode *s, json_object *arr)
{
    json_object *o = json_object_new_object();
    json_object *vals = json_object_new_array();
    const xmlNode *rrs = h2a_xml_child(s, "ResourceRecords");
    char ttl[24] = "";

    json_object_array_add(arr, o);
    json_object_object_add(o, "Values", vals);
    H2A_GUARD(s_member(o, "Name", s, "Name"));
    H2A_GUARD(s_member(o, "Type", s, "Type"));
    if (!json_object_object_get_ex(o, "Name", NULL) || !json_object_object_get_ex(o, "Type", NULL)) {
        return h2a_aws_malformed(ctx, H2A_AWS_SVC_ROUTE53, "ListResourceRecordSets",
                                 "ResourceRecordSet without Name or Type");
    }
    if (h2a_xml_text(h2a_xml_child(s, "TTL"), ttl, sizeof(ttl)) && ttl[0] != '\0') {
        json_object_object_add(o, "TTL", json_object_new_int64(strtoll(ttl, NULL, 10)));
    }
    for (const xmlNode *r = rrs != NULL ? rrs->children : NULL; r != NULL; r = r->next) {
        char *v = r->type == XML_ELEMENT_NODE ? h2a_xml_strdup(h2a_xml_child(r, "Value")) : NULL;
        if (v != NULL) {
            json_object_array_add(vals, json_object_new_string(v));
        }
        free(v);
    }
    return H2A_OK;
}

/* One page; the next name and type set (malloc'd) when the list goes on. */
static h2a_err s_rrset_page(H2A_AWS_CTX *ctx, const char *zone, const char *name,
                            const char *type, json_object *arr, char **next_name,
                            char **next_type)
{
    static const char op[] = "ListResourceRecordSets";
    h2a_buf path, q;
    xmlDoc *doc = NULL;
    h2a_err rv;

    h2a_buf_init(&path, 0);
    h2a_buf_init(&q, 0);
    if ((rv = h2a_buf_printf(&path, S_API "/hostedzone/%s/rrset", zone)) == H2A_OK &&
        (rv = h2a_buf_terminate(&path)) == H2A_OK &&
        (rv = s_query_param(&q, "name", name)) == H2A_OK &&
        (rv = s_query_param(&q, "type", type)) == H2A_OK) {
        rv = s_call(ctx, op, "GET", &path, &q, NULL, &doc);
    }
    if (rv == H2A_OK) {
        const xmlNode *root = xmlDocGetRootElement(doc);
        const xmlNode *sets = h2a_xml_child(root, "ResourceRecordSets");
        char trunc[8] = "";
        for (const xmlNode *s = sets != NULL ? sets->children : NULL; s != NULL && rv == H2A_OK;
             s = s->next) {
            if (s->type == XML_ELEMENT_NODE) {
                rv = s_rrset(ctx, s, arr);
            }
        }
        (void)h2a_xml_text(h2a_xml_child(root, "IsTruncated"), trunc, sizeof(trunc));
        if (rv == H2A_OK && strcmp(trunc, "true") == 0) {
            *next_name = h2a_xml_strdup(h2a_xml_child(root, "NextRecordName"));
            *next_type = h2a_xml_strdup(h2a_xml_child(root, "NextRecordType"));
        }
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&path);
    h2a_buf_free(&q);
    return rv;
}

h2a_err h2a_r53_list_resource_record_sets(H2A_AWS_CTX *ctx, const char *zone_id,
                                          json_object **out)
{
    char zone[64];
    char *name = NULL, *type = NULL;
    json_object *arr;
    h2a_err rv;

    *out = NULL;
    H2A_GUARD(s_bare_id("ListResourceRecordSets zone", "/hostedzone/", zone_id, zone,
                        sizeof(zone)));
    arr = json_object_new_array();
    for (int page = 0;; page++) {
        char *nn = NULL, *nt = NULL;
        if (page == H2A_AWS_MAX_PAGES) {
            rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_ROUTE53, "ListResourceRecordSets",
                                   "more than %d pages", H2A_AWS_MAX_PAGES);
            break;
        }
        rv = s_rrset_page(ctx, zone, name, type, arr, &nn, &nt);
        /* A page that points at itself would be asked for again until the page limit. */
        if (rv == H2A_OK && nn != NULL && name != NULL && strcmp(nn, name) == 0 &&
            strcmp(nt != NULL ? nt : "", type != NULL ? type : "") == 0) {
            rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_ROUTE53, "ListResourceRecordSets",
                                   "NextRecordName repeats (page %d)", page + 1);
        }
        free(name);
        free(type);
        name = nn;
        type = nt;
        if (rv != H2A_OK || name == NULL) {
            break;
        }
    }
    free(name);
    free(type);
    if (rv != H2A_OK) {
        json_object_put(arr);
        return rv;
    }
    *out = arr;
    return H2A_OK;
}

/* Text escaped for an XML element. */
static h2a_err s_xml_put(h2a_buf *b, const char *tag, const char *text)
{
    H2A_GUARD(h2a_buf_printf(b, "<%s>", tag));
    for (const char *p = text; *p != '\0'; p++) {
        const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        H2A_GUARD(e != NULL ? h2a_buf_append_str(b, e) : h2a_buf_append(b, p, 1));
    }
    return h2a_buf_printf(b, "</%s>", tag);
}

static h2a_err s_change_xml(const struct h2a_r53_change *c, h2a_buf *b)
{
    char ttl[24];

    H2A_ENSURE(h2a_aws_set(c->action) && h2a_aws_set(c->name) && h2a_aws_set(c->type) &&
                   c->values != NULL && c->values[0] != NULL && c->ttl >= 0,
               H2A_ERR_INPUT, "ChangeResourceRecordSets: a change needs action, name, type, "
               "a TTL >= 0 and at least one value");
    snprintf(ttl, sizeof(ttl), "%ld", c->ttl);
    H2A_GUARD(h2a_buf_append_str(b, "<Change>"));
    H2A_GUARD(s_xml_put(b, "Action", c->action));
    H2A_GUARD(h2a_buf_append_str(b, "<ResourceRecordSet>"));
    H2A_GUARD(s_xml_put(b, "Name", c->name));
    H2A_GUARD(s_xml_put(b, "Type", c->type));
    H2A_GUARD(s_xml_put(b, "TTL", ttl));
    H2A_GUARD(h2a_buf_append_str(b, "<ResourceRecords>"));
    for (size_t i = 0; c->values[i] != NULL; i++) {
        H2A_GUARD(h2a_buf_append_str(b, "<ResourceRecord>"));
        H2A_GUARD(s_xml_put(b, "Value", c->values[i]));
        H2A_GUARD(h2a_buf_append_str(b, "</ResourceRecord>"));
    }
    return h2a_buf_append_str(b, "</ResourceRecords></ResourceRecordSet></Change>");
}

/* <ChangeInfo> of a ChangeResourceRecordSets or GetChange reply. */
static h2a_err s_change_info(H2A_AWS_CTX *ctx, const char *op, xmlDoc *doc, char **out_id,
                             char **out_status)
{
    const xmlNode *ci = h2a_xml_child(xmlDocGetRootElement(doc), "ChangeInfo");

    *out_status = h2a_xml_strdup(h2a_xml_child(ci, "Status"));
    if (out_id != NULL) {
        *out_id = h2a_xml_strdup(h2a_xml_child(ci, "Id"));
    }
    if (*out_status == NULL || (out_id != NULL && *out_id == NULL)) {
        h2a_aws_drop(out_status);
        if (out_id != NULL) {
            h2a_aws_drop(out_id);
        }
        return h2a_aws_malformed(ctx, H2A_AWS_SVC_ROUTE53, op, "ChangeInfo needs Id and Status");
    }
    return H2A_OK;
}

h2a_err h2a_r53_change_resource_record_sets(H2A_AWS_CTX *ctx, const char *zone_id,
                                            const char *comment,
                                            const struct h2a_r53_change *changes, size_t n,
                                            char **out_change_id, char **out_status)
{
    static const char op[] = "ChangeResourceRecordSets";
    char zone[64];
    h2a_buf path, body;
    xmlDoc *doc = NULL;
    h2a_err rv;

    *out_change_id = NULL;
    *out_status = NULL;
    H2A_GUARD(s_bare_id("ChangeResourceRecordSets zone", "/hostedzone/", zone_id, zone,
                        sizeof(zone)));
    H2A_ENSURE(n >= 1 && n <= 1000, H2A_ERR_INPUT, "%s: 1..1000 changes, got %zu", op, n);
    h2a_buf_init(&path, 0);
    h2a_buf_init(&body, 0);
    rv = h2a_buf_printf(&path, S_API "/hostedzone/%s/rrset/", zone);
    if (rv == H2A_OK && (rv = h2a_buf_terminate(&path)) == H2A_OK) {
        rv = h2a_buf_append_str(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                "<ChangeResourceRecordSetsRequest xmlns=\"" S_NS "\">"
                                "<ChangeBatch>");
    }
    if (rv == H2A_OK && h2a_aws_set(comment)) {
        rv = s_xml_put(&body, "Comment", comment);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(&body, "<Changes>");
    }
    for (size_t i = 0; i < n && rv == H2A_OK; i++) {
        rv = s_change_xml(&changes[i], &body);
    }
    if (rv == H2A_OK &&
        (rv = h2a_buf_append_str(&body, "</Changes></ChangeBatch>"
                                 "</ChangeResourceRecordSetsRequest>")) == H2A_OK &&
        (rv = s_call(ctx, op, "POST", &path, NULL, &body, &doc)) == H2A_OK) {
        rv = s_change_info(ctx, op, doc, out_change_id, out_status);
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&path);
    h2a_buf_free(&body);
    return rv;
}

h2a_err h2a_r53_get_change(H2A_AWS_CTX *ctx, const char *change_id, char **out_status)
{
    char id[64];
    h2a_buf path;
    xmlDoc *doc = NULL;
    h2a_err rv;

    *out_status = NULL;
    H2A_GUARD(s_bare_id("GetChange", "/change/", change_id, id, sizeof(id)));
    h2a_buf_init(&path, 0);
    if ((rv = h2a_buf_printf(&path, S_API "/change/%s", id)) == H2A_OK &&
        (rv = h2a_buf_terminate(&path)) == H2A_OK &&
        (rv = s_call(ctx, "GetChange", "GET", &path, NULL, NULL, &doc)) == H2A_OK) {
        rv = s_change_info(ctx, "GetChange", doc, NULL, out_status);
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&path);
    return rv;
}
