/* SPDX-License-Identifier: GPL-2.0 */
/* One AF_XDP socket on one VF queue, its frames taken from a umem shared
 * with other ports (umem_pool.h) as its traffic needs them.
 */
#ifndef VXDP_XSK_PORT_H
#define VXDP_XSK_PORT_H

#include <stdbool.h>
#include <stdint.h>

struct xsk_port;

/* One umem frame's worth of a frame. A frame bigger than one umem frame
 * (AF_XDP multi-buffer) is a run of xsk_pkts, each but the last with @more.
 */
struct xsk_pkt {
	void *data;
	uint32_t len;
	bool more;		/* the frame continues in the next xsk_pkt */
	uint64_t addr;		/* umem address; opaque to callers */
};

/* Most umem frames one frame may span: the copy-mode limit every kernel
 * with multi-buffer honours (CONFIG_MAX_SKB_FRAGS >= 17, plus the head).
 * Peek with at least this many to see every frame the kernel can deliver.
 */
#define XSK_PORT_MAX_FRAGS 18

enum xsk_port_mode {
	XSK_PORT_AUTO = 0,	/* zero-copy when the driver offers it, else copy */
	XSK_PORT_COPY,
	XSK_PORT_ZEROCOPY,
};

/* Sockets opened after xsk_port_single_buffer(true) are bound without
 * multi-buffer, as on kernels before 6.6: frames up to one umem frame.
 */
void xsk_port_single_buffer(bool on);

/* Create the socket on @ifname queue @qid and insert it into @xskmap_fd at
 * key @qid. Returns 0 or a negative errno (logged with the reason).
 */
int xsk_port_open(struct xsk_port **pp, const char *ifname, uint32_t qid,
		  int xskmap_fd, enum xsk_port_mode mode);
void xsk_port_close(struct xsk_port *p);

int xsk_port_fd(const struct xsk_port *p);

/* Socket busy polling (SO_PREFER_BUSY_POLL, Linux 5.11+): with @usec > 0
 * each sendto()/recvfrom() on the socket first runs the VF queue's NAPI,
 * up to @budget frames, in the caller's context; 0 turns it off. Returns 0
 * or a negative errno (-ENOPROTOOPT: the kernel lacks it).
 */
int xsk_port_set_busy_poll(struct xsk_port *p, unsigned int usec,
			   unsigned int budget);
bool xsk_port_zerocopy(const struct xsk_port *p);
/* Largest piece of a frame one umem frame (one xsk_pkt) carries. */
uint32_t xsk_port_frame_room(const struct xsk_port *p);
/* Whether the socket is bound with AF_XDP multi-buffer (XDP_USE_SG, Linux
 * 6.6+), i.e. frames may span several umem frames.
 */
bool xsk_port_multi_buffer(const struct xsk_port *p);
/* Largest whole frame the port moves: XSK_PORT_MAX_FRAGS umem frames with
 * multi-buffer, one without. The VF's MTU is the caller's business.
 */
uint32_t xsk_port_max_frame(const struct xsk_port *p);
/* Frames the port dropped on rx because they spanned more umem frames than
 * a peek could hold.
 */
uint64_t xsk_port_rx_dropped(const struct xsk_port *p);

/* The port's share of its umem: frames it holds (on its rings, in the
 * kernel, free at hand), its fill target, growths the pool could not serve,
 * and the shared umem's frames, free frames and sockets.
 */
struct xsk_port_frames {
	uint32_t owned;
	uint32_t fill_target;
	uint64_t pool_dry;
	uint32_t pool_frames, pool_free, pool_sockets;
	uint64_t umem_bytes;
};
void xsk_port_read_frames(const struct xsk_port *p, struct xsk_port_frames *f);

/* The kernel's drop counters for the socket (XDP_STATISTICS): frames it
 * could not deliver for want of a fill-ring buffer, for a full rx ring,
 * invalid descriptors, and how often the fill ring was empty. Zero when the
 * kernel cannot say. A getsockopt(): control path only.
 */
struct xsk_port_stats {
	uint64_t rx_dropped;		/* no buffer on the fill ring, or frame too big */
	uint64_t rx_ring_full;
	uint64_t invalid;		/* rx and tx invalid descriptors */
	uint64_t fill_ring_empty;	/* times the fill ring was found empty */
};
void xsk_port_read_stats(const struct xsk_port *p, struct xsk_port_stats *st);

/* Received frames, oldest first, as up to @max xsk_pkts, left on the rx ring
 * until xsk_port_rx_release(). Only whole frames: the last xsk_pkt returned
 * never has @more set; a frame cut by @max stays for the next peek, and one
 * longer than @max umem frames is dropped (xsk_port_rx_dropped()).
 */
unsigned int xsk_port_rx_peek(struct xsk_port *p, struct xsk_pkt *pkts,
			      unsigned int max);
/* Whether the rx ring holds anything, without consuming: for busy polling. */
bool xsk_port_rx_ready(const struct xsk_port *p);

/* The first @done of the @peeked xsk_pkts are consumed and their buffers go
 * back to the fill ring; the rest stay on the rx ring for the next peek.
 * @done should end a frame; if it does not, the rest of that frame is
 * dropped rather than returned as a frame of its own.
 */
void xsk_port_rx_release(struct xsk_port *p, unsigned int done,
			 unsigned int peeked);

/* Up to @max free tx buffers (len = room, more = false). Reaps completions
 * first.
 */
unsigned int xsk_port_tx_alloc(struct xsk_port *p, struct xsk_pkt *pkts,
			       unsigned int max);
/* Queue the first @used of @alloced buffers for transmit with their len and
 * @more (a frame over several buffers, multi-buffer ports only); return the
 * rest to the pool; kick the kernel when it needs it. A frame the kernel
 * would reject (a piece empty or over frame_room, more than
 * XSK_PORT_MAX_FRAGS pieces, unterminated within @used, or several pieces
 * without multi-buffer) is not sent and its buffers go back to the pool.
 */
void xsk_port_tx_submit(struct xsk_port *p, struct xsk_pkt *pkts,
			unsigned int alloced, unsigned int used);
/* Returns true while frames queued for tx are still not handed to the
 * driver (copy mode sends a bounded batch per wakeup): call again later.
 */
bool xsk_port_tx_pending(struct xsk_port *p);

#endif
