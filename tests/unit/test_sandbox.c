/* Sandbox hosts on the real kernel: build/teardown leaves nothing, names resolve
 * through the generated /etc/hosts, freeze/kill/isolate behave as documented,
 * and a crashed run is recovered from its journal. Needs root. */
#include "env/sandbox.h"
#include "kinds.h"
#include "sys/cgroup.h"
#include "sys/clock.h"
#include "sys/fs.h"
#include "sys/journal.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "test_skip.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT 7000

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (namespaces, links, cgroups)");
        return false;
    }
    return true;
}

/* Each test runs in a child Check forks, in a test case of its own whose
 * unchecked fixture runs here, in the parent: setup picks the run id and the
 * journal directory, teardown replays whatever journal the child left (a
 * failed assertion, a crash or a timeout ends the child before its own
 * teardown) so a failing test still leaves no namespace, link, cgroup, file
 * or process behind. Run ids: 8 characters (they name links), unique per test. */
static char g_run[16];
static char g_state[64];
static struct ash_journal *g_j; /* the test's journal in g_state (opened by build) */
static char g_prev_run[16];     /* the run id of the test case before this one */

static void guard_setup(void)
{
    static unsigned counter;
    snprintf(g_prev_run, sizeof g_prev_run, "%s", g_run);
    snprintf(g_run, sizeof g_run, "t%05x%02x", (unsigned)getpid() & 0xfffff, counter++ & 0xff);
    snprintf(g_state, sizeof g_state, "/tmp/ash-sbtest-XXXXXX");
    if (!mkdtemp(g_state)) {
        perror("test_sandbox: mkdtemp");
        abort();
    }
}

static int undo_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err);
static void on_undo_error(const char *op, const ash_error_t *e, void *arg);

static void guard_teardown(void)
{
    char jpath[256];
    snprintf(jpath, sizeof jpath, "%s/%s.journal", g_state, g_run);
    if (access(jpath, F_OK) == 0) {
        fprintf(stderr, "test_sandbox: run %s left a journal: recovering\n", g_run);
        ash_error_t err = {0};
        if (ash_journal_replay(jpath, undo_cb, NULL, on_undo_error, &err) != 0)
            fprintf(stderr, "test_sandbox: recovering run %s: %s\n", g_run, err.msg);
    }
    /* test_nsswitch's files, and the paths it points elsewhere (under CK_FORK=no) */
    char path[128];
    snprintf(path, sizeof path, "%s/nsswitch.conf", g_state);
    unlink(path);
    snprintf(path, sizeof path, "%s/nscd/socket", g_state);
    unlink(path);
    snprintf(path, sizeof path, "%s/nscd", g_state);
    rmdir(path);
    ash_sandbox_nsswitch = "/etc/nsswitch.conf";
    ash_sandbox_nscd_dir = "/var/run/nscd";
    rmdir(g_state);
}

struct hosts {
    struct ash_host_spec spec[16];
    char names[16][16];
    struct ash_scenario sc;
};

static void make_scenario(struct hosts *hs, size_t n)
{
    memset(hs, 0, sizeof *hs);
    for (size_t i = 0; i < n; i++) {
        snprintf(hs->names[i], sizeof hs->names[i], "%c", (char)('a' + i));
        hs->spec[i].name = hs->names[i];
    }
    hs->spec[0].memory = (struct ash_size){.set = true, .bytes = 256u << 20};
    hs->spec[0].cpu = 0.5;
    hs->sc.hosts = hs->spec;
    hs->sc.n_hosts = n;
}

/* Links named ash<run>* (veths, the gateway link, the uplink) or ash-<run>* (a
 * bridge) in nl's namespace, counted and named in what after `where`. */
static int run_links(struct ash_nl *nl, const char *run, const char *where, char *what, size_t len)
{
    int n = 0;
    ash_error_t err = {0};
    char a[32], b[32];
    snprintf(a, sizeof a, "ash%s", run);
    snprintf(b, sizeof b, "ash-%s", run);
    const char *pfx[] = {a, b};
    for (int k = 0; k < 2; k++) {
        char **names;
        size_t cnt;
        ck_assert_int_eq(ash_nl_link_names(nl, pfx[k], &names, &cnt, &err), 0);
        for (size_t i = 0; i < cnt; i++) {
            n++;
            snprintf(what + strlen(what), len - strlen(what), " link:%s%s", names[i], where);
            free(names[i]);
        }
        free(names);
    }
    return n;
}

/* Count what the run left: /run/netns entries (its hosts' and its hub's),
 * links here and in the hub, cgroup directories. */
static int leftovers(const char *run, char *what, size_t len)
{
    int n = 0;
    what[0] = '\0';
    char prefix[64], hub[64];
    snprintf(prefix, sizeof prefix, "ash-%s-", run);
    snprintf(hub, sizeof hub, "ash-%s", run);
    DIR *d = opendir("/run/netns");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 || strcmp(de->d_name, hub) == 0) {
            n++;
            snprintf(what + strlen(what), len - strlen(what), " netns:%s", de->d_name);
        }
    }
    if (d)
        closedir(d);
    struct ash_nl *nl;
    ash_error_t err = {0};
    ck_assert_int_eq(ash_nl_open(&nl, &err), 0);
    n += run_links(nl, run, "", what, len);
    ash_nl_close(nl);
    int hfd = ash_netns_exists(hub) ? ash_netns_open(hub, &err) : -1;
    if (hfd >= 0) {
        ck_assert_int_eq(ash_nl_open_in(hfd, &nl, &err), 0);
        n += run_links(nl, run, " (in the hub)", what, len);
        ash_nl_close(nl);
        close(hfd);
    }
    const char *roots[] = {"unified", "memory", "cpu", "freezer", "", NULL}; /* "": v2 alone */
    for (int k = 0; roots[k]; k++) {
        char path[256];
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s%sash-%s", roots[k], roots[k][0] ? "/" : "", run);
        if (access(path, F_OK) == 0) {
            n++;
            snprintf(what + strlen(what), len - strlen(what), " cgroup:%s", path);
        }
    }
    char files[256];
    snprintf(files, sizeof files, "%s/sandbox-%s", ASH_DEFAULT_STATE_DIR, run);
    if (access(files, F_OK) == 0) {
        n++;
        snprintf(what + strlen(what), len - strlen(what), " files:%s", files);
    }
    return n;
}

static void assert_clean(const char *run)
{
    char what[2048];
    int n = leftovers(run, what, sizeof what);
    ck_assert_msg(n == 0, "run %s left:%s", run, what);
}

/* Build n hosts, journaled in j, or (NULL) in g_j opened here; close with finish(). */
static struct ash_sandbox *build(struct hosts *hs, size_t n, const char *run, struct ash_journal *j)
{
    make_scenario(hs, n);
    struct ash_sandbox *sb = NULL;
    ash_error_t err = {0};
    if (!j) {
        ck_assert_msg(ash_journal_open(g_state, run, &g_j, &err) == 0, "%s", err.msg);
        j = g_j;
    }
    int r = ash_sandbox_create(&hs->sc, run, j, &sb, &err);
    ck_assert_msg(r == 0, "sandbox: %s", err.msg);
    return sb;
}

/* Tear down a sandbox built with the journal g_j: every record is done. */
static void finish(struct ash_sandbox *sb)
{
    ash_sandbox_destroy(sb);
    ck_assert_int_eq((int)ash_journal_pending(g_j), 0);
    ash_journal_close(g_j, true);
    g_j = NULL;
}

static int make_udp_socket(void *arg)
{
    int *fd = arg;
    *fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return *fd < 0 ? -1 : 0;
}

/* Inside host h: loopback up (brought up by its index, 1, without a lookup). */
static void check_loopback_up(struct ash_host *h)
{
    int fd = -1;
    ck_assert_int_eq(ash_host_run_in_netns(h, make_udp_socket, &fd), 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    close(fd);
    ck_assert_msg(ifr.ifr_flags & IFF_UP, "host %s: lo is down", ash_host_name(h));
}

/* Host h's etc directory: its own hosts file and the run's resolv.conf
 * (one file shared by every host, naming the gateway). */
static void check_etc(struct ash_host *h)
{
    char path[4300], buf[256] = "";
    snprintf(path, sizeof path, "%s/hosts", ash_host_etc_dir(h));
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/resolv.conf", ash_host_etc_dir(h));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    ck_assert_msg(strstr(buf, "nameserver ") != NULL, "%s: %s", path, buf);
}

static void check_built(struct ash_sandbox *sb, const char *run, size_t n)
{
    char what[4096];
    /* n namespaces + n veths + the bridge, at least (cgroups and files vary by machine). */
    ck_assert_int_ge(leftovers(run, what, sizeof what), (int)(2 * n + 1));
    for (size_t i = 0; i < n; i++) {
        struct ash_host *h = ash_sandbox_host_at(sb, i);
        ck_assert_ptr_nonnull(h);
        ck_assert_int_ge(ash_host_netns_fd(h), 0);
        struct in_addr a;
        ck_assert_int_eq(inet_pton(AF_INET, ash_host_address(h), &a), 1);
        ck_assert_str_eq(ash_host_lookup(ash_sandbox_host_at(sb, 0), ash_host_name(h)), ash_host_address(h));
        check_loopback_up(h);
        check_etc(h);
    }
}

START_TEST(test_two_hosts)
{
    if (!can_run())
        return;
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    check_built(sb, run, 2);
    /* Limits landed where this machine keeps them. */
    struct ash_cgroup *cg = ash_host_cgroup(ash_sandbox_host(sb, "a"));
    char path[600], buf[64] = "";
    snprintf(path, sizeof path, "%s/%s", cg->mem_v2 ? cg->v2 : cg->memory,
             cg->mem_v2 ? "memory.max" : "memory.limit_in_bytes");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_int_eq(atoll(buf), 256ll << 20);
    finish(sb);
    assert_clean(run);
}
END_TEST

START_TEST(test_ten_hosts)
{
    if (!can_run())
        return;
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 10, run, NULL);
    check_built(sb, run, 10);
    finish(sb);
    assert_clean(run);
}
END_TEST

/* Another run holding the subnet lock (choosing its /24) holds up only this
 * run's choice: the hub namespace is made meanwhile, and the sandbox is done
 * once the lock is let go. */
struct bg_build {
    struct hosts hs;
    const char *run;
    struct ash_sandbox *sb;
    int r;
    ash_error_t err;
    atomic_bool done;
};

static void *bg_build(void *arg)
{
    struct bg_build *b = arg;
    b->r = ash_sandbox_create(&b->hs.sc, b->run, g_j, &b->sb, &b->err);
    atomic_store(&b->done, true);
    return NULL;
}

START_TEST(test_subnet_lock_not_held_for_the_hub)
{
    if (!can_run())
        return;
    static struct bg_build b;
    memset(&b, 0, sizeof b);
    b.run = g_run;
    make_scenario(&b.hs, 2);
    ash_error_t err = {0};
    ck_assert_msg(ash_journal_open(g_state, g_run, &g_j, &err) == 0, "%s", err.msg);
    ck_assert_msg(ash_mkdir_p(ASH_DEFAULT_STATE_DIR, 0755, &err) == 0, "%s", err.msg);
    int lock = open(ASH_SANDBOX_SUBNET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(lock, 0);
    ck_assert_int_eq(flock(lock, LOCK_EX), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, bg_build, &b), 0);
    struct ash_sandbox_names nm;
    ash_sandbox_names(g_run, 0, "a", &nm);
    char hub[256];
    snprintf(hub, sizeof hub, "%s/%s", ASH_NETNS_DIR, nm.hub);
    bool hub_seen = false;
    for (int i = 0; i < 1000 && !hub_seen && !atomic_load(&b.done); i++) {
        hub_seen = access(hub, F_OK) == 0;
        if (!hub_seen)
            usleep(10000);
    }
    /* And the build still waits for the lock: it is the lock it waits on. */
    usleep(300000);
    bool done_while_locked = atomic_load(&b.done);
    flock(lock, LOCK_UN);
    close(lock);
    pthread_join(t, NULL);
    ck_assert_msg(b.r == 0, "sandbox: %s", b.err.msg);
    ck_assert_msg(!done_while_locked, "the sandbox was built while another run held the subnet lock");
    ck_assert_msg(hub_seen, "no hub %s within 10 s while another run held the subnet lock", hub);
    check_built(b.sb, g_run, 2);
    finish(b.sb);
    assert_clean(g_run);
}
END_TEST

/* What a container (a fleet agent's swarm task) has: /proc/sys read-only. The
 * sandbox still closes its bridge (IPv4 forwarding off, no IPv6 address of its
 * own) over netlink. Only this test's own process sees the read-only mount: its
 * /proc is made a slave first, so nothing propagates back to the machine. */
START_TEST(test_proc_sys_read_only)
{
    if (!can_run())
        return;
    ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
    ck_assert_msg(mount(NULL, "/proc", NULL, MS_REC | MS_SLAVE, NULL) == 0, "slave /proc: %s", strerror(errno));
    ck_assert_msg(mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL) == 0, "bind: %s", strerror(errno));
    ck_assert_msg(mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0, "remount: %s",
                  strerror(errno));
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    check_built(sb, run, 2);
    char path[160], buf[16] = "";
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/forwarding", ash_sandbox_gateway_link(sb));
    FILE *f = fopen(path, "r+");
    ck_assert_msg(!f && errno == EROFS, "%s is not read-only here", path);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, "0\n");
    /* No IPv6 address on the gateway link (not even link-local) where IPv6 is on. */
    f = fopen("/proc/net/if_inet6", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        ck_assert_msg(!strstr(line, ash_sandbox_gateway_link(sb)), "the gateway link has an IPv6 address: %s", line);
    if (f)
        fclose(f);
    finish(sb);
    assert_clean(run);
}
END_TEST

/* ---- processes inside hosts ---- */

static pid_t start_server(struct ash_host *h)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (ash_host_enter(h) < 0)
            _exit(10);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
        if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0)
            _exit(11);
        if (write(ready[1], "r", 1) != 1)
            _exit(12);
        close(ready[1]);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0)
                continue;
            char b[64];
            ssize_t n = read(c, b, sizeof b);
            if (n > 0) {
                char host[64] = "";
                gethostname(host, sizeof host);
                char reply[128];
                int len = snprintf(reply, sizeof reply, "pong from %s", host);
                if (write(c, reply, (size_t)len) < 0) {
                }
            }
            close(c);
        }
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A client inside host `from`: resolves `to` by name (its mount namespace's
 * /etc/hosts), connects, sends, expects "pong from <to>". Exit 0 on success. */
static int client_by_name(struct ash_host *from, const char *to)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (ash_host_enter(from) < 0)
            _exit(20);
        char me[64] = "";
        gethostname(me, sizeof me);
        if (strcmp(me, ash_host_name(from)) != 0)
            _exit(21);
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        if (getaddrinfo(to, "7000", &hints, &res) != 0)
            _exit(22);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, res->ai_addr, res->ai_addrlen) < 0)
            _exit(23);
        if (write(s, "ping", 4) != 4)
            _exit(24);
        char b[128] = "";
        ssize_t n = read(s, b, sizeof b - 1);
        if (n <= 0)
            _exit(25);
        char want[96];
        snprintf(want, sizeof want, "pong from %s", to);
        _exit(strcmp(b, want) == 0 ? 0 : 26);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

/* `getent hosts NAME` run inside the host: the C library's own lookup. */
static void getent_in(struct ash_host *h, const char *name, char *out, size_t len)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        if (ash_host_enter(h) < 0)
            _exit(30);
        execlp("getent", "getent", "hosts", name, (char *)NULL);
        _exit(31);
    }
    close(p[1]);
    ssize_t n = read(p[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
}

/* The shape: the bridge and the hosts' veths in the hub namespace, not here;
 * here only the gateway link, with the gateway address; from here a host is
 * reached at its address (probes without from:), and a host reaches another. */
START_TEST(test_hub_shape)
{
    if (!can_run())
        return;
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    struct ash_host *a = ash_sandbox_host(sb, "a"), *b = ash_sandbox_host(sb, "b");
    ash_error_t err = {0};
    struct ash_nl *root, *hub;
    ck_assert_int_eq(ash_nl_open(&root, &err), 0);
    int idx = 0;
    ck_assert_int_eq(ash_nl_link_index(root, ash_sandbox_bridge(sb), &idx, &err), 0);
    ck_assert_msg(idx == 0, "the bridge %s is in the root namespace", ash_sandbox_bridge(sb));
    ck_assert_int_eq(ash_nl_link_index(root, ash_host_veth(a), &idx, &err), 0);
    ck_assert_msg(idx == 0, "host a's veth %s is in the root namespace", ash_host_veth(a));
    ck_assert_int_eq(ash_nl_link_index(root, ash_sandbox_gateway_link(sb), &idx, &err), 0);
    ck_assert_msg(idx > 0, "no gateway link %s here", ash_sandbox_gateway_link(sb));
    ash_nl_close(root);
    char name[64];
    snprintf(name, sizeof name, "ash-%s", run);
    ck_assert_str_eq(ash_sandbox_hub_netns(sb), name);
    ck_assert_msg(ash_netns_exists(name), "no /run/netns/%s", name);
    ck_assert_int_eq(ash_nl_open_in(ash_sandbox_hub_fd(sb), &hub, &err), 0);
    ck_assert_int_eq(ash_nl_link_index(hub, ash_sandbox_bridge(sb), &idx, &err), 0);
    ck_assert_msg(idx > 0, "no bridge in the hub");
    ck_assert_int_eq(ash_nl_link_index(hub, ash_host_veth(b), &idx, &err), 0);
    ck_assert_msg(idx > 0, "host b's veth is not in the hub");
    ash_nl_close(hub);
    /* The gateway address is on the gateway link. */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ash_sandbox_gateway_link(sb));
    ck_assert_int_eq(ioctl(fd, SIOCGIFADDR, &ifr), 0);
    close(fd);
    char gw[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, gw, sizeof gw);
    ck_assert_str_eq(gw, ash_sandbox_gateway(sb));
    /* From here to host b at its address, and from host a to host b by name. */
    pid_t srv = start_server(b);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, ash_host_address(b), &sa.sin_addr);
    ck_assert_msg(connect(c, (struct sockaddr *)&sa, sizeof sa) == 0, "connect from the root to %s: %s",
                  ash_host_address(b), strerror(errno));
    ck_assert_int_eq(write(c, "ping", 4), 4);
    char reply[128] = "";
    ck_assert_int_gt(read(c, reply, sizeof reply - 1), 0);
    ck_assert_str_eq(reply, "pong from b");
    close(c);
    ck_assert_int_eq(client_by_name(a, "b"), 0);
    stop(srv);
    finish(sb);
    assert_clean(run);
    ck_assert_msg(!ash_netns_exists(name), "the hub %s is still named", name);
}
END_TEST

START_TEST(test_reach_by_name)
{
    if (!can_run())
        return;
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    struct ash_host *a = ash_sandbox_host(sb, "a"), *b = ash_sandbox_host(sb, "b");
    char out[256];
    getent_in(a, "b", out, sizeof out);
    ck_assert_msg(strncmp(out, ash_host_address(b), strlen(ash_host_address(b))) == 0, "getent said '%s'", out);
    pid_t srv = start_server(b);
    ck_assert_int_eq(client_by_name(a, "b"), 0);
    /* Killing the host's processes through the cgroup takes the server too. */
    ash_error_t err = {0};
    ck_assert_msg(ash_host_kill_all(b, &err) == 0, "%s", err.msg);
    int st;
    ck_assert_int_eq(waitpid(srv, &st, 0), srv);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    finish(sb);
    assert_clean(run);
}
END_TEST

/* What host h sees at `path`, and whether something is mounted there in its
 * mount namespace (its /proc/self/mountinfo names it as a mount point). */
static void read_in(struct ash_host *h, const char *path, char *out, size_t len, bool *mounted)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (ash_host_enter(h) < 0)
            _exit(30);
        FILE *mi = fopen("/proc/self/mountinfo", "re");
        char line[4096], want[300];
        snprintf(want, sizeof want, " %s ", path);
        char m = 'n';
        while (mi && fgets(line, sizeof line, mi))
            if (strstr(line, want))
                m = 'm';
        if (mi)
            fclose(mi);
        FILE *f = fopen(path, "re");
        char buf[1024];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (write(p[1], &m, 1) != 1 || write(p[1], buf, n) != (ssize_t)n)
            _exit(31);
        _exit(0);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 && (n = read(p[0], out + got, len - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(p[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reading %s in host %s: status %#x", path, ash_host_name(h),
                  st);
    ck_assert_uint_ge(got, 1);
    *mounted = out[0] == 'm';
    memmove(out, out + 1, got);
}

/* A machine whose nsswitch.conf sends host lookups to another source
 * (systemd-resolved here) gives its hosts a copy with "hosts: files dns"
 * bound over it, the rest unchanged, the machine's own file untouched; one
 * with only files and dns gets no bind at all. nscd's directory is hidden
 * behind an empty one, its socket untouched outside. */
START_TEST(test_nsswitch)
{
    if (!can_run())
        return;
    const char *run = g_run;
    char path[128], out[1024];
    snprintf(path, sizeof path, "%s/nsswitch.conf", g_state);
    const char *machine = "passwd: files systemd\nhosts: files resolve [!UNAVAIL=return] dns myhostname\n";
    /* A machine running nscd: its socket, which no host may see. */
    char nscd[128], sock[160];
    snprintf(nscd, sizeof nscd, "%s/nscd", g_state);
    snprintf(sock, sizeof sock, "%s/socket", nscd);
    ck_assert_int_eq(mkdir(nscd, 0755), 0);
    FILE *sf = fopen(sock, "we"); /* a file with something in it, seen or not */
    ck_assert_ptr_nonnull(sf);
    fputs("nscd", sf);
    fclose(sf);
    ash_sandbox_nscd_dir = nscd;
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fputs(machine, f);
    fclose(f);
    ash_sandbox_nsswitch = path;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    bool mounted = false;
    for (size_t i = 0; i < 2; i++) {
        read_in(ash_sandbox_host_at(sb, i), path, out, sizeof out, &mounted);
        ck_assert_str_eq(out, "passwd: files systemd\nhosts: files dns\n");
        ck_assert(mounted);
        read_in(ash_sandbox_host_at(sb, i), sock, out, sizeof out, &mounted);
        ck_assert_msg(out[0] == '\0' && !mounted, "host %zu sees nscd's socket", i);
        read_in(ash_sandbox_host_at(sb, i), nscd, out, sizeof out, &mounted);
        ck_assert_msg(mounted, "host %zu: nothing mounted over nscd's directory", i);
    }
    ck_assert_int_eq(access(sock, F_OK), 0);
    f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = '\0';
    ck_assert_str_eq(out, machine);
    finish(sb);
    assert_clean(run);

    f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fputs("hosts: files dns\n", f);
    fclose(f);
    sb = build(&hs, 1, run, NULL);
    read_in(ash_sandbox_host_at(sb, 0), path, out, sizeof out, &mounted);
    ck_assert_str_eq(out, "hosts: files dns\n");
    ck_assert(!mounted);
    finish(sb);
    assert_clean(run); /* guard_teardown removes the files and resets the paths */
}
END_TEST

/* Client sockets made by this (test) process inside host `from`. */
struct conn_arg {
    const char *addr;
    int fd;
    int err;
};

static int make_socket(void *arg)
{
    struct conn_arg *c = arg;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return c->fd < 0 ? -1 : 0;
}

/* Connect within timeout_ms: 0 connected, else errno (ETIMEDOUT when nothing came back). */
static int try_connect(struct ash_host *from, const char *addr, int timeout_ms, int *fd_out)
{
    struct conn_arg c = {.addr = addr, .fd = -1};
    ck_assert_int_eq(ash_host_run_in_netns(from, make_socket, &c), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    int r = connect(c.fd, (struct sockaddr *)&sa, sizeof sa);
    int e = 0;
    if (r < 0 && errno != EINPROGRESS) {
        e = errno;
    } else if (r < 0) {
        struct pollfd p = {.fd = c.fd, .events = POLLOUT};
        if (poll(&p, 1, timeout_ms) == 0) {
            e = ETIMEDOUT;
        } else {
            socklen_t l = sizeof e;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &e, &l);
        }
    }
    if (e == 0 && fd_out) {
        *fd_out = c.fd;
    } else {
        close(c.fd);
    }
    return e;
}

/* Wait for a reply on fd: 1 got one, 0 nothing within timeout. */
static int reply_within(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) > 0 ? 1 : 0;
}

START_TEST(test_freeze_kill_isolate)
{
    if (!can_run())
        return;
    const char *run = g_run;
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, NULL);
    struct ash_host *a = ash_sandbox_host(sb, "a"), *b = ash_sandbox_host(sb, "b");
    const char *baddr = ash_host_address(b);
    ash_error_t err = {0};
    pid_t srv = start_server(b);
    int fd;
    ck_assert_int_eq(try_connect(a, baddr, 2000, &fd), 0);
    ck_assert_int_eq(write(fd, "ping", 4), 4);
    ck_assert_int_eq(reply_within(fd, 2000), 1);
    close(fd);

    /* freeze: the host hangs. Its kernel still completes handshakes (the
     * listen backlog), but the request stalls: no reply, no reset, until thawed. */
    ck_assert_int_eq(try_connect(a, baddr, 2000, &fd), 0);
    ck_assert_msg(ash_host_freeze(b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(write(fd, "ping", 4), 4);
    ck_assert_int_eq(reply_within(fd, 500), 0);
    ck_assert_msg(ash_host_thaw(b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(reply_within(fd, 2000), 1);
    close(fd);

    /* kill: every process of the host dies at once; with links still up the
     * host's kernel answers with a reset: refused at once. */
    ck_assert_msg(ash_host_kill_all(b, &err) == 0, "%s", err.msg);
    waitpid(srv, NULL, 0);
    int64_t t0 = ash_now_ns();
    ck_assert_int_eq(try_connect(a, baddr, 2000, NULL), ECONNREFUSED);
    ck_assert_int_lt(ash_now_ns() - t0, 1000 * ASH_NS_PER_MS);

    /* isolate: the host runs on but its links are down. Nothing answers: the
     * connection attempt times out (or the neighbour lookup fails). */
    srv = start_server(b);
    ck_assert_msg(ash_host_links_down(b, &err) == 0, "%s", err.msg);
    int e = try_connect(a, baddr, 1000, NULL);
    ck_assert_msg(e == ETIMEDOUT || e == EHOSTUNREACH, "isolated host answered: %s", strerror(e));
    ck_assert_int_eq(kill(srv, 0), 0); /* still running */
    ck_assert_msg(ash_host_links_up(b, &err) == 0, "%s", err.msg);
    /* Back: the same server answers again (and its default route is back). */
    ck_assert_int_eq(try_connect(a, baddr, 5000, &fd), 0);
    ck_assert_int_eq(write(fd, "ping", 4), 4);
    ck_assert_int_eq(reply_within(fd, 2000), 1);
    close(fd);
    stop(srv);
    finish(sb);
    assert_clean(run);
}
END_TEST

/* ---- the host-crash fault ---- */

static bool restored;
static int64_t restored_at;
static char fault_error[512]; /* the last fault-error event: why a restore failed */

static void on_event(struct ash_ctx *ctx, int64_t t, const char *event, const char *detail)
{
    (void)ctx;
    if (strcmp(event, "fault-error") == 0)
        snprintf(fault_error, sizeof fault_error, "%s", detail);
    if (strcmp(event, "host-restored") == 0) {
        restored = true;
        restored_at = t;
    }
}

static struct ash_fault_spec crash_spec(const char *yaml)
{
    const struct ash_fault_kind *k = ash_fault_kind_find("host-crash");
    ck_assert_ptr_nonnull(k);
    ash_error_t err = {0};
    ash_doc *doc;
    ck_assert_int_eq(ash_doc_load_string("t.yaml", yaml, strlen(yaml), &doc, &err), 0);
    void *conf = calloc(1, k->c.conf_size);
    if (k->c.defaults)
        k->c.defaults(conf);
    ash_node root = ash_doc_root(doc);
    ck_assert_msg(ash_fields_parse(&root, k->c.fields, conf, &err) == 0, "%s", err.msg);
    ash_doc_free(doc);
    return (struct ash_fault_spec){.name = "crash", .kind = k, .conf = conf};
}

START_TEST(test_host_crash_fault)
{
    if (!can_run())
        return;
    const char *run = g_run;
    const char *state = g_state;
    ash_error_t err = {0};
    struct ash_journal *j;
    ck_assert_int_eq(ash_journal_open(state, run, &j, &err), 0);
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, run, j);
    struct ash_host *a = ash_sandbox_host(sb, "a"), *b = ash_sandbox_host(sb, "b");
    const char *baddr = ash_host_address(b);
    ash_loop *loop;
    ck_assert_int_eq(ash_loop_new(&loop, &err), 0);
    struct ash_ctx ctx = {.loop = loop, .journal = j, .sandbox = sb, .event = on_event};
    pid_t srv = start_server(b);

    /* freeze: request stalls; revert thaws and the reply arrives. */
    struct ash_fault_spec f = crash_spec("host: b\nmode: freeze\n");
    int fd;
    ck_assert_int_eq(try_connect(a, baddr, 2000, &fd), 0);
    void *st = NULL;
    ck_assert_msg(f.kind->inject(&ctx, &f, &st, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(write(fd, "ping", 4), 4);
    ck_assert_int_eq(reply_within(fd, 300), 0);
    ck_assert_msg(f.kind->revert(&ctx, &f, st, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(reply_within(fd, 2000), 1);
    close(fd);
    ash_fields_free(f.kind->c.fields, f.conf);
    free(f.conf);

    /* isolate with restart_after: links come back by themselves. */
    f = crash_spec("host: b\nmode: isolate\nrestart_after: 200ms\n");
    restored = false;
    int64_t t0 = ash_now_ns();
    ck_assert_msg(f.kind->inject(&ctx, &f, &st, &err) == 0, "%s", err.msg);
    ck_assert(ash_host_links_are_down(b));
    ck_assert_int_ne(try_connect(a, baddr, 100, NULL), 0);
    fault_error[0] = '\0';
    ck_assert_int_eq(ash_loop_run_until(loop, &restored, ash_now_ns() + 5 * ASH_NS_PER_S, &err), 0);
    ck_assert_msg(restored, "host not restored: %s", fault_error[0] ? fault_error : "no event within 5 s");
    ck_assert_int_ge(restored_at - t0, 200 * ASH_NS_PER_MS);
    ck_assert(!ash_host_links_are_down(b));
    ck_assert_int_eq(try_connect(a, baddr, 5000, &fd), 0);
    close(fd);
    ck_assert_msg(f.kind->revert(&ctx, &f, st, &err) == 0, "%s", err.msg); /* nothing left to undo */
    ash_fields_free(f.kind->c.fields, f.conf);
    free(f.conf);

    /* kill: the server dies with its host, links go down; revert brings links back. */
    f = crash_spec("host: b\nmode: kill\n");
    ck_assert_msg(f.kind->inject(&ctx, &f, &st, &err) == 0, "%s", err.msg);
    int wst;
    ck_assert_int_eq(waitpid(srv, &wst, 0), srv);
    ck_assert(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
    ck_assert(ash_host_links_are_down(b));
    ck_assert_msg(f.kind->revert(&ctx, &f, st, &err) == 0, "%s", err.msg);
    ck_assert(!ash_host_links_are_down(b));
    ck_assert_int_eq(try_connect(a, baddr, 5000, NULL), ECONNREFUSED); /* up, nothing listening */
    ash_fields_free(f.kind->c.fields, f.conf);
    free(f.conf);

    ash_loop_free(loop);
    ash_sandbox_destroy(sb);
    ck_assert_int_eq((int)ash_journal_pending(j), 0);
    ash_journal_close(j, true);
    assert_clean(run);
}
END_TEST

/* ---- recover ---- */

static int undo_cb(const char *op, json_t *data, bool committed, void *arg, ash_error_t *err)
{
    (void)committed;
    (void)arg;
    const struct ash_undo_op *u = ash_undo_op_find(op);
    if (!u)
        return ash_error(err, ENOENT, "no undo op %s", op);
    return u->undo(data, err);
}

static void on_undo_error(const char *op, const ash_error_t *e, void *arg)
{
    (void)arg;
    fprintf(stderr, "undo %s: %s\n", op, e->msg);
}

START_TEST(test_recover_after_crash)
{
    if (!can_run())
        return;
    const char *run = g_run;
    const char *state = g_state;
    /* The "run" is a child that builds a 3-host sandbox, starts a process in
     * one host and dies without tearing anything down (like SIGKILL). */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        struct ash_journal *j;
        ash_error_t err = {0};
        if (ash_journal_open(state, run, &j, &err) < 0)
            _exit(1);
        struct hosts hs;
        make_scenario(&hs, 3);
        struct ash_sandbox *sb;
        if (ash_sandbox_create(&hs.sc, run, j, &sb, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(2);
        }
        pid_t sleeper = fork();
        if (sleeper == 0) {
            if (ash_host_enter(ash_sandbox_host(sb, "b")) < 0)
                _exit(3);
            pause();
            _exit(0);
        }
        usleep(50000);
        if (write(p[1], &sleeper, sizeof sleeper) < 0)
            _exit(4);
        _exit(0);
    }
    close(p[1]);
    pid_t sleeper = 0;
    ck_assert_int_eq(read(p[0], &sleeper, sizeof sleeper), (ssize_t)sizeof sleeper);
    close(p[0]);
    int st;
    waitpid(child, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char what[4096];
    ck_assert_int_gt(leftovers(run, what, sizeof what), 0);
    ck_assert_int_eq(kill(sleeper, 0), 0);

    char jpath[256];
    snprintf(jpath, sizeof jpath, "%s/%s.journal", state, run);
    ash_error_t err = {0};
    int failed = ash_journal_replay(jpath, undo_cb, NULL, on_undo_error, &err);
    ck_assert_int_eq(failed, 0);
    assert_clean(run);
    /* The sleeper was in the host's cgroup: gone (a zombie at most, reaped by init). */
    char s = 0;
    for (int i = 0; i < 200; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)sleeper);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        s = fgets(buf, sizeof buf, f) && strrchr(buf, ')') ? strrchr(buf, ')')[2] : 0;
        fclose(f);
        if (s == 'Z')
            break;
        usleep(5000);
    }
    ck_assert_msg(s == 0 || s == 'Z', "sleeper %d still runs (state %c)", (int)sleeper, s);
    ck_assert_int_ne(access(jpath, F_OK), 0);
}
END_TEST

/* ---- the fixture itself ---- */

/* Dies mid-test, as a failed assertion ends the child: a host with a process
 * in it, nothing torn down. Registered as an exit test (status 3). */
START_TEST(test_guard_dies)
{
    if (!can_run())
        _exit(3);
    struct hosts hs;
    struct ash_sandbox *sb = build(&hs, 2, g_run, NULL);
    start_server(ash_sandbox_host(sb, "b"));
    _exit(3);
}
END_TEST

/* ...and the fixture's teardown recovered all of it. */
START_TEST(test_guard_left_nothing)
{
    if (!can_run())
        return;
    if (!g_prev_run[0]) {
        ash_test_skip("it checks the case run before it (guard_dies), which did not run");
        return;
    }
    assert_clean(g_prev_run);
}
END_TEST

/* One test case per test: the unchecked fixture runs around each test. */
static void add_guarded(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, guard_setup, guard_teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *suite(void)
{
    Suite *s = suite_create("sandbox");
    add_guarded(s, "two_hosts", test_two_hosts);
    add_guarded(s, "ten_hosts", test_ten_hosts);
    add_guarded(s, "subnet_lock", test_subnet_lock_not_held_for_the_hub);
    add_guarded(s, "proc_sys_read_only", test_proc_sys_read_only);
    add_guarded(s, "hub_shape", test_hub_shape);
    add_guarded(s, "reach_by_name", test_reach_by_name);
    add_guarded(s, "nsswitch", test_nsswitch);
    add_guarded(s, "freeze_kill_isolate", test_freeze_kill_isolate);
    add_guarded(s, "crash", test_host_crash_fault);
    add_guarded(s, "recover", test_recover_after_crash);
    TCase *tc = tcase_create("guard_dies");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, guard_setup, guard_teardown);
    tcase_add_exit_test(tc, test_guard_dies, 3);
    suite_add_tcase(s, tc);
    add_guarded(s, "guard_left_nothing", test_guard_left_nothing);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
