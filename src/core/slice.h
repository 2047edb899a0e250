/*
 * slice: a non-owning view of bytes. Never freed by whoever holds it; valid
 * only as long as the storage it points into.
 */
#ifndef FATHOM_CORE_SLICE_H
#define FATHOM_CORE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
    const char *ptr;
    size_t len;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})

static inline struct slice slice_make(const char *p, size_t n)
{
    return (struct slice){p, n};
}

static inline struct slice slice_cstr(const char *s)
{
    return (struct slice){s, strlen(s)};
}

/* Exact, case-sensitive equality with a C string. */
bool slice_eq(struct slice s, const char *cstr);
/* ASCII case-insensitive equality with a C string. */
bool slice_eq_nocase(struct slice s, const char *cstr);
/* Strip leading and trailing spaces and tabs. */
struct slice slice_trim(struct slice s);
/*
 * True when the comma-separated list s contains token (case-insensitive,
 * whitespace around items ignored), as in `Connection: keep-alive, Upgrade`.
 */
bool slice_has_token(struct slice s, const char *token);
/*
 * Copy s into dst (size n) as a NUL-terminated string. Returns 0, or
 * ERR_TOOBIG when s does not fit (dst is then left as an empty string).
 */
int slice_to_cstr(struct slice s, char *dst, size_t n);
/*
 * Parse an unsigned decimal number with no sign, spaces or overflow.
 * Returns 0 and stores the value, or ERR_PROTO.
 */
int slice_to_u64(struct slice s, unsigned long long *out);

#endif
