// SPDX-License-Identifier: GPL-2.0
/* Channel count changes from ethtool's netlink monitor group (see
 * ethtool_watch.h), with libnl's generic netlink resolver.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ethtool_netlink.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "net/ethtool_watch.h"
#include "net/nl_util.h"

struct ethtool_watch {
	struct nl_sock *sk;
	int family;
	ethtool_watch_fn fn;
	void *arg;
	int count;
};

static int watch_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ETHTOOL_A_CHANNELS_MAX + 1];
	struct nlattr *hdr[ETHTOOL_A_HEADER_MAX + 1];
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ethtool_watch *w = arg;
	char ifname[IF_NAMESIZE] = "";
	struct genlmsghdr *g;

	if (h->nlmsg_type != w->family || !genlmsg_valid_hdr(h, 0))
		return NL_OK;
	g = nlmsg_data(h);
	if (g->cmd != ETHTOOL_MSG_CHANNELS_NTF)
		return NL_OK;
	if (genlmsg_parse(h, 0, tb, ETHTOOL_A_CHANNELS_MAX, NULL) < 0 ||
	    !tb[ETHTOOL_A_CHANNELS_HEADER] ||
	    nla_parse_nested(hdr, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_CHANNELS_HEADER],
			     NULL) < 0 || !hdr[ETHTOOL_A_HEADER_DEV_INDEX])
		return NL_OK;
	if (hdr[ETHTOOL_A_HEADER_DEV_NAME])
		nla_strlcpy(ifname, hdr[ETHTOOL_A_HEADER_DEV_NAME], sizeof(ifname));
	w->count++;
	w->fn((int)nla_get_u32(hdr[ETHTOOL_A_HEADER_DEV_INDEX]), ifname, w->arg);
	return NL_OK;
}

int ethtool_watch_open(struct ethtool_watch **wp, ethtool_watch_fn fn, void *arg)
{
	struct ethtool_watch *w;
	int err, grp;

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
	err = nl_errno(genl_connect(w->sk));
	if (err)
		goto err;
	/* (Both resolved before the socket is non-blocking: a request.) */
	w->family = genl_ctrl_resolve(w->sk, ETHTOOL_GENL_NAME);
	grp = genl_ctrl_resolve_grp(w->sk, ETHTOOL_GENL_NAME, ETHTOOL_MCGRP_MONITOR_NAME);
	if (w->family < 0 || grp < 0) {
		err = -ENOENT;
		goto err;
	}
	err = nl_errno(nl_socket_add_membership(w->sk, grp));
	if (!err)
		err = nl_errno(nl_socket_set_nonblocking(w->sk));
	if (err)
		goto err;
	*wp = w;
	return 0;
err:
	ethtool_watch_close(w);
	return err;
}

int ethtool_watch_fd(const struct ethtool_watch *w)
{
	return nl_socket_get_fd(w->sk);
}

int ethtool_watch_dispatch(struct ethtool_watch *w)
{
	int err;

	w->count = 0;
	err = nl_notify_drain(w->sk);
	if (err < 0)
		return err;
	if (err) {
		w->count++;
		w->fn(0, "", w->arg);
	}
	return w->count;
}

void ethtool_watch_close(struct ethtool_watch *w)
{
	if (!w)
		return;
	if (w->sk)
		nl_socket_free(w->sk);
	free(w);
}
