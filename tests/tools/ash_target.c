/* ash_target: a scripted HTTP service for known-answer timing tests; it breaks and recovers on cue and records when.
 *
 * It answers every GET (/healthz or anything else) with 200 "ok" while healthy
 * and 503 while broken, over HTTP/1.0 on 127.0.0.1 (HTTP/1.1 with --keepalive). The script:
 *   --fail-after-signal MS   on SIGUSR1, break MS milliseconds later
 *   --fail-at MS             break MS milliseconds after start (timeline mode)
 *   --recover-after MS       become healthy again MS after breaking
 *   --log-after MS --log-line TEXT
 *                            MS after breaking, print TEXT on stdout (flushed)
 *   --refuse                 while broken, close the listening socket (connects
 *                            are refused) instead of answering 503
 *   --hang                   while broken, accept and read requests but do not
 *                            answer them; on recovery answer every held request
 *                            with 200 at once, as a released lock or a drained
 *                            queue does (a blocked request that then succeeds)
 *   --any                    listen on every address, not only 127.0.0.1 (inside
 *                            a sandbox host, so that other hosts can reach it)
 *   --pad BYTES              a healthy answer's body is BYTES of 'x' before "ok"
 *                            (at most 32768: one send into loopback's buffers), so
 *                            a client reads it in several pieces
 *   --keepalive              answer over HTTP/1.1 and keep the connection open for
 *                            the client's next request (bench_engine.sh's
 *                            keep-alive comparison); without it every answer
 *                            closes its connection
 * The true times of every state change go to stderr and, with --truth-file,
 * are appended to a file as "ash-target: <event> at <CLOCK_MONOTONIC ns>",
 * so a test can compare what aftershock measured with what really happened.
 * Not fsync'd: a plain write is in the page cache, which the test reads, at
 * once, and an fsync on a busy disk held the state change itself back (the
 * held answers, the next accept) by hundreds of milliseconds after its stamp.
 * Plain libc, one thread, poll + timerfd; SIGTERM/SIGINT exit cleanly (status 0). */
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 128
#define CLIENT_IDLE_NS (5 * INT64_C(1000000000))

struct client {
    int fd;
    size_t len;
    bool draining; /* answered; reading until the peer closes so it gets the whole reply */
    bool held;     /* --hang: a whole request, not answered while broken */
    int64_t since;
    char buf[4096];
};

struct opts {
    int port;
    const char *port_file;
    const char *truth_file;
    long fail_after_signal_ms; /* -1: unset */
    long fail_at_ms;
    long recover_after_ms;
    long log_after_ms;
    const char *log_line;
    bool refuse;
    bool hang;
    bool any;
    long pad;
    bool keepalive;
};

static struct opts o = {.fail_after_signal_ms = -1, .fail_at_ms = -1, .recover_after_ms = -1, .log_after_ms = -1};
static int truth_fd = -1;
static bool healthy = true;
static int listen_fd = -1;
static uint16_t bound_port;
static struct client clients[MAX_CLIENTS];
static size_t nclients;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One truth line to stderr and the truth file. */
static void truth(const char *event, int64_t t)
{
    char line[128];
    int n = snprintf(line, sizeof line, "ash-target: %s at %lld\n", event, (long long)t);
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* stderr closed: the truth file still has it */
    }
    if (truth_fd >= 0) {
        if (write(truth_fd, line, (size_t)n) != n)
            fprintf(stderr, "ash-target: cannot write truth file: %s\n", strerror(errno));
    }
}

static int open_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(bound_port ? bound_port : (uint16_t)o.port)};
    a.sin_addr.s_addr = htonl(o.any ? INADDR_ANY : INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        bound_port = ntohs(a.sin_port);
    return fd;
}

static int write_port_file(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", (unsigned)bound_port);
    if (fclose(f) != 0)
        return -1;
    /* rename: a reader never sees a half-written port. */
    return rename(tmp, path);
}

static void arm(int tfd, int64_t deadline)
{
    struct itimerspec its = {0};
    if (deadline <= 0)
        deadline = 1;
    its.it_value.tv_sec = deadline / 1000000000;
    its.it_value.tv_nsec = deadline % 1000000000;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void drain_timer(int tfd)
{
    uint64_t n;
    while (read(tfd, &n, sizeof n) > 0)
        ;
}

static void drop_client(size_t i)
{
    close(clients[i].fd);
    clients[i] = clients[--nclients];
}

/* The two answers, made once at start (--pad and --keepalive shape them). */
static char *answer_ok, *answer_bad;
static size_t answer_ok_len, answer_bad_len;

static char *make_answer(const char *status, long pad, const char *body, size_t *len)
{
    char head[192];
    size_t body_len = strlen(body);
    int h = snprintf(head, sizeof head, "%s %s\r\nContent-Type: text/plain\r\nContent-Length: %ld\r\n%s\r\n",
                     o.keepalive ? "HTTP/1.1" : "HTTP/1.0", status, pad + (long)body_len,
                     o.keepalive ? "" : "Connection: close\r\n");
    char *a = malloc((size_t)h + (size_t)pad + body_len + 1);
    if (!a) {
        perror("ash-target: answer");
        exit(1);
    }
    memcpy(a, head, (size_t)h);
    memset(a + h, 'x', (size_t)pad);
    memcpy(a + h + pad, body, body_len + 1);
    *len = (size_t)h + (size_t)pad + body_len;
    return a;
}

static void make_answers(void)
{
    answer_ok = make_answer("200 OK", o.pad, "ok\n", &answer_ok_len);
    answer_bad = make_answer("503 Service Unavailable", 0, "unavailable\n", &answer_bad_len);
}

static void respond(struct client *c)
{
    if (o.hang && !healthy) {
        c->held = true;
        return;
    }
    c->held = false;
    const char *r = healthy ? answer_ok : answer_bad;
    size_t len = healthy ? answer_ok_len : answer_bad_len;
    if (strncmp(c->buf, "HEAD ", 5) == 0)
        len = (size_t)(strstr(r, "\r\n\r\n") + 4 - r);
    /* Small enough for the socket buffer: one non-blocking send suffices. */
    if (send(c->fd, r, len, MSG_NOSIGNAL) < 0) {
        /* the client went away; dropped when its read fails */
    }
    if (o.keepalive) {
        /* Ready for the client's next request on this connection (one at a
         * time: a request sent before the answer to the last is not kept). */
        c->len = 0;
        c->buf[0] = '\0';
        c->since = now_ns();
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->draining = true;
}

static void client_readable(size_t i)
{
    struct client *c = &clients[i];
    char scratch[4096];
    char *dst = c->draining ? scratch : c->buf + c->len;
    size_t room = c->draining ? sizeof scratch : sizeof c->buf - 1 - c->len;
    ssize_t n = read(c->fd, dst, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_client(i);
        return;
    }
    if (c->draining || c->held)
        return;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n") || c->len == sizeof c->buf - 1)
        respond(c);
}

static void accept_clients(void)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (nclients == MAX_CLIENTS) {
            close(fd);
            continue;
        }
        clients[nclients] = (struct client){.fd = fd, .since = now_ns()};
        nclients++;
    }
}

static void become_broken(int recover_tfd, int log_tfd)
{
    int64_t t = now_ns();
    if (o.refuse && listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
    }
    healthy = false;
    truth("broken", t);
    if (o.recover_after_ms >= 0)
        arm(recover_tfd, t + o.recover_after_ms * 1000000);
    if (o.log_after_ms >= 0 && o.log_line)
        arm(log_tfd, t + o.log_after_ms * 1000000);
}

static int become_healthy(void)
{
    if (o.refuse && listen_fd < 0) {
        listen_fd = open_listener();
        if (listen_fd < 0) {
            fprintf(stderr, "ash-target: cannot listen again on 127.0.0.1:%u: %s\n", (unsigned)bound_port,
                    strerror(errno));
            return -1;
        }
    }
    healthy = true;
    truth("recovered", now_ns());
    /* After the truth line: every answer to a held request is sent at or after it. */
    for (size_t i = 0; i < nclients; i++)
        if (clients[i].held)
            respond(&clients[i]);
    return 0;
}

static void log_now(void)
{
    int64_t t = now_ns();
    fputs(o.log_line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    truth("logged", t);
}

static long parse_ms(const char *s, const char *flag)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "ash-target: %s wants a non-negative integer (milliseconds, a port or bytes), got '%s'\n", flag,
                s);
        exit(2);
    }
    return v;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ash_target [--port N] [--port-file PATH] [--truth-file PATH]\n"
               "                  [--fail-after-signal MS | --fail-at MS] [--recover-after MS]\n"
               "                  [--log-after MS --log-line TEXT] [--refuse | --hang] [--any]\n"
               "                  [--pad BYTES] [--keepalive]\n");
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                             {"port-file", required_argument, NULL, 'P'},
                                             {"truth-file", required_argument, NULL, 't'},
                                             {"fail-after-signal", required_argument, NULL, 's'},
                                             {"fail-at", required_argument, NULL, 'a'},
                                             {"recover-after", required_argument, NULL, 'r'},
                                             {"log-after", required_argument, NULL, 'l'},
                                             {"log-line", required_argument, NULL, 'L'},
                                             {"refuse", no_argument, NULL, 'R'},
                                             {"hang", no_argument, NULL, 'H'},
                                             {"any", no_argument, NULL, 'A'},
                                             {"pad", required_argument, NULL, 'D'},
                                             {"keepalive", no_argument, NULL, 'K'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': {
            long v = parse_ms(optarg, "--port");
            if (v > 65535) {
                fprintf(stderr, "ash-target: --port must be 0..65535\n");
                exit(2);
            }
            o.port = (int)v;
            break;
        }
        case 'P':
            o.port_file = optarg;
            break;
        case 't':
            o.truth_file = optarg;
            break;
        case 's':
            o.fail_after_signal_ms = parse_ms(optarg, "--fail-after-signal");
            break;
        case 'a':
            o.fail_at_ms = parse_ms(optarg, "--fail-at");
            break;
        case 'r':
            o.recover_after_ms = parse_ms(optarg, "--recover-after");
            break;
        case 'l':
            o.log_after_ms = parse_ms(optarg, "--log-after");
            break;
        case 'L':
            o.log_line = optarg;
            break;
        case 'R':
            o.refuse = true;
            break;
        case 'H':
            o.hang = true;
            break;
        case 'A':
            o.any = true;
            break;
        case 'D':
            o.pad = parse_ms(optarg, "--pad");
            if (o.pad > 32768) {
                fprintf(stderr, "ash-target: --pad must be 0..32768\n");
                exit(2);
            }
            break;
        case 'K':
            o.keepalive = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ash-target: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
    if (o.refuse && o.hang) {
        fprintf(stderr, "ash-target: --refuse and --hang are exclusive\n");
        exit(2);
    }
    if (o.log_after_ms >= 0 && !o.log_line) {
        fprintf(stderr, "ash-target: --log-after needs --log-line TEXT\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    make_answers();
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake on time: the truth must be precise */

    if (o.truth_file) {
        truth_fd = open(o.truth_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (truth_fd < 0) {
            fprintf(stderr, "ash-target: cannot open truth file %s: %s\n", o.truth_file, strerror(errno));
            return 1;
        }
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    int break_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int recover_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int log_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (sfd < 0 || break_tfd < 0 || recover_tfd < 0 || log_tfd < 0) {
        fprintf(stderr, "ash-target: signalfd/timerfd: %s\n", strerror(errno));
        return 1;
    }
    listen_fd = open_listener();
    if (listen_fd < 0) {
        fprintf(stderr, "ash-target: cannot listen on 127.0.0.1:%d: %s\n", o.port, strerror(errno));
        return 1;
    }
    if (o.port_file && write_port_file(o.port_file) < 0) {
        fprintf(stderr, "ash-target: cannot write port file %s: %s\n", o.port_file, strerror(errno));
        return 1;
    }
    int64_t start = now_ns();
    truth("started", start);
    if (o.fail_at_ms >= 0)
        arm(break_tfd, start + o.fail_at_ms * 1000000);

    int status = 0;
    bool running = true;
    struct pollfd pfd[5 + MAX_CLIENTS];
    while (running) {
        pfd[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = break_tfd, .events = POLLIN};
        pfd[2] = (struct pollfd){.fd = recover_tfd, .events = POLLIN};
        pfd[3] = (struct pollfd){.fd = log_tfd, .events = POLLIN};
        pfd[4] = (struct pollfd){.fd = listen_fd, .events = POLLIN}; /* -1 while refusing: ignored */
        for (size_t i = 0; i < nclients; i++)
            pfd[5 + i] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        size_t n = 5 + nclients;
        if (poll(pfd, n, 1000) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ash-target: poll: %s\n", strerror(errno));
            status = 1;
            break;
        }
        /* Timers first: their time is the truth, and a request that arrives in
         * the same wake-up is answered according to the new state. */
        if (pfd[1].revents) {
            drain_timer(break_tfd);
            if (healthy)
                become_broken(recover_tfd, log_tfd);
        }
        if (pfd[3].revents) {
            drain_timer(log_tfd);
            log_now();
        }
        if (pfd[2].revents) {
            drain_timer(recover_tfd);
            if (!healthy && become_healthy() < 0) {
                status = 1;
                break;
            }
        }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGUSR1) {
                    int64_t t = now_ns();
                    truth("signalled", t);
                    if (o.fail_after_signal_ms >= 0 && healthy)
                        arm(break_tfd, t + o.fail_after_signal_ms * 1000000);
                } else {
                    truth("stopping", now_ns()); /* SIGTERM/SIGINT: the service ends here */
                    running = false;
                }
            }
        }
        /* Clients: walk backwards so drop_client's swap-with-last is safe. */
        for (size_t i = nclients; i-- > 0;)
            if (pfd[5 + i].revents && pfd[5 + i].fd == clients[i].fd)
                client_readable(i);
        if (pfd[4].revents && listen_fd >= 0 && pfd[4].fd == listen_fd)
            accept_clients();
        int64_t t = now_ns();
        for (size_t i = nclients; i-- > 0;)
            if (t - clients[i].since > CLIENT_IDLE_NS)
                drop_client(i);
    }
    while (nclients)
        drop_client(nclients - 1);
    if (listen_fd >= 0)
        close(listen_fd);
    close(sfd);
    close(break_tfd);
    close(recover_tfd);
    close(log_tfd);
    if (truth_fd >= 0)
        close(truth_fd);
    return status;
}
