// SPDX-License-Identifier: GPL-2.0
/* virtio-net's side of the datapath: frames into rx chains behind the
 * virtio-net header (mergeable buffers included), tx chains out into umem
 * frames, and the offloads the header carries both ways. Kept apart from
 * the relay so the benchmarks run the shipped code.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "virtio_net.h"

/* Where the stream "virtio-net header + frame" continues: the frame is the
 * umem fragments [frag, end), the first @off bytes of @frag already copied.
 */
struct rx_src {
	const void *hdr;
	const struct xsk_pkt *frag, *end;
	uint32_t off;
};

/* Write bytes [from, from + len) of the stream at the start of chain @c;
 * @from is where the previous write stopped (0 for the first).
 */
static inline __attribute__((always_inline))
void rx_write(const struct virtio_net_rxq *q, const struct vq_chain *c,
		     struct rx_src *src, size_t from, size_t len)
{
	size_t off = 0;

	if (from < q->hdr_len) {
		off = q->hdr_len - from < len ? q->hdr_len - from : len;
		vq_chain_write(c, 0, (const uint8_t *)src->hdr + from, off);
	}
	while (off < len && src->frag < src->end) {
		size_t n = src->frag->len - src->off;

		if (n > len - off)
			n = len - off;
		vq_chain_write(c, off, (const uint8_t *)src->frag->data + src->off, n);
		off += n;
		src->off += n;
		if (src->off == src->frag->len) {
			src->frag++;
			src->off = 0;
		}
	}
}

/* virtio_net_rx_frame() behind header @hdr (num_buffers 1: patched here).
 * Inlined into both callers: the plain path then has no call of its own.
 */
static inline __attribute__((always_inline)) int rx_frame(struct virtio_net_rxq *q, const struct xsk_pkt *frags,
		    unsigned int nfrags, size_t len,
		    const struct virtio_net_hdr_mrg_rxbuf *hdr)
{
	struct rx_src src = { .hdr = hdr, .frag = frags, .end = frags + nfrags };
	struct virtqueue *vq = q->vq;
	size_t total = q->hdr_len + len, done = 0;
	uint16_t heads[VIRTIO_NET_RX_MAX_BUFS], ndescs[VIRTIO_NET_RX_MAX_BUFS];
	uint32_t lens[VIRTIO_NET_RX_MAX_BUFS];
	unsigned int n = 0, i;
	int err;

	while (done < total) {
		struct vq_chain *c = n ? &q->chain : &q->first;
		size_t part;

		if (n == VIRTIO_NET_RX_MAX_BUFS) {
			err = -EMSGSIZE;
			goto unpop;
		}
		err = vq_pop(vq, q->mem, c);
		if (err == -EAGAIN && n) {
			/* A big frame over mergeable buffers needs several;
			 * the guest may refill fewer at a time. Holding all
			 * it posted, enabling notifications asks (event idx)
			 * for a kick when it posts past them; retrying on
			 * buffers it posted long ago would spin.
			 */
			if (vq_notify_enable(vq))
				continue;
			err = -ENOBUFS;
		}
		if (err)
			goto unpop;
		n++;
		if (!c->in_len) {
			/* A read-only buffer on the rx queue: nothing sane to do. */
			vq_set_broken(vq);
			err = -EIO;
			goto unpop;
		}
		if (!q->mrg && c->in_len < total) {
			err = -EMSGSIZE;
			goto unpop;
		}
		part = c->in_len < total - done ? c->in_len : total - done;
		rx_write(q, c, &src, done, part);
		heads[n - 1] = c->head;
		ndescs[n - 1] = c->ndesc;
		lens[n - 1] = part;
		done += part;
	}
	if (n > 1) {
		uint16_t nb = n;

		vq_chain_write(&q->first,
			       offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
			       &nb, sizeof(nb));
	}
	for (i = 0; i < n; i++)
		vq_push(vq, heads[i], lens[i], ndescs[i]);
	return 0;
unpop:
	/* Cannot fail while VIRTIO_NET_RX_MAX_BUFS fits the packed ring's
	 * history (virtio_net.h); if it did, the ring is broken now.
	 */
	if (vq_unpop(vq, n))
		return -EIO;
	return err;
}

int virtio_net_rx_frame(struct virtio_net_rxq *q, const struct xsk_pkt *frags,
			unsigned int nfrags, size_t len)
{
	static const struct virtio_net_hdr_mrg_rxbuf plain = {
		.hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.num_buffers = 1,
	};

	return rx_frame(q, frags, nfrags, len, &plain);
}

/* rx_frame() behind @vh. */
static __attribute__((noinline)) int rx_frame_vh(struct virtio_net_rxq *q, const struct xsk_pkt *frags,
		       unsigned int nfrags, size_t len, const struct virtio_net_hdr *vh)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { .hdr = *vh, .num_buffers = 1 };

	return rx_frame(q, frags, nfrags, len, &hdr);
}

/* net_rx_check() of single-fragment frame @p, remembered from the last call
 * when it was the frame that ended a run.
 */
static enum net_rx_csum rx_check(struct virtio_net_rxq *q, const struct xsk_pkt *p,
				 struct gro_seg *seg)
{
	if (p->data == q->next_data) {
		q->next_data = NULL;
		*seg = q->next_seg;
		return q->next_res;
	}
	return net_rx_check(p->data, p->len, seg);
}

int virtio_net_rx_offload(struct virtio_net_rxq *q, const struct xsk_pkt *pkts,
			  unsigned int n, unsigned int *nf, size_t *len)
{
	struct virtio_net_hdr vh = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct gro_seg first, last, s;
	enum net_rx_csum res;
	uint32_t payload;
	size_t total;
	unsigned int k;
	int err;

	/* Multi-buffer frames (over one umem frame) are not verified. */
	if (*nf > 1)
		return rx_frame_vh(q, pkts, *nf, *len, &vh) ?: 1;
	res = rx_check(q, pkts, &first);
	if (res == NET_RX_UNCHECKED)
		return rx_frame_vh(q, pkts, 1, *len, &vh) ?: 1;
	vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	if (res != NET_RX_GRO || q->no_gro || !(first.ipv6 ? q->gro6 : q->gro4))
		goto single;
	last = first;
	payload = first.payload;
	total = pkts[0].len;
	for (k = 1; k < n && k < VIRTIO_NET_GRO_MAX; k++) {
		const struct xsk_pkt *p = &pkts[k];

		res = p->more ? NET_RX_UNCHECKED : rx_check(q, p, &s);
		if (res != NET_RX_GRO || !gro_can_join(&first, &last, &s, payload)) {
			if (!p->more) {
				q->next_data = p->data;
				q->next_res = res;
				q->next_seg = s;
			}
			break;
		}
		q->gro_frags[k + 1] = (struct xsk_pkt){
			.data = (uint8_t *)p->data + s.hdr_len, .len = s.payload,
		};
		last = s;
		payload += s.payload;
		total += p->len;
	}
	if (k == 1)
		goto single;
	gro_build(q->gro_hdr, &first, payload, last.last);
	q->gro_frags[0] = (struct xsk_pkt){ .data = q->gro_hdr, .len = first.hdr_len };
	q->gro_frags[1] = (struct xsk_pkt){
		.data = (uint8_t *)pkts[0].data + first.hdr_len, .len = first.payload,
	};
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = first.ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	vh.hdr_len = htole16(first.hdr_len);
	vh.gso_size = htole16(first.payload);
	vh.csum_start = htole16(first.l4_off);
	vh.csum_offset = htole16(16);
	err = rx_frame_vh(q, q->gro_frags, k + 1, first.hdr_len + payload, &vh);
	if (!err) {
		q->st->rx_gro_frames++;
		q->st->rx_gro_segs += k;
		*nf = k;
		*len = total;
		return k;
	}
	/* Nothing was taken: the frame after the run is checked anew. */
	q->next_data = NULL;
	if (err != -EMSGSIZE)
		return err;
	/* Too big for what the guest posts (over VIRTIO_NET_RX_MAX_BUFS of
	 * its buffers): single frames for the rest of the batch.
	 */
	q->no_gro = true;
	vh = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_DATA_VALID,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
	};
single:
	err = rx_frame_vh(q, pkts, 1, *len, &vh);
	if (err)
		return err;
	q->st->rx_csum_valid++;
	return 1;
}

/* ---- tx offloads ---- */

/* Sum bytes [@from, end) of the frame in umem frames @p[0..@n), as if
 * they were contiguous.
 */
static uint32_t frags_csum(const struct xsk_pkt *p, unsigned int n, uint32_t from)
{
	uint32_t sum = 0, pos = 0;
	unsigned int i;

	for (i = 0; i < n; pos += p[i].len, i++) {
		uint32_t skip = from > pos ? from - pos : 0, part;

		if (skip >= p[i].len)
			continue;
		part = csum_partial((const uint8_t *)p[i].data + skip, p[i].len - skip, 0);
		/* A piece starting at an odd offset from @from sums its
		 * bytes in the other lane of each 16-bit word.
		 */
		if ((pos + skip - from) & 1)
			part = part >> 8 | part << 24;
		sum = csum_add(sum, part);
	}
	return sum;
}

/* Store byte @b at byte @off of the frame in umem frames @p. */
static void frags_put(struct xsk_pkt *p, uint32_t off, uint8_t b)
{
	while (off >= p->len)
		off -= p++->len;
	((uint8_t *)p->data)[off] = b;
}

/* NEEDS_CSUM on a copied-out frame: the sum from csum_start to the end,
 * folded, at csum_start + csum_offset (whose bytes the guest seeded with
 * the pseudo-header's sum). 0 goes out as 0xffff, which means the same and
 * is what UDP needs (0 there means "no checksum").
 */
static void tx_csum(struct xsk_pkt *p, unsigned int n, uint32_t start,
		    uint32_t off)
{
	uint16_t c = csum_fold(frags_csum(p, n, start)) ?: 0xffff;
	uint8_t b[2];

	memcpy(b, &c, 2);
	frags_put(p, start + off, b[0]);
	frags_put(p, start + off + 1, b[1]);
}

unsigned int virtio_net_tx_segments(struct virtio_net_txq *q, uint32_t room,
				    struct xsk_pkt *pkts, unsigned int avail)
{
	uint8_t hdr[TSO_HDR_MAX];	/* a segment over several umem frames */
	unsigned int used = 0;

	while (q->tso_busy) {
		uint32_t seg = tso_next_len(&q->tso), hl = q->tso.hdr_len, n;
		unsigned int need = (seg + room - 1) / room, i;
		const uint8_t *pl;
		uint32_t off;

		if (need > avail - used)
			break;
		if (need == 1) {
			/* Headers straight into the umem frame, then the payload. */
			n = tso_next(&q->tso, pkts[used].data, &pl);
			memcpy((uint8_t *)pkts[used].data + hl, pl, n);
			pkts[used].len = hl + n;
			pkts[used].more = false;
			used++;
		} else {
			n = tso_next(&q->tso, hdr, &pl);
			for (i = 0, off = 0; i < need; i++, off += room) {
				struct xsk_pkt *p = &pkts[used + i];
				uint32_t len = seg - off < room ? seg - off : room;
				uint32_t h = off < hl ? (hl - off < len ? hl - off : len) : 0;

				memcpy(p->data, hdr + off, h);
				/* room is far over TSO_HDR_MAX: a piece with
				 * header bytes ends in the payload, or the
				 * segment does.
				 */
				if (len > h)
					memcpy((uint8_t *)p->data + h, pl + (off + h - hl), len - h);
				p->len = len;
				p->more = i + 1 < need;
			}
			used += need;
		}
		q->st->tx_tso_segs++;
		q->tso_busy = !q->tso.done;
	}
	return used;
}

int virtio_net_tx_chain(struct virtio_net_txq *q, const struct vq_chain *c,
			uint32_t room, uint32_t max_frame, struct xsk_pkt *pkts,
			unsigned int avail)
{
	uint32_t len = c->out_len - q->hdr_len, start, off;
	struct virtio_net_hdr vh;
	unsigned int n;
	bool v6;

	vq_chain_read(c, 0, &vh, sizeof(vh));
	start = le16toh(vh.csum_start);
	off = le16toh(vh.csum_offset);
	if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* Other flags (DATA_VALID) mean nothing on tx: ignored. */
		if ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && start + off + 2 > len)
			goto bad;
		if (len > max_frame) {
			q->need = len;
			return -EMSGSIZE;
		}
		if ((len + room - 1) / room > avail)
			return -ENOBUFS;
		n = virtio_net_tx_frame(c, q->hdr_len, room, pkts);
		if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			tx_csum(pkts, n, start, off);
			q->st->tx_csum++;
		}
		return n;
	}
	/* TSO: only what was negotiated (no ECN, no UFO), with the checksum
	 * asked for where TCP has it (virtio 1.x 5.1.6.2: NEEDS_CSUM is a
	 * must with GSO); the MSS and the headers are checked by tso_start()
	 * on our copy, which the guest can no longer change.
	 */
	v6 = vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV6;
	if (!(v6 && q->tso6) && !(vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && q->tso4))
		goto bad;
	if (!q->gso_buf || !(vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || off != 16 ||
	    len > VIRTIO_NET_GSO_MAX_FRAME)
		goto bad;
	vq_chain_read(c, q->hdr_len, q->gso_buf, len);
	if (tso_start(&q->tso, q->gso_buf, len, v6, le16toh(vh.gso_size)) ||
	    start != q->tso.l4_off)
		goto bad;
	/* The first segment is the longest. */
	if (tso_next_len(&q->tso) > max_frame) {
		q->need = tso_next_len(&q->tso);
		return -EMSGSIZE;
	}
	q->tso_busy = true;
	q->st->tx_tso_frames++;
	return virtio_net_tx_segments(q, room, pkts, avail);
bad:
	q->st->tx_bad_hdr++;
	return -EINVAL;
}
