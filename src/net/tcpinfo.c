/*
 * tcpinfo: TCP_INFO and TCP_CC_INFO (BBR) of a socket, and their ndt7 JSON.
 *
 * The kernel copies min(its struct size, our buffer) bytes of struct tcp_info and reports the
 * length; the buffer is zeroed first, so fields a kernel does not know read as zero.
 * The JSON writers run a few times a second per connection: they format straight into the
 * caller's buffer, no intermediate objects.
 */
#include "net/tcpinfo.h"

#include "core/err.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/inet_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* u64 kernel counters become int64 in JSON (as ndt-server's, for BigQuery). */
static int64_t as_i64(uint64_t v)
{
    return (int64_t)(v & INT64_MAX);
}

/* A pacing rate of ~0 means "unlimited" and shows up as -1. */
static int64_t rate_i64(uint64_t v)
{
    return v == UINT64_MAX ? -1 : as_i64(v);
}

int tcpinfo_read(int fd, struct tcpinfo *ti)
{
    /* Room beyond the header's struct for newer kernels; only the known prefix is used. */
    union {
        struct tcp_info k;
        unsigned char raw[sizeof(struct tcp_info) + 64];
    } u;
    memset(&u, 0, sizeof(u));
    socklen_t len = sizeof(u);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &u, &len) < 0)
        return -errno;
    const struct tcp_info *k = &u.k;
    memset(ti, 0, sizeof(*ti));
    ti->kernel_len = len;
    ti->state = k->tcpi_state;
    ti->ca_state = k->tcpi_ca_state;
    ti->retransmits = k->tcpi_retransmits;
    ti->probes = k->tcpi_probes;
    ti->backoff = k->tcpi_backoff;
    ti->options = k->tcpi_options;
    ti->wscale = (uint8_t)(k->tcpi_snd_wscale | (k->tcpi_rcv_wscale << 4));
    /* The whole byte: delivery_rate_app_limited:1 plus the bits later kernels added. */
    ti->app_limited = u.raw[offsetof(struct tcp_info, tcpi_rto) - 1];
    ti->rto = k->tcpi_rto;
    ti->ato = k->tcpi_ato;
    ti->snd_mss = k->tcpi_snd_mss;
    ti->rcv_mss = k->tcpi_rcv_mss;
    ti->unacked = k->tcpi_unacked;
    ti->sacked = k->tcpi_sacked;
    ti->lost = k->tcpi_lost;
    ti->retrans = k->tcpi_retrans;
    ti->fackets = k->tcpi_fackets;
    ti->last_data_sent = k->tcpi_last_data_sent;
    ti->last_ack_sent = k->tcpi_last_ack_sent;
    ti->last_data_recv = k->tcpi_last_data_recv;
    ti->last_ack_recv = k->tcpi_last_ack_recv;
    ti->pmtu = k->tcpi_pmtu;
    ti->rcv_ssthresh = k->tcpi_rcv_ssthresh;
    ti->rtt = k->tcpi_rtt;
    ti->rttvar = k->tcpi_rttvar;
    ti->snd_ssthresh = k->tcpi_snd_ssthresh;
    ti->snd_cwnd = k->tcpi_snd_cwnd;
    ti->advmss = k->tcpi_advmss;
    ti->reordering = k->tcpi_reordering;
    ti->rcv_rtt = k->tcpi_rcv_rtt;
    ti->rcv_space = k->tcpi_rcv_space;
    ti->total_retrans = k->tcpi_total_retrans;
    ti->pacing_rate = rate_i64(k->tcpi_pacing_rate);
    ti->max_pacing_rate = rate_i64(k->tcpi_max_pacing_rate);
    ti->bytes_acked = as_i64(k->tcpi_bytes_acked);
    ti->bytes_received = as_i64(k->tcpi_bytes_received);
    ti->segs_out = (int32_t)k->tcpi_segs_out;
    ti->segs_in = (int32_t)k->tcpi_segs_in;
    ti->notsent_bytes = k->tcpi_notsent_bytes;
    ti->min_rtt = k->tcpi_min_rtt;
    ti->data_segs_in = k->tcpi_data_segs_in;
    ti->data_segs_out = k->tcpi_data_segs_out;
    ti->delivery_rate = as_i64(k->tcpi_delivery_rate);
    ti->busy_time = as_i64(k->tcpi_busy_time);
    ti->rwnd_limited = as_i64(k->tcpi_rwnd_limited);
    ti->sndbuf_limited = as_i64(k->tcpi_sndbuf_limited);
    ti->delivered = k->tcpi_delivered;
    ti->delivered_ce = k->tcpi_delivered_ce;
    ti->bytes_sent = as_i64(k->tcpi_bytes_sent);
    ti->bytes_retrans = as_i64(k->tcpi_bytes_retrans);
    ti->dsack_dups = k->tcpi_dsack_dups;
    ti->reord_seen = k->tcpi_reord_seen;
    ti->rcv_ooopack = k->tcpi_rcv_ooopack;
    ti->snd_wnd = k->tcpi_snd_wnd;
    return 0;
}

int bbrinfo_read(int fd, struct bbrinfo *bi)
{
    union tcp_cc_info cc;
    memset(&cc, 0, sizeof(cc));
    memset(bi, 0, sizeof(*bi));
    socklen_t len = sizeof(cc);
    if (getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO, &cc, &len) < 0)
        return -errno;
    /* Other algorithms return their own (shorter) struct, or nothing. */
    if (len != sizeof(struct tcp_bbr_info))
        return 0;
    bi->bw = (int64_t)(((uint64_t)cc.bbr.bbr_bw_hi << 32) | cc.bbr.bbr_bw_lo);
    bi->min_rtt = cc.bbr.bbr_min_rtt;
    bi->pacing_gain = cc.bbr.bbr_pacing_gain;
    bi->cwnd_gain = cc.bbr.bbr_cwnd_gain;
    bi->valid = true;
    return 0;
}

int tcpinfo_enable_bbr(int fd)
{
    static const char bbr[] = "bbr";
    if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, bbr, sizeof(bbr) - 1) < 0)
        return -errno;
    return 0;
}

const char *const tcpinfo_json_fields[] = {
    "State",        "CAState",      "Retransmits",  "Probes",        "Backoff",     "Options",
    "WScale",       "AppLimited",   "RTO",          "ATO",           "SndMSS",      "RcvMSS",
    "Unacked",      "Sacked",       "Lost",         "Retrans",       "Fackets",     "LastDataSent",
    "LastAckSent",  "LastDataRecv", "LastAckRecv",  "PMTU",          "RcvSsThresh", "RTT",
    "RTTVar",       "SndSsThresh",  "SndCwnd",      "AdvMSS",        "Reordering",  "RcvRTT",
    "RcvSpace",     "TotalRetrans", "PacingRate",   "MaxPacingRate", "BytesAcked",  "BytesReceived",
    "SegsOut",      "SegsIn",       "NotsentBytes", "MinRTT",        "DataSegsIn",  "DataSegsOut",
    "DeliveryRate", "BusyTime",     "RWndLimited",  "SndBufLimited", "Delivered",   "DeliveredCE",
    "BytesSent",    "BytesRetrans", "DSackDups",    "ReordSeen",     "RcvOooPack",  "SndWnd",
    "ElapsedTime",
};
const size_t tcpinfo_json_nfields = sizeof(tcpinfo_json_fields) / sizeof(tcpinfo_json_fields[0]);

int tcpinfo_append_json(struct buf *out, const struct tcpinfo *ti, int64_t elapsed_us)
{
    /* Names and order of ndt-server (tcp-info LinuxTCPInfo), spec §2.4. */
    size_t start_len = out->len;
    int r = buf_appendf(
        out,
        "\"TCPInfo\":{\"State\":%u,\"CAState\":%u,\"Retransmits\":%u,"
        "\"Probes\":%u,\"Backoff\":%u,\"Options\":%u,\"WScale\":%u,"
        "\"AppLimited\":%u,\"RTO\":%" PRIu32 ",\"ATO\":%" PRIu32 ",\"SndMSS\":%" PRIu32
        ",\"RcvMSS\":%" PRIu32 ",\"Unacked\":%" PRIu32 ",\"Sacked\":%" PRIu32 ",\"Lost\":%" PRIu32
        ",\"Retrans\":%" PRIu32 ",\"Fackets\":%" PRIu32 ",\"LastDataSent\":%" PRIu32
        ",\"LastAckSent\":%" PRIu32 ",\"LastDataRecv\":%" PRIu32 ",\"LastAckRecv\":%" PRIu32
        ",\"PMTU\":%" PRIu32 ",\"RcvSsThresh\":%" PRIu32 ",\"RTT\":%" PRIu32 ",\"RTTVar\":%" PRIu32
        ",\"SndSsThresh\":%" PRIu32 ",\"SndCwnd\":%" PRIu32 ",\"AdvMSS\":%" PRIu32
        ",\"Reordering\":%" PRIu32,
        ti->state, ti->ca_state, ti->retransmits, ti->probes, ti->backoff, ti->options, ti->wscale,
        ti->app_limited, ti->rto, ti->ato, ti->snd_mss, ti->rcv_mss, ti->unacked, ti->sacked,
        ti->lost, ti->retrans, ti->fackets, ti->last_data_sent, ti->last_ack_sent,
        ti->last_data_recv, ti->last_ack_recv, ti->pmtu, ti->rcv_ssthresh, ti->rtt, ti->rttvar,
        ti->snd_ssthresh, ti->snd_cwnd, ti->advmss, ti->reordering);
    if (r < 0)
        return r;
    r = buf_appendf(
        out,
        ",\"RcvRTT\":%" PRIu32 ",\"RcvSpace\":%" PRIu32 ",\"TotalRetrans\":%" PRIu32
        ",\"PacingRate\":%" PRId64 ",\"MaxPacingRate\":%" PRId64 ",\"BytesAcked\":%" PRId64
        ",\"BytesReceived\":%" PRId64 ",\"SegsOut\":%" PRId32 ",\"SegsIn\":%" PRId32
        ",\"NotsentBytes\":%" PRIu32 ",\"MinRTT\":%" PRIu32 ",\"DataSegsIn\":%" PRIu32
        ",\"DataSegsOut\":%" PRIu32 ",\"DeliveryRate\":%" PRId64 ",\"BusyTime\":%" PRId64
        ",\"RWndLimited\":%" PRId64 ",\"SndBufLimited\":%" PRId64 ",\"Delivered\":%" PRIu32
        ",\"DeliveredCE\":%" PRIu32 ",\"BytesSent\":%" PRId64 ",\"BytesRetrans\":%" PRId64
        ",\"DSackDups\":%" PRIu32 ",\"ReordSeen\":%" PRIu32 ",\"RcvOooPack\":%" PRIu32
        ",\"SndWnd\":%" PRIu32 ",\"ElapsedTime\":%" PRId64 "}",
        ti->rcv_rtt, ti->rcv_space, ti->total_retrans, ti->pacing_rate, ti->max_pacing_rate,
        ti->bytes_acked, ti->bytes_received, ti->segs_out, ti->segs_in, ti->notsent_bytes,
        ti->min_rtt, ti->data_segs_in, ti->data_segs_out, ti->delivery_rate, ti->busy_time,
        ti->rwnd_limited, ti->sndbuf_limited, ti->delivered, ti->delivered_ce, ti->bytes_sent,
        ti->bytes_retrans, ti->dsack_dups, ti->reord_seen, ti->rcv_ooopack, ti->snd_wnd,
        elapsed_us);
    if (r < 0)
        out->len = start_len; /* all or nothing */
    return r;
}

int bbrinfo_append_json(struct buf *out, const struct bbrinfo *bi, int64_t elapsed_us)
{
    return buf_appendf(out,
                       "\"BBRInfo\":{\"BW\":%" PRId64 ",\"MinRTT\":%" PRIu32
                       ",\"PacingGain\":%" PRIu32 ",\"CwndGain\":%" PRIu32
                       ",\"ElapsedTime\":%" PRId64 "}",
                       bi->bw, bi->min_rtt, bi->pacing_gain, bi->cwnd_gain, elapsed_us);
}
