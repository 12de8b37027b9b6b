/* SPDX-License-Identifier: GPL-2.0 */
/* One AF_XDP socket on one VF queue with its own umem (libxdp xsk API):
 * the rx half of the umem feeds the fill ring, the tx half is a free pool.
 */
#ifndef VXDP_XSK_PORT_H
#define VXDP_XSK_PORT_H

#include <stdbool.h>
#include <stdint.h>

struct xsk_port;

struct xsk_pkt {
	void *data;
	uint32_t len;
	uint64_t addr;		/* umem address; opaque to callers */
};

enum xsk_port_mode {
	XSK_PORT_AUTO = 0,	/* zero-copy when the driver offers it, else copy */
	XSK_PORT_COPY,
	XSK_PORT_ZEROCOPY,
};

/* Create the socket on @ifname queue @qid and insert it into @xskmap_fd at
 * key @qid. Returns 0 or a negative errno (logged with the reason).
 */
int xsk_port_open(struct xsk_port **pp, const char *ifname, uint32_t qid,
		  int xskmap_fd, enum xsk_port_mode mode);
void xsk_port_close(struct xsk_port *p);

int xsk_port_fd(const struct xsk_port *p);
bool xsk_port_zerocopy(const struct xsk_port *p);
/* Largest frame the port can carry in one umem frame. */
uint32_t xsk_port_frame_room(const struct xsk_port *p);

/* Up to @max received frames, oldest first, left on the rx ring until
 * xsk_port_rx_release().
 */
unsigned int xsk_port_rx_peek(struct xsk_port *p, struct xsk_pkt *pkts,
			      unsigned int max);
/* The first @done of the @peeked frames are consumed and their buffers go back
 * to the fill ring; the rest stay on the rx ring for the next peek.
 */
void xsk_port_rx_release(struct xsk_port *p, unsigned int done,
			 unsigned int peeked);

/* Up to @max free tx buffers (len = room). Reaps completions first. */
unsigned int xsk_port_tx_alloc(struct xsk_port *p, struct xsk_pkt *pkts,
			       unsigned int max);
/* Queue the first @used of @alloced buffers for transmit with their len;
 * return the rest to the pool; kick the kernel when it needs it.
 */
void xsk_port_tx_submit(struct xsk_port *p, struct xsk_pkt *pkts,
			unsigned int alloced, unsigned int used);
/* Returns true while frames queued for tx are still not handed to the
 * driver (copy mode sends a bounded batch per wakeup): call again later.
 */
bool xsk_port_tx_pending(struct xsk_port *p);

#endif
