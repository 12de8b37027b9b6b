/* SPDX-License-Identifier: GPL-2.0 */
/* One virtqueue, split or packed as negotiated (VIRTIO_F_RING_PACKED): thin
 * inline dispatch so the datapath is written once for both layouts.
 */
#ifndef VXDP_VIRTQUEUE_H
#define VXDP_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "vring_packed.h"
#include "vring_split.h"

struct virtqueue {
	bool packed;
	union {
		struct vring_split split;
		struct vring_packed pk;
	};
};

static inline bool vq_broken(const struct virtqueue *vq)
{
	return vq->packed ? vq->pk.broken : vq->split.broken;
}

static inline void vq_set_broken(struct virtqueue *vq)
{
	if (vq->packed)
		vq->pk.broken = true;
	else
		vq->split.broken = true;
}

/* Pop a chain; c->ndesc says how many ring slots it took (packed rings
 * complete by slot count).
 */
static inline int vq_pop(struct virtqueue *vq, const struct guest_mem *mem,
			 struct vq_chain *c)
{
	c->ndesc = 1;
	if (vq->packed)
		return vring_packed_pop(&vq->pk, mem, c, &c->ndesc);
	return vring_split_pop(&vq->split, mem, c);
}

/* Give back the newest @n popped, unpushed chains. Returns 0, or -EIO when
 * the ring cannot (a packed ring keeps VRING_PACKED_UNPOP_MAX of them): its
 * positions are then unknown, so it is marked broken.
 */
static inline int vq_unpop(struct virtqueue *vq, uint16_t n)
{
	if (!vq->packed) {
		vring_split_unpop(&vq->split, n);
		return 0;
	}
	if (!vring_packed_unpop(&vq->pk, n))
		return 0;
	vq->pk.broken = true;
	return -EIO;
}

static inline void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len,
			   uint16_t ndesc)
{
	if (vq->packed)
		vring_packed_push(&vq->pk, head, len, ndesc);
	else
		vring_split_push(&vq->split, head, len);
}

static inline void vq_flush(struct virtqueue *vq)
{
	if (vq->packed)
		vring_packed_flush(&vq->pk);
	else
		vring_split_flush(&vq->split);
}

static inline bool vq_should_notify(struct virtqueue *vq)
{
	return vq->packed ? vring_packed_should_notify(&vq->pk) :
			    vring_split_should_notify(&vq->split);
}

/* Whether the guest has posted chains we have not popped; reads one index
 * or flags word, for busy polling.
 */
static inline bool vq_has_avail(const struct virtqueue *vq)
{
	if (vq->packed)
		return vring_packed_has_avail(&vq->pk);
	return !vq->split.broken && vring_split_avail(&vq->split);
}

/* Descriptors the guest made this ring read so far (wraps): see
 * vring_split.h. The caller's budget per event is charged with them.
 */
static inline uint32_t vq_desc_reads(const struct virtqueue *vq)
{
	return vq->packed ? vq->pk.desc_reads : vq->split.desc_reads;
}

/* Before a batch of up to @n pops: see vring_split_prefetch(). */
static inline void vq_prefetch(struct virtqueue *vq,
			       const struct guest_mem *mem, unsigned int n,
			       bool write)
{
	if (vq->packed)
		vring_packed_prefetch(&vq->pk, mem, n, write);
	else
		vring_split_prefetch(&vq->split, mem, n, write);
}

static inline bool vq_notify_enable(struct virtqueue *vq)
{
	return vq->packed ? vring_packed_notify_enable(&vq->pk) :
			    vring_split_notify_enable(&vq->split);
}

/* Take back a notify_enable(): the device polls the ring itself. */
static inline void vq_notify_disable(struct virtqueue *vq)
{
	if (vq->packed)
		vring_packed_notify_disable(&vq->pk);
	else
		vring_split_notify_disable(&vq->split);
}

#endif
