/* SPDX-License-Identifier: GPL-2.0 */
/* The listening unix socket a vhost-user frontend (QEMU) connects to. */
#ifndef VXDP_VHOST_USER_SOCK_H
#define VXDP_VHOST_USER_SOCK_H

#include <sys/types.h>

/* Bind and listen (non-blocking) on @path. A stale socket file (nobody listening) is
 * replaced; a live one is -EADDRINUSE; a missing directory -ENOENT. The
 * socket gets @owner/@group (-1: unchanged) and @perm (0: umask) before it
 * listens, so nobody else can connect in between. Each failure is logged
 * with the reason. Returns the fd or a negative errno.
 */
int vhost_user_sock_listen(const char *path, uid_t owner, gid_t group,
			   mode_t perm);

/* Connect to a frontend listening on @path (client mode), without waiting:
 * a full backlog is -EAGAIN. Returns the (non-blocking) fd, or a negative
 * errno without logging: the caller retries.
 */
int vhost_user_sock_connect(const char *path);

/* Why vhost_user_sock_connect() error @err (negative) may be, for the
 * log: "" when there is nothing to add. EACCES is the one people meet: QEMU
 * under libvirt runs as its own user and creates the socket as such.
 */
const char *vhost_user_sock_connect_hint(int err);

/* -ENOENT (logged) when the directory @path would live in is missing. */
int vhost_user_sock_check_dir(const char *path);

/* Accept one pending frontend connection, non-blocking like every socket
 * the relay reads: the fd, -EAGAIN when none is pending, or a negative errno.
 */
int vhost_user_sock_accept(int listen_fd);

#endif
