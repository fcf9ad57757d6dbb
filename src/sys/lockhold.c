/* The lock holder process (`aftershock __lock-holder`), its control from the harness,
 * and second-connection checks that a lock is free again. */
#include "sys/lockhold.h"
#include "sys/gil.h"
#include "sys/clock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const ash_pg_lock_mode_names[] = {"access-share",
                                              "row-share",
                                              "row-exclusive",
                                              "share-update-exclusive",
                                              "share",
                                              "share-row-exclusive",
                                              "exclusive",
                                              "access-exclusive",
                                              NULL};
const char *const ash_pg_lock_mode_sql[] = {"ACCESS SHARE",
                                            "ROW SHARE",
                                            "ROW EXCLUSIVE",
                                            "SHARE UPDATE EXCLUSIVE",
                                            "SHARE",
                                            "SHARE ROW EXCLUSIVE",
                                            "EXCLUSIVE",
                                            "ACCESS EXCLUSIVE",
                                            NULL};

static const char *const backend_names[] = {"sqlite", "postgres", "file"};
static const char *const sqlite_mode_names[] = {"exclusive", "immediate"};
static const char *const file_kind_names[] = {"fcntl", "flock"};

/* Extra time the harness grants the holder beyond wait_ns: process start-up. */
#define HOLDER_MARGIN_NS (3 * ASH_NS_PER_S)

static char holder_exe[4096] = "/proc/self/exe";

void ash_lockhold_set_exe(const char *path)
{
    snprintf(holder_exe, sizeof holder_exe, "%s", path ? path : "/proc/self/exe");
}

void ash_lockhold_token(char *buf, size_t len, const char *label)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)ash_now_ns() ^ ((uint32_t)getpid() << 16);
    /* application_name keeps only printable ASCII and 63 bytes: keep the label tame. */
    char safe[48];
    size_t n = 0;
    for (const char *p = label ? label : ""; *p && n < sizeof safe - 1; p++)
        safe[n++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    safe[n] = '\0';
    snprintf(buf, len < 64 ? len : 64, "ash-lock-%08x%s%s", r, n ? "-" : "", safe);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / ASH_NS_PER_S, .tv_nsec = ns % ASH_NS_PER_S};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int64_t ms_ceil(int64_t ns)
{
    return (ns + ASH_NS_PER_MS - 1) / ASH_NS_PER_MS;
}

/* ---- spec <-> JSON ---- */

json_t *ash_lock_spec_to_json(const struct ash_lock_spec *s)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I}", "token", s->token ? s->token : "", "backend", backend_names[s->backend],
                  "target", s->target ? s->target : "", "wait_ns", (json_int_t)s->wait_ns);
    if (!j)
        return NULL;
    switch (s->backend) {
    case ASH_LOCK_SQLITE:
        json_object_set_new(j, "table", json_string(s->table ? s->table : ""));
        json_object_set_new(j, "mode", json_string(sqlite_mode_names[s->mode == ASH_LOCK_SQLITE_IMMEDIATE]));
        break;
    case ASH_LOCK_POSTGRES:
        if (s->advisory)
            json_object_set_new(j, "advisory", json_integer(s->key));
        else
            json_object_set_new(j, "table", json_string(s->table ? s->table : ""));
        json_object_set_new(j, "mode", json_string(ash_pg_lock_mode_names[s->mode]));
        break;
    case ASH_LOCK_FILE:
        json_object_set_new(j, "kind", json_string(file_kind_names[s->file_kind == ASH_LOCK_FILE_FLOCK]));
        json_object_set_new(j, "start", json_integer(s->start));
        json_object_set_new(j, "length", json_integer(s->length));
        break;
    }
    return j;
}

static int name_index(const char *const *names, size_t n, const char *v)
{
    for (size_t i = 0; v && i < n; i++)
        if (names[i] && strcmp(names[i], v) == 0)
            return (int)i;
    return -1;
}

int ash_lock_spec_from_json(json_t *j, struct ash_lock_spec *out, ash_error_t *err)
{
    memset(out, 0, sizeof *out);
    int b = name_index(backend_names, 3, json_string_value(json_object_get(j, "backend")));
    out->token = json_string_value(json_object_get(j, "token"));
    out->target = json_string_value(json_object_get(j, "target"));
    if (b < 0 || !out->token || !out->target)
        return ash_error(err, EINVAL, "lock spec: needs backend, token and target");
    out->backend = (enum ash_lock_backend)b;
    out->wait_ns = (int64_t)json_integer_value(json_object_get(j, "wait_ns"));
    if (out->wait_ns <= 0)
        out->wait_ns = 5 * ASH_NS_PER_S;
    out->table = json_string_value(json_object_get(j, "table"));
    const char *mode = json_string_value(json_object_get(j, "mode"));
    switch (out->backend) {
    case ASH_LOCK_SQLITE:
        out->mode = mode && strcmp(mode, "immediate") == 0 ? ASH_LOCK_SQLITE_IMMEDIATE : ASH_LOCK_SQLITE_EXCLUSIVE;
        if (!out->table || !*out->table)
            return ash_error(err, EINVAL, "lock spec: sqlite needs a table");
        break;
    case ASH_LOCK_POSTGRES: {
        int m = name_index(ash_pg_lock_mode_names, ASH_PG_LOCK_ACCESS_EXCLUSIVE + 1, mode);
        out->mode = m < 0 ? ASH_PG_LOCK_ACCESS_EXCLUSIVE : m;
        json_t *adv = json_object_get(j, "advisory");
        out->advisory = json_is_integer(adv);
        out->key = json_integer_value(adv);
        if (!out->advisory && (!out->table || !*out->table))
            return ash_error(err, EINVAL, "lock spec: postgres needs a table or an advisory key");
        break;
    }
    case ASH_LOCK_FILE: {
        const char *kind = json_string_value(json_object_get(j, "kind"));
        out->file_kind = kind && strcmp(kind, "flock") == 0 ? ASH_LOCK_FILE_FLOCK : ASH_LOCK_FILE_FCNTL;
        out->start = json_integer_value(json_object_get(j, "start"));
        out->length = json_integer_value(json_object_get(j, "length"));
        break;
    }
    }
    return 0;
}

/* ---- PostgreSQL helpers shared by the holder and the checks ---- */

static void trim_nl(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* Connect with our own application_name and a connect timeout; the DSN's other
 * settings are kept (expand_dbname), ours override the same keys. */
static PGconn *pg_connect(const char *dsn, const char *appname, int64_t timeout_ns, char *msg, size_t len)
{
    char timeout[32];
    long long secs = (timeout_ns + ASH_NS_PER_S - 1) / ASH_NS_PER_S;
    snprintf(timeout, sizeof timeout, "%lld", secs < 2 ? 2 : secs); /* libpq treats 1 as 2 anyway */
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {dsn, appname, timeout, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        snprintf(msg, len, "postgres: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(msg, len, "postgres: cannot connect: %s", PQerrorMessage(c));
        trim_nl(msg);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, NULL, NULL);
    return c;
}

/* Quote "schema.table" or "table" as SQL identifiers. NULL with msg on failure. */
static char *pg_quote_table(PGconn *c, const char *table, char *msg, size_t len)
{
    const char *dot = strchr(table, '.');
    char *a = NULL, *b = NULL, *out = NULL;
    if (dot) {
        a = PQescapeIdentifier(c, table, (size_t)(dot - table));
        b = PQescapeIdentifier(c, dot + 1, strlen(dot + 1));
    } else {
        b = PQescapeIdentifier(c, table, strlen(table));
    }
    if (!b || (dot && !a)) {
        snprintf(msg, len, "postgres: bad table name '%s': %s", table, PQerrorMessage(c));
        trim_nl(msg);
    } else if (asprintf(&out, "%s%s%s", a ? a : "", a ? "." : "", b) < 0) {
        out = NULL;
        snprintf(msg, len, "out of memory");
    }
    PQfreemem(a);
    PQfreemem(b);
    return out;
}

/* Run one statement; 0 when it succeeded. On failure msg holds the server's message
 * and *sqlstate (if given) its SQLSTATE. */
static int pg_exec(PGconn *c, const char *sql, PGresult **keep, char *msg, size_t len, char *sqlstate)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (keep)
            *keep = r;
        else
            PQclear(r);
        return 0;
    }
    snprintf(msg, len, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    trim_nl(msg);
    if (sqlstate) {
        const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(sqlstate, 6, "%s", s ? s : "");
    }
    PQclear(r);
    return -1;
}

/* ---- the holder process: take the lock ---- */

/* Each take_* returns the connection/handle to keep open, or fills msg. */

static int take_sqlite(const struct ash_lock_spec *s, sqlite3 **keep, char *msg, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    /* No SQLITE_OPEN_CREATE: a wrong path must fail, not lock a new empty file. */
    int rc = sqlite3_open_v2(s->target, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(msg, len, "sqlite: cannot open %s: %s", s->target, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(db, (int)ms_ceil(s->wait_ns));
    const char *begin = s->mode == ASH_LOCK_SQLITE_IMMEDIATE ? "BEGIN IMMEDIATE" : "BEGIN EXCLUSIVE";
    rc = sqlite3_exec(db, begin, NULL, NULL, NULL);
    if (rc == SQLITE_BUSY) {
        snprintf(msg, len, "sqlite: %s is already locked by another connection (waited %lld ms for %s)", s->target,
                 (long long)ms_ceil(s->wait_ns), begin);
        goto fail;
    }
    if (rc != SQLITE_OK) {
        snprintf(msg, len, "sqlite: %s on %s: %s", begin, s->target, sqlite3_errmsg(db));
        goto fail;
    }
    /* Inside the transaction: the table must exist (a typo would otherwise hold a lock
     * that blocks nothing the scenario watches). */
    rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type IN ('table','view') AND name = ?1", -1,
                            &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) {
        snprintf(msg, len, "sqlite: no table '%s' in %s", s->table, s->target);
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        snprintf(msg, len, "sqlite: %s: %s", s->target, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Touch the table, as the maintenance script did. */
    sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", s->table);
    if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(msg, len, "sqlite: cannot read table '%s' in %s: %s", s->table, s->target, sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_free(sql);
    *keep = db;
    return 0;
fail:
    sqlite3_free(sql);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return -1;
}

static int take_postgres(const struct ash_lock_spec *s, PGconn **keep, char *msg, size_t len)
{
    int64_t deadline = ash_now_ns() + s->wait_ns;
    char *ident = NULL, *sql = NULL, err[512], state[6] = "";
    PGconn *c = pg_connect(s->target, s->token, s->wait_ns, msg, len);
    if (!c)
        return -1;
    int64_t left = deadline - ash_now_ns();
    char lt[64];
    /* lock_timeout bounds the wait for the lock itself; the connect used part of wait_ns. */
    snprintf(lt, sizeof lt, "SET lock_timeout = %lld", (long long)(left > ASH_NS_PER_MS ? ms_ceil(left) : 1));
    if (pg_exec(c, lt, NULL, err, sizeof err, NULL) < 0 || pg_exec(c, "BEGIN", NULL, err, sizeof err, NULL) < 0) {
        snprintf(msg, len, "postgres: %s", err);
        goto fail;
    }
    if (s->advisory) {
        if (asprintf(&sql, "SELECT pg_advisory_lock(%lld)", s->key) < 0)
            goto oom;
    } else {
        if (!(ident = pg_quote_table(c, s->table, msg, len)))
            goto fail;
        if (asprintf(&sql, "LOCK TABLE %s IN %s MODE", ident, ash_pg_lock_mode_sql[s->mode]) < 0)
            goto oom;
    }
    if (pg_exec(c, sql, NULL, err, sizeof err, state) < 0) {
        const char *what = s->advisory ? "advisory lock" : "table";
        char name[128];
        if (s->advisory)
            snprintf(name, sizeof name, "%lld", s->key);
        else
            snprintf(name, sizeof name, "%s", s->table);
        if (strcmp(state, "55P03") == 0) /* lock_not_available: lock_timeout expired */
            snprintf(msg, len, "postgres: %s '%s' is already locked by another session (waited %lld ms): %s", what,
                     name, (long long)ms_ceil(s->wait_ns), err);
        else
            snprintf(msg, len, "postgres: cannot lock %s '%s': %s", what, name, err);
        goto fail;
    }
    free(ident);
    free(sql);
    *keep = c;
    return 0;
oom:
    snprintf(msg, len, "out of memory");
fail:
    free(ident);
    free(sql);
    PQfinish(c);
    return -1;
}

static int take_file(const struct ash_lock_spec *s, int *keep, char *msg, size_t len)
{
    int64_t deadline = ash_now_ns() + s->wait_ns;
    int fd = open(s->target, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, len, "file: cannot open %s: %s", s->target, strerror(errno));
        return -1;
    }
    for (;;) {
        int r;
        if (s->file_kind == ASH_LOCK_FILE_FLOCK) {
            r = flock(fd, LOCK_EX | LOCK_NB);
        } else {
            /* OFD locks belong to the open file description, and conflict with classic
             * POSIX (F_SETLK) locks the service under test may use. */
            struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = s->start, .l_len = s->length};
            r = fcntl(fd, F_OFD_SETLK, &fl);
        }
        if (r == 0)
            break;
        if (errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(msg, len, "file: cannot lock %s (%s): %s", s->target, file_kind_names[s->file_kind],
                     strerror(errno));
            close(fd);
            return -1;
        }
        if (ash_now_ns() >= deadline) {
            snprintf(msg, len, "file: %s is already locked (%s; waited %lld ms)", s->target,
                     file_kind_names[s->file_kind], (long long)ms_ceil(s->wait_ns));
            close(fd);
            return -1;
        }
        sleep_ns(10 * ASH_NS_PER_MS);
    }
    *keep = fd;
    return 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2;
    /* One line per message: the harness reads lines. */
    for (int i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    buf[n++] = '\n';
    ssize_t ignored = write(STDOUT_FILENO, buf, (size_t)n);
    (void)ignored;
}

int ash_lockhold_main(int argc, char **argv)
{
    if (argc != 2) {
        say("error: usage: __lock-holder <json-spec>");
        return 2;
    }
    json_error_t je;
    json_t *j = json_loads(argv[1], 0, &je);
    if (!j) {
        say("error: lock spec is not JSON: %s", je.text);
        return 2;
    }
    struct ash_lock_spec s;
    ash_error_t e;
    if (ash_lock_spec_from_json(j, &s, &e) < 0) {
        say("error: %s", e.msg);
        json_decref(j);
        return 2;
    }
    char msg[900] = "";
    sqlite3 *db = NULL;
    PGconn *pg = NULL;
    int fd = -1, r = -1;
    switch (s.backend) {
    case ASH_LOCK_SQLITE:
        r = take_sqlite(&s, &db, msg, sizeof msg);
        break;
    case ASH_LOCK_POSTGRES:
        r = take_postgres(&s, &pg, msg, sizeof msg);
        break;
    case ASH_LOCK_FILE:
        r = take_file(&s, &fd, msg, sizeof msg);
        break;
    }
    if (r < 0) {
        say("error: %s", msg);
        json_decref(j);
        return 1;
    }
    say("held");
    /* Keep everything open and wait for SIGKILL (revert) or the harness's death
     * (PR_SET_PDEATHSIG). Every signal that would end us releases the lock, which
     * is the point of `interrupt: kill`. */
    for (;;)
        pause();
}

/* ---- the harness side ---- */

bool ash_lockhold_running(const struct ash_lockholder *h)
{
    return h->child.pid > 0;
}

int ash_lockhold_start(const struct ash_lock_spec *s, struct ash_lockholder *h, ash_error_t *err)
{
    memset(h, 0, sizeof *h);
    h->child.pid = -1;
    h->child.pidfd = -1;
    json_t *j = ash_lock_spec_to_json(s);
    char *arg = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!arg)
        return ash_error(err, ENOMEM, "lock holder spec");
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        free(arg);
        return ash_error(err, errno, "pipe");
    }
    char verb[] = "__lock-holder";
    char *argv[] = {holder_exe, verb, arg, NULL};
    struct ash_spawn_opts o = {.argv = argv,
                               .stdin_fd = -1,
                               .stdout_fd = p[1],
                               .stderr_fd = -1,
                               .new_pgroup = true, /* Ctrl-C on the terminal must not end it: revert does */
                               .die_with_parent = true /* the lock never outlives the harness */};
    int ret = ash_spawn(&o, &h->child, err);
    close(p[1]);
    free(arg);
    if (ret < 0) {
        close(p[0]);
        h->child.pid = -1;
        return ash_error_wrap(err, "cannot start the lock holder");
    }
    char line[1024];
    size_t used = 0;
    int64_t deadline = ash_now_ns() + s->wait_ns + HOLDER_MARGIN_NS;
    bool eof = false, timeout = false;
    while (!memchr(line, '\n', used) && used < sizeof line - 1) {
        int64_t left = deadline - ash_now_ns();
        if (left <= 0) {
            timeout = true;
            break;
        }
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        ash_gil_blocking_begin(); /* the holder taking its lock: the probes see the fault begin */
        int n = poll(&pf, 1, (int)ms_ceil(left));
        ash_gil_blocking_end();
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = ash_error(err, errno, "poll");
            break;
        }
        if (n == 0)
            continue;
        ssize_t r = read(p[0], line + used, sizeof line - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            eof = true;
            break;
        }
        used += (size_t)r;
    }
    close(p[0]);
    line[used] = '\0';
    char *nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    if (ret == 0 && nl && strcmp(line, "held") == 0)
        return 0;
    /* Not held: nothing may be left running. */
    int status = 0;
    if (!eof && !(nl && strncmp(line, "error: ", 7) == 0))
        ash_pidfd_signal(h->child.pidfd, SIGKILL);
    waitpid(h->child.pid, &status, 0);
    ash_child_close(&h->child);
    h->child.pid = -1;
    if (ret < 0)
        return ret;
    if (nl && strncmp(line, "error: ", 7) == 0)
        return ash_error(err, 0, "%s", line + 7);
    if (timeout)
        return ash_error(err, ETIMEDOUT, "the lock holder did not take the lock within %lld ms",
                         (long long)ms_ceil(s->wait_ns + HOLDER_MARGIN_NS));
    char how[64];
    ash_wait_status_str(status, how, sizeof how);
    return ash_error(err, 0, "the lock holder (%s __lock-holder) %s before taking the lock%s%s", holder_exe, how,
                     used ? ": " : "", line);
}

int ash_lockhold_stop(struct ash_lockholder *h, ash_error_t *err)
{
    if (h->child.pid <= 0)
        return ash_error(err, ESRCH, "the lock holder is not running");
    if (ash_pidfd_signal(h->child.pidfd, SIGSTOP) < 0)
        return ash_error(err, errno, "cannot stop the lock holder (pid %d)", (int)h->child.pid);
    h->stopped = true;
    /* SIGSTOP is asynchronous: the fault is in effect once the kernel shows 'T'. */
    int64_t deadline = ash_now_ns() + 2 * ASH_NS_PER_S;
    for (;;) {
        char st = ash_proc_state(h->child.pid);
        if (st == 'T' || st == 't')
            return 0;
        if (st == 0 || st == 'Z')
            return ash_error(err, ESRCH, "the lock holder (pid %d) died instead of stopping", (int)h->child.pid);
        if (ash_now_ns() > deadline)
            return ash_error(err, ETIMEDOUT, "the lock holder (pid %d) did not stop", (int)h->child.pid);
        sleep_ns(ASH_NS_PER_MS / 5);
    }
}

void ash_lockhold_kill(struct ash_lockholder *h)
{
    if (h->child.pid <= 0)
        return;
    /* Our own unreaped child: the pidfd cannot name another process. SIGCONT first so
     * a stopped holder is not left in a state anything else could observe. */
    ash_pidfd_signal(h->child.pidfd, SIGCONT);
    h->killed = ash_now_ns();
    ash_pidfd_signal(h->child.pidfd, SIGKILL);
    ash_gil_blocking_begin();
    while (waitpid(h->child.pid, NULL, 0) < 0 && errno == EINTR)
        ;
    /* Taken here, not after the run lock is back: the probes may see the release
     * meanwhile, and this is its moment. */
    h->ended = ash_now_ns();
    ash_gil_blocking_end();
    ash_child_close(&h->child);
    h->child.pid = -1;
    h->stopped = false;
}

/* ---- is it free? ---- */

static int verify_sqlite(const struct ash_lock_spec *s, int64_t deadline, ash_error_t *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(s->target, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        ash_error(err, 0, "sqlite: cannot open %s to check the lock: %s", s->target,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 50);
    const char *begin = s->mode == ASH_LOCK_SQLITE_IMMEDIATE ? "BEGIN IMMEDIATE" : "BEGIN EXCLUSIVE";
    int ret;
    for (;;) {
        rc = sqlite3_exec(db, begin, NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            ret = 0;
            break;
        }
        if (rc != SQLITE_BUSY) {
            ret = ash_error(err, 0, "sqlite: cannot check the lock on %s: %s", s->target, sqlite3_errmsg(db));
            break;
        }
        if (ash_now_ns() >= deadline) {
            ret = ash_error(err, EBUSY, "sqlite: %s is still locked (%s keeps failing)", s->target, begin);
            break;
        }
    }
    sqlite3_close(db);
    return ret;
}

static int verify_postgres(const struct ash_lock_spec *s, int64_t deadline, ash_error_t *err)
{
    char msg[700], e1[512];
    char *ident = NULL, *sql = NULL;
    int ret = -1;
    PGconn *c = pg_connect(s->target, "ash-verify", deadline - ash_now_ns(), msg, sizeof msg);
    if (!c)
        return ash_error(err, 0, "cannot check the lock: %s", msg);
    if (s->advisory) {
        if (asprintf(&sql, "SELECT pg_try_advisory_lock(%lld)", s->key) < 0)
            sql = NULL;
    } else if ((ident = pg_quote_table(c, s->table, msg, sizeof msg))) {
        /* NOWAIT, retried: a waiting LOCK would queue behind the service's own
         * sessions and block them in turn. */
        if (asprintf(&sql, "LOCK TABLE %s IN %s MODE NOWAIT", ident, ash_pg_lock_mode_sql[s->mode]) < 0)
            sql = NULL;
    } else {
        ash_error(err, 0, "%s", msg);
        goto out;
    }
    if (!sql) {
        ash_error(err, ENOMEM, "lock check");
        goto out;
    }
    /* The holder's session must be gone (a backend can still be listed for a
     * moment after it released its locks): "no holder remains" includes the
     * server. Without a session to look for, a NOWAIT lock, retried, proves it. */
    if (s->token && *s->token) {
        const char *vals[] = {s->token};
        for (;;) {
            PGresult *r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1, NULL,
                                       vals, NULL, NULL, 0);
            bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
            bool gone = ok && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
            if (!ok) {
                snprintf(e1, sizeof e1, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
                trim_nl(e1);
            }
            PQclear(r);
            if (!ok) {
                ash_error(err, 0, "postgres: cannot list sessions: %s", e1);
                goto out;
            }
            if (gone)
                break;
            if (ash_now_ns() >= deadline) {
                ash_error(err, EBUSY, "postgres: the lock holder's session '%s' is still there", s->token);
                goto out;
            }
            sleep_ns(20 * ASH_NS_PER_MS);
        }
        /* Its session gone, its locks are gone: a backend releases them before
         * it leaves pg_stat_activity. Taking the lock to prove it would queue
         * (or, NOWAIT, keep failing) behind the live traffic's own locks and
         * hold that traffic up: the harness must not add an outage of its own. */
        ret = 0;
        goto out;
    }
    for (;;) {
        PGresult *r = NULL;
        char state[6] = "";
        if (s->advisory) {
            if (pg_exec(c, sql, &r, e1, sizeof e1, state) == 0) {
                bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
                PQclear(r);
                if (got) {
                    char unl[64];
                    snprintf(unl, sizeof unl, "SELECT pg_advisory_unlock(%lld)", s->key);
                    pg_exec(c, unl, NULL, e1, sizeof e1, NULL);
                    ret = 0;
                    break;
                }
                snprintf(state, sizeof state, "55P03");
            }
        } else {
            int lr = -1;
            if (pg_exec(c, "BEGIN", NULL, e1, sizeof e1, state) == 0) {
                lr = pg_exec(c, sql, NULL, e1, sizeof e1, state);
                char e2[256];
                pg_exec(c, "ROLLBACK", NULL, e2, sizeof e2, NULL);
            }
            if (lr == 0) {
                ret = 0;
                break;
            }
        }
        if (strcmp(state, "55P03") != 0) {
            ash_error(err, 0, "postgres: cannot check the lock on '%s': %s", s->advisory ? "advisory" : s->table, e1);
            break;
        }
        if (ash_now_ns() >= deadline) {
            if (s->advisory)
                ash_error(err, EBUSY, "postgres: advisory lock %lld is still held by another session", s->key);
            else
                ash_error(err, EBUSY,
                          "postgres: table '%s' is still locked (LOCK TABLE ... IN %s MODE NOWAIT keeps failing)",
                          s->table, ash_pg_lock_mode_sql[s->mode]);
            break;
        }
        sleep_ns(50 * ASH_NS_PER_MS);
    }
out:
    free(ident);
    free(sql);
    PQfinish(c);
    return ret;
}

static int verify_file(const struct ash_lock_spec *s, int64_t deadline, ash_error_t *err)
{
    int fd = open(s->target, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ash_error(err, errno, "file: cannot open %s to check the lock", s->target);
    int ret;
    for (;;) {
        bool is_free;
        if (s->file_kind == ASH_LOCK_FILE_FLOCK) {
            /* A new open file description: its flock conflicts even within one process. */
            is_free = flock(fd, LOCK_EX | LOCK_NB) == 0;
            if (is_free)
                flock(fd, LOCK_UN);
            else if (errno != EWOULDBLOCK) {
                ret = ash_error(err, errno, "file: flock check on %s", s->target);
                break;
            }
        } else {
            struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = s->start, .l_len = s->length};
            if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
                ret = ash_error(err, errno, "file: F_OFD_GETLK on %s", s->target);
                break;
            }
            is_free = fl.l_type == F_UNLCK;
        }
        if (is_free) {
            ret = 0;
            break;
        }
        if (ash_now_ns() >= deadline) {
            ret = ash_error(err, EBUSY, "file: %s is still locked (%s)", s->target, file_kind_names[s->file_kind]);
            break;
        }
        sleep_ns(10 * ASH_NS_PER_MS);
    }
    close(fd);
    return ret;
}

int ash_lockhold_verify_free(const struct ash_lock_spec *s, int64_t within_ns, ash_error_t *err)
{
    int64_t deadline = ash_now_ns() + within_ns;
    switch (s->backend) {
    case ASH_LOCK_SQLITE:
        return verify_sqlite(s, deadline, err);
    case ASH_LOCK_POSTGRES:
        return verify_postgres(s, deadline, err);
    case ASH_LOCK_FILE:
        return verify_file(s, deadline, err);
    }
    return ash_error(err, EINVAL, "unknown lock backend");
}

int ash_lockhold_pg_terminate(const char *dsn, const char *token, ash_error_t *err)
{
    char msg[700], e1[512];
    PGconn *c = pg_connect(dsn, "ash-cleanup", 5 * ASH_NS_PER_S, msg, sizeof msg);
    if (!c)
        return ash_error(err, 0, "cannot end the lock holder's session: %s", msg);
    const char *vals[] = {token};
    PGresult *r = PQexecParams(c,
                               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE application_name = $1 AND pid <> pg_backend_pid()",
                               1, NULL, vals, NULL, NULL, 0);
    int ret = 0;
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(e1, sizeof e1, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        trim_nl(e1);
        ret = ash_error(err, 0, "postgres: cannot end the lock holder's session '%s': %s", token, e1);
    }
    PQclear(r);
    /* pg_terminate_backend only signals: wait (bounded) until the session is gone,
     * so that callers can rely on "no holder session remains". */
    for (int64_t deadline = ash_now_ns() + 2 * ASH_NS_PER_S; ret == 0;) {
        r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1, NULL, vals, NULL,
                         NULL, 0);
        bool gone = r && PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
        PQclear(r);
        if (gone)
            break;
        if (ash_now_ns() >= deadline)
            ret = ash_error(err, EBUSY, "postgres: the lock holder's session '%s' did not end", token);
        else
            sleep_ns(20 * ASH_NS_PER_MS);
    }
    PQfinish(c);
    return ret;
}

/* Does /proc/PID/cmdline name a __lock-holder whose spec carries token? */
static bool cmdline_has_token(pid_t pid, const char *token)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t cap = 8192, used = 0;
    char *buf = malloc(cap + 1);
    ssize_t n;
    while (buf && (n = read(fd, buf + used, cap - used)) > 0) {
        used += (size_t)n;
        if (used == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    bool match = false;
    if (buf) {
        buf[used] = '\0';
        /* argv: exe, "__lock-holder", spec */
        char *a1 = memchr(buf, '\0', used);
        if (a1 && (size_t)(++a1 - buf) < used && strcmp(a1, "__lock-holder") == 0) {
            char *a2 = a1 + strlen(a1) + 1;
            if ((size_t)(a2 - buf) < used) {
                json_t *j = json_loads(a2, 0, NULL);
                const char *t = json_string_value(json_object_get(j, "token"));
                match = t && strcmp(t, token) == 0;
                json_decref(j);
            }
        }
    }
    free(buf);
    return match;
}

int ash_lockhold_kill_by_token(const char *token, ash_error_t *err)
{
    if (!token || !*token)
        return ash_error(err, EINVAL, "empty lock holder token");
    DIR *d = opendir("/proc");
    if (!d)
        return ash_error(err, errno, "cannot read /proc");
    int killed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid())
            continue;
        /* Open the pidfd before reading cmdline: if the process is still alive after
         * the read, the pid was not reused in between and the cmdline was its own. */
        int pfd = ash_pidfd_open((pid_t)pid);
        if (pfd < 0)
            continue;
        if (cmdline_has_token((pid_t)pid, token) && ash_pidfd_signal(pfd, 0) == 0) {
            ash_pidfd_signal(pfd, SIGCONT);
            if (ash_pidfd_signal(pfd, SIGKILL) == 0)
                killed++;
            /* Wait (bounded) until it is gone, so the lock is released when we return. */
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, 2000);
        }
        close(pfd);
    }
    closedir(d);
    return killed;
}
