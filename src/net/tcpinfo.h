/*
 * tcpinfo: kernel TCP statistics (TCP_INFO) and BBR state (TCP_CC_INFO) of a
 * socket, in the units and names of the ndt7 measurement JSON.
 */
#ifndef FATHOM_NET_TCPINFO_H
#define FATHOM_NET_TCPINFO_H

#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* Every field of ndt7's TCPInfo object (spec §2.4), kernel units. */
struct tcpinfo {
    uint8_t state, ca_state, retransmits, probes, backoff, options, wscale, app_limited;
    uint32_t rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets;
    uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
    uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
    uint32_t rcv_rtt, rcv_space, total_retrans;
    int64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
    int32_t segs_out, segs_in;
    uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
    int64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
    uint32_t delivered, delivered_ce;
    int64_t bytes_sent, bytes_retrans;
    uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd;
    unsigned kernel_len; /* bytes the kernel returned; fields beyond it are zero */
};

/* BBR state (spec §2.5); all zero when the socket is not using BBR. */
struct bbrinfo {
    int64_t bw; /* bytes/s */
    uint32_t min_rtt, pacing_gain, cwnd_gain;
    bool valid;
};

/* Read TCP_INFO of fd. 0 or -errno. */
int tcpinfo_read(int fd, struct tcpinfo *ti);
/* Read TCP_CC_INFO; bi->valid false (and 0 returned) when not BBR. -errno on failure. */
int bbrinfo_read(int fd, struct bbrinfo *bi);
/* setsockopt(TCP_CONGESTION, "bbr"). 0 or -errno (ENOENT when BBR is unavailable). */
int tcpinfo_enable_bbr(int fd);

/* The JSON names of TCPInfo, in the order tcpinfo_append_json writes them (spec §2.4). */
extern const char *const tcpinfo_json_fields[];
extern const size_t tcpinfo_json_nfields;

/*
 * Append `"TCPInfo":{...,"ElapsedTime":N}` (ndt7 names and order, spec §2.4;
 * pacing rates of ~0 as -1) to out. Returns 0 or ERR_TOOBIG.
 */
int tcpinfo_append_json(struct buf *out, const struct tcpinfo *ti, int64_t elapsed_us);
/* Append `"BBRInfo":{"BW":..,"MinRTT":..,"PacingGain":..,"CwndGain":..,"ElapsedTime":..}`. */
int bbrinfo_append_json(struct buf *out, const struct bbrinfo *bi, int64_t elapsed_us);

#endif
