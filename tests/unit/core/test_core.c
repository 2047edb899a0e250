/* Unit tests for src/core: buf, slice, clock, rand, err. */
#include "harness.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/rand.h"
#include "core/slice.h"

#include <errno.h>

TEST(buf_append_consume)
{
    struct buf b;
    buf_init(&b, 64);
    ASSERT_EQ_INT(buf_append(&b, "hello", 5), 0);
    ASSERT_EQ_INT(b.len, 5);
    buf_consume(&b, 2);
    ASSERT_EQ_MEM(buf_head(&b), "llo", 3);
    ASSERT_EQ_INT(buf_appendf(&b, "%d-%s", 42, "x"), 0);
    ASSERT_EQ_MEM(buf_head(&b), "llo42-x", 7);
    buf_free(&b);
}

TEST(buf_ceiling)
{
    struct buf b;
    buf_init(&b, 16);
    ASSERT_EQ_INT(buf_append(&b, "0123456789abcdef", 16), 0);
    ASSERT_EQ_INT(buf_append(&b, "x", 1), ERR_TOOBIG);
    ASSERT_TRUE(buf_reserve(&b, 1) == NULL);
    buf_consume(&b, 8);
    ASSERT_EQ_INT(buf_append(&b, "ABCDEFGH", 8), 0);
    ASSERT_EQ_MEM(buf_head(&b), "89abcdefABCDEFGH", 16);
    ASSERT_EQ_INT(buf_appendf(&b, "%s", "too long"), ERR_TOOBIG);
    buf_free(&b);
}

TEST(slice_helpers)
{
    ASSERT_TRUE(slice_has_token(slice_cstr("keep-alive, Upgrade"), "upgrade"));
    ASSERT_TRUE(!slice_has_token(slice_cstr("keep-alive, Upgraded"), "upgrade"));
    ASSERT_TRUE(slice_eq_nocase(slice_cstr("WebSocket"), "websocket"));
    unsigned long long v;
    ASSERT_EQ_INT(slice_to_u64(slice_cstr("18446744073709551615"), &v), 0);
    ASSERT_EQ_U64(v, 18446744073709551615ULL);
    ASSERT_EQ_INT(slice_to_u64(slice_cstr("18446744073709551616"), &v), ERR_PROTO);
    ASSERT_EQ_INT(slice_to_u64(slice_cstr("-1"), &v), ERR_PROTO);
    ASSERT_EQ_INT(slice_to_u64(slice_cstr(""), &v), ERR_PROTO);
    char small[4];
    ASSERT_EQ_INT(slice_to_cstr(slice_cstr("abcd"), small, sizeof(small)), ERR_TOOBIG);
    ASSERT_EQ_INT(slice_to_cstr(slice_cstr("abc"), small, sizeof(small)), 0);
    ASSERT_EQ_STR(small, "abc");
}

TEST(clock_rfc3339_roundtrip)
{
    char s[40];
    uint64_t ns = 1669849666606388371ULL;
    clock_format_rfc3339(ns, s, sizeof(s));
    ASSERT_EQ_STR(s, "2022-11-30T23:07:46.606388371Z");
    uint64_t back;
    ASSERT_EQ_INT(clock_parse_rfc3339(s, &back), 0);
    ASSERT_EQ_U64(back, ns);
    ASSERT_EQ_INT(clock_parse_rfc3339("2022-11-30T23:07:46+01:00", &back), 0);
    ASSERT_EQ_U64(back, 1669849666ULL * NS_PER_SEC - 3600ULL * NS_PER_SEC);
    ASSERT_EQ_INT(clock_parse_rfc3339("2022-13-30T23:07:46Z", &back), ERR_PROTO);
    ASSERT_EQ_INT(clock_parse_rfc3339("garbage", &back), ERR_PROTO);
}

TEST(memoryless_clamped_mean)
{
    double sum = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        uint64_t w = rand_memoryless_ns(250 * NS_PER_MS, 25 * NS_PER_MS, 625 * NS_PER_MS);
        ASSERT_TRUE(w >= 25 * NS_PER_MS && w <= 625 * NS_PER_MS);
        sum += (double)w;
    }
    /* Clamping shifts the mean: E = 25 + 250(e^-0.1 - e^-2.5) ms ~= 230.7 ms. */
    ASSERT_NEAR(sum / n / 1e6, 230.7, 8.0);
}

TEST(err_names)
{
    ASSERT_EQ_STR(err_name(ERR_EOF), "ERR_EOF");
    ASSERT_EQ_STR(err_name(-ENOENT), "ENOENT");
    ASSERT_EQ_STR(err_str(ERR_TOOBIG), "input exceeds limit");
    struct errbuf eb;
    ASSERT_EQ_INT(errbuf_set(&eb, ERR_PROTO, "bad %s", "thing"), ERR_PROTO);
    ASSERT_EQ_STR(eb.msg, "bad thing");
}
