// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the failover state machine (user/agent/failover_fsm.c), a
 * pure function of events: the normal source and destination paths, cancel
 * during wait-unplug, failure after active, duplicate and out-of-order events,
 * restart with reconciliation, and invariants over random event sequences
 * applied to a simulated switch.
 */
#include <stdio.h>
#include <string.h>

#include "agent/failover_fsm.h"
#include "ktap.h"
#include "util/compiler.h"

/* "timer=300": the default graces as the actions render them */
#define STR_(x) #x
#define STR(x) STR_(x)
#define UNPLUG_T "timer=" STR(FO_UNPLUG_GRACE_MS)
#define PRIMARY_T "timer=" STR(FO_PRIMARY_GRACE_MS)

static const struct fo_cfg cfg = {
	.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
};

static struct fo_vm vm;
static struct fo_result res;
static uint64_t now;
static uint32_t last_arm;	/* seq of the last FO_ACT_TIMER_ARM seen */

/* The actions of the last step, compactly: "steer+ link=disable mac=0". */
static char acts[512];

static void render(void)
{
	char *p = acts;
	unsigned int i;

	acts[0] = 0;
	for (i = 0; i < res.n; i++) {
		const struct fo_action *a = &res.act[i];
		size_t left = sizeof(acts) - (size_t)(p - acts);

		if (i)
			*p++ = ' ', left--;
		switch (a->type) {
		case FO_ACT_VF_MAC:
			p += snprintf(p, left, "mac=%s", a->mac[0] ? "vm" : "0");
			break;
		case FO_ACT_VF_LINK:
			p += snprintf(p, left, "link=%s", a->link == FO_LINK_AUTO ? "auto" :
				      a->link == FO_LINK_ENABLE ? "enable" : "disable");
			break;
		case FO_ACT_FDB_ADD:
		case FO_ACT_FDB_DEL:
			p += snprintf(p, left, "fdb-%s%c",
				      a->path == FO_PATH_PRIMARY ? "primary" : "standby",
				      a->type == FO_ACT_FDB_ADD ? '+' : '-');
			break;
		case FO_ACT_STEER:
		case FO_ACT_RELAY_SPOOFCHK:
		case FO_ACT_RELAY_TRUST:
			p += snprintf(p, left, "%s%c", fo_action_name(a->type), a->on ? '+' : '-');
			break;
		case FO_ACT_TIMER_ARM:
			last_arm = a->seq;
			p += snprintf(p, left, "timer=%u", a->ms);
			break;
		default:
			p += snprintf(p, left, "%s", fo_action_name(a->type));
			break;
		}
	}
}

static void step_ev(const struct fo_event *ev)
{
	now += 10;
	fo_step(&vm, ev, now, &res);
	render();
}

static void step(enum fo_event_type t)
{
	struct fo_event ev = { .type = t };

	step_ev(&ev);
}

static void mig(enum fo_mig m)
{
	struct fo_event ev = { .type = FO_EV_QMP_MIGRATION, .mig = m };

	step_ev(&ev);
}

static void timer(uint32_t seq)
{
	struct fo_event ev = { .type = FO_EV_TIMER, .seq = seq };

	step_ev(&ev);
}

static void observe(const struct fo_obs *o)
{
	struct fo_event ev = { .type = FO_EV_OBSERVED, .obs = o };

	step_ev(&ev);
}

/* A VM running on its primary, reconciled. */
static const struct fo_obs obs_primary = {
	.valid = FO_W_ALL,
	.w = { .mac_set = true, .link = FO_LINK_AUTO, .fdb_primary = true, .relay_open = true },
	.frontend_known = true, .frontend = FO_FE_RUNNING,
};

static const struct fo_obs obs_idle = {
	.valid = FO_W_ALL,
	.w = { .link = FO_LINK_DISABLE },
	.frontend_known = true, .frontend = FO_FE_NONE,
};

static void start(const struct fo_obs *o)
{
	fo_vm_init(&vm, &cfg);
	now = 0;
	observe(o);
}

/* result check: state and rendered actions */
#define EXPECT(st, want, name)						\
	do {								\
		int ok_ = vm.state == (st) && !strcmp(acts, (want));	\
		ktap_result(ok_, "%s", name);				\
		if (!ok_)						\
			ktap_diag("state %s (want %s), actions \"%s\" (want \"%s\"); %s", \
				  fo_state_name(vm.state), fo_state_name(st), acts, \
				  (want), res.log);			\
	} while (0)

static void test_source_normal(void)
{
	start(&obs_primary);
	EXPECT(FO_PRIMARY, "", "reconciled onto the primary: nothing to change");
	mig(FO_MIG_SETUP);
	EXPECT(FO_PRIMARY, "", "source: MIGRATION setup alone changes nothing");
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	EXPECT(FO_SRC_UNPLUG, "steer+ " UNPLUG_T,
	       "source: UNPLUG_PRIMARY readies the relay, primary kept, grace armed");
	KTAP_CHECK(fo_state_watches(vm.state) == FO_WATCH_STANDBY_TX &&
		   !fo_state_watches(FO_PRIMARY) && !fo_state_watches(FO_SRC_STANDBY),
		   "source: src-unplug (only) watches for the guest's first frame on the standby");
	mig(FO_MIG_WAIT_UNPLUG);
	EXPECT(FO_SRC_UNPLUG, "", "source: wait-unplug after UNPLUG_PRIMARY is a duplicate");
	step(FO_EV_DIRTY_LOG_START);
	EXPECT(FO_SRC_UNPLUG, "", "source: dirty logging after UNPLUG_PRIMARY is a duplicate");
	mig(FO_MIG_ACTIVE);
	EXPECT(FO_SRC_STANDBY,
	       "timer-cancel link=disable fdb-primary- mac=0 fdb-standby+",
	       "source: active: primary hidden (link off, MAC zeroed), then standby FDB");
	step(FO_EV_QMP_STOP);
	EXPECT(FO_SRC_STANDBY, "", "source: STOP changes nothing");
	step(FO_EV_DIRTY_LOG_STOP);
	EXPECT(FO_SRC_STANDBY, "", "source: dirty log stop of a stopped VM waits for the outcome");
	mig(FO_MIG_COMPLETED);
	EXPECT(FO_IDLE, "fdb-standby- steer- relay-trust- relay-spoofchk+",
	       "source: completed: standby path removed, relay VF closed");
	step(FO_EV_FRONTEND_GONE);
	EXPECT(FO_IDLE, "", "source: frontend gone after completion is a no-op");
	KTAP_CHECK(vm.cnt.migrations_out == 1 && vm.cnt.completed == 1 &&
		   vm.cnt.restored == 0 && vm.cnt.transitions == 4,
		   "source: counters: 1 migration out, 1 completed, 4 transitions");
	KTAP_CHECK(vm.last.from == FO_SRC_STANDBY && vm.last.to == FO_IDLE &&
		   vm.last.event == FO_EV_QMP_MIGRATION && vm.last.at_ms == 90 &&
		   strstr(vm.last.reason, "completed"),
		   "source: last transition recorded with event, time and reason");
}

static void test_destination_normal(void)
{
	start(&obs_idle);
	EXPECT(FO_IDLE, "", "destination: reconciled idle");
	step(FO_EV_FRONTEND_UP);
	EXPECT(FO_STARTING, "relay-spoofchk- relay-trust+ steer+ mac=vm fdb-standby+",
	       "destination: frontend: VF MAC set before the guest can probe it, link off, standby path ready");
	step(FO_EV_QMP_FAILOVER_NEGOTIATED);
	EXPECT(FO_STARTING, "", "destination: FAILOVER_NEGOTIATED logged, no change");
	mig(FO_MIG_ACTIVE);
	EXPECT(FO_STARTING, "", "destination: incoming 'active' is not a source's");
	step(FO_EV_QMP_RESUME);
	EXPECT(FO_STANDBY_START, PRIMARY_T,
	       "destination: resume: on the standby (ready since the frontend came), primary grace armed");
	KTAP_CHECK(fo_state_watches(vm.state) == FO_WATCH_PRIMARY_TX,
		   "destination: standby-start watches for the guest's first frame on its primary");
	step(FO_EV_SEND_RARP);
	EXPECT(FO_STANDBY_START, "", "destination: SEND_RARP after RESUME is a duplicate");
	timer(last_arm);
	EXPECT(FO_PRIMARY, "fdb-standby- fdb-primary+ link=auto steer-",
	       "destination: grace over: standby entry out before the primary's, link last");
}

static void test_cancel_wait_unplug(void)
{
	start(&obs_primary);
	mig(FO_MIG_SETUP);
	mig(FO_MIG_WAIT_UNPLUG);
	EXPECT(FO_SRC_UNPLUG, "steer+ " UNPLUG_T, "cancel: wait-unplug");
	mig(FO_MIG_CANCELLING);
	EXPECT(FO_SRC_UNPLUG, "", "cancel: cancelling waits for cancelled");
	mig(FO_MIG_CANCELLED);
	EXPECT(FO_PRIMARY, "timer-cancel steer- announce",
	       "cancel during wait-unplug: primary never left, steering off, announced");
	KTAP_CHECK(vm.cur.fdb_primary && vm.cur.mac_set && vm.cur.link == FO_LINK_AUTO &&
		   !vm.cur.fdb_standby, "cancel: primary path in place");
	KTAP_CHECK(vm.cnt.restored == 1, "cancel: counted as restored");
}

static void test_fail_after_active(void)
{
	start(&obs_primary);
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	mig(FO_MIG_ACTIVE);
	EXPECT(FO_SRC_STANDBY, "timer-cancel link=disable fdb-primary- mac=0 fdb-standby+",
	       "failure: on the standby after active");
	mig(FO_MIG_FAILED);
	EXPECT(FO_STANDBY_START, "mac=vm announce " PRIMARY_T,
	       "failure after active: the standby carries while QEMU re-plugs the primary, its MAC back, announce, grace");
	step(FO_EV_QMP_RESUME);
	EXPECT(FO_STANDBY_START, "", "failure: RESUME afterwards is a duplicate");
	step(FO_EV_PRIMARY_UP);
	EXPECT(FO_PRIMARY, "timer-cancel fdb-standby- fdb-primary+ link=auto steer-",
	       "failure: the re-plugged primary up: primary path back");
	/* the same failure seen only as RESUME (no MIGRATION events) */
	start(&obs_primary);
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	mig(FO_MIG_ACTIVE);
	step(FO_EV_QMP_STOP);
	step(FO_EV_QMP_RESUME);
	EXPECT(FO_STANDBY_START, "mac=vm announce " PRIMARY_T,
	       "failure: RESUME after STOP on a source: back on the standby, primary coming");
}

static void test_relay_view_only(void)
{
	start(&obs_primary);
	step(FO_EV_DIRTY_LOG_START);
	EXPECT(FO_SRC_UNPLUG, "steer+ " UNPLUG_T, "relay only: dirty logging on");
	step(FO_EV_GUEST_TX_STANDBY);
	EXPECT(FO_SRC_STANDBY, "timer-cancel link=disable fdb-primary- mac=0 fdb-standby+",
	       "relay only: guest's first frame on the standby switches at once");
	step(FO_EV_DIRTY_LOG_STOP);
	EXPECT(FO_STANDBY_START, "mac=vm announce " PRIMARY_T,
	       "relay only: dirty logging off while running: cancelled, standby until the primary is back");
	timer(last_arm);
	EXPECT(FO_PRIMARY, "fdb-standby- fdb-primary+ link=auto steer-",
	       "relay only: primary grace over: primary path back");
	step(FO_EV_DIRTY_LOG_START);
	timer(last_arm);
	EXPECT(FO_SRC_STANDBY, "link=disable fdb-primary- mac=0 fdb-standby+",
	       "relay only: unplug grace over without a cue: standby");
	step(FO_EV_RINGS_STOPPED);
	step(FO_EV_DIRTY_LOG_STOP);
	EXPECT(FO_SRC_STANDBY, "",
	       "relay only: rings stopped (the guest paused), then logging off: waits for the outcome");
	step(FO_EV_FRONTEND_GONE);
	EXPECT(FO_IDLE, "fdb-standby- steer- relay-trust- relay-spoofchk+",
	       "relay only: frontend gone: completed elsewhere (or crashed)");
	/* a fresh boot seen from the relay only */
	step(FO_EV_FRONTEND_UP);
	step(FO_EV_RINGS_RUNNING);
	EXPECT(FO_STANDBY_START, PRIMARY_T, "boot: guest running on standby");
	step(FO_EV_PRIMARY_UP);
	EXPECT(FO_PRIMARY, "timer-cancel fdb-standby- fdb-primary+ link=auto steer-",
	       "boot: primary up before the grace: switched at once");
}

static void test_duplicates_out_of_order(void)
{
	uint32_t stale;
	uint64_t ign;

	fo_vm_init(&vm, &cfg);
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	EXPECT(FO_INIT, "", "order: events before reconciliation are ignored");
	observe(&obs_primary);
	mig(FO_MIG_ACTIVE);
	EXPECT(FO_SRC_STANDBY, "steer+ link=disable fdb-primary- mac=0 fdb-standby+",
	       "order: active without UNPLUG_PRIMARY (missed): standby at once");
	ign = vm.cnt.ignored;
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	mig(FO_MIG_WAIT_UNPLUG);
	step(FO_EV_DIRTY_LOG_START);
	step(FO_EV_GUEST_TX_STANDBY);
	mig(FO_MIG_ACTIVE);
	EXPECT(FO_SRC_STANDBY, "", "order: late UNPLUG_PRIMARY/wait-unplug/dup events: no-ops");
	KTAP_CHECK(vm.cnt.ignored == ign + 5, "order: 5 duplicates counted as ignored");
	mig(FO_MIG_COMPLETED);
	mig(FO_MIG_COMPLETED);
	EXPECT(FO_IDLE, "", "order: second 'completed' is a no-op");
	mig(FO_MIG_FAILED);
	EXPECT(FO_IDLE, "", "order: 'failed' when idle is a no-op");
	/* a timer that fires after its state was left */
	start(&obs_primary);
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	stale = last_arm;
	mig(FO_MIG_ACTIVE);
	timer(stale);
	EXPECT(FO_SRC_STANDBY, "", "order: a stale timer after the state was left is ignored");
	timer(stale + 1000);
	EXPECT(FO_SRC_STANDBY, "", "order: a timer never armed is ignored");
	step(FO_EV_RINGS_RUNNING);
	EXPECT(FO_SRC_STANDBY, "", "order: rings running while migrating out: no-op");
}

static void test_reconcile(void)
{
	struct fo_obs o;
	struct fo_event ev = { .type = FO_EV_OBSERVED };

	/* daemon restarted mid-migration: netlink shows the standby path,
	 * the new relay's steering is off
	 */
	o = (struct fo_obs){
		.valid = FO_W_ALL,
		.w = { .link = FO_LINK_DISABLE, .fdb_standby = true, .relay_open = true },
		.frontend_known = true, .frontend = FO_FE_RUNNING, .logging = true,
	};
	start(&o);
	EXPECT(FO_SRC_STANDBY, "steer+", "restart: mid-migration on the standby: steering back only");
	/* agent killed after UNPLUG_PRIMARY, before the switch */
	o = obs_primary;
	o.logging = true;
	o.w.relay_open = false;
	start(&o);
	EXPECT(FO_SRC_UNPLUG, "relay-spoofchk- relay-trust+ steer+ " UNPLUG_T,
	       "restart: migrating, primary still set: unplug state, grace re-armed");
	/* killed in standby-start: the standby entry tells */
	o = obs_primary;
	o.w.fdb_primary = false;
	o.w.fdb_standby = true;
	o.w.link = FO_LINK_DISABLE;
	o.w.steer = true;
	start(&o);
	EXPECT(FO_STANDBY_START, PRIMARY_T, "restart: standby-start, grace re-armed");
	/* restarted mid-migration: QEMU reconnects with its log on, before
	 * the rings run (the events of a fresh connection)
	 */
	start(&obs_idle);
	step(FO_EV_FRONTEND_UP);
	step(FO_EV_DIRTY_LOG_START);
	EXPECT(FO_STARTING, "", "restart: a reconnected frontend logs: remembered");
	step(FO_EV_RINGS_RUNNING);
	EXPECT(FO_SRC_STANDBY, "mac=0",
	       "restart: its rings run with the log on: a source on its standby (VF hidden), no primary grace");
	mig(FO_MIG_COMPLETED);
	EXPECT(FO_IDLE, "fdb-standby- steer- relay-trust- relay-spoofchk+",
	       "restart: then completed: the standby path goes");
	/* a crash left the standby entry of a VM that is gone */
	o = obs_idle;
	o.w.fdb_standby = true;
	o.w.relay_open = true;
	o.w.mac_set = true;
	start(&o);
	EXPECT(FO_IDLE, "fdb-standby- mac=0 relay-trust- relay-spoofchk+",
	       "restart: leftovers of a gone VM removed");
	/* what a backend cannot read is not acted on */
	o = obs_primary;
	o.valid = FO_W_ALL & ~FO_W_MAC;
	o.w.mac_set = false;
	start(&o);
	EXPECT(FO_PRIMARY, "", "restart: an unreadable field (bridge: VF MAC) is left alone");
	/* an observation without the frontend decides nothing */
	fo_vm_init(&vm, &cfg);
	o = obs_primary;
	o.frontend_known = false;
	ev.obs = &o;
	step_ev(&ev);
	EXPECT(FO_INIT, "", "restart: no frontend state, no decision");
	/* a re-read that contradicts memory wins over it */
	start(&obs_primary);
	o = obs_primary;
	o.frontend = FO_FE_NONE;
	observe(&o);
	EXPECT(FO_IDLE, "link=disable fdb-primary- mac=0 relay-trust- relay-spoofchk+",
	       "resync: netlink/relay over memory: frontend gone, VM hidden");
	/* someone changed the VF under us: resync, then the diff repairs it */
	start(&obs_primary);
	step(FO_EV_VF_CHANGED);
	EXPECT(FO_PRIMARY, "resync", "resync: a VF change asks for a re-read");
	o = obs_primary;
	o.w.link = FO_LINK_DISABLE;
	observe(&o);
	EXPECT(FO_PRIMARY, "link=auto", "resync: the changed link state is put back");
}

static void test_netlink_facts(void)
{
	struct fo_event ev = { .type = FO_EV_FDB_REMOVED, .path = FO_PATH_STANDBY };
	int i;

	start(&obs_primary);
	mig(FO_MIG_ACTIVE);
	step_ev(&ev);
	EXPECT(FO_SRC_STANDBY, "fdb-standby+", "fdb: standby entry removed by others: re-added");
	KTAP_CHECK(vm.cnt.repairs == 1, "fdb: repair counted");
	mig(FO_MIG_CANCELLED);
	EXPECT(FO_STANDBY_START, "mac=vm announce " PRIMARY_T,
	       "cancel after the primary was let go: on the standby until it is back");
	step(FO_EV_PRIMARY_UP);
	step_ev(&ev);
	EXPECT(FO_PRIMARY, "", "fdb: a removed entry the state does not want: nothing");
	KTAP_CHECK(!strcmp(res.log + strlen(res.log) - strlen("ignored (entry not there anyway)"),
			   "ignored (entry not there anyway)"),
		   "fdb: the notice of an entry already gone (our own removal) is ignored");
	ev = (struct fo_event){ .type = FO_EV_RELAY_VF, .up = false };
	mig(FO_MIG_WAIT_UNPLUG);
	mig(FO_MIG_ACTIVE);
	step_ev(&ev);
	EXPECT(FO_SRC_STANDBY, "", "relay VF gone: nothing done on a missing netdev");
	ev.up = true;
	step_ev(&ev);
	EXPECT(FO_SRC_STANDBY, "resync", "relay VF back: re-read");
	start(&obs_primary);
	for (i = 0; i < FO_MAX_RETRIES; i++)
		step(FO_EV_ACTION_FAILED);
	EXPECT(FO_PRIMARY, "resync", "action failed: re-read, up to the retry limit");
	step(FO_EV_ACTION_FAILED);
	EXPECT(FO_PRIMARY, "", "action failed: not retried forever");
}

/* A simulated switch for the invariants: apply each action as a backend. */
struct sim {
	struct fo_world w;
	int bad;
	char why[128];
};

static void sim_apply(struct sim *s, const struct fo_action *a)
{
	switch (a->type) {
	case FO_ACT_VF_MAC:
		s->w.mac_set = a->mac[0] != 0;
		break;
	case FO_ACT_VF_LINK:
		s->w.link = a->link;
		break;
	case FO_ACT_FDB_ADD:
	case FO_ACT_FDB_DEL:
		*(a->path == FO_PATH_PRIMARY ? &s->w.fdb_primary : &s->w.fdb_standby) =
			a->type == FO_ACT_FDB_ADD;
		break;
	case FO_ACT_STEER:
		s->w.steer = a->on;
		break;
	case FO_ACT_RELAY_TRUST:
		s->w.relay_open = a->on;
		break;
	default:
		break;
	}
	if (s->bad)
		return;
	if (s->w.fdb_primary && s->w.fdb_standby)
		snprintf(s->why, sizeof(s->why), "both paths deliver the MAC");
	else if (s->w.fdb_standby && !(s->w.steer && s->w.relay_open))
		snprintf(s->why, sizeof(s->why), "standby delivers, relay not ready");
	else if (s->w.link != FO_LINK_DISABLE && !(s->w.mac_set && s->w.fdb_primary))
		snprintf(s->why, sizeof(s->why), "primary link up without MAC and entry");
	else
		return;
	s->bad = 1;
}

static void test_random(void)
{
	static const enum fo_event_type evs[] = {
		FO_EV_FRONTEND_UP, FO_EV_RINGS_RUNNING, FO_EV_DIRTY_LOG_START,
		FO_EV_DIRTY_LOG_STOP, FO_EV_SEND_RARP, FO_EV_GUEST_TX_STANDBY,
		FO_EV_FRONTEND_GONE, FO_EV_QMP_FAILOVER_NEGOTIATED,
		FO_EV_QMP_UNPLUG_PRIMARY, FO_EV_QMP_MIGRATION, FO_EV_QMP_RESUME,
		FO_EV_QMP_STOP, FO_EV_TIMER, FO_EV_PRIMARY_UP, FO_EV_FDB_REMOVED,
		FO_EV_OBSERVED, FO_EV_RINGS_STOPPED,
	};
	uint32_t x = 12345;
	struct sim s;
	struct fo_world want;
	struct fo_obs o;
	int i, run, bad_target = 0, stuck = 0;
	unsigned int j;

	for (run = 0; run < 200 && !bad_target; run++) {
		fo_vm_init(&vm, &cfg);
		memset(&s, 0, sizeof(s));
		s.w.link = FO_LINK_DISABLE;
		o = (struct fo_obs){ .valid = FO_W_ALL, .w = s.w, .frontend_known = true };
		observe(&o);
		for (i = 0; i < 60; i++) {
			struct fo_event ev = { 0 };

			x = x * 1103515245u + 12345u;
			ev.type = evs[(x >> 16) % ARRAY_SIZE(evs)];
			ev.mig = (enum fo_mig)((x >> 8) % 9);
			ev.seq = (x & 1) ? last_arm : last_arm + 1;
			ev.path = (x >> 4) & 1 ? FO_PATH_STANDBY : FO_PATH_PRIMARY;
			if (ev.type == FO_EV_FDB_REMOVED) {
				/* the switch really lost it */
				*(ev.path == FO_PATH_PRIMARY ? &s.w.fdb_primary :
				  &s.w.fdb_standby) = false;
			}
			if (ev.type == FO_EV_OBSERVED) {
				o = (struct fo_obs){ .valid = FO_W_ALL, .w = s.w,
					.frontend_known = true,
					.frontend = (enum fo_frontend)((x >> 12) % 3),
					.logging = (x >> 14) & 1 };
				ev.obs = &o;
			}
			step_ev(&ev);
			for (j = 0; j < res.n; j++)
				sim_apply(&s, &res.act[j]);
			if (fo_state_target(vm.state, &want) &&
			    memcmp(&want, &s.w, sizeof(want)) && !bad_target) {
				bad_target = 1;
				ktap_diag("run %d step %d: %s: world differs from the state's target",
					  run, i, res.log);
			}
			if (vm.state == FO_INIT)
				stuck++;
		}
		if (s.bad)
			break;
	}
	if (s.bad)
		ktap_diag("run %d: %s (%s)", run, s.why, res.log);
	KTAP_CHECK(!s.bad, "random: never two paths, never an unready standby or a bare primary");
	KTAP_CHECK(!bad_target && !stuck, "random: after every step the switch is as the state wants");
}


static void test_log_line(void)
{
	start(&obs_primary);
	step(FO_EV_QMP_UNPLUG_PRIMARY);
	KTAP_CHECK(strstr(res.log, "52:54:00:12:34:56") && strstr(res.log, "primary -> src-unplug") &&
		   strstr(res.log, "unplug"), "log: transition line names the MAC, states and reason");
	mig(FO_MIG_WAIT_UNPLUG);
	KTAP_CHECK(strstr(res.log, "52:54:00:12:34:56") && strstr(res.log, "wait-unplug") &&
		   strstr(res.log, "ignored"), "log: an ignored event is logged too, with the MAC");
	KTAP_CHECK(fo_mig_parse("wait-unplug") == FO_MIG_WAIT_UNPLUG &&
		   fo_mig_parse("pre-switchover") == FO_MIG_DEVICE &&
		   fo_mig_parse("postcopy-active") == FO_MIG_OTHER &&
		   fo_mig_parse(NULL) == FO_MIG_OTHER, "names: QEMU's migration statuses parsed");
}

int main(void)
{
	ktap_plan(75);
	test_source_normal();
	test_destination_normal();
	test_cancel_wait_unplug();
	test_fail_after_active();
	test_relay_view_only();
	test_duplicates_out_of_order();
	test_reconcile();
	test_netlink_facts();
	test_random();
	test_log_line();
	return ktap_finish();
}
