// SPDX-License-Identifier: GPL-2.0
/* The failover agent at run time (see failover_agent.h): every source of
 * events is a poll source of the main loop (the relays' event queues, a
 * netlink watch, QMP sockets, timers), every step of a VM's state machine
 * is carried out at once, and re-reading the world (a resync, a new VM) is
 * deferred to the end of the loop's round, outside the daemon's lock.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/failover_agent.h"
#include "agent/failover_backend.h"
#include "agent/qmp.h"
#include "daemon/daemon.h"
#include "net/nl_watch.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/evq.h"
#include "util/log.h"
#include "util/uring_loop.h"

/* Relay events queued between two rounds of the main loop: a handful per
 * migration; a full queue makes the VM re-read the relay instead.
 */
#define AGENT_EVQ_LEN		64
/* How often the primary's transmit count is read while a VM waits for
 * its primary (standby-start, at most its grace), and how often a QMP
 * socket that is not there yet is tried.
 */
#define AGENT_POLL_MS		10
#define AGENT_QMP_RETRY_MS	1000
/* A restarted daemon finds a VM's entries in the switch but no frontend
 * yet: QEMU reconnects to a relay that went away (its chardev's
 * reconnect=SECONDS; a client-mode relay within its backoff). Reconciling
 * before would take the paths of a running VM away.
 */
#define AGENT_RECONNECT_WAIT_MS	5000

struct fo_avm {
	struct fo_agent *a;
	struct relay_cfg cfg;
	struct fo_backend *b;
	struct fo_vm fsm;
	struct evq evq;
	struct uloop_src evq_src;
	int timer_fd;
	struct uloop_src timer_src;
	uint64_t timer_val;
	uint32_t timer_seq;
	struct qmp *qmp;
	struct uloop_src qmp_src;
	uint64_t qmp_next_ms;		/* next connection attempt */
	bool qmp_said;			/* "QMP connected" logged for this connection */
	unsigned int watches;		/* FO_WATCH_* in force */
	/* FO_WATCH_PRIMARY_TX: the backend's fd that turns readable at the
	 * guest's first frame on its primary, or else its count of them when
	 * the watch began, polled
	 */
	int ptx_fd;
	struct uloop_src ptx_src;
	uint64_t primary_tx0;
	bool primary_tx_ok;
	bool observe;			/* a re-read is due */
	bool waiting;			/* for a frontend before reconciling */
	bool waited;
	uint64_t dropped_seen;		/* relay events lost so far, as last seen */
	char macs[18];
};

struct fo_agent {
	struct uloop *loop;
	struct vxdp_daemon *d;
	struct nl_watch *nlw;
	struct uloop_src nlw_src;
	int tick_fd;
	struct uloop_src tick_src;
	uint64_t tick_val;
	unsigned int tick_ms;		/* period in force, 0: off */
	struct uloop_work work;
	unsigned int n;
	struct fo_avm *vms[RELAY_MAX];
};

static void vm_step(struct fo_avm *v, const struct fo_event *ev);
static void vm_step_log(struct fo_avm *v, const struct fo_event *ev, char *out, size_t outlen);

/* Timers ------------------------------------------------------------------- */

static void timer_set(int fd, unsigned int ms, bool periodic)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (periodic)
		its.it_interval = its.it_value;
	timerfd_settime(fd, 0, &its, NULL);
}

/* The agent's tick: fast while a VM waits for its primary, slow while a
 * QMP socket is to be tried again, off otherwise.
 */
static void agent_tick_update(struct fo_agent *a)
{
	unsigned int i, ms = 0;

	for (i = 0; i < a->n; i++) {
		struct fo_avm *v = a->vms[i];

		if ((v->watches & FO_WATCH_PRIMARY_TX) && v->ptx_fd < 0) {
			ms = AGENT_POLL_MS;
			break;
		}
		if (v->cfg.qmp[0] && !v->qmp)
			ms = AGENT_QMP_RETRY_MS / 4;
	}
	if (ms == a->tick_ms)
		return;
	a->tick_ms = ms;
	timer_set(a->tick_fd, ms, true);
}

/* QMP ---------------------------------------------------------------------- */

static void vm_qmp_close(struct fo_avm *v, const char *why)
{
	if (!v->qmp)
		return;
	uloop_del(v->a->loop, &v->qmp_src);
	qmp_close(v->qmp);
	v->qmp = NULL;
	v->qmp_next_ms = mono_ms() + AGENT_QMP_RETRY_MS;
	pr_info("failover %s: QMP %s: %s", v->macs, v->cfg.qmp, why);
	agent_tick_update(v->a);
}

static void vm_on_qmp_msg(const struct qmp_msg *m, void *arg)
{
	struct fo_avm *v = arg;
	struct fo_event ev;
	char detail[128];

	if (m->type != QMP_MSG_EVENT) {
		if (m->type == QMP_MSG_ERROR)
			pr_info("failover %s: QMP: %s", v->macs, m->desc);
		if (qmp_state(v->qmp) == QMP_READY && !v->qmp_said) {
			v->qmp_said = true;
			pr_notice("failover %s: QMP %s connected", v->macs, v->cfg.qmp);
		}
		return;
	}
	if (!fo_event_from_qmp(m->event, m->status, &ev))
		return;
	snprintf(detail, sizeof(detail), "(QMP %s%s%s)", m->event, m->device[0] ? " " : "",
		 m->device);
	ev.detail = detail;
	vm_step(v, &ev);
}

static void vm_on_qmp(struct uloop_src *s, int res)
{
	struct fo_avm *v = container_of(s, struct fo_avm, qmp_src);
	int err;

	(void)res;
	err = qmp_dispatch(v->qmp, vm_on_qmp_msg, v);
	if (err)
		vm_qmp_close(v, err == -ENOTCONN ? "QEMU closed it" : strerror(-err));
}

static void vm_qmp_try(struct fo_avm *v)
{
	int err;

	if (!v->cfg.qmp[0] || v->qmp)
		return;
	v->qmp_next_ms = mono_ms() + AGENT_QMP_RETRY_MS;
	err = qmp_open(&v->qmp, v->cfg.qmp, QMP_MIGRATION_EVENTS);
	if (err) {
		v->qmp = NULL;
		pr_debug("failover %s: QMP %s: %s", v->macs, v->cfg.qmp, strerror(-err));
		return;
	}
	v->qmp_said = false;
	err = uloop_add_poll(v->a->loop, &v->qmp_src, qmp_fd(v->qmp), POLLIN, vm_on_qmp);
	if (err) {
		qmp_close(v->qmp);
		v->qmp = NULL;
		return;
	}
	agent_tick_update(v->a);
}

/* Watches: the cues that end a state before its grace ------------------------ */

static void vm_primary_up(struct fo_avm *v)
{
	struct fo_event ev = {
		.type = FO_EV_PRIMARY_UP,
		.detail = "(the guest's first frame on its primary)",
	};

	vm_step(v, &ev);
}

static void vm_on_ptx(struct uloop_src *s, int res)
{
	struct fo_avm *v = container_of(s, struct fo_avm, ptx_src);

	(void)res;
	if (v->watches & FO_WATCH_PRIMARY_TX)
		vm_primary_up(v);
}

static void vm_ptx_close(struct fo_avm *v)
{
	if (v->ptx_fd < 0)
		return;
	uloop_del(v->a->loop, &v->ptx_src);
	close(v->ptx_fd);
	v->ptx_fd = -1;
}

static void vm_watch(struct fo_avm *v)
{
	unsigned int w = fo_state_watches(v->fsm.state);
	char err[256];

	if ((w & FO_WATCH_STANDBY_TX) && !(v->watches & FO_WATCH_STANDBY_TX) &&
	    daemon_relay_op(v->a->d, v->cfg.name, RELAY_OP_WATCH_TX, err, sizeof(err)))
		pr_warn("failover %s: %s", v->macs, err);
	if ((w & FO_WATCH_PRIMARY_TX) && !(v->watches & FO_WATCH_PRIMARY_TX)) {
		v->ptx_fd = fo_backend_primary_tx_watch(v->b);
		if (v->ptx_fd >= 0 &&
		    uloop_add_poll(v->a->loop, &v->ptx_src, v->ptx_fd, POLLIN, vm_on_ptx)) {
			close(v->ptx_fd);
			v->ptx_fd = -1;
		}
		if (v->ptx_fd < 0)
			v->primary_tx_ok = !fo_backend_primary_tx(v->b, &v->primary_tx0);
	}
	if (!(w & FO_WATCH_PRIMARY_TX))
		vm_ptx_close(v);
	if (w != v->watches) {
		v->watches = w;
		agent_tick_update(v->a);
	}
}

static void vm_poll_primary(struct fo_avm *v)
{
	uint64_t n;

	if (!(v->watches & FO_WATCH_PRIMARY_TX) || v->ptx_fd >= 0 || !v->primary_tx_ok ||
	    fo_backend_primary_tx(v->b, &n) || n <= v->primary_tx0)
		return;
	vm_primary_up(v);
}

/* Actions ------------------------------------------------------------------ */

static void agent_defer_observe(struct fo_avm *v)
{
	v->observe = true;
	uloop_defer(v->a->loop, &v->a->work);
}

/* 0, or a negative errno when the action failed. */
static int vm_act(struct fo_avm *v, const struct fo_action *a)
{
	char err[256];
	int ret;

	switch (a->type) {
	case FO_ACT_STEER:
	case FO_ACT_ANNOUNCE:
		ret = daemon_relay_op(v->a->d, v->cfg.name,
				      a->type == FO_ACT_ANNOUNCE ? RELAY_OP_ANNOUNCE :
				      a->on ? RELAY_OP_STEER_ON : RELAY_OP_STEER_OFF,
				      err, sizeof(err));
		if (ret)
			pr_warn("failover %s: %s", v->macs, err);
		return ret;
	case FO_ACT_TIMER_ARM:
		v->timer_seq = a->seq;
		timer_set(v->timer_fd, a->ms, false);
		return 0;
	case FO_ACT_TIMER_CANCEL:
		v->timer_seq = 0;
		timer_set(v->timer_fd, 0, false);
		return 0;
	case FO_ACT_RESYNC:
		agent_defer_observe(v);
		return 0;
	default:
		ret = fo_backend_apply(v->b, a);
		return ret > 0 ? 0 : ret;
	}
}

/* One step of the VM's state machine, its actions carried out; its log
 * line also in @out when given.
 */
static void vm_step_log(struct fo_avm *v, const struct fo_event *ev, char *out, size_t outlen)
{
	struct fo_event failed = { .type = FO_EV_ACTION_FAILED };
	struct fo_result res;
	unsigned int i, nfail = 0;

	fo_step(&v->fsm, ev, mono_ms(), &res);
	if (res.transition)
		pr_notice("%s", res.log);
	else
		pr_info("%s", res.log);
	if (out)
		snprintf(out, outlen, "%s", res.log);
	for (i = 0; i < res.n; i++) {
		const struct fo_action *a = &res.act[i];

		if (vm_act(v, a)) {
			nfail++;
			continue;
		}
		if (a->type != FO_ACT_TIMER_ARM && a->type != FO_ACT_TIMER_CANCEL &&
		    a->type != FO_ACT_RESYNC)
			pr_info("failover %s: done: %s%s%s", v->macs, fo_action_name(a->type),
				a->type == FO_ACT_FDB_ADD || a->type == FO_ACT_FDB_DEL ?
				(a->path == FO_PATH_PRIMARY ? " primary" : " standby") :
				a->type == FO_ACT_STEER || a->type == FO_ACT_RELAY_TRUST ||
				a->type == FO_ACT_RELAY_SPOOFCHK ? (a->on ? " on" : " off") : "",
				a->type == FO_ACT_VF_MAC ? (a->mac[0] || a->mac[1] ? " vm" : " zero") :
				a->type == FO_ACT_VF_LINK ? (a->link == FO_LINK_DISABLE ? " disable" :
							      " auto") : "");
	}
	vm_watch(v);
	/* the world is unknown now: the state machine asks for a re-read */
	if (nfail && ev->type != FO_EV_ACTION_FAILED)
		vm_step_log(v, &failed, NULL, 0);
}

static void vm_step(struct fo_avm *v, const struct fo_event *ev)
{
	vm_step_log(v, ev, NULL, 0);
}

/* Observation: what netlink and the relay show now. */
static void vm_observe(struct fo_avm *v)
{
	struct fo_event ev = { .type = FO_EV_OBSERVED };
	struct relay_stats *st;
	struct fo_obs o;
	char err[256];
	int ret;

	v->observe = false;
	memset(&o, 0, sizeof(o));
	ret = fo_backend_observe(v->b, &o);
	if (ret)
		pr_warn("failover %s: reading the switch: %s", v->macs, strerror(-ret));
	st = malloc(sizeof(*st));
	if (st && !daemon_relay_stats(v->a->d, v->cfg.name, st, err, sizeof(err))) {
		o.frontend_known = true;
		o.frontend = !st->connected ? FO_FE_NONE :
			     st->running ? FO_FE_RUNNING : FO_FE_CONNECTED;
		o.logging = st->logging;
		o.w.steer = !st->steer_paused;
		o.valid |= FO_W_STEER;
	}
	free(st);
	if (v->fsm.state == FO_INIT && o.frontend_known && o.frontend == FO_FE_NONE &&
	    !v->waited && (o.w.fdb_primary || o.w.fdb_standby)) {
		v->waiting = v->waited = true;
		timer_set(v->timer_fd, AGENT_RECONNECT_WAIT_MS, false);
		pr_notice("failover %s: the switch has the VM's %s entry but the relay no frontend: waiting up to %d ms for QEMU to reconnect before reconciling",
			  v->macs, o.w.fdb_primary ? "primary" : "standby", AGENT_RECONNECT_WAIT_MS);
		return;
	}
	ev.obs = &o;
	vm_step(v, &ev);
}

static void agent_work(struct uloop_work *w)
{
	struct fo_agent *a = container_of(w, struct fo_agent, work);
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (a->vms[i]->observe)
			vm_observe(a->vms[i]);
}

/* Sources ------------------------------------------------------------------ */

static const enum fo_event_type relay_to_fo[] = {
	[RELAY_EV_FRONTEND_UP] = FO_EV_FRONTEND_UP,
	[RELAY_EV_RINGS_RUNNING] = FO_EV_RINGS_RUNNING,
	[RELAY_EV_RINGS_STOPPED] = FO_EV_RINGS_STOPPED,
	[RELAY_EV_LOG_ON] = FO_EV_DIRTY_LOG_START,
	[RELAY_EV_LOG_OFF] = FO_EV_DIRTY_LOG_STOP,
	[RELAY_EV_SEND_RARP] = FO_EV_SEND_RARP,
	[RELAY_EV_GUEST_TX] = FO_EV_GUEST_TX_STANDBY,
	[RELAY_EV_FRONTEND_GONE] = FO_EV_FRONTEND_GONE,
};

static void vm_on_events(struct uloop_src *s, int res)
{
	struct fo_avm *v = container_of(s, struct fo_avm, evq_src);
	struct relay_event rev;
	uint64_t dropped;

	(void)res;
	/* not reconciled yet (waiting for QEMU to come back): the machine
	 * would ignore the events; what they changed is read instead
	 */
	if (v->fsm.state == FO_INIT) {
		while (evq_take(&v->evq, &rev))
			pr_info("failover %s: %s (relay) while not reconciled: re-reading",
				v->macs, relay_event_name(rev.type));
		if (v->waiting) {
			v->waiting = false;
			timer_set(v->timer_fd, 0, false);
		}
		agent_defer_observe(v);
		return;
	}
	while (evq_take(&v->evq, &rev)) {
		struct fo_event ev = { .detail = "(relay)" };

		if ((unsigned int)rev.type >= ARRAY_SIZE(relay_to_fo))
			continue;
		ev.type = relay_to_fo[rev.type];
		vm_step(v, &ev);
		if (rev.type == RELAY_EV_FRONTEND_UP)
			vm_qmp_try(v);
	}
	dropped = evq_dropped(&v->evq);
	if (dropped != v->dropped_seen) {
		v->dropped_seen = dropped;
		pr_warn("failover %s: relay events lost (%llu so far): re-reading", v->macs,
			(unsigned long long)dropped);
		agent_defer_observe(v);
	}
}

static void vm_on_timer(struct uloop_src *s, int res)
{
	struct fo_avm *v = container_of(s, struct fo_avm, timer_src);
	struct fo_event ev = { .type = FO_EV_TIMER };

	if (res <= 0)
		return;
	if (v->waiting) {
		v->waiting = false;
		pr_notice("failover %s: no frontend after %d ms: reconciling without", v->macs,
			  AGENT_RECONNECT_WAIT_MS);
		vm_observe(v);
		return;
	}
	if (!v->timer_seq)
		return;
	ev.seq = v->timer_seq;
	v->timer_seq = 0;
	vm_step(v, &ev);
}

static void agent_on_tick(struct uloop_src *s, int res)
{
	struct fo_agent *a = container_of(s, struct fo_agent, tick_src);
	uint64_t now = mono_ms();
	unsigned int i;

	(void)res;
	for (i = 0; i < a->n; i++) {
		struct fo_avm *v = a->vms[i];

		vm_poll_primary(v);
		if (v->cfg.qmp[0] && !v->qmp && now >= v->qmp_next_ms)
			vm_qmp_try(v);
	}
}

static void agent_on_nl_event(const struct nl_watch_event *nev, void *arg)
{
	struct fo_agent *a = arg;
	struct fo_event ev;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (fo_backend_match(a->vms[i]->b, nev, &ev) == 1)
			vm_step(a->vms[i], &ev);
}

static void agent_on_nl(struct uloop_src *s, int res)
{
	struct fo_agent *a = container_of(s, struct fo_agent, nlw_src);
	int err;

	(void)res;
	err = nl_watch_dispatch(a->nlw);
	if (err < 0)
		pr_warn("failover: netlink watch: %s", strerror(-err));
}

/* VMs: made and dropped with their relays (the daemon's hooks) ------------- */

/* The relay VF's index on the PF, from sysfs; -1 when it is not the PF's. */
static int sriov_vf_index(const char *pf, const char *vf)
{
	char path[PATH_MAX], want[PATH_MAX], have[PATH_MAX];
	int i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device", vf);
	if (!realpath(path, want))
		return -1;
	for (i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/virtfn%d", pf, i);
		if (!realpath(path, have))
			return -1;
		if (!strcmp(have, want))
			return i;
	}
	return -1;
}

static int vm_backend_cfg(const struct relay_cfg *c, struct fo_backend_cfg *bc,
			  char *err, size_t errlen)
{
	char path[PATH_MAX], master[PATH_MAX];
	const char *base;

	memset(bc, 0, sizeof(*bc));
	memcpy(bc->mac, c->mac, FO_MAC_LEN);
	if (c->primary_pf[0]) {
		bc->kind = FO_BACKEND_SRIOV;
		snprintf(bc->pf, sizeof(bc->pf), "%s", c->primary_pf);
		bc->primary_vf = c->primary_vf;
		snprintf(bc->relay_dev, sizeof(bc->relay_dev), "%s", c->vf);
		bc->relay_vf = sriov_vf_index(c->primary_pf, c->vf);
		return 0;
	}
	bc->kind = FO_BACKEND_BRIDGE;
	snprintf(bc->primary_port, sizeof(bc->primary_port), "%s", c->primary_port);
	snprintf(bc->relay_port, sizeof(bc->relay_port), "%s",
		 c->relay_port[0] ? c->relay_port : c->vf);
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", c->primary_port);
	if (!realpath(path, master)) {
		snprintf(err, errlen, "relay %s: failover: primary-port %s is not a bridge port",
			 c->name, c->primary_port);
		return -EINVAL;
	}
	base = strrchr(master, '/');
	base = base ? base + 1 : master;
	if (strlen(base) >= sizeof(bc->bridge))
		return -ENAMETOOLONG;
	strcpy(bc->bridge, base);
	return 0;
}

static void vm_free(struct fo_avm *v)
{
	struct uloop *l = v->a->loop;

	vm_ptx_close(v);
	uloop_del(l, &v->evq_src);
	uloop_del(l, &v->timer_src);
	if (v->qmp) {
		uloop_del(l, &v->qmp_src);
		qmp_close(v->qmp);
	}
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	evq_fini(&v->evq);
	fo_backend_close(v->b);
	/* its sources' last completions may still be on their way */
	uloop_free_later(l, free, v);
}

static int agent_nl_open(struct fo_agent *a)
{
	int err;

	if (a->nlw)
		return 0;
	err = nl_watch_open(&a->nlw, agent_on_nl_event, a);
	if (err)
		return err;
	err = uloop_add_poll(a->loop, &a->nlw_src, nl_watch_fd(a->nlw), POLLIN, agent_on_nl);
	if (err) {
		nl_watch_close(a->nlw);
		a->nlw = NULL;
	}
	return err;
}

static void agent_nl_close(struct fo_agent *a)
{
	if (!a->nlw)
		return;
	uloop_del(a->loop, &a->nlw_src);
	nl_watch_close(a->nlw);
	a->nlw = NULL;
}

static int agent_relay_opening(void *arg, const struct relay_cfg *cfg, struct evq **events,
			       char *err, size_t errlen)
{
	struct fo_agent *a = arg;
	struct fo_backend_cfg bc;
	struct fo_cfg fc = { 0 };
	struct fo_avm *v;
	int ret;

	*events = NULL;
	if (!relay_cfg_failover(cfg))
		return 0;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "relay %s: failover: out of memory", cfg->name);
		return -ENOMEM;
	}
	v->a = a;
	v->cfg = *cfg;
	v->timer_fd = -1;
	v->ptx_fd = -1;
	v->evq.efd = -1;
	fo_mac_str(cfg->mac, v->macs);
	ret = vm_backend_cfg(cfg, &bc, err, errlen);
	if (ret)
		goto err_free;
	ret = fo_backend_open(&v->b, &bc);
	if (ret) {
		snprintf(err, errlen, "relay %s: failover: %s backend on %s: %s", cfg->name,
			 bc.kind == FO_BACKEND_SRIOV ? "sriov" : "bridge",
			 bc.kind == FO_BACKEND_SRIOV ? bc.pf : bc.primary_port, strerror(-ret));
		goto err_free;
	}
	ret = evq_init(&v->evq, AGENT_EVQ_LEN, sizeof(struct relay_event));
	if (!ret) {
		v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ret = v->timer_fd < 0 ? -errno : 0;
	}
	if (!ret)
		ret = uloop_add_read(a->loop, &v->evq_src, evq_fd(&v->evq), NULL, 0, vm_on_events);
	if (!ret)
		ret = uloop_add_read(a->loop, &v->timer_src, v->timer_fd, &v->timer_val,
				     sizeof(v->timer_val), vm_on_timer);
	if (!ret)
		ret = agent_nl_open(a);
	if (ret) {
		snprintf(err, errlen, "relay %s: failover: %s", cfg->name, strerror(-ret));
		vm_free(v);
		return ret;
	}
	memcpy(fc.mac, cfg->mac, FO_MAC_LEN);
	fc.unplug_grace_ms = cfg->unplug_grace_ms;
	fc.primary_grace_ms = cfg->primary_grace_ms;
	fo_vm_init(&v->fsm, &fc);
	a->vms[a->n++] = v;
	pr_notice("failover %s: relay %s, %s backend, primary %s%s%s%s%s, graces %u/%u ms%s%s",
		  v->macs, cfg->name, v->b->ops->name,
		  bc.kind == FO_BACKEND_SRIOV ? bc.pf : bc.primary_port,
		  bc.kind == FO_BACKEND_SRIOV ? " vf " : " on ",
		  bc.kind == FO_BACKEND_SRIOV ? "" : bc.bridge,
		  bc.kind == FO_BACKEND_BRIDGE ? ", relay port " : "",
		  bc.kind == FO_BACKEND_BRIDGE ? bc.relay_port : "",
		  cfg->unplug_grace_ms, cfg->primary_grace_ms,
		  cfg->qmp[0] ? ", QMP " : "", cfg->qmp);
	if (bc.kind == FO_BACKEND_SRIOV)
		pr_info("failover %s: primary vf %d, relay vf %d", v->macs, bc.primary_vf,
			bc.relay_vf);
	/* reconciled from what netlink and the relay show, once it runs */
	agent_defer_observe(v);
	vm_qmp_try(v);
	agent_tick_update(a);
	*events = &v->evq;
	return 0;

err_free:
	fo_backend_close(v->b);
	free(v);
	return ret;
}

static void agent_relay_closed(void *arg, const char *name)
{
	struct fo_agent *a = arg;
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		struct fo_avm *v = a->vms[i];

		if (strcmp(v->cfg.name, name))
			continue;
		pr_notice("failover %s: relay %s gone: no longer managed, the switch left as it is (%s)",
			  v->macs, name, fo_state_name(v->fsm.state));
		memmove(&a->vms[i], &a->vms[i + 1], (a->n - i - 1) * sizeof(a->vms[0]));
		a->n--;
		vm_free(v);
		break;
	}
	if (!a->n)
		agent_nl_close(a);
	agent_tick_update(a);
}

static const struct daemon_hooks agent_hooks = {
	.relay_opening = agent_relay_opening,
	.relay_closed = agent_relay_closed,
};

/* The agent ---------------------------------------------------------------- */

int fo_agent_open(struct fo_agent **ap, struct uloop *loop, struct vxdp_daemon *d)
{
	struct fo_agent *a;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->d = d;
	a->work.fn = agent_work;
	a->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->tick_fd < 0) {
		err = -errno;
		free(a);
		return err;
	}
	err = uloop_add_read(loop, &a->tick_src, a->tick_fd, &a->tick_val, sizeof(a->tick_val),
			     agent_on_tick);
	if (err) {
		close(a->tick_fd);
		free(a);
		return err;
	}
	daemon_set_hooks(d, &agent_hooks, a);
	*ap = a;
	return 0;
}

void fo_agent_close(struct fo_agent *a)
{
	if (!a)
		return;
	/* No daemon_set_hooks(): daemon_destroy() freed the daemon already. */
	while (a->n)
		vm_free(a->vms[--a->n]);
	agent_nl_close(a);
	uloop_del(a->loop, &a->tick_src);
	close(a->tick_fd);
	uloop_free_later(a->loop, free, a);
}

unsigned int fo_agent_list(struct fo_agent *a, struct fo_agent_vm_info *info,
			   unsigned int max)
{
	unsigned int i;
	uint64_t now = mono_ms();

	for (i = 0; i < a->n && i < max; i++) {
		const struct fo_avm *v = a->vms[i];
		struct fo_agent_vm_info *o = &info[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->relay, sizeof(o->relay), "%s", v->cfg.name);
		memcpy(o->mac, v->cfg.mac, FO_MAC_LEN);
		o->backend = v->b->ops->name;
		if (v->cfg.primary_pf[0])
			snprintf(o->primary, sizeof(o->primary), "%s vf %d", v->cfg.primary_pf,
				 v->cfg.primary_vf);
		else
			snprintf(o->primary, sizeof(o->primary), "%s on %s", v->b->cfg.primary_port,
				 v->b->cfg.bridge);
		o->state = v->fsm.state;
		o->last = v->fsm.last;
		o->cnt = v->fsm.cnt;
		o->now_ms = now;
		o->qmp = v->cfg.qmp[0];
		o->qmp_connected = v->qmp && qmp_state(v->qmp) == QMP_READY;
		o->relay_events_dropped = evq_dropped(&v->evq);
	}
	return i;
}

static bool event_parse(const char *name, struct fo_event *ev)
{
	const char *colon = strchr(name, ':');
	size_t len = colon ? (size_t)(colon - name) : strlen(name);
	unsigned int t;

	memset(ev, 0, sizeof(*ev));
	for (t = 0; t < FO_EV_NR; t++) {
		const char *n = fo_event_name(t);

		if (strlen(n) != len || strncmp(n, name, len))
			continue;
		/* what needs data of its own cannot come from outside */
		if (t == FO_EV_OBSERVED || t == FO_EV_TIMER)
			return false;
		ev->type = t;
		if (t == FO_EV_QMP_MIGRATION) {
			ev->mig = fo_mig_parse(colon ? colon + 1 : NULL);
			return ev->mig != FO_MIG_OTHER;
		}
		if (t == FO_EV_PF_LINK || t == FO_EV_RELAY_VF)
			ev->up = !colon || strcmp(colon + 1, "down");
		if (t == FO_EV_FDB_REMOVED)
			ev->path = colon && !strcmp(colon + 1, "primary") ? FO_PATH_PRIMARY :
				   FO_PATH_STANDBY;
		return !colon || t == FO_EV_PF_LINK || t == FO_EV_RELAY_VF ||
		       t == FO_EV_FDB_REMOVED;
	}
	return false;
}

int fo_agent_inject(struct fo_agent *a, const uint8_t mac[FO_MAC_LEN], const char *event,
		    char *log, size_t loglen, char *err, size_t errlen)
{
	struct fo_avm *v = NULL;
	struct fo_event ev;
	unsigned int i;
	char m[18];

	for (i = 0; i < a->n && !v; i++)
		if (!memcmp(a->vms[i]->cfg.mac, mac, FO_MAC_LEN))
			v = a->vms[i];
	if (!v) {
		snprintf(err, errlen, "no failover VM with MAC %s", fo_mac_str(mac, m));
		return -ENOENT;
	}
	if (!event_parse(event, &ev)) {
		snprintf(err, errlen, "unknown event '%.48s' (frontend-up, frontend-gone, "
			 "rings-running, dirty-log-start, qmp-migration:STATUS, ...)", event);
		return -EINVAL;
	}
	ev.detail = "(vxdpctl)";
	vm_step_log(v, &ev, log, loglen);
	return 0;
}
