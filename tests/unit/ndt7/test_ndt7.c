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
    ASSERT_EQ_INT(ndt7_measurement_append(&b, &app, &ci, &bi, &ti, 250000), 0);
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
