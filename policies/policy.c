/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Policy file loading and validation. The file is strict on purpose: an
 * unknown key is an error (a typo such as "allow_wildcard" must never leave
 * the safe default in place while its author believes otherwise), and so is
 * any value that contradicts another one.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "policy_internal.h"

#define S_DEFAULT_ORIGIN "built-in default"
#define S_REQUESTER_MAX 128
#define S_MAX_NAMES_LIMIT 100

/* ------------------------------------------------------------------ */
/* String lists                                                        */
/* ------------------------------------------------------------------ */

void h2a_strlist_free(struct h2a_strlist *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        OPENSSL_free(l->v[i]);
    }
    OPENSSL_free(l->v);
    l->v = NULL;
    l->n = 0;
}

void h2a_strv_release(char ***v, size_t *n)
{
    struct h2a_strlist l = {*v, *n};

    h2a_strlist_free(&l);
    *v = NULL;
    *n = 0;
}

h2a_err h2a_strlist_push(struct h2a_strlist *l, const char *s)
{
    char **nv;
    char *copy = OPENSSL_strdup(s);

    if (copy == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    nv = OPENSSL_realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL) {
        OPENSSL_free(copy);
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    nv[l->n++] = copy;
    l->v = nv;
    return H2A_OK;
}

bool h2a_strlist_has_ci(const struct h2a_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void h2a_strlist_sort(struct h2a_strlist *l)
{
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof(l->v[0]), s_strcmp_p);
    }
}

/* ------------------------------------------------------------------ */
/* Lifecycle and defaults                                              */
/* ------------------------------------------------------------------ */

void h2a_policy_free(H2A_POLICY *p)
{
    if (p == NULL) {
        return;
    }
    OPENSSL_free(p->origin);
    h2a_strlist_free(&p->san_dns_suffixes);
    for (size_t i = 0; i < p->n_auth; i++) {
        OPENSSL_free(p->auth[i].requester);
        h2a_strlist_free(&p->auth[i].dns_suffixes);
        h2a_strlist_free(&p->auth[i].accounts);
    }
    OPENSSL_free(p->auth);
    OPENSSL_free(p);
}

static h2a_err s_new_default(const char *origin, H2A_POLICY **out)
{
    H2A_POLICY *p = OPENSSL_zalloc(sizeof(*p));

    *out = NULL;
    if (p == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    p->origin = OPENSSL_strdup(origin);
    if (p->origin == NULL) {
        h2a_policy_free(p);
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    p->version = 1;
    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        p->key_alg[t] = true;
    }
    p->min_rsa_bits = 2048;
    p->digests = H2A_POL_MD_SHA256 | H2A_POL_MD_SHA384 | H2A_POL_MD_SHA512;
    p->allow_wildcards = false;
    p->allow_ip = false;
    p->max_names = S_MAX_NAMES_LIMIT;
    p->on_incompatible = H2A_ON_INCOMPATIBLE_REFUSE;
    p->csr_ku_set = false;
    p->csr_ku = H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT;
    p->csr_eku = H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION;
    h2a_policy_lifecycle_defaults(&p->life);
    *out = p;
    return H2A_OK;
}

const char *h2a_policy_origin(const H2A_POLICY *p)
{
    return p != NULL ? p->origin : S_DEFAULT_ORIGIN;
}

h2a_on_incompatible h2a_policy_on_incompatible(const H2A_POLICY *p)
{
    return p != NULL ? p->on_incompatible : H2A_ON_INCOMPATIBLE_REFUSE;
}

size_t h2a_policy_max_names(const H2A_POLICY *p)
{
    return p != NULL ? p->max_names : S_MAX_NAMES_LIMIT;
}

unsigned h2a_pol_ku_for_keytype(unsigned ku, h2a_keytype kt)
{
    return h2a_keytype_is_rsa(kt) ? (ku & ~H2A_KU_EC_ONLY) : (ku & ~H2A_KU_RSA_ONLY);
}

unsigned h2a_policy_csr_key_usage(const H2A_POLICY *p, h2a_keytype kt)
{
    unsigned ku = H2A_KU_DIGITAL_SIGNATURE | H2A_KU_KEY_ENCIPHERMENT;

    if (p != NULL && p->csr_ku_set) {
        ku = p->csr_ku;
    }
    return h2a_pol_ku_for_keytype(ku, kt);
}

unsigned h2a_policy_csr_ext_key_usage(const H2A_POLICY *p)
{
    return p != NULL ? p->csr_eku : H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION;
}

/* ------------------------------------------------------------------ */
/* JSON helpers                                                        */
/* ------------------------------------------------------------------ */

static const char *s_type_name(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number with a fraction";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    default:
        return "an unknown JSON type";
    }
}

h2a_err h2a_pol_want(const char *key, json_object *v, json_type t, const char *what)
{
    if (v == NULL || json_object_get_type(v) != t) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: expected %s, got %s", key, what,
                           v == NULL ? "null" : s_type_name(v));
    }
    return H2A_OK;
}

/* `obj` may hold only the keys in `known` (NULL-terminated). */
h2a_err h2a_pol_known_keys(const char *where, json_object *obj, const char *const *known)
{
    json_object_object_foreach(obj, k, v)
    {
        bool ok = false;

        (void)v;
        for (size_t i = 0; known[i] != NULL; i++) {
            if (strcmp(k, known[i]) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char list[256] = "";
            size_t off = 0;

            for (size_t i = 0; known[i] != NULL && off < sizeof(list); i++) {
                int n = snprintf(list + off, sizeof(list) - off, "%s%s",
                                 i > 0 ? ", " : "", known[i]);
                off += n > 0 ? (size_t)n : 0;
            }
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s%sunknown key '%s' (known keys: %s); unknown keys "
                               "are refused so that a typo never weakens the policy",
                               where, where[0] != '\0' ? ": " : "", k, list);
        }
    }
    return H2A_OK;
}

h2a_err h2a_pol_get_bool(const char *key, json_object *v, bool *out)
{
    H2A_GUARD(h2a_pol_want(key, v, json_type_boolean, "true or false"));
    *out = json_object_get_boolean(v) != 0;
    return H2A_OK;
}

h2a_err h2a_pol_get_int(const char *key, json_object *v, int64_t lo, int64_t hi,
                         int64_t *out)
{
    int64_t x;

    H2A_GUARD(h2a_pol_want(key, v, json_type_int, "an integer"));
    x = json_object_get_int64(v);
    if (x < lo || x > hi) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: %lld is out of range (%lld..%lld)", key,
                           (long long)x, (long long)lo, (long long)hi);
    }
    *out = x;
    return H2A_OK;
}

/* A non-empty array of strings; each element checked by the caller. */
static h2a_err s_get_str_array(const char *key, json_object *v, bool allow_empty,
                               size_t *out_n)
{
    size_t n;

    H2A_GUARD(h2a_pol_want(key, v, json_type_array, "an array of strings"));
    n = json_object_array_length(v);
    if (n == 0 && !allow_empty) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: the list is empty", key);
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char field[320];

        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        H2A_GUARD(h2a_pol_want(field, e, json_type_string, "a string"));
        if (json_object_get_string_len(e) == 0) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: empty string", field);
        }
        if (strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e)) {
            return h2a_err_set(H2A_ERR_INPUT, "%s: contains a NUL byte", field);
        }
    }
    *out_n = n;
    return H2A_OK;
}

static const char *s_elem(json_object *arr, size_t i)
{
    return json_object_get_string(json_object_array_get_idx(arr, i));
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static h2a_err s_parse_key_algorithms(H2A_POLICY *p, json_object *v)
{
    size_t n;
    h2a_keytype kt;

    H2A_GUARD(s_get_str_array("key_algorithms", v, false, &n));
    memset(p->key_alg, 0, sizeof(p->key_alg));
    for (size_t i = 0; i < n; i++) {
        const char *name = s_elem(v, i);

        if (strcmp(name, "RSA_1024") == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "key_algorithms[%zu]: RSA_1024 is refused: ACM imports it "
                               "but hsm2acm makes no RSA key under 2048 bits",
                               i);
        }
        kt = H2A_KT_NONE;
        for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
            if (strcmp(name, h2a_keytype_acm_name((h2a_keytype)t)) == 0) {
                kt = (h2a_keytype)t;
            }
        }
        if (kt == H2A_KT_NONE) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "key_algorithms[%zu]: unknown algorithm '%s' (expected "
                               "ACM names: RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, "
                               "EC_secp384r1, EC_secp521r1)",
                               i, name);
        }
        if (p->key_alg[kt]) {
            return h2a_err_set(H2A_ERR_INPUT, "key_algorithms[%zu]: %s is listed twice", i,
                               name);
        }
        p->key_alg[kt] = true;
    }
    return H2A_OK;
}

static h2a_err s_parse_digests(H2A_POLICY *p, json_object *v)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {{"sha256", H2A_POL_MD_SHA256},
                 {"sha384", H2A_POL_MD_SHA384},
                 {"sha512", H2A_POL_MD_SHA512}};
    size_t n;

    H2A_GUARD(s_get_str_array("digests", v, false, &n));
    p->digests = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = s_elem(v, i);
        unsigned bit = 0;

        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            if (strcmp(name, known[k].name) == 0) {
                bit = known[k].bit;
            }
        }
        if (bit == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "digests[%zu]: '%s' is not allowed (expected sha256, "
                               "sha384 or sha512)",
                               i, name);
        }
        if ((p->digests & bit) != 0) {
            return h2a_err_set(H2A_ERR_INPUT, "digests[%zu]: %s is listed twice", i, name);
        }
        p->digests |= bit;
    }
    return H2A_OK;
}

/* A DNS suffix list entry: a plain DNS name, stored lower case. */
static h2a_err s_push_suffix(const char *field, const char *s, struct h2a_strlist *l)
{
    char low[256];
    size_t len = strlen(s);

    if (s[0] == '.' || s[0] == '*') {
        return h2a_err_set(H2A_ERR_INPUT,
                           "%s: '%s': write the suffix without a leading '.' or '*.' "
                           "('example.com' matches example.com and every name under it)",
                           field, s);
    }
    H2A_GUARD(h2a_pol_dns_syntax(field, s, false));
    if (len >= sizeof(low)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: too long", field);
    }
    for (size_t i = 0; i <= len; i++) {
        low[i] = (char)tolower((unsigned char)s[i]);
    }
    if (h2a_strlist_has_ci(l, low)) {
        return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' is listed twice", field, s);
    }
    return h2a_strlist_push(l, low);
}

static h2a_err s_parse_san(H2A_POLICY *p, json_object *san)
{
    static const char *const known[] = {"dns_suffixes", "allow_wildcards", "allow_ip",
                                        "max_names", NULL};
    json_object *v;
    int64_t x;

    H2A_GUARD(h2a_pol_want("san", san, json_type_object, "an object"));
    H2A_GUARD(h2a_pol_known_keys("san", san, known));
    if (json_object_object_get_ex(san, "dns_suffixes", &v)) {
        size_t n;

        H2A_GUARD(s_get_str_array("san.dns_suffixes", v, true, &n));
        for (size_t i = 0; i < n; i++) {
            char field[64];

            snprintf(field, sizeof(field), "san.dns_suffixes[%zu]", i);
            H2A_GUARD(s_push_suffix(field, s_elem(v, i), &p->san_dns_suffixes));
        }
        h2a_strlist_sort(&p->san_dns_suffixes);
    }
    if (json_object_object_get_ex(san, "allow_wildcards", &v)) {
        H2A_GUARD(h2a_pol_get_bool("san.allow_wildcards", v, &p->allow_wildcards));
    }
    if (json_object_object_get_ex(san, "allow_ip", &v)) {
        H2A_GUARD(h2a_pol_get_bool("san.allow_ip", v, &p->allow_ip));
    }
    if (json_object_object_get_ex(san, "max_names", &v)) {
        H2A_GUARD(h2a_pol_get_int("san.max_names", v, 1, S_MAX_NAMES_LIMIT, &x));
        p->max_names = (size_t)x;
    }
    return H2A_OK;
}

static bool s_requester_ok(const char *r)
{
    size_t len = strlen(r);

    if (len == 0 || len > S_REQUESTER_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)r[i];

        if (!isalnum(c) && strchr("._@:/+-", c) == NULL) {
            return false;
        }
    }
    return true;
}

/* dns_suffixes or accounts of one requester: a list, or exactly ["*"]. */
static h2a_err s_parse_auth_list(const char *key, json_object *v, bool accounts,
                                 struct h2a_strlist *out)
{
    size_t n;

    H2A_GUARD(s_get_str_array(key, v, false, &n));
    for (size_t i = 0; i < n; i++) {
        const char *s = s_elem(v, i);
        char field[320];

        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        if (strcmp(s, "*") == 0) {
            if (n != 1) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "%s: \"*\" (any) must be the only entry of the list",
                                   field);
            }
            return h2a_strlist_push(out, "*");
        }
        if (accounts) {
            if (!h2a_account_id_ok(s)) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "%s: '%s' is not an AWS account id (12 digits)", field,
                                   s);
            }
            if (h2a_strlist_has_ci(out, s)) {
                return h2a_err_set(H2A_ERR_INPUT, "%s: '%s' is listed twice", field, s);
            }
            H2A_GUARD(h2a_strlist_push(out, s));
        } else {
            H2A_GUARD(s_push_suffix(field, s, out));
        }
    }
    h2a_strlist_sort(out);
    return H2A_OK;
}

static h2a_err s_parse_authorization(H2A_POLICY *p, json_object *auth)
{
    static const char *const known[] = {"dns_suffixes", "accounts", NULL};
    size_t n;
    size_t i = 0;

    H2A_GUARD(h2a_pol_want("authorization", auth, json_type_object,
                     "an object (requester -> {dns_suffixes, accounts})"));
    n = (size_t)json_object_object_length(auth);
    if (n == 0) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "authorization: is empty, so no requester could ever enroll "
                           "(leave the key out to allow anyone)");
    }
    p->auth = OPENSSL_zalloc(n * sizeof(*p->auth));
    if (p->auth == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    p->has_authorization = true;
    json_object_object_foreach(auth, req, entry)
    {
        struct h2a_policy_auth *a = &p->auth[i];
        char where[S_REQUESTER_MAX + 64];
        char key[S_REQUESTER_MAX + 128];
        json_object *v;

        if (!s_requester_ok(req)) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "authorization: requester name '%.*s' is invalid (1..%d "
                               "characters of A-Z a-z 0-9 . _ @ : / + -)",
                               S_REQUESTER_MAX, req, S_REQUESTER_MAX);
        }
        a->requester = OPENSSL_strdup(req);
        if (a->requester == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        }
        p->n_auth = ++i;
        snprintf(where, sizeof(where), "authorization.%s", req);
        H2A_GUARD(h2a_pol_want(where, entry, json_type_object,
                         "an object with dns_suffixes and accounts"));
        H2A_GUARD(h2a_pol_known_keys(where, entry, known));
        for (size_t k = 0; known[k] != NULL; k++) {
            snprintf(key, sizeof(key), "%s.%s", where, known[k]);
            if (!json_object_object_get_ex(entry, known[k], &v)) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "%s: missing (a list, or [\"*\"] for any)", key);
            }
            H2A_GUARD(s_parse_auth_list(key, v, k == 1,
                                        k == 1 ? &a->accounts : &a->dns_suffixes));
        }
    }
    return H2A_OK;
}

/* csr.key_usage / csr.extended_key_usage: ACM names a CSR can ask for. */
static h2a_err s_parse_usage_list(const char *key, json_object *v, bool eku, unsigned *out)
{
    size_t n;

    H2A_GUARD(s_get_str_array(key, v, true, &n));
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = s_elem(v, i);
        unsigned bit = 0;
        h2a_err rv = eku ? h2a_eku_from_acm_name(name, &bit)
                         : h2a_ku_from_acm_name(name, &bit);

        if (rv != H2A_OK) {
            return h2a_err_prefix(rv, "%s[%zu]: ", key, i);
        }
        if (bit == 0 || bit == H2A_KU_ANY || bit == H2A_KU_CUSTOM) {
            /* H2A_KU_ANY == H2A_EKU_ANY and the CUSTOM bits are equal too. */
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s[%zu]: %s names no extension value a CSR can ask for",
                               key, i, name);
        }
        if (!eku && (bit == H2A_KU_CERTIFICATE_SIGNING || bit == H2A_KU_CRL_SIGNING)) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s[%zu]: %s is refused: a certificate for ACM is a TLS "
                               "leaf, never a CA",
                               key, i, name);
        }
        if (!eku && (bit == H2A_KU_ENCIPHER_ONLY || bit == H2A_KU_DECIPHER_ONLY)) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "%s[%zu]: %s is refused: it qualifies a key agreement a TLS "
                               "certificate for ACM never makes",
                               key, i, name);
        }
        if ((*out & bit) != 0) {
            return h2a_err_set(H2A_ERR_INPUT, "%s[%zu]: %s is listed twice", key, i, name);
        }
        *out |= bit;
    }
    return H2A_OK;
}

static h2a_err s_parse_csr(H2A_POLICY *p, json_object *csr)
{
    static const char *const known[] = {"key_usage", "extended_key_usage", NULL};
    json_object *v;

    H2A_GUARD(h2a_pol_want("csr", csr, json_type_object, "an object"));
    H2A_GUARD(h2a_pol_known_keys("csr", csr, known));
    if (json_object_object_get_ex(csr, "key_usage", &v)) {
        H2A_GUARD(s_parse_usage_list("csr.key_usage", v, false, &p->csr_ku));
        p->csr_ku_set = true;
    }
    if (json_object_object_get_ex(csr, "extended_key_usage", &v)) {
        H2A_GUARD(s_parse_usage_list("csr.extended_key_usage", v, true, &p->csr_eku));
    }
    return H2A_OK;
}

static h2a_err s_parse_on_incompatible(H2A_POLICY *p, json_object *v)
{
    const char *s;

    H2A_GUARD(h2a_pol_want("on_incompatible", v, json_type_string,
                     "a string, \"refuse\" or \"new-arn\""));
    s = json_object_get_string(v);
    if (strcmp(s, "refuse") == 0) {
        p->on_incompatible = H2A_ON_INCOMPATIBLE_REFUSE;
    } else if (strcmp(s, "new-arn") == 0) {
        p->on_incompatible = H2A_ON_INCOMPATIBLE_NEW_ARN;
    } else {
        return h2a_err_set(H2A_ERR_INPUT,
                           "on_incompatible: '%s' is not one of \"refuse\", \"new-arn\"", s);
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Cross-key consistency                                               */
/* ------------------------------------------------------------------ */

static h2a_err s_check_contradictions(const H2A_POLICY *p)
{
    bool any_rsa = false;
    bool any_ec = false;

    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT; t++) {
        if (!p->key_alg[t]) {
            continue;
        }
        if (h2a_keytype_is_rsa((h2a_keytype)t)) {
            any_rsa = true;
            if (h2a_keytype_bits((h2a_keytype)t) < p->min_rsa_bits) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "min_rsa_bits: %d contradicts key_algorithms, which "
                                   "allows %s",
                                   p->min_rsa_bits, h2a_keytype_acm_name((h2a_keytype)t));
            }
        } else {
            any_ec = true;
        }
    }
    if (p->csr_ku_set && p->csr_ku != 0) {
        if (any_rsa && h2a_pol_ku_for_keytype(p->csr_ku, H2A_KT_RSA_2048) == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "csr.key_usage: leaves no KeyUsage for RSA keys, which "
                               "key_algorithms allows (KEY_AGREEMENT applies to EC keys "
                               "only)");
        }
        if (any_ec && h2a_pol_ku_for_keytype(p->csr_ku, H2A_KT_EC_P256) == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "csr.key_usage: leaves no KeyUsage for EC keys, which "
                               "key_algorithms allows (KEY_ENCIPHERMENT and "
                               "DATA_ENCIPHERMENT apply to RSA keys only, RFC 5480)");
        }
    }
    /*
     * An authorization suffix that lies outside every SAN suffix can never
     * match a name the SAN rules let through: the author meant something.
     */
    if (p->san_dns_suffixes.n > 0) {
        for (size_t i = 0; i < p->n_auth; i++) {
            const struct h2a_strlist *l = &p->auth[i].dns_suffixes;

            for (size_t j = 0; j < l->n; j++) {
                bool reachable = strcmp(l->v[j], "*") == 0;

                for (size_t k = 0; k < p->san_dns_suffixes.n && !reachable; k++) {
                    const char *s = p->san_dns_suffixes.v[k];

                    reachable = h2a_pol_dns_under(l->v[j], s) ||
                                h2a_pol_dns_under(s, l->v[j]);
                }
                if (!reachable) {
                    return h2a_err_set(H2A_ERR_INPUT,
                                       "authorization.%s.dns_suffixes: '%s' lies outside "
                                       "every san.dns_suffixes entry, so it can never match",
                                       p->auth[i].requester, l->v[j]);
                }
            }
        }
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static h2a_err s_parse_root(H2A_POLICY *p, json_object *root)
{
    static const char *const known[] = {"version", "key_algorithms", "min_rsa_bits",
                                        "digests", "san", "authorization",
                                        "on_incompatible", "csr", "renewal", "keys", NULL};
    json_object *v;
    int64_t x;

    if (json_object_get_type(root) != json_type_object) {
        return h2a_err_set(H2A_ERR_INPUT, "top level: expected a JSON object, got %s",
                           s_type_name(root));
    }
    H2A_GUARD(h2a_pol_known_keys("", root, known));
    if (json_object_object_get_ex(root, "version", &v)) {
        H2A_GUARD(h2a_pol_want("version", v, json_type_int, "an integer"));
        if (json_object_get_int64(v) != 1) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "version: %lld is not supported (this hsm2acm reads "
                               "version 1)",
                               (long long)json_object_get_int64(v));
        }
        x = 1;
        p->version = (int)x;
    }
    if (json_object_object_get_ex(root, "key_algorithms", &v)) {
        H2A_GUARD(s_parse_key_algorithms(p, v));
    }
    if (json_object_object_get_ex(root, "min_rsa_bits", &v)) {
        H2A_GUARD(h2a_pol_get_int("min_rsa_bits", v, 2048, 4096, &x));
        p->min_rsa_bits = (int)x;
    }
    if (json_object_object_get_ex(root, "digests", &v)) {
        H2A_GUARD(s_parse_digests(p, v));
    }
    if (json_object_object_get_ex(root, "san", &v)) {
        H2A_GUARD(s_parse_san(p, v));
    }
    if (json_object_object_get_ex(root, "authorization", &v)) {
        H2A_GUARD(s_parse_authorization(p, v));
    }
    if (json_object_object_get_ex(root, "on_incompatible", &v)) {
        H2A_GUARD(s_parse_on_incompatible(p, v));
    }
    if (json_object_object_get_ex(root, "csr", &v)) {
        H2A_GUARD(s_parse_csr(p, v));
    }
    H2A_GUARD(h2a_pol_parse_lifecycle(p, root));
    return s_check_contradictions(p);
}

/* Line and column of byte `off` in `json`, for json-c's error position. */
static void s_position(const char *json, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (json[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

h2a_err h2a_policy_parse(const char *json, size_t len, const char *origin,
                         H2A_POLICY **out)
{
    h2a_err rv;
    H2A_POLICY *p = NULL;
    json_tokener *tok = NULL;
    json_object *root = NULL;
    size_t end;
    size_t line;
    size_t col;

    *out = NULL;
    if (origin == NULL) {
        origin = "(memory)";
    }
    if (len > H2A_POLICY_MAX_FILE_BYTES) {
        return h2a_err_set(H2A_ERR_INPUT, "policy %s: is %zu bytes, larger than the limit "
                           "of %u bytes (1 MiB)", origin, len, H2A_POLICY_MAX_FILE_BYTES);
    }
    if (len == 0) {
        return h2a_err_set(H2A_ERR_INPUT, "policy %s: is empty, not a JSON object", origin);
    }
    if (memchr(json, '\0', len) != NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "policy %s: contains a NUL byte, not JSON text",
                           origin);
    }
    tok = json_tokener_new_ex(32);
    if (tok == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, json, (int)len);
    end = json_tokener_get_parse_end(tok);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        enum json_tokener_error jerr = json_tokener_get_error(tok);

        s_position(json, end, &line, &col);
        rv = h2a_err_set(H2A_ERR_INPUT, "policy %s: not valid JSON at line %zu column %zu: %s",
                         origin, line, col,
                         jerr == json_tokener_continue ? "unexpected end of input"
                                                       : json_tokener_error_desc(jerr));
        goto done;
    }
    while (end < len && isspace((unsigned char)json[end])) {
        end++;
    }
    if (end != len) {
        s_position(json, end, &line, &col);
        rv = h2a_err_set(H2A_ERR_INPUT,
                         "policy %s: not valid JSON: extra text after the object at "
                         "line %zu column %zu",
                         origin, line, col);
        goto done;
    }
    rv = h2a_policy_json_strict(json, len, &end);
    if (rv != H2A_OK) {
        s_position(json, end, &line, &col);
        h2a_err_prefix(rv, "policy %s: not valid JSON at line %zu column %zu: ", origin, line,
                       col);
        goto done;
    }
    rv = s_new_default(origin, &p);
    if (rv != H2A_OK) {
        goto done;
    }
    rv = s_parse_root(p, root);
    if (rv != H2A_OK) {
        h2a_err_prefix(rv, "policy %s: ", origin);
        goto done;
    }
    *out = p;
    p = NULL;
done:
    h2a_policy_free(p);
    json_object_put(root);
    json_tokener_free(tok);
    return rv;
}

h2a_err h2a_policy_load(const char *path, H2A_POLICY **out)
{
    h2a_err rv;
    h2a_buf b;
    struct stat st;

    *out = NULL;
    if (path == NULL) {
        return s_new_default(S_DEFAULT_ORIGIN, out);
    }
    if (path[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "policy: the file name is empty");
    }
    /*
     * A policy anyone can rewrite protects nothing: refuse it, as sshd's
     * StrictModes does for authorized_keys. Group write is the admin's call.
     */
    if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH) != 0 && !S_ISCHR(st.st_mode)) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "policy %s: is writable by every user (mode %04o), so anyone "
                           "could weaken it; run chmod o-w on it",
                           path, (unsigned)(st.st_mode & 07777));
    }
    h2a_buf_init(&b, H2A_POLICY_MAX_FILE_BYTES);
    rv = h2a_file_read(path, &b);
    if (rv != H2A_OK) {
        /* Data was read, so the file opened: the read stopped at the limit. */
        if (b.len > 0 && b.len + 4096 >= H2A_POLICY_MAX_FILE_BYTES) {
            rv = h2a_err_set(H2A_ERR_INPUT,
                             "policy %s: larger than the limit of %u bytes (1 MiB)", path,
                             H2A_POLICY_MAX_FILE_BYTES);
        } else {
            h2a_err_prefix(rv, "policy: ");
        }
        goto done;
    }
    rv = h2a_policy_parse((const char *)b.data, b.len, path, out);
done:
    h2a_buf_free(&b);
    return rv;
}
