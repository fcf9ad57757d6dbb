/* Demo system under test for askcody-memory-exhaustion: a management portal
 * whose requests each need working memory (like a Node runtime rendering a
 * page). It keeps --base MiB resident and touches --per-request MiB for each
 * request; when its host's memory is depleted the kernel OOM-kills it
 * mid-request and users see errors, as the portal's customers did.
 *
 * With --alert-url it also runs the memory monitoring the postmortem
 * promised: it reads its own cgroup's usage and limit (v2 memory.current /
 * memory.max, or v1 memory.usage_in_bytes / memory.limit_in_bytes) every
 * --alert-every ms and posts an Alertmanager webhook (PortalMemoryHigh) when
 * usage passes --alert-at percent of the limit.
 *
 *   GET /healthz  200;  GET /portal  200 after touching the per-request memory
 *
 *   portald --port N [--base MIB] [--per-request MIB]
 *           [--alert-url URL --alert-at PCT --alert-every MS] */
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static int port = 8080, base_mib = 16, per_req_mib = 4, alert_at = 80, alert_every = 200;
static const char *alert_url;

/* Touch every page so the memory is really charged to the cgroup. */
static void *touch(long bytes)
{
    char *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    for (long i = 0; i < bytes; i += 4096)
        p[i] = (char)i;
    return p;
}

static bool read_num(const char *path, unsigned long long *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[64] = "";
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    if (strncmp(buf, "max", 3) == 0) {
        *v = ~0ULL;
        return true;
    }
    *v = strtoull(buf, NULL, 10);
    return true;
}

/* This process's cgroup memory usage and limit: v2 first, then v1. */
static bool cgroup_memory(unsigned long long *usage, unsigned long long *limit)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return false;
    char line[1024], v1[1024] = "", v2[1024] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        if (strcmp(line, "0") == 0 && c1[1] == '\0')
            snprintf(v2, sizeof v2, "%s", c2 + 1);
        else if (strstr(c1 + 1, "memory"))
            snprintf(v1, sizeof v1, "%s", c2 + 1);
    }
    fclose(f);
    char pu[1200], pl[1200];
    snprintf(pu, sizeof pu, "/sys/fs/cgroup%s/memory.current", v2);
    snprintf(pl, sizeof pl, "/sys/fs/cgroup%s/memory.max", v2);
    if (v2[0] && read_num(pu, usage) && read_num(pl, limit))
        return true;
    snprintf(pu, sizeof pu, "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", v1);
    snprintf(pl, sizeof pl, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", v1);
    return v1[0] && read_num(pu, usage) && read_num(pl, limit);
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
    (void)p, (void)arg;
    return s * n;
}

static void post_alert(const char *status, unsigned long long usage, unsigned long long limit)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"aftershock\",\"alerts\":[{\"status\":\"%s\","
             "\"labels\":{\"alertname\":\"PortalMemoryHigh\",\"service\":\"portal\"},\"annotations\":{\"summary\":"
             "\"memory at %llu of %llu MiB (alert at %d%%)\"}}]}",
             status, status, usage / MIB, limit / MIB, alert_at);
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
    printf("portald: PortalMemoryHigh %s posted (%s)\n", status, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void *monitor(void *arg)
{
    (void)arg;
    bool firing = false;
    for (;;) {
        unsigned long long usage, limit;
        if (cgroup_memory(&usage, &limit) && limit != ~0ULL && limit > 0) {
            bool high = usage * 100 >= limit * (unsigned long long)alert_at;
            if (high != firing) {
                firing = high;
                post_alert(high ? "firing" : "resolved", usage, limit);
            }
        }
        struct timespec ts = {alert_every / 1000, (long)(alert_every % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void reply(int fd, int code, const char *body)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", code,
                     code == 200 ? "OK" : "Error", strlen(body), body);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
    close(fd);
}

static void handle(int fd)
{
    char req[1024];
    ssize_t n = read(fd, req, sizeof req - 1);
    if (n <= 0) {
        close(fd);
        return;
    }
    req[n] = '\0';
    if (strncmp(req, "GET /healthz", 12) == 0) {
        reply(fd, 200, "ok\n");
    } else if (strncmp(req, "GET /portal", 11) == 0) {
        long bytes = per_req_mib * MIB;
        void *p = touch(bytes);
        if (!p) {
            reply(fd, 500, "out of memory\n");
            return;
        }
        munmap(p, (size_t)bytes);
        reply(fd, 200, "portal page\n");
    } else {
        reply(fd, 404, "no such path\n");
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--base") == 0)
            base_mib = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--per-request") == 0)
            per_req_mib = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--alert-url") == 0)
            alert_url = argv[i + 1];
        else if (strcmp(argv[i], "--alert-at") == 0)
            alert_at = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--alert-every") == 0)
            alert_every = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: portald --port N [--base MIB] [--per-request MIB] [--alert-url URL "
                            "--alert-at PCT --alert-every MS]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (base_mib > 0 && !touch(base_mib * MIB)) {
        fprintf(stderr, "portald: cannot allocate its %d MiB base: %s\n", base_mib, strerror(errno));
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) {
        fprintf(stderr, "portald: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    if (alert_url) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        pthread_t t;
        pthread_create(&t, NULL, monitor, NULL);
    }
    printf("portald: serving on port %d, %d MiB resident, %d MiB per request%s\n", port, base_mib, per_req_mib,
           alert_url ? ", memory alerting on" : "");
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            handle(fd);
    }
}
