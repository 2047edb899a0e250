/*
 * Unit tests for src/archive: record JSON (parsed back with jansson and, when
 * installed, Node), file names, UUIDs, atomic writes, the writer thread, and
 * crash safety under SIGKILL.
 */
#include "harness.h"

#include "archive/archive.h"
#include "core/clock.h"
#include "core/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SERVER_M1                                                                                  \
    "{\"ConnectionInfo\":{\"Client\":\"192.0.2.7:40000\",\"Server\":\"198.51.100.1:443\","         \
    "\"UUID\":\"host_1_unsafe_0000000000000001\"},\"BBRInfo\":{\"BW\":12500000,\"MinRTT\":"        \
    "4000},\"TCPInfo\":{\"BytesAcked\":1048576,\"ElapsedTime\":100000,\"MinRTT\":4000}}"
#define SERVER_M2                                                                                  \
    "{\"TCPInfo\":{\"BytesAcked\":20971520,\"BytesSent\":21000000,\"ElapsedTime\":10000000}}"
#define CLIENT_M1 "{\"AppInfo\":{\"ElapsedTime\":250000,\"NumBytes\":131072}}"

static uint64_t parse_time(const char *s)
{
    uint64_t ns = 0;
    ASSERT_EQ_INT(clock_parse_rfc3339(s, &ns), 0);
    return ns;
}

/* A filled-in download record; measurements optional. */
static void make_record(struct archive_record *r, bool download, const char *uuid,
                        bool client_measurements)
{
    archive_record_init(r);
    r->download = download;
    snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
    snprintf(r->server_ip, sizeof(r->server_ip), "2001:db8::1");
    snprintf(r->client_ip, sizeof(r->client_ip), "192.0.2.7");
    r->server_port = 443;
    r->client_port = 40000;
    r->start_ns = parse_time("2022-11-30T23:07:36.000000001Z");
    r->end_ns = parse_time("2022-11-30T23:07:46.606388371Z");
    r->test_start_ns = parse_time("2022-11-30T23:07:36.100000000Z");
    r->test_end_ns = parse_time("2022-11-30T23:07:46.500000000Z");
    ASSERT_EQ_INT(buf_append_str(&r->server_measurements, SERVER_M1 "," SERVER_M2), 0);
    r->n_server = 2;
    if (client_measurements) {
        ASSERT_EQ_INT(buf_append_str(&r->client_measurements, CLIENT_M1), 0);
        r->n_client = 1;
    }
    r->fathom.end_reason = "done";
    r->fathom.close_code = 1000;
    r->fathom.app_bytes = 20971520;
    snprintf(r->fathom.scheme, sizeof(r->fathom.scheme), "wss");
}

static json_t *to_json(const struct archive_record *r)
{
    struct buf out;
    buf_init(&out, 64u << 20);
    ASSERT_EQ_INT(archive_record_json(r, &out), 0);
    ASSERT_TRUE(out.len > 0);
    ASSERT_TRUE(buf_head(&out)[out.len - 1] == '}'); /* no trailing newline */
    json_error_t err;
    json_t *j = json_loadb((const char *)buf_head(&out), out.len, 0, &err);
    if (!j)
        FAIL_AT("jansson: %s at %d: %.*s", err.text, err.position, (int)out.len,
                (const char *)buf_head(&out));
    buf_free(&out);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        FAIL_AT("key %s is not a string", key);
    return json_string_value(v);
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        FAIL_AT("key %s is not an integer", key);
    return json_integer_value(v);
}

TEST(json_download_schema)
{
    struct archive_record r;
    make_record(&r, true, "host_1666977535_unsafe_000000000016912D", true);
    archive_record_add_metadata(&r, false, "client_name", "fathom");
    archive_record_add_metadata(&r, false, "client_version", "0.1.0");
    archive_record_add_metadata(&r, true, "deployment", "stable");
    snprintf(r.fathom.dropped_metadata, sizeof(r.fathom.dropped_metadata), "foo, bar,,baz");
    r.fathom.steady_mbps = 94.25;
    r.fathom.receiver_error = "wrong-message-type";
    json_t *j = to_json(&r);

    /* The library object may predate the test's build commit: only check it is set. */
    ASSERT_TRUE(jstr(j, "GitShortCommit")[0] != '\0');
    ASSERT_EQ_STR(jstr(j, "Version"), "fathom/" FATHOM_VERSION);
    ASSERT_EQ_STR(jstr(j, "ServerIP"), "2001:db8::1");
    ASSERT_EQ_INT(jint(j, "ServerPort"), 443);
    ASSERT_EQ_STR(jstr(j, "ClientIP"), "192.0.2.7");
    ASSERT_EQ_INT(jint(j, "ClientPort"), 40000);
    ASSERT_EQ_STR(jstr(j, "StartTime"), "2022-11-30T23:07:36.000000001Z");
    ASSERT_EQ_STR(jstr(j, "EndTime"), "2022-11-30T23:07:46.606388371Z");
    ASSERT_TRUE(json_object_get(j, "Upload") == NULL);

    json_t *d = json_object_get(j, "Download");
    ASSERT_TRUE(json_is_object(d));
    ASSERT_EQ_STR(jstr(d, "UUID"), "host_1666977535_unsafe_000000000016912D");
    ASSERT_EQ_STR(jstr(d, "StartTime"), "2022-11-30T23:07:36.100000000Z");
    ASSERT_EQ_STR(jstr(d, "EndTime"), "2022-11-30T23:07:46.500000000Z");
    json_t *sm = json_object_get(d, "ServerMeasurements");
    ASSERT_TRUE(json_is_array(sm));
    ASSERT_EQ_INT(json_array_size(sm), 2);
    json_t *tcp = json_object_get(json_array_get(sm, 1), "TCPInfo");
    ASSERT_EQ_INT(jint(tcp, "BytesAcked"), 20971520);
    json_t *cm = json_object_get(d, "ClientMeasurements");
    ASSERT_TRUE(json_is_array(cm));
    ASSERT_EQ_INT(json_array_size(cm), 1);
    ASSERT_EQ_INT(jint(json_object_get(json_array_get(cm, 0), "AppInfo"), "NumBytes"), 131072);

    json_t *cmd = json_object_get(d, "ClientMetadata");
    ASSERT_TRUE(json_is_array(cmd));
    ASSERT_EQ_INT(json_array_size(cmd), 2);
    ASSERT_EQ_STR(jstr(json_array_get(cmd, 0), "Name"), "client_name");
    ASSERT_EQ_STR(jstr(json_array_get(cmd, 0), "Value"), "fathom");
    ASSERT_EQ_STR(jstr(json_array_get(cmd, 1), "Name"), "client_version");
    ASSERT_EQ_INT(json_object_size(json_array_get(cmd, 1)), 2);
    json_t *smd = json_object_get(d, "ServerMetadata");
    ASSERT_EQ_INT(json_array_size(smd), 1);
    ASSERT_EQ_STR(jstr(json_array_get(smd, 0), "Value"), "stable");
    ASSERT_EQ_INT(json_object_size(d), 7);

    json_t *f = json_object_get(j, "Fathom");
    ASSERT_TRUE(json_is_object(f));
    ASSERT_EQ_STR(jstr(f, "EndReason"), "done");
    ASSERT_EQ_INT(jint(f, "CloseCode"), 1000);
    ASSERT_EQ_INT(jint(f, "AppBytes"), 20971520);
    ASSERT_EQ_STR(jstr(f, "Scheme"), "wss");
    json_t *dm = json_object_get(f, "DroppedMetadata");
    ASSERT_TRUE(json_is_array(dm));
    ASSERT_EQ_INT(json_array_size(dm), 3);
    ASSERT_EQ_STR(json_string_value(json_array_get(dm, 0)), "foo");
    ASSERT_EQ_STR(json_string_value(json_array_get(dm, 1)), "bar");
    ASSERT_EQ_STR(json_string_value(json_array_get(dm, 2)), "baz");
    json_t *mbps = json_object_get(f, "SteadyStateMbps");
    ASSERT_TRUE(json_is_real(mbps));
    ASSERT_NEAR(json_real_value(mbps), 94.25, 1e-9);
    ASSERT_EQ_STR(jstr(f, "SchemaVersion"), "fathom-ndt7/1");
    ASSERT_EQ_STR(jstr(f, "ReceiverError"), "wrong-message-type");
    ASSERT_EQ_INT(json_object_size(f), 8);
    ASSERT_EQ_INT(json_object_size(j), 10);

    json_decref(j);
    archive_record_free(&r);
    /* free leaves the record empty and re-usable; a second free is harmless. */
    ASSERT_TRUE(r.client_metadata == NULL && r.n_client_metadata == 0);
    archive_record_free(&r);
}

TEST(json_upload_null_and_omitted)
{
    struct archive_record r;
    make_record(&r, false, "h_1_unsafe_0000000000000002", false);
    r.fathom.end_reason = NULL;
    r.fathom.steady_mbps = -1;
    buf_reset(&r.server_measurements);
    r.n_server = 0;
    json_t *j = to_json(&r);
    ASSERT_TRUE(json_object_get(j, "Download") == NULL);
    json_t *u = json_object_get(j, "Upload");
    ASSERT_TRUE(json_is_object(u));
    ASSERT_TRUE(json_is_array(json_object_get(u, "ServerMeasurements")));
    ASSERT_EQ_INT(json_array_size(json_object_get(u, "ServerMeasurements")), 0);
    ASSERT_TRUE(json_is_null(json_object_get(u, "ClientMeasurements")));
    ASSERT_TRUE(json_object_get(u, "ClientMetadata") == NULL);
    ASSERT_TRUE(json_object_get(u, "ServerMetadata") == NULL);
    json_t *f = json_object_get(j, "Fathom");
    ASSERT_TRUE(json_object_get(f, "SteadyStateMbps") == NULL);
    ASSERT_TRUE(json_object_get(f, "ReceiverError") == NULL);
    ASSERT_EQ_STR(jstr(f, "EndReason"), "unknown");
    ASSERT_EQ_INT(json_array_size(json_object_get(f, "DroppedMetadata")), 0);
    json_decref(j);

    /* NaN and infinity are not JSON: omitted like "no estimate". */
    r.fathom.steady_mbps = (double)NAN;
    j = to_json(&r);
    ASSERT_TRUE(json_object_get(json_object_get(j, "Fathom"), "SteadyStateMbps") == NULL);
    json_decref(j);
    archive_record_free(&r);
}

TEST(json_escaping)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"say \"hi\"", "say \"hi\""},
        {"back\\slash", "back\\slash"},
        {"ctl\x01\x1f\n\t\r\x7f!", "ctl\x01\x1f\n\t\r\x7f!"},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89",
         "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89"},
        /* invalid UTF-8: stray continuation, overlong, surrogate, truncated tail */
        {"a\x80z", "a\xef\xbf\xbdz"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"x\xe6\x97", "x\xef\xbf\xbd\xef\xbf\xbd"},
        {"</script>", "</script>"},
        {"", ""},
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    struct archive_record r;
    make_record(&r, true, "h_1_unsafe_0000000000000003", true);
    for (size_t i = 0; i < n; i++)
        archive_record_add_metadata(&r, false, cases[i].in, cases[i].in);
    struct buf out;
    buf_init(&out, 1 << 20);
    ASSERT_EQ_INT(archive_record_json(&r, &out), 0);
    /* Control characters appear only as \u00XX escapes. */
    for (size_t i = 0; i < out.len; i++)
        ASSERT_TRUE(buf_head(&out)[i] >= 0x20 && buf_head(&out)[i] != 0x7f);
    ASSERT_TRUE(memmem(buf_head(&out), out.len, "ctl\\u0001\\u001f\\u000a", 21) != NULL);
    buf_free(&out);

    json_t *j = to_json(&r);
    json_t *md = json_object_get(json_object_get(j, "Download"), "ClientMetadata");
    ASSERT_EQ_INT(json_array_size(md), n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_STR(jstr(json_array_get(md, i), "Name"), cases[i].want);
        ASSERT_EQ_STR(jstr(json_array_get(md, i), "Value"), cases[i].want);
    }
    json_decref(j);
    archive_record_free(&r);
}

TEST(json_too_big_leaves_out_unchanged)
{
    struct archive_record r;
    make_record(&r, true, "h_1_unsafe_0000000000000004", true);
    struct buf out;
    buf_init(&out, 200);
    ASSERT_EQ_INT(buf_append_str(&out, "prefix"), 0);
    ASSERT_EQ_INT(archive_record_json(&r, &out), ERR_TOOBIG);
    ASSERT_EQ_INT(out.len, 6);
    buf_free(&out);
    archive_record_free(&r);
}

TEST(json_parses_in_node)
{
    if (system("command -v node >/dev/null 2>&1") != 0) {
        printf("# skip: node not installed\n");
        return;
    }
    struct archive_record r;
    make_record(&r, false, "h_1_unsafe_0000000000000005", true);
    archive_record_add_metadata(&r, false, "client_name", "q\"\\\x01\xe2\x80\xa8\xff");
    struct buf out;
    buf_init(&out, 1 << 20);
    ASSERT_EQ_INT(archive_record_json(&r, &out), 0);
    char path[] = "/tmp/fathom-archive-node-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, buf_head(&out), out.len), out.len);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "node -e 'const j = JSON.parse(require(\"fs\").readFileSync(process.argv[1], "
             "\"utf8\")); const u = j.Upload; "
             "if (u.ClientMetadata[0].Value !== \"q\\\"\\\\\\u0001\\u2028\\ufffd\" || "
             "u.ServerMeasurements.length !== 2 || j.Fathom.SchemaVersion !== \"fathom-ndt7/1\" "
             "|| j.Download !== undefined) process.exit(3)' %s",
             path);
    int st = system(cmd);
    unlink(path);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
    buf_free(&out);
    archive_record_free(&r);
}

TEST(relpath_format)
{
    struct archive_record r;
    archive_record_init(&r);
    snprintf(r.uuid, sizeof(r.uuid), "ndt-rczlq_1666977535_unsafe_000000000016912D");
    r.download = true;
    char p[256];
    archive_record_relpath(&r, parse_time("2022-11-30T23:07:46.606388371Z"), p, sizeof(p));
    ASSERT_EQ_STR(p, "ndt7/2022/11/30/ndt7-download-20221130T230746.606388371Z."
                     "ndt-rczlq_1666977535_unsafe_000000000016912D.json.gz");
    r.download = false;
    archive_record_relpath(&r, parse_time("2026-01-02T03:04:05.000000007Z"), p, sizeof(p));
    ASSERT_EQ_STR(p, "ndt7/2026/01/02/ndt7-upload-20260102T030405.000000007Z."
                     "ndt-rczlq_1666977535_unsafe_000000000016912D.json.gz");
    archive_record_free(&r);
}

TEST(uuid_make_and_valid)
{
    char u[128];
    archive_uuid_make("ndt-rczlq_1666977535_unsafe", 0x16912D, u, sizeof(u));
    ASSERT_EQ_STR(u, "ndt-rczlq_1666977535_unsafe_000000000016912D");
    archive_uuid_make("p", UINT64_MAX, u, sizeof(u));
    ASSERT_EQ_STR(u, "p_FFFFFFFFFFFFFFFF");
    ASSERT_TRUE(archive_uuid_valid("abc_1.2-3"));
    ASSERT_TRUE(!archive_uuid_valid(""));
    ASSERT_TRUE(!archive_uuid_valid("../etc"));
    ASSERT_TRUE(!archive_uuid_valid("a/b"));
    ASSERT_TRUE(!archive_uuid_valid(".hidden"));
    ASSERT_TRUE(!archive_uuid_valid("sp ace"));
}

static void write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(write(fd, content, strlen(content)), strlen(content));
    close(fd);
}

TEST(uuid_prefix_from_file)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/prefix", dir);
    char out[128];
    struct errbuf eb = {{0}};

    write_file(path, "  mlab1-abc0t_1700000000\n");
    ASSERT_EQ_INT(archive_uuid_prefix(path, out, sizeof(out), &eb), 0);
    ASSERT_EQ_STR(out, "mlab1-abc0t_1700000000");

    write_file(path, " \n");
    ASSERT_EQ_INT(archive_uuid_prefix(path, out, sizeof(out), &eb), ERR_CONFIG);
    ASSERT_TRUE(strstr(eb.msg, "empty") != NULL);

    write_file(path, "../../etc\n");
    ASSERT_EQ_INT(archive_uuid_prefix(path, out, sizeof(out), &eb), ERR_CONFIG);

    unlink(path);
    ASSERT_EQ_INT(archive_uuid_prefix(path, out, sizeof(out), &eb), -ENOENT);
    ASSERT_TRUE(strstr(eb.msg, path) != NULL);
    rmdir(dir);
}

TEST(uuid_prefix_default)
{
    char out[128], want[400], host[256];
    struct errbuf eb = {{0}};
    int rc = archive_uuid_prefix(NULL, out, sizeof(out), &eb);
    if (rc)
        FAIL_AT("archive_uuid_prefix: %s", eb.msg);
    ASSERT_EQ_INT(gethostname(host, sizeof(host)), 0);
    FILE *f = fopen("/proc/stat", "r");
    ASSERT_TRUE(f != NULL);
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    ASSERT_TRUE(btime > 0);
    snprintf(want, sizeof(want), "%s_%llu_unsafe", host, btime);
    ASSERT_EQ_STR(out, want);
}

/* Gunzip a whole file; the stream must end exactly at the end of the file. */
static char *gunzip_file(const char *path, size_t *out_n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        FAIL_AT("open %s: %s", path, strerror(errno));
    struct stat st;
    ASSERT_EQ_INT(fstat(fd, &st), 0);
    if (st.st_size == 0)
        FAIL_AT("%s is empty", path);
    unsigned char *in = malloc((size_t)st.st_size);
    ASSERT_EQ_INT(read(fd, in, (size_t)st.st_size), st.st_size);
    close(fd);
    ASSERT_TRUE(in[0] == 0x1f && in[1] == 0x8b);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ASSERT_EQ_INT(inflateInit2(&zs, 15 + 16), Z_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap + 1);
    zs.next_in = in;
    zs.avail_in = (uInt)st.st_size;
    int zr;
    do {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap + 1);
        }
        zs.next_out = (Bytef *)out + len;
        zs.avail_out = (uInt)(cap - len);
        zr = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END)
            FAIL_AT("%s: inflate error %d (truncated or corrupt)", path, zr);
    } while (zr != Z_STREAM_END);
    ASSERT_EQ_INT(zs.avail_in, 0);
    inflateEnd(&zs);
    free(in);
    out[len] = '\0';
    *out_n = len;
    return out;
}

typedef void (*visit_fn)(const char *path, const char *name, void *ctx);

static void walk(const char *dir, visit_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        ASSERT_EQ_INT(lstat(p, &st), 0);
        if (S_ISDIR(st.st_mode))
            walk(p, fn, ctx);
        else
            fn(p, e->d_name, ctx);
    }
    closedir(d);
}

static void rm_visit(const char *path, const char *name, void *ctx)
{
    (void)name;
    (void)ctx;
    unlink(path);
}

static void rm_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        rm_dirs(p);
    }
    closedir(d);
    rmdir(dir);
}

static void rm_rf(const char *dir)
{
    walk(dir, rm_visit, NULL);
    rm_dirs(dir);
}

struct scan {
    int finals, tmps, others;
    char uuids[256][128];
};

/* Every final-name file must gunzip completely and parse; anything else must be .tmp-*. */
static void scan_visit(const char *path, const char *name, void *ctx)
{
    struct scan *s = ctx;
    if (strncmp(name, ".tmp-", 5) == 0) {
        s->tmps++;
        return;
    }
    size_t nl = strlen(name);
    if (strncmp(name, "ndt7-", 5) != 0 || nl < 8 || strcmp(name + nl - 8, ".json.gz") != 0) {
        s->others++;
        return;
    }
    size_t n;
    char *text = gunzip_file(path, &n);
    ASSERT_TRUE(n > 0 && text[n - 1] == '}');
    json_error_t err;
    json_t *j = json_loadb(text, n, 0, &err);
    if (!j)
        FAIL_AT("%s: %s", path, err.text);
    json_t *a = json_object_get(j, "Download");
    if (!a)
        a = json_object_get(j, "Upload");
    ASSERT_TRUE(json_is_object(a));
    const char *uuid = jstr(a, "UUID");
    ASSERT_TRUE(strstr(name, uuid) != NULL);
    if (s->finals < 256)
        snprintf(s->uuids[s->finals], sizeof(s->uuids[0]), "%s", uuid);
    s->finals++;
    json_decref(j);
    free(text);
}

TEST(write_sync_roundtrip)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char datadir[PATH_MAX];
    snprintf(datadir, sizeof(datadir), "%s/spool/ndt", dir); /* created on demand */
    struct archive_record r;
    make_record(&r, true, "h_1_unsafe_0000000000000010", true);
    archive_record_add_metadata(&r, false, "client_name", "t\xc3\xa9st");
    char path[PATH_MAX];
    struct errbuf eb = {{0}};
    uint64_t before = clock_real_ns();
    int rc = archive_write_sync(datadir, &r, path, sizeof(path), &eb);
    if (rc)
        FAIL_AT("archive_write_sync: %s", eb.msg);
    uint64_t after = clock_real_ns();

    /* The name: absolute, in the day directory of the creation time. */
    ASSERT_TRUE(path[0] == '/');
    ASSERT_TRUE(strncmp(path, datadir, strlen(datadir)) == 0);
    char lo[PATH_MAX], hi[PATH_MAX];
    archive_record_relpath(&r, before, lo, sizeof(lo));
    archive_record_relpath(&r, after, hi, sizeof(hi));
    const char *rel = path + strlen(datadir) + 1;
    ASSERT_TRUE(strcmp(rel, lo) >= 0 && strcmp(rel, hi) <= 0);
    ASSERT_EQ_INT(strlen(rel), strlen(lo));

    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 07777, 0644);
    char day[PATH_MAX];
    snprintf(day, sizeof(day), "%.*s", (int)(strrchr(path, '/') - path), path);
    ASSERT_EQ_INT(stat(day, &st), 0);
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    mode_t um = umask(0);
    umask(um);
    ASSERT_EQ_INT(st.st_mode & 0777, 0755 & ~um);

    size_t n;
    char *text = gunzip_file(path, &n);
    struct buf want;
    buf_init(&want, 1 << 20);
    ASSERT_EQ_INT(archive_record_json(&r, &want), 0);
    ASSERT_EQ_INT(n, want.len);
    ASSERT_EQ_MEM(text, buf_head(&want), n);
    buf_free(&want);
    free(text);

    /* Nothing else in the tree: no temporary file left behind. */
    struct scan *s = calloc(1, sizeof(*s));
    walk(datadir, scan_visit, s);
    ASSERT_EQ_INT(s->finals, 1);
    ASSERT_EQ_INT(s->tmps, 0);
    ASSERT_EQ_INT(s->others, 0);
    free(s);
    archive_record_free(&r);
    rm_rf(dir);
}

TEST(write_sync_refuses_unsafe_uuid)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    struct archive_record r;
    make_record(&r, true, "../../escape", false);
    struct errbuf eb = {{0}};
    ASSERT_EQ_INT(archive_write_sync(dir, &r, NULL, 0, &eb), ERR_CONFIG);
    ASSERT_TRUE(strstr(eb.msg, "UUID") != NULL);
    archive_record_free(&r);
    rm_rf(dir);
}

TEST(unwritable_datadir_clear_error)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char file[PATH_MAX / 2], datadir[PATH_MAX];
    snprintf(file, sizeof(file), "%s/not-a-dir", dir);
    write_file(file, "x");
    snprintf(datadir, sizeof(datadir), "%s/spool", file);

    struct archive_record r;
    make_record(&r, true, "h_1_unsafe_0000000000000011", false);
    struct errbuf eb = {{0}};
    char path[PATH_MAX] = "junk";
    ASSERT_EQ_INT(archive_write_sync(datadir, &r, path, sizeof(path), &eb), -ENOTDIR);
    ASSERT_EQ_STR(path, "");
    ASSERT_TRUE(strstr(eb.msg, "cannot create directory") != NULL);
    ASSERT_TRUE(strstr(eb.msg, file) != NULL);
    ASSERT_TRUE(strstr(eb.msg, "Not a directory") != NULL);

    memset(&eb, 0, sizeof(eb));
    ASSERT_TRUE(archive_writer_start(datadir, NULL, NULL, &eb) == NULL);
    ASSERT_TRUE(strstr(eb.msg, "Not a directory") != NULL);

    /* Permission denied, where we are not root (root ignores mode bits). */
    if (geteuid() != 0) {
        char ro[PATH_MAX];
        snprintf(ro, sizeof(ro), "%s/ro", dir);
        ASSERT_EQ_INT(mkdir(ro, 0555), 0);
        memset(&eb, 0, sizeof(eb));
        ASSERT_TRUE(archive_writer_start(ro, NULL, NULL, &eb) == NULL);
        ASSERT_TRUE(strstr(eb.msg, "not writable") != NULL);
        ASSERT_EQ_INT(archive_write_sync(ro, &r, NULL, 0, &eb), -EACCES);
    }
    archive_record_free(&r);
    rm_rf(dir);
}

TEST(write_failure_removes_temp)
{
    /* A file-size limit makes write(2) fail part-way, like a full disk. */
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    struct archive_record r;
    make_record(&r, true, "h_1_unsafe_0000000000000012", true);
    /* Incompressible-ish content so the gzip is well over the limit. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ASSERT_EQ_INT(buf_appendf(&r.server_measurements, ",{\"X\":%llu}", (unsigned long long)x),
                      0);
    }
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {4096, 4096};
    ASSERT_EQ_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
    struct errbuf eb = {{0}};
    ASSERT_EQ_INT(archive_write_sync(dir, &r, NULL, 0, &eb), -EFBIG);
    ASSERT_TRUE(strstr(eb.msg, "cannot write") != NULL);
    ASSERT_TRUE(strstr(eb.msg, "too large") != NULL);
    struct scan *s = calloc(1, sizeof(*s));
    walk(dir, scan_visit, s);
    ASSERT_EQ_INT(s->finals + s->tmps + s->others, 0);
    free(s);
    archive_record_free(&r);
    rm_rf(dir);
}

struct cb_state {
    atomic_int ok, failed;
    atomic_int path_ok;
};

static void count_cb(const struct archive_record *r, int status, const char *path, void *udata)
{
    struct cb_state *cs = udata;
    if (status == 0) {
        atomic_fetch_add(&cs->ok, 1);
        if (path && path[0] == '/' && strstr(path, r->uuid) && access(path, R_OK) == 0)
            atomic_fetch_add(&cs->path_ok, 1);
    } else {
        atomic_fetch_add(&cs->failed, 1);
        ASSERT_TRUE(path == NULL);
    }
}

struct submitter {
    struct archive_writer *w;
    int id;
};

static void *submit_main(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < 50; i++) {
        struct archive_record r;
        char uuid[64];
        snprintf(uuid, sizeof(uuid), "t%d_1_unsafe_%016X", s->id, (unsigned)i);
        make_record(&r, i % 2 == 0, uuid, i % 3 == 0);
        archive_record_add_metadata(&r, false, "client_name", "writer-test");
        archive_writer_submit(s->w, &r);
        /* submit took everything and left r empty */
        ASSERT_TRUE(r.client_metadata == NULL && r.server_measurements.data == NULL);
        ASSERT_EQ_STR(r.uuid, "");
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(writer_thread_many_submitters)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    struct cb_state cs = {0};
    struct errbuf eb = {{0}};
    struct archive_writer *w = archive_writer_start(dir, count_cb, &cs, &eb);
    if (!w)
        FAIL_AT("archive_writer_start: %s", eb.msg);
    pthread_t th[4];
    struct submitter sub[4];
    for (int i = 0; i < 4; i++) {
        sub[i] = (struct submitter){w, i};
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, submit_main, &sub[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    archive_writer_flush(w);
    uint64_t written = 0, failed = 0;
    archive_writer_stats(w, &written, &failed);
    ASSERT_EQ_U64(written, 200);
    ASSERT_EQ_U64(failed, 0);
    ASSERT_EQ_INT(atomic_load(&cs.ok), 200);
    ASSERT_EQ_INT(atomic_load(&cs.path_ok), 200);

    struct scan *s = calloc(1, sizeof(*s));
    walk(dir, scan_visit, s);
    ASSERT_EQ_INT(s->finals, 200);
    ASSERT_EQ_INT(s->tmps, 0);
    ASSERT_EQ_INT(s->others, 0);
    qsort(s->uuids, 200, sizeof(s->uuids[0]), cmp_str);
    for (int i = 1; i < 200; i++)
        ASSERT_TRUE(strcmp(s->uuids[i - 1], s->uuids[i]) != 0);
    free(s);
    archive_writer_stop(w);
    rm_rf(dir);
}

TEST(writer_failure_is_counted_not_fatal)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    struct cb_state cs = {0};
    struct errbuf eb = {{0}};
    struct archive_writer *w = archive_writer_start(dir, count_cb, &cs, &eb);
    ASSERT_TRUE(w != NULL);
    struct archive_record r;
    make_record(&r, true, "bad/uuid", false);
    archive_writer_submit(w, &r);
    make_record(&r, false, "h_1_unsafe_0000000000000020", false);
    archive_writer_submit(w, &r);
    archive_writer_flush(w);
    uint64_t written = 0, failed = 0;
    archive_writer_stats(w, &written, &failed);
    ASSERT_EQ_U64(written, 1);
    ASSERT_EQ_U64(failed, 1);
    ASSERT_EQ_INT(atomic_load(&cs.failed), 1);
    /* stop drains what is still queued */
    make_record(&r, true, "h_1_unsafe_0000000000000021", false);
    archive_writer_submit(w, &r);
    archive_writer_stop(w);
    ASSERT_EQ_INT(atomic_load(&cs.ok), 2);
    archive_writer_stop(NULL);
    rm_rf(dir);
}

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Child of the crash test: write records until killed. */
static _Noreturn void crash_child(const char *datadir, int round)
{
    struct archive_record r;
    make_record(&r, round % 2 == 0, "x", true);
    /* ~100 KiB of measurements so a kill often lands inside write or fsync. */
    for (int i = 0; i < 600; i++)
        buf_appendf(&r.server_measurements, ",{\"TCPInfo\":{\"BytesAcked\":%d,\"RTT\":%d}}",
                    i * 7919, round * 31 + i);
    for (unsigned i = 0;; i++) {
        snprintf(r.uuid, sizeof(r.uuid), "crash_%d_unsafe_%016X", round, i);
        struct errbuf eb;
        if (archive_write_sync(datadir, &r, NULL, 0, &eb) != 0)
            _exit(2);
    }
}

TEST(crash_safety_sigkill)
{
    char dir[] = "/tmp/fathom-archive-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    srand((unsigned)getpid());
    for (int round = 0; round < 30; round++) {
        fflush(NULL);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
            crash_child(dir, round);
        sleep_ns(1000000L + (long)(rand() % 25000) * 1000L);
        ASSERT_EQ_INT(kill(pid, SIGKILL), 0);
        int st;
        ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    struct scan *s = calloc(1, sizeof(*s));
    walk(dir, scan_visit, s);
    printf("# crash test: %d complete records, %d stray temporary files\n", s->finals, s->tmps);
    ASSERT_TRUE(s->finals > 0);
    ASSERT_EQ_INT(s->others, 0);
    int tmps = s->tmps;

    /*
     * A process started after the crashes removes every stray temporary file,
     * but not one created after it started (a write in flight), nor records.
     */
    sleep_ns(50000000L);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char fresh[PATH_MAX];
        snprintf(fresh, sizeof(fresh), "%s/.tmp-inflight-XXXXXX", dir);
        int fd = mkstemp(fresh);
        if (fd < 0)
            _exit(3);
        close(fd);
        int n = archive_cleanup_tmp(dir);
        if (n != tmps)
            _exit(4);
        if (access(fresh, F_OK) != 0)
            _exit(5);
        unlink(fresh);
        _exit(0);
    }
    int st;
    ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
    int finals = s->finals;
    memset(s, 0, sizeof(*s));
    walk(dir, scan_visit, s);
    ASSERT_EQ_INT(s->tmps, 0);
    ASSERT_EQ_INT(s->finals, finals);
    free(s);
    rm_rf(dir);
}

TEST(cleanup_tmp_missing_dir)
{
    ASSERT_EQ_INT(archive_cleanup_tmp("/nonexistent/fathom/archive"), 0);
}
