/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Product-level key work on top of pkcs11/: generating token key pairs,
 * CSRs signed in the token (through the built-in OpenSSL provider), and
 * wrap/unwrap of a token key for delivery.
 *
 * Division of labour: callers check the *policy* (policies/) before any of
 * these functions touches the token. Functions here validate their own
 * inputs (syntax, sizes, SAN rules that hold for every policy) and never
 * create anything when an input is bad.
 *
 * Every function returns H2A_OK or an h2a_err whose message (h2a_err_msg())
 * names the field or object at fault.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "h2a_common.h"
#include "h2a_pkcs11.h"

/* ------------------------------------------------------------------ */
/* Key generation                                                      */
/* ------------------------------------------------------------------ */

/* CKA_LABEL limit: hsm2acm labels are 1..64 printable ASCII bytes. */
#define H2A_KEY_LABEL_MAX 64

/*
 * Label syntax check (pure): 1..H2A_KEY_LABEL_MAX bytes of printable ASCII
 * (0x20..0x7e), no leading/trailing space. H2A_ERR_INPUT naming `field`
 * (e.g. "--label") otherwise.
 */
H2A_API h2a_err h2a_keygen_label_check(const char *field,
                                       const char *label) H2A_MUST_USE;

/*
 * Generate a token key pair of `type` labelled `label` (see
 * h2a_p11_keypair_generate for the attributes). Validates the type and
 * label, refuses (H2A_ERR_INPUT, nothing created) when a private key with
 * that label already exists, probes the keygen and signing mechanisms
 * (H2A_ERR_TOKEN naming the missing one), then generates. `flags`:
 * H2A_KEYGEN_WRAP_WITH_TRUSTED gives the private key CKA_WRAP_WITH_TRUSTED;
 * H2A_KEYGEN_LABEL_RESERVED says no other party makes a key with the label
 * meanwhile (see h2a_pkcs11.h), so the "already exists" check may use the
 * label index;
 * H2A_KEYGEN_MANY_KEYS with it reads the index at the first key.
 * On any failure the token's object count is unchanged.
 * `*out` is freed with h2a_p11_key_free().
 */
H2A_API h2a_err h2a_keygen_generate(H2A_SESSION *s, h2a_keytype type,
                                    const char *label, unsigned flags,
                                    H2A_P11_KEY **out) H2A_MUST_USE;

/*
 * Preflight of a delivery, before any key exists (enroll, renew): the token
 * can make a delivery key at all, and wrap and unwrap (a mechanism with
 * CKF_WRAP and CKF_UNWRAP). With `type` (not H2A_KT_NONE) also: it can
 * generate that type and sign its CSR. With `w`: the wrapping key has
 * CKA_WRAP and CKA_UNWRAP. H2A_ERR_TOKEN naming what is missing; nothing is
 * created.
 */
H2A_API h2a_err h2a_keygen_preflight(H2A_SESSION *s, h2a_keytype type,
                                     H2A_P11_SECRET *w) H2A_MUST_USE;

/* CKA_ID as lower-case hex: 40 chars for hsm2acm keys; ids > 64 bytes fail. */
#define H2A_KEY_ID_HEX_MAX (2 * 64 + 1)
H2A_API h2a_err h2a_keygen_key_id_hex(const H2A_P11_KEY *k,
                                      char out[H2A_KEY_ID_HEX_MAX]) H2A_MUST_USE;

/* Find a key pair by its CKA_ID in hex (journal, resume). */
H2A_API h2a_err h2a_keygen_find_by_id_hex(H2A_SESSION *s, const char *id_hex,
                                          H2A_P11_KEY **out) H2A_MUST_USE;

/* Public key as "-----BEGIN PUBLIC KEY-----" PEM (SPKI), appended + NUL. */
H2A_API h2a_err h2a_keygen_public_pem(const H2A_P11_KEY *k,
                                      h2a_buf *out) H2A_MUST_USE;

/*
 * One JSON object describing the key, appended to `out` (NUL terminated):
 * {"id": hex, "label": ..., "key_type": "ec:P-256",
 *  "key_algorithm": "EC_prime256v1", "public_key_pem": ...}
 */
H2A_API h2a_err h2a_keygen_key_json(const H2A_P11_KEY *k,
                                    h2a_buf *out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* CSRs                                                                */
/* ------------------------------------------------------------------ */

/*
 * Requested KeyUsage / ExtendedKeyUsage are H2A_KU_* / H2A_EKU_* bits from
 * h2a_common.h (ACM's names; only the H2A_*_REQUESTABLE ones).
 */

/*
 * Comma-separated ACM names ("DIGITAL_SIGNATURE,KEY_ENCIPHERMENT",
 * "TLS_WEB_SERVER_AUTHENTICATION"; case-insensitive) OR-ed into `*bits`.
 * H2A_ERR_INPUT naming `field` and the unknown name.
 */
H2A_API h2a_err h2a_csr_ku_parse(const char *field, const char *list,
                                 unsigned *bits) H2A_MUST_USE;
H2A_API h2a_err h2a_csr_eku_parse(const char *field, const char *list,
                                  unsigned *bits) H2A_MUST_USE;
/* ACM name of a single bit, NULL if not exactly one known bit. */
H2A_API const char *h2a_csr_ku_name(unsigned bit);
H2A_API const char *h2a_csr_eku_name(unsigned bit);

/* "sha256" | "sha384" | "sha512" (also "SHA-256", "SHA256") → NID. */
H2A_API h2a_err h2a_csr_digest_parse(const char *field, const char *name,
                                     int *md_nid) H2A_MUST_USE;
/* "sha256" etc. for NID_sha256/384/512, NULL otherwise. */
H2A_API const char *h2a_csr_digest_name(int md_nid);

/* Limits; longer input is refused with H2A_ERR_INPUT naming the field. */
#define H2A_SUBJECT_MAX 1024  /* subject text, bytes */
#define H2A_RDN_VALUE_MAX 64  /* X.520 upper bound for CN, O, OU, ... */
#define H2A_CSR_MAX_SANS 100  /* DNS + IP entries together */
#define H2A_DNS_NAME_MAX 253
#define H2A_DNS_LABEL_MAX 63

/*
 * A CSR request. Pointers are borrowed: the caller keeps the strings alive
 * for the duration of the calls below.
 *
 * subject: two accepted spellings that give the same DER:
 *   - comma form, RFC 4514 string order (most specific RDN first):
 *     "CN=www.example.com,O=Example,C=DE"; the RDNs are encoded in reverse,
 *     so the DER reads C, O, CN as RFC 4514 prescribes;
 *   - slash form, as `openssl req -subj` takes it (most significant first),
 *     selected by a leading '/': "/C=DE/O=Example/CN=www.example.com".
 *   Attribute names: CN, C, ST, L, O, OU, serialNumber, emailAddress, DC,
 *   UID (case-insensitive) or a dotted OID. '\' escapes the next character
 *   (',', '/', '+', '=', '\'). At least one attribute; the text is at most
 *   H2A_SUBJECT_MAX bytes; every value 1..H2A_RDN_VALUE_MAX bytes of UTF-8
 *   without control characters (C: exactly 2 letters). Multi-valued RDNs
 *   ('+') are refused.
 * dns: DNS names (LDH labels, each 1..63 bytes, total <= 253, no leading
 *   or trailing hyphen, a trailing dot is refused, '*' only as the
 *   whole leftmost label, at least two labels after a wildcard).
 * ip: IPv4 dotted quad or IPv6 text (inet_pton).
 * key_usage / ext_key_usage: H2A_KU_* / H2A_EKU_* bits; 0 = extension
 *   omitted (the CA decides).
 * md_nid: NID_sha256/384/512, or 0 for the key type's default
 *   (RSA and P-256: SHA-256, P-384: SHA-384, P-521: SHA-512).
 * pss: RSASSA-PSS (MGF1 with the same digest, salt = digest length); RSA
 *   keys only.
 */
struct h2a_csr_req {
    const char *subject;
    const char *const *dns;
    size_t n_dns;
    const char *const *ip;
    size_t n_ip;
    unsigned key_usage;
    unsigned ext_key_usage;
    int md_nid;
    bool pss;
};

/*
 * Pure syntax check of everything in `req` that does not depend on the key
 * (no token): H2A_ERR_INPUT with messages like "subject: ...",
 * "dns[2]: label 'a-' ends with a hyphen", "ip[0]: '1.2.3' is not an IPv4
 * or IPv6 address", "digest: ...".
 */
H2A_API h2a_err h2a_csr_validate(const struct h2a_csr_req *req) H2A_MUST_USE;

/* The parts of `req` that depend on the key: --pss needs an RSA key. */
H2A_API h2a_err h2a_csr_check_key(const struct h2a_csr_req *req,
                                  h2a_keytype type) H2A_MUST_USE;

/* Single DNS-name check used by h2a_csr_validate (`field` names it). */
H2A_API h2a_err h2a_dns_name_check(const char *field,
                                   const char *name) H2A_MUST_USE;

/* Parse subject text (syntax above) into a new X509_NAME (X509_NAME_free). */
H2A_API h2a_err h2a_subject_parse(const char *field, const char *text,
                                  X509_NAME **out) H2A_MUST_USE;

/*
 * Build a PKCS#10 request for `k` with OpenSSL's X509_REQ_sign_ctx, the
 * signature made in the token through the built-in provider; then verify
 * the signature with the token's public key before returning. The PEM
 * ("-----BEGIN CERTIFICATE REQUEST-----") is appended to `out_pem` and NUL
 * terminated. Calls h2a_csr_validate and h2a_csr_check_key itself.
 */
H2A_API h2a_err h2a_csr_make(H2A_P11_KEY *k, const struct h2a_csr_req *req,
                             h2a_buf *out_pem) H2A_MUST_USE;

/* Same, returning the X509_REQ itself (X509_REQ_free). */
H2A_API h2a_err h2a_csr_make_req(H2A_P11_KEY *k, const struct h2a_csr_req *req,
                                 X509_REQ **out) H2A_MUST_USE;

/* ------------------------------------------------------------------ */
/* Wrap / unwrap for delivery                                          */
/* ------------------------------------------------------------------ */

/*
 * Wrap the private half of `k` under `w` (KWP, or KW only where the token
 * lacks KWP; `*mech_used` says which). The blob is not secret; it is
 * appended to `blob`.
 */
H2A_API h2a_err h2a_keygen_wrap(H2A_P11_SECRET *w, H2A_P11_KEY *k,
                                h2a_wrapmech *mech_used,
                                h2a_buf *blob) H2A_MUST_USE;

/*
 * Unwrap `blob` (made by h2a_keygen_wrap with `mech`) into a session object
 * and return the private key as unencrypted PKCS#8 PEM
 * (PEM label "PRIVATE KEY"), appended to `out_pem`, which MUST have
 * been made with h2a_buf_init_secure() (else H2A_ERR_INTERNAL): the PEM is
 * written through a BIO_s_secmem() and copied into the secure buffer, and
 * never exists in ordinary heap memory. `expect_pub` (required) is the
 * public key the private key must match (EVP_PKEY_eq): a mismatch is
 * H2A_ERR_VERIFY and nothing is returned. The key type must match `type`.
 */
H2A_API h2a_err h2a_keygen_unwrap_pem(H2A_SESSION *s, H2A_P11_SECRET *w,
                                      h2a_wrapmech mech, h2a_keytype type,
                                      const uint8_t *blob, size_t blob_len,
                                      const EVP_PKEY *expect_pub,
                                      h2a_buf *out_pem) H2A_MUST_USE;

/*
 * The plaintext format check for a KWP/KW unwrap done in software: `der`
 * must be one DER PKCS#8 PrivateKeyInfo (SEQUENCE, definite length) followed
 * by 0..7 zero bytes (SoftHSM2 zero-pads to a multiple of 8 before wrapping;
 * a real HSM's KWP adds none). `*der_len` gets the DER length. Anything
 * else (other trailing bytes, 8+ zeros, truncated DER, not PKCS#8) is
 * H2A_ERR_VERIFY.
 */
H2A_API h2a_err h2a_pkcs8_check_padded(const uint8_t *der, size_t len,
                                       size_t *der_len) H2A_MUST_USE;

/*
 * The same check for the padding a token may add under `mech`:
 * CKM_AES_KEY_WRAP_KWP: RFC 5649 holds the exact length; 0..7 zero bytes
 *   are still accepted (a token that pads like SoftHSM2).
 * CKM_AES_KEY_WRAP_PAD (0x210A): either SoftHSM2's 0..7 zero bytes, or
 *   NSS's PKCS#7 padding (1..8 bytes, each the pad length).
 * CKM_AES_KEY_WRAP: 0..7 zero bytes, or PKCS#7 padding.
 * H2A_ERR_VERIFY otherwise.
 */
H2A_API h2a_err h2a_pkcs8_check_padding(h2a_wrapmech mech, const uint8_t *plain, size_t len,
                                        size_t *der_len) H2A_MUST_USE;

/*
 * Unwrap a blob in software with a known AES key (16, 24 or 32 bytes),
 * accepting each token's format for `mech`: KWP as RFC 5649; KW as RFC 3394;
 * 0x210A as RFC 5649 (SoftHSM2) or else RFC 3394 (NSS). The PKCS#8 DER,
 * padding removed, is appended to `out`, which must be secure
 * (h2a_buf_init_secure). For tests and recovery tools, never for keys a
 * token holds. H2A_ERR_VERIFY when the blob does not unwrap or the
 * plaintext is not PKCS#8 with an accepted padding.
 */
H2A_API h2a_err h2a_wrap_soft_unwrap(h2a_wrapmech mech, const uint8_t *kek, size_t kek_len,
                                     const uint8_t *blob, size_t blob_len,
                                     h2a_buf *out) H2A_MUST_USE;
