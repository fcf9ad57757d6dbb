/* Demo system under test for coretek-host-crash: a shared-services session
 * host. Logged-in users' profiles (application settings, like an Outlook
 * configuration) are saved continuously, in place and a few lines at a time,
 * as a desktop session does; a profile is complete only once its "END"
 * trailer is written. When the host dies mid-save, the profiles being saved
 * are left truncated: partially corrupted, as in the incident. On start a
 * corrupted profile is reported and that user is refused (their profile must
 * be recreated); the others resume. A profile being saved is locked (flock):
 * the check skips those, so it can run while the service is up, and a crash
 * releases the locks of exactly the saves it interrupted.
 *
 *   GET /healthz     200 once serving (the key services are up)
 *   GET /session     200: open and close a session for a probe user;
 *                    503 while the --blocked-file exists (user access
 *                    prevented by the administrators, the service still up)
 *
 *   sessiond --port N --profiles DIR [--users N] [--active N] [--line-ms N]
 *            [--blocked-file PATH]
 *   sessiond --check DIR    exit 0 if every profile is complete, else 1 and
 *                           print the corrupted ones (the verify step)
 *   sessiond --repair DIR   recreate every corrupted profile with a basic
 *                           setup, keeping the damaged one in DIR/damaged/;
 *                           exit 0 and print which were recreated (the
 *                           engineers' repair; --check passes afterwards) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_USERS 64
#define PROFILE_LINES 20

static const char *dir = "profiles", *blocked_file;
static int port = 8080, n_users = 8, n_active = 4, line_ms = 10;
static bool damaged[MAX_USERS];

/* A profile is complete when its last line is "END", or in use when a live
 * save holds its lock (only asked by the check, never by the saver itself). */
static bool profile_ok_or_busy(const char *path, bool busy_ok)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (busy_ok && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        close(fd);
        return true;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 4)
        return false;
    buf[n] = '\0';
    return strcmp(buf + n - 4, "END\n") == 0;
}

static bool profile_ok(const char *path)
{
    return profile_ok_or_busy(path, false);
}

static int check(const char *d)
{
    DIR *dh = opendir(d);
    if (!dh) {
        printf("cannot open %s: %s\n", d, strerror(errno));
        return 2;
    }
    char bad[2048] = "";
    size_t n_bad = 0, n_all = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len < 9 || strcmp(e->d_name + len - 8, ".profile") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", d, e->d_name);
        n_all++;
        if (!profile_ok_or_busy(path, true)) {
            n_bad++;
            size_t off = strlen(bad);
            snprintf(bad + off, sizeof bad - off, "%s%.*s", off ? " " : "", (int)(len - 8), e->d_name);
        }
    }
    closedir(dh);
    if (n_bad) {
        printf("%zu of %zu profiles corrupted: %s\n", n_bad, n_all, bad);
        return 1;
    }
    printf("all %zu profiles complete\n", n_all);
    return 0;
}

/* Replace each corrupted profile (not one being saved) by a basic one, as the
 * engineers did: mail accounts set up again, no customisations. The damaged
 * file is kept in DIR/damaged/ as the evidence of what the crash did. */
static int repair(const char *d)
{
    DIR *dh = opendir(d);
    if (!dh) {
        printf("cannot open %s: %s\n", d, strerror(errno));
        return 2;
    }
    char keep[4096], done[2048] = "";
    snprintf(keep, sizeof keep, "%s/damaged", d);
    size_t n_done = 0;
    int ret = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len < 9 || strcmp(e->d_name + len - 8, ".profile") != 0)
            continue;
        char path[4096], moved[8192];
        snprintf(path, sizeof path, "%s/%s", d, e->d_name);
        if (profile_ok_or_busy(path, true))
            continue;
        snprintf(moved, sizeof moved, "%s/%s", keep, e->d_name);
        if ((mkdir(keep, 0755) < 0 && errno != EEXIST) || rename(path, moved) < 0) {
            printf("cannot keep %s in %s: %s\n", path, keep, strerror(errno));
            ret = 1;
            continue;
        }
        FILE *f = fopen(path, "w");
        if (!f ||
            fprintf(f, "PROFILE %.*s recreated\nsetting.00=mail account set up again\nEND\n", (int)(len - 8),
                    e->d_name) < 0 ||
            fclose(f) != 0) {
            printf("cannot recreate %s: %s\n", path, strerror(errno));
            ret = 1;
            continue;
        }
        n_done++;
        size_t off = strlen(done);
        snprintf(done + off, sizeof done - off, "%s%.*s", off ? " " : "", (int)(len - 8), e->d_name);
    }
    closedir(dh);
    printf("recreated %zu profiles%s%s\n", n_done, n_done ? ": " : "", done);
    return ret;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Save every active user's profile, one line per user per tick, interleaved:
 * at any moment each active profile is part-written. */
static void *saver(void *arg)
{
    (void)arg;
    int fds[MAX_USERS];
    for (unsigned cycle = 0;; cycle++) {
        for (int u = 0; u < n_active; u++) {
            fds[u] = -1;
            if (damaged[u])
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/user%02d.profile", dir, u + 1);
            /* Lock before truncating: a checker never sees an unlocked half-save
             * unless the saver died. */
            fds[u] = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fds[u] >= 0 && (flock(fds[u], LOCK_EX) < 0 || ftruncate(fds[u], 0) < 0)) {
                close(fds[u]);
                fds[u] = -1;
            }
            if (fds[u] >= 0)
                dprintf(fds[u], "PROFILE user%02d save %u\n", u + 1, cycle);
        }
        for (int line = 0; line < PROFILE_LINES; line++) {
            for (int u = 0; u < n_active; u++)
                if (fds[u] >= 0)
                    dprintf(fds[u], "setting.%02d=mail account %d, view %d\n", line, u + 1, (line * 7 + u) % 5);
            sleep_ms(line_ms);
        }
        for (int u = 0; u < n_active; u++)
            if (fds[u] >= 0) {
                dprintf(fds[u], "END\n");
                close(fds[u]); /* releases the lock */
            }
    }
    return NULL;
}

static void reply(int fd, int code, const char *body)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "HTTP/1.0 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", code,
                     code == 200   ? "OK"
                     : code == 404 ? "Not Found"
                                   : "Error",
                     strlen(body), body);
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
    if (strncmp(req, "GET /healthz", 12) == 0)
        reply(fd, 200, "ok\n");
    else if (strncmp(req, "GET /session", 12) == 0 && blocked_file && access(blocked_file, F_OK) == 0)
        reply(fd, 503, "user access temporarily prevented\n");
    else if (strncmp(req, "GET /session", 12) == 0)
        reply(fd, 200, "session opened\n");
    else
        reply(fd, 404, "no such path\n");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--check") == 0)
        return check(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--repair") == 0)
        return repair(argv[2]);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--profiles") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--users") == 0)
            n_users = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--active") == 0)
            n_active = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--line-ms") == 0)
            line_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--blocked-file") == 0)
            blocked_file = argv[i + 1];
        else {
            fprintf(stderr, "usage: sessiond --port N --profiles DIR [--users N] [--active N] [--line-ms N]\n"
                            "                [--blocked-file PATH]\n"
                            "       sessiond --check DIR\n"
                            "       sessiond --repair DIR\n");
            return 2;
        }
    }
    if (n_users < 1 || n_users > MAX_USERS)
        n_users = 8;
    if (n_active < 0 || n_active > n_users)
        n_active = n_users;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir(dir, 0755);
    /* Every user has a profile; an existing incomplete one is damage from a crash. */
    int n_damaged = 0;
    for (int u = 0; u < n_users; u++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/user%02d.profile", dir, u + 1);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (!profile_ok(path)) {
                damaged[u] = true;
                n_damaged++;
                printf("sessiond: user%02d: profile corrupted, login refused until it is recreated\n", u + 1);
            }
            continue;
        }
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "PROFILE user%02d new\nEND\n", u + 1);
            fclose(f);
        }
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) {
        fprintf(stderr, "sessiond: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, saver, NULL);
    printf("sessiond: serving on port %d, %d users (%d active, saving profiles), %d damaged\n", port, n_users, n_active,
           n_damaged);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            handle(fd);
    }
}
