// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the packed virtqueue: the in-memory driver of
 * guest_driver.h plays the guest, well-behaved and hostile, in fake guest
 * memory registered with guest_mem.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/virtqueue.h"
#include "virtio/vring_packed.h"
#include "guest_driver.h"
#include "fixtures.h"
#include "ktap.h"

/* Guest memory: fixtures.h (struct vring_ram). */

/* Ring layout inside RAM0; the descriptor ring may be VQ_MAX_SIZE long. */
#define DESC_OFF	0x00000
#define DRV_EVT_OFF	0x80000
#define DEV_EVT_OFF	0x90000
#define DATA_OFF	0xe0000

#define PDESC		sizeof(struct vring_packed_desc)
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define EVT_WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

/* What QEMU sends for a fresh ring: slot 0, wrap counters 1. */
#define BASE0		0x80008000u

static struct vring_ram vram;

static const struct gd_layout layout = {
	.desc_uva = RAM0_UVA + DESC_OFF,
	.avail_uva = RAM0_UVA + DRV_EVT_OFF,
	.used_uva = RAM0_UVA + DEV_EVT_OFF,
	.buf_gpa = RAM0_GPA + DATA_OFF,
	.buf_end = RAM0_GPA + RAM0_SIZE,
};

static void drv_setup(struct pdrv *d, uint16_t num, uint32_t base,
		      bool event_idx, bool indirect)
{
	struct guest_mem mem;

	vring_ram_fresh(&vram, &mem);
	if (pdrv_setup(d, &mem, &layout, num, base, event_idx, indirect))
		die("pdrv_setup");
}

static void *hva(struct pdrv *d, uint64_t gpa)
{
	return gd_hva(&d->mem, gpa);
}

static int pop(struct pdrv *d, struct vq_chain *c, uint16_t *nd)
{
	return vring_packed_pop(&d->vq, &d->mem, c, nd);
}

/* What every malformed ring must get: -EIO, marked broken, nothing taken. */
static bool refused(struct pdrv *d)
{
	uint32_t before = vring_packed_base(&d->vq);
	uint16_t inflight = d->vq.inflight, nd = 0xffff;
	struct vq_chain c;

	return pop(d, &c, &nd) == -EIO && d->vq.broken &&
	       vring_packed_base(&d->vq) == before &&
	       d->vq.inflight == inflight && nd == 0xffff;
}

static bool iov_is(const struct vq_chain *c, unsigned int i, const void *base,
		   uint32_t len)
{
	return c->iov[i].base == base && c->iov[i].len == len;
}

static void test_init(void)
{
	uint8_t *desc = vram.ram0 + DESC_OFF;
	uint8_t *de = vram.ram0 + DRV_EVT_OFF, *ve = vram.ram0 + DEV_EVT_OFF;
	struct vring_packed vq;

	KTAP_CHECK(vring_packed_desc_size(256) == 4096 &&
		   vring_packed_event_size() == 4,
		   "init: ring part sizes");
	KTAP_CHECK(vring_packed_init(&vq, 0, desc, de, ve, BASE0, false, false) == -EINVAL &&
		   vring_packed_init(&vq, VQ_MAX_SIZE + 1, desc, de, ve, BASE0,
				     false, false) == -EINVAL,
		   "init: num 0 and num over 32768 rejected");
	KTAP_CHECK(vring_packed_init(&vq, 48, desc, de, ve, BASE0, false, false) == 0 &&
		   vring_packed_init(&vq, 1, desc, de, ve, BASE0, false, false) == 0,
		   "init: num need not be a power of 2");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc + 8, de, ve, BASE0, false, false) == -EINVAL,
		   "init: descriptor ring not 16-byte aligned rejected");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de + 2, ve, BASE0, false, false) == -EINVAL &&
		   vring_packed_init(&vq, 8, desc, de, ve + 2, BASE0, false, false) == -EINVAL,
		   "init: event areas not 4-byte aligned rejected");
	KTAP_CHECK(vring_packed_init(&vq, 8, NULL, de, ve, BASE0, false, false) == -EINVAL,
		   "init: missing ring part rejected");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, 0x8005, false, false) == 0 &&
		   vq.last_avail_idx == 5 && vq.avail_wrap &&
		   vq.used_idx == 5 && vq.used_wrap && vq.inflight == 0 &&
		   vring_packed_base(&vq) == 0x80058005,
		   "init: 16-bit base sets avail and used; base() reports both");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, BASE0, false, false) == 0 &&
		   vq.last_avail_idx == 0 && vq.avail_wrap && vq.used_wrap &&
		   vring_packed_base(&vq) == BASE0,
		   "init: QEMU's first base, both halves, round-trips");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, 0x80060002, false, false) == 0 &&
		   vq.last_avail_idx == 2 && !vq.avail_wrap &&
		   vq.used_idx == 6 && vq.used_wrap && vq.inflight == 4 &&
		   vring_packed_base(&vq) == 0x80060002,
		   "init: used half a lap behind taken as in flight");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, 0x8008, false, false) == -EINVAL &&
		   vring_packed_init(&vq, 8, desc, de, ve, 0x00098000, false, false) == -EINVAL,
		   "init: avail or used index outside the ring rejected");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, 0x80058002, false, false) == -EINVAL &&
		   vring_packed_init(&vq, 8, desc, de, ve, 0x80020005, false, false) == -EINVAL,
		   "init: used ahead of avail, or more than a ring behind, rejected");
	KTAP_CHECK(vring_packed_init(&vq, 8, desc, de, ve, 0x80050005, false, false) == 0 &&
		   vq.inflight == 8,
		   "init: a whole ring in flight is still a state");
	KTAP_CHECK(vring_packed_init(&vq, VQ_MAX_SIZE, desc, de, ve, 0xffffffff, true, true) == 0 &&
		   vq.num == VQ_MAX_SIZE && vq.last_avail_idx == 0x7fff &&
		   vq.inflight == 0 && !vq.broken,
		   "init: largest queue and last slot accepted");
}

static void test_basic(void)
{
	struct vq_chain c;
	struct pdrv d;
	struct seg s[4];
	uint16_t id, id2, nd, uid;
	uint32_t ulen;
	int ok, k;

	drv_setup(&d, 8, BASE0, false, false);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN && !d.vq.broken &&
		   !vring_packed_has_avail(&d.vq),
		   "pop: zeroed ring is empty");

	s[0] = pdrv_out(&d, 100);
	id = pdrv_write(&d, s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN,
		   "pop: descriptor not visible before its flags");
	pdrv_publish(&d);
	KTAP_CHECK(vring_packed_has_avail(&d.vq), "has_avail: sees it");
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && nd == 1 &&
		   c.niov == 1 && c.nout == 1 && c.out_len == 100 &&
		   c.in_len == 0 && iov_is(&c, 0, hva(&d, s[0].gpa), 100),
		   "pop: single readable descriptor");
	KTAP_CHECK(d.vq.last_avail_idx == 1 && d.vq.inflight == 1 &&
		   pop(&d, &c, &nd) == -EAGAIN, "pop: consumed exactly one slot");

	s[0] = pdrv_out(&d, 10);
	s[1] = pdrv_out(&d, 20);
	s[2] = pdrv_in(&d, 30);
	s[3] = pdrv_in(&d, 40);
	id2 = pdrv_add(&d, s, 4);
	ok = pop(&d, &c, &nd) == 0 && c.head == id2 && nd == 4 &&
	     c.niov == 4 && c.nout == 2 && c.out_len == 30 && c.in_len == 70;
	for (k = 0; k < 4; k++)
		ok = ok && iov_is(&c, k, hva(&d, s[k].gpa), s[k].len);
	KTAP_CHECK(ok && d.vq.last_avail_idx == 5,
		   "pop: readable then writable list, ID from its last descriptor");

	vring_packed_push(&d.vq, id, 0, 1);
	vring_packed_push(&d.vq, id2, 55, 4);
	KTAP_CHECK(!pdrv_used(&d, &uid, &ulen) &&
		   (d.desc[1].flags & (F_AVAIL | F_USED)) == (F_AVAIL | F_USED),
		   "push: batch's first slot held back, later ones flagged");
	vring_packed_flush(&d.vq);
	KTAP_CHECK(pdrv_used(&d, &uid, &ulen) && uid == id &&
		   !(d.last_used_flags & VRING_DESC_F_WRITE) &&
		   pdrv_used(&d, &uid, &ulen) && uid == id2 && ulen == 55 &&
		   (d.last_used_flags & VRING_DESC_F_WRITE) &&
		   d.next_used == 5 && !pdrv_used(&d, &uid, &ulen),
		   "flush: used descriptors in order, WRITE only with a length");
	KTAP_CHECK(d.vq.inflight == 0 && d.vq.pending == 0 &&
		   vring_packed_base(&d.vq) == 0x80058005,
		   "push: used position caught up with avail");
	vring_packed_flush(&d.vq);
	KTAP_CHECK(d.desc[0].flags == d.last_used_flags - VRING_DESC_F_WRITE,
		   "flush: with nothing pushed, writes nothing");
}

static void test_regions_and_copy(void)
{
	uint8_t data[300];
	struct vq_chain c;
	struct seg s[3];
	struct pdrv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA - 100, .len = 300, .write = true };
	pdrv_add(&d, s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 2 && c.nout == 0 &&
		   c.in_len == 300 &&
		   iov_is(&c, 0, vram.ram0 + RAM0_SIZE - 100, 100) &&
		   iov_is(&c, 1, vram.ram1, 200),
		   "pop: buffer across two regions becomes two iovs");
	for (k = 0; k < 300; k++)
		data[k] = k;
	KTAP_CHECK(vq_chain_write(&c, 0, data, 300) == 300 &&
		   !memcmp(vram.ram0 + RAM0_SIZE - 100, data, 100) &&
		   !memcmp(vram.ram1, data + 100, 200),
		   "chain_write: lands in both regions");

	/* Zero-length descriptors are legal and need no valid address. */
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 0 };
	s[1] = pdrv_out(&d, 8);
	s[2] = (struct seg){ .gpa = HOLE_GPA, .len = 0, .write = true };
	memcpy(hva(&d, s[1].gpa), "payload!", 8);
	pdrv_add(&d, s, 3);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && nd == 3 && c.niov == 1 &&
		   c.nout == 1 && c.out_len == 8 && c.in_len == 0 &&
		   vq_chain_read(&c, 0, data, sizeof(data)) == 8 &&
		   !memcmp(data, "payload!", 8),
		   "pop: zero-length descriptors produce no iov but count");
}

static void test_indirect(void)
{
	struct vring_packed_desc one, *t;
	struct vq_chain c;
	struct seg s[3];
	struct pdrv d;
	uint16_t id, nd;
	uint64_t tgpa;

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 16);
	s[1] = pdrv_in(&d, 32);
	s[2] = pdrv_in(&d, 64);
	id = pdrv_indirect(&d, s, 3);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && nd == 1 &&
		   c.niov == 3 && c.nout == 1 && c.out_len == 16 &&
		   c.in_len == 96 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 16) &&
		   iov_is(&c, 1, hva(&d, s[1].gpa), 32) &&
		   iov_is(&c, 2, hva(&d, s[2].gpa), 64),
		   "indirect: table walked, ID from the ring descriptor, one slot");

	s[0] = pdrv_out(&d, 12);
	id = pdrv_indirect_ex(&d, s, 1, true);
	d.head_flags |= VRING_DESC_F_WRITE;
	pdrv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && c.nout == 1 &&
		   c.out_len == 12,
		   "indirect: WRITE on the table descriptor ignored");

	/* Reserved flags in the table are the device's to ignore. */
	s[0] = pdrv_out(&d, 4);
	s[1] = pdrv_in(&d, 4);
	pdrv_indirect(&d, s, 2);
	t = hva(&d, d.desc[d.head_idx].addr);
	t[0].flags |= VRING_DESC_F_NEXT | F_AVAIL | F_USED;
	t[1].flags |= F_USED;
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 2 && c.nout == 1,
		   "indirect: NEXT/AVAIL/USED inside the table ignored");

	/* The table only needs to be in guest memory, not aligned. */
	s[0] = pdrv_in(&d, 4);
	tgpa = pdrv_buf(&d, 64) + 3;
	one = (struct vring_packed_desc){ .addr = s[0].gpa, .len = 4,
					  .flags = VRING_DESC_F_WRITE };
	memcpy(hva(&d, tgpa), &one, sizeof(one));
	s[1] = (struct seg){ .gpa = tgpa, .len = PDESC };
	pdrv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 1 && c.in_len == 4 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 4),
		   "indirect: unaligned table read safely");

	/* Indirect and direct lists mix in one ring. */
	s[0] = pdrv_out(&d, 6);
	s[1] = pdrv_in(&d, 7);
	pdrv_add(&d, s, 2);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && nd == 2 && c.out_len == 6 &&
		   c.in_len == 7 && d.vq.last_avail_idx == 6,
		   "indirect: direct list after indirect ones");
}

/* Laps of the ring with lists of 1..3 descriptors, so some straddle the end
 * and the wrap counters flip mid-list; everything comes back in order.
 */
static bool run_laps(struct pdrv *d, unsigned int laps)
{
	uint16_t ids[64], nds[64], uid, nd;
	uint32_t ulen, done = 0;
	struct vq_chain c;
	struct seg s[3];
	unsigned int n, k, len = 0;
	bool ok = true;

	while (done < laps * d->num) {
		n = 0;
		for (;;) {
			unsigned int want = 1 + (len++ % 3);

			if (want > d->num)
				want = d->num;
			if (d->outstanding + want > d->num || n == 64)
				break;
			for (k = 0; k < want; k++)
				s[k] = k ? pdrv_in(d, 64) : pdrv_out(d, 32);
			ids[n++] = pdrv_add(d, s, want);
		}
		for (k = 0; k < n; k++) {
			ok = ok && pop(d, &c, &nd) == 0 && c.head == ids[k] &&
			     nd == d->sgs[ids[k]] && c.out_len == 32;
			nds[k] = nd;
		}
		ok = ok && pop(d, &c, &nd) == -EAGAIN;
		for (k = 0; k < n; k++)
			vring_packed_push(&d->vq, ids[k], 1000 + ids[k], nds[k]);
		vring_packed_flush(&d->vq);
		for (k = 0; k < n; k++) {
			ok = ok && pdrv_used(d, &uid, &ulen) && uid == ids[k] &&
			     ulen == 1000u + ids[k];
			done += nds[k];
		}
		ok = ok && !pdrv_used(d, &uid, &ulen) && !d->vq.broken;
		d->free_gpa = RAM0_GPA + DATA_OFF;
		if (!ok)
			return false;
	}
	return d->vq.last_avail_idx == d->next_avail &&
	       d->vq.avail_wrap == d->avail_wrap &&
	       d->vq.used_idx == d->next_used &&
	       d->vq.used_wrap == d->used_wrap;
}

static void test_wrap(void)
{
	struct vq_chain c;
	struct pdrv d;
	struct seg s;
	uint32_t base;
	uint16_t nd, id;

	drv_setup(&d, 5, BASE0, false, false);
	KTAP_CHECK(run_laps(&d, 7), "wrap: num 5, seven laps");
	drv_setup(&d, 1, BASE0, false, false);
	KTAP_CHECK(run_laps(&d, 5), "wrap: num 1, every pop flips the counter");
	drv_setup(&d, 256, 0x00fd | 0x00fd0000, false, false);
	KTAP_CHECK(run_laps(&d, 3), "wrap: num 256 from a base in wrap 0");

	/* GET_VRING_BASE then SET_VRING_BASE resumes mid-ring. */
	drv_setup(&d, 7, BASE0, false, false);
	run_laps(&d, 2);
	s = pdrv_out(&d, 9);
	pdrv_add(&d, &s, 1);
	base = vring_packed_base(&d.vq);
	vring_packed_init(&d.vq, 7, d.desc, d.drv_evt, d.dev_evt, base,
			  false, false);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.out_len == 9 &&
		   run_laps(&d, 2), "base: round trip resumes where it stopped");

	/* Restored with descriptors lost in flight: used goes where the
	 * driver looks, and the lost slots stay unavailable.
	 */
	drv_setup(&d, 8, 0x80028005, false, false);
	d.outstanding = 3;
	s = pdrv_out(&d, 3);
	id = pdrv_add(&d, &s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id &&
		   d.vq.inflight == 4, "base: lost in-flight slots counted");
	vring_packed_push(&d.vq, id, 0, 1);
	vring_packed_flush(&d.vq);
	KTAP_CHECK(d.desc[2].id == id &&
		   (d.desc[2].flags & (F_AVAIL | F_USED)) == (F_AVAIL | F_USED),
		   "base: used descriptor written at the restored used slot");
}

static void test_unpop(void)
{
	uint16_t ids[3], nd, uid;
	struct vq_chain c;
	struct seg s[3];
	struct pdrv d;
	uint32_t ulen;
	int k;

	/* Lists of 1, 3 and 2 from slot 6: the second straddles the end. */
	drv_setup(&d, 8, 0x80068006, false, false);
	for (k = 0; k < 3; k++) {
		int n = k == 0 ? 1 : k == 1 ? 3 : 2, j;

		for (j = 0; j < n; j++)
			s[j] = pdrv_out(&d, 4);
		ids[k] = pdrv_add(&d, s, n);
	}
	for (k = 0; k < 3; k++)
		pop(&d, &c, &nd);
	KTAP_CHECK(d.vq.last_avail_idx == 4 && !d.vq.avail_wrap &&
		   d.vq.inflight == 6, "unpop: three lists popped across the end");
	KTAP_CHECK(vring_packed_unpop(&d.vq, 2) == 0 &&
		   d.vq.last_avail_idx == 7 && d.vq.avail_wrap &&
		   d.vq.inflight == 1,
		   "unpop: gives back two lists, rewinding the wrap counter");
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == ids[1] && nd == 3 &&
		   pop(&d, &c, &nd) == 0 && c.head == ids[2] && nd == 2 &&
		   pop(&d, &c, &nd) == -EAGAIN,
		   "unpop: the same lists pop again in order");
	KTAP_CHECK(vring_packed_unpop(&d.vq, 3) == 0 &&
		   vring_packed_base(&d.vq) == 0x80068006 &&
		   vring_packed_unpop(&d.vq, 1) == -EINVAL &&
		   vring_packed_unpop(&d.vq, 0) == 0,
		   "unpop: everything back; not more than was popped");
	for (k = 0; k < 3; k++)
		pop(&d, &c, &nd);
	vring_packed_push(&d.vq, ids[0], 0, 1);
	KTAP_CHECK(vring_packed_unpop(&d.vq, 3) == -EINVAL &&
		   vring_packed_unpop(&d.vq, 2) == 0 &&
		   d.vq.last_avail_idx == 7 && d.vq.inflight == 0,
		   "unpop: a pushed list cannot be given back");
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == ids[1] &&
		   (vring_packed_push(&d.vq, c.head, 0, nd), 1) &&
		   pop(&d, &c, &nd) == 0 && c.head == ids[2] &&
		   (vring_packed_push(&d.vq, c.head, 0, nd), 1) &&
		   (vring_packed_flush(&d.vq), 1) &&
		   pdrv_used(&d, &uid, &ulen) && uid == ids[0] &&
		   pdrv_used(&d, &uid, &ulen) && uid == ids[1] &&
		   pdrv_used(&d, &uid, &ulen) && uid == ids[2],
		   "unpop: completions after a give-back land in order");
	KTAP_CHECK(vring_packed_unpop(&d.vq, VRING_PACKED_UNPOP_MAX + 1) == -EINVAL,
		   "unpop: more than the history holds refused");
}

/* Offer @n lists of @len descriptors; take, complete and publish them, and
 * let the driver reap them.
 */
static void drv_complete(struct pdrv *d, unsigned int n, unsigned int len)
{
	struct vq_chain c;
	struct seg s[4];
	uint16_t nd, uid;
	uint32_t ulen;
	unsigned int k, j;

	for (k = 0; k < n; k++) {
		for (j = 0; j < len; j++)
			s[j] = pdrv_out(d, 1);
		pdrv_add(d, s, len);
		if (pop(d, &c, &nd))
			die("pop in drv_complete");
		vring_packed_push(&d->vq, c.head, 0, nd);
	}
	vring_packed_flush(&d->vq);
	for (k = 0; k < n; k++)
		if (!pdrv_used(d, &uid, &ulen))
			die("reap in drv_complete");
}

static void test_driver_events(void)
{
	struct pdrv d;

	drv_setup(&d, 8, BASE0, true, false);
	pdrv_event(&d, 3, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);			/* used slot 0 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: first notification always sent");
	drv_complete(&d, 1, 1);			/* slot 1 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: suppressed before the named slot");
	drv_complete(&d, 1, 1);			/* slot 2 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: suppressed just before it");
	drv_complete(&d, 1, 1);			/* slot 3 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: notify once the named slot is used");
	drv_complete(&d, 1, 1);			/* slot 4 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: no second notification for it");
	pdrv_event(&d, 6, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 3);			/* slots 5-7, used at 5 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: named slot skipped inside a list still notifies");
	pdrv_event(&d, 1, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);			/* slot 0, wrap 0 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: next lap, before the slot");
	drv_complete(&d, 1, 1);			/* slot 1, wrap 0 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: next lap, at the slot");
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: nothing new published, no notification");
	pdrv_event(&d, 5, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);			/* slot 2, wrap 0 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: slot of the previous lap is stale");
	pdrv_event(&d, 5, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 8, 1);			/* a whole ring */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: a ring's worth at once notifies");
	pdrv_event(&d, 0x7000, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: offset outside the ring notifies");
	pdrv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_DISABLE);
	drv_complete(&d, 2, 1);
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event flags: DISABLE suppresses");
	pdrv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_ENABLE);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq) &&
		   !vring_packed_should_notify(&d.vq),
		   "event flags: ENABLE notifies for each publication");
	pdrv_event(&d, 0, false, 3);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event flags: reserved value notifies");

	drv_setup(&d, 8, BASE0, false, false);
	pdrv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_DISABLE);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event flags: DISABLE holds even for the first");
	pdrv_event(&d, 7, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event flags: DESC without event idx acts as ENABLE");
}

static void test_device_events(void)
{
	struct vq_chain c;
	uint16_t nd, uid;
	struct pdrv d;
	struct seg s;
	uint32_t ulen;

	drv_setup(&d, 8, BASE0, true, false);
	drv_complete(&d, 3, 2);			/* avail now slot 6 */
	d.dev_evt->flags = 0xffff;
	KTAP_CHECK(!vring_packed_notify_enable(&d.vq) &&
		   d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_DESC &&
		   d.dev_evt->off_wrap == (6 | EVT_WRAP),
		   "notify_enable: event idx asks for the next slot");
	s = pdrv_out(&d, 1);
	pdrv_add(&d, &s, 1);
	KTAP_CHECK(vring_packed_notify_enable(&d.vq),
		   "notify_enable: reports a list added meanwhile");
	vring_packed_notify_disable(&d.vq);
	KTAP_CHECK(d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_DISABLE,
		   "notify_disable: DISABLE");
	if (pop(&d, &c, &nd))
		die("pop in test_device_events");
	vring_packed_push(&d.vq, c.head, 0, nd);
	vring_packed_flush(&d.vq);
	pdrv_used(&d, &uid, &ulen);
	drv_complete(&d, 1, 2);			/* avail slot 1, wrap 0 */
	vring_packed_notify_enable(&d.vq);
	KTAP_CHECK(d.dev_evt->off_wrap == 1,
		   "notify_enable: wrap bit follows the avail wrap counter");

	drv_setup(&d, 8, BASE0, false, false);
	vring_packed_notify_disable(&d.vq);
	KTAP_CHECK(!vring_packed_notify_enable(&d.vq) &&
		   d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_ENABLE,
		   "notify_enable: ENABLE without event idx");
	pdrv_set_slot(&d, 0, 0, 0, 0, F_AVAIL | F_USED);
	KTAP_CHECK(vring_packed_notify_enable(&d.vq) && refused(&d),
		   "notify_enable: a malformed slot is reported, pop refuses it");
}

/* Chains the ring walk must refuse; each would pop fine without its check. */
static void test_hostile_flags(void)
{
	struct vq_chain c;
	struct seg s[3];
	struct pdrv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	pdrv_set_slot(&d, 0, pdrv_buf(&d, 8), 8, 1, F_USED);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN && !d.vq.broken,
		   "flags: AVAIL != wrap is not available (tail of an old lap)");
	pdrv_set_slot(&d, 0, pdrv_buf(&d, 8), 8, 1, F_AVAIL | F_USED);
	KTAP_CHECK(refused(&d), "hostile: head flagged used in this lap");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = pdrv_out(&d, 8);
	s[1] = pdrv_out(&d, 8);
	pdrv_write(&d, s, 2);
	d.desc[1].flags = 0;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: list tail never made available");

	drv_setup(&d, 8, BASE0, false, false);
	pdrv_write(&d, s, 2);
	d.desc[1].flags |= F_USED;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: list tail flagged used");

	/* Lists across the end must flip the counter for the slots after. */
	drv_setup(&d, 8, 0x80078007, false, false);
	s[0] = pdrv_out(&d, 8);
	s[1] = pdrv_out(&d, 8);
	pdrv_write(&d, s, 2);
	d.desc[0].flags = pdrv_avail_flags(true) | (d.desc[0].flags & ~(F_AVAIL | F_USED));
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: tail past the end keeps the old counter");

	drv_setup(&d, 8, BASE0, false, false);
	for (k = 0; k < 8; k++)
		pdrv_set_slot(&d, k, pdrv_buf(&d, 1), 1, k,
			 pdrv_avail_flags(true) | (k < 7 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && nd == 8 && c.head == 7 &&
		   c.niov == 8 && d.vq.last_avail_idx == 0 && !d.vq.avail_wrap,
		   "hostile: list of exactly num descriptors accepted");
	drv_setup(&d, 8, BASE0, false, false);
	for (k = 0; k < 8; k++)
		pdrv_set_slot(&d, k, 0, 0, k, pdrv_avail_flags(true) | VRING_DESC_F_NEXT);
	KTAP_CHECK(refused(&d), "hostile: NEXT on every descriptor of the ring");

	/* Slots we still hold re-flagged for the next lap: a list (or a
	 * head) reaching into them is refused by count, not by flags.
	 */
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = pdrv_out(&d, 8);
	pdrv_add(&d, s, 1);
	pdrv_add(&d, s, 1);
	pop(&d, &c, &nd);
	pop(&d, &c, &nd);
	for (k = 2; k < 10; k++)
		pdrv_set_slot(&d, k % 8, 0, 0, k, pdrv_avail_flags(k < 8) |
			 (k < 9 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: list runs into slots still in flight");

	drv_setup(&d, 2, BASE0, false, false);
	pdrv_add(&d, s, 1);
	pdrv_add(&d, s, 1);
	pop(&d, &c, &nd);
	pop(&d, &c, &nd);
	pdrv_set_slot(&d, 0, s[0].gpa, 8, 5, pdrv_avail_flags(false));
	KTAP_CHECK(refused(&d), "hostile: head re-posted while every slot is in flight");

	/* Restored with 3 slots lost in flight: room for 5, not 6. */
	drv_setup(&d, 8, 0x80028005, false, false);
	for (k = 0; k < 6; k++)
		pdrv_set_slot(&d, (5 + k) % 8, 0, 0, k,
			 pdrv_avail_flags(5 + k < 8) | (k < 5 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: list over the room left by a restored base");
}

static void test_hostile_buffers(void)
{
	struct vq_chain c;
	struct seg s[2];
	struct pdrv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = pdrv_in(&d, 8);
	s[1] = pdrv_out(&d, 8);
	pdrv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after writable");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .len = 0, .write = true };
	s[1] = pdrv_out(&d, 8);
	pdrv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after zero-length writable");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 8 };
	pdrv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: address outside guest memory");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA + RAM1_SIZE - 4, .len = 8 };
	pdrv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: buffer running off guest memory");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = TOP_GPA + TOP_SIZE - 8, .len = 16 };
	pdrv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: buffer past the top guest region");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = UINT64_MAX - 3, .len = 8 };
	pdrv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: address + len overflows 64 bits");

	drv_setup(&d, 128, BASE0, false, false);
	for (k = 0; k < VQ_CHAIN_MAX_IOV; k++)
		pdrv_set_slot(&d, k, pdrv_buf(&d, 1), 1, k, pdrv_avail_flags(true) |
			 (k < VQ_CHAIN_MAX_IOV - 1 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == VQ_CHAIN_MAX_IOV,
		   "hostile: VQ_CHAIN_MAX_IOV descriptors accepted");
	drv_setup(&d, 128, BASE0, false, false);
	for (k = 0; k <= VQ_CHAIN_MAX_IOV; k++)
		pdrv_set_slot(&d, k, pdrv_buf(&d, 1), 1, k, pdrv_avail_flags(true) |
			 (k < VQ_CHAIN_MAX_IOV ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: more than VQ_CHAIN_MAX_IOV iovs");

	/* Length cap (16 MiB in total): both descriptors may alias BIG. */
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20, .write = true };
	pdrv_add(&d, s, 2);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.out_len + c.in_len == 16u << 20,
		   "hostile: 16 MiB list accepted");
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20, .write = true };
	pdrv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: list over 16 MiB");
}

static void test_hostile_indirect(void)
{
	struct vring_packed_desc *t;
	struct vq_chain c;
	struct seg s[2];
	struct pdrv d;
	uint64_t tgpa;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = pdrv_out(&d, 8);
	pdrv_indirect(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: indirect not negotiated");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	pdrv_indirect(&d, s, 1);
	t = hva(&d, d.desc[0].addr);
	t[0].flags = VRING_DESC_F_INDIRECT;
	t[0].addr = pdrv_table(&d, s, 1);
	t[0].len = PDESC;
	KTAP_CHECK(refused(&d), "hostile: indirect inside indirect");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	pdrv_indirect_ex(&d, s, 1, true);
	d.head_flags |= VRING_DESC_F_NEXT;
	pdrv_set_slot(&d, 1, s[0].gpa, 8, 0, pdrv_avail_flags(true));
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect with NEXT");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	s[1] = (struct seg){ .gpa = pdrv_table(&d, s, 1), .len = PDESC };
	pdrv_write(&d, s, 2);
	d.desc[1].flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect after direct descriptors");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	s[1] = pdrv_out(&d, 8);
	pdrv_indirect_ex(&d, s, 2, true);
	d.desc[0].len = 24;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect len not a multiple of 16");

	drv_setup(&d, 8, BASE0, false, true);
	pdrv_indirect_ex(&d, s, 1, true);
	d.desc[0].len = 0;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect len 0");

	/* The largest table allowed is the ring (no chain may be longer),
	 * then one entry more.
	 */
	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	tgpa = pdrv_buf(&d, 9 * PDESC);
	t = hva(&d, tgpa);
	t[0] = (struct vring_packed_desc){ .addr = s[0].gpa, .len = 8 };
	for (k = 1; k < 9; k++)
		t[k] = (struct vring_packed_desc){ .addr = s[0].gpa, .len = 0 };
	s[1] = (struct seg){ .gpa = tgpa, .len = 8 * PDESC };
	pdrv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.out_len == 8,
		   "hostile: indirect table of num entries accepted");
	s[1].len += PDESC;
	pdrv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table of num + 1 entries refused");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 2 * PDESC };
	pdrv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table outside guest memory");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = RAM1_GPA - PDESC, .len = 2 * PDESC };
	pdrv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table across regions");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_in(&d, 8);
	s[1] = pdrv_out(&d, 8);
	pdrv_indirect(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after writable in a table");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 8, .write = true };
	pdrv_indirect(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: table entry outside guest memory");
}

static void test_misuse_and_broken(void)
{
	uint16_t id, nd, uid;
	struct vq_chain c;
	struct pdrv d;
	struct seg s;
	uint32_t ulen;
	int k;

	/* A driver re-posting the slot whose used flags a batch still holds
	 * back: the batch is published first, nothing is corrupted for us.
	 */
	drv_setup(&d, 4, BASE0, false, false);
	s = pdrv_out(&d, 1);
	for (k = 0; k < 4; k++) {
		pdrv_add(&d, &s, 1);
		pop(&d, &c, &nd);
		vring_packed_push(&d.vq, c.head, 0, nd);
	}
	pdrv_set_slot(&d, 0, s.gpa, 1, 77, pdrv_avail_flags(false));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == 77 &&
		   (vring_packed_push(&d.vq, 77, 0, 1), !d.vq.broken) &&
		   d.vq.batch_ndesc == 1 && d.vq.batch_idx == 0,
		   "batch: re-posted held-back slot flushes the batch first");

	drv_setup(&d, 8, BASE0, false, false);
	vring_packed_push(&d.vq, 0, 0, 1);
	KTAP_CHECK(d.vq.broken && d.desc[0].flags == 0,
		   "push: without a pending list breaks the ring, writes nothing");
	drv_setup(&d, 8, BASE0, false, false);
	id = pdrv_add(&d, &s, 1);
	pop(&d, &c, &nd);
	vring_packed_push(&d.vq, id, 0, 2);
	KTAP_CHECK(d.vq.broken, "push: more descriptors than in flight breaks the ring");

	drv_setup(&d, 8, BASE0, true, false);
	id = pdrv_add(&d, &s, 1);
	pop(&d, &c, &nd);
	pdrv_set_slot(&d, 1, 0, 0, 0, F_AVAIL | F_USED);
	KTAP_CHECK(refused(&d), "broken: bad slot breaks the ring");
	pdrv_set_slot(&d, 1, s.gpa, 1, 3, pdrv_avail_flags(true));
	KTAP_CHECK(pop(&d, &c, &nd) == -EIO && !vring_packed_has_avail(&d.vq),
		   "broken: stays broken after the guest repairs the ring");
	/* Touching guest memory now would crash. */
	d.vq.desc = NULL;
	d.vq.driver_event = NULL;
	d.vq.device_event = NULL;
	vring_packed_push(&d.vq, id, 0, 1);
	vring_packed_flush(&d.vq);
	vring_packed_notify_disable(&d.vq);
	KTAP_CHECK(pop(&d, &c, &nd) == -EIO && !vring_packed_notify_enable(&d.vq) &&
		   !vring_packed_should_notify(&d.vq),
		   "broken: nothing touches guest memory any more");
	vring_packed_init(&d.vq, 8, d.desc, d.drv_evt, d.dev_evt, 0x80018001,
			  true, false);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == 3 && !d.vq.broken &&
		   (vring_packed_push(&d.vq, 3, 0, 1), vring_packed_flush(&d.vq), 1) &&
		   (d.next_used = 1, d.sgs[3] = 1, pdrv_used(&d, &uid, &ulen)) &&
		   uid == 3,
		   "broken: re-initialising clears it");
}

/* The descriptors the last pop read. */
static uint32_t pop_reads(struct pdrv *d, struct vq_chain *c, int *err)
{
	uint32_t before = d->vq.desc_reads;
	uint16_t nd;

	*err = pop(d, c, &nd);
	return d->vq.desc_reads - before;
}

/* The split ring's amplification cases in the packed layout: a list of
 * num - 1 empty descriptors, a 32768-entry table, a table of num empty
 * entries. Each is refused within the chain cap, and every read counts.
 */
static void test_amplification(void)
{
	static struct seg s[1024];
	const uint32_t cap = VQ_CHAIN_MAX_IOV + 2;
	struct vring_packed_desc *t;
	struct vq_chain c;
	struct pdrv d;
	uint64_t tgpa;
	uint32_t n;
	int err, k;

	drv_setup(&d, 1024, BASE0, false, true);
	for (k = 0; k < 1023; k++)
		s[k] = (struct seg){ .gpa = RAM0_GPA + DATA_OFF, .len = 0 };
	pdrv_add(&d, s, 1023);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && d.vq.broken && n <= cap,
		   "amplification: a list of num-1 empty descriptors refused within the cap");
	ktap_diag("amplification: %u descriptor reads before the refusal (cap %u)", n, cap);

	drv_setup(&d, 1024, BASE0, false, true);
	tgpa = pdrv_buf(&d, 32768 * PDESC);
	s[0] = (struct seg){ .gpa = tgpa, .len = 32768 * PDESC };
	pdrv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && n == 1,
		   "amplification: 32768-entry table on a 1024 ring refused after one read");

	drv_setup(&d, 1024, BASE0, false, true);
	tgpa = pdrv_buf(&d, 1024 * PDESC);
	t = hva(&d, tgpa);
	for (k = 0; k < 1024; k++)
		t[k] = (struct vring_packed_desc){ .addr = RAM0_GPA + DATA_OFF };
	s[0] = (struct seg){ .gpa = tgpa, .len = 1024 * PDESC };
	pdrv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&d);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && n <= cap,
		   "amplification: a table of num empty entries refused within the cap");

	drv_setup(&d, 128, BASE0, false, false);
	for (k = 0; k < VQ_CHAIN_MAX_IOV - 1; k++)
		s[k] = (struct seg){ .gpa = RAM0_GPA + DATA_OFF, .len = 0 };
	s[k] = pdrv_out(&d, 1);
	pdrv_add(&d, s, VQ_CHAIN_MAX_IOV);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && c.niov == 1 && c.nempty == VQ_CHAIN_MAX_IOV - 1 &&
		   n == VQ_CHAIN_MAX_IOV,
		   "cap: 63 empty descriptors and a 1-byte one: a chain, 64 reads counted");
	s[k] = (struct seg){ .gpa = RAM0_GPA + DATA_OFF, .len = 0 };
	s[k + 1] = pdrv_out(&d, 1);
	pdrv_add(&d, s, VQ_CHAIN_MAX_IOV + 1);
	KTAP_CHECK(refused(&d), "cap: 64 empty descriptors and a 1-byte one: refused");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = pdrv_out(&d, 8);
	s[1] = pdrv_out(&d, 8);
	s[2] = pdrv_in(&d, 8);
	pdrv_add(&d, s, 3);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && n == 3, "reads: a 3-descriptor list counts 3");
	pdrv_indirect(&d, s, 3);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && n == 4, "reads: an indirect list of 3 counts 4");
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EAGAIN && n == 1, "reads: looking at an empty slot counts 1");
	pdrv_add(&d, s, 1);
	vring_packed_prefetch(&d.vq, &d.mem, 8, false);
	KTAP_CHECK(d.vq.desc_reads == 3 + 4 + 1 + 2,
		   "reads: a prefetch counts what it read");
}

/* As in test_vring_split.c: a memfd guest truncated under a running ring. */
static void test_shrunk_memory(void)
{
	const uint64_t page = 4096;
	struct guest_mem mem;
	struct vq_chain c;
	uint8_t buf[64];
	struct seg s;
	struct pdrv d;
	uint16_t nd;
	int fd, err;

	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    pdrv_setup(&d, &mem, &layout, 8, BASE0, true, false))
		die("memfd ring");
	s = pdrv_out(&d, 64);
	pdrv_add(&d, &s, 1);
	if (ftruncate(fd, 0))
		die("ftruncate");
	err = pop(&d, &c, &nd);
	KTAP_CHECK((err == -EIO || err == -EAGAIN) && guest_mem_faulted(&d.mem),
		   "truncated to 0: pop reads zeros, memory reported faulted");
	guest_mem_reset(&mem);
	close(fd);

	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    pdrv_setup(&d, &mem, &layout, 8, BASE0, true, false))
		die("memfd ring");
	d.free_gpa = RAM0_GPA + RAM0_SIZE - page;
	s = pdrv_out(&d, sizeof(buf));
	memset(hva(&d, s.gpa), 0xab, sizeof(buf));
	pdrv_add(&d, &s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && !guest_mem_faulted(&d.mem),
		   "tail cut: list popped before the cut");
	if (ftruncate(fd, RAM0_SIZE - page))
		die("ftruncate");
	memset(buf, 0xff, sizeof(buf));
	KTAP_CHECK(vq_chain_read(&c, 0, buf, sizeof(buf)) == sizeof(buf) &&
		   buf[0] == 0 && buf[63] == 0 && guest_mem_faulted(&d.mem),
		   "tail cut: the copy reads zeros, memory reported faulted");
	vring_packed_push(&d.vq, c.head, 0, nd);
	vring_packed_flush(&d.vq);
	vring_packed_notify_enable(&d.vq);
	KTAP_CHECK(d.desc[0].id == c.head && d.dev_evt->flags != 0,
		   "tail cut: used descriptor and event area written to zero pages");
	guest_mem_reset(&mem);
	close(fd);

	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    pdrv_setup(&d, &mem, &layout, 8, BASE0, false, false))
		die("memfd ring");
	if (ftruncate(fd, 0))
		die("ftruncate");
	vring_packed_notify_enable(&d.vq);
	KTAP_CHECK(guest_mem_faulted(&d.mem),
		   "truncated, then notify_enable alone: survived, reported");
	guest_mem_reset(&mem);
	close(fd);
}

/* vq_unpop() used to drop vring_packed_unpop()'s error: a ring whose
 * positions are unknown must stop, and the caller must hear of it.
 */
static void test_vq_unpop(void)
{
	struct virtqueue vq = { .packed = true };
	struct vq_chain c;
	struct seg s;
	struct pdrv d;

	drv_setup(&d, 8, BASE0, false, false);
	s = pdrv_out(&d, 8);
	pdrv_add(&d, &s, 1);
	vq.pk = d.vq;
	KTAP_CHECK(vq_pop(&vq, &d.mem, &c) == 0 && vq_unpop(&vq, 1) == 0 &&
		   !vq_broken(&vq), "vq_unpop: packed ring gives the list back");
	KTAP_CHECK(vq_unpop(&vq, 1) == -EIO && vq_broken(&vq),
		   "vq_unpop: more than was popped: -EIO, ring broken");
}

int main(void)
{
	vring_ram_map(&vram);
	/* A walk that fails to stop hangs: make that a failure. */
	alarm(60);

	ktap_plan(122);
	test_init();
	test_basic();
	test_regions_and_copy();
	test_indirect();
	test_wrap();
	test_unpop();
	test_driver_events();
	test_device_events();
	test_hostile_flags();
	test_hostile_buffers();
	test_hostile_indirect();
	test_misuse_and_broken();
	test_amplification();
	test_shrunk_memory();
	test_vq_unpop();
	return ktap_finish();
}
