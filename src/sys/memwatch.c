/* Watch a cgroup's memory: OOM kills as the kernel signals them (v2 inotify on
 * memory.events, v1 eventfd on memory.oom_control) plus periodic usage/PSI samples. */
#include "sys/memwatch.h"

#include "sys/clock.h"
#include "sys/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

/* After the v1 eventfd fires the kernel has only *entered* OOM: the victim is
 * chosen and counted a moment later. Re-read the counter this often, this long. */
#define RECHECK_NS (2 * ASH_NS_PER_MS)
#define RECHECK_FOR_NS (500 * ASH_NS_PER_MS)

struct ash_memwatch {
    ash_loop *loop;
    struct ash_cgroup cg;
    struct ash_memwatch_cbs cbs;
    bool v2;
    int efd;        /* v1: eventfd registered on memory.oom_control */
    int ocfd;       /* v1: memory.oom_control kept open (the registration lives while it is) */
    int ifd;        /* v2: inotify on memory.events */
    uint64_t kills; /* last count reported */
    int64_t every;
    ash_timer *sampler;
    ash_timer *recheck;
    int64_t signal_t; /* when the kernel last told us (v1), for the kills the recheck finds */
    int64_t recheck_until;
};

/* "key value" line of a flat keyed file; -1 when absent. */
static long long keyed(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return atoll(p + kl + 1);
    }
    return -1;
}

static uint64_t parse_limit(const char *s)
{
    if (strncmp(s, "max", 3) == 0)
        return UINT64_MAX;
    unsigned long long v = strtoull(s, NULL, 10);
    /* v1 "unlimited" is PAGE_COUNTER_MAX * PAGE_SIZE: anything above 2^62 is no limit. */
    return v >= (1ull << 62) ? UINT64_MAX : (uint64_t)v;
}

int ash_mem_read(const struct ash_cgroup *cg, struct ash_mem_sample *s, ash_error_t *err)
{
    char path[600], buf[1024];
    memset(s, 0, sizeof *s);
    const char *dir = cg->mem_v2 ? cg->v2 : cg->memory;
    if (!dir[0])
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP, "this cgroup has no memory controller");
    snprintf(path, sizeof path, "%s/%s", dir, cg->mem_v2 ? "memory.current" : "memory.usage_in_bytes");
    if (ash_read_text(path, buf, sizeof buf) < 0)
        return ash_error(err, errno, "cannot read %s", path);
    s->usage = strtoull(buf, NULL, 10);
    snprintf(path, sizeof path, "%s/%s", dir, cg->mem_v2 ? "memory.max" : "memory.limit_in_bytes");
    s->limit = ash_read_text(path, buf, sizeof buf) >= 0 ? parse_limit(buf) : UINT64_MAX;
    snprintf(path, sizeof path, "%s/%s", dir, cg->mem_v2 ? "memory.events" : "memory.oom_control");
    if (ash_read_text(path, buf, sizeof buf) >= 0) {
        long long k = keyed(buf, "oom_kill");
        s->oom_kills = k > 0 ? (uint64_t)k : 0;
    }
    /* PSI lives in the v2 hierarchy even on hybrid machines (no controller needed). */
    if (cg->v2[0]) {
        snprintf(path, sizeof path, "%s/memory.pressure", cg->v2);
        if (ash_read_text(path, buf, sizeof buf) >= 0) {
            const char *some = strstr(buf, "some avg10="), *full = strstr(buf, "full avg10=");
            if (some) {
                s->has_psi = true;
                s->psi_some10 = atof(some + 11);
                s->psi_full10 = full ? atof(full + 11) : 0;
            }
        }
    }
    return 0;
}

/* Report kills beyond what was reported, stamped t. Returns how many were new. */
static uint64_t check_kills(struct ash_memwatch *w, int64_t t)
{
    struct ash_mem_sample s;
    if (ash_mem_read(&w->cg, &s, NULL) < 0)
        return 0;
    if (s.oom_kills <= w->kills)
        return 0;
    uint64_t n = s.oom_kills - w->kills;
    w->kills = s.oom_kills;
    if (w->cbs.oom)
        w->cbs.oom(w->cbs.arg, t, n, &s);
    return n;
}

static int64_t recheck_tick(ash_loop *loop, int64_t now, void *data)
{
    struct ash_memwatch *w = data;
    (void)loop;
    if (check_kills(w, w->signal_t) > 0 || now >= w->recheck_until) {
        w->recheck = NULL;
        return ASH_TIMER_DONE;
    }
    return now + RECHECK_NS;
}

static void on_v1_event(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_memwatch *w = data;
    (void)events;
    uint64_t v;
    /* The time the kernel told us: taken before anything else. */
    int64_t t = ash_now_ns();
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        return;
    w->signal_t = t;
    if (check_kills(w, t) == 0 && !w->recheck) {
        w->recheck_until = t + RECHECK_FOR_NS;
        /* Without it the kills are still counted from the kernel's own counter, but seen
         * only at the next event or sample: a late oom-kill event, so it is said. */
        w->recheck = ash_loop_add_timer(loop, t + RECHECK_NS, recheck_tick, w);
        if (!w->recheck && w->cbs.failed)
            w->cbs.failed(w->cbs.arg,
                          "memory watch: out of memory for the timer that reads the OOM kills after an event");
    }
}

static void on_v2_event(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_memwatch *w = data;
    (void)loop;
    (void)events;
    int64_t t = ash_now_ns();
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    check_kills(w, t);
}

static int64_t sample_tick(ash_loop *loop, int64_t now, void *data)
{
    struct ash_memwatch *w = data;
    (void)loop;
    struct ash_mem_sample s;
    if (ash_mem_read(&w->cg, &s, NULL) == 0) {
        /* A kill the notification missed (or that raced it) still gets reported. */
        if (s.oom_kills > w->kills && !w->recheck) {
            uint64_t n = s.oom_kills - w->kills;
            w->kills = s.oom_kills;
            if (w->cbs.oom)
                w->cbs.oom(w->cbs.arg, now, n, &s);
        }
        if (w->cbs.sample)
            w->cbs.sample(w->cbs.arg, now, &s);
    }
    return now + w->every;
}

int ash_memwatch_open(ash_loop *loop, const struct ash_cgroup *cg, int64_t every_ns, const struct ash_memwatch_cbs *cbs,
                      struct ash_memwatch **out, ash_error_t *err)
{
    struct ash_memwatch *w = calloc(1, sizeof *w);
    if (!w)
        return ash_error(err, ENOMEM, "memory watch");
    w->loop = loop;
    w->cg = *cg;
    w->cg.n_procs_fd = 0;
    w->cbs = *cbs;
    w->efd = w->ocfd = w->ifd = -1;
    w->v2 = cg->mem_v2;
    w->every = every_ns;
    struct ash_mem_sample s;
    if (ash_mem_read(cg, &s, err) < 0)
        goto fail;
    w->kills = s.oom_kills;
    char path[600], line[64];
    if (w->v2) {
        w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        snprintf(path, sizeof path, "%s/memory.events", cg->v2);
        if (w->ifd < 0 || inotify_add_watch(w->ifd, path, IN_MODIFY) < 0) {
            ash_error(err, errno, "cannot watch %s", path);
            goto fail;
        }
        if (ash_loop_add_fd(loop, w->ifd, EPOLLIN, on_v2_event, w, err) < 0)
            goto fail;
    } else {
        snprintf(path, sizeof path, "%s/memory.oom_control", cg->memory);
        w->ocfd = open(path, O_RDONLY | O_CLOEXEC);
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->ocfd < 0 || w->efd < 0) {
            ash_error(err, errno, "cannot open %s for OOM notification", path);
            goto fail;
        }
        snprintf(path, sizeof path, "%s/cgroup.event_control", cg->memory);
        snprintf(line, sizeof line, "%d %d", w->efd, w->ocfd);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, line, strlen(line)) < 0) {
            ash_error(err, errno, "cannot register OOM notification through %s", path);
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        close(fd);
        if (ash_loop_add_fd(loop, w->efd, EPOLLIN, on_v1_event, w, err) < 0)
            goto fail;
    }
    if (every_ns > 0 && !(w->sampler = ash_loop_add_timer(loop, ash_now_ns() + every_ns, sample_tick, w))) {
        ash_error(err, ENOMEM, "cannot arm the memory sampler");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    ash_memwatch_close(w);
    return -1;
}

void ash_memwatch_close(struct ash_memwatch *w)
{
    if (!w)
        return;
    if (w->sampler)
        ash_loop_cancel_timer(w->loop, w->sampler);
    if (w->recheck)
        ash_loop_cancel_timer(w->loop, w->recheck);
    if (w->efd >= 0) {
        ash_loop_del_fd(w->loop, w->efd);
        close(w->efd); /* closing the eventfd unregisters the v1 notification */
    }
    if (w->ocfd >= 0)
        close(w->ocfd);
    if (w->ifd >= 0) {
        ash_loop_del_fd(w->loop, w->ifd);
        close(w->ifd);
    }
    free(w);
}

const char *ash_memwatch_method(const struct ash_memwatch *w)
{
    return w->v2 ? "v2 memory.events (inotify)" : "v1 memory.oom_control (eventfd)";
}
