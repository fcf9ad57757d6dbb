/* Small filesystem helpers shared by the journal, the engine and the sandbox. */
#include "sys/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>

int ash_mkdir_p(const char *dir, mode_t mode, ash_error_t *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return ash_error(err, ENAMETOOLONG, "cannot create %s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return ash_error(err, errno, "cannot create %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return ash_error(err, errno, "cannot create %s", buf);
    return 0;
}

int ash_read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off + 1 < len) {
        ssize_t n = read(fd, buf + off, len - 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    if (len)
        buf[off] = '\0';
    return (int)off;
}

int ash_read_line(const char *path, char *buf, size_t len)
{
    if (ash_read_text(path, buf, len) < 0)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int ash_write_text(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int e = errno;
    close(fd);
    if (n != (ssize_t)len) {
        errno = n < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

int ash_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : first;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            errno = ENOMEM;
            return -1;
        }
        ncap *= 2;
    }
    if (size && ncap > SIZE_MAX / size) {
        errno = ENOMEM;
        return -1;
    }
    void *nv = realloc(*(void **)vp, ncap * size);
    if (!nv)
        return -1;
    *(void **)vp = nv;
    *cap = ncap;
    return 0;
}

void ash_fd_table_reserve(size_t more)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    /* Descriptors are handed out lowest first: the next `more` end below this one. */
    int low = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (low < 0)
        return;
    uint64_t want = (uint64_t)low + more, cap = rl.rlim_cur == RLIM_INFINITY ? INT_MAX : rl.rlim_cur;
    if (want >= cap)
        want = cap > 0 ? cap - 1 : 0;
    if (want > (uint64_t)low) {
        int high = fcntl(low, F_DUPFD_CLOEXEC, (int)want); /* the lowest free at or above it */
        if (high >= 0)
            close(high);
    }
    close(low);
}
