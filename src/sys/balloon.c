/* The memory balloon helper (`aftershock __balloon`) and its control from the harness. */
#include "sys/balloon.h"

#include "sys/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)             /* one mmap per MiB: progress is never coarser */
#define STEP_NS (10 * ASH_NS_PER_MS) /* pacing granularity */
#define REPORT_NS (50 * ASH_NS_PER_MS)

static char balloon_exe[4096] = "/proc/self/exe";

void ash_balloon_set_exe(const char *path)
{
    snprintf(balloon_exe, sizeof balloon_exe, "%s", path ? path : "/proc/self/exe");
}

/* ---- the helper process ---- */

static void say(const char *what, uint64_t bytes, int64_t ns)
{
    char line[96];
    int n = snprintf(line, sizeof line, "%s %" PRIu64 " %" PRId64 "\n", what, bytes, ns);
    if (write(1, line, (size_t)n) < 0)
        _exit(1); /* the harness is gone: nothing to hold memory for */
}

int ash_balloon_main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: __balloon SIZE_BYTES RATE_BYTES_PER_S\n");
        return 2;
    }
    uint64_t size = strtoull(argv[1], NULL, 10), rate = strtoull(argv[2], NULL, 10);
    long page = sysconf(_SC_PAGESIZE);
    uint64_t have = 0;
    int64_t t0 = ash_now_ns(), last_report = t0;
    while (have < size) {
        int64_t now = ash_now_ns();
        /* Where the rate says we should be by now (all of it at rate 0). */
        uint64_t want = rate ? (uint64_t)((double)rate * (double)(now - t0) / 1e9) : size;
        if (want > size)
            want = size;
        /* Only whole chunks that are due: the rate is never exceeded. */
        for (;;) {
            size_t len = size - have < CHUNK ? (size_t)(size - have) : CHUNK;
            if (len == 0 || have + len > want)
                break;
            char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) {
                fprintf(stderr, "balloon: mmap: %s\n", strerror(errno));
                return 1;
            }
            /* Touch every page: a write fault makes the kernel charge a real page. */
            for (size_t off = 0; off < len; off += (size_t)page)
                p[off] = 1;
            have += len;
        }
        now = ash_now_ns();
        if (have >= size)
            break;
        if (now - last_report >= REPORT_NS) {
            say("at", have, now - t0);
            last_report = now;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = STEP_NS};
        nanosleep(&ts, NULL);
    }
    say("full", have, ash_now_ns() - t0);
    for (;;)
        pause();
}

/* ---- the harness side ---- */

struct ash_balloon {
    ash_loop *loop;
    struct ash_child child;
    int outfd;
    struct ash_balloon_cbs cbs;
    uint64_t bytes;
    char buf[256];
    size_t len;
    bool alive;
};

static int join_cgroup(void *arg)
{
    return ash_cgroup_join_self(arg);
}

static void on_line(struct ash_balloon *b, const char *line, int64_t t)
{
    char what[8];
    unsigned long long bytes;
    long long ns;
    if (sscanf(line, "%7s %llu %lld", what, &bytes, &ns) != 3)
        return;
    b->bytes = bytes;
    if (strcmp(what, "full") == 0) {
        if (b->cbs.full)
            b->cbs.full(b->cbs.arg, t, bytes, ns);
    } else if (b->cbs.progress) {
        b->cbs.progress(b->cbs.arg, t, bytes);
    }
}

static void on_output(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_balloon *b = data;
    int64_t t = ash_now_ns();
    ssize_t n = read(fd, b->buf + b->len, sizeof b->buf - 1 - b->len);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        ash_loop_del_fd(loop, fd); /* EOF: the exit is reported through the pidfd */
        return;
    }
    b->len += (size_t)n;
    b->buf[b->len] = '\0';
    char *p = b->buf, *nl;
    while ((nl = strchr(p, '\n'))) {
        *nl = '\0';
        on_line(b, p, t);
        p = nl + 1;
    }
    b->len = strlen(p);
    memmove(b->buf, p, b->len + 1);
    if (b->len >= sizeof b->buf - 1)
        b->len = 0;
    (void)events;
}

static void on_exit_cb(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_balloon *b = data;
    (void)events;
    int64_t t = ash_now_ns();
    int status = 0;
    if (ash_child_reap(&b->child, &status) != 1)
        return;
    ash_loop_del_fd(loop, fd);
    /* Whatever it said before dying counts. */
    on_output(loop, b->outfd, EPOLLIN, b);
    b->alive = false;
    if (b->cbs.gone)
        b->cbs.gone(b->cbs.arg, t, b->bytes, status);
}

int ash_balloon_start(ash_loop *loop, const struct ash_cgroup *cg, uint64_t size, uint64_t rate_bytes_s,
                      const struct ash_balloon_cbs *cbs, struct ash_balloon **out, ash_error_t *err)
{
    struct ash_balloon *b = calloc(1, sizeof *b);
    if (!b)
        return ash_error(err, ENOMEM, "balloon");
    b->loop = loop;
    b->cbs = *cbs;
    b->outfd = -1;
    b->child.pid = -1;
    b->child.pidfd = -1;
    struct ash_cgroup target;
    if (cg) {
        target = *cg;
        target.n_procs_fd = 0;
        if (ash_cgroup_open_procs(&target, err) < 0) {
            free(b);
            return -1;
        }
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        if (cg)
            ash_cgroup_close_procs(&target);
        free(b);
        return ash_error(err, errno, "pipe");
    }
    char ssize[32], srate[32], verb[] = "__balloon";
    snprintf(ssize, sizeof ssize, "%" PRIu64, size);
    snprintf(srate, sizeof srate, "%" PRIu64, rate_bytes_s);
    char *argv[] = {balloon_exe, verb, ssize, srate, NULL};
    struct ash_spawn_opts o = {.argv = argv,
                               .stdin_fd = -1,
                               .stdout_fd = p[1],
                               .stderr_fd = -1,
                               .die_with_parent = true,
                               .pre_exec = cg ? join_cgroup : NULL,
                               .pre_exec_arg = cg ? &target : NULL};
    int r = ash_spawn(&o, &b->child, err);
    close(p[1]);
    if (cg)
        ash_cgroup_close_procs(&target);
    if (r < 0) {
        close(p[0]);
        free(b);
        return ash_error_wrap(err, "cannot start the balloon (%s __balloon)", balloon_exe);
    }
    b->alive = true;
    b->outfd = p[0];
    fcntl(b->outfd, F_SETFL, O_NONBLOCK);
    if (ash_loop_add_fd(loop, b->outfd, EPOLLIN, on_output, b, err) < 0 ||
        ash_loop_add_fd(loop, b->child.pidfd, EPOLLIN, on_exit_cb, b, err) < 0) {
        ash_balloon_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

pid_t ash_balloon_pid(const struct ash_balloon *b)
{
    return b->child.pid;
}
uint64_t ash_balloon_start_time(const struct ash_balloon *b)
{
    return b->child.start;
}
uint64_t ash_balloon_bytes(const struct ash_balloon *b)
{
    return b->bytes;
}
bool ash_balloon_alive(const struct ash_balloon *b)
{
    return b->alive;
}

void ash_balloon_free(struct ash_balloon *b)
{
    if (!b)
        return;
    if (b->child.pidfd >= 0)
        ash_loop_del_fd(b->loop, b->child.pidfd);
    if (b->outfd >= 0) {
        ash_loop_del_fd(b->loop, b->outfd);
        close(b->outfd);
    }
    if (b->child.pid > 0)
        ash_child_terminate(&b->child, 0, false);
    ash_child_close(&b->child);
    free(b);
}
