/* ash_connflood: holds idle and slowloris connections open against a loopback HTTP port (webhook flood tests).
 *
 *   --port N            the receiver's port on 127.0.0.1 (loopback only, by construction)
 *   --idle N            connections that connect and never send a byte
 *   --slow N            connections that send a POST one byte every --slow-every MS (default 1000)
 *   --reconnect-ms MS   reopen a connection MS after the server closed it (default 1000; -1: never),
 *                       so the pressure stays on as a real flood's would
 *   --ready-file PATH   created once every connection was attempted and 300 ms have passed
 *
 * It raises its own RLIMIT_NOFILE soft limit to what it needs (up to the hard
 * limit): the default soft limit of 1024 is below 2000 + 64 sockets.
 * SIGTERM/SIGINT print the counts ("opened, closed by the server, bytes") to
 * stderr and exit 0. Plain libc, one thread, epoll. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A request that never ends: the body is announced and dribbled. */
static const char slow_request[] = "POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 1000000\r\n\r\n{\"alerts\":[";

struct conn {
    int fd;       /* -1: waiting to reconnect */
    bool slow;    /* sends a byte every slow_every_ms */
    size_t sent;  /* bytes of slow_request sent (then body bytes) */
    int64_t next; /* slow: next byte; closed: reconnect time */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long num(const char *s, const char *flag, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min) {
        fprintf(stderr, "ash-connflood: %s wants a whole number >= %ld, got '%s'\n", flag, min, s);
        exit(2);
    }
    return v;
}

static struct sockaddr_in target;
static int epfd;
static unsigned long long opened, closed_by_server, connect_failed, bytes;

static void open_conn(struct conn *c, size_t idx)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        connect_failed++;
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        connect_failed++;
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = idx};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->sent = 0;
    opened++;
}

int main(int argc, char **argv)
{
    long port = -1, idle = 0, slow = 0, slow_every_ms = 1000, reconnect_ms = 1000;
    const char *ready_file = NULL;
    static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                             {"idle", required_argument, NULL, 'i'},
                                             {"slow", required_argument, NULL, 's'},
                                             {"slow-every", required_argument, NULL, 'e'},
                                             {"reconnect-ms", required_argument, NULL, 'r'},
                                             {"ready-file", required_argument, NULL, 'R'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            port = num(optarg, "--port", 1);
            break;
        case 'i':
            idle = num(optarg, "--idle", 0);
            break;
        case 's':
            slow = num(optarg, "--slow", 0);
            break;
        case 'e':
            slow_every_ms = num(optarg, "--slow-every", 1);
            break;
        case 'r':
            reconnect_ms = num(optarg, "--reconnect-ms", -1);
            break;
        case 'R':
            ready_file = optarg;
            break;
        default:
            fprintf(stderr, "usage: ash_connflood --port N [--idle N] [--slow N] [--slow-every MS] "
                            "[--reconnect-ms MS] [--ready-file PATH]\n");
            return 2;
        }
    }
    if (port < 1 || port > 65535) {
        fprintf(stderr, "ash-connflood: --port 1..65535 is required\n");
        return 2;
    }
    size_t n = (size_t)(idle + slow);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 16) {
        rlim_t want = n + 16;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
            fprintf(stderr, "ash-connflood: %zu connections need %llu file descriptors; the hard limit is %llu\n", n,
                    (unsigned long long)want, (unsigned long long)rl.rlim_max);
            return 3;
        }
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            fprintf(stderr, "ash-connflood: cannot raise RLIMIT_NOFILE to %llu: %s\n", (unsigned long long)want,
                    strerror(errno));
            return 3;
        }
    }
    target = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc(n ? n : 1, sizeof *conns);
    if (sfd < 0 || epfd < 0 || !conns) {
        fprintf(stderr, "ash-connflood: setup: %s\n", strerror(errno));
        return 1;
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev);
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        conns[i].slow = i >= (size_t)idle;
        conns[i].next = t0 + slow_every_ms * 1000000;
        open_conn(&conns[i], i);
    }
    int64_t ready_at = now_ns() + 300 * INT64_C(1000000);
    bool running = true;
    struct epoll_event evs[256];
    while (running) {
        int k = epoll_wait(epfd, evs, 256, 50);
        if (k < 0 && errno != EINTR) {
            fprintf(stderr, "ash-connflood: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        int64_t t = now_ns();
        for (int j = 0; j < k; j++) {
            if (evs[j].data.u64 == UINT64_MAX) {
                running = false;
                continue;
            }
            struct conn *c = &conns[evs[j].data.u64];
            if (c->fd < 0)
                continue;
            char buf[512];
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r > 0 || (r < 0 && errno == EAGAIN))
                continue; /* an answer (408, 400): keep reading until the close */
            epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            closed_by_server++;
            c->next = reconnect_ms < 0 ? INT64_MAX : t + reconnect_ms * 1000000;
        }
        for (size_t i = 0; i < n; i++) {
            struct conn *c = &conns[i];
            if (c->fd < 0 && t >= c->next) {
                open_conn(c, i);
                c->next = t + slow_every_ms * 1000000;
            } else if (c->fd >= 0 && c->slow && t >= c->next) {
                char byte = c->sent < sizeof slow_request - 1 ? slow_request[c->sent] : '{';
                if (send(c->fd, &byte, 1, MSG_NOSIGNAL) == 1) {
                    c->sent++;
                    bytes++;
                }
                c->next += slow_every_ms * 1000000;
            }
        }
        if (ready_file && t >= ready_at) {
            FILE *f = fopen(ready_file, "w");
            if (f)
                fclose(f);
            ready_file = NULL;
        }
    }
    fprintf(stderr, "ash-connflood: opened %llu, closed by the server %llu, connect failed %llu, slow bytes %llu\n",
            opened, closed_by_server, connect_failed, bytes);
    for (size_t i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    free(conns);
    return 0;
}
