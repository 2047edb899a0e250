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

/* Zero a record and initialise its buffers (measurements capped at 8 MiB each). */
void archive_record_init(struct archive_record *r);
void archive_record_free(struct archive_record *r);
/* Append a copy of name/value to the client (or server) metadata. */
void archive_record_add_metadata(struct archive_record *r, bool server, const char *name,
                                 const char *value);

/*
 * Serialise the record as one JSON document (no trailing newline) into out.
 * Returns 0 or ERR_TOOBIG.
 */
int archive_record_json(const struct archive_record *r, struct buf *out);

/* Relative path of the record file for a creation time: "ndt7/2026/11/28/ndt7-...json.gz". */
void archive_record_relpath(const struct archive_record *r, uint64_t created_ns, char *out,
                            size_t n);

/*
 * UUID prefix: the content of prefix_file when given, else
 * "<hostname>_<boot time unix s>_unsafe". 0 or error with eb.
 */
int archive_uuid_prefix(const char *prefix_file, char *out, size_t n, struct errbuf *eb);
/* "<prefix>_<cookie as 16 uppercase hex digits>". */
void archive_uuid_make(const char *prefix, uint64_t cookie, char *out, size_t n);

/*
 * Write a record synchronously: serialise, gzip (level 1), temporary file,
 * fsync, rename, fsync directory. Creates directories (0755) as needed. On
 * success, when path_out is not NULL, stores the absolute path.
 * Returns 0 or a negative error with eb explaining; never leaves a partial or
 * zero-length file under the final name, and removes its temporary file.
 */
int archive_write_sync(const char *datadir, const struct archive_record *r, char *path_out,
                       size_t path_n, struct errbuf *eb);

/* Remove stale hidden temporary files (.tmp-*) left under datadir/ndt7 by a killed process. */
int archive_cleanup_tmp(const char *datadir);

struct archive_writer;

/* Called on the writer thread after each record is written (or failed). */
typedef void (*archive_done_cb)(const struct archive_record *r, int status, const char *path,
                                void *udata);

/*
 * Start the writer thread for datadir. cb may be NULL. NULL on failure
 * (datadir not creatable/writable) with eb explaining.
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
/* Flush, stop the thread and free. */
void archive_writer_stop(struct archive_writer *w);
/* Counters: records written and failed since start. */
void archive_writer_stats(struct archive_writer *w, uint64_t *written, uint64_t *failed);

#endif
