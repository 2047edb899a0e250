/*
 * h1: a strict, bounded, allocation-free HTTP/1.1 head parser and a small
 * response writer. No I/O.
 *
 * The parser is stateless: each call re-parses data[0..len) from the start, so
 * the caller simply retries with more bytes after ERR_NEED_MORE (the head is at
 * most H1_MAX_HEAD bytes, so the re-scan is cheap). Only the first H1_MAX_HEAD
 * bytes are ever looked at. Errors are reported in input order: a prefix of an
 * input yields either ERR_NEED_MORE or the same result as the whole input, so
 * how the bytes are split across reads never changes the outcome.
 *
 * Invariant: every slice stored in a request/response points into data.
 */
#include "http/h1.h"

#include "core/err.h"

#include <stdbool.h>
#include <string.h>

#define REASON_TOO_LARGE "request head too large"

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field-value octets: VCHAR, SP, HTAB and obs-text. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Request-target octets we accept in origin-form: visible ASCII except '#'
 * (a fragment is never sent) and characters RFC 3986 forbids unencoded.
 */
static bool is_target_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return false;
    return strchr("#\"<>\\^`{|}", c) == NULL;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int fail(struct h1_error *err, int code, int status, const char *reason)
{
    err->status = status;
    err->reason = reason;
    return code;
}

/*
 * Find the line starting at pos within data[0..end). On success stores the
 * line without its terminator (LF or CRLF) and the offset just past it.
 */
static bool next_line(const char *data, size_t pos, size_t end, struct slice *line, size_t *next)
{
    const char *lf = memchr(data + pos, '\n', end - pos);
    if (!lf)
        return false;
    size_t n = (size_t)(lf - (data + pos));
    if (n && data[pos + n - 1] == '\r')
        n--;
    *line = slice_make(data + pos, n);
    *next = (size_t)(lf - data) + 1;
    return true;
}

/* The head did not end within the window: too big once the window is full. */
static int incomplete(size_t len, struct h1_error *err, const char *reason)
{
    if (len >= H1_MAX_HEAD)
        return fail(err, ERR_TOOBIG, 431, reason);
    return ERR_NEED_MORE;
}

/*
 * Parse "HTTP/1.x" into *minor. Returns 0, ERR_PROTO for anything that is not
 * HTTP-version syntax, or 1 for a well-formed but unsupported version.
 */
static int parse_version(struct slice v, int *minor)
{
    if (v.len != 8 || memcmp(v.ptr, "HTTP/", 5) != 0 || !is_digit(v.ptr[5]) || v.ptr[6] != '.' ||
        !is_digit(v.ptr[7]))
        return ERR_PROTO;
    if (v.ptr[5] != '1' || (v.ptr[7] != '0' && v.ptr[7] != '1'))
        return 1;
    *minor = v.ptr[7] - '0';
    return 0;
}

/* True when the available bytes p[0..n) may still begin an "HTTP/d.d" token. */
static bool version_prefix_ok(const char *p, size_t n)
{
    static const char pat[] = "HTTP/d.d";
    if (n > 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == 'd' ? !is_digit(p[i]) : p[i] != pat[i])
            return false;
    }
    return true;
}

/*
 * Parse a request line p[0..n). When complete is false the line is only a
 * prefix (its terminator has not arrived): errors that are already certain
 * are reported, otherwise ERR_NEED_MORE, so junk is refused without waiting
 * for H1_MAX_HEAD bytes.
 */
static int parse_request_line(const char *p, size_t n, bool complete, struct h1_request *req,
                              struct h1_error *err)
{
    static const char *const bad = "malformed request line";
    size_t i = 0;

    if (!complete && n && p[n - 1] == '\r')
        n--; /* may be the first half of CRLF */
    while (i < n && p[i] != ' ') {
        if (!is_tchar((unsigned char)p[i]))
            return fail(err, ERR_PROTO, 400, "method is not a token");
        i++;
    }
    if (i == n)
        return complete ? fail(err, ERR_PROTO, 400, bad) : ERR_NEED_MORE;
    if (i == 0)
        return fail(err, ERR_PROTO, 400, bad);
    req->method = slice_make(p, i);
    i++;

    size_t t0 = i;
    size_t q0 = 0; /* offset of the query, 0 if no '?' yet */
    if (i < n && p[i] != '/')
        return fail(err, ERR_PROTO, 400, "request target must start with '/'");
    while (i < n && p[i] != ' ') {
        if (!is_target_char((unsigned char)p[i]))
            return fail(err, ERR_PROTO, 400, "invalid character in request target");
        if (p[i] == '?' && !q0)
            q0 = i + 1;
        i++;
        if (q0 && i - q0 > H1_MAX_QUERY)
            return fail(err, ERR_TOOBIG, 414, "query string too long");
    }
    if (i == n)
        return complete ? fail(err, ERR_PROTO, 400, bad) : ERR_NEED_MORE;
    if (i == t0)
        return fail(err, ERR_PROTO, 400, bad);
    req->target = slice_make(p + t0, i - t0);
    if (q0) {
        req->path = slice_make(p + t0, q0 - 1 - t0);
        req->query = slice_make(p + q0, i - q0);
    } else {
        req->path = req->target;
        req->query = slice_make(p + i, 0);
    }
    i++;

    struct slice ver = slice_make(p + i, n - i);
    if (!complete)
        return version_prefix_ok(ver.ptr, ver.len) ? ERR_NEED_MORE : fail(err, ERR_PROTO, 400, bad);
    int rc = parse_version(ver, &req->minor_version);
    if (rc < 0)
        return fail(err, ERR_PROTO, 400, bad);
    if (rc > 0)
        return fail(err, ERR_PROTO, 505, "unsupported HTTP version");
    return 0;
}

/* Parse one "name: value" line into h. */
static int parse_header_line(struct slice line, struct h1_header *h, struct h1_error *err)
{
    size_t i = 0;
    while (i < line.len && line.ptr[i] != ':') {
        unsigned char c = (unsigned char)line.ptr[i];
        if (c == ' ' || c == '\t')
            return fail(err, ERR_PROTO, 400, "whitespace before colon in header");
        if (!is_tchar(c))
            return fail(err, ERR_PROTO, 400, "header name is not a token");
        i++;
    }
    if (i == line.len)
        return fail(err, ERR_PROTO, 400, "malformed header line");
    if (i == 0)
        return fail(err, ERR_PROTO, 400, "empty header name");
    h->name = slice_make(line.ptr, i);
    for (size_t j = i + 1; j < line.len; j++) {
        if (!is_value_char((unsigned char)line.ptr[j]))
            return fail(err, ERR_PROTO, 400, "control character in header value");
    }
    h->value = slice_trim(slice_make(line.ptr + i + 1, line.len - i - 1));
    return 0;
}

/*
 * Parse header lines from pos up to and including the empty line, within
 * data[0..win). Returns the head length, ERR_NEED_MORE or an error.
 */
static int parse_fields(const char *data, size_t pos, size_t win, size_t len,
                        struct h1_header *hdrs, size_t *nh, struct h1_error *err)
{
    struct slice line;
    size_t next;

    *nh = 0;
    while (next_line(data, pos, win, &line, &next)) {
        if (line.len == 0)
            return (int)next;
        if (line.ptr[0] == ' ' || line.ptr[0] == '\t')
            return fail(err, ERR_PROTO, 400, "obs-fold not allowed");
        if (*nh == H1_MAX_HEADERS)
            return fail(err, ERR_TOOBIG, 431, "too many headers");
        int rc = parse_header_line(line, &hdrs[*nh], err);
        if (rc < 0)
            return rc;
        (*nh)++;
        pos = next;
    }
    return incomplete(len, err, REASON_TOO_LARGE);
}

static size_t count_header(const struct h1_header *hdrs, size_t n, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += slice_eq_nocase(hdrs[i].name, name);
    return c;
}

static const struct h1_header *find_header(const struct h1_header *hdrs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (slice_eq_nocase(hdrs[i].name, name))
            return &hdrs[i];
    }
    return NULL;
}

int h1_parse_request(const char *data, size_t len, struct h1_request *req, struct h1_error *err)
{
    size_t win = len < H1_MAX_HEAD ? len : H1_MAX_HEAD;
    struct slice line;
    size_t pos;

    req->method = req->target = req->path = req->query = slice_make(data, 0);
    req->minor_version = 0;
    req->nheaders = 0;
    err->status = 0;
    err->reason = NULL;

    if (!next_line(data, 0, win, &line, &pos)) {
        int rc = parse_request_line(data, win, false, req, err);
        return rc == ERR_NEED_MORE ? incomplete(len, err, REASON_TOO_LARGE) : rc;
    }
    int rc = parse_request_line(line.ptr, line.len, true, req, err);
    if (rc < 0)
        return rc;
    int head = parse_fields(data, pos, win, len, req->headers, &req->nheaders, err);
    if (head < 0)
        return head;

    /* RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0. */
    size_t hosts = count_header(req->headers, req->nheaders, "Host");
    if (hosts > 1)
        return fail(err, ERR_PROTO, 400, "duplicate Host header");
    if (hosts == 0 && req->minor_version == 1)
        return fail(err, ERR_PROTO, 400, "missing Host header");
    return head;
}

const struct h1_header *h1_find_header(const struct h1_request *req, const char *name)
{
    return find_header(req->headers, req->nheaders, name);
}

size_t h1_count_header(const struct h1_request *req, const char *name)
{
    return count_header(req->headers, req->nheaders, name);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode p[0..n) into out ('+' is a space). Returns bytes written or ERR_PROTO. */
static int url_decode(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return ERR_PROTO;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    return (int)o;
}

int h1_parse_query(struct slice query, char *scratch, size_t scratch_len, struct h1_param *params,
                   size_t max)
{
    if (query.len > H1_MAX_QUERY || scratch_len < query.len)
        return ERR_TOOBIG;
    size_t n = 0, out = 0, i = 0;
    while (i < query.len) {
        const char *amp = memchr(query.ptr + i, '&', query.len - i);
        size_t end = amp ? (size_t)(amp - query.ptr) : query.len;
        if (end > i) {
            if (n == max)
                return ERR_TOOBIG;
            const char *eq = memchr(query.ptr + i, '=', end - i);
            size_t name_end = eq ? (size_t)(eq - query.ptr) : end;
            int nl = url_decode(query.ptr + i, name_end - i, scratch + out);
            if (nl < 0)
                return nl;
            params[n].name = slice_make(scratch + out, (size_t)nl);
            out += (size_t)nl;
            int vl = 0;
            if (eq) {
                vl = url_decode(eq + 1, end - name_end - 1, scratch + out);
                if (vl < 0)
                    return vl;
            }
            params[n].value = slice_make(scratch + out, (size_t)vl);
            out += (size_t)vl;
            n++;
        }
        i = end + 1;
    }
    return (int)n;
}

/* ---- Response parsing (client side) ---------------------------------- */

int h1_parse_response(const char *data, size_t len, struct h1_response *resp)
{
    size_t win = len < H1_MAX_HEAD ? len : H1_MAX_HEAD;
    struct h1_error err;
    struct slice line;
    size_t pos;

    resp->status = 0;
    resp->minor_version = 0;
    resp->reason = slice_make(data, 0);
    resp->nheaders = 0;
    if (!next_line(data, 0, win, &line, &pos))
        return incomplete(len, &err, "response head too large");

    /* status-line = HTTP-version SP 3DIGIT SP [reason]; a missing final SP is tolerated. */
    if (line.len < 12 || line.ptr[8] != ' ' || !is_digit(line.ptr[9]) || !is_digit(line.ptr[10]) ||
        !is_digit(line.ptr[11]) || line.ptr[9] == '0')
        return ERR_PROTO;
    if (parse_version(slice_make(line.ptr, 8), &resp->minor_version) != 0)
        return ERR_PROTO;
    resp->status = (line.ptr[9] - '0') * 100 + (line.ptr[10] - '0') * 10 + (line.ptr[11] - '0');
    if (line.len > 12) {
        if (line.ptr[12] != ' ')
            return ERR_PROTO;
        for (size_t i = 13; i < line.len; i++) {
            if (!is_value_char((unsigned char)line.ptr[i]))
                return ERR_PROTO;
        }
        resp->reason = slice_make(line.ptr + 13, line.len - 13);
    }
    return parse_fields(data, pos, win, len, resp->headers, &resp->nheaders, &err);
}

const struct h1_header *h1_find_response_header(const struct h1_response *resp, const char *name)
{
    return find_header(resp->headers, resp->nheaders, name);
}

/* ---- Response writing -------------------------------------------------- */

const char *h1_status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

int h1_start_response(struct buf *out, int status)
{
    if (status < 100 || status > 999)
        return ERR_PROTO;
    return buf_appendf(out, "HTTP/1.1 %d %s\r\n", status, h1_status_text(status));
}

int h1_add_header(struct buf *out, const char *name, const char *value)
{
    if (!*name)
        return ERR_PROTO;
    for (const char *p = name; *p; p++) {
        if (!is_tchar((unsigned char)*p))
            return ERR_PROTO;
    }
    for (const char *p = value; *p; p++) {
        if (!is_value_char((unsigned char)*p))
            return ERR_PROTO; /* no CR/LF: a header can never be injected */
    }
    return buf_appendf(out, "%s: %s\r\n", name, value);
}

int h1_end_head(struct buf *out)
{
    return buf_append(out, "\r\n", 2);
}

int h1_simple_response(struct buf *out, int status, const char *content_type, const char *extra,
                       const void *body, size_t body_len, int close_conn)
{
    size_t saved = out->len;
    int rc = h1_start_response(out, status);
    if (rc == 0 && content_type)
        rc = h1_add_header(out, "Content-Type", content_type);
    if (rc == 0)
        rc = buf_appendf(out, "Content-Length: %zu\r\n", body_len);
    if (rc == 0 && close_conn)
        rc = h1_add_header(out, "Connection", "close");
    if (rc == 0 && extra)
        rc = buf_append_str(out, extra);
    if (rc == 0)
        rc = h1_end_head(out);
    if (rc == 0)
        rc = buf_append(out, body, body_len);
    if (rc < 0)
        out->len = saved; /* all or nothing */
    return rc;
}
