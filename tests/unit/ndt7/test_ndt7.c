/* Unit tests for src/ndt7: message scaling, measurement JSON, strict measurement reader. */
#include "harness.h"

#include "core/buf.h"
#include "core/err.h"
#include "ndt7/ndt7.h"

#include <jansson.h>

TEST(scaler_doubles_by_the_1_16_rule)
{
    struct ndt7_scaler s;
    ndt7_scaler_init(&s, NDT7_MAX_SEND_MESSAGE);
    ASSERT_EQ_INT(s.size, 8192);
    int sent = 0;
    /* First doubling after 16 messages, every later one after 8 more. */
    while (s.size == 8192) {
        ndt7_scaler_sent(&s);
        sent++;
    }
    ASSERT_EQ_INT(sent, 16);
    ASSERT_EQ_INT(s.size, 16384);
    for (size_t want = 32768; want <= NDT7_MAX_SEND_MESSAGE; want *= 2) {
        int n = 0;
        size_t cur = s.size;
        while (s.size == cur) {
            ndt7_scaler_sent(&s);
            n++;
        }
        ASSERT_EQ_INT(n, 8);
        ASSERT_EQ_INT(s.size, want);
        if (want == NDT7_MAX_SEND_MESSAGE)
            break;
    }
    for (int i = 0; i < 100; i++)
        ndt7_scaler_sent(&s);
    ASSERT_EQ_INT(s.size, NDT7_MAX_SEND_MESSAGE);
}

TEST(measurement_json_shape)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    struct tcpinfo ti = {0};
    ti.bytes_acked = 123456;
    ti.min_rtt = 42;
    ti.pacing_rate = -1;
    struct bbrinfo bi = {.bw = 1000, .min_rtt = 40, .pacing_gain = 256, .cwnd_gain = 512};
    struct ndt7_conninfo ci = {"127.0.0.1:5000", "127.0.0.1:80", "host_1_unsafe_00000000000000AB",
                               "2026-11-28T02:00:00.000000000Z"};
    struct ndt7_appinfo app = {.num_bytes = 777, .elapsed_us = 250000};
    ASSERT_EQ_INT(ndt7_measurement_append(&b, &app, &ci, &bi, &ti, 250000, 94.5), 0);
    json_error_t e;
    json_t *j = json_loadb((const char *)buf_head(&b), b.len, 0, &e);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "AppInfo"), "NumBytes")),
                  777);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_object_get(j, "ConnectionInfo"), "UUID")),
                  ci.uuid);
    json_t *t = json_object_get(j, "TCPInfo");
    ASSERT_EQ_INT(json_integer_value(json_object_get(t, "BytesAcked")), 123456);
    ASSERT_EQ_INT(json_integer_value(json_object_get(t, "MinRTT")), 42);
    ASSERT_EQ_INT(json_integer_value(json_object_get(t, "ElapsedTime")), 250000);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "BBRInfo"), "BW")), 1000);
    ASSERT_NEAR(json_real_value(json_object_get(json_object_get(j, "Fathom"), "SteadyStateMbps")),
                94.5, 1e-9);
    json_decref(j);
    buf_free(&b);
}

TEST(sample_parse_keeps_known_fields_only)
{
    const char *in = "{\"AppInfo\":{\"NumBytes\":1000,\"ElapsedTime\":2000,\"Evil\":\"x\"},"
                     "\"Origin\":\"client\",\"Test\":\"upload\",\"Extra\":{\"a\":1},"
                     "\"TCPInfo\":{\"MinRTT\":15,\"BytesReceived\":99,\"Serial\":\"abc\"}}";
    struct ndt7_sample s;
    struct buf canon;
    buf_init(&canon, 1 << 16);
    ASSERT_EQ_INT(ndt7_sample_parse(in, strlen(in), &s, &canon), 0);
    ASSERT_TRUE(s.has_app && s.has_tcp && !s.has_bbr);
    ASSERT_EQ_INT(s.app_num_bytes, 1000);
    ASSERT_EQ_INT(s.min_rtt_us, 15);
    ASSERT_EQ_INT(buf_append(&canon, "", 1), 0);
    const char *c = (const char *)buf_head(&canon);
    ASSERT_TRUE(strstr(c, "Evil") == NULL);
    ASSERT_TRUE(strstr(c, "Origin") == NULL);
    ASSERT_TRUE(strstr(c, "Extra") == NULL);
    ASSERT_TRUE(strstr(c, "Serial") == NULL);
    ASSERT_TRUE(strstr(c, "\"NumBytes\":1000") != NULL);
    buf_free(&canon);
}

TEST(sample_parse_rejects_bad_input)
{
    static const char *bad[] = {
        "not json",
        "[1,2,3]",
        "{\"AppInfo\":\"x\"}",
        "{\"AppInfo\":{\"NumBytes\":\"12\"}}",
        "{\"TCPInfo\":{\"MinRTT\":1.5}}",
        "{\"ConnectionInfo\":{\"UUID\":7}}",
        "{\"a\":1,\"a\":2}",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ndt7_sample s;
        ASSERT_EQ_INT(ndt7_sample_parse(bad[i], strlen(bad[i]), &s, NULL), ERR_PROTO);
    }
}

/* A link of `mbps` reached after a linear ramp of `ramp_us`, sampled every 250 ms. */
static double steady_of_ramp(double mbps, int64_t ramp_us, int64_t stall_at, int64_t stall_us)
{
    struct ndt7_steady st;
    ndt7_steady_init(&st);
    double bytes = 0;
    int64_t prev = 0;
    for (int64_t t = 250000; t <= 10000000; t += 250000) {
        for (int64_t u = prev; u < t; u += 1000) {
            double rate = u < ramp_us ? mbps * (double)u / (double)ramp_us : mbps;
            if (stall_us && u >= stall_at && u < stall_at + stall_us)
                rate = 0;
            bytes += rate * 1000 / 8; /* Mbit/s x 1 ms = 125 bytes per Mbit/s */
        }
        prev = t;
        ndt7_steady_add(&st, t, (int64_t)bytes);
    }
    return ndt7_steady_mbps(&st);
}

TEST(steady_state_ignores_ramp_and_stalls)
{
    /* The mean of a 3 s ramp to 100 Mbit/s over 10 s is 85 Mbit/s; the estimate is 100. */
    ASSERT_NEAR(steady_of_ramp(100, 3000000, 0, 0), 100, 0.5);
    ASSERT_NEAR(steady_of_ramp(956, 1000000, 0, 0), 956, 2);
    /* A 300 ms stall at 7 s (a BBR ProbeRTT) does not move the median. */
    ASSERT_NEAR(steady_of_ramp(956, 1000000, 7000000, 300000), 956, 2);
    struct ndt7_steady st;
    ndt7_steady_init(&st);
    ndt7_steady_add(&st, 250000, 1000);
    ndt7_steady_add(&st, 500000, 2000);
    ASSERT_TRUE(ndt7_steady_mbps(&st) < 0); /* not before 2 s */
}

TEST(sample_parse_reads_steady_state)
{
    const char *in = "{\"TCPInfo\":{\"MinRTT\":15},\"Fathom\":{\"SteadyStateMbps\":94.25}}";
    struct ndt7_sample s;
    ASSERT_EQ_INT(ndt7_sample_parse(in, strlen(in), &s, NULL), 0);
    ASSERT_TRUE(s.has_steady);
    ASSERT_NEAR(s.steady_mbps, 94.25, 1e-9);
    const char *none = "{\"TCPInfo\":{\"MinRTT\":15}}";
    ASSERT_EQ_INT(ndt7_sample_parse(none, strlen(none), &s, NULL), 0);
    ASSERT_TRUE(!s.has_steady);
}
