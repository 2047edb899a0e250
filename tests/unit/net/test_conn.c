/*
 * Unit tests for src/net/conn and src/net/tls over loopback TCP: handshakes driven by poll,
 * large writev transfers checked byte for byte, verification failures, ALPN, EOF and EPIPE.
 */
#include "harness.h"

#include "core/err.h"
#include "core/rand.h"
#include "net/conn.h"
#include "net/sock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Only for a raw client with unusual ALPN; src/ itself keeps OpenSSL inside net/tls.c. */
#include <openssl/ssl.h>

struct certs {
    char dir[64], cert[96], key[96];
};

static void certs_make(struct certs *c)
{
    snprintf(c->dir, sizeof(c->dir), "/tmp/fathom-conn-XXXXXX");
    ASSERT_TRUE(mkdtemp(c->dir) != NULL);
    snprintf(c->cert, sizeof(c->cert), "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof(c->key), "%s/key.pem", c->dir);
    struct errbuf eb = {""};
    int r = tls_make_selfsigned(c->cert, c->key, &eb);
    if (r != 0)
        FAIL_AT("tls_make_selfsigned: %s", eb.msg);
}

static void certs_remove(struct certs *c)
{
    unlink(c->cert);
    unlink(c->key);
    rmdir(c->dir);
}

/* A connected TCP pair on 127.0.0.1: *cfd client side, *sfd server side. */
static void tcp_pair(int *cfd, int *sfd)
{
    struct errbuf eb = {""};
    int lfd = sock_listen("127.0.0.1:0", false, 4, &eb);
    ASSERT_TRUE(lfd >= 0);
    char ip[SOCK_HOSTSTRLEN];
    int port;
    ASSERT_EQ_INT(sock_local_ip(lfd, ip, sizeof(ip), &port), 0);
    *cfd = sock_connect(ip, (uint16_t)port, 0, &eb);
    ASSERT_TRUE(*cfd >= 0);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    ASSERT_EQ_INT(poll(&p, 1, 5000), 1);
    *sfd = sock_accept(lfd);
    ASSERT_TRUE(*sfd >= 0);
    close(lfd);
    p = (struct pollfd){.fd = *cfd, .events = POLLOUT};
    ASSERT_EQ_INT(poll(&p, 1, 5000), 1);
    ASSERT_EQ_INT(sock_connect_result(*cfd), 0);
}

static short poll_events(unsigned wants)
{
    short e = 0;
    if (wants & CONN_WANT_READ)
        e |= POLLIN;
    if (wants & CONN_WANT_WRITE)
        e |= POLLOUT;
    return e;
}

/* Run both handshakes until both finish or one fails; results in *cr and *sr. */
static void handshake_pair(struct conn *c, struct conn *s, int *cr, int *sr)
{
    *cr = *sr = ERR_AGAIN;
    for (int i = 0; i < 1000; i++) {
        if (*cr == ERR_AGAIN)
            *cr = conn_handshake(c);
        if (*sr == ERR_AGAIN)
            *sr = conn_handshake(s);
        if ((*cr != ERR_AGAIN && *cr != 0) || (*sr != ERR_AGAIN && *sr != 0))
            return;
        if (*cr == 0 && *sr == 0)
            return;
        struct pollfd p[2] = {
            {.fd = conn_fd(c), .events = *cr == ERR_AGAIN ? poll_events(conn_wants(c)) : 0},
            {.fd = conn_fd(s), .events = *sr == ERR_AGAIN ? poll_events(conn_wants(s)) : 0},
        };
        ASSERT_TRUE(poll(p, 2, 5000) > 0);
    }
    FAIL_AT("handshake did not finish");
}

struct tls_pair {
    struct certs certs;
    struct tls_ctx *sctx, *cctx;
    struct conn *c, *s;
};

static void tls_pair_open(struct tls_pair *tp, const char *ca, bool verify, const char *host)
{
    certs_make(&tp->certs);
    struct errbuf eb = {""};
    tp->sctx = tls_ctx_server_new(tp->certs.cert, tp->certs.key, &eb);
    if (!tp->sctx)
        FAIL_AT("server ctx: %s", eb.msg);
    tp->cctx = tls_ctx_client_new(ca && !*ca ? tp->certs.cert : ca, verify, &eb);
    if (!tp->cctx)
        FAIL_AT("client ctx: %s", eb.msg);
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    tp->c = conn_tls_new(tp->cctx, cfd, false, host);
    tp->s = conn_tls_new(tp->sctx, sfd, true, NULL);
    ASSERT_TRUE(tp->c && tp->s);
    ASSERT_TRUE(conn_is_tls(tp->c));
}

static void tls_pair_close(struct tls_pair *tp)
{
    conn_close(tp->c);
    conn_close(tp->s);
    tls_ctx_free(tp->cctx);
    tls_ctx_free(tp->sctx);
    certs_remove(&tp->certs);
}

/*
 * The stream: NFRAMES frames of a 2-byte header (0x82, frame number) plus the same 1 MiB
 * payload block, as the ndt7 download sends them. Written with writev from iovs pointing at
 * the headers and the shared block, read back in odd-sized pieces and compared.
 */
#define NFRAMES 8
#define BLOCK (1u << 20)
#define FRAME (2 + BLOCK)

struct stream {
    unsigned char hdr[NFRAMES][2];
    unsigned char *block;
    unsigned char *expected;
    size_t total;
};

static void stream_init(struct stream *st)
{
    st->block = malloc(BLOCK);
    ASSERT_EQ_INT(rand_fill(st->block, BLOCK), 0);
    st->total = (size_t)NFRAMES * FRAME;
    st->expected = malloc(st->total);
    for (int f = 0; f < NFRAMES; f++) {
        st->hdr[f][0] = 0x82;
        st->hdr[f][1] = (unsigned char)f;
        memcpy(st->expected + (size_t)f * FRAME, st->hdr[f], 2);
        memcpy(st->expected + (size_t)f * FRAME + 2, st->block, BLOCK);
    }
}

static void stream_free(struct stream *st)
{
    free(st->block);
    free(st->expected);
}

/* iovs for the rest of the frame at pos plus the whole next frame. Returns iovcnt. */
static int stream_iov(struct stream *st, size_t pos, struct iovec *iov)
{
    int n = 0;
    size_t f = pos / FRAME, off = pos % FRAME;
    for (int k = 0; k < 2 && f < NFRAMES; k++, f++, off = 0) {
        if (off < 2) {
            iov[n++] = (struct iovec){st->hdr[f] + off, 2 - off};
            iov[n++] = (struct iovec){st->block, BLOCK};
        } else {
            iov[n++] = (struct iovec){st->block + (off - 2), BLOCK - (off - 2)};
        }
    }
    return n;
}

static void transfer(struct conn *w, struct conn *r, struct stream *st, int *again_count)
{
    size_t wpos = 0, rpos = 0;
    unsigned char *buf = malloc(70000);
    size_t chunk = 1;
    bool w_again = false, r_again = false;
    while (rpos < st->total) {
        bool progress = false;
        if (wpos < st->total) {
            struct iovec iov[4];
            int cnt = stream_iov(st, wpos, iov);
            ssize_t n = conn_writev(w, iov, cnt);
            if (n > 0) {
                wpos += (size_t)n;
                progress = true;
                w_again = false;
            } else if (n == ERR_AGAIN) {
                w_again = true;
                (*again_count)++;
            } else {
                FAIL_AT("writev: %s (%s)", err_name((int)n), conn_error(w));
            }
        }
        chunk = chunk * 7 % 65521 + 1; /* odd sizes, up to 64 KiB */
        ssize_t n = conn_read(r, buf, chunk);
        if (n > 0) {
            ASSERT_TRUE(rpos + (size_t)n <= wpos);
            if (memcmp(buf, st->expected + rpos, (size_t)n) != 0)
                FAIL_AT("stream differs near byte %zu", rpos);
            rpos += (size_t)n;
            progress = true;
            r_again = false;
        } else if (n == ERR_AGAIN) {
            r_again = true;
        } else {
            FAIL_AT("read: %s (%s)", err_name((int)n), conn_error(r));
        }
        if (!progress && w_again && r_again && !conn_pending(r)) {
            struct pollfd p[2] = {
                {.fd = conn_fd(w), .events = wpos < st->total ? poll_events(conn_wants(w)) : 0},
                {.fd = conn_fd(r), .events = poll_events(conn_wants(r))},
            };
            ASSERT_TRUE(poll(p, 2, 5000) > 0);
        }
    }
    ASSERT_EQ_U64(wpos, st->total);
    free(buf);
}

static void small_buffers(int fd)
{
    int sz = 16384;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Read until ERR_EOF (or another error), polling as asked. Returns the final code. */
static int read_to_end(struct conn *r)
{
    char buf[4096];
    for (int i = 0; i < 10000; i++) {
        ssize_t n = conn_read(r, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n != ERR_AGAIN)
            return (int)n;
        struct pollfd p = {.fd = conn_fd(r), .events = poll_events(conn_wants(r))};
        ASSERT_TRUE(poll(&p, 1, 5000) > 0);
    }
    return 0;
}

TEST(plain_roundtrip_large_writev)
{
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    small_buffers(cfd);
    small_buffers(sfd);
    struct conn *c = conn_plain_new(cfd), *s = conn_plain_new(sfd);
    ASSERT_TRUE(!conn_is_tls(c));
    ASSERT_EQ_INT(conn_handshake(c), 0);
    ASSERT_EQ_STR(conn_tls_version(c), "");
    ASSERT_EQ_STR(conn_tls_alpn(c), "");
    ASSERT_EQ_INT(conn_fd(c), cfd);
    ASSERT_TRUE(!conn_pending(s));
    struct stream st;
    stream_init(&st);
    int agains = 0;
    transfer(s, c, &st, &agains);
    ASSERT_TRUE(agains > 0); /* the retry path was exercised */
    conn_shutdown(s);
    ASSERT_EQ_INT(read_to_end(c), ERR_EOF);
    stream_free(&st);
    conn_close(c);
    conn_close(s);
}

TEST(plain_write_to_closed_peer_is_epipe_not_sigpipe)
{
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    struct conn *s = conn_plain_new(sfd);
    close(cfd);
    char data[65536] = {0};
    struct iovec iov = {data, sizeof(data)};
    ssize_t n = 0;
    for (int i = 0; i < 1000 && n >= 0; i++) {
        n = conn_writev(s, &iov, 1);
        if (n == ERR_AGAIN)
            n = 0;
    }
    ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
    conn_close(s);
}

TEST(tls_make_selfsigned_files)
{
    struct certs c;
    certs_make(&c);
    struct stat sb;
    ASSERT_EQ_INT(stat(c.key, &sb), 0);
    ASSERT_EQ_INT(sb.st_mode & 0777, 0600);
    ASSERT_EQ_INT(stat(c.cert, &sb), 0);
    ASSERT_TRUE(sb.st_size > 100);
    FILE *f = fopen(c.cert, "r");
    char line[64] = "";
    ASSERT_TRUE(f && fgets(line, sizeof(line), f));
    fclose(f);
    ASSERT_TRUE(strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0);
    /* a mismatched key is refused with a reason */
    struct certs other;
    certs_make(&other);
    struct errbuf eb = {""};
    ASSERT_TRUE(tls_ctx_server_new(c.cert, other.key, &eb) == NULL);
    ASSERT_TRUE(eb.msg[0] != '\0');
    ASSERT_TRUE(tls_ctx_server_new("/nonexistent/cert.pem", c.key, &eb) == NULL);
    ASSERT_TRUE(strstr(eb.msg, "/nonexistent/cert.pem") != NULL);
    certs_remove(&other);
    certs_remove(&c);
}

TEST(tls_handshake_alpn_and_roundtrip)
{
    struct tls_pair tp;
    tls_pair_open(&tp, "", true, "localhost");
    small_buffers(conn_fd(tp.c));
    small_buffers(conn_fd(tp.s));
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    if (cr != 0 || sr != 0)
        FAIL_AT("handshake: client %s (%s), server %s (%s)", err_name(cr), conn_error(tp.c),
                err_name(sr), conn_error(tp.s));
    ASSERT_EQ_STR(conn_tls_alpn(tp.c), "http/1.1");
    ASSERT_EQ_STR(conn_tls_alpn(tp.s), "http/1.1");
    ASSERT_EQ_STR(conn_tls_version(tp.s), "TLSv1.3");
    ASSERT_EQ_STR(conn_tls_cipher(tp.s), "TLS_AES_128_GCM_SHA256");
    ASSERT_EQ_STR(conn_error(tp.s), "");

    /* download direction: server writes 8 MiB as frames, client reads */
    struct stream st;
    stream_init(&st);
    int agains = 0;
    transfer(tp.s, tp.c, &st, &agains);
    ASSERT_TRUE(agains > 0);
    /* upload direction too */
    transfer(tp.c, tp.s, &st, &agains);
    stream_free(&st);

    /* close_notify gives the reader an orderly ERR_EOF */
    conn_shutdown(tp.s);
    ASSERT_EQ_INT(read_to_end(tp.c), ERR_EOF);
    tls_pair_close(&tp);
}

TEST(tls_many_small_iovs_coalesced)
{
    struct tls_pair tp;
    tls_pair_open(&tp, NULL, false, "localhost");
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    ASSERT_TRUE(cr == 0 && sr == 0);
    /* 300 frames of a 2-byte header and a 10..309-byte text payload in one writev */
    enum { N = 300 };
    static unsigned char hdrs[N][2], bodies[N][320];
    static unsigned char expected[N * 322];
    struct iovec iov[2 * N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t len = 10 + (size_t)i;
        hdrs[i][0] = 0x81;
        hdrs[i][1] = (unsigned char)i;
        memset(bodies[i], 'a' + i % 26, len);
        iov[2 * i] = (struct iovec){hdrs[i], 2};
        iov[2 * i + 1] = (struct iovec){bodies[i], len};
        memcpy(expected + total, hdrs[i], 2);
        memcpy(expected + total + 2, bodies[i], len);
        total += 2 + len;
    }
    size_t wpos = 0;
    int first = 0;
    while (wpos < total) {
        /* skip what was written: rebuild the iov from wpos */
        struct iovec rest[2 * N];
        int cnt = 0;
        size_t skip = wpos;
        for (int i = first; i < 2 * N; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            rest[cnt++] =
                (struct iovec){(unsigned char *)iov[i].iov_base + skip, iov[i].iov_len - skip};
            skip = 0;
        }
        ssize_t n = conn_writev(tp.s, rest, cnt);
        if (n == ERR_AGAIN) {
            struct pollfd p = {.fd = conn_fd(tp.s), .events = poll_events(conn_wants(tp.s))};
            poll(&p, 1, 1000);
            continue;
        }
        ASSERT_TRUE(n > 0);
        wpos += (size_t)n;
    }
    unsigned char *got = malloc(total);
    size_t rpos = 0;
    while (rpos < total) {
        ssize_t n = conn_read(tp.c, got + rpos, total - rpos);
        if (n == ERR_AGAIN) {
            struct pollfd p = {.fd = conn_fd(tp.c), .events = poll_events(conn_wants(tp.c))};
            ASSERT_TRUE(poll(&p, 1, 5000) > 0);
            continue;
        }
        ASSERT_TRUE(n > 0);
        rpos += (size_t)n;
    }
    ASSERT_EQ_MEM(got, expected, total);
    free(got);
    tls_pair_close(&tp);
}

TEST(tls_verify_untrusted_fails_with_reason)
{
    struct tls_pair tp;
    tls_pair_open(&tp, NULL, true, "localhost"); /* system trust store: our cert is unknown */
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    ASSERT_EQ_INT(cr, ERR_TLS);
    const char *why = conn_error(tp.c);
    if (!strstr(why, "certificate verify failed") || !strstr(why, "self-signed"))
        FAIL_AT("reason: \"%s\"", why);
    printf("# %s\n", why);
    tls_pair_close(&tp);
}

TEST(tls_verify_wrong_host_fails_with_reason)
{
    struct tls_pair tp;
    tls_pair_open(&tp, "", true, "example.com");
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    ASSERT_EQ_INT(cr, ERR_TLS);
    if (!strstr(conn_error(tp.c), "mismatch"))
        FAIL_AT("reason: \"%s\"", conn_error(tp.c));
    printf("# %s\n", conn_error(tp.c));
    tls_pair_close(&tp);
}

TEST(tls_verify_ip_literal)
{
    struct tls_pair tp;
    tls_pair_open(&tp, "", true, "127.0.0.1"); /* SAN IP:127.0.0.1 */
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    if (cr != 0 || sr != 0)
        FAIL_AT("client %s (%s)", err_name(cr), conn_error(tp.c));
    tls_pair_close(&tp);

    tls_pair_open(&tp, "", true, "10.1.2.3");
    handshake_pair(tp.c, tp.s, &cr, &sr);
    ASSERT_EQ_INT(cr, ERR_TLS);
    if (!strstr(conn_error(tp.c), "IP address mismatch"))
        FAIL_AT("reason: \"%s\"", conn_error(tp.c));
    tls_pair_close(&tp);
}

TEST(tls_peer_gone_is_eof_or_errno_not_sigpipe)
{
    struct tls_pair tp;
    tls_pair_open(&tp, "", true, "localhost");
    int cr, sr;
    handshake_pair(tp.c, tp.s, &cr, &sr);
    ASSERT_TRUE(cr == 0 && sr == 0);
    /* abrupt close of the client (SSL_free sends no close_notify) */
    conn_close(tp.c);
    tp.c = NULL;
    /* RST instead of FIN when the client left unread bytes (session tickets) behind */
    int r = read_to_end(tp.s);
    ASSERT_TRUE(r == ERR_EOF || r == -ECONNRESET);
    static char data[65536];
    struct iovec iov[2] = {{data, 2}, {data, sizeof(data)}};
    ssize_t n = 0;
    for (int i = 0; i < 1000 && (n >= 0 || n == ERR_AGAIN); i++)
        n = conn_writev(tp.s, iov, 2);
    ASSERT_TRUE(n == -EPIPE || n == -ECONNRESET);
    tls_pair_close(&tp);
}

TEST(tls_handshake_with_plain_peer_fails)
{
    struct certs certs;
    certs_make(&certs);
    struct errbuf eb;
    struct tls_ctx *sctx = tls_ctx_server_new(certs.cert, certs.key, &eb);
    ASSERT_TRUE(sctx);
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    struct conn *s = conn_tls_new(sctx, sfd, true, NULL);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ_INT(write(cfd, junk, sizeof(junk) - 1), (int)sizeof(junk) - 1);
    int r = ERR_AGAIN;
    for (int i = 0; i < 100 && r == ERR_AGAIN; i++) {
        r = conn_handshake(s);
        if (r == ERR_AGAIN) {
            struct pollfd p = {.fd = sfd, .events = poll_events(conn_wants(s))};
            poll(&p, 1, 1000);
        }
    }
    ASSERT_EQ_INT(r, ERR_TLS);
    ASSERT_TRUE(strstr(conn_error(s), "handshake: ") != NULL);
    conn_close(s);
    close(cfd);
    tls_ctx_free(sctx);
    certs_remove(&certs);
}

/*
 * A client offering ALPN without http/1.1 (here only "h2") still gets a connection, without
 * ALPN. The client is raw OpenSSL, since our own client context always offers http/1.1.
 */
TEST(tls_alpn_without_http11_proceeds_without_alpn)
{
    struct certs certs;
    certs_make(&certs);
    struct errbuf eb;
    struct tls_ctx *sctx = tls_ctx_server_new(certs.cert, certs.key, &eb);
    ASSERT_TRUE(sctx);
    int cfd, sfd;
    tcp_pair(&cfd, &sfd);
    struct conn *s = conn_tls_new(sctx, sfd, true, NULL);
    SSL_CTX *raw = SSL_CTX_new(TLS_client_method());
    static const unsigned char h2[] = "\x02h2";
    ASSERT_EQ_INT(SSL_CTX_set_alpn_protos(raw, h2, sizeof(h2) - 1), 0);
    SSL *ssl = SSL_new(raw);
    SSL_set_fd(ssl, cfd);
    SSL_set_connect_state(ssl);
    int cr = 0, sr = ERR_AGAIN;
    for (int i = 0; i < 1000 && (cr != 1 || sr != 0); i++) {
        if (cr != 1) {
            cr = SSL_do_handshake(ssl);
            int e = cr == 1 ? 0 : SSL_get_error(ssl, cr);
            ASSERT_TRUE(cr == 1 || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        }
        if (sr == ERR_AGAIN)
            sr = conn_handshake(s);
        ASSERT_TRUE(sr == 0 || sr == ERR_AGAIN);
        if (sr == ERR_AGAIN) {
            struct pollfd p[2] = {{.fd = sfd, .events = poll_events(conn_wants(s))},
                                  {.fd = cfd, .events = POLLIN}};
            poll(p, 2, 100);
        }
    }
    ASSERT_EQ_INT(cr, 1);
    ASSERT_EQ_INT(sr, 0);
    ASSERT_EQ_STR(conn_tls_alpn(s), "");
    const unsigned char *sel = NULL;
    unsigned sel_len = 1;
    SSL_get0_alpn_selected(ssl, &sel, &sel_len);
    ASSERT_EQ_INT(sel_len, 0);
    SSL_free(ssl);
    SSL_CTX_free(raw);
    close(cfd);
    conn_close(s);
    tls_ctx_free(sctx);
    certs_remove(&certs);
}
