/* slice: helpers for non-owning byte views. */
#include "core/slice.h"

#include "core/err.h"

#include <limits.h>

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool slice_eq(struct slice s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s.len == n && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}

bool slice_eq_nocase(struct slice s, const char *cstr)
{
    size_t n = strlen(cstr);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(s.ptr[i]) != lower(cstr[i]))
            return false;
    return true;
}

struct slice slice_trim(struct slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

bool slice_has_token(struct slice s, const char *token)
{
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.ptr[i] == ',') {
            struct slice item = slice_trim(slice_make(s.ptr + start, i - start));
            if (slice_eq_nocase(item, token))
                return true;
            start = i + 1;
        }
    }
    return false;
}

int slice_to_cstr(struct slice s, char *dst, size_t n)
{
    if (n == 0)
        return ERR_TOOBIG;
    if (s.len >= n) {
        dst[0] = '\0';
        return ERR_TOOBIG;
    }
    if (s.len)
        memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
    return 0;
}

int slice_to_u64(struct slice s, unsigned long long *out)
{
    unsigned long long v = 0;
    if (s.len == 0 || s.len > 20)
        return ERR_PROTO;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return ERR_PROTO;
        unsigned d = (unsigned)(s.ptr[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return ERR_PROTO;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
