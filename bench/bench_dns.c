/* Queries per second, latency (p50/p99) and server CPU per query of aftershock's DNS server and
 * of dnsmasq, serving the same names on loopback, measured in one run by the same load generator
 * (UDP, a fixed number of queries in flight), in interleaved rounds (medians), so drift in the
 * machine's load hits both alike. Server CPU (utime+stime of the server process over the load)
 * is the figure a shared machine distorts least. With -s, the scale curve too: 100 000 names
 * (each asked once first, measured apart as "1st ask", then the same load as at 50 names,
 * in interleaved rounds too),
 * and the fault matcher with 1 and 1 000 rules that match nothing, and one that matches all,
 * each against no rule in the same interleaved rounds.
 * Prints RESULT lines for bench/run-all.sh.
 * Usage: bench_dns [QUERIES] [IN_FLIGHT] [ROUNDS] [-s]   (dnsmasq from dnsmasq-base) */
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

static int n_names = 50; /* names served, and cycled through by the load */

/* A loopback port free for TCP and UDP both: the servers bind it for both, and
 * a port the kernel picks free for one can be taken for the other. */
static int free_port(void)
{
    for (int tries = 0; tries < 50; tries++) {
        int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        int port = -1;
        if (t >= 0 && u >= 0 && bind(t, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(t, (struct sockaddr *)&a, &len) == 0 && bind(u, (struct sockaddr *)&a, sizeof a) == 0)
            port = ntohs(a.sin_port);
        if (t >= 0)
            close(t);
        if (u >= 0)
            close(u);
        if (port > 0)
            return port;
    }
    return -1;
}

/* Fault rules the aftershock server is given: n_rules that match no queried
 * name, or (match_all) one that answers every name with a wrong address. */
static int n_rules;
static bool match_all;

static int add_rules(struct ash_dns *d, ash_error_t *err)
{
    for (int i = 0; i < n_rules; i++) {
        char name[32];
        snprintf(name, sizeof name, "nomatch-%d.example", i);
        const char *names[] = {name};
        struct ash_dns_rule r = {
            .names = names, .n_names = 1, .v = {.answer = ASH_DNS_NXDOMAIN}, .probability = 1, .ttl = -1};
        uint64_t id;
        if (ash_dns_rule_add(d, &r, &id, err) < 0)
            return -1;
    }
    if (match_all) {
        const char *names[] = {"h*"};
        struct ash_dns_rule r = {.names = names,
                                 .n_names = 1,
                                 .v = {.answer = ASH_DNS_WRONG, .addr = "10.9.9.9"},
                                 .probability = 1,
                                 .ttl = -1};
        uint64_t id;
        if (ash_dns_rule_add(d, &r, &id, err) < 0)
            return -1;
    }
    return 0;
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
    for (int i = 0; i < n_names; i++) {
        char name[16], addr[32];
        snprintf(name, sizeof name, "h%d", i);
        snprintf(addr, sizeof addr, "10.%d.%d.%d", 200 + i / 65536, i / 256 % 256, i % 256);
        if (ash_dns_add_record(d, name, ASH_DNS_A, addr, 5, &err) < 0)
            goto fail;
    }
    if (add_rules(d, &err) < 0 || ash_dns_listen(d, "127.0.0.1", port, &err) < 0)
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
    for (int i = 0; i < n_names; i++)
        fprintf(f, "10.%d.%d.%d h%d\n", 200 + i / 65536, i / 256 % 256, i % 256, i);
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
    double qps, p50_us, p99_us, cpu_us; /* cpu_us: server CPU per answered query */
    long answered, lost;
    long rss_kib; /* the server's resident set after the load (the largest of the rounds) */
};

/* utime+stime of a process so far, in microseconds (-1: unknown). */
static double proc_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

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
static int load(pid_t srv, int port, long total, int window, struct result *res)
{
    uint8_t **wire = calloc((size_t)n_names, sizeof *wire);
    size_t *wlen = calloc((size_t)n_names, sizeof *wlen);
    if (!wire || !wlen)
        return -1;
    for (int i = 0; i < n_names; i++) {
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
    double cpu0 = proc_cpu_us(srv);
    int64_t *lat = malloc((size_t)total * sizeof *lat);
    if (!lat)
        return -1;
    long sent = 0, got = 0;
    int inflight = 0;
    uint16_t next_id = 1;
    int64_t t0 = ash_now_ns();
    while (got + res->lost < total) {
        while (inflight < window && sent < total) {
            int k = (int)(sent % n_names);
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
    double cpu1 = proc_cpu_us(srv);
    res->cpu_us = cpu0 >= 0 && cpu1 >= 0 && got ? (cpu1 - cpu0) / (double)got : -1;
    close(fd);
    for (int i = 0; i < n_names; i++)
        free(wire[i]);
    free(wire);
    free(wlen);
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

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double med(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return v[n / 2];
}

/* A process's resident set in KiB, from /proc (-1: unknown). */
static long proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* One server under the load: aftershock (dm false) or dnsmasq. With first
 * (not NULL), every name is asked once before the measured load, and that
 * pass is measured apart into *first: the cost of a first answer is not a
 * cost of the zone's size, and with more names than queries (100 000 names,
 * 50 000 queries) the measured load would otherwise be first answers only,
 * while at 50 names all but 50 of its queries are asked again. */
static int one_first(bool dm, const char *hosts_file, long total, int window, struct result *r, struct result *first)
{
    int port = free_port();
    pid_t srv = dm ? start_dnsmasq(port, hosts_file) : start_aftershock(port);
    int rc = first ? load(srv, port, n_names, window, first) : 0;
    if (rc == 0)
        rc = load(srv, port, total, window, r);
    r->rss_kib = proc_rss_kib(srv);
    stop(srv);
    return rc;
}

static int one(bool dm, const char *hosts_file, long total, int window, struct result *r)
{
    return one_first(dm, hosts_file, total, window, r, NULL);
}

/* Round r's figures of one server, for medians over the rounds. */
static void keep(double v[4][15], int r, const struct result *x, struct result *acc)
{
    v[0][r] = x->qps, v[1][r] = x->p50_us, v[2][r] = x->p99_us, v[3][r] = x->cpu_us;
    acc->lost += x->lost;
    if (x->rss_kib > acc->rss_kib)
        acc->rss_kib = x->rss_kib;
}

static void medians(double v[4][15], int rounds, struct result *acc)
{
    *acc = (struct result){med(v[0], rounds), med(v[1], rounds), med(v[2], rounds), med(v[3], rounds), 0,
                           acc->lost,         acc->rss_kib};
}

/* `rounds` rounds of aftershock then dnsmasq (when dm); medians into *a, *d,
 * and (af not NULL) of each name's first ask, before the load, into *af, *df. */
static int rounds_of(int rounds, bool dm, const char *hosts_file, long total, int window, struct result *a,
                     struct result *d, struct result *af, struct result *df)
{
    double v[4][15], w[4][15], vf[4][15], wf[4][15];
    for (int r = 0; r < rounds; r++) {
        struct result x = {0}, y = {0}, xf = {0}, yf = {0};
        if (one_first(false, hosts_file, total, window, &x, af ? &xf : NULL) < 0 ||
            (dm && one_first(true, hosts_file, total, window, &y, af ? &yf : NULL) < 0))
            return -1;
        keep(v, r, &x, a);
        keep(w, r, &y, d);
        if (af) {
            keep(vf, r, &xf, af);
            keep(wf, r, &yf, df);
        }
    }
    medians(v, rounds, a);
    medians(w, rounds, d);
    if (af) {
        medians(vf, rounds, af);
        medians(wf, rounds, df);
    }
    return 0;
}

/* `rounds` rounds of aftershock with no rule, then with n rules (matching
 * nothing) or a fault on every name (all): interleaved round by round, so
 * both see the same load and their ratio holds on a busy machine (one round
 * of each, minutes apart, put the fault's queries/s anywhere in 0.4-1.4x). */
static int rounds_vs_none(int rounds, const char *hosts_file, long total, int window, int n, bool all,
                          struct result *with, struct result *none)
{
    double v[4][15], w[4][15];
    for (int r = 0; r < rounds; r++) {
        struct result x = {0}, y = {0};
        n_rules = 0;
        match_all = false;
        int rc = one(false, hosts_file, total, window, &y);
        n_rules = n;
        match_all = all;
        if (rc < 0 || one(false, hosts_file, total, window, &x) < 0)
            return -1;
        keep(v, r, &x, with);
        keep(w, r, &y, none);
    }
    n_rules = 0;
    match_all = false;
    medians(v, rounds, with);
    medians(w, rounds, none);
    return 0;
}

static void row(const char *what, const struct result *r)
{
    printf("%-34s %12.0f %10.1f %10.1f %12.2f %8ld\n", what, r->qps, r->p50_us, r->p99_us, r->cpu_us, r->lost);
}

int main(int argc, char **argv)
{
    bool scale = argc > 1 && strcmp(argv[argc - 1], "-s") == 0;
    if (scale)
        argc--;
    long total = argc > 1 ? atol(argv[1]) : 200000;
    int window = argc > 2 ? atoi(argv[2]) : 32;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    if (total <= 0 || window <= 0 || window > 30000 || rounds < 1 || rounds > 15) {
        fprintf(stderr, "usage: bench_dns [QUERIES] [IN_FLIGHT] [ROUNDS] [-s]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char hosts_file[] = "/tmp/ash-bench-dns-hosts-XXXXXX";
    int hfd = mkstemp(hosts_file);
    if (hfd < 0)
        return 1;
    close(hfd);
    bool dm = system("command -v dnsmasq >/dev/null 2>&1") == 0;
    struct result ash = {0}, dmr = {0};
    int rc = rounds_of(rounds, dm, hosts_file, total, window, &ash, &dmr, NULL, NULL);
    printf("DNS server on loopback, %ld A queries, %d in flight, one UDP socket, median of %d interleaved rounds\n",
           total, window, rounds);
    printf("%-34s %12s %10s %10s %12s %8s\n", "server", "queries/s", "p50 us", "p99 us", "CPU us/query", "lost");
    row("aftershock, 50 names", &ash);
    if (dm)
        row("dnsmasq, 50 names", &dmr);
    else
        printf("dnsmasq: not installed (apt-get install dnsmasq-base, or scripts/install-deps.sh --test)\n");
    if (dm && dmr.qps > 0) {
        printf("aftershock / dnsmasq: %.2fx queries/s, %.2fx p99, %.2fx CPU per query\n", ash.qps / dmr.qps,
               ash.p99_us / dmr.p99_us, ash.cpu_us / dmr.cpu_us);
        /* Goals (issue 19): >= 1.0x the queries/s, p99 <= dnsmasq's, faults off. */
        printf("RESULT dns_qps_vs_dnsmasq %.2f x >=1.0\n", ash.qps / dmr.qps);
        printf("RESULT dns_p99_vs_dnsmasq %.2f x <=1.0\n", ash.p99_us / dmr.p99_us);
        printf("RESULT dns_cpu_vs_dnsmasq %.2f x <=1.0\n", ash.cpu_us / dmr.cpu_us);
        printf("RESULT dns_cpu_us_per_query %.2f us -\n", ash.cpu_us);
        printf("RESULT dns_dnsmasq_cpu_us_per_query %.2f us -\n", dmr.cpu_us);
    }
    if (scale && rc == 0) {
        struct result big = {0}, bigd = {0}, r1 = {0}, r1k = {0}, on = {0}, none1 = {0}, none1k = {0}, off = {0};
        struct result bigf = {0}, bigdf = {0};
        n_names = 100000;
        rc = rounds_of(rounds, dm, hosts_file, total, window, &big, &bigd, &bigf, &bigdf);
        n_names = 50;
        if (rc == 0)
            rc = rounds_vs_none(rounds, hosts_file, total, window, 1, false, &r1, &none1);
        if (rc == 0)
            rc = rounds_vs_none(rounds, hosts_file, total, window, 1000, false, &r1k, &none1k);
        if (rc == 0)
            rc = rounds_vs_none(rounds, hosts_file, total, window, 0, true, &on, &off);
        if (rc == 0) {
            row("aftershock, 100 000 names, 1st ask", &bigf);
            row("aftershock, 100 000 names", &big);
            if (dm) {
                row("dnsmasq, 100 000 names, 1st ask", &bigdf);
                row("dnsmasq, 100 000 names", &bigd);
            }
            printf("100 000 names (each asked once before the measured load): server RSS after the load: "
                   "aftershock %.1f MiB",
                   (double)big.rss_kib / 1024);
            if (dm)
                printf(", dnsmasq %.1f MiB; aftershock / dnsmasq CPU per query %.2fx (1st ask %.2fx)",
                       (double)bigd.rss_kib / 1024, big.cpu_us / bigd.cpu_us, bigf.cpu_us / bigdf.cpu_us);
            printf("\n");
            row("aftershock, 50 names, 1 rule", &r1);
            row("aftershock, 50 names, 1 000 rules", &r1k);
            row("aftershock, 50 names, fault on all", &on);
            row("aftershock, 50 names, faults off", &off);
            printf("CPU per query: 100 000 names %.2fx of 50; 1 rule %.2fx, 1 000 rules %.2fx of none; fault on "
                   "%.2fx (queries/s %.2fx); each against no rule in the same rounds\n",
                   big.cpu_us / ash.cpu_us, r1.cpu_us / none1.cpu_us, r1k.cpu_us / none1k.cpu_us,
                   on.cpu_us / off.cpu_us, on.qps / off.qps);
            printf("RESULT dns_100k_names_cpu_vs_50 %.2f x <=1.5\n", big.cpu_us / ash.cpu_us);
            printf("RESULT dns_100k_names_first_cpu_vs_50 %.2f x -\n", bigf.cpu_us / ash.cpu_us);
            if (dm && bigd.cpu_us > 0)
                printf("RESULT dns_100k_names_cpu_vs_dnsmasq %.2f x <=1.0\n", big.cpu_us / bigd.cpu_us);
            printf("RESULT dns_100k_names_rss_mib %.1f MiB -\n", (double)big.rss_kib / 1024);
            printf("RESULT dns_1000_rules_cpu_vs_none %.2f x -\n", r1k.cpu_us / none1k.cpu_us);
            printf("RESULT dns_1_rule_cpu_vs_none %.2f x -\n", r1.cpu_us / none1.cpu_us);
            printf("RESULT dns_fault_on_cpu_vs_off %.2f x -\n", on.cpu_us / off.cpu_us);
            printf("RESULT dns_fault_on_qps_vs_off %.2f x >=0.9\n", on.qps / off.qps);
        }
    }
    unlink(hosts_file);
    return rc < 0 ? 1 : 0;
}
