/*
 * ws_handshake: the RFC 6455 §4 opening handshake, both sides, sans-I/O.
 *
 * SHA-1 and base64 come from OpenSSL libcrypto (already linked for TLS);
 * this file and src/net/tls.c are the only OpenSSL users. See
 * docs/design/ws.md for why we do not carry our own SHA-1.
 */
#include "ws/ws.h"

#include "core/err.h"
#include "core/rand.h"

#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* A Sec-WebSocket-Key must be base64 of exactly 16 bytes: 22 symbols and "==". */
static bool key_valid(struct slice k)
{
    if (k.len != 24 || k.ptr[22] != '=' || k.ptr[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        if (!is_b64(k.ptr[i]))
            return false;
    }
    return true;
}

/* The header named name occurs exactly once and its value is exactly want. */
static bool single_value_is(const struct h1_header *hdrs, size_t n, const char *name,
                            const char *want)
{
    const struct h1_header *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!slice_eq_nocase(hdrs[i].name, name))
            continue;
        if (found)
            return false;
        found = &hdrs[i];
    }
    return found && slice_eq(found->value, want);
}

/* Some header named name carries token in its comma-separated list. */
static bool any_has_token(const struct h1_header *hdrs, size_t n, const char *name,
                          const char *token)
{
    for (size_t i = 0; i < n; i++) {
        if (slice_eq_nocase(hdrs[i].name, name) && slice_has_token(hdrs[i].value, token))
            return true;
    }
    return false;
}

int ws_check_upgrade(const struct h1_request *req, const char *subprotocol, struct slice *key,
                     const char **reason)
{
    const struct h1_header *h = req->headers;
    size_t n = req->nheaders;

    if (!slice_eq(req->method, "GET")) {
        *reason = "WebSocket upgrade must use GET";
        return 405;
    }
    if (req->minor_version != 1) {
        *reason = "WebSocket upgrade requires HTTP/1.1";
        return 400;
    }
    if (!any_has_token(h, n, "Upgrade", "websocket")) {
        *reason = "missing Upgrade: websocket";
        return 426;
    }
    if (!any_has_token(h, n, "Connection", "upgrade")) {
        *reason = "Connection header lacks the upgrade token";
        return 400;
    }
    if (!single_value_is(h, n, "Sec-WebSocket-Version", "13")) {
        *reason = "Sec-WebSocket-Version must be 13";
        return 426;
    }
    if (h1_count_header(req, "Sec-WebSocket-Key") != 1 ||
        !key_valid(h1_find_header(req, "Sec-WebSocket-Key")->value)) {
        *reason = "missing or invalid Sec-WebSocket-Key";
        return 400;
    }
    if (subprotocol && !single_value_is(h, n, "Sec-WebSocket-Protocol", subprotocol)) {
        *reason = "Sec-WebSocket-Protocol missing or not the expected subprotocol";
        return 400;
    }
    *key = h1_find_header(req, "Sec-WebSocket-Key")->value;
    *reason = NULL;
    return 0;
}

void ws_accept_value(struct slice key, char out[29])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, key.ptr, key.len) != 1 ||
        EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20)
        abort(); /* only out-of-memory or a broken libcrypto get here */
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 chars + NUL */
}

/* Roll out back to len when an append fails, so each writer is all-or-nothing. */
static int finish(struct buf *out, size_t saved, int rc)
{
    if (rc < 0)
        out->len = saved;
    return rc;
}

int ws_write_accept(struct buf *out, struct slice key, const char *subprotocol)
{
    char accept[29];
    size_t saved = out->len;

    ws_accept_value(key, accept);
    int rc = buf_appendf(out,
                         "HTTP/1.1 101 Switching Protocols\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n",
                         accept);
    if (rc == 0 && subprotocol)
        rc = buf_appendf(out, "Sec-WebSocket-Protocol: %s\r\n", subprotocol);
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    return finish(out, saved, rc);
}

void ws_client_key(char out[25])
{
    unsigned char raw[16];
    if (rand_fill(raw, sizeof(raw)) != 0) {
        /* getrandom cannot really fail here; the key needs no secrecy anyway. */
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand_u64();
    }
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}

/* True when s is safe inside a header value or request line (no CTLs). */
static bool clean(const char *s, bool allow_space)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
            return false;
    }
    return true;
}

int ws_write_upgrade_request(struct buf *out, const char *host, const char *target,
                             const char *subprotocol, const char *key, const char *user_agent)
{
    if (!clean(host, false) || !clean(target, false) || target[0] != '/' || !clean(key, false) ||
        (subprotocol && !clean(subprotocol, true)) || (user_agent && !clean(user_agent, true)))
        return ERR_PROTO;

    size_t saved = out->len;
    int rc = buf_appendf(out,
                         "GET %s HTTP/1.1\r\n"
                         "Host: %s\r\n"
                         "Upgrade: websocket\r\n"
                         "Connection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n",
                         target, host, key);
    if (rc == 0 && subprotocol)
        rc = buf_appendf(out, "Sec-WebSocket-Protocol: %s\r\n", subprotocol);
    if (rc == 0 && user_agent)
        rc = buf_appendf(out, "User-Agent: %s\r\n", user_agent);
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    return finish(out, saved, rc);
}

int ws_check_accept(const struct h1_response *resp, const char *key, const char *subprotocol,
                    const char **reason)
{
    const struct h1_header *h = resp->headers;
    size_t n = resp->nheaders;
    char want[29];

    if (resp->status != 101) {
        *reason = "server did not switch protocols";
        return ERR_PROTO;
    }
    if (!any_has_token(h, n, "Upgrade", "websocket")) {
        *reason = "response lacks Upgrade: websocket";
        return ERR_PROTO;
    }
    if (!any_has_token(h, n, "Connection", "upgrade")) {
        *reason = "response Connection header lacks upgrade";
        return ERR_PROTO;
    }
    ws_accept_value(slice_cstr(key), want);
    if (!single_value_is(h, n, "Sec-WebSocket-Accept", want)) {
        *reason = "missing or wrong Sec-WebSocket-Accept";
        return ERR_PROTO;
    }
    if (subprotocol ? !single_value_is(h, n, "Sec-WebSocket-Protocol", subprotocol)
                    : h1_find_response_header(resp, "Sec-WebSocket-Protocol") != NULL) {
        *reason = "server did not select our subprotocol";
        return ERR_PROTO;
    }
    if (h1_find_response_header(resp, "Sec-WebSocket-Extensions")) {
        *reason = "server selected an extension we did not offer";
        return ERR_PROTO;
    }
    *reason = NULL;
    return 0;
}
