/* SPDX-License-Identifier: GPL-2.0 */
/* The listening unix socket a vhost-user frontend (QEMU) connects to. */
#ifndef VXDP_VHOST_USER_SOCK_H
#define VXDP_VHOST_USER_SOCK_H

/* Bind and listen on @path. A stale socket file (nobody listening) is
 * replaced; a live one is -EADDRINUSE; a missing directory -ENOENT. Each
 * failure is logged with the reason. Returns the fd or a negative errno.
 */
int vhost_user_sock_listen(const char *path);

/* Accept one frontend connection, with send/receive timeouts so that a
 * frontend stalling mid-message cannot stall the daemon for long.
 */
int vhost_user_sock_accept(int listen_fd);

#endif
