/*
 * sock: address parsing, listening and connecting TCP sockets, address formatting.
 *
 * Every socket made here is non-blocking and close-on-exec from birth (SOCK_NONBLOCK |
 * SOCK_CLOEXEC, accept4), so no fd leaks into a child and no call here blocks except the
 * getaddrinfo of sock_connect (client side) and of sock_listen for a host name (start-up).
 */
#include "net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static bool host_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

static bool valid_v6(const char *p, size_t n)
{
    char tmp[INET6_ADDRSTRLEN];
    const char *pct = memchr(p, '%', n);
    size_t alen = pct ? (size_t)(pct - p) : n;
    if (alen == 0 || alen >= sizeof(tmp))
        return false;
    if (pct) { /* zone: an interface name or number, non-empty */
        size_t zlen = n - alen - 1;
        if (zlen == 0 || zlen >= IF_NAMESIZE)
            return false;
        for (size_t i = 0; i < zlen; i++)
            if (!host_char_ok(pct[1 + i]))
                return false;
    }
    memcpy(tmp, p, alen);
    tmp[alen] = '\0';
    struct in6_addr a;
    return inet_pton(AF_INET6, tmp, &a) == 1;
}

int sock_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                        struct errbuf *eb)
{
    if (!s || !*s)
        return errbuf_set(eb, ERR_CONFIG, "empty address (want host:port, [v6]:port or :port)");
    const char *h, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return errbuf_set(eb, ERR_CONFIG, "address \"%s\": missing ']'", s);
        h = s + 1;
        hlen = (size_t)(close - h);
        if (!valid_v6(h, hlen))
            return errbuf_set(eb, ERR_CONFIG, "address \"%s\": invalid IPv6 address", s);
        if (close[1] != ':')
            return errbuf_set(eb, ERR_CONFIG, "address \"%s\": expected ':port' after ']'", s);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return errbuf_set(eb, ERR_CONFIG, "address \"%s\": missing ':port'", s);
        h = s;
        hlen = (size_t)(colon - s);
        if (memchr(h, ':', hlen))
            return errbuf_set(eb, ERR_CONFIG,
                              "address \"%s\": IPv6 addresses need brackets, as in [::1]:443", s);
        for (size_t i = 0; i < hlen; i++)
            if (!host_char_ok(h[i]))
                return errbuf_set(eb, ERR_CONFIG, "address \"%s\": invalid character in host", s);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0)
        return errbuf_set(eb, ERR_CONFIG, "address \"%s\": missing port", s);
    unsigned long v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] < '0' || p[i] > '9' || i >= 5)
            return errbuf_set(eb, ERR_CONFIG, "address \"%s\": port must be 0-65535", s);
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v > 65535)
        return errbuf_set(eb, ERR_CONFIG, "address \"%s\": port must be 0-65535", s);
    if (hlen >= hostlen)
        return errbuf_set(eb, ERR_CONFIG, "address \"%s\": host too long", s);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return 0;
}

/* socket + options + bind + listen. v6only: -1 leave the default, else set IPV6_V6ONLY. */
static int listen_on(const struct sockaddr *sa, socklen_t salen, bool reuseport, int v6only,
                     int backlog, struct errbuf *eb)
{
    char name[SOCK_ADDRSTRLEN];
    sock_addr_format(sa, name, sizeof(name));
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return errbuf_set(eb, -errno, "socket for %s: %s", name, strerror(errno));
    int one = 1;
    int r;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        r = errbuf_set(eb, -errno, "SO_REUSEADDR on %s: %s", name, strerror(errno));
        goto out_close_fd;
    }
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        r = errbuf_set(eb, -errno, "SO_REUSEPORT on %s: %s", name, strerror(errno));
        goto out_close_fd;
    }
    if (sa->sa_family == AF_INET6 && v6only >= 0 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) {
        r = errbuf_set(eb, -errno, "IPV6_V6ONLY on %s: %s", name, strerror(errno));
        goto out_close_fd;
    }
    if (bind(fd, sa, salen) < 0) {
        r = errbuf_set(eb, -errno, "bind %s: %s", name, strerror(errno));
        goto out_close_fd;
    }
    if (listen(fd, backlog) < 0) {
        r = errbuf_set(eb, -errno, "listen %s: %s", name, strerror(errno));
        goto out_close_fd;
    }
    return fd;

out_close_fd:
    close(fd);
    return r;
}

int sock_listen(const char *addr, bool reuseport, int backlog, struct errbuf *eb)
{
    char host[SOCK_HOSTSTRLEN];
    uint16_t port;
    int r = sock_parse_hostport(addr, host, sizeof(host), &port, eb);
    if (r < 0)
        return r;

    if (!host[0]) {
        struct sockaddr_in6 s6 = {
            .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
        r = listen_on((struct sockaddr *)&s6, sizeof(s6), reuseport, 0, backlog, eb);
        if (r >= 0 || (r != -EAFNOSUPPORT && r != -EADDRNOTAVAIL))
            return r;
        struct sockaddr_in s4 = {
            .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
        return listen_on((struct sockaddr *)&s4, sizeof(s4), reuseport, -1, backlog, eb);
    }

    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0)
        return errbuf_set(eb, ERR_RESOLVE, "resolve %s: %s", host, gai_strerror(g));
    r = ERR_RESOLVE;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        /* An explicit v6 address means that address only. */
        r = listen_on(ai->ai_addr, ai->ai_addrlen, reuseport, 1, backlog, eb);
        if (r >= 0)
            break;
    }
    freeaddrinfo(res);
    return r;
}

int sock_listen_same(int fd, int backlog, struct errbuf *eb)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return errbuf_set(eb, -errno, "getsockname: %s", strerror(errno));
    int v6only = -1;
    if (ss.ss_family == AF_INET6) {
        socklen_t olen = sizeof(v6only);
        if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) < 0)
            return errbuf_set(eb, -errno, "IPV6_V6ONLY: %s", strerror(errno));
    }
    return listen_on((struct sockaddr *)&ss, len, true, v6only, backlog, eb);
}

int sock_accept(int listen_fd)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != EINTR)
            return -errno;
    }
}

int sock_connect(const char *host, uint16_t port, int family, struct errbuf *eb)
{
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    struct addrinfo hints = {
        .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0)
        return errbuf_set(eb, ERR_RESOLVE, "resolve %s: %s", host,
                          g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    int r = ERR_RESOLVE;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char name[SOCK_ADDRSTRLEN];
        sock_addr_format(ai->ai_addr, name, sizeof(name));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) {
            r = errbuf_set(eb, -errno, "socket for %s: %s", name, strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            r = fd;
            break;
        }
        r = errbuf_set(eb, -errno, "connect %s: %s", name, strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    if (r == ERR_RESOLVE)
        errbuf_set(eb, r, "resolve %s: no usable address", host);
    return r;
}

int sock_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

/* The bare IP of sa into ip (v4-mapped shown as v4); false for a non-IP family. */
static bool format_ip(const struct sockaddr *sa, char *ip, size_t n, int *port, bool *v6)
{
    *v6 = false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)n);
        *port = ntohs(s4->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(s6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)n);
            return true;
        }
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)n);
        *v6 = true;
        return true;
    }
    return false;
}

void sock_addr_format(const struct sockaddr *sa, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    bool v6;
    if (!format_ip(sa, ip, sizeof(ip), &port, &v6)) {
        snprintf(out, n, "(family %d)", (int)sa->sa_family);
        return;
    }
    if (!v6) {
        snprintf(out, n, "%s:%d", ip, port);
        return;
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    if (s6->sin6_scope_id) {
        char ifname[IF_NAMESIZE];
        if (if_indextoname(s6->sin6_scope_id, ifname))
            snprintf(out, n, "[%s%%%s]:%d", ip, ifname, port);
        else
            snprintf(out, n, "[%s%%%u]:%d", ip, (unsigned)s6->sin6_scope_id, port);
        return;
    }
    snprintf(out, n, "[%s]:%d", ip, port);
}

void sock_addr_ip(const struct sockaddr *sa, char *ip, size_t n, int *port)
{
    char tmp[INET6_ADDRSTRLEN] = "";
    int p = 0;
    bool v6;
    if (!format_ip(sa, tmp, sizeof(tmp), &p, &v6))
        tmp[0] = '\0';
    snprintf(ip, n, "%s", tmp);
    if (port)
        *port = p;
}

static int endpoint(int fd, bool peer, struct sockaddr_storage *ss)
{
    socklen_t len = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    int r = peer ? getpeername(fd, (struct sockaddr *)ss, &len)
                 : getsockname(fd, (struct sockaddr *)ss, &len);
    return r < 0 ? -errno : 0;
}

int sock_local_str(int fd, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int r = endpoint(fd, false, &ss);
    if (r == 0)
        sock_addr_format((struct sockaddr *)&ss, out, n);
    return r;
}

int sock_peer_str(int fd, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int r = endpoint(fd, true, &ss);
    if (r == 0)
        sock_addr_format((struct sockaddr *)&ss, out, n);
    return r;
}

int sock_local_ip(int fd, char *ip, size_t n, int *port)
{
    struct sockaddr_storage ss;
    int r = endpoint(fd, false, &ss);
    if (r == 0)
        sock_addr_ip((struct sockaddr *)&ss, ip, n, port);
    return r;
}

int sock_peer_ip(int fd, char *ip, size_t n, int *port)
{
    struct sockaddr_storage ss;
    int r = endpoint(fd, true, &ss);
    if (r == 0)
        sock_addr_ip((struct sockaddr *)&ss, ip, n, port);
    return r;
}

int sock_cookie(int fd, uint64_t *cookie)
{
    uint64_t v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &v, &len) < 0)
        return -errno;
    *cookie = v;
    return 0;
}

int sock_set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        return -errno;
    return 0;
}
