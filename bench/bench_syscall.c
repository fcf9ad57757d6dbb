/* Cost of the syscall fault, in one run: a workload doing N openat+close of one
 * file natively, under the seccomp launcher with openat notified and no fault
 * (every call continued), injecting EIO at 1% through the `syscall` fault kind,
 * and under strace's own injection (`--seccomp-bpf` and plain ptrace, EIO on
 * every 100th openat); plus an untargeted getpid+read workload natively and
 * under the same filter (openat notified, getpid/read not). Prints per-call
 * cost, overhead over native and ratios.
 * Usage: bench_syscall [-n OPENS] [-u UNTARGETED] [-r REPEATS] [-p PROCESSES]
 *   openat loops: the median of REPEATS; untargeted loops: the fastest of
 *   PROCESSES fresh processes per mode (default 25), interleaved
 * This binary doubles as the launcher and as the workload.
 *
 * Here (2 shared cores, load ~5, kernel 6.18, n=1e5): native 3.6 us; launcher
 * without fault 13.8 us (+10.1 us a notified call); 1% EIO +8.5 us (1001 of 1e5
 * failed); strace --seccomp-bpf +33.7 us; plain strace +54.1 us: a notified call
 * costs 0.30x of strace --seccomp-bpf. Untargeted getpid+read: +6% (runs vary
 * +6..+55%: a seccomp'd task takes the slow syscall entry, about 30-80 ns a call
 * on this VM even for an allow-all filter; the kernel's per-syscall allow cache
 * skips the BPF program but not the entry). Per notification the loop makes
 * three syscalls (epoll_wait, RECV, SEND); draining the next notification with
 * poll(0) after each answer found one waiting 40% of the time but saved nothing
 * measurable, so the loop stays as it is. SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
 * is accepted (6.18) but changes nothing measurable here (3 x 3 runs, +6.5..8.4
 * us either way): the kernel's current-CPU hint wakes a supervisor blocked in
 * NOTIF_RECV, and an epoll waiter is woken through ep_poll_callback without it.
 * Only a thread blocking in RECV would get it; the loop is single-threaded. */
#include "kinds.h"
#include "sys/clock.h"
#include "sys/proc.h"
#include "sys/seccomp_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- the floors: throw-away probes that make only the kernel calls ---- */

/* A filter that touches one syscall (nr: notify or fail it), allowing the rest;
 * its listener fd (or 0) is returned. The shape the kernel's allow cache covers. */
static int floor_filter(int nr, bool notify)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, notify ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
}

static _Atomic int floor_fd = -1;

/* The bare supervisor: a thread blocking in RECV, answering CONTINUE. */
static void *floor_supervisor(void *unused)
{
    (void)unused;
    int fd;
    while ((fd = floor_fd) < 0)
        ;
    for (;;) {
        struct seccomp_notif req = {0};
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
            if (errno == EINTR || errno == ENOENT)
                continue;
            return NULL;
        }
        struct seccomp_notif_resp resp = {.id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

/* ---- the workload (a child process) ---- */

static int work_main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    long fail = 0;
    if (strcmp(argv[1], "open-floor") == 0) {
        pthread_t t; /* made before the filter, so it is not filtered itself */
        if (pthread_create(&t, NULL, floor_supervisor, NULL) != 0)
            return 1;
        int fd = floor_filter(SYS_openat, true);
        if (fd < 0)
            return 1;
        floor_fd = fd;
        argv[1] = "open";
    } else if (strcmp(argv[1], "getpid-floor") == 0) {
        if (floor_filter(SYS_acct, false) < 0)
            return 1;
        argv[1] = "getpid";
    }
    int64_t t0 = ash_now_ns();
    if (strcmp(argv[1], "open") == 0 && argc > 3) {
        for (long i = 0; i < n; i++) {
            int fd = openat(AT_FDCWD, argv[3], O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                fail++;
            else
                close(fd);
        }
    } else {
        /* Untargeted: raw getpid (glibc does not cache it, but be sure) and a 1-byte read.
         * Timed in this thread's CPU time: a few ns of syscall entry are lost in the
         * wall-clock noise of a shared machine, not in the CPU time it charges us. */
        int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        char c;
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        for (long i = 0; i < n; i++) {
            syscall(SYS_getpid);
            if (read(fd, &c, 1) != 1)
                fail++;
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        close(fd);
        printf("%lld %ld\n", (long long)((c1.tv_sec - c0.tv_sec) * ASH_NS_PER_S + (c1.tv_nsec - c0.tv_nsec)), fail);
        return 0;
    }
    printf("%lld %ld\n", (long long)(ash_now_ns() - t0), fail);
    return 0;
}

/* ---- the harness side ---- */

static struct {
    ash_loop *loop;
    char out[128];
    size_t len;
    bool got;
} h;

static void on_out(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)data;
    ssize_t n = read(fd, h.out + h.len, sizeof h.out - 1 - h.len);
    if (n > 0) {
        h.len += (size_t)n;
        h.out[h.len] = '\0';
        if (strchr(h.out, '\n'))
            h.got = true;
    } else if (n == 0 || (events & EPOLLHUP)) {
        h.got = true;
    }
}

static struct ash_fault_spec fault_spec(const char *yaml)
{
    const struct ash_fault_kind *k = ash_fault_kind_find("syscall");
    ash_error_t err = {0};
    ash_doc *doc = NULL;
    void *conf = calloc(1, k->c.conf_size);
    k->c.defaults(conf);
    if (ash_doc_load_string("bench.yaml", yaml, strlen(yaml), &doc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ash_node root = ash_doc_root(doc);
    if (ash_fields_parse(&root, k->c.fields, conf, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ash_doc_free(doc);
    return (struct ash_fault_spec){.name = "bench", .kind = k, .conf = conf};
}

enum mode { NATIVE, FILTER, INJECT, STRACE_BPF, STRACE };

/* Run one workload; returns its own elapsed ns (the workload times itself, so
 * process start and the launcher are not counted; the untargeted one in CPU
 * time), failures in *fails. */
static int64_t run(enum mode m, char *self, char *what, long n, char *path, long *fails)
{
    ash_error_t err = {0};
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%ld", n);
    char *work[] = {self, "__work", what, nbuf, path, NULL};
    char *argv[32];
    size_t a = 0;
    if (m == STRACE_BPF || m == STRACE) {
        argv[a++] = "strace";
        argv[a++] = "-f";
        if (m == STRACE_BPF)
            argv[a++] = "--seccomp-bpf";
        argv[a++] = "-qq";
        argv[a++] = "-o";
        argv[a++] = "/dev/null";
        argv[a++] = "-e";
        argv[a++] = "trace=openat";
        argv[a++] = "-e";
        argv[a++] = "inject=openat:error=EIO:when=100+100";
    }
    for (size_t i = 0; work[i]; i++)
        argv[a++] = work[i];
    argv[a] = NULL;

    struct ash_seccomp_launch launch = {.parent_fd = -1, .child_fd = -1};
    bool launched = m == FILTER || m == INJECT;
    if (launched && ash_seccomp_launch_prepare("openat", argv, &launch, &err) < 0)
        goto fail;
    int pout[2];
    if (pipe2(pout, O_CLOEXEC) < 0)
        goto fail;
    struct ash_spawn_opts o = {
        .argv = launched ? launch.argv : argv, .stdin_fd = -1, .stdout_fd = pout[1], .stderr_fd = 2};
    struct ash_child child;
    if (ash_spawn(&o, &child, &err) < 0)
        goto fail;
    close(pout[1]);
    struct ash_seccomp_listener *l = NULL;
    if (launched && ash_seccomp_launch_finish(&launch, h.loop, "bench", 5 * ASH_NS_PER_S, &l, &err) < 0)
        goto fail;
    ash_seccomp_launch_cleanup(&launch);
    struct ash_fault_spec f = {0};
    void *st = NULL;
    if (m == INJECT) {
        f = fault_spec("service: bench\nsyscalls: [openat]\nerrno: EIO\nprobability: 1%\n");
        struct ash_ctx ctx = {.loop = h.loop};
        if (f.kind->inject(&ctx, &f, &st, &err) < 0)
            goto fail;
    }
    h.len = 0;
    h.got = false;
    h.out[0] = '\0';
    if (ash_loop_add_fd(h.loop, pout[0], EPOLLIN, on_out, NULL, &err) < 0)
        goto fail;
    ash_loop_run_until(h.loop, &h.got, -1, &err);
    ash_loop_del_fd(h.loop, pout[0]);
    close(pout[0]);
    if (m == INJECT) {
        struct ash_ctx ctx = {.loop = h.loop};
        f.kind->revert(&ctx, &f, st, &err);
        ash_fields_free(f.kind->c.fields, f.conf);
        free(f.conf);
    }
    int status = 0;
    /* The workload exits right after printing; the listener stays until then. */
    while (ash_child_reap(&child, &status) == 0)
        ash_loop_run_until(h.loop, &(bool){false}, ash_now_ns() + ASH_NS_PER_MS, &err);
    ash_seccomp_listener_close(l);
    ash_child_close(&child);
    long long ns;
    if (sscanf(h.out, "%lld %ld", &ns, fails) != 2) {
        fprintf(stderr, "bench_syscall: no result from the workload (%s)\n", h.out);
        exit(1);
    }
    return ns;
fail:
    fprintf(stderr, "bench_syscall: %s\n", err.msg);
    exit(1);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    return v[n / 2];
}

/* The untargeted loops are a few ns a call apart and timed in thread CPU time:
 * what a shared machine adds to one (another task's cache and TLB traffic, a
 * frequency dip, an interrupt) only ever adds time, so the fastest repeat is the
 * one nearest each loop's own cost. The median let the filtered and floor loops,
 * 5 ns apart, swap order between runs (-0.5 and +2.7 points). The fastest of 5
 * long runs still moved by 5 points between runs of the same build, as the same
 * loop differs by up to 20% between processes here; the fastest of 25 short
 * ones (0.2 s each) moves by about 2% for one loop. */
static int64_t fastest(const int64_t *v, int n)
{
    int64_t m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "__seccomp-exec") == 0)
        return ash_seccomp_exec_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "__work") == 0)
        return work_main(argc - 1, argv + 1);
    long n = 100000, u = 200000;
    int reps = 3, procs = 25, opt;
    while ((opt = getopt(argc, argv, "n:u:r:p:")) != -1) {
        if (opt == 'n')
            n = atol(optarg);
        else if (opt == 'u')
            u = atol(optarg);
        else if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'p')
            procs = atoi(optarg);
        else {
            fprintf(stderr, "usage: bench_syscall [-n OPENS] [-u UNTARGETED] [-r REPEATS] [-p PROCESSES]\n");
            return 2;
        }
    }
    if (n < 1 || u < 1 || reps < 1 || reps > 15 || procs < 1 || procs > 100) {
        fprintf(stderr, "bench_syscall: -n and -u at least 1, -r 1 to 15, -p 1 to 100\n");
        return 2;
    }
    bool have_strace = system("strace -V >/dev/null 2>&1") == 0;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl < 0)
        return 1;
    self[sl] = '\0';
    ash_seccomp_set_exe(self);
    char path[64];
    snprintf(path, sizeof path, "/tmp/ash-bench-sc-%d", (int)getpid());
    close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ash_error_t err = {0};
    if (ash_loop_new(&h.loop, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    static const char *names[] = {"native", "launcher, no fault", "launcher, EIO at 1%", "strace --seccomp-bpf 1%",
                                  "strace (ptrace) 1%"};
    int64_t t[5][15], ut[3][100], ft[15];
    long fails[5] = {0};
    int modes = have_strace ? 5 : 3;
    /* Interleaved, so drift in machine load hits every mode alike. */
    for (int r = 0; r < reps; r++) {
        for (int m = 0; m < modes; m++)
            t[m][r] = run((enum mode)m, self, "open", n, path, &fails[m]);
        long ff;
        ft[r] = run(NATIVE, self, "open-floor", n, path, &ff);
    }
    /* The untargeted loops, a few ns a call apart, in many short fresh processes:
     * the same loop differs by up to 20% between processes on this VM (which
     * core, what its neighbour does), so the fastest of many is the estimate. */
    for (int r = 0; r < procs; r++) {
        long uf;
        ut[0][r] = run(NATIVE, self, "getpid", u, path, &uf);
        ut[1][r] = run(FILTER, self, "getpid", u, path, &uf);
        ut[2][r] = run(NATIVE, self, "getpid-floor", u, path, &uf);
    }
    unlink(path);

    printf("openat+close x %ld, median of %d (us per openat+close; overhead = minus native)\n", n, reps);
    printf("%-26s %10s %10s %9s %8s\n", "mode", "us/call", "overhead", "x native", "failed");
    double cost[5];
    for (int m = 0; m < modes; m++) {
        cost[m] = (double)median(t[m], reps) / 1e3 / (double)n;
        printf("%-26s %10.3f %10.3f %9.2f %8ld\n", names[m], cost[m], cost[m] - cost[0], cost[m] / cost[0], fails[m]);
    }
    if (!have_strace)
        printf("(strace not installed: scripts/install-deps.sh --test installs it)\n");
    double un = (double)fastest(ut[0], procs) / (double)u, uf = (double)fastest(ut[1], procs) / (double)u;
    double ufl = (double)fastest(ut[2], procs) / (double)u, ofl = (double)median(ft, reps) / 1e3 / (double)n;
    printf("\nuntargeted getpid+read x %ld under the openat filter (thread CPU time, fastest of %d processes): "
           "native %.1f ns, "
           "filtered %.1f ns "
           "(%+.2f%%); "
           "floor (a one-rule filter touching neither call) %.1f ns (%+.2f%%)\n",
           u, procs, un, uf, (uf / un - 1) * 100, ufl, (ufl / un - 1) * 100);
    double ours = cost[1] - cost[0];
    printf("floor: a bare user-notif round trip (a thread blocking in RECV, CONTINUE) %.3f us per openat+close, "
           "%.1f us over native; ours is %.2fx the floor per call\n",
           ofl, ofl - cost[0], cost[1] / ofl);
    /* Goals (issue 19): untargeted within 2 points of the floor; targeted as low as the mechanism allows. */
    printf("RESULT syscall_untargeted_overhead_pct %.2f %% -\n", (uf / un - 1) * 100);
    printf("RESULT syscall_untargeted_floor_pct %.2f %% -\n", (ufl / un - 1) * 100);
    printf("RESULT syscall_untargeted_vs_floor_points %.2f points <=2\n", (uf / un - ufl / un) * 100);
    printf("RESULT syscall_targeted_us %.3f us -\n", cost[1]);
    printf("RESULT syscall_targeted_floor_us %.3f us -\n", ofl);
    printf("RESULT syscall_targeted_native_us %.3f us -\n", cost[0]);
    printf("RESULT syscall_targeted_vs_floor %.2f x -\n", cost[1] / ofl);
    if (have_strace)
        printf("RESULT syscall_targeted_vs_strace_bpf %.2f x >=1\n", (cost[3] - cost[0]) / ours);
    printf("one notified call costs %.1f us over native", ours);
    if (have_strace) {
        double sb = cost[3] - cost[0], sp = cost[4] - cost[0];
        printf("; strace --seccomp-bpf %.1f us (ours %.2fx of it), plain strace %.1f us (%.2fx)", sb, ours / sb, sp,
               ours / sp);
    }
    printf("\n");
    ash_loop_free(h.loop);
    return 0;
}
