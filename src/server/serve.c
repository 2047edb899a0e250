/*
 * serve: `fathom serve` start-up, workers, signals and metrics.
 *
 * Order (OpenBSD httpd's): parse and validate options, read the TLS key and
 * bind every listener first (so errors are immediate and clear), then start
 * the archive writer and the workers. SIGTERM once: lame duck (/health
 * answers 500, tests keep running) and exit when idle; SIGTERM twice or
 * SIGINT: stop now, archiving running tests as "server-shutdown".
 */
#include "server/server.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/xalloc.h"
#include "main.h"
#include "ndt7/ndt7.h"
#include "net/sock.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Options ------------------------------------------------------------ */

enum opt_id {
    OPT_WS_LISTEN = 1000,
    OPT_WSS_LISTEN,
    OPT_CERT,
    OPT_KEY,
    OPT_DATADIR,
    OPT_WEB,
    OPT_WORKERS,
    OPT_MAX_TESTS,
    OPT_METADATA_POLICY,
    OPT_IP_PRECISION,
    OPT_UUID_PREFIX_FILE,
    OPT_LABEL,
    OPT_NO_BBR,
    OPT_LOG_LEVEL,
    OPT_RUNTIME,
    OPT_CHECK_CONFIG,
    OPT_HELP,
};

struct opt_desc {
    const char *name;
    int has_arg;
    int id;
    const char *arg;
    const char *help;
};

static const struct opt_desc serve_opts[] = {
    {"ws-listen", 1, OPT_WS_LISTEN, "ADDR",
     "cleartext ndt7 (ws) listener: host:port, [v6]:port or :port; \"off\" disables (default :80)"},
    {"wss-listen", 1, OPT_WSS_LISTEN, "ADDR",
     "TLS ndt7 (wss) listener, needs --cert and --key "
     "(default :443 when a certificate is given)"},
    {"cert", 1, OPT_CERT, "FILE", "TLS certificate chain (PEM)"},
    {"key", 1, OPT_KEY, "FILE", "TLS private key (PEM)"},
    {"datadir", 1, OPT_DATADIR, "DIR",
     "archive root; records go to DIR/ndt7/YYYY/MM/DD/ "
     "(default /var/lib/fathom)"},
    {"web", 1, OPT_WEB, "DIR", "serve static files from DIR at / instead of the built-in page"},
    {"workers", 1, OPT_WORKERS, "N", "worker threads, one event loop each (default: one per core)"},
    {"max-tests", 1, OPT_MAX_TESTS, "N",
     "concurrent tests before answering 503 (default 0: no limit)"},
    {"metadata-policy", 1, OPT_METADATA_POLICY, "drop|strict",
     "client metadata outside the allowlist: drop it (default) or refuse the test with 400"},
    {"ip-precision", 1, OPT_IP_PRECISION, "full|truncated",
     "archive client IPs in full (default) or truncated to /24 (IPv4) and /48 (IPv6)"},
    {"uuid-prefix-file", 1, OPT_UUID_PREFIX_FILE, "FILE",
     "UUID prefix (default <hostname>_<boot time>_unsafe)"},
    {"label", 1, OPT_LABEL, "K=V", "server metadata archived with each test (repeatable)"},
    {"no-bbr", 0, OPT_NO_BBR, NULL, "do not switch test connections to BBR"},
    {"log-level", 1, OPT_LOG_LEVEL, "LEVEL", "error, warn, info (default) or debug"},
    {"runtime", 1, OPT_RUNTIME, "SECONDS",
     "test length (default 10, the ndt7 value; shorter only for testing)"},
    {"check-config", 0, OPT_CHECK_CONFIG, NULL, "validate options, bind and load, then exit"},
    {"help", 0, OPT_HELP, NULL, "show this help"},
};
#define NOPTS (sizeof(serve_opts) / sizeof(serve_opts[0]))

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: fathom serve [options]\n\n"
               "Run the ndt7 measurement server: ws and wss listeners, the test web page at /,\n"
               "/health, /metrics, and an archive of every test under --datadir.\n\n"
               "options:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[48];
        snprintf(left, sizeof(left), "--%s%s%s", serve_opts[i].name, serve_opts[i].arg ? " " : "",
                 serve_opts[i].arg ? serve_opts[i].arg : "");
        fprintf(f, "  %-30s %s\n", left, serve_opts[i].help);
    }
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return ERR_CONFIG;
    *out = (int)v;
    return 0;
}

static int parse_serve_args(int argc, char **argv, struct server_config *cfg, bool *check_only)
{
    struct option lopts[NOPTS + 1];
    for (size_t i = 0; i < NOPTS; i++)
        lopts[i] =
            (struct option){serve_opts[i].name, serve_opts[i].has_arg, NULL, serve_opts[i].id};
    memset(&lopts[NOPTS], 0, sizeof(lopts[NOPTS]));
    cfg->ws_listen = ":80";
    cfg->datadir = "/var/lib/fathom";
    cfg->workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cfg->workers < 1)
        cfg->workers = 1;
    cfg->runtime_ns = NDT7_RUNTIME_NS;
    cfg->max_runtime_ns = NDT7_MAX_RUNTIME_NS;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        int v;
        switch (c) {
        case OPT_WS_LISTEN:
            cfg->ws_listen = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case OPT_WSS_LISTEN:
            cfg->wss_listen = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case OPT_CERT:
            cfg->cert_file = optarg;
            break;
        case OPT_KEY:
            cfg->key_file = optarg;
            break;
        case OPT_DATADIR:
            cfg->datadir = optarg;
            break;
        case OPT_WEB:
            cfg->web_dir = optarg;
            break;
        case OPT_WORKERS:
            if (parse_int(optarg, 1, SERVER_MAX_WORKERS, &cfg->workers)) {
                fprintf(stderr, "fathom serve: --workers must be 1..%d\n", SERVER_MAX_WORKERS);
                return EXIT_USAGE;
            }
            break;
        case OPT_MAX_TESTS:
            if (parse_int(optarg, 0, 1000000, &cfg->max_tests)) {
                fprintf(stderr, "fathom serve: --max-tests must be a number >= 0\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_METADATA_POLICY:
            if (strcmp(optarg, "strict") == 0) {
                cfg->strict_metadata = true;
            } else if (strcmp(optarg, "drop") == 0) {
                cfg->strict_metadata = false;
            } else {
                fprintf(stderr, "fathom serve: --metadata-policy is drop or strict\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_IP_PRECISION:
            if (strcmp(optarg, "full") == 0) {
                cfg->ip_precision = PRIVACY_IP_FULL;
            } else if (strcmp(optarg, "truncated") == 0) {
                cfg->ip_precision = PRIVACY_IP_TRUNCATED;
            } else {
                fprintf(stderr, "fathom serve: --ip-precision is full or truncated\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_UUID_PREFIX_FILE:
            cfg->uuid_prefix_file = optarg;
            break;
        case OPT_LABEL: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || cfg->nlabels >= 16) {
                fprintf(stderr, "fathom serve: --label takes K=V (at most 16)\n");
                return EXIT_USAGE;
            }
            cfg->labels[cfg->nlabels].name = xstrndup(optarg, (size_t)(eq - optarg));
            cfg->labels[cfg->nlabels].value = xstrdup(eq + 1);
            cfg->nlabels++;
            break;
        }
        case OPT_NO_BBR:
            cfg->no_bbr = true;
            break;
        case OPT_LOG_LEVEL: {
            enum log_level lvl;
            if (log_parse_level(optarg, &lvl)) {
                fprintf(stderr, "fathom serve: --log-level is error, warn, info or debug\n");
                return EXIT_USAGE;
            }
            log_set_level(lvl);
            break;
        }
        case OPT_RUNTIME:
            if (parse_int(optarg, 1, 10, &v)) {
                fprintf(stderr, "fathom serve: --runtime must be 1..10 seconds\n");
                return EXIT_USAGE;
            }
            cfg->runtime_ns = (uint64_t)v * NS_PER_SEC;
            break;
        case OPT_CHECK_CONFIG:
            *check_only = true;
            break;
        case 'h':
        case OPT_HELP:
            serve_usage(stdout);
            return -1;
        default:
            if (optopt && optopt < 1000)
                fprintf(stderr, "fathom serve: unknown option '-%c'\n", optopt);
            else if (optopt)
                fprintf(stderr, "fathom serve: option '%s' needs an argument\n", argv[optind - 1]);
            else
                fprintf(stderr, "fathom serve: unknown option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try 'fathom serve --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fathom serve: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
        fprintf(stderr, "fathom serve: --cert and --key go together\n");
        return EXIT_USAGE;
    }
    if (cfg->cert_file && !cfg->wss_listen)
        cfg->wss_listen = ":443";
    if (cfg->wss_listen && !cfg->cert_file) {
        fprintf(stderr, "fathom serve: --wss-listen needs --cert and --key\n");
        return EXIT_USAGE;
    }
    if (!cfg->ws_listen && !cfg->wss_listen) {
        fprintf(stderr, "fathom serve: no listener (both ws and wss are off)\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- Metrics ------------------------------------------------------------ */

void server_metrics_write(struct server *srv, struct buf *out)
{
    uint64_t written = 0, failed = 0;
    archive_writer_stats(srv->writer, &written, &failed);
    buf_appendf(
        out,
        "# HELP fathom_active_tests ndt7 tests running now.\n"
        "# TYPE fathom_active_tests gauge\n"
        "fathom_active_tests %d\n"
        "# HELP fathom_tests_total ndt7 tests started, by direction.\n"
        "# TYPE fathom_tests_total counter\n"
        "fathom_tests_total{direction=\"download\"} %llu\n"
        "fathom_tests_total{direction=\"upload\"} %llu\n"
        "# HELP fathom_connections_total TCP connections accepted.\n"
        "# TYPE fathom_connections_total counter\n"
        "fathom_connections_total %llu\n"
        "# HELP fathom_http_errors_total Requests answered with a 4xx or 5xx status.\n"
        "# TYPE fathom_http_errors_total counter\n"
        "fathom_http_errors_total %llu\n"
        "# HELP fathom_metadata_dropped_total Client metadata keys dropped by the "
        "privacy policy.\n"
        "# TYPE fathom_metadata_dropped_total counter\n"
        "fathom_metadata_dropped_total %llu\n"
        "# HELP fathom_metadata_refused_total Upgrades refused by the strict metadata "
        "policy.\n"
        "# TYPE fathom_metadata_refused_total counter\n"
        "fathom_metadata_refused_total %llu\n"
        "# HELP fathom_archive_records_total Archive records written, by status.\n"
        "# TYPE fathom_archive_records_total counter\n"
        "fathom_archive_records_total{status=\"ok\"} %llu\n"
        "fathom_archive_records_total{status=\"error\"} %llu\n"
        "# HELP lame_duck_experiment 1 while the server is in lame-duck mode.\n"
        "# TYPE lame_duck_experiment gauge\n"
        "lame_duck_experiment %d\n",
        atomic_load(&srv->active_tests), (unsigned long long)atomic_load(&srv->tests_total[0]),
        (unsigned long long)atomic_load(&srv->tests_total[1]),
        (unsigned long long)atomic_load(&srv->connections_total),
        (unsigned long long)atomic_load(&srv->http_errors),
        (unsigned long long)atomic_load(&srv->metadata_dropped),
        (unsigned long long)atomic_load(&srv->metadata_refused), (unsigned long long)written,
        (unsigned long long)failed, atomic_load(&srv->lame_duck) ? 1 : 0);
}

/* ---- Workers ------------------------------------------------------------ */

static void on_listen_ws(struct loop *loop, int fd, unsigned events, void *udata)
{
    (void)loop;
    (void)events;
    session_accept(udata, fd, false);
}

static void on_listen_wss(struct loop *loop, int fd, unsigned events, void *udata)
{
    (void)loop;
    (void)events;
    session_accept(udata, fd, true);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int r = loop_run(w->loop);
    if (r < 0)
        log_error_errno(r, "worker %d: event loop failed", w->index);
    session_close_all(w);
    return NULL;
}

static int open_listener(const char *what, const char *addr, int *fd_out, struct errbuf *eb)
{
    struct errbuf leb = {""};
    int fd = sock_listen(addr, true, 1024, &leb);
    if (fd < 0)
        return errbuf_set(eb, fd, "cannot listen for %s on %s: %s", what, addr,
                          leb.msg[0] ? leb.msg : err_str(fd));
    *fd_out = fd;
    return 0;
}

static void on_archived(const struct archive_record *r, int status, const char *path, void *udata)
{
    struct server *srv = udata;
    /* Failures are logged, with their detail, by the writer itself. */
    if (status == 0)
        log_debug("test %s: archived as %s", r->uuid, path);
    if (srv->cfg.on_archived)
        srv->cfg.on_archived(r, status, path, srv->cfg.on_archived_udata);
}

void server_free(struct server *srv)
{
    if (!srv)
        return;
    for (int i = 0; i < srv->nstarted; i++)
        loop_stop(srv->workers[i].loop);
    for (int i = 0; i < srv->nstarted; i++)
        pthread_join(srv->workers[i].thread, NULL);
    for (int i = 0; srv->workers && i < srv->cfg.workers; i++) {
        struct worker *w = &srv->workers[i];
        if (w->loop)
            loop_destroy(w->loop);
        if (i > 0 && w->ws_fd >= 0)
            close(w->ws_fd);
        if (i > 0 && w->wss_fd >= 0)
            close(w->wss_fd);
    }
    if (srv->writer)
        archive_writer_stop(srv->writer);
    if (srv->ws_fd >= 0)
        close(srv->ws_fd);
    if (srv->wss_fd >= 0)
        close(srv->wss_fd);
    free(srv->workers);
    free(srv->payload_block);
    if (srv->tls)
        tls_ctx_free(srv->tls);
    static_free(&srv->web);
    free(srv);
}

struct server *server_start(const struct server_config *cfg_in, struct errbuf *eb)
{
    struct server *srv = xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg_in;
    srv->ws_fd = srv->wss_fd = -1;
    struct server_config *cfg = &srv->cfg;
    signal(SIGPIPE, SIG_IGN);

    if (cfg->cert_file) {
        struct errbuf teb = {""};
        srv->tls = tls_ctx_server_new(cfg->cert_file, cfg->key_file, &teb);
        if (!srv->tls) {
            errbuf_set(eb, ERR_TLS, "TLS setup failed: %s", teb.msg);
            goto fail;
        }
    }
    if (cfg->ws_listen && open_listener("ws", cfg->ws_listen, &srv->ws_fd, eb))
        goto fail;
    if (cfg->wss_listen && open_listener("wss", cfg->wss_listen, &srv->wss_fd, eb))
        goto fail;
    struct errbuf leb = {""};
    if (cfg->web_dir) {
        if (static_load_dir(&srv->web, cfg->web_dir, &leb) != 0) {
            errbuf_set(eb, ERR_CONFIG, "--web %s: %s", cfg->web_dir, leb.msg);
            goto fail;
        }
    } else {
        static_load_embedded(&srv->web);
    }
    if (archive_uuid_prefix(cfg->uuid_prefix_file, srv->uuid_prefix, sizeof(srv->uuid_prefix),
                            &leb) != 0) {
        errbuf_set(eb, ERR_CONFIG, "UUID prefix: %s", leb.msg);
        goto fail;
    }
    srv->writer = archive_writer_start(cfg->datadir, on_archived, srv, &leb);
    if (!srv->writer) {
        errbuf_set(eb, ERR_CONFIG, "datadir %s: %s", cfg->datadir, leb.msg);
        goto fail;
    }
    archive_cleanup_tmp(cfg->datadir);
    if (cfg->check_only)
        return srv;
    srv->payload_block = xmalloc(NDT7_MAX_SEND_MESSAGE);
    if (rand_fill(srv->payload_block, NDT7_MAX_SEND_MESSAGE) != 0) {
        errbuf_set(eb, ERR_IO, "getrandom failed");
        goto fail;
    }
    srv->payload = srv->payload_block;

    /* Workers never take SIGINT/SIGTERM: whoever started the server handles them. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    srv->workers = xcalloc((size_t)cfg->workers, sizeof(*srv->workers));
    for (int i = 0; i < cfg->workers; i++) {
        struct worker *w = &srv->workers[i];
        w->srv = srv;
        w->index = i;
        w->ws_fd = w->wss_fd = -1;
        w->loop = loop_create();
        if (!w->loop) {
            errbuf_set(eb, -errno, "cannot create an event loop: %s", strerror(errno));
            break;
        }
        if (srv->ws_fd >= 0)
            w->ws_fd = i == 0 ? srv->ws_fd : sock_listen_same(srv->ws_fd, 1024, &leb);
        if (srv->wss_fd >= 0)
            w->wss_fd = i == 0 ? srv->wss_fd : sock_listen_same(srv->wss_fd, 1024, &leb);
        if ((srv->ws_fd >= 0 && w->ws_fd < 0) || (srv->wss_fd >= 0 && w->wss_fd < 0)) {
            errbuf_set(eb, ERR_CONFIG, "worker %d: cannot open its listener: %s", i, leb.msg);
            break;
        }
        if (w->ws_fd >= 0)
            loop_add_fd(w->loop, w->ws_fd, LOOP_READ, on_listen_ws, w);
        if (w->wss_fd >= 0)
            loop_add_fd(w->loop, w->wss_fd, LOOP_READ, on_listen_wss, w);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            errbuf_set(eb, ERR_CONFIG, "cannot start worker thread %d", i);
            break;
        }
        srv->nstarted++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (srv->nstarted != cfg->workers)
        goto fail;
    return srv;
fail:
    server_free(srv);
    return NULL;
}

int server_port(const struct server *srv, bool tls)
{
    char ip[SOCK_ADDRSTRLEN];
    int port = 0;
    int fd = tls ? srv->wss_fd : srv->ws_fd;
    if (fd < 0 || sock_local_ip(fd, ip, sizeof(ip), &port) != 0)
        return 0;
    return port;
}

int serve_main(int argc, char **argv)
{
    struct server_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct errbuf eb = {""};
    int result = 1;
    int r = parse_serve_args(argc, argv, &cfg, &cfg.check_only);
    if (r != 0) {
        result = r < 0 ? 0 : r;
        goto out;
    }
    /* Signals are taken synchronously below, so block them before any thread starts. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    struct server *srv = server_start(&cfg, &eb);
    if (!srv) {
        fprintf(stderr, "fathom serve: %s\n", eb.msg);
        goto out;
    }
    result = 0;
    if (cfg.check_only) {
        printf("configuration ok\n");
        server_free(srv);
        goto out;
    }
    char a[SOCK_ADDRSTRLEN];
    if (srv->ws_fd >= 0 && sock_local_str(srv->ws_fd, a, sizeof(a)) == 0)
        log_info("ndt7 listening on ws://%s (%d workers)", a, srv->nstarted);
    if (srv->wss_fd >= 0 && sock_local_str(srv->wss_fd, a, sizeof(a)) == 0)
        log_info("ndt7 listening on wss://%s (%d workers)", a, srv->nstarted);
    log_info("archiving to %s/ndt7/", cfg.datadir);
    bool stopping = false;
    while (!stopping) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT) {
            log_info("interrupted: stopping");
            stopping = true;
        } else if (sig == SIGTERM) {
            if (atomic_load(&srv->lame_duck)) {
                log_info("second SIGTERM: stopping");
                stopping = true;
            } else {
                log_info("SIGTERM: lame duck (health 500); exiting once idle");
                atomic_store(&srv->lame_duck, true);
            }
        } else if (atomic_load(&srv->lame_duck) && atomic_load(&srv->active_tests) == 0) {
            log_info("lame duck and idle: stopping");
            stopping = true;
        }
    }
    server_free(srv);
out:
    for (int i = 0; i < cfg.nlabels; i++) {
        free(cfg.labels[i].name);
        free(cfg.labels[i].value);
    }
    return result;
}
