// SPDX-License-Identifier: GPL-2.0
/* Device side of a virtio packed virtqueue: pops guest descriptor chains
 * with every guest-supplied value checked, and writes used descriptors.
 */
#include <errno.h>
#include <string.h>

#include "vhost/dirty_log.h"
#include "vring_packed.h"
#include "util/compiler.h"

#define PDESC_SIZE	sizeof(struct vring_packed_desc)
/* virtio_ring.h gives bit numbers for these, not masks. */
#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define EVT_WRAP	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)
#define EVT_OFF_MASK	(EVT_WRAP - 1)
#define EVT_FLAGS_MASK	0x3u

/* Guest memory may change under us at any time: these make each shared
 * field a single load or store the compiler can neither repeat nor tear.
 */
#define barrier()		__asm__ __volatile__("" ::: "memory")
#define unlikely(x)		__builtin_expect(!!(x), 0)

/* An event suppression area is accessed as one 32-bit word, so the driver
 * never sees our flags with a stale offset, and we take its pair as one
 * snapshot. off_wrap is the low half in little-endian memory.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "event word layout assumes a little-endian host");
typedef uint32_t __attribute__((may_alias)) evt_word_t;

static uint32_t evt_load(const struct vring_packed_desc_event *e)
{
	return __atomic_load_n((const evt_word_t *)e, __ATOMIC_RELAXED);
}

static void evt_store(struct vring_packed_desc_event *e, uint16_t off_wrap,
		      uint16_t flags)
{
	__atomic_store_n((evt_word_t *)e, off_wrap | (uint32_t)flags << 16,
			 __ATOMIC_RELAXED);
}

void vring_packed_set_log(struct vring_packed *vq, struct dirty_log *log,
			  bool log_ring, uint64_t desc_gpa, uint64_t event_gpa)
{
	vq->log = log;
	vq->log_ring = log && log_ring;
	vq->log_desc_gpa = desc_gpa;
	vq->log_event_gpa = event_gpa;
}

/* Only called with vq->log set: we wrote descriptor slot @idx. */
static void log_desc(struct vring_packed *vq, uint16_t idx)
{
	if (vq->log_ring)
		dirty_log_mark(vq->log, vq->log_desc_gpa + (uint64_t)idx * PDESC_SIZE,
			       PDESC_SIZE);
}

/* Only called with vq->log set: we wrote the device event area. */
static void log_event(struct vring_packed *vq)
{
	if (vq->log_ring)
		dirty_log_mark(vq->log, vq->log_event_gpa,
			       sizeof(struct vring_packed_desc_event));
}

size_t vring_packed_desc_size(uint16_t num)
{
	return PDESC_SIZE * num;
}

size_t vring_packed_event_size(void)
{
	return sizeof(struct vring_packed_desc_event);
}

/* Move a ring position @n descriptors on (n <= num), flipping its wrap
 * counter when it passes the end.
 */
static void ring_advance(uint16_t num, uint16_t *idx, bool *wrap, uint32_t n)
{
	uint32_t i = *idx + n;

	if (i >= num) {
		i -= num;
		*wrap = !*wrap;
	}
	*idx = i;
}

int vring_packed_init(struct vring_packed *vq, uint16_t num, void *desc,
		      void *driver_event, void *device_event, uint32_t base,
		      bool event_idx, bool indirect)
{
	uint16_t avail_idx = base & VRING_PACKED_BASE_IDX_MASK;
	bool avail_wrap = base & VRING_PACKED_BASE_WRAP;
	uint32_t used = base >> VRING_PACKED_BASE_USED_SHIFT;
	uint16_t used_idx = avail_idx;
	bool used_wrap = avail_wrap;
	int32_t lag;

	/* Alignments from the spec's packed ring layout table; our typed
	 * accesses rely on them.
	 */
	if (!num || num > VQ_MAX_SIZE)
		return -EINVAL;
	if (!desc || !driver_event || !device_event ||
	    ((uintptr_t)desc & 15) || ((uintptr_t)driver_event & 3) ||
	    ((uintptr_t)device_event & 3))
		return -EINVAL;
	if (avail_idx >= num)
		return -EINVAL;
	/* A zero upper half is a frontend that only knows the avail half. */
	if (used) {
		used_idx = used & VRING_PACKED_BASE_IDX_MASK;
		used_wrap = used & VRING_PACKED_BASE_WRAP;
		if (used_idx >= num)
			return -EINVAL;
	}
	/* Descriptors the previous backend took and never completed: they
	 * stay lost, but used descriptors must still go where the driver
	 * looks for them, and it cannot have lent out more than a ring.
	 */
	lag = (int32_t)avail_idx - used_idx;
	if (avail_wrap != used_wrap)
		lag += num;
	if (lag < 0 || lag > num)
		return -EINVAL;

	/* the rest (signalled_valid, log state, ...) starts zeroed */
	*vq = (struct vring_packed){
		.num = num, .event_idx = event_idx, .indirect = indirect,
		.desc = desc, .driver_event = driver_event, .device_event = device_event,
		.last_avail_idx = avail_idx, .avail_wrap = avail_wrap,
		.used_idx = used_idx, .used_wrap = used_wrap, .inflight = lag,
		.pub_idx = used_idx, .pub_wrap = used_wrap,
	};
	return 0;
}

uint32_t vring_packed_base(const struct vring_packed *vq)
{
	uint32_t avail = vq->last_avail_idx |
			 (vq->avail_wrap ? VRING_PACKED_BASE_WRAP : 0);
	uint32_t used = vq->used_idx |
			(vq->used_wrap ? VRING_PACKED_BASE_WRAP : 0);

	return avail | used << VRING_PACKED_BASE_USED_SHIFT;
}

enum desc_state {
	DESC_EMPTY,	/* the driver has not reached this slot this lap */
	DESC_AVAIL,
	DESC_BAD,	/* claims to be used this lap: only we write that */
};

/* Classify a slot's flags against the wrap counter expected there. The
 * driver marks available with AVAIL = its counter and USED = the inverse;
 * we mark used with both = ours. Leftovers of earlier laps (a used slot, or
 * the tail of a chain we completed through its first slot) have AVAIL != the
 * counter. AVAIL == USED == counter at or past last_avail_idx is a slot we
 * cannot have written, since used slots never get ahead of popped ones. (A
 * zeroed slot in a wrap-0 lap looks the same, but a driver starts a zeroed
 * ring at slot 0 in wrap 1 and has written every slot before wrap 0.)
 */
static enum desc_state desc_state(uint16_t flags, bool wrap)
{
	bool avail = flags & F_AVAIL;
	bool used = flags & F_USED;

	if (avail != wrap)
		return DESC_EMPTY;
	return used != wrap ? DESC_AVAIL : DESC_BAD;
}

/* Snapshot one ring descriptor; every check and use goes through the copy.
 * Flags first with acquire: it pairs with the driver's barrier before it
 * flags the head, so the rest of the chain it wrote is visible after it.
 */
static void read_desc(const struct vring_packed_desc *slot,
		      struct vring_packed_desc *d)
{
	uint16_t flags = __atomic_load_n(&slot->flags, __ATOMIC_ACQUIRE);

	memcpy(d, slot, PDESC_SIZE);
	d->flags = flags;
	barrier();
}

static void chain_reset(struct vq_chain *c)
{
	c->head = 0;
	c->niov = 0;
	c->nout = 0;
	c->nempty = 0;
	c->out_len = 0;
	c->in_len = 0;
}

/* Readable buffers come first, zero-length ones included. */
static int chain_add_desc(struct vq_chain *c, const struct guest_mem *mem,
			  const struct vring_packed_desc *d, bool *seen_write)
{
	bool write = d->flags & VRING_DESC_F_WRITE;

	if (write)
		*seen_write = true;
	else if (*seen_write)
		return -EIO;
	return vq_chain_add(c, mem, d->addr, d->len, write);
}

/* An indirect table is a plain array: every entry is used, in order, and
 * only WRITE means anything in it. The spec has the device ignore the other
 * flags, but an INDIRECT there asks for nesting, which would otherwise be
 * read as data: refuse it. A table longer than the ring is refused too (no
 * chain may be longer than the queue), and the walk stops at the chain's
 * VQ_CHAIN_MAX_IOV places; *@reads counts the entries read.
 */
static int walk_indirect(const struct vring_packed *vq,
			 const struct guest_mem *mem,
			 const struct vring_packed_desc *d, struct vq_chain *c,
			 uint32_t *reads)
{
	bool seen_write = false;
	struct vring_packed_desc e;
	const uint8_t *table;
	uint32_t n, k;
	int err = 0;

	if (!d->len || d->len % PDESC_SIZE || d->len / PDESC_SIZE > vq->num)
		return -EIO;
	table = guest_mem_gpa(mem, d->addr, d->len);
	if (!table)
		return -EIO;
	n = d->len / PDESC_SIZE;
	for (k = 0; k < n; k++) {
		/* memcpy: the table need not be aligned. */
		memcpy(&e, table + (size_t)k * PDESC_SIZE, PDESC_SIZE);
		barrier();
		err = -EIO;
		if (e.flags & VRING_DESC_F_INDIRECT)
			break;
		err = chain_add_desc(c, mem, &e, &seen_write);
		if (err)
			break;
	}
	*reads = k < n ? k + 1 : n;
	return err;
}

int vring_packed_pop(struct vring_packed *vq, const struct guest_mem *mem,
		     struct vq_chain *c, uint16_t *ndesc)
{
	uint16_t idx = vq->last_avail_idx;
	bool wrap = vq->avail_wrap;
	/* A chain may only use slots we are not still holding; this also
	 * bounds it by num, so it cannot run round the ring.
	 */
	uint32_t room = vq->num - vq->inflight;
	struct vring_packed_desc d;
	bool seen_write = false;
	uint32_t count = 0, ind_reads = 0;

	if (vq->broken)
		return -EIO;

	read_desc(&vq->desc[idx], &d);
	switch (desc_state(d.flags, wrap)) {
	case DESC_EMPTY:
		vq->desc_reads++;
		return -EAGAIN;
	case DESC_BAD:
		goto broken;
	case DESC_AVAIL:
		break;
	}

	chain_reset(c);
	c->log = vq->log;
	for (;;) {
		if (++count > room)
			goto broken;

		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* A list holding an indirect descriptor is that
			 * descriptor alone: no NEXT, nothing before it.
			 */
			if (!vq->indirect || count > 1 ||
			    (d.flags & VRING_DESC_F_NEXT))
				goto broken;
			if (walk_indirect(vq, mem, &d, c, &ind_reads))
				goto broken;
			break;
		}
		if (chain_add_desc(c, mem, &d, &seen_write))
			goto broken;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;

		/* The spec has the driver flag every descriptor of a list,
		 * with the wrap counter of its own slot, before the head;
		 * one that is not available is a list never published.
		 */
		ring_advance(vq->num, &idx, &wrap, 1);
		read_desc(&vq->desc[idx], &d);
		if (desc_state(d.flags, wrap) != DESC_AVAIL) {
			count++;
			goto broken;
		}
	}
	vq->desc_reads += count + ind_reads;

	/* The Buffer ID is the last descriptor's (the only one, for an
	 * indirect list).
	 */
	c->head = d.id;
	*ndesc = count;
	vq->hist[vq->hist_top++ % VRING_PACKED_UNPOP_MAX] = count;
	vq->pending++;
	vq->inflight += count;
	ring_advance(vq->num, &vq->last_avail_idx, &vq->avail_wrap, count);
	return 0;

broken:
	/* What the walk read, the one that broke it included. */
	vq->desc_reads += (count ? count : 1) + ind_reads;
	vq->broken = true;
	return -EIO;
}

int vring_packed_unpop(struct vring_packed *vq, uint16_t n)
{
	uint32_t total = 0, k;

	if (n > vq->pending || n > VRING_PACKED_UNPOP_MAX)
		return -EINVAL;
	for (k = 1; k <= n; k++)
		total += vq->hist[(uint16_t)(vq->hist_top - k) %
				  VRING_PACKED_UNPOP_MAX];
	vq->hist_top -= n;
	vq->pending -= n;
	vq->inflight -= total;
	/* total <= inflight <= num, so this steps back at most one lap. */
	if (total > vq->last_avail_idx) {
		vq->last_avail_idx += vq->num - total;
		vq->avail_wrap = !vq->avail_wrap;
	} else {
		vq->last_avail_idx -= total;
	}
	return 0;
}

bool vring_packed_has_avail(const struct vring_packed *vq)
{
	uint16_t flags;

	if (vq->broken)
		return false;
	flags = __atomic_load_n(&vq->desc[vq->last_avail_idx].flags,
				__ATOMIC_ACQUIRE);
	return desc_state(flags, vq->avail_wrap) != DESC_EMPTY;
}

/* Descriptors a prefetch looks at: a relay batch. */
#define PREFETCH_MAX 64

void vring_packed_prefetch(struct vring_packed *vq,
			   const struct guest_mem *mem, unsigned int n, bool write)
{
	uint16_t idx = vq->last_avail_idx;
	bool wrap = vq->avail_wrap;
	unsigned int i;

	if (vq->broken)
		return;
	if (n > PREFETCH_MAX)
		n = PREFETCH_MAX;
	/* Hints only: pop() checks everything again. */
	for (i = 0; i < n; i++) {
		struct vring_packed_desc d;

		read_desc(&vq->desc[idx], &d);
		vq->desc_reads++;
		if (desc_state(d.flags, wrap) != DESC_AVAIL)
			break;
		ring_advance(vq->num, &idx, &wrap, 1);
		if (!(d.flags & VRING_DESC_F_INDIRECT))
			guest_mem_prefetch(mem, d.addr, write);
	}
}

void vring_packed_push(struct vring_packed *vq, uint16_t id, uint32_t len,
		       uint16_t ndesc)
{
	struct vring_packed_desc *d;
	uint16_t flags;

	if (vq->broken)
		return;
	/* Our caller's bug, not the guest's; still, never let the used
	 * position overtake the chains it has not finished reading.
	 */
	if (!vq->pending || !ndesc || ndesc > vq->inflight) {
		vq->broken = true;
		return;
	}
	/* Only a driver re-posting slots it has not seen used gets here:
	 * this chain covers the slot whose flags the open batch holds back.
	 */
	if (vq->batch_open && vq->batch_ndesc + ndesc > vq->num)
		vring_packed_flush(vq);

	d = &vq->desc[vq->used_idx];
	flags = vq->used_wrap ? F_AVAIL | F_USED : 0;
	/* WRITE tells the driver len is meaningful. */
	if (len)
		flags |= VRING_DESC_F_WRITE;
	WRITE_ONCE(d->id, id);
	WRITE_ONCE(d->len, len);
	if (!vq->batch_open) {
		vq->batch_open = true;
		vq->batch_idx = vq->used_idx;
		vq->batch_flags = flags;
	} else {
		/* The driver polls only the batch's first slot, which
		 * flush() flags last; release keeps id/len before flags for
		 * anyone who looks here anyway.
		 */
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	}
	if (unlikely(vq->log))
		log_desc(vq, vq->used_idx);
	vq->batch_ndesc += ndesc;
	vq->inflight -= ndesc;
	vq->pending--;
	ring_advance(vq->num, &vq->used_idx, &vq->used_wrap, ndesc);
}

void vring_packed_flush(struct vring_packed *vq)
{
	if (vq->broken || !vq->batch_open)
		return;
	/* Release: every id, len and flag written for the batch is visible
	 * before the driver sees its first descriptor used.
	 */
	__atomic_store_n(&vq->desc[vq->batch_idx].flags, vq->batch_flags,
			 __ATOMIC_RELEASE);
	if (unlikely(vq->log))
		log_desc(vq, vq->batch_idx);
	vq->batch_open = false;
	vq->pub_idx = vq->used_idx;
	vq->pub_wrap = vq->used_wrap;
	/* More than a ring since the last check notifies anyway. */
	vq->unsignalled += vq->batch_ndesc;
	if (vq->unsignalled > vq->num)
		vq->unsignalled = vq->num;
	vq->batch_ndesc = 0;
}

bool vring_packed_should_notify(struct vring_packed *vq)
{
	uint32_t n = vq->unsignalled;
	bool valid = vq->signalled_valid;
	uint16_t flags, off;
	uint32_t evt;
	bool wrap;
	int32_t back;

	if (vq->broken)
		return false;
	vq->unsignalled = 0;
	vq->signalled_valid = true;

	/* Order our flag stores before reading the driver's suppression
	 * state; otherwise we can miss an interrupt it just asked for.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	evt = evt_load(vq->driver_event);
	flags = (evt >> 16) & EVT_FLAGS_MASK;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	/* After (re)start we do not know what the driver last saw. */
	if (!valid)
		return true;
	if (!n)
		return false;
	/* DESC is only valid with event idx; the reserved value 3 and DESC
	 * without event idx get the safe answer.
	 */
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;
	if (n >= vq->num)
		return true;

	/* Notify when the slot the driver named is among the n published
	 * since the last check: [pub - n, pub). Its wrap bit says whether it
	 * is in the lap pub_idx is in or the one before; chains make us skip
	 * slots, so a range test, not equality.
	 */
	off = evt & EVT_OFF_MASK;
	wrap = evt & EVT_WRAP;
	if (off >= vq->num)
		return true;
	back = (int32_t)vq->pub_idx - off;
	if (wrap != vq->pub_wrap)
		back += vq->num;
	return back >= 1 && (uint32_t)back <= n;
}

bool vring_packed_notify_enable(struct vring_packed *vq)
{
	uint16_t off_wrap;

	if (vq->broken)
		return false;
	/* With event idx, ask for a kick only when the very slot we wait on
	 * is made available; else for any.
	 */
	off_wrap = vq->last_avail_idx | (vq->avail_wrap ? EVT_WRAP : 0);
	evt_store(vq->device_event, off_wrap,
		  vq->event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
				  VRING_PACKED_EVENT_FLAG_ENABLE);
	if (unlikely(vq->log))
		log_event(vq);
	/* Publish the request before re-checking the ring, so a chain added
	 * meanwhile is either seen here or kicked by the driver.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vring_packed_has_avail(vq);
}

void vring_packed_notify_disable(struct vring_packed *vq)
{
	if (vq->broken)
		return;
	evt_store(vq->device_event,
		  vq->last_avail_idx | (vq->avail_wrap ? EVT_WRAP : 0),
		  VRING_PACKED_EVENT_FLAG_DISABLE);
	if (unlikely(vq->log))
		log_event(vq);
}
