// SPDX-License-Identifier: GPL-2.0
/* vxdp-vqload: a fixed, deterministic workload of the relay's virtqueue hot
 * path, for tools/bench/vxdp-insncount to count instructions per packet under
 * callgrind; run on its own it checks that every frame arrives intact.
 *
 *   vxdp-vqload [--case NAME] [--packets N] [--warmup N] [--list]
 *
 * The guest is in-process: selftests/unit/guest_driver.h drives split or
 * packed rings in anonymous memory registered with guest_mem_add_ptr(), in
 * two regions laid out like a small QEMU pc guest's (low RAM below 640 KiB,
 * then main RAM holding the rings and buffers), so address translation
 * walks the region table as it does in the daemon. The device side is the
 * shipped copy code (virtio/virtio_net.c), driven as user/daemon/relay.c
 * drives it:
 *
 *   tx  guest -> VF: pop chains until the ring is empty, skip the
 *       virtio-net header, copy the frame into a umem-like frame, push at
 *       once; flush and decide on a notification per batch of 32; on
 *       -EAGAIN re-enable kicks (event idx).
 *   rx  VF -> guest: for each of 32 frames in umem-like frames, pop as many
 *       rx buffers as header + frame need, write the 12-byte
 *       virtio_net_hdr_mrg_rxbuf and the frame, patch num_buffers when it
 *       took several, push; flush and decide on a notification per batch.
 *
 * The guest side of every batch (posting buffers, writing tx frames,
 * reaping used entries, checking every byte delivered) happens outside
 * vqload_hot(), the only function callgrind is told to count
 * (--toggle-collect=vqload_hot), so the count is the device's work alone.
 * A frame that arrives wrong, short or with a wrong header fails the run:
 * a broken datapath cannot give good numbers.
 *
 * The offload cases (offloads negotiated, frames real TCP/IPv4 built and
 * checksummed by selftests/unit/frame_build.h) go through the offload
 * calls as relay.c makes them: -csum: guest frames with NEEDS_CSUM out,
 * VF frames of 32 flows in (checksum verified, DATA_VALID); -tso: one
 * guest TSO frame of 32 segments per batch, cut (virtio_net_tx_chain(),
 * virtio_net_tx_segments()); -gro: 32 segments of one flow per batch,
 * joined into one frame (virtio_net_rx_offload()). Every output frame is
 * compared byte for byte with the one the reference builder makes; Ir per
 * packet is per wire frame (segment).
 *
 * Output: one "key=value ..." line per case on stdout; exit 0 when every
 * frame checked out, 1 when one did not, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost/guest_mem.h"
#include "virtio/virtio_net.h"
#include "xdp/xsk_port.h"
#include "../../selftests/unit/guest_driver.h"
#include "../../selftests/unit/frame_build.h"
#include "util/compiler.h"

/* As user/daemon/relay.c: frames per XSK batch. */
#define BATCH		32
#define RX_MAX_BUFS	VIRTIO_NET_RX_MAX_BUFS
/* A umem frame (4 KiB) less the kernel's headroom, as xsk_port's room. */
#define UMEM_FRAME	4096
#define FRAME_ROOM	3840

/* QEMU's default virtio-net queue size. */
#define RING_SIZE	256
#define HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)

/* Guest memory: LOW is only there to be searched past; MAIN holds rings
 * (split: desc/avail/used; packed: desc/driver event/device event) and the
 * buffers, which the driver re-carves from BUF_OFF every batch.
 */
#define LOW_GPA		0x0ULL
#define LOW_SIZE	0xa0000u
#define LOW_UVA		0x7f0000000000ULL
#define MAIN_GPA	0x100000ULL
#define MAIN_SIZE	(4u << 20)
#define MAIN_UVA	0x7f0000100000ULL
#define DESC_OFF	0x00000
#define AVAIL_OFF	0x10000
#define USED_OFF	0x20000
#define BUF_OFF		0x40000

#define DEFAULT_PACKETS	4096
#define DEFAULT_WARMUP	256

enum vq_off {
	OFF_NONE,
	OFF_CSUM,		/* tx NEEDS_CSUM; rx DATA_VALID */
	OFF_TSO,		/* tx: a TSO frame of BATCH segments */
	OFF_GRO,		/* rx: BATCH segments of one flow joined */
};

struct vq_case {
	const char *name;
	bool packed;
	bool rx;		/* VF -> guest; else guest -> VF */
	uint32_t frame;		/* Ethernet frame, no virtio-net header */
	uint32_t rxbuf;		/* rx: bytes of each buffer the guest posts */
	enum vq_off off;
};

/* rx buffers: 1536 bytes is what a Linux guest posts for MTU 1500 with
 * mergeable buffers (one buffer a frame); the -mrg cases post 512-byte
 * buffers so a 1500-byte frame takes three and num_buffers is patched.
 */
static const struct vq_case cases[] = {
	{ "split-tx-64",	false, false,   64,    0, OFF_NONE },
	{ "split-tx-1500",	false, false, 1500,    0, OFF_NONE },
	{ "split-rx-64",	false, true,    64, 1536, OFF_NONE },
	{ "split-rx-1500",	false, true,  1500, 1536, OFF_NONE },
	{ "split-rx-1500-mrg",	false, true,  1500,  512, OFF_NONE },
	{ "packed-tx-64",	true,  false,   64,    0, OFF_NONE },
	{ "packed-tx-1500",	true,  false, 1500,    0, OFF_NONE },
	{ "packed-rx-64",	true,  true,    64, 1536, OFF_NONE },
	{ "packed-rx-1500",	true,  true,  1500, 1536, OFF_NONE },
	{ "packed-rx-1500-mrg",	true,  true,  1500,  512, OFF_NONE },
	{ "split-tx-1500-csum",	false, false, 1500,    0, OFF_CSUM },
	{ "split-tx-tso",	false, false, 1500,    0, OFF_TSO },
	{ "split-rx-1500-csum",	false, true,  1500, 1536, OFF_CSUM },
	{ "split-rx-1500-gro",	false, true,  1500, 1536, OFF_GRO },
};

struct load {
	const struct vq_case *c;
	struct sdrv sd;			/* the guest, split ... */
	struct pdrv pd;			/* ... or packed */
	const struct guest_mem *mem;	/* the device's view of guest memory */
	/* The device side, as struct relay holds it. The driver's own
	 * sd.vq/pd.vq only served its setup: this copy is the one used.
	 */
	struct virtqueue vq;
	unsigned int hdr_len;
	struct virtio_net_rxq rxq;	/* rx: virtio_net_rx_frame()'s */
	struct vq_chain tx_chain;
	struct virtio_net_txq txq;	/* offload cases */
	struct virtio_net_offload_stats st;
	struct xsk_pkt pkts[2 * BATCH];
	unsigned int npkts;
	/* Guest side bookkeeping for checking a batch. */
	uint16_t posted_id[BATCH * RX_MAX_BUFS];
	uint64_t posted_gpa[BATCH * RX_MAX_BUFS];
	unsigned int nposted;
	uint64_t seq;			/* frames so far */
	uint64_t notifies, frames_ok, csum;
};

static uint8_t *low_ram, *main_ram;
static uint8_t gso_buf[VIRTIO_NET_GSO_MAX_FRAME];
/* offload cases: the frame expected */
static uint8_t off_want[BATCH * UMEM_FRAME];
static uint8_t umem[2 * BATCH][UMEM_FRAME] __attribute__((aligned(4096)));
static uint8_t pattern[UMEM_FRAME + 256];

/* Frame @seq: a window of the pattern that moves with the sequence
 * number, so a stale or misplaced frame never compares equal.
 */
static const uint8_t *frame_bytes(uint64_t seq)
{
	return pattern + (seq * 7) % 256;
}

static int fail(struct load *l, const char *what)
{
	fprintf(stderr, "vxdp-vqload: %s: frame %llu: %s\n", l->c->name,
		(unsigned long long)l->seq, what);
	return -EIO;
}

/* FNV-1a over what was delivered: printed, so two runs can be compared. */
static void fnv_add(struct load *l, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		l->csum = (l->csum ^ b[i]) * 0x100000001b3ULL;
}

/* ---- the device side: what is measured ---- */

/* relay_vf_to_guest() for one peeked batch of l->npkts frames. */
static int dev_rx_batch(struct load *l)
{
	unsigned int done;
	int err;

	for (done = 0; done < l->npkts; done++) {
		err = virtio_net_rx_frame(&l->rxq, &l->pkts[done], 1,
					  l->pkts[done].len);
		if (err)
			return err;
	}
	vq_flush(&l->vq);
	if (vq_should_notify(&l->vq))
		l->notifies++;
	return 0;
}

/* relay_guest_to_vf(): drain the ring in XSK batches into the umem frames;
 * l->npkts says how many frames came out.
 */
static int dev_tx_batch(struct load *l)
{
	struct vq_chain *c = &l->tx_chain;

	l->npkts = 0;
	for (;;) {
		unsigned int used = 0, popped = 0;
		int err = 0;

		while (used < BATCH && l->npkts + used < 2 * BATCH) {
			struct xsk_pkt *p = &l->pkts[l->npkts + used];

			err = vq_pop(&l->vq, l->mem, c);
			if (err)
				break;
			if (c->out_len < l->hdr_len + ETH_HLEN ||
			    c->out_len - l->hdr_len > FRAME_ROOM) {
				popped++;
				vq_push(&l->vq, c->head, 0, c->ndesc);
				continue;
			}
			popped++;
			vq_push(&l->vq, c->head, 0, c->ndesc);
			used += virtio_net_tx_frame(c, l->hdr_len, FRAME_ROOM, p);
		}
		l->npkts += used;
		if (popped) {
			vq_flush(&l->vq);
			if (vq_should_notify(&l->vq))
				l->notifies++;
		}
		if (err == -EAGAIN) {
			if (vq_notify_enable(&l->vq))
				continue;
			return 0;
		}
		if (err)
			return err;
		if (!popped)
			return 0;
	}
}

/* relay_vf_to_guest() with offloads: virtio_net_rx_offload() per frame or
 * run of frames.
 */
static __attribute__((noinline)) int dev_off_rx_batch(struct load *l)
{
	unsigned int done = 0, nf;
	size_t len;
	int r;

	virtio_net_rx_batch_start(&l->rxq);
	for (; done < l->npkts; done += nf) {
		nf = 1;
		len = l->pkts[done].len;
		r = virtio_net_rx_offload(&l->rxq, &l->pkts[done], l->npkts - done, &nf, &len);
		if (r < 0)
			return r;
	}
	vq_flush(&l->vq);
	if (vq_should_notify(&l->vq))
		l->notifies++;
	return 0;
}

/* relay_guest_to_vf() with offloads: tx buffers in batches of BATCH, a TSO
 * frame's segments carried over to the next batch.
 */
static __attribute__((noinline)) int dev_off_tx_batch(struct load *l)
{
	struct virtio_net_txq *q = &l->txq;
	struct vq_chain *c = &l->tx_chain;

	l->npkts = 0;
	for (;;) {
		unsigned int m = 2 * BATCH - l->npkts, used = 0, popped = 0;
		struct xsk_pkt *p = &l->pkts[l->npkts];
		int err = 0, n;

		if (m > BATCH)
			m = BATCH;
		if (!m)
			return -ENOBUFS;
		if (q->tso_busy)
			used = virtio_net_tx_segments(q, FRAME_ROOM, p, m);
		while (used < m && !q->tso_busy) {
			err = vq_pop(&l->vq, l->mem, c);
			if (err)
				break;
			n = virtio_net_tx_chain(q, c, FRAME_ROOM, FRAME_ROOM, p + used, m - used);
			if (n == -ENOBUFS) {
				vq_unpop(&l->vq, 1);
				break;
			}
			popped++;
			vq_push(&l->vq, c->head, 0, c->ndesc);
			if (n < 0)
				return n;
			used += n;
		}
		l->npkts += used;
		if (popped) {
			vq_flush(&l->vq);
			if (vq_should_notify(&l->vq))
				l->notifies++;
		}
		if (err == -EAGAIN && !q->tso_busy) {
			if (vq_notify_enable(&l->vq))
				continue;
			return 0;
		}
		if (err && err != -EAGAIN)
			return err;
		if (!popped && !used)
			return 0;
	}
}

/* Everything callgrind counts happens under here (--toggle-collect):
 * external and never inlined, so the symbol is there to match.
 */
static int dev_batch(struct load *l)
{
	if (l->c->off)
		return l->c->rx ? dev_off_rx_batch(l) : dev_off_tx_batch(l);
	return l->c->rx ? dev_rx_batch(l) : dev_tx_batch(l);
}

__attribute__((noinline)) int vqload_hot(struct load *l)
{
	return dev_batch(l);
}

/* ---- the guest side: not measured ---- */

static void guest_want_interrupt(struct load *l)
{
	/* Interrupt on the next used entry, as a guest that re-armed its
	 * interrupts after polling the ring dry.
	 */
	if (l->c->packed)
		pdrv_event(&l->pd, l->pd.next_used, l->pd.used_wrap,
			   VRING_PACKED_EVENT_FLAG_DESC);
	else
		*sdrv_used_event(&l->sd) = l->sd.last_used;
}

/* One single-descriptor chain per buffer, as Linux and DPDK post them. */
static void guest_post(struct load *l, uint32_t len, bool write)
{
	struct seg s;
	uint16_t id;

	if (l->c->packed) {
		s = write ? pdrv_in(&l->pd, len) : pdrv_out(&l->pd, len);
		id = pdrv_add(&l->pd, &s, 1);
	} else {
		s = write ? sdrv_in(&l->sd, len) : sdrv_out(&l->sd, len);
		id = sdrv_chain(&l->sd, &s, 1);
		sdrv_post(&l->sd, id);
	}
	l->posted_id[l->nposted] = id;
	l->posted_gpa[l->nposted++] = s.gpa;
}

static void guest_kick(struct load *l)
{
	if (!l->c->packed)
		sdrv_kick(&l->sd);
}

static bool guest_reap(struct load *l, uint16_t *id, uint32_t *len)
{
	return l->c->packed ? pdrv_used(&l->pd, id, len) :
			      sdrv_used(&l->sd, id, len);
}

static void *guest_hva(struct load *l, uint64_t gpa)
{
	return gd_hva(l->mem, gpa);
}

static unsigned int rx_bufs_per_frame(const struct vq_case *c)
{
	return (HDR_LEN + c->frame + c->rxbuf - 1) / c->rxbuf;
}

/* Set up the next batch: tx frames on the ring, or rx buffers on the ring
 * and frames in the umem as the XSK rx ring would hand them over.
 */
static void batch_prepare(struct load *l)
{
	unsigned int k, b;

	/* Every buffer of the last batch is back: carve the same ones. */
	l->nposted = 0;
	l->sd.free_gpa = l->sd.buf_gpa;
	l->pd.free_gpa = l->pd.buf_gpa;
	guest_want_interrupt(l);
	for (k = 0; k < BATCH; k++) {
		const uint8_t *f = frame_bytes(l->seq + k);

		if (l->c->rx) {
			for (b = 0; b < rx_bufs_per_frame(l->c); b++)
				guest_post(l, l->c->rxbuf, true);
			memcpy(umem[k], f, l->c->frame);
			l->pkts[k] = (struct xsk_pkt){
				.data = umem[k], .len = l->c->frame,
			};
		} else {
			uint8_t *buf;

			guest_post(l, HDR_LEN + l->c->frame, false);
			buf = guest_hva(l, l->posted_gpa[l->nposted - 1]);
			memset(buf, 0, HDR_LEN);
			memcpy(buf + HDR_LEN, f, l->c->frame);
		}
	}
	guest_kick(l);
	if (l->c->rx)
		l->npkts = BATCH;
	else
		for (k = 0; k < 2 * BATCH; k++)
			l->pkts[k].data = umem[k];
}

/* ---- offload cases, guest side ---- */

/* Frame k of the batch starting at frame @seq: TCP/IPv4 over BATCH flows
 * (-csum) or one flow (-tso, -gro), 1500 bytes, ACK only.
 */
static struct fb off_fb(const struct load *l, uint64_t seq, unsigned int k)
{
	uint32_t pay = l->c->frame - 66;

	return (struct fb){
		.payload = pay, .flags = 0x10, .tsval = (uint32_t)seq,
		.seq = (uint32_t)((seq + k) * pay), .pay_seed = (uint32_t)((seq + k) * pay),
		.ip_id = (uint16_t)(seq + k),
		.sport = l->c->off == OFF_CSUM ? 1024 + k : 40000,
	};
}

/* The pseudo-header's sum for TCP length @l4len: what a guest seeds a
 * NEEDS_CSUM field with, and what a joined frame carries.
 */
static uint16_t off_seed(const uint8_t *f, uint32_t l4len)
{
	return (uint16_t)fb_sum(f + 14 + 12, 8, 6 + l4len);
}

static void off_prepare(struct load *l)
{
	struct virtio_net_hdr_mrg_rxbuf vh = { .hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE };
	unsigned int k, nbufs;
	struct fb b;
	uint8_t *buf;
	uint32_t len;

	l->nposted = 0;
	l->sd.free_gpa = l->sd.buf_gpa;
	guest_want_interrupt(l);
	if (l->c->rx) {
		for (k = 0; k < BATCH; k++) {
			b = off_fb(l, l->seq, k);
			l->pkts[k] = (struct xsk_pkt){ .data = umem[k], .len = fb_build(&b, umem[k]) };
		}
		l->npkts = BATCH;
		nbufs = l->c->off == OFF_GRO ?
			(HDR_LEN + 66 + BATCH * (l->c->frame - 66) + l->c->rxbuf - 1) / l->c->rxbuf :
			BATCH;
		for (k = 0; k < nbufs; k++)
			guest_post(l, l->c->rxbuf, true);
	} else if (l->c->off == OFF_CSUM) {
		vh.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.hdr.csum_start = 34;
		vh.hdr.csum_offset = 16;
		for (k = 0; k < BATCH; k++) {
			b = off_fb(l, l->seq, k);
			guest_post(l, HDR_LEN + l->c->frame, false);
			buf = guest_hva(l, l->posted_gpa[l->nposted - 1]);
			memcpy(buf, &vh, HDR_LEN);
			len = fb_build(&b, buf + HDR_LEN);
			fb_put16(buf + HDR_LEN + 34 + 16, off_seed(buf + HDR_LEN, len - 34));
		}
	} else {
		b = off_fb(l, l->seq, 0);
		b.payload *= BATCH;
		vh.hdr = (struct virtio_net_hdr){
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			.hdr_len = 66, .gso_size = l->c->frame - 66, .csum_start = 34,
			.csum_offset = 16,
		};
		guest_post(l, HDR_LEN + fb_len(&b), false);
		buf = guest_hva(l, l->posted_gpa[0]);
		memcpy(buf, &vh, HDR_LEN);
		len = fb_build(&b, buf + HDR_LEN);
		fb_put16(buf + HDR_LEN + 34 + 16, off_seed(buf + HDR_LEN, len - 34));
	}
	guest_kick(l);
	if (!l->c->rx)
		for (k = 0; k < 2 * BATCH; k++)
			l->pkts[k].data = umem[k];
}

/* The batch as the VF or the guest sees it, against the reference. */
static int off_check(struct load *l)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned int k, b = 0, nb, frames = l->c->off == OFF_GRO ? 1 : BATCH;
	uint32_t len, got;
	uint16_t id;
	struct fb fb;

	if (!l->c->rx) {
		if (l->npkts != BATCH)
			return fail(l, "tx: wrong number of frames out");
		for (k = 0; k < BATCH; k++) {
			fb = off_fb(l, l->seq, k);
			if (l->c->off == OFF_TSO) {
				/* one TSO frame: ids and sequence numbers step,
				 * its first segment's timestamp
				 */
				fb.tsval = (uint32_t)l->seq;
				fb.sport = 40000;
			}
			len = fb_build(&fb, off_want);
			if (l->pkts[k].len != len || memcmp(l->pkts[k].data, off_want, len))
				return fail(l, "tx: frame differs from the reference");
			fnv_add(l, l->pkts[k].data, len);
		}
		for (k = 0; k < l->nposted; k++)
			if (!guest_reap(l, &id, &len) || id != l->posted_id[k])
				return fail(l, "used entry missing or out of order");
		l->frames_ok += BATCH;
		l->seq += BATCH;
		return 0;
	}
	for (k = 0; k < frames; k++) {
		if (l->c->off == OFF_GRO) {
			fb = off_fb(l, l->seq, 0);
			fb.payload *= BATCH;
			len = fb_build(&fb, off_want);
			fb_put16(off_want + 34 + 16, off_seed(off_want, len - 34));
		} else {
			fb = off_fb(l, l->seq, k);
			len = fb_build(&fb, off_want);
		}
		for (got = 0, nb = 1; got < len + HDR_LEN;) {
			uint8_t *p = guest_hva(l, l->posted_gpa[b]);
			uint32_t ulen;

			if (!guest_reap(l, &id, &ulen) || id != l->posted_id[b++])
				return fail(l, "used entry missing or out of order");
			if (!got) {
				memcpy(&h, p, HDR_LEN);
				nb = h.num_buffers;
				if ((l->c->off == OFF_GRO) !=
				    (h.hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
				     h.hdr.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
				     h.hdr.gso_size == l->c->frame - 66) ||
				    (l->c->off == OFF_CSUM && h.hdr.flags != VIRTIO_NET_HDR_F_DATA_VALID))
					return fail(l, "rx: virtio-net header wrong");
				if (memcmp(p + HDR_LEN, off_want, ulen - HDR_LEN))
					return fail(l, "rx: frame differs from the reference");
				fnv_add(l, p + HDR_LEN, ulen - HDR_LEN);
			} else {
				if (memcmp(p, off_want + got - HDR_LEN, ulen))
					return fail(l, "rx: frame differs from the reference");
				fnv_add(l, p, ulen);
			}
			got += ulen;
			if (!--nb)
				break;
		}
		if (got != len + HDR_LEN)
			return fail(l, "rx: frame length wrong");
	}
	if (guest_reap(l, &id, &len))
		return fail(l, "more used entries than frames");
	l->frames_ok += BATCH;
	l->seq += BATCH;
	return 0;
}

/* Check every frame of the batch as the VF (tx) or the guest (rx) would
 * see it, and that the guest got each buffer back, in order.
 */
static int batch_check(struct load *l)
{
	unsigned int nb = l->c->rx ? rx_bufs_per_frame(l->c) : 1;
	unsigned int k, b, i = 0;
	uint16_t id;
	uint32_t len;

	if (!l->c->rx && l->npkts != BATCH)
		return fail(l, "tx: wrong number of frames out");
	for (k = 0; k < BATCH; k++, l->seq++) {
		const uint8_t *f = frame_bytes(l->seq);
		uint32_t left = HDR_LEN + l->c->frame;

		if (!l->c->rx) {
			if (l->pkts[k].len != l->c->frame ||
			    memcmp(l->pkts[k].data, f, l->c->frame))
				return fail(l, "tx: frame differs");
			fnv_add(l, l->pkts[k].data, l->pkts[k].len);
		}
		for (b = 0; b < nb; b++, i++) {
			uint32_t want = l->c->rx ?
				(left < l->c->rxbuf ? left : l->c->rxbuf) : 0;
			const uint8_t *buf = guest_hva(l, l->posted_gpa[i]);
			uint32_t from = HDR_LEN + l->c->frame - left;

			if (!guest_reap(l, &id, &len) || id != l->posted_id[i])
				return fail(l, "used entry missing or out of order");
			if (len != want)
				return fail(l, "used length wrong");
			if (!l->c->rx)
				continue;
			if (!b) {
				struct virtio_net_hdr_mrg_rxbuf h;

				memcpy(&h, buf, sizeof(h));
				if (h.num_buffers != nb || h.hdr.flags ||
				    h.hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE)
					return fail(l, "rx: virtio-net header wrong");
				buf += HDR_LEN;
				want -= HDR_LEN;
				from = 0;
			} else {
				from -= HDR_LEN;
			}
			if (memcmp(buf, f + from, want))
				return fail(l, "rx: frame differs");
			fnv_add(l, buf, want);
			left -= len;
		}
		l->frames_ok++;
	}
	if (guest_reap(l, &id, &len))
		return fail(l, "more used entries than buffers");
	if (vq_broken(&l->vq))
		return fail(l, "ring marked broken");
	return 0;
}

static int load_setup(struct load *l, const struct vq_case *c)
{
	const struct gd_layout lay = {
		.desc_uva = MAIN_UVA + DESC_OFF,
		.avail_uva = MAIN_UVA + AVAIL_OFF,
		.used_uva = MAIN_UVA + USED_OFF,
		.buf_gpa = MAIN_GPA + BUF_OFF,
		.buf_end = MAIN_GPA + MAIN_SIZE,
	};
	struct guest_mem mem;
	int err;

	memset(l, 0, sizeof(*l));
	memset(low_ram, 0, LOW_SIZE);
	memset(main_ram, 0, MAIN_SIZE);
	l->c = c;
	l->hdr_len = HDR_LEN;
	l->csum = 0xcbf29ce484222325ULL;
	guest_mem_init(&mem);
	err = guest_mem_add_ptr(&mem, LOW_GPA, LOW_SIZE, LOW_UVA, low_ram);
	if (!err)
		err = guest_mem_add_ptr(&mem, MAIN_GPA, MAIN_SIZE, MAIN_UVA,
					main_ram);
	if (err)
		return err;
	/* VERSION_1 guests with event idx, no indirect descriptors (Linux
	 * uses them for tx only under pressure; DPDK virtio-user not at all).
	 */
	l->vq.packed = c->packed;
	if (c->packed) {
		err = pdrv_setup(&l->pd, &mem, &lay, RING_SIZE, 0x80008000u,
				 true, false);
		l->vq.pk = l->pd.vq;
		l->mem = &l->pd.mem;
	} else {
		err = sdrv_setup(&l->sd, &mem, &lay, RING_SIZE, 0, true, false);
		l->vq.split = l->sd.vq;
		l->mem = &l->sd.mem;
	}
	l->rxq = (struct virtio_net_rxq){
		.vq = &l->vq, .mem = l->mem, .hdr_len = HDR_LEN, .mrg = true,
		/* offload cases: GUEST_CSUM and GUEST_TSO4/6 acked */
		.csum = c->off, .gro4 = c->off, .gro6 = c->off, .st = &l->st,
	};
	l->txq = (struct virtio_net_txq){
		.hdr_len = HDR_LEN, .csum = true, .tso4 = true, .tso6 = true,
		.gso_buf = gso_buf, .st = &l->st,
	};
	return err;
}

static int run_case(struct load *l, const struct vq_case *c,
		    unsigned int warmup, unsigned int packets)
{
	unsigned int k;
	int err;

	err = load_setup(l, c);
	if (err) {
		fprintf(stderr, "vxdp-vqload: %s: setup: %s\n", c->name,
			strerror(-err));
		return err;
	}
	/* Warm-up batches run the same code outside vqload_hot(), so the
	 * count starts with the rings already wrapped and caches primed.
	 */
	for (k = 0; k < warmup / BATCH; k++) {
		if (c->off)
			off_prepare(l);
		else
			batch_prepare(l);
		err = dev_batch(l);
		if (err)
			return fail(l, "device side failed (warm-up)");
		err = c->off ? off_check(l) : batch_check(l);
		if (err)
			return err;
	}
	l->notifies = 0;
	l->frames_ok = 0;
	for (k = 0; k < packets / BATCH; k++) {
		if (c->off)
			off_prepare(l);
		else
			batch_prepare(l);
		if (vqload_hot(l))
			return fail(l, "device side failed");
		err = c->off ? off_check(l) : batch_check(l);
		if (err)
			return err;
	}
	printf("case=%s packets=%llu ok=%llu notifies=%llu csum=%016llx\n",
	       c->name, (unsigned long long)(packets / BATCH * BATCH),
	       (unsigned long long)l->frames_ok,
	       (unsigned long long)l->notifies, (unsigned long long)l->csum);
	fflush(stdout);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vxdp-vqload [--case NAME] [--packets N] [--warmup N] [--list]\n"
		"  N are rounded down to whole batches of %d frames\n", BATCH);
}

static uint8_t *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "case", required_argument, NULL, 'c' },
		{ "packets", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned int packets = DEFAULT_PACKETS, warmup = DEFAULT_WARMUP;
	static struct load load;
	const char *only = NULL;
	unsigned int k, ran = 0;
	int opt, rc = 0;
	unsigned long val;
	char *end;

	while ((opt = getopt_long(argc, argv, "c:n:w:lh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			only = optarg;
			break;
		case 'n':
		case 'w':
			errno = 0;
			val = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end || val > 1u << 24) {
				usage(stderr);
				return 2;
			}
			*(opt == 'n' ? &packets : &warmup) = val;
			break;
		case 'l':
			for (k = 0; k < ARRAY_SIZE(cases); k++)
				printf("%s\n", cases[k].name);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || packets < BATCH) {
		usage(stderr);
		return 2;
	}
	for (k = 0; k < sizeof(pattern); k++)
		pattern[k] = (uint8_t)(k * 131 + (k >> 8) * 17 + 1);
	low_ram = map_anon(LOW_SIZE);
	main_ram = map_anon(MAIN_SIZE);
	if (!low_ram || !main_ram) {
		perror("vxdp-vqload: mmap");
		return 1;
	}
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		if (only && strcmp(only, cases[k].name))
			continue;
		ran++;
		if (run_case(&load, &cases[k], warmup, packets))
			rc = 1;
	}
	if (!ran) {
		fprintf(stderr, "vxdp-vqload: no case named %s (--list)\n", only);
		return 2;
	}
	return rc;
}
