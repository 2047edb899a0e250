/*
 * buf: a growable byte buffer with a hard ceiling.
 *
 * Layout: data[off .. off+len) holds unread bytes; writers reserve room at the
 * tail, write into it and commit; readers consume from the head. Growth never
 * exceeds max (set at init), so a peer can never make a buffer grow without
 * bound: reserve fails with ERR_TOOBIG instead.
 */
#ifndef FATHOM_CORE_BUF_H
#define FATHOM_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* owned; NULL until first reserve */
    size_t off;    /* start of unread bytes */
    size_t len;    /* unread bytes */
    size_t cap;    /* allocated size */
    size_t max;    /* hard ceiling for cap */
};

/* Initialise an empty buffer that may grow up to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer is empty (and reusable) afterwards. */
void buf_free(struct buf *b);
/* Drop all contents, keeping storage. */
void buf_reset(struct buf *b);

/*
 * Make room for at least n more bytes at the tail (compacting or growing).
 * Returns a pointer to the tail (valid until the next reserve), or NULL when
 * off+len+n would exceed max. Aborts on out-of-memory (sizes are capped).
 */
uint8_t *buf_reserve(struct buf *b, size_t n);
/* Room at the tail without growing (0 when the buffer was never reserved). */
size_t buf_tailroom(const struct buf *b);
/* Mark n bytes written at the tail as valid. n must fit the reserved room. */
void buf_commit(struct buf *b, size_t n);
/* Remove n bytes from the head (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Append bytes. Returns 0 or ERR_TOOBIG (nothing appended then). */
int buf_append(struct buf *b, const void *p, size_t n);
static inline int buf_append_str(struct buf *b, const char *s);
/* Append printf-formatted text (no NUL). Returns 0 or ERR_TOOBIG. */
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static inline uint8_t *buf_head(const struct buf *b)
{
    return b->data + b->off;
}

#include <string.h>
static inline int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

#endif
