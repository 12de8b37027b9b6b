// SPDX-License-Identifier: GPL-2.0
/* virtio-net's side of the datapath: frames into rx chains behind the
 * virtio-net header (mergeable buffers included), tx chains out into umem
 * frames. Kept apart from the relay so the benchmarks run the shipped code.
 */
#include <errno.h>
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
static void rx_write(const struct virtio_net_rxq *q, const struct vq_chain *c,
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

int virtio_net_rx_frame(struct virtio_net_rxq *q, const struct xsk_pkt *frags,
			unsigned int nfrags, size_t len)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {
		.hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.num_buffers = 1,
	};
	struct rx_src src = { .hdr = &hdr, .frag = frags, .end = frags + nfrags };
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
