/* cgroup logic: v2 and v1 file handling against fixture directories, then the
 * real hierarchy of this machine (create, join, limits, freeze, kill, destroy). */
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "test_skip.h"
#include "test_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char fixture[64];

static void put(const char *dir, const char *file, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fixture %s", path);
    fputs(text, f);
    fclose(f);
}

static void get(const char *dir, const char *file, char *buf, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "read %s", path);
    buf[0] = '\0';
    if (!fgets(buf, (int)len, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void make_fixture(void)
{
    snprintf(fixture, sizeof fixture, "/tmp/ash-cgfix-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fixture));
}

START_TEST(test_v2_fixture)
{
    make_fixture();
    put(fixture, "cgroup.controllers", "cpuset cpu io memory pids\n");
    put(fixture, "cgroup.subtree_control", "");
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fixture, ASH_CGROUP_UNIFIED, &sys, &err), 0);
    ck_assert_str_eq(sys.memory, fixture);
    ck_assert(!sys.memory_v1 && !sys.cpu_v1);
    ck_assert_str_eq(sys.freezer, "");

    /* The kernel gives every new directory its control files; a fixture has
     * to make the parent's by hand. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ash-r1", fixture);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    put(dir, "cgroup.subtree_control", "");
    struct ash_cgroup cg;
    ck_assert_msg(ash_cgroup_create(&cg, &sys, "ash-r1/web", true, &err) == 0, "%s", err.msg);
    ck_assert(cg.mem_v2 && cg.cpu_v2);
    ck_assert_str_eq(cg.memory, "");
    char buf[128];
    /* Controllers enabled for the children on the way down, not at the leaf. */
    get(fixture, "cgroup.subtree_control", buf, sizeof buf);
    ck_assert_str_eq(buf, "+memory +cpu");
    get(dir, "cgroup.subtree_control", buf, sizeof buf);
    ck_assert_str_eq(buf, "+memory +cpu");

    put(cg.v2, "memory.max", "max\n");
    put(cg.v2, "cpu.max", "max 100000\n");
    struct ash_cgroup_saved old;
    ck_assert_int_eq(ash_cgroup_set_memory(&cg, 64u << 20, &old, &err), 0);
    get(cg.v2, "memory.max", buf, sizeof buf);
    ck_assert_str_eq(buf, "67108864");
    ck_assert_str_eq(old.value, "max");
    ck_assert_int_eq(ash_cgroup_restore(&old, &err), 0);
    get(cg.v2, "memory.max", buf, sizeof buf);
    ck_assert_str_eq(buf, "max");
    ck_assert_int_eq(ash_cgroup_set_cpu(&cg, 1.5, &old, &err), 0);
    get(cg.v2, "cpu.max", buf, sizeof buf);
    ck_assert_str_eq(buf, "150000 100000");
    ck_assert_str_eq(old.value, "max 100000");

    /* freeze writes cgroup.freeze and waits for cgroup.events to say frozen. */
    put(cg.v2, "cgroup.freeze", "0\n");
    put(cg.v2, "cgroup.events", "populated 1\nfrozen 0\n");
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(ash_cgroup_freeze(&cg, 150 * ASH_NS_PER_MS, &err), -1);
    ck_assert_int_eq(err.code, ETIMEDOUT);
    ck_assert_int_ge(ash_now_ns() - t0, 150 * ASH_NS_PER_MS);
    put(cg.v2, "cgroup.events", "populated 1\nfrozen 1\n");
    ck_assert_int_eq(ash_cgroup_freeze(&cg, ASH_NS_PER_S, &err), 0);
    get(cg.v2, "cgroup.freeze", buf, sizeof buf);
    ck_assert_str_eq(buf, "1");
    ck_assert(ash_cgroup_frozen(&cg));
    ck_assert_int_eq(ash_cgroup_thaw(&cg, &err), 0);
    get(cg.v2, "cgroup.freeze", buf, sizeof buf);
    ck_assert_str_eq(buf, "0");

    /* kill: cgroup.kill when the kernel has it. */
    put(cg.v2, "cgroup.kill", "");
    ck_assert_int_eq(ash_cgroup_kill(&cg, &err), 0);
    get(cg.v2, "cgroup.kill", buf, sizeof buf);
    ck_assert_str_eq(buf, "1");

    /* Without cgroup.kill (before 5.14): freeze, SIGKILL every listed pid, thaw. */
    char cgkill[600];
    snprintf(cgkill, sizeof cgkill, "%s/cgroup.kill", cg.v2);
    unlink(cgkill);
    pid_t victim = fork();
    if (victim == 0) {
        pause();
        _exit(0);
    }
    char pids[32];
    snprintf(pids, sizeof pids, "%d\n", (int)victim);
    put(cg.v2, "cgroup.procs", pids);
    ck_assert_int_eq(ash_cgroup_kill(&cg, &err), 0);
    int st;
    ck_assert_int_eq(waitpid(victim, &st, 0), victim);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    get(cg.v2, "cgroup.freeze", buf, sizeof buf);
    ck_assert_str_eq(buf, "0"); /* thawed again */

    /* The record round-trips. */
    json_t *j = ash_cgroup_to_json(&cg);
    struct ash_cgroup back;
    ck_assert_int_eq(ash_cgroup_from_json(j, &back, &err), 0);
    json_decref(j);
    ck_assert_str_eq(back.v2, cg.v2);
    ck_assert(back.mem_v2 && back.cpu_v2);
    rm_rf(fixture);
}
END_TEST

/* The memory fault's mechanics (issue 13: moved down from src/faults/memory.c): file
 * names from mem_v2, swap off, the journal-first save, EBUSY-free writes, the
 * v1 order of a raise, joining one directory, v1 charge moving. */
static void memory_fault_files(bool v2)
{
    make_fixture();
    struct ash_cgroup cg = {.mem_v2 = v2};
    char *dir = v2 ? cg.v2 : cg.memory;
    snprintf(dir, 512, "%s", fixture);
    const char *limit = v2 ? "memory.max" : "memory.limit_in_bytes";
    const char *swap = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
    put(fixture, limit, v2 ? "max\n" : "9223372036854771712\n");
    put(fixture, swap, v2 ? "max\n" : "9223372036854771712\n");
    put(fixture, "cgroup.procs", "");
    ash_error_t err = {0};
    char path[700], want[700], buf[128];
    ck_assert_str_eq(ash_cgroup_memory_dir(&cg), fixture);
    ck_assert_int_eq(ash_cgroup_memory_file(&cg, ASH_CG_MEM_LIMIT, path, sizeof path), 0);
    snprintf(want, sizeof want, "%s/%s", fixture, limit);
    ck_assert_str_eq(path, want);

    /* Saved before the write: the journal gets the old value, then the limit is set. */
    struct ash_cgroup_saved old;
    ck_assert_int_eq(ash_cgroup_save(path, &old, &err), 0);
    ck_assert_str_eq(old.value, v2 ? "max" : "9223372036854771712");
    ck_assert_int_eq(ash_cgroup_write_limit(path, "67108864", ASH_NS_PER_S, &err), 0);
    get(fixture, limit, buf, sizeof buf);
    ck_assert_str_eq(buf, "67108864");

    /* Swap off: v2 swap.max 0; v1 memsw at the memory limit in effect. */
    struct ash_cgroup_saved off;
    ck_assert_msg(ash_cgroup_swap_off(&cg, &off, &err) == 0, "%s", err.msg);
    snprintf(want, sizeof want, "%s/%s", fixture, swap);
    ck_assert_str_eq(off.file, want);
    ck_assert_str_eq(off.value, v2 ? "0" : "67108864");

    /* A raise past the limit: on v1 memsw first (it must stay >= the limit). */
    char before[64] = "";
    ck_assert_msg(ash_cgroup_raise_memory(&cg, 512u << 20, before, sizeof before, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(before, "67108864");
    get(fixture, limit, buf, sizeof buf);
    ck_assert_str_eq(buf, "536870912");
    get(fixture, swap, buf, sizeof buf);
    ck_assert_str_eq(buf, v2 ? "max" : "9223372036854771712"); /* already above: left alone */
    put(fixture, swap, "67108864\n");
    ck_assert_int_eq(ash_cgroup_raise_memory(&cg, 1024u << 20, NULL, 0, &err), 0);
    get(fixture, swap, buf, sizeof buf);
    ck_assert_str_eq(buf, v2 ? "67108864" : "1073741824");

    ck_assert_int_eq(ash_cgroup_restore(&old, &err), 0);
    get(fixture, limit, buf, sizeof buf);
    ck_assert_str_eq(buf, v2 ? "max" : "9223372036854771712");

    ck_assert_int_eq(ash_cgroup_join_dir(fixture, 4242, &err), 0);
    get(fixture, "cgroup.procs", buf, sizeof buf);
    ck_assert_str_eq(buf, "4242");

    put(fixture, "memory.move_charge_at_immigrate", "0\n");
    ash_cgroup_move_charges(&cg);
    get(fixture, "memory.move_charge_at_immigrate", buf, sizeof buf);
    ck_assert_str_eq(buf, v2 ? "0" : "3");

    /* No swap accounting (the swap file absent): 1, the file named, nothing to write. */
    snprintf(want, sizeof want, "%s/%s", fixture, swap);
    ck_assert_int_eq(unlink(want), 0);
    ck_assert_int_eq(ash_cgroup_swap_off(&cg, &off, &err), 1);
    ck_assert_str_eq(off.file, want);
    ck_assert_str_eq(off.value, "");

    /* No memory directory: said, nothing written. */
    struct ash_cgroup none = {0};
    ck_assert_int_eq(ash_cgroup_memory_file(&none, ASH_CG_MEM_LIMIT, path, sizeof path), -1);
    ck_assert_str_eq(path, "");
    ck_assert_int_eq(ash_cgroup_swap_off(&none, &off, &err), -1);
    rm_rf(fixture);
}

START_TEST(test_memory_fault_files_v2)
{
    memory_fault_files(true);
}
END_TEST

START_TEST(test_memory_fault_files_v1)
{
    memory_fault_files(false);
}
END_TEST

START_TEST(test_v1_fixture)
{
    make_fixture();
    char mem[128], cpu[128], frz[128];
    snprintf(mem, sizeof mem, "%s/memory", fixture);
    snprintf(cpu, sizeof cpu, "%s/cpu", fixture);
    snprintf(frz, sizeof frz, "%s/freezer", fixture);
    ck_assert_int_eq(mkdir(mem, 0755), 0);
    ck_assert_int_eq(mkdir(cpu, 0755), 0);
    ck_assert_int_eq(mkdir(frz, 0755), 0);
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fixture, ASH_CGROUP_LEGACY, &sys, &err), 0);
    ck_assert(sys.memory_v1 && sys.cpu_v1);
    ck_assert_str_eq(sys.v2, "");
    ck_assert_str_eq(sys.freezer, frz);

    struct ash_cgroup cg;
    ck_assert_msg(ash_cgroup_create(&cg, &sys, "ash-r2/db", true, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(cg.v2, "");
    ck_assert(!cg.mem_v2);
    put(cg.memory, "memory.limit_in_bytes", "9223372036854771712\n");
    struct ash_cgroup_saved old;
    ck_assert_int_eq(ash_cgroup_set_memory(&cg, 128u << 20, &old, &err), 0);
    char buf[128];
    get(cg.memory, "memory.limit_in_bytes", buf, sizeof buf);
    ck_assert_str_eq(buf, "134217728");
    ck_assert_str_eq(old.value, "9223372036854771712"); /* restored exactly, not as "-1" */
    ck_assert_int_eq(ash_cgroup_restore(&old, &err), 0);
    get(cg.memory, "memory.limit_in_bytes", buf, sizeof buf);
    ck_assert_str_eq(buf, "9223372036854771712");

    put(cg.cpu, "cpu.cfs_period_us", "50000\n");
    put(cg.cpu, "cpu.cfs_quota_us", "-1\n");
    ck_assert_int_eq(ash_cgroup_set_cpu(&cg, 0.5, NULL, &err), 0);
    get(cg.cpu, "cpu.cfs_quota_us", buf, sizeof buf);
    ck_assert_str_eq(buf, "25000");

    put(cg.freezer, "freezer.state", "THAWED\n");
    ck_assert_int_eq(ash_cgroup_freeze(&cg, 100 * ASH_NS_PER_MS, &err), 0); /* the fixture reads back FROZEN */
    get(cg.freezer, "freezer.state", buf, sizeof buf);
    ck_assert_str_eq(buf, "FROZEN");
    ck_assert_int_eq(ash_cgroup_thaw(&cg, &err), 0);
    get(cg.freezer, "freezer.state", buf, sizeof buf);
    ck_assert_str_eq(buf, "THAWED");

    /* join writes the pid to every hierarchy. */
    put(cg.memory, "cgroup.procs", "");
    put(cg.cpu, "cgroup.procs", "");
    put(cg.freezer, "cgroup.procs", "");
    ck_assert_int_eq(ash_cgroup_join(&cg, 4242, &err), 0);
    get(cg.cpu, "cgroup.procs", buf, sizeof buf);
    ck_assert_str_eq(buf, "4242");
    get(cg.freezer, "cgroup.procs", buf, sizeof buf);
    ck_assert_str_eq(buf, "4242");
    rm_rf(fixture);
}
END_TEST

START_TEST(test_hybrid_fixture)
{
    make_fixture();
    char path[256];
    snprintf(path, sizeof path, "%s/unified", fixture);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    put(path, "cgroup.controllers", "hugetlb\n");
    snprintf(path, sizeof path, "%s/memory", fixture);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char frz[256];
    snprintf(frz, sizeof frz, "%s/freezer", fixture);
    ck_assert_int_eq(mkdir(frz, 0755), 0);
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_cgroup_layout(fixture, ASH_CGROUP_HYBRID, &sys, &err), 0);
    ck_assert(sys.memory_v1);
    ck_assert_str_eq(sys.cpu, "");      /* no cpu anywhere in this fixture */
    ck_assert_str_eq(sys.freezer, frz); /* recorded: it is mounted (doctor says so) */
    struct ash_cgroup cg;
    ck_assert_int_eq(ash_cgroup_create(&cg, &sys, "ash-r3/h", true, &err), 0);
    ck_assert(access(cg.v2, F_OK) == 0 && access(cg.memory, F_OK) == 0);
    ck_assert_str_eq(cg.freezer, ""); /* but v2 freezes: no v1 freezer cgroup is made */
    snprintf(path, sizeof path, "%s/ash-r3", frz);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(ash_cgroup_set_cpu(&cg, 1, NULL, &err), -1);
    ck_assert_int_eq(err.klass, ASH_ERR_ENVIRONMENT);
    rm_rf(fixture);
}
END_TEST

/* ---- the real hierarchy ---- */

START_TEST(test_real)
{
    if (geteuid() != 0) {
        ash_test_skip("the real hierarchy part needs root");
        return;
    }
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    ck_assert_msg(ash_cgroup_detect(NULL, &sys, &err) == 0, "%s", err.msg);
    printf("test_cgroup: this machine: %s; v2 %s, memory %s, cpu %s, freezer %s\n", ash_cgroup_mode_name(sys.mode),
           sys.v2, sys.memory, sys.cpu, sys.freezer);
    char rel[64];
    snprintf(rel, sizeof rel, "ash-cgt%d/h", (int)getpid());
    struct ash_cgroup cg;
    ck_assert_msg(ash_cgroup_create(&cg, &sys, rel, sys.cpu[0] != 0, &err) == 0, "%s", err.msg);
    if (sys.memory[0]) {
        struct ash_cgroup_saved old;
        ck_assert_msg(ash_cgroup_set_memory(&cg, 100u << 20, &old, &err) == 0, "%s", err.msg);
        ck_assert_msg(ash_cgroup_restore(&old, &err) == 0, "%s", err.msg);
    }
    if (sys.cpu[0])
        ck_assert_msg(ash_cgroup_set_cpu(&cg, 0.5, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_cgroup_open_procs(&cg, &err), 0);

    /* A child joins through the pre-opened fds (the pre-exec path), then forks one more. */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t child = fork();
    if (child == 0) {
        if (ash_cgroup_join_self(&cg) < 0)
            _exit(1);
        if (fork() == 0) {
            pause();
            _exit(0);
        }
        if (write(p[1], "x", 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    pid_t *pids;
    size_t n;
    ck_assert_int_eq(ash_cgroup_pids(&cg, &pids, &n, &err), 0);
    ck_assert_int_eq((int)n, 2);
    free(pids);

    if (cg.v2[0] || cg.freezer[0]) {
        ck_assert_msg(ash_cgroup_freeze(&cg, 2 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
        ck_assert(ash_cgroup_frozen(&cg));
        ck_assert_int_eq(ash_cgroup_thaw(&cg, &err), 0);
    }
    /* Kill works on a frozen cgroup too (cgroup.kill, or freeze+kill+thaw). */
    if (cg.v2[0] || cg.freezer[0])
        ck_assert_int_eq(ash_cgroup_freeze(&cg, 2 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(ash_cgroup_kill(&cg, &err) == 0, "%s", err.msg);
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_msg(ash_cgroup_wait_empty(&cg, 2 * ASH_NS_PER_S, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_cgroup_destroy(&cg, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_cgroup_remove_parent(&cg, &err), 0);
    const char *d[] = {cg.v2, cg.memory, cg.cpu, cg.freezer};
    for (int i = 0; i < 4; i++) {
        if (!d[i][0])
            continue;
        ck_assert_msg(access(d[i], F_OK) != 0, "%s left", d[i]);
        char parent[600];
        snprintf(parent, sizeof parent, "%s", d[i]);
        *strrchr(parent, '/') = '\0';
        ck_assert_msg(access(parent, F_OK) != 0, "%s left", parent);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cgroup");
    TCase *tc = tcase_create("cgroup");
    tcase_add_test(tc, test_v2_fixture);
    tcase_add_test(tc, test_v1_fixture);
    tcase_add_test(tc, test_memory_fault_files_v2);
    tcase_add_test(tc, test_memory_fault_files_v1);
    tcase_add_test(tc, test_hybrid_fixture);
    tcase_add_test(tc, test_real);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
