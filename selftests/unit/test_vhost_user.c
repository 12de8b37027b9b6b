// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the vhost-user message and device layers: a socketpair
 * plays QEMU, memfd plays guest RAM, and hostile messages must be refused
 * without crashes or leaked fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "fixtures.h"
#include "frontend.h"
#include "ktap.h"
#include "util/log.h"
#include "vhost/vhost_user_dev.h"
#include "vhost/vhost_user_msg.h"

#define NR_TESTS 188

#define MEM_SIZE	(1u << 20)
#define UVA0		0x7f1200000000ull	/* where "QEMU" has guest RAM */
#define GPA0		0x0ull
#define RING_NUM	256

#define FEATURES ((1ull << VIRTIO_NET_F_MRG_RXBUF) |			\
		  (1ull << VIRTIO_RING_F_EVENT_IDX) |			\
		  (1ull << VIRTIO_RING_F_INDIRECT_DESC) |		\
		  (1ull << VIRTIO_F_VERSION_1) |			\
		  (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
#define PROTO ((1ull << VHOST_USER_PROTOCOL_F_MQ) |			\
	       (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |		\
	       (1ull << VHOST_USER_PROTOCOL_F_RARP) |			\
	       (1ull << VHOST_USER_PROTOCOL_F_NET_MTU) |		\
	       (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |	\
	       (1ull << VHOST_USER_PROTOCOL_F_STATUS))
#define MEMSLOTS (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)

/* The test device has one queue pair (vhost_dev_init's default). */
#define TEST_VRINGS	2

/* Ring i lives at UVA0 + RING_OFF(i): desc, then avail, then used. */
#define RING_OFF(i)	(0x10000ull * ((i) + 1))

struct tdev {
	int fe, be;			/* frontend ("QEMU") and backend ends */
	struct vhost_dev d;
	unsigned int changed[VHOST_DEV_MAX_VRINGS];
	unsigned int mem_changing;
	bool reply_before_cb;		/* a reply was readable in a callback */
	int memfd;
	int kick[VHOST_DEV_MAX_VRINGS];	/* frontend's ends of the eventfds */
	int call[VHOST_DEV_MAX_VRINGS];
	bool touch_rings;		/* vring_changed enables notifications, as the relay */
};

/* Big: keep them off the stack. */
static struct vhost_user_msg bmsg, rmsg;

static void cb_vring_changed(struct vhost_dev *d, unsigned int qidx)
{
	struct tdev *t = d->priv;

	if (qidx < VHOST_DEV_MAX_VRINGS)
		t->changed[qidx]++;
	if (reply_pending(t->fe))
		t->reply_before_cb = true;
	/* relay_vring_changed() asks for a kick on every ready ring. */
	if (t->touch_rings && qidx < VHOST_DEV_MAX_VRINGS &&
	    vhost_vring_ready(&d->vq[qidx]))
		vq_notify_enable(&d->vq[qidx].vr);
}

static void cb_mem_changing(struct vhost_dev *d)
{
	struct tdev *t = d->priv;

	t->mem_changing++;
}

static const struct vhost_dev_ops test_ops = {
	.vring_changed = cb_vring_changed,
	.mem_changing = cb_mem_changing,
};

static void tdev_open(struct tdev *t)
{
	int sv[2], i;

	memset(t, 0, sizeof(*t));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	t->fe = sv[0];
	t->be = sv[1];
	t->memfd = memfd_create("guest", MFD_CLOEXEC);
	if (t->memfd < 0 || ftruncate(t->memfd, MEM_SIZE))
		die("memfd");
	for (i = 0; i < TEST_VRINGS; i++) {
		t->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		t->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick[i] < 0 || t->call[i] < 0)
			die("eventfd");
	}
	vhost_dev_init(&t->d, "test", FEATURES, PROTO, &test_ops, t);
}

static void tdev_close(struct tdev *t)
{
	int i;

	vhost_dev_reset(&t->d);
	close(t->fe);
	close(t->be);
	close(t->memfd);
	for (i = 0; i < TEST_VRINGS; i++) {
		close(t->kick[i]);
		close(t->call[i]);
	}
}

static struct vhost_user_msg *msg_state(uint32_t req, uint32_t flags,
					uint32_t index, uint32_t num)
{
	struct vhost_user_msg *m = msg(req, flags, sizeof(m->payload.state));

	m->payload.state.index = index;
	m->payload.state.num = num;
	return m;
}

static struct vhost_user_msg *msg_addr(uint32_t flags, uint32_t index,
				       uint64_t desc, uint64_t avail,
				       uint64_t used)
{
	struct vhost_user_msg *m = msg(VHOST_USER_SET_VRING_ADDR, flags,
				       sizeof(m->payload.addr));

	m->payload.addr.index = index;
	m->payload.addr.desc_user_addr = desc;
	m->payload.addr.avail_user_addr = avail;
	m->payload.addr.used_user_addr = used;
	return m;
}

static struct vhost_user_msg *msg_ring_addr(uint32_t flags, uint32_t index)
{
	uint64_t base = UVA0 + RING_OFF(index);

	return msg_addr(flags, index, base, base + 0x1000, base + 0x2000);
}

/* SET_VRING_KICK/CALL/ERR carrying @fd (-1: the NOFD bit instead). */
static struct vhost_user_msg *msg_vring_fd(uint32_t req, uint32_t flags,
					   uint64_t index, int fd)
{
	struct vhost_user_msg *m;

	m = msg_u64(req, flags, index | (fd < 0 ? VHOST_USER_VRING_NOFD_MASK : 0));
	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return m;
}

/* A memory table of @n regions all backed by @fd, @nfds fds passed. */
static struct vhost_user_msg *msg_mem(uint32_t flags, uint32_t n,
				      const struct vhost_user_region *regs,
				      int fd, unsigned int nfds)
{
	struct vhost_user_msg *m = msg(VHOST_USER_SET_MEM_TABLE, flags,
				       8 + n * sizeof(struct vhost_user_region));
	unsigned int i;

	m->payload.memory.nregions = n;
	for (i = 0; i < n && i < VHOST_USER_MAX_REGIONS; i++)
		m->payload.memory.regions[i] = regs[i];
	for (i = 0; i < nfds; i++)
		m->fds[i] = fd;
	m->nfds = nfds;
	return m;
}

static struct vhost_user_msg *msg_mem1(uint32_t flags, int fd, uint64_t uva)
{
	struct vhost_user_region r = {
		.guest_phys_addr = GPA0,
		.memory_size = MEM_SIZE,
		.userspace_addr = uva,
		.mmap_offset = 0,
	};

	return msg_mem(flags, 1, &r, fd, 1);
}

/* ADD_MEM_REG or REM_MEM_REG naming one region, @fd passed unless < 0. */
static struct vhost_user_msg *msg_mem_reg(uint32_t req, uint32_t flags,
					  uint64_t gpa, uint64_t size,
					  uint64_t uva, uint64_t off, int fd)
{
	struct vhost_user_msg *m = msg(req, flags, sizeof(m->payload.mem_reg));

	m->payload.mem_reg.region.guest_phys_addr = gpa;
	m->payload.mem_reg.region.memory_size = size;
	m->payload.mem_reg.region.userspace_addr = uva;
	m->payload.mem_reg.region.mmap_offset = off;
	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return m;
}

/* The backend receives the daemon's way: what the socket has, never
 * waiting. The frontend queued all it sends first, so a message still
 * incomplete is one the relay would drop at its deadline: -ETIMEDOUT.
 */
static int be_recv(int sock)
{
	struct vhost_user_rx rx;
	int err;

	vhost_user_rx_init(&rx, &bmsg);
	err = vhost_user_rx_read(sock, &rx);
	if (err == 1)
		return 0;
	if (err == 0) {
		vhost_user_rx_next(&rx);
		return -ETIMEDOUT;
	}
	return err;
}

/* Frontend sends @m; the backend receives and handles it. Returns what
 * receive or handling returned.
 */
static int xfer(struct tdev *t, const struct vhost_user_msg *m)
{
	int err;

	if (vhost_user_msg_send(t->fe, m))
		die("send");
	err = be_recv(t->be);
	if (err)
		return err;
	return vhost_dev_handle_msg(&t->d, t->be, &bmsg);
}

static int read_reply(struct tdev *t, struct vhost_user_msg *r)
{
	struct pollfd p = { .fd = t->fe, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return -ETIMEDOUT;
	return vhost_user_msg_recv(t->fe, r);
}

/* Read a REPLY_ACK ack for @req: 0 success, 1 failure, -1 none/garbled. */
static int read_ack(struct tdev *t, uint32_t req)
{
	if (read_reply(t, &rmsg))
		return -1;
	if (rmsg.hdr.request != req || rmsg.hdr.size != 8 ||
	    !(rmsg.hdr.flags & VHOST_USER_REPLY_MASK))
		return -1;
	return rmsg.payload.u64 ? 1 : 0;
}

/* Read a u64 reply to @req; returns false when there is none. */
static bool read_u64(struct tdev *t, uint32_t req, uint64_t *v)
{
	if (read_reply(t, &rmsg) || rmsg.hdr.request != req ||
	    rmsg.hdr.size != 8 || !(rmsg.hdr.flags & VHOST_USER_REPLY_MASK) ||
	    (rmsg.hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return false;
	*v = rmsg.payload.u64;
	return true;
}

/* Send raw bytes with optional fds, for framing no well-formed sender makes. */
static void raw_send(int sock, const void *buf, size_t len, const int *fds,
		     unsigned int nfds)
{
	VHOST_USER_FDS_CMSG(16) cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (vhost_user_fds_attach(&mh, cbuf.buf, sizeof(cbuf), fds, nfds))
		die("raw_send: too many fds");
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		die("raw sendmsg");
}

/* Bring both rings up the way QEMU 7.2 does for a started virtio-net
 * device; returns how many steps went wrong (0 = all fine).
 */
static int handshake(struct tdev *t, uint16_t base0, uint16_t base1)
{
	uint64_t v;
	int bad = 0, i;

	bad += xfer(t, msg(VHOST_USER_GET_FEATURES, 0, 0)) != 0;
	bad += !read_u64(t, VHOST_USER_GET_FEATURES, &v) || v != FEATURES;
	bad += xfer(t, msg(VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0)) != 0;
	bad += !read_u64(t, VHOST_USER_GET_PROTOCOL_FEATURES, &v) || v != PROTO;
	bad += xfer(t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO)) != 0;
	bad += xfer(t, msg(VHOST_USER_GET_QUEUE_NUM, 0, 0)) != 0;
	bad += !read_u64(t, VHOST_USER_GET_QUEUE_NUM, &v) || v != 1;
	bad += xfer(t, msg(VHOST_USER_SET_OWNER, VHOST_USER_NEED_REPLY_MASK, 0)) != 0;
	bad += read_ack(t, VHOST_USER_SET_OWNER) != 0;
	for (i = 0; i < TEST_VRINGS; i++)
		bad += xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_CALL, 0, i, t->call[i])) != 0;
	bad += xfer(t, msg_u64(VHOST_USER_SET_FEATURES,
			       VHOST_USER_NEED_REPLY_MASK, FEATURES)) != 0;
	bad += read_ack(t, VHOST_USER_SET_FEATURES) != 0;
	bad += xfer(t, msg_mem1(VHOST_USER_NEED_REPLY_MASK, t->memfd, UVA0)) != 0;
	bad += read_ack(t, VHOST_USER_SET_MEM_TABLE) != 0;
	for (i = 0; i < TEST_VRINGS; i++) {
		uint16_t base = i ? base1 : base0;

		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_NUM, 0, i, RING_NUM)) != 0;
		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_BASE, 0, i, base)) != 0;
		bad += xfer(t, msg_ring_addr(0, i)) != 0;
		bad += xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, i, t->kick[i])) != 0;
		bad += xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_CALL, 0, i, t->call[i])) != 0;
	}
	for (i = 0; i < TEST_VRINGS; i++) {
		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_ENABLE,
					 VHOST_USER_NEED_REPLY_MASK, i, 1)) != 0;
		bad += read_ack(t, VHOST_USER_SET_VRING_ENABLE) != 0;
	}
	bad += reply_pending(t->fe);	/* nothing unasked for */
	return bad;
}

/* Does the backend's copy of frontend eventfd @fe_fd see a write to it? */
static bool fd_linked(int fe_fd, int be_fd)
{
	uint64_t one = 1, got = 0;

	if (be_fd < 0 || write(fe_fd, &one, sizeof(one)) != sizeof(one))
		return false;
	return read(be_fd, &got, sizeof(got)) == sizeof(got) && got == 1;
}

static void test_handshake(void)
{
	struct tdev t;
	struct vhost_vring *vq;
	unsigned int changed0;
	int fds0 = count_fds(), i, bad;
	uint8_t *hva;

	tdev_open(&t);
	bad = handshake(&t, 5, 9);
	KTAP_CHECK(bad == 0, "handshake: every step answered as QEMU expects");
	KTAP_CHECK(t.d.features == FEATURES, "handshake: features acked");
	KTAP_CHECK(t.d.protocol_features == PROTO, "handshake: protocol features acked");
	KTAP_CHECK(t.d.owner, "handshake: owner set");
	KTAP_CHECK(t.d.mem.nregions == 1 && t.mem_changing == 1,
		   "handshake: memory table mapped after mem_changing");
	for (i = 0; i < TEST_VRINGS; i++) {
		vq = &t.d.vq[i];
		hva = t.d.mem.nregions ? t.d.mem.r[0].hva : NULL;
		KTAP_CHECK(vhost_vring_ready(vq), "handshake: vring ready");
		KTAP_CHECK(t.changed[i] >= 3, "handshake: vring_changed observed");
		KTAP_CHECK(hva && (uint8_t *)vq->vr.split.desc == hva + RING_OFF(i) &&
			   (uint8_t *)vq->vr.split.avail == hva + RING_OFF(i) + 0x1000 &&
			   (uint8_t *)vq->vr.split.used == hva + RING_OFF(i) + 0x2000,
			   "handshake: ring translated into the mapping");
		KTAP_CHECK(vq->vr.split.num == RING_NUM &&
			   vq->vr.split.last_avail_idx == (i ? 9 : 5) &&
			   vq->vr.split.event_idx && vq->vr.split.indirect,
			   "handshake: ring size, base, event_idx, indirect");
		KTAP_CHECK(fd_linked(t.kick[i], vq->kickfd) &&
			   fd_linked(t.call[i], vq->callfd),
			   "handshake: kick and call fds are the frontend's");
	}
	/* 1 memfd + 4 eventfds sent; the backend keeps 4 (kick/call) and
	 * must have closed the memfd it got and the first two call fds.
	 */
	KTAP_CHECK(count_fds() == fds0 + 2 + 1 + 4 + 4,
		   "handshake: no fds leaked");

	/* The datapath got somewhere; GET_VRING_BASE must report that and
	 * stop the ring before answering.
	 */
	vq = &t.d.vq[0];
	vq->vr.split.last_avail_idx = 42;
	changed0 = t.changed[0];
	t.reply_before_cb = false;
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE,
				      VHOST_USER_NEED_REPLY_MASK, 0, 0)) == 0,
		   "get_vring_base: handled");
	KTAP_CHECK(read_reply(&t, &rmsg) == 0 &&
		   rmsg.hdr.request == VHOST_USER_GET_VRING_BASE &&
		   rmsg.hdr.size == sizeof(rmsg.payload.state) &&
		   rmsg.payload.state.index == 0 && rmsg.payload.state.num == 42,
		   "get_vring_base: replies {0, last_avail_idx}");
	KTAP_CHECK(!reply_pending(t.fe), "get_vring_base: no extra ack");
	KTAP_CHECK(!vq->started && !vq->enabled && !vhost_vring_ready(vq) &&
		   vq->kickfd == -1, "get_vring_base: ring stopped, kick fd closed");
	KTAP_CHECK(t.changed[0] > changed0 && !t.reply_before_cb,
		   "get_vring_base: vring_changed before the reply");
	KTAP_CHECK(vhost_vring_ready(&t.d.vq[1]), "get_vring_base: other ring untouched");

	/* QEMU restarts with the base it was given. */
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, 0, t.kick[0])) == 0 &&
		   vq->started && !vq->enabled && vq->vr.split.last_avail_idx == 42,
		   "restart: resumes at 42, disabled until SET_VRING_ENABLE");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_ENABLE, 0, 0, 1)) == 0 &&
		   vhost_vring_ready(vq), "restart: ready again");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_ENABLE, 0, 1, 0)) == 0 &&
		   !vhost_vring_ready(&t.d.vq[1]) && t.d.vq[1].started,
		   "set_vring_enable 0: ring disabled but still started");

	/* A new kick fd for a running ring must not rewind it. */
	vq->vr.split.last_avail_idx = 50;
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, 0, t.kick[0])) == 0 &&
		   vhost_vring_ready(vq) && vq->vr.split.last_avail_idx == 50 &&
		   fd_linked(t.kick[0], vq->kickfd),
		   "kick fd replaced on a running ring: indexes kept");
	vq->vr.split.last_avail_idx = 42;

	/* A running ring refuses a new size or base. */
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 0, 128)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 1 &&
		   vq->num == RING_NUM && vq->vr.split.num == RING_NUM,
		   "set_vring_num on a running ring: refused");

	/* Same memory again at a new place: running rings follow it. */
	changed0 = t.changed[0];
	KTAP_CHECK(xfer(&t, msg_mem1(VHOST_USER_NEED_REPLY_MASK, t.memfd, UVA0)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_MEM_TABLE) == 0 &&
		   t.mem_changing == 2 && t.changed[0] > changed0,
		   "new mem table: mem_changing and vring_changed called");
	hva = t.d.mem.nregions ? t.d.mem.r[0].hva : NULL;
	KTAP_CHECK(vq->started && hva && (uint8_t *)vq->vr.split.desc == hva + RING_OFF(0) &&
		   vq->vr.split.last_avail_idx == 42,
		   "new mem table: running ring remapped, indexes kept");

	/* Memory moved to where the rings are not: they must stop. */
	KTAP_CHECK(xfer(&t, msg_mem1(VHOST_USER_NEED_REPLY_MASK, t.memfd,
				     UVA0 + (1ull << 30))) == 0 &&
		   read_ack(&t, VHOST_USER_SET_MEM_TABLE) == 0,
		   "mem table without the rings: accepted");
	KTAP_CHECK(!t.d.vq[0].started && !t.d.vq[1].started &&
		   !vhost_vring_ready(&t.d.vq[0]),
		   "mem table without the rings: rings stopped");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE, 0, 0, 0)) == 0 &&
		   read_reply(&t, &rmsg) == 0 && rmsg.payload.state.num == 42,
		   "stopped ring still reports where it got to");

	tdev_close(&t);
	KTAP_CHECK(count_fds() == fds0, "reset: every fd closed");
	KTAP_CHECK(t.d.mem.nregions == 0 && t.d.features == 0 &&
		   t.d.vq[0].kickfd == -1 && t.d.vq[1].callfd == -1,
		   "reset: state forgotten");
}

/* Without F_PROTOCOL_FEATURES (old DPDK/QEMU) the kick enables the ring. */
static void test_legacy_enable(void)
{
	uint64_t f = FEATURES & ~((1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
				  (1ull << VIRTIO_RING_F_EVENT_IDX));
	struct tdev t;

	tdev_open(&t);
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0, f)) == 0 &&
		   xfer(&t, msg_mem1(0, t.memfd, UVA0)) == 0 &&
		   xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM, 0, 0, RING_NUM)) == 0 &&
		   xfer(&t, msg_ring_addr(0, 0)) == 0,
		   "legacy: setup");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, 0, -1)) == 0 &&
		   !t.d.vq[0].started && !vhost_vring_ready(&t.d.vq[0]),
		   "legacy: NOFD kick (polling) refused: ring not started");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, 0, t.kick[0])) == 0 &&
		   vhost_vring_ready(&t.d.vq[0]) && t.d.vq[0].kickfd >= 0,
		   "legacy: the kick starts and enables the ring");
	KTAP_CHECK(!t.d.vq[0].vr.split.event_idx, "legacy: event_idx only when acked");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_CALL, 0, 0, -1)) == 0 &&
		   t.d.vq[0].callfd == -1, "legacy: NOFD call");
	tdev_close(&t);
}

/* Multiqueue: GET_QUEUE_NUM reports the pairs the device was given, and
 * vring indices are bounded by them, not by the array.
 */
static void test_multiqueue(void)
{
	struct tdev t;
	uint64_t v;

	tdev_open(&t);
	t.d.queue_pairs = 4;
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO)) == 0 &&
		   xfer(&t, msg(VHOST_USER_GET_QUEUE_NUM, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_QUEUE_NUM, &v) && v == 4,
		   "multiqueue: GET_QUEUE_NUM reports 4 pairs");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 7, 256)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 0 && t.d.vq[7].num == 256,
		   "multiqueue: vring 7 (pair 3 tx) accepted");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 8, 256)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 1 && t.d.vq[8].num == 0,
		   "multiqueue: vring 8 (beyond 4 pairs) refused");
	tdev_close(&t);
}

static void test_reply_ack(void)
{
	struct tdev t;
	uint64_t v;

	tdev_open(&t);
	/* Before REPLY_ACK is negotiated NEED_REPLY means nothing. */
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_SET_OWNER, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   !reply_pending(t.fe), "reply_ack: no ack before negotiation");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				    1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)) == 0 &&
		   !reply_pending(t.fe), "reply_ack: negotiated");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_SET_OWNER, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_OWNER) == 0, "reply_ack: 0 on success");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_SET_OWNER, 0, 0)) == 0 &&
		   !reply_pending(t.fe), "reply_ack: no ack unless asked");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 0, 3)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 1,
		   "reply_ack: non-zero on failure, connection kept");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_FEATURES, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_FEATURES, &v) && v == FEATURES &&
		   !reply_pending(t.fe), "reply_ack: GET_* gets its reply only");
	KTAP_CHECK(xfer(&t, msg(77, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_ack(&t, 77) == 1, "unknown request + need_reply: failure ack");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_SET_LOG_FD, VHOST_USER_NEED_REPLY_MASK, 0)) < 0 &&
		   read_ack(&t, VHOST_USER_SET_LOG_FD) == 1,
		   "malformed (fd missing) + need_reply: failure ack, then drop");
	/* An unadvertised feature-gated request fails, an advertised one works. */
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_NET_SET_MTU, VHOST_USER_NEED_REPLY_MASK, 1500)) == 0 &&
		   read_ack(&t, VHOST_USER_NET_SET_MTU) == 1 && t.d.mtu == 0,
		   "net_set_mtu without NET_MTU negotiated: refused");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO)) == 0 &&
		   xfer(&t, msg_u64(VHOST_USER_NET_SET_MTU, VHOST_USER_NEED_REPLY_MASK, 9000)) == 0 &&
		   read_ack(&t, VHOST_USER_NET_SET_MTU) == 0 && t.d.mtu == 9000,
		   "net_set_mtu: stored");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_NET_SET_MTU, VHOST_USER_NEED_REPLY_MASK, 70000)) == 0 &&
		   read_ack(&t, VHOST_USER_NET_SET_MTU) == 1 && t.d.mtu == 9000,
		   "net_set_mtu: out of range refused");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_STATUS, VHOST_USER_NEED_REPLY_MASK, 0xf)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_STATUS) == 0 &&
		   xfer(&t, msg(VHOST_USER_GET_STATUS, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_STATUS, &v) && v == 0xf,
		   "set/get_status round trip");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SEND_RARP, VHOST_USER_NEED_REPLY_MASK, 0x563412005452ull)) == 0 &&
		   read_ack(&t, VHOST_USER_SEND_RARP) == 0, "send_rarp: accepted");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				    PROTO & ~MEMSLOTS)) == 0 &&
		   xfer(&t, msg(VHOST_USER_GET_MAX_MEM_SLOTS, 0, 0)) < 0 &&
		   !reply_pending(t.fe), "get_max_mem_slots (not negotiated): refused");
	tdev_close(&t);
}

static void test_bad_features(void)
{
	struct tdev t;

	tdev_open(&t);
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0,
				    FEATURES | (1ull << 63))) < 0 &&
		   t.d.features == 0, "set_features with unoffered bit: dropped");
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				    1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD)) < 0 &&
		   t.d.protocol_features == 0,
		   "set_protocol_features with unoffered bit: dropped");
	tdev_close(&t);

	/* Features the vhost-user layer cannot honour (an IOTLB) are never
	 * offered; dirty logging (LOG_ALL with LOG_SHMFD) it can do.
	 */
	vhost_dev_init(&t.d, "test", FEATURES | (1ull << VHOST_F_LOG_ALL) |
		       (1ull << VIRTIO_F_ACCESS_PLATFORM),
		       PROTO | (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD),
		       NULL, NULL);
	KTAP_CHECK(t.d.supported_features == (FEATURES | (1ull << VHOST_F_LOG_ALL)) &&
		   t.d.supported_protocol_features ==
		   (PROTO | (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD)),
		   "init: unimplemented features not offered, dirty logging is");
}

/* Each check: a malformed message is refused (negative return, so the
 * caller drops the connection) and every fd it carried is closed.
 */
static void test_malformed(void)
{
	struct vhost_user_region regs[VHOST_USER_MAX_REGIONS];
	struct vhost_user_msg *m;
	struct tdev t;
	int fds0, efd, ret;

	tdev_open(&t);
	handshake(&t, 0, 0);
	fds0 = count_fds();
	efd = eventfd(0, EFD_CLOEXEC);

	m = msg_u64(VHOST_USER_SET_FEATURES, 0, FEATURES);
	m->hdr.size = 4;
	KTAP_CHECK(xfer(&t, m) < 0, "wrong size: SET_FEATURES of 4 bytes");
	m = msg_state(VHOST_USER_SET_VRING_NUM, 0, 0, 64);
	m->hdr.size = 12;
	KTAP_CHECK(xfer(&t, m) < 0 && t.d.vq[0].num == RING_NUM,
		   "wrong size: SET_VRING_NUM of 12 bytes");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_FEATURES, 0, 8)) < 0 &&
		   !reply_pending(t.fe), "wrong size: GET_FEATURES with payload");
	m = msg_ring_addr(0, 0);
	m->hdr.size = 32;
	KTAP_CHECK(xfer(&t, m) < 0, "wrong size: SET_VRING_ADDR of 32 bytes");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_SET_VRING_KICK, 0, 0)) < 0,
		   "wrong size: SET_VRING_KICK without payload");
	m = msg(VHOST_USER_SET_OWNER, 0, 0);
	m->hdr.flags = 2;
	KTAP_CHECK(xfer(&t, m) < 0, "bad version: refused");

	m = msg_u64(VHOST_USER_SET_FEATURES, 0, FEATURES);
	m->fds[0] = efd;
	m->nfds = 1;
	KTAP_CHECK(xfer(&t, m) < 0, "fd on SET_FEATURES: refused");
	KTAP_CHECK(count_fds() == fds0 + 1, "fd on SET_FEATURES: closed");

	m = msg_vring_fd(VHOST_USER_SET_VRING_CALL, 0, 0, efd);
	m->fds[1] = efd;
	m->nfds = 2;
	KTAP_CHECK(xfer(&t, m) < 0 && fd_linked(t.call[0], t.d.vq[0].callfd),
		   "two fds on SET_VRING_CALL: refused, old call fd kept");
	KTAP_CHECK(count_fds() == fds0 + 1, "two fds on SET_VRING_CALL: closed");

	m = msg_u64(VHOST_USER_SET_VRING_KICK, 0, 0);
	KTAP_CHECK(xfer(&t, m) < 0, "missing fd: SET_VRING_KICK without NOFD");
	m = msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, 0, -1);
	m->fds[0] = efd;
	m->nfds = 1;
	KTAP_CHECK(xfer(&t, m) < 0, "fd with NOFD: refused");
	KTAP_CHECK(count_fds() == fds0 + 1, "fd with NOFD: closed");

	m = msg_mem1(0, t.memfd, UVA0);
	m->nfds = 0;
	KTAP_CHECK(xfer(&t, m) < 0, "missing fd: SET_MEM_TABLE without fds");
	memset(regs, 0, sizeof(regs));
	regs[0].memory_size = regs[1].memory_size = 0x1000;
	regs[1].guest_phys_addr = 0x1000;
	regs[0].userspace_addr = UVA0;
	regs[1].userspace_addr = UVA0 + 0x1000;
	KTAP_CHECK(xfer(&t, msg_mem(0, 2, regs, t.memfd, 1)) < 0,
		   "missing fd: 2 regions, 1 fd");
	KTAP_CHECK(xfer(&t, msg_mem(0, 1, regs, t.memfd, 2)) < 0,
		   "extra fd: 1 region, 2 fds");
	KTAP_CHECK(xfer(&t, msg_mem(0, 0, regs, t.memfd, 0)) < 0, "nregions 0: refused");
	m = msg_mem(0, 8, regs, t.memfd, 8);
	m->payload.memory.nregions = 9;
	m->hdr.size = 8 + 9 * 32;
	KTAP_CHECK(xfer(&t, m) < 0, "nregions 9: refused");
	m = msg_mem1(0, t.memfd, UVA0);
	m->hdr.size = 8 + 2 * 32;
	KTAP_CHECK(xfer(&t, m) < 0, "mem table size not 8 + n * 32: refused");
	KTAP_CHECK(count_fds() == fds0 + 1, "malformed mem tables: fds closed");
	KTAP_CHECK(t.d.mem.nregions == 1 && vhost_vring_ready(&t.d.vq[0]),
		   "malformed messages left the device alone");

	/* Valid framing, invalid content: old memory is gone, so drop. */
	regs[1].guest_phys_addr = 0x800;
	ret = xfer(&t, msg_mem(0, 2, regs, t.memfd, 2));
	KTAP_CHECK(ret < 0 && t.d.mem.nregions == 0, "overlapping regions: refused");
	KTAP_CHECK(!t.d.vq[0].started && !t.d.vq[1].started,
		   "overlapping regions: rings stopped");
	KTAP_CHECK(count_fds() == fds0 + 1, "overlapping regions: fds closed");
	regs[0].memory_size = 2 * MEM_SIZE;
	KTAP_CHECK(xfer(&t, msg_mem(0, 1, regs, t.memfd, 1)) < 0 &&
		   t.d.mem.nregions == 0, "region larger than its file: refused");

	m = msg(99, 0, 0);
	m->fds[0] = efd;
	m->nfds = 1;
	KTAP_CHECK(xfer(&t, m) == 0 && count_fds() == fds0 + 1,
		   "unknown request: ignored, fd closed");

	close(efd);
	tdev_close(&t);
}

static void test_bad_index(void)
{
	struct tdev t;
	int fds0, efd;

	tdev_open(&t);
	xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO));
	fds0 = count_fds();
	efd = eventfd(0, EFD_CLOEXEC);

	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 2, 256)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 1,
		   "index 2: SET_VRING_NUM failure ack");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_BASE,
				      VHOST_USER_NEED_REPLY_MASK, 0xffffffffu, 0)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_BASE) == 1,
		   "index 2^32-1: SET_VRING_BASE failure ack");
	KTAP_CHECK(xfer(&t, msg_addr(VHOST_USER_NEED_REPLY_MASK, 7, UVA0, UVA0, UVA0)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_ADDR) == 1,
		   "index 7: SET_VRING_ADDR failure ack");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
					 VHOST_USER_NEED_REPLY_MASK, 255, efd)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_KICK) == 1,
		   "index 255: SET_VRING_KICK failure ack");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_ERR,
					 VHOST_USER_NEED_REPLY_MASK, 2, efd)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_ERR) == 1,
		   "index 2: SET_VRING_ERR failure ack");
	KTAP_CHECK(count_fds() == fds0 + 1, "bad index: passed fds closed");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_ENABLE,
				      VHOST_USER_NEED_REPLY_MASK, 2, 1)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_ENABLE) == 1,
		   "index 2: SET_VRING_ENABLE failure ack");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE, 0, 2, 0)) < 0 &&
		   !reply_pending(t.fe),
		   "index 2: GET_VRING_BASE cannot be answered: dropped");
	KTAP_CHECK(t.changed[0] == 0 && t.changed[1] == 0,
		   "bad index: no vring touched");
	close(efd);
	tdev_close(&t);
}

static void test_vring_num(void)
{
	static const uint32_t bad[] = { 0, 3, 100, 65536, 65535, 0x80000000u };
	struct tdev t;
	unsigned int i;
	bool ok = true;

	tdev_open(&t);
	xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				       VHOST_USER_NEED_REPLY_MASK, 0, bad[i])) ||
		    read_ack(&t, VHOST_USER_SET_VRING_NUM) != 1 ||
		    t.d.vq[0].num != 0) {
			ktap_diag("num %u accepted", bad[i]);
			ok = false;
		}
	}
	KTAP_CHECK(ok, "vring num 0, 3, 100, 65535, 65536, 2^31: refused");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 0, 32768)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 0 &&
		   t.d.vq[0].num == 32768, "vring num 32768: accepted");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM,
				      VHOST_USER_NEED_REPLY_MASK, 1, 1)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_NUM) == 0 &&
		   t.d.vq[1].num == 1, "vring num 1: accepted");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_BASE,
				      VHOST_USER_NEED_REPLY_MASK, 0, 0x10000)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_BASE) == 1,
		   "vring base above 16 bits: refused");
	tdev_close(&t);
}

/* Try to start ring 0 at the given addresses; true if it started. */
static bool try_start(struct tdev *t, uint16_t num, uint64_t desc,
		      uint64_t avail, uint64_t used, int *ack)
{
	xfer(t, msg_state(VHOST_USER_SET_VRING_NUM, 0, 0, num));
	xfer(t, msg_addr(0, 0, desc, avail, used));
	xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
			     VHOST_USER_NEED_REPLY_MASK, 0, t->kick[0]));
	*ack = read_ack(t, VHOST_USER_SET_VRING_KICK);
	return t->d.vq[0].started;
}

static void test_ring_bounds(void)
{
	uint64_t end = UVA0 + MEM_SIZE;
	struct tdev t;
	int ack;

	tdev_open(&t);
	xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO));
	xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0, FEATURES));

	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0, UVA0 + 0x1000, UVA0 + 0x2000, &ack) &&
		   ack == 1, "ring before any memory table: not started");
	xfer(&t, msg_mem1(0, t.memfd, UVA0));
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0 - 0x10000, UVA0 + 0x1000,
			      UVA0 + 0x2000, &ack) && ack == 1,
		   "desc below guest memory: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0, UVA0 + 0x1000, end, &ack) &&
		   ack == 1, "used at end of guest memory: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, end - 0x800, UVA0 + 0x1000,
			      UVA0 + 0x2000, &ack) && ack == 1,
		   "desc straddling the end: not started");
	KTAP_CHECK(!try_start(&t, 32768, UVA0 + MEM_SIZE / 2 + 0x1000, UVA0 + 0x1000,
			      UVA0 + 0x2000, &ack) && ack == 1,
		   "32768-entry desc table past the end: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0, UVA0 + 0x1000,
			      end - 0x10, &ack) && ack == 1,
		   "used straddling the end: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0, end - 0x10,
			      UVA0 + 0x2000, &ack) && ack == 1,
		   "avail straddling the end: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0, UVA0 + 0x1000,
			      0xfffffffffffff000ull, &ack) && ack == 1,
		   "used near 2^64: not started");
	KTAP_CHECK(!try_start(&t, RING_NUM, UVA0 + 8, UVA0 + 0x1000,
			      UVA0 + 0x2000, &ack) && ack == 1,
		   "misaligned desc: not started");
	KTAP_CHECK(!vhost_vring_ready(&t.d.vq[0]), "bad rings never ready");
	KTAP_CHECK(try_start(&t, RING_NUM, end - 0x3000, end - 0x2000,
			     end - 0x1000, &ack) && ack == 0,
		   "ring at the very end of memory: started");
	/* Moving a running ring outside memory stops it. */
	KTAP_CHECK(xfer(&t, msg_addr(VHOST_USER_NEED_REPLY_MASK, 0, end,
				     end - 0x2000, end - 0x1000)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_ADDR) == 1 &&
		   !t.d.vq[0].started, "running ring moved outside memory: stopped");
	tdev_close(&t);
}

/* A running ring keeps the layout it started with: re-checking it after
 * SET_FEATURES flipped VIRTIO_F_RING_PACKED must use the split sizes, or a
 * new memory table that only holds the (4-byte) packed event areas would
 * leave the split used ring running past guest memory.
 */
static void test_layout_flip(void)
{
	const uint64_t packed = FEATURES | (1ull << VIRTIO_F_RING_PACKED);
	struct vhost_user_region small = {
		.guest_phys_addr = GPA0,
		.memory_size = 0x2004,	/* ends 4 bytes into the used ring */
		.userspace_addr = UVA0,
	};
	struct tdev t;
	int ack;

	tdev_open(&t);
	vhost_dev_init(&t.d, "test", packed, PROTO, &test_ops, &t);
	xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO));
	xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0, FEATURES));
	xfer(&t, msg_mem1(0, t.memfd, UVA0));
	KTAP_CHECK(try_start(&t, RING_NUM, UVA0, UVA0 + 0x1000, UVA0 + 0x2000,
			     &ack) && ack == 0 && !t.d.vq[0].vr.packed,
		   "layout flip: split ring started");
	xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0, packed));
	xfer(&t, msg_mem(0, 1, &small, t.memfd, 1));
	KTAP_CHECK(!t.d.vq[0].started,
		   "layout flip: split ring re-checked with split sizes, stopped");
	tdev_close(&t);
}

/* CONFIGURE_MEM_SLOTS: QEMU 7.2 hands memory over one region at a time
 * (ADD_MEM_REG, with its fd) instead of SET_MEM_TABLE, and takes regions
 * back by name (REM_MEM_REG: gpa, size and uva) when a DIMM is unplugged.
 */
#define GPA1	0x100000000ull		/* where a hot-plugged DIMM lands */
#define UVA1	0x7f3400000000ull

static bool hva_mapped(void *p)
{
	unsigned char vec;

	return mincore((void *)((uintptr_t)p & ~0xfffull), 1, &vec) == 0;
}

static void test_mem_slots(void)
{
	struct vring_desc dsc = {
		.addr = GPA1 + 0x100, .len = 64, .flags = VRING_DESC_F_WRITE,
	};
	uint16_t avail[3] = { 0, 1, 0 };	/* flags, idx, ring[0] */
	struct vhost_vring *vq;
	struct vq_chain c;
	struct tdev t;
	uint8_t *hva1, *p;
	unsigned int i, changed0, mc0;
	int fds_start, fds0, memfd1, efd, ret;
	uint64_t v;
	bool ok;

	/* Not negotiated: refused, nothing mapped. */
	tdev_open(&t);
	xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO & ~MEMSLOTS));
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA0, MEM_SIZE, UVA0, 0, t.memfd)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 1 && t.d.mem.nregions == 0,
		   "mem slots: ADD_MEM_REG without CONFIGURE_MEM_SLOTS refused");
	tdev_close(&t);

	fds_start = count_fds();
	tdev_open(&t);
	fds0 = count_fds();
	memfd1 = memfd_create("dimm", MFD_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC);
	if (memfd1 < 0 || ftruncate(memfd1, MEM_SIZE) || efd < 0)
		die("memfd/eventfd");
	ok = handshake(&t, 0, 0) == 0;
	KTAP_CHECK(ok && (t.d.protocol_features & MEMSLOTS),
		   "mem slots: CONFIGURE_MEM_SLOTS offered and negotiated");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_MAX_MEM_SLOTS, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_MAX_MEM_SLOTS, &v) && v == 32 &&
		   !reply_pending(t.fe),
		   "mem slots: GET_MAX_MEM_SLOTS answers u64 32, no extra ack");

	/* Plug a DIMM: a second memfd high up. */
	vq = &t.d.vq[0];
	mc0 = t.mem_changing;
	changed0 = t.changed[0];
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA1, MEM_SIZE, UVA1, 0, memfd1)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 0 && t.d.mem.nregions == 2,
		   "mem slots: ADD_MEM_REG acked, region mapped");
	KTAP_CHECK(t.mem_changing == mc0 + 1 && t.changed[0] > changed0 &&
		   vhost_vring_ready(vq) && vhost_vring_ready(&t.d.vq[1]) &&
		   (uint8_t *)vq->vr.split.desc == t.d.mem.r[0].hva + RING_OFF(0),
		   "mem slots: add: datapath told, running rings keep their memory");
	KTAP_CHECK(count_fds() == fds0 + 2 + 4,
		   "mem slots: add: the backend keeps no fd of its own");

	/* The guest posts an rx buffer in the new memory. */
	if (pwrite(memfd1, "vxdp", 4, 0x100) != 4 ||
	    pwrite(t.memfd, &dsc, sizeof(dsc), RING_OFF(0)) != sizeof(dsc) ||
	    pwrite(t.memfd, avail, sizeof(avail), RING_OFF(0) + 0x1000) != sizeof(avail))
		die("pwrite");
	hva1 = guest_mem_gpa(&t.d.mem, GPA1, MEM_SIZE);
	p = guest_mem_gpa(&t.d.mem, GPA1 + 0x100, 4);
	KTAP_CHECK(hva1 && p == hva1 + 0x100 && !memcmp(p, "vxdp", 4),
		   "mem slots: gpa in the added region translates to the DIMM's memory");
	ret = vq_pop(&vq->vr, &t.d.mem, &c);
	KTAP_CHECK(ret == 0 && c.niov == 1 && c.in_len == 64 &&
		   c.iov[0].base == hva1 + 0x100 && c.iov[0].region == 1,
		   "mem slots: a ring pops a buffer in the added region");
	if (!ret)
		vq_unpop(&vq->vr, 1);

	/* Refusals leave the table as it was, connection kept. */
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA1 + MEM_SIZE - 0x1000, 0x2000,
					UVA1 + (1ull << 30), 0, memfd1)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 1 && t.d.mem.nregions == 2,
		   "mem slots: overlapping region refused");
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					2 * GPA1, 2 * MEM_SIZE, UVA1 + (1ull << 30),
					0, memfd1)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 1 && t.d.mem.nregions == 2,
		   "mem slots: region larger than its file refused");
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					2 * GPA1, 0x1000, UVA1 + (1ull << 30), 0,
					efd)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 1 && t.d.mem.nregions == 2,
		   "mem slots: region on an fd that cannot be mapped refused");
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_REM_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA1, MEM_SIZE, UVA1 + 0x1000, 0, -1)) == 0 &&
		   read_ack(&t, VHOST_USER_REM_MEM_REG) == 1 &&
		   xfer(&t, msg_mem_reg(VHOST_USER_REM_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA1, MEM_SIZE / 2, UVA1, 0, -1)) == 0 &&
		   read_ack(&t, VHOST_USER_REM_MEM_REG) == 1 && t.d.mem.nregions == 2,
		   "mem slots: REM_MEM_REG of an unknown region (uva, size differ) refused");
	KTAP_CHECK(count_fds() == fds0 + 2 + 4, "mem slots: refused regions: fds closed");

	/* Unplug: the mmap offset is not part of the name; QEMU < 7.1 sent
	 * an fd, which is closed unused.
	 */
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_REM_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA1, MEM_SIZE, UVA1, 0x5000, efd)) == 0 &&
		   read_ack(&t, VHOST_USER_REM_MEM_REG) == 0 && t.d.mem.nregions == 1 &&
		   guest_mem_gpa(&t.d.mem, GPA1 + 0x100, 4) == NULL,
		   "mem slots: REM_MEM_REG by gpa+size+uva: region gone");
	KTAP_CHECK(hva1 && !hva_mapped(hva1) && count_fds() == fds0 + 2 + 4,
		   "mem slots: removed region unmapped, fd passed with REM closed");
	KTAP_CHECK(vhost_vring_ready(vq) && vhost_vring_ready(&t.d.vq[1]),
		   "mem slots: rings elsewhere keep running");
	ret = vq_pop(&vq->vr, &t.d.mem, &c);
	KTAP_CHECK(ret < 0 && vq_broken(&vq->vr),
		   "mem slots: buffer left in removed memory breaks its ring, not the daemon");

	/* Fill every slot; one more is refused. */
	ok = true;
	for (i = t.d.mem.nregions; i < 32; i++) {
		ok &= xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					   GPA1 + i * 0x1000ull, 0x1000,
					   UVA1 + i * 0x1000ull, 0, memfd1)) == 0;
		ok &= read_ack(&t, VHOST_USER_ADD_MEM_REG) == 0;
	}
	KTAP_CHECK(ok && t.d.mem.nregions == 32, "mem slots: table fills to 32 regions");
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					2 * GPA1, 0x1000, UVA1 + (1ull << 30), 0,
					memfd1)) == 0 &&
		   read_ack(&t, VHOST_USER_ADD_MEM_REG) == 1 && t.d.mem.nregions == 32,
		   "mem slots: 33rd region refused");

	/* The rings' own memory goes: they stop where they got to. */
	vq->vr.split.broken = false;
	vq->vr.split.last_avail_idx = 7;
	changed0 = t.changed[0];
	KTAP_CHECK(xfer(&t, msg_mem_reg(VHOST_USER_REM_MEM_REG, VHOST_USER_NEED_REPLY_MASK,
					GPA0, MEM_SIZE, UVA0, 0, -1)) == 0 &&
		   read_ack(&t, VHOST_USER_REM_MEM_REG) == 0 && t.d.mem.nregions == 31,
		   "mem slots: region holding the rings removed");
	KTAP_CHECK(!vq->started && !t.d.vq[1].started && !vhost_vring_ready(vq) &&
		   t.changed[0] > changed0,
		   "mem slots: its rings stopped, datapath told");
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE, 0, 0, 0)) == 0 &&
		   read_reply(&t, &rmsg) == 0 && rmsg.payload.state.num == 7,
		   "mem slots: stopped ring reports where it got to");

	/* Framing the validator refuses: the connection is dropped. */
	ret = xfer(&t, msg_mem_reg(VHOST_USER_ADD_MEM_REG, 0, 2 * GPA1, 0x1000,
				   UVA1 + (1ull << 30), 0, -1));
	KTAP_CHECK(ret < 0 && t.d.mem.nregions == 31, "mem slots: ADD_MEM_REG without fd: dropped");
	fmsg.hdr.size = sizeof(fmsg.payload.mem_reg) - 8;
	fmsg.fds[0] = memfd1;
	fmsg.nfds = 1;
	KTAP_CHECK(xfer(&t, &fmsg) < 0 && t.d.mem.nregions == 31,
		   "mem slots: ADD_MEM_REG of 32 bytes: dropped");
	fmsg.hdr.size = sizeof(fmsg.payload.mem_reg);
	fmsg.fds[1] = efd;
	fmsg.nfds = 2;
	KTAP_CHECK(xfer(&t, &fmsg) < 0 && t.d.mem.nregions == 31,
		   "mem slots: ADD_MEM_REG with two fds: dropped");
	fmsg.hdr.request = VHOST_USER_REM_MEM_REG;
	KTAP_CHECK(xfer(&t, &fmsg) < 0 && t.d.mem.nregions == 31,
		   "mem slots: REM_MEM_REG with two fds: dropped");
	fmsg.hdr.size = 48;
	fmsg.nfds = 0;
	KTAP_CHECK(xfer(&t, &fmsg) < 0 && t.d.mem.nregions == 31,
		   "mem slots: REM_MEM_REG of 48 bytes: dropped");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_MAX_MEM_SLOTS, 0, 8)) < 0 &&
		   !reply_pending(t.fe), "mem slots: GET_MAX_MEM_SLOTS with payload: dropped");
	/* GET_VRING_BASE closed ring 0's kick fd. */
	KTAP_CHECK(count_fds() == fds0 + 2 + 3, "mem slots: malformed: fds closed");

	close(memfd1);
	close(efd);
	tdev_close(&t);
	KTAP_CHECK(count_fds() == fds_start && t.d.mem.nregions == 0,
		   "mem slots: reset unmaps every region, no fd left");
}

static void test_framing(void)
{
	struct vhost_user_hdr h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8 };
	uint8_t buf[VHOST_USER_HDR_SIZE + 4], buf2[40];
	struct vhost_user_rx rx;
	struct tdev t;
	int fds[9], fds0, i, err;
	struct timespec t0, t1;
	long ms;

	/* Payload larger than anything we accept. */
	tdev_open(&t);
	fds0 = count_fds();
	h.size = VHOST_USER_PAYLOAD_MAX + 1;
	fds[0] = eventfd(0, EFD_CLOEXEC);
	raw_send(t.fe, &h, sizeof(h), fds, 1);
	close(fds[0]);
	KTAP_CHECK(be_recv(t.be) == -EBADMSG && bmsg.nfds == 0,
		   "payload size 4097: -EBADMSG");
	KTAP_CHECK(count_fds() == fds0, "payload size 4097: fd closed");
	tdev_close(&t);

	/* More fds than any message may carry: cut by the kernel. */
	tdev_open(&t);
	fds0 = count_fds();
	h.request = VHOST_USER_SET_MEM_TABLE;
	h.size = 0;
	for (i = 0; i < 9; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	raw_send(t.fe, &h, sizeof(h), fds, 9);
	for (i = 0; i < 9; i++)
		close(fds[i]);
	KTAP_CHECK(be_recv(t.be) == -EBADMSG,
		   "9 fds: -EBADMSG");
	KTAP_CHECK(count_fds() == fds0, "9 fds: every received fd closed");
	tdev_close(&t);

	/* Fds riding on two segments of one message, 9 in all. */
	tdev_open(&t);
	fds0 = count_fds();
	for (i = 0; i < 9; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	raw_send(t.fe, &h, 6, fds, 8);
	raw_send(t.fe, (uint8_t *)&h + 6, sizeof(h) - 6, fds + 8, 1);
	for (i = 0; i < 9; i++)
		close(fds[i]);
	KTAP_CHECK(be_recv(t.be) == -EBADMSG,
		   "8 + 1 fds over two segments: -EBADMSG");
	KTAP_CHECK(count_fds() == fds0, "8 + 1 fds over two segments: all closed");
	tdev_close(&t);

	/* Truncated payload then EOF. */
	tdev_open(&t);
	h.request = VHOST_USER_SET_FEATURES;
	h.size = 8;
	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0, 4);
	raw_send(t.fe, buf, sizeof(buf), NULL, 0);
	shutdown(t.fe, SHUT_WR);
	KTAP_CHECK(be_recv(t.be) == -EBADMSG,
		   "truncated payload then EOF: -EBADMSG");
	tdev_close(&t);

	/* Truncated header then EOF, with an fd riding on it. */
	tdev_open(&t);
	fds0 = count_fds();
	fds[0] = eventfd(0, EFD_CLOEXEC);
	raw_send(t.fe, &h, 5, fds, 1);
	close(fds[0]);
	shutdown(t.fe, SHUT_WR);
	KTAP_CHECK(be_recv(t.be) == -EBADMSG &&
		   count_fds() == fds0, "truncated header then EOF: -EBADMSG, fd closed");
	tdev_close(&t);

	/* Orderly EOF between messages. */
	tdev_open(&t);
	shutdown(t.fe, SHUT_WR);
	KTAP_CHECK(be_recv(t.be) == -ECONNRESET,
		   "EOF between messages: -ECONNRESET");
	tdev_close(&t);

	/* Header split across writes is still one message. */
	tdev_open(&t);
	h.size = 8;
	memcpy(buf, &h, sizeof(h));
	raw_send(t.fe, buf, 7, NULL, 0);
	raw_send(t.fe, buf + 7, sizeof(h) - 7, NULL, 0);
	raw_send(t.fe, "\x01\x00\x00\x00\x00\x00\x00\x00", 8, NULL, 0);
	KTAP_CHECK(be_recv(t.be) == 0 && bmsg.hdr.size == 8 &&
		   bmsg.payload.u64 == 1, "split message reassembled");

	/* A frontend stalling mid-message is not waited for: the message
	 * stays partial (the relay's deadline drops it), and completes when
	 * the rest comes.
	 */
	raw_send(t.fe, buf, 6, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vhost_user_rx_init(&rx, &bmsg);
	KTAP_CHECK(vhost_user_rx_read(t.be, &rx) == 0 && vhost_user_rx_partial(&rx) &&
		   rx.got == 6 && vhost_user_rx_want(&rx) == 0,
		   "stall mid-header: partial, read returns");
	raw_send(t.fe, buf + 6, sizeof(h) - 6, NULL, 0);
	KTAP_CHECK(vhost_user_rx_read(t.be, &rx) == 0 && rx.got == sizeof(h) &&
		   vhost_user_rx_want(&rx) == sizeof(h) + 8,
		   "stall mid-payload: partial, size known");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ktap_diag("stall: two partial reads took %ld ms", ms);
	KTAP_CHECK(ms < 100, "stall: nothing waited for");
	raw_send(t.fe, "\x02\x00\x00\x00\x00\x00\x00\x00", 8, NULL, 0);
	KTAP_CHECK(vhost_user_rx_read(t.be, &rx) == 1 && bmsg.payload.u64 == 2,
		   "stalled message completes when the rest comes");
	vhost_user_rx_next(&rx);
	KTAP_CHECK(!vhost_user_rx_partial(&rx) && vhost_user_rx_read(t.be, &rx) == 0,
		   "then nothing more: read returns 0");

	/* The blocking receive (frontends, tests) has a deadline too. */
	raw_send(t.fe, buf, 6, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	KTAP_CHECK(vhost_user_msg_recv(t.be, &bmsg) == -ETIMEDOUT,
		   "frontend receive, stall mid-header: -ETIMEDOUT");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ktap_diag("frontend receive: -ETIMEDOUT after %ld ms", ms);
	KTAP_CHECK(ms < 5000, "frontend receive: bounded wait");
	tdev_close(&t);

	/* Two messages queued, each with its fd: the first read stops at the
	 * first's end, so the second's fd is not taken for the first's.
	 */
	tdev_open(&t);
	fds0 = count_fds();
	memset(buf2, 0, sizeof(buf2));
	for (i = 0; i < 2; i++) {
		struct vhost_user_hdr k = { VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, 8 };

		memcpy(buf2 + i * 20, &k, sizeof(k));
		buf2[i * 20 + 12] = i;
	}
	raw_send(t.fe, buf2, 20, &t.call[0], 1);
	raw_send(t.fe, buf2 + 20, 20, &t.call[1], 1);
	vhost_user_rx_init(&rx, &bmsg);
	KTAP_CHECK(vhost_user_rx_read(t.be, &rx) == 1 && bmsg.nfds == 1 &&
		   bmsg.payload.u64 == 0 && fd_linked(t.call[0], bmsg.fds[0]),
		   "two queued messages: the first with its own fd");
	vhost_user_rx_next(&rx);
	KTAP_CHECK(vhost_user_rx_read(t.be, &rx) == 1 && bmsg.nfds == 1 &&
		   bmsg.payload.u64 == 1 && fd_linked(t.call[1], bmsg.fds[0]),
		   "two queued messages: the second with its own fd");
	vhost_user_rx_next(&rx);
	KTAP_CHECK(count_fds() == fds0, "two queued messages: fds closed after");
	tdev_close(&t);

	/* A frontend that never reads its replies: once its socket is full
	 * a reply fails with -ENOBUFS at once, it never blocks.
	 */
	tdev_open(&t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0, err = 0; i < 100000 && !err; i++)
		err = xfer(&t, msg(VHOST_USER_GET_FEATURES, 0, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	KTAP_CHECK(err == -ENOBUFS && i > 1, "replies never read: -ENOBUFS");
	ktap_diag("%d replies fit before the socket was full, %ld ms", i - 1, ms);
	KTAP_CHECK(ms < 1000, "replies never read: no reply waited for");
	tdev_close(&t);
}

static void test_reset_owner(void)
{
	struct tdev t;
	int fds0;

	tdev_open(&t);
	fds0 = count_fds();
	handshake(&t, 0, 0);
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_RESET_OWNER, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_ack(&t, VHOST_USER_RESET_OWNER) == 0,
		   "reset_owner: acked (protocol features kept)");
	KTAP_CHECK(!t.d.vq[0].started && !t.d.vq[1].started &&
		   t.d.vq[0].kickfd == -1 && t.d.vq[1].callfd == -1 &&
		   t.d.mem.nregions == 0 && t.d.features == 0,
		   "reset_owner: rings, memory and features reset");
	KTAP_CHECK(count_fds() == fds0, "reset_owner: backend fds closed");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_RESET_DEVICE, VHOST_USER_NEED_REPLY_MASK, 0)) == 0 &&
		   read_ack(&t, VHOST_USER_RESET_DEVICE) == 1,
		   "reset_device without its feature: refused");
	KTAP_CHECK(handshake(&t, 3, 4) == 0 && vhost_vring_ready(&t.d.vq[1]),
		   "reset_owner: device usable again");
	tdev_close(&t);
}

static void test_msg_api(void)
{
	unsigned int req, named = 0;

	KTAP_CHECK(!strcmp(vhost_user_req_name(VHOST_USER_SET_MEM_TABLE), "SET_MEM_TABLE") &&
		   !strcmp(vhost_user_req_name(VHOST_USER_GET_STATUS), "GET_STATUS") &&
		   !strcmp(vhost_user_req_name(1000), "UNKNOWN"),
		   "request names");
	/* The table has every code up to the last, in order. */
	for (req = 0; req < VHOST_USER_MAX_REQUEST; req++)
		named += strcmp(vhost_user_req_name(req), "UNKNOWN") != 0;
	KTAP_CHECK(named == VHOST_USER_MAX_REQUEST && VHOST_USER_MAX_REQUEST == 41 &&
		   VHOST_USER_REM_MEM_REG == 38,
		   "request table: codes 0..40, each named");
	memset(&fmsg, 0, sizeof(fmsg));
	fmsg.hdr.size = VHOST_USER_PAYLOAD_MAX + 1;
	KTAP_CHECK(vhost_user_msg_send(-1, &fmsg) == -EINVAL, "send: oversized refused");
	fmsg.hdr.size = 0;
	fmsg.nfds = VHOST_USER_MAX_FDS + 1;
	KTAP_CHECK(vhost_user_msg_send(-1, &fmsg) == -EINVAL, "send: too many fds refused");
}

/* Kick and call fds must be eventfds: a pipe whose writer is gone or a
 * regular file would be readable for ever and spin the worker. A kick of
 * NOFD (polling mode) would never be served: refused too.
 */
static void test_kick_call_fds(void)
{
	struct tdev t;
	int pfd[2], sv[2], fds0, memfd;
	bool ok;

	tdev_open(&t);
	if (pipe2(pfd, O_CLOEXEC) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("pipe/socketpair");
	close(pfd[1]);	/* the writer gone: the read end is at EOF for ever */
	memfd = memfd_create("file", MFD_CLOEXEC);
	ok = xfer(&t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO)) == 0 &&
	     xfer(&t, msg_u64(VHOST_USER_SET_FEATURES, 0, FEATURES)) == 0 &&
	     xfer(&t, msg_mem1(0, t.memfd, UVA0)) == 0 &&
	     xfer(&t, msg_state(VHOST_USER_SET_VRING_NUM, 0, 0, RING_NUM)) == 0 &&
	     xfer(&t, msg_ring_addr(0, 0)) == 0;
	fds0 = count_fds();
	KTAP_CHECK(ok && xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
					       VHOST_USER_NEED_REPLY_MASK, 0, pfd[0])) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_KICK) == 1 &&
		   !t.d.vq[0].started && t.d.vq[0].kickfd == -1 && count_fds() == fds0,
		   "kick fd a pipe at EOF: refused, not kept, ring not started");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
					 VHOST_USER_NEED_REPLY_MASK, 0, memfd)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_KICK) == 1 &&
		   !t.d.vq[0].started && count_fds() == fds0,
		   "kick fd a regular file: refused");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_CALL,
					 VHOST_USER_NEED_REPLY_MASK, 0, sv[0])) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_CALL) == 1 &&
		   t.d.vq[0].callfd == -1 && count_fds() == fds0,
		   "call fd a socket: refused");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
					 VHOST_USER_NEED_REPLY_MASK, 0, -1)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_KICK) == 1 && !t.d.vq[0].started,
		   "kick NOFD (polling mode): refused, ring not started");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_CALL,
					 VHOST_USER_NEED_REPLY_MASK, 0, t.call[0])) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_CALL) == 0 &&
		   xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK,
					 VHOST_USER_NEED_REPLY_MASK, 0, t.kick[0])) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_KICK) == 0 && t.d.vq[0].started &&
		   fd_linked(t.call[0], t.d.vq[0].callfd),
		   "eventfds: taken, ring started");
	KTAP_CHECK(xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_CALL,
					 VHOST_USER_NEED_REPLY_MASK, 0, -1)) == 0 &&
		   read_ack(&t, VHOST_USER_SET_VRING_CALL) == 0 && t.d.vq[0].callfd == -1,
		   "call NOFD (no interrupts wanted): taken");
	close(pfd[0]);
	close(sv[0]);
	close(sv[1]);
	close(memfd);
	tdev_close(&t);
}

/* A frontend truncates its guest memory under running rings. The device
 * code that touches rings while handling a message (SET_VRING_ENABLE
 * enabling notifications, the relay's vring_changed) and the datapath meet
 * zero pages instead of SIGBUS; the message after the fault drops the
 * connection, and a new one starts clean.
 */
static void test_shrunk_memory(void)
{
	struct tdev t;
	volatile uint16_t idx;
	int fds0 = count_fds();

	tdev_open(&t);
	t.touch_rings = true;
	KTAP_CHECK(handshake(&t, 0, 0) == 0 && !vhost_dev_faulted(&t.d),
		   "shrunk: rings running");
	if (ftruncate(t.memfd, 0))
		die("ftruncate");
	/* No kick: only SET_VRING_ENABLE, which enables notifications. */
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_ENABLE,
				      VHOST_USER_NEED_REPLY_MASK, 0, 1)) == -EFAULT &&
		   vhost_dev_faulted(&t.d),
		   "shrunk: SET_VRING_ENABLE met the lost pages: connection to drop");
	read_ack(&t, VHOST_USER_SET_VRING_ENABLE);
	vhost_dev_reset(&t.d);
	KTAP_CHECK(!vhost_dev_faulted(&t.d) && t.d.mem.nregions == 0 &&
		   t.d.mem.mapped == 0, "shrunk: reset: fault forgotten, memory unmapped");

	/* The datapath meets them first (a kick reads avail->idx). */
	if (ftruncate(t.memfd, MEM_SIZE))
		die("ftruncate");
	t.touch_rings = false;
	KTAP_CHECK(handshake(&t, 0, 0) == 0 && !vhost_dev_faulted(&t.d),
		   "shrunk: a new connection runs");
	if (ftruncate(t.memfd, 4096))
		die("ftruncate");
	idx = t.d.vq[1].vr.split.avail->idx;
	(void)idx;
	KTAP_CHECK(vhost_dev_fault_pending(&t.d) && vhost_dev_faulted(&t.d) &&
		   xfer(&t, msg(VHOST_USER_GET_FEATURES, 0, 0)) == -EFAULT,
		   "shrunk: after a datapath fault the next message drops the connection");
	tdev_close(&t);
	KTAP_CHECK(count_fds() == fds0, "shrunk: no fd leaked");
}

/* Guest memory is budgeted per device (mem-max) and per process
 * (--mem-max): the frontend mapping 32 regions of a sparse 64 TiB
 * memfd is refused, and another device still maps its guest.
 */
static void test_mem_budget(void)
{
	const uint64_t tib = 1ull << 40;
	struct tdev a, b;
	unsigned int i, refused = 0;
	int sparse;

	tdev_open(&a);
	tdev_open(&b);
	sparse = memfd_create("sparse", MFD_CLOEXEC);
	if (sparse < 0 || ftruncate(sparse, 64 * tib))
		die("sparse memfd");
	xfer(&a, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, PROTO));
	for (i = 0; i < 32; i++)
		refused += xfer(&a, msg_mem_reg(VHOST_USER_ADD_MEM_REG,
						VHOST_USER_NEED_REPLY_MASK,
						i * 2 * tib, 2 * tib,
						0x7e0000000000ull + i * (1ull << 30),
						i * 2 * tib, sparse)) == 0 &&
			   read_ack(&a, VHOST_USER_ADD_MEM_REG) == 1;
	KTAP_CHECK(refused == 32 && a.d.mem.nregions == 0 && a.d.mem.mapped == 0,
		   "mem budget: 32 ADD_MEM_REG of 2 TiB each refused (failure acks)");
	KTAP_CHECK(handshake(&b, 0, 0) == 0 && b.d.mem.nregions == 1,
		   "mem budget: another device maps its guest meanwhile");

	/* A table over the limit: SET_MEM_TABLE cannot be acked as failed
	 * without losing the old table: the connection goes.
	 */
	guest_mem_set_limit(&b.d.mem, MEM_SIZE / 2, "mem-max");
	KTAP_CHECK(xfer(&b, msg_mem1(VHOST_USER_NEED_REPLY_MASK, b.memfd, UVA0)) < 0 &&
		   b.d.mem.nregions == 0,
		   "mem budget: SET_MEM_TABLE over the device's limit drops the connection");
	close(sparse);
	tdev_close(&a);
	tdev_close(&b);
}

int main(void)
{
	if (getenv("VXDP_TEST_DEBUG"))
		log_level = LOG_DEBUG;
	else
		log_level = LOG_EMERG;	/* the hostile cases log a lot */

	ktap_plan(NR_TESTS);
	test_handshake();
	test_legacy_enable();
	test_reply_ack();
	test_multiqueue();
	test_bad_features();
	test_malformed();
	test_bad_index();
	test_vring_num();
	test_ring_bounds();
	test_layout_flip();
	test_framing();
	test_reset_owner();
	test_mem_slots();
	test_msg_api();
	test_kick_call_fds();
	test_shrunk_memory();
	test_mem_budget();
	return ktap_finish();
}
