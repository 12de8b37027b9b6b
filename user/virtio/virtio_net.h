/* SPDX-License-Identifier: GPL-2.0 */
/* virtio-net's side of the datapath: a frame (umem fragments) written into a
 * guest's rx chains behind its virtio-net header, and a guest's tx chain read
 * out into umem frames. The relay and tools/bench/vxdp-vqload both run this.
 */
#ifndef VXDP_VIRTIO_NET_H
#define VXDP_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtqueue.h"
#include "xdp/xsk_port.h"

/* Most rx buffers one frame may take with mergeable rx buffers; a frame
 * needing more is dropped. Every one of them may have to be given back.
 */
#define VIRTIO_NET_RX_MAX_BUFS 64
_Static_assert(VIRTIO_NET_RX_MAX_BUFS <= VRING_PACKED_UNPOP_MAX,
	       "a frame's rx buffers must fit the packed ring's unpop history");

/* One rx queue's view of the negotiated device. */
struct virtio_net_rxq {
	struct virtqueue *vq;
	const struct guest_mem *mem;
	unsigned int hdr_len;	/* virtio_net_hdr (10) or _mrg_rxbuf (12) */
	bool mrg;		/* VIRTIO_NET_F_MRG_RXBUF */
	/* Scratch: the frame's first chain (its num_buffers is patched last)
	 * and the one being filled.
	 */
	struct vq_chain first, chain;
};

/* Copy one frame of @nfrags umem fragments, @len bytes in all, behind a
 * virtio-net header into as many rx buffers as it takes (one without
 * mergeable rx buffers), and push them. Returns 0;
 * -EAGAIN when the guest has posted no buffer (notifications not touched);
 * -ENOBUFS when it has posted some but not enough for this frame (a kick is
 * then asked for once it posts more: the caller must not re-enable
 * notifications, which would ask for one at buffers already posted);
 * -EMSGSIZE when the frame cannot fit what the guest posts (the frame is
 * dropped, the buffers stay); -EIO when the ring is broken. Nothing is
 * consumed from the ring unless it returns 0.
 */
int virtio_net_rx_frame(struct virtio_net_rxq *q, const struct xsk_pkt *frags,
			unsigned int nfrags, size_t len);

/* The frame of tx chain @c (after its @hdr_len-byte virtio-net header) into
 * umem frames of @room bytes each, @pkts on: data copied, len and more set.
 * The caller has checked that the frame fits the @pkts it hands over.
 * Returns how many it filled. Inline: it is a few lines in the tx loop.
 */
static inline unsigned int virtio_net_tx_frame(const struct vq_chain *c,
					       unsigned int hdr_len, uint32_t room,
					       struct xsk_pkt *pkts)
{
	uint32_t len = c->out_len - hdr_len, off;
	unsigned int used = 0;

	for (off = 0; off < len; off += pkts[used++].len) {
		uint32_t n = len - off < room ? len - off : room;

		vq_chain_read(c, hdr_len + off, pkts[used].data, n);
		pkts[used].len = n;
		pkts[used].more = off + n < len;
	}
	return used;
}

#endif
