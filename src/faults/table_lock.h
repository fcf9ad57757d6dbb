/* Fault `table-lock`: its configuration and live state, for its unit tests. Other
 * kinds reach it through struct ash_fault_kind (kill_lock_holder: end_harm). */
#ifndef ASH_FAULTS_TABLE_LOCK_H
#define ASH_FAULTS_TABLE_LOCK_H

#include "kinds.h"
#include "sys/lockhold.h"
#include "sys/pgquery.h"

enum table_lock_interrupt { TL_INTERRUPT_NONE, TL_INTERRUPT_STOP, TL_INTERRUPT_KILL };

struct table_lock_sqlite {
    bool set;
    char *path;
    char *table;
    int mode; /* enum ash_lock_sqlite_mode */
};

struct table_lock_postgres {
    bool set;
    char *dsn;
    char *table;
    int mode;       /* index into table_lock_pg_modes ("access-exclusive" first: the default) */
    char *advisory; /* integer key, kept as text so that 0 is distinguishable from absent */
};

struct table_lock_file {
    bool set;
    char *path;
    int kind; /* enum ash_lock_file_kind */
    long long start;
    long long length; /* 0: to the end of the file */
};

struct table_lock_conf {
    struct table_lock_sqlite sqlite;
    struct table_lock_postgres postgres;
    struct table_lock_file file;
    int interrupt;            /* enum table_lock_interrupt */
    int64_t hold_timeout_ns;  /* how long the holder may wait for the lock; default 5s */
    int64_t observe_every_ns; /* PostgreSQL waiter sampling; default 500ms, 0 = off */
    char *owner;              /* the service whose session holds the lock: it ends when that service stops */
};

extern const char *const table_lock_pg_modes[];

struct table_lock_state {
    struct ash_ctx *ctx;
    char *fault; /* the fault's name, for events */
    char token[64];
    char *target; /* path or DSN after {run_dir}/{scenario_dir} substitution */
    struct ash_lock_spec spec;
    struct ash_lockholder holder;
    uint64_t journal_id;
    bool journaled;
    bool ended; /* holder ended and the lock checked free: nothing left to undo */
    /* PostgreSQL backlog observer */
    ash_timer *obs_timer;
    struct ash_pgq *obs_q;
    int64_t obs_every;
    int64_t obs_started;
    long long obs_last_waiters;
    bool obs_error_reported;
};

/* End the holder (SIGCONT, SIGKILL; PostgreSQL: end its session too), mark the undo
 * record done, then verify from a second connection that the lock is free. `why`
 * names the cause in the timeline ("revert", "kill_lock_holder"). Idempotent. */
int ash_table_lock_end(struct table_lock_state *st, const char *why, ash_error_t *err);

extern const struct ash_fault_kind ash_fault_table_lock;

#endif
