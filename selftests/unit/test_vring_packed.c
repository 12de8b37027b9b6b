// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the packed virtqueue: an in-memory driver plays the guest,
 * well-behaved and hostile, in fake guest memory registered with guest_mem.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vring_packed.h"
#include "ktap.h"

/* Guest memory as in test_vring_split.c: RAM1 follows RAM0 in GPA but not in
 * host memory; BIG is only for the chain length cap; TOP sits just below
 * 2^64 for the overflow cases; HOLE is no memory at all.
 */
#define RAM0_GPA	0x100000ULL
#define RAM0_UVA	0x7f1200000000ULL
#define RAM0_SIZE	(2u << 20)
#define RAM1_GPA	(RAM0_GPA + RAM0_SIZE)
#define RAM1_UVA	0x7f3400000000ULL
#define RAM1_SIZE	0x10000u
#define BIG_GPA		0x40000000ULL
#define BIG_UVA		0x7f5600000000ULL
#define BIG_SIZE	(16u << 20)
#define TOP_GPA		0xffffffffffffe000ULL
#define TOP_UVA		0x7f7800000000ULL
#define TOP_SIZE	0x1000u
#define HOLE_GPA	0x10000000ULL

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

/* Buffer IDs the test driver hands out, modulo this. */
#define MAX_IDS		1024

static uint8_t *ram0, *ram1, *big, *top;

struct drv {
	struct guest_mem mem;
	struct vring_packed vq;
	uint16_t num;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *drv_evt;	/* the driver writes */
	struct vring_packed_desc_event *dev_evt;	/* the device writes */
	uint16_t next_avail;	/* driver's next slot to fill */
	bool avail_wrap;	/* Driver Ring Wrap Counter */
	uint16_t next_used;	/* driver's next slot to poll for used */
	bool used_wrap;
	uint16_t next_id;
	uint16_t sgs[MAX_IDS];	/* descriptors per outstanding id */
	uint32_t outstanding;	/* descriptors the device holds */
	uint16_t head_idx;	/* last written list, not yet published */
	uint16_t head_flags;
	uint16_t last_used_flags;
	uint64_t free_gpa;	/* next free buffer byte in RAM0 */
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static void die(const char *what)
{
	ktap_diag("test setup failed: %s", what);
	exit(KSFT_FAIL);
}

static uint8_t *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void step(uint16_t num, uint16_t *idx, bool *wrap)
{
	if (++*idx == num) {
		*idx = 0;
		*wrap = !*wrap;
	}
}

static void drv_setup(struct drv *d, uint16_t num, uint32_t base,
		      bool event_idx, bool indirect)
{
	uint32_t used = base >> 16 ? base >> 16 : (base & 0xffff);
	unsigned int k;

	memset(d, 0, sizeof(*d));
	memset(ram0, 0, RAM0_SIZE);
	memset(ram1, 0, RAM1_SIZE);
	guest_mem_init(&d->mem);
	if (guest_mem_add_ptr(&d->mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, ram0) ||
	    guest_mem_add_ptr(&d->mem, RAM1_GPA, RAM1_SIZE, RAM1_UVA, ram1) ||
	    guest_mem_add_ptr(&d->mem, BIG_GPA, BIG_SIZE, BIG_UVA, big) ||
	    guest_mem_add_ptr(&d->mem, TOP_GPA, TOP_SIZE, TOP_UVA, top))
		die("guest_mem_add_ptr");

	d->num = num;
	d->desc = guest_mem_uva(&d->mem, RAM0_UVA + DESC_OFF,
				vring_packed_desc_size(num));
	d->drv_evt = guest_mem_uva(&d->mem, RAM0_UVA + DRV_EVT_OFF,
				   vring_packed_event_size());
	d->dev_evt = guest_mem_uva(&d->mem, RAM0_UVA + DEV_EVT_OFF,
				   vring_packed_event_size());
	if (!d->desc || !d->drv_evt || !d->dev_evt)
		die("ring translation");
	d->next_avail = base & 0x7fff;
	d->avail_wrap = base & 0x8000;
	d->next_used = used & 0x7fff;
	d->used_wrap = used & 0x8000;
	/* Leave the ring as the lap before the base would have: slots from
	 * the base on used in the previous lap, those before it in this one.
	 * From slot 0 in wrap 1 (a fresh ring) that is the zeroed ring.
	 */
	for (k = 0; k < num; k++) {
		bool lap = k >= d->next_avail ? !d->avail_wrap : d->avail_wrap;

		d->desc[k].flags = lap ? F_AVAIL | F_USED : 0;
	}
	d->free_gpa = RAM0_GPA + DATA_OFF;
	if (vring_packed_init(&d->vq, num, d->desc, d->drv_evt, d->dev_evt,
			      base, event_idx, indirect))
		die("vring_packed_init");
}

static void *hva(struct drv *d, uint64_t gpa)
{
	return guest_mem_gpa(&d->mem, gpa, 0);
}

/* Bump allocator for buffers and indirect tables in RAM0. */
static uint64_t drv_buf(struct drv *d, uint32_t len)
{
	uint64_t gpa = d->free_gpa;

	d->free_gpa = (gpa + len + 15) & ~15ULL;
	if (d->free_gpa > RAM0_GPA + RAM0_SIZE)
		die("out of guest memory");
	return gpa;
}

static struct seg out_seg(struct drv *d, uint32_t len)
{
	return (struct seg){ .gpa = drv_buf(d, len), .len = len };
}

static struct seg in_seg(struct drv *d, uint32_t len)
{
	return (struct seg){ .gpa = drv_buf(d, len), .len = len, .write = true };
}

/* Flags a driver gives a descriptor it makes available in lap @wrap. */
static uint16_t avail_flags(bool wrap)
{
	return wrap ? F_AVAIL : F_USED;
}

static void set_slot(struct drv *d, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t id, uint16_t flags)
{
	d->desc[i].addr = addr;
	d->desc[i].len = len;
	d->desc[i].id = id;
	d->desc[i].flags = flags;
}

/* Write @n segments as one list from the driver's next slot, as the spec's
 * driver does: Buffer ID in the last descriptor (the others get junk), every
 * descriptor flagged for its own lap, the head's flags held back until
 * drv_publish(). Returns the Buffer ID.
 */
static uint16_t drv_write(struct drv *d, const struct seg *s, unsigned int n)
{
	uint16_t id = d->next_id++ % MAX_IDS;
	unsigned int k;

	d->head_idx = d->next_avail;
	for (k = 0; k < n; k++) {
		uint16_t f = avail_flags(d->avail_wrap);

		if (s[k].write)
			f |= VRING_DESC_F_WRITE;
		if (k + 1 < n)
			f |= VRING_DESC_F_NEXT;
		set_slot(d, d->next_avail, s[k].gpa, s[k].len,
			 k + 1 < n ? 0xdead : id, k ? f : 0);
		if (!k)
			d->head_flags = f;
		step(d->num, &d->next_avail, &d->avail_wrap);
	}
	d->sgs[id] = n;
	d->outstanding += n;
	return id;
}

static void drv_publish(struct drv *d)
{
	__atomic_store_n(&d->desc[d->head_idx].flags, d->head_flags,
			 __ATOMIC_RELEASE);
}

static uint16_t drv_add(struct drv *d, const struct seg *s, unsigned int n)
{
	uint16_t id = drv_write(d, s, n);

	drv_publish(d);
	return id;
}

/* Indirect table of @n segments (only WRITE set in it); returns its gpa. */
static uint64_t drv_table(struct drv *d, const struct seg *s, unsigned int n)
{
	uint64_t gpa = drv_buf(d, n * PDESC);
	struct vring_packed_desc *t = hva(d, gpa);
	unsigned int k;

	for (k = 0; k < n; k++) {
		t[k].addr = s[k].gpa;
		t[k].len = s[k].len;
		t[k].id = 0xbeef;
		t[k].flags = s[k].write ? VRING_DESC_F_WRITE : 0;
	}
	return gpa;
}

/* One ring descriptor naming a table; published unless @hold. */
static uint16_t drv_indirect_ex(struct drv *d, const struct seg *s,
				unsigned int n, bool hold)
{
	struct seg t = { .gpa = drv_table(d, s, n), .len = n * PDESC };
	uint16_t id = drv_write(d, &t, 1);

	d->head_flags |= VRING_DESC_F_INDIRECT;
	if (!hold)
		drv_publish(d);
	return id;
}

static uint16_t drv_indirect(struct drv *d, const struct seg *s,
			     unsigned int n)
{
	return drv_indirect_ex(d, s, n, false);
}

/* Reap the next used descriptor, as the spec's driver does. */
static bool drv_used(struct drv *d, uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *x = &d->desc[d->next_used];
	uint16_t f = __atomic_load_n(&x->flags, __ATOMIC_ACQUIRE);
	unsigned int k, n;

	if (!!(f & F_USED) != d->used_wrap || !!(f & F_AVAIL) != d->used_wrap)
		return false;
	*id = x->id;
	*len = x->len;
	d->last_used_flags = f;
	n = d->sgs[*id % MAX_IDS];
	if (!n)
		die("used descriptor with an unknown id");
	d->sgs[*id % MAX_IDS] = 0;
	for (k = 0; k < n; k++)
		step(d->num, &d->next_used, &d->used_wrap);
	d->outstanding -= n;
	return true;
}

static int pop(struct drv *d, struct vq_chain *c, uint16_t *nd)
{
	return vring_packed_pop(&d->vq, &d->mem, c, nd);
}

/* What every malformed ring must get: -EIO, marked broken, nothing taken. */
static bool refused(struct drv *d)
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
	uint8_t *desc = ram0 + DESC_OFF;
	uint8_t *de = ram0 + DRV_EVT_OFF, *ve = ram0 + DEV_EVT_OFF;
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
	struct drv d;
	struct seg s[4];
	uint16_t id, id2, nd, uid;
	uint32_t ulen;
	int ok, k;

	drv_setup(&d, 8, BASE0, false, false);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN && !d.vq.broken &&
		   !vring_packed_has_avail(&d.vq),
		   "pop: zeroed ring is empty");

	s[0] = out_seg(&d, 100);
	id = drv_write(&d, s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN,
		   "pop: descriptor not visible before its flags");
	drv_publish(&d);
	KTAP_CHECK(vring_packed_has_avail(&d.vq), "has_avail: sees it");
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && nd == 1 &&
		   c.niov == 1 && c.nout == 1 && c.out_len == 100 &&
		   c.in_len == 0 && iov_is(&c, 0, hva(&d, s[0].gpa), 100),
		   "pop: single readable descriptor");
	KTAP_CHECK(d.vq.last_avail_idx == 1 && d.vq.inflight == 1 &&
		   pop(&d, &c, &nd) == -EAGAIN, "pop: consumed exactly one slot");

	s[0] = out_seg(&d, 10);
	s[1] = out_seg(&d, 20);
	s[2] = in_seg(&d, 30);
	s[3] = in_seg(&d, 40);
	id2 = drv_add(&d, s, 4);
	ok = pop(&d, &c, &nd) == 0 && c.head == id2 && nd == 4 &&
	     c.niov == 4 && c.nout == 2 && c.out_len == 30 && c.in_len == 70;
	for (k = 0; k < 4; k++)
		ok = ok && iov_is(&c, k, hva(&d, s[k].gpa), s[k].len);
	KTAP_CHECK(ok && d.vq.last_avail_idx == 5,
		   "pop: readable then writable list, ID from its last descriptor");

	vring_packed_push(&d.vq, id, 0, 1);
	vring_packed_push(&d.vq, id2, 55, 4);
	KTAP_CHECK(!drv_used(&d, &uid, &ulen) &&
		   (d.desc[1].flags & (F_AVAIL | F_USED)) == (F_AVAIL | F_USED),
		   "push: batch's first slot held back, later ones flagged");
	vring_packed_flush(&d.vq);
	KTAP_CHECK(drv_used(&d, &uid, &ulen) && uid == id &&
		   !(d.last_used_flags & VRING_DESC_F_WRITE) &&
		   drv_used(&d, &uid, &ulen) && uid == id2 && ulen == 55 &&
		   (d.last_used_flags & VRING_DESC_F_WRITE) &&
		   d.next_used == 5 && !drv_used(&d, &uid, &ulen),
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
	struct drv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA - 100, .len = 300, .write = true };
	drv_add(&d, s, 1);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 2 && c.nout == 0 &&
		   c.in_len == 300 &&
		   iov_is(&c, 0, ram0 + RAM0_SIZE - 100, 100) &&
		   iov_is(&c, 1, ram1, 200),
		   "pop: buffer across two regions becomes two iovs");
	for (k = 0; k < 300; k++)
		data[k] = k;
	KTAP_CHECK(vq_chain_write(&c, 0, data, 300) == 300 &&
		   !memcmp(ram0 + RAM0_SIZE - 100, data, 100) &&
		   !memcmp(ram1, data + 100, 200),
		   "chain_write: lands in both regions");

	/* Zero-length descriptors are legal and need no valid address. */
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 0 };
	s[1] = out_seg(&d, 8);
	s[2] = (struct seg){ .gpa = HOLE_GPA, .len = 0, .write = true };
	memcpy(hva(&d, s[1].gpa), "payload!", 8);
	drv_add(&d, s, 3);
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
	struct drv d;
	uint16_t id, nd;
	uint64_t tgpa;

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 16);
	s[1] = in_seg(&d, 32);
	s[2] = in_seg(&d, 64);
	id = drv_indirect(&d, s, 3);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && nd == 1 &&
		   c.niov == 3 && c.nout == 1 && c.out_len == 16 &&
		   c.in_len == 96 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 16) &&
		   iov_is(&c, 1, hva(&d, s[1].gpa), 32) &&
		   iov_is(&c, 2, hva(&d, s[2].gpa), 64),
		   "indirect: table walked, ID from the ring descriptor, one slot");

	s[0] = out_seg(&d, 12);
	id = drv_indirect_ex(&d, s, 1, true);
	d.head_flags |= VRING_DESC_F_WRITE;
	drv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == id && c.nout == 1 &&
		   c.out_len == 12,
		   "indirect: WRITE on the table descriptor ignored");

	/* Reserved flags in the table are the device's to ignore. */
	s[0] = out_seg(&d, 4);
	s[1] = in_seg(&d, 4);
	drv_indirect(&d, s, 2);
	t = hva(&d, d.desc[d.head_idx].addr);
	t[0].flags |= VRING_DESC_F_NEXT | F_AVAIL | F_USED;
	t[1].flags |= F_USED;
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 2 && c.nout == 1,
		   "indirect: NEXT/AVAIL/USED inside the table ignored");

	/* The table only needs to be in guest memory, not aligned. */
	s[0] = in_seg(&d, 4);
	tgpa = drv_buf(&d, 64) + 3;
	one = (struct vring_packed_desc){ .addr = s[0].gpa, .len = 4,
					  .flags = VRING_DESC_F_WRITE };
	memcpy(hva(&d, tgpa), &one, sizeof(one));
	s[1] = (struct seg){ .gpa = tgpa, .len = PDESC };
	drv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == 1 && c.in_len == 4 &&
		   iov_is(&c, 0, hva(&d, s[0].gpa), 4),
		   "indirect: unaligned table read safely");

	/* Indirect and direct lists mix in one ring. */
	s[0] = out_seg(&d, 6);
	s[1] = in_seg(&d, 7);
	drv_add(&d, s, 2);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && nd == 2 && c.out_len == 6 &&
		   c.in_len == 7 && d.vq.last_avail_idx == 6,
		   "indirect: direct list after indirect ones");
}

/* Laps of the ring with lists of 1..3 descriptors, so some straddle the end
 * and the wrap counters flip mid-list; everything comes back in order.
 */
static bool run_laps(struct drv *d, unsigned int laps)
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
				s[k] = k ? in_seg(d, 64) : out_seg(d, 32);
			ids[n++] = drv_add(d, s, want);
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
			ok = ok && drv_used(d, &uid, &ulen) && uid == ids[k] &&
			     ulen == 1000u + ids[k];
			done += nds[k];
		}
		ok = ok && !drv_used(d, &uid, &ulen) && !d->vq.broken;
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
	struct drv d;
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
	s = out_seg(&d, 9);
	drv_add(&d, &s, 1);
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
	s = out_seg(&d, 3);
	id = drv_add(&d, &s, 1);
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
	struct drv d;
	uint32_t ulen;
	int k;

	/* Lists of 1, 3 and 2 from slot 6: the second straddles the end. */
	drv_setup(&d, 8, 0x80068006, false, false);
	for (k = 0; k < 3; k++) {
		int n = k == 0 ? 1 : k == 1 ? 3 : 2, j;

		for (j = 0; j < n; j++)
			s[j] = out_seg(&d, 4);
		ids[k] = drv_add(&d, s, n);
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
		   drv_used(&d, &uid, &ulen) && uid == ids[0] &&
		   drv_used(&d, &uid, &ulen) && uid == ids[1] &&
		   drv_used(&d, &uid, &ulen) && uid == ids[2],
		   "unpop: completions after a give-back land in order");
	KTAP_CHECK(vring_packed_unpop(&d.vq, VRING_PACKED_UNPOP_MAX + 1) == -EINVAL,
		   "unpop: more than the history holds refused");
}

/* Offer @n lists of @len descriptors; take, complete and publish them, and
 * let the driver reap them.
 */
static void drv_complete(struct drv *d, unsigned int n, unsigned int len)
{
	struct vq_chain c;
	struct seg s[4];
	uint16_t nd, uid;
	uint32_t ulen;
	unsigned int k, j;

	for (k = 0; k < n; k++) {
		for (j = 0; j < len; j++)
			s[j] = out_seg(d, 1);
		drv_add(d, s, len);
		if (pop(d, &c, &nd))
			die("pop in drv_complete");
		vring_packed_push(&d->vq, c.head, 0, nd);
	}
	vring_packed_flush(&d->vq);
	for (k = 0; k < n; k++)
		if (!drv_used(d, &uid, &ulen))
			die("reap in drv_complete");
}

static void drv_event(struct drv *d, uint16_t off, bool wrap, uint16_t flags)
{
	d->drv_evt->off_wrap = off | (wrap ? EVT_WRAP : 0);
	d->drv_evt->flags = flags;
}

static void test_driver_events(void)
{
	struct drv d;

	drv_setup(&d, 8, BASE0, true, false);
	drv_event(&d, 3, true, VRING_PACKED_EVENT_FLAG_DESC);
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
	drv_event(&d, 6, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 3);			/* slots 5-7, used at 5 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: named slot skipped inside a list still notifies");
	drv_event(&d, 1, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);			/* slot 0, wrap 0 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: next lap, before the slot");
	drv_complete(&d, 1, 1);			/* slot 1, wrap 0 */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: next lap, at the slot");
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: nothing new published, no notification");
	drv_event(&d, 5, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);			/* slot 2, wrap 0 */
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event desc: slot of the previous lap is stale");
	drv_event(&d, 5, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 8, 1);			/* a whole ring */
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: a ring's worth at once notifies");
	drv_event(&d, 0x7000, false, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event desc: offset outside the ring notifies");
	drv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_DISABLE);
	drv_complete(&d, 2, 1);
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event flags: DISABLE suppresses");
	drv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_ENABLE);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq) &&
		   !vring_packed_should_notify(&d.vq),
		   "event flags: ENABLE notifies for each publication");
	drv_event(&d, 0, false, 3);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event flags: reserved value notifies");

	drv_setup(&d, 8, BASE0, false, false);
	drv_event(&d, 0, false, VRING_PACKED_EVENT_FLAG_DISABLE);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(!vring_packed_should_notify(&d.vq),
		   "event flags: DISABLE holds even for the first");
	drv_event(&d, 7, true, VRING_PACKED_EVENT_FLAG_DESC);
	drv_complete(&d, 1, 1);
	KTAP_CHECK(vring_packed_should_notify(&d.vq),
		   "event flags: DESC without event idx acts as ENABLE");
}

static void test_device_events(void)
{
	struct vq_chain c;
	uint16_t nd, uid;
	struct drv d;
	struct seg s;
	uint32_t ulen;

	drv_setup(&d, 8, BASE0, true, false);
	drv_complete(&d, 3, 2);			/* avail now slot 6 */
	d.dev_evt->flags = 0xffff;
	KTAP_CHECK(!vring_packed_notify_enable(&d.vq) &&
		   d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_DESC &&
		   d.dev_evt->off_wrap == (6 | EVT_WRAP),
		   "notify_enable: event idx asks for the next slot");
	s = out_seg(&d, 1);
	drv_add(&d, &s, 1);
	KTAP_CHECK(vring_packed_notify_enable(&d.vq),
		   "notify_enable: reports a list added meanwhile");
	vring_packed_notify_disable(&d.vq);
	KTAP_CHECK(d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_DISABLE,
		   "notify_disable: DISABLE");
	if (pop(&d, &c, &nd))
		die("pop in test_device_events");
	vring_packed_push(&d.vq, c.head, 0, nd);
	vring_packed_flush(&d.vq);
	drv_used(&d, &uid, &ulen);
	drv_complete(&d, 1, 2);			/* avail slot 1, wrap 0 */
	vring_packed_notify_enable(&d.vq);
	KTAP_CHECK(d.dev_evt->off_wrap == 1,
		   "notify_enable: wrap bit follows the avail wrap counter");

	drv_setup(&d, 8, BASE0, false, false);
	vring_packed_notify_disable(&d.vq);
	KTAP_CHECK(!vring_packed_notify_enable(&d.vq) &&
		   d.dev_evt->flags == VRING_PACKED_EVENT_FLAG_ENABLE,
		   "notify_enable: ENABLE without event idx");
	set_slot(&d, 0, 0, 0, 0, F_AVAIL | F_USED);
	KTAP_CHECK(vring_packed_notify_enable(&d.vq) && refused(&d),
		   "notify_enable: a malformed slot is reported, pop refuses it");
}

/* Chains the ring walk must refuse; each would pop fine without its check. */
static void test_hostile_flags(void)
{
	struct vq_chain c;
	struct seg s[3];
	struct drv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	set_slot(&d, 0, drv_buf(&d, 8), 8, 1, F_USED);
	KTAP_CHECK(pop(&d, &c, &nd) == -EAGAIN && !d.vq.broken,
		   "flags: AVAIL != wrap is not available (tail of an old lap)");
	set_slot(&d, 0, drv_buf(&d, 8), 8, 1, F_AVAIL | F_USED);
	KTAP_CHECK(refused(&d), "hostile: head flagged used in this lap");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = out_seg(&d, 8);
	s[1] = out_seg(&d, 8);
	drv_write(&d, s, 2);
	d.desc[1].flags = 0;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: list tail never made available");

	drv_setup(&d, 8, BASE0, false, false);
	drv_write(&d, s, 2);
	d.desc[1].flags |= F_USED;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: list tail flagged used");

	/* Lists across the end must flip the counter for the slots after. */
	drv_setup(&d, 8, 0x80078007, false, false);
	s[0] = out_seg(&d, 8);
	s[1] = out_seg(&d, 8);
	drv_write(&d, s, 2);
	d.desc[0].flags = avail_flags(true) | (d.desc[0].flags & ~(F_AVAIL | F_USED));
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: tail past the end keeps the old counter");

	drv_setup(&d, 8, BASE0, false, false);
	for (k = 0; k < 8; k++)
		set_slot(&d, k, drv_buf(&d, 1), 1, k,
			 avail_flags(true) | (k < 7 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && nd == 8 && c.head == 7 &&
		   c.niov == 8 && d.vq.last_avail_idx == 0 && !d.vq.avail_wrap,
		   "hostile: list of exactly num descriptors accepted");
	drv_setup(&d, 8, BASE0, false, false);
	for (k = 0; k < 8; k++)
		set_slot(&d, k, 0, 0, k, avail_flags(true) | VRING_DESC_F_NEXT);
	KTAP_CHECK(refused(&d), "hostile: NEXT on every descriptor of the ring");

	/* Slots we still hold re-flagged for the next lap: a list (or a
	 * head) reaching into them is refused by count, not by flags.
	 */
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = out_seg(&d, 8);
	drv_add(&d, s, 1);
	drv_add(&d, s, 1);
	pop(&d, &c, &nd);
	pop(&d, &c, &nd);
	for (k = 2; k < 10; k++)
		set_slot(&d, k % 8, 0, 0, k, avail_flags(k < 8) |
			 (k < 9 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: list runs into slots still in flight");

	drv_setup(&d, 2, BASE0, false, false);
	drv_add(&d, s, 1);
	drv_add(&d, s, 1);
	pop(&d, &c, &nd);
	pop(&d, &c, &nd);
	set_slot(&d, 0, s[0].gpa, 8, 5, avail_flags(false));
	KTAP_CHECK(refused(&d), "hostile: head re-posted while every slot is in flight");

	/* Restored with 3 slots lost in flight: room for 5, not 6. */
	drv_setup(&d, 8, 0x80028005, false, false);
	for (k = 0; k < 6; k++)
		set_slot(&d, (5 + k) % 8, 0, 0, k,
			 avail_flags(5 + k < 8) | (k < 5 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: list over the room left by a restored base");
}

static void test_hostile_buffers(void)
{
	struct vq_chain c;
	struct seg s[2];
	struct drv d;
	uint16_t nd;
	int k;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = in_seg(&d, 8);
	s[1] = out_seg(&d, 8);
	drv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after writable");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .len = 0, .write = true };
	s[1] = out_seg(&d, 8);
	drv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after zero-length writable");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 8 };
	drv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: address outside guest memory");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = RAM1_GPA + RAM1_SIZE - 4, .len = 8 };
	drv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: buffer running off guest memory");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = TOP_GPA + TOP_SIZE - 8, .len = 16 };
	drv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: buffer past the top guest region");

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = UINT64_MAX - 3, .len = 8 };
	drv_add(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: address + len overflows 64 bits");

	drv_setup(&d, 128, BASE0, false, false);
	for (k = 0; k < VQ_CHAIN_MAX_IOV; k++)
		set_slot(&d, k, drv_buf(&d, 1), 1, k, avail_flags(true) |
			 (k < VQ_CHAIN_MAX_IOV - 1 ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.niov == VQ_CHAIN_MAX_IOV,
		   "hostile: VQ_CHAIN_MAX_IOV descriptors accepted");
	drv_setup(&d, 128, BASE0, false, false);
	for (k = 0; k <= VQ_CHAIN_MAX_IOV; k++)
		set_slot(&d, k, drv_buf(&d, 1), 1, k, avail_flags(true) |
			 (k < VQ_CHAIN_MAX_IOV ? VRING_DESC_F_NEXT : 0));
	KTAP_CHECK(refused(&d), "hostile: more than VQ_CHAIN_MAX_IOV iovs");

	/* Length cap (16 MiB in total): both descriptors may alias BIG. */
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 8u << 20, .write = true };
	drv_add(&d, s, 2);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.out_len + c.in_len == 16u << 20,
		   "hostile: 16 MiB list accepted");
	drv_setup(&d, 8, BASE0, false, false);
	s[0] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20 };
	s[1] = (struct seg){ .gpa = BIG_GPA, .len = 9u << 20, .write = true };
	drv_add(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: list over 16 MiB");
}

static void test_hostile_indirect(void)
{
	struct vring_packed_desc *t;
	struct vq_chain c;
	struct seg s[2];
	struct drv d;
	uint64_t tgpa;
	uint16_t nd;

	drv_setup(&d, 8, BASE0, false, false);
	s[0] = out_seg(&d, 8);
	drv_indirect(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: indirect not negotiated");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 8);
	drv_indirect(&d, s, 1);
	t = hva(&d, d.desc[0].addr);
	t[0].flags = VRING_DESC_F_INDIRECT;
	t[0].addr = drv_table(&d, s, 1);
	t[0].len = PDESC;
	KTAP_CHECK(refused(&d), "hostile: indirect inside indirect");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 8);
	drv_indirect_ex(&d, s, 1, true);
	d.head_flags |= VRING_DESC_F_NEXT;
	set_slot(&d, 1, s[0].gpa, 8, 0, avail_flags(true));
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect with NEXT");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 8);
	s[1] = (struct seg){ .gpa = drv_table(&d, s, 1), .len = PDESC };
	drv_write(&d, s, 2);
	d.desc[1].flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect after direct descriptors");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 8);
	s[1] = out_seg(&d, 8);
	drv_indirect_ex(&d, s, 2, true);
	d.desc[0].len = 24;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect len not a multiple of 16");

	drv_setup(&d, 8, BASE0, false, true);
	drv_indirect_ex(&d, s, 1, true);
	d.desc[0].len = 0;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect len 0");

	/* The largest table allowed, then one entry more. */
	drv_setup(&d, 8, BASE0, false, true);
	s[0] = out_seg(&d, 8);
	tgpa = drv_buf(&d, (VQ_MAX_SIZE + 1) * PDESC);
	t = hva(&d, tgpa);
	t[0] = (struct vring_packed_desc){ .addr = s[0].gpa, .len = 8 };
	s[1] = (struct seg){ .gpa = tgpa, .len = VQ_MAX_SIZE * PDESC };
	drv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.out_len == 8,
		   "hostile: indirect table of VQ_MAX_SIZE entries accepted");
	s[1].len += PDESC;
	drv_write(&d, &s[1], 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table over VQ_MAX_SIZE entries");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 2 * PDESC };
	drv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table outside guest memory");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = RAM1_GPA - PDESC, .len = 2 * PDESC };
	drv_write(&d, s, 1);
	d.head_flags |= VRING_DESC_F_INDIRECT;
	drv_publish(&d);
	KTAP_CHECK(refused(&d), "hostile: indirect table across regions");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = in_seg(&d, 8);
	s[1] = out_seg(&d, 8);
	drv_indirect(&d, s, 2);
	KTAP_CHECK(refused(&d), "hostile: readable after writable in a table");

	drv_setup(&d, 8, BASE0, false, true);
	s[0] = (struct seg){ .gpa = HOLE_GPA, .len = 8, .write = true };
	drv_indirect(&d, s, 1);
	KTAP_CHECK(refused(&d), "hostile: table entry outside guest memory");
}

static void test_misuse_and_broken(void)
{
	uint16_t id, nd, uid;
	struct vq_chain c;
	struct drv d;
	struct seg s;
	uint32_t ulen;
	int k;

	/* A driver re-posting the slot whose used flags a batch still holds
	 * back: the batch is published first, nothing is corrupted for us.
	 */
	drv_setup(&d, 4, BASE0, false, false);
	s = out_seg(&d, 1);
	for (k = 0; k < 4; k++) {
		drv_add(&d, &s, 1);
		pop(&d, &c, &nd);
		vring_packed_push(&d.vq, c.head, 0, nd);
	}
	set_slot(&d, 0, s.gpa, 1, 77, avail_flags(false));
	KTAP_CHECK(pop(&d, &c, &nd) == 0 && c.head == 77 &&
		   (vring_packed_push(&d.vq, 77, 0, 1), !d.vq.broken) &&
		   d.vq.batch_ndesc == 1 && d.vq.batch_idx == 0,
		   "batch: re-posted held-back slot flushes the batch first");

	drv_setup(&d, 8, BASE0, false, false);
	vring_packed_push(&d.vq, 0, 0, 1);
	KTAP_CHECK(d.vq.broken && d.desc[0].flags == 0,
		   "push: without a pending list breaks the ring, writes nothing");
	drv_setup(&d, 8, BASE0, false, false);
	id = drv_add(&d, &s, 1);
	pop(&d, &c, &nd);
	vring_packed_push(&d.vq, id, 0, 2);
	KTAP_CHECK(d.vq.broken, "push: more descriptors than in flight breaks the ring");

	drv_setup(&d, 8, BASE0, true, false);
	id = drv_add(&d, &s, 1);
	pop(&d, &c, &nd);
	set_slot(&d, 1, 0, 0, 0, F_AVAIL | F_USED);
	KTAP_CHECK(refused(&d), "broken: bad slot breaks the ring");
	set_slot(&d, 1, s.gpa, 1, 3, avail_flags(true));
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
		   (d.next_used = 1, d.sgs[3] = 1, drv_used(&d, &uid, &ulen)) &&
		   uid == 3,
		   "broken: re-initialising clears it");
}

int main(void)
{
	ram0 = map_anon(RAM0_SIZE);
	ram1 = map_anon(RAM1_SIZE);
	big = map_anon(BIG_SIZE);
	top = map_anon(TOP_SIZE);
	/* A walk that fails to stop hangs: make that a failure. */
	alarm(60);

	ktap_plan(106);
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
	return ktap_finish();
}
