/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Every name a certificate carries: its DNS and IP SANs and its subject CN.
 * ACM shows the CN as the certificate's DomainName and older clients still
 * trust it, so the CN is a name like any SAN: the same rules, the same
 * authorization. One rule set over one list, built from a request before
 * the token is touched and from the issued certificate before anything is
 * staged.
 */

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "policy_internal.h"

void h2a_cert_names_cleanup(h2a_cert_names *n)
{
    if (n == NULL) {
        return;
    }
    h2a_strv_release(&n->dns, &n->ndns);
    h2a_strv_release(&n->ip, &n->nip);
    OPENSSL_free(n->cn);
    memset(n, 0, sizeof(*n));
}

static h2a_err s_push(char ***v, size_t *n, const char *s)
{
    struct h2a_strlist l = {*v, *n};
    h2a_err rv = h2a_strlist_push(&l, s);

    *v = l.v;
    *n = l.n;
    return rv;
}

/*
 * An IP address in one text form (inet_ntop's), so that "::1" in a request
 * and the 16 bytes of an IP SAN compare equal. False: not an address.
 */
static bool s_ip_canonical(const char *text, char out[INET6_ADDRSTRLEN])
{
    unsigned char bin[16];

    if (inet_pton(AF_INET, text, bin) == 1) {
        return inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN) != NULL;
    }
    if (inet_pton(AF_INET6, text, bin) == 1) {
        return inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN) != NULL;
    }
    return false;
}

static bool s_has_ci(char *const *v, size_t n, const char *s)
{
    const struct h2a_strlist l = {(char **)v, n};

    return h2a_strlist_has_ci(&l, s);
}

/*
 * The CN joins the list it belongs to (IP literal first: "10.1.2.3" is
 * also LDH), unless it is there already. A CN that is neither a DNS name
 * nor an IP address would reach ACM as a DomainName no rule has seen.
 */
static h2a_err s_add_cn(h2a_cert_names *n, const char *what, const char *cn)
{
    char ip[INET6_ADDRSTRLEN];

    n->cn = OPENSSL_strdup(cn);
    if (n->cn == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "subject CN");
    }
    if (s_ip_canonical(cn, ip)) {
        n->cn_is_ip = true;
        if (s_has_ci(n->ip, n->nip, ip)) {
            return H2A_OK;
        }
        n->cn_added = true;
        return s_push(&n->ip, &n->nip, ip);
    }
    if (s_has_ci(n->dns, n->ndns, cn)) {
        return H2A_OK; /* its syntax is reported as dns[i]'s */
    }
    if (h2a_pol_dns_syntax("subject CN", cn, true) != H2A_OK) {
        h2a_err_clear();
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s CN: '%.80s' is neither a DNS name nor an IP address (ACM "
                           "shows the CN as the DomainName, so it must be a name the "
                           "SAN rules can check)",
                           what, cn);
    }
    n->cn_added = true;
    return s_push(&n->dns, &n->ndns, cn);
}

/* The one CN of `subj` (UTF-8, OPENSSL_free), NULL without one; a second is refused. */
static h2a_err s_subject_cn(const X509_NAME *subj, const char *what, char **out)
{
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    int len;

    *out = NULL;
    if (idx < 0) {
        return H2A_OK;
    }
    if (X509_NAME_get_index_by_NID(subj, NID_commonName, idx) >= 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: more than one CN (a certificate for ACM has one "
                           "DomainName; put further names in dns[] or ip[])",
                           what);
    }
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
    if (len <= 0 || memchr(utf8, '\0', (size_t)len) != NULL) {
        OPENSSL_free(utf8);
        return h2a_err_set(H2A_ERR_INPUT, "%s: the CN is empty or not text", what);
    }
    *out = (char *)utf8;
    return H2A_OK;
}

static h2a_err s_finish(const X509_NAME *subj, const char *what, h2a_cert_names *out)
{
    char *cn = NULL;
    h2a_err rv = subj != NULL ? s_subject_cn(subj, what, &cn) : H2A_OK;

    if (rv == H2A_OK && cn != NULL) {
        rv = s_add_cn(out, what, cn);
    }
    OPENSSL_free(cn);
    if (rv != H2A_OK) {
        h2a_cert_names_cleanup(out);
    }
    return rv;
}

h2a_err h2a_cert_names_from_request(const X509_NAME *subject, const char *const *dns,
                                    size_t ndns, const char *const *ip, size_t nip,
                                    h2a_cert_names *out)
{
    h2a_err rv = H2A_OK;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < ndns && rv == H2A_OK; i++) {
        rv = s_push(&out->dns, &out->ndns, dns[i]);
    }
    for (size_t i = 0; i < nip && rv == H2A_OK; i++) {
        char canon[INET6_ADDRSTRLEN];

        /* Syntax errors are h2a_policy_check_names' to report, naming ip[i]. */
        rv = s_push(&out->ip, &out->nip, s_ip_canonical(ip[i], canon) ? canon : ip[i]);
    }
    if (rv != H2A_OK) {
        h2a_cert_names_cleanup(out);
        return rv;
    }
    return s_finish(subject, "subject", out);
}

static h2a_err s_x509_san(const GENERAL_NAME *g, int i, h2a_cert_names *out)
{
    char text[256];
    const ASN1_STRING *s;
    int len;

    if (g->type == GEN_IPADD) {
        s = g->d.iPAddress;
        len = ASN1_STRING_length(s);
        if ((len != 4 && len != 16) ||
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text,
                      sizeof(text)) == NULL) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "certificate: SubjectAlternativeName[%d] is not an IP "
                               "address", i);
        }
        return s_push(&out->ip, &out->nip, text);
    }
    if (g->type != GEN_DNS) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "certificate: SubjectAlternativeName[%d] is neither a DNS name "
                           "nor an IP address (a name no rule checks)", i);
    }
    s = g->d.dNSName;
    len = ASN1_STRING_length(s);
    if (len <= 0 || (size_t)len >= sizeof(text) ||
        memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "certificate: SubjectAlternativeName[%d] is not a DNS name", i);
    }
    memcpy(text, ASN1_STRING_get0_data(s), (size_t)len);
    text[len] = '\0';
    H2A_GUARD(h2a_pol_dns_syntax("certificate SubjectAlternativeName", text, true));
    return s_push(&out->dns, &out->ndns, text);
}

h2a_err h2a_cert_names_from_x509(X509 *cert, h2a_cert_names *out)
{
    int crit = -1;
    GENERAL_NAMES *gens;
    h2a_err rv = H2A_OK;

    memset(out, 0, sizeof(*out));
    H2A_ENSURE(cert != NULL, H2A_ERR_INPUT, "certificate: missing");
    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL && crit != -1) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "certificate: the SubjectAlternativeName extension is %s",
                           crit == -2 ? "present more than once" : "malformed");
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(gens) && rv == H2A_OK; i++) {
        rv = s_x509_san(sk_GENERAL_NAME_value(gens, i), i, out);
    }
    GENERAL_NAMES_free(gens);
    if (rv != H2A_OK) {
        h2a_cert_names_cleanup(out);
        return rv;
    }
    return s_finish(X509_get_subject_name(cert), "certificate subject", out);
}

/* How many of a list are the request's own (the CN, when added, is last). */
static size_t s_own(const h2a_cert_names *n, bool ip)
{
    size_t total = ip ? n->nip : n->ndns;

    return n->cn_added && n->cn_is_ip == ip ? total - 1 : total;
}

h2a_err h2a_policy_check_cert_names(const H2A_POLICY *p, const h2a_cert_names *n)
{
    h2a_err rv;

    /* The listed names first, so a message names dns[i] / ip[i] as written. */
    H2A_GUARD(h2a_policy_check_names(p, (const char *const *)n->dns, s_own(n, false),
                                     (const char *const *)n->ip, s_own(n, true)));
    if (!n->cn_added) {
        return H2A_OK;
    }
    rv = h2a_policy_check_names(p, (const char *const *)n->dns, n->ndns,
                                (const char *const *)n->ip, n->nip);
    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "subject CN '%s' (not among the SANs, so added to them): ",
                              n->cn);
    }
    return H2A_OK;
}

h2a_err h2a_policy_check_cert_authorization(const H2A_POLICY *p, const char *requester,
                                            const h2a_cert_names *n, const char *account_id)
{
    const char *cn[1] = {n->cn};
    h2a_err rv;

    H2A_GUARD(h2a_policy_check_authorization(p, requester, (const char *const *)n->dns,
                                             s_own(n, false), account_id));
    if (!n->cn_added || n->cn_is_ip) {
        return H2A_OK;
    }
    rv = h2a_policy_check_authorization(p, requester, cn, 1, account_id);
    if (rv != H2A_OK) {
        return h2a_err_prefix(rv, "subject CN '%s': ", n->cn);
    }
    return H2A_OK;
}

h2a_err h2a_cert_names_within(const h2a_cert_names *got, const h2a_cert_names *asked)
{
    for (size_t i = 0; i < got->ndns; i++) {
        if (!s_has_ci(asked->dns, asked->ndns, got->dns[i])) {
            return h2a_err_set(H2A_ERR_POLICY, "names DNS '%s', which the request did not "
                               "ask for", got->dns[i]);
        }
    }
    for (size_t i = 0; i < got->nip; i++) {
        if (!s_has_ci(asked->ip, asked->nip, got->ip[i])) {
            return h2a_err_set(H2A_ERR_POLICY, "names IP '%s', which the request did not "
                               "ask for", got->ip[i]);
        }
    }
    return H2A_OK;
}
