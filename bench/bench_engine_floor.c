/* Benchmark floor for bench_engine.sh: what an HTTP probe sample with a fresh
 * connection costs the kernel and nothing else.
 *
 * One epoll loop and one timerfd start a connection every EVERY/PROBES ms (the
 * engine's rate for PROBES probes every EVERY ms), each: socket (non-blocking),
 * TCP_NODELAY, connect, wait writable, send a GET, read the response up to its
 * Content-Length, close, as libcurl does for a probe. No URL parsing, no
 * header building beyond one snprintf, no library: the syscalls and the
 * loopback TCP work (the target's half of the handshake included, which runs in
 * this process's softirq on loopback as it does for aftershock). The CPU per
 * sample printed is the floor the engine's figure is compared with.
 * usage: bench_engine_floor PORT [PROBES] [EVERY_MS] [SECONDS]   (default 10 10 20; a server on 127.0.0.1:PORT)
 */
#include "bench_args.h"
#include "bench_clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define USAGE "bench_engine_floor PORT [PROBES] [EVERY_MS] [SECONDS]   (default 10 10 20; a server on 127.0.0.1:PORT)"
#define MAXCONN 4096

struct conn {
    int fd;
    bool sent;
    size_t got;
    char buf[2048];
};

static struct conn conns[MAXCONN];
static char request[256];
static size_t request_len;
static struct sockaddr_in target;
static long done_ok, failed;

static void finish(int ep, struct conn *c, bool ok)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (ok)
        done_ok++;
    else
        failed++;
}

static void start(int ep)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || fd >= MAXCONN) {
        if (fd >= 0)
            close(fd);
        failed++;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = &conns[fd];
    c->fd = fd;
    c->sent = false;
    c->got = 0;
    if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        close(fd);
        c->fd = -1;
        failed++;
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The response is complete when its headers end and Content-Length bytes follow. */
static bool complete(const struct conn *c)
{
    const char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
    if (!end)
        return false;
    const char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    long len = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
    return c->got >= (size_t)(end + 4 - c->buf) + (size_t)len;
}

static void ready(int ep, int fd)
{
    struct conn *c = &conns[fd];
    if (!c->sent) {
        if (send(fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
            finish(ep, c, false);
            return;
        }
        c->sent = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        return;
    }
    ssize_t n = recv(fd, c->buf + c->got, sizeof c->buf - 1 - c->got, 0);
    if (n <= 0) {
        finish(ep, c, false);
        return;
    }
    c->got += (size_t)n;
    c->buf[c->got] = '\0';
    if (complete(c))
        finish(ep, c, true);
    else if (c->got >= sizeof c->buf - 1)
        finish(ep, c, false);
}

int main(int argc, char **argv)
{
    ash_bench_args(argc, argv, USAGE, 0x1e, NULL);
    if (argc < 2) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    int port = atoi(argv[1]);
    long probes = argc > 2 ? atol(argv[2]) : 10, every_ms = argc > 3 ? atol(argv[3]) : 10;
    long secs = argc > 4 ? atol(argv[4]) : 20;
    target = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
    request_len = (size_t)snprintf(
        request, sizeof request,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: floor\r\nAccept: */*\r\n\r\n", port);
    for (size_t i = 0; i < MAXCONN; i++)
        conns[i].fd = -1;

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    long step_ns = every_ms * 1000000 / probes;
    struct itimerspec its = {.it_interval = {step_ns / 1000000000, step_ns % 1000000000},
                             .it_value = {step_ns / 1000000000, step_ns % 1000000000}};
    if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
        perror("bench_engine_floor: epoll/timerfd");
        return 1;
    }
    struct epoll_event tev = {.events = EPOLLIN, .data.fd = tfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    double t0 = ash_bench_now_s(), c0 = ash_bench_cpu_s(), stop = t0 + (double)secs;
    while (ash_bench_now_s() < stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == tfd) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) == sizeof ticks)
                    for (uint64_t k = 0; k < ticks; k++)
                        start(ep);
            } else
                ready(ep, evs[i].data.fd);
        }
    }
    double cpu = ash_bench_cpu_s() - c0, wall = ash_bench_now_s() - t0;
    for (int fd = 0; fd < MAXCONN; fd++)
        if (conns[fd].fd >= 0)
            close(conns[fd].fd);
    if (done_ok == 0 || failed > done_ok / 100) {
        fprintf(stderr, "bench_engine_floor: %ld samples answered, %ld failed: is a server on 127.0.0.1:%d?\n", done_ok,
                failed, port);
        return 1;
    }
    printf("floor        %ld samples (fresh connection each, no library) in %.1f s: CPU %.2f%% of one core, %.1f us "
           "per sample\n",
           done_ok, wall, cpu / wall * 100, cpu / (double)done_ok * 1e6);
    printf("RESULT engine_floor_cpu_pct %.2f %% -\n", cpu / wall * 100);
    printf("RESULT engine_floor_us_per_sample %.1f us -\n", cpu / (double)done_ok * 1e6);
    return 0;
}
