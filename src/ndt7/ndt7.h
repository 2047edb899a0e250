/*
 * ndt7: protocol constants and the sans-I/O pieces of the experiment shared by
 * server and client: message-size scaling, measurement JSON, summary maths.
 * The wire facts follow docs/protocol.md (ndt7 spec v0.11.0).
 */
#ifndef FATHOM_NDT7_NDT7_H
#define FATHOM_NDT7_NDT7_H

#include "core/buf.h"
#include "net/tcpinfo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NDT7_SUBPROTOCOL "net.measurementlab.ndt.v7"
#define NDT7_PATH_DOWNLOAD "/ndt/v7/download"
#define NDT7_PATH_UPLOAD "/ndt/v7/upload"

#define NDT7_MIN_MESSAGE (1u << 13)      /* first binary message: 8 KiB */
#define NDT7_MAX_SEND_MESSAGE (1u << 20) /* largest message we send: 1 MiB */
#define NDT7_MAX_RECV_MESSAGE (1u << 24) /* largest message we accept: 16 MiB */
#define NDT7_MAX_TEXT (1u << 16)         /* largest text (measurement) message we accept */
#define NDT7_SCALING_FRACTION 16

#define NDT7_RUNTIME_NS (10ULL * 1000000000ULL)     /* measurer runs 10 s */
#define NDT7_MAX_RUNTIME_NS (15ULL * 1000000000ULL) /* hard cap 15 s */
#define NDT7_HANDSHAKE_NS (10ULL * 1000000000ULL)   /* server: TCP accept to upgrade */
#define NDT7_CLIENT_HANDSHAKE_NS (7ULL * 1000000000ULL)
#define NDT7_TICK_MEAN_NS (250ULL * 1000000ULL)
#define NDT7_TICK_MIN_NS (25ULL * 1000000ULL)
#define NDT7_TICK_MAX_NS (625ULL * 1000000ULL)
#define NDT7_EARLY_EXIT_BYTES (250LL * 1000000LL)

enum ndt7_direction { NDT7_DOWNLOAD = 0, NDT7_UPLOAD = 1 };
const char *ndt7_direction_name(enum ndt7_direction d); /* "download" / "upload" */

/*
 * Message-size scaling (spec §1.6): start at NDT7_MIN_MESSAGE; after each
 * binary message of the current size, total += size; when size < max and
 * size <= total / 16, the size doubles.
 */
struct ndt7_scaler {
    size_t size;
    size_t max;
    uint64_t total;
};
void ndt7_scaler_init(struct ndt7_scaler *s, size_t max);
/* Record one sent message of s->size bytes; returns the size of the next one. */
size_t ndt7_scaler_sent(struct ndt7_scaler *s);

/* ConnectionInfo of a server measurement. */
struct ndt7_conninfo {
    char client[72]; /* "1.2.3.4:5678" / "[v6]:port" */
    char server[72];
    char uuid[128];
    char start_time[40]; /* RFC 3339 ns */
};

/* Application-level progress (AppInfo): payload bytes and µs since start. */
struct ndt7_appinfo {
    int64_t num_bytes;
    int64_t elapsed_us;
};

/*
 * Append one measurement JSON object, as the server sends it:
 * {"AppInfo":..?,"ConnectionInfo":..,"BBRInfo":..,"TCPInfo":..,"Fathom":..?}.
 * app may be NULL (omitted); bbr may be NULL (omitted); the Fathom object
 * ({"SteadyStateMbps":x}) is added when steady_mbps >= 0. Returns 0 or
 * ERR_TOOBIG.
 */
int ndt7_measurement_append(struct buf *out, const struct ndt7_appinfo *app,
                            const struct ndt7_conninfo *ci, const struct bbrinfo *bbr,
                            const struct tcpinfo *ti, int64_t elapsed_us, double steady_mbps);

/*
 * Steady-state capacity estimate (Mbit/s) from a series of (elapsed µs,
 * cumulative bytes) samples: the median rate of >= 500 ms chunks of the second
 * half of the test. Reported beside the ndt7 mean, which includes the ramp-up.
 */
#define NDT7_STEADY_MAX 256
struct ndt7_steady {
    int64_t t[NDT7_STEADY_MAX];
    int64_t b[NDT7_STEADY_MAX];
    size_t n;
};
void ndt7_steady_init(struct ndt7_steady *st);
/* Add a sample; non-increasing time or decreasing bytes are ignored. */
void ndt7_steady_add(struct ndt7_steady *st, int64_t elapsed_us, int64_t bytes);
/* The estimate in Mbit/s, or -1 before 2 s of samples. */
double ndt7_steady_mbps(const struct ndt7_steady *st);

/* Append a client AppInfo measurement: {"AppInfo":{"NumBytes":N,"ElapsedTime":µs}}. */
int ndt7_appinfo_append(struct buf *out, const struct ndt7_appinfo *app);

/*
 * The values of a measurement a reader cares about (the rest is kept as text).
 * has_* say which objects were present.
 */
struct ndt7_sample {
    bool has_app, has_tcp, has_bbr, has_conn;
    int64_t app_num_bytes, app_elapsed_us;
    int64_t tcp_elapsed_us, bytes_acked, bytes_received, bytes_sent, bytes_retrans;
    int64_t min_rtt_us, rtt_us, busy_time_us, rwnd_limited_us, sndbuf_limited_us;
    int64_t bbr_bw, bbr_min_rtt_us;
    bool has_steady; /* a server's Fathom.SteadyStateMbps */
    double steady_mbps;
    char conn_client[72], conn_server[72], conn_uuid[128];
};

/*
 * Parse and validate a measurement message (JSON object). Unknown keys are
 * ignored; known ones must have the right types. When canon is not NULL, the
 * known objects (AppInfo, ConnectionInfo, BBRInfo, TCPInfo, with only their
 * known fields) are re-serialised into it, so a peer can never inject
 * arbitrary JSON into an archive. Returns 0 or ERR_PROTO.
 */
int ndt7_sample_parse(const char *json, size_t len, struct ndt7_sample *s, struct buf *canon);

#endif
