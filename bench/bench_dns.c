/* Queries per second and latency (p50/p99) of aftershock's DNS server and of dnsmasq, serving
 * the same 50 names on loopback, measured in one run by the same load generator (UDP, a fixed
 * number of queries in flight). Usage: bench_dns [QUERIES] [IN_FLIGHT]   (dnsmasq from dnsmasq-base) */
#include "dns/dns.h"
#include "sys/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_NAMES 50

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

/* The aftershock server in a child process, on its own event loop. */
static pid_t start_aftershock(int port)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    ash_error_t err = {0};
    ash_loop *loop;
    struct ash_dns *d;
    if (ash_loop_new(&loop, &err) < 0 || ash_dns_new(loop, &d, &err) < 0)
        goto fail;
    for (int i = 0; i < N_NAMES; i++) {
        char name[16], addr[32];
        snprintf(name, sizeof name, "h%d", i);
        snprintf(addr, sizeof addr, "10.200.0.%d", i + 2);
        if (ash_dns_add_record(d, name, ASH_DNS_A, addr, 5, &err) < 0)
            goto fail;
    }
    if (ash_dns_listen(d, "127.0.0.1", port, &err) < 0)
        goto fail;
    ash_loop_run(loop, &err);
    _exit(0);
fail:
    fprintf(stderr, "bench_dns: aftershock server: %s\n", err.msg);
    _exit(1);
}

/* dnsmasq with the same names from a hosts file, no upstream, no cache effects on
 * authoritative local data, in the foreground so we can stop it by pid. */
static pid_t start_dnsmasq(int port, const char *hosts_file)
{
    FILE *f = fopen(hosts_file, "w");
    if (!f)
        return -1;
    for (int i = 0; i < N_NAMES; i++)
        fprintf(f, "10.200.0.%d h%d\n", i + 2, i);
    fclose(f);
    char port_arg[32], hosts_arg[300];
    snprintf(port_arg, sizeof port_arg, "--port=%d", port);
    snprintf(hosts_arg, sizeof hosts_arg, "--addn-hosts=%s", hosts_file);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
               hosts_arg, port_arg, "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=", "--local-ttl=5",
               "--user=root", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct result {
    double qps, p50_us, p99_us;
    long answered, lost;
};

/* Wait up to 5 s until the server answers one query (it may still be starting:
 * then the kernel refuses at once, so pause between tries). */
static int wait_ready(int fd, const uint8_t *q, size_t len)
{
    int64_t deadline = ash_now_ns() + 5 * ASH_NS_PER_S;
    while (ash_now_ns() < deadline) {
        send(fd, q, len, 0);
        struct pollfd p = {fd, POLLIN, 0};
        uint8_t buf[1500];
        if (poll(&p, 1, 20) == 1 && recv(fd, buf, sizeof buf, 0) > 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

/* The load generator: `total` queries over one UDP socket, `window` in flight; a
 * query unanswered for 1 s counts as lost. */
static int load(int port, long total, int window, struct result *res)
{
    uint8_t *wire[N_NAMES];
    size_t wlen[N_NAMES];
    for (int i = 0; i < N_NAMES; i++) {
        char name[16];
        snprintf(name, sizeof name, "h%d.", i);
        ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
        if (!q || ldns_pkt2wire(&wire[i], q, &wlen[i]) != LDNS_STATUS_OK)
            return -1;
        ldns_pkt_free(q);
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || wait_ready(fd, wire[0], wlen[0]) < 0) {
        fprintf(stderr, "bench_dns: no answer on 127.0.0.1:%d\n", port);
        return -1;
    }
    static int64_t sent_at[65536];
    memset(sent_at, 0, sizeof sent_at);
    int64_t *lat = malloc((size_t)total * sizeof *lat);
    if (!lat)
        return -1;
    long sent = 0, got = 0;
    int inflight = 0;
    uint16_t next_id = 1;
    int64_t t0 = ash_now_ns();
    while (got + res->lost < total) {
        while (inflight < window && sent < total) {
            int k = (int)(sent % N_NAMES);
            uint16_t id = next_id++;
            wire[k][0] = (uint8_t)(id >> 8);
            wire[k][1] = (uint8_t)id;
            sent_at[id] = ash_now_ns();
            if (send(fd, wire[k], wlen[k], 0) < 0)
                break;
            sent++;
            inflight++;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) != 1) {
            res->lost += inflight; /* nothing for 1 s: what is in flight is lost */
            inflight = 0;
            if (sent >= total)
                break;
            continue;
        }
        uint8_t buf[1500];
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 12) {
            uint16_t id = (uint16_t)((buf[0] << 8) | buf[1]);
            if (!sent_at[id])
                continue;
            lat[got++] = ash_now_ns() - sent_at[id];
            sent_at[id] = 0;
            inflight--;
        }
    }
    int64_t elapsed = ash_now_ns() - t0;
    close(fd);
    for (int i = 0; i < N_NAMES; i++)
        free(wire[i]);
    qsort(lat, (size_t)got, sizeof *lat, cmp_i64);
    res->answered = got;
    res->qps = (double)got / ((double)elapsed / 1e9);
    res->p50_us = got ? (double)lat[got / 2] / 1e3 : 0;
    res->p99_us = got ? (double)lat[(size_t)((double)got * 0.99)] / 1e3 : 0;
    free(lat);
    return 0;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 200000;
    int window = argc > 2 ? atoi(argv[2]) : 32;
    if (total <= 0 || window <= 0 || window > 30000) {
        fprintf(stderr, "usage: bench_dns [QUERIES] [IN_FLIGHT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char hosts_file[] = "/tmp/ash-bench-dns-hosts-XXXXXX";
    int hfd = mkstemp(hosts_file);
    if (hfd < 0)
        return 1;
    close(hfd);
    struct result ash = {0}, dm = {0};
    int rc = 0;

    int port = free_port();
    pid_t srv = start_aftershock(port);
    if (load(port, total, window, &ash) < 0)
        rc = 1;
    stop(srv);

    bool have_dnsmasq = system("command -v dnsmasq >/dev/null 2>&1") == 0;
    if (have_dnsmasq) {
        port = free_port();
        srv = start_dnsmasq(port, hosts_file);
        if (load(port, total, window, &dm) < 0)
            rc = 1;
        stop(srv);
    }
    unlink(hosts_file);

    printf("DNS server on loopback, %ld A queries over 50 names, %d in flight, one UDP socket\n", total, window);
    printf("%-12s %12s %10s %10s %10s\n", "server", "queries/s", "p50 us", "p99 us", "lost");
    printf("%-12s %12.0f %10.1f %10.1f %10ld\n", "aftershock", ash.qps, ash.p50_us, ash.p99_us, ash.lost);
    if (have_dnsmasq)
        printf("%-12s %12.0f %10.1f %10.1f %10ld\n", "dnsmasq", dm.qps, dm.p50_us, dm.p99_us, dm.lost);
    else
        printf("dnsmasq: not installed (apt-get install dnsmasq-base, or scripts/install-deps.sh --test)\n");
    if (have_dnsmasq && dm.qps > 0)
        printf("aftershock / dnsmasq: %.2fx queries/s, %.2fx p99\n", ash.qps / dm.qps, ash.p99_us / dm.p99_us);
    return rc;
}
