// SPDX-License-Identifier: GPL-2.0
/* A relay's VF lifecycle: the VF going down and up, changing its MTU or its
 * rx queue count, a reset, the netdev disappearing and coming back (same
 * name, new ifindex; a rename away and back). The relay pauses while the VF
 * does not run (the guest's frames handed back unsent), and when it runs
 * again re-opens what is missing or stale (AF_XDP sockets, the XDP
 * attachment) and resumes, one log line per change. The guest's connection
 * stays up throughout.
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

/* Whether some socket lost its binding (the kernel unbinds them from a
 * netdev that goes away, with ENETDOWN).
 */
static bool relay_ports_broken(struct relay *r)
{
	unsigned int i;

	for (i = 0; i < r->nports; i++) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(xsk_port_fd(r->port[i].xsk), SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err)
			return true;
	}
	return false;
}

/* The link the sockets are on is gone: they are unbound, and a new link of
 * the name needs new ones. While it is only down they stay: the kernel keeps
 * them bound across down and up (and closing and binding again at once would
 * race its deferred release of the queue).
 */
static void relay_vf_pause(struct relay *r, bool gone)
{
	if (gone)
		relay_close_ports(r);
	r->vf_paused = true;
}

/* The VF runs: make the relay's side of it whole again. XDP: attached
 * again, always (a driver that rebuilt its queues may not run the program
 * on new ones: veth does not after ethtool -L, until it is attached
 * again). Sockets: all new on a new link (or after one broke), added or
 * removed with the rx queues, else kept. Says what it did in @did. 0 or a
 * negative errno (logged by the modules; the relay stays paused).
 */
static int relay_vf_resume(struct relay *r, const struct vf_state *v, bool broken,
			   char *did, size_t len)
{
	bool fresh = v->ifindex != r->vf_ifindex || !r->nports || broken;
	unsigned int had = r->nports;
	int err = 0;

	*did = '\0';
	if (fresh) {
		relay_close_ports(r);
		if (v->ifindex != r->vf_ifindex)
			vf_napi_restore(&r->napi);	/* went with the old link */
	}
	err = xdp_steer_reattach(r->steer, r->cfg.xdp_mode);
	snprintf(did, len, "XDP re-attached, ");
	if (!err && v->rxq < r->nports)
		relay_trim_ports(r, v->rxq);
	if (!err)
		err = relay_open_ports(r, true);
	if (err) {
		relay_close_ports(r);
		r->vf_paused = true;
		return err;
	}
	if (fresh)
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets re-opened on %u queue%s",
			 r->nports, r->nports == 1 ? "" : "s");
	else if (r->nports != had)
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets on %u queue%s (were %u)",
			 r->nports, r->nports == 1 ? "" : "s", had);
	else
		snprintf(did + strlen(did), len - strlen(did), "AF_XDP sockets kept");
	if (v->ifindex != r->vf_ifindex)
		relay_napi_setup(r, true);
	r->vf_paused = false;
	r->vf_ifindex = v->ifindex;
	r->vf_mtu = v->mtu;
	/* The lanes read the VF's MTU again and look at every queue (the
	 * guest may have posted meanwhile) when they attach again.
	 */
	return 0;
}

static void relay_vf_check(struct relay *r)
{
	const char *name = r->cfg.name, *vf = r->cfg.vf;
	char why[96], did[128];
	struct vf_state v;
	bool broken;
	uint64_t t0;
	int err;

	vf_read(vf, &v);
	if (!v.running) {
		bool gone = v.ifindex != r->vf_ifindex;

		if (r->vf_paused && (!gone || !r->nports))
			return;
		relay_lanes_park(r);
		relay_vf_pause(r, gone);
		relay_lanes_unpark(r);
		if (!v.ifindex)
			pr_warn("%s: vf %s gone (ifindex %d deleted or renamed): paused until a link named %s runs",
				name, vf, r->vf_ifindex, vf);
		else if (gone)
			pr_warn("%s: vf %s is another link now (ifindex %d, was %d), not running: paused until it runs",
				name, vf, v.ifindex, r->vf_ifindex);
		else
			pr_warn("%s: vf %s down (or no carrier): paused until it runs", name, vf);
		return;
	}
	/* (Reading a socket's error clears it: once.) */
	broken = relay_ports_broken(r);
	if (v.ifindex != r->vf_ifindex)
		snprintf(why, sizeof(why), "%s ifindex %d (was %d)",
			 r->vf_paused ? "back as" : "is another link now,", v.ifindex,
			 r->vf_ifindex);
	else if (r->vf_paused)
		snprintf(why, sizeof(why), "up again");
	else if (v.mtu != r->vf_mtu)
		snprintf(why, sizeof(why), "MTU %d -> %d", r->vf_mtu, v.mtu);
	else if (v.rxq != r->nports)
		snprintf(why, sizeof(why), "rx queues %u -> %u", r->nports, v.rxq);
	else if (broken || !xdp_steer_attached(r->steer))
		snprintf(why, sizeof(why), "reset under the relay");
	else
		return;		/* nothing the relay depends on */
	t0 = mono_us();
	relay_lanes_park(r);
	err = relay_vf_resume(r, &v, broken, did, sizeof(did));
	relay_lanes_unpark(r);
	if (err)
		pr_err("%s: vf %s %s: re-opening AF_XDP and XDP failed (%s): paused until its next change",
		       name, vf, why, strerror(-err));
	else
		pr_notice("%s: vf %s %s: %s in %llu ms, forwarding", name, vf, why, did,
			  (unsigned long long)(mono_us() - t0 + 500) / 1000);
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
	struct vf_state v;

	vf_read(r->cfg.vf, &v);
	r->vf_ifindex = v.ifindex;
	r->vf_mtu = v.mtu;
	r->vf_paused = false;
	r->vf_work.fn = relay_vf_work;
}

void relay_vf_close(struct relay *r)
{
	r->vf_closed = true;
}

void relay_vf_event(struct relay *r, int ifindex, const char *ifname)
{
	if (ifname && strcmp(ifname, r->cfg.vf) && ifindex != r->vf_ifindex)
		return;
	uloop_defer(r->loop, &r->vf_work);
}
