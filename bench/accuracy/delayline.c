/*
 * delayline: a userspace delay line and loss emulator for the accuracy lab, for kernels without
 * sch_netem.
 *
 * It runs in a middle network namespace that owns two veth ends, A (towards the client) and B
 * (towards the server), and forwards every Ethernet frame from A to B and from B to A after a
 * fixed delay, optionally dropping a fraction of them. It is a two-port bridge with a delay:
 * the hosts on either side share one subnet and ARP passes through like any other frame.
 *
 * Mechanism: one AF_PACKET SOCK_RAW socket per port with PACKET_VNET_HDR, so GSO super-packets
 * and partial checksums cross unchanged (the kernel segments and checksums them later, as it
 * would for a tap device); frames sent by this program are not read back (PACKET_IGNORE_OUTGOING
 * and a PACKET_OUTGOING check). Sending goes through the egress qdisc of the port, so rate
 * shaping (tbf) on the middle namespace's veth ends acts after the delay, like a router's
 * bottleneck queue.
 *
 * Invariants: one thread per direction; each holds a bounded FIFO (count and bytes capped) of
 * frames stamped with CLOCK_MONOTONIC at receipt; a frame leaves no earlier than its stamp plus
 * the delay, and frames leave in arrival order. Sleeping uses ppoll with a nanosecond timeout
 * (hrtimer), so release is late by scheduling latency only. A full FIFO drops the newest frame
 * and counts it (the counters are printed at exit; a non-zero overflow means the run is invalid).
 *
 * Usage: delayline -a IFACE -b IFACE [-d MS] [-D MS] [-l PERCENT] [-S US] [-s SEED]
 *   -d  one-way delay A->B in ms (default 0); -D  delay B->A (default: same as -d)
 *   -l  loss in percent applied to each direction independently (default 0)
 *   -S  spin window in µs (default 0): sleep until this long before a frame is due, then
 *       busy-poll. Timer wake-ups on a virtual machine can be milliseconds late; spinning
 *       trades CPU for a punctual release.
 * Prints "ready" on stdout once both ports are open; on SIGINT/SIGTERM prints one JSON line of
 * counters and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FIFO_SLOTS (1u << 16)     /* frames held per direction, at most */
#define FIFO_BYTES (512ull << 20) /* bytes held per direction, at most */
#define FRAME_MAX (65536 + 64)    /* vnet header + largest GSO frame on veth */
#define SOCK_BUF (256 << 20)      /* SO_RCVBUFFORCE / SO_SNDBUFFORCE */
#define RX_BATCH 64               /* frames read per wake-up before releasing again */
#define SPIN_MAX_QUEUE 4 /* spin only while the FIFO is this short: never under bulk load */
#define IDLE_NS (50 * 1000 * 1000ull) /* longest sleep, so a stop request is seen */

struct slot {
    uint64_t due_ns;
    uint32_t len;
    unsigned char *data;
};

struct dir {
    const char *name; /* "a2b" or "b2a" */
    int rx_fd;
    int tx_fd;
    uint64_t delay_ns;
    uint64_t spin_ns;        /* wake this much before the head is due, then poll without sleeping */
    uint32_t loss_threshold; /* drop when rand32 < threshold */
    uint64_t rng;
    struct slot *fifo;
    uint32_t head, count;
    uint64_t bytes_held;
    /* counters, read after join */
    uint64_t rx, tx, lost, overflow, tx_err, truncated, max_count, max_late_ns;
    uint64_t late_over_1ms; /* frames released more than 1 ms after their due time */
    int no_rt;              /* 1 when SCHED_FIFO was refused */
};

static atomic_int stop_flag;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, good enough for Bernoulli loss. */
static uint32_t rand32(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static int open_port(const char *ifname)
{
    unsigned idx = if_nametoindex(ifname);
    if (idx == 0) {
        fprintf(stderr, "delayline: no interface %s\n", ifname);
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        perror("delayline: socket(AF_PACKET)");
        return -1;
    }
    int one = 1, big = SOCK_BUF;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
        perror("delayline: PACKET_VNET_HDR");
        goto fail;
    }
    /* Best effort: older kernels lack it, and the PACKET_OUTGOING check covers them. */
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
        perror("delayline: SO_*BUFFORCE (continuing with defaults)");
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
    if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        perror("delayline: bind");
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static void release_due(struct dir *d, uint64_t now)
{
    while (d->count > 0) {
        struct slot *s = &d->fifo[d->head];
        if (s->due_ns > now)
            break;
        if (now - s->due_ns > d->max_late_ns)
            d->max_late_ns = now - s->due_ns;
        if (now - s->due_ns > 1000000)
            d->late_over_1ms++;
        /* ENOBUFS here is the bottleneck qdisc dropping: that is the link, not an error of ours. */
        if (send(d->tx_fd, s->data, s->len, 0) < 0)
            d->tx_err++;
        else
            d->tx++;
        d->bytes_held -= s->len;
        free(s->data);
        s->data = NULL;
        d->head = (d->head + 1) & (FIFO_SLOTS - 1);
        d->count--;
    }
}

static void receive_some(struct dir *d, unsigned char *buf)
{
    for (int i = 0; i < RX_BATCH; i++) {
        struct sockaddr_ll from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(d->rx_fd, buf, FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &flen);
        if (n < 0)
            return; /* EAGAIN, or EINTR at stop */
        uint64_t now = mono_ns();
        if (from.sll_pkttype == PACKET_OUTGOING)
            continue;
        d->rx++;
        if (n > FRAME_MAX) {
            d->truncated++;
            continue;
        }
        if (d->loss_threshold != 0 && rand32(&d->rng) < d->loss_threshold) {
            d->lost++;
            continue;
        }
        if (d->count == FIFO_SLOTS || d->bytes_held + (uint64_t)n > FIFO_BYTES) {
            d->overflow++;
            continue;
        }
        unsigned char *copy = malloc((size_t)n);
        if (copy == NULL) {
            d->overflow++;
            continue;
        }
        memcpy(copy, buf, (size_t)n);
        struct slot *s = &d->fifo[(d->head + d->count) & (FIFO_SLOTS - 1)];
        s->due_ns = now + d->delay_ns;
        s->len = (uint32_t)n;
        s->data = copy;
        d->count++;
        d->bytes_held += (uint64_t)n;
        if (d->count > d->max_count)
            d->max_count = d->count;
        if (d->delay_ns == 0)
            release_due(d, now);
    }
}

static void *dir_main(void *arg)
{
    struct dir *d = arg;
    unsigned char *buf = malloc(FRAME_MAX + 1);
    if (buf == NULL)
        return NULL;
    /* Real-time priority (best effort, needs root): under a CPU-bound test on two cores, a
     * normal thread can be woken several milliseconds late, which would add jitter to the
     * delay. The threads spin only with -S and a near-empty FIFO (see SPIN_MAX_QUEUE), so
     * they cannot starve the endpoints of a bulk test. */
    struct sched_param sp = {.sched_priority = 10};
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
        d->no_rt = 1;
    while (!atomic_load(&stop_flag)) {
        uint64_t now = mono_ns();
        release_due(d, now);
        receive_some(d, buf);
        now = mono_ns();
        release_due(d, now);
        uint64_t wait = IDLE_NS;
        if (d->count > 0) {
            uint64_t due = d->fifo[d->head].due_ns;
            wait = due > now ? due - now : 0;
            if (wait > IDLE_NS)
                wait = IDLE_NS;
            /* Inside the spin window: keep polling the socket without a timer. */
            if (d->count <= SPIN_MAX_QUEUE)
                wait = wait > d->spin_ns ? wait - d->spin_ns : 0;
        }
        struct pollfd p = {.fd = d->rx_fd, .events = POLLIN};
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000ull),
                              .tv_nsec = (long)(wait % 1000000000ull)};
        ppoll(&p, 1, &ts, NULL);
    }
    while (d->count > 0) {
        free(d->fifo[d->head].data);
        d->head = (d->head + 1) & (FIFO_SLOTS - 1);
        d->count--;
    }
    free(buf);
    return NULL;
}

static void print_dir(const struct dir *d)
{
    printf("\"%s\":{\"delay_ms\":%.3f,\"rx\":%llu,\"tx\":%llu,\"lost\":%llu,\"overflow\":%llu,"
           "\"tx_err\":%llu,\"truncated\":%llu,\"max_queue\":%llu,\"max_late_us\":%.1f,"
           "\"late_over_1ms\":%llu,\"realtime\":%s}",
           d->name, (double)d->delay_ns / 1e6, (unsigned long long)d->rx, (unsigned long long)d->tx,
           (unsigned long long)d->lost, (unsigned long long)d->overflow,
           (unsigned long long)d->tx_err, (unsigned long long)d->truncated,
           (unsigned long long)d->max_count, (double)d->max_late_ns / 1e3,
           (unsigned long long)d->late_over_1ms, d->no_rt ? "false" : "true");
}

static int parse_ms(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v < 0 || v > 10000)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *ifa = NULL, *ifb = NULL;
    double d_ab = 0, d_ba = -1, loss = 0, spin_us = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    int opt;
    while ((opt = getopt(argc, argv, "a:b:d:D:l:s:S:")) != -1) {
        switch (opt) {
        case 'a':
            ifa = optarg;
            break;
        case 'b':
            ifb = optarg;
            break;
        case 'd':
            if (parse_ms(optarg, &d_ab) < 0)
                goto usage;
            break;
        case 'D':
            if (parse_ms(optarg, &d_ba) < 0)
                goto usage;
            break;
        case 'l':
            if (parse_ms(optarg, &loss) < 0 || loss > 100)
                goto usage;
            break;
        case 'S':
            if (parse_ms(optarg, &spin_us) < 0)
                goto usage;
            break;
        case 's':
            seed = strtoull(optarg, NULL, 0) | 1;
            break;
        default:
            goto usage;
        }
    }
    if (ifa == NULL || ifb == NULL)
        goto usage;
    if (d_ba < 0)
        d_ba = d_ab;

    /* Block the stop signals before any thread starts, then wait for them here. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int fa = open_port(ifa), fb = open_port(ifb);
    if (fa < 0 || fb < 0)
        return 1;
    uint32_t thr =
        (uint32_t)(loss / 100.0 * 4294967296.0 > 4294967295.0 ? 4294967295.0
                                                              : loss / 100.0 * 4294967296.0);
    struct dir dirs[2] = {
        {.name = "a2b", .rx_fd = fa, .tx_fd = fb, .delay_ns = (uint64_t)(d_ab * 1e6)},
        {.name = "b2a", .rx_fd = fb, .tx_fd = fa, .delay_ns = (uint64_t)(d_ba * 1e6)},
    };
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        dirs[i].loss_threshold = thr;
        dirs[i].spin_ns = (uint64_t)(spin_us * 1e3);
        dirs[i].rng = seed + (uint64_t)i * 0x632BE59BD9B4E019ull;
        dirs[i].fifo = calloc(FIFO_SLOTS, sizeof(struct slot));
        if (dirs[i].fifo == NULL || pthread_create(&th[i], NULL, dir_main, &dirs[i]) != 0) {
            fprintf(stderr, "delayline: cannot start\n");
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("{\"tool\":\"delayline\",\"loss_pct\":%.4f,", loss);
    print_dir(&dirs[0]);
    printf(",");
    print_dir(&dirs[1]);
    printf("}\n");
    for (int i = 0; i < 2; i++)
        free(dirs[i].fifo);
    close(fa);
    close(fb);
    return 0;
usage:
    fprintf(stderr,
            "usage: delayline -a IFACE -b IFACE [-d MS] [-D MS] [-l PERCENT] [-S US] [-s SEED]\n");
    return 64;
}
