/* One PostgreSQL query on the event loop: PQconnectStart/PQconnectPoll, PQsendQuery,
 * PQconsumeInput, all driven by readiness of libpq's socket, so nothing blocks. */
#include "sys/pgquery.h"
#include "sys/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ash_pgq {
    ash_loop *loop;
    PGconn *conn;
    int fd; /* registered with the loop, -1 if none */
    bool connecting;
    char *sql;
    int nparams;
    char **params;
    PGresult *last;
    char *errmsg;
    bool failed;
    ash_timer *later; /* reports a connection that failed at once, from the loop */
    ash_pgq_done_fn done;
    void *arg;
};

static void on_io(ash_loop *loop, int fd, uint32_t events, void *data);

static void pgq_free(struct ash_pgq *q)
{
    if (q->later)
        ash_loop_cancel_timer(q->loop, q->later);
    if (q->fd >= 0)
        ash_loop_del_fd(q->loop, q->fd);
    PQclear(q->last);
    if (q->conn)
        PQfinish(q->conn);
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q->errmsg);
    free(q);
}

void ash_pgq_abandon(struct ash_pgq *q)
{
    if (q)
        pgq_free(q);
}

static void finish(struct ash_pgq *q)
{
    /* Stop watching before the callback: it may start new queries whose sockets
     * reuse this number once we PQfinish. */
    if (q->fd >= 0)
        ash_loop_del_fd(q->loop, q->fd);
    q->fd = -1;
    bool ok = !q->failed;
    q->done(q->arg, ok, ok ? q->last : NULL, ok ? NULL : q->errmsg ? q->errmsg : "out of memory");
    pgq_free(q);
}

static void set_error(struct ash_pgq *q, const char *msg)
{
    if (q->failed)
        return; /* the first error is the cause */
    q->failed = true;
    q->errmsg = strdup(msg && *msg ? msg : "unknown PostgreSQL error");
    if (q->errmsg) {
        size_t n = strlen(q->errmsg);
        while (n && (q->errmsg[n - 1] == '\n' || q->errmsg[n - 1] == ' '))
            q->errmsg[--n] = '\0';
    }
}

static void fail(struct ash_pgq *q, const char *msg)
{
    set_error(q, msg);
    finish(q);
}

/* (Re)register libpq's socket: during connection it may change between attempts
 * (several hosts, SSL retry), so drop the old registration first. */
static int watch(struct ash_pgq *q, uint32_t events)
{
    int fd = PQsocket(q->conn);
    /* Same number may still be a new socket (the old one closed, its epoll entry
     * gone with it): when MOD fails, register afresh. */
    if (fd == q->fd && fd >= 0 && ash_loop_mod_fd(q->loop, fd, events, NULL) == 0)
        return 0;
    if (q->fd >= 0)
        ash_loop_del_fd(q->loop, q->fd);
    q->fd = -1;
    if (fd < 0 || ash_loop_add_fd(q->loop, fd, events, on_io, q, NULL) < 0)
        return -1;
    q->fd = fd;
    return 0;
}

static void flush(struct ash_pgq *q)
{
    int r = PQflush(q->conn);
    if (r < 0)
        fail(q, PQerrorMessage(q->conn));
    else if (watch(q, r == 1 ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0)
        fail(q, "cannot watch the PostgreSQL socket");
}

static void send_query(struct ash_pgq *q)
{
    q->connecting = false;
    PQsetNoticeProcessor(q->conn, NULL, NULL);
    if (PQsetnonblocking(q->conn, 1) < 0) {
        fail(q, PQerrorMessage(q->conn));
        return;
    }
    int r = q->nparams
                ? PQsendQueryParams(q->conn, q->sql, q->nparams, NULL, (const char *const *)q->params, NULL, NULL, 0)
                : PQsendQuery(q->conn, q->sql);
    if (!r) {
        fail(q, PQerrorMessage(q->conn));
        return;
    }
    flush(q);
}

static void step_connect(struct ash_pgq *q)
{
    switch (PQconnectPoll(q->conn)) {
    case PGRES_POLLING_READING:
        if (watch(q, EPOLLIN) < 0)
            fail(q, "cannot watch the PostgreSQL socket");
        break;
    case PGRES_POLLING_WRITING:
        if (watch(q, EPOLLOUT) < 0)
            fail(q, "cannot watch the PostgreSQL socket");
        break;
    case PGRES_POLLING_OK:
        send_query(q);
        break;
    case PGRES_POLLING_FAILED:
    default:
        fail(q, PQerrorMessage(q->conn));
        break;
    }
}

static void read_results(struct ash_pgq *q)
{
    if (!PQconsumeInput(q->conn)) {
        fail(q, PQerrorMessage(q->conn));
        return;
    }
    while (!PQisBusy(q->conn)) {
        PGresult *r = PQgetResult(q->conn);
        if (!r) {
            finish(q);
            return;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            set_error(q, PQresultErrorMessage(r));
            PQclear(r);
        } else {
            PQclear(q->last);
            q->last = r;
        }
    }
}

static void on_io(ash_loop *loop, int fd, uint32_t events, void *data)
{
    struct ash_pgq *q = data;
    if (q->connecting) {
        step_connect(q);
        return;
    }
    if (events & EPOLLOUT) {
        int r = PQflush(q->conn);
        if (r < 0) {
            fail(q, PQerrorMessage(q->conn));
            return;
        }
        if (r == 0 && watch(q, EPOLLIN) < 0) {
            fail(q, "cannot watch the PostgreSQL socket");
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read_results(q);
}

static int64_t fail_later(ash_loop *loop, int64_t now, void *data)
{
    struct ash_pgq *q = data;
    q->later = NULL; /* done: the dispatcher frees it */
    fail(q, PQerrorMessage(q->conn));
    return ASH_TIMER_DONE;
}

int ash_pgq_start(ash_loop *loop, const char *dsn, const char *appname, const char *sql, int nparams,
                  const char *const *params, ash_pgq_done_fn done, void *arg, struct ash_pgq **out, ash_error_t *err)
{
    return ash_pgq_start_at(loop, dsn, NULL, appname, sql, nparams, params, done, arg, out, err);
}

int ash_pgq_start_at(ash_loop *loop, const char *dsn, const char *hostaddr, const char *appname, const char *sql,
                     int nparams, const char *const *params, ash_pgq_done_fn done, void *arg, struct ash_pgq **out,
                     ash_error_t *err)
{
    struct ash_pgq *q = calloc(1, sizeof *q);
    if (!q)
        return ash_error(err, ENOMEM, "postgres query");
    q->loop = loop;
    q->fd = -1;
    q->done = done;
    q->arg = arg;
    q->connecting = true;
    if (!(q->sql = strdup(sql)))
        goto oom;
    if (nparams > 0) {
        if (!(q->params = calloc((size_t)nparams, sizeof *q->params)))
            goto oom;
        q->nparams = nparams;
        for (int i = 0; i < nparams; i++)
            if (params[i] && !(q->params[i] = strdup(params[i])))
                goto oom;
    }
    /* Later keys override what the expanded DSN set (libpq processes them in order). */
    const char *keys[] = {"dbname", "application_name", hostaddr ? "hostaddr" : NULL, NULL};
    const char *vals[] = {dsn, appname, hostaddr, NULL};
    q->conn = PQconnectStartParams(keys, vals, 1);
    if (!q->conn)
        goto oom;
    if (PQstatus(q->conn) == CONNECTION_BAD) {
        /* Refused at once (no server on that socket): a result like any other,
         * delivered later from the loop as the contract says. */
        if (!(q->later = ash_loop_add_timer(loop, ash_now_ns(), fail_later, q)))
            goto oom;
        *out = q;
        return 0;
    }
    /* libpq's contract: start as if PQconnectPoll had said PGRES_POLLING_WRITING. */
    if (watch(q, EPOLLOUT) < 0) {
        ash_error(err, 0, "postgres: cannot watch the connection socket");
        pgq_free(q);
        return -1;
    }
    *out = q;
    return 0;
oom:
    pgq_free(q);
    return ash_error(err, ENOMEM, "postgres query");
}
