/* Unit tests: subtest URLs and the metadata merged into their query strings. */
#include "client/client.h"
#include "harness.h"

static struct client_meta test_meta(void)
{
    struct client_meta m;
    memset(&m, 0, sizeof(m));
    snprintf(m.name, sizeof(m.name), "fathom-cli");
    snprintf(m.version, sizeof(m.version), "0.1.0");
    snprintf(m.library_name, sizeof(m.library_name), "fathom");
    snprintf(m.library_version, sizeof(m.library_version), "0.1.0");
    snprintf(m.os, sizeof(m.os), "linux");
    snprintf(m.arch, sizeof(m.arch), "amd64");
    return m;
}

#define META_Q                                                                                     \
    "client_name=fathom-cli&client_version=0.1.0&client_library_name=fathom&"                      \
    "client_library_version=0.1.0&client_os=linux&client_arch=amd64"

TEST(parse_forms)
{
    struct client_url u;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(client_url_parse("wss://h.example/ndt/v7/download?access_token=a.b.c", &u, &eb),
                  0);
    ASSERT_TRUE(u.tls && !u.port_explicit);
    ASSERT_EQ_STR(u.host, "h.example");
    ASSERT_EQ_INT(u.port, 443);
    ASSERT_EQ_STR(u.path, "/ndt/v7/download");
    ASSERT_EQ_STR(u.query, "access_token=a.b.c");
    ASSERT_EQ_INT(client_url_parse("ws://[2001:db8::1]:8080/ndt/v7/upload#frag", &u, &eb), 0);
    ASSERT_TRUE(!u.tls && u.port_explicit);
    ASSERT_EQ_STR(u.host, "2001:db8::1");
    ASSERT_EQ_INT(u.port, 8080);
    ASSERT_EQ_STR(u.query, "");
    ASSERT_EQ_INT(client_url_parse("WS://Host", &u, &eb), 0);
    ASSERT_EQ_STR(u.path, "/");
    ASSERT_EQ_INT(u.port, 80);
}

TEST(parse_rejects)
{
    const char *bad[] = {"http://h/x",    "ws://",      "ws://:80/x",  "ws://h:0/",
                         "ws://h:65536/", "ws://h:8a/", "ws://u@h/",   "ws://[::1/",
                         "ws://[::1]x/",  "ws://h h/",  "ws://h/\x7f", "ws://h_!/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct client_url u;
        struct errbuf eb = {""};
        if (client_url_parse(bad[i], &u, &eb) != ERR_CONFIG)
            FAIL_AT("accepted '%s'", bad[i]);
        ASSERT_TRUE(eb.msg[0] != '\0');
    }
}

TEST(meta_on_empty_query)
{
    struct client_url u;
    struct errbuf eb = {""};
    struct client_meta m = test_meta();
    char out[CLIENT_MAX_URL];
    ASSERT_EQ_INT(client_url_parse("ws://localhost:8080/ndt/v7/download", &u, &eb), 0);
    ASSERT_EQ_INT(client_url_add_meta(&u, &m), 0);
    ASSERT_EQ_INT(client_url_format(&u, out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "ws://localhost:8080/ndt/v7/download?" META_Q);
    ASSERT_EQ_INT(client_url_target(&u, out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "/ndt/v7/download?" META_Q);
    client_url_hostport(&u, out, sizeof(out));
    ASSERT_EQ_STR(out, "localhost:8080");
}

TEST(meta_merges_with_token_and_replaces_ours)
{
    struct client_url u;
    struct errbuf eb = {""};
    struct client_meta m = test_meta();
    char out[CLIENT_MAX_URL];
    ASSERT_EQ_INT(client_url_parse("wss://h/ndt/v7/upload?access_token=eyJ.x_y-z&client_name=old&"
                                   "index=0&&client_os=plan9&locate_version=v2",
                                   &u, &eb),
                  0);
    ASSERT_EQ_INT(client_url_add_meta(&u, &m), 0);
    ASSERT_EQ_STR(u.query, "access_token=eyJ.x_y-z&index=0&locate_version=v2&" META_Q);
    ASSERT_EQ_INT(client_url_add_meta(&u, &m), 0); /* idempotent */
    ASSERT_EQ_STR(u.query, "access_token=eyJ.x_y-z&index=0&locate_version=v2&" META_Q);
    client_url_hostport(&u, out, sizeof(out));
    ASSERT_EQ_STR(out, "h");
}

TEST(meta_escaping)
{
    struct client_url u;
    struct errbuf eb = {""};
    struct client_meta m = test_meta();
    snprintf(m.name, sizeof(m.name), "a b&c=d/é~");
    ASSERT_EQ_INT(client_url_parse("ws://[::1]/ndt/v7/download", &u, &eb), 0);
    ASSERT_EQ_INT(client_url_add_meta(&u, &m), 0);
    ASSERT_TRUE(strncmp(u.query, "client_name=a%20b%26c%3Dd%2F%C3%A9~&client_version=", 51) == 0);
    char hp[64];
    client_url_hostport(&u, hp, sizeof(hp));
    ASSERT_EQ_STR(hp, "[::1]");
}

TEST(too_long_query)
{
    struct client_url u;
    struct errbuf eb = {""};
    struct client_meta m = test_meta();
    char url[CLIENT_MAX_URL];
    int n = snprintf(url, sizeof(url), "ws://h/ndt/v7/download?t=");
    memset(url + n, 'x', sizeof(u.query) - 10);
    url[n + (int)sizeof(u.query) - 10] = '\0';
    ASSERT_EQ_INT(client_url_parse(url, &u, &eb), 0);
    ASSERT_EQ_INT(client_url_add_meta(&u, &m), ERR_TOOBIG);
}

TEST(server_url)
{
    char out[256];
    ASSERT_EQ_INT(client_server_url("h:8080", CLIENT_SCHEME_WS, NDT7_UPLOAD, out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "ws://h:8080/ndt/v7/upload");
    ASSERT_EQ_INT(client_server_url("::1", CLIENT_SCHEME_WSS, NDT7_DOWNLOAD, out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "wss://[::1]/ndt/v7/download");
    ASSERT_EQ_INT(
        client_server_url("[::1]:4443", CLIENT_SCHEME_WSS, NDT7_DOWNLOAD, out, sizeof(out)), 0);
    ASSERT_EQ_STR(out, "wss://[::1]:4443/ndt/v7/download");
    ASSERT_EQ_INT(client_server_url("h", CLIENT_SCHEME_WSS, NDT7_DOWNLOAD, out, 10), ERR_TOOBIG);
}

TEST(arch_and_meta_init)
{
    ASSERT_EQ_STR(client_arch_name("x86_64"), "amd64");
    ASSERT_EQ_STR(client_arch_name("aarch64"), "arm64");
    ASSERT_EQ_STR(client_arch_name("i686"), "386");
    ASSERT_EQ_STR(client_arch_name("armv7l"), "arm");
    ASSERT_EQ_STR(client_arch_name("riscv64"), "riscv64");
    struct client_meta m;
    client_meta_init(&m, NULL);
    ASSERT_EQ_STR(m.name, "fathom-cli");
    ASSERT_EQ_STR(m.version, FATHOM_VERSION);
    ASSERT_EQ_STR(m.library_name, "fathom");
    ASSERT_EQ_STR(m.os, "linux");
    ASSERT_TRUE(strcmp(m.arch, "x86_64") != 0 && m.arch[0]);
    char ua[160];
    client_meta_init(&m, "my-app");
    client_user_agent(&m, ua, sizeof(ua));
    ASSERT_EQ_STR(ua, "my-app/" FATHOM_VERSION " fathom/" FATHOM_VERSION);
}
