/* SPDX-License-Identifier: GPL-2.0 */
/* In-memory virtio driver, the guest's side of split (sdrv_*) and packed
 * (pdrv_*) rings over memory registered with guest_mem: shared by the vring
 * unit tests and tools/bench/vxdp-insncount so there is one copy of it.
 *
 * The caller owns the memory: it fills a struct guest_mem, says where the
 * ring parts live (frontend virtual addresses, as SET_VRING_ADDR does) and
 * which guest-physical range the driver may carve buffers out of.
 */
#ifndef VXDP_GUEST_DRIVER_H
#define VXDP_GUEST_DRIVER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "vhost/guest_mem.h"
#include "virtio/vring_packed.h"
#include "virtio/vring_split.h"

/* Where a driver's ring and buffers are. For a packed ring avail_uva and
 * used_uva are the driver and device event areas.
 */
struct gd_layout {
	uint64_t desc_uva, avail_uva, used_uva;
	uint64_t buf_gpa, buf_end;	/* bump allocator: [buf_gpa, buf_end) */
};

/* One buffer of a chain. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* The driver ran out of something it was sized for: a bug in the caller,
 * so no way back.
 */
static inline void gd_die(const char *what)
{
	fprintf(stderr, "guest driver: %s\n", what);
	exit(1);
}

static inline void *gd_hva(const struct guest_mem *mem, uint64_t gpa)
{
	return guest_mem_gpa(mem, gpa, 0);
}

/* Bump allocator shared by both drivers. */
static inline uint64_t gd_buf(uint64_t *free_gpa, uint64_t end, uint32_t len)
{
	uint64_t gpa = *free_gpa;

	*free_gpa = (gpa + len + 15) & ~15ULL;
	if (*free_gpa > end)
		gd_die("out of guest memory");
	return gpa;
}

/* ---- split ring ---- */

struct sdrv {
	struct guest_mem mem;
	struct vring_split vq;	/* the device side under test */
	uint16_t num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;	/* driver's shadow of avail->idx */
	uint16_t last_used;	/* next used entry to reap */
	uint16_t free_desc;	/* next descriptor to hand out */
	uint64_t free_gpa;	/* next free buffer byte */
	uint64_t buf_gpa, buf_end;
};

/* Take a copy of @mem, translate the ring at @lay and start the device side
 * at @base. Returns 0 or -EINVAL (ring outside @mem, or init refused it).
 */
static inline int sdrv_setup(struct sdrv *d, const struct guest_mem *mem,
			     const struct gd_layout *lay, uint16_t num,
			     uint16_t base, bool event_idx, bool indirect)
{
	memset(d, 0, sizeof(*d));
	d->mem = *mem;
	d->num = num;
	d->desc = guest_mem_uva(&d->mem, lay->desc_uva,
				vring_split_desc_size(num));
	d->avail = guest_mem_uva(&d->mem, lay->avail_uva,
				 vring_split_avail_size(num));
	d->used = guest_mem_uva(&d->mem, lay->used_uva,
				vring_split_used_size(num));
	if (!d->desc || !d->avail || !d->used)
		return -EINVAL;
	d->avail_idx = base;
	d->last_used = base;
	d->avail->idx = base;
	d->used->idx = base;
	d->buf_gpa = lay->buf_gpa;
	d->buf_end = lay->buf_end;
	d->free_gpa = lay->buf_gpa;
	return vring_split_init(&d->vq, num, d->desc, d->avail, d->used, base,
				event_idx, indirect) ? -EINVAL : 0;
}

static inline uint64_t sdrv_buf(struct sdrv *d, uint32_t len)
{
	return gd_buf(&d->free_gpa, d->buf_end, len);
}

static inline struct seg sdrv_out(struct sdrv *d, uint32_t len)
{
	return (struct seg){ .gpa = sdrv_buf(d, len), .len = len };
}

static inline struct seg sdrv_in(struct sdrv *d, uint32_t len)
{
	return (struct seg){ .gpa = sdrv_buf(d, len), .len = len, .write = true };
}

static inline void sdrv_set_desc(struct vring_desc *t, uint16_t i,
				 uint64_t addr, uint32_t len, uint16_t flags,
				 uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

/* Lay @n segments out as a linked chain at t[first], t[first+1], ... */
static inline void sdrv_chain_at(struct vring_desc *t, uint16_t first,
				 uint16_t tsize, const struct seg *s,
				 unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint16_t i = (first + k) % tsize;
		uint16_t flags = s[k].write ? VRING_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		sdrv_set_desc(t, i, s[k].gpa, s[k].len, flags, (i + 1) % tsize);
	}
}

/* A chain of @n segments from the next free descriptors; returns its head. */
static inline uint16_t sdrv_chain(struct sdrv *d, const struct seg *s,
				  unsigned int n)
{
	uint16_t head = d->free_desc % d->num;

	sdrv_chain_at(d->desc, head, d->num, s, n);
	d->free_desc += n;
	return head;
}

/* Indirect table of @n segments; returns its gpa. */
static inline uint64_t sdrv_table(struct sdrv *d, const struct seg *s,
				  unsigned int n)
{
	uint64_t gpa = sdrv_buf(d, n * sizeof(struct vring_desc));

	sdrv_chain_at(gd_hva(&d->mem, gpa), 0, n, s, n);
	return gpa;
}

static inline uint16_t sdrv_indirect(struct sdrv *d, const struct seg *s,
				     unsigned int n)
{
	uint16_t head = d->free_desc++ % d->num;

	sdrv_set_desc(d->desc, head, sdrv_table(d, s, n),
		      n * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
	return head;
}

/* Put @head on the avail ring, not yet visible (see sdrv_kick()). */
static inline void sdrv_post(struct sdrv *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->num] = head;
	d->avail_idx++;
}

static inline void sdrv_kick(struct sdrv *d)
{
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

static inline void sdrv_add(struct sdrv *d, uint16_t head)
{
	sdrv_post(d, head);
	sdrv_kick(d);
}

static inline uint16_t *sdrv_used_event(struct sdrv *d)
{
	return &d->avail->ring[d->num];
}

static inline uint16_t *sdrv_avail_event(struct sdrv *d)
{
	return (uint16_t *)&d->used->ring[d->num];
}

/* Reap the next used element, as a driver does. */
static inline bool sdrv_used(struct sdrv *d, uint16_t *id, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem *e;

	if (idx == d->last_used)
		return false;
	e = &d->used->ring[d->last_used++ % d->num];
	*id = e->id;
	*len = e->len;
	return true;
}

/* ---- packed ring ---- */

/* Buffer IDs the packed driver hands out, modulo this. */
#define PDRV_MAX_IDS	1024

struct pdrv {
	struct guest_mem mem;
	struct vring_packed vq;	/* the device side under test */
	uint16_t num;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *drv_evt;	/* the driver writes */
	struct vring_packed_desc_event *dev_evt;	/* the device writes */
	uint16_t next_avail;	/* driver's next slot to fill */
	bool avail_wrap;	/* Driver Ring Wrap Counter */
	uint16_t next_used;	/* driver's next slot to poll for used */
	bool used_wrap;
	uint16_t next_id;
	uint16_t sgs[PDRV_MAX_IDS];	/* descriptors per outstanding id */
	uint32_t outstanding;	/* descriptors the device holds */
	uint16_t head_idx;	/* last written list, not yet published */
	uint16_t head_flags;
	uint16_t last_used_flags;
	uint64_t free_gpa;	/* next free buffer byte */
	uint64_t buf_gpa, buf_end;
};

static inline void pdrv_step(uint16_t num, uint16_t *idx, bool *wrap)
{
	if (++*idx == num) {
		*idx = 0;
		*wrap = !*wrap;
	}
}

/* As sdrv_setup(), for the vhost-user packed @base. The ring is left as
 * the lap before the base would have: slots from the base on used in the
 * previous lap, those before it in this one. From slot 0 in wrap 1 (a
 * fresh ring) that is a zeroed ring.
 */
static inline int pdrv_setup(struct pdrv *d, const struct guest_mem *mem,
			     const struct gd_layout *lay, uint16_t num,
			     uint32_t base, bool event_idx, bool indirect)
{
	uint32_t used = base >> 16 ? base >> 16 : (base & 0xffff);
	unsigned int k;

	memset(d, 0, sizeof(*d));
	d->mem = *mem;
	d->num = num;
	d->desc = guest_mem_uva(&d->mem, lay->desc_uva,
				vring_packed_desc_size(num));
	d->drv_evt = guest_mem_uva(&d->mem, lay->avail_uva,
				   vring_packed_event_size());
	d->dev_evt = guest_mem_uva(&d->mem, lay->used_uva,
				   vring_packed_event_size());
	if (!d->desc || !d->drv_evt || !d->dev_evt)
		return -EINVAL;
	d->next_avail = base & 0x7fff;
	d->avail_wrap = base & 0x8000;
	d->next_used = used & 0x7fff;
	d->used_wrap = used & 0x8000;
	for (k = 0; k < num; k++) {
		bool lap = k >= d->next_avail ? !d->avail_wrap : d->avail_wrap;

		d->desc[k].flags = lap ? (1u << VRING_PACKED_DESC_F_AVAIL) |
					 (1u << VRING_PACKED_DESC_F_USED) : 0;
	}
	d->buf_gpa = lay->buf_gpa;
	d->buf_end = lay->buf_end;
	d->free_gpa = lay->buf_gpa;
	return vring_packed_init(&d->vq, num, d->desc, d->drv_evt, d->dev_evt,
				 base, event_idx, indirect) ? -EINVAL : 0;
}

static inline uint64_t pdrv_buf(struct pdrv *d, uint32_t len)
{
	return gd_buf(&d->free_gpa, d->buf_end, len);
}

static inline struct seg pdrv_out(struct pdrv *d, uint32_t len)
{
	return (struct seg){ .gpa = pdrv_buf(d, len), .len = len };
}

static inline struct seg pdrv_in(struct pdrv *d, uint32_t len)
{
	return (struct seg){ .gpa = pdrv_buf(d, len), .len = len, .write = true };
}

/* Flags a driver gives a descriptor it makes available in lap @wrap. */
static inline uint16_t pdrv_avail_flags(bool wrap)
{
	return wrap ? 1u << VRING_PACKED_DESC_F_AVAIL :
		      1u << VRING_PACKED_DESC_F_USED;
}

static inline void pdrv_set_slot(struct pdrv *d, uint16_t i, uint64_t addr,
				 uint32_t len, uint16_t id, uint16_t flags)
{
	d->desc[i].addr = addr;
	d->desc[i].len = len;
	d->desc[i].id = id;
	d->desc[i].flags = flags;
}

/* Write @n segments as one list from the driver's next slot, as the spec's
 * driver does: Buffer ID in the last descriptor (the others get junk), every
 * descriptor flagged for its own lap, the head's flags held back until
 * pdrv_publish(). Returns the Buffer ID.
 */
static inline uint16_t pdrv_write(struct pdrv *d, const struct seg *s,
				  unsigned int n)
{
	uint16_t id = d->next_id++ % PDRV_MAX_IDS;
	unsigned int k;

	d->head_idx = d->next_avail;
	for (k = 0; k < n; k++) {
		uint16_t f = pdrv_avail_flags(d->avail_wrap);

		if (s[k].write)
			f |= VRING_DESC_F_WRITE;
		if (k + 1 < n)
			f |= VRING_DESC_F_NEXT;
		pdrv_set_slot(d, d->next_avail, s[k].gpa, s[k].len,
			      k + 1 < n ? 0xdead : id, k ? f : 0);
		if (!k)
			d->head_flags = f;
		pdrv_step(d->num, &d->next_avail, &d->avail_wrap);
	}
	d->sgs[id] = n;
	d->outstanding += n;
	return id;
}

static inline void pdrv_publish(struct pdrv *d)
{
	__atomic_store_n(&d->desc[d->head_idx].flags, d->head_flags,
			 __ATOMIC_RELEASE);
}

static inline uint16_t pdrv_add(struct pdrv *d, const struct seg *s,
				unsigned int n)
{
	uint16_t id = pdrv_write(d, s, n);

	pdrv_publish(d);
	return id;
}

/* Indirect table of @n segments (only WRITE set in it); returns its gpa. */
static inline uint64_t pdrv_table(struct pdrv *d, const struct seg *s,
				  unsigned int n)
{
	uint64_t gpa = pdrv_buf(d, n * sizeof(struct vring_packed_desc));
	struct vring_packed_desc *t = gd_hva(&d->mem, gpa);
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
static inline uint16_t pdrv_indirect_ex(struct pdrv *d, const struct seg *s,
					unsigned int n, bool hold)
{
	struct seg t = {
		.gpa = pdrv_table(d, s, n),
		.len = n * sizeof(struct vring_packed_desc),
	};
	uint16_t id = pdrv_write(d, &t, 1);

	d->head_flags |= VRING_DESC_F_INDIRECT;
	if (!hold)
		pdrv_publish(d);
	return id;
}

static inline uint16_t pdrv_indirect(struct pdrv *d, const struct seg *s,
				     unsigned int n)
{
	return pdrv_indirect_ex(d, s, n, false);
}

/* Reap the next used descriptor, as the spec's driver does. */
static inline bool pdrv_used(struct pdrv *d, uint16_t *id, uint32_t *len)
{
	struct vring_packed_desc *x = &d->desc[d->next_used];
	uint16_t f = __atomic_load_n(&x->flags, __ATOMIC_ACQUIRE);
	bool u = f & (1u << VRING_PACKED_DESC_F_USED);
	bool a = f & (1u << VRING_PACKED_DESC_F_AVAIL);
	unsigned int k, n;

	if (u != d->used_wrap || a != d->used_wrap)
		return false;
	*id = x->id;
	*len = x->len;
	d->last_used_flags = f;
	n = d->sgs[*id % PDRV_MAX_IDS];
	if (!n)
		gd_die("used descriptor with an unknown id");
	d->sgs[*id % PDRV_MAX_IDS] = 0;
	for (k = 0; k < n; k++)
		pdrv_step(d->num, &d->next_used, &d->used_wrap);
	d->outstanding -= n;
	return true;
}

/* Driver event suppression: where (@off, @wrap) and whether (@flags) the
 * device should notify.
 */
static inline void pdrv_event(struct pdrv *d, uint16_t off, bool wrap,
			      uint16_t flags)
{
	d->drv_evt->off_wrap = off | (wrap ? 1u << VRING_PACKED_EVENT_F_WRAP_CTR : 0);
	d->drv_evt->flags = flags;
}

#endif
