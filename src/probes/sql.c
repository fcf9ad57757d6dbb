/* Probe `sql`: one query per sample against SQLite or PostgreSQL; ok when it completes
 * without error within the probe's timeout. Nothing blocks the loop: PostgreSQL goes
 * through libpq's non-blocking API, SQLite retries a busy database from loop timers. */
#include "kinds.h"
#include "env/env.h"
#include "probes/probe_confs.h"
#include "probes/probe_resolve.h"
#include "sys/clock.h"
#include "sys/pgquery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const struct ash_field sql_fields[] = {
    {"sqlite", ASH_F_STRING, offsetof(struct ash_sql_conf, sqlite), 0,
     "SQLite database file ({run_dir}/{scenario_dir} substituted); one of sqlite or postgres"},
    {"postgres", ASH_F_STRING, offsetof(struct ash_sql_conf, postgres), 0, "libpq connection string or URI"},
    {"query", ASH_F_STRING, offsetof(struct ash_sql_conf, query), 0,
     "one statement (default: SQLite 'SELECT count(*) FROM sqlite_master', which reads the file; PostgreSQL "
     "'SELECT 1')"},
    {NULL}};

/* SQLite retries a busy database this often: the resolution of the latency it sees. */
#define SQLITE_RETRY_NS (2 * ASH_NS_PER_MS)

static int sql_validate(void *conf, const ash_node *node, const struct ash_scenario *sc, ash_error_t *err)
{
    struct ash_sql_conf *c = conf;
    if (!c->sqlite == !c->postgres)
        return ash_node_fail(node, err, "sql probe needs exactly one of 'sqlite: PATH' or 'postgres: DSN'");
    if (c->query && !*c->query) {
        ash_node q = ash_map_get(node, "query");
        return ash_node_fail(&q, err, "empty query");
    }
    return 0;
}

struct sql_sample;

struct sql_state {
    struct ash_ctx *ctx;
    char *target; /* substituted path or DSN */
    bool is_pg;
    char *query;
    /* A DSN's host *name* (not an address, not a socket directory), looked up by
     * the harness without blocking the loop (libpq would, in PQconnectPoll); the
     * first answer is kept, as the tcp probe keeps it from the harness. */
    char *pg_host, *pg_port;
    char hostaddr[INET6_ADDRSTRLEN];
    struct sql_sample *inflight; /* doubly linked, for close() */
};

struct sql_sample {
    struct sql_state *ps;
    struct sql_sample *prev, *next;
    int64_t start, deadline;
    ash_sample_done_fn done;
    void *arg;
    ash_timer *timer;
    struct ash_probe_lookup *lookup;
    char why[160]; /* a failure known at the start, delivered from the loop */
    struct ash_pgq *q;
    sqlite3 *db;
    sqlite3_stmt *stmt;
    long rows;
};

static void sample_free(struct sql_sample *s)
{
    struct sql_state *ps = s->ps;
    if (s->prev)
        s->prev->next = s->next;
    else
        ps->inflight = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->timer)
        ash_loop_cancel_timer(ps->ctx->loop, s->timer);
    if (s->lookup)
        ash_probe_lookup_cancel(s->lookup);
    ash_pgq_abandon(s->q);
    sqlite3_finalize(s->stmt);
    sqlite3_close(s->db);
    free(s);
}

static void finish(struct sql_sample *s, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(struct sql_sample *s, bool ok, const char *fmt, ...)
{
    struct ash_sample out = {.start = s->start, .end = ash_now_ns(), .ok = ok};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out.detail, sizeof out.detail, fmt, ap);
    va_end(ap);
    ash_sample_done_fn done = s->done;
    void *arg = s->arg;
    sample_free(s);
    done(arg, &out);
}

static bool is_address(const char *h)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

/* Keep the DSN's host when it is one name that libpq would look up itself; a DSN
 * libpq cannot parse is left to libpq, whose error each sample then reports.
 * -1 only when out of memory. */
static int pg_find_host(struct sql_state *ps)
{
    PQconninfoOption *opts = PQconninfoParse(ps->target, NULL);
    if (!opts)
        return 0;
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "hostaddr"))
            hostaddr = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
    }
    int r = 0;
    /* A socket directory ('/', '@'), a list of hosts (libpq's failover) and an
     * explicit hostaddr are left as they are. */
    if (host && !hostaddr && host[0] != '/' && host[0] != '@' && !strchr(host, ',') && !is_address(host) &&
        (!port || !strchr(port, ','))) {
        ps->pg_host = strdup(host);
        ps->pg_port = strdup(port ? port : "5432");
        if (!ps->pg_host || !ps->pg_port)
            r = -1;
    }
    PQconninfoFree(opts);
    return r;
}

static int sql_open(struct ash_ctx *ctx, const struct ash_probe_spec *p, void **state, ash_error_t *err)
{
    const struct ash_sql_conf *c = p->conf;
    if (p->from)
        return ash_error_class(err, ASH_ERR_USAGE, 0,
                               "probe '%s': the sql probe runs from the harness; 'from: %s' is not supported", p->name,
                               p->from);
    struct sql_state *ps = calloc(1, sizeof *ps);
    if (!ps)
        return ash_error(err, ENOMEM, "sql probe");
    ps->ctx = ctx;
    ps->is_pg = c->postgres != NULL;
    const char *sdir = ctx->scenario ? ctx->scenario->dir : NULL;
    ps->target =
        ash_env_substitute(ps->is_pg ? c->postgres : c->sqlite, sdir ? sdir : ".", ctx->run_dir ? ctx->run_dir : ".");
    const char *q = c->query ? c->query : ps->is_pg ? "SELECT 1" : "SELECT count(*) FROM sqlite_master";
    ps->query = strdup(q);
    if (!ps->target || !ps->query || (ps->is_pg && pg_find_host(ps) < 0)) {
        free(ps->target);
        free(ps->query);
        free(ps->pg_host);
        free(ps->pg_port);
        free(ps);
        return ash_error(err, ENOMEM, "sql probe");
    }
    *state = ps;
    return 0;
}

/* ---- PostgreSQL ---- */

static void pg_done(void *arg, bool ok, const PGresult *res, const char *msg)
{
    struct sql_sample *s = arg;
    s->q = NULL; /* freed by pgquery after we return */
    if (ok)
        finish(s, true, "ok, %d rows", res ? PQntuples(res) : 0);
    else
        finish(s, false, "%s", msg);
}

static int64_t sample_timeout(ash_loop *loop, int64_t now, void *data)
{
    struct sql_sample *s = data;
    s->timer = NULL; /* this timer is done */
    finish(s, false, "no answer within %lld ms", (long long)((s->deadline - s->start) / ASH_NS_PER_MS));
    return ASH_TIMER_DONE;
}

static int64_t fail_now(ash_loop *loop, int64_t now, void *data)
{
    struct sql_sample *s = data;
    s->timer = NULL; /* this timer is done */
    finish(s, false, "%s", s->why);
    return ASH_TIMER_DONE;
}

static int pg_query(struct sql_sample *s, ash_error_t *err);

/* The first answer's address, kept for every later sample; ai is freed. */
static bool keep_addr(struct sql_state *ps, struct addrinfo *ai)
{
    if (!ai || getnameinfo(ai->ai_addr, ai->ai_addrlen, ps->hostaddr, sizeof ps->hostaddr, NULL, 0, NI_NUMERICHOST))
        ps->hostaddr[0] = 0;
    if (ai)
        freeaddrinfo(ai);
    return ps->hostaddr[0] != 0;
}

static void pg_resolved(void *arg, struct addrinfo *ai, const char *why)
{
    struct sql_sample *s = arg;
    struct sql_state *ps = s->ps;
    s->lookup = NULL;
    if (!keep_addr(ps, ai)) {
        finish(s, false, "%s", why ? why : "resolve: no address");
        return;
    }
    ash_error_t err = {0};
    if (pg_query(s, &err) < 0)
        finish(s, false, "%s", err.msg);
}

/* Look the DSN's host name up first when it has one (see pg_host). */
static int sample_pg(struct sql_sample *s, ash_error_t *err)
{
    struct sql_state *ps = s->ps;
    if (!ps->pg_host || ps->hostaddr[0])
        return pg_query(s, err);
    struct addrinfo *ai = NULL;
    struct ash_probe_query q = {NULL, ps->ctx->dns, ps->pg_host, ps->pg_port, SOCK_STREAM};
    int r = ash_probe_resolve(ps->ctx->loop, &q, s->deadline, pg_resolved, s, &s->lookup, &ai, s->why, sizeof s->why);
    if (r == 1)
        return 0;
    if (r == 0) {
        if (keep_addr(ps, ai))
            return pg_query(s, err);
        snprintf(s->why, sizeof s->why, "resolve '%s': no numeric address", ps->pg_host);
    }
    /* done must come later, from the loop */
    if (!(s->timer = ash_loop_add_timer(ps->ctx->loop, ash_now_ns(), fail_now, s)))
        return ash_error(err, ENOMEM, "sql probe timer");
    return 0;
}

static int pg_query(struct sql_sample *s, ash_error_t *err)
{
    struct sql_state *ps = s->ps;
    int64_t timeout_ns = s->deadline - s->start;
    /* The server aborts the statement itself at the timeout, so a sample we give up
     * on does not leave a backend waiting on the lock (and holding a connection
     * slot) after we close the socket. */
    char *sql = NULL;
    long long ms = timeout_ns / ASH_NS_PER_MS;
    if (asprintf(&sql, "SET statement_timeout = %lld; %s", ms > 0 ? ms : 1, ps->query) < 0)
        return ash_error(err, ENOMEM, "sql probe");
    int r = ash_pgq_start_at(ps->ctx->loop, ps->target, ps->hostaddr[0] ? ps->hostaddr : NULL, "ash-probe", sql, 0,
                             NULL, pg_done, s, &s->q, err);
    free(sql);
    return r;
}

/* ---- SQLite ---- */

static int progress_check(void *data)
{
    /* Bound a long statement: SQLite calls this every N VM steps. */
    struct sql_sample *s = data;
    return ash_now_ns() > s->deadline;
}

static int64_t sqlite_step(ash_loop *loop, int64_t now, void *data)
{
    struct sql_sample *s = data;
    int rc = SQLITE_OK;
    if (!s->db) {
        rc = sqlite3_open_v2(s->ps->target, &s->db, SQLITE_OPEN_READWRITE, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_progress_handler(s->db, 1000, progress_check, s);
        } else if (rc != SQLITE_BUSY) {
            /* A sample that cannot run counts as failed (the file may be gone: that
             * is what a client would see). */
            s->timer = NULL;
            finish(s, false, "cannot open %s: %s", s->ps->target, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
            return ASH_TIMER_DONE;
        } else {
            sqlite3_close(s->db); /* opening can meet the lock too: retry below */
            s->db = NULL;
        }
    }
    /* Preparing reads the schema, so it too can find the database locked. */
    if (rc == SQLITE_OK && !s->stmt)
        rc = sqlite3_prepare_v2(s->db, s->ps->query, -1, &s->stmt, NULL);
    if (rc == SQLITE_OK && !s->stmt)
        rc = SQLITE_DONE; /* an empty statement (only a comment) */
    else if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(s->stmt)) == SQLITE_ROW)
            s->rows++;
    if (rc == SQLITE_DONE) {
        s->timer = NULL;
        finish(s, true, "ok, %ld rows", s->rows);
        return ASH_TIMER_DONE;
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        /* Busy: retry from the loop rather than in SQLite's sleeping busy handler. */
        if (s->stmt)
            sqlite3_reset(s->stmt);
        s->rows = 0;
        int64_t t = ash_now_ns();
        if (t < s->deadline)
            return t + SQLITE_RETRY_NS < s->deadline ? t + SQLITE_RETRY_NS : s->deadline;
        s->timer = NULL;
        finish(s, false, "database is locked (busy for %lld ms)", (long long)((t - s->start) / ASH_NS_PER_MS));
        return ASH_TIMER_DONE;
    }
    s->timer = NULL;
    if (rc == SQLITE_INTERRUPT)
        finish(s, false, "no answer within %lld ms", (long long)((s->deadline - s->start) / ASH_NS_PER_MS));
    else
        finish(s, false, "%s", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return ASH_TIMER_DONE;
}

static int sample_sqlite(struct sql_sample *s, ash_error_t *err)
{
    /* done must come later, from the loop: the first attempt runs on a timer due now. */
    s->timer = ash_loop_add_timer(s->ps->ctx->loop, s->start > 0 ? s->start : ash_now_ns(), sqlite_step, s);
    if (!s->timer)
        return ash_error(err, ENOMEM, "sql probe timer");
    return 0;
}

static int sql_sample_start(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state, int64_t start,
                            ash_sample_done_fn done, void *arg, ash_error_t *err)
{
    struct sql_state *ps = state;
    struct sql_sample *s = calloc(1, sizeof *s);
    if (!s)
        return ash_error(err, ENOMEM, "sql probe");
    int64_t timeout = p->timeout_ns > 0 ? p->timeout_ns : ASH_NS_PER_S;
    s->ps = ps;
    s->start = start;
    s->deadline = start + timeout;
    s->done = done;
    s->arg = arg;
    s->next = ps->inflight;
    if (s->next)
        s->next->prev = s;
    ps->inflight = s;
    int r;
    if (ps->is_pg) {
        r = sample_pg(s, err);
        if (r == 0 && !s->timer && !(s->timer = ash_loop_add_timer(ctx->loop, s->deadline, sample_timeout, s)))
            r = ash_error(err, ENOMEM, "sql probe timer");
    } else {
        r = sample_sqlite(s, err);
    }
    if (r < 0) {
        sample_free(s);
        return -1;
    }
    return 0;
}

static void sql_close(struct ash_ctx *ctx, const struct ash_probe_spec *p, void *state)
{
    struct sql_state *ps = state;
    if (!ps)
        return;
    while (ps->inflight)
        sample_free(ps->inflight);
    free(ps->target);
    free(ps->query);
    free(ps->pg_host);
    free(ps->pg_port);
    free(ps);
}

const struct ash_probe_kind ash_probe_sql = {
    .c = {.name = "sql",
          .summary = "SQL query (SQLite or PostgreSQL); ok when it completes without error in time",
          .fields = sql_fields,
          .conf_size = sizeof(struct ash_sql_conf),
          .validate = sql_validate},
    .open = sql_open,
    .sample = sql_sample_start,
    .close = sql_close,
};
