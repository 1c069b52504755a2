/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * dns-01 solvers. The hook runs through the one child runner as
 * `argv... add <name> <value>` and `argv... remove <name> <value>`: exit 0
 * is success, anything else or running past the issuer's timeout fails the
 * authorization.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "issuers/acme_int.h"

h2a_err h2a_acme_dns_value(const char *key_auth, h2a_buf *out)
{
    uint8_t md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)key_auth, strlen(key_auth), md);
    return h2a_base64url_encode(md, sizeof(md), out);
}

/*
 * Run the hook; false with `why` filled when it could not run or failed.
 * No h2a_err here: a remove runs during cleanup and must not replace the
 * error that made the run fail.
 */
static bool s_hook(h2a_acme *a, const char *verb, const char *name, const char *value,
                   char *why, size_t why_len)
{
    const h2a_acme_conf *c = a->conf;
    const char **argv = calloc(c->hook_argc + 4, sizeof(*argv));
    h2a_child_spec spec = {0};
    h2a_child_result res = {0};
    h2a_buf out, err;
    bool ok;

    if (argv == NULL) {
        snprintf(why, why_len, "dns-01 hook: out of memory");
        return false;
    }
    for (size_t i = 0; i < c->hook_argc; i++) {
        argv[i] = c->hook_argv[i];
    }
    argv[c->hook_argc] = verb;
    argv[c->hook_argc + 1] = name;
    argv[c->hook_argc + 2] = value;
    h2a_buf_init(&out, 64 * 1024);
    h2a_buf_init(&err, 4096);
    spec.argv = argv;
    spec.timeout_ms = h2a_issuer_timeout_ms(a->ctx->conf);
    if (h2a_child_run(&spec, &out, &err, &res) != H2A_OK) {
        snprintf(why, why_len, "issuers.%s: dns-01 hook '%s %s %s' could not start: %s",
                 a->ctx->conf->name, verb, name, value, h2a_err_msg());
        h2a_err_clear();
        ok = false;
    } else if (!res.exited || res.code != 0) {
        size_t n = err.len;

        while (n > 0 && (err.data[n - 1] == '\n' || err.data[n - 1] == '\r')) {
            n--;
        }
        snprintf(why, why_len, "issuers.%s: dns-01 hook '%s %s %s' %s%d: %.*s",
                 a->ctx->conf->name, verb, name, value,
                 res.timed_out ? "timed out, signal " : res.exited ? "exited " : "signal ",
                 res.exited ? res.code : res.signal, (int)n,
                 n > 0 ? (const char *)err.data : "(no stderr)");
        ok = false;
    } else {
        ok = true;
    }
    free(argv);
    h2a_buf_free(&out);
    h2a_buf_free(&err);
    return ok;
}

h2a_err h2a_acme_dns_add(h2a_acme *a, const char *name, const char *value)
{
    char why[1024];

    if (a->conf->challenge == H2A_ACME_CH_DNS_ROUTE53) {
        return h2a_acme_r53_txt(a, name, value, true);
    }
    if (!s_hook(a, "add", name, value, why, sizeof(why))) {
        return h2a_err_set(H2A_ERR_ISSUER, "%s", why);
    }
    return H2A_OK;
}

void h2a_acme_dns_remove(h2a_acme *a, const char *name, const char *value)
{
    char why[1024];

    if (a->conf->challenge == H2A_ACME_CH_DNS_ROUTE53) {
        /* Cleanup runs after failures too: keep the error that failed the run. */
        snprintf(why, sizeof(why), "%s", h2a_err_msg());
        if (h2a_acme_r53_txt(a, name, value, false) != H2A_OK) {
            H2A_LOG_WARN("issuers.%s: removing our TXT value at %s: %s", a->ctx->conf->name,
                         name, h2a_err_msg());
        }
        h2a_err_clear();
        if (why[0] != '\0') {
            (void)h2a_err_set(H2A_ERR_ISSUER, "%s", why);
        }
        return;
    }
    if (!s_hook(a, "remove", name, value, why, sizeof(why))) {
        /* The certificate does not depend on it; the operator must hear of it. */
        H2A_LOG_WARN("%s", why);
    }
}
