/*
 * conn: the public conn_* entry points (dispatch through the ops table) and the plain TCP
 * transport. The plain transport uses recv and sendmsg(MSG_NOSIGNAL), so a peer that resets
 * the connection gives -EPIPE, never SIGPIPE.
 */
#include "net/conn_int.h"

#include "core/xalloc.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int plain_handshake(struct conn *c)
{
    (void)c;
    return 0;
}

/* recv with the error mapping of conn.h; flags MSG_TRUNC drops bytes instead of copying. */
static ssize_t plain_recv(struct conn *c, void *buf, size_t n, int flags)
{
    for (;;) {
        ssize_t r = recv(c->fd, buf, n, flags);
        if (r > 0)
            return r;
        if (r == 0)
            return ERR_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->wants = CONN_WANT_READ;
            return ERR_AGAIN;
        }
        return -errno;
    }
}

static ssize_t plain_read(struct conn *c, void *buf, size_t n)
{
    return plain_recv(c, buf, n, 0);
}

static ssize_t plain_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt)};
    for (;;) {
        ssize_t r = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->wants = CONN_WANT_WRITE;
            return ERR_AGAIN;
        }
        return -errno;
    }
}

static bool plain_pending(const struct conn *c)
{
    (void)c;
    return false;
}

static void plain_shutdown(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
}

static void plain_destroy(struct conn *c)
{
    free(c);
}

static const char *plain_empty(const struct conn *c)
{
    (void)c;
    return "";
}

/* recv(MSG_TRUNC) on TCP drops queued bytes in the kernel: no copy to user space. */
static ssize_t plain_skip(struct conn *c, size_t n)
{
    return plain_recv(c, NULL, n, MSG_TRUNC | MSG_DONTWAIT);
}

static const struct conn_ops plain_ops = {
    .handshake = plain_handshake,
    .read = plain_read,
    .skip = plain_skip,
    .writev = plain_writev,
    .pending = plain_pending,
    .shutdown = plain_shutdown,
    .destroy = plain_destroy,
    .version = plain_empty,
    .cipher = plain_empty,
    .alpn = plain_empty,
};

struct conn *conn_plain_new(int fd)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->ops = &plain_ops;
    c->fd = fd;
    return c;
}

int conn_handshake(struct conn *c)
{
    return c->ops->handshake(c);
}

bool conn_can_skip(const struct conn *c)
{
    return c->ops->skip != NULL;
}

ssize_t conn_skip(struct conn *c, size_t n)
{
    assert(n > 0 && c->ops->skip);
    return c->ops->skip(c, n);
}

ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
    assert(n > 0);
    return c->ops->read(c, buf, n);
}

ssize_t conn_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
    return c->ops->writev(c, iov, iovcnt);
}

bool conn_pending(const struct conn *c)
{
    return c->ops->pending(c);
}

unsigned conn_wants(const struct conn *c)
{
    return c->wants;
}

void conn_shutdown(struct conn *c)
{
    c->ops->shutdown(c);
}

void conn_close(struct conn *c)
{
    if (!c)
        return;
    int fd = c->fd;
    c->ops->destroy(c);
    if (fd >= 0)
        close(fd);
}

int conn_fd(const struct conn *c)
{
    return c->fd;
}

bool conn_is_tls(const struct conn *c)
{
    return c->ops != &plain_ops;
}

const char *conn_error(const struct conn *c)
{
    return c->err.msg;
}

const char *conn_tls_version(const struct conn *c)
{
    return c->ops->version(c);
}

const char *conn_tls_cipher(const struct conn *c)
{
    return c->ops->cipher(c);
}

const char *conn_tls_alpn(const struct conn *c)
{
    return c->ops->alpn(c);
}
