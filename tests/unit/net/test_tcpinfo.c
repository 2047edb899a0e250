/* Unit tests for src/net/tcpinfo: TCP_INFO/TCP_CC_INFO on a loopback connection, JSON. */
#include "harness.h"

#include "core/buf.h"
#include "core/err.h"
#include "net/sock.h"
#include "net/tcpinfo.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const tcpinfo_keys[] = {
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
#define NKEYS (sizeof(tcpinfo_keys) / sizeof(tcpinfo_keys[0]))

/* Loopback pair; the sender (server side, BBR if possible) pushes n bytes to the client. */
static void pair_with_transfer(int *cfd, int *sfd, size_t n, int *bbr)
{
    struct errbuf eb = {""};
    int lfd = sock_listen("127.0.0.1:0", false, 4, &eb);
    ASSERT_TRUE(lfd >= 0);
    char ip[SOCK_HOSTSTRLEN];
    int port;
    sock_local_ip(lfd, ip, sizeof(ip), &port);
    *cfd = sock_connect(ip, (uint16_t)port, 0, &eb);
    ASSERT_TRUE(*cfd >= 0);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    ASSERT_EQ_INT(poll(&p, 1, 5000), 1);
    *sfd = sock_accept(lfd);
    ASSERT_TRUE(*sfd >= 0);
    close(lfd);
    *bbr = tcpinfo_enable_bbr(*sfd);
    char *buf = calloc(1, 65536);
    size_t sent = 0, got = 0;
    while (got < n) {
        if (sent < n) {
            size_t k = n - sent < 65536 ? n - sent : 65536;
            ssize_t w = write(*sfd, buf, k);
            if (w > 0)
                sent += (size_t)w;
        }
        ssize_t r = read(*cfd, buf, 65536);
        if (r > 0) {
            got += (size_t)r;
        } else {
            struct pollfd pp[2] = {{.fd = *sfd, .events = sent < n ? POLLOUT : 0},
                                   {.fd = *cfd, .events = POLLIN}};
            ASSERT_TRUE(poll(pp, 2, 5000) > 0);
        }
    }
    free(buf);
}

TEST(tcpinfo_after_transfer)
{
    int cfd, sfd, bbr;
    pair_with_transfer(&cfd, &sfd, 4u << 20, &bbr);
    usleep(20000); /* let the last ACKs land */
    struct tcpinfo snd, rcv;
    ASSERT_EQ_INT(tcpinfo_read(sfd, &snd), 0);
    ASSERT_EQ_INT(tcpinfo_read(cfd, &rcv), 0);
    ASSERT_TRUE(snd.kernel_len >= 232);
    ASSERT_EQ_INT(snd.state, 1); /* ESTABLISHED */
    ASSERT_TRUE(snd.bytes_acked >= (int64_t)(4u << 20));
    ASSERT_TRUE(rcv.bytes_received >= (int64_t)(4u << 20));
    ASSERT_TRUE(snd.bytes_sent >= (int64_t)(4u << 20));
    ASSERT_TRUE(snd.min_rtt > 0);
    ASSERT_TRUE(snd.rtt > 0);
    ASSERT_TRUE(snd.snd_mss > 0);
    ASSERT_TRUE(snd.segs_out > 0);
    ASSERT_TRUE(snd.busy_time >= 0); /* may stay 0 on loopback */
    ASSERT_TRUE(snd.snd_wnd > 0);
    ASSERT_TRUE(snd.delivered > 0);

    struct bbrinfo bi;
    ASSERT_EQ_INT(bbrinfo_read(sfd, &bi), 0);
    if (bbr == 0) {
        ASSERT_TRUE(bi.valid);
        ASSERT_TRUE(bi.bw > 0);
        ASSERT_TRUE(bi.min_rtt > 0);
        ASSERT_TRUE(bi.pacing_gain > 0 && bi.cwnd_gain > 0);
    } else {
        printf("# BBR unavailable: %s\n", err_str(bbr));
        ASSERT_TRUE(bbr == -ENOENT || bbr == -EPERM);
    }
    /* the client side runs the default algorithm (not BBR unless the system default is) */
    struct bbrinfo cbi;
    ASSERT_EQ_INT(bbrinfo_read(cfd, &cbi), 0);

    struct buf out;
    buf_init(&out, 8192);
    ASSERT_EQ_INT(buf_append_str(&out, "{"), 0);
    ASSERT_EQ_INT(bbrinfo_append_json(&out, &bi, 123456), 0);
    ASSERT_EQ_INT(buf_append_str(&out, ","), 0);
    ASSERT_EQ_INT(tcpinfo_append_json(&out, &snd, 123456), 0);
    ASSERT_EQ_INT(buf_append_str(&out, "}"), 0);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf_head(&out), out.len, 0, &jerr);
    if (!root)
        FAIL_AT("JSON: %s: %.*s", jerr.text, (int)out.len, (const char *)buf_head(&out));
    json_t *ti = json_object_get(root, "TCPInfo");
    ASSERT_TRUE(json_is_object(ti));
    ASSERT_EQ_INT(json_object_size(ti), NKEYS);
    /* every key, in order (searched in a NUL-terminated copy) */
    char *text = malloc(out.len + 1);
    memcpy(text, buf_head(&out), out.len);
    text[out.len] = '\0';
    const char *prev = strstr(text, "\"TCPInfo\"");
    for (size_t i = 0; i < NKEYS; i++) {
        json_t *v = json_object_get(ti, tcpinfo_keys[i]);
        if (!json_is_integer(v))
            FAIL_AT("TCPInfo.%s missing or not an integer", tcpinfo_keys[i]);
        char quoted[40];
        snprintf(quoted, sizeof(quoted), "\"%s\":", tcpinfo_keys[i]);
        const char *at = strstr(prev, quoted);
        if (!at)
            FAIL_AT("TCPInfo.%s out of order", tcpinfo_keys[i]);
        prev = at;
    }
    ASSERT_EQ_INT(json_integer_value(json_object_get(ti, "BytesAcked")), snd.bytes_acked);
    ASSERT_EQ_INT(json_integer_value(json_object_get(ti, "MinRTT")), snd.min_rtt);
    ASSERT_EQ_INT(json_integer_value(json_object_get(ti, "ElapsedTime")), 123456);
    json_t *b = json_object_get(root, "BBRInfo");
    ASSERT_TRUE(json_is_object(b));
    ASSERT_EQ_INT(json_object_size(b), 5);
    ASSERT_EQ_INT(json_integer_value(json_object_get(b, "BW")), bi.bw);
    ASSERT_EQ_INT(json_integer_value(json_object_get(b, "ElapsedTime")), 123456);
    json_decref(root);
    free(text);
    buf_free(&out);
    close(cfd);
    close(sfd);
}

static bool has(const char *s, size_t n, const char *lit)
{
    return memmem(s, n, lit, strlen(lit)) != NULL;
}

TEST(tcpinfo_json_values_and_limits)
{
    struct tcpinfo ti;
    memset(&ti, 0, sizeof(ti));
    ti.state = 1;
    ti.wscale = 0x78; /* snd 8, rcv 7 */
    ti.app_limited = 1;
    ti.pacing_rate = -1;
    ti.max_pacing_rate = -1;
    ti.bytes_acked = 572544;
    ti.snd_wnd = 132352;
    struct buf out;
    buf_init(&out, 4096);
    ASSERT_EQ_INT(tcpinfo_append_json(&out, &ti, 81902), 0);
    const char *s = (const char *)buf_head(&out);
    ASSERT_TRUE(strncmp(s, "\"TCPInfo\":{\"State\":1,\"CAState\":0,", 33) == 0);
    ASSERT_TRUE(has(s, out.len, "\"WScale\":120,\"AppLimited\":1,"));
    ASSERT_TRUE(has(s, out.len, "\"PacingRate\":-1,\"MaxPacingRate\":-1,"));
    ASSERT_TRUE(has(s, out.len, "\"BytesAcked\":572544,"));
    const char tail[] = "\"SndWnd\":132352,\"ElapsedTime\":81902}";
    ASSERT_TRUE(out.len > sizeof(tail));
    ASSERT_EQ_MEM(s + out.len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
    buf_free(&out);

    /* all or nothing when the buffer is too small, at either half */
    for (size_t max = 16; max < 1400; max += 100) {
        struct buf small;
        buf_init(&small, max);
        ASSERT_EQ_INT(buf_append_str(&small, "x"), 0);
        int r = tcpinfo_append_json(&small, &ti, 1);
        if (r == ERR_TOOBIG)
            ASSERT_EQ_INT(small.len, 1);
        else
            ASSERT_EQ_INT(r, 0);
        buf_free(&small);
    }

    struct bbrinfo bi = {
        .bw = 13147974, .min_rtt = 3101, .pacing_gain = 88, .cwnd_gain = 739, .valid = true};
    buf_init(&out, 256);
    ASSERT_EQ_INT(bbrinfo_append_json(&out, &bi, 81902), 0);
    const char want[] = "\"BBRInfo\":{\"BW\":13147974,\"MinRTT\":3101,\"PacingGain\":88,"
                        "\"CwndGain\":739,\"ElapsedTime\":81902}";
    ASSERT_EQ_INT(out.len, sizeof(want) - 1);
    ASSERT_EQ_MEM(buf_head(&out), want, sizeof(want) - 1);
    buf_free(&out);
}

TEST(tcpinfo_errors)
{
    struct tcpinfo ti;
    struct bbrinfo bi;
    ASSERT_EQ_INT(tcpinfo_read(-1, &ti), -EBADF);
    ASSERT_EQ_INT(bbrinfo_read(-1, &bi), -EBADF);
    int p[2];
    ASSERT_EQ_INT(pipe(p), 0);
    ASSERT_EQ_INT(tcpinfo_read(p[0], &ti), -ENOTSOCK);
    ASSERT_EQ_INT(tcpinfo_enable_bbr(p[0]), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}

/* The exported name table (used by the ndt7 reader) is the spec's list, in the writer's order. */
TEST(json_field_table_matches_spec)
{
    ASSERT_EQ_INT(tcpinfo_json_nfields, NKEYS);
    for (size_t i = 0; i < NKEYS; i++)
        ASSERT_EQ_STR(tcpinfo_json_fields[i], tcpinfo_keys[i]);
}
