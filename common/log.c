/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "h2a_common.h"

static h2a_log_level s_level = H2A_LOG_WARN;
static FILE *s_out;

static const char *const s_names[] = {"error", "warn", "info", "debug"};

void h2a_log_init_from_env(void)
{
    const char *lvl = getenv("HSM2ACM_LOG");
    const char *file = getenv("HSM2ACM_LOG_FILE");

    if (lvl != NULL) {
        for (int i = 0; i < 4; i++) {
            if (strcmp(lvl, s_names[i]) == 0) {
                s_level = (h2a_log_level)i;
            }
        }
    }
    if (file != NULL && file[0] != '\0') {
        /*
         * Debug logs name tokens, labels, ARNs and AWS request ids: the file
         * is created 0600 like the audit log, not 0644 as fopen() would.
         */
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
        if (f != NULL) {
            s_out = f;
        } else if (fd >= 0) {
            close(fd);
        }
    }
}

void h2a_log_set_level(h2a_log_level lvl)
{
    s_level = lvl;
}

h2a_log_level h2a_log_get_level(void)
{
    return s_level;
}

void h2a_log_write(h2a_log_level lvl, const char *func, int line,
                   const char *fmt, ...)
{
    FILE *out = s_out != NULL ? s_out : stderr;
    struct timespec ts;
    struct tm tm;
    char when[32];
    va_list ap;

    if (lvl > s_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    flockfile(out);
    fprintf(out, "hsm2acm %s %s %s:%d: ", when, s_names[lvl], func, line);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    funlockfile(out);
    fflush(out);
}
