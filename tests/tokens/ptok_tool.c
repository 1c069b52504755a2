/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Set-up helper of the portability suite for what no packaged tool does:
 *   ptok_tool initpin MODULE INIT_RESERVED LABEL PIN
 * sets the user PIN of a fresh NSS database, whose password is empty
 * (pkcs11-tool cannot pass an empty PIN nor pReserved).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int s_fail(const char *what, CK_RV rv)
{
    fprintf(stderr, "ptok_tool: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

static int s_initpin(CK_FUNCTION_LIST *fl, const char *label, const char *pin)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_SESSION_HANDLE sh;
    CK_TOKEN_INFO ti;
    CK_RV rv;

    if ((rv = fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
        return s_fail("C_GetSlotList", rv);
    }
    for (CK_ULONG i = 0; i < n; i++) {
        if (fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
            strncmp((const char *)ti.label, label, strlen(label)) != 0) {
            continue;
        }
        if ((rv = fl->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                    &sh)) != CKR_OK) {
            return s_fail("C_OpenSession", rv);
        }
        /* The empty password of a fresh database is changed like any PIN. */
        rv = fl->C_SetPIN(sh, (CK_UTF8CHAR *)"", 0, (CK_UTF8CHAR *)pin, strlen(pin));
        if (rv != CKR_OK) {
            if ((rv = fl->C_Login(sh, CKU_SO, (CK_UTF8CHAR *)"", 0)) != CKR_OK) {
                return s_fail("C_Login(SO)", rv);
            }
            if ((rv = fl->C_InitPIN(sh, (CK_UTF8CHAR *)pin, strlen(pin))) != CKR_OK) {
                return s_fail("C_InitPIN", rv);
            }
        }
        (void)fl->C_Logout(sh);
        (void)fl->C_CloseSession(sh);
        return 0;
    }
    fprintf(stderr, "ptok_tool: no token labelled '%s'\n", label);
    return 1;
}

int main(int argc, char **argv)
{
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST *fl = NULL;
    CK_C_INITIALIZE_ARGS args;
    void *dl;
    int rc;

    if (argc != 6 || strcmp(argv[1], "initpin") != 0) {
        fprintf(stderr, "usage: ptok_tool initpin MODULE INIT_RESERVED LABEL PIN\n");
        return 2;
    }
    dl = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "ptok_tool: %s\n", dlerror());
        return 1;
    }
    *(void **)&get = dlsym(dl, "C_GetFunctionList");
    if (get == NULL || get(&fl) != CKR_OK) {
        fprintf(stderr, "ptok_tool: %s is not a PKCS#11 module\n", argv[2]);
        return 1;
    }
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = argv[3][0] != '\0' ? argv[3] : NULL;
    if (fl->C_Initialize(&args) != CKR_OK) {
        fprintf(stderr, "ptok_tool: C_Initialize failed\n");
        return 1;
    }
    rc = s_initpin(fl, argv[4], argv[5]);
    (void)fl->C_Finalize(NULL);
    return rc;
}
