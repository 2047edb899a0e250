/*
 * Unit tests for src/archive/index.c: schema, summary maths (download and
 * upload), allowlist on indexed metadata, filters (dates, direction, CIDR),
 * upsert keeping the published flag, delete, reindex from files.
 */
#include "harness.h"

#include "archive/archive.h"
#include "archive/index.h"
#include "core/clock.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/fathom-index-XXXXXX");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    return dir;
}

static void rmrf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
}

static void make(struct archive_record *r, bool download, const char *uuid, const char *ip,
                 const char *start)
{
    archive_record_init(r);
    r->download = download;
    snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
    snprintf(r->client_ip, sizeof(r->client_ip), "%s", ip);
    snprintf(r->server_ip, sizeof(r->server_ip), "192.0.2.1");
    ASSERT_EQ_INT(clock_parse_rfc3339(start, &r->start_ns), 0);
    r->end_ns = r->start_ns + 10 * NS_PER_SEC;
    r->test_start_ns = r->start_ns;
    r->test_end_ns = r->end_ns;
    if (download) {
        buf_append_str(&r->server_measurements,
                       "{\"TCPInfo\":{\"BytesAcked\":1000,\"ElapsedTime\":1000,\"MinRTT\":3000}},"
                       "{\"TCPInfo\":{\"BytesAcked\":12500000,\"BytesSent\":12600000,"
                       "\"BytesRetrans\":126000,\"ElapsedTime\":10000000,\"MinRTT\":2500}}");
    } else {
        buf_append_str(&r->server_measurements,
                       "{\"AppInfo\":{\"NumBytes\":6250000,\"ElapsedTime\":10000000},"
                       "\"TCPInfo\":{\"BytesReceived\":6300000,\"ElapsedTime\":10000000,"
                       "\"MinRTT\":4000}}");
    }
    r->n_server = download ? 2 : 1;
    archive_record_add_metadata(r, false, "client_name", "unit");
    /* Not on the allowlist: must never reach the index even if a file carries it. */
    archive_record_add_metadata(r, false, "access_token", "secret-token");
    archive_record_add_metadata(r, false, "client_os", "has\ttab");
    snprintf(r->fathom.scheme, sizeof(r->fathom.scheme), "wss");
}

struct rows {
    int n;
    struct archive_index_row last;
};

static int count_cb(const struct archive_index_row *row, void *udata)
{
    struct rows *r = udata;
    r->n++;
    r->last = *row;
    return 0;
}

static int query(struct archive_index *ix, const struct archive_index_filter *f,
                 struct archive_index_row *last)
{
    struct rows r = {0};
    struct errbuf eb = {""};
    ASSERT_EQ_INT(archive_index_each(ix, f, count_cb, &r, &eb), 0);
    if (last)
        *last = r.last;
    return r.n;
}

TEST(summary_and_filters)
{
    char *dir = tmpdir();
    struct errbuf eb = {""};
    ASSERT_TRUE(archive_index_open(dir, false, &eb) == NULL); /* no index yet */
    struct archive_index *ix = archive_index_open(dir, true, &eb);
    ASSERT_TRUE(ix != NULL);
    struct archive_record r;
    make(&r, true, "h_1_unsafe_0000000000000001", "198.51.100.7", "2024-03-01T10:00:00Z");
    ASSERT_EQ_INT(
        archive_index_add_record(ix, &r, "ndt7/2024/03/01/ndt7-download-x.json.gz", 1234, &eb), 0);
    archive_record_free(&r);
    make(&r, false, "h_1_unsafe_0000000000000002", "2001:db8:1:2::9", "2024-03-02T10:00:00Z");
    ASSERT_EQ_INT(
        archive_index_add_record(ix, &r, "ndt7/2024/03/02/ndt7-upload-y.json.gz", 99, &eb), 0);
    archive_record_free(&r);

    struct archive_index_filter f;
    struct archive_index_row row;
    archive_index_filter_init(&f);
    ASSERT_EQ_INT(query(ix, &f, NULL), 2);
    f.direction = 1;
    ASSERT_EQ_INT(query(ix, &f, &row), 1);
    ASSERT_EQ_STR(row.uuid, "h_1_unsafe_0000000000000001");
    ASSERT_NEAR(row.throughput_mbps, 10.0, 1e-9); /* 8 * 12.5 MB / 10 s */
    ASSERT_NEAR(row.min_rtt_ms, 2.5, 1e-9);
    ASSERT_NEAR(row.retrans_pct, 1.0, 1e-9);
    ASSERT_EQ_STR(row.day, "2024-03-01");
    ASSERT_EQ_STR(row.scheme, "wss");
    ASSERT_EQ_INT(row.size, 1234);
    /* Only allowlisted, printable metadata is indexed. */
    ASSERT_EQ_STR(row.metadata, "{\"client_name\":\"unit\"}");

    f.direction = 0;
    ASSERT_EQ_INT(query(ix, &f, &row), 1);
    ASSERT_NEAR(row.throughput_mbps, 5.0, 1e-9); /* AppInfo wins over BytesReceived */
    ASSERT_TRUE(isnan(row.retrans_pct));

    archive_index_filter_init(&f);
    ASSERT_EQ_INT(archive_ip_prefix("198.51.100.0/24", f.ip_lo, f.ip_hi), 0);
    f.by_ip = true;
    ASSERT_EQ_INT(query(ix, &f, NULL), 1);
    ASSERT_EQ_INT(archive_ip_prefix("198.51.101.0/24", f.ip_lo, f.ip_hi), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 0);
    ASSERT_EQ_INT(archive_ip_prefix("2001:db8:1::/48", f.ip_lo, f.ip_hi), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 1);
    ASSERT_EQ_INT(archive_ip_prefix("198.51.100.7", f.ip_lo, f.ip_hi), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 1);
    ASSERT_EQ_INT(archive_ip_prefix("198.51.100.8", f.ip_lo, f.ip_hi), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 0);
    ASSERT_EQ_INT(archive_ip_prefix("0.0.0.0/0", f.ip_lo, f.ip_hi), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 1); /* all IPv4, not the IPv6 one */
    ASSERT_TRUE(archive_ip_prefix("198.51.100.0/33", f.ip_lo, f.ip_hi) != 0);
    ASSERT_TRUE(archive_ip_prefix("not-an-ip", f.ip_lo, f.ip_hi) != 0);

    archive_index_filter_init(&f);
    ASSERT_EQ_INT(clock_parse_rfc3339("2024-03-02T00:00:00Z", &f.since_ns), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 1);
    f.since_ns = 0;
    f.until_ns = f.since_ns + 1;
    ASSERT_EQ_INT(clock_parse_rfc3339("2024-03-02T00:00:00Z", &f.until_ns), 0);
    ASSERT_EQ_INT(query(ix, &f, NULL), 1);
    archive_index_filter_init(&f);
    f.day = "2024-03-02";
    ASSERT_EQ_INT(archive_index_count(ix, &f, &eb), 1);

    /* Published flag survives a re-add (the server may re-index a record). */
    ASSERT_EQ_INT(archive_index_mark_published(ix, "h_1_unsafe_0000000000000001", "b.tar.gz", &eb),
                  0);
    ASSERT_TRUE(archive_index_has_bundle(ix, "b.tar.gz"));
    make(&r, true, "h_1_unsafe_0000000000000001", "198.51.100.7", "2024-03-01T10:00:00Z");
    ASSERT_EQ_INT(
        archive_index_add_record(ix, &r, "ndt7/2024/03/01/ndt7-download-x.json.gz", 1234, &eb), 0);
    archive_record_free(&r);
    archive_index_filter_init(&f);
    f.published = 1;
    ASSERT_EQ_INT(query(ix, &f, &row), 1);
    ASSERT_EQ_STR(row.bundle, "b.tar.gz");

    ASSERT_EQ_INT(archive_index_delete(ix, "h_1_unsafe_0000000000000002", &eb), 0);
    ASSERT_EQ_INT(archive_index_delete(ix, "h_1_unsafe_0000000000000002", &eb), ERR_NOTFOUND);
    archive_index_filter_init(&f);
    ASSERT_EQ_INT(archive_index_count(ix, &f, &eb), 1);
    archive_index_close(ix);
    rmrf(dir);
}

TEST(add_file_matches_add_record)
{
    char *dir = tmpdir();
    struct errbuf eb = {""};
    struct archive_record r;
    make(&r, true, "h_1_unsafe_00000000000000AA", "192.0.2.55", "2024-03-01T10:00:00Z");
    char path[512];
    ASSERT_EQ_INT(archive_write_sync(dir, &r, path, sizeof(path), &eb), 0);
    archive_record_free(&r);
    struct archive_index *ix = archive_index_open(dir, true, &eb);
    ASSERT_TRUE(ix != NULL);
    const char *rel = path + strlen(dir) + 1;
    ASSERT_EQ_INT(archive_index_add_file(ix, dir, rel, &eb), 0);
    struct archive_index_filter f;
    struct archive_index_row row;
    archive_index_filter_init(&f);
    ASSERT_EQ_INT(query(ix, &f, &row), 1);
    ASSERT_EQ_STR(row.relpath, rel);
    ASSERT_NEAR(row.throughput_mbps, 10.0, 1e-9);
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(row.size, st.st_size);
    ASSERT_EQ_STR(row.client_ip, "192.0.2.55");
    /* Not a record: refused with a reason. */
    FILE *f2 = fopen("/tmp/fathom-index-bad.json", "w");
    fputs("{\"Foo\":1}", f2);
    fclose(f2);
    ASSERT_TRUE(archive_index_add_file(ix, "/tmp", "fathom-index-bad.json", &eb) == ERR_PROTO);
    unlink("/tmp/fathom-index-bad.json");
    archive_index_close(ix);
    rmrf(dir);
}
