/* The control socket of a run: STATE_DIR/RUN_ID.sock, a unix stream socket owned by
 * the user running aftershock, in the state directory that is theirs alone (0700).
 * One request per connection, one line: "abort", "mark detected|mitigated|recovered
 * SENT_NS", "note SENT_NS TEXT"; the answer "ok RUN_ID" or "error: why". A peer is
 * served only when SO_PEERCRED says it runs as the same user (or as root). */
#include "engine/control.h"

#include <aftershock/aftershock.h>

#include "sys/clock.h"
#include "sys/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 1024

struct conn {
    struct ash_control *c;
    int fd;
    char buf[REQ_MAX];
    size_t n;
    struct ucred cred;
};

struct ash_control {
    ash_loop *loop;
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char run_id[32];
    ash_control_fn fn;
    void *arg;
};

static void conn_close(struct conn *k)
{
    ash_loop_del_fd(k->c->loop, k->fd);
    close(k->fd);
    free(k);
}

static void reply(struct conn *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct conn *k, const char *fmt, ...)
{
    char out[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!send(k->fd, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The peer's send time, if plausible: not in the future, not older than 10 s (a mark
 * is about now; a stale or wild value falls back to the arrival time). */
static int64_t sent_at(const char *s, int64_t now)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0 || v > now || now - v > 10 * ASH_NS_PER_S)
        return now;
    return v;
}

static void handle(struct conn *k, char *line)
{
    int64_t now = ash_now_ns();
    char who[64];
    snprintf(who, sizeof who, "uid %u pid %d", (unsigned)k->cred.uid, (int)k->cred.pid);
    if (strcmp(line, "abort") == 0) {
        reply(k, "ok %s\n", k->c->run_id);
        k->c->fn(k->c->arg, "abort", "", now, who);
        return;
    }
    char *sp = strchr(line, ' ');
    if (!sp) {
        reply(k, "error: unknown request\n");
        return;
    }
    *sp = '\0';
    char *rest = sp + 1;
    if (strcmp(line, "mark") == 0) {
        char *t = strchr(rest, ' ');
        if (t)
            *t++ = '\0';
        if (strcmp(rest, "detected") != 0 && strcmp(rest, "mitigated") != 0 && strcmp(rest, "recovered") != 0) {
            reply(k, "error: a mark is detected, mitigated or recovered\n");
            return;
        }
        reply(k, "ok %s\n", k->c->run_id);
        k->c->fn(k->c->arg, rest, "", t ? sent_at(t, now) : now, who);
    } else if (strcmp(line, "note") == 0) {
        char *text = strchr(rest, ' ');
        if (text)
            *text++ = '\0';
        reply(k, "ok %s\n", k->c->run_id);
        k->c->fn(k->c->arg, "note", text ? text : "", sent_at(rest, now), who);
    } else {
        reply(k, "error: unknown request\n");
    }
}

static void conn_readable(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct conn *k = data;
    ssize_t r = recv(k->fd, k->buf + k->n, sizeof k->buf - 1 - k->n, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r > 0)
        k->n += (size_t)r;
    k->buf[k->n] = '\0';
    char *nl = strchr(k->buf, '\n');
    if (!nl && r > 0 && k->n < sizeof k->buf - 1)
        return; /* more to come */
    if (nl)
        *nl = '\0';
    if (nl || r == 0)
        handle(k, k->buf);
    conn_close(k);
}

static void accept_one(ash_loop *loop, int fd, uint32_t events, void *data)
{
    (void)events;
    struct ash_control *c = data;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof cred;
    /* Only the user running aftershock (or root) may steer its run. */
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != geteuid() && cred.uid != 0)) {
        static const char no[] = "error: not your run\n";
        (void)!send(cfd, no, sizeof no - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(cfd);
        return;
    }
    struct conn *k = calloc(1, sizeof *k);
    if (!k || ash_loop_add_fd(loop, cfd, EPOLLIN, conn_readable, k, NULL) < 0) {
        free(k);
        close(cfd);
        return;
    }
    k->c = c;
    k->fd = cfd;
    k->cred = cred;
}

static int sock_path(const char *state_dir, const char *run_id, char *out, size_t len, ash_error_t *err)
{
    int n = snprintf(out, len, "%s/%s.sock", state_dir, run_id);
    if (n < 0 || (size_t)n >= len)
        return ash_error(err, ENAMETOOLONG, "control socket path %s/%s.sock is longer than a unix socket allows",
                         state_dir, run_id);
    return 0;
}

int ash_control_open(ash_loop *loop, const char *state_dir, const char *run_id, ash_control_fn fn, void *arg,
                     struct ash_control **out, ash_error_t *err)
{
    *out = NULL;
    struct ash_control *c = calloc(1, sizeof *c);
    if (!c)
        return ash_error(err, ENOMEM, "control socket");
    c->loop = loop;
    c->fn = fn;
    c->arg = arg;
    c->fd = -1;
    snprintf(c->run_id, sizeof c->run_id, "%s", run_id);
    if (sock_path(state_dir, run_id, c->path, sizeof c->path, err) < 0)
        goto fail;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        ash_error(err, errno, "control socket");
        goto fail;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    unlink(c->path); /* a dead run's, with the same id: ids are random, so only ours */
    mode_t old = umask(0177);
    int b = bind(c->fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b < 0 || listen(c->fd, 8) < 0) {
        ash_error(err, errno, "cannot listen on %s", c->path);
        if (b == 0)
            unlink(c->path);
        goto fail;
    }
    if (ash_loop_add_fd(loop, c->fd, EPOLLIN, accept_one, c, err) < 0) {
        unlink(c->path);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return -1;
}

void ash_control_close(struct ash_control *c)
{
    if (!c)
        return;
    ash_loop_del_fd(c->loop, c->fd);
    close(c->fd);
    unlink(c->path);
    free(c);
}

static int connect_to(const char *path, int *out);

static bool remove_if_stale(const char *path)
{
    int fd;
    if (connect_to(path, &fd) == 0) {
        close(fd);
        return false; /* a live run's */
    }
    if (errno != ECONNREFUSED)
        return false;
    return unlink(path) == 0;
}

void ash_control_remove_stale_for(const char *journal_path)
{
    char path[4200];
    size_t n = strlen(journal_path);
    if (n < 8 || strcmp(journal_path + n - 8, ".journal") != 0)
        return;
    snprintf(path, sizeof path, "%.*s.sock", (int)(n - 8), journal_path);
    remove_if_stale(path);
}

size_t ash_control_sweep(const char *state_dir)
{
    DIR *d = opendir(state_dir);
    if (!d)
        return 0;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".sock") != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", state_dir, de->d_name);
        removed += remove_if_stale(path);
    }
    closedir(d);
    return removed;
}

/* ---- the client side (aftershock abort | mark) ---- */

static int connect_to(const char *path, int *out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *out = fd;
    return 0;
}

/* The live runs of state_dir: sockets that accept a connection. */
static int live_runs(const char *state_dir, char ids[][32], size_t max, size_t *n, ash_error_t *err)
{
    *n = 0;
    DIR *d = opendir(state_dir);
    if (!d)
        return ash_error_class(err, errno == ENOENT ? ASH_ERR_RUNTIME : ASH_ERR_ENVIRONMENT, errno,
                               "cannot read the state directory %s%s", state_dir,
                               errno == ENOENT ? ": no run has used it" : "");
    struct dirent *de;
    while ((de = readdir(d)) && *n < max) {
        size_t len = strlen(de->d_name);
        if (len < 6 || len - 5 >= 32 || strcmp(de->d_name + len - 5, ".sock") != 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", state_dir, de->d_name);
        int fd;
        if (connect_to(path, &fd) < 0)
            continue; /* a killed run's socket: nobody listens */
        close(fd);
        snprintf(ids[*n], 32, "%.*s", (int)(len - 5), de->d_name);
        (*n)++;
    }
    closedir(d);
    return 0;
}

int ash_control_send(const char *state_dir, const char *run_id, const char *request, char *answer, size_t len,
                     ash_error_t *err)
{
    if (!state_dir)
        state_dir = ASH_DEFAULT_STATE_DIR;
    char ids[16][32], id[32];
    if (run_id) {
        snprintf(id, sizeof id, "%s", run_id);
    } else {
        size_t n;
        if (live_runs(state_dir, ids, 16, &n, err) < 0)
            return -1;
        if (n == 0)
            return ash_error(err, ESRCH, "no run is live in %s (--state-dir DIR for another)", state_dir);
        if (n > 1) {
            char list[400] = "";
            for (size_t i = 0; i < n; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", ids[i]);
            return ash_error_class(err, ASH_ERR_USAGE, EINVAL, "%zu runs are live in %s (%s): say which with --run ID",
                                   n, state_dir, list);
        }
        snprintf(id, sizeof id, "%s", ids[0]);
    }
    char path[4200];
    if (sock_path(state_dir, id, path, sizeof path, err) < 0)
        return -1;
    int fd;
    if (connect_to(path, &fd) < 0)
        return ash_error(err, errno, "run %s is not live in %s (cannot connect to %s)", id, state_dir, path);
    size_t rl = strlen(request);
    ssize_t w = send(fd, request, rl, MSG_NOSIGNAL);
    if (w < 0 || (size_t)w != rl) {
        close(fd);
        return ash_error(err, errno, "cannot send to run %s", id);
    }
    shutdown(fd, SHUT_WR);
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t r = recv(fd, answer + got, len - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    answer[got] = '\0';
    close(fd);
    char *nl = strchr(answer, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(answer, "ok", 2) != 0)
        return ash_error(err, 0, "run %s: %s", id, answer[0] ? answer : "no answer");
    return 0;
}
