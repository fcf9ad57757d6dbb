/* Helper processes of network faults (relay, cross-traffic sender and sink): forked, journaled, killed by identity. */
#include "net/relay.h"
#include "sys/gil.h"
#include "sys/clock.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#include <linux/close_range.h>
#endif

/* Close every fd >= 3 but the kept ones: a helper must not hold the harness's
 * namespace fds, listening sockets or journal open after it is gone. */
static void close_all_except(int *keep, int n)
{
    for (int i = 0; i < n; i++) /* sort: n <= 3 */
        for (int k = i + 1; k < n; k++)
            if (keep[k] < keep[i]) {
                int t = keep[i];
                keep[i] = keep[k];
                keep[k] = t;
            }
    unsigned from = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < from)
            continue;
        if ((unsigned)keep[i] > from)
            close_range(from, (unsigned)keep[i] - 1, 0);
        from = (unsigned)keep[i] + 1;
    }
    close_range(from, ~0u, 0);
}

int ash_net_helper_spawn(struct ash_journal *j, bool die_with_parent, int keep_fd, void (*fn)(const void *, int),
                         const void *arg, struct ash_net_helper *out, ash_error_t *err)
{
    int go[2], st[2];
    memset(out, 0, sizeof *out);
    out->pidfd = -1;
    if (pipe2(go, O_CLOEXEC) < 0)
        return ash_error(err, errno, "pipe");
    if (pipe2(st, O_CLOEXEC) < 0) {
        close(go[0]);
        close(go[1]);
        return ash_error(err, errno, "pipe");
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(go[0]), close(go[1]), close(st[0]), close(st[1]);
        return ash_error(err, e, "cannot fork a network helper");
    }
    if (pid == 0) {
        if (die_with_parent) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
        }
        /* Default signal dispositions and mask: the parent's loop blocks some. */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_IGN);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(0); /* the parent gave up before letting us run */
        int keep[3] = {go[0], st[1], keep_fd};
        close_all_except(keep, 3);
        close(go[0]);
        fn(arg, st[1]);
        _exit(1);
    }
    close(go[0]);
    close(st[1]);
    out->pid = pid;
    out->pidfd = ash_pidfd_open(pid);
    out->start = ash_proc_start_time(pid);
    int ret = -1;
    json_t *d = json_pack("{s:i, s:I}", "pid", (int)pid, "start", (json_int_t)out->start);
    int r = d && j ? ash_journal_append(j, "network.proc", d, &out->j_id, err) : 0;
    json_decref(d);
    if (!d) {
        ash_error(err, ENOMEM, "journal record");
        goto kill;
    }
    if (r < 0)
        goto kill;
    if (write(go[1], "g", 1) != 1) {
        ash_error(err, errno, "cannot start the network helper");
        goto kill;
    }
    struct pollfd p = {.fd = st[0], .events = POLLIN};
    ash_gil_blocking_begin();
    int ready = poll(&p, 1, 3000);
    ash_gil_blocking_end();
    if (ready <= 0) {
        ash_error(err, ETIMEDOUT, "the network helper did not report within 3 s");
        goto kill;
    }
    char msg[256];
    ssize_t n = read(st[0], msg, sizeof msg - 1);
    if (n <= 0) {
        ash_error(err, ECHILD, "the network helper exited before it was ready");
        goto kill;
    }
    msg[n] = '\0';
    if (msg[0] != '\0') {
        ash_error(err, 0, "network helper: %s", msg);
        goto kill;
    }
    ret = 0;
    goto out;
kill:
    ash_net_helper_kill(out, j);
out:
    close(go[1]);
    close(st[0]);
    return ret;
}

void ash_net_helper_kill(struct ash_net_helper *h, struct ash_journal *j)
{
    if (h->pid > 0) {
        if (h->pidfd >= 0)
            ash_pidfd_signal(h->pidfd, SIGKILL);
        else
            kill(h->pid, SIGKILL);
        ash_gil_blocking_begin();
        waitpid(h->pid, NULL, 0);
        ash_gil_blocking_end();
    }
    if (h->pidfd >= 0)
        close(h->pidfd);
    if (h->j_id && j)
        ash_journal_done(j, h->j_id, NULL);
    memset(h, 0, sizeof *h);
    h->pidfd = -1;
}

int ash_net_undo_proc(json_t *rec, ash_error_t *err)
{
    json_int_t pid = json_integer_value(json_object_get(rec, "pid"));
    json_int_t start = json_integer_value(json_object_get(rec, "start"));
    if (pid <= 1)
        return ash_error(err, EINVAL, "network.proc record without a pid");
    if (ash_proc_signal_checked((pid_t)pid, (uint64_t)start, SIGKILL) < 0)
        return errno == ESRCH ? 0 : ash_error(err, errno, "cannot kill network helper %lld", (long long)pid);
    /* Not our child when recovering from another process: wait until it is gone. */
    for (int i = 0; i < 200 && ash_proc_start_time((pid_t)pid) == (uint64_t)start; i++) {
        char s = ash_proc_state((pid_t)pid);
        if (s == 'Z' || s == 0)
            break;
        waitpid((pid_t)pid, NULL, WNOHANG);
        usleep(5000);
    }
    waitpid((pid_t)pid, NULL, WNOHANG);
    return 0;
}
