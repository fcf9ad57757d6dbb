/* The offloop worker: one thread, a FIFO of jobs, an eventfd back to the loop (offloop.h). */
#include "engine/offloop.h"

#include "sys/gil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
    ash_offloop_fn fn;
    void *arg;
    bool on_loop;
};

struct ash_offloop {
    ash_loop *loop;
    int efd;
    pthread_t thread;
    bool started;
    /* Under the run lock: the queue, and whether the worker has a job. */
    struct job *q;
    size_t head, n, cap;
    bool busy, kicking;
    /* Under mu: the handoff to the worker and its end. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool has_job, running, quit;
    struct job job;
};

static _Thread_local bool in_job;

bool ash_offloop_in_job(void)
{
    return in_job;
}

static void *worker(void *arg)
{
    struct ash_offloop *o = arg;
    ash_gil_set_yielding(true);
    for (;;) {
        pthread_mutex_lock(&o->mu);
        while (!o->has_job && !o->quit)
            pthread_cond_wait(&o->cv, &o->mu);
        if (!o->has_job) {
            pthread_mutex_unlock(&o->mu);
            break;
        }
        struct job j = o->job;
        o->has_job = false;
        pthread_mutex_unlock(&o->mu);

        ash_gil_acquire();
        in_job = true;
        j.fn(j.arg);
        in_job = false;
        o->busy = false;
        pthread_mutex_lock(&o->mu);
        o->running = false;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
        ash_gil_release();
        /* Wake the loop: it starts the next job and sees what this one changed. */
        uint64_t one = 1;
        ssize_t w = write(o->efd, &one, sizeof one);
        (void)w; /* an eventfd write fails only on overflow, and then it is readable anyway */
    }
    return NULL;
}

/* Start queued jobs while the worker is free (loop thread, lock held). */
static void kick(struct ash_offloop *o)
{
    if (o->kicking)
        return;
    o->kicking = true;
    while (!o->busy && o->n > 0) {
        struct job j = o->q[o->head];
        o->head = (o->head + 1) % o->cap;
        o->n--;
        if (j.on_loop) {
            in_job = true;
            j.fn(j.arg);
            in_job = false;
            continue;
        }
        o->busy = true;
        pthread_mutex_lock(&o->mu);
        o->job = j;
        o->has_job = true;
        o->running = true;
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
    }
    o->kicking = false;
}

static void job_ended(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)events;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    kick(data);
}

int ash_offloop_new(ash_loop *loop, struct ash_offloop **out, ash_error_t *err)
{
    struct ash_offloop *o = calloc(1, sizeof *o);
    if (!o)
        return ash_error(err, ENOMEM, "offloop worker");
    o->loop = loop;
    o->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (o->efd < 0) {
        ash_error(err, errno, "eventfd");
        free(o);
        return -1;
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    if (ash_loop_add_fd(loop, o->efd, EPOLLIN, job_ended, o, err) < 0)
        goto fail;
    /* Every signal stays with the loop thread (its signalfd): the worker blocks them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&o->thread, NULL, worker, o);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        ash_loop_del_fd(loop, o->efd);
        ash_error(err, e, "cannot start the offloop worker thread");
        goto fail;
    }
    o->started = true;
    *out = o;
    return 0;
fail:
    close(o->efd);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o);
    return -1;
}

int ash_offloop_queue(struct ash_offloop *o, ash_offloop_fn fn, void *arg, bool on_loop)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct job *q = malloc(cap * sizeof *q);
        if (!q)
            return -1;
        for (size_t i = 0; i < o->n; i++)
            q[i] = o->q[(o->head + i) % o->cap];
        free(o->q);
        o->q = q;
        o->head = 0;
        o->cap = cap;
    }
    o->q[(o->head + o->n) % o->cap] = (struct job){fn, arg, on_loop};
    o->n++;
    /* From the worker (a job queueing another): the loop starts it when this one ends. */
    if (!in_job || !o->busy)
        kick(o);
    return 0;
}

bool ash_offloop_idle(const struct ash_offloop *o)
{
    return !o->busy && o->n == 0;
}

void ash_offloop_drain(struct ash_offloop *o)
{
    if (!o)
        return;
    o->n = 0;
    o->head = 0;
    if (!o->busy)
        return;
    bool held = ash_gil_idle_begin();
    pthread_mutex_lock(&o->mu);
    while (o->running)
        pthread_cond_wait(&o->cv, &o->mu);
    pthread_mutex_unlock(&o->mu);
    ash_gil_idle_end(held);
    uint64_t v;
    ssize_t r = read(o->efd, &v, sizeof v);
    (void)r;
}

void ash_offloop_free(struct ash_offloop *o)
{
    if (!o)
        return;
    ash_offloop_drain(o);
    pthread_mutex_lock(&o->mu);
    o->quit = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (o->started) {
        bool held = ash_gil_idle_begin();
        pthread_join(o->thread, NULL);
        ash_gil_idle_end(held);
    }
    ash_loop_del_fd(o->loop, o->efd);
    close(o->efd);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o->q);
    free(o);
}
