/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */
/*
 * Token URI parsing and validation (no token needed): accepted forms,
 * malformed URIs, pin-value refused, pin-source forms, missing parts, and
 * reading the PIN from a file or the environment.
 */
#include "h2a_test.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MOD "/usr/lib/softhsm/libsofthsm2.so"

static void test_full_uri(void **state)
{
    h2a_p11_uri u;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_uri_parse(
        "pkcs11:token=hsm2acm;serial=abc123;manufacturer=SoftHSM%20project;"
        "model=SoftHSM%20v2;slot-id=7?module-path=" MOD
        "&pin-source=file:/run/hsm2acm/pin",
        &u));
    assert_string_equal(u.module_path, MOD);
    assert_int_equal(u.pin_kind, H2A_PIN_SRC_FILE);
    assert_string_equal(u.src_ref, "/run/hsm2acm/pin");
    assert_true(u.has_label);
    assert_string_equal(u.label, "hsm2acm");
    assert_true(u.has_serial);
    assert_string_equal(u.serial, "abc123");
    assert_true(u.has_manufacturer);
    assert_string_equal(u.manufacturer, "SoftHSM project");
    assert_true(u.has_model);
    assert_string_equal(u.model, "SoftHSM v2");
    assert_true(u.has_slot_id);
    assert_int_equal(u.slot_id, 7);
    {
        char d[256];
        h2a_p11_uri_describe(&u, d, sizeof(d));
        assert_string_equal(d, "token=hsm2acm;serial=abc123;manufacturer="
                               "SoftHSM project;model=SoftHSM v2;slot-id=7");
    }
    h2a_p11_uri_cleanup(&u);
}

static void test_minimal_and_pin_forms(void **state)
{
    h2a_p11_uri u;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_uri_parse(
        "pkcs11:?module-path=" MOD "&pin-source=env:HSM2ACM_PIN", &u));
    assert_false(u.has_label);
    assert_false(u.has_slot_id);
    assert_int_equal(u.pin_kind, H2A_PIN_SRC_ENV);
    assert_string_equal(u.src_ref, "HSM2ACM_PIN");
    h2a_p11_uri_cleanup(&u);

    /* A bare absolute path is a file. */
    H2A_ASSERT_OK(h2a_p11_uri_parse(
        "pkcs11:token=a?module-path=" MOD "&pin-source=/etc/hsm2acm/pin", &u));
    assert_int_equal(u.pin_kind, H2A_PIN_SRC_FILE);
    assert_string_equal(u.src_ref, "/etc/hsm2acm/pin");
    h2a_p11_uri_cleanup(&u);

    /* file:///path (URL form). */
    H2A_ASSERT_OK(h2a_p11_uri_parse(
        "pkcs11:token=a?module-path=" MOD "&pin-source=file:///x/pin", &u));
    assert_string_equal(u.src_ref, "/x/pin");
    h2a_p11_uri_cleanup(&u);
}

static void s_bad(const char *uri, const char *needle)
{
    h2a_p11_uri u;

    H2A_ASSERT_ERR(h2a_p11_uri_parse(uri, &u), H2A_ERR_INPUT, needle);
    h2a_p11_uri_cleanup(&u);
}

static void test_malformed(void **state)
{
    (void)state;
    s_bad("", "token URI is empty");
    s_bad("http://example.com/", "does not start with 'pkcs11:'");
    s_bad("pkcs11:token=%zz?module-path=" MOD "&pin-source=env:P", "malformed");
    s_bad("pkcs11:slot-id=abc?module-path=" MOD "&pin-source=env:P",
          "malformed");
    s_bad("pkcs11:tokn=x?module-path=" MOD "&pin-source=env:P",
          "attribute hsm2acm does not know");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin_source=env:P",
          "unknown query attribute 'pin_source'");
}

static void test_pin_value_refused(void **state)
{
    (void)state;
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-value=1234",
          "pin-value is refused");
    s_bad("pkcs11:token=x?module-path=" MOD
          "&pin-source=env:P&pin-value=1234",
          "pin-value is refused");
}

/*
 * No message ever shows a PIN from the URI, whatever else is wrong with it;
 * each input below fails for another reason than pin-value.
 */
static void test_pin_never_in_messages(void **state)
{
    static const char *const bad[] = {
        "pkcs1:token=x?module-path=" MOD "&pin-value=S3CR3TPIN",
        "pkcs11:token=%zz?module-path=" MOD "&pin-value=S3CR3TPIN",
        "pkcs11:pin-value=S3CR3TPIN;tokn=x?module-path=" MOD,
        "pkcs11:tokn=x;PIN-VALUE=S3CR3TPIN?module-path=" MOD,
        "pkcs11:token=x?pin-value=S3CR3TPIN&module-name=softhsm2",
        "pkcs11:token=x?module-path=" MOD "&pin-value=S3CR3TPIN&bogus=1",
        "pkcs11:slot-id=abc?pin-value=S3CR3TPIN",
    };
    h2a_p11_uri u;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(h2a_p11_uri_parse(bad[i], &u), H2A_ERR_INPUT);
        assert_null(strstr(h2a_err_msg(), "S3CR3TPIN"));
        h2a_p11_uri_cleanup(&u);
    }
}

/* README: module-name is refused (it was silently ignored). */
static void test_module_name_refused(void **state)
{
    (void)state;
    s_bad("pkcs11:token=x?module-name=softhsm2&pin-source=env:P", "module-name is refused");
    s_bad("pkcs11:token=x?module-path=" MOD "&module-name=softhsm2&pin-source=env:P",
          "module-name is refused");
}

/* x-init-reserved: percent-decoded into C_Initialize's pReserved. */
static void test_init_reserved(void **state)
{
    h2a_p11_uri u;

    (void)state;
    H2A_ASSERT_OK(h2a_p11_uri_parse("pkcs11:token=x?module-path=" MOD
                                    "&x-init-reserved=configdir%3D%27sql%3A%2Fa%20b%27%20flags%3D"
                                    "&pin-source=env:P",
                                    &u));
    assert_string_equal(u.init_reserved, "configdir='sql:/a b' flags=");
    h2a_p11_uri_cleanup(&u);
    H2A_ASSERT_OK(h2a_p11_uri_parse("pkcs11:token=x?module-path=" MOD "&pin-source=env:P", &u));
    assert_null(u.init_reserved);
    h2a_p11_uri_cleanup(&u);
    s_bad("pkcs11:token=x?module-path=" MOD "&x-init-reserved=a%2&pin-source=env:P",
          "malformed");
    s_bad("pkcs11:token=x?module-path=" MOD "&x-init-reserved=a%zz&pin-source=env:P",
          "malformed");
    s_bad("pkcs11:token=x?module-path=" MOD "&x-init-reserved=&pin-source=env:P", "empty");
    s_bad("pkcs11:token=x?module-path=" MOD "&x-init-reserved=a%00b&pin-source=env:P", "NUL");
    s_bad("pkcs11:token=x?module-path=" MOD "&x-init-reserved=a&x-init-reserved=b"
          "&pin-source=env:P", "given twice");
}

static void test_missing_parts(void **state)
{
    (void)state;
    s_bad("pkcs11:token=x?pin-source=env:P", "module-path is missing");
    s_bad("pkcs11:token=x", "module-path is missing");
    s_bad("pkcs11:token=x?module-path=" MOD, "pin-source is missing");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=", "pin-source is "
                                                            "missing");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=http:x",
          "is not file:PATH, env:NAME");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=relative/pin",
          "is not file:PATH, env:NAME");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=env:", "names no "
                                                               "variable");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=file:", "names no "
                                                                "file");
    s_bad("pkcs11:token=x?module-path=" MOD "&pin-source=env:A-B",
          "not a valid environment variable name");
}

static const char *s_tmpfile(const char *content, size_t len)
{
    static char path[] = "/tmp/h2a-uri-test-XXXXXX";
    int fd;

    memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static h2a_err s_read_pin_from(const char *src, char *pin, size_t *len)
{
    h2a_p11_uri u;
    char uri[1024];
    h2a_err e;

    snprintf(uri, sizeof(uri), "pkcs11:token=x?module-path=" MOD
             "&pin-source=%s", src);
    e = h2a_p11_uri_parse(uri, &u);
    if (e == H2A_OK) {
        e = h2a_p11_pin_read(&u, pin, len);
    }
    h2a_p11_uri_cleanup(&u);
    return e;
}

static void test_pin_read(void **state)
{
    char pin[H2A_MAX_PIN + 1];
    char src[600];
    char big[H2A_MAX_PIN + 2];
    size_t len = 0;
    const char *path;

    (void)state;
    path = s_tmpfile("1234\n", 5);
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_OK(s_read_pin_from(src, pin, &len));
    assert_int_equal(len, 4);
    assert_string_equal(pin, "1234");
    unlink(path);

    path = s_tmpfile("ab cd\r\n", 7);
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_OK(s_read_pin_from(src, pin, &len));
    assert_string_equal(pin, "ab cd");
    unlink(path);

    /* Only one newline is stripped; an all-newline file is still empty. */
    path = s_tmpfile("\n", 1);
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_ERR(s_read_pin_from(src, pin, &len), H2A_ERR_INPUT,
                   "the PIN is empty");
    unlink(path);

    memset(big, 'x', sizeof(big));
    path = s_tmpfile(big, sizeof(big));
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_ERR(s_read_pin_from(src, pin, &len), H2A_ERR_INPUT,
                   "longer than 256 bytes");
    /* Wiped on error. */
    for (size_t i = 0; i < sizeof(pin); i++) {
        assert_int_equal(pin[i], 0);
    }
    unlink(path);

    /* Exactly the maximum is accepted. */
    path = s_tmpfile(big, H2A_MAX_PIN);
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_OK(s_read_pin_from(src, pin, &len));
    assert_int_equal(len, H2A_MAX_PIN);
    unlink(path);

    path = s_tmpfile("12\0" "34", 5);
    snprintf(src, sizeof(src), "file:%s", path);
    H2A_ASSERT_ERR(s_read_pin_from(src, pin, &len), H2A_ERR_INPUT, "NUL byte");
    unlink(path);

    H2A_ASSERT_ERR(s_read_pin_from("file:/nonexistent/h2a/pin", pin, &len),
                   H2A_ERR_INPUT, "cannot open");
    /* A directory is named as one, not as a file with loose permissions. */
    H2A_ASSERT_ERR(s_read_pin_from("file:/tmp", pin, &len), H2A_ERR_INPUT,
                   "file:/tmp: is a directory, not a PIN file");

    setenv("H2A_UNIT_PIN", "5678", 1);
    H2A_ASSERT_OK(s_read_pin_from("env:H2A_UNIT_PIN", pin, &len));
    assert_string_equal(pin, "5678");
    setenv("H2A_UNIT_PIN", "", 1);
    H2A_ASSERT_ERR(s_read_pin_from("env:H2A_UNIT_PIN", pin, &len),
                   H2A_ERR_INPUT, "the PIN is empty");
    unsetenv("H2A_UNIT_PIN");
    H2A_ASSERT_ERR(s_read_pin_from("env:H2A_UNIT_PIN", pin, &len),
                   H2A_ERR_INPUT, "is not set");
}

/* h2a_token_open reports URI problems as bad input (exit 2) before loading anything. */
static void test_open_rejects_bad_uri(void **state)
{
    H2A_TOKEN *tok = NULL;

    (void)state;
    H2A_ASSERT_ERR(h2a_token_open("pkcs11:token=x?module-path=/nonexistent.so",
                                  &tok),
                   H2A_ERR_INPUT, "pin-source is missing");
    assert_int_equal(h2a_err_exit_code(H2A_ERR_INPUT), 2);
    assert_null(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_uri),
        cmocka_unit_test(test_minimal_and_pin_forms),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_pin_value_refused),
        cmocka_unit_test(test_missing_parts),
        cmocka_unit_test(test_pin_read),
        cmocka_unit_test(test_open_rejects_bad_uri),
        cmocka_unit_test(test_pin_never_in_messages),
        cmocka_unit_test(test_module_name_refused),
        cmocka_unit_test(test_init_reserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
