/*
 * summary: the final numbers of a run, as ndt7-client-go's makeSummary
 * (spec §5.5) with one deliberate difference:
 *
 *   Download.Throughput  8*NumBytes/ElapsedTime of our last client AppInfo
 *                        (application payload received: binary only)
 *   Upload.Throughput    the server's AppInfo (application bytes it received)
 *                        when it sends one ("server-appinfo"), else its
 *                        TCPInfo BytesReceived ("server-tcpinfo", which
 *                        includes WebSocket/TLS overhead); only when the
 *                        server sent neither, our own sent-bytes counter
 *                        ("client-appinfo", which overstates: spec §8.2)
 *   Latency              TCPInfo.MinRTT/1000 ms of the server's last sample
 *   Retransmission       BytesRetrans/BytesSent*100 % (download only)
 *
 * Pure functions over struct subtest_result; no I/O.
 */
#include "client/client.h"

#include <stdio.h>
#include <string.h>

/* bytes over µs, times 8: Mbit/s. */
static double mbps(int64_t bytes, int64_t elapsed_us)
{
    if (elapsed_us <= 0 || bytes <= 0)
        return 0.0;
    return 8.0 * (double)bytes / (double)elapsed_us;
}

void summary_endpoint_ip(const char *endpoint, char *out, size_t n)
{
    const char *start = endpoint, *end;
    if (n == 0)
        return;
    out[0] = '\0';
    if (*endpoint == '[') {
        start = endpoint + 1;
        end = strchr(start, ']');
        if (!end)
            return;
    } else {
        end = strrchr(endpoint, ':');
        if (!end)
            end = endpoint + strlen(endpoint);
        else if (strchr(endpoint, ':') != end) /* bare IPv6 without a port */
            end = endpoint + strlen(endpoint);
    }
    size_t len = (size_t)(end - start);
    if (len >= n)
        return;
    memcpy(out, start, len);
    out[len] = '\0';
}

static void dir_compute(const struct subtest_result *r, enum ndt7_direction dir,
                        struct dir_summary *d)
{
    memset(d, 0, sizeof(*d));
    d->throughput_source = "none";
    if (!r->requested || !r->started)
        return;
    d->present = true;
    const struct ndt7_sample *s = &r->last_server;
    if (r->has_server && s->has_conn)
        snprintf(d->uuid, sizeof(d->uuid), "%s", s->conn_uuid);

    if (dir == NDT7_DOWNLOAD) {
        if (r->has_client) {
            d->throughput_mbps = mbps(r->last_client.num_bytes, r->last_client.elapsed_us);
            d->throughput_source = "client-appinfo";
        }
    } else {
        if (r->has_server && s->has_app) {
            d->throughput_mbps = mbps(s->app_num_bytes, s->app_elapsed_us);
            d->throughput_source = "server-appinfo";
        } else if (r->has_server && s->has_tcp) {
            d->throughput_mbps = mbps(s->bytes_received, s->tcp_elapsed_us);
            d->throughput_source = "server-tcpinfo";
        } else if (r->has_client) {
            d->throughput_mbps = mbps(r->last_client.num_bytes, r->last_client.elapsed_us);
            d->throughput_source = "client-appinfo";
        }
    }
    if (r->has_server && s->has_tcp) {
        d->has_latency = true;
        d->latency_ms = (double)s->min_rtt_us / 1000.0;
        if (dir == NDT7_DOWNLOAD && s->bytes_sent > 0) {
            d->has_retrans = true;
            d->retrans_pct = (double)s->bytes_retrans / (double)s->bytes_sent * 100.0;
        }
    }
    d->has_steady = r->has_steady;
    d->steady_mbps = r->steady_mbps;
}

void summary_compute(const struct subtest_result res[2], struct client_summary *s)
{
    memset(s, 0, sizeof(*s));
    dir_compute(&res[NDT7_DOWNLOAD], NDT7_DOWNLOAD, &s->download);
    dir_compute(&res[NDT7_UPLOAD], NDT7_UPLOAD, &s->upload);
    /* Upload overrides download, as in the Go client. */
    for (int d = NDT7_DOWNLOAD; d <= NDT7_UPLOAD; d++) {
        const struct subtest_result *r = &res[d];
        if (!r->requested || !r->started)
            continue;
        snprintf(s->server_fqdn, sizeof(s->server_fqdn), "%s", r->fqdn);
        char ip[64] = "";
        if (r->has_server && r->last_server.has_conn)
            summary_endpoint_ip(r->last_server.conn_server, ip, sizeof(ip));
        snprintf(s->server_ip, sizeof(s->server_ip), "%s", ip[0] ? ip : r->sock_server_ip);
        ip[0] = '\0';
        if (r->has_server && r->last_server.has_conn)
            summary_endpoint_ip(r->last_server.conn_client, ip, sizeof(ip));
        snprintf(s->client_ip, sizeof(s->client_ip), "%s", ip[0] ? ip : r->sock_client_ip);
    }
}

void subtest_merge_sample(struct subtest_result *r, const struct ndt7_sample *in)
{
    struct ndt7_sample *s = &r->last_server;
    if (!r->has_server) {
        *s = *in;
        r->has_server = true;
        return;
    }
    /* Counters only grow; keep the newest value of each object the server sent. */
    if (in->has_app) {
        s->has_app = true;
        s->app_num_bytes = in->app_num_bytes;
        s->app_elapsed_us = in->app_elapsed_us;
    }
    if (in->has_tcp) {
        s->has_tcp = true;
        s->tcp_elapsed_us = in->tcp_elapsed_us;
        s->bytes_acked = in->bytes_acked;
        s->bytes_received = in->bytes_received;
        s->bytes_sent = in->bytes_sent;
        s->bytes_retrans = in->bytes_retrans;
        s->min_rtt_us = in->min_rtt_us;
        s->rtt_us = in->rtt_us;
        s->busy_time_us = in->busy_time_us;
        s->rwnd_limited_us = in->rwnd_limited_us;
        s->sndbuf_limited_us = in->sndbuf_limited_us;
    }
    if (in->has_bbr) {
        s->has_bbr = true;
        s->bbr_bw = in->bbr_bw;
        s->bbr_min_rtt_us = in->bbr_min_rtt_us;
    }
    if (in->has_conn) {
        s->has_conn = true;
        memcpy(s->conn_client, in->conn_client, sizeof(s->conn_client));
        memcpy(s->conn_server, in->conn_server, sizeof(s->conn_server));
        memcpy(s->conn_uuid, in->conn_uuid, sizeof(s->conn_uuid));
    }
}
