/*
 * index: the SQLite index beside the archive (<datadir>/index.sqlite).
 *
 * One row per record file, holding the summary `fathom data` lists, filters
 * and exports without opening the records: UUID, times, direction, scheme,
 * throughput, MinRTT, retransmission, addresses, allowlisted client metadata,
 * the file's path and size, and whether (and in which bundle) it was
 * published. The files are the truth; the index is derived from them and can
 * be rebuilt at any time (archive_index_reset + archive_index_add_file). The
 * published flags, which are not in the records, survive a rebuild through
 * the publish ledger (<datadir>/publish-ledger.tsv, written by publish).
 *
 * Summary values (docs/data-format.md, "Index and export columns"):
 *   throughput_mbps  download: 8 * BytesAcked / ElapsedTime of the last server
 *                    TCPInfo (m-lab ETL's formula); upload: 8 * NumBytes /
 *                    ElapsedTime of the last server AppInfo (application bytes
 *                    received), else of TCPInfo.BytesReceived. NULL if none.
 *   min_rtt_ms       last server TCPInfo.MinRTT / 1000. NULL if none.
 *   retrans_pct      download: 100 * BytesRetrans / BytesSent of the last
 *                    server TCPInfo; upload: NULL (the sender is the client).
 *   metadata         JSON object of the ClientMetadata entries that pass the
 *                    privacy allowlist (nothing else is ever indexed).
 *
 * Concurrency: WAL mode and a 10 s busy timeout, so the server's writer
 * thread and `fathom data` may use the same file at once. A handle is used by
 * one thread at a time. Every function may block on disk.
 */
#ifndef FATHOM_ARCHIVE_INDEX_H
#define FATHOM_ARCHIVE_INDEX_H

#include "archive/archive.h"
#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>

#define ARCHIVE_INDEX_FILE "index.sqlite"
#define ARCHIVE_LEDGER_FILE "publish-ledger.tsv"

struct archive_index;

/* One summary row. Doubles are NAN when the record has no such value. */
struct archive_index_row {
    char uuid[128];
    uint64_t start_ns, end_ns; /* top-level StartTime / EndTime, UTC ns */
    char day[11];              /* "YYYY-MM-DD" of the record's directory */
    bool download;
    char scheme[8]; /* "ws", "wss" or "" */
    double throughput_mbps, min_rtt_ms, retrans_pct;
    char client_ip[64], server_ip[64];
    char metadata[2048]; /* JSON object, "{}" when none */
    char relpath[512];   /* relative to the datadir: "ndt7/YYYY/MM/DD/....json.gz" */
    int64_t size;        /* file size in bytes */
    bool published;
    char bundle[128]; /* bundle file name, "" when unpublished */
};

/* Row selection; archive_index_filter_init() makes one that matches everything. */
struct archive_index_filter {
    uint64_t since_ns;      /* start_ns >= since_ns (0: no bound) */
    uint64_t until_ns;      /* start_ns < until_ns (0: no bound) */
    uint64_t end_before_ns; /* end_ns <= end_before_ns (0: no bound) */
    int direction;          /* -1 any, 0 upload, 1 download */
    int published;          /* -1 any, 0 unpublished, 1 published */
    const char *uuid;       /* exact UUID, NULL: any (borrowed) */
    const char *day;        /* "YYYY-MM-DD", NULL: any (borrowed) */
    bool by_ip;             /* client address in [ip_lo, ip_hi] (see archive_ip_prefix) */
    uint8_t ip_lo[16], ip_hi[16];
};

void archive_index_filter_init(struct archive_index_filter *f);

/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 or IPv6) into the inclusive range of
 * 16-byte keys it covers (IPv4 as v4-mapped IPv6), for filter.ip_lo/ip_hi.
 * Returns 0 or ERR_CONFIG.
 */
int archive_ip_prefix(const char *s, uint8_t lo[16], uint8_t hi[16]);

/*
 * Open (creating the file and schema when missing, if create) the index of
 * datadir. NULL with eb explaining on failure (ERR_NOTFOUND-like message when
 * !create and there is no index).
 */
struct archive_index *archive_index_open(const char *datadir, bool create, struct errbuf *eb);
/* Close; NULL is a no-op. */
void archive_index_close(struct archive_index *ix);

/* Group many writes into one transaction (much faster for bulk adds). */
int archive_index_begin(struct archive_index *ix, struct errbuf *eb);
int archive_index_commit(struct archive_index *ix, struct errbuf *eb);

/*
 * Index a record just written to <datadir>/<relpath> (size bytes); r is
 * borrowed. An existing row with the same UUID is updated, keeping its
 * published flag. Safe to call from the archive writer thread's callback.
 * Returns 0 or a negative error with eb explaining.
 */
int archive_index_add_record(struct archive_index *ix, const struct archive_record *r,
                             const char *relpath, int64_t size, struct errbuf *eb);

/*
 * Index the record file <datadir>/<relpath> (gzip JSON or plain JSON), as
 * add_record does. ERR_PROTO when it is not a valid ndt7 record.
 */
int archive_index_add_file(struct archive_index *ix, const char *datadir, const char *relpath,
                           struct errbuf *eb);

/*
 * Summarise a parsed record document (a jansson json_t *, passed as void *
 * to keep jansson out of this header) into row (relpath and size are left to
 * the caller). Returns 0 or ERR_PROTO when doc is not an ndt7 record.
 */
int archive_index_summarise(const void *doc, struct archive_index_row *row, struct errbuf *eb);

/*
 * Call cb for every row matching f, ordered by start time then UUID. cb
 * returns 0 to go on, anything else to stop (returned as is). row is
 * borrowed for the call. cb must not write to this index.
 */
typedef int (*archive_index_row_cb)(const struct archive_index_row *row, void *udata);
int archive_index_each(struct archive_index *ix, const struct archive_index_filter *f,
                       archive_index_row_cb cb, void *udata, struct errbuf *eb);
/* Number of rows matching f, or a negative error. */
int64_t archive_index_count(struct archive_index *ix, const struct archive_index_filter *f,
                            struct errbuf *eb);

/* Flag a record published in bundle. 0, ERR_NOTFOUND, or an error. */
int archive_index_mark_published(struct archive_index *ix, const char *uuid, const char *bundle,
                                 struct errbuf *eb);
/* Delete the row of uuid. 0, ERR_NOTFOUND, or an error. */
int archive_index_delete(struct archive_index *ix, const char *uuid, struct errbuf *eb);
/* Delete every row (reindex starts with this, inside a transaction). */
int archive_index_reset(struct archive_index *ix, struct errbuf *eb);

/*
 * Read a whole record file into out (appended), gunzipping when it is gzip
 * (plain files are read as they are). out's max bounds the size: ERR_TOOBIG
 * beyond it. 0 or a negative error with eb explaining.
 */
int archive_read_file(const char *path, struct buf *out, struct errbuf *eb);

/* A bundle name is already recorded for some published row. */
bool archive_index_has_bundle(struct archive_index *ix, const char *bundle);

#endif
