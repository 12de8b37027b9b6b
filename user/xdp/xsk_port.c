// SPDX-License-Identifier: GPL-2.0
/* One AF_XDP socket on one VF queue, its frames from a shared umem: rx
 * frames cycle between the fill and rx rings, tx frames between a free stack
 * and tx/comp, and both go back to the pool when the traffic no longer
 * needs them.
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

#include "util/compiler.h"
#include "util/log.h"
#include "umem_pool.h"
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

/* Frames come from a shared umem (umem_pool.c) as the port's traffic needs
 * them. Two layouts:
 *  - 2 KiB frames (1792 bytes of frame each after the kernel's
 *    XDP_PACKET_HEADROOM), when the socket binds with AF_XDP multi-buffer,
 *    which carries bigger frames over several: up to 3072 rx frames, i.e.
 *    7.7 ms at 0.4 Mpps for a guest that is slow to post buffers (DPDK's
 *    af_xdp PMD keeps 4096), and 1024 tx frames;
 *  - page-sized frames otherwise (kernels before 6.6): 3840 bytes a frame,
 *    up to 1024 rx and 1024 tx frames.
 * A port starts with FILL_MIN frames on its fill ring and nothing for tx.
 * Its fill target grows (up to FILL_MAX) when the kernel used up three
 * quarters of it between two looks, and shrinks after CALM_RUNS looks in a
 * row that found it nearly untouched (rx_adapt()). While frames wait on the rx ring for
 * the guest, the fill ring is topped up to the rx maximum, so a stalled
 * guest still gets the full buffering. Frames beyond the target, and free
 * frames beyond STASH_KEEP, go back to the pool.
 */
#define FRAME_SG	2048u
#define FRAME_PAGE	XSK_UMEM__DEFAULT_FRAME_SIZE
#define RX_MAX_SG	3072u
#define RX_MAX_PAGE	1024u
#define TX_MAX		1024u
#define FILL_MIN	UMEM_POOL_FLOOR
#define FILL_MAX	1024u
#define CALM_RUNS	1024u
/* Free frames a port keeps at hand (tx bursts, rx returns), and the most
 * its stack holds: every tx frame completed at once, plus room for a batch.
 */
#define STASH_KEEP	(2 * UMEM_POOL_BATCH)
#define STASH_CAP	(TX_MAX + 4 * UMEM_POOL_BATCH)

/* Ring sizes. The kernel publishes its consumer index on the fill and tx
 * rings lazily: it reads a whole window of entries and only moves the
 * shared index when the window is used up, so entries it has taken can
 * still count as occupied. On the tx ring a failed reserve would cost
 * frames, so it holds every tx frame twice; the fill ring holds the rx
 * maximum once, and a refill it cannot take goes to the port's free stack
 * instead (the kernel publishes its index before it runs dry). The rx and
 * completion rings the kernel produces to need room for every frame once.
 * Rings are powers of two.
 */
#define TX_SIZE		(2 * TX_MAX)
#define COMP_SIZE	TX_MAX

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t r = 1;

	while (r < n)
		r <<= 1;
	return r;
}

/* In aligned mode every descriptor address lies inside one frame. */
#define FRAME_BASE(p, a)	(xsk_umem__extract_addr(a) & ~(uint64_t)((p)->frame_size - 1))

struct ring_map {
	void *addr;
	size_t len;
};

struct xsk_port {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct umem_pool *pool;
	void *area;		/* the pool's */
	uint16_t id;		/* in the pool; 0: not a member */
	int fd;
	bool bound;
	bool zerocopy;
	bool warned_kick;
	bool warned_tx;
	bool warned_long;
	bool sg;		/* bound with XDP_USE_SG */
	/* Dropping the rest of a frame: rx descriptors are recycled up to
	 * and including the next one without XDP_PKT_CONTD.
	 */
	bool rx_skip;
	uint64_t rx_dropped;	/* frames longer than a peek could hold */
	uint64_t pool_dry;	/* growths the pool could not serve */
	char ifname[IF_NAMESIZE];
	uint32_t ifindex;
	uint32_t qid;
	uint32_t rx_idx;	/* rx ring index returned by the last peek */
	uint32_t frame_size;
	uint32_t rx_max;	/* rx frames: on the fill ring and the rx ring */
	uint32_t rx_size;	/* rx and fill ring entries */
	uint32_t fill_target;	/* frames the kernel should hold */
	uint32_t calm;
	struct ring_map map[4];
	uint32_t owned;		/* frames taken from the pool, not given back */
	uint32_t nstash;
	uint64_t stash[STASH_CAP];	/* free frames, a stack */
};

/* Process-wide: every socket opened from now on (tests, or a kernel whose
 * multi-buffer misbehaves).
 */
static bool single_buffer;

void xsk_port_single_buffer(bool on)
{
	single_buffer = on;
}

static const char *mode_name(enum xsk_port_mode mode)
{
	switch (mode) {
	case XSK_PORT_AUTO:	return "auto";
	case XSK_PORT_COPY:	return "copy";
	case XSK_PORT_ZEROCOPY:	return "zero-copy";
	}
	return "?";
}

/* Free frames beyond STASH_KEEP go back to the pool, a batch at a time. */
static void stash_trim(struct xsk_port *p)
{
	while (p->nstash >= STASH_KEEP + UMEM_POOL_BATCH &&
	       umem_pool_put(p->pool, p->id, &p->stash[p->nstash - UMEM_POOL_BATCH],
			     UMEM_POOL_BATCH)) {
		p->nstash -= UMEM_POOL_BATCH;
		p->owned -= UMEM_POOL_BATCH;
	}
}

/* A frame stays tagged as the port's if even the pool refuses it, and comes
 * back to the pool when the port closes.
 */
static void stash_push(struct xsk_port *p, uint64_t addr)
{
	if (p->nstash == STASH_CAP &&
	    umem_pool_put(p->pool, p->id, &p->stash[p->nstash - UMEM_POOL_BATCH],
			  UMEM_POOL_BATCH)) {
		p->nstash -= UMEM_POOL_BATCH;
		p->owned -= UMEM_POOL_BATCH;
	}
	if (p->nstash < STASH_CAP)
		p->stash[p->nstash++] = addr;
}

static bool stash_grow(struct xsk_port *p)
{
	unsigned int n;

	if (STASH_CAP - p->nstash < UMEM_POOL_BATCH)
		return false;
	n = umem_pool_get(p->pool, p->id, &p->stash[p->nstash], UMEM_POOL_BATCH);
	if (!n)
		p->pool_dry++;
	p->nstash += n;
	p->owned += n;
	return n;
}

/* Frames posted to the fill ring and not yet consumed from the rx ring. */
static uint32_t rx_out(const struct xsk_port *p)
{
	return *p->fill.producer - *p->rx.consumer;
}

/* Post up to @want more frames on the fill ring, from the free stack and
 * the pool, within the port's rx maximum.
 */
static void rx_top_up(struct xsk_port *p, uint32_t want)
{
	uint32_t out = rx_out(p), fidx, n, i;

	/* Posted frames come back only with traffic on this queue, and tx
	 * frames turn into free frames here: with the pool low, leave them
	 * to tx and the other ports (received frames are still reposted).
	 */
	if (out >= p->rx_max || umem_pool_low(p->pool))
		return;
	if (want > p->rx_max - out)
		want = p->rx_max - out;
	while (want) {
		if (!p->nstash && !stash_grow(p))
			break;
		n = want < p->nstash ? want : p->nstash;
		if (xsk_ring_prod__reserve(&p->fill, n, &fidx) != n)
			break;
		for (i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&p->fill, fidx + i) = p->stash[--p->nstash];
		xsk_ring_prod__submit(&p->fill, n);
		want -= n;
	}
}

/* The fill target follows what the kernel takes between two looks: up at
 * once when it took three quarters (four times when it ran dry: frames
 * were lost), down only after CALM_RUNS looks in a row where it took under
 * a sixteenth, so a steady flow keeps a target of 16 times what it takes
 * between two looks, which leaves room for a late look.
 */
static void rx_adapt(struct xsk_port *p, uint32_t held)
{
	uint32_t t = p->fill_target;

	if (held < t / 4) {
		t *= held ? 2 : 4;
		p->fill_target = t < FILL_MAX ? t : FILL_MAX;
		p->calm = 0;
	} else if (held >= t - t / 16 && t > FILL_MIN) {
		if (++p->calm >= CALM_RUNS) {
			p->fill_target = t / 2;
			p->calm = 0;
		}
	} else {
		p->calm = 0;
	}
}

/* Map one ring of @entries of @esize bytes at @pgoff; the first entry is
 * at @off->desc. 0 or a negative errno.
 */
static int ring_map(struct xsk_port *p, unsigned int slot, off_t pgoff,
		    const struct xdp_ring_offset *off, uint32_t entries,
		    size_t esize, bool prod, void *ring)
{
	struct xsk_ring_prod *r = ring;	/* prod and cons share the layout */
	size_t len = off->desc + entries * esize;
	void *m;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 p->fd, pgoff);
	if (m == MAP_FAILED)
		return -errno;
	p->map[slot].addr = m;
	p->map[slot].len = len;
	r->mask = entries - 1;
	r->size = entries;
	r->producer = (uint32_t *)((char *)m + off->producer);
	r->consumer = (uint32_t *)((char *)m + off->consumer);
	r->flags = (uint32_t *)((char *)m + off->flags);
	r->ring = (char *)m + off->desc;
	r->cached_prod = *r->producer;
	r->cached_cons = *r->consumer + (prod ? entries : 0);
	return 0;
}

static int setsockopt_int(int fd, int opt, uint32_t v)
{
	return setsockopt(fd, SOL_XDP, opt, &v, sizeof(v)) ? -errno : 0;
}

/* Close the socket, give its frames back and leave the pool. A socket never
 * bound holds its frames on its fill ring, which the kernel never read; a
 * bound one's frames in the kernel come back after the pool's grace.
 */
static void sock_close(struct xsk_port *p)
{
	unsigned int i;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->id) {
		if (!p->bound && p->map[2].addr) {
			uint32_t end = *p->fill.producer;

			for (i = *p->fill.consumer; i != end; i++)
				stash_push(p, *xsk_ring_prod__fill_addr(&p->fill, i));
		}
		while (p->nstash) {
			unsigned int n = p->nstash < UMEM_POOL_BATCH ? p->nstash : UMEM_POOL_BATCH;

			if (!umem_pool_put(p->pool, p->id, &p->stash[p->nstash - n], n))
				break;
			p->nstash -= n;
		}
		p->nstash = 0;
		umem_pool_leave(p->pool, p->id);
	}
	p->id = 0;
	p->pool = NULL;
	p->bound = false;
	for (i = 0; i < ARRAY_SIZE(p->map); i++) {
		if (p->map[i].addr)
			munmap(p->map[i].addr, p->map[i].len);
		p->map[i].addr = NULL;
	}
}

/* A socket closed on the same queue just before (a relay re-created by a
 * reload, or restarted) is released by the kernel from deferred work:
 * bind() says EBUSY until then, a few milliseconds, and no event says
 * when. Only after BIND_BUSY_MS of that is the queue taken to be another
 * socket's. (A cold path: opening a relay.)
 */
#define BIND_BUSY_MS	200
#define BIND_STEP_MS	5

static int sock_bind(int fd, const struct sockaddr_xdp *sxdp)
{
	unsigned int waited = 0;

	while (bind(fd, (const struct sockaddr *)sxdp, sizeof(*sxdp))) {
		if (errno != EBUSY || waited >= BIND_BUSY_MS)
			return -errno;
		usleep(BIND_STEP_MS * 1000);
		waited += BIND_STEP_MS;
	}
	return 0;
}

/* A socket on @pl: registering its umem first when @flags lack
 * XDP_SHARED_UMEM (the pool's first member), else sharing it with a bound
 * member. Each socket on another (netdev, queue) needs its own fill and
 * completion rings, which the kernel then ties to that queue. The fill
 * ring gets its first FILL_MIN frames before bind, so no early frame finds
 * it empty. Registry locked. Returns 0 or a negative errno; on error the
 * socket is closed and a pool left without members is gone.
 */
static int sock_open(struct xsk_port *p, struct umem_pool *pl, uint16_t flags)
{
	struct sockaddr_xdp sxdp = {
		.sxdp_family = AF_XDP,
		.sxdp_ifindex = p->ifindex,
		.sxdp_queue_id = p->qid,
		.sxdp_flags = flags,
	};
	bool owner = !(flags & XDP_SHARED_UMEM);
	struct xdp_mmap_offsets off;
	socklen_t optlen = sizeof(off);
	struct xdp_options opts = {};
	int err;

	p->frame_size = umem_pool_frame_size(pl);
	p->rx_max = p->frame_size == FRAME_SG ? RX_MAX_SG : RX_MAX_PAGE;
	p->rx_size = pow2_at_least(p->rx_max);
	p->fill_target = FILL_MIN;
	p->calm = 0;
	p->area = umem_pool_area(pl);
	p->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		err = -errno;
		goto fail_nopool;
	}
	err = umem_pool_join(pl, -1, &p->id);
	if (err)
		goto fail_nopool;
	p->pool = pl;
	if (owner) {
		struct xdp_umem_reg mr;

		/* Zeroed whole: a newer kernel reads our padding as fields. */
		memset(&mr, 0, sizeof(mr));
		mr.addr = (uintptr_t)p->area;
		mr.len = umem_pool_size(pl);
		mr.chunk_size = p->frame_size;
		if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr))) {
			err = -errno;
			if (err == -ENOBUFS || err == -EPERM || err == -ENOMEM)
				pr_err("xsk_port: registering a %zu MiB umem failed: %s (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK >= %zu MiB)",
				       umem_pool_size(pl) >> 20, strerror(-err),
				       umem_pool_size(pl) >> 20);
			else
				pr_err("xsk_port: registering the umem failed: %s", strerror(-err));
			goto fail;
		}
	} else {
		sxdp.sxdp_shared_umem_fd = umem_pool_share_fd(pl);
	}
	err = setsockopt_int(p->fd, XDP_UMEM_FILL_RING, p->rx_size);
	if (!err)
		err = setsockopt_int(p->fd, XDP_UMEM_COMPLETION_RING, COMP_SIZE);
	if (!err)
		err = setsockopt_int(p->fd, XDP_RX_RING, p->rx_size);
	if (!err)
		err = setsockopt_int(p->fd, XDP_TX_RING, TX_SIZE);
	if (!err && getsockopt(p->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen))
		err = -errno;
	if (!err)
		err = ring_map(p, 0, XDP_PGOFF_RX_RING, &off.rx, p->rx_size,
			       sizeof(struct xdp_desc), false, &p->rx);
	if (!err)
		err = ring_map(p, 1, XDP_PGOFF_TX_RING, &off.tx, TX_SIZE,
			       sizeof(struct xdp_desc), true, &p->tx);
	if (!err)
		err = ring_map(p, 2, XDP_UMEM_PGOFF_FILL_RING, &off.fr, p->rx_size,
			       sizeof(uint64_t), true, &p->fill);
	if (!err)
		err = ring_map(p, 3, XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr, COMP_SIZE,
			       sizeof(uint64_t), false, &p->comp);
	if (err) {
		pr_err("xsk_port: setting up the AF_XDP rings for %s queue %u: %s",
		       p->ifname, p->qid, strerror(-err));
		goto fail;
	}
	rx_top_up(p, FILL_MIN);
	err = sock_bind(p->fd, &sxdp);
	if (err)
		goto fail;
	p->bound = true;
	optlen = sizeof(opts);
	if (getsockopt(p->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen) == 0)
		p->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
	else
		p->zerocopy = flags & XDP_ZEROCOPY;
	if (owner)
		umem_pool_set_mode(pl, p->zerocopy, flags & XDP_USE_SG);
	p->sg = umem_pool_sg(pl);
	umem_pool_set_fd(pl, p->id, p->fd);
	return 0;
fail:
	sock_close(p);
	return err;
fail_nopool:
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (owner && !umem_pool_share_fd(pl)) {
		/* A pool made for this socket: nobody else will use it. */
		uint16_t id;

		if (!umem_pool_join(pl, -1, &id))
			umem_pool_leave(pl, id);
	}
	return err;
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

/* Whether pool @pl can take a port in @mode: a shared socket inherits the
 * pool's mode (zero-copy or copy, multi-buffer or not) from its first one.
 */
static bool pool_fits(const struct umem_pool *pl, uint32_t frame_size, bool sg,
		      enum xsk_port_mode mode, bool zc)
{
	if (!umem_pool_registered(pl) || !umem_pool_has_room(pl) ||
	    umem_pool_frame_size(pl) != frame_size || umem_pool_zerocopy(pl) != zc)
		return false;
	if (!sg && umem_pool_sg(pl))
		return false;
	return mode == XSK_PORT_AUTO || zc == (mode == XSK_PORT_ZEROCOPY);
}

/* Join a pool of @frame_size frames that fits, zero-copy ones first, or
 * start a new one: with multi-buffer when @sg (2 KiB frames need it), and
 * for page-sized frames without it if that fails. Registry locked.
 */
static int port_attach(struct xsk_port *p, enum xsk_port_mode mode,
		       uint32_t frame_size, bool sg)
{
	uint16_t flags = XDP_USE_NEED_WAKEUP;
	struct umem_pool *pl;
	int err, zc;

	for (zc = 1; zc >= 0; zc--) {
		for (pl = umem_pool_next(NULL); pl; pl = umem_pool_next(pl)) {
			if (!pool_fits(pl, frame_size, sg, mode, zc))
				continue;
			/* A zero-copy pool refuses a netdev without
			 * zero-copy (EOPNOTSUPP): try the next.
			 */
			err = sock_open(p, pl, XDP_SHARED_UMEM);
			if (!err || err == -EBUSY)
				return err;
		}
	}
	/* With neither XDP_COPY nor XDP_ZEROCOPY the kernel itself tries
	 * zero-copy and falls back to copy, which is exactly AUTO.
	 */
	if (mode == XSK_PORT_COPY)
		flags |= XDP_COPY;
	else if (mode == XSK_PORT_ZEROCOPY)
		flags |= XDP_ZEROCOPY;
	if (sg) {
		err = umem_pool_new(&pl, frame_size);
		if (err)
			return err;
		err = sock_open(p, pl, flags | XDP_USE_SG);
		if (!err || err == -EBUSY || frame_size == FRAME_SG)
			return err;
	}
	err = umem_pool_new(&pl, frame_size);
	if (err)
		return err;
	return sock_open(p, pl, flags);
}

/* Small frames need multi-buffer: try them with it, and fall back to
 * page-sized frames (with multi-buffer, for a driver that has it with those
 * only, and then without). xsk_port_single_buffer() skips multi-buffer,
 * to test the single-buffer path. Kernels before 6.6 refuse
 * the unknown flag (EINVAL); a zero-copy driver without zero-copy
 * multi-buffer refuses it when zero-copy is forced (EOPNOTSUPP).
 */
static int port_setup(struct xsk_port *p, enum xsk_port_mode mode)
{
	bool try_sg = !single_buffer;
	int err = 0;

	umem_pool_lock();
	if (try_sg)
		err = port_attach(p, mode, FRAME_SG, true);
	if (!try_sg || (err && err != -EBUSY))
		err = port_attach(p, mode, FRAME_PAGE, try_sg);
	umem_pool_unlock();
	if (err) {
		log_socket_error(p, mode, err);
		return err;
	}
	if (!p->sg)
		pr_notice("xsk_port: %s queue %u: no AF_XDP multi-buffer (%s): max frame %u bytes",
			  p->ifname, p->qid,
			  !try_sg ? "single buffer asked for" : "not offered",
			  xsk_port_max_frame(p));
	return 0;
}

int xsk_port_open(struct xsk_port **pp, const char *ifname, uint32_t qid,
		  int xskmap_fd, enum xsk_port_mode mode)
{
	struct umem_pool_stats ps;
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
	p->ifindex = if_nametoindex(ifname);
	if (!p->ifindex) {
		err = -errno;
		pr_err("xsk_port: no interface %s: %s", ifname, strerror(errno));
		goto fail;
	}

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

	umem_pool_read_stats(p->pool, &ps);
	pr_info("xsk_port: %s queue %u: AF_XDP socket in %s mode (%u-byte frames, %s: frames up to %u bytes; shared umem of %u frames, %u free, %u sockets)",
		ifname, qid, p->zerocopy ? "zero-copy" : "copy", p->frame_size,
		p->sg ? "multi-buffer" : "single-buffer", xsk_port_max_frame(p),
		ps.frames, ps.free, ps.members);
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
	umem_pool_lock();
	sock_close(p);
	umem_pool_unlock();
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

void xsk_port_read_frames(const struct xsk_port *p, struct xsk_port_frames *f)
{
	struct umem_pool_stats ps;

	umem_pool_read_stats(p->pool, &ps);
	f->owned = p->owned;
	f->fill_target = p->fill_target;
	f->pool_dry = p->pool_dry;
	f->pool_frames = ps.frames;
	f->pool_free = ps.free;
	f->pool_sockets = ps.members;
	f->umem_bytes = (uint64_t)ps.frames * p->frame_size;
}

/* The kernel sets need_wakeup on the fill ring when a driver ran dry
 * (zero-copy); copy mode never sets it, so this is free there.
 */
static void kick_fill(struct xsk_port *p)
{
	if (xsk_ring_prod__needs_wakeup(&p->fill))
		recvfrom(p->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* Consume @n peeked rx descriptors from ring index @idx on: their frames
 * go back to the fill ring as far as the fill target wants them, the rest
 * to the free stack (and beyond it to the pool); a fill ring short of the
 * target is topped up. Addresses are read before the rx slots are released,
 * which the kernel may overwrite as soon as they are.
 */
static void rx_recycle(struct xsk_port *p, uint32_t idx, uint32_t n)
{
	uint32_t held, want, k, fidx = 0, i;

	if (!n)
		return;
	/* What the kernel holds: posted, and not delivered on the rx ring. */
	held = *p->fill.producer - __atomic_load_n(p->rx.producer, __ATOMIC_ACQUIRE);
	rx_adapt(p, held);
	want = held < p->fill_target ? p->fill_target - held : 0;
	k = n < want ? n : want;
	if (k && xsk_ring_prod__reserve(&p->fill, k, &fidx) != k)
		k = 0;
	for (i = 0; i < n; i++) {
		uint64_t addr = FRAME_BASE(p, xsk_ring_cons__rx_desc(&p->rx, idx + i)->addr);

		if (i < k)
			*xsk_ring_prod__fill_addr(&p->fill, fidx + i) = addr;
		else
			stash_push(p, addr);
	}
	if (k)
		xsk_ring_prod__submit(&p->fill, k);
	xsk_ring_cons__release(&p->rx, n);
	if (want > n)
		rx_top_up(p, want - n);
	stash_trim(p);
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
	if (peeked > done) {
		xsk_ring_cons__cancel(&p->rx, peeked - done);
		/* Frames wait for the guest: let the kernel go on
		 * receiving behind them, up to the port's rx maximum.
		 */
		rx_top_up(p, p->rx_max);
	}
	p->rx_idx += done;
	if (done || peeked)
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
		stash_push(p, FRAME_BASE(p, *xsk_ring_cons__comp_addr(&p->comp, idx + i)));
	xsk_ring_cons__release(&p->comp, n);
}

/* Tx frames on the tx ring or in the kernel, not yet completed. */
static uint32_t tx_out(const struct xsk_port *p)
{
	return *p->tx.producer - *p->comp.consumer;
}

unsigned int xsk_port_tx_alloc(struct xsk_port *p, struct xsk_pkt *pkts,
			       unsigned int max)
{
	uint32_t room = xsk_port_frame_room(p);
	unsigned int n, i;

	reap_completions(p);
	while (p->nstash < max && tx_out(p) + p->nstash < TX_MAX && stash_grow(p))
		;
	n = max < p->nstash ? max : p->nstash;
	for (i = 0; i < n; i++) {
		uint64_t addr = p->stash[--p->nstash];

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

	/* Cannot fail: the tx ring holds TX_MAX twice. */
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
				stash_push(p, FRAME_BASE(p, pkts[j].addr));
				continue;
			}
			d = xsk_ring_prod__tx_desc(&p->tx, idx++);
			d->addr = pkts[j].addr;
			d->len = pkts[j].len;
			d->options = pkts[j].more ? XDP_PKT_CONTD : 0;
		}
	}
	for (i = used; i < alloced; i++)
		stash_push(p, FRAME_BASE(p, pkts[i].addr));
	stash_trim(p);
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
	stash_trim(p);
	if (*p->tx.producer == __atomic_load_n(p->tx.consumer, __ATOMIC_ACQUIRE))
		return false;
	kick_tx(p);
	return *p->tx.producer != __atomic_load_n(p->tx.consumer, __ATOMIC_ACQUIRE);
}
