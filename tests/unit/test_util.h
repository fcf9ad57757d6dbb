/* Shared by the tests that run scenarios through the library. */
#ifndef ASH_TEST_UTIL_H
#define ASH_TEST_UTIL_H

#include "sys/journal.h"
#include "test_skip.h"

#include <aftershock/aftershock.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline const char *ash_test_build_dir(void)
{
    const char *b = getenv("ASH_BUILD_DIR");
    return b ? b : "build";
}

/* Quiet run options into run_dir/state_dir, with the real guardian watching the
 * test process: a test that dies mid-run (a failed assertion, a sanitizer
 * abort) still has its services killed and its faults reverted. */
static inline struct ash_run_options ash_test_run_options(const char *run_dir, const char *state_dir)
{
    static char guardian[4096];
    snprintf(guardian, sizeof guardian, "%s/aftershock", ash_test_build_dir());
    return (struct ash_run_options){
        .run_dir = run_dir, .state_dir = state_dir, .progress = ASH_PROGRESS_QUIET, .guardian_exe = guardian};
}

/* A parent-side guard for tests that journal what they make (add it with
 * tcase_add_unchecked_fixture, so it runs in the runner, not the forked test):
 * setup makes a directory for the tests' journals; teardown recovers whatever
 * a test that died (failed assertion, sanitizer abort, timeout) left there,
 * through the same path as `aftershock recover`. */
static char ash_test_journal_dir[64];

static inline void ash_test_guard_setup(void)
{
    snprintf(ash_test_journal_dir, sizeof ash_test_journal_dir, "/tmp/ash-journals-XXXXXX");
    if (!mkdtemp(ash_test_journal_dir))
        abort();
}

/* A run's guardian (ash_test_run_options) replays its journal itself when the
 * test dies; recovering the same journal at the same time could undo a record
 * twice, so the teardown first waits (up to 10 s) for every guardian whose
 * journal is in the guard's directory to finish. */
static inline bool ash_test_guardian_running(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* argv: exe, "__guardian", journal, pid, start (NUL-separated) */
        const char *cmd = buf + strlen(buf) + 1;
        if (cmd < buf + n && strcmp(cmd, "__guardian") == 0) {
            const char *journal = cmd + strlen(cmd) + 1;
            found = journal < buf + n && strncmp(journal, ash_test_journal_dir, strlen(ash_test_journal_dir)) == 0;
        }
    }
    closedir(d);
    return found;
}

/* Journal a helper process the test starts by hand (not through a run), so
 * the guard kills it if the test dies: an env.processes record, the same one
 * a run's services get. env (at least 32 bytes) receives "ASH_RUN_ID=t<pid>":
 * pass it in the helper's ash_spawn_opts.envp_extra (descendants inherit it). */
static inline int ash_test_journal_helper(struct ash_journal *j, char *env, size_t len, uint64_t *id, ash_error_t *err)
{
    snprintf(env, len, "ASH_RUN_ID=t%d", (int)getpid());
    json_t *d = json_pack("{s:s}", "env", env);
    int r = ash_journal_append(j, "env.processes", d, id, err);
    json_decref(d);
    return r;
}

static inline void ash_test_guard_teardown(void)
{
    for (int i = 0; i < 1000 && ash_test_guardian_running(); i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    ash_error_t err = {0};
    if (ash_recover(ash_test_journal_dir, NULL, &err) != 0)
        fprintf(stderr, "test guard: recovering %s failed: %s\n", ash_test_journal_dir, err.msg);
    /* A journal still holding undo records is kept: recover leaves alone one whose
     * run is alive, and under CK_FORK=no that is this runner, whose tests ran in it
     * (a failed one left its sandbox). Removing it would leave that harm with no
     * record of it; once this process has exited, recover can undo it. */
    char **paths = NULL;
    size_t n = 0, kept = 0;
    if (ash_journal_list(ash_test_journal_dir, &paths, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct ash_journal_info info;
            if (ash_journal_inspect(paths[i], &info, &err) != 0 || info.pending > 0)
                kept++; /* one it cannot read is kept too: it may be the only record */
            free(paths[i]);
        }
        free(paths);
    } else {
        kept = 1;
    }
    if (kept) {
        fprintf(stderr,
                "test guard: %zu journal(s) in %s still hold undo records or cannot be read (a test's run is "
                "this process, as under CK_FORK=no?): kept; run 'aftershock recover --state-dir %s' once this "
                "exits\n",
                kept, ash_test_journal_dir, ash_test_journal_dir);
        return;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ash_test_journal_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test guard: cannot remove %s\n", ash_test_journal_dir);
}

/* One parent directory (/tmp/NAME-XXXXXX) for a test binary's files, made and removed
 * by wrappers added with tcase_add_unchecked_fixture, so in the runner process: a
 * failed test's forked child exits without its checked teardown, and its files would
 * be left in /tmp otherwise. dir holds at least 64 bytes. */
static inline void ash_test_parent_make(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        exit(1);
    }
}

static inline void ash_test_parent_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test: could not remove %s\n", dir);
}

#endif
