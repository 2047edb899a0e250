/*
 * archive: the result record of one ndt7 subtest and its atomic, off-loop
 * writer.
 *
 * A record is the existing ndt7 archive schema (docs/data-format.md):
 *   {"GitShortCommit","Version","ServerIP","ServerPort","ClientIP","ClientPort",
 *    "StartTime","EndTime","Download"|"Upload":{"UUID","StartTime","EndTime",
 *    "ServerMeasurements":[...],"ClientMeasurements":[...]|null,
 *    "ClientMetadata":[{"Name","Value"}...]?,"ServerMetadata":[...]?},
 *    "Fathom":{...}}   (Fathom-specific additions, in their own object)
 * stored gzip-compressed at <datadir>/ndt7/YYYY/MM/DD/
 * ndt7-<dir>-YYYYMMDDTHHMMSS.NNNNNNNNNZ.<UUID>.json.gz (date = file creation,
 * UTC). Files appear atomically: written to a hidden temporary name in the
 * same directory, fsynced, renamed, and the directory fsynced.
 * Format and atomicity argument: docs/design/archive.md.
 */
#ifndef FATHOM_ARCHIVE_ARCHIVE_H
#define FATHOM_ARCHIVE_ARCHIVE_H

#include "core/buf.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct archive_nv {
    char *name;  /* owned */
    char *value; /* owned */
};

/* Fathom-specific facts about a subtest, archived under "Fathom". */
struct archive_fathom {
    const char *end_reason;     /* static: "done", "early-exit", "peer-closed", "timeout", ... */
    int close_code;             /* close code received from the peer, 0 if none */
    const char *receiver_error; /* static: why we stopped reading the peer, NULL if we did not */
    int64_t app_bytes;          /* application payload bytes sent (download) / received (upload) */
    char scheme[8];             /* "ws" or "wss" */
    char dropped_metadata[512]; /* comma-separated names of refused metadata keys, "" if none */
    double steady_mbps;         /* steady-state capacity estimate, < 0 if none */
};

struct archive_record {
    bool download; /* Download or Upload */
    char uuid[128];
    char server_ip[64], client_ip[64];
    int server_port, client_port;
    uint64_t start_ns, end_ns;           /* top level StartTime / EndTime (UTC ns) */
    uint64_t test_start_ns, test_end_ns; /* ArchivalData StartTime / EndTime */
    struct buf server_measurements;      /* JSON objects joined by ',' (no brackets) */
    size_t n_server;
    struct buf client_measurements; /* same; n_client == 0 archives null */
    size_t n_client;
    struct archive_nv *client_metadata; /* owned array */
    size_t n_client_metadata;
    struct archive_nv *server_metadata;
    size_t n_server_metadata;
    struct archive_fathom fathom;
};

/*
 * Zero a record and initialise its buffers (measurements capped at 8 MiB
 * each); fathom.steady_mbps starts at -1 (none). Allocates nothing.
 */
void archive_record_init(struct archive_record *r);
/* Free everything the record owns; it is left initialised and empty (re-usable). */
void archive_record_free(struct archive_record *r);
/* Append a copy of name/value to the client (or server) metadata (NULL is stored as ""). */
void archive_record_add_metadata(struct archive_record *r, bool server, const char *name,
                                 const char *value);

/*
 * Serialise the record as one JSON document (no trailing newline), appended
 * to out. Strings are escaped (control characters as \u00XX, invalid UTF-8
 * replaced by U+FFFD); the measurement buffers are spliced in verbatim and
 * must hold valid JSON objects. "Version" is "fathom/<FATHOM_VERSION>".
 * Returns 0, or ERR_TOOBIG with out unchanged.
 */
int archive_record_json(const struct archive_record *r, struct buf *out);

/*
 * Relative path of the record file for a creation time (UTC ns), e.g.
 * "ndt7/2022/11/30/ndt7-download-20221130T230746.606388371Z.<uuid>.json.gz".
 * Truncated to n - 1 bytes if out is too small.
 */
void archive_record_relpath(const struct archive_record *r, uint64_t created_ns, char *out,
                            size_t n);

/*
 * UUID prefix: the content of prefix_file (surrounding whitespace trimmed)
 * when given, else "<hostname>_<boot time unix s>_unsafe" (btime from
 * /proc/stat). The prefix must be 1-100 characters of [A-Za-z0-9._-], since it
 * becomes part of file names. 0, or a negative error with eb explaining.
 */
int archive_uuid_prefix(const char *prefix_file, char *out, size_t n, struct errbuf *eb);
/* "<prefix>_<cookie as 16 uppercase hex digits>". */
void archive_uuid_make(const char *prefix, uint64_t cookie, char *out, size_t n);
/*
 * True when s is usable as a record UUID inside a file name: 1-127
 * characters of [A-Za-z0-9._-], not starting with '.'.
 */
bool archive_uuid_valid(const char *s);

/*
 * Write a record synchronously: serialise, gzip (level 1), temporary file
 * (".tmp-<uuid>-XXXXXX", same directory), fsync, rename without replacing
 * (RENAME_NOREPLACE, else link+unlink), fsync directory. Creates directories
 * (0755) as needed; files are 0644. r is borrowed. On success, when path_out
 * is not NULL, stores the absolute path. Blocks on disk; thread-safe.
 * Returns 0 or a negative error (-errno such as -ENOSPC, ERR_CONFIG for an
 * unsafe UUID, ERR_TOOBIG) with eb explaining; never leaves a partial or
 * zero-length file under the final name, and removes its temporary file
 * (a crash can leave one: see archive_cleanup_tmp).
 */
int archive_write_sync(const char *datadir, const struct archive_record *r, char *path_out,
                       size_t path_n, struct errbuf *eb);

/*
 * Remove stale temporary files (".tmp-*", left by a crash or kill during a
 * write) from datadir and its ndt7/YYYY/MM/DD tree. Only files last modified
 * before this process started are removed, so writes in flight (here or in
 * another process sharing datadir) are never touched. Call at server start.
 * Returns the number removed (0 when datadir does not exist), or -errno.
 */
int archive_cleanup_tmp(const char *datadir);

/* gzip (zlib level 0-9) of in[0..n), appended to out. Returns 0, ERR_TOOBIG or ERR_IO. */
int archive_gzip(const void *in, size_t n, int level, struct buf *out);

struct archive_writer;

/*
 * Called on the writer thread after each record is written (status 0, path
 * the absolute file name) or failed (status < 0, path NULL). r and path are
 * borrowed for the call. The callback must not call flush or stop.
 */
typedef void (*archive_done_cb)(const struct archive_record *r, int status, const char *path,
                                void *udata);

/*
 * Start the writer thread for datadir (created if missing; its writability is
 * checked with a probe file). datadir is copied. cb may be NULL. NULL on
 * failure (datadir not creatable/writable) with eb explaining.
 * A failed write is logged and counted; it never stops the thread or the process.
 */
struct archive_writer *archive_writer_start(const char *datadir, archive_done_cb cb, void *udata,
                                            struct errbuf *eb);
/*
 * Queue a record for writing; ownership of *r's contents moves to the writer
 * (r itself is copied, and re-initialised empty). Never blocks on disk.
 * Thread-safe.
 */
void archive_writer_submit(struct archive_writer *w, struct archive_record *r);
/* Wait until every queued record is written. Thread-safe. */
void archive_writer_flush(struct archive_writer *w);
/* Flush, stop the thread and free. No submit may run concurrently or after. NULL is a no-op. */
void archive_writer_stop(struct archive_writer *w);
/* Counters: records written and failed since start. */
void archive_writer_stats(struct archive_writer *w, uint64_t *written, uint64_t *failed);

#endif
