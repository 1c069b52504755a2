/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * RFC 7512 token URIs (parsed by p11-kit) and the PIN they point to.
 * A PIN may come from a file or an environment variable, never from the
 * URI itself: URIs end up in argv, shell history and config files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <p11-kit/uri.h>

#include "internal.h"

/* The query attributes hsm2acm understands (anything else is a typo). */
static const char *const s_query_keys[] = {
    "module-path", "pin-source", "pin-value", "x-init-reserved",
};

/* Copy a space-padded PKCS#11 field into a C string. */
static void s_unpad(const unsigned char *field, size_t n, char *out)
{
    while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0')) {
        n--;
    }
    memcpy(out, field, n);
    out[n] = '\0';
}

static bool s_padded_set(const unsigned char *field, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (field[i] != ' ' && field[i] != '\0') {
            return true;
        }
    }
    return false;
}

/*
 * p11-kit ignores query attributes it does not know; a misspelt
 * "pin_source" would then read as "no PIN given". Check the names here.
 */
static h2a_err s_check_query(const char *uri)
{
    const char *q = strchr(uri, '?');

    if (q == NULL) {
        return H2A_OK;
    }
    q++;
    while (*q != '\0') {
        size_t klen = strcspn(q, "=&");
        bool known = false;

        for (size_t i = 0; i < sizeof(s_query_keys) / sizeof(s_query_keys[0]);
             i++) {
            if (strlen(s_query_keys[i]) == klen &&
                strncmp(q, s_query_keys[i], klen) == 0) {
                known = true;
            }
        }
        if (klen == 11 && strncmp(q, "module-name", 11) == 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "token URI: module-name is refused: hsm2acm loads "
                               "exactly the file given by module-path (no p11-kit "
                               "module lookup); use module-path=/path/to/module.so");
        }
        if (!known && klen > 0) {
            return h2a_err_set(H2A_ERR_INPUT,
                               "token URI: unknown query attribute '%.*s' "
                               "(expected module-path, pin-source and "
                               "x-init-reserved)",
                               (int)(klen > 64 ? 64 : klen), q);
        }
        q += strcspn(q, "&");
        if (*q == '&') {
            q++;
        }
    }
    return H2A_OK;
}

/*
 * The value of query attribute x-init-reserved, percent-decoded (RFC 3986).
 * p11-kit 0.24 keeps no vendor query attributes, so it is read here.
 */
static h2a_err s_init_reserved(const char *uri, char **out)
{
    static const char key[] = "x-init-reserved=";
    const char *q = strchr(uri, '?');
    const char *v = NULL;
    size_t n, o = 0;
    char *d;

    *out = NULL;
    for (const char *p = q; p != NULL && *p != '\0'; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, key, sizeof(key) - 1) == 0) {
            H2A_ENSURE(v == NULL, H2A_ERR_INPUT, "token URI: x-init-reserved is given twice");
            v = p + sizeof(key);
        }
    }
    if (v == NULL) {
        return H2A_OK;
    }
    n = strcspn(v, "&");
    d = malloc(n + 1);
    H2A_ENSURE(d != NULL, H2A_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '%') {
            char two[3] = {i + 2 < n ? v[i + 1] : '\0', i + 2 < n ? v[i + 2] : '\0', '\0'};
            h2a_buf byte;
            bool ok;

            h2a_buf_init(&byte, 1);
            ok = two[1] != '\0' && h2a_hex_decode(two, &byte) == H2A_OK && byte.len == 1;
            if (ok) {
                d[o++] = (char)byte.data[0];
            }
            h2a_buf_free(&byte);
            if (!ok) {
                free(d);
                return h2a_err_set(H2A_ERR_INPUT, "token URI: x-init-reserved has a "
                                   "malformed percent-escape at offset %zu", i);
            }
            i += 2;
        } else {
            d[o++] = v[i];
        }
    }
    d[o] = '\0';
    if (o == 0 || memchr(d, '\0', o) != NULL) {
        free(d);
        return h2a_err_set(H2A_ERR_INPUT, "token URI: x-init-reserved is empty or "
                           "holds a NUL byte");
    }
    *out = d;
    return H2A_OK;
}

void h2a_p11_uri_redact(const char *uri, char *buf, size_t n)
{
    static const char key[] = "pin-value";
    size_t o = 0;

    if (n == 0) {
        return;
    }
    for (const char *p = uri; *p != '\0' && o + 1 < n;) {
        /* An attribute starts the path, or follows ':', ';', '?' or '&'. */
        bool start = p == uri || strchr(":;?&", p[-1]) != NULL;

        if (start && strncasecmp(p, key, sizeof(key) - 1) == 0 && p[sizeof(key) - 1] == '=') {
            int w = snprintf(buf + o, n - o, "pin-value=(hidden)");

            o += w > 0 ? (size_t)w : 0;
            p += sizeof(key);
            p += strcspn(p, ";?&");
            continue;
        }
        buf[o++] = *p++;
    }
    buf[o < n ? o : n - 1] = '\0';
}

static h2a_err s_parse_pin_source(const char *src, h2a_p11_uri *out)
{
    const char *ref = NULL;

    if (src == NULL || src[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token URI: pin-source is missing (add "
                           "pin-source=file:PATH or pin-source=env:NAME)");
    }
    if (strncmp(src, "file:", 5) == 0) {
        out->pin_kind = H2A_PIN_SRC_FILE;
        ref = src + 5;
        /* file:///run/pin (URL form) means the path /run/pin. */
        if (strncmp(ref, "//", 2) == 0) {
            ref += 2;
        }
    } else if (strncmp(src, "env:", 4) == 0) {
        out->pin_kind = H2A_PIN_SRC_ENV;
        ref = src + 4;
    } else if (src[0] == '/') {
        out->pin_kind = H2A_PIN_SRC_FILE;
        ref = src;
    } else {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token URI: pin-source '%.64s' is not file:PATH, "
                           "env:NAME or an absolute path", src);
    }
    if (ref[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT, "token URI: pin-source '%.64s' "
                           "names no %s", src,
                           out->pin_kind == H2A_PIN_SRC_ENV ? "variable"
                                                            : "file");
    }
    if (out->pin_kind == H2A_PIN_SRC_ENV) {
        for (const char *c = ref; *c != '\0'; c++) {
            if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) {
                return h2a_err_set(H2A_ERR_INPUT,
                                   "token URI: pin-source env:%.64s is not "
                                   "a valid environment variable name", ref);
            }
        }
    }
    out->src_ref = strdup(ref);
    H2A_ENSURE(out->src_ref != NULL, H2A_ERR_NOMEM, "out of memory");
    return H2A_OK;
}

static void s_copy_token_attrs(P11KitUri *pu, h2a_p11_uri *out)
{
    CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(pu);
    CK_SLOT_ID slot = p11_kit_uri_get_slot_id(pu);

    out->has_label = s_padded_set(ti->label, sizeof(ti->label));
    out->has_serial = s_padded_set(ti->serialNumber, sizeof(ti->serialNumber));
    out->has_manufacturer =
        s_padded_set(ti->manufacturerID, sizeof(ti->manufacturerID));
    out->has_model = s_padded_set(ti->model, sizeof(ti->model));
    s_unpad(ti->label, sizeof(ti->label), out->label);
    s_unpad(ti->serialNumber, sizeof(ti->serialNumber), out->serial);
    s_unpad(ti->manufacturerID, sizeof(ti->manufacturerID), out->manufacturer);
    s_unpad(ti->model, sizeof(ti->model), out->model);
    /* p11-kit says (CK_SLOT_ID)-1 when the URI has no slot-id. */
    out->has_slot_id = slot != (CK_SLOT_ID)-1;
    out->slot_id = out->has_slot_id ? slot : 0;
}

h2a_err h2a_p11_uri_parse(const char *uri, h2a_p11_uri *out)
{
    P11KitUri *pu = NULL;
    char shown[128];
    const char *mp;
    int r;

    memset(out, 0, sizeof(*out));
    H2A_ENSURE(uri != NULL && uri[0] != '\0', H2A_ERR_INPUT,
               "token URI is empty (expected pkcs11:token=LABEL?module-path="
               "...&pin-source=file:PATH)");
    /* Messages quote the URI: never with a PIN in it, whatever else is wrong. */
    h2a_p11_uri_redact(uri, shown, sizeof(shown));
    H2A_ENSURE(strncmp(uri, "pkcs11:", 7) == 0, H2A_ERR_INPUT,
               "token URI '%.80s' does not start with 'pkcs11:'", shown);
    pu = p11_kit_uri_new();
    H2A_ENSURE(pu != NULL, H2A_ERR_NOMEM, "out of memory");
    out->p11uri = pu;
    r = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, pu);
    if (r != P11_KIT_URI_OK) {
        return h2a_err_set(H2A_ERR_INPUT, "token URI '%.80s' is malformed: %s",
                           shown, p11_kit_uri_message(r));
    }
    if (p11_kit_uri_any_unrecognized(pu)) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token URI '%.80s' has an attribute hsm2acm does "
                           "not know (use token, serial, manufacturer, model, "
                           "slot-id)", shown);
    }
    H2A_GUARD(s_check_query(uri));
    H2A_GUARD(s_init_reserved(uri, &out->init_reserved));
    if (p11_kit_uri_get_pin_value(pu) != NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token URI: pin-value is refused: a PIN must not "
                           "travel in argv or configuration text; use "
                           "pin-source=file:PATH or pin-source=env:NAME");
    }
    mp = p11_kit_uri_get_module_path(pu);
    if (mp == NULL || mp[0] == '\0') {
        return h2a_err_set(H2A_ERR_INPUT,
                           "token URI: module-path is missing (e.g. "
                           "?module-path=/usr/lib/softhsm/libsofthsm2.so)");
    }
    out->module_path = strdup(mp);
    H2A_ENSURE(out->module_path != NULL, H2A_ERR_NOMEM, "out of memory");
    H2A_GUARD(s_parse_pin_source(p11_kit_uri_get_pin_source(pu), out));
    s_copy_token_attrs(pu, out);
    return H2A_OK;
}

void h2a_p11_uri_cleanup(h2a_p11_uri *u)
{
    if (u == NULL) {
        return;
    }
    free(u->module_path);
    free(u->init_reserved);
    free(u->src_ref);
    if (u->p11uri != NULL) {
        p11_kit_uri_free(u->p11uri);
    }
    memset(u, 0, sizeof(*u));
}

void h2a_p11_uri_describe(const h2a_p11_uri *u, char *buf, size_t n)
{
    size_t off = 0;

    buf[0] = '\0';
#define H2A_DESC(cond, ...)                                                  \
    do {                                                                     \
        if ((cond) && off < n) {                                             \
            int w_ = snprintf(buf + off, n - off, "%s", off ? ";" : "");     \
            off += w_ > 0 ? (size_t)w_ : 0;                                  \
            if (off < n) {                                                   \
                w_ = snprintf(buf + off, n - off, __VA_ARGS__);              \
                off += w_ > 0 ? (size_t)w_ : 0;                              \
            }                                                                \
        }                                                                    \
    } while (0)
    H2A_DESC(u->has_label, "token=%s", u->label);
    H2A_DESC(u->has_serial, "serial=%s", u->serial);
    H2A_DESC(u->has_manufacturer, "manufacturer=%s", u->manufacturer);
    H2A_DESC(u->has_model, "model=%s", u->model);
    H2A_DESC(u->has_slot_id, "slot-id=%lu", u->slot_id);
#undef H2A_DESC
    if (buf[0] == '\0') {
        snprintf(buf, n, "(any token)");
    }
}

/* Read at most H2A_MAX_PIN + 1 bytes: one more than allowed shows "too long". */
static h2a_err s_pin_from_file(const char *path, char *pin, size_t *len)
{
    struct stat st;
    size_t got = 0;
    /* Symlinks are fine: Kubernetes and systemd credentials use them. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return h2a_err_set(H2A_ERR_INPUT, "pin-source file:%s: cannot open: %s",
                           path, strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;

        close(fd);
        return h2a_err_set(H2A_ERR_INPUT, "pin-source file:%s: stat: %s", path, strerror(e));
    }
    /* A directory opens fine and only fails at read: say what it is instead. */
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return h2a_err_set(H2A_ERR_INPUT, "pin-source file:%s: is a directory, not a PIN "
                           "file", path);
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        H2A_LOG_WARN("pin-source file:%s is readable by group or others "
                     "(mode %03o); chmod 600 it", path,
                     (unsigned)(st.st_mode & 0777));
    }
    while (got < H2A_MAX_PIN + 1) {
        ssize_t n = read(fd, pin + got, H2A_MAX_PIN + 1 - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(fd);
            return h2a_err_set(H2A_ERR_INPUT, "pin-source file:%s: read: %s",
                               path, strerror(e));
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return H2A_OK;
}

static h2a_err s_pin_from_env(const char *name, char *pin, size_t *len)
{
    const char *v = getenv(name);
    size_t n;

    if (v == NULL) {
        return h2a_err_set(H2A_ERR_INPUT,
                           "pin-source env:%s: the variable is not set", name);
    }
    n = strnlen(v, H2A_MAX_PIN + 1);
    memcpy(pin, v, n);
    *len = n;
    return H2A_OK;
}

h2a_err h2a_p11_pin_read(const h2a_p11_uri *u, char pin[H2A_MAX_PIN + 1],
                         size_t *len)
{
    h2a_err err = H2A_OK;
    const char *kind = u->pin_kind == H2A_PIN_SRC_ENV ? "env" : "file";
    size_t n = 0;

    *len = 0;
    OPENSSL_cleanse(pin, H2A_MAX_PIN + 1);
    switch (u->pin_kind) {
    case H2A_PIN_SRC_FILE:
        err = s_pin_from_file(u->src_ref, pin, &n);
        break;
    case H2A_PIN_SRC_ENV:
        err = s_pin_from_env(u->src_ref, pin, &n);
        break;
    case H2A_PIN_SRC_NONE:
    default:
        err = h2a_err_set(H2A_ERR_INPUT, "token URI: pin-source is missing");
        break;
    }
    if (err != H2A_OK) {
        goto done;
    }
    if (n > H2A_MAX_PIN) {
        err = h2a_err_set(H2A_ERR_INPUT, "pin-source %s:%s: the PIN is longer "
                          "than %d bytes", kind, u->src_ref, H2A_MAX_PIN);
        goto done;
    }
    /* One trailing newline (echo, editors) is not part of the PIN. */
    if (n > 0 && pin[n - 1] == '\n') {
        n--;
        if (n > 0 && pin[n - 1] == '\r') {
            n--;
        }
    }
    if (n == 0) {
        err = h2a_err_set(H2A_ERR_INPUT, "pin-source %s:%s: the PIN is empty",
                          kind, u->src_ref);
        goto done;
    }
    if (memchr(pin, '\0', n) != NULL) {
        err = h2a_err_set(H2A_ERR_INPUT, "pin-source %s:%s: the PIN contains "
                          "a NUL byte", kind, u->src_ref);
        goto done;
    }
    pin[n] = '\0';
    *len = n;
done:
    if (err != H2A_OK) {
        OPENSSL_cleanse(pin, H2A_MAX_PIN + 1);
    }
    return err;
}
