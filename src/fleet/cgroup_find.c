/* A container's own cgroup by its id (cgroup_find.h). */
#include "fleet/cgroup_find.h"
#include "sys/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Deep enough for docker under a nested daemon's slice, bounded so a walk stays short. */
#define FIND_DEPTH 8

/* Its own directory: the id whole, or with the engine's prefix and suffix. */
static bool names_id(const char *name, const char *id)
{
    const char *at = strstr(name, id);
    if (!at)
        return false;
    const char *rest = at + strlen(id);
    return (rest[0] == '\0' || strcmp(rest, ".scope") == 0) &&
           (at == name || strncmp(name, "docker-", 7) == 0 || strncmp(name, "libpod-", 7) == 0);
}

/* Depth-first below dir (fd), its path so far in rel. 1: found, 0: not here. */
static int walk(int fd, const char *id, char *rel, size_t len, size_t at, int depth)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        int n = snprintf(rel + at, len - at, "%s%s", at ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= len - at)
            continue;
        if (names_id(e->d_name, id)) {
            found = 1;
            break;
        }
        int sub = depth < FIND_DEPTH ? openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (sub >= 0)
            found = walk(sub, id, rel, len, at + (size_t)n, depth + 1);
    }
    if (!found)
        rel[at] = '\0';
    closedir(d);
    return found;
}

int ash_cgroup_find_container(const char *root, const char *id, char *rel, size_t len, ash_error_t *err)
{
    struct ash_cgroup_sys sys;
    if (strlen(id) < 12 || strspn(id, "0123456789abcdef") != strlen(id))
        return ash_error(err, EINVAL, "'%s' is not a container id", id);
    if (ash_cgroup_detect(root, &sys, err) < 0)
        return -1;
    const char *tops[] = {sys.v2, sys.freezer};
    for (size_t i = 0; i < 2; i++) {
        if (!tops[i][0])
            continue;
        int fd = open(tops[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        rel[0] = '\0';
        if (fd >= 0 && walk(fd, id, rel, len, 0, 0))
            return 0;
    }
    return ash_error(err, ENOENT, "no cgroup of container %.12s under %s%s%s", id, sys.v2[0] ? sys.v2 : "",
                     sys.v2[0] && sys.freezer[0] ? " or " : "", sys.freezer);
}
