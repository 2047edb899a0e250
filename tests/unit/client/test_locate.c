/* Unit tests: Locate v2 response parsing (spec §6.3/6.4) over tests/data/locate/ fixtures. */
#include "client/client.h"
#include "harness.h"

#include <unistd.h>

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/locate/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        FAIL_AT("cannot open %s (run from the repository root)", path);
    char *data = malloc(1 << 20);
    *len = fread(data, 1, (1 << 20) - 1, f);
    data[*len] = '\0';
    fclose(f);
    return data;
}

static int parse_fixture(const char *name, long status, struct locate_result *r, struct errbuf *eb)
{
    size_t len;
    char *body = slurp(name, &len);
    int rc = locate_parse(body, len, status, r, eb);
    free(body);
    return rc;
}

TEST(good)
{
    struct locate_result r;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(parse_fixture("good.json", 200, &r, &eb), 0);
    ASSERT_EQ_INT(r.ntargets, 2);
    ASSERT_EQ_STR(r.targets[0].machine, "mlab1-lga05.mlab-oti.measurement-lab.org");
    ASSERT_EQ_STR(r.targets[0].hostname, "ndt-mlab1-lga05.mlab-oti.measurement-lab.org");
    ASSERT_EQ_STR(r.targets[0].urls[CLIENT_SCHEME_WSS][NDT7_UPLOAD],
                  "wss://ndt-mlab1-lga05.mlab-oti.measurement-lab.org/ndt/v7/upload?access_token="
                  "eyJhbGciOiJFZERTQSJ9.e30.c2ln&index=0&locate_version=v2&metro_rank=0");
    ASSERT_TRUE(r.targets[0].urls[CLIENT_SCHEME_WS][NDT7_DOWNLOAD] != NULL);
    /* Port templates ("ws://:8080/...") are matched by scheme and path; other paths ignored. */
    ASSERT_EQ_STR(r.targets[1].urls[CLIENT_SCHEME_WS][NDT7_DOWNLOAD],
                  "ws://ndt-mlab2-nyc02.mlab-oti.measurement-lab.org:8080/ndt/v7/download?"
                  "access_token=x&index=1");
    ASSERT_TRUE(strstr(r.targets[1].urls[CLIENT_SCHEME_WSS][NDT7_DOWNLOAD], "/ndt/v7/download"));
    locate_result_free(&r);
}

TEST(file_url_fetch)
{
    /* locate_fetch reads file:// URLs, so fixtures drive target selection end to end. */
    char cwd[512], url[700];
    ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
    snprintf(url, sizeof(url), "file://%s/tests/data/locate/good.json", cwd);
    struct locate_opts o = {.user_agent = "fathom-test/0", .timeout_ms = 2000};
    struct locate_result r;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(locate_fetch(url, &o, &r, &eb), 0);
    ASSERT_EQ_INT(r.ntargets, 2);
    locate_result_free(&r);
    snprintf(url, sizeof(url), "file://%s/tests/data/locate/missing.json", cwd);
    ASSERT_EQ_INT(locate_fetch(url, &o, &r, &eb), ERR_IO);
    ASSERT_TRUE(strstr(eb.msg, "locate:") != NULL);
    locate_result_free(&r);
}

TEST(error_object)
{
    struct locate_result r;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(parse_fixture("error-429.json", 429, &r, &eb), ERR_HTTP);
    ASSERT_EQ_STR(eb.msg, "locate: Too many periodic requests. Please contact "
                          "support@measurementlab.net. (status 429)");
    locate_result_free(&r);
    ASSERT_EQ_INT(parse_fixture("error-500.json", 0, &r, &eb), ERR_HTTP);
    ASSERT_EQ_STR(eb.msg,
                  "locate: Failed to lookup nearest machines: no healthy machines (status 500)");
    locate_result_free(&r);
}

TEST(missing_results)
{
    const char *files[] = {"no-results.json", "empty-results.json", "null-results.json"};
    for (size_t i = 0; i < 3; i++) {
        struct locate_result r;
        struct errbuf eb = {""};
        ASSERT_EQ_INT(parse_fixture(files[i], 200, &r, &eb), ERR_NOTFOUND);
        ASSERT_EQ_STR(eb.msg, "locate: no available servers");
        locate_result_free(&r);
    }
}

TEST(malformed)
{
    struct locate_result r;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(parse_fixture("malformed.json", 200, &r, &eb), ERR_PROTO);
    ASSERT_TRUE(strstr(eb.msg, "locate: malformed JSON response") == eb.msg);
    locate_result_free(&r);
    ASSERT_EQ_INT(parse_fixture("html.json", 200, &r, &eb), ERR_PROTO);
    locate_result_free(&r);
    /* A proxy's HTML error page with a failing status says the status, not "bad JSON". */
    ASSERT_EQ_INT(parse_fixture("html.json", 502, &r, &eb), ERR_HTTP);
    ASSERT_EQ_STR(eb.msg, "locate: HTTP status 502");
    locate_result_free(&r);
    ASSERT_EQ_INT(locate_parse("", 0, 200, &r, &eb), ERR_PROTO);
    locate_result_free(&r);
}

TEST(wrong_types)
{
    struct {
        const char *file, *needle;
    } cases[] = {
        {"wrong-results-type.json", "\"results\" is not an array"},
        {"wrong-urls-type.json", "results[0].urls is missing or not an object"},
        {"wrong-url-value.json", "results[0].urls[\"ws:///ndt/v7/download\"] is not a string"},
        {"wrong-machine-type.json", "results[0].machine is not a string"},
        {"not-object.json", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct locate_result r;
        struct errbuf eb = {""};
        int rc = parse_fixture(cases[i].file, 200, &r, &eb);
        if (rc != ERR_PROTO || !strstr(eb.msg, cases[i].needle))
            FAIL_AT("%s: rc %d, '%s'", cases[i].file, rc, eb.msg);
        locate_result_free(&r);
    }
}

TEST(non_200_without_error_object)
{
    struct locate_result r;
    struct errbuf eb = {""};
    ASSERT_EQ_INT(locate_parse("{}", 2, 503, &r, &eb), ERR_HTTP);
    ASSERT_EQ_STR(eb.msg, "locate: HTTP status 503");
    locate_result_free(&r);
}

TEST(every_prefix_of_good_fails_cleanly)
{
    /* Truncated bodies (a dropped connection) never crash or leak, and never "succeed" oddly. */
    size_t len;
    char *body = slurp("good.json", &len);
    for (size_t n = 0; n < len - 2; n++) {
        struct locate_result r;
        struct errbuf eb = {""};
        int rc = locate_parse(body, n, 200, &r, &eb);
        if (rc == 0)
            FAIL_AT("prefix %zu parsed", n);
        locate_result_free(&r);
    }
    free(body);
}
