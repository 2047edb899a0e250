/* rand: getrandom(2) and a per-thread xoshiro256** generator. */
#include "core/rand.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <sys/random.h>

int rand_fill(void *p, size_t n)
{
    unsigned char *c = p;
    while (n) {
        ssize_t r = getrandom(c, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static _Thread_local uint64_t state[4];
static _Thread_local bool seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rand_u64(void)
{
    if (!seeded) {
        if (rand_fill(state, sizeof(state)) != 0 ||
            (state[0] | state[1] | state[2] | state[3]) == 0)
            state[0] = 0x9E3779B97F4A7C15ULL;
        seeded = true;
    }
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

double rand_unit(void)
{
    return (double)(rand_u64() >> 11) * 0x1.0p-53;
}

uint64_t rand_memoryless_ns(uint64_t mean, uint64_t min, uint64_t max)
{
    double u = rand_unit();
    double w = -log1p(-u) * (double)mean;
    if (w < (double)min)
        return min;
    if (w > (double)max)
        return max;
    return (uint64_t)w;
}
