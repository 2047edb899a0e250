/* Unit tests for src/net/sock: parsing, listen/connect/accept on loopback, addresses, cookies. */
#include "harness.h"

#include "core/err.h"
#include "net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

struct parse_case {
    const char *in;
    const char *host;
    int port; /* -1: must fail */
};

TEST(parse_hostport_cases)
{
    static const struct parse_case cases[] = {
        {"127.0.0.1:80", "127.0.0.1", 80},
        {"localhost:443", "localhost", 443},
        {"[::1]:8443", "::1", 8443},
        {"[2001:db8::1]:0", "2001:db8::1", 0},
        {"[fe80::1%lo]:9", "fe80::1%lo", 9},
        {":65535", "", 65535},
        {":0", "", 0},
        {"example.org:000080", NULL, -1}, /* more than 5 digits */
        {"host:65536", NULL, -1},
        {"host:99999", NULL, -1},
        {"host:-1", NULL, -1},
        {"host:+80", NULL, -1},
        {"host:8a", NULL, -1},
        {"host: 80", NULL, -1},
        {"host:", NULL, -1},
        {"host", NULL, -1},
        {"", NULL, -1},
        {"::1:80", NULL, -1},
        {"[::1]", NULL, -1},
        {"[::1]80", NULL, -1},
        {"[::1:80", NULL, -1},
        {"[]:80", NULL, -1},
        {"[not-v6]:80", NULL, -1},
        {"[1.2.3.4]:80", NULL, -1},
        {"ho st:80", NULL, -1},
        {"a/b:80", NULL, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[SOCK_HOSTSTRLEN] = "unchanged";
        uint16_t port = 1234;
        struct errbuf eb = {""};
        int r = sock_parse_hostport(cases[i].in, host, sizeof(host), &port, &eb);
        if (cases[i].port < 0) {
            if (r != ERR_CONFIG)
                FAIL_AT("\"%s\" should fail, got %d", cases[i].in, r);
            ASSERT_TRUE(eb.msg[0] != '\0');
        } else {
            if (r != 0)
                FAIL_AT("\"%s\" should parse: %s", cases[i].in, eb.msg);
            ASSERT_EQ_STR(host, cases[i].host);
            ASSERT_EQ_INT(port, cases[i].port);
        }
    }
    /* "00080" is five digits and fine */
    char host[8];
    uint16_t port;
    ASSERT_EQ_INT(sock_parse_hostport("h:00080", host, sizeof(host), &port, NULL), 0);
    ASSERT_EQ_INT(port, 80);
    /* host longer than the caller's buffer */
    struct errbuf eb;
    ASSERT_EQ_INT(sock_parse_hostport("averyveryverylonghost:1", host, sizeof(host), &port, &eb),
                  ERR_CONFIG);
    ASSERT_TRUE(strstr(eb.msg, "too long") != NULL);
}

/* Listen on addr, connect to it, accept; fills the three fds. */
static void connect_pair(const char *addr, int *lfd, int *cfd, int *sfd)
{
    struct errbuf eb = {""};
    *lfd = sock_listen(addr, true, 16, &eb);
    if (*lfd < 0)
        FAIL_AT("listen %s: %s", addr, eb.msg);
    char ip[SOCK_HOSTSTRLEN];
    int port = 0;
    ASSERT_EQ_INT(sock_local_ip(*lfd, ip, sizeof(ip), &port), 0);
    ASSERT_TRUE(port > 0);
    *cfd = sock_connect(ip, (uint16_t)port, 0, &eb);
    if (*cfd < 0)
        FAIL_AT("connect %s:%d: %s", ip, port, eb.msg);
    struct pollfd pfd = {.fd = *cfd, .events = POLLOUT};
    ASSERT_EQ_INT(poll(&pfd, 1, 5000), 1);
    ASSERT_EQ_INT(sock_connect_result(*cfd), 0);
    struct pollfd lp = {.fd = *lfd, .events = POLLIN};
    ASSERT_EQ_INT(poll(&lp, 1, 5000), 1);
    *sfd = sock_accept(*lfd);
    ASSERT_TRUE(*sfd >= 0);
    ASSERT_EQ_INT(sock_accept(*lfd), -EAGAIN);
}

TEST(listen_connect_accept_v4)
{
    int lfd, cfd, sfd;
    connect_pair("127.0.0.1:0", &lfd, &cfd, &sfd);
    char local[SOCK_ADDRSTRLEN], peer[SOCK_ADDRSTRLEN], cpeer[SOCK_ADDRSTRLEN];
    ASSERT_EQ_INT(sock_local_str(sfd, local, sizeof(local)), 0);
    ASSERT_EQ_INT(sock_peer_str(sfd, peer, sizeof(peer)), 0);
    ASSERT_EQ_INT(sock_peer_str(cfd, cpeer, sizeof(cpeer)), 0);
    ASSERT_EQ_STR(local, cpeer);
    ASSERT_TRUE(strncmp(local, "127.0.0.1:", 10) == 0);
    ASSERT_TRUE(strncmp(peer, "127.0.0.1:", 10) == 0);
    char ip[SOCK_HOSTSTRLEN];
    int port;
    ASSERT_EQ_INT(sock_peer_ip(sfd, ip, sizeof(ip), &port), 0);
    ASSERT_EQ_STR(ip, "127.0.0.1");
    char expect[SOCK_ADDRSTRLEN];
    snprintf(expect, sizeof(expect), "127.0.0.1:%d", port);
    ASSERT_EQ_STR(peer, expect);

    uint64_t c1 = 0, c2 = 0, c3 = 0;
    ASSERT_EQ_INT(sock_cookie(sfd, &c1), 0);
    ASSERT_EQ_INT(sock_cookie(cfd, &c2), 0);
    ASSERT_EQ_INT(sock_cookie(lfd, &c3), 0);
    ASSERT_TRUE(c1 != 0 && c2 != 0 && c3 != 0);
    ASSERT_TRUE(c1 != c2 && c1 != c3 && c2 != c3);
    uint64_t again = 0;
    ASSERT_EQ_INT(sock_cookie(sfd, &again), 0);
    ASSERT_EQ_U64(again, c1);
    ASSERT_EQ_INT(sock_set_nodelay(sfd), 0);

    /* data flows; accepted socket is non-blocking */
    ASSERT_EQ_INT(write(cfd, "ping", 4), 4);
    char buf[8];
    struct pollfd pfd = {.fd = sfd, .events = POLLIN};
    ASSERT_EQ_INT(poll(&pfd, 1, 5000), 1);
    ASSERT_EQ_INT(read(sfd, buf, sizeof(buf)), 4);
    ASSERT_EQ_INT(read(sfd, buf, sizeof(buf)), -1);
    ASSERT_EQ_INT(errno, EAGAIN);
    close(cfd);
    close(sfd);
    close(lfd);
}

TEST(listen_connect_accept_v6)
{
    int lfd, cfd, sfd;
    connect_pair("[::1]:0", &lfd, &cfd, &sfd);
    char local[SOCK_ADDRSTRLEN], ip[SOCK_HOSTSTRLEN];
    int port;
    ASSERT_EQ_INT(sock_local_str(sfd, local, sizeof(local)), 0);
    ASSERT_EQ_INT(sock_local_ip(sfd, ip, sizeof(ip), &port), 0);
    ASSERT_EQ_STR(ip, "::1");
    char expect[SOCK_ADDRSTRLEN];
    snprintf(expect, sizeof(expect), "[::1]:%d", port);
    ASSERT_EQ_STR(local, expect);
    close(cfd);
    close(sfd);
    close(lfd);
}

TEST(listen_any_is_dual_stack_and_same_port)
{
    struct errbuf eb = {""};
    int lfd = sock_listen(":0", true, 16, &eb);
    if (lfd < 0)
        FAIL_AT("listen :0: %s", eb.msg);
    int port;
    char ip[SOCK_HOSTSTRLEN];
    ASSERT_EQ_INT(sock_local_ip(lfd, ip, sizeof(ip), &port), 0);
    /* a second SO_REUSEPORT socket on the picked port */
    int lfd2 = sock_listen_same(lfd, 16, &eb);
    if (lfd2 < 0)
        FAIL_AT("listen_same: %s", eb.msg);
    int port2;
    ASSERT_EQ_INT(sock_local_ip(lfd2, ip, sizeof(ip), &port2), 0);
    ASSERT_EQ_INT(port2, port);
    /* IPv4 reaches the [::] socket(s), peer shown as plain v4 */
    int cfd = sock_connect("127.0.0.1", (uint16_t)port, AF_INET, &eb);
    ASSERT_TRUE(cfd >= 0);
    struct pollfd pfds[2] = {{.fd = lfd, .events = POLLIN}, {.fd = lfd2, .events = POLLIN}};
    ASSERT_TRUE(poll(pfds, 2, 5000) >= 1);
    int sfd = sock_accept((pfds[0].revents & POLLIN) ? lfd : lfd2);
    ASSERT_TRUE(sfd >= 0);
    char peer[SOCK_ADDRSTRLEN];
    ASSERT_EQ_INT(sock_peer_ip(sfd, ip, sizeof(ip), &port2), 0);
    ASSERT_EQ_STR(ip, "127.0.0.1");
    ASSERT_EQ_INT(sock_peer_str(sfd, peer, sizeof(peer)), 0);
    ASSERT_TRUE(strncmp(peer, "127.0.0.1:", 10) == 0);
    close(sfd);
    close(cfd);
    close(lfd2);
    close(lfd);
}

TEST(listen_errors_are_explained)
{
    struct errbuf eb = {""};
    int lfd = sock_listen("127.0.0.1:0", false, 16, &eb);
    ASSERT_TRUE(lfd >= 0);
    char local[SOCK_ADDRSTRLEN];
    ASSERT_EQ_INT(sock_local_str(lfd, local, sizeof(local)), 0);
    /* the same port without SO_REUSEPORT on either: EADDRINUSE, with the address */
    int r = sock_listen(local, false, 16, &eb);
    ASSERT_EQ_INT(r, -EADDRINUSE);
    ASSERT_TRUE(strstr(eb.msg, "bind 127.0.0.1:") != NULL);
    ASSERT_TRUE(strstr(eb.msg, "in use") != NULL);
    ASSERT_EQ_INT(sock_listen("nonsense", false, 16, &eb), ERR_CONFIG);
    ASSERT_EQ_INT(sock_listen("192.0.2.1:0", false, 16, &eb), -EADDRNOTAVAIL);
    close(lfd);
}

TEST(connect_refused_and_unresolvable)
{
    struct errbuf eb = {""};
    /* find a closed port: bind, note, close */
    int lfd = sock_listen("127.0.0.1:0", false, 1, &eb);
    char ip[SOCK_HOSTSTRLEN];
    int port;
    sock_local_ip(lfd, ip, sizeof(ip), &port);
    close(lfd);
    int cfd = sock_connect("127.0.0.1", (uint16_t)port, 0, &eb);
    ASSERT_TRUE(cfd >= 0);
    struct pollfd pfd = {.fd = cfd, .events = POLLOUT};
    ASSERT_EQ_INT(poll(&pfd, 1, 5000), 1);
    ASSERT_EQ_INT(sock_connect_result(cfd), -ECONNREFUSED);
    close(cfd);
    ASSERT_EQ_INT(sock_connect("no-such-host.invalid", 80, 0, &eb), ERR_RESOLVE);
    ASSERT_TRUE(strstr(eb.msg, "no-such-host.invalid") != NULL);
}

TEST(addr_format_forms)
{
    char out[SOCK_ADDRSTRLEN], ip[SOCK_HOSTSTRLEN];
    int port;
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(5678)};
    inet_pton(AF_INET, "1.2.3.4", &s4.sin_addr);
    sock_addr_format((struct sockaddr *)&s4, out, sizeof(out));
    ASSERT_EQ_STR(out, "1.2.3.4:5678");
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
    sock_addr_format((struct sockaddr *)&s6, out, sizeof(out));
    ASSERT_EQ_STR(out, "[2001:db8::1]:443");
    sock_addr_ip((struct sockaddr *)&s6, ip, sizeof(ip), &port);
    ASSERT_EQ_STR(ip, "2001:db8::1");
    ASSERT_EQ_INT(port, 443);
    inet_pton(AF_INET6, "::ffff:10.0.0.7", &s6.sin6_addr);
    sock_addr_format((struct sockaddr *)&s6, out, sizeof(out));
    ASSERT_EQ_STR(out, "10.0.0.7:443");
    sock_addr_ip((struct sockaddr *)&s6, ip, sizeof(ip), &port);
    ASSERT_EQ_STR(ip, "10.0.0.7");
}
