/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * A PKCS#11 module for tests that forwards to a real one (SoftHSM2) and makes
 * chosen calls fail the way a busy or odd token does, so that hsm2acm's
 * handling of those failures is shown deterministically instead of by a
 * race that happens once in a while.
 *
 * H2A_FAULT_REAL   the real module (default: SoftHSM2's Debian path)
 * H2A_FAULT_LOGIN  a state file "<n> <mode>": the next <n> C_Login calls
 *                  return CKR_GENERAL_ERROR without reaching the real module.
 *                  mode "busy": nothing else changes (SoftHSM2 failing to read
 *                  its token file while another process rewrites it);
 *                  mode "counted": C_GetTokenInfo afterwards reports
 *                  CKF_USER_PIN_COUNT_LOW, as a token that counted the failed
 *                  call as a wrong PIN would. Every C_Login that reaches the
 *                  real module appends a line "login" to <file>.calls.
 * H2A_FAULT_TOKENINFO  a state file "<n> busy": the next <n> C_GetTokenInfo
 *                  calls return CKR_GENERAL_ERROR.
 * H2A_FAULT_COPY   when set, C_CopyObject answers CKR_FUNCTION_NOT_SUPPORTED
 *                  (a token that does not copy objects).
 * H2A_FAULT_WRAP_MIN  N: C_WrapKey with an output buffer under N bytes
 *                  answers CKR_BUFFER_TOO_SMALL and asks for N (a module whose
 *                  wrapped keys are larger than the caller guessed). With
 *                  H2A_FAULT_WRAP_CALLS set to a file, every C_WrapKey
 *                  appends a line "wrap" to it.
 * H2A_FAULT_MANUFACTURER  C_GetInfo reports this library manufacturer
 *                  instead of SoftHSM2's (a token without SoftHSM2's quirks).
 * The state lives in a file because hsm2acm finalises and unloads the module
 * between attempts.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST s_list;
static CK_FUNCTION_LIST_PTR s_real;
static void *s_handle;

struct fault_state {
    long remaining;
    char mode[16];
    int counted;
};

static int s_state_read(const char *path, struct fault_state *st)
{
    FILE *f = fopen(path, "r");
    int n;

    memset(st, 0, sizeof(*st));
    if (f == NULL) {
        return -1;
    }
    n = fscanf(f, "%ld %15s %d", &st->remaining, st->mode, &st->counted);
    fclose(f);
    return n >= 2 ? 0 : -1;
}

static void s_state_write(const char *path, const struct fault_state *st)
{
    FILE *f = fopen(path, "w");

    if (f != NULL) {
        fprintf(f, "%ld %s %d\n", st->remaining, st->mode, st->counted);
        fclose(f);
    }
}

static void s_note_call(const char *path)
{
    char calls[4200];
    FILE *f;

    snprintf(calls, sizeof(calls), "%s.calls", path);
    f = fopen(calls, "a");
    if (f != NULL) {
        fputs("login\n", f);
        fclose(f);
    }
}

/* Take one injected failure from the state file at `path`, if any is left. */
static int s_take(const char *path, struct fault_state *st)
{
    if (path == NULL || s_state_read(path, st) != 0 || st->remaining <= 0) {
        return 0;
    }
    st->remaining--;
    if (strcmp(st->mode, "counted") == 0) {
        st->counted = 1;
    }
    s_state_write(path, st);
    return 1;
}

static CK_RV s_login(CK_SESSION_HANDLE s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    const char *path = getenv("H2A_FAULT_LOGIN");
    struct fault_state st;

    if (s_take(path, &st)) {
        return CKR_GENERAL_ERROR;
    }
    if (path != NULL) {
        s_note_call(path);
    }
    return s_real->C_Login(s, who, pin, len);
}

static CK_RV s_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    const char *path = getenv("H2A_FAULT_LOGIN");
    const char *busy = getenv("H2A_FAULT_TOKENINFO");
    struct fault_state st;
    CK_RV rv;

    if (s_take(busy, &st)) {
        return CKR_GENERAL_ERROR;
    }
    rv = s_real->C_GetTokenInfo(slot, info);

    if (rv == CKR_OK && path != NULL && s_state_read(path, &st) == 0 && st.counted) {
        info->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    return rv;
}

static CK_RV s_copy(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
                    CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
    if (getenv("H2A_FAULT_COPY") != NULL) {
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    return s_real->C_CopyObject(s, obj, tmpl, n, out);
}

static CK_RV s_wrap(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk,
                    CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR len)
{
    const char *min = getenv("H2A_FAULT_WRAP_MIN");
    const char *calls = getenv("H2A_FAULT_WRAP_CALLS");

    if (calls != NULL) {
        FILE *f = fopen(calls, "a");

        if (f != NULL) {
            fputs("wrap\n", f);
            fclose(f);
        }
    }
    if (min != NULL && out != NULL && len != NULL && *len < strtoul(min, NULL, 10)) {
        *len = strtoul(min, NULL, 10);
        return CKR_BUFFER_TOO_SMALL;
    }
    return s_real->C_WrapKey(s, m, wk, k, out, len);
}

static CK_RV s_info(CK_INFO_PTR info)
{
    const char *man = getenv("H2A_FAULT_MANUFACTURER");
    CK_RV rv = s_real->C_GetInfo(info);

    if (rv == CKR_OK && man != NULL) {
        size_t n = strlen(man);

        memset(info->manufacturerID, ' ', sizeof(info->manufacturerID));
        memcpy(info->manufacturerID, man,
               n < sizeof(info->manufacturerID) ? n : sizeof(info->manufacturerID));
    }
    return rv;
}

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    const char *real = getenv("H2A_FAULT_REAL");
    CK_C_GetFunctionList get;

    if (out == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    if (s_real == NULL) {
        s_handle = dlopen(real != NULL ? real : "/usr/lib/softhsm/libsofthsm2.so",
                          RTLD_NOW | RTLD_LOCAL);
        if (s_handle == NULL) {
            return CKR_GENERAL_ERROR;
        }
        get = (CK_C_GetFunctionList)dlsym(s_handle, "C_GetFunctionList");
        if (get == NULL || get(&s_real) != CKR_OK) {
            return CKR_GENERAL_ERROR;
        }
        s_list = *s_real;
        s_list.C_GetFunctionList = C_GetFunctionList;
        s_list.C_Login = s_login;
        s_list.C_GetTokenInfo = s_token_info;
        s_list.C_CopyObject = s_copy;
        s_list.C_WrapKey = s_wrap;
        s_list.C_GetInfo = s_info;
    }
    *out = &s_list;
    return CKR_OK;
}
