/* ash_alertpost: a system's monitoring in miniature: on SIGUSR1 it posts one Alertmanager alert and records when.
 *
 *   --port N            the webhook receiver's port on 127.0.0.1 (loopback only, by construction)
 *   --path P            URL path (default /alerts)
 *   --alertname NAME    the firing alert (default AshAlert)
 *   --also NAME         a second firing alert in the same payload, with any
 *                       bytes in its name (JSON-escaped on the wire)
 *   --truth-file PATH   appends "ash-alertpost: alert-sent at NS" (before connecting) and
 *                       "ash-alertpost: alert-answered at NS status CODE" (after the reply;
 *                       status 0: no reply within 5 s), CLOCK_MONOTONIC (not fsync'd:
 *                       the test reads the page cache, and an fsync would delay the post)
 *   --ready-file PATH   created once SIGUSR1 is blocked (a `ready: exec` check can wait for it)
 *   --starts-ago-ms N   the alert's startsAt is N ms before the signal (default 0: the
 *                       signal's own wall-clock time, in ns, as Alertmanager writes it)
 *   --fingerprint FP    the alert's fingerprint (default: none, as a generic sender)
 *   --sends N           post the same payload N times per signal (a group re-sent)
 *
 * One request per SIGUSR1, HTTP/1.1 with Connection: close, plain libc.
 * SIGTERM/SIGINT exit 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 5000

static int truth_fd = -1;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void truth(const char *line)
{
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        /* stderr closed: the truth file still has it */
    }
    if (truth_fd >= 0 && write(truth_fd, line, strlen(line)) < 0)
        fprintf(stderr, "ash-alertpost: cannot write truth file: %s\n", strerror(errno));
}

/* JSON string body of s (without quotes); every byte below 0x20 and '"', '\\' escaped. */
static void json_escape(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 7 < len; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\')
            k += (size_t)snprintf(out + k, len - k, "\\u%04x", *p);
        else
            out[k++] = (char)*p;
    }
    out[k] = '\0';
}

static long wait_ms_left(int64_t deadline)
{
    int64_t left = (deadline - now_ns()) / 1000000;
    return left > 0 ? left : 0;
}

/* POST body; returns the HTTP status, 0 if none came within REPLY_TIMEOUT_MS. */
static int post(uint16_t port, const char *path, const char *body)
{
    int64_t deadline = now_ns() + (int64_t)REPLY_TIMEOUT_MS * 1000000;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     path, (unsigned)port, strlen(body), body);
    int status = 0;
    size_t sent = 0, got = 0;
    char reply[1024];
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        goto out;
    while (sent < (size_t)n) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, (int)wait_ms_left(deadline)) <= 0)
            goto out;
        ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN)
            goto out;
        sent += w > 0 ? (size_t)w : 0;
    }
    while (got < sizeof reply - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)wait_ms_left(deadline)) <= 0)
            goto out;
        ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
        if (r < 0 && errno == EAGAIN)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        reply[got] = '\0';
        if (strstr(reply, "\r\n"))
            break; /* the status line is all we need */
    }
    reply[got] = '\0';
    if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
out:
    close(fd);
    return status;
}

int main(int argc, char **argv)
{
    long port = -1;
    const char *path = "/alerts", *name = "AshAlert", *also = NULL, *truth_file = NULL, *ready_file = NULL;
    const char *fingerprint = NULL;
    long starts_ago_ms = 0, sends = 1;
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},          {"path", required_argument, NULL, 'P'},
        {"alertname", required_argument, NULL, 'n'},     {"also", required_argument, NULL, 'a'},
        {"truth-file", required_argument, NULL, 't'},    {"ready-file", required_argument, NULL, 'r'},
        {"starts-ago-ms", required_argument, NULL, 'S'}, {"fingerprint", required_argument, NULL, 'f'},
        {"sends", required_argument, NULL, 'N'},         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'P':
            path = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'a':
            also = optarg;
            break;
        case 't':
            truth_file = optarg;
            break;
        case 'r':
            ready_file = optarg;
            break;
        case 'S':
            starts_ago_ms = strtol(optarg, NULL, 10);
            break;
        case 'f':
            fingerprint = optarg;
            break;
        case 'N':
            sends = strtol(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: ash_alertpost --port N [--path P] [--alertname NAME] [--also NAME] "
                            "[--truth-file PATH] [--ready-file PATH]\n");
            return 2;
        }
    }
    if (port < 1 || port > 65535) {
        fprintf(stderr, "ash-alertpost: --port 1..65535 is required\n");
        return 2;
    }
    if (truth_file && (truth_fd = open(truth_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        fprintf(stderr, "ash-alertpost: cannot open %s: %s\n", truth_file, strerror(errno));
        return 1;
    }
    char ename[512], aname[512] = "", body[4096], fp[300] = "", efp[256];
    json_escape(name, ename, sizeof ename);
    if (fingerprint) {
        json_escape(fingerprint, efp, sizeof efp);
        snprintf(fp, sizeof fp, ",\"fingerprint\":\"%s\"", efp);
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "ash-alertpost: signalfd: %s\n", strerror(errno));
        return 1;
    }
    if (ready_file) {
        FILE *f = fopen(ready_file, "w");
        if (!f || fclose(f) != 0) {
            fprintf(stderr, "ash-alertpost: cannot create %s: %s\n", ready_file, strerror(errno));
            return 1;
        }
    }
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo != SIGUSR1)
            break;
        /* startsAt as Alertmanager writes it: RFC 3339 with nanoseconds, UTC. */
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        int64_t w = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec - (int64_t)starts_ago_ms * 1000000;
        time_t secs = (time_t)(w / 1000000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char starts[64], date[40];
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(starts, sizeof starts, "%s.%09lldZ", date, (long long)(w % 1000000000));
        if (also) {
            char tmp[400];
            json_escape(also, tmp, sizeof tmp);
            snprintf(aname, sizeof aname,
                     ",{\"status\":\"firing\",\"labels\":{\"alertname\":\"%s\"},\"annotations\":{},"
                     "\"startsAt\":\"%s\"}",
                     tmp, starts);
        }
        snprintf(body, sizeof body,
                 "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"aftershock\",\"alerts\":["
                 "{\"status\":\"firing\",\"labels\":{\"alertname\":\"%s\"},\"annotations\":{\"summary\":"
                 "\"paged\"},\"startsAt\":\"%s\"%s}%s]}",
                 ename, starts, fp, aname);
        char line[128];
        snprintf(line, sizeof line, "ash-alertpost: alert-sent at %lld\n", (long long)now_ns());
        truth(line);
        int status = post((uint16_t)port, path, body);
        for (long k = 1; k < sends; k++)
            status = post((uint16_t)port, path, body) ? status : 0;
        snprintf(line, sizeof line, "ash-alertpost: alert-answered at %lld status %d\n", (long long)now_ns(), status);
        truth(line);
    }
    close(sfd);
    if (truth_fd >= 0)
        close(truth_fd);
    return 0;
}
