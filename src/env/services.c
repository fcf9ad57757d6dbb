/* Service supervisor (placeholder until the real one lands in this file). */
#include "env/env.h"
#include "kinds.h"

#include <errno.h>
#include <stdlib.h>

int ash_env_new(const struct ash_env_opts *o, struct ash_env **out, ash_error_t *err) { return ash_error(err, ENOSYS, "env"); }
int ash_env_start(struct ash_env *env, ash_error_t *err) { return ash_error(err, ENOSYS, "env"); }
void ash_env_stop(struct ash_env *env) {}
void ash_env_free(struct ash_env *env) {}
struct ash_service *ash_env_service(struct ash_env *env, const char *name) { return NULL; }
const char *ash_service_name(const struct ash_service *s) { return NULL; }
pid_t ash_service_pid(const struct ash_service *s) { return -1; }
uint64_t ash_service_start_time(const struct ash_service *s) { return 0; }
bool ash_service_running(const struct ash_service *s) { return false; }
void ash_service_hold(struct ash_service *s, bool hold) {}
int ash_service_restart(struct ash_env *env, struct ash_service *s, ash_error_t *err) { return ash_error(err, ENOSYS, "env"); }
int ash_service_start(struct ash_env *env, struct ash_service *s, ash_error_t *err) { return ash_error(err, ENOSYS, "env"); }
const struct ash_undo_op ash_env_undo_ops[] = {{NULL, NULL}};
char *ash_env_substitute(const char *s, const char *scenario_dir, const char *run_dir) { return NULL; }
