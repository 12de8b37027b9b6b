// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target for the vhost-user backend: the input is a script of
 * frontend messages (with file descriptors), guest RAM writes and datapath
 * runs, played through a socketpair into vhost_user_msg and vhost_user_dev.
 *
 * Input: a sequence of records, each starting with a tag byte:
 *   bits 0-2  n, a number of fds
 *   bits 3-4  their kind: eventfd, guest RAM memfd, small memfd, /dev/zero
 *   bits 5-7  what the record is:
 *     0  a message in one write carrying n fds
 *     1  a message in one write carrying n + 2 fds (up to one too many)
 *     2  header, then payload with the n fds
 *     3  header with n fds, then payload with n more (up to 14 in all)
 *     4  its first byte, then the rest of the header with the n fds, then
 *        the payload
 *     5  as 0
 *     6  guest write into RAM: le32 offset, u8 len, len bytes; with
 *        n = 7, the frontend resizes a memfd instead: le32 size (modulo
 *        the full size + 1, down to a page) of guest RAM (kind 1) or the
 *        small memfd (kind 2: a DIMM, the dirty log), shrinking it under
 *        the backend's mappings
 *     7  run the datapath over every ready ring
 * A message is a 12-byte header and hdr.size payload bytes, cut short by
 * the end of the input.
 * File descriptors cannot come from bytes, hence the tag; guest RAM is one
 * memfd the frontend (this harness) keeps, as QEMU does.
 */
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
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "util/log.h"
#include "vhost/vhost_user_dev.h"
#include "vhost/vhost_user_msg.h"
#include "virtio/vring_split.h"

/* Everything vhost_user_dev implements, so every handler is reachable. */
#define FZ_FEATURES ((1ull << VIRTIO_F_VERSION_1) |			\
		     (1ull << VIRTIO_F_ANY_LAYOUT) |			\
		     (1ull << VIRTIO_NET_F_MRG_RXBUF) |			\
		     (1ull << VIRTIO_RING_F_EVENT_IDX) |		\
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC) |		\
		     (1ull << VIRTIO_F_RING_PACKED) |			\
		     (1ull << VHOST_F_LOG_ALL) |			\
		     (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
/* Every protocol feature too, from the device's own list. */
#define FZ_PROTO VHOST_DEV_PROTOCOL_IMPL

/* Big enough for the largest split ring (32768 entries) and then some. */
#define FZ_RAM_SIZE	(2u << 20)
#define FZ_SMALL_SIZE	(64u << 10)

enum { FD_EVENT, FD_RAM, FD_SMALL, FD_ZERO };

enum {
	REC_MSG, REC_MSG_MORE_FDS, REC_MSG_SPLIT, REC_MSG_SPLIT_FDS2,
	REC_MSG_BYTE, REC_MSG_5, REC_POKE, REC_RUN,
};

#define FZ_QUEUE_PAIRS	2
#define FZ_MAX_FDS	9	/* one more than a message may carry */
#define FZ_MAX_CHAINS	4	/* per ring and datapath run */
/* Window scanned for leaked fds: more than one input can have open (three
 * per vring, a message's worth, the harness's own).
 */
#define FZ_FD_WINDOW	(3 * VHOST_DEV_MAX_VRINGS + 64)

struct fz {
	int fe, be;		/* frontend ("QEMU") and backend ends */
	int ram, small;		/* memfds, created on first use */
	size_t ram_size, small_size;	/* their sizes now (REC_POKE resize) */
	uint8_t *ram_map;	/* the frontend's view of guest RAM */
	struct vhost_dev d;
	bool work;		/* a ring changed: run the datapath */
	bool eof;		/* frontend has shut its side down */
	bool dropped;		/* backend gave up on the connection */
};

static struct fz fz;
/* Big: keep it off the stack. */
static struct vhost_user_msg msg;

static void fail(const char *what, int v)
{
	fprintf(stderr, "fuzz_vhost_user: invariant broken: %s (%d)\n", what, v);
	abort();
}

static bool in_mem(const struct guest_mem *m, const void *p, size_t len)
{
	const uint8_t *b = p;
	unsigned int i;

	for (i = 0; i < m->nregions; i++) {
		const struct guest_region *r = &m->r[i];

		if (b >= r->hva && len <= r->size &&
		    (uint64_t)(b - r->hva) <= r->size - len)
			return true;
	}
	return false;
}

/* A started ring only ever points into the current memory table: a stale
 * pointer would read unmapped memory, or worse, memory mapped again since.
 */
static void check_ring(const struct vhost_dev *d, unsigned int q)
{
	const struct vhost_vring *vq = &d->vq[q];
	const struct dirty_log *log;

	if (!vq->started)
		return;
	/* Migration: a ring the datapath may run while VHOST_F_LOG_ALL is
	 * acked logs into the device's log, and no ring logs into none.
	 */
	log = vq->vr.packed ? vq->vr.pk.log : vq->vr.split.log;
	if (vhost_vring_ready(vq) && vhost_dev_has_feature(d, VHOST_F_LOG_ALL) &&
	    log != &d->log)
		fail("ring runs unlogged while LOG_ALL is acked", q);
	if (log && (!dirty_log_mapped(&d->log) ||
		    !vhost_dev_has_feature(d, VHOST_F_LOG_ALL)))
		fail("ring logs without a log or LOG_ALL", q);
	if (vq->vr.packed) {
		const struct vring_packed *vr = &vq->vr.pk;

		if (!vr->num || vr->num > VQ_MAX_SIZE)
			fail("started ring has a bad size", vr->num);
		if (!in_mem(&d->mem, vr->desc, vring_packed_desc_size(vr->num)) ||
		    !in_mem(&d->mem, vr->driver_event, vring_packed_event_size()) ||
		    !in_mem(&d->mem, vr->device_event, vring_packed_event_size()))
			fail("started ring outside guest memory", q);
	} else {
		const struct vring_split *vr = &vq->vr.split;

		if (!vr->num || (vr->num & (vr->num - 1)) || vr->num > VQ_MAX_SIZE)
			fail("started ring has a bad size", vr->num);
		if (!in_mem(&d->mem, vr->desc, vring_split_desc_size(vr->num)) ||
		    !in_mem(&d->mem, vr->avail, vring_split_avail_size(vr->num)) ||
		    !in_mem(&d->mem, vr->used, vring_split_used_size(vr->num)))
			fail("started ring outside guest memory", q);
	}
}

/* Roughly the relay's datapath: rx (even vrings) takes frames into guest
 * buffers, tx (odd) reads frames out; a chain too small for a frame is
 * given back.
 */
static void run_ring(struct vhost_dev *d, unsigned int q)
{
	struct vhost_vring *vq = &d->vq[q];
	static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t buf[64];
	struct vq_chain c;
	unsigned int n;
	int err;

	if (!vhost_vring_ready(vq))
		return;
	check_ring(d, q);
	for (n = 0; n < FZ_MAX_CHAINS; n++) {
		uint32_t len = 0, reads = vq_desc_reads(&vq->vr);

		err = vq_pop(&vq->vr, &d->mem, &c);
		/* What the relay's budget relies on: a bounded cost per pop. */
		if (vq_desc_reads(&vq->vr) - reads > VQ_CHAIN_MAX_IOV + 2)
			fail("a pop read more descriptors than a chain may hold",
			     (int)(vq_desc_reads(&vq->vr) - reads));
		if (err) {
			pr_debug("vring %u: pop: %s", q, strerror(-err));
			break;
		}
		pr_debug("vring %u: chain %u: out %u in %u", q, c.head,
			 c.out_len, c.in_len);
		if (q % 2 == 0) {
			if (c.in_len < sizeof(frame)) {
				vq_unpop(&vq->vr, 1);
				break;
			}
			len = vq_chain_write(&c, 0, frame, sizeof(frame));
		} else {
			(void)vq_chain_read(&c, 0, buf, sizeof(buf));
		}
		vq_push(&vq->vr, c.head, len, c.ndesc);
	}
	vq_flush(&vq->vr);
	(void)vq_should_notify(&vq->vr);
	(void)vq_notify_enable(&vq->vr);
}

static void run_datapath(struct fz *f)
{
	unsigned int q;

	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++)
		check_ring(&f->d, q);
	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++)
		run_ring(&f->d, q);
	f->work = false;
	/* As relay_run() does after each run: a shrunk memfd condemns the
	 * connection (vhost_dev_faulted() takes note).
	 */
	if (vhost_dev_fault_pending(&f->d))
		(void)vhost_dev_faulted(&f->d);
}

/* What relay_vring_changed() does: ask for kicks, run the ring later. */
static void cb_vring_changed(struct vhost_dev *d, unsigned int q)
{
	struct fz *f = d->priv;
	struct vhost_vring *vq;

	if (q >= VHOST_DEV_MAX_VRINGS)
		fail("vring_changed: bad queue", q);
	vq = &d->vq[q];
	check_ring(d, q);
	if (!vhost_vring_ready(vq))
		return;
	(void)vq_notify_enable(&vq->vr);
	f->work = true;
}

static void cb_mem_changing(struct vhost_dev *d)
{
	(void)d;
}

static const struct vhost_dev_ops fz_ops = {
	.vring_changed = cb_vring_changed,
	.mem_changing = cb_mem_changing,
};

static int memfd(int *fd, size_t size)
{
	if (*fd >= 0)
		return 0;
	*fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (*fd < 0)
		return -1;
	if (ftruncate(*fd, size)) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* Make @n fds of @kind for one write; @own[i] says the harness made it
 * for this write only and closes it once sent.
 */
static void make_fds(struct fz *f, unsigned int kind, unsigned int n,
		     int *fds, bool *own)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		own[i] = false;
		switch (kind) {
		case FD_EVENT:
			fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			own[i] = true;
			break;
		case FD_RAM:
			fds[i] = memfd(&f->ram, FZ_RAM_SIZE) ? -1 : f->ram;
			break;
		case FD_SMALL:
			fds[i] = memfd(&f->small, FZ_SMALL_SIZE) ? -1 : f->small;
			break;
		default:
			fds[i] = open("/dev/zero", O_RDWR | O_CLOEXEC);
			own[i] = true;
			break;
		}
		if (fds[i] < 0)
			fail("cannot make an fd", errno);
	}
}

/* Write @len bytes with @nfds fresh fds of @kind riding on the first.
 * False when the socket would block: the frontend then gives up.
 */
static bool send_chunk(struct fz *f, const uint8_t *p, size_t len,
		       unsigned int kind, unsigned int nfds)
{
	VHOST_USER_FDS_CMSG(FZ_MAX_FDS) cbuf;
	int fds[FZ_MAX_FDS];
	bool own[FZ_MAX_FDS];
	unsigned int i, n = nfds;
	bool ok = true;

	if (!len)
		return true;
	make_fds(f, kind, nfds, fds, own);
	while (len) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t sent;

		/* n <= FZ_MAX_FDS: it fits */
		vhost_user_fds_attach(&mh, cbuf.buf, sizeof(cbuf), fds, n);
		sent = sendmsg(f->fe, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0) {
			ok = false;
			break;
		}
		p += sent;
		len -= sent;
		n = 0;
	}
	for (i = 0; i < nfds; i++)
		if (own[i])
			close(fds[i]);
	return ok;
}

/* Read whatever the backend answered. Every reply it can send is a u64 or
 * a vring state: 8 bytes of payload, the REPLY flag and version 1.
 */
static void drain_replies(struct fz *f)
{
	uint8_t buf[4096];
	ssize_t n, off;

	while ((n = recv(f->fe, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (n % (VHOST_USER_HDR_SIZE + 8))
			fail("reply of odd size", (int)n);
		for (off = 0; off < n; off += VHOST_USER_HDR_SIZE + 8) {
			struct vhost_user_hdr h;

			memcpy(&h, buf + off, sizeof(h));
			if (h.size != 8 ||
			    h.flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK))
				fail("malformed reply", (int)h.request);
		}
	}
}

/* Receive (the relay's way: what the socket has, never waiting) and handle
 * one message. False when the backend drops the connection, as
 * relay_conn.c does on any error and on a message still incomplete at its
 * deadline (everything the frontend sends is queued before this runs).
 */
static bool backend_step(struct fz *f)
{
	bool faulted = f->d.faulted;
	struct vhost_user_rx rx;
	int err;

	vhost_user_rx_init(&rx, &msg);
	err = vhost_user_rx_read(f->be, &rx);
	if (err == 0 && vhost_user_rx_partial(&rx)) {
		vhost_user_rx_next(&rx);
		err = -ETIMEDOUT;
	} else if (err == 1) {
		if (msg.nfds > VHOST_USER_MAX_FDS)
			fail("too many fds received", (int)msg.nfds);
		err = vhost_dev_handle_msg(&f->d, f->be, &msg);
		if (msg.nfds)
			fail("handler left fds in the message", (int)msg.nfds);
		/* Memory the frontend shrank under us ends the connection
		 * at the next message, whatever it asks.
		 */
		if (faulted && !err)
			fail("connection kept after a shrunk memfd", (int)msg.hdr.request);
		vhost_user_rx_next(&rx);
	} else if (err > 0) {
		fail("receive returned", err);
	}
	drain_replies(f);
	if (f->work && !err)
		run_datapath(f);
	return !err;
}

static void frontend_eof(struct fz *f)
{
	if (!f->eof)
		shutdown(f->fe, SHUT_WR);
	f->eof = true;
}

/* Play one message record; returns the bytes it used. */
static size_t play_msg(struct fz *f, uint8_t tag, const uint8_t *p,
		       size_t left)
{
	unsigned int n = tag & 7, kind = (tag >> 3) & 3;
	struct vhost_user_hdr h;
	size_t len, hlen;
	bool sent;

	hlen = left < sizeof(h) ? left : sizeof(h);
	memset(&h, 0, sizeof(h));
	memcpy(&h, p, hlen);
	len = hlen == sizeof(h) ? hlen + h.size : hlen;
	if (len > left)
		len = left;

	/* Every chunk is queued before the backend reads, so it never waits
	 * for the rest of a message.
	 */
	switch (hlen < 2 ? REC_MSG : tag >> 5) {
	case REC_MSG_MORE_FDS:
		sent = send_chunk(f, p, len, kind, n + 2);
		break;
	case REC_MSG_SPLIT:
		sent = send_chunk(f, p, hlen, kind, len > hlen ? 0 : n) &&
		       send_chunk(f, p + hlen, len - hlen, kind, n);
		break;
	case REC_MSG_SPLIT_FDS2:
		sent = send_chunk(f, p, hlen, kind, n) &&
		       send_chunk(f, p + hlen, len - hlen, kind, n);
		break;
	case REC_MSG_BYTE:
		sent = send_chunk(f, p, 1, kind, 0) &&
		       send_chunk(f, p + 1, hlen - 1, kind, n) &&
		       send_chunk(f, p + hlen, len - hlen, kind, 0);
		break;
	default:
		sent = send_chunk(f, p, len, kind, n);
		break;
	}

	/* A message the input cuts short ends the stream: the backend must
	 * see EOF mid-message rather than wait for the rest.
	 */
	if (!sent || hlen < sizeof(h) || len < hlen + h.size)
		frontend_eof(f);
	if (!backend_step(f))
		f->dropped = true;
	return len;
}

/* The frontend truncates (or grows again) a memfd it shared: the backend's
 * mappings lose pages, which must read zeros rather than kill us.
 */
static size_t play_resize(struct fz *f, unsigned int kind, const uint8_t *p,
			  size_t left)
{
	bool small = kind == FD_SMALL;
	size_t full = small ? FZ_SMALL_SIZE : FZ_RAM_SIZE;
	size_t *cur = small ? &f->small_size : &f->ram_size;
	int *fd = small ? &f->small : &f->ram;
	uint32_t v;

	if (left < 4)
		return 0;
	memcpy(&v, p, 4);
	if (memfd(fd, full))
		fail("memfd", errno);
	*cur = (v % (full + 1)) & ~(size_t)4095;
	pr_debug("frontend resizes its %s memfd to %zu bytes",
		 small ? "small" : "RAM", *cur);
	if (ftruncate(*fd, *cur))
		fail("ftruncate", errno);
	return 4;
}

/* The guest writes its RAM; the backend sees it through its own mapping. */
static size_t play_poke(struct fz *f, const uint8_t *p, size_t left)
{
	uint32_t off;
	uint8_t len;

	if (left < 5)
		return 0;
	memcpy(&off, p, 4);
	len = p[4];
	if (len > left - 5)
		len = left - 5;
	if (!f->ram_map) {
		if (memfd(&f->ram, FZ_RAM_SIZE))
			fail("memfd", errno);
		f->ram_map = mmap(NULL, FZ_RAM_SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, f->ram, 0);
		if (f->ram_map == MAP_FAILED)
			fail("mmap guest RAM", errno);
	}
	/* Only where the file still is: our own view is not guarded. */
	if (len <= f->ram_size) {
		off %= f->ram_size - len + 1;
		memcpy(f->ram_map + off, p + 5, len);
	}
	return 5 + len;
}

static void session_open(struct fz *f)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("socketpair", errno);
	f->fe = sv[0];
	f->be = sv[1];
	f->eof = false;
	f->dropped = false;
}

/* What relay_disconnect() does; the device must come out as new. */
static void session_close(struct fz *f)
{
	unsigned int q;

	vhost_dev_reset(&f->d);
	if (f->d.mem.nregions)
		fail("memory left mapped after reset", (int)f->d.mem.nregions);
	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++)
		if (f->d.vq[q].started || f->d.vq[q].kickfd >= 0 ||
		    f->d.vq[q].callfd >= 0 || f->d.vq[q].errfd >= 0)
			fail("vring state left after reset", (int)q);
	close(f->fe);
	close(f->be);
}

/* A dropped connection is followed by a new one, as QEMU reconnects; the
 * rest of the input is the new session.
 */
#define FZ_MAX_SESSIONS 4

static void play(struct fz *f, const uint8_t *data, size_t size)
{
	unsigned int sessions = 1;

	while (size) {
		uint8_t tag = *data++;
		size_t used;

		size--;
		switch (tag >> 5) {
		case REC_RUN:
			run_datapath(f);
			continue;
		case REC_POKE:
			if ((tag & 7) == 7)
				used = play_resize(f, (tag >> 3) & 3, data, size);
			else
				used = play_poke(f, data, size);
			break;
		default:
			used = play_msg(f, tag, data, size);
			break;
		}
		if (!used)
			break;
		data += used;
		size -= used;
		if (f->dropped || f->eof) {
			if (++sessions > FZ_MAX_SESSIONS)
				break;
			session_close(f);
			session_open(f);
		}
	}
	/* Orderly hang-up after the last message. */
	if (!f->dropped) {
		frontend_eof(f);
		backend_step(f);
	}
}

/* Which of the first FZ_FD_WINDOW fds are open, in one poll(): closed
 * ones come back POLLNVAL.
 */
static void open_fds(bool *open)
{
	struct pollfd p[FZ_FD_WINDOW];
	unsigned int i;

	for (i = 0; i < FZ_FD_WINDOW; i++)
		p[i] = (struct pollfd){ .fd = (int)i };
	if (poll(p, FZ_FD_WINDOW, 0) < 0)
		fail("poll", errno);
	for (i = 0; i < FZ_FD_WINDOW; i++)
		open[i] = !(p[i].revents & POLLNVAL);
}

/* Every fd this input made must be closed again. An input never has
 * anywhere near FZ_FD_WINDOW open, so a leak lands inside the window.
 */
static void check_no_fd_leak(const bool *before)
{
	bool after[FZ_FD_WINDOW];
	unsigned int i;

	open_fds(after);
	for (i = 0; i < FZ_FD_WINDOW; i++) {
		char path[64], what[256] = "?";

		if (!after[i] || before[i])
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%u", i);
		if (readlink(path, what, sizeof(what) - 1) < 0)
			strcpy(what, "?");
		fprintf(stderr, "fuzz_vhost_user: fd %u (%s) leaked\n", i, what);
		fail("fd leaked", (int)i);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_level = getenv("VXDP_FUZZ_DEBUG") ? LOG_DEBUG : LOG_EMERG;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = &fz;
	bool fds_before[FZ_FD_WINDOW];

	open_fds(fds_before);
	memset(f, 0, sizeof(*f));
	f->ram = -1;
	f->small = -1;
	f->ram_size = FZ_RAM_SIZE;
	f->small_size = FZ_SMALL_SIZE;
	session_open(f);
	vhost_dev_init(&f->d, "fuzz", FZ_FEATURES, FZ_PROTO, &fz_ops, f);
	/* As a relay with queues=2: indexes past the last pair are refused. */
	f->d.queue_pairs = FZ_QUEUE_PAIRS;

	play(f, data, size);

	session_close(f);
	if (f->ram_map)
		munmap(f->ram_map, FZ_RAM_SIZE);
	if (f->ram >= 0)
		close(f->ram);
	if (f->small >= 0)
		close(f->small);
	check_no_fd_leak(fds_before);
	return 0;
}
