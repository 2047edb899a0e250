/*
 * session: one ndt7 subtest over one connection, client side.
 *
 * A client has exactly one connection at a time, so instead of the epoll loop
 * this drives one fd with poll(2): connect, TLS, HTTP upgrade (all within
 * NDT7_CLIENT_HANDSHAKE_NS), then the test proper. Time zero is the end of the
 * WebSocket handshake (spec §1.7).
 *
 * Download: count binary payload bytes (application goodput; unlike the Go
 * client we do not count text messages, which are measurements, not load),
 * parse the server's measurements, answer pings, send our AppInfo about every
 * 250 ms, stop at the server's Close (answered), EOF, or 15 s.
 *
 * Upload: binary messages sized by ndt7_scaler (max 1 MiB, the Go client's
 * cap), payload taken from one random block filled once. The block is sent
 * as the *already-masked* payload under a fresh random key per frame, so no
 * byte is ever XORed: the server unmasks it into other random bytes. Server
 * measurements are read concurrently. After 10 s: Close 1000, then wait up to
 * 2 s for the server to close; hard cap 15 s.
 *
 * Invariants: a text or control frame is written only between binary frames
 * (never inside one); everything after the handshake that goes wrong ends the
 * subtest early but is not a failure (spec §1.8).
 */
#include "client/client.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/rand.h"
#include "core/xalloc.h"
#include "http/h1.h"
#include "net/conn.h"
#include "net/sock.h"
#include "ws/ws.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_CHUNK (256u * 1024u)
#define SKIP_MAX (16u << 20)
#define BLOCK_SLACK 4096u
#define APPINFO_INTERVAL_NS (250ULL * NS_PER_MS)
#define UPLOAD_RUNTIME_NS NDT7_RUNTIME_NS
#define CLOSE_WAIT_NS (2ULL * NS_PER_SEC)
#define IO_BUDGET 64 /* reads or frames per loop iteration, so timers stay on time */
#define MASK_POOL 4096

struct session {
    const struct session_params *p;
    struct subtest_result *res;
    struct conn *c;
    struct ws_reader rd;
    bool rd_dead;   /* reader failed: stop feeding it */
    struct buf ctl; /* masked text/control frames waiting for a frame boundary */
    uint8_t *rx;
    uint64_t t0, hard_end, next_app, close_deadline;
    uint64_t last_payload_at; /* download: when payload bytes last arrived, 0 if never */
    int64_t app_bytes;
    bool close_sent, close_received, eof, final_taken, stop_sending;
    unsigned rd_want, wr_want;
    bool rd_blocked, wr_blocked;
    /* upload */
    uint8_t *block;
    size_t block_len;
    struct ndt7_scaler sc;
    uint8_t hdr[WS_MAX_HEADER];
    size_t hdr_len;
    const uint8_t *payload;
    size_t payload_len, frame_off;
    bool frame_active;
    uint8_t masks[MASK_POOL];
    size_t mask_off;
};

static void set_end(struct session *s, const char *why)
{
    if (!s->res->end_reason[0])
        snprintf(s->res->end_reason, sizeof(s->res->end_reason), "%s", why);
}

/* Fresh random masking keys, drawn from getrandom in batches. */
static const uint8_t *next_mask(struct session *s)
{
    if (s->mask_off + 4 > MASK_POOL) {
        if (rand_fill(s->masks, MASK_POOL) != 0) {
            for (size_t i = 0; i < MASK_POOL; i += 8) {
                uint64_t v = rand_u64();
                memcpy(s->masks + i, &v, 8);
            }
        }
        s->mask_off = 0;
    }
    const uint8_t *m = s->masks + s->mask_off;
    s->mask_off += 4;
    return m;
}

/* Wait until fd is ready for events or deadline passes. 0 ready, ERR_TIMEOUT, -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = clock_now();
        if (now >= deadline)
            return ERR_TIMEOUT;
        uint64_t ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static short poll_events(unsigned want)
{
    short ev = 0;
    if (want & CONN_WANT_READ)
        ev |= POLLIN;
    if (want & CONN_WANT_WRITE)
        ev |= POLLOUT;
    return ev ? ev : POLLIN;
}

/* Write all of out through the connection before deadline (handshake only). */
static int write_all(struct conn *c, struct buf *out, uint64_t deadline)
{
    while (out->len > 0) {
        struct iovec iov = {buf_head(out), out->len};
        ssize_t n = conn_writev(c, &iov, 1);
        if (n > 0) {
            buf_consume(out, (size_t)n);
            continue;
        }
        if (n != ERR_AGAIN)
            return (int)n;
        int r = wait_fd(conn_fd(c), poll_events(conn_wants(c)), deadline);
        if (r != 0)
            return r;
    }
    return 0;
}

/*
 * Connect, TLS, upgrade. On success s->c is open, s->t0 set, and any bytes
 * that followed the 101 response are in *leftover.
 */
static int handshake(struct session *s, struct buf *leftover, struct errbuf *eb)
{
    const struct session_params *p = s->p;
    const struct client_url *u = p->url;
    uint64_t deadline = clock_now() + NDT7_CLIENT_HANDSHAKE_NS;
    if (deadline > p->deadline_ns)
        deadline = p->deadline_ns;
    char hostport[300];
    client_url_hostport(u, hostport, sizeof(hostport));

    struct errbuf ceb = {""};
    int fd = sock_connect(u->host, u->port, p->family, &ceb);
    if (fd < 0)
        return errbuf_set(eb, fd, "cannot connect to %s: %s", hostport,
                          ceb.msg[0] ? ceb.msg : err_str(fd));
    int r = wait_fd(fd, POLLOUT, deadline);
    if (r == 0)
        r = sock_connect_result(fd);
    if (r != 0) {
        close(fd);
        return errbuf_set(eb, r, "cannot connect to %s: %s", hostport,
                          r == ERR_TIMEOUT ? "timed out" : err_str(r));
    }
    s->c = u->tls ? conn_tls_new(p->tls, fd, false, u->host) : conn_plain_new(fd);
    if (!s->c) {
        close(fd);
        return errbuf_set(eb, ERR_IO, "cannot set up the connection to %s", hostport);
    }
    while ((r = conn_handshake(s->c)) == ERR_AGAIN) {
        r = wait_fd(fd, poll_events(conn_wants(s->c)), deadline);
        if (r != 0)
            break;
    }
    if (r != 0)
        return errbuf_set(eb, r == ERR_TIMEOUT ? ERR_TIMEOUT : ERR_TLS,
                          "TLS handshake with %s failed: %s", hostport,
                          r == ERR_TIMEOUT      ? "timed out"
                          : conn_error(s->c)[0] ? conn_error(s->c)
                                                : err_str(r));

    char key[25], target[CLIENT_MAX_URL];
    struct buf out;
    ws_client_key(key);
    buf_init(&out, CLIENT_MAX_URL + 2048);
    r = client_url_target(u, target, sizeof(target));
    if (r == 0)
        r = ws_write_upgrade_request(&out, hostport, target, NDT7_SUBPROTOCOL, key, p->user_agent);
    if (r == 0)
        r = write_all(s->c, &out, deadline);
    buf_free(&out);
    if (r != 0)
        return errbuf_set(eb, r, "cannot send the upgrade request to %s: %s", hostport,
                          r == ERR_TIMEOUT ? "timed out" : err_str(r));

    /* Read the response head; whatever follows it already belongs to the WebSocket. */
    struct buf *in = leftover;
    for (;;) {
        struct h1_response resp;
        if (in->len > 0) {
            r = h1_parse_response((const char *)buf_head(in), in->len, &resp);
            if (r > 0) {
                const char *reason = NULL;
                if (resp.status != 101) {
                    char rs[64];
                    slice_to_cstr(resp.reason, rs, sizeof(rs));
                    return errbuf_set(eb, ERR_HTTP, "%s refused the WebSocket upgrade: HTTP %d %s",
                                      hostport, resp.status, rs);
                }
                if (ws_check_accept(&resp, key, NDT7_SUBPROTOCOL, &reason) != 0)
                    return errbuf_set(eb, ERR_PROTO, "bad WebSocket upgrade response from %s: %s",
                                      hostport, reason ? reason : "invalid");
                buf_consume(in, (size_t)r);
                break;
            }
            if (r != ERR_NEED_MORE)
                return errbuf_set(eb, r, "malformed HTTP response from %s", hostport);
        }
        uint8_t *tail = buf_reserve(in, 16384);
        if (!tail)
            return errbuf_set(eb, ERR_TOOBIG, "HTTP response head from %s is too large", hostport);
        ssize_t n = conn_read(s->c, tail, buf_tailroom(in));
        if (n > 0) {
            buf_commit(in, (size_t)n);
            continue;
        }
        if (n == ERR_AGAIN) {
            if (conn_pending(s->c))
                continue;
            r = wait_fd(fd, poll_events(conn_wants(s->c)), deadline);
            if (r != 0)
                return errbuf_set(eb, r, "no upgrade response from %s: %s", hostport,
                                  r == ERR_TIMEOUT ? "timed out" : err_str(r));
            continue;
        }
        if (n == ERR_EOF)
            return errbuf_set(eb, ERR_EOF, "%s closed the connection during the upgrade", hostport);
        return errbuf_set(eb, (int)n, "reading the upgrade response from %s: %s", hostport,
                          n == ERR_TLS && conn_error(s->c)[0] ? conn_error(s->c) : err_str((int)n));
    }
    s->t0 = clock_now();
    return 0;
}

static double progress_mbps(const struct session *s, int64_t elapsed_us)
{
    const struct subtest_result *r = s->res;
    if (s->p->dir == NDT7_UPLOAD && r->has_server) {
        if (r->last_server.has_app && r->last_server.app_elapsed_us > 0)
            return 8.0 * (double)r->last_server.app_num_bytes /
                   (double)r->last_server.app_elapsed_us;
        if (r->last_server.has_tcp && r->last_server.tcp_elapsed_us > 0)
            return 8.0 * (double)r->last_server.bytes_received /
                   (double)r->last_server.tcp_elapsed_us;
    }
    return elapsed_us > 0 ? 8.0 * (double)s->app_bytes / (double)elapsed_us : 0.0;
}

static void emit_client_sample(struct session *s, uint64_t now)
{
    struct ndt7_appinfo app = {.num_bytes = s->app_bytes,
                               .elapsed_us = (int64_t)((now - s->t0) / 1000)};
    if (!s->final_taken) { /* the final sample is the result; later ones are progress only */
        s->res->last_client = app;
        s->res->has_client = true;
    }
    struct client_event ev = {.type = CLIENT_EV_MEASUREMENT,
                              .dir = s->p->dir,
                              .from_server = false,
                              .app = &app,
                              .elapsed_s = (double)(now - s->t0) / 1e9,
                              .mbps = progress_mbps(s, app.elapsed_us)};
    if (s->p->on_event)
        s->p->on_event(&ev, s->p->udata);
}

/* Queue our AppInfo for the server (archived as ClientMeasurements) and report it locally. */
static void send_appinfo(struct session *s, uint64_t now)
{
    struct ndt7_appinfo app = {.num_bytes = s->app_bytes,
                               .elapsed_us = (int64_t)((now - s->t0) / 1000)};
    struct buf tmp;
    buf_init(&tmp, 256);
    if (ndt7_appinfo_append(&tmp, &app) == 0)
        (void)ws_append_frame(&s->ctl, WS_OP_TEXT, buf_head(&tmp), tmp.len, next_mask(s));
    buf_free(&tmp);
    emit_client_sample(s, now);
}

/* The last client sample: taken when the load stops, so a close wait does not dilute it. */
static void final_sample(struct session *s, uint64_t now)
{
    if (s->final_taken)
        return;
    /*
     * Download: the bytes counted are payload, so their time is the arrival of the last
     * payload byte, not of the Close behind it: the tail after the server stops sending
     * (its last measurement, the Close, a slow path draining) is not part of the transfer.
     */
    if (s->p->dir == NDT7_DOWNLOAD && s->last_payload_at > s->t0 && s->last_payload_at < now)
        now = s->last_payload_at;
    emit_client_sample(s, now);
    s->final_taken = true;
}

static void queue_close(struct session *s, uint16_t code, uint64_t now)
{
    if (s->close_sent)
        return;
    s->close_sent = true;
    s->stop_sending = true;
    (void)ws_append_close(&s->ctl, code, "", next_mask(s));
    uint64_t d = now + CLOSE_WAIT_NS;
    s->close_deadline = d < s->hard_end ? d : s->hard_end;
}

static void on_text(struct session *s, struct slice payload, uint64_t now)
{
    struct ndt7_sample smp;
    if (ndt7_sample_parse(payload.ptr, payload.len, &smp, NULL) != 0) {
        s->res->malformed++; /* reported once at the end by the caller */
        return;
    }
    subtest_merge_sample(s->res, &smp);
    if (smp.has_steady) {
        s->res->has_steady = true;
        s->res->steady_mbps = smp.steady_mbps;
    }
    struct client_event ev = {.type = CLIENT_EV_MEASUREMENT,
                              .dir = s->p->dir,
                              .from_server = true,
                              .json = payload.ptr,
                              .json_len = payload.len,
                              .elapsed_s = (double)(now - s->t0) / 1e9,
                              .mbps = progress_mbps(s, (int64_t)((now - s->t0) / 1000))};
    if (s->p->on_event)
        s->p->on_event(&ev, s->p->udata);
}

static void on_event(struct session *s, const struct ws_event *ev, uint64_t now)
{
    switch (ev->type) {
    case WS_EV_NONE:
        break;
    case WS_EV_TEXT:
        on_text(s, ev->payload, now);
        break;
    case WS_EV_BINARY:
        if (s->p->dir == NDT7_DOWNLOAD) {
            s->app_bytes += (int64_t)ev->nbytes;
            s->last_payload_at = now;
        } else if (!s->close_sent) {
            /* Binary from the server during upload is a protocol violation (spec §1.5). */
            set_end(s, "server sent binary data during upload");
            s->rd_dead = true;
            queue_close(s, WS_CLOSE_UNSUPPORTED, now);
        }
        break;
    case WS_EV_PING:
        if (!s->close_sent)
            (void)ws_append_frame(&s->ctl, WS_OP_PONG, ev->payload.ptr, ev->payload.len,
                                  next_mask(s));
        break;
    case WS_EV_PONG:
        break;
    case WS_EV_CLOSE:
        s->close_received = true;
        s->rd_dead = true; /* nothing may follow a Close */
        final_sample(s, now);
        set_end(s, "server closed");
        queue_close(s, WS_CLOSE_NORMAL, now);
        break;
    }
}

/* Read what is available (bounded) and feed the WebSocket reader. */
static void pump_read(struct session *s)
{
    s->rd_blocked = false;
    for (int i = 0; i < IO_BUDGET && !s->eof; i++) {
        uint64_t skippable = s->rd_dead ? 0 : ws_reader_skippable(&s->rd);
        bool skip = skippable > 0 && conn_can_skip(s->c);
        /* Download payload on plain TCP is dropped in the kernel (no copy); TLS must decrypt. */
        ssize_t n = skip ? conn_skip(s->c, skippable < SKIP_MAX ? (size_t)skippable : SKIP_MAX)
                         : conn_read(s->c, s->rx, RX_CHUNK);
        if (n == ERR_AGAIN) {
            s->rd_want = conn_wants(s->c);
            s->rd_blocked = true;
            return;
        }
        uint64_t now = clock_now();
        if (n <= 0) {
            s->eof = true;
            final_sample(s, now);
            if (n == ERR_EOF)
                set_end(s,
                        s->close_received ? "server closed" : "connection closed without a Close");
            else
                set_end(s,
                        n == ERR_TLS && conn_error(s->c)[0] ? conn_error(s->c) : err_str((int)n));
            return;
        }
        if (skip) {
            struct ws_event ev;
            ws_reader_skip(&s->rd, (uint64_t)n, &ev);
            on_event(s, &ev, now);
            continue;
        }
        size_t off = 0;
        while (off < (size_t)n && !s->rd_dead) {
            struct ws_event ev = {0};
            int k = ws_reader_feed(&s->rd, s->rx + off, (size_t)n - off, &ev);
            if (k < 0) {
                char why[128];
                snprintf(why, sizeof(why), "WebSocket error from server: %s",
                         s->rd.error_what ? s->rd.error_what : err_str(k));
                set_end(s, why);
                s->rd_dead = true;
                final_sample(s, now);
                queue_close(s, s->rd.error_close ? s->rd.error_close : WS_CLOSE_PROTOCOL, now);
                break;
            }
            off += (size_t)k;
            on_event(s, &ev, now);
            if (k == 0 && ev.type == WS_EV_NONE)
                break; /* no progress: cannot happen per contract, never spin */
        }
    }
}

static void start_frame(struct session *s)
{
    size_t size = s->sc.size;
    size_t slack = s->block_len - size;
    size_t off = slack ? (size_t)(rand_u64() % (slack + 1)) : 0;
    s->hdr_len = ws_encode_header(s->hdr, true, WS_OP_BINARY, size, next_mask(s));
    s->payload = s->block + off;
    s->payload_len = size;
    s->frame_off = 0;
    s->frame_active = true;
}

static bool write_pending(const struct session *s)
{
    return s->frame_active || s->ctl.len > 0 ||
           (s->p->dir == NDT7_UPLOAD && !s->stop_sending && !s->close_sent);
}

/* Write frames until the socket is full or the budget is spent. 0 or a write error. */
static int pump_write(struct session *s)
{
    s->wr_blocked = false;
    for (int i = 0; i < IO_BUDGET; i++) {
        struct iovec iov[2];
        int iovcnt = 0;
        bool binary = s->frame_active;
        if (binary) {
            if (s->frame_off < s->hdr_len)
                iov[iovcnt++] = (struct iovec){s->hdr + s->frame_off, s->hdr_len - s->frame_off};
            size_t poff = s->frame_off > s->hdr_len ? s->frame_off - s->hdr_len : 0;
            iov[iovcnt++] =
                (struct iovec){(void *)(uintptr_t)(s->payload + poff), s->payload_len - poff};
        } else if (s->ctl.len > 0) {
            iov[iovcnt++] = (struct iovec){buf_head(&s->ctl), s->ctl.len};
        } else if (s->p->dir == NDT7_UPLOAD && !s->stop_sending && !s->close_sent) {
            start_frame(s);
            continue;
        } else {
            return 0;
        }
        ssize_t n = conn_writev(s->c, iov, iovcnt);
        if (n == ERR_AGAIN) {
            s->wr_want = conn_wants(s->c);
            s->wr_blocked = true;
            return 0;
        }
        if (n < 0)
            return (int)n;
        if (!binary) {
            buf_consume(&s->ctl, (size_t)n);
            continue;
        }
        s->frame_off += (size_t)n;
        if (s->frame_off == s->hdr_len + s->payload_len) {
            s->frame_active = false;
            s->app_bytes += (int64_t)s->payload_len;
            ndt7_scaler_sent(&s->sc);
        }
    }
    return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void run_test(struct session *s)
{
    const bool upload = s->p->dir == NDT7_UPLOAD;
    const uint64_t stop_at = s->t0 + UPLOAD_RUNTIME_NS;
    /*
     * Download result window: the server sends for NDT7_RUNTIME_NS from the upgrade, so the
     * result is what arrived in that window. What arrives later is the drain of data queued
     * before the server stopped, plus any tail-loss recovery (a TLP or RTO with nothing behind
     * it to trigger fast retransmit), which is not throughput (docs/accuracy.md).
     */
    const uint64_t window_end = s->t0 + NDT7_RUNTIME_NS;
    s->next_app = s->t0 + APPINFO_INTERVAL_NS;
    s->rd_want = CONN_WANT_READ;

    for (;;) {
        uint64_t now = clock_now();
        if (now >= s->hard_end) {
            final_sample(s, now);
            set_end(s, now >= s->p->deadline_ns
                           ? "stopped by --timeout"
                           : "stopped at the 15 s limit (the server did not close)");
            break;
        }
        if (s->close_sent && now >= s->close_deadline) {
            final_sample(s, now);
            set_end(s, s->close_received ? "server closed" : "no Close from the server");
            break;
        }
        if (upload && !s->stop_sending && now >= stop_at) {
            s->stop_sending = true;
        }
        if (upload && s->stop_sending && !s->frame_active && !s->close_sent) {
            final_sample(s, now);
            queue_close(s, WS_CLOSE_NORMAL, now);
        }
        if (now >= s->next_app && !s->close_sent) {
            send_appinfo(s, now);
            s->next_app = now + APPINFO_INTERVAL_NS;
        }

        int w = pump_write(s);
        if (w < 0) {
            final_sample(s, clock_now());
            set_end(s, err_str(w));
            break;
        }
        pump_read(s);
        if (!upload && !s->final_taken && clock_now() >= window_end)
            final_sample(s, clock_now());
        if (s->eof)
            break;
        /* Our Close is out and theirs is in: wait only for the server to close TCP. */

        short events = poll_events(s->rd_want);
        if (write_pending(s))
            events |= poll_events(s->wr_want);
        now = clock_now();
        uint64_t wake = s->hard_end;
        if (!s->close_sent)
            wake = min_u64(wake, s->next_app);
        if (s->close_sent)
            wake = min_u64(wake, s->close_deadline);
        if (upload && !s->stop_sending)
            wake = min_u64(wake, stop_at);
        if (!upload && !s->final_taken)
            wake = min_u64(wake, window_end);
        int timeout = 0;
        bool busy = (!s->rd_blocked) || (write_pending(s) && !s->wr_blocked) || conn_pending(s->c);
        if (!busy && wake > now)
            timeout = (int)((wake - now + NS_PER_MS - 1) / NS_PER_MS);
        struct pollfd pfd = {.fd = conn_fd(s->c), .events = events};
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
            set_end(s, err_str(-errno));
            break;
        }
    }
}

int session_run(const struct session_params *p, struct subtest_result *res, struct errbuf *eb)
{
    struct session s;
    struct buf leftover;
    int rc;

    memset(&s, 0, sizeof(s));
    s.p = p;
    s.res = res;
    s.mask_off = MASK_POOL; /* fill on first use */
    snprintf(res->fqdn, sizeof(res->fqdn), "%s", p->url->host);
    buf_init(&leftover, H1_MAX_HEAD + 64 * 1024);
    buf_init(&s.ctl, 1u << 20);

    rc = handshake(&s, &leftover, eb);
    if (rc != 0)
        goto out;

    res->started = true;
    int port;
    sock_local_ip(conn_fd(s.c), res->sock_client_ip, sizeof(res->sock_client_ip), &port);
    sock_peer_ip(conn_fd(s.c), res->sock_server_ip, sizeof(res->sock_server_ip), &port);
    s.hard_end = min_u64(s.t0 + NDT7_MAX_RUNTIME_NS, p->deadline_ns);
    ws_reader_init(&s.rd, false, NDT7_MAX_RECV_MESSAGE, NDT7_MAX_TEXT);
    s.rx = xmalloc(RX_CHUNK);
    if (p->dir == NDT7_UPLOAD) {
        ndt7_scaler_init(&s.sc, NDT7_MAX_SEND_MESSAGE);
        s.block_len = NDT7_MAX_SEND_MESSAGE + BLOCK_SLACK;
        s.block = xmalloc(s.block_len);
        if (rand_fill(s.block, s.block_len) != 0)
            for (size_t i = 0; i + 8 <= s.block_len; i += 8) {
                uint64_t v = rand_u64();
                memcpy(s.block + i, &v, 8);
            }
    }

    struct client_event cev = {.type = CLIENT_EV_CONNECTED, .dir = p->dir, .server = res->fqdn};
    if (p->on_event)
        p->on_event(&cev, p->udata);

    /* Frames that arrived together with the 101 response. */
    if (leftover.len > 0) {
        size_t off = 0;
        uint64_t now = clock_now();
        while (off < leftover.len && !s.rd_dead) {
            struct ws_event ev = {0};
            int k = ws_reader_feed(&s.rd, buf_head(&leftover) + off, leftover.len - off, &ev);
            if (k < 0) {
                set_end(&s, "WebSocket error from server");
                s.rd_dead = true;
                queue_close(&s, s.rd.error_close ? s.rd.error_close : WS_CLOSE_PROTOCOL, now);
                break;
            }
            off += (size_t)k;
            on_event(&s, &ev, now);
            if (k == 0 && ev.type == WS_EV_NONE)
                break;
        }
    }
    run_test(&s);
    rc = 0;
out:
    if (s.c) {
        conn_shutdown(s.c);
        conn_close(s.c);
    }
    if (res->started)
        ws_reader_free(&s.rd);
    buf_free(&leftover);
    buf_free(&s.ctl);
    free(s.rx);
    free(s.block);
    return rc;
}
