/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Pure input checks for CSRs: subject text, DNS names, IP addresses,
 * KeyUsage / ExtendedKeyUsage names and digests. No token, no policy: these
 * are the rules every request must meet whatever the policy says.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "h2a_keygen.h"

/* ------------------------------------------------------------------ */
/* KeyUsage / ExtendedKeyUsage / digest names                          */
/* ------------------------------------------------------------------ */

#define H2A_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ACM's own vocabulary (common/usage.c), less its ACM-only ANY and CUSTOM. */
typedef unsigned (*s_lookup_fn)(const char *name, size_t len, bool ignore_case);

static h2a_err s_parse_bits(const char *field, const char *what, const char *list,
                            s_lookup_fn lookup, unsigned requestable, const char *example,
                            unsigned *bits)
{
    const char *p = list;

    if (list == NULL || list[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty list of %s names", field, what);
    }
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        unsigned bit;

        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ') {
            len--;
        }
        bit = lookup(p, len, true) & requestable;
        if (bit == 0) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: unknown %s name '%.*s' (expected e.g. %s)",
                               field, what, (int)(len > 64 ? 64 : len), p, example);
        }
        *bits |= bit;
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return H2A_OK;
}

h2a_err h2a_csr_ku_parse(const char *field, const char *list, unsigned *bits)
{
    return s_parse_bits(field, "KeyUsage", list, h2a_ku_lookup, H2A_KU_REQUESTABLE,
                        "DIGITAL_SIGNATURE", bits);
}

h2a_err h2a_csr_eku_parse(const char *field, const char *list, unsigned *bits)
{
    return s_parse_bits(field, "ExtendedKeyUsage", list, h2a_eku_lookup, H2A_EKU_REQUESTABLE,
                        "TLS_WEB_SERVER_AUTHENTICATION", bits);
}

const char *h2a_csr_ku_name(unsigned bit)
{
    return (bit & H2A_KU_REQUESTABLE) != 0 ? h2a_ku_acm_name(bit) : NULL;
}

const char *h2a_csr_eku_name(unsigned bit)
{
    return (bit & H2A_EKU_REQUESTABLE) != 0 ? h2a_eku_acm_name(bit) : NULL;
}

h2a_err h2a_csr_digest_parse(const char *field, const char *name, int *md_nid)
{
    static const struct {
        const char *a, *b, *c;
        int nid;
    } tab[] = {
        {"sha256", "sha-256", "sha2-256", NID_sha256},
        {"sha384", "sha-384", "sha2-384", NID_sha384},
        {"sha512", "sha-512", "sha2-512", NID_sha512},
    };

    for (size_t i = 0; name != NULL && i < H2A_NELEM(tab); i++) {
        if (strcasecmp(name, tab[i].a) == 0 || strcasecmp(name, tab[i].b) == 0 ||
            strcasecmp(name, tab[i].c) == 0) {
            *md_nid = tab[i].nid;
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT, "%s: unknown digest '%s' (expected sha256, sha384 or sha512)",
                       field, name != NULL ? name : "");
}

const char *h2a_csr_digest_name(int md_nid)
{
    switch (md_nid) {
    case NID_sha256:
        return "sha256";
    case NID_sha384:
        return "sha384";
    case NID_sha512:
        return "sha512";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------ */
/* DNS names and IP addresses                                          */
/* ------------------------------------------------------------------ */

static bool s_is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

h2a_err h2a_dns_name_check(const char *field, const char *name)
{
    size_t len, nlabels = 0, start = 0;
    bool wildcard = false;

    if (name == NULL || name[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty DNS name", field);
    }
    len = strlen(name);
    if (len > H2A_DNS_NAME_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: DNS name is %zu bytes, at most %d allowed", field,
                           len, H2A_DNS_NAME_MAX);
    }
    if (name[len - 1] == '.') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' ends with a dot; give the name without it",
                           field, name);
    }
    for (size_t i = 0; i <= len; i++) {
        size_t llen;
        const char *label = name + start;

        if (i < len && name[i] != '.') {
            continue;
        }
        llen = i - start;
        if (llen == 0) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' has an empty label", field, name);
        }
        if (llen > H2A_DNS_LABEL_MAX) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: label %zu of '%.64s...' is %zu bytes, at most %d",
                               field, nlabels + 1, name, llen, H2A_DNS_LABEL_MAX);
        }
        if (llen == 1 && label[0] == '*') {
            if (nlabels != 0) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "%s: '%s': a wildcard '*' is allowed only as the whole "
                                   "leftmost label", field, name);
            }
            wildcard = true;
        } else {
            for (size_t j = 0; j < llen; j++) {
                if (label[j] == '*') {
                    return h2a_err_set(H2A_ERR_INPUT,
                                       "%s: '%s': a wildcard '*' is allowed only as the whole "
                                       "leftmost label", field, name);
                }
                if (!s_is_ldh(label[j])) {
                    return h2a_err_set(H2A_ERR_INPUT,
                                       "%s: '%s' has character 0x%02x at offset %zu; DNS names "
                                       "are letters, digits and hyphens (LDH) separated by dots",
                                       field, name, (unsigned char)label[j],
                                       (size_t)(label - name) + j);
                }
            }
            if (label[0] == '-' || label[llen - 1] == '-') {
                return h2a_err_set(H2A_ERR_INPUT, "%s: label '%.*s' of '%s' %s with a hyphen",
                                   field, (int)llen, label, name,
                                   label[0] == '-' ? "starts" : "ends");
            }
        }
        nlabels++;
        start = i + 1;
    }
    if (wildcard && nlabels < 3) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%s': a wildcard needs at least two labels after it", field, name);
    }
    return H2A_OK;
}

static h2a_err s_ip_check(const char *field, const char *ip)
{
    unsigned char buf[16];

    if (ip == NULL || ip[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty IP address", field);
    }
    if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1) {
        return H2A_OK;
    }
    return h2a_err_set(H2A_ERR_INPUT, "%s: '%.64s' is not an IPv4 or IPv6 address", field, ip);
}

/* ------------------------------------------------------------------ */
/* Subject                                                             */
/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    int nid;
} s_attr_names[] = {
    {"CN", NID_commonName},
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"serialNumber", NID_serialNumber},
    {"emailAddress", NID_pkcs9_emailAddress},
    {"DC", NID_domainComponent},
    {"UID", NID_userId},
};

/* Valid UTF-8 without control characters. */
static bool s_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t extra;

        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
        } else {
            return false;
        }
        if (n - i <= extra) {
            return false;
        }
        for (size_t j = 1; j <= extra; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return false;
            }
        }
        i += extra + 1;
    }
    return true;
}

struct s_rdn {
    int nid;
    ASN1_OBJECT *obj; /* for dotted OIDs */
    char value[H2A_RDN_VALUE_MAX + 1];
    size_t len;
};

static h2a_err s_attr_type(const char *field, const char *type, struct s_rdn *r)
{
    if (type[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "%s: an attribute has no name before '='", field);
    }
    for (size_t i = 0; i < H2A_NELEM(s_attr_names); i++) {
        if (strcasecmp(type, s_attr_names[i].name) == 0) {
            r->nid = s_attr_names[i].nid;
            return H2A_OK;
        }
    }
    if (isdigit((unsigned char)type[0])) {
        r->obj = OBJ_txt2obj(type, 1);
        if (r->obj != NULL) {
            return H2A_OK;
        }
    }
    return h2a_err_set(H2A_ERR_INPUT,
                       "%s: unknown attribute '%.32s' (expected CN, C, ST, L, O, OU, "
                       "serialNumber, emailAddress, DC, UID or a dotted OID)", field, type);
}

static h2a_err s_rdn_add(const char *field, X509_NAME *name, struct s_rdn *r, int pos)
{
    const char *aname = r->obj != NULL ? "OID" : OBJ_nid2sn(r->nid);
    int ok;

    if (r->len == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %s has an empty value", field, aname);
    }
    if (!s_utf8_ok((const unsigned char *)r->value, r->len)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %s value is not UTF-8 text without control "
                           "characters", field, aname);
    }
    if (r->nid == NID_countryName &&
        (r->len != 2 || !isalpha((unsigned char)r->value[0]) ||
         !isalpha((unsigned char)r->value[1]))) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: C must be a two-letter country code, got '%s'",
                           field, r->value);
    }
    if (r->obj != NULL) {
        ok = X509_NAME_add_entry_by_OBJ(name, r->obj, MBSTRING_UTF8,
                                        (const unsigned char *)r->value, (int)r->len, pos, 0);
    } else {
        ok = X509_NAME_add_entry_by_NID(name, r->nid, MBSTRING_UTF8,
                                        (const unsigned char *)r->value, (int)r->len, pos, 0);
    }
    if (!ok) {
        return h2a_err_openssl(H2A_ERR_INPUT, field);
    }
    return H2A_OK;
}

/*
 * One pass over the text: split on the separator, '=' splits type from
 * value, '\' escapes. Comma form adds each RDN at the front (position 0),
 * which turns RFC 4514's string order into DER order. Unescaped spaces
 * around names and values are dropped ("CN=a, O=b" is fine).
 */
/* "TYPE=" seen: the type, without the spaces before '=', names the attribute. */
static h2a_err s_type_done(const char *field, char *type, size_t tlen, struct s_rdn *r)
{
    while (tlen > 0 && type[tlen - 1] == ' ') {
        tlen--;
    }
    type[tlen] = '\0';
    return s_attr_type(field, type, r);
}

/*
 * A separator or the end after "TYPE=VALUE": trailing spaces go unless
 * escaped (`keep` marks the last escaped byte), and `r` is emptied for the
 * next attribute whatever the outcome.
 */
static h2a_err s_value_done(const char *field, X509_NAME *name, struct s_rdn *r, size_t keep,
                            bool slash)
{
    h2a_err rv;

    while (r->len > keep && r->value[r->len - 1] == ' ') {
        r->len--;
    }
    r->value[r->len] = '\0';
    rv = s_rdn_add(field, name, r, slash ? -1 : 0);
    ASN1_OBJECT_free(r->obj);
    memset(r, 0, sizeof(*r));
    return rv;
}

/* A separator or the end where no '=' came. */
static h2a_err s_no_value(const char *field, const char *type, size_t tlen)
{
    return h2a_err_set(H2A_ERR_INPUT, tlen == 0 ? "%s: empty attribute (two separators "
                       "in a row, or one at an end)" : "%s: '%.*s' is not TYPE=VALUE",
                       field, (int)tlen, type);
}

/* One more value byte, within the X.520 bound. */
static h2a_err s_value_push(const char *field, struct s_rdn *r, char c)
{
    if (r->len >= H2A_RDN_VALUE_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %s value is longer than %d bytes "
                           "(X.520 upper bound)", field,
                           r->obj != NULL ? "OID" : OBJ_nid2sn(r->nid), H2A_RDN_VALUE_MAX);
    }
    r->value[r->len++] = c;
    return H2A_OK;
}

static h2a_err s_subject_fill(const char *field, const char *text, X509_NAME *name)
{
    bool slash = text[0] == '/';
    char sep = slash ? '/' : ',';
    const char *p = slash ? text + 1 : text;
    char type[64];
    size_t tlen = 0, keep = 0;
    bool in_value = false;
    struct s_rdn r;
    h2a_err rv = H2A_OK;
    int count = 0;

    memset(&r, 0, sizeof(r));
    for (;; p++) {
        char c = *p;
        bool escaped = false;

        if (c == '\\') {
            p++;
            c = *p;
            if (c == '\0') {
                rv = h2a_err_set(H2A_ERR_INPUT, "%s: ends with a lone '\\'", field);
                goto done;
            }
            escaped = true;
        } else if (c == '+') {
            rv = h2a_err_set(H2A_ERR_INPUT, "%s: multi-valued RDNs ('+') are not supported; "
                             "escape a literal plus as '\\+'", field);
            goto done;
        } else if (!in_value && c == '=') {
            if ((rv = s_type_done(field, type, tlen, &r)) != H2A_OK) {
                goto done;
            }
            in_value = true;
            continue;
        } else if (c == '\0' || c == sep) {
            if (!in_value && tlen == 0 && c == '\0' && (count == 0 || slash)) {
                break; /* empty text, or a trailing '/' */
            }
            rv = in_value ? s_value_done(field, name, &r, keep, slash)
                          : s_no_value(field, type, tlen);
            if (rv != H2A_OK) {
                goto done;
            }
            count++;
            in_value = false;
            tlen = 0;
            keep = 0;
            if (c == '\0') {
                break;
            }
            continue;
        }
        /* Leading spaces of a type or value are not part of it; escaped ones are. */
        if (c == ' ' && !escaped && (in_value ? r.len : tlen) == 0) {
            continue;
        }
        if (!in_value) {
            if (tlen + 1 >= sizeof(type)) {
                rv = h2a_err_set(H2A_ERR_INPUT, "%s: attribute name too long", field);
                goto done;
            }
            type[tlen++] = c;
            continue;
        }
        if ((rv = s_value_push(field, &r, c)) != H2A_OK) {
            goto done;
        }
        if (escaped) {
            keep = r.len;
        }
    }
    if (count == 0) {
        rv = h2a_err_set(H2A_ERR_INPUT, "%s: no attributes; give at least one, e.g. "
                         "'CN=www.example.com'", field);
    }
done:
    ASN1_OBJECT_free(r.obj);
    return rv;
}

h2a_err h2a_subject_parse(const char *field, const char *text, X509_NAME **out)
{
    X509_NAME *name = NULL;
    h2a_err rv;
    size_t len;

    *out = NULL;
    if (text == NULL || text[0] == '\0' || strcmp(text, "/") == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: empty; give at least one attribute, e.g. "
                           "'CN=www.example.com'", field);
    }
    len = strlen(text);
    if (len > H2A_SUBJECT_MAX) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %zu bytes, at most %d allowed", field, len,
                           H2A_SUBJECT_MAX);
    }
    name = X509_NAME_new();
    if (name == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "%s: out of memory", field);
    }
    rv = s_subject_fill(field, text, name);
    if (rv != H2A_OK) {
        X509_NAME_free(name);
        return rv;
    }
    *out = name;
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Whole request                                                       */
/* ------------------------------------------------------------------ */

#define H2A_KU_ALL 0x1ffu
#define H2A_EKU_ALL 0x1ffu

h2a_err h2a_csr_validate(const struct h2a_csr_req *req)
{
    X509_NAME *name = NULL;
    char field[32];

    if (req == NULL) {
        return h2a_err_set(H2A_ERR_INTERNAL, "h2a_csr_validate: no request");
    }
    H2A_GUARD(h2a_subject_parse("subject", req->subject, &name));
    X509_NAME_free(name);
    if (req->n_dns + req->n_ip > H2A_CSR_MAX_SANS) {
        return h2a_err_set(H2A_ERR_INPUT, "dns/ip: %zu names, at most %d allowed",
                           req->n_dns + req->n_ip, H2A_CSR_MAX_SANS);
    }
    if ((req->n_dns > 0 && req->dns == NULL) || (req->n_ip > 0 && req->ip == NULL)) {
        return h2a_err_set(H2A_ERR_INTERNAL, "h2a_csr_validate: name list missing");
    }
    for (size_t i = 0; i < req->n_dns; i++) {
        snprintf(field, sizeof(field), "dns[%zu]", i);
        H2A_GUARD(h2a_dns_name_check(field, req->dns[i]));
        for (size_t j = 0; j < i; j++) {
            H2A_ENSURE(strcasecmp(req->dns[i], req->dns[j]) != 0, H2A_ERR_INPUT,
                       "dns[%zu]: '%s' repeats dns[%zu]", i, req->dns[i], j);
        }
    }
    for (size_t i = 0; i < req->n_ip; i++) {
        snprintf(field, sizeof(field), "ip[%zu]", i);
        H2A_GUARD(s_ip_check(field, req->ip[i]));
    }
    H2A_ENSURE(req->md_nid == 0 || h2a_csr_digest_name(req->md_nid) != NULL, H2A_ERR_INPUT,
               "digest: %s is not one of sha256, sha384, sha512",
               OBJ_nid2sn(req->md_nid) != NULL ? OBJ_nid2sn(req->md_nid) : "unknown");
    H2A_ENSURE((req->key_usage & ~H2A_KU_ALL) == 0, H2A_ERR_INPUT,
               "key_usage: unknown bits 0x%x", req->key_usage & ~H2A_KU_ALL);
    H2A_ENSURE((req->ext_key_usage & ~H2A_EKU_ALL) == 0, H2A_ERR_INPUT,
               "ext_key_usage: unknown bits 0x%x", req->ext_key_usage & ~H2A_EKU_ALL);
    return H2A_OK;
}

h2a_err h2a_csr_check_key(const struct h2a_csr_req *req, h2a_keytype type)
{
    H2A_ENSURE(type > H2A_KT_NONE && type < H2A_KT__COUNT, H2A_ERR_INPUT,
               "key: not a key type hsm2acm can sign CSRs with");
    H2A_ENSURE(!req->pss || h2a_keytype_is_rsa(type), H2A_ERR_INPUT,
               "pss: RSA-PSS needs an RSA key, the key is %s", h2a_keytype_cli_name(type));
    return H2A_OK;
}
