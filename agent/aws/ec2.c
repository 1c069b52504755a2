/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * EC2, for one question only: which regions an account has enabled
 * (discovery's scope.regions ["all"]). EC2's query protocol is awsQuery's
 * request form with replies that have no <...Result> wrapper.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "ops.h"

/* A region name goes into host names: letters, digits and '-' only. */
static bool s_region_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 31) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static h2a_err s_names(H2A_AWS_CTX *ctx, const xmlNode *info, json_object *out)
{
    static const char op[] = "DescribeRegions";
    char name[32];

    for (const xmlNode *it = info->children; it != NULL; it = it->next) {
        if (it->type != XML_ELEMENT_NODE || strcmp((const char *)it->name, "item") != 0) {
            continue;
        }
        if (!h2a_xml_text(h2a_xml_child(it, "regionName"), name, sizeof(name)) ||
            !s_region_name_ok(name)) {
            return h2a_aws_malformed(ctx, H2A_AWS_SVC_EC2, op, "an item without a valid "
                                     "regionName");
        }
        json_object_array_add(out, json_object_new_string(name));
    }
    return H2A_OK;
}

h2a_err h2a_ec2_enabled_regions(H2A_AWS_CTX *ctx, const char *region, json_object **out)
{
    static const char op[] = "DescribeRegions";
    static const char form[] = "Action=DescribeRegions&Version=2016-11-15";
    struct h2a_aws_request rq = {.operation = op, .body = (const uint8_t *)form,
                                 .body_len = sizeof(form) - 1};
    xmlDoc *doc = NULL;
    const xmlNode *info = NULL;
    h2a_buf reply;
    h2a_err rv;

    *out = json_object_new_array();
    h2a_buf_init(&reply, H2A_AWS_MAX_REPLY);
    /* Without AllRegions, EC2 lists exactly the regions enabled for the caller's account. */
    if ((rv = h2a_aws_send(ctx, H2A_AWS_SVC_EC2, region, &rq, &reply)) == H2A_OK &&
        (rv = h2a_aws_xml_parse(ctx, H2A_AWS_SVC_EC2, op, &reply, "DescribeRegionsResponse",
                                &doc)) == H2A_OK) {
        info = h2a_xml_child(xmlDocGetRootElement(doc), "regionInfo");
        rv = info != NULL ? s_names(ctx, info, *out)
                          : h2a_aws_malformed(ctx, H2A_AWS_SVC_EC2, op, "expected "
                                              "<DescribeRegionsResponse><regionInfo>");
    }
    if (rv == H2A_OK && json_object_array_length(*out) == 0) {
        rv = h2a_aws_malformed(ctx, H2A_AWS_SVC_EC2, op, "no region is enabled");
    }
    if (rv != H2A_OK) {
        json_object_put(*out);
        *out = NULL;
    }
    xmlFreeDoc(doc);
    h2a_buf_free(&reply);
    return rv;
}
