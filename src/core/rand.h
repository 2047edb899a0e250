/*
 * rand: randomness. rand_fill() uses getrandom(2) (cryptographic; used for
 * payload blocks, WebSocket keys and masks). rand_u64() is a fast
 * non-cryptographic generator (xoshiro256**, per-thread state seeded from
 * getrandom) for timer jitter and the like.
 */
#ifndef FATHOM_CORE_RAND_H
#define FATHOM_CORE_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill p with n random bytes from the kernel. Returns 0 or -errno. */
int rand_fill(void *p, size_t n);
/* Fast per-thread pseudo-random 64-bit value. Thread-safe (thread-local state). */
uint64_t rand_u64(void);
/* Uniform double in [0, 1). */
double rand_unit(void);
/*
 * One wait of the ndt7 "memoryless" ticker in ns: exponentially distributed
 * with the given mean, then clamped (not resampled) to [min, max].
 */
uint64_t rand_memoryless_ns(uint64_t mean, uint64_t min, uint64_t max);

#endif
