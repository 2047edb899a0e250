/*
 * tls: the TLS transport of conn, TLS contexts and throw-away certificates. The only file of
 * Fathom that includes OpenSSL.
 *
 * Invariants:
 *  - Every OpenSSL call on a connection is preceded by ERR_clear_error(): the error queue is
 *    per thread, and a stale entry would turn the next SSL_get_error into a false failure.
 *  - The socket is driven through our own BIO, whose writes use send(MSG_NOSIGNAL): a peer
 *    that resets the connection yields -EPIPE, never SIGPIPE (no process-wide SIG_IGN needed).
 *  - SSL_MODE_ENABLE_PARTIAL_WRITE: an SSL_write returns after each record, so the byte count
 *    returned to the caller is exact. SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a retried write may
 *    come from a different address, as long as it starts with the same bytes and is no shorter.
 *  - writev coalescing: a small first iov (a WebSocket frame header) is copied together with
 *    the start of the following iovs into stage[] (one record); the rest is encrypted straight
 *    from the caller's memory. When a staged write returns WANT_*, stage[] is kept unchanged
 *    (stage_pending) and the retry, which by contract starts at the same stream position,
 *    writes it again. See docs/design/conn-tls.md.
 */
#include "net/conn_int.h"

#include "core/rand.h"
#include "core/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* A first iov up to this size is coalesced with what follows (WebSocket headers: 2-14). */
#define TLS_COALESCE_MAX 64
/* One TLS record of plaintext. */
#define TLS_STAGE_SIZE 16384

#define TLS_READ_BUFFER (128 * 1024)

static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
/* ALPN wire format: length-prefixed names. */
static const unsigned char alpn_http11[] = "\x08http/1.1";

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    bool server;
    bool verify;
};

struct tls_conn {
    struct conn base; /* first: struct conn * <-> struct tls_conn * */
    SSL *ssl;
    bool fatal;         /* SSL_ERROR_SSL/SYSCALL seen: no close_notify, no more I/O */
    int write_err;      /* error met after partial progress, reported by the next writev */
    bool stage_pending; /* stage[0..stage_len) must be written again before anything else */
    size_t stage_len;
    char alpn[32];
    unsigned char stage[TLS_STAGE_SIZE];
};

static struct tls_conn *tls_of(struct conn *c)
{
    return (struct tls_conn *)c;
}

static const struct tls_conn *tls_of_const(const struct conn *c)
{
    return (const struct tls_conn *)c;
}

/* ---- errors ---- */

/* Format the OpenSSL error queue (and the verify result) into eb; clears the queue. */
static int tls_fail(struct errbuf *eb, SSL *ssl, const char *what)
{
    char detail[160] = "";
    unsigned long e = ERR_peek_error();
    if (e) {
        const char *reason = ERR_reason_error_string(e);
        if (reason)
            snprintf(detail, sizeof(detail), "%s", reason);
        else
            ERR_error_string_n(e, detail, sizeof(detail));
    }
    ERR_clear_error();
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        return errbuf_set(eb, ERR_TLS, "%s: %s (%s)", what, detail[0] ? detail : "failed",
                          X509_verify_cert_error_string(vr));
    return errbuf_set(eb, ERR_TLS, "%s: %s", what, detail[0] ? detail : "failed");
}

/* Map the result r of an SSL_* call to ERR_AGAIN (+wants), ERR_EOF, -errno or ERR_TLS. */
static int tls_map(struct tls_conn *tc, int r, const char *what)
{
    int saved_errno = errno;
    int e = SSL_get_error(tc->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        tc->base.wants = CONN_WANT_READ;
        return ERR_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        tc->base.wants = CONN_WANT_WRITE;
        return ERR_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return ERR_EOF;
    case SSL_ERROR_SYSCALL:
        tc->fatal = true;
        if (ERR_peek_error())
            return tls_fail(&tc->base.err, tc->ssl, what);
        if (saved_errno == 0)
            return ERR_EOF; /* peer closed without close_notify */
        return errbuf_set(&tc->base.err, -saved_errno, "%s: %s", what, strerror(saved_errno));
    case SSL_ERROR_SSL:
        tc->fatal = true;
        if (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
            ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            errbuf_set(&tc->base.err, ERR_EOF, "%s: peer closed without close_notify", what);
            return ERR_EOF;
        }
        return tls_fail(&tc->base.err, tc->ssl, what);
    default:
        tc->fatal = true;
        return tls_fail(&tc->base.err, tc->ssl, what);
    }
}

/* ---- a socket BIO that never raises SIGPIPE ---- */

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_sock_write(BIO *b, const char *in, int n)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t r = send(bio_fd(b), in, (size_t)n, MSG_NOSIGNAL);
        if (r >= 0)
            return (int)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
}

static int bio_sock_read(BIO *b, char *out, int n)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t r = recv(bio_fd(b), out, (size_t)n, 0);
        if (r > 0)
            return (int)r;
        if (r == 0) {
            BIO_set_flags(b, BIO_FLAGS_IN_EOF);
            errno = 0;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
}

static long bio_sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
        if (ptr)
            *(int *)ptr = bio_fd(b);
        return bio_fd(b);
    default:
        return 0;
    }
}

static int bio_sock_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method;

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "fathom socket");
    if (!m)
        return;
    BIO_meth_set_write(m, bio_sock_write);
    BIO_meth_set_read(m, bio_sock_read);
    BIO_meth_set_ctrl(m, bio_sock_ctrl);
    BIO_meth_set_create(m, bio_sock_create);
    bio_method = m;
}

static BIO *bio_sock_new(int fd)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, bio_method_init);
    if (!bio_method)
        return NULL;
    BIO *b = BIO_new(bio_method);
    if (b)
        BIO_set_data(b, (void *)(intptr_t)fd);
    return b;
}

/* ---- contexts ---- */

/*
 * Server-side ALPN: pick "http/1.1" when offered. A client offering only other protocols gets
 * no ALPN at all (NOACK) rather than a fatal no_application_protocol alert: ndt7 clients that
 * offer h2 first still fall back to HTTP/1.1 over the same connection.
 */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned i = 0; i < inlen;) {
        unsigned n = in[i];
        if (i + 1 + n > inlen)
            break;
        if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *ctx_common(const SSL_METHOD *method, struct errbuf *eb)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx) {
        tls_fail(eb, NULL, "SSL_CTX_new");
        return NULL;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, tls13_suites) ||
        !SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) {
        tls_fail(eb, NULL, "TLS settings");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /*
     * Read ahead into a 128 KiB buffer: one recv(2) brings in several 16 KiB records instead
     * of two recv(2) calls (header, body) per record. Bytes read ahead are invisible to epoll,
     * so conn_pending() asks SSL_has_pending(), not SSL_pending().
     */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
    return ctx;
}

struct tls_ctx *tls_ctx_server_new(const char *cert_file, const char *key_file, struct errbuf *eb)
{
    SSL_CTX *ctx = ctx_common(TLS_server_method(), eb);
    if (!ctx)
        return NULL;
    /* Our order (AES-128-GCM first), except that a client preferring ChaCha20 (no AES
     * hardware) gets it. */
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        char what[300];
        snprintf(what, sizeof(what), "certificate %s", cert_file);
        tls_fail(eb, NULL, what);
        goto out_free_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        char what[300];
        snprintf(what, sizeof(what), "private key %s", key_file);
        tls_fail(eb, NULL, what);
        goto out_free_ctx;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_fail(eb, NULL, "key does not match certificate");
        goto out_free_ctx;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

    struct tls_ctx *t = xcalloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    t->server = true;
    return t;

out_free_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls_ctx *tls_ctx_client_new(const char *ca_file, bool verify, struct errbuf *eb)
{
    SSL_CTX *ctx = ctx_common(TLS_client_method(), eb);
    if (!ctx)
        return NULL;
    if (verify) {
        int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            char what[300];
            snprintf(what, sizeof(what), "trust store %s", ca_file ? ca_file : "(system)");
            tls_fail(eb, NULL, what);
            goto out_free_ctx;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    /* Unusually, 0 means success here. */
    if (SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof(alpn_http11) - 1) != 0) {
        tls_fail(eb, NULL, "ALPN");
        goto out_free_ctx;
    }

    struct tls_ctx *t = xcalloc(1, sizeof(*t));
    t->ssl_ctx = ctx;
    t->verify = verify;
    return t;

out_free_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- the TLS transport ---- */

static void note_alpn(struct tls_conn *tc)
{
    const unsigned char *p = NULL;
    unsigned n = 0;
    SSL_get0_alpn_selected(tc->ssl, &p, &n);
    if (p && n < sizeof(tc->alpn)) {
        memcpy(tc->alpn, p, n);
        tc->alpn[n] = '\0';
    }
}

static int tls_handshake(struct conn *c)
{
    struct tls_conn *tc = tls_of(c);
    if (SSL_is_init_finished(tc->ssl))
        return 0;
    if (tc->fatal)
        return ERR_TLS;
    ERR_clear_error();
    int r = SSL_do_handshake(tc->ssl);
    if (r == 1) {
        note_alpn(tc);
        return 0;
    }
    r = tls_map(tc, r, "handshake");
    if (r == ERR_EOF)
        errbuf_set(&c->err, ERR_EOF, "handshake: peer closed the connection");
    return r;
}

static ssize_t tls_read(struct conn *c, void *buf, size_t n)
{
    struct tls_conn *tc = tls_of(c);
    size_t got = 0;
    ERR_clear_error();
    int r = SSL_read_ex(tc->ssl, buf, n, &got);
    if (r == 1)
        return (ssize_t)got;
    return tls_map(tc, r, "read");
}

/* One SSL_write_ex; *written set on success (1 returned), else a mapped error. */
static int write_once(struct tls_conn *tc, const void *p, size_t len, size_t *written)
{
    ERR_clear_error();
    int r = SSL_write_ex(tc->ssl, p, len, written);
    if (r == 1)
        return 1;
    return tls_map(tc, r, "write");
}

/* Position in an iov array: element i, offset off inside it. */
struct iov_pos {
    int i;
    size_t off;
};

static void iov_skip_empty(const struct iovec *iov, int iovcnt, struct iov_pos *pos)
{
    while (pos->i < iovcnt && pos->off == iov[pos->i].iov_len) {
        pos->i++;
        pos->off = 0;
    }
}

static void iov_advance(const struct iovec *iov, int iovcnt, struct iov_pos *pos, size_t n)
{
    while (n > 0 && pos->i < iovcnt) {
        size_t rem = iov[pos->i].iov_len - pos->off;
        if (n < rem) {
            pos->off += n;
            return;
        }
        n -= rem;
        pos->i++;
        pos->off = 0;
    }
    iov_skip_empty(iov, iovcnt, pos);
}

/* Copy up to cap bytes from pos onwards into dst (pos unchanged). Returns bytes copied. */
static size_t iov_gather(const struct iovec *iov, int iovcnt, struct iov_pos pos,
                         unsigned char *dst, size_t cap)
{
    size_t n = 0;
    while (n < cap && pos.i < iovcnt) {
        size_t rem = iov[pos.i].iov_len - pos.off;
        size_t k = rem < cap - n ? rem : cap - n;
        memcpy(dst + n, (const unsigned char *)iov[pos.i].iov_base + pos.off, k);
        n += k;
        pos.i++;
        pos.off = 0;
    }
    return n;
}

static bool iov_more_after(const struct iovec *iov, int iovcnt, int i)
{
    for (int j = i + 1; j < iovcnt; j++)
        if (iov[j].iov_len)
            return true;
    return false;
}

static ssize_t tls_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
    struct tls_conn *tc = tls_of(c);
    if (tc->write_err) {
        int e = tc->write_err;
        tc->write_err = 0;
        return e;
    }
    struct iov_pos pos = {0, 0};
    iov_skip_empty(iov, iovcnt, &pos);
    size_t total = 0;

    if (tc->stage_pending) {
        /* The retry contract says the caller starts again at the staged bytes; check it, as
         * OpenSSL has already encrypted them and cannot take different ones. */
        unsigned char check[TLS_STAGE_SIZE];
        size_t n = iov_gather(iov, iovcnt, pos, check, tc->stage_len);
        if (n != tc->stage_len || memcmp(check, tc->stage, n) != 0)
            return errbuf_set(&c->err, -EINVAL, "write retried with different bytes");
        size_t w = 0;
        int r = write_once(tc, tc->stage, tc->stage_len, &w);
        if (r < 0)
            return r;
        tc->stage_pending = false;
        iov_advance(iov, iovcnt, &pos, w);
        total += w;
    }

    while (pos.i < iovcnt) {
        size_t rem = iov[pos.i].iov_len - pos.off;
        const void *p = (const unsigned char *)iov[pos.i].iov_base + pos.off;
        size_t len = rem;
        bool staged = false;
        if (rem <= TLS_COALESCE_MAX && iov_more_after(iov, iovcnt, pos.i)) {
            len = iov_gather(iov, iovcnt, pos, tc->stage, sizeof(tc->stage));
            p = tc->stage;
            staged = true;
        }
        size_t w = 0;
        int r = write_once(tc, p, len, &w);
        if (r < 0) {
            if (r == ERR_AGAIN && staged) {
                tc->stage_pending = true;
                tc->stage_len = len;
            }
            if (total == 0)
                return r;
            if (r != ERR_AGAIN)
                tc->write_err = r;
            break;
        }
        iov_advance(iov, iovcnt, &pos, w);
        total += w;
    }
    return (ssize_t)total;
}

static bool tls_pending(const struct conn *c)
{
    return SSL_has_pending(tls_of_const(c)->ssl) == 1;
}

static void tls_shutdown(struct conn *c)
{
    struct tls_conn *tc = tls_of(c);
    if (!tc->fatal && SSL_is_init_finished(tc->ssl)) {
        ERR_clear_error();
        (void)SSL_shutdown(tc->ssl); /* queues close_notify; never waits for the peer's */
        ERR_clear_error();
    }
    shutdown(c->fd, SHUT_WR);
}

static void tls_destroy(struct conn *c)
{
    struct tls_conn *tc = tls_of(c);
    SSL_free(tc->ssl);
    free(tc);
}

static const char *tls_version(const struct conn *c)
{
    return SSL_get_version(tls_of_const(c)->ssl);
}

static const char *tls_cipher(const struct conn *c)
{
    const SSL_CIPHER *ci = SSL_get_current_cipher(tls_of_const(c)->ssl);
    if (!ci)
        return "";
    const char *name = SSL_CIPHER_standard_name(ci);
    return name ? name : SSL_CIPHER_get_name(ci);
}

static const char *tls_alpn(const struct conn *c)
{
    return tls_of_const(c)->alpn;
}

static const struct conn_ops tls_ops = {
    .handshake = tls_handshake,
    .read = tls_read,
    .writev = tls_writev,
    .pending = tls_pending,
    .shutdown = tls_shutdown,
    .destroy = tls_destroy,
    .version = tls_version,
    .cipher = tls_cipher,
    .alpn = tls_alpn,
};

static bool is_ip_literal(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct conn *conn_tls_new(struct tls_ctx *ctx, int fd, bool server, const char *host)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(ctx->ssl_ctx);
    if (!ssl)
        return NULL;
    BIO *bio = bio_sock_new(fd);
    if (!bio)
        goto out_free_ssl;
    SSL_set_bio(ssl, bio, bio);
    if (server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        if (host && *host) {
            bool ip = is_ip_literal(host);
            /* SNI carries names only (RFC 6066). */
            if (!ip && !SSL_set_tlsext_host_name(ssl, host))
                goto out_free_ssl;
            if (ctx->verify) {
                int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                            : SSL_set1_host(ssl, host);
                if (ok != 1)
                    goto out_free_ssl;
            }
        }
    }
    struct tls_conn *tc = xcalloc(1, sizeof(*tc));
    tc->base.ops = &tls_ops;
    tc->base.fd = fd;
    tc->ssl = ssl;
    return &tc->base;

out_free_ssl:
    SSL_free(ssl);
    ERR_clear_error();
    return NULL;
}

/* ---- throw-away certificates ---- */

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static int write_key(const char *path, EVP_PKEY *pkey, struct errbuf *eb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errbuf_set(eb, -errno, "open %s: %s", path, strerror(errno));
    if (fchmod(fd, 0600) < 0) {
        int e = errno;
        close(fd);
        return errbuf_set(eb, -e, "chmod %s: %s", path, strerror(e));
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        return errbuf_set(eb, -e, "fdopen %s: %s", path, strerror(e));
    }
    int ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0 || ok != 1)
        return errbuf_set(eb, ERR_IO, "write %s failed", path);
    return 0;
}

static int write_cert(const char *path, X509 *x, struct errbuf *eb)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return errbuf_set(eb, -errno, "open %s: %s", path, strerror(errno));
    int ok = PEM_write_X509(f, x);
    if (fclose(f) != 0 || ok != 1)
        return errbuf_set(eb, ERR_IO, "write %s failed", path);
    return 0;
}

int tls_make_selfsigned(const char *cert_path, const char *key_path, struct errbuf *eb)
{
    int r = ERR_TLS;
    X509 *x = NULL;
    BIGNUM *serial = NULL;
    ERR_clear_error();
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    if (!pkey)
        return tls_fail(eb, NULL, "P-256 key generation");

    x = X509_new();
    if (!x) {
        r = tls_fail(eb, NULL, "X509_new");
        goto out;
    }
    unsigned char sbytes[16];
    if (rand_fill(sbytes, sizeof(sbytes)) < 0) {
        r = errbuf_set(eb, ERR_IO, "no randomness for the serial number");
        goto out;
    }
    sbytes[0] &= 0x7f; /* a positive serial */
    serial = BN_bin2bn(sbytes, sizeof(sbytes), NULL);
    X509_NAME *name = X509_get_subject_name(x);
    if (!serial || X509_set_version(x, X509_VERSION_3) != 1 ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"Fathom self-signed", -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1 ||
        add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") < 0) {
        r = tls_fail(eb, NULL, "building the certificate");
        goto out;
    }
    if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
        r = tls_fail(eb, NULL, "signing the certificate");
        goto out;
    }
    r = write_key(key_path, pkey, eb);
    if (r == 0)
        r = write_cert(cert_path, x, eb);
out:
    BN_free(serial);
    X509_free(x);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return r;
}
