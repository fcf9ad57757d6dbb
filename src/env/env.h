/* The environment a run's faults hit: the services it started (host mode and,
 * later, sandbox hosts). It starts services in depends_on order, waits until
 * they are ready, restarts them per policy, captures their output to files in
 * the run directory and hands every output line to a listener (log detectors). */
#ifndef ASH_ENV_ENV_H
#define ASH_ENV_ENV_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "scenario/scenario.h"
#include "sys/journal.h"
#include "sys/loop.h"

struct ash_journal;
struct ash_env;
struct ash_service;

struct ash_env_hooks {
    /* A line of a service's stdout/stderr, read at t. */
    void (*line)(void *arg, const char *service, const char *line, int64_t t);
    /* Timeline events: "service-started", "service-exited", "service-restarted", ... */
    void (*event)(void *arg, int64_t t, const char *event, const char *detail);
    /* Start one asynchronous check of svc->ready; call done(done_arg, ok, why)
     * exactly once, later, from the loop (why: what failed, for messages).
     * Returns -1 if it could not start (retried). NULL: a started service
     * counts as ready. */
    int (*ready)(void *ready_arg, const struct ash_service_spec *svc,
                 void (*done)(void *done_arg, bool ok, const char *why), void *done_arg);
    void *ready_arg;
    void *arg;
};

struct ash_sandbox;

struct ash_env_opts {
    ash_loop *loop;
    struct ash_sandbox *sandbox; /* hosts of sandbox mode; NULL in host mode */
    struct ash_journal *journal;
    const struct ash_scenario *scenario;
    const char *run_id; /* tags every service (ASH_RUN_ID) */
    const char *run_dir;
    struct ash_env_hooks hooks;
    /* fleet.hosts: the services of the hosts placed on this node (a fleet agent);
     * NULL: of the hosts placed on none, and host mode's (this run's machine). */
    const char *node;
};

int ash_env_new(const struct ash_env_opts *o, struct ash_env **out, ash_error_t *err);
/* The order services start in (dependencies first): order[k] indexes specs. What
 * ash_env_start follows; `aftershock plan` shows it. */
int ash_env_order(const struct ash_service_spec *const *specs, size_t n, size_t *order, ash_error_t *err);
/* Start every service in dependency order and wait for each to be ready (runs the loop). */
int ash_env_start(struct ash_env *env, ash_error_t *err);
/* Stop every service (reverse dependency order), reap, and mark journal records done. */
void ash_env_stop(struct ash_env *env);
void ash_env_free(struct ash_env *env);
/* Every service started is still running and none has exited since it was
 * started (a restart is an exit too): else -1 with "service 'api' exited
 * (exited 1) at 144 ms; last output: ...". The steady state asks this: a
 * service that died before the fault phase is not a healthy system. */
int ash_env_check_alive(struct ash_env *env, ash_error_t *err);

struct ash_service *ash_env_service(struct ash_env *env, const char *name);
const char *ash_service_name(const struct ash_service *s);
const char *ash_service_host(const struct ash_service *s); /* its sandbox host; NULL in host mode */
/* The i-th service of the run (scenario order), NULL past the last. */
struct ash_service *ash_env_service_at(struct ash_env *env, size_t i);
pid_t ash_service_pid(const struct ash_service *s); /* -1 when not running */
uint64_t ash_service_start_time(const struct ash_service *s);
bool ash_service_running(const struct ash_service *s);
/* The seccomp listener fd of a service started under the launcher (spec->seccomp), else -1. */
int ash_service_notify_fd(const struct ash_service *s);
/* Suspend automatic restarts (a fault that kills a service on purpose decides itself). */
void ash_service_hold(struct ash_service *s, bool hold);
/* Stop (SIGTERM, then SIGKILL) and start again; waits for ready. */
int ash_service_restart(struct ash_env *env, struct ash_service *s, ash_error_t *err);
/* Start a service that is not running (after a kill fault); waits for ready. */
int ash_service_start(struct ash_env *env, struct ash_service *s, ash_error_t *err);

/* Host crash support: forget a host's services (their processes died with the
 * host; no automatic restart) and start them again in an order:
 * 0 dependency, 1 reversed, 2 shuffled. */
void ash_env_mark_host_down(struct ash_env *env, const char *host);
int ash_env_start_host_services(struct ash_env *env, const char *host, int order, ash_error_t *err);

/* Undo ops for `recover`: services a dead run left running. */
extern const struct ash_undo_op ash_env_undo_ops[];

/* Substitute {scenario_dir}, {run_dir} and {services_dir} (the demo services'
 * build directory), and whatever the run defined (ash_env_define: {run_id},
 * {webhook_url}, ...), in s (malloc'd result). */
char *ash_env_substitute(const char *s, const char *scenario_dir, const char *run_dir);
/* The same over a command: a NULL-terminated malloc'd argv (free with ash_argv_free), NULL on ENOMEM. */
/* {name} stands for value in every substitution from now on (process-wide: one
 * run at a time); -1 on ENOMEM or a full table. */
int ash_env_define(const char *name, const char *value);
/* Forget every definition (the end of a run). */
void ash_env_undefine_all(void);
char **ash_env_argv(const struct ash_strlist *cmd, const char *scenario_dir, const char *run_dir);
void ash_argv_free(char **argv);

#endif
