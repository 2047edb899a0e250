/*
 * Unit tests for src/ws: the handshake (RFC 6455 example accept value, server
 * checks, client round trip), frame encoding and masking, UTF-8 validation,
 * and the reader fed every split point of frame streams (masked and unmasked,
 * 7/16/64-bit lengths, fragmented text with interleaved control frames), plus
 * a corpus of malformed streams with their expected error and close code.
 */
#include "harness.h"

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"
#include "ws/ws.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#define NDT7_PROTO "net.measurementlab.ndt.v7"

static const uint8_t test_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- Handshake ----------------------------------------------------------- */

/* RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". */
TEST(accept_value_rfc6455_example)
{
    char out[29];
    ws_accept_value(slice_cstr("dGhlIHNhbXBsZSBub25jZQ=="), out);
    ASSERT_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static const char *const valid_upgrade =
    "GET /ndt/v7/download?early_exit=250 HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Origin: https://example.org\r\n"
    "\r\n";

/* Replace the first occurrence of from in valid_upgrade with to, parse and check. */
static int check_variant(const char *from, const char *to, const char **reason)
{
    static char text[2048];
    static struct h1_request req;
    struct h1_error err;
    const char *at = strstr(valid_upgrade, from);
    ASSERT_TRUE(at != NULL);
    size_t pre = (size_t)(at - valid_upgrade);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)pre, valid_upgrade, to, at + strlen(from));
    int rc = h1_parse_request(text, strlen(text), &req, &err);
    if (rc <= 0)
        FAIL_AT("variant did not parse: %d %s", rc, err.reason);
    struct slice key;
    return ws_check_upgrade(&req, NDT7_PROTO, &key, reason);
}

TEST(server_check_upgrade)
{
    struct h1_request req;
    struct h1_error err;
    struct slice key;
    const char *reason = "unset";

    ASSERT_TRUE(h1_parse_request(valid_upgrade, strlen(valid_upgrade), &req, &err) > 0);
    ASSERT_EQ_INT(ws_check_upgrade(&req, NDT7_PROTO, &key, &reason), 0);
    ASSERT_TRUE(slice_eq(key, "dGhlIHNhbXBsZSBub25jZQ=="));
    ASSERT_TRUE(reason == NULL);

    /* Case-insensitive tokens in Upgrade and Connection. */
    ASSERT_EQ_INT(check_variant("Upgrade: websocket", "upgrade: WebSocket", &reason), 0);
    ASSERT_EQ_INT(check_variant("keep-alive, Upgrade", "UPGRADE", &reason), 0);

    static const struct {
        const char *from, *to;
        int status;
    } cases[] = {
        {"GET /", "POST /", 405},
        {"HTTP/1.1", "HTTP/1.0", 400},
        {"Upgrade: websocket", "Upgrade: h2c", 426},
        {"Upgrade: websocket", "X-Upgrade: websocket", 426},
        {"keep-alive, Upgrade", "keep-alive", 400},
        {"Version: 13", "Version: 8", 426},
        {"Version: 13", "Version: 13\r\nSec-WebSocket-Version: 8", 426},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Key: abc", 400},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=", 400},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ*==", 400},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "X-Nokey: 1", 400},
        {"Sec-WebSocket-Version",
         "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version", 400},
        {"Protocol: net.measurementlab.ndt.v7", "Protocol: foo, net.measurementlab.ndt.v7", 400},
        {"Protocol: net.measurementlab.ndt.v7", "Protocol: net.measurementlab.ndt.v7, foo", 400},
        {"Protocol: net.measurementlab.ndt.v7", "Protocol: net.measurementlab.ndt.v5", 400},
        {"Protocol: net.measurementlab.ndt.v7", "Protocol: NET.measurementlab.ndt.v7", 400},
        {"Sec-WebSocket-Protocol: net.measurementlab.ndt.v7", "X-P: 1", 400},
        {"Protocol: net.measurementlab.ndt.v7",
         "Protocol: net.measurementlab.ndt.v7\r\nSec-WebSocket-Protocol: net.measurementlab.ndt.v7",
         400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reason = NULL;
        int st = check_variant(cases[i].from, cases[i].to, &reason);
        if (st != cases[i].status || !reason || !*reason)
            FAIL_AT("case %zu (%s): status %d want %d", i, cases[i].to, st, cases[i].status);
    }
}

TEST(server_accept_response)
{
    struct buf b;
    buf_init(&b, 4096);
    ASSERT_EQ_INT(ws_write_accept(&b, slice_cstr("dGhlIHNhbXBsZSBub25jZQ=="), NDT7_PROTO), 0);
    const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                       "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n"
                       "\r\n";
    ASSERT_EQ_INT(b.len, strlen(want));
    ASSERT_EQ_MEM(buf_head(&b), want, b.len);
    buf_free(&b);

    /* All or nothing under a small ceiling. */
    buf_init(&b, 40);
    ASSERT_EQ_INT(ws_write_accept(&b, slice_cstr("dGhlIHNhbXBsZSBub25jZQ=="), NDT7_PROTO),
                  ERR_TOOBIG);
    ASSERT_EQ_INT(b.len, 0);
    buf_free(&b);
}

TEST(client_round_trip)
{
    char key[25];
    struct buf req_b, resp_b;
    struct h1_request req;
    struct h1_response resp;
    struct h1_error err;
    struct slice skey;
    const char *reason = NULL;

    ws_client_key(key);
    ASSERT_EQ_INT(strlen(key), 24);
    char key2[25];
    ws_client_key(key2);
    ASSERT_TRUE(strcmp(key, key2) != 0);

    buf_init(&req_b, 4096);
    buf_init(&resp_b, 4096);
    ASSERT_EQ_INT(ws_write_upgrade_request(&req_b, "ndt.example.org:8080",
                                           "/ndt/v7/upload?client_name=fathom", NDT7_PROTO, key,
                                           "fathom/0.1.0"),
                  0);
    int n = h1_parse_request((const char *)buf_head(&req_b), req_b.len, &req, &err);
    ASSERT_EQ_INT(n, req_b.len);
    ASSERT_TRUE(slice_eq(req.path, "/ndt/v7/upload"));
    ASSERT_TRUE(slice_eq(h1_find_header(&req, "Host")->value, "ndt.example.org:8080"));
    ASSERT_TRUE(slice_eq(h1_find_header(&req, "User-Agent")->value, "fathom/0.1.0"));
    ASSERT_EQ_INT(ws_check_upgrade(&req, NDT7_PROTO, &skey, &reason), 0);
    ASSERT_TRUE(slice_eq(skey, key));

    ASSERT_EQ_INT(ws_write_accept(&resp_b, skey, NDT7_PROTO), 0);
    n = h1_parse_response((const char *)buf_head(&resp_b), resp_b.len, &resp);
    ASSERT_EQ_INT(n, resp_b.len);
    ASSERT_EQ_INT(ws_check_accept(&resp, key, NDT7_PROTO, &reason), 0);
    ASSERT_TRUE(reason == NULL);

    /* Wrong key, wrong protocol, no protocol. */
    ASSERT_EQ_INT(ws_check_accept(&resp, "dGhlIHNhbXBsZSBub25jZQ==", NDT7_PROTO, &reason),
                  ERR_PROTO);
    ASSERT_EQ_STR(reason, "missing or wrong Sec-WebSocket-Accept");
    ASSERT_EQ_INT(ws_check_accept(&resp, key, "other", &reason), ERR_PROTO);
    buf_reset(&resp_b);
    ASSERT_EQ_INT(ws_write_accept(&resp_b, skey, NULL), 0);
    ASSERT_TRUE(h1_parse_response((const char *)buf_head(&resp_b), resp_b.len, &resp) > 0);
    ASSERT_EQ_INT(ws_check_accept(&resp, key, NDT7_PROTO, &reason), ERR_PROTO);
    ASSERT_EQ_STR(reason, "server did not select our subprotocol");

    /* Injection through the target or host is refused. */
    buf_reset(&req_b);
    ASSERT_EQ_INT(ws_write_upgrade_request(&req_b, "h", "/a b", NDT7_PROTO, key, "ua"), ERR_PROTO);
    ASSERT_EQ_INT(ws_write_upgrade_request(&req_b, "h\r\nX: y", "/", NDT7_PROTO, key, "ua"),
                  ERR_PROTO);
    ASSERT_EQ_INT(req_b.len, 0);
    buf_free(&req_b);
    buf_free(&resp_b);
}

TEST(client_check_accept_refusals)
{
    static const struct {
        const char *resp;
        const char *reason;
    } cases[] = {
        {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
         "server did not switch protocols"},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n\r\n",
         "response lacks Upgrade: websocket"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n\r\n",
         "response Connection header lacks upgrade"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n\r\n",
         "missing or wrong Sec-WebSocket-Accept"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n"
         "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         "server selected an extension we did not offer"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
         "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n\r\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct h1_response resp;
        const char *reason = NULL;
        ASSERT_TRUE(h1_parse_response(cases[i].resp, strlen(cases[i].resp), &resp) > 0);
        int rc = ws_check_accept(&resp, "dGhlIHNhbXBsZSBub25jZQ==", NDT7_PROTO, &reason);
        if (cases[i].reason) {
            ASSERT_EQ_INT(rc, ERR_PROTO);
            ASSERT_EQ_STR(reason, cases[i].reason);
        } else {
            ASSERT_EQ_INT(rc, 0);
        }
    }
}

/* ---- Encoding, masking, UTF-8 -------------------------------------------- */

TEST(encode_rfc6455_examples)
{
    uint8_t h[WS_MAX_HEADER];
    struct buf b;

    buf_init(&b, 1 << 20);
    /* §5.7: unmasked and masked "Hello", a ping, 256 and 65536 byte lengths. */
    ASSERT_EQ_INT(ws_append_frame(&b, WS_OP_TEXT, "Hello", 5, NULL), 0);
    ASSERT_EQ_INT(b.len, 7);
    ASSERT_EQ_MEM(buf_head(&b), "\x81\x05Hello", 7);
    buf_reset(&b);
    ASSERT_EQ_INT(ws_append_frame(&b, WS_OP_TEXT, "Hello", 5, test_mask), 0);
    ASSERT_EQ_INT(b.len, 11);
    ASSERT_EQ_MEM(buf_head(&b), "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    buf_reset(&b);
    ASSERT_EQ_INT(ws_append_frame(&b, WS_OP_PING, "Hello", 5, NULL), 0);
    ASSERT_EQ_MEM(buf_head(&b), "\x89\x05Hello", 7);
    ASSERT_EQ_INT(ws_encode_header(h, true, WS_OP_BINARY, 256, NULL), 4);
    ASSERT_EQ_MEM(h, "\x82\x7e\x01\x00", 4);
    ASSERT_EQ_INT(ws_encode_header(h, true, WS_OP_BINARY, 65536, NULL), 10);
    ASSERT_EQ_MEM(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    ASSERT_EQ_INT(ws_encode_header(h, false, WS_OP_TEXT, 125, test_mask), 6);
    ASSERT_EQ_MEM(h, "\x01\xfd\x37\xfa\x21\x3d", 6);
    ASSERT_EQ_INT(ws_encode_header(h, true, WS_OP_BINARY, 65535, test_mask), 8);
    ASSERT_EQ_MEM(h, "\x82\xfe\xff\xff\x37\xfa\x21\x3d", 8);

    /* Close frames; control payloads over 125 bytes are refused. */
    buf_reset(&b);
    ASSERT_EQ_INT(ws_append_close(&b, 1000, "Done sending", NULL), 0);
    ASSERT_EQ_MEM(buf_head(&b),
                  "\x88\x0e\x03\xe8"
                  "Done sending",
                  16);
    char big[200];
    memset(big, 'x', sizeof(big));
    big[124] = '\0';
    ASSERT_EQ_INT(ws_append_close(&b, 1000, big, NULL), ERR_TOOBIG);
    ASSERT_EQ_INT(ws_append_frame(&b, WS_OP_PING, big, 126, NULL), ERR_TOOBIG);
    buf_free(&b);
}

TEST(mask_matches_bytewise)
{
    uint8_t src[80], a[96], want[80];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    for (size_t align = 0; align < 8; align++) {
        for (size_t off = 0; off < 8; off++) {
            for (size_t n = 0; n <= 70; n++) {
                memcpy(a + align, src, n);
                for (size_t i = 0; i < n; i++)
                    want[i] = src[i] ^ test_mask[(off + i) & 3];
                ws_mask(a + align, n, test_mask, off);
                if (memcmp(a + align, want, n) != 0)
                    FAIL_AT("align %zu offset %zu n %zu", align, off, n);
            }
        }
    }
    /* Masking in pieces equals masking at once. */
    memcpy(a, src, 80);
    ws_mask(a, 13, test_mask, 0);
    ws_mask(a + 13, 50, test_mask, 13);
    ws_mask(a + 63, 17, test_mask, 63);
    for (size_t i = 0; i < 80; i++)
        ASSERT_EQ_INT(a[i], src[i] ^ test_mask[i & 3]);
}

TEST(utf8_validation)
{
    static const char *const good[] = {
        "",
        "plain ascii that is longer than eight bytes",
        "caf\xc3\xa9",
        "\xe2\x82\xac euro",
        "\xf0\x9f\x98\x80 emoji",
        "\xed\x9f\xbf",     /* U+D7FF */
        "\xee\x80\x80",     /* U+E000 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF */
        "\xc2\x80",
        "\xef\xbf\xbf",
    };
    static const char *const bad[] = {
        "\x80",
        "\xbf",
        "\xc0\xaf",
        "\xc1\xbf", /* overlong 2-byte */
        "\xe0\x80\xaf",
        "\xe0\x9f\xbf", /* overlong 3-byte */
        "\xf0\x80\x80\xaf",
        "\xf0\x8f\xbf\xbf", /* overlong 4-byte */
        "\xed\xa0\x80",
        "\xed\xbf\xbf", /* surrogates */
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xff",
        "\xfe",
        "\xc3",
        "\xe2\x82",
        "\xf0\x9f\x98", /* truncated */
        "\xc3\x28",
        "\xe2\x28\xa1",
        "\xf0\x9f\x28\x80",
        "ascii ascii ascii \xc3",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ws_utf8_valid((const uint8_t *)good[i], strlen(good[i])))
            FAIL_AT("good[%zu] refused", i);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ws_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])))
            FAIL_AT("bad[%zu] accepted", i);
    }
}

/* ---- Reader -------------------------------------------------------------- */

/* Append one frame whose first byte is b0 (FIN, RSV, opcode as given). */
static void frame(struct buf *b, uint8_t b0, const void *payload, size_t n, bool masked)
{
    uint8_t *t = buf_reserve(b, WS_MAX_HEADER + n);
    ASSERT_TRUE(t != NULL);
    size_t h = ws_encode_header(t, true, WS_OP_CONT, n, masked ? test_mask : NULL);
    t[0] = b0;
    if (n)
        memcpy(t + h, payload, n);
    if (masked)
        ws_mask(t + h, n, test_mask, 0);
    buf_commit(b, h + n);
}

static void close_frame(struct buf *b, unsigned code, const char *reason, bool masked)
{
    uint8_t p[125];
    size_t rl = strlen(reason);
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rl);
    frame(b, 0x88, p, 2 + rl, masked);
}

struct transcript {
    struct buf out;
    uint64_t binary; /* bytes of the binary message in progress */
    bool failed;
};

static void tr_init(struct transcript *t)
{
    buf_init(&t->out, 1 << 16);
    t->binary = 0;
    t->failed = false;
}

/* Feed in[0..n) to r until consumed or an error, recording events in t. */
static void drive(struct ws_reader *r, const uint8_t *in, size_t n, struct transcript *t)
{
    while (!t->failed) {
        struct ws_event ev;
        int rc = ws_reader_feed(r, in, n, &ev);
        if (rc < 0) {
            buf_appendf(&t->out, "E(%s,%u,%s)", err_name(rc), r->error_close, r->error_what);
            t->failed = true;
            return;
        }
        ASSERT_TRUE((size_t)rc <= n);
        if (rc == 0 && ev.type == WS_EV_NONE && n > 0)
            FAIL_AT("no progress with %zu bytes left", n);
        in += rc;
        n -= (size_t)rc;
        switch (ev.type) {
        case WS_EV_NONE:
            break;
        case WS_EV_TEXT:
            ASSERT_TRUE(ev.message_end);
            buf_appendf(&t->out, "T(%.*s)", (int)ev.payload.len, ev.payload.ptr);
            break;
        case WS_EV_BINARY:
            if (ev.nbytes == 0 && !ev.message_end)
                FAIL_AT("empty binary event");
            t->binary += ev.nbytes;
            if (ev.message_end) {
                buf_appendf(&t->out, "B(%llu)", (unsigned long long)t->binary);
                t->binary = 0;
            }
            break;
        case WS_EV_PING:
            buf_appendf(&t->out, "P(%.*s)", (int)ev.payload.len, ev.payload.ptr);
            break;
        case WS_EV_PONG:
            buf_appendf(&t->out, "O(%.*s)", (int)ev.payload.len, ev.payload.ptr);
            break;
        case WS_EV_CLOSE:
            buf_appendf(&t->out, "C(%u:%.*s)", ev.close_code, (int)ev.payload.len, ev.payload.ptr);
            break;
        }
        if (n == 0)
            return;
    }
}

/* Feed a private exact-size copy of in[0..n), so ASan sees any over-read. */
static void drive_copy(struct ws_reader *r, const uint8_t *in, size_t n, struct transcript *t)
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, in, n);
    drive(r, c, n, t);
    free(c);
}

struct reader_cfg {
    bool masked;
    uint64_t max_message;
    size_t max_text;
};

/* The transcript of the whole stream fed in chunks cut at the given points. */
static char *run_split(const struct reader_cfg *cfg, const uint8_t *s, size_t n, const size_t *cuts,
                       size_t ncuts, bool copy)
{
    struct ws_reader r;
    struct transcript t;
    size_t pos = 0;

    ws_reader_init(&r, cfg->masked, cfg->max_message, cfg->max_text);
    tr_init(&t);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        if (copy)
            drive_copy(&r, s + pos, end - pos, &t);
        else
            drive(&r, s + pos, end - pos, &t);
        pos = end;
    }
    ws_reader_free(&r);
    buf_append(&t.out, "", 1);
    char *res = strdup((const char *)buf_head(&t.out));
    buf_free(&t.out);
    return res;
}

/*
 * The stream must give want when fed whole, cut at every single point, cut at
 * every pair of points (small streams) and one byte at a time.
 */
static void check_every_split(const struct reader_cfg *cfg, const struct buf *b, const char *want)
{
    const uint8_t *s = buf_head(b);
    size_t n = b->len;
    bool copy = n < 4096; /* big streams are fed in place: copying would be O(n^2) */

    char *got = run_split(cfg, s, n, NULL, 0, true);
    ASSERT_EQ_STR(got, want);
    free(got);
    for (size_t k = 0; k <= n; k++) {
        got = run_split(cfg, s, n, &k, 1, copy);
        if (strcmp(got, want) != 0)
            FAIL_AT("split at %zu of %zu: %s != %s", k, n, got, want);
        free(got);
    }
    if (n <= 700) {
        for (size_t i = 0; i <= n; i++) {
            for (size_t j = i; j <= n; j++) {
                size_t cuts[2] = {i, j};
                got = run_split(cfg, s, n, cuts, 2, false);
                if (strcmp(got, want) != 0)
                    FAIL_AT("split at %zu,%zu of %zu: %s != %s", i, j, n, got, want);
                free(got);
            }
        }
    }
    if (n <= 1 << 20) {
        size_t *cuts = malloc(n * sizeof(*cuts));
        for (size_t k = 0; k < n; k++)
            cuts[k] = k;
        got = run_split(cfg, s, n, cuts, n, false);
        ASSERT_EQ_STR(got, want);
        free(got);
        free(cuts);
    }
}

/* A mixed small stream; masked for a server-side reader, unmasked for a client. */
static void small_stream(struct buf *b, bool masked)
{
    uint8_t bin[300];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)i;
    frame(b, 0x81, "Hello", 5, masked);
    /* Fragmented text with a ping and an empty pong in between; UTF-8 split across frames. */
    frame(b, 0x01, "w\xc3", 2, masked);
    frame(b, 0x89, "p1", 2, masked);
    frame(b, 0x00, "\xa9rl", 3, masked);
    frame(b, 0x8a, "", 0, masked);
    frame(b, 0x80, "d!", 2, masked);
    frame(b, 0x82, bin, 100, masked);     /* 7-bit length */
    frame(b, 0x82, bin, 300, masked);     /* 16-bit length */
    frame(b, 0x02, bin, 10, masked);      /* fragmented binary ... */
    frame(b, 0x89, "", 0, masked);        /* ... with a ping inside ... */
    frame(b, 0x00, bin, 0, masked);       /* ... an empty fragment ... */
    frame(b, 0x80, bin, 7, masked);       /* ... and the end */
    frame(b, 0x82, "", 0, masked);        /* empty binary message */
    frame(b, 0x81, "", 0, masked);        /* empty text message */
    frame(b, 0x01, "{\"a\":", 5, masked); /* text in pieces */
    frame(b, 0x80, "1}", 2, masked);
    close_frame(b, 1000, "Done sending", masked);
}

static const char small_want[] = "T(Hello)P(p1)O()T(w\xc3\xa9rld!)B(100)B(300)P()B(17)B(0)T()"
                                 "T({\"a\":1})C(1000:Done sending)";

TEST(reader_every_split_masked)
{
    struct reader_cfg cfg = {true, 1 << 24, 1 << 16};
    struct buf b;
    buf_init(&b, 1 << 20);
    small_stream(&b, true);
    check_every_split(&cfg, &b, small_want);
    buf_free(&b);
}

TEST(reader_every_split_unmasked)
{
    struct reader_cfg cfg = {false, 1 << 24, 1 << 16};
    struct buf b;
    buf_init(&b, 1 << 20);
    small_stream(&b, false);
    check_every_split(&cfg, &b, small_want);
    buf_free(&b);
}

TEST(reader_every_split_64bit_length)
{
    struct reader_cfg cfg = {true, 1 << 24, 4096};
    struct buf b;
    size_t big = 70000;
    uint8_t *payload = calloc(1, big);

    buf_init(&b, 1 << 20);
    frame(&b, 0x81, "{}", 2, true);
    frame(&b, 0x82, payload, big, true); /* 64-bit length */
    frame(&b, 0x89, "x", 1, true);
    frame(&b, 0x82, payload, 65536, true); /* smallest 64-bit length */
    close_frame(&b, 4000, "", true);
    check_every_split(&cfg, &b, "T({})B(70000)P(x)B(65536)C(4000:)");
    buf_free(&b);
    free(payload);
}

TEST(reader_close_variants)
{
    struct reader_cfg cfg = {false, 1 << 24, 1 << 16};
    static const unsigned ok_codes[] = {1000, 1001, 1002, 1003, 1007, 1008,
                                        1009, 1010, 1011, 1014, 3000, 4999};
    for (size_t i = 0; i < sizeof(ok_codes) / sizeof(ok_codes[0]); i++) {
        struct buf b;
        char want[64];
        buf_init(&b, 1024);
        close_frame(&b, ok_codes[i], "r\xc3\xa9", false);
        snprintf(want, sizeof(want), "C(%u:r\xc3\xa9)", ok_codes[i]);
        check_every_split(&cfg, &b, want);
        buf_free(&b);
    }
    struct buf b;
    buf_init(&b, 1024);
    frame(&b, 0x88, "", 0, false);
    check_every_split(&cfg, &b, "C(1005:)");
    buf_free(&b);
}

TEST(reader_empty_first_text)
{
    /* The very first message is empty text: the text buffer has no storage yet. */
    struct reader_cfg cfg = {true, 1 << 24, 1 << 16};
    struct buf b;
    buf_init(&b, 1024);
    frame(&b, 0x81, "", 0, true);
    frame(&b, 0x01, "", 0, true);
    frame(&b, 0x80, "", 0, true);
    check_every_split(&cfg, &b, "T()T()");
    buf_free(&b);
}

struct bad_stream {
    const char *name;
    bool masked; /* reader expects masked frames */
    const char *want;
};

/* Build the malformed stream number i into b. Returns false past the end. */
static bool bad_stream(size_t i, struct buf *b, struct bad_stream *d)
{
    uint8_t big[1100] = {0};
    const bool M = true;

    d->masked = true;
    switch (i) {
    case 0:
        d->name = "unmasked frame to a server";
        frame(b, 0x81, "hi", 2, false);
        d->want = "E(ERR_PROTO,1002,unmasked client frame)";
        break;
    case 1:
        d->name = "masked frame to a client";
        d->masked = false;
        frame(b, 0x81, "hi", 2, true);
        d->want = "E(ERR_PROTO,1002,masked server frame)";
        break;
    case 2:
        d->name = "RSV1";
        frame(b, 0xc1, "hi", 2, M);
        d->want = "E(ERR_PROTO,1002,reserved bits set)";
        break;
    case 3:
        d->name = "RSV3 on a ping";
        frame(b, 0x99, "", 0, M);
        d->want = "E(ERR_PROTO,1002,reserved bits set)";
        break;
    case 4:
        d->name = "opcode 3";
        frame(b, 0x83, "", 0, M);
        d->want = "E(ERR_PROTO,1002,unknown opcode)";
        break;
    case 5:
        d->name = "opcode 0xB";
        frame(b, 0x8b, "", 0, M);
        d->want = "E(ERR_PROTO,1002,unknown opcode)";
        break;
    case 6:
        d->name = "ping of 126 bytes";
        frame(b, 0x89, big, 126, M);
        d->want = "E(ERR_PROTO,1002,control frame too long)";
        break;
    case 7:
        d->name = "fragmented ping";
        frame(b, 0x09, "a", 1, M);
        d->want = "E(ERR_PROTO,1002,fragmented control frame)";
        break;
    case 8:
        d->name = "continuation without a message";
        frame(b, 0x80, "a", 1, M);
        d->want = "E(ERR_PROTO,1002,continuation without a message)";
        break;
    case 9:
        d->name = "text inside fragmented text";
        frame(b, 0x01, "a", 1, M);
        frame(b, 0x81, "b", 1, M);
        d->want = "E(ERR_PROTO,1002,new message inside a fragmented one)";
        break;
    case 10:
        d->name = "64-bit length with MSB set";
        buf_append(b, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d", 14);
        d->want = "E(ERR_PROTO,1002,64-bit length with MSB set)";
        break;
    case 11:
        d->name = "binary over max_message";
        frame(b, 0x82, big, 1025, M);
        d->want = "E(ERR_TOOBIG,1009,message too big)";
        break;
    case 12:
        d->name = "fragmented binary over max_message";
        frame(b, 0x02, big, 600, M);
        frame(b, 0x80, big, 600, M);
        d->want = "E(ERR_TOOBIG,1009,message too big)";
        break;
    case 13:
        d->name = "text over max_text";
        frame(b, 0x81, big, 257, M);
        d->want = "E(ERR_TOOBIG,1009,text message too big)";
        break;
    case 14:
        d->name = "fragmented text over max_text";
        frame(b, 0x01, big, 200, M);
        frame(b, 0x89, "", 0, M);
        frame(b, 0x80, big, 57, M);
        d->want = "P()E(ERR_TOOBIG,1009,text message too big)";
        break;
    case 15:
        d->name = "invalid UTF-8";
        frame(b, 0x81, "\xc3\x28", 2, M);
        d->want = "E(ERR_UTF8,1007,text is not UTF-8)";
        break;
    case 16:
        d->name = "surrogate in text split across fragments";
        frame(b, 0x01, "ok\xed", 3, M);
        frame(b, 0x80, "\xa0\x80", 2, M);
        d->want = "E(ERR_UTF8,1007,text is not UTF-8)";
        break;
    case 17:
        d->name = "truncated sequence at message end";
        frame(b, 0x81, "abc\xe2\x82", 5, M);
        d->want = "E(ERR_UTF8,1007,text is not UTF-8)";
        break;
    case 18:
        d->name = "close with 1-byte payload";
        frame(b, 0x88, "\x03", 1, M);
        d->want = "E(ERR_PROTO,1002,close frame with 1-byte payload)";
        break;
    case 19:
        d->name = "close reason not UTF-8";
        close_frame(b, 1000, "\xff", M);
        d->want = "E(ERR_UTF8,1007,close reason is not UTF-8)";
        break;
    case 20:
        d->name = "data after close";
        close_frame(b, 1000, "", M);
        frame(b, 0x81, "x", 1, M);
        d->want = "C(1000:)E(ERR_PROTO,1002,data after close frame)";
        break;
    case 21:
        d->name = "events before the error are kept";
        frame(b, 0x81, "ok", 2, M);
        frame(b, 0x82, big, 3, M);
        frame(b, 0xa2, big, 3, M);
        d->want = "T(ok)B(3)E(ERR_PROTO,1002,reserved bits set)";
        break;
    default: {
        static const unsigned bad_codes[] = {0,    999,  1004, 1005, 1006, 1012 + 3,
                                             1016, 2000, 2999, 5000, 65535};
        size_t k = i - 22;
        if (k >= sizeof(bad_codes) / sizeof(bad_codes[0]))
            return false;
        d->name = "invalid close code";
        close_frame(b, bad_codes[k], "", M);
        d->want = "E(ERR_PROTO,1002,invalid close code)";
        break;
    }
    }
    return true;
}

TEST(reader_malformed_corpus)
{
    for (size_t i = 0;; i++) {
        struct buf b;
        struct bad_stream d;
        buf_init(&b, 1 << 20);
        if (!bad_stream(i, &b, &d)) {
            buf_free(&b);
            break;
        }
        struct reader_cfg cfg = {d.masked, 1024, 256};
        fprintf(stderr, "case %zu: %s\n", i, d.name);
        check_every_split(&cfg, &b, d.want);
        buf_free(&b);
    }
}

TEST(reader_error_is_sticky)
{
    struct ws_reader r;
    struct ws_event ev;
    ws_reader_init(&r, true, 1024, 1024);
    ASSERT_EQ_INT(ws_reader_feed(&r, (const uint8_t *)"\xc1\x80", 2, &ev), ERR_PROTO);
    ASSERT_EQ_INT(r.error_close, 1002);
    ASSERT_EQ_INT(ws_reader_feed(&r, (const uint8_t *)"\x81\x80", 2, &ev), ERR_PROTO);
    ws_reader_free(&r);
}

/*
 * The hot path: a 16 MiB binary frame whose payload lies in PROT_NONE pages
 * is consumed in one call, so its bytes are provably never read.
 */
TEST(reader_binary_never_touched)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t plen = 1 << 24;
    size_t total = (size_t)page + plen;
    uint8_t *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(m != MAP_FAILED);
    ASSERT_EQ_INT(mprotect(m + page, plen, PROT_NONE), 0);

    uint8_t hdr[WS_MAX_HEADER];
    size_t h = ws_encode_header(hdr, true, WS_OP_BINARY, plen, test_mask);
    uint8_t *start = m + page - h;
    memcpy(start, hdr, h);

    struct ws_reader r;
    struct ws_event ev;
    ws_reader_init(&r, true, 1 << 24, 1 << 16);
    int rc = ws_reader_feed(&r, start, h + plen, &ev);
    ASSERT_EQ_INT(rc, h + plen);
    ASSERT_EQ_INT(ev.type, WS_EV_BINARY);
    ASSERT_EQ_U64(ev.nbytes, plen);
    ASSERT_TRUE(ev.message_end);

    /* The same frame split in a header piece and two payload pieces: three calls. */
    rc = ws_reader_feed(&r, start, h, &ev);
    ASSERT_EQ_INT(rc, h);
    ASSERT_EQ_INT(ev.type, WS_EV_NONE);
    rc = ws_reader_feed(&r, m + page, plen / 2, &ev);
    ASSERT_EQ_INT(rc, plen / 2);
    ASSERT_TRUE(ev.type == WS_EV_BINARY && !ev.message_end);
    rc = ws_reader_feed(&r, m + page + plen / 2, plen / 2, &ev);
    ASSERT_TRUE(ev.type == WS_EV_BINARY && ev.message_end && ev.nbytes == plen / 2);
    ws_reader_free(&r);
    munmap(m, total);
}

/* Dropping binary payload with ws_reader_skip is accounted exactly like feeding it. */
TEST(reader_skip_matches_feed)
{
    uint8_t frame[WS_MAX_HEADER + 300];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t h = ws_encode_header(frame, true, WS_OP_BINARY, 300, mask);
    memset(frame + h, 0xAB, 300);
    struct ws_reader r;
    ws_reader_init(&r, true, 1 << 24, 1024);
    struct ws_event ev;
    ASSERT_EQ_INT(ws_reader_skippable(&r), 0);
    ASSERT_EQ_INT(ws_reader_feed(&r, frame, h, &ev), (int)h);
    ASSERT_EQ_U64(ws_reader_skippable(&r), 300);
    ws_reader_skip(&r, 100, &ev);
    ASSERT_EQ_INT(ev.type, WS_EV_BINARY);
    ASSERT_EQ_U64(ev.nbytes, 100);
    ASSERT_TRUE(!ev.message_end);
    ASSERT_EQ_U64(ws_reader_skippable(&r), 200);
    ws_reader_skip(&r, 200, &ev);
    ASSERT_EQ_U64(ev.nbytes, 200);
    ASSERT_TRUE(ev.message_end);
    ASSERT_EQ_INT(ws_reader_skippable(&r), 0);
    /* A text frame is never skippable: it must be read, unmasked and checked. */
    h = ws_encode_header(frame, true, WS_OP_TEXT, 2, mask);
    memcpy(frame + h, "{}", 2);
    ws_mask(frame + h, 2, mask, 0);
    ASSERT_EQ_INT(ws_reader_feed(&r, frame, h + 1, &ev), (int)h + 1);
    ASSERT_EQ_INT(ws_reader_skippable(&r), 0);
    ws_reader_free(&r);
}
