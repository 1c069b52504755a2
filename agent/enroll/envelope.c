/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config/h2a_jv.h"
#include "enroll/h2a_envelope.h"

static const char *const s_keys[] = {
    "format_version", "wrap_mechanism", "wrap_key_label", "kcv", "kcv_kind", "wrapped_key",
    "key_algorithm", "certificate", "chain", "target", NULL};
static const char *const s_target_keys[] = {
    "request_id", "index", "region", "account", "certificate_arn", NULL};

static void s_drop(void *p)
{
    free(p);
}

void h2a_envelope_cleanup(h2a_envelope *e)
{
    if (e == NULL) {
        return;
    }
    s_drop(e->wrap_key_label);
    s_drop(e->kcv);
    s_drop(e->kcv_kind);
    h2a_buf_free(&e->wrapped);
    s_drop(e->certificate);
    s_drop(e->chain);
    s_drop(e->request_id);
    s_drop(e->region);
    s_drop(e->account);
    s_drop(e->certificate_arn);
    memset(e, 0, sizeof(*e));
}

static json_object *s_str(const char *s)
{
    return s == NULL ? NULL : json_object_new_string(s);
}

h2a_err h2a_envelope_build(const h2a_envelope *e, h2a_buf *out)
{
    json_object *o = json_object_new_object();
    json_object *t = json_object_new_object();
    h2a_buf b64;
    const char *txt;
    h2a_err rv;

    h2a_buf_init(&b64, 0);
    if (o == NULL || t == NULL) {
        json_object_put(o);
        json_object_put(t);
        return h2a_err_set(H2A_ERR_NOMEM, "envelope");
    }
    rv = h2a_base64_encode(e->wrapped.data, e->wrapped.len, &b64);
    if (rv != H2A_OK) {
        goto done;
    }
    json_object_object_add(o, "format_version", json_object_new_int64(e->format_version));
    json_object_object_add(o, "wrap_mechanism", s_str(h2a_wrapmech_name(e->mech)));
    json_object_object_add(o, "wrap_key_label", s_str(e->wrap_key_label));
    json_object_object_add(o, "kcv", s_str(e->kcv));
    if (e->kcv_kind != NULL) {
        json_object_object_add(o, "kcv_kind", s_str(e->kcv_kind));
    }
    json_object_object_add(o, "wrapped_key", s_str((const char *)b64.data));
    json_object_object_add(o, "key_algorithm", s_str(h2a_keytype_acm_name(e->key_type)));
    json_object_object_add(o, "certificate", s_str(e->certificate));
    json_object_object_add(o, "chain", s_str(e->chain != NULL ? e->chain : ""));
    json_object_object_add(t, "request_id", s_str(e->request_id));
    json_object_object_add(t, "index", json_object_new_int64((int64_t)e->target_index));
    json_object_object_add(t, "region", s_str(e->region));
    json_object_object_add(t, "account", s_str(e->account));
    json_object_object_add(t, "certificate_arn", s_str(e->certificate_arn));
    json_object_object_add(o, "target", t);
    t = NULL;
    txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    if (txt == NULL) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "envelope");
        goto done;
    }
    if (strlen(txt) > H2A_ENVELOPE_MAX) {
        rv = h2a_err_set(H2A_ERR_INPUT,
                         "staging secret value would be %zu bytes; Secrets Manager "
                         "allows %u (certificate chain too long?)",
                         strlen(txt), H2A_ENVELOPE_MAX);
        goto done;
    }
    rv = h2a_buf_append_str(out, txt);
    if (rv == H2A_OK) {
        rv = h2a_buf_terminate(out);
    }
done:
    h2a_buf_free(&b64);
    json_object_put(t);
    json_object_put(o);
    return rv;
}

/* Input errors in a staged value are verification failures. */
static h2a_err s_v(h2a_err rv)
{
    if (rv != H2A_OK && rv != H2A_ERR_NOMEM) {
        return h2a_err_prefix(H2A_ERR_VERIFY, "staged value: ");
    }
    return rv;
}

static h2a_err s_parse(json_object *o, h2a_envelope *e)
{
    json_object *t = NULL;
    char *mech = NULL, *alg = NULL, *b64 = NULL;
    long long idx = 0;
    h2a_err rv;

    H2A_GUARD(h2a_jv_require_object(o, ""));
    H2A_GUARD(h2a_jv_only_keys(o, "", s_keys));
    H2A_GUARD(h2a_jv_int(o, "", "format_version", true, 1, 1000, &e->format_version));
    if (e->format_version != H2A_ENVELOPE_VERSION) {
        return h2a_err_set(H2A_ERR_INPUT, "format_version: %lld is not %d",
                           e->format_version, H2A_ENVELOPE_VERSION);
    }
    H2A_GUARD(h2a_jv_str(o, "", "wrap_key_label", true, 1, 64, &e->wrap_key_label));
    H2A_GUARD(h2a_jv_str(o, "", "kcv", true, 6, 6, &e->kcv));
    H2A_GUARD(h2a_jv_str(o, "", "kcv_kind", false, 1, 64, &e->kcv_kind));
    {
        h2a_wrapkey_idkind kind;

        if (h2a_wrapkey_idkind_parse(e->kcv_kind, &kind) != H2A_OK) {
            return h2a_err_prefix(H2A_ERR_INPUT, "kcv_kind: ");
        }
    }
    H2A_GUARD(h2a_jv_text(o, "", "certificate", true, 1, H2A_ENVELOPE_MAX, &e->certificate));
    e->chain = strdup("");
    if (e->chain == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "envelope");
    }
    if (json_object_object_get_ex(o, "chain", &t) && t != NULL &&
        json_object_get_string_len(t) > 0) {
        H2A_GUARD(h2a_jv_text(o, "", "chain", false, 0, H2A_ENVELOPE_MAX, &e->chain));
    }
    if (!json_object_object_get_ex(o, "target", &t) || t == NULL) {
        return h2a_err_set(H2A_ERR_INPUT, "target: missing");
    }
    H2A_GUARD(h2a_jv_require_object(t, "target"));
    H2A_GUARD(h2a_jv_only_keys(t, "target", s_target_keys));
    H2A_GUARD(h2a_jv_str(t, "target", "request_id", true, 1, 64, &e->request_id));
    H2A_GUARD(h2a_jv_int(t, "target", "index", true, 0, 1000, &idx));
    e->target_index = (size_t)idx;
    H2A_GUARD(h2a_jv_str(t, "target", "region", true, 1, 32, &e->region));
    H2A_GUARD(h2a_jv_str(t, "target", "account", false, 1, 32, &e->account));
    H2A_GUARD(h2a_jv_str(t, "target", "certificate_arn", false, 1, 2048, &e->certificate_arn));
    rv = h2a_jv_str(o, "", "wrap_mechanism", true, 1, 64, &mech);
    if (rv == H2A_OK) {
        rv = h2a_wrapmech_parse(mech, &e->mech);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "wrap_mechanism: ");
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_jv_str(o, "", "key_algorithm", true, 1, 32, &alg);
    }
    if (rv == H2A_OK) {
        rv = h2a_keytype_from_acm(alg, &e->key_type);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "key_algorithm: ");
        }
    }
    if (rv == H2A_OK) {
        rv = h2a_jv_str(o, "", "wrapped_key", true, 16, H2A_ENVELOPE_MAX, &b64);
    }
    if (rv == H2A_OK) {
        h2a_buf_init(&e->wrapped, H2A_ENVELOPE_MAX);
        rv = h2a_base64_decode(b64, strlen(b64), &e->wrapped);
        if (rv != H2A_OK) {
            h2a_err_prefix(rv, "wrapped_key: ");
        }
    }
    free(mech);
    free(alg);
    free(b64);
    return rv;
}

h2a_err h2a_envelope_parse(const char *text, size_t len, h2a_envelope *out)
{
    json_object *o = NULL;
    h2a_err rv;

    rv = h2a_jv_parse("staged value", text, len, &o);
    if (rv == H2A_OK) {
        rv = s_parse(o, out);
    }
    json_object_put(o);
    return s_v(rv);
}
