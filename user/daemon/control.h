/* SPDX-License-Identifier: GPL-2.0 */
/* The control socket: a unix stream socket on the main thread's loop that
 * serves the control protocol (ctl_proto.h) to vxdpctl, never blocking on a
 * client: non-blocking I/O, bounded requests, a deadline per request.
 */
#ifndef VXDP_CONTROL_H
#define VXDP_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon.h"
#include "util/uring_loop.h"

struct control;
struct fo_agent;

/* Listen on @path (its directory created 0755 if missing; a stale socket
 * replaced, a live one is -EADDRINUSE), mode 0660, group @group (-1: the
 * daemon's); @agent answers the failover commands. 0 or a negative errno
 * (logged).
 */
int control_open(struct control **cp, struct uloop *loop,
		 struct vxdp_daemon *d, struct fo_agent *agent, const char *path,
		 gid_t group, const char *version);
/* Drop every client, close and remove the socket. */
void control_close(struct control *c);

#endif
