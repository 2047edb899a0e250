/* privacy: the metadata allowlist and IP truncation. */
#include "privacy/privacy.h"

#include "core/err.h"

#include <arpa/inet.h>
#include <string.h>

static const char *const client_keys[] = {
    "client_name", "client_version", "client_library_name", "client_library_version",
    "client_os",   "client_arch",
};
/* Protocol keys: meaningful to the server or locate, archived like ndt-server does. */
static const char *const protocol_keys[] = {"early_exit", "locate_version", "index", "metro_rank"};

bool privacy_key_allowed(struct slice name)
{
    for (size_t i = 0; i < sizeof(client_keys) / sizeof(client_keys[0]); i++)
        if (slice_eq(name, client_keys[i]))
            return true;
    for (size_t i = 0; i < sizeof(protocol_keys) / sizeof(protocol_keys[0]); i++)
        if (slice_eq(name, protocol_keys[i]))
            return true;
    return false;
}

static bool printable(struct slice v)
{
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.ptr[i] < 0x20 || (unsigned char)v.ptr[i] > 0x7e)
            return false;
    return true;
}

enum privacy_verdict privacy_check_param(struct slice name, struct slice value, bool seen_before)
{
    if (slice_eq(name, "access_token"))
        return PRIVACY_PROTOCOL;
    if (!privacy_key_allowed(name))
        return PRIVACY_DROP_KEY;
    if (seen_before)
        return PRIVACY_DROP_DUPLICATE;
    if (value.len > PRIVACY_MAX_VALUE || !printable(value))
        return PRIVACY_DROP_VALUE;
    return PRIVACY_KEEP;
}

const char *privacy_verdict_str(enum privacy_verdict v)
{
    switch (v) {
    case PRIVACY_KEEP:
        return "kept";
    case PRIVACY_PROTOCOL:
        return "protocol parameter, not archived";
    case PRIVACY_DROP_KEY:
        return "key not allowed";
    case PRIVACY_DROP_VALUE:
        return "value longer than 64 characters or not printable ASCII";
    case PRIVACY_DROP_DUPLICATE:
        return "duplicate key";
    }
    return "unknown";
}

int privacy_truncate_ip(char *ip, size_t n, enum privacy_ip_precision precision)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1) {
        if (precision == PRIVACY_IP_TRUNCATED) {
            a[3] = 0;
            inet_ntop(AF_INET, a, ip, (socklen_t)n);
        }
        return 0;
    }
    if (inet_pton(AF_INET6, ip, a) == 1) {
        if (precision == PRIVACY_IP_TRUNCATED) {
            memset(a + 6, 0, 10);
            inet_ntop(AF_INET6, a, ip, (socklen_t)n);
        }
        return 0;
    }
    return ERR_PROTO;
}
