/*
 * cli: the command line of `fathom test`.
 *
 * One table drives getopt_long, validation and --help (style.md
 * "Configuration"): each row names the option, its type, where it lands in
 * struct client_config, its limits and its help line. The option names are a
 * contract (issue 3): scripts and tests rely on them.
 */
#include "client/client.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum opt_type {
    OPT_STRING,  /* const char * */
    OPT_TRUE,    /* bool set to true */
    OPT_FALSE,   /* bool set to false */
    OPT_CHOICE,  /* int, one of choices */
    OPT_SECONDS, /* long, whole seconds in [min, max], optional "s" suffix */
    OPT_CONST,   /* int set to const_value */
    OPT_HELP,
};

struct opt_choice {
    const char *name;
    int value;
};

struct client_option {
    const char *name; /* long name without "--", or NULL */
    int short_name;   /* 0 when none */
    enum opt_type type;
    size_t offset; /* into struct client_config */
    const char *metavar;
    const char *defval; /* shown in --help */
    long min, max;
    const struct opt_choice *choices;
    int const_value;
    const char *help;
};

static const struct opt_choice scheme_choices[] = {
    {"wss", CLIENT_SCHEME_WSS}, {"ws", CLIENT_SCHEME_WS}, {NULL, 0}};
static const struct opt_choice format_choices[] = {
    {"human", CLIENT_FORMAT_HUMAN}, {"json", CLIENT_FORMAT_JSON}, {NULL, 0}};

#define OFF(field) offsetof(struct client_config, field)

static const struct client_option options[] = {
    {"server", 0, OPT_STRING, OFF(server), "HOST[:PORT]", NULL, 0, 0, NULL, 0,
     "test against this server instead of asking Locate (IPv6 as [addr]:port)"},
    {"scheme", 0, OPT_CHOICE, OFF(scheme), "ws|wss", "wss", 0, 0, scheme_choices, 0,
     "WebSocket scheme for --server and Locate results"},
    {"service-url", 0, OPT_STRING, OFF(service_url), "URL", NULL, 0, 0, NULL, 0,
     "one exact subtest URL (ws[s]://host/ndt/v7/download|upload?access_token=...)"},
    {"locate-url", 0, OPT_STRING, OFF(locate_url), "URL", CLIENT_DEFAULT_LOCATE_URL, 0, 0, NULL, 0,
     "Locate v2 lookup URL (http, https or file)"},
    {"no-verify", 0, OPT_TRUE, OFF(no_verify), NULL, NULL, 0, 0, NULL, 0,
     "do not verify TLS certificates (ndt7 servers and Locate)"},
    {"ca-file", 0, OPT_STRING, OFF(ca_file), "FILE", "system trust store", 0, 0, NULL, 0,
     "trust the PEM certificates in FILE instead of the system store"},
    {"format", 0, OPT_CHOICE, OFF(format), "human|json", "human on a terminal, else json", 0, 0,
     format_choices, 0, "output format"},
    {"quiet", 'q', OPT_TRUE, OFF(quiet), NULL, NULL, 0, 0, NULL, 0,
     "print only the summary and errors"},
    {NULL, '4', OPT_CONST, OFF(family), NULL, NULL, 0, 0, NULL, AF_INET, "use IPv4 only"},
    {NULL, '6', OPT_CONST, OFF(family), NULL, NULL, 0, 0, NULL, AF_INET6, "use IPv6 only"},
    {"timeout", 0, OPT_SECONDS, OFF(timeout_s), "SECONDS", "55", 1, 3600, NULL, 0,
     "give up on the whole run after this long"},
    {"download", 0, OPT_TRUE, OFF(download), NULL, NULL, 0, 0, NULL, 0,
     "run the download subtest (default)"},
    {"no-download", 0, OPT_FALSE, OFF(download), NULL, NULL, 0, 0, NULL, 0,
     "skip the download subtest"},
    {"upload", 0, OPT_TRUE, OFF(upload), NULL, NULL, 0, 0, NULL, 0,
     "run the upload subtest (default)"},
    {"no-upload", 0, OPT_FALSE, OFF(upload), NULL, NULL, 0, 0, NULL, 0, "skip the upload subtest"},
    {"client-name", 0, OPT_STRING, OFF(client_name), "NAME", CLIENT_DEFAULT_NAME, 1, 63, NULL, 0,
     "client_name sent to the server and in the User-Agent"},
    {"help", 'h', OPT_HELP, 0, NULL, NULL, 0, 0, NULL, 0, "show this help and exit"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
#define LONG_BASE 256 /* getopt_long val for options without a short name: LONG_BASE + index */

static void *field(struct client_config *cfg, const struct client_option *o)
{
    return (char *)cfg + o->offset;
}

static const char *opt_display(const struct client_option *o, char *tmp, size_t n)
{
    if (o->name)
        snprintf(tmp, n, "--%s", o->name);
    else
        snprintf(tmp, n, "-%c", o->short_name);
    return tmp;
}

static int parse_seconds(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return ERR_CONFIG;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s)
        return ERR_CONFIG;
    if (*end == 's')
        end++;
    if (*end != '\0' || v < min || v > max)
        return ERR_CONFIG;
    *out = v;
    return 0;
}

static bool printable_name(const char *s)
{
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f)
            return false;
    return true;
}

static int apply_option(struct client_config *cfg, const struct client_option *o, const char *arg,
                        struct errbuf *eb)
{
    char nm[32];
    switch (o->type) {
    case OPT_STRING: {
        size_t len = strlen(arg);
        if (len == 0)
            return errbuf_set(eb, ERR_CONFIG, "%s needs a non-empty value", opt_display(o, nm, 32));
        if (o->max && (len < (size_t)o->min || len > (size_t)o->max))
            return errbuf_set(eb, ERR_CONFIG, "%s must be %ld to %ld characters long",
                              opt_display(o, nm, 32), o->min, o->max);
        *(const char **)field(cfg, o) = arg;
        return 0;
    }
    case OPT_TRUE:
        *(bool *)field(cfg, o) = true;
        return 0;
    case OPT_FALSE:
        *(bool *)field(cfg, o) = false;
        return 0;
    case OPT_CONST:
        *(int *)field(cfg, o) = o->const_value;
        return 0;
    case OPT_CHOICE:
        for (const struct opt_choice *c = o->choices; c->name; c++) {
            if (strcmp(c->name, arg) == 0) {
                *(int *)field(cfg, o) = c->value;
                return 0;
            }
        }
        return errbuf_set(eb, ERR_CONFIG, "%s must be %s, not '%s'", opt_display(o, nm, 32),
                          o->metavar, arg);
    case OPT_SECONDS:
        if (parse_seconds(arg, o->min, o->max, (long *)field(cfg, o)) != 0)
            return errbuf_set(eb, ERR_CONFIG,
                              "%s must be a whole number of seconds from %ld to %ld, not '%s'",
                              opt_display(o, nm, 32), o->min, o->max, arg);
        return 0;
    case OPT_HELP:
        cfg->help = true;
        return 0;
    }
    return ERR_CONFIG;
}

static void config_defaults(struct client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->locate_url = CLIENT_DEFAULT_LOCATE_URL;
    cfg->client_name = CLIENT_DEFAULT_NAME;
    cfg->scheme = CLIENT_SCHEME_WSS;
    cfg->format = CLIENT_FORMAT_AUTO;
    cfg->timeout_s = CLIENT_DEFAULT_TIMEOUT_S;
    cfg->download = true;
    cfg->upload = true;
}

static const struct client_option *find_option(int val)
{
    if (val >= LONG_BASE && val < LONG_BASE + (int)NOPTIONS)
        return &options[val - LONG_BASE];
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].short_name && options[i].short_name == val)
            return &options[i];
    return NULL;
}

/* Checks across options, once all are known. seen[] marks options given explicitly. */
static int validate(struct client_config *cfg, const bool *seen, struct errbuf *eb)
{
    size_t i4 = 0, i6 = 0, iup = 0, idown = 0;
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].short_name == '4')
            i4 = i;
        else if (options[i].short_name == '6')
            i6 = i;
        else if (options[i].name && strcmp(options[i].name, "upload") == 0)
            iup = i;
        else if (options[i].name && strcmp(options[i].name, "download") == 0)
            idown = i;
    }
    if (seen[i4] && seen[i6])
        return errbuf_set(eb, ERR_CONFIG, "-4 and -6 cannot be used together");
    if (cfg->server && cfg->service_url)
        return errbuf_set(eb, ERR_CONFIG, "--server and --service-url cannot be used together");

    if (cfg->server) {
        char url[CLIENT_MAX_URL];
        struct client_url u;
        struct errbuf ueb;
        if (client_server_url(cfg->server, cfg->scheme, NDT7_DOWNLOAD, url, sizeof(url)) != 0 ||
            client_url_parse(url, &u, &ueb) != 0 || strcmp(u.path, NDT7_PATH_DOWNLOAD) != 0)
            return errbuf_set(eb, ERR_CONFIG,
                              "--server must be HOST or HOST:PORT (IPv6 as [ADDR]:PORT), not '%s'",
                              cfg->server);
    }
    if (cfg->service_url) {
        struct client_url u;
        struct errbuf ueb;
        if (client_url_parse(cfg->service_url, &u, &ueb) != 0)
            return errbuf_set(eb, ERR_CONFIG, "--service-url: %s", ueb.msg);
        bool is_down = strcmp(u.path, NDT7_PATH_DOWNLOAD) == 0;
        bool is_up = strcmp(u.path, NDT7_PATH_UPLOAD) == 0;
        if (!is_down && !is_up)
            return errbuf_set(eb, ERR_CONFIG, "--service-url path must be %s or %s, not '%s'",
                              NDT7_PATH_DOWNLOAD, NDT7_PATH_UPLOAD, u.path);
        /* The URL names exactly one subtest; asking for the other one is a contradiction. */
        if ((is_down && seen[iup] && cfg->upload) || (is_up && seen[idown] && cfg->download))
            return errbuf_set(eb, ERR_CONFIG, "--service-url names only the %s subtest; drop --%s",
                              is_down ? "download" : "upload", is_down ? "upload" : "download");
        if ((is_down && !cfg->download) || (is_up && !cfg->upload))
            return errbuf_set(eb, ERR_CONFIG,
                              "--service-url names the %s subtest, which --no-%s skips",
                              is_down ? "download" : "upload", is_down ? "download" : "upload");
        cfg->download = is_down;
        cfg->upload = is_up;
    }
    if (!cfg->download && !cfg->upload)
        return errbuf_set(eb, ERR_CONFIG, "nothing to do: both subtests are disabled");

    if (strncmp(cfg->locate_url, "https://", 8) != 0 &&
        strncmp(cfg->locate_url, "http://", 7) != 0 && strncmp(cfg->locate_url, "file://", 7) != 0)
        return errbuf_set(eb, ERR_CONFIG,
                          "--locate-url must be an http, https or file URL, not '%s'",
                          cfg->locate_url);
    if (!printable_name(cfg->client_name))
        return errbuf_set(eb, ERR_CONFIG,
                          "--client-name must be printable ASCII without spaces, not '%s'",
                          cfg->client_name);
    if (cfg->ca_file && access(cfg->ca_file, R_OK) != 0)
        return errbuf_set(eb, ERR_CONFIG, "--ca-file %s: %s", cfg->ca_file, err_str(-errno));
    return 0;
}

int client_parse_args(int argc, char **argv, struct client_config *cfg, struct errbuf *eb)
{
    struct option longopts[NOPTIONS + 1];
    char shortopts[2 * NOPTIONS + 2];
    bool seen[NOPTIONS];
    size_t nlong = 0, ns = 0;

    config_defaults(cfg);
    memset(seen, 0, sizeof(seen));
    shortopts[ns++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct client_option *o = &options[i];
        int has_arg = (o->type == OPT_STRING || o->type == OPT_CHOICE || o->type == OPT_SECONDS)
                          ? required_argument
                          : no_argument;
        if (o->name)
            longopts[nlong++] = (struct option){o->name, has_arg, NULL,
                                                o->short_name ? o->short_name : LONG_BASE + (int)i};
        if (o->short_name) {
            shortopts[ns++] = (char)o->short_name;
            if (has_arg == required_argument)
                shortopts[ns++] = ':';
        }
    }
    longopts[nlong] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns] = '\0';

    optind = 0; /* glibc: full re-initialisation */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            const char *arg = argv[optind - 1];
            if (c == ':')
                return errbuf_set(eb, ERR_CONFIG, "option '%s' needs an argument", arg);
            if (optopt && optopt < LONG_BASE && arg[1] != '-')
                return errbuf_set(eb, ERR_CONFIG, "unknown option '-%c'", optopt);
            return errbuf_set(eb, ERR_CONFIG, "unknown option '%s'", arg);
        }
        const struct client_option *o = find_option(c);
        if (!o)
            return errbuf_set(eb, ERR_CONFIG, "unknown option");
        int r = apply_option(cfg, o, optarg, eb);
        if (r != 0)
            return r;
        if (cfg->help)
            return 0;
        seen[o - options] = true;
    }
    if (optind < argc)
        return errbuf_set(eb, ERR_CONFIG, "unexpected argument '%s'", argv[optind]);
    return validate(cfg, seen, eb);
}

void client_usage(FILE *f)
{
    fprintf(f, "usage: fathom test [options]\n\n"
               "Measure download and upload speed with ndt7 against a nearby server found\n"
               "through Locate v2, or a server you name.\n\n"
               "options:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct client_option *o = &options[i];
        char left[64];
        if (o->name && o->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else if (o->name)
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof(left), "-%c", o->short_name);
        if (strlen(left) > 26)
            fprintf(f, "  %s\n  %-26s  %s", left, "", o->help);
        else
            fprintf(f, "  %-26s  %s", left, o->help);
        if (o->defval)
            fprintf(f, " (default: %s)", o->defval);
        fputc('\n', f);
    }
    fprintf(f,
            "\nexit status:\n"
            "  0   every requested subtest ran (an abrupt end after the start is not a failure)\n"
            "  1   one requested subtest could not start (locate, connect, TLS or handshake)\n"
            "  2   both subtests could not start\n"
            "  64  usage error\n"
            "\nSee docs/fathom-test.md for the output formats.\n");
}
