// SPDX-License-Identifier: GPL-2.0
/* Device side of a virtio 1.x split virtqueue: pops guest descriptor chains
 * with every guest-supplied value checked, and publishes used buffers.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vhost/dirty_log.h"
#include "vring_split.h"
#include "util/compiler.h"

/* Cap on the bytes one chain may describe (readable + writable). Far above
 * any frame (64 KiB plus headers) yet keeps the uint32_t sums in vq_chain
 * nowhere near overflow however many descriptors a guest strings together.
 */
#define VQ_CHAIN_MAX_LEN (1u << 24)

#define DESC_SIZE sizeof(struct vring_desc)

/* Guest memory may change under us at any time: these make each shared
 * field a single load or store the compiler can neither repeat nor tear.
 */
#define barrier()		__asm__ __volatile__("" ::: "memory")
#define unlikely(x)		__builtin_expect(!!(x), 0)

size_t vring_split_desc_size(uint16_t num)
{
	return DESC_SIZE * num;
}

size_t vring_split_avail_size(uint16_t num)
{
	return sizeof(struct vring_avail) + sizeof(uint16_t) * ((size_t)num + 1);
}

size_t vring_split_used_size(uint16_t num)
{
	return sizeof(struct vring_used) +
	       sizeof(struct vring_used_elem) * num + sizeof(uint16_t);
}

int vring_split_init(struct vring_split *vq, uint16_t num, void *desc,
		     void *avail, void *used, uint16_t base, bool event_idx,
		     bool indirect)
{
	/* Alignments from virtio 1.x 2.7; the ring addresses come from the
	 * guest and our typed accesses rely on them.
	 */
	if (!num || (num & (num - 1)) || num > VQ_MAX_SIZE)
		return -EINVAL;
	if (!desc || !avail || !used || ((uintptr_t)desc & 15) ||
	    ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return -EINVAL;

	/* the rest (signalled_valid, log state, ...) starts zeroed */
	*vq = (struct vring_split){
		.num = num, .event_idx = event_idx, .indirect = indirect,
		.desc = desc, .avail = avail, .used = used,
		.last_avail_idx = base, .avail_shadow = base,
		.used_idx = base, .signalled_used = base,
	};
	return 0;
}

static uint16_t *avail_event(const struct vring_split *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

void vring_split_set_log(struct vring_split *vq, struct dirty_log *log,
			 bool log_used, uint64_t used_gpa)
{
	vq->log = log;
	vq->log_used = log && log_used;
	vq->log_used_gpa = used_gpa;
}

/* Only called with vq->log set: bytes [off, off + len) of the used ring
 * were written. A used_gpa near 2^64 is for dirty_log_mark() to refuse.
 */
static void log_used(struct vring_split *vq, size_t off, size_t len)
{
	if (vq->log_used)
		dirty_log_mark(vq->log, vq->log_used_gpa + off, len);
}

/* Snapshot one descriptor; every check and use goes through the copy so a
 * guest rewriting it concurrently cannot change a value after we checked it.
 * memcpy because an indirect table need not be aligned.
 */
static void read_desc(const uint8_t *table, uint16_t i, struct vring_desc *d)
{
	memcpy(d, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	barrier();
}

/* Append one data buffer to the chain, split at region boundaries.
 * A zero-length one adds no iov and its address is never looked at, but it
 * takes a place: chains of empty descriptors must not be free to walk.
 */
int vq_chain_add(struct vq_chain *c, const struct guest_mem *mem,
		 uint64_t addr, uint32_t len, bool write)
{
	uint64_t left = len;

	if (!len) {
		if (c->niov + c->nempty >= VQ_CHAIN_MAX_IOV)
			return -EIO;
		c->nempty++;
		return 0;
	}
	if (len > VQ_CHAIN_MAX_LEN - c->out_len - c->in_len)
		return -EIO;
	/* guest_mem has no region ending at 2^64, so walking the regions
	 * would refuse this too; say it here rather than rely on that.
	 */
	if (left > UINT64_MAX - addr)
		return -EIO;
	if (write)
		c->in_len += len;
	else
		c->out_len += len;

	/* left > 0 here: one test less per buffer. */
	do {
		uint64_t part = left;
		unsigned int region;
		uint8_t *p;

		if (c->niov + c->nempty >= VQ_CHAIN_MAX_IOV)
			return -EIO;
		p = guest_mem_gpa_region(mem, addr, &part, &region);
		if (!p || !part)
			return -EIO;
		c->iov[c->niov].base = p;
		c->iov[c->niov].len = part;
		c->iov[c->niov].region = region;
		c->niov++;
		if (!write)
			c->nout++;
		addr += part;
		left -= part;
	} while (left);
	return 0;
}

/* Walk the chain at @head. Loops are caught by counting: a chain can visit
 * at most as many descriptors as its table holds, and at most
 * VQ_CHAIN_MAX_IOV data ones (vq_chain_add()), so a walk reads at most
 * VQ_CHAIN_MAX_IOV + 2 descriptors (with the indirect one and the one that
 * breaks the cap). What it read goes to vq->desc_reads, once, on the way
 * out.
 */
static int chain_walk(struct vring_split *vq, const struct guest_mem *mem,
		      uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = (const uint8_t *)vq->desc;
	uint32_t max = vq->num;
	uint32_t count = 0;
	bool in_indirect = false;
	bool seen_write = false;
	struct vring_desc d;
	uint16_t i = head;
	int err = -EIO;

	c->head = head;
	c->niov = 0;
	c->nout = 0;
	c->nempty = 0;
	c->out_len = 0;
	c->in_len = 0;
	c->log = vq->log;

	for (;;) {
		if (++count > max)
			break;
		read_desc(table, i, &d);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* 2.7.5.3: never nested and never combined with NEXT,
			 * so it ends the main chain; direct descriptors may
			 * precede it. Its own WRITE flag means nothing.
			 */
			if (!vq->indirect || in_indirect ||
			    (d.flags & VRING_DESC_F_NEXT))
				break;
			/* No chain may be longer than the ring (2.7.5.3.1);
			 * a longer table is an error we may refuse.
			 */
			if (!d.len || d.len % DESC_SIZE ||
			    d.len / DESC_SIZE > vq->num)
				break;
			table = guest_mem_gpa(mem, d.addr, d.len);
			if (!table)
				break;
			vq->desc_reads += count;
			max = d.len / DESC_SIZE;
			count = 0;
			i = 0;
			in_indirect = true;
			continue;
		}

		/* 2.7.4: every device-readable descriptor precedes the
		 * writable ones, zero-length ones included.
		 */
		if (d.flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			break;
		err = vq_chain_add(c, mem, d.addr, d.len,
				   d.flags & VRING_DESC_F_WRITE);
		if (err)
			break;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		err = -EIO;
		if (d.next >= max)
			break;
		i = d.next;
	}
	vq->desc_reads += count;
	return err;
}

int vring_split_pop(struct vring_split *vq, const struct guest_mem *mem,
		    struct vq_chain *c)
{
	uint16_t avail_idx, pending, head;

	if (vq->broken)
		return -EIO;

	/* Entries up to the index read last time are published already; only
	 * when they are used up is the guest's index read again. Acquire
	 * pairs with the driver's write barrier before its idx store: the ring
	 * entry and descriptors it published are visible after it.
	 */
	pending = vq->avail_shadow - vq->last_avail_idx;
	if (!pending) {
		avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
		pending = avail_idx - vq->last_avail_idx;
		if (!pending)
			return -EAGAIN;
		if (pending > vq->num)
			goto broken;
		vq->avail_shadow = avail_idx;
	}

	head = READ_ONCE(vq->avail->ring[vq->last_avail_idx & (vq->num - 1)]);
	if (head >= vq->num)
		goto broken;
	if (chain_walk(vq, mem, head, c))
		goto broken;

	vq->last_avail_idx++;
	return 0;

broken:
	vq->broken = true;
	return -EIO;
}

/* Entries a prefetch looks at: a relay batch. */
#define PREFETCH_MAX 64

void vring_split_prefetch(struct vring_split *vq,
			  const struct guest_mem *mem, unsigned int n, bool write)
{
	uint16_t pending = vq->avail_shadow - vq->last_avail_idx;
	const uint16_t mask = vq->num - 1;
	unsigned int i;

	if (vq->broken)
		return;
	if (n > pending)
		n = pending;
	if (n > PREFETCH_MAX)
		n = PREFETCH_MAX;
	for (i = 0; i < n; i++) {
		uint16_t head = READ_ONCE(vq->avail->ring[(vq->last_avail_idx + i) & mask]);
		struct vring_desc d;

		/* Hints only: what pop() would refuse is skipped here and
		 * refused there.
		 */
		if (head >= vq->num)
			break;
		read_desc((const uint8_t *)vq->desc, head, &d);
		if (!(d.flags & VRING_DESC_F_INDIRECT))
			guest_mem_prefetch(mem, d.addr, write);
	}
	vq->desc_reads += i;
	/* The used elements these chains will take, 8 to a cache line. */
	for (i = 0; i < n; i += 8)
		__builtin_prefetch(&vq->used->ring[(vq->used_idx + i) & mask], 1);
}

void vring_split_unpop(struct vring_split *vq, uint16_t n)
{
	vq->last_avail_idx -= n;
}

uint16_t vring_split_avail(const struct vring_split *vq)
{
	if (vq->broken)
		return 0;
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) -
	       vq->last_avail_idx;
}

void vring_split_push(struct vring_split *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->num - 1)];

	WRITE_ONCE(e->id, head);
	WRITE_ONCE(e->len, len);
	if (unlikely(vq->log))
		log_used(vq, (uint8_t *)e - (uint8_t *)vq->used, sizeof(*e));
	vq->used_idx++;
}

void vring_split_flush(struct vring_split *vq)
{
	/* Release: the elements written by push are visible before the idx. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	if (unlikely(vq->log))
		log_used(vq, offsetof(struct vring_used, idx),
			 sizeof(vq->used->idx));
}

bool vring_split_should_notify(struct vring_split *vq)
{
	uint16_t old = vq->signalled_used;
	uint16_t new = vq->used_idx;
	bool valid = vq->signalled_valid;
	uint16_t event;

	/* Order our used->idx store before reading the driver's suppression
	 * state; otherwise we can miss an interrupt it just asked for.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vq->event_idx)
		return !(READ_ONCE(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = READ_ONCE(vq->avail->ring[vq->num]);
	return vring_need_event(event, new, old);
}

bool vring_split_notify_enable(struct vring_split *vq)
{
	if (vq->broken)
		return false;

	if (vq->event_idx) {
		WRITE_ONCE(*avail_event(vq), vq->last_avail_idx);
		if (unlikely(vq->log))
			log_used(vq, (uint8_t *)avail_event(vq) -
				     (uint8_t *)vq->used, sizeof(uint16_t));
	} else {
		uint16_t flags = READ_ONCE(vq->used->flags);

		WRITE_ONCE(vq->used->flags, flags & ~VRING_USED_F_NO_NOTIFY);
		if (unlikely(vq->log))
			log_used(vq, offsetof(struct vring_used, flags),
				 sizeof(vq->used->flags));
	}
	/* Publish the request before re-checking avail->idx, so a buffer added
	 * meanwhile is either seen here or kicked by the driver.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) !=
	       vq->last_avail_idx;
}

void vring_split_notify_disable(struct vring_split *vq)
{
	uint16_t flags;

	/* With event idx a stale avail_event suppresses kicks by itself. */
	if (vq->broken || vq->event_idx)
		return;
	flags = READ_ONCE(vq->used->flags);
	WRITE_ONCE(vq->used->flags, flags | VRING_USED_F_NO_NOTIFY);
	if (unlikely(vq->log))
		log_used(vq, offsetof(struct vring_used, flags),
			 sizeof(vq->used->flags));
}

/* Copy between a flat buffer and iovs [first, end) from byte @off on. */
static size_t chain_copy(const struct vq_chain *c, unsigned int first,
			 unsigned int end, size_t off, void *buf, size_t len,
			 bool to_chain)
{
	uint8_t *p = buf;
	size_t done = 0;
	unsigned int i;

	for (i = first; i < end && done < len; i++) {
		size_t n = c->iov[i].len;

		if (off >= n) {
			off -= n;
			continue;
		}
		n -= off;
		if (n > len - done)
			n = len - done;
		if (to_chain)
			memcpy(c->iov[i].base + off, p + done, n);
		else
			memcpy(p + done, c->iov[i].base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

/* Mark the guest pages of bytes [off, off + len) of the writable part of
 * @c, which were just written.
 */
static void chain_log(const struct vq_chain *c, size_t off, size_t len)
{
	const struct guest_mem *mem = c->log->mem;
	unsigned int i;

	for (i = c->nout; i < c->niov && len; i++) {
		const struct vq_iov *v = &c->iov[i];
		size_t n = v->len;

		if (off >= n) {
			off -= n;
			continue;
		}
		n -= off;
		if (n > len)
			n = len;
		dirty_log_mark(c->log,
			       guest_mem_region_gpa(mem, v->region, v->base) + off,
			       n);
		len -= n;
		off = 0;
	}
}

size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src,
		      size_t len)
{
	size_t done = chain_copy(c, c->nout, c->niov, off, (void *)src, len,
				 true);

	if (unlikely(c->log))
		chain_log(c, off, done);
	return done;
}

size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst,
		     size_t len)
{
	return chain_copy(c, 0, c->nout, off, dst, len, false);
}
