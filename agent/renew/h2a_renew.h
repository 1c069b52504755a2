/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#pragma once

/*
 * Renewal (docs/renew.md). A renewal is an enrollment derived from the
 * current generation of a request: the same subject, names, key type,
 * usages, issuer, targets and ARNs, a new key, reimported into the same
 * ARNs. It runs on the same engine as `enroll` (h2a_enroll_group), under
 * the id `<request id>.g<N>`, so it is journaled, resumable and refused
 * while another process runs it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "config/h2a_config.h"
#include "h2a_common.h"
#include "h2a_policy.h"

/* What the due time is computed from (seconds since the epoch). */
typedef struct {
    long long not_before;
    long long not_after;
    long long ari_start; /* the issuer's ARI window; 0 when it gave none */
    long long ari_end;
} h2a_renew_times;

typedef enum {
    H2A_DUE_LIFETIME = 0, /* lifetime_fraction of the lifetime remains */
    H2A_DUE_BEFORE_EXPIRY, /* before_expiry_days */
    H2A_DUE_ARI,           /* the ARI window */
} h2a_due_rule;

const char *h2a_due_rule_name(h2a_due_rule r);

/*
 * When a certificate is due: the earliest of not_after − before_expiry_days
 * (when set), the point where lifetime_fraction of the lifetime remains,
 * and (use_ari) a point in the ARI window chosen by `seed`. Jitter moves
 * the first two earlier, never later, by up to jitter_percent of the time
 * left from there to expiry, also chosen by `seed`: a per-certificate
 * value (the serial's hash), so every run computes the same time and a
 * fleet issued together does not renew in one burst. Pure: no clock.
 */
long long h2a_renew_due(const h2a_policy_lifecycle *l, const h2a_renew_times *t,
                        uint32_t seed, h2a_due_rule *rule);

/* A per-certificate seed for h2a_renew_due (FNV-1a of the serial hex). */
uint32_t h2a_renew_seed(const char *serial);

/* Now, or in a test build HSM2ACM_TEST_NOW (seconds since the epoch). */
long long h2a_renew_now(void);

typedef struct {
    bool dry_run;
    char **arns; /* named ARNs (renewed even if not due); NULL-terminated or NULL */
    size_t n_arns;
    char **ids;  /* named request ids */
    size_t n_ids;
    long jobs;   /* worker processes (1..64), as enroll --batch --jobs */
} h2a_renew_opts;

/*
 * `hsm2acm renew`: one JSON line per renewal (or per due certificate with
 * dry_run, which makes no AWS call and touches no token) appended to
 * `out`; *worst gets the exit code of the worst renewal. An error return
 * is one that stopped them all (configuration, journal).
 */
h2a_err h2a_renew_run(const h2a_config *cfg, const h2a_renew_opts *o, h2a_buf *out,
                      int *worst) H2A_MUST_USE;

/* `hsm2acm status ID|ARN`: the generations as JSON, newest first. */
h2a_err h2a_renew_status(const h2a_config *cfg, const char *what, h2a_buf *out) H2A_MUST_USE;

/*
 * `hsm2acm rollback ARN [--to-serial S]`: reimport the previous generation
 * (or the one with serial S) into ARN with its kept key, through the same
 * wrapped staging as any delivery. Refused (H2A_ERR_POLICY, naming the rule
 * and both values) before anything is touched when the generation's key was
 * destroyed or is not in the token, its certificate expires within
 * min_remaining_for_rollback_days, or ACM's reimport rules against what the
 * ARN holds now forbid it. The rollback is a generation of its own.
 */
h2a_err h2a_renew_rollback(const h2a_config *cfg, const char *arn, const char *serial,
                           h2a_buf *out) H2A_MUST_USE;

/*
 * `hsm2acm adopt ARN --issuer NAME --requester WHO`: an IMPORTED
 * certificate hsm2acm did not make becomes managed. The request is built
 * from DescribeCertificate (names, key type "inherit", KeyUsage/EKU),
 * runs as `adopt-<certificate id>` through the enroll path (policy,
 * authorization, reimport rules) and reimports into the ARN with a key
 * born in the token. AMAZON_ISSUED and PRIVATE: H2A_ERR_POLICY.
 */
h2a_err h2a_renew_adopt(const h2a_config *cfg, const char *arn, const char *issuer,
                        const char *requester, h2a_buf *out) H2A_MUST_USE;
