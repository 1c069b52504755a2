/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright hsm2acm contributors */

/*
 * Token commands: keygen, csr, token info, wrapkey create.
 *
 * Order in every command: parse and validate the arguments, then the
 * policy, and only then open the token, so bad input (exit 2) and policy
 * refusals (exit 3) never touch it. PINs come only from the URI's
 * pin-source; there is deliberately no --pin option.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "cli.h"
#include "h2a_keygen.h"
#include "h2a_pkcs11.h"
#include "h2a_policy.h"

#define H2A_CSR_MAX_ARGS H2A_CSR_MAX_SANS

static const char s_token_help[] =
    "  --token URI    RFC 7512 PKCS#11 URI of the token, e.g.\n"
    "                 'pkcs11:token=hsm2acm?module-path=/usr/lib/softhsm/libsofthsm2.so"
    "&pin-source=file:/run/hsm2acm/pin'\n"
    "                 The PIN comes from pin-source (file:PATH or env:NAME) only.\n";

/* Shared getopt epilogue: unknown option / missing value → exit 2. */
static int s_bad_opt(const char *cmd, int c, char **argv)
{
    if (c == ':') {
        return h2a_cli_usage_error(cmd, "%s needs a value", argv[optind - 1]);
    }
    return h2a_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

static h2a_err s_print(const char *text)
{
    if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        return h2a_err_set(H2A_ERR_INTERNAL, "cannot write to stdout");
    }
    return H2A_OK;
}

/* Open the token and one session; on failure nothing stays open. */
static h2a_err s_open(const char *uri, H2A_TOKEN **tok, H2A_SESSION **sess)
{
    h2a_err rv;

    *tok = NULL;
    *sess = NULL;
    rv = h2a_token_open(uri, tok);
    if (rv == H2A_OK) {
        rv = h2a_session_open(*tok, sess);
    }
    if (rv != H2A_OK) {
        h2a_token_close(*tok);
        *tok = NULL;
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* keygen                                                              */
/* ------------------------------------------------------------------ */

static void s_keygen_help(FILE *out)
{
    fprintf(out,
            "Usage: hsm2acm keygen --token URI --type TYPE --label LABEL [--policy FILE]\n"
            "                      [--exportable] [--wrap-with-trusted]\n"
            "\n"
            "Generates a key pair inside the token and prints it as JSON:\n"
            "  {\"id\": CKA_ID hex, \"label\": ..., \"key_type\": \"ec:P-256\",\n"
            "   \"key_algorithm\": ACM name, \"public_key_pem\": ...}\n"
            "The private key is a token object: private, sensitive, sign only, and\n"
            "never leaves the token (CKA_EXTRACTABLE false) unless --exportable is\n"
            "given. CKA_ID is the RFC 5280 key identifier.\n"
            "\n"
            "Options:\n"
            "%s"
            "  --type TYPE    rsa:2048 | rsa:3072 | rsa:4096 | ec:P-256 | ec:P-384 | ec:P-521\n"
            "  --label LABEL  CKA_LABEL, 1..%d printable ASCII bytes; must not exist yet\n"
            "  --policy FILE  policy file (default: the built-in policy); the key type is\n"
            "                 checked against it before the token is opened\n"
            "  --exportable   a delivery key: CKA_EXTRACTABLE true, so that it can leave\n"
            "                 the token wrapped (refused on tokens that cannot do that)\n"
            "  --wrap-with-trusted  set CKA_WRAP_WITH_TRUSTED (implies --exportable): the key can then only\n"
            "                 leave the token wrapped by a CKA_TRUSTED key\n"
            "  -h, --help     this help\n"
            "\n%s",
            s_token_help, H2A_KEY_LABEL_MAX, h2a_cli_exit_codes);
}

/* The token part of keygen: open, generate, describe; nothing stays open. */
static h2a_err s_keygen_do(const char *uri, h2a_keytype kt, const char *label, unsigned flags,
                           h2a_buf *json)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *sess = NULL;
    H2A_P11_KEY *key = NULL;
    h2a_err rv;

    if ((rv = s_open(uri, &tok, &sess)) == H2A_OK &&
        (rv = h2a_keygen_generate(sess, kt, label, flags, &key)) == H2A_OK) {
        rv = h2a_keygen_key_json(key, json);
    }
    h2a_p11_key_free(key);
    h2a_session_close(sess);
    h2a_token_close(tok);
    return rv;
}

int h2a_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},
        {"type", required_argument, NULL, 'k'},
        {"label", required_argument, NULL, 'l'},
        {"policy", required_argument, NULL, 'p'},
        {"wrap-with-trusted", no_argument, NULL, 'w'},
        {"exportable", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *uri = NULL, *type_s = NULL, *label = NULL, *policy = NULL;
    unsigned flags = 0;
    h2a_keytype kt = H2A_KT_NONE;
    H2A_POLICY *pol = NULL;
    h2a_buf json;
    h2a_err rv;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            uri = optarg;
            break;
        case 'k':
            type_s = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 'p':
            policy = optarg;
            break;
        case 'w':
            flags |= H2A_KEYGEN_WRAP_WITH_TRUSTED;
            break;
        case 'x':
            flags |= H2A_KEYGEN_EXPORTABLE;
            break;
        case 'h':
            s_keygen_help(stdout);
            return 0;
        default:
            return s_bad_opt(argv[0], c, argv);
        }
    }
    if (optind < argc) {
        return h2a_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    }
    if (uri == NULL || type_s == NULL || label == NULL) {
        return h2a_cli_usage_error(argv[0], "--token, --type and --label are required");
    }
    h2a_buf_init(&json, 0);
    if ((rv = h2a_keytype_parse(type_s, &kt)) != H2A_OK) {
        h2a_err_prefix(rv, "--type: ");
        goto done;
    }
    if ((rv = h2a_keygen_label_check("--label", label)) != H2A_OK ||
        (rv = h2a_policy_load(policy, &pol)) != H2A_OK ||
        (rv = h2a_policy_check_keytype(pol, kt)) != H2A_OK) {
        goto done;
    }
    if ((rv = s_keygen_do(uri, kt, label, flags, &json)) == H2A_OK) {
        rv = s_print((const char *)json.data);
    }
done:
    h2a_buf_free(&json);
    h2a_policy_free(pol);
    if (rv != H2A_OK) {
        return h2a_cli_fail(argv[0], rv);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* csr                                                                 */
/* ------------------------------------------------------------------ */

static void s_csr_help(FILE *out)
{
    fprintf(out,
            "Usage: hsm2acm csr --token URI --key LABEL|--key-id HEX --subject SUBJECT\n"
            "                   [--dns NAME]...\n"
            "                   [--ip ADDR]... [--digest sha256|sha384|sha512] [--pss]\n"
            "                   [--key-usage LIST] [--eku LIST] [--policy FILE] [--out FILE]\n"
            "\n"
            "Makes a PKCS#10 CSR for a token key; the token signs it, and the CSR is\n"
            "verified with the token's public key before it is written.\n"
            "\n"
            "Options:\n"
            "%s"
            "  --key LABEL    CKA_LABEL of the key pair (see hsm2acm keygen)\n"
            "  --key-id HEX   or its CKA_ID, the \"id\" that keygen printed\n"
            "  --subject S    'CN=www.example.com,O=Example,C=DE' (RFC 4514 order, most\n"
            "                 specific first) or '/C=DE/O=Example/CN=www.example.com'\n"
            "                 (openssl -subj order); '\\' escapes ',' '/' '+' '='.\n"
            "                 At most %d bytes, each value at most %d bytes.\n"
            "  --dns NAME     subjectAltName DNS name (repeatable; '*.' wildcard only as\n"
            "                 the whole leftmost label)\n"
            "  --ip ADDR      subjectAltName IPv4/IPv6 address (repeatable)\n"
            "  --digest D     sha256 | sha384 | sha512 (default by key: RSA and P-256\n"
            "                 sha256, P-384 sha384, P-521 sha512)\n"
            "  --pss          RSASSA-PSS (RSA keys only; MGF1 same digest, salt = digest)\n"
            "  --key-usage L  comma-separated ACM names, e.g. DIGITAL_SIGNATURE,\n"
            "                 KEY_ENCIPHERMENT (default: the policy's csr.key_usage)\n"
            "  --eku L        e.g. TLS_WEB_SERVER_AUTHENTICATION,TLS_WEB_CLIENT_AUTHENTICATION\n"
            "                 (default: the policy's csr.extended_key_usage)\n"
            "  --policy FILE  policy file (default: built-in); digests, SAN rules and key\n"
            "                 type are checked against it\n"
            "  --out FILE     write the PEM there (atomically) instead of stdout\n"
            "  -h, --help     this help\n"
            "\n%s",
            s_token_help, H2A_SUBJECT_MAX, H2A_RDN_VALUE_MAX, h2a_cli_exit_codes);
}

struct s_csr_args {
    const char *uri, *key, *key_id, *subject, *digest, *ku, *eku, *policy, *out;
    const char *dns[H2A_CSR_MAX_ARGS];
    const char *ip[H2A_CSR_MAX_ARGS];
    size_t n_dns, n_ip;
    bool pss;
};

static int s_csr_parse(int argc, char **argv, struct s_csr_args *a, bool *help)
{
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},   {"key", required_argument, NULL, 'k'},
        {"subject", required_argument, NULL, 's'}, {"dns", required_argument, NULL, 'd'},
        {"ip", required_argument, NULL, 'i'},      {"digest", required_argument, NULL, 'g'},
        {"pss", no_argument, NULL, 'P'},           {"key-usage", required_argument, NULL, 'u'},
        {"eku", required_argument, NULL, 'e'},     {"policy", required_argument, NULL, 'p'},
        {"out", required_argument, NULL, 'o'},     {"help", no_argument, NULL, 'h'},
        {"key-id", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            a->uri = optarg;
            break;
        case 'k':
            a->key = optarg;
            break;
        case 'I':
            a->key_id = optarg;
            break;
        case 's':
            a->subject = optarg;
            break;
        case 'd':
        case 'i':
            if (a->n_dns + a->n_ip >= H2A_CSR_MAX_ARGS) {
                return h2a_cli_usage_error(argv[0], "more than %d --dns/--ip names",
                                           H2A_CSR_MAX_ARGS);
            }
            if (c == 'd') {
                a->dns[a->n_dns++] = optarg;
            } else {
                a->ip[a->n_ip++] = optarg;
            }
            break;
        case 'g':
            a->digest = optarg;
            break;
        case 'P':
            a->pss = true;
            break;
        case 'u':
            a->ku = optarg;
            break;
        case 'e':
            a->eku = optarg;
            break;
        case 'p':
            a->policy = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'h':
            *help = true;
            return 0;
        default:
            return s_bad_opt(argv[0], c, argv);
        }
    }
    if (optind < argc) {
        return h2a_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    }
    if (a->uri == NULL || (a->key == NULL) == (a->key_id == NULL) || a->subject == NULL) {
        return h2a_cli_usage_error(argv[0], "--token, --subject and one of --key or --key-id "
                                            "are required");
    }
    return 0;
}

/* Everything that needs no token: syntax, then the policy. */
static h2a_err s_csr_precheck(const struct s_csr_args *a, struct h2a_csr_req *req,
                              H2A_POLICY **pol, h2a_cert_names *names)
{
    X509_NAME *subj = NULL;
    h2a_err rv;

    req->subject = a->subject;
    req->dns = a->dns;
    req->n_dns = a->n_dns;
    req->ip = a->ip;
    req->n_ip = a->n_ip;
    req->pss = a->pss;
    if (a->digest != NULL) {
        H2A_GUARD(h2a_csr_digest_parse("--digest", a->digest, &req->md_nid));
    }
    if (a->ku != NULL) {
        H2A_GUARD(h2a_csr_ku_parse("--key-usage", a->ku, &req->key_usage));
    }
    if (a->eku != NULL) {
        H2A_GUARD(h2a_csr_eku_parse("--eku", a->eku, &req->ext_key_usage));
    }
    if (a->key_id != NULL) {
        h2a_buf id;

        h2a_buf_init(&id, 64);
        rv = h2a_hex_decode(a->key_id, &id);
        if (rv == H2A_OK && id.len == 0) {
            rv = H2A_ERR_INPUT;
        }
        h2a_buf_free(&id);
        H2A_ENSURE(rv == H2A_OK, H2A_ERR_INPUT, "--key-id: '%.130s' is not 1..64 bytes of hex",
                   a->key_id);
    }
    H2A_GUARD(h2a_csr_validate(req));
    H2A_GUARD(h2a_policy_load(a->policy, pol));
    if (req->md_nid != 0) {
        H2A_GUARD(h2a_policy_check_digest(*pol, req->md_nid));
    }
    /* The CN ends up in the certificate too: it joins the SANs the rules check. */
    H2A_GUARD(h2a_subject_parse("--subject", a->subject, &subj));
    rv = h2a_cert_names_from_request(subj, a->dns, a->n_dns, a->ip, a->n_ip, names);
    X509_NAME_free(subj);
    H2A_GUARD(rv);
    H2A_GUARD(h2a_policy_check_cert_names(*pol, names));
    req->dns = (const char *const *)names->dns;
    req->n_dns = names->ndns;
    req->ip = (const char *const *)names->ip;
    req->n_ip = names->nip;
    return h2a_csr_validate(req);
}

/* Checks that need the key's type, then defaults from the policy. */
static h2a_err s_csr_keycheck(const H2A_POLICY *pol, const struct s_csr_args *a,
                              h2a_keytype kt, struct h2a_csr_req *req)
{
    H2A_GUARD(h2a_csr_check_key(req, kt));
    H2A_GUARD(h2a_policy_check_keytype(pol, kt));
    if (req->md_nid == 0) {
        H2A_GUARD(h2a_policy_check_digest(pol, h2a_keytype_default_md_nid(kt)));
    }
    if (a->ku == NULL) {
        req->key_usage = h2a_policy_csr_key_usage(pol, kt);
    }
    if (a->eku == NULL) {
        req->ext_key_usage = h2a_policy_csr_ext_key_usage(pol);
    }
    /* Whatever their source, the usages the CSR carries pass the one usage check. */
    return h2a_policy_check_usage(pol, kt, req->key_usage, req->ext_key_usage);
}

int h2a_cmd_csr(int argc, char **argv)
{
    struct s_csr_args a;
    struct h2a_csr_req req;
    bool help = false;
    H2A_POLICY *pol = NULL;
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *sess = NULL;
    H2A_P11_KEY *key = NULL;
    h2a_cert_names names = {0};
    h2a_buf pem;
    h2a_err rv;
    int code;

    memset(&a, 0, sizeof(a));
    memset(&req, 0, sizeof(req));
    code = s_csr_parse(argc, argv, &a, &help);
    if (help) {
        s_csr_help(stdout);
        return 0;
    }
    if (code != 0) {
        return code;
    }
    h2a_buf_init(&pem, 0);
    if ((rv = s_csr_precheck(&a, &req, &pol, &names)) != H2A_OK) {
        goto done;
    }
    if ((rv = s_open(a.uri, &tok, &sess)) != H2A_OK ||
        (rv = a.key != NULL ? h2a_p11_key_find(sess, a.key, NULL, 0, &key)
                            : h2a_keygen_find_by_id_hex(sess, a.key_id, &key)) != H2A_OK ||
        (rv = s_csr_keycheck(pol, &a, h2a_p11_key_type(key), &req)) != H2A_OK ||
        (rv = h2a_csr_make(key, &req, &pem)) != H2A_OK) {
        goto done;
    }
    if (a.out != NULL) {
        rv = h2a_file_write_atomic(a.out, pem.data, pem.len, 0644);
    } else if (fwrite(pem.data, 1, pem.len, stdout) != pem.len || fflush(stdout) != 0) {
        rv = h2a_err_set(H2A_ERR_INTERNAL, "cannot write to stdout");
    }
done:
    h2a_buf_free(&pem);
    h2a_p11_key_free(key);
    h2a_session_close(sess);
    h2a_token_close(tok);
    h2a_policy_free(pol);
    h2a_cert_names_cleanup(&names);
    if (rv != H2A_OK) {
        return h2a_cli_fail(argv[0], rv);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* token info                                                          */
/* ------------------------------------------------------------------ */

static void s_token_usage(FILE *out)
{
    fprintf(out,
            "Usage: hsm2acm token info --token URI [--probe]\n"
            "\n"
            "Prints the token as JSON: label, serial, manufacturer, model, slot,\n"
            "object_count (objects the user can see), library_manufacturer, quirks\n"
            "(the row of hsm2acm's token quirks table, \"\" for none), and for every\n"
            "mechanism hsm2acm uses whether the token has it, with its key size range.\n"
            "--probe adds \"probe\": per key type, whether the token can generate a\n"
            "non-exportable and a delivery key, sign (PKCS#1, PSS, ECDSA), wrap and\n"
            "unwrap a delivery key; and whether a wrapping key can be made and\n"
            "identified. Found by trying on throwaway objects, destroyed afterwards:\n"
            "the object count is unchanged.\n"
            "\n"
            "Options:\n"
            "%s"
            "  --probe        also try what hsm2acm can do on this token (see above)\n"
            "  -h, --help     this help\n"
            "\n%s",
            s_token_help, h2a_cli_exit_codes);
}

static void s_bool(json_object *o, const char *k, bool v)
{
    json_object_object_add(o, k, json_object_new_boolean(v));
}

/* The --probe table (pkcs11/probe.c does the trying). */
static h2a_err s_probe_json(H2A_SESSION *sess, json_object *o)
{
    h2a_probe p;
    json_object *jp = json_object_new_object(), *types = json_object_new_array();
    const char *kind;

    json_object_object_add(o, "probe", jp);
    json_object_object_add(jp, "key_types", types);
    H2A_GUARD(h2a_token_probe(sess, &p));
    json_object_object_add(jp, "wrap_mechanism", p.wrap_mechanism
                                                     ? json_object_new_string(h2a_wrapmech_name(p.mech))
                                                     : NULL);
    s_bool(jp, "wrapping_key", p.wrapkey);
    s_bool(jp, "identify_wrapping_key", p.identify);
    kind = h2a_wrapkey_idkind_name((h2a_wrapkey_idkind)p.idkind);
    json_object_object_add(jp, "identify_kind",
                           p.identify ? json_object_new_string(kind ? kind : "CKA_CHECK_VALUE")
                                      : NULL);
    for (size_t i = 0; i < p.ntypes; i++) {
        const h2a_probe_type *t = &p.types[i];
        json_object *e = json_object_new_object();

        json_object_array_add(types, e);
        json_object_object_add(e, "type", json_object_new_string(h2a_keytype_cli_name(t->type)));
        s_bool(e, "generate", t->generate);
        s_bool(e, "generate_delivery", t->generate_delivery);
        s_bool(e, "sign_pkcs1", t->sign_pkcs1);
        s_bool(e, "sign_pss", t->sign_pss);
        s_bool(e, "sign_ecdsa", t->sign_ecdsa);
        s_bool(e, "wrap", t->wrap);
        s_bool(e, "unwrap", t->unwrap);
    }
    return H2A_OK;
}

static h2a_err s_info_json(H2A_TOKEN *tok, H2A_SESSION *sess, json_object *o)
{
    h2a_token_info ti;
    json_object *mechs;
    size_t count = 0;

    H2A_GUARD(h2a_token_get_info(tok, &ti));
    H2A_GUARD(h2a_session_object_count(sess, &count));
    json_object_object_add(o, "label", json_object_new_string(ti.label));
    json_object_object_add(o, "serial", json_object_new_string(ti.serial));
    json_object_object_add(o, "manufacturer", json_object_new_string(ti.manufacturer));
    json_object_object_add(o, "model", json_object_new_string(ti.model));
    json_object_object_add(o, "slot_id", json_object_new_int64((int64_t)ti.slot_id));
    json_object_object_add(o, "module_path", json_object_new_string(ti.module_path));
    json_object_object_add(o, "library_manufacturer",
                           json_object_new_string(ti.library_manufacturer));
    json_object_object_add(o, "quirks", json_object_new_string(ti.quirks));
    json_object_object_add(o, "object_count", json_object_new_int64((int64_t)count));
    mechs = json_object_new_array();
    json_object_object_add(o, "mechanisms", mechs);
    for (int m = 0; m < H2A_MECH__COUNT; m++) {
        json_object *e = json_object_new_object();
        h2a_mech_info mi;

        memset(&mi, 0, sizeof(mi));
        H2A_GUARD(h2a_token_mech_info(tok, (h2a_mech)m, &mi));
        json_object_array_add(mechs, e);
        json_object_object_add(e, "name", json_object_new_string(h2a_mech_name((h2a_mech)m)));
        json_object_object_add(e, "present", json_object_new_boolean(mi.present));
        if (mi.present) {
            json_object_object_add(e, "min_key_size", json_object_new_int64((int64_t)mi.min_key));
            json_object_object_add(e, "max_key_size", json_object_new_int64((int64_t)mi.max_key));
            json_object_object_add(e, "generate", json_object_new_boolean(mi.can_generate));
            json_object_object_add(e, "sign", json_object_new_boolean(mi.can_sign));
            json_object_object_add(e, "wrap", json_object_new_boolean(mi.can_wrap));
            json_object_object_add(e, "unwrap", json_object_new_boolean(mi.can_unwrap));
        }
    }
    return H2A_OK;
}

static int s_token_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},
        {"probe", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *uri = NULL;
    bool probe = false;
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *sess = NULL;
    json_object *o = NULL;
    h2a_err rv;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            uri = optarg;
            break;
        case 'P':
            probe = true;
            break;
        case 'h':
            s_token_usage(stdout);
            return 0;
        default:
            return s_bad_opt("token info", c, argv);
        }
    }
    if (optind < argc) {
        return h2a_cli_usage_error("token info", "unexpected argument '%s'", argv[optind]);
    }
    if (uri == NULL) {
        return h2a_cli_usage_error("token info", "--token is required");
    }
    o = json_object_new_object();
    if ((rv = s_open(uri, &tok, &sess)) != H2A_OK || (rv = s_info_json(tok, sess, o)) != H2A_OK ||
        (probe && (rv = s_probe_json(sess, o)) != H2A_OK)) {
        goto done;
    }
    rv = s_print(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
done:
    json_object_put(o);
    h2a_session_close(sess);
    h2a_token_close(tok);
    if (rv != H2A_OK) {
        return h2a_cli_fail("token info", rv);
    }
    return 0;
}

int h2a_cmd_token(int argc, char **argv)
{
    return h2a_cli_subcommand(argc, argv, s_token_usage, "info", s_token_info);
}

/* ------------------------------------------------------------------ */
/* wrapkey create                                                      */
/* ------------------------------------------------------------------ */

static void s_wrapkey_usage(FILE *out)
{
    fprintf(out,
            "Usage: hsm2acm wrapkey create --token URI [--label LABEL]\n"
            "\n"
            "Makes the AES-256 wrapping key that delivery wraps token keys with: a token\n"
            "object, private, sensitive, never extractable, CKA_WRAP and CKA_UNWRAP only.\n"
            "Prints JSON {\"label\": ..., \"kcv\": 6 hex digits, \"kcv_kind\": ..., \"mechanism\":\n"
            "...}; kcv identifies the key in staging secrets and audit lines: its key\n"
            "check value, or on tokens without one (kcv_kind sha256-wrap:...) a digest\n"
            "of its wrap of a fixed throwaway key. Refuses a label that already exists\n"
            "and a token that cannot wrap; on any failure no key is left behind.\n"
            "\n"
            "Options:\n"
            "%s"
            "  --label LABEL  CKA_LABEL (default: hsm2acm-wrap)\n"
            "  -h, --help     this help\n"
            "\n%s",
            s_token_help, h2a_cli_exit_codes);
}

static h2a_err s_wrapkey_make(const char *uri, const char *label, json_object *o)
{
    H2A_TOKEN *tok = NULL;
    H2A_SESSION *sess = NULL;
    H2A_P11_SECRET *w = NULL;
    h2a_wrapmech mech = 0;
    const char *kind;
    char kcv[7];
    h2a_err rv;

    /* Every check before C_GenerateKey; a failure after it destroys the key. */
    if ((rv = s_open(uri, &tok, &sess)) != H2A_OK ||
        (rv = h2a_token_require_mech(tok, H2A_MECH_AES_KEYGEN, "the wrapping key")) != H2A_OK ||
        (rv = h2a_p11_wrapmech_pick(tok, &mech)) != H2A_OK ||
        (rv = h2a_p11_wrapkey_generate(sess, label, &w)) != H2A_OK ||
        (rv = h2a_p11_wrapkey_kcv(w, kcv)) != H2A_OK) {
        goto done;
    }
    kind = h2a_wrapkey_idkind_name(h2a_p11_wrapkey_idkind(w));
    json_object_object_add(o, "label", json_object_new_string(label));
    json_object_object_add(o, "kcv", json_object_new_string(kcv));
    json_object_object_add(o, "kcv_kind",
                           json_object_new_string(kind != NULL ? kind : "CKA_CHECK_VALUE"));
    json_object_object_add(o, "mechanism", json_object_new_string(h2a_wrapmech_name(mech)));
done:
    h2a_p11_wrapkey_free(w);
    h2a_session_close(sess);
    h2a_token_close(tok);
    return rv;
}

static int s_wrapkey_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"token", required_argument, NULL, 't'},
        {"label", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *uri = NULL, *label = "hsm2acm-wrap";
    json_object *o = NULL;
    h2a_err rv;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            uri = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 'h':
            s_wrapkey_usage(stdout);
            return 0;
        default:
            return s_bad_opt("wrapkey create", c, argv);
        }
    }
    if (optind < argc) {
        return h2a_cli_usage_error("wrapkey create", "unexpected argument '%s'", argv[optind]);
    }
    if (uri == NULL) {
        return h2a_cli_usage_error("wrapkey create", "--token is required");
    }
    rv = h2a_keygen_label_check("--label", label);
    if (rv != H2A_OK) {
        return h2a_cli_fail("wrapkey create", rv);
    }
    o = json_object_new_object();
    rv = s_wrapkey_make(uri, label, o);
    if (rv == H2A_OK) {
        rv = s_print(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(o);
    if (rv != H2A_OK) {
        return h2a_cli_fail("wrapkey create", rv);
    }
    return 0;
}

int h2a_cmd_wrapkey(int argc, char **argv)
{
    return h2a_cli_subcommand(argc, argv, s_wrapkey_usage, "create", s_wrapkey_create);
}
