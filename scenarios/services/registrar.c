/* Demo system under test for telephony-table-lock: a call registrar that
 * queues registration requests and writes each as a call record into SQLite.
 * The queue is bounded: when the database stops answering (a table lock), it
 * backs up, an alert is logged once depth passes --alert-depth, and requests
 * beyond --queue are dropped with 503, as the hosted telephony backend did.
 *
 *   POST /register[?phone=ID]   queue a registration; 200 once its record is written
 *   GET  /healthz               200 while the queue is below --alert-depth, else 503
 *   GET  /registered            with --provisioned N: 200 while at least N phones
 *                               hold a live registration, else 503 "K of N
 *                               registered" (what customers see: their phones)
 *
 * Its monitoring, as the operations centre had it and as the postmortem asked
 * for, posts Alertmanager webhooks to --alert-url (scenarios/services/alertpost.h):
 *   --lifetime MS --dereg-pct P   a phone whose registration was not renewed
 *                                 within MS counts as deregistered; PhonesDeregistered
 *                                 fires when P% of the phones seen are (what the NOC saw;
 *                                 only with --alert-url: without, MS is only the expiry)
 *   --stall-alert MS              QueueNotServed fires when the oldest queued
 *                                 request has waited MS (the action item), posted
 *                                 to --stall-alert-url if given
 *
 * Single accept thread, one database worker, one monitor; plain HTTP/1.0 is
 * all the clients need, so a server library would add nothing but a dependency. */
#include "alertpost.h"

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXQ 4096
#define MAXPHONES 256

/* A queued registration: the client's connection, its phone, when it arrived. */
struct req {
    int fd;
    int phone; /* index into phones[], -1: anonymous */
    long long queued_ms;
};

static struct req queue[MAXQ];
static size_t qhead, qlen, qcap = 32, alert_depth = 8;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const char *db_path = "calls.db";
static bool alerted;

/* Registrations: a phone is registered until `expires_ms` (its last written
 * registration + --lifetime). */
static struct {
    char id[33];
    long long expires_ms;
} phones[MAXPHONES];
static int n_phones;
static long long lifetime_ms, stall_ms;
static int dereg_pct = 50, provisioned;
static const char *alert_url, *stall_url; /* stall_url: QueueNotServed's receiver (default alert_url) */

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The phone named in "POST /register?phone=ID ...", added on first sight; -1 if none. Under mu. */
static int phone_of(const char *req)
{
    const char *p = strstr(req, "?phone=");
    const char *eol = strchr(req, '\n');
    if (!p || (eol && p > eol))
        return -1;
    p += 7;
    size_t len = strcspn(p, " &\r\n");
    if (len == 0 || len >= sizeof phones[0].id)
        return -1;
    for (int i = 0; i < n_phones; i++)
        if (strlen(phones[i].id) == len && memcmp(phones[i].id, p, len) == 0)
            return i;
    if (n_phones == MAXPHONES)
        return -1;
    memcpy(phones[n_phones].id, p, len);
    phones[n_phones].id[len] = '\0';
    phones[n_phones].expires_ms = 0; /* seen, not registered yet */
    return n_phones++;
}

static void reply(int fd, int code, const char *body)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", code,
                     code == 200 ? "OK" : "Service Unavailable", strlen(body), body);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
    close(fd);
}

static void *worker(void *arg)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK) {
        fprintf(stderr, "registrar: cannot open %s\n", db_path);
        exit(1);
    }
    sqlite3_busy_timeout(db, 50);
    for (;;) {
        pthread_mutex_lock(&mu);
        while (qlen == 0)
            pthread_cond_wait(&cv, &mu);
        struct req r = queue[qhead];
        pthread_mutex_unlock(&mu);
        /* Retry while the table is locked: the request waits in the queue. */
        int rc;
        while ((rc = sqlite3_exec(db, "INSERT INTO call_records(ts) VALUES (strftime('%s','now'))", NULL, NULL,
                                  NULL)) == SQLITE_BUSY ||
               rc == SQLITE_LOCKED)
            ;
        pthread_mutex_lock(&mu);
        qhead = (qhead + 1) % MAXQ;
        qlen--;
        if (rc == SQLITE_OK && r.phone >= 0)
            phones[r.phone].expires_ms = now_ms() + lifetime_ms;
        if (qlen < alert_depth && alerted) {
            alerted = false;
            printf("registrar: queue depth %zu back under limit\n", qlen);
            fflush(stdout);
        }
        pthread_mutex_unlock(&mu);
        reply(r.fd, rc == SQLITE_OK ? 200 : 503, rc == SQLITE_OK ? "registered\n" : "db error\n");
    }
    return NULL;
}

static void handle(int fd)
{
    char req[2048];
    ssize_t n = recv(fd, req, sizeof req - 1, 0);
    if (n <= 0) {
        close(fd);
        return;
    }
    req[n] = '\0';
    if (strncmp(req, "GET /healthz", 12) == 0) {
        pthread_mutex_lock(&mu);
        size_t depth = qlen;
        pthread_mutex_unlock(&mu);
        reply(fd, depth < alert_depth ? 200 : 503, depth < alert_depth ? "ok\n" : "backlog\n");
        return;
    }
    if (strncmp(req, "GET /registered", 15) == 0 && provisioned > 0) {
        long long now = now_ms();
        int live = 0;
        pthread_mutex_lock(&mu);
        for (int i = 0; i < n_phones; i++)
            live += phones[i].expires_ms > now;
        pthread_mutex_unlock(&mu);
        char body[64];
        snprintf(body, sizeof body, "%d of %d registered\n", live, provisioned);
        reply(fd, live >= provisioned ? 200 : 503, body);
        return;
    }
    if (strncmp(req, "POST /register", 14) != 0) {
        reply(fd, 503, "unknown path\n");
        return;
    }
    pthread_mutex_lock(&mu);
    if (qlen >= qcap) {
        pthread_mutex_unlock(&mu);
        printf("registrar: queue full (%zu), dropping registration\n", qcap);
        fflush(stdout);
        reply(fd, 503, "dropped\n");
        return;
    }
    queue[(qhead + qlen) % MAXQ] = (struct req){.fd = fd, .phone = phone_of(req), .queued_ms = now_ms()};
    qlen++;
    if (qlen > alert_depth && !alerted) {
        alerted = true;
        printf("ALERT registrar: queue depth %zu over limit %zu\n", qlen, alert_depth);
        fflush(stdout);
    }
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

/* One alert's state: posted firing once when its condition holds, resolved
 * once when it no longer does. */
struct alert {
    const char *name;
    bool firing;
    char since[32];
};

static void judge(struct alert *a, const char *url, bool holds, const char *summary)
{
    if (holds == a->firing)
        return;
    if (holds)
        ash_demo_iso_now(a->since, sizeof a->since);
    a->firing = holds;
    char result[128];
    ash_demo_post_alert(url, NULL, holds ? "firing" : "resolved", a->name, "registrar", summary, a->since, result,
                        sizeof result);
    printf("registrar: %s %s (%s) posted: %s\n", a->name, holds ? "firing" : "resolved", summary, result);
    fflush(stdout);
}

/* The registrar's monitoring: every 200 ms, the state of the registrations
 * and of the queue, judged against the alerts this deployment has. */
static void *monitor(void *arg)
{
    (void)arg;
    struct alert dereg = {.name = "PhonesDeregistered"}, stall = {.name = "QueueNotServed"};
    for (;;) {
        struct timespec pause = {.tv_nsec = 200 * 1000000L};
        nanosleep(&pause, NULL);
        long long now = now_ms();
        int seen = 0, gone = 0;
        long long oldest = 0;
        pthread_mutex_lock(&mu);
        for (int i = 0; i < n_phones; i++) {
            if (!phones[i].expires_ms)
                continue; /* never registered: not a deregistration */
            seen++;
            gone += phones[i].expires_ms < now;
        }
        if (qlen)
            oldest = now - queue[qhead].queued_ms;
        pthread_mutex_unlock(&mu);
        char summary[160];
        if (lifetime_ms) {
            snprintf(summary, sizeof summary, "%d of %d phones deregistered", gone, seen);
            judge(&dereg, alert_url, seen > 0 && gone * 100 >= dereg_pct * seen, summary);
        }
        if (stall_ms) {
            snprintf(summary, sizeof summary, "oldest queued registration waiting %lld ms", oldest);
            judge(&stall, stall_url ? stall_url : alert_url, oldest >= stall_ms, summary);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 8080;
    const char *listen_addr = "127.0.0.1";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            db_path = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--queue") == 0)
            qcap = (size_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--alert-depth") == 0)
            alert_depth = (size_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--listen") == 0)
            listen_addr = argv[i + 1];
        else if (strcmp(argv[i], "--alert-url") == 0)
            alert_url = argv[i + 1];
        else if (strcmp(argv[i], "--lifetime") == 0)
            lifetime_ms = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--dereg-pct") == 0)
            dereg_pct = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--stall-alert") == 0)
            stall_ms = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--stall-alert-url") == 0)
            stall_url = argv[i + 1];
        else if (strcmp(argv[i], "--provisioned") == 0)
            provisioned = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: registrar --db PATH --port N [--listen ADDR] [--queue N] [--alert-depth N]\n"
                            "                 [--lifetime MS [--provisioned N]] [--alert-url URL [--dereg-pct P] "
                            "[--stall-alert MS [--stall-alert-url URL]]]\n");
            return 2;
        }
    }
    if (provisioned && !lifetime_ms) {
        fprintf(stderr, "registrar: --provisioned counts live registrations: give their --lifetime\n");
        return 2;
    }
    if (stall_ms && !alert_url) {
        fprintf(stderr, "registrar: --stall-alert posts to --alert-url: give one\n");
        return 2;
    }
    if (lifetime_ms < 0 || stall_ms < 0 || dereg_pct < 1 || dereg_pct > 100) {
        fprintf(stderr, "registrar: --lifetime and --stall-alert must be >= 0, --dereg-pct 1..100\n");
        return 2;
    }
    if (qcap < 1 || qcap > MAXQ)
        qcap = 32;
    signal(SIGPIPE, SIG_IGN);
    sqlite3 *db;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS call_records(id INTEGER PRIMARY KEY, ts INTEGER)", NULL, NULL,
                     NULL) != SQLITE_OK) {
        fprintf(stderr, "registrar: cannot prepare %s: %s\n", db_path, sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_close(db);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, listen_addr, &a.sin_addr) != 1) {
        fprintf(stderr, "registrar: --listen %s is not an IPv4 address\n", listen_addr);
        return 2;
    }
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 512) < 0) {
        fprintf(stderr, "registrar: cannot listen on %s:%d: %s\n", listen_addr, port, strerror(errno));
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    if (alert_url)
        pthread_create(&t, NULL, monitor, NULL);
    printf("registrar: listening on %s:%d, queue %zu, alert at %zu\n", listen_addr, port, qcap, alert_depth);
    fflush(stdout);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            handle(fd);
    }
}
