/* Recovery: undo what dead runs left, through the undo ops of every kind. */
#include "engine/control.h"
#include "engine/recover.h"
#include "engine/recover_words.h"
#include "kinds.h"
#include "sys/journal.h"

#include <aftershock/aftershock.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where replay lines go, and whether each carries its raw record too. */
struct say {
    FILE *log;
    bool records;
};

static int undo_one(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    const struct say *say = arg;
    const struct ash_undo_op *u = ash_undo_op_find(op);
    if (!u)
        return ash_error(err, ENOENT, "unknown undo record '%s' (written by a newer aftershock?)", op);
    /* A record that would run a command must be one the run promised in its header before
     * any fault began: a record appended or altered later is not carried out. */
    if (u->committed_only && !committed)
        return ash_error(err, EPERM,
                         "refusing %s record: the journal's header did not commit to it (altered or planted journal); "
                         "undo it by hand if it is yours",
                         op);
    int ret = u->undo(data, err);
    if (say->log && ret == 0) {
        /* One line a person acts on; the record itself (what recover printed before,
         * "undone OP {...}") only when asked for, for scripts that read it. */
        char words[1200];
        ash_text_fprintf(say->log, ASH_TEXT_KEEP_NEWLINE, "  %s\n", ash_undo_words(u, op, data, words, sizeof words));
        if (say->records) {
            char *s = json_dumps(data, JSON_COMPACT);
            ash_text_fprintf(say->log, ASH_TEXT_KEEP_NEWLINE, "    undone %s %s\n", op, s ? s : "");
            free(s);
        }
    }
    return ret;
}

static void report_error(const char *op, const ash_error_t *e, void *arg)
{
    const struct say *say = arg;
    if (say->log)
        ash_text_fprintf(say->log, ASH_TEXT_KEEP_NEWLINE, "  FAILED %s: %s\n", op, e->msg);
}

int ash_recover_journal(const char *path, FILE *log, ash_error_t *err)
{
    struct say say = {log, false};
    int r = ash_journal_replay(path, undo_one, &say, report_error, err);
    ash_control_remove_stale_for(path); /* the dead run's control socket */
    return r;
}

static int replay_at(int dfd, const char *path, struct say *say, ash_error_t *err)
{
    int r = ash_journal_replay_at(dfd, path, undo_one, say, report_error, err);
    ash_control_remove_stale_for(path); /* the dead run's control socket (the guardian comes this way) */
    return r;
}

int ash_recover_journal_at(int dfd, const char *path, FILE *log, ash_error_t *err)
{
    struct say say = {log, false};
    return replay_at(dfd, path, &say, err);
}

int ash_recover(const char *state_dir, FILE *log, ash_error_t *err)
{
    return ash_recover_with(state_dir, log, 0, err);
}

int ash_recover_with(const char *state_dir, FILE *log, unsigned flags, ash_error_t *err)
{
    struct say say = {log, (flags & ASH_RECOVER_RECORDS) != 0};
    char **paths = NULL;
    size_t n = 0;
    /* The state directory is opened and checked once; every journal is read, rewritten
     * and removed relative to that. */
    ash_error_t de = {0};
    int dfd = ash_journal_dir_open(state_dir, &de);
    if (dfd < 0 && de.code != ENOENT) {
        if (err)
            *err = de;
        return -1;
    }
    if (dfd >= 0 && ash_journal_list_at(dfd, state_dir, &paths, &n, err) < 0) {
        close(dfd);
        return -1;
    }
    int failed = 0;
    size_t undone = 0;
    for (size_t i = 0; i < n; i++) {
        struct ash_journal_info info;
        ash_error_t e = {0};
        if (ash_journal_inspect_at(dfd, paths[i], &info, &e) < 0) {
            if (log)
                ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "%s\n", e.msg);
            failed++;
            continue;
        }
        if (info.owner_alive) {
            if (log)
                ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "run %s is still running (pid %d): left alone\n", info.run,
                                 (int)info.pid);
            continue;
        }
        if (log)
            ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "run %s (pid %d, gone): %zu undo record(s)\n", info.run,
                             (int)info.pid, info.pending);
        int f = replay_at(dfd, paths[i], &say, &e);
        if (f < 0) {
            if (log)
                ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "%s\n", e.msg);
            failed++;
        } else {
            failed += f;
            undone++;
        }
    }
    /* Control sockets of runs killed after their journal was gone. */
    size_t swept = ash_control_sweep(state_dir);
    if (log && swept)
        ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "removed %zu control socket(s) of dead runs\n", swept);
    if (log && n == 0)
        ash_text_fprintf(log, ASH_TEXT_KEEP_NEWLINE, "nothing to recover in %s\n", state_dir);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    if (dfd >= 0)
        close(dfd);
    return failed;
}
