/* A fault's nftables table as data: its rules built into one nf_tables netlink
 * batch (libnftnl), or written as nft commands (the same table through
 * libnftables: what the tests and bench_network compare with). */
#ifndef ASH_SYS_NFT_RULES_H
#define ASH_SYS_NFT_RULES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ash_nft_l4 {
    ASH_NFT_L4_ANY,
    ASH_NFT_L4_ICMP,
    ASH_NFT_L4_TCP,
    ASH_NFT_L4_UDP,
    ASH_NFT_L4_TCP_UDP, /* either, with a port: `meta l4proto { tcp, udp } th` */
};

enum ash_nft_what {
    ASH_NFT_DROP,
    ASH_NFT_DROP_SOME,    /* drop when (random mod 1000000) < arg */
    ASH_NFT_SET_PRIORITY, /* meta priority set 1:arg (the htb class) */
    ASH_NFT_COUNT_IPV4,   /* count the IPv4 packets (the no-effect check) */
};

struct ash_nft_rule {
    bool input; /* chain `in` (input hook), the peer as source; else `out` (output hook), as destination */
    bool has_peer;
    struct in_addr peer;
    enum ash_nft_l4 l4;
    uint16_t port; /* 0: any; with ASH_NFT_L4_ANY it means ASH_NFT_L4_TCP_UDP */
    bool sport;    /* port is the source port, else the destination port */
    enum ash_nft_what what;
    uint32_t arg;
};

/* Table inet `table`, base chains out (output) and in (input), priority 0,
 * policy accept, then the rules in order, as nf_tables messages between a
 * batch begin and end, numbered from seq on (at most 5 + 3 n numbers): into
 * buf (len bytes). Only the last message asks for an ack: *ack_seq is its
 * number. 0, or -1 when it does not fit or memory ran out. */
int ash_nft_rules_batch(char *buf, size_t len, const char *table, const struct ash_nft_rule *rules, size_t n,
                        uint32_t seq, size_t *batch_len, uint32_t *ack_seq);
/* The same table as nft commands (libnftables' input): -1 when it does not fit. */
int ash_nft_rules_text(char *buf, size_t len, const char *table, const struct ash_nft_rule *rules, size_t n);

#endif
