/*
 * Unit tests for src/http/h1: request and response heads fed at every split
 * point (each prefix copied into an exact-size heap block, so ASan catches
 * any read past the input), a corpus of malformed heads with the expected
 * status and reason, query decoding and the response writer.
 */
#include "harness.h"

#include "core/buf.h"
#include "core/err.h"
#include "http/h1.h"

#include <stdbool.h>

/* Parse a private exact-size copy of data[0..n). */
static int parse_copy(const char *data, size_t n, struct h1_request *req, struct h1_error *err)
{
    char *c = malloc(n ? n : 1);
    memcpy(c, data, n);
    int rc = h1_parse_request(c, n, req, err);
    free(c); /* req's slices dangle now; callers only look at rc and err */
    return rc;
}

/* A printable summary of a parsed request, to compare results across splits. */
static void summarize(const struct h1_request *req, struct buf *out)
{
    buf_appendf(out, "%.*s|%.*s|%.*s|%.*s|1.%d", (int)req->method.len, req->method.ptr,
                (int)req->target.len, req->target.ptr, (int)req->path.len, req->path.ptr,
                (int)req->query.len, req->query.ptr, req->minor_version);
    for (size_t i = 0; i < req->nheaders; i++)
        buf_appendf(out, "|%.*s=%.*s", (int)req->headers[i].name.len, req->headers[i].name.ptr,
                    (int)req->headers[i].value.len, req->headers[i].value.ptr);
}

/*
 * Every proper prefix of a valid head must be ERR_NEED_MORE; the whole input
 * must give the head length and the expected summary. Bytes after the head
 * (a pipelined body) must not change anything.
 */
static void check_valid_request(const char *head, const char *want_summary)
{
    size_t n = strlen(head);
    struct h1_request req;
    struct h1_error err;

    for (size_t k = 0; k < n; k++) {
        int rc = parse_copy(head, k, &req, &err);
        if (rc != ERR_NEED_MORE)
            FAIL_AT("prefix %zu of %zu: rc %d (%s)", k, n, rc, err.reason ? err.reason : "");
    }
    ASSERT_EQ_INT(h1_parse_request(head, n, &req, &err), n);
    struct buf s;
    buf_init(&s, 1 << 16);
    summarize(&req, &s);
    buf_append(&s, "", 1);
    ASSERT_EQ_STR((const char *)buf_head(&s), want_summary);
    buf_free(&s);

    /* Trailing bytes beyond the head are not part of it. */
    char *more = malloc(n + 5);
    memcpy(more, head, n);
    memcpy(more + n, "XXXXX", 5);
    ASSERT_EQ_INT(h1_parse_request(more, n + 5, &req, &err), n);
    free(more);
}

TEST(request_valid_every_split)
{
    check_valid_request("GET /ndt/v7/download?client_name=fathom&early_exit=250 HTTP/1.1\r\n"
                        "Host: ndt.example.org\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Protocol: net.measurementlab.ndt.v7\r\n"
                        "\r\n",
                        "GET|/ndt/v7/download?client_name=fathom&early_exit=250|/ndt/v7/download|"
                        "client_name=fathom&early_exit=250|1.1|Host=ndt.example.org|"
                        "Upgrade=websocket|Connection=Upgrade|"
                        "Sec-WebSocket-Key=dGhlIHNhbXBsZSBub25jZQ==|Sec-WebSocket-Version=13|"
                        "Sec-WebSocket-Protocol=net.measurementlab.ndt.v7");
    /* Bare LF line endings, OWS trimmed, empty value, obs-text kept, HTTP/1.0 without Host. */
    check_valid_request("HEAD /x?%41=b+c HTTP/1.0\n"
                        "X-Empty:\n"
                        "X-Pad: \t padded value \t\n"
                        "X-Latin: caf\xc3\xa9\n"
                        "\n",
                        "HEAD|/x?%41=b+c|/x|%41=b+c|1.0|X-Empty=|X-Pad=padded value|"
                        "X-Latin=caf\xc3\xa9");
    check_valid_request("GET /? HTTP/1.1\r\nhost: h\r\n\r\n", "GET|/?|/||1.1|host=h");
    check_valid_request("OPTIONS /a/b/c.html HTTP/1.1\r\nHost: h:8080\r\nA: 1\nB: 2\r\n\r\n",
                        "OPTIONS|/a/b/c.html|/a/b/c.html||1.1|Host=h:8080|A=1|B=2");
}

TEST(request_lookup)
{
    const char *h = "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    struct h1_request req;
    struct h1_error err;
    ASSERT_EQ_INT(h1_parse_request(h, strlen(h), &req, &err), strlen(h));
    ASSERT_EQ_INT(h1_count_header(&req, "X-A"), 2);
    ASSERT_EQ_INT(h1_count_header(&req, "Nope"), 0);
    ASSERT_TRUE(h1_find_header(&req, "nope") == NULL);
    ASSERT_TRUE(slice_eq(h1_find_header(&req, "X-a")->value, "1"));
}

struct bad_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    int status;
    const char *reason;
};

#define BAD(s, rc, st, why)                                                                        \
    {                                                                                              \
        s, sizeof(s) - 1, rc, st, why                                                              \
    }

static const struct bad_case bad_requests[] = {
    BAD("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", ERR_PROTO, 400, "method is not a token"),
    BAD("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ERR_PROTO, 400, "method is not a token"),
    BAD("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD(" GET / HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET  / HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "request target must start with '/'"),
    BAD("GET http://h/ HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "request target must start with '/'"),
    BAD("GET * HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "request target must start with '/'"),
    BAD("GET /a\x01 HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "invalid character in request target"),
    BAD("GET /a#frag HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "invalid character in request target"),
    BAD("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "invalid character in request target"),
    BAD("GET /a\rb HTTP/1.1\r\n\r\n", ERR_PROTO, 400, "invalid character in request target"),
    BAD("GET / HTTP/1.1 \r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET / HTTX/1.1\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET / HTTP/11\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET / http/1.1\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET /\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET / HTTP/1.1\r\r\n\r\n", ERR_PROTO, 400, "malformed request line"),
    BAD("GET / HTTP/2.0\r\nHost: h\r\n\r\n", ERR_PROTO, 505, "unsupported HTTP version"),
    BAD("GET / HTTP/1.2\r\nHost: h\r\n\r\n", ERR_PROTO, 505, "unsupported HTTP version"),
    BAD("GET / HTTP/0.9\r\n\r\n", ERR_PROTO, 505, "unsupported HTTP version"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", ERR_PROTO, 400,
        "whitespace before colon in header"),
    BAD("GET / HTTP/1.1\r\nHost : h\r\n\r\n", ERR_PROTO, 400, "whitespace before colon in header"),
    BAD("GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", ERR_PROTO, 400, "header name is not a token"),
    BAD("GET / HTTP/1.1\r\nH\xc3\xa9: h\r\n\r\n", ERR_PROTO, 400, "header name is not a token"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", ERR_PROTO, 400, "malformed header line"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", ERR_PROTO, 400, "empty header name"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", ERR_PROTO, 400, "obs-fold not allowed"),
    BAD("GET / HTTP/1.1\r\n\tHost: h\r\n\r\n", ERR_PROTO, 400, "obs-fold not allowed"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", ERR_PROTO, 400,
        "control character in header value"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nX: a\0z\r\n\r\n", ERR_PROTO, 400,
        "control character in header value"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", ERR_PROTO, 400,
        "control character in header value"),
    BAD("GET / HTTP/1.1\r\nHost: h\r\nX: a\rz\r\n\r\n", ERR_PROTO, 400,
        "control character in header value"),
    BAD("GET / HTTP/1.1\r\nX: y\r\n\r\n", ERR_PROTO, 400, "missing Host header"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", ERR_PROTO, 400, "duplicate Host header"),
    BAD("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", ERR_PROTO, 400, "duplicate Host header"),
};

/*
 * Every prefix of a malformed input must give ERR_NEED_MORE or exactly the
 * result of the whole input: the split never changes the verdict.
 */
static void check_bad(const char *in, size_t n, int want_rc, int want_status, const char *why)
{
    struct h1_request req;
    struct h1_error err;

    int rc = parse_copy(in, n, &req, &err);
    if (rc != want_rc || err.status != want_status || !err.reason || strcmp(err.reason, why))
        FAIL_AT("input \"%.40s\": rc %d status %d reason \"%s\", want %d %d \"%s\"", in, rc,
                err.status, err.reason ? err.reason : "(null)", want_rc, want_status, why);
    for (size_t k = 0; k < n; k++) {
        rc = parse_copy(in, k, &req, &err);
        if (rc == ERR_NEED_MORE)
            continue;
        if (rc != want_rc || err.status != want_status || strcmp(err.reason, why))
            FAIL_AT("input \"%.40s\" prefix %zu: rc %d reason \"%s\"", in, k, rc,
                    err.reason ? err.reason : "(null)");
    }
}

TEST(request_malformed_corpus)
{
    for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
        const struct bad_case *c = &bad_requests[i];
        check_bad(c->in, c->len, c->rc, c->status, c->reason);
    }
}

TEST(request_junk_refused_early)
{
    /* A TLS ClientHello on the cleartext port is refused at once, not after 8 KiB. */
    struct h1_request req;
    struct h1_error err;
    ASSERT_EQ_INT(h1_parse_request("\x16\x03", 2, &req, &err), ERR_PROTO);
    ASSERT_EQ_INT(h1_parse_request("GET", 3, &req, &err), ERR_NEED_MORE);
    ASSERT_EQ_INT(h1_parse_request("GET /x HTTP/1.1\r", 16, &req, &err), ERR_NEED_MORE);
    ASSERT_EQ_INT(h1_parse_request("GET /x HTTQ", 11, &req, &err), ERR_PROTO);
    ASSERT_EQ_STR(err.reason, "malformed request line");
}

/* Build "GET /<pad> HTTP/1.1\r\nHost: h\r\n...\r\n" of exactly total bytes. */
static char *head_of_size(size_t total, bool finish)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
    size_t pl = strlen(pre);
    char *s = malloc(total);
    memcpy(s, pre, pl);
    memset(s + pl, 'a', total - pl);
    if (finish)
        memcpy(s + total - 4, "\r\n\r\n", 4);
    return s;
}

TEST(request_head_limit)
{
    struct h1_request req;
    struct h1_error err;

    char *s = head_of_size(H1_MAX_HEAD, true);
    ASSERT_EQ_INT(h1_parse_request(s, H1_MAX_HEAD, &req, &err), H1_MAX_HEAD);
    free(s);

    s = head_of_size(H1_MAX_HEAD + 1, true);
    ASSERT_EQ_INT(h1_parse_request(s, H1_MAX_HEAD + 1, &req, &err), ERR_TOOBIG);
    ASSERT_EQ_INT(err.status, 431);
    ASSERT_EQ_STR(err.reason, "request head too large");
    free(s);

    /* Incomplete but already at the cap: refused without waiting for more. */
    s = head_of_size(H1_MAX_HEAD, false);
    ASSERT_EQ_INT(h1_parse_request(s, H1_MAX_HEAD - 1, &req, &err), ERR_NEED_MORE);
    ASSERT_EQ_INT(h1_parse_request(s, H1_MAX_HEAD, &req, &err), ERR_TOOBIG);
    ASSERT_EQ_INT(err.status, 431);
    free(s);

    /* A request line longer than the cap. */
    s = malloc(H1_MAX_HEAD + 10);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'b', H1_MAX_HEAD + 5);
    ASSERT_EQ_INT(h1_parse_request(s, H1_MAX_HEAD + 10, &req, &err), ERR_TOOBIG);
    ASSERT_EQ_INT(err.status, 431);
    free(s);
}

TEST(request_too_many_headers)
{
    struct buf b;
    struct h1_request req;
    struct h1_error err;

    buf_init(&b, 1 << 16);
    buf_append_str(&b, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 1; i < H1_MAX_HEADERS; i++)
        buf_appendf(&b, "X-%d: %d\r\n", i, i);
    buf_append_str(&b, "\r\n");
    ASSERT_EQ_INT(h1_parse_request((const char *)buf_head(&b), b.len, &req, &err), b.len);
    ASSERT_EQ_INT(req.nheaders, H1_MAX_HEADERS);

    b.len -= 2;
    buf_append_str(&b, "X-Last: 1\r\n\r\n");
    check_bad((const char *)buf_head(&b), b.len, ERR_TOOBIG, 431, "too many headers");
    buf_free(&b);
}

TEST(request_query_limit)
{
    struct h1_request req;
    struct h1_error err;
    struct buf b;

    buf_init(&b, 1 << 16);
    buf_append_str(&b, "GET /ndt/v7/upload?q=");
    for (size_t i = 2; i < H1_MAX_QUERY; i++)
        buf_append(&b, "x", 1);
    buf_append_str(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_EQ_INT(h1_parse_request((const char *)buf_head(&b), b.len, &req, &err), b.len);
    ASSERT_EQ_INT(req.query.len, H1_MAX_QUERY);
    buf_free(&b);

    buf_init(&b, 1 << 16);
    buf_append_str(&b, "GET /ndt/v7/upload?q=");
    for (size_t i = 2; i < H1_MAX_QUERY + 1; i++)
        buf_append(&b, "x", 1);
    buf_append_str(&b, " HTTP/1.1\r\nHost: h\r\n\r\n");
    check_bad((const char *)buf_head(&b), b.len, ERR_TOOBIG, 414, "query string too long");
    buf_free(&b);
}

/* ---- Query decoding ------------------------------------------------------ */

static int query(const char *q, struct h1_param *p, size_t max, char *scratch)
{
    return h1_parse_query(slice_cstr(q), scratch, strlen(q), p, max);
}

TEST(query_decoding)
{
    struct h1_param p[H1_MAX_PARAMS];
    char scratch[H1_MAX_QUERY];

    ASSERT_EQ_INT(query("", p, H1_MAX_PARAMS, scratch), 0);
    ASSERT_EQ_INT(query("a=1&b=%41%2b%2F&c=x+y%20z", p, H1_MAX_PARAMS, scratch), 3);
    ASSERT_TRUE(slice_eq(p[0].name, "a") && slice_eq(p[0].value, "1"));
    ASSERT_TRUE(slice_eq(p[1].name, "b") && slice_eq(p[1].value, "A+/"));
    ASSERT_TRUE(slice_eq(p[2].name, "c") && slice_eq(p[2].value, "x y z"));

    /* Duplicates kept in order; empty values; keys without '='; empty pairs skipped. */
    ASSERT_EQ_INT(query("k=1&&k=2&empty=&bare&&", p, H1_MAX_PARAMS, scratch), 4);
    ASSERT_TRUE(slice_eq(p[0].name, "k") && slice_eq(p[0].value, "1"));
    ASSERT_TRUE(slice_eq(p[1].name, "k") && slice_eq(p[1].value, "2"));
    ASSERT_TRUE(slice_eq(p[2].name, "empty") && p[2].value.len == 0);
    ASSERT_TRUE(slice_eq(p[3].name, "bare") && p[3].value.len == 0);

    /* '=' inside a value and encoded names. */
    ASSERT_EQ_INT(query("client%5Fname=a=b&%C3%A9=%e2%82%ac", p, H1_MAX_PARAMS, scratch), 2);
    ASSERT_TRUE(slice_eq(p[0].name, "client_name") && slice_eq(p[0].value, "a=b"));
    ASSERT_TRUE(slice_eq(p[1].name, "\xc3\xa9") && slice_eq(p[1].value, "\xe2\x82\xac"));

    /* %00 decodes to a NUL byte inside the slice; callers decide what to do with it. */
    ASSERT_EQ_INT(query("n=%00", p, H1_MAX_PARAMS, scratch), 1);
    ASSERT_EQ_INT(p[0].value.len, 1);
    ASSERT_EQ_INT(p[0].value.ptr[0], 0);
}

TEST(query_bad_escapes)
{
    struct h1_param p[H1_MAX_PARAMS];
    char scratch[H1_MAX_QUERY];
    static const char *const bad[] = {"a=%",  "a=%4",    "a=%4g", "a=%%41", "%zz=1",
                                      "a=1%", "a=b&c=%", "a=%-1", "a=%+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (query(bad[i], p, H1_MAX_PARAMS, scratch) != ERR_PROTO)
            FAIL_AT("query \"%s\" not refused", bad[i]);
    }
}

TEST(query_limits)
{
    struct h1_param p[H1_MAX_PARAMS];
    char scratch[H1_MAX_QUERY + 1];
    struct buf b;

    buf_init(&b, 1 << 16);
    for (int i = 0; i < H1_MAX_PARAMS; i++)
        buf_appendf(&b, "%sk%d=v", i ? "&" : "", i);
    struct slice q = slice_make((const char *)buf_head(&b), b.len);
    ASSERT_EQ_INT(h1_parse_query(q, scratch, sizeof(scratch), p, H1_MAX_PARAMS), H1_MAX_PARAMS);
    ASSERT_TRUE(slice_eq(p[H1_MAX_PARAMS - 1].name, "k63"));
    buf_append_str(&b, "&one=more");
    q = slice_make((const char *)buf_head(&b), b.len);
    ASSERT_EQ_INT(h1_parse_query(q, scratch, sizeof(scratch), p, H1_MAX_PARAMS), ERR_TOOBIG);
    /* A smaller max. */
    ASSERT_EQ_INT(query("a=1&b=2&c=3", p, 2, scratch), ERR_TOOBIG);
    ASSERT_EQ_INT(query("a=1&b=2", p, 2, scratch), 2);
    buf_free(&b);

    /* Longer than H1_MAX_QUERY, and a scratch buffer that is too small. */
    char big[H1_MAX_QUERY + 1];
    memset(big, 'a', sizeof(big));
    ASSERT_EQ_INT(
        h1_parse_query(slice_make(big, sizeof(big)), scratch, sizeof(scratch), p, H1_MAX_PARAMS),
        ERR_TOOBIG);
    ASSERT_EQ_INT(h1_parse_query(slice_cstr("a=1"), scratch, 2, p, H1_MAX_PARAMS), ERR_TOOBIG);
}

/* ---- Responses ----------------------------------------------------------- */

TEST(response_parse_every_split)
{
    const char *r = "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "\r\n";
    size_t n = strlen(r);
    struct h1_response resp;

    for (size_t k = 0; k < n; k++) {
        char *c = malloc(k ? k : 1);
        memcpy(c, r, k);
        int rc = h1_parse_response(c, k, &resp);
        free(c);
        if (rc != ERR_NEED_MORE)
            FAIL_AT("prefix %zu: rc %d", k, rc);
    }
    ASSERT_EQ_INT(h1_parse_response(r, n, &resp), n);
    ASSERT_EQ_INT(resp.status, 101);
    ASSERT_EQ_INT(resp.minor_version, 1);
    ASSERT_TRUE(slice_eq(resp.reason, "Switching Protocols"));
    ASSERT_EQ_INT(resp.nheaders, 3);
    ASSERT_TRUE(slice_eq(h1_find_response_header(&resp, "sec-websocket-accept")->value,
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    ASSERT_TRUE(h1_find_response_header(&resp, "Nope") == NULL);

    /* No reason phrase, with or without the final space. */
    ASSERT_EQ_INT(h1_parse_response("HTTP/1.0 200\r\n\r\n", 16, &resp), 16);
    ASSERT_EQ_INT(resp.status, 200);
    ASSERT_EQ_INT(resp.reason.len, 0);
    ASSERT_EQ_INT(h1_parse_response("HTTP/1.1 404 \n\n", 15, &resp), 15);
    ASSERT_EQ_INT(resp.status, 404);
}

TEST(response_malformed)
{
    static const char *const bad[] = {
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/3.0 200 OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA b: c\r\n\r\n",
        "HTTP/1.1 200 OK\r\n x\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
    };
    struct h1_response resp;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (h1_parse_response(bad[i], strlen(bad[i]), &resp) != ERR_PROTO)
            FAIL_AT("response \"%s\" not refused", bad[i]);
    }
    char *s = malloc(H1_MAX_HEAD);
    memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(s + 20, 'a', H1_MAX_HEAD - 20);
    ASSERT_EQ_INT(h1_parse_response(s, H1_MAX_HEAD - 1, &resp), ERR_NEED_MORE);
    ASSERT_EQ_INT(h1_parse_response(s, H1_MAX_HEAD, &resp), ERR_TOOBIG);
    free(s);
}

/* ---- Writer -------------------------------------------------------------- */

static void assert_buf(const struct buf *b, const char *want)
{
    size_t n = strlen(want);
    if (b->len != n || memcmp(buf_head(b), want, n) != 0)
        FAIL_AT("buffer \"%.*s\" != \"%s\"", (int)b->len, (const char *)buf_head(b), want);
}

TEST(response_writer)
{
    struct buf b;
    buf_init(&b, 4096);
    ASSERT_EQ_INT(h1_start_response(&b, 404), 0);
    ASSERT_EQ_INT(h1_add_header(&b, "Content-Length", "0"), 0);
    ASSERT_EQ_INT(h1_end_head(&b), 0);
    assert_buf(&b, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

    /* Header injection is impossible. */
    buf_reset(&b);
    ASSERT_EQ_INT(h1_add_header(&b, "X", "a\r\nSet-Cookie: x"), ERR_PROTO);
    ASSERT_EQ_INT(h1_add_header(&b, "X Y", "a"), ERR_PROTO);
    ASSERT_EQ_INT(h1_add_header(&b, "", "a"), ERR_PROTO);
    ASSERT_EQ_INT(b.len, 0);

    ASSERT_EQ_INT(
        h1_simple_response(&b, 400, "text/plain", "Sec-WebSocket-Version: 13\r\n", "bad\n", 4, 1),
        0);
    assert_buf(&b, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                   "Connection: close\r\nSec-WebSocket-Version: 13\r\n\r\nbad\n");
    buf_reset(&b);
    ASSERT_EQ_INT(h1_simple_response(&b, 204, NULL, NULL, NULL, 0, 0), 0);
    assert_buf(&b, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
    buf_free(&b);

    /* All or nothing when the buffer's ceiling is hit. */
    buf_init(&b, 64);
    ASSERT_EQ_INT(buf_append_str(&b, "prev"), 0);
    ASSERT_EQ_INT(h1_simple_response(&b, 200, "text/html", NULL, "0123456789", 10, 1), ERR_TOOBIG);
    assert_buf(&b, "prev");
    buf_free(&b);

    ASSERT_EQ_STR(h1_status_text(431), "Request Header Fields Too Large");
    ASSERT_EQ_STR(h1_status_text(505), "HTTP Version Not Supported");
    ASSERT_EQ_STR(h1_status_text(799), "Unknown");
}
