// SPDX-License-Identifier: GPL-2.0
/* The failover state machine (see failover_fsm.h and kmod-free-design.md,
 * "Failover agent"): each state names what it wants of the host's paths, a
 * transition emits the difference, in an order that never has the switch
 * deliver the VM's MAC to two ports or to a port that cannot take it.
 */
#include <stdio.h>
#include <string.h>

#include "agent/failover_fsm.h"
#include "util/compiler.h"

static const char *const state_names[FO_NR_STATES] = {
	[FO_INIT] = "init",
	[FO_IDLE] = "idle",
	[FO_STARTING] = "starting",
	[FO_STANDBY_START] = "standby-start",
	[FO_PRIMARY] = "primary",
	[FO_SRC_UNPLUG] = "src-unplug",
	[FO_SRC_STANDBY] = "src-standby",
};

static const char *const event_names[FO_EV_NR] = {
	[FO_EV_OBSERVED] = "observed",
	[FO_EV_PF_LINK] = "pf-link",
	[FO_EV_VF_CHANGED] = "vf-changed",
	[FO_EV_RELAY_VF] = "relay-vf",
	[FO_EV_FDB_REMOVED] = "fdb-removed",
	[FO_EV_PRIMARY_UP] = "primary-up",
	[FO_EV_FRONTEND_UP] = "frontend-up",
	[FO_EV_RINGS_RUNNING] = "rings-running",
	[FO_EV_DIRTY_LOG_START] = "dirty-log-start",
	[FO_EV_DIRTY_LOG_STOP] = "dirty-log-stop",
	[FO_EV_SEND_RARP] = "send-rarp",
	[FO_EV_GUEST_TX_STANDBY] = "guest-tx-standby",
	[FO_EV_RINGS_STOPPED] = "rings-stopped",
	[FO_EV_FRONTEND_GONE] = "frontend-gone",
	[FO_EV_QMP_FAILOVER_NEGOTIATED] = "qmp-failover-negotiated",
	[FO_EV_QMP_UNPLUG_PRIMARY] = "qmp-unplug-primary",
	[FO_EV_QMP_MIGRATION] = "qmp-migration",
	[FO_EV_QMP_RESUME] = "qmp-resume",
	[FO_EV_QMP_STOP] = "qmp-stop",
	[FO_EV_TIMER] = "timer",
	[FO_EV_ACTION_FAILED] = "action-failed",
};

static const char *const action_names[] = {
	[FO_ACT_VF_MAC] = "vf-mac",
	[FO_ACT_VF_LINK] = "vf-link",
	[FO_ACT_RELAY_SPOOFCHK] = "relay-spoofchk",
	[FO_ACT_RELAY_TRUST] = "relay-trust",
	[FO_ACT_FDB_ADD] = "fdb-add",
	[FO_ACT_FDB_DEL] = "fdb-del",
	[FO_ACT_STEER] = "steer",
	[FO_ACT_ANNOUNCE] = "announce",
	[FO_ACT_TIMER_ARM] = "timer-arm",
	[FO_ACT_TIMER_CANCEL] = "timer-cancel",
	[FO_ACT_RESYNC] = "resync",
};

static const char *const mig_names[] = {
	[FO_MIG_OTHER] = "other",
	[FO_MIG_SETUP] = "setup",
	[FO_MIG_WAIT_UNPLUG] = "wait-unplug",
	[FO_MIG_ACTIVE] = "active",
	[FO_MIG_DEVICE] = "device",
	[FO_MIG_COMPLETED] = "completed",
	[FO_MIG_FAILED] = "failed",
	[FO_MIG_CANCELLING] = "cancelling",
	[FO_MIG_CANCELLED] = "cancelled",
};

const char *fo_state_name(enum fo_state s)
{
	return (unsigned int)s < FO_NR_STATES ? state_names[s] : "?";
}

const char *fo_event_name(enum fo_event_type t)
{
	return (unsigned int)t < FO_EV_NR ? event_names[t] : "?";
}

const char *fo_action_name(enum fo_act_type t)
{
	return (unsigned int)t < ARRAY_SIZE(action_names) ? action_names[t] : "?";
}

const char *fo_mig_name(enum fo_mig m)
{
	return (unsigned int)m < ARRAY_SIZE(mig_names) ? mig_names[m] : "?";
}

enum fo_mig fo_mig_parse(const char *status)
{
	unsigned int i;

	if (!status)
		return FO_MIG_OTHER;
	if (!strcmp(status, "pre-switchover"))
		return FO_MIG_DEVICE;
	for (i = 1; i < ARRAY_SIZE(mig_names); i++)
		if (!strcmp(status, mig_names[i]))
			return i;
	return FO_MIG_OTHER;
}

bool fo_event_from_qmp(const char *name, const char *status, struct fo_event *ev)
{
	static const struct {
		const char *name;
		enum fo_event_type type;
	} map[] = {
		{ "FAILOVER_NEGOTIATED", FO_EV_QMP_FAILOVER_NEGOTIATED },
		{ "UNPLUG_PRIMARY", FO_EV_QMP_UNPLUG_PRIMARY },
		{ "MIGRATION", FO_EV_QMP_MIGRATION },
		{ "RESUME", FO_EV_QMP_RESUME },
		{ "STOP", FO_EV_QMP_STOP },
	};
	unsigned int i;

	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < ARRAY_SIZE(map); i++) {
		if (strcmp(name, map[i].name))
			continue;
		ev->type = map[i].type;
		if (ev->type == FO_EV_QMP_MIGRATION)
			ev->mig = fo_mig_parse(status);
		return true;
	}
	return false;
}

char *fo_mac_str(const uint8_t *mac, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/* What each state wants; see the table in kmod-free-design.md. */
bool fo_state_target(enum fo_state s, struct fo_world *w)
{
	memset(w, 0, sizeof(*w));
	w->link = FO_LINK_DISABLE;
	switch (s) {
	case FO_IDLE:
		return true;
	case FO_STARTING:
		/* the MAC before the guest can probe the VF, which pairs by it;
		 * the standby path ready before the guest runs, so that its
		 * first frames after a migration (the RARP teaches the network
		 * at once) find it
		 */
		w->mac_set = true;
		w->fdb_standby = true;
		w->steer = true;
		w->relay_open = true;
		return true;
	case FO_STANDBY_START:
		w->mac_set = true;
		w->fdb_standby = true;
		w->steer = true;
		w->relay_open = true;
		return true;
	case FO_PRIMARY:
		w->mac_set = true;
		w->link = FO_LINK_AUTO;
		w->fdb_primary = true;
		w->relay_open = true;
		return true;
	case FO_SRC_UNPLUG:
		/* the guest may use its primary until it has let it go; the
		 * relay is ready to take over at once
		 */
		w->mac_set = true;
		w->link = FO_LINK_AUTO;
		w->fdb_primary = true;
		w->steer = true;
		w->relay_open = true;
		return true;
	case FO_SRC_STANDBY:
		w->fdb_standby = true;
		w->steer = true;
		w->relay_open = true;
		return true;
	default:
		return false;
	}
}

static bool state_has_timer(enum fo_state s, const struct fo_cfg *cfg, uint32_t *ms)
{
	switch (s) {
	case FO_SRC_UNPLUG:
		*ms = cfg->unplug_grace_ms;
		return true;
	case FO_STANDBY_START:
		*ms = cfg->primary_grace_ms;
		return true;
	default:
		return false;
	}
}

static bool state_migrating_out(enum fo_state s)
{
	return s == FO_SRC_UNPLUG || s == FO_SRC_STANDBY;
}

unsigned int fo_state_watches(enum fo_state s)
{
	switch (s) {
	case FO_SRC_UNPLUG:
		return FO_WATCH_STANDBY_TX;
	case FO_STANDBY_START:
		return FO_WATCH_PRIMARY_TX;
	default:
		return 0;
	}
}

/* A migration out is over and the VM stays: QEMU plugs the primary back.
 * A guest that had let it go needs seconds to bring it up again, and
 * carries on the standby meanwhile; one still unplugging keeps it.
 */
static enum fo_state restored_state(enum fo_state s)
{
	return s == FO_SRC_STANDBY ? FO_STANDBY_START : FO_PRIMARY;
}

void fo_vm_init(struct fo_vm *vm, const struct fo_cfg *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	if (!vm->cfg.unplug_grace_ms)
		vm->cfg.unplug_grace_ms = FO_UNPLUG_GRACE_MS;
	if (!vm->cfg.primary_grace_ms)
		vm->cfg.primary_grace_ms = FO_PRIMARY_GRACE_MS;
	vm->state = FO_INIT;
	vm->last.from = vm->last.to = FO_INIT;
	vm->last.event = FO_EV_NR;
}

static struct fo_action *push(struct fo_result *res, enum fo_act_type t)
{
	struct fo_action *a;

	/* FO_MAX_ACTIONS is above the longest diff plus one-shots */
	if (res->n >= FO_MAX_ACTIONS)
		return NULL;
	a = &res->act[res->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	return a;
}

static void push_on(struct fo_result *res, enum fo_act_type t, bool on)
{
	struct fo_action *a = push(res, t);

	if (a)
		a->on = on;
}

static void push_fdb(struct fo_result *res, enum fo_act_type t, enum fo_path p)
{
	struct fo_action *a = push(res, t);

	if (a)
		a->path = p;
}

static void push_mac(struct fo_result *res, const struct fo_vm *vm, bool set)
{
	struct fo_action *a = push(res, FO_ACT_VF_MAC);

	if (a && set)
		memcpy(a->mac, vm->cfg.mac, FO_MAC_LEN);
}

static void push_link(struct fo_result *res, enum fo_link l)
{
	struct fo_action *a = push(res, FO_ACT_VF_LINK);

	if (a)
		a->link = l;
}

/* Break before make: the relay is ready before it may receive, the old
 * delivery goes before the new one comes, the primary's link comes up only
 * once its MAC and switch entry are in place, steering goes last.
 */
static void diff(struct fo_vm *vm, const struct fo_world *want, struct fo_result *res)
{
	struct fo_world *c = &vm->cur;

	if (want->relay_open && !c->relay_open) {
		push_on(res, FO_ACT_RELAY_SPOOFCHK, false);
		push_on(res, FO_ACT_RELAY_TRUST, true);
	}
	if (want->steer && !c->steer)
		push_on(res, FO_ACT_STEER, true);
	if (want->link == FO_LINK_DISABLE && c->link != FO_LINK_DISABLE)
		push_link(res, FO_LINK_DISABLE);
	if (!want->fdb_primary && c->fdb_primary)
		push_fdb(res, FO_ACT_FDB_DEL, FO_PATH_PRIMARY);
	if (!want->fdb_standby && c->fdb_standby)
		push_fdb(res, FO_ACT_FDB_DEL, FO_PATH_STANDBY);
	if (want->mac_set != c->mac_set)
		push_mac(res, vm, want->mac_set);
	if (want->fdb_standby && !c->fdb_standby)
		push_fdb(res, FO_ACT_FDB_ADD, FO_PATH_STANDBY);
	if (want->fdb_primary && !c->fdb_primary)
		push_fdb(res, FO_ACT_FDB_ADD, FO_PATH_PRIMARY);
	if (want->link != FO_LINK_DISABLE && c->link != want->link)
		push_link(res, want->link);
	if (!want->steer && c->steer)
		push_on(res, FO_ACT_STEER, false);
	if (!want->relay_open && c->relay_open) {
		push_on(res, FO_ACT_RELAY_TRUST, false);
		push_on(res, FO_ACT_RELAY_SPOOFCHK, true);
	}
	*c = *want;
}

/* The state an observation shows, for a machine that remembers nothing. */
static enum fo_state derive(const struct fo_obs *o)
{
	bool stby = (o->valid & FO_W_FDB_STBY) && o->w.fdb_standby;
	bool hidden = (o->valid & FO_W_MAC) && !o->w.mac_set;

	switch (o->frontend) {
	case FO_FE_NONE:
		return FO_IDLE;
	case FO_FE_CONNECTED:
		return FO_STARTING;
	default:
		break;
	}
	if (o->logging)
		return stby || hidden ? FO_SRC_STANDBY : FO_SRC_UNPLUG;
	return stby ? FO_STANDBY_START : FO_PRIMARY;
}

/* Whether @s still fits what was observed; if not, derive() decides. */
static bool fits(enum fo_state s, const struct fo_obs *o)
{
	switch (o->frontend) {
	case FO_FE_NONE:
		return s == FO_IDLE;
	case FO_FE_CONNECTED:
		return s == FO_STARTING;
	default:
		break;
	}
	if (o->logging)
		return state_migrating_out(s);
	return s == FO_STANDBY_START || s == FO_PRIMARY;
}

struct decision {
	enum fo_state to;
	const char *why;
	bool ignored;		/* nothing to do: duplicate/out of order */
	bool restore;		/* migration over, the VM stays: primary back */
	bool resync;
	bool observed;		/* cur was replaced by an observation */
	bool no_diff;		/* the world cannot be acted on now */
};

static void on_observed(struct fo_vm *vm, const struct fo_obs *o, struct decision *d)
{
	struct fo_world want;

	if (!o || !o->frontend_known) {
		d->ignored = true;
		d->why = "observation without the frontend's state";
		return;
	}
	vm->logging = o->frontend != FO_FE_NONE && o->logging;
	if (vm->state == FO_INIT || !fits(vm->state, o)) {
		d->to = derive(o);
		d->why = vm->state == FO_INIT ? "reconciled from netlink and the relay" :
			 "observation contradicts the state";
	} else {
		d->why = "re-read";
	}
	/* what could not be read is taken to be as the state wants it:
	 * nothing is done about what cannot be seen (e.g. the bridge backend
	 * has no VF MAC)
	 */
	fo_state_target(d->to, &want);
	vm->cur = want;
	if (o->valid & FO_W_MAC)
		vm->cur.mac_set = o->w.mac_set;
	if (o->valid & FO_W_LINK)
		vm->cur.link = o->w.link;
	if (o->valid & FO_W_FDB_PRI)
		vm->cur.fdb_primary = o->w.fdb_primary;
	if (o->valid & FO_W_FDB_STBY)
		vm->cur.fdb_standby = o->w.fdb_standby;
	if (o->valid & FO_W_STEER)
		vm->cur.steer = o->w.steer;
	if (o->valid & FO_W_RELAY)
		vm->cur.relay_open = o->w.relay_open;
	d->observed = true;
}

static void on_migration(const struct fo_vm *vm, enum fo_mig m, struct decision *d)
{
	enum fo_state s = vm->state;

	switch (m) {
	case FO_MIG_WAIT_UNPLUG:
		if (s == FO_PRIMARY) {
			d->to = FO_SRC_UNPLUG;
			d->why = "waiting for the guest to unplug its primary";
		} else if (s == FO_STANDBY_START) {
			d->to = FO_SRC_STANDBY;
			d->why = "migrating before the primary was up";
		}
		break;
	case FO_MIG_ACTIVE:
	case FO_MIG_DEVICE:
		/* after wait-unplug: the guest has let its primary go */
		if (s == FO_SRC_UNPLUG || s == FO_PRIMARY || s == FO_STANDBY_START) {
			d->to = FO_SRC_STANDBY;
			d->why = "primary unplugged, migration under way";
		}
		break;
	case FO_MIG_COMPLETED:
		if (state_migrating_out(s)) {
			d->to = FO_IDLE;
			d->why = "migration completed, the VM runs elsewhere";
		}
		break;
	case FO_MIG_FAILED:
	case FO_MIG_CANCELLED:
		if (state_migrating_out(s)) {
			d->to = restored_state(s);
			d->restore = true;
			d->why = m == FO_MIG_FAILED ? "migration failed, primary path back" :
				 "migration cancelled, primary path back";
		}
		break;
	default:
		break;
	}
	if (d->to == s)
		d->ignored = true;
}

/* Facts about the world: they change what is believed, not the state. */
static void on_fact(struct fo_vm *vm, const struct fo_event *ev, struct decision *d)
{
	switch (ev->type) {
	case FO_EV_PF_LINK:
		/* a PF reset may have reset its VFs: read them back */
		d->resync = ev->up;
		d->why = ev->up ? "PF up: re-read its VFs" : "PF down";
		break;
	case FO_EV_VF_CHANGED:
	case FO_EV_ACTION_FAILED:
		/* a setting the device keeps refusing is not retried forever:
		 * the next event tries again
		 */
		if (ev->type == FO_EV_ACTION_FAILED && ++vm->failures > FO_MAX_RETRIES) {
			d->no_diff = true;
			d->why = "an action keeps failing: not retried until the next event";
			return;
		}
		d->resync = true;
		d->why = ev->type == FO_EV_VF_CHANGED ? "a VF changed: re-read" :
			 "an action failed: re-read";
		break;
	case FO_EV_RELAY_VF:
		if (ev->up) {
			d->resync = true;
			d->no_diff = true;	/* the observation tells */
			d->why = "relay VF back: re-read";
		} else {
			/* its FDB entries and settings went with it */
			vm->cur.fdb_standby = false;
			vm->cur.relay_open = false;
			d->no_diff = true;
			d->why = "relay VF gone: standby path lost";
		}
		break;
	case FO_EV_FDB_REMOVED:
		/* the notification of our own removal, or of one we know */
		if (!(ev->path == FO_PATH_PRIMARY ? vm->cur.fdb_primary : vm->cur.fdb_standby)) {
			d->ignored = true;
			d->why = "entry not there anyway";
			return;
		}
		if (ev->path == FO_PATH_PRIMARY)
			vm->cur.fdb_primary = false;
		else
			vm->cur.fdb_standby = false;
		d->why = "FDB entry removed by someone else";
		break;
	default:
		break;
	}
}

static void decide(struct fo_vm *vm, const struct fo_event *ev, struct decision *d)
{
	enum fo_state s = vm->state;

	d->to = s;
	if (s == FO_INIT && ev->type != FO_EV_OBSERVED) {
		d->ignored = true;
		d->why = "not reconciled yet";
		return;
	}
	switch (ev->type) {
	case FO_EV_OBSERVED:
		on_observed(vm, ev->obs, d);
		return;
	case FO_EV_PF_LINK:
	case FO_EV_VF_CHANGED:
	case FO_EV_ACTION_FAILED:
	case FO_EV_RELAY_VF:
	case FO_EV_FDB_REMOVED:
		on_fact(vm, ev, d);
		return;
	case FO_EV_PRIMARY_UP:
		if (s == FO_STANDBY_START) {
			d->to = FO_PRIMARY;
			d->why = "primary up";
		}
		break;
	case FO_EV_FRONTEND_UP:
		vm->logging = false;
		if (s == FO_IDLE) {
			d->to = FO_STARTING;
			d->why = "frontend connected";
		}
		break;
	case FO_EV_RINGS_RUNNING:
		vm->stopped = false;
		/* fall through */
	case FO_EV_SEND_RARP:
		if ((s == FO_IDLE || s == FO_STARTING) && vm->logging) {
			/* QEMU reconnected to a restarted relay mid-migration
			 * (its log was on from the start): on the standby
			 */
			d->to = FO_SRC_STANDBY;
			d->why = "frontend back while migrating out";
		} else if (s == FO_IDLE || s == FO_STARTING) {
			d->to = FO_STANDBY_START;
			d->why = ev->type == FO_EV_SEND_RARP ? "destination running (SEND_RARP)" :
				 "guest running";
		}
		break;
	case FO_EV_QMP_RESUME:
		vm->stopped = false;
		if (s == FO_STARTING) {
			d->to = FO_STANDBY_START;
			d->why = "guest resumed";
		} else if (state_migrating_out(s)) {
			d->to = restored_state(s);
			d->restore = true;
			d->why = "guest resumed here: migration failed";
		}
		break;
	case FO_EV_QMP_STOP:
	case FO_EV_RINGS_STOPPED:
		vm->stopped = true;
		d->why = "guest stopped";
		return;
	case FO_EV_DIRTY_LOG_START:
	case FO_EV_QMP_UNPLUG_PRIMARY:
		if (ev->type == FO_EV_DIRTY_LOG_START)
			vm->logging = true;
		if (s == FO_PRIMARY) {
			d->to = FO_SRC_UNPLUG;
			d->why = ev->type == FO_EV_QMP_UNPLUG_PRIMARY ?
				 "QEMU asks the guest to unplug its primary" :
				 "dirty logging on: migrating out";
		} else if (s == FO_STANDBY_START) {
			d->to = FO_SRC_STANDBY;
			d->why = "migrating before the primary was up";
		}
		break;
	case FO_EV_DIRTY_LOG_STOP:
		vm->logging = false;
		/* a stopped source's log ends with the migration whatever
		 * its outcome: let QMP or the frontend tell
		 */
		if (state_migrating_out(s) && !vm->stopped) {
			d->to = restored_state(s);
			d->restore = true;
			d->why = "dirty logging off while running: migration over, VM stays";
		}
		break;
	case FO_EV_GUEST_TX_STANDBY:
		if (s == FO_SRC_UNPLUG) {
			d->to = FO_SRC_STANDBY;
			d->why = "guest sends on the standby: primary let go";
		}
		break;
	case FO_EV_QMP_MIGRATION:
		on_migration(vm, ev->mig, d);
		return;
	case FO_EV_TIMER:
		if (!vm->timer_seq || ev->seq != vm->timer_seq) {
			d->ignored = true;
			d->why = "stale timer";
			return;
		}
		vm->timer_seq = 0;
		if (s == FO_SRC_UNPLUG) {
			d->to = FO_SRC_STANDBY;
			d->why = "unplug grace over";
		} else if (s == FO_STANDBY_START) {
			d->to = FO_PRIMARY;
			d->why = "primary grace over";
		}
		break;
	case FO_EV_FRONTEND_GONE:
		vm->logging = false;
		if (s != FO_IDLE) {
			d->to = FO_IDLE;
			d->why = "frontend gone";
		}
		break;
	case FO_EV_QMP_FAILOVER_NEGOTIATED:
		d->why = "guest acked STANDBY: QEMU plugs the primary";
		return;
	default:
		break;
	}
	if (d->to == s) {
		d->ignored = true;
		d->why = "nothing to do in this state";
	}
}

static void count_transition(struct fo_vm *vm, const struct decision *d, enum fo_state from)
{
	if (d->to == FO_SRC_UNPLUG || (d->to == FO_SRC_STANDBY && !state_migrating_out(from)))
		vm->cnt.migrations_out++;
	if (d->restore)
		vm->cnt.restored++;
	if (state_migrating_out(from) && d->to == FO_IDLE)
		vm->cnt.completed++;
}

/* The one line every step logs: the MAC, the states, the event, the reason. */
static void log_step(const struct fo_vm *vm, const struct fo_event *ev, enum fo_state from,
		     const struct decision *d, struct fo_result *res)
{
	const char *what = ev->type == FO_EV_QMP_MIGRATION ? fo_mig_name(ev->mig) : "";
	const char *detail = ev->detail ? ev->detail : "";
	const char *why = d->why ? d->why : "";
	char mac[18];

	fo_mac_str(vm->cfg.mac, mac);
	if (d->ignored)
		snprintf(res->log, sizeof(res->log), "failover %s: %s: %s%s%s%s%s ignored (%s)",
			 mac, fo_state_name(from), fo_event_name(ev->type),
			 *what ? " " : "", what, *detail ? " " : "", detail, why);
	else
		snprintf(res->log, sizeof(res->log),
			 "failover %s: %s -> %s on %s%s%s%s%s: %s (%u action%s)",
			 mac, fo_state_name(from), fo_state_name(d->to), fo_event_name(ev->type),
			 *what ? " " : "", what, *detail ? " " : "", detail, why,
			 res->n, res->n == 1 ? "" : "s");
}

static void record_transition(struct fo_vm *vm, const struct fo_event *ev, enum fo_state from,
			      const struct decision *d, uint64_t now_ms)
{
	vm->cnt.transitions++;
	count_transition(vm, d, from);
	vm->last.from = from;
	vm->last.to = d->to;
	vm->last.event = ev->type;
	vm->last.at_ms = now_ms;
	snprintf(vm->last.reason, sizeof(vm->last.reason), "%s", d->why ? d->why : "");
}

void fo_step(struct fo_vm *vm, const struct fo_event *ev, uint64_t now_ms,
	     struct fo_result *res)
{
	struct decision d = { 0 };
	enum fo_state from = vm->state;
	struct fo_world want;
	struct fo_action *a;
	uint32_t ms;

	memset(res, 0, sizeof(*res));
	vm->cnt.events++;
	decide(vm, ev, &d);
	if (d.ignored) {
		vm->cnt.ignored++;
		log_step(vm, ev, from, &d, res);
		return;
	}
	if (vm->timer_seq && d.to != from) {
		push(res, FO_ACT_TIMER_CANCEL);
		vm->timer_seq = 0;
	}
	if (!d.no_diff && fo_state_target(d.to, &want))
		diff(vm, &want, res);
	if (d.to != from || (d.observed && res->n == 0))
		vm->failures = 0;
	if (d.resync) {
		push(res, FO_ACT_RESYNC);
		vm->cnt.resyncs++;
	}
	if (ev->type == FO_EV_FDB_REMOVED && res->n)
		vm->cnt.repairs++;
	if (d.restore)
		push(res, FO_ACT_ANNOUNCE);
	/* a state with a deadline gets its timer on entry, and again after
	 * a reconciliation (the old one died with the old agent)
	 */
	if ((d.to != from || (d.observed && !vm->timer_seq)) &&
	    state_has_timer(d.to, &vm->cfg, &ms)) {
		a = push(res, FO_ACT_TIMER_ARM);
		if (a) {
			vm->timer_seq = (uint32_t)vm->cnt.events ?: 1;
			a->ms = ms;
			a->seq = vm->timer_seq;
		}
	}
	vm->cnt.actions += res->n;
	vm->state = d.to;
	res->transition = d.to != from;
	if (res->transition)
		record_transition(vm, ev, from, &d, now_ms);
	log_step(vm, ev, from, &d, res);
}
