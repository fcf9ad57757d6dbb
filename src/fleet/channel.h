/* The fleet channel: JSON objects, one per line, over TLS 1.3 with a pre-shared key, on the event loop.
 *
 * Why a pre-shared key and not certificates: a certificate setup needs a CA
 * that someone runs, a certificate per agent, and a check of names the
 * agents do not have (a Swarm task or a DaemonSet pod has no stable name to
 * put in a certificate). The coordinator makes one random key per run and
 * hands it to the agents through the engine's own secret mechanism (a Swarm
 * secret, a Kubernetes Secret), which carries exactly one file. With TLS 1.3
 * PSK (and ECDHE on top, for forward secrecy) both sides prove they hold the
 * key in the handshake itself: a peer without it never gets to send a
 * message, and nothing listens that an unauthenticated peer could talk to.
 *
 * The coordinator listens and the agents connect out, so a node opens no
 * port. Callbacks must not free the channel (ash_channel_close it and free it
 * later, outside the channel's callbacks). */
#ifndef ASH_FLEET_CHANNEL_H
#define ASH_FLEET_CHANNEL_H

#include "fleet/psk.h"
#include "sys/loop.h"

#include <aftershock/error.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ash_channel;

/* The largest message (the scenario's text is the big one). */
#define ASH_CHANNEL_MAX_LINE (4u << 20)
/* The default bound on connect + handshake. */
#define ASH_CHANNEL_HANDSHAKE_NS (INT64_C(5) * 1000000000)

struct ash_channel_cbs {
    /* The handshake is done: both sides hold the key. */
    void (*open)(struct ash_channel *ch, void *data);
    /* One message (a JSON object, borrowed). */
    void (*message)(struct ash_channel *ch, json_t *msg, void *data);
    /* The channel ended (called once; not after ash_channel_close): the peer
     * closed it (why->code 0), or why says what failed. */
    void (*closed)(struct ash_channel *ch, const ash_error_t *why, void *data);
};

/* Connect to HOST:PORT (a name or an address; [V6]:PORT) as the client; the
 * callbacks say how it goes. Fails at once only when the name cannot be
 * resolved or no socket can be made. */
int ash_channel_connect(ash_loop *loop, const char *hostport, const struct ash_psk *key, int64_t handshake_ns,
                        const struct ash_channel_cbs *cbs, void *data, struct ash_channel **out, ash_error_t *err);
/* Serve an accepted connection (the channel owns fd from here on, also on failure). */
int ash_channel_accept(ash_loop *loop, int fd, const struct ash_psk *key, int64_t handshake_ns,
                       const struct ash_channel_cbs *cbs, void *data, struct ash_channel **out, ash_error_t *err);
/* Queue one message (borrowed) and send what the socket takes now. */
int ash_channel_send(struct ash_channel *ch, json_t *msg, ash_error_t *err);
bool ash_channel_is_open(const struct ash_channel *ch);
/* The peer's address, "ADDR:PORT". */
const char *ash_channel_peer(const struct ash_channel *ch);
/* Stop using it: leaves the loop, tells the peer (best effort), no callback. */
/* The IPv4 addresses (network byte order) of the connection's two ends; -1 when it is not IPv4. */
int ash_channel_addrs4(const struct ash_channel *ch, uint32_t *local, uint32_t *peer);
void ash_channel_close(struct ash_channel *ch);
void ash_channel_free(struct ash_channel *ch);

#endif
