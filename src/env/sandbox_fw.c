/* Sandbox egress guard: one nftables table per run (libnftables, one transaction).
 * libnftables, not a libnftnl batch like a fault's table (sys/nft_rules.h): it is
 * made once per run, overlapped with the hosts (sandbox.c), so its ~10 ms never
 * shows, and its rules (sets of interfaces, ct state, verdict maps) read as nft
 * text, which hand-built expressions would not. */
#include "env/sandbox_fw.h"

#include <ctype.h>
#include <errno.h>
#include <nftables/libnftables.h>
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

static int run(const char *cmds, bool missing_ok, ash_error_t *err)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return ash_error(err, ENOMEM, "nftables: cannot create a context");
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int ret = 0;
    if (nft_run_cmd_from_buffer(nft, cmds) != 0) {
        const char *msg = nft_ctx_get_error_buffer(nft);
        if (missing_ok && msg && strstr(msg, "No such file or directory")) {
            ret = 0;
        } else {
            char first[300] = "";
            if (msg)
                snprintf(first, sizeof first, "%.*s", (int)strcspn(msg, "\n"), msg);
            ret = ash_error_class(err, ASH_ERR_ENVIRONMENT, geteuid() == 0 ? EINVAL : EPERM, "nftables: %s%s",
                                  first[0] ? first : "command failed",
                                  geteuid() == 0 ? "" : " (needs root / CAP_NET_ADMIN)");
        }
    }
    nft_ctx_free(nft);
    return ret;
}

int ash_sandbox_fw_add(const char *table, const char *bridge, const char *subnet, ash_error_t *err)
{
    if (!safe_name(table) || !safe_name(bridge) || !safe_name(subnet))
        return ash_error(err, EINVAL, "nftables: refusing unusual names '%s' '%s' '%s'", table ? table : "",
                         bridge ? bridge : "", subnet ? subnet : "");
    char cmds[1600];
    /* `add` + `delete` + `add` in one transaction: replaces a leftover of the
     * same name atomically and never fails on a missing one. Priority before
     * the default filter chains, so an accepting ruleset elsewhere cannot
     * let sandbox traffic out first. IPv6 is off on the bridge; drop it anyway. */
    snprintf(cmds, sizeof cmds,
             "add table inet %1$s\n"
             "delete table inet %1$s\n"
             "add table inet %1$s\n"
             "add chain inet %1$s forward { type filter hook forward priority -10; policy accept; }\n"
             "add rule inet %1$s forward iifname \"%2$s\" meta nfproto ipv4 ip daddr != %3$s counter drop\n"
             "add rule inet %1$s forward oifname \"%2$s\" meta nfproto ipv4 ip saddr != %3$s counter drop\n"
             "add rule inet %1$s forward iifname \"%2$s\" meta nfproto ipv6 counter drop\n"
             "add rule inet %1$s forward oifname \"%2$s\" meta nfproto ipv6 counter drop\n",
             table, bridge, subnet);
    if (run(cmds, false, err) < 0)
        return ash_error_wrap(err, "cannot add the sandbox's guard table %s", table);
    return 0;
}

int ash_sandbox_fw_delete(const char *table, ash_error_t *err)
{
    if (!safe_name(table))
        return ash_error(err, EINVAL, "nftables: refusing unusual table name '%s'", table ? table : "");
    char cmds[200];
    snprintf(cmds, sizeof cmds, "delete table inet %s\n", table);
    if (run(cmds, true, err) < 0)
        return ash_error_wrap(err, "cannot delete nftables table %s", table);
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
