/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Token access. This is the only library that loads a PKCS#11 module, holds
 * a PIN, or sees a CK_* type: its public API speaks in hsm2acm's own types,
 * so agent/ could later move token work into a separate helper process.
 *
 * Lifetime: one H2A_TOKEN per process (one C_Initialize, one login);
 * any number of H2A_SESSIONs on it, one per worker thread. Key and secret
 * handles belong to the session they were found or made in.
 *
 * Every function returns H2A_OK or an h2a_err with a message
 * (h2a_err_msg()) that names the C_* function and the CKR code by name.
 */

#include <openssl/evp.h>
#include <openssl/types.h>

#include "h2a_common.h"

typedef struct h2a_token H2A_TOKEN;
typedef struct h2a_session H2A_SESSION;
typedef struct h2a_p11_key H2A_P11_KEY;
typedef struct h2a_p11_secret H2A_P11_SECRET;

/* ------------------------------------------------------------------ */
/* Token                                                               */
/* ------------------------------------------------------------------ */

/*
 * Open the token named by an RFC 7512 URI (parsed with p11-kit), e.g.
 *   pkcs11:token=hsm2acm?module-path=/usr/lib/softhsm/libsofthsm2.so
 *         &pin-source=file:/run/hsm2acm/pin
 * pin-source is file:PATH or env:NAME; pin-value is refused (PINs never
 * travel in argv or config text). Loads the module, C_Initialize, clears
 * the OpenSSL error queue, selects the token (error lists existing labels),
 * and logs in as user once. CKR_PIN_INCORRECT is never retried.
 * Errors: malformed URI → H2A_ERR_INPUT; everything else → H2A_ERR_TOKEN.
 */
H2A_API h2a_err h2a_token_open(const char *uri, H2A_TOKEN **out) H2A_MUST_USE;
/* Logout, C_Finalize, dlclose; NULL-safe. */
H2A_API void h2a_token_close(H2A_TOKEN *tok);

/* PKCS#11 mechanisms hsm2acm uses, for probing and `token info`. */
typedef enum {
    H2A_MECH_RSA_KEYGEN,  /* CKM_RSA_PKCS_KEY_PAIR_GEN */
    H2A_MECH_EC_KEYGEN,   /* CKM_EC_KEY_PAIR_GEN */
    H2A_MECH_RSA_PKCS,    /* CKM_RSA_PKCS */
    H2A_MECH_RSA_PSS,     /* CKM_RSA_PKCS_PSS */
    H2A_MECH_ECDSA,       /* CKM_ECDSA */
    H2A_MECH_AES_KEYGEN,  /* CKM_AES_KEY_GEN */
    H2A_MECH_AES_KWP,     /* CKM_AES_KEY_WRAP_PAD (0x210A): padding differs per token */
    H2A_MECH_AES_KW,      /* CKM_AES_KEY_WRAP (0x2109, RFC 3394) */
    H2A_MECH_AES_KWP3,    /* CKM_AES_KEY_WRAP_KWP (0x210B, PKCS#11 3.0: RFC 5649) */
    H2A_MECH_SHA256_RSA_PKCS, /* CKM_SHA256_RSA_PKCS: the token hashes (ACME RS256) */
    H2A_MECH__COUNT
} h2a_mech;

/* "CKM_AES_KEY_WRAP_PAD" etc. */
H2A_API const char *h2a_mech_name(h2a_mech m);

/* What the token's C_GetMechanismInfo says about a mechanism. */
typedef struct {
    bool present;
    unsigned long min_key, max_key;
    bool can_generate, can_sign, can_wrap, can_unwrap;
} h2a_mech_info;

/*
 * H2A_ERR_TOKEN naming the mechanism (and what it was needed for) if the
 * token lacks it or lacks the needed capability.
 */
H2A_API h2a_err h2a_token_require_mech(H2A_TOKEN *tok, h2a_mech m,
                                       const char *needed_for) H2A_MUST_USE;
H2A_API h2a_err h2a_token_mech_info(H2A_TOKEN *tok, h2a_mech m,
                                    h2a_mech_info *out) H2A_MUST_USE;

typedef struct {
    char label[33];
    char serial[17];
    char manufacturer[33];
    char model[17];
    unsigned long slot_id;
    char module_path[4096];
    char library_manufacturer[33]; /* C_GetInfo */
    char quirks[32]; /* row of the quirks table (pkcs11/quirks.c), "" if none */
} h2a_token_info;

H2A_API h2a_err h2a_token_get_info(H2A_TOKEN *tok, h2a_token_info *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

/* A read-write session on the logged-in token. */
H2A_API h2a_err h2a_session_open(H2A_TOKEN *tok, H2A_SESSION **out) H2A_MUST_USE;
/* Closes the session; session objects made in it vanish. NULL-safe. */
H2A_API void h2a_session_close(H2A_SESSION *s);
H2A_API H2A_TOKEN *h2a_session_token(H2A_SESSION *s);

/* Number of objects visible to the logged-in user (tests, token info). */
H2A_API h2a_err h2a_session_object_count(H2A_SESSION *s, size_t *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Key pairs                                                           */
/* ------------------------------------------------------------------ */

#define H2A_KEYGEN_WRAP_WITH_TRUSTED 0x1u
/*
 * The caller guarantees that no other party makes a key with this label
 * meanwhile. The "label already used" check may then use a per-token index
 * of labels taken once and kept up to date with the keys this process
 * makes, instead of a token search per key (see pkcs11/labels.c). A label
 * the index knows is still searched for.
 */
#define H2A_KEYGEN_LABEL_RESERVED 0x2u
/*
 * With H2A_KEYGEN_LABEL_RESERVED: this process will make more keys on this
 * token (a batch worker), so the label index is read at the first key
 * rather than after one search for it.
 */
#define H2A_KEYGEN_MANY_KEYS 0x4u
/*
 * A delivery key: CKA_EXTRACTABLE TRUE (with CKA_SENSITIVE), so that it can
 * leave the token wrapped. Without it (and without WRAP_WITH_TRUSTED, which
 * implies it) the key never leaves the token: CKA_EXTRACTABLE FALSE.
 */
#define H2A_KEYGEN_EXPORTABLE 0x8u

/*
 * Generate a token key pair. Private: PRIVATE, SENSITIVE, SIGN; EXTRACTABLE
 * only with H2A_KEYGEN_EXPORTABLE (a delivery key); DECRYPT, UNWRAP, DERIVE
 * FALSE. Public: VERIFY; ENCRYPT, WRAP FALSE. SIGN_RECOVER/VERIFY_RECOVER
 * FALSE unless the token derives them (quirks table). A delivery key on a
 * token known to refuse one is refused before anything is made. CKA_LABEL = label; CKA_ID = SHA-1 of the
 * subjectPublicKey bits (RFC 5280 key identifier), set on both halves.
 * Probes the keygen mechanism first. On any failure after
 * C_GenerateKeyPair both halves are destroyed.
 * `*out` is freed with h2a_p11_key_free() (does not touch the token).
 */
H2A_API h2a_err h2a_p11_keypair_generate(H2A_SESSION *s, h2a_keytype type,
                                         const char *label, unsigned flags,
                                         H2A_P11_KEY **out) H2A_MUST_USE;

/*
 * Find a key pair by label (id NULL) or by CKA_ID (label NULL). Exactly one
 * private key must match: none → H2A_ERR_TOKEN "object not found" naming
 * what was asked; several → H2A_ERR_TOKEN naming the count.
 */
H2A_API h2a_err h2a_p11_key_find(H2A_SESSION *s, const char *label,
                                 const uint8_t *id, size_t id_len,
                                 H2A_P11_KEY **out) H2A_MUST_USE;

/* Call `cb` for every private key in the token (sweep: unknown keys). */
typedef void (*h2a_p11_key_cb)(void *arg, const uint8_t *id, size_t id_len,
                               const char *label, h2a_keytype type);
H2A_API h2a_err h2a_p11_key_list(H2A_SESSION *s, h2a_p11_key_cb cb,
                                 void *arg) H2A_MUST_USE;

/* Destroy both token objects of the pair, then free the handle. */
H2A_API h2a_err h2a_p11_key_destroy(H2A_P11_KEY *k) H2A_MUST_USE;
/* Free the handle only; NULL-safe. */
H2A_API void h2a_p11_key_free(H2A_P11_KEY *k);

H2A_API h2a_keytype h2a_p11_key_type(const H2A_P11_KEY *k);
H2A_API const char *h2a_p11_key_label(const H2A_P11_KEY *k);
/* CKA_ID bytes (20 for keys hsm2acm made). */
H2A_API const uint8_t *h2a_p11_key_id(const H2A_P11_KEY *k, size_t *len);
/* Public key as a plain software EVP_PKEY (owned by the handle). */
H2A_API EVP_PKEY *h2a_p11_key_public(const H2A_P11_KEY *k);
/* Its SubjectPublicKeyInfo (owned by the handle; no decoded key inside, see h2a_spki_*). */
H2A_API const X509_PUBKEY *h2a_p11_key_spki(const H2A_P11_KEY *k);
H2A_API H2A_SESSION *h2a_p11_key_session(const H2A_P11_KEY *k);

typedef enum {
    H2A_SIG_RSA_PKCS1, /* CKM_RSA_PKCS over a DigestInfo */
    H2A_SIG_RSA_PSS,   /* CKM_RSA_PKCS_PSS, MGF1 with the same hash, salt = hash len */
    H2A_SIG_ECDSA,     /* CKM_ECDSA over the hash; result DER ECDSA-Sig-Value */
    /* CKM_ECDSA over the hash; result the token's raw r||s unchanged, each
     * half the field size: what a JWS ES256/ES384 signature is (RFC 7518 3.4). */
    H2A_SIG_ECDSA_RAW,
} h2a_sigscheme;

/*
 * Sign a digest (already computed by the caller with `md_nid`) in the token.
 * `sig`/`*sig_len`: buffer in, length out; a too-small buffer gives
 * H2A_ERR_INTERNAL. ECDSA output is DER (r‖s converted), ready for X.509.
 */
H2A_API h2a_err h2a_p11_sign_digest(H2A_P11_KEY *k, h2a_sigscheme scheme,
                                    int md_nid, const uint8_t *digest,
                                    size_t digest_len, uint8_t *sig,
                                    size_t *sig_len) H2A_MUST_USE;

/*
 * Sign a whole message with a mechanism that hashes in the token
 * (H2A_MECH_SHA256_RSA_PKCS, RSA keys only): for protocols that name the
 * mechanism (ACME's RS256). The caller probes for it first; a token that
 * lacks it gives H2A_ERR_TOKEN naming it. `sig`/`*sig_len` as above.
 */
H2A_API h2a_err h2a_p11_sign_message(H2A_P11_KEY *k, h2a_mech m, const uint8_t *msg,
                                     size_t msg_len, uint8_t *sig,
                                     size_t *sig_len) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* The built-in OpenSSL 3 provider                                     */
/* ------------------------------------------------------------------ */

/*
 * Register ("hsm2acm-p11", OSSL_PROVIDER_add_builtin) and load it, with the
 * default provider, into `libctx` (NULL: the default library context).
 * Idempotent.
 */
H2A_API h2a_err h2a_p11_provider_load(OSSL_LIB_CTX *libctx) H2A_MUST_USE;

/*
 * An EVP_PKEY whose private operations happen in the token through the
 * provider (RSA PKCS#1 v1.5, RSA-PSS, ECDSA). Its public part exports like
 * any key; the private part never exports. The key handle must outlive it.
 * Caller frees with EVP_PKEY_free().
 */
H2A_API h2a_err h2a_p11_key_evp(H2A_P11_KEY *k, OSSL_LIB_CTX *libctx,
                                EVP_PKEY **out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Wrapping keys and wrap / unwrap                                     */
/* ------------------------------------------------------------------ */

/*
 * Make an AES-256 wrapping key: token object, PRIVATE, SENSITIVE, never
 * EXTRACTABLE, CKA_WRAP and CKA_UNWRAP only (no ENCRYPT/DECRYPT/SIGN).
 * Refuses if a key with that label already exists. Its identity
 * (h2a_p11_wrapkey_kcv) is computed before returning; on any failure after
 * C_GenerateKey the key is destroyed: nothing is left behind.
 */
H2A_API h2a_err h2a_p11_wrapkey_generate(H2A_SESSION *s, const char *label,
                                         H2A_P11_SECRET **out) H2A_MUST_USE;
/* Exactly one secret key with this label, else H2A_ERR_TOKEN. */
H2A_API h2a_err h2a_p11_wrapkey_find(H2A_SESSION *s, const char *label,
                                     H2A_P11_SECRET **out) H2A_MUST_USE;
/*
 * The wrapping key's identity, 3 bytes as 6 hex chars + NUL: its key check
 * value (CKA_CHECK_VALUE) where the token gives one; otherwise the first 3
 * bytes of SHA-256 over a C_WrapKey of a fixed throwaway AES-128 session
 * key (needs no encrypt permission, only CKA_WRAP, which the key has). The
 * kind used is h2a_p11_wrapkey_idkind() afterwards; both are cached.
 */
H2A_API h2a_err h2a_p11_wrapkey_kcv(H2A_P11_SECRET *w, char out[7]) H2A_MUST_USE;

typedef enum {
    H2A_WRAPKEY_ID_KCV = 0,         /* CKA_CHECK_VALUE */
    H2A_WRAPKEY_ID_WRAP_KW = 1,     /* SHA-256 of CKM_AES_KEY_WRAP of the fixed key */
    H2A_WRAPKEY_ID_WRAP_KWP3 = 2,   /* ... of CKM_AES_KEY_WRAP_KWP */
    H2A_WRAPKEY_ID_WRAP_KWP = 3,    /* ... of CKM_AES_KEY_WRAP_PAD */
} h2a_wrapkey_idkind;

/* Which identifier h2a_p11_wrapkey_kcv gave (KCV before it was called). */
H2A_API h2a_wrapkey_idkind h2a_p11_wrapkey_idkind(const H2A_P11_SECRET *w);
/*
 * Envelope/JSON names: NULL for H2A_WRAPKEY_ID_KCV (an absent field means
 * the KCV, as in envelopes from before the other kinds), else e.g.
 * "sha256-wrap:CKM_AES_KEY_WRAP"; parse accepts NULL too.
 */
H2A_API const char *h2a_wrapkey_idkind_name(h2a_wrapkey_idkind k);
H2A_API h2a_err h2a_wrapkey_idkind_parse(const char *name,
                                         h2a_wrapkey_idkind *out) H2A_MUST_USE;
/* Whether `name` (an envelope's kcv_kind, NULL = KCV) is how `w` was identified. */
H2A_API bool h2a_p11_wrapkey_idkind_is(const H2A_P11_SECRET *w, const char *name);
H2A_API const char *h2a_p11_wrapkey_label(const H2A_P11_SECRET *w);
H2A_API void h2a_p11_wrapkey_free(H2A_P11_SECRET *w);
/* Destroy the token object, then free the handle (tests, rollback). */
H2A_API h2a_err h2a_p11_wrapkey_destroy(H2A_P11_SECRET *w) H2A_MUST_USE;

/*
 * Wrap mechanisms, in order of preference: KWP3, then KWP, then KW (the
 * first the token can both wrap and unwrap with). The envelope records
 * which one made a blob by its name.
 */
typedef enum {
    /*
     * CKM_AES_KEY_WRAP_PAD (0x210A). Not one format: SoftHSM2 2.6 gives
     * RFC 5649 of the value zero-padded to a multiple of 8, NSS gives
     * RFC 3394 of the value with PKCS#7 padding.
     */
    H2A_WRAP_AES_KWP = 1,
    H2A_WRAP_AES_KW = 2,  /* CKM_AES_KEY_WRAP (0x2109), RFC 3394 (zero-padded by SoftHSM2) */
    H2A_WRAP_AES_KWP3 = 3, /* CKM_AES_KEY_WRAP_KWP (0x210B), RFC 5649 */
} h2a_wrapmech;

/* "CKM_AES_KEY_WRAP_KWP" / "..._PAD" / "CKM_AES_KEY_WRAP"; and back (H2A_ERR_INPUT). */
H2A_API const char *h2a_wrapmech_name(h2a_wrapmech m);
H2A_API h2a_err h2a_wrapmech_parse(const char *name, h2a_wrapmech *out) H2A_MUST_USE;

/*
 * C_WrapKey the private half of `k` under `w` with the first of KWP3, KWP,
 * KW that the token can wrap and unwrap with; `*mech_used` says which. The
 * blob (not secret) is appended to `out`.
 */
H2A_API h2a_err h2a_p11_wrap(H2A_P11_SECRET *w, H2A_P11_KEY *k,
                             h2a_wrapmech *mech_used, h2a_buf *out) H2A_MUST_USE;

/*
 * C_UnwrapKey `blob` into a *session* object (never a token object:
 * CKA_TOKEN FALSE, SENSITIVE FALSE so its components can be read once),
 * read the components, destroy the session object, and return a software
 * private key whose secret parts live in OpenSSL's secure heap (EC: the
 * public point is computed, since the token gives none). The caller frees
 * it with EVP_PKEY_free() as soon as it is done.
 */
H2A_API h2a_err h2a_p11_unwrap_private(H2A_SESSION *s, H2A_P11_SECRET *w,
                                       h2a_wrapmech mech, h2a_keytype type,
                                       const uint8_t *blob, size_t blob_len,
                                       EVP_PKEY **out) H2A_MUST_USE;
/*
 * The same, given the public key the blob belongs to: tokens that need it
 * in the unwrap template get it (NSS: CKA_NSS_DB for EC keys, which
 * h2a_p11_unwrap_private cannot give).
 */
H2A_API h2a_err h2a_p11_unwrap_private_pub(H2A_SESSION *s, H2A_P11_SECRET *w,
                                           h2a_wrapmech mech, h2a_keytype type,
                                           const uint8_t *blob, size_t blob_len,
                                           const EVP_PKEY *pub, EVP_PKEY **out) H2A_MUST_USE;

/*
 * The wrap mechanism h2a_p11_wrap would use on this token, or H2A_ERR_TOKEN
 * naming what the token lacks ("cannot export keys under wrap: ...").
 */
H2A_API h2a_err h2a_p11_wrapmech_pick(H2A_TOKEN *tok, h2a_wrapmech *out) H2A_MUST_USE;

/*
 * Whether the token can make a delivery key at all (private key both
 * CKA_SENSITIVE and CKA_EXTRACTABLE): H2A_ERR_TOKEN "cannot export keys
 * under wrap: ..." on a token known to refuse it (quirks table).
 */
H2A_API h2a_err h2a_p11_delivery_supported(H2A_TOKEN *tok) H2A_MUST_USE;

/*
 * The wrapping key's own CKA_WRAP and CKA_UNWRAP are TRUE (H2A_ERR_TOKEN
 * naming the one that is not).
 */
H2A_API h2a_err h2a_p11_wrapkey_check(H2A_P11_SECRET *w) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Probe                                                               */
/* ------------------------------------------------------------------ */

/* What hsm2acm can do with one key type on this token, found by trying. */
typedef struct {
    h2a_keytype type;
    bool generate;          /* a key that never leaves the token */
    bool generate_delivery; /* a delivery key: sensitive and extractable */
    bool sign_pkcs1, sign_pss, sign_ecdsa; /* verified with the public key */
    bool wrap, unwrap;      /* a delivery key, under a throwaway AES key */
} h2a_probe_type;

typedef struct {
    h2a_probe_type types[H2A_KT__COUNT - 1];
    size_t ntypes;
    bool wrap_mechanism;    /* KWP3, KWP or KW with CKF_WRAP and CKF_UNWRAP */
    h2a_wrapmech mech;      /* the one delivery would use */
    bool wrapkey;           /* an AES-256 wrapping key can be made */
    bool identify;          /* and identified (h2a_p11_wrapkey_kcv) */
    int idkind;             /* h2a_wrapkey_idkind of that identity */
} h2a_probe;

/*
 * Try everything hsm2acm needs on throwaway objects: session objects where
 * the token makes them, else token objects destroyed at once; the token's
 * object count is the same afterwards (H2A_ERR_TOKEN if it is not).
 * A refusal by the token is a "false" in `out`, not an error.
 */
H2A_API h2a_err h2a_token_probe(H2A_SESSION *s, h2a_probe *out) H2A_MUST_USE;
