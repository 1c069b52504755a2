/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * All 38 header-signing cases of the aws-c-auth SigV4 suite
 * (tests/vectors/sigv4/v4): canonical request, string to sign and
 * signature, byte for byte, from request.txt and context.json.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

#define MAX_HDRS 32

struct vec {
    char method[16];
    char path[512];
    char query[512];
    bool has_query;
    char names[MAX_HDRS][64];
    char values[MAX_HDRS][1024];
    size_t n;
    h2a_buf body;
};

static char *s_read(const char *dir, const char *file, size_t *len)
{
    char path[1024];
    h2a_buf b;
    char *out;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    h2a_buf_init(&b, 1 << 20);
    H2A_ASSERT_OK(h2a_file_read(path, &b));
    H2A_ASSERT_OK(h2a_buf_terminate(&b));
    out = strdup((const char *)b.data);
    assert_non_null(out);
    if (len != NULL) {
        *len = b.len;
    }
    h2a_buf_free(&b);
    return out;
}

static void s_parse_request(const char *text, size_t len, struct vec *v)
{
    const char *end = text + len;
    const char *eol = memchr(text, '\n', len);
    const char *first_sp;
    const char *last_sp;
    const char *p;
    char target[500];

    assert_non_null(eol);
    first_sp = memchr(text, ' ', (size_t)(eol - text));
    assert_non_null(first_sp);
    last_sp = eol;
    while (last_sp > first_sp && *last_sp != ' ') {
        last_sp--;
    }
    assert_true(last_sp > first_sp);
    snprintf(v->method, sizeof(v->method), "%.*s", (int)(first_sp - text), text);
    snprintf(target, sizeof(target), "%.*s", (int)(last_sp - first_sp - 1), first_sp + 1);
    {
        char *q = strchr(target, '?');
        if (q != NULL) {
            *q = '\0';
            v->has_query = true;
            snprintf(v->query, sizeof(v->query), "%s", q + 1);
        }
        snprintf(v->path, sizeof(v->path), "%s", target);
    }
    p = eol + 1;
    while (p < end) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        size_t ll = le != NULL ? (size_t)(le - p) : (size_t)(end - p);
        if (ll == 0) {
            p = le != NULL ? le + 1 : end;
            break;
        }
        if (p[0] == ' ' || p[0] == '\t') {
            /* Continuation of the previous header value. */
            size_t cur = strlen(v->values[v->n - 1]);
            assert_true(v->n > 0);
            snprintf(v->values[v->n - 1] + cur, sizeof(v->values[0]) - cur, " %.*s",
                     (int)ll, p);
        } else {
            const char *colon = memchr(p, ':', ll);
            assert_non_null(colon);
            assert_true(v->n < MAX_HDRS);
            snprintf(v->names[v->n], sizeof(v->names[0]), "%.*s", (int)(colon - p), p);
            snprintf(v->values[v->n], sizeof(v->values[0]), "%.*s",
                     (int)(ll - (size_t)(colon - p) - 1), colon + 1);
            v->n++;
        }
        p = le != NULL ? le + 1 : end;
    }
    h2a_buf_init(&v->body, 0);
    if (p < end) {
        H2A_ASSERT_OK(h2a_buf_append(&v->body, p, (size_t)(end - p)));
    }
}

static bool s_jbool(json_object *o, const char *k)
{
    json_object *x;
    return json_object_object_get_ex(o, k, &x) && json_object_get_boolean(x);
}

static const char *s_jstr(json_object *o, const char *k)
{
    json_object *x;
    return json_object_object_get_ex(o, k, &x) ? json_object_get_string(x) : NULL;
}

static void s_assert_same(const char *what, const char *name, const char *want,
                          const h2a_buf *got)
{
    if (strlen(want) != got->len || memcmp(want, got->data, got->len) != 0) {
        print_error("%s: %s differs\n--- want\n%s\n--- got\n%.*s\n", name, what, want,
                    (int)got->len, (const char *)got->data);
        fail();
    }
}

static int s_run_case(const char *root, const char *name)
{
    char dir[1024];
    size_t rlen = 0;
    char *req;
    char *ctxt;
    char *want_creq;
    char *want_sts;
    char *want_sig;
    json_object *ctx;
    json_object *creds;
    struct vec *v = calloc(1, sizeof(*v));
    struct h2a_http_header hdr[MAX_HDRS + 3];
    struct h2a_sigv4_input in;
    h2a_buf creq;
    h2a_buf sh;
    h2a_buf scope;
    h2a_buf sts;
    char amz[17];
    char d8[9];
    char body_hash[65];
    uint8_t key[32];
    char sig[65];
    const char *token;
    time_t t;

    assert_non_null(v);
    assert_true((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, name) < sizeof(dir));
    req = s_read(dir, "request.txt", &rlen);
    ctxt = s_read(dir, "context.json", NULL);
    want_creq = s_read(dir, "header-canonical-request.txt", NULL);
    want_sts = s_read(dir, "header-string-to-sign.txt", NULL);
    want_sig = s_read(dir, "header-signature.txt", NULL);
    ctx = json_tokener_parse(ctxt);
    assert_non_null(ctx);
    assert_true(json_object_object_get_ex(ctx, "credentials", &creds));

    s_parse_request(req, rlen, v);
    H2A_ASSERT_OK(h2a_aws_parse_iso8601(s_jstr(ctx, "timestamp"), &t));
    h2a_sigv4_dates(t, amz, d8);
    assert_string_equal(amz, "20150830T123600Z");

    for (size_t i = 0; i < v->n; i++) {
        hdr[i].name = v->names[i];
        hdr[i].value = v->values[i];
    }
    in.n_headers = v->n;
    hdr[in.n_headers].name = "X-Amz-Date";
    hdr[in.n_headers++].value = amz;
    token = s_jstr(creds, "token");
    if (token != NULL && !s_jbool(ctx, "omit_session_token")) {
        hdr[in.n_headers].name = "X-Amz-Security-Token";
        hdr[in.n_headers++].value = token;
    }
    if (s_jbool(ctx, "sign_body")) {
        h2a_sha256_hex(v->body.len > 0 ? (const void *)v->body.data : (const void *)"",
                       v->body.len, body_hash);
        hdr[in.n_headers].name = "X-Amz-Content-Sha256";
        hdr[in.n_headers++].value = body_hash;
    }
    in.method = v->method;
    in.path = v->path;
    in.query = v->has_query ? v->query : NULL;
    in.normalize_path = s_jbool(ctx, "normalize");
    in.headers = hdr;
    in.body = v->body.data;
    in.body_len = v->body.len;

    h2a_buf_init(&creq, 0);
    h2a_buf_init(&sh, 0);
    h2a_buf_init(&scope, 0);
    h2a_buf_init(&sts, 0);
    H2A_ASSERT_OK(h2a_sigv4_canonical_request(&in, &creq, &sh));
    s_assert_same("canonical request", name, want_creq, &creq);
    H2A_ASSERT_OK(h2a_sigv4_scope(d8, s_jstr(ctx, "region"), s_jstr(ctx, "service"), &scope));
    H2A_ASSERT_OK(h2a_sigv4_string_to_sign(amz, (const char *)scope.data, &creq, &sts));
    s_assert_same("string to sign", name, want_sts, &sts);
    H2A_ASSERT_OK(h2a_sigv4_signing_key(s_jstr(creds, "secret_access_key"), d8,
                                        s_jstr(ctx, "region"), s_jstr(ctx, "service"), key));
    H2A_ASSERT_OK(h2a_sigv4_signature(key, &sts, sig));
    if (strcmp(sig, want_sig) != 0) {
        print_error("%s: signature %s, want %s\n", name, sig, want_sig);
        fail();
    }
    OPENSSL_cleanse(key, sizeof(key));
    h2a_buf_free(&creq);
    h2a_buf_free(&sh);
    h2a_buf_free(&scope);
    h2a_buf_free(&sts);
    h2a_buf_free(&v->body);
    json_object_put(ctx);
    free(req);
    free(ctxt);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    free(v);
    return 1;
}

static void test_all_vectors(void **state)
{
    char root[1024];
    DIR *d;
    struct dirent *e;
    int n = 0;

    (void)state;
    snprintf(root, sizeof(root), "%s/tests/vectors/sigv4/v4", h2a_test_env("H2A_SRC_DIR"));
    d = opendir(root);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        n += s_run_case(root, e->d_name);
    }
    closedir(d);
    /* The suite has 38 cases; fewer means the copy is incomplete. */
    assert_int_equal(n, 38);
}

/* A tampered secret must change the signature (the test is not vacuous). */
static void test_wrong_secret_differs(void **state)
{
    uint8_t k1[32];
    uint8_t k2[32];

    (void)state;
    H2A_ASSERT_OK(h2a_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        "20150830", "us-east-1", "service", k1));
    H2A_ASSERT_OK(h2a_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
                                        "20150830", "us-east-1", "service", k2));
    assert_memory_not_equal(k1, k2, 32);
}

static void test_relative_path_refused(void **state)
{
    struct h2a_sigv4_input in = {.method = "GET", .path = "x"};
    h2a_buf a;
    h2a_buf b;

    (void)state;
    h2a_buf_init(&a, 0);
    h2a_buf_init(&b, 0);
    H2A_ASSERT_ERR(h2a_sigv4_canonical_request(&in, &a, &b), H2A_ERR_INPUT, "path");
    h2a_buf_free(&a);
    h2a_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_vectors),
        cmocka_unit_test(test_wrong_secret_differs),
        cmocka_unit_test(test_relative_path_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
