/* A target's network namespace in a journal record, and finding it again in `recover`. */
#include "env/target_netns.h"
#include "sys/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int ash_target_netns_record(const struct ash_target *t, json_t *rec, ash_error_t *err)
{
    struct stat sb;
    int fd = ash_target_netns_fd(t);
    if (fd < 0 || fstat(fd, &sb) < 0)
        return ash_error(err, fd < 0 ? ENOTSUP : errno, "%s has no network namespace of its own", t->name);
    json_t *id = ash_target_identity(t);
    if (!id || json_object_set_new(rec, "target", id) < 0 ||
        json_object_set_new(rec, "netns_ino", json_integer((json_int_t)sb.st_ino)) < 0)
        return ash_error(err, ENOMEM, "journal record");
    return 0;
}

int ash_target_netns_reopen(json_t *rec, int *fd, const char **why, ash_error_t *err)
{
    *fd = -1;
    *why = NULL;
    json_t *t = json_object_get(rec, "target");
    json_int_t pid = json_integer_value(json_object_get(t, "pid"));
    json_int_t start = json_integer_value(json_object_get(t, "start"));
    json_int_t ino = json_integer_value(json_object_get(rec, "netns_ino"));
    const char *name = json_string_value(json_object_get(t, "name"));
    if (pid <= 1 || start <= 0 || ino <= 0 || !name)
        return ash_error(err, EINVAL, "journal record: a target without its pid, start time or namespace");
    /* The init is the namespace's anchor: a container that stopped or restarted has a new
     * init (or none), and the namespace the record names was torn down with the old one. */
    if (ash_proc_start_time((pid_t)pid) != (uint64_t)start) {
        *why = "its init is gone (stopped or replaced): its network namespace went with it";
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (f < 0 || fstat(f, &sb) < 0) {
        int e = errno;
        if (f >= 0)
            close(f);
        if (e == ENOENT || e == ESRCH) {
            *why = "its init exited just now: its network namespace went with it";
            return 0;
        }
        return ash_error(err, e, "%s: cannot open %s", name, path);
    }
    if ((json_int_t)sb.st_ino != ino) {
        close(f);
        return ash_error(err, 0, /* the message is the whole story: no strerror suffix */
                         "%s: its init (pid %d) is in another network namespace than the one recorded (inode %lld, "
                         "now %llu); nothing touched there",
                         name, (int)pid, (long long)ino, (unsigned long long)sb.st_ino);
    }
    *fd = f;
    return 0;
}
