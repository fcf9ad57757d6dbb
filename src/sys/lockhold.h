/* The lock holder: a separate process that takes a real lock (SQLite, PostgreSQL,
 * file) and keeps it until it is killed; plus the checks that a lock is free.
 *
 * The holder runs as `aftershock __lock-holder <json-spec>` (a re-exec of the
 * harness binary, never a bare fork: the harness may have libcurl threads), so
 * SIGSTOP and SIGKILL act on it alone, like the interrupted maintenance script.
 * Protocol on its stdout: "held\n" once the lock is held (then it pauses
 * forever), or "error: <message>\n" and exit status 1. */
#ifndef ASH_SYS_LOCKHOLD_H
#define ASH_SYS_LOCKHOLD_H

#include <aftershock/aftershock.h> /* ash_error_t; the public entry points this file defines */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sys/proc.h"

enum ash_lock_backend { ASH_LOCK_SQLITE, ASH_LOCK_POSTGRES, ASH_LOCK_FILE };
enum ash_lock_sqlite_mode { ASH_LOCK_SQLITE_EXCLUSIVE, ASH_LOCK_SQLITE_IMMEDIATE };
enum ash_lock_file_kind { ASH_LOCK_FILE_FCNTL, ASH_LOCK_FILE_FLOCK };

/* PostgreSQL table lock modes as scenario words ("access-exclusive"), NULL-terminated,
 * and the matching SQL words ("ACCESS EXCLUSIVE"). */
extern const char *const ash_pg_lock_mode_names[];
extern const char *const ash_pg_lock_mode_sql[];
#define ASH_PG_LOCK_ACCESS_EXCLUSIVE 7 /* index of "access-exclusive" */

/* What to lock. Strings are borrowed from the caller. */
struct ash_lock_spec {
    enum ash_lock_backend backend;
    const char *target; /* sqlite: database path; postgres: DSN (key=value or URI); file: path */
    const char *table;  /* sqlite, postgres table ("name" or "schema.name"); NULL with advisory/file */
    int mode;           /* sqlite: enum ash_lock_sqlite_mode; postgres: index into ash_pg_lock_mode_names */
    bool advisory;      /* postgres: pg_advisory_lock(key) instead of LOCK TABLE */
    long long key;
    int file_kind;   /* enum ash_lock_file_kind */
    long long start; /* fcntl range; length 0 = to the end of the file (and beyond) */
    long long length;
    const char *token; /* unique name: in the holder's argv and its PostgreSQL application_name */
    int64_t wait_ns;   /* how long the holder waits to get the lock (connect included) */
};

struct ash_lockholder {
    struct ash_child child; /* pid -1 once reaped */
    bool stopped;
    int64_t ended;  /* CLOCK_MONOTONIC ns when ash_lockhold_kill saw it gone (its lock with it), else 0 */
    int64_t killed; /* when it sent the SIGKILL: the lock went between killed and ended */
};

/* Executable that understands `__lock-holder` (default /proc/self/exe, i.e. the
 * aftershock binary). Tests that dispatch __lock-holder in their own main() keep
 * the default. The path is copied. */
void ash_lockhold_set_exe(const char *path);

/* A fresh unique token "ash-lock-<8 hex>-<label>", at most 63 bytes (PostgreSQL's
 * NAMEDATALEN limit for application_name). */
void ash_lockhold_token(char *buf, size_t len, const char *label);

/* Spec <-> JSON (the holder's argv and the undo journal record). */
json_t *ash_lock_spec_to_json(const struct ash_lock_spec *s);
/* Strings in out point into j: keep j alive while out is used. */
int ash_lock_spec_from_json(json_t *j, struct ash_lock_spec *out, ash_error_t *err);

/* Spawn the holder and wait (bounded by wait_ns plus a margin) until it reports
 * the lock held. On failure nothing is left running and err holds the holder's
 * own message ("sqlite: no table 'calls' in /x/calls.db"). */
int ash_lockhold_start(const struct ash_lock_spec *s, struct ash_lockholder *h, ash_error_t *err);
/* SIGSTOP the holder and wait until the kernel shows it stopped (it keeps the lock). */
int ash_lockhold_stop(struct ash_lockholder *h, ash_error_t *err);
/* SIGCONT then SIGKILL and reap. Idempotent. */
void ash_lockhold_kill(struct ash_lockholder *h);
bool ash_lockhold_running(const struct ash_lockholder *h);

/* Check from a second connection that the lock is free, retrying until within_ns
 * has passed (a PostgreSQL backend may take a moment to notice its client died). */
int ash_lockhold_verify_free(const struct ash_lock_spec *s, int64_t within_ns, ash_error_t *err);

/* PostgreSQL: pg_terminate_backend() every backend whose application_name is token. */
int ash_lockhold_pg_terminate(const char *dsn, const char *token, ash_error_t *err);
/* Kill (SIGCONT, SIGKILL) every __lock-holder process whose spec carries token,
 * checking identity through a pidfd (for `recover`, when the holder is not our child).
 * Returns how many were killed, or -1. */
int ash_lockhold_kill_by_token(const char *token, ash_error_t *err);

/* ash_lockhold_main, the body of `aftershock __lock-holder`, is public (<aftershock/aftershock.h>). */

#endif
