/* The offloop worker and the run lock (issue 15 item 3): jobs run in the order they
 * were queued, on the worker or on the loop thread; a job waiting in a blocking
 * section does not stop the loop's timers; a job that holds the lock is named as the
 * cause of the lateness it makes; an abort's drain waits for the job in progress. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/offloop.h"
#include "sys/clock.h"
#include "sys/gil.h"
#include "sys/loop.h"
#include "test_run.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static void spin_ms(int ms)
{
    int64_t end = ash_now_ns() + (int64_t)ms * ASH_NS_PER_MS;
    while (ash_now_ns() < end)
        ;
}

struct seq {
    int order[16];
    int n;
    bool on_loop_thread[16];
    pthread_t loop_thread;
    bool done;
};

struct step {
    struct seq *s;
    int id;
    int blocking_ms, holding_ms;
};

static void step_job(void *arg)
{
    struct step *st = arg;
    if (st->blocking_ms) {
        ash_gil_blocking_begin();
        sleep_ms(st->blocking_ms);
        ash_gil_blocking_end();
    }
    if (st->holding_ms) {
        ash_gil_what("the test's holding job", NULL);
        spin_ms(st->holding_ms);
    }
    struct seq *s = st->s;
    s->on_loop_thread[s->n] = pthread_equal(pthread_self(), s->loop_thread);
    s->order[s->n++] = st->id;
}

static void last_job(void *arg)
{
    struct seq *s = arg;
    s->done = true;
}

/* A 5 ms periodic timer: its worst lateness. */
struct ticker {
    int64_t period, worst;
    int ticks;
    int64_t worst_due;
};

struct timed {
    ash_timer *timer;
    struct ticker *t;
};

static int64_t timed_tick(ash_loop *l, int64_t now, void *data)
{
    struct timed *td = data;
    int64_t due = ash_timer_deadline(td->timer);
    int64_t late = ash_now_ns() - due;
    ash_gil_what("the test's tick", NULL);
    if (late > td->t->worst) {
        td->t->worst = late;
        td->t->worst_due = due;
    }
    td->t->ticks++;
    return due + td->t->period;
}

/* A loop, the run lock held by this thread (the loop thread), and a worker. */
static void start(ash_loop **l, struct ash_offloop **o)
{
    ash_error_t err = {0};
    ck_assert_int_eq(ash_loop_new(l, &err), 0);
    ash_gil_enable();
    ck_assert_msg(ash_offloop_new(*l, o, &err) == 0, "%s", err.msg);
}

static void stop(ash_loop *l, struct ash_offloop *o)
{
    ash_offloop_free(o);
    ash_gil_disable();
    ash_loop_free(l);
}

/* Queue the jobs, then one on the loop thread that ends the wait; run the loop until it has. */
static void run_jobs(ash_loop *l, struct ash_offloop *o, struct seq *s, struct step *steps, const bool *on_loop, int n)
{
    ash_error_t err = {0};
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(ash_offloop_queue(o, step_job, &steps[i], on_loop[i]), 0);
    ck_assert_int_eq(ash_offloop_queue(o, last_job, s, true), 0);
    ck_assert_int_eq(ash_loop_run_until(l, &s->done, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert(s->done);
}

START_TEST(jobs_in_order_loop_keeps_time)
{
    ash_loop *l;
    struct ash_offloop *o;
    start(&l, &o);
    struct seq s = {.loop_thread = pthread_self()};
    /* Worker, loop, worker: the loop-thread job waits for the 60 ms one before it. */
    struct step steps[] = {{&s, 1, 60, 0}, {&s, 2, 0, 0}, {&s, 3, 10, 0}};
    static const bool on_loop[] = {false, true, false};
    struct ticker t = {.period = 5 * ASH_NS_PER_MS};
    struct timed td = {.t = &t};
    td.timer = ash_loop_add_timer(l, ash_now_ns() + t.period, timed_tick, &td);
    run_jobs(l, o, &s, steps, on_loop, 3);
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.order[0], 1);
    ck_assert_int_eq(s.order[1], 2);
    ck_assert_int_eq(s.order[2], 3);
    ck_assert(!s.on_loop_thread[0] && s.on_loop_thread[1] && !s.on_loop_thread[2]);
    /* 70 ms of jobs waiting in blocking sections: the 5 ms timer kept its schedule
     * (within its own period; before, it would have been 60 ms late). */
    ck_assert_int_ge(t.ticks, 12);
    ck_assert_msg(t.worst < t.period, "a tick was %.3f ms late", (double)t.worst / 1e6);
    ash_loop_cancel_timer(l, td.timer);
    stop(l, o);
}
END_TEST

START_TEST(a_job_holding_the_lock_is_named)
{
    ash_loop *l;
    struct ash_offloop *o;
    start(&l, &o);
    struct seq s = {.loop_thread = pthread_self()};
    struct step a = {&s, 1, 0, 30};
    static const bool on_worker = false;
    struct ticker t = {.period = 5 * ASH_NS_PER_MS};
    struct timed td = {.t = &t};
    td.timer = ash_loop_add_timer(l, ash_now_ns() + t.period, timed_tick, &td);
    run_jobs(l, o, &s, &a, &on_worker, 1);
    /* The job held the lock 30 ms without a blocking section: a tick waited for it. */
    ck_assert_msg(t.worst > 10 * ASH_NS_PER_MS, "worst %.3f ms", (double)t.worst / 1e6);
    struct ash_gil_busy b;
    int64_t total = 0;
    ck_assert_int_eq(ash_gil_busy_in(t.worst_due, t.worst_due + t.worst, &b, &total), 1);
    ck_assert_str_eq(b.what, "the test's holding job");
    ck_assert_int_ge(total * 2, t.worst);
    ash_loop_cancel_timer(l, td.timer);
    stop(l, o);
}
END_TEST

START_TEST(drain_waits_for_the_job_and_drops_the_queue)
{
    ash_loop *l;
    struct ash_offloop *o;
    start(&l, &o);
    struct seq s = {.loop_thread = pthread_self()};
    struct step a = {&s, 1, 50, 0}, b = {&s, 2, 0, 0};
    ck_assert_int_eq(ash_offloop_queue(o, step_job, &a, false), 0);
    ck_assert_int_eq(ash_offloop_queue(o, step_job, &b, false), 0);
    ck_assert(!ash_offloop_idle(o));
    sleep_ms(5); /* the worker has begun: it is in its blocking section */
    int64_t t0 = ash_now_ns();
    ash_offloop_drain(o);
    ck_assert_int_ge(ash_now_ns() - t0, 30 * ASH_NS_PER_MS);
    ck_assert_int_eq(s.n, 1); /* the job in progress ended; the queued one was dropped */
    ck_assert_int_eq(s.order[0], 1);
    ck_assert(ash_offloop_idle(o));
    stop(l, o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("offloop");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jobs_in_order_loop_keeps_time);
    tcase_add_test(tc, a_job_holding_the_lock_is_named);
    tcase_add_test(tc, drain_waits_for_the_job_and_drops_the_queue);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_NOFORK);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
