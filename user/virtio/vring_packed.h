/* SPDX-License-Identifier: GPL-2.0 */
/* Device side of a packed virtqueue (virtio 1.1+): walks guest descriptor
 * chains with every flag, length and address checked; writes used in order.
 */
#ifndef VXDP_VRING_PACKED_H
#define VXDP_VRING_PACKED_H

/* How the relay drives a packed ring; the loop is the split ring's:
 *
 *  - pop() until -EAGAIN. Each chain comes back as a struct vq_chain whose
 *    ->head is the driver's Buffer ID, plus the number of ring descriptors
 *    it took (@ndesc). Keep both: push() needs them.
 *  - push(id, len, ndesc) every popped chain exactly once, in the order
 *    popped (the ring completes in order: each used descriptor goes where
 *    that chain started). unpop(n) instead gives back the newest n chains
 *    not yet pushed, up to VRING_PACKED_UNPOP_MAX of them - enough for the
 *    buffers of one frame.
 *  - flush() after a batch of pushes publishes them all at once, then
 *    should_notify() says whether to signal the call eventfd.
 *  - On -EAGAIN, notify_enable(); when it returns true, pop again instead
 *    of sleeping.
 *  - -EIO from pop() means the guest broke the ring: it stays broken (and
 *    untouched) until vring_packed_init() runs again.
 *  - GET_VRING_BASE: once the datapath has stopped with every popped chain
 *    pushed or given back and flushed, answer vring_packed_base().
 *
 * vhost-user "base" for a packed ring (SET/GET_VRING_BASE, u32):
 *   bits  0-14  index of the next descriptor to pop (last_avail_idx)
 *   bit     15  Driver Ring Wrap Counter expected there (avail wrap counter)
 *   bits 16-30  index where the next used descriptor goes (used_idx)
 *   bit     31  Device Ring Wrap Counter (used wrap counter)
 * QEMU sends and expects all 32 bits (its first SET is 0x80008000); a
 * frontend that sends only bits 0-15 leaves the upper half zero, which
 * init takes as "used = avail", i.e. nothing in flight.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/virtio_ring.h>

#include "vhost/guest_mem.h"
#include "vring_split.h"	/* struct vq_chain, VQ_MAX_SIZE, vq_chain_* */

/* Chains unpop() can give back: at least the relay's RX_MAX_BUFS. */
#define VRING_PACKED_UNPOP_MAX 64

/* vhost-user base encoding, see above. */
#define VRING_PACKED_BASE_IDX_MASK	0x7fffu
#define VRING_PACKED_BASE_WRAP		0x8000u
#define VRING_PACKED_BASE_USED_SHIFT	16

struct vring_packed {
	uint16_t num;
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC as well */
	bool broken;		/* guest broke the ring; stop touching it */
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver_event;	/* we only read */
	struct vring_packed_desc_event *device_event;	/* we only write */

	uint16_t last_avail_idx;	/* next descriptor to pop, < num */
	bool avail_wrap;		/* wrap counter at last_avail_idx */
	uint16_t used_idx;		/* next used descriptor slot, < num */
	bool used_wrap;
	/* Descriptors from used_idx up to last_avail_idx: popped and not yet
	 * pushed, plus any the frontend said were in flight at init. Never
	 * more than num, which keeps used writes behind the chains we read.
	 */
	uint16_t inflight;
	uint16_t pending;		/* chains popped, not yet pushed */
	/* Descriptor counts of the newest popped chains, for unpop(). */
	uint16_t hist_top;
	uint16_t hist[VRING_PACKED_UNPOP_MAX];

	/* The first used descriptor of a batch is made visible last. */
	bool batch_open;
	uint16_t batch_idx;
	uint16_t batch_flags;
	uint16_t batch_ndesc;

	/* Notification bookkeeping, in descriptors. */
	uint16_t pub_idx;		/* used_idx at the last flush */
	bool pub_wrap;
	uint32_t unsignalled;		/* published since should_notify */
	bool signalled_valid;

	/* Descriptors read so far (pops, good or bad, and prefetches): what
	 * the guest made us work, for the caller's budget. Wraps.
	 */
	uint32_t desc_reads;

	/* Live migration (vring_packed_set_log()): NULL unless our writes
	 * must be logged, so the datapath pays one predictable branch
	 * otherwise.
	 */
	struct dirty_log *log;
	bool log_ring;			/* log ring writes too, at: */
	uint64_t log_desc_gpa;		/* the descriptor ring */
	uint64_t log_event_gpa;		/* the device event area */
};

/* @desc, @driver_event and @device_event (the vhost-user desc, avail and
 * used addresses) must already be translated and bounds-checked for a ring
 * of @num entries: vring_packed_desc_size(num) bytes aligned to 16, and
 * vring_packed_event_size() bytes aligned to 4 for each event area.
 * @num is 1..VQ_MAX_SIZE, any value. @base is the vhost-user base above;
 * indices outside the ring, or a used position more than a ring behind the
 * avail one, give -EINVAL.
 */
int vring_packed_init(struct vring_packed *vq, uint16_t num, void *desc,
		      void *driver_event, void *device_event, uint32_t base,
		      bool event_idx, bool indirect);

/* Bytes each part of a ring of @num entries occupies. */
size_t vring_packed_desc_size(uint16_t num);
size_t vring_packed_event_size(void);

/* The vhost-user base to answer GET_VRING_BASE with. */
uint32_t vring_packed_base(const struct vring_packed *vq);

/* Pop the next available chain into @c (c->head = Buffer ID) and the number
 * of ring descriptors it used into *@ndesc.
 * Returns 0, -EAGAIN when nothing is available, or -EIO when the guest handed
 * us a malformed chain: the ring is then marked broken and stays so until
 * re-initialised. On error nothing is consumed. Malformed includes abusive,
 * as for split rings: more than VQ_CHAIN_MAX_IOV descriptors (empty ones
 * count), an indirect table longer than the ring. The descriptors read are
 * added to vq->desc_reads either way.
 */
int vring_packed_pop(struct vring_packed *vq, const struct guest_mem *mem,
		     struct vq_chain *c, uint16_t *ndesc);

/* Give back the newest @n popped chains that were not pushed. Returns 0, or
 * -EINVAL (and changes nothing) when fewer than @n are pending or @n is over
 * VRING_PACKED_UNPOP_MAX.
 */
int vring_packed_unpop(struct vring_packed *vq, uint16_t n);

/* Is there a descriptor to look at? (Counting chains would mean walking
 * them.) Also true for a malformed one, so that pop() reports it.
 */
bool vring_packed_has_avail(const struct vring_packed *vq);

/* Start loading the data buffers of the next @n available descriptors (for
 * writing when @write); see vring_split_prefetch(). Changes nothing but
 * vq->desc_reads. (The
 * used descriptors are these slots, which this reads anyway.)
 */
void vring_packed_prefetch(struct vring_packed *vq,
			   const struct guest_mem *mem, unsigned int n, bool write);

/* Complete the oldest pending chain: Buffer ID @id, @len bytes written,
 * @ndesc as pop() returned. Becomes visible to the guest on flush().
 * A call that does not match a pending chain marks the ring broken.
 */
void vring_packed_push(struct vring_packed *vq, uint16_t id, uint32_t len,
		       uint16_t ndesc);

/* Publish every push since the last flush: all but the first are flagged
 * used by push() already, the first now, with a store-release. The driver
 * only ever polls that first slot, so it sees the batch whole - as the spec
 * requires for the buffers of one mergeable rx frame.
 */
void vring_packed_flush(struct vring_packed *vq);

/* After a flush: does the driver want a used buffer notification for what
 * was published since the last call? Call once per flush and signal the
 * call eventfd when it returns true.
 */
bool vring_packed_should_notify(struct vring_packed *vq);

/* Ask the driver to kick us when it makes buffers available (with event idx,
 * for the very next descriptor). Returns true when one arrived meanwhile,
 * so the caller must poll once more instead of sleeping.
 */
bool vring_packed_notify_enable(struct vring_packed *vq);

/* Tell the driver kicks are not needed (we are polling the ring anyway). */
void vring_packed_notify_disable(struct vring_packed *vq);

/* Log our writes while the frontend migrates: buffer writes of chains popped
 * from now on into @log (NULL: stop logging), and, when @log_ring, our
 * writes to the descriptor ring (used descriptors) at guest-physical
 * @desc_gpa and to the device event area at @event_gpa (the vhost-user
 * log_guest_addr, which QEMU sets to the device area for a packed ring).
 * init() turns logging off.
 */
void vring_packed_set_log(struct vring_packed *vq, struct dirty_log *log,
			  bool log_ring, uint64_t desc_gpa, uint64_t event_gpa);

#endif
