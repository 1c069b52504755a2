/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Module loading, token selection, the one login, sessions and mechanism
 * probing.
 *
 * Modules are kept in a small process-wide table so that two H2A_TOKENs on
 * the same module share one dlopen and one C_Initialize (PKCS#11 allows one
 * per process); the last close finalises. A module is never unmapped
 * (RTLD_NODELETE): openCryptoki crashes when initialised again after being
 * reloaded in a process that has libcrypto loaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <p11-kit/uri.h>

#include "internal.h"

#define H2A_MAX_SLOTS 64

struct h2a_module {
    struct h2a_module *next;
    char *path;
    char *init_reserved; /* NULL: C_Initialize without pReserved */
    char manufacturer[33]; /* C_GetInfo manufacturerID */
    unsigned quirks;       /* by module, before a token is chosen */
    void *dl;
    CK_FUNCTION_LIST *fl;
    bool we_initialized; /* false if someone else in the process did */
    unsigned refs;
};

static pthread_mutex_t s_modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct h2a_module *s_modules;
static unsigned long s_login_attempts;

typedef enum { S_MECH_UNKNOWN = 0, S_MECH_PRESENT, S_MECH_ABSENT } s_mech_state;

struct h2a_token {
    struct h2a_module *mod;
    CK_FUNCTION_LIST *fl;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    /* Kept open for the token's life: login state ends with the last session. */
    CK_SESSION_HANDLE login_session;
    bool logged_in_by_us;
    /* Guards the mechanism cache (workers probe from several threads). */
    pthread_mutex_t lock;
    s_mech_state mech_state[H2A_MECH__COUNT];
    CK_MECHANISM_INFO mech_info[H2A_MECH__COUNT];
    bool copy_refused; /* see h2a_token_copy_refused */
    unsigned quirks;   /* H2A_QUIRK_*, see quirks.c */
    const char *quirk_name;
    struct h2a_labels *labels;
};

struct h2a_session {
    H2A_TOKEN *tok;
    CK_SESSION_HANDLE h;
};

static const struct {
    const char *name;
    CK_MECHANISM_TYPE ckm;
    CK_FLAGS need; /* capability that makes the mechanism useful to us */
} s_mechs[H2A_MECH__COUNT] = {
    [H2A_MECH_RSA_KEYGEN] = {"CKM_RSA_PKCS_KEY_PAIR_GEN",
                             CKM_RSA_PKCS_KEY_PAIR_GEN,
                             CKF_GENERATE_KEY_PAIR},
    [H2A_MECH_EC_KEYGEN] = {"CKM_EC_KEY_PAIR_GEN", CKM_EC_KEY_PAIR_GEN,
                            CKF_GENERATE_KEY_PAIR},
    [H2A_MECH_RSA_PKCS] = {"CKM_RSA_PKCS", CKM_RSA_PKCS, CKF_SIGN},
    [H2A_MECH_RSA_PSS] = {"CKM_RSA_PKCS_PSS", CKM_RSA_PKCS_PSS, CKF_SIGN},
    [H2A_MECH_ECDSA] = {"CKM_ECDSA", CKM_ECDSA, CKF_SIGN},
    [H2A_MECH_AES_KEYGEN] = {"CKM_AES_KEY_GEN", CKM_AES_KEY_GEN,
                             CKF_GENERATE},
    [H2A_MECH_AES_KWP] = {"CKM_AES_KEY_WRAP_PAD", CKM_AES_KEY_WRAP_PAD,
                          CKF_WRAP},
    [H2A_MECH_AES_KW] = {"CKM_AES_KEY_WRAP", CKM_AES_KEY_WRAP, CKF_WRAP},
    [H2A_MECH_AES_KWP3] = {"CKM_AES_KEY_WRAP_KWP", CKM_AES_KEY_WRAP_KWP, CKF_WRAP},
    [H2A_MECH_SHA256_RSA_PKCS] = {"CKM_SHA256_RSA_PKCS", CKM_SHA256_RSA_PKCS, CKF_SIGN},
};

const char *h2a_mech_name(h2a_mech m)
{
    if ((int)m < 0 || m >= H2A_MECH__COUNT) {
        return "(unknown mechanism)";
    }
    return s_mechs[m].name;
}

CK_MECHANISM_TYPE h2a_mech_ckm(h2a_mech m)
{
    if ((int)m < 0 || m >= H2A_MECH__COUNT) {
        return CKM_VENDOR_DEFINED;
    }
    return s_mechs[m].ckm;
}

unsigned long h2a_p11_login_attempts(void)
{
    unsigned long n;

    pthread_mutex_lock(&s_modules_lock);
    n = s_login_attempts;
    pthread_mutex_unlock(&s_modules_lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* Module table                                                        */
/* ------------------------------------------------------------------ */

static void s_module_free(struct h2a_module *m)
{
    if (m == NULL) {
        return;
    }
    if (m->dl != NULL) {
        dlclose(m->dl);
    }
    free(m->path);
    free(m->init_reserved);
    free(m);
}

static void s_field(const unsigned char *f, size_t n, char *out);

/* Library identity for the quirks table; a module without it gets none. */
static void s_module_identify(struct h2a_module *m)
{
    CK_INFO info;

    if (H2A_P11_CALL(m->fl, C_GetInfo, &info) != CKR_OK) {
        h2a_err_clear();
        m->quirks = h2a_quirks_by_file(m->path, NULL);
        return;
    }
    s_field(info.manufacturerID, sizeof(info.manufacturerID), m->manufacturer);
    m->quirks = h2a_quirks_lookup(m->manufacturer, m->path, "", "", NULL);
}

/* C_Initialize with the URI's x-init-reserved; shares an initialisation done by others. */
static h2a_err s_module_init(struct h2a_module *m, bool *transient)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    memset(&args, 0, sizeof(args));
    /* The module may use OS locks: sessions are used from worker threads. */
    args.flags = CKF_OS_LOCKING_OK;
    /* NSS softokn takes its configuration here (x-init-reserved). */
    args.pReserved = m->init_reserved;
    rv = H2A_P11_CALL(m->fl, C_Initialize, &args);
    /*
     * SoftHSM2 2.6.1 tries to load an "rdrand" engine in C_Initialize and
     * leaves its failure on our OpenSSL error queue; those errors would be
     * reported against whatever OpenSSL call fails next.
     */
    ERR_clear_error(); /* H2A_P11_CALL dropped them already; be explicit */
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        /* Someone else in the process owns initialisation; share it. */
        m->we_initialized = false;
        h2a_err_clear();
        return H2A_OK;
    }
    if (rv != CKR_OK) {
        /* SoftHSM2 fails this way while another process rewrites a token. */
        *transient = rv == CKR_GENERAL_ERROR &&
                     (h2a_quirks_by_file(m->path, NULL) & H2A_QUIRK_OPEN_RETRY) != 0;
        return h2a_p11_fail("PKCS#11 module %s%s", m->path,
                            rv == CKR_ARGUMENTS_BAD && m->init_reserved == NULL
                                ? " (does the module need x-init-reserved in the URI?)"
                                : "");
    }
    m->we_initialized = true;
    return H2A_OK;
}

static h2a_err s_module_load(const char *path, const char *init_reserved,
                             struct h2a_module **out, bool *transient)
{
    CK_C_GetFunctionList get_list;
    struct h2a_module *m = NULL;
    struct stat st;
    h2a_err err = H2A_OK;
    const char *dlerr;
    CK_RV rv;

    *out = NULL;
    if (stat(path, &st) != 0) {
        return h2a_err_set(H2A_ERR_TOKEN, "PKCS#11 module %s: %s (check "
                           "module-path in the token URI)", path,
                           strerror(errno));
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL || (m->path = strdup(path)) == NULL ||
        (init_reserved != NULL && (m->init_reserved = strdup(init_reserved)) == NULL)) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    /*
     * RTLD_LOCAL so the module's symbols never replace ours; no deep
     * binding (it breaks ASan's interposition); never unmapped (see top).
     */
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (m->dl == NULL) {
        dlerr = dlerror();
        err = h2a_err_set(H2A_ERR_TOKEN, "PKCS#11 module %s cannot be "
                          "loaded: %s", path, dlerr ? dlerr : "(no detail)");
        goto done;
    }
    *(void **)&get_list = dlsym(m->dl, "C_GetFunctionList");
    if (get_list == NULL) {
        err = h2a_err_set(H2A_ERR_TOKEN, "%s is not a PKCS#11 module: it has "
                          "no C_GetFunctionList", path);
        goto done;
    }
    (void)ERR_set_mark();
    rv = h2a_p11_call_done("C_GetFunctionList", get_list(&m->fl));
    if (rv != CKR_OK || m->fl == NULL) {
        err = h2a_p11_fail("PKCS#11 module %s", path);
        goto done;
    }
    err = s_module_init(m, transient);
    if (err != H2A_OK) {
        goto done;
    }
    s_module_identify(m);
    m->refs = 1;
    *out = m;
    m = NULL;
done:
    s_module_free(m);
    return err;
}

static bool s_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static h2a_err s_module_get(const char *path, const char *init_reserved,
                            struct h2a_module **out, bool *transient)
{
    struct h2a_module *m;
    h2a_err err = H2A_OK;

    pthread_mutex_lock(&s_modules_lock);
    for (m = s_modules; m != NULL; m = m->next) {
        if (strcmp(m->path, path) == 0 && s_same(m->init_reserved, init_reserved)) {
            m->refs++;
            *out = m;
            goto done;
        }
    }
    err = s_module_load(path, init_reserved, &m, transient);
    if (err == H2A_OK) {
        m->next = s_modules;
        s_modules = m;
        *out = m;
    }
done:
    pthread_mutex_unlock(&s_modules_lock);
    return err;
}

/* Returns true if this was the last user of the module. */
static bool s_module_put(struct h2a_module *mod)
{
    struct h2a_module **pp;
    bool last = false;

    if (mod == NULL) {
        return false;
    }
    pthread_mutex_lock(&s_modules_lock);
    if (--mod->refs == 0) {
        last = true;
        for (pp = &s_modules; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == mod) {
                *pp = mod->next;
                break;
            }
        }
        if (mod->we_initialized) {
            (void)H2A_P11_CALL(mod->fl, C_Finalize, NULL);
        }
        s_module_free(mod);
    }
    pthread_mutex_unlock(&s_modules_lock);
    return last;
}

static unsigned s_module_refs(struct h2a_module *mod)
{
    unsigned n;

    pthread_mutex_lock(&s_modules_lock);
    n = mod->refs;
    pthread_mutex_unlock(&s_modules_lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* Token selection                                                     */
/* ------------------------------------------------------------------ */

static void s_field(const unsigned char *f, size_t n, char *out)
{
    while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\0')) {
        n--;
    }
    memcpy(out, f, n);
    out[n] = '\0';
}

/* "'a' (slot 1), uninitialised token (slot 2)" for messages. */
static void s_append_label(char *list, size_t n, CK_SLOT_ID slot,
                           const CK_TOKEN_INFO *ti)
{
    char label[33];
    size_t off = strlen(list);

    if (off >= n - 1) {
        return;
    }
    s_field(ti->label, sizeof(ti->label), label);
    if ((ti->flags & CKF_TOKEN_INITIALIZED) == 0) {
        snprintf(list + off, n - off, "%san uninitialised token (slot %lu)",
                 off ? ", " : "", (unsigned long)slot);
    } else {
        snprintf(list + off, n - off, "%s'%s' (slot %lu)", off ? ", " : "",
                 label, (unsigned long)slot);
    }
}

static bool s_slot_matches(const h2a_p11_uri *u, CK_SLOT_ID slot,
                           CK_TOKEN_INFO *ti)
{
    if (u->has_slot_id && u->slot_id != slot) {
        return false;
    }
    return p11_kit_uri_match_token_info(u->p11uri, ti) == 1;
}

static h2a_err s_select_token(H2A_TOKEN *tok, const h2a_p11_uri *u, bool *transient)
{
    CK_SLOT_ID slots[H2A_MAX_SLOTS];
    CK_ULONG nslots = H2A_MAX_SLOTS;
    CK_SLOT_ID match[H2A_MAX_SLOTS];
    CK_TOKEN_INFO match_info[H2A_MAX_SLOTS];
    size_t nmatch = 0, ninit = 0;
    char existing[1024] = "";
    char matched[1024] = "";
    char asked[256];
    CK_TOKEN_INFO ti;

    CK_RV rv;

    h2a_p11_uri_describe(u, asked, sizeof(asked));
    rv = H2A_P11_CALL(tok->fl, C_GetSlotList, CK_TRUE, slots, &nslots);
    if (rv != CKR_OK) {
        *transient = rv == CKR_GENERAL_ERROR;
        return h2a_p11_fail("listing the slots of %s", u->module_path);
    }
    for (CK_ULONG i = 0; i < nslots; i++) {
        rv = H2A_P11_CALL(tok->fl, C_GetTokenInfo, slots[i], &ti);
        if (rv != CKR_OK) {
            /* SoftHSM2: the token file was being rewritten by another process. */
            *transient = rv == CKR_GENERAL_ERROR;
            return h2a_p11_fail("reading the token in slot %lu",
                                (unsigned long)slots[i]);
        }
        s_append_label(existing, sizeof(existing), slots[i], &ti);
        if (s_slot_matches(u, slots[i], &ti)) {
            match[nmatch] = slots[i];
            match_info[nmatch] = ti;
            nmatch++;
            ninit += (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
            s_append_label(matched, sizeof(matched), slots[i], &ti);
        }
    }
    if (nmatch == 0) {
        *transient = true;
        return h2a_err_set(H2A_ERR_TOKEN, "token not found: no token matches "
                           "%s in %s; tokens present: %s", asked,
                           u->module_path,
                           existing[0] ? existing : "none");
    }
    /*
     * SoftHSM (and others) always show one free, uninitialised slot; when
     * the URI is loose, prefer the initialised tokens.
     */
    if (nmatch > 1 && ninit >= 1) {
        size_t k = 0;
        for (size_t i = 0; i < nmatch; i++) {
            if (match_info[i].flags & CKF_TOKEN_INITIALIZED) {
                match[k] = match[i];
                match_info[k] = match_info[i];
                k++;
            }
        }
        nmatch = k;
    }
    if (nmatch > 1) {
        return h2a_err_set(H2A_ERR_TOKEN, "%zu tokens match %s: %s; add "
                           "token=LABEL or serial=... to the URI", nmatch,
                           asked, matched);
    }
    if ((match_info[0].flags & CKF_TOKEN_INITIALIZED) == 0) {
        *transient = true;
        return h2a_err_set(H2A_ERR_TOKEN, "token not initialised: the token "
                           "in slot %lu matching %s has not been initialised "
                           "(softhsm2-util --init-token, or the HSM's own "
                           "tool)", (unsigned long)match[0], asked);
    }
    tok->slot = match[0];
    tok->info = match_info[0];
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Login                                                               */
/* ------------------------------------------------------------------ */

/*
 * `*general_errors` counts earlier C_Login calls of this open that failed with
 * CKR_GENERAL_ERROR; such a call is retried (see h2a_token_open) unless the
 * token then says it counted a wrong PIN.
 */
static h2a_err s_login(H2A_TOKEN *tok, const h2a_p11_uri *u, bool *transient,
                       unsigned *general_errors)
{
    char pin[H2A_MAX_PIN + 1];
    char label[33];
    size_t pin_len = 0;
    h2a_err err = H2A_OK;
    CK_RV rv;

    s_field(tok->info.label, sizeof(tok->info.label), label);
    if (tok->info.flags & CKF_USER_PIN_LOCKED) {
        return h2a_err_set(H2A_ERR_TOKEN, "token '%s': the user PIN is locked "
                           "(CKF_USER_PIN_LOCKED); the security officer must "
                           "unlock it; hsm2acm did not try to log in", label);
    }
    if ((tok->info.flags & CKF_USER_PIN_INITIALIZED) == 0) {
        return h2a_err_set(H2A_ERR_TOKEN, "token '%s': the user PIN is not "
                           "initialised (CKF_USER_PIN_INITIALIZED is clear)",
                           label);
    }
    if (*general_errors > 0 &&
        (tok->info.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY))) {
        return h2a_err_set(H2A_ERR_TOKEN, "token '%s': C_Login failed with "
                           "CKR_GENERAL_ERROR and the token now reports a wrong "
                           "PIN count (CKF_USER_PIN_COUNT_LOW); hsm2acm does not "
                           "try the PIN again", label);
    }
    if (tok->info.flags & CKF_USER_PIN_FINAL_TRY) {
        H2A_LOG_WARN("token '%s': one more wrong PIN locks the user PIN "
                     "(CKF_USER_PIN_FINAL_TRY)", label);
    } else if (tok->info.flags & CKF_USER_PIN_COUNT_LOW) {
        H2A_LOG_WARN("token '%s': a wrong PIN was entered recently "
                     "(CKF_USER_PIN_COUNT_LOW)", label);
    }
    err = h2a_p11_pin_read(u, pin, &pin_len);
    if (err != H2A_OK) {
        goto done;
    }
    pthread_mutex_lock(&s_modules_lock);
    s_login_attempts++;
    pthread_mutex_unlock(&s_modules_lock);
    rv = H2A_P11_CALL(tok->fl, C_Login, tok->login_session, CKU_USER,
                      (CK_UTF8CHAR *)pin, (CK_ULONG)pin_len);
    switch (rv) {
    case CKR_OK:
        tok->logged_in_by_us = true;
        H2A_LOG_DBG("token '%s': logged in as user", label);
        break;
    case CKR_USER_ALREADY_LOGGED_IN:
        /* Another H2A_TOKEN of this process already logged in: fine. */
        h2a_err_clear();
        break;
    case CKR_PIN_INCORRECT:
        err = h2a_err_set(H2A_ERR_TOKEN, "token '%s': C_Login: "
                          "CKR_PIN_INCORRECT: the PIN from pin-source is "
                          "wrong; hsm2acm stops here and never retries, so "
                          "that it cannot lock the token", label);
        break;
    case CKR_PIN_LOCKED:
        err = h2a_err_set(H2A_ERR_TOKEN, "token '%s': C_Login: "
                          "CKR_PIN_LOCKED: the user PIN is locked; the "
                          "security officer must unlock it", label);
        break;
    case CKR_GENERAL_ERROR:
        /* SoftHSM2 answers this before any PIN check while another process
         * rewrites its token file: retried there, boundedly, never after a
         * failed-PIN count. Elsewhere it might count: never retried. */
        (*general_errors)++;
        *transient = (tok->quirks & H2A_QUIRK_LOGIN_GENERAL_ERROR_RETRY) != 0;
        err = h2a_p11_fail("logging in to token '%s'", label);
        break;
    default:
        err = h2a_p11_fail("logging in to token '%s'", label);
        break;
    }
done:
    OPENSSL_cleanse(pin, sizeof(pin));
    return err;
}

/* ------------------------------------------------------------------ */
/* Open / close                                                        */
/* ------------------------------------------------------------------ */

/*
 * One attempt. `*transient` is set for failures that a token being rewritten
 * by another process can cause (SoftHSM2's file store shows it as missing,
 * uninitialised, or fails with CKR_GENERAL_ERROR, C_Login included).
 */
static h2a_err s_token_open_once(const char *uri, H2A_TOKEN **out, bool *transient,
                                 unsigned *login_general_errors, unsigned *quirks)
{
    h2a_p11_uri u;
    H2A_TOKEN *tok = NULL;
    h2a_err err;
    CK_RV rv;

    *out = NULL;
    err = h2a_p11_uri_parse(uri, &u);
    if (err != H2A_OK) {
        goto done;
    }
    tok = calloc(1, sizeof(*tok));
    if (tok == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_init(&tok->lock, NULL);
    tok->login_session = CK_INVALID_HANDLE;
    tok->labels = h2a_labels_new();
    if (tok->labels == NULL) {
        err = h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        goto done;
    }
    *quirks = h2a_quirks_by_file(u.module_path, NULL);
    err = s_module_get(u.module_path, u.init_reserved, &tok->mod, transient);
    if (err != H2A_OK) {
        goto done;
    }
    tok->fl = tok->mod->fl;
    *quirks = tok->mod->quirks;
    err = s_select_token(tok, &u, transient);
    if (err != H2A_OK) {
        goto done;
    }
    {
        char man[33], model[17];

        s_field(tok->info.manufacturerID, sizeof(tok->info.manufacturerID), man);
        s_field(tok->info.model, sizeof(tok->info.model), model);
        tok->quirks = h2a_quirks_lookup(tok->mod->manufacturer, u.module_path, man, model,
                                        &tok->quirk_name);
        *quirks = tok->quirks;
    }
    rv = H2A_P11_CALL(tok->fl, C_OpenSession, tok->slot,
                      CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                      &tok->login_session);
    if (rv != CKR_OK) {
        *transient = rv == CKR_GENERAL_ERROR;
        err = h2a_p11_fail("opening a session on token '%s'", u.label);
        goto done;
    }
    err = s_login(tok, &u, transient, login_general_errors);
    if (err != H2A_OK) {
        goto done;
    }
    *out = tok;
    tok = NULL;
done:
    h2a_token_close(tok);
    h2a_p11_uri_cleanup(&u);
    return err;
}

h2a_err h2a_token_open(const char *uri, H2A_TOKEN **out)
{
    h2a_err err = H2A_ERR_TOKEN;
    bool transient = true;
    unsigned login_general_errors = 0, quirks = H2A_QUIRK_OPEN_RETRY;

    /*
     * Batch workers and sweep open the token while others write to it.
     * A wrong PIN (CKR_PIN_INCORRECT) is never retried; a C_Login that
     * failed with CKR_GENERAL_ERROR is, at most 3 more times. The module
     * is finalised in between, so it rereads the store. Only on tokens
     * whose quirk it is (SoftHSM2's file store): elsewhere a missing
     * token is just missing.
     */
    for (unsigned attempt = 0;
         attempt < 4 && transient && (quirks & H2A_QUIRK_OPEN_RETRY) != 0; attempt++) {
        if (attempt > 0) {
            H2A_LOG_WARN("token open failed (%s); retrying", h2a_err_msg());
            usleep(100000u * attempt);
        }
        transient = false;
        quirks = 0;
        err = s_token_open_once(uri, out, &transient, &login_general_errors, &quirks);
    }
    return err;
}

void h2a_token_close(H2A_TOKEN *tok)
{
    if (tok == NULL) {
        return;
    }
    if (tok->login_session != CK_INVALID_HANDLE) {
        /* Log out only if no other H2A_TOKEN shares this module's login. */
        if (tok->logged_in_by_us && s_module_refs(tok->mod) == 1) {
            (void)H2A_P11_CALL(tok->fl, C_Logout, tok->login_session);
        }
        (void)H2A_P11_CALL(tok->fl, C_CloseSession, tok->login_session);
    }
    (void)s_module_put(tok->mod);
    pthread_mutex_destroy(&tok->lock);
    h2a_labels_free(tok->labels);
    free(tok);
}

/* ------------------------------------------------------------------ */
/* Info and mechanisms                                                 */
/* ------------------------------------------------------------------ */

CK_FUNCTION_LIST *h2a_token_functions(H2A_TOKEN *tok)
{
    return tok->fl;
}

CK_SLOT_ID h2a_token_slot(H2A_TOKEN *tok)
{
    return tok->slot;
}

h2a_err h2a_token_get_info(H2A_TOKEN *tok, h2a_token_info *out)
{
    CK_TOKEN_INFO ti;

    memset(out, 0, sizeof(*out));
    if (H2A_P11_CALL(tok->fl, C_GetTokenInfo, tok->slot, &ti) != CKR_OK) {
        return h2a_p11_fail("reading token info of slot %lu",
                            (unsigned long)tok->slot);
    }
    s_field(ti.label, sizeof(ti.label), out->label);
    s_field(ti.serialNumber, sizeof(ti.serialNumber), out->serial);
    s_field(ti.manufacturerID, sizeof(ti.manufacturerID), out->manufacturer);
    s_field(ti.model, sizeof(ti.model), out->model);
    out->slot_id = (unsigned long)tok->slot;
    snprintf(out->quirks, sizeof(out->quirks), "%s",
             tok->quirk_name != NULL ? tok->quirk_name : "");
    snprintf(out->library_manufacturer, sizeof(out->library_manufacturer), "%s",
             tok->mod->manufacturer);
    snprintf(out->module_path, sizeof(out->module_path), "%s",
             tok->mod->path);
    return H2A_OK;
}

static h2a_err s_mech_probe(H2A_TOKEN *tok, h2a_mech m, CK_MECHANISM_INFO *mi,
                            bool *present)
{
    h2a_err err = H2A_OK;
    CK_RV rv;

    H2A_ENSURE((int)m >= 0 && m < H2A_MECH__COUNT, H2A_ERR_INTERNAL,
               "unknown mechanism %d", (int)m);
    pthread_mutex_lock(&tok->lock);
    if (tok->mech_state[m] == S_MECH_UNKNOWN) {
        rv = H2A_P11_CALL(tok->fl, C_GetMechanismInfo, tok->slot,
                          s_mechs[m].ckm, &tok->mech_info[m]);
        if (rv == CKR_OK) {
            tok->mech_state[m] = S_MECH_PRESENT;
        } else if (rv == CKR_MECHANISM_INVALID) {
            tok->mech_state[m] = S_MECH_ABSENT;
            h2a_err_clear();
        } else {
            err = h2a_p11_fail("probing %s", s_mechs[m].name);
        }
    }
    *present = tok->mech_state[m] == S_MECH_PRESENT;
    *mi = tok->mech_info[m];
    pthread_mutex_unlock(&tok->lock);
    return err;
}

unsigned h2a_token_quirks(H2A_TOKEN *tok)
{
    return tok->quirks;
}

struct h2a_labels *h2a_token_labels(H2A_TOKEN *tok)
{
    return tok->labels;
}

bool h2a_token_copy_refused(H2A_TOKEN *tok)
{
    bool v;

    pthread_mutex_lock(&tok->lock);
    v = tok->copy_refused;
    pthread_mutex_unlock(&tok->lock);
    return v;
}

void h2a_token_set_copy_refused(H2A_TOKEN *tok)
{
    pthread_mutex_lock(&tok->lock);
    tok->copy_refused = true;
    pthread_mutex_unlock(&tok->lock);
}

void h2a_token_mech_pretend_absent(H2A_TOKEN *tok, h2a_mech m)
{
    pthread_mutex_lock(&tok->lock);
    tok->mech_state[m] = S_MECH_ABSENT;
    memset(&tok->mech_info[m], 0, sizeof(tok->mech_info[m]));
    pthread_mutex_unlock(&tok->lock);
}

h2a_err h2a_token_mech_info(H2A_TOKEN *tok, h2a_mech m, h2a_mech_info *out)
{
    CK_MECHANISM_INFO mi;
    bool present = false;

    memset(out, 0, sizeof(*out));
    H2A_GUARD(s_mech_probe(tok, m, &mi, &present));
    if (!present) {
        return H2A_OK;
    }
    out->present = true;
    out->min_key = mi.ulMinKeySize;
    out->max_key = mi.ulMaxKeySize;
    out->can_generate = (mi.flags & (CKF_GENERATE | CKF_GENERATE_KEY_PAIR)) != 0;
    out->can_sign = (mi.flags & CKF_SIGN) != 0;
    out->can_wrap = (mi.flags & CKF_WRAP) != 0;
    out->can_unwrap = (mi.flags & CKF_UNWRAP) != 0;
    return H2A_OK;
}

h2a_err h2a_token_require_mech(H2A_TOKEN *tok, h2a_mech m,
                               const char *needed_for)
{
    CK_MECHANISM_INFO mi;
    bool present = false;
    char label[33];

    H2A_GUARD(s_mech_probe(tok, m, &mi, &present));
    s_field(tok->info.label, sizeof(tok->info.label), label);
    if (!present) {
        return h2a_err_set(H2A_ERR_TOKEN, "token '%s' lacks mechanism %s, "
                           "needed for %s", label, s_mechs[m].name,
                           needed_for ? needed_for : "this operation");
    }
    if ((mi.flags & s_mechs[m].need) == 0) {
        return h2a_err_set(H2A_ERR_TOKEN, "token '%s' has mechanism %s but "
                           "not for %s (flags 0x%lx), needed for %s", label,
                           s_mechs[m].name,
                           s_mechs[m].need == CKF_SIGN ? "signing"
                           : s_mechs[m].need == CKF_WRAP ? "wrapping"
                                                         : "key generation",
                           (unsigned long)mi.flags,
                           needed_for ? needed_for : "this operation");
    }
    return H2A_OK;
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

h2a_err h2a_session_open(H2A_TOKEN *tok, H2A_SESSION **out)
{
    H2A_SESSION *s;
    CK_RV rv;

    *out = NULL;
    H2A_ENSURE(tok != NULL, H2A_ERR_INTERNAL, "no token");
    s = calloc(1, sizeof(*s));
    H2A_ENSURE(s != NULL, H2A_ERR_NOMEM, "out of memory");
    s->tok = tok;
    rv = H2A_P11_CALL(tok->fl, C_OpenSession, tok->slot,
                      CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s->h);
    if (rv != CKR_OK) {
        free(s);
        return h2a_p11_fail("opening a read-write session on slot %lu",
                            (unsigned long)tok->slot);
    }
    *out = s;
    return H2A_OK;
}

void h2a_session_close(H2A_SESSION *s)
{
    if (s == NULL) {
        return;
    }
    (void)H2A_P11_CALL(s->tok->fl, C_CloseSession, s->h);
    free(s);
}

H2A_TOKEN *h2a_session_token(H2A_SESSION *s)
{
    return s->tok;
}

CK_SESSION_HANDLE h2a_session_handle(H2A_SESSION *s)
{
    return s->h;
}

h2a_err h2a_session_object_count(H2A_SESSION *s, size_t *out)
{
    CK_OBJECT_HANDLE dummy;

    /* An empty template matches every object the session can see. */
    return h2a_p11_find(s, NULL, 0, &dummy, 0, out);
}
