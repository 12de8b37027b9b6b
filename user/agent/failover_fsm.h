/* SPDX-License-Identifier: GPL-2.0 */
/* The failover agent's state machine: one per VM, keyed by its MAC, pairing
 * the relay's VF (standby path) with the guest's passthrough VF (primary).
 * A pure function of (state, event): no I/O; the caller executes the actions
 * it returns, logs its line and feeds back what it observes.
 */
#ifndef VXDP_FAILOVER_FSM_H
#define VXDP_FAILOVER_FSM_H

#include <stdbool.h>
#include <stdint.h>

#define FO_MAC_LEN	6
#define FO_MAX_ACTIONS	16
#define FO_LOG_LEN	224
#define FO_MAX_RETRIES	3	/* re-reads after failed actions in a row */

enum fo_state {
	FO_INIT,		/* not reconciled: waits for FO_EV_OBSERVED */
	FO_IDLE,		/* no frontend: the VM does not run here */
	FO_STARTING,		/* frontend connected, guest not running yet */
	FO_STANDBY_START,	/* running here on the standby, primary coming */
	FO_PRIMARY,		/* running here on the primary */
	FO_SRC_UNPLUG,		/* migrating out, primary unplug asked */
	FO_SRC_STANDBY,		/* migrating out on the standby, primary hidden */
	FO_NR_STATES
};

enum fo_event_type {
	/* what netlink and the relay show now (reconciliation) */
	FO_EV_OBSERVED,
	/* netlink facts */
	FO_EV_PF_LINK,		/* .up: the PF's (uplink's) carrier */
	FO_EV_VF_CHANGED,	/* a VF was changed, maybe by someone else */
	FO_EV_RELAY_VF,		/* .up: the relay's VF netdev appeared / left */
	FO_EV_FDB_REMOVED,	/* .path: an FDB entry for the MAC went away */
	FO_EV_PRIMARY_UP,	/* the primary carries the guest's traffic */
	/* the relay's vhost-user view */
	FO_EV_FRONTEND_UP,
	FO_EV_RINGS_RUNNING,
	FO_EV_DIRTY_LOG_START,	/* source migrating */
	FO_EV_DIRTY_LOG_STOP,
	FO_EV_SEND_RARP,	/* destination running */
	FO_EV_GUEST_TX_STANDBY,	/* the guest sent a frame on the standby */
	FO_EV_RINGS_STOPPED,	/* the device stopped (the guest paused) */
	FO_EV_FRONTEND_GONE,
	/* QMP */
	FO_EV_QMP_FAILOVER_NEGOTIATED,
	FO_EV_QMP_UNPLUG_PRIMARY,
	FO_EV_QMP_MIGRATION,	/* .mig */
	FO_EV_QMP_RESUME,
	FO_EV_QMP_STOP,
	/* the agent itself */
	FO_EV_TIMER,		/* .seq of the FO_ACT_TIMER_ARM that fired */
	FO_EV_ACTION_FAILED,	/* an action failed: the world is unknown */
	FO_EV_NR
};

/* QEMU's MigrationStatus values the agent tells apart. */
enum fo_mig {
	FO_MIG_OTHER,
	FO_MIG_SETUP,
	FO_MIG_WAIT_UNPLUG,
	FO_MIG_ACTIVE,
	FO_MIG_DEVICE,		/* also pre-switchover */
	FO_MIG_COMPLETED,
	FO_MIG_FAILED,
	FO_MIG_CANCELLING,
	FO_MIG_CANCELLED,
};

enum fo_path { FO_PATH_PRIMARY, FO_PATH_STANDBY };

/* IFLA_VF_LINK_STATE values. */
enum fo_link { FO_LINK_AUTO = 0, FO_LINK_ENABLE = 1, FO_LINK_DISABLE = 2 };

enum fo_frontend { FO_FE_NONE, FO_FE_CONNECTED, FO_FE_RUNNING };

/* Which fields of struct fo_world an observation could read. */
#define FO_W_MAC	(1u << 0)
#define FO_W_LINK	(1u << 1)
#define FO_W_FDB_PRI	(1u << 2)
#define FO_W_FDB_STBY	(1u << 3)
#define FO_W_STEER	(1u << 4)
#define FO_W_RELAY	(1u << 5)
#define FO_W_ALL	0x3fu

/* The host's side of one VM's two paths. */
struct fo_world {
	bool mac_set;		/* primary VF's MAC is the VM's (else zero) */
	enum fo_link link;	/* primary VF's link state */
	bool fdb_primary;	/* the switch delivers the MAC to the primary */
	bool fdb_standby;	/* ... to the relay's VF */
	bool steer;		/* the relay's XDP steers the MAC to the VM */
	bool relay_open;	/* relay VF: spoof-check off, trust on */
};

struct fo_obs {
	uint32_t valid;			/* FO_W_* read into .w */
	struct fo_world w;
	bool frontend_known;
	enum fo_frontend frontend;
	bool logging;			/* dirty logging on (source migrating) */
};

struct fo_event {
	enum fo_event_type type;
	bool up;			/* FO_EV_PF_LINK, FO_EV_RELAY_VF */
	enum fo_path path;		/* FO_EV_FDB_REMOVED */
	enum fo_mig mig;		/* FO_EV_QMP_MIGRATION */
	uint32_t seq;			/* FO_EV_TIMER */
	const struct fo_obs *obs;	/* FO_EV_OBSERVED */
	const char *detail;		/* optional, goes into the log line */
};

enum fo_act_type {
	FO_ACT_VF_MAC,		/* .mac on the primary VF (zero: hidden) */
	FO_ACT_VF_LINK,		/* .link on the primary VF */
	FO_ACT_RELAY_SPOOFCHK,	/* .on: spoof-check on the relay's VF */
	FO_ACT_RELAY_TRUST,	/* .on: trust on the relay's VF */
	FO_ACT_FDB_ADD,		/* .path, for the VM's MAC */
	FO_ACT_FDB_DEL,		/* .path */
	FO_ACT_STEER,		/* .on: relay XDP steering for the MAC */
	FO_ACT_ANNOUNCE,	/* a gratuitous RARP for the MAC via the relay */
	FO_ACT_TIMER_ARM,	/* .ms, .seq: feed FO_EV_TIMER .seq then */
	FO_ACT_TIMER_CANCEL,
	FO_ACT_RESYNC,		/* read netlink and feed FO_EV_OBSERVED */
};

struct fo_action {
	enum fo_act_type type;
	uint8_t mac[FO_MAC_LEN];
	enum fo_link link;
	enum fo_path path;
	bool on;
	uint32_t ms;
	uint32_t seq;
};

struct fo_cfg {
	uint8_t mac[FO_MAC_LEN];
	/* A source stays on its primary after the unplug request until the
	 * guest has let it go (MIGRATION active, or its first frame on the
	 * standby), at most this long.
	 */
	uint32_t unplug_grace_ms;
	/* A guest starting here (boot or incoming) runs on the standby until
	 * its primary is up (FO_EV_PRIMARY_UP), at most this long.
	 */
	uint32_t primary_grace_ms;
};

#define FO_UNPLUG_GRACE_MS	300
#define FO_PRIMARY_GRACE_MS	2000

struct fo_counters {
	uint64_t events;
	uint64_t transitions;
	uint64_t ignored;	/* duplicate, stale or out-of-order events */
	uint64_t actions;
	uint64_t repairs;	/* FDB entries others removed, put back */
	uint64_t resyncs;
	uint64_t migrations_out;
	uint64_t completed;
	uint64_t restored;	/* cancelled or failed: primary path back */
};

struct fo_transition {
	enum fo_state from, to;
	enum fo_event_type event;
	uint64_t at_ms;		/* caller's clock */
	char reason[96];
};

struct fo_vm {
	struct fo_cfg cfg;
	enum fo_state state;
	struct fo_world cur;	/* as the last observation and actions left it */
	bool stopped;		/* QMP STOP seen, no RESUME since */
	bool logging;		/* the frontend's dirty logging is on */
	uint32_t timer_seq;	/* the armed timer's seq, 0 when none */
	unsigned int failures;	/* FO_EV_ACTION_FAILED in a row */
	struct fo_counters cnt;
	struct fo_transition last;
};

struct fo_result {
	bool transition;
	unsigned int n;
	struct fo_action act[FO_MAX_ACTIONS];
	char log[FO_LOG_LEN];	/* for the caller's log; names MAC and reason */
};

void fo_vm_init(struct fo_vm *vm, const struct fo_cfg *cfg);

/* Apply @ev at @now_ms: @vm moves to its next state, @res gets the actions
 * to execute in order and the line to log. Nothing else is touched.
 */
void fo_step(struct fo_vm *vm, const struct fo_event *ev, uint64_t now_ms,
	     struct fo_result *res);

/* What a state wants of the world (FO_INIT wants nothing: false). */
bool fo_state_target(enum fo_state s, struct fo_world *w);

/* What the caller should watch for in a state, to feed the events that
 * end it sooner than its timer: the guest's first frame on the standby
 * (FO_EV_GUEST_TX_STANDBY: it let its primary go) and its first on the
 * primary (FO_EV_PRIMARY_UP: the primary's link is up).
 */
#define FO_WATCH_STANDBY_TX	(1u << 0)
#define FO_WATCH_PRIMARY_TX	(1u << 1)
unsigned int fo_state_watches(enum fo_state s);

const char *fo_state_name(enum fo_state s);
const char *fo_event_name(enum fo_event_type t);
const char *fo_action_name(enum fo_act_type t);
const char *fo_mig_name(enum fo_mig m);
/* "setup", "wait-unplug", ... as QEMU spells them; FO_MIG_OTHER if unknown. */
enum fo_mig fo_mig_parse(const char *status);
/* A QMP event by name (and MIGRATION's data.status) as an event of this
 * machine: true if it is one (MIGRATION_PASS, SHUTDOWN, ... are not).
 */
bool fo_event_from_qmp(const char *name, const char *status, struct fo_event *ev);
/* "52:54:00:12:34:56" into @buf (18 bytes). */
char *fo_mac_str(const uint8_t *mac, char *buf);

#endif
