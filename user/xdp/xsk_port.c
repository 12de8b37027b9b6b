// SPDX-License-Identifier: GPL-2.0
/* One AF_XDP socket with a private umem on one VF queue: rx frames cycle
 * between the fill and rx rings, tx frames between a free stack and tx/comp.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "util/log.h"
#include "xsk_port.h"

/* AF_XDP multi-buffer (Linux 6.6) postdates the uapi headers we may build
 * against (Debian 12 ships 6.1's); the values are ABI.
 */
#ifndef XDP_USE_SG
#define XDP_USE_SG	(1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD	(1 << 0)
#endif

/* The umem is 8 MiB, the default RLIMIT_MEMLOCK, so a port still registers
 * without CAP_IPC_LOCK, laid out one of two ways:
 *  - 2 KiB frames (1792 bytes of frame each after the kernel's
 *    XDP_PACKET_HEADROOM), when the socket binds with AF_XDP multi-buffer,
 *    which carries bigger frames over several: 3072 rx frames, i.e. 7.7 ms
 *    at 0.4 Mpps for a guest that is slow to post buffers (DPDK's af_xdp PMD
 *    keeps 4096), and 1024 tx frames;
 *  - page-sized frames otherwise (kernels before 6.6): 3840 bytes a frame,
 *    1024 rx and 1024 tx frames.
 */
#define UMEM_SIZE	(8u << 20)
#define TX_FRAMES	1024u
#define MAX_FRAME_SIZE	XSK_UMEM__DEFAULT_FRAME_SIZE

struct umem_layout {
	uint32_t frame_size;
	uint32_t nrx;		/* frames [0, nrx) are rx, the rest tx */
	bool needs_sg;
};

static const struct umem_layout layouts[] = {
	{ .frame_size = 2048, .nrx = UMEM_SIZE / 2048 - TX_FRAMES, .needs_sg = true },
	{ .frame_size = MAX_FRAME_SIZE, .nrx = UMEM_SIZE / MAX_FRAME_SIZE - TX_FRAMES },
};

/* Ring sizes are chosen so that reserving on a ring we produce to never
 * fails, which keeps the hot path free of "ring full, now what" branches that
 * could lose a buffer. The kernel publishes its consumer index on the fill
 * and tx rings lazily: it reads a whole window of entries and only moves the
 * shared index when the window is used up. Entries it has taken (whose frames
 * are back with us) can therefore still count as occupied, up to a ring's
 * worth: the fill and tx rings need room for every frame twice. The rx and
 * completion rings the kernel produces to need room for every frame once.
 * Rings are powers of two.
 */
static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t r = 1;

	while (r < n)
		r <<= 1;
	return r;
}

#define TX_SIZE		(2 * TX_FRAMES)
#define COMP_SIZE	TX_FRAMES

/* In aligned mode every descriptor address lies inside one frame. */
#define FRAME_BASE(p, a)	(xsk_umem__extract_addr(a) & ~(uint64_t)((p)->frame_size - 1))

struct xsk_port {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	void *area;
	int fd;
	bool zerocopy;
	bool warned_kick;
	bool warned_fill;
	bool warned_tx;
	bool warned_long;
	bool sg;		/* bound with XDP_USE_SG */
	/* Dropping the rest of a frame: rx descriptors are recycled up to
	 * and including the next one without XDP_PKT_CONTD.
	 */
	bool rx_skip;
	uint64_t rx_dropped;	/* frames longer than a peek could hold */
	char ifname[IF_NAMESIZE];
	uint32_t qid;
	uint32_t rx_idx;	/* rx ring index returned by the last peek */
	uint32_t frame_size;		/* umem_layout */
	uint32_t nrx;
	uint32_t rx_size;		/* rx ring entries */
	uint32_t tx_nfree;
	uint64_t tx_free[TX_FRAMES];	/* stack of free tx frame addresses */
};

static const char *mode_name(enum xsk_port_mode mode)
{
	switch (mode) {
	case XSK_PORT_AUTO:	return "auto";
	case XSK_PORT_COPY:	return "copy";
	case XSK_PORT_ZEROCOPY:	return "zero-copy";
	}
	return "?";
}

static int create_socket(struct xsk_port *p, enum xsk_port_mode mode, bool sg)
{
	struct xsk_socket_config cfg = {
		.rx_size = p->rx_size,
		.tx_size = TX_SIZE,
		/* vxdp_steer is attached by xdp_steer.c, not by libxdp. */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	struct xdp_options opts = {};
	socklen_t optlen = sizeof(opts);
	int err;

	/* With neither XDP_COPY nor XDP_ZEROCOPY the kernel itself tries
	 * zero-copy and falls back to copy, which is exactly AUTO and avoids
	 * re-binding a socket whose rings are already set up.
	 */
	if (mode == XSK_PORT_COPY)
		cfg.bind_flags |= XDP_COPY;
	else if (mode == XSK_PORT_ZEROCOPY)
		cfg.bind_flags |= XDP_ZEROCOPY;
	if (sg)
		cfg.bind_flags |= XDP_USE_SG;

	err = xsk_socket__create(&p->xsk, p->ifname, p->qid, p->umem,
				 &p->rx, &p->tx, &cfg);
	if (err) {
		p->xsk = NULL;
		return err;
	}
	p->fd = xsk_socket__fd(p->xsk);
	p->sg = sg;

	if (getsockopt(p->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
		p->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
	else
		p->zerocopy = mode == XSK_PORT_ZEROCOPY;
	return 0;
}

static void log_socket_error(const struct xsk_port *p, enum xsk_port_mode mode,
			     int err)
{
	if (mode == XSK_PORT_ZEROCOPY && err == -EOPNOTSUPP)
		pr_err("xsk_port: %s does not support AF_XDP zero-copy; use copy or auto mode",
		       p->ifname);
	else if (err == -EBUSY)
		pr_err("xsk_port: %s queue %u already has an AF_XDP socket (another relay?)",
		       p->ifname, p->qid);
	else if (err == -EINVAL)
		pr_err("xsk_port: binding to %s queue %u failed: %s (queue out of range?)",
		       p->ifname, p->qid, strerror(-err));
	else
		pr_err("xsk_port: AF_XDP socket on %s queue %u (%s mode): %s",
		       p->ifname, p->qid, mode_name(mode), strerror(-err));
}

/* Bind with multi-buffer when the kernel and driver have it, so frames up to
 * the VF's MTU fit; otherwise single-buffer. Kernels before 6.6 refuse the
 * unknown flag (EINVAL); a zero-copy driver without zero-copy multi-buffer
 * refuses it when zero-copy is forced (EOPNOTSUPP; auto mode gets copy mode
 * with multi-buffer instead). libxdp lets a socket whose bind failed be
 * created again on the same umem and rings. VXDP_XSK_NO_SG=1 in the
 * environment skips multi-buffer, to test the single-buffer path.
 */
static int bind_socket(struct xsk_port *p, enum xsk_port_mode mode)
{
	const char *no_sg = getenv("VXDP_XSK_NO_SG");
	bool try_sg = !no_sg || strcmp(no_sg, "1");
	int sg_err = 0, err;

	if (try_sg) {
		sg_err = create_socket(p, mode, true);
		/* A queue taken is taken either way. */
		if (!sg_err || sg_err == -EBUSY) {
			if (sg_err)
				log_socket_error(p, mode, sg_err);
			return sg_err;
		}
	}
	err = create_socket(p, mode, false);
	if (err) {
		log_socket_error(p, mode, err);
		return err;
	}
	pr_notice("xsk_port: %s queue %u: no AF_XDP multi-buffer (%s): max frame %u bytes",
		  p->ifname, p->qid,
		  !try_sg ? "VXDP_XSK_NO_SG=1" :
		  sg_err == -EINVAL ? "kernel older than 6.6" : strerror(-sg_err),
		  xsk_port_max_frame(p));
	return 0;
}

/* The umem: mmap, not malloc, for page alignment (the kernel pins these
 * pages for the socket's lifetime), and on 2 MiB boundaries with a
 * transparent-huge-page hint: the relay touches a different 4 KiB frame for
 * every packet, which with small pages is a TLB miss each (2048 pages).
 * Without THP it is still an ordinary mapping. NULL with errno on failure.
 */
#define UMEM_ALIGN (2u << 20)
static void *umem_alloc(size_t size)
{
	uint8_t *raw, *area;
	size_t head;

	raw = mmap(NULL, size + UMEM_ALIGN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	area = (uint8_t *)(((uintptr_t)raw + UMEM_ALIGN - 1) & ~(uintptr_t)(UMEM_ALIGN - 1));
	head = area - raw;
	if (head)
		munmap(raw, head);
	munmap(area + size, UMEM_ALIGN - head);
	madvise(area, size, MADV_HUGEPAGE);	/* a hint: failure is fine */
	return area;
}

/* Map and register the umem in layout @l and hand the kernel its rx frames
 * (before bind, so no early frame finds the fill ring empty).
 */
static int umem_setup(struct xsk_port *p, const struct umem_layout *l)
{
	struct xsk_umem_config ucfg = {
		.fill_size = 2 * pow2_at_least(l->nrx),
		.comp_size = COMP_SIZE,
		.frame_size = l->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	uint32_t idx, i;
	int err;

	p->frame_size = l->frame_size;
	p->nrx = l->nrx;
	p->rx_size = pow2_at_least(l->nrx);
	p->area = umem_alloc(UMEM_SIZE);
	if (!p->area) {
		err = -errno;
		pr_err("xsk_port: mmap %u bytes for the umem: %s", UMEM_SIZE, strerror(errno));
		return err;
	}
	err = xsk_umem__create(&p->umem, p->area, UMEM_SIZE, &p->fill, &p->comp, &ucfg);
	if (err) {
		p->umem = NULL;
		if (err == -ENOBUFS || err == -EPERM || err == -ENOMEM)
			pr_err("xsk_port: registering a %u MiB umem failed: %s (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK >= %u MiB)",
			       UMEM_SIZE >> 20, strerror(-err), UMEM_SIZE >> 20);
		else
			pr_err("xsk_port: registering the umem failed: %s", strerror(-err));
		return err;
	}
	if (xsk_ring_prod__reserve(&p->fill, p->nrx, &idx) != p->nrx) {
		pr_err("xsk_port: fill ring smaller than %u", p->nrx);
		return -ENOSPC;
	}
	for (i = 0; i < p->nrx; i++)
		*xsk_ring_prod__fill_addr(&p->fill, idx + i) = (uint64_t)i * p->frame_size;
	xsk_ring_prod__submit(&p->fill, p->nrx);
	for (i = 0; i < TX_FRAMES; i++)
		p->tx_free[i] = (uint64_t)(p->nrx + i) * p->frame_size;
	p->tx_nfree = TX_FRAMES;
	return 0;
}

static void umem_teardown(struct xsk_port *p)
{
	xsk_socket__delete(p->xsk);
	p->xsk = NULL;
	p->fd = -1;
	if (p->umem)
		xsk_umem__delete(p->umem);
	p->umem = NULL;
	if (p->area)
		munmap(p->area, UMEM_SIZE);
	p->area = NULL;
}

/* Small frames need multi-buffer: try them with it, and fall back to
 * page-sized frames (bind_socket() then tries multi-buffer once more, for
 * a driver that has it with those only, and then goes without).
 */
static int port_setup(struct xsk_port *p, enum xsk_port_mode mode)
{
	const char *no_sg = getenv("VXDP_XSK_NO_SG");
	int err;

	if (!no_sg || strcmp(no_sg, "1")) {
		err = umem_setup(p, &layouts[0]);
		if (err)
			return err;
		err = create_socket(p, mode, true);
		/* A queue taken is taken either way. */
		if (err == -EBUSY)
			log_socket_error(p, mode, err);
		if (!err || err == -EBUSY)
			return err;
		umem_teardown(p);
	}
	err = umem_setup(p, &layouts[1]);
	if (err)
		return err;
	return bind_socket(p, mode);
}

int xsk_port_open(struct xsk_port **pp, const char *ifname, uint32_t qid,
		  int xskmap_fd, enum xsk_port_mode mode)
{
	struct xsk_port *p;
	int err, fd;

	*pp = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		pr_err("xsk_port: invalid interface name '%s'", ifname ? ifname : "(null)");
		return -EINVAL;
	}
	if (mode != XSK_PORT_AUTO && mode != XSK_PORT_COPY && mode != XSK_PORT_ZEROCOPY) {
		pr_err("xsk_port: unknown mode %d", mode);
		return -EINVAL;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->qid = qid;
	memcpy(p->ifname, ifname, strlen(ifname) + 1);

	err = port_setup(p, mode);
	if (err)
		goto fail;

	fd = p->fd;
	if (bpf_map_update_elem(xskmap_fd, &qid, &fd, BPF_ANY)) {
		err = -errno;
		pr_err("xsk_port: adding the socket for %s queue %u to the XSKMAP failed: %s",
		       ifname, qid, strerror(errno));
		goto fail;
	}

	pr_info("xsk_port: %s queue %u: AF_XDP socket in %s mode (%u rx + %u tx frames of %u bytes, %s: frames up to %u bytes)",
		ifname, qid, p->zerocopy ? "zero-copy" : "copy", p->nrx, TX_FRAMES,
		p->frame_size, p->sg ? "multi-buffer" : "single-buffer",
		xsk_port_max_frame(p));
	*pp = p;
	return 0;
fail:
	xsk_port_close(p);
	return err;
}

void xsk_port_close(struct xsk_port *p)
{
	if (!p)
		return;
	/* Closing the socket also drops it from the XSKMAP: the kernel
	 * removes a socket from every map it is in when it is released.
	 */
	xsk_socket__delete(p->xsk);
	if (p->umem && xsk_umem__delete(p->umem))
		pr_warn("xsk_port: %s queue %u: umem still in use", p->ifname, p->qid);
	if (p->area)
		munmap(p->area, UMEM_SIZE);
	free(p);
}

int xsk_port_fd(const struct xsk_port *p)
{
	return p->fd;
}

int xsk_port_set_busy_poll(struct xsk_port *p, unsigned int usec,
			   unsigned int budget)
{
	int prefer = usec > 0, us = usec, b = budget;

	/* Budget first: SO_BUSY_POLL turns polling on with whatever it is. */
	if (setsockopt(p->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &b, sizeof(b)) ||
	    setsockopt(p->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &prefer, sizeof(prefer)) ||
	    setsockopt(p->fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)))
		return -errno;
	return 0;
}

bool xsk_port_zerocopy(const struct xsk_port *p)
{
	return p->zerocopy;
}

/* The kernel puts received data XDP_PACKET_HEADROOM into the frame, so that
 * is what rx can carry; tx is held to the same so a frame fits both ways.
 */
uint32_t xsk_port_frame_room(const struct xsk_port *p)
{
	return p->frame_size - XDP_PACKET_HEADROOM;
}

bool xsk_port_multi_buffer(const struct xsk_port *p)
{
	return p->sg;
}

uint32_t xsk_port_max_frame(const struct xsk_port *p)
{
	return (p->sg ? XSK_PORT_MAX_FRAGS : 1) * xsk_port_frame_room(p);
}

uint64_t xsk_port_rx_dropped(const struct xsk_port *p)
{
	return p->rx_dropped;
}

/* The kernel sets need_wakeup on the fill ring when a driver ran dry
 * (zero-copy); copy mode never sets it, so this is free there.
 */
static void kick_fill(struct xsk_port *p)
{
	if (xsk_ring_prod__needs_wakeup(&p->fill))
		recvfrom(p->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* Consume @n peeked rx descriptors from ring index @idx on and give their
 * frames back to the fill ring.
 */
static void rx_recycle(struct xsk_port *p, uint32_t idx, uint32_t n)
{
	uint32_t fidx = 0, i;

	if (!n)
		return;
	/* Cannot fail: the fill ring holds the rx frames twice. Read the addresses
	 * before releasing the rx slots, which the kernel may overwrite as
	 * soon as they are released.
	 */
	if (xsk_ring_prod__reserve(&p->fill, n, &fidx) == n) {
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&p->rx, idx + i);

			*xsk_ring_prod__fill_addr(&p->fill, fidx + i) = FRAME_BASE(p, d->addr);
		}
		xsk_ring_prod__submit(&p->fill, n);
	} else if (!p->warned_fill) {
		p->warned_fill = true;
		pr_err("xsk_port: %s queue %u: fill ring full, rx buffers lost (bug)",
		       p->ifname, p->qid);
	}
	xsk_ring_cons__release(&p->rx, n);
}

/* Drop what is left of a frame whose start is gone: recycle descriptors up
 * to and including the next one that ends a frame. Returns false while that
 * end is not on the ring yet.
 */
static bool rx_skip_tail(struct xsk_port *p)
{
	uint32_t idx, n, i;

	while (p->rx_skip) {
		n = xsk_ring_cons__peek(&p->rx, p->rx_size, &idx);
		if (!n)
			return false;
		for (i = 0; i < n;) {
			if (!(xsk_ring_cons__rx_desc(&p->rx, idx + i++)->options & XDP_PKT_CONTD)) {
				p->rx_skip = false;
				break;
			}
		}
		xsk_ring_cons__cancel(&p->rx, n - i);
		rx_recycle(p, idx, i);
	}
	return true;
}

/* XDP_PKT_CONTD is honoured even on a socket we bound without XDP_USE_SG:
 * a failed multi-buffer bind can leave the umem multi-buffer in the kernel.
 */
unsigned int xsk_port_rx_peek(struct xsk_port *p, struct xsk_pkt *pkts,
			      unsigned int max)
{
	const struct xdp_desc *d;
	uint32_t idx, n, i, end;

	if (!max)
		return 0;
	for (;;) {
		if (!rx_skip_tail(p))
			break;
		n = xsk_ring_cons__peek(&p->rx, max, &idx);
		if (!n)
			break;
		for (i = 0, end = 0; i < n; i++) {
			d = xsk_ring_cons__rx_desc(&p->rx, idx + i);
			pkts[i].addr = d->addr;
			pkts[i].len = d->len;
			pkts[i].more = d->options & XDP_PKT_CONTD;
			pkts[i].data = xsk_umem__get_data(p->area,
							  xsk_umem__add_offset_to_addr(d->addr));
			if (!pkts[i].more)
				end = i + 1;
		}
		/* Whole frames only: a frame cut by @max waits for the next
		 * peek, where it comes first.
		 */
		if (end) {
			xsk_ring_cons__cancel(&p->rx, n - end);
			p->rx_idx = idx;
			return end;
		}
		if (n < max) {
			/* The kernel publishes a frame's descriptors together,
			 * so this is not expected; wait for the rest.
			 */
			xsk_ring_cons__cancel(&p->rx, n);
			return 0;
		}
		/* One frame over more umem frames than the caller takes. */
		p->rx_dropped++;
		if (!p->warned_long) {
			p->warned_long = true;
			pr_warn("xsk_port: %s queue %u: dropped a frame of more than %u buffers (further drops only counted)",
				p->ifname, p->qid, max);
		}
		rx_recycle(p, idx, n);
		p->rx_skip = true;
	}
	kick_fill(p);
	return 0;
}

void xsk_port_read_stats(const struct xsk_port *p, struct xsk_port_stats *st)
{
	struct xdp_statistics xs = { 0 };
	socklen_t len = sizeof(xs);

	memset(st, 0, sizeof(*st));
	if (getsockopt(p->fd, SOL_XDP, XDP_STATISTICS, &xs, &len))
		return;
	st->rx_dropped = xs.rx_dropped;
	st->rx_ring_full = len >= offsetof(struct xdp_statistics, rx_ring_full) +
					sizeof(xs.rx_ring_full) ? xs.rx_ring_full : 0;
	st->invalid = xs.rx_invalid_descs + xs.tx_invalid_descs;
	st->fill_ring_empty = len >= offsetof(struct xdp_statistics, rx_fill_ring_empty_descs) +
					sizeof(xs.rx_fill_ring_empty_descs) ?
			      xs.rx_fill_ring_empty_descs : 0;
}

bool xsk_port_rx_ready(const struct xsk_port *p)
{
	return __atomic_load_n(p->rx.producer, __ATOMIC_RELAXED) != *p->rx.consumer;
}

void xsk_port_rx_release(struct xsk_port *p, unsigned int done,
			 unsigned int peeked)
{
	if (done > peeked)
		done = peeked;
	if (done) {
		/* Cut inside a frame: its rest must not pass for a frame. */
		if (xsk_ring_cons__rx_desc(&p->rx, p->rx_idx + done - 1)->options &
		    XDP_PKT_CONTD)
			p->rx_skip = true;
		rx_recycle(p, p->rx_idx, done);
	}
	/* The rest go back to the kernel's view of "unread": the next peek
	 * returns them again, starting right after the last consumed one.
	 */
	if (peeked > done)
		xsk_ring_cons__cancel(&p->rx, peeked - done);
	p->rx_idx += done;
	if (done)
		kick_fill(p);
}

/* Frames whose transmission finished come back on the completion ring. */
static void reap_completions(struct xsk_port *p)
{
	uint32_t idx, n, i;

	n = xsk_ring_cons__peek(&p->comp, COMP_SIZE, &idx);
	if (!n)
		return;
	for (i = 0; i < n; i++)
		p->tx_free[p->tx_nfree++] = FRAME_BASE(p, *xsk_ring_cons__comp_addr(&p->comp, idx + i));
	xsk_ring_cons__release(&p->comp, n);
}

unsigned int xsk_port_tx_alloc(struct xsk_port *p, struct xsk_pkt *pkts,
			       unsigned int max)
{
	uint32_t room = xsk_port_frame_room(p);
	unsigned int n, i;

	reap_completions(p);
	n = max < p->tx_nfree ? max : p->tx_nfree;
	for (i = 0; i < n; i++) {
		uint64_t addr = p->tx_free[--p->tx_nfree];

		pkts[i].addr = addr;
		pkts[i].len = room;
		pkts[i].more = false;
		pkts[i].data = xsk_umem__get_data(p->area, addr);
	}
	return n;
}

/* Wake the kernel to transmit. In copy mode need_wakeup stays set for good
 * and every sendto() sends one bounded batch; EAGAIN (budget used up, more
 * left), EBUSY and ENOBUFS (driver queue full) just mean "kick again later",
 * which xsk_port_tx_pending() exists for.
 */
static void kick_tx(struct xsk_port *p)
{
	if (!xsk_ring_prod__needs_wakeup(&p->tx))
		return;
	if (sendto(p->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return;
	switch (errno) {
	case EAGAIN:
	case EBUSY:
	case ENOBUFS:
	case EINTR:
		return;
	default:
		/* e.g. ENETDOWN while the VF is down: frames stay queued. */
		if (!p->warned_kick) {
			p->warned_kick = true;
			pr_warn("xsk_port: %s queue %u: tx wakeup failed: %s (further failures not logged)",
				p->ifname, p->qid, strerror(errno));
		}
	}
}

/* How many of @pkts[i, used) make up the frame starting at @i, and in @ok
 * whether the kernel would take it. The kernel drops a frame with an invalid
 * descriptor without completing it, i.e. its buffers would leak from the
 * pool, and takes whatever follows an unterminated frame as its
 * continuation: keep such caller bugs out of the ring.
 */
static unsigned int tx_frame(const struct xsk_port *p, const struct xsk_pkt *pkts,
			     unsigned int i, unsigned int used, bool *ok)
{
	unsigned int max = p->sg ? XSK_PORT_MAX_FRAGS : 1, n = 0;
	uint32_t room = xsk_port_frame_room(p);
	bool good = true;

	do {
		const struct xsk_pkt *k = &pkts[i + n++];

		good &= k->len && k->len <= room;
		if (!k->more) {
			*ok = good && n <= max;
			return n;
		}
	} while (i + n < used);
	*ok = false;
	return n;
}

void xsk_port_tx_submit(struct xsk_port *p, struct xsk_pkt *pkts,
			unsigned int alloced, unsigned int used)
{
	unsigned int i, j, k, n = 0;
	uint32_t idx = 0;
	bool queued, ok;

	if (used > alloced)
		used = alloced;
	for (i = 0; i < used; i += k) {
		k = tx_frame(p, pkts, i, used, &ok);
		if (ok)
			n += k;
	}

	/* Cannot fail: the tx ring holds TX_FRAMES twice. */
	queued = n && xsk_ring_prod__reserve(&p->tx, n, &idx) == n;
	if (n && !queued && !p->warned_tx) {
		p->warned_tx = true;
		pr_err("xsk_port: %s queue %u: tx ring full, frames not sent (bug)",
		       p->ifname, p->qid);
	}

	for (i = 0; i < used; i += k) {
		k = tx_frame(p, pkts, i, used, &ok);
		for (j = i; j < i + k; j++) {
			struct xdp_desc *d;

			if (!queued || !ok) {
				p->tx_free[p->tx_nfree++] = FRAME_BASE(p, pkts[j].addr);
				continue;
			}
			d = xsk_ring_prod__tx_desc(&p->tx, idx++);
			d->addr = pkts[j].addr;
			d->len = pkts[j].len;
			d->options = pkts[j].more ? XDP_PKT_CONTD : 0;
		}
	}
	for (i = used; i < alloced; i++)
		p->tx_free[p->tx_nfree++] = FRAME_BASE(p, pkts[i].addr);
	if (queued) {
		xsk_ring_prod__submit(&p->tx, n);
		kick_tx(p);
	}
}

/* Whether the kernel has still not taken everything we produced on the tx
 * ring. libxdp has no accessor for the kernel's consumer index, so this
 * reads the shared ring's producer/consumer words directly. Copy mode moves
 * at most one batch (32 frames, MAX_PER_SOCKET_BUDGET) per sendto(), so a
 * burst bigger than that needs further kicks; this gives them and returns
 * true until the ring is drained. Also recycles completed frames, so a
 * caller that only polls this while idle still gets its buffers back.
 */
bool xsk_port_tx_pending(struct xsk_port *p)
{
	reap_completions(p);
	if (*p->tx.producer == __atomic_load_n(p->tx.consumer, __ATOMIC_ACQUIRE))
		return false;
	kick_tx(p);
	return *p->tx.producer != __atomic_load_n(p->tx.consumer, __ATOMIC_ACQUIRE);
}
