/*
 * clock: time sources. clock_now() is the monotonic clock in nanoseconds and
 * goes through a replaceable function pointer so timer and duration logic can
 * be unit-tested without sleeping. clock_real_ns() is wall-clock time (UTC ns
 * since the epoch) for timestamps in results.
 */
#ifndef FATHOM_CORE_CLOCK_H
#define FATHOM_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_MS 1000000ULL
#define NS_PER_SEC 1000000000ULL

typedef uint64_t (*clock_fn)(void);

extern clock_fn clock_now_fn;

static inline uint64_t clock_now(void)
{
    return clock_now_fn();
}

/* The real monotonic clock (CLOCK_MONOTONIC), ns. */
uint64_t clock_monotonic_ns(void);
/* Wall-clock UTC, ns since 1970. */
uint64_t clock_real_ns(void);

/*
 * Format a UTC ns timestamp as RFC 3339 with nanoseconds, e.g.
 * "2022-11-30T23:07:46.606388371Z". out must hold at least 31 bytes.
 */
void clock_format_rfc3339(uint64_t real_ns, char *out, size_t n);
/*
 * Parse RFC 3339 with optional fraction and a Z or +hh:mm suffix.
 * Returns 0 and the UTC ns value, or ERR_PROTO.
 */
int clock_parse_rfc3339(const char *s, uint64_t *real_ns);

#endif
