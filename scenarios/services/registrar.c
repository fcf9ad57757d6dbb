/* Demo system under test for telephony-table-lock: a call registrar that
 * queues registration requests and writes each as a call record into SQLite.
 * The queue is bounded: when the database stops answering (a table lock), it
 * backs up, an alert is logged once depth passes --alert-depth, and requests
 * beyond --queue are dropped with 503, as the hosted telephony backend did.
 *
 *   POST /register   queue a registration; 200 once its record is written
 *   GET  /healthz    200 while the queue is below --alert-depth, else 503
 *
 * Single accept thread plus one database worker; plain HTTP/1.0 is all the
 * probes need, so a server library would add nothing but a dependency here. */
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
#include <sys/socket.h>
#include <unistd.h>

#define MAXQ 4096

static int queue[MAXQ];
static size_t qhead, qlen, qcap = 32, alert_depth = 8;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static const char *db_path = "calls.db";
static bool alerted;

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
        int fd = queue[qhead];
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
        if (qlen < alert_depth && alerted) {
            alerted = false;
            printf("registrar: queue depth %zu back under limit\n", qlen);
            fflush(stdout);
        }
        pthread_mutex_unlock(&mu);
        reply(fd, rc == SQLITE_OK ? 200 : 503, rc == SQLITE_OK ? "registered\n" : "db error\n");
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
    queue[(qhead + qlen) % MAXQ] = fd;
    qlen++;
    if (qlen > alert_depth && !alerted) {
        alerted = true;
        printf("ALERT registrar: queue depth %zu over limit %zu\n", qlen, alert_depth);
        fflush(stdout);
    }
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv)
{
    int port = 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            db_path = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--queue") == 0)
            qcap = (size_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--alert-depth") == 0)
            alert_depth = (size_t)atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: registrar --db PATH --port N [--queue N] [--alert-depth N]\n");
            return 2;
        }
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
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 512) < 0) {
        fprintf(stderr, "registrar: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("registrar: listening on 127.0.0.1:%d, queue %zu, alert at %zu\n", port, qcap, alert_depth);
    fflush(stdout);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            handle(fd);
    }
}
