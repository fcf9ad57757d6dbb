/* cgroup v1/v2/hybrid mechanisms: one flag picks file names, paths do the rest. */
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *ash_cgroup_mode_name(enum ash_cgroup_mode mode)
{
    switch (mode) {
    case ASH_CGROUP_UNIFIED:
        return "unified (v2)";
    case ASH_CGROUP_HYBRID:
        return "hybrid (v1 controllers + v2)";
    case ASH_CGROUP_LEGACY:
        return "legacy (v1)";
    }
    return "?";
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += wl) {
        bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
        bool end = p[wl] == '\0' || p[wl] == ' ' || p[wl] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

int ash_cgroup_layout(const char *root, enum ash_cgroup_mode mode, struct ash_cgroup_sys *sys, ash_error_t *err)
{
    memset(sys, 0, sizeof *sys);
    sys->mode = mode;
    snprintf(sys->root, sizeof sys->root, "%s", root);
    char path[512], ctrls[512] = "";
    if (mode == ASH_CGROUP_UNIFIED)
        snprintf(sys->v2, sizeof sys->v2, "%s", root);
    else if (mode == ASH_CGROUP_HYBRID)
        snprintf(sys->v2, sizeof sys->v2, "%s/unified", root);
    if (sys->v2[0]) {
        snprintf(path, sizeof path, "%s/cgroup.controllers", sys->v2);
        if (ash_read_text(path, ctrls, sizeof ctrls) < 0)
            return ash_error(err, errno, "cgroup v2 at %s has no readable cgroup.controllers", sys->v2);
    }
    /* Prefer v2 for a controller when it is there (unified, or a hybrid that moved it). */
    if (sys->v2[0] && has_word(ctrls, "memory")) {
        snprintf(sys->memory, sizeof sys->memory, "%s", sys->v2);
    } else if (mode != ASH_CGROUP_UNIFIED) {
        snprintf(path, sizeof path, "%s/memory", root);
        if (exists(path)) {
            snprintf(sys->memory, sizeof sys->memory, "%s", path);
            sys->memory_v1 = true;
        }
    }
    if (sys->v2[0] && has_word(ctrls, "cpu")) {
        snprintf(sys->cpu, sizeof sys->cpu, "%s", sys->v2);
    } else if (mode != ASH_CGROUP_UNIFIED) {
        snprintf(path, sizeof path, "%s/cpu", root);
        if (exists(path)) {
            snprintf(sys->cpu, sizeof sys->cpu, "%s", path);
            sys->cpu_v1 = true;
        }
    }
    /* Record the v1 freezer whenever it is mounted (doctor reports what
     * exists); ash_cgroup_init decides which one a cgroup uses. */
    if (mode != ASH_CGROUP_UNIFIED) {
        snprintf(path, sizeof path, "%s/freezer", root);
        if (exists(path))
            snprintf(sys->freezer, sizeof sys->freezer, "%s", path);
    }
    return 0;
}

int ash_cgroup_detect(const char *root, struct ash_cgroup_sys *sys, ash_error_t *err)
{
    if (!root)
        root = ASH_CGROUP_DEFAULT_ROOT;
    struct statfs st;
    if (statfs(root, &st) < 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, errno, "cannot statfs the cgroup root %s", root);
    enum ash_cgroup_mode mode;
    if ((unsigned long)st.f_type == CGROUP2_SUPER_MAGIC) {
        mode = ASH_CGROUP_UNIFIED;
    } else {
        char path[512];
        snprintf(path, sizeof path, "%s/unified", root);
        struct statfs u;
        mode = (statfs(path, &u) == 0 && (unsigned long)u.f_type == CGROUP2_SUPER_MAGIC) ? ASH_CGROUP_HYBRID
                                                                                         : ASH_CGROUP_LEGACY;
    }
    return ash_cgroup_layout(root, mode, sys, err);
}

void ash_cgroup_init(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, bool want_cpu)
{
    memset(cg, 0, sizeof *cg);
    for (int i = 0; i < 4; i++)
        cg->procs_fd[i] = -1;
    if (sys->v2[0])
        snprintf(cg->v2, sizeof cg->v2, "%s/%s", sys->v2, rel);
    if (sys->memory[0]) {
        if (sys->memory_v1)
            snprintf(cg->memory, sizeof cg->memory, "%s/%s", sys->memory, rel);
        else
            cg->mem_v2 = true;
    }
    if (want_cpu && sys->cpu[0]) {
        if (sys->cpu_v1)
            snprintf(cg->cpu, sizeof cg->cpu, "%s/%s", sys->cpu, rel);
        else
            cg->cpu_v2 = true;
    }
    /* v2 freeze (cgroup.freeze) when there is a v2 hierarchy, even on a
     * hybrid that also mounts the v1 freezer: one hierarchy for freeze and
     * kill, and no v1 freezer directory to make, join and remove. */
    if (sys->freezer[0] && !sys->v2[0])
        snprintf(cg->freezer, sizeof cg->freezer, "%s/%s", sys->freezer, rel);
}

static void empty_cgroup(struct ash_cgroup *cg)
{
    memset(cg, 0, sizeof *cg);
    for (int i = 0; i < 4; i++)
        cg->procs_fd[i] = -1;
}

/* base/rel into dst when that directory exists. */
static void set_existing(char *dst, size_t len, const char *base, const char *rel)
{
    char path[600];
    while (*rel == '/')
        rel++;
    snprintf(path, sizeof path, *rel ? "%s/%s" : "%s", base, rel);
    struct stat st;
    if (base[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(dst, len, "%s", path);
}

int ash_cgroup_existing(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, ash_error_t *err)
{
    empty_cgroup(cg);
    set_existing(cg->v2, sizeof cg->v2, sys->v2, rel);
    if (sys->memory_v1)
        set_existing(cg->memory, sizeof cg->memory, sys->memory, rel);
    else
        cg->mem_v2 = sys->memory[0] && cg->v2[0];
    if (sys->cpu_v1)
        set_existing(cg->cpu, sizeof cg->cpu, sys->cpu, rel);
    else
        cg->cpu_v2 = sys->cpu[0] && cg->v2[0];
    set_existing(cg->freezer, sizeof cg->freezer, sys->freezer, rel);
    if (!cg->v2[0] && !cg->memory[0] && !cg->cpu[0] && !cg->freezer[0])
        return ash_error(err, ENOENT, "no cgroup '%s' in any hierarchy under %s", rel, sys->root);
    return 0;
}

static bool has_controller(const char *list, const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (strcmp(w, name) == 0)
            return true;
    return false;
}

int ash_cgroup_parse_proc(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *text, ash_error_t *err)
{
    empty_cgroup(cg);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[1024];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        line = nl ? nl + 1 : NULL;
        char *c1 = strchr(buf, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || !c2)
            continue;
        *c1 = *c2 = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        /* A "(deleted)" path is a cgroup that is gone: nothing to act on there. */
        if (strstr(path, " (deleted)"))
            continue;
        if (strcmp(buf, "0") == 0 && !*ctrls) {
            if (sys->v2[0])
                set_existing(cg->v2, sizeof cg->v2, sys->v2, path);
            continue;
        }
        if (sys->memory_v1 && has_controller(ctrls, "memory"))
            set_existing(cg->memory, sizeof cg->memory, sys->memory, path);
        if (sys->cpu_v1 && has_controller(ctrls, "cpu"))
            set_existing(cg->cpu, sizeof cg->cpu, sys->cpu, path);
        if (sys->freezer[0] && has_controller(ctrls, "freezer"))
            set_existing(cg->freezer, sizeof cg->freezer, sys->freezer, path);
    }
    cg->mem_v2 = !sys->memory_v1 && sys->memory[0] && cg->v2[0];
    cg->cpu_v2 = !sys->cpu_v1 && sys->cpu[0] && cg->v2[0];
    if (!cg->v2[0] && !cg->memory[0] && !cg->cpu[0] && !cg->freezer[0])
        return ash_error(err, ENOENT, "no cgroup of the process is in a hierarchy under %s", sys->root);
    return 0;
}

int ash_cgroup_of_pid(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, pid_t pid, ash_error_t *err)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (ash_read_text(path, text, sizeof text) < 0)
        return ash_error(err, errno == ENOENT ? ESRCH : errno, "cannot read %s", path);
    return ash_cgroup_parse_proc(cg, sys, text, err);
}

const char *ash_cgroup_rel(const struct ash_cgroup_sys *sys, const char *dir)
{
    const char *roots[4] = {sys->v2, sys->memory, sys->cpu, sys->freezer};
    for (size_t i = 0; i < 4; i++) {
        size_t l = strlen(roots[i]);
        if (l && strncmp(dir, roots[i], l) == 0 && (dir[l] == '/' || !dir[l]))
            return dir[l] ? dir + l + 1 : dir + l;
    }
    return NULL;
}

static int mkdir_parents(const char *base, const char *rel, ash_error_t *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", base, rel);
    size_t blen = strlen(base);
    for (char *p = path + blen + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return ash_error(err, errno, "cannot create cgroup %s", path);
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return ash_error(err, errno, "cannot create cgroup %s", path);
    return 0;
}

/* v2: a child can use memory/cpu files only if every ancestor enables them in
 * cgroup.subtree_control. Enable along the path from the hierarchy root. */
static int enable_v2_controllers(const char *v2root, const char *rel, bool mem, bool cpu, ash_error_t *err)
{
    if (!mem && !cpu)
        return 0;
    char want[32];
    snprintf(want, sizeof want, "%s%s%s", mem ? "+memory" : "", mem && cpu ? " " : "", cpu ? "+cpu" : "");
    char dir[600];
    snprintf(dir, sizeof dir, "%s", v2root);
    const char *p = rel;
    for (;;) {
        char file[640], cur[256] = "";
        snprintf(file, sizeof file, "%s/cgroup.subtree_control", dir);
        ash_read_text(file, cur, sizeof cur);
        bool ok = (!mem || has_word(cur, "memory")) && (!cpu || has_word(cur, "cpu"));
        if (!ok && ash_write_text(file, want) < 0)
            return ash_error(err, errno, "cannot enable %s in %s", want, file);
        const char *slash = strchr(p, '/');
        if (!slash)
            break; /* the leaf itself needs nothing enabled */
        size_t dl = strlen(dir);
        snprintf(dir + dl, sizeof dir - dl, "/%.*s", (int)(slash - p), p);
        p = slash + 1;
    }
    return 0;
}

int ash_cgroup_create(struct ash_cgroup *cg, const struct ash_cgroup_sys *sys, const char *rel, bool want_cpu,
                      ash_error_t *err)
{
    ash_cgroup_init(cg, sys, rel, want_cpu);
    if (sys->v2[0]) {
        if (mkdir_parents(sys->v2, rel, err) < 0)
            return -1;
        if (enable_v2_controllers(sys->v2, rel, cg->mem_v2, cg->cpu_v2, err) < 0)
            return -1;
    }
    if (cg->memory[0] && mkdir_parents(sys->memory, rel, err) < 0)
        return -1;
    if (cg->cpu[0] && mkdir_parents(sys->cpu, rel, err) < 0)
        return -1;
    if (cg->freezer[0] && mkdir_parents(sys->freezer, rel, err) < 0)
        return -1;
    return 0;
}

json_t *ash_cgroup_to_json(const struct ash_cgroup *cg)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "v2", cg->v2, "memory", cg->memory, "cpu", cg->cpu, "freezer",
                     cg->freezer, "mem_v2", cg->mem_v2, "cpu_v2", cg->cpu_v2);
}

int ash_cgroup_from_json(json_t *j, struct ash_cgroup *cg, ash_error_t *err)
{
    memset(cg, 0, sizeof *cg);
    for (int i = 0; i < 4; i++)
        cg->procs_fd[i] = -1;
    const char *v2 = json_string_value(json_object_get(j, "v2"));
    const char *mem = json_string_value(json_object_get(j, "memory"));
    const char *cpu = json_string_value(json_object_get(j, "cpu"));
    const char *frz = json_string_value(json_object_get(j, "freezer"));
    if (!v2 || !mem || !cpu || !frz)
        return ash_error(err, EINVAL, "cgroup record without paths");
    snprintf(cg->v2, sizeof cg->v2, "%s", v2);
    snprintf(cg->memory, sizeof cg->memory, "%s", mem);
    snprintf(cg->cpu, sizeof cg->cpu, "%s", cpu);
    snprintf(cg->freezer, sizeof cg->freezer, "%s", frz);
    cg->mem_v2 = json_is_true(json_object_get(j, "mem_v2"));
    cg->cpu_v2 = json_is_true(json_object_get(j, "cpu_v2"));
    return 0;
}

/* Every directory the cgroup lives in, v2 first. */
static size_t dirs(const struct ash_cgroup *cg, const char *out[4])
{
    size_t n = 0;
    const char *all[4] = {cg->v2, cg->memory, cg->cpu, cg->freezer};
    for (size_t i = 0; i < 4; i++)
        if (all[i][0])
            out[n++] = all[i];
    return n;
}

int ash_cgroup_join_dir(const char *dir, pid_t pid, ash_error_t *err)
{
    char path[700], val[32];
    snprintf(val, sizeof val, "%d", (int)pid);
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    if (ash_write_text(path, val) < 0)
        return ash_error(err, errno, "cannot move pid %d into %s", (int)pid, path);
    return 0;
}

int ash_cgroup_join(const struct ash_cgroup *cg, pid_t pid, ash_error_t *err)
{
    const char *d[4];
    size_t n = dirs(cg, d);
    for (size_t i = 0; i < n; i++)
        if (ash_cgroup_join_dir(d[i], pid, err) < 0)
            return -1;
    return 0;
}

int ash_cgroup_open_procs(struct ash_cgroup *cg, ash_error_t *err)
{
    ash_cgroup_close_procs(cg);
    const char *d[4];
    size_t n = dirs(cg, d);
    for (size_t i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/cgroup.procs", d[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            ash_cgroup_close_procs(cg);
            return ash_error(err, e, "cannot open %s", path);
        }
        cg->procs_fd[cg->n_procs_fd++] = fd;
    }
    return 0;
}

void ash_cgroup_close_procs(struct ash_cgroup *cg)
{
    for (int i = 0; i < cg->n_procs_fd; i++)
        close(cg->procs_fd[i]);
    cg->n_procs_fd = 0;
    for (int i = 0; i < 4; i++)
        cg->procs_fd[i] = -1;
}

int ash_cgroup_join_self(const struct ash_cgroup *cg)
{
    for (int i = 0; i < cg->n_procs_fd; i++)
        if (write(cg->procs_fd[i], "0", 1) != 1)
            return -1;
    return 0;
}

static int set_saving(const char *path, const char *value, struct ash_cgroup_saved *old, ash_error_t *err)
{
    if (old) {
        snprintf(old->file, sizeof old->file, "%s", path);
        if (ash_read_text(path, old->value, sizeof old->value) < 0)
            return ash_error(err, errno, "cannot read %s", path);
        old->value[strcspn(old->value, "\n")] = '\0';
    }
    if (ash_write_text(path, value) < 0)
        return ash_error(err, errno, "cannot write '%s' to %s", value, path);
    return 0;
}

int ash_cgroup_set_memory(const struct ash_cgroup *cg, uint64_t bytes, struct ash_cgroup_saved *old, ash_error_t *err)
{
    char path[600], val[32];
    if (cg->mem_v2) {
        snprintf(path, sizeof path, "%s/memory.max", cg->v2);
        if (bytes == UINT64_MAX)
            snprintf(val, sizeof val, "max");
        else
            snprintf(val, sizeof val, "%" PRIu64, bytes);
    } else if (cg->memory[0]) {
        snprintf(path, sizeof path, "%s/memory.limit_in_bytes", cg->memory);
        if (bytes == UINT64_MAX)
            snprintf(val, sizeof val, "-1");
        else
            snprintf(val, sizeof val, "%" PRIu64, bytes);
    } else {
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "no memory controller (neither cgroup v2 nor v1) on this machine");
    }
    return set_saving(path, val, old, err);
}

int ash_cgroup_set_cpu(const struct ash_cgroup *cg, double cores, struct ash_cgroup_saved *old, ash_error_t *err)
{
    char path[600], val[64];
    if (cg->cpu_v2) {
        snprintf(path, sizeof path, "%s/cpu.max", cg->v2);
        if (cores <= 0)
            snprintf(val, sizeof val, "max 100000");
        else
            snprintf(val, sizeof val, "%lld 100000", (long long)(cores * 100000 + 0.5));
    } else if (cg->cpu[0]) {
        long long period = 100000;
        char ppath[600], pbuf[32];
        snprintf(ppath, sizeof ppath, "%s/cpu.cfs_period_us", cg->cpu);
        if (ash_read_text(ppath, pbuf, sizeof pbuf) > 0 && atoll(pbuf) > 0)
            period = atoll(pbuf);
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", cg->cpu);
        if (cores <= 0)
            snprintf(val, sizeof val, "-1");
        else
            snprintf(val, sizeof val, "%lld", (long long)(cores * (double)period + 0.5));
    } else {
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "no cpu controller for this cgroup (create it with cpu wanted, on v2 or v1)");
    }
    return set_saving(path, val, old, err);
}

int ash_cgroup_restore(const struct ash_cgroup_saved *saved, ash_error_t *err)
{
    if (ash_write_text(saved->file, saved->value) < 0) {
        if (errno == ENOENT)
            return 0; /* the cgroup is gone: nothing left to restore */
        return ash_error(err, errno, "cannot restore '%s' in %s", saved->value, saved->file);
    }
    return 0;
}

const char *ash_cgroup_memory_dir(const struct ash_cgroup *cg)
{
    return cg->mem_v2 ? cg->v2 : cg->memory;
}

int ash_cgroup_memory_file(const struct ash_cgroup *cg, enum ash_cgroup_mem_file which, char *path, size_t len)
{
    static const char *const names[2][2] = {{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"},
                                            {"memory.max", "memory.swap.max"}};
    const char *dir = ash_cgroup_memory_dir(cg);
    if (!dir[0]) {
        path[0] = '\0';
        errno = ENOTSUP;
        return -1;
    }
    snprintf(path, len, "%s/%s", dir, names[cg->mem_v2 ? 1 : 0][which == ASH_CG_MEM_SWAP ? 1 : 0]);
    return 0;
}

int ash_cgroup_swap_off(const struct ash_cgroup *cg, struct ash_cgroup_saved *set, ash_error_t *err)
{
    if (ash_cgroup_memory_file(cg, ASH_CG_MEM_SWAP, set->file, sizeof set->file) < 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP, "no memory controller for this cgroup");
    if (access(set->file, F_OK) != 0) {
        set->value[0] = '\0';
        return 1;
    }
    if (cg->mem_v2) {
        snprintf(set->value, sizeof set->value, "0");
        return 0;
    }
    /* v1 has no "swap off": memory+swap capped at the memory limit leaves no room for swap. */
    char limit[700];
    ash_cgroup_memory_file(cg, ASH_CG_MEM_LIMIT, limit, sizeof limit);
    if (ash_read_line(limit, set->value, sizeof set->value) < 0)
        return ash_error(err, errno, "cannot read %s", limit);
    return 0;
}

int ash_cgroup_save(const char *file, struct ash_cgroup_saved *saved, ash_error_t *err)
{
    snprintf(saved->file, sizeof saved->file, "%s", file);
    if (ash_read_line(file, saved->value, sizeof saved->value) < 0)
        return ash_error(err, errno, "cannot read %s", file);
    return 0;
}

int ash_cgroup_write_limit(const char *file, const char *value, int64_t busy_ns, ash_error_t *err)
{
    int64_t until = ash_now_ns() + busy_ns;
    while (ash_write_text(file, value) < 0) {
        int e = errno;
        if (e != EBUSY || ash_now_ns() >= until)
            return ash_error(err, e, "cannot write %s to %s%s", value, file,
                             e == EBUSY ? " (the kernel could not reclaim usage below it for 1 s)" : "");
        usleep(5000);
    }
    return 0;
}

int ash_cgroup_raise_memory(const struct ash_cgroup *cg, uint64_t bytes, char *old, size_t old_len, ash_error_t *err)
{
    char path[700], val[32];
    snprintf(val, sizeof val, "%" PRIu64, bytes);
    if (!cg->mem_v2 && cg->memory[0]) {
        char cur[64];
        ash_cgroup_memory_file(cg, ASH_CG_MEM_SWAP, path, sizeof path);
        if (ash_read_line(path, cur, sizeof cur) == 0 && strtoull(cur, NULL, 10) < bytes &&
            ash_write_text(path, val) < 0)
            return ash_error(err, errno, "cannot raise %s to %s", path, val);
    }
    if (ash_cgroup_memory_file(cg, ASH_CG_MEM_LIMIT, path, sizeof path) < 0)
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP, "no memory controller for this cgroup");
    if (old && old_len)
        ash_read_line(path, old, old_len);
    if (ash_write_text(path, val) < 0)
        return ash_error(err, errno, "cannot raise %s to %s", path, val);
    return 0;
}

void ash_cgroup_move_charges(const struct ash_cgroup *cg)
{
    if (cg->mem_v2 || !cg->memory[0])
        return;
    char p[700];
    snprintf(p, sizeof p, "%s/memory.move_charge_at_immigrate", cg->memory);
    ash_write_text(p, "3");
}

/* Read a "key value" line from a flat-keyed file such as cgroup.events. */
static long long keyed_value(const char *path, const char *key)
{
    char buf[512];
    if (ash_read_text(path, buf, sizeof buf) < 0)
        return -1;
    size_t kl = strlen(key);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
            return atoll(line + kl + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

bool ash_cgroup_frozen(const struct ash_cgroup *cg)
{
    char path[600];
    if (cg->v2[0]) {
        snprintf(path, sizeof path, "%s/cgroup.events", cg->v2);
        return keyed_value(path, "frozen") == 1;
    }
    if (cg->freezer[0]) {
        char buf[32] = "";
        snprintf(path, sizeof path, "%s/freezer.state", cg->freezer);
        ash_read_text(path, buf, sizeof buf);
        return strncmp(buf, "FROZEN", 6) == 0;
    }
    return false;
}

/* Wait for cgroup.events (v2: the kernel raises POLLPRI on change) or poll
 * freezer.state (v1 has no notification) until cond holds. */
static int wait_events(const struct ash_cgroup *cg, bool (*cond)(const struct ash_cgroup *), int64_t timeout_ns)
{
    int64_t deadline = ash_now_ns() + timeout_ns;
    int fd = -1;
    if (cg->v2[0]) {
        char path[600];
        snprintf(path, sizeof path, "%s/cgroup.events", cg->v2);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    int ret = -1;
    for (;;) {
        if (cond(cg)) {
            ret = 0;
            break;
        }
        int64_t left = deadline - ash_now_ns();
        if (left <= 0)
            break;
        int ms = (int)(left / ASH_NS_PER_MS) + 1;
        if (fd >= 0) {
            /* On a regular file (fixtures) poll returns at once: cap the wait so
             * this degrades to short sleeps instead of a busy loop. */
            struct pollfd p = {.fd = fd, .events = POLLPRI};
            char b[256];
            if (pread(fd, b, sizeof b, 0) < 0) { /* re-arm the notification */
            }
            int r = poll(&p, 1, ms > 100 ? 100 : ms);
            if (r > 0 && !(p.revents & POLLPRI))
                usleep(1000);
        } else {
            usleep(1000);
        }
    }
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        errno = ETIMEDOUT;
    return ret;
}

int ash_cgroup_freeze(const struct ash_cgroup *cg, int64_t timeout_ns, ash_error_t *err)
{
    char path[600];
    if (cg->v2[0]) {
        snprintf(path, sizeof path, "%s/cgroup.freeze", cg->v2);
        if (ash_write_text(path, "1") < 0)
            return ash_error_class(err, errno == ENOENT ? ASH_ERR_ENVIRONMENT : ASH_ERR_RUNTIME, errno,
                                   "cannot freeze %s (cgroup.freeze needs Linux 5.2)", cg->v2);
    } else if (cg->freezer[0]) {
        snprintf(path, sizeof path, "%s/freezer.state", cg->freezer);
        if (ash_write_text(path, "FROZEN") < 0)
            return ash_error(err, errno, "cannot freeze %s", cg->freezer);
    } else {
        return ash_error_class(err, ASH_ERR_ENVIRONMENT, ENOTSUP,
                               "no freezer: neither cgroup v2 nor the v1 freezer controller is mounted");
    }
    if (wait_events(cg, ash_cgroup_frozen, timeout_ns) < 0)
        return ash_error(err, ETIMEDOUT, "cgroup %s did not report frozen", cg->v2[0] ? cg->v2 : cg->freezer);
    return 0;
}

int ash_cgroup_thaw(const struct ash_cgroup *cg, ash_error_t *err)
{
    char path[600];
    if (cg->v2[0]) {
        snprintf(path, sizeof path, "%s/cgroup.freeze", cg->v2);
        if (ash_write_text(path, "0") < 0 && errno != ENOENT)
            return ash_error(err, errno, "cannot thaw %s", cg->v2);
    } else if (cg->freezer[0]) {
        snprintf(path, sizeof path, "%s/freezer.state", cg->freezer);
        if (ash_write_text(path, "THAWED") < 0 && errno != ENOENT)
            return ash_error(err, errno, "cannot thaw %s", cg->freezer);
    }
    return 0;
}

static const char *procs_dir(const struct ash_cgroup *cg)
{
    if (cg->v2[0])
        return cg->v2;
    if (cg->memory[0])
        return cg->memory;
    if (cg->cpu[0])
        return cg->cpu;
    return cg->freezer;
}

int ash_cgroup_pids(const struct ash_cgroup *cg, pid_t **pids, size_t *n, ash_error_t *err)
{
    *pids = NULL;
    *n = 0;
    const char *d = procs_dir(cg);
    if (!d[0])
        return 0;
    char path[600];
    snprintf(path, sizeof path, "%s/cgroup.procs", d);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return ash_error(err, errno, "cannot read %s", path);
    }
    size_t cap = 0;
    long v;
    while (fscanf(f, "%ld", &v) == 1) {
        if (ash_grow(pids, &cap, *n + 1, sizeof **pids, 16) < 0) {
            fclose(f);
            free(*pids);
            *pids = NULL;
            *n = 0;
            return ash_error(err, ENOMEM, "cgroup pids");
        }
        (*pids)[(*n)++] = (pid_t)v;
    }
    fclose(f);
    return 0;
}

static int kill_listed(const struct ash_cgroup *cg, ash_error_t *err)
{
    pid_t *pids;
    size_t n;
    if (ash_cgroup_pids(cg, &pids, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    free(pids);
    return 0;
}

int ash_cgroup_kill(const struct ash_cgroup *cg, ash_error_t *err)
{
    char path[600];
    if (cg->v2[0]) {
        snprintf(path, sizeof path, "%s/cgroup.kill", cg->v2);
        if (ash_write_text(path, "1") == 0)
            return 0;
        if (errno != ENOENT)
            return ash_error(err, errno, "cannot write %s", path);
        /* Kernel before 5.14: no cgroup.kill. */
    }
    /* Frozen, the members cannot fork a new one between reading the list and
     * the kill; thawed again, they can act on SIGKILL. */
    bool can_freeze = cg->v2[0] || cg->freezer[0];
    if (can_freeze && ash_cgroup_freeze(cg, 2 * ASH_NS_PER_S, err) < 0)
        return -1;
    int ret = kill_listed(cg, err);
    if (can_freeze && ash_cgroup_thaw(cg, ret < 0 ? NULL : err) < 0)
        ret = -1;
    return ret;
}

static bool is_empty(const struct ash_cgroup *cg)
{
    if (cg->v2[0]) {
        char path[600];
        snprintf(path, sizeof path, "%s/cgroup.events", cg->v2);
        long long p = keyed_value(path, "populated");
        if (p >= 0)
            return p == 0;
    }
    pid_t *pids;
    size_t n;
    if (ash_cgroup_pids(cg, &pids, &n, NULL) < 0)
        return false;
    free(pids);
    return n == 0;
}

int ash_cgroup_wait_empty(const struct ash_cgroup *cg, int64_t timeout_ns, ash_error_t *err)
{
    if (wait_events(cg, is_empty, timeout_ns) < 0)
        return ash_error(err, ETIMEDOUT, "processes are still in cgroup %s", procs_dir(cg));
    return 0;
}

int ash_cgroup_destroy(struct ash_cgroup *cg, ash_error_t *err)
{
    ash_cgroup_close_procs(cg);
    const char *d[4];
    size_t n = dirs(cg, d);
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || exists(d[i]);
    if (!any)
        return 0;
    if (!is_empty(cg)) {
        if (ash_cgroup_kill(cg, err) < 0)
            return -1;
        if (ash_cgroup_wait_empty(cg, 5 * ASH_NS_PER_S, err) < 0)
            return -1;
    }
    /* A frozen v1 freezer cgroup cannot be removed while frozen on old kernels. */
    ash_cgroup_thaw(cg, NULL);
    int ret = 0;
    for (size_t i = 0; i < n; i++)
        if (rmdir(d[i]) < 0 && errno != ENOENT && ret == 0)
            ret = ash_error(err, errno, "cannot remove cgroup %s", d[i]);
    return ret;
}

int ash_cgroup_remove_parent(const struct ash_cgroup *cg, ash_error_t *err)
{
    const char *d[4];
    size_t n = dirs(cg, d);
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        char parent[600];
        snprintf(parent, sizeof parent, "%s", d[i]);
        char *slash = strrchr(parent, '/');
        if (!slash || slash == parent)
            continue;
        *slash = '\0';
        if (rmdir(parent) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY && ret == 0)
            ret = ash_error(err, errno, "cannot remove cgroup %s", parent);
    }
    return ret;
}

/* Move every process of cgroup dir `from` into `to` when both are in the same
 * hierarchy (the same mount), repeating while a fork races the move. */
int ash_cgroup_move_all(const char *from, const char *to, ash_error_t *err)
{
    char procs[700], dst[700], line[32];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", from);
    snprintf(dst, sizeof dst, "%s/cgroup.procs", to);
    struct stat a, b;
    char parent[700];
    snprintf(parent, sizeof parent, "%s/..", from);
    /* Only within one hierarchy: compare the device of the two mounts. */
    if (stat(parent, &a) < 0 || stat(to, &b) < 0 || a.st_dev != b.st_dev)
        return 0;
    for (int round = 0; round < 10; round++) {
        FILE *f = fopen(procs, "re");
        if (!f)
            return errno == ENOENT ? 0 : ash_error(err, errno, "cannot read %s", procs);
        int moved = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            if (ash_write_text(dst, line) < 0 && errno != ESRCH) {
                int e = errno;
                fclose(f);
                return ash_error(err, e, "cannot move pid %s back into %s", line, dst);
            }
            moved++;
        }
        fclose(f);
        if (moved == 0)
            return 0;
    }
    return 0;
}

/* rmdir, waiting briefly while the kernel finishes releasing exited tasks (EBUSY). */
int ash_cgroup_rmdir(const char *dir)
{
    for (int i = 0; i < 50; i++) {
        if (rmdir(dir) == 0)
            return 0;
        if (errno != EBUSY)
            return -1;
        usleep(2000);
    }
    return -1;
}
