/* Replaying undo journals: used by `aftershock recover` and by the guardian. */
#ifndef ASH_ENGINE_RECOVER_H
#define ASH_ENGINE_RECOVER_H

#include <aftershock/error.h>
#include <stdio.h>

/* Undo one journal's pending records newest first. Returns the number that failed. */
int ash_recover_journal(const char *path, FILE *log, ash_error_t *err);
/* The same for STATE_DIR/NAME, relative to the state directory DFD (ash_journal_dir_open). */
int ash_recover_journal_at(int dfd, const char *path, FILE *log, ash_error_t *err);

#endif
