/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "enroll/h2a_audit.h"

struct h2a_audit {
    int fd;
    bool use_syslog;
    char *path;
};

h2a_err h2a_audit_open(const char *file, bool use_syslog, H2A_AUDIT **out)
{
    H2A_AUDIT *a;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->path = strdup(file)) == NULL) {
        free(a);
        return h2a_err_set(H2A_ERR_NOMEM, "audit");
    }
    a->fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        h2a_err rv = h2a_err_set(H2A_ERR_STATE, "audit.file %s: %s", file,
                                 strerror(errno));

        free(a->path);
        free(a);
        return rv;
    }
    a->use_syslog = use_syslog;
    if (use_syslog) {
        openlog("hsm2acm", LOG_PID, LOG_AUTHPRIV);
    }
    *out = a;
    return H2A_OK;
}

void h2a_audit_close(H2A_AUDIT *a)
{
    if (a == NULL) {
        return;
    }
    if (a->fd >= 0) {
        close(a->fd);
    }
    if (a->use_syslog) {
        closelog();
    }
    free(a->path);
    free(a);
}

static void s_add(json_object *o, const char *k, const char *v)
{
    if (v != NULL) {
        json_object_object_add(o, k, json_object_new_string(v));
    }
}

h2a_err h2a_audit_write(H2A_AUDIT *a, const h2a_audit_event *ev)
{
    json_object *o;
    const char *line;
    h2a_buf b;
    h2a_err rv = H2A_OK;
    struct timespec ts;
    struct tm tm;
    char when[80];

    if (a == NULL) {
        return H2A_OK;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    o = json_object_new_object();
    if (o == NULL) {
        return h2a_err_set(H2A_ERR_NOMEM, "audit");
    }
    s_add(o, "time", when);
    s_add(o, "request_id", ev->request_id);
    s_add(o, "requester", ev->requester);
    if (ev->target >= 0) {
        json_object_object_add(o, "target", json_object_new_int64(ev->target));
    }
    s_add(o, "region", ev->region);
    s_add(o, "account", ev->account);
    s_add(o, "caller", ev->caller);
    s_add(o, "key_id", ev->key_id);
    s_add(o, "kcv", ev->kcv);
    s_add(o, "arn", ev->arn);
    s_add(o, "secret", ev->secret);
    s_add(o, "serial", ev->serial);
    s_add(o, "step", ev->step);
    s_add(o, "outcome", ev->outcome);
    s_add(o, "detail", ev->detail);
    line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    h2a_buf_init(&b, 0);
    if (line == NULL || h2a_buf_append_str(&b, line) != H2A_OK ||
        h2a_buf_append(&b, "\n", 1) != H2A_OK) {
        rv = h2a_err_set(H2A_ERR_NOMEM, "audit");
        goto done;
    }
    /* One write() per line: O_APPEND keeps concurrent lines whole. */
    if (write(a->fd, b.data, b.len) != (ssize_t)b.len) {
        rv = h2a_err_set(H2A_ERR_STATE, "audit.file %s: write failed: %s", a->path,
                         strerror(errno));
        goto done;
    }
    if (a->use_syslog) {
        syslog(LOG_NOTICE, "%s", line);
    }
done:
    h2a_buf_free(&b);
    json_object_put(o);
    return rv;
}
