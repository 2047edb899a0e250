/*
 * data: `fathom data`, the open-data tools over an archive directory.
 *
 *   fathom data [--datadir DIR] ls|show|export|publish|verify|erase|reindex ...
 *
 * Everything reads the SQLite index (index.h) for the summary and the record
 * files for the rest; the files are the truth and `reindex` rebuilds the
 * index from them. Exit status: 0 success, 1 failure, 64 usage error
 * (sysexits EX_USAGE, as every fathom command), 65 (EX_DATAERR) when verify
 * finds a bundle that does not match its manifest.
 * publish and verify live in data_publish.c.
 */
#include "archive/data_int.h"

#include "core/clock.h"
#include "core/rand.h"
#include "core/slice.h"
#include "core/xalloc.h"
#include "main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- Shared helpers ------------------------------------------------------ */

int data_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fathom data%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'fathom data%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return EXIT_USAGE;
}

int data_parse(const char *cmd, const char *synopsis, const char *description,
               const struct data_opt *opts, size_t nopts, int argc, char **argv,
               int (*handle)(int id, const char *arg, void *udata), void *udata,
               const char **operands, int max_operands, int *noperands)
{
    struct option *lopts = xcalloc(nopts + 2, sizeof(*lopts));
    for (size_t i = 0; i < nopts; i++)
        lopts[i] = (struct option){opts[i].name, opts[i].has_arg, NULL, opts[i].id};
    lopts[nopts] = (struct option){"help", 0, NULL, 'h'};
    int rc = 0;
    *noperands = 0;
    optind = 1;
    opterr = 0;
    for (;;) {
        /* "-" first: operands come back as 1, in order, among the options. */
        int c = getopt_long(argc, argv, "-h", lopts, NULL);
        if (c == -1)
            break;
        if (c == 1) {
            if (*noperands >= max_operands) {
                rc = data_usage_error(cmd, "unexpected argument '%s'", optarg);
                break;
            }
            operands[(*noperands)++] = optarg;
        } else if (c == 'h') {
            printf("usage: fathom data [--datadir DIR] %s %s\n\n%s\n", cmd, synopsis, description);
            if (nopts)
                printf("\noptions:\n");
            for (size_t i = 0; i < nopts; i++) {
                char left[48];
                snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                         opts[i].arg ? opts[i].arg : "");
                printf("  %-26s %s\n", left, opts[i].help);
            }
            rc = -1;
            break;
        } else if (c == '?' || c == ':') {
            if (optopt && optopt < 256)
                rc = data_usage_error(cmd, "unknown option '-%c'", optopt);
            else if (optopt)
                rc = data_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
            else
                rc = data_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
            break;
        } else if ((rc = handle(c, optarg, udata)) != 0) {
            break;
        }
    }
    free(lopts);
    return rc;
}

int data_parse_date(const char *s, uint64_t *ns)
{
    char buf[40];
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return ERR_CONFIG;
    snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
    if (clock_parse_rfc3339(buf, ns))
        return ERR_CONFIG;
    /* Reject dates mktime-style normalisation would move (2024-02-31). */
    time_t sec = (time_t)(*ns / NS_PER_SEC);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char back[16];
    strftime(back, sizeof(back), "%Y-%m-%d", &tm);
    return strcmp(back, s) == 0 ? 0 : ERR_CONFIG;
}

void progress_start(struct progress *p, const char *what, int64_t total)
{
    p->on = isatty(STDERR_FILENO) && total > 0;
    p->what = what;
    p->total = total;
    p->done = 0;
    p->last_permille = -1;
}

void progress_step(struct progress *p)
{
    p->done++;
    if (!p->on)
        return;
    int permille = (int)(p->done * 1000 / p->total);
    if (permille == p->last_permille)
        return;
    p->last_permille = permille;
    char bar[41];
    int fill = permille * 40 / 1000;
    for (int i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld", p->what, bar, permille / 10, (long long)p->done,
            (long long)p->total);
}

void progress_end(struct progress *p)
{
    if (p->on)
        fprintf(stderr, "\n");
}

void data_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32 && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int data_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static void format_time(uint64_t ns, char *out, size_t n)
{
    time_t sec = (time_t)(ns / NS_PER_SEC);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- Filters shared by ls and export -------------------------------------- */

enum {
    OPT_DATADIR = 1000,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_DIRECTION,
    OPT_CLIENT_IP,
    OPT_LIMIT,
    OPT_FORMAT,
    OPT_FULL,
    OPT_OUT,
    OPT_IP,
    OPT_UUID,
    OPT_DRY_RUN,
    OPT_COUNT,
    OPT_START,
    OPT_STEP_MS,
    OPT_INDEX,
    OPT_MEASUREMENTS,
};

#define OPT_DATADIR_DESC                                                                           \
    {                                                                                              \
        "datadir", 1, OPT_DATADIR, "DIR", "archive root (default " DATA_DEFAULT_DATADIR ")"        \
    }
#define OPT_FILTER_DESC                                                                            \
    {"since", 1, OPT_SINCE, "DATE", "tests started on or after DATE (YYYY-MM-DD, UTC)"},           \
        {"until", 1, OPT_UNTIL, "DATE", "tests started on or before DATE (inclusive)"},            \
        {"direction", 1, OPT_DIRECTION, "download|upload", "one direction only"},                  \
    {                                                                                              \
        "client-ip", 1, OPT_CLIENT_IP, "ADDR[/LEN]",                                               \
            "client address or prefix (192.0.2.0/24, 2001:db8::/32)"                               \
    }

struct query_opts {
    const char *cmd;
    const char *datadir;
    struct archive_index_filter f;
    long long limit;
    const char *format;
    bool full;
    const char *out;
};

static int handle_query_opt(int id, const char *arg, void *udata)
{
    struct query_opts *q = udata;
    uint64_t ns;
    unsigned long long v;
    switch (id) {
    case OPT_DATADIR:
        q->datadir = arg;
        return 0;
    case OPT_SINCE:
        if (data_parse_date(arg, &ns))
            return data_usage_error(q->cmd, "--since takes a date YYYY-MM-DD, not '%s'", arg);
        q->f.since_ns = ns;
        return 0;
    case OPT_UNTIL:
        if (data_parse_date(arg, &ns))
            return data_usage_error(q->cmd, "--until takes a date YYYY-MM-DD, not '%s'", arg);
        q->f.until_ns = ns + 86400 * NS_PER_SEC;
        return 0;
    case OPT_DIRECTION:
        if (strcmp(arg, "download") && strcmp(arg, "upload"))
            return data_usage_error(q->cmd, "--direction is download or upload");
        q->f.direction = strcmp(arg, "download") == 0;
        return 0;
    case OPT_CLIENT_IP:
        if (archive_ip_prefix(arg, q->f.ip_lo, q->f.ip_hi))
            return data_usage_error(q->cmd, "--client-ip takes an address or ADDR/LEN, not '%s'",
                                    arg);
        q->f.by_ip = true;
        return 0;
    case OPT_LIMIT:
        if (slice_to_u64(slice_cstr(arg), &v) || v == 0 || v > (1ULL << 40))
            return data_usage_error(q->cmd, "--limit takes a positive number");
        q->limit = (long long)v;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "jsonl") && strcmp(arg, "csv"))
            return data_usage_error(q->cmd, "--format is jsonl or csv");
        q->format = arg;
        return 0;
    case OPT_FULL:
        q->full = true;
        return 0;
    case OPT_OUT:
        q->out = arg;
        return 0;
    }
    return data_usage_error(q->cmd, "unexpected option");
}

static struct archive_index *open_index(const char *datadir)
{
    struct errbuf eb = {""};
    struct archive_index *ix = archive_index_open(datadir, false, &eb);
    if (!ix)
        fprintf(stderr, "fathom data: %s\n", eb.msg);
    return ix;
}

/* ---- ls ------------------------------------------------------------------ */

struct ls_state {
    long long limit, shown;
};

static void fmt_num(double v, int prec, char *out, size_t n)
{
    if (isfinite(v))
        snprintf(out, n, "%.*f", prec, v);
    else
        snprintf(out, n, "-");
}

static int ls_row(const struct archive_index_row *row, void *udata)
{
    struct ls_state *st = udata;
    char t[32], mbps[24], rtt[24], retr[24];
    format_time(row->start_ns, t, sizeof(t));
    fmt_num(row->throughput_mbps, 2, mbps, sizeof(mbps));
    fmt_num(row->min_rtt_ms, 2, rtt, sizeof(rtt));
    fmt_num(row->retrans_pct, 2, retr, sizeof(retr));
    printf("%-46s %-19s %-8s %-3s %10s %9s %7s %-39s %s\n", row->uuid, t,
           row->download ? "download" : "upload", row->scheme[0] ? row->scheme : "-", mbps, rtt,
           retr, row->client_ip, row->published ? row->bundle : "no");
    st->shown++;
    return st->limit && st->shown >= st->limit ? 1 : 0;
}

static int cmd_ls(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {
        OPT_DATADIR_DESC,
        OPT_FILTER_DESC,
        {"limit", 1, OPT_LIMIT, "N", "show at most N records"},
    };
    struct query_opts q = {.cmd = "ls", .datadir = datadir};
    archive_index_filter_init(&q.f);
    const char *operands[1];
    int nop;
    int rc = data_parse(
        "ls", "[options]", "List archived tests (one line each, oldest first) from the index.",
        opts, sizeof(opts) / sizeof(opts[0]), argc, argv, handle_query_opt, &q, operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct archive_index *ix = open_index(q.datadir);
    if (!ix)
        return 1;
    printf("%-46s %-19s %-8s %-3s %10s %9s %7s %-39s %s\n", "UUID", "START (UTC)", "DIR", "SCH",
           "MBIT/S", "MINRTT MS", "RETR %", "CLIENT IP", "PUBLISHED");
    struct ls_state st = {q.limit, 0};
    struct errbuf eb = {""};
    rc = archive_index_each(ix, &q.f, ls_row, &st, &eb);
    archive_index_close(ix);
    if (rc < 0) {
        fprintf(stderr, "fathom data ls: %s\n", eb.msg);
        return 1;
    }
    printf("%lld record%s\n", st.shown, st.shown == 1 ? "" : "s");
    return 0;
}

/* ---- show ---------------------------------------------------------------- */

struct found {
    char relpath[512];
    bool found;
};

static int found_row(const struct archive_index_row *row, void *udata)
{
    struct found *f = udata;
    snprintf(f->relpath, sizeof(f->relpath), "%s", row->relpath);
    f->found = true;
    return 1;
}

static int show_handle(int id, const char *arg, void *udata)
{
    if (id == OPT_DATADIR) {
        *(const char **)udata = arg;
        return 0;
    }
    return EXIT_USAGE;
}

static int cmd_show(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {OPT_DATADIR_DESC};
    const char *operands[1];
    int nop;
    int rc = data_parse("show", "UUID", "Print the whole archived record of one test as JSON.",
                        opts, 1, argc, argv, show_handle, &datadir, operands, 1, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (nop != 1)
        return data_usage_error("show", "which test? give its UUID");
    struct archive_index *ix = open_index(datadir);
    if (!ix)
        return 1;
    struct archive_index_filter f;
    archive_index_filter_init(&f);
    f.uuid = operands[0];
    struct found fd = {"", false};
    struct errbuf eb = {""};
    rc = archive_index_each(ix, &f, found_row, &fd, &eb);
    archive_index_close(ix);
    if (rc < 0) {
        fprintf(stderr, "fathom data show: %s\n", eb.msg);
        return 1;
    }
    if (!fd.found) {
        fprintf(stderr, "fathom data show: no record %s in the index of %s\n", operands[0],
                datadir);
        return 1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", datadir, fd.relpath);
    struct buf raw;
    buf_init(&raw, DATA_RECORD_MAX);
    json_t *doc = NULL;
    json_error_t jerr;
    rc = 1;
    if (archive_read_file(path, &raw, &eb) != 0) {
        fprintf(stderr, "fathom data show: %s\n", eb.msg);
    } else if (!(doc = json_loadb((const char *)buf_head(&raw), raw.len, 0, &jerr))) {
        fprintf(stderr, "fathom data show: %s: not JSON: %s\n", path, jerr.text);
    } else {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        printf("\n");
        rc = 0;
    }
    json_decref(doc);
    buf_free(&raw);
    return rc;
}

/* ---- export -------------------------------------------------------------- */

struct export_state {
    FILE *out;
    const char *datadir;
    bool csv, full;
    struct progress pr;
    struct buf raw;
    long long n, failed;
};

static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static json_t *json_real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void rfc3339(uint64_t ns, char *out, size_t n)
{
    clock_format_rfc3339(ns, out, n);
}

static int export_summary(struct export_state *st, const struct archive_index_row *row)
{
    char start[40], end[40];
    rfc3339(row->start_ns, start, sizeof(start));
    rfc3339(row->end_ns, end, sizeof(end));
    if (st->csv) {
        char mbps[32], rtt[32], retr[32], size[32];
        snprintf(mbps, sizeof(mbps), isfinite(row->throughput_mbps) ? "%.6g" : "",
                 row->throughput_mbps);
        snprintf(rtt, sizeof(rtt), isfinite(row->min_rtt_ms) ? "%.6g" : "", row->min_rtt_ms);
        snprintf(retr, sizeof(retr), isfinite(row->retrans_pct) ? "%.6g" : "", row->retrans_pct);
        snprintf(size, sizeof(size), "%lld", (long long)row->size);
        const char *fields[] = {row->uuid,
                                start,
                                end,
                                row->download ? "download" : "upload",
                                row->scheme,
                                mbps,
                                rtt,
                                retr,
                                row->client_ip,
                                row->server_ip,
                                row->metadata,
                                row->relpath,
                                size,
                                row->published ? "true" : "false",
                                row->bundle};
        size_t n = sizeof(fields) / sizeof(fields[0]);
        for (size_t i = 0; i < n; i++)
            csv_field(st->out, fields[i], i + 1 == n);
        return 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "uuid", json_string(row->uuid));
    json_object_set_new(o, "start_time", json_string(start));
    json_object_set_new(o, "end_time", json_string(end));
    json_object_set_new(o, "direction", json_string(row->download ? "download" : "upload"));
    json_object_set_new(o, "scheme", json_string(row->scheme));
    json_object_set_new(o, "throughput_mbps", json_real_or_null(row->throughput_mbps));
    json_object_set_new(o, "min_rtt_ms", json_real_or_null(row->min_rtt_ms));
    json_object_set_new(o, "retrans_pct", json_real_or_null(row->retrans_pct));
    json_object_set_new(o, "client_ip", json_string(row->client_ip));
    json_object_set_new(o, "server_ip", json_string(row->server_ip));
    json_t *meta = json_loads(row->metadata, 0, NULL);
    json_object_set_new(o, "metadata", meta ? meta : json_object());
    json_object_set_new(o, "path", json_string(row->relpath));
    json_object_set_new(o, "size", json_integer(row->size));
    json_object_set_new(o, "published", json_boolean(row->published));
    json_object_set_new(o, "bundle", row->published ? json_string(row->bundle) : json_null());
    json_dumpf(o, st->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', st->out);
    json_decref(o);
    return 0;
}

/* One whole record on one line: the stored JSON as is, unless it holds a line break. */
static int export_full(struct export_state *st, const struct archive_index_row *row)
{
    char path[PATH_MAX];
    struct errbuf eb = {""};
    snprintf(path, sizeof(path), "%s/%s", st->datadir, row->relpath);
    buf_reset(&st->raw);
    if (archive_read_file(path, &st->raw, &eb) != 0) {
        fprintf(stderr, "%sfathom data export: skipping %s: %s\n", st->pr.on ? "\n" : "", row->uuid,
                eb.msg);
        st->failed++;
        return 0;
    }
    const char *p = (const char *)buf_head(&st->raw);
    size_t n = st->raw.len;
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
        n--;
    if (memchr(p, '\n', n) || memchr(p, '\r', n)) {
        json_t *doc = json_loadb(p, n, 0, NULL);
        if (!doc) {
            fprintf(stderr, "fathom data export: skipping %s: not JSON\n", row->uuid);
            st->failed++;
            return 0;
        }
        json_dumpf(doc, st->out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        json_decref(doc);
    } else {
        fwrite(p, 1, n, st->out);
    }
    fputc('\n', st->out);
    return 0;
}

static int export_row(const struct archive_index_row *row, void *udata)
{
    struct export_state *st = udata;
    int rc = st->full ? export_full(st, row) : export_summary(st, row);
    st->n++;
    progress_step(&st->pr);
    if (ferror(st->out))
        return ERR_IO;
    return rc;
}

static int cmd_export(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {
        OPT_DATADIR_DESC,
        {"format", 1, OPT_FORMAT, "jsonl|csv", "summary rows as JSON lines (default) or CSV"},
        {"full", 0, OPT_FULL, NULL,
         "whole records, one JSON document per line (newline-delimited JSON for "
         "BigQuery, ClickHouse, DuckDB)"},
        {"out", 1, OPT_OUT, "FILE", "write to FILE (atomically) instead of standard output"},
        OPT_FILTER_DESC,
    };
    struct query_opts q = {.cmd = "export", .datadir = datadir, .format = "jsonl"};
    archive_index_filter_init(&q.f);
    const char *operands[1];
    int nop;
    int rc = data_parse("export", "[options]",
                        "Export the summary of each test (or, with --full, the whole records),\n"
                        "oldest first, streaming in constant memory.",
                        opts, sizeof(opts) / sizeof(opts[0]), argc, argv, handle_query_opt, &q,
                        operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (q.full && strcmp(q.format, "csv") == 0)
        return data_usage_error("export", "--full writes JSON lines; it does not go with csv");
    struct archive_index *ix = open_index(q.datadir);
    if (!ix)
        return 1;
    struct export_state st = {
        .datadir = q.datadir, .csv = strcmp(q.format, "csv") == 0, .full = q.full};
    buf_init(&st.raw, DATA_RECORD_MAX);
    char tmp[PATH_MAX] = "";
    struct errbuf eb = {""};
    rc = 1;
    if (q.out) {
        snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", q.out);
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0 || !(st.out = fdopen(fd, "w"))) {
            fprintf(stderr, "fathom data export: cannot create %s: %s\n", tmp, strerror(errno));
            if (fd >= 0)
                close(fd);
            tmp[0] = '\0';
            goto out;
        }
        fchmod(fd, 0644);
    } else {
        st.out = stdout;
    }
    static char obuf[1 << 16];
    if (st.out != stdout)
        setvbuf(st.out, obuf, _IOFBF, sizeof(obuf));
    progress_start(&st.pr, "export", archive_index_count(ix, &q.f, &eb));
    if (st.csv)
        fputs("uuid,start_time,end_time,direction,scheme,throughput_mbps,min_rtt_ms,retrans_pct,"
              "client_ip,server_ip,metadata,path,size,published,bundle\n",
              st.out);
    int qr = archive_index_each(ix, &q.f, export_row, &st, &eb);
    progress_end(&st.pr);
    if (qr < 0 && qr != ERR_IO) {
        fprintf(stderr, "fathom data export: %s\n", eb.msg);
        goto out;
    }
    if (fflush(st.out) != 0 || ferror(st.out) || qr == ERR_IO) {
        fprintf(stderr, "fathom data export: write failed: %s\n", strerror(errno));
        goto out;
    }
    if (q.out) {
        if (fsync(fileno(st.out)) != 0 || fclose(st.out) != 0) {
            st.out = NULL;
            fprintf(stderr, "fathom data export: %s: %s\n", tmp, strerror(errno));
            goto out;
        }
        st.out = NULL;
        if (rename(tmp, q.out) != 0) {
            fprintf(stderr, "fathom data export: cannot rename to %s: %s\n", q.out,
                    strerror(errno));
            goto out;
        }
        tmp[0] = '\0';
        data_fsync_parent(q.out);
    }
    fprintf(stderr, "exported %lld record%s%s%s\n", st.n, st.n == 1 ? "" : "s", q.out ? " to " : "",
            q.out ? q.out : "");
    if (st.failed)
        fprintf(stderr, "fathom data export: %lld record file(s) unreadable (skipped)\n",
                st.failed);
    rc = st.failed ? 1 : 0;
out:
    if (st.out && st.out != stdout)
        fclose(st.out);
    if (tmp[0])
        unlink(tmp);
    buf_free(&st.raw);
    archive_index_close(ix);
    return rc;
}

/* ---- erase --------------------------------------------------------------- */

struct erase_opts {
    const char *datadir, *ip, *uuid;
    bool dry_run;
};

static int erase_handle(int id, const char *arg, void *udata)
{
    struct erase_opts *o = udata;
    switch (id) {
    case OPT_DATADIR:
        o->datadir = arg;
        return 0;
    case OPT_IP:
        o->ip = arg;
        return 0;
    case OPT_UUID:
        o->uuid = arg;
        return 0;
    case OPT_DRY_RUN:
        o->dry_run = true;
        return 0;
    }
    return EXIT_USAGE;
}

struct victim {
    char uuid[128], relpath[512], bundle[128];
    bool published;
};

struct victims {
    struct victim *v;
    size_t n;
};

static int collect_row(const struct archive_index_row *row, void *udata)
{
    struct victims *vs = udata;
    vs->v = xrealloc(vs->v, (vs->n + 1) * sizeof(*vs->v));
    struct victim *v = &vs->v[vs->n++];
    snprintf(v->uuid, sizeof(v->uuid), "%s", row->uuid);
    snprintf(v->relpath, sizeof(v->relpath), "%s", row->relpath);
    snprintf(v->bundle, sizeof(v->bundle), "%s", row->bundle);
    v->published = row->published;
    return 0;
}

/*
 * The audit salt: 32 random bytes (hex) in <datadir>/.audit-salt, 0600, made
 * on first use. With it, the hash of an address in the audit log cannot be
 * reversed by hashing all 2^32 IPv4 addresses unless the salt leaks too.
 */
static int audit_salt(const char *datadir, char salt[65])
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/.audit-salt", datadir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, salt, 64);
        close(fd);
        if (n == 64) {
            salt[64] = '\0';
            return 0;
        }
        return ERR_IO;
    }
    uint8_t raw[32];
    if (rand_fill(raw, sizeof(raw)) != 0)
        return ERR_IO;
    for (int i = 0; i < 32; i++)
        snprintf(salt + 2 * i, 3, "%02x", raw[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? audit_salt(datadir, salt) : -errno;
    int rc = write(fd, salt, 64) == 64 && fsync(fd) == 0 ? 0 : ERR_IO;
    close(fd);
    return rc;
}

static int audit_append(const char *datadir, const char *kind, const char *value, size_t matched,
                        size_t erased, size_t published)
{
    char salt[65];
    int rc = audit_salt(datadir, salt);
    if (rc)
        return rc;
    size_t n = strlen(salt) + strlen(kind) + strlen(value) + 3;
    char *msg = xmalloc(n);
    snprintf(msg, n, "%s:%s=%s", salt, kind, value);
    char hash[65];
    data_sha256_hex(msg, strlen(msg), hash);
    free(msg);
    char now[40], line[512];
    clock_format_rfc3339(clock_real_ns(), now, sizeof(now));
    int len = snprintf(line, sizeof(line),
                       "%s erase by=%s matched=%zu erased=%zu published-not-erased=%zu "
                       "request=sha256:%s\n",
                       now, kind, matched, erased, published, hash);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/erasure-audit.log", datadir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = write(fd, line, (size_t)len) == len && fsync(fd) == 0 ? 0 : ERR_IO;
    close(fd);
    return rc;
}

static int cmd_erase(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {
        OPT_DATADIR_DESC,
        {"ip", 1, OPT_IP, "ADDR[/LEN]", "erase the tests of this client address (or prefix)"},
        {"uuid", 1, OPT_UUID, "UUID", "erase this test"},
        {"dry-run", 0, OPT_DRY_RUN, NULL, "say what would be erased, change nothing"},
    };
    struct erase_opts o = {.datadir = datadir};
    const char *operands[1];
    int nop;
    int rc = data_parse(
        "erase", "--ip ADDR | --uuid UUID",
        "Honour an erasure request: delete the matching records that are not published yet\n"
        "(files and index rows). Published records are public already: they are listed, not\n"
        "deleted. An audit line (time, counts, a salted hash of the request, never the\n"
        "address) is appended to DATADIR/erasure-audit.log.",
        opts, sizeof(opts) / sizeof(opts[0]), argc, argv, erase_handle, &o, operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.ip == !o.uuid)
        return data_usage_error("erase", "give exactly one of --ip ADDR and --uuid UUID");
    struct archive_index_filter f;
    archive_index_filter_init(&f);
    if (o.ip) {
        if (archive_ip_prefix(o.ip, f.ip_lo, f.ip_hi))
            return data_usage_error("erase", "--ip takes an address or ADDR/LEN");
        f.by_ip = true;
    } else {
        f.uuid = o.uuid;
    }
    struct archive_index *ix = open_index(o.datadir);
    if (!ix)
        return 1;
    struct victims vs = {NULL, 0};
    struct errbuf eb = {""};
    rc = 1;
    if (archive_index_each(ix, &f, collect_row, &vs, &eb) < 0) {
        fprintf(stderr, "fathom data erase: %s\n", eb.msg);
        goto out;
    }
    size_t erased = 0, published = 0, failed = 0;
    for (size_t i = 0; i < vs.n; i++) {
        struct victim *v = &vs.v[i];
        if (v->published) {
            published++;
            printf("published already (public, not erased): %s in %s\n", v->uuid, v->bundle);
            continue;
        }
        if (o.dry_run) {
            printf("would erase %s\n", v->uuid);
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", o.datadir, v->relpath);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "fathom data erase: cannot remove %s: %s\n", path, strerror(errno));
            failed++;
            continue;
        }
        data_fsync_parent(path);
        if (archive_index_delete(ix, v->uuid, &eb) != 0) {
            fprintf(stderr, "fathom data erase: %s\n", eb.msg);
            failed++;
            continue;
        }
        printf("erased %s\n", v->uuid);
        erased++;
    }
    if (o.dry_run) {
        printf("dry run: %zu record(s) would be erased, %zu published already\n", vs.n - published,
               published);
        rc = 0;
        goto out;
    }
    printf("%zu record(s) matched: %zu erased, %zu published already (not erased)%s\n", vs.n,
           erased, published, failed ? ", some failed" : "");
    int ar = audit_append(o.datadir, o.ip ? "ip" : "uuid", o.ip ? o.ip : o.uuid, vs.n, erased,
                          published);
    if (ar != 0)
        fprintf(stderr, "fathom data erase: cannot write the audit log: %s\n", err_str(ar));
    rc = failed || ar ? 1 : 0;
out:
    free(vs.v);
    archive_index_close(ix);
    return rc;
}

/* ---- reindex ------------------------------------------------------------- */

/* Record file names as ndt-server and fathom write them (and the ETL parser accepts). */
static bool record_name(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.' || !strstr(name, "ndt7"))
        return false;
    return (n > 8 && strcmp(name + n - 8, ".json.gz") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

typedef int (*walk_cb)(const char *relpath, void *udata);

/* Visit every record file under datadir/rel (depth-limited, no symlinks followed). */
static int walk(const char *datadir, const char *rel, int depth, walk_cb cb, void *udata)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", datadir, rel);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= (int)sizeof(sub))
            continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st;
            char full[PATH_MAX];
            if (snprintf(full, sizeof(full), "%s/%s", datadir, sub) >= (int)sizeof(full) ||
                lstat(full, &st) != 0)
                continue;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR && depth < 6)
            rc = walk(datadir, sub, depth + 1, cb, udata);
        else if (type == DT_REG && record_name(e->d_name))
            rc = cb(sub, udata);
    }
    closedir(d);
    return rc;
}

static int count_file(const char *relpath, void *udata)
{
    (void)relpath;
    (*(int64_t *)udata)++;
    return 0;
}

struct reindex_state {
    struct archive_index *ix;
    const char *datadir;
    struct progress pr;
    int64_t ok, bad, batch;
};

static int reindex_file(const char *relpath, void *udata)
{
    struct reindex_state *st = udata;
    struct errbuf eb = {""};
    if (archive_index_add_file(st->ix, st->datadir, relpath, &eb) != 0) {
        fprintf(stderr, "%sfathom data reindex: skipping %s\n", st->pr.on ? "\n" : "", eb.msg);
        st->bad++;
    } else {
        st->ok++;
    }
    progress_step(&st->pr);
    /* Commit in batches so the server's writer thread is never kept waiting for long. */
    if (++st->batch >= 2000) {
        st->batch = 0;
        if (archive_index_commit(st->ix, &eb) || archive_index_begin(st->ix, &eb)) {
            fprintf(stderr, "fathom data reindex: %s\n", eb.msg);
            return ERR_IO;
        }
    }
    return 0;
}

/* Re-apply the published flags recorded by publish (DATADIR/publish-ledger.tsv). */
static int64_t restore_published(struct archive_index *ix, const char *datadir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", datadir, ARCHIVE_LEDGER_FILE);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[512];
    int64_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');
        char *nl = strchr(line, '\n');
        if (!tab || !nl)
            continue;
        *tab = *nl = '\0';
        if (archive_index_mark_published(ix, line, tab + 1, NULL) == 0)
            n++;
    }
    fclose(f);
    return n;
}

static int cmd_reindex(const char *datadir, int argc, char **argv)
{
    static const struct data_opt opts[] = {OPT_DATADIR_DESC};
    const char *operands[1];
    int nop;
    int rc = data_parse(
        "reindex", "",
        "Rebuild the index (DATADIR/index.sqlite) from the record files under DATADIR/ndt7/.\n"
        "Published flags are restored from DATADIR/publish-ledger.tsv.",
        opts, 1, argc, argv, show_handle, &datadir, operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct errbuf eb = {""};
    struct archive_index *ix = archive_index_open(datadir, true, &eb);
    if (!ix) {
        fprintf(stderr, "fathom data reindex: %s\n", eb.msg);
        return 1;
    }
    uint64_t t0 = clock_monotonic_ns();
    int64_t total = 0;
    walk(datadir, "ndt7", 0, count_file, &total);
    struct reindex_state st = {.ix = ix, .datadir = datadir};
    progress_start(&st.pr, "reindex", total);
    rc = 1;
    if (archive_index_begin(ix, &eb) || archive_index_reset(ix, &eb)) {
        fprintf(stderr, "fathom data reindex: %s\n", eb.msg);
        goto out;
    }
    int wr = walk(datadir, "ndt7", 0, reindex_file, &st);
    progress_end(&st.pr);
    if (wr < 0 && wr != ERR_IO)
        fprintf(stderr, "fathom data reindex: reading %s/ndt7: %s\n", datadir, err_str(wr));
    int64_t restored = restore_published(ix, datadir);
    if (archive_index_commit(ix, &eb)) {
        fprintf(stderr, "fathom data reindex: %s\n", eb.msg);
        goto out;
    }
    double secs = (double)(clock_monotonic_ns() - t0) / 1e9;
    printf("indexed %lld record%s (%lld published) in %.1f s%s\n", (long long)st.ok,
           st.ok == 1 ? "" : "s", (long long)restored, secs, st.bad ? "; some files skipped" : "");
    rc = wr < 0 || st.bad ? 1 : 0;
out:
    archive_index_close(ix);
    return rc;
}

/* ---- synth (hidden): synthetic records for tests and benchmarks ----------- */

struct synth_opts {
    const char *datadir;
    unsigned long long count, step_ms, measurements;
    uint64_t start_ns;
    const char *client_ip;
    bool index;
};

static int synth_handle(int id, const char *arg, void *udata)
{
    struct synth_opts *o = udata;
    unsigned long long v;
    switch (id) {
    case OPT_DATADIR:
        o->datadir = arg;
        return 0;
    case OPT_COUNT:
    case OPT_STEP_MS:
    case OPT_MEASUREMENTS:
        if (slice_to_u64(slice_cstr(arg), &v) || v > 100000000)
            return data_usage_error("synth", "expected a number, not '%s'", arg);
        *(id == OPT_COUNT ? &o->count : id == OPT_STEP_MS ? &o->step_ms : &o->measurements) = v;
        return 0;
    case OPT_START:
        if (clock_parse_rfc3339(arg, &o->start_ns) && data_parse_date(arg, &o->start_ns))
            return data_usage_error("synth", "--start takes YYYY-MM-DD or an RFC 3339 time");
        return 0;
    case OPT_CLIENT_IP:
        o->client_ip = arg;
        return 0;
    case OPT_INDEX:
        o->index = true;
        return 0;
    }
    return EXIT_USAGE;
}

static void synth_record(struct archive_record *r, const struct synth_opts *o, uint64_t i,
                         uint64_t end_ns)
{
    archive_record_init(r);
    r->download = (i % 2) == 0;
    snprintf(r->uuid, sizeof(r->uuid), "synth_%llu_unsafe_%016llX",
             (unsigned long long)(o->start_ns / NS_PER_SEC), (unsigned long long)(i + 1));
    if (o->client_ip)
        snprintf(r->client_ip, sizeof(r->client_ip), "%s", o->client_ip);
    else if (i % 10 == 9)
        snprintf(r->client_ip, sizeof(r->client_ip), "2001:db8:%x::%x",
                 (unsigned)((i / 10) % 0xffff), (unsigned)(i % 0xffff + 1));
    else
        snprintf(r->client_ip, sizeof(r->client_ip), "198.18.%u.%u", (unsigned)((i / 250) % 256),
                 (unsigned)(i % 250 + 1));
    snprintf(r->server_ip, sizeof(r->server_ip), "192.0.2.1");
    r->server_port = 443;
    r->client_port = 30000 + (int)(i % 30000);
    r->start_ns = end_ns - 10500 * NS_PER_MS;
    r->end_ns = end_ns;
    r->test_start_ns = r->start_ns + 10 * NS_PER_MS;
    r->test_end_ns = end_ns - 10 * NS_PER_MS;
    char client[80];
    snprintf(client, sizeof(client), strchr(r->client_ip, ':') ? "[%s]:%d" : "%s:%d", r->client_ip,
             r->client_port);
    uint64_t rate = 5 + (i * 7919) % 900; /* Mbit/s */
    uint64_t n = o->measurements ? o->measurements : 40;
    for (uint64_t k = 1; k <= n; k++) {
        uint64_t us = k * 10000000 / n;
        uint64_t bytes = rate * us / 8;
        if (k > 1)
            buf_append(&r->server_measurements, ",", 1);
        if (!r->download)
            buf_appendf(&r->server_measurements,
                        "{\"AppInfo\":{\"NumBytes\":%llu,"
                        "\"ElapsedTime\":%llu},",
                        (unsigned long long)(bytes - bytes / 50), (unsigned long long)us);
        else
            buf_append(&r->server_measurements, "{", 1);
        buf_appendf(&r->server_measurements,
                    "\"ConnectionInfo\":{\"Client\":\"%s\",\"Server\":\"192.0.2.1:443\","
                    "\"UUID\":\"%s\",\"StartTime\":\"2000-01-01T00:00:00Z\"},"
                    "\"BBRInfo\":{\"BW\":%llu,\"MinRTT\":%llu,\"PacingGain\":256,"
                    "\"CwndGain\":512,\"ElapsedTime\":%llu},"
                    "\"TCPInfo\":{\"State\":1,\"RTT\":%llu,\"RTTVar\":900,\"MinRTT\":%llu,"
                    "\"BytesAcked\":%llu,\"BytesReceived\":%llu,\"BytesSent\":%llu,"
                    "\"BytesRetrans\":%llu,\"BusyTime\":%llu,\"RWndLimited\":0,"
                    "\"SndBufLimited\":0,\"ElapsedTime\":%llu}}",
                    client, r->uuid, (unsigned long long)(rate * 125000),
                    (unsigned long long)(4000 + i % 50000), (unsigned long long)us,
                    (unsigned long long)(5000 + i % 50000), (unsigned long long)(4000 + i % 50000),
                    (unsigned long long)(r->download ? bytes : 0),
                    (unsigned long long)(r->download ? 0 : bytes),
                    (unsigned long long)(r->download ? bytes + bytes / 100 : 0),
                    (unsigned long long)(r->download ? bytes / 100 : 0), (unsigned long long)us,
                    (unsigned long long)us);
        r->n_server++;
    }
    buf_appendf(&r->client_measurements, "{\"AppInfo\":{\"NumBytes\":%llu,\"ElapsedTime\":%u}}",
                (unsigned long long)(rate * 1250000), 10000000u);
    r->n_client = 1;
    archive_record_add_metadata(r, false, "client_name", "fathom-synth");
    archive_record_add_metadata(r, false, "client_os", "linux");
    /* Marked, so synthetic records can never pass for measurements. */
    archive_record_add_metadata(r, true, "synthetic", "true");
    r->fathom.end_reason = "done";
    r->fathom.close_code = 1000;
    r->fathom.app_bytes = (int64_t)(rate * 1250000);
    snprintf(r->fathom.scheme, sizeof(r->fathom.scheme), "%s", i % 3 ? "wss" : "ws");
}

/* Write without fsync (a generator, not the server): gzip to a temporary name, rename. */
static int synth_write(const char *datadir, const struct archive_record *r, const char *rel,
                       struct buf *json, struct errbuf *eb)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", datadir, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + strlen(datadir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    buf_reset(json);
    if (archive_record_json(r, json))
        return errbuf_set(eb, ERR_TOOBIG, "record too big");
    snprintf(tmp, sizeof(tmp), "%s.synth-tmp", path);
    gzFile gz = gzopen(tmp, "wb1");
    if (!gz)
        return errbuf_set(eb, ERR_IO, "cannot create %s", tmp);
    int w = gzwrite(gz, buf_head(json), (unsigned)json->len);
    if (gzclose(gz) != Z_OK || w != (int)json->len || rename(tmp, path) != 0)
        return errbuf_set(eb, ERR_IO, "cannot write %s", path);
    return 0;
}

static int cmd_synth(int argc, char **argv)
{
    static const struct data_opt opts[] = {
        {"datadir", 1, OPT_DATADIR, "DIR", "where to write (required: never the default)"},
        {"count", 1, OPT_COUNT, "N", "records to write (default 100)"},
        {"start", 1, OPT_START, "TIME", "end time of the first record (default: now - N s)"},
        {"step-ms", 1, OPT_STEP_MS, "MS", "time between records (default 1000)"},
        {"client-ip", 1, OPT_CLIENT_IP, "ADDR", "one client address for all (default: varied)"},
        {"measurements", 1, OPT_MEASUREMENTS, "N", "server measurements per record (default 40)"},
        {"index", 0, OPT_INDEX, NULL, "also add them to the index"},
    };
    struct synth_opts o = {.count = 100, .step_ms = 1000};
    const char *operands[1];
    int nop;
    int rc = data_parse("synth", "--datadir DIR [options]",
                        "Write synthetic but valid ndt7 records (for tests and benchmarks; marked\n"
                        "with the server metadata synthetic=true).",
                        opts, sizeof(opts) / sizeof(opts[0]), argc, argv, synth_handle, &o,
                        operands, 0, &nop);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!o.datadir)
        return data_usage_error("synth", "--datadir is required");
    if (!o.start_ns)
        o.start_ns = clock_real_ns() - (o.count + 1) * o.step_ms * NS_PER_MS;
    struct errbuf eb = {""};
    struct archive_index *ix = NULL;
    if (mkdir(o.datadir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fathom data synth: %s: %s\n", o.datadir, strerror(errno));
        return 1;
    }
    if (o.index &&
        (!(ix = archive_index_open(o.datadir, true, &eb)) || archive_index_begin(ix, &eb) != 0)) {
        fprintf(stderr, "fathom data synth: %s\n", eb.msg);
        archive_index_close(ix);
        return 1;
    }
    struct buf json;
    buf_init(&json, DATA_RECORD_MAX);
    struct progress pr;
    progress_start(&pr, "synth", (int64_t)o.count);
    rc = 0;
    for (uint64_t i = 0; i < o.count && rc == 0; i++) {
        struct archive_record r;
        uint64_t end = o.start_ns + i * o.step_ms * NS_PER_MS;
        synth_record(&r, &o, i, end);
        char rel[512];
        archive_record_relpath(&r, end, rel, sizeof(rel));
        rc = synth_write(o.datadir, &r, rel, &json, &eb);
        if (rc == 0 && ix) {
            char path[PATH_MAX];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", o.datadir, rel);
            rc = stat(path, &st) == 0
                     ? archive_index_add_record(ix, &r, rel, (int64_t)st.st_size, &eb)
                     : -errno;
        }
        archive_record_free(&r);
        progress_step(&pr);
    }
    progress_end(&pr);
    if (rc == 0 && ix)
        rc = archive_index_commit(ix, &eb);
    buf_free(&json);
    archive_index_close(ix);
    if (rc) {
        fprintf(stderr, "fathom data synth: %s\n", eb.msg[0] ? eb.msg : err_str(rc));
        return 1;
    }
    printf("wrote %llu synthetic record%s under %s/ndt7\n", o.count, o.count == 1 ? "" : "s",
           o.datadir);
    return 0;
}

/* ---- Dispatch ------------------------------------------------------------ */

struct data_cmd {
    const char *name;
    int (*run)(const char *datadir, int argc, char **argv);
    const char *summary;
};

static int run_verify(const char *datadir, int argc, char **argv)
{
    (void)datadir;
    return data_verify_main(argc, argv);
}

static const struct data_cmd data_cmds[] = {
    {"ls", cmd_ls, "list tests (filters: dates, direction, client address or prefix)"},
    {"show", cmd_show, "print one whole record"},
    {"export", cmd_export, "export summaries (JSON lines, CSV) or whole records (--full)"},
    {"publish", data_publish_main, "write a day's dated CC0 bundle with its manifest"},
    {"verify", run_verify, "check a bundle against its manifest"},
    {"erase", cmd_erase, "erase unpublished tests of an address or UUID (audited)"},
    {"reindex", cmd_reindex, "rebuild the index from the record files"},
};

static void data_usage(FILE *f)
{
    fprintf(f,
            "usage: fathom data [--datadir DIR] <command> [options]\n\n"
            "Open-data tools over the archive of `fathom serve` (default datadir "
            "%s).\n\ncommands:\n",
            DATA_DEFAULT_DATADIR);
    for (size_t i = 0; i < sizeof(data_cmds) / sizeof(data_cmds[0]); i++)
        fprintf(f, "  %-8s %s\n", data_cmds[i].name, data_cmds[i].summary);
    fprintf(f, "\nRun `fathom data <command> --help` for the options of a command.\n");
}

int data_main(int argc, char **argv)
{
    const char *datadir = DATA_DEFAULT_DATADIR;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            data_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--datadir") == 0 && i + 1 < argc) {
            datadir = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--datadir=", 10) == 0) {
            datadir = argv[i] + 10;
            i++;
        } else if (strcmp(argv[i], "--datadir") == 0) {
            return data_usage_error(NULL, "option '--datadir' needs an argument");
        } else {
            return data_usage_error(NULL, "unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        data_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[i], "synth") == 0)
        return cmd_synth(argc - i, argv + i);
    for (size_t k = 0; k < sizeof(data_cmds) / sizeof(data_cmds[0]); k++)
        if (strcmp(argv[i], data_cmds[k].name) == 0)
            return data_cmds[k].run(datadir, argc - i, argv + i);
    fprintf(stderr, "fathom data: unknown command '%s'\n\n", argv[i]);
    data_usage(stderr);
    return EXIT_USAGE;
}
