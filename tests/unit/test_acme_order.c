/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * ACME order pieces without a server: when an order counts as expired (a
 * resumed order past its `expires` is replaced, not answered), and the
 * newOrder body with and without RFC 9773 `replaces`.
 */
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "h2a_test.h"
#include "issuers/acme_int.h"

static bool s_expired(const char *json, time_t now)
{
    json_object *o = json_tokener_parse(json);
    bool e;

    assert_non_null(o);
    e = h2a_acme_order_expired(o, now);
    json_object_put(o);
    return e;
}

static void test_expired(void **state)
{
    /* 2026-01-01T10:00:00Z */
    const time_t t = 1767261600;

    (void)state;
    assert_true(s_expired("{\"expires\":\"2026-01-01T10:00:00Z\"}", t));
    assert_true(s_expired("{\"expires\":\"2026-01-01T09:59:59.123456Z\"}", t));
    assert_false(s_expired("{\"expires\":\"2026-01-01T10:00:01Z\"}", t));
    /* Offsets: 11:30+02:00 is 09:30 UTC (past); 09:30-01:00 is 10:30 UTC (not yet). */
    assert_true(s_expired("{\"expires\":\"2026-01-01T11:30:00+02:00\"}", t));
    assert_false(s_expired("{\"expires\":\"2026-01-01T09:30:00-01:00\"}", t));
    /* Nothing usable: the server's status decides. */
    assert_false(s_expired("{\"status\":\"pending\"}", t));
    assert_false(s_expired("{\"expires\":\"yesterday\"}", t));
    assert_false(s_expired("{\"expires\":\"2020-01-01T00:00:00 UTC\"}", t));
    assert_false(s_expired("{\"expires\":7}", t));
}

static X509_REQ *s_csr(void)
{
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509V3_CTX v3;
    X509_EXTENSION *san;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, NULL, NULL, req, NULL, 0);
    san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                              "DNS:www.example.com,IP:192.0.2.1,DNS:*.example.com");
    assert_non_null(san);
    sk_X509_EXTENSION_push(exts, san);
    assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return req;
}

static void test_order_body(void **state)
{
    h2a_issuer_conf ic;
    h2a_issue_ctx ctx;
    h2a_acme a;
    X509_REQ *req = s_csr();
    h2a_buf body;
    char name[] = "public";

    (void)state;
    memset(&ic, 0, sizeof(ic));
    memset(&ctx, 0, sizeof(ctx));
    memset(&a, 0, sizeof(a));
    ic.name = name;
    ctx.conf = &ic;
    a.ctx = &ctx;
    h2a_buf_init(&body, 0);
    H2A_ASSERT_OK(h2a_acme_order_body(&a, req, NULL, &body));
    assert_string_equal((char *)body.data,
                        "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.com\"},"
                        "{\"type\":\"dns\",\"value\":\"*.example.com\"}]}");
    h2a_buf_reset(&body);
    H2A_ASSERT_OK(h2a_acme_order_body(&a, req, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &body));
    assert_non_null(strstr((char *)body.data,
                           "],\"replaces\":\"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE\"}"));
    h2a_buf_free(&body);
    X509_REQ_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_order_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
