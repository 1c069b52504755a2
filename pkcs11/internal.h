/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Private to pkcs11/ (and to the tests of pkcs11/): the only header that
 * exposes CK_* types. Everything here may change without notice; code
 * outside pkcs11/ uses h2a_pkcs11.h.
 *
 * Rules for code in pkcs11/:
 *  - every C_* call goes through H2A_P11_CALL, which logs it at debug level
 *    and, on failure, records "C_Foo: CKR_BAR (0x..)" as the error message;
 *    the caller then adds what it was doing with h2a_p11_fail();
 *  - PINs live only in a stack buffer of H2A_MAX_PIN + 1 bytes, wiped at
 *    the function's done: label;
 *  - attribute buffers that may hold key material come from the OpenSSL
 *    secure heap (h2a_p11_attr_get(..., secure = true)).
 */

/*
 * p11-kit's PKCS#11 v2.40 header. It lives under an include directory that
 * only the h2a_pkcs11 target adds; tests that include this header find it
 * through its full path instead.
 */
#if __has_include(<p11-kit/pkcs11.h>)
#include <p11-kit/pkcs11.h>
#else
#include <p11-kit-1/p11-kit/pkcs11.h>
#endif

#include <openssl/err.h>
#include <openssl/param_build.h>

#include "h2a_pkcs11.h"

/* PKCS#11 3.0; p11-kit 0.24's v2.40 header lacks it. */
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x210BUL
#endif

/* Longest PIN accepted from a pin-source (bytes, without the newline). */
#define H2A_MAX_PIN 256

/* ------------------------------------------------------------------ */
/* The one wrapper for C_* calls                                       */
/* ------------------------------------------------------------------ */

/* "CKR_PIN_INCORRECT"; "CKR_VENDOR_DEFINED+0x.." / "CKR_0x.." if unknown. */
const char *h2a_p11_ckr_name(CK_RV rv, char buf[40]);
/* The same, for messages on this thread (static per-thread buffer). */
const char *h2a_p11_rv_str(CK_RV rv);

/*
 * Called by H2A_P11_CALL after every C_* call: drops whatever the module
 * left on this thread's OpenSSL error queue during the call (back to the
 * mark set before it), logs "C_Foo -> CKR_X" at debug level and, when
 * rv != CKR_OK, sets the thread's error message to "C_Foo: CKR_X (0x..)".
 * Returns rv unchanged.
 */
CK_RV h2a_p11_call_done(const char *fn, CK_RV rv);

/*
 * Call `fn` from the function list `fl` (a CK_FUNCTION_LIST *):
 *   rv = H2A_P11_CALL(fl, C_SignInit, sess, &mech, obj);
 * Modules built on OpenSSL (SoftHSM2) share our libcrypto and its
 * per-thread error queue; their internal errors are not ours, so they are
 * removed (ERR_set_mark before, ERR_pop_to_mark after).
 */
#define H2A_P11_CALL(fl, fn, ...)                                         \
    ((void)ERR_set_mark(), h2a_p11_call_done(#fn, (fl)->fn(__VA_ARGS__)))

/*
 * After a failed H2A_P11_CALL: H2A_ERR_TOKEN with the message
 * "<what>: C_Foo: CKR_X (0x..)", where <what> is printf-formatted and says
 * which object/operation (e.g. "signing with key 'web1'").
 */
h2a_err h2a_p11_fail(const char *fmt, ...) H2A_PRINTF(1, 2);

/* ------------------------------------------------------------------ */
/* URI and PIN                                                         */
/* ------------------------------------------------------------------ */

typedef enum {
    H2A_PIN_SRC_NONE = 0,
    H2A_PIN_SRC_FILE, /* file:PATH, or a bare absolute path */
    H2A_PIN_SRC_ENV,  /* env:NAME */
} h2a_pin_src_kind;

struct p11_kit_uri;

/*
 * A parsed token URI. Strings are NUL-terminated copies (token attributes
 * trimmed of PKCS#11 space padding); has_* says whether the URI gave it.
 */
typedef struct {
    char *module_path;
    /* x-init-reserved, percent-decoded: C_Initialize pReserved (NULL: none). */
    char *init_reserved;
    h2a_pin_src_kind pin_kind;
    char *src_ref; /* path or environment variable name */
    bool has_label, has_serial, has_manufacturer, has_model, has_slot_id;
    char label[33];
    char serial[17];
    char manufacturer[33];
    char model[17];
    unsigned long slot_id;
    struct p11_kit_uri *p11uri; /* for p11_kit_uri_match_token_info */
} h2a_p11_uri;

/*
 * Parse and validate. H2A_ERR_INPUT for: not a pkcs11: URI, bad encoding or
 * syntax, unknown attributes, pin-value (refused), missing module-path,
 * missing or malformed pin-source. Clean up with h2a_p11_uri_cleanup even on
 * failure.
 */
h2a_err h2a_p11_uri_parse(const char *uri, h2a_p11_uri *out) H2A_MUST_USE;
void h2a_p11_uri_cleanup(h2a_p11_uri *u);
/*
 * `uri` for messages: every pin-value attribute's value replaced, so that no
 * message ever shows a PIN (truncated to n - 1 bytes).
 */
void h2a_p11_uri_redact(const char *uri, char *buf, size_t n);
/* "token=x;serial=y" etc. for messages (what was asked). */
void h2a_p11_uri_describe(const h2a_p11_uri *u, char *buf, size_t n);

/*
 * Read the PIN named by the URI's pin-source into `pin` (H2A_MAX_PIN + 1
 * bytes), strip one trailing "\n" or "\r\n", NUL-terminate, set *len.
 * H2A_ERR_INPUT when unreadable, empty or longer than H2A_MAX_PIN. On error
 * `pin` is wiped. The caller wipes `pin` with OPENSSL_cleanse when done.
 */
h2a_err h2a_p11_pin_read(const h2a_p11_uri *u, char pin[H2A_MAX_PIN + 1],
                         size_t *len) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Token, session and key internals (for provider*.c and tests)        */
/* ------------------------------------------------------------------ */

/* The module's function list (valid while the token is open). */
CK_FUNCTION_LIST *h2a_token_functions(H2A_TOKEN *tok);
CK_SLOT_ID h2a_token_slot(H2A_TOKEN *tok);
CK_MECHANISM_TYPE h2a_mech_ckm(h2a_mech m);

/*
 * Number of C_Login calls this process made (all tokens). Tests use it to
 * prove a wrong PIN is tried exactly once.
 */
unsigned long h2a_p11_login_attempts(void);

/*
 * Test hook: make the token's mechanism cache say `m` is absent, as if
 * C_GetMechanismInfo had returned CKR_MECHANISM_INVALID (tests of the
 * KWP → KW fallback).
 */
void h2a_token_mech_pretend_absent(H2A_TOKEN *tok, h2a_mech m);

/* ------------------------------------------------------------------ */
/* Token quirks (quirks.c)                                             */
/* ------------------------------------------------------------------ */

/*
 * Behaviour that differs between tokens. Each is applied only where the
 * table in quirks.c names the token; the default is plain PKCS#11.
 */
enum {
    /* Make key pairs as session objects, then C_CopyObject them with
     * CKA_ID (SoftHSM2: each token object written once). */
    H2A_QUIRK_SESSION_KEYGEN_COPY = 1u << 0,
    /* "Token not found", "not initialised" and CKR_GENERAL_ERROR while
     * opening are transient (SoftHSM2's file store being rewritten by
     * another process): retried, with the module finalised in between. */
    H2A_QUIRK_OPEN_RETRY = 1u << 1,
    /* C_Login's CKR_GENERAL_ERROR comes before any PIN check (SoftHSM2),
     * so it may be retried; elsewhere it might count against the PIN. */
    H2A_QUIRK_LOGIN_GENERAL_ERROR_RETRY = 1u << 2,
    /* The token derives CKA_SIGN_RECOVER, CKA_VERIFY_RECOVER and the other
     * usage flags from its own object and fails on an explicit value that
     * differs (tpm2-pkcs11: CKR_GENERAL_ERROR). */
    H2A_QUIRK_DERIVED_USAGE = 1u << 3,
    /* Refuses CKA_SENSITIVE together with CKA_EXTRACTABLE (tpm2-pkcs11):
     * no key can leave it wrapped. */
    H2A_QUIRK_NO_DELIVERY_KEYS = 1u << 4,
    /* C_UnwrapKey of an EC private key needs CKA_NSS_DB holding the public
     * point (NSS softokn). */
    H2A_QUIRK_NSS_EC_UNWRAP_DB = 1u << 5,
};

/* NSS's vendor attribute of H2A_QUIRK_NSS_EC_UNWRAP_DB. */
#define H2A_CKA_NSS_DB 0xD5A0DB00UL

/* Quirks of a module known only by its file name (before C_Initialize). */
unsigned h2a_quirks_by_file(const char *module_path, const char **name);
/* Quirks by C_GetInfo manufacturer, module file and token; `name` the row. */
unsigned h2a_quirks_lookup(const char *lib_manufacturer, const char *module_path,
                           const char *tok_manufacturer, const char *tok_model,
                           const char **name);
/* The quirks of an open token. */
unsigned h2a_token_quirks(H2A_TOKEN *tok);

/*
 * Whether this token refused to copy a session key pair to token objects
 * (C_CopyObject); keygen then makes token objects directly.
 */
bool h2a_token_copy_refused(H2A_TOKEN *tok);
void h2a_token_set_copy_refused(H2A_TOKEN *tok);

/* Label index of H2A_KEYGEN_LABEL_RESERVED (labels.c), one per H2A_TOKEN. */
struct h2a_labels;
struct h2a_labels *h2a_labels_new(void);
void h2a_labels_free(struct h2a_labels *l);
struct h2a_labels *h2a_token_labels(H2A_TOKEN *tok);
/*
 * True when `label` (reserved by the caller) is certainly not on a private
 * key; false means "search the token". Builds the index on the second call.
 */
bool h2a_labels_known_unused(H2A_SESSION *s, const char *label, bool many);
/* A key with `label` now exists (made by this process). */
void h2a_labels_note(H2A_TOKEN *tok, const char *label);

CK_SESSION_HANDLE h2a_session_handle(H2A_SESSION *s);

/* A key pair handle (keypair.c, keygen_pair.c, probe.c). */
struct h2a_p11_key {
    H2A_SESSION *s;
    CK_OBJECT_HANDLE priv;
    CK_OBJECT_HANDLE pub;
    h2a_keytype type;
    char *label;
    uint8_t *id;
    size_t id_len;
    EVP_PKEY *pubkey;
    X509_PUBKEY *spki; /* of pubkey, built once (see common/spki.c) */
    bool exportable;   /* asked for at generation (messages only) */
};

/* A wrapping key handle (wrap.c, unwrap.c, probe.c). */
struct h2a_p11_secret {
    H2A_SESSION *s;
    CK_OBJECT_HANDLE h;
    char *label;
    char ident[7]; /* h2a_p11_wrapkey_kcv, "" until computed */
    h2a_wrapkey_idkind idkind;
    bool usage_checked; /* h2a_p11_wrapkey_check passed once (per handle) */
};

/* The h2a_mech of a wrap mechanism. */
h2a_mech h2a_wrapmech_mech(h2a_wrapmech m);

/* EVP_PKEY_fromdata of `selection`; H2A_ERR_TOKEN with OpenSSL's reason after `what`. */
h2a_err h2a_p11_pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection,
                              const char *what, EVP_PKEY **out) H2A_MUST_USE;

/* The public key of a token object as a software EVP_PKEY. */
h2a_err h2a_p11_read_public(H2A_SESSION *s, CK_OBJECT_HANDLE obj, h2a_keytype t,
                            EVP_PKEY **out) H2A_MUST_USE;
/*
 * A throwaway key pair for probing (label "hsm2acm-probe", no CKA_ID):
 * session objects, or token objects where the token makes no session pairs.
 * The caller destroys it with h2a_p11_key_destroy. No duplicate-label check
 * and no quirk-based refusal: the probe asks the token itself.
 */
h2a_err h2a_p11_keypair_throwaway(H2A_SESSION *s, h2a_keytype type, bool exportable,
                                  H2A_P11_KEY **out) H2A_MUST_USE;

/* k->spki from k->pubkey, and (id not NULL) the RFC 5280 key identifier. */
h2a_err h2a_p11_key_spki_id(H2A_P11_KEY *k, uint8_t id[20]) H2A_MUST_USE;

/* Handles of a key pair; pub may be CK_INVALID_HANDLE if the token has none. */
CK_OBJECT_HANDLE h2a_p11_key_priv_handle(const H2A_P11_KEY *k);
CK_OBJECT_HANDLE h2a_p11_key_pub_handle(const H2A_P11_KEY *k);
CK_OBJECT_HANDLE h2a_p11_wrapkey_handle(const H2A_P11_SECRET *w);

/*
 * Everything the provider needs to sign with `k` itself, in one call:
 * function list, session and private-key handle.
 */
void h2a_p11_key_handles(const H2A_P11_KEY *k, CK_FUNCTION_LIST **fl,
                         CK_SESSION_HANDLE *session, CK_OBJECT_HANDLE *priv);

/* ------------------------------------------------------------------ */
/* Attribute helpers                                                   */
/* ------------------------------------------------------------------ */

/*
 * C_GetAttributeValue of one attribute into a fresh buffer: plain heap, or
 * OpenSSL secure heap when `secure` (key material). Free with
 * h2a_p11_attr_free(p, len, secure), which wipes. Errors name `what`.
 */
h2a_err h2a_p11_attr_get(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                         CK_ATTRIBUTE_TYPE type, bool secure, const char *what,
                         uint8_t **out, size_t *out_len) H2A_MUST_USE;
void h2a_p11_attr_free(uint8_t *p, size_t len, bool secure);
/* CK_BBOOL / CK_ULONG attributes. */
h2a_err h2a_p11_attr_bool(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                          CK_ATTRIBUTE_TYPE type, bool *out) H2A_MUST_USE;
h2a_err h2a_p11_attr_ulong(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                           CK_ATTRIBUTE_TYPE type, CK_ULONG *out) H2A_MUST_USE;

/*
 * C_FindObjects* with `tmpl`; fills up to `max` handles and sets *count to
 * the TOTAL number of matches (which may exceed max).
 */
h2a_err h2a_p11_find(H2A_SESSION *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     CK_OBJECT_HANDLE *found, size_t max,
                     size_t *count) H2A_MUST_USE;

/* DER of the curve OID (CKA_EC_PARAMS) for an EC key type. */
h2a_err h2a_p11_ec_params(h2a_keytype t, uint8_t **der, size_t *len) H2A_MUST_USE;
/* Key type from CKA_EC_PARAMS (NONE if not P-256/384/521). */
h2a_keytype h2a_p11_ec_params_type(const uint8_t *der, size_t len);

/*
 * Test-only fault injection: true when the environment variable
 * H2A_TEST_FAULT equals `point` (e.g. "p11_after_generate"). It can only
 * make an operation fail (and roll back); it never weakens anything.
 */
bool h2a_p11_fault(const char *point);
