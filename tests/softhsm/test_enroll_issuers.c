/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Issuers on a fresh SoftHSM2 token: the `local` CA (keys in the token, one
 * per key family, made once and reused) and the `command` issuer (argv, CSR
 * on stdin, PEM chain on stdout, environment, timeout).
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "h2a_test.h"

#include "h2a_keygen.h"
#include "h2a_pkcs11.h"
#include "issuers/h2a_issuer.h"

static H2A_TOKEN *s_tok;
static H2A_SESSION *s_sess;
static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-issuer-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    if (h2a_token_open(h2a_test_env("H2A_TEST_TOKEN_URI"), &s_tok) != H2A_OK ||
        h2a_session_open(s_tok, &s_sess) != H2A_OK || h2a_p11_provider_load(NULL) != H2A_OK) {
        return -1;
    }
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    h2a_session_close(s_sess);
    h2a_token_close(s_tok);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static X509_REQ *s_csr(h2a_keytype kt, const char *label, H2A_P11_KEY **key)
{
    const char *dns[] = {"www.example.com", "example.com"};
    struct h2a_csr_req c = {.subject = "CN=www.example.com", .dns = dns, .n_dns = 2,
                            .ext_key_usage = H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION |
                                             H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION};
    X509_REQ *req = NULL;

    H2A_ASSERT_OK(h2a_keygen_generate(s_sess, kt, label, 0, key));
    H2A_ASSERT_OK(h2a_csr_make_req(*key, &c, &req));
    return req;
}

static size_t s_objects(void)
{
    size_t n = 0;

    H2A_ASSERT_OK(h2a_session_object_count(s_sess, &n));
    return n;
}

static void s_check_leaf(X509 *leaf, STACK_OF(X509) *chain, H2A_P11_KEY *key, bool want_ku)
{
    X509 *ca = sk_X509_value(chain, 0);
    GENERAL_NAMES *san;
    EXTENDED_KEY_USAGE *eku;

    assert_int_equal(sk_X509_num(chain), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), h2a_p11_key_public(key)), 1);
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_issued(ca, leaf), X509_V_OK);
    san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    assert_non_null(san);
    assert_int_equal(sk_GENERAL_NAME_num(san), 2);
    GENERAL_NAMES_free(san);
    /* The EKU the CSR asked for is what the CA granted. */
    eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
    EXTENDED_KEY_USAGE_free(eku);
    /* The local CA adds a KeyUsage where the CSR asks for none. */
    assert_int_equal((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0, want_ku);
    assert_int_equal(X509_get_extension_flags(ca) & EXFLAG_CA, EXFLAG_CA);
}

static void test_local_issuer(void **state)
{
    (void)state;
    h2a_issuer_conf conf = {.name = (char *)"demo", .type = H2A_ISSUER_LOCAL,
                            .key_label = (char *)"t-ca", .subject = (char *)"CN=Test CA,O=hsm2acm",
                            .validity_days = 10};
    h2a_issue_ctx ctx = {.conf = &conf, .state_dir = s_dir, .session = s_sess};
    H2A_P11_KEY *k1 = NULL, *k2 = NULL, *k3 = NULL;
    X509_REQ *r1, *r2, *r3;
    X509 *l1 = NULL, *l2 = NULL, *l3 = NULL;
    STACK_OF(X509) *c1 = NULL, *c2 = NULL, *c3 = NULL;
    size_t before, after_first;
    char path[160];
    struct stat st;

    r1 = s_csr(H2A_KT_EC_P256, "leaf-1", &k1);
    before = s_objects();
    H2A_ASSERT_OK(h2a_issuer_issue(&ctx, r1, &l1, &c1));
    after_first = s_objects();
    assert_int_equal(after_first, before + 2); /* the EC CA key pair, made once */
    s_check_leaf(l1, c1, k1, true);
    snprintf(path, sizeof(path), "%s/local-ca/demo-ec.pem", s_dir);
    assert_int_equal(stat(path, &st), 0);

    /* Second EC leaf: same CA certificate, no new token object. */
    r2 = s_csr(H2A_KT_EC_P384, "leaf-2", &k2);
    H2A_ASSERT_OK(h2a_issuer_issue(&ctx, r2, &l2, &c2));
    assert_int_equal(s_objects(), after_first + 2); /* only leaf-2's pair */
    s_check_leaf(l2, c2, k2, true);
    assert_int_equal(X509_cmp(sk_X509_value(c1, 0), sk_X509_value(c2, 0)), 0);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(l1), X509_get0_serialNumber(l2)), 0);

    /* RSA leaf: an RSA CA (ACM wants the issuer's algorithm to match). */
    r3 = s_csr(H2A_KT_RSA_2048, "leaf-3", &k3);
    H2A_ASSERT_OK(h2a_issuer_issue(&ctx, r3, &l3, &c3));
    s_check_leaf(l3, c3, k3, true);
    assert_int_equal(EVP_PKEY_base_id(X509_get0_pubkey(sk_X509_value(c3, 0))), EVP_PKEY_RSA);

    X509_REQ_free(r1);
    X509_REQ_free(r2);
    X509_REQ_free(r3);
    X509_free(l1);
    X509_free(l2);
    X509_free(l3);
    sk_X509_pop_free(c1, X509_free);
    sk_X509_pop_free(c2, X509_free);
    sk_X509_pop_free(c3, X509_free);
    h2a_p11_key_free(k1);
    h2a_p11_key_free(k2);
    h2a_p11_key_free(k3);
}

static void s_write_script(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    assert_int_equal(chmod(path, 0700), 0);
}

static void test_command_issuer(void **state)
{
    (void)state;
    char script[160], ca_key[160], ca_pem[160], envfile[160], body[2048], cmd[1024];
    char *argv[3];
    h2a_issuer_conf conf = {.name = (char *)"ops", .type = H2A_ISSUER_COMMAND,
                            .timeout_seconds = 20};
    h2a_issue_ctx ctx = {.conf = &conf, .state_dir = s_dir, .session = s_sess,
                         .request_id = "req-7", .requester = "team-x"};
    H2A_P11_KEY *k = NULL;
    X509_REQ *r;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    h2a_buf env;

    snprintf(ca_key, sizeof(ca_key), "%s/ops.key", s_dir);
    snprintf(ca_pem, sizeof(ca_pem), "%s/ops.pem", s_dir);
    snprintf(envfile, sizeof(envfile), "%s/env.txt", s_dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s "
             "-out %s -days 5 -subj /CN=ops-ca -addext basicConstraints=critical,CA:TRUE "
             "2>/dev/null", ca_key, ca_pem);
    assert_int_equal(system(cmd), 0);
    snprintf(script, sizeof(script), "%s/sign.sh", s_dir);
    snprintf(body, sizeof(body),
             "#!/bin/sh\n"
             "echo \"$HSM2ACM_REQUEST_ID $HSM2ACM_REQUESTER $HSM2ACM_ISSUER $1\" > %s\n"
             "echo \"secret=[$AWS_SECRET_ACCESS_KEY$AWS_SESSION_TOKEN$H2A_TEST_PIN_VAR]\" >> %s\n"
             "cat > %s/in.csr\n"
             "openssl x509 -req -in %s/in.csr -CA %s -CAkey %s -CAcreateserial -days 3 "
             "-copy_extensions copyall 2>/dev/null\n"
             "cat %s\n",
             envfile, envfile, s_dir, s_dir, ca_pem, ca_key, ca_pem);
    s_write_script(script, body);
    argv[0] = script;
    argv[1] = (char *)"--profile=tls";
    argv[2] = NULL;
    conf.argv = argv;
    conf.argc = 2;
    r = s_csr(H2A_KT_EC_P256, "cmd-leaf", &k);
    /* Secrets in our environment must not reach someone else's program. */
    setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key", 1);
    setenv("AWS_SESSION_TOKEN", "test-session-token", 1);
    setenv("H2A_TEST_PIN_VAR", "1234", 1);
    H2A_ASSERT_OK(h2a_issuer_issue(&ctx, r, &leaf, &chain));
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("H2A_TEST_PIN_VAR");
    s_check_leaf(leaf, chain, k, false);
    h2a_buf_init(&env, 4096);
    H2A_ASSERT_OK(h2a_file_read(envfile, &env));
    assert_non_null(strstr((const char *)env.data, "req-7 team-x ops --profile=tls"));
    assert_non_null(strstr((const char *)env.data, "secret=[]"));
    h2a_buf_free(&env);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    leaf = NULL;
    chain = NULL;

    /* Exit status and stderr reach the message; a hang is killed. */
    s_write_script(script, "#!/bin/sh\ncat >/dev/null\necho 'no such profile' >&2\nexit 4\n");
    H2A_ASSERT_ERR(h2a_issuer_issue(&ctx, r, &leaf, &chain), H2A_ERR_ISSUER,
                   "exited with status 4: no such profile");
    s_write_script(script, "#!/bin/sh\nexec sleep 30\n");
    conf.timeout_seconds = 1;
    H2A_ASSERT_ERR(h2a_issuer_issue(&ctx, r, &leaf, &chain), H2A_ERR_ISSUER,
                   "timeout_seconds=1");
    s_write_script(script, "#!/bin/sh\ncat >/dev/null\necho '-----BEGIN CERTIFICATE-----'\n"
                           "echo 'Zm9v'\necho '-----END CERTIFICATE-----'\n");
    H2A_ASSERT_ERR(h2a_issuer_issue(&ctx, r, &leaf, &chain), H2A_ERR_ISSUER, "issuers.ops");
    assert_null(leaf);
    assert_null(chain);
    X509_REQ_free(r);
    h2a_p11_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_issuer),
        cmocka_unit_test(test_command_issuer),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
