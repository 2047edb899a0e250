/*
 * loop: one epoll event loop per thread, with timers on a binary min-heap.
 *
 * All callbacks run on the loop's thread. "now" is cached once per iteration
 * from clock_now() (injectable, see core/clock.h). Objects closed during an
 * iteration are freed at its end through loop_defer, so nothing is freed in
 * the middle of a callback chain.
 */
#ifndef FATHOM_NET_LOOP_H
#define FATHOM_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define LOOP_READ 0x1u
#define LOOP_WRITE 0x2u
#define LOOP_ERROR 0x4u /* EPOLLERR or EPOLLHUP; always reported */

/*
 * fd readiness; events is a LOOP_* mask, delivered in one call per fd per iteration (handle
 * LOOP_READ before LOOP_WRITE). May add/remove fds and timers, stop the loop.
 */
typedef void (*loop_io_cb)(struct loop *loop, int fd, unsigned events, void *udata);

struct loop_timer;
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *t, void *udata);

/* Caller-embedded timer. Zero-initialise (or loop_timer_init) before first use. */
struct loop_timer {
    uint64_t deadline; /* absolute, clock_now() ns; valid while armed */
    loop_timer_cb cb;
    void *udata;
    size_t _heap_index; /* 0 = not armed; else 1-based heap slot */
    uint64_t _seq;      /* arming order: ties fire first-armed first */
};

typedef void (*loop_defer_cb)(void *udata);

/* Create a loop (epoll instance). NULL on failure (errno set). */
struct loop *loop_create(void);
/* Destroy; fds registered are not closed (their owners close them). Runs pending defers. */
void loop_destroy(struct loop *loop);

/*
 * Watch fd for events (LOOP_READ and/or LOOP_WRITE, level-triggered). One
 * registration per fd. Returns 0 or -errno. The callback never fires
 * synchronously from these calls.
 */
int loop_add_fd(struct loop *loop, int fd, unsigned events, loop_io_cb cb, void *udata);
/* Change the watched events (cheap no-op when unchanged is the caller's job). */
int loop_mod_fd(struct loop *loop, int fd, unsigned events);
/* Stop watching fd. Safe from within its own callback. Returns 0 or -errno. */
int loop_del_fd(struct loop *loop, int fd);

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *udata);
/*
 * Arm (or re-arm) t to fire once, delay_ns after loop_now(). A timer armed from a timer
 * callback never fires in the same iteration, even with delay 0.
 */
void loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t delay_ns);
/* Disarm t if armed. Safe to call on an unarmed timer and from any callback. */
void loop_timer_stop(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
    return t->_heap_index != 0;
}

/* Run cb(udata) at the end of the current iteration (or at destroy). */
void loop_defer(struct loop *loop, loop_defer_cb cb, void *udata);

/* Cached monotonic time of this iteration, ns. */
uint64_t loop_now(const struct loop *loop);

/*
 * Run until loop_stop is called. Returns 0, or -errno if epoll_wait fails for
 * a reason other than EINTR. Blocks the calling thread.
 */
int loop_run(struct loop *loop);
/*
 * Ask loop_run to return after the current iteration. Thread-safe and
 * async-signal-safe (wakes the loop through an eventfd).
 */
void loop_stop(struct loop *loop);
/* One iteration with at most timeout_ms of waiting (-1: until an event). For tests. */
int loop_run_once(struct loop *loop, int timeout_ms);

#endif
