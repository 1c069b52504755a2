/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * `policy show`: the effective policy as sorted "key = value" lines, so a
 * change to a policy file (or to the built-in default) is a one-line diff
 * in review and in tests/policy_snapshot/. Values that are lists are
 * sorted too; "(any)", "(anyone)" and "(none)" cannot be DNS names or ACM
 * names, so they never collide with a real value.
 */

#include <string.h>

#include <openssl/crypto.h>

#include "policy_internal.h"

/* Append "key = value" to `lines`. */
static h2a_err s_line(struct h2a_strlist *lines, const char *key, const char *value)
{
    h2a_buf b;
    h2a_err rv;

    h2a_buf_init(&b, 0);
    rv = h2a_buf_printf(&b, "%s = %s", key, value);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(&b);
    }
    if (rv == H2A_OK) {
        rv = h2a_strlist_push(lines, (const char *)b.data);
    }
    h2a_buf_free(&b);
    return rv;
}

/* `l` sorted and ", "-joined into a fresh `b`; `empty` when it has no entry. */
static h2a_err s_join(const struct h2a_strlist *l, const char *empty, h2a_buf *b)
{
    h2a_buf_reset(b);
    if (l->n == 0) {
        H2A_GUARD(h2a_buf_append_str(b, empty));
    }
    for (size_t i = 0; i < l->n; i++) {
        H2A_GUARD(h2a_buf_printf(b, "%s%s", i > 0 ? ", " : "",
                                 strcmp(l->v[i], "*") == 0 ? "(any)" : l->v[i]));
    }
    return h2a_buf_terminate(b);
}

/* Allowed key types (for CloudFront: those it accepts too), sorted, into `b`. */
static h2a_err s_keytypes(const H2A_POLICY *p, bool cloudfront, h2a_buf *b)
{
    struct h2a_strlist l = {NULL, 0};
    h2a_err rv = H2A_OK;

    for (int t = H2A_KT_RSA_2048; t < H2A_KT__COUNT && rv == H2A_OK; t++) {
        /* Effective: what the policy allows and the service accepts. */
        bool on = p->key_alg[t] && (!cloudfront || h2a_pol_cloudfront_keytype((h2a_keytype)t));

        if (on) {
            rv = h2a_strlist_push(&l, h2a_keytype_acm_name((h2a_keytype)t));
        }
    }
    if (rv == H2A_OK) {
        h2a_strlist_sort(&l);
        rv = s_join(&l, "(none)", b);
    }
    h2a_strlist_free(&l);
    return rv;
}

/* ACM names of usage bits, sorted, into `b`. */
static h2a_err s_usage(unsigned bits, bool eku, h2a_buf *b)
{
    struct h2a_strlist l = {NULL, 0};
    h2a_err rv = H2A_OK;

    for (unsigned bit = 1; bit <= H2A_KU_CUSTOM && rv == H2A_OK; bit <<= 1) {
        const char *n = eku ? h2a_eku_acm_name(bit) : h2a_ku_acm_name(bit);

        if ((bits & bit) != 0 && n != NULL) {
            rv = h2a_strlist_push(&l, n);
        }
    }
    if (rv == H2A_OK) {
        h2a_strlist_sort(&l);
        rv = s_join(&l, "(none: no extension requested)", b);
    }
    h2a_strlist_free(&l);
    return rv;
}

/* Renewal timing and key retention (docs/renew.md). */
static h2a_err s_lifecycle_lines(const h2a_policy_lifecycle *l, struct h2a_strlist *lines)
{
    char num[32];

    H2A_GUARD(s_line(lines, "keys.retain_generations", (snprintf(num, sizeof(num), "%d",
                                                                   l->retain_generations), num)));
    H2A_GUARD(s_line(lines, "keys.destroy_after_days", (snprintf(num, sizeof(num), "%d",
                                                                   l->destroy_after_days), num)));
    if (l->before_expiry_days < 0) {
        snprintf(num, sizeof(num), "(not set)");
    } else {
        snprintf(num, sizeof(num), "%d", l->before_expiry_days);
    }
    H2A_GUARD(s_line(lines, "renewal.before_expiry_days", num));
    snprintf(num, sizeof(num), "%g", l->lifetime_fraction);
    H2A_GUARD(s_line(lines, "renewal.lifetime_fraction", num));
    H2A_GUARD(s_line(lines, "renewal.use_ari", l->use_ari ? "true" : "false"));
    snprintf(num, sizeof(num), "%d", l->jitter_percent);
    H2A_GUARD(s_line(lines, "renewal.jitter_percent", num));
    snprintf(num, sizeof(num), "%d", l->min_remaining_for_rollback_days);
    return s_line(lines, "renewal.min_remaining_for_rollback_days", num);
}

static h2a_err s_lines(const H2A_POLICY *p, struct h2a_strlist *lines, h2a_buf *v)
{
    struct h2a_strlist md = {NULL, 0};
    char key[256];
    char num[32];
    h2a_err rv = H2A_OK;

    /* Authorization. */
    H2A_GUARD(s_line(lines, "authorization",
                     p->has_authorization ? "(listed requesters only)" : "(anyone)"));
    for (size_t i = 0; i < p->n_auth; i++) {
        snprintf(key, sizeof(key), "authorization.%s.accounts", p->auth[i].requester);
        H2A_GUARD(s_join(&p->auth[i].accounts, "(none)", v));
        H2A_GUARD(s_line(lines, key, (const char *)v->data));
        snprintf(key, sizeof(key), "authorization.%s.dns_suffixes", p->auth[i].requester);
        H2A_GUARD(s_join(&p->auth[i].dns_suffixes, "(none)", v));
        H2A_GUARD(s_line(lines, key, (const char *)v->data));
    }

    /* What a CSR asks for. */
    H2A_GUARD(s_usage(h2a_policy_csr_ext_key_usage(p), true, v));
    H2A_GUARD(s_line(lines, "csr.extended_key_usage", (const char *)v->data));
    H2A_GUARD(s_usage(h2a_policy_csr_key_usage(p, H2A_KT_EC_P256), false, v));
    H2A_GUARD(s_line(lines, "csr.key_usage.ec", (const char *)v->data));
    H2A_GUARD(s_usage(h2a_policy_csr_key_usage(p, H2A_KT_RSA_2048), false, v));
    H2A_GUARD(s_line(lines, "csr.key_usage.rsa", (const char *)v->data));

    /* Algorithms. */
    if ((p->digests & H2A_POL_MD_SHA256) != 0) {
        rv = h2a_strlist_push(&md, "sha256");
    }
    if (rv == H2A_OK && (p->digests & H2A_POL_MD_SHA384) != 0) {
        rv = h2a_strlist_push(&md, "sha384");
    }
    if (rv == H2A_OK && (p->digests & H2A_POL_MD_SHA512) != 0) {
        rv = h2a_strlist_push(&md, "sha512");
    }
    if (rv == H2A_OK) {
        rv = s_join(&md, "(none)", v);
    }
    h2a_strlist_free(&md);
    H2A_GUARD(rv);
    H2A_GUARD(s_line(lines, "digests", (const char *)v->data));
    H2A_GUARD(s_keytypes(p, false, v));
    H2A_GUARD(s_line(lines, "key_algorithms", (const char *)v->data));
    snprintf(num, sizeof(num), "%d", p->min_rsa_bits);
    H2A_GUARD(s_line(lines, "min_rsa_bits", num));
    H2A_GUARD(s_line(lines, "on_incompatible",
                     p->on_incompatible == H2A_ON_INCOMPATIBLE_NEW_ARN ? "new-arn"
                                                                       : "refuse"));

    /* SANs. */
    H2A_GUARD(s_line(lines, "san.allow_ip", p->allow_ip ? "true" : "false"));
    H2A_GUARD(s_line(lines, "san.allow_wildcards", p->allow_wildcards ? "true" : "false"));
    H2A_GUARD(s_join(&p->san_dns_suffixes, "(any)", v));
    H2A_GUARD(s_line(lines, "san.dns_suffixes", (const char *)v->data));
    snprintf(num, sizeof(num), "%zu", p->max_names);
    H2A_GUARD(s_line(lines, "san.max_names", num));

    /* Built-in target rules: shown so that a change to them is a diff too. */
    H2A_GUARD(s_keytypes(p, true, v));
    H2A_GUARD(s_line(lines, "targets.cloudfront.key_algorithms", (const char *)v->data));
    H2A_GUARD(s_line(lines, "targets.cloudfront.region", "us-east-1"));
    H2A_GUARD(s_keytypes(p, false, v));
    H2A_GUARD(s_line(lines, "targets.elb.key_algorithms", (const char *)v->data));
    snprintf(num, sizeof(num), "%d", p->version);
    H2A_GUARD(s_line(lines, "version", num));
    return s_lifecycle_lines(&p->life, lines);
}

h2a_err h2a_policy_render(const H2A_POLICY *p, h2a_buf *out)
{
    struct h2a_strlist lines = {NULL, 0};
    h2a_buf v;
    h2a_err rv;

    H2A_ENSURE(p != NULL, H2A_ERR_INTERNAL, "policy: not loaded");
    h2a_buf_init(&v, 0);
    rv = h2a_buf_printf(out, "# hsm2acm effective policy (source: %s)\n", p->origin);
    if (rv != H2A_OK) {
        goto done;
    }
    rv = s_lines(p, &lines, &v);
    if (rv != H2A_OK) {
        goto done;
    }
    h2a_strlist_sort(&lines);
    for (size_t i = 0; i < lines.n && rv == H2A_OK; i++) {
        rv = h2a_buf_printf(out, "%s\n", lines.v[i]);
    }
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
done:
    h2a_strlist_free(&lines);
    h2a_buf_free(&v);
    return rv;
}
