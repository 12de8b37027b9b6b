// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target for the virtqueue walkers (split and packed): the input
 * is a guest memory image holding a ring, plus a few bytes choosing its
 * shape and a script of device operations to run over it.
 *
 * Input layout (little endian):
 *   struct fz_hdr; with FZ_F_PACKED a le16, the used half of the packed
 *   base; hdr.nops script bytes; the memory image.
 * The image is copied into one or two malloc'd buffers of exactly its size,
 * so ASan reports any access the walker makes outside guest memory; on top
 * of that every popped chain is checked against what the API promises, and
 * no pop may read more than a chain's worth of descriptors (amplification).
 * With FZ_F_MEMFD region 0 is a memfd mapped through guest_mem instead, and
 * the script can shrink it under the rings (a frontend truncating guest
 * memory): whatever the walkers touch then must read zeros, not SIGBUS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost/guest_mem.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

struct fz_hdr {
	uint8_t qlog;		/* split: 1 << (qlog % 16) entries; packed:
				 * that minus qlog / 16, at least 1 */
	uint8_t flags;		/* FZ_F_* */
	uint16_t base;		/* SET_VRING_BASE (packed: its low half) */
	uint16_t desc_off;	/* ring parts: byte offsets into the image */
	uint16_t avail_off;	/* packed: driver event area */
	uint16_t used_off;	/* packed: device event area */
	uint16_t split;		/* with FZ_F_TWO_REGIONS: size of region 0 */
	uint8_t gpa_page;	/* region 0 starts at gpa_page << 12 */
	uint8_t nops;		/* script bytes following the header */
} __attribute__((packed));

#define FZ_F_EVENT_IDX		0x01
#define FZ_F_INDIRECT		0x02
#define FZ_F_TWO_REGIONS	0x04
#define FZ_F_GPA_GAP		0x08	/* region 1 not right after region 0 */
#define FZ_F_GPA_TOP		0x10	/* region 1 just below 2^64 */
#define FZ_F_PACKED		0x20	/* a packed ring, not a split one */
#define FZ_F_MEMFD		0x40	/* region 0 on a memfd, shrinkable */

/* Frontend virtual addresses: the image is contiguous here, so ring offsets
 * in the header do not depend on the split.
 */
#define FZ_UVA		0x7f0000000000ull
#define FZ_GPA_GAP	0x100000ull

/* Script operations: op byte = arg << 3 | op. */
enum {
	OP_POP,
	OP_READ,
	OP_WRITE,
	OP_PUSH,
	OP_FLUSH,		/* flush + should_notify */
	OP_NOTIFY,		/* arg & 1: enable, else disable */
	OP_UNPOP,
	OP_GUEST,		/* the guest makes buffers available or flips
				 * its notification controls; with FZ_F_MEMFD,
				 * arg 28-31 shrinks region 0's file to its
				 * first 0-3 pages */
};

/* Without a script: what the relay does for each frame. */
static const uint8_t default_ops[] = {
	OP_POP, OP_READ | 8 << 3, OP_WRITE | 5 << 3, OP_PUSH | 1 << 3,
	OP_FLUSH, OP_NOTIFY | 1 << 3,
};

#define FZ_MAX_STEPS	512
#define FZ_MAX_OUTSTANDING 64

struct fz {
	struct guest_mem mem;
	struct virtqueue vq;
	uint8_t *buf[2];
	size_t len[2];
	int memfd;		/* FZ_F_MEMFD: region 0's file, else -1 */
	/* Popped chains not yet pushed, oldest first. */
	struct vq_chain chain[FZ_MAX_OUTSTANDING];
	unsigned int first, count;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_vring: invariant broken: %s\n", what);
	abort();
}

static bool in_buf(const struct fz *f, const uint8_t *p, size_t len)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (f->buf[i] && p >= f->buf[i] &&
		    len <= f->len[i] && (size_t)(p - f->buf[i]) <= f->len[i] - len)
			return true;
	}
	return false;
}

/* What a pop promises about a chain it returns. */
static void check_chain(const struct fz *f, const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;
	unsigned int i;

	/* A packed ring's head is the driver's Buffer ID: any value. */
	if (f->vq.packed) {
		if (!c->ndesc || c->ndesc > f->vq.pk.num)
			fail("descriptor count");
	} else if (c->head >= f->vq.split.num) {
		fail("head outside the ring");
	}
	if (c->niov > VQ_CHAIN_MAX_IOV || c->nout > c->niov)
		fail("iov counts");
	for (i = 0; i < c->niov; i++) {
		if (!c->iov[i].len)
			fail("empty iov");
		if (!in_buf(f, c->iov[i].base, c->iov[i].len))
			fail("iov outside guest memory");
		if (i < c->nout)
			out += c->iov[i].len;
		else
			in += c->iov[i].len;
	}
	if (out != c->out_len || in != c->in_len)
		fail("chain lengths do not add up");
	if (out + in > (1u << 24))
		fail("chain longer than the cap");
}

static struct vq_chain *newest(struct fz *f)
{
	if (!f->count)
		return NULL;
	return &f->chain[(f->first + f->count - 1) % FZ_MAX_OUTSTANDING];
}

/* Where the next pop starts: index, and for packed rings the wrap. */
static uint32_t avail_pos(const struct fz *f)
{
	if (f->vq.packed)
		return f->vq.pk.last_avail_idx | (uint32_t)f->vq.pk.avail_wrap << 16;
	return f->vq.split.last_avail_idx;
}

static uint32_t pos_after(const struct fz *f, uint32_t pos, uint16_t ndesc)
{
	uint32_t idx = (pos & 0xffff) + ndesc, wrap = pos >> 16;

	if (!f->vq.packed)
		return (uint16_t)idx;
	if (idx >= f->vq.pk.num) {
		idx -= f->vq.pk.num;
		wrap ^= 1;
	}
	return idx | wrap << 16;
}

static void op_pop(struct fz *f)
{
	uint32_t before = avail_pos(f), reads;
	bool was_broken = vq_broken(&f->vq);
	struct vq_chain *c;
	int err;

	if (f->count == FZ_MAX_OUTSTANDING)
		return;
	/* The relay prefetches before its pops: only hints, on whatever the
	 * guest wrote.
	 */
	reads = vq_desc_reads(&f->vq);
	vq_prefetch(&f->vq, &f->mem, 64, f->count & 1);
	if (avail_pos(f) != before || vq_broken(&f->vq) != was_broken)
		fail("prefetch changed the ring");
	if (vq_desc_reads(&f->vq) - reads > 64)
		fail("prefetch read more than it was asked to look at");
	c = &f->chain[(f->first + f->count) % FZ_MAX_OUTSTANDING];
	reads = vq_desc_reads(&f->vq);
	err = vq_pop(&f->vq, &f->mem, c);
	/* The relay's budget relies on it: a chain costs a bounded number
	 * of descriptor reads, whatever the guest strings together.
	 */
	if (vq_desc_reads(&f->vq) - reads > VQ_CHAIN_MAX_IOV + 2)
		fail("a pop read more descriptors than a chain may hold");
	if (!err && c->niov + c->nempty > VQ_CHAIN_MAX_IOV)
		fail("chain holds more places than the cap");
	if (!err) {
		pr_debug("chain %u: %u descs, %u iovs, out %u in %u", c->head,
			 c->ndesc, c->niov, c->out_len, c->in_len);
		check_chain(f, c);
		if (was_broken || avail_pos(f) != pos_after(f, before, c->ndesc))
			fail("pop succeeded oddly");
		f->count++;
		return;
	}
	pr_debug("pop: %s", strerror(-err));
	if (err != -EAGAIN && err != -EIO)
		fail("pop error code");
	if (avail_pos(f) != before)
		fail("failed pop consumed descriptors");
	if (err == -EIO && !vq_broken(&f->vq))
		fail("-EIO without marking the ring broken");
	if (was_broken && err != -EIO)
		fail("broken ring popped");
}

static void op_read(struct fz *f, unsigned int arg)
{
	const struct vq_chain *c = newest(f);
	uint8_t tmp[256];
	size_t off = arg * 8, n, want;

	if (!c)
		return;
	n = vq_chain_read(c, off, tmp, sizeof(tmp));
	want = off < c->out_len ? c->out_len - off : 0;
	if (n != (want < sizeof(tmp) ? want : sizeof(tmp)))
		fail("vq_chain_read length");
}

static void op_write(struct fz *f, unsigned int arg)
{
	const struct vq_chain *c = newest(f);
	uint8_t tmp[8 * 40 + 12];
	size_t off = (arg & 3) * 12, len = (arg >> 2) * 40 + 12, n, want;

	if (!c)
		return;
	memset(tmp, 0xa5, sizeof(tmp));
	n = vq_chain_write(c, off, tmp, len);
	want = off < c->in_len ? c->in_len - off : 0;
	if (n != (want < len ? want : len))
		fail("vq_chain_write length");
}

static void op_push(struct fz *f, unsigned int arg)
{
	const struct vq_chain *c;

	if (!f->count)
		return;
	c = &f->chain[f->first];
	vq_push(&f->vq, c->head, arg ? c->in_len : 0, c->ndesc);
	f->first = (f->first + 1) % FZ_MAX_OUTSTANDING;
	f->count--;
}

static void op_unpop(struct fz *f, unsigned int arg)
{
	unsigned int n = (arg & 3) + 1;

	if (n > f->count)
		n = f->count;
	vq_unpop(&f->vq, n);
	f->count -= n;
}

static bool has_avail(const struct fz *f)
{
	if (f->vq.packed)
		return vring_packed_has_avail(&f->vq.pk);
	return vring_split_avail(&f->vq.split);
}

static void notify_disable(struct fz *f)
{
	if (f->vq.packed)
		vring_packed_notify_disable(&f->vq.pk);
	else
		vring_split_notify_disable(&f->vq.split);
}

/* Packed: the driver makes the next descriptors available (or takes one
 * back), or rewrites its event suppression area.
 */
static void op_guest_packed(struct fz *f, unsigned int arg)
{
	struct vring_packed *vq = &f->vq.pk;
	struct vring_packed_desc *d = &vq->desc[vq->last_avail_idx];
	uint16_t avail = 1u << VRING_PACKED_DESC_F_AVAIL;
	uint16_t used = 1u << VRING_PACKED_DESC_F_USED;

	switch (arg & 3) {
	case 0:
		/* Mark it available in the current lap. */
		d->flags = (d->flags & ~(avail | used)) |
			   (vq->avail_wrap ? avail : used);
		break;
	case 1:
		d->flags ^= avail;
		break;
	case 2:
		vq->driver_event->flags = (arg >> 2) & 3;
		break;
	default:
		vq->driver_event->off_wrap = vq->used_idx + (arg >> 2) +
					     ((uint16_t)vq->used_wrap << 15);
		break;
	}
}

/* The frontend shrinks region 0's file under the rings to its first
 * @pages pages (images are at most two): the next touch of a lost page
 * must read zeros and leave guest_mem_faulted() true.
 */
static void op_shrink(struct fz *f, unsigned int pages)
{
	size_t len = pages * (size_t)4096;

	if (len > f->len[0])
		len = f->len[0];
	pr_debug("shrink region 0 to %zu bytes", len);
	if (ftruncate(f->memfd, len))
		fail("ftruncate");
}

/* The guest publishes more (possibly bogus) entries or flips its
 * notification controls between our operations.
 */
static void op_guest(struct fz *f, unsigned int arg)
{
	struct vring_avail *avail = f->vq.split.avail;

	if (f->memfd >= 0 && arg >> 2 == 7) {
		op_shrink(f, arg & 3);
		return;
	}
	if (f->vq.packed) {
		op_guest_packed(f, arg);
		return;
	}
	switch (arg & 3) {
	case 0:
		avail->idx += (arg >> 2) + 1;
		break;
	case 1:
		avail->flags ^= VRING_AVAIL_F_NO_INTERRUPT;
		break;
	case 2:
		/* used_event */
		avail->ring[f->vq.split.num] = f->vq.split.used_idx + (arg >> 2);
		break;
	default:
		avail->idx = f->vq.split.last_avail_idx + (arg >> 2);
		break;
	}
}

static void run(struct fz *f, const uint8_t *ops, unsigned int nops)
{
	unsigned int step;

	for (step = 0; step < FZ_MAX_STEPS; step++) {
		uint8_t op = ops[step % nops];
		unsigned int arg = op >> 3;

		/* Once the ring is empty or broken, finish the script once
		 * (pushes and notifications on such a ring must stay safe)
		 * and stop.
		 */
		if (step >= nops && step % nops == 0 &&
		    (vq_broken(&f->vq) || !has_avail(f)))
			break;
		switch (op & 7) {
		case OP_POP:
			op_pop(f);
			break;
		case OP_READ:
			op_read(f, arg);
			break;
		case OP_WRITE:
			op_write(f, arg);
			break;
		case OP_PUSH:
			op_push(f, arg);
			break;
		case OP_FLUSH:
			vq_flush(&f->vq);
			(void)vq_should_notify(&f->vq);
			break;
		case OP_NOTIFY:
			if (arg & 1)
				(void)vq_notify_enable(&f->vq);
			else
				notify_disable(f);
			break;
		case OP_UNPOP:
			op_unpop(f, arg);
			break;
		default:
			op_guest(f, arg);
			break;
		}
	}
	/* Hand everything back, as the relay does before it sleeps. */
	while (f->count)
		op_push(f, 1);
	vq_flush(&f->vq);
	(void)vq_should_notify(&f->vq);
	(void)vq_notify_enable(&f->vq);
}

/* GET_VRING_BASE then SET_VRING_BASE on the same ring: with everything
 * pushed, the base we report must be one we accept, and the restarted ring
 * must carry on where the old one stopped.
 */
static void restart(struct fz *f, bool event_idx, bool indirect)
{
	uint32_t pos = avail_pos(f);
	int err;

	if (vq_broken(&f->vq))
		return;
	if (f->vq.packed) {
		struct vring_packed *pk = &f->vq.pk;

		err = vring_packed_init(pk, pk->num, pk->desc, pk->driver_event,
					pk->device_event, vring_packed_base(pk),
					event_idx, indirect);
	} else {
		struct vring_split *vr = &f->vq.split;

		err = vring_split_init(vr, vr->num, vr->desc, vr->avail,
				       vr->used, vr->last_avail_idx, event_idx,
				       indirect);
	}
	if (err || avail_pos(f) != pos)
		fail("restart from our own base");
	op_pop(f);
	while (f->count)
		op_push(f, 1);
	vq_flush(&f->vq);
}

/* Region 0 on a memfd holding @len bytes of @img, mapped by guest_mem. */
static int setup_memfd(struct fz *f, uint64_t gpa0, const uint8_t *img,
		       size_t len)
{
	f->memfd = memfd_create("fuzz-vring", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, len) ||
	    pwrite(f->memfd, img, len, 0) != (ssize_t)len ||
	    guest_mem_add_fd(&f->mem, gpa0, len, FZ_UVA, 0, f->memfd))
		return -EINVAL;
	f->buf[0] = f->mem.r[0].hva;
	return 0;
}

static int setup_mem(struct fz *f, const struct fz_hdr *h,
		     const uint8_t *img, size_t len)
{
	uint64_t gpa0 = (uint64_t)h->gpa_page << 12, gpa1;
	size_t split = len;

	if ((h->flags & FZ_F_TWO_REGIONS) && h->split && h->split < len)
		split = h->split;
	f->len[0] = split;
	f->len[1] = len - split;
	guest_mem_init(&f->mem);
	f->buf[1] = f->len[1] ? malloc(f->len[1]) : NULL;
	if (f->len[1] && !f->buf[1])
		return -ENOMEM;
	if (f->len[1])
		memcpy(f->buf[1], img + split, f->len[1]);
	if (h->flags & FZ_F_MEMFD) {
		if (setup_memfd(f, gpa0, img, f->len[0]))
			return -EINVAL;
	} else {
		f->buf[0] = malloc(f->len[0]);
		if (!f->buf[0])
			return -ENOMEM;
		memcpy(f->buf[0], img, f->len[0]);
		if (guest_mem_add_ptr(&f->mem, gpa0, f->len[0], FZ_UVA, f->buf[0]))
			return -EINVAL;
	}
	if (!f->len[1])
		return 0;
	if (h->flags & FZ_F_GPA_TOP)
		gpa1 = (UINT64_MAX - f->len[1]) & ~0xfffull;
	else
		gpa1 = gpa0 + split + (h->flags & FZ_F_GPA_GAP ? FZ_GPA_GAP : 0);
	return guest_mem_add_ptr(&f->mem, gpa1, f->len[1], FZ_UVA + split,
				 f->buf[1]);
}

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_level = getenv("VXDP_FUZZ_DEBUG") ? LOG_DEBUG : LOG_EMERG;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = &fz;
	const uint8_t *ops = default_ops;
	unsigned int nops = sizeof(default_ops);
	bool packed, event_idx, indirect;
	void *desc, *avail, *used;
	uint16_t num, used_half = 0;
	struct fz_hdr h;
	int err;

	if (size < sizeof(h))
		return -1;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	packed = h.flags & FZ_F_PACKED;
	event_idx = h.flags & FZ_F_EVENT_IDX;
	indirect = h.flags & FZ_F_INDIRECT;
	if (packed) {
		if (size < sizeof(used_half))
			return -1;
		memcpy(&used_half, data, sizeof(used_half));
		data += sizeof(used_half);
		size -= sizeof(used_half);
	}
	if (h.nops) {
		if (size < h.nops)
			return -1;
		ops = data;
		nops = h.nops;
		data += h.nops;
		size -= h.nops;
	}
	if (!size)
		return -1;

	memset(f, 0, sizeof(*f));
	f->memfd = -1;
	if (setup_mem(f, &h, data, size))
		goto out;

	num = 1u << (h.qlog % 16);
	if (packed)
		num = num > h.qlog / 16 ? num - h.qlog / 16 : 1;
	/* Rings that are not wholly guest memory are refused before they
	 * reach the walker (vhost_user_dev does the same translation).
	 */
	desc = guest_mem_uva(&f->mem, FZ_UVA + h.desc_off,
			     packed ? vring_packed_desc_size(num) :
				      vring_split_desc_size(num));
	avail = guest_mem_uva(&f->mem, FZ_UVA + h.avail_off,
			      packed ? vring_packed_event_size() :
				       vring_split_avail_size(num));
	used = guest_mem_uva(&f->mem, FZ_UVA + h.used_off,
			     packed ? vring_packed_event_size() :
				      vring_split_used_size(num));
	if (!desc || !avail || !used)
		goto out;
	f->vq.packed = packed;
	if (packed)
		err = vring_packed_init(&f->vq.pk, num, desc, avail, used,
					h.base | (uint32_t)used_half << 16,
					event_idx, indirect);
	else
		err = vring_split_init(&f->vq.split, num, desc, avail, used,
				       h.base, event_idx, indirect);
	if (!err) {
		run(f, ops, nops);
		restart(f, event_idx, indirect);
	}
out:
	guest_mem_reset(&f->mem);
	if (f->memfd >= 0)
		close(f->memfd);
	else
		free(f->buf[0]);
	free(f->buf[1]);
	return 0;
}
