/* SPDX-License-Identifier: GPL-2.0 */
/* ethtool's netlink notifications (the "ethtool" generic netlink family's
 * "monitor" group), for a channel count change: the kernel says it as the
 * change ends, while the link notification a driver's reconfiguration
 * causes may wait in the kernel's link watch for up to a second.
 */
#ifndef VXDP_ETHTOOL_WATCH_H
#define VXDP_ETHTOOL_WATCH_H

#include <net/if.h>

struct ethtool_watch;

/* @ifname may be empty (the notification did not name the link). */
typedef void (*ethtool_watch_fn)(int ifindex, const char *ifname, void *arg);

/* 0 or a negative errno (-ENOENT: the kernel has no ethtool netlink, before
 * 5.6). @fn is called from ethtool_watch_dispatch() only, once per channel
 * change notification.
 */
int ethtool_watch_open(struct ethtool_watch **w, ethtool_watch_fn fn, void *arg);
int ethtool_watch_fd(const struct ethtool_watch *w);
/* Handle everything queued: the number of changes reported, or a negative
 * errno. Lost notifications (ENOBUFS) are reported as one with ifindex 0.
 */
int ethtool_watch_dispatch(struct ethtool_watch *w);
void ethtool_watch_close(struct ethtool_watch *w);

#endif
