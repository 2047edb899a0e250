/*
 * sock: addresses and sockets. Parsing of "host:port", "[v6]:port" and
 * ":port", listening sockets with SO_REUSEPORT, non-blocking connects, and the
 * socket details ndt7 needs (SO_COOKIE, peer/local address strings).
 */
#ifndef FATHOM_NET_SOCK_H
#define FATHOM_NET_SOCK_H

#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest "[v6addr%scope]:port" string plus NUL. */
#define SOCK_ADDRSTRLEN 72
#define SOCK_HOSTSTRLEN 64

/*
 * Parse a listen address: "host:port", "[v6]:port" or ":port" (host empty =
 * all addresses, dual-stack IPv6 when available). host is numeric or a name
 * (resolved with getaddrinfo, AI_PASSIVE). Port 0 means ephemeral.
 * Returns 0 or ERR_CONFIG with eb explaining.
 */
int sock_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port,
                        struct errbuf *eb);

/*
 * Create a non-blocking, close-on-exec listening TCP socket bound to addr
 * (syntax as above) with SO_REUSEADDR and, when reuseport, SO_REUSEPORT.
 * For an empty host, binds [::] with IPV6_V6ONLY off (falls back to 0.0.0.0).
 * Returns the fd, or a negative error with eb explaining (e.g. "bind
 * 127.0.0.1:80: Permission denied").
 */
int sock_listen(const char *addr, bool reuseport, int backlog, struct errbuf *eb);

/*
 * Like sock_listen but bound to exactly the local address of an existing
 * listening fd (so every worker gets its own SO_REUSEPORT socket on the port
 * that was picked, even when the first bind asked for port 0).
 */
int sock_listen_same(int fd, int backlog, struct errbuf *eb);

/* Accept one connection (non-blocking, close-on-exec). fd or -errno (-EAGAIN). */
int sock_accept(int listen_fd);

/*
 * Start a non-blocking connect to host:port (family 0 = any, AF_INET or
 * AF_INET6 to force). Resolves with getaddrinfo (blocking: client side only)
 * and tries each address until one starts; returns the fd (connect in
 * progress or done; wait for writability then check sock_connect_result), or a
 * negative error with eb explaining.
 */
int sock_connect(const char *host, uint16_t port, int family, struct errbuf *eb);
/* After writability: 0 when connected, else -errno (SO_ERROR). */
int sock_connect_result(int fd);

/* "1.2.3.4:5678" or "[2001:db8::1]:443" (v4-mapped v6 printed as v4). */
void sock_addr_format(const struct sockaddr *sa, char *out, size_t n);
/* Bare IP ("1.2.3.4", "2001:db8::1", v4-mapped as v4) and port of an address. */
void sock_addr_ip(const struct sockaddr *sa, char *ip, size_t n, int *port);
/* Local and peer addresses of a connected fd, formatted as sock_addr_format. 0 or -errno. */
int sock_local_str(int fd, char *out, size_t n);
int sock_peer_str(int fd, char *out, size_t n);
/* Bare IP and port of local/peer end. 0 or -errno. */
int sock_local_ip(int fd, char *ip, size_t n, int *port);
int sock_peer_ip(int fd, char *ip, size_t n, int *port);

/* SO_COOKIE of a socket. 0 or -errno. */
int sock_cookie(int fd, uint64_t *cookie);
/* TCP_NODELAY on. */
int sock_set_nodelay(int fd);

#endif
