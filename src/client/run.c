/*
 * run: `fathom test` itself. Resolves the targets (--service-url, --server or
 * Locate v2), runs the download then the upload subtest, falling back to the
 * next Locate result when one cannot be started (spec §5.2), prints the
 * summary and returns the exit status: 0 when every requested subtest ran,
 * else the number that could not start; EXIT_USAGE for usage errors.
 */
#include "client/client.h"
#include "core/clock.h"
#include "main.h"
#include "net/conn.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CANDIDATES LOCATE_MAX_RESULTS

struct run {
    const struct client_config *cfg;
    struct client_output out;
    struct client_meta meta;
    char ua[160];
    uint64_t deadline;
    struct tls_ctx *tls;
    struct subtest_result res[2];
    /* candidate URLs per direction, in the order to try them (borrowed) */
    const char *cand[2][MAX_CANDIDATES];
    size_t ncand[2];
};

static const char *dir_name(enum ndt7_direction d)
{
    return d == NDT7_UPLOAD ? "upload" : "download";
}

static void emit(struct run *r, enum client_event_type type, enum ndt7_direction dir,
                 const char *failure)
{
    struct client_event ev = {.type = type, .dir = dir, .failure = failure};
    output_event(&ev, &r->out);
}

/* One attempt at one URL. 0 when the subtest started (whatever happened later). */
static int attempt(struct run *r, enum ndt7_direction dir, const char *url, struct errbuf *eb)
{
    struct client_url u;
    int rc = client_url_parse(url, &u, eb);
    if (rc != 0)
        return rc;
    if (client_url_add_meta(&u, &r->meta) != 0)
        return errbuf_set(eb, ERR_TOOBIG, "the URL's query string is too long");
    if (u.tls && !r->tls) {
        struct errbuf teb = {""};
        r->tls = tls_ctx_client_new(r->cfg->ca_file, !r->cfg->no_verify, &teb);
        if (!r->tls)
            return errbuf_set(eb, ERR_TLS, "cannot set up TLS: %s", teb.msg);
    }
    struct session_params p = {
        .dir = dir,
        .url = &u,
        .tls = r->tls,
        .family = r->cfg->family,
        .user_agent = r->ua,
        .deadline_ns = r->deadline,
        .on_event = output_event,
        .udata = &r->out,
    };
    return session_run(&p, &r->res[dir], eb);
}

/*
 * What a user should know about a subtest that ran but not quite normally. These never change
 * the exit status: ndt7 tolerates abrupt ends once a subtest started (spec §1.8).
 */
static void subtest_notes(struct run *r, enum ndt7_direction dir)
{
    const struct subtest_result *res = &r->res[dir];
    if (r->cfg->quiet)
        return;
    if (res->end_reason[0] && strcmp(res->end_reason, "server closed") != 0)
        output_error(&r->out, "note: %s ended early or uncleanly: %s", dir_name(dir),
                     res->end_reason);
    if (res->malformed)
        output_error(&r->out, "note: %s: ignored %u malformed measurement(s) from the server",
                     dir_name(dir), res->malformed);
    if (!res->has_server)
        output_error(&r->out, "note: %s: the server sent no measurements (no latency or UUID)",
                     dir_name(dir));
}

/* Run one subtest, trying the candidates in order. true when it started. */
static bool run_subtest(struct run *r, enum ndt7_direction dir)
{
    struct errbuf eb = {""};
    bool started = false;
    emit(r, CLIENT_EV_STARTING, dir, NULL);
    if (r->ncand[dir] == 0)
        errbuf_set(&eb, ERR_NOTFOUND, "no %s URL for the %s subtest in the Locate results",
                   r->cfg->scheme == CLIENT_SCHEME_WS ? "ws" : "wss", dir_name(dir));
    for (size_t i = 0; i < r->ncand[dir]; i++) {
        if (clock_now() >= r->deadline) {
            errbuf_set(&eb, ERR_TIMEOUT, "the run timed out (--timeout %ld)", r->cfg->timeout_s);
            break;
        }
        memset(&r->res[dir], 0, sizeof(r->res[dir]));
        r->res[dir].requested = true;
        if (attempt(r, dir, r->cand[dir][i], &eb) == 0) {
            started = true;
            break;
        }
        if (i + 1 < r->ncand[dir])
            output_error(&r->out, "%s: %s; trying the next server", dir_name(dir), eb.msg);
        else if (r->ncand[dir] > 1)
            errbuf_set(&eb, ERR_NOTFOUND,
                       "no targets available: all %zu servers failed (last: %.180s)", r->ncand[dir],
                       eb.msg);
    }
    if (!started) {
        memset(&r->res[dir], 0, sizeof(r->res[dir]));
        r->res[dir].requested = true;
        output_error(&r->out, "%s could not start: %s", dir_name(dir), eb.msg);
        emit(r, CLIENT_EV_ERROR, dir, eb.msg);
        return false;
    }
    emit(r, CLIENT_EV_COMPLETE, dir, NULL);
    subtest_notes(r, dir);
    return true;
}

int test_main(int argc, char **argv)
{
    struct client_config cfg;
    struct errbuf eb = {""};
    if (client_parse_args(argc, argv, &cfg, &eb) != 0) {
        fprintf(stderr, "fathom test: %s\nRun 'fathom test --help' for the options.\n", eb.msg);
        return EXIT_USAGE;
    }
    if (cfg.help) {
        client_usage(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer reset must be an error code, not a dead process */

    static struct run r; /* large (candidate results); one per process */
    memset(&r, 0, sizeof(r));
    r.cfg = &cfg;
    bool tty = isatty(STDOUT_FILENO) == 1;
    int format = cfg.format != CLIENT_FORMAT_AUTO ? cfg.format
                 : tty                            ? CLIENT_FORMAT_HUMAN
                                                  : CLIENT_FORMAT_JSON;
    output_init(&r.out, format, cfg.quiet, tty, stdout, stderr);
    r.deadline = clock_now() + (uint64_t)cfg.timeout_s * NS_PER_SEC;
    client_meta_init(&r.meta, cfg.client_name);
    client_user_agent(&r.meta, r.ua, sizeof(r.ua));

    const bool want[2] = {cfg.download, cfg.upload};
    char server_urls[2][CLIENT_MAX_URL];
    struct locate_result loc;
    bool have_loc = false;
    const char *run_error = NULL;
    memset(&loc, 0, sizeof(loc));
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (cfg.service_url) {
        int d = cfg.download ? NDT7_DOWNLOAD : NDT7_UPLOAD;
        r.cand[d][0] = cfg.service_url;
        r.ncand[d] = 1;
    } else if (cfg.server) {
        for (int d = 0; d < 2; d++) {
            client_server_url(cfg.server, cfg.scheme, (enum ndt7_direction)d, server_urls[d],
                              sizeof(server_urls[d]));
            r.cand[d][0] = server_urls[d];
            r.ncand[d] = 1;
        }
    } else {
        uint64_t now = clock_now();
        long left_ms = r.deadline > now ? (long)((r.deadline - now) / NS_PER_MS) : 1;
        struct locate_opts lo = {
            .ca_file = cfg.ca_file,
            .no_verify = cfg.no_verify,
            .family = cfg.family,
            .user_agent = r.ua,
            .timeout_ms = left_ms < CLIENT_LOCATE_TIMEOUT_MS ? left_ms : CLIENT_LOCATE_TIMEOUT_MS,
        };
        if (locate_fetch(cfg.locate_url, &lo, &loc, &eb) != 0) {
            run_error = eb.msg;
        } else {
            have_loc = true;
            for (int d = 0; d < 2; d++)
                for (size_t i = 0; i < loc.ntargets; i++) {
                    const char *u = loc.targets[i].urls[cfg.scheme][d];
                    if (u)
                        r.cand[d][r.ncand[d]++] = u;
                }
        }
    }

    int failed = 0;
    if (run_error) {
        output_error(&r.out, "%s", run_error);
        for (int d = 0; d < 2; d++) {
            if (!want[d])
                continue;
            r.res[d].requested = true;
            emit(&r, CLIENT_EV_STARTING, (enum ndt7_direction)d, NULL);
            emit(&r, CLIENT_EV_ERROR, (enum ndt7_direction)d, run_error);
            failed++;
        }
    } else {
        for (int d = 0; d < 2; d++) {
            if (!want[d])
                continue;
            r.res[d].requested = true;
            if (!run_subtest(&r, (enum ndt7_direction)d))
                failed++;
        }
    }

    struct client_summary sum;
    summary_compute(r.res, &sum);
    output_summary(&r.out, &sum);
    if (r.out.write_error && failed == 0)
        failed = 1; /* results that could not be written are not results */

    if (have_loc)
        locate_result_free(&loc);
    if (r.tls)
        tls_ctx_free(r.tls);
    curl_global_cleanup();
    return failed;
}
