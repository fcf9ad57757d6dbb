/* seccomp user notification: the `__seccomp-exec` launcher and the loop-driven
 * listeners that continue, fail or delay notified syscalls. */
#include "sys/seccomp_notify.h"

#include "sys/clock.h"

#include <aftershock/text.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static char launcher_exe[4096] = "/proc/self/exe";

void ash_seccomp_set_exe(const char *path)
{
    snprintf(launcher_exe, sizeof launcher_exe, "%s", path ? path : "/proc/self/exe");
}

int ash_syscall_nr(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr == __NR_SCMP_ERROR ? -1 : nr;
}

static const struct {
    const char *name;
    int code;
} errnos[] = {
#define E(x)                                                                                                           \
    {                                                                                                                  \
#x, x                                                                                                          \
    }
    E(EPERM),       E(ENOENT),       E(ESRCH),      E(EINTR),    E(EIO),         E(ENXIO),         E(E2BIG),
    E(ENOEXEC),     E(EBADF),        E(ECHILD),     E(EAGAIN),   E(ENOMEM),      E(EACCES),        E(EFAULT),
    E(EBUSY),       E(EEXIST),       E(EXDEV),      E(ENODEV),   E(ENOTDIR),     E(EISDIR),        E(EINVAL),
    E(ENFILE),      E(EMFILE),       E(ENOTTY),     E(ETXTBSY),  E(EFBIG),       E(ENOSPC),        E(ESPIPE),
    E(EROFS),       E(EMLINK),       E(EPIPE),      E(ERANGE),   E(EDEADLK),     E(ENAMETOOLONG),  E(ENOLCK),
    E(ENOSYS),      E(ENOTEMPTY),    E(ELOOP),      E(ENOTSOCK), E(EADDRINUSE),  E(EADDRNOTAVAIL), E(ENETDOWN),
    E(ENETUNREACH), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS),  E(ETIMEDOUT),   E(ECONNREFUSED),  E(EHOSTUNREACH),
    E(EDQUOT),      E(EOVERFLOW),    E(EOPNOTSUPP), E(ENOTCONN), E(EWOULDBLOCK),
#undef E
};

int ash_errno_parse(const char *name)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (strcmp(errnos[i].name, name) == 0)
            return errnos[i].code;
    return -1;
}

/* ---- the launcher ---- */

int ash_seccomp_exec_main(int argc, char **argv)
{
    /* argv: "__seccomp-exec" SOCKFD SYSCALLS "--" CMD... */
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: __seccomp-exec SOCKFD SYSCALL[,SYSCALL...] -- COMMAND...\n");
        return 127;
    }
    int sock = atoi(argv[1]);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        fprintf(stderr, "seccomp-exec: seccomp_init failed\n");
        return 127;
    }
    char *list = strdup(argv[2]);
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int nr = ash_syscall_nr(name);
        if (nr < 0 || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0) < 0) {
            ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "seccomp-exec: unknown syscall '%s'\n", name);
            return 127;
        }
    }
    free(list);
    /* Root needs no no_new_privs (CAP_SYS_ADMIN); keep setuid programs working then. */
    if (geteuid() == 0)
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    int rc = seccomp_load(ctx);
    if (rc < 0) {
        fprintf(stderr, "seccomp-exec: cannot load the filter: %s\n", strerror(-rc));
        return 127;
    }
    int nfd = seccomp_notify_fd(ctx);
    if (nfd < 0) {
        fprintf(stderr, "seccomp-exec: no notification fd\n");
        return 127;
    }
    char dummy = 'n';
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &nfd, sizeof(int));
    if (sendmsg(sock, &msg, 0) != 1) {
        fprintf(stderr, "seccomp-exec: cannot hand the listener to the harness: %s\n", strerror(errno));
        return 127;
    }
    /* From here on every targeted call waits for the harness, which now listens. */
    close(nfd);
    close(sock);
    seccomp_release(ctx); /* frees memory only; the filter stays loaded */
    execvp(argv[4], argv + 4);
    ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "seccomp-exec: cannot run %s: %s\n", argv[4], strerror(errno));
    return 127;
}

int ash_seccomp_launch_prepare(const char *syscalls, char *const *argv, struct ash_seccomp_launch *l, ash_error_t *err)
{
    memset(l, 0, sizeof *l);
    l->parent_fd = l->child_fd = -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return ash_error(err, errno, "socketpair");
    l->parent_fd = sv[0];
    /* The launcher's end must survive exec: the only fd without CLOEXEC, closed right after the spawn. */
    l->child_fd = fcntl(sv[1], F_DUPFD, 3);
    close(sv[1]);
    if (l->child_fd < 0) {
        ash_seccomp_launch_cleanup(l);
        return ash_error(err, errno, "dup");
    }
    snprintf(l->fdbuf, sizeof l->fdbuf, "%d", l->child_fd);
    size_t n = 0;
    while (argv[n])
        n++;
    l->argv = calloc(n + 6, sizeof *l->argv);
    if (!l->argv) {
        ash_seccomp_launch_cleanup(l);
        return ash_error(err, ENOMEM, "launcher argv");
    }
    static char verb[] = "__seccomp-exec", dashes[] = "--";
    l->argv[0] = launcher_exe;
    l->argv[1] = verb;
    l->argv[2] = l->fdbuf;
    snprintf(l->list, sizeof l->list, "%s", syscalls);
    l->argv[3] = l->list;
    l->argv[4] = dashes;
    for (size_t i = 0; i < n; i++)
        l->argv[5 + i] = argv[i];
    return 0;
}

void ash_seccomp_launch_cleanup(struct ash_seccomp_launch *l)
{
    if (l->parent_fd >= 0)
        close(l->parent_fd);
    if (l->child_fd >= 0)
        close(l->child_fd);
    l->parent_fd = l->child_fd = -1;
    free(l->argv);
    l->argv = NULL;
}

int ash_seccomp_launch_finish(struct ash_seccomp_launch *l, ash_loop *loop, const char *tag, int64_t timeout_ns,
                              struct ash_seccomp_listener **out, ash_error_t *err)
{
    close(l->child_fd);
    l->child_fd = -1;
    struct pollfd p = {.fd = l->parent_fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, (int)(timeout_ns / ASH_NS_PER_MS));
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return ash_error(err, ETIMEDOUT, "the seccomp launcher sent no listener within %lld ms",
                         (long long)(timeout_ns / ASH_NS_PER_MS));
    char dummy;
    struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n = recvmsg(l->parent_fd, &msg, MSG_CMSG_CLOEXEC);
    struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return ash_error(err, EPROTO, "the seccomp launcher failed before installing its filter (see the service log)");
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return ash_seccomp_listen(loop, fd, tag, out, err);
}

/* ---- listeners and policies ---- */

struct pending;

struct ash_seccomp_listener {
    ash_loop *loop;
    int fd;
    char tag[128];
    uint64_t seen, failed, delayed;
    struct ash_seccomp_listener *next;
};

struct policy {
    char tag[128];
    ash_seccomp_policy_fn fn;
    void *arg;
    struct policy *next;
};

struct pending {
    struct ash_seccomp_listener *l;
    uint64_t id;
    ash_timer *timer;
    struct policy *by;
    struct pending *next;
};

/* The harness is single-threaded: plain lists, owned by the loop's thread. */
static struct ash_seccomp_listener *listeners;
static struct policy *policies;
static struct pending *pendings;

static void respond_val(int fd, uint64_t id, int64_t val)
{
    struct seccomp_notif_resp resp = {.id = id, .val = val};
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void respond(int fd, uint64_t id, int error, bool cont)
{
    struct seccomp_notif_resp resp = {.id = id};
    if (cont)
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
        resp.error = -error;
    /* ENOENT: the caller is gone (killed, or its wait interrupted): nothing to answer. */
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void drop_pending(struct pending *p, bool answer)
{
    for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->timer)
        ash_loop_cancel_timer(p->l->loop, p->timer);
    if (answer)
        respond(p->l->fd, p->id, 0, true);
    free(p);
}

static int64_t delay_done(ash_loop *loop, int64_t now, void *data)
{
    (void)loop;
    (void)now;
    struct pending *p = data;
    p->timer = NULL;
    drop_pending(p, true);
    return ASH_TIMER_DONE;
}

static void on_notify(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_seccomp_listener *l = data;
    if (events & (EPOLLHUP | EPOLLERR)) {
        /* Every process of the filter is gone. */
        ash_loop_del_fd(loop, fd);
        return;
    }
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return; /* ENOENT: the caller went away between the wake-up and the receive */
    l->seen++;
    struct ash_seccomp_call c = {.listener_fd = fd, .id = req.id, .pid = (pid_t)req.pid, .nr = req.data.nr};
    memcpy(c.args, req.data.args, sizeof c.args);
    struct ash_seccomp_decision d = {.verdict = ASH_SC_CONTINUE};
    struct policy *by = NULL;
    for (struct policy *p = policies; p && d.verdict == ASH_SC_CONTINUE; p = p->next)
        if (strcmp(p->tag, l->tag) == 0) {
            p->fn(p->arg, &c, &d);
            by = p;
        }
    switch (d.verdict) {
    case ASH_SC_ERRNO:
        l->failed++;
        respond(fd, req.id, d.error, false);
        break;
    case ASH_SC_RETURN:
        l->failed++;
        respond_val(fd, req.id, d.val);
        break;
    case ASH_SC_DELAY: {
        struct pending *pd = calloc(1, sizeof *pd);
        if (!pd) {
            respond(fd, req.id, 0, true);
            break;
        }
        l->delayed++;
        pd->l = l;
        pd->id = req.id;
        pd->by = by;
        pd->next = pendings;
        pendings = pd;
        pd->timer = ash_loop_add_timer(loop, ash_now_ns() + d.delay_ns, delay_done, pd);
        if (!pd->timer)
            drop_pending(pd, true); /* no timer to end the delay: the call goes on now, never blocked for good */
        break;
    }
    case ASH_SC_CONTINUE:
    default:
        respond(fd, req.id, 0, true);
        break;
    }
}

int ash_seccomp_listen(ash_loop *loop, int fd, const char *tag, struct ash_seccomp_listener **out, ash_error_t *err)
{
    struct ash_seccomp_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return ash_error(err, ENOMEM, "seccomp listener");
    }
    l->loop = loop;
    l->fd = fd;
    snprintf(l->tag, sizeof l->tag, "%s", tag ? tag : "");
    /* Ask the kernel (6.6+) to run the target and the harness on one CPU. Through
     * epoll the hint mostly does not reach us (bench_syscall measured no gain on
     * 6.18); it costs nothing. Older kernels: EINVAL, fine. */
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
    if (ash_loop_add_fd(loop, fd, EPOLLIN, on_notify, l, err) < 0) {
        close(fd);
        free(l);
        return -1;
    }
    l->next = listeners;
    listeners = l;
    *out = l;
    return 0;
}

int ash_seccomp_listener_fd(const struct ash_seccomp_listener *l)
{
    return l ? l->fd : -1;
}

void ash_seccomp_listener_counts(const struct ash_seccomp_listener *l, uint64_t *seen, uint64_t *failed,
                                 uint64_t *delayed)
{
    if (seen)
        *seen = l->seen;
    if (failed)
        *failed = l->failed;
    if (delayed)
        *delayed = l->delayed;
}

void ash_seccomp_listener_close(struct ash_seccomp_listener *l)
{
    if (!l)
        return;
    for (struct pending *p = pendings, *next; p; p = next) {
        next = p->next;
        if (p->l == l)
            drop_pending(p, true);
    }
    for (struct ash_seccomp_listener **pp = &listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    ash_loop_del_fd(l->loop, l->fd);
    /* Closing the last listener fd makes every future notified call fail with
     * ENOSYS in the target: close only when the target is done with it. */
    close(l->fd);
    free(l);
}

int ash_seccomp_policy_add(const char *tag, ash_seccomp_policy_fn fn, void *arg, ash_error_t *err)
{
    struct policy *p = calloc(1, sizeof *p);
    if (!p)
        return ash_error(err, ENOMEM, "seccomp policy");
    snprintf(p->tag, sizeof p->tag, "%s", tag);
    p->fn = fn;
    p->arg = arg;
    p->next = policies;
    policies = p;
    return 0;
}

void ash_seccomp_policy_remove(ash_seccomp_policy_fn fn, void *arg)
{
    for (struct policy **pp = &policies; *pp;) {
        struct policy *p = *pp;
        if (p->fn != fn || p->arg != arg) {
            pp = &p->next;
            continue;
        }
        for (struct pending *q = pendings, *next; q; q = next) {
            next = q->next;
            if (q->by == p)
                drop_pending(q, true);
        }
        *pp = p->next;
        free(p);
    }
}

size_t ash_seccomp_policies(const char *tag)
{
    size_t n = 0;
    for (const struct policy *p = policies; p; p = p->next)
        if (strcmp(p->tag, tag) == 0)
            n++;
    return n;
}

size_t ash_seccomp_listeners(const char *tag)
{
    size_t n = 0;
    for (struct ash_seccomp_listener *l = listeners; l; l = l->next)
        if (strcmp(l->tag, tag) == 0)
            n++;
    return n;
}

static bool still_valid(const struct ash_seccomp_call *c)
{
    uint64_t id = c->id;
    return ioctl(c->listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

int ash_seccomp_read_string(const struct ash_seccomp_call *c, uint64_t addr, char *buf, size_t len)
{
    if (!still_valid(c))
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)c->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, len - 1, (off_t)addr);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* Checked again: the pid read from could have been reused by now. */
    return still_valid(c) ? 0 : -1;
}

int ash_seccomp_fd_path(const struct ash_seccomp_call *c, int fd, char *buf, size_t len)
{
    if (!still_valid(c))
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, fd);
    ssize_t n = readlink(path, buf, len - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return still_valid(c) ? 0 : -1;
}

int ash_seccomp_brk(const struct ash_seccomp_call *c, uint64_t *out)
{
    if (!still_valid(c))
        return -1;
    char path[64], line[512];
    unsigned long long lo, hi, start_brk = 0;
    bool found = false;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)c->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (!found && fgets(line, sizeof line, f))
        if (strstr(line, "[heap]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
            *out = hi;
            found = true;
        }
    fclose(f);
    if (!found) {
        /* No heap yet: the break is still at start_brk, field 47 of stat (after the ")"). */
        snprintf(path, sizeof path, "/proc/%d/stat", (int)c->pid);
        f = fopen(path, "re");
        if (!f)
            return -1;
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        for (int field = 2; p && field < 47; field++)
            p = strchr(p + 1, ' ');
        if (!p || sscanf(p + 1, "%llu", &start_brk) != 1)
            return -1;
        *out = start_brk;
    }
    return still_valid(c) ? 0 : -1;
}
