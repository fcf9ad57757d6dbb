/* A fault's nftables table built as one netlink batch (libnftnl, sys/nft_rules.c)
 * lists exactly as the same rules given to libnftables as text (`nft -j list
 * table`, handles included, each in a fresh namespace); a batch the kernel
 * refuses changes nothing and says which part it refused; a bad namespace is a
 * clear error and touches no namespace, and so is a table name the kernel would
 * refuse. Needs root, ip and nft. */
#include "sys/netns.h"
#include "sys/nft.h"
#include "test_skip.h"
#include "test_run.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE "ash-nftb-t"

static bool can_run(void)
{
    if (geteuid() != 0) {
        ash_test_skip("needs root (network namespaces, nftables)");
        return false;
    }
    if (system("command -v nft >/dev/null && command -v ip >/dev/null") != 0) {
        ash_test_skip("needs nft and ip (the nftables and iproute2 packages) to list the tables");
        return false;
    }
    return true;
}

/* `nft -j list table inet TABLE` in namespace ns, stdout and stderr: the caller frees it. */
static char *list(const char *ns)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip netns exec %s nft -j list table inet " TABLE " 2>&1", ns);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap);
    ck_assert_ptr_nonnull(out);
    size_t k;
    while (n < cap - 1 && (k = fread(out + n, 1, cap - 1 - n, p)) > 0)
        n += k;
    pclose(p);
    return out;
}

static void ns_make(const char *tag, char *name, size_t len, int *fd)
{
    ash_error_t err = {0};
    snprintf(name, len, "ash-nftb%d%s", (int)getpid(), tag);
    ck_assert_msg(ash_netns_create(name, fd, &err) == 0, "%s", err.msg);
}

static void ns_drop(const char *name, int fd)
{
    ash_error_t err = {0};
    ash_nft_forget(fd);
    close(fd);
    ash_netns_delete(name, &err);
}

static struct ash_nft_rule rule(bool input, const char *peer, enum ash_nft_l4 l4, uint16_t port, bool sport,
                                enum ash_nft_what what, uint32_t arg)
{
    struct ash_nft_rule r = {.input = input, .l4 = l4, .port = port, .sport = sport, .what = what, .arg = arg};
    r.has_peer = peer && inet_pton(AF_INET, peer, &r.peer) == 1;
    return r;
}

/* Every shape network.c makes: peer or not, each protocol, a port with and
 * without one (the anonymous { tcp, udp } set, twice in one table), each action. */
static const struct {
    const char *name;
    struct ash_nft_rule r[8];
    size_t n;
} cases[] = {
    {"loss out", {{.what = ASH_NFT_DROP_SOME, .arg = 50000}}, 1},
    {"partition both ways, peer",
     {{.has_peer = true, .what = ASH_NFT_DROP}, {.input = true, .has_peer = true, .what = ASH_NFT_DROP}},
     2},
    {"port, any protocol: the set",
     {{.l4 = ASH_NFT_L4_ANY, .port = 53, .what = ASH_NFT_DROP_SOME, .arg = 1},
      {.l4 = ASH_NFT_L4_ANY, .port = 53, .sport = true, .what = ASH_NFT_DROP_SOME, .arg = 999999},
      {.input = true, .l4 = ASH_NFT_L4_TCP_UDP, .port = 53, .what = ASH_NFT_COUNT_IPV4}},
     3},
    {"protocols",
     {{.l4 = ASH_NFT_L4_TCP, .port = 80, .what = ASH_NFT_SET_PRIORITY, .arg = 0x10},
      {.l4 = ASH_NFT_L4_UDP, .port = 5201, .sport = true, .what = ASH_NFT_DROP},
      {.l4 = ASH_NFT_L4_TCP, .what = ASH_NFT_DROP},
      {.input = true, .l4 = ASH_NFT_L4_UDP, .what = ASH_NFT_COUNT_IPV4},
      {.input = true, .l4 = ASH_NFT_L4_ICMP, .has_peer = true, .what = ASH_NFT_DROP_SOME, .arg = 123456}},
     5},
    {"no rules", {{0}}, 0},
};

START_TEST(test_same_as_text)
{
    if (!can_run())
        return;
    ash_error_t err = {0};
    char na[64], nb[64];
    int fa = -1, fb = -1;
    struct ash_nft_rule r[8];
    size_t n = cases[_i].n;
    memcpy(r, cases[_i].r, sizeof r);
    for (size_t k = 0; k < n; k++)
        if (r[k].has_peer)
            inet_pton(AF_INET, "10.77.0.2", &r[k].peer);
    ns_make("a", na, sizeof na, &fa);
    ns_make("b", nb, sizeof nb, &fb);
    /* Everything is done, then the namespaces dropped, then checked: a failed check leaves none behind. */
    char text[8192];
    ash_error_t ea = {0}, eb = {0};
    int rt = ash_nft_rules_text(text, sizeof text, TABLE, r, n);
    int ra = ash_nft_table_add(fa, TABLE, r, n, &ea);
    int rb = rt == 0 ? ash_nft_run(fb, text, &eb) : -1;
    char *la = list(na), *lb = list(nb);
    /* Deleted whole, once; a second delete is fine. */
    int d1 = ash_nft_table_delete(fa, "inet", TABLE, &err), gone = ash_nft_table_exists(fa, "inet", TABLE, &err),
        d2 = ash_nft_table_delete(fa, "inet", TABLE, &err);
    ns_drop(na, fa);
    ns_drop(nb, fb);
    ck_assert_int_eq(rt, 0);
    ck_assert_msg(ra == 0, "%s: %s", cases[_i].name, ea.msg);
    ck_assert_msg(rb == 0, "%s: %s\n%s", cases[_i].name, eb.msg, text);
    ck_assert_msg(strstr(la, "\"rule\"") || n == 0, "%s: no rule listed: %s", cases[_i].name, la);
    ck_assert_msg(strcmp(la, lb) == 0, "%s: the batch's table differs from nft's\nbatch: %s\nnft:   %s\n%s",
                  cases[_i].name, la, lb, text);
    free(la), free(lb);
    ck_assert_int_eq(d1, 0);
    ck_assert_int_eq(gone, 0);
    ck_assert_int_eq(d2, 0);
}
END_TEST

/* One transaction: a chain `out` already there on another hook makes the kernel
 * refuse the batch's chain, and none of the batch (its rule) is left. */
START_TEST(test_refused_batch_changes_nothing)
{
    if (!can_run())
        return;
    ash_error_t err = {0};
    char ns[64];
    int fd = -1;
    ns_make("r", ns, sizeof ns, &fd);
    ash_error_t ep = {0};
    int rp = ash_nft_run(fd,
                         "add table inet " TABLE "\n"
                         "add chain inet " TABLE " out { type filter hook input priority 0; policy accept; }\n",
                         &ep);
    char *before = list(ns);
    struct ash_nft_rule r[] = {rule(false, "10.77.0.2", ASH_NFT_L4_ANY, 0, false, ASH_NFT_DROP, 0)};
    int ra = ash_nft_table_add(fd, TABLE, r, 1, &err);
    char *after = list(ns);
    ash_error_t e2 = {0};
    int d = ash_nft_table_delete(fd, "inet", TABLE, &e2);
    ns_drop(ns, fd);
    ck_assert_msg(rp == 0, "%s", ep.msg);
    ck_assert_int_eq(ra, -1);
    printf("test_nft_batch: refused: %s\n", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "nftables refused table inet " TABLE " at a chain"));
    ck_assert_str_eq(before, after);
    ck_assert_ptr_null(strstr(after, "10.77.0.2"));
    free(before), free(after);
    ck_assert_int_eq(d, 0);
}
END_TEST

/* An fd that is no network namespace: a clear error, and no table anywhere (not here). */
START_TEST(test_bad_namespace)
{
    if (!can_run())
        return;
    ash_error_t err = {0};
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct ash_nft_rule r[] = {rule(false, NULL, ASH_NFT_L4_ANY, 0, false, ASH_NFT_DROP_SOME, 50000)};
    ck_assert_int_eq(ash_nft_table_add(fd, TABLE, r, 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nftables: cannot enter the network namespace"));
    ck_assert_int_eq(ash_nft_table_delete(fd, "inet", TABLE, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot enter the network namespace"));
    close(fd);
    ck_assert_int_eq(ash_nft_table_exists(-1, "inet", TABLE, &err), 0);
    ck_assert_int_eq(ash_nft_table_exists(-1, "nosuchfamily", TABLE, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no table family 'nosuchfamily'"));
}
END_TEST

/* A name the kernel would refuse (a journal record can hold anything) is refused before
 * anything is sent: in no namespace is a table made. */
START_TEST(test_bad_table_name)
{
    if (!can_run())
        return;
    ash_error_t err = {0};
    char name[300];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    struct ash_nft_rule r[] = {rule(false, NULL, ASH_NFT_L4_ANY, 0, false, ASH_NFT_DROP, 0)};
    ck_assert_int_eq(ash_nft_table_add(-1, name, r, 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nftables: bad table name"));
    ck_assert_int_eq(ash_nft_table_delete(-1, "inet", name, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nftables: bad table name"));
    ck_assert_int_eq(ash_nft_table_add(-1, "", r, 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nftables: bad table name"));
    ck_assert_int_eq(system("nft list tables | grep -q xxxxxxxx"), 256); /* grep found nothing */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nft_batch");
    TCase *tc = tcase_create("nft_batch");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_same_as_text, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_refused_batch_changes_nothing);
    tcase_add_test(tc, test_bad_namespace);
    tcase_add_test(tc, test_bad_table_name);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return ash_test_exit(failed);
}
