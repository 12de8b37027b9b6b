/* SPDX-License-Identifier: GPL-2.0 */
/* virtio-net's side of the datapath: a frame (umem fragments) written into a
 * guest's rx chains behind its virtio-net header, and a guest's tx chain read
 * out into umem frames; with offloads negotiated, the checksums and TCP
 * segmentation the header asks for on tx, and verified checksums and joined
 * TCP segments on rx. The relay and tools/bench/vxdp-vqload both run this.
 */
#ifndef VXDP_VIRTIO_NET_H
#define VXDP_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/offload.h"
#include "virtqueue.h"
#include "xdp/xsk_port.h"

/* Most rx buffers one frame may take with mergeable rx buffers; a frame
 * needing more is dropped. Every one of them may have to be given back.
 */
#define VIRTIO_NET_RX_MAX_BUFS 64
_Static_assert(VIRTIO_NET_RX_MAX_BUFS <= VRING_PACKED_UNPOP_MAX,
	       "a frame's rx buffers must fit the packed ring's unpop history");

/* Most received TCP segments joined into one frame for the guest. */
#define VIRTIO_NET_GRO_MAX 64

/* Offload work done, for the relay's counters. */
struct virtio_net_offload_stats {
	uint64_t rx_csum_valid;		/* frames marked DATA_VALID */
	uint64_t rx_gro_frames;		/* joined frames given to the guest ... */
	uint64_t rx_gro_segs;		/* ... made of this many segments */
	uint64_t tx_csum;		/* checksums filled in (NEEDS_CSUM) */
	uint64_t tx_tso_frames;		/* guest TSO frames cut ... */
	uint64_t tx_tso_segs;		/* ... into this many */
	uint64_t tx_bad_hdr;		/* guest frames dropped for their header */
};

/* One rx queue's view of the negotiated device. */
struct virtio_net_rxq {
	struct virtqueue *vq;
	const struct guest_mem *mem;
	unsigned int hdr_len;	/* virtio_net_hdr (10) or _mrg_rxbuf (12) */
	bool mrg;		/* VIRTIO_NET_F_MRG_RXBUF */
	/* Offloads (virtio_net_rx_offload()): verified checksums marked
	 * (GUEST_CSUM), TCP segments joined (GUEST_TSO4/6 with GUEST_CSUM
	 * and mergeable buffers); no_gro: the guest's buffers could not take
	 * a joined frame, so none until the caller clears it (next batch).
	 */
	bool csum, gro4, gro6, no_gro;
	struct virtio_net_offload_stats *st;
	/* Scratch: the frame's first chain (its num_buffers is patched last)
	 * and the one being filled.
	 */
	struct vq_chain first, chain;
	/* The last frame net_rx_check() looked at beyond a run it could not
	 * join: it comes first in the next call, which need not check it again.
	 */
	const void *next_data;
	enum net_rx_csum next_res;
	struct gro_seg next_seg;
	/* A joined frame: its headers, then its pieces. */
	uint8_t gro_hdr[TSO_HDR_MAX];
	struct xsk_pkt gro_frags[VIRTIO_NET_GRO_MAX + 1];
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

/* virtio_net_rx_frame() for the frame at @pkts (*@nf fragments, *@len
 * bytes, of the @n fragments peeked) with offloads: its TCP or UDP checksum
 * verified and marked (DATA_VALID), and, when it is a TCP segment the
 * following single-fragment ones continue in order (gro_can_join()), all
 * of them written as one frame of gso_type TCPV4/6 (NEEDS_CSUM, gso_size
 * the first's payload). Returns how many frames it delivered, *@nf and
 * *@len grown to what they took; or virtio_net_rx_frame()'s errors, for
 * the first frame (then nothing was taken). A joined frame too big for the
 * guest's buffers goes as single frames, and sets no_gro.
 */
int virtio_net_rx_offload(struct virtio_net_rxq *q, const struct xsk_pkt *pkts,
			  unsigned int n, unsigned int *nf, size_t *len);

/* Before each batch peeked from the XSK: what virtio_net_rx_offload()
 * remembers of the last one goes (umem frames are reused).
 */
static inline void virtio_net_rx_batch_start(struct virtio_net_rxq *q)
{
	q->no_gro = false;
	q->next_data = NULL;
}

/* Largest frame of a guest TSO frame the relay takes: Ethernet, two VLAN
 * tags and an IPv6 header before 64 KiB of IP payload.
 */
#define VIRTIO_NET_GSO_MAX_FRAME (14 + 8 + 40 + 65535)

/* One tx queue's offloads. */
struct virtio_net_txq {
	unsigned int hdr_len;
	bool csum;		/* VIRTIO_NET_F_CSUM: headers may ask for work */
	bool tso4, tso6;	/* HOST_TSO4/6 */
	/* VIRTIO_NET_GSO_MAX_FRAME bytes, the owner's (NULL: no TSO): the
	 * guest's TSO frame, copied out so its chain goes back at once, cut
	 * from here into segments as tx buffers come free.
	 */
	uint8_t *gso_buf;
	bool tso_busy;		/* segments of gso_buf still to send */
	struct tso tso;
	uint32_t need;		/* -EMSGSIZE: the frame size that did not fit */
	struct virtio_net_offload_stats *st;
};

/* Tx chain @c (c->out_len at least hdr_len + ETH_HLEN) out into the @avail
 * umem frames of @room bytes at @pkts, doing what its virtio-net header
 * asks: the checksum at csum_start/csum_offset filled in, or a TSO frame
 * copied to gso_buf and cut (tso_busy while segments remain: send them
 * with virtio_net_tx_segments() before the next chain). Returns the
 * frames filled (0 is possible for a TSO frame); -EINVAL for a header
 * that is malformed or asks for what was not negotiated (drop the
 * chain); -EMSGSIZE when the frame, or a segment, is over @max_frame
 * bytes (q->need says how big); -ENOBUFS when a frame without TSO needs
 * more than @avail frames (nothing done: try the chain again later).
 */
int virtio_net_tx_chain(struct virtio_net_txq *q, const struct vq_chain *c,
			uint32_t room, uint32_t max_frame, struct xsk_pkt *pkts,
			unsigned int avail);

/* The pending TSO frame's next segments into the @avail umem frames at
 * @pkts, as many whole ones as fit. Returns the frames filled.
 */
unsigned int virtio_net_tx_segments(struct virtio_net_txq *q, uint32_t room,
				    struct xsk_pkt *pkts, unsigned int avail);

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
