/* Unit tests: what `aftershock recover` says of each undo record, in words (engine/recover_words.c),
 * and that every undo op has words to say. */
#include "engine/recover_words.h"
#include "env/env.h"
#include "env/sandbox.h"
#include "fleet/kube.h"
#include "fleet/swarm.h"
#include "kinds.h"
#include "test_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void said(const char *op, const char *record, const char *want)
{
    json_error_t je;
    json_t *rec = json_loads(record, 0, &je);
    ck_assert_msg(rec != NULL, "%s: %s", record, je.text);
    char buf[1200];
    ck_assert_str_eq(ash_undo_words(ash_undo_op_find(op), op, rec, buf, sizeof buf), want);
    json_decref(rec);
}

/* A new undo op must say what undoing it did: recover prints no raw records by default. */
START_TEST(test_every_op_has_words)
{
    const struct ash_undo_op *tables[64];
    size_t n = 0;
    tables[n++] = ash_env_undo_ops;
    tables[n++] = ash_sandbox_undo_ops;
    tables[n++] = ash_swarm_undo_ops;
    tables[n++] = ash_kube_undo_ops;
    for (size_t i = 0; ash_fault_kinds[i] && n < 64; i++)
        tables[n++] = ash_fault_kinds[i]->undo_ops;
    size_t ops = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; tables[t] && tables[t][i].name; i++, ops++)
            ck_assert_msg(tables[t][i].said && tables[t][i].said[0], "undo op %s has no words (said)",
                          tables[t][i].name);
    ck_assert_uint_ge(ops, 20);
}
END_TEST

START_TEST(test_words)
{
    /* The records as the ops journal them (a container target's identity, a sandbox
     * namespace's name, the run's own namespace). */
#define CTR                                                                                                            \
    "\"target\": {\"type\": \"container\", \"name\": \"web\", \"id\": \"3f2a9c01b7e4aa\", \"container\": "             \
    "\"shop_web_1\"}"
    said("network.nft", "{\"table\": \"ash-1a2b3c\", \"netns\": \"ash-1a2b3c-web\"}",
         "removed nftables table ash-1a2b3c in network namespace ash-1a2b3c-web");
    said("network.nft", "{\"table\": \"ash-1a2b3c\", " CTR ", \"netns_ino\": 4026532}",
         "removed nftables table ash-1a2b3c in the network namespace of container shop_web_1 (id 3f2a9c01b7e4)");
    said("network.qdisc", "{\"ifname\": \"eth0\", \"netns\": \"\", \"netns_ino\": 4026531840}",
         "removed the qdisc on eth0 in the run's own network namespace (inode 4026531840)");
    /* Journals from before the inode was written: undone where recover runs. */
    said("network.qdisc", "{\"ifname\": \"eth0\", \"netns\": \"\"}",
         "removed the qdisc on eth0 in the network namespace recover runs in");
    said("host-crash.thaw",
         "{\"v2\": \"/sys/fs/cgroup/unified/docker/3f2a\", \"memory\": \"\", \"cpu\": \"\", \"freezer\": \"\", " CTR
         "}",
         "thawed cgroup /sys/fs/cgroup/unified/docker/3f2a of container shop_web_1 (id 3f2a9c01b7e4)");
    /* A container's record holds every path of its cgroup; the thaw names the one it froze. */
    said("host-crash.thaw",
         "{\"v2\": \"\", \"memory\": \"/sys/fs/cgroup/memory/docker/3f2a\", \"cpu\": "
         "\"/sys/fs/cgroup/cpu/docker/3f2a\", "
         "\"freezer\": \"/sys/fs/cgroup/freezer/docker/3f2a\", " CTR "}",
         "thawed cgroup /sys/fs/cgroup/freezer/docker/3f2a of container shop_web_1 (id 3f2a9c01b7e4)");
    said("host-crash.thaw",
         "{\"v2\": \"/sys/fs/cgroup/unified/docker/3f2a\", \"memory\": \"/sys/fs/cgroup/memory/docker/3f2a\", "
         "\"cpu\": \"\", \"freezer\": \"/sys/fs/cgroup/freezer/docker/3f2a\", " CTR "}",
         "thawed cgroup /sys/fs/cgroup/unified/docker/3f2a of container shop_web_1 (id 3f2a9c01b7e4)");
    said("host-crash.container-start",
         "{\"type\": \"container\", \"name\": \"web\", \"id\": \"3f2a9c01b7e4aa\", \"container\": \"web\", \"pid\": 7}",
         "started container web (id 3f2a9c01b7e4) again through its engine (unless it already ran)");
    said("memory.restore",
         "{\"file\": \"/sys/fs/cgroup/memory/docker/3f2a/memory.limit_in_bytes\", \"value\": \"9223372036854771712\"}",
         "restored /sys/fs/cgroup/memory/docker/3f2a/memory.limit_in_bytes to 9223372036854771712");
    said("proc.sigcont",
         "{\"pid\": 4242, \"start\": 99, \"service\": \"api\", \"target\": {\"type\": \"service\", \"name\": "
         "\"api\"}}",
         "continued service api (pid 4242) with SIGCONT");
    said("exec.revert", "{\"argv\": [\"touch\", \"/tmp/x\"], \"timeout_ns\": 1}",
         "ran the fault's revert command: touch /tmp/x");
    said("sandbox.netns", "{\"netns\": [\"ash-1a-web\", \"ash-1a-db\"], \"veth_prefix\": \"ash1a\"}",
         "removed network namespace(s) ash-1a-web ash-1a-db");
    said("sandbox.cgroup", "{\"cgroups\": [{\"v2\": \"a\"}, {\"v2\": \"b\"}]}",
         "killed what ran in and removed 2 host cgroup(s)");
    said("swarm.service", "{\"host\": \"unix:///run/docker.sock\", \"name\": \"ash-agent-r1\"}",
         "removed Swarm service ash-agent-r1 (manager unix:///run/docker.sock)");
    /* The undo found the harm gone: what was not done, and why. */
    said("network.qdisc", "{\"ifname\": \"eth0\", " CTR ", \"nothing_to_undo\": \"its init is gone\"}",
         "nothing to undo for network.qdisc on the network namespace of container shop_web_1 (id 3f2a9c01b7e4): its "
         "init is gone");
    /* A record made in the run's own (unnamed) namespace, not found where recover runs. */
    said("sandbox.link",
         "{\"bridge\": \"ash-1a2b3c\", \"veth_prefix\": \"ash1a2b3cv\", \"nothing_to_undo\": \"no bridge "
         "ash-1a2b3c nor veth ash1a2b3cv* is here\"}",
         "nothing to undo for sandbox.link on this network namespace: no bridge ash-1a2b3c nor veth ash1a2b3cv* is "
         "here");
    /* The hub: its gateway link is here, where recover runs; its namespace is named. */
    said("sandbox.hub", "{\"hub\": \"ash-1a2b3c\", \"link\": \"ash1a2b3cg\", \"bridge\": \"ash-1a2b3c\"}",
         "removed gateway link ash1a2b3cg and hub network namespace ash-1a2b3c (its bridge ash-1a2b3c and the hosts' "
         "veths go with it)");
    said("sandbox.hub",
         "{\"hub\": \"ash-1a2b3c\", \"link\": \"ash1a2b3cg\", \"bridge\": \"ash-1a2b3c\", \"nothing_to_undo\": "
         "\"no hub namespace ash-1a2b3c nor link ash1a2b3cg is here\"}",
         "nothing to undo for sandbox.hub on this network namespace: no hub namespace ash-1a2b3c nor link ash1a2b3cg "
         "is here");
    /* The overlay's VXLAN, in the hub. */
    said("sandbox.overlay", "{\"link\": \"ashx1a2b3c\", \"netns\": \"ash-1a2b3c\"}",
         "removed the fleet overlay link ashx1a2b3c");
    /* An op this build does not know (a newer journal): its name at least. */
    said("future.op", "{\"x\": 1}", "undid future.op");
    /* A line never overflows its buffer. */
    json_t *rec = json_pack("{s:s, s:s}", "table", "ash-1a2b3c", "netns", "ash-1a2b3c-web");
    char small[16];
    ash_undo_words(ash_undo_op_find("network.nft"), "network.nft", rec, small, sizeof small);
    ck_assert_str_eq(small, "removed nftable");
    json_decref(rec);
#undef CTR
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recover_words");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_every_op_has_words);
    tcase_add_test(tc, test_words);
    suite_add_tcase(s, tc);
    int failed = ash_test_failures(s, CK_FORK);
    return failed ? 1 : 0;
}
