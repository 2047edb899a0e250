/*
 * url: the ws:// and wss:// URLs of ndt7 subtests, and the client metadata
 * merged into their query strings.
 *
 * Only six generalized keys are ever added (client_name, client_version,
 * client_library_name, client_library_version, client_os, client_arch); any
 * pairs already in the URL (access_token, locate's index/metro_rank) are kept
 * byte for byte. No function here does I/O except client_meta_init (uname).
 */
#include "client/client.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

static void copy_lower(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

const char *client_arch_name(const char *machine)
{
    static const struct {
        const char *uname, *goarch;
    } map[] = {
        {"x86_64", "amd64"},    {"amd64", "amd64"},
        {"aarch64", "arm64"},   {"arm64", "arm64"},
        {"i386", "386"},        {"i486", "386"},
        {"i586", "386"},        {"i686", "386"},
        {"ppc64le", "ppc64le"}, {"ppc64", "ppc64"},
        {"s390x", "s390x"},     {"riscv64", "riscv64"},
        {"mips64", "mips64"},   {"loongarch64", "loong64"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(machine, map[i].uname) == 0)
            return map[i].goarch;
    if (strncmp(machine, "armv", 4) == 0)
        return "arm";
    return machine;
}

void client_meta_init(struct client_meta *m, const char *name)
{
    struct utsname u;
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name ? name : CLIENT_DEFAULT_NAME);
    snprintf(m->version, sizeof(m->version), "%s", FATHOM_VERSION);
    snprintf(m->library_name, sizeof(m->library_name), "%s", CLIENT_LIBRARY_NAME);
    snprintf(m->library_version, sizeof(m->library_version), "%s", FATHOM_VERSION);
    if (uname(&u) == 0) {
        char machine[sizeof(u.machine)];
        copy_lower(m->os, sizeof(m->os), u.sysname);
        copy_lower(machine, sizeof(machine), u.machine);
        snprintf(m->arch, sizeof(m->arch), "%s", client_arch_name(machine));
    } else {
        snprintf(m->os, sizeof(m->os), "unknown");
        snprintf(m->arch, sizeof(m->arch), "unknown");
    }
}

void client_user_agent(const struct client_meta *m, char *out, size_t n)
{
    snprintf(out, n, "%s/%s %s/%s", m->name, m->version, m->library_name, m->library_version);
}

int client_pct_encode(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = keep ? 1 : 3;
        if (len + need + 1 > n)
            return ERR_TOOBIG;
        if (keep) {
            out[len++] = (char)c;
        } else {
            out[len++] = '%';
            out[len++] = hex[c >> 4];
            out[len++] = hex[c & 15];
        }
    }
    out[len] = '\0';
    return 0;
}

static bool host_char(char c, bool v6)
{
    if (isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_')
        return true;
    return v6 && (c == ':' || c == '%');
}

int client_url_parse(const char *s, struct client_url *u, struct errbuf *eb)
{
    const char *p;
    memset(u, 0, sizeof(*u));
    for (p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return errbuf_set(eb, ERR_CONFIG, "URL contains spaces or non-ASCII characters");
    if (strncasecmp(s, "wss://", 6) == 0) {
        u->tls = true;
        p = s + 6;
    } else if (strncasecmp(s, "ws://", 5) == 0) {
        p = s + 5;
    } else {
        return errbuf_set(eb, ERR_CONFIG, "URL must start with ws:// or wss://: '%s'", s);
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen))
        return errbuf_set(eb, ERR_CONFIG, "URL must not contain user information");
    const char *host = p, *hend, *port = NULL;
    bool v6 = false;
    if (*p == '[') {
        hend = memchr(p, ']', alen);
        if (!hend)
            return errbuf_set(eb, ERR_CONFIG, "URL has an unterminated [IPv6] host");
        host = p + 1;
        v6 = true;
        if (hend + 1 < p + alen) {
            if (hend[1] != ':')
                return errbuf_set(eb, ERR_CONFIG, "URL has garbage after the [IPv6] host");
            port = hend + 2;
        }
    } else {
        hend = memchr(p, ':', alen);
        if (hend)
            port = hend + 1;
        else
            hend = p + alen;
    }
    size_t hlen = (size_t)(hend - host);
    if (hlen == 0 || hlen >= sizeof(u->host))
        return errbuf_set(eb, ERR_CONFIG, "URL has an empty or too long host");
    for (size_t i = 0; i < hlen; i++)
        if (!host_char(host[i], v6))
            return errbuf_set(eb, ERR_CONFIG, "URL host has an invalid character '%c'", host[i]);
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = u->tls ? 443 : 80;
    if (port) {
        unsigned long v = 0;
        const char *q = port;
        for (; q < p + alen; q++) {
            if (*q < '0' || *q > '9' || v > 65535)
                return errbuf_set(eb, ERR_CONFIG, "URL has an invalid port");
            v = v * 10 + (unsigned long)(*q - '0');
        }
        if (q == port || v == 0 || v > 65535)
            return errbuf_set(eb, ERR_CONFIG, "URL has an invalid port");
        u->port = (uint16_t)v;
        u->port_explicit = true;
    }
    p += alen;
    size_t plen = strcspn(p, "?#");
    if (plen == 0) {
        snprintf(u->path, sizeof(u->path), "/");
    } else {
        if (plen >= sizeof(u->path))
            return errbuf_set(eb, ERR_CONFIG, "URL path is too long");
        memcpy(u->path, p, plen);
        u->path[plen] = '\0';
    }
    p += plen;
    if (*p == '?') {
        p++;
        size_t qlen = strcspn(p, "#");
        if (qlen >= sizeof(u->query))
            return errbuf_set(eb, ERR_CONFIG, "URL query is too long");
        memcpy(u->query, p, qlen);
        u->query[qlen] = '\0';
    }
    /* A fragment is never sent to a server; it is dropped. */
    return 0;
}

static bool is_meta_key(const char *key, size_t len)
{
    static const char *const keys[] = {"client_name",         "client_version",
                                       "client_library_name", "client_library_version",
                                       "client_os",           "client_arch"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == len && memcmp(keys[i], key, len) == 0)
            return true;
    return false;
}

static int append_pair(char *q, size_t n, const char *key, const char *value)
{
    size_t len = strlen(q);
    if (len > 0) {
        if (len + 2 > n)
            return ERR_TOOBIG;
        q[len++] = '&';
        q[len] = '\0';
    }
    if (client_pct_encode(key, q, n) != 0)
        return ERR_TOOBIG;
    len = strlen(q);
    if (len + 2 > n)
        return ERR_TOOBIG;
    q[len++] = '=';
    q[len] = '\0';
    return client_pct_encode(value, q, n);
}

int client_url_add_meta(struct client_url *u, const struct client_meta *m)
{
    char q[sizeof(u->query)];
    size_t qlen = 0;
    q[0] = '\0';
    /* Keep every existing pair, byte for byte, unless it is one of our keys. */
    for (const char *p = u->query; *p;) {
        size_t plen = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        if (plen > 0 && !is_meta_key(p, klen)) {
            if (qlen + plen + 2 > sizeof(q))
                return ERR_TOOBIG;
            if (qlen > 0)
                q[qlen++] = '&';
            memcpy(q + qlen, p, plen);
            qlen += plen;
            q[qlen] = '\0';
        }
        p += plen;
        if (*p == '&')
            p++;
    }
    const char *pairs[][2] = {
        {"client_name", m->name},
        {"client_version", m->version},
        {"client_library_name", m->library_name},
        {"client_library_version", m->library_version},
        {"client_os", m->os},
        {"client_arch", m->arch},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (append_pair(q, sizeof(q), pairs[i][0], pairs[i][1]) != 0)
            return ERR_TOOBIG;
    memcpy(u->query, q, strlen(q) + 1);
    return 0;
}

void client_url_hostport(const struct client_url *u, char *out, size_t n)
{
    bool v6 = strchr(u->host, ':') != NULL;
    bool dflt = u->port == (u->tls ? 443 : 80);
    if (dflt)
        snprintf(out, n, v6 ? "[%s]" : "%s", u->host);
    else
        snprintf(out, n, v6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
}

int client_url_target(const struct client_url *u, char *out, size_t n)
{
    int w = u->query[0] ? snprintf(out, n, "%s?%s", u->path, u->query)
                        : snprintf(out, n, "%s", u->path);
    return (w < 0 || (size_t)w >= n) ? ERR_TOOBIG : 0;
}

int client_url_format(const struct client_url *u, char *out, size_t n)
{
    char hp[300];
    client_url_hostport(u, hp, sizeof(hp));
    int w = snprintf(out, n, "%s://%s%s%s%s", u->tls ? "wss" : "ws", hp, u->path,
                     u->query[0] ? "?" : "", u->query);
    return (w < 0 || (size_t)w >= n) ? ERR_TOOBIG : 0;
}

int client_server_url(const char *server, int scheme, enum ndt7_direction dir, char *out, size_t n)
{
    const char *sch = scheme == CLIENT_SCHEME_WS ? "ws" : "wss";
    const char *path = dir == NDT7_UPLOAD ? NDT7_PATH_UPLOAD : NDT7_PATH_DOWNLOAD;
    const char *c1 = strchr(server, ':');
    bool bare_v6 = server[0] != '[' && c1 && strchr(c1 + 1, ':');
    int w = snprintf(out, n, bare_v6 ? "%s://[%s]%s" : "%s://%s%s", sch, server, path);
    return (w < 0 || (size_t)w >= n) ? ERR_TOOBIG : 0;
}
