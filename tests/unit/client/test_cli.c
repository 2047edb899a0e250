/* Unit tests: the `fathom test` command line (names are a contract, issue 3). */
#include "client/client.h"
#include "harness.h"

#include <sys/socket.h>

#define ARGV(...) ((char *[]){"test", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"test", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, eb, ...) client_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cfg), (eb))

static void expect_usage_error(int argc, char **argv, const char *needle)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    int rc = client_parse_args(argc, argv, &cfg, &eb);
    if (rc != ERR_CONFIG)
        FAIL_AT("expected ERR_CONFIG for '%s', got %d", argv[1], rc);
    if (!strstr(eb.msg, needle))
        FAIL_AT("message '%s' lacks '%s'", eb.msg, needle);
}
#define BAD(needle, ...) expect_usage_error(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (needle))

TEST(defaults)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    char *argv[] = {"test", NULL};
    ASSERT_EQ_INT(client_parse_args(1, argv, &cfg, &eb), 0);
    ASSERT_EQ_STR(cfg.locate_url, "https://locate.measurementlab.net/v2/nearest/ndt/ndt7");
    ASSERT_EQ_INT(cfg.scheme, CLIENT_SCHEME_WSS);
    ASSERT_EQ_INT(cfg.format, CLIENT_FORMAT_AUTO);
    ASSERT_EQ_INT(cfg.timeout_s, 55);
    ASSERT_EQ_STR(cfg.client_name, "fathom-cli");
    ASSERT_TRUE(cfg.download && cfg.upload);
    ASSERT_TRUE(!cfg.no_verify && !cfg.quiet && !cfg.help);
    ASSERT_EQ_INT(cfg.family, 0);
    ASSERT_TRUE(cfg.server == NULL && cfg.service_url == NULL && cfg.ca_file == NULL);
}

TEST(all_options)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--server", "example.net:8080", "--scheme", "ws", "--no-verify",
                        "--ca-file", "/dev/null", "--format", "json", "--quiet", "-4", "--timeout",
                        "30", "--no-upload", "--client-name", "my-app", "--locate-url",
                        "file:///tmp/x.json"),
                  0);
    ASSERT_EQ_STR(cfg.server, "example.net:8080");
    ASSERT_EQ_INT(cfg.scheme, CLIENT_SCHEME_WS);
    ASSERT_TRUE(cfg.no_verify && cfg.quiet);
    ASSERT_EQ_STR(cfg.ca_file, "/dev/null");
    ASSERT_EQ_INT(cfg.format, CLIENT_FORMAT_JSON);
    ASSERT_EQ_INT(cfg.family, AF_INET);
    ASSERT_EQ_INT(cfg.timeout_s, 30);
    ASSERT_TRUE(cfg.download && !cfg.upload);
    ASSERT_EQ_STR(cfg.client_name, "my-app");
    ASSERT_EQ_STR(cfg.locate_url, "file:///tmp/x.json");
}

TEST(equals_syntax_and_last_wins)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(
        PARSE(&cfg, &eb, "--format=human", "-6", "--no-download", "--download", "--timeout=10s"),
        0);
    ASSERT_EQ_INT(cfg.format, CLIENT_FORMAT_HUMAN);
    ASSERT_EQ_INT(cfg.family, AF_INET6);
    ASSERT_TRUE(cfg.download && cfg.upload);
    ASSERT_EQ_INT(cfg.timeout_s, 10);
}

TEST(help)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--help"), 0);
    ASSERT_TRUE(cfg.help);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--timeout", "5", "-h"), 0);
    ASSERT_TRUE(cfg.help);
}

TEST(usage_text_names_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    client_usage(f);
    fclose(f);
    const char *names[] = {"--server HOST[:PORT]",
                           "--scheme ws|wss",
                           "--service-url URL",
                           "--locate-url URL",
                           "--no-verify",
                           "--ca-file FILE",
                           "--format human|json",
                           "--quiet",
                           "-4",
                           "-6",
                           "--timeout SECONDS",
                           "--download",
                           "--no-download",
                           "--upload",
                           "--no-upload",
                           "--client-name NAME",
                           "--help",
                           "64"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strstr(text, names[i]))
            FAIL_AT("usage lacks %s", names[i]);
    free(text);
}

TEST(service_url_picks_direction)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(
        PARSE(&cfg, &eb, "--service-url", "wss://h.example/ndt/v7/upload?access_token=abc"), 0);
    ASSERT_TRUE(!cfg.download && cfg.upload);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--service-url", "ws://[::1]:8080/ndt/v7/download"), 0);
    ASSERT_TRUE(cfg.download && !cfg.upload);
}

TEST(bad_inputs)
{
    BAD("unknown option '--bogus'", "--bogus");
    BAD("unknown option '-x'", "-x");
    BAD("needs an argument", "--server");
    BAD("--format must be human|json", "--format", "xml");
    BAD("--scheme must be ws|wss", "--scheme", "http");
    BAD("--timeout", "--timeout", "0");
    BAD("--timeout", "--timeout", "abc");
    BAD("--timeout", "--timeout", "-5");
    BAD("--timeout", "--timeout", "99999");
    BAD("-4 and -6", "-4", "-6");
    BAD("cannot be used together", "--server", "a", "--service-url", "ws://a/ndt/v7/download");
    BAD("nothing to do", "--no-download", "--no-upload");
    BAD("--service-url path", "--service-url", "ws://a/ndt/v7/other");
    BAD("ws:// or wss://", "--service-url", "http://a/ndt/v7/download");
    BAD("drop --upload", "--service-url", "ws://a/ndt/v7/download", "--upload");
    BAD("which --no-download skips", "--service-url", "ws://a/ndt/v7/download", "--no-download");
    BAD("--server must be", "--server", "a/b");
    BAD("--server must be", "--server", "host:99999");
    BAD("--server must be", "--server", "host:");
    BAD("--locate-url", "--locate-url", "ftp://x/");
    BAD("--client-name", "--client-name", "has space");
    BAD("--client-name must be 1 to 63", "--client-name",
        "0123456789012345678901234567890123456789012345678901234567890123");
    BAD("--ca-file /nonexistent", "--ca-file", "/nonexistent/ca.pem");
    BAD("unexpected argument 'extra'", "extra");
    BAD("non-empty", "--server", "");
}

TEST(server_forms)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--server", "localhost"), 0);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--server", "[::1]:4443"), 0);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--server", "::1"), 0);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--server", "192.0.2.1:80"), 0);
}

TEST(repeatable)
{
    /* getopt state is reset: a second parse sees its own argv from the start. */
    struct client_config cfg;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--quiet", "--no-upload"), 0);
    ASSERT_EQ_INT(PARSE(&cfg, &eb, "--no-download"), 0);
    ASSERT_TRUE(!cfg.quiet && !cfg.download && cfg.upload);
}
