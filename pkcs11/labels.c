/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * The label index behind H2A_KEYGEN_LABEL_RESERVED.
 *
 * Refusing a label that a private key already has costs a token search, and
 * a search is linear in the token's objects on most modules (SoftHSM2 opens
 * every object file). A worker that makes many keys would pay that for each
 * one. When the caller has reserved the label (nobody else makes it while
 * the caller holds the reservation, e.g. hsm2acm's per-request lock on a
 * request that has never reached key generation), a label that was not on
 * the token when the worker looked, and that the worker has not made since,
 * is still unused: so the worker looks once, keeps a set of label hashes and
 * adds the labels it makes. A hash that is present (a real key, or a
 * collision) falls back to the search, which stays the authority.
 *
 * The first reserved check of a token answers "search": one search is what a
 * one-key process needs, and the scan only pays off from the second key on.
 * A caller that says it will make many keys (`many`) gets the scan at once:
 * the search for its first key would cost as much as the scan.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Longer labels cannot collide: hsm2acm refuses them (see keypair.c). */
#define S_MAX_LABEL 128

struct h2a_labels {
    pthread_mutex_t lock;
    unsigned checks; /* reserved checks so far */
    bool built;
    uint64_t *slot; /* open addressing; 0 = empty */
    size_t cap, n;
};

static uint64_t s_hash(const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    return h != 0 ? h : 1;
}

static bool s_has(const struct h2a_labels *l, uint64_t h)
{
    if (l->cap == 0) {
        return false; /* built from a token without private keys */
    }
    for (size_t i = h & (l->cap - 1);; i = (i + 1) & (l->cap - 1)) {
        if (l->slot[i] == h) {
            return true;
        }
        if (l->slot[i] == 0) {
            return false;
        }
    }
}

static h2a_err s_add(struct h2a_labels *l, uint64_t h)
{
    if (2 * (l->n + 1) > l->cap) {
        size_t cap = l->cap != 0 ? 2 * l->cap : 256;
        uint64_t *old = l->slot, *grown = calloc(cap, sizeof(*grown));
        size_t oldcap = l->cap;

        H2A_ENSURE(grown != NULL, H2A_ERR_NOMEM, "out of memory");
        l->slot = grown;
        l->cap = cap;
        l->n = 0;
        for (size_t i = 0; i < oldcap; i++) {
            if (old[i] != 0) {
                (void)s_add(l, old[i]); /* cannot grow again: cap doubled */
            }
        }
        free(old);
    }
    if (!s_has(l, h)) {
        size_t i = h & (l->cap - 1);

        while (l->slot[i] != 0) {
            i = (i + 1) & (l->cap - 1);
        }
        l->slot[i] = h;
        l->n++;
    }
    return H2A_OK;
}

struct h2a_labels *h2a_labels_new(void)
{
    struct h2a_labels *l = calloc(1, sizeof(*l));

    if (l != NULL) {
        pthread_mutex_init(&l->lock, NULL);
    }
    return l;
}

void h2a_labels_free(struct h2a_labels *l)
{
    if (l == NULL) {
        return;
    }
    pthread_mutex_destroy(&l->lock);
    free(l->slot);
    free(l);
}

/* Every private key's label, by one search and one read per key. */
static h2a_err s_scan(H2A_SESSION *s, struct h2a_labels *l)
{
    CK_FUNCTION_LIST *fl = h2a_token_functions(h2a_session_token(s));
    CK_SESSION_HANDLE sh = h2a_session_handle(s);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE *h = NULL;
    size_t n = 1024, cap = 0;
    h2a_err err = H2A_OK;

    /*
     * One search for most tokens; a larger one is searched again with room
     * for all (keys made in between are another's, with reserved labels).
     */
    while (err == H2A_OK && n > cap) {
        cap = n + 16;
        free(h);
        h = calloc(cap, sizeof(*h));
        if (h == NULL) {
            return h2a_err_set(H2A_ERR_NOMEM, "out of memory");
        }
        err = h2a_p11_find(s, tmpl, 1, h, cap, &n);
    }
    H2A_LOG_DBG("label index: reading the labels of %zu private keys", n);
    for (size_t i = 0; err == H2A_OK && i < n; i++) {
        char label[S_MAX_LABEL];
        CK_ATTRIBUTE a = {CKA_LABEL, label, sizeof(label)};
        CK_RV rv = H2A_P11_CALL(fl, C_GetAttributeValue, sh, h[i], &a, 1);

        if (rv == CKR_BUFFER_TOO_SMALL) {
            h2a_err_clear(); /* longer than any label hsm2acm makes */
        } else if (rv == CKR_OBJECT_HANDLE_INVALID) {
            h2a_err_clear(); /* destroyed since the search */
        } else if (rv != CKR_OK) {
            err = h2a_p11_fail("reading the label of a private key");
        } else if (a.ulValueLen != CK_UNAVAILABLE_INFORMATION) {
            err = s_add(l, s_hash(label, a.ulValueLen));
        }
    }
    free(h);
    return err;
}

bool h2a_labels_known_unused(H2A_SESSION *s, const char *label, bool many)
{
    struct h2a_labels *l = h2a_token_labels(h2a_session_token(s));
    bool unused = false;

    pthread_mutex_lock(&l->lock);
    if (!l->built && (l->checks++ > 0 || many)) {
        l->built = s_scan(s, l) == H2A_OK;
        if (!l->built) {
            /* Not fatal: the search answers instead, and the next key retries. */
            H2A_LOG_DBG("label index not built: %s", h2a_err_msg());
            h2a_err_clear();
        }
    }
    if (l->built) {
        unused = !s_has(l, s_hash(label, strlen(label)));
    }
    pthread_mutex_unlock(&l->lock);
    return unused;
}

void h2a_labels_note(H2A_TOKEN *tok, const char *label)
{
    struct h2a_labels *l = h2a_token_labels(tok);

    pthread_mutex_lock(&l->lock);
    if (l->built && s_add(l, s_hash(label, strlen(label))) != H2A_OK) {
        /* Out of memory: forget the index, searches take over. */
        free(l->slot);
        l->slot = NULL;
        l->cap = l->n = 0;
        l->built = false;
        h2a_err_clear();
    }
    pthread_mutex_unlock(&l->lock);
}
