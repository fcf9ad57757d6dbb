/* rtnetlink mechanisms on the real kernel: named netns, veth into a namespace,
 * bridge ports, addresses, routes, link state, moving links, deletion, and
 * sockets made inside a namespace. Needs root; everything is named ash-nlt*. */
#include "sys/netlink.h"
#include "sys/netns.h"
#include "test_skip.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root");
        return false;
    }
    return true;
}

static uint32_t ip4(const char *s)
{
    uint32_t a;
    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return a;
}

START_TEST(test_overlap)
{
    ck_assert(ash_ipv4_overlap(ip4("10.1.2.0"), 24, ip4("10.1.2.77"), 32));
    ck_assert(ash_ipv4_overlap(ip4("10.1.2.0"), 24, ip4("10.0.0.0"), 8));
    ck_assert(!ash_ipv4_overlap(ip4("10.1.2.0"), 24, ip4("10.1.3.0"), 24));
    ck_assert(!ash_ipv4_overlap(ip4("172.16.0.0"), 12, ip4("172.32.0.0"), 16));
}
END_TEST

struct sock_arg {
    int fd;
    ino_t ns;
};

static int make_udp(void *arg)
{
    struct sock_arg *s = arg;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return s->fd < 0 ? -1 : 0;
}

START_TEST(test_links)
{
    if (!can_run())
        return;
    char ns[32], br[16], veth[16];
    snprintf(ns, sizeof ns, "ash-nlt%d", (int)getpid());
    snprintf(br, sizeof br, "ash-nlt%d", (int)getpid() % 100000);
    snprintf(veth, sizeof veth, "ashnlt%dv", (int)getpid() % 100000);
    ash_error_t err = {0};
    ck_assert_msg(ash_netns_prepare_dir(&err) == 0, "%s", err.msg);
    int nsfd;
    ck_assert_msg(ash_netns_create(ns, &nsfd, &err) == 0, "%s", err.msg);
    ck_assert(ash_netns_exists(ns));
    /* The same name again is refused, and does not remove the first. */
    ck_assert_int_eq(ash_netns_create(ns, NULL, &err), -1);
    ck_assert(ash_netns_exists(ns));

    struct ash_nl *root, *in;
    ck_assert_int_eq(ash_nl_open(&root, &err), 0);
    int bri;
    ck_assert_msg(ash_nl_bridge_add(root, br, true, &bri, &err) == 0, "%s", err.msg);
    ck_assert_int_gt(bri, 0);
    ck_assert_int_eq(ash_nl_bridge_add(root, br, true, NULL, &err), -1);
    ck_assert_int_eq(err.code, EEXIST);
    ck_assert_msg(ash_nl_veth_add(root, veth, "eth0", nsfd, bri, true, &err) == 0, "%s", err.msg);
    int vi;
    ck_assert_int_eq(ash_nl_link_index(root, veth, &vi, &err), 0);
    ck_assert_int_gt(vi, 0);
    char master[IF_NAMESIZE];
    /* The port is on the bridge: its master is the bridge (sysfs of the root namespace). */
    char path[128], buf[64] = "";
    snprintf(path, sizeof path, "/sys/class/net/%s/master", veth);
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(strrchr(buf, '/') + 1, if_indextoname((unsigned)bri, master));

    /* Inside: eth0 exists there, not here; address, up, default route. */
    ck_assert_msg(ash_nl_open_in(nsfd, &in, &err) == 0, "%s", err.msg);
    int eth0, here;
    ck_assert_int_eq(ash_nl_link_index(in, "eth0", &eth0, &err), 0);
    ck_assert_int_gt(eth0, 0);
    ck_assert_int_eq(ash_nl_link_index(root, veth, &here, &err), 0);
    ck_assert_int_gt(here, 0);
    ck_assert_int_eq(ash_nl_addr4_add(in, eth0, ip4("10.251.7.2"), 24, &err), 0);
    ck_assert_int_eq(ash_nl_link_set_up(in, eth0, true, &err), 0);
    ck_assert_msg(ash_nl_route4_default(in, ip4("10.251.7.1"), eth0, &err) == 0, "%s", err.msg);
    struct ash_ipv4_prefix *used;
    size_t nused;
    ck_assert_int_eq(ash_nl_ipv4_in_use(in, &used, &nused, &err), 0);
    bool seen = false;
    for (size_t i = 0; i < nused; i++)
        seen = seen || (used[i].addr == ip4("10.251.7.2") && used[i].len == 24);
    free(used);
    ck_assert(seen);
    ck_assert_int_eq(ash_nl_link_set_up(in, eth0, false, &err), 0);

    /* A socket made while the thread is inside belongs to the namespace. */
    struct sock_arg s = {-1, 0};
    ck_assert_int_eq(ash_ns_run(nsfd, CLONE_NEWNET, make_udp, &s), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = ip4("10.251.7.2")};
    ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&sa, sizeof sa), 0); /* only exists in there */
    close(s.fd);
    /* And not here, unless this machine lets a socket bind an address it lacks. */
    FILE *nlb = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "re");
    int nonlocal = nlb && fgetc(nlb) == '1';
    if (nlb)
        fclose(nlb);
    if (!nonlocal) {
        int plain = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(plain, (struct sockaddr *)&sa, sizeof sa), -1);
        close(plain);
    } else
        printf("test_netlink: net.ipv4.ip_nonlocal_bind is 1 here: the outside bind is not checked\n");

    /* Move: a second veth made here, then moved in. */
    char v2[16], p2[16];
    snprintf(v2, sizeof v2, "%sm", veth);
    snprintf(p2, sizeof p2, "%sp", veth);
    ck_assert_int_eq(ash_nl_veth_add(root, v2, p2, -1, 0, false, &err), 0);
    int p2i;
    ck_assert_int_eq(ash_nl_link_index(root, p2, &p2i, &err), 0);
    ck_assert_msg(ash_nl_link_set_netns(root, p2i, nsfd, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_nl_link_index(root, p2, &p2i, &err), 0);
    ck_assert_int_eq(p2i, 0);
    ck_assert_int_eq(ash_nl_link_index(in, p2, &p2i, &err), 0);
    ck_assert_int_gt(p2i, 0);
    int v2i;
    ck_assert_int_eq(ash_nl_link_index(root, v2, &v2i, &err), 0);
    ck_assert_int_eq(ash_nl_link_set_master(root, v2i, bri, &err), 0);
    ck_assert_int_eq(ash_nl_link_delete(root, v2i, &err), 0); /* takes its peer along */
    ck_assert_int_eq(ash_nl_link_delete(root, v2i, &err), 0); /* gone already: fine */
    ck_assert_int_eq(ash_nl_link_index(in, p2, &p2i, &err), 0);
    ck_assert_int_eq(p2i, 0);

    char **names;
    size_t cnt;
    ck_assert_int_eq(ash_nl_link_names(root, veth, &names, &cnt, &err), 0);
    ck_assert_int_eq((int)cnt, 1);
    free(names[0]);
    free(names);

    /* Teardown by releasing the namespace: its veth goes with it. */
    ash_nl_close(in);
    close(nsfd);
    ck_assert_int_eq(ash_netns_delete(ns, &err), 0);
    ck_assert(!ash_netns_exists(ns));
    ck_assert_int_eq(ash_netns_delete(ns, &err), 0);
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(ash_nl_link_index(root, veth, &here, &err), 0);
        if (here == 0)
            break;
        usleep(10000);
    }
    ck_assert_int_eq(here, 0);
    ck_assert_int_eq(ash_nl_link_delete_name(root, br, &err), 0);
    ck_assert_int_eq(ash_nl_link_index(root, br, &here, &err), 0);
    ck_assert_int_eq(here, 0);
    ash_nl_close(root);
}
END_TEST

/* The watch socket hears a removal, and only a removal: in a namespace of
 * the test's own (the test runs in a forked child). */
START_TEST(test_watch)
{
    if (!can_run())
        return;
    ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
    ash_error_t err = {0};
    struct ash_nl *nl, *w;
    ck_assert_int_eq(ash_nl_open(&nl, &err), 0);
    ck_assert_msg(ash_nl_watch_links(&w, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_nl_watch_wait(w, 10 * 1000000, &err), 0); /* nothing yet: the timeout */
    ck_assert_msg(ash_nl_veth_add(nl, "ashw0", "ashw1", -1, 0, true, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(ash_nl_watch_wait(w, 10 * 1000000, &err), 0); /* made, not removed */
    ck_assert_int_eq(ash_nl_link_delete_name(nl, "ashw0", &err), 0);
    ck_assert_int_eq(ash_nl_watch_wait(w, 1000 * 1000000, &err), 1);
    ash_nl_close(w);
    ash_nl_close(nl);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("netlink");
    TCase *tc = tcase_create("netlink");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_overlap);
    tcase_add_test(tc, test_links);
    tcase_add_test(tc, test_watch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = ash_test_failures(suite(), CK_FORK);
    return ash_test_exit(failed);
}
