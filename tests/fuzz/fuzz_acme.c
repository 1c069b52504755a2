/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Every reply an ACME server gives. Every HTTP exchange is answered
 * in-process (H2A_FUZZ_HOOKS in agent/issuers/acme_int.h). Two layouts,
 * chosen by byte 0:
 *
 * - below 0x80, one reply to unsigned requests: the directory
 *   (h2a_acme_open, through h2a_acme_get), the reply headers (Replay-Nonce
 *   into the pool, Location, Content-Type, Link rel="alternate",
 *   Retry-After) and problem documents (h2a_acme_problem). Byte 0 picks the
 *   status, the rest up to the first blank line ("\n\n") is the header
 *   lines, after it the body; without a blank line all of it is the body.
 *
 * - 0x80 and above, a whole conversation: the issuer's submit (bit 0
 *   clear: directory, newNonce, newAccount, newOrder) or its poll (bit 0
 *   set: the order, its authorizations, challenges, finalize, the
 *   certificate, alternates, renewalInfo), answering http-01 through a
 *   webroot (bit 1 clear) or with challenge "none" (bit 1 set), with the
 *   account URL already known (bit 2 set) or to be registered or recovered.
 *   The rest is one reply per exchange, separated by "\n--\n", each in the
 *   first layout. Once the replies run out every exchange gets 500.
 *   Without a token the account key is a fixed public JWK and nothing is
 *   signed (H2A_ACME_FUZZ_JWK): the server's side is what is fuzzed.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "fuzz.h"

#include "issuers/acme_int.h"

#define S_MAX_REPLIES 64
#define S_ORDER "https://acme.invalid/order/1"

static const long s_statuses[] = {200, 200, 200, 201, 400, 403, 404, 429, 500, 503, 204, 301};
#define S_NSTATUS (sizeof(s_statuses) / sizeof(s_statuses[0]))

struct s_reply {
    long status;
    const char *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
};

static struct s_reply s_replies[S_MAX_REPLIES];
static size_t s_n_replies, s_next;
static char s_state[64];
static char s_webroot[4200], s_account_file[4400], s_csr_file[4400];
static X509_REQ *s_csr;

static void s_reply(const char *method, long *status, const char **headers, size_t *headers_len,
                    const uint8_t **body, size_t *body_len)
{
    static const struct s_reply none = {.status = 500, .headers = "", .body = (const uint8_t *)""};
    const struct s_reply *r = s_next < s_n_replies ? &s_replies[s_next++] : &none;

    (void)method;
    *status = r->status;
    *headers = r->headers;
    *headers_len = r->headers_len;
    *body = r->body;
    *body_len = r->body_len;
}

/* One reply: status byte, header lines, "\n\n", body. */
static void s_split(const uint8_t *data, size_t size, struct s_reply *r)
{
    const uint8_t *sep = NULL;

    memset(r, 0, sizeof(*r));
    r->headers = "";
    r->body = (const uint8_t *)"";
    if (size < 1) {
        r->status = 500;
        return;
    }
    r->status = s_statuses[data[0] % S_NSTATUS];
    data++;
    size--;
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] == '\n' && data[i + 1] == '\n') {
            sep = data + i;
            break;
        }
    }
    r->headers = (const char *)data;
    r->headers_len = sep != NULL ? (size_t)(sep - data) + 1 : 0;
    r->body = sep != NULL ? sep + 2 : data;
    r->body_len = size - (size_t)(r->body - data);
}

/* "\n--\n"-separated replies of a conversation. */
static void s_split_all(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;

    s_n_replies = 0;
    s_next = 0;
    while (p <= end && s_n_replies < S_MAX_REPLIES) {
        const uint8_t *q = p;

        /* memchr, not a memcmp per byte: libFuzzer traces every memcmp it sees. */
        while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL &&
               !(end - q >= 4 && q[1] == '-' && q[2] == '-' && q[3] == '\n')) {
            q++;
        }
        if (q == NULL) {
            q = end;
        }
        s_split(p, (size_t)(q - p), &s_replies[s_n_replies++]);
        p = q + 4;
    }
}

/* A CSR for two names, as the engine would hand the issuer (made once, software key). */
static X509_REQ *s_make_csr(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_REQ *req = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
                                              "DNS:example.com,DNS:*.example.com");

    if (k == NULL || req == NULL || exts == NULL || san == NULL ||
        sk_X509_EXTENSION_push(exts, san) <= 0 || X509_REQ_add_extensions(req, exts) != 1 ||
        X509_REQ_set_pubkey(req, k) != 1 || X509_REQ_sign(req, k, EVP_sha256()) <= 0) {
        abort();
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    EVP_PKEY_free(k);
    return req;
}

static void s_conf(h2a_acme_conf *acme, h2a_issuer_conf *conf, h2a_issue_ctx *ctx, unsigned mode)
{
    static char url[] = "https://acme.invalid/directory", name[] = "fuzz", label[] = "fuzz";

    memset(acme, 0, sizeof(*acme));
    memset(conf, 0, sizeof(*conf));
    memset(ctx, 0, sizeof(*ctx));
    acme->directory_url = url;
    acme->account_label = label;
    acme->tos_agreed = true;
    acme->challenge = (mode & 2) != 0 ? H2A_ACME_CH_NONE : H2A_ACME_CH_HTTP_WEBROOT;
    acme->webroot = s_webroot;
    conf->name = name;
    conf->type = H2A_ISSUER_ACME;
    conf->acme = acme;
    ctx->conf = conf;
    ctx->state_dir = s_state;
    ctx->ops = &h2a_issuer_acme_ops;
}

static void s_reset_dir(const char *dir, const char *keep, const char *keep2);

/* Nothing stays behind in /dev/shm once the run ends. */
static void s_remove_state(void)
{
    static const char *const dirs[] = {"%s/www/.well-known/acme-challenge", "%s/www/.well-known",
                                       "%s/www", "%s/acme", "%s"};
    char dir[4300];

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(dir, sizeof(dir), dirs[i], s_state);
        s_reset_dir(dir, NULL, NULL);
        (void)rmdir(dir);
    }
}

void h2a_fuzz_setup(void)
{
    h2a_acme_conf acme;
    h2a_issuer_conf conf;
    h2a_issue_ctx ctx;
    h2a_acme a = {0};
    h2a_buf thumb;
    char name[128];
    unsigned char *der = NULL;
    int der_len;

    h2a_acme_fuzz_set_reply(s_reply);
    /* Memory-backed when there is one: every conversation writes files, each with an fsync. */
    snprintf(s_state, sizeof(s_state), "%s/h2a-fuzz-acme-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(s_state) == NULL) {
        abort();
    }
    atexit(s_remove_state);
    snprintf(s_webroot, sizeof(s_webroot), "%s/www", s_state);
    s_conf(&acme, &conf, &ctx, 0);
    a.ctx = &ctx;
    h2a_buf_init(&thumb, 0);
    s_csr = s_make_csr();
    der_len = i2d_X509_REQ(s_csr, &der);
    if (mkdir(s_webroot, 0700) != 0 || h2a_acme_thumbprint(H2A_ACME_FUZZ_JWK, &thumb) != H2A_OK ||
        h2a_buf_terminate(&thumb) != H2A_OK) {
        abort();
    }
    snprintf(name, sizeof(name), "account-%s.url", (const char *)thumb.data);
    /* The poll of S_ORDER finds the CSR its submit left, as after a restart. */
    if (h2a_acme_state_path(&a, name, s_account_file, sizeof(s_account_file)) != H2A_OK ||
        h2a_acme_order_path(&a, S_ORDER, "csr", s_csr_file, sizeof(s_csr_file)) != H2A_OK ||
        der_len <= 0 || h2a_file_write_atomic(s_csr_file, der, (size_t)der_len, 0600) != H2A_OK) {
        abort();
    }
    OPENSSL_free(der);
    h2a_buf_free(&thumb);
}

/*
 * Every execution starts from the same files: only the CSR of S_ORDER and
 * the account URL stay (the next input's bit 2 says whether it is there).
 */
static void s_reset_dir(const char *dir, const char *keep, const char *keep2)
{
    char path[4600];
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && (keep == NULL || strcmp(path, keep) != 0) &&
            (keep2 == NULL || strcmp(path, keep2) != 0)) {
            (void)unlink(path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

static void s_conversation(const uint8_t *data, size_t size)
{
    h2a_acme_conf acme;
    h2a_issuer_conf conf;
    h2a_issue_ctx ctx;
    h2a_issue_result res = {0};
    unsigned mode = data[0];
    char dir[4300];

    s_conf(&acme, &conf, &ctx, mode);
    s_split_all(data + 1, size - 1);
    if ((mode & 4) == 0) {
        (void)unlink(s_account_file);
    } else if (access(s_account_file, F_OK) != 0 &&
               h2a_file_write_atomic(s_account_file, "https://acme.invalid/acct/1", 27, 0600) != H2A_OK) {
        abort();
    }
    if ((mode & 1) != 0) {
        (void)h2a_issuer_acme_ops.poll(&ctx, S_ORDER, &res);
    } else {
        (void)h2a_issuer_acme_ops.submit(&ctx, s_csr, &res);
    }
    h2a_issue_result_clear(&res);
    snprintf(dir, sizeof(dir), "%s/acme", s_state);
    s_reset_dir(dir, s_csr_file, s_account_file);
    snprintf(dir, sizeof(dir), "%s/.well-known/acme-challenge", s_webroot);
    s_reset_dir(dir, NULL, NULL);
}

/* The directory, then the same reply as any GET and as a problem document. */
static void s_single(const uint8_t *data, size_t size)
{
    static char url[] = "https://acme.invalid/directory", name[] = "fuzz";
    h2a_acme_conf acme = {.directory_url = url};
    h2a_issuer_conf conf = {.name = name, .acme = &acme};
    h2a_issue_ctx ctx = {.conf = &conf};
    h2a_acme a;
    h2a_acme_reply r = {0};

    s_n_replies = 1;
    s_next = 0;
    s_split(data, size, &s_replies[0]);
    s_replies[1] = s_replies[0];
    s_n_replies = 2;
    if (h2a_acme_open(&ctx, &a) == H2A_OK) {
        h2a_acme_reply_clear(&r);
        if (h2a_acme_get(&a, a.new_order, &r) == H2A_OK) {
            (void)h2a_acme_problem(&a, "fuzz", &r);
        }
        h2a_buf_free(&r.body);
    }
    h2a_acme_close(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] >= 0x80) {
        s_conversation(data, size);
    } else {
        s_single(data, size);
    }
    h2a_err_clear();
    h2a_fuzz_after();
    return 0;
}
