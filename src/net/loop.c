/*
 * loop: the epoll event loop with a binary min-heap of timers.
 *
 * One iteration: wait in epoll_wait (bounded by the earliest timer), refresh the cached "now",
 * dispatch fd events, fire due timers in (deadline, arming order), then run the deferred
 * callbacks. Invariants:
 *  - fds[fd] describes fd's registration; each registration gets a fresh generation number,
 *    carried in the epoll event data, so an event from the batch epoll_wait returned is dropped
 *    when its fd was deleted (or deleted and re-added) by an earlier callback of the iteration.
 *  - heap[1..heap_len] is a min-heap on (deadline, _seq); t->_heap_index is t's slot.
 *  - nothing the loop owns is freed while callbacks run; loop_defer queues work for the end.
 */
#include "net/loop.h"

#include "core/clock.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256
/* epoll data of the wake-up eventfd; never a valid (generation << 32 | fd). */
#define LOOP_WAKE_TAG UINT64_MAX

struct loop_fd {
    loop_io_cb cb;
    void *udata;
    unsigned events;
    uint32_t gen; /* generation of the current registration */
    bool active;
};

struct loop_defer_item {
    loop_defer_cb cb;
    void *udata;
};

struct loop {
    int epfd;
    int wakefd;
    uint64_t now;
    atomic_int stop;

    struct loop_fd *fds; /* indexed by fd */
    size_t nfds;
    uint32_t next_gen;

    struct loop_timer **heap; /* 1-based; heap[0] unused */
    size_t heap_len, heap_cap;
    uint64_t next_seq;

    struct loop_defer_item *defers;
    size_t ndefers, defers_cap;

    struct epoll_event events[LOOP_MAX_EVENTS];
};

struct loop *loop_create(void)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return NULL;
    int saved;
    int wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakefd < 0)
        goto out_close_epfd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LOOP_WAKE_TAG};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0)
        goto out_close_wakefd;

    struct loop *loop = xcalloc(1, sizeof(*loop));
    loop->epfd = epfd;
    loop->wakefd = wakefd;
    loop->now = clock_now();
    atomic_init(&loop->stop, 0);
    return loop;

out_close_wakefd:
    saved = errno;
    close(wakefd);
    errno = saved;
out_close_epfd:
    saved = errno;
    close(epfd);
    errno = saved;
    return NULL;
}

static void run_defers(struct loop *loop)
{
    /* Deferred callbacks may defer more; those run in this same pass. */
    for (size_t i = 0; i < loop->ndefers; i++) {
        struct loop_defer_item d = loop->defers[i];
        d.cb(d.udata);
    }
    loop->ndefers = 0;
}

void loop_destroy(struct loop *loop)
{
    if (!loop)
        return;
    run_defers(loop);
    close(loop->wakefd);
    close(loop->epfd);
    free(loop->fds);
    free(loop->heap);
    free(loop->defers);
    free(loop);
}

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & LOOP_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & LOOP_WRITE)
        e |= EPOLLOUT;
    return e;
}

int loop_add_fd(struct loop *loop, int fd, unsigned events, loop_io_cb cb, void *udata)
{
    if (fd < 0 || !cb)
        return -EINVAL;
    if ((size_t)fd >= loop->nfds) {
        size_t n = loop->nfds ? loop->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        loop->fds = xrealloc(loop->fds, n * sizeof(*loop->fds));
        memset(loop->fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*loop->fds));
        loop->nfds = n;
    }
    struct loop_fd *f = &loop->fds[fd];
    if (f->active)
        return -EEXIST;
    uint32_t gen = ++loop->next_gen;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    f->cb = cb;
    f->udata = udata;
    f->events = events;
    f->gen = gen;
    f->active = true;
    return 0;
}

static struct loop_fd *lookup(struct loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nfds || !loop->fds[fd].active)
        return NULL;
    return &loop->fds[fd];
}

int loop_mod_fd(struct loop *loop, int fd, unsigned events)
{
    struct loop_fd *f = lookup(loop, fd);
    if (!f)
        return -ENOENT;
    struct epoll_event ev = {.events = to_epoll(events),
                             .data.u64 = ((uint64_t)f->gen << 32) | (uint32_t)fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    f->events = events;
    return 0;
}

int loop_del_fd(struct loop *loop, int fd)
{
    struct loop_fd *f = lookup(loop, fd);
    if (!f)
        return -ENOENT;
    f->active = false;
    f->cb = NULL;
    f->udata = NULL;
    /* The fd may already be closed (and so gone from the epoll set): nothing to undo then. */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
        return -errno;
    return 0;
}

/* ---- timers: binary min-heap on (deadline, seq) ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->_seq < b->_seq);
}

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->_heap_index = i;
}

static void heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 1 && timer_before(t, loop->heap[i / 2])) {
        heap_set(loop, i, loop->heap[i / 2]);
        i /= 2;
    }
    heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i;
        if (c > loop->heap_len)
            break;
        if (c + 1 <= loop->heap_len && timer_before(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!timer_before(loop->heap[c], t))
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->_heap_index;
    struct loop_timer *last = loop->heap[loop->heap_len--];
    t->_heap_index = 0;
    if (last == t)
        return;
    heap_set(loop, i, last);
    if (i > 1 && timer_before(last, loop->heap[i / 2]))
        heap_up(loop, i);
    else
        heap_down(loop, i);
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *udata)
{
    memset(t, 0, sizeof(*t));
    t->cb = cb;
    t->udata = udata;
}

void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t delay_ns)
{
    if (t->_heap_index)
        heap_remove(loop, t);
    t->deadline = loop->now + delay_ns;
    if (t->deadline < loop->now) /* overflow: "never" */
        t->deadline = UINT64_MAX;
    t->_seq = loop->next_seq++;
    if (loop->heap_len + 1 >= loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        loop->heap = xrealloc(loop->heap, loop->heap_cap * sizeof(*loop->heap));
    }
    loop->heap_len++;
    heap_set(loop, loop->heap_len, t);
    heap_up(loop, loop->heap_len);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
    if (t->_heap_index)
        heap_remove(loop, t);
}

static void run_timers(struct loop *loop)
{
    /* Timers armed from here on (seq >= limit) wait for the next iteration. Any such timer
     * has deadline >= now, so it sorts after every timer that was already due. */
    uint64_t limit = loop->next_seq;
    while (loop->heap_len) {
        struct loop_timer *t = loop->heap[1];
        if (t->deadline > loop->now || t->_seq >= limit)
            break;
        heap_remove(loop, t);
        t->cb(loop, t, t->udata);
    }
}

/* ---- deferred callbacks ---- */

void loop_defer(struct loop *loop, loop_defer_cb cb, void *udata)
{
    if (loop->ndefers == loop->defers_cap) {
        loop->defers_cap = loop->defers_cap ? loop->defers_cap * 2 : 16;
        loop->defers = xrealloc(loop->defers, loop->defers_cap * sizeof(*loop->defers));
    }
    loop->defers[loop->ndefers++] = (struct loop_defer_item){cb, udata};
}

uint64_t loop_now(const struct loop *loop)
{
    return loop->now;
}

/* ---- running ---- */

static int wait_ms(struct loop *loop, int timeout_ms)
{
    if (loop->ndefers)
        return 0;
    if (!loop->heap_len)
        return timeout_ms;
    uint64_t deadline = loop->heap[1]->deadline;
    if (deadline <= loop->now)
        return 0;
    /* Round up so the timer is due when we wake. */
    uint64_t ms = (deadline - loop->now + NS_PER_MS - 1) / NS_PER_MS;
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms)
        return timeout_ms;
    return (int)ms;
}

static void drain_wakefd(struct loop *loop)
{
    uint64_t v;
    while (read(loop->wakefd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
    loop->now = clock_now();
    int n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, wait_ms(loop, timeout_ms));
    int result = 0;
    if (n < 0) {
        if (errno != EINTR)
            result = -errno;
        n = 0;
    }
    loop->now = clock_now();

    for (int i = 0; i < n; i++) {
        uint64_t data = loop->events[i].data.u64;
        if (data == LOOP_WAKE_TAG) {
            drain_wakefd(loop);
            continue;
        }
        int fd = (int)(uint32_t)data;
        uint32_t gen = (uint32_t)(data >> 32);
        struct loop_fd *f = lookup(loop, fd);
        if (!f || f->gen != gen)
            continue; /* deleted (or replaced) by an earlier callback of this batch */
        uint32_t e = loop->events[i].events;
        unsigned ev = 0;
        if (e & (EPOLLIN | EPOLLRDHUP))
            ev |= LOOP_READ;
        if (e & EPOLLOUT)
            ev |= LOOP_WRITE;
        if (e & (EPOLLERR | EPOLLHUP))
            ev |= LOOP_ERROR;
        /* Level-triggered: report only what the owner asked for, plus errors. */
        ev &= f->events | LOOP_ERROR;
        if (ev)
            f->cb(loop, fd, ev, f->udata);
    }

    run_timers(loop);
    run_defers(loop);
    return result;
}

int loop_run(struct loop *loop)
{
    int r = 0;
    while (r == 0) {
        r = loop_run_once(loop, -1);
        if (atomic_exchange(&loop->stop, 0))
            break;
    }
    return r;
}

void loop_stop(struct loop *loop)
{
    int saved = errno; /* may run in a signal handler */
    atomic_store(&loop->stop, 1);
    uint64_t one = 1;
    ssize_t w = write(loop->wakefd, &one, sizeof(one));
    (void)w; /* EAGAIN: the counter is saturated, the loop wakes anyway */
    errno = saved;
}
