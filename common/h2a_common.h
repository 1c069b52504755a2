/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Shared base for every hsm2acm library: error codes (which are also the
 * process exit codes), logging, wiped buffers, key types and small encoders.
 * It has no dependency but OpenSSL, so pkcs11/, keygen/, policies/ and agent/
 * can all use it without seeing each other.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define H2A_API __attribute__((visibility("default")))
#define H2A_MUST_USE __attribute__((warn_unused_result))
#define H2A_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * X(name, exit_code, text). The exit code is what the CLI returns when the
 * error reaches main(); it is a documented contract (README, --help).
 */
#define H2A_ERROR_TABLE(X)                                               \
    X(H2A_OK, 0, "ok")                                                   \
    X(H2A_ERR_INTERNAL, 1, "internal error")                             \
    X(H2A_ERR_NOMEM, 1, "out of memory")                                 \
    X(H2A_ERR_USAGE, 2, "usage error")                                   \
    X(H2A_ERR_INPUT, 2, "bad input")                                     \
    X(H2A_ERR_POLICY, 3, "refused by policy")                            \
    X(H2A_ERR_TOKEN, 4, "token error")                                   \
    X(H2A_ERR_AWS, 5, "AWS error")                                       \
    X(H2A_ERR_ISSUER, 6, "issuer error")                                 \
    X(H2A_ERR_VERIFY, 7, "verification failed")                          \
    X(H2A_ERR_STATE, 8, "state or journal error")

typedef enum {
#define H2A_X_ENUM(name, code, text) name,
    H2A_ERROR_TABLE(H2A_X_ENUM)
#undef H2A_X_ENUM
        H2A_ERR__COUNT
} h2a_err;

/* Name ("H2A_ERR_TOKEN") and short text of a code; never NULL. */
H2A_API const char *h2a_err_name(h2a_err e);
H2A_API const char *h2a_err_text(h2a_err e);
/* Process exit code for an error (0 for H2A_OK). */
H2A_API int h2a_err_exit_code(h2a_err e);

/*
 * Record a detailed message for the error being returned and return `e`, so
 * a failure site reads `return h2a_err_set(H2A_ERR_INPUT, "dns[%zu]: ...")`.
 * The message lives in a per-thread buffer (batch workers are processes;
 * library callers may use threads) and must name the field or object at fault. Never put secrets in it.
 * The code is still returned directly; the message is only for people.
 */
H2A_API h2a_err h2a_err_set(h2a_err e, const char *fmt, ...) H2A_PRINTF(2, 3);
/* Prefix the current message with context ("targets[1]: " + old message). */
H2A_API h2a_err h2a_err_prefix(h2a_err e, const char *fmt, ...) H2A_PRINTF(2, 3);
/* Last message set on this thread ("" if none). */
H2A_API const char *h2a_err_msg(void);
H2A_API void h2a_err_clear(void);
/* Append OpenSSL's error queue (then clear it) to the current message. */
H2A_API h2a_err h2a_err_openssl(h2a_err e, const char *what);

/* For code that holds no resources (see STYLE.md): propagate or fail. */
#define H2A_GUARD(expr)                                                  \
    do {                                                                 \
        h2a_err h2a_guard_rv_ = (expr);                                  \
        if (h2a_guard_rv_ != H2A_OK) {                                   \
            return h2a_guard_rv_;                                        \
        }                                                                \
    } while (0)
#define H2A_ENSURE(cond, err, ...)                                       \
    do {                                                                 \
        if (!(cond)) {                                                   \
            return h2a_err_set((err), __VA_ARGS__);                      \
        }                                                                \
    } while (0)

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

typedef enum {
    H2A_LOG_ERROR = 0,
    H2A_LOG_WARN = 1,
    H2A_LOG_INFO = 2,
    H2A_LOG_DEBUG = 3,
} h2a_log_level;

/*
 * Logs go to stderr (or HSM2ACM_LOG_FILE). Level from HSM2ACM_LOG
 * (error|warn|info|debug) or h2a_log_set_level(). Callers never pass PINs,
 * keys, secret keys, session tokens, Authorization headers or secret values.
 */
H2A_API void h2a_log_init_from_env(void);
H2A_API void h2a_log_set_level(h2a_log_level lvl);
H2A_API h2a_log_level h2a_log_get_level(void);
H2A_API void h2a_log_write(h2a_log_level lvl, const char *func, int line,
                           const char *fmt, ...) H2A_PRINTF(4, 5);

/*
 * A test hook's switch: getenv(name) in a build configured with
 * H2A_TEST_HOOKS=ON (the test builds), always NULL otherwise, so a release
 * binary never honours a crash point or an injected fault.
 */
H2A_API const char *h2a_test_hook_env(const char *name);
/* True when this build honours test hooks. */
H2A_API bool h2a_test_hooks_built(void);

#define H2A_LOG_ERR(...) h2a_log_write(H2A_LOG_ERROR, __func__, __LINE__, __VA_ARGS__)
#define H2A_LOG_WARN(...) h2a_log_write(H2A_LOG_WARN, __func__, __LINE__, __VA_ARGS__)
#define H2A_LOG_INFO(...) h2a_log_write(H2A_LOG_INFO, __func__, __LINE__, __VA_ARGS__)
#define H2A_LOG_DBG(...) h2a_log_write(H2A_LOG_DEBUG, __func__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

/*
 * An owning byte buffer. h2a_buf_free() always wipes before freeing. A
 * buffer made with h2a_buf_init_secure() lives in OpenSSL's secure heap
 * (mlocked, excluded from core dumps) when it is initialised, and is meant
 * for plaintext key material and PINs. `limit` bounds growth (0: no limit),
 * so input read into it can never grow without bound.
 */
typedef struct h2a_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;
    bool secure;
} h2a_buf;

H2A_API void h2a_buf_init(h2a_buf *b, size_t limit);
H2A_API void h2a_buf_init_secure(h2a_buf *b, size_t limit);
/* Grow capacity to at least `cap`; H2A_ERR_INPUT past the limit. */
H2A_API h2a_err h2a_buf_reserve(h2a_buf *b, size_t cap) H2A_MUST_USE;
H2A_API h2a_err h2a_buf_append(h2a_buf *b, const void *p, size_t n) H2A_MUST_USE;
H2A_API h2a_err h2a_buf_append_str(h2a_buf *b, const char *s) H2A_MUST_USE;
H2A_API h2a_err h2a_buf_printf(h2a_buf *b, const char *fmt, ...)
    H2A_PRINTF(2, 3) H2A_MUST_USE;
/* NUL-terminates without counting the NUL in len. */
H2A_API h2a_err h2a_buf_terminate(h2a_buf *b) H2A_MUST_USE;
/* Wipe contents, keep the allocation. */
H2A_API void h2a_buf_reset(h2a_buf *b);
/* Wipe and free; NULL-safe and idempotent. */
H2A_API void h2a_buf_free(h2a_buf *b);

/*
 * Secure heap. main() calls this once; buffers and OpenSSL private key
 * components then live in locked, non-dumpable memory. Safe to call twice.
 * An arena OpenSSL made but could not mlock (RLIMIT_MEMLOCK) is an error:
 * nothing runs with key material in swappable memory.
 */
H2A_API h2a_err h2a_secure_heap_init(size_t bytes);
/* Non-dumpable, core size 0: a crash never writes key material to disk. */
H2A_API h2a_err h2a_process_harden(void);

/* Constant-time compare (tokens, MACs, KCVs). */
H2A_API bool h2a_ct_equal(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------ */
/* Files and encodings                                                 */
/* ------------------------------------------------------------------ */

/* Read a whole file into `out` (must be initialised; its limit applies). */
H2A_API h2a_err h2a_file_read(const char *path, h2a_buf *out) H2A_MUST_USE;
/* Write atomically (temp file + fsync + rename), with `mode`. */
H2A_API h2a_err h2a_file_write_atomic(const char *path, const void *data,
                                      size_t len, unsigned mode) H2A_MUST_USE;

/* Lower-case hex; `out` must hold 2*n+1 bytes. */
H2A_API void h2a_hex_encode(const uint8_t *in, size_t n, char *out);
H2A_API h2a_err h2a_hex_decode(const char *in, h2a_buf *out) H2A_MUST_USE;
/* 0..15 for a hex digit of either case, -1 for anything else. */
H2A_API int h2a_hex_value(char c);
/* An AWS account id: exactly 12 decimal digits. */
H2A_API bool h2a_account_id_ok(const char *a);
/* Standard base64 without line breaks, appended to `out` + NUL terminated. */
H2A_API h2a_err h2a_base64_encode(const uint8_t *in, size_t n, h2a_buf *out) H2A_MUST_USE;
H2A_API h2a_err h2a_base64_decode(const char *in, size_t n, h2a_buf *out) H2A_MUST_USE;
/* base64url without padding (RFC 4648 5, as JOSE uses it), appended + NUL terminated. */
H2A_API h2a_err h2a_base64url_encode(const uint8_t *in, size_t n, h2a_buf *out) H2A_MUST_USE;
/*
 * base64url to bytes, appended to `out`. Trailing '=' padding is tolerated;
 * any other character outside the URL-safe alphabet is H2A_ERR_INPUT saying
 * the text is not base64url.
 */
H2A_API h2a_err h2a_base64url_decode(const char *in, size_t n, h2a_buf *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Key types                                                           */
/* ------------------------------------------------------------------ */

/* The key types hsm2acm generates: ACM's importable types less RSA_1024. */
typedef enum {
    H2A_KT_NONE = 0,
    H2A_KT_RSA_2048,
    H2A_KT_RSA_3072,
    H2A_KT_RSA_4096,
    H2A_KT_EC_P256,
    H2A_KT_EC_P384,
    H2A_KT_EC_P521,
    H2A_KT__COUNT
} h2a_keytype;

/*
 * Parse the CLI/request form ("rsa:2048", "ec:P-256"). Unknown types and
 * known-but-refused ones (rsa:1024, secp256k1, ed25519) give H2A_ERR_INPUT
 * with a message saying why.
 */
H2A_API h2a_err h2a_keytype_parse(const char *s, h2a_keytype *out) H2A_MUST_USE;
/* ACM's KeyAlgorithm name ("RSA_2048", "EC_prime256v1"); NULL for NONE. */
H2A_API const char *h2a_keytype_acm_name(h2a_keytype t);
/* Inverse of acm_name. RSA_1024 gives H2A_ERR_INPUT (known, unsupported). */
H2A_API h2a_err h2a_keytype_from_acm(const char *acm, h2a_keytype *out) H2A_MUST_USE;
/* CLI form ("rsa:2048"). */
H2A_API const char *h2a_keytype_cli_name(h2a_keytype t);
H2A_API bool h2a_keytype_is_rsa(h2a_keytype t);
/* RSA modulus bits, or EC field size bits. */
H2A_API int h2a_keytype_bits(h2a_keytype t);
/* OpenSSL curve NID for EC types, NID_undef for RSA. */
H2A_API int h2a_keytype_curve_nid(h2a_keytype t);
/* Default digest NID: RSA and P-256 SHA-256, P-384 SHA-384, P-521 SHA-512. */
H2A_API int h2a_keytype_default_md_nid(h2a_keytype t);
/* Key type of a public key; H2A_ERR_INPUT for anything hsm2acm cannot use. */
H2A_API h2a_err h2a_keytype_from_pkey(const EVP_PKEY *pk, h2a_keytype *out) H2A_MUST_USE;

/*
 * SubjectPublicKeyInfo without OpenSSL 3.0's per-key encoder/decoder set-up.
 * An X509_PUBKEY made or filled here carries no decoded key, so
 * X509_get0_pubkey / X509_REQ_get0_pubkey give NULL for a certificate or
 * request built with it: read its key with h2a_spki_to_pkey or
 * h2a_x509_public instead.
 */
/* The SPKI of an RSA or EC public key (the types hsm2acm makes). */
H2A_API h2a_err h2a_spki_from_pkey(const EVP_PKEY *pk, X509_PUBKEY **out) H2A_MUST_USE;
/* Copy algorithm, parameters and key bits of `src` into an empty `dst`. */
H2A_API h2a_err h2a_spki_copy(X509_PUBKEY *dst, const X509_PUBKEY *src) H2A_MUST_USE;
/* The public key an SPKI holds; named-curve EC and RSA directly, others via OpenSSL. */
H2A_API h2a_err h2a_spki_to_pkey(const X509_PUBKEY *spki, EVP_PKEY **out) H2A_MUST_USE;
/* Same DER encoding (so the same key, the same way). */
H2A_API bool h2a_spki_equal(const X509_PUBKEY *a, const X509_PUBKEY *b);
/* A certificate's public key, decoded or not at parse time; the caller frees *out. */
H2A_API h2a_err h2a_x509_public(X509 *x, EVP_PKEY **out) H2A_MUST_USE;

/* What h2a_pem_encode() is given: X509, X509_REQ, or EVP_PKEY (public or private part). */
typedef enum h2a_pem_kind {
    H2A_PEM_CERT,
    H2A_PEM_CSR,
    H2A_PEM_PUBKEY,
    H2A_PEM_PRIVKEY,
} h2a_pem_kind;
/*
 * Append the PEM text of `obj` to `out` and NUL-terminate it (len excludes
 * the NUL, so a further call appends after it). H2A_PEM_PRIVKEY goes through
 * the secure heap: give it a secure buffer.
 */
H2A_API h2a_err h2a_pem_encode(h2a_pem_kind kind, const void *obj, h2a_buf *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* KeyUsage / ExtendedKeyUsage under ACM's names                       */
/* ------------------------------------------------------------------ */

/*
 * One vocabulary for DescribeCertificate output, the policy, requests and
 * CSRs, so that a bit means the same thing in all of them. ANY and CUSTOM
 * exist only in ACM output; a CSR never asks for them (H2A_*_REQUESTABLE).
 */
#define H2A_KU_DIGITAL_SIGNATURE 0x001u
#define H2A_KU_NON_REPUDIATION 0x002u
#define H2A_KU_KEY_ENCIPHERMENT 0x004u
#define H2A_KU_DATA_ENCIPHERMENT 0x008u
#define H2A_KU_KEY_AGREEMENT 0x010u
#define H2A_KU_CERTIFICATE_SIGNING 0x020u
#define H2A_KU_CRL_SIGNING 0x040u
#define H2A_KU_ENCIPHER_ONLY 0x080u
#define H2A_KU_DECIPHER_ONLY 0x100u
#define H2A_KU_ANY 0x200u
#define H2A_KU_CUSTOM 0x400u
#define H2A_KU_REQUESTABLE 0x1ffu

/*
 * EKU OIDs are 1.3.6.1.5.5.7.3.x; ANY is anyExtendedKeyUsage 2.5.29.37.0;
 * CUSTOM is an EKU OID ACM has no name for. ACM's "NONE" is not a bit: it
 * means "no EKU extension".
 */
#define H2A_EKU_TLS_WEB_SERVER_AUTHENTICATION 0x001u /* .1 */
#define H2A_EKU_TLS_WEB_CLIENT_AUTHENTICATION 0x002u /* .2 */
#define H2A_EKU_CODE_SIGNING 0x004u                  /* .3 */
#define H2A_EKU_EMAIL_PROTECTION 0x008u              /* .4 */
#define H2A_EKU_TIME_STAMPING 0x010u                 /* .8 */
#define H2A_EKU_OCSP_SIGNING 0x020u                  /* .9 */
#define H2A_EKU_IPSEC_END_SYSTEM 0x040u              /* .5 */
#define H2A_EKU_IPSEC_TUNNEL 0x080u                  /* .6 */
#define H2A_EKU_IPSEC_USER 0x100u                    /* .7 */
#define H2A_EKU_ANY 0x200u
#define H2A_EKU_CUSTOM 0x400u
#define H2A_EKU_REQUESTABLE 0x1ffu

/* Name of one bit ("KEY_ENCIPHERMENT"); NULL if `bit` is not exactly one known bit. */
H2A_API const char *h2a_ku_acm_name(unsigned bit);
H2A_API const char *h2a_eku_acm_name(unsigned bit);
/* Bit named by the first `len` bytes of `name`; 0 if none. */
H2A_API unsigned h2a_ku_lookup(const char *name, size_t len, bool ignore_case);
H2A_API unsigned h2a_eku_lookup(const char *name, size_t len, bool ignore_case);
/* Bit of an exact ACM name; H2A_ERR_INPUT naming the value if unknown. "NONE" gives 0 for EKU. */
H2A_API h2a_err h2a_ku_from_acm_name(const char *name, unsigned *out) H2A_MUST_USE;
H2A_API h2a_err h2a_eku_from_acm_name(const char *name, unsigned *out) H2A_MUST_USE;
/* ACM names of all bits, ", "-separated, in bit order; appended to `out`, NUL-terminated. */
H2A_API h2a_err h2a_ku_render_acm(unsigned bits, h2a_buf *out) H2A_MUST_USE;
H2A_API h2a_err h2a_eku_render_acm(unsigned bits, h2a_buf *out) H2A_MUST_USE;
/* OpenSSL KU_* flag of one bit (0 for ANY/CUSTOM); EKU OID text (NULL for CUSTOM). */
H2A_API unsigned h2a_ku_x509_flag(unsigned bit);
H2A_API const char *h2a_eku_oid(unsigned bit);

/* ------------------------------------------------------------------ */
/* Child processes (common/child.c)                                    */
/* ------------------------------------------------------------------ */

/*
 * The one runner for every program hsm2acm starts (command issuers,
 * credential_process, hooks). The child gets:
 *   - argv, never a shell; argv[0] is a path, or looked up on PATH when
 *     `search_path` (as the AWS SDKs run credential_process);
 *   - an allowlisted environment: PATH, HOME, LANG, LC_ALL, TZ, TMPDIR from
 *     ours, plus the names in `env_pass` (from ours, when set) and the
 *     "NAME=value" entries of `env_set`; never a variable named with
 *     h2a_child_hide_env() (the one pin-source=env: names), so no PIN and,
 *     unless a caller passes them, no AWS secrets;
 *   - `in` (in_len bytes) on stdin, or /dev/null when `in` is NULL;
 *   - none of our descriptors beyond 0-2; its own process group.
 * Stdout goes to `out` (initialised by the caller: its limit caps it, a
 * secure buffer keeps a secret answer out of ordinary heap; more output
 * than the limit kills the child and sets `res->overflow`). Stderr goes to
 * `err` (may be NULL) up to err's limit less one byte (room for a
 * terminator), the rest dropped; or stays ours
 * with `stderr_inherit`. After `timeout_ms` the whole group gets SIGKILL and
 * `res->timed_out` is set.
 * H2A_OK when the child ran (whatever its exit status: see `res`);
 * H2A_ERR_INTERNAL when it could not be started (pipe, fork). A program
 * that cannot be executed exits 127 with the reason on its stderr.
 */
typedef struct h2a_child_spec {
    const char *const *argv;    /* NULL-terminated */
    bool search_path;           /* execvpe instead of execve */
    const char *const *env_pass; /* NULL-terminated names, or NULL */
    const char *const *env_set;  /* NULL-terminated "NAME=value", or NULL */
    const void *in;             /* stdin data, or NULL */
    size_t in_len;
    long long timeout_ms;       /* > 0 */
    bool stderr_inherit;
} h2a_child_spec;

typedef struct h2a_child_result {
    bool exited;    /* exited normally: `code` is its status */
    int code;       /* exit status, -1 if it did not exit */
    int signal;     /* the signal that ended it, 0 if none */
    bool timed_out; /* killed at the timeout */
    bool overflow;  /* killed: stdout went past out's limit */
} h2a_child_result;

H2A_API h2a_err h2a_child_run(const h2a_child_spec *spec, h2a_buf *out, h2a_buf *err,
                              h2a_child_result *res) H2A_MUST_USE;

/*
 * Never give variable `name` to a child (the configuration calls this for
 * the variable its token URI's pin-source=env: names). Process-wide, set
 * before children start; at most 8 names.
 */
H2A_API h2a_err h2a_child_hide_env(const char *name) H2A_MUST_USE;
