// SPDX-License-Identifier: GPL-2.0
/* libnl glue shared by the netlink users: sockets and error codes (libnl
 * reports its own NLE_* values, the rest of the project errno).
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>

#include <netlink/netlink.h>
#include <netlink/errno.h>

#include "net/nl_util.h"

int nl_route_open(struct nl_sock **sk)
{
	struct nl_sock *s;
	int err;

	s = nl_socket_alloc();
	if (!s)
		return -ENOMEM;
	err = nl_connect(s, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(s);
		return nl_errno(err);
	}
	*sk = s;
	return 0;
}

void nl_route_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

struct nl_sock *nl_notify_alloc(int (*cb)(struct nl_msg *msg, void *arg), void *arg)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return NULL;
	/* (The socket's own callbacks: a fresh nl_cb would check sequence
	 * numbers again.)
	 */
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	return sk;
}

int nl_notify_drain(struct nl_sock *sk)
{
	int err, lost = 0;

	for (;;) {
		err = nl_recvmsgs_default(sk);
		if (err >= 0)
			continue;
		err = nl_errno(err);
		if (err == -EAGAIN || err == -EINTR)
			return lost;
		if (err != -ENOMEM)	/* libnl's name for ENOBUFS */
			return err;
		lost = 1;
	}
}

int nl_errno(int nlerr)
{
	static const int map[] = {
		[NLE_SUCCESS] = 0,
		[NLE_INTR] = EINTR,
		[NLE_BAD_SOCK] = EBADF,
		[NLE_AGAIN] = EAGAIN,
		[NLE_NOMEM] = ENOMEM,
		[NLE_EXIST] = EEXIST,
		[NLE_INVAL] = EINVAL,
		[NLE_RANGE] = ERANGE,
		[NLE_MSGSIZE] = EMSGSIZE,
		[NLE_OPNOTSUPP] = EOPNOTSUPP,
		[NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
		[NLE_OBJ_NOTFOUND] = ENOENT,
		[NLE_NOATTR] = ENOENT,
		[NLE_MISSING_ATTR] = EINVAL,
		[NLE_BUSY] = EBUSY,
		[NLE_NOACCESS] = EACCES,
		[NLE_PERM] = EPERM,
		[NLE_NODEV] = ENODEV,
		[NLE_IMMUTABLE] = EINVAL,
		[NLE_DUMP_INTR] = EINTR,
	};
	int e = nlerr < 0 ? -nlerr : nlerr;

	if (e < (int)(sizeof(map) / sizeof(map[0])) && (map[e] || e == 0))
		return -map[e];
	return -EIO;
}
