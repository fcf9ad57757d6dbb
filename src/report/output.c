/* Report outputs are built in memory and land on disk atomically (temporary file + rename). */
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ash_report_out_open(struct ash_report_out *o, ash_error_t *err)
{
    o->buf = NULL;
    o->len = 0;
    o->f = open_memstream(&o->buf, &o->len);
    if (!o->f)
        return ash_error(err, errno, "cannot allocate a buffer for the report");
    return 0;
}

void ash_report_out_discard(struct ash_report_out *o)
{
    if (o->f)
        fclose(o->f);
    free(o->buf);
    o->f = NULL;
    o->buf = NULL;
    o->len = 0;
}

int ash_report_out_commit(struct ash_report_out *o, const char *path, ash_error_t *err)
{
    /* A failed fprintf into the memory stream (ENOMEM) shows up only here. */
    bool failed = ferror(o->f) != 0;
    int ret = fclose(o->f);
    o->f = NULL;
    if (failed || ret != 0 || !o->buf) {
        ash_report_out_discard(o);
        return ash_error(err, ENOMEM, "cannot build %s in memory", path);
    }
    ret = ash_report_write_atomic(path, o->buf, o->len, err);
    ash_report_out_discard(o);
    return ret;
}

int ash_report_write_atomic(const char *path, const char *data, size_t len, ash_error_t *err)
{
    /* The temporary file sits next to the target so that rename() stays on
     * one filesystem and readers see either the old file or the new one. */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return ash_error(err, ENOMEM, "cannot write %s", path);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());

    int ret = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ash_error(err, errno, "cannot create %s", tmp);
        goto cleanup;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            ash_error(err, errno, "cannot write %s", tmp);
            goto cleanup_unlink;
        }
        off += (size_t)w;
    }
    /* The report must survive a crash right after the run, when it matters most. */
    if (fsync(fd) < 0) {
        ash_error(err, errno, "cannot flush %s to disk", tmp);
        goto cleanup_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        ash_error(err, errno, "cannot write %s", tmp);
        goto cleanup_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        ash_error(err, errno, "cannot rename %s to %s", tmp, path);
        goto cleanup_unlink;
    }
    ret = 0;
    goto cleanup;

cleanup_unlink:
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
cleanup:
    if (fd >= 0)
        close(fd);
    free(tmp);
    return ret;
}
