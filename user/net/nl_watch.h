/* SPDX-License-Identifier: GPL-2.0 */
/* Link and FDB notifications (RTNLGRP_LINK, RTNLGRP_NEIGH) on a
 * non-blocking netlink socket: the owner polls nl_watch_fd() (an event
 * loop's poll source) and calls nl_watch_dispatch() when it is readable.
 * Generic: it reports what the kernel said, and leaves the meaning to its
 * users (the failover agent, VF lifecycle).
 */
#ifndef VXDP_NL_WATCH_H
#define VXDP_NL_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

enum nl_watch_kind {
	NLW_LINK_NEW,		/* RTM_NEWLINK: a link appeared or changed */
	NLW_LINK_DEL,		/* RTM_DELLINK */
	NLW_FDB_NEW,		/* RTM_NEWNEIGH, AF_BRIDGE */
	NLW_FDB_DEL,		/* RTM_DELNEIGH, AF_BRIDGE */
	NLW_OVERRUN,		/* notifications were lost: re-read everything */
};

struct nl_watch_event {
	enum nl_watch_kind kind;
	int ifindex;
	/* links */
	char ifname[IF_NAMESIZE];
	unsigned int flags;	/* IFF_*: IFF_UP, IFF_LOWER_UP (carrier) */
	int master;		/* IFLA_MASTER / NDA_MASTER (a bridge's own FDB
				 * entries: they carry no NTF_MASTER), 0 if none
				 */
	/* A VF change notifies a bare RTM_NEWLINK without IFLA_VFINFO_LIST:
	 * read the PF again with RTEXT_FILTER_VF to learn what changed.
	 */
	bool has_vfinfo;
	/* FDB entries */
	uint8_t mac[6];
	uint8_t ntf_flags;	/* NTF_SELF, NTF_MASTER, ... */
	uint16_t state;		/* NUD_NOARP (static), NUD_PERMANENT, ... */
};

typedef void (*nl_watch_fn)(const struct nl_watch_event *ev, void *arg);

struct nl_watch;

/* 0 or negative errno; @fn is called from nl_watch_dispatch() only. */
int nl_watch_open(struct nl_watch **w, nl_watch_fn fn, void *arg);
int nl_watch_fd(const struct nl_watch *w);
/* Handle everything queued; the number of events reported, or negative
 * errno. A lost notification (ENOBUFS) is reported as NLW_OVERRUN.
 */
int nl_watch_dispatch(struct nl_watch *w);
void nl_watch_close(struct nl_watch *w);

#endif
