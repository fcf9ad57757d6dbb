/* Sandbox egress guard: one nftables table per run (one transaction), through
 * libnftables (the context kept for the root namespace, sys/nft.h), not a
 * libnftnl batch like a fault's table (sys/nft_rules.h): it is made once per
 * run, and its rules (sets of interfaces, ct state, verdict maps) read as nft
 * text, which hand-built expressions would not. */
#include "env/sandbox_fw.h"
#include "sys/nft.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Names go into nft syntax: accept only what aftershock itself makes. */
static bool safe_name(const char *s)
{
    if (!s || !*s || strlen(s) > 60)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.' && *s != '/')
            return false;
    return true;
}

/* Through sys/nft.h's context kept for this namespace, never one made and
 * freed per call: closing an nftables socket right after a transaction that
 * deleted a table waits for the kernel to destroy it (an RCU grace period,
 * 5-15 ms here), and both the add (which replaces a leftover) and the
 * teardown's delete are such transactions. */
static void refused(ash_error_t *err)
{
    if (!err)
        return;
    err->klass = ASH_ERR_ENVIRONMENT;
    if (geteuid() != 0) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (needs root / CAP_NET_ADMIN)");
    }
}

int ash_sandbox_fw_add(const char *table, const char *link, const char *subnet, ash_error_t *err)
{
    if (!safe_name(table) || !safe_name(link) || !safe_name(subnet))
        return ash_error(err, EINVAL, "nftables: refusing unusual names '%s' '%s' '%s'", table ? table : "",
                         link ? link : "", subnet ? subnet : "");
    char cmds[1600];
    /* `add` + `delete` + `add` in one transaction: replaces a leftover of the
     * same name atomically and never fails on a missing one. Priority before
     * the default filter chains, so an accepting ruleset elsewhere cannot
     * let sandbox traffic out first. IPv6 is off on the link; drop it anyway. */
    snprintf(cmds, sizeof cmds,
             "add table inet %1$s\n"
             "delete table inet %1$s\n"
             "add table inet %1$s\n"
             "add chain inet %1$s forward { type filter hook forward priority -10; policy accept; }\n"
             "add rule inet %1$s forward iifname \"%2$s\" meta nfproto ipv4 ip daddr != %3$s counter drop\n"
             "add rule inet %1$s forward oifname \"%2$s\" meta nfproto ipv4 ip saddr != %3$s counter drop\n"
             "add rule inet %1$s forward iifname \"%2$s\" meta nfproto ipv6 counter drop\n"
             "add rule inet %1$s forward oifname \"%2$s\" meta nfproto ipv6 counter drop\n",
             table, link, subnet);
    if (ash_nft_run(-1, cmds, err) < 0) {
        refused(err);
        return ash_error_wrap(err, "cannot add the sandbox's guard table %s", table);
    }
    return 0;
}

int ash_sandbox_fw_delete(const char *table, ash_error_t *err)
{
    if (!safe_name(table))
        return ash_error(err, EINVAL, "nftables: refusing unusual table name '%s'", table ? table : "");
    if (ash_nft_table_delete(-1, "inet", table, err) < 0) {
        refused(err);
        return ash_error_wrap(err, "cannot delete nftables table %s", table);
    }
    return 0;
}

int ash_sandbox_fw_probe(ash_error_t *err)
{
    char table[32];
    snprintf(table, sizeof table, "ash-doctor-%d", (int)getpid());
    if (ash_sandbox_fw_add(table, "ash-doctor-br", "10.128.0.0/24", err) < 0)
        return -1;
    return ash_sandbox_fw_delete(table, err);
}
