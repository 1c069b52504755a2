/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Small parsers of the AWS layer: ISO-8601 times, error replies of both
 * protocols, the retry rules, and the extraction of secret members from
 * JSON/XML documents without letting json-c or libxml2 copy them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>

#include "aws_internal.h"

/* ------------------------------------------------------------------ */
/* Credentials objects                                                 */
/* ------------------------------------------------------------------ */

static char *s_secure_strdup(const char *s)
{
    size_t n;
    char *p;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    p = OPENSSL_secure_zalloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static void s_secure_strfree(char *s)
{
    if (s != NULL) {
        OPENSSL_secure_clear_free(s, strlen(s) + 1);
    }
}

void h2a_aws_credentials_free(struct h2a_aws_credentials *c)
{
    if (c == NULL) {
        return;
    }
    s_secure_strfree(c->access_key_id);
    s_secure_strfree(c->secret_access_key);
    s_secure_strfree(c->session_token);
    OPENSSL_secure_clear_free(c, sizeof(*c));
}

h2a_err h2a_aws_credentials_make(const char *akid, const char *secret,
                                 const char *token, time_t expiration,
                                 struct h2a_aws_credentials **out)
{
    struct h2a_aws_credentials *c;

    *out = NULL;
    if (akid == NULL || akid[0] == '\0' || secret == NULL || secret[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT,
                           "credentials: access key id and secret access key are required");
    }
    c = OPENSSL_secure_zalloc(sizeof(*c));
    if (c == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "credentials: secure memory");
    }
    c->access_key_id = s_secure_strdup(akid);
    c->secret_access_key = s_secure_strdup(secret);
    c->session_token = (token != NULL && token[0] != '\0') ? s_secure_strdup(token) : NULL;
    c->expiration = expiration;
    if (c->access_key_id == NULL || c->secret_access_key == NULL ||
        (token != NULL && token[0] != '\0' && c->session_token == NULL)) {
        h2a_aws_credentials_free(c);
        return h2a_err_set(H2A_ERR_NOMEM, "credentials: secure memory");
    }
    *out = c;
    return H2A_OK;
}

h2a_err h2a_aws_parse_iso8601(const char *s, time_t *out)
{
    struct tm tm;
    const char *p;
    long off = 0;

    if (s == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "timestamp: missing");
    }
    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "timestamp '%.40s': expected ISO-8601 "
                           "like 2026-11-24T10:00:00Z", s);
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2])) {
        int sign = *p == '-' ? -1 : 1;
        int hh = (p[1] - '0') * 10 + (p[2] - '0');
        int mm = 0;
        p += 3;
        if (*p == ':') {
            p++;
        }
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            mm = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        off = sign * (hh * 3600L + mm * 60L);
    }
    if (*p != '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "timestamp '%.40s': trailing characters", s);
    }
    *out = timegm(&tm) - off;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Minimal JSON scanning for secret members                            */
/* ------------------------------------------------------------------ */

static size_t s_ws(const uint8_t *b, size_t i, size_t n)
{
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
        i++;
    }
    return i;
}

/* Index just past the string starting at b[i] == '"', or 0 if malformed. */
static size_t s_skip_string(const uint8_t *b, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (b[i] == '\\') {
            i++;
        } else if (b[i] == '"') {
            return i + 1;
        } else if (b[i] < 0x20) {
            return 0;
        }
    }
    return 0;
}

/* Index just past any JSON value at b[i], or 0 if malformed. */
static size_t s_skip_value(const uint8_t *b, size_t i, size_t n)
{
    int depth = 0;

    if (i >= n) {
        return 0;
    }
    if (b[i] == '"') {
        return s_skip_string(b, i, n);
    }
    if (b[i] != '{' && b[i] != '[') {
        while (i < n && b[i] != ',' && b[i] != '}' && b[i] != ']' &&
               b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t') {
            i++;
        }
        return i;
    }
    while (i < n) {
        if (b[i] == '"') {
            i = s_skip_string(b, i, n);
            if (i == 0) {
                return 0;
            }
            continue;
        }
        if (b[i] == '{' || b[i] == '[') {
            depth++;
        } else if (b[i] == '}' || b[i] == ']') {
            if (--depth == 0) {
                return i + 1;
            }
        }
        i++;
    }
    return 0;
}

static void s_put_utf8(uint32_t cp, uint8_t *o, size_t *k)
{
    if (cp < 0x80) {
        o[(*k)++] = (uint8_t)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (uint8_t)(0xC0 | (cp >> 6));
        o[(*k)++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*k)++] = (uint8_t)(0xE0 | (cp >> 12));
        o[(*k)++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (uint8_t)(0xF0 | (cp >> 18));
        o[(*k)++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        o[(*k)++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (uint8_t)(0x80 | (cp & 0x3F));
    }
}

static bool s_hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;

    for (int j = 0; j < 4; j++) {
        int c = p[j];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return false;
        }
    }
    *out = v;
    return true;
}

/* Decode the JSON string b[s..e) (without quotes) onto `out`. */
static h2a_err s_json_unescape(const uint8_t *b, size_t s, size_t e, h2a_buf *out)
{
    for (size_t i = s; i < e; i++) {
        uint8_t tmp[4];
        size_t k = 0;

        if (b[i] != '\\') {
            H2A_GUARD(h2a_buf_append(out, &b[i], 1));
            continue;
        }
        if (++i >= e) {
            return h2a_err_set(H2A_ERR_INPUT, "bad escape");
        }
        switch (b[i]) {
        case '"': case '\\': case '/':
            tmp[k++] = b[i];
            break;
        case 'b': tmp[k++] = '\b'; break;
        case 'f': tmp[k++] = '\f'; break;
        case 'n': tmp[k++] = '\n'; break;
        case 'r': tmp[k++] = '\r'; break;
        case 't': tmp[k++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (i + 4 >= e || !s_hex4(&b[i + 1], &cp)) {
                return h2a_err_set(H2A_ERR_INPUT, "bad \\u escape");
            }
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < e && b[i + 1] == '\\' &&
                b[i + 2] == 'u') {
                uint32_t lo;
                if (s_hex4(&b[i + 3], &lo) && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            s_put_utf8(cp, tmp, &k);
            break;
        }
        default:
            return h2a_err_set(H2A_ERR_INPUT, "bad escape");
        }
        H2A_GUARD(h2a_buf_append(out, tmp, k));
        OPENSSL_cleanse(tmp, sizeof(tmp));
    }
    return H2A_OK;
}

h2a_err h2a_json_take_string(h2a_buf *body, const char *key, h2a_buf *out,
                             bool *found)
{
    const uint8_t *b = body->data;
    size_t n = body->len;
    size_t klen = strlen(key);
    size_t i;

    if (found != NULL) {
        *found = false;
    }
    i = s_ws(b, 0, n);
    if (b == NULL || i >= n || b[i] != '{') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: reply is not a JSON object", key);
    }
    i = s_ws(b, i + 1, n);
    while (i < n && b[i] != '}') {
        size_t ks = i;
        size_t ke;
        size_t vs;
        size_t ve;

        if (b[i] != '"' || (ke = s_skip_string(b, i, n)) == 0) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: malformed JSON object", key);
        }
        i = s_ws(b, ke, n);
        if (i >= n || b[i] != ':') {
            return h2a_err_set(H2A_ERR_INPUT, "%s: malformed JSON object", key);
        }
        vs = s_ws(b, i + 1, n);
        ve = s_skip_value(b, vs, n);
        if (ve == 0 || ve == vs) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: malformed JSON value", key);
        }
        if (ke - ks - 2 == klen && memcmp(&b[ks + 1], key, klen) == 0) {
            if (b[vs] != '"') {
                return h2a_err_set(H2A_ERR_INPUT, "%s: expected a string", key);
            }
            H2A_GUARD(s_json_unescape(b, vs + 1, ve - 1, out));
            /* Blank the raw value so nothing else ever sees it. */
            memset(&body->data[vs + 1], ' ', ve - vs - 2);
            if (found != NULL) {
                *found = true;
            }
            return H2A_OK;
        }
        i = s_ws(b, ve, n);
        if (i < n && b[i] == ',') {
            i = s_ws(b, i + 1, n);
        } else if (i >= n || b[i] != '}') {
            return h2a_err_set(H2A_ERR_INPUT, "%s: malformed JSON object", key);
        }
    }
    if (i >= n) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: truncated JSON object", key);
    }
    if (found != NULL) {
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_INPUT, "%s: missing", key);
}

h2a_err h2a_xml_take_text(const h2a_buf *body, const char *name, h2a_buf *out,
                          bool *found)
{
    char open[80];
    char close[82];
    const char *s;
    const char *e;
    const char *txt = (const char *)body->data;

    if (found != NULL) {
        *found = false;
    }
    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    if (txt == NULL || (s = memmem(txt, body->len, open, strlen(open))) == NULL) {
        if (found != NULL) {
            return H2A_OK;
        }
        return h2a_err_set(H2A_ERR_INPUT, "%s: missing in the XML reply", name);
    }
    s += strlen(open);
    e = memmem(s, body->len - (size_t)(s - txt), close, strlen(close));
    if (e == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: not closed in the XML reply", name);
    }
    for (const char *p = s; p < e; p++) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'},
                    {"&apos;", '\''}};
        bool done = false;

        if (*p == '<') {
            return h2a_err_set(H2A_ERR_INPUT, "%s: expected text, found markup", name);
        }
        if (*p != '&') {
            H2A_GUARD(h2a_buf_append(out, p, 1));
            continue;
        }
        for (size_t j = 0; j < sizeof(ents) / sizeof(ents[0]); j++) {
            size_t l = strlen(ents[j].ent);
            if ((size_t)(e - p) >= l && memcmp(p, ents[j].ent, l) == 0) {
                H2A_GUARD(h2a_buf_append(out, &ents[j].c, 1));
                p += l - 1;
                done = true;
                break;
            }
        }
        if (!done && p + 2 < e && p[1] == '#') {
            char *endp = NULL;
            unsigned long cp = p[2] == 'x' ? strtoul(p + 3, &endp, 16)
                                           : strtoul(p + 2, &endp, 10);
            uint8_t tmp[4];
            size_t k = 0;
            if (endp != NULL && endp < e && *endp == ';' && cp > 0 && cp < 0x110000) {
                s_put_utf8((uint32_t)cp, tmp, &k);
                H2A_GUARD(h2a_buf_append(out, tmp, k));
                p = endp;
                done = true;
            }
        }
        if (!done) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: bad XML entity", name);
        }
    }
    if (found != NULL) {
        *found = true;
    }
    return H2A_OK;
}

static const char *s_jget_str(json_object *o, const char *k)
{
    json_object *v;

    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

h2a_err h2a_aws_creds_from_json(h2a_buf *body, const char *what, bool need_version,
                                struct h2a_aws_credentials **out)
{
    h2a_buf secret;
    h2a_buf token;
    json_object *rest = NULL;
    json_object *v;
    bool has_token = false;
    bool has_st = false;
    bool has_secret = false;
    const char *akid;
    const char *exp;
    time_t expiration = 0;
    h2a_err rv;

    *out = NULL;
    h2a_buf_init_secure(&secret, 0);
    h2a_buf_init_secure(&token, 0);
    rv = h2a_json_take_string(body, "SecretAccessKey", &secret, &has_secret);
    if (rv == H2A_OK) {
        rv = h2a_json_take_string(body, "Token", &token, &has_token);
    }
    if (rv == H2A_OK && !has_token) {
        rv = h2a_json_take_string(body, "SessionToken", &token, &has_st);
    }
    if (rv != H2A_OK) {
        rv = h2a_err_prefix(H2A_ERR_AWS, "%s: credentials document: ", what);
        goto done;
    }
    if ((rv = h2a_buf_terminate(&secret)) != H2A_OK ||
        (rv = h2a_buf_terminate(&token)) != H2A_OK) {
        goto done;
    }
    rest = json_tokener_parse((const char *)body->data);
    if (rest == NULL || !json_object_is_type(rest, json_type_object)) {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: credentials document is not a JSON object", what);
        goto done;
    }
    if (need_version) {
        if (!json_object_object_get_ex(rest, "Version", &v) ||
            !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1) {
            rv = h2a_err_set(H2A_ERR_AWS, "%s: credentials document: Version must be 1", what);
            goto done;
        }
    }
    akid = s_jget_str(rest, "AccessKeyId");
    if (akid == NULL || akid[0] == '\0') {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: credentials document: AccessKeyId missing or "
                         "not a string", what);
        goto done;
    }
    if (!has_secret || secret.len == 0) {
        rv = h2a_err_set(H2A_ERR_AWS, "%s: credentials document: SecretAccessKey missing or "
                         "empty", what);
        goto done;
    }
    exp = s_jget_str(rest, "Expiration");
    if (exp != NULL && h2a_aws_parse_iso8601(exp, &expiration) != H2A_OK) {
        rv = h2a_err_prefix(H2A_ERR_AWS, "%s: credentials document: Expiration: ", what);
        goto done;
    }
    rv = h2a_aws_credentials_make(akid, (const char *)secret.data,
                                  (has_token || has_st) ? (const char *)token.data : NULL,
                                  expiration, out);
done:
    json_object_put(rest);
    h2a_buf_free(&secret);
    h2a_buf_free(&token);
    h2a_buf_reset(body);
    return rv;
}

/* ------------------------------------------------------------------ */
/* Error replies                                                       */
/* ------------------------------------------------------------------ */

void h2a_aws_escape_text(char *s, size_t size)
{
    char tmp[1024];
    size_t k = 0;

    if (size == 0) {
        return;
    }
    for (size_t i = 0; s[i] != '\0' && k + 5 < sizeof(tmp); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            tmp[k++] = '\\';
            tmp[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            k += (size_t)snprintf(tmp + k, sizeof(tmp) - k, "\\x%02x", c);
        } else {
            tmp[k++] = (char)c;
        }
    }
    tmp[k] = '\0';
    snprintf(s, size, "%s", tmp);
}

void h2a_aws_clean_code(const char *raw, char *out, size_t outsz)
{
    const char *s = raw;
    const char *colon;
    const char *hash;
    size_t n;

    if (outsz == 0) {
        return;
    }
    out[0] = '\0';
    if (raw == NULL) {
        return;
    }
    colon = strchr(s, ':');
    n = colon != NULL ? (size_t)(colon - s) : strlen(s);
    hash = memchr(s, '#', n);
    if (hash != NULL) {
        n -= (size_t)(hash + 1 - s);
        s = hash + 1;
    }
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n >= outsz) {
        n = outsz - 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static void s_copy(char *dst, size_t dsz, const char *src)
{
    snprintf(dst, dsz, "%s", src != NULL ? src : "");
}

bool h2a_aws_parse_json_error(const char *body, size_t len,
                              const char *errortype_header, struct h2a_aws_error *err)
{
    json_object *o = NULL;
    json_tokener *tok;
    const char *type = NULL;
    const char *msg = NULL;
    bool ok = false;

    err->code[0] = '\0';
    err->message[0] = '\0';
    tok = json_tokener_new();
    if (tok != NULL && body != NULL && len > 0 && len < (size_t)INT32_MAX) {
        o = json_tokener_parse_ex(tok, body, (int)len);
        if (o != NULL && json_tokener_get_parse_end(tok) != len) {
            /* Trailing bytes: only whitespace is fine. */
            for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
                if (!isspace((unsigned char)body[i])) {
                    json_object_put(o);
                    o = NULL;
                    break;
                }
            }
        }
    }
    json_tokener_free(tok);
    if (o != NULL && json_object_is_type(o, json_type_object)) {
        ok = true;
        type = s_jget_str(o, "__type");
        if (type == NULL) {
            type = s_jget_str(o, "code");
        }
        msg = s_jget_str(o, "message");
        if (msg == NULL) {
            msg = s_jget_str(o, "Message");
        }
    }
    if ((type == NULL || type[0] == '\0') && errortype_header != NULL) {
        type = errortype_header;
    }
    h2a_aws_clean_code(type, err->code, sizeof(err->code));
    s_copy(err->message, sizeof(err->message), msg);
    json_object_put(o);
    return ok;
}

static const xmlNode *s_xml_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n != NULL ? n->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

static void s_xml_text(const xmlNode *n, char *dst, size_t dsz)
{
    xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;

    s_copy(dst, dsz, (const char *)t);
    xmlFree(t);
}

bool h2a_aws_parse_query_error(const char *body, size_t len, struct h2a_aws_error *err)
{
    xmlDoc *doc;
    const xmlNode *root;
    const xmlNode *e;
    bool ok = false;

    err->code[0] = '\0';
    err->message[0] = '\0';
    if (body == NULL || len == 0 || len > INT32_MAX) {
        return false;
    }
    doc = h2a_aws_xml_read(body, len);
    root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    if (root != NULL && strcmp((const char *)root->name, "ErrorResponse") == 0) {
        e = s_xml_child(root, "Error");
        if (e != NULL) {
            s_xml_text(s_xml_child(e, "Code"), err->code, sizeof(err->code));
            s_xml_text(s_xml_child(e, "Message"), err->message, sizeof(err->message));
            ok = err->code[0] != '\0';
        }
        if (s_xml_child(root, "RequestId") != NULL) {
            s_xml_text(s_xml_child(root, "RequestId"), err->request_id,
                       sizeof(err->request_id));
        }
    } else if (root != NULL && strcmp((const char *)root->name, "Response") == 0) {
        /* EC2: <Response><Errors><Error>...</Error></Errors><RequestID> */
        e = s_xml_child(s_xml_child(root, "Errors"), "Error");
        if (e != NULL) {
            s_xml_text(s_xml_child(e, "Code"), err->code, sizeof(err->code));
            s_xml_text(s_xml_child(e, "Message"), err->message, sizeof(err->message));
            ok = err->code[0] != '\0';
        }
        s_xml_text(s_xml_child(root, "RequestID"), err->request_id, sizeof(err->request_id));
    } else if (root != NULL && strcmp((const char *)root->name, "InvalidChangeBatch") == 0) {
        /* Route 53's one error with a shape of its own: the code is the root. */
        snprintf(err->code, sizeof(err->code), "InvalidChangeBatch");
        s_xml_text(s_xml_child(s_xml_child(root, "Messages"), "Message"), err->message,
                   sizeof(err->message));
        s_xml_text(s_xml_child(root, "RequestId"), err->request_id, sizeof(err->request_id));
        ok = true;
    }
    xmlFreeDoc(doc);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Retries                                                             */
/* ------------------------------------------------------------------ */

static const char *const s_throttle_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException",
    "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
};

bool h2a_aws_is_throttle_code(const char *code)
{
    if (code == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(s_throttle_codes) / sizeof(s_throttle_codes[0]); i++) {
        if (strcmp(code, s_throttle_codes[i]) == 0) {
            return true;
        }
    }
    return false;
}

h2a_retry_kind h2a_aws_retry_classify(long http_status, const char *code,
                                      bool network, bool timeout)
{
    if (timeout) {
        return H2A_RETRY_TIMEOUT;
    }
    if (network) {
        return H2A_RETRY_TRANSIENT;
    }
    /* A quota (count of certificates or secrets), never transient here. */
    if (code != NULL && strcmp(code, "LimitExceededException") == 0) {
        return H2A_RETRY_NO;
    }
    if (h2a_aws_is_throttle_code(code)) {
        return H2A_RETRY_THROTTLE;
    }
    if (code != NULL && (strcmp(code, "RequestTimeout") == 0 ||
                         strcmp(code, "RequestTimeoutException") == 0)) {
        return H2A_RETRY_TRANSIENT;
    }
    if (http_status == 500 || http_status == 502 || http_status == 503 ||
        http_status == 504) {
        return H2A_RETRY_TRANSIENT;
    }
    return H2A_RETRY_NO;
}

long h2a_aws_backoff_ms(int attempt, double rand01, long base_ms)
{
    double cap = 20000.0;
    double d = (double)base_ms;

    if (attempt < 1) {
        attempt = 1;
    }
    for (int i = 1; i < attempt && d < cap; i++) {
        d *= 2.0;
    }
    if (d > cap) {
        d = cap;
    }
    if (rand01 < 0.0) {
        rand01 = 0.0;
    }
    if (rand01 > 1.0) {
        rand01 = 1.0;
    }
    return (long)(rand01 * d);
}

void h2a_retry_quota_init(struct h2a_retry_quota *q)
{
    q->tokens = 500;
}

bool h2a_retry_quota_take(struct h2a_retry_quota *q, h2a_retry_kind kind, int *out_cost)
{
    int cost = kind == H2A_RETRY_TIMEOUT ? 10 : 5;

    if (q->tokens < cost) {
        return false;
    }
    q->tokens -= cost;
    *out_cost = cost;
    return true;
}

void h2a_retry_quota_success(struct h2a_retry_quota *q, int taken)
{
    q->tokens += taken > 0 ? taken : 1;
    if (q->tokens > 500) {
        q->tokens = 500;
    }
}
