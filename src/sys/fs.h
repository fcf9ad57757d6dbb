/* Small filesystem helpers shared by the journal, the engine and the sandbox. */
#ifndef ASH_SYS_FS_H
#define ASH_SYS_FS_H

#include <aftershock/error.h>
#include <sys/types.h>

/* mkdir -p: create dir and its missing parents with mode; existing is fine. */
int ash_mkdir_p(const char *dir, mode_t mode, ash_error_t *err);

#endif
