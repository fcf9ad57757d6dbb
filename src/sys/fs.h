/* Small filesystem helpers shared by the journal, the engine and the sandbox. */
#ifndef ASH_SYS_FS_H
#define ASH_SYS_FS_H

#include <aftershock/error.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: create dir and its missing parents with mode; existing is fine. */
int ash_mkdir_p(const char *dir, mode_t mode, ash_error_t *err);

/* Read a small file (a cgroup or /proc file) into buf, at most len-1 bytes,
 * NUL-terminated: the number of bytes read, or -1 with errno. */
int ash_read_text(const char *path, char *buf, size_t len);
/* The same, cut at the first newline (a one-value file: "max\n"): 0 or -1 with errno. */
int ash_read_line(const char *path, char *buf, size_t len);
/* Write value to an existing file in one write (a cgroup, /proc or /sys file:
 * the kernel takes it whole or refuses it). O_TRUNC is ignored by those file
 * systems, as with `echo x > file`, and keeps a regular fixture file holding
 * exactly the value. 0, or -1 with errno (EIO for a short write). */
int ash_write_text(const char *path, const char *value);

/* Make room for `need` elements of `size` bytes in *(void **)vp, whose room is
 * *cap: doubled from `first`, overflow checked. 0, or -1 with errno ENOMEM
 * (the array is unchanged). */
int ash_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first);

/* Grow this process's descriptor table now, in one step, to hold `more`
 * descriptors beyond those open (capped by RLIMIT_NOFILE). The kernel grows
 * it by doubling as descriptors are opened, and while threads share it each
 * growth waits for an RCU grace period (expand_fdtable: 10-20 ms here), so
 * call this before starting threads that will open many. Best effort: a
 * table that cannot grow now grows later, as it would have. */
void ash_fd_table_reserve(size_t more);

#endif
