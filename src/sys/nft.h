/* nftables inside any network namespace: a fault's table built as one
 * nf_tables netlink batch (libnftnl, sys/nft_rules.h), its delete and queries
 * over netlink; nft command text through libnftables (ash_nft_run) where the
 * input is text. */
#ifndef ASH_SYS_NFT_H
#define ASH_SYS_NFT_H

#include "sys/nft_rules.h"

#include <aftershock/error.h>
#include <stdbool.h>
#include <stdint.h>

/* Make table inet `table` with chains out and in and these rules (ash_nft_rules_batch)
 * in netns_fd (< 0: here): one batch, one transaction, so a refused one leaves
 * nothing. The error names the part the kernel refused and its errno. */
int ash_nft_table_add(int netns_fd, const char *table, const struct ash_nft_rule *rules, size_t n, ash_error_t *err);
/* Run a batch of nft commands (one transaction) in netns_fd (< 0: here) through
 * libnftables: for rules given as text (the DNS redirect's, the tests' and
 * bench_network's reference). The error carries libnftables' own message. */
int ash_nft_run(int netns_fd, const char *cmds, ash_error_t *err);
/* Delete `table <family> <name>`; a missing table is fine. */
int ash_nft_table_delete(int netns_fd, const char *family, const char *name, ash_error_t *err);
/* Drop the socket and context kept for netns_fd (< 0: here), so that they no
 * longer keep that namespace alive: call it before tearing a namespace down. */
void ash_nft_forget(int netns_fd);
/* Does the table exist? -1 with err when nftables cannot be asked. */
int ash_nft_table_exists(int netns_fd, const char *family, const char *name, ash_error_t *err);
/* The sum of the packets counted by the `counter`s of the table's rules, read over
 * netlink: 1 with *packets set, 0 when the table is not there. */
int ash_nft_table_packets(int netns_fd, const char *family, const char *name, uint64_t *packets, ash_error_t *err);

#endif
