/* Report outputs land on disk atomically: written to a temporary file beside the target, then renamed. */
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ash_report_out_open(struct ash_report_out *o, const char *path, ash_error_t *err)
{
    o->f = NULL;
    if (ash_report_tmp_open(&o->t, path, err) < 0)
        return -1;
    o->f = fdopen(o->t.fd, "w");
    if (!o->f) {
        ash_error(err, errno, "cannot write %s", o->t.tmp);
        ash_report_tmp_discard(&o->t);
        return -1;
    }
    o->t.fd = -1; /* the stream owns it now */
    return 0;
}

void ash_report_out_discard(struct ash_report_out *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    ash_report_tmp_discard(&o->t);
}

int ash_report_out_commit(struct ash_report_out *o, ash_error_t *err)
{
    /* A failed fprintf (disk full) shows up only here. */
    if (fflush(o->f) != 0 || ferror(o->f)) {
        ash_error(err, errno ? errno : EIO, "cannot write %s", o->t.tmp);
        ash_report_out_discard(o);
        return -1;
    }
    /* The commit fsyncs and closes the descriptor: take it back from the stream. */
    o->t.fd = dup(fileno(o->f));
    int saved = errno;
    fclose(o->f);
    o->f = NULL;
    if (o->t.fd < 0) {
        ash_error(err, saved, "cannot write %s", o->t.tmp);
        ash_report_tmp_discard(&o->t);
        return -1;
    }
    return ash_report_tmp_commit(&o->t, err);
}

int ash_report_tmp_open(struct ash_report_tmp *t, const char *path, ash_error_t *err)
{
    /* The temporary file sits next to the target so that rename() stays on
     * one filesystem and readers see either the old file or the new one. */
    t->path = path;
    t->fd = -1;
    size_t plen = strlen(path);
    t->tmp = malloc(plen + 32);
    if (!t->tmp)
        return ash_error(err, ENOMEM, "cannot write %s", path);
    snprintf(t->tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t->fd < 0) {
        ash_error(err, errno, "cannot create %s", t->tmp);
        free(t->tmp);
        t->tmp = NULL;
        return -1;
    }
    return 0;
}

int ash_report_tmp_write(struct ash_report_tmp *t, const char *data, size_t len, ash_error_t *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(t->fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ash_error(err, errno, "cannot write %s", t->tmp);
        }
        off += (size_t)w;
    }
    return 0;
}

void ash_report_tmp_discard(struct ash_report_tmp *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    if (t->tmp)
        unlink(t->tmp);
    free(t->tmp);
    t->tmp = NULL;
}

int ash_report_tmp_commit(struct ash_report_tmp *t, ash_error_t *err)
{
    /* The report must survive a crash right after the run, when it matters most. */
    if (fsync(t->fd) < 0) {
        ash_error(err, errno, "cannot flush %s to disk", t->tmp);
        goto fail;
    }
    int fd = t->fd;
    t->fd = -1;
    if (close(fd) < 0) {
        ash_error(err, errno, "cannot write %s", t->tmp);
        goto fail;
    }
    if (rename(t->tmp, t->path) < 0) {
        ash_error(err, errno, "cannot rename %s to %s", t->tmp, t->path);
        goto fail;
    }
    free(t->tmp);
    t->tmp = NULL;
    return 0;
fail:
    ash_report_tmp_discard(t);
    return -1;
}

int ash_report_write_atomic(const char *path, const char *data, size_t len, ash_error_t *err)
{
    struct ash_report_tmp t;
    if (ash_report_tmp_open(&t, path, err) < 0)
        return -1;
    if (ash_report_tmp_write(&t, data, len, err) < 0) {
        ash_report_tmp_discard(&t);
        return -1;
    }
    return ash_report_tmp_commit(&t, err);
}
