// SPDX-License-Identifier: GPL-2.0
/* vxdp-hostile's frontend helpers: sockets, vhost-user requests and replies
 * written here rather than with the daemon's message layer (the harness must
 * judge any version of it), guest memory and the two rings of a frontend.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "hostile.h"
#include "vhost/vhost_user_sock.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void hostile_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void hostile_log(const char *fmt, ...)
{
	va_list ap;

	fputs("vxdp-hostile: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int fe_connect(const char *path)
{
	/* The socket layer is not under test: the daemon's own connect. */
	return vhost_user_sock_connect(path);
}

int fe_connect_wait(const char *path, unsigned int timeout_ms)
{
	uint64_t t0 = now_ns();
	int fd;

	for (;;) {
		fd = fe_connect(path);
		if (fd >= 0 || (fd != -ECONNREFUSED && fd != -ENOENT && fd != -EAGAIN))
			return fd;
		if (ms_since(t0) >= timeout_ms)
			return fd;
		sleep_ms(5);
	}
}

int fe_connect_served(const char *path, unsigned int timeout_ms)
{
	uint64_t t0 = now_ns(), f;

	for (;;) {
		int fd = fe_connect_wait(path, timeout_ms);

		if (fd < 0)
			return fd;
		if (!fe_get_u64(fd, VHOST_USER_GET_FEATURES, &f, 500))
			return fd;
		close(fd);
		if (ms_since(t0) >= timeout_ms)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
}

int fe_listen(const char *path)
{
	/* QEMU's side of client mode; the socket layer is not under test */
	return vhost_user_sock_listen(path, (uid_t)-1, (gid_t)-1, 0);
}

int fe_accept(int lfd, unsigned int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	uint64_t t0 = now_ns();
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (ms_since(t0) >= timeout_ms)
			return -ETIMEDOUT;
		poll(&p, 1, 10);
	}
}

ssize_t fe_send_raw(int sock, const void *buf, size_t len, const int *fds,
		    unsigned int nfds)
{
	VHOST_USER_FDS_CMSG(16) cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (vhost_user_fds_attach(&mh, cbuf.buf, sizeof(cbuf), fds, nfds))
		return -EINVAL;
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds,
	    unsigned int timeout_ms)
{
	uint8_t buf[VHOST_USER_HDR_SIZE + VHOST_USER_PAYLOAD_MAX];
	struct vhost_user_hdr h = {
		.request = req,
		.flags = VHOST_USER_VERSION | flags,
		.size = size,
	};
	size_t len = VHOST_USER_HDR_SIZE + size, done = 0;
	uint64_t t0 = now_ns();

	if (size > VHOST_USER_PAYLOAD_MAX)
		return -EINVAL;
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + sizeof(h), payload, size);
	while (done < len) {
		struct pollfd p = { .fd = sock, .events = POLLOUT };
		ssize_t n = fe_send_raw(sock, buf + done, len - done,
					done ? NULL : fds, done ? 0 : nfds);

		if (n > 0) {
			done += n;
			continue;
		}
		if (n != -EAGAIN)
			return n;
		if (ms_since(t0) >= timeout_ms)
			return -ETIMEDOUT;
		poll(&p, 1, 10);
	}
	return 0;
}

/* Read exactly @len bytes by @deadline (ns). */
static int recv_all(int sock, void *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n = recv(sock, (char *)buf + got, len - got, MSG_DONTWAIT);
		int64_t left;

		if (n > 0) {
			got += n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		left = (int64_t)(deadline - now_ns()) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&p, 1, left > 100 ? 100 : (int)left + 1);
	}
	return 0;
}

int fe_recv(int sock, struct vhost_user_msg *m, unsigned int timeout_ms)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;
	int err;

	m->nfds = 0;
	err = recv_all(sock, &m->hdr, VHOST_USER_HDR_SIZE, deadline);
	if (err)
		return err;
	if (m->hdr.size > VHOST_USER_PAYLOAD_MAX)
		return -EBADMSG;
	return recv_all(sock, m->payload.raw, m->hdr.size, deadline);
}

int fe_get_u64(int sock, uint32_t req, uint64_t *val, unsigned int timeout_ms)
{
	struct vhost_user_msg m;
	uint64_t t0 = now_ns();
	int err;

	err = fe_send(sock, req, 0, NULL, 0, NULL, 0, timeout_ms);
	if (err)
		return err;
	err = fe_recv(sock, &m, timeout_ms - ms_since(t0) > 0 ?
		      timeout_ms - (unsigned int)ms_since(t0) : 1);
	if (err)
		return err;
	if (m.hdr.request != req || m.hdr.size != sizeof(uint64_t) ||
	    !(m.hdr.flags & VHOST_USER_REPLY_MASK))
		return -EBADMSG;
	*val = m.payload.u64;
	return 0;
}

bool fe_closed(int sock, unsigned int timeout_ms)
{
	uint64_t t0 = now_ns();
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (n > 0)
			continue;
		if (ms_since(t0) >= timeout_ms)
			return false;
		poll(&p, 1, 10);
	}
}

/* ---- a frontend with memory and rings ---- */

unsigned int fe_dev_hdr_len(const struct fe_dev *d)
{
	return (d->features & ((1ull << VIRTIO_F_VERSION_1) |
			       (1ull << VIRTIO_NET_F_MRG_RXBUF))) ?
		sizeof(struct virtio_net_hdr_mrg_rxbuf) :
		sizeof(struct virtio_net_hdr);
}

int fe_dev_req(struct fe_dev *d, uint32_t req, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds)
{
	bool ack = d->protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	int err;

	err = fe_send(d->sock, req, ack ? VHOST_USER_NEED_REPLY_MASK : 0,
		      payload, size, fds, nfds, 1000);
	if (err || !ack)
		return err;
	err = fe_recv(d->sock, &d->r, 2000);
	if (err)
		return err;
	if (d->r.hdr.request != req || d->r.hdr.size != sizeof(uint64_t))
		return -EBADMSG;
	return d->r.payload.u64 ? 1 : 0;
}

int fe_dev_state(struct fe_dev *d, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vhost_user_vring_state st = { idx, num };

	return fe_dev_req(d, req, &st, sizeof(st), NULL, 0);
}

static int dev_u64(struct fe_dev *d, uint32_t req, uint64_t v, const int *fd)
{
	return fe_dev_req(d, req, &v, sizeof(v), fd, fd ? 1 : 0);
}

static void dev_reset(struct fe_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->sock = d->memfd = -1;
	d->kick[0] = d->kick[1] = d->call[0] = d->call[1] = -1;
}

int fe_dev_hello(struct fe_dev *d, int sock, const struct fe_cfg *cfg,
		 unsigned int timeout_ms)
{
	uint64_t offered;
	int err;

	dev_reset(d);
	d->sock = sock;
	if (cfg)
		d->cfg = *cfg;
	if (!d->cfg.features)
		d->cfg.features = 1ull << VIRTIO_F_VERSION_1;
	if (!d->cfg.num)
		d->cfg.num = FE_RING_NUM;
	if (!d->cfg.mem_size)
		d->cfg.mem_size = FE_MEM_SIZE;
	err = fe_get_u64(sock, VHOST_USER_GET_FEATURES, &offered, timeout_ms);
	if (err)
		return err;
	d->features = d->cfg.features & offered;
	if (d->cfg.protocol && (offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
		d->features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
		err = fe_get_u64(sock, VHOST_USER_GET_PROTOCOL_FEATURES, &offered,
				 timeout_ms);
		if (err)
			return err;
		err = dev_u64(d, VHOST_USER_SET_PROTOCOL_FEATURES,
			      d->cfg.protocol & offered, NULL);
		if (err)
			return err;
		d->protocol = d->cfg.protocol & offered;
	}
	err = fe_dev_req(d, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
	return err > 0 ? -EPROTO : err;
}

static int dev_memory(struct fe_dev *d)
{
	size_t size = d->cfg.mem_size;

	d->memfd = memfd_create("vxdp-hostile-guest", MFD_CLOEXEC |
				(d->cfg.hugetlb ? MFD_HUGETLB : 0));
	if (d->memfd < 0 || ftruncate(d->memfd, size))
		return -errno;
	d->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	guest_mem_init(&d->gm);
	return guest_mem_add_ptr(&d->gm, 0, size, FE_UVA, d->mem);
}

/* Vring @q: the driver's side, then the relay's. */
static int dev_ring(struct fe_dev *d, unsigned int q)
{
	struct vhost_user_vring_addr a = {
		.index = q,
		.desc_user_addr = FE_UVA + FE_RING_GPA(q),
		.avail_user_addr = FE_UVA + FE_RING_GPA(q) + 0x4000,
		.used_user_addr = FE_UVA + FE_RING_GPA(q) + 0x5000,
	};
	struct gd_layout lay = {
		.desc_uva = a.desc_user_addr,
		.avail_uva = a.avail_user_addr,
		.used_uva = a.used_user_addr,
		.buf_gpa = FE_BUF_GPA(q, 0),
		.buf_end = FE_BUF_GPA(q, FE_RING_NUM),
	};
	/* A packed ring's base: avail and used from slot 0, wrap counters 1. */
	uint32_t base = d->cfg.packed ? 0x80008000u : 0;
	bool indirect = d->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	int err;

	if (d->cfg.num > FE_RING_MAX)
		return -EINVAL;
	d->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick[q] < 0 || d->call[q] < 0)
		return -errno;
	err = d->cfg.packed ?
	      pdrv_setup(&d->pq[q], &d->gm, &lay, d->cfg.num, base, false, indirect) :
	      sdrv_setup(&d->q[q], &d->gm, &lay, d->cfg.num, 0, false, indirect);
	if (err)
		return -EINVAL;
	err = fe_dev_state(d, VHOST_USER_SET_VRING_NUM, q, d->cfg.num);
	if (!err)
		err = fe_dev_state(d, VHOST_USER_SET_VRING_BASE, q, base);
	if (!err)
		err = fe_dev_req(d, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	if (!err)
		err = dev_u64(d, VHOST_USER_SET_VRING_CALL, q, &d->call[q]);
	if (!err)
		err = dev_u64(d, VHOST_USER_SET_VRING_KICK, q, &d->kick[q]);
	if (!err && (d->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		err = fe_dev_state(d, VHOST_USER_SET_VRING_ENABLE, q, 1);
	return err > 0 ? -EPROTO : err;
}

int fe_dev_rings(struct fe_dev *d)
{
	struct vhost_user_memory mt = { .nregions = 1 };
	unsigned int q;
	uint64_t f;
	int err;

	err = dev_memory(d);
	if (err)
		return err;
	mt.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = 0, .memory_size = d->cfg.mem_size,
		.userspace_addr = FE_UVA, .mmap_offset = 0,
	};
	err = dev_u64(d, VHOST_USER_SET_FEATURES, d->features, NULL);
	if (!err)
		err = fe_dev_req(d, VHOST_USER_SET_MEM_TABLE, &mt,
				 offsetof(struct vhost_user_memory, regions) +
				 sizeof(mt.regions[0]), &d->memfd, 1);
	for (q = d->cfg.tx_only ? 1 : 0; q < 2 && !err; q++)
		err = dev_ring(d, q);
	if (err)
		return err > 0 ? -EPROTO : err;
	/* A round trip: every request above was handled. */
	return fe_get_u64(d->sock, VHOST_USER_GET_FEATURES, &f, 2000);
}

int fe_dev_start(struct fe_dev *d, int sock, const struct fe_cfg *cfg,
		 unsigned int timeout_ms)
{
	int err = fe_dev_hello(d, sock, cfg, timeout_ms);

	return err ? err : fe_dev_rings(d);
}

int fe_dev_open(struct fe_dev *d, const char *path, const struct fe_cfg *cfg,
		unsigned int timeout_ms)
{
	uint64_t t0 = now_ns();
	int sock, err;

	/* A relay still tearing the previous frontend down refuses (closes)
	 * this one: connect again.
	 */
	do {
		sock = fe_connect_wait(path, timeout_ms);
		if (sock < 0)
			return sock;
		err = fe_dev_start(d, sock, cfg, timeout_ms);
		if (err)
			fe_dev_close(d);
	} while (err == -ECONNRESET && ms_since(t0) < timeout_ms);
	return err;
}

void fe_dev_close(struct fe_dev *d)
{
	unsigned int q;

	if (d->sock >= 0)
		close(d->sock);
	for (q = 0; q < 2; q++) {
		if (d->kick[q] >= 0)
			close(d->kick[q]);
		if (d->call[q] >= 0)
			close(d->call[q]);
	}
	if (d->mem)
		munmap(d->mem, d->cfg.mem_size);
	if (d->memfd >= 0)
		close(d->memfd);
	dev_reset(d);
}

bool fe_dev_dropped(struct fe_dev *d, unsigned int timeout_ms)
{
	return fe_closed(d->sock, timeout_ms);
}

void fe_dev_kick(struct fe_dev *d, unsigned int q)
{
	uint64_t one = 1;

	if (write(d->kick[q], &one, sizeof(one)) < 0)
		hostile_log("kick: %s", strerror(errno));
}

void fe_dev_fill_rx(struct fe_dev *d)
{
	struct sdrv *rx = &d->q[0];
	uint16_t i;

	/* Descriptor i always holds buffer i: a used id is posted again as
	 * it is.
	 */
	for (i = 0; i < FE_RING_NUM; i++) {
		sdrv_set_desc(rx->desc, i, FE_BUF_GPA(0, i), FE_BUF_SIZE,
			      VRING_DESC_F_WRITE, 0);
		sdrv_post(rx, i);
	}
	sdrv_kick(rx);
	fe_dev_kick(d, 0);
}

int fe_dev_send(struct fe_dev *d, const void *frame, uint32_t len)
{
	struct sdrv *tx = &d->q[1];
	unsigned int hl = fe_dev_hdr_len(d);
	uint16_t id, i;
	uint32_t ulen;
	uint8_t *buf;

	/* Reap what the relay sent; in flight are avail_idx - last_used. */
	while (sdrv_used(tx, &id, &ulen))
		;
	if ((uint16_t)(tx->avail_idx - tx->last_used) >= FE_RING_NUM)
		return -ENOSPC;
	if (len + hl > FE_BUF_SIZE)
		return -EINVAL;
	i = d->tx_next++ % FE_RING_NUM;
	buf = d->mem + FE_BUF_GPA(1, i);
	memset(buf, 0, hl);
	memcpy(buf + hl, frame, len);
	sdrv_set_desc(tx->desc, i, FE_BUF_GPA(1, i), hl + len, 0, 0);
	sdrv_add(tx, i);
	fe_dev_kick(d, 1);
	return 0;
}

int fe_dev_recv(struct fe_dev *d, bool (*match)(const uint8_t *frame,
		uint32_t len, void *arg), void *arg, unsigned int timeout_ms)
{
	struct sdrv *rx = &d->q[0];
	unsigned int hl = fe_dev_hdr_len(d);
	uint64_t t0 = now_ns();
	bool found = false;

	for (;;) {
		struct pollfd p = { .fd = d->call[0], .events = POLLIN };
		bool posted = false;
		uint64_t cnt;
		uint32_t len;
		uint16_t id;
		double left;

		while (sdrv_used(rx, &id, &len)) {
			if (id < FE_RING_NUM && len > hl && len <= FE_BUF_SIZE &&
			    match(d->mem + FE_BUF_GPA(0, id) + hl, len - hl, arg))
				found = true;
			if (id < FE_RING_NUM) {
				sdrv_post(rx, id);
				posted = true;
			}
		}
		if (posted) {
			sdrv_kick(rx);
			fe_dev_kick(d, 0);
		}
		if (found)
			return 0;
		left = timeout_ms - ms_since(t0);
		if (left <= 0)
			return -ETIMEDOUT;
		/* The call eventfd says "used ring advanced" (no event_idx:
		 * the relay signals every time); its count stays until read.
		 */
		if (poll(&p, 1, left > 10 ? 10 : (int)left + 1) == 1 &&
		    read(d->call[0], &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			return -errno;
	}
}
