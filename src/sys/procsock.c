/* Socket ownership from /proc: /proc/PID/fd/N is a link "socket:[INODE]" for
 * a socket, and INODE is what sock_diag reports for a listener. A whole-/proc
 * scan costs a few ms; it runs only for readiness checks. */
#include "sys/procsock.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pid_t ash_proc_ppid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: the fields start after the last ')'. */
    const char *p = strrchr(buf, ')');
    int ppid = 0;
    char state;
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
        return 0;
    return (pid_t)ppid;
}

bool ash_proc_in_tree(pid_t pid, pid_t root)
{
    for (int depth = 0; pid > 1 && depth < 4096; depth++) {
        if (pid == root)
            return true;
        pid = ash_proc_ppid(pid);
    }
    return pid == root;
}

static bool holds(pid_t pid, const uint64_t *inodes, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char link[64];
        ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
        if (len <= 8 || strncmp(link, "socket:[", 8) != 0)
            continue;
        link[len] = '\0';
        uint64_t ino = strtoull(link + 8, NULL, 10);
        for (size_t i = 0; i < n && !found; i++)
            found = inodes[i] == ino;
    }
    closedir(d);
    return found;
}

void ash_socket_holders(pid_t root, const uint64_t *inodes, size_t n, pid_t *in_tree, pid_t *other)
{
    *in_tree = *other = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && !*in_tree) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || !holds((pid_t)pid, inodes, n))
            continue;
        if (root > 0 && ash_proc_in_tree((pid_t)pid, root))
            *in_tree = (pid_t)pid;
        else if (!*other)
            *other = (pid_t)pid;
    }
    closedir(d);
}

void ash_proc_comm(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    snprintf(buf, len, "?");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0) {
        snprintf(buf, len, "?");
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}
