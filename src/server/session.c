/*
 * session: one accepted connection on a worker, from TLS handshake through the
 * HTTP request to either a plain HTTP answer or an ndt7 subtest.
 *
 * States (docs/protocol.md has the transition table):
 *   TLS      -> HEAD     TLS handshake done (plain connections start in HEAD)
 *   HEAD     -> RESPOND  request answered with a plain HTTP response
 *   HEAD     -> RUN      valid ndt7 upgrade: 101 queued, measurer started
 *   RUN      -> CLOSING  10 s elapsed / early exit / peer Close / WS error: Close queued
 *   RESPOND  -> DRAIN    response written: FIN sent, input drained until EOF
 *   any      -> (freed)  EOF, fatal I/O error, hard deadline
 * Every state has a deadline: 10 s until the upgrade, then the 15 s hard cap,
 * 3 s for a peer to answer our Close, 2 s to drain.
 *
 * Output order: a binary frame in flight is always finished before queued
 * control/text bytes (out) are written, so frames never interleave.
 */
#include "server/server.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/xalloc.h"
#include "http/h1.h"
#include "ndt7/ndt7.h"
#include "net/sock.h"
#include "net/tcpinfo.h"
#include "ws/ws.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BUDGET 32
#define WRITE_BUDGET_BYTES (8u << 20)
#define CLOSE_WAIT_NS (3ULL * NS_PER_SEC)
#define DRAIN_NS (2ULL * NS_PER_SEC)
#define OUT_MAX (4u << 20)
#define NOTSENT_LOWAT (1 << 20)
#define SKIP_MAX (16u << 20)

enum sess_state { SS_TLS, SS_HEAD, SS_RESPOND, SS_DRAIN, SS_RUN, SS_CLOSING };

struct session {
    struct session *prev, *next; /* worker's list */
    struct worker *w;
    struct conn *c;
    int fd;
    bool tls;
    bool dead;
    enum sess_state st;
    unsigned events;
    struct buf in;  /* request head bytes */
    struct buf out; /* queued HTTP head, text and control frames */
    const uint8_t *body;
    size_t body_left;
    struct loop_timer t_deadline, t_tick, t_end, t_kick;

    /* ndt7 */
    enum ndt7_direction dir;
    struct ws_reader wr;
    const char *rx_error; /* non-NULL once we stopped interpreting input */
    struct ndt7_scaler sc;
    uint8_t hdr[WS_MAX_HEADER];
    size_t hdr_len, hdr_off;
    size_t frame_size, frame_left;
    bool sending_binary;
    bool close_sent;
    bool final_taken;
    bool early_exit;
    int close_code_rx;
    uint64_t start_mono;
    uint64_t hard_deadline;
    int64_t app_bytes;
    int64_t last_bytes_acked;
    struct ndt7_conninfo ci;
    struct archive_record rec;
    struct buf scratch;
    const char *end_reason;
    struct ndt7_steady steady;
};

static void session_update_events(struct session *s);
static void session_io(struct loop *loop, int fd, unsigned events, void *udata);
static void session_end(struct session *s);
static void ws_finish(struct session *s, const char *reason, uint16_t code, const char *why,
                      bool send_final);

static _Thread_local uint8_t read_block[256 * 1024];

/* ---- Plumbing ------------------------------------------------------------ */

static bool has_output(const struct session *s)
{
    return s->out.len > 0 || s->body_left > 0 || s->frame_left > 0 || s->hdr_off < s->hdr_len ||
           s->sending_binary;
}

static void session_free(void *udata)
{
    struct session *s = udata;
    if (s->c)
        conn_close(s->c);
    buf_free(&s->in);
    buf_free(&s->out);
    buf_free(&s->scratch);
    ws_reader_free(&s->wr);
    archive_record_free(&s->rec);
    free(s);
}

/* Stop everything now; the memory goes at the end of the loop iteration. */
static void session_kill(struct session *s)
{
    if (s->dead)
        return;
    s->dead = true;
    struct loop *loop = s->w->loop;
    if (s->prev)
        s->prev->next = s->next;
    else
        s->w->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    loop_timer_stop(loop, &s->t_deadline);
    loop_timer_stop(loop, &s->t_tick);
    loop_timer_stop(loop, &s->t_end);
    loop_timer_stop(loop, &s->t_kick);
    loop_del_fd(loop, s->fd);
    s->w->nconns--;
    loop_defer(loop, session_free, s);
}

static void on_deadline(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)loop;
    (void)t;
    struct session *s = udata;
    if (s->st == SS_RUN || s->st == SS_CLOSING) {
        if (s->st == SS_RUN || !s->end_reason)
            s->end_reason = "timeout";
        session_end(s);
    } else {
        session_kill(s);
    }
}

static void on_kick(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)t;
    struct session *s = udata;
    session_io(loop, s->fd, LOOP_READ, s);
}

/* ---- HTTP answers ---------------------------------------------------------- */

static void respond(struct session *s, int status, const char *ctype, const char *extra,
                    const void *body, size_t len)
{
    buf_reset(&s->out);
    if (status >= 400)
        atomic_fetch_add(&s->w->srv->http_errors, 1);
    if (h1_simple_response(&s->out, status, ctype, extra, body, len, 1) != 0) {
        session_kill(s);
        return;
    }
    s->st = SS_RESPOND;
}

static void respond_text(struct session *s, int status, const char *text)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "%s\n", text);
    respond(s, status, "text/plain; charset=utf-8", NULL, body,
            n > 0 && (size_t)n < sizeof(body) ? (size_t)n : 0);
}

/* ---- ndt7 ---------------------------------------------------------------- */

static int64_t elapsed_us(const struct session *s)
{
    return (int64_t)((loop_now(s->w->loop) - s->start_mono) / 1000);
}

/* Take a TCP_INFO/BBR sample: archive it, and send it (plus a ping) unless closing. */
static void take_measurement(struct session *s, bool send)
{
    struct tcpinfo ti;
    struct bbrinfo bi;
    memset(&bi, 0, sizeof(bi));
    if (tcpinfo_read(s->fd, &ti) != 0)
        return;
    bbrinfo_read(s->fd, &bi);
    int64_t el = elapsed_us(s);
    struct ndt7_appinfo app = {.num_bytes = s->app_bytes, .elapsed_us = el};
    /* TCP-level goodput: what the sender had acknowledged, what the receiver received. */
    ndt7_steady_add(&s->steady, el, s->dir == NDT7_DOWNLOAD ? ti.bytes_acked : ti.bytes_received);
    s->rec.fathom.steady_mbps = ndt7_steady_mbps(&s->steady);
    buf_reset(&s->scratch);
    if (ndt7_measurement_append(&s->scratch, s->dir == NDT7_UPLOAD ? &app : NULL, &s->ci, &bi, &ti,
                                el, s->rec.fathom.steady_mbps) != 0)
        return;
    s->last_bytes_acked = ti.bytes_acked;
    struct buf *sm = &s->rec.server_measurements;
    if ((s->rec.n_server == 0 || buf_append(sm, ",", 1) == 0) &&
        buf_append(sm, buf_head(&s->scratch), s->scratch.len) == 0)
        s->rec.n_server++;
    if (send && !s->close_sent) {
        char ping[24];
        int n = snprintf(ping, sizeof(ping), "%" PRIu64, clock_real_ns());
        ws_append_frame(&s->out, WS_OP_TEXT, buf_head(&s->scratch), s->scratch.len, NULL);
        ws_append_frame(&s->out, WS_OP_PING, ping, (size_t)n, NULL);
    }
}

static void on_tick(struct loop *loop, struct loop_timer *t, void *udata)
{
    struct session *s = udata;
    if (s->st != SS_RUN)
        return;
    take_measurement(s, true);
    if (s->early_exit && s->dir == NDT7_DOWNLOAD && s->last_bytes_acked >= NDT7_EARLY_EXIT_BYTES) {
        ws_finish(s, "early-exit", WS_CLOSE_NORMAL, "Done sending", true);
        return;
    }
    loop_timer_start(loop, t,
                     rand_memoryless_ns(NDT7_TICK_MEAN_NS, NDT7_TICK_MIN_NS, NDT7_TICK_MAX_NS));
    session_update_events(s);
}

static void on_end(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)loop;
    (void)t;
    struct session *s = udata;
    if (s->st == SS_RUN)
        ws_finish(s, "done", WS_CLOSE_NORMAL, "Done sending", true);
}

/*
 * Leave RUN: take the final sample (sent too when send_final, i.e. unless the
 * peer already closed), queue our Close, wait for the peer's.
 * reason is the archived end reason (static string).
 */
static void ws_finish(struct session *s, const char *reason, uint16_t code, const char *why,
                      bool send_final)
{
    if (s->st != SS_RUN)
        return;
    if (!s->final_taken) {
        take_measurement(s, send_final);
        s->final_taken = true;
    }
    if (!s->end_reason)
        s->end_reason = reason;
    s->sending_binary = false;
    ws_append_close(&s->out, code, why, NULL);
    s->close_sent = true;
    s->st = SS_CLOSING;
    loop_timer_stop(s->w->loop, &s->t_tick);
    loop_timer_stop(s->w->loop, &s->t_end);
    uint64_t now = loop_now(s->w->loop);
    uint64_t until = s->hard_deadline > now ? s->hard_deadline - now : 0;
    loop_timer_start(s->w->loop, &s->t_deadline, until < CLOSE_WAIT_NS ? until : CLOSE_WAIT_NS);
}

/* A text message from the peer: a measurement for the archive, or a reason to stop reading. */
static void on_text(struct session *s, struct slice msg)
{
    struct ndt7_sample sample;
    buf_reset(&s->scratch);
    if (ndt7_sample_parse(msg.ptr, msg.len, &sample, &s->scratch) != 0) {
        s->rx_error = "unmarshal-client-message";
        log_info("test %s: client sent a text message that is not a measurement; no longer "
                 "reading its messages",
                 s->ci.uuid);
        return;
    }
    struct buf *cm = &s->rec.client_measurements;
    if ((s->rec.n_client == 0 || buf_append(cm, ",", 1) == 0) &&
        buf_append(cm, buf_head(&s->scratch), s->scratch.len) == 0)
        s->rec.n_client++;
}

static void handle_ws_event(struct session *s, const struct ws_event *ev)
{
    switch (ev->type) {
    case WS_EV_NONE:
        break;
    case WS_EV_TEXT:
        on_text(s, ev->payload);
        break;
    case WS_EV_BINARY:
        if (s->dir == NDT7_UPLOAD) {
            s->app_bytes += (int64_t)ev->nbytes;
        } else {
            s->rx_error = "wrong-message-type";
            log_info("test %s: client sent binary data during download; no longer reading its "
                     "messages",
                     s->ci.uuid);
        }
        break;
    case WS_EV_PING:
        if (!s->close_sent)
            ws_append_frame(&s->out, WS_OP_PONG, ev->payload.ptr, ev->payload.len, NULL);
        break;
    case WS_EV_PONG:
        break;
    case WS_EV_CLOSE:
        s->close_code_rx = ev->close_code;
        if (s->st == SS_RUN) {
            ws_finish(s, "peer-closed", WS_CLOSE_NORMAL, "", false);
        }
        if (!has_output(s))
            session_end(s);
        break;
    }
}

/* Feed received WebSocket bytes to the reader. Returns false when the session ended. */
static bool ws_input(struct session *s, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (s->rx_error) /* stopped interpreting: count and discard */
            return true;
        struct ws_event ev;
        int r = ws_reader_feed(&s->wr, p, n, &ev);
        if (r < 0) {
            const char *what = s->wr.error_what ? s->wr.error_what : err_str(r);
            log_info("test %s: closing with %u: %s", s->ci.uuid, s->wr.error_close, what);
            s->rx_error = r == ERR_TOOBIG ? "message-too-big"
                          : r == ERR_UTF8 ? "invalid-utf8"
                                          : "websocket-protocol-error";
            if (s->st == SS_RUN)
                ws_finish(s, s->rx_error, s->wr.error_close, what, true);
            return true;
        }
        p += r;
        n -= (size_t)r;
        handle_ws_event(s, &ev);
        if (s->dead)
            return false;
    }
    return true;
}

static void fill_record_addresses(struct session *s)
{
    struct server *srv = s->w->srv;
    sock_local_ip(s->fd, s->rec.server_ip, sizeof(s->rec.server_ip), &s->rec.server_port);
    sock_peer_ip(s->fd, s->rec.client_ip, sizeof(s->rec.client_ip), &s->rec.client_port);
    sock_local_str(s->fd, s->ci.server, sizeof(s->ci.server));
    sock_peer_str(s->fd, s->ci.client, sizeof(s->ci.client));
    if (srv->cfg.ip_precision == PRIVACY_IP_TRUNCATED) {
        privacy_truncate_ip(s->rec.client_ip, sizeof(s->rec.client_ip), srv->cfg.ip_precision);
        bool v6 = strchr(s->rec.client_ip, ':') != NULL;
        snprintf(s->ci.client, sizeof(s->ci.client), v6 ? "[%s]:%d" : "%s:%d", s->rec.client_ip,
                 s->rec.client_port);
    }
}

/* Validate an ndt7 upgrade request and start the subtest, or answer with an error. */
static void ndt7_upgrade(struct session *s, const struct h1_request *req, enum ndt7_direction dir)
{
    struct server *srv = s->w->srv;
    char scratch[H1_MAX_QUERY];
    struct h1_param params[H1_MAX_PARAMS];
    int np = 0;
    if (req->query.len > 0) {
        np = h1_parse_query(req->query, scratch, sizeof(scratch), params, H1_MAX_PARAMS);
        if (np < 0) {
            respond_text(s, 400,
                         np == ERR_TOOBIG ? "query string too long or too many parameters"
                                          : "malformed query string");
            return;
        }
    }
    /* early_exit: the only accepted value is 250 (spec §1.3), checked before the upgrade. */
    bool early_exit = false;
    for (int i = 0; i < np; i++) {
        if (slice_eq(params[i].name, "early_exit")) {
            if (!slice_eq(params[i].value, "250")) {
                respond_text(s, 400, "invalid early_exit value (only 250 is accepted)");
                return;
            }
            early_exit = true;
        }
    }
    struct slice key;
    const char *reason = NULL;
    int status = ws_check_upgrade(req, NDT7_SUBPROTOCOL, &key, &reason);
    if (status != 0) {
        respond_text(s, status, reason ? reason : "bad WebSocket upgrade");
        return;
    }
    /* Metadata policy: strict mode refuses, default mode drops and names. */
    char dropped[512] = "";
    size_t ndropped = 0;
    enum privacy_verdict verdict[H1_MAX_PARAMS];
    for (int i = 0; i < np; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = params[j].name.len == params[i].name.len &&
                   memcmp(params[j].name.ptr, params[i].name.ptr, params[i].name.len) == 0;
        enum privacy_verdict v = privacy_check_param(params[i].name, params[i].value, seen);
        verdict[i] = v;
        if (v == PRIVACY_KEEP || v == PRIVACY_PROTOCOL)
            continue;
        char name[40];
        size_t k = 0;
        for (size_t j = 0; j < params[i].name.len && k < sizeof(name) - 4; j++) {
            char ch = params[i].name.ptr[j];
            name[k++] = (ch > 0x20 && ch < 0x7f && ch != ',') ? ch : '?';
        }
        if (params[i].name.len > k)
            name[k++] = '~';
        name[k] = '\0';
        if (srv->cfg.strict_metadata && v != PRIVACY_DROP_DUPLICATE) {
            char msg[160];
            snprintf(msg, sizeof(msg), "metadata refused: '%s': %s", name, privacy_verdict_str(v));
            atomic_fetch_add(&srv->metadata_refused, 1);
            respond_text(s, 400, msg);
            return;
        }
        atomic_fetch_add(&srv->metadata_dropped, 1);
        size_t used = strlen(dropped);
        snprintf(dropped + used, sizeof(dropped) - used, "%s%s", ndropped ? "," : "", name);
        ndropped++;
    }
    if (srv->cfg.max_tests > 0 && atomic_load(&srv->active_tests) >= srv->cfg.max_tests) {
        respond(s, 503, "text/plain; charset=utf-8", "Retry-After: 10\r\n", "server at capacity\n",
                19);
        return;
    }

    /* Accepted: answer 101 and start the measurer. */
    buf_reset(&s->out);
    if (ws_write_accept(&s->out, key, NDT7_SUBPROTOCOL) != 0) {
        session_kill(s);
        return;
    }
    atomic_fetch_add(&srv->active_tests, 1);
    atomic_fetch_add(&srv->tests_total[dir], 1);
    s->dir = dir;
    s->early_exit = early_exit;
    archive_record_init(&s->rec);
    s->rec.download = dir == NDT7_DOWNLOAD;
    uint64_t cookie = 0;
    if (sock_cookie(s->fd, &cookie) != 0 || cookie == 0)
        cookie = rand_u64(); /* no SO_COOKIE: still unique enough, never reused by design */
    archive_uuid_make(srv->uuid_prefix, cookie, s->rec.uuid, sizeof(s->rec.uuid));
    memcpy(s->ci.uuid, s->rec.uuid, sizeof(s->ci.uuid));
    fill_record_addresses(s);
    for (int i = 0; i < np; i++) {
        if (verdict[i] != PRIVACY_KEEP)
            continue;
        char n[PRIVACY_MAX_VALUE + 1], v[PRIVACY_MAX_VALUE + 1];
        if (slice_to_cstr(params[i].name, n, sizeof(n)) == 0 &&
            slice_to_cstr(params[i].value, v, sizeof(v)) == 0)
            archive_record_add_metadata(&s->rec, false, n, v);
    }
    for (int i = 0; i < srv->cfg.nlabels; i++)
        archive_record_add_metadata(&s->rec, true, srv->cfg.labels[i].name,
                                    srv->cfg.labels[i].value);
    snprintf(s->rec.fathom.scheme, sizeof(s->rec.fathom.scheme), "%s", s->tls ? "wss" : "ws");
    snprintf(s->rec.fathom.dropped_metadata, sizeof(s->rec.fathom.dropped_metadata), "%s", dropped);
    s->rec.fathom.steady_mbps = -1;
    if (ndropped)
        log_info("test %s: dropped %zu metadata key(s) not on the allowlist: %s", s->rec.uuid,
                 ndropped, dropped);

    if (!srv->cfg.no_bbr) {
        int r = tcpinfo_enable_bbr(s->fd);
        atomic_store(&srv->bbr_available, r == 0);
        if (r != 0)
            log_debug("test %s: BBR not enabled: %s", s->rec.uuid, err_str(r));
    }
    if (dir == NDT7_DOWNLOAD) {
        /*
         * Keep at most NOTSENT_LOWAT bytes queued unsent in the kernel: cwnd still
         * decides what is in flight, but measurements and the final Close are not
         * stuck behind megabytes of queued payload on a slow path.
         */
        int lowat = NOTSENT_LOWAT;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    }
    uint64_t now = loop_now(s->w->loop);
    s->start_mono = now;
    s->hard_deadline = now + srv->cfg.max_runtime_ns;
    s->rec.start_ns = s->rec.test_start_ns = clock_real_ns();
    clock_format_rfc3339(s->rec.start_ns, s->ci.start_time, sizeof(s->ci.start_time));
    ws_reader_init(&s->wr, true, NDT7_MAX_RECV_MESSAGE, NDT7_MAX_TEXT);
    buf_init(&s->scratch, 64 * 1024);
    ndt7_scaler_init(&s->sc, NDT7_MAX_SEND_MESSAGE);
    ndt7_steady_init(&s->steady);
    s->sending_binary = dir == NDT7_DOWNLOAD;
    s->st = SS_RUN;
    loop_timer_start(s->w->loop, &s->t_deadline, srv->cfg.max_runtime_ns);
    loop_timer_start(s->w->loop, &s->t_end, srv->cfg.runtime_ns);
    loop_timer_start(s->w->loop, &s->t_tick,
                     rand_memoryless_ns(NDT7_TICK_MEAN_NS, NDT7_TICK_MIN_NS, NDT7_TICK_MAX_NS));
    log_debug("test %s: %s started over %s", s->rec.uuid, ndt7_direction_name(dir),
              s->tls ? "wss" : "ws");
}

/* Archive the subtest and close the connection. */
static void session_end(struct session *s)
{
    if (s->dead)
        return;
    if (s->st == SS_RUN || s->st == SS_CLOSING) {
        struct server *srv = s->w->srv;
        if (!s->final_taken) {
            take_measurement(s, false);
            s->final_taken = true;
        }
        if (!s->end_reason)
            s->end_reason = "peer-eof";
        s->rec.test_end_ns = s->rec.end_ns = clock_real_ns();
        s->rec.fathom.end_reason = s->end_reason;
        s->rec.fathom.close_code = s->close_code_rx;
        s->rec.fathom.app_bytes = s->app_bytes;
        if (s->rx_error)
            s->rec.fathom.receiver_error = s->rx_error;
        int64_t el = elapsed_us(s);
        double mbps = el > 0 ? 8.0 * (double)s->app_bytes / (double)el : 0;
        log_info("test %s: %s over %s ended (%s) after %.2f s: %.1f Mbit/s of payload", s->rec.uuid,
                 ndt7_direction_name(s->dir), s->tls ? "wss" : "ws", s->end_reason,
                 (double)el / 1e6, mbps);
        archive_writer_submit(srv->writer, &s->rec);
        atomic_fetch_sub(&srv->active_tests, 1);
    }
    session_kill(s);
}

/* ---- Request routing ---------------------------------------------------- */

static void handle_request(struct session *s, const struct h1_request *req)
{
    struct server *srv = s->w->srv;
    char path[512];
    if (slice_eq(req->path, NDT7_PATH_DOWNLOAD)) {
        ndt7_upgrade(s, req, NDT7_DOWNLOAD);
        return;
    }
    if (slice_eq(req->path, NDT7_PATH_UPLOAD)) {
        ndt7_upgrade(s, req, NDT7_UPLOAD);
        return;
    }
    bool head = slice_eq(req->method, "HEAD");
    if (!head && !slice_eq(req->method, "GET")) {
        respond(s, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n", "method not allowed\n",
                19);
        return;
    }
    if (slice_eq(req->path, "/health")) {
        if (atomic_load(&srv->lame_duck))
            respond_text(s, 500, "lame duck");
        else
            respond_text(s, 200, "ok");
    } else if (slice_eq(req->path, "/privacy") || slice_eq(req->path, "/privacy.json")) {
        /* Rendered at start-up (privacy/policy.h): a request only copies bytes. */
        bool json = slice_eq(req->path, "/privacy.json");
        const struct buf *b = json ? &srv->privacy_json : &srv->privacy_html;
        respond(s, 200, json ? "application/json" : "text/html; charset=utf-8", NULL,
                head ? "" : (const char *)buf_head(b), head ? 0 : b->len);
    } else if (slice_eq(req->path, "/metrics")) {
        struct buf body;
        buf_init(&body, 64 * 1024);
        server_metrics_write(srv, &body);
        respond(s, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, buf_head(&body),
                body.len);
        buf_free(&body);
    } else {
        const struct static_file *f = NULL;
        if (slice_to_cstr(req->path, path, sizeof(path)) == 0)
            f = static_find(&srv->web, path);
        if (!f) {
            respond_text(s, 404, "not found");
        } else {
            char extra[128];
            snprintf(extra, sizeof(extra), "Content-Length: %zu\r\nCache-Control: no-cache\r\n",
                     f->len);
            buf_reset(&s->out);
            if (h1_start_response(&s->out, 200) ||
                h1_add_header(&s->out, "Content-Type", f->content_type) ||
                buf_append_str(&s->out, extra) || h1_add_header(&s->out, "Connection", "close") ||
                h1_end_head(&s->out)) {
                session_kill(s);
                return;
            }
            if (!head) {
                s->body = f->data;
                s->body_left = f->len;
            }
            s->st = SS_RESPOND;
        }
    }
}

/* Parse what we have of the request head; answer or upgrade once it is complete. */
static void head_input(struct session *s)
{
    struct h1_request req;
    struct h1_error herr = {0, NULL};
    int r = h1_parse_request((const char *)buf_head(&s->in), s->in.len, &req, &herr);
    if (r == ERR_NEED_MORE)
        return;
    if (r < 0) {
        respond_text(s, herr.status ? herr.status : 400, herr.reason ? herr.reason : "bad request");
        return;
    }
    size_t head_len = (size_t)r;
    handle_request(s, &req);
    if (s->st == SS_RUN && s->in.len > head_len) {
        /* Frames pipelined right behind the upgrade request. */
        size_t extra = s->in.len - head_len;
        uint8_t *copy = xmalloc(extra);
        memcpy(copy, buf_head(&s->in) + head_len, extra);
        buf_free(&s->in);
        ws_input(s, copy, extra);
        free(copy);
    } else {
        buf_free(&s->in);
    }
}

/* ---- I/O ---------------------------------------------------------------- */

static void start_frame(struct session *s)
{
    s->frame_size = s->sc.size;
    s->frame_left = s->frame_size;
    s->hdr_len = ws_encode_header(s->hdr, true, WS_OP_BINARY, s->frame_size, NULL);
    s->hdr_off = 0;
}

/* Write queued output until the kernel pushes back. Returns false when the session ended. */
static bool session_flush(struct session *s)
{
    const uint8_t *payload = s->w->srv->payload;
    size_t written = 0;
    while (written < WRITE_BUDGET_BYTES) {
        struct iovec iov[2];
        int n = 0;
        bool frame = s->frame_left > 0 || s->hdr_off < s->hdr_len;
        if (frame) {
            if (s->hdr_off < s->hdr_len)
                iov[n++] = (struct iovec){s->hdr + s->hdr_off, s->hdr_len - s->hdr_off};
            if (s->frame_left)
                iov[n++] = (struct iovec){
                    (void *)(uintptr_t)(payload + s->frame_size - s->frame_left), s->frame_left};
        } else if (s->out.len) {
            iov[n++] = (struct iovec){buf_head(&s->out), s->out.len};
        } else if (s->body_left) {
            iov[n++] = (struct iovec){(void *)(uintptr_t)s->body, s->body_left};
        } else if (s->sending_binary) {
            start_frame(s);
            continue;
        } else {
            break;
        }
        ssize_t w = conn_writev(s->c, iov, n);
        if (w == ERR_AGAIN)
            break;
        if (w < 0) {
            if (s->st == SS_RUN || s->st == SS_CLOSING) {
                if (!s->end_reason)
                    s->end_reason = "peer-reset";
                session_end(s);
            } else {
                session_kill(s);
            }
            return false;
        }
        size_t left = (size_t)w;
        written += left;
        if (frame) {
            size_t h = s->hdr_len - s->hdr_off;
            size_t take = left < h ? left : h;
            s->hdr_off += take;
            left -= take;
            s->frame_left -= left;
            if (s->frame_left == 0 && s->hdr_off == s->hdr_len) {
                s->app_bytes += (int64_t)s->frame_size;
                ndt7_scaler_sent(&s->sc);
                s->hdr_len = s->hdr_off = 0;
            }
        } else if (s->out.len) {
            buf_consume(&s->out, left);
        } else {
            s->body += left;
            s->body_left -= left;
        }
    }
    if (!has_output(s)) {
        if (s->st == SS_RESPOND) {
            conn_shutdown(s->c);
            s->st = SS_DRAIN;
            loop_timer_start(s->w->loop, &s->t_deadline, DRAIN_NS);
        } else if (s->st == SS_CLOSING && s->close_code_rx) {
            session_end(s); /* both Close frames exchanged */
            return false;
        }
    }
    return true;
}

/* Read what is available. Returns false when the session ended. */
static bool session_read(struct session *s)
{
    for (int i = 0; i < READ_BUDGET; i++) {
        ssize_t n;
        if (s->st == SS_HEAD) {
            uint8_t *tail = buf_reserve(&s->in, 1024);
            if (!tail) {
                respond_text(s, 431, "request head too large");
                return true;
            }
            size_t room = buf_tailroom(&s->in);
            if (room > H1_MAX_HEAD + 1 - s->in.len)
                room = H1_MAX_HEAD + 1 - s->in.len;
            n = conn_read(s->c, tail, room);
        } else if (conn_can_skip(s->c) && (s->rx_error || ws_reader_skippable(&s->wr) > 0)) {
            /* Upload payload (or input we no longer interpret): drop it in the kernel. */
            uint64_t want = s->rx_error ? sizeof(read_block) : ws_reader_skippable(&s->wr);
            n = conn_skip(s->c, want < SKIP_MAX ? (size_t)want : SKIP_MAX);
            if (n > 0) {
                if (!s->rx_error) {
                    struct ws_event ev;
                    ws_reader_skip(&s->wr, (uint64_t)n, &ev);
                    handle_ws_event(s, &ev);
                    if (s->dead)
                        return false;
                }
                continue;
            }
        } else {
            n = conn_read(s->c, read_block, sizeof(read_block));
        }
        if (n == ERR_AGAIN)
            return true;
        if (n < 0) {
            if (s->st == SS_RUN || s->st == SS_CLOSING) {
                if (!s->end_reason)
                    s->end_reason = n == ERR_EOF ? "peer-eof" : "peer-reset";
                session_end(s);
            } else {
                session_kill(s);
            }
            return false;
        }
        switch (s->st) {
        case SS_HEAD:
            buf_commit(&s->in, (size_t)n);
            head_input(s);
            if (s->dead)
                return false;
            if (s->st != SS_HEAD)
                return true; /* answered: stop reading requests */
            break;
        case SS_RUN:
        case SS_CLOSING:
            if (!ws_input(s, read_block, (size_t)n))
                return false;
            break;
        default: /* RESPOND/DRAIN: input is ignored */
            break;
        }
    }
    /* Budget used up: come back soon even if TLS holds decrypted bytes epoll cannot see. */
    if (s->tls && conn_pending(s->c))
        loop_timer_start(s->w->loop, &s->t_kick, 0);
    return true;
}

static void session_update_events(struct session *s)
{
    if (s->dead)
        return;
    unsigned ev = 0;
    if (s->st == SS_TLS) {
        unsigned want = conn_wants(s->c);
        ev = (want & CONN_WANT_WRITE) ? LOOP_WRITE : LOOP_READ;
    } else {
        if (s->st != SS_RESPOND)
            ev |= LOOP_READ;
        if (has_output(s))
            ev |= LOOP_WRITE;
        if (conn_wants(s->c) & CONN_WANT_WRITE)
            ev |= LOOP_WRITE;
    }
    if (ev != s->events) {
        loop_mod_fd(s->w->loop, s->fd, ev);
        s->events = ev;
    }
}

static void session_io(struct loop *loop, int fd, unsigned events, void *udata)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct session *s = udata;
    if (s->dead)
        return;
    if (s->st == SS_TLS) {
        int r = conn_handshake(s->c);
        if (r == ERR_AGAIN) {
            session_update_events(s);
            return;
        }
        if (r < 0) {
            log_debug("TLS handshake failed: %s", conn_error(s->c));
            session_kill(s);
            return;
        }
        s->st = SS_HEAD;
    }
    if (!session_read(s))
        return;
    if (!session_flush(s))
        return;
    session_update_events(s);
}

void session_accept(struct worker *w, int listen_fd, bool tls)
{
    struct server *srv = w->srv;
    for (int i = 0; i < 64; i++) {
        int fd = sock_accept(listen_fd);
        if (fd < 0) {
            if (fd != -EAGAIN && fd != -EINTR && fd != -ECONNABORTED)
                log_warn_errno(fd, "accept");
            return;
        }
        sock_set_nodelay(fd);
        struct session *s = xcalloc(1, sizeof(*s));
        s->w = w;
        s->fd = fd;
        s->tls = tls;
        s->c = tls ? conn_tls_new(srv->tls, fd, true, NULL) : conn_plain_new(fd);
        if (!s->c) {
            close(fd);
            free(s);
            continue;
        }
        buf_init(&s->in, H1_MAX_HEAD + 1024);
        buf_init(&s->out, OUT_MAX);
        loop_timer_init(&s->t_deadline, on_deadline, s);
        loop_timer_init(&s->t_tick, on_tick, s);
        loop_timer_init(&s->t_end, on_end, s);
        loop_timer_init(&s->t_kick, on_kick, s);
        s->st = tls ? SS_TLS : SS_HEAD;
        s->events = LOOP_READ;
        if (loop_add_fd(w->loop, fd, LOOP_READ, session_io, s) != 0) {
            conn_close(s->c);
            buf_free(&s->in);
            buf_free(&s->out);
            free(s);
            continue;
        }
        w->nconns++;
        s->next = w->sessions;
        if (s->next)
            s->next->prev = s;
        w->sessions = s;
        atomic_fetch_add(&srv->connections_total, 1);
        loop_timer_start(w->loop, &s->t_deadline, NDT7_HANDSHAKE_NS);
    }
}

void session_close_all(struct worker *w)
{
    while (w->sessions) {
        struct session *s = w->sessions;
        if (s->st == SS_RUN || s->st == SS_CLOSING) {
            if (!s->end_reason)
                s->end_reason = "server-shutdown";
            session_end(s);
        } else {
            session_kill(s);
        }
    }
}
