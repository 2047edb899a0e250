/*
 * conn_int: what conn.c (plain transport and the public entry points) and tls.c share. Not for
 * use outside src/net/.
 *
 * struct conn is the common head of every transport; a transport embeds it first and
 * recovers its own struct by casting. The public conn_* functions dispatch through ops.
 */
#ifndef FATHOM_NET_CONN_INT_H
#define FATHOM_NET_CONN_INT_H

#include "net/conn.h"

struct conn_ops {
    int (*handshake)(struct conn *c);
    ssize_t (*read)(struct conn *c, void *buf, size_t n);
    /* Discard up to n bytes without copying them; NULL when the transport cannot. */
    ssize_t (*skip)(struct conn *c, size_t n);
    ssize_t (*writev)(struct conn *c, const struct iovec *iov, int iovcnt);
    bool (*pending)(const struct conn *c);
    void (*shutdown)(struct conn *c);
    /* Free the transport's own state and c itself; conn_close closes the fd afterwards. */
    void (*destroy)(struct conn *c);
    const char *(*version)(const struct conn *c);
    const char *(*cipher)(const struct conn *c);
    const char *(*alpn)(const struct conn *c);
};

struct conn {
    const struct conn_ops *ops;
    int fd;
    unsigned wants;    /* CONN_WANT_* of the last ERR_AGAIN */
    struct errbuf err; /* reason of the last ERR_TLS; "" if none */
};

#endif
