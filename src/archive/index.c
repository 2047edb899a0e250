/*
 * index: the SQLite summary index of the archive (contract in index.h).
 *
 * Both ways in (a record fresh from the writer thread, or a file found by
 * reindex) go through the same JSON summariser, so a rebuilt index equals
 * the live one. Only allowlisted metadata is indexed, whatever a file holds
 * (files written by other servers may carry more, e.g. access tokens).
 */
#include "archive/index.h"

#include "core/clock.h"
#include "core/slice.h"
#include "core/xalloc.h"
#include "privacy/privacy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#define RECORD_MAX ((size_t)64 << 20)
#define BUSY_TIMEOUT_MS 10000

struct archive_index {
    sqlite3 *db;
    sqlite3_stmt *upsert;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS records("
    " uuid TEXT PRIMARY KEY,"
    " start_ns INTEGER NOT NULL,"
    " end_ns INTEGER NOT NULL,"
    " day TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK(direction IN ('download','upload')),"
    " scheme TEXT NOT NULL DEFAULT '',"
    " throughput_mbps REAL,"
    " min_rtt_ms REAL,"
    " retrans_pct REAL,"
    " client_ip TEXT NOT NULL DEFAULT '',"
    " client_ip_key BLOB,"
    " server_ip TEXT NOT NULL DEFAULT '',"
    " metadata TEXT NOT NULL DEFAULT '{}',"
    " relpath TEXT NOT NULL,"
    " size INTEGER NOT NULL DEFAULT 0,"
    " published INTEGER NOT NULL DEFAULT 0,"
    " bundle TEXT);"
    "CREATE INDEX IF NOT EXISTS records_start ON records(start_ns, uuid);"
    "CREATE INDEX IF NOT EXISTS records_day ON records(day, published);"
    "CREATE INDEX IF NOT EXISTS records_client ON records(client_ip_key);"
    "CREATE INDEX IF NOT EXISTS records_bundle ON records(bundle);"
    "PRAGMA user_version = 1;";

static const char upsert_sql[] =
    "INSERT INTO records(uuid, start_ns, end_ns, day, direction, scheme, throughput_mbps,"
    " min_rtt_ms, retrans_pct, client_ip, client_ip_key, server_ip, metadata, relpath, size)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
    " ON CONFLICT(uuid) DO UPDATE SET start_ns=?2, end_ns=?3, day=?4, direction=?5, scheme=?6,"
    " throughput_mbps=?7, min_rtt_ms=?8, retrans_pct=?9, client_ip=?10, client_ip_key=?11,"
    " server_ip=?12, metadata=?13, relpath=?14, size=?15";

static int db_err(struct archive_index *ix, struct errbuf *eb, const char *what)
{
    return errbuf_set(eb, ERR_IO, "index: %s: %s", what, sqlite3_errmsg(ix->db));
}

void archive_index_filter_init(struct archive_index_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->direction = -1;
    f->published = -1;
}

/* Parse an address into the 16-byte key (IPv4 as ::ffff:a.b.c.d); bits = its width. */
static int ip_key(const char *s, uint8_t key[16], int *bits)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, s, a) == 1) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, a, 4);
        *bits = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, s, key) == 1) {
        *bits = 128;
        return 0;
    }
    return ERR_CONFIG;
}

int archive_ip_prefix(const char *s, uint8_t lo[16], uint8_t hi[16])
{
    char addr[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return ERR_CONFIG;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    int bits;
    if (ip_key(addr, lo, &bits))
        return ERR_CONFIG;
    int len = bits;
    if (slash) {
        unsigned long long v;
        if (slice_to_u64(slice_cstr(slash + 1), &v) || v > (unsigned long long)bits)
            return ERR_CONFIG;
        len = (int)v;
    }
    int plen = len + (128 - bits); /* IPv4 lengths count within the v4-mapped key */
    for (int i = 0; i < 16; i++) {
        int keep = plen - i * 8; /* bits of this byte inside the prefix */
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        lo[i] &= mask;
        hi[i] = (uint8_t)(lo[i] | (uint8_t)~mask);
    }
    return 0;
}

struct archive_index *archive_index_open(const char *datadir, bool create, struct errbuf *eb)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", datadir, ARCHIVE_INDEX_FILE) >= (int)sizeof(path)) {
        errbuf_set(eb, -ENAMETOOLONG, "index path under %s too long", datadir);
        return NULL;
    }
    struct stat st;
    if (!create && stat(path, &st) != 0) {
        errbuf_set(eb, ERR_NOTFOUND, "no index at %s (run `fathom data reindex` to build it)",
                   path);
        return NULL;
    }
    struct archive_index *ix = xcalloc(1, sizeof(*ix));
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &ix->db, flags, NULL) != SQLITE_OK) {
        errbuf_set(eb, ERR_IO, "cannot open index %s: %s", path,
                   ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(ix->db, BUSY_TIMEOUT_MS);
    /* WAL: readers never block the writer thread; NORMAL sync is durable enough for an index
     * that can be rebuilt from the files. */
    if (sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(ix->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        errbuf_set(eb, ERR_IO, "index %s: %s", path, sqlite3_errmsg(ix->db));
        goto fail;
    }
    if (sqlite3_prepare_v2(ix->db, upsert_sql, -1, &ix->upsert, NULL) != SQLITE_OK) {
        db_err(ix, eb, "prepare");
        goto fail;
    }
    return ix;
fail:
    archive_index_close(ix);
    return NULL;
}

void archive_index_close(struct archive_index *ix)
{
    if (!ix)
        return;
    sqlite3_finalize(ix->upsert);
    sqlite3_close(ix->db);
    free(ix);
}

int archive_index_begin(struct archive_index *ix, struct errbuf *eb)
{
    if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, eb, "begin");
    return 0;
}

int archive_index_commit(struct archive_index *ix, struct errbuf *eb)
{
    if (sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, eb, "commit");
    return 0;
}

/* ---- Summarising a record ------------------------------------------------ */

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void copy_str(const json_t *o, const char *key, char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, n, "%s", s ? s : "");
}

static uint64_t time_of(const json_t *o, const char *key)
{
    uint64_t ns = 0;
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || clock_parse_rfc3339(s, &ns))
        return 0;
    return ns;
}

/* The allowlisted client metadata as a compact JSON object. */
static void metadata_json(const json_t *arr, char *out, size_t n)
{
    json_t *obj = json_object();
    size_t i;
    const json_t *nv;
    json_array_foreach(arr, i, nv)
    {
        const char *name = json_string_value(json_object_get(nv, "Name"));
        const char *value = json_string_value(json_object_get(nv, "Value"));
        if (!name || !value || json_object_get(obj, name))
            continue;
        if (privacy_check_param(slice_cstr(name), slice_cstr(value), false) != PRIVACY_KEEP)
            continue;
        json_object_set_new(obj, name, json_string(value));
    }
    char *s = json_dumps(obj, JSON_COMPACT);
    /* Ten keys of at most 64 printable characters always fit; be safe anyway. */
    snprintf(out, n, "%s", s && strlen(s) < n ? s : "{}");
    free(s);
    json_decref(obj);
}

int archive_index_summarise(const void *docp, struct archive_index_row *row, struct errbuf *eb)
{
    const json_t *doc = docp;
    char relpath[sizeof(row->relpath)];
    int64_t size = row->size;
    snprintf(relpath, sizeof(relpath), "%s", row->relpath);
    memset(row, 0, sizeof(*row));
    snprintf(row->relpath, sizeof(row->relpath), "%s", relpath);
    row->size = size;
    if (!json_is_object(doc))
        return errbuf_set(eb, ERR_PROTO, "record is not a JSON object");
    const json_t *a = json_object_get(doc, "Download");
    row->download = a != NULL;
    if (!a)
        a = json_object_get(doc, "Upload");
    if (!json_is_object(a))
        return errbuf_set(eb, ERR_PROTO, "record has neither Download nor Upload");
    copy_str(a, "UUID", row->uuid, sizeof(row->uuid));
    if (!row->uuid[0])
        return errbuf_set(eb, ERR_PROTO, "record has no UUID");
    row->start_ns = time_of(doc, "StartTime");
    row->end_ns = time_of(doc, "EndTime");
    copy_str(doc, "ClientIP", row->client_ip, sizeof(row->client_ip));
    copy_str(doc, "ServerIP", row->server_ip, sizeof(row->server_ip));
    copy_str(json_object_get(doc, "Fathom"), "Scheme", row->scheme, sizeof(row->scheme));
    metadata_json(json_object_get(a, "ClientMetadata"), row->metadata, sizeof(row->metadata));

    row->throughput_mbps = row->min_rtt_ms = row->retrans_pct = NAN;
    const json_t *last_tcp = NULL, *last_app = NULL;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(a, "ServerMeasurements"), i, m)
    {
        const json_t *t = json_object_get(m, "TCPInfo");
        const json_t *app = json_object_get(m, "AppInfo");
        if (json_is_object(t) && num(t, "ElapsedTime") > 0)
            last_tcp = t;
        if (json_is_object(app) && num(app, "ElapsedTime") > 0)
            last_app = app;
    }
    if (last_tcp) {
        double us = num(last_tcp, "ElapsedTime");
        double min_rtt = num(last_tcp, "MinRTT");
        if (min_rtt > 0)
            row->min_rtt_ms = min_rtt / 1000.0;
        if (row->download) {
            double acked = num(last_tcp, "BytesAcked"), sent = num(last_tcp, "BytesSent");
            double retrans = num(last_tcp, "BytesRetrans");
            if (acked >= 0)
                row->throughput_mbps = 8.0 * acked / us; /* bits per µs = Mbit/s */
            if (sent > 0 && retrans >= 0)
                row->retrans_pct = 100.0 * retrans / sent;
        } else if (!last_app) {
            double received = num(last_tcp, "BytesReceived");
            if (received >= 0)
                row->throughput_mbps = 8.0 * received / us;
        }
    }
    if (!row->download && last_app) {
        double bytes = num(last_app, "NumBytes");
        if (bytes >= 0)
            row->throughput_mbps = 8.0 * bytes / num(last_app, "ElapsedTime");
    }

    /* The day is the record's directory (its file's creation date), else its end time. */
    const char *p = row->relpath;
    if (strncmp(p, "ndt7/", 5) == 0 && strlen(p) > 15 && p[9] == '/' && p[12] == '/' &&
        p[15] == '/') {
        snprintf(row->day, sizeof(row->day), "%.4s-%.2s-%.2s", p + 5, p + 10, p + 13);
    } else {
        time_t sec = (time_t)(row->end_ns / NS_PER_SEC);
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(row->day, sizeof(row->day), "%Y-%m-%d", &tm);
    }
    return 0;
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static int upsert_row(struct archive_index *ix, const struct archive_index_row *row,
                      struct errbuf *eb)
{
    sqlite3_stmt *st = ix->upsert;
    uint8_t key[16];
    int bits;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, row->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)row->start_ns);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)row->end_ns);
    sqlite3_bind_text(st, 4, row->day, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, row->download ? "download" : "upload", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, row->scheme, -1, SQLITE_STATIC);
    bind_real(st, 7, row->throughput_mbps);
    bind_real(st, 8, row->min_rtt_ms);
    bind_real(st, 9, row->retrans_pct);
    sqlite3_bind_text(st, 10, row->client_ip, -1, SQLITE_STATIC);
    if (ip_key(row->client_ip, key, &bits) == 0)
        sqlite3_bind_blob(st, 11, key, 16, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, row->server_ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, row->metadata, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, row->relpath, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, row->size);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_err(ix, eb, "insert");
    return 0;
}

static int add_json(struct archive_index *ix, const char *json, size_t n, const char *relpath,
                    int64_t size, struct errbuf *eb)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, n, 0, &jerr);
    if (!doc)
        return errbuf_set(eb, ERR_PROTO, "%s: not JSON: %s (line %d)", relpath, jerr.text,
                          jerr.line);
    struct archive_index_row *row = xcalloc(1, sizeof(*row));
    snprintf(row->relpath, sizeof(row->relpath), "%s", relpath);
    row->size = size;
    int rc = archive_index_summarise(doc, row, eb);
    if (rc == 0)
        rc = upsert_row(ix, row, eb);
    free(row);
    json_decref(doc);
    return rc;
}

int archive_index_add_record(struct archive_index *ix, const struct archive_record *r,
                             const char *relpath, int64_t size, struct errbuf *eb)
{
    struct buf json;
    buf_init(&json, RECORD_MAX);
    int rc = archive_record_json(r, &json);
    if (rc)
        errbuf_set(eb, rc, "record %s too large to index", r->uuid);
    else
        rc = add_json(ix, (const char *)buf_head(&json), json.len, relpath, size, eb);
    buf_free(&json);
    return rc;
}

int archive_read_file(const char *path, struct buf *out, struct errbuf *eb)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return errbuf_set(eb, errno ? -errno : ERR_IO, "cannot open %s: %s", path,
                          errno ? strerror(errno) : "zlib error");
    int rc = 0;
    for (;;) {
        uint8_t *tail = buf_reserve(out, 64 * 1024);
        if (!tail) {
            rc = errbuf_set(eb, ERR_TOOBIG, "%s: larger than %zu bytes uncompressed", path,
                            out->max);
            break;
        }
        int n = gzread(gz, tail, 64 * 1024);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            rc = errbuf_set(eb, ERR_IO, "%s: %s", path, msg);
            break;
        }
        if (n == 0)
            break;
        buf_commit(out, (size_t)n);
    }
    gzclose(gz);
    return rc;
}

int archive_index_add_file(struct archive_index *ix, const char *datadir, const char *relpath,
                           struct errbuf *eb)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", datadir, relpath) >= (int)sizeof(path))
        return errbuf_set(eb, -ENAMETOOLONG, "%s: path too long", relpath);
    struct stat st;
    if (stat(path, &st) != 0)
        return errbuf_set(eb, -errno, "%s: %s", path, strerror(errno));
    struct buf json;
    buf_init(&json, RECORD_MAX);
    int rc = archive_read_file(path, &json, eb);
    if (rc == 0)
        rc =
            add_json(ix, (const char *)buf_head(&json), json.len, relpath, (int64_t)st.st_size, eb);
    buf_free(&json);
    return rc;
}

/* ---- Queries ------------------------------------------------------------- */

#define SELECT_COLS                                                                                \
    "uuid, start_ns, end_ns, day, direction, scheme, throughput_mbps, min_rtt_ms, retrans_pct,"    \
    " client_ip, server_ip, metadata, relpath, size, published, bundle"

/* Append the WHERE clause of f to sql; binds happen in bind_filter, in the same order. */
static void where_clause(const struct archive_index_filter *f, char *sql, size_t n)
{
    size_t len = strlen(sql);
    snprintf(sql + len, n - len, " WHERE 1");
#define ADD(cond)                                                                                  \
    do {                                                                                           \
        len = strlen(sql);                                                                         \
        snprintf(sql + len, n - len, " AND %s", cond);                                             \
    } while (0)
    if (f->since_ns)
        ADD("start_ns >= ?");
    if (f->until_ns)
        ADD("start_ns < ?");
    if (f->end_before_ns)
        ADD("end_ns <= ?");
    if (f->direction >= 0)
        ADD("direction = ?");
    if (f->published >= 0)
        ADD("published = ?");
    if (f->uuid)
        ADD("uuid = ?");
    if (f->day)
        ADD("day = ?");
    if (f->by_ip)
        ADD("client_ip_key BETWEEN ? AND ?");
#undef ADD
}

static void bind_filter(sqlite3_stmt *st, const struct archive_index_filter *f)
{
    int i = 1;
    if (f->since_ns)
        sqlite3_bind_int64(st, i++, (sqlite3_int64)f->since_ns);
    if (f->until_ns)
        sqlite3_bind_int64(st, i++, (sqlite3_int64)f->until_ns);
    if (f->end_before_ns)
        sqlite3_bind_int64(st, i++, (sqlite3_int64)f->end_before_ns);
    if (f->direction >= 0)
        sqlite3_bind_text(st, i++, f->direction ? "download" : "upload", -1, SQLITE_STATIC);
    if (f->published >= 0)
        sqlite3_bind_int(st, i++, f->published ? 1 : 0);
    if (f->uuid)
        sqlite3_bind_text(st, i++, f->uuid, -1, SQLITE_STATIC);
    if (f->day)
        sqlite3_bind_text(st, i++, f->day, -1, SQLITE_STATIC);
    if (f->by_ip) {
        sqlite3_bind_blob(st, i++, f->ip_lo, 16, SQLITE_STATIC);
        sqlite3_bind_blob(st, i++, f->ip_hi, 16, SQLITE_STATIC);
    }
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", s ? (const char *)s : "");
}

int archive_index_each(struct archive_index *ix, const struct archive_index_filter *f,
                       archive_index_row_cb cb, void *udata, struct errbuf *eb)
{
    char sql[1024] = "SELECT " SELECT_COLS " FROM records";
    where_clause(f, sql, sizeof(sql));
    size_t len = strlen(sql);
    snprintf(sql + len, sizeof(sql) - len, " ORDER BY start_ns, uuid");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(ix, eb, "query");
    bind_filter(st, f);
    struct archive_index_row *row = xmalloc(sizeof(*row));
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        memset(row, 0, sizeof(*row));
        col_text(st, 0, row->uuid, sizeof(row->uuid));
        row->start_ns = (uint64_t)sqlite3_column_int64(st, 1);
        row->end_ns = (uint64_t)sqlite3_column_int64(st, 2);
        col_text(st, 3, row->day, sizeof(row->day));
        const unsigned char *dir = sqlite3_column_text(st, 4);
        row->download = dir && strcmp((const char *)dir, "download") == 0;
        col_text(st, 5, row->scheme, sizeof(row->scheme));
        row->throughput_mbps = col_real(st, 6);
        row->min_rtt_ms = col_real(st, 7);
        row->retrans_pct = col_real(st, 8);
        col_text(st, 9, row->client_ip, sizeof(row->client_ip));
        col_text(st, 10, row->server_ip, sizeof(row->server_ip));
        col_text(st, 11, row->metadata, sizeof(row->metadata));
        col_text(st, 12, row->relpath, sizeof(row->relpath));
        row->size = sqlite3_column_int64(st, 13);
        row->published = sqlite3_column_int(st, 14) != 0;
        col_text(st, 15, row->bundle, sizeof(row->bundle));
        if ((rc = cb(row, udata)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = db_err(ix, eb, "query");
    free(row);
    sqlite3_finalize(st);
    return rc;
}

int64_t archive_index_count(struct archive_index *ix, const struct archive_index_filter *f,
                            struct errbuf *eb)
{
    char sql[1024] = "SELECT count(*) FROM records";
    where_clause(f, sql, sizeof(sql));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(ix, eb, "count");
    bind_filter(st, f);
    int64_t n =
        sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : db_err(ix, eb, "count");
    sqlite3_finalize(st);
    return n;
}

/* Run one statement with text parameters; returns the number of rows changed. */
static int exec_text(struct archive_index *ix, const char *sql, const char *a, const char *b,
                     struct errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_err(ix, eb, "prepare");
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_err(ix, eb, "update");
    return sqlite3_changes(ix->db);
}

int archive_index_mark_published(struct archive_index *ix, const char *uuid, const char *bundle,
                                 struct errbuf *eb)
{
    int n = exec_text(ix, "UPDATE records SET published = 1, bundle = ?2 WHERE uuid = ?1", uuid,
                      bundle, eb);
    if (n < 0)
        return n;
    return n ? 0 : errbuf_set(eb, ERR_NOTFOUND, "no record %s in the index", uuid);
}

int archive_index_delete(struct archive_index *ix, const char *uuid, struct errbuf *eb)
{
    int n = exec_text(ix, "DELETE FROM records WHERE uuid = ?1", uuid, NULL, eb);
    if (n < 0)
        return n;
    return n ? 0 : errbuf_set(eb, ERR_NOTFOUND, "no record %s in the index", uuid);
}

int archive_index_reset(struct archive_index *ix, struct errbuf *eb)
{
    if (sqlite3_exec(ix->db, "DELETE FROM records", NULL, NULL, NULL) != SQLITE_OK)
        return db_err(ix, eb, "reset");
    return 0;
}

bool archive_index_has_bundle(struct archive_index *ix, const char *bundle)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db, "SELECT 1 FROM records WHERE bundle = ?1 LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, bundle, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}
