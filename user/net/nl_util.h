/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the libnl users (failover agent, netlink watch): a
 * route socket and libnl's error codes as errno values.
 */
#ifndef VXDP_NL_UTIL_H
#define VXDP_NL_UTIL_H

struct nl_sock;
struct nl_msg;

/* A connected NETLINK_ROUTE socket in blocking mode, for requests that
 * wait for their ACK. 0 or negative errno.
 */
int nl_route_open(struct nl_sock **sk);
void nl_route_close(struct nl_sock *sk);

/* A socket for notifications (not connected yet): each valid message goes
 * to @cb with @arg, with no sequence check (notifications carry none of
 * ours). NULL when out of memory.
 */
struct nl_sock *nl_notify_alloc(int (*cb)(struct nl_msg *msg, void *arg), void *arg);
/* Read everything non-blocking @sk has queued through its callback. 0, 1
 * when notifications were lost (ENOBUFS: re-read what is followed), or a
 * negative errno.
 */
int nl_notify_drain(struct nl_sock *sk);

/* libnl's -NLE_* (or a negative errno) as a negative errno. */
int nl_errno(int nlerr);

#endif
