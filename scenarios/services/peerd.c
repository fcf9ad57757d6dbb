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
 * libcurl does the client side (peer calls and alert posts). */
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
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

static const char *name = "peerd", *peer_host, *alert_url;
static int port = 8080, peer_port = 8080, budget_ms = 200, interval_ms = 100, alert_after = 3, cache_ttl = 0;
static atomic_bool healthy = true;

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

/* Resolve through getaddrinfo (the host's resolv.conf and /etc/hosts), keeping
 * the answer for cache_ttl seconds whatever the record's TTL says. */
static bool resolve(char *addr, size_t len)
{
    static char cached[INET_ADDRSTRLEN];
    static double cached_at = -1e9;
    if (cached[0] && now_s() - cached_at < cache_ttl) {
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

static bool check_peer(void)
{
    char addr[INET_ADDRSTRLEN], url[256];
    if (!resolve(addr, sizeof addr))
        return false;
    snprintf(url, sizeof url, "http://%s:%d/work", addr, peer_port);
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
        printf("%s: peer %s (%s) failed: %s\n", name, peer_host, addr,
               rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status");
        fflush(stdout);
        return false;
    }
    return true;
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
        bool ok = check_peer();
        healthy = ok;
        failures = ok ? 0 : failures + 1;
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

static void serve(int fd)
{
    char req[1024];
    ssize_t n = recv(fd, req, sizeof req - 1, 0);
    if (n > 0) {
        req[n] = '\0';
        bool ok = strncmp(req, "GET /work", 9) == 0 || healthy;
        const char *body = ok ? "ok\n" : "peer unhealthy\n";
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
                    "             [--interval MS] [--alert-after N] [--alert-url URL] [--cache-ttl S]\n");
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
            static char host[256];
            const char *colon = strrchr(v, ':');
            if (!colon || (size_t)(colon - v) >= sizeof host)
                usage();
            memcpy(host, v, (size_t)(colon - v));
            peer_host = host;
            peer_port = atoi(colon + 1);
        } else if (!strcmp(k, "--budget"))
            budget_ms = atoi(v);
        else if (!strcmp(k, "--interval"))
            interval_ms = atoi(v);
        else if (!strcmp(k, "--alert-after"))
            alert_after = atoi(v);
        else if (!strcmp(k, "--alert-url"))
            alert_url = v;
        else if (!strcmp(k, "--cache-ttl"))
            cache_ttl = atoi(v);
        else
            usage();
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            serve(fd);
    }
}
