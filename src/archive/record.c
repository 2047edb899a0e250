/*
 * record: the archive record of one ndt7 subtest, its JSON form and its name.
 *
 * The JSON is the ndt7 archive schema of ndt-server (data.NDT7Result with one
 * ArchivalData object), keys in the order Go's encoder emits them, plus one
 * "Fathom" object for our additions. The measurement buffers already hold
 * serialised JSON objects and are spliced in verbatim; every string we emit
 * ourselves goes through json_str(), which escapes and repairs invalid UTF-8,
 * so the document is valid JSON whenever the spliced measurements are.
 */
#include "archive/archive.h"

#include "core/clock.h"
#include "core/slice.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MEASUREMENTS_MAX (8u << 20)

/* Archived "Version": ndt-server writes its tag ("v0.20.17"); we name ourselves. */
#define ARCHIVE_VERSION "fathom/" FATHOM_VERSION
#define ARCHIVE_SCHEMA_VERSION "fathom-ndt7/1"

void archive_record_init(struct archive_record *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->server_measurements, MEASUREMENTS_MAX);
    buf_init(&r->client_measurements, MEASUREMENTS_MAX);
    r->fathom.steady_mbps = -1;
}

static void free_nv(struct archive_nv *nv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(nv[i].name);
        free(nv[i].value);
    }
    free(nv);
}

void archive_record_free(struct archive_record *r)
{
    buf_free(&r->server_measurements);
    buf_free(&r->client_measurements);
    free_nv(r->client_metadata, r->n_client_metadata);
    free_nv(r->server_metadata, r->n_server_metadata);
    archive_record_init(r);
}

void archive_record_add_metadata(struct archive_record *r, bool server, const char *name,
                                 const char *value)
{
    struct archive_nv **arr = server ? &r->server_metadata : &r->client_metadata;
    size_t *n = server ? &r->n_server_metadata : &r->n_client_metadata;
    *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[*n].name = xstrdup(name ? name : "");
    (*arr)[*n].value = xstrdup(value ? value : "");
    (*n)++;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values above
 * U+10FFFF are invalid, as RFC 3629 says).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/*
 * Append s as a JSON string literal: '"' and '\' escaped, control characters
 * as \u00XX, valid UTF-8 copied, each invalid byte replaced by U+FFFD.
 */
static int json_str(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    int rc = buf_append(out, "\"", 1);
    size_t i = 0;
    while (rc == 0 && i < n) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t run = 0, l;
        while (i + run < n && p[i + run] >= 0x20 && p[i + run] != '"' && p[i + run] != '\\' &&
               p[i + run] != 0x7F && (l = utf8_seq_len(p + i + run, n - i - run)) > 0)
            run += l;
        if (run) {
            rc = buf_append(out, p + i, run);
            i += run;
            continue;
        }
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = buf_append(out, e, 2);
        } else if (c < 0x20 || c == 0x7F) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = buf_append(out, e, 6);
        } else {
            rc = buf_append(out, "\xEF\xBF\xBD", 3);
        }
        i++;
    }
    if (rc == 0)
        rc = buf_append(out, "\"", 1);
    return rc;
}

static int json_key(struct buf *out, const char *key, bool first)
{
    /* Keys are our own literals: no escaping needed. */
    return buf_appendf(out, "%s\"%s\":", first ? "" : ",", key);
}

static int json_time(struct buf *out, const char *key, uint64_t ns)
{
    char t[40];
    clock_format_rfc3339(ns, t, sizeof(t));
    return buf_appendf(out, ",\"%s\":\"%s\"", key, t);
}

static int json_measurements(struct buf *out, const char *key, const struct buf *m, bool null)
{
    int rc = json_key(out, key, false);
    if (rc)
        return rc;
    if (null)
        return buf_append_str(out, "null");
    if ((rc = buf_append(out, "[", 1)) || (rc = buf_append(out, buf_head(m), m->len)))
        return rc;
    return buf_append(out, "]", 1);
}

static int json_metadata(struct buf *out, const char *key, const struct archive_nv *nv, size_t n)
{
    int rc = 0;
    if (n == 0)
        return 0; /* omitempty, as ndt-server */
    rc = json_key(out, key, false);
    if (rc == 0)
        rc = buf_append(out, "[", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = buf_append_str(out, i ? ",{\"Name\":" : "{\"Name\":")) ||
            (rc = json_str(out, nv[i].name)) || (rc = buf_append_str(out, ",\"Value\":")) ||
            (rc = json_str(out, nv[i].value)))
            break;
        rc = buf_append(out, "}", 1);
    }
    if (rc == 0)
        rc = buf_append(out, "]", 1);
    return rc;
}

/* The comma-separated dropped_metadata list as a JSON array of strings. */
static int json_name_list(struct buf *out, const char *list)
{
    int rc = buf_append(out, "[", 1);
    bool first = true;
    const char *p = list;
    while (rc == 0 && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct slice item = slice_trim(slice_make(p, len));
        if (item.len) {
            char name[sizeof(((struct archive_fathom *)0)->dropped_metadata)];
            slice_to_cstr(item, name, sizeof(name));
            if (!first)
                rc = buf_append(out, ",", 1);
            if (rc == 0)
                rc = json_str(out, name);
            first = false;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (rc == 0)
        rc = buf_append(out, "]", 1);
    return rc;
}

static int json_fathom(struct buf *out, const struct archive_fathom *f)
{
    int rc;
    if ((rc = buf_append_str(out, ",\"Fathom\":{")) || (rc = json_key(out, "EndReason", true)) ||
        (rc = json_str(out, f->end_reason ? f->end_reason : "unknown")) ||
        (rc = buf_appendf(out, ",\"CloseCode\":%d,\"AppBytes\":%lld", f->close_code,
                          (long long)f->app_bytes)) ||
        (rc = json_key(out, "Scheme", false)))
        return rc;
    /* scheme is a fixed array: never read past it even if it lacks a NUL. */
    char scheme[sizeof(f->scheme) + 1];
    memcpy(scheme, f->scheme, sizeof(f->scheme));
    scheme[sizeof(f->scheme)] = '\0';
    char dropped[sizeof(f->dropped_metadata) + 1];
    memcpy(dropped, f->dropped_metadata, sizeof(f->dropped_metadata));
    dropped[sizeof(f->dropped_metadata)] = '\0';
    if ((rc = json_str(out, scheme)) || (rc = json_key(out, "DroppedMetadata", false)) ||
        (rc = json_name_list(out, dropped)))
        return rc;
    if (f->receiver_error &&
        ((rc = json_key(out, "ReceiverError", false)) || (rc = json_str(out, f->receiver_error))))
        return rc;
    /* JSON has no NaN or infinity; a negative value means "no estimate". */
    if (isfinite(f->steady_mbps) && f->steady_mbps >= 0 &&
        (rc = buf_appendf(out, ",\"SteadyStateMbps\":%.3f", f->steady_mbps)))
        return rc;
    return buf_append_str(out, ",\"SchemaVersion\":\"" ARCHIVE_SCHEMA_VERSION "\"}");
}

int archive_record_json(const struct archive_record *r, struct buf *out)
{
    size_t start = out->len;
    int rc;
    if ((rc = buf_append(out, "{", 1)) || (rc = json_key(out, "GitShortCommit", true)) ||
        (rc = json_str(out, FATHOM_GIT_COMMIT)) || (rc = json_key(out, "Version", false)) ||
        (rc = json_str(out, ARCHIVE_VERSION)) || (rc = json_key(out, "ServerIP", false)) ||
        (rc = json_str(out, r->server_ip)) ||
        (rc = buf_appendf(out, ",\"ServerPort\":%d", r->server_port)) ||
        (rc = json_key(out, "ClientIP", false)) || (rc = json_str(out, r->client_ip)) ||
        (rc = buf_appendf(out, ",\"ClientPort\":%d", r->client_port)) ||
        (rc = json_time(out, "StartTime", r->start_ns)) ||
        (rc = json_time(out, "EndTime", r->end_ns)) ||
        (rc = json_key(out, r->download ? "Download" : "Upload", false)) ||
        (rc = buf_append(out, "{", 1)) || (rc = json_key(out, "UUID", true)) ||
        (rc = json_str(out, r->uuid)) || (rc = json_time(out, "StartTime", r->test_start_ns)) ||
        (rc = json_time(out, "EndTime", r->test_end_ns)) ||
        (rc = json_measurements(out, "ServerMeasurements", &r->server_measurements, false)) ||
        (rc = json_measurements(out, "ClientMeasurements", &r->client_measurements,
                                r->n_client == 0)) ||
        (rc = json_metadata(out, "ClientMetadata", r->client_metadata, r->n_client_metadata)) ||
        (rc = json_metadata(out, "ServerMetadata", r->server_metadata, r->n_server_metadata)) ||
        (rc = buf_append(out, "}", 1)) || (rc = json_fathom(out, &r->fathom)) ||
        (rc = buf_append(out, "}", 1))) {
        out->len = start; /* leave nothing half-written behind */
        return rc;
    }
    return 0;
}

void archive_record_relpath(const struct archive_record *r, uint64_t created_ns, char *out,
                            size_t n)
{
    time_t sec = (time_t)(created_ns / NS_PER_SEC);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(out, n, "ndt7/%04d/%02d/%02d/ndt7-%s-%04d%02d%02dT%02d%02d%02d.%09lluZ.%s.json.gz",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, r->download ? "download" : "upload",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned long long)(created_ns % NS_PER_SEC), r->uuid);
}

bool archive_uuid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((struct archive_record *)0)->uuid) || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return false;
    }
    return true;
}

/* Boot time in unix seconds, from the "btime" line of /proc/stat. */
static int boot_time(unsigned long long *out, struct errbuf *eb)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return errbuf_set(eb, -errno, "cannot open /proc/stat: %s", strerror(errno));
    char line[256];
    int rc = errbuf_set(eb, ERR_NOTFOUND, "no btime line in /proc/stat");
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            struct slice v = slice_trim(slice_cstr(line + 6));
            while (v.len && (v.ptr[v.len - 1] == '\n' || v.ptr[v.len - 1] == '\r'))
                v.len--;
            if (slice_to_u64(v, out) == 0)
                rc = 0;
            else
                rc = errbuf_set(eb, ERR_PROTO, "bad btime line in /proc/stat");
            break;
        }
    }
    fclose(f);
    return rc;
}

int archive_uuid_prefix(const char *prefix_file, char *out, size_t n, struct errbuf *eb)
{
    if (n)
        out[0] = '\0';
    if (prefix_file) {
        char content[256];
        int fd = open(prefix_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errbuf_set(eb, -errno, "uuid prefix file %s: %s", prefix_file, strerror(errno));
        ssize_t got = read(fd, content, sizeof(content));
        int saved = errno;
        close(fd);
        if (got < 0)
            return errbuf_set(eb, -saved, "uuid prefix file %s: %s", prefix_file, strerror(saved));
        if ((size_t)got == sizeof(content))
            return errbuf_set(eb, ERR_TOOBIG, "uuid prefix file %s: longer than %zu bytes",
                              prefix_file, sizeof(content) - 1);
        struct slice s = slice_make(content, (size_t)got);
        while (s.len && isspace((unsigned char)s.ptr[0]))
            s = slice_make(s.ptr + 1, s.len - 1);
        while (s.len && isspace((unsigned char)s.ptr[s.len - 1]))
            s.len--;
        char prefix[256];
        if (s.len == 0 || slice_to_cstr(s, prefix, sizeof(prefix)) != 0)
            return errbuf_set(eb, ERR_CONFIG, "uuid prefix file %s is empty", prefix_file);
        /* The prefix becomes part of file names: keep it to a safe alphabet. */
        if (!archive_uuid_valid(prefix))
            return errbuf_set(eb, ERR_CONFIG,
                              "uuid prefix file %s: prefix must be 1-100 characters of "
                              "[A-Za-z0-9._-], not starting with '.'",
                              prefix_file);
        if (s.len > 100 || (size_t)snprintf(out, n, "%s", prefix) >= n)
            return errbuf_set(eb, ERR_TOOBIG, "uuid prefix file %s: prefix too long", prefix_file);
        return 0;
    }
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        return errbuf_set(eb, -errno, "gethostname: %s", strerror(errno));
    host[sizeof(host) - 1] = '\0';
    unsigned long long btime;
    int rc = boot_time(&btime, eb);
    if (rc)
        return rc;
    int len = snprintf(out, n, "%s_%llu_unsafe", host, btime);
    if (len < 0 || (size_t)len >= n || len > 100 || !archive_uuid_valid(out)) {
        if (n)
            out[0] = '\0';
        return errbuf_set(eb, ERR_CONFIG, "hostname \"%s\" does not make a valid uuid prefix",
                          host);
    }
    return 0;
}

void archive_uuid_make(const char *prefix, uint64_t cookie, char *out, size_t n)
{
    snprintf(out, n, "%s_%016llX", prefix, (unsigned long long)cookie);
}
