/*
 * steady: the steady-state capacity estimate (docs/accuracy.md, "Method").
 *
 * The ndt7 mean (bytes over the whole test) includes the ramp-up of slow
 * start, so on paths with a large bandwidth-delay product it under-reports the
 * capacity. The estimate here ignores the first half of the test, cuts the
 * second half into chunks of at least 500 ms of consecutive samples, and takes
 * the median of the chunk rates: a short stall (a BBR ProbeRTT, a scheduling
 * hiccup) moves one chunk, not the answer.
 */
#include "ndt7/ndt7.h"

#include <stdlib.h>

#define STEADY_MIN_SPAN_US 2000000 /* no estimate before 2 s of samples */
#define STEADY_CHUNK_US 500000

void ndt7_steady_init(struct ndt7_steady *st)
{
    st->n = 0;
}

void ndt7_steady_add(struct ndt7_steady *st, int64_t elapsed_us, int64_t bytes)
{
    if (st->n > 0 && (elapsed_us <= st->t[st->n - 1] || bytes < st->b[st->n - 1]))
        return; /* counters only grow; ignore anything else */
    if (st->n == NDT7_STEADY_MAX) {
        /* Keep the newest samples: drop every other one of the older half. */
        size_t w = 0;
        for (size_t r = 0; r < NDT7_STEADY_MAX; r++)
            if (r >= NDT7_STEADY_MAX / 2 || r % 2 == 0) {
                st->t[w] = st->t[r];
                st->b[w] = st->b[r];
                w++;
            }
        st->n = w;
    }
    st->t[st->n] = elapsed_us;
    st->b[st->n] = bytes;
    st->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double ndt7_steady_mbps(const struct ndt7_steady *st)
{
    if (st->n < 2 || st->t[st->n - 1] < STEADY_MIN_SPAN_US)
        return -1;
    int64_t half = st->t[st->n - 1] / 2;
    size_t i = 0;
    while (i + 1 < st->n && st->t[i + 1] <= half)
        i++;
    double rates[NDT7_STEADY_MAX];
    size_t nr = 0;
    size_t start = i;
    for (size_t j = i + 1; j < st->n; j++) {
        int64_t dt = st->t[j] - st->t[start];
        if (dt >= STEADY_CHUNK_US || j == st->n - 1) {
            /* A short tail chunk only counts when it is the only one. */
            if (dt >= STEADY_CHUNK_US || nr == 0)
                rates[nr++] = 8.0 * (double)(st->b[j] - st->b[start]) / (double)dt;
            start = j;
        }
    }
    if (nr == 0)
        return -1;
    qsort(rates, nr, sizeof(rates[0]), cmp_double);
    return nr % 2 ? rates[nr / 2] : (rates[nr / 2 - 1] + rates[nr / 2]) / 2;
}
