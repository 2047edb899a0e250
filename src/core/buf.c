/* buf: capped byte buffers. Invariant: off + len <= cap <= max. */
#include "core/buf.h"

#include "core/err.h"
#include "core/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->off = b->len = b->cap = 0;
    b->max = max;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->off = b->len = 0;
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return NULL;
    if (b->off + b->len + n <= b->cap)
        return b->data + b->off + b->len;
    if (b->off) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (b->len + n <= b->cap)
            return b->data + b->len;
    }
    size_t want = b->cap ? b->cap : 256;
    while (want < b->len + n)
        want = want > b->max / 2 ? b->max : want * 2;
    if (want > b->max)
        want = b->max;
    b->data = xrealloc(b->data, want);
    b->cap = want;
    return b->data + b->len;
}

size_t buf_tailroom(const struct buf *b)
{
    return b->cap - b->off - b->len;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *t = buf_reserve(b, n);
    if (!t)
        return ERR_TOOBIG;
    memcpy(t, p, n);
    buf_commit(b, n);
    return 0;
}

int buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ERR_PROTO;
    uint8_t *t = buf_reserve(b, (size_t)n + 1);
    if (!t)
        return ERR_TOOBIG;
    vsnprintf((char *)t, (size_t)n + 1, fmt, ap);
    buf_commit(b, (size_t)n);
    return 0;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vappendf(b, fmt, ap);
    va_end(ap);
    return r;
}
