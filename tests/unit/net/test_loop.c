/* Unit tests for src/net/loop: timers (with an injected clock), fd callbacks, defer, stop. */
#include "harness.h"

#include "core/clock.h"
#include "core/err.h"
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

static void use_fake_clock(uint64_t start)
{
    fake_now = start;
    clock_now_fn = fake_clock;
}

/* ---- timers ---- */

struct fire_log {
    int order[64];
    int n;
};

struct tagged_timer {
    struct loop_timer t;
    struct fire_log *log;
    int tag;
};

static void log_fire(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)loop;
    struct tagged_timer *tt = udata;
    ASSERT_TRUE(&tt->t == t);
    ASSERT_TRUE(!loop_timer_armed(t));
    tt->log->order[tt->log->n++] = tt->tag;
}

TEST(timers_fire_in_deadline_order)
{
    use_fake_clock(1000 * NS_PER_SEC);
    struct loop *loop = loop_create();
    ASSERT_TRUE(loop != NULL);
    ASSERT_EQ_U64(loop_now(loop), 1000 * NS_PER_SEC);
    struct fire_log log = {.n = 0};
    /* delays in ms; tags 0..5; two equal deadlines fire in arming order (3 before 5) */
    static const int delays[] = {50, 10, 30, 20, 40, 20};
    struct tagged_timer tt[6];
    for (int i = 0; i < 6; i++) {
        tt[i].log = &log;
        tt[i].tag = i;
        loop_timer_init(&tt[i].t, log_fire, &tt[i]);
        loop_timer_start(loop, &tt[i].t, (uint64_t)delays[i] * NS_PER_MS);
        ASSERT_TRUE(loop_timer_armed(&tt[i].t));
    }
    ASSERT_EQ_INT(loop_run_once(loop, 0), 0);
    ASSERT_EQ_INT(log.n, 0);
    fake_now += 25 * NS_PER_MS;
    ASSERT_EQ_INT(loop_run_once(loop, 0), 0);
    ASSERT_EQ_INT(log.n, 3);
    ASSERT_EQ_INT(log.order[0], 1);
    ASSERT_EQ_INT(log.order[1], 3);
    ASSERT_EQ_INT(log.order[2], 5);
    fake_now += 100 * NS_PER_MS;
    ASSERT_EQ_INT(loop_run_once(loop, 0), 0);
    ASSERT_EQ_INT(log.n, 6);
    ASSERT_EQ_INT(log.order[3], 2);
    ASSERT_EQ_INT(log.order[4], 4);
    ASSERT_EQ_INT(log.order[5], 0);
    loop_destroy(loop);
}

TEST(timer_stop_and_restart)
{
    use_fake_clock(5 * NS_PER_SEC);
    struct loop *loop = loop_create();
    struct fire_log log = {.n = 0};
    struct tagged_timer a = {.log = &log, .tag = 1}, b = {.log = &log, .tag = 2};
    loop_timer_init(&a.t, log_fire, &a);
    loop_timer_init(&b.t, log_fire, &b);
    loop_timer_stop(loop, &a.t); /* unarmed: no-op */
    loop_timer_start(loop, &a.t, 10 * NS_PER_MS);
    loop_timer_start(loop, &b.t, 20 * NS_PER_MS);
    loop_timer_stop(loop, &a.t);
    ASSERT_TRUE(!loop_timer_armed(&a.t));
    /* re-arm b later: it must not fire at the old deadline */
    loop_timer_start(loop, &b.t, 50 * NS_PER_MS);
    ASSERT_EQ_U64(b.t.deadline, 5 * NS_PER_SEC + 50 * NS_PER_MS);
    fake_now += 30 * NS_PER_MS;
    loop_run_once(loop, 0);
    ASSERT_EQ_INT(log.n, 0);
    loop_timer_start(loop, &a.t, 0);
    fake_now += 30 * NS_PER_MS;
    loop_run_once(loop, 0);
    ASSERT_EQ_INT(log.n, 2);
    ASSERT_EQ_INT(log.order[0], 1);
    ASSERT_EQ_INT(log.order[1], 2);
    loop_destroy(loop);
}

struct rearm {
    struct loop_timer t, victim;
    int fired, victim_fired;
};

static void rearm_cb(struct loop *loop, struct loop_timer *t, void *udata)
{
    struct rearm *r = udata;
    r->fired++;
    loop_timer_start(loop, t, 0); /* must wait for the next iteration */
    loop_timer_stop(loop, &r->victim);
}

static void victim_cb(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)loop;
    (void)t;
    struct rearm *r = udata;
    r->victim_fired++;
}

TEST(timer_rearm_and_stop_from_callback)
{
    use_fake_clock(NS_PER_SEC);
    struct loop *loop = loop_create();
    struct rearm r = {.fired = 0};
    loop_timer_init(&r.t, rearm_cb, &r);
    loop_timer_init(&r.victim, victim_cb, &r);
    loop_timer_start(loop, &r.t, 1 * NS_PER_MS);
    loop_timer_start(loop, &r.victim, 2 * NS_PER_MS); /* due too, but stopped by r.t first */
    fake_now += 5 * NS_PER_MS;
    loop_run_once(loop, 0);
    ASSERT_EQ_INT(r.fired, 1);
    ASSERT_EQ_INT(r.victim_fired, 0);
    ASSERT_TRUE(loop_timer_armed(&r.t));
    loop_run_once(loop, 0);
    ASSERT_EQ_INT(r.fired, 2);
    loop_timer_stop(loop, &r.t);
    loop_destroy(loop);
}

struct many {
    struct loop_timer t;
    uint64_t *last;
    int *count;
};

static void many_cb(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)loop;
    struct many *m = udata;
    ASSERT_TRUE(t->deadline >= *m->last);
    *m->last = t->deadline;
    (*m->count)++;
}

TEST(timer_heap_many)
{
    use_fake_clock(NS_PER_SEC);
    struct loop *loop = loop_create();
    enum { N = 5000 };
    struct many *ms = calloc(N, sizeof(*ms));
    uint64_t last = 0;
    int count = 0;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ms[i].last = &last;
        ms[i].count = &count;
        loop_timer_init(&ms[i].t, many_cb, &ms[i]);
        loop_timer_start(loop, &ms[i].t, (x % 100000) * 1000);
    }
    /* stop every third, re-arm every fifth: exercises removal from the middle of the heap */
    int stopped = 0;
    for (int i = 0; i < N; i += 3) {
        loop_timer_stop(loop, &ms[i].t);
        stopped++;
    }
    for (int i = 0; i < N; i += 5)
        loop_timer_start(loop, &ms[i].t, (uint64_t)(N - i) * 7000);
    int rearmed_stopped = 0;
    for (int i = 0; i < N; i += 15)
        rearmed_stopped++;
    for (int step = 0; step < 200; step++) {
        fake_now += NS_PER_MS;
        loop_run_once(loop, 0);
    }
    ASSERT_EQ_INT(count, N - stopped + rearmed_stopped);
    for (int i = 0; i < N; i++)
        ASSERT_TRUE(!loop_timer_armed(&ms[i].t));
    free(ms);
    loop_destroy(loop);
}

TEST(wait_is_bounded_by_next_timer)
{
    /* real clock: a 30 ms timer wakes a loop asked to wait up to 10 s */
    struct loop *loop = loop_create();
    struct fire_log log = {.n = 0};
    struct tagged_timer a = {.log = &log, .tag = 7};
    loop_timer_init(&a.t, log_fire, &a);
    uint64_t t0 = loop_now(loop); /* the timer counts from the loop's cached now */
    loop_timer_start(loop, &a.t, 30 * NS_PER_MS);
    while (log.n == 0)
        loop_run_once(loop, 10000);
    uint64_t dt = clock_monotonic_ns() - t0;
    ASSERT_TRUE(dt >= 30 * NS_PER_MS);
    ASSERT_TRUE(dt < 2 * NS_PER_SEC);
    loop_destroy(loop);
}

/* ---- fds ---- */

struct pipe_state {
    int rfd, wfd;
    int reads, writes;
    char got[16];
    unsigned last_events;
};

static void pipe_cb(struct loop *loop, int fd, unsigned events, void *udata)
{
    struct pipe_state *ps = udata;
    ps->last_events = events;
    if (events & LOOP_READ) {
        ASSERT_EQ_INT(fd, ps->rfd);
        ssize_t n = read(fd, ps->got, sizeof(ps->got));
        ASSERT_TRUE(n > 0);
        ps->reads++;
    }
    if (events & LOOP_WRITE) {
        ASSERT_EQ_INT(fd, ps->wfd);
        ps->writes++;
        loop_mod_fd(loop, fd, 0); /* once is enough */
    }
}

TEST(fd_read_and_write_callbacks)
{
    struct loop *loop = loop_create();
    int p[2];
    ASSERT_EQ_INT(pipe(p), 0);
    struct pipe_state ps = {.rfd = p[0], .wfd = p[1]};
    ASSERT_EQ_INT(loop_add_fd(loop, p[0], LOOP_READ, pipe_cb, &ps), 0);
    ASSERT_EQ_INT(loop_add_fd(loop, p[0], LOOP_READ, pipe_cb, &ps), -EEXIST);
    ASSERT_EQ_INT(loop_add_fd(loop, p[1], LOOP_WRITE, pipe_cb, &ps), 0);
    loop_run_once(loop, 100);
    ASSERT_EQ_INT(ps.writes, 1);
    ASSERT_EQ_INT(ps.reads, 0);
    ASSERT_EQ_INT(write(p[1], "hi", 2), 2);
    loop_run_once(loop, 1000);
    ASSERT_EQ_INT(ps.reads, 1);
    ASSERT_EQ_MEM(ps.got, "hi", 2);
    /* nothing pending: a bounded wait returns with no callback */
    loop_run_once(loop, 10);
    ASSERT_EQ_INT(ps.reads, 1);
    ASSERT_EQ_INT(ps.writes, 1);
    ASSERT_EQ_INT(loop_del_fd(loop, p[0]), 0);
    ASSERT_EQ_INT(loop_del_fd(loop, p[0]), -ENOENT);
    ASSERT_EQ_INT(loop_del_fd(loop, p[1]), 0);
    ASSERT_EQ_INT(loop_mod_fd(loop, p[1], LOOP_WRITE), -ENOENT);
    close(p[0]);
    close(p[1]);
    loop_destroy(loop);
}

TEST(fd_hangup_reports_error_or_read)
{
    struct loop *loop = loop_create();
    int sv[2];
    ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct pipe_state ps = {.rfd = sv[0], .wfd = -1};
    ASSERT_EQ_INT(loop_add_fd(loop, sv[0], LOOP_READ, pipe_cb, &ps), 0);
    ASSERT_EQ_INT(write(sv[1], "x", 1), 1);
    close(sv[1]);
    loop_run_once(loop, 1000);
    ASSERT_TRUE(ps.last_events & LOOP_READ);
    loop_del_fd(loop, sv[0]);
    close(sv[0]);
    loop_destroy(loop);
}

/* Two readable fds; whichever callback runs first deletes (and closes) the other. */
struct del_state {
    struct loop *loop;
    int fds[2];
    int calls[2];
    bool deleted;
};

static void del_cb(struct loop *loop, int fd, unsigned events, void *udata)
{
    (void)events;
    struct del_state *ds = udata;
    int me = fd == ds->fds[0] ? 0 : 1;
    ds->calls[me]++;
    if (!ds->deleted) {
        ds->deleted = true;
        ASSERT_EQ_INT(loop_del_fd(loop, ds->fds[!me]), 0);
        /* delete ourselves too, from our own callback */
        ASSERT_EQ_INT(loop_del_fd(loop, fd), 0);
    }
}

TEST(fd_del_inside_callback_suppresses_batched_event)
{
    struct loop *loop = loop_create();
    int a[2], b[2];
    ASSERT_EQ_INT(pipe(a), 0);
    ASSERT_EQ_INT(pipe(b), 0);
    struct del_state ds = {.loop = loop, .fds = {a[0], b[0]}};
    ASSERT_EQ_INT(write(a[1], "1", 1), 1);
    ASSERT_EQ_INT(write(b[1], "2", 1), 1);
    ASSERT_EQ_INT(loop_add_fd(loop, a[0], LOOP_READ, del_cb, &ds), 0);
    ASSERT_EQ_INT(loop_add_fd(loop, b[0], LOOP_READ, del_cb, &ds), 0);
    loop_run_once(loop, 1000);
    ASSERT_EQ_INT(ds.calls[0] + ds.calls[1], 1);
    loop_run_once(loop, 10);
    ASSERT_EQ_INT(ds.calls[0] + ds.calls[1], 1);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    loop_destroy(loop);
}

/* ---- defer and stop ---- */

static void defer_count(void *udata)
{
    (*(int *)udata)++;
}

struct defer_chain {
    struct loop *loop;
    int n;
};

static void defer_again(void *udata)
{
    struct defer_chain *dc = udata;
    if (++dc->n < 3)
        loop_defer(dc->loop, defer_again, dc);
}

TEST(defer_runs_at_iteration_end_and_destroy)
{
    struct loop *loop = loop_create();
    int n = 0;
    loop_defer(loop, defer_count, &n);
    ASSERT_EQ_INT(n, 0);
    loop_run_once(loop, 1000); /* pending defers: must not wait */
    ASSERT_EQ_INT(n, 1);
    struct defer_chain dc = {loop, 0};
    loop_defer(loop, defer_again, &dc);
    loop_run_once(loop, 0);
    ASSERT_EQ_INT(dc.n, 3);
    loop_defer(loop, defer_count, &n);
    loop_destroy(loop);
    ASSERT_EQ_INT(n, 2);
}

static void stop_timer_cb(struct loop *loop, struct loop_timer *t, void *udata)
{
    (void)t;
    (*(int *)udata)++;
    loop_stop(loop);
}

TEST(stop_from_callback_and_restart)
{
    struct loop *loop = loop_create();
    int n = 0;
    struct loop_timer t;
    loop_timer_init(&t, stop_timer_cb, &n);
    loop_timer_start(loop, &t, NS_PER_MS);
    ASSERT_EQ_INT(loop_run(loop), 0);
    ASSERT_EQ_INT(n, 1);
    loop_timer_start(loop, &t, NS_PER_MS);
    ASSERT_EQ_INT(loop_run(loop), 0);
    ASSERT_EQ_INT(n, 2);
    loop_destroy(loop);
}

static void *stopper(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    loop_stop(arg);
    return NULL;
}

TEST(stop_from_another_thread)
{
    struct loop *loop = loop_create();
    pthread_t th;
    uint64_t t0 = clock_monotonic_ns();
    ASSERT_EQ_INT(pthread_create(&th, NULL, stopper, loop), 0);
    ASSERT_EQ_INT(loop_run(loop), 0); /* no fds, no timers: only the eventfd wakes it */
    pthread_join(th, NULL);
    ASSERT_TRUE(clock_monotonic_ns() - t0 >= 40 * NS_PER_MS);
    loop_destroy(loop);
}
