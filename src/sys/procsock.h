/* Which processes hold a socket (by inode), and whether they are one process's tree. */
#ifndef ASH_SYS_PROCSOCK_H
#define ASH_SYS_PROCSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pid's parent from /proc/PID/stat; 0 if gone. */
pid_t ash_proc_ppid(pid_t pid);
/* pid is root or one of its descendants (through the ppid chain). */
bool ash_proc_in_tree(pid_t pid, pid_t root);
/* Scan /proc/<pid>/fd for the sockets `inodes`: *in_tree gets a holder in
 * root's tree, *other a holder outside it (0 when none was found; a process
 * that exits during the scan is skipped). */
void ash_socket_holders(pid_t root, const uint64_t *inodes, size_t n, pid_t *in_tree, pid_t *other);
/* /proc/PID/comm into buf ("?" when gone). */
void ash_proc_comm(pid_t pid, char *buf, size_t len);

#endif
