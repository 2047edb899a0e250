/* Unit tests: summary maths (spec §5.5, upload from server AppInfo) and the JSON output shape. */
#include "client/client.h"
#include "harness.h"

#include <jansson.h>

static struct ndt7_sample server_sample(void)
{
    struct ndt7_sample s;
    memset(&s, 0, sizeof(s));
    s.has_conn = s.has_tcp = true;
    snprintf(s.conn_client, sizeof(s.conn_client), "[2001:db8::2]:50000");
    snprintf(s.conn_server, sizeof(s.conn_server), "192.0.2.1:443");
    snprintf(s.conn_uuid, sizeof(s.conn_uuid), "host_1700000000_unsafe_000000000000ABCD");
    s.tcp_elapsed_us = 10000000; /* 10 s */
    s.bytes_received = 25000000; /* 25 MB -> 20 Mbit/s */
    s.bytes_sent = 200000000;
    s.bytes_retrans = 1000000; /* 0.5 % */
    s.min_rtt_us = 12345;      /* 12.345 ms */
    return s;
}

static void make_results(struct subtest_result res[2])
{
    memset(res, 0, 2 * sizeof(*res));
    for (int d = 0; d < 2; d++) {
        res[d].requested = res[d].started = true;
        snprintf(res[d].fqdn, sizeof(res[d].fqdn), "ndt.example.org");
        res[d].has_server = true;
        res[d].last_server = server_sample();
        res[d].has_client = true;
    }
    /* download: 125 MB of binary payload in 10 s = 100 Mbit/s */
    res[NDT7_DOWNLOAD].last_client = (struct ndt7_appinfo){125000000, 10000000};
    /* upload: the client handed 40 MB to its socket (overstated) */
    res[NDT7_UPLOAD].last_client = (struct ndt7_appinfo){40000000, 10000000};
}

TEST(download_maths)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    summary_compute(res, &s);
    ASSERT_TRUE(s.download.present);
    ASSERT_NEAR(s.download.throughput_mbps, 100.0, 1e-9);
    ASSERT_EQ_STR(s.download.throughput_source, "client-appinfo");
    ASSERT_TRUE(s.download.has_latency);
    ASSERT_NEAR(s.download.latency_ms, 12.345, 1e-9);
    ASSERT_TRUE(s.download.has_retrans);
    ASSERT_NEAR(s.download.retrans_pct, 0.5, 1e-9);
    ASSERT_EQ_STR(s.download.uuid, "host_1700000000_unsafe_000000000000ABCD");
    ASSERT_EQ_STR(s.server_ip, "192.0.2.1");
    ASSERT_EQ_STR(s.client_ip, "2001:db8::2");
    ASSERT_EQ_STR(s.server_fqdn, "ndt.example.org");
}

TEST(upload_prefers_server_appinfo)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    res[NDT7_UPLOAD].last_server.has_app = true;
    res[NDT7_UPLOAD].last_server.app_num_bytes = 24000000; /* 19.2 Mbit/s of payload */
    res[NDT7_UPLOAD].last_server.app_elapsed_us = 10000000;
    summary_compute(res, &s);
    ASSERT_NEAR(s.upload.throughput_mbps, 19.2, 1e-9);
    ASSERT_EQ_STR(s.upload.throughput_source, "server-appinfo");
    ASSERT_TRUE(!s.upload.has_retrans);
}

TEST(upload_falls_back_to_tcpinfo_then_client)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    summary_compute(res, &s);
    ASSERT_NEAR(s.upload.throughput_mbps, 20.0, 1e-9);
    ASSERT_EQ_STR(s.upload.throughput_source, "server-tcpinfo");
    ASSERT_NEAR(s.upload.latency_ms, 12.345, 1e-9);
    res[NDT7_UPLOAD].has_server = false;
    summary_compute(res, &s);
    ASSERT_NEAR(s.upload.throughput_mbps, 32.0, 1e-9);
    ASSERT_EQ_STR(s.upload.throughput_source, "client-appinfo");
    ASSERT_TRUE(!s.upload.has_latency);
    ASSERT_EQ_STR(s.upload.uuid, "");
    res[NDT7_UPLOAD].has_client = false;
    summary_compute(res, &s);
    ASSERT_EQ_STR(s.upload.throughput_source, "none");
    ASSERT_NEAR(s.upload.throughput_mbps, 0.0, 0);
}

TEST(zero_and_missing)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    res[NDT7_DOWNLOAD].last_client.elapsed_us = 0;
    res[NDT7_DOWNLOAD].last_server.bytes_sent = 0;
    summary_compute(res, &s);
    ASSERT_NEAR(s.download.throughput_mbps, 0.0, 0);
    ASSERT_TRUE(!s.download.has_retrans);
    /* No ConnectionInfo: IPs come from the socket. */
    res[NDT7_DOWNLOAD].last_server.has_conn = false;
    res[NDT7_UPLOAD].requested = false;
    snprintf(res[NDT7_DOWNLOAD].sock_server_ip, 64, "127.0.0.1");
    snprintf(res[NDT7_DOWNLOAD].sock_client_ip, 64, "127.0.0.2");
    summary_compute(res, &s);
    ASSERT_EQ_STR(s.server_ip, "127.0.0.1");
    ASSERT_EQ_STR(s.client_ip, "127.0.0.2");
    ASSERT_TRUE(!s.upload.present);
}

TEST(upload_overrides_download_endpoints)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    snprintf(res[NDT7_UPLOAD].fqdn, 256, "up.example.org");
    snprintf(res[NDT7_UPLOAD].last_server.conn_server, 72, "[2001:db8::9]:443");
    summary_compute(res, &s);
    ASSERT_EQ_STR(s.server_fqdn, "up.example.org");
    ASSERT_EQ_STR(s.server_ip, "2001:db8::9");
    /* A failed upload does not override. */
    res[NDT7_UPLOAD].started = false;
    summary_compute(res, &s);
    ASSERT_EQ_STR(s.server_fqdn, "ndt.example.org");
    ASSERT_TRUE(!s.upload.present);
}

TEST(endpoint_ip)
{
    char ip[64];
    summary_endpoint_ip("1.2.3.4:5678", ip, sizeof(ip));
    ASSERT_EQ_STR(ip, "1.2.3.4");
    summary_endpoint_ip("[2a01:4f8::1]:63384", ip, sizeof(ip));
    ASSERT_EQ_STR(ip, "2a01:4f8::1");
    summary_endpoint_ip("2a01:4f8::1", ip, sizeof(ip));
    ASSERT_EQ_STR(ip, "2a01:4f8::1");
    summary_endpoint_ip("[broken", ip, sizeof(ip));
    ASSERT_EQ_STR(ip, "");
    summary_endpoint_ip("1.2.3.4", ip, sizeof(ip));
    ASSERT_EQ_STR(ip, "1.2.3.4");
}

TEST(merge_keeps_newest_of_each_object)
{
    struct subtest_result r;
    memset(&r, 0, sizeof(r));
    struct ndt7_sample a = server_sample();
    subtest_merge_sample(&r, &a);
    struct ndt7_sample b;
    memset(&b, 0, sizeof(b));
    b.has_app = true;
    b.app_num_bytes = 7;
    b.app_elapsed_us = 8;
    subtest_merge_sample(&r, &b);
    ASSERT_TRUE(r.last_server.has_app && r.last_server.has_tcp && r.last_server.has_conn);
    ASSERT_EQ_INT(r.last_server.app_num_bytes, 7);
    ASSERT_EQ_INT(r.last_server.min_rtt_us, 12345);
    struct ndt7_sample c = server_sample();
    c.min_rtt_us = 999;
    c.has_conn = false;
    subtest_merge_sample(&r, &c);
    ASSERT_EQ_INT(r.last_server.min_rtt_us, 999);
    ASSERT_EQ_STR(r.last_server.conn_uuid, "host_1700000000_unsafe_000000000000ABCD");
}

TEST(summary_json_shape)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    res[NDT7_DOWNLOAD].has_steady = true;
    res[NDT7_DOWNLOAD].steady_mbps = 98.7654;
    summary_compute(res, &s);
    char *j = output_summary_json(&s);
    ASSERT_EQ_STR(
        j, "{\"ServerFQDN\":\"ndt.example.org\",\"ServerIP\":\"192.0.2.1\",\"ClientIP\":"
           "\"2001:db8::2\",\"Download\":{\"UUID\":\"host_1700000000_unsafe_000000000000ABCD\","
           "\"Throughput\":{\"Value\":100.0,\"Unit\":\"Mbit/s\"},\"Latency\":{\"Value\":12.345,"
           "\"Unit\":\"ms\"},\"Retransmission\":{\"Value\":0.5,\"Unit\":\"%\"},"
           "\"ThroughputSource\":\"client-appinfo\",\"SteadyStateMbps\":98.765},\"Upload\":{"
           "\"UUID\":\"host_1700000000_unsafe_000000000000ABCD\",\"Throughput\":{\"Value\":"
           "20.0,\"Unit\":\"Mbit/s\"},\"Latency\":{\"Value\":12.345,\"Unit\":\"ms\"},"
           "\"Retransmission\":{\"Value\":0.0,\"Unit\":\"\"},\"ThroughputSource\":"
           "\"server-tcpinfo\"}}");
    free(j);
}

TEST(summary_json_on_failure_is_valid)
{
    struct subtest_result res[2];
    struct client_summary s;
    memset(res, 0, sizeof(res));
    res[0].requested = res[1].requested = true; /* both failed to start */
    summary_compute(res, &s);
    char *j = output_summary_json(&s);
    ASSERT_EQ_STR(j, "{\"ServerFQDN\":\"\",\"ServerIP\":\"\",\"ClientIP\":\"\",\"Download\":null,"
                     "\"Upload\":null}");
    free(j);
}

TEST(event_lines)
{
    struct client_event ev = {.type = CLIENT_EV_STARTING, .dir = NDT7_DOWNLOAD};
    char *j = output_event_json(&ev);
    ASSERT_EQ_STR(j, "{\"Key\":\"starting\",\"Value\":{\"Test\":\"download\"}}");
    free(j);
    ev =
        (struct client_event){.type = CLIENT_EV_ERROR, .dir = NDT7_UPLOAD, .failure = "boom \"x\""};
    j = output_event_json(&ev);
    ASSERT_EQ_STR(
        j, "{\"Key\":\"error\",\"Value\":{\"Test\":\"upload\",\"Failure\":\"boom \\\"x\\\"\"}}");
    free(j);
    ev = (struct client_event){
        .type = CLIENT_EV_CONNECTED, .dir = NDT7_UPLOAD, .server = "h.example"};
    j = output_event_json(&ev);
    ASSERT_EQ_STR(
        j, "{\"Key\":\"connected\",\"Value\":{\"Test\":\"upload\",\"Server\":\"h.example\"}}");
    free(j);
    ev = (struct client_event){.type = CLIENT_EV_COMPLETE, .dir = NDT7_UPLOAD};
    j = output_event_json(&ev);
    ASSERT_EQ_STR(j, "{\"Key\":\"complete\",\"Value\":{\"Test\":\"upload\"}}");
    free(j);
    struct ndt7_appinfo app = {1234, 250000};
    ev = (struct client_event){.type = CLIENT_EV_MEASUREMENT, .dir = NDT7_DOWNLOAD, .app = &app};
    j = output_event_json(&ev);
    ASSERT_EQ_STR(j, "{\"Key\":\"measurement\",\"Value\":{\"AppInfo\":{\"NumBytes\":1234,"
                     "\"ElapsedTime\":250000},\"Origin\":\"client\",\"Test\":\"download\"}}");
    free(j);
    const char *srv = "{\"TCPInfo\":{\"MinRTT\":5},\"Fathom\":{\"SteadyStateMbps\":1.5}}";
    ev = (struct client_event){.type = CLIENT_EV_MEASUREMENT,
                               .dir = NDT7_UPLOAD,
                               .from_server = true,
                               .json = srv,
                               .json_len = strlen(srv)};
    j = output_event_json(&ev);
    ASSERT_EQ_STR(j, "{\"Key\":\"measurement\",\"Value\":{\"TCPInfo\":{\"MinRTT\":5},\"Fathom\":{"
                     "\"SteadyStateMbps\":1.5},\"Origin\":\"server\",\"Test\":\"upload\"}}");
    free(j);
    ev.json = "[1]";
    ev.json_len = 3;
    ASSERT_TRUE(output_event_json(&ev) == NULL);
}

TEST(human_summary)
{
    struct subtest_result res[2];
    struct client_summary s;
    make_results(res);
    summary_compute(res, &s);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct client_output o;
    output_init(&o, CLIENT_FORMAT_HUMAN, false, false, f, stderr);
    output_summary(&o, &s);
    fclose(f);
    ASSERT_TRUE(strstr(text, "ndt.example.org (192.0.2.1)") != NULL);
    ASSERT_TRUE(strstr(text, "100.0 Mbit/s") != NULL);
    ASSERT_TRUE(strstr(text, "20.0 Mbit/s") != NULL);
    ASSERT_TRUE(strstr(text, "12.3 ms") != NULL);
    ASSERT_TRUE(strstr(text, "0.50 %") != NULL);
    ASSERT_TRUE(strstr(text, "host_1700000000_unsafe_000000000000ABCD") != NULL);
    free(text);
}
