/*
 * server: `fathom serve`, internals shared by its files.
 *
 * Threads: the main thread parses options, binds the first listener of each
 * kind (so bind errors are reported before anything starts), starts the
 * archive writer and N workers, then waits for signals. Each worker runs one
 * event loop with its own SO_REUSEPORT listeners; a connection lives and dies
 * on the worker that accepted it, so the data path takes no locks.
 */
#ifndef FATHOM_SERVER_SERVER_H
#define FATHOM_SERVER_SERVER_H

#include "archive/archive.h"
#include "core/buf.h"
#include "net/conn.h"
#include "net/loop.h"
#include "privacy/privacy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERVER_MAX_WORKERS 64

/* Immutable after start-up. */
struct server_config {
    const char *ws_listen;  /* NULL: no cleartext listener */
    const char *wss_listen; /* used only with cert and key */
    const char *cert_file;
    const char *key_file;
    const char *datadir;
    const char *web_dir; /* NULL: embedded assets */
    const char *uuid_prefix_file;
    int workers;
    int max_tests; /* concurrent ndt7 tests per server; 0 = unlimited */
    bool strict_metadata;
    enum privacy_ip_precision ip_precision;
    bool no_bbr;
    uint64_t runtime_ns;     /* normally NDT7_RUNTIME_NS; tests may shorten it */
    uint64_t max_runtime_ns; /* normally NDT7_MAX_RUNTIME_NS */
    struct server_label {
        char *name, *value;
    } labels[16];
    int nlabels;
    bool check_only;             /* server_start stops after loading and binding */
    archive_done_cb on_archived; /* optional: called on the writer thread per record */
    void *on_archived_udata;
};

/* One static file, loaded into memory at start-up. */
struct static_file {
    char *path; /* "/index.html" */
    const char *content_type;
    uint8_t *data;
    size_t len;
};

struct static_files {
    struct static_file *files;
    size_t n;
};

/* Load every regular file under dir (recursively, no dot files, <= 64 MiB total). */
int static_load_dir(struct static_files *sf, const char *dir, struct errbuf *eb);
/* The assets compiled into the binary (web/ at build time); may be empty. */
void static_load_embedded(struct static_files *sf);
/* Look up a request path ("/" means "/index.html"); NULL when absent. */
const struct static_file *static_find(const struct static_files *sf, const char *path);
void static_free(struct static_files *sf);

/* Process-wide state shared by workers (read-only except the atomics). */
struct server {
    struct server_config cfg;
    struct tls_ctx *tls;
    struct archive_writer *writer;
    struct static_files web;
    char uuid_prefix[128];
    const uint8_t *payload; /* random block, NDT7_MAX_SEND_MESSAGE bytes, read-only */
    atomic_int active_tests;
    atomic_bool lame_duck;
    atomic_ullong tests_total[2];   /* by direction */
    atomic_ullong metadata_dropped; /* metadata keys dropped */
    atomic_ullong metadata_refused; /* upgrades refused in strict mode */
    atomic_ullong connections_total;
    atomic_ullong http_errors;
    atomic_bool bbr_available;
    uint8_t *payload_block; /* owned storage behind payload */
    int ws_fd, wss_fd;      /* first listener of each kind, -1 when absent */
    struct worker *workers;
    int nstarted;
};

struct worker {
    struct server *srv;
    struct loop *loop;
    pthread_t thread;
    int index;
    int ws_fd;  /* -1 when absent */
    int wss_fd; /* -1 when absent */
    int nconns;
    struct session *sessions; /* every live session of this worker (intrusive list) */
};

struct session;

/*
 * Start a server: TLS context, listeners, web files, archive writer, workers.
 * cfg is copied (its strings must outlive the server). Returns NULL with eb
 * explaining on failure. With cfg->check_only, stops after loading and binding.
 * SIGINT/SIGTERM are blocked in the worker threads; the caller handles them.
 */
struct server *server_start(const struct server_config *cfg, struct errbuf *eb);
/* Bound port of the ws (tls false) or wss listener; 0 when absent. */
int server_port(const struct server *srv, bool tls);
/* Stop the workers (archiving running tests), flush the archive, free everything. */
void server_free(struct server *srv);

/* Append the Prometheus text exposition of the server's counters to out. */
void server_metrics_write(struct server *srv, struct buf *out);

/* End every session of the worker (archiving running tests as "server-shutdown"). */
void session_close_all(struct worker *w);

/* Accept callback: registers the new connection on the worker's loop. */
void session_accept(struct worker *w, int listen_fd, bool tls);

#endif
