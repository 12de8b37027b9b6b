// SPDX-License-Identifier: GPL-2.0
/* The bridge backend: a Linux bridge stands in for the NIC's embedded
 * switch (QEMU's failover documentation does the same by hand). The
 * primary's port (QEMU's tap behind the passthrough device) and the relay's
 * port have learning and unicast flooding off, so the VM's MAC goes only
 * where a static NTF_MASTER entry sends it; the primary's "VF link state" is
 * its port's STP state (disabled / forwarding). The primary's MAC is QEMU's
 * (-device ...,mac=): nothing to set here, and nothing read.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_bridge.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>

#include "agent/failover_backend.h"
#include "net/nl_fdb.h"
#include "net/nl_util.h"
#include "net/nl_watch.h"
#include "util/compiler.h"
#include "util/log.h"

struct port_info {
	bool found;
	int master;
	unsigned int flags;
	bool is_port;		/* IFLA_INFO_SLAVE_KIND "bridge" */
	int state;		/* BR_STATE_*, -1 unknown */
	int learning;		/* -1 unknown */
	int ucast_flood;
};

static void parse_slave(struct nlattr *linkinfo, struct port_info *p)
{
	struct nlattr *li[IFLA_INFO_MAX + 1], *br[IFLA_BRPORT_MAX + 1];

	if (nla_parse_nested(li, IFLA_INFO_MAX, linkinfo, NULL) < 0 ||
	    !li[IFLA_INFO_SLAVE_KIND] || !li[IFLA_INFO_SLAVE_DATA] ||
	    strcmp(nla_get_string(li[IFLA_INFO_SLAVE_KIND]), "bridge") ||
	    nla_parse_nested(br, IFLA_BRPORT_MAX, li[IFLA_INFO_SLAVE_DATA], NULL) < 0)
		return;
	p->is_port = true;
	if (br[IFLA_BRPORT_STATE])
		p->state = nla_get_u8(br[IFLA_BRPORT_STATE]);
	if (br[IFLA_BRPORT_LEARNING])
		p->learning = nla_get_u8(br[IFLA_BRPORT_LEARNING]);
	if (br[IFLA_BRPORT_UNICAST_FLOOD])
		p->ucast_flood = nla_get_u8(br[IFLA_BRPORT_UNICAST_FLOOD]);
}

static int port_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct port_info *p = arg;
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;

	if (h->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_OK;
	ifi = nlmsg_data(h);
	p->found = true;
	p->flags = ifi->ifi_flags;
	if (tb[IFLA_MASTER])
		p->master = (int)nla_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO])
		parse_slave(tb[IFLA_LINKINFO], p);
	return NL_OK;
}

/* A port's bridge settings, as `ip -d link show` has them. */
static int port_read(struct fo_backend *b, int ifindex, struct port_info *p)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_cb *cb;
	int err;

	memset(p, 0, sizeof(*p));
	p->state = p->learning = p->ucast_flood = -1;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, port_cb, p);
	err = nl_send_simple(b->sk, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	if (err >= 0)
		err = nl_recvmsgs(b->sk, cb);
	/* the ACK comes on its own after the reply */
	if (err >= 0)
		err = nl_wait_for_ack(b->sk);
	nl_cb_put(cb);
	if (err < 0)
		return nl_errno(err);
	return p->found ? 0 : -ENODEV;
}

/* Port attributes in one RTM_SETLINK (AF_BRIDGE, IFLA_PROTINFO); -1 leaves
 * one alone.
 */
static int port_set(struct fo_backend *b, int ifindex, int state, int learning, int flood)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
	struct nlattr *pi;
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(RTM_SETLINK, 0);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		goto nla_put_failure;
	pi = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!pi)
		goto nla_put_failure;
	if (state >= 0)
		NLA_PUT_U8(msg, IFLA_BRPORT_STATE, (uint8_t)state);
	if (learning >= 0)
		NLA_PUT_U8(msg, IFLA_BRPORT_LEARNING, (uint8_t)learning);
	if (flood >= 0)
		NLA_PUT_U8(msg, IFLA_BRPORT_UNICAST_FLOOD, (uint8_t)flood);
	nla_nest_end(msg, pi);
	err = nl_send_sync(b->sk, msg);	/* frees msg */
	return nl_errno(err);

nla_put_failure:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* learning and unicast flooding off: only static entries deliver */
static int port_prepare(struct fo_backend *b, int ifindex, const char *name)
{
	struct port_info p;
	int err;

	err = port_read(b, ifindex, &p);
	if (err)
		return err;
	if (!p.is_port || p.master != b->bridge_ifindex) {
		pr_err("bridge: %s is not a port of %s", name, b->cfg.bridge);
		return -EINVAL;
	}
	if (p.learning == 0 && p.ucast_flood == 0)
		return 0;
	err = port_set(b, ifindex, -1, 0, 0);
	if (!err)
		err = port_read(b, ifindex, &p);
	if (!err && (p.learning != 0 || p.ucast_flood != 0))
		err = -EIO;
	if (err)
		pr_err("bridge: %s: learning/flooding off failed: %s", name, strerror(-err));
	return err;
}

static int bridge_open(struct fo_backend *b)
{
	int err;

	b->bridge_ifindex = (int)if_nametoindex(b->cfg.bridge);
	b->primary_ifindex = (int)if_nametoindex(b->cfg.primary_port);
	b->relay_ifindex = (int)if_nametoindex(b->cfg.relay_port);
	if (!b->bridge_ifindex || !b->primary_ifindex || !b->relay_ifindex)
		return -ENODEV;
	err = port_prepare(b, b->primary_ifindex, b->cfg.primary_port);
	if (!err)
		err = port_prepare(b, b->relay_ifindex, b->cfg.relay_port);
	return err;
}

static int bridge_primary_set(struct fo_backend *b, uint32_t mask,
			      const struct fo_vf_attrs *want, uint32_t *applied)
{
	int state = want->link == FO_LINK_DISABLE ? BR_STATE_DISABLED : BR_STATE_FORWARDING;
	struct port_info p;
	int err;

	*applied = mask & FO_VF_MAC;
	if (!(mask & FO_VF_LINK))
		return 0;
	err = port_read(b, b->primary_ifindex, &p);
	if (!err && p.state != state) {
		err = port_set(b, b->primary_ifindex, state, -1, -1);
		/* an admin-down port refuses any state, and is disabled */
		if (err == -ENETDOWN && state == BR_STATE_DISABLED)
			err = 0;
		if (!err)
			err = port_read(b, b->primary_ifindex, &p);
		if (!err && p.state != state)
			err = -EIO;
	}
	if (err) {
		pr_warn("bridge: %s: port state %d: %s", b->cfg.primary_port, state,
			strerror(-err));
		return err;
	}
	*applied |= FO_VF_LINK;
	return 0;
}

/* a bridge port has no spoof-check or trust: the relay may send as the VM */
static int bridge_relay_set(struct fo_backend *b, uint32_t mask,
			    const struct fo_vf_attrs *want, uint32_t *applied)
{
	(void)b;
	(void)want;
	*applied = mask;
	return 0;
}

static int bridge_fdb(struct fo_backend *b, enum fo_path path, bool add)
{
	int port = path == FO_PATH_PRIMARY ? b->primary_ifindex : b->relay_ifindex;

	return add ? nl_fdb_add(b->sk, port, b->cfg.mac, true) :
		     nl_fdb_del(b->sk, port, b->cfg.mac, true);
}

static int bridge_observe(struct fo_backend *b, struct fo_obs *obs)
{
	struct port_info p;
	int n;

	n = port_read(b, b->primary_ifindex, &p);
	if (n)
		return n;
	obs->w.link = p.state == BR_STATE_FORWARDING ? FO_LINK_AUTO : FO_LINK_DISABLE;
	n = nl_fdb_find(b->sk, b->primary_ifindex, b->cfg.mac, true, NULL);
	if (n < 0)
		return n;
	obs->w.fdb_primary = n;
	n = nl_fdb_find(b->sk, b->relay_ifindex, b->cfg.mac, true, NULL);
	if (n < 0)
		return n;
	obs->w.fdb_standby = n;
	obs->valid |= FO_W_LINK | FO_W_FDB_PRI | FO_W_FDB_STBY;
	return 0;
}

/* the relay's port and an overrun: fo_backend_match() */
static int bridge_match(struct fo_backend *b, const struct nl_watch_event *nev,
			struct fo_event *ev)
{
	switch (nev->kind) {
	case NLW_FDB_DEL:
		/* a bridge's entries carry NDA_MASTER, not NTF_MASTER */
		if (!nev->master || memcmp(nev->mac, b->cfg.mac, ETH_ALEN))
			return 0;
		if (nev->ifindex != b->primary_ifindex && nev->ifindex != b->relay_ifindex)
			return 0;
		ev->type = FO_EV_FDB_REMOVED;
		ev->path = nev->ifindex == b->primary_ifindex ? FO_PATH_PRIMARY : FO_PATH_STANDBY;
		return 1;
	case NLW_LINK_NEW:
		/* port state or carrier of the primary's port changed */
		if (nev->ifindex == b->primary_ifindex || nev->ifindex == b->bridge_ifindex) {
			ev->type = FO_EV_VF_CHANGED;
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

/* A packet socket on the primary's port that takes only the guest's own
 * frames: from the VM's MAC, coming in, and not RARPs, which QEMU sends
 * itself for an emulated NIC when a guest resumes (before the guest's
 * driver even has the NIC). Classic BPF, so the kernel drops the rest.
 */
static int bridge_primary_tx_watch(struct fo_backend *b)
{
	const uint8_t *m = b->cfg.mac;
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 7, 0),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ETH_ALEN),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				 (uint32_t)m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3], 0, 5),
		/* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, ETH_ALEN + 4),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)m[4] << 8 | m[5], 0, 3),
		/* 6 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2 * ETH_ALEN),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_RARP, 1, 0),
		/* 8 */ BPF_STMT(BPF_RET | BPF_K, 64),
		/* 9 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = b->primary_ifindex,
	};
	int fd, err;

	/* protocol 0: nothing comes in before the filter is on and the
	 * socket bound to the port
	 */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* What the primary's port received: the guest's frames on its primary,
 * and QEMU's announcements (the watch above tells them apart).
 */
static int bridge_primary_tx(struct fo_backend *b, uint64_t *frames)
{
	struct rtnl_link *link;
	int err;

	err = nl_errno(rtnl_link_get_kernel(b->sk, b->primary_ifindex, NULL, &link));
	if (err)
		return err;
	*frames = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
	rtnl_link_put(link);
	return 0;
}

const struct fo_backend_ops fo_backend_bridge = {
	.name = "bridge",
	.open = bridge_open,
	.primary_set = bridge_primary_set,
	.relay_set = bridge_relay_set,
	.fdb = bridge_fdb,
	.observe = bridge_observe,
	.match = bridge_match,
	.primary_tx_watch = bridge_primary_tx_watch,
	.primary_tx = bridge_primary_tx,
};
