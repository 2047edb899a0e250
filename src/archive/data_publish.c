/*
 * data_publish: `fathom data publish` (dated CC0 bundles) and `verify`.
 *
 * A bundle is a gzip-compressed ustar archive, written here with a small tar
 * writer (512-byte headers; a pax "path" record for names ustar cannot hold):
 *   ndt7/YYYY/MM/DD/ndt7-*.json.gz   the raw records, byte for byte (or, with
 *                                    --redact-ip, rewritten with truncated IPs)
 *   LICENSE                          CC0 1.0 legal code
 *   data-format.md                   the record format (docs/data-format.md)
 *   ndt7-record.schema.json          JSON Schema of a record
 *   manifest.json                    last: every other file's path, size and
 *                                    SHA-256, counts, versions, licence, delay
 * Bundles appear atomically (temporary name, fsync, rename without replacing,
 * directory fsync). Publishing is idempotent: published records are flagged
 * in the index and in DATADIR/publish-ledger.tsv (so a reindex keeps the
 * flags), and a later publish of the same day writes a new part holding only
 * the records not yet published.
 */
#include "archive/data_int.h"

#include "core/clock.h"
#include "core/docs.h"
#include "core/slice.h"
#include "core/xalloc.h"
#include "main.h"
#include "privacy/privacy.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define BUNDLE_SCHEMA_VERSION "fathom-ndt7/1"
#define MANIFEST_VERSION 1
#define TAR_BLOCK 512
#define ENTRY_MAX ((size_t)256 << 20)

/* ---- ustar writer -------------------------------------------------------- */

struct tar_out {
    gzFile gz;
    time_t mtime;
    int failed;
};

static void octal(char *field, size_t width, unsigned long long v)
{
    /* width - 1 digits and a NUL, as POSIX ustar wants. */
    snprintf(field, width, "%0*llo", (int)width - 1, v);
}

static void tar_put(struct tar_out *t, const void *p, size_t n)
{
    if (t->failed || n == 0)
        return;
    if (gzwrite(t->gz, p, (unsigned)n) != (int)n)
        t->failed = ERR_IO;
}

static void tar_pad(struct tar_out *t, size_t n)
{
    static const char zeros[TAR_BLOCK];
    if (n % TAR_BLOCK)
        tar_put(t, zeros, TAR_BLOCK - n % TAR_BLOCK);
}

static void tar_header(struct tar_out *t, const char *name, const char *prefix, size_t size,
                       char type)
{
    char h[TAR_BLOCK];
    memset(h, 0, sizeof(h));
    snprintf(h, 100, "%s", name);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, (unsigned long long)t->mtime);
    h[156] = type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    snprintf(h + 265, 32, "fathom");
    snprintf(h + 297, 32, "fathom");
    if (prefix)
        snprintf(h + 345, 155, "%s", prefix);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    tar_put(t, h, sizeof(h));
}

/* Add one regular file. Names ustar cannot hold get a pax extended header. */
static void tar_add(struct tar_out *t, const char *name, const void *data, size_t n)
{
    size_t len = strlen(name);
    if (len < 100) {
        tar_header(t, name, NULL, n, '0');
    } else {
        const char *slash = strrchr(name, '/');
        size_t plen = slash ? (size_t)(slash - name) : 0;
        if (slash && plen < 155 && strlen(slash + 1) < 100) {
            char prefix[156];
            snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, name);
            tar_header(t, slash + 1, prefix, n, '0');
        } else {
            /* pax record "LEN path=NAME\n", LEN counting its own digits. */
            char rec[1200];
            size_t body = len + 7; /* " path=" + "\n" */
            size_t total = body + 1;
            while ((size_t)snprintf(NULL, 0, "%zu", total) + body != total)
                total++;
            snprintf(rec, sizeof(rec), "%zu path=%s\n", total, name);
            tar_header(t, "PaxHeader/long-name", NULL, total, 'x');
            tar_put(t, rec, total);
            tar_pad(t, total);
            char shortname[100];
            snprintf(shortname, sizeof(shortname), "%s", slash ? slash + 1 : name);
            tar_header(t, shortname, NULL, n, '0');
        }
    }
    tar_put(t, data, n);
    tar_pad(t, n);
}

static void tar_finish(struct tar_out *t)
{
    static const char zeros[2 * TAR_BLOCK];
    tar_put(t, zeros, sizeof(zeros));
}

/* ---- Helpers ------------------------------------------------------------- */

static int read_whole(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        uint8_t *tail = buf_reserve(out, 64 * 1024);
        if (!tail) {
            rc = ERR_TOOBIG;
            break;
        }
        ssize_t n = read(fd, tail, 64 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        buf_commit(out, (size_t)n);
    }
    close(fd);
    return rc;
}

/* "a.b.c.d:port" or "[v6]:port" with the address truncated (/24, /48). */
static void redact_hostport(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return;
    char ip[128], out[160];
    const char *port = NULL;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof(ip))
            return;
        snprintf(ip, sizeof(ip), "%.*s", (int)(end - s - 1), s + 1);
        port = end[1] == ':' ? end + 2 : NULL;
    } else {
        const char *colon = strrchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        if (n >= sizeof(ip))
            return;
        snprintf(ip, sizeof(ip), "%.*s", (int)n, s);
        port = colon ? colon + 1 : NULL;
    }
    if (privacy_truncate_ip(ip, sizeof(ip), PRIVACY_IP_TRUNCATED) != 0)
        return;
    snprintf(out, sizeof(out), v6 ? "[%s]%s%s" : "%s%s%s", ip, port ? ":" : "", port ? port : "");
    json_object_set_new(obj, key, json_string(out));
}

static void redact_measurements(json_t *arr)
{
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) redact_hostport(json_object_get(m, "ConnectionInfo"), "Client");
}

/* Rewrite a gzip record with ClientIP and ConnectionInfo.Client truncated; out gets gzip. */
static int redact_record(const char *path, struct buf *out, struct errbuf *eb)
{
    struct buf raw;
    buf_init(&raw, DATA_RECORD_MAX);
    int rc = archive_read_file(path, &raw, eb);
    json_t *doc = NULL;
    char *s = NULL;
    if (rc)
        goto done;
    json_error_t jerr;
    doc = json_loadb((const char *)buf_head(&raw), raw.len, 0, &jerr);
    if (!doc) {
        rc = errbuf_set(eb, ERR_PROTO, "%s: not JSON: %s", path, jerr.text);
        goto done;
    }
    const char *ip = json_string_value(json_object_get(doc, "ClientIP"));
    if (ip) {
        char t[128];
        snprintf(t, sizeof(t), "%s", ip);
        if (privacy_truncate_ip(t, sizeof(t), PRIVACY_IP_TRUNCATED) == 0)
            json_object_set_new(doc, "ClientIP", json_string(t));
        else
            json_object_set_new(doc, "ClientIP", json_string(""));
    }
    for (int d = 0; d < 2; d++) {
        json_t *a = json_object_get(doc, d ? "Download" : "Upload");
        redact_measurements(json_object_get(a, "ServerMeasurements"));
        redact_measurements(json_object_get(a, "ClientMeasurements"));
    }
    s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!s || archive_gzip(s, strlen(s), 6, out) != 0)
        rc = errbuf_set(eb, ERR_IO, "%s: cannot re-encode", path);
done:
    free(s);
    json_decref(doc);
    buf_free(&raw);
    return rc;
}

/* The host part of bundle names: [A-Za-z0-9.-], at most 63 characters. */
static bool host_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 63 || h[0] == '.' || h[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* ---- publish ------------------------------------------------------------- */

enum {
    OPT_DATADIR = 2000,
    OPT_DATE,
    OPT_OUTDIR,
    OPT_DELAY,
    OPT_REDACT_IP,
    OPT_HOST,
};

struct publish_opts {
    const char *datadir, *date, *outdir, *host;
    int delay;
    bool redact;
};

static int publish_handle(int id, const char *arg, void *udata)
{
    struct publish_opts *o = udata;
    unsigned long long v;
    switch (id) {
    case OPT_DATADIR:
        o->datadir = arg;
        return 0;
    case OPT_DATE:
        o->date = arg;
        return 0;
    case OPT_OUTDIR:
        o->outdir = arg;
        return 0;
    case OPT_DELAY:
        if (slice_to_u64(slice_cstr(arg), &v) || v > DATA_MAX_DELAY_DAYS)
            return data_usage_error("publish",
                                    "--delay is 0..%d days (an embargo may not exceed "
                                    "a year)",
                                    DATA_MAX_DELAY_DAYS);
        o->delay = (int)v;
        return 0;
    case OPT_REDACT_IP:
        o->redact = true;
        return 0;
    case OPT_HOST:
        o->host = arg;
        return 0;
    }
    return EXIT_USAGE;
}

struct publish_state {
    struct tar_out tar;
    const char *datadir;
    bool redact;
    json_t *files;
    struct buf data;
    char **uuids;
    size_t n, ndownload, nupload, skipped;
    struct progress pr;
};

static void manifest_add(json_t *files, const char *path, const void *p, size_t n)
{
    char hex[65];
    data_sha256_hex(p, n, hex);
    json_t *f = json_object();
    json_object_set_new(f, "path", json_string(path));
    json_object_set_new(f, "size", json_integer((json_int_t)n));
    json_object_set_new(f, "sha256", json_string(hex));
    json_array_append_new(files, f);
}

static int publish_row(const struct archive_index_row *row, void *udata)
{
    struct publish_state *st = udata;
    char path[PATH_MAX];
    struct errbuf eb = {""};
    snprintf(path, sizeof(path), "%s/%s", st->datadir, row->relpath);
    buf_reset(&st->data);
    int rc = st->redact ? redact_record(path, &st->data, &eb) : read_whole(path, &st->data);
    progress_step(&st->pr);
    if (rc) {
        fprintf(stderr, "%sfathom data publish: skipping %s: %s\n", st->pr.on ? "\n" : "",
                row->uuid, eb.msg[0] ? eb.msg : err_str(rc));
        st->skipped++;
        return 0;
    }
    tar_add(&st->tar, row->relpath, buf_head(&st->data), st->data.len);
    manifest_add(st->files, row->relpath, buf_head(&st->data), st->data.len);
    st->uuids = xrealloc(st->uuids, (st->n + 1) * sizeof(*st->uuids));
    st->uuids[st->n++] = xstrdup(row->uuid);
    if (row->download)
        st->ndownload++;
    else
        st->nupload++;
    return st->tar.failed;
}

static void add_doc(struct publish_state *st, const char *doc, const char *as)
{
    const uint8_t *p;
    size_t n;
    static const char fallback[] =
        "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication\n\n"
        "To the extent possible under law, the operator of this server has waived all\n"
        "copyright and related or neighboring rights to this data.\n"
        "Legal code: https://creativecommons.org/publicdomain/zero/1.0/legalcode\n";
    if (!docs_get(doc, &p, &n)) {
        if (strcmp(as, "LICENSE") != 0)
            return;
        p = (const uint8_t *)fallback;
        n = sizeof(fallback) - 1;
    }
    tar_add(&st->tar, as, p, n);
    manifest_add(st->files, as, p, n);
}

static int append_ledger(const char *datadir, char **uuids, size_t n, const char *bundle)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", datadir, ARCHIVE_LEDGER_FILE);
    FILE *f = fopen(path, "ae");
    if (!f)
        return -errno;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\t%s\n", uuids[i], bundle);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : ERR_IO;
    if (fclose(f) != 0)
        rc = ERR_IO;
    return rc;
}

int data_publish_main(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {
        {"datadir", 1, OPT_DATADIR, "DIR", "archive root (default " DATA_DEFAULT_DATADIR ")"},
        {"date", 1, OPT_DATE, "YYYY-MM-DD", "the day to publish (UTC; required)"},
        {"out", 1, OPT_OUTDIR, "DIR", "where the bundle goes (required)"},
        {"delay", 1, OPT_DELAY, "DAYS",
         "publish only records older than this (default 1, at most 365; 0: the day so far)"},
        {"redact-ip", 0, OPT_REDACT_IP, NULL,
         "truncate client addresses in the bundle (IPv4 /24, IPv6 /48)"},
        {"host", 1, OPT_HOST, "NAME", "host part of the bundle name (default: this host)"},
    };
    struct publish_opts o = {.datadir = datadir, .delay = 1};
    const char *operands[1];
    int nop;
    int rc = data_parse(
        "publish", "--date YYYY-MM-DD --out DIR [options]",
        "Write the day's records as an open-data bundle, fathom-ndt7-YYYYMMDD-<host>.tar.gz\n"
        "(CC0-1.0, with manifest.json, LICENSE, data-format.md and the JSON Schema), and\n"
        "mark them published. Publishing again writes a new part (-part2, ...) holding only\n"
        "records not yet published, or says there is nothing new.",
        opts, sizeof(opts) / sizeof(opts[0]), argc, argv, publish_handle, &o, operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    uint64_t day_ns;
    if (!o.date || data_parse_date(o.date, &day_ns))
        return data_usage_error("publish", "--date YYYY-MM-DD is required");
    if (!o.outdir)
        return data_usage_error("publish", "--out DIR is required");
    char host[256];
    if (o.host) {
        snprintf(host, sizeof(host), "%s", o.host);
    } else {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        for (char *p = host; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
                *p = '-';
    }
    if (!host_ok(host))
        return data_usage_error("publish", "--host must be 1-63 characters of [A-Za-z0-9.-]");
    struct stat sb;
    if (stat(o.outdir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "fathom data publish: --out %s is not a directory\n", o.outdir);
        return 1;
    }

    struct archive_index *ix;
    struct errbuf eb = {""};
    if (!(ix = archive_index_open(o.datadir, false, &eb))) {
        fprintf(stderr, "fathom data publish: %s\n", eb.msg);
        return 1;
    }
    uint64_t now = clock_real_ns();
    struct archive_index_filter f;
    archive_index_filter_init(&f);
    f.day = o.date;
    f.published = 0;
    int64_t pending = archive_index_count(ix, &f, &eb);
    f.end_before_ns = now - (uint64_t)o.delay * 86400 * NS_PER_SEC;
    int64_t ready = archive_index_count(ix, &f, &eb);
    if (ready < 0 || pending < 0) {
        fprintf(stderr, "fathom data publish: %s\n", eb.msg);
        archive_index_close(ix);
        return 1;
    }
    if (ready == 0) {
        printf("nothing new to publish for %s", o.date);
        if (pending)
            printf(" (%lld record%s still within the %d-day publication delay)", (long long)pending,
                   pending == 1 ? "" : "s", o.delay);
        printf("\n");
        archive_index_close(ix);
        return 0;
    }

    /* Bundle name: the first part number whose name is neither on disk nor in the index. */
    char compact[9], bundle[320], final[PATH_MAX], tmp[PATH_MAX];
    snprintf(compact, sizeof(compact), "%.4s%.2s%.2s", o.date, o.date + 5, o.date + 8);
    int part = 1;
    for (;; part++) {
        if (part == 1)
            snprintf(bundle, sizeof(bundle), "fathom-ndt7-%s-%s.tar.gz", compact, host);
        else
            snprintf(bundle, sizeof(bundle), "fathom-ndt7-%s-%s-part%d.tar.gz", compact, host,
                     part);
        snprintf(final, sizeof(final), "%s/%s", o.outdir, bundle);
        if (stat(final, &sb) != 0 && !archive_index_has_bundle(ix, bundle))
            break;
    }
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-XXXXXX", o.outdir, bundle);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "fathom data publish: cannot create a file in %s: %s\n", o.outdir,
                strerror(errno));
        archive_index_close(ix);
        return 1;
    }
    fchmod(fd, 0644);
    int fd2 = dup(fd);
    struct publish_state st = {.datadir = o.datadir, .redact = o.redact, .files = json_array()};
    st.tar.gz = gzdopen(fd2, "wb6");
    st.tar.mtime = (time_t)(now / NS_PER_SEC);
    buf_init(&st.data, DATA_RECORD_MAX);
    progress_start(&st.pr, "publish", ready);
    rc = 1;
    if (!st.tar.gz) {
        fprintf(stderr, "fathom data publish: zlib failed\n");
        close(fd2);
        goto out;
    }
    int qr = archive_index_each(ix, &f, publish_row, &st, &eb);
    progress_end(&st.pr);
    if (qr < 0 && qr != ERR_IO) {
        fprintf(stderr, "fathom data publish: %s\n", eb.msg);
        goto out;
    }
    if (st.n == 0) {
        printf("nothing new to publish for %s (every record file was unreadable)\n", o.date);
        goto out;
    }
    add_doc(&st, "CC0-1.0.txt", "LICENSE");
    add_doc(&st, "data-format.md", "data-format.md");
    add_doc(&st, "ndt7-record.schema.json", "ndt7-record.schema.json");

    char created[40];
    clock_format_rfc3339(now, created, sizeof(created));
    json_t *m = json_object();
    json_object_set_new(m, "manifest_version", json_integer(MANIFEST_VERSION));
    json_object_set_new(m, "bundle", json_string(bundle));
    json_object_set_new(m, "date", json_string(o.date));
    json_object_set_new(m, "part", json_integer(part));
    json_object_set_new(m, "host", json_string(host));
    json_object_set_new(m, "created", json_string(created));
    json_object_set_new(m, "license", json_string("CC0-1.0"));
    json_object_set_new(m, "schema_version", json_string(BUNDLE_SCHEMA_VERSION));
    json_object_set_new(m, "tool", json_string("fathom"));
    json_object_set_new(m, "tool_version", json_string(FATHOM_VERSION));
    json_object_set_new(m, "tool_commit", json_string(FATHOM_GIT_COMMIT));
    json_object_set_new(m, "publication_delay_days", json_integer(o.delay));
    json_object_set_new(m, "ip_redacted", json_boolean(o.redact));
    json_t *counts = json_object();
    json_object_set_new(counts, "records", json_integer((json_int_t)st.n));
    json_object_set_new(counts, "download", json_integer((json_int_t)st.ndownload));
    json_object_set_new(counts, "upload", json_integer((json_int_t)st.nupload));
    json_object_set_new(counts, "files", json_integer((json_int_t)json_array_size(st.files)));
    json_object_set_new(m, "counts", counts);
    json_object_set(m, "files", st.files);
    char *ms = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(m);
    tar_add(&st.tar, "manifest.json", ms, strlen(ms));
    free(ms);
    tar_finish(&st.tar);
    int zr = gzclose(st.tar.gz);
    st.tar.gz = NULL;
    if (st.tar.failed || zr != Z_OK || fsync(fd) != 0) {
        fprintf(stderr, "fathom data publish: writing %s failed: %s\n", tmp, strerror(errno));
        goto out;
    }
    /* Never replace a bundle: link (atomic, fails on an existing name), then drop the temp. */
    if (link(tmp, final) != 0) {
        fprintf(stderr, "fathom data publish: cannot create %s: %s\n", final, strerror(errno));
        goto out;
    }
    unlink(tmp);
    tmp[0] = '\0';
    data_fsync_parent(final);
    if (append_ledger(o.datadir, st.uuids, st.n, bundle) != 0)
        fprintf(stderr, "fathom data publish: warning: cannot append to %s/%s\n", o.datadir,
                ARCHIVE_LEDGER_FILE);
    if (archive_index_begin(ix, &eb) == 0) {
        for (size_t i = 0; i < st.n; i++)
            archive_index_mark_published(ix, st.uuids[i], bundle, NULL);
        if (archive_index_commit(ix, &eb) != 0)
            fprintf(stderr, "fathom data publish: %s\n", eb.msg);
    }
    printf("published %zu record%s (%zu download, %zu upload) of %s in %s%s\n", st.n,
           st.n == 1 ? "" : "s", st.ndownload, st.nupload, o.date, final,
           o.redact ? " (client addresses truncated)" : "");
    if (pending > ready)
        printf("%lld record%s of %s still within the %d-day publication delay\n",
               (long long)(pending - ready), pending - ready == 1 ? "" : "s", o.date, o.delay);
    rc = st.skipped ? 1 : 0;
out:
    if (st.tar.gz)
        gzclose(st.tar.gz);
    close(fd);
    if (tmp[0])
        unlink(tmp);
    for (size_t i = 0; i < st.n; i++)
        free(st.uuids[i]);
    free(st.uuids);
    json_decref(st.files);
    buf_free(&st.data);
    archive_index_close(ix);
    return rc;
}

/* ---- verify -------------------------------------------------------------- */

struct entry {
    char *path;
    size_t size;
    char sha[65];
    bool seen; /* matched by the manifest */
};

static unsigned long long parse_octal(const char *p, size_t n)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] == ' ')
            continue;
        if (p[i] < '0' || p[i] > '7')
            return ~0ULL;
        v = v * 8 + (unsigned long long)(p[i] - '0');
    }
    return v;
}

static int read_exact(gzFile gz, void *p, size_t n)
{
    int got = gzread(gz, p, (unsigned)n);
    return got == (int)n ? 0 : ERR_PROTO;
}

/* Path from a pax body ("LEN key=value\n" records), or "" when it has none. */
static void pax_path(const char *body, size_t n, char *out, size_t outn)
{
    out[0] = '\0';
    size_t off = 0;
    while (off < n) {
        unsigned long long len = 0;
        size_t i = off;
        while (i < n && body[i] >= '0' && body[i] <= '9')
            len = len * 10 + (unsigned long long)(body[i++] - '0');
        if (len == 0 || off + len > n || i >= n || body[i] != ' ')
            return;
        const char *kv = body + i + 1;
        size_t kvlen = off + len - (i + 1) - 1;
        if (kvlen > 5 && memcmp(kv, "path=", 5) == 0)
            snprintf(out, outn, "%.*s", (int)(kvlen - 5), kv + 5);
        off += len;
    }
}

static int verify_fail(const char *bundle, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int verify_fail(const char *bundle, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fathom data verify: %s: FAILED: ", bundle);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return 65; /* EX_DATAERR */
}

/* A record entry must be gzip JSON whose direction and UUID match its name. */
static bool record_ok(const char *path, const struct buf *data, bool *download)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    bool dl = strncmp(base, "ndt7-download-", 14) == 0;
    if (!dl && strncmp(base, "ndt7-upload-", 12) != 0)
        return false;
    *download = dl;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return false;
    struct buf json;
    buf_init(&json, DATA_RECORD_MAX);
    zs.next_in = (Bytef *)(uintptr_t)buf_head(data);
    zs.avail_in = (uInt)data->len;
    int zr = Z_OK;
    while (zr == Z_OK) {
        uint8_t *tail = buf_reserve(&json, 64 * 1024);
        if (!tail)
            break;
        zs.next_out = tail;
        zs.avail_out = 64 * 1024;
        zr = inflate(&zs, Z_NO_FLUSH);
        buf_commit(&json, 64 * 1024 - zs.avail_out);
    }
    inflateEnd(&zs);
    bool ok = false;
    if (zr == Z_STREAM_END) {
        json_t *doc = json_loadb((const char *)buf_head(&json), json.len, 0, NULL);
        json_t *a = json_object_get(doc, dl ? "Download" : "Upload");
        const char *uuid = json_string_value(json_object_get(a, "UUID"));
        ok = uuid && strstr(base, uuid) != NULL;
        json_decref(doc);
    }
    buf_free(&json);
    return ok;
}

int data_verify_main(int argc, char **argv)
{
    const char *operands[1];
    int nop;
    const char *unused = NULL;
    int rc = data_parse("verify", "BUNDLE",
                        "Check a bundle against its manifest: every file present with the listed\n"
                        "size and SHA-256, nothing extra or missing, counts right, every record\n"
                        "readable. Exit 0 when it matches, 65 with the reason when it does not.",
                        NULL, 0, argc, argv, NULL, &unused, operands, 1, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (nop != 1)
        return data_usage_error("verify", "which bundle? give its file name");
    const char *bundle = operands[0];
    gzFile gz = gzopen(bundle, "rb");
    if (!gz) {
        fprintf(stderr, "fathom data verify: cannot open %s: %s\n", bundle, strerror(errno));
        return 1;
    }
    struct entry *ents = NULL;
    size_t nents = 0, nrec = 0, ndl = 0, nul = 0;
    char *manifest = NULL;
    size_t manifest_len = 0;
    struct buf data;
    buf_init(&data, ENTRY_MAX);
    char pax[PATH_MAX] = "";
    json_t *m = NULL;
    rc = 0;
    for (;;) {
        char h[TAR_BLOCK];
        if (read_exact(gz, h, sizeof(h))) {
            rc = verify_fail(bundle, "truncated archive (no end-of-archive marker)");
            break;
        }
        bool zero = true;
        for (size_t i = 0; i < sizeof(h) && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break;
        unsigned long long want = parse_octal(h + 148, 8);
        unsigned sum = 0;
        for (size_t i = 0; i < sizeof(h); i++)
            sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
        if (want != sum) {
            rc = verify_fail(bundle, "tar header checksum mismatch (corrupt archive)");
            break;
        }
        unsigned long long size = parse_octal(h + 124, 12);
        if (size > ENTRY_MAX) {
            rc = verify_fail(bundle, "entry larger than %zu bytes", ENTRY_MAX);
            break;
        }
        buf_reset(&data);
        uint8_t *p = buf_reserve(&data, (size_t)size + 1);
        if (!p || read_exact(gz, p, (size_t)size)) {
            rc = verify_fail(bundle, "truncated entry");
            break;
        }
        buf_commit(&data, (size_t)size);
        size_t pad = (size_t)(size % TAR_BLOCK ? TAR_BLOCK - size % TAR_BLOCK : 0);
        char padbuf[TAR_BLOCK];
        if (pad && read_exact(gz, padbuf, pad)) {
            rc = verify_fail(bundle, "truncated entry padding");
            break;
        }
        char type = h[156];
        if (type == 'x') {
            pax_path((const char *)buf_head(&data), data.len, pax, sizeof(pax));
            continue;
        }
        if (type == 'L') { /* GNU long name (tar -c of GNU tar makes these) */
            snprintf(pax, sizeof(pax), "%.*s",
                     (int)strnlen((const char *)buf_head(&data), data.len),
                     (const char *)buf_head(&data));
            continue;
        }
        if (type == 'g' || type == '5')
            continue;
        if (type != '0' && type != '\0') {
            rc = verify_fail(bundle,
                             "unexpected entry type '%c' (only regular files belong in a "
                             "bundle)",
                             type);
            break;
        }
        char path[PATH_MAX];
        if (pax[0]) {
            snprintf(path, sizeof(path), "%s", pax);
            pax[0] = '\0';
        } else if (h[345]) {
            snprintf(path, sizeof(path), "%.155s/%.100s", h + 345, h);
        } else {
            snprintf(path, sizeof(path), "%.100s", h);
        }
        if (strcmp(path, "manifest.json") == 0) {
            if (manifest) {
                rc = verify_fail(bundle, "two manifest.json entries");
                break;
            }
            manifest = xstrndup((const char *)buf_head(&data), data.len);
            manifest_len = data.len;
            continue;
        }
        for (size_t i = 0; i < nents && rc == 0; i++)
            if (strcmp(ents[i].path, path) == 0)
                rc = verify_fail(bundle, "%s appears twice", path);
        if (rc)
            break;
        ents = xrealloc(ents, (nents + 1) * sizeof(*ents));
        struct entry *e = &ents[nents++];
        e->path = xstrdup(path);
        e->size = data.len;
        e->seen = false;
        data_sha256_hex(buf_head(&data), data.len, e->sha);
        if (strncmp(path, "ndt7/", 5) == 0) {
            bool dl = false;
            if (!record_ok(path, &data, &dl)) {
                rc =
                    verify_fail(bundle, "%s is not a readable ndt7 record matching its name", path);
                break;
            }
            nrec++;
            if (dl)
                ndl++;
            else
                nul++;
        }
    }
    gzclose(gz);
    if (rc == 0 && !manifest)
        rc = verify_fail(bundle, "no manifest.json");
    json_error_t jerr;
    if (rc == 0 && !(m = json_loadb(manifest, manifest_len, 0, &jerr)))
        rc = verify_fail(bundle, "manifest.json is not JSON: %s", jerr.text);
    json_t *files = json_object_get(m, "files");
    if (rc == 0 && !json_is_array(files))
        rc = verify_fail(bundle, "manifest.json has no files list");
    const char *lic = json_string_value(json_object_get(m, "license"));
    if (rc == 0 && (!lic || strcmp(lic, "CC0-1.0") != 0))
        rc = verify_fail(bundle, "manifest licence is not CC0-1.0");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        if (rc)
            break;
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        json_t *size = json_object_get(f, "size");
        if (!path || !sha || !json_is_integer(size)) {
            rc = verify_fail(bundle, "manifest entry %zu is malformed", i);
            break;
        }
        struct entry *e = NULL;
        for (size_t k = 0; k < nents && !e; k++)
            if (strcmp(ents[k].path, path) == 0)
                e = &ents[k];
        if (!e)
            rc = verify_fail(bundle, "%s is in the manifest but missing from the bundle", path);
        else if (e->seen)
            rc = verify_fail(bundle, "%s is listed twice in the manifest", path);
        else if ((json_int_t)e->size != json_integer_value(size))
            rc = verify_fail(bundle, "%s: size %zu, manifest says %lld", path, e->size,
                             (long long)json_integer_value(size));
        else if (strcmp(e->sha, sha) != 0)
            rc = verify_fail(bundle, "%s: SHA-256 %s, manifest says %s", path, e->sha, sha);
        if (e)
            e->seen = true;
    }
    for (size_t k = 0; rc == 0 && k < nents; k++)
        if (!ents[k].seen)
            rc = verify_fail(bundle, "%s is in the bundle but not in the manifest", ents[k].path);
    json_t *counts = json_object_get(m, "counts");
    if (rc == 0 && (json_integer_value(json_object_get(counts, "records")) != (json_int_t)nrec ||
                    json_integer_value(json_object_get(counts, "download")) != (json_int_t)ndl ||
                    json_integer_value(json_object_get(counts, "upload")) != (json_int_t)nul))
        rc = verify_fail(bundle,
                         "counts differ: bundle holds %zu records (%zu download, %zu "
                         "upload), manifest says otherwise",
                         nrec, ndl, nul);
    if (rc == 0)
        printf("%s: OK: %zu records (%zu download, %zu upload), %zu files match the manifest\n",
               bundle, nrec, ndl, nul, nents);
    json_decref(m);
    free(manifest);
    for (size_t k = 0; k < nents; k++)
        free(ents[k].path);
    free(ents);
    buf_free(&data);
    return rc;
}
