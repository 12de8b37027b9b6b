/* SPDX-License-Identifier: GPL-2.0 */
/* Device side of a split virtqueue (virtio 1.x, 2.7): walks guest descriptor
 * chains with every index, length and address checked, and publishes used
 * buffers with event-index notification suppression.
 */
#ifndef VXDP_VRING_SPLIT_H
#define VXDP_VRING_SPLIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/virtio_ring.h>

#include "vhost/guest_mem.h"

struct dirty_log;

/* A chain longer than this is treated as broken; Linux guests use at most
 * MAX_SKB_FRAGS + 2 for a frame. Every descriptor of a chain takes a place,
 * an empty one too (it costs a read like any other), and a buffer split at
 * a region boundary takes one per part: so a chain costs at most this many
 * descriptor reads (plus its indirect descriptor).
 */
#define VQ_CHAIN_MAX_IOV 64
/* Largest queue the virtio spec allows for a split ring. */
#define VQ_MAX_SIZE 32768

struct vq_iov {
	uint8_t *base;
	uint32_t len;
	/* guest_mem region @base is in: its guest-physical address, for
	 * dirty logging, without growing the iov (fits the padding).
	 */
	uint16_t region;
};

/* One popped descriptor chain. The first @nout iovs are device-readable
 * (driver -> device), the rest device-writable.
 */
struct vq_chain {
	uint16_t head;
	uint16_t ndesc;		/* ring slots taken (packed rings complete by it) */
	uint16_t niov;
	uint16_t nout;
	uint16_t nempty;	/* zero-length descriptors (no iov, but a place) */
	uint32_t out_len;
	uint32_t in_len;
	/* The ring's dirty log when pop() ran: NULL unless the frontend is
	 * migrating, and then vq_chain_write() marks what it writes.
	 */
	struct dirty_log *log;
	struct vq_iov iov[VQ_CHAIN_MAX_IOV];
};

struct vring_split {
	uint16_t num;
	bool event_idx;
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;		/* guest broke the ring; stop touching it */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail_idx;	/* next avail entry to pop */
	/* avail->idx as last read: pops up to it need no fresh read of a
	 * cache line the guest keeps writing.
	 */
	uint16_t avail_shadow;
	uint16_t used_idx;		/* next used entry to fill (shadow) */
	uint16_t signalled_used;	/* used idx at the last notification */
	bool signalled_valid;
	/* Descriptors read so far (pops, good or bad, and prefetches): what
	 * the guest made us work, for the caller's budget. Wraps.
	 */
	uint32_t desc_reads;
	/* Live migration (vring_split_set_log()): NULL unless our writes must
	 * be logged, so the datapath pays one predictable branch otherwise.
	 */
	struct dirty_log *log;
	bool log_used;			/* log used ring writes too ... */
	uint64_t log_used_gpa;		/* ... with its first byte here */
};

/* @desc, @avail and @used must already be translated and bounds-checked for
 * a ring of @num entries (see vring_split_size()). @num must be a power of 2
 * no larger than VQ_MAX_SIZE. @base is the first avail index to process,
 * which is also taken as the used index (SET_VRING_BASE semantics).
 */
int vring_split_init(struct vring_split *vq, uint16_t num, void *desc,
		     void *avail, void *used, uint16_t base, bool event_idx,
		     bool indirect);

/* Bytes each part of a ring of @num entries occupies. */
size_t vring_split_desc_size(uint16_t num);
size_t vring_split_avail_size(uint16_t num);	/* includes used_event */
size_t vring_split_used_size(uint16_t num);	/* includes avail_event */

/* Pop the next available chain into @c.
 * Returns 0, -EAGAIN when the ring is empty, or -EIO when the guest handed us
 * a malformed chain: the ring is then marked broken and stays so until
 * re-initialised. Malformed includes abusive: more than VQ_CHAIN_MAX_IOV
 * descriptors (empty ones count), or an indirect table longer than the ring
 * (which the virtio spec lets a device treat as an error). The descriptors
 * read are added to vq->desc_reads either way.
 */
int vring_split_pop(struct vring_split *vq, const struct guest_mem *mem,
		    struct vq_chain *c);

/* Give back the last @n popped chains (not yet pushed), e.g. when a frame
 * does not fit the buffers the guest has posted.
 */
void vring_split_unpop(struct vring_split *vq, uint16_t n);

/* Number of chains the guest has made available and we have not popped. */
uint16_t vring_split_avail(const struct vring_split *vq);

/* Start loading what the next @n pops will touch: their descriptors and
 * first data buffers (for writing when @write) and the used elements they
 * will fill. The guest's other CPU wrote these last, so each is a cache miss
 * on another core; taken one chain at a time they stall the copy, taken
 * together the misses overlap. Changes nothing but vq->desc_reads; only
 * chains whose index was read already (pop()'s snapshot) are looked at.
 */
void vring_split_prefetch(struct vring_split *vq,
			  const struct guest_mem *mem, unsigned int n, bool write);

/* Write a used element; becomes visible to the guest on vring_split_flush(). */
void vring_split_push(struct vring_split *vq, uint16_t head, uint32_t len);

/* Publish pushed used elements (store-release of used->idx). */
void vring_split_flush(struct vring_split *vq);

/* After a flush: does the guest want an interrupt for what was published
 * since the last notification? Updates the notification bookkeeping, so call
 * it once per flush and signal the call eventfd when it returns true.
 */
bool vring_split_should_notify(struct vring_split *vq);

/* Ask the guest to kick us when it adds buffers. Returns true when buffers
 * arrived while notifications were off, so the caller must poll once more
 * instead of sleeping.
 */
bool vring_split_notify_enable(struct vring_split *vq);

/* Tell the guest kicks are not needed (we are polling the ring anyway). */
void vring_split_notify_disable(struct vring_split *vq);

/* Log our writes while the frontend migrates: buffer writes of chains popped
 * from now on into @log (NULL: stop logging), and used ring writes as well
 * when @log_used, at guest-physical @used_gpa (the vhost-user
 * log_guest_addr) for the ring's first byte. init() turns logging off.
 */
void vring_split_set_log(struct vring_split *vq, struct dirty_log *log,
			 bool log_used, uint64_t used_gpa);

/* Append the guest buffer [@addr, @addr + @len) to @c as device-readable or
 * -writable iovs, split at guest memory region boundaries. Enforces the
 * chain caps (VQ_CHAIN_MAX_IOV places, a zero-length buffer taking one;
 * 16 MiB in total) and address bounds; -EIO when the buffer breaks them.
 * Shared with the packed ring.
 */
int vq_chain_add(struct vq_chain *c, const struct guest_mem *mem,
		 uint64_t addr, uint32_t len, bool write);

/* Copy @len bytes from @src into the device-writable part of @c starting at
 * byte @off of that part. Returns bytes copied (short when the chain is).
 */
size_t vq_chain_write(const struct vq_chain *c, size_t off, const void *src,
		      size_t len);

/* Copy up to @len bytes of the device-readable part of @c from byte @off into
 * @dst. Returns bytes copied.
 */
size_t vq_chain_read(const struct vq_chain *c, size_t off, void *dst,
		     size_t len);

#endif
