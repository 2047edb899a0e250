/*
 * h1: HTTP/1.1 request parsing and response writing, sans-I/O.
 *
 * The parser never allocates and never does I/O. Parsed fields are slices
 * into the caller's input buffer, valid as long as that buffer is unchanged.
 * Limits: the request head (request line + headers + final CRLF) is at most
 * H1_MAX_HEAD bytes, at most H1_MAX_HEADERS headers, the query string at most
 * H1_MAX_QUERY bytes.
 */
#ifndef FATHOM_HTTP_H1_H
#define FATHOM_HTTP_H1_H

#include "core/buf.h"
#include "core/slice.h"

#include <stddef.h>

#define H1_MAX_HEAD 8192
#define H1_MAX_HEADERS 64
#define H1_MAX_QUERY 4096
#define H1_MAX_PARAMS 64

struct h1_header {
    struct slice name;
    struct slice value;
};

struct h1_request {
    struct slice method;
    struct slice target; /* as sent: path plus optional "?query" */
    struct slice path;   /* target up to '?', not decoded */
    struct slice query;  /* after '?', not decoded; empty if none */
    int minor_version;   /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    struct h1_header headers[H1_MAX_HEADERS];
    size_t nheaders;
};

/*
 * Why a request was refused: set by h1_parse_request on failure so the caller
 * can answer with the right status and a readable reason.
 */
struct h1_error {
    int status;         /* 400, 414 or 431 (505 for an unsupported version) */
    const char *reason; /* static string, e.g. "malformed header line" */
};

/*
 * Parse a request head from data[0..len).
 * Returns the number of bytes of the head (including the final CRLFCRLF) on
 * success, ERR_NEED_MORE when the head is incomplete (and still within
 * H1_MAX_HEAD), or ERR_PROTO / ERR_TOOBIG with *err filled in. Strict: CRLF line
 * endings (a bare LF is accepted too, per RFC 9112 §2.2), token method,
 * origin-form target starting with '/', HTTP/1.0 or HTTP/1.1, header names
 * are tokens, no obs-fold, no NUL or control characters, and (RFC 9112 §3.2)
 * exactly one Host header in HTTP/1.1, at most one in HTTP/1.0.
 * Stateless: call again from the start with more bytes after ERR_NEED_MORE.
 * An error already visible in an incomplete request line (e.g. a TLS
 * ClientHello on a cleartext port) is reported at once; in general a prefix
 * of an input gives ERR_NEED_MORE or the same result as the whole input.
 * err->reason is a static string. Bodies are not parsed: bytes after the head
 * are the caller's. req is caller-owned; its slices point into data.
 */
int h1_parse_request(const char *data, size_t len, struct h1_request *req, struct h1_error *err);

/* First header with this name (case-insensitive), or NULL. */
const struct h1_header *h1_find_header(const struct h1_request *req, const char *name);
/* Number of headers with this name. */
size_t h1_count_header(const struct h1_request *req, const char *name);

/*
 * A decoded query parameter. Decoding needs storage: h1_parse_query writes the
 * decoded bytes of names and values into the caller's scratch buffer (of at
 * least query.len bytes) and points the slices there.
 */
struct h1_param {
    struct slice name;
    struct slice value;
};

/*
 * Split and percent-decode an application/x-www-form-urlencoded query ('+' is a
 * space). Duplicates are kept in order (callers keep the first); a key with no
 * '=' has an empty value; empty pairs ("a=1&&b=2") are skipped.
 * Returns the number of params (<= max), or ERR_PROTO for a bad %-escape,
 * ERR_TOOBIG when there are more than max params, query.len > H1_MAX_QUERY or
 * scratch_len < query.len. Decoded bytes are not checked for UTF-8 or NUL:
 * callers that store them as text must (ws_utf8_valid).
 */
int h1_parse_query(struct slice query, char *scratch, size_t scratch_len, struct h1_param *params,
                   size_t max);

/*
 * Response writer: appends "HTTP/1.1 <status> <reason>\r\n" to out.
 * Then add headers with h1_add_header and finish with h1_end_head (appends
 * "\r\n"). Each returns 0 or ERR_TOOBIG; also ERR_PROTO for a status outside
 * 100..999, a header name that is not a token or a value with a control
 * character (so nothing can inject a header line).
 */
int h1_start_response(struct buf *out, int status);
int h1_add_header(struct buf *out, const char *name, const char *value);
int h1_end_head(struct buf *out);
/* Standard reason phrase ("Not Found"); "Unknown" for unknown codes. */
const char *h1_status_text(int status);

/*
 * A complete simple response: status line, Content-Type (if non-NULL),
 * Content-Length, Connection: close when close_conn, any extra raw header lines
 * (each ending in \r\n; may be NULL), blank line, then body. All or nothing:
 * on failure out is left as it was. Returns 0 or ERR_TOOBIG.
 */
int h1_simple_response(struct buf *out, int status, const char *content_type, const char *extra,
                       const void *body, size_t body_len, int close_conn);

/*
 * Client side (used by fathom test): parse a response head from data[0..len).
 * Returns head length, ERR_NEED_MORE, or ERR_PROTO/ERR_TOOBIG. headers/nheaders
 * as in h1_request; status in *status.
 */
struct h1_response {
    int status;
    int minor_version;
    struct slice reason;
    struct h1_header headers[H1_MAX_HEADERS];
    size_t nheaders;
};
int h1_parse_response(const char *data, size_t len, struct h1_response *resp);
const struct h1_header *h1_find_response_header(const struct h1_response *resp, const char *name);

#endif
