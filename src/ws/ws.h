/*
 * ws: RFC 6455 WebSocket handshake and frame codec, sans-I/O.
 *
 * Nothing here does I/O or knows about sockets. The handshake helpers check
 * an already-parsed HTTP request (http/h1.h) or response and write answers into
 * a caller's buf. The reader turns a byte stream into events; binary payload
 * is only counted, never copied or unmasked (the ndt7 hot path discards it).
 */
#ifndef FATHOM_WS_WS_H
#define FATHOM_WS_WS_H

#include "core/buf.h"
#include "core/slice.h"
#include "http/h1.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close status codes used by Fathom. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* never sent; reported when a Close has no code */
    WS_CLOSE_ABNORMAL = 1006,  /* never sent; reported for EOF without Close */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

#define WS_MAX_HEADER 14 /* 2 + 8 length + 4 mask */

/* ---- Handshake ---------------------------------------------------------- */

/*
 * Server side: check that req is a valid WebSocket upgrade (GET, HTTP/1.1,
 * Upgrade: websocket, Connection containing "upgrade", Sec-WebSocket-Version 13,
 * a Sec-WebSocket-Key that is base64 of 16 bytes) whose Sec-WebSocket-Protocol
 * header value is exactly `subprotocol` (the whole value, not a list member).
 * Returns 0 and sets *key (slice into req's input), or an HTTP status (400, 405,
 * 426) with *reason set to a static explanation: 405 for a method other than
 * GET (answer with Allow: GET), 426 when Upgrade lacks websocket or the
 * version is not 13 (answer with Sec-WebSocket-Version: 13), 400 otherwise.
 * Origin is not checked; offered extensions are ignored. subprotocol NULL:
 * Sec-WebSocket-Protocol is not checked.
 */
int ws_check_upgrade(const struct h1_request *req, const char *subprotocol, struct slice *key,
                     const char **reason);

/*
 * Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)). out gets 28 chars + NUL.
 * Uses OpenSSL libcrypto; aborts only if libcrypto cannot allocate.
 */
void ws_accept_value(struct slice key, char out[29]);

/*
 * Append the 101 Switching Protocols response: Upgrade, Connection,
 * Sec-WebSocket-Accept, Sec-WebSocket-Protocol: subprotocol. Extensions are
 * never accepted (no Sec-WebSocket-Extensions header). subprotocol NULL: no
 * Sec-WebSocket-Protocol header. All or nothing. Returns 0 or ERR_TOOBIG.
 */
int ws_write_accept(struct buf *out, struct slice key, const char *subprotocol);

/* Client side: a fresh random Sec-WebSocket-Key (base64 of 16 random bytes). */
void ws_client_key(char out[25]);

/*
 * Client side: append the upgrade request for target (path plus query) on
 * host (as for the Host header, with :port when not the default), with
 * Sec-WebSocket-Protocol: subprotocol and User-Agent (each omitted when NULL).
 * All or nothing. Returns 0, ERR_TOOBIG, or ERR_PROTO when host, target or
 * key contain spaces or control characters, target does not start with '/',
 * or subprotocol/user_agent contain control characters.
 */
int ws_write_upgrade_request(struct buf *out, const char *host, const char *target,
                             const char *subprotocol, const char *key, const char *user_agent);

/*
 * Client side: check a parsed response to our upgrade: status 101, Upgrade
 * websocket, Connection upgrade, Sec-WebSocket-Accept matching key,
 * Sec-WebSocket-Protocol exactly subprotocol (absent when subprotocol is
 * NULL), no extensions.
 * Returns 0 or ERR_PROTO with *reason set (static string; NULL on success).
 */
int ws_check_accept(const struct h1_response *resp, const char *key, const char *subprotocol,
                    const char **reason);

/* ---- Frames ------------------------------------------------------------- */

/*
 * Encode a frame header into out (at most WS_MAX_HEADER bytes); returns its
 * length. mask is NULL for server frames, or the 4-byte key for client frames
 * (the payload must then be sent already masked with that key).
 */
size_t ws_encode_header(uint8_t *out, bool fin, enum ws_opcode op, uint64_t payload_len,
                        const uint8_t *mask);

/* XOR data with mask, starting at offset into the 4-byte key cycle. */
void ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset);

/*
 * Append a whole frame (header + payload, masked when mask != NULL) to out.
 * For text, control and close frames; not meant for bulk binary.
 * Returns 0 or ERR_TOOBIG (also for a control payload over 125 bytes).
 */
int ws_append_frame(struct buf *out, enum ws_opcode op, const void *payload, size_t len,
                    const uint8_t *mask);

/* Append a Close frame with code and reason (reason <= 123 bytes, else ERR_TOOBIG). */
int ws_append_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask);

/* True when data[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool ws_utf8_valid(const uint8_t *data, size_t n);

/* ---- Reader ------------------------------------------------------------- */

enum ws_event_type {
    WS_EV_NONE = 0, /* bytes consumed, nothing complete yet */
    WS_EV_TEXT,     /* a whole text message: payload (unmasked, valid UTF-8) */
    WS_EV_BINARY,   /* nbytes of binary payload were skipped; message_end on the last */
    WS_EV_PING,     /* payload: ping data (<= 125 bytes) */
    WS_EV_PONG,     /* payload: pong data */
    WS_EV_CLOSE,    /* close_code (1005 if none) and payload = reason */
};

struct ws_event {
    enum ws_event_type type;
    struct slice payload; /* valid until the next ws_reader_feed call */
    uint64_t nbytes;
    bool message_end;
    uint16_t close_code;
};

/*
 * Reader state, caller-embedded. Set the public fields via ws_reader_init.
 * Fields starting with _ are private.
 */
struct ws_reader {
    bool expect_masked;     /* server: peers must mask; client: they must not */
    uint64_t max_message;   /* cap on a whole message (text or binary), e.g. 1<<24 */
    uint16_t error_close;   /* after an error: the close code to send (1002/1007/1009) */
    const char *error_what; /* after an error: static reason */
    /* private */
    int _state;
    uint8_t _hdr[WS_MAX_HEADER];
    size_t _hdr_len;
    uint8_t _op;     /* opcode of the current frame */
    uint8_t _msg_op; /* opcode of the message in progress (text/binary), 0 if none */
    bool _fin;
    bool _masked;
    uint8_t _mask[4];
    uint64_t _remaining; /* payload bytes left in the current frame */
    uint64_t _frame_off; /* payload offset in the current frame (mask phase) */
    uint64_t _msg_len;   /* bytes of the message in progress so far */
    struct buf _text;    /* text message being assembled (capped) */
    uint8_t _ctl[125];   /* control frame payload */
    size_t _ctl_len;
};

/* Initialise; max_text caps text messages (<= max_message). Allocates lazily. */
void ws_reader_init(struct ws_reader *r, bool expect_masked, uint64_t max_message, size_t max_text);
/* Free the reader's storage. */
void ws_reader_free(struct ws_reader *r);

/*
 * Feed bytes. Consumes a prefix of in[0..len) and may report one event in
 * *ev. Returns the number of bytes consumed (0 <= n <= len; call again with
 * the rest until everything is consumed), or a negative error with
 * r->error_close and r->error_what set: ERR_PROTO (bad framing, unmasked
 * client frame, reserved bits or opcode, fragmented or oversized control
 * frame, continuation without a message, 64-bit length with the MSB set,
 * close payload of 1 byte or with a code invalid on the wire, any byte after
 * a Close frame), ERR_TOOBIG (message over max_message or text over
 * max_text: 1009; checked when a frame header arrives), ERR_UTF8 (text
 * message or close reason not valid UTF-8: 1007; text is validated once
 * whole). At most one event per call; len above INT_MAX is consumed in
 * several calls. After an error the reader must not be fed again (further
 * calls repeat the error).
 */
int ws_reader_feed(struct ws_reader *r, const uint8_t *in, size_t len, struct ws_event *ev);

/*
 * Binary payload bytes of the current frame that the caller may drop without
 * reading them (e.g. with conn_skip); 0 when the reader is not inside binary
 * payload.
 */
uint64_t ws_reader_skippable(const struct ws_reader *r);
/*
 * Account for n (0 < n <= ws_reader_skippable) payload bytes dropped by the
 * caller, exactly as if they had been fed: *ev is a WS_EV_BINARY event.
 */
void ws_reader_skip(struct ws_reader *r, uint64_t n, struct ws_event *ev);

#endif
