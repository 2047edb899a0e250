/*
 * fuzz_ws: the WebSocket frame reader, masking and UTF-8 validation.
 *
 * Input layout: byte 0 picks the reader configuration (bit 0: expect masked
 * frames; bit 1: small caps), byte 1 a chunk size; the rest is the stream.
 * The stream is fed whole and in chunks; both runs must produce the same
 * events and the same verdict. Invariants checked on every event: progress is
 * made, text is valid UTF-8 within max_text, control payloads fit 125 bytes,
 * binary byte counts add up to no more than the input.
 */
#include "core/err.h"
#include "ws/ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A running digest of the events, cheap to compare between two runs. */
struct trace {
    uint64_t h;
    uint64_t binary;
    int verdict;
    uint16_t close;
};

static void mix(struct trace *t, uint64_t v)
{
    t->h = (t->h ^ v) * 0x100000001b3ULL;
}

static void mix_bytes(struct trace *t, struct slice s)
{
    for (size_t i = 0; i < s.len; i++)
        mix(t, (uint8_t)s.ptr[i]);
    mix(t, s.len);
}

static void run(const uint8_t *in, size_t n, size_t chunk, bool masked, uint64_t max_msg,
                size_t max_text, struct trace *t)
{
    struct ws_reader r;
    uint64_t pending_binary = 0;

    memset(t, 0, sizeof(*t));
    t->h = 0xcbf29ce484222325ULL;
    ws_reader_init(&r, masked, max_msg, max_text);
    size_t pos = 0;
    while (pos < n && !t->verdict) {
        size_t end = n - pos > chunk ? pos + chunk : n;
        /* Each chunk lives in its own exact-size block, so over-reads are caught. */
        uint8_t *c = malloc(end - pos);
        memcpy(c, in + pos, end - pos);
        size_t off = 0;
        while (off < end - pos) {
            struct ws_event ev;
            int rc = ws_reader_feed(&r, c + off, end - pos - off, &ev);
            if (rc < 0) {
                if (r.error_close != 1002 && r.error_close != 1007 && r.error_close != 1009)
                    abort();
                if (!r.error_what)
                    abort();
                t->verdict = rc;
                t->close = r.error_close;
                break;
            }
            if ((size_t)rc > end - pos - off || (rc == 0 && ev.type == WS_EV_NONE))
                abort();
            off += (size_t)rc;
            /* NONE and partial BINARY events depend on the chunking; the rest must not. */
            if (ev.type != WS_EV_NONE && ev.type != WS_EV_BINARY)
                mix(t, ev.type);
            switch (ev.type) {
            case WS_EV_NONE:
                break;
            case WS_EV_TEXT:
                if (ev.payload.len > max_text ||
                    !ws_utf8_valid((const uint8_t *)ev.payload.ptr, ev.payload.len))
                    abort();
                mix_bytes(t, ev.payload);
                break;
            case WS_EV_BINARY:
                if (ev.nbytes > (uint64_t)rc)
                    abort();
                pending_binary += ev.nbytes;
                if (pending_binary > max_msg)
                    abort();
                if (ev.message_end) {
                    mix(t, WS_EV_BINARY);
                    mix(t, pending_binary);
                    pending_binary = 0;
                }
                break;
            case WS_EV_PING:
            case WS_EV_PONG:
            case WS_EV_CLOSE:
                if (ev.payload.len > 125)
                    abort();
                mix_bytes(t, ev.payload);
                mix(t, ev.close_code);
                break;
            }
        }
        free(c);
        pos = end;
    }
    ws_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool masked = data[0] & 1;
    uint64_t max_msg = (data[0] & 2) ? 300 : 1 << 24;
    size_t max_text = (data[0] & 2) ? 100 : 1 << 16;
    size_t chunk = data[1] ? data[1] : 1;
    const uint8_t *in = data + 2;
    size_t n = size - 2;

    struct trace whole, pieces, bytes;
    run(in, n, n ? n : 1, masked, max_msg, max_text, &whole);
    run(in, n, chunk, masked, max_msg, max_text, &pieces);
    run(in, n, 1, masked, max_msg, max_text, &bytes);
    if (whole.h != pieces.h || whole.verdict != pieces.verdict || whole.close != pieces.close ||
        whole.h != bytes.h || whole.verdict != bytes.verdict)
        abort();

    /* Masking in two pieces equals masking at once. */
    if (n >= 4) {
        uint8_t *a = malloc(n), *b = malloc(n);
        memcpy(a, in, n);
        memcpy(b, in, n);
        size_t cut = chunk % n;
        ws_mask(a, n, in, 1);
        ws_mask(b, cut, in, 1);
        ws_mask(b + cut, n - cut, in, 1 + cut);
        for (size_t i = 0; i < n; i++) {
            if (a[i] != (uint8_t)(in[i] ^ in[(1 + i) & 3]) || a[i] != b[i])
                abort();
        }
        free(a);
        free(b);
    }
    ws_utf8_valid(in, n);
    return 0;
}
