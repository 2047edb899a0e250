/*
 * err: the one error vocabulary of Fathom.
 *
 * Actions return int: 0 on success, a negative value on failure. A failed
 * system call passes through as -errno; Fathom's own codes live below -1000
 * so they never collide with errno values. The readable detail of a failure
 * goes in a caller-owned error buffer (struct errbuf), never a global.
 */
#ifndef FATHOM_CORE_ERR_H
#define FATHOM_CORE_ERR_H

#include <stddef.h>

/* X(name, value, description) */
#define ERR_TABLE(X)                                                                               \
    X(ERR_AGAIN, -1001, "operation would block")                                                   \
    X(ERR_EOF, -1002, "end of stream")                                                             \
    X(ERR_PROTO, -1003, "protocol error")                                                          \
    X(ERR_TOOBIG, -1004, "input exceeds limit")                                                    \
    X(ERR_TLS, -1005, "TLS error")                                                                 \
    X(ERR_TIMEOUT, -1006, "timed out")                                                             \
    X(ERR_CONFIG, -1007, "invalid configuration")                                                  \
    X(ERR_NEED_MORE, -1008, "need more input")                                                     \
    X(ERR_UTF8, -1009, "invalid UTF-8")                                                            \
    X(ERR_NOTFOUND, -1010, "not found")                                                            \
    X(ERR_REFUSED, -1011, "refused by policy")                                                     \
    X(ERR_IO, -1012, "input/output error")                                                         \
    X(ERR_RESOLVE, -1013, "name resolution failed")                                                \
    X(ERR_HTTP, -1014, "unexpected HTTP response")

enum err_code {
#define ERR_ENUM(name, value, desc) name = value,
    ERR_TABLE(ERR_ENUM)
#undef ERR_ENUM
};

/* Symbolic name of a code ("ERR_EOF", "ENOENT", ...). Never NULL; static storage. */
const char *err_name(int code);

/* Human description of a code (our table, or strerror for -errno). Never NULL; thread-safe. */
const char *err_str(int code);

/*
 * A per-connection or per-run error buffer: the detail kept aside.
 * errbuf_set formats into it (printf-style) and returns code, so a failing
 * path can write `return errbuf_set(eb, ERR_PROTO, "bad frame opcode %d", op);`.
 * eb may be NULL, in which case only code is returned.
 */
struct errbuf {
    char msg[256];
};

int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
