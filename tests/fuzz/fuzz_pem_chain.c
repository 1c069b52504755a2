/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/* PEM certificate chains printed by issuers (command issuer stdout, PCA, ACME). */
#include "fuzz.h"

#include <openssl/x509.h>

#include "issuers/h2a_issuer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;

    (void)h2a_issuer_parse_pem_chain("fuzz", (const char *)data, size, &leaf, &chain);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    h2a_fuzz_after();
    return 0;
}
