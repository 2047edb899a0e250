/*
 * demo: `fathom demo`, the embedded default. Starts `fathom serve` in this
 * process on loopback (ephemeral ports, ws plus wss with a throw-away
 * self-signed certificate), runs `fathom test` against it with live progress,
 * then prints the summary and the paths of the archived records.
 */
#include "core/log.h"
#include "core/xalloc.h"
#include "main.h"
#include "net/conn.h"
#include "server/server.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_MAX_PATHS 8

struct demo_paths {
    pthread_mutex_t lock;
    char *paths[DEMO_MAX_PATHS];
    int n;
};

static void on_archived(const struct archive_record *r, int status, const char *path, void *udata)
{
    (void)r;
    struct demo_paths *dp = udata;
    if (status != 0 || !path)
        return;
    pthread_mutex_lock(&dp->lock);
    if (dp->n < DEMO_MAX_PATHS)
        dp->paths[dp->n++] = xstrdup(path);
    pthread_mutex_unlock(&dp->lock);
}

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: fathom demo [--datadir DIR] [--scheme ws|wss] [--format human|json]\n\n"
               "Start an ndt7 server on loopback inside this process, run a full download and\n"
               "upload test against it, and show the result and the archived records.\n\n"
               "options:\n"
               "  --datadir DIR          where the archive goes (default: a new /tmp/fathom-demo-* "
               "directory)\n"
               "  --scheme ws|wss        transport of the test (default wss, with a throw-away\n"
               "                         self-signed certificate that the client verifies)\n"
               "  --format human|json    output of the test (default human on a terminal)\n"
               "  --help                 show this help\n");
}

int demo_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"datadir", required_argument, NULL, 'd'},
        {"scheme", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *datadir = NULL, *scheme = "wss", *format = "human";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            datadir = optarg;
            break;
        case 's':
            scheme = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'h':
            demo_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "fathom demo: bad option '%s'\nRun 'fathom demo --help'.\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || (strcmp(scheme, "ws") != 0 && strcmp(scheme, "wss") != 0) ||
        (format && strcmp(format, "human") != 0 && strcmp(format, "json") != 0)) {
        demo_usage(stderr);
        return EXIT_USAGE;
    }

    char tmpdir[] = "/tmp/fathom-demo-XXXXXX";
    if (!mkdtemp(tmpdir)) {
        perror("fathom demo: mkdtemp");
        return 1;
    }
    char cert[64], key[64], data[64];
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    snprintf(data, sizeof(data), "%s/data", tmpdir);
    if (!datadir)
        datadir = data;

    struct errbuf eb = {""};
    if (tls_make_selfsigned(cert, key, &eb) != 0) {
        fprintf(stderr, "fathom demo: cannot make a certificate: %s\n", eb.msg);
        return 1;
    }
    struct demo_paths dp = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct server_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.ws_listen = "127.0.0.1:0";
    cfg.wss_listen = "127.0.0.1:0";
    cfg.cert_file = cert;
    cfg.key_file = key;
    cfg.datadir = datadir;
    cfg.workers = 1;
    cfg.runtime_ns = 10ULL * 1000000000ULL;
    cfg.max_runtime_ns = 15ULL * 1000000000ULL;
    cfg.on_archived = on_archived;
    cfg.on_archived_udata = &dp;
    enum log_level saved = log_current_level;
    log_set_level(LOG_WARN);
    struct server *srv = server_start(&cfg, &eb);
    if (!srv) {
        fprintf(stderr, "fathom demo: cannot start the server: %s\n", eb.msg);
        log_set_level(saved);
        return 1;
    }
    bool tls = strcmp(scheme, "wss") == 0;
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", server_port(srv, tls));
    fprintf(stderr,
            "fathom demo: server on ws://127.0.0.1:%d and wss://127.0.0.1:%d, "
            "archive in %s\n",
            server_port(srv, false), server_port(srv, true), datadir);
    fflush(stderr);

    char *targv[16];
    int targc = 0;
    targv[targc++] = "test";
    targv[targc++] = "--server";
    targv[targc++] = target;
    targv[targc++] = "--scheme";
    targv[targc++] = (char *)(uintptr_t)scheme;
    targv[targc++] = "--ca-file";
    targv[targc++] = cert;
    targv[targc++] = "--client-name";
    targv[targc++] = "fathom-demo";
    if (format) {
        targv[targc++] = "--format";
        targv[targc++] = (char *)(uintptr_t)format;
    }
    targv[targc] = NULL;
    int rc = test_main(targc, targv);
    fflush(stdout);

    server_free(srv); /* flushes the archive writer */
    log_set_level(saved);
    FILE *out = format && strcmp(format, "json") == 0 ? stderr : stdout;
    fprintf(out, "\nArchived records (gzip JSON, ndt7 schema):\n");
    for (int i = 0; i < dp.n; i++) {
        fprintf(out, "  %s\n", dp.paths[i]);
        free(dp.paths[i]);
    }
    if (dp.n == 0)
        fprintf(out, "  (none)\n");
    fprintf(out, "Look inside one with: zcat FILE | python3 -m json.tool | less\n");
    unlink(cert);
    unlink(key);
    if (datadir != data)
        rmdir(tmpdir);
    return rc;
}
