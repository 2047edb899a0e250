/*
 * conn: a byte stream over a connected socket, plain or TLS, behind one ops
 * table. All operations are non-blocking. Only net/tls.c includes OpenSSL.
 *
 * ERR_AGAIN from any operation means "not now": conn_wants() then says whether
 * the operation waits for readability or writability (TLS can need either for
 * either). Plaintext may be buffered inside TLS: check conn_pending() before
 * waiting for readability.
 */
#ifndef FATHOM_NET_CONN_H
#define FATHOM_NET_CONN_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn;
struct tls_ctx;

#define CONN_WANT_READ 0x1u
#define CONN_WANT_WRITE 0x2u

/*
 * TLS context for a server: certificate chain and key (PEM files), TLS 1.2+,
 * AES-128-GCM and ChaCha20-Poly1305 preferred, ALPN "http/1.1" only.
 * NULL on failure with eb explaining (file unreadable, key mismatch).
 */
struct tls_ctx *tls_ctx_server_new(const char *cert_file, const char *key_file, struct errbuf *eb);
/*
 * TLS context for a client: system trust store, or ca_file when given; when
 * verify is false, no certificate checks at all. ALPN "http/1.1".
 */
struct tls_ctx *tls_ctx_client_new(const char *ca_file, bool verify, struct errbuf *eb);
void tls_ctx_free(struct tls_ctx *ctx);

/*
 * Generate a throw-away self-signed certificate and key (P-256, SAN
 * DNS:localhost, IP:127.0.0.1, IP:::1, valid 1 day) as PEM files at the given
 * paths (mode 0600 for the key). For `fathom demo` and tests. 0 or error.
 */
int tls_make_selfsigned(const char *cert_path, const char *key_path, struct errbuf *eb);

/* Wrap a connected fd (ownership transferred: conn_close closes it). */
struct conn *conn_plain_new(int fd);
/*
 * Wrap fd in TLS. server: accept side; else client side with SNI and host-name
 * verification against host (NULL: neither). Ownership of fd transferred.
 * NULL on allocation failure (fd not closed then).
 */
struct conn *conn_tls_new(struct tls_ctx *ctx, int fd, bool server, const char *host);

/*
 * Drive the TLS handshake (no-op 0 for plain). 0 when done, ERR_AGAIN (see
 * conn_wants), ERR_TLS with the reason in conn_error(), or ERR_EOF / -errno
 * when the peer closes or resets the connection mid-handshake.
 */
int conn_handshake(struct conn *c);
/*
 * Read up to n (> 0) bytes. Returns bytes read (> 0), ERR_EOF on orderly end,
 * ERR_AGAIN, -errno, or ERR_TLS.
 */
ssize_t conn_read(struct conn *c, void *buf, size_t n);
/*
 * Discard up to n (> 0) received bytes without copying them to user space
 * (plain TCP: recv with MSG_TRUNC). Only when conn_can_skip(c): TLS must
 * decrypt everything. Returns bytes discarded (> 0), ERR_EOF, ERR_AGAIN or -errno.
 */
bool conn_can_skip(const struct conn *c);
ssize_t conn_skip(struct conn *c, size_t n);
/*
 * Write from iov. Returns bytes written (> 0, maybe fewer than asked),
 * ERR_AGAIN, -errno (e.g. -EPIPE), or ERR_TLS. After ERR_AGAIN, retry with the
 * same remaining bytes. For TLS, a small first iov (frame header) is coalesced
 * with the start of the next into one record so headers never travel alone;
 * bulk bytes are encrypted straight from the caller's memory.
 */
ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt);
/* Bytes already decrypted and waiting inside TLS (always false for plain). */
bool conn_pending(const struct conn *c);
/* What the last ERR_AGAIN waits for: CONN_WANT_READ and/or CONN_WANT_WRITE. */
unsigned conn_wants(const struct conn *c);
/* Best-effort: TLS close_notify, then shutdown(SHUT_WR). Never blocks. */
void conn_shutdown(struct conn *c);
/* Close the fd and free everything. */
void conn_close(struct conn *c);
int conn_fd(const struct conn *c);
bool conn_is_tls(const struct conn *c);
/* Readable reason of the last ERR_TLS ("" if none). Lives as long as c. */
const char *conn_error(const struct conn *c);
/* Negotiated protocol and cipher ("TLSv1.3", "TLS_AES_128_GCM_SHA256"); "" for plain. */
const char *conn_tls_version(const struct conn *c);
const char *conn_tls_cipher(const struct conn *c);
/* ALPN protocol agreed in the handshake ("http/1.1"); "" for plain or when none was agreed. */
const char *conn_tls_alpn(const struct conn *c);

#endif
