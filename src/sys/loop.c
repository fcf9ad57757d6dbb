/* Event loop: epoll over fds, a min-heap of timers behind one absolute timerfd,
 * signals through signalfd. All callbacks run on this thread. During a run, the
 * offloop worker may add and cancel timers and fds too, holding the run lock
 * (sys/gil.h), which this thread lets go of only inside epoll_wait: a timer
 * added then re-arms the timerfd, which wakes the wait.
 *
 * Timers use one CLOCK_MONOTONIC timerfd armed with TFD_TIMER_ABSTIME for the
 * earliest deadline, rather than an epoll_wait timeout, because epoll_wait
 * only has millisecond resolution and probes need sub-millisecond schedules.
 * The process timer slack is lowered to 1 ns at creation so the kernel does
 * not coalesce wake-ups by its default 50 us. */
#include "sys/loop.h"
#include "sys/fs.h"
#include "sys/clock.h"
#include "sys/gil.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct ash_timer {
    int64_t deadline;
    uint64_t seq; /* ties broken by insertion order: FIFO among equal deadlines */
    ash_timer_cb cb;
    void *data;
    size_t heap_index; /* SIZE_MAX when not in the heap */
    bool cancelled;
    bool running;
};

struct fd_watch {
    int fd;
    ash_fd_cb cb;
    void *data;
    bool live;
};

struct sig_watch {
    int signo;
    ash_signal_cb cb;
    void *data;
};

struct ash_loop {
    int epfd;
    int timerfd;
    int sigfd;
    sigset_t sigmask;
    sigset_t oldmask;     /* the caller's mask before the first signal watch: restored on free */
    struct fd_watch *fds; /* indexed by fd number */
    size_t nfds_cap;
    size_t nfds_live;
    ash_timer **heap;
    size_t heap_len, heap_cap;
    uint64_t seq;
    struct sig_watch *sigs;
    size_t nsigs;
    int64_t armed; /* deadline the timerfd is armed for, -1 if disarmed */
    int64_t now;
    bool stop;
    /* This thread is serving a turn's callbacks (between epoll_wait's return and the
     * next wait): timers added or cancelled then are armed once, just before the
     * wait, instead of at each change. A sample's transfer adds a timer due at once
     * and replaces it, several times per tick: each timerfd_settime was a syscall
     * (and a timer reprogramming) for a deadline the turn runs anyway. */
    bool in_turn;
};

static void heap_swap(ash_loop *l, size_t a, size_t b)
{
    ash_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static bool timer_less(const ash_timer *a, const ash_timer *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_up(ash_loop *l, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(l->heap[i], l->heap[p]))
            break;
        heap_swap(l, i, p);
        i = p;
    }
}

static void heap_down(ash_loop *l, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1, m = i;
        if (c < l->heap_len && timer_less(l->heap[c], l->heap[m]))
            m = c;
        if (c + 1 < l->heap_len && timer_less(l->heap[c + 1], l->heap[m]))
            m = c + 1;
        if (m == i)
            break;
        heap_swap(l, i, m);
        i = m;
    }
}

static int heap_push(ash_loop *l, ash_timer *t)
{
    if (ash_grow(&l->heap, &l->heap_cap, l->heap_len + 1, sizeof *l->heap, 16) < 0)
        return -1;
    t->heap_index = l->heap_len;
    l->heap[l->heap_len++] = t;
    heap_up(l, t->heap_index);
    return 0;
}

static void heap_remove(ash_loop *l, ash_timer *t)
{
    size_t i = t->heap_index;
    if (i == SIZE_MAX)
        return;
    l->heap_len--;
    if (i != l->heap_len) {
        heap_swap(l, i, l->heap_len);
        heap_down(l, i);
        heap_up(l, i);
    }
    t->heap_index = SIZE_MAX;
}

static void timer_ready(ash_loop *loop, int fd, uint32_t events, void *data);
static void signal_ready(ash_loop *loop, int fd, uint32_t events, void *data);

int ash_loop_new(ash_loop **out, ash_error_t *err)
{
    ash_loop *l = calloc(1, sizeof *l);
    if (!l)
        return ash_error(err, ENOMEM, "cannot allocate event loop");
    l->epfd = l->timerfd = l->sigfd = -1;
    l->armed = -1;
    sigemptyset(&l->sigmask);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        ash_error(err, errno, "epoll_create1");
        goto fail;
    }
    l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->timerfd < 0) {
        ash_error(err, errno, "timerfd_create");
        goto fail;
    }
    if (ash_loop_add_fd(l, l->timerfd, EPOLLIN, timer_ready, NULL, err) < 0)
        goto fail;
    /* Precise wake-ups matter more than the few extra wake-ups this costs. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    l->now = ash_now_ns();
    *out = l;
    return 0;
fail:
    ash_loop_free(l);
    return -1;
}

void ash_loop_free(ash_loop *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->heap_len; i++)
        free(l->heap[i]);
    free(l->heap);
    free(l->fds);
    free(l->sigs);
    if (l->sigfd >= 0) {
        close(l->sigfd);
        /* Restore, not unblock: a caller that blocked SIGINT itself (so Ctrl-C
         * between two runs waits for the next loop) keeps it blocked. */
        sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
    }
    if (l->timerfd >= 0)
        close(l->timerfd);
    if (l->epfd >= 0)
        close(l->epfd);
    free(l);
}

int ash_loop_add_fd(ash_loop *l, int fd, uint32_t events, ash_fd_cb cb, void *data, ash_error_t *err)
{
    if (fd < 0)
        return ash_error(err, EBADF, "cannot watch fd %d", fd);
    if ((size_t)fd >= l->nfds_cap) {
        size_t cap = l->nfds_cap ? l->nfds_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct fd_watch *w = realloc(l->fds, cap * sizeof *w);
        if (!w)
            return ash_error(err, ENOMEM, "cannot grow fd table");
        memset(w + l->nfds_cap, 0, (cap - l->nfds_cap) * sizeof *w);
        l->fds = w;
        l->nfds_cap = cap;
    }
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return ash_error(err, errno, "epoll_ctl(ADD, %d)", fd);
    l->fds[fd] = (struct fd_watch){.fd = fd, .cb = cb, .data = data, .live = true};
    if (fd != l->timerfd)
        l->nfds_live++;
    return 0;
}

int ash_loop_mod_fd(ash_loop *l, int fd, uint32_t events, ash_error_t *err)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return ash_error(err, errno, "epoll_ctl(MOD, %d)", fd);
    return 0;
}

void ash_loop_del_fd(ash_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds_cap || !l->fds[fd].live)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd].live = false;
    if (fd != l->timerfd)
        l->nfds_live--;
}

static void rearm(ash_loop *l)
{
    int64_t want = l->heap_len ? l->heap[0]->deadline : -1;
    if (want == l->armed)
        return;
    struct itimerspec its = {0};
    if (want >= 0) {
        /* A zero it_value disarms; a deadline in the past must still fire. */
        int64_t d = want > 0 ? want : 1;
        its.it_value.tv_sec = d / ASH_NS_PER_S;
        its.it_value.tv_nsec = d % ASH_NS_PER_S;
    }
    timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
    l->armed = want;
}

ash_timer *ash_loop_add_timer(ash_loop *l, int64_t deadline, ash_timer_cb cb, void *data)
{
    ash_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->deadline = deadline;
    t->seq = l->seq++;
    t->cb = cb;
    t->data = data;
    if (heap_push(l, t) < 0) {
        free(t);
        return NULL;
    }
    if (!l->in_turn)
        rearm(l);
    return t;
}

void ash_loop_cancel_timer(ash_loop *l, ash_timer *t)
{
    if (!t)
        return;
    if (t->running) {
        /* Inside its own callback: freed by the dispatcher when it returns. */
        t->cancelled = true;
        return;
    }
    heap_remove(l, t);
    free(t);
    if (!l->in_turn)
        rearm(l);
}

int64_t ash_timer_deadline(const ash_timer *t)
{
    return t->deadline;
}

static void run_timers(ash_loop *l)
{
    l->now = ash_now_ns();
    while (l->heap_len && l->heap[0]->deadline <= l->now && !l->stop) {
        ash_timer *t = l->heap[0];
        heap_remove(l, t);
        t->running = true;
        ash_gil_what("a timer callback of the event loop", NULL);
        int64_t next = t->cb(l, l->now, t->data);
        t->running = false;
        if (t->cancelled || next == ASH_TIMER_DONE) {
            free(t);
        } else {
            t->deadline = next;
            t->seq = l->seq++;
            if (heap_push(l, t) < 0)
                free(t);
        }
        l->now = ash_now_ns();
    }
    if (!l->in_turn)
        rearm(l);
}

static void timer_ready(ash_loop *l, int fd, uint32_t events, void *data)
{
    uint64_t expirations;
    while (read(fd, &expirations, sizeof expirations) > 0)
        ;
    l->armed = -1; /* an expired absolute timer is disarmed */
    run_timers(l);
}

int ash_loop_add_signal(ash_loop *l, int signo, ash_signal_cb cb, void *data, ash_error_t *err)
{
    struct sig_watch *s = realloc(l->sigs, (l->nsigs + 1) * sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "cannot add signal watch");
    l->sigs = s;
    l->sigs[l->nsigs++] = (struct sig_watch){.signo = signo, .cb = cb, .data = data};
    sigaddset(&l->sigmask, signo);
    if (sigprocmask(SIG_BLOCK, &l->sigmask, l->nsigs == 1 ? &l->oldmask : NULL) < 0)
        return ash_error(err, errno, "sigprocmask");
    int fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return ash_error(err, errno, "signalfd");
    if (l->sigfd < 0) {
        l->sigfd = fd;
        if (ash_loop_add_fd(l, fd, EPOLLIN, signal_ready, NULL, err) < 0)
            return -1;
        l->nfds_live--; /* the signal fd alone does not keep the loop alive */
    }
    return 0;
}

static void signal_ready(ash_loop *l, int fd, uint32_t events, void *data)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        for (size_t i = 0; i < l->nsigs; i++)
            if (l->sigs[i].signo == (int)si.ssi_signo)
                l->sigs[i].cb(l, (int)si.ssi_signo, l->sigs[i].data);
    }
}

void ash_loop_stop(ash_loop *l)
{
    l->stop = true;
}

bool ash_loop_stopped(const ash_loop *l)
{
    return l->stop;
}

int64_t ash_loop_now(const ash_loop *l)
{
    return l->now;
}

static int run_once(ash_loop *l, ash_error_t *err)
{
    struct epoll_event evs[64];
    /* Saved and restored: a callback may run a turn of its own (a nested run). */
    bool outer_turn = l->in_turn;
    l->in_turn = false; /* from here other threads may add timers: they arm at once */
    rearm(l);
    ash_gil_what("the event loop", NULL);
    bool held = ash_gil_idle_begin();
    int n = epoll_wait(l->epfd, evs, 64, -1);
    int e = errno;
    ash_gil_idle_end(held);
    errno = e;
    if (n < 0) {
        l->in_turn = outer_turn;
        if (errno == EINTR)
            return 0;
        return ash_error(err, errno, "epoll_wait");
    }
    l->in_turn = true;
    l->now = ash_now_ns();
    for (int i = 0; i < n && !l->stop; i++) {
        int fd = evs[i].data.fd;
        if ((size_t)fd >= l->nfds_cap || !l->fds[fd].live)
            continue; /* removed by an earlier callback in this batch */
        struct fd_watch w = l->fds[fd];
        if (fd != l->timerfd)
            ash_gil_what("an fd callback of the event loop", NULL);
        w.cb(l, fd, evs[i].events, w.data);
    }
    /* Timers due while fds were served run now rather than one wake-up later. */
    if (!l->stop && l->heap_len && l->heap[0]->deadline <= ash_now_ns())
        run_timers(l);
    l->in_turn = outer_turn;
    if (!outer_turn)
        rearm(l); /* for whoever waits next, this loop or not (nothing is left unarmed) */
    return 0;
}

int ash_loop_run(ash_loop *l, ash_error_t *err)
{
    l->stop = false;
    while (!l->stop && (l->nfds_live > 0 || l->heap_len > 0))
        if (run_once(l, err) < 0)
            return -1;
    return 0;
}

static int64_t deadline_reached(ash_loop *l, int64_t now, void *data)
{
    *(bool *)data = true;
    return ASH_TIMER_DONE;
}

int ash_loop_run_until(ash_loop *l, const bool *flag, int64_t deadline, ash_error_t *err)
{
    bool expired = false;
    ash_timer *t = NULL;
    if (deadline >= 0) {
        t = ash_loop_add_timer(l, deadline, deadline_reached, &expired);
        if (!t)
            return ash_error(err, ENOMEM, "cannot add timer");
    }
    l->stop = false;
    int ret = 0;
    while (!l->stop && !*flag && !expired) {
        if (run_once(l, err) < 0) {
            ret = -1;
            break;
        }
    }
    if (t && !expired)
        ash_loop_cancel_timer(l, t);
    return ret;
}
