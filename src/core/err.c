/* err: names and descriptions for the error table in err.h. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_name(int code)
{
    switch (code) {
#define ERR_NAME(name, value, desc)                                                                \
    case value:                                                                                    \
        return #name;
        ERR_TABLE(ERR_NAME)
#undef ERR_NAME
    case 0:
        return "OK";
    default:
        break;
    }
    if (code < 0 && code > -1000) {
        const char *n = strerrorname_np(-code);
        if (n)
            return n;
    }
    return "ERR_UNKNOWN";
}

const char *err_str(int code)
{
    switch (code) {
#define ERR_STR(name, value, desc)                                                                 \
    case value:                                                                                    \
        return desc;
        ERR_TABLE(ERR_STR)
#undef ERR_STR
    case 0:
        return "success";
    default:
        break;
    }
    if (code < 0 && code > -1000) {
        const char *d = strerrordesc_np(-code);
        if (d)
            return d;
    }
    return "unknown error";
}

int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
