// SPDX-License-Identifier: GPL-2.0
/* FDB entries through libnl (see nl_fdb.h). One code path for the bridge
 * backend's ports (NTF_MASTER) and the SR-IOV backend's VF filters
 * (NTF_SELF): only the flag and the state differ.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/neighbour.h>

#include "net/nl_fdb.h"
#include "net/nl_util.h"

static struct rtnl_neigh *fdb_entry(int ifindex, const uint8_t *mac, bool master)
{
	struct rtnl_neigh *n;
	struct nl_addr *a;

	n = rtnl_neigh_alloc();
	if (!n)
		return NULL;
	a = nl_addr_build(AF_LLC, mac, ETH_ALEN);
	if (!a) {
		rtnl_neigh_put(n);
		return NULL;
	}
	rtnl_neigh_set_family(n, AF_BRIDGE);
	rtnl_neigh_set_ifindex(n, ifindex);
	rtnl_neigh_set_lladdr(n, a);
	nl_addr_put(a);
	rtnl_neigh_set_flags(n, master ? NTF_MASTER : NTF_SELF);
	/* a bridge takes NUD_PERMANENT as the bridge's own address (frames
	 * stop there): static is NUD_NOARP; a device's own filter only takes
	 * NUD_PERMANENT
	 */
	rtnl_neigh_set_state(n, master ? NUD_NOARP : NUD_PERMANENT);
	return n;
}

int nl_fdb_add(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master)
{
	struct rtnl_neigh *n = fdb_entry(ifindex, mac, master);
	int err, found;

	if (!n)
		return -ENOMEM;
	err = nl_errno(rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_neigh_put(n);
	if (err != -EEXIST)
		return err;
	found = nl_fdb_find(sk, ifindex, mac, master, NULL);
	if (found < 0)
		return found;
	return found ? 0 : -EEXIST;
}

int nl_fdb_del(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master)
{
	struct rtnl_neigh *n = fdb_entry(ifindex, mac, master);
	int err;

	if (!n)
		return -ENOMEM;
	err = nl_errno(rtnl_neigh_delete(sk, n, 0));
	rtnl_neigh_put(n);
	return err == -ENOENT ? 0 : err;
}

struct find_ctx {
	int ifindex;
	const uint8_t *mac;
	bool master;
	int found;
	int other;
};

static int find_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct find_ctx *c = arg;
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *ndm;
	bool master;

	if (h->nlmsg_type != RTM_NEWNEIGH ||
	    nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return NL_OK;
	ndm = nlmsg_data(h);
	if (ndm->ndm_family != AF_BRIDGE || !tb[NDA_LLADDR] ||
	    nla_len(tb[NDA_LLADDR]) != ETH_ALEN ||
	    memcmp(nla_data(tb[NDA_LLADDR]), c->mac, ETH_ALEN))
		return NL_OK;
	/* a bridge's entries come with NDA_MASTER (and no NTF_MASTER flag);
	 * a device's own addresses with NTF_SELF
	 */
	master = tb[NDA_MASTER] != NULL;
	if (ndm->ndm_ifindex == c->ifindex &&
	    (c->master ? master : !!(ndm->ndm_flags & NTF_SELF)))
		c->found = 1;
	else if (ndm->ndm_ifindex != c->ifindex && master)
		c->other = ndm->ndm_ifindex;
	return NL_OK;
}

int nl_fdb_find(struct nl_sock *sk, int ifindex, const uint8_t *mac, bool master,
		int *other_ifindex)
{
	struct ndmsg ndm = { .ndm_family = AF_BRIDGE };
	struct find_ctx c = { .ifindex = ifindex, .mac = mac,
			      .master = master };
	struct nl_cb *cb;
	int err;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, find_cb, &c);
	err = nl_send_simple(sk, RTM_GETNEIGH, NLM_F_DUMP, &ndm, sizeof(ndm));
	if (err >= 0)
		err = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	if (err < 0)
		return nl_errno(err);
	if (other_ifindex)
		*other_ifindex = c.other;
	return c.found;
}
