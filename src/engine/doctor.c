/* `aftershock doctor`: what this machine supports, each item tried for real
 * (in a throw-away network namespace or cgroup where it makes something), with
 * yes/no and the reason. One table of sections: a fault family adds one line. */
#include <aftershock/aftershock.h>

#include "env/docker.h"
#include "env/sandbox_fw.h"
#include "env/target.h"
#include "kinds.h"
#include "sys/cgroup.h"
#include "sys/doctor_line.h"
#include "sys/netlink.h"
#include "sys/netns.h"
#include "sys/nft.h"

#include <errno.h>
#include <linux/pkt_sched.h>
#include <linux/seccomp.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- running a check in a throw-away network namespace ---- */

/* Fork; the child unshares a new network namespace (gone when it exits, with
 * everything made in it) and runs fn, printing its lines into a pipe that the
 * parent copies to out. Nothing on the machine's own network is touched. */
static void in_throwaway_netns(FILE *out, void (*fn)(FILE *out))
{
    fflush(out);
    int p[2];
    if (pipe(p) < 0) {
        ash_doctor_line(out, "network namespace", false, "cannot make a pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        ash_doctor_line(out, "network namespace", false, "cannot fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0) {
        close(p[0]);
        FILE *w = fdopen(p[1], "w");
        if (!w)
            _exit(1);
        if (unshare(CLONE_NEWNET) < 0)
            ash_doctor_line(w, "network namespace", false, "unshare(CLONE_NEWNET): %s%s", strerror(errno),
                            errno == EPERM ? " (needs root / CAP_SYS_ADMIN)" : "");
        else
            fn(w);
        fclose(w);
        _exit(0);
    }
    close(p[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            fwrite(buf, 1, (size_t)n, out);
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* ---- privileges ---- */

static bool has_cap(unsigned cap)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return false;
    char line[256];
    unsigned long long eff = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    return (eff >> cap) & 1ULL;
}

static void doctor_privileges(FILE *out)
{
    uid_t u = geteuid();
    ash_doctor_line(out, "root", u == 0, "effective uid %u%s", (unsigned)u, u == 0 ? "" : ": sandbox mode needs root");
    bool admin = has_cap(21), net = has_cap(12), kill_cap = has_cap(5);
    ash_doctor_line(out, "CAP_SYS_ADMIN", admin, "%s",
                    admin ? "namespaces, mounts and cgroups can be made" : "missing: no namespaces, mounts or cgroups");
    ash_doctor_line(out, "CAP_NET_ADMIN", net, "%s",
                    net ? "links, addresses, qdiscs and nftables can be changed"
                        : "missing: no links, qdiscs or nftables");
    ash_doctor_line(out, "CAP_KILL", kill_cap, "%s",
                    kill_cap ? "other users' processes can be signalled"
                             : "missing: only own processes can be signalled");
}

/* ---- namespaces and links ---- */

static void try_links(FILE *out)
{
    ash_doctor_line(out, "network namespace", true, "unshare(CLONE_NEWNET) works");
    struct ash_nl *nl;
    ash_error_t err = {0};
    if (ash_nl_open(&nl, &err) < 0) {
        ash_doctor_line(out, "rtnetlink", false, "%s", err.msg);
        return;
    }
    int br = 0;
    if (ash_nl_bridge_add(nl, "ash-doctor-br", true, &br, &err) < 0)
        ash_doctor_line(out, "bridge", false, "%s", err.msg);
    else
        ash_doctor_line(out, "bridge", true, "made one over netlink (kernel bridge module)");
    if (ash_nl_veth_add(nl, "ash-doctor-v0", "ash-doctor-v1", -1, br, true, &err) < 0)
        ash_doctor_line(out, "veth pair", false, "%s", err.msg);
    else
        ash_doctor_line(out, "veth pair", true, "made one over netlink%s", br > 0 ? ", attached to the bridge" : "");
    ash_nl_close(nl);
    /* This child is throw-away: unsharing more of it changes nothing outside. */
    if (unshare(CLONE_NEWUTS) == 0)
        ash_doctor_line(out, "UTS namespace", true, "hosts get their own hostname");
    else
        ash_doctor_line(out, "UTS namespace", false, "unshare(CLONE_NEWUTS): %s", strerror(errno));
    if (unshare(CLONE_NEWNS) == 0)
        ash_doctor_line(out, "mount namespace", true, "hosts get their own /etc/hosts and resolv.conf");
    else
        ash_doctor_line(out, "mount namespace", false, "unshare(CLONE_NEWNS): %s", strerror(errno));
}

/* Sandbox hosts and the hub are named namespaces, bind-mounted under
 * /run/netns as `ip netns add` does: that needs a writable /run and mount
 * rights, which a throw-away unshare does not show. Like a sandbox run (and
 * `ip netns add`), it leaves /run/netns itself as a shared mount point. */
static void try_named_netns(FILE *out)
{
    char name[64];
    snprintf(name, sizeof name, "ash-doctor-%d", (int)getpid());
    ash_error_t err = {0};
    if (ash_netns_prepare_dir(&err) < 0 || ash_netns_create(name, NULL, &err) < 0) {
        ash_doctor_line(out, "named namespace", false, "%s: sandbox hosts cannot be made", err.msg);
        return;
    }
    if (ash_netns_delete(name, &err) < 0)
        ash_doctor_line(out, "named namespace", false, "made %s/%s but %s", ASH_NETNS_DIR, name, err.msg);
    else
        ash_doctor_line(out, "named namespace", true, "made and removed %s/%s (as `ip netns` would)", ASH_NETNS_DIR,
                        name);
}

static void doctor_namespaces(FILE *out)
{
    in_throwaway_netns(out, try_links);
    try_named_netns(out);
}

/* ---- qdiscs ---- */

static int add_qdisc(struct nl_sock *sk, int ifindex, const char *kind, char *why, size_t len)
{
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
    int r = rtnl_tc_set_kind(TC_CAST(q), kind);
    if (r == 0) {
        if (strcmp(kind, "tbf") == 0) {
            rtnl_qdisc_tbf_set_limit(q, 100000);
            rtnl_qdisc_tbf_set_rate(q, 125000, 16000, 0);
        } else if (strcmp(kind, "htb") == 0) {
            rtnl_htb_set_defcls(q, 1);
        } else if (strcmp(kind, "netem") == 0) {
            rtnl_netem_set_delay(q, 1000);
        }
        r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
    }
    if (r < 0)
        snprintf(why, len, "%s", nl_geterror(r));
    else
        rtnl_qdisc_delete(sk, q);
    rtnl_qdisc_put(q);
    return r < 0 ? -1 : 0;
}

static void try_qdiscs(FILE *out)
{
    struct ash_nl *nl;
    ash_error_t err = {0};
    int ifindex = 0;
    /* A veth, like a sandbox link; loopback if veths cannot be made. */
    if (ash_nl_open(&nl, &err) == 0) {
        if (ash_nl_veth_add(nl, "ash-doctor-q0", "ash-doctor-q1", -1, 0, true, &err) == 0)
            ash_nl_link_index(nl, "ash-doctor-q0", &ifindex, &err);
        if (ifindex <= 0)
            ash_nl_link_index(nl, "lo", &ifindex, &err);
        ash_nl_close(nl);
    }
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0 || ifindex <= 0) {
        ash_doctor_line(out, "qdiscs", false, "cannot open rtnetlink in a throw-away namespace");
        if (sk)
            nl_socket_free(sk);
        return;
    }
    static const struct {
        const char *kind, *use, *missing;
    } q[] = {
        {"tbf", "bandwidth cap with a deep queue", "no tbf: bandwidth caps need htb"},
        {"htb", "bandwidth cap per class", "no htb: bandwidth caps need tbf"},
        {"netem", "delay, jitter, loss, corruption in the kernel",
         "no sch_netem in this kernel: netem delay, jitter and loss cannot be used here"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char why[256];
        char what[32];
        snprintf(what, sizeof what, "qdisc %s", q[i].kind);
        if (add_qdisc(sk, ifindex, q[i].kind, why, sizeof why) == 0)
            ash_doctor_line(out, what, true, "%s (added and deleted on a throw-away link)", q[i].use);
        else
            ash_doctor_line(out, what, false, "%s: %s", why, q[i].missing);
    }
    nl_socket_free(sk);
}

static void doctor_qdiscs(FILE *out)
{
    in_throwaway_netns(out, try_qdiscs);
}

/* ---- nftables ---- */

/* Both nftables paths make a table with a rule in the throw-away namespace: the
 * faults' netlink batch (libnftnl) and the sandbox egress guard's libnftables. */
static int try_fault_table(ash_error_t *err)
{
    const struct ash_nft_rule loss = {.what = ASH_NFT_DROP_SOME, .arg = 1};
    int r = ash_nft_table_add(-1, "ash-doctor", &loss, 1, err) == 0 &&
                    ash_nft_table_delete(-1, "inet", "ash-doctor", err) == 0
                ? 0
                : -1;
    ash_nft_forget(-1); /* its socket would keep the throw-away namespace alive */
    return r;
}

static void try_nftables(FILE *out)
{
    ash_error_t err = {0};
    if (try_fault_table(&err) == 0 && ash_sandbox_fw_probe(&err) == 0)
        ash_doctor_line(out, "nftables", true,
                        "made a table with a rule in a throw-away namespace (libnftnl, libnftables)");
    else
        ash_doctor_line(out, "nftables", false, "%s: partitions, loss rules and the sandbox egress guard need it",
                        err.msg);
}

static void doctor_nftables(FILE *out)
{
    in_throwaway_netns(out, try_nftables);
}

/* ---- cgroups ---- */

static bool file_exists(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void doctor_cgroups(FILE *out)
{
    struct ash_cgroup_sys sys;
    ash_error_t err = {0};
    if (ash_cgroup_detect(NULL, &sys, &err) < 0) {
        ash_doctor_line(out, "cgroups", false, "%s", err.msg);
        return;
    }
    ash_doctor_line(out, "cgroup mode", true, "%s at %s", ash_cgroup_mode_name(sys.mode), sys.root);
    if (sys.memory[0])
        ash_doctor_line(out, "memory controller", true, "%s (%s): memory limits and OOM events", sys.memory,
                        sys.memory_v1 ? "v1" : "v2");
    else
        ash_doctor_line(out, "memory controller", false, "absent: no memory limits or memory-exhaustion faults");
    if (sys.cpu[0])
        ash_doctor_line(out, "cpu controller", true, "%s (%s): cpu quotas", sys.cpu, sys.cpu_v1 ? "v1" : "v2");
    else
        ash_doctor_line(out, "cpu controller", false, "absent: hosts' cpu: quotas cannot be set");
    /* cgroup.freeze and cgroup.kill exist only in non-root v2 cgroups: look in
     * a throw-away one. */
    bool v2 = sys.v2[0] != 0, made = false;
    char probe[600] = "";
    if (v2) {
        snprintf(probe, sizeof probe, "%s/ash-doctor-%d", sys.v2, (int)getpid());
        made = mkdir(probe, 0755) == 0;
    }
    int mk_errno = errno;
    bool freeze = made && file_exists(probe, "cgroup.freeze");
    bool kill_file = made && file_exists(probe, "cgroup.kill");
    if (made)
        rmdir(probe);
    const char *nov2 = !v2 ? "no cgroup v2 hierarchy" : !made ? strerror(mk_errno) : "kernel too old";
    if (freeze)
        ash_doctor_line(out, "cgroup.freeze (v2)", true, "%s/: host-crash freeze hangs a host at once", sys.v2);
    else
        ash_doctor_line(out, "cgroup.freeze (v2)", false, "%s (needs Linux 5.2)", nov2);
    if (kill_file)
        ash_doctor_line(out, "cgroup.kill (v2)", true, "host-crash kill ends every process of a host at once");
    else
        ash_doctor_line(out, "cgroup.kill (v2)", false, "%s (needs Linux 5.14): freeze + SIGKILL each instead", nov2);
    if (sys.freezer[0])
        ash_doctor_line(out, "freezer (v1)", true, "%s", sys.freezer);
    else if (freeze)
        ash_doctor_line(out, "freezer (v1)", false, "absent; not needed: cgroup.freeze is used");
    else
        ash_doctor_line(out, "freezer (v1)", false, "absent: host-crash freeze cannot work here");
}

/* ---- seccomp ---- */

static void doctor_seccomp(FILE *out)
{
    unsigned api = seccomp_api_get();
    struct seccomp_notif_sizes sizes;
    long r = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
    int e = errno;
    if (r != 0)
        ash_doctor_line(out, "seccomp user notification", false,
                        "kernel: SECCOMP_GET_NOTIF_SIZES failed (%s; needs Linux 5.0): no syscall faults", strerror(e));
    else if (api < 5)
        ash_doctor_line(out, "seccomp user notification", false,
                        "libseccomp API level %u < 5: upgrade libseccomp for syscall faults", api);
    else
        ash_doctor_line(out, "seccomp user notification", true,
                        "kernel and libseccomp (API level %u) support it: syscall faults", api);
}

/* ---- PSI ---- */

static void doctor_psi(FILE *out)
{
    FILE *f = fopen("/proc/pressure/memory", "r");
    if (f) {
        fclose(f);
        ash_doctor_line(out, "PSI (pressure stall info)", true,
                        "/proc/pressure/memory readable: memory pressure in the timeline");
    } else {
        ash_doctor_line(out, "PSI (pressure stall info)", false, "/proc/pressure/memory: %s (needs CONFIG_PSI, psi=1)",
                        strerror(errno));
    }
}

/* ---- kinds ---- */

/* Each kind that has a choice of mechanism says which it will use here. */
static void doctor_kinds(FILE *out)
{
    for (size_t i = 0; ash_fault_kinds[i]; i++)
        if (ash_fault_kinds[i]->c.doctor)
            ash_fault_kinds[i]->c.doctor(out);
}

/* ---- container targets ---- */

/* Whether container:NAME targets can be reached: the engine socket they default to
 * ($DOCKER_HOST, else /var/run/docker.sock; a scenario's runtime.docker_host wins). */
static void doctor_containers(FILE *out)
{
    const char *host = getenv("DOCKER_HOST");
    if (!host || !*host)
        host = ASH_DOCKER_DEFAULT_HOST;
    struct ash_docker *d;
    ash_error_t err = {0};
    if (ash_docker_open(host, &d, &err) < 0) {
        ash_doctor_line(out, "container engine", false, "%s (only container targets need it)", err.msg);
        return;
    }
    json_t *v = NULL;
    if (ash_docker_call(d, "GET", "/version", NULL, &v, &err) < 0) {
        ash_doctor_line(out, "container engine", false, "%s", err.msg);
    } else {
        const char *ver = json_string_value(json_object_get(v, "Version"));
        const char *api = json_string_value(json_object_get(v, "ApiVersion"));
        ash_doctor_line(out, "container engine", true, "%s answers (engine %s, API %s): container targets",
                        ash_docker_socket(d), ver ? ver : "?", api ? api : "?");
    }
    json_decref(v);
    ash_docker_close(d);
}

/* Whether pod: targets can be found: containerd's k8s.io task bundles on this node. */
static void doctor_pods(FILE *out)
{
    char dir[4096];
    size_t n = 0;
    ash_error_t err = {0};
    if (ash_target_pod_scan(dir, sizeof dir, &n, &err) < 0)
        ash_doctor_line(out, "pod containers", false,
                        "%s (only pod targets need it: containerd's state, ASH_CONTAINERD_STATE)", err.msg);
    else
        ash_doctor_line(out, "pod containers", true, "%zu running in %s: pod targets", n, dir);
}

/* ---- the table ---- */

struct doctor_section {
    const char *name;
    void (*run)(FILE *out);
};

/* One line per family; each prints its own lines with ash_doctor_line. */
static const struct doctor_section sections[] = {
    {"privileges", doctor_privileges},
    {"namespaces", doctor_namespaces},
    {"cgroups", doctor_cgroups},
    {"qdiscs", doctor_qdiscs},
    {"nftables", doctor_nftables},
    {"seccomp", doctor_seccomp},
    {"psi", doctor_psi},
    {"containers", doctor_containers},
    {"pods (containerd)", doctor_pods},
    {"fault mechanisms", doctor_kinds},
};

void ash_doctor(FILE *out)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (i)
            fputc('\n', out);
        ash_doctor_section(out, sections[i].name);
        sections[i].run(out);
        fflush(out);
    }
}
