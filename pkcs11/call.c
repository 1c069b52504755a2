/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The single path of every C_* call (H2A_P11_CALL ends here), plus the
 * attribute and search helpers built on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "internal.h"

CK_RV h2a_p11_call_done(const char *fn, CK_RV rv)
{
    char buf[40];
    const char *name = h2a_p11_ckr_name(rv, buf);

    (void)ERR_pop_to_mark();
    H2A_LOG_DBG("%s -> %s", fn, name);
    if (rv != CKR_OK) {
        (void)h2a_err_set(H2A_ERR_TOKEN, "%s: %s (0x%lx)", fn, name,
                          (unsigned long)rv);
    }
    return rv;
}

h2a_err h2a_p11_fail(const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return h2a_err_prefix(H2A_ERR_TOKEN, "%s: ", what);
}

bool h2a_p11_fault(const char *point)
{
    const char *v = h2a_test_hook_env("H2A_TEST_FAULT");

    return v != NULL && strcmp(v, point) == 0;
}

void h2a_p11_attr_free(uint8_t *p, size_t len, bool secure)
{
    if (p == NULL) {
        return;
    }
    if (secure) {
        OPENSSL_secure_clear_free(p, len);
    } else {
        OPENSSL_clear_free(p, len);
    }
}

h2a_err h2a_p11_attr_get(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                         CK_ATTRIBUTE_TYPE type, bool secure, const char *what,
                         uint8_t **out, size_t *out_len)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_SESSION_HANDLE sh = h2a_session_handle(s);
    CK_ATTRIBUTE a = {type, NULL, 0};
    uint8_t *buf = NULL;
    size_t cap = 0;
    h2a_err err = H2A_OK;
    CK_RV rv;

    *out = NULL;
    *out_len = 0;
    rv = H2A_P11_CALL(fl, C_GetAttributeValue, sh, obj, &a, 1);
    if (rv != CKR_OK) {
        err = h2a_p11_fail("reading %s", what);
        goto done;
    }
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        err = h2a_err_set(H2A_ERR_TOKEN, "reading %s: the token gives no "
                          "value", what);
        goto done;
    }
    /* One spare byte so that a zero-length value still gets a buffer. */
    cap = a.ulValueLen + 1;
    buf = secure ? OPENSSL_secure_zalloc(cap) : OPENSSL_zalloc(cap);
    if (buf == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "reading %s: out of memory", what);
        goto done;
    }
    a.pValue = buf;
    rv = H2A_P11_CALL(fl, C_GetAttributeValue, sh, obj, &a, 1);
    if (rv != CKR_OK) {
        err = h2a_p11_fail("reading %s", what);
        goto done;
    }
    *out = buf;
    *out_len = a.ulValueLen;
    buf = NULL;
done:
    h2a_p11_attr_free(buf, cap, secure);
    return err;
}

h2a_err h2a_p11_attr_bool(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                          CK_ATTRIBUTE_TYPE type, bool *out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};

    *out = false;
    if (H2A_P11_CALL(fl, C_GetAttributeValue, h2a_session_handle(s), obj, &a,
                     1) != CKR_OK) {
        return h2a_p11_fail("reading boolean attribute 0x%lx",
                            (unsigned long)type);
    }
    *out = v == CK_TRUE;
    return H2A_OK;
}

h2a_err h2a_p11_attr_ulong(H2A_SESSION *s, CK_OBJECT_HANDLE obj,
                           CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_ATTRIBUTE a = {type, out, sizeof(*out)};

    *out = 0;
    if (H2A_P11_CALL(fl, C_GetAttributeValue, h2a_session_handle(s), obj, &a,
                     1) != CKR_OK) {
        return h2a_p11_fail("reading attribute 0x%lx", (unsigned long)type);
    }
    return H2A_OK;
}

h2a_err h2a_p11_find(H2A_SESSION *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     CK_OBJECT_HANDLE *found, size_t max, size_t *count)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_SESSION_HANDLE sh = h2a_session_handle(s);
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG got = 0;
    h2a_err err = H2A_OK;
    CK_RV rv;

    *count = 0;
    if (H2A_P11_CALL(fl, C_FindObjectsInit, sh, tmpl, n) != CKR_OK) {
        return h2a_p11_fail("searching the token");
    }
    for (;;) {
        rv = H2A_P11_CALL(fl, C_FindObjects, sh, batch, 64, &got);
        if (rv != CKR_OK) {
            err = h2a_p11_fail("searching the token");
            break;
        }
        if (got == 0) {
            break;
        }
        for (CK_ULONG i = 0; i < got; i++) {
            if (*count < max) {
                found[*count] = batch[i];
            }
            (*count)++;
        }
    }
    /* Always end the search, or the session stays busy. */
    rv = H2A_P11_CALL(fl, C_FindObjectsFinal, sh);
    if (rv != CKR_OK && err == H2A_OK) {
        err = h2a_p11_fail("ending a token search");
    }
    return err;
}

static const struct {
    h2a_keytype type;
    int nid;
} s_curves[] = {
    {H2A_KT_EC_P256, NID_X9_62_prime256v1},
    {H2A_KT_EC_P384, NID_secp384r1},
    {H2A_KT_EC_P521, NID_secp521r1},
};

h2a_err h2a_p11_ec_params(h2a_keytype t, uint8_t **der, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_nid2obj(h2a_keytype_curve_nid(t));
    unsigned char *p = NULL;
    int n;

    *der = NULL;
    *len = 0;
    H2A_ENSURE(oid != NULL, H2A_ERR_INTERNAL, "key type %s is not an EC curve",
               h2a_keytype_cli_name(t) ? h2a_keytype_cli_name(t) : "(none)");
    n = i2d_ASN1_OBJECT(oid, &p);
    H2A_ENSURE(n > 0, H2A_ERR_INTERNAL, "cannot encode the curve OID of %s",
               h2a_keytype_cli_name(t));
    *der = p;
    *len = (size_t)n;
    return H2A_OK;
}

h2a_keytype h2a_p11_ec_params_type(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    h2a_keytype t = H2A_KT_NONE;
    int nid;

    if (oid == NULL) {
        return H2A_KT_NONE;
    }
    nid = OBJ_obj2nid(oid);
    ASN1_OBJECT_free(oid);
    for (size_t i = 0; i < sizeof(s_curves) / sizeof(s_curves[0]); i++) {
        if (s_curves[i].nid == nid) {
            t = s_curves[i].type;
        }
    }
    return t;
}
