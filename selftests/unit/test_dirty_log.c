// SPDX-License-Identifier: GPL-2.0
/* Unit tests for live-migration dirty logging: a socketpair plays QEMU, a
 * memfd plays guest RAM and another the log; frames written through the
 * rings must set exactly the bits of the pages they touched.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost/dirty_log.h"
#include "fixtures.h"
#include "frontend.h"
#include "ktap.h"
#include "util/log.h"
#include "vhost/vhost_user_dev.h"
#include "vhost/vhost_user_msg.h"

#define NR_TESTS 53

/* Guest RAM: two regions of one memfd with a hole between them in
 * guest-physical space, so a bit set from a frontend virtual address or
 * a file offset instead of the GPA lands on the wrong page.
 */
#define REG_SIZE	0x80000ull
#define MEM_SIZE	(2 * REG_SIZE)
#define GPA_A		0x100000ull
#define GPA_B		0x400000ull
#define UVA0		0x7f1200000000ull
/* Pages below GPA_B + REG_SIZE, a bit each. */
#define LOG_SIZE	((GPA_B + REG_SIZE) / DIRTY_LOG_PAGE / 8)
#define LOG_FILE	8192	/* log memfd: room around the log */

/* Big enough that a split ring's used ring spans three pages: an element
 * past the middle, used->idx and avail_event each on their own.
 */
#define RING_NUM	1024
#define SPLIT_BASE	600	/* used element 600 is on the 2nd page */
/* Ring i in region A at RING_OFF(i): desc, avail +0x4000, used +0x5000. */
#define RING_OFF(i)	(0x10000ull * ((i) + 1))
#define RING_GPA(i)	(GPA_A + RING_OFF(i))
#define AVAIL_GPA(i)	(RING_GPA(i) + 0x4000)
#define USED_GPA(i)	(RING_GPA(i) + 0x5000)
/* The used ring pages: idx, element SPLIT_BASE.., avail_event. */
#define USED_P0		PAGE(USED_GPA(0))
#define USED_P1		(USED_P0 + 1)
#define USED_P2		(USED_P0 + 2)

#define FEATURES ((1ull << VIRTIO_NET_F_MRG_RXBUF) |			\
		  (1ull << VIRTIO_RING_F_EVENT_IDX) |			\
		  (1ull << VIRTIO_F_VERSION_1) |			\
		  (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
#define LOG_ALL		(1ull << VHOST_F_LOG_ALL)
#define PACKED		(1ull << VIRTIO_F_RING_PACKED)
#define PROTO ((1ull << VHOST_USER_PROTOCOL_F_MQ) |			\
	       (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |		\
	       (1ull << VHOST_USER_PROTOCOL_F_RARP) |			\
	       (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))
#define PROTO_NOLOG	(PROTO & ~(1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD))

#define PAGE(gpa)	((gpa) >> DIRTY_LOG_PAGE_SHIFT)
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)

struct tdev {
	int fe, be;			/* frontend ("QEMU") and backend ends */
	struct vhost_dev d;
	int memfd;
	uint8_t *ram;			/* the frontend's (guest's) view */
	int logfd;
	uint8_t *logmap;		/* the frontend's view of the log file */
	int kick[2], call[2];
	unsigned int changed[2];
	unsigned int rarps;
	uint8_t rarp_mac[6];
};

/* Big: keep them off the stack. */
static struct vhost_user_msg bmsg, rmsg;

static void cb_vring_changed(struct vhost_dev *d, unsigned int q)
{
	struct tdev *t = d->priv;

	if (q < 2)
		t->changed[q]++;
}

static void cb_send_rarp(struct vhost_dev *d, const uint8_t mac[6])
{
	struct tdev *t = d->priv;

	t->rarps++;
	memcpy(t->rarp_mac, mac, 6);
}

static const struct vhost_dev_ops test_ops = {
	.vring_changed = cb_vring_changed,
	.send_rarp = cb_send_rarp,
};

static int memfd_sized(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size))
		die("memfd");
	return fd;
}

static void *map_fd(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void tdev_open(struct tdev *t, uint64_t features, uint64_t proto)
{
	int sv[2], i;

	memset(t, 0, sizeof(*t));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	t->fe = sv[0];
	t->be = sv[1];
	t->memfd = memfd_sized("guest", MEM_SIZE);
	t->ram = map_fd(t->memfd, MEM_SIZE);
	t->logfd = memfd_sized("log", LOG_FILE);
	t->logmap = map_fd(t->logfd, LOG_FILE);
	for (i = 0; i < 2; i++) {
		t->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		t->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick[i] < 0 || t->call[i] < 0)
			die("eventfd");
	}
	vhost_dev_init(&t->d, "test", features, proto, &test_ops, t);
}

static void tdev_close(struct tdev *t)
{
	int i;

	vhost_dev_reset(&t->d);
	close(t->fe);
	close(t->be);
	munmap(t->ram, MEM_SIZE);
	munmap(t->logmap, LOG_FILE);
	close(t->memfd);
	close(t->logfd);
	for (i = 0; i < 2; i++) {
		close(t->kick[i]);
		close(t->call[i]);
	}
}

/* Guest RAM at a guest-physical address, as the guest sees it. */
static void *gpa(struct tdev *t, uint64_t a)
{
	if (a >= GPA_B)
		return t->ram + REG_SIZE + (a - GPA_B);
	return t->ram + (a - GPA_A);
}

static struct vhost_user_msg *msg_state(uint32_t req, uint32_t index,
					uint32_t num)
{
	struct vhost_user_msg *m = msg(req, 0, sizeof(m->payload.state));

	m->payload.state.index = index;
	m->payload.state.num = num;
	return m;
}

/* Ring @i's addresses; with @log, QEMU's way of asking for used ring
 * logging: the F_LOG flag and the used ring's guest-physical address.
 */
static struct vhost_user_msg *msg_ring_addr(uint32_t i, bool log)
{
	struct vhost_user_msg *m = msg(VHOST_USER_SET_VRING_ADDR,
				       log ? VHOST_USER_NEED_REPLY_MASK : 0,
				       sizeof(m->payload.addr));
	uint64_t base = UVA0 + RING_OFF(i);

	m->payload.addr.index = i;
	m->payload.addr.flags = log ? 1u << VHOST_VRING_F_LOG : 0;
	m->payload.addr.desc_user_addr = base;
	m->payload.addr.avail_user_addr = base + 0x4000;
	m->payload.addr.used_user_addr = base + 0x5000;
	m->payload.addr.log_guest_addr = USED_GPA(i);
	return m;
}

static struct vhost_user_msg *msg_vring_fd(uint32_t req, uint64_t index, int fd)
{
	struct vhost_user_msg *m = msg_u64(req, 0, index);

	m->fds[0] = fd;
	m->nfds = 1;
	return m;
}

static struct vhost_user_msg *msg_mem(void)
{
	struct vhost_user_msg *m = msg(VHOST_USER_SET_MEM_TABLE,
				       VHOST_USER_NEED_REPLY_MASK,
				       8 + 2 * sizeof(struct vhost_user_region));

	m->payload.memory.nregions = 2;
	m->payload.memory.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = GPA_A, .memory_size = REG_SIZE,
		.userspace_addr = UVA0, .mmap_offset = 0,
	};
	m->payload.memory.regions[1] = (struct vhost_user_region){
		.guest_phys_addr = GPA_B, .memory_size = REG_SIZE,
		.userspace_addr = UVA0 + REG_SIZE, .mmap_offset = REG_SIZE,
	};
	m->fds[0] = m->fds[1] = -1;	/* filled by the caller */
	m->nfds = 2;
	return m;
}

/* SET_LOG_BASE as QEMU sends it: size and offset, the log's fd. */
static struct vhost_user_msg *msg_log(uint64_t size, uint64_t offset, int fd)
{
	struct vhost_user_msg *m = msg(VHOST_USER_SET_LOG_BASE, 0,
				       sizeof(m->payload.log));

	m->payload.log.mmap_size = size;
	m->payload.log.mmap_offset = offset;
	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return m;
}

static int xfer(struct tdev *t, const struct vhost_user_msg *m)
{
	int err;

	if (vhost_user_msg_send(t->fe, m))
		die("send");
	err = vhost_user_msg_recv(t->be, &bmsg);
	if (err)
		return err;
	return vhost_dev_handle_msg(&t->d, t->be, &bmsg);
}

/* The u64 reply (or REPLY_ACK ack) to @req; false when there is none. */
static bool read_u64(struct tdev *t, uint32_t req, uint64_t *v)
{
	struct pollfd p = { .fd = t->fe, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1 || vhost_user_msg_recv(t->fe, &rmsg) ||
	    rmsg.hdr.request != req || rmsg.hdr.size != 8 ||
	    rmsg.hdr.flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK))
		return false;
	*v = rmsg.payload.u64;
	return true;
}

static bool acked(struct tdev *t, uint32_t req)
{
	uint64_t v;

	return read_u64(t, req, &v) && v == 0;
}

/* QEMU 7.2's vhost_dev_start for both rings, logging off. Returns how many
 * steps went wrong.
 */
static int handshake(struct tdev *t, uint64_t features, uint64_t proto,
		     uint32_t base)
{
	struct vhost_user_msg *m;
	int bad = 0, i;

	bad += xfer(t, msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, proto)) != 0;
	bad += xfer(t, msg(VHOST_USER_SET_OWNER, 0, 0)) != 0;
	bad += xfer(t, msg_u64(VHOST_USER_SET_FEATURES,
			       VHOST_USER_NEED_REPLY_MASK, features)) != 0;
	bad += !acked(t, VHOST_USER_SET_FEATURES);
	m = msg_mem();
	m->fds[0] = m->fds[1] = t->memfd;
	bad += xfer(t, m) != 0;
	bad += !acked(t, VHOST_USER_SET_MEM_TABLE);
	for (i = 0; i < 2; i++) {
		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_NUM, i, RING_NUM)) != 0;
		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_BASE, i, base)) != 0;
		bad += xfer(t, msg_ring_addr(i, false)) != 0;
		bad += xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, i, t->kick[i])) != 0;
		bad += xfer(t, msg_vring_fd(VHOST_USER_SET_VRING_CALL, i, t->call[i])) != 0;
		bad += xfer(t, msg_state(VHOST_USER_SET_VRING_ENABLE, i, 1)) != 0;
		bad += !vhost_vring_ready(&t->d.vq[i]);
	}
	return bad;
}

/* QEMU's vhost_log_global_start: log base (and its reply), LOG_ALL, then
 * each ring's address with F_LOG (@ring_log), every step acked.
 */
static int start_logging(struct tdev *t, uint64_t features, bool ring_log)
{
	uint64_t v;
	int bad = 0, i;

	bad += xfer(t, msg_log(LOG_SIZE, 0, t->logfd)) != 0;
	bad += !read_u64(t, VHOST_USER_SET_LOG_BASE, &v) || v != 0;
	bad += xfer(t, msg_u64(VHOST_USER_SET_FEATURES,
			       VHOST_USER_NEED_REPLY_MASK, features | LOG_ALL)) != 0;
	bad += !acked(t, VHOST_USER_SET_FEATURES);
	for (i = 0; i < 2; i++) {
		bad += xfer(t, msg_ring_addr(i, ring_log)) != 0;
		if (ring_log)
			bad += !acked(t, VHOST_USER_SET_VRING_ADDR);
	}
	bad += reply_pending(t->fe);
	return bad;
}

/* --- the guest's side of the rings ------------------------------------ */

/* Split ring 0: post a chain of writable buffers (gpa, len) pairs. */
static void split_post(struct tdev *t, const uint64_t *bufs, unsigned int n,
		       uint16_t avail_idx)
{
	struct vring_desc *desc = gpa(t, RING_GPA(0));
	struct vring_avail *avail = gpa(t, AVAIL_GPA(0));
	unsigned int i;

	for (i = 0; i < n; i++) {
		desc[i].addr = bufs[2 * i];
		desc[i].len = bufs[2 * i + 1];
		desc[i].flags = VRING_DESC_F_WRITE |
				(i + 1 < n ? VRING_DESC_F_NEXT : 0);
		desc[i].next = i + 1;
	}
	avail->ring[avail_idx % RING_NUM] = 0;
	__atomic_store_n(&avail->idx, avail_idx + 1, __ATOMIC_RELEASE);
}

/* Packed ring 0, wrap counter 1: one writable buffer in slot @slot. */
static void packed_post(struct tdev *t, uint16_t slot, uint64_t addr,
			uint32_t len, uint16_t id)
{
	struct vring_packed_desc *desc = gpa(t, RING_GPA(0));

	desc[slot].addr = addr;
	desc[slot].len = len;
	desc[slot].id = id;
	__atomic_store_n(&desc[slot].flags, F_AVAIL | VRING_DESC_F_WRITE,
			 __ATOMIC_RELEASE);
}

/* The relay's rx path for one frame of @len bytes into the next chain of
 * ring 0: pop, write, push, flush, ask for a kick. Returns 0 or -1.
 */
static int rx_frame(struct tdev *t, size_t len, bool flush)
{
	static uint8_t frame[8192];
	struct vhost_vring *vq = &t->d.vq[0];
	struct vq_chain c;

	if (!vhost_vring_ready(vq) || vq_pop(&vq->vr, &t->d.mem, &c))
		return -1;
	memset(frame, 0xa5, len);
	if (vq_chain_write(&c, 0, frame, len) != len)
		return -1;
	vq_push(&vq->vr, c.head, len, c.ndesc);
	if (flush) {
		vq_flush(&vq->vr);
		vq_notify_enable(&vq->vr);
	}
	return 0;
}

/* --- the log ------------------------------------------------------------ */

static uint8_t *logbits(struct tdev *t)
{
	return t->logmap;
}

static bool log_clear(struct tdev *t)
{
	unsigned int i;

	for (i = 0; i < LOG_FILE; i++)
		if (t->logmap[i])
			return false;
	return true;
}

/* Exactly the pages in @pages (terminated by ~0) set, at log offset @off. */
static bool log_is(struct tdev *t, size_t off, const uint64_t *pages)
{
	static uint8_t want[LOG_FILE];
	unsigned int i;

	memset(want, 0, sizeof(want));
	for (i = 0; pages[i] != ~0ull; i++)
		want[off + pages[i] / 8] |= 1u << (pages[i] % 8);
	if (!memcmp(want, t->logmap, LOG_FILE))
		return true;
	for (i = 0; i < LOG_FILE; i++)
		if (want[i] != t->logmap[i])
			ktap_diag("log byte %u (pages %u-%u): 0x%02x, expected 0x%02x",
				  i - (unsigned int)off, (i - (unsigned int)off) * 8,
				  (i - (unsigned int)off) * 8 + 7, t->logmap[i], want[i]);
	return false;
}

/* --- tests --------------------------------------------------------------- */

static void test_offered(void)
{
	struct tdev t;
	uint64_t v;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_FEATURES, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_FEATURES, &v) && (v & LOG_ALL),
		   "get_features: VHOST_F_LOG_ALL offered");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_PROTOCOL_FEATURES, &v) &&
		   (v & (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD)),
		   "get_protocol_features: LOG_SHMFD offered");
	tdev_close(&t);
}

/* A split ring: a two-buffer chain, one buffer across a page boundary in
 * region A, one across one in region B; then the used ring.
 */
static void test_split(void)
{
	const uint64_t bufs[] = {
		GPA_A + 0x30f00, 0x200,		/* pages A+0x30, A+0x31 */
		GPA_B + 0x1ff0, 0x100,		/* pages B+1, B+2 */
	};
	const uint64_t all[] = {
		PAGE(GPA_A) + 0x30, PAGE(GPA_A) + 0x31,
		PAGE(GPA_B) + 1, PAGE(GPA_B) + 2, USED_P0, USED_P1, USED_P2, ~0ull,
	};
	const uint64_t bufs_only[] = {
		PAGE(GPA_A) + 0x30, PAGE(GPA_A) + 0x31,
		PAGE(GPA_B) + 1, PAGE(GPA_B) + 2, ~0ull,
	};
	struct vring_used *used;
	struct tdev t;
	uint64_t v;
	int fds0 = count_fds();

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	used = gpa(&t, USED_GPA(0));
	KTAP_CHECK(handshake(&t, FEATURES, PROTO, SPLIT_BASE) == 0,
		   "split: QEMU-style start, logging off");

	/* A log, but no LOG_ALL yet: nothing is marked. */
	KTAP_CHECK(xfer(&t, msg_log(LOG_SIZE, 0, t.logfd)) == 0 &&
		   read_u64(&t, VHOST_USER_SET_LOG_BASE, &v) && v == 0 &&
		   rmsg.hdr.size == 8,
		   "set_log_base: mapped, answered with u64 0");
	KTAP_CHECK(t.d.log.bits && t.d.log.size == LOG_SIZE,
		   "set_log_base: log of the size the frontend gave");
	split_post(&t, bufs, 2, SPLIT_BASE);
	KTAP_CHECK(rx_frame(&t, 0x280, true) == 0 && used->idx == SPLIT_BASE + 1 &&
		   log_clear(&t), "logging off: frame written, no bit set");

	/* Migration starts: LOG_ALL, ring addresses with F_LOG. */
	KTAP_CHECK(start_logging(&t, FEATURES, true) == 0,
		   "log_all + ring F_LOG: acked as QEMU waits for");
	KTAP_CHECK(t.d.vq[0].vr.split.log == &t.d.log &&
		   t.d.vq[0].vr.split.log_used &&
		   vhost_vring_ready(&t.d.vq[0]),
		   "log_all: rings log, still running");
	split_post(&t, bufs, 2, SPLIT_BASE + 1);
	KTAP_CHECK(rx_frame(&t, 0x280, true) == 0 && used->idx == SPLIT_BASE + 2,
		   "logging on: frame written");
	KTAP_CHECK(log_is(&t, 0, all),
		   "logging on: exactly the buffer pages (both regions, by GPA) and the used ring's element, idx and avail_event pages");

	/* Short frame: only the pages written, not the whole buffer. */
	memset(t.logmap, 0, LOG_FILE);
	split_post(&t, bufs, 2, SPLIT_BASE + 2);
	KTAP_CHECK(rx_frame(&t, 0x80, true) == 0 &&
		   log_is(&t, 0, (const uint64_t[]){ PAGE(GPA_A) + 0x30,
			  USED_P0, USED_P1, USED_P2, ~0ull }),
		   "logging on: only pages the frame reached");

	/* LOG_ALL without F_LOG on the ring: buffers, not the used ring. */
	memset(t.logmap, 0, LOG_FILE);
	KTAP_CHECK(xfer(&t, msg_ring_addr(0, false)) == 0 &&
		   !t.d.vq[0].vr.split.log_used, "ring without F_LOG: used ring not logged");
	split_post(&t, bufs, 2, SPLIT_BASE + 3);
	KTAP_CHECK(rx_frame(&t, 0x280, true) == 0 && log_is(&t, 0, bufs_only),
		   "ring without F_LOG: buffer pages only");

	/* Pushed but not flushed when the frontend stops the ring: the
	 * entry is published (and logged) before GET_VRING_BASE answers.
	 */
	memset(t.logmap, 0, LOG_FILE);
	KTAP_CHECK(xfer(&t, msg_ring_addr(0, true)) == 0 &&
		   acked(&t, VHOST_USER_SET_VRING_ADDR), "ring F_LOG again");
	split_post(&t, bufs, 2, SPLIT_BASE + 4);
	KTAP_CHECK(rx_frame(&t, 0x100, false) == 0 && used->idx == SPLIT_BASE + 4,
		   "pushed, not yet flushed");
	memset(t.logmap, 0, LOG_FILE);
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_VRING_BASE, &v) &&
		   (v >> 32) == SPLIT_BASE + 5 && used->idx == SPLIT_BASE + 5 &&
		   used->ring[SPLIT_BASE + 4].len == 0x100 &&
		   log_is(&t, 0, (const uint64_t[]){ USED_P0, ~0ull }),
		   "get_vring_base: flushes (and logs) the pending used entry before answering");
	KTAP_CHECK(!vhost_vring_ready(&t.d.vq[0]), "get_vring_base: ring stopped");

	/* Logging stops (migration cancelled): LOG_ALL off. */
	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SET_FEATURES,
				    VHOST_USER_NEED_REPLY_MASK, FEATURES)) == 0 &&
		   acked(&t, VHOST_USER_SET_FEATURES) &&
		   !t.d.vq[1].vr.split.log, "log_all off: rings stop logging");

	/* Restarted and logging again, into a new log at an unaligned offset
	 * of the same file: marks go only there.
	 */
	memset(t.logmap, 0, LOG_FILE);
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_SET_VRING_BASE, 0, SPLIT_BASE + 5)) == 0 &&
		   xfer(&t, msg_vring_fd(VHOST_USER_SET_VRING_KICK, 0, t.kick[0])) == 0 &&
		   xfer(&t, msg_state(VHOST_USER_SET_VRING_ENABLE, 0, 1)) == 0 &&
		   start_logging(&t, FEATURES, true) == 0 &&
		   xfer(&t, msg_log(LOG_SIZE, 1000, t.logfd)) == 0 &&
		   read_u64(&t, VHOST_USER_SET_LOG_BASE, &v) &&
		   vhost_vring_ready(&t.d.vq[0]),
		   "restart, logging, log replaced by one at offset 1000");
	split_post(&t, bufs, 2, SPLIT_BASE + 5);
	KTAP_CHECK(rx_frame(&t, 0x180, true) == 0 &&
		   log_is(&t, 1000, (const uint64_t[]){ PAGE(GPA_A) + 0x30,
			  PAGE(GPA_A) + 0x31, USED_P0, USED_P1, USED_P2, ~0ull }),
		   "replaced log: bits at the new offset only, old place untouched");

	/* The log goes away with the device state. */
	vhost_dev_reset(&t.d);
	KTAP_CHECK(!t.d.log.bits && !t.d.log.map_base, "reset: log unmapped");
	tdev_close(&t);
	KTAP_CHECK(count_fds() == fds0, "split: no fd leaked");
}

/* A packed ring: used descriptors go into the descriptor ring itself, the
 * device event area is where log_guest_addr points.
 */
static void test_packed(void)
{
	const uint64_t buf = GPA_B + 0x5000;
	struct vring_packed_desc *desc;
	struct tdev t;
	uint64_t v;

	tdev_open(&t, FEATURES | PACKED | LOG_ALL, PROTO);
	desc = gpa(&t, RING_GPA(0));
	KTAP_CHECK(handshake(&t, FEATURES | PACKED, PROTO, 0x80008000) == 0 &&
		   t.d.vq[0].vr.packed, "packed: QEMU-style start");
	packed_post(&t, 0, buf, 0x100, 7);
	KTAP_CHECK(rx_frame(&t, 0x40, true) == 0 && desc[0].id == 7 &&
		   desc[0].len == 0x40 && log_clear(&t),
		   "packed, logging off: used, no bit set");

	KTAP_CHECK(start_logging(&t, FEATURES | PACKED, true) == 0 &&
		   t.d.vq[0].vr.pk.log == &t.d.log && t.d.vq[0].vr.pk.log_ring &&
		   t.d.vq[0].vr.pk.log_desc_gpa == RING_GPA(0) &&
		   t.d.vq[0].vr.pk.log_event_gpa == USED_GPA(0),
		   "packed: logging on, descriptor ring GPA from the memory table");
	memset(t.logmap, 0, LOG_FILE);
	packed_post(&t, 1, buf, 0x100, 9);
	KTAP_CHECK(rx_frame(&t, 0x40, true) == 0 && desc[1].id == 9,
		   "packed, logging on: used");
	KTAP_CHECK(log_is(&t, 0, (const uint64_t[]){ PAGE(buf), PAGE(RING_GPA(0)),
			  USED_P0, ~0ull }),
		   "packed: buffer, descriptor ring and device event area pages");

	memset(t.logmap, 0, LOG_FILE);
	KTAP_CHECK(xfer(&t, msg_state(VHOST_USER_GET_VRING_BASE, 0, 0)) == 0 &&
		   read_u64(&t, VHOST_USER_GET_VRING_BASE, &v) &&
		   (uint32_t)(v >> 32) == 0x80028002 && log_clear(&t),
		   "packed: get_vring_base with nothing pending writes nothing");
	tdev_close(&t);
}

/* QEMU starting a device while a migration runs: LOG_ALL and the rings
 * come before SET_LOG_BASE. Nothing may be written unlogged meanwhile.
 */
static void test_log_wait(void)
{
	const uint64_t bufs[] = { GPA_A + 0x40000, 0x100 };
	struct tdev t;
	unsigned int changed;
	uint64_t v;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	KTAP_CHECK(handshake(&t, FEATURES | LOG_ALL, PROTO, 0) > 0 &&
		   t.d.vq[0].started && !vhost_vring_ready(&t.d.vq[0]) &&
		   t.d.vq[0].log_wait,
		   "log_all without a log: rings started but held");
	changed = t.changed[0];
	split_post(&t, bufs, 1, 0);
	KTAP_CHECK(xfer(&t, msg_log(LOG_SIZE, 0, t.logfd)) == 0 &&
		   read_u64(&t, VHOST_USER_SET_LOG_BASE, &v) &&
		   vhost_vring_ready(&t.d.vq[0]) && t.changed[0] > changed,
		   "set_log_base: held rings run, datapath told");
	KTAP_CHECK(rx_frame(&t, 0x10, true) == 0 &&
		   log_is(&t, 0, (const uint64_t[]){ PAGE(bufs[0]), ~0ull }),
		   "held ring, then logged: buffer page (no F_LOG on the ring yet)");
	tdev_close(&t);
}

/* Each malformed SET_LOG_BASE: refused (negative: the relay drops the
 * connection), nothing mapped, its fd closed, no crash.
 */
static void test_malformed(void)
{
	struct vhost_user_msg *m;
	struct tdev t;
	int fds0, small;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	handshake(&t, FEATURES, PROTO, 0);
	small = memfd_sized("small", 4096);
	fds0 = count_fds();

	KTAP_CHECK(xfer(&t, msg_log(0, 0, t.logfd)) < 0 && !t.d.log.bits &&
		   !reply_pending(t.fe), "set_log_base: size 0 refused");
	KTAP_CHECK(xfer(&t, msg_log(64, UINT64_MAX - 8, t.logfd)) < 0 &&
		   !t.d.log.bits, "set_log_base: offset + size wrapping refused");
	KTAP_CHECK(xfer(&t, msg_log(64, 1ull << 63, t.logfd)) < 0 &&
		   !t.d.log.bits, "set_log_base: offset past off_t refused");
	KTAP_CHECK(xfer(&t, msg_log(DIRTY_LOG_MAX_SIZE + 1, 0, t.logfd)) < 0 &&
		   !t.d.log.bits, "set_log_base: absurd size refused");
	KTAP_CHECK(xfer(&t, msg_log(64, 4096 - 32, small)) < 0 && !t.d.log.bits,
		   "set_log_base: log past the end of its file refused (no SIGBUS later)");
	KTAP_CHECK(xfer(&t, msg_log(64, 0, -1)) < 0 && !t.d.log.bits,
		   "set_log_base: missing fd refused");
	m = msg_log(64, 0, t.logfd);
	m->hdr.size = 0;
	KTAP_CHECK(xfer(&t, m) < 0 && !t.d.log.bits,
		   "set_log_base: empty payload refused");
	m = msg_log(64, 0, t.logfd);
	m->fds[1] = small;
	m->nfds = 2;
	KTAP_CHECK(xfer(&t, m) < 0 && !t.d.log.bits,
		   "set_log_base: two fds refused");
	KTAP_CHECK(count_fds() == fds0, "set_log_base refusals: no fd leaked");

	/* A good log, then a bad one: the good one must not stay in use. */
	KTAP_CHECK(xfer(&t, msg_log(LOG_SIZE, 0, t.logfd)) == 0 &&
		   acked(&t, VHOST_USER_SET_LOG_BASE) && t.d.log.bits &&
		   xfer(&t, msg_log(0, 0, t.logfd)) < 0 && !t.d.log.bits,
		   "set_log_base: a refused replacement unmaps the old log");
	tdev_close(&t);
	close(small);

	/* LOG_SHMFD not negotiated: there is no shared log to take. */
	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	handshake(&t, FEATURES, PROTO_NOLOG, 0);
	KTAP_CHECK(xfer(&t, msg_log(LOG_SIZE, 0, t.logfd)) < 0 && !t.d.log.bits,
		   "set_log_base without LOG_SHMFD negotiated: refused");
	tdev_close(&t);
}

/* Pages beyond the log are the frontend's error: no write past the log. */
static void test_beyond(void)
{
	const uint64_t bufs[] = { GPA_B + 0x100, 0x10 };
	struct dirty_log *l;
	struct tdev t;
	uint64_t v;
	bool past = true;
	unsigned int i;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	handshake(&t, FEATURES, PROTO, 0);
	/* A log covering only region A: 8 bytes per 256 KiB. */
	KTAP_CHECK(xfer(&t, msg_log(PAGE(GPA_B) / 8, 0, t.logfd)) == 0 &&
		   read_u64(&t, VHOST_USER_SET_LOG_BASE, &v) &&
		   xfer(&t, msg_u64(VHOST_USER_SET_FEATURES,
				    VHOST_USER_NEED_REPLY_MASK, FEATURES | LOG_ALL)) == 0 &&
		   acked(&t, VHOST_USER_SET_FEATURES), "short log, logging on");
	split_post(&t, bufs, 1, 0);
	KTAP_CHECK(rx_frame(&t, 0x10, true) == 0, "frame into a page the log does not cover");
	l = &t.d.log;
	for (i = PAGE(GPA_B) / 8; i < LOG_FILE; i++)
		past = past && !t.logmap[i];
	KTAP_CHECK(past && l->refused == 1 && l->refused_logged,
		   "beyond the log: refused and counted, nothing written past it");

	/* Straddling the end: the covered part is marked. */
	dirty_log_mark(l, GPA_B - 0x1000, 0x2000);
	KTAP_CHECK(logbits(&t)[PAGE(GPA_B) / 8 - 1] & 0x80 &&
		   t.logmap[PAGE(GPA_B) / 8] == 0 && l->refused == 2,
		   "straddling the end: last covered page marked, the rest refused");
	dirty_log_mark(l, UINT64_MAX - 10, 100);
	dirty_log_mark(l, 0x2000, 0);
	KTAP_CHECK(l->refused == 3 && !(t.logmap[0] & 0x04),
		   "range wrapping 2^64 refused; empty range marks nothing");
	tdev_close(&t);
}

static void test_misc(void)
{
	struct vhost_user_msg *m;
	struct tdev t;
	int efd, fds0;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	handshake(&t, FEATURES, PROTO, 0);
	efd = eventfd(0, EFD_CLOEXEC);
	fds0 = count_fds();
	m = msg(VHOST_USER_SET_LOG_FD, VHOST_USER_NEED_REPLY_MASK, 0);
	m->fds[0] = efd;
	m->nfds = 1;
	KTAP_CHECK(xfer(&t, m) == 0 && acked(&t, VHOST_USER_SET_LOG_FD) &&
		   count_fds() == fds0, "set_log_fd: accepted, fd not kept");
	close(efd);

	KTAP_CHECK(xfer(&t, msg_u64(VHOST_USER_SEND_RARP, VHOST_USER_NEED_REPLY_MASK,
				    0x563412005452ull)) == 0 &&
		   acked(&t, VHOST_USER_SEND_RARP) && t.rarps == 1 &&
		   !memcmp(t.rarp_mac, "\x52\x54\x00\x12\x34\x56", 6),
		   "send_rarp: the send_rarp op gets the guest's MAC");
	tdev_close(&t);
}

/* The frontend truncates the log file after SET_LOG_BASE: marking a page
 * must not kill us. The log reads zeros from then on, the device says it
 * faulted (not the guest memory), and the next message drops the
 * connection.
 */
static void test_truncated_log(void)
{
	const uint64_t bufs[] = { GPA_A + 0x40000, 0x100 };
	struct tdev t;

	tdev_open(&t, FEATURES | LOG_ALL, PROTO);
	KTAP_CHECK(handshake(&t, FEATURES, PROTO, 0) == 0 &&
		   start_logging(&t, FEATURES, true) == 0,
		   "truncated log: logging on");
	/* From here on the test's own view of the log file would fault too. */
	if (ftruncate(t.logfd, 0))
		die("ftruncate");
	split_post(&t, bufs, 1, 0);
	KTAP_CHECK(rx_frame(&t, 0x100, true) == 0 && dirty_log_faulted(&t.d.log) &&
		   !guest_mem_faulted(&t.d.mem),
		   "truncated log: frame written and marked into zero pages, log faulted");
	KTAP_CHECK(xfer(&t, msg(VHOST_USER_GET_FEATURES, 0, 0)) == -EFAULT,
		   "truncated log: the next message drops the connection");
	dirty_log_unmap(&t.d.log);
	KTAP_CHECK(!dirty_log_faulted(&t.d.log), "truncated log: gone with its mapping");
	munmap(t.logmap, LOG_FILE);
	t.logmap = map_fd(t.logfd, LOG_FILE);	/* tdev_close unmaps it */
	tdev_close(&t);
}

int main(void)
{
	if (getenv("VXDP_TEST_DEBUG"))
		log_level = LOG_DEBUG;
	else
		log_level = LOG_EMERG;	/* the hostile cases log a lot */

	ktap_plan(NR_TESTS);
	test_offered();
	test_split();
	test_packed();
	test_log_wait();
	test_malformed();
	test_beyond();
	test_misc();
	test_truncated_log();
	return ktap_finish();
}
