/* `aftershock agent`: one node's end of the fleet. Connects out to the coordinator, applies the
 * faults it is sent through the same kinds as a local run, and reverts them when its lease lapses. */
#ifndef ASH_FLEET_AGENT_H
#define ASH_FLEET_AGENT_H

#include <aftershock/error.h>
#include <stdint.h>

struct ash_kind_set;

#define ASH_AGENT_LEASE_NS (INT64_C(3) * 1000000000)

struct ash_agent_opts {
    const char *connect;      /* the coordinator's HOST:PORT */
    const char *key_file;     /* the run's fleet key (fleet/psk.h) */
    const char *node;         /* this node's name, as the coordinator knows it */
    int64_t lease_ns;         /* revert everything after this long without a word; default ASH_AGENT_LEASE_NS */
    const char *state_dir;    /* the journal's directory; default ASH_DEFAULT_STATE_DIR */
    const char *guardian_exe; /* this binary, to start the guardian; NULL: no guardian */
    const struct ash_kind_set *kinds;
    int64_t handshake_ns; /* 0: ASH_CHANNEL_HANDSHAKE_NS */
};

/* Serve one run. 0 when the coordinator said bye; -1 with err saying why the
 * agent left (the lease lapsed, the connection dropped, a signal, a refused
 * handshake). Every fault it applied is reverted on either path; err also says
 * when one could not be (its journal is then kept for `aftershock recover`). */
int ash_agent_run(const struct ash_agent_opts *o, ash_error_t *err);

#endif
