// SPDX-License-Identifier: GPL-2.0
/* Unit tests of virtio/virtio_net.c's offloads over a split ring driven by
 * the in-process guest (guest_driver.h): checksums filled in (also across
 * umem frames), TSO frames cut over several batches and into multi-buffer
 * segments, hostile virtio-net headers refused and counted; on rx,
 * segments of one flow joined into one GSO frame behind a correct header,
 * other frames marked DATA_VALID only when their checksum holds, and the
 * fall-back when the guest's buffers cannot take a joined frame.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/virtio_net.h>

#include "virtio/virtio_net.h"
#include "guest_driver.h"
#include "frame_build.h"
#include "ktap.h"

#define RAM_GPA		0x100000ULL
#define RAM_UVA		0x7f0000100000ULL
#define RAM_SIZE	(8u << 20)
#define RING		256
#define HDR		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define UMEM_FRAMES	256
#define ROOM		3840

struct env {
	struct sdrv d;
	struct virtqueue vq;
	struct vq_chain c;
	struct virtio_net_txq txq;
	struct virtio_net_rxq rxq;
	struct virtio_net_offload_stats st;
};

static uint8_t *ram;
static uint8_t umem[UMEM_FRAMES][4096];
static uint8_t frame[VIRTIO_NET_GSO_MAX_FRAME + 16], out[VIRTIO_NET_GSO_MAX_FRAME];
static uint8_t gso_buf[VIRTIO_NET_GSO_MAX_FRAME];

static void setup(struct env *e)
{
	static const struct gd_layout lay = {
		.desc_uva = RAM_UVA, .avail_uva = RAM_UVA + 0x10000,
		.used_uva = RAM_UVA + 0x20000,
		.buf_gpa = RAM_GPA + 0x40000, .buf_end = RAM_GPA + RAM_SIZE,
	};
	struct guest_mem mem;

	memset(e, 0, sizeof(*e));
	guest_mem_init(&mem);
	if (guest_mem_add_ptr(&mem, RAM_GPA, RAM_SIZE, RAM_UVA, ram) ||
	    sdrv_setup(&e->d, &mem, &lay, RING, 0, true, false))
		gd_die("setup");
	e->vq.split = e->d.vq;
	e->txq = (struct virtio_net_txq){
		.hdr_len = HDR, .csum = true, .tso4 = true, .tso6 = true,
		.gso_buf = gso_buf, .st = &e->st,
	};
	e->rxq = (struct virtio_net_rxq){
		.vq = &e->vq, .mem = &e->d.mem, .hdr_len = HDR, .mrg = true,
		.csum = true, .gro4 = true, .gro6 = true, .st = &e->st,
	};
}

static void pkts_init(struct xsk_pkt *p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (struct xsk_pkt){ .data = umem[i] };
}

/* The guest sends @len bytes of @f behind @vh; the chain is popped into
 * e->c. Returns virtio_net_tx_chain()'s result.
 */
static int tx_one(struct env *e, const struct virtio_net_hdr *vh, const uint8_t *f,
		  uint32_t len, struct xsk_pkt *pkts, unsigned int avail,
		  uint32_t room, uint32_t max)
{
	struct seg s[2] = { sdrv_out(&e->d, HDR), sdrv_out(&e->d, len) };
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr = *vh };

	memcpy(gd_hva(&e->d.mem, s[0].gpa), &h, HDR);
	memcpy(gd_hva(&e->d.mem, s[1].gpa), f, len);
	sdrv_add(&e->d, sdrv_chain(&e->d, s, 2));
	if (vq_pop(&e->vq, &e->d.mem, &e->c))
		gd_die("pop");
	return virtio_net_tx_chain(&e->txq, &e->c, room, max, pkts, avail);
}

/* Frames @p[0..n) (pieces with @more) put together into @out, one after
 * the other; returns the frames' count, their lengths in @lens.
 */
static unsigned int frames_of(const struct xsk_pkt *p, unsigned int n,
			      uint8_t **starts, uint32_t *lens, uint8_t *dst)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++) {
		if (!i || !p[i - 1].more) {
			starts[k] = dst;
			lens[k++] = 0;
		}
		memcpy(dst, p[i].data, p[i].len);
		dst += p[i].len;
		lens[k - 1] += p[i].len;
	}
	return k;
}

/* NEEDS_CSUM: a UDP frame whose checksum the guest seeded with the
 * pseudo-header's sum, sent over umem frames so small that the frame and
 * its checksum field straddle them.
 */
static int test_tx_csum(void)
{
	struct fb b = { .udp = true, .payload = 1001 };
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_NONE,
	};
	struct xsk_pkt pkts[UMEM_FRAMES];
	uint8_t *starts[UMEM_FRAMES];
	uint32_t lens[UMEM_FRAMES], len = fb_build(&b, frame), l4 = fb_l4(&b), sum;
	struct env e;
	int n, ok = 1;
	uint32_t room;

	/* seed: the pseudo-header's sum, folded, not complemented */
	sum = fb_sum(frame + 14 + 12, 8, 17 + (len - l4));
	for (room = 41; room < 45; room++) {	/* l4 + 6 = 40: the field crosses */
		setup(&e);
		fb_build(&b, frame);
		fb_put16(frame + l4 + 6, sum);
		vh.csum_start = l4;
		vh.csum_offset = 6;
		pkts_init(pkts, UMEM_FRAMES);
		n = tx_one(&e, &vh, frame, len, pkts, UMEM_FRAMES, room > 42 ? 512 : room, ~0u);
		ok &= n > 0 && frames_of(pkts, n, starts, lens, out) == 1 && lens[0] == len &&
		      fb_csum_ok(&b, out) && e.st.tx_csum == 1;
		/* not a byte else changed */
		fb_build(&b, frame);
		ok &= !memcmp(out, frame, l4 + 6) && !memcmp(out + l4 + 8, frame + l4 + 8, len - l4 - 8);
	}
	return ok;
}

/* A 64 KiB IPv6 TSO frame with few tx buffers per batch: cut over many
 * virtio_net_tx_segments() calls, every segment valid, the payload whole.
 */
static int test_tx_tso(bool ipv6, bool vlan, uint16_t mss, uint32_t room)
{
	struct fb b = { .ipv6 = ipv6, .vlan = vlan, .payload = 65535 - 32 - (ipv6 ? 0 : 20),
			.flags = 0x18, .seq = 7, .pay_seed = 3 };
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = ipv6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = mss, .csum_start = fb_l4(&b), .csum_offset = 16,
	};
	uint32_t len = fb_build(&b, frame), hl = fb_l4(&b) + 32, got = 0, lens[UMEM_FRAMES];
	struct xsk_pkt pkts[UMEM_FRAMES];
	uint8_t *starts[UMEM_FRAMES], *dst = out;
	unsigned int k, i, calls = 0, segs = 0;
	struct env e;
	int n, ok = 1;

	setup(&e);
	pkts_init(pkts, 7);
	n = tx_one(&e, &vh, frame, len, pkts, 7, room, 9018);
	if (n < 0)
		return 0;
	for (;;) {
		k = frames_of(pkts, n, starts, lens, dst);
		for (i = 0; i < k; i++) {
			struct fb sb = b;

			sb.payload = lens[i] - hl;
			ok &= fb_csum_ok(&sb, starts[i]) && lens[i] <= hl + mss;
			ok &= !memcmp(starts[i] + hl, frame + hl + got, sb.payload);
			got += sb.payload;
			segs++;
		}
		if (!e.txq.tso_busy)
			break;
		calls++;
		pkts_init(pkts, 7);
		n = virtio_net_tx_segments(&e.txq, room, pkts, 7);
	}
	return ok && got == b.payload && segs == (b.payload + mss - 1) / mss &&
	       calls > 1 && e.st.tx_tso_frames == 1 && e.st.tx_tso_segs == segs;
}

/* Headers a hostile guest may send: each refused with -EINVAL and
 * counted, nothing left pending, the next good frame taken.
 */
static int test_tx_hostile(void)
{
	struct fb b = { .payload = 20000, .flags = 0x10 };
	const struct virtio_net_hdr good = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	struct {
		const char *what;
		struct virtio_net_hdr vh;
		bool no_tso6;
	} bad[] = {
		{ "csum_start past the frame", { .flags = 1, .csum_start = 60000, .csum_offset = 6 }, false },
		{ "csum_offset past the frame", { .flags = 1, .csum_start = 34, .csum_offset = 30000 }, false },
		{ "gso_size 0", good, false },
		{ "gso_size 31", good, false },
		{ "UFO", good, false },
		{ "ECN not negotiated", good, false },
		{ "TSO6 not negotiated", good, true },
		{ "GSO without NEEDS_CSUM", good, false },
		{ "csum_offset not TCP's", good, false },
		{ "csum_start not the TCP header", good, false },
		{ "TCPV6 on an IPv4 frame", good, false },
		{ "unknown gso_type", good, false },
	};
	struct xsk_pkt pkts[UMEM_FRAMES];
	uint32_t len = fb_build(&b, frame);
	unsigned int i;
	struct env e;
	int ok = 1, n;

	bad[2].vh.gso_size = 0;
	bad[3].vh.gso_size = TSO_MSS_MIN - 1;
	bad[4].vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	bad[5].vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	bad[6].vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	bad[7].vh.flags = 0;
	bad[8].vh.csum_offset = 6;
	bad[9].vh.csum_start = 14;
	bad[10].vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	bad[11].vh.gso_type = 0x42;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(&e);
		e.txq.tso6 = !bad[i].no_tso6;
		pkts_init(pkts, UMEM_FRAMES);
		n = tx_one(&e, &bad[i].vh, frame, len, pkts, UMEM_FRAMES, ROOM, 1514);
		if (n != -EINVAL || e.st.tx_bad_hdr != 1 || e.txq.tso_busy) {
			ktap_diag("taken: %s (%d)", bad[i].what, n);
			ok = 0;
		}
	}
	/* a frame over 64 KiB, and TSO without a buffer to cut it in */
	setup(&e);
	n = tx_one(&e, &good, frame, VIRTIO_NET_GSO_MAX_FRAME + 1, pkts, UMEM_FRAMES, ROOM, 1514);
	ok &= n == -EINVAL;
	setup(&e);
	e.txq.gso_buf = NULL;
	ok &= tx_one(&e, &good, frame, len, pkts, UMEM_FRAMES, ROOM, 1514) == -EINVAL;
	/* segments over the VF's frame size: -EMSGSIZE saying how big */
	setup(&e);
	ok &= tx_one(&e, &good, frame, len, pkts, UMEM_FRAMES, ROOM, 1400) == -EMSGSIZE &&
	      e.txq.need == 34 + 20 + 1448 + 12 && !e.txq.tso_busy;
	/* and the good one goes */
	setup(&e);
	n = tx_one(&e, &good, frame, len, pkts, UMEM_FRAMES, ROOM, 1514);
	ok &= n == 14 && !e.txq.tso_busy && e.st.tx_bad_hdr == 0;
	return ok;
}

/* ---- rx ---- */

/* The guest posts @n rx buffers of @size bytes. */
static void rx_post(struct env *e, unsigned int n, uint32_t size, uint64_t *gpa)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct seg s = sdrv_in(&e->d, size);

		gpa[i] = s.gpa;
		sdrv_post(&e->d, sdrv_chain(&e->d, &s, 1));
	}
	sdrv_kick(&e->d);
}

/* Deliver frames @f[0..n) as the relay does (virtio_net_rx_offload() in a
 * loop); returns how many calls delivered something.
 */
static unsigned int rx_deliver(struct env *e, struct xsk_pkt *f, unsigned int n)
{
	unsigned int done = 0, calls = 0;

	virtio_net_rx_batch_start(&e->rxq);
	while (done < n) {
		unsigned int nf = 1;
		size_t len = f[done].len;
		int r = virtio_net_rx_offload(&e->rxq, &f[done], n - done, &nf, &len);

		if (r <= 0)
			break;
		calls++;
		done += nf;
	}
	vq_flush(&e->vq);
	return calls;
}

/* The guest's next received frame: its header into @vh, its bytes into
 * @dst; buffer gpas are @gpa from *@next on. Returns its length.
 */
static uint32_t rx_reap(struct env *e, const uint64_t *gpa, unsigned int *next,
			struct virtio_net_hdr_mrg_rxbuf *vh, uint8_t *dst)
{
	uint32_t len, total = 0;
	unsigned int b, nb = 1;
	uint16_t id;

	for (b = 0; b < nb; b++) {
		uint8_t *p = gd_hva(&e->d.mem, gpa[*next]);

		if (!sdrv_used(&e->d, &id, &len))
			return 0;
		(*next)++;
		if (!b) {
			memcpy(vh, p, HDR);
			nb = vh->num_buffers;
			p += HDR;
			len -= HDR;
		}
		memcpy(dst + total, p, len);
		total += len;
	}
	return total;
}

static int test_rx(void)
{
	struct fb b = { .payload = 1448, .seq = 1000, .flags = 0x10, .ip_id = 5 };
	static uint8_t frames[12][1600], want[20 * 1448 + 200];
	struct virtio_net_hdr_mrg_rxbuf vh;
	struct xsk_pkt f[12];
	uint64_t gpa[128];
	unsigned int i, next = 0, calls;
	uint32_t len, l4 = fb_l4(&b);
	struct env e;
	uint16_t c;
	int ok = 1;

	setup(&e);
	/* 8 segments of one flow, the last with PSH; one of another flow;
	 * a UDP datagram; a TCP segment with a bad checksum.
	 */
	for (i = 0; i < 8; i++) {
		b.seq = 1000 + i * 1448;
		b.pay_seed = i * 1448;
		b.flags = i == 7 ? 0x18 : 0x10;
		f[i] = (struct xsk_pkt){ .data = frames[i], .len = fb_build(&b, frames[i]) };
	}
	b.sport = 999;
	f[8] = (struct xsk_pkt){ .data = frames[8], .len = fb_build(&b, frames[8]) };
	b.udp = true;
	f[9] = (struct xsk_pkt){ .data = frames[9], .len = fb_build(&b, frames[9]) };
	b.udp = false;
	f[10] = (struct xsk_pkt){ .data = frames[10], .len = fb_build(&b, frames[10]) };
	frames[10][f[10].len - 1] ^= 0x10;
	rx_post(&e, 64, 2048, gpa);
	calls = rx_deliver(&e, f, 11);
	ok &= calls == 4 && e.st.rx_gro_frames == 1 && e.st.rx_gro_segs == 8 &&
	      e.st.rx_csum_valid == 2;

	/* the joined frame: the 8 segments' payloads behind the first's
	 * headers, a TCPV4 GSO header asking for the checksum
	 */
	len = rx_reap(&e, gpa, &next, &vh, out);
	b = (struct fb){ .payload = 8 * 1448, .seq = 1000, .flags = 0x18, .ip_id = 5 };
	fb_build(&b, want);
	ok &= len == fb_len(&b) && vh.hdr.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	      vh.hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && vh.hdr.gso_size == 1448 &&
	      vh.hdr.csum_start == l4 && vh.hdr.csum_offset == 16 &&
	      vh.hdr.hdr_len == l4 + 32 && vh.num_buffers == (len + HDR + 2047) / 2048;
	/* complete the checksum as the guest would; then it is the frame */
	c = (uint16_t)~fb_sum(out + l4, len - l4, 0);
	fb_put16(out + l4 + 16, c);
	ok &= !memcmp(out, want, len);
	/* the other flow's segment and the datagram: DATA_VALID; the bad one:
	 * nothing
	 */
	for (i = 8; i < 11; i++) {
		len = rx_reap(&e, gpa, &next, &vh, out);
		ok &= len == f[i].len && !memcmp(out, f[i].data, len) &&
		      vh.hdr.flags == (i < 10 ? VIRTIO_NET_HDR_F_DATA_VALID : 0) &&
		      vh.hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE && vh.num_buffers == 1;
	}
	return ok;
}

/* The guest posts buffers so small that a joined frame would need over
 * VIRTIO_NET_RX_MAX_BUFS of them: the segments go one by one.
 */
static int test_rx_small_bufs(void)
{
	struct fb b = { .payload = 1448, .flags = 0x10 };
	static uint8_t frames[32][1600];
	struct virtio_net_hdr_mrg_rxbuf vh;
	struct xsk_pkt f[32];
	uint64_t gpa[256];
	unsigned int i, next = 0, calls;
	struct env e;
	int ok;

	setup(&e);
	for (i = 0; i < 32; i++) {
		b.seq = i * 1448;
		f[i] = (struct xsk_pkt){ .data = frames[i], .len = fb_build(&b, frames[i]) };
	}
	rx_post(&e, 256, 256, gpa);
	calls = rx_deliver(&e, f, 32);
	ok = calls == 32 && e.st.rx_gro_frames == 0 && e.st.rx_csum_valid == 32 &&
	     e.rxq.no_gro;
	for (i = 0; i < 32 && ok; i++)
		ok &= rx_reap(&e, gpa, &next, &vh, out) == f[i].len &&
		      vh.hdr.flags == VIRTIO_NET_HDR_F_DATA_VALID && !memcmp(out, f[i].data, f[i].len);
	return ok;
}

static int test_rx_no_gro(void)
{
	struct fb b = { .payload = 1448, .flags = 0x10 };
	static uint8_t frames[4][1600];
	struct virtio_net_hdr_mrg_rxbuf vh;
	struct xsk_pkt f[4];
	uint64_t gpa[16];
	unsigned int i, next = 0;
	struct env e;
	int ok;

	setup(&e);
	e.rxq.gro4 = false;
	e.rxq.gro6 = false;
	for (i = 0; i < 4; i++) {
		b.seq = i * 1448;
		f[i] = (struct xsk_pkt){ .data = frames[i], .len = fb_build(&b, frames[i]) };
	}
	rx_post(&e, 16, 2048, gpa);
	ok = rx_deliver(&e, f, 4) == 4 && e.st.rx_csum_valid == 4 && !e.st.rx_gro_frames;
	for (i = 0; i < 4 && ok; i++)
		ok &= rx_reap(&e, gpa, &next, &vh, out) == f[i].len &&
		      vh.hdr.flags == VIRTIO_NET_HDR_F_DATA_VALID;
	return ok;
}

int main(void)
{
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		gd_die("mmap");
	ktap_plan(8);
	KTAP_CHECK(test_tx_csum(), "tx NEEDS_CSUM: UDP checksum filled across umem frames, nothing else changed");
	KTAP_CHECK(test_tx_tso(false, false, 1448, ROOM), "tx TSO IPv4 64 KiB: cut over batches of 7 buffers, segments valid");
	KTAP_CHECK(test_tx_tso(true, true, 1000, ROOM), "tx TSO IPv6 over VLAN, odd MSS");
	KTAP_CHECK(test_tx_tso(false, false, 8948, 1792), "tx TSO jumbo MSS: segments over several umem frames");
	KTAP_CHECK(test_tx_hostile(), "tx: hostile virtio-net headers refused and counted, too-big segments said");
	KTAP_CHECK(test_rx(), "rx: one flow's segments joined (GSO header right), other frames DATA_VALID unless bad");
	KTAP_CHECK(test_rx_small_bufs(), "rx: buffers too small for a joined frame: segments go one by one");
	KTAP_CHECK(test_rx_no_gro(), "rx: GUEST_CSUM without GUEST_TSO: segments marked DATA_VALID, never joined");
	return ktap_finish();
}
