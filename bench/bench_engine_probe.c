/* Benchmark: cost and precision of one probe sample, in-loop (libcurl multi, non-blocking connect) vs spawning curl per
 * sample.
 *
 * The obvious alternative to the http probe is a script that runs `curl` every
 * interval. This runs both against the same ash_target on loopback, N samples
 * each, and prints the sample latency (median, p95, max) and the harness CPU
 * time per sample, so the difference is measured here rather than assumed.
 * usage: bench_engine_probe [N] [http]   (default 200; needs build/tests/ash_target, or $ASH_TARGET, and curl in PATH)
 */
#include "kinds.h"
#include "probes/probe_confs.h"
#include "sys/clock.h"
#include "sys/loop.h"
#include "sys/proc.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern const struct ash_probe_kind ash_probe_http, ash_probe_tcp, ash_probe_exec;

struct got {
    bool done;
    struct ash_sample s;
};

static void on_done(void *arg, const struct ash_sample *s)
{
    struct got *g = arg;
    g->done = true;
    g->s = *s;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t cpu_ns(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    int64_t ns = 0;
    const struct rusage *r[] = {&self, &kids};
    for (int i = 0; i < 2; i++)
        ns += ((int64_t)r[i]->ru_utime.tv_sec + r[i]->ru_stime.tv_sec) * ASH_NS_PER_S +
              ((int64_t)r[i]->ru_utime.tv_usec + r[i]->ru_stime.tv_usec) * 1000;
    return ns;
}

/* N sequential samples of p; prints one result line. Returns failed samples, -1 on error. */
static int run(struct ash_ctx *ctx, const char *label, const struct ash_probe_spec *p, int n)
{
    ash_error_t err = {0};
    void *st = NULL;
    if (p->kind->open(ctx, p, &st, &err) < 0) {
        fprintf(stderr, "%s: %s\n", label, err.msg);
        return -1;
    }
    int64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!lat)
        return -1;
    int failed = 0;
    int64_t cpu0 = cpu_ns(), t0 = ash_now_ns();
    for (int i = 0; i < n; i++) {
        struct got g = {0};
        int64_t start = ash_now_ns();
        if (p->kind->sample(ctx, p, st, start, on_done, &g, &err) < 0 ||
            ash_loop_run_until(ctx->loop, &g.done, start + 5 * ASH_NS_PER_S, &err) < 0 || !g.done) {
            fprintf(stderr, "%s: sample %d did not complete: %s\n", label, i, err.msg);
            failed = -1;
            break;
        }
        if (!g.s.ok && failed++ == 0)
            fprintf(stderr, "%s: sample failed: %s\n", label, g.s.detail);
        lat[i] = g.s.end - g.s.start;
    }
    int64_t wall = ash_now_ns() - t0, cpu = cpu_ns() - cpu0;
    p->kind->close(ctx, p, st);
    if (failed >= 0) {
        qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
        printf(
            "%-28s n=%d  median %8.3f ms  p95 %8.3f ms  max %8.3f ms  cpu/sample %8.3f ms  wall %8.1f ms  failed %d\n",
            label, n, ash_ns_to_ms(lat[n / 2]), ash_ns_to_ms(lat[(n * 95) / 100]), ash_ns_to_ms(lat[n - 1]),
            ash_ns_to_ms(cpu / n), ash_ns_to_ms(wall), failed);
    }
    free(lat);
    return failed;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n <= 0)
        n = 200;
    char self[PATH_MAX], target[PATH_MAX + 32], dir[] = "/tmp/ash-bench-XXXXXX", port_file[64];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 1;
    self[len] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(target, sizeof target, "%s/../tests/ash_target", self);
    /* Under valgrind /proc/self/exe is the tool: let the caller say where the target is. */
    if (getenv("ASH_TARGET"))
        snprintf(target, sizeof target, "%s", getenv("ASH_TARGET"));
    if (access(target, X_OK) != 0 || !mkdtemp(dir)) {
        fprintf(stderr, "bench_engine_probe: needs %s (build the tests)\n", target);
        return 1;
    }
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    char *targv[] = {target, "--port", "0", "--port-file", port_file, NULL};
    struct ash_spawn_opts o = {
        .argv = targv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .die_with_parent = true};
    struct ash_child ch;
    ash_error_t err = {0};
    if (ash_spawn(&o, &ch, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    unsigned port = 0;
    for (int i = 0; i < 500 && !port; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%u", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (!port)
            usleep(10000);
    }
    ash_loop *loop = NULL;
    int ret = 1;
    if (!port || ash_loop_new(&loop, &err) < 0) {
        fprintf(stderr, "bench_engine_probe: ash_target did not start\n");
        goto out;
    }
    struct ash_ctx ctx = {.loop = loop};
    char url[64], addr[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);

    struct ash_http_conf hc = {.url = url};
    struct ash_tcp_conf tc = {.address = addr};
    char *curl_argv[] = {"curl", "-sf", "-o", "/dev/null", "--noproxy", "*", url, NULL};
    struct ash_exec_probe_conf ec = {.command = {.v = curl_argv, .n = 7}};
    struct ash_probe_spec ph = {.name = "http", .kind = &ash_probe_http, .conf = &hc, .timeout_ns = ASH_NS_PER_S};
    struct ash_probe_spec pt = {.name = "tcp", .kind = &ash_probe_tcp, .conf = &tc, .timeout_ns = ASH_NS_PER_S};
    struct ash_probe_spec pe = {
        .name = "exec-curl", .kind = &ash_probe_exec, .conf = &ec, .timeout_ns = 5 * ASH_NS_PER_S};

    printf("probe sample cost against ash_target on 127.0.0.1:%u\n", port);
    ret = 0;
    ret |= run(&ctx, "http (libcurl multi, loop)", &ph, n) != 0;
    /* `http` as second argument: the http probe only (repeated before/after runs). */
    bool all = argc < 3 || strcmp(argv[2], "http") != 0;
    if (all)
        ret |= run(&ctx, "tcp (non-blocking connect)", &pt, n) != 0;
    if (all)
        ret |= run(&ctx, "exec curl per sample", &pe, n) != 0;
out:
    ash_loop_free(loop);
    ash_child_terminate(&ch, ASH_NS_PER_S, false);
    ash_child_close(&ch);
    unlink(port_file);
    rmdir(dir);
    return ret;
}
