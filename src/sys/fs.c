/* Small filesystem helpers shared by the journal, the engine and the sandbox. */
#include "sys/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
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
