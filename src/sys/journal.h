/* The undo journal: an append-only, fsync'd file of undo records per run.
 *
 * Format: one JSON object per line (JSON Lines), so a record torn by a crash
 * is at most the last line and is detected and ignored:
 *   {"journal":1,"run":"ab12cd","pid":123,"pid_start":456789,"created":"..."}   header
 *   {"id":1,"op":"proc.sigcont","data":{...}}                                   undo record
 *   {"done":1}                                                                  record undone
 * Replay undoes pending records newest first. */
#ifndef ASH_SYS_JOURNAL_H
#define ASH_SYS_JOURNAL_H

#include <aftershock/aftershock.h> /* ASH_DEFAULT_STATE_DIR */
#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ash_journal;

/* Undo one journal record's data (also called by `aftershock recover`, with no run).
 * Implemented by whoever writes that op: fault kinds, env, sys. */
struct ash_undo_op {
    const char *name;
    int (*undo)(json_t *record, ash_error_t *err);
    /* Undoing it runs something the record names (a command): recover carries it out only
     * when the journal's header committed to that exact record at open time. */
    bool committed_only;
    /* What undoing it did, in words a person acts on, for `recover` and the guardian:
     * text with {KEY} for the record's KEY (a string, a number, a list), {KEY:12} its
     * first 12 characters, and {target} (the target it was placed on), {where} (that
     * target, or the sandbox namespace "netns"), {cgroup} (the record's cgroup paths),
     * {frozen} (the one of them a freeze wrote).
     * NULL: "undid OP". engine/recover_words.c renders it. */
    const char *said;
};

int ash_journal_open(const char *state_dir, const char *run_id, struct ash_journal **out, ash_error_t *err);
/* As ash_journal_open, with the header committing to `commit` (an array of {"op","data"}
 * objects, borrowed, may be NULL): the only records of committed_only ops that replay
 * will pass on as committed. */
int ash_journal_open_committed(const char *state_dir, const char *run_id, json_t *commit, struct ash_journal **out,
                               ash_error_t *err);
/* Append an undo record (data is borrowed) and fsync before returning the id. */
int ash_journal_append(struct ash_journal *j, const char *op, json_t *data, uint64_t *id, ash_error_t *err);
/* n records in one write and one fsync (data borrowed), ids[i] getting each id:
 * every one is on disk before any change they undo is made. */
int ash_journal_append_many(struct ash_journal *j, const char *const *ops, json_t *const *data, size_t n, uint64_t *ids,
                            ash_error_t *err);
/* Mark a record undone. A mark that cannot be written (a full disk) leaves the record
 * pending, so recover would undo it again (undos are idempotent); the failure is also
 * kept for ash_journal_take_done_failure. Callers whose undo itself succeeded should
 * not report this as their own failure: the harm is gone, only the bookkeeping is not. */
int ash_journal_done(struct ash_journal *j, uint64_t id, ash_error_t *err);
/* Mark n records undone in one write and one fsync (as ash_journal_done each). */
int ash_journal_done_many(struct ash_journal *j, const uint64_t *ids, size_t n, ash_error_t *err);
/* The last done mark that could not be written since the previous call (into msg), or false. */
bool ash_journal_take_done_failure(struct ash_journal *j, char *msg, size_t len);
/* Number of records not yet done. */
size_t ash_journal_pending(const struct ash_journal *j);
const char *ash_journal_path(const struct ash_journal *j);
/* The state directory the journal was created in, opened once (owned by the journal:
 * dup it to keep it past ash_journal_close). */
int ash_journal_dir_fd(const struct ash_journal *j);
/* Close; remove the file when nothing is pending (and remove_if_clean). */
void ash_journal_close(struct ash_journal *j, bool remove_if_clean);

/* `committed`: the header committed to this exact record (see ash_journal_open_committed). */
typedef int (*ash_undo_cb)(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err);

struct ash_journal_info {
    char path[4096];
    char run[64];
    pid_t pid;
    uint64_t pid_start;
    bool owner_alive; /* the run that wrote it still runs */
    size_t pending;
};

/* Read a journal's header and pending count. The path versions check the journal's
 * directory as ash_journal_dir_open does before opening the journal (O_NOFOLLOW, then fstat:
 * a regular file we own that nobody else can write). */
int ash_journal_inspect(const char *path, struct ash_journal_info *info, ash_error_t *err);
/* Undo pending records newest first. A failing undo is reported through
 * on_error and kept in the journal (rewritten) so a later recover can retry;
 * the file is deleted when all succeeded. Returns the number that failed. */
int ash_journal_replay(const char *path, ash_undo_cb undo, void *arg,
                       void (*on_error)(const char *op, const ash_error_t *e, void *arg), ash_error_t *err);
/* 0 when STATE_DIR is a real directory owned by the running user and writable by nobody else. */
int ash_journal_check_state_dir(const char *state_dir, ash_error_t *err);
/* Open STATE_DIR once (O_DIRECTORY|O_NOFOLLOW) and check what was opened as above (fstat):
 * the fd (the caller closes it), or -1 (err->code ENOENT when it does not exist). Every
 * journal open, list, rewrite and unlink then goes through the *_at calls relative to it,
 * so a parent writable by someone else cannot swap the directory between check and use. */
int ash_journal_dir_open(const char *state_dir, ash_error_t *err);
/* List journal files in state_dir (caller frees each and the array); none when it does not exist. */
int ash_journal_list(const char *state_dir, char ***paths, size_t *n, ash_error_t *err);
/* The same relative to DFD from ash_journal_dir_open. The paths they take and give are
 * STATE_DIR/NAME; only NAME is opened, relative to DFD (the rest is for messages). */
int ash_journal_list_at(int dfd, const char *state_dir, char ***paths, size_t *n, ash_error_t *err);
int ash_journal_inspect_at(int dfd, const char *path, struct ash_journal_info *info, ash_error_t *err);
int ash_journal_replay_at(int dfd, const char *path, ash_undo_cb undo, void *arg,
                          void (*on_error)(const char *op, const ash_error_t *e, void *arg), ash_error_t *err);

#endif
