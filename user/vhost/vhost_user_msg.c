// SPDX-License-Identifier: GPL-2.0
/* vhost-user wire format: receive/send messages with SCM_RIGHTS fds and
 * check each request's payload size and fd count before anyone parses it.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost_user_msg.h"

/* Once the first byte of a message arrived the rest must follow promptly:
 * a frontend stalling mid-message must not stall the daemon.
 */
#define VHOST_USER_MSG_TIMEOUT_MS 1000

/* Payload size rules. Non-negative values are an exact byte count. */
enum {
	SZ_ANY = -1,	/* not parsed by us; the device rejects the request */
	SZ_MEM = -2,	/* memory table: 8 + nregions * region */
};

/* How many fds a request carries. */
enum fd_rule {
	FD_NONE,
	FD_ONE,
	FD_VRING,	/* one, unless the NOFD bit of the u64 says none */
	FD_MEM,		/* one per memory region */
	FD_OPT,		/* none or one, never used; the device closes it */
	FD_ANY,		/* not parsed by us; the device closes them */
};

struct req_rule {
	const char *name;
	int size;
	enum fd_rule fds;
};

#define U64	((int)sizeof(uint64_t))
#define STATE	((int)sizeof(struct vhost_user_vring_state))
#define MEM_REG	((int)sizeof(struct vhost_user_mem_reg))

#define RULE(req, sz, fd) [VHOST_USER_##req] = { #req, sz, fd }

static const struct req_rule req_rules[VHOST_USER_MAX_REQUEST] = {
	RULE(NONE,			SZ_ANY,	FD_ANY),
	RULE(GET_FEATURES,		0,	FD_NONE),
	RULE(SET_FEATURES,		U64,	FD_NONE),
	RULE(SET_OWNER,			0,	FD_NONE),
	RULE(RESET_OWNER,		0,	FD_NONE),
	RULE(SET_MEM_TABLE,		SZ_MEM,	FD_MEM),
	RULE(SET_LOG_BASE,		(int)sizeof(struct vhost_user_log), FD_ONE),
	RULE(SET_LOG_FD,		0,	FD_ONE),
	RULE(SET_VRING_NUM,		STATE,	FD_NONE),
	RULE(SET_VRING_ADDR,		(int)sizeof(struct vhost_user_vring_addr), FD_NONE),
	RULE(SET_VRING_BASE,		STATE,	FD_NONE),
	RULE(GET_VRING_BASE,		STATE,	FD_NONE),
	RULE(SET_VRING_KICK,		U64,	FD_VRING),
	RULE(SET_VRING_CALL,		U64,	FD_VRING),
	RULE(SET_VRING_ERR,		U64,	FD_VRING),
	RULE(GET_PROTOCOL_FEATURES,	0,	FD_NONE),
	RULE(SET_PROTOCOL_FEATURES,	U64,	FD_NONE),
	RULE(GET_QUEUE_NUM,		0,	FD_NONE),
	RULE(SET_VRING_ENABLE,		STATE,	FD_NONE),
	RULE(SEND_RARP,			U64,	FD_NONE),
	RULE(NET_SET_MTU,		U64,	FD_NONE),
	RULE(SET_BACKEND_REQ_FD,	0,	FD_ONE),
	RULE(IOTLB_MSG,			SZ_ANY,	FD_ANY),
	RULE(SET_VRING_ENDIAN,		SZ_ANY,	FD_ANY),
	RULE(GET_CONFIG,		SZ_ANY,	FD_ANY),
	RULE(SET_CONFIG,		SZ_ANY,	FD_ANY),
	RULE(CREATE_CRYPTO_SESSION,	SZ_ANY,	FD_ANY),
	RULE(CLOSE_CRYPTO_SESSION,	SZ_ANY,	FD_ANY),
	RULE(POSTCOPY_ADVISE,		SZ_ANY,	FD_ANY),
	RULE(POSTCOPY_LISTEN,		SZ_ANY,	FD_ANY),
	RULE(POSTCOPY_END,		SZ_ANY,	FD_ANY),
	RULE(GET_INFLIGHT_FD,		SZ_ANY,	FD_ANY),
	RULE(SET_INFLIGHT_FD,		SZ_ANY,	FD_ANY),
	RULE(GPU_SET_SOCKET,		SZ_ANY,	FD_ANY),
	RULE(RESET_DEVICE,		0,	FD_NONE),
	RULE(VRING_KICK,		SZ_ANY,	FD_ANY),
	RULE(GET_MAX_MEM_SLOTS,		0,	FD_NONE),
	RULE(ADD_MEM_REG,		MEM_REG, FD_ONE),
	/* The spec says no fd; QEMU before 7.1 and libvhost-user send the
	 * region's, which it lets backends accept and ignore.
	 */
	RULE(REM_MEM_REG,		MEM_REG, FD_OPT),
	RULE(SET_STATUS,		U64,	FD_NONE),
	RULE(GET_STATUS,		0,	FD_NONE),
};

static const struct req_rule *req_rule(uint32_t req)
{
	if (req >= VHOST_USER_MAX_REQUEST || !req_rules[req].name)
		return NULL;
	return &req_rules[req];
}

const char *vhost_user_req_name(uint32_t req)
{
	const struct req_rule *r = req_rule(req);

	return r ? r->name : "UNKNOWN";
}

void vhost_user_msg_close_fds(struct vhost_user_msg *m)
{
	unsigned int i;

	for (i = 0; i < m->nfds && i < VHOST_USER_MAX_FDS; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

/* Take the fds out of every SCM_RIGHTS cmsg. Anything that does not fit in
 * @m is closed at once; returns -EBADMSG then (the kernel's own truncation,
 * MSG_CTRUNC, is reported the same way).
 */
static int collect_fds(struct msghdr *mh, struct vhost_user_msg *m)
{
	struct cmsghdr *c;
	int err = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (m->nfds < VHOST_USER_MAX_FDS) {
				m->fds[m->nfds++] = fd;
			} else {
				close(fd);
				err = -EBADMSG;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		err = -EBADMSG;
	if (err)
		pr_err("vhost-user: message carries more than %u fds",
		       VHOST_USER_MAX_FDS);
	return err;
}

static int wait_sock(int sock, short events)
{
	struct pollfd pfd = { .fd = sock, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, VHOST_USER_MSG_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* Read exactly @len bytes into @buf, collecting any fds that come along.
 * @started says whether part of this message was already read: only a
 * message that has not begun may block on the socket's own terms, report
 * -EAGAIN or end in an orderly EOF.
 */
static int recv_exact(int sock, void *buf, size_t len, bool started,
		      struct vhost_user_msg *m)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	size_t got = 0;
	int err;

	while (got < len) {
		struct iovec iov = {
			.iov_base = (char *)buf + got,
			.iov_len = len - got,
		};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		bool mid = started || got;
		ssize_t n;

		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (mid ? MSG_DONTWAIT : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && mid) {
				err = wait_sock(sock, POLLIN);
				if (err)
					return err;
				continue;
			}
			return -errno;
		}
		err = collect_fds(&mh, m);
		if (err)
			return err;
		if (n == 0)
			return mid ? -EBADMSG : -ECONNRESET;
		got += n;
	}
	return 0;
}

int vhost_user_msg_recv(int sock, struct vhost_user_msg *m)
{
	unsigned int i;
	int err;

	m->nfds = 0;
	for (i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;

	err = recv_exact(sock, &m->hdr, VHOST_USER_HDR_SIZE, false, m);
	if (err)
		goto fail;
	if (m->hdr.size > VHOST_USER_PAYLOAD_MAX) {
		pr_err("vhost-user: %s: payload of %u bytes exceeds %u",
		       vhost_user_req_name(m->hdr.request), m->hdr.size,
		       VHOST_USER_PAYLOAD_MAX);
		err = -EBADMSG;
		goto fail;
	}
	err = recv_exact(sock, m->payload.raw, m->hdr.size, true, m);
	if (err)
		goto fail;
	return 0;

fail:
	if (err == -EBADMSG || err == -ETIMEDOUT)
		pr_err("vhost-user: malformed or truncated message (%s)",
		       strerror(-err));
	vhost_user_msg_close_fds(m);
	return err;
}

static unsigned int expected_fds(const struct req_rule *r,
				 const struct vhost_user_msg *m)
{
	switch (r->fds) {
	case FD_ONE:
		return 1;
	case FD_VRING:
		return (m->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
	case FD_MEM:
		return m->payload.memory.nregions;
	default:
		return 0;
	}
}

int vhost_user_msg_validate(const struct vhost_user_msg *m)
{
	const struct req_rule *r = req_rule(m->hdr.request);
	const char *name = vhost_user_req_name(m->hdr.request);
	uint32_t size = m->hdr.size;

	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		pr_err("vhost-user: %s: bad version in flags 0x%x", name,
		       m->hdr.flags);
		return -EBADMSG;
	}
	if (size > VHOST_USER_PAYLOAD_MAX || m->nfds > VHOST_USER_MAX_FDS)
		return -EBADMSG;
	/* Unknown and unimplemented requests are refused by the device, which
	 * closes whatever fds they carry.
	 */
	if (!r || r->size == SZ_ANY)
		return 0;

	if (r->size == SZ_MEM) {
		uint32_t n;

		if (size < offsetof(struct vhost_user_memory, regions)) {
			pr_err("vhost-user: %s: %u bytes is too short", name, size);
			return -EBADMSG;
		}
		n = m->payload.memory.nregions;
		if (n < 1 || n > VHOST_USER_MAX_REGIONS) {
			pr_err("vhost-user: %s: %u regions (1..%u allowed)", name,
			       n, VHOST_USER_MAX_REGIONS);
			return -EBADMSG;
		}
		if (size != offsetof(struct vhost_user_memory, regions) +
			    n * sizeof(struct vhost_user_region)) {
			pr_err("vhost-user: %s: %u bytes for %u regions", name,
			       size, n);
			return -EBADMSG;
		}
	} else if (size != (uint32_t)r->size) {
		pr_err("vhost-user: %s: payload is %u bytes, expected %d", name,
		       size, r->size);
		return -EBADMSG;
	}

	if (r->fds == FD_OPT) {
		if (m->nfds > 1) {
			pr_err("vhost-user: %s: carries %u fds, expected at most 1",
			       name, m->nfds);
			return -EBADMSG;
		}
	} else if (r->fds != FD_ANY && m->nfds != expected_fds(r, m)) {
		pr_err("vhost-user: %s: carries %u fds, expected %u", name,
		       m->nfds, expected_fds(r, m));
		return -EBADMSG;
	}
	return 0;
}

/* Write header and payload, the fds riding on the first byte. A reply
 * needs no more than one sendmsg in practice; the loop covers a socket
 * buffer that is nearly full.
 */
static int send_msg(int sock, const struct vhost_user_msg *m,
		    unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	size_t total, done = 0;
	int err;

	if (m->hdr.size > VHOST_USER_PAYLOAD_MAX || nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	total = VHOST_USER_HDR_SIZE + m->hdr.size;

	while (done < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		size_t off = done;
		ssize_t n;

		if (off < VHOST_USER_HDR_SIZE) {
			iov[mh.msg_iovlen].iov_base = (char *)&m->hdr + off;
			iov[mh.msg_iovlen++].iov_len = VHOST_USER_HDR_SIZE - off;
			off = 0;
		} else {
			off -= VHOST_USER_HDR_SIZE;
		}
		if (m->hdr.size) {
			iov[mh.msg_iovlen].iov_base = (char *)m->payload.raw + off;
			iov[mh.msg_iovlen++].iov_len = m->hdr.size - off;
		}
		if (!done && nfds) {
			struct cmsghdr *c;

			memset(&cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), m->fds, sizeof(int) * nfds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | (done ? MSG_DONTWAIT : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				err = wait_sock(sock, POLLOUT);
				if (err)
					return err;
				continue;
			}
			return -errno;
		}
		done += n;
	}
	return 0;
}

int vhost_user_msg_reply(int sock, struct vhost_user_msg *m)
{
	m->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	/* Replies we send never pass fds: whatever the request carried is
	 * not ours to hand back.
	 */
	return send_msg(sock, m, 0);
}

int vhost_user_msg_send(int sock, const struct vhost_user_msg *m)
{
	return send_msg(sock, m, m->nfds);
}
