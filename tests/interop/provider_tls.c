/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Compiled and run by tests/integration/test_interop_tls.sh against the
 * static libraries of the build (it needs libssl, which the ctest C targets
 * do not link). usage: provider_tls TOKEN_URI
 *
 * The provider beyond CSRs: a token key signs an X.509 certificate
 * (X509_sign_ctx, what a local CA with a token key does) and serves as the
 * client key of a mutual-TLS handshake (TLS 1.3: RSA-PSS / ECDSA; TLS 1.2:
 * PKCS#1 / ECDSA), in memory over a BIO pair. The server trusts exactly the
 * client's self-signed certificate, so the handshake only completes if the
 * token's signatures are right.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "h2a_keygen.h"
#include "h2a_pkcs11.h"

/* Abort with a message on any failed check (a test program, not product). */
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "provider_tls: %s:%d: check failed: %s (%s)\n", __FILE__,       \
                    __LINE__, #cond, h2a_err_msg());                                        \
            ERR_print_errors_fp(stderr);                                                    \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)
#define H2A_ASSERT_OK(e) CHECK((e) == H2A_OK)
#define assert_non_null(p) CHECK((p) != NULL)
#define assert_true(c) CHECK(c)
#define assert_int_equal(a, b) CHECK((a) == (b))

struct fixture {
    H2A_TOKEN *tok;
    H2A_SESSION *sess;
};

/* Self-signed certificate for `pub`, signed by `signer` (may be a token key). */
static X509 *s_self_signed(EVP_PKEY *signer, EVP_PKEY *pub, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                                (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    assert_int_equal(X509_set_pubkey(x, pub), 1);
    assert_int_equal(EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL, NULL, signer, NULL), 1);
    assert_true(X509_sign_ctx(x, mctx) > 0);
    assert_int_equal(X509_verify(x, pub), 1);
    EVP_MD_CTX_free(mctx);
    X509_NAME_free(name);
    return x;
}

/* Drive both ends over a BIO pair until both finish (or one fails). */
static bool s_handshake(SSL *c, SSL *s)
{
    bool c_done = false, s_done = false;

    for (int i = 0; i < 100 && !(c_done && s_done); i++) {
        if (!c_done) {
            int r = SSL_do_handshake(c);

            if (r == 1) {
                c_done = true;
            } else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ) {
                return false;
            }
        }
        if (!s_done) {
            int r = SSL_do_handshake(s);

            if (r == 1) {
                s_done = true;
            } else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ) {
                return false;
            }
        }
    }
    return c_done && s_done;
}

static void s_mtls(struct fixture *f, h2a_keytype type, int version)
{
    H2A_P11_KEY *k = NULL;
    EVP_PKEY *tokkey = NULL, *srvkey;
    X509 *ccert, *scert;
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method()), *sctx = SSL_CTX_new(TLS_server_method());
    SSL *c, *s;
    BIO *cb = NULL, *sb = NULL;
    X509 *peer;
    char label[32];

    snprintf(label, sizeof(label), "tls-%d-%x", (int)type, version);
    H2A_ASSERT_OK(h2a_keygen_generate(f->sess, type, label, 0, &k));
    H2A_ASSERT_OK(h2a_p11_key_evp(k, NULL, &tokkey));
    ccert = s_self_signed(tokkey, h2a_p11_key_public(k), "client.example.com");
    srvkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(srvkey);
    scert = s_self_signed(srvkey, srvkey, "server.example.com");

    /* Client: the token key; X509_check_private_key runs through MATCH. */
    assert_int_equal(SSL_CTX_use_certificate(cctx, ccert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(cctx, tokkey), 1);
    assert_int_equal(SSL_CTX_check_private_key(cctx), 1);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), scert), 1);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    /* Server: software key; trusts exactly the client's certificate. */
    assert_int_equal(SSL_CTX_use_certificate(sctx, scert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sctx, srvkey), 1);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ccert), 1);
    SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    assert_int_equal(SSL_CTX_set_min_proto_version(cctx, version), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(cctx, version), 1);
    assert_int_equal(SSL_CTX_set_min_proto_version(sctx, version), 1);

    c = SSL_new(cctx);
    s = SSL_new(sctx);
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (!s_handshake(c, s)) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "provider_tls: %s TLS 0x%x handshake with a token client key failed\n",
                h2a_keytype_cli_name(type), version);
        exit(1);
    }
    assert_int_equal(SSL_version(c), version);
    peer = SSL_get1_peer_certificate(s);
    assert_non_null(peer);
    assert_int_equal(X509_cmp(peer, ccert), 0);
    assert_int_equal(SSL_get_verify_result(s), X509_V_OK);

    X509_free(peer);
    SSL_free(c);
    SSL_free(s);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    X509_free(scert);
    X509_free(ccert);
    EVP_PKEY_free(srvkey);
    EVP_PKEY_free(tokkey);
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    ERR_clear_error();
    printf("ok: %s as TLS 0x%x client key, certificate signed by the token key\n",
           h2a_keytype_cli_name(type), version);
}

int main(int argc, char **argv)
{
    struct fixture f;

    if (argc != 2) {
        fprintf(stderr, "usage: provider_tls TOKEN_URI\n");
        return 2;
    }
    H2A_ASSERT_OK(h2a_token_open(argv[1], &f.tok));
    H2A_ASSERT_OK(h2a_session_open(f.tok, &f.sess));
    s_mtls(&f, H2A_KT_EC_P256, TLS1_3_VERSION);
    s_mtls(&f, H2A_KT_EC_P384, TLS1_3_VERSION);
    s_mtls(&f, H2A_KT_RSA_2048, TLS1_3_VERSION);
    s_mtls(&f, H2A_KT_EC_P256, TLS1_2_VERSION);
    s_mtls(&f, H2A_KT_RSA_2048, TLS1_2_VERSION);
    h2a_session_close(f.sess);
    h2a_token_close(f.tok);
    return 0;
}
