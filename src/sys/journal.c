/* The undo journal: JSON Lines, fsync'd per record, replayed newest first. */
#include "sys/fs.h"
#include "sys/journal.h"
#include "sys/gil.h"
#include "sys/clock.h"
#include "sys/proc.h"
#include "sys/torture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ash_journal {
    int fd;
    int dfd; /* the state directory, opened once: every later step is relative to it */
    char path[4096];
    uint64_t next_id;
    size_t pending;
    char done_failed[ASH_ERROR_MSG_MAX]; /* the last done mark that could not be written */
};

/* What to do about a state directory that cannot take the journal: said once, on
 * every such error, because "Permission denied" alone does not say there is a flag. */
#define STATE_DIR_HINT                                                                                                 \
    "the state directory holds the undo journal: give a writable private one with --state-dir DIR "                    \
    "(e.g. --state-dir \"$(mktemp -d)\")"

/* The state directory failed us: the machine's problem (exit 3), with what to do about it. */
static int state_dir_error(ash_error_t *err)
{
    if (!err)
        return -1;
    char msg[ASH_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s (%s)", err->msg, STATE_DIR_HINT);
    memcpy(err->msg, msg, sizeof msg);
    err->klass = ASH_ERR_ENVIRONMENT;
    return -1;
}

/* Append records (JSON Lines, one per object) in one write, then fdatasync once. */
static int write_lines(int fd, json_t *const *objs, size_t n, const char *path, ash_error_t *err)
{
    char *buf = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(objs[i], JSON_COMPACT);
        char *nb = s ? realloc(buf, len + strlen(s) + 1) : NULL;
        if (!nb) {
            free(s);
            free(buf);
            return ash_error(err, ENOMEM, "journal: cannot encode record");
        }
        buf = nb;
        size_t sl = strlen(s);
        memcpy(buf + len, s, sl);
        buf[len + sl] = '\n';
        len += sl + 1;
        free(s);
    }
    /* A short write is not the error itself (a full disk takes the bytes that fit and
     * says ENOSPC only on the next call): write on until the kernel names the cause. */
    off_t start = lseek(fd, 0, SEEK_END);
    size_t off = 0;
    int e = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : ENOSPC;
            break;
        }
        off += (size_t)w;
    }
    free(buf);
    if (e) {
        /* Take the torn lines back: left there, the next record would be glued to one and
         * both would be unreadable (a lost undo, or a lost done mark). */
        if (off > 0 && start >= 0)
            (void)!ftruncate(fd, start);
        return ash_error(err, e, "journal %s: write", path);
    }
    /* The undo must be on disk before the change it undoes is made. The wait lets go
     * of the run lock (sys/gil.h): the lines are written whole already, another
     * thread's record can only follow them, and the caller makes its change after. */
    ash_gil_blocking_begin();
    int synced = fdatasync(fd);
    int se = errno;
    ash_gil_blocking_end();
    if (synced < 0)
        return ash_error(err, se, "journal %s: fdatasync", path);
    return 0;
}

static int write_line(int fd, json_t *obj, const char *path, ash_error_t *err)
{
    return write_lines(fd, &obj, 1, path, err);
}

/* Journals are instructions that recover and the guardian carry out as root: anyone who can
 * write one into the state directory can make root run commands and delete trees. So the
 * directory must be a real directory (not a symlink) owned by us and writable by nobody else,
 * and each journal a regular file we own that nobody else can write. */
static int check_private(const struct stat *st, const char *what, const char *path, ash_error_t *err)
{
    if (st->st_uid != geteuid())
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM,
                               "refusing %s %s: owned by uid %u, not by the running user (uid %u); "
                               "use a private --state-dir (mode 0700, owned by you)",
                               what, path, (unsigned)st->st_uid, (unsigned)geteuid());
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, EPERM,
                               "refusing %s %s: writable by group or others (mode %04o); "
                               "use a private --state-dir (mode 0700, owned by you)",
                               what, path, (unsigned)(st->st_mode & 07777));
    return 0;
}

/* The last component of PATH: what the *at() calls name relative to the state directory. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int ash_journal_dir_open(const char *state_dir, ash_error_t *err)
{
    /* Opened once, without following a symlink in its place, and judged by what was opened
     * (fstat), not by a path a writable parent could swap between a check and a use. */
    int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        if (e == ELOOP || e == ENOTDIR)
            return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTDIR,
                                   "refusing state directory %s: not a directory (a symlink is refused too)",
                                   state_dir);
        ash_error(err, e, "cannot open state directory %s", state_dir);
        return state_dir_error(err);
    }
    struct stat st;
    if (fstat(dfd, &st) < 0) {
        int e = errno;
        close(dfd);
        ash_error(err, e, "cannot inspect state directory %s", state_dir);
        return state_dir_error(err);
    }
    if (!S_ISDIR(st.st_mode)) {
        close(dfd);
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTDIR, "refusing state directory %s: not a directory",
                               state_dir);
    }
    if (check_private(&st, "state directory", state_dir, err) < 0) {
        close(dfd);
        return -1;
    }
    return dfd;
}

int ash_journal_check_state_dir(const char *state_dir, ash_error_t *err)
{
    int dfd = ash_journal_dir_open(state_dir, err);
    if (dfd < 0)
        return -1;
    close(dfd);
    return 0;
}

/* Open the state directory holding the journal at PATH (checked as above). */
static int journal_dir_open(const char *path, ash_error_t *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ash_journal_dir_open(".", err);
    char dir[4096];
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof dir)
        return ash_error(err, ENAMETOOLONG, "journal %s", path);
    memcpy(dir, path, len);
    dir[len] = '\0';
    return ash_journal_dir_open(dir, err);
}

int ash_journal_open(const char *state_dir, const char *run_id, struct ash_journal **out, ash_error_t *err)
{
    return ash_journal_open_committed(state_dir, run_id, NULL, out, err);
}

int ash_journal_open_committed(const char *state_dir, const char *run_id, json_t *commit, struct ash_journal **out,
                               ash_error_t *err)
{
    /* Every way the state directory can fail us here (not root, read-only, full, not
     * ours) is the machine's, not the scenario's: exit 3, with what to do about it. */
    if (ash_mkdir_p(state_dir, 0700, err) < 0)
        return state_dir_error(err);
    int dfd = ash_journal_dir_open(state_dir, err);
    if (dfd < 0)
        return -1;
    struct ash_journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(dfd);
        return ash_error(err, ENOMEM, "journal");
    }
    j->dfd = dfd;
    snprintf(j->path, sizeof j->path, "%s/%s.journal", state_dir, run_id);
    j->fd = openat(dfd, base_name(j->path), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        int e = errno;
        close(dfd);
        free(j);
        ash_error(err, e, "cannot create journal %s/%s.journal", state_dir, run_id);
        return state_dir_error(err);
    }
    j->next_id = 1;
    char created[40];
    ash_format_iso8601(ash_wall_ns(), created, sizeof created);
    json_t *hdr = json_pack("{s:i, s:s, s:i, s:I, s:s}", "journal", 1, "run", run_id, "pid", (int)getpid(), "pid_start",
                            (json_int_t)ash_proc_start_time(getpid()), "created", created);
    if (hdr && commit && json_array_size(commit) > 0)
        json_object_set(hdr, "commit", commit);
    int ret = hdr ? write_line(j->fd, hdr, j->path, err) : ash_error(err, ENOMEM, "journal");
    json_decref(hdr);
    if (ret < 0) {
        /* Nothing is harmed yet: a state directory that cannot take even the header
         * (full, quota) is the environment's. */
        if (err && err->code != ENOMEM)
            state_dir_error(err);
        close(j->fd);
        unlinkat(j->dfd, base_name(j->path), 0);
        close(j->dfd);
        free(j);
        return -1;
    }
    *out = j;
    return 0;
}

int ash_journal_append(struct ash_journal *j, const char *op, json_t *data, uint64_t *id, ash_error_t *err)
{
    json_t *rec = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)j->next_id, "op", op, "data", data);
    if (!rec)
        return ash_error(err, ENOMEM, "journal: cannot build record");
    int ret = write_line(j->fd, rec, j->path, err);
    json_decref(rec);
    if (ret < 0)
        return -1;
    if (id)
        *id = j->next_id;
    ash_torture_journal_appended(op, j->next_id);
    j->next_id++;
    j->pending++;
    return 0;
}

int ash_journal_append_many(struct ash_journal *j, const char *const *ops, json_t *const *data, size_t n, uint64_t *ids,
                            ash_error_t *err)
{
    json_t **recs = calloc(n ? n : 1, sizeof *recs);
    int ret = recs ? 0 : ash_error(err, ENOMEM, "journal: cannot build records");
    for (size_t i = 0; ret == 0 && i < n; i++) {
        recs[i] = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)(j->next_id + i), "op", ops[i], "data", data[i]);
        if (!recs[i])
            ret = ash_error(err, ENOMEM, "journal: cannot build record");
    }
    if (ret == 0)
        ret = write_lines(j->fd, recs, n, j->path, err);
    for (size_t i = 0; recs && i < n; i++)
        json_decref(recs[i]);
    free(recs);
    if (ret < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ids[i] = j->next_id;
        ash_torture_journal_appended(ops[i], j->next_id);
        j->next_id++;
        j->pending++;
    }
    return 0;
}

int ash_journal_done_many(struct ash_journal *j, const uint64_t *ids, size_t n, ash_error_t *err)
{
    json_t **recs = calloc(n ? n : 1, sizeof *recs);
    ash_error_t e = {0};
    int ret = recs ? 0 : ash_error(&e, ENOMEM, "journal: cannot build done marks");
    for (size_t i = 0; ret == 0 && i < n; i++) {
        ash_torture_journal_done(ids[i]);
        if (!(recs[i] = json_pack("{s:I}", "done", (json_int_t)ids[i])))
            ret = ash_error(&e, ENOMEM, "journal: cannot build done mark");
    }
    if (ret == 0)
        ret = write_lines(j->fd, recs, n, j->path, &e);
    for (size_t i = 0; recs && i < n; i++)
        json_decref(recs[i]);
    free(recs);
    if (ret == 0)
        j->pending = j->pending > n ? j->pending - n : 0;
    if (ret < 0) {
        snprintf(j->done_failed, sizeof j->done_failed, "%s", e.msg);
        if (err)
            *err = e;
    }
    return ret;
}

int ash_journal_done(struct ash_journal *j, uint64_t id, ash_error_t *err)
{
    return ash_journal_done_many(j, &id, 1, err);
}

bool ash_journal_take_done_failure(struct ash_journal *j, char *msg, size_t len)
{
    if (!j || !j->done_failed[0])
        return false;
    snprintf(msg, len, "%s", j->done_failed);
    j->done_failed[0] = '\0';
    return true;
}

size_t ash_journal_pending(const struct ash_journal *j)
{
    return j->pending;
}

const char *ash_journal_path(const struct ash_journal *j)
{
    return j->path;
}

int ash_journal_dir_fd(const struct ash_journal *j)
{
    return j->dfd;
}

void ash_journal_close(struct ash_journal *j, bool remove_if_clean)
{
    if (!j)
        return;
    close(j->fd);
    if (remove_if_clean && j->pending == 0)
        unlinkat(j->dfd, base_name(j->path), 0);
    close(j->dfd);
    free(j);
}

/* ---- reading ---- */

struct record {
    uint64_t id;
    char *op;
    json_t *data;
    bool done;
    bool committed;
};

struct parsed {
    json_t *header;
    struct record *recs;
    size_t n;
};

static void parsed_free(struct parsed *p)
{
    json_decref(p->header);
    for (size_t i = 0; i < p->n; i++) {
        free(p->recs[i].op);
        json_decref(p->recs[i].data);
    }
    free(p->recs);
}

/* The header lists whole records rather than digests of them: they are few and small
 * (the revert commands of exec faults), and an exact comparison needs no hash library. */
static bool header_commits(json_t *header, const char *op, json_t *data)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(header, "commit"), i, c)
    {
        const char *cop = json_string_value(json_object_get(c, "op"));
        if (cop && strcmp(cop, op) == 0 && json_equal(json_object_get(c, "data"), data))
            return true;
    }
    return false;
}

static int parse_file(int dfd, const char *path, struct parsed *p, ash_error_t *err)
{
    memset(p, 0, sizeof *p);
    int fd = openat(dfd, base_name(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ash_error(err, errno, "cannot open journal %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ash_error(err, e, "cannot inspect journal %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ash_error(err, EINVAL, "refusing journal %s: not a regular file", path);
    }
    if (check_private(&st, "journal", path, err) < 0) {
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "re");
    if (!f) {
        int e = errno;
        close(fd);
        return ash_error(err, e, "cannot open journal %s", path);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t jerr;
        json_t *obj = json_loadb(line, (size_t)len, 0, &jerr);
        if (!obj || !json_is_object(obj)) {
            /* A torn last line from a crash mid-write: its change was never made. */
            json_decref(obj);
            continue;
        }
        if (json_object_get(obj, "journal")) {
            json_decref(p->header);
            p->header = obj;
            continue;
        }
        json_t *done = json_object_get(obj, "done");
        if (done) {
            uint64_t id = (uint64_t)json_integer_value(done);
            for (size_t i = 0; i < p->n; i++)
                if (p->recs[i].id == id)
                    p->recs[i].done = true;
            json_decref(obj);
            continue;
        }
        const char *op = json_string_value(json_object_get(obj, "op"));
        json_t *data = json_object_get(obj, "data");
        if (op && data) {
            struct record *r = realloc(p->recs, (p->n + 1) * sizeof *r);
            if (!r) {
                json_decref(obj);
                break;
            }
            p->recs = r;
            p->recs[p->n++] = (struct record){.id = (uint64_t)json_integer_value(json_object_get(obj, "id")),
                                              .op = strdup(op),
                                              .data = json_incref(data)};
        }
        json_decref(obj);
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < p->n; i++)
        p->recs[i].committed = p->header && header_commits(p->header, p->recs[i].op, p->recs[i].data);
    return 0;
}

int ash_journal_inspect(const char *path, struct ash_journal_info *info, ash_error_t *err)
{
    int dfd = journal_dir_open(path, err);
    if (dfd < 0)
        return -1;
    int ret = ash_journal_inspect_at(dfd, path, info, err);
    close(dfd);
    return ret;
}

int ash_journal_inspect_at(int dfd, const char *path, struct ash_journal_info *info, ash_error_t *err)
{
    struct parsed p;
    if (parse_file(dfd, path, &p, err) < 0)
        return -1;
    memset(info, 0, sizeof *info);
    snprintf(info->path, sizeof info->path, "%s", path);
    if (p.header) {
        snprintf(info->run, sizeof info->run, "%s", json_string_value(json_object_get(p.header, "run")) ?: "?");
        info->pid = (pid_t)json_integer_value(json_object_get(p.header, "pid"));
        info->pid_start = (uint64_t)json_integer_value(json_object_get(p.header, "pid_start"));
        info->owner_alive = info->pid > 0 && ash_proc_start_time(info->pid) == info->pid_start && info->pid_start != 0;
    }
    for (size_t i = 0; i < p.n; i++)
        if (!p.recs[i].done)
            info->pending++;
    parsed_free(&p);
    return 0;
}

int ash_journal_replay(const char *path, ash_undo_cb undo, void *arg,
                       void (*on_error)(const char *op, const ash_error_t *e, void *arg), ash_error_t *err)
{
    int dfd = journal_dir_open(path, err);
    if (dfd < 0)
        return -1;
    int ret = ash_journal_replay_at(dfd, path, undo, arg, on_error, err);
    close(dfd);
    return ret;
}

int ash_journal_replay_at(int dfd, const char *path, ash_undo_cb undo, void *arg,
                          void (*on_error)(const char *op, const ash_error_t *e, void *arg), ash_error_t *err)
{
    struct parsed p;
    if (parse_file(dfd, path, &p, err) < 0)
        return -1;
    int failed = 0;
    for (size_t i = p.n; i-- > 0;) {
        if (p.recs[i].done)
            continue;
        ash_error_t e = {0};
        if (undo(p.recs[i].op, p.recs[i].data, p.recs[i].committed, arg, &e) < 0) {
            failed++;
            if (on_error)
                on_error(p.recs[i].op, &e, arg);
        } else {
            p.recs[i].done = true;
        }
    }
    /* Undos run commands and take time: the directory they act on is still the one that was
     * opened and checked, whatever a path to it names by now. */
    const char *name = base_name(path);
    if (failed == 0) {
        unlinkat(dfd, name, 0);
    } else {
        /* Keep only what is still pending, so a later recover retries exactly that. */
        char tmp[4200], tmp_name[300];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
        unlinkat(dfd, tmp_name, 0); /* a leftover (or planted) one: O_EXCL below creates ours */
        int fd = openat(dfd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            int ok = p.header ? write_line(fd, p.header, tmp, NULL) : 0;
            for (size_t i = 0; i < p.n && ok == 0; i++) {
                if (p.recs[i].done)
                    continue;
                json_t *rec = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)p.recs[i].id, "op", p.recs[i].op, "data",
                                        p.recs[i].data);
                ok = write_line(fd, rec, tmp, NULL);
                json_decref(rec);
            }
            close(fd);
            if (ok == 0)
                renameat(dfd, tmp_name, dfd, name);
            else
                unlinkat(dfd, tmp_name, 0);
        }
    }
    parsed_free(&p);
    return failed;
}

int ash_journal_list(const char *state_dir, char ***paths, size_t *n, ash_error_t *err)
{
    *paths = NULL;
    *n = 0;
    ash_error_t e = {0};
    int dfd = ash_journal_dir_open(state_dir, &e);
    if (dfd < 0) {
        if (e.code == ENOENT)
            return 0; /* no state directory: nothing ever ran here */
        if (err)
            *err = e;
        return -1;
    }
    int ret = ash_journal_list_at(dfd, state_dir, paths, n, err);
    close(dfd);
    return ret;
}

int ash_journal_list_at(int dfd, const char *state_dir, char ***paths, size_t *n, ash_error_t *err)
{
    *paths = NULL;
    *n = 0;
    int lfd = dup(dfd); /* closedir closes it; the caller keeps dfd */
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        int e = errno;
        if (lfd >= 0)
            close(lfd);
        return ash_error(err, e, "cannot read state directory %s", state_dir);
    }
    rewinddir(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 9 || strcmp(de->d_name + len - 8, ".journal") != 0)
            continue;
        char **v = realloc(*paths, (*n + 1) * sizeof *v);
        if (!v)
            break;
        *paths = v;
        if (asprintf(&v[*n], "%s/%s", state_dir, de->d_name) < 0)
            break;
        (*n)++;
    }
    closedir(d);
    return 0;
}
