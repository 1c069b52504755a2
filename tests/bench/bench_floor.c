/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Benchmark helper (not a test): the token floor. N rounds of
 * C_GenerateKeyPair (token objects, the same attributes hsm2acm sets) plus
 * ONE C_Sign of a SHA-256 digest, straight through the PKCS#11 function
 * list; nothing else. Each pair is destroyed after it is timed.
 *
 * With a sixth argument "copy": the pair is generated as session objects and
 * copied to token objects with C_CopyObject (CKA_TOKEN, CKA_ID in the copy
 * template), the way hsm2acm makes keys; the session pair is destroyed. On
 * SoftHSM2 this writes each token object once, where C_GenerateKeyPair with
 * CKA_TOKEN=TRUE writes it once per attribute: the lowest cost of the method
 * hsm2acm uses, so hsm2acm's own overhead shows against it.
 *
 * With "enroll WRAP_LABEL CA_LABEL": every token operation of one hsm2acm
 * enrollment, in its order, and nothing else: the pair made as in "copy",
 * C_Sign of the CSR digest, C_Sign of the certificate digest with the CA's
 * token key, C_WrapKey of the private key with the AES wrapping key,
 * C_UnwrapKey of that blob into a non-sensitive session object, one
 * C_GetAttributeValue of its private components, C_DestroyObject of it. The
 * two keys are found by label before the clock starts (a worker finds them
 * once).
 *
 * usage: bench_floor MODULE TOKEN_LABEL PIN TYPE N [copy | enroll WRAP_LABEL CA_LABEL]
 *        TYPE: rsa:BITS | ec:P-256|P-384|P-521
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static double s_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#define CK(call)                                                                            \
    do {                                                                                    \
        CK_RV rv_ = (call);                                                                 \
        if (rv_ != CKR_OK) {                                                                \
            fprintf(stderr, "bench_floor: %s -> 0x%lx\n", #call, (unsigned long)rv_);       \
            return 1;                                                                       \
        }                                                                                   \
    } while (0)

static CK_OBJECT_HANDLE s_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                                const char *label)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG got = 0;

    if (f->C_FindObjectsInit(s, t, 2) != CKR_OK || f->C_FindObjects(s, &h, 1, &got) != CKR_OK ||
        f->C_FindObjectsFinal(s) != CKR_OK || got != 1) {
        fprintf(stderr, "bench_floor: no object labelled %s\n", label);
        return CK_INVALID_HANDLE;
    }
    return h;
}

/* The delivery half of an enrollment: CA signature, wrap, unwrap, read, destroy. */
static int s_deliver(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, bool rsa, CK_OBJECT_HANDLE wrap,
                     CK_OBJECT_HANDLE ca, CK_OBJECT_HANDLE priv, CK_BYTE *digest, CK_ULONG dlen)
{
    CK_MECHANISM sign = {rsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = rsa ? CKK_RSA : CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},         {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &no, sizeof(no)},     {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_SIGN, &yes, sizeof(yes)},
    };
    static CK_BYTE comp[8][600];
    CK_ATTRIBUTE rsa_parts[8] = {
        {CKA_MODULUS, comp[0], 600},     {CKA_PUBLIC_EXPONENT, comp[1], 600},
        {CKA_PRIVATE_EXPONENT, comp[2], 600}, {CKA_PRIME_1, comp[3], 600},
        {CKA_PRIME_2, comp[4], 600},     {CKA_EXPONENT_1, comp[5], 600},
        {CKA_EXPONENT_2, comp[6], 600},  {CKA_COEFFICIENT, comp[7], 600},
    };
    CK_ATTRIBUTE ec_parts[2] = {{CKA_EC_PARAMS, comp[0], 600}, {CKA_VALUE, comp[1], 600}};
    CK_BYTE sig[1024], blob[4096];
    CK_ULONG siglen = sizeof(sig), bloblen = sizeof(blob);
    CK_OBJECT_HANDLE plain;

    CK(f->C_SignInit(s, &sign, ca));
    CK(f->C_Sign(s, digest, dlen, sig, &siglen));
    CK(f->C_WrapKey(s, &kwp, wrap, priv, blob, &bloblen));
    CK(f->C_UnwrapKey(s, &kwp, wrap, blob, bloblen, tmpl, 7, &plain));
    CK(f->C_GetAttributeValue(s, plain, rsa ? rsa_parts : ec_parts, rsa ? 8 : 2));
    CK(f->C_DestroyObject(s, plain));
    return 0;
}

int main(int argc, char **argv)
{
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const CK_BYTE p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const CK_BYTE p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    /* DigestInfo prefix for SHA-256 (RFC 8017), then 32 digest bytes. */
    CK_BYTE di[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                      0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    CK_C_GetFunctionList gfl;
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slots[64];
    CK_ULONG nslots = 64, bits;
    CK_SESSION_HANDLE s = 0;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG exp_len = 3;
    CK_BYTE exp[] = {1, 0, 1};
    CK_OBJECT_HANDLE wrap = CK_INVALID_HANDLE, ca = CK_INVALID_HANDLE;
    bool rsa, copy, enroll;
    int n, found = 0;
    void *mod;

    enroll = argc == 9 && strcmp(argv[6], "enroll") == 0;
    copy = enroll || (argc == 7 && strcmp(argv[6], "copy") == 0);
    if ((argc != 6 && !copy) || (n = atoi(argv[5])) <= 0) {
        fprintf(stderr, "usage: bench_floor MODULE TOKEN PIN TYPE N "
                        "[copy | enroll WRAP_LABEL CA_LABEL]\n");
        return 2;
    }
    rsa = strncmp(argv[4], "rsa:", 4) == 0;
    bits = rsa ? strtoul(argv[4] + 4, NULL, 10) : 0;
    mod = dlopen(argv[1], RTLD_NOW);
    if (mod == NULL || (gfl = (CK_C_GetFunctionList)dlsym(mod, "C_GetFunctionList")) == NULL) {
        fprintf(stderr, "bench_floor: cannot load %s\n", argv[1]);
        return 1;
    }
    CK(gfl(&f));
    CK(f->C_Initialize(NULL));
    CK(f->C_GetSlotList(CK_TRUE, slots, &nslots));
    for (CK_ULONG i = 0; i < nslots && !found; i++) {
        CK_TOKEN_INFO ti;
        char label[33];

        CK(f->C_GetTokenInfo(slots[i], &ti));
        memcpy(label, ti.label, 32);
        label[32] = '\0';
        for (int j = 31; j >= 0 && label[j] == ' '; j--) {
            label[j] = '\0';
        }
        if (strcmp(label, argv[2]) == 0) {
            CK(f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
            found = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "bench_floor: no token %s\n", argv[2]);
        return 1;
    }
    CK(f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[3], strlen(argv[3])));
    if (enroll && ((wrap = s_find(f, s, CKO_SECRET_KEY, argv[7])) == CK_INVALID_HANDLE ||
                   (ca = s_find(f, s, CKO_PRIVATE_KEY, argv[8])) == CK_INVALID_HANDLE)) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        CK_MECHANISM gen = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
        CK_MECHANISM sign = {rsa ? CKM_RSA_PKCS : CKM_ECDSA, NULL, 0};
        const CK_BYTE *curve = strcmp(argv[4], "ec:P-384") == 0   ? p384
                               : strcmp(argv[4], "ec:P-521") == 0 ? p521
                                                                  : p256;
        CK_ULONG curve_len = curve == p256 ? sizeof(p256) : sizeof(p384);
        CK_ATTRIBUTE pub[] = {
            {CKA_TOKEN, &yes, sizeof(yes)},   {CKA_VERIFY, &yes, sizeof(yes)},
            {CKA_ENCRYPT, &no, sizeof(no)},   {CKA_WRAP, &no, sizeof(no)},
            {rsa ? CKA_MODULUS_BITS : CKA_EC_PARAMS, rsa ? (void *)&bits : (void *)curve,
             rsa ? sizeof(bits) : curve_len},
            {CKA_PUBLIC_EXPONENT, exp, exp_len},
        };
        CK_ATTRIBUTE priv[] = {
            {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
            {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &yes, sizeof(yes)},
            {CKA_SIGN, &yes, sizeof(yes)},      {CKA_DECRYPT, &no, sizeof(no)},
            {CKA_UNWRAP, &no, sizeof(no)},      {CKA_DERIVE, &no, sizeof(no)},
        };
        CK_BYTE id[20] = {(CK_BYTE)i, (CK_BYTE)(i >> 8), 0x42};
        CK_ATTRIBUTE to_token[] = {{CKA_TOKEN, &yes, sizeof(yes)}, {CKA_ID, id, sizeof(id)}};
        CK_OBJECT_HANDLE hpub, hpriv, tpub, tpriv;
        CK_BYTE sig[1024];
        CK_ULONG siglen = sizeof(sig);
        double t0, t1;

        if (copy) {
            pub[0].pValue = &no;
            priv[0].pValue = &no;
        }
        t0 = s_now_ms();
        CK(f->C_GenerateKeyPair(s, &gen, pub, rsa ? 6 : 5, priv, 8, &hpub, &hpriv));
        if (copy) {
            CK(f->C_CopyObject(s, hpub, to_token, 2, &tpub));
            CK(f->C_CopyObject(s, hpriv, to_token, 2, &tpriv));
            CK(f->C_DestroyObject(s, hpriv));
            CK(f->C_DestroyObject(s, hpub));
            hpub = tpub;
            hpriv = tpriv;
        }
        CK(f->C_SignInit(s, &sign, hpriv));
        CK(f->C_Sign(s, rsa ? di : di + 19, rsa ? sizeof(di) : 32, sig, &siglen));
        if (enroll && s_deliver(f, s, rsa, wrap, ca, hpriv, rsa ? di : di + 19,
                                rsa ? sizeof(di) : 32) != 0) {
            return 1;
        }
        t1 = s_now_ms();
        printf("%.3f\n", t1 - t0);
        CK(f->C_DestroyObject(s, hpriv));
        CK(f->C_DestroyObject(s, hpub));
    }
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}
