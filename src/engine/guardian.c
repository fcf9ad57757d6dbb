/* The guardian process: if the harness dies (SIGKILL, crash, OOM kill) it
 * replays the run's journal, so no fault outlives the harness. It lives in its
 * own session, so the terminal's Ctrl-C reaches the harness (which reverts in
 * order) but not the guardian, and it watches the harness through a pidfd. */
#include "engine/guardian.h"
#include "engine/recover.h"
#include "sys/journal.h"
#include "sys/proc.h"

#include <aftershock/aftershock.h>
#include <jansson.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ash_child guardian = {.pid = -1, .pidfd = -1};
/* What the guardian was started with: a replacement watches the same journal. */
static char g_exe[4096], g_journal[4096];

static int spawn_guardian(ash_error_t *err)
{
    char pid[32], start[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(start, sizeof start, "%llu", (unsigned long long)ash_proc_start_time(getpid()));
    char exe_buf[4096], journal_buf[4096], cmd[] = "__guardian";
    snprintf(exe_buf, sizeof exe_buf, "%s", g_exe);
    snprintf(journal_buf, sizeof journal_buf, "%s", g_journal);
    char *argv[] = {exe_buf, cmd, journal_buf, pid, start, NULL};
    /* Not tagged with the run id: it outlives the harness on purpose, to revert. */
    struct ash_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = 2, .no_common_env = true};
    if (ash_spawn(&o, &guardian, err) < 0)
        return ash_error_wrap(err, "cannot start the guardian");
    return 0;
}

int ash_guardian_start(const char *exe, const char *journal, ash_error_t *err)
{
    if (guardian.pid > 0)
        ash_guardian_stop();
    snprintf(g_exe, sizeof g_exe, "%s", exe);
    snprintf(g_journal, sizeof g_journal, "%s", journal);
    return spawn_guardian(err);
}

pid_t ash_guardian_pid(void)
{
    return guardian.pid;
}

int ash_guardian_pidfd(void)
{
    return guardian.pid > 0 ? guardian.pidfd : -1;
}

int ash_guardian_replace(char *how, size_t len, ash_error_t *err)
{
    int status = 0;
    snprintf(how, len, "exited");
    if (guardian.pid > 0 && ash_child_reap(&guardian, &status) == 1)
        ash_wait_status_str(status, how, len);
    else if (guardian.pid > 0)
        ash_child_terminate(&guardian, 0, false); /* not gone after all: one guardian only */
    ash_child_close(&guardian);
    if (!g_journal[0])
        return ash_error(err, EINVAL, "no guardian was started");
    return spawn_guardian(err);
}

void ash_guardian_stop(void)
{
    if (guardian.pid <= 0)
        return;
    ash_pidfd_signal(guardian.pidfd, SIGTERM);
    struct pollfd p = {.fd = guardian.pidfd, .events = POLLIN};
    poll(&p, 1, 1000);
    ash_child_terminate(&guardian, 0, false);
    ash_child_close(&guardian);
}

/* The journal's header names the harness that wrote it (pid and start time). */
static bool journal_is_harness(const struct ash_journal_info *info, int pid, uint64_t start)
{
    if (info->pid == 0 && info->pending == 0)
        return true; /* empty: the harness died between creating it and writing its header */
    return info->pid == pid && info->pid_start == start;
}

int ash_guardian_main(const char *journal, int harness_pid, const char *harness_start)
{
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    uint64_t start = strtoull(harness_start, NULL, 10);
    int pfd = ash_pidfd_open((pid_t)harness_pid);
    if (pfd >= 0 && ash_proc_start_time((pid_t)harness_pid) == start) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
    if (pfd >= 0)
        close(pfd);
    /* The state directory is checked as recover checks it (a real directory we own, writable
     * by nobody else), opened once, and the journal read and replayed relative to it. */
    char dir[4096];
    const char *slash = strrchr(journal, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == journal ? 1 : slash - journal) : 1, slash ? journal : ".");
    ash_error_t err = {0};
    int dfd = ash_journal_dir_open(dir, &err);
    if (dfd < 0) {
        if (err.code == ENOENT)
            return 0; /* the harness died before it made its state directory */
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock guardian: %s; not replaying %s\n", err.msg,
                         journal);
        return 1;
    }
    struct ash_journal_info info;
    if (ash_journal_inspect_at(dfd, journal, &info, &err) < 0) {
        close(dfd);
        if (err.code == ENOENT)
            return 0; /* the harness ended cleanly, or died before it made its journal */
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock guardian: %s\n", err.msg);
        return 1;
    }
    if (!journal_is_harness(&info, harness_pid, start)) {
        /* The guardian starts before the journal exists: if the harness could
         * not create it (the name was taken), the file is another run's. */
        close(dfd);
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE,
                         "aftershock guardian: %s is not harness pid %d's journal; leaving it\n", journal, harness_pid);
        return 1;
    }
    ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock guardian: harness pid %d died; reverting from %s\n",
                     harness_pid, journal);
    int failed = ash_recover_journal_at(dfd, journal, stderr, &err);
    close(dfd);
    if (failed < 0) {
        ash_text_fprintf(stderr, ASH_TEXT_KEEP_NEWLINE, "aftershock guardian: %s\n", err.msg);
        return 1;
    }
    return failed ? 1 : 0;
}
