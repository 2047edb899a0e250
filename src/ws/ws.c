/*
 * ws: RFC 6455 frame encoding, masking, UTF-8 validation and the incremental
 * frame reader. No I/O, no allocation except the reader's capped text buffer.
 *
 * Reader invariants:
 * - _state is RD_HEADER while collecting a frame header into _hdr, RD_PAYLOAD
 *   while _remaining payload bytes of the current frame are due, RD_CLOSED
 *   after a Close frame and RD_FAILED after an error.
 * - _msg_op is the opcode of the data message in progress (0 if none) and
 *   _msg_len <= max_message is its length so far, counting whole frame
 *   lengths as soon as their headers arrive (so caps fail early).
 * - Binary payload is never copied or unmasked: each feed call reports how
 *   many bytes it skipped, so a large frame costs O(1) per call.
 */
#include "ws/ws.h"

#include "core/err.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

enum { RD_HEADER = 0, RD_PAYLOAD, RD_CLOSED, RD_FAILED };

/* ---- Encoding ------------------------------------------------------------ */

size_t ws_encode_header(uint8_t *out, bool fin, enum ws_opcode op, uint64_t payload_len,
                        const uint8_t *mask)
{
    size_t n = 0;
    uint8_t mbit = mask ? 0x80 : 0;

    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0f));
    if (payload_len <= 125) {
        out[n++] = (uint8_t)(mbit | payload_len);
    } else if (payload_len <= 0xffff) {
        out[n++] = mbit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mbit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(payload_len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset)
{
    size_t phase = offset & 3;

    /* Bytewise until data is 8-byte aligned, then a word at a time. */
    while (n && ((uintptr_t)data & 7)) {
        *data++ ^= mask[phase];
        phase = (phase + 1) & 3;
        n--;
    }
    if (n >= 8) {
        uint8_t kb[8];
        uint64_t k;
        for (size_t i = 0; i < 8; i++)
            kb[i] = mask[(phase + i) & 3];
        memcpy(&k, kb, 8);
        /* 8 is a multiple of 4, so the phase is unchanged after each word. */
        for (; n >= 8; n -= 8, data += 8) {
            uint64_t w;
            memcpy(&w, data, 8);
            w ^= k;
            memcpy(data, &w, 8);
        }
    }
    while (n--) {
        *data++ ^= mask[phase];
        phase = (phase + 1) & 3;
    }
}

static bool is_control(unsigned op)
{
    return op & 0x8;
}

int ws_append_frame(struct buf *out, enum ws_opcode op, const void *payload, size_t len,
                    const uint8_t *mask)
{
    if (is_control(op) && len > 125)
        return ERR_TOOBIG;
    if (len > SIZE_MAX - WS_MAX_HEADER)
        return ERR_TOOBIG;
    uint8_t *t = buf_reserve(out, WS_MAX_HEADER + len);
    if (!t)
        return ERR_TOOBIG;
    size_t h = ws_encode_header(t, true, op, len, mask);
    if (len) {
        memcpy(t + h, payload, len);
        if (mask)
            ws_mask(t + h, len, mask, 0);
    }
    buf_commit(out, h + len);
    return 0;
}

int ws_append_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask)
{
    uint8_t p[125];
    size_t rl = reason ? strlen(reason) : 0;

    if (rl > 123)
        return ERR_TOOBIG;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    if (rl)
        memcpy(p + 2, reason, rl);
    return ws_append_frame(out, WS_OP_CLOSE, p, 2 + rl, mask);
}

/* ---- UTF-8 --------------------------------------------------------------- */

bool ws_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time. */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* > U+10FFFF */
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        }
        i += len;
    }
    return true;
}

/* ---- Reader -------------------------------------------------------------- */

void ws_reader_init(struct ws_reader *r, bool expect_masked, uint64_t max_message, size_t max_text)
{
    memset(r, 0, sizeof(*r));
    r->expect_masked = expect_masked;
    r->max_message = max_message;
    if (max_text > max_message)
        max_text = (size_t)max_message;
    buf_init(&r->_text, max_text);
    r->_state = RD_HEADER;
}

void ws_reader_free(struct ws_reader *r)
{
    buf_free(&r->_text);
}

static int reader_fail(struct ws_reader *r, int code, uint16_t close_code, const char *what)
{
    r->_state = RD_FAILED;
    r->error_close = close_code;
    r->error_what = what;
    return code;
}

/* Close codes a peer may put on the wire (RFC 6455 §7.4, IANA registry). */
static bool close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Header bytes needed given the first _hdr_len bytes seen (2 until byte 1 is known). */
static size_t header_size(const struct ws_reader *r)
{
    if (r->_hdr_len < 2)
        return 2;
    uint8_t l7 = r->_hdr[1] & 0x7f;
    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((r->_hdr[1] & 0x80) ? 4 : 0);
}

/* Validate the two fixed header bytes. */
static int check_fixed(struct ws_reader *r)
{
    uint8_t b0 = r->_hdr[0], b1 = r->_hdr[1];
    unsigned op = b0 & 0x0f;
    bool fin = b0 & 0x80;

    if (b0 & 0x70)
        return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "reserved bits set");
    if ((op >= 0x3 && op <= 0x7) || op >= 0xb)
        return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "unknown opcode");
    if (is_control(op)) {
        if (!fin)
            return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "fragmented control frame");
        if ((b1 & 0x7f) > 125)
            return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "control frame too long");
    } else if (op == WS_OP_CONT) {
        if (!r->_msg_op)
            return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "continuation without a message");
    } else if (r->_msg_op) {
        return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
    }
    if (!(b1 & 0x80) != !r->expect_masked)
        return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL,
                           r->expect_masked ? "unmasked client frame" : "masked server frame");
    return 0;
}

/* The header is complete: decode the length and mask and start the payload. */
static int start_payload(struct ws_reader *r)
{
    const uint8_t *h = r->_hdr;
    uint8_t l7 = h[1] & 0x7f;
    uint64_t plen = l7;
    size_t p = 2;

    if (l7 == 126) {
        plen = (uint64_t)h[2] << 8 | h[3];
        p = 4;
    } else if (l7 == 127) {
        plen = 0;
        for (size_t i = 0; i < 8; i++)
            plen = plen << 8 | h[2 + i];
        p = 10;
        if (plen >> 63)
            return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "64-bit length with MSB set");
    }
    r->_op = h[0] & 0x0f;
    r->_fin = h[0] & 0x80;
    r->_masked = h[1] & 0x80;
    if (r->_masked)
        memcpy(r->_mask, h + p, 4);
    r->_remaining = plen;
    r->_frame_off = 0;
    r->_hdr_len = 0;
    r->_state = RD_PAYLOAD;

    if (is_control(r->_op)) {
        r->_ctl_len = 0;
        return 0;
    }
    if (r->_op != WS_OP_CONT) {
        r->_msg_op = r->_op;
        r->_msg_len = 0;
        if (r->_op == WS_OP_TEXT)
            buf_reset(&r->_text);
    }
    if (plen > r->max_message - r->_msg_len)
        return reader_fail(r, ERR_TOOBIG, WS_CLOSE_TOO_BIG, "message too big");
    r->_msg_len += plen;
    if (r->_msg_op == WS_OP_TEXT && r->_msg_len > r->_text.max)
        return reader_fail(r, ERR_TOOBIG, WS_CLOSE_TOO_BIG, "text message too big");
    return 0;
}

/* The control frame in _ctl is complete: report it. */
static int finish_control(struct ws_reader *r, struct ws_event *ev)
{
    ev->payload = slice_make((const char *)r->_ctl, r->_ctl_len);
    if (r->_op == WS_OP_PING) {
        ev->type = WS_EV_PING;
        return 0;
    }
    if (r->_op == WS_OP_PONG) {
        ev->type = WS_EV_PONG;
        return 0;
    }
    /* Close */
    if (r->_ctl_len == 1)
        return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "close frame with 1-byte payload");
    ev->close_code = WS_CLOSE_NO_STATUS;
    if (r->_ctl_len >= 2) {
        unsigned code = (unsigned)r->_ctl[0] << 8 | r->_ctl[1];
        if (!close_code_valid(code))
            return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "invalid close code");
        if (!ws_utf8_valid(r->_ctl + 2, r->_ctl_len - 2))
            return reader_fail(r, ERR_UTF8, WS_CLOSE_INVALID_DATA, "close reason is not UTF-8");
        ev->close_code = (uint16_t)code;
        ev->payload = slice_make((const char *)r->_ctl + 2, r->_ctl_len - 2);
    }
    ev->type = WS_EV_CLOSE;
    r->_state = RD_CLOSED;
    return 0;
}

/*
 * Consume up to avail payload bytes of the current frame. Returns 0 (an event
 * may have been stored in ev) or a negative error.
 */
static int take_payload(struct ws_reader *r, const uint8_t *in, size_t avail, struct ws_event *ev)
{
    bool last = (r->_remaining -= avail) == 0;

    if (is_control(r->_op)) {
        memcpy(r->_ctl + r->_ctl_len, in, avail);
        if (r->_masked)
            ws_mask(r->_ctl + r->_ctl_len, avail, r->_mask, (size_t)r->_frame_off);
        r->_ctl_len += avail;
        r->_frame_off += avail;
        if (!last)
            return 0;
        r->_state = RD_HEADER;
        return finish_control(r, ev);
    }

    bool msg_end = last && r->_fin;
    if (r->_msg_op == WS_OP_BINARY) {
        /* Skip: never copied, never unmasked. */
        if (avail || msg_end) {
            ev->type = WS_EV_BINARY;
            ev->nbytes = avail;
            ev->message_end = msg_end;
        }
    } else {
        uint8_t *t = avail ? buf_reserve(&r->_text, avail) : NULL;
        if (avail && !t)
            return reader_fail(r, ERR_TOOBIG, WS_CLOSE_TOO_BIG, "text message too big");
        if (avail) {
            memcpy(t, in, avail);
            if (r->_masked)
                ws_mask(t, avail, r->_mask, (size_t)r->_frame_off);
            buf_commit(&r->_text, avail);
        }
        r->_frame_off += avail;
        if (msg_end) {
            /* An empty first message has no storage yet: NULL + 0 is UB. */
            const uint8_t *text = r->_text.data ? buf_head(&r->_text) : (const uint8_t *)"";
            if (!ws_utf8_valid(text, r->_text.len))
                return reader_fail(r, ERR_UTF8, WS_CLOSE_INVALID_DATA, "text is not UTF-8");
            ev->type = WS_EV_TEXT;
            ev->payload = slice_make((const char *)text, r->_text.len);
            ev->message_end = true;
        }
    }
    if (last) {
        r->_state = RD_HEADER;
        if (r->_fin)
            r->_msg_op = 0;
    }
    return 0;
}

int ws_reader_feed(struct ws_reader *r, const uint8_t *in, size_t len, struct ws_event *ev)
{
    size_t used = 0;

    memset(ev, 0, sizeof(*ev));
    if (len > INT_MAX)
        len = INT_MAX; /* the return value is an int; the caller feeds the rest */
    if (r->_state == RD_FAILED) {
        return r->error_close == WS_CLOSE_TOO_BIG        ? ERR_TOOBIG
               : r->error_close == WS_CLOSE_INVALID_DATA ? ERR_UTF8
                                                         : ERR_PROTO;
    }
    /* Stop after one event so its payload stays valid for the caller. */
    while (ev->type == WS_EV_NONE) {
        if (r->_state == RD_CLOSED) {
            if (used < len)
                return reader_fail(r, ERR_PROTO, WS_CLOSE_PROTOCOL, "data after close frame");
            break;
        }
        if (r->_state == RD_HEADER) {
            size_t need = header_size(r);
            while (r->_hdr_len < need && used < len) {
                r->_hdr[r->_hdr_len++] = in[used++];
                if (r->_hdr_len == 2) {
                    int rc = check_fixed(r);
                    if (rc < 0)
                        return rc;
                    need = header_size(r);
                }
            }
            if (r->_hdr_len < need)
                break;
            int rc = start_payload(r);
            if (rc < 0)
                return rc;
        }
        uint64_t avail = len - used;
        if (avail > r->_remaining)
            avail = r->_remaining;
        int rc = take_payload(r, in + used, (size_t)avail, ev);
        if (rc < 0)
            return rc;
        used += (size_t)avail;
        if (used == len)
            break;
    }
    return (int)used;
}

uint64_t ws_reader_skippable(const struct ws_reader *r)
{
    if (r->_state != RD_PAYLOAD || is_control(r->_op) || r->_msg_op != WS_OP_BINARY)
        return 0;
    return r->_remaining;
}

void ws_reader_skip(struct ws_reader *r, uint64_t n, struct ws_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    assert(n > 0 && n <= ws_reader_skippable(r));
    /* Binary payload is only counted, so no bytes are needed to account for it. */
    take_payload(r, NULL, (size_t)n, ev);
}
