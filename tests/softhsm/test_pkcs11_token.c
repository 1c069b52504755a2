/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Token access on a fresh SoftHSM2 token: open and login, every "token
 * access" error of issue 2 (wrong PIN tried exactly once, token not found
 * listing what exists, module missing or not loadable, uninitialised
 * token), PIN sources, token info, mechanism probing, sessions in threads.
 */
#include "h2a_test.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "internal.h"

static char s_uri[4096];

static const char *s_env(const char *n)
{
    return h2a_test_env(n);
}

/* A URI on the test token with another pin-source / token part. */
static const char *s_make_uri(const char *path_part, const char *module,
                              const char *pin_source)
{
    snprintf(s_uri, sizeof(s_uri), "pkcs11:%s?module-path=%s&pin-source=%s",
             path_part, module, pin_source);
    return s_uri;
}

static const char *s_pin_file(const char *name, const char *content)
{
    static char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_env("H2A_TEST_TOKEN_DIR"), name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

static void test_open_login_once(void **state)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    h2a_token_info info;
    unsigned long before = h2a_p11_login_attempts();
    size_t n = 99;

    (void)state;
    ERR_clear_error();
    H2A_ASSERT_OK(h2a_token_open(s_env("H2A_TEST_TOKEN_URI"), &tok));
    assert_int_equal(h2a_p11_login_attempts(), before + 1);
    /* SoftHSM2's C_Initialize "rdrand" noise is gone from the queue. */
    assert_int_equal(ERR_peek_error(), 0);
    H2A_ASSERT_OK(h2a_token_get_info(tok, &info));
    assert_string_equal(info.label, s_env("H2A_TEST_TOKEN_LABEL"));
    assert_true(strlen(info.serial) > 0);
    assert_string_equal(info.manufacturer, "SoftHSM project");
    assert_string_equal(info.module_path, s_env("H2A_SOFTHSM_MODULE"));
    assert_int_equal(info.slot_id, h2a_token_slot(tok));
    H2A_ASSERT_OK(h2a_session_open(tok, &s));
    assert_ptr_equal(h2a_session_token(s), tok);
    H2A_ASSERT_OK(h2a_session_object_count(s, &n));
    assert_int_equal(n, 0);
    /* Sessions opened later do not log in again. */
    assert_int_equal(h2a_p11_login_attempts(), before + 1);
    h2a_session_close(s);
    h2a_token_close(tok);
}

/* CKR_PIN_INCORRECT is tried exactly once, and the token stays usable. */
static void test_wrong_pin_once(void **state)
{
    const char *bad = s_pin_file("badpin", "9999\n");
    char pin_src[1100];
    H2A_TOKEN *tok = NULL;
    unsigned long before;

    (void)state;
    snprintf(pin_src, sizeof(pin_src), "file:%s", bad);
    for (int round = 0; round < 2; round++) {
        before = h2a_p11_login_attempts();
        H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test",
                                                 s_env("H2A_SOFTHSM_MODULE"),
                                                 pin_src),
                                      &tok),
                       H2A_ERR_TOKEN, "CKR_PIN_INCORRECT");
        assert_non_null(strstr(h2a_err_msg(), "never retries"));
        assert_null(tok);
        assert_int_equal(h2a_p11_login_attempts(), before + 1);
    }
    /* Not locked: the right PIN still opens it. */
    H2A_ASSERT_OK(h2a_token_open(s_env("H2A_TEST_TOKEN_URI"), &tok));
    h2a_token_close(tok);
}

static void s_fault_state(const char *state_file, const char *content)
{
    char calls[1200];
    FILE *f = fopen(state_file, "w");

    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    snprintf(calls, sizeof(calls), "%s.calls", state_file);
    (void)unlink(calls);
}

static int s_lines(const char *path)
{
    char line[64];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
    }
    fclose(f);
    return n;
}

/* How many C_Login calls reached the real module (fault_module.c). */
static int s_real_logins(const char *state_file)
{
    char calls[1200];

    snprintf(calls, sizeof(calls), "%s.calls", state_file);
    return s_lines(calls);
}

/*
 * C_Login failing with CKR_GENERAL_ERROR is what SoftHSM2 returns when its
 * token file is being rewritten by another process (batch workers): it is
 * retried, boundedly, and never once the token shows a failed-PIN count.
 */
static void test_login_general_error(void **state)
{
    char pin_src[1100], fault[1100], uri[4096];
    H2A_TOKEN *tok = NULL;
    unsigned long before;

    (void)state;
    snprintf(pin_src, sizeof(pin_src), "file:%s", s_env("H2A_TEST_PIN_FILE"));
    snprintf(fault, sizeof(fault), "%s/fault-login", s_env("H2A_TEST_TOKEN_DIR"));
    snprintf(uri, sizeof(uri), "%s",
             s_make_uri("token=hsm2acm-test", s_env("H2A_FAULT_MODULE"), pin_src));
    setenv("H2A_FAULT_REAL", s_env("H2A_SOFTHSM_MODULE"), 1);
    setenv("H2A_FAULT_LOGIN", fault, 1);

    /* Busy twice: the third attempt logs in; the PIN reached the token once. */
    s_fault_state(fault, "2 busy 0\n");
    before = h2a_p11_login_attempts();
    H2A_ASSERT_OK(h2a_token_open(uri, &tok));
    assert_int_equal(h2a_p11_login_attempts(), before + 3);
    assert_int_equal(s_real_logins(fault), 1);
    h2a_token_close(tok);
    tok = NULL;

    /* Busy for good: four attempts in all, then the CKR name. */
    s_fault_state(fault, "99 busy 0\n");
    before = h2a_p11_login_attempts();
    H2A_ASSERT_ERR(h2a_token_open(uri, &tok), H2A_ERR_TOKEN,
                   "C_Login: CKR_GENERAL_ERROR");
    assert_int_equal(h2a_p11_login_attempts(), before + 4);
    assert_int_equal(s_real_logins(fault), 0);
    assert_null(tok);

    /* A token that counted the failed call as a wrong PIN: no second try. */
    s_fault_state(fault, "1 counted 0\n");
    before = h2a_p11_login_attempts();
    H2A_ASSERT_ERR(h2a_token_open(uri, &tok), H2A_ERR_TOKEN,
                   "does not try the PIN again");
    assert_int_equal(h2a_p11_login_attempts(), before + 1);
    assert_int_equal(s_real_logins(fault), 0);
    assert_null(tok);

    /* C_GetTokenInfo failing the same way while the token is selected. */
    unsetenv("H2A_FAULT_LOGIN");
    setenv("H2A_FAULT_TOKENINFO", fault, 1);
    s_fault_state(fault, "2 busy 0\n");
    H2A_ASSERT_OK(h2a_token_open(uri, &tok));
    h2a_token_close(tok);
    tok = NULL;
    s_fault_state(fault, "99 busy 0\n");
    H2A_ASSERT_ERR(h2a_token_open(uri, &tok), H2A_ERR_TOKEN,
                   "C_GetTokenInfo: CKR_GENERAL_ERROR");
    assert_null(tok);
    unsetenv("H2A_FAULT_TOKENINFO");
    unsetenv("H2A_FAULT_REAL");
}

/*
 * Keygen makes session objects and copies them to the token with CKA_ID; a
 * token that does not copy gets token objects made directly, with the same
 * attributes, and nothing left over from the refused attempt.
 */
static void test_keygen_copy_refused(void **state)
{
    char pin_src[1100], uri[4096];
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL, *found = NULL;
    size_t before = 0, after = 0, id_len = 0;
    bool v = false;

    (void)state;
    snprintf(pin_src, sizeof(pin_src), "file:%s", s_env("H2A_TEST_PIN_FILE"));
    snprintf(uri, sizeof(uri), "%s",
             s_make_uri("token=hsm2acm-test", s_env("H2A_FAULT_MODULE"), pin_src));
    setenv("H2A_FAULT_REAL", s_env("H2A_SOFTHSM_MODULE"), 1);
    for (int refuse = 0; refuse < 2; refuse++) {
        if (refuse) {
            setenv("H2A_FAULT_COPY", "1", 1);
        }
        H2A_ASSERT_OK(h2a_token_open(uri, &tok));
        H2A_ASSERT_OK(h2a_session_open(tok, &s));
        H2A_ASSERT_OK(h2a_session_object_count(s, &before));
        H2A_ASSERT_OK(h2a_p11_keypair_generate(s, H2A_KT_EC_P256, "t-copy", 0, &k));
        assert_int_equal(h2a_token_copy_refused(tok), refuse == 1);
        H2A_ASSERT_OK(h2a_session_object_count(s, &after));
        assert_int_equal(after, before + 2);
        H2A_ASSERT_OK(h2a_p11_attr_bool(s, h2a_p11_key_priv_handle(k), CKA_TOKEN, &v));
        assert_true(v);
        H2A_ASSERT_OK(h2a_p11_attr_bool(s, h2a_p11_key_pub_handle(k), CKA_TOKEN, &v));
        assert_true(v);
        H2A_ASSERT_OK(h2a_p11_attr_bool(s, h2a_p11_key_priv_handle(k), CKA_LOCAL, &v));
        assert_true(v);
        (void)h2a_p11_key_id(k, &id_len);
        assert_int_equal(id_len, 20);
        H2A_ASSERT_OK(h2a_p11_key_find(s, NULL, h2a_p11_key_id(k, &id_len), id_len, &found));
        assert_int_equal(EVP_PKEY_eq(h2a_p11_key_public(found), h2a_p11_key_public(k)), 1);
        h2a_p11_key_free(found);
        found = NULL;
        H2A_ASSERT_OK(h2a_p11_key_destroy(k));
        k = NULL;
        H2A_ASSERT_OK(h2a_session_object_count(s, &after));
        assert_int_equal(after, before);
        h2a_session_close(s);
        h2a_token_close(tok);
    }
    unsetenv("H2A_FAULT_COPY");
    unsetenv("H2A_FAULT_REAL");
}

/*
 * The quirks table: on a token that is not SoftHSM2 (the fault module
 * reporting another library manufacturer), a C_Login CKR_GENERAL_ERROR is
 * never retried (it might count against the PIN), a busy slot list is not
 * retried either, and keygen makes token objects directly, never calling
 * C_CopyObject.
 */
static void test_quirks_only_softhsm(void **state)
{
    char pin_src[1100], fault[1100], busy[1100], uri[4096];
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    h2a_token_info ti;
    unsigned long before;
    FILE *f;
    int left = -1;

    (void)state;
    snprintf(pin_src, sizeof(pin_src), "file:%s", s_env("H2A_TEST_PIN_FILE"));
    snprintf(fault, sizeof(fault), "%s/fault-login-q", s_env("H2A_TEST_TOKEN_DIR"));
    snprintf(busy, sizeof(busy), "%s/fault-busy-q", s_env("H2A_TEST_TOKEN_DIR"));
    snprintf(uri, sizeof(uri), "%s",
             s_make_uri("token=hsm2acm-test", s_env("H2A_FAULT_MODULE"), pin_src));
    setenv("H2A_FAULT_REAL", s_env("H2A_SOFTHSM_MODULE"), 1);
    setenv("H2A_FAULT_MANUFACTURER", "Example HSM Inc.", 1);
    setenv("H2A_FAULT_LOGIN", fault, 1);

    s_fault_state(fault, "1 busy 0\n");
    before = h2a_p11_login_attempts();
    H2A_ASSERT_ERR(h2a_token_open(uri, &tok), H2A_ERR_TOKEN, "C_Login: CKR_GENERAL_ERROR");
    assert_int_equal(h2a_p11_login_attempts(), before + 1);
    assert_null(tok);
    unsetenv("H2A_FAULT_LOGIN");

    s_fault_state(busy, "1 busy 0\n");
    setenv("H2A_FAULT_TOKENINFO", busy, 1);
    H2A_ASSERT_ERR(h2a_token_open(uri, &tok), H2A_ERR_TOKEN, "C_GetTokenInfo");
    unsetenv("H2A_FAULT_TOKENINFO");
    f = fopen(busy, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &left), 1);
    fclose(f);
    assert_int_equal(left, 0); /* one attempt: the busy answer was used once */

    setenv("H2A_FAULT_COPY", "1", 1);
    H2A_ASSERT_OK(h2a_token_open(uri, &tok));
    H2A_ASSERT_OK(h2a_token_get_info(tok, &ti));
    assert_string_equal(ti.quirks, "");
    assert_string_equal(ti.library_manufacturer, "Example HSM Inc.");
    H2A_ASSERT_OK(h2a_session_open(tok, &s));
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s, H2A_KT_EC_P256, "t-direct", 0, &k));
    assert_false(h2a_token_copy_refused(tok)); /* C_CopyObject was never tried */
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    h2a_session_close(s);
    h2a_token_close(tok);
    unsetenv("H2A_FAULT_COPY");
    unsetenv("H2A_FAULT_MANUFACTURER");

    /* The same module as SoftHSM2 gets SoftHSM2's row. */
    H2A_ASSERT_OK(h2a_token_open(uri, &tok));
    H2A_ASSERT_OK(h2a_token_get_info(tok, &ti));
    assert_string_equal(ti.quirks, "SoftHSM2");
    h2a_token_close(tok);
    unsetenv("H2A_FAULT_REAL");
}

/*
 * One C_WrapKey per wrap, with a buffer that fits the largest key type we
 * make (RSA-4096); a module that asks for more gets a second call at the
 * size it named, and the blob is the same.
 */
static void test_wrap_size_guess(void **state)
{
    char pin_src[1100], uri[4096], calls[1100];
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    H2A_P11_SECRET *w = NULL;
    h2a_buf once, twice;
    h2a_wrapmech used = 0;

    (void)state;
    h2a_buf_init(&once, 0);
    h2a_buf_init(&twice, 0);
    snprintf(pin_src, sizeof(pin_src), "file:%s", s_env("H2A_TEST_PIN_FILE"));
    snprintf(uri, sizeof(uri), "%s",
             s_make_uri("token=hsm2acm-test", s_env("H2A_FAULT_MODULE"), pin_src));
    snprintf(calls, sizeof(calls), "%s/wrap-calls", s_env("H2A_TEST_TOKEN_DIR"));
    (void)unlink(calls);
    setenv("H2A_FAULT_REAL", s_env("H2A_SOFTHSM_MODULE"), 1);
    setenv("H2A_FAULT_WRAP_CALLS", calls, 1);
    H2A_ASSERT_OK(h2a_token_open(uri, &tok));
    H2A_ASSERT_OK(h2a_session_open(tok, &s));
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s, H2A_KT_RSA_4096, "t-wrap-guess", H2A_KEYGEN_EXPORTABLE, &k));
    H2A_ASSERT_OK(h2a_p11_wrapkey_generate(s, "t-wrap-guess-w", &w));

    H2A_ASSERT_OK(h2a_p11_wrap(w, k, &used, &once));
    assert_int_equal(s_lines(calls), 1);
    assert_true(once.len > 2300);

    setenv("H2A_FAULT_WRAP_MIN", "8192", 1);
    H2A_ASSERT_OK(h2a_p11_wrap(w, k, &used, &twice));
    unsetenv("H2A_FAULT_WRAP_MIN");
    assert_int_equal(s_lines(calls), 3);
    assert_int_equal(twice.len, once.len);
    assert_memory_equal(twice.data, once.data, once.len);

    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    H2A_ASSERT_OK(h2a_p11_wrapkey_destroy(w));
    h2a_buf_free(&once);
    h2a_buf_free(&twice);
    h2a_session_close(s);
    h2a_token_close(tok);
    unsetenv("H2A_FAULT_WRAP_CALLS");
    unsetenv("H2A_FAULT_REAL");
}

static void test_pin_sources(void **state)
{
    char pin_src[1100];
    H2A_TOKEN *tok = NULL;
    const char *mod = s_env("H2A_SOFTHSM_MODULE");

    (void)state;
    /* A trailing newline (echo 1234 > pin) is not part of the PIN. */
    snprintf(pin_src, sizeof(pin_src), "file:%s",
             s_pin_file("pin-nl", "1234\n"));
    H2A_ASSERT_OK(h2a_token_open(s_make_uri("token=hsm2acm-test", mod, pin_src),
                                 &tok));
    h2a_token_close(tok);
    tok = NULL;

    setenv("H2A_T_PIN", s_env("H2A_TEST_USER_PIN"), 1);
    H2A_ASSERT_OK(h2a_token_open(s_make_uri("token=hsm2acm-test", mod,
                                            "env:H2A_T_PIN"),
                                 &tok));
    h2a_token_close(tok);
    tok = NULL;
    unsetenv("H2A_T_PIN");
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test", mod,
                                             "env:H2A_T_PIN"),
                                  &tok),
                   H2A_ERR_INPUT, "env:H2A_T_PIN: the variable is not set");

    snprintf(pin_src, sizeof(pin_src), "file:%s", s_pin_file("pin-empty", ""));
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test", mod, pin_src),
                                  &tok),
                   H2A_ERR_INPUT, "the PIN is empty");
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test", mod,
                                             "file:/nonexistent/pin"),
                                  &tok),
                   H2A_ERR_INPUT, "file:/nonexistent/pin: cannot open");
    assert_null(tok);
}

static void test_token_not_found(void **state)
{
    H2A_TOKEN *tok = NULL;

    (void)state;
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=no-such-token",
                                             s_env("H2A_SOFTHSM_MODULE"),
                                             "env:UNUSED"),
                                  &tok),
                   H2A_ERR_TOKEN, "token not found");
    /* What was asked and what exists. */
    assert_non_null(strstr(h2a_err_msg(), "token=no-such-token"));
    assert_non_null(strstr(h2a_err_msg(), "'hsm2acm-test'"));
    assert_non_null(strstr(h2a_err_msg(), "uninitialised token"));
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("serial=0000000000000000",
                                             s_env("H2A_SOFTHSM_MODULE"),
                                             "env:UNUSED"),
                                  &tok),
                   H2A_ERR_TOKEN, "serial=0000000000000000");
    assert_null(tok);
}

/* A URI without token attributes picks the one initialised token. */
static void test_loose_uri(void **state)
{
    H2A_TOKEN *tok = NULL;
    h2a_token_info info;
    char pin_src[1100];

    (void)state;
    snprintf(pin_src, sizeof(pin_src), "file:%s", s_env("H2A_TEST_PIN_FILE"));
    H2A_ASSERT_OK(h2a_token_open(s_make_uri("", s_env("H2A_SOFTHSM_MODULE"),
                                            pin_src),
                                 &tok));
    H2A_ASSERT_OK(h2a_token_get_info(tok, &info));
    assert_string_equal(info.label, s_env("H2A_TEST_TOKEN_LABEL"));
    h2a_token_close(tok);
}

/* SoftHSM always shows one free, uninitialised slot: select it by slot-id. */
static void test_token_not_initialised(void **state)
{
    H2A_TOKEN *tok = NULL, *bad = NULL;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_TOKEN_INFO ti;
    CK_FUNCTION_LIST *fl;
    CK_SLOT_ID free_slot = (CK_SLOT_ID)-1;
    char part[64];

    (void)state;
    H2A_ASSERT_OK(h2a_token_open(s_env("H2A_TEST_TOKEN_URI"), &tok));
    fl = h2a_token_functions(tok);
    assert_int_equal(fl->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        assert_int_equal(fl->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0) {
            free_slot = slots[i];
        }
    }
    assert_true(free_slot != (CK_SLOT_ID)-1);
    snprintf(part, sizeof(part), "slot-id=%lu", (unsigned long)free_slot);
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri(part, s_env("H2A_SOFTHSM_MODULE"),
                                             "env:UNUSED"),
                                  &bad),
                   H2A_ERR_TOKEN, "token not initialised");
    assert_non_null(strstr(h2a_err_msg(), part));
    assert_null(bad);
    h2a_token_close(tok);
}

static void test_module_errors(void **state)
{
    H2A_TOKEN *tok = NULL;
    Dl_info dli;
    char part[1100];

    (void)state;
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test",
                                             "/nonexistent/libnope.so",
                                             "env:UNUSED"),
                                  &tok),
                   H2A_ERR_TOKEN,
                   "PKCS#11 module /nonexistent/libnope.so: No such file");
    /* A file that is not a shared object: dlerror is reported. */
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test",
                                             s_env("H2A_TEST_PIN_FILE"),
                                             "env:UNUSED"),
                                  &tok),
                   H2A_ERR_TOKEN, "cannot be loaded");
    /* A real library that is not a PKCS#11 module (libc). */
    assert_int_not_equal(dladdr((void *)&snprintf, &dli), 0);
    snprintf(part, sizeof(part), "%s", dli.dli_fname);
    H2A_ASSERT_ERR(h2a_token_open(s_make_uri("token=hsm2acm-test", part,
                                             "env:UNUSED"),
                                  &tok),
                   H2A_ERR_TOKEN, "no C_GetFunctionList");
    assert_null(tok);
}

static void test_malformed_uri(void **state)
{
    H2A_TOKEN *tok = NULL;

    (void)state;
    H2A_ASSERT_ERR(h2a_token_open("pkcs11:token=%zz", &tok), H2A_ERR_INPUT,
                   "malformed");
    H2A_ASSERT_ERR(h2a_token_open("pkcs11:token=x?module-path=/m.so&pin-value=1234",
                                  &tok),
                   H2A_ERR_INPUT, "pin-value is refused");
    assert_null(tok);
}

static void test_mechanisms(void **state)
{
    H2A_TOKEN *tok = NULL;
    h2a_mech_info mi;

    (void)state;
    H2A_ASSERT_OK(h2a_token_open(s_env("H2A_TEST_TOKEN_URI"), &tok));
    for (int m = 0; m < H2A_MECH__COUNT; m++) {
        H2A_ASSERT_OK(h2a_token_mech_info(tok, (h2a_mech)m, &mi));
        if (m == H2A_MECH_AES_KWP3) {
            /* SoftHSM2 2.6 predates PKCS#11 3.0's CKM_AES_KEY_WRAP_KWP. */
            assert_false(mi.present);
            continue;
        }
        assert_true(mi.present);
        H2A_ASSERT_OK(h2a_token_require_mech(tok, (h2a_mech)m, "a test"));
    }
    H2A_ASSERT_OK(h2a_token_mech_info(tok, H2A_MECH_RSA_KEYGEN, &mi));
    assert_true(mi.can_generate);
    assert_true(mi.min_key <= 2048 && mi.max_key >= 4096);
    H2A_ASSERT_OK(h2a_token_mech_info(tok, H2A_MECH_AES_KWP, &mi));
    assert_true(mi.can_wrap && mi.can_unwrap);
    H2A_ASSERT_OK(h2a_token_mech_info(tok, H2A_MECH_ECDSA, &mi));
    assert_true(mi.can_sign);
    assert_string_equal(h2a_mech_name(H2A_MECH_RSA_PSS), "CKM_RSA_PKCS_PSS");

    h2a_token_mech_pretend_absent(tok, H2A_MECH_ECDSA);
    H2A_ASSERT_ERR(h2a_token_require_mech(tok, H2A_MECH_ECDSA,
                                          "signing CSRs with EC keys"),
                   H2A_ERR_TOKEN, "lacks mechanism CKM_ECDSA, needed for "
                                  "signing CSRs with EC keys");
    H2A_ASSERT_OK(h2a_token_mech_info(tok, H2A_MECH_ECDSA, &mi));
    assert_false(mi.present);
    h2a_token_close(tok);
}

struct s_worker {
    H2A_TOKEN *tok;
    const uint8_t *id;
    size_t id_len;
    int ok;
};

/* Each worker: its own session, finds the key, signs and verifies 20 times. */
static void *s_worker_main(void *arg)
{
    struct s_worker *w = arg;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    uint8_t digest[32], sig[256];

    if (h2a_session_open(w->tok, &s) != H2A_OK ||
        h2a_p11_key_find(s, NULL, w->id, w->id_len, &k) != H2A_OK) {
        goto done;
    }
    for (int i = 0; i < 20; i++) {
        size_t sig_len = sizeof(sig);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(h2a_p11_key_public(k), NULL);
        memset(digest, i, sizeof(digest));
        if (ctx == NULL ||
            h2a_p11_sign_digest(k, H2A_SIG_ECDSA, NID_sha256, digest, 32, sig,
                                &sig_len) != H2A_OK ||
            EVP_PKEY_verify_init(ctx) != 1 ||
            EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) != 1) {
            EVP_PKEY_CTX_free(ctx);
            goto done;
        }
        EVP_PKEY_CTX_free(ctx);
        w->ok++;
    }
done:
    h2a_p11_key_free(k);
    h2a_session_close(s);
    return NULL;
}

static void test_sessions_in_threads(void **state)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *s = NULL;
    H2A_P11_KEY *k = NULL;
    pthread_t th[3];
    struct s_worker w[3];
    size_t id_len;
    const uint8_t *id;

    (void)state;
    H2A_ASSERT_OK(h2a_token_open(s_env("H2A_TEST_TOKEN_URI"), &tok));
    H2A_ASSERT_OK(h2a_session_open(tok, &s));
    H2A_ASSERT_OK(h2a_p11_keypair_generate(s, H2A_KT_EC_P256, "t-threads", 0,
                                           &k));
    id = h2a_p11_key_id(k, &id_len);
    for (int i = 0; i < 3; i++) {
        w[i] = (struct s_worker){tok, id, id_len, 0};
        assert_int_equal(pthread_create(&th[i], NULL, s_worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].ok, 20);
    }
    H2A_ASSERT_OK(h2a_p11_key_destroy(k));
    h2a_session_close(s);
    h2a_token_close(tok);
}

static void test_ckr_names(void **state)
{
    char buf[40];

    (void)state;
    assert_string_equal(h2a_p11_ckr_name(CKR_PIN_INCORRECT, buf),
                        "CKR_PIN_INCORRECT");
    assert_string_equal(h2a_p11_ckr_name(CKR_KEY_NOT_WRAPPABLE, buf),
                        "CKR_KEY_NOT_WRAPPABLE");
    assert_string_equal(h2a_p11_ckr_name(CKR_FUNCTION_REJECTED, buf),
                        "CKR_FUNCTION_REJECTED");
    assert_string_equal(h2a_p11_ckr_name(0x777, buf), "CKR_0x777");
    assert_string_equal(h2a_p11_ckr_name(CKR_VENDOR_DEFINED + 5, buf),
                        "CKR_VENDOR_DEFINED+0x5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_login_once),
        cmocka_unit_test(test_wrong_pin_once),
        cmocka_unit_test(test_login_general_error),
        cmocka_unit_test(test_keygen_copy_refused),
        cmocka_unit_test(test_quirks_only_softhsm),
        cmocka_unit_test(test_wrap_size_guess),
        cmocka_unit_test(test_pin_sources),
        cmocka_unit_test(test_token_not_found),
        cmocka_unit_test(test_loose_uri),
        cmocka_unit_test(test_token_not_initialised),
        cmocka_unit_test(test_module_errors),
        cmocka_unit_test(test_malformed_uri),
        cmocka_unit_test(test_mechanisms),
        cmocka_unit_test(test_sessions_in_threads),
        cmocka_unit_test(test_ckr_names),
    };
    h2a_log_init_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
