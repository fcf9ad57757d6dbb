/* The probe that measured the sandbox's hub shape before it was made (issue
 * 19, docs/performance.md, "Sandbox"): one host built and torn down with its
 * bridge in the root namespace (the shape before, deleted synchronously) and
 * with the bridge in a hub namespace (the root keeps one veth carrying the
 * gateway address, its peer a port of the hub's bridge: the sandbox's shape
 * now), interleaved with the sandbox itself and the `ip` script.
 * Every shape does the same host work: a netns, a veth port of the bridge
 * with eth0 inside, lo and eth0 up, an address, a default route.
 * Hub teardowns: "wait" closes the namespaces and waits until the root's
 * veth is gone with the hub; "delete" deletes the root's veth, then closes;
 * "detach" deletes it on a detached thread and waits until its name is gone
 * (what the sandbox's teardown waits for). Uses 10.254.77.0/24 and
 * 10.254.78.0/24, as the script uses 10.254.250.0/24.
 * Usage: bench_sandbox_hub [REPEATS] [wait|delete|detach]   (root) */
#include "bench_args.h"
#include "bench_signals.h"
#include "env/sandbox.h"
#include "sys/clock.h"
#include "sys/journal.h"
#include "sys/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_REPEATS 64

enum hub_end { HUB_WAIT, HUB_DELETE, HUB_DETACH };

static int g_back = -1; /* the root network namespace, to come back to */

/* A new network namespace made by this thread, which goes back to the root. */
static int new_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return -1;
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (setns(g_back, CLONE_NEWNET) < 0)
        abort(); /* this thread would go on in the wrong namespace */
    return fd;
}

static void wait_gone(const char *name)
{
    while (if_nametoindex(name) != 0)
        usleep(200);
}

static uint32_t ip4(const char *s)
{
    uint32_t a = 0;
    inet_pton(AF_INET, s, &a);
    return a;
}

/* The host: netns, veth `veth` (made through `nl`) a port of bridge `br`,
 * eth0 inside, lo and eth0 up, address, default route. Its netns fd, -1. */
static int make_host(struct ash_nl *nl, int br, const char *veth, const char *addr, const char *gw, ash_error_t *err)
{
    int fd = new_netns();
    if (fd < 0)
        return ash_error(err, errno, "unshare(net)");
    struct ash_nl *h = NULL;
    int eth0 = 0;
    if (ash_nl_veth_add(nl, veth, "eth0", fd, br, true, err) < 0 || ash_nl_open_in(fd, &h, err) < 0 ||
        ash_nl_link_set_up(h, 1, true, err) < 0 || ash_nl_link_index(h, "eth0", &eth0, err) < 0 ||
        ash_nl_link_set_up(h, eth0, true, err) < 0 || ash_nl_addr4_add(h, eth0, ip4(addr), 24, err) < 0 ||
        ash_nl_route4_default(h, ip4(gw), eth0, err) < 0) {
        ash_nl_close(h);
        close(fd); /* the veth goes with the namespace */
        return -1;
    }
    ash_nl_close(h);
    return fd;
}

/* Today's shape: the bridge in the root namespace, deleted at the teardown. */
static int64_t shape_root(struct ash_nl *root, int r, ash_error_t *err)
{
    char br[IF_NAMESIZE], veth[IF_NAMESIZE];
    snprintf(br, sizeof br, "ashb%dr%d", (int)getpid() % 10000, r);
    snprintf(veth, sizeof veth, "ashb%dv%d", (int)getpid() % 10000, r);
    int64_t t0 = ash_now_ns();
    int bi = 0, h = -1;
    if (ash_nl_bridge_add(root, br, false, &bi, err) < 0)
        return -1;
    if (ash_nl_link_forwarding4(root, bi, false, err) < 0)
        goto fail;
    ash_nl_link_ipv6_noaddr(root, bi, NULL);
    if (ash_nl_addr4_add(root, bi, ip4("10.254.77.1"), 24, err) < 0 || ash_nl_link_set_up(root, bi, true, err) < 0)
        goto fail;
    h = make_host(root, bi, veth, "10.254.77.2", "10.254.77.1", err);
    if (h < 0)
        goto fail;
    close(h);
    if (ash_nl_link_delete(root, bi, err) < 0)
        goto fail;
    wait_gone(veth);
    return ash_now_ns() - t0;
fail:
    ash_nl_link_delete(root, bi, NULL);
    return -1;
}

static void *delete_thread(void *arg)
{
    char *name = arg;
    struct ash_nl *nl = NULL;
    if (ash_nl_open(&nl, NULL) == 0)
        ash_nl_link_delete_name(nl, name, NULL);
    ash_nl_close(nl);
    free(name);
    return NULL;
}

/* The hub shape: nothing of the run in the root but one veth (the gateway). */
static int64_t shape_hub(struct ash_nl *root, int r, enum hub_end end, ash_error_t *err)
{
    char gwl[IF_NAMESIZE];
    snprintf(gwl, sizeof gwl, "ashb%dg%d", (int)getpid() % 10000, r);
    int64_t t0 = ash_now_ns();
    int hub = new_netns(), h = -1, bi = 0, gi = 0;
    struct ash_nl *hn = NULL;
    if (hub < 0)
        return ash_error(err, errno, "unshare(net)");
    int64_t ret = -1;
    /* The gateway's veth is made from the hub: its peer goes to the root. */
    if (ash_nl_open_in(hub, &hn, err) < 0 || ash_nl_bridge_add(hn, "br0", true, &bi, err) < 0 ||
        ash_nl_veth_add(hn, "up0", gwl, g_back, bi, true, err) < 0 || ash_nl_link_index(root, gwl, &gi, err) < 0 ||
        ash_nl_link_forwarding4(root, gi, false, err) < 0)
        goto out;
    ash_nl_link_ipv6_noaddr(root, gi, NULL);
    if (ash_nl_addr4_add(root, gi, ip4("10.254.78.1"), 24, err) < 0 || ash_nl_link_set_up(root, gi, true, err) < 0)
        goto out;
    h = make_host(hn, bi, "v0", "10.254.78.2", "10.254.78.1", err);
    if (h < 0)
        goto out;
    ash_nl_close(hn);
    hn = NULL;
    if (end == HUB_DELETE && ash_nl_link_delete(root, gi, err) < 0)
        goto out;
    if (end == HUB_DETACH) {
        pthread_t t;
        pthread_attr_t a;
        char *name = strdup(gwl);
        if (!name || pthread_attr_init(&a) != 0 || pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) != 0 ||
            pthread_create(&t, &a, delete_thread, name) != 0) {
            free(name);
            ash_error(err, ENOMEM, "delete thread");
            goto out;
        }
        pthread_attr_destroy(&a);
    }
    close(h);
    close(hub);
    h = hub = -1;
    wait_gone(gwl);
    ret = ash_now_ns() - t0;
out:
    ash_nl_close(hn);
    if (h >= 0)
        close(h);
    if (hub >= 0)
        close(hub); /* takes the root's veth with it */
    return ret;
}

static int64_t today(int r, ash_error_t *err)
{
    struct ash_host_spec hs = {.name = "h0"};
    struct ash_scenario sc = {.hosts = &hs, .n_hosts = 1};
    char run[16];
    snprintf(run, sizeof run, "hb%x%d", (unsigned)getpid() & 0xfff, r);
    struct ash_journal *j;
    struct ash_sandbox *sb;
    if (ash_journal_open(ASH_DEFAULT_STATE_DIR, run, &j, err) < 0)
        return -1;
    int64_t t0 = ash_now_ns();
    if (ash_sandbox_create(&sc, run, j, &sb, err) < 0) {
        ash_journal_close(j, true);
        return -1;
    }
    ash_sandbox_destroy(sb);
    int64_t t = ash_now_ns() - t0;
    ash_journal_close(j, true);
    return t;
}

static int64_t ip_script(const char *script, int r)
{
    char run[16];
    snprintf(run, sizeof run, "hq%x%d", (unsigned)getpid() & 0xfff, r);
    int64_t t0 = ash_now_ns();
    for (int k = 0; k < 2; k++) {
        pid_t p = fork();
        if (p < 0)
            return -1;
        if (p == 0) {
            execlp("bash", "bash", script, k ? "down" : "up", run, "1", (char *)NULL);
            _exit(127);
        }
        int st;
        if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return -1;
    }
    return ash_now_ns() - t0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    ash_bench_args(argc, argv, "bench_sandbox_hub [REPEATS] [wait|delete|detach]   (root)", 1u << 1,
                   "wait delete detach");
    if (geteuid() != 0) {
        fprintf(stderr, "bench_sandbox_hub: needs root (namespaces, links)\n");
        return 77;
    }
    ash_bench_hold_signals();
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1 || reps > MAX_REPEATS)
        reps = 7;
    const char *how = argc > 2 ? argv[2] : "detach";
    enum hub_end end = strcmp(how, "wait") == 0 ? HUB_WAIT : strcmp(how, "delete") == 0 ? HUB_DELETE : HUB_DETACH;
    static char script[4096];
    const char *src = getenv("ASH_SOURCE_DIR");
    snprintf(script, sizeof script, "%s/bench/sandbox_ip_script.sh", src ? src : ".");
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "bench_sandbox_hub: cannot find %s (set ASH_SOURCE_DIR)\n", script);
        return 2;
    }
    g_back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    struct ash_nl *root = NULL;
    ash_error_t err = {0};
    if (g_back < 0 || ash_nl_open(&root, &err) < 0) {
        fprintf(stderr, "bench_sandbox_hub: %s\n", err.msg[0] ? err.msg : strerror(errno));
        return 1;
    }
    static int64_t v[4][MAX_REPEATS];
    const char *names[] = {"sandbox (today)", "bridge in root", "bridge in hub", "ip script"};
    int ret = 0;
    for (int r = 0; r < reps && ret == 0 && !ash_bench_signal; r++) {
        v[0][r] = today(r, &err);
        v[1][r] = v[0][r] < 0 ? -1 : shape_root(root, r, &err);
        v[2][r] = v[1][r] < 0 ? -1 : shape_hub(root, r, end, &err);
        v[3][r] = v[2][r] < 0 ? -1 : ip_script(script, r);
        for (int k = 0; k < 4; k++)
            if (v[k][r] < 0) {
                fprintf(stderr, "bench_sandbox_hub: %s: %s\n", names[k], err.msg[0] ? err.msg : "failed");
                ret = 1;
                break;
            }
    }
    if (ret == 0) {
        printf("one host, build+teardown, %d interleaved rounds (ms), hub teardown: %s\n", reps, how);
        for (int k = 0; k < 4; k++) {
            qsort(v[k], (size_t)reps, sizeof v[k][0], cmp64);
            printf("%-16s min %7.1f median %7.1f max %7.1f\n", names[k], ash_ns_to_ms(v[k][0]),
                   ash_ns_to_ms(v[k][reps / 2]), ash_ns_to_ms(v[k][reps - 1]));
        }
    }
    ash_nl_close(root);
    close(g_back);
    return ret;
}
