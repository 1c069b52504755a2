/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * An ImportCertificate body (it carries the private key) is sent from
 * locked memory only. A child process imports a key through the local AWS
 * endpoint, which holds the call (a delay fault taken once the whole body
 * was read); meanwhile the parent copies every readable mapping of the
 * child that is not locked (smaps "Locked: 0 kB" and no do-not-dump mark:
 * all but OpenSSL's secure heap arena) from /proc/PID/mem and looks for the key as the JSON body
 * carries it (base64 of the PEM). The chain is large (> 64 KiB), so libcurl
 * streams the body through its upload buffer, which stays allocated until
 * the reply: that buffer must be locked too.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "h2a_test.h"
#include "aws/aws_internal.h"

static char s_dir[64];
static pid_t s_server = -1;
static char s_url[128];
static char s_ca[512];

static char *s_run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 1 << 20);
    size_t n = 0;

    assert_non_null(p);
    while (n < (1 << 20) - 1) {
        size_t k = fread(out + n, 1, (1 << 20) - 1 - n, p);
        if (k == 0) {
            break;
        }
        n += k;
    }
    assert_int_equal(pclose(p), 0);
    return out;
}

/* The endpoint's control interface through the curl CLI (not what is under test). */
static char *s_ctl(const char *method, const char *path, const char *body)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "curl -sS --fail --cacert '%s' -X %s %s%s%s '%s%s'", s_ca, method,
             body != NULL ? "-H 'Content-Type: application/json' --data '" : "",
             body != NULL ? body : "", body != NULL ? "'" : "", s_url, path);
    return s_run(cmd);
}

static int s_setup(void **state)
{
    char cmd[2048];
    char *ready = NULL;
    const char *src = getenv("H2A_SRC_DIR");

    (void)state;
    snprintf(s_dir, sizeof(s_dir), "/tmp/h2a-aws-mem-XXXXXX");
    if (src == NULL || mkdtemp(s_dir) == NULL) {
        return -1;
    }
    s_server = fork();
    if (s_server == 0) {
        char rf[128];
        snprintf(cmd, sizeof(cmd), "%s/tests/localaws/server.py", src);
        snprintf(rf, sizeof(rf), "%s/ready.json", s_dir);
        freopen("/dev/null", "w", stdout);
        execl("/usr/bin/python3", "python3", cmd, "--state-dir", s_dir, "--port", "0",
              "--http-port", "-1", "--ready-file", rf, (char *)NULL);
        _exit(127);
    }
    snprintf(cmd, sizeof(cmd), "%s/ready.json", s_dir);
    for (int i = 0; i < 400 && access(cmd, R_OK) != 0; i++) {
        usleep(50000);
    }
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c 'import json; d=json.load(open(\"%s/"
             "ready.json\")); print(d[\"https_port\"], d[\"ca_bundle\"])'", s_dir);
    ready = s_run(cmd);
    {
        int port = 0;
        char ca[512];
        if (sscanf(ready, "%d %511s", &port, ca) != 2) {
            return -1;
        }
        snprintf(s_url, sizeof(s_url), "https://127.0.0.1:%d", port);
        snprintf(s_ca, sizeof(s_ca), "%s", ca);
    }
    free(ready);
    snprintf(cmd, sizeof(cmd), "cd '%s' && openssl req -x509 -new -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 30 "
             "-subj /CN=mem.example.com 2>/dev/null", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    char cmd[128];

    (void)state;
    if (s_server > 0) {
        kill(s_server, SIGTERM);
        waitpid(s_server, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The child: the key read straight into locked memory, a > 64 KiB chain, one import. */
static void s_child(void)
{
    char path[128];
    h2a_buf key;
    H2A_AWS_CTX *ctx = NULL;
    struct h2a_acm_import in = {0};
    char *cert, *chain, *arn = NULL;
    int fd;
    ssize_t n;
    uint8_t tmp[512];

    if (h2a_secure_heap_init(1u << 20) != H2A_OK) {
        _exit(3);
    }
    h2a_buf_init_secure(&key, 0);
    snprintf(path, sizeof(path), "%s/k.pem", s_dir);
    fd = open(path, O_RDONLY);
    while (fd >= 0 && (n = read(fd, tmp, sizeof(tmp))) > 0) {
        if (h2a_buf_append(&key, tmp, (size_t)n) != H2A_OK) {
            _exit(4);
        }
    }
    memset(tmp, 0, sizeof(tmp));
    close(fd);
    snprintf(path, sizeof(path), "cat '%s/c.pem'", s_dir);
    cert = s_run(path);
    chain = calloc(1, 160 * strlen(cert) + 1);
    for (int i = 0; i < 160; i++) {
        strcat(chain, cert); /* NOLINT: sized above */
    }
    in.certificate_pem = cert;
    in.chain_pem = chain;
    in.private_key_pem = &key;
    if (h2a_aws_ctx_new(NULL, &ctx) != H2A_OK) {
        _exit(5);
    }
    /* The import's own result is not the point (the chain is not a chain). */
    if (h2a_acm_import_certificate(ctx, NULL, &in, &arn) == H2A_OK) {
        free(arn);
    }
    h2a_aws_ctx_free(ctx);
    _exit(0);
}

/* Unlocked readable memory of `pid`, concatenated; the count of locked mappings skipped. */
static uint8_t *s_dump(pid_t pid, size_t *len, int *locked)
{
    char path[64], line[512];
    FILE *sm;
    int mem;
    uint8_t *out = NULL;
    unsigned long lo = 0, hi = 0;
    char perms[8] = "";
    bool have = false;
    long locked_kb = 0;

    *len = 0;
    *locked = 0;
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    sm = fopen(path, "r");
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    mem = open(path, O_RDONLY);
    assert_non_null(sm);
    assert_true(mem >= 0);
    while (fgets(line, sizeof(line), sm) != NULL) {
        unsigned long a, b;
        long kb;
        char p[8];
        if (sscanf(line, "%lx-%lx %7s", &a, &b, p) == 3 && strchr(line, ':') != NULL &&
            line[strspn(line, "0123456789abcdef")] == '-') {
            lo = a, hi = b, have = true, locked_kb = 0;
            snprintf(perms, sizeof(perms), "%s", p);
            continue;
        }
        if (have && sscanf(line, "Locked: %ld kB", &kb) == 1) {
            locked_kb = kb;
            continue;
        }
        if (!have || strncmp(line, "VmFlags:", 8) != 0) {
            continue;
        }
        have = false;
        /*
         * OpenSSL's secure arena is mlocked and marked do-not-dump ("dd"); under
         * ASan mlock does nothing, so the mark is what tells it apart.
         */
        if (locked_kb > 0 || strstr(line, " dd") != NULL) {
            (*locked)++;
            continue;
        }
        /* Over 1 GiB is ASan's shadow (metadata, reserved not used): never data. */
        if (perms[0] != 'r' || hi - lo > (1ul << 30) || strstr(line, "vv") != NULL) {
            continue;
        }
        out = realloc(out, *len + (hi - lo));

        {
            ssize_t r = pread(mem, out + *len, hi - lo, (off_t)lo);
            if (r > 0) {
                *len += (size_t)r;
            }
        }
    }
    fclose(sm);
    close(mem);
    return out;
}

static void test_import_body_only_in_locked_memory(void **state)
{
    char *key = NULL, *faults = NULL;
    h2a_buf b64;
    uint8_t *dump;
    size_t len = 0, needles = 0, hits = 0;
    int locked = 0, st = 0;
    pid_t child;
    char path[128];

    (void)state;
    setenv("AWS_ENDPOINT_URL", s_url, 1);
    setenv("AWS_CA_BUNDLE", s_ca, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAH2ALOCAL11111111", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "h2aLocalSecret11111111111111111111111111", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_MAX_ATTEMPTS", "1", 1);
    free(s_ctl("POST", "/_control/faults", "{\"service\":\"acm\",\"operation\":"
               "\"ImportCertificate\",\"kind\":\"delay\",\"delay_ms\":3000,\"count\":1}"));
    child = fork();
    if (child == 0) {
        s_child();
    }
    /* The fault is taken once the whole body was read: the child now waits for the reply. */
    for (int i = 0; i < 600; i++) {
        free(faults);
        faults = s_ctl("GET", "/_control/faults", NULL);
        if (strstr(faults, "ImportCertificate") == NULL) {
            break;
        }
        usleep(20000);
    }
    assert_null(strstr(faults, "ImportCertificate"));
    usleep(200000);
    assert_int_equal(waitpid(child, &st, WNOHANG), 0);
    dump = s_dump(child, &len, &locked);
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(locked > 0);
    assert_true(len > (1u << 20));
    snprintf(path, sizeof(path), "cat '%s/k.pem'", s_dir);
    key = s_run(path);
    h2a_buf_init(&b64, 0);
    H2A_ASSERT_OK(h2a_base64_encode((const uint8_t *)key, strlen(key), &b64));
    /* Past "-----BEGIN PRIVATE KEY-----": 24-character windows of the key itself. */
    for (size_t i = 40; i + 24 < b64.len; i += 12, needles++) {
        if (memmem(dump, len, b64.data + i, 24) != NULL) {
            print_error("key bytes (base64 of the PEM, offset %zu) in unlocked memory\n", i);
            hits++;
        }
    }
    print_message("scanned %zu unlocked bytes (%d locked mappings skipped), %zu needles\n", len,
                  locked, needles);
    assert_true(needles > 10);
    assert_int_equal(hits, 0);
    h2a_buf_free(&b64);
    free(dump);
    free(key);
    free(faults);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_body_only_in_locked_memory),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
