// SPDX-License-Identifier: GPL-2.0
/* A relay's VF lifecycle: the VF going down and up, changing its MTU or its
 * rx queue count, a reset, the netdev disappearing and coming back (same
 * name, new ifindex; a rename away and back). The relay pauses while the VF
 * does not run (the guest's frames handed back unsent), and when it runs
 * again re-opens what is missing or stale (AF_XDP sockets, the XDP
 * attachment) and resumes, one log line per change. The guest's connection
 * stays up throughout. A bond's (vf=A+B) members each go through this, and
 * the guest's frames go out of the active one, which changes when it stops
 * running: one log line per switch, then a RARP out of the new one.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <netlink/route/link.h>

#include "net/nl_util.h"
#include "relay_impl.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/log.h"
#include "xdp/xdp_steer.h"

/* <linux/if.h>'s, which glibc's <net/if.h> lacks. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* The VF now, read by name: netlink notifications only say when to look,
 * so a lost or merged one costs nothing but the look.
 */
struct vf_state {
	int ifindex;		/* 0: no link of that name */
	/* Up, with carrier (IFF_LOWER_UP, which only netlink reports: not
	 * IFF_RUNNING, the operational state, which follows the carrier only
	 * once the kernel's link watch runs, up to a second later).
	 */
	bool running;
	int mtu;
	unsigned int rxq;
};

static void vf_read(const char *ifname, struct vf_state *v)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;

	memset(v, 0, sizeof(*v));
	if (nl_route_open(&sk))
		return;		/* reads as gone: paused until the next look */
	if (!rtnl_link_get_kernel(sk, 0, ifname, &link)) {
		unsigned int flags = rtnl_link_get_flags(link);

		v->ifindex = rtnl_link_get_ifindex(link);
		v->running = (flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP);
		v->mtu = rtnl_link_get_mtu(link);
		rtnl_link_put(link);
		v->rxq = vf_rx_queues(ifname);
	}
	nl_route_close(sk);
}

/* Whether some socket of member @m lost its binding (the kernel unbinds
 * them from a netdev that goes away, with ENETDOWN).
 */
static bool relay_ports_broken(struct relay *r, const struct relay_member *m)
{
	unsigned int i;

	for (i = 0; i < m->nports; i++) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(xsk_port_fd(r->port[m->base + i].xsk), SOL_SOCKET, SO_ERROR,
			       &err, &len) || err)
			return true;
	}
	return false;
}

/* The link the sockets are on is gone: they are unbound, and a new link of
 * the name needs new ones. While it is only down they stay: the kernel keeps
 * them bound across down and up (and closing and binding again at once would
 * race its deferred release of the queue).
 */
static void relay_vf_pause(struct relay *r, struct relay_member *m, bool gone)
{
	if (gone)
		relay_trim_ports(r, m, 0);
	m->paused = true;
}

/* Member @m's VF runs: make the relay's side of it whole again. XDP:
 * attached again, always (a driver that rebuilt its queues may not run the
 * program on new ones: veth does not after ethtool -L, until it is
 * attached again). Sockets: all new on a new link (or after one broke),
 * added or removed with the rx queues, else kept. Says what it did in
 * @did. 0 or a negative errno (logged by the modules; it stays paused).
 */
static int relay_vf_resume(struct relay *r, struct relay_member *m,
			   const struct vf_state *v, bool broken, char *did, size_t len)
{
	bool fresh = v->ifindex != m->ifindex || !m->nports || broken;
	unsigned int had = m->nports;
	int err = 0;

	*did = '\0';
	if (fresh) {
		relay_trim_ports(r, m, 0);
		if (m == &r->m[0] && v->ifindex != m->ifindex)
			vf_napi_restore(&r->napi);	/* went with the old link */
	}
	err = xdp_steer_reattach(m->steer, r->cfg.xdp_mode);
	snprintf(did, len, "XDP re-attached, ");
	if (!err && v->rxq < m->nports)
		relay_trim_ports(r, m, v->rxq);
	if (!err)
		err = relay_open_ports(r, m, true);
	if (err) {
		relay_trim_ports(r, m, 0);
		m->paused = true;
		return err;
	}
	if (fresh)
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets re-opened on %u queue%s",
			 m->nports, m->nports == 1 ? "" : "s");
	else if (m->nports != had)
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets on %u queue%s (were %u)",
			 m->nports, m->nports == 1 ? "" : "s", had);
	else
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets kept");
	if (m == &r->m[0] && v->ifindex != m->ifindex)
		relay_napi_setup(r, true);
	m->paused = false;
	m->ifindex = v->ifindex;
	m->mtu = v->mtu;
	/* The lanes read the VF's MTU again and look at every queue (the
	 * guest may have posted meanwhile) when they attach again.
	 */
	return 0;
}

/* What a look at member @m found it needs. */
enum vf_action {
	VF_KEEP,
	VF_PAUSE,
	VF_RESUME,
};

static enum vf_action relay_vf_needs(struct relay *r, struct relay_member *m,
				     const struct vf_state *v, bool *broken,
				     char *why, size_t len)
{
	*broken = false;
	if (!v->running) {
		bool gone = v->ifindex != m->ifindex;

		if (m->paused && (!gone || !m->nports))
			return VF_KEEP;
		if (!v->ifindex)
			snprintf(m->why, sizeof(m->why), "%s gone", m->vf);
		else if (gone)
			snprintf(m->why, sizeof(m->why), "%s replaced, not running", m->vf);
		else
			snprintf(m->why, sizeof(m->why), "%s down or no carrier", m->vf);
		return VF_PAUSE;
	}
	/* (Reading a socket's error clears it: once.) */
	*broken = relay_ports_broken(r, m);
	if (v->ifindex != m->ifindex)
		snprintf(why, len, "%s ifindex %d (was %d)",
			 m->paused ? "back as" : "is another link now,", v->ifindex, m->ifindex);
	else if (m->paused)
		snprintf(why, len, "up again");
	else if (v->mtu != m->mtu)
		snprintf(why, len, "MTU %d -> %d", m->mtu, v->mtu);
	else if (v->rxq != m->nports)
		snprintf(why, len, "rx queues %u -> %u", m->nports, v->rxq);
	else if (*broken || !xdp_steer_attached(m->steer))
		snprintf(why, len, "reset under the relay");
	else
		return VF_KEEP;		/* nothing the relay depends on */
	return VF_RESUME;
}

static void relay_vf_pause_log(struct relay *r, struct relay_member *m,
			       const struct vf_state *v, int was)
{
	const char *name = r->cfg.name, *vf = m->vf;

	if (!v->ifindex)
		pr_warn("%s: vf %s gone (ifindex %d deleted or renamed): paused until a link named %s runs",
			name, vf, was, vf);
	else if (v->ifindex != was)
		pr_warn("%s: vf %s is another link now (ifindex %d, was %d), not running: paused until it runs",
			name, vf, v->ifindex, was);
	else
		pr_warn("%s: vf %s down (or no carrier): paused until it runs", name, vf);
}

/* The member a bond sends on after a change: the active one while it
 * runs (no switch back when the other returns: each switch costs the
 * peer's switches a relearning), else the first one that runs; NULL when
 * none does.
 */
struct relay_member *relay_bond_pick(struct relay_member *m, unsigned int n,
				     struct relay_member *active)
{
	unsigned int k;

	if (active && !active->paused)
		return active;
	for (k = 0; k < n; k++)
		if (!m[k].paused)
			return &m[k];
	return NULL;
}

/* Every member but the active one a backup, for its steering program. */
static void relay_bond_steer(struct relay *r)
{
	unsigned int k;

	if (r->nmembers < 2)
		return;
	for (k = 0; k < r->nmembers; k++)
		xdp_steer_set_backup(r->m[k].steer, &r->m[k] != r->active);
}

/* With the lanes parked: point the datapath at the member to send on, and
 * when that changed, say why and announce the guest there.
 */
static void relay_bond_update(struct relay *r, uint64_t t0_us)
{
	struct relay_member *was = r->active;
	struct relay_member *now = relay_bond_pick(r->m, r->nmembers, was);
	bool paused = r->vf_paused;

	r->vf_paused = !now;
	if (r->nmembers < 2)
		return;
	if (!now) {
		if (!paused)
			pr_warn("%s: bond %s: no member runs (%s): paused until one does",
				r->cfg.name, r->vfs, was->why);
		return;
	}
	if (now == was && !paused)
		return;
	WRITE_ONCE(r->active, now);
	relay_bond_steer(r);
	if (now != was) {
		now->activations++;
		r->switches++;
		pr_notice("%s: bond %s: active %s -> %s (%s) in %llu ms, switch %llu",
			  r->cfg.name, r->vfs, was->vf, now->vf, was->why,
			  (unsigned long long)(mono_us() - t0_us + 500) / 1000,
			  (unsigned long long)r->switches);
	} else {
		pr_notice("%s: bond %s: %s runs again, active", r->cfg.name, r->vfs, now->vf);
	}
	/* The peer's switch learns the guest's MAC behind the new port. */
	relay_announce(r, r->cfg.mac);
}

static void relay_vf_check(struct relay *r)
{
	const char *name = r->cfg.name;
	enum vf_action act[2];
	char why[2][96], did[128];
	struct vf_state v[2];
	bool broken[2], any = false;
	int was[2];
	uint64_t t0;
	unsigned int k;
	int err;

	t0 = mono_us();
	for (k = 0; k < r->nmembers; k++) {
		vf_read(r->m[k].vf, &v[k]);
		act[k] = relay_vf_needs(r, &r->m[k], &v[k], &broken[k], why[k], sizeof(why[k]));
		any |= act[k] != VF_KEEP;
	}
	if (!any)
		return;
	relay_lanes_park(r);
	for (k = 0; k < r->nmembers; k++) {
		struct relay_member *m = &r->m[k];

		was[k] = m->ifindex;
		if (act[k] == VF_PAUSE) {
			relay_vf_pause(r, m, v[k].ifindex != m->ifindex);
		} else if (act[k] == VF_RESUME) {
			err = relay_vf_resume(r, m, &v[k], broken[k], did, sizeof(did));
			if (err)
				pr_err("%s: vf %s %s: re-opening AF_XDP and XDP failed (%s): paused until its next change",
				       name, m->vf, why[k], strerror(-err));
			else
				pr_notice("%s: vf %s %s: %s in %llu ms, forwarding", name, m->vf,
					  why[k], did,
					  (unsigned long long)(mono_us() - t0 + 500) / 1000);
		}
	}
	relay_bond_update(r, t0);
	relay_lanes_unpark(r);
	/* Said after the lanes run again: the switch comes first. */
	for (k = 0; k < r->nmembers; k++)
		if (act[k] == VF_PAUSE)
			relay_vf_pause_log(r, &r->m[k], &v[k], was[k]);
}

static void relay_vf_work(struct uloop_work *w)
{
	struct relay *r = container_of(w, struct relay, vf_work);
	const char *prev;

	if (r->vf_closed)
		return;
	prev = log_set_relay(r->cfg.name);
	relay_vf_check(r);
	log_set_relay(prev);
}

void relay_vf_init(struct relay *r)
{
	unsigned int k;

	for (k = 0; k < r->nmembers; k++) {
		struct relay_member *m = &r->m[k];
		struct vf_state v;

		vf_read(m->vf, &v);
		m->ifindex = v.ifindex;
		m->mtu = v.mtu;
		m->paused = false;
		/* A bond starts on its first member that runs. */
		if (r->nmembers > 1 && !v.running && r->active == m && k + 1 < r->nmembers)
			r->active = &r->m[k + 1];
	}
	relay_bond_steer(r);
	r->vf_paused = false;
	r->vf_work.fn = relay_vf_work;
}

void relay_vf_close(struct relay *r)
{
	r->vf_closed = true;
}

void relay_vf_event(struct relay *r, int ifindex, const char *ifname)
{
	unsigned int k;

	for (k = 0; k < r->nmembers; k++)
		if (!ifname || !strcmp(ifname, r->m[k].vf) || ifindex == r->m[k].ifindex)
			break;
	if (k == r->nmembers)
		return;
	uloop_defer(r->loop, &r->vf_work);
}
