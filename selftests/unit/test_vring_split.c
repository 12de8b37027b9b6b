// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the split virtqueue: the in-memory driver of
 * guest_driver.h plays the guest, well-behaved and hostile, in fake guest
 * memory registered with guest_mem.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/virtqueue.h"
#include "virtio/vring_split.h"
#include "guest_driver.h"
#include "fixtures.h"
#include "ktap.h"

/* Guest memory: fixtures.h (struct vring_ram). */

/* Ring layout inside RAM0, addressed through the UVA like SET_VRING_ADDR. */
#define DESC_OFF	0x00000
#define AVAIL_OFF	0x80000
#define USED_OFF	0xa0000
#define DATA_OFF	0xe0000

static struct vring_ram vram;

static const struct gd_layout layout = {
	.desc_uva = RAM0_UVA + DESC_OFF,
	.avail_uva = RAM0_UVA + AVAIL_OFF,
	.used_uva = RAM0_UVA + USED_OFF,
	.buf_gpa = RAM0_GPA + DATA_OFF,
	.buf_end = RAM0_GPA + RAM0_SIZE,
};

static void drv_setup(struct sdrv *d, uint16_t num, uint16_t base,
		      bool event_idx, bool indirect)
{
	struct guest_mem mem;

	vring_ram_fresh(&vram, &mem);
	if (sdrv_setup(d, &mem, &layout, num, base, event_idx, indirect))
		die("sdrv_setup");
}

static void *hva(struct sdrv *d, uint64_t gpa)
{
	return gd_hva(&d->mem, gpa);
}

static int pop(struct sdrv *d, struct vq_chain *c)
{
	return vring_split_pop(&d->vq, &d->mem, c);
}

/* The guest offers @n one-byte chains; we take, return and publish them. */
static void drv_complete(struct sdrv *d, unsigned int n)
{
	struct vq_chain c;
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct seg s = sdrv_out(d, 1);

		sdrv_add(d, sdrv_chain(d, &s, 1));
		if (pop(d, &c))
			die("pop in drv_complete");
		vring_split_push(&d->vq, c.head, 0);
	}
	vring_split_flush(&d->vq);
}

/* What every malformed ring must get: -EIO, marked broken, nothing taken. */
static bool refused(struct sdrv *d)
{
	uint16_t before = d->vq.last_avail_idx;
	struct vq_chain c;

	return pop(d, &c) == -EIO && d->vq.broken &&
	       d->vq.last_avail_idx == before;
}

static bool iov_is(const struct vq_chain *c, unsigned int i, const void *base,
		   uint32_t len)
{
	return c->iov[i].base == base && c->iov[i].len == len;
}

static void test_init(void)
{
	struct vring_split vq;
	uint8_t *u = vram.ram0 + USED_OFF, *a = vram.ram0 + AVAIL_OFF;

	KTAP_CHECK(vring_split_desc_size(256) == 4096 &&
		   vring_split_avail_size(256) == 4 + 512 + 2 &&
		   vring_split_used_size(256) == 4 + 2048 + 2,
		   "init: ring part sizes include the event fields");
	KTAP_CHECK(vring_split_init(&vq, 0, vram.ram0, a, u, 0, false, false) == -EINVAL,
		   "init: num 0 rejected");
	KTAP_CHECK(vring_split_init(&vq, 48, vram.ram0, a, u, 0, false, false) == -EINVAL,
		   "init: num not a power of 2 rejected");
	KTAP_CHECK(vring_split_init(&vq, 8, vram.ram0 + 8, a, u, 0, false, false) == -EINVAL,
		   "init: desc table not 16-byte aligned rejected");
	KTAP_CHECK(vring_split_init(&vq, 8, vram.ram0, a, u + 2, 0, false, false) == -EINVAL,
		   "init: used ring not 4-byte aligned rejected");
	KTAP_CHECK(vring_split_init(&vq, VQ_MAX_SIZE, vram.ram0, a, u, 7, true, true) == 0 &&
		   vq.num == VQ_MAX_SIZE && vq.last_avail_idx == 7 &&
		   vq.used_idx == 7 && !vq.broken,
		   "init: largest queue accepted, base sets both indices");
}

static void test_basic(void)
{
	struct vq_chain c;
	struct sdrv d;
	struct seg s[4];
	uint16_t head;
	int ok, k;

	drv_setup(&d, 8, 0, false, false);
	KTAP_CHECK(pop(&d, &c) == -EAGAIN && !d.vq.broken,
		   "pop: empty ring gives -EAGAIN");

	s[0] = sdrv_out(&d, 100);
	head = sdrv_chain(&d, s, 1);
	sdrv_post(&d, head);
	KTAP_CHECK(pop(&d, &c) == -EAGAIN,
		   "pop: entry not visible before avail->idx moves");
	sdrv_kick(&d);
	KTAP_CHECK(vring_split_avail(&d.vq) == 1, "avail: counts one chain");
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == head && c.niov == 1 &&
		   c.nout == 1 && c.out_len == 100 && c.in_len == 0 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 100),
		   "pop: single readable descriptor");
	KTAP_CHECK(d.vq.last_avail_idx == 1 && vring_split_avail(&d.vq) == 0 &&
		   pop(&d, &c) == -EAGAIN, "pop: consumed exactly one entry");

	s[0] = sdrv_out(&d, 10);
	s[1] = sdrv_out(&d, 20);
	s[2] = sdrv_in(&d, 30);
	s[3] = sdrv_in(&d, 40);
	head = sdrv_chain(&d, s, 4);
	sdrv_add(&d, head);
	ok = pop(&d, &c) == 0 && c.head == head && c.niov == 4 &&
	     c.nout == 2 && c.out_len == 30 && c.in_len == 70;
	for (k = 0; k < 4; k++)
		ok = ok && iov_is(&c, k, hva(&d, s[k].gpa), s[k].len);
	KTAP_CHECK(ok, "pop: readable then writable chain, iovs in order");

	vring_split_push(&d.vq, head, 55);
	KTAP_CHECK(d.used->idx == 0, "push: not visible before flush");
	vring_split_flush(&d.vq);
	KTAP_CHECK(d.used->idx == 1 && d.used->ring[0].id == head &&
		   d.used->ring[0].len == 55, "flush: used element published");
}

/* prefetch() is a hint: it takes nothing and refuses nothing, whatever the
 * guest wrote, and looks only at entries pop() has seen published.
 */
static void test_prefetch(void)
{
	struct vq_chain c;
	struct sdrv d;
	struct seg s;
	uint16_t h1, h2, h3;

	drv_setup(&d, 8, 0, false, false);
	s = sdrv_in(&d, 64);
	h1 = sdrv_chain(&d, &s, 1);
	s = sdrv_in(&d, 64);
	h2 = sdrv_chain(&d, &s, 1);
	s = sdrv_in(&d, 64);
	h3 = sdrv_chain(&d, &s, 1);
	d.desc[h3].addr = 0x7fff00000000ull;	/* maps to nothing */
	sdrv_post(&d, h1);
	sdrv_post(&d, h2);
	sdrv_post(&d, h3);
	sdrv_post(&d, 200);			/* head out of range */
	sdrv_kick(&d);
	vring_split_prefetch(&d.vq, &d.mem, 64, true);
	KTAP_CHECK(d.vq.last_avail_idx == 0 && d.vq.avail_shadow == 0 &&
		   !d.vq.broken, "prefetch: before any pop, looks at nothing");
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == h1, "prefetch: pop after it");
	vring_split_prefetch(&d.vq, &d.mem, 64, true);
	vring_split_prefetch(&d.vq, &d.mem, 2, false);
	KTAP_CHECK(d.vq.last_avail_idx == 1 && !d.vq.broken,
		   "prefetch: a bad address and a bad head ahead change nothing");
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == h2 && refused(&d),
		   "prefetch: pop() still refuses the bad address");
	vring_split_prefetch(&d.vq, &d.mem, 64, true);
	KTAP_CHECK(d.vq.broken && d.vq.last_avail_idx == 2,
		   "prefetch: a broken ring stays as it is");
}

static void test_copy(void)
{
	static const char pat[] = "abcdefghij";
	uint8_t buf[32] = { 0 };
	struct vq_chain c;
	struct seg s[5];
	struct sdrv d;
	uint8_t *in0, *in1, *in2;

	drv_setup(&d, 8, 0, false, false);
	s[0] = sdrv_out(&d, 5);
	s[1] = sdrv_out(&d, 7);
	s[2] = sdrv_in(&d, 3);
	s[3] = sdrv_in(&d, 4);
	s[4] = sdrv_in(&d, 6);
	memcpy(hva(&d, s[0].gpa), "hello", 5);
	memcpy(hva(&d, s[1].gpa), "world!!", 7);
	sdrv_add(&d, sdrv_chain(&d, s, 5));
	if (pop(&d, &c))
		die("pop in test_copy");
	in0 = hva(&d, s[2].gpa);
	in1 = hva(&d, s[3].gpa);
	in2 = hva(&d, s[4].gpa);

	KTAP_CHECK(vq_chain_read(&c, 3, buf, sizeof(buf)) == 9 &&
		   !memcmp(buf, "loworld!!", 9),
		   "chain_read: from an offset across iovs, stops at the end");
	KTAP_CHECK(vq_chain_read(&c, 2, buf, 4) == 4 && !memcmp(buf, "llow", 4),
		   "chain_read: honours len");
	KTAP_CHECK(vq_chain_read(&c, 12, buf, 4) == 0,
		   "chain_read: offset at the end reads nothing");
	KTAP_CHECK(vq_chain_write(&c, 2, pat, 10) == 10 && in0[2] == 'a' &&
		   !memcmp(in1, "bcde", 4) && !memcmp(in2, "fghij", 5) &&
		   in0[0] == 0 && in2[5] == 0,
		   "chain_write: from an offset across iovs");
	KTAP_CHECK(vq_chain_write(&c, 10, "XYZW", 4) == 3 &&
		   !memcmp(in2 + 3, "XYZ", 3),
		   "chain_write: short when the chain is");
	KTAP_CHECK(!memcmp(hva(&d, s[0].gpa), "hello", 5) &&
		   !memcmp(hva(&d, s[1].gpa), "world!!", 7),
		   "chain_write: readable part untouched");
}

static void test_regions_and_zero_len(void)
{
	uint8_t data[300];
	struct vq_chain c;
	struct seg s[3];
	struct sdrv d;
	int k;

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA - 100, .len = 300, .write = true };
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == 2 && c.nout == 0 &&
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
	s[1] = sdrv_out(&d, 8);
	s[2] = (struct seg){ .gpa = HOLE_GPA, .len = 0, .write = true };
	sdrv_add(&d, sdrv_chain(&d, s, 3));
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == 1 && c.nout == 1 &&
		   c.out_len == 8 && c.in_len == 0 &&
		   iov_is(&c, 0, hva(&d, s[1].gpa), 8),
		   "pop: zero-length descriptors produce no iov");
}

static void test_indirect(void)
{
	struct vq_chain c;
	struct seg s[3], t[2];
	struct vring_desc one;
	struct sdrv d;
	uint16_t head, mid;
	uint64_t tgpa;

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 16);
	s[1] = sdrv_in(&d, 32);
	s[2] = sdrv_in(&d, 64);
	head = sdrv_indirect(&d, s, 3);
	sdrv_add(&d, head);
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == head && c.niov == 3 &&
		   c.nout == 1 && c.out_len == 16 && c.in_len == 96 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 16) &&
		   iov_is(&c, 1, hva(&d, s[1].gpa), 32) &&
		   iov_is(&c, 2, hva(&d, s[2].gpa), 64),
		   "indirect: table walked, head is the ring descriptor");

	/* 2.7.5.3.2: direct descriptors followed by one indirect one. */
	s[0] = sdrv_out(&d, 8);
	t[0] = sdrv_in(&d, 24);
	t[1] = sdrv_in(&d, 40);
	head = sdrv_chain(&d, s, 1);
	mid = d.free_desc++ % d.num;
	d.desc[head].flags |= VRING_DESC_F_NEXT;
	d.desc[head].next = mid;
	sdrv_set_desc(d.desc, mid, sdrv_table(&d, t, 2), 32, VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, head);
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == head && c.niov == 3 &&
		   c.nout == 1 && c.out_len == 8 && c.in_len == 64 &&
		   iov_is(&c, 2, hva(&d, t[1].gpa), 40),
		   "indirect: after direct descriptors");

	/* The device must ignore WRITE on the descriptor naming the table. */
	t[0] = sdrv_out(&d, 12);
	head = sdrv_indirect(&d, t, 1);
	d.desc[head].flags |= VRING_DESC_F_WRITE;
	sdrv_add(&d, head);
	KTAP_CHECK(pop(&d, &c) == 0 && c.nout == 1 && c.out_len == 12,
		   "indirect: WRITE on the table descriptor ignored");

	/* The table only needs to be in guest memory, not aligned. */
	t[0] = sdrv_in(&d, 4);
	tgpa = sdrv_buf(&d, 64) + 3;
	sdrv_chain_at(&one, 0, 1, t, 1);
	memcpy(hva(&d, tgpa), &one, sizeof(one));
	head = d.free_desc++ % d.num;
	sdrv_set_desc(d.desc, head, tgpa, 16, VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, head);
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == 1 && c.in_len == 4 &&
		   iov_is(&c, 0, hva(&d, t[0].gpa), 4),
		   "indirect: unaligned table read safely");
}

static void test_wrap(void)
{
	uint16_t heads[8];
	struct vq_chain c;
	struct sdrv d;
	struct seg s;
	int ok, k, round;

	drv_setup(&d, 8, 65530, false, false);
	for (round = 0; round < 2; round++) {
		uint16_t start = d.vq.used_idx;

		for (k = 0; k < 8; k++) {
			s = sdrv_out(&d, 1 + k);
			heads[k] = sdrv_chain(&d, &s, 1);
			sdrv_post(&d, heads[k]);
		}
		sdrv_kick(&d);
		KTAP_CHECK(vring_split_avail(&d.vq) == 8,
			   "wrap: a full ring of chains available");
		ok = 1;
		for (k = 0; k < 8; k++) {
			ok = ok && pop(&d, &c) == 0 && c.head == heads[k] &&
			     c.out_len == 1u + k;
			vring_split_push(&d.vq, c.head, 1000 + k);
		}
		KTAP_CHECK(ok && pop(&d, &c) == -EAGAIN,
			   "wrap: all chains popped in order across the wrap");
		vring_split_flush(&d.vq);
		ok = d.used->idx == (uint16_t)(start + 8);
		for (k = 0; k < 8; k++) {
			struct vring_used_elem *e =
				&d.used->ring[(uint16_t)(start + k) % 8];

			ok = ok && e->id == heads[k] && e->len == 1000u + k;
		}
		KTAP_CHECK(ok, "wrap: used ring and idx right across the wrap");
	}
	KTAP_CHECK(d.vq.last_avail_idx == 10 && d.vq.used_idx == 10,
		   "wrap: indices wrapped to 10");
}

static void test_unpop(void)
{
	uint16_t h[3];
	struct vq_chain c;
	struct sdrv d;
	struct seg s;
	int k;

	drv_setup(&d, 8, 65535, false, false);
	for (k = 0; k < 3; k++) {
		s = sdrv_out(&d, 4);
		h[k] = sdrv_chain(&d, &s, 1);
		sdrv_post(&d, h[k]);
	}
	sdrv_kick(&d);
	pop(&d, &c);
	pop(&d, &c);
	vring_split_unpop(&d.vq, 2);
	KTAP_CHECK(d.vq.last_avail_idx == 65535 && vring_split_avail(&d.vq) == 3,
		   "unpop: gives chains back");
	KTAP_CHECK(pop(&d, &c) == 0 && c.head == h[0] &&
		   pop(&d, &c) == 0 && c.head == h[1] &&
		   pop(&d, &c) == 0 && c.head == h[2],
		   "unpop: the same chains pop again in order");
}

static void test_event_idx(void)
{
	struct sdrv d;
	struct seg s;

	drv_setup(&d, 8, 0, true, false);
	*sdrv_used_event(&d) = 5;
	drv_complete(&d, 1);			/* used 1 */
	KTAP_CHECK(vring_split_should_notify(&d.vq),
		   "event_idx: first notification always sent");
	drv_complete(&d, 1);			/* used 2 */
	KTAP_CHECK(!vring_split_should_notify(&d.vq),
		   "event_idx: suppressed before sdrv_used_event");
	drv_complete(&d, 3);			/* used 5 */
	KTAP_CHECK(!vring_split_should_notify(&d.vq),
		   "event_idx: suppressed until sdrv_used_event is consumed");
	drv_complete(&d, 1);			/* used 6 */
	KTAP_CHECK(vring_split_should_notify(&d.vq),
		   "event_idx: notify once used idx passes sdrv_used_event");
	drv_complete(&d, 1);			/* used 7 */
	KTAP_CHECK(!vring_split_should_notify(&d.vq),
		   "event_idx: no second notification for the same event");
	*sdrv_used_event(&d) = 6;
	KTAP_CHECK(!vring_split_should_notify(&d.vq),
		   "event_idx: nothing new published, no notification");
	d.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*sdrv_used_event(&d) = 7;
	drv_complete(&d, 2);			/* used 9 */
	KTAP_CHECK(vring_split_should_notify(&d.vq),
		   "event_idx: event in a batch notifies, NO_INTERRUPT ignored");

	*sdrv_avail_event(&d) = 0xdead;
	KTAP_CHECK(!vring_split_notify_enable(&d.vq) &&
		   *sdrv_avail_event(&d) == d.vq.last_avail_idx,
		   "event_idx: notify_enable writes sdrv_avail_event, no race");
	s = sdrv_out(&d, 1);
	sdrv_add(&d, sdrv_chain(&d, &s, 1));
	KTAP_CHECK(vring_split_notify_enable(&d.vq) &&
		   *sdrv_avail_event(&d) == d.vq.last_avail_idx,
		   "event_idx: notify_enable reports buffers added meanwhile");
	vring_split_notify_disable(&d.vq);
	KTAP_CHECK(d.used->flags == 0,
		   "event_idx: notify_disable leaves used->flags alone");
}

static void test_no_event_idx(void)
{
	struct sdrv d;
	struct seg s;

	drv_setup(&d, 8, 0, false, false);
	*sdrv_used_event(&d) = 100;
	drv_complete(&d, 1);
	KTAP_CHECK(vring_split_should_notify(&d.vq),
		   "flags: notify without event idx, sdrv_used_event ignored");
	d.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	drv_complete(&d, 1);
	KTAP_CHECK(!vring_split_should_notify(&d.vq),
		   "flags: NO_INTERRUPT suppresses");
	d.avail->flags = 0;
	drv_complete(&d, 1);
	KTAP_CHECK(vring_split_should_notify(&d.vq),
		   "flags: cleared NO_INTERRUPT notifies again");

	vring_split_notify_disable(&d.vq);
	KTAP_CHECK(d.used->flags & VRING_USED_F_NO_NOTIFY,
		   "flags: notify_disable sets NO_NOTIFY");
	*sdrv_avail_event(&d) = 0x1234;
	KTAP_CHECK(!vring_split_notify_enable(&d.vq) &&
		   !(d.used->flags & VRING_USED_F_NO_NOTIFY) &&
		   *sdrv_avail_event(&d) == 0x1234,
		   "flags: notify_enable clears NO_NOTIFY, no race");
	vring_split_notify_disable(&d.vq);
	s = sdrv_out(&d, 1);
	sdrv_add(&d, sdrv_chain(&d, &s, 1));
	KTAP_CHECK(vring_split_notify_enable(&d.vq),
		   "flags: notify_enable reports buffers added meanwhile");
}

/* Chains the ring walk must refuse; each would pop fine without its check. */
static void test_hostile_direct(void)
{
	struct vq_chain c;
	struct seg s[2];
	struct sdrv d;
	int k;

	drv_setup(&d, 8, 0, false, false);
	sdrv_add(&d, 8);
	KTAP_CHECK(refused(&d), "hostile: head == num");

	drv_setup(&d, 8, 0, false, false);
	sdrv_add(&d, 0xffff);
	KTAP_CHECK(refused(&d), "hostile: head 0xffff");

	drv_setup(&d, 8, 0, false, false);
	sdrv_set_desc(d.desc, 0, sdrv_buf(&d, 8), 8, VRING_DESC_F_NEXT, 8);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: next == num");

	drv_setup(&d, 8, 0, false, false);
	sdrv_set_desc(d.desc, 0, 0, 0, VRING_DESC_F_NEXT, 1);
	sdrv_set_desc(d.desc, 1, 0, 0, VRING_DESC_F_NEXT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: two-descriptor loop");

	drv_setup(&d, 8, 0, false, false);
	sdrv_set_desc(d.desc, 3, 0, 0, VRING_DESC_F_NEXT, 3);
	sdrv_add(&d, 3);
	KTAP_CHECK(refused(&d), "hostile: descriptor pointing at itself");

	/* A chain of every descriptor is the longest legal one... */
	drv_setup(&d, 8, 0, false, false);
	for (k = 0; k < 8; k++)
		sdrv_set_desc(d.desc, k, sdrv_buf(&d, 1), 1, VRING_DESC_F_NEXT, k + 1);
	d.desc[7].flags = 0;
	sdrv_add(&d, 0);
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == 8 && c.out_len == 8,
		   "hostile: chain of exactly num descriptors accepted");
	/* ...one more step means a descriptor was visited twice. */
	drv_setup(&d, 8, 0, false, false);
	for (k = 0; k < 8; k++)
		sdrv_set_desc(d.desc, k, 0, 0, VRING_DESC_F_NEXT, (k + 1) % 8);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: chain longer than num");

	drv_setup(&d, 8, 0, false, false);
	s[0] = sdrv_in(&d, 8);
	s[1] = sdrv_out(&d, 8);
	sdrv_add(&d, sdrv_chain(&d, s, 2));
	KTAP_CHECK(refused(&d), "hostile: readable after writable");

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .len = 0, .write = true };
	s[1] = sdrv_out(&d, 8);
	sdrv_add(&d, sdrv_chain(&d, s, 2));
	KTAP_CHECK(refused(&d), "hostile: readable after zero-length writable");

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 8 };
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	KTAP_CHECK(refused(&d), "hostile: address outside guest memory");

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA + RAM1_SIZE - 4, .len = 8 };
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	KTAP_CHECK(refused(&d), "hostile: buffer running off guest memory");

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = TOP_GPA + TOP_SIZE - 8, .len = 16 };
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	KTAP_CHECK(refused(&d), "hostile: buffer past the top guest region");

	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = UINT64_MAX - 3, .len = 8 };
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	KTAP_CHECK(refused(&d), "hostile: address + len overflows 64 bits");

	drv_setup(&d, 8, 0, false, false);
	s[0] = sdrv_out(&d, 8);
	for (k = 0; k < 8; k++)
		sdrv_post(&d, sdrv_chain(&d, s, 1));
	d.avail_idx++;
	sdrv_kick(&d);
	KTAP_CHECK(refused(&d), "hostile: avail idx more than num ahead");

	drv_setup(&d, 128, 0, false, false);
	for (k = 0; k < VQ_CHAIN_MAX_IOV; k++)
		sdrv_set_desc(d.desc, k, sdrv_buf(&d, 1), 1, VRING_DESC_F_NEXT, k + 1);
	d.desc[VQ_CHAIN_MAX_IOV - 1].flags = 0;
	sdrv_add(&d, 0);
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == VQ_CHAIN_MAX_IOV,
		   "hostile: VQ_CHAIN_MAX_IOV descriptors accepted");
	drv_setup(&d, 128, 0, false, false);
	for (k = 0; k <= VQ_CHAIN_MAX_IOV; k++)
		sdrv_set_desc(d.desc, k, sdrv_buf(&d, 1), 1, VRING_DESC_F_NEXT, k + 1);
	d.desc[VQ_CHAIN_MAX_IOV].flags = 0;
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: more than VQ_CHAIN_MAX_IOV iovs");

	/* Length cap (16 MiB in total): both descriptors may alias BIG. */
	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20, .write = true };
	sdrv_add(&d, sdrv_chain(&d, s, 2));
	KTAP_CHECK(pop(&d, &c) == 0 && c.out_len + c.in_len == 16u << 20,
		   "hostile: 16 MiB chain accepted");
	drv_setup(&d, 8, 0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20, .write = true };
	sdrv_add(&d, sdrv_chain(&d, s, 2));
	KTAP_CHECK(refused(&d), "hostile: chain over 16 MiB");
}

static void test_hostile_indirect(void)
{
	struct vring_desc *t;
	struct vq_chain c;
	struct seg s[2];
	struct sdrv d;
	uint64_t tgpa;
	uint16_t head;
	int k;

	drv_setup(&d, 8, 0, false, false);
	s[0] = sdrv_out(&d, 8);
	sdrv_add(&d, sdrv_indirect(&d, s, 1));
	KTAP_CHECK(refused(&d), "hostile: indirect not negotiated");

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	tgpa = sdrv_table(&d, s, 1);
	s[0] = (struct seg){ .gpa = tgpa, .len = 16 };
	head = sdrv_indirect(&d, s, 1);
	t = hva(&d, d.desc[head].addr);
	t[0].flags = VRING_DESC_F_INDIRECT;
	sdrv_add(&d, head);
	KTAP_CHECK(refused(&d), "hostile: indirect inside indirect");

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	head = sdrv_indirect(&d, s, 1);
	d.desc[head].flags |= VRING_DESC_F_NEXT;
	d.desc[head].next = head + 1;
	sdrv_set_desc(d.desc, head + 1, sdrv_buf(&d, 8), 8, 0, 0);
	sdrv_add(&d, head);
	KTAP_CHECK(refused(&d), "hostile: indirect with NEXT");

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	s[1] = sdrv_out(&d, 8);
	head = sdrv_indirect(&d, s, 2);
	t = hva(&d, d.desc[head].addr);
	t[0].flags = 0;
	d.desc[head].len = 24;
	sdrv_add(&d, head);
	KTAP_CHECK(refused(&d), "hostile: indirect len not a multiple of 16");

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	head = sdrv_indirect(&d, s, 1);
	d.desc[head].len = 0;
	sdrv_add(&d, head);
	KTAP_CHECK(refused(&d), "hostile: indirect len 0");

	/* The largest table allowed is the ring (no chain may be longer),
	 * then one entry more.
	 */
	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	tgpa = sdrv_buf(&d, 9 * sizeof(struct vring_desc));
	sdrv_chain_at(hva(&d, tgpa), 0, 1, s, 1);
	sdrv_set_desc(d.desc, 0, tgpa, 8 * sizeof(struct vring_desc),
		 VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(pop(&d, &c) == 0 && c.out_len == 8,
		   "hostile: indirect table of num entries accepted");
	d.desc[0].len += sizeof(struct vring_desc);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: indirect table of num + 1 entries refused");

	drv_setup(&d, 8, 0, false, true);
	sdrv_set_desc(d.desc, 0, HOLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: indirect table outside guest memory");

	drv_setup(&d, 8, 0, false, true);
	sdrv_set_desc(d.desc, 0, RAM1_GPA - 16, 32, VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: indirect table across regions");

	/* Entry 2 exists in memory but lies beyond the table's len. */
	drv_setup(&d, 8, 0, false, true);
	tgpa = sdrv_buf(&d, 3 * sizeof(struct vring_desc));
	t = hva(&d, tgpa);
	sdrv_set_desc(t, 0, sdrv_buf(&d, 4), 4, VRING_DESC_F_NEXT, 1);
	sdrv_set_desc(t, 1, sdrv_buf(&d, 4), 4, VRING_DESC_F_NEXT, 2);
	sdrv_set_desc(t, 2, sdrv_buf(&d, 4), 4, 0, 0);
	sdrv_set_desc(d.desc, 0, tgpa, 2 * sizeof(struct vring_desc),
		 VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: indirect next beyond the table");

	/* The loop bound inside a table is its size (up to the queue size). */
	drv_setup(&d, 16, 0, false, true);
	tgpa = sdrv_buf(&d, 16 * sizeof(struct vring_desc));
	t = hva(&d, tgpa);
	for (k = 0; k < 16; k++)
		sdrv_set_desc(t, k, sdrv_buf(&d, 1), 1, VRING_DESC_F_NEXT, k + 1);
	t[15].flags = 0;
	sdrv_set_desc(d.desc, 0, tgpa, 16 * sizeof(struct vring_desc),
		 VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	KTAP_CHECK(pop(&d, &c) == 0 && c.niov == 16,
		   "hostile: indirect chain as long as its table (= num) accepted");
	for (k = 0; k < 16; k++)
		t[k].next = (k + 1) % 16;
	t[15].flags = VRING_DESC_F_NEXT;
	sdrv_add(&d, 0);
	KTAP_CHECK(refused(&d), "hostile: loop inside an indirect table");

	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_in(&d, 8);
	head = sdrv_chain(&d, s, 1);
	s[0] = sdrv_out(&d, 8);
	d.desc[head].flags |= VRING_DESC_F_NEXT;
	d.desc[head].next = d.free_desc;
	sdrv_indirect(&d, s, 1);
	sdrv_add(&d, head);
	KTAP_CHECK(refused(&d), "hostile: readable in table after direct writable");
}

static void test_broken_stays(void)
{
	struct vq_chain c;
	struct sdrv d;
	struct seg s;

	drv_setup(&d, 8, 0, true, false);
	sdrv_add(&d, 8);
	KTAP_CHECK(refused(&d), "broken: bad head breaks the ring");
	s = sdrv_out(&d, 8);
	d.avail->ring[0] = sdrv_chain(&d, &s, 1);
	KTAP_CHECK(pop(&d, &c) == -EIO && vring_split_avail(&d.vq) == 0,
		   "broken: stays broken after the guest repairs the ring");
	/* Touching guest memory now would crash. */
	d.vq.desc = NULL;
	d.vq.avail = NULL;
	d.vq.used = NULL;
	KTAP_CHECK(pop(&d, &c) == -EIO && !vring_split_notify_enable(&d.vq),
		   "broken: pop and notify_enable leave guest memory alone");
	vring_split_notify_disable(&d.vq);
	vring_split_init(&d.vq, 8, d.desc, d.avail, d.used, 0, true, false);
	KTAP_CHECK(pop(&d, &c) == 0 && c.out_len == 8 && !d.vq.broken,
		   "broken: re-initialising clears it");
}

/* The descriptors the last pop read. */
static uint32_t pop_reads(struct sdrv *d, struct vq_chain *c, int *err)
{
	uint32_t before = d->vq.desc_reads;

	*err = pop(d, c);
	return d->vq.desc_reads - before;
}

/* Work per pop is bounded by what it costs: empty descriptors take a place
 * in the chain, tables longer than the ring are refused, and every read is
 * counted for the caller's budget. The attack: every avail entry a
 * chain of num - 1 empty descriptors and a huge indirect table.
 */
static void test_amplification(void)
{
	const uint32_t cap = VQ_CHAIN_MAX_IOV + 2;
	struct vring_desc *t;
	struct vq_chain c;
	struct seg s[VQ_CHAIN_MAX_IOV + 1];
	struct sdrv d;
	uint64_t tgpa;
	uint32_t n;
	int err, k;

	drv_setup(&d, 1024, 0, false, true);
	tgpa = sdrv_buf(&d, 32768 * sizeof(struct vring_desc));
	t = hva(&d, tgpa);
	for (k = 0; k < 32768; k++)
		sdrv_set_desc(t, k, RAM0_GPA + DATA_OFF, 0, VRING_DESC_F_NEXT, k + 1);
	t[32767].flags = 0;
	for (k = 0; k < 1023; k++)
		sdrv_set_desc(d.desc, k, RAM0_GPA + DATA_OFF, 0, VRING_DESC_F_NEXT, k + 1);
	sdrv_set_desc(d.desc, 1023, tgpa, 32768 * sizeof(struct vring_desc),
		      VRING_DESC_F_INDIRECT, 0);
	for (k = 0; k < 1024; k++)
		sdrv_post(&d, 0);
	sdrv_kick(&d);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && d.vq.broken && n <= cap,
		   "amplification: num-1 empty descriptors + 32768-entry table: refused within the chain cap");
	ktap_diag("amplification: %u descriptor reads before the refusal (cap %u)", n, cap);

	/* The table alone: longer than the ring, refused unread. */
	drv_setup(&d, 1024, 0, false, true);
	tgpa = sdrv_buf(&d, 32768 * sizeof(struct vring_desc));
	sdrv_set_desc(d.desc, 0, tgpa, 32768 * sizeof(struct vring_desc),
		      VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && n == 1,
		   "amplification: 32768-entry table on a 1024 ring refused after one read");

	/* A table of num empty entries: within the ring, over the cap. */
	drv_setup(&d, 1024, 0, false, true);
	tgpa = sdrv_buf(&d, 1024 * sizeof(struct vring_desc));
	t = hva(&d, tgpa);
	for (k = 0; k < 1024; k++)
		sdrv_set_desc(t, k, RAM0_GPA + DATA_OFF, 0, VRING_DESC_F_NEXT, k + 1);
	t[1023].flags = 0;
	sdrv_set_desc(d.desc, 0, tgpa, 1024 * sizeof(struct vring_desc),
		      VRING_DESC_F_INDIRECT, 0);
	sdrv_add(&d, 0);
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == -EIO && n <= cap,
		   "amplification: a table of num empty entries refused within the cap");

	/* Empty descriptors take places: 63 and a byte fit, 64 and a byte not. */
	drv_setup(&d, 128, 0, false, false);
	for (k = 0; k < VQ_CHAIN_MAX_IOV - 1; k++)
		s[k] = (struct seg){ .gpa = RAM0_GPA + DATA_OFF, .len = 0 };
	s[k] = sdrv_out(&d, 1);
	sdrv_add(&d, sdrv_chain(&d, s, VQ_CHAIN_MAX_IOV));
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && c.niov == 1 && c.nempty == VQ_CHAIN_MAX_IOV - 1 &&
		   c.out_len == 1 && n == VQ_CHAIN_MAX_IOV,
		   "cap: 63 empty descriptors and a 1-byte one: a chain, 64 reads counted");
	s[k] = (struct seg){ .gpa = RAM0_GPA + DATA_OFF, .len = 0 };
	s[k + 1] = sdrv_out(&d, 1);
	sdrv_add(&d, sdrv_chain(&d, s, VQ_CHAIN_MAX_IOV + 1));
	KTAP_CHECK(refused(&d), "cap: 64 empty descriptors and a 1-byte one: refused");

	/* Every read counts: direct, indirect, prefetch. */
	drv_setup(&d, 8, 0, false, true);
	s[0] = sdrv_out(&d, 8);
	s[1] = sdrv_out(&d, 8);
	s[2] = sdrv_in(&d, 8);
	sdrv_add(&d, sdrv_chain(&d, s, 3));
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && n == 3, "reads: a 3-descriptor chain counts 3");
	sdrv_add(&d, sdrv_indirect(&d, s, 3));
	n = pop_reads(&d, &c, &err);
	KTAP_CHECK(err == 0 && n == 4, "reads: an indirect chain of 3 counts 4");
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	sdrv_add(&d, sdrv_chain(&d, s, 1));
	n = pop_reads(&d, &c, &err);	/* takes the snapshot of avail->idx */
	vring_split_prefetch(&d.vq, &d.mem, 8, false);
	KTAP_CHECK(d.vq.desc_reads == 3 + 4 + 1 + 1, "reads: a prefetch counts what it read");
}

/* A memfd-backed guest whose frontend truncates the file under running
 * rings: every access the ring code makes to the lost pages (the avail
 * index on a kick, a buffer's tail in the copy, the event index when
 * notifications are enabled, the used ring) reads or writes zero pages
 * instead of killing the process, and the memory table reports the fault.
 */
static void test_shrunk_memory(void)
{
	const uint64_t page = 4096;
	struct guest_mem mem;
	struct vq_chain c;
	uint8_t buf[64];
	struct seg s;
	struct sdrv d;
	int fd, err;

	/* Everything lost: the next kick reads avail->idx from a lost page. */
	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    sdrv_setup(&d, &mem, &layout, 8, 5, true, false))
		die("memfd ring");
	s = sdrv_out(&d, 64);
	sdrv_add(&d, sdrv_chain(&d, &s, 1));
	if (ftruncate(fd, 0))
		die("ftruncate");
	err = pop(&d, &c);
	KTAP_CHECK((err == -EIO || err == -EAGAIN) && guest_mem_faulted(&d.mem),
		   "truncated to 0: pop reads zeros, memory reported faulted");
	guest_mem_reset(&mem);
	close(fd);

	/* Only the buffer's page lost: the copy meets it mid-memcpy. */
	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    sdrv_setup(&d, &mem, &layout, 8, 0, true, false))
		die("memfd ring");
	d.free_gpa = RAM0_GPA + RAM0_SIZE - page;
	s = sdrv_out(&d, sizeof(buf));
	memset(hva(&d, s.gpa), 0xab, sizeof(buf));
	sdrv_add(&d, sdrv_chain(&d, &s, 1));
	KTAP_CHECK(pop(&d, &c) == 0 && !guest_mem_faulted(&d.mem),
		   "tail cut: chain popped before the cut");
	if (ftruncate(fd, RAM0_SIZE - page))
		die("ftruncate");
	memset(buf, 0xff, sizeof(buf));
	KTAP_CHECK(vq_chain_read(&c, 0, buf, sizeof(buf)) == sizeof(buf) &&
		   buf[0] == 0 && buf[63] == 0 && guest_mem_faulted(&d.mem),
		   "tail cut: the copy reads zeros, memory reported faulted");
	vring_split_push(&d.vq, c.head, 0);
	vring_split_flush(&d.vq);
	vring_split_notify_enable(&d.vq);
	KTAP_CHECK(d.used->idx == 1 && *sdrv_avail_event(&d) == 1,
		   "tail cut: used ring and event index written to zero pages");
	guest_mem_reset(&mem);
	close(fd);

	/* Nothing but enabling notifications after the truncation
	 * (SET_VRING_ENABLE alone, no kick).
	 */
	fd = memfd_create("guest", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, RAM0_SIZE))
		die("memfd");
	guest_mem_init(&mem);
	if (guest_mem_add_fd(&mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, 0, fd) ||
	    sdrv_setup(&d, &mem, &layout, 8, 0, false, false))
		die("memfd ring");
	if (ftruncate(fd, 0))
		die("ftruncate");
	vring_split_notify_enable(&d.vq);
	KTAP_CHECK(guest_mem_faulted(&d.mem),
		   "truncated, then notify_enable alone: survived, reported");
	guest_mem_reset(&mem);
	close(fd);
}

/* vq_unpop() on a split ring cannot fail. */
static void test_vq_unpop(void)
{
	struct virtqueue vq = { .packed = false };
	struct vq_chain c;
	struct seg s;
	struct sdrv d;

	drv_setup(&d, 8, 0, false, false);
	s = sdrv_out(&d, 8);
	sdrv_add(&d, sdrv_chain(&d, &s, 1));
	vq.split = d.vq;
	KTAP_CHECK(vq_pop(&vq, &d.mem, &c) == 0 && vq_unpop(&vq, 1) == 0 &&
		   vq.split.last_avail_idx == 0 && !vq_broken(&vq),
		   "vq_unpop: split ring gives the chain back");
}

int main(void)
{
	vring_ram_map(&vram);
	/* A walk that fails to detect a loop hangs: make that a failure. */
	alarm(60);

	ktap_plan(106);
	test_init();
	test_basic();
	test_copy();
	test_regions_and_zero_len();
	test_indirect();
	test_wrap();
	test_unpop();
	test_event_idx();
	test_no_event_idx();
	test_hostile_direct();
	test_hostile_indirect();
	test_broken_stays();
	test_prefetch();
	test_amplification();
	test_shrunk_memory();
	test_vq_unpop();
	return ktap_finish();
}
