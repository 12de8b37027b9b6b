// SPDX-License-Identifier: GPL-2.0
/* vhost-user wire format: receive messages (with SCM_RIGHTS fds) piece by
 * piece without ever waiting, send replies without ever waiting, and check
 * each request's payload size and fd count before anyone parses it.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "vhost_user_msg.h"

/* Payload size rules (VHOST_USER_REQUESTS). Non-negative values are an
 * exact byte count.
 */
enum {
	SZ_ANY = -1,	/* not parsed by us; the device rejects the request */
	SZ_MEM = -2,	/* memory table: 8 + nregions * region */
	SZ_NONE = 0,
	SZ_U64 = sizeof(uint64_t),
	SZ_STATE = sizeof(struct vhost_user_vring_state),
	SZ_ADDR = sizeof(struct vhost_user_vring_addr),
	SZ_LOG = sizeof(struct vhost_user_log),
	SZ_MEM_REG = sizeof(struct vhost_user_mem_reg),
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

#define REQ_RULE(name, code, sz, fd, fn, reply)				\
	[VHOST_USER_##name] = { #name, sz, fd },
static const struct req_rule req_rules[VHOST_USER_MAX_REQUEST] = {
	VHOST_USER_REQUESTS(REQ_RULE)
};
#undef REQ_RULE

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

static void msg_forget_fds(struct vhost_user_msg *m)
{
	unsigned int i;

	m->nfds = 0;
	for (i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;
}

void vhost_user_rx_init(struct vhost_user_rx *rx, struct vhost_user_msg *m)
{
	rx->m = m;
	rx->got = 0;
	msg_forget_fds(m);
}

void vhost_user_rx_next(struct vhost_user_rx *rx)
{
	vhost_user_msg_close_fds(rx->m);
	rx->got = 0;
}

/* Where the next bytes of the message go, and how many it still lacks
 * (0: complete). Reads stop at the message's end, so fds sent with the
 * next message are not taken for this one's.
 */
static size_t rx_space(struct vhost_user_rx *rx, void **dst)
{
	struct vhost_user_msg *m = rx->m;

	if (rx->got < VHOST_USER_HDR_SIZE) {
		*dst = (uint8_t *)&m->hdr + rx->got;
		return VHOST_USER_HDR_SIZE - rx->got;
	}
	*dst = m->payload.raw + (rx->got - VHOST_USER_HDR_SIZE);
	return VHOST_USER_HDR_SIZE + m->hdr.size - rx->got;
}

int vhost_user_rx_read(int sock, struct vhost_user_rx *rx)
{
	VHOST_USER_FDS_CMSG(VHOST_USER_MAX_FDS) cbuf;
	struct vhost_user_msg *m = rx->m;
	int err;

	for (;;) {
		struct iovec iov;
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n;

		if (rx->got >= VHOST_USER_HDR_SIZE &&
		    m->hdr.size > VHOST_USER_PAYLOAD_MAX) {
			pr_err("vhost-user: %s: payload of %u bytes exceeds %u",
			       vhost_user_req_name(m->hdr.request), m->hdr.size,
			       VHOST_USER_PAYLOAD_MAX);
			err = -EBADMSG;
			goto fail;
		}
		iov.iov_len = rx_space(rx, &iov.iov_base);
		if (!iov.iov_len)
			return 1;
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			err = -errno;
			goto fail;
		}
		err = collect_fds(&mh, m);
		if (err)
			goto fail;
		if (n == 0) {
			if (!rx->got)
				return -ECONNRESET;
			pr_err("vhost-user: connection closed mid-message (%u bytes of %s)",
			       rx->got, rx->got < VHOST_USER_HDR_SIZE ? "a header" :
			       vhost_user_req_name(m->hdr.request));
			err = -EBADMSG;
			goto fail;
		}
		rx->got += n;
	}

fail:
	vhost_user_msg_close_fds(m);
	rx->got = 0;
	return err;
}

static int wait_sock(int sock, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int vhost_user_msg_recv(int sock, struct vhost_user_msg *m)
{
	struct vhost_user_rx rx;
	uint64_t t0;
	int err, left;

	vhost_user_rx_init(&rx, m);
	t0 = mono_ms();
	for (;;) {
		err = vhost_user_rx_read(sock, &rx);
		if (err)
			return err < 0 ? err : 0;
		if (!vhost_user_rx_partial(&rx)) {
			err = wait_sock(sock, POLLIN, -1);
			t0 = mono_ms();
			if (err)
				return err;
			continue;
		}
		left = VHOST_USER_MSG_DEADLINE_MS - (int)(mono_ms() - t0);
		err = left > 0 ? wait_sock(sock, POLLIN, left) : -ETIMEDOUT;
		if (err) {
			vhost_user_msg_close_fds(m);
			return err;
		}
	}
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

int vhost_user_fds_attach(struct msghdr *mh, void *buf, size_t size, const int *fds,
			  unsigned int nfds)
{
	struct cmsghdr *c;

	if (!nfds)
		return 0;
	if (CMSG_SPACE(sizeof(int) * nfds) > size)
		return -EINVAL;
	memset(buf, 0, size);
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return 0;
}

/* Write header and payload, the fds riding on the first byte. A request
 * (@wait) may wait for socket space, a reply never does.
 */
static int send_msg(int sock, const struct vhost_user_msg *m,
		    unsigned int nfds, bool wait)
{
	VHOST_USER_FDS_CMSG(VHOST_USER_MAX_FDS) cbuf;
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
		if (!done)	/* cannot fail: nfds checked above */
			vhost_user_fds_attach(&mh, cbuf.buf, sizeof(cbuf), m->fds, nfds);
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			/* A reply is a few bytes: a socket that cannot take
			 * one belongs to a frontend that does not read.
			 */
			if (!wait)
				return -ENOBUFS;
			err = wait_sock(sock, POLLOUT, VHOST_USER_MSG_DEADLINE_MS);
			if (err)
				return err;
			continue;
		}
		done += n;
		/* Half a reply sent: the stream is broken for the frontend. */
		if (done < total && !wait)
			return -ENOBUFS;
	}
	return 0;
}

int vhost_user_msg_reply(int sock, struct vhost_user_msg *m)
{
	m->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	/* Replies we send never pass fds: whatever the request carried is
	 * not ours to hand back.
	 */
	return send_msg(sock, m, 0, false);
}

int vhost_user_msg_send(int sock, const struct vhost_user_msg *m)
{
	return send_msg(sock, m, m->nfds, true);
}
