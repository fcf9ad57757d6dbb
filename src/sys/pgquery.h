/* One PostgreSQL query on its own connection, driven by the event loop (libpq's
 * non-blocking API): connect, send, collect the results, call back once. */
#ifndef ASH_SYS_PGQUERY_H
#define ASH_SYS_PGQUERY_H

#include <aftershock/error.h>
#include <libpq-fe.h>

#include "sys/loop.h"

struct ash_pgq;

/* Called exactly once (unless abandoned). ok: every statement succeeded; res is the
 * last statement's result (valid only during the call; may be NULL when !ok); msg
 * the error when !ok. The query is freed after the callback returns: do not
 * abandon it from inside. */
typedef void (*ash_pgq_done_fn)(void *arg, bool ok, const PGresult *res, const char *msg);

/* Connect to dsn (its settings kept; application_name set to appname) and run sql,
 * which may hold several statements ("SET statement_timeout = 300; SELECT 1") when
 * nparams is 0; with nparams > 0 it is one statement with $1.. text parameters.
 * Returns -1 only when it cannot even start (then done is never called). */
int ash_pgq_start(ash_loop *loop, const char *dsn, const char *appname, const char *sql, int nparams,
                  const char *const *params, ash_pgq_done_fn done, void *arg, struct ash_pgq **out, ash_error_t *err);
/* The same, connecting to hostaddr (a numeric address the caller resolved without
 * blocking) in place of the DSN's host name: libpq looks a host name up with a
 * blocking getaddrinfo inside PQconnectPoll, on the loop thread. NULL: the DSN's own. */
int ash_pgq_start_at(ash_loop *loop, const char *dsn, const char *hostaddr, const char *appname, const char *sql,
                     int nparams, const char *const *params, ash_pgq_done_fn done, void *arg, struct ash_pgq **out,
                     ash_error_t *err);
/* Drop a query in flight: close its connection; done is not called. NULL is fine. */
void ash_pgq_abandon(struct ash_pgq *q);

#endif
