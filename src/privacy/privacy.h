/*
 * privacy: what a test may keep about a person. Client metadata passes an
 * allowlist (architecture.md): the generalized client keys and the protocol
 * keys, with short printable values. Everything else is dropped and named
 * (never its value), or refused in strict mode. Client IPs may be truncated
 * at collection time.
 */
#ifndef FATHOM_PRIVACY_PRIVACY_H
#define FATHOM_PRIVACY_PRIVACY_H

#include "core/slice.h"

#include <stdbool.h>
#include <stddef.h>

#define PRIVACY_MAX_VALUE 64

enum privacy_ip_precision { PRIVACY_IP_FULL = 0, PRIVACY_IP_TRUNCATED = 1 };

/* Verdict for one query parameter. */
enum privacy_verdict {
    PRIVACY_KEEP = 0,      /* archive as client metadata */
    PRIVACY_PROTOCOL,      /* consumed by the server, never archived (access_token) */
    PRIVACY_DROP_KEY,      /* key not on the allowlist */
    PRIVACY_DROP_VALUE,    /* allowed key, value too long or not printable ASCII */
    PRIVACY_DROP_DUPLICATE /* repeated key: the first one counts */
};

/*
 * Classify a decoded query parameter. seen_before says whether the same name
 * already appeared in this request.
 */
enum privacy_verdict privacy_check_param(struct slice name, struct slice value, bool seen_before);
/* True for the keys clients may send as metadata (not the protocol ones). */
bool privacy_key_allowed(struct slice name);
/* Short explanation of a verdict ("key not allowed", ...). */
const char *privacy_verdict_str(enum privacy_verdict v);

/*
 * Truncate a textual IP in place per precision: IPv4 to /24 (a.b.c.0), IPv6
 * to /48 (a:b:c::). Returns 0, or ERR_PROTO when ip is not an address.
 */
int privacy_truncate_ip(char *ip, size_t n, enum privacy_ip_precision precision);

#endif
