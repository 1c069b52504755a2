/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "journal/journal_int.h"

/*
 * RFC 9773's certID: base64url of the AKI's keyIdentifier, ".", base64url
 * of the serial's DER content octets (the magnitude, with a 0x00 first when
 * its top bit is set, as DER keeps a positive INTEGER positive).
 */
static h2a_err s_ari_id(X509 *x, char **out)
{
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    const unsigned char *mag = ASN1_STRING_get0_data(sn);
    int len = ASN1_STRING_length(sn);
    unsigned char content[64];
    size_t clen = 0;
    h2a_buf b;
    h2a_err rv;

    *out = NULL;
    if (aki == NULL || len <= 0 || len > 40) {
        return H2A_OK; /* no certID: ARI cannot name this certificate */
    }
    if ((mag[0] & 0x80) != 0) {
        content[clen++] = 0;
    }
    memcpy(content + clen, mag, (size_t)len);
    clen += (size_t)len;
    h2a_buf_init(&b, 96);
    rv = h2a_base64url_encode(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki), &b);
    if (rv == H2A_OK) {
        rv = h2a_buf_append_str(&b, ".");
    }
    if (rv == H2A_OK) {
        rv = h2a_base64url_encode(content, clen, &b);
    }
    if (rv == H2A_OK && (*out = strdup((const char *)b.data)) == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "journal");
    }
    h2a_buf_free(&b);
    return rv;
}

h2a_err h2a_journal_cert_cols(const char *pem, long long *not_before, char **ari_id)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    struct tm tm;
    h2a_err rv = H2A_OK;

    *not_before = 0;
    *ari_id = NULL;
    if (x != NULL && ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1) {
        *not_before = (long long)timegm(&tm);
        rv = s_ari_id(x, ari_id);
    }
    /* A PEM that does not parse leaves an OpenSSL error queued: not ours to report. */
    ERR_clear_error();
    X509_free(x);
    BIO_free(bio);
    return rv;
}

h2a_err h2a_journal_backfill_v4(H2A_JOURNAL *j)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    h2a_err rv = H2A_OK;
    int rc = SQLITE_DONE;

    if (sqlite3_prepare_v2(j->db, "SELECT id, cert_pem FROM requests WHERE cert_pem IS NOT NULL",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db, "UPDATE requests SET not_before=?2, ari_id=?3 WHERE id=?1",
                           -1, &upd, NULL) != SQLITE_OK) {
        rv = h2a_journal_dberr(j, "migrate schema to 4");
        goto done;
    }
    while (rv == H2A_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        long long nb = 0;
        char *ari = NULL;

        rv = h2a_journal_cert_cols((const char *)sqlite3_column_text(sel, 1), &nb, &ari);
        if (rv == H2A_OK && nb != 0) {
            sqlite3_reset(upd);
            sqlite3_bind_text(upd, 1, (const char *)sqlite3_column_text(sel, 0), -1,
                              SQLITE_TRANSIENT);
            sqlite3_bind_int64(upd, 2, nb);
            h2a_journal_bind_opt(upd, 3, ari);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                rv = h2a_journal_dberr(j, "migrate schema to 4");
            }
        }
        free(ari);
    }
    if (rv == H2A_OK && rc != SQLITE_DONE) {
        rv = h2a_journal_dberr(j, "migrate schema to 4");
    }
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rv;
}
