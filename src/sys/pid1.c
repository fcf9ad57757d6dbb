/* PID 1 as a supervisor of its child and of every orphan (sys/pid1.h). Written
 * by hand: docker-init (tini) exits when its one child does, which is exactly
 * what ends a guardian still reverting; nothing in Debian does "wait for every
 * descendant" as a library. */
#include "sys/pid1.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

int ash_pid1_supervise(ash_error_t *err)
{
    if (getpid() != 1)
        return 0;
    /* The handlers are in place before the child exists, and the stop signals
     * are held until child_pid is known: a `docker stop` at once is forwarded,
     * not dropped (PID 1 ignores a signal it has no handler for). */
    const int stops[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    const size_t n = sizeof stops / sizeof stops[0];
    sigset_t hold, old;
    sigemptyset(&hold);
    for (size_t i = 0; i < n; i++)
        sigaddset(&hold, stops[i]);
    sigprocmask(SIG_BLOCK, &hold, &old);
    /* No SA_RESTART: a forwarded signal wakes waitpid, which is simply called again. */
    struct sigaction sa, dfl;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    dfl = sa;
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < n; i++)
        sigaction(stops[i], &sa, NULL);
    pid_t pid = fork();
    if (pid <= 0) { /* the agent (or no fork): its signals as they were */
        int e = errno;
        for (size_t i = 0; i < n; i++)
            sigaction(stops[i], &dfl, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (pid < 0)
            return ash_error(err, e, "PID 1: cannot fork the agent from its supervisor");
        return 0;
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    int code = 1;
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, 0);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break; /* ECHILD: nothing of the namespace is left */
        if (w == pid) {
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            child_pid = 0;
        }
    }
    _exit(code);
}
