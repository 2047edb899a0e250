/*
 * fuzz_h1: the HTTP/1.1 head parsers, the query decoder and the WebSocket
 * upgrade checks. Besides "no crash, no over-read", it checks invariants:
 * parsed slices lie inside the input, a head never exceeds H1_MAX_HEAD, and
 * a prefix of the input gives ERR_NEED_MORE or the same verdict as the
 * whole input (so how bytes are split across reads cannot matter).
 */
#include "core/err.h"
#include "http/h1.h"
#include "ws/ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(struct slice s, const char *base, size_t len)
{
    if (s.len && (s.ptr < base || s.ptr + s.len > base + len))
        abort();
}

static void check_prefix(const char *in, size_t k, int full_rc, const struct h1_error *full_err)
{
    struct h1_request req;
    struct h1_error err;
    char *c = malloc(k ? k : 1);
    memcpy(c, in, k);
    int rc = h1_parse_request(c, k, &req, &err);
    free(c);
    if (rc == ERR_NEED_MORE)
        return;
    if (full_rc >= 0 || rc != full_rc || err.status != full_err->status ||
        strcmp(err.reason, full_err->reason) != 0)
        abort();
}

static void fuzz_request(const char *in, size_t size)
{
    static struct h1_request req;
    struct h1_error err;
    int rc = h1_parse_request(in, size, &req, &err);

    if (rc >= 0) {
        if ((size_t)rc > size || rc > H1_MAX_HEAD || req.nheaders > H1_MAX_HEADERS)
            abort();
        check_inside(req.method, in, (size_t)rc);
        check_inside(req.target, in, (size_t)rc);
        check_inside(req.query, in, (size_t)rc);
        if (req.query.len > H1_MAX_QUERY)
            abort();
        for (size_t i = 0; i < req.nheaders; i++) {
            check_inside(req.headers[i].name, in, (size_t)rc);
            check_inside(req.headers[i].value, in, (size_t)rc);
        }
        char scratch[H1_MAX_QUERY];
        struct h1_param params[H1_MAX_PARAMS];
        int np = h1_parse_query(req.query, scratch, sizeof(scratch), params, H1_MAX_PARAMS);
        if (np > H1_MAX_PARAMS)
            abort();
        for (int i = 0; i < np; i++) {
            check_inside(params[i].name, scratch, sizeof(scratch));
            check_inside(params[i].value, scratch, sizeof(scratch));
        }
        struct slice key;
        const char *reason = NULL;
        int st = ws_check_upgrade(&req, "net.measurementlab.ndt.v7", &key, &reason);
        if (st == 0) {
            struct buf out;
            buf_init(&out, 4096);
            if (key.len != 24 || ws_write_accept(&out, key, "net.measurementlab.ndt.v7") != 0)
                abort();
            buf_free(&out);
        } else if (!reason || (st != 400 && st != 405 && st != 426)) {
            abort();
        }
        if (rc > 0)
            check_prefix(in, (size_t)rc - 1, ERR_NEED_MORE, &err);
    } else if (rc == ERR_NEED_MORE) {
        if (size >= H1_MAX_HEAD)
            abort();
    } else {
        if (!err.reason ||
            (err.status != 400 && err.status != 414 && err.status != 431 && err.status != 505))
            abort();
        if ((rc == ERR_TOOBIG) != (err.status == 414 || err.status == 431))
            abort();
        struct h1_error saved = err;
        if (size)
            check_prefix(in, size - 1, rc, &saved);
        check_prefix(in, size / 2, rc, &saved);
    }
}

static void fuzz_response(const char *in, size_t size)
{
    static struct h1_response resp;
    int rc = h1_parse_response(in, size, &resp);
    if (rc >= 0) {
        if ((size_t)rc > size || resp.status < 100 || resp.status > 999)
            abort();
        const char *reason;
        ws_check_accept(&resp, "dGhlIHNhbXBsZSBub25jZQ==", "net.measurementlab.ndt.v7", &reason);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    fuzz_request(in, size);
    fuzz_response(in, size);

    /* The raw input as a query string, too. */
    char scratch[H1_MAX_QUERY];
    struct h1_param params[8];
    if (size <= H1_MAX_QUERY)
        h1_parse_query(slice_make(in, size), scratch, sizeof(scratch), params, 8);
    return 0;
}
