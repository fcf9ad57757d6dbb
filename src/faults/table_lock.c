/* Fault `table-lock`: a holder process takes a real lock (SQLite, PostgreSQL, file)
 * and keeps it; optionally it is stopped (the interrupted maintenance script) or
 * killed once the lock is held. Revert ends it and checks the lock is free. */
#include "faults/table_lock.h"
#include "env/env.h"
#include "sys/clock.h"
#include "sys/journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "access-exclusive" first so that the enum's default (index 0) is the strongest mode. */
const char *const table_lock_pg_modes[] = {
    "access-exclusive", "exclusive", "share-row-exclusive", "share", "share-update-exclusive",
    "row-exclusive",    "row-share", "access-share",        NULL};
static const char *const sqlite_modes[] = {"exclusive", "immediate", NULL};
static const char *const file_kinds[] = {"fcntl", "flock", NULL};
static const char *const interrupts[] = {"none", "stop", "kill", NULL};

static const struct ash_field sqlite_fields[] = {
    {"path", ASH_F_STRING, offsetof(struct table_lock_sqlite, path), ASH_FIELD_REQUIRED,
     "database file ({run_dir} and {scenario_dir} are substituted); must exist"},
    {"table", ASH_F_STRING, offsetof(struct table_lock_sqlite, table), ASH_FIELD_REQUIRED,
     "table the holder touches inside its transaction; must exist"},
    {"mode", ASH_F_ENUM, offsetof(struct table_lock_sqlite, mode), 0,
     "exclusive (BEGIN EXCLUSIVE: readers and writers wait, default) | immediate (BEGIN IMMEDIATE: writers wait)",
     sqlite_modes},
    {NULL}};

static const struct ash_field postgres_fields[] = {
    {"dsn", ASH_F_STRING, offsetof(struct table_lock_postgres, dsn), ASH_FIELD_REQUIRED,
     "libpq connection string or URI"},
    {"table", ASH_F_STRING, offsetof(struct table_lock_postgres, table), 0,
     "table to LOCK (name or schema.name); one of table or advisory"},
    {"mode", ASH_F_ENUM, offsetof(struct table_lock_postgres, mode), 0, "LOCK TABLE mode (default access-exclusive)",
     table_lock_pg_modes},
    {"advisory", ASH_F_STRING, offsetof(struct table_lock_postgres, advisory), 0,
     "take pg_advisory_lock(KEY) (a 64-bit integer) instead of a table lock"},
    {NULL}};

static const struct ash_field file_fields[] = {
    {"path", ASH_F_STRING, offsetof(struct table_lock_file, path), ASH_FIELD_REQUIRED, "file to lock; must exist"},
    {"kind", ASH_F_ENUM, offsetof(struct table_lock_file, kind), 0,
     "fcntl (POSIX/OFD byte-range write lock, default) | flock (whole-file LOCK_EX)", file_kinds},
    {"start", ASH_F_INT, offsetof(struct table_lock_file, start), 0, "fcntl range start (bytes, default 0)", NULL, NULL,
     0, 9.2e18},
    {"length", ASH_F_INT, offsetof(struct table_lock_file, length), 0,
     "fcntl range length (bytes, default 0 = to the end of the file)", NULL, NULL, 0, 9.2e18},
    {NULL}};

static const struct ash_field table_lock_fields[] = {
    {"sqlite", ASH_F_MAP, offsetof(struct table_lock_conf, sqlite), 0, "lock a SQLite database: {path, table, mode}",
     NULL, sqlite_fields},
    {"postgres", ASH_F_MAP, offsetof(struct table_lock_conf, postgres), 0,
     "lock a PostgreSQL table: {dsn, table, mode} or {dsn, advisory}", NULL, postgres_fields},
    {"file", ASH_F_MAP, offsetof(struct table_lock_conf, file), 0, "lock a file: {path, kind, start, length}", NULL,
     file_fields},
    {"interrupt", ASH_F_ENUM, offsetof(struct table_lock_conf, interrupt), 0,
     "none (default) | stop (SIGSTOP the holder once the lock is held: it keeps it) | kill (SIGKILL it: the lock "
     "dies with its session)",
     interrupts},
    {"hold_timeout", ASH_F_DURATION, offsetof(struct table_lock_conf, hold_timeout_ns), 0,
     "how long the holder may wait to get the lock before the fault fails (default 5s)"},
    {"observe_every", ASH_F_DURATION, offsetof(struct table_lock_conf, observe_every_ns), 0,
     "PostgreSQL: sample waiting sessions into the timeline this often (default 500ms, 0 = off)"},
    {"owner", ASH_F_STRING, offsetof(struct table_lock_conf, owner), 0,
     "a service of the scenario whose connection holds the lock (the script ran through it): when that service "
     "stops or exits (a restart, a reboot, a crash) the lock ends with its session and the fault ends by itself"},
    {NULL}};

static void table_lock_defaults(void *conf)
{
    struct table_lock_conf *c = conf;
    c->hold_timeout_ns = 5 * ASH_NS_PER_S;
    c->observe_every_ns = 500 * ASH_NS_PER_MS;
}

static int parse_key(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int table_lock_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct table_lock_conf *c = conf;
    const char *given[3];
    int n = 0;
    if (c->sqlite.set)
        given[n++] = "sqlite";
    if (c->postgres.set)
        given[n++] = "postgres";
    if (c->file.set)
        given[n++] = "file";
    if (n == 0)
        return ash_node_fail(node, err, "table-lock needs exactly one of 'sqlite', 'postgres' or 'file'");
    if (n > 1) {
        ash_node k = ash_map_key(node, given[1]);
        return ash_node_fail(&k, err,
                             "table-lock takes exactly one of 'sqlite', 'postgres' or 'file' (found '%s' and '%s')",
                             given[0], given[1]);
    }
    if (c->postgres.set) {
        ash_node pg = ash_map_get(node, "postgres");
        if (!c->postgres.table == !c->postgres.advisory)
            return ash_node_fail(&pg, err, "postgres lock needs exactly one of 'table' or 'advisory'");
        long long key;
        if (c->postgres.advisory && parse_key(c->postgres.advisory, &key) < 0) {
            ash_node v = ash_map_get(&pg, "advisory");
            return ash_node_fail(&v, err, "advisory lock key must be a 64-bit integer, not '%s'", c->postgres.advisory);
        }
        if (c->postgres.table && !*c->postgres.table) {
            ash_node v = ash_map_get(&pg, "table");
            return ash_node_fail(&v, err, "empty table name");
        }
    }
    if (c->sqlite.set && !*c->sqlite.table) {
        ash_node s = ash_map_get(node, "sqlite");
        ash_node v = ash_map_get(&s, "table");
        return ash_node_fail(&v, err, "empty table name");
    }
    if (c->file.set && c->file.kind == ASH_LOCK_FILE_FLOCK && (c->file.start || c->file.length)) {
        ash_node f = ash_map_get(node, "file");
        ash_node v = ash_map_get(&f, c->file.start ? "start" : "length");
        return ash_node_fail(&v, err, "flock locks the whole file: 'start'/'length' only go with kind: fcntl");
    }
    if (c->hold_timeout_ns <= 0) {
        ash_node v = ash_map_get(node, "hold_timeout");
        return ash_node_fail(&v, err, "hold_timeout must be positive");
    }
    if (c->owner && !ash_scenario_service(sc, c->owner)) {
        ash_node v = ash_map_get(node, "owner");
        return ash_node_fail(&v, err,
                             "no service named '%s' in this scenario (owner: the service whose session holds "
                             "the lock)",
                             c->owner);
    }
    return 0;
}

/* ---- the PostgreSQL backlog observer ---- */

/* Sessions blocked by the holder's backend (found by its application_name), and the
 * longest of their waits. pg_blocking_pids() names hard blockers (the lock holder)
 * and soft ones (waiters ahead in the queue); the holder conflicts with every waiter
 * queued behind it, so every waiter on its lock lists it. */
static const char observe_sql[] =
    "SELECT count(*), coalesce(max((extract(epoch FROM clock_timestamp() - w.query_start) * 1000)::bigint), 0) "
    "FROM pg_stat_activity w WHERE w.wait_event_type = 'Lock' AND EXISTS ("
    "SELECT 1 FROM pg_stat_activity h WHERE h.application_name = $1 AND h.pid = ANY (pg_blocking_pids(w.pid)))";

static void observe_done(void *arg, bool ok, const PGresult *res, const char *msg)
{
    struct table_lock_state *st = arg;
    st->obs_q = NULL;
    if (!ok || !res || PQntuples(res) != 1) {
        if (!st->obs_error_reported)
            ash_ctx_eventf(st->ctx, ash_now_ns(), "lock-observe-failed", "%s: cannot sample lock waiters: %s",
                           st->fault, msg ? msg : "no result");
        st->obs_error_reported = true;
        return;
    }
    long long waiters = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    long long longest = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    /* Report changes, and every sample while a backlog exists (its wait grows). */
    if (waiters != st->obs_last_waiters || waiters > 0)
        ash_ctx_eventf(st->ctx, st->obs_started, "lock-waiters", "%s: %lld waiting, longest %lld ms", st->fault,
                       waiters, longest);
    st->obs_last_waiters = waiters;
}

static int64_t observe_tick(ash_loop *loop, int64_t now, void *data)
{
    struct table_lock_state *st = data;
    if (!st->obs_q) { /* a slow server: skip a tick rather than pile up connections */
        const char *params[] = {st->token};
        st->obs_started = now;
        if (ash_pgq_start(loop, st->target, "ash-observe", observe_sql, 1, params, observe_done, st, &st->obs_q, NULL) <
            0)
            st->obs_q = NULL;
    }
    return now + st->obs_every;
}

static void observe_stop(struct table_lock_state *st)
{
    if (st->obs_timer)
        ash_loop_cancel_timer(st->ctx->loop, st->obs_timer);
    st->obs_timer = NULL;
    ash_pgq_abandon(st->obs_q);
    st->obs_q = NULL;
}

/* ---- inject / revert ---- */

static void state_free(struct table_lock_state *st)
{
    if (!st)
        return;
    observe_stop(st);
    ash_lockhold_kill(&st->holder);
    free(st->target);
    free(st->fault);
    free(st);
}

static int build_spec(struct ash_ctx *ctx, const struct table_lock_conf *c, struct table_lock_state *st,
                      ash_error_t *err)
{
    struct ash_lock_spec *s = &st->spec;
    const char *raw;
    if (c->sqlite.set) {
        s->backend = ASH_LOCK_SQLITE;
        raw = c->sqlite.path;
        s->table = c->sqlite.table;
        s->mode = c->sqlite.mode;
    } else if (c->postgres.set) {
        s->backend = ASH_LOCK_POSTGRES;
        raw = c->postgres.dsn;
        s->table = c->postgres.table;
        s->mode = ASH_PG_LOCK_ACCESS_EXCLUSIVE;
        for (int i = 0; ash_pg_lock_mode_names[i]; i++)
            if (strcmp(ash_pg_lock_mode_names[i], table_lock_pg_modes[c->postgres.mode]) == 0)
                s->mode = i;
        if (c->postgres.advisory) {
            s->advisory = true;
            if (parse_key(c->postgres.advisory, &s->key) < 0)
                return ash_error_class(err, ASH_ERR_USAGE, 0, "advisory lock key must be an integer, not '%s'",
                                       c->postgres.advisory);
        }
    } else if (c->file.set) {
        s->backend = ASH_LOCK_FILE;
        raw = c->file.path;
        s->file_kind = c->file.kind;
        s->start = c->file.start;
        s->length = c->file.length;
    } else {
        return ash_error_class(err, ASH_ERR_USAGE, 0, "table-lock needs one of sqlite, postgres or file");
    }
    const char *sdir = ctx->scenario ? ctx->scenario->dir : NULL;
    st->target = ash_env_substitute(raw, sdir ? sdir : ".", ctx->run_dir ? ctx->run_dir : ".");
    if (!st->target)
        return ash_error(err, ENOMEM, "table-lock");
    s->target = st->target;
    s->token = st->token;
    s->wait_ns = c->hold_timeout_ns > 0 ? c->hold_timeout_ns : 5 * ASH_NS_PER_S;
    return 0;
}

static const char *describe(const struct ash_lock_spec *s, char *buf, size_t len)
{
    switch (s->backend) {
    case ASH_LOCK_SQLITE:
        snprintf(buf, len, "sqlite %s table %s (%s)", s->target, s->table,
                 s->mode == ASH_LOCK_SQLITE_IMMEDIATE ? "BEGIN IMMEDIATE" : "BEGIN EXCLUSIVE");
        break;
    case ASH_LOCK_POSTGRES:
        if (s->advisory)
            snprintf(buf, len, "postgres advisory lock %lld", s->key);
        else
            snprintf(buf, len, "postgres table %s (%s)", s->table, ash_pg_lock_mode_sql[s->mode]);
        break;
    case ASH_LOCK_FILE:
        snprintf(buf, len, "file %s (%s)", s->target, s->file_kind == ASH_LOCK_FILE_FLOCK ? "flock" : "fcntl");
        break;
    }
    return buf;
}

static int table_lock_inject(struct ash_ctx *ctx, const struct ash_fault_spec *f, void **state, ash_error_t *err)
{
    const struct table_lock_conf *c = f->conf;
    struct table_lock_state *st = calloc(1, sizeof *st);
    if (!st)
        return ash_error(err, ENOMEM, "table-lock");
    st->ctx = ctx;
    st->holder.child.pid = -1;
    st->holder.child.pidfd = -1;
    st->obs_last_waiters = -1;
    if (!(st->fault = strdup(f->name ? f->name : "table-lock"))) {
        ash_error(err, ENOMEM, "table-lock");
        goto fail;
    }
    ash_lockhold_token(st->token, sizeof st->token, st->fault);
    if (build_spec(ctx, c, st, err) < 0)
        goto fail;

    /* Journal first, naming the holder by its token rather than its pid: the token
     * is known before the process exists, is in the holder's argv (so `recover`
     * finds it by scanning /proc, with no pid-reuse risk) and is the PostgreSQL
     * application_name (so `recover` can end a session that outlived it). A crash
     * between this append and the spawn leaves a record whose undo finds nothing:
     * harmless. A crash after the spawn is covered twice: the holder has
     * PR_SET_PDEATHSIG=SIGKILL, and the record finds it. */
    if (ctx->journal) {
        json_t *d = ash_lock_spec_to_json(&st->spec);
        int r = d ? ash_journal_append(ctx->journal, "lock.holder", d, &st->journal_id, err)
                  : ash_error(err, ENOMEM, "table-lock journal");
        json_decref(d);
        if (r < 0)
            goto fail;
        st->journaled = true;
    }

    char what[512];
    describe(&st->spec, what, sizeof what);
    /* The holder's own message is specific ("sqlite: no table 'calls' in ..."). */
    if (ash_lockhold_start(&st->spec, &st->holder, err) < 0)
        goto fail;
    ash_ctx_eventf(ctx, ash_now_ns(), "lock-held", "%s: holder pid %d holds %s", st->fault, (int)st->holder.child.pid,
                   what);

    switch ((enum table_lock_interrupt)c->interrupt) {
    case TL_INTERRUPT_STOP:
        if (ash_lockhold_stop(&st->holder, err) < 0) {
            ash_error_wrap(err, "interrupt: stop");
            goto fail;
        }
        ash_ctx_eventf(ctx, ash_now_ns(), "lock-holder-stopped", "%s: holder pid %d stopped (SIGSTOP), lock kept",
                       st->fault, (int)st->holder.child.pid);
        break;
    case TL_INTERRUPT_KILL: {
        pid_t pid = st->holder.child.pid;
        ash_lockhold_kill(&st->holder);
        ash_ctx_eventf(ctx, ash_now_ns(), "lock-holder-killed",
                       "%s: holder pid %d killed (SIGKILL); the lock dies with its session", st->fault, (int)pid);
        break;
    }
    case TL_INTERRUPT_NONE:
        break;
    }

    if (st->spec.backend == ASH_LOCK_POSTGRES && c->observe_every_ns > 0 && ctx->loop) {
        st->obs_every = c->observe_every_ns;
        if (!(st->obs_timer = ash_loop_add_timer(ctx->loop, ash_now_ns(), observe_tick, st))) {
            ash_error(err, ENOMEM, "%s: cannot arm the lock's observer", st->fault);
            goto fail;
        }
    }
    *state = st;
    return 0;
fail:
    /* Nothing may be left behind: the holder (if any) is killed by state_free, and a
     * PostgreSQL session is ended by the server when its client dies. */
    if (st->journaled) {
        ash_lockhold_kill(&st->holder);
        ash_journal_done(ctx->journal, st->journal_id, NULL);
    }
    state_free(st);
    return -1;
}

int ash_table_lock_end(struct table_lock_state *st, const char *why, ash_error_t *err)
{
    if (!st || st->ended)
        return 0;
    observe_stop(st);
    pid_t pid = st->holder.child.pid;
    ash_lockhold_kill(&st->holder);
    if (st->spec.backend == ASH_LOCK_POSTGRES) {
        /* The server ends the session when it sees the client's socket close; over a
         * network that may take a while (or, through a partition, never), so end it
         * explicitly as well. */
        if (ash_lockhold_pg_terminate(st->target, st->token, err) < 0)
            return -1;
    }
    if (st->journaled && st->ctx->journal) {
        /* The holder is gone whatever the mark says: a mark that cannot be written
         * is the engine's warning, not a failed revert. */
        ash_journal_done(st->ctx->journal, st->journal_id, NULL);
        st->journaled = false;
    }
    st->ended = true;
    /* At the moment the holder was seen gone (its session's locks go with its
     * socket), not after the session's terminate and the journal mark that follow
     * it. The lock went between the SIGKILL and that moment: a loaded machine can
     * wake the reaping thread late, so the detail gives the SIGKILL's time too. */
    if (pid > 0) {
        int64_t ended = st->holder.ended ? st->holder.ended : ash_now_ns();
        int64_t killed = st->holder.killed && st->holder.killed <= ended ? st->holder.killed : ended;
        ash_ctx_eventf(st->ctx, ended, "lock-holder-ended", "%s: holder pid %d killed (%s); signalled %.3f ms before",
                       st->fault, (int)pid, why, ash_ns_to_ms(ended - killed));
    }
    /* Up to 2 s: a PostgreSQL backend may take a moment to notice its client died. */
    if (ash_lockhold_verify_free(&st->spec, 2 * ASH_NS_PER_S, err) < 0)
        return ash_error_wrap(err, "%s: the lock is not free after %s", st->fault, why);
    bool by_session = st->spec.backend == ASH_LOCK_POSTGRES && st->spec.token && *st->spec.token;
    ash_ctx_eventf(st->ctx, ash_now_ns(), "lock-released", "%s: %s (%s)", st->fault,
                   by_session ? "the holder's session is gone from the server, and its locks with it"
                              : "a second connection took the lock",
                   why);
    return 0;
}

/* `owner`: the lock lives in that service's session, so the service stopping
 * (a restart: "service-stopped NAME") or dying ("service-exited NAME ...")
 * ends it, as rebooting the backend whose connection held the lock did. The
 * holder is ended and the lock checked free before the service can start
 * again (a restart stops, emits, then starts), and the fault ends by itself. */
static void table_lock_on_event(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, const char *event,
                                const char *detail, int64_t t)
{
    (void)t;
    const struct table_lock_conf *c = f->conf;
    struct table_lock_state *st = state;
    if (!c->owner || !st || st->ended || !detail ||
        (strcmp(event, "service-stopped") != 0 && strcmp(event, "service-exited") != 0))
        return;
    const char *slash = strrchr(c->owner, '/'), *name = slash ? slash + 1 : c->owner;
    size_t len = strlen(name);
    if (strncmp(detail, name, len) != 0 || (detail[len] != '\0' && detail[len] != ' '))
        return;
    char why[300];
    snprintf(why, sizeof why, "its owner %s %s: the session holding the lock ended with it", name,
             strcmp(event, "service-stopped") == 0 ? "stopped" : "exited");
    ash_error_t err = {0};
    if (ash_table_lock_end(st, why, &err) < 0)
        ash_ctx_eventf(ctx, ash_now_ns(), "warning", "%s: %s", f->name, err.msg);
    /* The engine reverts the fault now (nothing left to undo: ended), freeing st. */
    if (ctx->fault_ended && ctx->fault_ended(ctx, f->name, &err) < 0)
        ash_ctx_eventf(ctx, ash_now_ns(), "warning", "%s: %s", f->name, err.msg);
}

static int table_lock_end_harm(void *state, const char *why, ash_error_t *err)
{
    return ash_table_lock_end(state, why, err);
}

static int table_lock_revert(struct ash_ctx *ctx, const struct ash_fault_spec *f, void *state, ash_error_t *err)
{
    struct table_lock_state *st = state;
    if (!st)
        return 0;
    int ret = ash_table_lock_end(st, "revert", err);
    state_free(st);
    return ret;
}

/* `recover`: the harness is gone, so the holder is not our child. */
static int undo_lock_holder(json_t *rec, ash_error_t *err)
{
    struct ash_lock_spec s;
    if (ash_lock_spec_from_json(rec, &s, err) < 0)
        return -1;
    if (ash_lockhold_kill_by_token(s.token, err) < 0)
        return -1;
    if (s.backend == ASH_LOCK_POSTGRES)
        return ash_lockhold_pg_terminate(s.target, s.token, err);
    return 0;
}

static const struct ash_undo_op table_lock_undo[] = {
    {"lock.holder", undo_lock_holder, false, "stopped the {backend} lock holder (token {token}) and its session"},
    {NULL, NULL, false, NULL}};

/* A DSN for a plan: its password shown as ***. */
static void redact_dsn(char *out, size_t len, const char *dsn)
{
    snprintf(out, len, "%s", dsn);
    char *p = strstr(out, "password=");
    if (p) {
        char *v = p + strlen("password=");
        char *end = v + strcspn(v, " ");
        char rest[512];
        snprintf(rest, sizeof rest, "%s", end);
        snprintf(v, len - (size_t)(v - out), "***%s", rest);
    }
    char *scheme = strstr(out, "://");
    char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at) {
        char rest[512];
        snprintf(rest, sizeof rest, "%s", at);
        snprintf(colon + 1, len - (size_t)(colon + 1 - out), "***%s", rest);
    }
}

static int table_lock_describe(const struct ash_fault_spec *f, const struct ash_describe *d, json_t *out,
                               ash_error_t *err)
{
    const struct table_lock_conf *c = f->conf;
    static const char *const stop_text[] = {"",
                                            "; the holder is then SIGSTOPped (keeps the lock; SIGCONT + end on revert)",
                                            "; the holder is then SIGKILLed (the lock dies with it)"};
    char line[1024], what[600];
    const char *intr = stop_text[c->interrupt >= 0 && c->interrupt <= 2 ? c->interrupt : 0];
    if (c->sqlite.set) {
        char *path = ash_env_substitute(c->sqlite.path, d->scenario->dir, d->run_dir);
        if (!path)
            return ash_error(err, ENOMEM, "table-lock");
        snprintf(what, sizeof what, "%s", path);
        snprintf(line, sizeof line, "a holder process opens SQLite %s and holds BEGIN %s on table %s%s", path,
                 c->sqlite.mode == 1 ? "IMMEDIATE" : "EXCLUSIVE", c->sqlite.table, intr);
        free(path);
    } else if (c->postgres.set) {
        char dsn[512];
        redact_dsn(dsn, sizeof dsn, c->postgres.dsn);
        snprintf(what, sizeof what, "%s", dsn);
        if (c->postgres.advisory)
            snprintf(line, sizeof line, "a holder session on PostgreSQL %s holds pg_advisory_lock(%s)%s", dsn,
                     c->postgres.advisory, intr);
        else
            snprintf(line, sizeof line, "a holder session on PostgreSQL %s holds LOCK TABLE %s IN %s MODE%s", dsn,
                     c->postgres.table ? c->postgres.table : "?", table_lock_pg_modes[c->postgres.mode], intr);
    } else {
        char *path = ash_env_substitute(c->file.path ? c->file.path : "", d->scenario->dir, d->run_dir);
        if (!path)
            return ash_error(err, ENOMEM, "table-lock");
        snprintf(what, sizeof what, "%s", path);
        snprintf(line, sizeof line, "a holder process takes a%s lock on %s%s",
                 c->file.kind == 1 ? "n flock" : " fcntl write", path, intr);
        free(path);
    }
    json_object_set_new(out, "mechanism", json_string(line));
    ash_describe_object(out, "process", "lock holder", "root", "lock.holder",
                        "holds the lock on %s (waits up to %.0f ms for it)", what, (double)c->hold_timeout_ns / 1e6);
    return 0;
}

static const char *table_lock_ends_itself(const struct ash_fault_spec *f)
{
    const struct table_lock_conf *c = f->conf;
    return c->owner ? "when its owner's session ends (the owner stops or restarts)" : NULL;
}

const struct ash_fault_kind ash_fault_table_lock = {
    .c = {.name = "table-lock",
          .summary = "a holder process takes a real lock (SQLite, PostgreSQL, file) and keeps it, stopped or killed",
          .fields = table_lock_fields,
          .conf_size = sizeof(struct table_lock_conf),
          .defaults = table_lock_defaults,
          .validate = table_lock_validate},
    .inject = table_lock_inject,
    .revert = table_lock_revert,
    .on_event = table_lock_on_event,
    .undo_ops = table_lock_undo,
    .describe = table_lock_describe,
    .ends_itself = table_lock_ends_itself,
    .end_harm = table_lock_end_harm,
};
