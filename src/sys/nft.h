/* nftables in-process through libnftables (nft syntax strings, no `nft`
 * child process), inside any network namespace. */
#ifndef ASH_SYS_NFT_H
#define ASH_SYS_NFT_H

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>

/* Run a batch of nft commands (one transaction) in netns_fd (< 0: here).
 * The error carries libnftables' own message. */
int ash_nft_run(int netns_fd, const char *cmds, ash_error_t *err);
/* Delete `table <family> <name>`; a missing table is fine. */
int ash_nft_table_delete(int netns_fd, const char *family, const char *name, ash_error_t *err);
/* Drop the context kept for netns_fd (< 0: here), so that it no longer keeps
 * that namespace alive: call it before tearing a namespace down. */
void ash_nft_forget(int netns_fd);
/* Does the table exist? -1 with err when nftables cannot be asked. */
int ash_nft_table_exists(int netns_fd, const char *family, const char *name, ash_error_t *err);
/* The sum of the packets counted by the `counter`s of the table's rules, read over
 * netlink: 1 with *packets set, 0 when the table is not there. */
int ash_nft_table_packets(int netns_fd, const char *family, const char *name, uint64_t *packets, ash_error_t *err);

#endif
