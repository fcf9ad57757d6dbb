/* Benchmark floor for bench_engine.sh: what libcurl alone costs for the
 * engine's samples, beside bench_engine_floor's syscalls alone.
 *
 * The engine makes its HTTP samples with libcurl (the non-negotiables ask for
 * a library there), so the CPU above the syscall floor splits into libcurl's
 * part and ours (scheduling, timeouts, the checks, the samples' records).
 * This program makes the same samples with nothing of ours: one epoll loop
 * driving curl_multi_socket_action, one easy handle per probe made once and
 * reused (as the engine does), the same options that change libcurl's work
 * (no proxy and no proxy lookup, a User-Agent, no signals, a fresh connection
 * per sample unless "keepalive"),
 * a timerfd starting a sample every EVERY/PROBES ms and nothing done with the
 * answer but counting it. A probe whose last sample is still running skips
 * its turn, as the engine's would.
 * usage: bench_engine_curl PORT [PROBES] [EVERY_MS] [SECONDS] [keepalive]   (default 10 10 20; a server on
 * 127.0.0.1:PORT)
 */
#include "bench_args.h"
#include "bench_clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define USAGE                                                                                                          \
    "bench_engine_curl PORT [PROBES] [EVERY_MS] [SECONDS] [keepalive]   (default 10 10 20; a server on "               \
    "127.0.0.1:PORT)"
#define MAXPROBES 4096

static int ep;
static double curl_deadline = -1; /* libcurl's one timeout (CLOCK_MONOTONIC s), -1: none */
static CURLM *multi;
static CURL *easies[MAXPROBES];
static bool busy[MAXPROBES];
static long done_ok, failed, skipped;

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p, (void)u;
    return size * n;
}

/* Leaner than the engine's loop where it can be: a socket's pointer from
 * curl_multi_assign says whether it is in the epoll set (no failed MOD), and
 * libcurl's timeout is epoll_wait's own (no timer syscalls at all). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp)
{
    (void)e, (void)u;
    struct epoll_event ev = {.data.fd = s};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (sp)
        return epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev);
    curl_multi_assign(multi, s, &ep);
    return epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
}

static int on_timer(CURLM *m, long ms, void *u)
{
    (void)m, (void)u;
    curl_deadline = ms < 0 ? -1 : ash_bench_now_s() + (double)ms / 1e3;
    return 0;
}

static void reap(void)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        long status = 0, i = 0;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        i = (long)(intptr_t)priv;
        if (msg->data.result == CURLE_OK && status == 200)
            done_ok++;
        else
            failed++;
        curl_multi_remove_handle(multi, msg->easy_handle);
        busy[i] = false;
    }
}

int main(int argc, char **argv)
{
    ash_bench_args(argc, argv, USAGE, 0x1e, "keepalive");
    if (argc < 2) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    int port = atoi(argv[1]);
    long probes = argc > 2 ? atol(argv[2]) : 10, every_ms = argc > 3 ? atol(argv[3]) : 10;
    long secs = argc > 4 ? atol(argv[4]) : 20;
    bool keepalive = argc > 5;
    if (probes > MAXPROBES) {
        fprintf(stderr, "bench_engine_curl: at most %d probes\n", MAXPROBES);
        return 2;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    ep = epoll_create1(EPOLL_CLOEXEC);
    int tick_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!multi || ep < 0 || tick_tfd < 0) {
        perror("bench_engine_curl: setup");
        return 1;
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    for (long i = 0; i < probes; i++) {
        CURL *e = easies[i] = curl_easy_init();
        if (!e) {
            fprintf(stderr, "bench_engine_curl: curl_easy_init failed\n");
            return 1;
        }
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, ""); /* else no_proxy is read from the environment per transfer */
        curl_easy_setopt(e, CURLOPT_USERAGENT, "bench");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)(intptr_t)i);
        if (!keepalive) {
            curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        }
    }
    long step_ns = every_ms * 1000000 / probes;
    struct itimerspec its = {.it_interval = {step_ns / 1000000000, step_ns % 1000000000},
                             .it_value = {step_ns / 1000000000, step_ns % 1000000000}};
    timerfd_settime(tick_tfd, 0, &its, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = tick_tfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, tick_tfd, &ev);

    long next = 0;
    int running = 0;
    double t0 = ash_bench_now_s(), c0 = ash_bench_cpu_s(), stop = t0 + (double)secs;
    while (ash_bench_now_s() < stop) {
        struct epoll_event evs[64];
        int wait_ms = 100;
        if (curl_deadline >= 0) {
            double left = curl_deadline - ash_bench_now_s();
            wait_ms = left <= 0 ? 0 : (int)(left * 1e3) + 1;
        }
        int n = epoll_wait(ep, evs, 64, wait_ms);
        if (curl_deadline >= 0 && ash_bench_now_s() >= curl_deadline) {
            curl_deadline = -1;
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
            reap();
        }
        for (int k = 0; k < n; k++) {
            int fd = evs[k].data.fd;
            uint64_t ticks;
            if (fd == tick_tfd) {
                if (read(tick_tfd, &ticks, sizeof ticks) != sizeof ticks)
                    continue;
                for (uint64_t t = 0; t < ticks; t++, next = (next + 1) % probes) {
                    if (busy[next]) {
                        skipped++;
                        continue;
                    }
                    busy[next] = true;
                    curl_multi_add_handle(multi, easies[next]);
                }
            } else {
                int mask = (evs[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                           (evs[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                           (evs[k].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(multi, fd, mask, &running);
            }
            reap();
        }
    }
    double cpu = ash_bench_cpu_s() - c0, wall = ash_bench_now_s() - t0;
    for (long i = 0; i < probes; i++) {
        if (busy[i])
            curl_multi_remove_handle(multi, easies[i]);
        curl_easy_cleanup(easies[i]);
    }
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    if (done_ok == 0 || failed > done_ok / 100) {
        fprintf(stderr, "bench_engine_curl: %ld samples answered, %ld failed: is a server on 127.0.0.1:%d?\n", done_ok,
                failed, port);
        return 1;
    }
    printf("libcurl      %ld samples (%s, libcurl alone) in %.1f s, %ld turns skipped: CPU %.2f%% of one core, "
           "%.1f us per sample\n",
           done_ok, keepalive ? "connections kept" : "fresh connection each", wall, skipped, cpu / wall * 100,
           cpu / (double)done_ok * 1e6);
    printf("RESULT engine_libcurl_cpu_pct %.2f %% -\n", cpu / wall * 100);
    printf("RESULT engine_libcurl_us_per_sample %.1f us -\n", cpu / (double)done_ok * 1e6);
    return 0;
}
