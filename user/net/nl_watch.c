// SPDX-License-Identifier: GPL-2.0
/* Netlink notifications for links and FDB entries (see nl_watch.h), parsed
 * from the raw messages: a notification's exact contents matter (a bare
 * NEWLINK after a VF change has no VF list), which libnl's object caches
 * would merge away.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "net/nl_util.h"
#include "net/nl_watch.h"

struct nl_watch {
	struct nl_sock *sk;
	nl_watch_fn fn;
	void *arg;
	int count;
};

static void parse_link(struct nlmsghdr *h, struct nl_watch_event *ev)
{
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi = nlmsg_data(h);

	ev->kind = h->nlmsg_type == RTM_NEWLINK ? NLW_LINK_NEW : NLW_LINK_DEL;
	ev->ifindex = ifi->ifi_index;
	ev->flags = ifi->ifi_flags;
	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return;
	if (tb[IFLA_IFNAME])
		nla_strlcpy(ev->ifname, tb[IFLA_IFNAME], sizeof(ev->ifname));
	if (tb[IFLA_MASTER])
		ev->master = (int)nla_get_u32(tb[IFLA_MASTER]);
	ev->has_vfinfo = tb[IFLA_VFINFO_LIST] != NULL;
}

static bool parse_fdb(struct nlmsghdr *h, struct nl_watch_event *ev)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *ndm = nlmsg_data(h);

	if (ndm->ndm_family != AF_BRIDGE ||
	    nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0 ||
	    !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != ETH_ALEN)
		return false;
	ev->kind = h->nlmsg_type == RTM_NEWNEIGH ? NLW_FDB_NEW : NLW_FDB_DEL;
	ev->ifindex = ndm->ndm_ifindex;
	ev->ntf_flags = ndm->ndm_flags;
	ev->state = ndm->ndm_state;
	memcpy(ev->mac, nla_data(tb[NDA_LLADDR]), ETH_ALEN);
	if (tb[NDA_MASTER])
		ev->master = (int)nla_get_u32(tb[NDA_MASTER]);
	return true;
}

static int watch_cb(struct nl_msg *msg, void *arg)
{
	struct nl_watch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nl_watch_event ev;

	memset(&ev, 0, sizeof(ev));
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (!nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
			return NL_OK;
		parse_link(h, &ev);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (!nlmsg_valid_hdr(h, sizeof(struct ndmsg)) || !parse_fdb(h, &ev))
			return NL_OK;
		break;
	default:
		return NL_OK;
	}
	w->count++;
	w->fn(&ev, w->arg);
	return NL_OK;
}

int nl_watch_open(struct nl_watch **wp, nl_watch_fn fn, void *arg)
{
	struct nl_watch *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	w->sk = nl_notify_alloc(watch_cb, w);
	if (!w->sk) {
		err = -ENOMEM;
		goto err;
	}
	err = nl_errno(nl_connect(w->sk, NETLINK_ROUTE));
	if (err)
		goto err;
	err = nl_errno(nl_socket_add_memberships(w->sk, RTNLGRP_LINK, RTNLGRP_NEIGH, 0));
	if (err)
		goto err;
	err = nl_errno(nl_socket_set_nonblocking(w->sk));
	if (err)
		goto err;
	/* bursts (64 VFs appearing) fit; an overrun is still reported */
	nl_socket_set_buffer_size(w->sk, 1 << 20, 0);
	*wp = w;
	return 0;
err:
	nl_watch_close(w);
	return err;
}

int nl_watch_fd(const struct nl_watch *w)
{
	return nl_socket_get_fd(w->sk);
}

int nl_watch_dispatch(struct nl_watch *w)
{
	struct nl_watch_event ev = { .kind = NLW_OVERRUN };
	int err;

	w->count = 0;
	err = nl_notify_drain(w->sk);
	if (err < 0)
		return err;
	if (err) {
		w->count++;
		w->fn(&ev, w->arg);
	}
	return w->count;
}

void nl_watch_close(struct nl_watch *w)
{
	if (!w)
		return;
	if (w->sk)
		nl_socket_free(w->sk);
	free(w);
}
