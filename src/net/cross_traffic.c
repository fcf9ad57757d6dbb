/* Cross traffic inside the sandbox: a discarding sink in one host's netns, a paced TCP/UDP sender in another's. */
#include "net/cross_traffic.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384
#define DGRAM 1400

static void report(int status, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
    if (write(status, what ? msg : "", what ? strlen(msg) : 1) < 0)
        _exit(1);
    if (what)
        _exit(1);
    close(status);
}

static void sink_main(const void *arg, int status)
{
    const struct ash_cross_opts *o = arg;
    if (setns(o->to_netns_fd, CLONE_NEWNET) < 0)
        report(status, "cross-traffic sink cannot enter its host");
    int fd = socket(AF_INET, (o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port), .sin_addr.s_addr = o->to_addr};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        report(status, "cross-traffic sink cannot bind");
    if (!o->udp && listen(fd, 16) < 0)
        report(status, "cross-traffic sink cannot listen");
    report(status, NULL);
    static char buf[65536];
    if (o->udp)
        for (;;)
            recv(fd, buf, sizeof buf, 0);
    /* One connection at a time is all the sender makes. */
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        while (recv(c, buf, sizeof buf, 0) > 0) {
        }
        close(c);
    }
}

static void sender_main(const void *arg, int status)
{
    const struct ash_cross_opts *o = arg;
    if (setns(o->from_netns_fd, CLONE_NEWNET) < 0)
        report(status, "cross-traffic sender cannot enter its host");
    report(status, NULL);
    static char buf[CHUNK];
    memset(buf, 0x5a, sizeof buf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port), .sin_addr.s_addr = o->to_addr};
    size_t unit = o->udp ? DGRAM : CHUNK;
    for (;;) {
        int fd = socket(AF_INET, (o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        /* A big send buffer, so one sender can fill a deep queue as many flows would. */
        int sndbuf = 8 << 20;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            if (fd >= 0)
                close(fd);
            usleep(50000); /* the sink may still be starting, or the link is cut */
            continue;
        }
        /* Pacing: the n-th byte leaves no earlier than start + n*8/rate. */
        int64_t start = ash_now_ns();
        uint64_t sent = 0;
        for (;;) {
            if (o->rate_bits) {
                int64_t due = start + (int64_t)((double)sent * 8.0 * 1e9 / (double)o->rate_bits);
                struct timespec ts = {.tv_sec = (time_t)(due / ASH_NS_PER_S), .tv_nsec = (long)(due % ASH_NS_PER_S)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
            ssize_t n = send(fd, buf, unit, MSG_NOSIGNAL);
            if (n < 0 && o->udp && (errno == ENOBUFS || errno == ECONNREFUSED || errno == EPERM))
                n = (ssize_t)unit; /* a full or refusing link is what congestion looks like */
            if (n < 0)
                break;
            sent += (uint64_t)n;
        }
        close(fd);
        usleep(50000);
    }
}

int ash_cross_start(const struct ash_cross_opts *o, struct ash_journal *j, struct ash_cross *out, ash_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->sink.pidfd = out->sender.pidfd = -1;
    if (ash_net_helper_spawn(j, true, o->to_netns_fd, sink_main, o, &out->sink, err) < 0)
        return -1;
    if (ash_net_helper_spawn(j, true, o->from_netns_fd, sender_main, o, &out->sender, err) < 0) {
        ash_net_helper_kill(&out->sink, j);
        return -1;
    }
    return 0;
}

void ash_cross_stop(struct ash_cross *c, struct ash_journal *j)
{
    if (c->sender.pid > 0)
        ash_net_helper_kill(&c->sender, j);
    if (c->sink.pid > 0)
        ash_net_helper_kill(&c->sink, j);
}
