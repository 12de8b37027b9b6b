/* SPDX-License-Identifier: GPL-2.0 */
/* The frontend's ("QEMU's") side of the vhost-user tests: messages to send,
 * built in one static buffer, and whether the backend replied.
 */
#ifndef VXDP_FRONTEND_H
#define VXDP_FRONTEND_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vhost/vhost_user_msg.h"

/* Big: off the stack. The next msg*() overwrites it. */
static struct vhost_user_msg fmsg;

static inline struct vhost_user_msg *msg(uint32_t req, uint32_t flags, uint32_t size)
{
	memset(&fmsg, 0, sizeof(fmsg));
	fmsg.hdr.request = req;
	fmsg.hdr.flags = VHOST_USER_VERSION | flags;
	fmsg.hdr.size = size;
	return &fmsg;
}

static inline struct vhost_user_msg *msg_u64(uint32_t req, uint32_t flags, uint64_t v)
{
	struct vhost_user_msg *m = msg(req, flags, sizeof(uint64_t));

	m->payload.u64 = v;
	return m;
}

/* Has the backend written something back on @sock (without waiting)? */
static inline bool reply_pending(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

#endif
