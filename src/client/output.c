/*
 * output: what `fathom test` prints.
 *
 * JSON (--format json): one object per line, the event lines of
 * ndt7-client-go (spec §5.4) — starting, error (only when a subtest cannot
 * start), connected, measurement (client AppInfo and server samples tagged
 * with Origin/Test), complete — then the summary object without a Key
 * wrapper, always last, so the output is valid JSON lines even on failure.
 * Our additions are extra fields only (ThroughputSource, SteadyStateMbps).
 *
 * Human (--format human): a \r-updated progress line per subtest when stdout
 * is a terminal, then a summary block. Errors go to stderr in plain words;
 * results never do. --quiet keeps only the summary and errors.
 */
#include "client/client.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))
#define BAR_WIDTH 20

static const char *dir_name(enum ndt7_direction d)
{
    return d == NDT7_UPLOAD ? "upload" : "download";
}

/* Three decimals are plenty for Mbit/s, ms and %; keeps the JSON free of 0.30000000000000004. */
static json_t *real3(double v)
{
    if (!isfinite(v))
        v = 0.0;
    return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *value_unit(double v, const char *unit)
{
    return json_pack("{s:o,s:s}", "Value", real3(v), "Unit", unit);
}

void output_init(struct client_output *o, int format, bool quiet, bool tty, FILE *out, FILE *err)
{
    memset(o, 0, sizeof(*o));
    o->format = format;
    o->quiet = quiet;
    o->tty = tty;
    o->out = out;
    o->err = err;
}

static json_t *measurement_json(const struct client_event *ev)
{
    json_t *m;
    if (ev->from_server) {
        m = json_loadb(ev->json, ev->json_len, 0, NULL);
        if (!json_is_object(m)) {
            json_decref(m);
            return NULL;
        }
    } else {
        if (!ev->app)
            return NULL;
        m = json_pack("{s:{s:I,s:I}}", "AppInfo", "NumBytes", (json_int_t)ev->app->num_bytes,
                      "ElapsedTime", (json_int_t)ev->app->elapsed_us);
    }
    json_object_set_new(m, "Origin", json_string(ev->from_server ? "server" : "client"));
    json_object_set_new(m, "Test", json_string(dir_name(ev->dir)));
    return m;
}

char *output_event_json(const struct client_event *ev)
{
    const char *key = NULL;
    json_t *value = NULL;
    switch (ev->type) {
    case CLIENT_EV_STARTING:
        key = "starting";
        value = json_pack("{s:s}", "Test", dir_name(ev->dir));
        break;
    case CLIENT_EV_ERROR:
        key = "error";
        value = json_pack("{s:s,s:s}", "Test", dir_name(ev->dir), "Failure",
                          ev->failure ? ev->failure : "unknown error");
        break;
    case CLIENT_EV_CONNECTED:
        key = "connected";
        value = json_pack("{s:s,s:s}", "Test", dir_name(ev->dir), "Server",
                          ev->server ? ev->server : "");
        break;
    case CLIENT_EV_MEASUREMENT:
        key = "measurement";
        value = measurement_json(ev);
        break;
    case CLIENT_EV_COMPLETE:
        key = "complete";
        value = json_pack("{s:s}", "Test", dir_name(ev->dir));
        break;
    }
    if (!value)
        return NULL;
    json_t *line = json_pack("{s:s,s:o}", "Key", key, "Value", value);
    char *s = json_dumps(line, JSON_FLAGS);
    json_decref(line);
    return s;
}

static json_t *dir_json(const struct dir_summary *d, enum ndt7_direction dir)
{
    if (!d->present)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "UUID", json_string(d->uuid));
    json_object_set_new(o, "Throughput", value_unit(d->throughput_mbps, "Mbit/s"));
    json_object_set_new(o, "Latency", value_unit(d->latency_ms, "ms"));
    if (dir == NDT7_DOWNLOAD)
        json_object_set_new(o, "Retransmission", value_unit(d->retrans_pct, "%"));
    else /* the Go client never computes upload retransmission: {0,""} */
        json_object_set_new(o, "Retransmission", value_unit(0.0, ""));
    json_object_set_new(o, "ThroughputSource", json_string(d->throughput_source));
    if (d->has_steady)
        json_object_set_new(o, "SteadyStateMbps", real3(d->steady_mbps));
    return o;
}

char *output_summary_json(const struct client_summary *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "ServerFQDN", json_string(s->server_fqdn));
    json_object_set_new(o, "ServerIP", json_string(s->server_ip));
    json_object_set_new(o, "ClientIP", json_string(s->client_ip));
    json_object_set_new(o, "Download", dir_json(&s->download, NDT7_DOWNLOAD));
    json_object_set_new(o, "Upload", dir_json(&s->upload, NDT7_UPLOAD));
    char *out = json_dumps(o, JSON_FLAGS);
    json_decref(o);
    return out;
}

static void print_line(struct client_output *o, const char *s)
{
    if (fputs(s, o->out) == EOF || fputc('\n', o->out) == EOF || fflush(o->out) == EOF)
        o->write_error = 1;
}

static void end_progress(struct client_output *o)
{
    if (o->progress) {
        fputc('\n', o->out);
        fflush(o->out);
        o->progress = false;
    }
}

static void human_progress(struct client_output *o, const struct client_event *ev)
{
    double frac = ev->elapsed_s / 10.0;
    if (frac > 1.0)
        frac = 1.0;
    if (frac < 0.0)
        frac = 0.0;
    int filled = (int)(frac * BAR_WIDTH + 0.5);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(o->out, "\r%-8s [%s] %4.1f/10 s %9.1f Mbit/s ", dir_name(ev->dir), bar,
            ev->elapsed_s > 99.9 ? 99.9 : ev->elapsed_s, ev->mbps);
    fflush(o->out);
    o->progress = true;
}

static void human_event(struct client_output *o, const struct client_event *ev)
{
    if (ev->type == CLIENT_EV_ERROR) {
        end_progress(o); /* the caller says it in plain words through output_error */
        return;
    }
    if (o->quiet)
        return;
    char line[400];
    switch (ev->type) {
    case CLIENT_EV_STARTING:
        break;
    case CLIENT_EV_CONNECTED:
        snprintf(line, sizeof(line), "%s: testing with %s", dir_name(ev->dir),
                 ev->server ? ev->server : "?");
        print_line(o, line);
        break;
    case CLIENT_EV_MEASUREMENT:
        if (o->tty && !ev->from_server)
            human_progress(o, ev);
        break;
    case CLIENT_EV_COMPLETE:
        end_progress(o);
        snprintf(line, sizeof(line), "%s: complete", dir_name(ev->dir));
        print_line(o, line);
        break;
    case CLIENT_EV_ERROR:
        break;
    }
}

void output_event(const struct client_event *ev, void *udata)
{
    struct client_output *o = udata;
    if (o->format == CLIENT_FORMAT_JSON) {
        if (o->quiet && ev->type != CLIENT_EV_ERROR)
            return;
        char *s = output_event_json(ev);
        if (s) {
            print_line(o, s);
            free(s);
        }
        return;
    }
    human_event(o, ev);
}

void output_error(struct client_output *o, const char *fmt, ...)
{
    va_list ap;
    end_progress(o);
    fputs("fathom test: ", o->err);
    va_start(ap, fmt);
    vfprintf(o->err, fmt, ap);
    va_end(ap);
    fputc('\n', o->err);
    fflush(o->err);
}

static void human_dir(struct client_output *o, const char *label, const struct dir_summary *d)
{
    FILE *f = o->out;
    if (!d->present) {
        fprintf(f, "  %-15s %s\n", label, "not run");
        return;
    }
    const char *src = strcmp(d->throughput_source, "server-appinfo") == 0   ? "server app bytes"
                      : strcmp(d->throughput_source, "server-tcpinfo") == 0 ? "server TCP bytes"
                      : strcmp(d->throughput_source, "client-appinfo") == 0 ? "client app bytes"
                                                                            : "no data";
    fprintf(f, "  %-15s %9.1f Mbit/s  (%s)\n", label, d->throughput_mbps, src);
}

void output_summary(struct client_output *o, const struct client_summary *s)
{
    end_progress(o);
    if (o->format == CLIENT_FORMAT_JSON) {
        char *j = output_summary_json(s);
        if (j) {
            print_line(o, j);
            free(j);
        }
        return;
    }
    if (!s->download.present && !s->upload.present)
        return; /* nothing ran; the errors already said why */
    FILE *f = o->out;
    fprintf(f, "\nTest results\n");
    fprintf(f, "  %-15s %s%s%s%s\n", "Server:", s->server_fqdn, s->server_ip[0] ? " (" : "",
            s->server_ip, s->server_ip[0] ? ")" : "");
    fprintf(f, "  %-15s %s\n", "Client IP:", s->client_ip[0] ? s->client_ip : "unknown");
    human_dir(o, "Download:", &s->download);
    human_dir(o, "Upload:", &s->upload);
    const struct dir_summary *lat = s->download.present && s->download.has_latency ? &s->download
                                    : s->upload.has_latency                        ? &s->upload
                                                                                   : NULL;
    if (lat) /* loopback and LAN RTTs are far below a millisecond: keep their digits */
        fprintf(f,
                lat->latency_ms < 1.0 ? "  %-15s %9.3f ms      (minimum RTT)\n"
                                      : "  %-15s %9.1f ms      (minimum RTT)\n",
                "Latency:", lat->latency_ms);
    if (s->download.present && s->download.has_retrans)
        fprintf(f, "  %-15s %9.2f %%       (download)\n",
                "Retransmission:", s->download.retrans_pct);
    /* Beside the ndt7 mean: the capacity once past the ramp-up (docs/accuracy.md). */
    if (s->download.present && s->download.has_steady)
        fprintf(f, "  %-15s %9.1f Mbit/s  (steady state, TCP level)\n",
                "Download cap.:", s->download.steady_mbps);
    if (s->upload.present && s->upload.has_steady)
        fprintf(f, "  %-15s %9.1f Mbit/s  (steady state, TCP level)\n",
                "Upload cap.:", s->upload.steady_mbps);
    if (s->download.present && s->download.uuid[0])
        fprintf(f, "  %-15s %s\n", "Download UUID:", s->download.uuid);
    if (s->upload.present && s->upload.uuid[0])
        fprintf(f, "  %-15s %s\n", "Upload UUID:", s->upload.uuid);
    if (fflush(f) == EOF)
        o->write_error = 1;
}
