/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Reading the XML replies of the awsQuery and restXml services: libxml2
 * with no network access, no entity expansion and no error printing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "ops.h"

static void s_quiet(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

xmlDoc *h2a_aws_xml_read(const char *body, size_t len)
{
    if (body == NULL || len == 0 || len > INT32_MAX) {
        return NULL;
    }
    xmlSetGenericErrorFunc(NULL, s_quiet);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return xmlReadMemory(body, (int)len, "reply.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

h2a_err h2a_aws_xml_parse(H2A_AWS_CTX *ctx, h2a_aws_service svc, const char *op,
                          const h2a_buf *reply, const char *root_name, xmlDoc **out)
{
    xmlDoc *doc;
    const xmlNode *root;

    *out = NULL;
    if (reply->len == 0 || reply->len > INT32_MAX) {
        return h2a_aws_malformed(ctx, svc, op, "empty reply, expected XML");
    }
    doc = h2a_aws_xml_read((const char *)reply->data, reply->len);
    root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || strcmp((const char *)root->name, root_name) != 0) {
        xmlFreeDoc(doc);
        return h2a_aws_malformed(ctx, svc, op, "expected an XML <%s> reply", root_name);
    }
    *out = doc;
    return H2A_OK;
}

const xmlNode *h2a_xml_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

bool h2a_xml_text(const xmlNode *n, char *dst, size_t dsz)
{
    xmlChar *t;
    bool ok;

    if (n == NULL) {
        return false;
    }
    t = xmlNodeGetContent(n);
    ok = t != NULL && strlen((const char *)t) < dsz;
    snprintf(dst, dsz, "%s", ok ? (const char *)t : "");
    xmlFree(t);
    return ok;
}

char *h2a_xml_strdup(const xmlNode *n)
{
    xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
    char *s = t != NULL ? strdup((const char *)t) : NULL;

    xmlFree(t);
    return s;
}
