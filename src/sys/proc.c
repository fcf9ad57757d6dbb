/* Process spawning and identity: fork+exec with pidfds, checked signals, names. */
#include "sys/proc.h"
#include "sys/gil.h"
#include "sys/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int ash_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int ash_pidfd_signal(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

uint64_t ash_proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may contain spaces and parens: fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p += 2; /* field 3: state */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

char ash_proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return (p && p[1] == ' ') ? p[2] : 0;
}

int ash_proc_signal_checked(pid_t pid, uint64_t start, int sig)
{
    /* Without a recorded start time the identity cannot be checked: refuse
     * rather than signal whatever holds the pid now. */
    if (start == 0) {
        errno = EINVAL;
        return -1;
    }
    /* pidfd pins the identity between the check and the signal. */
    int pfd = ash_pidfd_open(pid);
    if (pfd < 0)
        return -1;
    errno = 0;
    uint64_t now = ash_proc_start_time(pid);
    if (now == 0 && errno != 0 && errno != ENOENT && errno != ESRCH) {
        /* /proc could not be read (EMFILE, ENOMEM, EIO): whether it is the same
         * process is unknown, not "gone". ESRCH here made a revert think a stopped
         * process had exited and mark its SIGCONT done, leaving it stopped. */
        int e = errno;
        close(pfd);
        errno = e;
        return -1;
    }
    if (now != start) {
        close(pfd);
        errno = ESRCH;
        return -1;
    }
    int ret = ash_pidfd_signal(pfd, sig);
    int saved = errno;
    close(pfd);
    errno = saved;
    return ret;
}

static void child_fail(int fd, const char *what)
{
    /* Report errno and what failed to the parent through the CLOEXEC pipe. */
    int e = errno;
    char msg[128];
    size_t len = strlen(what);
    if (len > sizeof msg - sizeof e)
        len = sizeof msg - sizeof e;
    memcpy(msg, &e, sizeof e);
    memcpy(msg + sizeof e, what, len);
    ssize_t ignored = write(fd, msg, sizeof e + len);
    (void)ignored;
    _exit(127);
}

static char common_env[256];

/* The common case (no pre_exec hook, no death signal) through posix_spawnp: glibc
 * starts the child with clone(CLONE_VM|CLONE_VFORK), so the cost does not grow with
 * this process's memory as fork's page-table copy does (a fork of the engine held
 * the run lock for milliseconds under load and made probe ticks late), and an exec
 * failure comes back as the return value. What it cannot do (a hook in the child,
 * PR_SET_PDEATHSIG) goes through fork below. */
static int spawn_light(const struct ash_spawn_opts *o, char **envp, pid_t *pid, ash_error_t *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int e = posix_spawn_file_actions_init(&fa);
    if (e)
        return ash_error(err, e, "spawn");
    if ((e = posix_spawnattr_init(&at))) {
        posix_spawn_file_actions_destroy(&fa);
        return ash_error(err, e, "spawn");
    }
    int fds[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
    for (int i = 0; i < 3 && !e; i++)
        e = fds[i] >= 0 ? posix_spawn_file_actions_adddup2(&fa, fds[i], i)
                        : posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
    if (!e && o->cwd)
        e = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    /* The loop blocks the signals it reads through a signalfd: the child starts with
     * none blocked and every signal at its default, as the fork path does. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (o->new_pgroup ? POSIX_SPAWN_SETPGROUP : 0);
    if (!e)
        e = posix_spawnattr_setsigmask(&at, &none);
    if (!e)
        e = posix_spawnattr_setsigdefault(&at, &all);
    if (!e)
        e = posix_spawnattr_setflags(&at, flags);
    if (!e)
        e = posix_spawnattr_setpgroup(&at, 0);
    if (e) {
        posix_spawnattr_destroy(&at);
        posix_spawn_file_actions_destroy(&fa);
        return ash_error(err, e, "spawn");
    }
    e = posix_spawnp(pid, o->argv[0], &fa, &at, o->argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (e)
        return ash_error(err, e, "cannot start '%s' (exec)", o->argv[0]);
    return 0;
}

void ash_spawn_set_common_env(const char *kv)
{
    snprintf(common_env, sizeof common_env, "%s", kv ? kv : "");
}

int ash_spawn(const struct ash_spawn_opts *o, struct ash_child *out, ash_error_t *err)
{
    /* Build the environment before fork: no allocation in the child. */
    size_t nenv = 0, nextra = 0;
    while (environ[nenv])
        nenv++;
    while (o->envp_extra && o->envp_extra[nextra])
        nextra++;
    char **envp = NULL;
    bool common = common_env[0] && !o->no_common_env;
    if (nextra || common) {
        envp = calloc(nenv + nextra + 2, sizeof *envp);
        if (!envp)
            return ash_error(err, ENOMEM, "spawn");
        /* First wins for getenv: the child's own settings before the harness's. */
        if (nextra)
            memcpy(envp, o->envp_extra, nextra * sizeof *envp);
        size_t k = nextra;
        if (common)
            envp[k++] = common_env;
        size_t klen = strcspn(common_env, "=");
        for (size_t i = 0; i < nenv; i++)
            if (!common || strncmp(environ[i], common_env, klen + 1) != 0)
                envp[k++] = environ[i];
    }
    pid_t pid;
    if (!o->pre_exec && !o->die_with_parent) {
        int r = spawn_light(o, envp ? envp : environ, &pid, err);
        free(envp);
        if (r < 0)
            return -1;
        goto started;
    }
    /* The fork path reports the child's failure before exec through a CLOEXEC pipe. */
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        int e = errno;
        free(envp);
        return ash_error(err, e, "pipe");
    }
    pid_t parent = getpid();
    pid = fork();
    if (pid < 0) {
        int e = errno;
        free(envp);
        close(pipefd[0]);
        close(pipefd[1]);
        return ash_error(err, e, "fork");
    }
    if (pid == 0) {
        close(pipefd[0]);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL); /* the loop blocks signals it reads via signalfd */
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        if (o->die_with_parent) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
        }
        if (o->new_pgroup && setpgid(0, 0) < 0)
            child_fail(pipefd[1], "setpgid");
        int devnull = open("/dev/null", O_RDWR);
        int in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
        int so = o->stdout_fd >= 0 ? o->stdout_fd : devnull;
        int se = o->stderr_fd >= 0 ? o->stderr_fd : devnull;
        if (dup2(in, 0) < 0 || dup2(so, 1) < 0 || dup2(se, 2) < 0)
            child_fail(pipefd[1], "dup2");
        if (o->cwd && chdir(o->cwd) < 0)
            child_fail(pipefd[1], "chdir");
        if (o->pre_exec && o->pre_exec(o->pre_exec_arg) < 0)
            child_fail(pipefd[1], "setup");
        execvpe(o->argv[0], o->argv, envp ? envp : environ);
        child_fail(pipefd[1], "exec");
    }
    free(envp);
    close(pipefd[1]);
    char msg[128];
    ssize_t n;
    do
        n = read(pipefd[0], msg, sizeof msg - 1);
    while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n >= (ssize_t)sizeof(int)) {
        int e;
        memcpy(&e, msg, sizeof e);
        msg[n] = '\0';
        waitpid(pid, NULL, 0);
        return ash_error(err, e, "cannot start '%s' (%s)", o->argv[0], msg + sizeof e);
    }
started:
    out->pid = pid;
    out->pidfd = ash_pidfd_open(pid);
    out->start = ash_proc_start_time(pid);
    if (out->pidfd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return ash_error(err, e, "pidfd_open");
    }
    return 0;
}

int ash_run_command(char *const *argv, int64_t timeout_ns, ash_error_t *err)
{
    return ash_run_command_out(argv, timeout_ns, -1, err);
}

int ash_run_command_out(char *const *argv, int64_t timeout_ns, int out_fd, ash_error_t *err)
{
    struct ash_spawn_opts o = {
        .argv = argv, .stdin_fd = -1, .stdout_fd = out_fd, .stderr_fd = out_fd, .new_pgroup = true};
    struct ash_child ch;
    if (ash_spawn(&o, &ch, err) < 0)
        return -1;
    struct pollfd p = {.fd = ch.pidfd, .events = POLLIN};
    int status = 0, r;
    ash_gil_blocking_begin(); /* the command's run is all wait: the probes keep their clock */
    do
        r = poll(&p, 1, (int)(timeout_ns / ASH_NS_PER_MS));
    while (r < 0 && errno == EINTR);
    ash_gil_blocking_end();
    if (r <= 0 || ash_child_reap(&ch, &status) != 1) {
        ash_child_terminate(&ch, 0, true);
        ash_child_close(&ch);
        return ash_error(err, ETIMEDOUT, "'%s' did not finish within %lld ms", argv[0],
                         (long long)(timeout_ns / ASH_NS_PER_MS));
    }
    ash_child_close(&ch);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        ash_wait_status_str(status, how, sizeof how);
        return ash_error(err, 0, "'%s' failed (%s)", argv[0], how);
    }
    return 0;
}

int ash_child_reap(struct ash_child *c, int *status)
{
    if (c->pid <= 0)
        return 1;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        if (status)
            *status = st;
        c->pid = -1;
        return 1;
    }
    if (r < 0 && errno == ECHILD) {
        c->pid = -1;
        return 1;
    }
    return 0;
}

void ash_child_terminate(struct ash_child *c, int64_t grace_ns, bool pgroup)
{
    if (c->pid <= 0)
        return;
    if (pgroup)
        kill(-c->pid, SIGCONT);
    kill(c->pid, SIGCONT); /* a stopped process cannot act on SIGTERM */
    if (pgroup)
        kill(-c->pid, SIGTERM);
    ash_pidfd_signal(c->pidfd, SIGTERM);
    if (c->pidfd >= 0 && grace_ns > 0) {
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        ash_gil_blocking_begin();
        poll(&p, 1, (int)(grace_ns / ASH_NS_PER_MS));
        ash_gil_blocking_end();
    }
    if (!ash_child_reap(c, NULL)) {
        if (pgroup)
            kill(-c->pid, SIGKILL);
        ash_pidfd_signal(c->pidfd, SIGKILL);
        ash_gil_blocking_begin();
        waitpid(c->pid, NULL, 0);
        ash_gil_blocking_end();
        c->pid = -1;
    } else if (pgroup) {
        /* leader gone: make sure nothing of its group survives */
    }
}

void ash_child_close(struct ash_child *c)
{
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
}

static const struct {
    int sig;
    const char *name;
} signames[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},     {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"}, {SIGBUS, "BUS"},     {SIGFPE, "FPE"},   {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},   {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"}, {SIGTTIN, "TTIN"},
    {SIGTTOU, "TTOU"}, {SIGURG, "URG"},     {SIGXCPU, "XCPU"}, {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"},
    {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},     {SIGSYS, "SYS"},
};

int ash_signal_parse(const char *name)
{
    if (!name || !*name)
        return -1;
    char *end;
    long v = strtol(name, &end, 10);
    if (*end == '\0')
        return (v > 0 && v < NSIG) ? (int)v : -1;
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (strcasecmp(name, signames[i].name) == 0)
            return signames[i].sig;
    return -1;
}

const char *ash_signal_name(int sig)
{
    static const char *full[] = {
        [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",   [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
        [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
        [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
        [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGCHLD] = "SIGCHLD",
        [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGSYS] = "SIGSYS",
    };
    if (sig > 0 && (size_t)sig < sizeof full / sizeof full[0] && full[sig])
        return full[sig];
    return "signal";
}

void ash_wait_status_str(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by %s", ash_signal_name(WTERMSIG(status)));
    else
        snprintf(buf, len, "status 0x%x", status);
}
