/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include "enroll/enroll_int.h"

h2a_err h2a_enroll_sweep(const h2a_config *cfg, h2a_buf *out)
{
    (void)cfg;
    (void)out;
    return h2a_err_set(H2A_ERR_INTERNAL, "sweep: not implemented yet");
}
