/* nftables through libnftables in a chosen network namespace: run batches, delete and query tables. */
#include "sys/nft.h"
#include "sys/netns.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

struct nft_call {
    const char *cmds;
    int rc;
    char msg[512];
};

/* Runs on a thread inside the target namespace: the context's netlink socket is made there. */
static int nft_call_here(void *arg)
{
    struct nft_call *c = arg;
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        snprintf(c->msg, sizeof c->msg, "cannot create an nftables context");
        c->rc = -1;
        return 0;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    c->rc = nft_run_cmd_from_buffer(ctx, c->cmds);
    const char *e = nft_ctx_get_error_buffer(ctx);
    snprintf(c->msg, sizeof c->msg, "%s", e ? e : "");
    /* First line only: libnftables repeats the command with carets below it. */
    char *nl = strchr(c->msg, '\n');
    if (nl)
        *nl = '\0';
    nft_ctx_free(ctx);
    return 0;
}

static int call(int netns_fd, struct nft_call *c, ash_error_t *err)
{
    int r = netns_fd < 0 ? nft_call_here(c) : ash_ns_run(netns_fd, CLONE_NEWNET, nft_call_here, c);
    if (r < 0)
        return ash_error(err, errno, "nftables: cannot enter the network namespace");
    return 0;
}

int ash_nft_run(int netns_fd, const char *cmds, ash_error_t *err)
{
    struct nft_call c = {.cmds = cmds};
    if (call(netns_fd, &c, err) < 0)
        return -1;
    if (c.rc != 0)
        return ash_error(err, EINVAL, "nftables refused the rules: %s", c.msg[0] ? c.msg : "(no message)");
    return 0;
}

int ash_nft_table_exists(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "list table %s %s", family, name);
    struct nft_call c = {.cmds = cmd};
    if (call(netns_fd, &c, err) < 0)
        return -1;
    if (c.rc == 0)
        return 1;
    if (strstr(c.msg, "No such file") || strstr(c.msg, "does not exist"))
        return 0;
    return ash_error(err, EIO, "nftables: cannot list table %s %s: %s", family, name, c.msg);
}

int ash_nft_table_delete(int netns_fd, const char *family, const char *name, ash_error_t *err)
{
    int ex = ash_nft_table_exists(netns_fd, family, name, err);
    if (ex <= 0)
        return ex;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "delete table %s %s", family, name);
    return ash_nft_run(netns_fd, cmd, err);
}
