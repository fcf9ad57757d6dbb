/* A target's network namespace in a journal record: what `recover` needs to find the
 * same namespace again after the harness died, and to refuse a different one. */
#ifndef ASH_ENV_TARGET_NETNS_H
#define ASH_ENV_TARGET_NETNS_H

#include "env/target.h"

#include <aftershock/error.h>
#include <jansson.h>

/* Add to rec {"target": identity, "netns_ino": inode of its namespace}. The target must
 * have a namespace of its own (ash_target_netns_fd >= 0). */
int ash_target_netns_record(const struct ash_target *t, json_t *rec, ash_error_t *err);

/* The namespace rec's target had, opened again through its init (pid + start time, then
 * the namespace's inode compared with the record's). *fd: an open fd, or -1 when the
 * target is gone or was replaced (a restarted container has a new namespace: its old one
 * went with everything placed in it, so there is nothing to undo; *why says which).
 * Fails (-1, err) when the record is malformed or the init now sits in another namespace
 * than the one recorded (then nothing is touched). */
int ash_target_netns_reopen(json_t *rec, int *fd, const char **why, ash_error_t *err);

#endif
