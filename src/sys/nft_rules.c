/* A fault's nftables table built as nf_tables netlink messages with libnftnl,
 * expression for expression what `nft` makes of the same commands (nft
 * --debug=netlink shows them), so the table lists the same; and written as
 * those commands. */
#include "sys/nft_rules.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The anonymous set of `meta l4proto { tcp, udp }`: nft names it so (the
 * kernel numbers it), and keys it by inet_proto (nft's datatype 12), one byte. */
#define ANON_SET "__set%d"
#define TYPE_INET_PROTOCOL 12
/* nft's user data on that set, so that `nft list` shows it as nft's own:
 * the key in host byte order (nft's BYTEORDER_HOST_ENDIAN) and its `typeof`
 * (nft's EXPR_META, whose own user data is its key, NFT_META_L4PROTO). */
#define NFT_BYTEORDER_HOST_ENDIAN 1
#define NFT_EXPR_META 9
#define NFT_UDATA_META_KEY 0

struct batch {
    struct mnl_nlmsg_batch *b;
    uint32_t seq;
    struct nlmsghdr *last; /* the last message: the one that asks for an ack */
    bool failed;           /* no room or no memory */
};

static struct nlmsghdr *msg_start(struct batch *bt, uint16_t type, uint16_t flags)
{
    return bt->last = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET, flags, bt->seq++);
}

/* mnl's batch is full past half its buffer: the message that crossed still fits (see ash_nft_rules_batch). */
static void msg_end(struct batch *bt)
{
    if (!mnl_nlmsg_batch_next(bt->b))
        bt->failed = true;
}

static struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name, bool *ok)
{
    struct nftnl_expr *e = nftnl_expr_alloc(name);
    if (e)
        nftnl_rule_add_expr(r, e);
    else
        *ok = false;
    return e;
}

static void meta_load(struct nftnl_rule *r, uint32_t key, bool *ok)
{
    struct nftnl_expr *e = add_expr(r, "meta", ok);
    if (!e)
        return;
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len, bool *ok)
{
    struct nftnl_expr *e = add_expr(r, "cmp", ok);
    if (!e)
        return;
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0)
        *ok = false;
}

static void meta_eq(struct nftnl_rule *r, uint32_t key, uint8_t v, bool *ok)
{
    meta_load(r, key, ok);
    cmp(r, NFT_CMP_EQ, &v, 1, ok);
}

static void payload_eq(struct nftnl_rule *r, uint32_t base, uint32_t off, const void *v, uint32_t len, bool *ok)
{
    struct nftnl_expr *e = add_expr(r, "payload", ok);
    if (!e)
        return;
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    cmp(r, NFT_CMP_EQ, v, len, ok);
}

static void verdict_drop(struct nftnl_rule *r, bool *ok)
{
    struct nftnl_expr *e = add_expr(r, "immediate", ok);
    if (!e)
        return;
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
}

/* `meta l4proto { tcp, udp }`'s set and its two elements: two messages before the rule. */
static int anon_set(struct batch *bt, const char *table, uint32_t id)
{
    struct nftnl_set *s = nftnl_set_alloc();
    struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(64);
    int ret = -1;
    if (!s || !ud)
        goto out;
    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST_ENDIAN);
    struct nftnl_udata *typeof_ = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_KEY_TYPEOF);
    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_EXPR_META);
    struct nftnl_udata *data = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_TYPEOF_DATA);
    nftnl_udata_put_u32(ud, NFT_UDATA_META_KEY, NFT_META_L4PROTO);
    nftnl_udata_nest_end(ud, data);
    nftnl_udata_nest_end(ud, typeof_);
    if (nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 || nftnl_set_set_str(s, NFTNL_SET_NAME, ANON_SET) < 0 ||
        nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud)) < 0)
        goto out;
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, TYPE_INET_PROTOCOL);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 1);
    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 2);
    nftnl_set_nlmsg_build_payload(msg_start(bt, NFT_MSG_NEWSET, NLM_F_CREATE), s);
    msg_end(bt);
    static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
    for (size_t i = 0; i < sizeof protos; i++) {
        struct nftnl_set_elem *el = nftnl_set_elem_alloc();
        if (!el)
            goto out;
        nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, &protos[i], 1);
        nftnl_set_elem_add(s, el);
    }
    nftnl_set_elems_nlmsg_build_payload(msg_start(bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE), s);
    msg_end(bt);
    ret = 0;
out:
    if (ud)
        nftnl_udata_buf_free(ud);
    if (s)
        nftnl_set_free(s);
    return ret;
}

/* One rule's expressions: [peer] [protocol] [port] action, as nft orders them. */
static void rule_exprs(struct nftnl_rule *r, const struct ash_nft_rule *x, uint32_t set_id, bool *ok)
{
    if (x->has_peer) {
        meta_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4, ok);
        payload_eq(r, NFT_PAYLOAD_NETWORK_HEADER, x->input ? 12 : 16, &x->peer.s_addr, 4, ok);
    }
    enum ash_nft_l4 l4 = x->l4 == ASH_NFT_L4_ANY && x->port ? ASH_NFT_L4_TCP_UDP : x->l4;
    if (l4 == ASH_NFT_L4_ICMP)
        meta_eq(r, NFT_META_L4PROTO, IPPROTO_ICMP, ok);
    else if (l4 == ASH_NFT_L4_TCP || l4 == ASH_NFT_L4_UDP)
        meta_eq(r, NFT_META_L4PROTO, l4 == ASH_NFT_L4_TCP ? IPPROTO_TCP : IPPROTO_UDP, ok);
    else if (l4 == ASH_NFT_L4_TCP_UDP) {
        meta_load(r, NFT_META_L4PROTO, ok);
        struct nftnl_expr *e = add_expr(r, "lookup", ok);
        if (e) {
            nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
            if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, ANON_SET) < 0)
                *ok = false;
            nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
        }
    }
    if (x->port) {
        uint16_t p = htons(x->port);
        payload_eq(r, NFT_PAYLOAD_TRANSPORT_HEADER, x->sport ? 0 : 2, &p, 2, ok);
    }
    struct nftnl_expr *e;
    switch (x->what) {
    case ASH_NFT_DROP:
        verdict_drop(r, ok);
        break;
    case ASH_NFT_DROP_SOME: /* numgen random mod 1000000 < arg drop: compared in network byte order, as nft does */
        if ((e = add_expr(r, "numgen", ok))) {
            nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
            nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, 1000000);
            nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
        }
        if ((e = add_expr(r, "byteorder", ok))) {
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
        }
        uint32_t be = htonl(x->arg);
        cmp(r, NFT_CMP_LT, &be, 4, ok);
        verdict_drop(r, ok);
        break;
    case ASH_NFT_SET_PRIORITY:
        if ((e = add_expr(r, "immediate", ok))) {
            uint32_t prio = (1u << 16) | x->arg; /* tc handle 1:arg */
            nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
            if (nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &prio, 4) < 0)
                *ok = false;
        }
        if ((e = add_expr(r, "meta", ok))) {
            nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_PRIORITY);
            nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
        }
        break;
    case ASH_NFT_COUNT_IPV4:
        meta_eq(r, NFT_META_NFPROTO, NFPROTO_IPV4, ok);
        add_expr(r, "counter", ok);
        break;
    }
}

static int add_chain(struct batch *bt, const char *table, const char *name, uint32_t hook)
{
    struct nftnl_chain *c = nftnl_chain_alloc();
    if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 || nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0) {
        if (c)
            nftnl_chain_free(c);
        return -1;
    }
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    nftnl_chain_nlmsg_build_payload(msg_start(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
    msg_end(bt);
    nftnl_chain_free(c);
    return 0;
}

int ash_nft_rules_batch(char *buf, size_t len, const char *table, const struct ash_nft_rule *rules, size_t n,
                        uint32_t seq, size_t *batch_len, uint32_t *ack_seq)
{
    /* Half the buffer is mnl's limit: a message is far smaller than the other half, which
     * libnftnl writes into without bounds (msg_end stops at the first that crosses). */
    struct batch bt = {.b = mnl_nlmsg_batch_start(buf, len / 2), .seq = seq};
    if (!bt.b)
        return -1;
    nftnl_batch_begin(mnl_nlmsg_batch_current(bt.b), bt.seq++);
    msg_end(&bt);
    struct nftnl_table *t = nftnl_table_alloc();
    if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0)
        bt.failed = true;
    else
        nftnl_table_nlmsg_build_payload(msg_start(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE), t);
    if (t)
        nftnl_table_free(t);
    if (!bt.failed)
        msg_end(&bt);
    if (bt.failed || add_chain(&bt, table, "out", NF_INET_LOCAL_OUT) < 0 ||
        add_chain(&bt, table, "in", NF_INET_LOCAL_IN) < 0)
        goto fail;
    uint32_t set_id = 0;
    for (size_t i = 0; i < n && !bt.failed; i++) {
        bool ok = true;
        if (rules[i].port && (rules[i].l4 == ASH_NFT_L4_ANY || rules[i].l4 == ASH_NFT_L4_TCP_UDP) &&
            anon_set(&bt, table, ++set_id) < 0)
            goto fail;
        struct nftnl_rule *r = nftnl_rule_alloc();
        if (!r || nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
            nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, rules[i].input ? "in" : "out") < 0)
            ok = false;
        if (ok)
            rule_exprs(r, &rules[i], set_id, &ok);
        if (ok) {
            nftnl_rule_nlmsg_build_payload(msg_start(&bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
            msg_end(&bt);
        }
        if (r)
            nftnl_rule_free(r);
        if (!ok)
            goto fail;
    }
    if (bt.failed)
        goto fail;
    /* One ack, for the last message: the kernel reports every refused message anyway,
     * and acks at the end of the batch, so one read tells how it went. */
    bt.last->nlmsg_flags |= NLM_F_ACK;
    *ack_seq = bt.last->nlmsg_seq;
    nftnl_batch_end(mnl_nlmsg_batch_current(bt.b), bt.seq++);
    msg_end(&bt);
    if (bt.failed)
        goto fail;
    *batch_len = mnl_nlmsg_batch_size(bt.b);
    mnl_nlmsg_batch_stop(bt.b);
    return 0;
fail:
    mnl_nlmsg_batch_stop(bt.b);
    return -1;
}

static int append(char *buf, size_t len, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = *at < len ? vsnprintf(buf + *at, len - *at, fmt, ap) : -1;
    va_end(ap);
    if (k < 0 || (size_t)k >= len - *at)
        return -1;
    *at += (size_t)k;
    return 0;
}

int ash_nft_rules_text(char *buf, size_t len, const char *table, const struct ash_nft_rule *rules, size_t n)
{
    size_t at = 0;
    int r = append(buf, len, &at,
                   "add table inet %s\n"
                   "add chain inet %s out { type filter hook output priority 0; policy accept; }\n"
                   "add chain inet %s in { type filter hook input priority 0; policy accept; }\n",
                   table, table, table);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct ash_nft_rule *x = &rules[i];
        char peer[INET_ADDRSTRLEN] = "";
        r |= append(buf, len, &at, "add rule inet %s %s ", table, x->input ? "in" : "out");
        if (x->has_peer && inet_ntop(AF_INET, &x->peer, peer, sizeof peer))
            r |= append(buf, len, &at, "ip %s %s ", x->input ? "saddr" : "daddr", peer);
        const char *pr = x->l4 == ASH_NFT_L4_TCP ? "tcp" : x->l4 == ASH_NFT_L4_UDP ? "udp" : NULL;
        if (x->l4 == ASH_NFT_L4_ICMP)
            r |= append(buf, len, &at, "meta l4proto icmp ");
        else if (pr && !x->port)
            r |= append(buf, len, &at, "meta l4proto %s ", pr);
        if (x->port)
            r |= append(buf, len, &at, "%s %s %u ", pr ? pr : "meta l4proto { tcp, udp } th",
                        x->sport ? "sport" : "dport", x->port);
        switch (x->what) {
        case ASH_NFT_DROP:
            r |= append(buf, len, &at, "drop\n");
            break;
        case ASH_NFT_DROP_SOME:
            r |= append(buf, len, &at, "numgen random mod 1000000 < %u drop\n", x->arg);
            break;
        case ASH_NFT_SET_PRIORITY:
            r |= append(buf, len, &at, "meta priority set 1:%x\n", x->arg); /* tc handles are hex */
            break;
        case ASH_NFT_COUNT_IPV4:
            r |= append(buf, len, &at, "meta nfproto ipv4 counter\n");
            break;
        }
    }
    return r ? -1 : 0;
}
