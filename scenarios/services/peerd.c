/* Demo system under test for the DNS and congestion scenarios: a service that
 * depends on a peer, resolves the peer by name through the system resolver
 * and caches the answer for --cache-ttl seconds (as the iOffice nodes' stale
 * caches did), and calls it within a latency budget (as the core modules
 * behind a congested data-centre link did). Its own monitoring posts
 * Alertmanager-format alerts to --alert-url, so detection is the system's.
 *
 *   GET /healthz   200 when the last peer check succeeded within budget, else 503
 *   GET /work      answered locally: 200 (a leaf peer uses only this)
 *
 * With no --peer it is a leaf that always answers 200. Checks run in a
 * monitor thread every --interval ms; HTTP serving stays single-threaded.
 * libcurl does the client side (peer calls and alert posts).
 *
 * What the replays' causal chains need (001_2679c349c9de04b3.txt, 003_950be08496ca8dfd.txt):
 *   --cache-ttl dns   keep each answer as long as its DNS TTL says (the lowest TTL
 *                     of the answer's records, read with res_query), as a caching
 *                     resolver does: a wrong answer given with a long TTL outlives
 *                     the DNS fix by that TTL
 *   --peer-path P     call P on the peer instead of /work (/healthz: depend on the
 *                     peer's own health, as a platform depends on its node's
 *                     election client)
 *   --register P      call P on the peer once at start; if that fails (the peer is
 *                     not up yet: started out of sequence) stay unhealthy until
 *                     restarted, however healthy the peer becomes later
 *   --peer H:P        repeated: several backends; each check tries them in turn,
 *                     starting with the one after the last that answered (traffic
 *                     spread over them, failing over to the next)
 *   --wedge-after N   after N failed checks in a row stop serving until restarted
 *                     (no defence: the service does not survive a network problem)
 *   --quorum N        be a coordinator: healthy only while N distinct callers have
 *                     called within 3 intervals; a caller silent for
 *                     --member-timeout ms is cached as failed and refused until this
 *                     process restarts (the election server's cache: cleared by a
 *                     restart) */
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *name = "peerd", *peer_host, *alert_url, *peer_path = "/work", *register_path;
static int port = 8080, peer_port = 8080, budget_ms = 200, interval_ms = 100, alert_after = 3, cache_ttl = 0;
static int quorum = 0, member_timeout_ms = 1000;
static int wedge_after = 0;
static bool ttl_from_dns;
static atomic_bool healthy = true, out_of_sequence = false, wedged = false;
static struct {
    char host[256];
    int port;
} peers[4];
static int n_peers;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    return s * n;
}

/* Resolve through the host's resolv.conf with res_query: the A record's address
 * and the lowest TTL on the way to it (a CNAME's counts), as a caching resolver
 * keeps the answer. */
static bool resolve_ttl(char *addr, size_t len, int *ttl)
{
    unsigned char ans[1024];
    int n = res_query(peer_host, ns_c_in, ns_t_a, ans, sizeof ans);
    ns_msg msg;
    if (n < 0 || ns_initparse(ans, n, &msg) < 0) {
        printf("%s: cannot resolve %s: %s\n", name, peer_host, hstrerror(h_errno));
        fflush(stdout);
        return false;
    }
    bool found = false;
    *ttl = 1 << 30;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            break;
        if ((int)ns_rr_ttl(rr) < *ttl)
            *ttl = (int)ns_rr_ttl(rr);
        if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4 && !found)
            found = inet_ntop(AF_INET, ns_rr_rdata(rr), addr, (socklen_t)len) != NULL;
    }
    if (!found) {
        printf("%s: no address for %s\n", name, peer_host);
        fflush(stdout);
    }
    return found;
}

/* Resolve through getaddrinfo (the host's resolv.conf and /etc/hosts), keeping
 * the answer for cache_ttl seconds whatever the record's TTL says, or (--cache-ttl
 * dns) for the TTL the answer came with. */
static bool resolve(char *addr, size_t len)
{
    static char cached[INET_ADDRSTRLEN];
    static double cached_at = -1e9, keep = 0;
    if (cached[0] && now_s() - cached_at < (ttl_from_dns ? keep : cache_ttl)) {
        snprintf(addr, len, "%s", cached);
        return true;
    }
    if (ttl_from_dns) {
        int ttl;
        if (!resolve_ttl(cached, sizeof cached, &ttl)) {
            cached[0] = '\0';
            return false;
        }
        if (ttl > 0) {
            printf("%s: %s is %s, cached for %d s (its TTL)\n", name, peer_host, cached, ttl);
            fflush(stdout);
        }
        keep = ttl;
        cached_at = now_s();
        snprintf(addr, len, "%s", cached);
        return true;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(peer_host, NULL, &hints, &ai);
    if (rc != 0) {
        printf("%s: cannot resolve %s: %s\n", name, peer_host, gai_strerror(rc));
        fflush(stdout);
        return false;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, cached, sizeof cached);
    freeaddrinfo(ai);
    cached_at = now_s();
    snprintf(addr, len, "%s", cached);
    return true;
}

static bool check_peer_path(const char *path)
{
    char addr[INET_ADDRSTRLEN], url[256];
    if (!resolve(addr, sizeof addr))
        return false;
    snprintf(url, sizeof url, "http://%s:%d%s", addr, peer_port, path);
    CURL *c = curl_easy_init();
    if (!c)
        return false;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)budget_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || code != 200) {
        printf("%s: peer %s (%s%s) failed: %s\n", name, peer_host, addr, path,
               rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status");
        fflush(stdout);
        return false;
    }
    return true;
}

/* One check: the peers in turn from the one after the last that answered, until one does. */
static bool check_peer(void)
{
    static int next;
    for (int i = 0; i < n_peers; i++) {
        int k = (next + i) % n_peers;
        peer_host = peers[k].host;
        peer_port = peers[k].port;
        if (check_peer_path(peer_path)) {
            next = (k + 1) % n_peers;
            return true;
        }
    }
    return false;
}

static void post_alert(const char *status)
{
    if (!alert_url)
        return;
    char body[1024];
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"aftershock\",\"alerts\":[{\"status\":\"%s\","
             "\"labels\":{\"alertname\":\"PeerUnhealthy\",\"service\":\"%s\",\"peer\":\"%s\"},"
             "\"annotations\":{\"summary\":\"%s cannot reach %s within %d ms\"}}]}",
             status, status, name, peer_host, name, peer_host, budget_ms);
    CURL *c = curl_easy_init();
    if (!c)
        return;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, alert_url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    printf("%s: alert %s posted (%s)\n", name, status, curl_easy_strerror(rc));
    fflush(stdout);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void *monitor(void *arg)
{
    int failures = 0;
    bool firing = false;
    for (;;) {
        bool ok = !out_of_sequence && !wedged && check_peer();
        healthy = ok;
        failures = ok ? 0 : failures + 1;
        if (wedge_after > 0 && failures >= wedge_after && !wedged) {
            wedged = true;
            printf("%s: wedged after %d failed calls to %s: serving nothing until restarted\n", name, failures,
                   peer_host);
            fflush(stdout);
        }
        if (failures >= alert_after && !firing) {
            firing = true;
            printf("ALERT %s: peer %s unhealthy for %d checks\n", name, peer_host, failures);
            fflush(stdout);
            post_alert("firing");
        } else if (ok && firing) {
            firing = false;
            post_alert("resolved");
        }
        struct timespec ts = {interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* --quorum: the callers seen (by address), when last, and whether cached as failed. */
struct member {
    struct in_addr addr;
    double seen;
    bool failed;
};
static struct member members[16];
static int n_members;

/* Count a call from `from`; true while the cluster holds: N callers heard within
 * 3 intervals, none of them cached as failed. A member silent for
 * member_timeout_ms is cached as failed, and stays so (its calls refused) until
 * this process restarts: the election server's cache the operators cleared. */
static bool quorum_call(struct in_addr from, const char **why)
{
    double t = now_s();
    struct member *m = NULL;
    for (int i = 0; i < n_members; i++) {
        if (!members[i].failed && t - members[i].seen > member_timeout_ms / 1000.0) {
            members[i].failed = true;
            printf("%s: member %s silent for %d ms: cached as failed\n", name, inet_ntoa(members[i].addr),
                   member_timeout_ms);
            fflush(stdout);
        }
        if (members[i].addr.s_addr == from.s_addr)
            m = &members[i];
    }
    if (!m && n_members < (int)(sizeof members / sizeof *members)) {
        m = &members[n_members++];
        *m = (struct member){.addr = from};
    }
    if (m && m->failed) {
        *why = "member cached as failed\n";
        return false;
    }
    if (m)
        m->seen = t;
    int live = 0;
    for (int i = 0; i < n_members; i++)
        live += !members[i].failed && t - members[i].seen <= 3 * interval_ms / 1000.0;
    *why = "no quorum\n";
    return live >= quorum;
}

static void serve(int fd, struct in_addr from)
{
    char req[1024];
    ssize_t n = recv(fd, req, sizeof req - 1, 0);
    if (n > 0) {
        req[n] = '\0';
        const char *why = "peer unhealthy\n";
        bool ok = quorum > 0 ? quorum_call(from, &why) : strncmp(req, "GET /work", 9) == 0 || healthy;
        const char *body = ok ? "ok\n" : why;
        char buf[256];
        int len = snprintf(buf, sizeof buf, "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           ok ? 200 : 503, ok ? "OK" : "Service Unavailable", strlen(body), body);
        ssize_t w = write(fd, buf, (size_t)len);
        (void)w;
    }
    close(fd);
}

static void usage(void)
{
    fprintf(stderr, "usage: peerd [--name N] [--port P] [--listen ADDR] [--peer HOST:PORT] [--budget MS]\n"
                    "             [--interval MS] [--alert-after N] [--alert-url URL] [--cache-ttl S|dns]\n"
                    "             [--peer-path PATH] [--register PATH] [--quorum N] [--member-timeout MS]\n"
                    "             [--wedge-after N]   (--peer repeats, up to 4, without --cache-ttl)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *listen_addr = "0.0.0.0";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--name"))
            name = v;
        else if (!strcmp(k, "--port"))
            port = atoi(v);
        else if (!strcmp(k, "--listen"))
            listen_addr = v;
        else if (!strcmp(k, "--peer")) {
            const char *colon = strrchr(v, ':');
            if (!colon || (size_t)(colon - v) >= sizeof peers[0].host || n_peers == (int)(sizeof peers / sizeof *peers))
                usage();
            memcpy(peers[n_peers].host, v, (size_t)(colon - v));
            peers[n_peers].port = atoi(colon + 1);
            peer_host = peers[0].host;
            peer_port = peers[0].port;
            n_peers++;
        } else if (!strcmp(k, "--budget"))
            budget_ms = atoi(v);
        else if (!strcmp(k, "--interval"))
            interval_ms = atoi(v);
        else if (!strcmp(k, "--alert-after"))
            alert_after = atoi(v);
        else if (!strcmp(k, "--alert-url"))
            alert_url = v;
        else if (!strcmp(k, "--cache-ttl")) {
            ttl_from_dns = !strcmp(v, "dns");
            cache_ttl = atoi(v);
        } else if (!strcmp(k, "--peer-path"))
            peer_path = v;
        else if (!strcmp(k, "--register"))
            register_path = v;
        else if (!strcmp(k, "--quorum"))
            quorum = atoi(v);
        else if (!strcmp(k, "--wedge-after"))
            wedge_after = atoi(v);
        else if (!strcmp(k, "--member-timeout"))
            member_timeout_ms = atoi(v);
        else
            usage();
    }
    /* The answer cache is one entry: caching with several peers would mix them up. */
    if (n_peers > 1 && (cache_ttl > 0 || ttl_from_dns))
        usage();
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Registration happens once: a service started before its peer (out of
     * sequence) misses it and keeps failing until it is restarted in order. */
    if (peer_host && register_path && !check_peer_path(register_path)) {
        out_of_sequence = true;
        printf("%s: started out of sequence: cannot register with %s%s; restart it after its peer\n", name, peer_host,
               register_path);
        fflush(stdout);
    }
    /* The first check before listening: a restarted service must not answer
     * healthy until it has seen its peer (its dependants would believe it). */
    if (peer_host)
        healthy = !out_of_sequence && check_peer();
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, listen_addr, &a.sin_addr) != 1)
        usage();
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 256) < 0) {
        fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", name, listen_addr, port, strerror(errno));
        return 1;
    }
    printf("%s: listening on %s:%d%s%s\n", name, listen_addr, port, peer_host ? ", peer " : "",
           peer_host ? peer_host : "");
    fflush(stdout);
    pthread_t t;
    if (peer_host)
        pthread_create(&t, NULL, monitor, NULL);
    for (;;) {
        struct sockaddr_in from = {0};
        socklen_t fl = sizeof from;
        int fd = accept4(ls, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC);
        if (fd >= 0)
            serve(fd, from.sin_addr);
    }
}
