// SPDX-License-Identifier: GPL-2.0
/* The sriov backend: a real PF's VFs through libnl (IFLA_VFINFO_LIST read
 * with RTEXT_FILTER_VF, set with rtnl_link_change). The kernel applies a
 * VF request's attributes one after the other and stops at the first a
 * driver refuses, leaving the earlier ones applied; so each attribute goes
 * in a message of its own and is read back before the next.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

#include "agent/failover_backend.h"
#include "net/nl_fdb.h"
#include "net/nl_util.h"
#include "net/nl_watch.h"
#include "util/log.h"

/* The PF with its VF list (RTEXT_FILTER_VF: rtnl_link_get_kernel asks). */
static int pf_get(struct fo_backend *b, struct rtnl_link **link)
{
	return nl_errno(rtnl_link_get_kernel(b->sk, b->pf_ifindex, NULL, link));
}

static int vf_read(struct rtnl_link *link, int vf, struct fo_vf_attrs *out, uint32_t *known)
{
	struct rtnl_link_vf *v;
	struct nl_addr *a;
	uint32_t n, val;

	/* libnl walks the VF list without looking: a PF without VFs has none */
	if (rtnl_link_get_num_vf(link, &n) < 0 || vf < 0 || (uint32_t)vf >= n)
		return -EINVAL;
	v = rtnl_link_vf_get(link, (uint32_t)vf);
	if (!v)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	*known = 0;
	if (!rtnl_link_vf_get_addr(v, &a) && nl_addr_get_len(a) == ETH_ALEN) {
		memcpy(out->mac, nl_addr_get_binary_addr(a), ETH_ALEN);
		*known |= FO_VF_MAC;
	}
	if (!rtnl_link_vf_get_linkstate(v, &val)) {
		out->link = (enum fo_link)val;
		*known |= FO_VF_LINK;
	}
	/* drivers that do not implement one report it as -1 */
	if (!rtnl_link_vf_get_spoofchk(v, &val) && val != UINT32_MAX) {
		out->spoofchk = val;
		*known |= FO_VF_SPOOFCHK;
	}
	if (!rtnl_link_vf_get_trust(v, &val) && val != UINT32_MAX) {
		out->trust = val;
		*known |= FO_VF_TRUST;
	}
	rtnl_link_vf_put(v);
	return 0;
}

int fo_sriov_vf_get(struct fo_backend *b, int vf, struct fo_vf_attrs *out)
{
	struct rtnl_link *link;
	uint32_t known;
	int err;

	err = pf_get(b, &link);
	if (err)
		return err;
	err = vf_read(link, vf, out, &known);
	rtnl_link_put(link);
	return err;
}

static bool attr_equal(uint32_t bit, const struct fo_vf_attrs *a, const struct fo_vf_attrs *b)
{
	switch (bit) {
	case FO_VF_MAC:
		return !memcmp(a->mac, b->mac, ETH_ALEN);
	case FO_VF_LINK:
		return a->link == b->link;
	case FO_VF_SPOOFCHK:
		return a->spoofchk == b->spoofchk;
	default:
		return a->trust == b->trust;
	}
}

static const char *attr_name(uint32_t bit)
{
	switch (bit) {
	case FO_VF_MAC:
		return "mac";
	case FO_VF_LINK:
		return "link state";
	case FO_VF_SPOOFCHK:
		return "spoof-check";
	default:
		return "trust";
	}
}

/* One attribute in one RTM_NEWLINK/SETLINK. */
static int vf_change(struct fo_backend *b, struct rtnl_link *orig, int vf, uint32_t bit,
		     const struct fo_vf_attrs *want)
{
	struct rtnl_link *changes;
	struct rtnl_link_vf *v;
	struct nl_addr *a;
	int err = -ENOMEM;

	changes = rtnl_link_alloc();
	v = rtnl_link_vf_alloc();
	if (!changes || !v)
		goto out;
	rtnl_link_vf_set_index(v, (uint32_t)vf);
	switch (bit) {
	case FO_VF_MAC:
		a = nl_addr_build(AF_LLC, want->mac, ETH_ALEN);
		if (!a)
			goto out;
		rtnl_link_vf_set_addr(v, a);
		nl_addr_put(a);
		break;
	case FO_VF_LINK:
		rtnl_link_vf_set_linkstate(v, want->link);
		break;
	case FO_VF_SPOOFCHK:
		rtnl_link_vf_set_spoofchk(v, want->spoofchk);
		break;
	default:
		rtnl_link_vf_set_trust(v, want->trust);
		break;
	}
	err = nl_errno(rtnl_link_vf_add(changes, v));
	if (!err)
		err = nl_errno(rtnl_link_change(b->sk, orig, changes, 0));
out:
	if (v)
		rtnl_link_vf_put(v);
	if (changes)
		rtnl_link_put(changes);
	return err;
}

int fo_sriov_vf_set(struct fo_backend *b, int vf, uint32_t mask,
		    const struct fo_vf_attrs *want, uint32_t *applied)
{
	static const uint32_t order[] = { FO_VF_MAC, FO_VF_LINK, FO_VF_SPOOFCHK, FO_VF_TRUST };
	struct rtnl_link *link = NULL;
	struct fo_vf_attrs cur;
	uint32_t known, bit;
	unsigned int i;
	int err = 0;

	*applied = 0;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		bit = order[i];
		if (!(mask & bit))
			continue;
		err = pf_get(b, &link);
		if (!err)
			err = vf_read(link, vf, &cur, &known);
		if (!err && !((known & bit) && attr_equal(bit, &cur, want)))
			err = vf_change(b, link, vf, bit, want);
		if (link)
			rtnl_link_put(link);
		link = NULL;
		if (err) {
			pr_warn("sriov: %s vf %d: setting %s failed: %s", b->cfg.pf, vf,
				attr_name(bit), strerror(-err));
			return err;
		}
		/* read back: a driver may accept and not apply */
		err = fo_sriov_vf_get(b, vf, &cur);
		if (!err && !attr_equal(bit, &cur, want))
			err = -EIO;
		if (err) {
			pr_warn("sriov: %s vf %d: %s not as set: %s", b->cfg.pf, vf,
				attr_name(bit), strerror(-err));
			return err;
		}
		*applied |= bit;
	}
	return 0;
}

static int sriov_open(struct fo_backend *b)
{
	struct fo_vf_attrs a;
	int err;

	b->pf_ifindex = (int)if_nametoindex(b->cfg.pf);
	if (!b->pf_ifindex)
		return -ENODEV;
	err = fo_sriov_vf_get(b, b->cfg.primary_vf, &a);
	if (err)
		return err;
	if (b->cfg.relay_vf >= 0) {
		err = fo_sriov_vf_get(b, b->cfg.relay_vf, &a);
		if (err)
			return err;
	}
	if (b->cfg.relay_dev[0]) {
		b->relay_ifindex = (int)if_nametoindex(b->cfg.relay_dev);
		if (!b->relay_ifindex)
			return -ENODEV;
	}
	return 0;
}

static int sriov_primary_set(struct fo_backend *b, uint32_t mask,
			     const struct fo_vf_attrs *want, uint32_t *applied)
{
	return fo_sriov_vf_set(b, b->cfg.primary_vf, mask & (FO_VF_MAC | FO_VF_LINK),
			       want, applied);
}

static int sriov_relay_set(struct fo_backend *b, uint32_t mask,
			   const struct fo_vf_attrs *want, uint32_t *applied)
{
	*applied = 0;
	if (b->cfg.relay_vf < 0)
		return 0;
	return fo_sriov_vf_set(b, b->cfg.relay_vf, mask & (FO_VF_SPOOFCHK | FO_VF_TRUST),
			       want, applied);
}

/* The primary's delivery is its VF MAC; the standby's an entry in the
 * relay VF's own filter ("bridge fdb add MAC dev VF self").
 */
static int sriov_fdb(struct fo_backend *b, enum fo_path path, bool add)
{
	if (path == FO_PATH_PRIMARY)
		return 0;
	if (!b->relay_ifindex)
		return -ENODEV;
	return add ? nl_fdb_add(b->sk, b->relay_ifindex, b->cfg.mac, false) :
		     nl_fdb_del(b->sk, b->relay_ifindex, b->cfg.mac, false);
}

static int sriov_observe(struct fo_backend *b, struct fo_obs *obs)
{
	struct fo_vf_attrs a;
	int err, n;

	err = fo_sriov_vf_get(b, b->cfg.primary_vf, &a);
	if (err)
		return err;
	obs->w.mac_set = !memcmp(a.mac, b->cfg.mac, ETH_ALEN);
	obs->w.link = a.link;
	/* the VF MAC is the primary's delivery */
	obs->w.fdb_primary = obs->w.mac_set;
	obs->valid |= FO_W_MAC | FO_W_LINK | FO_W_FDB_PRI;
	if (b->cfg.relay_vf >= 0) {
		err = fo_sriov_vf_get(b, b->cfg.relay_vf, &a);
		if (err)
			return err;
		obs->w.relay_open = !a.spoofchk && a.trust;
		obs->valid |= FO_W_RELAY;
	}
	if (b->relay_ifindex) {
		n = nl_fdb_find(b->sk, b->relay_ifindex, b->cfg.mac, false, NULL);
		if (n < 0)
			return n;
		obs->w.fdb_standby = n;
		obs->valid |= FO_W_FDB_STBY;
	}
	return 0;
}

/* the relay's VF netdev and an overrun: fo_backend_match() */
static int sriov_match(struct fo_backend *b, const struct nl_watch_event *nev,
		       struct fo_event *ev)
{
	switch (nev->kind) {
	case NLW_LINK_NEW:
		/* a VF change notifies a bare NEWLINK on the PF: re-read */
		if (nev->ifindex == b->pf_ifindex) {
			ev->type = FO_EV_VF_CHANGED;
			return 1;
		}
		return 0;
	case NLW_FDB_DEL:
		if (nev->ifindex == b->relay_ifindex && !memcmp(nev->mac, b->cfg.mac, ETH_ALEN)) {
			ev->type = FO_EV_FDB_REMOVED;
			ev->path = FO_PATH_STANDBY;
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* The VF's transmit count (IFLA_VF_STATS); a driver without VF stats
 * reports none, and the agent goes by its grace alone.
 */
static int sriov_primary_tx(struct fo_backend *b, uint64_t *frames)
{
	struct rtnl_link_vf *v;
	struct rtnl_link *link;
	uint32_t n;
	int err;

	err = pf_get(b, &link);
	if (err)
		return err;
	err = -EINVAL;
	if (!rtnl_link_get_num_vf(link, &n) && (uint32_t)b->cfg.primary_vf < n &&
	    (v = rtnl_link_vf_get(link, (uint32_t)b->cfg.primary_vf))) {
		err = rtnl_link_vf_get_stat(v, RTNL_LINK_VF_STATS_TX_PACKETS, frames) < 0 ?
		      -EOPNOTSUPP : 0;
		rtnl_link_vf_put(v);
	}
	rtnl_link_put(link);
	return err;
}

const struct fo_backend_ops fo_backend_sriov = {
	.name = "sriov",
	.open = sriov_open,
	.primary_set = sriov_primary_set,
	.relay_set = sriov_relay_set,
	.fdb = sriov_fdb,
	.observe = sriov_observe,
	.match = sriov_match,
	.primary_tx = sriov_primary_tx,
};
