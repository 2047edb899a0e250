/*
 * client: `fathom test`, the ndt7 client.
 *
 * Pieces, each in its own file and usable on its own (the pure ones are unit
 * tested without sockets):
 *   cli.c      option table -> struct client_config (getopt_long and --help)
 *   url.c      ws/wss URL parsing, client metadata merged into the query
 *   locate.c   Locate v2: fetch (libcurl) and parse (jansson, pure)
 *   session.c  one ndt7 subtest over one connection, driven by poll(2)
 *   summary.c  the final numbers (spec §5.5, upload from the server's AppInfo)
 *   output.c   human (progress line + summary) and JSON (Go client events)
 *   run.c      test_main: targets, fallback, subtests, exit status
 *
 * Privacy: the only metadata a client sends is the six generalized client_*
 * keys below; nothing persistent identifies a user or machine, ever.
 */
#ifndef FATHOM_CLIENT_CLIENT_H
#define FATHOM_CLIENT_CLIENT_H

#include "core/err.h"
#include "ndt7/ndt7.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tls_ctx;

#define CLIENT_DEFAULT_LOCATE_URL "https://locate.measurementlab.net/v2/nearest/ndt/ndt7"
#define CLIENT_DEFAULT_NAME "fathom-cli"
#define CLIENT_LIBRARY_NAME "fathom"
#define CLIENT_DEFAULT_TIMEOUT_S 55
#define CLIENT_LOCATE_TIMEOUT_MS 10000
#define CLIENT_LOCATE_MAX_BODY (1u << 20)
#define CLIENT_MAX_URL 8192

/* Exit statuses of `fathom test` (EXIT_USAGE = 64 in main.h for usage errors). */
#define CLIENT_EXIT_OK 0 /* every requested subtest ran */
/* otherwise: the number of requested subtests that failed to start (1 or 2) */

/* ---- Configuration (cli.c) ----------------------------------------------- */

enum client_format { CLIENT_FORMAT_AUTO = 0, CLIENT_FORMAT_HUMAN, CLIENT_FORMAT_JSON };
enum client_scheme { CLIENT_SCHEME_WSS = 0, CLIENT_SCHEME_WS };

/*
 * The validated command line. Strings borrow argv (they live as long as
 * argv); nothing here is freed. Immutable once client_parse_args returned 0.
 */
struct client_config {
    const char *server;      /* "host[:port]" or NULL */
    const char *service_url; /* one exact subtest URL or NULL */
    const char *locate_url;  /* never NULL after parsing */
    const char *ca_file;     /* NULL: system trust store */
    const char *client_name; /* never NULL after parsing */
    int scheme;              /* enum client_scheme */
    int format;              /* enum client_format; AUTO resolved by the caller (tty) */
    int family;              /* 0, AF_INET (-4) or AF_INET6 (-6) */
    long timeout_s;          /* whole run, seconds */
    bool no_verify;
    bool quiet;
    bool download, upload; /* which subtests run */
    bool help;             /* --help given: print usage, exit 0 */
};

/*
 * Parse argv (argv[0] is the subcommand name). Resets getopt's state, so it
 * may be called repeatedly (tests). Returns 0, or ERR_CONFIG with a message
 * in eb fit to print after "fathom test: " (the caller exits EXIT_USAGE).
 * Does not print anything.
 */
int client_parse_args(int argc, char **argv, struct client_config *cfg, struct errbuf *eb);
/* Print the usage text generated from the option table. */
void client_usage(FILE *f);

/* ---- URLs and metadata (url.c) -------------------------------------------- */

/* The client metadata sent with every subtest (and nothing else). */
struct client_meta {
    char name[64];
    char version[32];
    char library_name[32];
    char library_version[32];
    char os[32];   /* uname sysname, lowercased: "linux" */
    char arch[32]; /* Go GOARCH naming: amd64, arm64, 386, arm, ... */
};

/* Fill meta for this machine with client_name = name (NULL: the default). */
void client_meta_init(struct client_meta *m, const char *name);
/* Map a uname machine string to Go's GOARCH spelling (x86_64 -> amd64). Static storage or m. */
const char *client_arch_name(const char *machine);
/* "<client_name>/<version> fathom/<version>" into out. */
void client_user_agent(const struct client_meta *m, char *out, size_t n);

/* A parsed ws:// or wss:// URL. */
struct client_url {
    bool tls;
    char host[256]; /* without brackets */
    uint16_t port;  /* explicit or the scheme's default */
    bool port_explicit;
    char path[512];                 /* starts with '/' */
    char query[CLIENT_MAX_URL / 2]; /* without '?', still encoded; may be empty */
};

/*
 * Parse "ws[s]://host[:port]/path[?query]" (host may be "[v6]"). No
 * fragments or userinfo. Returns 0 or ERR_CONFIG with eb explaining.
 */
int client_url_parse(const char *s, struct client_url *u, struct errbuf *eb);
/*
 * Merge the metadata into u->query: existing pairs (e.g. access_token) are
 * kept in order, pairs whose key is one of ours are replaced, ours are
 * appended percent-encoded. Returns 0 or ERR_TOOBIG.
 */
int client_url_add_meta(struct client_url *u, const struct client_meta *m);
/* Host header value: host, bracketed when IPv6, plus ":port" when not the default. */
void client_url_hostport(const struct client_url *u, char *out, size_t n);
/* Request target: path plus "?query" when there is one. 0 or ERR_TOOBIG. */
int client_url_target(const struct client_url *u, char *out, size_t n);
/* The whole URL again. 0 or ERR_TOOBIG. */
int client_url_format(const struct client_url *u, char *out, size_t n);
/*
 * "<scheme>://<server>/ndt/v7/<dir>" for --server (a bare IPv6 address gets
 * brackets). 0 or ERR_TOOBIG.
 */
int client_server_url(const char *server, int scheme, enum ndt7_direction dir, char *out, size_t n);
/* Append s percent-encoded (RFC 3986 unreserved kept) to out (size n). 0 or ERR_TOOBIG. */
int client_pct_encode(const char *s, char *out, size_t n);

/* ---- Locate v2 (locate.c) --------------------------------------------------- */

#define LOCATE_MAX_RESULTS 16

struct locate_target {
    char *machine;  /* owned; may be "" */
    char *hostname; /* owned; may be "" */
    /* urls[scheme][direction]: owned, NULL when the result has none */
    char *urls[2][2];
};

struct locate_result {
    struct locate_target targets[LOCATE_MAX_RESULTS];
    size_t ntargets;
};

/*
 * Parse a Locate v2 response body (pure: no I/O). http_status is the HTTP
 * status (0 for file:// and tests, treated like 200). Fills out (free with
 * locate_result_free, also on failure) and returns 0, or:
 *   ERR_HTTP      the body has an error object {type,title,status}, or a
 *                 non-200 status without one; eb says "locate: <title> ..."
 *   ERR_NOTFOUND  results missing or empty: "no available servers"
 *   ERR_PROTO     malformed JSON or wrong types, eb names the bad field
 */
int locate_parse(const char *body, size_t len, long http_status, struct locate_result *out,
                 struct errbuf *eb);
void locate_result_free(struct locate_result *r);

struct locate_opts {
    const char *ca_file;
    bool no_verify;
    int family;             /* 0, AF_INET, AF_INET6 */
    const char *user_agent; /* borrowed */
    long timeout_ms;
};

/*
 * GET url (http, https or file) with libcurl and parse it. Blocks for up to
 * opts->timeout_ms. Same returns as locate_parse plus ERR_IO for transfer
 * failures (eb: curl's reason).
 */
int locate_fetch(const char *url, const struct locate_opts *opts, struct locate_result *out,
                 struct errbuf *eb);

/* ---- Events and sessions (session.c) -------------------------------------------- */

enum client_event_type {
    CLIENT_EV_STARTING,
    CLIENT_EV_ERROR, /* the subtest could not start; failure set */
    CLIENT_EV_CONNECTED,
    CLIENT_EV_MEASUREMENT,
    CLIENT_EV_COMPLETE,
};

struct client_event {
    enum client_event_type type;
    enum ndt7_direction dir;
    const char *server;  /* CONNECTED: the FQDN used */
    const char *failure; /* ERROR */
    /* MEASUREMENT */
    bool from_server;
    const char *json; /* server: the message text as received (not NUL-terminated) */
    size_t json_len;
    const struct ndt7_appinfo *app; /* client: our AppInfo */
    /* progress, for the human output: seconds since the subtest started and speed so far */
    double elapsed_s;
    double mbps;
};

/* Called synchronously from session_run and run.c; must not re-enter them. */
typedef void (*client_event_cb)(const struct client_event *ev, void *udata);

/* What one subtest produced; input of the summary. */
struct subtest_result {
    bool requested;
    bool started;   /* the WebSocket handshake completed */
    char fqdn[256]; /* host of the URL used */
    bool has_client;
    struct ndt7_appinfo last_client; /* our last AppInfo */
    bool has_server;
    struct ndt7_sample last_server; /* the server's last measurement */
    bool has_steady;
    double steady_mbps; /* Fathom's steady-state estimate, when the server sent one */
    char sock_client_ip[64], sock_server_ip[64]; /* from the socket, fallback for ConnectionInfo */
    char end_reason[128]; /* how it ended ("server closed" when normal), for diagnostics */
    unsigned malformed;   /* server text messages that were not valid measurements */
};

struct session_params {
    enum ndt7_direction dir;
    const struct client_url *url; /* with metadata already merged */
    struct tls_ctx *tls;          /* borrowed; required when url->tls */
    int family;
    const char *user_agent;
    uint64_t deadline_ns; /* clock_now() deadline of the whole run */
    client_event_cb on_event;
    void *udata;
};

/*
 * Run one subtest. Blocks (poll) for at most about 7 s of handshake plus 15 s
 * of test, and never past params->deadline_ns. Returns 0 when the subtest
 * started (res->started; an abrupt end later is not a failure), or a negative
 * error with eb explaining why it could not start (connect, TLS, upgrade).
 * Emits MEASUREMENT events through params->on_event.
 */
int session_run(const struct session_params *p, struct subtest_result *res, struct errbuf *eb);

/* ---- Summary (summary.c) ----------------------------------------------------------- */

struct dir_summary {
    bool present; /* false: subtest not run or failed to start (JSON null) */
    char uuid[128];
    double throughput_mbps;
    const char
        *throughput_source; /* "client-appinfo", "server-appinfo", "server-tcpinfo", "none" */
    double latency_ms;
    bool has_latency;
    double retrans_pct; /* download only */
    bool has_retrans;
    bool has_steady;
    double steady_mbps;
};

struct client_summary {
    char server_fqdn[256];
    char server_ip[64];
    char client_ip[64];
    struct dir_summary download, upload;
};

/* Compute the summary from both subtests' results (either may be not requested). */
void summary_compute(const struct subtest_result res[2], struct client_summary *s);
/*
 * Fold one server measurement into r->last_server: each object present in in
 * (AppInfo, TCPInfo, BBRInfo, ConnectionInfo) replaces the one kept, the others
 * stay, so the summary sees the newest value of each.
 */
void subtest_merge_sample(struct subtest_result *r, const struct ndt7_sample *in);
/* Bare IP of a "1.2.3.4:80" / "[v6]:443" endpoint string into out ("" if unparsable). */
void summary_endpoint_ip(const char *endpoint, char *out, size_t n);

/* ---- Output (output.c) ---------------------------------------------------------------- */

struct client_output {
    int format; /* CLIENT_FORMAT_HUMAN or CLIENT_FORMAT_JSON */
    bool quiet;
    bool tty;      /* out is a terminal: live progress line */
    FILE *out;     /* results */
    FILE *err;     /* errors and diagnostics */
    bool progress; /* a \r progress line is on screen */
    int write_error;
};

void output_init(struct client_output *o, int format, bool quiet, bool tty, FILE *out, FILE *err);
/*
 * Render one event (a client_event_cb; udata is the struct client_output).
 * ERROR events only become JSON lines: the plain-words message for stderr is
 * the caller's, through output_error, so it is printed once in either format.
 */
void output_event(const struct client_event *ev, void *udata);
/* Print the summary (last line of JSON output; always printed, also on failure). */
void output_summary(struct client_output *o, const struct client_summary *s);
/* Print a run-level error (locate failure, bad URL) in plain words on o->err. */
void output_error(struct client_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The summary as one JSON line (no trailing newline) in malloc'ed memory
 * (caller frees), for output and tests.
 */
char *output_summary_json(const struct client_summary *s);
/* One JSON event line (no trailing newline), malloc'ed; NULL for events with no JSON form. */
char *output_event_json(const struct client_event *ev);

#endif
